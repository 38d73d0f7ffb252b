//! Backend-level tests against a live Redis (`WASTORE_TEST_REDIS_URL`, default
//! `redis://127.0.0.1:6379/`). Every backend gets a unique key prefix
//! (`wst{pid}_{n}:`), so runs never collide; tests delete the keys under their
//! prefix when they finish (never `FLUSHDB`), and keys of finished runs (dead
//! pids) are deleted by `stale_test_keys_are_deleted`.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::AsyncCommands;

use super::layout::{glob_escape, Area};
use super::{RedisBackend, RedisOptions, RedisServer, StoreTtls};
use crate::domain::app_state::{AppStateStore, CollectionUpdate, SyncKey};
use crate::domain::auth::AuthStore;
use crate::domain::chat_metadata::{ChatMetadata, ChatMetadataStore};
use crate::domain::contacts::{ContactStore, StoredContact};
use crate::domain::device_list::{DeviceList, DeviceListStore};
use crate::domain::group_metadata::{GroupMetadata, GroupMetadataStore};
use crate::domain::identity::IdentityStore;
use crate::domain::keys::{KeyStore, KeyWrite};
use crate::domain::message_secret::{MessageSecret, MessageSecretStore};
use crate::domain::messages::{MessageStore, StoredMessage};
use crate::domain::pre_key::{PreKey, PreKeyStore};
use crate::domain::privacy_token::{PrivacyToken, PrivacyTokenStore};
use crate::domain::retry::{RetryOutboundMessage, RetryStore};
use crate::domain::sender_key::{SenderKey, SenderKeyStore};
use crate::domain::session::SessionStore;
use crate::domain::signal::{RegistrationInfo, SignalStore};
use crate::domain::signal_batch::{SessionWrite, SignalBatchStore, SignalWrite};
use crate::domain::threads::{StoredThread, ThreadStore};
use crate::domain::{now_ms, Backend, CacheTtls, KeyPair, SignalAddress};
use crate::error::ErrorCode;

const PREFIX_TAG: &str = "wst";

fn url() -> String {
    std::env::var("WASTORE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned())
}

fn unique_prefix() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{PREFIX_TAG}{}_{n}:", std::process::id())
}

fn options(prefix: &str) -> RedisOptions {
    RedisOptions {
        key_prefix: prefix.to_owned(),
        ..RedisOptions::url(url())
    }
}

fn backend(prefix: &str) -> RedisBackend {
    RedisBackend::new(options(prefix)).expect("valid options")
}

/// A backend on its own prefix for the shared conformance suite; its keys go when it is dropped.
fn fresh() -> crate::backend::conformance::DynBackend {
    // Cache entries live natively for their domain TTL past their expiry (a
    // minute for retry); an hour keeps them for the whole of a slow run.
    let hour = 3_600_000;
    let b = RedisBackend::new(RedisOptions {
        cache_ttls: CacheTtls {
            retry_ms: hour,
            group_metadata_ms: hour,
            chat_metadata_ms: hour,
            device_list_ms: hour,
            message_secret_ms: hour,
        },
        ..options(&unique_prefix())
    })
    .expect("valid options");
    b.delete_keys_on_drop.store(true, Ordering::Relaxed);
    Arc::new(b)
}

/// Deletes every key under `prefix` from a plain thread (callable from `Drop`).
pub(super) fn delete_prefix_blocking(client: &redis::Client, prefix: &str) {
    let (client, pattern) = (client.clone(), format!("{}*", glob_escape(prefix)));
    let worker = std::thread::spawn(move || {
        let Ok(mut con) = client.get_connection_with_timeout(Duration::from_secs(5)) else {
            return;
        };
        let mut cursor: u64 = 0;
        loop {
            let Ok((next, keys)) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query::<(u64, Vec<Vec<u8>>)>(&mut con)
            else {
                return;
            };
            if !keys.is_empty() {
                let _ = redis::cmd("UNLINK").arg(&keys).query::<i64>(&mut con);
            }
            if next == 0 {
                return;
            }
            cursor = next;
        }
    });
    let _ = worker.join();
}

/// Deletes `b`'s keys and closes it.
async fn finish(b: &RedisBackend) {
    delete_prefix_blocking(&b.client, b.key_prefix());
    let _ = b.close().await;
}

