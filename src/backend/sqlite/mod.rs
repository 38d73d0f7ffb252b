//! SQLite backend: every domain in one database file (or one in-memory db),
//! shared by every session that names this backend.
//!
//! - `SqliteBackend::new` only validates; the first operation opens the
//!   pools and runs the migrations, once. A failed open is retried by the
//!   next call.
//! - One writer connection serializes every write (`BEGIN IMMEDIATE` for
//!   multi-statement operations); in WAL mode a small read-only pool serves
//!   reads without waiting behind writes.
//! - Data is durable: `release_session` keeps it; `close` ends the pools.

mod app_state;
mod auth;
mod caches;
mod keys;
mod lease;
mod mailbox;
mod migrations;
mod options;
mod retry;
mod rows;
mod sender_keys;
mod signal_keys;
mod snapshot;
mod sql;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Sqlite, SqlitePool, Transaction};
use tokio::sync::OnceCell;

pub use options::{SqliteOptions, ALLOWED_PRAGMAS, MEMORY_PATH, TABLE_KEYS};

use crate::domain::futures_close::CloseFuture;
use crate::domain::Backend;
use crate::error::{ErrorCode, StoreError, StoreResult};
use options::{JournalMode, ResolvedOptions};
use sql::Sql;

/// Reader connections in WAL mode; the machine this runs on is small, and
/// reads are short point lookups.
const READER_CONNECTIONS: u32 = 2;

pub struct SqliteBackend {
    events: crate::events::Events,
    options: ResolvedOptions,
    sql: Sql,
    lease_sql: lease::LeaseSql,
    pools: OnceCell<Pools>,
    closed: AtomicBool,
}

struct Pools {
    /// Exactly one connection: SQLite has one writer anyway, and queueing in
    /// the pool beats spinning on SQLITE_BUSY.
    writer: SqlitePool,
    /// `None` for `:memory:` and non-WAL journals; reads then use the writer.
    reader: Option<SqlitePool>,
}

impl SqliteBackend {
    /// Validates `options`; touches no file (the first operation connects).
    pub fn new(options: SqliteOptions) -> StoreResult<SqliteBackend> {
        let options = ResolvedOptions::resolve(options)?;
        let sql = Sql::new(&options.tables);
        let events = crate::events::Events::new("sqlite");
        let lease_sql = lease::LeaseSql::new(&options.tables.session_leases);
        Ok(Self { events, options, sql, lease_sql, pools: OnceCell::new(), closed: AtomicBool::new(false) })
    }

    /// The database path as configured.
    pub fn path(&self) -> &str {
        &self.options.path
    }

