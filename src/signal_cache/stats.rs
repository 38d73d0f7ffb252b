//! Counters a test (and an operator) can assert on. Relaxed atomics: each
//! counter is exact, the set is not a snapshot.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Counters {
    pub hits: AtomicU64,
    pub negative_hits: AtomicU64,
    pub misses: AtomicU64,
    /// Backend calls made to fetch misses.
    pub backend_reads: AtomicU64,
    pub flushes: AtomicU64,
    pub flushed_records: AtomicU64,
    pub transactions: AtomicU64,
    pub last_flush_records: AtomicU64,
    pub last_flush_transactions: AtomicU64,
    pub retries: AtomicU64,
    pub failures: AtomicU64,
    pub halted: AtomicBool,
}

impl Counters {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// A plain copy of the counters plus the entry counts, for `store.stats()`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub negative_hits: u64,
    pub misses: u64,
    pub backend_reads: u64,
    pub evictions: u64,
    pub entries: u64,
    pub dirty: u64,
    pub pending_writes: u64,
    pub flushes: u64,
    pub flushed_records: u64,
    pub transactions: u64,
    pub last_flush_records: u64,
    pub last_flush_transactions: u64,
    pub retries: u64,
    pub failures: u64,
    pub halted: bool,
}

impl CacheStats {
    /// Sums `other` into `self` (several backends make one store's figure).
    pub fn absorb(&mut self, other: &CacheStats) {
        self.hits += other.hits;
        self.negative_hits += other.negative_hits;
        self.misses += other.misses;
        self.backend_reads += other.backend_reads;
        self.evictions += other.evictions;
        self.entries += other.entries;
        self.dirty += other.dirty;
        self.pending_writes += other.pending_writes;
        self.flushes += other.flushes;
        self.flushed_records += other.flushed_records;
        self.transactions += other.transactions;
        self.last_flush_records = self.last_flush_records.max(other.last_flush_records);
        self.last_flush_transactions = self.last_flush_transactions.max(other.last_flush_transactions);
        self.retries += other.retries;
        self.failures += other.failures;
        self.halted |= other.halted;
    }
}
