//! `keys`: a generic per-session key/value domain for client adapters.
//!
//! Baileys' `SignalKeyStore` (and zaileys' signal store on top of it) keeps
//! every Signal object under an opaque `(type, id)` pair: `session`,
//! `pre-key`, `sender-key`, `lid-mapping`, and whatever types later releases
//! add. Types and ids are arbitrary non-empty strings; values are WSV blobs.

use super::{Blob, StoreResult};
use async_trait::async_trait;

/// One put (`Some`) or delete (`None`) of a [`KeyStore::write_keys`] call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyWrite {
    pub kind: String,
    pub id: String,
    pub value: Option<Blob>,
}

/// Most ids [`KeyStore::list_keys`] returns in one page, whatever is asked.
pub const MAX_LIST_PAGE: u32 = 1_000;

/// Longest key type, in UTF-8 bytes (Baileys' longest is 22).
pub const MAX_KEY_TYPE_BYTES: usize = 255;
/// Longest key id, in UTF-8 bytes: ids are indexed in full, and MySQL's
/// 3072-byte key limit has to hold the session id too.
pub const MAX_KEY_ID_BYTES: usize = 960;

/// Refuses empty or oversized types and ids, naming the argument.
pub fn check_key(kind: &str, id: &str) -> StoreResult<()> {
    use crate::error::StoreError;
    if kind.is_empty() || kind.len() > MAX_KEY_TYPE_BYTES {
        return Err(StoreError::invalid_argument(format!(
            "key type must be 1 to {MAX_KEY_TYPE_BYTES} bytes of UTF-8, got {} bytes",
            kind.len()
        )));
    }
    if id.is_empty() || id.len() > MAX_KEY_ID_BYTES {
        return Err(StoreError::invalid_argument(format!(
            "key id of type {kind:?} must be 1 to {MAX_KEY_ID_BYTES} bytes of UTF-8, got {} bytes",
            id.len()
        )));
    }
    Ok(())
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Positional, `None` for ids that are absent.
    async fn get_keys(&self, sid: &str, kind: &str, ids: &[String]) -> StoreResult<Vec<Option<Blob>>>;
    /// Every put and delete, of every type, in one transaction: all or nothing.
    /// When an `(kind, id)` appears twice, the later write wins.
    async fn write_keys(&self, sid: &str, writes: Vec<KeyWrite>) -> StoreResult<()>;
    /// One page of `kind`: entries whose id is byte-wise greater than `after`,
    /// in byte-wise id order, at most `limit` (≤ [`MAX_LIST_PAGE`]).
    async fn list_keys(
        &self,
        sid: &str,
        kind: &str,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<(String, Blob)>>;
    /// [`KeyStore::list_keys`] without the values.
    async fn list_key_ids(&self, sid: &str, kind: &str, after: Option<&str>, limit: u32) -> StoreResult<Vec<String>>;
    /// The types this session has keys of, sorted byte-wise (for export and migration).
    async fn list_key_types(&self, sid: &str) -> StoreResult<Vec<String>>;
    /// Deletes every key of every type of this session.
    async fn clear_keys(&self, sid: &str) -> StoreResult<()>;
}

/// Types and ids are stored as their UTF-8 bytes; anything else is corruption.
pub fn text_from_bytes(backend: &str, bytes: Vec<u8>) -> StoreResult<String> {
    String::from_utf8(bytes).map_err(|_| {
        crate::error::StoreError::corrupted(format!("{backend}: a stored key type or id is not valid UTF-8"))
    })
}
