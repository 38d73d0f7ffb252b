//! `RedisOptions` and their validation. Everything is checked in
//! `RedisBackend::new`, before anything connects, and every error is
//! `STORE_INVALID_CONFIG` naming the offending field.

use redis::{ConnectionAddr, ConnectionInfo, IntoConnectionInfo, RedisConnectionInfo};

use crate::backend::pool::redact_url;
use crate::config::positive_integer;
use crate::domain::CacheTtls;
use crate::error::{StoreError, StoreResult};

/// Where the server is: a `redis://` URL, or zapo's (ioredis') `redis: { host, port, … }` parts.
#[derive(Clone, PartialEq, Eq)]
pub enum RedisServer {
    Url(String),
    Parts {
        host: String,
        port: u16,
        username: Option<String>,
        password: Option<String>,
        db: i64,
    },
}

impl std::fmt::Debug for RedisServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RedisServer::Url(url) => f.debug_tuple("Url").field(&redact_url(url)).finish(),
            RedisServer::Parts {
                host,
                port,
                username,
                db,
                ..
            } => f
                .debug_struct("Parts")
                .field("host", host)
                .field("port", port)
                .field("username", username)
                .field("db", db)
                .finish_non_exhaustive(),
        }
    }
}

/// Opt-in sliding expiry of the persistent domains (zapo's `storeTtlMs`), in
/// milliseconds. Crypto domains refresh on read and write, data domains on
/// write only; `auth` never expires.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreTtls {
    pub pre_key_ms: Option<i64>,
    pub session_ms: Option<i64>,
    pub identity_ms: Option<i64>,
    pub signal_ms: Option<i64>,
    pub sender_key_ms: Option<i64>,
    pub app_state_ms: Option<i64>,
    pub messages_ms: Option<i64>,
    pub threads_ms: Option<i64>,
    pub contacts_ms: Option<i64>,
    pub privacy_token_ms: Option<i64>,
}

/// The JS names of the `storeTtlMs` fields.
pub const STORE_TTL_NAMES: [&str; 10] = [
    "preKeyMs",
    "sessionMs",
    "identityMs",
    "signalMs",
    "senderKeyMs",
    "appStateMs",
    "messagesMs",
    "threadsMs",
    "contactsMs",
    "privacyTokenMs",
];

impl StoreTtls {
    /// Applies `(name, value)` pairs from JS; unknown names and non-positive values are errors.
    pub fn with_overrides(pairs: &[(String, f64)], field: &str) -> StoreResult<Self> {
        let mut ttls = Self::default();
        for (name, value) in pairs {
            let path = format!("{field}.{name}");
            let slot = match name.as_str() {
                "preKeyMs" => &mut ttls.pre_key_ms,
                "sessionMs" => &mut ttls.session_ms,
                "identityMs" => &mut ttls.identity_ms,
                "signalMs" => &mut ttls.signal_ms,
                "senderKeyMs" => &mut ttls.sender_key_ms,
                "appStateMs" => &mut ttls.app_state_ms,
                "messagesMs" => &mut ttls.messages_ms,
                "threadsMs" => &mut ttls.threads_ms,
                "contactsMs" => &mut ttls.contacts_ms,
                "privacyTokenMs" => &mut ttls.privacy_token_ms,
                _ => {
                    return Err(StoreError::invalid_config(format!(
                        "{path} is not a known store TTL; use one of {} (auth never expires)",
                        STORE_TTL_NAMES.join(", ")
                    )))
                }
            };
            *slot = Some(positive_integer(&path, *value)?);
        }
        Ok(ttls)
    }
}

/// Options of `createRedisStore`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisOptions {
    pub server: RedisServer,
    /// Prepended to every key (default `wastore:`), `[A-Za-z0-9_:]*` as zapo allows.
    pub key_prefix: String,
    pub cache_ttls: CacheTtls,
    pub store_ttls: StoreTtls,
    /// How long opening the connection may take (default 10 s).
    pub connect_timeout_ms: u64,
    /// How long one command (or pipeline, or script) may take (default 10 s): nothing hangs forever.
    pub command_timeout_ms: u64,
}

pub const DEFAULT_KEY_PREFIX: &str = "wastore:";
/// Longest accepted key prefix; keys stay short enough to read in `redis-cli`.
pub const MAX_KEY_PREFIX_LEN: usize = 128;

impl RedisOptions {
    pub fn new(server: RedisServer) -> Self {
        Self {
            server,
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            cache_ttls: CacheTtls::default(),
            store_ttls: StoreTtls::default(),
            connect_timeout_ms: 10_000,
            command_timeout_ms: 10_000,
        }
    }

    pub fn url(url: impl Into<String>) -> Self {
        Self::new(RedisServer::Url(url.into()))
    }

    /// Validates everything and resolves the server into what the driver connects to.
    pub fn connection_info(&self) -> StoreResult<ConnectionInfo> {
        validate_key_prefix(&self.key_prefix)?;
        if self.connect_timeout_ms == 0 || self.command_timeout_ms == 0 {
            return Err(StoreError::invalid_config(
                "redis.connectTimeout and redis.commandTimeout must be positive",
            ));
        }
        match &self.server {
            RedisServer::Url(url) => parse_url(url),
            RedisServer::Parts {
                host,
                port,
                username,
                password,
                db,
            } => {
                if host.trim().is_empty() {
                    return Err(StoreError::invalid_config("redis.host must be a host name or address"));
                }
                check_db("redis.db", *db)?;
                let mut settings = RedisConnectionInfo::default().set_db(*db);
                if let Some(user) = username.as_deref().filter(|u| !u.is_empty()) {
                    settings = settings.set_username(user);
                }
                if let Some(pw) = password.as_deref().filter(|p| !p.is_empty()) {
                    settings = settings.set_password(pw);
                }
                let info = ConnectionAddr::Tcp(host.trim().to_owned(), *port)
                    .into_connection_info()
                    .map_err(|err| StoreError::invalid_config(format!("redis.host is not usable: {err}")))?;
                Ok(info.set_redis_settings(settings))
            }
        }
    }
}

