//! PostgreSQL backend: every domain in one database (tables named with a
//! configurable prefix), shared by every session and by every process that
//! points at the same database and prefix.
//!
//! - `PostgresBackend::new` only validates and parses; the first operation
//!   opens the pool and runs the migrations, once. A failed open is retried
//!   by the next call.
//! - Batch reads and writes are single statements over `unnest(...)` arrays;
//!   read-modify-writes lock their rows (`FOR UPDATE`) in a transaction.
//! - PostgreSQL text cannot hold NUL: ids and text containing one are
//!   rejected with `STORE_INVALID_ARGUMENT` before they reach the server.

mod app_state;
mod auth;
mod caches;
mod keys;
mod lease;
mod mailbox;
mod migrations;
mod retry;
mod rows;
mod sender_keys;
mod signal_keys;
mod snapshot;
mod sql;
#[cfg(test)]
mod tests;

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::OnceCell;
use tokio::task::JoinHandle;

use crate::backend::pool::{redact_url, scrub_password, ServerStoreOptions};
use crate::domain::futures_close::CloseFuture;
use crate::domain::Backend;
use crate::error::{ErrorCode, StoreError, StoreResult};
use sql::{Sql, Tables};

pub struct PostgresBackend {
    events: crate::events::Events,
    options: ServerStoreOptions,
    connect: PgConnectOptions,
    tables: Tables,
    sql: Sql,
    lease_sql: lease::LeaseSql,
    pool: OnceCell<PgPool>,
    closed: AtomicBool,
    cleanup: Mutex<Option<JoinHandle<()>>>,
    /// Tests: drop this prefix's tables when the backend is dropped.
    #[cfg(test)]
    drop_tables_on_drop: AtomicBool,
}

impl PostgresBackend {
    /// Validates `options` and parses the URL; connects to nothing (the first operation does).
    pub fn new(options: ServerStoreOptions) -> StoreResult<Self> {
        options.validate()?;
        let url = options.pool.connection_string.trim();
        let scheme = url.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase());
        if !matches!(scheme.as_deref(), Some("postgres" | "postgresql")) {
            return Err(StoreError::invalid_config(format!(
                "pool.connectionString must be a postgres:// (or postgresql://) URL, got {}",
                redact_url(url)
            )));
        }
        let connect = PgConnectOptions::from_str(url)
            .map_err(|err| {
                StoreError::invalid_config(format!(
                    "pool.connectionString is not a valid PostgreSQL URL ({}): {}",
                    redact_url(url),
                    scrub_password(&err.to_string(), url)
                ))
            })?
            .application_name("wastore")
            .statement_cache_capacity(256);
        let tables = Tables::new(&options.table_prefix);
        let sql = Sql::new(&tables);
        let lease_sql = lease::LeaseSql::new(&tables.session_leases);
        Ok(Self {
            events: crate::events::Events::new("postgres"),
            options,
            connect,
            tables,
            sql,
            lease_sql,
            pool: OnceCell::new(),
            closed: AtomicBool::new(false),
            cleanup: Mutex::new(None),
            #[cfg(test)]
            drop_tables_on_drop: AtomicBool::new(false),
        })
    }

    /// The configured table prefix.
    pub fn table_prefix(&self) -> &str {
        &self.options.table_prefix
    }

    async fn pool(&self) -> StoreResult<&PgPool> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::closed("the postgres backend"));
        }
        let pool = self.pool.get_or_try_init(|| self.open()).await?;
        if self.closed.load(Ordering::Acquire) {
            pool.close().await;
            return Err(StoreError::closed("the postgres backend"));
        }
        Ok(pool)
    }

    async fn open(&self) -> StoreResult<PgPool> {
        let p = &self.options.pool;
        let url = redact_url(p.connection_string.trim());
        let pool_options = PgPoolOptions::new()
            .max_connections(p.max_connections)
            .min_connections(p.min_connections)
            .acquire_timeout(Duration::from_millis(p.acquire_timeout_ms.max(1)))
            .idle_timeout(Some(Duration::from_millis(p.idle_timeout_ms.max(1))));
        let pool = pool_options.connect_lazy_with(self.connect.clone());
        // The first connection is bounded by the connect timeout (the pool's
        // own acquire timeout bounds every later one).
        let connect_timeout = Duration::from_millis(p.connect_timeout_ms.max(1).min(p.acquire_timeout_ms.max(1)));
        let first = match tokio::time::timeout(connect_timeout, pool.acquire()).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(err)) => {
                pool.close().await;
                return Err(StoreError::new(
                    ErrorCode::ConnectionFailed,
                    format!("postgres: could not connect to {url}: {err}"),
                )
                .with_source(err));
            }
            Err(_) => {
                pool.close().await;
                return Err(StoreError::new(
                    ErrorCode::ConnectionFailed,
                    format!("postgres: could not connect to {url}: timed out after {} ms", connect_timeout.as_millis()),
                ));
            }
        };
        drop(first);
        if let Err(err) = migrations::run(&pool, &self.tables, &self.events).await {
            pool.close().await;
            return Err(err);
        }
        // Outside a tokio runtime (never the case under sqlx) there is nothing to spawn on.
        if let (Some(interval), Ok(runtime)) = (self.options.cleanup_interval_ms, tokio::runtime::Handle::try_current())
        {
            let handle = runtime.spawn(cleanup_loop(pool.clone(), self.sql.cache_cleanup_all.clone(), interval));
            if let Some(old) = self.cleanup.lock().replace(handle) {
                old.abort();
            }
        }
        Ok(pool)
    }

    async fn begin(&self, what: &'static str) -> StoreResult<Transaction<'static, Postgres>> {
        self.pool().await?.begin().await.map_err(write_err(what))
    }

    /// A read-only snapshot for multi-query reads.
    async fn begin_read(&self, what: &'static str) -> StoreResult<Transaction<'static, Postgres>> {
        self.pool().await?.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await.map_err(read_err(what))
    }

    /// Runs each statement (bound to `sid` only) in one transaction.
    async fn exec_sid_all(&self, statements: &[&str], sid: &str, what: &'static str) -> StoreResult<u64> {
        check("sessionId", sid)?;
        if let [only] = statements {
            let done = sqlx::query(only).bind(sid).execute(self.pool().await?).await.map_err(write_err(what))?;
            return Ok(done.rows_affected());
        }
        let mut tx = self.begin(what).await?;
        let mut n = 0;
        for sql in statements {
            n += sqlx::query(sql).bind(sid).execute(&mut *tx).await.map_err(write_err(what))?.rows_affected();
        }
        tx.commit().await.map_err(write_err(what))?;
        Ok(n)
    }
}

impl Drop for PostgresBackend {
    fn drop(&mut self) {
        if let Some(handle) = self.cleanup.get_mut().take() {
            handle.abort();
        }
        #[cfg(test)]
        if self.drop_tables_on_drop.load(Ordering::Relaxed) && self.pool.initialized() {
            tests::drop_tables_blocking(self.connect.clone(), self.tables.all().join(", "));
        }
    }
}

/// Deletes expired rows of every cache table, for every session, on a period.
async fn cleanup_loop(pool: PgPool, statements: Vec<String>, interval_ms: u64) {
    let mut ticker = tokio::time::interval(Duration::from_millis(interval_ms));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await; // the first tick is immediate
    loop {
        ticker.tick().await;
        if pool.is_closed() {
            return;
        }
        let now = crate::domain::now_ms();
        for sql in &statements {
            // A failed sweep is retried on the next tick; nothing waits on it.
            let _ = sqlx::query(sql).bind(now).execute(&pool).await;
        }
    }
}

/// PostgreSQL text cannot contain NUL: refuse it up front, naming the field.
pub(crate) fn check(field: &str, value: &str) -> StoreResult<()> {
    if value.contains('\0') {
        return Err(StoreError::invalid_argument(format!(
            "{field} must not contain a NUL character (PostgreSQL text cannot store it)"
        )));
    }
    Ok(())
}

pub(crate) fn check_opt(field: &str, value: Option<&str>) -> StoreResult<()> {
    value.map_or(Ok(()), |v| check(field, v))
}

pub(crate) fn check_all<'a>(field: &str, values: impl IntoIterator<Item = &'a str>) -> StoreResult<()> {
    values.into_iter().try_for_each(|v| check(field, v))
}

