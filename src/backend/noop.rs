//! The `'none'` provider: mailbox domains and caches that keep nothing
//! (zapo's `noop.store.ts`). Writes succeed, reads miss, counts are 0.

use async_trait::async_trait;

use crate::domain::app_state::*;
use crate::domain::auth::AuthStore;
use crate::domain::chat_metadata::*;
use crate::domain::contacts::*;
use crate::domain::device_list::*;
use crate::domain::futures_close::CloseFuture;
use crate::domain::group_metadata::*;
use crate::domain::identity::IdentityStore;
use crate::domain::message_secret::*;
use crate::domain::messages::*;
use crate::domain::pre_key::*;
use crate::domain::privacy_token::*;
use crate::domain::retry::*;
use crate::domain::sender_key::*;
use crate::domain::session::SessionStore;
use crate::domain::signal::*;
use crate::domain::threads::*;
use crate::domain::{Backend, Blob, CacheTtls, SignalAddress};
use crate::error::StoreResult;

/// Keeps nothing. Only routed to mailbox and cache domains by `createStore`;
/// the Signal-side traits exist so it is a complete [`Backend`].
pub struct NoopBackend {
    ttls: CacheTtls,
    events: crate::events::Events,
}

impl Default for NoopBackend {
    fn default() -> Self {
        Self::new(CacheTtls::default())
    }
}

impl NoopBackend {
    pub fn new(ttls: CacheTtls) -> Self {
        Self { ttls, events: crate::events::Events::new("none") }
    }
}

impl Backend for NoopBackend {
    fn kind(&self) -> &'static str {
        "none"
    }
    fn events(&self) -> &crate::events::Events {
        &self.events
    }
    fn close(&self) -> CloseFuture<'_> {
        Box::pin(async { Ok(()) })
    }
}

#[async_trait]
impl AuthStore for NoopBackend {
    async fn load(&self, _: &str) -> StoreResult<Option<Blob>> {
        Ok(None)
    }
    async fn save(&self, _: &str, _: Blob) -> StoreResult<()> {
        Ok(())
    }
    async fn clear(&self, _: &str) -> StoreResult<()> {
        Ok(())
    }
}

#[async_trait]
impl SignalStore for NoopBackend {
    async fn get_registration_info(&self, _: &str) -> StoreResult<Option<RegistrationInfo>> {
        Ok(None)
    }
    async fn set_registration_info(&self, _: &str, _: RegistrationInfo) -> StoreResult<()> {
        Ok(())
    }
    async fn get_signed_pre_key(&self, _: &str) -> StoreResult<Option<SignedPreKey>> {
        Ok(None)
    }
    async fn set_signed_pre_key(&self, _: &str, _: SignedPreKey) -> StoreResult<()> {
        Ok(())
    }
    async fn get_signed_pre_key_by_id(&self, _: &str, _: u32) -> StoreResult<Option<SignedPreKey>> {
        Ok(None)
    }
    async fn set_signed_pre_key_rotation_ts(&self, _: &str, _: Option<i64>) -> StoreResult<()> {
        Ok(())
    }
    async fn get_signed_pre_key_rotation_ts(&self, _: &str) -> StoreResult<Option<i64>> {
        Ok(None)
    }
    async fn clear(&self, _: &str) -> StoreResult<()> {
        Ok(())
    }
}

