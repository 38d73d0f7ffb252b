//! `MongoOptions` and their validation. `MongoBackend::new` checks them and
//! parses the URI before anything connects; every error is
//! `STORE_INVALID_CONFIG` naming the field, with the password masked.

use mongodb::options::{ConnectionString, HostInfo};

use crate::backend::pool::{redact_url, scrub_password};
use crate::domain::CacheTtls;
use crate::error::{StoreError, StoreResult};

/// What `createMongoStore({ uri, database, collectionPrefix, cacheTtlMs, options })` configures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MongoOptions {
    /// `mongodb://user:password@host:27017[,host2…]/[database][?options]`.
    pub uri: String,
    /// The database; `None` takes the one named in the URI path.
    pub database: Option<String>,
    /// Prepended to every collection name (default `wastore_`).
    pub collection_prefix: String,
    pub cache_ttls: CacheTtls,
    /// How long a call waits for a usable server (`serverSelectionTimeoutMS`, default 10 s, or the URI's).
    pub server_selection_timeout_ms: Option<u64>,
    /// How long opening one connection may take (`connectTimeoutMS`, default 10 s, or the URI's).
    pub connect_timeout_ms: Option<u64>,
    /// Upper bound of one store call, server work included (`timeoutMS`, default 30 s).
    pub operation_timeout_ms: u64,
    /// Largest / smallest number of pooled connections (`maxPoolSize` default 10, `minPoolSize` 0, or the URI's).
    pub max_pool_size: Option<u32>,
    pub min_pool_size: Option<u32>,
    /// Idle connections close after this long (`maxIdleTimeMS`; the URI's or never).
    pub max_idle_time_ms: Option<u64>,
    pub app_name: Option<String>,
    /// Whether cache collections get a TTL index on `expires_at` (default true).
    pub ttl_indexes: bool,
}

pub const DEFAULT_COLLECTION_PREFIX: &str = "wastore_";
pub const DEFAULT_SERVER_SELECTION_TIMEOUT_MS: u64 = 10_000;
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 10_000;
pub const DEFAULT_OPERATION_TIMEOUT_MS: u64 = 30_000;

impl MongoOptions {
    pub fn new(uri: impl Into<String>, database: Option<String>) -> Self {
        Self {
            uri: uri.into(),
            database,
            collection_prefix: DEFAULT_COLLECTION_PREFIX.to_owned(),
            cache_ttls: CacheTtls::default(),
            server_selection_timeout_ms: None,
            connect_timeout_ms: None,
            operation_timeout_ms: DEFAULT_OPERATION_TIMEOUT_MS,
            max_pool_size: None,
            min_pool_size: None,
            max_idle_time_ms: None,
            app_name: None,
            ttl_indexes: true,
        }
    }

    /// Validates every field and parses the URI (no I/O); returns the parsed
    /// URI and the database name to use.
    pub fn validate(&self) -> StoreResult<(ConnectionString, String)> {
        let uri = self.uri.trim();
        if uri.is_empty() {
            return Err(StoreError::invalid_config("uri must be a mongodb:// connection string"));
        }
        let redacted = redact_url(uri);
        if uri.to_ascii_lowercase().starts_with("mongodb+srv://") {
            return Err(StoreError::invalid_config(format!(
                "uri: mongodb+srv:// (DNS seed lists) is not supported by this build; list the hosts in a mongodb:// URI instead, got {redacted}"
            )));
        }
        if !uri.starts_with("mongodb://") {
            return Err(StoreError::invalid_config(format!("uri must start with mongodb://, got {redacted}")));
        }
        let parsed = ConnectionString::parse(uri).map_err(|err| {
            StoreError::invalid_config(format!(
                "uri is not a valid MongoDB connection string ({redacted}): {}",
                scrub_password(&err.to_string(), uri)
            ))
        })?;
        if matches!(parsed.host_info, HostInfo::DnsRecord(_)) {
            return Err(StoreError::invalid_config(format!("uri: DNS seed lists are not supported, got {redacted}")));
        }
        let database = match (&self.database, &parsed.default_database) {
            (Some(db), _) => db.clone(),
            (None, Some(db)) => db.clone(),
            (None, None) => {
                return Err(StoreError::invalid_config(format!(
                    "database is required (or name it in the URI path, e.g. mongodb://host:27017/wa), got {redacted}"
                )))
            }
        };
        validate_database_name(&database)?;
        validate_collection_prefix(&self.collection_prefix)?;
        if self.operation_timeout_ms == 0 {
            return Err(StoreError::invalid_config("options.timeoutMS must be a positive integer"));
        }
        if let (Some(min), Some(max)) = (self.min_pool_size, self.max_pool_size) {
            if min > max {
                return Err(StoreError::invalid_config("options.minPoolSize must not exceed options.maxPoolSize"));
            }
        }
        Ok((parsed, database))
    }
}

