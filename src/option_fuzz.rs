//! Bounded fuzzing of the option parsers (proptest, a few seconds): any
//! input gives options or `STORE_INVALID_CONFIG` / `STORE_INVALID_ARGUMENT`,
//! never a panic, and whatever is accepted obeys the documented rules.
//! Inputs mix the known names and edge values with arbitrary text, so the
//! accepting paths are reached as well as the refusing ones.

use std::collections::HashMap;

use proptest::prelude::*;

use crate::backend::mongo::MongoOptions;
use crate::backend::pool::{PoolOptions, ServerStoreOptions};
use crate::backend::redis::{RedisOptions, RedisServer, StoreTtls, STORE_TTL_NAMES};
use crate::backend::sqlite::{SqliteBackend, SqliteOptions, ALLOWED_PRAGMAS, MEMORY_PATH, TABLE_KEYS};
use crate::config::{
    cache_ttls_with_overrides, normalize_session_id, positive_integer, resolve_providers, MemoryLimits, CACHE_TTL_NAMES,
};
use crate::domain::Domain;
use crate::error::{ErrorCode, StoreResult};
use crate::ownership::OwnershipConfig;

fn refused<T>(r: &StoreResult<T>) -> bool {
    match r {
        Ok(_) => false,
        Err(e) => {
            assert!(matches!(e.code, ErrorCode::InvalidConfig | ErrorCode::InvalidArgument), "{:?}: {}", e.code, e.message);
            assert!(!e.message.is_empty());
            true
        }
    }
}

/// Option values as JS hands them over: edge numbers and arbitrary ones.
fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        prop::sample::select(vec![0.0, -0.0, -1.0, 0.5, 1.0, 2.0, 1e9, 9007199254740991.0, 9007199254740992.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MAX, f64::MIN_POSITIVE]),
        any::<f64>(),
        (1u32..100_000).prop_map(f64::from),
    ]
}

/// A name from `known`, or arbitrary text.
fn name(known: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::sample::select(known).prop_map(str::to_owned),
        1 => ".{0,16}",
        1 => prop::sample::select(known).prop_map(|k| format!(" {}", k.to_uppercase())),
    ]
    .boxed()
}

/// Text for URLs, prefixes and ids: ASCII and punctuation heavy, some unicode.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_:%@/?&=.#\\[\\]\\- ]{0,40}",
        ".{0,24}",
        prop::sample::select(vec![
            "postgres://u:p@127.0.0.1:5432/db",
            "mysql://root@[::1]:3306/x?ssl-mode=required",
            "redis://:pw@host:99999/0",
            "rediss://host/16",
            "redis+unix:///tmp/r.sock?db=2",
            "mongodb://a,b,c/?replicaSet=rs",
            "mongodb+srv://cluster.example/db",
            "",
            "://",
            "\u{0}",
        ])
        .prop_map(str::to_owned),
    ]
}

fn pairs_f64(known: &'static [&'static str]) -> impl Strategy<Value = Vec<(String, f64)>> {
    prop::collection::vec((name(known), number()), 0..6)
}

fn pairs_text(known: &'static [&'static str]) -> impl Strategy<Value = Vec<(String, String)>> {
    let value = prop_oneof![text(), prop::sample::select(vec!["ON", "off", "WAL", "-2000", "5000", "FULL", "x; DROP"]).prop_map(str::to_owned)];
    prop::collection::vec((name(known), value), 0..5)
}