#[async_trait]
impl PreKeyStore for NoopBackend {
    async fn put_pre_key(&self, _: &str, _: PreKey) -> StoreResult<()> {
        Ok(())
    }
    async fn reserve_pre_keys(&self, _: &str, _: u32) -> StoreResult<PreKeyReservation> {
        Ok(PreKeyReservation::default())
    }
    async fn insert_generated_pre_keys(&self, _: &str, records: Vec<PreKey>) -> StoreResult<u32> {
        Ok(records.len() as u32)
    }
    async fn get_pre_key_by_id(&self, _: &str, _: u32) -> StoreResult<Option<PreKey>> {
        Ok(None)
    }
    async fn get_pre_keys_by_id(&self, _: &str, ids: &[u32]) -> StoreResult<Vec<Option<PreKey>>> {
        Ok(vec![None; ids.len()])
    }
    async fn consume_pre_key_by_id(&self, _: &str, _: u32) -> StoreResult<Option<PreKey>> {
        Ok(None)
    }
    async fn mark_key_as_uploaded(&self, _: &str, _: u32) -> StoreResult<()> {
        Ok(())
    }
    async fn set_server_has_pre_keys(&self, _: &str, _: bool) -> StoreResult<()> {
        Ok(())
    }
    async fn get_server_has_pre_keys(&self, _: &str) -> StoreResult<bool> {
        Ok(false)
    }
    async fn clear(&self, _: &str) -> StoreResult<()> {
        Ok(())
    }
}

#[async_trait]
impl SessionStore for NoopBackend {
    async fn has_sessions(&self, _: &str, a: &[SignalAddress]) -> StoreResult<Vec<bool>> {
        Ok(vec![false; a.len()])
    }
    async fn get_sessions(&self, _: &str, a: &[SignalAddress]) -> StoreResult<Vec<Option<Blob>>> {
        Ok(vec![None; a.len()])
    }
    async fn set_sessions(&self, _: &str, _: Vec<(SignalAddress, Blob)>) -> StoreResult<()> {
        Ok(())
    }
    async fn delete_session(&self, _: &str, _: &SignalAddress) -> StoreResult<()> {
        Ok(())
    }
    async fn clear(&self, _: &str) -> StoreResult<()> {
        Ok(())
    }
}

#[async_trait]
impl IdentityStore for NoopBackend {
    async fn get_remote_identities(&self, _: &str, a: &[SignalAddress]) -> StoreResult<Vec<Option<Vec<u8>>>> {
        Ok(vec![None; a.len()])
    }
    async fn set_remote_identities(&self, _: &str, _: Vec<(SignalAddress, Vec<u8>)>) -> StoreResult<()> {
        Ok(())
    }
    async fn clear(&self, _: &str) -> StoreResult<()> {
        Ok(())
    }
}

#[async_trait]
impl SenderKeyStore for NoopBackend {
    async fn upsert_sender_key(&self, _: &str, _: SenderKey) -> StoreResult<()> {
        Ok(())
    }
    async fn upsert_sender_key_distributions(&self, _: &str, _: Vec<SenderKeyDistribution>) -> StoreResult<()> {
        Ok(())
    }
    async fn get_group_sender_keys(&self, _: &str, _: &str) -> StoreResult<GroupSenderKeys> {
        Ok(GroupSenderKeys::default())
    }
    async fn get_device_sender_key(&self, _: &str, _: &str, _: &SignalAddress) -> StoreResult<Option<SenderKey>> {
        Ok(None)
    }
    async fn get_device_sender_key_distributions(&self, _: &str, _: &str, s: &[SignalAddress]) -> StoreResult<Vec<Option<SenderKeyDistribution>>> {
        Ok(vec![None; s.len()])
    }
    async fn delete_device_sender_key(&self, _: &str, _: &SignalAddress, _: Option<&str>) -> StoreResult<u32> {
        Ok(0)
    }
    async fn mark_forget_sender_key(&self, _: &str, _: &str, _: &[SignalAddress]) -> StoreResult<u32> {
        Ok(0)
    }
    async fn clear(&self, _: &str) -> StoreResult<()> {
        Ok(())
    }
}

