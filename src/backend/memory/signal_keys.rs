//! `auth`, `signal`, `preKey`, `session` and `identity`: the device's own
//! keys and the per-address Signal state.

use async_trait::async_trait;

use super::bounded::BoundedMap;
use super::{MemoryBackend, SessionState};
use crate::config::MemoryLimits;
use crate::domain::auth::AuthStore;
use crate::domain::identity::IdentityStore;
use crate::domain::pre_key::{PreKey, PreKeyReservation, PreKeyStore};
use crate::domain::session::SessionStore;
use crate::domain::signal::{RegistrationInfo, SignalStore, SignedPreKey};
use crate::domain::{Blob, SignalAddress, StoreError, StoreResult};

#[derive(Default)]
pub(super) struct AuthData {
    pub(super) credentials: Option<Blob>,
}

impl SessionState for AuthData {
    fn new(_: &MemoryLimits) -> Self {
        Self::default()
    }
}

#[derive(Default)]
pub(super) struct SignalData {
    pub(super) registration: Option<RegistrationInfo>,
    /// Only the current signed pre-key is kept, as in zapo.
    pub(super) signed_pre_key: Option<SignedPreKey>,
    pub(super) rotation_ts: Option<i64>,
}

impl SessionState for SignalData {
    fn new(_: &MemoryLimits) -> Self {
        Self::default()
    }
}

pub(super) struct PreKeyData {
    /// A key counts as uploaded when its `uploaded` is `Some(true)`; keeping
    /// the flag inside the record means evicting a key also drops its flag.
    pub(super) keys: BoundedMap<u32, PreKey>,
    /// u64 so `key_id = u32::MAX` can still raise it without overflow.
    pub(super) next_id: u64,
    pub(super) server_has_pre_keys: bool,
}

impl SessionState for PreKeyData {
    fn new(limits: &MemoryLimits) -> Self {
        Self { keys: BoundedMap::new(limits.signal_pre_keys), next_id: 1, server_has_pre_keys: false }
    }
}

impl PreKeyData {
    fn store(&mut self, record: PreKey) {
        self.next_id = self.next_id.max(u64::from(record.key_id) + 1);
        self.keys.insert(record.key_id, record);
    }
}

fn is_uploaded(key: &PreKey) -> bool {
    key.uploaded == Some(true)
}

pub(super) struct SessionData {
    pub(super) sessions: BoundedMap<SignalAddress, Blob>,
}

impl SessionState for SessionData {
    fn new(limits: &MemoryLimits) -> Self {
        Self { sessions: BoundedMap::new(limits.signal_sessions) }
    }
}

pub(super) struct IdentityData {
    pub(super) identities: BoundedMap<SignalAddress, Vec<u8>>,
}

impl SessionState for IdentityData {
    fn new(limits: &MemoryLimits) -> Self {
        Self { identities: BoundedMap::new(limits.signal_remote_identities) }
    }
}

#[async_trait]
impl AuthStore for MemoryBackend {
    async fn load(&self, sid: &str) -> StoreResult<Option<Blob>> {
        Ok(self.auth.read(sid, |s| s.and_then(|s| s.credentials.clone())))
    }

    async fn save(&self, sid: &str, credentials: Blob) -> StoreResult<()> {
        self.auth.write(&self.limits, sid, |s| s.credentials = Some(credentials));
        Ok(())
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.auth.drop_session(sid);
        Ok(())
    }
}

#[async_trait]
impl SignalStore for MemoryBackend {
    async fn get_registration_info(&self, sid: &str) -> StoreResult<Option<RegistrationInfo>> {
        Ok(self.signal.read(sid, |s| s.and_then(|s| s.registration.clone())))
    }

    async fn set_registration_info(&self, sid: &str, info: RegistrationInfo) -> StoreResult<()> {
        self.signal.write(&self.limits, sid, |s| s.registration = Some(info));
        Ok(())
    }

    async fn get_signed_pre_key(&self, sid: &str) -> StoreResult<Option<SignedPreKey>> {
        Ok(self.signal.read(sid, |s| s.and_then(|s| s.signed_pre_key.clone())))
    }

    async fn set_signed_pre_key(&self, sid: &str, record: SignedPreKey) -> StoreResult<()> {
        self.signal.write(&self.limits, sid, |s| s.signed_pre_key = Some(record));
        Ok(())
    }

    async fn get_signed_pre_key_by_id(&self, sid: &str, key_id: u32) -> StoreResult<Option<SignedPreKey>> {
        Ok(self.signal.read(sid, |s| s.and_then(|s| s.signed_pre_key.clone()).filter(|k| k.key_id == key_id)))
    }

    async fn set_signed_pre_key_rotation_ts(&self, sid: &str, value: Option<i64>) -> StoreResult<()> {
        self.signal.write(&self.limits, sid, |s| s.rotation_ts = value);
        Ok(())
    }

    async fn get_signed_pre_key_rotation_ts(&self, sid: &str) -> StoreResult<Option<i64>> {
        Ok(self.signal.read(sid, |s| s.and_then(|s| s.rotation_ts)))
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.signal.drop_session(sid);
        Ok(())
    }
}

#[async_trait]
impl PreKeyStore for MemoryBackend {
    async fn put_pre_key(&self, sid: &str, record: PreKey) -> StoreResult<()> {
        self.pre_key.write(&self.limits, sid, |s| s.store(record));
        Ok(())
    }

