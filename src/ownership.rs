//! `ownership: { mode: 'exclusive' }`: one process per session id.
//!
//! A [`SessionLease`] holds one lease ([`crate::domain::lease`]) per backend
//! the session's persistent domains route to, acquired on first use and
//! renewed every `renewMs` by a background task. Every call of the session
//! first checks it ([`SessionLease::ensure`]):
//!
//! - held and not past its local deadline → go ahead;
//! - past the local deadline (a slow renewal, a paused process) → renew
//!   now, and go ahead only if the token is still current;
//! - never acquired, or refused before → (re)try the acquisition, so a
//!   second process keeps getting `STORE_SESSION_LOCKED` until the holder
//!   releases or its lease expires, and then takes over;
//! - lost (taken over) → `STORE_SESSION_LOCKED`, for good: this bundle's
//!   caches may be stale, so the caller destroys it and opens a new one.
//!
//! The local deadline is the time the acquisition or renewal was *sent*
//! plus 90 % of `leaseMs` (monotonic clock, which keeps running while the
//! process is stopped), so it ends before the backend's expiry does.
//!
//! What this check cannot do alone is stop a write that was already past
//! it when the process paused. The Signal group commit is fenced in the
//! backend for that ([`LeaseSlot`] → `Fence`); see the README for the rest.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::domain::lease::{held_error, lost_error, Acquired, Fence, LeaseOwner, Renewed};
use crate::domain::Backend;
use crate::error::{StoreError, StoreResult};

pub const DEFAULT_LEASE_MS: u64 = 30_000;
pub const MIN_LEASE_MS: u64 = 100;
pub const MAX_LEASE_MS: u64 = 24 * 3_600_000;

/// `ownership` of `createStore`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnershipConfig {
    pub lease_ms: u64,
    pub renew_ms: u64,
}

impl OwnershipConfig {
    /// `renew_ms` defaults to a third of the lease.
    pub fn new(lease_ms: Option<u64>, renew_ms: Option<u64>) -> StoreResult<Self> {
        let lease_ms = lease_ms.unwrap_or(DEFAULT_LEASE_MS);
        if !(MIN_LEASE_MS..=MAX_LEASE_MS).contains(&lease_ms) {
            return Err(StoreError::invalid_config(format!(
                "ownership.leaseMs must be from {MIN_LEASE_MS} to {MAX_LEASE_MS} ms, got {lease_ms}"
            )));
        }
        let renew_ms = renew_ms.unwrap_or(lease_ms / 3);
        if renew_ms == 0 || renew_ms >= lease_ms {
            return Err(StoreError::invalid_config(format!(
                "ownership.renewMs must be positive and below leaseMs ({lease_ms}), got {renew_ms}"
            )));
        }
        Ok(Self { lease_ms, renew_ms })
    }

    /// How long a grant is trusted locally: 90 % of the lease.
    fn trusted(&self) -> Duration {
        Duration::from_millis(self.lease_ms - self.lease_ms / 10)
    }
}

/// This process (one per store): what leases record as their owner.
pub fn owner() -> LeaseOwner {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".to_owned());
    let pid = std::process::id();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    LeaseOwner { id: format!("{host}/{pid}/{nanos:x}.{n}"), host, pid }
}

/// One backend's lease of one session, as the Signal group commit reads it.
#[derive(Debug, Default)]
pub struct LeaseSlot {
    /// The current token; 0 while none is held.
    token: AtomicU64,
    /// The backend refused a fenced commit: the lease was taken over.
    lost: AtomicBool,
}

impl LeaseSlot {
    /// The fence for a write of `sid`, or the refusal when no lease is held.
    pub fn fence(&self, sid: &Arc<str>) -> StoreResult<Fence> {
        match self.token.load(Ordering::Acquire) {
            0 => Err(lost_error(sid, None)),
            _ if self.lost.load(Ordering::Acquire) => Err(lost_error(sid, None)),
            token => Ok(Fence { sid: Arc::clone(sid), token }),
        }
    }

    /// Called when the backend refused a write under this lease.
    pub fn mark_lost(&self) {
        self.lost.store(true, Ordering::Release);
    }

    fn is_lost(&self) -> bool {
        self.lost.load(Ordering::Acquire)
    }
}

enum State {
    Idle,
    Held { deadline: Instant },
    /// Another process holds it: the next call asks again.
    Refused,
    /// Taken over: refused for good.
    Lost(StoreError),
    Released,
}

pub struct SessionLease {
    sid: Arc<str>,
    owner: Arc<LeaseOwner>,
    config: OwnershipConfig,
    backends: Vec<(Arc<dyn Backend>, Arc<LeaseSlot>)>,
    state: Mutex<State>,
    /// One acquisition / renewal / release at a time.
    io: tokio::sync::Mutex<()>,
    runtime: tokio::runtime::Handle,
    renewer: Mutex<Option<JoinHandle<()>>>,
    /// Runs after each acquisition: clean cache entries may predate it.
    on_acquired: Box<dyn Fn() + Send + Sync>,
    /// The last [`Ticket`] handed out: calls that wait for the lease run in call order.
    chain: Mutex<Option<oneshot::Receiver<()>>>,
    /// Tickets not yet done; fast paths wait (go through tickets) while any is.
    pending: AtomicUsize,
}

