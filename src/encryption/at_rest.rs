//! The encryption scenario every durable backend runs (from its own tests,
//! which know how to read its raw storage):
//! - known secrets written through [`EncryptedBackend`] (domain writes and
//!   the Signal cache's group commit) never appear in the raw storage, in
//!   bytes or in hex, while the index columns next to them do;
//! - a sealed value copied to another session's row, or to another row of
//!   the same session, fails with `STORE_DECRYPT_FAILED` naming the domain;
//! - a wrong key, or no key, fails with `STORE_DECRYPT_FAILED`;
//! - rotation re-seals every value (plaintext ones included) and keeps all
//!   of them readable with the new key alone.

use std::future::Future;
use std::sync::Arc;

use zeroize::Zeroizing;

use super::envelope::{self, Form, Plaintext};
use super::keys::{fingerprint, KeyRing};
use super::rotate::{rotate, SECRET_KINDS};
use super::{EncryptedBackend, EncryptionConfig};
use crate::domain::app_state::{AppStateStore, SyncKey};
use crate::domain::auth::AuthStore;
use crate::domain::identity::IdentityStore;
use crate::domain::keys::{KeyStore, KeyWrite};
use crate::domain::pre_key::{PreKey, PreKeyStore};
use crate::domain::sender_key::{SenderKey, SenderKeyStore};
use crate::domain::session::SessionStore;
use crate::domain::signal::{RegistrationInfo, SignalStore, SignedPreKey};
use crate::domain::signal_batch::{SessionWrite, SignalBatchStore, SignalWrite};
use crate::domain::snapshot::{self as snap, Record};
use crate::domain::{Backend, KeyPair, SignalAddress};
use crate::error::{ErrorCode, StoreResult};

pub fn ring(keys: &[(&str, u8)], current: &str) -> KeyRing {
    let keys = keys.iter().map(|(id, b)| (id.to_string(), Zeroizing::new([*b; 32]))).collect();
    KeyRing::new(keys, current, "encryption").expect("valid ring")
}

pub fn encrypted(inner: &Arc<dyn Backend>, keys: &[(&str, u8)], current: &str) -> EncryptedBackend {
    EncryptedBackend::new(Arc::clone(inner), EncryptionConfig { ring: Arc::new(ring(keys, current)), plaintext: Plaintext::Accept })
}

/// A distinctive 32-byte secret.
fn marker(name: &str) -> Vec<u8> {
    format!("{name:-<32}").into_bytes()[..32].to_vec()
}

/// `marker` inside a WSV blob (a Uint8Array), as the clients' records are.
fn wsv(secret: &[u8]) -> Vec<u8> {
    let mut v = vec![0xA5, 1, 0x07, secret.len() as u8];
    v.extend_from_slice(secret);
    v
}

fn hex(bytes: &[u8], upper: bool) -> Vec<u8> {
    let h: String = bytes.iter().map(|b| if upper { format!("{b:02X}") } else { format!("{b:02x}") }).collect();
    h.into_bytes()
}

/// `needle` in `hay` as bytes, lowercase hex or uppercase hex.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    [needle.to_vec(), hex(needle, false), hex(needle, true)]
        .iter()
        .any(|n| hay.windows(n.len()).any(|w| w == &n[..]))
}

fn fails<T: std::fmt::Debug>(r: StoreResult<T>, domain: &str) {
    let err = r.expect_err("should not decrypt");
    assert_eq!(err.code, ErrorCode::DecryptFailed, "{}", err.message);
    assert!(err.message.contains(&format!("(domain {domain})")), "names domain {domain}: {}", err.message);
}

const SID: &str = "enc:at-rest:a";
const OTHER: &str = "enc:at-rest:b";
const GROUP: &str = "enc-group-id@g.us";

fn alice() -> SignalAddress {
    SignalAddress::new("enc-alice-user", None, 3)
}
fn bob() -> SignalAddress {
    SignalAddress::new("enc-bob-user", Some("lid"), 0)
}
const SYNC_KEY_ID: [u8; 6] = [0, 1, 0, 0, 0, 9];

