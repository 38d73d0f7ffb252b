//! `appState`: sync keys (bounded, insertion-ordered so the active-key tie
//! break sees them in write order) and per-collection LT-hash state.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::bounded::BoundedMap;
use super::{MemoryBackend, SessionState};
use crate::config::MemoryLimits;
use crate::domain::app_state::{
    pick_active_sync_key, AppStateExport, AppStateStore, CollectionState, CollectionUpdate, SyncKey,
};
use crate::domain::StoreResult;

pub(super) struct AppStateData {
    pub(super) keys: BoundedMap<Vec<u8>, SyncKey>,
    /// Only collections that were written (initialized); sorted by name so
    /// exports are deterministic.
    pub(super) collections: BTreeMap<String, StoredCollection>,
    max_collection_entries: usize,
}

pub(super) struct StoredCollection {
    pub(super) version: i64,
    pub(super) hash: Vec<u8>,
    pub(super) index_value_map: Vec<(String, Vec<u8>)>,
}

impl SessionState for AppStateData {
    fn new(limits: &MemoryLimits) -> Self {
        Self {
            keys: BoundedMap::new(limits.app_state_sync_keys),
            collections: BTreeMap::new(),
            max_collection_entries: limits.app_state_collection_entries,
        }
    }
}

impl StoredCollection {
    fn state(&self) -> CollectionState {
        CollectionState {
            initialized: true,
            version: self.version,
            hash: self.hash.clone(),
            index_value_map: self.index_value_map.clone(),
        }
    }
}

#[async_trait]
impl AppStateStore for MemoryBackend {
    async fn export_data(&self, sid: &str) -> StoreResult<AppStateExport> {
        Ok(self.app_state.read(sid, |s| {
            let Some(s) = s else { return AppStateExport::default() };
            AppStateExport {
                keys: s.keys.values().cloned().collect(),
                collections: s
                    .collections
                    .iter()
                    .map(|(name, c)| CollectionUpdate {
                        collection: name.clone(),
                        version: c.version,
                        hash: c.hash.clone(),
                        index_value_map: c.index_value_map.clone(),
                    })
                    .collect(),
            }
        }))
    }

    async fn upsert_sync_keys(&self, sid: &str, keys: Vec<SyncKey>) -> StoreResult<u32> {
        Ok(self.app_state.write(&self.limits, sid, |s| {
            let mut changed: u32 = 0;
            for key in keys {
                // Unchanged key data is skipped entirely: no rewrite, no move to the back.
                if s.keys.get(&key.key_id).is_some_and(|old| old.key_data == key.key_data) {
                    continue;
                }
                s.keys.insert(key.key_id.clone(), key);
                changed = changed.saturating_add(1);
            }
            changed
        }))
    }

    async fn get_sync_keys(&self, sid: &str, key_ids: &[Vec<u8>]) -> StoreResult<Vec<Option<SyncKey>>> {
        Ok(self.app_state.read(sid, |s| match s {
            Some(s) => key_ids.iter().map(|id| s.keys.get(id).cloned()).collect(),
            None => vec![None; key_ids.len()],
        }))
    }

    async fn get_active_sync_key(&self, sid: &str) -> StoreResult<Option<SyncKey>> {
        Ok(self.app_state.read(sid, |s| s.and_then(|s| pick_active_sync_key(s.keys.values()).cloned())))
    }

    async fn get_collection_states(&self, sid: &str, collections: &[String]) -> StoreResult<Vec<CollectionState>> {
        // Unknown collections are not materialized (zapo's memory store does,
        // which would make them show up, uninitialized, in exports).
        Ok(self.app_state.read(sid, |s| {
            collections
                .iter()
                .map(|name| {
                    s.as_ref()
                        .and_then(|s| s.collections.get(name))
                        .map_or_else(CollectionState::empty, StoredCollection::state)
                })
                .collect()
        }))
    }

    async fn set_collection_states(&self, sid: &str, updates: Vec<CollectionUpdate>) -> StoreResult<()> {
        self.app_state.write(&self.limits, sid, |s| {
            for update in updates {
                // The map is bounded like zapo's: a duplicate index moves to the
                // back with its last value, and past the cap the first go.
                let mut map = BoundedMap::new(s.max_collection_entries);
                for (index, value) in update.index_value_map {
                    map.insert(index, value);
                }
                let index_value_map = map.into_vec();
                s.collections.insert(
                    update.collection,
                    StoredCollection { version: update.version, hash: update.hash, index_value_map },
                );
            }
        });
        Ok(())
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.app_state.drop_session(sid);
        Ok(())
    }
}
