//! Flushing and statistics of the Signal cache and write-behind layers, for
//! `session.flush()`, `session.stats()`, `store.stats()` and the flush that
//! every `destroy()` runs first.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use napi_derive::napi;

use super::store::Route;
use crate::domain::Domain;
use crate::error::{ErrorCode, StoreError};
use crate::signal_cache::{CacheStats, Hub};
use crate::write_behind::{FlushReport, WriteBehind, WriteBehindConfig, WriteBehindStats};

/// Each hub and each write-behind queue once.
pub fn layers<'a>(routes: impl Iterator<Item = &'a Route>) -> (Vec<Arc<Hub>>, Vec<Arc<WriteBehind>>) {
    let (mut hubs, mut queues): (Vec<Arc<Hub>>, Vec<Arc<WriteBehind>>) = (Vec::new(), Vec::new());
    for r in routes {
        if let Some(h) = &r.hub {
            if !hubs.iter().any(|x| Arc::ptr_eq(x, h)) {
                hubs.push(Arc::clone(h));
            }
        }
        if let Some(q) = &r.archive {
            if !queues.iter().any(|x| Arc::ptr_eq(x, q)) {
                queues.push(Arc::clone(q));
            }
        }
    }
    (hubs, queues)
}

/// How long a `destroy()` waits for pending writes: `writeBehind.flushTimeoutMs`.
pub fn destroy_timeout(queues: &[Arc<WriteBehind>]) -> Duration {
    queues
        .iter()
        .map(|q| q.config().flush_timeout)
        .max()
        .unwrap_or(WriteBehindConfig::default().flush_timeout)
}

/// What one flush did, and why it stopped short (if it did).
pub struct Flushed {
    pub report: FlushReport,
    pub error: Option<StoreError>,
}

impl Flushed {
    /// The error a `destroy()` reports when writes were left behind.
    pub fn into_error(self, whose: &str, timeout: Duration) -> Option<StoreError> {
        if self.report.remaining == 0 && self.error.is_none() {
            return None;
        }
        let reason = self.error.map(|e| format!(": {}", e.message)).unwrap_or_default();
        Some(StoreError::new(
            ErrorCode::WriteFailed,
            format!(
                "{whose}: {} pending write(s) could not be written within {} ms and were discarded{reason}",
                self.report.remaining,
                timeout.as_millis()
            ),
        ))
    }
}

/// Writes what `sid` has pending (`None`: every session) in the given layers, within `timeout`.
pub async fn flush_layers(
    hubs: &[Arc<Hub>],
    queues: &[Arc<WriteBehind>],
    sid: Option<&Arc<str>>,
    timeout: Duration,
) -> Flushed {
    let mut report = FlushReport::default();
    let mut error: Option<StoreError> = None;
    for hub in hubs {
        let (before, result) = match sid {
            Some(sid) => {
                let cache = hub.session(sid);
                (cache.stats().dirty, cache.barrier(timeout).await)
            }
            None => (hub.stats().dirty, hub.flush_all(timeout).await),
        };
        let after = match sid {
            Some(sid) => hub.session(sid).stats().dirty,
            None => hub.stats().dirty,
        };
        report.flushed += before.saturating_sub(after);
        report.remaining += after;
        if let Err(e) = result {
            error.get_or_insert(e);
        }
    }
    for queue in queues {
        let r = queue.flush(sid.map(|s| &**s), None, timeout).await;
        report.flushed += r.flushed;
        report.remaining += r.remaining;
    }
    Flushed { report, error }
}

#[napi(object, js_name = "FlushReport")]
pub struct JsFlushReport {
    /// Writes that landed during this flush.
    pub flushed: f64,
    /// Writes still pending when it returned.
    pub remaining: f64,
}

impl From<FlushReport> for JsFlushReport {
    fn from(r: FlushReport) -> Self {
        Self {
            flushed: r.flushed as f64,
            remaining: r.remaining as f64,
        }
    }
}

