//! Session ownership: an exclusive, expiring lease on one session id, held
//! by one process at a time, with a fencing token.
//!
//! Two processes driving one WhatsApp account corrupt its Signal state, so
//! with `ownership: { mode: 'exclusive' }` a session first acquires a lease
//! in each backend it writes to. Every backend keeps the lease as a record
//! of its own (a row, a hash, a document, a map entry):
//!
//! - `token`: the fencing token, raised by every acquisition and never
//!   reused (a release keeps the record, with no owner and a past expiry);
//! - the owner (a per-store-instance id), its host and pid, for the
//!   `STORE_SESSION_LOCKED` message;
//! - the expiry, in epoch ms of the backend's clock where it has one.
//!
//! Leases are records rather than connection-bound locks (advisory locks,
//! `GET_LOCK`, `flock`) because a connection-bound lock can neither expire
//! while its process is paused (a SIGSTOPped process keeps its sockets and
//! files open) nor fence writes that other pooled connections make.
//!
//! Fencing: [`crate::domain::signal_batch::SignalBatchStore::commit_signal_batch`]
//! takes the [`Fence`]s of the sessions it writes and refuses the whole
//! batch, in the same transaction (script, lock), when one of them is no
//! longer the current token. A holder whose lease merely ran out while no
//! one took it over still holds the current token: its renewal succeeds.

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::{ErrorCode, ErrorDetails, LockHolder, StoreError, StoreResult};

/// Who asks for a lease: `id` is unique per store instance (host, pid and a random part).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseOwner {
    pub id: String,
    pub host: String,
    pub pid: u32,
}

/// A granted (or renewed) lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    pub token: u64,
    pub expires_at_ms: i64,
}

/// The stored lease record of one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRecord {
    pub token: u64,
    /// Empty once released.
    pub owner: String,
    pub host: String,
    pub pid: u32,
    pub expires_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquired {
    Granted(Lease),
    /// Someone else holds it until its expiry.
    Held(LeaseRecord),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Renewed {
    Renewed(Lease),
    /// The token is no longer current: the lease was taken over (by the record's owner, if any).
    Lost(Option<LeaseRecord>),
}

/// The token a write of one session was made under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub sid: Arc<str>,
    pub token: u64,
}

#[async_trait]
pub trait LeaseStore: Send + Sync {
    /// Takes the lease when it is free, expired, or already `owner`'s (a new
    /// token each time); otherwise reports the holder. `lease_ms` from now.
    async fn acquire_lease(&self, sid: &str, owner: &LeaseOwner, lease_ms: u64) -> StoreResult<Acquired>;
    /// Extends the lease while `token` is still the current one.
    async fn renew_lease(&self, sid: &str, token: u64, lease_ms: u64) -> StoreResult<Renewed>;
    /// Gives the lease up if `token` is still current (a later owner's lease is left alone).
    async fn release_lease(&self, sid: &str, token: u64) -> StoreResult<()>;
}

/// Acquisition rule shared by every backend: free (expired or released) or our own.
pub fn may_take(record: &LeaseRecord, owner: &LeaseOwner, now_ms: i64) -> bool {
    record.expires_at_ms <= now_ms || record.owner.is_empty() || record.owner == owner.id
}

/// The token after `record` (1 for a session never leased).
pub fn next_token(record: Option<&LeaseRecord>) -> u64 {
    record.map_or(1, |r| r.token.saturating_add(1))
}

fn holder(sid: &str, record: Option<&LeaseRecord>) -> LockHolder {
    LockHolder {
        session_id: sid.to_owned(),
        host: record.map(|r| r.host.clone()).unwrap_or_default(),
        pid: record.map_or(0, |r| r.pid),
        expires_at_ms: record.map_or(0, |r| r.expires_at_ms),
    }
}

fn iso(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms.rem_euclid(1000)
    )
}

