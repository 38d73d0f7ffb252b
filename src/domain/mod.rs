//! The store contracts, one module per domain, written against plain Rust
//! types so every backend (and `cargo test`) works without Node.
//!
//! Every method takes the tenant's `sid` (session id) first: one backend
//! instance serves every session that shares it, and no method can reach
//! another session's rows.

pub mod app_state;
pub mod auth;
pub mod chat_metadata;
pub mod contacts;
pub mod device_list;
pub mod group_metadata;
pub mod identity;
pub mod keys;
pub mod lease;
pub mod message_secret;
pub mod messages;
pub mod pre_key;
pub mod privacy_token;
pub mod retry;
pub mod sender_key;
pub mod session;
pub mod signal;
pub mod signal_batch;
pub mod snapshot;
pub mod threads;

pub use crate::error::{StoreError, StoreResult};

/// An opaque structured value, encoded with [`crate::codec`].
pub type Blob = Vec<u8>;

/// Server part used when a Signal address leaves it out (zapo's `signalAddressKey`).
pub const DEFAULT_SERVER: &str = "s.whatsapp.net";

/// A Signal protocol address. `server` is normalized: never empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SignalAddress {
    pub user: String,
    pub server: String,
    pub device: u32,
}

impl SignalAddress {
    pub fn new(user: impl Into<String>, server: Option<&str>, device: u32) -> Self {
        let server = match server {
            Some(s) if !s.is_empty() => s.to_owned(),
            _ => DEFAULT_SERVER.to_owned(),
        };
        Self { user: user.into(), server, device }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPair {
    pub pub_key: Vec<u8>,
    pub priv_key: Vec<u8>,
}

/// Every domain, as named in `providers` / `cacheProviders`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Domain {
    Auth,
    Signal,
    PreKey,
    Session,
    Identity,
    SenderKey,
    AppState,
    PrivacyToken,
    Messages,
    Threads,
    Contacts,
    Retry,
    GroupMetadata,
    ChatMetadata,
    DeviceList,
    MessageSecret,
    /// The adapters' generic key domain ([`keys`]); not one of zapo's 16.
    Keys,
}

impl Domain {
    /// The 11 persistent domains, in zapo's order.
    pub const PERSISTENT: [Domain; 11] = [
        Domain::Auth,
        Domain::Signal,
        Domain::PreKey,
        Domain::Session,
        Domain::Identity,
        Domain::SenderKey,
        Domain::AppState,
        Domain::Messages,
        Domain::Threads,
        Domain::Contacts,
        Domain::PrivacyToken,
    ];
    /// The 5 cache domains.
    pub const CACHES: [Domain; 5] =
        [Domain::Retry, Domain::GroupMetadata, Domain::ChatMetadata, Domain::DeviceList, Domain::MessageSecret];
    /// Persistent domains of client adapters (Baileys), outside zapo's lists so
    /// zapo configurations stay valid: optional in `providers`, defaulting to
    /// the provider of `session`.
    pub const ADAPTER: [Domain; 1] = [Domain::Keys];

    pub fn name(self) -> &'static str {
        match self {
            Domain::Auth => "auth",
            Domain::Signal => "signal",
            Domain::PreKey => "preKey",
            Domain::Session => "session",
            Domain::Identity => "identity",
            Domain::SenderKey => "senderKey",
            Domain::AppState => "appState",
            Domain::PrivacyToken => "privacyToken",
            Domain::Messages => "messages",
            Domain::Threads => "threads",
            Domain::Contacts => "contacts",
            Domain::Retry => "retry",
            Domain::GroupMetadata => "groupMetadata",
            Domain::ChatMetadata => "chatMetadata",
            Domain::DeviceList => "deviceList",
            Domain::MessageSecret => "messageSecret",
            Domain::Keys => "keys",
        }
    }

    pub fn from_name(name: &str) -> Option<Domain> {
        Self::PERSISTENT.iter().chain(Self::CACHES.iter()).chain(Self::ADAPTER.iter()).copied().find(|d| d.name() == name)
    }

    pub fn is_cache(self) -> bool {
        Self::CACHES.contains(&self)
    }

    /// Mailbox domains accept `'none'` (no-op store); the others fall back to memory.
    pub fn is_mailbox(self) -> bool {
        matches!(self, Domain::Messages | Domain::Threads | Domain::Contacts)
    }
}

/// Time-to-live of each cache domain, in milliseconds (zapo's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheTtls {
    pub retry_ms: i64,
    pub group_metadata_ms: i64,
    pub chat_metadata_ms: i64,
    pub device_list_ms: i64,
    pub message_secret_ms: i64,
}

impl Default for CacheTtls {
    fn default() -> Self {
        Self {
            retry_ms: 60_000,
            group_metadata_ms: 300_000,
            chat_metadata_ms: 1_800_000,
            device_list_ms: 300_000,
            message_secret_ms: 1_800_000,
        }
    }
}

/// Wall clock in epoch milliseconds, for `nowMs` defaults and write-time expiry.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The three archive domains together: what write-behind writes through.
pub trait ArchiveStore: messages::MessageStore + threads::ThreadStore + contacts::ContactStore + Send + Sync {}
impl<T: messages::MessageStore + threads::ThreadStore + contacts::ContactStore + Send + Sync + ?Sized> ArchiveStore for T {}

/// Everything one backend provides. A backend implements every domain trait;
/// `createStore` routes each domain to the backend its provider names.
pub trait Backend:
    auth::AuthStore
    + signal::SignalStore
    + pre_key::PreKeyStore
    + session::SessionStore
    + identity::IdentityStore
    + sender_key::SenderKeyStore
    + app_state::AppStateStore
    + privacy_token::PrivacyTokenStore
    + messages::MessageStore
    + threads::ThreadStore
    + contacts::ContactStore
    + retry::RetryStore
    + group_metadata::GroupMetadataStore
    + chat_metadata::ChatMetadataStore
    + device_list::DeviceListStore
    + message_secret::MessageSecretStore
    + keys::KeyStore
    + signal_batch::SignalBatchStore
    + snapshot::SnapshotStore
    + lease::LeaseStore
    + ArchiveStore
    + Send
    + Sync
    + 'static
{
    /// Short name for messages, e.g. `"sqlite"`.
    fn kind(&self) -> &'static str;
    /// Where this backend (and the layers in front of it) report events and count operations.
    fn events(&self) -> &crate::events::Events;
    /// Releases pools and files. Called once, by `store.destroy()` or the backend's own `destroy()`.
    fn close(&self) -> futures_close::CloseFuture<'_>;
    /// Called when a session's domain store is destroyed. Memory drops that
    /// session's data for the domain (as zapo's per-session memory stores do);
    /// durable backends keep it.
    fn release_session(&self, _sid: &str, _domain: Domain) {}
    /// Refuses text this backend cannot store (PostgreSQL text cannot hold
    /// NUL), so layers that acknowledge writes before they reach the backend
    /// (write-behind, deferred Signal writes) can refuse them up front.
    fn check_text(&self, _field: &str, _value: &str) -> StoreResult<()> {
        Ok(())
    }
}

/// Boxed future type for [`Backend::close`], kept dyn-compatible without `async_trait` on the supertrait.
pub mod futures_close {
    pub type CloseFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = super::StoreResult<()>> + Send + 'a>>;
}
