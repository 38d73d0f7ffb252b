//! [`EncryptedBackend`] over the memory backend: every domain contract still
//! holds with values sealed underneath, snapshots carry ciphertext, and
//! rotation never loses a concurrent write.

use std::sync::Arc;

use super::at_rest::{encrypted, ring};
use super::envelope::{self, Form, Plaintext};
use super::rotate::{rotate, SECRET_KINDS};
use super::{EncryptedBackend, EncryptionConfig};
use crate::backend::conformance::DynBackend;
use crate::backend::memory::MemoryBackend;
use crate::domain::auth::AuthStore;
use crate::domain::keys::{KeyStore, KeyWrite};
use crate::domain::session::SessionStore;
use crate::domain::snapshot::{self as snap, Record, RecordKind};
use crate::domain::{Backend, SignalAddress};
use crate::error::ErrorCode;

fn memory() -> DynBackend {
    Arc::new(MemoryBackend::default())
}

/// A sealing backend over fresh memory, for the conformance areas.
fn sealed() -> DynBackend {
    Arc::new(encrypted(&memory(), &[("k1", 1), ("k2", 2)], "k2"))
}

/// The keyless guard over fresh memory: a pure pass-through for plaintext.
fn guarded() -> DynBackend {
    Arc::new(EncryptedBackend::guard(memory()))
}

// Every area but `snapshot`, whose copy into another session is exactly what
// sealed values refuse (covered below).
mod sealed_conformance {
    crate::backend::conformance::conformance_tests!(@areas super::super::sealed(); auth, signal, pre_key, session, identity, sender_key, app_state, privacy_token, messages, threads, contacts, retry, group_metadata, chat_metadata, device_list, message_secret, keys, signal_batch, domain_isolation, hostile_ids, wildcards_are_literal);
}

mod guarded_conformance {
    crate::backend::conformance::conformance_tests!(super::super::guarded());
}

fn addr(user: &str) -> SignalAddress {
    SignalAddress::new(user, None, 0)
}

#[tokio::test]
async fn snapshots_carry_ciphertext_that_imports_into_the_same_session_only() {
    let (a, b) = (memory(), memory());
    let ea = encrypted(&a, &[("k", 1)], "k");
    ea.save("s", vec![0xA5, 1, 6, 1, b'c']).await.unwrap();
    ea.set_sessions("s", vec![(addr("u"), vec![0xA5, 1, 6, 1, b's'])]).await.unwrap();
    let records = snap::export_records(&ea, "s", None, 100).await.unwrap().records;
    assert_eq!(records.len(), 2);
    for r in &records {
        let bytes = match r {
            Record::Auth { credentials } => credentials,
            Record::Session { record, .. } => record,
            other => panic!("unexpected {other:?}"),
        };
        assert!(matches!(envelope::form(bytes), Form::Sealed(_)), "exported sealed: {r:?}");
    }
    // Into another backend, same session: readable with the same ring.
    let eb = encrypted(&b, &[("k", 1)], "k");
    snap::import_records(&eb, "s", records.clone()).await.unwrap();
    assert_eq!(eb.load("s").await.unwrap(), Some(vec![0xA5, 1, 6, 1, b'c']));
    assert_eq!(snap::export_records(&*b, "s", None, 100).await.unwrap().records, records, "kept sealed, not sealed twice");
    // Into another session: refused, nothing half-written for that record.
    let err = snap::import_records(&eb, "t", records).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::DecryptFailed);
    assert_eq!(b.load("t").await.unwrap(), None);
}

#[tokio::test]
async fn plaintext_can_be_refused_but_rotation_still_encrypts_it() {
    let inner = memory();
    inner.save("s", vec![0xA5, 1, 0]).await.unwrap();
    let strict = EncryptedBackend::new(
        Arc::clone(&inner),
        EncryptionConfig { ring: Arc::new(ring(&[("k", 1)], "k")), plaintext: Plaintext::Reject },
    );
    let err = strict.load("s").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::DecryptFailed);
    assert!(err.message.contains("allowPlaintext"), "{}", err.message);
    let report = rotate(&strict, &SECRET_KINDS, 10).await.unwrap();
    assert_eq!((report.reencrypted, report.from_plaintext), (1, 1));
    assert_eq!(strict.load("s").await.unwrap(), Some(vec![0xA5, 1, 0]));
}

