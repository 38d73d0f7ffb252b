//! Session leases of the memory backend: a map in the process, since
//! memory data is never shared with another process. Two stores of one
//! process that share a `createMemoryStore()` backend still exclude each other.

use async_trait::async_trait;

use super::MemoryBackend;
use crate::domain::lease::{may_take, next_token, Acquired, Lease, LeaseOwner, LeaseRecord, LeaseStore, Renewed};
use crate::domain::{now_ms, StoreResult};

#[async_trait]
impl LeaseStore for MemoryBackend {
    async fn acquire_lease(&self, sid: &str, owner: &LeaseOwner, lease_ms: u64) -> StoreResult<Acquired> {
        let mut leases = self.leases.lock().await;
        let now = now_ms();
        let current = leases.get(sid);
        if let Some(r) = current.filter(|r| !may_take(r, owner, now)) {
            return Ok(Acquired::Held(r.clone()));
        }
        let lease = Lease { token: next_token(current), expires_at_ms: now.saturating_add(lease_ms as i64) };
        let record = LeaseRecord {
            token: lease.token,
            owner: owner.id.clone(),
            host: owner.host.clone(),
            pid: owner.pid,
            expires_at_ms: lease.expires_at_ms,
        };
        leases.insert(sid.to_owned(), record);
        Ok(Acquired::Granted(lease))
    }

    async fn renew_lease(&self, sid: &str, token: u64, lease_ms: u64) -> StoreResult<Renewed> {
        let mut leases = self.leases.lock().await;
        match leases.get_mut(sid) {
            Some(r) if r.token == token && !r.owner.is_empty() => {
                r.expires_at_ms = now_ms().saturating_add(lease_ms as i64);
                Ok(Renewed::Renewed(Lease { token, expires_at_ms: r.expires_at_ms }))
            }
            other => Ok(Renewed::Lost(other.map(|r| r.clone()))),
        }
    }

    async fn release_lease(&self, sid: &str, token: u64) -> StoreResult<()> {
        if let Some(r) = self.leases.lock().await.get_mut(sid).filter(|r| r.token == token) {
            r.owner.clear();
            r.expires_at_ms = 0;
        }
        Ok(())
    }
}
