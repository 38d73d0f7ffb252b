//! Backend-level tests against a live MongoDB-wire server
//! (`WASTORE_TEST_MONGO_URL`, default `mongodb://127.0.0.1:27017`, database
//! `wastore_test`). Every backend gets a unique collection prefix
//! (`t{pid}_{n}_`), so runs never collide; tests drop their collections when
//! they finish, and collections of finished runs (dead pids) are dropped by
//! `stale_test_collections_are_dropped`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mongodb::bson::{doc, Bson, Document};

use super::collections::Kind;
use super::{MongoBackend, MongoOptions};
use crate::domain::app_state::{AppStateStore, SyncKey};
use crate::domain::auth::AuthStore;
use crate::domain::contacts::{ContactStore, StoredContact};
use crate::domain::device_list::{DeviceList, DeviceListStore};
use crate::domain::group_metadata::{GroupMetadata, GroupMetadataStore};
use crate::domain::identity::IdentityStore;
use crate::domain::keys::{KeyStore, KeyWrite};
use crate::domain::message_secret::{MessageSecret, MessageSecretStore};
use crate::domain::messages::{MessageStore, StoredMessage};
use crate::domain::pre_key::{PreKey, PreKeyStore};
use crate::domain::retry::{RetryOutboundMessage, RetryStore};
use crate::domain::sender_key::{SenderKey, SenderKeyStore};
use crate::domain::session::SessionStore;
use crate::domain::signal_batch::{SessionWrite, SignalBatchStore, SignalWrite};
use crate::domain::threads::{StoredThread, ThreadStore};
use crate::domain::{now_ms, Backend, CacheTtls, KeyPair, SignalAddress};
use crate::error::ErrorCode;

const PREFIX_TAG: &str = "t";
const DATABASE: &str = "wastore_test";

fn url() -> String {
    std::env::var("WASTORE_TEST_MONGO_URL").unwrap_or_else(|_| "mongodb://127.0.0.1:27017".to_owned())
}

fn unique_prefix() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{PREFIX_TAG}{}_{n}_", std::process::id())
}

fn options(prefix: &str) -> MongoOptions {
    let mut o = MongoOptions::new(url(), Some(DATABASE.to_owned()));
    o.collection_prefix = prefix.to_owned();
    o.max_pool_size = Some(8);
    o.operation_timeout_ms = 60_000;
    o
}

fn backend(prefix: &str) -> MongoBackend {
    MongoBackend::new(options(prefix)).expect("valid options")
}

/// A backend on its own prefix, for the shared conformance suite; its
/// collections are dropped when the suite drops it.
fn fresh() -> crate::backend::conformance::DynBackend {
    let b = backend(&unique_prefix());
    b.drop_collections_on_drop.store(true, Ordering::Relaxed);
    Arc::new(b)
}

/// Drops `names` on a client of its own, from a plain thread (callable from
/// `Drop`, even inside a single-threaded runtime).
pub(super) fn drop_collections_blocking(options: MongoOptions, database: String, names: Vec<String>) {
    let worker = std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
        runtime.block_on(async move {
            let Ok(client) = mongodb::Client::with_uri_str(options.uri.trim()).await else { return };
            let db = client.database(&database);
            for name in names {
                let _ = db.collection::<Document>(&name).drop().await;
            }
            client.shutdown().await;
        });
    });
    let _ = worker.join();
}

/// Drops every collection of `b`'s prefix and closes it.
async fn drop_collections(b: &MongoBackend) {
    if let Ok(conn) = b.conn().await {
        for name in b.names.all() {
            let _ = conn.db.collection::<Document>(name).drop().await;
        }
    }
    let _ = b.close().await;
}

async fn raw(b: &MongoBackend, kind: Kind) -> mongodb::Collection<Document> {
    b.coll(kind).await.expect("collection")
}

fn addr(user: &str, device: u32) -> SignalAddress {
    SignalAddress::new(user, None, device)
}

fn pre_key(id: u32) -> PreKey {
    PreKey { key_id: id, key_pair: KeyPair { pub_key: vec![id as u8; 33], priv_key: vec![1; 32] }, uploaded: None }
}

fn msg(id: &str, thread: &str, ts: Option<i64>) -> StoredMessage {
    StoredMessage {
        id: id.into(),
        thread_jid: thread.into(),
        sender_jid: None,
        participant_jid: None,
        from_me: true,
        timestamp_ms: ts,
        message_bytes: None,
    }
}

