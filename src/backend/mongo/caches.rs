//! The TTL caches: `groupMetadata`, `chatMetadata`, `deviceList`, `messageSecret`.
//!
//! `expires_at_ms` (Int64) is the source of truth: reads filter on it and
//! delete the expired documents they saw (guarded by `expires_at_ms <= now`,
//! so a concurrent refresh survives), and `cleanup_*` deletes the rest.
//! Each cache document also carries `expires_at`, a BSON Date for the TTL
//! index, so the server collects what nobody cleans up. The contracts
//! measure expiry against the caller's `nowMs`, not the server's clock, so
//! the Date trails: it is the later of the expiry and the write time, plus
//! [`TTL_GRACE_MS`]. The TTL monitor therefore never removes an entry a
//! caller could still read as live, even when callers pass synthetic times.

use async_trait::async_trait;
use mongodb::bson::{doc, Document};

use super::bulk::upsert;
use super::collections::Kind;
use super::docs::{
    bin, count, date, get_bytes, get_i64, get_id, get_opt_i64, get_opt_lookup, get_str, get_str_list, lookup, opt_i64,
    opt_lookup, str_list,
};
use super::mailbox::one_key;
use super::MongoBackend;
use crate::backend::dedupe::dedupe_last;
use crate::domain::chat_metadata::{ChatMetadata, ChatMetadataStore};
use crate::domain::device_list::{DeviceList, DeviceListStore};
use crate::domain::group_metadata::{GroupMetadata, GroupMetadataStore};
use crate::domain::message_secret::{MessageSecret, MessageSecretStore};
use crate::domain::{now_ms, StoreResult};

/// How long after its expiry (or its write, if later) the TTL index may remove an entry.
pub const TTL_GRACE_MS: i64 = 60 * 60 * 1000;

/// The last millisecond of year 9999: later Dates break drivers that decode them as calendar dates.
const MAX_DATE_MS: i64 = 253_402_300_799_999;

/// `expires_at_ms` plus the trailing TTL Date.
pub fn expiry_fields(expires_at_ms: i64) -> Document {
    let collect_at = expires_at_ms.max(now_ms()).saturating_add(TTL_GRACE_MS).min(MAX_DATE_MS);
    doc! { "expires_at_ms": expires_at_ms, "expires_at": date(collect_at) }
}

/// Whether a cache document is still live at `now_ms`.
pub fn live(doc: &Document, now_ms: i64) -> StoreResult<bool> {
    Ok(get_i64(doc, "expires_at_ms")? > now_ms)
}

pub(super) fn group_metadata(doc: &Document) -> StoreResult<GroupMetadata> {
    Ok(GroupMetadata {
        group_jid: get_str(doc, "group_jid")?,
        participants: get_str_list(doc, "participants")?,
        ephemeral: get_opt_i64(doc, "ephemeral")?,
        ephemeral_trigger: get_opt_i64(doc, "ephemeral_trigger")?,
        updated_at_ms: get_i64(doc, "updated_at_ms")?,
    })
}

pub(super) fn chat_metadata(doc: &Document) -> StoreResult<ChatMetadata> {
    Ok(ChatMetadata {
        chat_jid: get_str(doc, "chat_jid")?,
        ephemeral_expiration: get_opt_i64(doc, "ephemeral_expiration")?,
        ephemeral_setting_timestamp: get_opt_i64(doc, "ephemeral_setting_timestamp")?,
        updated_at_ms: get_i64(doc, "updated_at_ms")?,
    })
}

pub(super) fn device_list(doc: &Document) -> StoreResult<DeviceList> {
    Ok(DeviceList {
        user_jid: get_str(doc, "user_jid")?,
        alt_user_jid: get_opt_lookup(doc, "alt_user_jid")?,
        device_jids: get_str_list(doc, "device_jids")?,
        updated_at_ms: get_i64(doc, "updated_at_ms")?,
    })
}

/// The upsert of one group-metadata entry expiring at `expires`.
pub(super) fn group_metadata_upsert(sid: &str, g: &GroupMetadata, expires: i64) -> Document {
    let mut set = doc! {
        "s": sid,
        "group_jid": g.group_jid.as_str(),
        "participants": str_list(&g.participants),
        "ephemeral": opt_i64(g.ephemeral),
        "ephemeral_trigger": opt_i64(g.ephemeral_trigger),
        "updated_at_ms": g.updated_at_ms,
    };
    set.extend(expiry_fields(expires));
    upsert(doc! { "_id": one_key(sid, &g.group_jid) }, doc! { "$set": set })
}

/// The upsert of one chat-metadata entry expiring at `expires`.
pub(super) fn chat_metadata_upsert(sid: &str, c: &ChatMetadata, expires: i64) -> Document {
    let mut set = doc! {
        "s": sid,
        "chat_jid": c.chat_jid.as_str(),
        "ephemeral_expiration": opt_i64(c.ephemeral_expiration),
        "ephemeral_setting_timestamp": opt_i64(c.ephemeral_setting_timestamp),
        "updated_at_ms": c.updated_at_ms,
    };
    set.extend(expiry_fields(expires));
    upsert(doc! { "_id": one_key(sid, &c.chat_jid) }, doc! { "$set": set })
}

