//! The domains [`super::EncryptedBackend`] does not encrypt (mailbox,
//! privacy tokens, caches) and the snapshot API, forwarded unchanged. Export
//! forwards too: it carries the stored bytes, so sealed values leave sealed.

use async_trait::async_trait;

use super::EncryptedBackend;
use crate::domain::chat_metadata::{ChatMetadata, ChatMetadataStore};
use crate::domain::contacts::{ContactStore, StoredContact};
use crate::domain::device_list::{DeviceList, DeviceListStore};
use crate::domain::group_metadata::{GroupMetadata, GroupMetadataStore};
use crate::domain::lease::{Acquired, LeaseOwner, LeaseStore, Renewed};
use crate::domain::message_secret::{MessageSecret, MessageSecretStore};
use crate::domain::messages::{MessageStore, PageStart, StoredMessage};
use crate::domain::privacy_token::{PrivacyToken, PrivacyTokenStore};
use crate::domain::retry::{RequesterStatus, RetryOutboundMessage, RetryStore};
use crate::domain::snapshot::{Cursor, ExportPage, KindCount, Record, RecordKind, SnapshotStore, SortKey};
use crate::domain::threads::{StoredThread, ThreadStore};
use crate::error::StoreResult;

#[async_trait]
impl PrivacyTokenStore for EncryptedBackend {
    async fn upsert_privacy_tokens(&self, sid: &str, records: Vec<PrivacyToken>) -> StoreResult<()> {
        self.inner.upsert_privacy_tokens(sid, records).await
    }
    async fn get_privacy_token(&self, sid: &str, jid: &str) -> StoreResult<Option<PrivacyToken>> {
        self.inner.get_privacy_token(sid, jid).await
    }
    async fn delete_privacy_token(&self, sid: &str, jid: &str) -> StoreResult<u32> {
        self.inner.delete_privacy_token(sid, jid).await
    }
    async fn clear(&self, sid: &str) -> StoreResult<()> {
        PrivacyTokenStore::clear(&*self.inner, sid).await
    }
}

#[async_trait]
impl MessageStore for EncryptedBackend {
    async fn upsert_messages(&self, sid: &str, records: Vec<StoredMessage>) -> StoreResult<()> {
        self.inner.upsert_messages(sid, records).await
    }
    async fn get_message(&self, sid: &str, id: &str) -> StoreResult<Option<StoredMessage>> {
        self.inner.get_message(sid, id).await
    }
    async fn list_messages_by_thread(
        &self,
        sid: &str,
        thread_jid: &str,
        limit: u32,
        before_timestamp_ms: Option<i64>,
    ) -> StoreResult<Vec<StoredMessage>> {
        self.inner.list_messages_by_thread(sid, thread_jid, limit, before_timestamp_ms).await
    }
    async fn list_messages_page(
        &self,
        sid: &str,
        thread_jid: &str,
        limit: u32,
        start: &PageStart,
    ) -> StoreResult<Vec<StoredMessage>> {
        self.inner.list_messages_page(sid, thread_jid, limit, start).await
    }
    async fn delete_thread_messages(&self, sid: &str, thread_jid: &str, start: &PageStart) -> StoreResult<u32> {
        self.inner.delete_thread_messages(sid, thread_jid, start).await
    }
    async fn delete_message(&self, sid: &str, id: &str) -> StoreResult<u32> {
        self.inner.delete_message(sid, id).await
    }
    async fn clear(&self, sid: &str) -> StoreResult<()> {
        MessageStore::clear(&*self.inner, sid).await
    }
}

#[async_trait]
impl ThreadStore for EncryptedBackend {
    async fn upsert_threads(&self, sid: &str, records: Vec<StoredThread>) -> StoreResult<()> {
        self.inner.upsert_threads(sid, records).await
    }
    async fn get_thread(&self, sid: &str, jid: &str) -> StoreResult<Option<StoredThread>> {
        self.inner.get_thread(sid, jid).await
    }
    async fn list_threads(&self, sid: &str, limit: u32) -> StoreResult<Vec<StoredThread>> {
        self.inner.list_threads(sid, limit).await
    }
    async fn delete_thread(&self, sid: &str, jid: &str) -> StoreResult<u32> {
        self.inner.delete_thread(sid, jid).await
    }
    async fn clear(&self, sid: &str) -> StoreResult<()> {
        ThreadStore::clear(&*self.inner, sid).await
    }
}

