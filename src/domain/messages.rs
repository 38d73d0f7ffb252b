//! `messages`: the message archive.

use super::StoreResult;
use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub id: String,
    pub thread_jid: String,
    pub sender_jid: Option<String>,
    pub participant_jid: Option<String>,
    pub from_me: bool,
    pub timestamp_ms: Option<i64>,
    pub message_bytes: Option<Vec<u8>>,
}

#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Full replace per id (a message may move thread), all in one transaction.
    async fn upsert_messages(&self, sid: &str, records: Vec<StoredMessage>) -> StoreResult<()>;
    async fn get_message(&self, sid: &str, id: &str) -> StoreResult<Option<StoredMessage>>;
    /// Newest first (`timestamp_ms DESC, id DESC`); with `before`, only
    /// messages with a timestamp strictly below it (undefined timestamps are
    /// dropped). `limit` is validated positive by the caller.
    async fn list_messages_by_thread(&self, sid: &str, thread_jid: &str, limit: u32, before_timestamp_ms: Option<i64>) -> StoreResult<Vec<StoredMessage>>;
    async fn delete_message(&self, sid: &str, id: &str) -> StoreResult<u32>;
    async fn clear(&self, sid: &str) -> StoreResult<()>;
}
