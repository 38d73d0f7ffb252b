//! zapo's `cacheLayer`: an opt-in, per-session in-process L1 in front of a
//! durable backend for the session, identity, senderKey and privacyToken domains.
//!
//! As in zapo, the L1 is the memory backend itself, and coherence rests on a
//! generation counter: every mutation writes the backend first, then the L1,
//! and bumps the generation; a read fills the L1 only when no mutation ran
//! during its backend fetch and the slot is still empty. There is no negative
//! caching, and no cross-process invalidation (one writer per session id).
//! session/identity/senderKey are write-through; privacyToken is
//! invalidate-on-write, because the backend merges partial records.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;

use crate::backend::memory::MemoryBackend;
use crate::config::MemoryLimits;
use crate::domain::identity::IdentityStore;
use crate::domain::privacy_token::{PrivacyToken, PrivacyTokenStore};
use crate::domain::sender_key::{GroupSenderKeys, SenderKey, SenderKeyDistribution, SenderKeyStore};
use crate::domain::session::SessionStore;
use crate::domain::{Blob, CacheTtls, SignalAddress};
use crate::error::StoreResult;

/// Which domains get an L1, and how many entries each keeps (zapo's defaults: 8192, privacyToken 10000).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheLayerConfig {
    pub session: Option<usize>,
    pub identity: Option<usize>,
    pub sender_key: Option<usize>,
    pub privacy_token: Option<usize>,
}

pub const DEFAULT_L1_ENTRIES: usize = 8_192;
pub const DEFAULT_PRIVACY_TOKEN_L1_ENTRIES: usize = 10_000;

/// A durable domain store with its L1.
pub struct Cached<T: ?Sized> {
    backend: Arc<T>,
    l1: MemoryBackend,
    generation: AtomicU64,
}

