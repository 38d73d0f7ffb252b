//! The four cached domains: what keys an entry, how a miss is fetched from
//! the backend (in one call where the backend allows), and what write a
//! cached value becomes in a group commit.

use std::future::Future;
use std::hash::Hash;

use super::entries::Entries;
use crate::domain::keys::KeyWrite;
use crate::domain::sender_key::SenderKey;
use crate::domain::signal_batch::SignalWrite;
use crate::domain::{Backend, SignalAddress};
use crate::error::{StoreError, StoreResult};

/// Every cached domain of one session.
pub struct Maps {
    pub sessions: Entries<SignalAddress>,
    pub identities: Entries<SignalAddress>,
    pub sender_keys: Entries<SenderKeyId>,
    pub keys: Entries<KeyId>,
}

/// `(groupId, sender)`.
pub type SenderKeyId = (String, SignalAddress);
/// `(type, id)` of the adapters' key domain.
pub type KeyId = (String, String);

pub trait Kind: Send + Sync + 'static {
    type Key: Hash + Eq + Clone + Send + Sync + 'static;
    const NAME: &'static str;

    fn map(maps: &mut Maps) -> &mut Entries<Self::Key>;

    /// The group-commit write of `value` (`None` deletes) under `key`.
    fn write(key: &Self::Key, value: Option<Vec<u8>>) -> StoreResult<SignalWrite>;

    /// Backend values of `keys` (distinct), positional.
    fn fetch<'a>(
        backend: &'a dyn Backend,
        sid: &'a str,
        keys: &'a [Self::Key],
    ) -> impl Future<Output = StoreResult<Vec<Option<Vec<u8>>>>> + Send + 'a;
}

fn no_delete(domain: &str) -> StoreError {
    StoreError::invalid_argument(format!("the {domain} domain has no per-key delete"))
}

pub struct Sessions;
pub struct Identities;
pub struct SenderKeys;
pub struct Keys;

impl Kind for Sessions {
    type Key = SignalAddress;
    const NAME: &'static str = "session";

    fn map(maps: &mut Maps) -> &mut Entries<SignalAddress> {
        &mut maps.sessions
    }

    fn write(key: &SignalAddress, record: Option<Vec<u8>>) -> StoreResult<SignalWrite> {
        Ok(SignalWrite::Session {
            address: key.clone(),
            record,
        })
    }

    fn fetch<'a>(
        backend: &'a dyn Backend,
        sid: &'a str,
        keys: &'a [SignalAddress],
    ) -> impl Future<Output = StoreResult<Vec<Option<Vec<u8>>>>> + Send + 'a {
        backend.get_sessions(sid, keys)
    }
}

impl Kind for Identities {
    type Key = SignalAddress;
    const NAME: &'static str = "identity";

    fn map(maps: &mut Maps) -> &mut Entries<SignalAddress> {
        &mut maps.identities
    }

    fn write(key: &SignalAddress, value: Option<Vec<u8>>) -> StoreResult<SignalWrite> {
        let key_bytes = value.ok_or_else(|| no_delete(Self::NAME))?;
        Ok(SignalWrite::Identity {
            address: key.clone(),
            key: key_bytes,
        })
    }

    fn fetch<'a>(
        backend: &'a dyn Backend,
        sid: &'a str,
        keys: &'a [SignalAddress],
    ) -> impl Future<Output = StoreResult<Vec<Option<Vec<u8>>>>> + Send + 'a {
        backend.get_remote_identities(sid, keys)
    }
}

impl Kind for SenderKeys {
    type Key = SenderKeyId;
    const NAME: &'static str = "senderKey";

    fn map(maps: &mut Maps) -> &mut Entries<SenderKeyId> {
        &mut maps.sender_keys
    }

    fn write((group_id, sender): &SenderKeyId, record: Option<Vec<u8>>) -> StoreResult<SignalWrite> {
        let record = record.ok_or_else(|| no_delete(Self::NAME))?;
        Ok(SignalWrite::SenderKey(SenderKey {
            group_id: group_id.clone(),
            sender: sender.clone(),
            record,
        }))
    }

    /// The backend reads one sender key per call; a batch of misses is rare
    /// (one sender key is read per group message).
    async fn fetch(backend: &dyn Backend, sid: &str, keys: &[SenderKeyId]) -> StoreResult<Vec<Option<Vec<u8>>>> {
        let mut out = Vec::with_capacity(keys.len());
        for (group_id, sender) in keys {
            out.push(
                backend
                    .get_device_sender_key(sid, group_id, sender)
                    .await?
                    .map(|r| r.record),
            );
        }
        Ok(out)
    }
}

impl Kind for Keys {
    type Key = KeyId;
    const NAME: &'static str = "keys";

    fn map(maps: &mut Maps) -> &mut Entries<KeyId> {
        &mut maps.keys
    }

    fn write((kind, id): &KeyId, value: Option<Vec<u8>>) -> StoreResult<SignalWrite> {
        Ok(SignalWrite::Key(KeyWrite {
            kind: kind.clone(),
            id: id.clone(),
            value,
        }))
    }

    /// One backend call per key type among the misses (a `get` names one type).
    async fn fetch(backend: &dyn Backend, sid: &str, keys: &[KeyId]) -> StoreResult<Vec<Option<Vec<u8>>>> {
        let mut out: Vec<Option<Vec<u8>>> = vec![None; keys.len()];
        let mut kinds: Vec<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        for kind in kinds {
            let positions: Vec<usize> = (0..keys.len()).filter(|&i| keys[i].0 == kind).collect();
            let ids: Vec<String> = positions.iter().map(|&i| keys[i].1.clone()).collect();
            let values = backend.get_keys(sid, kind, &ids).await?;
            for (i, value) in positions.into_iter().zip(values) {
                out[i] = value;
            }
        }
        Ok(out)
    }
}