    async fn pools(&self) -> StoreResult<&Pools> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::closed("the sqlite backend"));
        }
        let pools = self.pools.get_or_try_init(|| self.open()).await?;
        if self.closed.load(Ordering::Acquire) {
            // close() ran while we were opening: do not leave these pools behind.
            pools.close().await;
            return Err(StoreError::closed("the sqlite backend"));
        }
        Ok(pools)
    }

    async fn open(&self) -> StoreResult<Pools> {
        let o = &self.options;
        let base = if o.in_memory {
            SqliteConnectOptions::new().filename(MEMORY_PATH)
        } else {
            SqliteConnectOptions::new().filename(&o.path).create_if_missing(true)
        }
        .statement_cache_capacity(512);

        // The writer connection is never recycled: an in-memory database lives
        // and dies with it, and a file needs its connect-time pragmas only once.
        // An embedded connection never goes stale, so the ping sqlx sends before
        // handing one out (a round trip to its worker thread) buys nothing.
        let writer_pool = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(Duration::from_secs(60));
        let writer = connect_retrying_busy(writer_pool, o.pragmas.apply(base.clone(), true), o.pragmas.busy_timeout_ms)
            .await
            .map_err(|err| {
                StoreError::new(
                    ErrorCode::ConnectionFailed,
                    format!("sqlite: could not open the database at {:?}: {err}", o.path),
                )
                .with_source(err)
            })?;
        if let Err(err) = migrations::run(&writer, &o.tables, &self.events).await {
            writer.close().await;
            return Err(err);
        }
        let reader = (!o.in_memory && o.pragmas.journal_mode == JournalMode::Wal).then(|| {
            SqlitePoolOptions::new()
                .test_before_acquire(false)
                .max_connections(READER_CONNECTIONS)
                .acquire_timeout(Duration::from_secs(60))
                // query_only: a bug that writes through a reader fails loudly.
                .connect_lazy_with(o.pragmas.apply(base.clone(), false).pragma("query_only", "ON"))
        });
        Ok(Pools { writer, reader })
    }

    async fn writer(&self) -> StoreResult<&SqlitePool> {
        Ok(&self.pools().await?.writer)
    }

    async fn reader(&self) -> StoreResult<&SqlitePool> {
        let pools = self.pools().await?;
        Ok(pools.reader.as_ref().unwrap_or(&pools.writer))
    }

    /// A write transaction that holds the database write lock from its first
    /// statement, so read-modify-write sequences are atomic across processes too.
    async fn begin(&self, what: &'static str) -> StoreResult<Transaction<'static, Sqlite>> {
        self.writer().await?.begin_with("BEGIN IMMEDIATE").await.map_err(map_err(ErrorCode::WriteFailed, what))
    }

    /// A read transaction: one consistent snapshot for multi-query reads.
    async fn begin_read(&self, what: &'static str) -> StoreResult<Transaction<'static, Sqlite>> {
        self.reader().await?.begin().await.map_err(map_err(ErrorCode::ReadFailed, what))
    }
}

/// Opens the writer pool. Two processes opening a fresh file at once race on
/// switching it to WAL, and SQLite reports that as BUSY without consulting the
/// busy handler; retry for as long as `busy_timeout` would have waited.
async fn connect_retrying_busy(
    pool: SqlitePoolOptions,
    options: SqliteConnectOptions,
    busy_timeout_ms: u32,
) -> Result<SqlitePool, sqlx::Error> {
    let deadline = Instant::now() + Duration::from_millis(u64::from(busy_timeout_ms.max(1_000)));
    loop {
        match pool.clone().connect_with(options.clone()).await {
            Err(err) if is_busy(&err) && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(25)).await
            }
            result => return result,
        }
    }
}

/// SQLITE_BUSY or SQLITE_LOCKED, extended codes included.
fn is_busy(err: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = err else { return false };
    let code = db.code().and_then(|c| c.parse::<i64>().ok()).unwrap_or(0);
    matches!(code & 0xFF, 5 | 6)
}

impl Pools {
    async fn close(&self) {
        if let Some(reader) = &self.reader {
            reader.close().await;
        }
        self.writer.close().await;
    }
}

/// Attaches a code and context to a driver error, keeping it as the source.
/// A closed pool reads as `STORE_CLOSED`; undecodable stored values as
/// `STORE_CORRUPTED`; an unreachable database as `STORE_CONNECTION_FAILED`.
fn map_err(code: ErrorCode, what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |err| {
        let code = match &err {
            sqlx::Error::PoolClosed => return StoreError::closed("the sqlite backend").with_source(err),
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => ErrorCode::ConnectionFailed,
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) | sqlx::Error::ColumnNotFound(_) => {
                ErrorCode::Corrupted
            }
            sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("11") | Some("26")) => {
                ErrorCode::Corrupted
            }
            _ => code,
        };
        StoreError::new(code, format!("sqlite: {what} failed: {err}")).with_source(err)
    }
}

fn read_err(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    map_err(ErrorCode::ReadFailed, what)
}

fn write_err(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    map_err(ErrorCode::WriteFailed, what)
}

impl Backend for SqliteBackend {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn events(&self) -> &crate::events::Events {
        &self.events
    }

    fn close(&self) -> CloseFuture<'_> {
        Box::pin(async move {
            self.closed.store(true, Ordering::Release);
            if let Some(pools) = self.pools.get() {
                pools.close().await;
            }
            Ok(())
        })
    }
}

impl std::fmt::Debug for SqliteBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteBackend")
            .field("path", &self.options.path)
            .field("open", &self.pools.initialized())
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish()
    }
}
