//! `identity`: remote identity keys (serialized public keys) per address.

use super::{SignalAddress, StoreResult};
use async_trait::async_trait;

#[async_trait]
pub trait IdentityStore: Send + Sync {
    /// Positional, `None` for misses.
    async fn get_remote_identities(&self, sid: &str, addresses: &[SignalAddress]) -> StoreResult<Vec<Option<Vec<u8>>>>;
    /// All-or-nothing upsert (later duplicates win).
    async fn set_remote_identities(&self, sid: &str, entries: Vec<(SignalAddress, Vec<u8>)>) -> StoreResult<()>;
    async fn clear(&self, sid: &str) -> StoreResult<()>;
}