#[async_trait]
impl AppStateStore for NoopBackend {
    async fn export_data(&self, _: &str) -> StoreResult<AppStateExport> {
        Ok(AppStateExport::default())
    }
    async fn upsert_sync_keys(&self, _: &str, _: Vec<SyncKey>) -> StoreResult<u32> {
        Ok(0)
    }
    async fn get_sync_keys(&self, _: &str, ids: &[Vec<u8>]) -> StoreResult<Vec<Option<SyncKey>>> {
        Ok(vec![None; ids.len()])
    }
    async fn get_active_sync_key(&self, _: &str) -> StoreResult<Option<SyncKey>> {
        Ok(None)
    }
    async fn get_collection_states(&self, _: &str, c: &[String]) -> StoreResult<Vec<CollectionState>> {
        Ok(c.iter().map(|_| CollectionState::empty()).collect())
    }
    async fn set_collection_states(&self, _: &str, _: Vec<CollectionUpdate>) -> StoreResult<()> {
        Ok(())
    }
    async fn clear(&self, _: &str) -> StoreResult<()> {
        Ok(())
    }
}

#[async_trait]
impl PrivacyTokenStore for NoopBackend {
    async fn upsert_privacy_tokens(&self, _: &str, _: Vec<PrivacyToken>) -> StoreResult<()> {
        Ok(())
    }
    async fn get_privacy_token(&self, _: &str, _: &str) -> StoreResult<Option<PrivacyToken>> {
        Ok(None)
    }
    async fn delete_privacy_token(&self, _: &str, _: &str) -> StoreResult<u32> {
        Ok(0)
    }
    async fn clear(&self, _: &str) -> StoreResult<()> {
        Ok(())
    }
}

#[async_trait]
impl MessageStore for NoopBackend {
    async fn upsert_messages(&self, _: &str, _: Vec<StoredMessage>) -> StoreResult<()> {
        Ok(())
    }
    async fn get_message(&self, _: &str, _: &str) -> StoreResult<Option<StoredMessage>> {
        Ok(None)
    }
    async fn list_messages_by_thread(&self, _: &str, _: &str, _: u32, _: Option<i64>) -> StoreResult<Vec<StoredMessage>> {
        Ok(Vec::new())
    }
    async fn list_messages_page(&self, _: &str, _: &str, _: u32, _: &PageStart) -> StoreResult<Vec<StoredMessage>> {
        Ok(Vec::new())
    }
    async fn delete_thread_messages(&self, _: &str, _: &str, _: &PageStart) -> StoreResult<u32> {
        Ok(0)
    }
    async fn delete_message(&self, _: &str, _: &str) -> StoreResult<u32> {
        Ok(0)
    }
    async fn clear(&self, _: &str) -> StoreResult<()> {
        Ok(())
    }
}

#[async_trait]
impl ThreadStore for NoopBackend {
    async fn upsert_threads(&self, _: &str, _: Vec<StoredThread>) -> StoreResult<()> {
        Ok(())
    }
    async fn get_thread(&self, _: &str, _: &str) -> StoreResult<Option<StoredThread>> {
        Ok(None)
    }
    async fn list_threads(&self, _: &str, _: u32) -> StoreResult<Vec<StoredThread>> {
        Ok(Vec::new())
    }
    async fn delete_thread(&self, _: &str, _: &str) -> StoreResult<u32> {
        Ok(0)
    }
    async fn clear(&self, _: &str) -> StoreResult<()> {
        Ok(())
    }
}

#[async_trait]
impl ContactStore for NoopBackend {
    async fn upsert_contacts(&self, _: &str, _: Vec<StoredContact>) -> StoreResult<()> {
        Ok(())
    }
    async fn get_contact(&self, _: &str, _: &str) -> StoreResult<Option<StoredContact>> {
        Ok(None)
    }
    async fn get_contact_by_phone_number(&self, _: &str, _: &str) -> StoreResult<Option<StoredContact>> {
        Ok(None)
    }
    async fn delete_contact(&self, _: &str, _: &str) -> StoreResult<u32> {
        Ok(0)
    }
    async fn clear(&self, _: &str) -> StoreResult<()> {
        Ok(())
    }
}

