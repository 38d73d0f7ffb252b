//! Key rotation: re-seal every stored secret value with the ring's current
//! key, in batches, through the backend's snapshot API (keyset-paged export
//! of each kind, then the same records written back).
//!
//! Every value stays readable throughout: the ring holds the old keys and the
//! new one, and a batch rewrites records in place. Values written while it
//! runs are sealed with the current key already. A batch excludes this
//! store's writes of secret kinds while it reads and rewrites its records, so
//! a concurrent write is never overwritten with the older value. Writers in
//! *other* processes are not excluded: rotate from the process that owns the
//! sessions, or while the others are stopped.
//!
//! Plaintext values (written before encryption was on) are sealed too, so a
//! rotation with a one-key ring is also how existing data gets encrypted.

use super::envelope::{self, Form, Plaintext, Slot};
use super::keys::KeyRing;
use super::EncryptedBackend;
use crate::domain::snapshot::{import_records, Record, RecordKind, MAX_PAGE};
use crate::error::{StoreError, StoreResult};

/// Kinds that hold sealed values.
pub const SECRET_KINDS: [RecordKind; 9] = [
    RecordKind::Auth,
    RecordKind::Registration,
    RecordKind::SignedPreKey,
    RecordKind::PreKey,
    RecordKind::Session,
    RecordKind::Identity,
    RecordKind::SenderKey,
    RecordKind::AppStateSyncKey,
    RecordKind::Key,
];

/// Records per batch when the caller does not say.
pub const DEFAULT_BATCH: u32 = 500;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RotationReport {
    /// Sessions walked.
    pub sessions: u64,
    /// Records holding a secret value that were read.
    pub records: u64,
    /// Records rewritten with the current key (the others had it already).
    pub reencrypted: u64,
    /// Of those, records that were stored unencrypted.
    pub from_plaintext: u64,
}

/// Re-seals every record of `kinds` (those of [`SECRET_KINDS`] this store
/// routes to `b`) in every session of `b`, `batch` records at a time.
pub async fn rotate(b: &EncryptedBackend, kinds: &[RecordKind], batch: u32) -> StoreResult<RotationReport> {
    let ring = b.ring().ok_or_else(|| {
        StoreError::invalid_config("rotateEncryptionKey needs createStore({ encryption: { key } or { keys, current } })")
    })?;
    if batch == 0 || batch > MAX_PAGE {
        return Err(StoreError::invalid_argument(format!("batchSize must be from 1 to {MAX_PAGE}, got {batch}")));
    }
    let inner = b.inner();
    let mut report = RotationReport::default();
    let mut after_sid: Option<String> = None;
    loop {
        let sids = inner.list_session_ids(after_sid.as_deref(), MAX_PAGE).await?;
        let last_page = (sids.len() as u32) < MAX_PAGE;
        for sid in &sids {
            report.sessions += 1;
            for &kind in kinds.iter().filter(|k| SECRET_KINDS.contains(k)) {
                rotate_kind(b, ring, sid, kind, batch, &mut report).await?;
            }
        }
        if last_page {
            return Ok(report);
        }
        after_sid = sids.last().cloned();
    }
}

async fn rotate_kind(
    b: &EncryptedBackend,
    ring: &KeyRing,
    sid: &str,
    kind: RecordKind,
    batch: u32,
    report: &mut RotationReport,
) -> StoreResult<()> {
    let inner = b.inner();
    let mut after = None;
    loop {
        let guard = b.rewrite.write().await;
        let page = inner.export_kind(sid, kind, after.as_ref(), batch).await?;
        let mut rewrite: Vec<Record> = Vec::new();
        for record in &page {
            report.records += 1;
            if let Some((r, was_plain)) = reseal(ring, sid, record.clone())? {
                report.reencrypted += 1;
                report.from_plaintext += u64::from(was_plain);
                rewrite.push(r);
            }
        }
        if !rewrite.is_empty() {
            import_records(&**inner, sid, rewrite).await?;
        }
        drop(guard);
        if (page.len() as u32) < batch {
            return Ok(());
        }
        after = page.last().map(Record::sort_key);
    }
}

/// The record with its secret value sealed by the current key, or `None`
/// when it is sealed by that key already.
fn reseal(ring: &KeyRing, sid: &str, record: Record) -> StoreResult<Option<(Record, bool)>> {
    fn one(ring: &KeyRing, sid: &str, slot: Slot, value: &mut Vec<u8>) -> StoreResult<Option<bool>> {
        let current = ring.current().map(|k| k.fingerprint);
        let was_plain = match envelope::form(value) {
            Form::Sealed(fp) if Some(fp) == current => {
                // Proves the value opens before it is counted as done.
                envelope::open(Some(ring), Plaintext::Reject, sid, &slot, value.clone())?;
                return Ok(None);
            }
            Form::Sealed(_) => false,
            Form::Plain => true,
        };
        let plain = envelope::open(Some(ring), Plaintext::Accept, sid, &slot, std::mem::take(value))?;
        *value = envelope::seal(ring, &slot, &plain)?;
        Ok(Some(was_plain))
    }
    let mut r = record;
    let changed = match &mut r {
        Record::Auth { credentials } => one(ring, sid, Slot::singleton(sid, RecordKind::Auth), credentials)?,
        Record::Registration(x) => {
            one(ring, sid, Slot::singleton(sid, RecordKind::Registration), &mut x.identity_key_pair.priv_key)?
        }
        Record::SignedPreKey(x) => {
            one(ring, sid, Slot::singleton(sid, RecordKind::SignedPreKey), &mut x.key_pair.priv_key)?
        }
        Record::PreKey(x) => one(ring, sid, Slot::pre_key(sid, x.key_id), &mut x.key_pair.priv_key)?,
        Record::Session { address, record } => one(ring, sid, Slot::session(sid, address), record)?,
        Record::Identity { address, key } => one(ring, sid, Slot::identity(sid, address), key)?,
        Record::SenderKey(x) => one(ring, sid, Slot::sender_key(sid, &x.group_id, &x.sender), &mut x.record)?,
        Record::AppStateSyncKey(x) => one(ring, sid, Slot::sync_key(sid, &x.key_id), &mut x.key_data)?,
        Record::Key { kind, id, value } => one(ring, sid, Slot::key(sid, kind, id), value)?,
        _ => None,
    };
    Ok(changed.map(|was_plain| (r, was_plain)))
}
