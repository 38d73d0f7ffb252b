//! Write-behind for the archive domains (messages, threads, contacts):
//! writes are acknowledged once queued, coalesced per key, and written in
//! bounded batches with bounded concurrency; nothing is dropped.
//!
//! - [`queue`]: the per-backend queue and its dispatcher;
//! - [`stores`]: the archive domain traits on top of it (read-your-writes);
//! - [`record`], [`config`]: what is queued, and the options.

pub mod config;
pub mod queue;
pub mod record;
pub mod stores;

#[cfg(test)]
mod tests;

pub use config::WriteBehindConfig;
pub use queue::{ArchiveBackend, FlushReport, WriteBehind, WriteBehindStats};
pub use record::{Archive, Record};
pub use stores::Archived;
