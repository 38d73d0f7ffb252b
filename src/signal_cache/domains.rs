//! The cached domains as domain traits over one session's cache, so every
//! caller (the JS classes' slow paths, tests) goes through the same rules:
//! point reads and writes use the cache; anything the cache cannot answer
//! alone (listings, deletes by pattern, clears) first waits for the
//! session's pending writes, runs on the backend, then drops what it made stale.

use std::sync::Arc;

use async_trait::async_trait;

use std::collections::HashMap;

use parking_lot::Mutex;

use super::hub::Hub;
use super::kinds::{Identities, Keys, SenderKeys, Sessions};
use super::session::SessionCache;
use crate::domain::identity::IdentityStore;
use crate::domain::keys::{KeyStore, KeyWrite};
use crate::domain::sender_key::{GroupSenderKeys, SenderKey, SenderKeyDistribution, SenderKeyStore};
use crate::domain::session::SessionStore;
use crate::domain::{Blob, SignalAddress};
use crate::error::StoreResult;

/// The cached domains of the sessions it is asked about, holding each
/// session's cache for as long as it lives (a JS domain object holds one).
pub struct CachedSignal {
    hub: Arc<Hub>,
    held: Mutex<HashMap<String, Arc<SessionCache>>>,
}

impl CachedSignal {
    pub fn new(hub: Arc<Hub>) -> Self {
        Self {
            hub,
            held: Mutex::new(HashMap::new()),
        }
    }

    /// The cache of `sid` (held from now on).
    pub fn cache(&self, sid: &str) -> Arc<SessionCache> {
        let mut held = self.held.lock();
        if let Some(c) = held.get(sid) {
            return Arc::clone(c);
        }
        let c = self.hub.session(&Arc::from(sid));
        held.insert(sid.to_owned(), Arc::clone(&c));
        c
    }

    fn backend(&self) -> &dyn crate::domain::Backend {
        &*self.hub.backend
    }

    /// Every write of `sid` staged so far is committed (or has failed).
    async fn settle(&self, sid: &str) -> StoreResult<()> {
        self.cache(sid).barrier(self.hub.config().sync_timeout).await
    }
}

/// Cached versions as plain values (what the domain traits return).
pub fn owned(values: Vec<Option<super::Versioned>>) -> Vec<Option<Blob>> {
    values.into_iter().map(|v| v.map(|(b, _)| b.to_vec())).collect()
}

#[async_trait]
impl SessionStore for CachedSignal {
    async fn has_sessions(&self, sid: &str, addresses: &[SignalAddress]) -> StoreResult<Vec<bool>> {
        Ok(self
            .cache(sid)
            .get::<Sessions>(addresses)
            .await?
            .iter()
            .map(Option::is_some)
            .collect())
    }

    async fn get_sessions(&self, sid: &str, addresses: &[SignalAddress]) -> StoreResult<Vec<Option<Blob>>> {
        Ok(owned(self.cache(sid).get::<Sessions>(addresses).await?))
    }

    async fn set_sessions(&self, sid: &str, entries: Vec<(SignalAddress, Blob)>) -> StoreResult<()> {
        let entries = entries.into_iter().map(|(a, r)| (a, Some(r))).collect();
        self.cache(sid).stage::<Sessions>(entries)?.1.wait().await
    }

    async fn delete_session(&self, sid: &str, address: &SignalAddress) -> StoreResult<()> {
        self.cache(sid)
            .stage::<Sessions>(vec![(address.clone(), None)])?
            .1
            .wait()
            .await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.settle(sid).await?;
        SessionStore::clear(self.backend(), sid).await?;
        self.cache(sid).forget_all::<Sessions>();
        Ok(())
    }
}

#[async_trait]
impl IdentityStore for CachedSignal {
    async fn get_remote_identities(&self, sid: &str, addresses: &[SignalAddress]) -> StoreResult<Vec<Option<Vec<u8>>>> {
        Ok(owned(self.cache(sid).get::<Identities>(addresses).await?))
    }

    async fn set_remote_identities(&self, sid: &str, entries: Vec<(SignalAddress, Vec<u8>)>) -> StoreResult<()> {
        let entries = entries.into_iter().map(|(a, k)| (a, Some(k))).collect();
        self.cache(sid).stage::<Identities>(entries)?.1.wait().await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.settle(sid).await?;
        IdentityStore::clear(self.backend(), sid).await?;
        self.cache(sid).forget_all::<Identities>();
        Ok(())
    }
}

