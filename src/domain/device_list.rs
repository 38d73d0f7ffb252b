//! `deviceList` cache: a user's device JIDs, findable by PN or LID form. Expires at `updated_at_ms + ttl`.

use super::StoreResult;
use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceList {
    pub user_jid: String,
    pub alt_user_jid: Option<String>,
    pub device_jids: Vec<String>,
    pub updated_at_ms: i64,
}

#[async_trait]
pub trait DeviceListStore: Send + Sync {
    /// All-or-nothing upsert (later duplicates win).
    async fn upsert_user_devices(&self, sid: &str, snapshots: Vec<DeviceList>) -> StoreResult<()>;
    /// Positional, `None` for misses and expired entries.
    async fn get_user_devices(&self, sid: &str, user_jids: &[String], now_ms: i64) -> StoreResult<Vec<Option<DeviceList>>>;
    /// Matches `user_jid` first, then `alt_user_jid`.
    async fn find_by_any_user_jid(&self, sid: &str, jid: &str, now_ms: i64) -> StoreResult<Option<DeviceList>>;
    async fn delete_user_devices(&self, sid: &str, user_jid: &str) -> StoreResult<u32>;
    async fn cleanup_expired_device_lists(&self, sid: &str, now_ms: i64) -> StoreResult<u32>;
    async fn clear(&self, sid: &str) -> StoreResult<()>;
}
