//! `session`: Signal session records (opaque WSV blobs) per remote address.

use super::{Blob, SignalAddress, StoreResult};
use async_trait::async_trait;

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn has_sessions(&self, sid: &str, addresses: &[SignalAddress]) -> StoreResult<Vec<bool>>;
    /// Positional, `None` for misses.
    async fn get_sessions(&self, sid: &str, addresses: &[SignalAddress]) -> StoreResult<Vec<Option<Blob>>>;
    /// All-or-nothing upsert of every entry (later duplicates win).
    async fn set_sessions(&self, sid: &str, entries: Vec<(SignalAddress, Blob)>) -> StoreResult<()>;
    async fn delete_session(&self, sid: &str, address: &SignalAddress) -> StoreResult<()>;
    async fn clear(&self, sid: &str) -> StoreResult<()>;
}
