//! `retry` cache: outbound messages kept for retry receipts, and inbound counters.
//!
//! Both read-modify-writes are atomic without transactions:
//! - `mark_outbound_requester_delivered` is a compare-and-set on the
//!   document's `rev` (every write of the delivered list bumps it), retried
//!   when another writer got there first;
//! - `increment_inbound_counter` is a conditional `$inc` of a live counter,
//!   else a conditional reset of an expired one, else an insert; a lost
//!   insert race (duplicate key) starts over. Each step is one atomic
//!   single-document operation, so no increment is ever lost.

use std::future::IntoFuture;

use async_trait::async_trait;
use mongodb::bson::{doc, Document};
use mongodb::options::ReturnDocument;

use super::caches::expiry_fields;
use super::collections::Kind;
use super::docs::{bin, count, get_bytes, get_i64, get_opt_str_list, get_str, get_u32, opt_str_list, Key};
use super::mailbox::one_key;
use super::MongoBackend;
use crate::domain::retry::{add_delivered, requester_status, RequesterStatus, RetryOutboundMessage, RetryStore};
use crate::domain::StoreResult;
use crate::error::{ErrorCode, StoreError};

/// Compare-and-set attempts of a delivery mark under contention.
const CAS_ATTEMPTS: usize = 64;
/// Attempts of a counter increment (it repeats only after losing an insert race).
const INCREMENT_ATTEMPTS: usize = 8;

pub(super) fn outbound(doc: &Document) -> StoreResult<RetryOutboundMessage> {
    Ok(RetryOutboundMessage {
        message_id: get_str(doc, "message_id")?,
        to_jid: get_str(doc, "to_jid")?,
        eligible_requester_device_jids: get_opt_str_list(doc, "eligible_requesters")?,
        delivered_requester_device_jids: get_opt_str_list(doc, "delivered_requesters")?,
        replay_mode: get_str(doc, "replay_mode")?,
        replay_payload: get_bytes(doc, "replay_payload")?,
        state: get_str(doc, "state")?,
        updated_at_ms: get_i64(doc, "updated_at_ms")?,
        expires_at_ms: get_i64(doc, "expires_at_ms")?,
    })
}

fn counter_id(sid: &str, message_id: &str, requester_jid: &str) -> String {
    Key::of(sid).str(message_id).str(requester_jid).done()
}

/// The upsert of one inbound counter exactly as given (imports).
pub(super) fn counter_upsert(sid: &str, c: &crate::domain::snapshot::RetryInbound) -> Document {
    let mut set = doc! {
        "s": sid,
        "message_id": c.message_id.as_str(),
        "requester_jid": c.requester_jid.as_str(),
        "retry_count": i64::from(c.retry_count),
        "updated_at_ms": c.updated_at_ms,
    };
    set.extend(expiry_fields(c.expires_at_ms));
    super::bulk::upsert(doc! { "_id": counter_id(sid, &c.message_id, &c.requester_jid) }, doc! { "$set": set })
}

fn gave_up(what: &str, attempts: usize) -> StoreError {
    StoreError::new(ErrorCode::WriteFailed, format!("mongo: {what} failed: still contended after {attempts} attempts"))
}

#[async_trait]
impl RetryStore for MongoBackend {
    async fn upsert_outbound_message(&self, sid: &str, record: RetryOutboundMessage) -> StoreResult<()> {
        let mut set = doc! {
            "s": sid,
            "message_id": record.message_id.as_str(),
            "to_jid": record.to_jid,
            "eligible_requesters": opt_str_list(record.eligible_requester_device_jids.as_ref()),
            "delivered_requesters": opt_str_list(record.delivered_requester_device_jids.as_ref()),
            "replay_mode": record.replay_mode,
            "replay_payload": bin(record.replay_payload),
            "state": record.state,
            "updated_at_ms": record.updated_at_ms,
        };
        set.extend(expiry_fields(record.expires_at_ms));
        // The bump invalidates any delivery mark computed from the old list.
        let u = doc! { "$set": set, "$inc": { "rev": 1_i64 } };
        let id = one_key(sid, &record.message_id);
        self.upsert_one(Kind::RetryOutbound, doc! { "_id": id }, u, "save a retry message").await.map(drop)
    }

    async fn get_outbound_message(&self, sid: &str, message_id: &str) -> StoreResult<Option<RetryOutboundMessage>> {
        let doc = self.get_keyed(Kind::RetryOutbound, sid, message_id, "load a retry message").await?;
        doc.as_ref().map(outbound).transpose()
    }

    async fn delete_outbound_message(&self, sid: &str, message_id: &str) -> StoreResult<u32> {
        self.delete_keyed(Kind::RetryOutbound, sid, message_id, "delete a retry message").await
    }

    async fn get_outbound_requester_status(
        &self,
        sid: &str,
        message_id: &str,
        requester_device_jid: &str,
    ) -> StoreResult<Option<RequesterStatus>> {
        let what = "look up a retry requester";
        let filter = doc! { "_id": one_key(sid, message_id) };
        let fields = doc! { "eligible_requesters": 1, "delivered_requesters": 1 };
        let Some(doc) = self.find_one_fields(Kind::RetryOutbound, filter, Some(fields), what).await? else {
            return Ok(None);
        };
        let eligible = get_opt_str_list(&doc, "eligible_requesters")?;
        let delivered = get_opt_str_list(&doc, "delivered_requesters")?;
        Ok(requester_status(eligible.as_deref(), delivered.as_deref(), requester_device_jid))
    }

