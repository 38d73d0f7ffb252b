//! `preKey`: one-time pre-keys, the next-id counter and the server flag.
//!
//! zapo's `getOrGenPreKeys(count, generator)` calls a JS generator, so it is
//! split in two backend steps around it: [`PreKeyStore::reserve_pre_keys`]
//! returns the available keys and atomically reserves ids for the rest, and
//! [`PreKeyStore::insert_generated_pre_keys`] stores what the generator made.

use super::{KeyPair, StoreResult};
use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreKey {
    pub key_id: u32,
    pub key_pair: KeyPair,
    pub uploaded: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PreKeyReservation {
    /// Not-uploaded keys, lowest id first, at most `count`.
    pub available: Vec<PreKey>,
    /// Fresh ids (from `nextPreKeyId`, which is advanced past them) for the generator.
    pub reserved_ids: Vec<u32>,
}

#[async_trait]
pub trait PreKeyStore: Send + Sync {
    /// Upsert; raises the next-id counter to at least `key_id + 1`.
    async fn put_pre_key(&self, sid: &str, record: PreKey) -> StoreResult<()>;
    /// `count` is validated by the caller (positive).
    async fn reserve_pre_keys(&self, sid: &str, count: u32) -> StoreResult<PreKeyReservation>;
    /// Inserts generated keys **only where the id is not stored yet** (a
    /// colliding id is left alone), raises the counter past the highest id, and
    /// returns how many rows were inserted. The caller fails with "no progress"
    /// when that is 0 (zapo PR #147), then reserves again until `count` keys exist.
    async fn insert_generated_pre_keys(&self, sid: &str, records: Vec<PreKey>) -> StoreResult<u32>;
    async fn get_pre_key_by_id(&self, sid: &str, key_id: u32) -> StoreResult<Option<PreKey>>;
    /// Positional: `None` for ids that are absent.
    async fn get_pre_keys_by_id(&self, sid: &str, key_ids: &[u32]) -> StoreResult<Vec<Option<PreKey>>>;
    /// Atomic read-and-delete.
    async fn consume_pre_key_by_id(&self, sid: &str, key_id: u32) -> StoreResult<Option<PreKey>>;
    /// Marks every key with id ≤ `key_id` uploaded. Fails with
    /// `STORE_INVALID_ARGUMENT` when `key_id >= nextPreKeyId` (`key_id < 0` is rejected by the caller).
    async fn mark_key_as_uploaded(&self, sid: &str, key_id: u32) -> StoreResult<()>;
    async fn set_server_has_pre_keys(&self, sid: &str, value: bool) -> StoreResult<()>;
    async fn get_server_has_pre_keys(&self, sid: &str) -> StoreResult<bool>;
    /// Deletes every key, resets the counter to 1 and the flag to false.
    async fn clear(&self, sid: &str) -> StoreResult<()>;
}
