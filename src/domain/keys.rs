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
    check_key_type(kind)?;
    check_key_id(kind, id)
}

/// A key type: 1 to [`MAX_KEY_TYPE_BYTES`] bytes.
pub fn check_key_type(kind: &str) -> StoreResult<()> {
    use crate::error::StoreError;
    if kind.is_empty() || kind.len() > MAX_KEY_TYPE_BYTES {
        return Err(StoreError::invalid_argument(format!(
            "key type must be 1 to {MAX_KEY_TYPE_BYTES} bytes of UTF-8, got {} bytes",
            kind.len()
        )));
    }
    Ok(())
}

/// A key id of `kind`: 1 to [`MAX_KEY_ID_BYTES`] bytes.
pub fn check_key_id(kind: &str, id: &str) -> StoreResult<()> {
    use crate::error::StoreError;
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

/// Pairs requested ids with a positional [`KeyStore::get_keys`] answer, dropping
/// misses (Baileys' `get` returns the found ids only).
pub fn found_only(ids: Vec<String>, values: Vec<Option<Blob>>) -> Vec<(String, Blob)> {
    ids.into_iter()
        .zip(values)
        .filter_map(|(id, v)| v.map(|v| (id, v)))
        .collect()
}

/// Types and ids are stored as their UTF-8 bytes; anything else is corruption.
pub fn text_from_bytes(backend: &str, bytes: Vec<u8>) -> StoreResult<String> {
    String::from_utf8(bytes).map_err(|_| {
        crate::error::StoreError::corrupted(format!("{backend}: a stored key type or id is not valid UTF-8"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn types_and_ids_are_bounded() {
        assert!(check_key("session", "1.0").is_ok());
        assert!(check_key(&"t".repeat(MAX_KEY_TYPE_BYTES), &"i".repeat(MAX_KEY_ID_BYTES)).is_ok());
        for (kind, id) in [
            ("", "1"),
            ("session", ""),
            (&"t".repeat(256) as &str, "1"),
            ("session", &"i".repeat(961) as &str),
        ] {
            let err = check_key(kind, id).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidArgument, "{kind:?} {id:?}");
        }
        // Bytes, not characters: 320 three-byte characters are 960 bytes.
        assert!(check_key_id("t", &"€".repeat(320)).is_ok());
        assert!(check_key_id("t", &"€".repeat(321)).is_err());
        assert!(check_key_id("t", "nul\0and 🙂").is_ok());
    }

    #[test]
    fn found_only_keeps_hits_in_request_order() {
        let ids: Vec<String> = ["b", "missing", "a", "b"].iter().map(|s| s.to_string()).collect();
        let values = vec![Some(vec![2]), None, Some(vec![1]), Some(vec![2])];
        let got = found_only(ids, values);
        assert_eq!(
            got,
            vec![("b".into(), vec![2]), ("a".into(), vec![1]), ("b".into(), vec![2])]
        );
    }
}
