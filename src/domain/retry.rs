//! `retry` cache: outbound messages kept for retry receipts, and inbound retry counters.

use super::{Blob, StoreResult};
use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryOutboundMessage {
    pub message_id: String,
    pub to_jid: String,
    pub eligible_requester_device_jids: Option<Vec<String>>,
    pub delivered_requester_device_jids: Option<Vec<String>>,
    /// `'plaintext' | 'encrypted' | 'opaque_node'`.
    pub replay_mode: String,
    /// The replay payload (bytes or an object) as a WSV blob.
    pub replay_payload: Blob,
    /// `'pending' | 'delivered' | 'read' | 'played' | 'ineligible'`.
    pub state: String,
    pub updated_at_ms: i64,
    pub expires_at_ms: i64,
}

impl RetryOutboundMessage {
    /// zapo's `getOutboundRequesterStatus` for this record.
    pub fn requester_status(&self, requester: &str) -> Option<RequesterStatus> {
        requester_status(self.eligible_requester_device_jids.as_deref(), self.delivered_requester_device_jids.as_deref(), requester)
    }

    /// Adds `requester` to the delivered list (once) and moves the timestamps.
    pub fn mark_delivered(&mut self, requester: &str, updated_at_ms: i64, expires_at_ms: i64) {
        add_delivered(self.delivered_requester_device_jids.get_or_insert_with(Vec::new), requester);
        self.updated_at_ms = updated_at_ms;
        self.expires_at_ms = expires_at_ms;
    }
}

/// Records `requester` in a delivered list, once.
pub fn add_delivered(delivered: &mut Vec<String>, requester: &str) {
    if !delivered.iter().any(|j| j == requester) {
        delivered.push(requester.to_owned());
    }
}

/// zapo's `getOutboundRequesterStatus` rule: `None` without a (non-empty)
/// eligible list; otherwise whether `requester` is eligible and delivered.
pub fn requester_status(eligible: Option<&[String]>, delivered: Option<&[String]>, requester: &str) -> Option<RequesterStatus> {
    let eligible = eligible.filter(|e| !e.is_empty())?;
    if !eligible.iter().any(|j| j == requester) {
        return Some(RequesterStatus { eligible: false, delivered: false });
    }
    let delivered = delivered.is_some_and(|d| d.iter().any(|j| j == requester));
    Some(RequesterStatus { eligible: true, delivered })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequesterStatus {
    pub eligible: bool,
    pub delivered: bool,
}

#[async_trait]
pub trait RetryStore: Send + Sync {
    async fn upsert_outbound_message(&self, sid: &str, record: RetryOutboundMessage) -> StoreResult<()>;
    async fn get_outbound_message(&self, sid: &str, message_id: &str) -> StoreResult<Option<RetryOutboundMessage>>;
    async fn delete_outbound_message(&self, sid: &str, message_id: &str) -> StoreResult<u32>;
    async fn get_outbound_requester_status(&self, sid: &str, message_id: &str, requester_device_jid: &str) -> StoreResult<Option<RequesterStatus>>;
    /// No-op when the message is unknown.
    async fn update_outbound_message_state(&self, sid: &str, message_id: &str, state: &str, updated_at_ms: i64, expires_at_ms: i64) -> StoreResult<()>;
    /// No-op when the message is unknown. Atomic read-modify-write.
    async fn mark_outbound_requester_delivered(&self, sid: &str, message_id: &str, requester_device_jid: &str, updated_at_ms: i64, expires_at_ms: i64) -> StoreResult<()>;
    /// Atomic; returns the new count (1 for the first call). An expired counter restarts at 1.
    async fn increment_inbound_counter(&self, sid: &str, message_id: &str, requester_jid: &str, updated_at_ms: i64, expires_at_ms: i64) -> StoreResult<u32>;
    /// Deletes outbound messages and counters with `expires_at_ms <= now_ms`; returns how many.
    async fn cleanup_expired(&self, sid: &str, now_ms: i64) -> StoreResult<u32>;
    async fn clear(&self, sid: &str) -> StoreResult<()>;
    /// The TTL this backend was configured with (`getTtlMs()`).
    fn retry_ttl_ms(&self) -> i64;
    /// `supportsRawReplayPayload()`: whether payload objects are kept as objects.
    fn supports_raw_replay_payload(&self) -> bool;
}