impl<T: ?Sized> Cached<T> {
    pub fn new(backend: Arc<T>, limits: MemoryLimits) -> Self {
        Self { backend, l1: MemoryBackend::new(limits, CacheTtls::default()), generation: AtomicU64::new(0) }
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

/// Limits with every cap at `n` (the L1 uses only its own domain's maps).
pub fn l1_limits(n: usize) -> MemoryLimits {
    let mut limits = MemoryLimits::default();
    for name in MemoryLimits::NAMES {
        if let Some(slot) = limits.slot(name) {
            *slot = n.max(1);
        }
    }
    limits
}

/// Positions of `None` in a batch.
fn misses<V>(cached: &[Option<V>]) -> Vec<usize> {
    cached.iter().enumerate().filter(|(_, v)| v.is_none()).map(|(i, _)| i).collect()
}

#[async_trait]
impl<T: SessionStore + ?Sized> SessionStore for Cached<T> {
    /// Always the backend, as zapo does: existence checks must not trust a partial L1.
    async fn has_sessions(&self, sid: &str, addresses: &[SignalAddress]) -> StoreResult<Vec<bool>> {
        self.backend.has_sessions(sid, addresses).await
    }

    async fn get_sessions(&self, sid: &str, addresses: &[SignalAddress]) -> StoreResult<Vec<Option<Blob>>> {
        let mut out = SessionStore::get_sessions(&self.l1, sid, addresses).await?;
        let missing = misses(&out);
        if missing.is_empty() {
            return Ok(out);
        }
        let gen = self.generation();
        let wanted: Vec<SignalAddress> = missing.iter().map(|&i| addresses[i].clone()).collect();
        let fetched = self.backend.get_sessions(sid, &wanted).await?;
        let mut fill = Vec::new();
        for (&i, record) in missing.iter().zip(fetched) {
            if let Some(r) = &record {
                fill.push((addresses[i].clone(), r.clone()));
            }
            out[i] = record;
        }
        if gen == self.generation() && !fill.is_empty() {
            let current = SessionStore::get_sessions(&self.l1, sid, &fill.iter().map(|(a, _)| a.clone()).collect::<Vec<_>>()).await?;
            let empty: Vec<_> = fill.into_iter().zip(current).filter(|(_, c)| c.is_none()).map(|(f, _)| f).collect();
            SessionStore::set_sessions(&self.l1, sid, empty).await?;
        }
        Ok(out)
    }

    async fn set_sessions(&self, sid: &str, entries: Vec<(SignalAddress, Blob)>) -> StoreResult<()> {
        self.bump();
        self.backend.set_sessions(sid, entries.clone()).await?;
        SessionStore::set_sessions(&self.l1, sid, entries).await
    }

    async fn delete_session(&self, sid: &str, address: &SignalAddress) -> StoreResult<()> {
        self.bump();
        self.backend.delete_session(sid, address).await?;
        SessionStore::delete_session(&self.l1, sid, address).await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.bump();
        self.backend.clear(sid).await?;
        SessionStore::clear(&self.l1, sid).await
    }
}

#[async_trait]
impl<T: IdentityStore + ?Sized> IdentityStore for Cached<T> {
    async fn get_remote_identities(&self, sid: &str, addresses: &[SignalAddress]) -> StoreResult<Vec<Option<Vec<u8>>>> {
        let mut out = IdentityStore::get_remote_identities(&self.l1, sid, addresses).await?;
        let missing = misses(&out);
        if missing.is_empty() {
            return Ok(out);
        }
        let gen = self.generation();
        let wanted: Vec<SignalAddress> = missing.iter().map(|&i| addresses[i].clone()).collect();
        let fetched = self.backend.get_remote_identities(sid, &wanted).await?;
        let mut fill = Vec::new();
        for (&i, key) in missing.iter().zip(fetched) {
            if let Some(k) = &key {
                fill.push((addresses[i].clone(), k.clone()));
            }
            out[i] = key;
        }
        if gen == self.generation() && !fill.is_empty() {
            let current = IdentityStore::get_remote_identities(&self.l1, sid, &fill.iter().map(|(a, _)| a.clone()).collect::<Vec<_>>()).await?;
            let empty: Vec<_> = fill.into_iter().zip(current).filter(|(_, c)| c.is_none()).map(|(f, _)| f).collect();
            IdentityStore::set_remote_identities(&self.l1, sid, empty).await?;
        }
        Ok(out)
    }

    async fn set_remote_identities(&self, sid: &str, entries: Vec<(SignalAddress, Vec<u8>)>) -> StoreResult<()> {
        self.bump();
        self.backend.set_remote_identities(sid, entries.clone()).await?;
        IdentityStore::set_remote_identities(&self.l1, sid, entries).await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.bump();
        self.backend.clear(sid).await?;
        IdentityStore::clear(&self.l1, sid).await
    }
}

#[async_trait]
impl<T: SenderKeyStore + ?Sized> SenderKeyStore for Cached<T> {
    async fn upsert_sender_key(&self, sid: &str, record: SenderKey) -> StoreResult<()> {
        self.bump();
        self.backend.upsert_sender_key(sid, record.clone()).await?;
        SenderKeyStore::upsert_sender_key(&self.l1, sid, record).await
    }

    async fn upsert_sender_key_distributions(&self, sid: &str, records: Vec<SenderKeyDistribution>) -> StoreResult<()> {
        self.bump();
        self.backend.upsert_sender_key_distributions(sid, records.clone()).await?;
        SenderKeyStore::upsert_sender_key_distributions(&self.l1, sid, records).await
    }

    /// Whole-group reads always go to the backend: the L1 may hold only part of a group.
    async fn get_group_sender_keys(&self, sid: &str, group_id: &str) -> StoreResult<GroupSenderKeys> {
        self.backend.get_group_sender_keys(sid, group_id).await
    }

    async fn get_device_sender_key(&self, sid: &str, group_id: &str, sender: &SignalAddress) -> StoreResult<Option<SenderKey>> {
        if let Some(hit) = SenderKeyStore::get_device_sender_key(&self.l1, sid, group_id, sender).await? {
            return Ok(Some(hit));
        }
        let gen = self.generation();
        let fetched = self.backend.get_device_sender_key(sid, group_id, sender).await?;
        if let Some(record) = &fetched {
            if gen == self.generation() && SenderKeyStore::get_device_sender_key(&self.l1, sid, group_id, sender).await?.is_none() {
                SenderKeyStore::upsert_sender_key(&self.l1, sid, record.clone()).await?;
            }
        }
        Ok(fetched)
    }

    async fn get_device_sender_key_distributions(
        &self,
        sid: &str,
        group_id: &str,
        senders: &[SignalAddress],
    ) -> StoreResult<Vec<Option<SenderKeyDistribution>>> {
        let mut out = SenderKeyStore::get_device_sender_key_distributions(&self.l1, sid, group_id, senders).await?;
        let missing = misses(&out);
        if missing.is_empty() {
            return Ok(out);
        }
        let gen = self.generation();
        let wanted: Vec<SignalAddress> = missing.iter().map(|&i| senders[i].clone()).collect();
        let fetched = self.backend.get_device_sender_key_distributions(sid, group_id, &wanted).await?;
        let mut fill = Vec::new();
        for (&i, record) in missing.iter().zip(fetched) {
            if let Some(r) = &record {
                fill.push(r.clone());
            }
            out[i] = record;
        }
        if gen == self.generation() && !fill.is_empty() {
            let addrs: Vec<SignalAddress> = fill.iter().map(|d| d.sender.clone()).collect();
            let current = SenderKeyStore::get_device_sender_key_distributions(&self.l1, sid, group_id, &addrs).await?;
            let empty: Vec<_> = fill.into_iter().zip(current).filter(|(_, c)| c.is_none()).map(|(f, _)| f).collect();
            SenderKeyStore::upsert_sender_key_distributions(&self.l1, sid, empty).await?;
        }
        Ok(out)
    }

    async fn delete_device_sender_key(&self, sid: &str, target: &SignalAddress, group_id: Option<&str>) -> StoreResult<u32> {
        self.bump();
        let deleted = self.backend.delete_device_sender_key(sid, target, group_id).await?;
        SenderKeyStore::delete_device_sender_key(&self.l1, sid, target, group_id).await?;
        Ok(deleted)
    }

    async fn mark_forget_sender_key(&self, sid: &str, group_id: &str, participants: &[SignalAddress]) -> StoreResult<u32> {
        self.bump();
        let deleted = self.backend.mark_forget_sender_key(sid, group_id, participants).await?;
        SenderKeyStore::mark_forget_sender_key(&self.l1, sid, group_id, participants).await?;
        Ok(deleted)
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.bump();
        self.backend.clear(sid).await?;
        SenderKeyStore::clear(&self.l1, sid).await
    }
}

#[async_trait]
impl<T: PrivacyTokenStore + ?Sized> PrivacyTokenStore for Cached<T> {
    /// Invalidate-on-write: the backend merges fields, so the next read refills from its result.
    async fn upsert_privacy_tokens(&self, sid: &str, records: Vec<PrivacyToken>) -> StoreResult<()> {
        self.bump();
        let jids: Vec<String> = records.iter().map(|r| r.jid.clone()).collect();
        self.backend.upsert_privacy_tokens(sid, records).await?;
        for jid in jids {
            PrivacyTokenStore::delete_privacy_token(&self.l1, sid, &jid).await?;
        }
        Ok(())
    }

    async fn get_privacy_token(&self, sid: &str, jid: &str) -> StoreResult<Option<PrivacyToken>> {
        if let Some(hit) = PrivacyTokenStore::get_privacy_token(&self.l1, sid, jid).await? {
            return Ok(Some(hit));
        }
        let gen = self.generation();
        let fetched = self.backend.get_privacy_token(sid, jid).await?;
        if let Some(record) = &fetched {
            if gen == self.generation() && PrivacyTokenStore::get_privacy_token(&self.l1, sid, jid).await?.is_none() {
                PrivacyTokenStore::upsert_privacy_tokens(&self.l1, sid, vec![record.clone()]).await?;
            }
        }
        Ok(fetched)
    }

    async fn delete_privacy_token(&self, sid: &str, jid: &str) -> StoreResult<u32> {
        self.bump();
        let deleted = self.backend.delete_privacy_token(sid, jid).await?;
        PrivacyTokenStore::delete_privacy_token(&self.l1, sid, jid).await?;
        Ok(deleted)
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.bump();
        self.backend.clear(sid).await?;
        PrivacyTokenStore::clear(&self.l1, sid).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Backend;

    fn addr(u: &str) -> SignalAddress {
        SignalAddress::new(u, None, 0)
    }

    #[tokio::test]
    async fn reads_fill_the_l1_and_writes_go_through() {
        let durable: Arc<MemoryBackend> = Arc::new(MemoryBackend::new(MemoryLimits::default(), CacheTtls::default()));
        let cached = Cached::new(Arc::clone(&durable) as Arc<dyn SessionStore>, l1_limits(2));
        SessionStore::set_sessions(&*durable, "s", vec![(addr("a"), vec![1])]).await.unwrap();
        assert_eq!(cached.get_sessions("s", &[addr("a"), addr("b")]).await.unwrap(), vec![Some(vec![1]), None]);
        // The L1 now serves `a` even when the backend changes behind it (single-writer assumption).
        SessionStore::set_sessions(&*durable, "s", vec![(addr("a"), vec![2])]).await.unwrap();
        assert_eq!(cached.get_sessions("s", &[addr("a")]).await.unwrap(), vec![Some(vec![1])]);
        // Writes through the cache reach both.
        cached.set_sessions("s", vec![(addr("a"), vec![3])]).await.unwrap();
        assert_eq!(SessionStore::get_sessions(&*durable, "s", &[addr("a")]).await.unwrap(), vec![Some(vec![3])]);
        cached.delete_session("s", &addr("a")).await.unwrap();
        assert_eq!(cached.get_sessions("s", &[addr("a")]).await.unwrap(), vec![None]);
        durable.release_session("s", crate::domain::Domain::Session);
    }

    #[tokio::test]
    async fn privacy_tokens_are_invalidated_not_cached_on_write() {
        let durable: Arc<MemoryBackend> = Arc::new(MemoryBackend::new(MemoryLimits::default(), CacheTtls::default()));
        let cached = Cached::new(Arc::clone(&durable) as Arc<dyn PrivacyTokenStore>, l1_limits(8));
        let base = PrivacyToken { jid: "j".into(), tc_token: Some(vec![1]), updated_at_ms: 1, ..Default::default() };
        cached.upsert_privacy_tokens("s", vec![base]).await.unwrap();
        assert_eq!(cached.get_privacy_token("s", "j").await.unwrap().unwrap().tc_token, Some(vec![1]));
        let partial = PrivacyToken { jid: "j".into(), nct_salt: Some(vec![9]), updated_at_ms: 2, ..Default::default() };
        cached.upsert_privacy_tokens("s", vec![partial]).await.unwrap();
        let merged = cached.get_privacy_token("s", "j").await.unwrap().unwrap();
        assert_eq!((merged.tc_token, merged.nct_salt, merged.updated_at_ms), (Some(vec![1]), Some(vec![9]), 2));
    }
}