#[napi(object, js_name = "SignalCacheStats")]
pub struct JsCacheStats {
    pub hits: f64,
    /// Lookups answered by a known-absent entry.
    pub negative_hits: f64,
    pub misses: f64,
    /// Backend calls made to fetch misses.
    pub backend_reads: f64,
    pub evictions: f64,
    pub entries: f64,
    /// Written entries not yet committed (never evicted).
    pub dirty: f64,
    pub pending_writes: f64,
    pub flushes: f64,
    pub flushed_records: f64,
    /// Backend transactions used by flushes.
    pub transactions: f64,
    pub last_flush_records: f64,
    pub last_flush_transactions: f64,
    pub retries: f64,
    pub failures: f64,
    /// Deferred writes keep failing: new writes are refused (`STORE_FLUSH_HALTED`).
    pub halted: bool,
}

impl From<CacheStats> for JsCacheStats {
    fn from(s: CacheStats) -> Self {
        Self {
            hits: s.hits as f64,
            negative_hits: s.negative_hits as f64,
            misses: s.misses as f64,
            backend_reads: s.backend_reads as f64,
            evictions: s.evictions as f64,
            entries: s.entries as f64,
            dirty: s.dirty as f64,
            pending_writes: s.pending_writes as f64,
            flushes: s.flushes as f64,
            flushed_records: s.flushed_records as f64,
            transactions: s.transactions as f64,
            last_flush_records: s.last_flush_records as f64,
            last_flush_transactions: s.last_flush_transactions as f64,
            retries: s.retries as f64,
            failures: s.failures as f64,
            halted: s.halted,
        }
    }
}

#[napi(object, js_name = "WriteBehindStats")]
pub struct JsWriteBehindStats {
    /// Keys queued or in flight, each once (never more than `maxPendingKeys`).
    pub pending_keys: f64,
    pub in_flight_keys: f64,
    pub batches: f64,
    pub flushed_records: f64,
    pub retries: f64,
    pub failures: f64,
    /// Records the backend refused for good after retries (e.g. over a size limit): reported here, never hidden.
    pub rejected: f64,
}

impl From<WriteBehindStats> for JsWriteBehindStats {
    fn from(s: WriteBehindStats) -> Self {
        Self {
            rejected: s.rejected as f64,
            pending_keys: s.pending_keys as f64,
            in_flight_keys: s.in_flight_keys as f64,
            batches: s.batches as f64,
            flushed_records: s.flushed_records as f64,
            retries: s.retries as f64,
            failures: s.failures as f64,
        }
    }
}

#[napi(object, js_name = "StoreStats")]
pub struct JsStoreStats {
    /// Live session bundles.
    pub sessions: u32,
    /// Summed over backends.
    pub signal_cache: JsCacheStats,
    pub write_behind: JsWriteBehindStats,
}

pub fn store_stats(routes: &[Route], sessions: usize) -> JsStoreStats {
    let (hubs, queues) = layers(routes.iter());
    let mut cache = CacheStats::default();
    for h in &hubs {
        cache.absorb(&h.stats());
    }
    let mut wb = WriteBehindStats::default();
    for q in &queues {
        let s = q.stats();
        wb.pending_keys += s.pending_keys;
        wb.in_flight_keys += s.in_flight_keys;
        wb.batches += s.batches;
        wb.flushed_records += s.flushed_records;
        wb.retries += s.retries;
        wb.failures += s.failures;
        wb.rejected += s.rejected;
    }
    JsStoreStats {
        sessions: u32::try_from(sessions).unwrap_or(u32::MAX),
        signal_cache: cache.into(),
        write_behind: wb.into(),
    }
}

#[napi(object, js_name = "SessionStats")]
pub struct JsSessionStats {
    /// This session's cache: hits, misses, entries, dirty entries, halted.
    pub signal_cache: JsCacheStats,
    /// This session's archive writes queued or in flight.
    pub pending_archive_writes: f64,
}

pub fn session_stats(routes: &HashMap<Domain, Route>, sid: &Arc<str>) -> JsSessionStats {
    let (hubs, queues) = layers(routes.values());
    let mut cache = CacheStats::default();
    for h in &hubs {
        cache.absorb(&h.session(sid).stats());
    }
    let pending = queues.iter().map(|q| q.session_keys(sid)).sum::<usize>();
    JsSessionStats {
        signal_cache: cache.into(),
        pending_archive_writes: pending as f64,
    }
}
