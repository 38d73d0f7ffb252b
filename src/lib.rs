//! wastore: the persistence layer for JavaScript WhatsApp clients.
//!
//! Everything but `node` is plain Rust that `cargo test` exercises:
//! - [`error`]: typed errors with stable `STORE_*` codes;
//! - [`codec`]: the versioned binary encoding of structured values;
//! - [`domain`]: the 16 store contracts (zapo's, method for method);
//! - [`backend`]: one module per backend (memory, SQLite);
//! - [`cache_layer`]: zapo's opt-in per-session L1 in front of a durable backend;
//! - [`config`]: option validation shared by every factory;
//! - [`encryption`]: AES-256-GCM of secret values at rest, key rings, rotation;
//! - [`events`]: structured events and operation counters (logger and metrics);
//! - [`backup`]: the portable JSONL backup format of exported records;
//! - [`metrics`]: Prometheus text exposition.
//! - [`limits`]: the most one call may hand the store (sizes, batch lengths);
//! - [`ownership`]: one process per session id (leases, renewal, fencing).
//!
//! `node` holds the napi bindings and nothing else.

pub mod backend;
pub mod backup;
pub mod cache_layer;
pub mod codec;
pub mod config;
pub mod domain;
pub mod encryption;
pub mod error;
pub mod events;
pub mod metrics;
pub mod limits;
pub mod ownership;
#[cfg(test)]
mod codec_fuzz;
#[cfg(test)]
mod option_fuzz;
pub mod signal_cache;
pub mod write_behind;

// The bindings only exist in the addon; `cargo test` exercises the core alone.
#[cfg(not(test))]
mod node;
