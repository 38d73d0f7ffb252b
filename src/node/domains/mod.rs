//! One JS class per domain, grouped by area.

pub mod app_state;
pub mod caches;
pub mod mailbox;
pub mod pre_key;
pub mod signal_keys;