#[async_trait]
impl RetryStore for NoopBackend {
    async fn upsert_outbound_message(&self, _: &str, _: RetryOutboundMessage) -> StoreResult<()> {
        Ok(())
    }
    async fn get_outbound_message(&self, _: &str, _: &str) -> StoreResult<Option<RetryOutboundMessage>> {
        Ok(None)
    }
    async fn delete_outbound_message(&self, _: &str, _: &str) -> StoreResult<u32> {
        Ok(0)
    }
    async fn get_outbound_requester_status(&self, _: &str, _: &str, _: &str) -> StoreResult<Option<RequesterStatus>> {
        Ok(None)
    }
    async fn update_outbound_message_state(&self, _: &str, _: &str, _: &str, _: i64, _: i64) -> StoreResult<()> {
        Ok(())
    }
    async fn mark_outbound_requester_delivered(&self, _: &str, _: &str, _: &str, _: i64, _: i64) -> StoreResult<()> {
        Ok(())
    }
    /// As zapo's no-op retry store: 0, nothing is counted.
    async fn increment_inbound_counter(&self, _: &str, _: &str, _: &str, _: i64, _: i64) -> StoreResult<u32> {
        Ok(0)
    }
    async fn cleanup_expired(&self, _: &str, _: i64) -> StoreResult<u32> {
        Ok(0)
    }
    async fn clear(&self, _: &str) -> StoreResult<()> {
        Ok(())
    }
    fn retry_ttl_ms(&self) -> i64 {
        self.ttls.retry_ms
    }
    fn supports_raw_replay_payload(&self) -> bool {
        false
    }
}

#[async_trait]
impl GroupMetadataStore for NoopBackend {
    async fn upsert_group_metadata(&self, _: &str, _: GroupMetadata) -> StoreResult<()> {
        Ok(())
    }
    async fn get_group_metadata(&self, _: &str, _: &str, _: i64) -> StoreResult<Option<GroupMetadata>> {
        Ok(None)
    }
    async fn delete_group_metadata(&self, _: &str, _: &str) -> StoreResult<u32> {
        Ok(0)
    }
    async fn cleanup_expired_group_metadata(&self, _: &str, _: i64) -> StoreResult<u32> {
        Ok(0)
    }
    async fn clear(&self, _: &str) -> StoreResult<()> {
        Ok(())
    }
}

#[async_trait]
impl ChatMetadataStore for NoopBackend {
    async fn upsert_chat_metadata(&self, _: &str, _: ChatMetadata) -> StoreResult<()> {
        Ok(())
    }
    async fn get_chat_metadata(&self, _: &str, _: &str, _: i64) -> StoreResult<Option<ChatMetadata>> {
        Ok(None)
    }
    async fn delete_chat_metadata(&self, _: &str, _: &str) -> StoreResult<u32> {
        Ok(0)
    }
    async fn cleanup_expired_chat_metadata(&self, _: &str, _: i64) -> StoreResult<u32> {
        Ok(0)
    }
    async fn clear(&self, _: &str) -> StoreResult<()> {
        Ok(())
    }
}

#[async_trait]
impl DeviceListStore for NoopBackend {
    async fn upsert_user_devices(&self, _: &str, _: Vec<DeviceList>) -> StoreResult<()> {
        Ok(())
    }
    async fn get_user_devices(&self, _: &str, j: &[String], _: i64) -> StoreResult<Vec<Option<DeviceList>>> {
        Ok(vec![None; j.len()])
    }
    async fn find_by_any_user_jid(&self, _: &str, _: &str, _: i64) -> StoreResult<Option<DeviceList>> {
        Ok(None)
    }
    async fn delete_user_devices(&self, _: &str, _: &str) -> StoreResult<u32> {
        Ok(0)
    }
    async fn cleanup_expired_device_lists(&self, _: &str, _: i64) -> StoreResult<u32> {
        Ok(0)
    }
    async fn clear(&self, _: &str) -> StoreResult<()> {
        Ok(())
    }
}

