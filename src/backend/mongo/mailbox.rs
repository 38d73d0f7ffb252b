//! `messages`, `threads`, `contacts` and `privacyToken`.
//!
//! Messages are replaced whole (`$set` of every field, `null` for absent
//! ones). Threads, contacts and tokens merge field by field on the server:
//! each upsert `$set`s only the fields the record provides (SQL's
//! `COALESCE(new, old)`), contacts keep the larger `last_updated_ms` with
//! `$max`, and duplicates inside one batch are merged in order first.

use async_trait::async_trait;
use mongodb::bson::{doc, Bson, Document};

use super::bulk::upsert;
use super::collections::Kind;
use super::docs::{
    count, flag, get_flag, get_i64, get_lookup, get_opt_bytes, get_opt_flag, get_opt_i64, get_opt_lookup, get_opt_str,
    get_str, lookup, opt_bin, opt_flag, opt_i64, opt_lookup, opt_str, Key,
};
use super::MongoBackend;
use crate::backend::dedupe::{dedupe_last, dedupe_with};
use crate::domain::contacts::{ContactStore, StoredContact};
use crate::domain::messages::{page_by_ranges, page_ranges, MessageStore, PageRange, PageStart, StoredMessage};
use crate::domain::privacy_token::{PrivacyToken, PrivacyTokenStore};
use crate::domain::threads::{StoredThread, ThreadStore};
use crate::domain::StoreResult;

pub(super) fn message(doc: &Document) -> StoreResult<StoredMessage> {
    Ok(StoredMessage {
        id: get_lookup(doc, "message_id")?,
        thread_jid: get_lookup(doc, "thread_jid")?,
        sender_jid: get_opt_str(doc, "sender_jid")?,
        participant_jid: get_opt_str(doc, "participant_jid")?,
        from_me: get_flag(doc, "from_me")?,
        timestamp_ms: get_opt_i64(doc, "timestamp_ms")?,
        message_bytes: get_opt_bytes(doc, "message_bytes")?,
    })
}

pub(super) fn thread(doc: &Document) -> StoreResult<StoredThread> {
    Ok(StoredThread {
        jid: get_str(doc, "jid")?,
        name: get_opt_str(doc, "name")?,
        unread_count: get_opt_i64(doc, "unread_count")?,
        archived: get_opt_flag(doc, "archived")?,
        pinned: get_opt_i64(doc, "pinned")?,
        mute_end_ms: get_opt_i64(doc, "mute_end_ms")?,
        marked_as_unread: get_opt_flag(doc, "marked_as_unread")?,
        ephemeral_expiration: get_opt_i64(doc, "ephemeral_expiration")?,
        ephemeral_setting_timestamp: get_opt_i64(doc, "ephemeral_setting_timestamp")?,
    })
}

pub(super) fn contact(doc: &Document) -> StoreResult<StoredContact> {
    Ok(StoredContact {
        jid: get_str(doc, "jid")?,
        display_name: get_opt_str(doc, "display_name")?,
        push_name: get_opt_str(doc, "push_name")?,
        lid: get_opt_str(doc, "lid")?,
        phone_number: get_opt_lookup(doc, "phone_number")?,
        username: get_opt_str(doc, "username")?,
        last_updated_ms: get_i64(doc, "last_updated_ms")?,
    })
}

pub(super) fn privacy_token(doc: &Document) -> StoreResult<PrivacyToken> {
    Ok(PrivacyToken {
        jid: get_str(doc, "jid")?,
        tc_token: get_opt_bytes(doc, "tc_token")?,
        tc_token_timestamp: get_opt_i64(doc, "tc_token_timestamp")?,
        tc_token_sender_timestamp: get_opt_i64(doc, "tc_token_sender_timestamp")?,
        nct_salt: get_opt_bytes(doc, "nct_salt")?,
        updated_at_ms: get_i64(doc, "updated_at_ms")?,
    })
}

