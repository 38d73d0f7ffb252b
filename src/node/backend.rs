//! `StoreBackend`: what `createSqliteStore` / `createMemoryStore` return.
//! It is also a zapo `WaStoreBackend`: `stores.<domain>(sessionId)` and
//! `caches.<domain>(sessionId)` are plain functions (they work detached, as
//! zapo calls them), plus `destroy()`.

use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;

use crate::backend::memory::MemoryBackend;
use crate::backend::mongo::{MongoBackend, MongoOptions};
use crate::backend::mysql::MysqlBackend;
use crate::backend::pool::{PoolOptions, ServerStoreOptions};
use crate::backend::postgres::PostgresBackend;
use crate::backend::redis::{RedisBackend, RedisOptions, RedisServer, StoreTtls};
use crate::backend::sqlite::{SqliteBackend, SqliteOptions};
use crate::cache_layer::{l1_limits, Cached};
use crate::config::{cache_ttls_with_overrides, normalize_session_id, positive_integer, MemoryLimits};
use crate::domain::{Backend, CacheTtls, Domain};
use crate::encryption::EncryptedBackend;
use crate::signal_cache::{CachedSignal, Hub};
use crate::write_behind::{Archived, WriteBehind};
use crate::error::{StoreError, StoreResult};

use super::domains::app_state::AppStateStore;
use super::domains::keys::KeyStore;
use super::domains::caches::{ChatMetadataStore, DeviceListStore, GroupMetadataStore, MessageSecretStore, RetryStore};
use super::domains::mailbox::{ContactStore, MessageStore, PrivacyTokenStore, ThreadStore};
use super::domains::pre_key::PreKeyStore;
use super::domains::sessions::{IdentityStore, SenderKeyStore, SessionStore};
use super::domains::signal_keys::{AuthStore, SignalStore};
use super::errors::{to_napi, OrThrow, Reply};
use super::handle::{Gate, Handle};
use super::input::In;
use super::logger::LogOptions;

/// What sits in front of a backend for one domain object.
#[derive(Default, Clone, Copy)]
pub struct Layers<'a> {
    /// zapo's `cacheLayer` L1 of `n` entries (session, identity, senderKey, privacyToken).
    pub l1: Option<usize>,
    /// The Signal object cache (session, identity, senderKey, keys).
    pub hub: Option<&'a Arc<Hub>>,
    /// Write-behind (messages, threads, contacts).
    pub archive: Option<&'a Arc<WriteBehind>>,
    /// Ownership mode: the session's leases, checked by every call.
    pub lease: Option<&'a Arc<crate::ownership::SessionLease>>,
}