struct Secrets {
    creds: Vec<u8>,
    identity_priv: Vec<u8>,
    signed_priv: Vec<u8>,
    pre_key_priv: Vec<u8>,
    session: Vec<u8>,
    remote_identity: Vec<u8>,
    sender_key: Vec<u8>,
    sync_key: Vec<u8>,
    adapter_key: Vec<u8>,
    batch_session: Vec<u8>,
    batch_key: Vec<u8>,
}

impl Secrets {
    fn new() -> Self {
        let mut remote_identity = vec![0x05];
        remote_identity.extend(marker("remote-identity"));
        Secrets {
            creds: marker("auth-creds-noise-key"),
            identity_priv: marker("identity-private-key"),
            signed_priv: marker("signed-pre-key-private"),
            pre_key_priv: marker("one-time-pre-key-private"),
            session: marker("session-record-root-key"),
            remote_identity,
            sender_key: marker("sender-key-chain-key"),
            sync_key: marker("app-state-sync-key-data"),
            adapter_key: marker("adapter-keys-value"),
            batch_session: marker("group-commit-session"),
            batch_key: marker("group-commit-adapter-key"),
        }
    }

    fn all(&self) -> Vec<(&'static str, &[u8])> {
        vec![
            ("auth credentials", &self.creds[..]),
            ("identity private key", &self.identity_priv[..]),
            ("signed pre-key private key", &self.signed_priv[..]),
            ("pre-key private key", &self.pre_key_priv[..]),
            ("session record", &self.session[..]),
            ("remote identity key", &self.remote_identity[1..]),
            ("sender-key record", &self.sender_key[..]),
            ("app-state sync key", &self.sync_key[..]),
            ("adapter key value", &self.adapter_key[..]),
            ("group-commit session", &self.batch_session[..]),
            ("group-commit adapter key", &self.batch_key[..]),
        ]
    }
}

fn pair(public: u8, private: &[u8]) -> KeyPair {
    KeyPair { pub_key: vec![public; 33], priv_key: private.to_vec() }
}

async fn write_all(b: &EncryptedBackend, s: &Secrets) {
    b.save(SID, wsv(&s.creds)).await.unwrap();
    b.set_registration_info(SID, RegistrationInfo { registration_id: 42, identity_key_pair: pair(5, &s.identity_priv) })
        .await
        .unwrap();
    let spk = SignedPreKey { key_id: 1, key_pair: pair(6, &s.signed_priv), signature: vec![9; 64], uploaded: Some(true) };
    b.set_signed_pre_key(SID, spk).await.unwrap();
    b.put_pre_key(SID, PreKey { key_id: 7, key_pair: pair(7, &s.pre_key_priv), uploaded: None }).await.unwrap();
    b.set_sessions(SID, vec![(alice(), wsv(&s.session))]).await.unwrap();
    b.set_remote_identities(SID, vec![(alice(), s.remote_identity.clone())]).await.unwrap();
    b.upsert_sender_key(SID, SenderKey { group_id: GROUP.into(), sender: alice(), record: wsv(&s.sender_key) })
        .await
        .unwrap();
    let key = SyncKey { key_id: SYNC_KEY_ID.to_vec(), key_data: s.sync_key.clone(), timestamp: 1, fingerprint: None };
    assert_eq!(b.upsert_sync_keys(SID, vec![key.clone()]).await.unwrap(), 1);
    assert_eq!(b.upsert_sync_keys(SID, vec![key]).await.unwrap(), 0, "unchanged key data is still seen as unchanged");
    let put = KeyWrite { kind: "pre-key".into(), id: "9".into(), value: Some(wsv(&s.adapter_key)) };
    b.write_keys(SID, vec![put]).await.unwrap();
    // What the Signal cache hands the backend when it flushes.
    let sid: Arc<str> = Arc::from(SID);
    let batch = vec![
        SessionWrite { sid: Arc::clone(&sid), write: SignalWrite::Session { address: bob(), record: Some(wsv(&s.batch_session)) } },
        SessionWrite {
            sid,
            write: SignalWrite::Key(KeyWrite { kind: "session".into(), id: "bob.0".into(), value: Some(wsv(&s.batch_key)) }),
        },
    ];
    b.commit_signal_batch(&batch, &[]).await.unwrap();
}

