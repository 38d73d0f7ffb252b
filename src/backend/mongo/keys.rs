//! `keys` (the adapters' generic `(type, id) → blob` domain) and the Signal
//! group commit.
//!
//! Without transactions, "all or nothing" is as strong as the server allows:
//! every put and delete of a call is decided up front (later duplicates win,
//! `signal_batch::group`), then sent as at most one unordered upsert command
//! and one delete command per collection, all concurrently. `write_keys` is
//! a batch of one session. Each document is written atomically; a
//! call that fails part-way reports `STORE_WRITE_FAILED` and may leave some
//! of its documents written, and repeating it converges (every write is an
//! idempotent upsert or delete of a final value).

use std::future::IntoFuture;

use async_trait::async_trait;
use mongodb::bson::{doc, Bson, Document};

use super::bulk::upsert;
use super::collections::Kind;
use super::docs::{bin, get_bytes, get_lookup, lookup, unlookup, Key};
use super::sender_keys::sender_key_upsert;
use super::signal_keys::{address_id, address_record};
use super::MongoBackend;
use crate::domain::keys::{KeyStore, KeyWrite, MAX_LIST_PAGE};
use crate::domain::lease::Fence;
use crate::domain::signal_batch::{group, key_writes, SessionWrite, SignalBatchStore};
use crate::domain::{Blob, SignalAddress, StoreResult};
use crate::error::StoreError;

fn key_id(sid: &str, kind: &str, id: &str) -> String {
    Key::of(sid).str(kind).str(id).done()
}

fn key_upsert(sid: &str, write: &KeyWrite, value: &[u8]) -> Document {
    let set = doc! { "s": sid, "kind": lookup(&write.kind), "id": lookup(&write.id), "value": bin(value.to_vec()) };
    upsert(doc! { "_id": key_id(sid, &write.kind, &write.id) }, doc! { "$set": set })
}

fn address_upsert(sid: &str, a: &SignalAddress, field: &str, value: &[u8]) -> Document {
    upsert(doc! { "_id": address_id(sid, a) }, doc! { "$set": address_record(sid, a, field, value.to_vec()) })
}

impl MongoBackend {
    /// One collection's share of a batch: one upsert and one delete command, concurrently.
    async fn apply(
        &self,
        kind: Kind,
        puts: Vec<Document>,
        deletes: Vec<String>,
        what: &'static str,
    ) -> StoreResult<()> {
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
        self.commit_signal_batch(&key_writes(sid, writes), &[]).await
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

    async fn list_key_types(&self, sid: &str) -> StoreResult<Vec<String>> {
        let coll = self.coll(Kind::AdapterKeys).await?;
        let found = self.read("list key types", coll.distinct("kind", doc! { "s": sid }).into_future()).await?;
        let mut kinds = found
            .into_iter()
            .map(|kind| match kind {
                Bson::String(kind) => unlookup(kind, "kind"),
                other => Err(StoreError::corrupted(format!(
                    "mongo: a stored key type is not a string ({:?})",
                    other.element_type()
                ))),
            })
            .collect::<StoreResult<Vec<String>>>()?;
        kinds.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        kinds.dedup();
        Ok(kinds)
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
    async fn commit_signal_batch(&self, writes: &[SessionWrite], fences: &[Fence]) -> StoreResult<()> {
        // One write per record (the last one given), split by collection.
        let g = group(writes);
        if g.is_empty() {
            return Ok(());
        }
        // Not atomic with the writes below (no transactions): see lease.rs.
        self.check_fences(fences).await?;
        let what = "commit signal writes";
        let sessions = g.session_puts.iter().map(|(sid, a, v)| address_upsert(sid, a, "record", v)).collect();
        let session_deletes = g.session_deletes.iter().map(|(sid, a)| address_id(sid, a)).collect();
        let identities = g.identity_puts.iter().map(|(sid, a, v)| address_upsert(sid, a, "identity_key", v)).collect();
        let sender_keys = g.sender_keys.iter().map(|(sid, r)| sender_key_upsert(sid, r)).collect();
        let keys = g.key_puts.iter().map(|(sid, k, v)| key_upsert(sid, k, v)).collect();
        let key_deletes = g.key_deletes.iter().map(|(sid, k)| key_id(sid, &k.kind, &k.id)).collect();
        tokio::try_join!(
            self.apply(Kind::SignalSession, sessions, session_deletes, what),
            self.apply(Kind::SignalIdentity, identities, Vec::new(), what),
            self.apply(Kind::SenderKeys, sender_keys, Vec::new(), what),
            self.apply(Kind::AdapterKeys, keys, key_deletes, what),
        )
        .map(drop)
    }
}
