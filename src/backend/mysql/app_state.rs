//! `appState`: sync keys and per-collection LT-hash state.
//!
//! A collection's index→value-MAC map can hold tens of thousands of entries
//! and changes a little per patch, so `set_collection_states` writes only the
//! delta (removed MACs deleted, new or changed ones upserted in multi-row
//! statements), in one transaction that holds the collection's row lock.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use sqlx::mysql::MySqlRow;

use super::rows::{bind_strs, chunks_by_size, col, count, padded, text};
use super::{read_err, retry_flag, write_err, MysqlBackend};
use crate::domain::app_state::{
    key_device_id, key_epoch, AppStateExport, AppStateStore, CollectionState, CollectionUpdate, SyncKey,
};
use crate::domain::StoreResult;

pub(super) fn sync_key(row: &MySqlRow) -> StoreResult<SyncKey> {
    Ok(SyncKey {
        key_id: col(row, "key_id")?,
        key_data: col(row, "key_data")?,
        timestamp: col(row, "timestamp")?,
        fingerprint: col(row, "fingerprint")?,
    })
}

/// First occurrence order, duplicates dropped.
fn unique<'a>(items: impl IntoIterator<Item = &'a String>) -> Vec<&'a str> {
    let mut seen = HashSet::new();
    items.into_iter().map(String::as_str).filter(|s| seen.insert(*s)).collect()
}

/// The map an update asks for: insertion order of each MAC's first
/// occurrence, the last value given for it (what a JS `Map` built from the
/// entries would hold).
fn desired_map(entries: &[(String, Vec<u8>)]) -> Vec<(&str, &[u8])> {
    let mut position: HashMap<&str, usize> = HashMap::new();
    let mut out: Vec<(&str, &[u8])> = Vec::with_capacity(entries.len());
    for (mac, value) in entries {
        match position.get(mac.as_str()) {
            Some(&i) => out[i].1 = value,
            None => {
                position.insert(mac, out.len());
                out.push((mac, value));
            }
        }
    }
    out
}

impl MysqlBackend {
    /// One attempt: the batch's stored data is read under row locks, so unchanged keys are skipped.
    async fn upsert_sync_keys_once(&self, sid: &str, keys: &[SyncKey]) -> StoreResult<u32> {
        let what = "save app-state sync keys";
        let mut tx = self.tx(sid, what).await?;
        // Current data of every key in the batch, locked: unchanged keys are skipped and not counted.
        let mut seen = HashSet::new();
        let ids: Vec<&[u8]> = keys.iter().map(|k| k.key_id.as_slice()).filter(|id| seen.insert(*id)).collect();
        let mut current: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        for chunk in ids.chunks(self.sql.ask_data_many.max_chunk()) {
            let (sql, len) = self.sql.ask_data_many.for_len(chunk.len());
            let mut query = sqlx::query(sql).bind(sid);
            for id in padded(chunk, len) {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&mut *tx).await.map_err(write_err(what))? {
                current.insert(col(&row, "key_id")?, col(&row, "key_data")?);
            }
        }
        let mut changed = 0u64;
        for key in keys {
            if current.get(&key.key_id).is_some_and(|data| *data == key.key_data) {
                continue;
            }
            sqlx::query(&self.sql.ask_upsert)
                .bind(sid)
                .bind(key.key_id.as_slice())
                .bind(key.key_id.as_slice())
                .bind(key.key_data.as_slice())
                .bind(key.timestamp)
                .bind(key.fingerprint.as_deref())
                .bind(key_epoch(&key.key_id))
                .bind(key_device_id(&key.key_id).map(i64::from))
                .execute(&mut *tx)
                .await
                .map_err(write_err(what))?;
            current.insert(key.key_id.clone(), key.key_data.clone());
            changed += 1;
        }
        tx.commit().await.map_err(write_err(what))?;
        Ok(count(changed))
    }

    /// One attempt; deadlocks between collections sharing a gap are replayed by the caller.
    async fn set_collection_states_once(&self, sid: &str, updates: &[CollectionUpdate]) -> StoreResult<()> {
        let what = "save app-state collections";
        let mut tx = self.tx(sid, what).await?;
        for update in updates {
            let collection = update.collection.as_str();
            // Upserting the version row first locks the collection for the delta below.
            sqlx::query(&self.sql.acv_upsert)
                .bind(sid)
                .bind(collection)
                .bind(collection)
                .bind(update.version)
                .bind(update.hash.as_slice())
                .execute(&mut *tx)
                .await
                .map_err(write_err(what))?;

            let rows = sqlx::query(&self.sql.aiv_of_collection)
                .bind(sid)
                .bind(collection)
                .fetch_all(&mut *tx)
                .await
                .map_err(write_err(what))?;
            let mut existing: HashMap<String, Vec<u8>> = HashMap::with_capacity(rows.len());
            for row in &rows {
                existing.insert(text(row, "index_mac_hex")?, col(row, "value_mac")?);
            }
            let desired = desired_map(&update.index_value_map);
            let wanted: HashSet<&str> = desired.iter().map(|(mac, _)| *mac).collect();
            let removed: Vec<&str> = existing.keys().map(String::as_str).filter(|mac| !wanted.contains(mac)).collect();
            for chunk in removed.chunks(self.sql.aiv_delete_many.max_chunk()) {
                let (sql, len) = self.sql.aiv_delete_many.for_len(chunk.len());
                bind_strs(sqlx::query(sql).bind(sid).bind(collection), chunk, len)
                    .execute(&mut *tx)
                    .await
                    .map_err(write_err(what))?;
            }
            let changed: Vec<(&str, &[u8])> = desired
                .into_iter()
                .filter(|(mac, value)| existing.get(*mac).is_none_or(|current| current.as_slice() != *value))
                .collect();
            let list = &self.sql.aiv_upsert;
            for chunk in
                chunks_by_size(&changed, list.max_chunk(), |(mac, value)| 2 * (collection.len() + mac.len()) + value.len())
            {
                let (sql, len) = list.for_len(chunk.len());
                let mut query = sqlx::query(sql);
                for (mac, value) in padded(chunk, len) {
                    query =
                        query.bind(sid).bind(collection).bind(collection).bind(*mac).bind(*mac).bind(*value);
                }
                query.execute(&mut *tx).await.map_err(write_err(what))?;
            }
        }
        tx.commit().await.map_err(write_err(what))
    }
}

