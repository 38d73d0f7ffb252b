//! `chatMetadata` cache: per-chat ephemeral settings. Expires at `updated_at_ms + ttl`.

use super::StoreResult;
use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMetadata {
    pub chat_jid: String,
    pub ephemeral_expiration: Option<i64>,
    pub ephemeral_setting_timestamp: Option<i64>,
    pub updated_at_ms: i64,
}

#[async_trait]
pub trait ChatMetadataStore: Send + Sync {
    async fn upsert_chat_metadata(&self, sid: &str, snapshot: ChatMetadata) -> StoreResult<()>;
    async fn get_chat_metadata(&self, sid: &str, chat_jid: &str, now_ms: i64) -> StoreResult<Option<ChatMetadata>>;
    async fn delete_chat_metadata(&self, sid: &str, chat_jid: &str) -> StoreResult<u32>;
    async fn cleanup_expired_chat_metadata(&self, sid: &str, now_ms: i64) -> StoreResult<u32>;
    async fn clear(&self, sid: &str) -> StoreResult<()>;
}