/// Creates the JS object of one domain of one session on `backend`, with
/// the layers the store configured in front of it. The Signal cache
/// supersedes the L1 where both apply.
pub fn domain_object(
    env: sys::napi_env,
    backend: &Arc<dyn Backend>,
    domain: Domain,
    sid: Arc<str>,
    gate: Arc<Gate>,
    layers: Layers<'_>,
) -> Result<sys::napi_value> {
    let cacheable = matches!(domain, Domain::Session | Domain::Identity | Domain::SenderKey | Domain::Keys);
    let cached = layers.hub.filter(|_| cacheable).map(|hub| {
        let signal = Arc::new(CachedSignal::new(Arc::clone(hub)));
        let cache = signal.cache(&sid);
        (signal, cache)
    });
    let cache = cached.as_ref().map(|(_, c)| Arc::clone(c));
    macro_rules! make {
        ($class:ident) => {
            make!($class, Arc::clone(backend) as _)
        };
        ($class:ident, $store:expr) => {{
            let h = Handle { store: $store, backend: Arc::clone(backend), sid, domain, gate, cache, lease: layers.lease.cloned() };
            unsafe { ToNapiValue::to_napi_value(env, $class::new(h)) }
        }};
    }
    macro_rules! cached {
        ($class:ident, $trait:path) => {
            match (&cached, layers.l1) {
                (Some((signal, _)), _) => make!($class, Arc::clone(signal) as Arc<dyn $trait>),
                (None, Some(n)) => make!($class, Arc::new(Cached::new(Arc::clone(backend) as Arc<dyn $trait>, l1_limits(n))) as _),
                (None, None) => make!($class),
            }
        };
    }
    macro_rules! archived {
        ($class:ident) => {
            match layers.archive {
                Some(queue) => make!($class, Arc::new(Archived { queue: Arc::clone(queue), backend: backend.clone() }) as _),
                None => make!($class),
            }
        };
    }
    match domain {
        Domain::Auth => make!(AuthStore),
        Domain::Signal => make!(SignalStore),
        Domain::PreKey => make!(PreKeyStore),
        Domain::Session => cached!(SessionStore, crate::domain::session::SessionStore),
        Domain::Identity => cached!(IdentityStore, crate::domain::identity::IdentityStore),
        Domain::SenderKey => cached!(SenderKeyStore, crate::domain::sender_key::SenderKeyStore),
        Domain::AppState => make!(AppStateStore),
        Domain::PrivacyToken => match layers.l1 {
            Some(n) => make!(PrivacyTokenStore, Arc::new(Cached::new(Arc::clone(backend) as Arc<dyn crate::domain::privacy_token::PrivacyTokenStore>, l1_limits(n))) as _),
            None => make!(PrivacyTokenStore),
        },
        Domain::Messages => archived!(MessageStore),
        Domain::Threads => archived!(ThreadStore),
        Domain::Contacts => archived!(ContactStore),
        Domain::Retry => make!(RetryStore),
        Domain::GroupMetadata => make!(GroupMetadataStore),
        Domain::ChatMetadata => make!(ChatMetadataStore),
        Domain::DeviceList => make!(DeviceListStore),
        Domain::MessageSecret => make!(MessageSecretStore),
        // Adapter keys go through the Signal cache (no zapo L1 exists for them).
        Domain::Keys => match &cached {
            Some((signal, _)) => make!(KeyStore, Arc::clone(signal) as Arc<dyn crate::domain::keys::KeyStore>),
            None => make!(KeyStore),
        },
    }
}

/// What `createStore` needs from a `StoreBackend` object.
pub struct BackendLink {
    pub inner: Arc<dyn Backend>,
    pub gate: Arc<Gate>,
}

/// Name of the hidden getter that hands `createStore` a [`BackendLink`].
pub const BACKEND_HANDLE: &str = "__wastoreBackend";

/// A storage backend shared by any number of sessions.
#[napi]
pub struct StoreBackend {
    pub(crate) inner: Arc<dyn Backend>,
    pub(crate) gate: Arc<Gate>,
    /// What `stores` / `caches` objects use: `inner` behind the guard that
    /// refuses encrypted values (`STORE_DECRYPT_FAILED`) instead of handing
    /// their ciphertext out. `createStore` puts its own layer on `inner`.
    guarded: Arc<dyn Backend>,
}

impl StoreBackend {
    fn new(inner: Arc<dyn Backend>) -> Self {
        let guarded: Arc<dyn Backend> = Arc::new(EncryptedBackend::guard(Arc::clone(&inner)));
        Self { inner, gate: Gate::root("this backend"), guarded }
    }

    /// A backend whose factory options may carry `logger` / `slowOperationThresholdMs`.
    fn logged(inner: Arc<dyn Backend>, options: &In) -> StoreResult<Self> {
        LogOptions::read(options)?.attach(inner.events(), true);
        Ok(Self::new(inner))
    }

    /// Closes the backend once; later domain calls reject `STORE_CLOSED`.
    pub(crate) async fn shut(inner: Arc<dyn Backend>, gate: Arc<Gate>) -> StoreResult<()> {
        if gate.is_closed() {
            return Ok(());
        }
        gate.close();
        inner.close().await
    }

    fn factories<'e>(&self, env: &'e Env, domains: &[Domain]) -> Result<Object<'e>> {
        let mut obj = Object::new(env)?;
        for &domain in domains {
            let backend = Arc::clone(&self.guarded);
            let gate = Arc::clone(&self.gate);
            let f = env.create_function_from_closure::<String, Unknown, _>(domain.name(), move |ctx| {
                let raw_env = ctx.env.raw();
                let arg: Unknown = ctx.get(0)?;
                let sid = In::new(raw_env, arg.raw(), "sessionId").string().and_then(|s| normalize_session_id(&s));
                let sid = sid.map_err(|e| to_napi(raw_env, &e))?;
                if let Err(e) = gate.check() {
                    return Err(to_napi(raw_env, &e));
                }
                let session_gate = Gate::child("this store", &[&gate]);
                let raw = domain_object(raw_env, &backend, domain, Arc::from(sid), session_gate, Layers::default())?;
                Ok(unsafe { Unknown::from_raw_unchecked(raw_env, raw) })
            })?;
            obj.set_named_property(domain.name(), f)?;
        }
        Ok(obj)
    }
}

