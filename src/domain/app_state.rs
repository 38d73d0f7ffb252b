//! `appState`: app-state sync keys and per-collection LT-hash state.

use super::StoreResult;
use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncKey {
    pub key_id: Vec<u8>,
    pub key_data: Vec<u8>,
    pub timestamp: i64,
    /// The protobuf fingerprint object as a WSV blob, when present.
    pub fingerprint: Option<Vec<u8>>,
}

/// Length of the empty LT-hash returned for a collection never written.
pub const EMPTY_LT_HASH_LEN: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionState {
    pub initialized: bool,
    pub version: i64,
    pub hash: Vec<u8>,
    /// index-MAC (lowercase hex) → value MAC, in insertion order.
    pub index_value_map: Vec<(String, Vec<u8>)>,
}

impl CollectionState {
    /// What an unknown collection reads as: not initialized, version 0, zero hash, empty map.
    pub fn empty() -> Self {
        Self { initialized: false, version: 0, hash: vec![0; EMPTY_LT_HASH_LEN], index_value_map: Vec::new() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionUpdate {
    pub collection: String,
    pub version: i64,
    pub hash: Vec<u8>,
    /// The **full** map; it replaces the stored one.
    pub index_value_map: Vec<(String, Vec<u8>)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppStateExport {
    pub keys: Vec<SyncKey>,
    /// Initialized collections only: (name, version, hash, map).
    pub collections: Vec<CollectionUpdate>,
}

/// Epoch of a key id: bytes 2..5 big-endian, or -1 for ids shorter than 6 bytes.
pub fn key_epoch(key_id: &[u8]) -> i64 {
    if key_id.len() < 6 {
        return -1;
    }
    i64::from(u32::from_be_bytes([key_id[2], key_id[3], key_id[4], key_id[5]]))
}

/// Device id of a key id: bytes 0..1 big-endian, `None` for ids shorter than 6 bytes.
pub fn key_device_id(key_id: &[u8]) -> Option<u16> {
    (key_id.len() >= 6).then(|| u16::from_be_bytes([key_id[0], key_id[1]]))
}

/// zapo's `pickActiveSyncKey`: highest epoch; ties go to the lower device id,
/// otherwise the first seen wins.
pub fn pick_active_sync_key<'a>(keys: impl IntoIterator<Item = &'a SyncKey>) -> Option<&'a SyncKey> {
    let mut active: Option<&SyncKey> = None;
    for key in keys {
        let Some(current) = active else {
            active = Some(key);
            continue;
        };
        let (cur, next) = (key_epoch(&current.key_id), key_epoch(&key.key_id));
        if next > cur {
            active = Some(key);
        } else if next == cur {
            if let (Some(n), Some(c)) = (key_device_id(&key.key_id), key_device_id(&current.key_id)) {
                if n < c {
                    active = Some(key);
                }
            }
        }
    }
    active
}

#[async_trait]
pub trait AppStateStore: Send + Sync {
    async fn export_data(&self, sid: &str) -> StoreResult<AppStateExport>;
    /// Skips keys whose `key_data` is unchanged; returns how many were inserted or changed.
    async fn upsert_sync_keys(&self, sid: &str, keys: Vec<SyncKey>) -> StoreResult<u32>;
    /// Positional, duplicates preserved, `None` for misses.
    async fn get_sync_keys(&self, sid: &str, key_ids: &[Vec<u8>]) -> StoreResult<Vec<Option<SyncKey>>>;
    async fn get_active_sync_key(&self, sid: &str) -> StoreResult<Option<SyncKey>>;
    /// Positional; unknown collections come back as [`CollectionState::empty`].
    async fn get_collection_states(&self, sid: &str, collections: &[String]) -> StoreResult<Vec<CollectionState>>;
    /// Each update replaces the collection's version, hash and whole map, all in one transaction.
    async fn set_collection_states(&self, sid: &str, updates: Vec<CollectionUpdate>) -> StoreResult<()>;
    async fn clear(&self, sid: &str) -> StoreResult<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: [u8; 6]) -> SyncKey {
        SyncKey { key_id: id.to_vec(), key_data: vec![1], timestamp: 0, fingerprint: None }
    }

    #[test]
    fn active_key_is_highest_epoch_then_lowest_device() {
        let keys = [key([0, 2, 0, 0, 0, 5]), key([0, 1, 0, 0, 0, 9]), key([0, 3, 0, 0, 0, 9]), key([0, 0, 0, 0, 0, 1])];
        assert_eq!(pick_active_sync_key(&keys).unwrap().key_id, vec![0, 1, 0, 0, 0, 9]);
        assert_eq!(key_epoch(&[1, 2, 3]), -1);
        assert!(pick_active_sync_key(&[]).is_none());
    }
}
