//! MySQL / MariaDB backend: every domain in one database, shared by every
//! session (and every process) that points at it with the same table prefix.
//!
//! - `MysqlBackend::new` only validates; the first operation opens the pool
//!   and runs the migrations, once. A failed open is retried by the next call.
//! - Keys of unbounded length (jids, message ids, group ids, …) are stored in
//!   full and keyed by their SHA-256 (`*_h BINARY(32)` columns, computed by
//!   the server as `UNHEX(SHA2(?, 256))`), so any length round-trips and
//!   every composite primary key stays far under InnoDB's 3072-byte limit.
//! - Atomic read-modify-write operations run in InnoDB transactions with
//!   row locks (`SELECT … FOR UPDATE`, `INSERT … ON DUPLICATE KEY UPDATE`).
//! - Batches are written with multi-row `INSERT … ON DUPLICATE KEY UPDATE`
//!   statements of at most 500 parameters and ~4 MiB each; a whole batch is
//!   replayed when InnoDB picks it as a deadlock victim.
//! - Data is durable: `release_session` keeps it; `close` ends the pool.
//!
//! Limits: a session id is at most 512 characters (`STORE_INVALID_ARGUMENT`
//! beyond); one value must fit the server's `max_allowed_packet` (16 MiB by
//! default); `tablePrefix` is at most 32 characters (MySQL names stop at 64).

/// Runs a transactional step again when InnoDB rolled it back for a deadlock
/// or a lock wait timeout.
macro_rules! retrying {
    ($call:expr) => {{
        let mut attempt = 0u32;
        loop {
            match $call.await {
                Ok(value) => break Ok(value),
                Err((err, true)) if attempt < 8 => {
                    attempt += 1;
                    let _ = err;
                    tokio::time::sleep(std::time::Duration::from_millis(5 << attempt.min(5))).await;
                }
                Err((err, _)) => break Err(err),
            }
        }
    }};
}

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
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::{MySql, MySqlPool, Transaction};
use tokio::sync::OnceCell;

use crate::backend::pool::{redact_url, ServerStoreOptions};
use crate::domain::futures_close::CloseFuture;
use crate::domain::Backend;
use crate::error::{ErrorCode, StoreError, StoreResult};
use sql::{Sql, Tables};

/// Longest session id, in characters (`session_id VARBINARY(2048)`: 512 × 4 UTF-8 bytes).
pub const MAX_SESSION_ID_CHARS: usize = 512;
/// MySQL identifiers are at most 64 characters; the longest table name is
/// `appstate_collection_index_values` (32), which leaves 32 for the prefix.
pub const MAX_TABLE_PREFIX_LEN: usize = 32;

pub struct MysqlBackend {
    events: crate::events::Events,
    options: ServerStoreOptions,
    connect: MySqlConnectOptions,
    tables: Tables,
    sql: Sql,
    lease_sql: lease::LeaseSql,
    pool: OnceCell<MySqlPool>,
    closed: AtomicBool,
    cleanup_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Tests: drop this prefix's tables when the backend is dropped.
    #[cfg(test)]
    drop_tables_on_drop: AtomicBool,
}

