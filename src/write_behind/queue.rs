//! The write-behind queue of one backend: archive writes are acknowledged
//! once queued, coalesced per key while they wait, and written in batches.
//!
//! - One group per (session, domain): its pending keys in first-write order,
//!   and at most one batch of it in flight, so two writes of one key are
//!   never in flight together and cannot land out of order.
//! - At most `max_write_concurrency` batches in flight across groups, each of
//!   at most `max_batch_size` records (one backend call).
//! - No silent drops: past `max_pending_keys` (queued + in flight) a write of
//!   a new key waits for room.
//! - A failed batch goes back into its group, under any newer writes of the
//!   same keys (merged), and is retried with capped backoff, without limit.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use parking_lot::Mutex;
use tokio::sync::Notify;

use super::config::WriteBehindConfig;
use super::record::{Archive, Record};
use crate::domain::contacts::StoredContact;
use crate::domain::messages::StoredMessage;
use crate::domain::threads::StoredThread;
use crate::domain::Domain;
use crate::error::{ErrorCode, StoreError, StoreResult};
use crate::events::{Event, Events, Level};

type GroupKey = (Arc<str>, Archive);

/// What the queue writes to and reads through: the archive domains of a backend.
pub use crate::domain::ArchiveStore as ArchiveBackend;

#[derive(Default)]
struct Group {
    pending: IndexMap<String, Record>,
    in_flight: Option<HashMap<String, Record>>,
    /// A failed batch waits until then before the group is written again.
    retry_at: Option<Instant>,
    attempts: u32,
    /// A batch failed for a reason other than the connection: write one
    /// record at a time until the culprit is found.
    isolate: bool,
}

impl Group {
    fn is_idle(&self) -> bool {
        self.pending.is_empty() && self.in_flight.is_none()
    }

    fn keys(&self) -> usize {
        self.pending.len() + self.in_flight.as_ref().map_or(0, HashMap::len)
    }
}

#[derive(Default)]
struct State {
    groups: IndexMap<GroupKey, Group>,
    /// Keys queued or in flight, across groups.
    keys: usize,
    batches_in_flight: usize,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WriteBehindStats {
    /// Records the backend refused for good (e.g. too large), after retries; reported, never hidden.
    pub rejected: u64,
    /// Keys queued or in flight, each counted once (what `max_pending_keys` bounds).
    pub pending_keys: u64,
    pub in_flight_keys: u64,
    pub batches: u64,
    pub flushed_records: u64,
    pub retries: u64,
    pub failures: u64,
}

/// What `flush()` reports.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FlushReport {
    pub flushed: u64,
    pub remaining: u64,
}

pub struct WriteBehind {
    backend: Arc<dyn ArchiveBackend>,
    config: WriteBehindConfig,
    runtime: tokio::runtime::Handle,
    state: Mutex<State>,
    /// Wakes the dispatcher: new work, a finished batch, a retry due.
    work: Notify,
    /// Wakes flushes waiting for batches to land.
    progress: Notify,
    /// Wakes writers waiting for room, one per free slot (see [`WriteBehind::make_room`]):
    /// waking every waiter per batch would cost O(waiters) each time.
    room: Notify,
    /// Writers between checking for room and waking up (what `make_room` wakes at most).
    room_waiters: AtomicUsize,
    started: AtomicBool,
    closed: AtomicBool,
    batches: AtomicU64,
    /// Bumped when a batch lands, so a read can tell that its snapshot of the queue went stale.
    landed: AtomicU64,
    flushed: AtomicU64,
    retries: AtomicU64,
    failures: AtomicU64,
    rejected: AtomicU64,
    last_error: Mutex<Option<(ErrorCode, String)>>,
    validate: Option<Validator>,
    /// Where retries and rejected records are reported (the backend's).
    events: Option<Events>,
}

/// Checks a record (and its session id) before it is acknowledged, so a
/// write the backend can never take is refused to its caller, not queued.
pub type Validator = Arc<dyn Fn(&str, &Record) -> StoreResult<()> + Send + Sync>;