/// The upsert of one device list expiring at `expires`.
pub(super) fn device_list_upsert(sid: &str, d: &DeviceList, expires: i64) -> Document {
    let mut set = doc! {
        "s": sid,
        "user_jid": d.user_jid.as_str(),
        "alt_user_jid": opt_lookup(d.alt_user_jid.as_deref()),
        "device_jids": str_list(&d.device_jids),
        "updated_at_ms": d.updated_at_ms,
    };
    set.extend(expiry_fields(expires));
    upsert(doc! { "_id": one_key(sid, &d.user_jid) }, doc! { "$set": set })
}

/// The upsert of one message secret expiring at `expires`.
pub(super) fn message_secret_upsert(sid: &str, id: &str, secret: &MessageSecret, expires: i64) -> Document {
    let mut set = doc! {
        "s": sid,
        "message_id": id,
        "secret": bin(secret.secret.clone()),
        "sender_jid": secret.sender_jid.as_str(),
    };
    set.extend(expiry_fields(expires));
    upsert(doc! { "_id": one_key(sid, id) }, doc! { "$set": set })
}

impl MongoBackend {
    /// Deletes the expired documents a read saw, unless refreshed meanwhile.
    async fn drop_expired(&self, kind: Kind, mut ids: Vec<String>, now_ms: i64, what: &'static str) -> StoreResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        ids.sort_unstable();
        ids.dedup();
        let guard = doc! { "expires_at_ms": { "$lte": now_ms } };
        self.delete_ids(kind, ids, Some(guard), what).await.map(drop)
    }

    /// The live document keyed `[sid, key]`; an expired one is dropped and reads as absent.
    async fn get_live(
        &self,
        kind: Kind,
        sid: &str,
        key: &str,
        now_ms: i64,
        what: &'static str,
    ) -> StoreResult<Option<Document>> {
        let Some(doc) = self.get_keyed(kind, sid, key, what).await? else { return Ok(None) };
        if live(&doc, now_ms)? {
            return Ok(Some(doc));
        }
        self.drop_expired(kind, vec![get_id(&doc)?], now_ms, what).await?;
        Ok(None)
    }

    /// Live documents by `_id`, positional; expired ones are dropped and read as absent.
    async fn get_live_many(
        &self,
        kind: Kind,
        ids: &[String],
        now_ms: i64,
        what: &'static str,
    ) -> StoreResult<Vec<Option<Document>>> {
        let mut found = self.find_ids(kind, ids, what).await?;
        let mut stale = Vec::new();
        for (id, doc) in &found {
            if !live(doc, now_ms)? {
                stale.push(id.clone());
            }
        }
        for id in &stale {
            found.remove(id);
        }
        self.drop_expired(kind, stale, now_ms, what).await?;
        Ok(ids.iter().map(|id| found.get(id).cloned()).collect())
    }

    /// Deletes the expired documents of one session; returns how many.
    pub(super) async fn cleanup_kind(
        &self,
        kind: Kind,
        sid: &str,
        now_ms: i64,
        what: &'static str,
    ) -> StoreResult<u32> {
        self.delete_where(kind, doc! { "s": sid, "expires_at_ms": { "$lte": now_ms } }, what).await.map(count)
    }
}

#[async_trait]
impl GroupMetadataStore for MongoBackend {
    async fn upsert_group_metadata(&self, sid: &str, snapshot: GroupMetadata) -> StoreResult<()> {
        let expires = snapshot.updated_at_ms.saturating_add(self.options.cache_ttls.group_metadata_ms);
        let statement = group_metadata_upsert(sid, &snapshot, expires);
        self.update_all(Kind::GroupMetadata, vec![statement], "save group metadata").await.map(drop)
    }

    async fn get_group_metadata(&self, sid: &str, group_jid: &str, now_ms: i64) -> StoreResult<Option<GroupMetadata>> {
        let doc = self.get_live(Kind::GroupMetadata, sid, group_jid, now_ms, "load group metadata").await?;
        doc.as_ref().map(group_metadata).transpose()
    }

    async fn delete_group_metadata(&self, sid: &str, group_jid: &str) -> StoreResult<u32> {
        self.delete_keyed(Kind::GroupMetadata, sid, group_jid, "delete group metadata").await
    }

    async fn cleanup_expired_group_metadata(&self, sid: &str, now_ms: i64) -> StoreResult<u32> {
        self.cleanup_kind(Kind::GroupMetadata, sid, now_ms, "clean up group metadata").await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.clear_session(Kind::GroupMetadata, sid, "clear group metadata").await
    }
}

#[async_trait]
impl ChatMetadataStore for MongoBackend {
    async fn upsert_chat_metadata(&self, sid: &str, snapshot: ChatMetadata) -> StoreResult<()> {
        let expires = snapshot.updated_at_ms.saturating_add(self.options.cache_ttls.chat_metadata_ms);
        let statement = chat_metadata_upsert(sid, &snapshot, expires);
        self.update_all(Kind::ChatMetadata, vec![statement], "save chat metadata").await.map(drop)
    }

