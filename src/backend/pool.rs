//! Options shared by the server backends (PostgreSQL, MySQL/MariaDB): how the
//! pool connects, and which tables it owns.

use crate::config::validate_identifier;
use crate::domain::CacheTtls;
use crate::error::{StoreError, StoreResult};

/// Connection pool settings (zapo's `pool: { connectionString, max, ... }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolOptions {
    /// `postgres://user@host:port/db` or `mysql://user@host:port/db`.
    pub connection_string: String,
    /// Largest number of open connections (default 10).
    pub max_connections: u32,
    /// Connections kept open when idle (default 0).
    pub min_connections: u32,
    /// How long opening one connection may take (default 10 s).
    pub connect_timeout_ms: u64,
    /// How long a call may wait for a free connection before failing (default 10 s): nothing hangs forever.
    pub acquire_timeout_ms: u64,
    /// Idle connections are closed after this long (default 10 min).
    pub idle_timeout_ms: u64,
}

impl PoolOptions {
    pub fn new(connection_string: impl Into<String>) -> Self {
        Self {
            connection_string: connection_string.into(),
            max_connections: 10,
            min_connections: 0,
            connect_timeout_ms: 10_000,
            acquire_timeout_ms: 10_000,
            idle_timeout_ms: 600_000,
        }
    }

    pub fn validate(&self, field: &str) -> StoreResult<()> {
        if self.connection_string.trim().is_empty() {
            return Err(StoreError::invalid_config(format!("{field}.connectionString must be a database URL")));
        }
        if self.max_connections == 0 {
            return Err(StoreError::invalid_config(format!("{field}.max must be at least 1")));
        }
        if self.min_connections > self.max_connections {
            return Err(StoreError::invalid_config(format!("{field}.min must not exceed {field}.max")));
        }
        Ok(())
    }
}

/// Options of a server backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerStoreOptions {
    pub pool: PoolOptions,
    /// Prepended to every table name (default `wastore_`), a plain SQL identifier.
    pub table_prefix: String,
    pub cache_ttls: CacheTtls,
    /// When set, expired cache rows of every session are deleted on this period.
    pub cleanup_interval_ms: Option<u64>,
}

pub const DEFAULT_TABLE_PREFIX: &str = "wastore_";

impl ServerStoreOptions {
    pub fn new(pool: PoolOptions) -> Self {
        Self { pool, table_prefix: DEFAULT_TABLE_PREFIX.to_owned(), cache_ttls: CacheTtls::default(), cleanup_interval_ms: None }
    }

    pub fn validate(&self) -> StoreResult<()> {
        self.pool.validate("pool")?;
        if !self.table_prefix.is_empty() {
            validate_identifier("tablePrefix", &self.table_prefix)?;
        }
        if self.cleanup_interval_ms == Some(0) {
            return Err(StoreError::invalid_config("cleanup.intervalMs must be a positive integer"));
        }
        Ok(())
    }

    /// The SQL name of a table: prefix + logical name.
    pub fn table(&self, name: &str) -> String {
        format!("{}{name}", self.table_prefix)
    }
}

/// A connection string with its password masked, for error messages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (authority, tail) = rest.split_once('/').map_or((rest, ""), |(a, t)| (a, t));
    let Some((userinfo, host)) = authority.rsplit_once('@') else { return url.to_owned() };
    let user = userinfo.split(':').next().unwrap_or("");
    let masked = if userinfo.contains(':') { format!("{user}:***") } else { user.to_owned() };
    let slash = if rest.contains('/') { "/" } else { "" };
    format!("{scheme}://{masked}@{host}{slash}{tail}")
}

/// Replaces the password of `url` (if any) inside `text` (driver messages may quote it).
pub fn scrub_password(text: &str, url: &str) -> String {
    let password = url
        .split_once("://")
        .map(|(_, rest)| rest.split('/').next().unwrap_or(rest))
        .and_then(|authority| authority.rsplit_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, pw)| pw)
        .filter(|pw| !pw.is_empty());
    match password {
        Some(pw) => text.replace(pw, "***"),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redact_url("postgres://bob:s3cret@db:5432/wa"), "postgres://bob:***@db:5432/wa");
        assert_eq!(redact_url("mysql://root@127.0.0.1/test"), "mysql://root@127.0.0.1/test");
        assert_eq!(redact_url("postgres://db/wa"), "postgres://db/wa");
    }

    #[test]
    fn options_validate() {
        let mut o = ServerStoreOptions::new(PoolOptions::new("postgres://x"));
        assert!(o.validate().is_ok());
        o.table_prefix = "bad-prefix".into();
        assert!(o.validate().unwrap_err().message.contains("tablePrefix"));
        let mut p = PoolOptions::new("");
        assert!(p.validate("pool").is_err());
        p = PoolOptions::new("x");
        p.max_connections = 0;
        assert!(p.validate("pool").is_err());
    }
}
