//! The encrypted domains of [`EncryptedBackend`]: each write seals the secret
//! bytes for their record ([`Slot`]) and each read opens them.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::envelope::Slot;
use super::EncryptedBackend;
use crate::domain::app_state::{AppStateExport, AppStateStore, CollectionState, CollectionUpdate, SyncKey};
use crate::domain::auth::AuthStore;
use crate::domain::identity::IdentityStore;
use crate::domain::keys::{KeyStore, KeyWrite};
use crate::domain::lease::Fence;
use crate::domain::pre_key::{PreKey, PreKeyReservation, PreKeyStore};
use crate::domain::sender_key::{GroupSenderKeys, SenderKey, SenderKeyDistribution, SenderKeyStore};
use crate::domain::session::SessionStore;
use crate::domain::signal::{RegistrationInfo, SignalStore, SignedPreKey};
use crate::domain::signal_batch::{SessionWrite, SignalBatchStore, SignalWrite};
use crate::domain::snapshot::RecordKind;
use crate::domain::{Blob, SignalAddress};
use crate::error::StoreResult;

impl EncryptedBackend {
    fn open_pre_key(&self, sid: &str, mut k: PreKey) -> StoreResult<PreKey> {
        k.key_pair.priv_key = self.open(sid, Slot::pre_key(sid, k.key_id), k.key_pair.priv_key)?;
        Ok(k)
    }

    fn seal_pre_key(&self, sid: &str, mut k: PreKey) -> StoreResult<PreKey> {
        k.key_pair.priv_key = self.seal(sid, Slot::pre_key(sid, k.key_id), k.key_pair.priv_key)?;
        Ok(k)
    }

    fn open_signed(&self, sid: &str, mut k: SignedPreKey) -> StoreResult<SignedPreKey> {
        k.key_pair.priv_key = self.open(sid, Slot::singleton(sid, RecordKind::SignedPreKey), k.key_pair.priv_key)?;
        Ok(k)
    }

    fn open_sender_key(&self, sid: &str, mut k: SenderKey) -> StoreResult<SenderKey> {
        k.record = self.open(sid, Slot::sender_key(sid, &k.group_id, &k.sender), k.record)?;
        Ok(k)
    }

    fn seal_sender_key(&self, sid: &str, mut k: SenderKey) -> StoreResult<SenderKey> {
        k.record = self.seal(sid, Slot::sender_key(sid, &k.group_id, &k.sender), k.record)?;
        Ok(k)
    }

    fn open_sync_key(&self, sid: &str, mut k: SyncKey) -> StoreResult<SyncKey> {
        k.key_data = self.open(sid, Slot::sync_key(sid, &k.key_id), k.key_data)?;
        Ok(k)
    }

    fn seal_write(&self, sid: &str, write: &SignalWrite) -> StoreResult<SignalWrite> {
        Ok(match write {
            SignalWrite::Session { address, record } => SignalWrite::Session {
                address: address.clone(),
                record: match record {
                    Some(r) => Some(self.seal(sid, Slot::session(sid, address), r.clone())?),
                    None => None,
                },
            },
            SignalWrite::Identity { address, key } => SignalWrite::Identity {
                address: address.clone(),
                key: self.seal(sid, Slot::identity(sid, address), key.clone())?,
            },
            SignalWrite::SenderKey(k) => SignalWrite::SenderKey(self.seal_sender_key(sid, k.clone())?),
            SignalWrite::Key(k) => SignalWrite::Key(KeyWrite {
                kind: k.kind.clone(),
                id: k.id.clone(),
                value: match &k.value {
                    Some(v) => Some(self.seal(sid, Slot::key(sid, &k.kind, &k.id), v.clone())?),
                    None => None,
                },
            }),
        })
    }
}

fn each<T>(items: Vec<Option<T>>, mut f: impl FnMut(T) -> StoreResult<T>) -> StoreResult<Vec<Option<T>>> {
    items.into_iter().map(|o| o.map(&mut f).transpose()).collect()
}