/// A place in the queue of calls made while the lease was not ready, taken
/// on the JS thread in call order; its call runs after the previous one's.
pub struct Ticket {
    prev: Option<oneshot::Receiver<()>>,
    _next: oneshot::Sender<()>,
    lease: Arc<SessionLease>,
}

impl Ticket {
    /// Waits until every earlier ticket's call has finished (or was dropped).
    pub async fn turn(&mut self) {
        if let Some(prev) = self.prev.take() {
            let _ = prev.await;
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.lease.pending.fetch_sub(1, Ordering::AcqRel);
    }
}

impl SessionLease {
    pub fn new(
        sid: Arc<str>,
        owner: Arc<LeaseOwner>,
        config: OwnershipConfig,
        backends: Vec<Arc<dyn Backend>>,
        runtime: tokio::runtime::Handle,
        on_acquired: Box<dyn Fn() + Send + Sync>,
    ) -> Arc<Self> {
        Arc::new(Self {
            sid,
            owner,
            config,
            backends: backends.into_iter().map(|b| (b, Arc::new(LeaseSlot::default()))).collect(),
            state: Mutex::new(State::Idle),
            io: tokio::sync::Mutex::new(()),
            runtime,
            renewer: Mutex::new(None),
            on_acquired,
            chain: Mutex::new(None),
            pending: AtomicUsize::new(0),
        })
    }

    /// Queues a call behind the calls already waiting (take it on the JS thread).
    pub fn ticket(self: &Arc<Self>) -> Ticket {
        let (tx, rx) = oneshot::channel();
        self.pending.fetch_add(1, Ordering::AcqRel);
        let prev = self.chain.lock().replace(rx);
        Ticket { prev, _next: tx, lease: Arc::clone(self) }
    }

    /// Held and not lost (this process may still touch the session's data).
    pub fn holds(&self) -> bool {
        matches!(&*self.state.lock(), State::Held { .. }) && !self.backends.iter().any(|(_, s)| s.is_lost())
    }

    /// The slot of `backend` (compared by identity), for its Signal cache.
    pub fn slot(&self, backend: &Arc<dyn Backend>) -> Option<Arc<LeaseSlot>> {
        self.backends.iter().find(|(b, _)| Arc::ptr_eq(b, backend)).map(|(_, s)| Arc::clone(s))
    }

    /// Held, within the local deadline, not refused by a backend, and no
    /// earlier call still waiting: calls may go ahead now.
    pub fn ready(&self) -> bool {
        self.pending.load(Ordering::Acquire) == 0
            && matches!(&*self.state.lock(), State::Held { deadline } if Instant::now() < *deadline)
            && !self.backends.iter().any(|(_, s)| s.is_lost())
    }

    /// Waits until the session may be used, or says why not.
    pub async fn ensure(self: &Arc<Self>) -> StoreResult<()> {
        if self.valid() {
            return Ok(());
        }
        let _io = self.io.lock().await;
        if self.valid() {
            return Ok(());
        }
        let held = match &*self.state.lock() {
            State::Held { .. } => true,
            State::Idle | State::Refused => false,
            State::Lost(e) => return Err(e.copy()),
            State::Released => return Err(StoreError::closed("this session")),
        };
        if !held {
            return self.acquire_all().await;
        }
        // A backend refused a commit under our token: the renewal finds out
        // who took the lease over, for the error.
        self.renew_all().await?;
        if self.backends.iter().any(|(_, s)| s.is_lost()) {
            let err = lost_error(&self.sid, None);
            self.lose(err.copy());
            return Err(err);
        }
        Ok(())
    }

    /// [`Self::ready`] without the queue: what a call that already has its turn needs.
    fn valid(&self) -> bool {
        matches!(&*self.state.lock(), State::Held { deadline } if Instant::now() < *deadline)
            && !self.backends.iter().any(|(_, s)| s.is_lost())
    }

    fn lose(&self, err: StoreError) {
        for (_, s) in &self.backends {
            s.mark_lost();
        }
        *self.state.lock() = State::Lost(err);
    }

    async fn acquire_all(self: &Arc<Self>) -> StoreResult<()> {
        let sent = Instant::now();
        for (i, (backend, slot)) in self.backends.iter().enumerate() {
            let outcome = backend.acquire_lease(&self.sid, &self.owner, self.config.lease_ms).await;
            let refusal = match outcome {
                Ok(Acquired::Granted(lease)) => {
                    slot.token.store(lease.token, Ordering::Release);
                    slot.lost.store(false, Ordering::Release);
                    continue;
                }
                Ok(Acquired::Held(record)) => held_error(&self.sid, &record),
                Err(e) => e,
            };
            // All or none: give back what this attempt took.
            for (b, s) in &self.backends[..i] {
                let token = s.token.swap(0, Ordering::AcqRel);
                let _ = b.release_lease(&self.sid, token).await;
            }
            if refusal.code == crate::error::ErrorCode::SessionLocked {
                *self.state.lock() = State::Refused;
            }
            return Err(refusal);
        }
        *self.state.lock() = State::Held { deadline: sent + self.config.trusted() };
        (self.on_acquired)();
        self.start_renewer();
        Ok(())
    }

