//! Backend-level tests against a live PostgreSQL (`WASTORE_TEST_PG_URL`,
//! default `postgres://postgres@127.0.0.1:5432/test`). Every backend gets a
//! unique table prefix (`t{pid}_{n}_`), so runs never collide; tests drop
//! their tables when they finish, and tables of finished runs (dead pids)
//! are dropped by `stale_test_tables_are_dropped`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::PostgresBackend;
use crate::backend::pool::{PoolOptions, ServerStoreOptions};
use crate::domain::auth::AuthStore;
use crate::domain::contacts::{ContactStore, StoredContact};
use crate::domain::device_list::{DeviceList, DeviceListStore};
use crate::domain::group_metadata::{GroupMetadata, GroupMetadataStore};
use crate::domain::message_secret::{MessageSecret, MessageSecretStore};
use crate::domain::messages::{MessageStore, StoredMessage};
use crate::domain::pre_key::{PreKey, PreKeyStore};
use crate::domain::retry::RetryStore;
use crate::domain::session::SessionStore;
use crate::domain::threads::{StoredThread, ThreadStore};
use crate::domain::{Backend, CacheTtls, KeyPair, SignalAddress};
use crate::error::ErrorCode;

const MIGRATIONS: i64 = 7;
const PREFIX_TAG: &str = "t";

fn url() -> String {
    std::env::var("WASTORE_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

fn unique_prefix() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{PREFIX_TAG}{}_{n}_", std::process::id())
}

fn options(prefix: &str) -> ServerStoreOptions {
    let mut pool = PoolOptions::new(url());
    pool.max_connections = 4;
    pool.acquire_timeout_ms = 30_000;
    ServerStoreOptions { table_prefix: prefix.to_owned(), ..ServerStoreOptions::new(pool) }
}

fn backend(prefix: &str) -> PostgresBackend {
    PostgresBackend::new(options(prefix)).expect("valid options")
}

/// A backend on its own prefix, for the shared conformance suite; its
/// tables are dropped when the suite drops it.
fn fresh() -> crate::backend::conformance::DynBackend {
    let b = backend(&unique_prefix());
    b.drop_tables_on_drop.store(true, Ordering::Relaxed);
    Arc::new(b)
}

/// `DROP TABLE IF EXISTS {tables}` on a connection of its own, from a plain
/// thread (callable from `Drop`, even inside a single-threaded runtime).
pub(super) fn drop_tables_blocking(connect: sqlx::postgres::PgConnectOptions, tables: String) {
    let worker = std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
        runtime.block_on(async move {
            use sqlx::Connection;
            if let Ok(mut conn) = sqlx::PgConnection::connect_with(&connect).await {
                let _ = sqlx::query(&format!("DROP TABLE IF EXISTS {tables}")).execute(&mut conn).await;
                let _ = conn.close().await;
            }
        });
    });
    let _ = worker.join();
}

