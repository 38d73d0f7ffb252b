//! `signal`: registration info, the current signed pre-key and its rotation time.

use super::{KeyPair, StoreResult};
use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationInfo {
    pub registration_id: u32,
    pub identity_key_pair: KeyPair,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPreKey {
    pub key_id: u32,
    pub key_pair: KeyPair,
    pub signature: Vec<u8>,
    pub uploaded: Option<bool>,
}

#[async_trait]
pub trait SignalStore: Send + Sync {
    async fn get_registration_info(&self, sid: &str) -> StoreResult<Option<RegistrationInfo>>;
    async fn set_registration_info(&self, sid: &str, info: RegistrationInfo) -> StoreResult<()>;
    async fn get_signed_pre_key(&self, sid: &str) -> StoreResult<Option<SignedPreKey>>;
    /// Only the current signed pre-key is kept: this replaces it.
    async fn set_signed_pre_key(&self, sid: &str, record: SignedPreKey) -> StoreResult<()>;
    /// The current signed pre-key when its id is `key_id`, else `None`.
    async fn get_signed_pre_key_by_id(&self, sid: &str, key_id: u32) -> StoreResult<Option<SignedPreKey>>;
    async fn set_signed_pre_key_rotation_ts(&self, sid: &str, value: Option<i64>) -> StoreResult<()>;
    async fn get_signed_pre_key_rotation_ts(&self, sid: &str) -> StoreResult<Option<i64>>;
    async fn clear(&self, sid: &str) -> StoreResult<()>;
}
