//! Group commit: the Signal object cache hands a backend every write that is
//! pending when a flush starts, across all sessions that share the backend,
//! and the backend applies them in **one** transaction (pipeline, bulk write).

use std::sync::Arc;

use super::keys::KeyWrite;
use super::sender_key::SenderKey;
use super::{Blob, SignalAddress, StoreResult};
use async_trait::async_trait;

/// One cached write. `None` values delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignalWrite {
    Session { address: SignalAddress, record: Option<Blob> },
    Identity { address: SignalAddress, key: Vec<u8> },
    SenderKey(SenderKey),
    Key(KeyWrite),
}

/// A write of one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionWrite {
    pub sid: Arc<str>,
    pub write: SignalWrite,
}

#[async_trait]
pub trait SignalBatchStore: Send + Sync {
    /// Applies every write in one transaction: all land, or none does.
    /// When one key appears twice, the later write wins.
    async fn commit_signal_batch(&self, writes: &[SessionWrite]) -> StoreResult<()>;
}