/// SQLSTATE classes that mean the connection or the server, not the statement, failed.
fn is_connection_state(code: &str) -> bool {
    code.starts_with("08") || code.starts_with("28") || code.starts_with("53") || code.starts_with("57P")
}

/// Attaches a code and context to a driver error, keeping it as the source.
fn map_err(code: ErrorCode, what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |err| {
        let code = match &err {
            sqlx::Error::PoolClosed => return StoreError::closed("the postgres backend").with_source(err),
            sqlx::Error::PoolTimedOut
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => ErrorCode::ConnectionFailed,
            sqlx::Error::Configuration(_) => ErrorCode::InvalidConfig,
            sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::Decode(_)
            | sqlx::Error::ColumnNotFound(_)
            | sqlx::Error::ColumnIndexOutOfBounds { .. } => ErrorCode::Corrupted,
            sqlx::Error::Database(db) => match db.code().as_deref() {
                Some(c) if is_connection_state(c) => ErrorCode::ConnectionFailed,
                // invalid byte sequence / untranslatable character in a value
                Some("22021") | Some("22P05") => ErrorCode::InvalidArgument,
                // program_limit_exceeded: e.g. a key too large for its index (> ~2.7 kB after compression)
                Some("54000") => ErrorCode::InvalidArgument,
                _ => code,
            },
            _ => code,
        };
        StoreError::new(code, format!("postgres: {what} failed: {err}")).with_source(err)
    }
}

fn read_err(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    map_err(ErrorCode::ReadFailed, what)
}

fn write_err(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    map_err(ErrorCode::WriteFailed, what)
}

impl Backend for PostgresBackend {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn events(&self) -> &crate::events::Events {
        &self.events
    }

    fn check_text(&self, field: &str, value: &str) -> StoreResult<()> {
        check(field, value)
    }

    fn close(&self) -> CloseFuture<'_> {
        Box::pin(async move {
            self.closed.store(true, Ordering::Release);
            if let Some(handle) = self.cleanup.lock().take() {
                handle.abort();
            }
            if let Some(pool) = self.pool.get() {
                pool.close().await;
            }
            Ok(())
        })
    }
}

impl std::fmt::Debug for PostgresBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresBackend")
            .field("url", &redact_url(&self.options.pool.connection_string))
            .field("table_prefix", &self.options.table_prefix)
            .field("open", &self.pool.initialized())
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish()
    }
}
