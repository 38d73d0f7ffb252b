//! Structured events and operation counters, free of napi.
//!
//! Core modules (backends' migrations, the Signal cache's group commit, the
//! write-behind queue, session leases) report what an operator should know
//! into an [`Events`] handle; each backend owns one. The Node layer attaches a
//! sink that forwards events to the `logger` given to `createStore` (or to a
//! backend factory) on the JS thread. Emitting never blocks and never fails:
//! with no sink attached an event is only counted, and a sink must drop
//! events it cannot deliver rather than wait.
//!
//! The counters (operations, errors, slow operations, events by name) are
//! what `store.metrics()` exposes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};

use crate::domain::Domain;

/// The lease events [`Events::lease`] is meant for.
pub const LEASE_EVENTS: [&str; 5] = ["leaseAcquired", "leaseRenewed", "leaseLost", "leaseReleased", "leaseTakenOver"];

/// zapo's default `slowOperationThresholdMs`.
pub const DEFAULT_SLOW_OPERATION_MS: u64 = 250;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    /// The pino method name.
    pub fn name(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Str(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<usize> for Value {
    fn from(v: usize) -> Self {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

/// One structured event. `event` is a stable name (documented in the
/// README); `session_id` and `domain` are bound on the logger as a child.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub level: Level,
    pub event: &'static str,
    pub message: String,
    pub backend: Option<&'static str>,
    pub session_id: Option<String>,
    pub domain: Option<&'static str>,
    pub fields: Vec<(&'static str, Value)>,
}

impl Event {
    pub fn new(level: Level, event: &'static str) -> Self {
        Self { level, event, message: String::new(), backend: None, session_id: None, domain: None, fields: Vec::new() }
    }

    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    pub fn session(mut self, sid: &str) -> Self {
        self.session_id = Some(sid.to_owned());
        self
    }

    pub fn domain(mut self, domain: Domain) -> Self {
        self.domain = Some(domain.name());
        self
    }

    pub fn field(mut self, name: &'static str, value: impl Into<Value>) -> Self {
        self.fields.push((name, value.into()));
        self
    }

    /// `code` and `error` fields from a store error.
    pub fn error(self, err: &crate::error::StoreError) -> Self {
        self.field("code", err.code.as_str()).field("error", err.message.clone())
    }
}

/// Where events go. Implementations must not block: drop what cannot be delivered.
pub trait EventSink: Send + Sync {
    fn emit(&self, event: Event);
}

/// Per-domain operation counters.
#[derive(Default)]
struct OpCounters {
    calls: AtomicU64,
    errors: AtomicU64,
    slow: AtomicU64,
    micros: AtomicU64,
}

/// What [`Events::operations`] reports for one domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpStats {
    pub calls: u64,
    pub errors: u64,
    pub slow: u64,
    /// Summed wall time of the calls.
    pub micros: u64,
}

const DOMAINS: usize = 17;

struct Inner {
    backend: &'static str,
    sink: RwLock<Option<Arc<dyn EventSink>>>,
    /// `u64::MAX`: no slow-operation events.
    slow_ms: AtomicU64,
    ops: [OpCounters; DOMAINS],
    by_event: Mutex<BTreeMap<&'static str, u64>>,
}

/// A backend's event handle: cheap to clone, shared by everything in front of it.
#[derive(Clone)]
pub struct Events(Arc<Inner>);

impl Events {
    /// `backend` labels every event (`sqlite`, `postgres`, …).
    pub fn new(backend: &'static str) -> Self {
        Events(Arc::new(Inner {
            backend,
            sink: RwLock::new(None),
            slow_ms: AtomicU64::new(DEFAULT_SLOW_OPERATION_MS),
            ops: Default::default(),
            by_event: Mutex::new(BTreeMap::new()),
        }))
    }

    pub fn backend(&self) -> &'static str {
        self.0.backend
    }

    /// Attaches (or with `None` detaches) the sink.
    pub fn set_sink(&self, sink: Option<Arc<dyn EventSink>>) {
        *self.0.sink.write() = sink;
    }

    pub fn has_sink(&self) -> bool {
        self.0.sink.read().is_some()
    }

    /// Calls taking at least this long emit `slowOperation`; `None` turns that off.
    pub fn set_slow_threshold(&self, threshold: Option<Duration>) {
        let ms = threshold.map_or(u64::MAX, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX - 1));
        self.0.slow_ms.store(ms, Ordering::Relaxed);
    }

    pub fn slow_threshold(&self) -> Option<Duration> {
        match self.0.slow_ms.load(Ordering::Relaxed) {
            u64::MAX => None,
            ms => Some(Duration::from_millis(ms)),
        }
    }

    /// Counts `event` and, when a sink is attached, builds and sends it.
    pub fn emit(&self, level: Level, event: &'static str, build: impl FnOnce(Event) -> Event) {
        *self.0.by_event.lock().entry(event).or_insert(0) += 1;
        let sink = self.0.sink.read().clone();
        if let Some(sink) = sink {
            let mut e = build(Event::new(level, event));
            e.backend.get_or_insert(self.0.backend);
            sink.emit(e);
        }
    }

    /// Records one domain call and emits `slowOperation` when it took at least
    /// the threshold. `operation` is the method's name, or the Rust path of the
    /// code that ran it (made a JS method name by [`operation_name`], only when slow).
    pub fn operation(&self, sid: &str, domain: Domain, operation: &str, elapsed: Duration, failed: bool) {
        let c = &self.0.ops[domain as usize % DOMAINS];
        c.calls.fetch_add(1, Ordering::Relaxed);
        c.micros.fetch_add(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
        if failed {
            c.errors.fetch_add(1, Ordering::Relaxed);
        }
        let Some(threshold) = self.slow_threshold() else { return };
        if elapsed < threshold {
            return;
        }
        c.slow.fetch_add(1, Ordering::Relaxed);
        let ms = elapsed.as_secs_f64() * 1000.0;
        let operation = operation_name(operation);
        self.emit(Level::Warn, "slowOperation", |e| {
            e.message(format!("{}.{operation} took {ms:.1} ms", domain.name()))
                .session(sid)
                .domain(domain)
                .field("operation", operation.clone())
                .field("durationMs", (ms * 1000.0).round() / 1000.0)
                .field("thresholdMs", u64::try_from(threshold.as_millis()).unwrap_or(u64::MAX))
                .field("failed", failed)
        });
    }

    /// `migrationApplied` (info), from the SQL backends' migration runners.
    pub fn migration_applied(&self, version: i64, name: &str, table: &str) {
        self.emit(Level::Info, "migrationApplied", |e| {
            e.message(format!("{} schema migration {version} ({name}) applied", self.backend()))
                .field("version", version)
                .field("name", name.to_owned())
                .field("table", table.to_owned())
        });
    }

    /// A session-ownership (lease) event, for the ownership layer: use one of
    /// [`LEASE_EVENTS`] as `event` (`leaseAcquired` info, `leaseRenewed`
    /// debug, `leaseLost` error, `leaseReleased` info, `leaseTakenOver` warn),
    /// with fields such as `holder`, `expiresAtMs`, `fencingToken`.
    pub fn lease(
        &self,
        level: Level,
        event: &'static str,
        sid: &str,
        message: impl Into<String>,
        fields: Vec<(&'static str, Value)>,
    ) {
        self.emit(level, event, |e| {
            let mut e = e.message(message).session(sid).domain(Domain::Auth);
            e.fields.extend(fields);
            e
        });
    }

    /// Operation counters of every domain that was called, in [`Domain`] order.
    pub fn operations(&self) -> Vec<(Domain, OpStats)> {
        let all = Domain::PERSISTENT.iter().chain(Domain::CACHES.iter()).chain(Domain::ADAPTER.iter());
        let mut out: Vec<(Domain, OpStats)> = all
            .filter_map(|&d| {
                let c = &self.0.ops[d as usize % DOMAINS];
                let s = OpStats {
                    calls: c.calls.load(Ordering::Relaxed),
                    errors: c.errors.load(Ordering::Relaxed),
                    slow: c.slow.load(Ordering::Relaxed),
                    micros: c.micros.load(Ordering::Relaxed),
                };
                (s.calls > 0).then_some((d, s))
            })
            .collect();
        out.sort_by_key(|(d, _)| *d as usize);
        out
    }

    /// How many times each event was emitted (sink or not).
    pub fn event_counts(&self) -> Vec<(&'static str, u64)> {
        self.0.by_event.lock().iter().map(|(k, v)| (*k, *v)).collect()
    }
}

/// The JS name of an operation: the last path segment that is not a closure,
/// camelCased (`…::SessionStore::get_sessions::{{closure}}` → `getSessions`).
pub fn operation_name(path: &str) -> String {
    let segment = path
        .split("::")
        .filter(|s| !s.is_empty() && !s.starts_with('{') && !s.contains(['<', '>', ' ']))
        .last()
        .unwrap_or(path);
    let mut out = String::with_capacity(segment.len());
    let mut upper = false;
    for c in segment.chars() {
        if c == '_' {
            upper = !out.is_empty();
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events").field("backend", &self.0.backend).field("sink", &self.has_sink()).finish()
    }
}

#[cfg(test)]
pub mod testing {
    use super::*;

    /// A sink that keeps what it receives.
    #[derive(Default)]
    pub struct Collect(pub Mutex<Vec<Event>>);

    impl EventSink for Collect {
        fn emit(&self, event: Event) {
            self.0.lock().push(event);
        }
    }

    impl Collect {
        pub fn named(&self, name: &str) -> Vec<Event> {
            self.0.lock().iter().filter(|e| e.event == name).cloned().collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::Collect;
    use super::*;

    #[test]
    fn events_are_counted_without_a_sink_and_sent_with_one() {
        let events = Events::new("sqlite");
        events.emit(Level::Info, "migrationApplied", |e| e.field("version", 1u32));
        assert_eq!(events.event_counts(), vec![("migrationApplied", 1)]);
        let sink = Arc::new(Collect::default());
        events.set_sink(Some(sink.clone()));
        events.emit(Level::Info, "migrationApplied", |e| e.message("applied").field("version", 2u32));
        let got = sink.named("migrationApplied");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].backend, Some("sqlite"));
        assert_eq!(got[0].fields, vec![("version", Value::Int(2))]);
    }

    #[test]
    fn operation_names_come_from_the_calling_method() {
        assert_eq!(operation_name("wastore::node::domains::sessions::SessionStore::get_sessions::{{closure}}"), "getSessions");
        assert_eq!(operation_name("a::<impl a::B for C>::clear::{{closure}}::{{closure}}"), "clear");
        assert_eq!(operation_name("loadCreds"), "loadCreds");
    }

    #[test]
    fn lease_events_carry_the_session() {
        let events = Events::new("postgres");
        let sink = Arc::new(Collect::default());
        events.set_sink(Some(sink.clone()));
        events.lease(Level::Warn, LEASE_EVENTS[4], "s1", "taken over", vec![("holder", "host:1".into())]);
        let got = sink.named("leaseTakenOver");
        assert_eq!(got[0].session_id.as_deref(), Some("s1"));
        assert_eq!(got[0].fields, vec![("holder", Value::Str("host:1".into()))]);
    }

    #[test]
    fn slow_operations_follow_the_threshold() {
        let events = Events::new("memory");
        let sink = Arc::new(Collect::default());
        events.set_sink(Some(sink.clone()));
        events.operation("s", Domain::Session, "getSession", Duration::from_millis(1), false);
        assert!(sink.named("slowOperation").is_empty());
        events.set_slow_threshold(Some(Duration::ZERO));
        events.operation("s", Domain::Session, "getSession", Duration::ZERO, true);
        let slow = sink.named("slowOperation");
        assert_eq!(slow.len(), 1);
        assert_eq!((slow[0].session_id.as_deref(), slow[0].domain), (Some("s"), Some("session")));
        let ops = events.operations();
        assert_eq!(ops.len(), 1);
        assert_eq!((ops[0].1.calls, ops[0].1.errors, ops[0].1.slow), (2, 1, 1));
        events.set_slow_threshold(None);
        events.operation("s", Domain::Session, "getSession", Duration::from_secs(9), false);
        assert_eq!(sink.named("slowOperation").len(), 1);
    }
}