#[async_trait]
impl ContactStore for EncryptedBackend {
    async fn upsert_contacts(&self, sid: &str, records: Vec<StoredContact>) -> StoreResult<()> {
        self.inner.upsert_contacts(sid, records).await
    }
    async fn get_contact(&self, sid: &str, jid: &str) -> StoreResult<Option<StoredContact>> {
        self.inner.get_contact(sid, jid).await
    }
    async fn get_contact_by_phone_number(&self, sid: &str, phone_number: &str) -> StoreResult<Option<StoredContact>> {
        self.inner.get_contact_by_phone_number(sid, phone_number).await
    }
    async fn delete_contact(&self, sid: &str, jid: &str) -> StoreResult<u32> {
        self.inner.delete_contact(sid, jid).await
    }
    async fn clear(&self, sid: &str) -> StoreResult<()> {
        ContactStore::clear(&*self.inner, sid).await
    }
}

#[async_trait]
impl RetryStore for EncryptedBackend {
    async fn upsert_outbound_message(&self, sid: &str, record: RetryOutboundMessage) -> StoreResult<()> {
        self.inner.upsert_outbound_message(sid, record).await
    }
    async fn get_outbound_message(&self, sid: &str, message_id: &str) -> StoreResult<Option<RetryOutboundMessage>> {
        self.inner.get_outbound_message(sid, message_id).await
    }
    async fn delete_outbound_message(&self, sid: &str, message_id: &str) -> StoreResult<u32> {
        self.inner.delete_outbound_message(sid, message_id).await
    }
    async fn get_outbound_requester_status(
        &self,
        sid: &str,
        message_id: &str,
        requester_device_jid: &str,
    ) -> StoreResult<Option<RequesterStatus>> {
        self.inner.get_outbound_requester_status(sid, message_id, requester_device_jid).await
    }
    async fn update_outbound_message_state(
        &self,
        sid: &str,
        message_id: &str,
        state: &str,
        updated_at_ms: i64,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        self.inner.update_outbound_message_state(sid, message_id, state, updated_at_ms, expires_at_ms).await
    }
    async fn mark_outbound_requester_delivered(
        &self,
        sid: &str,
        message_id: &str,
        requester_device_jid: &str,
        updated_at_ms: i64,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        self.inner
            .mark_outbound_requester_delivered(sid, message_id, requester_device_jid, updated_at_ms, expires_at_ms)
            .await
    }
    async fn increment_inbound_counter(
        &self,
        sid: &str,
        message_id: &str,
        requester_jid: &str,
        updated_at_ms: i64,
        expires_at_ms: i64,
    ) -> StoreResult<u32> {
        self.inner.increment_inbound_counter(sid, message_id, requester_jid, updated_at_ms, expires_at_ms).await
    }
    async fn cleanup_expired(&self, sid: &str, now_ms: i64) -> StoreResult<u32> {
        self.inner.cleanup_expired(sid, now_ms).await
    }
    async fn clear(&self, sid: &str) -> StoreResult<()> {
        RetryStore::clear(&*self.inner, sid).await
    }
    fn retry_ttl_ms(&self) -> i64 {
        self.inner.retry_ttl_ms()
    }
    fn supports_raw_replay_payload(&self) -> bool {
        self.inner.supports_raw_replay_payload()
    }
}

#[async_trait]
impl GroupMetadataStore for EncryptedBackend {
    async fn upsert_group_metadata(&self, sid: &str, snapshot: GroupMetadata) -> StoreResult<()> {
        self.inner.upsert_group_metadata(sid, snapshot).await
    }
    async fn get_group_metadata(&self, sid: &str, group_jid: &str, now_ms: i64) -> StoreResult<Option<GroupMetadata>> {
        self.inner.get_group_metadata(sid, group_jid, now_ms).await
    }
    async fn delete_group_metadata(&self, sid: &str, group_jid: &str) -> StoreResult<u32> {
        self.inner.delete_group_metadata(sid, group_jid).await
    }
    async fn cleanup_expired_group_metadata(&self, sid: &str, now_ms: i64) -> StoreResult<u32> {
        self.inner.cleanup_expired_group_metadata(sid, now_ms).await
    }
    async fn clear(&self, sid: &str) -> StoreResult<()> {
        GroupMetadataStore::clear(&*self.inner, sid).await
    }
}