const MEMORY_LIMIT_NAMES: [&str; 5] = ["messages", "threads", "contacts", "signalSessions", "adapterKeys"];
const DOMAIN_NAMES: [&str; 8] = ["auth", "signal", "session", "messages", "retry", "keys", "groupMetadata", "nope"];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn numbers_and_limits(pairs in pairs_f64(&MEMORY_LIMIT_NAMES), ttls in pairs_f64(&CACHE_TTL_NAMES), n in number()) {
        if let Ok(v) = positive_integer("f", n) {
            prop_assert!(v >= 1 && (v as f64) == n);
        } else {
            prop_assert!(refused(&positive_integer("f", n)));
        }
        let limits = MemoryLimits::with_overrides(&pairs, "memory.limits");
        if !refused(&limits) {
            prop_assert!(pairs.iter().all(|(_, v)| *v >= 1.0));
        }
        let _ = refused(&cache_ttls_with_overrides(&ttls, "memory.cacheTtlMs"));
        let _ = refused(&crate::limits::setting("maxValueBytes", n, crate::limits::MAX_VALUE_BYTES));
    }

    #[test]
    fn ownership(lease in prop::option::of(any::<u64>()), renew in prop::option::of(prop_oneof![any::<u64>(), 0u64..100_000])) {
        let r = OwnershipConfig::new(lease, renew);
        if let Ok(c) = &r {
            prop_assert!(c.renew_ms > 0 && c.renew_ms < c.lease_ms && c.lease_ms >= crate::ownership::MIN_LEASE_MS);
        } else {
            prop_assert!(refused(&r));
        }
    }

    #[test]
    fn session_ids(raw in prop_oneof![".{0,40}", "\\s{0,3}[a-z%_\\u{0}]{0,8}\\s{0,3}", "x{500,520}"]) {
        match normalize_session_id(&raw) {
            Ok(id) => prop_assert!(!id.is_empty() && id.len() <= 512 && id == id.trim() && !id.contains('\0')),
            Err(e) => prop_assert_eq!(e.code, ErrorCode::InvalidArgument),
        }
    }

    #[test]
    fn providers(
        backends in prop::collection::vec(prop_oneof![Just("main".to_owned()), Just("memory".to_owned()), ".{0,6}"], 0..3),
        providers in prop::collection::vec((name(&DOMAIN_NAMES), prop_oneof![Just("main".to_owned()), Just("memory".to_owned()), Just("none".to_owned()), ".{0,4}"]), 0..14),
        caches in prop::collection::vec((name(&DOMAIN_NAMES), prop_oneof![Just("memory".to_owned()), Just("none".to_owned()), ".{0,4}"]), 0..4),
    ) {
        let providers: HashMap<String, String> = providers.into_iter().collect();
        let caches: HashMap<String, String> = caches.into_iter().collect();
        if let Ok(routes) = resolve_providers(&backends, &providers, &caches) {
            for d in Domain::PERSISTENT {
                prop_assert!(routes.contains_key(&d), "{d:?} unrouted");
            }
        } else {
            prop_assert!(refused(&resolve_providers(&backends, &providers, &caches)));
        }
    }

    #[test]
    fn sqlite(pragmas in pairs_text(&ALLOWED_PRAGMAS), tables in pairs_text(&TABLE_KEYS), path in prop_oneof![Just(MEMORY_PATH.to_owned()), text()], ttls in pairs_f64(&CACHE_TTL_NAMES)) {
        let cache_ttls = cache_ttls_with_overrides(&ttls, "cacheTtlMs").unwrap_or_default();
        let options = SqliteOptions { path, pragmas, table_names: tables, cache_ttls };
        let _ = refused(&SqliteBackend::new(options).map(drop));
    }

    #[test]
    fn server_pools(url in text(), prefix in prop_oneof![Just("wastore_".to_owned()), text()], max in any::<u32>(), timeout in any::<u64>()) {
        let mut pool = PoolOptions::new(url.clone());
        pool.max_connections = max;
        pool.acquire_timeout_ms = timeout;
        let mut options = ServerStoreOptions::new(pool);
        options.table_prefix = prefix;
        let _ = refused(&options.validate());
        // Building a backend parses its URL but connects lazily (on a runtime, as in Node).
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let _guard = rt.enter();
        let _ = refused(&crate::backend::postgres::PostgresBackend::new(options.clone()).map(drop));
        let _ = refused(&crate::backend::mysql::MysqlBackend::new(options).map(drop));
    }

    #[test]
    fn redis(url in text(), prefix in text(), host in text(), port in any::<u16>(), db in any::<i64>(), ttls in pairs_f64(&STORE_TTL_NAMES)) {
        let mut by_url = RedisOptions::url(url);
        by_url.key_prefix = prefix;
        let _ = refused(&by_url.connection_info().map(drop));
        let by_url = by_url.clone();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let _guard = rt.enter();
        let _ = refused(&crate::backend::redis::RedisBackend::new(by_url).map(drop));
        let parts = RedisOptions::new(RedisServer::Parts { host, port, username: None, password: Some("p@ss:/".into()), db });
        let _ = refused(&parts.connection_info().map(drop));
        let _ = refused(&StoreTtls::with_overrides(&ttls, "ttlMs"));
    }

    #[test]
    fn mongo(uri in text(), database in prop::option::of(text()), prefix in text()) {
        let _ = refused(&MongoOptions::new(uri, database).validate().map(drop));
        let _ = refused(&crate::backend::mongo::options::validate_collection_prefix(&prefix));
        let _ = refused(&crate::backend::mongo::options::validate_database_name(&prefix));
    }
}