/// The filters of one keyset range of a thread, in walk order (ids compare
/// as their order-preserving `lookup` form, byte-wise: no collation). No
/// `$or`: the ties of a timestamp below an id are a filter of their own, then
/// the older timestamps, so every filter is one index range (and nx-27017, the
/// test server, ignores a delete filter's other conditions next to an `$or`).
fn range_filters(sid: &str, thread_jid: &str, range: PageRange<'_>) -> Vec<Document> {
    let base = || doc! { "s": sid, "thread_jid": lookup(thread_jid) };
    let with = |field: &str, cond: Bson| {
        let mut f = base();
        f.insert(field, cond);
        f
    };
    match range {
        PageRange::All => vec![base()],
        PageRange::Timed { timestamp_ms, below_id } => {
            let older = with("timestamp_ms", Bson::Document(doc! { "$lt": timestamp_ms }));
            match below_id {
                None => vec![older],
                Some(id) => {
                    let mut ties = with("timestamp_ms", Bson::Int64(timestamp_ms));
                    ties.insert("message_id", doc! { "$lt": lookup(id) });
                    vec![ties, older]
                }
            }
        }
        PageRange::Untimed { below_id } => {
            let mut f = with("timestamp_ms", Bson::Null);
            if let Some(id) = below_id {
                f.insert("message_id", doc! { "$lt": lookup(id) });
            }
            vec![f]
        }
    }
}

/// Walk order, the by-thread index's (null timestamps sort last descending).
fn walk_sort() -> Document {
    doc! { "timestamp_ms": -1, "message_id": -1 }
}

/// `_id` of a per-session record keyed by one string (message id, jid, …).
pub(super) fn one_key(sid: &str, key: &str) -> String {
    Key::of(sid).str(key).done()
}

/// Adds `field: value` to a merge `$set` only when the record provides it.
fn set_some(set: &mut Document, field: &str, value: Bson) {
    if value != Bson::Null {
        set.insert(field, value);
    }
}

impl MongoBackend {
    /// The document of `kind` keyed `[sid, key]`.
    pub(super) async fn get_keyed(
        &self,
        kind: Kind,
        sid: &str,
        key: &str,
        what: &'static str,
    ) -> StoreResult<Option<Document>> {
        self.find_one(kind, doc! { "_id": one_key(sid, key) }, what).await
    }

    /// Deletes the document of `kind` keyed `[sid, key]`; returns 0 or 1.
    pub(super) async fn delete_keyed(&self, kind: Kind, sid: &str, key: &str, what: &'static str) -> StoreResult<u32> {
        self.delete_where(kind, doc! { "_id": one_key(sid, key) }, what).await.map(count)
    }

    pub(super) async fn clear_session(&self, kind: Kind, sid: &str, what: &'static str) -> StoreResult<()> {
        self.delete_where(kind, doc! { "s": sid }, what).await.map(drop)
    }
}

#[async_trait]
impl MessageStore for MongoBackend {
    async fn upsert_messages(&self, sid: &str, records: Vec<StoredMessage>) -> StoreResult<()> {
        let records = dedupe_last(records, |m| m.id.clone());
        let statements = records
            .into_iter()
            .map(|m| {
                let set = doc! {
                    "s": sid,
                    "message_id": lookup(&m.id),
                    "thread_jid": lookup(&m.thread_jid),
                    "sender_jid": opt_str(m.sender_jid.as_deref()),
                    "participant_jid": opt_str(m.participant_jid.as_deref()),
                    "from_me": flag(m.from_me),
                    "timestamp_ms": opt_i64(m.timestamp_ms),
                    "message_bytes": opt_bin(m.message_bytes),
                };
                upsert(doc! { "_id": one_key(sid, &m.id) }, doc! { "$set": set })
            })
            .collect();
        self.update_all(Kind::Messages, statements, "save messages").await.map(drop)
    }

    async fn get_message(&self, sid: &str, id: &str) -> StoreResult<Option<StoredMessage>> {
        let doc = self.get_keyed(Kind::Messages, sid, id, "load a message").await?;
        doc.as_ref().map(message).transpose()
    }