    async fn renew_all(&self) -> StoreResult<()> {
        let sent = Instant::now();
        for (backend, slot) in &self.backends {
            let token = slot.token.load(Ordering::Acquire);
            match backend.renew_lease(&self.sid, token, self.config.lease_ms).await? {
                Renewed::Renewed(_) => {}
                Renewed::Lost(record) => {
                    let err = lost_error(&self.sid, record.as_ref());
                    self.lose(err.copy());
                    return Err(err);
                }
            }
        }
        if let State::Held { deadline } = &mut *self.state.lock() {
            *deadline = sent + self.config.trusted();
        }
        Ok(())
    }

    fn start_renewer(self: &Arc<Self>) {
        let weak: Weak<SessionLease> = Arc::downgrade(self);
        let every = Duration::from_millis(self.config.renew_ms);
        let task = self.runtime.spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(me) = weak.upgrade() else { return };
                let _io = me.io.lock().await;
                if !matches!(&*me.state.lock(), State::Held { .. }) {
                    return;
                }
                // A failed renewal is retried next period; the local deadline refuses calls meanwhile.
                let _ = me.renew_all().await;
            }
        });
        if let Some(old) = self.renewer.lock().replace(task) {
            old.abort();
        }
    }

    /// Gives every lease back (after the session's final flush). Idempotent.
    pub async fn release(&self) -> StoreResult<()> {
        let _io = self.io.lock().await;
        if let Some(task) = self.renewer.lock().take() {
            task.abort();
        }
        let was_held = matches!(std::mem::replace(&mut *self.state.lock(), State::Released), State::Held { .. });
        let mut first = None;
        for (backend, slot) in &self.backends {
            let token = slot.token.swap(0, Ordering::AcqRel);
            if was_held && token != 0 && !slot.is_lost() {
                if let Err(e) = backend.release_lease(&self.sid, token).await {
                    first.get_or_insert(e);
                }
            }
        }
        first.map_or(Ok(()), Err)
    }
}

impl Drop for SessionLease {
    fn drop(&mut self) {
        if let Some(task) = self.renewer.get_mut().take() {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::memory::MemoryBackend;
    use crate::error::ErrorCode;

    fn lease(backend: &Arc<dyn Backend>, config: OwnershipConfig) -> Arc<SessionLease> {
        SessionLease::new(
            Arc::from("own:s"),
            Arc::new(owner()),
            config,
            vec![Arc::clone(backend)],
            tokio::runtime::Handle::current(),
            Box::new(|| {}),
        )
    }

    #[test]
    fn config_rules() {
        assert_eq!(OwnershipConfig::new(None, None).unwrap(), OwnershipConfig { lease_ms: 30_000, renew_ms: 10_000 });
        assert_eq!(OwnershipConfig::new(Some(50), None).unwrap_err().code, ErrorCode::InvalidConfig);
        assert_eq!(OwnershipConfig::new(Some(1_000), Some(1_000)).unwrap_err().code, ErrorCode::InvalidConfig);
        assert!(owner().id.contains(&std::process::id().to_string()));
    }

    #[tokio::test]
    async fn second_owner_is_refused_until_release_and_a_lost_lease_stays_lost() {
        let backend: Arc<dyn Backend> = Arc::new(MemoryBackend::default());
        let config = OwnershipConfig::new(Some(300), Some(100)).unwrap();
        let (a, b) = (lease(&backend, config), lease(&backend, config));
        a.ensure().await.unwrap();
        assert!(a.ready());
        let err = b.ensure().await.unwrap_err();
        assert_eq!(err.code, ErrorCode::SessionLocked);
        // The renewer keeps a's lease alive past its length.
        tokio::time::sleep(Duration::from_millis(450)).await;
        assert_eq!(b.ensure().await.unwrap_err().code, ErrorCode::SessionLocked);
        a.release().await.unwrap();
        b.ensure().await.unwrap();
        let fence = b.slot(&backend).unwrap().fence(&Arc::from("own:s")).unwrap();
        assert_eq!(fence.token, 2);
        assert_eq!(a.ensure().await.unwrap_err().code, ErrorCode::Closed);
        // b stops renewing (as a paused process would); c takes over after expiry; b is refused.
        b.renewer.lock().take().unwrap().abort();
        tokio::time::sleep(Duration::from_millis(350)).await;
        let c = lease(&backend, config);
        c.ensure().await.unwrap();
        assert_eq!(b.ensure().await.unwrap_err().code, ErrorCode::SessionLocked);
        assert_eq!(b.ensure().await.unwrap_err().code, ErrorCode::SessionLocked, "lost for good");
        let stale = [fence];
        assert_eq!(backend.commit_signal_batch(&[], &stale).await.unwrap_err().code, ErrorCode::SessionLocked);
    }
}