#[async_trait]
impl AuthStore for EncryptedBackend {
    async fn load(&self, sid: &str) -> StoreResult<Option<Blob>> {
        let stored = self.inner.load(sid).await?;
        stored.map(|b| self.open(sid, Slot::singleton(sid, RecordKind::Auth), b)).transpose()
    }
    async fn save(&self, sid: &str, credentials: Blob) -> StoreResult<()> {
        let sealed = self.seal(sid, Slot::singleton(sid, RecordKind::Auth), credentials)?;
        let _w = self.writing().await;
        self.inner.save(sid, sealed).await
    }
    async fn clear(&self, sid: &str) -> StoreResult<()> {
        let _w = self.writing().await;
        AuthStore::clear(&*self.inner, sid).await
    }
}

#[async_trait]
impl SignalStore for EncryptedBackend {
    async fn get_registration_info(&self, sid: &str) -> StoreResult<Option<RegistrationInfo>> {
        let Some(mut info) = self.inner.get_registration_info(sid).await? else { return Ok(None) };
        let slot = Slot::singleton(sid, RecordKind::Registration);
        info.identity_key_pair.priv_key = self.open(sid, slot, info.identity_key_pair.priv_key)?;
        Ok(Some(info))
    }
    async fn set_registration_info(&self, sid: &str, mut info: RegistrationInfo) -> StoreResult<()> {
        let slot = Slot::singleton(sid, RecordKind::Registration);
        info.identity_key_pair.priv_key = self.seal(sid, slot, info.identity_key_pair.priv_key)?;
        let _w = self.writing().await;
        self.inner.set_registration_info(sid, info).await
    }
    async fn get_signed_pre_key(&self, sid: &str) -> StoreResult<Option<SignedPreKey>> {
        let stored = self.inner.get_signed_pre_key(sid).await?;
        stored.map(|k| self.open_signed(sid, k)).transpose()
    }
    async fn set_signed_pre_key(&self, sid: &str, mut record: SignedPreKey) -> StoreResult<()> {
        let slot = Slot::singleton(sid, RecordKind::SignedPreKey);
        record.key_pair.priv_key = self.seal(sid, slot, record.key_pair.priv_key)?;
        let _w = self.writing().await;
        self.inner.set_signed_pre_key(sid, record).await
    }
    async fn get_signed_pre_key_by_id(&self, sid: &str, key_id: u32) -> StoreResult<Option<SignedPreKey>> {
        let stored = self.inner.get_signed_pre_key_by_id(sid, key_id).await?;
        stored.map(|k| self.open_signed(sid, k)).transpose()
    }
    async fn set_signed_pre_key_rotation_ts(&self, sid: &str, value: Option<i64>) -> StoreResult<()> {
        self.inner.set_signed_pre_key_rotation_ts(sid, value).await
    }
    async fn get_signed_pre_key_rotation_ts(&self, sid: &str) -> StoreResult<Option<i64>> {
        self.inner.get_signed_pre_key_rotation_ts(sid).await
    }
    async fn clear(&self, sid: &str) -> StoreResult<()> {
        let _w = self.writing().await;
        SignalStore::clear(&*self.inner, sid).await
    }
}

