//! Backend-level tests: persistence, isolation, migrations, options,
//! hostile input, large values, concurrency and failure modes.

use std::sync::Arc;

use sqlx::Row;

use super::{SqliteBackend, SqliteOptions};
use crate::domain::app_state::{AppStateStore, CollectionUpdate, SyncKey};
use crate::domain::auth::AuthStore;
use crate::domain::device_list::{DeviceList, DeviceListStore};
use crate::domain::group_metadata::{GroupMetadata, GroupMetadataStore};
use crate::domain::message_secret::{MessageSecret, MessageSecretStore};
use crate::domain::messages::{MessageStore, StoredMessage};
use crate::domain::pre_key::{PreKey, PreKeyStore};
use crate::domain::retry::{RetryOutboundMessage, RetryStore};
use crate::domain::sender_key::{SenderKey, SenderKeyStore};
use crate::domain::session::SessionStore;
use crate::domain::signal::{RegistrationInfo, SignalStore};
use crate::domain::{Backend, CacheTtls, KeyPair, SignalAddress};
use crate::error::ErrorCode;

const MIGRATIONS: i64 = 7;

fn options(path: &str) -> SqliteOptions {
    SqliteOptions { path: path.to_owned(), ..Default::default() }
}

fn file_backend(dir: &tempfile::TempDir) -> SqliteBackend {
    SqliteBackend::new(options(&db_path(dir))).expect("valid options")
}

fn db_path(dir: &tempfile::TempDir) -> String {
    dir.path().join("store.db").to_string_lossy().into_owned()
}

fn addr(user: &str, device: u32) -> SignalAddress {
    SignalAddress::new(user, None, device)
}

fn pre_key(id: u32) -> PreKey {
    PreKey { key_id: id, key_pair: KeyPair { pub_key: vec![id as u8; 33], priv_key: vec![1; 32] }, uploaded: None }
}

fn blob(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

async fn migration_rows(b: &SqliteBackend) -> Vec<(i64, String)> {
    let pool = b.writer().await.unwrap();
    let sql = format!("SELECT version, name FROM {} ORDER BY version", b.options.tables.migrations);
    sqlx::query(&sql)
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<i64, _>(0), r.get::<String, _>(1)))
        .collect()
}

#[tokio::test]
async fn data_survives_close_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let sid = "restart";
    let b = file_backend(&dir);
    b.save(sid, vec![0xA5, 1, 7]).await.unwrap();
    b.set_sessions(sid, vec![(addr("111", 1), vec![1, 2])]).await.unwrap();
    b.put_pre_key(sid, pre_key(41)).await.unwrap();
    b.set_server_has_pre_keys(sid, true).await.unwrap();
    b.upsert_sync_keys(
        sid,
        vec![SyncKey { key_id: vec![0, 1, 0, 0, 0, 9], key_data: vec![3], timestamp: 5, fingerprint: None }],
    )
    .await
    .unwrap();
    b.close().await.unwrap();
    assert_eq!(b.load(sid).await.unwrap_err().code, ErrorCode::Closed, "a closed backend refuses work");

    let b = file_backend(&dir);
    assert_eq!(b.load(sid).await.unwrap(), Some(vec![0xA5, 1, 7]));
    assert_eq!(b.get_sessions(sid, &[addr("111", 1)]).await.unwrap(), vec![Some(vec![1, 2])]);
    assert_eq!(b.get_pre_key_by_id(sid, 41).await.unwrap(), Some(pre_key(41)));
    assert!(b.get_server_has_pre_keys(sid).await.unwrap());
    assert_eq!(b.reserve_pre_keys(sid, 2).await.unwrap().reserved_ids, vec![42], "the counter persisted");
    assert!(b.get_active_sync_key(sid).await.unwrap().is_some());
    assert_eq!(migration_rows(&b).await.len() as i64, MIGRATIONS, "reopening applies nothing twice");
    b.close().await.unwrap();

    // Dropping without close loses nothing either: every write was committed.
    let b = file_backend(&dir);
    b.save(sid, vec![9]).await.unwrap();
    drop(b);
    let b = file_backend(&dir);
    assert_eq!(b.load(sid).await.unwrap(), Some(vec![9]));
    b.close().await.unwrap();
}

