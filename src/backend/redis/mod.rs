//! Redis backend: every domain under one key prefix, shared by every session
//! and by every process that points at the same server and prefix.
//!
//! - `RedisBackend::new` only validates; the first operation connects (one
//!   `aio::ConnectionManager`, multiplexed, reconnecting by itself). A failed
//!   connect is retried by the next call. Every round trip is bounded.
//! - Keys are laid out per (domain, session) by [`layout`]. Binary values are
//!   stored as raw bytes; records are hashes with short field names.
//! - Batch reads are one pipeline (or `MGET`); writes that must be all or
//!   nothing are one `MULTI`/`EXEC`; read-modify-writes and every write that
//!   keeps an index in step with its data are one Lua script ([`scripts`]).
//! - `clear()` of one session's domain `SCAN`s that session's pattern (glob
//!   characters escaped) and `UNLINK`s what it finds, in chunks.
//! - Cache entries carry a native TTL (see [`RedisBackend::cache_ttl`]) and are
//!   filtered by their stored expiry on read, as the SQL backends do.

mod app_state;
mod auth;
mod caches;
mod keys;
mod layout;
mod lease;
mod mailbox;
mod options;
mod retry;
mod scripts;
mod sender_keys;
mod signal_keys;
mod snapshot;
#[cfg(test)]
mod tests;
mod values;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::RwLock;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, ErrorKind as RedisErrorKind, Pipeline, RedisError, ScriptInvocation, Value};
use tokio::sync::Mutex;

use crate::domain::futures_close::CloseFuture;
use crate::domain::Backend;
use crate::error::{ErrorCode, StoreError, StoreResult};
use layout::{Area, Space};

pub use options::{RedisOptions, RedisServer, StoreTtls, DEFAULT_KEY_PREFIX, STORE_TTL_NAMES};

/// Keys per `UNLINK` when clearing, and the `COUNT` hint of each `SCAN` step.
const DELETE_CHUNK: usize = 500;
const SCAN_COUNT: usize = 1_000;
/// A cache key outlives its logical expiry by at least this long (see [`RedisBackend::cache_ttl`]).
const MIN_CACHE_GRACE_MS: i64 = 60_000;
/// Native TTLs are capped (about 100 years), far below what `PEXPIRE` accepts.
const MAX_NATIVE_TTL_MS: i64 = 100 * 365 * 24 * 3_600_000;

pub struct RedisBackend {
    events: crate::events::Events,
    options: RedisOptions,
    client: redis::Client,
    /// `host:port`, for messages.
    endpoint: String,
    /// The open connection: the fast path every call takes.
    ready: RwLock<Option<ConnectionManager>>,
    /// Held while connecting, so one attempt serves every caller waiting.
    conn: Mutex<ConnState>,
    closed: AtomicBool,
    /// Tests: delete every key under this prefix when the backend is dropped.
    #[cfg(test)]
    delete_keys_on_drop: AtomicBool,
}

#[derive(Default)]
struct ConnState {
    /// The last failed connect: callers that queued behind it share its error.
    failure: Option<(Instant, String)>,
}

impl RedisBackend {
    /// Validates `options`; connects to nothing (the first operation does).
    pub fn new(options: RedisOptions) -> StoreResult<Self> {
        let info = options.connection_info()?;
        let endpoint = options::endpoint(&info);
        let client = redis::Client::open(info)
            .map_err(|err| StoreError::invalid_config(format!("redis: cannot use {endpoint}: {:?}", err.kind())))?;
        Ok(Self {
            events: crate::events::Events::new("redis"),
            options,
            client,
            endpoint,
            ready: RwLock::new(None),
            conn: Mutex::new(ConnState::default()),
            closed: AtomicBool::new(false),
            #[cfg(test)]
            delete_keys_on_drop: AtomicBool::new(false),
        })
    }

