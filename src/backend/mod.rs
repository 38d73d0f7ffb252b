//! Backends: each implements every domain trait of [`crate::domain`].

#[cfg(test)]
pub mod conformance;
#[cfg(test)]
pub mod dead_runs;
pub mod dedupe;
pub mod json_list;
pub mod memory;
pub mod message_ranges;
pub mod mongo;
pub mod noop;
pub mod pool;
pub mod mysql;
pub mod postgres;
pub mod redis;
pub mod sqlite;
