//! Backend-level tests against a live MySQL/MariaDB server
//! (`WASTORE_TEST_MYSQL_URL`, default `mysql://root@127.0.0.1:3306/test`).
//! Every backend gets its own table prefix `t{pid}_{n}_`, so runs never
//! collide; tables of finished runs are dropped by `stale_test_tables_are_dropped`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::Row;

use super::MysqlBackend;
use crate::backend::pool::{PoolOptions, ServerStoreOptions};
use crate::domain::auth::AuthStore;
use crate::domain::contacts::{ContactStore, StoredContact};
use crate::domain::group_metadata::{GroupMetadata, GroupMetadataStore};
use crate::domain::messages::{MessageStore, StoredMessage};
use crate::domain::pre_key::{PreKey, PreKeyStore};
use crate::domain::retry::{RetryOutboundMessage, RetryStore};
use crate::domain::session::SessionStore;
use crate::domain::signal::{RegistrationInfo, SignalStore};
use crate::domain::threads::{StoredThread, ThreadStore};
use crate::domain::{Backend, KeyPair, SignalAddress};
use crate::error::ErrorCode;

const MIGRATIONS: i64 = 8;

fn url() -> String {
    std::env::var("WASTORE_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".to_owned())
}

fn unique_prefix() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("t{}_{}_", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

fn options_with(prefix: &str) -> ServerStoreOptions {
    let mut o = ServerStoreOptions::new(PoolOptions::new(url()));
    o.table_prefix = prefix.to_owned();
    o.pool.max_connections = 4;
    o
}

fn backend(prefix: &str) -> MysqlBackend {
    MysqlBackend::new(options_with(prefix)).expect("valid options")
}

/// A backend on its own prefix, for the shared conformance suite; its tables
/// are dropped when the test ends (the suite holds the only reference).
fn fresh() -> crate::backend::conformance::DynBackend {
    let b = backend(&unique_prefix());
    b.drop_tables_on_drop.store(true, Ordering::Relaxed);
    Arc::new(b)
}

/// Drops every table of `tables` on a fresh connection, from a plain thread
/// (runs inside `Drop`, possibly on a runtime thread that must not block on itself).
pub(super) fn drop_tables_blocking(connect: sqlx::mysql::MySqlConnectOptions, tables: &super::sql::Tables) {
    use sqlx::Connection;
    let statements: Vec<String> = tables.all().iter().map(|t| format!("DROP TABLE IF EXISTS {t}")).collect();
    let worker = std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
        runtime.block_on(async move {
            let Ok(mut conn) = sqlx::MySqlConnection::connect_with(&connect).await else { return };
            for sql in &statements {
                let _ = sqlx::query(sql).execute(&mut conn).await;
            }
            let _ = conn.close().await;
        });
    });
    let _ = worker.join();
}

async fn drop_tables(b: &MysqlBackend) {
    let pool = b.pool().await.unwrap();
    for table in b.tables.all() {
        sqlx::query(&format!("DROP TABLE IF EXISTS {table}")).execute(pool).await.unwrap();
    }
}

async fn migration_rows(b: &MysqlBackend) -> Vec<(i64, String)> {
    let pool = b.pool().await.unwrap();
    let sql = format!("SELECT version, name FROM {} ORDER BY version", b.tables.migrations);
    sqlx::query(&sql)
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<i64, _>(0), String::from_utf8(r.get::<Vec<u8>, _>(1)).unwrap()))
        .collect()
}

fn pre_key(id: u32) -> PreKey {
    PreKey { key_id: id, key_pair: KeyPair { pub_key: vec![id as u8; 33], priv_key: vec![1; 32] }, uploaded: None }
}

fn addr(user: &str, device: u32) -> SignalAddress {
    SignalAddress::new(user, None, device)
}

fn message(id: &str, thread: &str, ts: i64) -> StoredMessage {
    StoredMessage {
        id: id.into(),
        thread_jid: thread.into(),
        sender_jid: None,
        participant_jid: None,
        from_me: true,
        timestamp_ms: Some(ts),
        message_bytes: Some(vec![1, 2]),
    }
}