#[napi]
impl StoreBackend {
    /// Which backend this is.
    #[napi(getter, ts_return_type = "'memory' | 'sqlite' | 'postgres' | 'mysql' | 'redis' | 'mongo'")]
    pub fn kind(&self) -> String {
        self.inner.kind().to_owned()
    }

    /// zapo `WaStoreBackend.stores`: per-domain factories taking a sessionId (plus `keys`, the adapters' domain).
    #[napi(
        getter,
        ts_return_type = "{ readonly auth: (sessionId: string) => AuthStore; readonly signal: (sessionId: string) => SignalStore; readonly preKey: (sessionId: string) => PreKeyStore; readonly session: (sessionId: string) => SessionStore; readonly identity: (sessionId: string) => IdentityStore; readonly senderKey: (sessionId: string) => SenderKeyStore; readonly appState: (sessionId: string) => AppStateStore; readonly privacyToken: (sessionId: string) => PrivacyTokenStore; readonly messages: (sessionId: string) => MessageStore; readonly threads: (sessionId: string) => ThreadStore; readonly contacts: (sessionId: string) => ContactStore; readonly keys: (sessionId: string) => KeyStore }"
    )]
    pub fn stores<'e>(&self, env: &'e Env) -> Result<Object<'e>> {
        let domains: Vec<Domain> = Domain::PERSISTENT.into_iter().chain(Domain::ADAPTER).collect();
        self.factories(env, &domains)
    }

    /// zapo `WaStoreBackend.caches`: per-domain factories taking a sessionId.
    #[napi(
        getter,
        ts_return_type = "{ readonly retry: (sessionId: string) => RetryStore; readonly groupMetadata: (sessionId: string) => GroupMetadataStore; readonly chatMetadata: (sessionId: string) => ChatMetadataStore; readonly deviceList: (sessionId: string) => DeviceListStore; readonly messageSecret: (sessionId: string) => MessageSecretStore }"
    )]
    pub fn caches<'e>(&self, env: &'e Env) -> Result<Object<'e>> {
        self.factories(env, &Domain::CACHES)
    }

    /// For `createStore`: a typed native handle (not part of the public API).
    #[napi(getter, js_name = "__wastoreBackend", skip_typescript)]
    pub fn native_handle(&self) -> External<BackendLink> {
        External::new(BackendLink { inner: Arc::clone(&self.inner), gate: Arc::clone(&self.gate) })
    }

    /// Closes pools and files. Idempotent.
    #[napi(ts_return_type = "Promise<void>")]
    pub async fn destroy(&self) -> Result<Reply<()>> {
        Ok(Reply::store(Self::shut(Arc::clone(&self.inner), Arc::clone(&self.gate)).await))
    }
}

/// `cacheTtlMs` of a backend option object.
pub fn read_cache_ttls(options: &In, field: &str) -> StoreResult<CacheTtls> {
    let pairs = number_pairs(&options.field(field)?)?;
    cache_ttls_with_overrides(&pairs, &format!("{}.{field}", options.path))
}

/// `{ name: number }` → pairs, with config errors.
pub fn number_pairs(obj: &In) -> StoreResult<Vec<(String, f64)>> {
    if obj.is_nullish() {
        return Ok(Vec::new());
    }
    entries(obj)?.into_iter().map(|(k, v)| Ok((k, v.number().map_err(as_config)?))).collect()
}

/// Own enumerable entries of an options object.
pub fn entries(obj: &In) -> StoreResult<Vec<(String, In)>> {
    let o = obj.clone().object().map_err(as_config)?;
    o.map_entries().map_err(as_config)?.into_iter().map(|(k, v)| Ok((k.string()?, v))).collect()
}

/// Option errors are configuration errors.
pub fn as_config(e: StoreError) -> StoreError {
    StoreError::invalid_config(e.message)
}

