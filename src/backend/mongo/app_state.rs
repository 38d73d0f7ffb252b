//! `appState`: sync keys, collection versions and index-value maps.
//!
//! The test server cannot compare Binary values, so byte comparisons happen
//! here: `upsert_sync_keys` reads the stored keys and writes only new or
//! changed ones, and `set_collection_states` reads the stored map and writes
//! the delta (removed MACs deleted, new or changed ones upserted). The
//! version/hash document of a collection is written after its map, so a
//! call that fails part-way leaves the old version with a partly updated
//! map (the LT-hash check of the next patch then fails and forces a resync),
//! never a new version over an old map.

use std::collections::HashMap;

use async_trait::async_trait;
use mongodb::bson::{doc, Document};

use super::bulk::upsert;
use super::collections::Kind;
use super::docs::{bin, get_bytes, get_i64, get_lookup, get_opt_bytes, get_str, lookup, opt_bin, opt_i64, Key};
use super::MongoBackend;
use crate::domain::app_state::{
    key_device_id, key_epoch, AppStateExport, AppStateStore, CollectionState, CollectionUpdate, SyncKey,
};
use crate::domain::StoreResult;

pub(super) fn sync_key(doc: &Document) -> StoreResult<SyncKey> {
    Ok(SyncKey {
        key_id: get_bytes(doc, "key_id")?,
        key_data: get_bytes(doc, "key_data")?,
        timestamp: get_i64(doc, "timestamp")?,
        fingerprint: get_opt_bytes(doc, "fingerprint")?,
    })
}

fn key_doc_id(sid: &str, key_id: &[u8]) -> String {
    Key::of(sid).hex(key_id).done()
}

fn version_id(sid: &str, collection: &str) -> String {
    Key::of(sid).str(collection).done()
}

fn value_id(sid: &str, collection: &str, mac: &str) -> String {
    Key::of(sid).str(collection).str(mac).done()
}

/// The map an update asks for: first-occurrence order, last value per MAC
/// (what a JS `Map` built from the entries would hold).
fn desired_map(entries: &[(String, Vec<u8>)]) -> Vec<(&str, &[u8])> {
    let deduped = crate::backend::dedupe::dedupe_last(entries.iter().collect(), |(mac, _)| mac.as_str());
    deduped.into_iter().map(|(mac, value)| (mac.as_str(), value.as_slice())).collect()
}

/// index MAC → value MAC pairs of one collection.
type IndexValues = Vec<(String, Vec<u8>)>;

/// Index-value entries of several collections, grouped by collection name.
pub(super) fn group_entries(docs: &[Document]) -> StoreResult<HashMap<String, IndexValues>> {
    let mut maps: HashMap<String, IndexValues> = HashMap::new();
    for d in docs {
        maps.entry(get_lookup(d, "collection")?)
            .or_default()
            .push((get_str(d, "index_mac")?, get_bytes(d, "value_mac")?));
    }
    Ok(maps)
}

#[async_trait]
impl AppStateStore for MongoBackend {
    async fn export_data(&self, sid: &str) -> StoreResult<AppStateExport> {
        let what = "export app state";
        let by_id = Some(doc! { "_id": 1 });
        let (keys, versions, values) = tokio::try_join!(
            self.find_docs(Kind::AppStateSyncKeys, doc! { "s": sid }, by_id.clone(), None, what),
            self.find_docs(Kind::AppStateCollectionVersions, doc! { "s": sid }, by_id.clone(), None, what),
            self.find_docs(Kind::AppStateIndexValues, doc! { "s": sid }, by_id, None, what),
        )?;
        let mut maps = group_entries(&values)?;
        let mut collections = Vec::with_capacity(versions.len());
        for d in &versions {
            let collection = get_lookup(d, "collection")?;
            collections.push(CollectionUpdate {
                version: get_i64(d, "version")?,
                hash: get_bytes(d, "hash")?,
                index_value_map: maps.remove(&collection).unwrap_or_default(),
                collection,
            });
        }
        Ok(AppStateExport { keys: keys.iter().map(sync_key).collect::<StoreResult<_>>()?, collections })
    }

    async fn upsert_sync_keys(&self, sid: &str, keys: Vec<SyncKey>) -> StoreResult<u32> {
        let what = "save app-state sync keys";
        let ids: Vec<String> = keys.iter().map(|k| key_doc_id(sid, &k.key_id)).collect();
        let stored = self.find_ids(Kind::AppStateSyncKeys, &ids, what).await?;
        // Apply in order against what is stored: each key whose data differs
        // from the current value counts (as applying them one by one would).
        let mut current: HashMap<&str, Vec<u8>> = HashMap::new();
        for (id, doc) in &stored {
            current.insert(id.as_str(), get_bytes(doc, "key_data")?);
        }
        let mut changed = 0u32;
        let mut latest: HashMap<&str, usize> = HashMap::new();
        for (i, (id, key)) in ids.iter().zip(&keys).enumerate() {
            if current.get(id.as_str()) != Some(&key.key_data) {
                changed += 1;
                current.insert(id.as_str(), key.key_data.clone());
                latest.insert(id.as_str(), i);
            }
        }
        let mut order: Vec<usize> = latest.into_values().collect();
        order.sort_unstable();
        let statements: Vec<Document> = order
            .into_iter()
            .filter_map(|i| Some((ids.get(i)?, keys.get(i)?)))
            .map(|(id, k)| {
                let set = doc! {
                    "s": sid,
                    "key_id": bin(k.key_id.clone()),
                    "key_data": bin(k.key_data.clone()),
                    "timestamp": k.timestamp,
                    "fingerprint": opt_bin(k.fingerprint.clone()),
                    "key_epoch": key_epoch(&k.key_id),
                    "key_device": opt_i64(key_device_id(&k.key_id).map(i64::from)),
                };
                upsert(doc! { "_id": id }, doc! { "$set": set })
            })
            .collect();
        self.update_all(Kind::AppStateSyncKeys, statements, what).await?;
        Ok(changed)
    }