/// Attempts a record the backend refuses alone (not for the connection) gets before it is rejected.
const MAX_RECORD_ATTEMPTS: u32 = 5;

impl WriteBehind {
    pub fn new(
        backend: Arc<dyn ArchiveBackend>,
        config: WriteBehindConfig,
        runtime: tokio::runtime::Handle,
    ) -> Arc<Self> {
        Arc::new(Self {
            backend,
            config,
            runtime,
            state: Mutex::new(State::default()),
            work: Notify::new(),
            progress: Notify::new(),
            room: Notify::new(),
            room_waiters: AtomicUsize::new(0),
            started: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            batches: AtomicU64::new(0),
            landed: AtomicU64::new(0),
            flushed: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            last_error: Mutex::new(None),
            validate: None,
            events: None,
        })
    }

    /// [`WriteBehind::new`] with a check every record passes before it is queued.
    pub fn with_validator(
        backend: Arc<dyn ArchiveBackend>,
        config: WriteBehindConfig,
        runtime: tokio::runtime::Handle,
        validate: Validator,
    ) -> Arc<Self> {
        let mut queue = Self::new(backend, config, runtime);
        if let Some(q) = Arc::get_mut(&mut queue) {
            q.validate = Some(validate);
        }
        queue
    }

    /// Reports retries and rejected records to `events` (call right after construction).
    pub fn with_events(mut queue: Arc<Self>, events: Events) -> Arc<Self> {
        if let Some(q) = Arc::get_mut(&mut queue) {
            q.events = Some(events);
        }
        queue
    }

    pub fn config(&self) -> &WriteBehindConfig {
        &self.config
    }

    /// Queues `records` of one session; resolves once they are queued (waiting
    /// for room when the queue is full). Later writes of a queued key coalesce into it.
    pub async fn enqueue(self: &Arc<Self>, sid: &str, records: Vec<Record>) -> StoreResult<()> {
        if let Some(validate) = &self.validate {
            for r in &records {
                validate(sid, r)?;
            }
        }
        let sid: Arc<str> = Arc::from(sid);
        let mut records = records.into_iter().peekable();
        while records.peek().is_some() {
            let notified = self.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // Counted before the check, so a slot freed after it still wakes this writer.
            let _waiting = Counted::new(&self.room_waiters);
            {
                if self.closed.load(Ordering::Acquire) {
                    return Err(StoreError::closed("the write-behind queue"));
                }
                let mut state = self.state.lock();
                let state = &mut *state;
                while let Some(record) = records.peek() {
                    let key = (Arc::clone(&sid), record.archive());
                    let known = state
                        .groups
                        .get(&key)
                        .is_some_and(|g| g.pending.contains_key(record.key()));
                    if !known && state.keys >= self.config.max_pending_keys {
                        break;
                    }
                    let Some(record) = records.next() else { break };
                    let group = state.groups.entry(key).or_default();
                    match group.pending.get_mut(record.key()) {
                        Some(slot) => slot.absorb(record),
                        None => {
                            // A key in flight counts once: its new write replaces nothing there.
                            let in_flight = group.in_flight.as_ref().is_some_and(|f| f.contains_key(record.key()));
                            if !in_flight {
                                state.keys += 1;
                            }
                            group.pending.insert(record.key().to_owned(), record);
                        }
                    }
                }
            }
            self.start();
            self.work.notify_one();
            if records.peek().is_some() {
                notified.await; // the queue is full: wait for a batch to land
            }
        }
        Ok(())
    }

    /// Queued or in-flight versions of `key`, oldest first (what a read must layer over the backend's).
    pub fn pending(&self, sid: &str, archive: Archive, key: &str) -> Vec<Record> {
        let state = self.state.lock();
        let Some(group) = state.groups.get(&(Arc::from(sid), archive)) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if let Some(r) = group.in_flight.as_ref().and_then(|f| f.get(key)) {
            out.push(r.clone());
        }
        if let Some(r) = group.pending.get(key) {
            out.push(r.clone());
        }
        out
    }

    /// Changes whenever a batch lands (see [`WriteBehind::pending`]).
    pub fn landed(&self) -> u64 {
        self.landed.load(Ordering::Acquire)
    }