fn options_object(env: &Env, options: Option<Unknown>, name: &str) -> StoreResult<In> {
    match options {
        None => Ok(In::new(env.raw(), Object::new(env).map_err(|e| StoreError::invalid_config(e.reason))?.raw(), name)),
        Some(v) => {
            let i = In::new(env.raw(), v.raw(), name);
            if i.type_of() == sys::ValueType::napi_undefined {
                return options_object(env, None, name);
            }
            i.object().map_err(as_config)
        }
    }
}

fn reject_unknown(options: &In, allowed: &[&str]) -> StoreResult<()> {
    for (key, _) in entries(options)? {
        if !allowed.contains(&key.as_str()) {
            return Err(StoreError::invalid_config(format!("{}.{key} is not an option; use {}", options.path, allowed.join(", "))));
        }
    }
    Ok(())
}

fn parse_sqlite(options: &In) -> StoreResult<SqliteOptions> {
    reject_unknown(options, &["path", "pragmas", "tableNames", "cacheTtlMs", "logger", "slowOperationThresholdMs"])?;
    let path = options.field("path")?.string().map_err(as_config)?;
    if path.is_empty() {
        return Err(StoreError::invalid_config("options.path must be a file path or ':memory:'"));
    }
    let text_pairs = |field: &str| -> StoreResult<Vec<(String, String)>> {
        let obj = options.field(field)?;
        if obj.is_nullish() {
            return Ok(Vec::new());
        }
        entries(&obj)?
            .into_iter()
            .map(|(k, v)| {
                let text = match v.type_of() {
                    sys::ValueType::napi_number => v.number().map(|n| n.to_string()),
                    _ => v.string(),
                };
                Ok((k, text.map_err(as_config)?))
            })
            .collect()
    };
    Ok(SqliteOptions {
        path,
        pragmas: text_pairs("pragmas")?,
        table_names: text_pairs("tableNames")?,
        cache_ttls: read_cache_ttls(options, "cacheTtlMs")?,
    })
}

/// An embedded SQLite backend (bundled SQLite, WAL). Many sessions share one file.
#[napi(catch_unwind, ts_args_type = "options: SqliteStoreOptions")]
pub fn create_sqlite_store(env: Env, options: Unknown) -> Result<StoreBackend> {
    let o = options_object(&env, Some(options), "options").or_throw(&env)?;
    let backend = parse_sqlite(&o).and_then(SqliteBackend::new).or_throw(&env)?;
    StoreBackend::logged(Arc::new(backend), &o).or_throw(&env)
}

/// The in-memory backend, pluggable like any other (data lives as long as the process).
#[napi(catch_unwind, ts_args_type = "options?: MemoryStoreOptions")]
pub fn create_memory_store(env: Env, options: Option<Unknown>) -> Result<StoreBackend> {
    let parsed = (|| {
        let o = options_object(&env, options, "options")?;
        reject_unknown(&o, &["limits", "cacheTtlMs", "logger", "slowOperationThresholdMs"])?;
        let limits = MemoryLimits::with_overrides(&number_pairs(&o.field("limits")?)?, "options.limits")?;
        let ttls = read_cache_ttls(&o, "cacheTtlMs")?;
        StoreBackend::logged(Arc::new(MemoryBackend::new(limits, ttls)), &o)
    })();
    parsed.or_throw(&env)
}