#[tokio::test]
async fn stale_test_tables_are_dropped() {
    // Tables of test processes that have exited (prefix t{pid}_{n}_).
    let b = backend(&unique_prefix());
    let pool = b.pool().await.unwrap();
    let rows = sqlx::query(
        "SELECT CAST(table_name AS CHAR(255)) FROM information_schema.tables
         WHERE table_schema = DATABASE() AND table_name LIKE 't%\\_%\\_%'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for row in rows {
        let name: Vec<u8> = row.try_get(0).unwrap_or_default();
        let name = String::from_utf8_lossy(&name).into_owned();
        let Some(pid) = name.strip_prefix('t').and_then(|r| r.split('_').next()) else { continue };
        if crate::backend::dead_runs::pid_is_dead(pid) {
            let _ = sqlx::query(&format!("DROP TABLE IF EXISTS `{name}`")).execute(pool).await;
        }
    }
    drop_tables(&b).await;
    b.close().await.unwrap();
}

#[tokio::test]
async fn data_survives_a_restart() {
    let prefix = unique_prefix();
    let a = backend(&prefix);
    a.save("s", vec![1, 2, 3]).await.unwrap();
    a.put_pre_key("s", pre_key(5)).await.unwrap();
    a.set_sessions("s", vec![(addr("u", 1), vec![9])]).await.unwrap();
    a.close().await.unwrap();
    assert_eq!(a.load("s").await.unwrap_err().code, ErrorCode::Closed);

    let b = backend(&prefix);
    assert_eq!(b.load("s").await.unwrap(), Some(vec![1, 2, 3]));
    assert_eq!(b.get_pre_key_by_id("s", 5).await.unwrap(), Some(pre_key(5)));
    assert_eq!(b.get_sessions("s", &[addr("u", 1)]).await.unwrap(), vec![Some(vec![9])]);
    assert_eq!(migration_rows(&b).await.len() as i64, MIGRATIONS, "nothing re-applied");
    assert_eq!(b.kind(), "mysql");
    drop_tables(&b).await;
    b.close().await.unwrap();
}

#[test]
fn options_are_validated_without_leaking_passwords() {
    let mut o = options_with("bad-prefix");
    let err = MysqlBackend::new(o.clone()).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidConfig);
    assert!(err.message.contains("tablePrefix"), "{err}");

    o.table_prefix = "p".repeat(33);
    assert!(MysqlBackend::new(o.clone()).unwrap_err().message.contains("tablePrefix"));

    o.table_prefix = "ok_".into();
    o.pool.connection_string = "  ".into();
    let err = MysqlBackend::new(o.clone()).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidConfig);
    assert!(err.message.contains("connectionString"), "{err}");

    for bad in ["postgres://bob:s3cret@db/wa", "mysql://bob:s3cret@db:notaport/wa", "not a url s3cret"] {
        o.pool.connection_string = bad.into();
        let err = MysqlBackend::new(o.clone()).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidConfig, "{bad}");
        assert!(err.message.contains("pool.connectionString"), "{err}");
        assert!(!err.message.contains("s3cret") && err.cause_message().is_none_or(|c| !c.contains("s3cret")), "{err}");
    }
    o.pool.connection_string = url();
    o.cleanup_interval_ms = Some(0);
    assert_eq!(MysqlBackend::new(o).unwrap_err().code, ErrorCode::InvalidConfig);
    // Valid options touch no server.
    let b = MysqlBackend::new(ServerStoreOptions::new(PoolOptions::new("mysql://u:p@127.0.0.1:1/x"))).unwrap();
    assert!(!format!("{b:?}").contains(":p@"));
}

#[tokio::test]
async fn an_unreachable_server_fails_fast_and_retries() {
    let mut o = ServerStoreOptions::new(PoolOptions::new("mysql://root:hunter2@127.0.0.1:1/test"));
    o.pool.acquire_timeout_ms = 500;
    o.pool.connect_timeout_ms = 2_000;
    let b = MysqlBackend::new(o).unwrap();
    for _ in 0..2 {
        let started = Instant::now();
        let err = b.load("s").await.unwrap_err();
        assert_eq!(err.code, ErrorCode::ConnectionFailed, "{err}");
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        assert!(!err.message.contains("hunter2"), "{err}");
        assert!(err.message.contains("127.0.0.1:1"), "{err}");
    }
    b.close().await.unwrap();
    assert_eq!(b.load("s").await.unwrap_err().code, ErrorCode::Closed);
}

#[tokio::test]
async fn wrong_credentials_are_a_connection_failure() {
    let mut o = options_with(&unique_prefix());
    o.pool.connection_string = "mysql://wastore_nobody:wrongpw@127.0.0.1:3306/test".into();
    o.pool.acquire_timeout_ms = 2_000;
    let b = MysqlBackend::new(o).unwrap();
    let err = b.load("s").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ConnectionFailed, "{err}");
    assert!(!err.message.contains("wrongpw"), "{err}");
}