#[async_trait]
impl MessageSecretStore for NoopBackend {
    async fn get_message_secrets(&self, _: &str, ids: &[String], _: i64) -> StoreResult<Vec<Option<MessageSecret>>> {
        Ok(vec![None; ids.len()])
    }
    async fn set_message_secrets(&self, _: &str, _: Vec<(String, MessageSecret)>, _: i64) -> StoreResult<()> {
        Ok(())
    }
    async fn cleanup_expired_message_secrets(&self, _: &str, _: i64) -> StoreResult<u32> {
        Ok(0)
    }
    async fn clear(&self, _: &str) -> StoreResult<()> {
        Ok(())
    }
}

#[async_trait]
impl crate::domain::keys::KeyStore for NoopBackend {
    async fn get_keys(&self, _: &str, _: &str, ids: &[String]) -> StoreResult<Vec<Option<Blob>>> {
        Ok(vec![None; ids.len()])
    }
    async fn write_keys(&self, _: &str, _: Vec<crate::domain::keys::KeyWrite>) -> StoreResult<()> {
        Ok(())
    }
    async fn list_keys(&self, _: &str, _: &str, _: Option<&str>, _: u32) -> StoreResult<Vec<(String, Blob)>> {
        Ok(Vec::new())
    }
    async fn list_key_ids(&self, _: &str, _: &str, _: Option<&str>, _: u32) -> StoreResult<Vec<String>> {
        Ok(Vec::new())
    }
    async fn list_key_types(&self, _: &str) -> StoreResult<Vec<String>> {
        Ok(Vec::new())
    }
    async fn clear_keys(&self, _: &str) -> StoreResult<()> {
        Ok(())
    }
}

#[async_trait]
impl crate::domain::signal_batch::SignalBatchStore for NoopBackend {
    async fn commit_signal_batch(
        &self,
        _: &[crate::domain::signal_batch::SessionWrite],
        _: &[crate::domain::lease::Fence],
    ) -> StoreResult<()> {
        Ok(())
    }
}

/// Nothing is stored, so there is nothing to own: every lease is granted.
#[async_trait]
impl crate::domain::lease::LeaseStore for NoopBackend {
    async fn acquire_lease(
        &self,
        _: &str,
        _: &crate::domain::lease::LeaseOwner,
        lease_ms: u64,
    ) -> StoreResult<crate::domain::lease::Acquired> {
        let expires_at_ms = crate::domain::now_ms().saturating_add(lease_ms as i64);
        Ok(crate::domain::lease::Acquired::Granted(crate::domain::lease::Lease { token: 1, expires_at_ms }))
    }
    async fn renew_lease(&self, _: &str, token: u64, lease_ms: u64) -> StoreResult<crate::domain::lease::Renewed> {
        let expires_at_ms = crate::domain::now_ms().saturating_add(lease_ms as i64);
        Ok(crate::domain::lease::Renewed::Renewed(crate::domain::lease::Lease { token, expires_at_ms }))
    }
    async fn release_lease(&self, _: &str, _: u64) -> StoreResult<()> {
        Ok(())
    }
}

#[async_trait]
impl crate::domain::snapshot::SnapshotStore for NoopBackend {
    async fn list_session_ids(&self, _: Option<&str>, _: u32) -> StoreResult<Vec<String>> {
        Ok(Vec::new())
    }
    async fn count_records(&self, _: &str) -> StoreResult<Vec<crate::domain::snapshot::KindCount>> {
        Ok(crate::domain::snapshot::count_of(std::iter::empty()))
    }
    async fn export_kind(
        &self,
        _: &str,
        _: crate::domain::snapshot::RecordKind,
        _: Option<&crate::domain::snapshot::SortKey>,
        _: u32,
    ) -> StoreResult<Vec<crate::domain::snapshot::Record>> {
        Ok(Vec::new())
    }
    async fn import_exact(&self, _: &str, _: Vec<crate::domain::snapshot::Record>) -> StoreResult<()> {
        Ok(())
    }
}