/// Drops every table of `b`'s prefix and closes it.
async fn drop_tables(b: &PostgresBackend) {
    if let Ok(pool) = b.pool().await {
        for table in b.tables.all() {
            let _ = sqlx::query(&format!("DROP TABLE IF EXISTS {table}")).execute(pool).await;
        }
    }
    let _ = b.close().await;
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

async fn migration_versions(b: &PostgresBackend) -> Vec<i64> {
    let pool = b.pool().await.unwrap();
    let sql = format!("SELECT version FROM {} ORDER BY version", b.tables.migrations);
    sqlx::query_scalar(&sql).fetch_all(pool).await.unwrap()
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
    assert_eq!(migration_versions(&b).await, (1..=MIGRATIONS).collect::<Vec<_>>(), "nothing applied twice");
    assert_eq!(b.kind(), "postgres");
    drop_tables(&b).await;
}

#[tokio::test]
async fn options_are_validated_without_leaking_passwords() {
    let mut o = options("bad-prefix");
    assert_eq!(PostgresBackend::new(o.clone()).unwrap_err().code, ErrorCode::InvalidConfig);
    o.table_prefix = "x; DROP TABLE y".into();
    assert!(PostgresBackend::new(o).unwrap_err().message.contains("tablePrefix"));

    let err = PostgresBackend::new(ServerStoreOptions::new(PoolOptions::new("  "))).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidConfig);
    assert!(err.message.contains("pool.connectionString"), "{}", err.message);

    let err =
        PostgresBackend::new(ServerStoreOptions::new(PoolOptions::new("postgres://bob:hunter2pw@db:notaport/wa")))
            .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidConfig);
    assert!(err.message.contains("pool.connectionString"), "{}", err.message);
    assert!(!err.message.contains("hunter2pw"), "{}", err.message);
    assert!(!err.cause_message().unwrap_or_default().contains("hunter2pw"));

    let mut o = options("ok_");
    o.cleanup_interval_ms = Some(0);
    assert_eq!(PostgresBackend::new(o).unwrap_err().code, ErrorCode::InvalidConfig);
}