#[tokio::test]
async fn data_survives_a_new_backend_instance() {
    let prefix = unique_prefix();
    let sid = "restart";
    let b = backend(&prefix);
    b.save(sid, vec![0xA5, 1, 7]).await.unwrap();
    b.set_sessions(sid, vec![(addr("111", 1), vec![1, 2])]).await.unwrap();
    b.put_pre_key(sid, pre_key(41)).await.unwrap();
    b.set_server_has_pre_keys(sid, true).await.unwrap();
    b.close().await.unwrap();
    assert_eq!(b.load(sid).await.unwrap_err().code, ErrorCode::Closed, "a closed backend refuses work");

    let b = backend(&prefix);
    assert_eq!(b.load(sid).await.unwrap(), Some(vec![0xA5, 1, 7]));
    assert_eq!(b.get_sessions(sid, &[addr("111", 1)]).await.unwrap(), vec![Some(vec![1, 2])]);
    assert_eq!(b.get_pre_key_by_id(sid, 41).await.unwrap(), Some(pre_key(41)));
    assert!(b.get_server_has_pre_keys(sid).await.unwrap());
    assert_eq!(b.reserve_pre_keys(sid, 2).await.unwrap().reserved_ids, vec![42], "the counter persisted");
    assert_eq!(b.kind(), "mongo");
    drop_collections(&b).await;
}

#[tokio::test]
async fn options_are_validated_without_leaking_passwords() {
    let mut o = options("bad-prefix");
    assert_eq!(MongoBackend::new(o.clone()).unwrap_err().code, ErrorCode::InvalidConfig);
    o.collection_prefix = "x.$y".into();
    assert!(MongoBackend::new(o).unwrap_err().message.contains("collectionPrefix"));
    let err = MongoBackend::new(MongoOptions::new("mongodb://bob:hunter2pw@db:notaport/wa", None)).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidConfig);
    assert!(err.message.contains("uri") && !err.message.contains("hunter2pw"), "{}", err.message);
    let err = MongoBackend::new(MongoOptions::new("mongodb://db:27017", None)).unwrap_err();
    assert!(err.message.contains("database"), "{}", err.message);
    let err = MongoBackend::new(MongoOptions::new("mongodb://db:27017/a.b", None)).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidConfig, "{}", err.message);
}

#[tokio::test]
async fn unreachable_server_fails_fast_with_connection_failed() {
    let mut o = MongoOptions::new("mongodb://bob:hunter2pw@127.0.0.1:1/test", None);
    o.server_selection_timeout_ms = Some(1_000);
    o.connect_timeout_ms = Some(1_000);
    let b = MongoBackend::new(o).unwrap();
    let started = Instant::now();
    let err = b.load("s").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ConnectionFailed, "{err}");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    assert!(err.message.contains("127.0.0.1:1"), "{}", err.message);
    assert!(!err.message.contains("hunter2pw"), "{}", err.message);
    assert!(!err.cause_message().unwrap_or_default().contains("hunter2pw"));
    // A later call retries (and fails the same way) rather than caching the failure forever.
    assert_eq!(b.load("s").await.unwrap_err().code, ErrorCode::ConnectionFailed);
    b.close().await.unwrap();
    assert_eq!(b.load("s").await.unwrap_err().code, ErrorCode::Closed);
}

