//! One backend's group commit. Every session cache on the backend queues its
//! writes here, in call order, as units (one unit = one API call, applied
//! all-or-nothing). A single flusher task takes **every** unit queued when
//! a flush starts and commits them in one backend transaction, so
//! concurrent writers share commits instead of each paying for one.
//!
//! Failures keep the dirty state:
//! - a unit whose caller waits (sync durability, barriers, back-pressure) is
//!   retried with capped exponential backoff until its deadline, then its
//!   writes are reverted in the cache and its promise rejects;
//! - a deferred unit (already acknowledged) is retried until it lands; after
//!   `max_flush_failures` consecutive failures new writes are refused
//!   (`STORE_FLUSH_HALTED`) until a flush succeeds again.
//!
//! A batch that fails for a reason other than the connection is split and
//! each unit is committed alone, so one bad write fails only its own caller.
//! Units of one session keep their order: once one fails, the later ones of
//! that session wait behind it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::{oneshot, Notify};

use super::config::{Durability, SignalCacheConfig};
use super::session::{SessionCache, Settle};
use super::stats::{CacheStats, Counters};
use crate::domain::lease::Fence;
use crate::domain::signal_batch::{SessionWrite, SignalBatchStore, SignalWrite};
use crate::domain::Backend;
use crate::error::{ErrorCode, StoreError, StoreResult};
use crate::events::Level;

pub struct StagedWrite {
    pub write: SignalWrite,
    pub seq: u64,
    pub settle: Settle,
}

/// What a staged write's caller awaits.
pub enum Pending {
    /// Acknowledged already (deferred durability).
    Done,
    /// Resolves when the unit committed, or rejects when it could not be.
    Wait(oneshot::Receiver<StoreResult<()>>),
}

impl Pending {
    pub async fn wait(self) -> StoreResult<()> {
        match self {
            Pending::Done => Ok(()),
            Pending::Wait(rx) => rx.await.unwrap_or_else(|_| Err(StoreError::closed("the signal cache"))),
        }
    }
}

struct Unit {
    cache: Arc<SessionCache>,
    writes: Vec<StagedWrite>,
    waiter: Option<oneshot::Sender<StoreResult<()>>>,
    /// Waiting units give up here; deferred units never do.
    deadline: Option<Instant>,
}

#[derive(Default)]
struct Queue {
    units: VecDeque<Unit>,
    /// Someone waits: flush now, not at the end of the window.
    urgent: bool,
    /// When the oldest deferred unit was queued.
    since: Option<Instant>,
    /// Consecutive failed flushes.
    failures: u32,
}

pub struct Hub {
    /// Reads of misses.
    pub(super) backend: Arc<dyn Backend>,
    /// Group commits (the backend itself, or a fault-injecting wrapper in tests).
    committer: Arc<dyn SignalBatchStore>,
    config: SignalCacheConfig,
    runtime: tokio::runtime::Handle,
    pub(super) counters: Counters,
    seq: AtomicU64,
    queue: Mutex<Queue>,
    wake: Notify,
    /// Units queued or in flight, per session (a barrier with none returns at once).
    pending_units: Mutex<HashMap<Arc<str>, usize>>,
    pending_writes: AtomicUsize,
    sessions: Mutex<HashMap<Arc<str>, Weak<SessionCache>>>,
    started: AtomicBool,
    closed: AtomicBool,
}

impl Hub {
    pub fn new(backend: Arc<dyn Backend>, config: SignalCacheConfig, runtime: tokio::runtime::Handle) -> Arc<Hub> {
        let committer: Arc<dyn SignalBatchStore> = backend.clone();
        Self::with_committer(backend, committer, config, runtime)
    }

    pub fn with_committer(
        backend: Arc<dyn Backend>,
        committer: Arc<dyn SignalBatchStore>,
        config: SignalCacheConfig,
        runtime: tokio::runtime::Handle,
    ) -> Arc<Hub> {
        Arc::new(Hub {
            backend,
            committer,
            config,
            runtime,
            counters: Counters::default(),
            seq: AtomicU64::new(1),
            queue: Mutex::new(Queue::default()),
            wake: Notify::new(),
            pending_units: Mutex::new(HashMap::new()),
            pending_writes: AtomicUsize::new(0),
            sessions: Mutex::new(HashMap::new()),
            started: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        })
    }