/// MongoDB database names: non-empty, at most 63 bytes, none of `/\. "$*<>:|?` or NUL.
pub fn validate_database_name(name: &str) -> StoreResult<()> {
    const FORBIDDEN: &[char] = &['/', '\\', '.', ' ', '"', '$', '*', '<', '>', ':', '|', '?', '\0'];
    if name.is_empty() || name.len() > 63 || name.contains(FORBIDDEN) {
        return Err(StoreError::invalid_config(format!(
            "database must be a MongoDB database name (1 to 63 bytes, none of / \\ . space \" $ * < > : | ? or NUL), got {name:?}"
        )));
    }
    Ok(())
}

/// Collection prefixes: empty, or letters, digits and `_` (not starting with a
/// digit), at most 48 characters, so every derived name is a plain, dot-free
/// collection name on any server.
pub fn validate_collection_prefix(prefix: &str) -> StoreResult<()> {
    let mut chars = prefix.chars();
    let ok = match chars.next() {
        None => true,
        Some(first) => {
            (first.is_ascii_alphabetic() || first == '_')
                && prefix.len() <= 48
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
    };
    if !ok {
        return Err(StoreError::invalid_config(format!(
            "collectionPrefix must be letters, digits or '_' (not starting with a digit), at most 48 characters, got {prefix:?}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn check(o: &MongoOptions) -> Result<String, String> {
        o.validate().map(|(_, db)| db).map_err(|e| {
            assert_eq!(e.code, ErrorCode::InvalidConfig);
            e.message
        })
    }

    #[test]
    fn uri_database_and_prefix_are_validated() {
        assert_eq!(check(&MongoOptions::new("mongodb://127.0.0.1:27017/wa", None)), Ok("wa".into()));
        assert_eq!(check(&MongoOptions::new("mongodb://h/wa", Some("other".into()))), Ok("other".into()));
        assert!(check(&MongoOptions::new("mongodb://h", None)).unwrap_err().contains("database is required"));
        assert!(check(&MongoOptions::new("", None)).unwrap_err().contains("uri"));
        assert!(check(&MongoOptions::new("postgres://h/db", None)).unwrap_err().contains("mongodb://"));
        let srv = check(&MongoOptions::new("mongodb+srv://bob:hunter2@cluster.example/wa", None)).unwrap_err();
        assert!(srv.contains("mongodb+srv") && !srv.contains("hunter2"), "{srv}");
        let bad = check(&MongoOptions::new("mongodb://bob:hunter2@h:notaport/wa", None)).unwrap_err();
        assert!(bad.contains("uri") && !bad.contains("hunter2"), "{bad}");
        for db in ["", "a.b", "a b", "x$y", &"d".repeat(64)] {
            assert!(check(&MongoOptions::new("mongodb://h", Some(db.to_owned()))).unwrap_err().contains("database"));
        }
        for prefix in ["1a", "a-b", "a.b", "a$", &"p".repeat(49)] {
            let mut o = MongoOptions::new("mongodb://h/wa", None);
            o.collection_prefix = prefix.to_owned();
            assert!(check(&o).unwrap_err().contains("collectionPrefix"), "{prefix}");
        }
        let mut o = MongoOptions::new("mongodb://h/wa", None);
        o.collection_prefix = String::new();
        assert!(check(&o).is_ok());
        o.min_pool_size = Some(5);
        o.max_pool_size = Some(2);
        assert!(check(&o).unwrap_err().contains("minPoolSize"));
    }
}
