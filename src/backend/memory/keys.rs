//! `keys` and group commit on the memory backend.

use async_trait::async_trait;

use super::bounded::BoundedMap;
use super::{MemoryBackend, SessionState};
use crate::config::MemoryLimits;
use crate::domain::identity::IdentityStore;
use crate::domain::keys::{KeyStore, KeyWrite, MAX_LIST_PAGE};
use crate::domain::sender_key::SenderKeyStore;
use crate::domain::session::SessionStore;
use crate::domain::lease::{check_fences, Fence};
use crate::domain::signal_batch::{SessionWrite, SignalBatchStore, SignalWrite};
use crate::domain::{Blob, StoreResult};

pub(super) struct KeyData {
    /// `(type, id) → value`, oldest-written evicted past `adapterKeys`.
    pub(super) keys: BoundedMap<(String, String), Blob>,
}

impl SessionState for KeyData {
    fn new(limits: &MemoryLimits) -> Self {
        Self {
            keys: BoundedMap::new(limits.adapter_keys),
        }
    }
}

impl KeyData {
    fn apply(&mut self, write: KeyWrite) {
        let key = (write.kind, write.id);
        match write.value {
            Some(value) => {
                self.keys.insert(key, value);
            }
            None => {
                self.keys.remove(&key);
            }
        }
    }

    /// Ids of `kind` after `after`, sorted byte-wise, at most `limit`.
    fn page(&self, kind: &str, after: Option<&str>, limit: u32) -> Vec<(&String, &Blob)> {
        let mut found: Vec<(&String, &Blob)> = self
            .keys
            .iter()
            .filter(|((k, id), _)| k == kind && after.is_none_or(|a| id.as_bytes() > a.as_bytes()))
            .map(|((_, id), v)| (id, v))
            .collect();
        found.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        found.truncate(limit.min(MAX_LIST_PAGE) as usize);
        found
    }
}

#[async_trait]
impl KeyStore for MemoryBackend {
    async fn get_keys(&self, sid: &str, kind: &str, ids: &[String]) -> StoreResult<Vec<Option<Blob>>> {
        Ok(self.keys.read(sid, |s| match s {
            Some(s) => ids
                .iter()
                .map(|id| s.keys.get(&(kind.to_owned(), id.clone())).cloned())
                .collect(),
            None => vec![None; ids.len()],
        }))
    }

    async fn write_keys(&self, sid: &str, writes: Vec<KeyWrite>) -> StoreResult<()> {
        self.keys
            .write(&self.limits, sid, |s| writes.into_iter().for_each(|w| s.apply(w)));
        Ok(())
    }

    async fn list_keys(
        &self,
        sid: &str,
        kind: &str,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<(String, Blob)>> {
        Ok(self.keys.read(sid, |s| {
            s.map(|s| {
                s.page(kind, after, limit)
                    .into_iter()
                    .map(|(id, v)| (id.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default()
        }))
    }

    async fn list_key_ids(&self, sid: &str, kind: &str, after: Option<&str>, limit: u32) -> StoreResult<Vec<String>> {
        Ok(self.keys.read(sid, |s| {
            s.map(|s| {
                s.page(kind, after, limit)
                    .into_iter()
                    .map(|(id, _)| id.clone())
                    .collect()
            })
            .unwrap_or_default()
        }))
    }

    async fn list_key_types(&self, sid: &str) -> StoreResult<Vec<String>> {
        Ok(self.keys.read(sid, |s| {
            let mut kinds: Vec<String> = s
                .map(|s| s.keys.iter().map(|((k, _), _)| k.clone()).collect())
                .unwrap_or_default();
            kinds.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            kinds.dedup();
            kinds
        }))
    }

    async fn clear_keys(&self, sid: &str) -> StoreResult<()> {
        self.keys.drop_session(sid);
        Ok(())
    }
}

#[async_trait]
impl SignalBatchStore for MemoryBackend {
    /// Memory writes cannot fail, so applying them one by one is all-or-nothing.
    /// The lease map stays locked while they apply, so no takeover lands in between.
    async fn commit_signal_batch(&self, writes: &[SessionWrite], fences: &[Fence]) -> StoreResult<()> {
        let leases = self.leases.lock().await;
        check_fences(fences, |sid| leases.get(sid).cloned())?;
        for w in writes {
            let sid = &*w.sid;
            match &w.write {
                SignalWrite::Session {
                    address,
                    record: Some(record),
                } => self.set_sessions(sid, vec![(address.clone(), record.clone())]).await?,
                SignalWrite::Session { address, record: None } => self.delete_session(sid, address).await?,
                SignalWrite::Identity { address, key } => {
                    self.set_remote_identities(sid, vec![(address.clone(), key.clone())])
                        .await?
                }
                SignalWrite::SenderKey(record) => self.upsert_sender_key(sid, record.clone()).await?,
                SignalWrite::Key(write) => self.write_keys(sid, vec![write.clone()]).await?,
            }
        }
        Ok(())
    }
}