    pub fn config(&self) -> &SignalCacheConfig {
        &self.config
    }

    /// The cache of `sid`: one per session id while anything holds it, so a
    /// bundle rebuilt for the same id sees the old one's pending writes.
    pub fn session(self: &Arc<Self>, sid: &Arc<str>) -> Arc<SessionCache> {
        let mut sessions = self.sessions.lock();
        if let Some(cache) = sessions.get(sid).and_then(Weak::upgrade) {
            return cache;
        }
        sessions.retain(|_, w| w.strong_count() > 0);
        let cache = Arc::new(SessionCache::new(
            Arc::clone(sid),
            Arc::clone(self),
            &self.config.limits,
        ));
        sessions.insert(Arc::clone(sid), Arc::downgrade(&cache));
        cache
    }

    pub(super) fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    pub(super) fn check_writable(&self) -> StoreResult<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::closed("the signal cache"));
        }
        if self.counters.halted.load(Ordering::Acquire) {
            return Err(StoreError::new(
                ErrorCode::FlushHalted,
                format!(
                    "{} backend: the last {} flushes failed and deferred writes are still pending; new writes are \
                     refused until the backend accepts them again (see store.stats())",
                    self.backend.kind(),
                    self.config.max_flush_failures
                ),
            ));
        }
        Ok(())
    }

    /// Queues one unit. `must_wait`: the caller waits for the commit even in deferred mode.
    pub(super) fn submit(
        self: &Arc<Self>,
        cache: Arc<SessionCache>,
        writes: Vec<StagedWrite>,
        must_wait: bool,
    ) -> Pending {
        let wait = must_wait || self.config.durability == Durability::Sync;
        let (waiter, pending) = if wait {
            let (tx, rx) = oneshot::channel();
            (Some(tx), Pending::Wait(rx))
        } else {
            (None, Pending::Done)
        };
        let deadline = wait.then(|| Instant::now() + self.config.sync_timeout);
        self.enqueue(Unit {
            cache,
            writes,
            waiter,
            deadline,
        });
        pending
    }

    fn enqueue(self: &Arc<Self>, unit: Unit) {
        *self
            .pending_units
            .lock()
            .entry(Arc::clone(&unit.cache.sid))
            .or_default() += 1;
        self.pending_writes.fetch_add(unit.writes.len(), Ordering::Relaxed);
        {
            let mut q = self.queue.lock();
            if unit.waiter.is_some() {
                q.urgent = true;
            }
            if q.since.is_none() {
                q.since = Some(Instant::now());
            }
            q.units.push_back(unit);
        }
        self.start();
        self.wake.notify_one();
    }

    fn start(self: &Arc<Self>) {
        if !self.started.swap(true, Ordering::AcqRel) {
            self.runtime.spawn(Arc::clone(self).run());
        }
    }

    /// Waits until every unit `cache` queued before this call has committed,
    /// or fails with the reason it could not within `timeout`.
    pub(super) async fn barrier(self: &Arc<Self>, cache: Arc<SessionCache>, timeout: Duration) -> StoreResult<()> {
        match self.marker(cache, timeout) {
            Some(rx) => await_marker(rx, timeout).await,
            None => Ok(()),
        }
    }

    /// Queues an empty unit behind everything `cache` has queued; `None` when
    /// nothing is queued for it.
    fn marker(
        self: &Arc<Self>,
        cache: Arc<SessionCache>,
        timeout: Duration,
    ) -> Option<oneshot::Receiver<StoreResult<()>>> {
        if self.pending_units.lock().get(&cache.sid).copied().unwrap_or(0) == 0 {
            return None;
        }
        let (tx, rx) = oneshot::channel();
        self.enqueue(Unit {
            cache,
            writes: Vec::new(),
            waiter: Some(tx),
            deadline: Some(Instant::now() + timeout),
        });
        Some(rx)
    }

    /// Waits until every session's queued units have committed, or `timeout` passes.
    pub async fn flush_all(self: &Arc<Self>, timeout: Duration) -> StoreResult<()> {
        let caches: Vec<Arc<SessionCache>> = self.sessions.lock().values().filter_map(Weak::upgrade).collect();
        let markers: Vec<_> = caches.into_iter().filter_map(|c| self.marker(c, timeout)).collect();
        let mut first_err = None;
        for rx in markers {
            if let Err(e) = await_marker(rx, timeout).await {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Stops accepting writes; the flusher ends once the queue is empty or
    /// nothing in it can be committed any more.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    pub fn pending_writes(&self) -> u64 {
        self.pending_writes.load(Ordering::Relaxed) as u64
    }

    pub fn stats(&self) -> CacheStats {
        let mut total = CacheStats::default();
        for cache in self.sessions.lock().values().filter_map(Weak::upgrade) {
            let s = cache.stats();
            total.entries += s.entries;
            total.dirty += s.dirty;
            total.evictions += s.evictions;
        }
        let c = &self.counters;
        total.hits = Counters::get(&c.hits);
        total.negative_hits = Counters::get(&c.negative_hits);
        total.misses = Counters::get(&c.misses);
        total.backend_reads = Counters::get(&c.backend_reads);
        total.pending_writes = self.pending_writes();
        total.flushes = Counters::get(&c.flushes);
        total.flushed_records = Counters::get(&c.flushed_records);
        total.transactions = Counters::get(&c.transactions);
        total.last_flush_records = Counters::get(&c.last_flush_records);
        total.last_flush_transactions = Counters::get(&c.last_flush_transactions);
        total.retries = Counters::get(&c.retries);
        total.failures = Counters::get(&c.failures);
        total.halted = c.halted.load(Ordering::Acquire);
        total
    }

    // ---- the flusher --------------------------------------------------------

    async fn run(self: Arc<Self>) {
        while let Some(batch) = self.next_batch().await {
            let records: usize = batch.iter().map(|u| u.writes.len()).sum();
            let (requeue, transactions, error) = self.flush(batch).await;
            let retrying = !requeue.is_empty();
            Counters::add(&self.counters.flushes, 1);
            self.counters
                .last_flush_records
                .store(records as u64, Ordering::Relaxed);
            self.counters
                .last_flush_transactions
                .store(transactions, Ordering::Relaxed);
            let reason = error.as_ref().map(|e| (e.code, e.message.clone()));
            let failures = {
                let mut q = self.queue.lock();
                match error {
                    None => q.failures = 0,
                    Some(_) => q.failures += 1,
                }
                for unit in requeue.into_iter().rev() {
                    q.units.push_front(unit);
                }
                if !q.units.is_empty() && q.since.is_none() {
                    q.since = Some(Instant::now());
                }
                q.failures
            };
            let halted = failures >= self.config.max_flush_failures && self.config.durability == Durability::Deferred;
            let was_halted = self.counters.halted.swap(halted, Ordering::AcqRel);
            self.halt_events(was_halted, halted, failures, reason.as_ref());
            if retrying && failures > 0 {
                Counters::add(&self.counters.retries, 1);
                let delay = self.retry_delay(failures);
                let pending = self.pending_writes();
                self.backend.events().emit(Level::Warn, "signalFlushRetry", |e| {
                    let e = e
                        .message(format!("signal cache flush failed {failures} time(s) in a row; retrying in {} ms", delay.as_millis()))
                        .field("failures", failures)
                        .field("pendingWrites", pending)
                        .field("delayMs", u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
                    match &reason {
                        Some((code, message)) => e.field("code", code.as_str()).field("error", message.clone()),
                        None => e,
                    }
                });
                tokio::time::sleep(delay).await;
            }
        }
    }

    /// `signalFlushHalted` / `signalFlushResumed` when the halted state flips.
    fn halt_events(&self, was: bool, now: bool, failures: u32, reason: Option<&(ErrorCode, String)>) {
        let events = self.backend.events();
        if now && !was {
            events.emit(Level::Error, "signalFlushHalted", |e| {
                let e = e
                    .message(format!(
                        "signal cache: {failures} flushes failed in a row; new writes are refused (STORE_FLUSH_HALTED) \
                         until the backend accepts the pending ones"
                    ))
                    .field("failures", failures)
                    .field("pendingWrites", self.pending_writes());
                match reason {
                    Some((code, message)) => e.field("code", code.as_str()).field("error", message.clone()),
                    None => e,
                }
            });
        } else if was && !now {
            events.emit(Level::Info, "signalFlushResumed", |e| {
                e.message("signal cache: flushes succeed again; writes are accepted").field("pendingWrites", self.pending_writes())
            });
        }
    }

    /// Backoff, cut short so no waiting unit sleeps past its deadline.
    fn retry_delay(&self, failures: u32) -> Duration {
        let delay = self.config.backoff(failures);
        let q = self.queue.lock();
        let now = Instant::now();
        q.units
            .iter()
            .filter_map(|u| u.deadline)
            .map(|d| d.saturating_duration_since(now))
            .fold(delay, Duration::min)
    }

    /// Every queued unit, once the flush window allows (or at once when someone waits).
    async fn next_batch(&self) -> Option<Vec<Unit>> {
        loop {
            let wait = {
                let mut q = self.queue.lock();
                if q.units.is_empty() {
                    if self.closed.load(Ordering::Acquire) {
                        self.started.store(false, Ordering::Release);
                        return None;
                    }
                    None
                } else {
                    let age = q.since.map_or(Duration::MAX, |s| s.elapsed());
                    let window = self.config.flush_window;
                    let ready = q.urgent
                        || self.config.durability == Durability::Sync
                        || age >= window
                        || self.closed.load(Ordering::Acquire);
                    if ready {
                        q.urgent = false;
                        q.since = None;
                        return Some(q.units.drain(..).collect());
                    }
                    Some(window - age)
                }
            };
            match wait {
                None => self.wake.notified().await,
                Some(d) => {
                    let _ = tokio::time::timeout(d, self.wake.notified()).await;
                }
            }
        }
    }

    /// Commits `batch` in one transaction, or unit by unit when one of them
    /// is at fault. Returns the units to retry, the transactions used and the failure, if any.
    async fn flush(&self, batch: Vec<Unit>) -> (Vec<Unit>, u64, Option<StoreError>) {
        match self.commit(&batch).await {
            Ok(()) => {
                for unit in batch {
                    self.committed(unit);
                }
                (Vec::new(), 1, None)
            }
            Err(err) if batch.len() > 1 && !retryable(&err) => self.flush_one_by_one(batch).await,
            Err(err) => {
                Counters::add(&self.counters.failures, 1);
                let requeue = batch.into_iter().filter_map(|u| self.failed(u, &err)).collect();
                (requeue, 1, Some(err))
            }
        }
    }

    async fn flush_one_by_one(&self, batch: Vec<Unit>) -> (Vec<Unit>, u64, Option<StoreError>) {
        let mut requeue = Vec::new();
        let mut blocked: HashSet<Arc<str>> = HashSet::new();
        let mut error: Option<StoreError> = None;
        let mut transactions = 0;
        for unit in batch {
            if blocked.contains(&unit.cache.sid) {
                // An earlier unit of this session failed: keep the order.
                let err = error
                    .as_ref()
                    .map_or_else(|| StoreError::closed("the signal cache"), clone_error);
                requeue.extend(self.failed(unit, &err));
                continue;
            }
            let result = if unit.writes.is_empty() {
                Ok(())
            } else {
                transactions += 1;
                self.commit(std::slice::from_ref(&unit)).await
            };
            match result {
                Ok(()) => self.committed(unit),
                Err(err) => {
                    Counters::add(&self.counters.failures, 1);
                    blocked.insert(Arc::clone(&unit.cache.sid));
                    requeue.extend(self.failed(unit, &err));
                    error.get_or_insert(err);
                }
            }
        }
        (requeue, transactions, error)
    }

    async fn commit(&self, units: &[Unit]) -> StoreResult<()> {
        let mut fences: Vec<Fence> = Vec::new();
        for u in units.iter().filter(|u| !u.writes.is_empty()) {
            if let Some(slot) = u.cache.fence_slot() {
                let fence = slot.fence(&u.cache.sid)?;
                if !fences.contains(&fence) {
                    fences.push(fence);
                }
            }
        }
        let writes: Vec<SessionWrite> = units
            .iter()
            .flat_map(|u| {
                u.writes.iter().map(|w| SessionWrite {
                    sid: Arc::clone(&u.cache.sid),
                    write: w.write.clone(),
                })
            })
            .collect();
        if writes.is_empty() {
            return Ok(());
        }
        self.committer.commit_signal_batch(&writes, &fences).await?;
        Counters::add(&self.counters.transactions, 1);
        Counters::add(&self.counters.flushed_records, writes.len() as u64);
        Ok(())
    }

    fn done(&self, unit: &Unit) {
        self.pending_writes.fetch_sub(unit.writes.len(), Ordering::Relaxed);
        let mut pending = self.pending_units.lock();
        if let Some(n) = pending.get_mut(&unit.cache.sid) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                pending.remove(&unit.cache.sid);
            }
        }
    }

    fn committed(&self, mut unit: Unit) {
        for w in &unit.writes {
            unit.cache.settle(&w.settle, w.seq, true);
        }
        unit.cache.resume();
        self.done(&unit);
        if let Some(tx) = unit.waiter.take() {
            let _ = tx.send(Ok(()));
        }
    }

    /// A unit that could not be committed: the unit again, to retry, or
    /// `None` when its caller has been told it failed (its writes reverted).
    fn failed(&self, mut unit: Unit, err: &StoreError) -> Option<Unit> {
        // Fenced out: these writes must never land, so even deferred ones are dropped.
        let fenced = err.code == ErrorCode::SessionLocked;
        if fenced {
            if let Some(slot) = unit.cache.fence_slot() {
                slot.mark_lost();
            }
        }
        let give_up = fenced || match unit.deadline {
            Some(deadline) => !retryable(err) || Instant::now() >= deadline || self.closed.load(Ordering::Acquire),
            None => false,
        };
        if !give_up {
            if unit.waiter.is_none() && !retryable(err) {
                unit.cache.halt();
            }
            return Some(unit);
        }
        for w in &unit.writes {
            unit.cache.settle(&w.settle, w.seq, false);
        }
        self.done(&unit);
        let writes = unit.writes.len();
        // A barrier marker carries no writes: its waiter hears about the failure itself.
        if writes > 0 {
            self.backend.events().emit(Level::Error, "signalFlushFailed", |e| {
            e.message(format!("signal cache: {writes} write(s) could not be committed and were reverted; the caller got the error"))
                    .session(&unit.cache.sid)
                    .field("writes", writes)
                    .error(err)
            });
        }
        if let Some(tx) = unit.waiter.take() {
            let _ = tx.send(Err(clone_error(err)));
        }
        None
    }
}

async fn await_marker(rx: oneshot::Receiver<StoreResult<()>>, timeout: Duration) -> StoreResult<()> {
    match tokio::time::timeout(timeout + Duration::from_millis(50), rx).await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(StoreError::closed("the signal cache")),
        Err(_) => Err(StoreError::new(
            ErrorCode::WriteFailed,
            format!(
                "pending signal writes were not committed within {} ms",
                timeout.as_millis()
            ),
        )),
    }
}

/// Worth retrying: the backend could not be reached, not the write itself.
fn retryable(err: &StoreError) -> bool {
    err.code == ErrorCode::ConnectionFailed
}

fn clone_error(err: &StoreError) -> StoreError {
    err.copy()
}
