//! `groupMetadata` cache: participants and ephemeral settings per group. Expires at `updated_at_ms + ttl`.

use super::StoreResult;
use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMetadata {
    pub group_jid: String,
    pub participants: Vec<String>,
    pub ephemeral: Option<i64>,
    pub ephemeral_trigger: Option<i64>,
    pub updated_at_ms: i64,
}

#[async_trait]
pub trait GroupMetadataStore: Send + Sync {
    async fn upsert_group_metadata(&self, sid: &str, snapshot: GroupMetadata) -> StoreResult<()>;
    /// `None` when absent or expired at `now_ms` (an expired row may be deleted).
    async fn get_group_metadata(&self, sid: &str, group_jid: &str, now_ms: i64) -> StoreResult<Option<GroupMetadata>>;
    async fn delete_group_metadata(&self, sid: &str, group_jid: &str) -> StoreResult<u32>;
    async fn cleanup_expired_group_metadata(&self, sid: &str, now_ms: i64) -> StoreResult<u32>;
    async fn clear(&self, sid: &str) -> StoreResult<()>;
}