#[tokio::test]
async fn unreachable_server_fails_fast_with_connection_failed() {
    let mut pool = PoolOptions::new("postgres://bob:hunter2pw@127.0.0.1:1/test");
    pool.acquire_timeout_ms = 1_000;
    pool.connect_timeout_ms = 1_000;
    let b = PostgresBackend::new(ServerStoreOptions::new(pool)).unwrap();
    let started = Instant::now();
    let err = b.load("s").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ConnectionFailed, "{err}");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    assert!(err.message.contains("127.0.0.1:1"), "{}", err.message);
    assert!(!err.message.contains("hunter2pw"), "{}", err.message);
    // A later call retries (and fails the same way) rather than caching the failure forever.
    assert_eq!(b.load("s").await.unwrap_err().code, ErrorCode::ConnectionFailed);
    b.close().await.unwrap();
    assert_eq!(b.load("s").await.unwrap_err().code, ErrorCode::Closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_migrations_of_one_prefix_apply_each_version_once() {
    let prefix = unique_prefix();
    let (a, b) = (Arc::new(backend(&prefix)), Arc::new(backend(&prefix)));
    let (ra, rb) = tokio::join!(
        {
            let a = a.clone();
            tokio::spawn(async move { a.load("s").await })
        },
        {
            let b = b.clone();
            tokio::spawn(async move { b.load("s").await })
        }
    );
    assert_eq!(ra.unwrap().unwrap(), None);
    assert_eq!(rb.unwrap().unwrap(), None);
    assert_eq!(migration_versions(&a).await, (1..=MIGRATIONS).collect::<Vec<_>>());
    let _ = b.close().await;
    drop_tables(&a).await;
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
    drop_tables(&a).await;
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
    drop_tables(&a).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_increments_count_to_a_thousand() {
    let b = Arc::new(backend(&unique_prefix()));
    let mut tasks = Vec::new();
    for _ in 0..1_000 {
        let b = b.clone();
        tasks.push(tokio::spawn(async move { b.increment_inbound_counter("s", "m", "r", 1, i64::MAX).await.unwrap() }));
    }
    let mut seen = Vec::new();
    for t in tasks {
        seen.push(t.await.unwrap());
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=1_000).collect::<Vec<u32>>(), "every increment saw a distinct count");
    assert_eq!(b.increment_inbound_counter("s", "m", "r", 2, i64::MAX).await.unwrap(), 1_001);
    drop_tables(&b).await;
}

fn injection_strings() -> Vec<String> {
    vec![
        "'".to_owned(),
        "\"".to_owned(),
        ";".to_owned(),
        "--".to_owned(),
        "\\".to_owned(),
        "%".to_owned(),
        "_".to_owned(),
        "'; DROP TABLE x; --".to_owned(),
        "ünïcødé 🙂 漢字 \u{202e}rtl".to_owned(),
        "$1 $$ $tag$".to_owned(),
    ]
}

#[tokio::test]
async fn injection_strings_round_trip() {
    let b = backend(&unique_prefix());
    for (i, s) in injection_strings().into_iter().enumerate() {
        let sid = format!("sid{s}");
        b.save(&sid, vec![i as u8]).await.unwrap();
        assert_eq!(b.load(&sid).await.unwrap(), Some(vec![i as u8]));
        b.set_sessions(&sid, vec![(SignalAddress::new(s.clone(), Some(&s), 1), vec![i as u8])]).await.unwrap();
        assert!(b.has_sessions(&sid, &[SignalAddress::new(s.clone(), Some(&s), 1)]).await.unwrap()[0]);
        b.upsert_messages(&sid, vec![msg(&s, &s, Some(1))]).await.unwrap();
        assert_eq!(b.list_messages_by_thread(&sid, &s, 10, None).await.unwrap(), vec![msg(&s, &s, Some(1))]);
        let c = StoredContact {
            jid: s.clone(),
            display_name: Some(s.clone()),
            phone_number: Some(s.clone()),
            ..Default::default()
        };
        b.upsert_contacts(&sid, vec![c.clone()]).await.unwrap();
        assert_eq!(b.get_contact_by_phone_number(&sid, &s).await.unwrap(), Some(c));
        let t = StoredThread { jid: s.clone(), name: Some(s.clone()), ..Default::default() };
        b.upsert_threads(&sid, vec![t.clone()]).await.unwrap();
        assert_eq!(b.get_thread(&sid, &s).await.unwrap(), Some(t));
        // Wildcards are literal: no other row matches.
        assert_eq!(b.get_thread(&sid, "x").await.unwrap(), None);
    }
    // Nothing leaked across the sessions named after the strings.
    assert_eq!(b.load("sid").await.unwrap(), None);
    drop_tables(&b).await;
}

#[tokio::test]
async fn nul_is_rejected_before_reaching_the_server() {
    let b = backend(&unique_prefix());
    let err = b.load("a\0b").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument);
    assert!(err.message.contains("sessionId"), "{}", err.message);
    let err = b.upsert_messages("s", vec![msg("id\0", "t", None)]).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument);
    assert!(err.message.contains("message.id"), "{}", err.message);
    let err = b.get_contact("s", "\0").await.unwrap_err();
    assert!(err.message.contains("jid"), "{}", err.message);
    assert!(!b.pool.initialized(), "rejected before any connection was made");
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_sessions_stay_isolated() {
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
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    AuthStore::clear(&*b, "tenant-3").await.unwrap();
    SessionStore::clear(&*b, "tenant-3").await.unwrap();
    PreKeyStore::clear(&*b, "tenant-3").await.unwrap();
    MessageStore::clear(&*b, "tenant-3").await.unwrap();
    for n in 0..100u32 {
        let sid = format!("tenant-{n}");
        if n == 3 {
            assert_eq!(b.load(&sid).await.unwrap(), None);
            assert_eq!(b.get_sessions(&sid, &[addr("peer", 1)]).await.unwrap(), vec![None]);
            assert_eq!(b.get_pre_key_by_id(&sid, 4).await.unwrap(), None);
            assert_eq!(b.get_message(&sid, "same-id").await.unwrap(), None);
            continue;
        }
        assert_eq!(b.load(&sid).await.unwrap(), Some(vec![n as u8]));
        assert_eq!(b.get_sessions(&sid, &[addr("peer", 1)]).await.unwrap(), vec![Some(vec![n as u8; 3])]);
        assert_eq!(b.get_pre_key_by_id(&sid, n + 1).await.unwrap(), Some(pre_key(n + 1)));
        assert_eq!(b.get_message(&sid, "same-id").await.unwrap().and_then(|m| m.timestamp_ms), Some(i64::from(n)));
    }
    drop_tables(&b).await;
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
    drop_tables(&b).await;
}

