//! `senderKey`: group sender-key records and their distribution markers.

use super::{Blob, SignalAddress, StoreResult};
use async_trait::async_trait;

/// A sender-key record: `record` is the whole client object as a WSV blob;
/// `group_id` and `sender` are copied out of it to key the row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderKey {
    pub group_id: String,
    pub sender: SignalAddress,
    pub record: Blob,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderKeyDistribution {
    pub group_id: String,
    pub sender: SignalAddress,
    pub key_id: u32,
    pub timestamp_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupSenderKeys {
    pub sender_keys: Vec<SenderKey>,
    pub distributions: Vec<SenderKeyDistribution>,
}

#[async_trait]
pub trait SenderKeyStore: Send + Sync {
    /// Whole-record replace.
    async fn upsert_sender_key(&self, sid: &str, record: SenderKey) -> StoreResult<()>;
    async fn upsert_sender_key_distributions(&self, sid: &str, records: Vec<SenderKeyDistribution>) -> StoreResult<()>;
    async fn get_group_sender_keys(&self, sid: &str, group_id: &str) -> StoreResult<GroupSenderKeys>;
    async fn get_device_sender_key(&self, sid: &str, group_id: &str, sender: &SignalAddress) -> StoreResult<Option<SenderKey>>;
    /// Positional, `None` for misses.
    async fn get_device_sender_key_distributions(
        &self,
        sid: &str,
        group_id: &str,
        senders: &[SignalAddress],
    ) -> StoreResult<Vec<Option<SenderKeyDistribution>>>;
    /// Deletes the keys and distributions of `target` in `group_id`, or in every
    /// group when `None`. Returns how many rows (keys + distributions) went.
    async fn delete_device_sender_key(&self, sid: &str, target: &SignalAddress, group_id: Option<&str>) -> StoreResult<u32>;
    /// `delete_device_sender_key` for each participant in one group, as one operation.
    async fn mark_forget_sender_key(&self, sid: &str, group_id: &str, participants: &[SignalAddress]) -> StoreResult<u32>;
    async fn clear(&self, sid: &str) -> StoreResult<()>;
}