    async fn list_messages_by_thread(
        &self,
        sid: &str,
        thread_jid: &str,
        limit: u32,
        before_timestamp_ms: Option<i64>,
    ) -> StoreResult<Vec<StoredMessage>> {
        let mut filter = doc! { "s": sid, "thread_jid": lookup(thread_jid) };
        // `$lt` on a number never matches null: undefined timestamps drop out.
        if let Some(before) = before_timestamp_ms {
            filter.insert("timestamp_ms", doc! { "$lt": before });
        }
        // Descending puts null timestamps last, as the SQL backends' NULLS LAST.
        let limit = Some(i64::from(limit));
        let docs = self.find_docs(Kind::Messages, filter, Some(walk_sort()), limit, "list messages").await?;
        docs.iter().map(message).collect()
    }

    async fn list_messages_page(
        &self,
        sid: &str,
        thread_jid: &str,
        limit: u32,
        start: &PageStart,
    ) -> StoreResult<Vec<StoredMessage>> {
        page_by_ranges(start, limit, |range, n| async move {
            let what = "list a page of messages";
            let mut out = Vec::new();
            for filter in range_filters(sid, thread_jid, range) {
                let missing = i64::from(n) - out.len() as i64;
                if missing <= 0 {
                    break;
                }
                let docs = self.find_docs(Kind::Messages, filter, Some(walk_sort()), Some(missing), what).await?;
                for d in &docs {
                    out.push(message(d)?);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn delete_thread_messages(&self, sid: &str, thread_jid: &str, start: &PageStart) -> StoreResult<u32> {
        let mut deleted = 0;
        for range in page_ranges(start) {
            for filter in range_filters(sid, thread_jid, range) {
                deleted += count(self.delete_where(Kind::Messages, filter, "delete messages of a thread").await?);
            }
        }
        Ok(deleted)
    }

    async fn delete_message(&self, sid: &str, id: &str) -> StoreResult<u32> {
        self.delete_keyed(Kind::Messages, sid, id, "delete a message").await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.clear_session(Kind::Messages, sid, "clear messages").await
    }
}

#[async_trait]
impl ThreadStore for MongoBackend {
    async fn upsert_threads(&self, sid: &str, records: Vec<StoredThread>) -> StoreResult<()> {
        let records = dedupe_with(records, |t| t.jid.clone(), StoredThread::merge_from);
        let statements = records
            .into_iter()
            .map(|t| {
                let mut set = doc! { "s": sid, "jid": t.jid.as_str() };
                set_some(&mut set, "name", opt_str(t.name.as_deref()));
                set_some(&mut set, "unread_count", opt_i64(t.unread_count));
                set_some(&mut set, "archived", opt_flag(t.archived));
                set_some(&mut set, "pinned", opt_i64(t.pinned));
                set_some(&mut set, "mute_end_ms", opt_i64(t.mute_end_ms));
                set_some(&mut set, "marked_as_unread", opt_flag(t.marked_as_unread));
                set_some(&mut set, "ephemeral_expiration", opt_i64(t.ephemeral_expiration));
                set_some(&mut set, "ephemeral_setting_timestamp", opt_i64(t.ephemeral_setting_timestamp));
                upsert(doc! { "_id": one_key(sid, &t.jid) }, doc! { "$set": set })
            })
            .collect();
        self.update_all(Kind::Threads, statements, "save threads").await.map(drop)
    }

    async fn get_thread(&self, sid: &str, jid: &str) -> StoreResult<Option<StoredThread>> {
        let doc = self.get_keyed(Kind::Threads, sid, jid, "load a thread").await?;
        doc.as_ref().map(thread).transpose()
    }

    async fn list_threads(&self, sid: &str, limit: u32) -> StoreResult<Vec<StoredThread>> {
        let docs =
            self.find_docs(Kind::Threads, doc! { "s": sid }, None, Some(i64::from(limit)), "list threads").await?;
        docs.iter().map(thread).collect()
    }

    async fn delete_thread(&self, sid: &str, jid: &str) -> StoreResult<u32> {
        self.delete_keyed(Kind::Threads, sid, jid, "delete a thread").await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.clear_session(Kind::Threads, sid, "clear threads").await
    }
}

#[async_trait]
impl ContactStore for MongoBackend {
    async fn upsert_contacts(&self, sid: &str, records: Vec<StoredContact>) -> StoreResult<()> {
        let records = dedupe_with(records, |c| c.jid.clone(), StoredContact::merge_from);
        let statements = records
            .into_iter()
            .map(|c| {
                let mut set = doc! { "s": sid, "jid": c.jid.as_str() };
                set_some(&mut set, "display_name", opt_str(c.display_name.as_deref()));
                set_some(&mut set, "push_name", opt_str(c.push_name.as_deref()));
                set_some(&mut set, "lid", opt_str(c.lid.as_deref()));
                set_some(&mut set, "phone_number", opt_lookup(c.phone_number.as_deref()));
                set_some(&mut set, "username", opt_str(c.username.as_deref()));
                // A late, older write never moves last_updated_ms back.
                let u = doc! { "$set": set, "$max": { "last_updated_ms": c.last_updated_ms } };
                upsert(doc! { "_id": one_key(sid, &c.jid) }, u)
            })
            .collect();
        self.update_all(Kind::Contacts, statements, "save contacts").await.map(drop)
    }

    async fn get_contact(&self, sid: &str, jid: &str) -> StoreResult<Option<StoredContact>> {
        let doc = self.get_keyed(Kind::Contacts, sid, jid, "load a contact").await?;
        doc.as_ref().map(contact).transpose()
    }

    async fn get_contact_by_phone_number(&self, sid: &str, phone_number: &str) -> StoreResult<Option<StoredContact>> {
        // Several contacts may carry one number: the most recently updated wins.
        let filter = doc! { "s": sid, "phone_number": lookup(phone_number) };
        let sort = doc! { "last_updated_ms": -1, "_id": -1 };
        let what = "look up a contact by phone number";
        let docs = self.find_docs(Kind::Contacts, filter, Some(sort), Some(1), what).await?;
        docs.first().map(contact).transpose()
    }

    async fn delete_contact(&self, sid: &str, jid: &str) -> StoreResult<u32> {
        self.delete_keyed(Kind::Contacts, sid, jid, "delete a contact").await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.clear_session(Kind::Contacts, sid, "clear contacts").await
    }
}

#[async_trait]
impl PrivacyTokenStore for MongoBackend {
    async fn upsert_privacy_tokens(&self, sid: &str, records: Vec<PrivacyToken>) -> StoreResult<()> {
        let records = dedupe_with(records, |t| t.jid.clone(), PrivacyToken::merge_from);
        let statements = records
            .into_iter()
            .map(|t| {
                let mut set = doc! { "s": sid, "jid": t.jid.as_str(), "updated_at_ms": t.updated_at_ms };
                set_some(&mut set, "tc_token", opt_bin(t.tc_token));
                set_some(&mut set, "tc_token_timestamp", opt_i64(t.tc_token_timestamp));
                set_some(&mut set, "tc_token_sender_timestamp", opt_i64(t.tc_token_sender_timestamp));
                set_some(&mut set, "nct_salt", opt_bin(t.nct_salt));
                upsert(doc! { "_id": one_key(sid, &t.jid) }, doc! { "$set": set })
            })
            .collect();
        self.update_all(Kind::PrivacyTokens, statements, "save privacy tokens").await.map(drop)
    }

    async fn get_privacy_token(&self, sid: &str, jid: &str) -> StoreResult<Option<PrivacyToken>> {
        let doc = self.get_keyed(Kind::PrivacyTokens, sid, jid, "load a privacy token").await?;
        doc.as_ref().map(privacy_token).transpose()
    }

    async fn delete_privacy_token(&self, sid: &str, jid: &str) -> StoreResult<u32> {
        self.delete_keyed(Kind::PrivacyTokens, sid, jid, "delete a privacy token").await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.clear_session(Kind::PrivacyTokens, sid, "clear privacy tokens").await
    }
}