/// Every value reads back as written.
async fn read_all(b: &EncryptedBackend, s: &Secrets) {
    assert_eq!(b.load(SID).await.unwrap(), Some(wsv(&s.creds)));
    assert_eq!(b.get_registration_info(SID).await.unwrap().unwrap().identity_key_pair.priv_key, s.identity_priv);
    assert_eq!(b.get_signed_pre_key(SID).await.unwrap().unwrap().key_pair.priv_key, s.signed_priv);
    assert_eq!(b.get_signed_pre_key_by_id(SID, 1).await.unwrap().unwrap().key_pair.priv_key, s.signed_priv);
    assert_eq!(b.get_pre_key_by_id(SID, 7).await.unwrap().unwrap().key_pair, pair(7, &s.pre_key_priv));
    assert_eq!(
        b.get_sessions(SID, &[alice(), bob()]).await.unwrap(),
        vec![Some(wsv(&s.session)), Some(wsv(&s.batch_session))]
    );
    assert_eq!(b.get_remote_identities(SID, &[alice()]).await.unwrap(), vec![Some(s.remote_identity.clone())]);
    assert_eq!(b.get_device_sender_key(SID, GROUP, &alice()).await.unwrap().unwrap().record, wsv(&s.sender_key));
    assert_eq!(b.get_group_sender_keys(SID, GROUP).await.unwrap().sender_keys[0].record, wsv(&s.sender_key));
    assert_eq!(b.get_active_sync_key(SID).await.unwrap().unwrap().key_data, s.sync_key);
    assert_eq!(b.export_data(SID).await.unwrap().keys[0].key_data, s.sync_key);
    assert_eq!(b.get_keys(SID, "pre-key", &["9".into()]).await.unwrap(), vec![Some(wsv(&s.adapter_key))]);
    assert_eq!(b.list_keys(SID, "session", None, 10).await.unwrap(), vec![("bob.0".to_owned(), wsv(&s.batch_key))]);
}