/// `STORE_SESSION_LOCKED`: another process holds `sid`.
pub fn held_error(sid: &str, record: &LeaseRecord) -> StoreError {
    StoreError::new(
        ErrorCode::SessionLocked,
        format!(
            "session {sid:?} is owned by another process (host {}, pid {}) whose lease expires at {}; \
             it can be taken over once that lease expires without renewal",
            record.host,
            record.pid,
            iso(record.expires_at_ms)
        ),
    )
    .with_details(ErrorDetails::Locked(holder(sid, Some(record))))
}

/// `STORE_SESSION_LOCKED`: this process's lease on `sid` was taken over; its write was refused.
pub fn lost_error(sid: &str, record: Option<&LeaseRecord>) -> StoreError {
    let by = match record.filter(|r| !r.owner.is_empty()) {
        Some(r) => format!(" by another process (host {}, pid {}, lease until {})", r.host, r.pid, iso(r.expires_at_ms)),
        None => String::new(),
    };
    StoreError::new(
        ErrorCode::SessionLocked,
        format!(
            "this process lost its lease on session {sid:?} (it expired and was taken over{by}); \
             the call was refused and nothing was written. Destroy the session and open it again to retry"
        ),
    )
    .with_details(ErrorDetails::Locked(holder(sid, record)))
}

/// Checks every fence against the current tokens (`current(sid)`, `None`
/// when the session has no lease record): the first stale one is the error.
pub fn check_fences(
    fences: &[Fence],
    mut current: impl FnMut(&str) -> Option<LeaseRecord>,
) -> StoreResult<()> {
    for f in fences {
        let record = current(&f.sid);
        if record.as_ref().map(|r| r.token) != Some(f.token) {
            return Err(lost_error(&f.sid, record.as_ref()));
        }
    }
    Ok(())
}

/// Distinct session ids of `fences`, sorted (lock order for backends that lock lease rows).
pub fn fenced_sids(fences: &[Fence]) -> Vec<&str> {
    let mut sids: Vec<&str> = fences.iter().map(|f| &*f.sid).collect();
    sids.sort_unstable();
    sids.dedup();
    sids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(token: u64, owner: &str, expires: i64) -> LeaseRecord {
        LeaseRecord { token, owner: owner.into(), host: "h".into(), pid: 7, expires_at_ms: expires }
    }

    #[test]
    fn taking_rules() {
        let me = LeaseOwner { id: "me".into(), host: "h".into(), pid: 1 };
        assert!(may_take(&rec(1, "other", 100), &me, 100), "expired");
        assert!(!may_take(&rec(1, "other", 101), &me, 100), "held");
        assert!(may_take(&rec(1, "me", 1_000), &me, 100), "own");
        assert!(may_take(&rec(1, "", 1_000), &me, 100), "released");
        assert_eq!(next_token(None), 1);
        assert_eq!(next_token(Some(&rec(41, "", 0))), 42);
    }

    #[test]
    fn errors_name_the_holder() {
        let e = held_error("s1", &rec(3, "x", 1_700_000_000_123));
        assert_eq!(e.code, ErrorCode::SessionLocked);
        assert!(e.message.contains("pid 7") && e.message.contains("2023-11-14T22:13:20.123Z"), "{}", e.message);
        let Some(d) = e.details.as_deref() else { panic!("no details") };
        assert_eq!(
            d,
            &ErrorDetails::Locked(LockHolder { session_id: "s1".into(), host: "h".into(), pid: 7, expires_at_ms: 1_700_000_000_123 })
        );
        let fences = [Fence { sid: Arc::from("s1"), token: 2 }];
        assert!(check_fences(&fences, |_| Some(rec(2, "me", 0))).is_ok());
        assert_eq!(check_fences(&fences, |_| Some(rec(3, "x", 0))).unwrap_err().code, ErrorCode::SessionLocked);
        assert_eq!(check_fences(&fences, |_| None).unwrap_err().code, ErrorCode::SessionLocked);
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
    }
}