#[tokio::test]
async fn corrupted_rows_read_as_corrupted() {
    let b = backend(&unique_prefix());
    let g = GroupMetadata {
        group_jid: "g".into(),
        participants: vec!["p".into()],
        ephemeral: None,
        ephemeral_trigger: None,
        updated_at_ms: 0,
    };
    b.upsert_group_metadata("s", g).await.unwrap();
    let pool = b.pool().await.unwrap();
    sqlx::query(&format!("UPDATE {} SET participants_json = '{{bad'", b.tables.group_metadata))
        .execute(pool)
        .await
        .unwrap();
    assert_eq!(b.get_group_metadata("s", "g", 1).await.unwrap_err().code, ErrorCode::Corrupted);
    b.put_pre_key("s", pre_key(1)).await.unwrap();
    sqlx::query(&format!("UPDATE {} SET key_id = -5", b.tables.signal_prekey)).execute(pool).await.unwrap();
    assert_eq!(b.get_pre_key_by_id("s", 0).await.unwrap(), None);
    assert_eq!(b.reserve_pre_keys("s", 1).await.unwrap_err().code, ErrorCode::Corrupted);
    drop_tables(&b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cleanup_task_sweeps_every_session() {
    let mut o = options(&unique_prefix());
    o.cleanup_interval_ms = Some(50);
    o.cache_ttls = CacheTtls { device_list_ms: 1, ..CacheTtls::default() };
    let b = PostgresBackend::new(o).unwrap();
    let d = |user: &str| DeviceList {
        user_jid: user.into(),
        alt_user_jid: None,
        device_jids: vec!["d".into()],
        updated_at_ms: 0,
    };
    b.upsert_user_devices("s1", vec![d("a")]).await.unwrap();
    b.upsert_user_devices("s2", vec![d("b")]).await.unwrap();
    let pool = b.pool().await.unwrap().clone();
    let count_sql = format!("SELECT count(*) FROM {}", b.tables.device_list);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n: i64 = sqlx::query_scalar(&count_sql).fetch_one(&pool).await.unwrap();
        if n == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "expired rows were never swept");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop_tables(&b).await;
    assert!(b.cleanup.lock().is_none(), "close() stopped the task");
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
    drop_tables(&b).await;
}

#[tokio::test]
async fn a_foreign_table_under_our_name_is_reported_not_adopted() {
    let prefix = unique_prefix();
    let pool = sqlx::PgPool::connect(&url()).await.unwrap();
    let foreign = format!("{prefix}auth_credentials");
    sqlx::query(&format!("CREATE TABLE {foreign} (id INT)")).execute(&pool).await.unwrap();
    let b = backend(&prefix);
    let err = b.load("s").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ConnectionFailed, "{err}");
    assert!(err.message.contains(&foreign), "{}", err.message);
    let recorded: Option<String> = sqlx::query_scalar("SELECT to_regclass($1)::text")
        .bind(format!("{prefix}migrations"))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(recorded, None, "the failed migration was rolled back");
    sqlx::query(&format!("DROP TABLE {foreign}")).execute(&pool).await.unwrap();
    // The next call retries and succeeds now that the clash is gone.
    assert_eq!(b.load("s").await.unwrap(), None);
    drop_tables(&b).await;
    pool.close().await;
}

#[tokio::test]
async fn an_unknown_role_is_a_connection_failure() {
    let mut o = options(&unique_prefix());
    o.pool.connection_string = url().replacen("postgres@", "no_such_wastore_role@", 1);
    if o.pool.connection_string == url() {
        return; // a custom URL without the default user: nothing to rewrite
    }
    let b = PostgresBackend::new(o).unwrap();
    assert_eq!(b.load("s").await.unwrap_err().code, ErrorCode::ConnectionFailed);
    b.close().await.unwrap();
}