/// zapo's rule (`assertSafeKeyPrefix`): letters, digits, `_` and `:` only.
pub fn validate_key_prefix(prefix: &str) -> StoreResult<()> {
    if prefix.len() > MAX_KEY_PREFIX_LEN
        || !prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
    {
        return Err(StoreError::invalid_config(format!(
            "keyPrefix must match [A-Za-z0-9_:]* (at most {MAX_KEY_PREFIX_LEN} characters), got {prefix:?}"
        )));
    }
    Ok(())
}

fn check_db(field: &str, db: i64) -> StoreResult<()> {
    if !(0..=i64::from(u16::MAX)).contains(&db) {
        return Err(StoreError::invalid_config(format!(
            "{field} must be a database number (0 or more), got {db}"
        )));
    }
    Ok(())
}

fn parse_url(raw: &str) -> StoreResult<ConnectionInfo> {
    let url = raw.trim();
    let shown = redact_url(url);
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("redis") => {}
        Some("rediss") => {
            return Err(StoreError::invalid_config(format!(
                "url {shown}: rediss:// (TLS) is not supported by this build of wastore; \
                 reach Redis over a private network or a local TLS-terminating proxy"
            )))
        }
        _ => {
            return Err(StoreError::invalid_config(format!(
                "url must be a redis:// URL (redis://[user[:password]@]host[:port][/db]), got {shown}"
            )))
        }
    }
    // redis-rs' parse errors carry no URL text, but only their kind is shown anyway.
    let info = url.into_connection_info().map_err(|err| {
        StoreError::invalid_config(format!("url is not a valid Redis URL ({shown}): {:?}", err.kind()))
    })?;
    check_db("url database", info.redis_settings().db())?;
    Ok(info)
}

/// `host:port` of a connection, for messages (never the password).
pub fn endpoint(info: &ConnectionInfo) -> String {
    match info.addr() {
        ConnectionAddr::Tcp(host, port) => format!("{host}:{port}"),
        ConnectionAddr::TcpTls { host, port, .. } => format!("{host}:{port}"),
        ConnectionAddr::Unix(path) => path.display().to_string(),
        _ => "the redis server".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn prefixes_follow_zapos_rule() {
        for ok in ["", "wastore:", "t1", "a_b:c:"] {
            assert!(validate_key_prefix(ok).is_ok(), "{ok}");
        }
        for bad in ["a-b", "a b", "x*", "a{b}", "ü", &"p".repeat(MAX_KEY_PREFIX_LEN + 1)] {
            let err = validate_key_prefix(bad).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidConfig);
            assert!(err.message.contains("keyPrefix"), "{}", err.message);
        }
    }

    #[test]
    fn urls_are_checked_without_leaking_passwords() {
        let info = RedisOptions::url("redis://bob:pw@127.0.0.1:6380/3")
            .connection_info()
            .unwrap();
        assert_eq!(endpoint(&info), "127.0.0.1:6380");
        assert_eq!(info.redis_settings().db(), 3);
        for bad in [
            "rediss://u:s3cretpw@h:6379",
            "http://u:s3cretpw@h",
            "redis://u:s3cretpw@h:notaport",
            "nothing",
        ] {
            let err = RedisOptions::url(bad).connection_info().unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidConfig, "{bad}");
            assert!(err.message.contains("url"), "{}", err.message);
            assert!(!err.message.contains("s3cretpw"), "{}", err.message);
        }
        assert!(RedisOptions::url("rediss://h")
            .connection_info()
            .unwrap_err()
            .message
            .contains("TLS"));
    }

    #[test]
    fn parts_and_timeouts_are_checked() {
        let parts = |host: &str, db| RedisServer::Parts {
            host: host.into(),
            port: 6379,
            username: None,
            password: Some("pw".into()),
            db,
        };
        assert_eq!(
            endpoint(&RedisOptions::new(parts("db.local", 0)).connection_info().unwrap()),
            "db.local:6379"
        );
        assert!(RedisOptions::new(parts(" ", 0))
            .connection_info()
            .unwrap_err()
            .message
            .contains("redis.host"));
        assert!(RedisOptions::new(parts("h", -1))
            .connection_info()
            .unwrap_err()
            .message
            .contains("redis.db"));
        let mut o = RedisOptions::url("redis://h");
        o.command_timeout_ms = 0;
        assert_eq!(o.connection_info().unwrap_err().code, ErrorCode::InvalidConfig);
        assert!(
            !format!("{:?}", RedisOptions::new(parts("h", 0))).contains("pw"),
            "Debug hides the password"
        );
    }

    #[test]
    fn store_ttls_name_their_field() {
        let t = StoreTtls::with_overrides(&[("sessionMs".into(), 5.0)], "storeTtlMs").unwrap();
        assert_eq!(t.session_ms, Some(5));
        let err = StoreTtls::with_overrides(&[("authMs".into(), 5.0)], "storeTtlMs").unwrap_err();
        assert!(err.message.contains("storeTtlMs.authMs"), "{}", err.message);
        assert!(StoreTtls::with_overrides(&[("threadsMs".into(), 0.0)], "storeTtlMs").is_err());
    }
}