/// Runs the scenario on `inner` (an empty backend, or one without the
/// scenario's sessions); `raw` returns every stored byte of the backend.
pub async fn scenario<F, Fut>(inner: Arc<dyn Backend>, raw: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Vec<u8>>,
{
    for sid in [SID, OTHER] {
        snap::clear_session(&*inner, sid).await.unwrap();
    }
    let s = Secrets::new();
    let k1 = encrypted(&inner, &[("k1", 1)], "k1");
    write_all(&k1, &s).await;
    read_all(&k1, &s).await;

    let hay = raw().await;
    assert!(contains(&hay, GROUP.as_bytes()) && contains(&hay, b"enc-alice-user"), "the raw dump sees the index columns");
    for (what, secret) in s.all() {
        assert!(!contains(&hay, secret), "the {what} is stored in plaintext");
    }
    // The export carries the sealed bytes.
    let exported = snap::export_records(&*inner, SID, None, snap::MAX_PAGE).await.unwrap().records;
    for r in &exported {
        if let Record::Session { record, .. } = r {
            assert!(matches!(envelope::form(record), Form::Sealed(f) if f == fingerprint(&[1; 32])));
        }
    }

    // Sealed values moved to another session or row do not decrypt.
    let stored = inner.get_sessions(SID, &[alice()]).await.unwrap().remove(0).unwrap();
    inner.set_sessions(OTHER, vec![(alice(), stored.clone())]).await.unwrap();
    fails(k1.get_sessions(OTHER, &[alice()]).await, "session");
    inner.set_sessions(SID, vec![(SignalAddress::new("enc-mallory", None, 3), stored)]).await.unwrap();
    fails(k1.get_sessions(SID, &[SignalAddress::new("enc-mallory", None, 3)]).await, "session");
    inner.delete_session(SID, &SignalAddress::new("enc-mallory", None, 3)).await.unwrap();
    inner.save(OTHER, inner.load(SID).await.unwrap().unwrap()).await.unwrap();
    fails(k1.load(OTHER).await, "auth");
    let pk = inner.get_pre_key_by_id(SID, 7).await.unwrap().unwrap();
    inner.put_pre_key(SID, PreKey { key_id: 8, ..pk }).await.unwrap();
    fails(k1.get_pre_key_by_id(SID, 8).await, "preKey");
    inner.consume_pre_key_by_id(SID, 8).await.unwrap();
    let value = inner.get_keys(SID, "pre-key", &["9".into()]).await.unwrap().remove(0);
    inner.write_keys(OTHER, vec![KeyWrite { kind: "pre-key".into(), id: "9".into(), value }]).await.unwrap();
    fails(k1.get_keys(OTHER, "pre-key", &["9".into()]).await, "keys");
    snap::clear_session(&*inner, OTHER).await.unwrap();

    // A wrong key, or none, never yields bytes.
    let wrong = encrypted(&inner, &[("other", 9)], "other");
    fails(wrong.load(SID).await, "auth");
    fails(wrong.get_registration_info(SID).await, "signal");
    fails(wrong.get_sessions(SID, &[alice()]).await, "session");
    fails(wrong.get_remote_identities(SID, &[alice()]).await, "identity");
    fails(wrong.get_group_sender_keys(SID, GROUP).await, "senderKey");
    fails(wrong.get_active_sync_key(SID).await, "appState");
    fails(wrong.list_keys(SID, "session", None, 10).await, "keys");
    let keyless = EncryptedBackend::guard(Arc::clone(&inner));
    fails(keyless.load(SID).await, "auth");
    fails(keyless.get_pre_key_by_id(SID, 7).await, "preKey");

    // A value written before encryption was on reads as it is.
    let legacy = wsv(&marker("legacy-plaintext-value"));
    inner.write_keys(SID, vec![KeyWrite { kind: "legacy".into(), id: "1".into(), value: Some(legacy.clone()) }]).await.unwrap();
    assert_eq!(k1.get_keys(SID, "legacy", &["1".into()]).await.unwrap(), vec![Some(legacy.clone())]);

    // Rotation to k2, in batches of 2: every value re-sealed, plaintext included.
    let k12 = encrypted(&inner, &[("k1", 1), ("k2", 2)], "k2");
    let report = rotate(&k12, &SECRET_KINDS, 2).await.unwrap();
    assert_eq!((report.sessions, report.records, report.reencrypted, report.from_plaintext), (1, 12, 12, 1), "{report:?}");
    let again = rotate(&k12, &SECRET_KINDS, 2).await.unwrap();
    assert_eq!((again.records, again.reencrypted), (12, 0), "a second rotation has nothing to do");
    let k2 = encrypted(&inner, &[("k2", 2)], "k2");
    read_all(&k2, &s).await;
    assert_eq!(k2.get_keys(SID, "legacy", &["1".into()]).await.unwrap(), vec![Some(legacy.clone())]);
    fails(k1.load(SID).await, "auth");
    let hay = raw().await;
    for (what, secret) in s.all() {
        assert!(!contains(&hay, secret), "after rotation, the {what} is stored in plaintext");
    }
    // Every live secret value is sealed with k2 now, the former plaintext one
    // too. (Its old bytes may linger in free pages or logs of the database
    // until it reclaims them, so the raw scan cannot check that one.)
    let k2_fp = fingerprint(&[2; 32]);
    let records = snap::export_records(&*inner, SID, None, snap::MAX_PAGE).await.unwrap().records;
    let secrets: Vec<&[u8]> = records.iter().filter_map(secret_of).collect();
    assert_eq!(secrets.len(), 12);
    for value in secrets {
        assert!(matches!(envelope::form(value), Form::Sealed(f) if f == k2_fp), "sealed with k2: {value:?}");
    }
    snap::clear_session(&*inner, SID).await.unwrap();
}

/// The sealed field of a record of a secret kind.
fn secret_of(r: &Record) -> Option<&[u8]> {
    Some(match r {
        Record::Auth { credentials } => credentials,
        Record::Registration(x) => &x.identity_key_pair.priv_key,
        Record::SignedPreKey(x) => &x.key_pair.priv_key,
        Record::PreKey(x) => &x.key_pair.priv_key,
        Record::Session { record, .. } => record,
        Record::Identity { key, .. } => key,
        Record::SenderKey(x) => &x.record,
        Record::AppStateSyncKey(x) => &x.key_data,
        Record::Key { value, .. } => value,
        _ => return None,
    })
}
