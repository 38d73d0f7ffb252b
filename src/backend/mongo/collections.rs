//! The collections (one per record kind, named `<prefix><name>`) and the
//! secondary indexes each one needs.
//!
//! Every document of a per-session collection carries its session id in a
//! top-level `s` field, and every index starts with `s`, so `clear()` and the
//! per-session queries are index range scans on `s` equality. Singleton
//! collections (auth, signal meta, registration, signed pre-key) are keyed by
//! the session id alone and need no index. Cache collections also get a TTL
//! index on the `expires_at` Date (see `caches.rs` for why it trails the
//! numeric expiry).

use std::time::Duration;

use mongodb::bson::{doc, Document};
use mongodb::options::IndexOptions;
use mongodb::IndexModel;

/// Every collection the backend owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Auth,
    SignalMeta,
    SignalRegistration,
    SignalSignedPreKey,
    SignalPreKey,
    SignalSession,
    SignalIdentity,
    SenderKeys,
    SenderKeyDistribution,
    AppStateSyncKeys,
    AppStateCollectionVersions,
    AppStateIndexValues,
    RetryOutbound,
    RetryInbound,
    Messages,
    Threads,
    Contacts,
    PrivacyTokens,
    GroupMetadata,
    DeviceList,
    ChatMetadata,
    MessageSecrets,
    AdapterKeys,
    SessionLeases,
}

impl Kind {
    pub const ALL: [Kind; 24] = [
        Kind::Auth,
        Kind::SignalMeta,
        Kind::SignalRegistration,
        Kind::SignalSignedPreKey,
        Kind::SignalPreKey,
        Kind::SignalSession,
        Kind::SignalIdentity,
        Kind::SenderKeys,
        Kind::SenderKeyDistribution,
        Kind::AppStateSyncKeys,
        Kind::AppStateCollectionVersions,
        Kind::AppStateIndexValues,
        Kind::RetryOutbound,
        Kind::RetryInbound,
        Kind::Messages,
        Kind::Threads,
        Kind::Contacts,
        Kind::PrivacyTokens,
        Kind::GroupMetadata,
        Kind::DeviceList,
        Kind::ChatMetadata,
        Kind::MessageSecrets,
        Kind::AdapterKeys,
        Kind::SessionLeases,
    ];

    /// The collection name without the prefix (the SQL backends' table names).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Auth => "auth_credentials",
            Kind::SignalMeta => "signal_meta",
            Kind::SignalRegistration => "signal_registration",
            Kind::SignalSignedPreKey => "signal_signed_prekey",
            Kind::SignalPreKey => "signal_prekey",
            Kind::SignalSession => "signal_session",
            Kind::SignalIdentity => "signal_identity",
            Kind::SenderKeys => "sender_keys",
            Kind::SenderKeyDistribution => "sender_key_distribution",
            Kind::AppStateSyncKeys => "appstate_sync_keys",
            Kind::AppStateCollectionVersions => "appstate_collection_versions",
            Kind::AppStateIndexValues => "appstate_collection_index_values",
            Kind::RetryOutbound => "retry_outbound_messages",
            Kind::RetryInbound => "retry_inbound_counters",
            Kind::Messages => "mailbox_messages",
            Kind::Threads => "mailbox_threads",
            Kind::Contacts => "mailbox_contacts",
            Kind::PrivacyTokens => "privacy_tokens",
            Kind::GroupMetadata => "group_participants_cache",
            Kind::DeviceList => "device_list_cache",
            Kind::ChatMetadata => "chat_metadata_cache",
            Kind::MessageSecrets => "message_secrets_cache",
            Kind::AdapterKeys => "adapter_keys",
            Kind::SessionLeases => "session_leases",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// Collections whose documents carry `expires_at_ms` (and the TTL `expires_at`).
    pub fn is_cache(self) -> bool {
        matches!(
            self,
            Kind::RetryOutbound
                | Kind::RetryInbound
                | Kind::GroupMetadata
                | Kind::DeviceList
                | Kind::ChatMetadata
                | Kind::MessageSecrets
        )
    }

