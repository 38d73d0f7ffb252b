//! `auth`: the device credentials, one snapshot per session.

use super::{Blob, StoreResult};
use async_trait::async_trait;

#[async_trait]
pub trait AuthStore: Send + Sync {
    /// The last saved credentials (a WSV blob of the whole object), or `None`.
    async fn load(&self, sid: &str) -> StoreResult<Option<Blob>>;
    /// Replaces the whole snapshot atomically.
    async fn save(&self, sid: &str, credentials: Blob) -> StoreResult<()>;
    async fn clear(&self, sid: &str) -> StoreResult<()>;
}