async fn raw() -> MultiplexedConnection {
    redis::Client::open(url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// Every key matching `pattern`, sorted.
async fn keys_matching(con: &mut MultiplexedConnection, pattern: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(con)
            .await
            .unwrap();
        out.extend(keys);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    out.sort();
    out.dedup();
    out
}

/// key → (DUMP, PTTL > 0) of every key under `prefix`.
/// One pipeline per page of keys; a key gone between `SCAN` and `DUMP` is left out.
async fn snapshot(con: &mut MultiplexedConnection, prefix: &str) -> BTreeMap<Vec<u8>, (Vec<u8>, bool)> {
    let mut out = BTreeMap::new();
    let keys = keys_matching(con, &format!("{}*", glob_escape(prefix))).await;
    for page in keys.chunks(500) {
        let mut pipe = redis::pipe();
        for key in page {
            pipe.cmd("DUMP").arg(key).cmd("PTTL").arg(key);
        }
        let replies: Vec<(Option<Vec<u8>>, i64)> = pipe.query_async(con).await.unwrap();
        for (key, (dump, ttl)) in page.iter().zip(replies) {
            if let Some(dump) = dump {
                out.insert(key.clone(), (dump, ttl > 0));
            }
        }
    }
    out
}

fn addr(user: &str, device: u32) -> SignalAddress {
    SignalAddress::new(user, None, device)
}

fn pre_key(id: u32) -> PreKey {
    PreKey {
        key_id: id,
        key_pair: KeyPair {
            pub_key: vec![id as u8; 33],
            priv_key: vec![1; 32],
        },
        uploaded: None,
    }
}

fn msg(id: &str, thread: &str, ts: Option<i64>) -> StoredMessage {
    StoredMessage {
        id: id.into(),
        thread_jid: thread.into(),
        sender_jid: None,
        participant_jid: None,
        from_me: true,
        timestamp_ms: ts,
        message_bytes: Some(vec![0, 255, 1]),
    }
}

fn sync_key(n: u8) -> SyncKey {
    SyncKey {
        key_id: vec![0, 1, 0, 0, 0, n],
        key_data: vec![n],
        timestamp: 1,
        fingerprint: None,
    }
}

fn collection(n: u8) -> CollectionUpdate {
    CollectionUpdate {
        collection: "regular".into(),
        version: 1,
        hash: vec![n; 128],
        index_value_map: vec![("aa".into(), vec![n])],
    }
}

fn outbound(id: &str, expires_at_ms: i64) -> RetryOutboundMessage {
    RetryOutboundMessage {
        message_id: id.into(),
        to_jid: "to".into(),
        eligible_requester_device_jids: None,
        delivered_requester_device_jids: None,
        replay_mode: "plaintext".into(),
        replay_payload: vec![1],
        state: "pending".into(),
        updated_at_ms: 1,
        expires_at_ms,
    }
}

/// One entry in each of the 16 domains, plus the adapters' keys.
async fn fill(b: &RedisBackend, sid: &str, n: u8) {
    let now = now_ms();
    // Far enough that nothing expires while a slow (loaded CI) test still compares keys.
    let later = now + 3_600_000;
    let a = addr("peer", 1);
    b.save(sid, vec![n]).await.unwrap();
    b.set_registration_info(
        sid,
        RegistrationInfo {
            registration_id: 7,
            identity_key_pair: KeyPair {
                pub_key: vec![n],
                priv_key: vec![n],
            },
        },
    )
    .await
    .unwrap();
    b.put_pre_key(sid, pre_key(u32::from(n) + 1)).await.unwrap();
    b.set_sessions(sid, vec![(a.clone(), vec![n; 3])]).await.unwrap();
    b.set_remote_identities(sid, vec![(a.clone(), vec![n])]).await.unwrap();
    b.upsert_sender_key(
        sid,
        SenderKey {
            group_id: "g".into(),
            sender: a,
            record: vec![n],
        },
    )
    .await
    .unwrap();
    b.upsert_sync_keys(sid, vec![sync_key(n)]).await.unwrap();
    b.set_collection_states(sid, vec![collection(n)]).await.unwrap();
    b.upsert_privacy_tokens(
        sid,
        vec![PrivacyToken {
            jid: "j".into(),
            tc_token: Some(vec![n]),
            ..Default::default()
        }],
    )
    .await
    .unwrap();
    b.upsert_messages(sid, vec![msg("same-id", "thread", Some(i64::from(n)))])
        .await
        .unwrap();
    b.upsert_threads(
        sid,
        vec![StoredThread {
            jid: "t".into(),
            unread_count: Some(i64::from(n)),
            ..Default::default()
        }],
    )
    .await
    .unwrap();
    b.upsert_contacts(
        sid,
        vec![StoredContact {
            jid: "c".into(),
            phone_number: Some("p".into()),
            ..Default::default()
        }],
    )
    .await
    .unwrap();
    b.upsert_outbound_message(sid, outbound("r", later))
        .await
        .unwrap();
    b.increment_inbound_counter(sid, "r", "q", now, later)
        .await
        .unwrap();
    let g = GroupMetadata {
        group_jid: "g".into(),
        participants: vec!["p".into()],
        ephemeral: None,
        ephemeral_trigger: None,
        updated_at_ms: now,
    };
    b.upsert_group_metadata(sid, g).await.unwrap();
    b.upsert_chat_metadata(
        sid,
        ChatMetadata {
            chat_jid: "c".into(),
            ephemeral_expiration: Some(1),
            ephemeral_setting_timestamp: None,
            updated_at_ms: now,
        },
    )
    .await
    .unwrap();
    let d = DeviceList {
        user_jid: "u".into(),
        alt_user_jid: Some("alt".into()),
        device_jids: vec!["d".into()],
        updated_at_ms: now,
    };
    b.upsert_user_devices(sid, vec![d]).await.unwrap();
    b.set_message_secrets(
        sid,
        vec![(
            "m".into(),
            MessageSecret {
                secret: vec![n],
                sender_jid: "s".into(),
            },
        )],
        now,
    )
    .await
    .unwrap();
    b.write_keys(
        sid,
        vec![KeyWrite {
            kind: "session".into(),
            id: "x".into(),
            value: Some(vec![n]),
        }],
    )
    .await
    .unwrap();
}

/// Clears every domain of `sid` and its adapter keys.
async fn clear_all(b: &RedisBackend, sid: &str) {
    AuthStore::clear(b, sid).await.unwrap();
    SignalStore::clear(b, sid).await.unwrap();
    PreKeyStore::clear(b, sid).await.unwrap();
    SessionStore::clear(b, sid).await.unwrap();
    IdentityStore::clear(b, sid).await.unwrap();
    SenderKeyStore::clear(b, sid).await.unwrap();
    AppStateStore::clear(b, sid).await.unwrap();
    PrivacyTokenStore::clear(b, sid).await.unwrap();
    MessageStore::clear(b, sid).await.unwrap();
    ThreadStore::clear(b, sid).await.unwrap();
    ContactStore::clear(b, sid).await.unwrap();
    RetryStore::clear(b, sid).await.unwrap();
    GroupMetadataStore::clear(b, sid).await.unwrap();
    ChatMetadataStore::clear(b, sid).await.unwrap();
    DeviceListStore::clear(b, sid).await.unwrap();
    MessageSecretStore::clear(b, sid).await.unwrap();
    b.clear_keys(sid).await.unwrap();
}

/// The keys of one session, whatever the domain.
async fn session_keys(con: &mut MultiplexedConnection, b: &RedisBackend, sid: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for area in [
        Area::Auth,
        Area::Signal,
        Area::PreKey,
        Area::Session,
        Area::Identity,
        Area::SenderKey,
        Area::AppState,
        Area::PrivacyToken,
        Area::Messages,
        Area::Threads,
        Area::Contacts,
        Area::Retry,
        Area::GroupMetadata,
        Area::ChatMetadata,
        Area::DeviceList,
        Area::MessageSecret,
        Area::Keys,
    ] {
        out.extend(keys_matching(con, &b.space(area, sid).pattern()).await);
    }
    out
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
    assert_eq!(
        b.load(sid).await.unwrap_err().code,
        ErrorCode::Closed,
        "a closed backend refuses work"
    );

    let b = backend(&prefix);
    assert_eq!(b.load(sid).await.unwrap(), Some(vec![0xA5, 1, 7]));
    assert_eq!(
        b.get_sessions(sid, &[addr("111", 1)]).await.unwrap(),
        vec![Some(vec![1, 2])]
    );
    assert_eq!(b.get_pre_key_by_id(sid, 41).await.unwrap(), Some(pre_key(41)));
    assert!(b.get_server_has_pre_keys(sid).await.unwrap());
    assert_eq!(
        b.reserve_pre_keys(sid, 2).await.unwrap().reserved_ids,
        vec![42],
        "the counter persisted"
    );
    assert_eq!(b.kind(), "redis");
    finish(&b).await;
}

#[tokio::test]
async fn binary_values_are_stored_as_raw_bytes() {
    let b = backend(&unique_prefix());
    let bytes: Vec<u8> = (0..=255).collect();
    b.save("s", bytes.clone()).await.unwrap();
    b.set_sessions("s", vec![(addr("u", 0), bytes.clone())]).await.unwrap();
    let mut con = raw().await;
    let stored: Vec<u8> = con.get(b.space(Area::Auth, "s").key("c")).await.unwrap();
    assert_eq!(stored, bytes, "no base64, no framing");
    let stored: Vec<u8> = con
        .get(b.space(Area::Session, "s").key_raw("r", "u:s.whatsapp.net:0"))
        .await
        .unwrap();
    assert_eq!(stored, bytes);
    finish(&b).await;
}

#[tokio::test]
async fn options_are_validated() {
    for prefix in ["a-b", "x*", "{t}", "sp ace"] {
        let err = RedisBackend::new(options(prefix)).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidConfig);
        assert!(err.message.contains("keyPrefix"), "{}", err.message);
    }
    let err = RedisBackend::new(RedisOptions::url("rediss://bob:hunter2pw@127.0.0.1:6380")).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidConfig);
    assert!(
        err.message.contains("TLS") && !err.message.contains("hunter2pw"),
        "{}",
        err.message
    );
    assert!(RedisBackend::new(RedisOptions::url("postgres://x")).is_err());
}