impl MysqlBackend {
    /// Validates `options` and parses the URL; opens nothing (the first operation connects).
    pub fn new(options: ServerStoreOptions) -> StoreResult<Self> {
        options.validate()?;
        if options.table_prefix.len() > MAX_TABLE_PREFIX_LEN {
            return Err(StoreError::invalid_config(format!(
                "tablePrefix must be at most {MAX_TABLE_PREFIX_LEN} characters for MySQL (table names are limited \
                 to 64), got {} characters",
                options.table_prefix.len()
            )));
        }
        let url = options.pool.connection_string.trim();
        let invalid = || {
            // Neither the driver's message nor an unparsed URL is echoed: either may hold a password.
            let shown = match url.split_once("://") {
                Some((_, rest)) if rest.split('/').next().is_some_and(|a| a.contains('@')) => redact_url(url),
                Some((scheme, _)) => format!("a {scheme}:// URL"),
                None => "a string without a scheme".to_owned(),
            };
            StoreError::invalid_config(format!(
                "pool.connectionString is not a valid MySQL URL (expected mysql://user:password@host:port/database), \
                 got {shown}"
            ))
        };
        let scheme = url.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase());
        if !matches!(scheme.as_deref(), Some("mysql") | Some("mariadb")) {
            return Err(invalid());
        }
        let connect = MySqlConnectOptions::from_str(url)
            .map_err(|_| invalid())?
            .charset("utf8mb4")
            // Per connection; the server caps prepared statements globally
            // (max_prepared_stmt_count, 16382 by default) across every client.
            .statement_cache_capacity(128);
        let tables = Tables::new(&options.table_prefix);
        let sql = Sql::new(&tables);
        let lease_sql = lease::LeaseSql::new(&tables.session_leases);
        Ok(Self {
            events: crate::events::Events::new("mysql"),
            options,
            connect,
            tables,
            sql,
            lease_sql,
            pool: OnceCell::new(),
            closed: AtomicBool::new(false),
            cleanup_task: Mutex::new(None),
            #[cfg(test)]
            drop_tables_on_drop: AtomicBool::new(false),
        })
    }

    /// The configured table prefix.
    pub fn table_prefix(&self) -> &str {
        &self.options.table_prefix
    }

    async fn pool(&self) -> StoreResult<&MySqlPool> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::closed("the mysql backend"));
        }
        let pool = self.pool.get_or_try_init(|| self.open()).await?;
        if self.closed.load(Ordering::Acquire) {
            // close() ran while we were opening: do not leave this pool behind.
            pool.close().await;
            self.stop_cleanup();
            return Err(StoreError::closed("the mysql backend"));
        }
        Ok(pool)
    }

    async fn open(&self) -> StoreResult<MySqlPool> {
        let p = &self.options.pool;
        let pool = MySqlPoolOptions::new()
            .max_connections(p.max_connections)
            .min_connections(p.min_connections)
            .acquire_timeout(Duration::from_millis(p.acquire_timeout_ms.max(1)))
            .idle_timeout(Some(Duration::from_millis(p.idle_timeout_ms.max(1))))
            .connect_with(self.connect.clone());
        let pool = tokio::time::timeout(Duration::from_millis(p.connect_timeout_ms.max(1)), pool)
            .await
            .map_err(|_| {
                StoreError::new(
                    ErrorCode::ConnectionFailed,
                    format!(
                        "mysql: could not connect to {} within {} ms",
                        redact_url(&p.connection_string),
                        p.connect_timeout_ms
                    ),
                )
            })?
            .map_err(|err| {
                StoreError::new(
                    ErrorCode::ConnectionFailed,
                    format!("mysql: could not connect to {}: {err}", redact_url(&p.connection_string)),
                )
                .with_source(err)
            })?;
        if let Err(err) = migrations::run(&pool, &self.tables, &self.events).await {
            pool.close().await;
            return Err(err);
        }
        if let Some(interval) = self.options.cleanup_interval_ms {
            let task = tokio::spawn(caches::cleanup_loop(
                pool.clone(),
                self.sql.cleanup_all.clone(),
                Duration::from_millis(interval),
            ));
            if let Some(old) = self.cleanup_task.lock().replace(task) {
                old.abort();
            }
        }
        Ok(pool)
    }

    fn stop_cleanup(&self) {
        if let Some(task) = self.cleanup_task.lock().take() {
            task.abort();
        }
    }

    /// The pool, after checking the session id fits its column.
    async fn db(&self, sid: &str) -> StoreResult<&MySqlPool> {
        check_sid(sid)?;
        self.pool().await
    }

    /// A write transaction (InnoDB, REPEATABLE READ; row locks taken as statements run).
    async fn tx(&self, sid: &str, what: &'static str) -> StoreResult<Transaction<'static, MySql>> {
        self.db(sid).await?.begin().await.map_err(map_err(ErrorCode::WriteFailed, what))
    }

    /// A read transaction: one consistent snapshot for multi-query reads.
    async fn read_tx(&self, sid: &str, what: &'static str) -> StoreResult<Transaction<'static, MySql>> {
        self.db(sid).await?.begin().await.map_err(map_err(ErrorCode::ReadFailed, what))
    }
}

/// Session ids are stored in `VARBINARY(2048)` (512 characters of UTF-8); a longer one is a caller error.
fn check_sid(sid: &str) -> StoreResult<()> {
    if sid.chars().count() > MAX_SESSION_ID_CHARS {
        return Err(StoreError::invalid_argument(format!(
            "sessionId is {} characters long; the MySQL backend stores at most {MAX_SESSION_ID_CHARS}",
            sid.chars().count()
        )));
    }
    Ok(())
}

/// MySQL server error numbers that mean "cannot reach / may not use the database".
const CONNECTION_ERRORS: [&str; 6] = ["1044", "1045", "1049", "1129", "1130", "1040"];
/// Lock wait timeout / deadlock: the transaction was rolled back and may be retried.
pub(crate) fn is_retryable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db
            .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
            .is_some_and(|e| matches!(e.number(), 1205 | 1213)),
        _ => false,
    }
}