#[tokio::test]
async fn many_sessions_in_one_file_stay_isolated() {
    let dir = tempfile::tempdir().unwrap();
    let b = Arc::new(file_backend(&dir));
    let mut tasks = Vec::new();
    for n in 0..24u8 {
        let b = b.clone();
        tasks.push(tokio::spawn(async move {
            let sid = format!("tenant-{n}");
            b.save(&sid, vec![n]).await.unwrap();
            b.set_sessions(&sid, vec![(addr("peer", 1), vec![n; 3])]).await.unwrap();
            b.put_pre_key(&sid, pre_key(u32::from(n) + 1)).await.unwrap();
            b.upsert_messages(&sid, vec![msg("same-id", "thread", Some(i64::from(n)))]).await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    for n in 0..24u8 {
        let sid = format!("tenant-{n}");
        assert_eq!(b.load(&sid).await.unwrap(), Some(vec![n]));
        assert_eq!(b.get_sessions(&sid, &[addr("peer", 1)]).await.unwrap(), vec![Some(vec![n; 3])]);
        let want = u32::from(n) + 1;
        assert_eq!(b.reserve_pre_keys(&sid, 1).await.unwrap().available, vec![pre_key(want)]);
        assert_eq!(b.get_message(&sid, "same-id").await.unwrap().and_then(|m| m.timestamp_ms), Some(i64::from(n)));
    }
    AuthStore::clear(&*b, "tenant-3").await.unwrap();
    assert_eq!(b.load("tenant-3").await.unwrap(), None);
    assert_eq!(b.load("tenant-4").await.unwrap(), Some(vec![4]));
    b.close().await.unwrap();
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
async fn migrations_apply_once_even_when_opened_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let backends: Vec<Arc<SqliteBackend>> = (0..4).map(|_| Arc::new(file_backend(&dir))).collect();
    // Separate pools on one file, like separate processes, all migrating at once.
    let tasks: Vec<_> = backends
        .iter()
        .map(|b| {
            let b = b.clone();
            tokio::spawn(async move { b.load("x").await.map(|_| ()) })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let rows = migration_rows(&backends[0]).await;
    assert_eq!(rows.iter().map(|(v, _)| *v).collect::<Vec<_>>(), (1..=MIGRATIONS).collect::<Vec<_>>());
    assert_eq!(rows[0].1, "auth_and_signal");
    for b in &backends {
        b.close().await.unwrap();
    }
}

#[tokio::test]
async fn options_are_validated_up_front() {
    let bad = |o: SqliteOptions| SqliteBackend::new(o).unwrap_err();
    let pragma = |k: &str, v: &str| SqliteOptions { pragmas: vec![(k.into(), v.into())], ..options("x.db") };
    let table = |k: &str, v: &str| SqliteOptions { table_names: vec![(k.into(), v.into())], ..options("x.db") };

    let err = bad(pragma("synchronous", "sometimes"));
    assert_eq!(err.code, ErrorCode::InvalidConfig);
    assert!(err.message.contains("pragmas.synchronous"), "{}", err.message);
    assert!(bad(pragma("foreign_keys", "ON")).message.contains("pragmas.foreign_keys"));
    assert!(bad(pragma("cache_size", "1; DROP TABLE x")).message.contains("pragmas.cache_size"));
    let err = bad(table("sessions", "s"));
    assert!(err.message.contains("tableNames.sessions") && err.message.contains("signal_session"), "{}", err.message);
    assert!(bad(table("signal_session", "bad name")).message.contains("tableNames.signal_session"));
    assert!(bad(table("signal_session", "signal_identity")).message.contains("both name"));
    assert!(bad(options("")).message.contains("path"));
    assert!(bad(options("a\0b")).message.contains("path"));
    let ttl = SqliteOptions { cache_ttls: CacheTtls { device_list_ms: 0, ..Default::default() }, ..options("x.db") };
    assert!(bad(ttl).message.contains("cacheTtlMs.deviceListMs"));

    // Valid options touch no file until the first operation.
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let b = SqliteBackend::new(SqliteOptions {
        pragmas: vec![
            ("synchronous".into(), "FULL".into()),
            ("busy_timeout".into(), "1234".into()),
            ("cache_size".into(), "-4096".into()),
        ],
        ..options(&path)
    })
    .unwrap();
    assert!(!std::path::Path::new(&path).exists(), "new() is lazy");
    b.save("s", vec![1]).await.unwrap();
    assert!(std::path::Path::new(&path).exists());
    let pool = b.writer().await.unwrap();
    let pragma_value = |name: &'static str| async move {
        sqlx::query(&format!("PRAGMA {name}")).fetch_one(pool).await.unwrap().get::<i64, _>(0)
    };
    assert_eq!(pragma_value("synchronous").await, 2);
    assert_eq!(pragma_value("busy_timeout").await, 1234);
    assert_eq!(pragma_value("cache_size").await, -4096);
    let mode: String = sqlx::query("PRAGMA journal_mode").fetch_one(pool).await.unwrap().get(0);
    assert_eq!(mode, "wal");
    b.close().await.unwrap();
}

#[tokio::test]
async fn default_pragmas_are_wal_normal_5s() {
    let dir = tempfile::tempdir().unwrap();
    let b = file_backend(&dir);
    // Both pools: the writer and a reader connection get the settings.
    for pool in [b.writer().await.unwrap(), b.reader().await.unwrap()] {
        let sync: i64 = sqlx::query("PRAGMA synchronous").fetch_one(pool).await.unwrap().get(0);
        let busy: i64 = sqlx::query("PRAGMA busy_timeout").fetch_one(pool).await.unwrap().get(0);
        let mode: String = sqlx::query("PRAGMA journal_mode").fetch_one(pool).await.unwrap().get(0);
        assert_eq!((sync, busy, mode.as_str()), (1, 5000, "wal"));
    }
    // The reader pool cannot write.
    let err = sqlx::query("DELETE FROM auth_credentials").execute(b.reader().await.unwrap()).await.unwrap_err();
    assert!(err.to_string().contains("readonly") || err.to_string().contains("query_only"), "{err}");
    b.close().await.unwrap();
}

#[tokio::test]
async fn custom_table_names_are_used() {
    let dir = tempfile::tempdir().unwrap();
    let b = SqliteBackend::new(SqliteOptions {
        table_names: vec![
            ("signal_session".into(), "tenant_sessions".into()),
            ("wastore_migrations".into(), "my_migrations".into()),
        ],
        ..options(&db_path(&dir))
    })
    .unwrap();
    b.set_sessions("s", vec![(addr("u", 0), vec![5])]).await.unwrap();
    let pool = b.writer().await.unwrap();
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM tenant_sessions").fetch_one(pool).await.unwrap().get(0);
    assert_eq!(n, 1);
    let v: i64 = sqlx::query("SELECT COUNT(*) FROM my_migrations").fetch_one(pool).await.unwrap().get(0);
    assert_eq!(v, MIGRATIONS);
    b.close().await.unwrap();

    // Same migrations table, other names: the missing tables are reported, not hit later.
    let other = SqliteBackend::new(SqliteOptions {
        table_names: vec![
            ("signal_session".into(), "renamed_sessions".into()),
            ("wastore_migrations".into(), "my_migrations".into()),
        ],
        ..options(&db_path(&dir))
    })
    .unwrap();
    let err = other.load("s").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ConnectionFailed);
    assert!(err.message.contains("renamed_sessions"), "{}", err.message);
}

#[tokio::test]
async fn foreign_tables_under_our_names_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    // Another application's table under a default name, with other columns.
    let pool = sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new().filename(&path).create_if_missing(true),
    )
    .await
    .unwrap();
    sqlx::query("CREATE TABLE auth_credentials (session_id TEXT PRIMARY KEY, noise_pub_key BLOB)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let b = SqliteBackend::new(options(&path)).unwrap();
    let err = b.load("s").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ConnectionFailed);
    assert!(err.message.contains("auth_credentials") && err.message.contains("tableNames"), "{}", err.message);
    // Renaming our table avoids the clash.
    let b = SqliteBackend::new(SqliteOptions {
        table_names: vec![("auth_credentials".into(), "ws_auth".into())],
        ..options(&path)
    })
    .unwrap();
    b.save("s", vec![1]).await.unwrap();
    assert_eq!(b.load("s").await.unwrap(), Some(vec![1]));
    b.close().await.unwrap();
}

#[tokio::test]
async fn open_failure_names_the_path_and_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-dir").join("store.db").to_string_lossy().into_owned();
    let b = SqliteBackend::new(options(&path)).unwrap();
    let err = b.load("s").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ConnectionFailed);
    assert!(err.message.contains(&path), "{}", err.message);
    assert!(err.cause_message().is_some(), "the driver error is kept as the cause");
    std::fs::create_dir(dir.path().join("missing-dir")).unwrap();
    assert_eq!(b.load("s").await.unwrap(), None, "a later call opens once the path works");
    b.close().await.unwrap();
}