    async fn reserve_pre_keys(&self, sid: &str, count: u32) -> StoreResult<PreKeyReservation> {
        self.pre_key.write(&self.limits, sid, |s| {
            let wanted = count as usize;
            let mut available: Vec<PreKey> = s.keys.values().filter(|k| !is_uploaded(k)).cloned().collect();
            available.sort_by_key(|k| k.key_id);
            available.truncate(wanted);
            let missing = (wanted - available.len()) as u64;
            let first = s.next_id;
            let end = first.saturating_add(missing);
            // Ids are u32 on the wire; refuse rather than wrap into used ids.
            if end > u64::from(u32::MAX) + 1 {
                return Err(StoreError::invalid_argument(format!(
                    "cannot reserve {missing} pre-key ids from {first}: key ids would pass {}",
                    u32::MAX
                )));
            }
            let reserved_ids = (first..end).filter_map(|id| u32::try_from(id).ok()).collect();
            s.next_id = end;
            Ok(PreKeyReservation { available, reserved_ids })
        })
    }

    async fn insert_generated_pre_keys(&self, sid: &str, records: Vec<PreKey>) -> StoreResult<u32> {
        Ok(self.pre_key.write(&self.limits, sid, |s| {
            let mut inserted: u32 = 0;
            for record in records {
                // A colliding id keeps the stored key, but still raises the counter.
                if s.keys.contains_key(&record.key_id) {
                    s.next_id = s.next_id.max(u64::from(record.key_id) + 1);
                    continue;
                }
                s.store(record);
                inserted = inserted.saturating_add(1);
            }
            inserted
        }))
    }

    async fn get_pre_key_by_id(&self, sid: &str, key_id: u32) -> StoreResult<Option<PreKey>> {
        Ok(self.pre_key.read(sid, |s| s.and_then(|s| s.keys.get(&key_id).cloned())))
    }

    async fn get_pre_keys_by_id(&self, sid: &str, key_ids: &[u32]) -> StoreResult<Vec<Option<PreKey>>> {
        Ok(self.pre_key.read(sid, |s| match s {
            Some(s) => key_ids.iter().map(|id| s.keys.get(id).cloned()).collect(),
            None => vec![None; key_ids.len()],
        }))
    }

    async fn consume_pre_key_by_id(&self, sid: &str, key_id: u32) -> StoreResult<Option<PreKey>> {
        Ok(self.pre_key.read(sid, |s| s.and_then(|s| s.keys.remove(&key_id))))
    }

    async fn mark_key_as_uploaded(&self, sid: &str, key_id: u32) -> StoreResult<()> {
        self.pre_key.read(sid, |s| {
            let next_id = s.as_ref().map_or(1, |s| s.next_id);
            if u64::from(key_id) >= next_id {
                return Err(StoreError::invalid_argument(format!("prekey {key_id} is out of boundary")));
            }
            if let Some(s) = s {
                let ids: Vec<u32> = s.keys.iter().map(|(id, _)| *id).filter(|id| *id <= key_id).collect();
                for id in ids {
                    // Not a write in zapo (the flag lives in a side set): keep the eviction order.
                    if let Some(key) = s.keys.get_mut(&id) {
                        key.uploaded = Some(true);
                    }
                }
            }
            Ok(())
        })
    }

    async fn set_server_has_pre_keys(&self, sid: &str, value: bool) -> StoreResult<()> {
        self.pre_key.write(&self.limits, sid, |s| s.server_has_pre_keys = value);
        Ok(())
    }

    async fn get_server_has_pre_keys(&self, sid: &str) -> StoreResult<bool> {
        Ok(self.pre_key.read(sid, |s| s.is_some_and(|s| s.server_has_pre_keys)))
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        // Dropping the state resets the counter to 1 and the flag to false.
        self.pre_key.drop_session(sid);
        Ok(())
    }
}

#[async_trait]
impl SessionStore for MemoryBackend {
    async fn has_sessions(&self, sid: &str, addresses: &[SignalAddress]) -> StoreResult<Vec<bool>> {
        Ok(self.session.read(sid, |s| match s {
            Some(s) => addresses.iter().map(|a| s.sessions.contains_key(a)).collect(),
            None => vec![false; addresses.len()],
        }))
    }

    async fn get_sessions(&self, sid: &str, addresses: &[SignalAddress]) -> StoreResult<Vec<Option<Blob>>> {
        Ok(self.session.read(sid, |s| match s {
            Some(s) => addresses.iter().map(|a| s.sessions.get(a).cloned()).collect(),
            None => vec![None; addresses.len()],
        }))
    }

    async fn set_sessions(&self, sid: &str, entries: Vec<(SignalAddress, Blob)>) -> StoreResult<()> {
        self.session.write(&self.limits, sid, |s| {
            for (address, record) in entries {
                s.sessions.insert(address, record);
            }
        });
        Ok(())
    }

    async fn delete_session(&self, sid: &str, address: &SignalAddress) -> StoreResult<()> {
        self.session.read(sid, |s| s.map(|s| s.sessions.remove(address)));
        Ok(())
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.session.drop_session(sid);
        Ok(())
    }
}

#[async_trait]
impl IdentityStore for MemoryBackend {
    async fn get_remote_identities(&self, sid: &str, addresses: &[SignalAddress]) -> StoreResult<Vec<Option<Vec<u8>>>> {
        Ok(self.identity.read(sid, |s| match s {
            Some(s) => addresses.iter().map(|a| s.identities.get(a).cloned()).collect(),
            None => vec![None; addresses.len()],
        }))
    }

    async fn set_remote_identities(&self, sid: &str, entries: Vec<(SignalAddress, Vec<u8>)>) -> StoreResult<()> {
        self.identity.write(&self.limits, sid, |s| {
            for (address, key) in entries {
                s.identities.insert(address, key);
            }
        });
        Ok(())
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.identity.drop_session(sid);
        Ok(())
    }
}
