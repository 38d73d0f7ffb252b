//! `keys` (the adapters' generic `(type, id) → blob` domain) and the Signal
//! group commit.
//!
//! Without transactions, "all or nothing" is as strong as the server allows:
//! every put and delete of a call is decided up front (later duplicates win),
//! then sent as at most one unordered upsert command and one delete command
//! per collection, all concurrently. Each document is written atomically; a
//! call that fails part-way reports `STORE_WRITE_FAILED` and may leave some
//! of its documents written, and repeating it converges (every write is an
//! idempotent upsert or delete of a final value).

use std::collections::HashMap;

use async_trait::async_trait;
use mongodb::bson::{doc, Document};

use super::bulk::upsert;
use super::collections::Kind;
use super::docs::{bin, get_bytes, get_lookup, lookup, Key};
use super::sender_keys::{sender_id, sender_key_upsert};
use super::signal_keys::{address_id, address_record};
use super::MongoBackend;
use crate::domain::keys::{KeyStore, KeyWrite, MAX_LIST_PAGE};
use crate::domain::signal_batch::{SessionWrite, SignalBatchStore, SignalWrite};
use crate::domain::{Blob, StoreResult};

fn key_id(sid: &str, kind: &str, id: &str) -> String {
    Key::of(sid).str(kind).str(id).done()
}

fn key_upsert(sid: &str, write: &KeyWrite, value: &[u8]) -> Document {
    let set = doc! { "s": sid, "kind": lookup(&write.kind), "id": lookup(&write.id), "value": bin(value.to_vec()) };
    upsert(doc! { "_id": key_id(sid, &write.kind, &write.id) }, doc! { "$set": set })
}

/// The final puts and deletes of one collection, decided before anything is sent.
#[derive(Default)]
struct Plan {
    /// `_id` → its upsert statement, or `None` for a delete; later entries replace earlier ones.
    ops: HashMap<String, Option<Document>>,
    /// First-seen order of the ids, so commands are deterministic.
    order: Vec<String>,
}

impl Plan {
    fn put(&mut self, id: String, statement: Document) {
        self.set(id, Some(statement));
    }

    fn delete(&mut self, id: String) {
        self.set(id, None);
    }

    fn set(&mut self, id: String, op: Option<Document>) {
        if self.ops.insert(id.clone(), op).is_none() {
            self.order.push(id);
        }
    }

    /// (upsert statements, ids to delete).
    fn split(mut self) -> (Vec<Document>, Vec<String>) {
        let mut puts = Vec::new();
        let mut deletes = Vec::new();
        for id in self.order {
            match self.ops.remove(&id) {
                Some(Some(statement)) => puts.push(statement),
                Some(None) => deletes.push(id),
                None => {}
            }
        }
        (puts, deletes)
    }
}

impl MongoBackend {
    /// Sends one collection's plan: one upsert and one delete command, concurrently.
    async fn apply_plan(&self, kind: Kind, plan: Plan, what: &'static str) -> StoreResult<()> {
        let (puts, deletes) = plan.split();
        tokio::try_join!(self.update_all(kind, puts, what), self.delete_ids(kind, deletes, None, what)).map(drop)
    }
}

#[async_trait]
impl KeyStore for MongoBackend {
    async fn get_keys(&self, sid: &str, kind: &str, ids: &[String]) -> StoreResult<Vec<Option<Blob>>> {
        let keys: Vec<String> = ids.iter().map(|id| key_id(sid, kind, id)).collect();
        let found = self.find_ids(Kind::AdapterKeys, &keys, "load keys").await?;
        keys.iter().map(|k| found.get(k).map(|d| get_bytes(d, "value")).transpose()).collect()
    }

    async fn write_keys(&self, sid: &str, writes: Vec<KeyWrite>) -> StoreResult<()> {
        let mut plan = Plan::default();
        for w in &writes {
            let id = key_id(sid, &w.kind, &w.id);
            match &w.value {
                Some(value) => plan.put(id, key_upsert(sid, w, value)),
                None => plan.delete(id),
            }
        }
        self.apply_plan(Kind::AdapterKeys, plan, "save keys").await
    }

    async fn list_keys(
        &self,
        sid: &str,
        kind: &str,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<(String, Blob)>> {
        let docs = self.key_page(sid, kind, after, limit).await?;
        docs.iter().map(|d| Ok((get_lookup(d, "id")?, get_bytes(d, "value")?))).collect()
    }

    async fn list_key_ids(&self, sid: &str, kind: &str, after: Option<&str>, limit: u32) -> StoreResult<Vec<String>> {
        let docs = self.key_page(sid, kind, after, limit).await?;
        docs.iter().map(|d| get_lookup(d, "id")).collect()
    }

    async fn clear_keys(&self, sid: &str) -> StoreResult<()> {
        self.clear_session(Kind::AdapterKeys, sid, "clear keys").await
    }
}

impl MongoBackend {
    /// One page of `kind` after `after`: MongoDB compares strings byte-wise (UTF-8, no collation).
    async fn key_page(&self, sid: &str, kind: &str, after: Option<&str>, limit: u32) -> StoreResult<Vec<Document>> {
        let limit = limit.min(MAX_LIST_PAGE);
        if limit == 0 {
            // A limit of 0 means "no limit" to MongoDB.
            return Ok(Vec::new());
        }
        let mut filter = doc! { "s": sid, "kind": lookup(kind) };
        if let Some(after) = after {
            filter.insert("id", doc! { "$gt": lookup(after) });
        }
        self.find_docs(Kind::AdapterKeys, filter, Some(doc! { "id": 1 }), Some(i64::from(limit)), "list keys").await
    }
}

#[async_trait]
impl SignalBatchStore for MongoBackend {
    async fn commit_signal_batch(&self, writes: &[SessionWrite]) -> StoreResult<()> {
        let (mut sessions, mut identities, mut sender_keys, mut keys) =
            (Plan::default(), Plan::default(), Plan::default(), Plan::default());
        for w in writes {
            let sid = &*w.sid;
            match &w.write {
                SignalWrite::Session { address, record: Some(record) } => {
                    let set = address_record(sid, address, "record", record.clone());
                    sessions.put(
                        address_id(sid, address),
                        upsert(doc! { "_id": address_id(sid, address) }, doc! { "$set": set }),
                    );
                }
                SignalWrite::Session { address, record: None } => sessions.delete(address_id(sid, address)),
                SignalWrite::Identity { address, key } => {
                    let set = address_record(sid, address, "identity_key", key.clone());
                    identities.put(
                        address_id(sid, address),
                        upsert(doc! { "_id": address_id(sid, address) }, doc! { "$set": set }),
                    );
                }
                SignalWrite::SenderKey(record) => {
                    sender_keys
                        .put(sender_id(sid, &record.group_id, &record.sender), sender_key_upsert(sid, record.clone()));
                }
                SignalWrite::Key(write) => {
                    let id = key_id(sid, &write.kind, &write.id);
                    match &write.value {
                        Some(value) => keys.put(id, key_upsert(sid, write, value)),
                        None => keys.delete(id),
                    }
                }
            }
        }
        let what = "commit a signal batch";
        tokio::try_join!(
            self.apply_plan(Kind::SignalSession, sessions, what),
            self.apply_plan(Kind::SignalIdentity, identities, what),
            self.apply_plan(Kind::SenderKeys, sender_keys, what),
            self.apply_plan(Kind::AdapterKeys, keys, what),
        )
        .map(drop)
    }
}