#[tokio::test]
async fn not_a_database_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    std::fs::write(&path, vec![0x42; 8192]).unwrap();
    let b = SqliteBackend::new(options(&path)).unwrap();
    let err = b.load("s").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ConnectionFailed, "{err}");
}

#[tokio::test]
async fn close_is_final_and_idempotent() {
    let b = SqliteBackend::new(options(":memory:")).unwrap();
    b.close().await.unwrap(); // before any open
    assert_eq!(b.load("s").await.unwrap_err().code, ErrorCode::Closed);
    let b = SqliteBackend::new(options(":memory:")).unwrap();
    b.save("s", vec![1]).await.unwrap();
    b.close().await.unwrap();
    b.close().await.unwrap();
    assert_eq!(b.save("s", vec![2]).await.unwrap_err().code, ErrorCode::Closed);
    assert_eq!(b.has_sessions("s", &[]).await.unwrap_err().code, ErrorCode::Closed);
    assert_eq!(b.kind(), "sqlite");
}

#[tokio::test]
async fn memory_database_is_shared_by_every_session() {
    let b = Arc::new(SqliteBackend::new(options(":memory:")).unwrap());
    let mut tasks = Vec::new();
    for n in 0..16u8 {
        let b = b.clone();
        tasks.push(tokio::spawn(async move { b.save(&format!("m{n}"), vec![n]).await.unwrap() }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    for n in 0..16u8 {
        assert_eq!(b.load(&format!("m{n}")).await.unwrap(), Some(vec![n]));
    }
    // Two in-memory backends are two databases.
    let other = SqliteBackend::new(options(":memory:")).unwrap();
    assert_eq!(other.load("m1").await.unwrap(), None);
}

#[tokio::test]
async fn hostile_ids_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let b = file_backend(&dir);
    let hostile = [
        "'; DROP TABLE auth_credentials; --",
        "\") OR 1=1 --",
        "%_*?[]\\",
        "ünïcødé 🙂 \u{0}nul",
        "a|b:c@s.whatsapp.net",
        " leading and trailing ",
    ];
    for (n, h) in hostile.iter().enumerate() {
        let seed = n as u8;
        b.save(h, vec![seed]).await.unwrap();
        let peer = SignalAddress { user: (*h).into(), server: (*h).into(), device: n as u32 };
        b.set_sessions(h, vec![(peer.clone(), vec![seed])]).await.unwrap();
        b.upsert_sender_key(h, SenderKey { group_id: (*h).into(), sender: peer.clone(), record: vec![seed] })
            .await
            .unwrap();
        b.upsert_messages(h, vec![msg(h, h, Some(1))]).await.unwrap();
        b.upsert_user_devices(
            h,
            vec![DeviceList {
                user_jid: (*h).into(),
                alt_user_jid: Some(format!("{h}-alt")),
                device_jids: vec![(*h).into()],
                updated_at_ms: 1,
            }],
        )
        .await
        .unwrap();
        assert_eq!(b.load(h).await.unwrap(), Some(vec![seed]));
        assert_eq!(b.get_sessions(h, std::slice::from_ref(&peer)).await.unwrap(), vec![Some(vec![seed])]);
        assert_eq!(b.get_device_sender_key(h, h, &peer).await.unwrap().map(|k| k.record), Some(vec![seed]));
        assert_eq!(b.list_messages_by_thread(h, h, 5, None).await.unwrap(), vec![msg(h, h, Some(1))]);
        let found = b.find_by_any_user_jid(h, &format!("{h}-alt"), 2).await.unwrap().unwrap();
        assert_eq!(found.device_jids, vec![h.to_string()]);
    }
    for (n, h) in hostile.iter().enumerate() {
        assert_eq!(b.load(h).await.unwrap(), Some(vec![n as u8]), "no session clobbered another");
    }
    b.close().await.unwrap();
}

#[tokio::test]
async fn one_mebibyte_blobs_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let b = file_backend(&dir);
    let big = blob(1024 * 1024, 3);
    b.save("s", big.clone()).await.unwrap();
    b.set_sessions("s", vec![(addr("u", 1), big.clone())]).await.unwrap();
    b.set_message_secrets("s", vec![("m".into(), MessageSecret { secret: big.clone(), sender_jid: "a".into() })], 0)
        .await
        .unwrap();
    b.close().await.unwrap();
    let b = file_backend(&dir);
    assert_eq!(b.load("s").await.unwrap(), Some(big.clone()));
    assert_eq!(b.get_sessions("s", &[addr("u", 1)]).await.unwrap(), vec![Some(big.clone())]);
    assert_eq!(b.get_message_secrets("s", &["m".into()], 1).await.unwrap()[0].as_ref().map(|s| &s.secret), Some(&big));
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_consume_returns_the_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let b = Arc::new(file_backend(&dir));
    // A second backend on the same file plays another process.
    let other = Arc::new(file_backend(&dir));
    b.put_pre_key("s", pre_key(7)).await.unwrap();
    let mut tasks = Vec::new();
    for n in 0..32 {
        let b = if n % 2 == 0 { b.clone() } else { other.clone() };
        tasks.push(tokio::spawn(async move { b.consume_pre_key_by_id("s", 7).await.unwrap() }));
    }
    let mut winners = 0;
    for t in tasks {
        if let Some(key) = t.await.unwrap() {
            assert_eq!(key, pre_key(7));
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
    assert_eq!(b.get_pre_key_by_id("s", 7).await.unwrap(), None);
    b.close().await.unwrap();
    other.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_increments_count_every_call() {
    let dir = tempfile::tempdir().unwrap();
    let b = Arc::new(file_backend(&dir));
    let other = Arc::new(file_backend(&dir));
    const N: u32 = 60;
    let mut tasks = Vec::new();
    for n in 0..N {
        let b = if n % 3 == 0 { other.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            b.increment_inbound_counter("s", "msg", "dev", 10, 1_000_000).await.unwrap()
        }));
    }
    let mut seen = Vec::new();
    for t in tasks {
        seen.push(t.await.unwrap());
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=N).collect::<Vec<_>>(), "every caller got a distinct count");
    assert_eq!(b.increment_inbound_counter("s", "msg", "dev", 10, 1_000_000).await.unwrap(), N + 1);
    b.close().await.unwrap();
    other.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reservations_never_hand_out_an_id_twice() {
    let dir = tempfile::tempdir().unwrap();
    let b = Arc::new(file_backend(&dir));
    let other = Arc::new(file_backend(&dir));
    let mut tasks = Vec::new();
    for n in 0..16 {
        let b = if n % 2 == 0 { b.clone() } else { other.clone() };
        tasks.push(tokio::spawn(async move { b.reserve_pre_keys("s", 5).await.unwrap().reserved_ids }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.extend(t.await.unwrap());
    }
    ids.sort_unstable();
    assert_eq!(ids, (1..=80).collect::<Vec<_>>());
    b.close().await.unwrap();
    other.close().await.unwrap();
}

#[tokio::test]
async fn concurrent_delivery_marks_are_all_kept() {
    let b = Arc::new(SqliteBackend::new(options(":memory:")).unwrap());
    let devices: Vec<String> = (0..20).map(|n| format!("dev{n}@s.whatsapp.net")).collect();
    b.upsert_outbound_message(
        "s",
        RetryOutboundMessage {
            message_id: "m".into(),
            to_jid: "to".into(),
            eligible_requester_device_jids: Some(devices.clone()),
            delivered_requester_device_jids: None,
            replay_mode: "plaintext".into(),
            replay_payload: vec![1],
            state: "pending".into(),
            updated_at_ms: 1,
            expires_at_ms: 2,
        },
    )
    .await
    .unwrap();
    let tasks: Vec<_> = devices
        .iter()
        .cloned()
        .map(|d| {
            let b = b.clone();
            tokio::spawn(async move { b.mark_outbound_requester_delivered("s", "m", &d, 3, 4).await.unwrap() })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let mut delivered =
        b.get_outbound_message("s", "m").await.unwrap().unwrap().delivered_requester_device_jids.unwrap();
    delivered.sort();
    let mut want = devices;
    want.sort();
    assert_eq!(delivered, want);
}

#[tokio::test]
async fn batches_larger_than_one_statement_are_chunked() {
    let dir = tempfile::tempdir().unwrap();
    let b = file_backend(&dir);
    let sid = "bulk";
    let peers: Vec<SignalAddress> = (0..1_300u32).map(|n| addr(&format!("user{n}"), n % 3)).collect();
    b.set_sessions(sid, peers.iter().step_by(2).map(|p| (p.clone(), vec![p.device as u8])).collect()).await.unwrap();
    let has = b.has_sessions(sid, &peers).await.unwrap();
    assert_eq!(has.len(), peers.len());
    assert!(has.iter().enumerate().all(|(i, h)| *h == (i % 2 == 0)));
    let got = b.get_sessions(sid, &peers).await.unwrap();
    assert!(got.iter().enumerate().all(|(i, g)| g.is_some() == (i % 2 == 0)));

    let ids: Vec<u32> = (1..=2_000).collect();
    b.insert_generated_pre_keys(sid, ids.iter().map(|id| pre_key(*id)).collect()).await.unwrap();
    let mut wanted: Vec<u32> = (1..=2_100).rev().collect();
    wanted.push(5);
    let keys = b.get_pre_keys_by_id(sid, &wanted).await.unwrap();
    assert_eq!(keys.iter().filter(|k| k.is_some()).count(), 2_001);
    assert_eq!(keys.last().unwrap().as_ref().map(|k| k.key_id), Some(5));

    let users: Vec<String> = (0..1_100).map(|n| format!("u{n}@s.whatsapp.net")).collect();
    let lists = users
        .iter()
        .map(|u| DeviceList { user_jid: u.clone(), alt_user_jid: None, device_jids: vec![], updated_at_ms: 0 })
        .collect();
    b.upsert_user_devices(sid, lists).await.unwrap();
    // Every one expired: all dropped in chunked deletes.
    assert!(b.get_user_devices(sid, &users, i64::MAX).await.unwrap().iter().all(Option::is_none));
    assert_eq!(b.cleanup_expired_device_lists(sid, i64::MAX).await.unwrap(), 0, "the read already dropped them");

    let map: Vec<(String, Vec<u8>)> = (0..1_500u32).map(|n| (format!("{n:064x}"), vec![n as u8])).collect();
    let update =
        CollectionUpdate { collection: "regular".into(), version: 1, hash: vec![0; 128], index_value_map: map.clone() };
    b.set_collection_states(sid, vec![update.clone()]).await.unwrap();
    // Drop 1,000 entries, change one: only the delta is written.
    let smaller = CollectionUpdate {
        index_value_map: map[1_000..].iter().cloned().map(|(k, _)| (k, vec![0xFF])).collect(),
        ..update
    };
    b.set_collection_states(sid, vec![smaller.clone()]).await.unwrap();
    let state = b.get_collection_states(sid, &["regular".into()]).await.unwrap().remove(0);
    assert_eq!(state.index_value_map, smaller.index_value_map, "first-write order is kept");
    b.close().await.unwrap();
}

#[tokio::test]
async fn corrupted_rows_are_reported_not_panicked_on() {
    let b = SqliteBackend::new(options(":memory:")).unwrap();
    b.upsert_group_metadata(
        "s",
        GroupMetadata {
            group_jid: "g".into(),
            participants: vec![],
            ephemeral: None,
            ephemeral_trigger: None,
            updated_at_ms: 1,
        },
    )
    .await
    .unwrap();
    let pool = b.writer().await.unwrap();
    sqlx::query("UPDATE group_participants_cache SET participants_json = '{not json'").execute(pool).await.unwrap();
    let err = b.get_group_metadata("s", "g", 2).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Corrupted, "{err}");

    b.set_registration_info(
        "s",
        RegistrationInfo { registration_id: 1, identity_key_pair: KeyPair { pub_key: vec![1], priv_key: vec![2] } },
    )
    .await
    .unwrap();
    sqlx::query("UPDATE signal_registration SET registration_id = -5").execute(pool).await.unwrap();
    assert_eq!(b.get_registration_info("s").await.unwrap_err().code, ErrorCode::Corrupted);
    sqlx::query("UPDATE signal_registration SET identity_pub_key = NULL").execute(pool).await.ok();
    sqlx::query("UPDATE signal_registration SET registration_id = 'text'").execute(pool).await.unwrap();
    assert_eq!(b.get_registration_info("s").await.unwrap_err().code, ErrorCode::Corrupted);

    let out = RetryOutboundMessage {
        message_id: "m".into(),
        to_jid: "to".into(),
        eligible_requester_device_jids: Some(vec!["d".into()]),
        delivered_requester_device_jids: None,
        replay_mode: "plaintext".into(),
        replay_payload: vec![1],
        state: "pending".into(),
        updated_at_ms: 1,
        expires_at_ms: 2,
    };
    b.upsert_outbound_message("s", out).await.unwrap();
    sqlx::query("UPDATE retry_outbound_messages SET eligible_requesters_json = '[1, 2]'").execute(pool).await.unwrap();
    assert_eq!(b.get_outbound_requester_status("s", "m", "d").await.unwrap_err().code, ErrorCode::Corrupted);
    assert_eq!(b.get_outbound_message("s", "m").await.unwrap_err().code, ErrorCode::Corrupted);
}

#[tokio::test]
async fn expired_cache_reads_delete_only_what_they_saw() {
    let b = SqliteBackend::new(options(":memory:")).unwrap();
    let ttl = CacheTtls::default().group_metadata_ms;
    let g = |jid: &str, at: i64| GroupMetadata {
        group_jid: jid.into(),
        participants: vec!["p".into()],
        ephemeral: None,
        ephemeral_trigger: None,
        updated_at_ms: at,
    };
    b.upsert_group_metadata("s", g("a", 0)).await.unwrap();
    b.upsert_group_metadata("s", g("b", 0)).await.unwrap();
    assert_eq!(b.get_group_metadata("s", "a", ttl - 1).await.unwrap(), Some(g("a", 0)));
    assert_eq!(b.get_group_metadata("s", "a", ttl).await.unwrap(), None, "expires at updated + ttl");
    assert_eq!(b.cleanup_expired_group_metadata("s", ttl).await.unwrap(), 1, "only b was left to clean");
    assert_eq!(b.retry_ttl_ms(), CacheTtls::default().retry_ms);
    assert!(!b.supports_raw_replay_payload());
}

#[tokio::test]
async fn session_server_defaults_when_empty() {
    let b = SqliteBackend::new(options(":memory:")).unwrap();
    let bare = SignalAddress { user: "u".into(), server: String::new(), device: 1 };
    b.set_sessions("s", vec![(bare.clone(), vec![1])]).await.unwrap();
    assert_eq!(b.has_sessions("s", &[addr("u", 1), bare]).await.unwrap(), vec![true, true]);
}

#[tokio::test]
async fn clearing_a_domain_reaches_every_of_its_tables() {
    let b = SqliteBackend::new(options(":memory:")).unwrap();
    b.set_registration_info(
        "s",
        RegistrationInfo { registration_id: 1, identity_key_pair: KeyPair { pub_key: vec![1], priv_key: vec![2] } },
    )
    .await
    .unwrap();
    b.set_signed_pre_key_rotation_ts("s", Some(9)).await.unwrap();
    SignalStore::clear(&b, "s").await.unwrap();
    assert_eq!(b.get_signed_pre_key_rotation_ts("s").await.unwrap(), None);
    SenderKeyStore::clear(&b, "s").await.unwrap();
    AppStateStore::clear(&b, "s").await.unwrap();
    RetryStore::clear(&b, "s").await.unwrap();
    DeviceListStore::clear(&b, "s").await.unwrap();
    MessageSecretStore::clear(&b, "s").await.unwrap();
    GroupMetadataStore::clear(&b, "s").await.unwrap();
    SessionStore::clear(&b, "s").await.unwrap();
    MessageStore::clear(&b, "s").await.unwrap();
    PreKeyStore::clear(&b, "s").await.unwrap();
}

const CONFORMANCE_DIR_PREFIX: &str = "wastore-conformance-";

/// Removes conformance dirs left by earlier test processes that have exited
/// (a backend is shared by the suite's async tests, so nothing can delete its
/// file when one test ends; the next run cleans up instead).
fn remove_stale_conformance_dirs() {
    if !std::path::Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(CONFORMANCE_DIR_PREFIX).and_then(|rest| rest.split('-').next()) else { continue };
        if crate::backend::dead_runs::pid_is_dead(pid) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A backend on its own file, for the shared conformance suite.
fn fresh() -> crate::backend::conformance::DynBackend {
    static CLEAN: std::sync::Once = std::sync::Once::new();
    CLEAN.call_once(remove_stale_conformance_dirs);
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("{CONFORMANCE_DIR_PREFIX}{}-{n}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("store.db").to_string_lossy().into_owned();
    Arc::new(SqliteBackend::new(options(&path)).expect("valid options"))
}

crate::backend::conformance::conformance_tests!(super::fresh());

/// Encryption at rest: the raw database file (and its WAL) never holds a
/// secret value in plaintext; see `crate::encryption::at_rest`.
#[tokio::test]
async fn encryption_at_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let b: Arc<dyn Backend> = Arc::new(SqliteBackend::new(options(&path)).expect("valid options"));
    let raw = || {
        let path = path.clone();
        async move {
            let mut bytes = Vec::new();
            for suffix in ["", "-wal"] {
                if let Ok(b) = std::fs::read(format!("{path}{suffix}")) {
                    bytes.extend(b);
                }
            }
            bytes
        }
    };
    crate::encryption::at_rest::scenario(Arc::clone(&b), raw).await;
    b.close().await.unwrap();
}