#[async_trait]
impl AppStateStore for MysqlBackend {
    async fn export_data(&self, sid: &str) -> StoreResult<AppStateExport> {
        let what = "export app state";
        let mut tx = self.read_tx(sid, what).await?;
        let keys = sqlx::query(&self.sql.ask_all).bind(sid).fetch_all(&mut *tx).await.map_err(read_err(what))?;
        let versions = sqlx::query(&self.sql.acv_all).bind(sid).fetch_all(&mut *tx).await.map_err(read_err(what))?;
        let values = sqlx::query(&self.sql.aiv_all).bind(sid).fetch_all(&mut *tx).await.map_err(read_err(what))?;
        tx.commit().await.map_err(read_err(what))?;

        let mut maps: HashMap<String, Vec<(String, Vec<u8>)>> = HashMap::new();
        for row in &values {
            let collection = text(row, "collection")?;
            maps.entry(collection).or_default().push((text(row, "index_mac_hex")?, col(row, "value_mac")?));
        }
        let mut collections = Vec::with_capacity(versions.len());
        for row in &versions {
            let collection = text(row, "collection")?;
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
        retrying!(async { self.upsert_sync_keys_once(sid, &keys).await.map_err(retry_flag) })
    }

    async fn get_sync_keys(&self, sid: &str, key_ids: &[Vec<u8>]) -> StoreResult<Vec<Option<SyncKey>>> {
        let pool = self.db(sid).await?;
        let mut seen = HashSet::new();
        let ids: Vec<&[u8]> = key_ids.iter().map(Vec::as_slice).filter(|id| seen.insert(*id)).collect();
        let mut found: HashMap<Vec<u8>, SyncKey> = HashMap::new();
        for chunk in ids.chunks(self.sql.ask_get_many.max_chunk()) {
            let (sql, len) = self.sql.ask_get_many.for_len(chunk.len());
            let mut query = sqlx::query(sql).bind(sid);
            for id in padded(chunk, len) {
                query = query.bind(*id);
            }
            for row in query.fetch_all(pool).await.map_err(read_err("load app-state sync keys"))? {
                let key = sync_key(&row)?;
                found.insert(key.key_id.clone(), key);
            }
        }
        Ok(key_ids.iter().map(|id| found.get(id).cloned()).collect())
    }

    async fn get_active_sync_key(&self, sid: &str) -> StoreResult<Option<SyncKey>> {
        let row = sqlx::query(&self.sql.ask_active)
            .bind(sid)
            .fetch_optional(self.db(sid).await?)
            .await
            .map_err(read_err("load the active app-state sync key"))?;
        row.as_ref().map(sync_key).transpose()
    }

    async fn get_collection_states(&self, sid: &str, collections: &[String]) -> StoreResult<Vec<CollectionState>> {
        let what = "load app-state collections";
        let names = unique(collections);
        let mut tx = self.read_tx(sid, what).await?;
        let mut states: HashMap<String, CollectionState> = HashMap::new();
        for chunk in names.chunks(self.sql.acv_get_many.max_chunk()) {
            let (sql, len) = self.sql.acv_get_many.for_len(chunk.len());
            let rows =
                bind_strs(sqlx::query(sql).bind(sid), chunk, len).fetch_all(&mut *tx).await.map_err(read_err(what))?;
            for row in &rows {
                let state = CollectionState {
                    initialized: true,
                    version: col(row, "version")?,
                    hash: col(row, "hash")?,
                    index_value_map: Vec::new(),
                };
                states.insert(text(row, "collection")?, state);
            }
        }
        // Only initialized collections can have entries; skip the query otherwise.
        let initialized: Vec<&str> = names.iter().copied().filter(|n| states.contains_key(*n)).collect();
        for chunk in initialized.chunks(self.sql.aiv_get_many.max_chunk()) {
            let (sql, len) = self.sql.aiv_get_many.for_len(chunk.len());
            let rows =
                bind_strs(sqlx::query(sql).bind(sid), chunk, len).fetch_all(&mut *tx).await.map_err(read_err(what))?;
            for row in &rows {
                let collection = text(row, "collection")?;
                if let Some(state) = states.get_mut(&collection) {
                    state.index_value_map.push((text(row, "index_mac_hex")?, col(row, "value_mac")?));
                }
            }
        }
        tx.commit().await.map_err(read_err(what))?;
        Ok(collections.iter().map(|c| states.get(c).cloned().unwrap_or_else(CollectionState::empty)).collect())
    }

    async fn set_collection_states(&self, sid: &str, updates: Vec<CollectionUpdate>) -> StoreResult<()> {
        retrying!(async { self.set_collection_states_once(sid, &updates).await.map_err(retry_flag) })
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        let what = "clear app state";
        let mut tx = self.tx(sid, what).await?;
        for sql in [&self.sql.ask_clear, &self.sql.acv_clear, &self.sql.aiv_clear] {
            sqlx::query(sql).bind(sid).execute(&mut *tx).await.map_err(write_err(what))?;
        }
        tx.commit().await.map_err(write_err(what))
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