#[tokio::test]
async fn an_unreachable_server_fails_fast_with_connection_failed() {
    let mut o = options(&unique_prefix());
    o.server = RedisServer::Url("redis://bob:hunter2pw@127.0.0.1:1/0".into());
    o.connect_timeout_ms = 2_000;
    let b = RedisBackend::new(o).unwrap();
    let started = Instant::now();
    let err = b.load("s").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ConnectionFailed, "{err}");
    assert!(err.message.contains("127.0.0.1:1"), "{}", err.message);
    assert!(!err.message.contains("hunter2pw") && !err.cause_message().unwrap_or_default().contains("hunter2pw"));
    // Concurrent callers share one attempt instead of queueing timeouts.
    let b = Arc::new(b);
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let b = b.clone();
            tokio::spawn(async move { b.load("s").await })
        })
        .collect();
    for c in calls {
        assert_eq!(c.await.unwrap().unwrap_err().code, ErrorCode::ConnectionFailed);
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );

    // A black-holed address is bounded by the connect timeout.
    let mut o = options(&unique_prefix());
    o.server = RedisServer::Url("redis://10.255.255.1:6379".into());
    o.connect_timeout_ms = 300;
    let b = RedisBackend::new(o).unwrap();
    let started = Instant::now();
    assert_eq!(b.load("s").await.unwrap_err().code, ErrorCode::ConnectionFailed);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_failed_login_is_a_connection_failure_without_the_password() {
    let mut o = options(&unique_prefix());
    let host = super::options::endpoint(&o.connection_info().unwrap());
    o.server = RedisServer::Url(format!("redis://no_such_wastore_user:hunter2pw@{host}/0"));
    let b = RedisBackend::new(o).unwrap();
    let err = b.load("s").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ConnectionFailed, "{err}");
    assert!(!err.message.contains("hunter2pw"), "{}", err.message);
    // The next call tries again (and fails again) instead of reusing a dead connection.
    assert_eq!(b.load("s").await.unwrap_err().code, ErrorCode::ConnectionFailed);
}