#[tokio::test]
async fn a_server_that_accepts_but_never_answers_fails_within_the_timeouts() {
    // A socket that takes connections and stays silent: the handshake can never finish.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let mut o = MongoOptions::new(format!("mongodb://127.0.0.1:{port}/wa"), None);
    o.server_selection_timeout_ms = Some(1_000);
    o.connect_timeout_ms = Some(500);
    let b = MongoBackend::new(o).unwrap();
    let started = Instant::now();
    let err = b.save("s", vec![1]).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ConnectionFailed, "{err}");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    assert!(err.message.contains(&format!("127.0.0.1:{port}")), "{}", err.message);
    silent.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_starting_at_once_create_the_indexes_once() {
    let prefix = unique_prefix();
    let (a, b) = (Arc::new(backend(&prefix)), Arc::new(backend(&prefix)));
    let mut tasks = Vec::new();
    for backend in [a.clone(), b.clone(), a.clone(), b.clone()] {
        tasks.push(tokio::spawn(async move {
            backend.upsert_messages("s", vec![msg("m", "t", Some(1))]).await?;
            backend.get_group_metadata("s", "g", 0).await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), None);
    }
    let names: Vec<String> = {
        let mut cursor = raw(&a, Kind::Messages).await.list_indexes().await.unwrap();
        let mut out = Vec::new();
        while cursor.advance().await.unwrap() {
            let model = cursor.deserialize_current().unwrap();
            out.push(format!("{:?}", model.keys));
        }
        out
    };
    assert_eq!(names.len(), 2, "_id plus the by-thread index, once: {names:?}");
    let _ = b.close().await;
    drop_collections(&a).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pre_key_is_consumed_exactly_once_across_instances() {
    let prefix = unique_prefix();
    let (a, b) = (Arc::new(backend(&prefix)), Arc::new(backend(&prefix)));
    a.put_pre_key("s", pre_key(7)).await.unwrap();
    b.load("s").await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let backend = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move { backend.consume_pre_key_by_id("s", 7).await.unwrap() }));
    }
    let mut got = Vec::new();
    for t in tasks {
        if let Some(key) = t.await.unwrap() {
            got.push(key);
        }
    }
    assert_eq!(got, vec![pre_key(7)]);
    let _ = b.close().await;
    drop_collections(&a).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reservations_never_share_an_id() {
    let prefix = unique_prefix();
    let (a, b) = (Arc::new(backend(&prefix)), Arc::new(backend(&prefix)));
    let mut tasks = Vec::new();
    for i in 0..10 {
        let backend = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move { backend.reserve_pre_keys("s", 5).await.unwrap().reserved_ids }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.extend(t.await.unwrap());
    }
    ids.sort_unstable();
    assert_eq!(ids, (1..=50).collect::<Vec<u32>>());
    let _ = b.close().await;
    drop_collections(&a).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_increments_count_to_a_thousand() {
    let prefix = unique_prefix();
    let (a, b) = (Arc::new(backend(&prefix)), Arc::new(backend(&prefix)));
    let mut tasks = Vec::new();
    for i in 0..1_000 {
        let backend = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            backend.increment_inbound_counter("s", "m", "r", 1, i64::MAX).await.unwrap()
        }));
    }
    let mut seen = Vec::new();
    for t in tasks {
        seen.push(t.await.unwrap());
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=1_000).collect::<Vec<u32>>(), "every increment saw a distinct count");
    assert_eq!(a.increment_inbound_counter("s", "m", "r", 2, i64::MAX).await.unwrap(), 1_001);
    let _ = b.close().await;
    drop_collections(&a).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_delivery_marks_are_all_kept() {
    let prefix = unique_prefix();
    let (a, b) = (Arc::new(backend(&prefix)), Arc::new(backend(&prefix)));
    let requesters: Vec<String> = (0..20).map(|i| format!("dev{i}@s.whatsapp.net")).collect();
    let out = RetryOutboundMessage {
        message_id: "m".into(),
        to_jid: "to".into(),
        eligible_requester_device_jids: Some(requesters.clone()),
        delivered_requester_device_jids: None,
        replay_mode: "plaintext".into(),
        replay_payload: vec![1],
        state: "pending".into(),
        updated_at_ms: 1,
        expires_at_ms: i64::MAX,
    };
    a.upsert_outbound_message("s", out).await.unwrap();
    let mut tasks = Vec::new();
    for (i, r) in requesters.iter().cloned().enumerate() {
        let backend = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            backend.mark_outbound_requester_delivered("s", "m", &r, 2, i64::MAX).await.unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let stored = a.get_outbound_message("s", "m").await.unwrap().unwrap();
    let mut delivered = stored.delivered_requester_device_jids.unwrap();
    delivered.sort();
    let mut want = requesters.clone();
    want.sort();
    assert_eq!(delivered, want, "no read-modify-write lost an update");
    let _ = b.close().await;
    drop_collections(&a).await;
}

/// Strings that mean something to MongoDB (operators, paths, patterns) or break naive encodings.
fn hostile_strings() -> Vec<String> {
    vec![
        "$gt".to_owned(),
        "{\"$ne\": null}".to_owned(),
        "a.b.c".to_owned(),
        "$where: function() { return true }".to_owned(),
        ".*".to_owned(),
        "^a".to_owned(),
        "%_*?[]:".to_owned(),
        "'\"\\".to_owned(),
        "[\"s\",\"x\"]".to_owned(),
        "\",\"".to_owned(),
        "ünïcødé 🙂 漢字 \u{202e}rtl".to_owned(),
        "line\nbreak\ttab\u{1}".to_owned(),
        "k".repeat(20 * 1024),
    ]
}

#[tokio::test]
async fn hostile_strings_round_trip_and_never_act_as_operators() {
    let b = backend(&unique_prefix());
    for (i, s) in hostile_strings().into_iter().enumerate() {
        let sid = format!("sid{}", s.get(..500).unwrap_or(&s));
        b.save(&sid, vec![i as u8]).await.unwrap();
        assert_eq!(b.load(&sid).await.unwrap(), Some(vec![i as u8]));
        b.set_sessions(&sid, vec![(SignalAddress::new(s.clone(), Some(&s), 1), vec![i as u8])]).await.unwrap();
        assert!(b.has_sessions(&sid, &[SignalAddress::new(s.clone(), Some(&s), 1)]).await.unwrap()[0]);
        b.upsert_messages(&sid, vec![msg(&s, &s, Some(1))]).await.unwrap();
        assert_eq!(b.list_messages_by_thread(&sid, &s, 10, None).await.unwrap(), vec![msg(&s, &s, Some(1))]);
        let c = StoredContact { jid: s.clone(), phone_number: Some(s.clone()), ..Default::default() };
        b.upsert_contacts(&sid, vec![c.clone()]).await.unwrap();
        assert_eq!(b.get_contact_by_phone_number(&sid, &s).await.unwrap(), Some(c));
        let t = StoredThread { jid: s.clone(), name: Some(s.clone()), ..Default::default() };
        b.upsert_threads(&sid, vec![t.clone()]).await.unwrap();
        assert_eq!(b.get_thread(&sid, &s).await.unwrap(), Some(t));
        b.write_keys(&sid, vec![KeyWrite { kind: s.clone(), id: s.clone(), value: Some(vec![i as u8]) }])
            .await
            .unwrap();
        assert_eq!(b.list_key_ids(&sid, &s, None, 10).await.unwrap(), vec![s.clone()]);
        // Operators and patterns are data: nothing else matches.
        assert_eq!(b.get_thread(&sid, "x").await.unwrap(), None);
        assert_eq!(b.get_contact_by_phone_number(&sid, "x").await.unwrap(), None);
        assert_eq!(b.list_messages_by_thread(&sid, "x", 10, None).await.unwrap(), vec![]);
    }
    // Nothing leaked across the sessions named after the strings, and clearing one clears only it.
    assert_eq!(b.load("sid").await.unwrap(), None);
    MessageStore::clear(&b, "sid$gt").await.unwrap();
    assert_eq!(b.get_message("sid$gt", "$gt").await.unwrap(), None);
    assert!(b.get_message("sida.b.c", "a.b.c").await.unwrap().is_some());
    assert!(b.get_message("sid.*", ".*").await.unwrap().is_some());
    drop_collections(&b).await;
}

#[tokio::test]
async fn nul_in_lookup_fields_stays_distinct() {
    // The test server truncates strings at NUL when it compares them; lookups must not.
    let b = backend(&unique_prefix());
    for (i, id) in ["abc", "abc\0", "abc\0\0", "abc\u{1}"].iter().enumerate() {
        let t = format!("t-{id}");
        b.upsert_messages("s", vec![msg(id, &t, Some(i as i64))]).await.unwrap();
        let c = StoredContact { jid: id.to_string(), phone_number: Some(format!("pn-{id}")), ..Default::default() };
        b.upsert_contacts("s", vec![c]).await.unwrap();
        b.upsert_sender_key("s", SenderKey { group_id: t.clone(), sender: addr(id, 0), record: vec![i as u8] })
            .await
            .unwrap();
        b.write_keys("s", vec![KeyWrite { kind: "k".into(), id: id.to_string(), value: Some(vec![i as u8]) }])
            .await
            .unwrap();
    }
    for (i, id) in ["abc", "abc\0", "abc\0\0", "abc\u{1}"].iter().enumerate() {
        let t = format!("t-{id}");
        assert_eq!(b.list_messages_by_thread("s", &t, 10, None).await.unwrap(), vec![msg(id, &t, Some(i as i64))]);
        assert_eq!(
            b.get_contact_by_phone_number("s", &format!("pn-{id}")).await.unwrap().map(|c| c.jid),
            Some(id.to_string())
        );
        let group = b.get_group_sender_keys("s", &t).await.unwrap();
        assert_eq!(group.sender_keys.iter().map(|k| k.sender.user.clone()).collect::<Vec<_>>(), vec![id.to_string()]);
    }
    assert_eq!(b.list_key_ids("s", "k", None, 10).await.unwrap(), vec!["abc", "abc\0", "abc\0\0", "abc\u{1}"]);
    assert_eq!(b.list_key_ids("s", "k", Some("abc"), 10).await.unwrap(), vec!["abc\0", "abc\0\0", "abc\u{1}"]);
    assert_eq!(b.delete_device_sender_key("s", &addr("abc", 0), None).await.unwrap(), 1);
    drop_collections(&b).await;
}

/// Every document of every collection whose session is not `except`, in a stable order.
async fn snapshot_others(b: &MongoBackend, except: &str) -> BTreeMap<String, Vec<Document>> {
    let mut out = BTreeMap::new();
    for kind in Kind::ALL {
        let coll = raw(b, kind).await;
        let mut cursor = coll.find(doc! {}).sort(doc! { "_id": 1 }).await.unwrap();
        let mut docs = Vec::new();
        while cursor.advance().await.unwrap() {
            let d: Document = cursor.deserialize_current().unwrap();
            let mine = d.get_str("s").ok() == Some(except) || d.get_str("_id").ok() == Some(except);
            if !mine {
                docs.push(d);
            }
        }
        out.insert(kind.name().to_owned(), docs);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clearing_one_of_a_hundred_sessions_leaves_the_others_byte_identical() {
    let b = Arc::new(backend(&unique_prefix()));
    let mut tasks = Vec::new();
    for n in 0..100u32 {
        let b = b.clone();
        tasks.push(tokio::spawn(async move {
            let sid = format!("tenant-{n}");
            b.save(&sid, vec![n as u8]).await.unwrap();
            b.set_sessions(&sid, vec![(addr("peer", 1), vec![n as u8; 3])]).await.unwrap();
            b.put_pre_key(&sid, pre_key(n + 1)).await.unwrap();
            b.upsert_messages(&sid, vec![msg("same-id", "thread", Some(i64::from(n)))]).await.unwrap();
            b.upsert_sender_key(
                &sid,
                SenderKey { group_id: "g".into(), sender: addr("peer", 1), record: vec![n as u8] },
            )
            .await
            .unwrap();
            b.write_keys(&sid, vec![KeyWrite { kind: "session".into(), id: "x".into(), value: Some(vec![n as u8]) }])
                .await
                .unwrap();
            b.increment_inbound_counter(&sid, "m", "r", 1, i64::MAX).await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // A session id that is a prefix of others ("tenant-1" vs "tenant-10"…) must not widen the clear.
    let victim = "tenant-1";
    let before = snapshot_others(&b, victim).await;
    AuthStore::clear(&*b, victim).await.unwrap();
    SessionStore::clear(&*b, victim).await.unwrap();
    PreKeyStore::clear(&*b, victim).await.unwrap();
    MessageStore::clear(&*b, victim).await.unwrap();
    SenderKeyStore::clear(&*b, victim).await.unwrap();
    KeyStore::clear_keys(&*b, victim).await.unwrap();
    RetryStore::clear(&*b, victim).await.unwrap();
    assert_eq!(snapshot_others(&b, victim).await, before, "the other 99 sessions are byte-identical");
    assert_eq!(b.load(victim).await.unwrap(), None);
    assert_eq!(b.get_message(victim, "same-id").await.unwrap(), None);
    assert_eq!(b.get_keys(victim, "session", &["x".into()]).await.unwrap(), vec![None]);
    assert_eq!(b.get_message("tenant-10", "same-id").await.unwrap().and_then(|m| m.timestamp_ms), Some(10));
    drop_collections(&b).await;
}

#[tokio::test]
async fn batches_are_positional_and_last_write_wins() {
    let b = backend(&unique_prefix());
    b.set_sessions("s", vec![(addr("a", 1), vec![1]), (addr("b", 1), vec![2]), (addr("a", 1), vec![3])]).await.unwrap();
    assert_eq!(
        b.get_sessions("s", &[addr("b", 1), addr("x", 1), addr("a", 1), addr("b", 1)]).await.unwrap(),
        vec![Some(vec![2]), None, Some(vec![3]), Some(vec![2])]
    );
    b.upsert_messages("s", vec![msg("m", "t1", Some(1)), msg("m", "t2", Some(2))]).await.unwrap();
    assert_eq!(b.get_message("s", "m").await.unwrap(), Some(msg("m", "t2", Some(2))));
    let c = |name: Option<&str>, phone: Option<&str>, at: i64| StoredContact {
        jid: "j".into(),
        display_name: name.map(Into::into),
        phone_number: phone.map(Into::into),
        last_updated_ms: at,
        ..Default::default()
    };
    b.upsert_contacts("s", vec![c(Some("n"), None, 5), c(None, Some("p"), 3)]).await.unwrap();
    assert_eq!(b.get_contact("s", "j").await.unwrap(), Some(c(Some("n"), Some("p"), 5)));
    let secrets = vec![
        ("x".to_owned(), MessageSecret { secret: vec![1], sender_jid: "a".into() }),
        ("x".to_owned(), MessageSecret { secret: vec![2], sender_jid: "b".into() }),
    ];
    b.set_message_secrets("s", secrets, 0).await.unwrap();
    let got = b.get_message_secrets("s", &["x".into(), "y".into(), "x".into()], 1).await.unwrap();
    assert_eq!(got[0].as_ref().map(|s| s.secret.clone()), Some(vec![2]));
    assert_eq!(got[1], None);
    assert_eq!(got[0], got[2]);
    drop_collections(&b).await;
}

#[tokio::test]
async fn batches_larger_than_one_command_are_split() {
    let b = backend(&unique_prefix());
    // 20 × 1 MiB: more than one 16 MiB command can carry.
    let entries: Vec<(SignalAddress, Vec<u8>)> =
        (0..20u32).map(|i| (addr("big", i), vec![i as u8; 1024 * 1024])).collect();
    b.set_sessions("s", entries.clone()).await.unwrap();
    let addresses: Vec<SignalAddress> = entries.iter().map(|(a, _)| a.clone()).collect();
    let got = b.get_sessions("s", &addresses).await.unwrap();
    assert_eq!(got, entries.into_iter().map(|(_, v)| Some(v)).collect::<Vec<_>>());
    // A single value over the 16 MiB document limit is refused before it is sent.
    let err = b.save("s", vec![0; 17 * 1024 * 1024]).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument, "{err}");
    assert!(err.message.contains("16 MiB"), "{}", err.message);
    drop_collections(&b).await;
}

#[tokio::test]
async fn corrupted_documents_read_as_corrupted() {
    let b = backend(&unique_prefix());
    let g = GroupMetadata {
        group_jid: "g".into(),
        participants: vec!["p".into()],
        ephemeral: None,
        ephemeral_trigger: None,
        updated_at_ms: 0,
    };
    b.upsert_group_metadata("s", g).await.unwrap();
    raw(&b, Kind::GroupMetadata)
        .await
        .update_many(doc! {}, doc! { "$set": { "participants": "not a list" } })
        .await
        .unwrap();
    assert_eq!(b.get_group_metadata("s", "g", 1).await.unwrap_err().code, ErrorCode::Corrupted);

    b.put_pre_key("s", pre_key(1)).await.unwrap();
    raw(&b, Kind::SignalPreKey).await.update_many(doc! {}, doc! { "$set": { "key_id": -5_i64 } }).await.unwrap();
    assert_eq!(b.get_pre_key_by_id("s", 1).await.unwrap_err().code, ErrorCode::Corrupted);
    assert_eq!(b.reserve_pre_keys("s", 1).await.unwrap_err().code, ErrorCode::Corrupted);

    b.save("s", vec![1]).await.unwrap();
    raw(&b, Kind::Auth).await.update_many(doc! {}, doc! { "$set": { "credentials": "text" } }).await.unwrap();
    assert_eq!(b.load("s").await.unwrap_err().code, ErrorCode::Corrupted);

    raw(&b, Kind::SignalMeta).await.update_many(doc! {}, doc! { "$set": { "last_prekey_id": "x" } }).await.unwrap();
    assert_eq!(b.mark_key_as_uploaded("s", 0).await.unwrap_err().code, ErrorCode::Corrupted);
    drop_collections(&b).await;
}

#[tokio::test]
async fn expired_reads_delete_what_they_saw() {
    let b = backend(&unique_prefix());
    let ttl = CacheTtls::default().device_list_ms;
    let d = |user: &str, alt: Option<&str>| DeviceList {
        user_jid: user.into(),
        alt_user_jid: alt.map(Into::into),
        device_jids: vec!["d".into()],
        updated_at_ms: 0,
    };
    b.upsert_user_devices("s", vec![d("a", Some("alt")), d("b", None)]).await.unwrap();
    assert_eq!(b.find_by_any_user_jid("s", "alt", ttl - 1).await.unwrap(), Some(d("a", Some("alt"))));
    assert_eq!(b.get_user_devices("s", &["a".into(), "a".into()], ttl).await.unwrap(), vec![None, None]);
    assert_eq!(b.cleanup_expired_device_lists("s", ttl).await.unwrap(), 1, "only b was left to clean");
    assert_eq!(b.retry_ttl_ms(), CacheTtls::default().retry_ms);
    drop_collections(&b).await;
}

#[tokio::test]
async fn cache_documents_carry_a_trailing_ttl_date() {
    let b = backend(&unique_prefix());
    let g = GroupMetadata {
        group_jid: "g".into(),
        participants: vec![],
        ephemeral: None,
        ephemeral_trigger: None,
        updated_at_ms: 1,
    };
    let before = now_ms();
    b.upsert_group_metadata("s", g).await.unwrap();
    let doc = raw(&b, Kind::GroupMetadata).await.find_one(doc! {}).await.unwrap().unwrap();
    // Small Int64s may come back as Int32 from some servers; the readers accept both.
    assert_eq!(super::docs::get_i64(&doc, "expires_at_ms").unwrap(), 1 + CacheTtls::default().group_metadata_ms);
    // The Date trails the write time, so the TTL monitor never removes what a caller's clock still sees as live.
    match doc.get("expires_at") {
        Some(Bson::DateTime(at)) => assert!(at.timestamp_millis() >= before + super::caches::TTL_GRACE_MS, "{at}"),
        other => panic!("expires_at is not a Date: {other:?}"),
    }
    let indexes = raw(&b, Kind::GroupMetadata).await.list_index_names().await.unwrap();
    assert_eq!(indexes.len(), 3, "_id, by expiry, ttl: {indexes:?}");
    drop_collections(&b).await;
}

#[tokio::test]
async fn sync_keys_given_twice_count_each_change() {
    let b = backend(&unique_prefix());
    let k =
        |data: u8| SyncKey { key_id: vec![0, 1, 0, 0, 0, 1], key_data: vec![data], timestamp: 1, fingerprint: None };
    assert_eq!(b.upsert_sync_keys("s", vec![k(1), k(2)]).await.unwrap(), 2);
    assert_eq!(b.upsert_sync_keys("s", vec![k(2), k(2)]).await.unwrap(), 0);
    assert_eq!(b.get_sync_keys("s", &[k(0).key_id]).await.unwrap(), vec![Some(k(2))]);
    drop_collections(&b).await;
}

#[tokio::test]
async fn key_pages_follow_byte_order_and_stay_in_their_session() {
    let b = backend(&unique_prefix());
    let ids = ["b", "a", "Z", "é", "🙂", "ab", "\u{ff}", "\u{ffff}", "a\u{1}", "10", "9"];
    let writes =
        ids.iter().map(|id| KeyWrite { kind: "pre-key".into(), id: (*id).into(), value: Some(id.as_bytes().to_vec()) });
    b.write_keys("s", writes.collect()).await.unwrap();
    b.write_keys("other", vec![KeyWrite { kind: "pre-key".into(), id: "a".into(), value: Some(vec![0]) }])
        .await
        .unwrap();
    let mut want: Vec<&str> = ids.to_vec();
    want.sort_by(|x, y| x.as_bytes().cmp(y.as_bytes()));
    let mut got = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = b.list_key_ids("s", "pre-key", after.as_deref(), 3).await.unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().cloned();
        got.extend(page);
    }
    assert_eq!(got, want, "byte-wise order, paged after a cursor");
    let page = b.list_keys("s", "pre-key", Some("a"), 2).await.unwrap();
    assert_eq!(page, vec![("a\u{1}".to_owned(), "a\u{1}".as_bytes().to_vec()), ("ab".to_owned(), b"ab".to_vec())]);
    assert_eq!(b.list_keys("s", "pre-key", None, 0).await.unwrap(), vec![]);
    // Later writes of one key win, deletes included; other types are separate.
    b.write_keys(
        "s",
        vec![
            KeyWrite { kind: "pre-key".into(), id: "a".into(), value: Some(vec![9]) },
            KeyWrite { kind: "session".into(), id: "a".into(), value: Some(vec![7]) },
            KeyWrite { kind: "pre-key".into(), id: "b".into(), value: Some(vec![9]) },
            KeyWrite { kind: "pre-key".into(), id: "b".into(), value: None },
            KeyWrite { kind: "pre-key".into(), id: "a".into(), value: Some(vec![8]) },
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        b.get_keys("s", "pre-key", &["a".into(), "b".into(), "a".into()]).await.unwrap(),
        vec![Some(vec![8]), None, Some(vec![8])]
    );
    assert_eq!(b.get_keys("s", "session", &["a".into()]).await.unwrap(), vec![Some(vec![7])]);
    b.clear_keys("s").await.unwrap();
    assert_eq!(b.list_key_ids("s", "pre-key", None, 100).await.unwrap(), Vec::<String>::new());
    assert_eq!(b.get_keys("other", "pre-key", &["a".into()]).await.unwrap(), vec![Some(vec![0])]);
    drop_collections(&b).await;
}

#[tokio::test]
async fn a_signal_batch_spans_sessions_and_collections() {
    let b = backend(&unique_prefix());
    let w = |sid: &str, write: SignalWrite| SessionWrite { sid: Arc::from(sid), write };
    b.set_sessions("s2", vec![(addr("gone", 1), vec![1])]).await.unwrap();
    let batch = vec![
        w("s1", SignalWrite::Session { address: addr("a", 1), record: Some(vec![1]) }),
        w("s2", SignalWrite::Session { address: addr("a", 1), record: Some(vec![2]) }),
        w("s1", SignalWrite::Identity { address: addr("a", 1), key: vec![3] }),
        w("s1", SignalWrite::SenderKey(SenderKey { group_id: "g".into(), sender: addr("a", 1), record: vec![4] })),
        w("s1", SignalWrite::Key(KeyWrite { kind: "k".into(), id: "x".into(), value: Some(vec![5]) })),
        w("s2", SignalWrite::Session { address: addr("gone", 1), record: None }),
        // Later duplicates win.
        w("s1", SignalWrite::Session { address: addr("a", 1), record: Some(vec![6]) }),
        w("s1", SignalWrite::Key(KeyWrite { kind: "k".into(), id: "x".into(), value: None })),
    ];
    b.commit_signal_batch(&batch, &[]).await.unwrap();
    b.commit_signal_batch(&[], &[]).await.unwrap();
    assert_eq!(b.get_sessions("s1", &[addr("a", 1)]).await.unwrap(), vec![Some(vec![6])]);
    assert_eq!(b.get_sessions("s2", &[addr("a", 1), addr("gone", 1)]).await.unwrap(), vec![Some(vec![2]), None]);
    assert_eq!(b.get_remote_identities("s1", &[addr("a", 1)]).await.unwrap(), vec![Some(vec![3])]);
    assert_eq!(b.get_device_sender_key("s1", "g", &addr("a", 1)).await.unwrap().map(|k| k.record), Some(vec![4]));
    assert_eq!(b.get_keys("s1", "k", &["x".into()]).await.unwrap(), vec![None]);
    drop_collections(&b).await;
}

/// Drops collections left by earlier test processes that have exited.
#[tokio::test]
async fn stale_test_collections_are_dropped() {
    if !std::path::Path::new("/proc/self").exists() {
        return;
    }
    let Ok(client) = mongodb::Client::with_uri_str(url()).await else { return };
    let db = client.database(DATABASE);
    let Ok(names) = tokio::time::timeout(Duration::from_secs(10), db.list_collection_names()).await else { return };
    for name in names.unwrap_or_default() {
        let Some(rest) = name.strip_prefix(PREFIX_TAG) else { continue };
        let pid = rest.split('_').next().unwrap_or("");
        if crate::backend::dead_runs::pid_is_dead(pid) {
            let _ = db.collection::<Document>(&name).drop().await;
        }
    }
}

crate::backend::conformance::conformance_tests!(super::fresh());

/// Every string and binary of every document of `b`'s collections, as stored.
async fn raw_documents(b: &MongoBackend) -> Vec<u8> {
    fn walk(v: &Bson, out: &mut Vec<u8>) {
        match v {
            Bson::Binary(bin) => out.extend_from_slice(&bin.bytes),
            Bson::String(s) => out.extend_from_slice(s.as_bytes()),
            Bson::Document(d) => d.iter().for_each(|(k, v)| {
                out.extend_from_slice(k.as_bytes());
                walk(v, out)
            }),
            Bson::Array(items) => items.iter().for_each(|v| walk(v, out)),
            other => out.extend_from_slice(other.to_string().as_bytes()),
        }
        out.push(b'\n');
    }
    let db = &b.conn().await.unwrap().db;
    let mut out = Vec::new();
    for kind in Kind::ALL {
        let name = format!("{}{}", b.collection_prefix(), kind.name());
        let mut cursor = db.collection::<Document>(&name).find(doc! {}).await.unwrap();
        while cursor.advance().await.unwrap() {
            walk(&Bson::Document(cursor.deserialize_current().unwrap()), &mut out);
        }
    }
    out
}

/// Encryption at rest: no document holds a secret in plaintext; see `crate::encryption::at_rest`.
#[tokio::test]
async fn encryption_at_rest() {
    let b = Arc::new(backend(&unique_prefix()));
    b.drop_collections_on_drop.store(true, Ordering::Relaxed);
    let dynamic: Arc<dyn Backend> = b.clone();
    crate::encryption::at_rest::scenario(dynamic, || raw_documents(&b)).await;
}
