//! In-memory backend: zapo's memory stores, for every session at once.
//!
//! State is kept per domain, and inside a domain per session id, so a
//! session can only ever reach its own data and `clear` (or releasing a
//! session) drops exactly one domain of one session. Every map is bounded
//! per session per map by [`MemoryLimits`]; see [`bounded::BoundedMap`].
//!
//! Locks are plain `parking_lot` mutexes held only for synchronous work:
//! nothing awaits while holding one, so the async trait methods never block
//! a runtime thread for longer than a map operation.

mod app_state;
mod bounded;
mod caches;
mod keys;
mod lease;
mod mailbox;
mod sender_keys;
mod signal_keys;
mod snapshot;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use parking_lot::Mutex;

use crate::config::MemoryLimits;
use crate::domain::{futures_close::CloseFuture, Backend, CacheTtls, Domain};

use app_state::AppStateData;
use keys::KeyData;
use caches::{ChatMetadataData, DeviceListData, GroupMetadataData, MessageSecretData, RetryData};
use mailbox::{ContactData, MessageData, PrivacyTokenData, ThreadData};
use sender_keys::SenderKeyData;
use signal_keys::{AuthData, IdentityData, PreKeyData, SessionData, SignalData};

/// Per-session state of one domain, built lazily on the first write.
trait SessionState {
    fn new(limits: &MemoryLimits) -> Self;
}

/// One domain's data for every session: `sid → state`.
struct Partition<T> {
    sessions: Mutex<HashMap<String, T>>,
}

impl<T: SessionState> Partition<T> {
    fn new() -> Self {
        Self { sessions: Mutex::new(HashMap::new()) }
    }

    /// Runs `f` on the session's state, creating it if absent (writes).
    fn write<R>(&self, limits: &MemoryLimits, sid: &str, f: impl FnOnce(&mut T) -> R) -> R {
        let mut sessions = self.sessions.lock();
        if let Some(state) = sessions.get_mut(sid) {
            return f(state);
        }
        let state = sessions.entry(sid.to_owned()).or_insert_with(|| T::new(limits));
        f(state)
    }

    /// Runs `f` on the session's state if it exists, without creating one:
    /// reading a session that never wrote must not allocate state for it.
    /// Mutable because cache reads drop the expired entries they meet.
    fn read<R>(&self, sid: &str, f: impl FnOnce(Option<&mut T>) -> R) -> R {
        let mut sessions = self.sessions.lock();
        f(sessions.get_mut(sid))
    }

    /// Every session id that has state in this domain.
    fn session_ids(&self) -> Vec<String> {
        self.sessions.lock().keys().cloned().collect()
    }

    /// Drops the session's state: a later read sees a fresh, empty store.
    fn drop_session(&self, sid: &str) {
        self.sessions.lock().remove(sid);
    }
}

pub struct MemoryBackend {
    events: crate::events::Events,
    limits: MemoryLimits,
    ttls: CacheTtls,
    auth: Partition<AuthData>,
    signal: Partition<SignalData>,
    pre_key: Partition<PreKeyData>,
    session: Partition<SessionData>,
    identity: Partition<IdentityData>,
    sender_key: Partition<SenderKeyData>,
    app_state: Partition<AppStateData>,
    privacy_token: Partition<PrivacyTokenData>,
    messages: Partition<MessageData>,
    threads: Partition<ThreadData>,
    contacts: Partition<ContactData>,
    retry: Partition<RetryData>,
    group_metadata: Partition<GroupMetadataData>,
    chat_metadata: Partition<ChatMetadataData>,
    device_list: Partition<DeviceListData>,
    message_secret: Partition<MessageSecretData>,
    keys: Partition<KeyData>,
    /// Session leases (process-local: memory data is never shared across processes).
    leases: tokio::sync::Mutex<HashMap<String, crate::domain::lease::LeaseRecord>>,
}

impl MemoryBackend {
    pub fn new(limits: MemoryLimits, ttls: CacheTtls) -> Self {
        Self {
            events: crate::events::Events::new("memory"),
            limits,
            ttls,
            auth: Partition::new(),
            signal: Partition::new(),
            pre_key: Partition::new(),
            session: Partition::new(),
            identity: Partition::new(),
            sender_key: Partition::new(),
            app_state: Partition::new(),
            privacy_token: Partition::new(),
            messages: Partition::new(),
            threads: Partition::new(),
            contacts: Partition::new(),
            retry: Partition::new(),
            group_metadata: Partition::new(),
            chat_metadata: Partition::new(),
            device_list: Partition::new(),
            message_secret: Partition::new(),
            keys: Partition::new(),
            leases: tokio::sync::Mutex::new(HashMap::new()),
        }
    }
}

impl Default for MemoryBackend {
    fn default() -> Self {
        Self::new(MemoryLimits::default(), CacheTtls::default())
    }
}

impl Backend for MemoryBackend {
    fn kind(&self) -> &'static str {
        "memory"
    }

    fn events(&self) -> &crate::events::Events {
        &self.events
    }

    fn close(&self) -> CloseFuture<'_> {
        // Nothing to release: the maps go when the backend is dropped.
        Box::pin(async { Ok(()) })
    }

    /// zapo's memory stores live and die with their session, so a destroyed
    /// session's domain store takes its data with it.
    fn release_session(&self, sid: &str, domain: Domain) {
        match domain {
            Domain::Auth => self.auth.drop_session(sid),
            Domain::Signal => self.signal.drop_session(sid),
            Domain::PreKey => self.pre_key.drop_session(sid),
            Domain::Session => self.session.drop_session(sid),
            Domain::Identity => self.identity.drop_session(sid),
            Domain::SenderKey => self.sender_key.drop_session(sid),
            Domain::AppState => self.app_state.drop_session(sid),
            Domain::PrivacyToken => self.privacy_token.drop_session(sid),
            Domain::Messages => self.messages.drop_session(sid),
            Domain::Threads => self.threads.drop_session(sid),
            Domain::Contacts => self.contacts.drop_session(sid),
            Domain::Retry => self.retry.drop_session(sid),
            Domain::GroupMetadata => self.group_metadata.drop_session(sid),
            Domain::ChatMetadata => self.chat_metadata.drop_session(sid),
            Domain::DeviceList => self.device_list.drop_session(sid),
            Domain::MessageSecret => self.message_secret.drop_session(sid),
            Domain::Keys => self.keys.drop_session(sid),
        }
    }
}