#[tokio::test]
async fn the_connection_comes_back_after_it_is_killed() {
    let b = backend(&unique_prefix());
    b.save("s", vec![1]).await.unwrap();
    let id = super::values::int(
        b.read("client id", &redis::cmd("CLIENT").arg("ID").clone())
            .await
            .unwrap(),
        "id",
    )
    .unwrap();
    let mut con = raw().await;
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("ID")
        .arg(id)
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(killed, 1);
    let mut ok = false;
    for _ in 0..5 {
        match b.load("s").await {
            Ok(v) => {
                assert_eq!(v, Some(vec![1]));
                ok = true;
                break;
            }
            Err(e) => assert_eq!(e.code, ErrorCode::ConnectionFailed, "{e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "the manager reconnected");
    finish(&b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pre_key_is_consumed_exactly_once_across_processes() {
    let prefix = unique_prefix();
    let (a, b) = (Arc::new(backend(&prefix)), Arc::new(backend(&prefix)));
    a.put_pre_key("s", pre_key(5)).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let b = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { b.consume_pre_key_by_id("s", 5).await.unwrap() })
        })
        .collect();
    let mut got = 0;
    for t in tasks {
        if let Some(k) = t.await.unwrap() {
            assert_eq!(k, pre_key(5));
            got += 1;
        }
    }
    assert_eq!(got, 1, "exactly one consumer gets the key");
    assert_eq!(
        a.reserve_pre_keys("s", 1).await.unwrap().available,
        vec![],
        "and it left the available set"
    );
    let _ = b.close().await;
    finish(&a).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_increments_count_a_thousand() {
    let prefix = unique_prefix();
    let (a, b) = (Arc::new(backend(&prefix)), Arc::new(backend(&prefix)));
    let until = now_ms() + 600_000;
    let tasks: Vec<_> = (0..1_000)
        .map(|i| {
            let b = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { b.increment_inbound_counter("s", "m", "r", 1, until).await.unwrap() })
        })
        .collect();
    let mut seen = HashSet::new();
    for t in tasks {
        assert!(seen.insert(t.await.unwrap()), "every increment returns its own count");
    }
    assert_eq!(seen.len(), 1_000);
    assert_eq!(seen.iter().max(), Some(&1_000));
    assert_eq!(
        a.increment_inbound_counter("s", "m", "r", 1, until).await.unwrap(),
        1_001
    );
    let _ = b.close().await;
    finish(&a).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reservations_never_share_an_id() {
    let prefix = unique_prefix();
    let (a, b) = (Arc::new(backend(&prefix)), Arc::new(backend(&prefix)));
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let b = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { b.reserve_pre_keys("s", 5).await.unwrap().reserved_ids })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let unique: HashSet<u32> = all.iter().copied().collect();
    assert_eq!((all.len(), unique.len()), (100, 100), "no id handed out twice");
    assert_eq!(unique.iter().max(), Some(&100));
    let _ = b.close().await;
    finish(&a).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_delivery_marks_are_all_kept() {
    let prefix = unique_prefix();
    let (a, b) = (Arc::new(backend(&prefix)), Arc::new(backend(&prefix)));
    let requesters: Vec<String> = (0..20).map(|i| format!("dev{i}@s.whatsapp.net")).collect();
    let out = RetryOutboundMessage {
        eligible_requester_device_jids: Some(requesters.clone()),
        ..outbound("m", now_ms() + 60_000)
    };
    a.upsert_outbound_message("s", out).await.unwrap();
    let tasks: Vec<_> = requesters
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, r)| {
            let b = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move {
                b.mark_outbound_requester_delivered("s", "m", &r, 2, now_ms() + 60_000)
                    .await
                    .unwrap()
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let mut delivered = a
        .get_outbound_message("s", "m")
        .await
        .unwrap()
        .unwrap()
        .delivered_requester_device_jids
        .unwrap();
    delivered.sort();
    let mut want = requesters;
    want.sort();
    assert_eq!(delivered, want, "no read-modify-write lost an update");
    let _ = b.close().await;
    finish(&a).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_sessions_stay_byte_identical_when_one_is_cleared() {
    let b = Arc::new(backend(&unique_prefix()));
    let tasks: Vec<_> = (0..100u8)
        .map(|n| {
            let b = b.clone();
            tokio::spawn(async move { fill(&b, &format!("tenant-{n}"), n).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let mut con = raw().await;
    let victim = "tenant-3";
    let victim_keys = session_keys(&mut con, &b, victim).await;
    assert!(
        victim_keys.len() >= 25,
        "every domain wrote keys: {}",
        victim_keys.len()
    );
    let before = snapshot(&mut con, b.key_prefix()).await;
    clear_all(&b, victim).await;
    assert_eq!(
        session_keys(&mut con, &b, victim).await,
        Vec::<Vec<u8>>::new(),
        "the victim has no keys left"
    );
    let mut after = snapshot(&mut con, b.key_prefix()).await;
    let mut expected = before.clone();
    for k in &victim_keys {
        expected.remove(k);
    }
    // TTLs tick, so compare the DUMP payloads and that a TTL is still there.
    after.retain(|k, _| expected.contains_key(k));
    assert_eq!(after.len(), expected.len(), "no other key disappeared");
    assert_eq!(after, expected, "the other 99 sessions are byte-identical");
    assert_eq!(b.load("tenant-4").await.unwrap(), Some(vec![4]));
    finish(&b).await;
}

#[tokio::test]
async fn hostile_session_ids_never_widen_a_scan_or_reach_another_prefix() {
    let prefix = unique_prefix();
    // A second prefix that is a string prefix of the first one (t1 vs t10).
    let (p1, p10) = (format!("{prefix}t1"), format!("{prefix}t10"));
    let (b, other) = (backend(&p1), backend(&p10));
    let sids = [
        "*", "?", "[a]", "a", "a*", "a:b", "a b", "a\\", "a}", "{a}", "%", "%7D", "[", "\\*", "ab",
    ];
    for (n, sid) in sids.iter().enumerate() {
        fill(&b, sid, n as u8).await;
        fill(&other, sid, n as u8).await;
    }
    let mut con = raw().await;
    let other_before = snapshot(&mut con, &p10).await;
    for (n, sid) in sids.iter().enumerate() {
        let mine = snapshot(&mut con, &p1).await;
        let victim: HashSet<Vec<u8>> = session_keys(&mut con, &b, sid).await.into_iter().collect();
        assert!(victim.len() >= 25, "{sid:?} has its own keys");
        clear_all(&b, sid).await;
        let now = snapshot(&mut con, &p1).await;
        // Exactly the victim's keys went (p10's keys also match `p1*`: they must stay too).
        let gone: HashSet<Vec<u8>> = mine.keys().filter(|k| !now.contains_key(*k)).cloned().collect();
        assert_eq!(gone, victim, "clearing {sid:?} removed exactly its own keys");
        for later in &sids[n + 1..] {
            assert!(
                b.load(later).await.unwrap().is_some(),
                "{later:?} survived clearing {sid:?}"
            );
        }
    }
    assert_eq!(
        snapshot(&mut con, &p10).await.keys().collect::<Vec<_>>(),
        other_before.keys().collect::<Vec<_>>()
    );
    for (n, sid) in sids.iter().enumerate() {
        assert_eq!(
            other.load(sid).await.unwrap(),
            Some(vec![n as u8]),
            "the other prefix kept {sid:?}"
        );
    }
    let _ = other.close().await;
    finish(&b).await;
}

#[tokio::test]
async fn cache_keys_expire_natively_and_auth_keys_never() {
    let mut o = options(&unique_prefix());
    o.store_ttls = StoreTtls {
        session_ms: Some(50_000),
        messages_ms: Some(40_000),
        ..StoreTtls::default()
    };
    let b = RedisBackend::new(o).unwrap();
    fill(&b, "s", 1).await;
    let mut con = raw().await;
    let probe = con.clone();
    let pttl = |key: Vec<u8>| {
        let mut con = probe.clone();
        async move { con.pttl::<_, i64>(key).await.unwrap() }
    };
    for area in [
        Area::Retry,
        Area::GroupMetadata,
        Area::ChatMetadata,
        Area::DeviceList,
        Area::MessageSecret,
    ] {
        let keys = keys_matching(&mut con, &b.space(area, "s").pattern()).await;
        assert!(!keys.is_empty(), "{area:?}");
        for key in keys {
            let ttl = pttl(key.clone()).await;
            assert!(ttl > 0, "{area:?} {}: PTTL {ttl}", String::from_utf8_lossy(&key));
        }
    }
    for area in [
        Area::Auth,
        Area::Signal,
        Area::PreKey,
        Area::Identity,
        Area::SenderKey,
        Area::AppState,
        Area::Threads,
        Area::Contacts,
    ] {
        for key in keys_matching(&mut con, &b.space(area, "s").pattern()).await {
            assert_eq!(
                pttl(key.clone()).await,
                -1,
                "{area:?} {} has no TTL",
                String::from_utf8_lossy(&key)
            );
        }
    }
    // storeTtlMs: sessions slide on read, messages only on write.
    let session = b.space(Area::Session, "s").key_raw("r", "peer:s.whatsapp.net:1");
    // The windows leave a loaded machine 20 s between a write and its check.
    let ttl = pttl(session.clone().into_bytes()).await;
    assert!(ttl > 30_000 && ttl <= 50_000, "{ttl}");
    let _: () = con.pexpire(&session, 20_000).await.unwrap();
    b.get_sessions("s", &[addr("peer", 1)]).await.unwrap();
    assert!(
        pttl(session.into_bytes()).await > 20_000,
        "a read refreshed the session's TTL"
    );
    let message = b.space(Area::Messages, "s").key1("m", "same-id");
    let _: () = con.pexpire(&message, 20_000).await.unwrap();
    b.get_message("s", "same-id").await.unwrap();
    assert!(
        pttl(message.into_bytes()).await <= 20_000,
        "a read does not refresh a data domain"
    );
    // The native TTL covers the logical expiry plus a grace.
    let g = b.space(Area::GroupMetadata, "s").key1("r", "g");
    let ttl = pttl(g.into_bytes()).await;
    let ttls = CacheTtls::default();
    assert!(
        ttl > ttls.group_metadata_ms && ttl <= 2 * ttls.group_metadata_ms + 1_000,
        "{ttl}"
    );
    finish(&b).await;
}

#[tokio::test]
async fn reads_of_crypto_domains_slide_their_indexes_with_their_records() {
    let mut o = options(&unique_prefix());
    let ttl = 60_000;
    o.store_ttls = StoreTtls {
        pre_key_ms: Some(ttl),
        app_state_ms: Some(ttl),
        sender_key_ms: Some(ttl),
        ..StoreTtls::default()
    };
    let b = RedisBackend::new(o).unwrap();
    let sid = "slide";
    b.put_pre_key(sid, pre_key(1)).await.unwrap();
    b.upsert_sync_keys(sid, vec![sync_key(1)]).await.unwrap();
    b.set_collection_states(sid, vec![collection(1)]).await.unwrap();
    b.upsert_sender_key(
        sid,
        SenderKey {
            group_id: "g".into(),
            sender: addr("u", 1),
            record: vec![1],
        },
    )
    .await
    .unwrap();
    let mut con = raw().await;
    let areas = [Area::PreKey, Area::AppState, Area::SenderKey];
    let mut all = Vec::new();
    for area in areas {
        all.extend(keys_matching(&mut con, &b.space(area, sid).pattern()).await);
    }
    assert!(all.len() >= 10, "{}", all.len());
    for key in &all {
        let _: () = con.pexpire(key, 5_000).await.unwrap();
    }
    b.get_pre_key_by_id(sid, 1).await.unwrap();
    b.get_sync_keys(sid, &[sync_key(1).key_id]).await.unwrap();
    b.get_collection_states(sid, &["regular".into()]).await.unwrap();
    b.get_group_sender_keys(sid, "g").await.unwrap();
    for key in &all {
        let left: i64 = con.pttl(key).await.unwrap();
        assert!(
            left > 50_000,
            "{} was not refreshed: {left}",
            String::from_utf8_lossy(key)
        );
    }
    finish(&b).await;
}

/// Records can expire under `storeTtlMs` while their index entry lives on:
/// listings skip such entries, still fill the page, and drop them.
#[tokio::test]
async fn stale_index_entries_are_skipped_and_dropped() {
    let b = backend(&unique_prefix());
    let sid = "stale";
    let mut con = raw().await;
    let msgs: Vec<StoredMessage> = (0..5).map(|i| msg(&format!("m{i}"), "t", Some(i))).collect();
    b.upsert_messages(sid, msgs).await.unwrap();
    b.upsert_threads(
        sid,
        (0..3)
            .map(|i| StoredThread {
                jid: format!("t{i}"),
                ..Default::default()
            })
            .collect(),
    )
    .await
    .unwrap();
    for id in [1, 2, 3] {
        b.put_pre_key(sid, pre_key(id)).await.unwrap();
    }
    let writes = (0..3)
        .map(|i| KeyWrite {
            kind: "k".into(),
            id: format!("i{i}"),
            value: Some(vec![i]),
        })
        .collect();
    b.write_keys(sid, writes).await.unwrap();
    let gone = [
        b.space(Area::Messages, sid).key1("m", "m4"),
        b.space(Area::Threads, sid).key1("r", "t0"),
        b.space(Area::PreKey, sid).key_raw("k", "1"),
        b.space(Area::Keys, sid).key_raw("v", "k:i0"),
    ];
    let _: () = con.del(&gone).await.unwrap();

    let ids: Vec<String> = b
        .list_messages_by_thread(sid, "t", 2, None)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, ["m3", "m2"]);
    let threads = b.list_threads(sid, 10).await.unwrap();
    assert_eq!(threads.iter().map(|t| t.jid.as_str()).collect::<Vec<_>>(), ["t1", "t2"]);
    let r = b.reserve_pre_keys(sid, 2).await.unwrap();
    assert_eq!(
        (r.available.iter().map(|k| k.key_id).collect::<Vec<_>>(), r.reserved_ids),
        (vec![2, 3], vec![])
    );
    assert_eq!(
        b.list_key_ids(sid, "k", None, 10).await.unwrap(),
        ["i0", "i1", "i2"],
        "ids alone come from the index"
    );
    let keys = b.list_keys(sid, "k", None, 2).await.unwrap();
    assert_eq!(keys, vec![("i1".to_owned(), vec![1]), ("i2".to_owned(), vec![2])]);

    let members = |key: String| {
        let mut con = con.clone();
        async move {
            redis::cmd("ZRANGE")
                .arg(key)
                .arg(0)
                .arg(-1)
                .query_async::<Vec<String>>(&mut con)
                .await
                .unwrap()
        }
    };
    assert!(!members(b.space(Area::Messages, sid).key1("t", "t"))
        .await
        .contains(&"m4".to_owned()));
    assert!(!members(b.space(Area::Threads, sid).key("all"))
        .await
        .contains(&"t0".to_owned()));
    assert!(!members(b.space(Area::PreKey, sid).key("av"))
        .await
        .contains(&"1".to_owned()));
    assert!(!members(b.space(Area::Keys, sid).key1("i", "k"))
        .await
        .contains(&"i0".to_owned()));
    finish(&b).await;
}

#[tokio::test]
async fn corrupted_values_read_as_corrupted() {
    let b = backend(&unique_prefix());
    let mut con = raw().await;
    let corrupted = ErrorCode::Corrupted;

    // A key of the wrong type.
    let session = b.space(Area::Session, "s").key_raw("r", "u:s.whatsapp.net:0");
    let _: () = con.hset(&session, "x", "y").await.unwrap();
    assert_eq!(b.get_sessions("s", &[addr("u", 0)]).await.unwrap_err().code, corrupted);
    assert_eq!(b.load("s").await.unwrap(), None, "other keys still read");

    // Undecodable fields.
    let now = now_ms();
    let g = GroupMetadata {
        group_jid: "g".into(),
        participants: vec![],
        ephemeral: None,
        ephemeral_trigger: None,
        updated_at_ms: now,
    };
    b.upsert_group_metadata("s", g).await.unwrap();
    let _: () = con
        .hset(b.space(Area::GroupMetadata, "s").key1("r", "g"), "p", "{bad")
        .await
        .unwrap();
    assert_eq!(b.get_group_metadata("s", "g", now).await.unwrap_err().code, corrupted);

    b.put_pre_key("s", pre_key(1)).await.unwrap();
    let _: () = con
        .hset(b.space(Area::PreKey, "s").key("meta"), "n", "lots")
        .await
        .unwrap();
    assert_eq!(
        b.reserve_pre_keys("s", 3).await.unwrap_err().code,
        corrupted,
        "a script reports it too"
    );
    let _: () = con
        .hset(b.space(Area::PreKey, "s").key_raw("k", "1"), "up", "maybe")
        .await
        .unwrap();
    assert_eq!(b.get_pre_key_by_id("s", 1).await.unwrap_err().code, corrupted);

    b.upsert_outbound_message("s", outbound("m", now + 60_000))
        .await
        .unwrap();
    let _: () = con
        .hset(b.space(Area::Retry, "s").key("o:m"), "dl", "{bad")
        .await
        .unwrap();
    let err = b
        .mark_outbound_requester_delivered("s", "m", "r", 1, now + 60_000)
        .await
        .unwrap_err();
    assert_eq!(err.code, corrupted, "{err}");
    let _: () = con
        .hset(b.space(Area::Retry, "s").key("i:m:r"), "n", "x")
        .await
        .unwrap();
    let _: () = con
        .hset(b.space(Area::Retry, "s").key("i:m:r"), "ex", now + 60_000)
        .await
        .unwrap();
    assert_eq!(
        b.increment_inbound_counter("s", "m", "r", 1, now + 60_000)
            .await
            .unwrap_err()
            .code,
        corrupted
    );

    b.upsert_sender_key_distributions(
        "s",
        vec![crate::domain::sender_key::SenderKeyDistribution {
            group_id: "g".into(),
            sender: addr("u", 0),
            key_id: 1,
            timestamp_ms: 2,
        }],
    )
    .await
    .unwrap();
    let _: () = con
        .hset(
            b.space(Area::SenderKey, "s").key1("d", "g"),
            "u:s.whatsapp.net:0",
            "nope",
        )
        .await
        .unwrap();
    assert_eq!(b.get_group_sender_keys("s", "g").await.unwrap_err().code, corrupted);
    finish(&b).await;
}

#[tokio::test]
async fn adapter_keys_page_in_byte_order_and_stay_per_session() {
    let b = backend(&unique_prefix());
    let ids = ["b", "a", "a\u{ff}", "ä", "A", "a:b", "*", "a b", "z"];
    let writes: Vec<KeyWrite> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| KeyWrite {
            kind: "pre-key".into(),
            id: (*id).into(),
            value: Some(vec![i as u8]),
        })
        .collect();
    b.write_keys("s", writes).await.unwrap();
    b.write_keys(
        "other",
        vec![KeyWrite {
            kind: "pre-key".into(),
            id: "a".into(),
            value: Some(vec![99]),
        }],
    )
    .await
    .unwrap();
    let mut sorted: Vec<&str> = ids.to_vec();
    sorted.sort_by(|x, y| x.as_bytes().cmp(y.as_bytes()));
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = b.list_keys("s", "pre-key", after.as_deref(), 2).await.unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|(id, _)| id.clone());
        paged.extend(page.into_iter().map(|(id, _)| id));
    }
    assert_eq!(paged, sorted);
    assert_eq!(
        b.list_key_ids("s", "pre-key", Some("a"), 3).await.unwrap(),
        sorted[sorted.iter().position(|x| *x == "a").unwrap() + 1..][..3].to_vec()
    );
    assert_eq!(
        b.list_key_ids("s", "session", None, 10).await.unwrap(),
        Vec::<String>::new(),
        "types are separate"
    );
    assert_eq!(
        b.get_keys("s", "pre-key", &["z".into(), "nope".into(), "b".into()])
            .await
            .unwrap(),
        vec![Some(vec![8]), None, Some(vec![0])]
    );
    // All or nothing across types, later writes win, deletes drop the index entry.
    b.write_keys(
        "s",
        vec![
            KeyWrite {
                kind: "session".into(),
                id: "x".into(),
                value: Some(vec![1]),
            },
            KeyWrite {
                kind: "pre-key".into(),
                id: "z".into(),
                value: None,
            },
            KeyWrite {
                kind: "session".into(),
                id: "x".into(),
                value: Some(vec![2]),
            },
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        b.get_keys("s", "session", &["x".into()]).await.unwrap(),
        vec![Some(vec![2])]
    );
    assert!(!b
        .list_key_ids("s", "pre-key", None, 100)
        .await
        .unwrap()
        .contains(&"z".to_owned()));
    b.clear_keys("s").await.unwrap();
    assert_eq!(b.list_keys("s", "pre-key", None, 100).await.unwrap(), vec![]);
    assert_eq!(
        b.get_keys("other", "pre-key", &["a".into()]).await.unwrap(),
        vec![Some(vec![99])],
        "another session kept its keys"
    );
    finish(&b).await;
}

#[tokio::test]
async fn a_signal_batch_commits_every_session_in_one_transaction() {
    let b = backend(&unique_prefix());
    let (s1, s2): (Arc<str>, Arc<str>) = (Arc::from("one"), Arc::from("two"));
    let a = addr("peer", 1);
    let w = |sid: &Arc<str>, write| SessionWrite {
        sid: sid.clone(),
        write,
    };
    b.set_sessions(&s2, vec![(addr("gone", 0), vec![9])]).await.unwrap();
    let writes = vec![
        w(
            &s1,
            SignalWrite::Session {
                address: a.clone(),
                record: Some(vec![1]),
            },
        ),
        w(
            &s2,
            SignalWrite::Identity {
                address: a.clone(),
                key: vec![5],
            },
        ),
        w(
            &s1,
            SignalWrite::SenderKey(SenderKey {
                group_id: "g".into(),
                sender: a.clone(),
                record: vec![3],
            }),
        ),
        w(
            &s2,
            SignalWrite::Key(KeyWrite {
                kind: "lid-mapping".into(),
                id: "x".into(),
                value: Some(vec![4]),
            }),
        ),
        w(
            &s2,
            SignalWrite::Session {
                address: addr("gone", 0),
                record: None,
            },
        ),
        w(
            &s1,
            SignalWrite::Session {
                address: a.clone(),
                record: Some(vec![2]),
            },
        ),
    ];
    b.commit_signal_batch(&writes, &[]).await.unwrap();
    b.commit_signal_batch(&[], &[]).await.unwrap();
    assert_eq!(
        b.get_sessions(&s1, std::slice::from_ref(&a)).await.unwrap(),
        vec![Some(vec![2])],
        "later duplicates win"
    );
    assert_eq!(
        b.get_remote_identities(&s2, std::slice::from_ref(&a)).await.unwrap(),
        vec![Some(vec![5])]
    );
    assert_eq!(
        b.get_device_sender_key(&s1, "g", &a).await.unwrap().map(|k| k.record),
        Some(vec![3])
    );
    assert_eq!(
        b.delete_device_sender_key(&s1, &a, None).await.unwrap(),
        1,
        "the sender index was written too"
    );
    assert_eq!(
        b.list_keys(&s2, "lid-mapping", None, 10).await.unwrap(),
        vec![("x".to_owned(), vec![4])]
    );
    assert_eq!(b.get_sessions(&s2, &[addr("gone", 0)]).await.unwrap(), vec![None]);
    assert_eq!(
        b.get_sessions(&s2, std::slice::from_ref(&a)).await.unwrap(),
        vec![None],
        "sessions stay apart"
    );
    finish(&b).await;
}

#[tokio::test]
async fn expired_reads_delete_what_they_saw_and_indexes_follow() {
    let b = backend(&unique_prefix());
    let ttl = CacheTtls::default().device_list_ms;
    let d = |user: &str, alt: Option<&str>| DeviceList {
        user_jid: user.into(),
        alt_user_jid: alt.map(Into::into),
        device_jids: vec!["d".into()],
        updated_at_ms: 0,
    };
    b.upsert_user_devices("s", vec![d("a", Some("alt")), d("b", None)])
        .await
        .unwrap();
    assert_eq!(
        b.find_by_any_user_jid("s", "alt", ttl - 1).await.unwrap(),
        Some(d("a", Some("alt")))
    );
    assert_eq!(
        b.get_user_devices("s", &["a".into(), "a".into()], ttl).await.unwrap(),
        vec![None, None]
    );
    let mut con = raw().await;
    assert!(
        keys_matching(
            &mut con,
            &format!("{}*", glob_escape(&b.space(Area::DeviceList, "s").key1("a", "alt")))
        )
        .await
        .is_empty(),
        "alt index entry went with it"
    );
    assert_eq!(
        b.cleanup_expired_device_lists("s", ttl).await.unwrap(),
        1,
        "only b was left to clean"
    );
    assert_eq!(
        keys_matching(&mut con, &b.space(Area::DeviceList, "s").pattern()).await,
        Vec::<Vec<u8>>::new(),
        "nothing is left behind"
    );
    finish(&b).await;
}

#[tokio::test]
async fn cleanup_walks_more_than_one_chunk() {
    let b = backend(&unique_prefix());
    let entries: Vec<(String, MessageSecret)> = (0..2_500)
        .map(|i| {
            (
                format!("m{i}"),
                MessageSecret {
                    secret: vec![1],
                    sender_jid: "s".into(),
                },
            )
        })
        .collect();
    b.set_message_secrets("s", entries, 1_000).await.unwrap();
    assert_eq!(
        b.cleanup_expired_message_secrets("s", 1_000 + CacheTtls::default().message_secret_ms)
            .await
            .unwrap(),
        2_500
    );
    let mut con = raw().await;
    assert_eq!(
        keys_matching(&mut con, &b.space(Area::MessageSecret, "s").pattern()).await,
        Vec::<Vec<u8>>::new()
    );
    finish(&b).await;
}

#[tokio::test]
async fn large_collection_maps_are_written_as_deltas() {
    let b = backend(&unique_prefix());
    let map: Vec<(String, Vec<u8>)> = (0..20_000u32)
        .map(|i| (format!("{i:064x}"), i.to_be_bytes().to_vec()))
        .collect();
    let update = |map: Vec<(String, Vec<u8>)>| CollectionUpdate {
        collection: "regular".into(),
        version: 1,
        hash: vec![1; 128],
        index_value_map: map,
    };
    b.set_collection_states("s", vec![update(map.clone())]).await.unwrap();
    let mut next = map[1..].to_vec();
    next.push(("new".into(), vec![7]));
    next[0].1 = vec![9];
    b.set_collection_states("s", vec![update(next.clone())]).await.unwrap();
    let mut got = b
        .get_collection_states("s", &["regular".into()])
        .await
        .unwrap()
        .remove(0)
        .index_value_map;
    got.sort();
    next.sort();
    assert_eq!(got, next);
    finish(&b).await;
}

/// Deletes keys left by earlier test processes that have exited: this suite's
/// (`wst<pid>_`) and the JS suites' (`wsct<pid>_`, `wsopt<pid>:`).
#[tokio::test]
async fn stale_test_keys_are_deleted() {
    if !std::path::Path::new("/proc/self").exists() {
        return;
    }
    let Ok(client) = redis::Client::open(url()) else { return };
    let Ok(mut con) = client.get_multiplexed_async_connection().await else {
        return;
    };
    let mut dead = HashSet::new();
    for tag in [PREFIX_TAG, "wsct", "wsopt", "fault"] {
        for key in keys_matching(&mut con, &format!("{tag}[0-9]*")).await {
            let text = String::from_utf8_lossy(&key);
            let rest = &text[tag.len()..];
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            let (pid, delimiter) = (&rest[..digits], rest[digits..].chars().next());
            if let Some(d @ ('_' | ':')) = delimiter {
                if crate::backend::dead_runs::pid_is_dead(pid) {
                    dead.insert(format!("{tag}{pid}{d}"));
                }
            }
        }
    }
    for prefix in dead {
        delete_prefix_blocking(&client, &prefix);
    }
}

crate::backend::conformance::conformance_tests!(super::fresh());

/// Every key under `b`'s prefix with its whole value (strings, hash fields
/// and values, set, sorted-set and list members), as stored.
async fn raw_values(b: &RedisBackend) -> Vec<u8> {
    let mut con = raw().await;
    let pattern = format!("{}*", glob_escape(b.key_prefix()));
    let mut keys: Vec<Vec<u8>> = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, page): (u64, Vec<Vec<u8>>) =
            redis::cmd("SCAN").arg(cursor).arg("MATCH").arg(&pattern).arg("COUNT").arg(1000).query_async(&mut con).await.unwrap();
        keys.extend(page);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    let mut out = Vec::new();
    for key in keys {
        let kind: String = redis::cmd("TYPE").arg(&key).query_async(&mut con).await.unwrap();
        let parts: Vec<Vec<u8>> = match kind.as_str() {
            "string" => vec![con.get(&key).await.unwrap()],
            "hash" => redis::cmd("HGETALL").arg(&key).query_async(&mut con).await.unwrap(),
            "set" => redis::cmd("SMEMBERS").arg(&key).query_async(&mut con).await.unwrap(),
            "zset" => redis::cmd("ZRANGE").arg(&key).arg(0).arg(-1).query_async(&mut con).await.unwrap(),
            "list" => redis::cmd("LRANGE").arg(&key).arg(0).arg(-1).query_async(&mut con).await.unwrap(),
            other => panic!("unexpected Redis type {other} at {}", String::from_utf8_lossy(&key)),
        };
        out.extend(key);
        for p in parts {
            out.push(b'\n');
            out.extend(p);
        }
        out.push(b'\n');
    }
    out
}

/// Encryption at rest: no key or value holds a secret in plaintext; see `crate::encryption::at_rest`.
#[tokio::test]
async fn encryption_at_rest() {
    let b = Arc::new(backend(&unique_prefix()));
    let dynamic: Arc<dyn Backend> = b.clone();
    crate::encryption::at_rest::scenario(dynamic, || raw_values(&b)).await;
    finish(&b).await;
}
