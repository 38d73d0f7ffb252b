//! Session leases: one document per session in `<prefix>session_leases`,
//! `{ _id: <sid>, t: token, o: owner, h: host, p: pid, x: expiry ms }`.
//! Each step is one atomic single-document operation, so it holds on a
//! standalone server: acquisition is a conditional `findOneAndUpdate`
//! (`$inc` of the token), or an insert for a session never leased; a
//! duplicate-key error means someone else holds (or just took) it.
//!
//! What the test server and a standalone cannot give:
//! - a server clock in updates (`$$NOW` needs pipeline updates, MongoDB 4.2+,
//!   which nx-27017 lacks): expiry is the writing process's clock, so the
//!   hosts sharing a database must keep their clocks in sync (NTP); skew
//!   shortens or lengthens a lease by that much;
//! - transactions: the Signal group commit checks its fences in a query
//!   right before its writes, not atomically with them. A takeover that
//!   lands between that check and the writes (a holder paused at exactly
//!   that moment) lets that one batch through.

use async_trait::async_trait;
use mongodb::bson::{doc, Document};
use mongodb::options::ReturnDocument;
use std::future::IntoFuture;

use super::collections::Kind;
use super::docs::{get_i64, get_str};
use super::retry::is_duplicate_key;
use super::MongoBackend;
use crate::domain::lease::{check_fences, fenced_sids, Acquired, Fence, Lease, LeaseOwner, LeaseRecord, LeaseStore, Renewed};
use crate::domain::{now_ms, StoreResult};
use crate::error::{ErrorCode, StoreError};

/// Acquisitions retried when the lease changes under us (a takeover or release racing ours).
const ACQUIRE_ATTEMPTS: usize = 4;

fn record(d: &Document) -> StoreResult<LeaseRecord> {
    let token = get_i64(d, "t")?;
    Ok(LeaseRecord {
        token: u64::try_from(token)
            .map_err(|_| StoreError::corrupted(format!("mongo: stored lease token {token} is negative")))?,
        owner: get_str(d, "o")?,
        host: get_str(d, "h")?,
        pid: u32::try_from(get_i64(d, "p")?).unwrap_or(0),
        expires_at_ms: get_i64(d, "x")?,
    })
}

fn lease(d: &Document) -> StoreResult<Lease> {
    let r = record(d)?;
    Ok(Lease { token: r.token, expires_at_ms: r.expires_at_ms })
}

impl MongoBackend {
    async fn lease_record(&self, sid: &str) -> StoreResult<Option<LeaseRecord>> {
        let d = self.find_one(Kind::SessionLeases, doc! { "_id": sid }, "read a session lease").await?;
        d.as_ref().map(record).transpose()
    }

    /// Checks every fence against the stored tokens, right before a batch is written.
    pub(super) async fn check_fences(&self, fences: &[Fence]) -> StoreResult<()> {
        if fences.is_empty() {
            return Ok(());
        }
        let sids: Vec<String> = fenced_sids(fences).into_iter().map(str::to_owned).collect();
        let found = self.find_ids(Kind::SessionLeases, &sids, "check session leases").await?;
        let mut current = std::collections::HashMap::new();
        for (sid, d) in &found {
            current.insert(sid.clone(), record(d)?);
        }
        check_fences(fences, |sid| current.get(sid).cloned())
    }
}

#[async_trait]
impl LeaseStore for MongoBackend {
    async fn acquire_lease(&self, sid: &str, owner: &LeaseOwner, lease_ms: u64) -> StoreResult<Acquired> {
        let what = "acquire a session lease";
        let coll = self.coll(Kind::SessionLeases).await?;
        for _ in 0..ACQUIRE_ATTEMPTS {
            let now = now_ms();
            let expires = now.saturating_add(lease_ms as i64);
            let fields = doc! { "o": &owner.id, "h": &owner.host, "p": i64::from(owner.pid), "x": expires };
            // `$and`, not `{ _id, $or }`: nx-27017's findAndModify drops the `_id` of the latter.
            let takeable = doc! { "$or": [{ "x": { "$lte": now } }, { "o": "" }, { "o": &owner.id }] };
            let free = doc! { "$and": [{ "_id": sid }, takeable] };
            let take = coll
                .find_one_and_update(free, doc! { "$inc": { "t": 1_i64 }, "$set": fields.clone() })
                .return_document(ReturnDocument::After);
            if let Some(d) = self.write(what, take.into_future()).await? {
                return Ok(Acquired::Granted(lease(&d)?));
            }
            let mut first = doc! { "_id": sid, "t": 1_i64 };
            first.extend(fields);
            match tokio::time::timeout(self.op_timeout, coll.insert_one(first).into_future()).await {
                Ok(Ok(_)) => return Ok(Acquired::Granted(Lease { token: 1, expires_at_ms: expires })),
                Ok(Err(err)) if is_duplicate_key(&err) => {}
                Ok(Err(err)) => return Err(super::map_err(ErrorCode::WriteFailed, what)(err)),
                Err(_) => return Err(StoreError::new(ErrorCode::WriteFailed, format!("mongo: {what} timed out"))),
            }
            // It exists and did not match: held, unless it changed in between (then ask again).
            match self.lease_record(sid).await? {
                Some(r) if !crate::domain::lease::may_take(&r, owner, now_ms()) => return Ok(Acquired::Held(r)),
                _ => continue,
            }
        }
        Err(StoreError::new(ErrorCode::WriteFailed, format!("mongo: {what} failed: the lease kept changing")))
    }

    async fn renew_lease(&self, sid: &str, token: u64, lease_ms: u64) -> StoreResult<Renewed> {
        let what = "renew a session lease";
        let coll = self.coll(Kind::SessionLeases).await?;
        let expires = now_ms().saturating_add(lease_ms as i64);
        let mine = doc! { "_id": sid, "t": token as i64, "o": { "$ne": "" } };
        let call = coll.find_one_and_update(mine, doc! { "$set": { "x": expires } }).return_document(ReturnDocument::After);
        match self.write(what, call.into_future()).await? {
            Some(d) => Ok(Renewed::Renewed(lease(&d)?)),
            None => Ok(Renewed::Lost(self.lease_record(sid).await?)),
        }
    }

    async fn release_lease(&self, sid: &str, token: u64) -> StoreResult<()> {
        let what = "release a session lease";
        let coll = self.coll(Kind::SessionLeases).await?;
        let call = coll.update_one(doc! { "_id": sid, "t": token as i64 }, doc! { "$set": { "o": "", "x": 0_i64 } });
        self.write(what, call.into_future()).await.map(drop)
    }
}