#[tokio::test]
async fn concurrent_first_opens_migrate_once() {
    let prefix = unique_prefix();
    let (a, b) = (backend(&prefix), backend(&prefix));
    let (ra, rb) = tokio::join!(a.load("s"), b.load("s"));
    assert_eq!((ra.unwrap(), rb.unwrap()), (None, None));
    let rows = migration_rows(&a).await;
    assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), (1..=MIGRATIONS).collect::<Vec<_>>());
    drop_tables(&a).await;
    a.close().await.unwrap();
    b.close().await.unwrap();
}

#[tokio::test]
async fn a_pre_key_is_consumed_exactly_once_across_instances() {
    let prefix = unique_prefix();
    let a = Arc::new(backend(&prefix));
    let b = Arc::new(backend(&prefix));
    a.put_pre_key("s", pre_key(7)).await.unwrap();
    b.load("s").await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let backend = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move { backend.consume_pre_key_by_id("s", 7).await }));
    }
    let mut got = Vec::new();
    for task in tasks {
        if let Some(key) = task.await.unwrap().unwrap() {
            got.push(key);
        }
    }
    assert_eq!(got, vec![pre_key(7)]);
    assert_eq!(a.get_pre_key_by_id("s", 7).await.unwrap(), None);
    drop_tables(&a).await;
    a.close().await.unwrap();
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_increments_never_lose_a_count() {
    let prefix = unique_prefix();
    let mut o = options_with(&prefix);
    o.pool.max_connections = 8;
    let b = Arc::new(MysqlBackend::new(o).unwrap());
    b.load("s").await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..1_000 {
        let b = b.clone();
        tasks.push(tokio::spawn(async move { b.increment_inbound_counter("s", "m", "r", 10, i64::MAX / 2).await }));
    }
    let mut seen = Vec::new();
    for task in tasks {
        seen.push(task.await.unwrap().unwrap());
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=1_000).collect::<Vec<u32>>());
    assert_eq!(b.increment_inbound_counter("s", "m", "r", 11, 12).await.unwrap(), 1_001);
    // Expired counters restart at 1.
    assert_eq!(b.increment_inbound_counter("s", "m", "r", 12, 20).await.unwrap(), 1);
    drop_tables(&b).await;
    b.close().await.unwrap();
}

#[tokio::test]
async fn hostile_strings_round_trip_exactly() {
    let b = backend(&unique_prefix());
    let hostile = [
        "'", "\"", ";", "--", "\\", "%", "_", "' OR '1'='1", "a%", "A%", "ünï", "uni", "🙂", "a ", "a", "A", "á",
        "\0nul", "x'); DROP TABLE t; --",
    ];
    for (i, h) in hostile.iter().enumerate() {
        let sid = format!("sid{h}");
        b.save(&sid, vec![i as u8]).await.unwrap();
        b.upsert_messages(&sid, vec![message(h, h, i as i64)]).await.unwrap();
        b.upsert_contacts(
            &sid,
            vec![StoredContact { jid: h.to_string(), phone_number: Some(format!("{h}pn")), ..Default::default() }],
        )
        .await
        .unwrap();
        b.upsert_threads("t", vec![StoredThread { jid: h.to_string(), name: Some(h.to_string()), ..Default::default() }])
            .await
            .unwrap();
    }
    for (i, h) in hostile.iter().enumerate() {
        let sid = format!("sid{h}");
        assert_eq!(b.load(&sid).await.unwrap(), Some(vec![i as u8]), "{h:?}");
        assert_eq!(b.get_message(&sid, h).await.unwrap(), Some(message(h, h, i as i64)), "{h:?}");
        assert_eq!(b.list_messages_by_thread(&sid, h, 10, None).await.unwrap().len(), 1, "{h:?}");
        assert_eq!(b.get_contact_by_phone_number(&sid, &format!("{h}pn")).await.unwrap().unwrap().jid, *h);
        assert_eq!(b.get_thread("t", h).await.unwrap().unwrap().name.as_deref(), Some(*h), "{h:?}");
    }
    assert_eq!(b.list_threads("t", 100).await.unwrap().len(), hostile.len(), "case, accents and spaces are distinct");
    drop_tables(&b).await;
    b.close().await.unwrap();
}

