//! `appState`: sync keys and per-collection LT-hash state.
//!
//! A collection's index→value-MAC map can hold tens of thousands of entries
//! and changes a little per patch, so `set_collection_states` writes only the
//! delta (removed MACs deleted, new or changed ones upserted), one statement
//! each, all in one transaction.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use sqlx::postgres::PgRow;

use super::rows::{col, count};
use super::{check, check_all, read_err, write_err, PostgresBackend};
use crate::domain::app_state::{
    key_device_id, key_epoch, AppStateExport, AppStateStore, CollectionState, CollectionUpdate, SyncKey,
};
use crate::domain::StoreResult;

pub(super) fn sync_key(row: &PgRow) -> StoreResult<SyncKey> {
    Ok(SyncKey {
        key_id: col(row, "key_id")?,
        key_data: col(row, "key_data")?,
        timestamp: col(row, "key_timestamp")?,
        fingerprint: col(row, "fingerprint")?,
    })
}

/// First occurrence order, duplicates dropped.
fn unique(items: &[String]) -> Vec<&str> {
    let mut seen = HashSet::new();
    items.iter().map(String::as_str).filter(|s| seen.insert(*s)).collect()
}

/// The map an update asks for: insertion order of each MAC's first
/// occurrence, the last value given for it (what a JS `Map` built from the
/// entries would hold).
fn desired_map(entries: &[(String, Vec<u8>)]) -> Vec<(&str, &[u8])> {
    let mut position: HashMap<&str, usize> = HashMap::new();
    let mut out: Vec<(&str, &[u8])> = Vec::with_capacity(entries.len());
    for (mac, value) in entries {
        match position.get(mac.as_str()) {
            Some(&i) => {
                if let Some(slot) = out.get_mut(i) {
                    slot.1 = value;
                }
            }
            None => {
                position.insert(mac, out.len());
                out.push((mac, value));
            }
        }
    }
    out
}

impl PostgresBackend {
    /// `upsert_sync_keys` one key at a time, in one transaction.
    async fn upsert_sync_keys_in_order(&self, sid: &str, keys: Vec<SyncKey>) -> StoreResult<u32> {
        let what = "save app-state sync keys";
        let mut tx = self.begin(what).await?;
        let mut changed = 0;
        for k in &keys {
            changed += sqlx::query(&self.sql.ask_upsert)
                .bind(sid)
                .bind([k.key_id.as_slice()])
                .bind([k.key_data.as_slice()])
                .bind([k.timestamp])
                .bind([k.fingerprint.as_deref()])
                .bind([key_epoch(&k.key_id)])
                .bind([key_device_id(&k.key_id).map(i64::from)])
                .execute(&mut *tx)
                .await
                .map_err(write_err(what))?
                .rows_affected();
        }
        tx.commit().await.map_err(write_err(what))?;
        Ok(count(changed))
    }
}

#[async_trait]
impl AppStateStore for PostgresBackend {
    async fn export_data(&self, sid: &str) -> StoreResult<AppStateExport> {
        check("sessionId", sid)?;
        let what = "export app state";
        let mut tx = self.begin_read(what).await?;
        let keys = sqlx::query(&self.sql.ask_all).bind(sid).fetch_all(&mut *tx).await.map_err(read_err(what))?;
        let versions = sqlx::query(&self.sql.acv_all).bind(sid).fetch_all(&mut *tx).await.map_err(read_err(what))?;
        let values = sqlx::query(&self.sql.aiv_all).bind(sid).fetch_all(&mut *tx).await.map_err(read_err(what))?;
        tx.commit().await.map_err(read_err(what))?;

        let mut maps: HashMap<String, Vec<(String, Vec<u8>)>> = HashMap::new();
        for row in &values {
            let collection: String = col(row, "collection")?;
            maps.entry(collection).or_default().push((col(row, "index_mac_hex")?, col(row, "value_mac")?));
        }
        let mut collections = Vec::with_capacity(versions.len());
        for row in &versions {
            let collection: String = col(row, "collection")?;
            let index_value_map = maps.remove(&collection).unwrap_or_default();
            collections.push(CollectionUpdate {
                version: col(row, "version")?,
                hash: col(row, "hash")?,
                index_value_map,
                collection,
            });
        }
        Ok(AppStateExport { keys: keys.iter().map(sync_key).collect::<StoreResult<_>>()?, collections })
    }

    async fn upsert_sync_keys(&self, sid: &str, keys: Vec<SyncKey>) -> StoreResult<u32> {
        check("sessionId", sid)?;
        if keys.is_empty() {
            return Ok(0);
        }
        let mut seen = HashSet::with_capacity(keys.len());
        if !keys.iter().all(|k| seen.insert(k.key_id.as_slice())) {
            // A key given twice counts each change (as applying them in order
            // would) and one statement may not touch a row twice: rare enough
            // to take the per-key path.
            return self.upsert_sync_keys_in_order(sid, keys).await;
        }
        let ids: Vec<&[u8]> = keys.iter().map(|k| k.key_id.as_slice()).collect();
        let data: Vec<&[u8]> = keys.iter().map(|k| k.key_data.as_slice()).collect();
        let timestamps: Vec<i64> = keys.iter().map(|k| k.timestamp).collect();
        let fingerprints: Vec<Option<&[u8]>> = keys.iter().map(|k| k.fingerprint.as_deref()).collect();
        let epochs: Vec<i64> = keys.iter().map(|k| key_epoch(&k.key_id)).collect();
        let devices: Vec<Option<i64>> = keys.iter().map(|k| key_device_id(&k.key_id).map(i64::from)).collect();
        let done = sqlx::query(&self.sql.ask_upsert)
            .bind(sid)
            .bind(ids)
            .bind(data)
            .bind(timestamps)
            .bind(fingerprints)
            .bind(epochs)
            .bind(devices)
            .execute(self.pool().await?)
            .await
            .map_err(write_err("save app-state sync keys"))?;
        Ok(count(done.rows_affected()))
    }

