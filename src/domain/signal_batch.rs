//! Group commit: the Signal object cache hands a backend every write that is
//! pending when a flush starts, across all sessions that share the backend,
//! and the backend applies them in **one** transaction (pipeline, bulk write).

use std::sync::Arc;

use super::keys::KeyWrite;
use super::lease::Fence;
use super::sender_key::SenderKey;
use super::{Blob, SignalAddress, StoreResult};
use async_trait::async_trait;

/// One cached write. `None` values delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignalWrite {
    Session {
        address: SignalAddress,
        record: Option<Blob>,
    },
    Identity {
        address: SignalAddress,
        key: Vec<u8>,
    },
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
    /// When one key appears twice, the later write wins. With `fences`
    /// (ownership mode), the batch is refused with `STORE_SESSION_LOCKED`
    /// unless every fence's token is still its session's current lease
    /// token, checked in the same transaction as the writes.
    async fn commit_signal_batch(&self, writes: &[SessionWrite], fences: &[Fence]) -> StoreResult<()>;
}

/// A batch split by record kind, one write per key (the last one given),
/// each list sorted by key so concurrent batches take row locks in one order.
#[derive(Debug, Default)]
pub struct Grouped<'a> {
    pub session_puts: Vec<(&'a str, &'a SignalAddress, &'a [u8])>,
    pub session_deletes: Vec<(&'a str, &'a SignalAddress)>,
    pub identity_puts: Vec<(&'a str, &'a SignalAddress, &'a [u8])>,
    pub sender_keys: Vec<(&'a str, &'a SenderKey)>,
    pub key_puts: Vec<(&'a str, &'a KeyWrite, &'a [u8])>,
    pub key_deletes: Vec<(&'a str, &'a KeyWrite)>,
}

impl Grouped<'_> {
    pub fn is_empty(&self) -> bool {
        self.session_puts.is_empty()
            && self.session_deletes.is_empty()
            && self.identity_puts.is_empty()
            && self.sender_keys.is_empty()
            && self.key_puts.is_empty()
            && self.key_deletes.is_empty()
    }
}

/// Identity of the record a write targets: writes with equal keys replace each other.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum RecordKey<'a> {
    Session(&'a str, &'a SignalAddress),
    Identity(&'a str, &'a SignalAddress),
    SenderKey(&'a str, &'a str, &'a SignalAddress),
    Key(&'a str, &'a str, &'a str),
}

fn record_key(w: &SessionWrite) -> RecordKey<'_> {
    let sid = &*w.sid;
    match &w.write {
        SignalWrite::Session { address, .. } => RecordKey::Session(sid, address),
        SignalWrite::Identity { address, .. } => RecordKey::Identity(sid, address),
        SignalWrite::SenderKey(r) => RecordKey::SenderKey(sid, &r.group_id, &r.sender),
        SignalWrite::Key(k) => RecordKey::Key(sid, &k.kind, &k.id),
    }
}

/// Keeps the last write per record and splits the batch by kind, in key order.
pub fn group(writes: &[SessionWrite]) -> Grouped<'_> {
    let mut last: std::collections::BTreeMap<RecordKey<'_>, &SessionWrite> = std::collections::BTreeMap::new();
    for w in writes {
        last.insert(record_key(w), w);
    }
    let mut g = Grouped::default();
    for w in last.into_values() {
        let sid = &*w.sid;
        match &w.write {
            SignalWrite::Session {
                address,
                record: Some(r),
            } => g.session_puts.push((sid, address, r)),
            SignalWrite::Session { address, record: None } => g.session_deletes.push((sid, address)),
            SignalWrite::Identity { address, key } => g.identity_puts.push((sid, address, key)),
            SignalWrite::SenderKey(r) => g.sender_keys.push((sid, r)),
            SignalWrite::Key(k) => match &k.value {
                Some(v) => g.key_puts.push((sid, k, v)),
                None => g.key_deletes.push((sid, k)),
            },
        }
    }
    g
}

/// `write_keys` of one session as a batch, for backends that implement both through one path.
pub fn key_writes(sid: &str, writes: Vec<KeyWrite>) -> Vec<SessionWrite> {
    let sid: Arc<str> = Arc::from(sid);
    writes
        .into_iter()
        .map(|k| SessionWrite {
            sid: Arc::clone(&sid),
            write: SignalWrite::Key(k),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(user: &str) -> SignalAddress {
        SignalAddress::new(user, None, 0)
    }

    #[test]
    fn the_last_write_per_record_wins_and_kinds_are_split() {
        let a: Arc<str> = Arc::from("a");
        let b: Arc<str> = Arc::from("b");
        let w = |sid: &Arc<str>, write| SessionWrite {
            sid: Arc::clone(sid),
            write,
        };
        let writes = vec![
            w(
                &a,
                SignalWrite::Session {
                    address: addr("x"),
                    record: Some(vec![1]),
                },
            ),
            w(
                &b,
                SignalWrite::Session {
                    address: addr("x"),
                    record: Some(vec![2]),
                },
            ),
            w(
                &a,
                SignalWrite::Session {
                    address: addr("x"),
                    record: None,
                },
            ),
            w(
                &a,
                SignalWrite::Key(KeyWrite {
                    kind: "t".into(),
                    id: "1".into(),
                    value: None,
                }),
            ),
            w(
                &a,
                SignalWrite::Key(KeyWrite {
                    kind: "t".into(),
                    id: "1".into(),
                    value: Some(vec![9]),
                }),
            ),
            w(
                &a,
                SignalWrite::Identity {
                    address: addr("x"),
                    key: vec![5],
                },
            ),
        ];
        let g = group(&writes);
        assert_eq!(g.session_puts.len(), 1);
        assert_eq!(g.session_puts[0].0, "b");
        assert_eq!(g.session_deletes.len(), 1);
        assert_eq!(g.session_deletes[0].0, "a");
        assert_eq!(g.key_puts.len(), 1);
        assert!(g.key_deletes.is_empty());
        assert_eq!(g.key_puts[0].2, &[9][..]);
        assert_eq!(g.identity_puts.len(), 1);
        assert!(!g.is_empty());
        assert!(group(&[]).is_empty());
    }
}