#[tokio::test]
async fn clearing_one_session_of_a_hundred_leaves_the_rest() {
    let b = backend(&unique_prefix());
    for i in 0..100 {
        let sid = format!("session-{i}");
        b.save(&sid, vec![i as u8]).await.unwrap();
        b.upsert_messages(&sid, vec![message("m", "t", 1)]).await.unwrap();
    }
    AuthStore::clear(&b, "session-42").await.unwrap();
    MessageStore::clear(&b, "session-42").await.unwrap();
    for i in 0..100 {
        let sid = format!("session-{i}");
        let expected = (i != 42).then(|| vec![i as u8]);
        assert_eq!(b.load(&sid).await.unwrap(), expected);
        assert_eq!(b.get_message(&sid, "m").await.unwrap().is_some(), i != 42);
    }
    drop_tables(&b).await;
    b.close().await.unwrap();
}

#[tokio::test]
async fn over_long_session_ids_are_rejected() {
    let b = backend(&unique_prefix());
    let long = "s".repeat(513);
    let err = b.save(&long, vec![1]).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument);
    assert!(err.message.contains("sessionId"), "{err}");
    let fits = "é".repeat(512);
    b.save(&fits, vec![1]).await.unwrap();
    assert_eq!(b.load(&fits).await.unwrap(), Some(vec![1]));
    drop_tables(&b).await;
    b.close().await.unwrap();
}

#[tokio::test]
async fn corrupted_rows_are_reported_not_panicked_on() {
    let b = backend(&unique_prefix());
    let g = GroupMetadata { group_jid: "g".into(), participants: vec![], ephemeral: None, ephemeral_trigger: None, updated_at_ms: 1 };
    b.upsert_group_metadata("s", g).await.unwrap();
    let pool = b.pool().await.unwrap();
    sqlx::query(&format!("UPDATE {} SET participants_json = '{{not json'", b.tables.group_metadata))
        .execute(pool)
        .await
        .unwrap();
    assert_eq!(b.get_group_metadata("s", "g", 2).await.unwrap_err().code, ErrorCode::Corrupted);

    b.set_registration_info(
        "s",
        RegistrationInfo { registration_id: 1, identity_key_pair: KeyPair { pub_key: vec![1], priv_key: vec![2] } },
    )
    .await
    .unwrap();
    sqlx::query(&format!("UPDATE {} SET registration_id = -5", b.tables.signal_registration)).execute(pool).await.unwrap();
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
    sqlx::query(&format!("UPDATE {} SET eligible_requesters_json = '[1, 2]'", b.tables.retry_outbound))
        .execute(pool)
        .await
        .unwrap();
    assert_eq!(b.get_outbound_message("s", "m").await.unwrap_err().code, ErrorCode::Corrupted);
    drop_tables(&b).await;
    b.close().await.unwrap();
}

#[tokio::test]
async fn the_cleanup_task_sweeps_every_session_until_closed() {
    let mut o = options_with(&unique_prefix());
    o.cleanup_interval_ms = Some(50);
    let b = MysqlBackend::new(o).unwrap();
    let g = |jid: &str, at: i64| GroupMetadata {
        group_jid: jid.into(),
        participants: vec![],
        ephemeral: None,
        ephemeral_trigger: None,
        updated_at_ms: at,
    };
    b.upsert_group_metadata("a", g("old", 0)).await.unwrap();
    b.upsert_group_metadata("b", g("old", 0)).await.unwrap();
    b.upsert_group_metadata("b", g("new", crate::domain::now_ms())).await.unwrap();
    let pool = b.pool().await.unwrap().clone();
    let count_sql = format!("SELECT COUNT(*) FROM {}", b.tables.group_metadata);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let n: i64 = sqlx::query_scalar(&count_sql).fetch_one(&pool).await.unwrap();
        if n == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "expired rows were not swept ({n} left)");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(b.get_group_metadata("b", "new", crate::domain::now_ms()).await.unwrap().is_some());
    drop_tables(&b).await;
    b.close().await.unwrap();
    assert!(b.cleanup_task.lock().is_none());
}