    async fn get_sync_keys(&self, sid: &str, key_ids: &[Vec<u8>]) -> StoreResult<Vec<Option<SyncKey>>> {
        check("sessionId", sid)?;
        if key_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&[u8]> = key_ids.iter().map(Vec::as_slice).collect();
        let rows = sqlx::query(&self.sql.ask_get_many)
            .bind(sid)
            .bind(ids)
            .fetch_all(self.pool().await?)
            .await
            .map_err(read_err("load app-state sync keys"))?;
        rows.iter()
            .map(|row| match col::<Option<Vec<u8>>>(row, "key_data")? {
                Some(_) => sync_key(row).map(Some),
                None => Ok(None),
            })
            .collect()
    }

    async fn get_active_sync_key(&self, sid: &str) -> StoreResult<Option<SyncKey>> {
        check("sessionId", sid)?;
        let row = sqlx::query(&self.sql.ask_active)
            .bind(sid)
            .fetch_optional(self.pool().await?)
            .await
            .map_err(read_err("load the active app-state sync key"))?;
        row.as_ref().map(sync_key).transpose()
    }

    async fn get_collection_states(&self, sid: &str, collections: &[String]) -> StoreResult<Vec<CollectionState>> {
        check("sessionId", sid)?;
        check_all("collection", collections.iter().map(String::as_str))?;
        if collections.is_empty() {
            return Ok(Vec::new());
        }
        let what = "load app-state collections";
        let names = unique(collections);
        let mut tx = self.begin_read(what).await?;
        let rows = sqlx::query(&self.sql.acv_get_many)
            .bind(sid)
            .bind(&names)
            .fetch_all(&mut *tx)
            .await
            .map_err(read_err(what))?;
        let mut states: HashMap<String, CollectionState> = HashMap::new();
        for row in &rows {
            let state = CollectionState {
                initialized: true,
                version: col(row, "version")?,
                hash: col(row, "hash")?,
                index_value_map: Vec::new(),
            };
            states.insert(col(row, "collection")?, state);
        }
        // Only initialized collections can have entries; skip the query otherwise.
        let initialized: Vec<&str> = names.iter().copied().filter(|n| states.contains_key(*n)).collect();
        if !initialized.is_empty() {
            let rows = sqlx::query(&self.sql.aiv_get_many)
                .bind(sid)
                .bind(&initialized)
                .fetch_all(&mut *tx)
                .await
                .map_err(read_err(what))?;
            for row in &rows {
                let collection: String = col(row, "collection")?;
                if let Some(state) = states.get_mut(&collection) {
                    state.index_value_map.push((col(row, "index_mac_hex")?, col(row, "value_mac")?));
                }
            }
        }
        tx.commit().await.map_err(read_err(what))?;
        Ok(collections.iter().map(|c| states.get(c).cloned().unwrap_or_else(CollectionState::empty)).collect())
    }

    async fn set_collection_states(&self, sid: &str, updates: Vec<CollectionUpdate>) -> StoreResult<()> {
        check("sessionId", sid)?;
        for update in &updates {
            check("collection", &update.collection)?;
            check_all("indexValueMap key", update.index_value_map.iter().map(|(k, _)| k.as_str()))?;
        }
        if updates.is_empty() {
            return Ok(());
        }
        let what = "save app-state collections";
        let mut tx = self.begin(what).await?;
        for update in &updates {
            sqlx::query(&self.sql.acv_upsert)
                .bind(sid)
                .bind(update.collection.as_str())
                .bind(update.version)
                .bind(update.hash.as_slice())
                .execute(&mut *tx)
                .await
                .map_err(write_err(what))?;
            let desired = desired_map(&update.index_value_map);
            let macs: Vec<&str> = desired.iter().map(|(mac, _)| *mac).collect();
            let values: Vec<&[u8]> = desired.iter().map(|(_, value)| *value).collect();
            sqlx::query(&self.sql.aiv_delete_others)
                .bind(sid)
                .bind(update.collection.as_str())
                .bind(&macs)
                .execute(&mut *tx)
                .await
                .map_err(write_err(what))?;
            if !macs.is_empty() {
                sqlx::query(&self.sql.aiv_upsert_many)
                    .bind(sid)
                    .bind(update.collection.as_str())
                    .bind(&macs)
                    .bind(&values)
                    .execute(&mut *tx)
                    .await
                    .map_err(write_err(what))?;
            }
        }
        tx.commit().await.map_err(write_err(what))
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        let statements = [self.sql.ask_clear.as_str(), &self.sql.acv_clear, &self.sql.aiv_clear];
        self.exec_sid_all(&statements, sid, "clear app state").await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desired_map_keeps_first_position_and_last_value() {
        let entries = vec![("a".to_owned(), vec![1]), ("b".to_owned(), vec![2]), ("a".to_owned(), vec![3])];
        assert_eq!(desired_map(&entries), vec![("a", &[3u8][..]), ("b", &[2u8][..])]);
    }
}