/// Percent-encodes a URL userinfo or path part.
fn url_part(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn opt_u64(obj: &In, names: &[&str]) -> StoreResult<Option<u64>> {
    for name in names {
        let v = obj.field(name)?;
        if !v.is_nullish() {
            let path = format!("{}.{name}", obj.path);
            return positive_integer(&path, v.number().map_err(as_config)?).map(|n| Some(n as u64));
        }
    }
    Ok(None)
}

/// zapo's server-store options: `{ pool: { connectionString | host/port/user/password/database, max, ... } }`
/// or the shorthand `{ connectionString }`, plus `tablePrefix`, `cacheTtlMs`, `cleanup`.
fn parse_server(options: &In, scheme: &str, default_port: u16) -> StoreResult<ServerStoreOptions> {
    reject_unknown(
        options,
        &["pool", "connectionString", "tablePrefix", "cacheTtlMs", "cleanup", "logger", "slowOperationThresholdMs"],
    )?;
    let pool = options.field("pool")?;
    let pool = if pool.is_nullish() { None } else { Some(pool.object().map_err(as_config)?) };
    const POOL_KEYS: [&str; 14] = [
        "connectionString", "uri", "host", "port", "user", "password", "database",
        "max", "connectionLimit", "min", "connectionTimeoutMillis", "connectTimeout", "acquireTimeoutMillis", "idleTimeoutMillis",
    ];
    if let Some(p) = &pool {
        reject_unknown(p, &POOL_KEYS)?;
    }
    let text = |obj: &In, name: &str| -> StoreResult<Option<String>> { obj.field(name)?.opt_string().map_err(as_config) };
    let mut url = text(options, "connectionString")?;
    if let Some(p) = &pool {
        url = url.or(text(p, "connectionString")?).or(text(p, "uri")?);
        if url.is_none() {
            if let Some(host) = text(p, "host")? {
                let user = text(p, "user")?.unwrap_or_default();
                let password = text(p, "password")?;
                let port = opt_u64(p, &["port"])?.unwrap_or(u64::from(default_port));
                let database = text(p, "database")?.unwrap_or_default();
                let auth = match (user.is_empty(), password) {
                    (true, _) => String::new(),
                    (false, None) => format!("{}@", url_part(&user)),
                    (false, Some(pw)) => format!("{}:{}@", url_part(&user), url_part(&pw)),
                };
                url = Some(format!("{scheme}://{auth}{host}:{port}/{}", url_part(&database)));
            }
        }
    }
    let url = url.ok_or_else(|| {
        StoreError::invalid_config(format!(
            "options.pool.connectionString is required (e.g. {scheme}://user@127.0.0.1:{default_port}/db), or pool.host/user/database"
        ))
    })?;
    let mut pool_options = PoolOptions::new(url);
    if let Some(p) = &pool {
        if let Some(n) = opt_u64(p, &["max", "connectionLimit"])? {
            pool_options.max_connections = n.min(u64::from(u32::MAX)) as u32;
        }
        let min = p.field("min")?;
        if !min.is_nullish() {
            let n = min.number().map_err(as_config)?;
            if !(n.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&n)) {
                return Err(StoreError::invalid_config(format!("{}.min must be a non-negative integer, got {n}", p.path)));
            }
            pool_options.min_connections = n as u32;
        }
        if let Some(ms) = opt_u64(p, &["connectionTimeoutMillis", "connectTimeout"])? {
            pool_options.connect_timeout_ms = ms;
        }
        if let Some(ms) = opt_u64(p, &["acquireTimeoutMillis"])? {
            pool_options.acquire_timeout_ms = ms;
        }
        if let Some(ms) = opt_u64(p, &["idleTimeoutMillis"])? {
            pool_options.idle_timeout_ms = ms;
        }
    }
    let mut server = ServerStoreOptions::new(pool_options);
    if let Some(prefix) = text(options, "tablePrefix")? {
        server.table_prefix = prefix;
    }
    server.cache_ttls = read_cache_ttls(options, "cacheTtlMs")?;
    let cleanup = options.field("cleanup")?;
    if !cleanup.is_nullish() {
        reject_unknown(&cleanup, &["enabled", "intervalMs"])?;
        let enabled = cleanup.field("enabled")?.opt_bool().map_err(as_config)?.unwrap_or(true);
        let interval = opt_u64(&cleanup, &["intervalMs"])?.unwrap_or(60_000);
        server.cleanup_interval_ms = enabled.then_some(interval);
    }
    server.validate()?;
    Ok(server)
}

/// A PostgreSQL backend (sqlx). Many sessions and processes share one database.
#[napi(catch_unwind, ts_args_type = "options: PostgresStoreOptions")]
pub fn create_postgres_store(env: Env, options: Unknown) -> Result<StoreBackend> {
    let o = options_object(&env, Some(options), "options").or_throw(&env)?;
    let backend = parse_server(&o, "postgres", 5432).and_then(PostgresBackend::new).or_throw(&env)?;
    StoreBackend::logged(Arc::new(backend), &o).or_throw(&env)
}