    async fn get_chat_metadata(&self, sid: &str, chat_jid: &str, now_ms: i64) -> StoreResult<Option<ChatMetadata>> {
        let doc = self.get_live(Kind::ChatMetadata, sid, chat_jid, now_ms, "load chat metadata").await?;
        doc.as_ref().map(chat_metadata).transpose()
    }

    async fn delete_chat_metadata(&self, sid: &str, chat_jid: &str) -> StoreResult<u32> {
        self.delete_keyed(Kind::ChatMetadata, sid, chat_jid, "delete chat metadata").await
    }

    async fn cleanup_expired_chat_metadata(&self, sid: &str, now_ms: i64) -> StoreResult<u32> {
        self.cleanup_kind(Kind::ChatMetadata, sid, now_ms, "clean up chat metadata").await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.clear_session(Kind::ChatMetadata, sid, "clear chat metadata").await
    }
}

#[async_trait]
impl DeviceListStore for MongoBackend {
    async fn upsert_user_devices(&self, sid: &str, snapshots: Vec<DeviceList>) -> StoreResult<()> {
        let ttl = self.options.cache_ttls.device_list_ms;
        let snapshots = dedupe_last(snapshots, |s| s.user_jid.clone());
        let statements = snapshots
            .into_iter()
            .map(|s| device_list_upsert(sid, &s, s.updated_at_ms.saturating_add(ttl)))
            .collect();
        self.update_all(Kind::DeviceList, statements, "save device lists").await.map(drop)
    }

    async fn get_user_devices(
        &self,
        sid: &str,
        user_jids: &[String],
        now_ms: i64,
    ) -> StoreResult<Vec<Option<DeviceList>>> {
        let ids: Vec<String> = user_jids.iter().map(|u| one_key(sid, u)).collect();
        let docs = self.get_live_many(Kind::DeviceList, &ids, now_ms, "load device lists").await?;
        docs.iter().map(|d| d.as_ref().map(device_list).transpose()).collect()
    }

    async fn find_by_any_user_jid(&self, sid: &str, jid: &str, now_ms: i64) -> StoreResult<Option<DeviceList>> {
        let what = "look up a device list";
        if let Some(doc) = self.get_live(Kind::DeviceList, sid, jid, now_ms, what).await? {
            return device_list(&doc).map(Some);
        }
        // The latest snapshot naming `jid` as its alternate form.
        let filter = doc! { "s": sid, "alt_user_jid": lookup(jid) };
        let sort = doc! { "updated_at_ms": -1, "_id": -1 };
        let Some(doc) = self.find_docs(Kind::DeviceList, filter, Some(sort), Some(1), what).await?.pop() else {
            return Ok(None);
        };
        if live(&doc, now_ms)? {
            return device_list(&doc).map(Some);
        }
        self.drop_expired(Kind::DeviceList, vec![get_id(&doc)?], now_ms, "drop an expired device list").await?;
        Ok(None)
    }

    async fn delete_user_devices(&self, sid: &str, user_jid: &str) -> StoreResult<u32> {
        self.delete_keyed(Kind::DeviceList, sid, user_jid, "delete a device list").await
    }

    async fn cleanup_expired_device_lists(&self, sid: &str, now_ms: i64) -> StoreResult<u32> {
        self.cleanup_kind(Kind::DeviceList, sid, now_ms, "clean up device lists").await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.clear_session(Kind::DeviceList, sid, "clear device lists").await
    }
}

#[async_trait]
impl MessageSecretStore for MongoBackend {
    async fn get_message_secrets(
        &self,
        sid: &str,
        message_ids: &[String],
        now_ms: i64,
    ) -> StoreResult<Vec<Option<MessageSecret>>> {
        let ids: Vec<String> = message_ids.iter().map(|m| one_key(sid, m)).collect();
        let docs = self.get_live_many(Kind::MessageSecrets, &ids, now_ms, "load message secrets").await?;
        docs.iter()
            .map(|d| {
                d.as_ref()
                    .map(|d| {
                        Ok(MessageSecret { secret: get_bytes(d, "secret")?, sender_jid: get_str(d, "sender_jid")? })
                    })
                    .transpose()
            })
            .collect()
    }

    async fn set_message_secrets(
        &self,
        sid: &str,
        entries: Vec<(String, MessageSecret)>,
        now_ms: i64,
    ) -> StoreResult<()> {
        let expires = now_ms.saturating_add(self.options.cache_ttls.message_secret_ms);
        let entries = dedupe_last(entries, |(id, _)| id.clone());
        let statements = entries
            .into_iter()
            .map(|(id, secret)| message_secret_upsert(sid, &id, &secret, expires))
            .collect();
        self.update_all(Kind::MessageSecrets, statements, "save message secrets").await.map(drop)
    }

    async fn cleanup_expired_message_secrets(&self, sid: &str, now_ms: i64) -> StoreResult<u32> {
        self.cleanup_kind(Kind::MessageSecrets, sid, now_ms, "clean up message secrets").await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.clear_session(Kind::MessageSecrets, sid, "clear message secrets").await
    }
}
