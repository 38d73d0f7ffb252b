//! `createStore({ signalCache })`: whether the cache runs, and how durable a
//! resolved write is.

use std::time::Duration;

use crate::config::MemoryLimits;

/// When a write's promise resolves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// After the backend committed it (default). Concurrent writes share
    /// commits (group commit); none is acknowledged early.
    Sync,
    /// At once; the write is committed within the flush window, and
    /// `session.flush()` forces it out.
    Deferred,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalCacheConfig {
    pub durability: Durability,
    /// Deferred mode: how long a write may wait for company before it is flushed.
    pub flush_window: Duration,
    /// Sync mode: how long a write is retried through backend failures before
    /// its promise rejects.
    pub sync_timeout: Duration,
    /// Deferred mode: consecutive failed flushes after which writes are refused.
    pub max_flush_failures: u32,
    /// Backoff between retries: doubles from `retry_base` up to `retry_cap`.
    pub retry_base: Duration,
    pub retry_cap: Duration,
    pub limits: CacheLimits,
}

/// Per-session entry caps, from `memory.limits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    pub sessions: usize,
    pub identities: usize,
    pub sender_keys: usize,
    pub keys: usize,
}

impl CacheLimits {
    pub fn from_memory_limits(l: &MemoryLimits) -> Self {
        Self {
            sessions: l.signal_sessions,
            identities: l.signal_remote_identities,
            sender_keys: l.sender_keys,
            keys: l.adapter_keys,
        }
    }
}

impl Default for SignalCacheConfig {
    fn default() -> Self {
        Self {
            durability: Durability::Sync,
            flush_window: Duration::from_millis(25),
            sync_timeout: Duration::from_millis(5_000),
            max_flush_failures: 5,
            retry_base: Duration::from_millis(50),
            retry_cap: Duration::from_millis(2_000),
            limits: CacheLimits::from_memory_limits(&MemoryLimits::default()),
        }
    }
}

impl SignalCacheConfig {
    /// Delay before retry number `failures` (1-based): capped exponential.
    pub fn backoff(&self, failures: u32) -> Duration {
        let factor = 1u32 << failures.saturating_sub(1).min(16);
        self.retry_base.saturating_mul(factor).min(self.retry_cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let c = SignalCacheConfig::default();
        assert_eq!(c.backoff(1), Duration::from_millis(50));
        assert_eq!(c.backoff(2), Duration::from_millis(100));
        assert_eq!(c.backoff(3), Duration::from_millis(200));
        assert_eq!(c.backoff(30), Duration::from_millis(2_000));
    }
}