/// A MySQL / MariaDB backend (sqlx, InnoDB, utf8mb4). Many sessions and processes share one database.
#[napi(catch_unwind, ts_args_type = "options: MysqlStoreOptions")]
pub fn create_mysql_store(env: Env, options: Unknown) -> Result<StoreBackend> {
    let o = options_object(&env, Some(options), "options").or_throw(&env)?;
    let backend = parse_server(&o, "mysql", 3306).and_then(MysqlBackend::new).or_throw(&env)?;
    StoreBackend::logged(Arc::new(backend), &o).or_throw(&env)
}

/// zapo's Redis options: `{ redis: { host, port, username, password, db, … } }` or the
/// shorthand `{ url }`, plus `keyPrefix`, `cacheTtlMs`, `storeTtlMs`.
fn parse_redis(options: &In) -> StoreResult<RedisOptions> {
    reject_unknown(options, &["url", "redis", "keyPrefix", "cacheTtlMs", "storeTtlMs", "logger", "slowOperationThresholdMs"])?;
    let text = |obj: &In, name: &str| -> StoreResult<Option<String>> { obj.field(name)?.opt_string().map_err(as_config) };
    let conn = options.field("redis")?;
    let conn = if conn.is_nullish() { None } else { Some(conn.object().map_err(as_config)?) };
    const CONN_KEYS: [&str; 8] = ["url", "host", "port", "username", "password", "db", "connectTimeout", "commandTimeout"];
    if let Some(c) = &conn {
        reject_unknown(c, &CONN_KEYS)?;
    }
    let url = match (text(options, "url")?, conn.as_ref().map(|c| text(c, "url")).transpose()?.flatten()) {
        (Some(_), Some(_)) => return Err(StoreError::invalid_config("give options.url or options.redis.url, not both")),
        (a, b) => a.or(b),
    };
    let mut has_parts = false;
    if let Some(c) = &conn {
        for key in ["host", "port", "username", "password", "db"] {
            has_parts |= !c.field(key)?.is_nullish();
        }
    }
    let server = match (url, &conn) {
        (Some(_), _) if has_parts => {
            return Err(StoreError::invalid_config("options.redis: give a url or host/port/username/password/db, not both"));
        }
        (Some(url), _) => RedisServer::Url(url),
        (None, Some(c)) => {
            let port = c.field("port")?;
            let port = if port.is_nullish() {
                6379
            } else {
                let n = port.number().map_err(as_config)?;
                if !(n.fract() == 0.0 && (1.0..=65535.0).contains(&n)) {
                    return Err(StoreError::invalid_config(format!("{}.port must be a port number (1-65535), got {n}", c.path)));
                }
                n as u16
            };
            let db = c.field("db")?;
            let db = if db.is_nullish() {
                0
            } else {
                let n = db.number().map_err(as_config)?;
                if !(n.fract() == 0.0 && (0.0..=65535.0).contains(&n)) {
                    return Err(StoreError::invalid_config(format!("{}.db must be a database number (0 or more), got {n}", c.path)));
                }
                n as i64
            };
            RedisServer::Parts {
                host: text(c, "host")?.unwrap_or_else(|| "127.0.0.1".to_owned()),
                port,
                username: text(c, "username")?,
                password: text(c, "password")?,
                db,
            }
        }
        (None, None) => {
            return Err(StoreError::invalid_config(
                "options.url (redis://host:6379/0) or options.redis ({ host, port, ... }) is required",
            ))
        }
    };
    let mut redis = RedisOptions::new(server);
    if let Some(prefix) = text(options, "keyPrefix")? {
        redis.key_prefix = prefix;
    }
    redis.cache_ttls = read_cache_ttls(options, "cacheTtlMs")?;
    redis.store_ttls = StoreTtls::with_overrides(&number_pairs(&options.field("storeTtlMs")?)?, "options.storeTtlMs")?;
    if let Some(c) = &conn {
        if let Some(ms) = opt_u64(c, &["connectTimeout"])? {
            redis.connect_timeout_ms = ms;
        }
        if let Some(ms) = opt_u64(c, &["commandTimeout"])? {
            redis.command_timeout_ms = ms;
        }
    }
    Ok(redis)
}