    async fn update_outbound_message_state(
        &self,
        sid: &str,
        message_id: &str,
        state: &str,
        updated_at_ms: i64,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        let coll = self.coll(Kind::RetryOutbound).await?;
        let mut set = doc! { "state": state, "updated_at_ms": updated_at_ms };
        set.extend(expiry_fields(expires_at_ms));
        let call = coll.update_one(doc! { "_id": one_key(sid, message_id) }, doc! { "$set": set });
        self.write("update a retry message", call.into_future()).await.map(drop)
    }

    async fn mark_outbound_requester_delivered(
        &self,
        sid: &str,
        message_id: &str,
        requester_device_jid: &str,
        updated_at_ms: i64,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        let what = "mark a retry requester delivered";
        let coll = self.coll(Kind::RetryOutbound).await?;
        let id = one_key(sid, message_id);
        for _ in 0..CAS_ATTEMPTS {
            // The list and its revision only: the replay payload stays on the server.
            let fields = doc! { "delivered_requesters": 1, "rev": 1 };
            let filter = doc! { "_id": id.as_str() };
            let Some(doc) = self.find_one_fields(Kind::RetryOutbound, filter, Some(fields), what).await? else {
                return Ok(());
            };
            let mut delivered = get_opt_str_list(&doc, "delivered_requesters")?.unwrap_or_default();
            add_delivered(&mut delivered, requester_device_jid);
            let mut filter = doc! { "_id": id.as_str() };
            match doc.get("rev") {
                Some(_) => filter.insert("rev", get_i64(&doc, "rev")?),
                None => filter.insert("rev", doc! { "$exists": false }),
            };
            let mut set =
                doc! { "delivered_requesters": super::docs::str_list(&delivered), "updated_at_ms": updated_at_ms };
            set.extend(expiry_fields(expires_at_ms));
            let call = coll.update_one(filter, doc! { "$set": set, "$inc": { "rev": 1_i64 } });
            if self.write(what, call.into_future()).await?.matched_count == 1 {
                return Ok(());
            }
        }
        Err(gave_up(what, CAS_ATTEMPTS))
    }

    async fn increment_inbound_counter(
        &self,
        sid: &str,
        message_id: &str,
        requester_jid: &str,
        updated_at_ms: i64,
        expires_at_ms: i64,
    ) -> StoreResult<u32> {
        let what = "count a retry request";
        let coll = self.coll(Kind::RetryInbound).await?;
        let id = counter_id(sid, message_id, requester_jid);
        let mut set = doc! { "updated_at_ms": updated_at_ms };
        set.extend(expiry_fields(expires_at_ms));
        for _ in 0..INCREMENT_ATTEMPTS {
            // A live counter: +1.
            let filter = doc! { "_id": id.as_str(), "expires_at_ms": { "$gt": updated_at_ms } };
            let call = coll
                .find_one_and_update(filter, doc! { "$inc": { "retry_count": 1_i64 }, "$set": set.clone() })
                .return_document(ReturnDocument::After);
            if let Some(doc) = self.write(what, call.into_future()).await? {
                return get_u32(&doc, "retry_count");
            }
            // An expired one (expiry at or before this call's time): restart at 1.
            let filter = doc! { "_id": id.as_str(), "expires_at_ms": { "$lte": updated_at_ms } };
            let mut reset = set.clone();
            reset.insert("retry_count", 1_i64);
            let call = coll.update_one(filter, doc! { "$set": reset });
            if self.write(what, call.into_future()).await?.matched_count == 1 {
                return Ok(1);
            }
            // None yet: insert the first count; a concurrent first insert wins and we go again.
            let mut first = doc! {
                "_id": id.as_str(),
                "s": sid,
                "message_id": message_id,
                "requester_jid": requester_jid,
                "retry_count": 1_i64,
            };
            first.extend(set.clone());
            match tokio::time::timeout(self.op_timeout, coll.insert_one(first).into_future()).await {
                Ok(Ok(_)) => return Ok(1),
                Ok(Err(err)) if is_duplicate_key(&err) => continue,
                Ok(Err(err)) => return Err(super::map_err(ErrorCode::WriteFailed, what)(err)),
                Err(_) => return Err(StoreError::new(ErrorCode::WriteFailed, format!("mongo: {what} timed out"))),
            }
        }
        Err(gave_up(what, INCREMENT_ATTEMPTS))
    }

    async fn cleanup_expired(&self, sid: &str, now_ms: i64) -> StoreResult<u32> {
        let what = "clean up expired retry entries";
        let filter = doc! { "s": sid, "expires_at_ms": { "$lte": now_ms } };
        let (a, b) = tokio::try_join!(
            self.delete_where(Kind::RetryOutbound, filter.clone(), what),
            self.delete_where(Kind::RetryInbound, filter, what),
        )?;
        Ok(count(a + b))
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        let what = "clear retry entries";
        tokio::try_join!(
            self.clear_session(Kind::RetryOutbound, sid, what),
            self.clear_session(Kind::RetryInbound, sid, what),
        )
        .map(drop)
    }

    fn retry_ttl_ms(&self) -> i64 {
        self.options.cache_ttls.retry_ms
    }

    fn supports_raw_replay_payload(&self) -> bool {
        false
    }
}

/// A write rejected because the `_id` exists (a concurrent insert won).
pub(super) fn is_duplicate_key(err: &mongodb::error::Error) -> bool {
    use mongodb::error::{ErrorKind, WriteFailure};
    match err.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(e)) => e.code == super::bulk::DUPLICATE_KEY,
        ErrorKind::Command(e) => e.code == super::bulk::DUPLICATE_KEY,
        _ => false,
    }
}
