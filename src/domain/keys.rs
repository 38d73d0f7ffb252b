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

#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Positional, `None` for ids that are absent.
    async fn get_keys(&self, sid: &str, kind: &str, ids: &[String]) -> StoreResult<Vec<Option<Blob>>>;
    /// Every put and delete, of every type, in one transaction: all or nothing.
    /// When an `(kind, id)` appears twice, the later write wins.
    async fn write_keys(&self, sid: &str, writes: Vec<KeyWrite>) -> StoreResult<()>;
    /// One page of `kind`: entries whose id is byte-wise greater than `after`,
    /// in byte-wise id order, at most `limit` (≤ [`MAX_LIST_PAGE`]).
    async fn list_keys(&self, sid: &str, kind: &str, after: Option<&str>, limit: u32) -> StoreResult<Vec<(String, Blob)>>;
    /// [`KeyStore::list_keys`] without the values.
    async fn list_key_ids(&self, sid: &str, kind: &str, after: Option<&str>, limit: u32) -> StoreResult<Vec<String>>;
    /// Deletes every key of every type of this session.
    async fn clear_keys(&self, sid: &str) -> StoreResult<()>;
}
