//! `threads`: the chat list, merged field by field.

use super::StoreResult;
use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct StoredThread {
    pub jid: String,
    pub name: Option<String>,
    pub unread_count: Option<i64>,
    pub archived: Option<bool>,
    pub pinned: Option<i64>,
    pub mute_end_ms: Option<i64>,
    pub marked_as_unread: Option<bool>,
    pub ephemeral_expiration: Option<i64>,
    pub ephemeral_setting_timestamp: Option<i64>,
}

impl StoredThread {
    /// Field-level merge (SQL `COALESCE(excluded.x, x)`): absent incoming fields keep stored values.
    pub fn merge_from(&mut self, incoming: StoredThread) {
        self.name = incoming.name.or(self.name.take());
        self.unread_count = incoming.unread_count.or(self.unread_count);
        self.archived = incoming.archived.or(self.archived);
        self.pinned = incoming.pinned.or(self.pinned);
        self.mute_end_ms = incoming.mute_end_ms.or(self.mute_end_ms);
        self.marked_as_unread = incoming.marked_as_unread.or(self.marked_as_unread);
        self.ephemeral_expiration = incoming.ephemeral_expiration.or(self.ephemeral_expiration);
        self.ephemeral_setting_timestamp = incoming.ephemeral_setting_timestamp.or(self.ephemeral_setting_timestamp);
    }
}

#[async_trait]
pub trait ThreadStore: Send + Sync {
    async fn upsert_threads(&self, sid: &str, records: Vec<StoredThread>) -> StoreResult<()>;
    async fn get_thread(&self, sid: &str, jid: &str) -> StoreResult<Option<StoredThread>>;
    /// At most `limit` threads (validated positive by the caller); order is unspecified.
    async fn list_threads(&self, sid: &str, limit: u32) -> StoreResult<Vec<StoredThread>>;
    async fn delete_thread(&self, sid: &str, jid: &str) -> StoreResult<u32>;
    async fn clear(&self, sid: &str) -> StoreResult<()>;
}