#[tokio::test]
async fn sync_keys_given_twice_count_each_change() {
    use crate::domain::app_state::{AppStateStore, SyncKey};
    let b = backend(&unique_prefix());
    let k =
        |data: u8| SyncKey { key_id: vec![0, 1, 0, 0, 0, 1], key_data: vec![data], timestamp: 1, fingerprint: None };
    assert_eq!(b.upsert_sync_keys("s", vec![k(1), k(2)]).await.unwrap(), 2);
    assert_eq!(b.upsert_sync_keys("s", vec![k(2), k(2)]).await.unwrap(), 0);
    assert_eq!(b.get_sync_keys("s", &[k(0).key_id]).await.unwrap(), vec![Some(k(2))]);
    drop_tables(&b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_delivery_marks_are_all_kept() {
    use crate::domain::retry::RetryOutboundMessage;
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
    drop_tables(&a).await;
}

#[tokio::test]
async fn mixed_case_prefixes_work() {
    let prefix = format!("T{}_{}_Mixed_", std::process::id(), 1_000_000 + unique_prefix().len());
    let b = backend(&prefix);
    b.save("s", vec![1]).await.unwrap();
    b.close().await.unwrap();
    let b = backend(&prefix);
    assert_eq!(b.load("s").await.unwrap(), Some(vec![1]));
    drop_tables(&b).await;
}

#[test]
fn only_postgres_urls_are_accepted() {
    let err = PostgresBackend::new(ServerStoreOptions::new(PoolOptions::new("mysql://root:pw123@h/db"))).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidConfig);
    assert!(err.message.contains("pool.connectionString") && !err.message.contains("pw123"), "{}", err.message);
    assert!(PostgresBackend::new(ServerStoreOptions::new(PoolOptions::new("postgresql://u@h/db"))).is_ok());
}

#[tokio::test]
async fn keys_too_large_for_an_index_are_invalid_arguments() {
    let b = backend(&unique_prefix());
    // Incompressible 16 kB: beyond what a btree index entry can hold.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let huge: String = (0..16_384)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'!' + (x % 90) as u8)
        })
        .collect();
    let err = b.upsert_messages("s", vec![msg(&huge, "t", None)]).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument, "{err}");
    // Large values (not keys) are fine.
    let big = StoredMessage { sender_jid: Some(huge.clone()), ..msg("m", "t", None) };
    b.upsert_messages("s", vec![big.clone()]).await.unwrap();
    assert_eq!(b.get_message("s", "m").await.unwrap(), Some(big));
    drop_tables(&b).await;
}

/// Drops tables left by earlier test processes that have exited.
#[tokio::test]
async fn stale_test_tables_are_dropped() {
    if !std::path::Path::new("/proc/self").exists() {
        return;
    }
    let Ok(pool) = sqlx::PgPool::connect(&url()).await else { return };
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() AND tablename ~ '^t[0-9]+_[0-9]+_'",
    )
    .fetch_all(&pool)
    .await
    .unwrap_or_default();
    for name in names {
        let pid = name.trim_start_matches(PREFIX_TAG).split('_').next().unwrap_or("");
        if crate::backend::dead_runs::pid_is_dead(pid) {
            let _ = sqlx::query(&format!("DROP TABLE IF EXISTS \"{name}\"")).execute(&pool).await;
        }
    }
    pool.close().await;
}

crate::backend::conformance::conformance_tests!(super::fresh());

/// Every row of `b`'s tables in PostgreSQL's text form (bytea as hex).
async fn raw_rows(b: &PostgresBackend) -> Vec<u8> {
    let pool = b.pool().await.unwrap();
    let mut out = Vec::new();
    for table in b.tables.all() {
        let rows: Vec<String> =
            sqlx::query_scalar(&format!("SELECT t::text FROM {table} t")).fetch_all(pool).await.unwrap();
        for row in rows {
            out.extend(row.into_bytes());
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
