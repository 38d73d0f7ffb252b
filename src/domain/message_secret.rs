//! `messageSecret` cache: per-message secrets. Expires at write time + ttl.

use super::StoreResult;
use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageSecret {
    pub secret: Vec<u8>,
    pub sender_jid: String,
}

#[async_trait]
pub trait MessageSecretStore: Send + Sync {
    /// Positional, `None` for misses and expired entries.
    async fn get_message_secrets(&self, sid: &str, message_ids: &[String], now_ms: i64) -> StoreResult<Vec<Option<MessageSecret>>>;
    /// Upserts every entry with `expires_at = now_ms + ttl`, all-or-nothing.
    async fn set_message_secrets(&self, sid: &str, entries: Vec<(String, MessageSecret)>, now_ms: i64) -> StoreResult<()>;
    async fn cleanup_expired_message_secrets(&self, sid: &str, now_ms: i64) -> StoreResult<u32>;
    async fn clear(&self, sid: &str) -> StoreResult<()>;
}