    /// Drops queued (not in-flight) writes of `key`, before a delete.
    pub fn discard(&self, sid: &str, archive: Archive, key: &str) {
        let mut state = self.state.lock();
        if let Some(group) = state.groups.get_mut(&(Arc::from(sid), archive)) {
            let in_flight = group.in_flight.as_ref().is_some_and(|f| f.contains_key(key));
            if group.pending.shift_remove(key).is_some() && !in_flight {
                state.keys = state.keys.saturating_sub(1);
            }
        }
        self.make_room();
        self.progress.notify_waiters();
    }

    /// Waits until the groups selected by `sid`/`archive` (`None` = all) are
    /// written, or `timeout` passes. Reports what landed and what is left.
    pub async fn flush(&self, sid: Option<&str>, archive: Option<Archive>, timeout: Duration) -> FlushReport {
        let selected = |key: &GroupKey| sid.is_none_or(|s| &*key.0 == s) && archive.is_none_or(|a| key.1 == a);
        let count = |state: &State| -> u64 {
            state
                .groups
                .iter()
                .filter(|(k, _)| selected(k))
                .map(|(_, g)| g.keys() as u64)
                .sum()
        };
        let start = count(&self.state.lock());
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.progress.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let left = count(&self.state.lock());
            if left == 0 || Instant::now() >= deadline {
                return FlushReport {
                    flushed: start.saturating_sub(left),
                    remaining: left,
                };
            }
            self.work.notify_one();
            let _ = tokio::time::timeout(deadline.saturating_duration_since(Instant::now()), notified).await;
        }
    }

    /// Waits until the group is written (reads and deletes that must see every
    /// write). A busy backend is waited for as long as its batches keep
    /// landing; fails once a whole `flush_timeout` passes with none landing.
    /// Progress is batches landed, not the group's size: a writer refilling a
    /// full queue keeps the size flat while batches land.
    pub async fn settle(&self, sid: &str, archive: Archive) -> StoreResult<()> {
        let report = loop {
            let landed = self.landed();
            let report = self.flush(Some(sid), Some(archive), self.config.flush_timeout).await;
            if report.remaining == 0 {
                return Ok(());
            }
            if self.landed() == landed {
                break report;
            }
        };
        let (code, reason) = self
            .last_error
            .lock()
            .clone()
            .unwrap_or((ErrorCode::WriteFailed, "timed out".to_owned()));
        Err(StoreError::new(
            code,
            format!(
                "{} queued archive writes could not be written first (none landed within writeBehind.flushTimeoutMs): {reason}",
                report.remaining
            ),
        ))
    }

    /// Stops accepting writes (what is queued is still written).
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.work.notify_one();
        self.progress.notify_waiters();
        self.room.notify_waiters();
    }

    pub fn stats(&self) -> WriteBehindStats {
        let state = self.state.lock();
        let in_flight: u64 = state.groups.values().map(|g| g.in_flight.as_ref().map_or(0, HashMap::len) as u64).sum();
        let pending = state.keys as u64;
        WriteBehindStats {
            rejected: self.rejected.load(Ordering::Relaxed),
            pending_keys: pending,
            in_flight_keys: in_flight,
            batches: self.batches.load(Ordering::Relaxed),
            flushed_records: self.flushed.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
        }
    }

    /// Keys of `sid` queued or in flight.
    pub fn session_keys(&self, sid: &str) -> usize {
        self.state
            .lock()
            .groups
            .iter()
            .filter(|(k, _)| &*k.0 == sid)
            .map(|(_, g)| g.keys())
            .sum()
    }

    /// Keys queued or in flight (never more than `max_pending_keys`).
    pub fn held_keys(&self) -> usize {
        self.state.lock().keys
    }

    // ---- dispatching --------------------------------------------------------

    fn start(self: &Arc<Self>) {
        if !self.started.swap(true, Ordering::AcqRel) {
            self.runtime.spawn(Arc::clone(self).dispatch());
        }
    }

    async fn dispatch(self: Arc<Self>) {
        loop {
            let notified = self.work.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (batches, next_retry, idle) = self.take_batches();
            for (key, records) in batches {
                self.runtime.spawn(Arc::clone(&self).write(key, records));
            }
            if idle && self.closed.load(Ordering::Acquire) {
                self.started.store(false, Ordering::Release);
                return;
            }
            match next_retry {
                Some(at) => {
                    let _ = tokio::time::timeout(at.saturating_duration_since(Instant::now()), notified).await;
                }
                None => notified.await,
            }
        }
    }

    /// Batches to start now, the earliest pending retry, and whether the queue is empty.
    #[allow(clippy::type_complexity)]
    fn take_batches(&self) -> (Vec<(GroupKey, Vec<Record>)>, Option<Instant>, bool) {
        let mut state = self.state.lock();
        let now = Instant::now();
        let mut out = Vec::new();
        let mut next_retry: Option<Instant> = None;
        let mut free = self
            .config
            .max_write_concurrency
            .saturating_sub(state.batches_in_flight);
        for (key, group) in state.groups.iter_mut() {
            if free == 0 {
                break;
            }
            if group.in_flight.is_some() || group.pending.is_empty() {
                continue;
            }
            if let Some(at) = group.retry_at.filter(|at| *at > now) {
                next_retry = Some(next_retry.map_or(at, |n| n.min(at)));
                continue;
            }
            let size = if group.isolate {
                1
            } else {
                self.config.max_batch_size.max(1)
            };
            let n = group.pending.len().min(size);
            let taken: Vec<(String, Record)> = group.pending.drain(..n).collect();
            group.in_flight = Some(taken.iter().map(|(k, r)| (k.clone(), r.clone())).collect());
            out.push((key.clone(), taken.into_iter().map(|(_, r)| r).collect()));
            free -= 1;
        }
        state.batches_in_flight += out.len();
        state
            .groups
            .retain(|_, g| !g.is_idle() || g.retry_at.is_some_and(|at| at > now));
        let idle = state.groups.is_empty() && state.batches_in_flight == 0;
        (out, next_retry, idle)
    }

    async fn write(self: Arc<Self>, (sid, archive): GroupKey, records: Vec<Record>) {
        let n = records.len();
        let result = self.upsert(&sid, archive, records.clone()).await;
        {
            let mut state = self.state.lock();
            state.batches_in_flight = state.batches_in_flight.saturating_sub(1);
            let state = &mut *state;
            let group = state.groups.entry((Arc::clone(&sid), archive)).or_default();
            group.in_flight = None;
            match &result {
                Ok(()) => {
                    self.landed.fetch_add(1, Ordering::AcqRel);
                    group.attempts = 0;
                    group.retry_at = None;
                    group.isolate &= !group.pending.is_empty();
                    // Keys written again meanwhile are still pending; they keep their count.
                    let done = records.iter().filter(|r| !group.pending.contains_key(r.key())).count();
                    state.keys = state.keys.saturating_sub(done);
                }
                Err(err)
                    if err.code != ErrorCode::ConnectionFailed
                        && n == 1
                        && group.attempts + 1 >= MAX_RECORD_ATTEMPTS =>
                {
                    // This very record is refused, again and again: report it and let the rest through.
                    group.attempts = 0;
                    group.retry_at = None;
                    let done = records.iter().filter(|r| !group.pending.contains_key(r.key())).count();
                    state.keys = state.keys.saturating_sub(done);
                    self.rejected.fetch_add(1, Ordering::Relaxed);
                    *self.last_error.lock() =
                        Some((err.code, format!("a record was rejected for good: {}", err.message)));
                    self.report(Level::Error, "writeBehindRejected", &sid, archive, err, |e| {
                        let key = records.first().map(|r| r.key().to_owned()).unwrap_or_default();
                        e.message(format!(
                            "write-behind: a {} record was refused {MAX_RECORD_ATTEMPTS} times and dropped",
                            archive_domain(archive).name()
                        ))
                        .field("key", key)
                        .field("attempts", MAX_RECORD_ATTEMPTS)
                    });
                }
                Err(err) => {
                    group.attempts += 1;
                    group.isolate |= err.code != ErrorCode::ConnectionFailed && n > 1;
                    group.retry_at = Some(Instant::now() + self.config.backoff(group.attempts));
                    // Back under the newer writes of the same keys, ahead of the rest.
                    let mut restored: IndexMap<String, Record> = IndexMap::with_capacity(n + group.pending.len());
                    for record in records {
                        let key = record.key().to_owned();
                        let mut merged = record;
                        if let Some(newer) = group.pending.shift_remove(&key) {
                            merged.absorb(newer);
                        }
                        restored.insert(key, merged);
                    }
                    restored.extend(group.pending.drain(..));
                    group.pending = restored;
                    *self.last_error.lock() = Some((err.code, err.message.clone()));
                    let (attempts, delay) = (group.attempts, self.config.backoff(group.attempts));
                    self.report(Level::Warn, "writeBehindRetry", &sid, archive, err, |e| {
                        e.message(format!(
                            "write-behind: a batch of {n} {} record(s) failed (attempt {attempts}); retrying in {} ms",
                            archive_domain(archive).name(),
                            delay.as_millis()
                        ))
                        .field("records", n)
                        .field("attempts", attempts)
                        .field("delayMs", u64::try_from(delay.as_millis()).unwrap_or(u64::MAX))
                    });
                }
            }
        }
        match result {
            Ok(()) => {
                self.batches.fetch_add(1, Ordering::Relaxed);
                self.flushed.fetch_add(n as u64, Ordering::Relaxed);
            }
            Err(_) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                self.retries.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.make_room();
        self.progress.notify_waiters();
        self.work.notify_one();
    }

    /// Wakes as many writers waiting for room as there are free slots. A woken
    /// writer that finds none taken by another waits again; `notify_one`
    /// keeps one wake-up for a writer that is about to wait.
    fn make_room(&self) {
        let free = self.config.max_pending_keys.saturating_sub(self.state.lock().keys);
        for _ in 0..free.min(self.room_waiters.load(Ordering::Acquire)) {
            self.room.notify_one();
        }
    }

    /// Emits one event about `sid`'s `archive` group, with the error's code and message.
    fn report(
        &self,
        level: Level,
        event: &'static str,
        sid: &str,
        archive: Archive,
        err: &StoreError,
        build: impl FnOnce(Event) -> Event,
    ) {
        if let Some(events) = &self.events {
            events.emit(level, event, |e| build(e.session(sid).domain(archive_domain(archive)).error(err)));
        }
    }

    async fn upsert(&self, sid: &str, archive: Archive, records: Vec<Record>) -> StoreResult<()> {
        let b = &*self.backend;
        match archive {
            Archive::Messages => {
                b.upsert_messages(
                    sid,
                    collect(records, |r| match r {
                        Record::Message(m) => Some(m),
                        _ => None,
                    }) as Vec<StoredMessage>,
                )
                .await
            }
            Archive::Threads => {
                b.upsert_threads(
                    sid,
                    collect(records, |r| match r {
                        Record::Thread(t) => Some(t),
                        _ => None,
                    }) as Vec<StoredThread>,
                )
                .await
            }
            Archive::Contacts => {
                b.upsert_contacts(
                    sid,
                    collect(records, |r| match r {
                        Record::Contact(c) => Some(c),
                        _ => None,
                    }) as Vec<StoredContact>,
                )
                .await
            }
        }
    }
}

fn archive_domain(archive: Archive) -> Domain {
    match archive {
        Archive::Messages => Domain::Messages,
        Archive::Threads => Domain::Threads,
        Archive::Contacts => Domain::Contacts,
    }
}

fn collect<T>(records: Vec<Record>, pick: impl Fn(Record) -> Option<T>) -> Vec<T> {
    records.into_iter().filter_map(pick).collect()
}

/// Counts itself in `n` while it lives.
struct Counted<'a>(&'a AtomicUsize);

impl<'a> Counted<'a> {
    fn new(n: &'a AtomicUsize) -> Self {
        n.fetch_add(1, Ordering::AcqRel);
        Self(n)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