#[tokio::test]
async fn batches_larger_than_one_statement_keep_order_and_duplicates() {
    let b = backend(&unique_prefix());
    let addresses: Vec<SignalAddress> = (0..700).map(|i| addr(&format!("u{i}"), i % 3)).collect();
    let entries: Vec<(SignalAddress, Vec<u8>)> =
        addresses.iter().enumerate().map(|(i, a)| (a.clone(), (i as u32).to_be_bytes().to_vec())).collect();
    b.set_sessions("s", entries).await.unwrap();
    let mut query = addresses.clone();
    query.reverse();
    query.push(addr("missing", 0));
    query.push(addresses[3].clone());
    let got = b.get_sessions("s", &query).await.unwrap();
    assert_eq!(got.len(), 702);
    assert_eq!(got[0], Some(699u32.to_be_bytes().to_vec()));
    assert_eq!(got[700], None);
    assert_eq!(got[701], Some(3u32.to_be_bytes().to_vec()));
    // Later duplicates win within one batch.
    b.set_sessions("s", vec![(addr("d", 1), vec![1]), (addr("d", 1), vec![2])]).await.unwrap();
    assert_eq!(b.get_sessions("s", &[addr("d", 1)]).await.unwrap(), vec![Some(vec![2])]);
    let ids: Vec<u32> = (1..=600).collect();
    let keys: Vec<PreKey> = ids.iter().map(|id| pre_key(*id)).collect();
    assert_eq!(b.insert_generated_pre_keys("s", keys.clone()).await.unwrap(), 600);
    assert_eq!(b.insert_generated_pre_keys("s", keys).await.unwrap(), 0, "colliding ids are left alone");
    let got = b.get_pre_keys_by_id("s", &[600, 9999, 1, 1]).await.unwrap();
    assert_eq!(got, vec![Some(pre_key(600)), None, Some(pre_key(1)), Some(pre_key(1))]);
    drop_tables(&b).await;
    b.close().await.unwrap();
}