    /// The configured key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.options.key_prefix
    }

    fn space(&self, area: Area, sid: &str) -> Space {
        Space::new(&self.options.key_prefix, area, sid)
    }

    fn check_open(&self) -> StoreResult<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::closed("the redis backend"));
        }
        Ok(())
    }

    /// The shared connection, opened on first use.
    async fn connection(&self) -> StoreResult<ConnectionManager> {
        self.check_open()?;
        if let Some(manager) = self.ready.read().clone() {
            return Ok(manager);
        }
        let asked = Instant::now();
        let mut state = self.conn.lock().await;
        self.check_open()?;
        if let Some(manager) = self.ready.read().clone() {
            return Ok(manager);
        }
        // Another caller's attempt failed while we waited: share its answer
        // instead of queueing one more timeout behind it.
        if let Some((at, message)) = &state.failure {
            if *at >= asked {
                return Err(StoreError::new(ErrorCode::ConnectionFailed, message.clone()));
            }
        }
        let connect = Duration::from_millis(self.options.connect_timeout_ms);
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(connect))
            .set_response_timeout(Some(Duration::from_millis(self.options.command_timeout_ms)))
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(100))
            .set_max_delay(Duration::from_secs(2));
        let attempt = ConnectionManager::new_with_config(self.client.clone(), config);
        let result = match tokio::time::timeout(connect, attempt).await {
            Ok(Ok(manager)) => Ok(manager),
            Ok(Err(err)) => Err(StoreError::new(
                ErrorCode::ConnectionFailed,
                format!("redis: could not connect to {}: {err}", self.endpoint),
            )
            .with_source(err)),
            Err(_) => Err(StoreError::new(
                ErrorCode::ConnectionFailed,
                format!(
                    "redis: could not connect to {}: timed out after {} ms",
                    self.endpoint,
                    connect.as_millis()
                ),
            )),
        };
        match result {
            Ok(manager) => {
                state.failure = None;
                // close() may have run meanwhile: never hand out (or keep) a connection after it.
                self.check_open()?;
                *self.ready.write() = Some(manager.clone());
                Ok(manager)
            }
            Err(err) => {
                state.failure = Some((Instant::now(), err.message.clone()));
                Err(err)
            }
        }
    }

    /// Drops the connection after a failure the manager does not recover from by itself.
    fn forget_connection(&self) {
        *self.ready.write() = None;
    }

    /// Runs one exchange with the server, bounded by connect + command timeouts.
    async fn bounded<T>(
        &self,
        code: ErrorCode,
        what: &'static str,
        exchange: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> StoreResult<T> {
        let limit = Duration::from_millis(self.options.connect_timeout_ms + self.options.command_timeout_ms);
        match tokio::time::timeout(limit, exchange).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => {
                let is_auth = err.kind() == RedisErrorKind::AuthenticationFailed
                    || server_codes(&err).iter().any(|c| c == "NOAUTH" || c == "WRONGPASS");
                let mapped = self.map_err(code, what, err);
                if is_auth {
                    self.forget_connection();
                }
                Err(mapped)
            }
            Err(_) => Err(StoreError::new(
                ErrorCode::ConnectionFailed,
                format!(
                    "redis: {what} on {} timed out after {} ms",
                    self.endpoint,
                    limit.as_millis()
                ),
            )),
        }
    }

    fn map_err(&self, code: ErrorCode, what: &'static str, err: RedisError) -> StoreError {
        let code = match err.kind() {
            RedisErrorKind::Io | RedisErrorKind::AuthenticationFailed | RedisErrorKind::ClusterConnectionNotFound => {
                ErrorCode::ConnectionFailed
            }
            RedisErrorKind::Parse | RedisErrorKind::UnexpectedReturnType => ErrorCode::Corrupted,
            _ if err.is_timeout() || err.is_connection_dropped() => ErrorCode::ConnectionFailed,
            _ => {
                let codes = server_codes(&err);
                let has = |names: &[&str]| codes.iter().any(|c| names.contains(&c.as_str()));
                if has(&["WRONGTYPE", scripts::CORRUPTED]) {
                    ErrorCode::Corrupted
                } else if has(&["NOAUTH", "WRONGPASS", "LOADING", "MASTERDOWN"]) {
                    ErrorCode::ConnectionFailed
                } else {
                    code
                }
            }
        };
        StoreError::new(code, format!("redis: {what} failed ({}): {err}", self.endpoint)).with_source(err)
    }

    pub(super) async fn cmd(&self, code: ErrorCode, what: &'static str, cmd: &Cmd) -> StoreResult<Value> {
        let mut conn = self.connection().await?;
        self.bounded(code, what, cmd.query_async::<Value>(&mut conn)).await
    }

    /// One pipeline (a `MULTI`/`EXEC` when built `atomic()`); the replies of non-ignored commands.
    pub(super) async fn pipe(&self, code: ErrorCode, what: &'static str, pipe: &Pipeline) -> StoreResult<Vec<Value>> {
        if pipe.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.connection().await?;
        self.bounded(code, what, pipe.query_async::<Vec<Value>>(&mut conn))
            .await
    }

    pub(super) async fn eval(
        &self,
        code: ErrorCode,
        what: &'static str,
        call: &ScriptInvocation<'_>,
    ) -> StoreResult<Value> {
        let mut conn = self.connection().await?;
        self.bounded(code, what, call.invoke_async::<Value>(&mut conn)).await
    }

    pub(super) async fn read(&self, what: &'static str, cmd: &Cmd) -> StoreResult<Value> {
        self.cmd(ErrorCode::ReadFailed, what, cmd).await
    }

    pub(super) async fn write(&self, what: &'static str, cmd: &Cmd) -> StoreResult<Value> {
        self.cmd(ErrorCode::WriteFailed, what, cmd).await
    }

    /// Deletes every key of one (domain, session): `SCAN` with the escaped
    /// pattern, `UNLINK` in chunks. Keys written while it runs may survive.
    async fn clear_space(&self, area: Area, sid: &str, what: &'static str) -> StoreResult<()> {
        let pattern = self.space(area, sid).pattern();
        let mut cursor = b"0".to_vec();
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(&cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(SCAN_COUNT);
            let [next, found] = values::tuple::<2>(self.write(what, &scan).await?, what)?;
            cursor = values::opt_bytes(next, what)?.unwrap_or_else(|| b"0".to_vec());
            let keys: Vec<Vec<u8>> = values::array(found, what)?
                .into_iter()
                .filter_map(|k| values::opt_bytes(k, what).transpose())
                .collect::<StoreResult<_>>()?;
            for chunk in keys.chunks(DELETE_CHUNK) {
                self.write(what, redis::cmd("UNLINK").arg(chunk)).await?;
            }
            if cursor == b"0" {
                return Ok(());
            }
        }
    }

    /// `GET` of each key in one pipeline, positional (crypto domains slide on read).
    async fn get_strings(&self, area: Area, keys: &[String], what: &'static str) -> StoreResult<Vec<Option<Vec<u8>>>> {
        let mut pipe = redis::pipe();
        for key in keys {
            // GET, not MGET: a key of the wrong type is an error (CORRUPTED), not a silent miss.
            pipe.cmd("GET").arg(key);
            self.slide_on_read(&mut pipe, area, key);
        }
        let replies = self.pipe(ErrorCode::ReadFailed, what, &pipe).await?;
        replies.into_iter().map(|v| values::opt_bytes(v, what)).collect()
    }

    /// `HGETALL` of each key in one pipeline, positional (crypto domains slide on read).
    async fn get_hashes(&self, area: Area, keys: &[String], what: &'static str) -> StoreResult<Vec<values::Hash>> {
        self.get_hashes_sliding(area, keys, &[], what).await
    }

    /// [`Self::get_hashes`], also sliding `indexes`: an index must never expire
    /// before the records it finds (the pre-key counter, the epoch index, …).
    async fn get_hashes_sliding(
        &self,
        area: Area,
        keys: &[String],
        indexes: &[String],
        what: &'static str,
    ) -> StoreResult<Vec<values::Hash>> {
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.cmd("HGETALL").arg(key);
            self.slide_on_read(&mut pipe, area, key);
        }
        for key in indexes {
            self.slide_on_read(&mut pipe, area, key);
        }
        let replies = self.pipe(ErrorCode::ReadFailed, what, &pipe).await?;
        replies.into_iter().map(|v| values::Hash::from_value(v, what)).collect()
    }

    async fn get_hash(&self, area: Area, key: String, what: &'static str) -> StoreResult<values::Hash> {
        let mut hashes = self.get_hashes(area, std::slice::from_ref(&key), what).await?;
        Ok(hashes.pop().unwrap_or_default())
    }

    /// Sets string keys in one `MULTI` (later duplicates win), sliding their TTL.
    async fn set_strings(&self, area: Area, pairs: Vec<(String, Vec<u8>)>, what: &'static str) -> StoreResult<()> {
        if pairs.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        pipe.cmd("MSET");
        for (key, value) in &pairs {
            pipe.arg(key).arg(value);
        }
        pipe.ignore();
        for (key, _) in &pairs {
            self.slide(&mut pipe, area, key);
        }
        self.pipe(ErrorCode::WriteFailed, what, &pipe).await.map(drop)
    }

    /// Replaces a whole hash record (`DEL` + `HSET` in one `MULTI`), sliding its TTL.
    async fn replace_hash(&self, area: Area, key: &str, fields: values::Fields, what: &'static str) -> StoreResult<()> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        pipe.cmd("DEL").arg(key).ignore();
        pipe.cmd("HSET").arg(key);
        for (name, value) in fields.0 {
            pipe.arg(name).arg(value);
        }
        pipe.ignore();
        self.slide(&mut pipe, area, key);
        self.pipe(ErrorCode::WriteFailed, what, &pipe).await.map(drop)
    }

    /// The sliding TTL of a persistent domain (`storeTtlMs`), if configured.
    fn store_ttl(&self, area: Area) -> Option<i64> {
        let t = &self.options.store_ttls;
        match area {
            Area::PreKey => t.pre_key_ms,
            Area::Session => t.session_ms,
            Area::Identity => t.identity_ms,
            Area::Signal => t.signal_ms,
            Area::SenderKey => t.sender_key_ms,
            Area::AppState => t.app_state_ms,
            Area::Messages => t.messages_ms,
            Area::Threads => t.threads_ms,
            Area::Contacts => t.contacts_ms,
            Area::PrivacyToken => t.privacy_token_ms,
            _ => None,
        }
    }

    /// `storeTtlMs` as a script argument: the TTL in ms, or `"0"` for none.
    fn slide_arg(&self, area: Area) -> String {
        self.store_ttl(area).map_or_else(|| "0".to_owned(), |ms| ms.to_string())
    }

    /// Adds a `PEXPIRE` for `key` to `pipe` when the domain slides on write.
    fn slide(&self, pipe: &mut Pipeline, area: Area, key: &str) {
        if let Some(ms) = self.store_ttl(area) {
            pipe.cmd("PEXPIRE").arg(key).arg(ms).ignore();
        }
    }

    /// Crypto domains also slide on read (zapo: an active session never expires).
    fn slide_on_read(&self, pipe: &mut Pipeline, area: Area, key: &str) {
        if matches!(
            area,
            Area::PreKey | Area::Session | Area::Identity | Area::Signal | Area::SenderKey | Area::AppState
        ) {
            self.slide(pipe, area, key);
        }
    }

    /// The native TTL of a cache key that expires (logically) at `expires_at_ms`.
    ///
    /// Reads filter by the stored expiry against the caller's `nowMs`, exactly
    /// like the SQL backends, and `cleanupExpired` deletes by it. The native TTL
    /// is the garbage collector behind that: the time left until the expiry on
    /// this machine's clock, plus a grace of one domain TTL (at least a minute),
    /// so a caller whose clock or `nowMs` runs behind never loses an entry it
    /// still considers live.
    fn cache_ttl(expires_at_ms: i64, domain_ttl_ms: i64) -> i64 {
        let left = expires_at_ms
            .saturating_sub(crate::domain::now_ms())
            .clamp(0, MAX_NATIVE_TTL_MS);
        left.saturating_add(domain_ttl_ms.max(MIN_CACHE_GRACE_MS))
            .min(MAX_NATIVE_TTL_MS)
    }
}

/// The server error codes in `err`: its own, or those of the failed commands of a pipeline.
fn server_codes(err: &RedisError) -> Vec<String> {
    let mut codes: Vec<String> = err.code().map(str::to_owned).into_iter().collect();
    if let Some(items) = err.clone().into_server_errors() {
        codes.extend(items.iter().map(|(_, e)| e.code().to_owned()));
    }
    codes
}

impl Backend for RedisBackend {
    fn kind(&self) -> &'static str {
        "redis"
    }

    fn events(&self) -> &crate::events::Events {
        &self.events
    }

    fn close(&self) -> CloseFuture<'_> {
        Box::pin(async move {
            self.closed.store(true, Ordering::Release);
            // Dropping the manager closes the connection once in-flight calls finish.
            self.forget_connection();
            Ok(())
        })
    }
}

#[cfg(test)]
impl Drop for RedisBackend {
    fn drop(&mut self) {
        if self.delete_keys_on_drop.load(Ordering::Relaxed) {
            tests::delete_prefix_blocking(&self.client, &self.options.key_prefix);
        }
    }
}

impl std::fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackend")
            .field("endpoint", &self.endpoint)
            .field("key_prefix", &self.options.key_prefix)
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish()
    }
}