#[async_trait]
impl PreKeyStore for EncryptedBackend {
    async fn put_pre_key(&self, sid: &str, record: PreKey) -> StoreResult<()> {
        let sealed = self.seal_pre_key(sid, record)?;
        let _w = self.writing().await;
        self.inner.put_pre_key(sid, sealed).await
    }
    async fn reserve_pre_keys(&self, sid: &str, count: u32) -> StoreResult<PreKeyReservation> {
        let mut r = {
            let _w = self.writing().await;
            self.inner.reserve_pre_keys(sid, count).await?
        };
        r.available = r.available.into_iter().map(|k| self.open_pre_key(sid, k)).collect::<StoreResult<_>>()?;
        Ok(r)
    }
    async fn insert_generated_pre_keys(&self, sid: &str, records: Vec<PreKey>) -> StoreResult<u32> {
        let sealed = records.into_iter().map(|k| self.seal_pre_key(sid, k)).collect::<StoreResult<Vec<_>>>()?;
        let _w = self.writing().await;
        self.inner.insert_generated_pre_keys(sid, sealed).await
    }
    async fn get_pre_key_by_id(&self, sid: &str, key_id: u32) -> StoreResult<Option<PreKey>> {
        let stored = self.inner.get_pre_key_by_id(sid, key_id).await?;
        stored.map(|k| self.open_pre_key(sid, k)).transpose()
    }
    async fn get_pre_keys_by_id(&self, sid: &str, key_ids: &[u32]) -> StoreResult<Vec<Option<PreKey>>> {
        each(self.inner.get_pre_keys_by_id(sid, key_ids).await?, |k| self.open_pre_key(sid, k))
    }
    async fn consume_pre_key_by_id(&self, sid: &str, key_id: u32) -> StoreResult<Option<PreKey>> {
        let stored = {
            let _w = self.writing().await;
            self.inner.consume_pre_key_by_id(sid, key_id).await?
        };
        stored.map(|k| self.open_pre_key(sid, k)).transpose()
    }
    async fn mark_key_as_uploaded(&self, sid: &str, key_id: u32) -> StoreResult<()> {
        let _w = self.writing().await;
        self.inner.mark_key_as_uploaded(sid, key_id).await
    }
    async fn set_server_has_pre_keys(&self, sid: &str, value: bool) -> StoreResult<()> {
        self.inner.set_server_has_pre_keys(sid, value).await
    }
    async fn get_server_has_pre_keys(&self, sid: &str) -> StoreResult<bool> {
        self.inner.get_server_has_pre_keys(sid).await
    }
    async fn clear(&self, sid: &str) -> StoreResult<()> {
        let _w = self.writing().await;
        PreKeyStore::clear(&*self.inner, sid).await
    }
}

