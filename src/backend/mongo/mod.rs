//! MongoDB backend: every domain in one database, one collection per record
//! kind (named with a configurable prefix), shared by every session and by
//! every process that points at the same database and prefix.
//!
//! - `MongoBackend::new` only validates the options and parses the URI; the
//!   first operation connects (bounded by the server-selection timeout) and
//!   each collection gets its indexes the first time it is used, once. A
//!   failed open is retried by the next call.
//! - No transactions: every atomic contract operation is a single-document
//!   atomic update (`findOneAndDelete`, `findOneAndUpdate` with `$inc`,
//!   conditional updates), so it holds on a standalone server and across
//!   processes. Batch writes are unordered multi-statement `update` /
//!   `delete` commands, one per collection (sent concurrently when a call
//!   touches several); each document is written atomically, but a batch that
//!   fails part-way may leave the other documents of the batch written. The
//!   call then fails with `STORE_WRITE_FAILED`, and repeating it converges,
//!   since every write is an idempotent upsert or delete.
//! - Every server call is bounded by `timeoutMS`.

mod app_state;
mod auth;
mod bulk;
mod caches;
mod collections;
mod docs;
mod keys;
mod lease;
mod mailbox;
pub mod options;
mod retry;
mod sender_keys;
mod signal_keys;
mod snapshot;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mongodb::bson::{doc, Document};
use mongodb::error::ErrorKind;
use mongodb::options::ClientOptions;
use mongodb::{Client, Collection, Database};
use tokio::sync::OnceCell;

use crate::backend::pool::{redact_url, scrub_password};
use crate::domain::futures_close::CloseFuture;
use crate::domain::Backend;
use crate::error::{ErrorCode, StoreError, StoreResult};
use collections::{Kind, Names};
pub use options::MongoOptions;

/// Longest `close()` waits for in-flight calls before it lets the client go.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

struct Conn {
    client: Client,
    db: Database,
    /// The client's write concern, for the commands sent with `run_command`.
    write_concern: Option<Document>,
}

pub struct MongoBackend {
    events: crate::events::Events,
    options: MongoOptions,
    database: String,
    names: Names,
    conn: OnceCell<Conn>,
    /// One cell per [`Kind`]: set once that collection's indexes exist.
    ready: Vec<OnceCell<()>>,
    closed: AtomicBool,
    op_timeout: Duration,
    /// Tests: drop this prefix's collections when the backend is dropped.
    #[cfg(test)]
    drop_collections_on_drop: AtomicBool,
}

impl MongoBackend {
    /// Validates `options` and parses the URI; connects to nothing (the first operation does).
    pub fn new(options: MongoOptions) -> StoreResult<Self> {
        let (_, database) = options.validate()?;
        Ok(Self {
            events: crate::events::Events::new("mongo"),
            names: Names::new(&options.collection_prefix),
            database,
            conn: OnceCell::new(),
            ready: Kind::ALL.iter().map(|_| OnceCell::new()).collect(),
            closed: AtomicBool::new(false),
            op_timeout: Duration::from_millis(options.operation_timeout_ms),
            options,
            #[cfg(test)]
            drop_collections_on_drop: AtomicBool::new(false),
        })
    }

    /// The configured collection prefix.
    pub fn collection_prefix(&self) -> &str {
        &self.options.collection_prefix
    }

    fn redacted_uri(&self) -> String {
        redact_url(self.options.uri.trim())
    }

