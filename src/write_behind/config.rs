//! `createStore({ writeBehind })`, with zapo's defaults.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteBehindConfig {
    /// Most keys queued or in flight at once; a write of a new key waits for room beyond it.
    pub max_pending_keys: usize,
    /// Most batches in flight at once, per backend.
    pub max_write_concurrency: usize,
    /// How long `destroy()` waits for the queue to drain.
    pub flush_timeout: Duration,
    /// Most records per backend call.
    pub max_batch_size: usize,
    /// Retry backoff of a failed batch: doubles from `retry_base` up to `retry_cap`, without limit of attempts.
    pub retry_base: Duration,
    pub retry_cap: Duration,
}

impl Default for WriteBehindConfig {
    fn default() -> Self {
        Self {
            max_pending_keys: 4_096,
            max_write_concurrency: 4,
            flush_timeout: Duration::from_millis(5_000),
            max_batch_size: 250,
            retry_base: Duration::from_millis(100),
            retry_cap: Duration::from_millis(2_000),
        }
    }
}

impl WriteBehindConfig {
    pub fn backoff(&self, attempts: u32) -> Duration {
        let factor = 1u32 << attempts.saturating_sub(1).min(16);
        self.retry_base.saturating_mul(factor).min(self.retry_cap)
    }
}