#[async_trait]
impl ChatMetadataStore for EncryptedBackend {
    async fn upsert_chat_metadata(&self, sid: &str, snapshot: ChatMetadata) -> StoreResult<()> {
        self.inner.upsert_chat_metadata(sid, snapshot).await
    }
    async fn get_chat_metadata(&self, sid: &str, chat_jid: &str, now_ms: i64) -> StoreResult<Option<ChatMetadata>> {
        self.inner.get_chat_metadata(sid, chat_jid, now_ms).await
    }
    async fn delete_chat_metadata(&self, sid: &str, chat_jid: &str) -> StoreResult<u32> {
        self.inner.delete_chat_metadata(sid, chat_jid).await
    }
    async fn cleanup_expired_chat_metadata(&self, sid: &str, now_ms: i64) -> StoreResult<u32> {
        self.inner.cleanup_expired_chat_metadata(sid, now_ms).await
    }
    async fn clear(&self, sid: &str) -> StoreResult<()> {
        ChatMetadataStore::clear(&*self.inner, sid).await
    }
}

#[async_trait]
impl DeviceListStore for EncryptedBackend {
    async fn upsert_user_devices(&self, sid: &str, snapshots: Vec<DeviceList>) -> StoreResult<()> {
        self.inner.upsert_user_devices(sid, snapshots).await
    }
    async fn get_user_devices(&self, sid: &str, user_jids: &[String], now_ms: i64) -> StoreResult<Vec<Option<DeviceList>>> {
        self.inner.get_user_devices(sid, user_jids, now_ms).await
    }
    async fn find_by_any_user_jid(&self, sid: &str, jid: &str, now_ms: i64) -> StoreResult<Option<DeviceList>> {
        self.inner.find_by_any_user_jid(sid, jid, now_ms).await
    }
    async fn delete_user_devices(&self, sid: &str, user_jid: &str) -> StoreResult<u32> {
        self.inner.delete_user_devices(sid, user_jid).await
    }
    async fn cleanup_expired_device_lists(&self, sid: &str, now_ms: i64) -> StoreResult<u32> {
        self.inner.cleanup_expired_device_lists(sid, now_ms).await
    }
    async fn clear(&self, sid: &str) -> StoreResult<()> {
        DeviceListStore::clear(&*self.inner, sid).await
    }
}

#[async_trait]
impl MessageSecretStore for EncryptedBackend {
    async fn get_message_secrets(&self, sid: &str, message_ids: &[String], now_ms: i64) -> StoreResult<Vec<Option<MessageSecret>>> {
        self.inner.get_message_secrets(sid, message_ids, now_ms).await
    }
    async fn set_message_secrets(&self, sid: &str, entries: Vec<(String, MessageSecret)>, now_ms: i64) -> StoreResult<()> {
        self.inner.set_message_secrets(sid, entries, now_ms).await
    }
    async fn cleanup_expired_message_secrets(&self, sid: &str, now_ms: i64) -> StoreResult<u32> {
        self.inner.cleanup_expired_message_secrets(sid, now_ms).await
    }
    async fn clear(&self, sid: &str) -> StoreResult<()> {
        MessageSecretStore::clear(&*self.inner, sid).await
    }
}

#[async_trait]
impl SnapshotStore for EncryptedBackend {
    async fn list_session_ids(&self, after: Option<&str>, limit: u32) -> StoreResult<Vec<String>> {
        self.inner.list_session_ids(after, limit).await
    }
    async fn count_records(&self, sid: &str) -> StoreResult<Vec<KindCount>> {
        self.inner.count_records(sid).await
    }
    async fn export_kind(&self, sid: &str, kind: RecordKind, after: Option<&SortKey>, limit: u32) -> StoreResult<Vec<Record>> {
        self.inner.export_kind(sid, kind, after, limit).await
    }
    async fn export_page(&self, sid: &str, after: Option<&Cursor>, limit: u32) -> StoreResult<ExportPage> {
        self.inner.export_page(sid, after, limit).await
    }
    async fn import_exact(&self, sid: &str, records: Vec<Record>) -> StoreResult<()> {
        self.inner.import_exact(sid, records).await
    }
}

/// Leases hold no secrets: forwarded, so ownership works over an encrypted store.
#[async_trait]
impl LeaseStore for EncryptedBackend {
    async fn acquire_lease(&self, sid: &str, owner: &LeaseOwner, lease_ms: u64) -> StoreResult<Acquired> {
        self.inner.acquire_lease(sid, owner, lease_ms).await
    }
    async fn renew_lease(&self, sid: &str, token: u64, lease_ms: u64) -> StoreResult<Renewed> {
        self.inner.renew_lease(sid, token, lease_ms).await
    }
    async fn release_lease(&self, sid: &str, token: u64) -> StoreResult<()> {
        self.inner.release_lease(sid, token).await
    }
}