    async fn get_sync_keys(&self, sid: &str, key_ids: &[Vec<u8>]) -> StoreResult<Vec<Option<SyncKey>>> {
        let ids: Vec<String> = key_ids.iter().map(|k| key_doc_id(sid, k)).collect();
        let found = self.find_ids(Kind::AppStateSyncKeys, &ids, "load app-state sync keys").await?;
        ids.iter().map(|id| found.get(id).map(sync_key).transpose()).collect()
    }

    async fn get_active_sync_key(&self, sid: &str) -> StoreResult<Option<SyncKey>> {
        // Highest epoch, then lowest device id (absent first), then lowest key id.
        let sort = doc! { "key_epoch": -1, "key_device": 1, "_id": 1 };
        let what = "load the active app-state sync key";
        let docs = self.find_docs(Kind::AppStateSyncKeys, doc! { "s": sid }, Some(sort), Some(1), what).await?;
        docs.first().map(sync_key).transpose()
    }

    async fn get_collection_states(&self, sid: &str, collections: &[String]) -> StoreResult<Vec<CollectionState>> {
        let what = "load app-state collections";
        if collections.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = collections.iter().map(|c| version_id(sid, c)).collect();
        let mut names: Vec<String> = collections.iter().map(|c| lookup(c)).collect();
        names.sort_unstable();
        names.dedup();
        let (versions, values) = tokio::try_join!(
            self.find_ids(Kind::AppStateCollectionVersions, &ids, what),
            self.find_docs(
                Kind::AppStateIndexValues,
                doc! { "s": sid, "collection": { "$in": names } },
                None,
                None,
                what
            ),
        )?;
        let mut maps = group_entries(&values)?;
        let mut states: HashMap<&str, CollectionState> = HashMap::new();
        for (id, name) in ids.iter().zip(collections) {
            let Some(d) = versions.get(id) else { continue };
            if states.contains_key(name.as_str()) {
                continue;
            }
            let state = CollectionState {
                initialized: true,
                version: get_i64(d, "version")?,
                hash: get_bytes(d, "hash")?,
                index_value_map: maps.remove(name).unwrap_or_default(),
            };
            states.insert(name, state);
        }
        Ok(collections.iter().map(|c| states.get(c.as_str()).cloned().unwrap_or_else(CollectionState::empty)).collect())
    }

    async fn set_collection_states(&self, sid: &str, updates: Vec<CollectionUpdate>) -> StoreResult<()> {
        let what = "save app-state collections";
        if updates.is_empty() {
            return Ok(());
        }
        // The last update of a collection wins (each replaces the whole state).
        let updates = crate::backend::dedupe::dedupe_last(updates, |u| u.collection.clone());
        let names: Vec<String> = updates.iter().map(|u| lookup(&u.collection)).collect();
        let filter = doc! { "s": sid, "collection": { "$in": names } };
        let stored = group_entries(&self.find_docs(Kind::AppStateIndexValues, filter, None, None, what).await?)?;

        let mut removed: Vec<String> = Vec::new();
        let mut upserts: Vec<Document> = Vec::new();
        for update in &updates {
            let desired = desired_map(&update.index_value_map);
            let old: HashMap<&str, &[u8]> = stored
                .get(&update.collection)
                .map(|entries| entries.iter().map(|(m, v)| (m.as_str(), v.as_slice())).collect())
                .unwrap_or_default();
            let wanted: HashMap<&str, &[u8]> = desired.iter().copied().collect();
            removed
                .extend(old.keys().filter(|m| !wanted.contains_key(*m)).map(|m| value_id(sid, &update.collection, m)));
            for (mac, value) in desired {
                if old.get(mac) != Some(&value) {
                    let set = doc! { "s": sid, "collection": lookup(&update.collection), "index_mac": mac, "value_mac": bin(value) };
                    upserts.push(upsert(doc! { "_id": value_id(sid, &update.collection, mac) }, doc! { "$set": set }));
                }
            }
        }
        tokio::try_join!(
            self.delete_ids(Kind::AppStateIndexValues, removed, None, what),
            self.update_all(Kind::AppStateIndexValues, upserts, what),
        )?;
        let versions = updates
            .iter()
            .map(|u| {
                let set = doc! { "s": sid, "collection": lookup(&u.collection), "version": u.version, "hash": bin(u.hash.clone()) };
                upsert(doc! { "_id": version_id(sid, &u.collection) }, doc! { "$set": set })
            })
            .collect();
        self.update_all(Kind::AppStateCollectionVersions, versions, what).await.map(drop)
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        let what = "clear app state";
        tokio::try_join!(
            self.delete_where(Kind::AppStateSyncKeys, doc! { "s": sid }, what),
            self.delete_where(Kind::AppStateCollectionVersions, doc! { "s": sid }, what),
            self.delete_where(Kind::AppStateIndexValues, doc! { "s": sid }, what),
        )
        .map(drop)
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
