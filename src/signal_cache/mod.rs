//! The Signal object cache: a per-session read cache with negative entries
//! in front of the session, identity, senderKey and adapter-key domains of
//! a durable backend, with dirty tracking and group commit.
//!
//! - [`entries`]: one domain's entries (LRU of clean ones, dirty ones never evicted);
//! - [`kinds`]: the four cached domains and how each reaches the backend;
//! - [`session`]: one session's cache (serve, get, stage, barrier);
//! - [`hub`]: one backend's queue and flusher (group commit, retries, halting);
//! - [`config`], [`stats`]: options and counters.
//!
//! The cache assumes one writer per session id (as zapo's `cacheLayer`
//! does): another process writing the same session is not seen.

pub mod config;
pub mod domains;
pub mod entries;
pub mod hub;
pub mod kinds;
pub mod session;
pub mod stats;

#[cfg(test)]
mod tests;

pub use config::{CacheLimits, Durability, SignalCacheConfig};
pub use domains::CachedSignal;
pub use hub::{Hub, Pending};
pub use session::{SessionCache, Versioned};
pub use stats::CacheStats;