/// Pairs an error with whether its cause was a deadlock or lock wait timeout
/// (the transaction was rolled back whole and may be replayed), for [`retrying!`].
fn retry_flag(err: StoreError) -> (StoreError, bool) {
    let retry = err.source.as_ref().and_then(|s| s.downcast_ref::<sqlx::Error>()).is_some_and(is_retryable);
    (err, retry)
}

/// Attaches a code and context to a driver error, keeping it as the source.
/// A closed pool reads as `STORE_CLOSED`; undecodable stored values as
/// `STORE_CORRUPTED`; an unreachable or refused server as `STORE_CONNECTION_FAILED`.
fn map_err(code: ErrorCode, what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |err| {
        let code = match &err {
            sqlx::Error::PoolClosed => return StoreError::closed("the mysql backend").with_source(err),
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => ErrorCode::ConnectionFailed,
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) | sqlx::Error::ColumnNotFound(_) => {
                ErrorCode::Corrupted
            }
            sqlx::Error::Database(db) => {
                let number = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>().map(|e| e.number().to_string());
                if number.as_deref().is_some_and(|n| CONNECTION_ERRORS.contains(&n)) {
                    ErrorCode::ConnectionFailed
                } else {
                    code
                }
            }
            _ => code,
        };
        StoreError::new(code, format!("mysql: {what} failed: {err}")).with_source(err)
    }
}

fn read_err(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    map_err(ErrorCode::ReadFailed, what)
}

fn write_err(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    map_err(ErrorCode::WriteFailed, what)
}

impl Backend for MysqlBackend {
    fn kind(&self) -> &'static str {
        "mysql"
    }

    fn events(&self) -> &crate::events::Events {
        &self.events
    }

    fn close(&self) -> CloseFuture<'_> {
        Box::pin(async move {
            self.closed.store(true, Ordering::Release);
            self.stop_cleanup();
            if let Some(pool) = self.pool.get() {
                pool.close().await;
            }
            Ok(())
        })
    }
}

impl Drop for MysqlBackend {
    fn drop(&mut self) {
        self.stop_cleanup();
        #[cfg(test)]
        if self.drop_tables_on_drop.load(Ordering::Relaxed) {
            tests::drop_tables_blocking(self.connect.clone(), &self.tables);
        }
    }
}

impl std::fmt::Debug for MysqlBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MysqlBackend")
            .field("url", &redact_url(&self.options.pool.connection_string))
            .field("table_prefix", &self.options.table_prefix)
            .field("open", &self.pool.initialized())
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish()
    }
}

/// Binds one row of a multi-row statement: `(query, session id, row)`.
type BindRow<T> = for<'q> fn(rows::Query<'q>, &'q str, &'q T) -> rows::Query<'q>;

impl MysqlBackend {
    /// Writes `rows` with `list` (a multi-row `INSERT … ON DUPLICATE KEY
    /// UPDATE`), chunked by parameter count and bytes, all in one transaction.
    /// Two batches touching the same keys in different orders can deadlock in
    /// InnoDB; the loser is rolled back whole and the batch is replayed.
    async fn upsert_rows<T: Sync>(
        &self,
        sid: &str,
        list: &sql::Multi,
        rows: &[T],
        size: fn(&T) -> usize,
        bind: BindRow<T>,
        what: &'static str,
    ) -> StoreResult<()> {
        let pool = self.db(sid).await?;
        if rows.is_empty() {
            return Ok(());
        }
        let chunks = rows::chunks_by_size(rows, list.max_chunk(), size);
        let fail = |err: sqlx::Error| {
            let retry = is_retryable(&err);
            (write_err(what)(err), retry)
        };
        retrying!(async {
            let mut tx = pool.begin().await.map_err(fail)?;
            for chunk in &chunks {
                let (sql, len) = list.for_len(chunk.len());
                let mut query = sqlx::query(sql);
                for row in rows::padded(chunk, len) {
                    query = bind(query, sid, row);
                }
                query.execute(&mut *tx).await.map_err(fail)?;
            }
            tx.commit().await.map_err(fail)
        })
    }
}
