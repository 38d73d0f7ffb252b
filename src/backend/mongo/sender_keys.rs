//! `senderKey`: group sender-key records and distribution markers, in two
//! collections keyed `[sid, group, user, server, device]`. Listing a group
//! and deleting one sender everywhere use the `(s, group_id)` and
//! `(s, user, server, device)` indexes.

use async_trait::async_trait;
use mongodb::bson::{doc, Document};

use super::bulk::upsert;
use super::collections::Kind;
use super::docs::{address_fields, bin, count, get_address, get_bytes, get_i64, get_lookup, get_u32, lookup, Key};
use super::MongoBackend;
use crate::backend::dedupe::dedupe_last;
use crate::domain::sender_key::{GroupSenderKeys, SenderKey, SenderKeyDistribution, SenderKeyStore};
use crate::domain::{SignalAddress, StoreResult, DEFAULT_SERVER};

pub(super) fn sender_key(doc: &Document) -> StoreResult<SenderKey> {
    Ok(SenderKey {
        group_id: get_lookup(doc, "group_id")?,
        sender: get_address(doc)?,
        record: get_bytes(doc, "record")?,
    })
}

pub(super) fn distribution(doc: &Document) -> StoreResult<SenderKeyDistribution> {
    Ok(SenderKeyDistribution {
        group_id: get_lookup(doc, "group_id")?,
        sender: get_address(doc)?,
        key_id: get_u32(doc, "key_id")?,
        timestamp_ms: get_i64(doc, "timestamp_ms")?,
    })
}

fn sender_id(sid: &str, group_id: &str, sender: &SignalAddress) -> String {
    Key::of(sid).str(group_id).address(sender).done()
}

/// The key fields every document of both collections carries.
fn key_fields(sid: &str, group_id: &str, sender: &SignalAddress) -> Document {
    let mut set = doc! { "s": sid, "group_id": lookup(group_id) };
    address_fields(&mut set, sender);
    set
}

/// Filter on one sender in every group.
fn sender_filter(sid: &str, sender: &SignalAddress) -> Document {
    let server = if sender.server.is_empty() { DEFAULT_SERVER } else { sender.server.as_str() };
    doc! { "s": sid, "user": lookup(&sender.user), "server": lookup(server), "device": i64::from(sender.device) }
}

pub(super) fn sender_key_upsert(sid: &str, record: &SenderKey) -> Document {
    let mut set = key_fields(sid, &record.group_id, &record.sender);
    set.insert("record", bin(record.record.clone()));
    upsert(doc! { "_id": sender_id(sid, &record.group_id, &record.sender) }, doc! { "$set": set })
}

impl MongoBackend {
    /// Deletes the documents with these ids from both collections; returns how many.
    async fn delete_sender_ids(&self, ids: Vec<String>, what: &'static str) -> StoreResult<u32> {
        let (keys, dists) = tokio::try_join!(
            self.delete_ids(Kind::SenderKeys, ids.clone(), None, what),
            self.delete_ids(Kind::SenderKeyDistribution, ids, None, what),
        )?;
        Ok(count(keys + dists))
    }
}

#[async_trait]
impl SenderKeyStore for MongoBackend {
    async fn upsert_sender_key(&self, sid: &str, record: SenderKey) -> StoreResult<()> {
        self.update_all(Kind::SenderKeys, vec![sender_key_upsert(sid, &record)], "save a sender key").await.map(drop)
    }

    async fn upsert_sender_key_distributions(&self, sid: &str, records: Vec<SenderKeyDistribution>) -> StoreResult<()> {
        let records = dedupe_last(records, |r| sender_id(sid, &r.group_id, &r.sender));
        let statements = records
            .into_iter()
            .map(|r| {
                let mut set = key_fields(sid, &r.group_id, &r.sender);
                set.insert("key_id", i64::from(r.key_id));
                set.insert("timestamp_ms", r.timestamp_ms);
                upsert(doc! { "_id": sender_id(sid, &r.group_id, &r.sender) }, doc! { "$set": set })
            })
            .collect();
        self.update_all(Kind::SenderKeyDistribution, statements, "save sender-key distributions").await.map(drop)
    }

    async fn get_group_sender_keys(&self, sid: &str, group_id: &str) -> StoreResult<GroupSenderKeys> {
        let what = "load group sender keys";
        let filter = doc! { "s": sid, "group_id": lookup(group_id) };
        let sort = doc! { "_id": 1 };
        let (keys, dists) = tokio::try_join!(
            self.find_docs(Kind::SenderKeys, filter.clone(), Some(sort.clone()), None, what),
            self.find_docs(Kind::SenderKeyDistribution, filter, Some(sort), None, what),
        )?;
        Ok(GroupSenderKeys {
            sender_keys: keys.iter().map(sender_key).collect::<StoreResult<_>>()?,
            distributions: dists.iter().map(distribution).collect::<StoreResult<_>>()?,
        })
    }

    async fn get_device_sender_key(
        &self,
        sid: &str,
        group_id: &str,
        sender: &SignalAddress,
    ) -> StoreResult<Option<SenderKey>> {
        let filter = doc! { "_id": sender_id(sid, group_id, sender) };
        let doc = self.find_one(Kind::SenderKeys, filter, "load a sender key").await?;
        doc.as_ref().map(sender_key).transpose()
    }

    async fn get_device_sender_key_distributions(
        &self,
        sid: &str,
        group_id: &str,
        senders: &[SignalAddress],
    ) -> StoreResult<Vec<Option<SenderKeyDistribution>>> {
        let ids: Vec<String> = senders.iter().map(|s| sender_id(sid, group_id, s)).collect();
        let found = self.find_ids(Kind::SenderKeyDistribution, &ids, "load sender-key distributions").await?;
        ids.iter().map(|id| found.get(id).map(distribution).transpose()).collect()
    }

    async fn delete_device_sender_key(
        &self,
        sid: &str,
        target: &SignalAddress,
        group_id: Option<&str>,
    ) -> StoreResult<u32> {
        let what = "delete a sender key";
        // zapo treats an empty group id like an absent one: every group.
        match group_id.filter(|g| !g.is_empty()) {
            Some(group) => self.delete_sender_ids(vec![sender_id(sid, group, target)], what).await,
            None => {
                let filter = sender_filter(sid, target);
                let (keys, dists) = tokio::try_join!(
                    self.delete_where(Kind::SenderKeys, filter.clone(), what),
                    self.delete_where(Kind::SenderKeyDistribution, filter, what),
                )?;
                Ok(count(keys + dists))
            }
        }
    }

    async fn mark_forget_sender_key(
        &self,
        sid: &str,
        group_id: &str,
        participants: &[SignalAddress],
    ) -> StoreResult<u32> {
        let mut ids: Vec<String> = participants.iter().map(|p| sender_id(sid, group_id, p)).collect();
        ids.sort_unstable();
        ids.dedup();
        self.delete_sender_ids(ids, "forget sender keys").await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        let what = "clear sender keys";
        tokio::try_join!(
            self.delete_where(Kind::SenderKeys, doc! { "s": sid }, what),
            self.delete_where(Kind::SenderKeyDistribution, doc! { "s": sid }, what),
        )
        .map(drop)
    }
}