/// A Redis backend (redis-rs, one multiplexed connection that reconnects). Many sessions and processes share one server.
#[napi(catch_unwind, ts_args_type = "options: RedisStoreOptions")]
pub fn create_redis_store(env: Env, options: Unknown) -> Result<StoreBackend> {
    let o = options_object(&env, Some(options), "options").or_throw(&env)?;
    let backend = parse_redis(&o).and_then(RedisBackend::new).or_throw(&env)?;
    StoreBackend::logged(Arc::new(backend), &o).or_throw(&env)
}

/// zapo's MongoDB options: `{ uri, database, collectionPrefix?, cacheTtlMs?, options? }` or
/// `{ db: { uri, database, options? } }`. `options` takes a few MongoClient option names.
fn parse_mongo(options: &In) -> StoreResult<MongoOptions> {
    reject_unknown(
        options,
        &["uri", "database", "db", "options", "collectionPrefix", "cacheTtlMs", "logger", "slowOperationThresholdMs"],
    )?;
    let text = |obj: &In, name: &str| -> StoreResult<Option<String>> { obj.field(name)?.opt_string().map_err(as_config) };
    let db = options.field("db")?;
    let (source, client_options) = if db.is_nullish() {
        (options.clone(), options.field("options")?)
    } else {
        for key in ["uri", "database", "options"] {
            if !options.field(key)?.is_nullish() {
                return Err(StoreError::invalid_config(format!(
                    "options.{key}: give either db: {{ uri, database, options }} or uri/database/options, not both"
                )));
            }
        }
        let db = db.object().map_err(as_config)?;
        reject_unknown(&db, &["uri", "database", "options"]).map_err(|e| {
            StoreError::invalid_config(format!("{} (a MongoDB Db object cannot be shared: wastore connects with its own native driver)", e.message))
        })?;
        let client_options = db.field("options")?;
        (db, client_options)
    };
    let uri = text(&source, "uri")?.ok_or_else(|| {
        StoreError::invalid_config(format!("{}.uri is required (e.g. mongodb://127.0.0.1:27017/wa)", source.path))
    })?;
    let database = text(&source, "database")?;
    let mut mongo = MongoOptions::new(uri, database);
    if let Some(prefix) = text(options, "collectionPrefix")? {
        mongo.collection_prefix = prefix;
    }
    mongo.cache_ttls = read_cache_ttls(options, "cacheTtlMs")?;
    if !client_options.is_nullish() {
        let o = client_options.object().map_err(as_config)?;
        const KEYS: [&str; 7] =
            ["serverSelectionTimeoutMS", "connectTimeoutMS", "timeoutMS", "maxPoolSize", "minPoolSize", "maxIdleTimeMS", "appName"];
        reject_unknown(&o, &KEYS)?;
        mongo.server_selection_timeout_ms = opt_u64(&o, &["serverSelectionTimeoutMS"])?;
        mongo.connect_timeout_ms = opt_u64(&o, &["connectTimeoutMS"])?;
        if let Some(ms) = opt_u64(&o, &["timeoutMS"])? {
            mongo.operation_timeout_ms = ms;
        }
        mongo.max_pool_size = opt_u64(&o, &["maxPoolSize"])?.map(|n| n.min(u64::from(u32::MAX)) as u32);
        let min = o.field("minPoolSize")?;
        if !min.is_nullish() {
            let n = min.number().map_err(as_config)?;
            if !(n.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&n)) {
                return Err(StoreError::invalid_config(format!("{}.minPoolSize must be a non-negative integer, got {n}", o.path)));
            }
            mongo.min_pool_size = Some(n as u32);
        }
        mongo.max_idle_time_ms = opt_u64(&o, &["maxIdleTimeMS"])?;
        mongo.app_name = text(&o, "appName")?;
    }
    mongo.validate()?;
    Ok(mongo)
}

/// A MongoDB backend (official Rust driver). Many sessions and processes share one database.
#[napi(catch_unwind, ts_args_type = "options: MongoStoreOptions")]
pub fn create_mongo_store(env: Env, options: Unknown) -> Result<StoreBackend> {
    let o = options_object(&env, Some(options), "options").or_throw(&env)?;
    let backend = parse_mongo(&o).and_then(MongoBackend::new).or_throw(&env)?;
    StoreBackend::logged(Arc::new(backend), &o).or_throw(&env)
}