#[tokio::test]
async fn rotation_walks_only_the_kinds_it_is_given_and_checks_its_arguments() {
    let inner = memory();
    let e = encrypted(&inner, &[("k1", 1)], "k1");
    e.save("s", vec![1]).await.unwrap();
    e.set_sessions("s", vec![(addr("u"), vec![2])]).await.unwrap();
    let e2 = encrypted(&inner, &[("k1", 1), ("k2", 2)], "k2");
    let report = rotate(&e2, &[RecordKind::Session, RecordKind::Message], 10).await.unwrap();
    assert_eq!((report.records, report.reencrypted), (1, 1));
    let auth = inner.load("s").await.unwrap().unwrap();
    assert!(matches!(envelope::form(&auth), Form::Sealed(f) if f == super::keys::fingerprint(&[1; 32])));
    for batch in [0, snap::MAX_PAGE + 1] {
        assert_eq!(rotate(&e2, &SECRET_KINDS, batch).await.unwrap_err().code, ErrorCode::InvalidArgument);
    }
    let keyless = EncryptedBackend::guard(Arc::clone(&inner));
    assert_eq!(rotate(&keyless, &SECRET_KINDS, 10).await.unwrap_err().code, ErrorCode::InvalidConfig);
}

#[tokio::test]
async fn rotation_stops_at_a_value_it_cannot_open_and_names_it() {
    let inner = memory();
    encrypted(&inner, &[("lost", 7)], "lost").save("s", vec![1]).await.unwrap();
    let e = encrypted(&inner, &[("k", 1)], "k");
    let err = rotate(&e, &SECRET_KINDS, 10).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::DecryptFailed);
    assert!(err.message.contains("domain auth") && err.message.contains("\"s\""), "{}", err.message);
}

/// Writers keep rewriting sessions and keys while rotation re-seals them in
/// batches of one: the last value written always wins, and all are sealed
/// with the new key at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_never_puts_back_an_older_value() {
    let inner = memory();
    let old = encrypted(&inner, &[("k1", 1)], "k1");
    const N: usize = 40;
    for i in 0..N {
        old.set_sessions("s", vec![(addr(&format!("u{i}")), vec![0])]).await.unwrap();
        let w = KeyWrite { kind: "session".into(), id: format!("{i}"), value: Some(vec![0]) };
        old.write_keys("s", vec![w]).await.unwrap();
    }
    let e = Arc::new(encrypted(&inner, &[("k1", 1), ("k2", 2)], "k2"));
    let writer = {
        let e = Arc::clone(&e);
        tokio::spawn(async move {
            for round in 1..=20u8 {
                for i in 0..N {
                    e.set_sessions("s", vec![(addr(&format!("u{i}")), vec![round])]).await.unwrap();
                    let w = KeyWrite { kind: "session".into(), id: format!("{i}"), value: Some(vec![round]) };
                    e.write_keys("s", vec![w]).await.unwrap();
                }
                tokio::task::yield_now().await;
            }
        })
    };
    let report = rotate(&e, &SECRET_KINDS, 1).await.unwrap();
    writer.await.unwrap();
    assert!(report.records >= 2 * N as u64);
    let k2 = encrypted(&inner, &[("k2", 2)], "k2");
    let addrs: Vec<SignalAddress> = (0..N).map(|i| addr(&format!("u{i}"))).collect();
    let ids: Vec<String> = (0..N).map(|i| format!("{i}")).collect();
    assert!(k2.get_sessions("s", &addrs).await.unwrap().iter().all(|v| v.as_deref() == Some(&[20u8][..])));
    assert!(k2.get_keys("s", "session", &ids).await.unwrap().iter().all(|v| v.as_deref() == Some(&[20u8][..])));
}

#[tokio::test]
async fn the_guard_refuses_sealed_values_and_passes_plaintext() {
    let inner = memory();
    encrypted(&inner, &[("k", 1)], "k").save("sealed", vec![1]).await.unwrap();
    inner.save("plain", vec![2]).await.unwrap();
    let g = EncryptedBackend::guard(Arc::clone(&inner));
    assert_eq!(g.load("sealed").await.unwrap_err().code, ErrorCode::DecryptFailed);
    assert_eq!(g.load("plain").await.unwrap(), Some(vec![2]));
    g.save("new", vec![3]).await.unwrap();
    assert_eq!(inner.load("new").await.unwrap(), Some(vec![3]), "no key: written as given");
    assert_eq!(g.kind(), "memory");
}