    /// `(name, keys)` of each secondary index, each serving a query the contracts make.
    fn index_keys(self) -> Vec<(&'static str, Document)> {
        match self {
            Kind::Auth | Kind::SignalMeta | Kind::SignalRegistration | Kind::SignalSignedPreKey | Kind::SessionLeases => {
                vec![]
            }
            // Available keys: lowest not-uploaded ids; markKeyAsUploaded: ids ≤ k.
            Kind::SignalPreKey => vec![("wastore_by_upload", doc! { "s": 1, "uploaded": 1, "key_id": 1 })],
            Kind::SignalSession
            | Kind::SignalIdentity
            | Kind::AppStateCollectionVersions
            | Kind::Threads
            | Kind::PrivacyTokens => vec![("wastore_by_session", doc! { "s": 1 })],
            // Group listing, and deleting one sender in every group.
            Kind::SenderKeys | Kind::SenderKeyDistribution => vec![
                ("wastore_by_group", doc! { "s": 1, "group_id": 1 }),
                ("wastore_by_sender", doc! { "s": 1, "user": 1, "server": 1, "device": 1 }),
            ],
            // getActiveSyncKey: highest epoch, then lowest device id.
            Kind::AppStateSyncKeys => vec![("wastore_by_epoch", doc! { "s": 1, "key_epoch": -1, "key_device": 1 })],
            Kind::AppStateIndexValues => vec![("wastore_by_collection", doc! { "s": 1, "collection": 1 })],
            // listByThread: newest first by (timestamp, id).
            Kind::Messages => {
                vec![("wastore_by_thread", doc! { "s": 1, "thread_jid": 1, "timestamp_ms": -1, "message_id": -1 })]
            }
            Kind::Contacts => {
                vec![("wastore_by_phone", doc! { "s": 1, "phone_number": 1, "last_updated_ms": -1 })]
            }
            Kind::DeviceList => vec![
                ("wastore_by_expiry", doc! { "s": 1, "expires_at_ms": 1 }),
                ("wastore_by_alt", doc! { "s": 1, "alt_user_jid": 1, "updated_at_ms": -1 }),
            ],
            Kind::RetryOutbound
            | Kind::RetryInbound
            | Kind::GroupMetadata
            | Kind::ChatMetadata
            | Kind::MessageSecrets => {
                vec![("wastore_by_expiry", doc! { "s": 1, "expires_at_ms": 1 })]
            }
            // list_keys pages: byte-wise id order within one type.
            Kind::AdapterKeys => vec![("wastore_by_type", doc! { "s": 1, "kind": 1, "id": 1 })],
        }
    }

    /// The index models to create, TTL index included when asked for.
    pub fn indexes(self, ttl_indexes: bool) -> Vec<IndexModel> {
        let mut models: Vec<IndexModel> = self
            .index_keys()
            .into_iter()
            .map(|(name, keys)| {
                IndexModel::builder().keys(keys).options(IndexOptions::builder().name(name.to_owned()).build()).build()
            })
            .collect();
        if ttl_indexes && self.is_cache() {
            let options = IndexOptions::builder().name("wastore_ttl".to_owned()).expire_after(Duration::ZERO).build();
            models.push(IndexModel::builder().keys(doc! { "expires_at": 1 }).options(options).build());
        }
        models
    }
}

/// The prefixed name of every collection, indexed by [`Kind::index`].
#[derive(Debug, Clone)]
pub struct Names(Vec<String>);

impl Names {
    pub fn new(prefix: &str) -> Self {
        Self(Kind::ALL.iter().map(|k| format!("{prefix}{}", k.name())).collect())
    }

    pub fn get(&self, kind: Kind) -> &str {
        self.0.get(kind.index()).map_or("", String::as_str)
    }

    #[cfg_attr(not(test), allow(dead_code))]
    pub fn all(&self) -> &[String] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_slot_and_prefixed_name() {
        let names = Names::new("pfx_");
        for (i, kind) in Kind::ALL.iter().enumerate() {
            assert_eq!(kind.index(), i);
            assert_eq!(names.get(*kind), format!("pfx_{}", kind.name()));
        }
        assert_eq!(Kind::ALL.iter().filter(|k| k.is_cache()).count(), 6);
        assert!(Kind::GroupMetadata.indexes(true).len() > Kind::GroupMetadata.indexes(false).len());
        assert!(Kind::Auth.indexes(true).is_empty());
    }
}
