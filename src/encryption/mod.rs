//! Encryption at rest: AES-256-GCM over the secret values of a backend.
//!
//! [`EncryptedBackend`] sits between the domain stores (and the Signal
//! cache's group commit) and a backend. It seals the secret bytes on their
//! way into the backend and opens them on the way out, so caches above it
//! hold plaintext (hits cost nothing) and everything the backend stores,
//! exports or replicates is sealed. Sealed: auth credentials, the identity
//! key pair's private key, the signed pre-key's and pre-keys' private keys,
//! Signal session records, remote identity keys, sender-key records,
//! app-state sync key data, and every value of the adapters' `keys` domain.
//! Index columns (ids, addresses, group ids, key ids, timestamps, flags) stay
//! as they are: backends look rows up by them.
//!
//! Without a key ring it still refuses to hand out sealed bytes as values
//! (`STORE_DECRYPT_FAILED`), so a store opened without the key fails loudly.
//!
//! [`rotate::rotate`] re-seals stored values with the ring's current key.

pub mod envelope;
pub mod keys;
mod passthrough;
pub mod rotate;
mod secrets;

#[cfg(test)]
pub mod at_rest;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use tokio::sync::{RwLock, RwLockReadGuard};

use self::envelope::{Plaintext, Slot};
use self::keys::KeyRing;
use crate::domain::futures_close::CloseFuture;
use crate::domain::{Backend, Domain};
use crate::error::StoreResult;

/// How a store encrypts: its key ring and what it does with plaintext values.
#[derive(Clone)]
pub struct EncryptionConfig {
    pub ring: Arc<KeyRing>,
    pub plaintext: Plaintext,
}

pub struct EncryptedBackend {
    inner: Arc<dyn Backend>,
    ring: Option<Arc<KeyRing>>,
    plaintext: Plaintext,
    /// Writes of secret kinds share it; a rotation batch takes it alone, so
    /// no write of this process lands between a batch's read and its rewrite
    /// (which would put the older value back).
    rewrite: RwLock<()>,
}

impl EncryptedBackend {
    pub fn new(inner: Arc<dyn Backend>, config: EncryptionConfig) -> Self {
        Self { inner, ring: Some(config.ring), plaintext: config.plaintext, rewrite: RwLock::new(()) }
    }

    /// No key: values pass through as stored, but sealed ones are refused.
    pub fn guard(inner: Arc<dyn Backend>) -> Self {
        Self { inner, ring: None, plaintext: Plaintext::Accept, rewrite: RwLock::new(()) }
    }

    pub fn inner(&self) -> &Arc<dyn Backend> {
        &self.inner
    }

    pub fn ring(&self) -> Option<&KeyRing> {
        self.ring.as_deref()
    }

    /// The bytes to store for `value` of `slot`.
    fn seal(&self, sid: &str, slot: Slot, value: Vec<u8>) -> StoreResult<Vec<u8>> {
        match &self.ring {
            Some(ring) => envelope::seal_or_keep(ring, sid, &slot, value),
            None => Ok(value),
        }
    }

    /// The value of stored bytes of `slot`.
    fn open(&self, sid: &str, slot: Slot, stored: Vec<u8>) -> StoreResult<Vec<u8>> {
        envelope::open(self.ring.as_deref(), self.plaintext, sid, &slot, stored)
    }

    /// Held by every write of a secret kind (shared; only rotation excludes it).
    async fn writing(&self) -> Option<RwLockReadGuard<'_, ()>> {
        match self.ring {
            Some(_) => Some(self.rewrite.read().await),
            None => None,
        }
    }
}

impl Backend for EncryptedBackend {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    fn events(&self) -> &crate::events::Events {
        self.inner.events()
    }
    fn close(&self) -> CloseFuture<'_> {
        self.inner.close()
    }
    fn release_session(&self, sid: &str, domain: Domain) {
        self.inner.release_session(sid, domain)
    }
    fn check_text(&self, field: &str, value: &str) -> StoreResult<()> {
        self.inner.check_text(field, value)
    }
}