#[async_trait]
impl SenderKeyStore for CachedSignal {
    async fn upsert_sender_key(&self, sid: &str, record: SenderKey) -> StoreResult<()> {
        let key = (record.group_id, record.sender);
        self.cache(sid)
            .stage::<SenderKeys>(vec![(key, Some(record.record))])?
            .1
            .wait()
            .await
    }

    /// Distributions are not cached; they go to the backend after the pending
    /// sender keys they describe.
    async fn upsert_sender_key_distributions(&self, sid: &str, records: Vec<SenderKeyDistribution>) -> StoreResult<()> {
        self.settle(sid).await?;
        self.backend().upsert_sender_key_distributions(sid, records).await
    }

    async fn get_group_sender_keys(&self, sid: &str, group_id: &str) -> StoreResult<GroupSenderKeys> {
        self.settle(sid).await?;
        self.backend().get_group_sender_keys(sid, group_id).await
    }

    async fn get_device_sender_key(
        &self,
        sid: &str,
        group_id: &str,
        sender: &SignalAddress,
    ) -> StoreResult<Option<SenderKey>> {
        let key = (group_id.to_owned(), sender.clone());
        let found = self
            .cache(sid)
            .get::<SenderKeys>(std::slice::from_ref(&key))
            .await?
            .pop()
            .flatten();
        Ok(found.map(|(record, _)| SenderKey {
            group_id: key.0,
            sender: key.1,
            record: record.to_vec(),
        }))
    }

    async fn get_device_sender_key_distributions(
        &self,
        sid: &str,
        group_id: &str,
        senders: &[SignalAddress],
    ) -> StoreResult<Vec<Option<SenderKeyDistribution>>> {
        self.backend()
            .get_device_sender_key_distributions(sid, group_id, senders)
            .await
    }

    async fn delete_device_sender_key(
        &self,
        sid: &str,
        target: &SignalAddress,
        group_id: Option<&str>,
    ) -> StoreResult<u32> {
        self.settle(sid).await?;
        let n = self.backend().delete_device_sender_key(sid, target, group_id).await?;
        self.cache(sid)
            .forget::<SenderKeys>(|(g, s)| s == target && group_id.is_none_or(|want| g == want));
        Ok(n)
    }

    async fn mark_forget_sender_key(
        &self,
        sid: &str,
        group_id: &str,
        participants: &[SignalAddress],
    ) -> StoreResult<u32> {
        self.settle(sid).await?;
        let n = self
            .backend()
            .mark_forget_sender_key(sid, group_id, participants)
            .await?;
        self.cache(sid)
            .forget::<SenderKeys>(|(g, s)| g == group_id && participants.contains(s));
        Ok(n)
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.settle(sid).await?;
        SenderKeyStore::clear(self.backend(), sid).await?;
        self.cache(sid).forget_all::<SenderKeys>();
        Ok(())
    }
}

#[async_trait]
impl KeyStore for CachedSignal {
    async fn get_keys(&self, sid: &str, kind: &str, ids: &[String]) -> StoreResult<Vec<Option<Blob>>> {
        let keys: Vec<(String, String)> = ids.iter().map(|id| (kind.to_owned(), id.clone())).collect();
        Ok(owned(self.cache(sid).get::<Keys>(&keys).await?))
    }

    async fn write_keys(&self, sid: &str, writes: Vec<KeyWrite>) -> StoreResult<()> {
        let entries = writes.into_iter().map(|w| ((w.kind, w.id), w.value)).collect();
        self.cache(sid).stage::<Keys>(entries)?.1.wait().await
    }

    async fn list_keys(
        &self,
        sid: &str,
        kind: &str,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<(String, Blob)>> {
        self.settle(sid).await?;
        self.backend().list_keys(sid, kind, after, limit).await
    }

    async fn list_key_ids(&self, sid: &str, kind: &str, after: Option<&str>, limit: u32) -> StoreResult<Vec<String>> {
        self.settle(sid).await?;
        self.backend().list_key_ids(sid, kind, after, limit).await
    }

    async fn list_key_types(&self, sid: &str) -> StoreResult<Vec<String>> {
        self.settle(sid).await?;
        self.backend().list_key_types(sid).await
    }

    async fn clear_keys(&self, sid: &str) -> StoreResult<()> {
        self.settle(sid).await?;
        self.backend().clear_keys(sid).await?;
        self.cache(sid).forget_all::<Keys>();
        Ok(())
    }
}