#[async_trait]
impl SessionStore for EncryptedBackend {
    async fn has_sessions(&self, sid: &str, addresses: &[SignalAddress]) -> StoreResult<Vec<bool>> {
        self.inner.has_sessions(sid, addresses).await
    }
    async fn get_sessions(&self, sid: &str, addresses: &[SignalAddress]) -> StoreResult<Vec<Option<Blob>>> {
        let stored = self.inner.get_sessions(sid, addresses).await?;
        stored
            .into_iter()
            .zip(addresses)
            .map(|(v, a)| v.map(|b| self.open(sid, Slot::session(sid, a), b)).transpose())
            .collect()
    }
    async fn set_sessions(&self, sid: &str, entries: Vec<(SignalAddress, Blob)>) -> StoreResult<()> {
        let sealed = entries
            .into_iter()
            .map(|(a, b)| {
                let v = self.seal(sid, Slot::session(sid, &a), b)?;
                Ok((a, v))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let _w = self.writing().await;
        self.inner.set_sessions(sid, sealed).await
    }
    async fn delete_session(&self, sid: &str, address: &SignalAddress) -> StoreResult<()> {
        let _w = self.writing().await;
        self.inner.delete_session(sid, address).await
    }
    async fn clear(&self, sid: &str) -> StoreResult<()> {
        let _w = self.writing().await;
        SessionStore::clear(&*self.inner, sid).await
    }
}

#[async_trait]
impl IdentityStore for EncryptedBackend {
    async fn get_remote_identities(&self, sid: &str, addresses: &[SignalAddress]) -> StoreResult<Vec<Option<Vec<u8>>>> {
        let stored = self.inner.get_remote_identities(sid, addresses).await?;
        stored
            .into_iter()
            .zip(addresses)
            .map(|(v, a)| v.map(|b| self.open(sid, Slot::identity(sid, a), b)).transpose())
            .collect()
    }
    async fn set_remote_identities(&self, sid: &str, entries: Vec<(SignalAddress, Vec<u8>)>) -> StoreResult<()> {
        let sealed = entries
            .into_iter()
            .map(|(a, k)| {
                let v = self.seal(sid, Slot::identity(sid, &a), k)?;
                Ok((a, v))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let _w = self.writing().await;
        self.inner.set_remote_identities(sid, sealed).await
    }
    async fn clear(&self, sid: &str) -> StoreResult<()> {
        let _w = self.writing().await;
        IdentityStore::clear(&*self.inner, sid).await
    }
}

#[async_trait]
impl SenderKeyStore for EncryptedBackend {
    async fn upsert_sender_key(&self, sid: &str, record: SenderKey) -> StoreResult<()> {
        let sealed = self.seal_sender_key(sid, record)?;
        let _w = self.writing().await;
        self.inner.upsert_sender_key(sid, sealed).await
    }
    async fn upsert_sender_key_distributions(&self, sid: &str, records: Vec<SenderKeyDistribution>) -> StoreResult<()> {
        self.inner.upsert_sender_key_distributions(sid, records).await
    }
    async fn get_group_sender_keys(&self, sid: &str, group_id: &str) -> StoreResult<GroupSenderKeys> {
        let mut g = self.inner.get_group_sender_keys(sid, group_id).await?;
        g.sender_keys = g.sender_keys.into_iter().map(|k| self.open_sender_key(sid, k)).collect::<StoreResult<_>>()?;
        Ok(g)
    }
    async fn get_device_sender_key(&self, sid: &str, group_id: &str, sender: &SignalAddress) -> StoreResult<Option<SenderKey>> {
        let stored = self.inner.get_device_sender_key(sid, group_id, sender).await?;
        stored.map(|k| self.open_sender_key(sid, k)).transpose()
    }
    async fn get_device_sender_key_distributions(
        &self,
        sid: &str,
        group_id: &str,
        senders: &[SignalAddress],
    ) -> StoreResult<Vec<Option<SenderKeyDistribution>>> {
        self.inner.get_device_sender_key_distributions(sid, group_id, senders).await
    }
    async fn delete_device_sender_key(&self, sid: &str, target: &SignalAddress, group_id: Option<&str>) -> StoreResult<u32> {
        let _w = self.writing().await;
        self.inner.delete_device_sender_key(sid, target, group_id).await
    }
    async fn mark_forget_sender_key(&self, sid: &str, group_id: &str, participants: &[SignalAddress]) -> StoreResult<u32> {
        let _w = self.writing().await;
        self.inner.mark_forget_sender_key(sid, group_id, participants).await
    }
    async fn clear(&self, sid: &str) -> StoreResult<()> {
        let _w = self.writing().await;
        SenderKeyStore::clear(&*self.inner, sid).await
    }
}

#[async_trait]
impl AppStateStore for EncryptedBackend {
    async fn export_data(&self, sid: &str) -> StoreResult<AppStateExport> {
        let mut e = self.inner.export_data(sid).await?;
        e.keys = e.keys.into_iter().map(|k| self.open_sync_key(sid, k)).collect::<StoreResult<_>>()?;
        Ok(e)
    }
    /// A sealed value differs on every write, so the backend cannot see that
    /// key data is unchanged: compare plaintexts here and hand on only the
    /// keys that are new or changed (the same count the backend would give).
    async fn upsert_sync_keys(&self, sid: &str, keys: Vec<SyncKey>) -> StoreResult<u32> {
        if keys.is_empty() || self.ring.is_none() {
            return self.inner.upsert_sync_keys(sid, keys).await;
        }
        let _w = self.writing().await;
        let mut ids: Vec<Vec<u8>> = keys.iter().map(|k| k.key_id.clone()).collect();
        ids.sort();
        ids.dedup();
        let stored = self.inner.get_sync_keys(sid, &ids).await?;
        let mut current: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        for (id, k) in ids.into_iter().zip(stored) {
            if let Some(k) = k {
                current.insert(id, self.open_sync_key(sid, k)?.key_data);
            }
        }
        let mut changed: Vec<SyncKey> = Vec::new();
        for mut k in keys {
            if current.get(&k.key_id).is_some_and(|d| *d == k.key_data) {
                continue;
            }
            current.insert(k.key_id.clone(), k.key_data.clone());
            k.key_data = self.seal(sid, Slot::sync_key(sid, &k.key_id), k.key_data)?;
            changed.push(k);
        }
        let n = changed.len() as u32;
        if n > 0 {
            self.inner.upsert_sync_keys(sid, changed).await?;
        }
        Ok(n)
    }
    async fn get_sync_keys(&self, sid: &str, key_ids: &[Vec<u8>]) -> StoreResult<Vec<Option<SyncKey>>> {
        each(self.inner.get_sync_keys(sid, key_ids).await?, |k| self.open_sync_key(sid, k))
    }
    async fn get_active_sync_key(&self, sid: &str) -> StoreResult<Option<SyncKey>> {
        let stored = self.inner.get_active_sync_key(sid).await?;
        stored.map(|k| self.open_sync_key(sid, k)).transpose()
    }
    async fn get_collection_states(&self, sid: &str, collections: &[String]) -> StoreResult<Vec<CollectionState>> {
        self.inner.get_collection_states(sid, collections).await
    }
    async fn set_collection_states(&self, sid: &str, updates: Vec<CollectionUpdate>) -> StoreResult<()> {
        self.inner.set_collection_states(sid, updates).await
    }
    async fn clear(&self, sid: &str) -> StoreResult<()> {
        let _w = self.writing().await;
        AppStateStore::clear(&*self.inner, sid).await
    }
}

#[async_trait]
impl KeyStore for EncryptedBackend {
    async fn get_keys(&self, sid: &str, kind: &str, ids: &[String]) -> StoreResult<Vec<Option<Blob>>> {
        let stored = self.inner.get_keys(sid, kind, ids).await?;
        stored
            .into_iter()
            .zip(ids)
            .map(|(v, id)| v.map(|b| self.open(sid, Slot::key(sid, kind, id), b)).transpose())
            .collect()
    }
    async fn write_keys(&self, sid: &str, writes: Vec<KeyWrite>) -> StoreResult<()> {
        let sealed = writes
            .into_iter()
            .map(|mut w| {
                if let Some(v) = w.value.take() {
                    w.value = Some(self.seal(sid, Slot::key(sid, &w.kind, &w.id), v)?);
                }
                Ok(w)
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let _w = self.writing().await;
        self.inner.write_keys(sid, sealed).await
    }
    async fn list_keys(&self, sid: &str, kind: &str, after: Option<&str>, limit: u32) -> StoreResult<Vec<(String, Blob)>> {
        let stored = self.inner.list_keys(sid, kind, after, limit).await?;
        stored
            .into_iter()
            .map(|(id, b)| {
                let v = self.open(sid, Slot::key(sid, kind, &id), b)?;
                Ok((id, v))
            })
            .collect()
    }
    async fn list_key_ids(&self, sid: &str, kind: &str, after: Option<&str>, limit: u32) -> StoreResult<Vec<String>> {
        self.inner.list_key_ids(sid, kind, after, limit).await
    }
    async fn list_key_types(&self, sid: &str) -> StoreResult<Vec<String>> {
        self.inner.list_key_types(sid).await
    }
    async fn clear_keys(&self, sid: &str) -> StoreResult<()> {
        let _w = self.writing().await;
        self.inner.clear_keys(sid).await
    }
}

#[async_trait]
impl SignalBatchStore for EncryptedBackend {
    /// Seals at the point the Signal cache hands its writes to the backend.
    async fn commit_signal_batch(&self, writes: &[SessionWrite], fences: &[Fence]) -> StoreResult<()> {
        if self.ring.is_none() {
            return self.inner.commit_signal_batch(writes, fences).await;
        }
        let sealed = writes
            .iter()
            .map(|w| Ok(SessionWrite { sid: Arc::clone(&w.sid), write: self.seal_write(&w.sid, &w.write)? }))
            .collect::<StoreResult<Vec<_>>>()?;
        let _w = self.writing().await;
        self.inner.commit_signal_batch(&sealed, fences).await
    }
}
