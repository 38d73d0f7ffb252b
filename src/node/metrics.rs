//! `store.metrics()`: the store's counters as Prometheus text, one `backend`
//! label per backend (its key in `backends`, or `memory` / `none`).

use super::store::Route;
use crate::metrics::Registry;

fn micros_to_seconds(micros: u64) -> f64 {
    micros as f64 / 1_000_000.0
}

/// `losses`: events the store's logger sink dropped (queue full) and logger calls that threw.
pub fn store_metrics(routes: &[Route], sessions: usize, losses: Option<(u64, u64)>) -> String {
    let mut r = Registry::default();
    r.gauge("wastore_sessions", "Live session bundles of this store.", &[], sessions as f64);
    if let Some((dropped, failed)) = losses {
        r.counter("wastore_log_events_dropped_total", "Events not delivered to the logger (its queue was full).", &[], dropped);
        r.counter("wastore_logger_errors_total", "Logger calls that threw (the error was dropped).", &[], failed);
    }
    for route in routes {
        let name: &str = &route.name;
        let labels = [("backend", name)];
        r.gauge("wastore_backend_info", "One per backend, labelled with its kind.", &[("backend", name), ("kind", route.backend.kind())], 1.0);
        let events = route.backend.events();
        for (domain, s) in events.operations() {
            let l = [("backend", name), ("domain", domain.name())];
            r.counter("wastore_operations_total", "Domain calls made through this store.", &l, s.calls);
            r.counter("wastore_operation_errors_total", "Domain calls that failed.", &l, s.errors);
            r.add(
                "wastore_operation_seconds_total",
                "Time spent in domain calls.",
                crate::metrics::MetricType::Counter,
                &l,
                micros_to_seconds(s.micros),
            );
            r.counter("wastore_slow_operations_total", "Domain calls at or over slowOperationThresholdMs.", &l, s.slow);
        }
        for (event, n) in events.event_counts() {
            r.counter("wastore_events_total", "Structured events emitted (logger or not).", &[("backend", name), ("event", event)], n);
        }
        if let Some(hub) = &route.hub {
            let s = hub.stats();
            r.counter("wastore_signal_cache_hits_total", "Signal cache reads answered in process.", &labels, s.hits);
            r.counter("wastore_signal_cache_negative_hits_total", "Reads answered by a known-absent entry.", &labels, s.negative_hits);
            r.counter("wastore_signal_cache_misses_total", "Signal cache reads that went to the backend.", &labels, s.misses);
            r.counter("wastore_signal_cache_backend_reads_total", "Backend calls made to fetch misses.", &labels, s.backend_reads);
            r.gauge("wastore_signal_cache_evictions", "Entries evicted from live session caches.", &labels, s.evictions as f64);
            r.gauge("wastore_signal_cache_entries", "Entries cached.", &labels, s.entries as f64);
            r.gauge("wastore_signal_cache_dirty_entries", "Written entries not committed yet.", &labels, s.dirty as f64);
            r.gauge("wastore_signal_cache_pending_writes", "Writes queued for the group commit.", &labels, s.pending_writes as f64);
            r.counter("wastore_signal_cache_flushes_total", "Group-commit flushes.", &labels, s.flushes);
            r.counter("wastore_signal_cache_flushed_records_total", "Records committed by flushes.", &labels, s.flushed_records);
            r.counter("wastore_signal_cache_transactions_total", "Backend transactions used by flushes.", &labels, s.transactions);
            r.counter("wastore_signal_cache_retries_total", "Flushes retried after a failure.", &labels, s.retries);
            r.counter("wastore_signal_cache_failures_total", "Failed flush attempts.", &labels, s.failures);
            r.gauge("wastore_signal_cache_halted", "1 while new writes are refused (STORE_FLUSH_HALTED).", &labels, f64::from(u8::from(s.halted)));
        }
        if let Some(queue) = &route.archive {
            let s = queue.stats();
            r.gauge("wastore_write_behind_pending_keys", "Archive keys queued or in flight.", &labels, s.pending_keys as f64);
            r.gauge("wastore_write_behind_in_flight_keys", "Archive keys being written.", &labels, s.in_flight_keys as f64);
            r.counter("wastore_write_behind_batches_total", "Archive batches written.", &labels, s.batches);
            r.counter("wastore_write_behind_flushed_records_total", "Archive records written.", &labels, s.flushed_records);
            r.counter("wastore_write_behind_retries_total", "Archive batches retried.", &labels, s.retries);
            r.counter("wastore_write_behind_failures_total", "Failed archive batches.", &labels, s.failures);
            r.counter("wastore_write_behind_rejected_total", "Archive records refused for good.", &labels, s.rejected);
        }
    }
    r.render()
}