    async fn conn(&self) -> StoreResult<&Conn> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::closed("the mongo backend"));
        }
        let conn = self.conn.get_or_try_init(|| self.open()).await?;
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::closed("the mongo backend"));
        }
        Ok(conn)
    }

    fn connect_failed(&self, reason: &str) -> StoreError {
        let reason = scrub_password(reason, self.options.uri.trim());
        StoreError::new(
            ErrorCode::ConnectionFailed,
            format!("mongo: could not connect to {}: {reason}", self.redacted_uri()),
        )
    }

    async fn open(&self) -> StoreResult<Conn> {
        let o = &self.options;
        let mut client_options = ClientOptions::parse(o.uri.trim()).await.map_err(|err| {
            StoreError::invalid_config(format!(
                "uri is not usable ({}): {}",
                self.redacted_uri(),
                scrub_password(&err.to_string(), o.uri.trim())
            ))
        })?;
        // Explicit options win over the URI's; the URI's over the defaults.
        // A call never waits longer for a server than it may take in total.
        let selection = o
            .server_selection_timeout_ms
            .map(Duration::from_millis)
            .or(client_options.server_selection_timeout)
            .unwrap_or(Duration::from_millis(options::DEFAULT_SERVER_SELECTION_TIMEOUT_MS))
            .min(self.op_timeout);
        client_options.server_selection_timeout = Some(selection);
        let connect = o
            .connect_timeout_ms
            .map(Duration::from_millis)
            .or(client_options.connect_timeout)
            .unwrap_or(Duration::from_millis(options::DEFAULT_CONNECT_TIMEOUT_MS));
        client_options.connect_timeout = Some(connect);
        if let Some(n) = o.max_pool_size {
            client_options.max_pool_size = Some(n);
        }
        if let Some(n) = o.min_pool_size {
            client_options.min_pool_size = Some(n);
        }
        if let Some(ms) = o.max_idle_time_ms {
            client_options.max_idle_time = Some(Duration::from_millis(ms));
        }
        client_options.app_name = o.app_name.clone().or(client_options.app_name).or(Some("wastore".to_owned()));
        let write_concern = client_options
            .write_concern
            .as_ref()
            .map(mongodb::bson::serialize_to_document)
            .transpose()
            .map_err(|err| StoreError::invalid_config(format!("uri: unusable write concern: {err}")))?;
        let client = Client::with_options(client_options).map_err(|err| self.connect_failed(&err.to_string()))?;
        let db = client.database(&self.database);
        // The first round trip proves the server is there (and the login works).
        match tokio::time::timeout(selection + connect, db.run_command(doc! { "ping": 1 })).await {
            Ok(Ok(_)) => Ok(Conn { client, db, write_concern }),
            Ok(Err(err)) => Err(self.connect_failed(&err.to_string()).with_source(err)),
            Err(_) => Err(self.connect_failed(&format!("no answer within {} ms", (selection + connect).as_millis()))),
        }
    }

    /// The collection of `kind`, its indexes created first (once per backend).
    async fn coll(&self, kind: Kind) -> StoreResult<Collection<Document>> {
        let conn = self.conn().await?;
        let coll = conn.db.collection::<Document>(self.names.get(kind));
        let slot = self.ready.get(kind.index()).ok_or_else(|| StoreError::invalid_argument("unknown collection"))?;
        slot.get_or_try_init(|| async {
            let models = kind.indexes(self.options.ttl_indexes);
            if models.is_empty() {
                return Ok(());
            }
            // Idempotent on the server: a second process creating the same
            // indexes at the same moment gets "already exists", which is success.
            match tokio::time::timeout(self.op_timeout, coll.create_indexes(models)).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(err)) => Err(StoreError::new(
                    ErrorCode::ConnectionFailed,
                    format!("mongo: could not create the indexes of collection {}: {err}", coll.name()),
                )
                .with_source(err)),
                Err(_) => Err(StoreError::new(
                    ErrorCode::ConnectionFailed,
                    format!("mongo: creating the indexes of collection {} timed out", coll.name()),
                )),
            }
        })
        .await?;
        Ok(coll)
    }

    /// Runs one server call, bounded by the operation timeout, mapping its error.
    async fn timed<T>(
        &self,
        code: ErrorCode,
        what: &'static str,
        call: impl Future<Output = mongodb::error::Result<T>>,
    ) -> StoreResult<T> {
        match tokio::time::timeout(self.op_timeout, call).await {
            Ok(result) => result.map_err(map_err(code, what)),
            Err(_) => Err(StoreError::new(
                code,
                format!(
                    "mongo: {what} timed out after {} ms (the outcome of a write is unknown)",
                    self.op_timeout.as_millis()
                ),
            )),
        }
    }

    async fn read<T>(
        &self,
        what: &'static str,
        call: impl Future<Output = mongodb::error::Result<T>>,
    ) -> StoreResult<T> {
        self.timed(ErrorCode::ReadFailed, what, call).await
    }

    async fn write<T>(
        &self,
        what: &'static str,
        call: impl Future<Output = mongodb::error::Result<T>>,
    ) -> StoreResult<T> {
        self.timed(ErrorCode::WriteFailed, what, call).await
    }
}

impl Drop for MongoBackend {
    fn drop(&mut self) {
        #[cfg(test)]
        if self.drop_collections_on_drop.load(Ordering::Relaxed) && self.conn.initialized() {
            tests::drop_collections_blocking(self.options.clone(), self.database.clone(), self.names.all().to_vec());
        }
    }
}

/// Server error codes that mean the server, not the request, failed.
fn is_connection_code(code: i32) -> bool {
    matches!(code, 6 | 7 | 89 | 91 | 189 | 9001 | 10107 | 11600 | 11602 | 13435 | 13436 | 18 | 13)
}

/// Attaches a code and context to a driver error, keeping it as the source.
fn map_err(code: ErrorCode, what: &'static str) -> impl FnOnce(mongodb::error::Error) -> StoreError {
    move |err| {
        let code = match err.kind.as_ref() {
            ErrorKind::Shutdown => return StoreError::closed("the mongo backend").with_source(err),
            ErrorKind::ServerSelection { .. }
            | ErrorKind::Io(_)
            | ErrorKind::ConnectionPoolCleared { .. }
            | ErrorKind::Authentication { .. }
            | ErrorKind::InvalidTlsConfig { .. }
            | ErrorKind::DnsResolve { .. } => ErrorCode::ConnectionFailed,
            ErrorKind::BsonDeserialization(_) => ErrorCode::Corrupted,
            ErrorKind::Command(c) if is_connection_code(c.code) => ErrorCode::ConnectionFailed,
            ErrorKind::InvalidArgument { .. } => ErrorCode::InvalidArgument,
            _ => code,
        };
        StoreError::new(code, format!("mongo: {what} failed: {err}")).with_source(err)
    }
}

impl Backend for MongoBackend {
    fn kind(&self) -> &'static str {
        "mongo"
    }

    fn events(&self) -> &crate::events::Events {
        &self.events
    }

    fn close(&self) -> CloseFuture<'_> {
        Box::pin(async move {
            self.closed.store(true, Ordering::Release);
            if let Some(conn) = self.conn.get() {
                // Waits for calls in flight (each bounded by timeoutMS), but not forever.
                let _ = tokio::time::timeout(SHUTDOWN_WAIT, conn.client.clone().shutdown()).await;
            }
            Ok(())
        })
    }
}

impl std::fmt::Debug for MongoBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MongoBackend")
            .field("uri", &self.redacted_uri())
            .field("database", &self.database)
            .field("collection_prefix", &self.options.collection_prefix)
            .field("open", &self.conn.initialized())
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish()
    }
}