#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crossing_batches_survive_deadlocks() {
    let b = Arc::new(backend(&unique_prefix()));
    let forward: Vec<(SignalAddress, Vec<u8>)> = (0..200).map(|i| (addr(&format!("u{i}"), 0), vec![1])).collect();
    let mut backward = forward.clone();
    backward.reverse();
    let mut tasks = Vec::new();
    for round in 0..6 {
        let entries = if round % 2 == 0 { forward.clone() } else { backward.clone() };
        let b = b.clone();
        tasks.push(tokio::spawn(async move { b.set_sessions("s", entries).await }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert!(b.has_sessions("s", &[addr("u0", 0), addr("u199", 0)]).await.unwrap().iter().all(|x| *x));
    drop_tables(&b).await;
    b.close().await.unwrap();
}

#[tokio::test]
async fn a_foreign_table_under_our_name_is_reported() {
    let prefix = unique_prefix();
    let b = backend(&prefix);
    let other = backend(&unique_prefix());
    let pool = other.pool().await.unwrap();
    sqlx::query(&format!("CREATE TABLE {prefix}mailbox_threads (id INT PRIMARY KEY)")).execute(pool).await.unwrap();
    let err = b.load("s").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ConnectionFailed, "{err}");
    assert!(err.message.contains(&format!("{prefix}mailbox_threads")), "{err}");
    drop_tables(&other).await;
    // The failed open left no pool behind; dropping the clash lets the next call succeed.
    sqlx::query(&format!("DROP TABLE {prefix}mailbox_threads")).execute(pool).await.unwrap();
    for table in b.tables.all() {
        sqlx::query(&format!("DROP TABLE IF EXISTS {table}")).execute(pool).await.unwrap();
    }
    assert_eq!(b.load("s").await.unwrap(), None);
    drop_tables(&b).await;
    b.close().await.unwrap();
    other.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_app_state_writers_all_land() {
    use crate::domain::app_state::{AppStateStore, CollectionUpdate, SyncKey};
    let b = Arc::new(backend(&unique_prefix()));
    let mut tasks = Vec::new();
    for c in 0..6u8 {
        let b = b.clone();
        tasks.push(tokio::spawn(async move {
            let map: Vec<(String, Vec<u8>)> = (0..50u32).map(|i| (format!("{c}-{i:04x}"), vec![c])).collect();
            let update = CollectionUpdate { collection: format!("c{}", c % 3), version: 1, hash: vec![c; 128], index_value_map: map };
            b.set_collection_states("s", vec![update]).await?;
            let key = SyncKey { key_id: vec![0, c, 0, 0, 0, 1], key_data: vec![c], timestamp: 1, fingerprint: None };
            b.upsert_sync_keys("s", vec![key]).await
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), 1);
    }
    let states = b.get_collection_states("s", &["c0".into(), "c1".into(), "c2".into()]).await.unwrap();
    assert!(states.iter().all(|s| s.initialized && s.index_value_map.len() == 50));
    assert_eq!(b.export_data("s").await.unwrap().keys.len(), 6);
    drop_tables(&b).await;
    b.close().await.unwrap();
}


#[tokio::test]
async fn a_value_over_the_packet_limit_fails_cleanly() {
    let b = backend(&unique_prefix());
    let err = b.save("s", vec![7; 17 * 1024 * 1024]).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::WriteFailed, "{err}");
    assert!(err.message.contains("max_allowed_packet"), "{err}");
    // The pool recovers for the next call.
    b.save("s", vec![1]).await.unwrap();
    assert_eq!(b.load("s").await.unwrap(), Some(vec![1]));
    drop_tables(&b).await;
    b.close().await.unwrap();
}

crate::backend::conformance::conformance_tests!(super::fresh());

/// Every column of every row of `b`'s tables, as hex.
async fn raw_rows(b: &MysqlBackend) -> Vec<u8> {
    let pool = b.pool().await.unwrap();
    let mut out = Vec::new();
    for table in b.tables.all() {
        let columns: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT CAST(column_name AS BINARY) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?",
        )
        .bind(table)
        .fetch_all(pool)
        .await
        .unwrap();
        if columns.is_empty() {
            continue;
        }
        let hexed: Vec<String> =
            columns.iter().map(|c| format!("IFNULL(HEX(`{}`), '')", String::from_utf8_lossy(c))).collect();
        let sql = format!("SELECT CAST(CONCAT_WS(',', {}) AS BINARY) FROM {table}", hexed.join(", "));
        for row in sqlx::query_scalar::<_, Vec<u8>>(&sql).fetch_all(pool).await.unwrap() {
            out.extend(row);
            out.push(b'\n');
        }
    }
    out
}

/// Encryption at rest: no row holds a secret value in plaintext; see `crate::encryption::at_rest`.
#[tokio::test]
async fn encryption_at_rest() {
    let b = Arc::new(backend(&unique_prefix()));
    b.drop_tables_on_drop.store(true, Ordering::Relaxed);
    let dynamic: Arc<dyn Backend> = b.clone();
    crate::encryption::at_rest::scenario(dynamic, || raw_rows(&b)).await;
}

#[tokio::test]
async fn the_page_index_migration_survives_an_interrupted_run_and_serves_pages() {
    use crate::domain::messages::PageStart;
    let prefix = unique_prefix();
    let a = backend(&prefix);
    let m = |id: &str, ts: i64| StoredMessage {
        id: id.into(),
        thread_jid: "t".into(),
        sender_jid: None,
        participant_jid: None,
        from_me: false,
        timestamp_ms: Some(ts),
        message_bytes: None,
    };
    a.upsert_messages("s", (0..50).map(|i| m(&format!("m{i}"), i / 10)).collect()).await.unwrap();
    // A run that altered the table but died before recording version 7.
    let pool = a.pool().await.unwrap();
    sqlx::query(&format!("DELETE FROM {} WHERE version = 7", a.tables.migrations)).execute(pool).await.unwrap();
    a.close().await.unwrap();
    let b = backend(&prefix);
    let page = b.list_messages_page("s", "t", 20, &PageStart::Newest).await.unwrap();
    assert_eq!(page.len(), 20);
    assert_eq!(migration_rows(&b).await.len() as i64, MIGRATIONS, "version 7 recorded once");
    // The keyset page is an index range walk, not a scan and sort.
    let pool = b.pool().await.unwrap();
    let (sql, _) = b.sql.msg_page.of(crate::domain::messages::PageRange::Timed { timestamp_ms: 3, below_id: Some("m35") });
    let plan = sqlx::query(&format!("EXPLAIN {sql}"))
        .bind("s")
        .bind("t")
        .bind(3i64)
        .bind(3i64)
        .bind("m35")
        .bind(20i64)
        .fetch_all(pool)
        .await
        .unwrap();
    let key: Option<String> = plan[0].try_get("key").unwrap();
    let extra: Option<String> = plan[0].try_get("Extra").unwrap();
    assert_eq!(key.as_deref(), Some("by_thread_page"), "{extra:?}");
    assert!(!extra.unwrap_or_default().contains("filesort"), "no sort of the thread");
    drop_tables(&b).await;
    b.close().await.unwrap();
}
