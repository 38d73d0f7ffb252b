//! `SqliteOptions` and their validation. Everything is checked in
//! `SqliteBackend::new`, before any file is touched, and every error is
//! `STORE_INVALID_CONFIG` naming the offending field.

use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};

use crate::config::validate_identifier;
use crate::domain::CacheTtls;
use crate::error::{StoreError, StoreResult};

/// What `createStore({ backends: { name: { kind: 'sqlite', … } } })` configures.
#[derive(Debug, Clone, Default)]
pub struct SqliteOptions {
    /// A file path (created when missing) or `":memory:"`.
    pub path: String,
    /// `(pragma, value)` overrides; only the names in [`ALLOWED_PRAGMAS`].
    pub pragmas: Vec<(String, String)>,
    /// `(logical name, SQL name)` overrides; logical names are in [`TABLE_KEYS`].
    pub table_names: Vec<(String, String)>,
    pub cache_ttls: CacheTtls,
}

/// The path that selects one shared in-memory database.
pub const MEMORY_PATH: &str = ":memory:";

/// Pragmas a caller may set. Values are validated into a canonical form
/// before they reach SQL text (sqlx splices pragma values).
pub const ALLOWED_PRAGMAS: [&str; 7] =
    ["busy_timeout", "cache_size", "journal_mode", "mmap_size", "synchronous", "temp_store", "wal_autocheckpoint"];

/// Logical table names (the `tableNames` keys); each default SQL name is the key itself.
/// They follow zapo's SQLite table names so overrides carry over.
pub const TABLE_KEYS: [&str; 25] = [
    "wastore_migrations",
    "auth_credentials",
    "signal_meta",
    "signal_registration",
    "signal_signed_prekey",
    "signal_prekey",
    "signal_session",
    "signal_identity",
    "sender_keys",
    "sender_key_distribution",
    "appstate_sync_keys",
    "appstate_collection_versions",
    "appstate_collection_index_values",
    "retry_outbound_messages",
    "retry_inbound_counters",
    "mailbox_messages",
    "mailbox_threads",
    "mailbox_contacts",
    "group_participants_cache",
    "device_list_cache",
    "privacy_tokens",
    "message_secrets_cache",
    "chat_metadata_cache",
    "adapter_keys",
    "session_leases",
];

/// The resolved SQL name of every table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNames {
    pub migrations: String,
    pub auth: String,
    pub signal_meta: String,
    pub signal_registration: String,
    pub signal_signed_prekey: String,
    pub signal_prekey: String,
    pub signal_session: String,
    pub signal_identity: String,
    pub sender_keys: String,
    pub sender_key_distribution: String,
    pub appstate_sync_keys: String,
    pub appstate_collection_versions: String,
    pub appstate_collection_index_values: String,
    pub retry_outbound: String,
    pub retry_inbound: String,
    pub messages: String,
    pub threads: String,
    pub contacts: String,
    pub group_metadata: String,
    pub device_list: String,
    pub privacy_tokens: String,
    pub message_secrets: String,
    pub chat_metadata: String,
    pub adapter_keys: String,
    pub session_leases: String,
}

impl Default for TableNames {
    fn default() -> Self {
        let mut names = Self::empty();
        for key in TABLE_KEYS {
            if let Some(slot) = names.slot(key) {
                *slot = key.to_owned();
            }
        }
        names
    }
}

impl TableNames {
    fn empty() -> Self {
        let s = String::new;
        Self {
            migrations: s(),
            auth: s(),
            signal_meta: s(),
            signal_registration: s(),
            signal_signed_prekey: s(),
            signal_prekey: s(),
            signal_session: s(),
            signal_identity: s(),
            sender_keys: s(),
            sender_key_distribution: s(),
            appstate_sync_keys: s(),
            appstate_collection_versions: s(),
            appstate_collection_index_values: s(),
            retry_outbound: s(),
            retry_inbound: s(),
            messages: s(),
            threads: s(),
            contacts: s(),
            group_metadata: s(),
            device_list: s(),
            privacy_tokens: s(),
            message_secrets: s(),
            chat_metadata: s(),
            adapter_keys: s(),
            session_leases: s(),
        }
    }

    fn slot(&mut self, key: &str) -> Option<&mut String> {
        Some(match key {
            "wastore_migrations" => &mut self.migrations,
            "auth_credentials" => &mut self.auth,
            "signal_meta" => &mut self.signal_meta,
            "signal_registration" => &mut self.signal_registration,
            "signal_signed_prekey" => &mut self.signal_signed_prekey,
            "signal_prekey" => &mut self.signal_prekey,
            "signal_session" => &mut self.signal_session,
            "signal_identity" => &mut self.signal_identity,
            "sender_keys" => &mut self.sender_keys,
            "sender_key_distribution" => &mut self.sender_key_distribution,
            "appstate_sync_keys" => &mut self.appstate_sync_keys,
            "appstate_collection_versions" => &mut self.appstate_collection_versions,
            "appstate_collection_index_values" => &mut self.appstate_collection_index_values,
            "retry_outbound_messages" => &mut self.retry_outbound,
            "retry_inbound_counters" => &mut self.retry_inbound,
            "mailbox_messages" => &mut self.messages,
            "mailbox_threads" => &mut self.threads,
            "mailbox_contacts" => &mut self.contacts,
            "group_participants_cache" => &mut self.group_metadata,
            "device_list_cache" => &mut self.device_list,
            "privacy_tokens" => &mut self.privacy_tokens,
            "message_secrets_cache" => &mut self.message_secrets,
            "chat_metadata_cache" => &mut self.chat_metadata,
            "adapter_keys" => &mut self.adapter_keys,
            "session_leases" => &mut self.session_leases,
            _ => return None,
        })
    }

    /// Every SQL name, in [`TABLE_KEYS`] order.
    pub fn all(&self) -> [&str; 25] {
        [
            &self.migrations,
            &self.auth,
            &self.signal_meta,
            &self.signal_registration,
            &self.signal_signed_prekey,
            &self.signal_prekey,
            &self.signal_session,
            &self.signal_identity,
            &self.sender_keys,
            &self.sender_key_distribution,
            &self.appstate_sync_keys,
            &self.appstate_collection_versions,
            &self.appstate_collection_index_values,
            &self.retry_outbound,
            &self.retry_inbound,
            &self.messages,
            &self.threads,
            &self.contacts,
            &self.group_metadata,
            &self.device_list,
            &self.privacy_tokens,
            &self.message_secrets,
            &self.chat_metadata,
            &self.adapter_keys,
            &self.session_leases,
        ]
    }

    /// Defaults with `overrides` applied: known keys only, plain identifiers,
    /// and no two tables on the same (case-insensitive) name.
    pub fn resolve(overrides: &[(String, String)]) -> StoreResult<Self> {
        let mut names = Self::default();
        for (key, value) in overrides {
            let field = format!("tableNames.{key}");
            let slot = names.slot(key).ok_or_else(|| {
                StoreError::invalid_config(format!(
                    "{field} is not a known table; use one of {}",
                    TABLE_KEYS.join(", ")
                ))
            })?;
            let value = value.trim();
            validate_identifier(&field, value)?;
            // sqlite_* names are reserved by SQLite itself.
            if value.to_ascii_lowercase().starts_with("sqlite_") {
                return Err(StoreError::invalid_config(format!(
                    "{field} must not start with 'sqlite_', got {value:?}"
                )));
            }
            *slot = value.to_owned();
        }
        let all = names.all();
        for (i, name) in all.iter().enumerate() {
            if let Some(j) = all[..i].iter().position(|other| other.eq_ignore_ascii_case(name)) {
                return Err(StoreError::invalid_config(format!(
                    "tableNames.{} and tableNames.{} both name the table {name:?}",
                    TABLE_KEYS[j], TABLE_KEYS[i]
                )));
            }
        }
        Ok(names)
    }
}

/// Validated connection settings, applied on every connection through
/// `SqliteConnectOptions` (never ad hoc PRAGMA queries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pragmas {
    pub journal_mode: JournalMode,
    pub synchronous: Synchronous,
    pub busy_timeout_ms: u32,
    /// Canonical `(name, value)` for the pragmas sqlx has no typed setter for.
    pub extra: Vec<(&'static str, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalMode {
    Wal,
    Delete,
    Truncate,
    Persist,
    Memory,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    Off,
    Normal,
    Full,
    Extra,
}

impl Default for Pragmas {
    fn default() -> Self {
        Self {
            journal_mode: JournalMode::Wal,
            synchronous: Synchronous::Normal,
            busy_timeout_ms: 5_000,
            extra: Vec::new(),
        }
    }
}

impl Pragmas {
    pub fn resolve(overrides: &[(String, String)]) -> StoreResult<Self> {
        let mut pragmas = Self::default();
        for (raw_key, raw_value) in overrides {
            let key = raw_key.trim().to_ascii_lowercase();
            let field = format!("pragmas.{}", raw_key.trim());
            let value = raw_value.trim();
            let bad =
                |expected: &str| StoreError::invalid_config(format!("{field} must be {expected}, got {raw_value:?}"));
            match key.as_str() {
                "journal_mode" => {
                    pragmas.journal_mode = match value.to_ascii_uppercase().as_str() {
                        "WAL" => JournalMode::Wal,
                        "DELETE" => JournalMode::Delete,
                        "TRUNCATE" => JournalMode::Truncate,
                        "PERSIST" => JournalMode::Persist,
                        "MEMORY" => JournalMode::Memory,
                        "OFF" => JournalMode::Off,
                        _ => return Err(bad("one of WAL, DELETE, TRUNCATE, PERSIST, MEMORY, OFF")),
                    }
                }
                "synchronous" => {
                    pragmas.synchronous = match value.to_ascii_uppercase().as_str() {
                        "OFF" | "0" => Synchronous::Off,
                        "NORMAL" | "1" => Synchronous::Normal,
                        "FULL" | "2" => Synchronous::Full,
                        "EXTRA" | "3" => Synchronous::Extra,
                        _ => return Err(bad("one of OFF, NORMAL, FULL, EXTRA (or 0-3)")),
                    }
                }
                "busy_timeout" => {
                    pragmas.busy_timeout_ms = parse_int(value, 0, i32::MAX as i64)
                        .ok_or_else(|| bad("an integer number of milliseconds from 0 to 2147483647"))?
                        as u32;
                }
                "cache_size" => {
                    let n = parse_int(value, i32::MIN as i64, i32::MAX as i64)
                        .ok_or_else(|| bad("an integer (pages, or KiB when negative)"))?;
                    pragmas.set_extra("cache_size", n.to_string());
                }
                "temp_store" => {
                    let v = match value.to_ascii_uppercase().as_str() {
                        "DEFAULT" | "0" => "DEFAULT",
                        "FILE" | "1" => "FILE",
                        "MEMORY" | "2" => "MEMORY",
                        _ => return Err(bad("one of DEFAULT, FILE, MEMORY (or 0-2)")),
                    };
                    pragmas.set_extra("temp_store", v.to_owned());
                }
                "mmap_size" => {
                    let n =
                        parse_int(value, 0, i64::MAX).ok_or_else(|| bad("a non-negative integer number of bytes"))?;
                    pragmas.set_extra("mmap_size", n.to_string());
                }
                "wal_autocheckpoint" => {
                    let n = parse_int(value, 0, i32::MAX as i64)
                        .ok_or_else(|| bad("a non-negative integer number of pages"))?;
                    pragmas.set_extra("wal_autocheckpoint", n.to_string());
                }
                _ => {
                    return Err(StoreError::invalid_config(format!(
                        "{field} is not an allowed pragma; use one of {}",
                        ALLOWED_PRAGMAS.join(", ")
                    )))
                }
            }
        }
        Ok(pragmas)
    }

    fn set_extra(&mut self, name: &'static str, value: String) {
        self.extra.retain(|(n, _)| *n != name);
        self.extra.push((name, value));
    }

    /// Applies the settings. `writer` is false for the WAL reader pool, which
    /// must not try to change the journal mode.
    pub fn apply(&self, mut options: SqliteConnectOptions, writer: bool) -> SqliteConnectOptions {
        if writer {
            options = options.journal_mode(match self.journal_mode {
                JournalMode::Wal => SqliteJournalMode::Wal,
                JournalMode::Delete => SqliteJournalMode::Delete,
                JournalMode::Truncate => SqliteJournalMode::Truncate,
                JournalMode::Persist => SqliteJournalMode::Persist,
                JournalMode::Memory => SqliteJournalMode::Memory,
                JournalMode::Off => SqliteJournalMode::Off,
            });
        }
        options = options
            .synchronous(match self.synchronous {
                Synchronous::Off => SqliteSynchronous::Off,
                Synchronous::Normal => SqliteSynchronous::Normal,
                Synchronous::Full => SqliteSynchronous::Full,
                Synchronous::Extra => SqliteSynchronous::Extra,
            })
            .busy_timeout(Duration::from_millis(u64::from(self.busy_timeout_ms)))
            // No foreign keys in the schema; skip the per-statement checks.
            .foreign_keys(false);
        for (name, value) in &self.extra {
            options = options.pragma(*name, value.clone());
        }
        options
    }
}

/// A plain decimal integer (optional leading `-`) within `[min, max]`.
fn parse_int(value: &str, min: i64, max: i64) -> Option<i64> {
    let digits = value.strip_prefix('-').unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse::<i64>().ok().filter(|n| (min..=max).contains(n))
}

/// Everything `SqliteBackend` needs, validated.
#[derive(Debug, Clone)]
pub struct ResolvedOptions {
    pub path: String,
    pub in_memory: bool,
    pub pragmas: Pragmas,
    pub tables: TableNames,
    pub cache_ttls: CacheTtls,
}

impl ResolvedOptions {
    pub fn resolve(options: SqliteOptions) -> StoreResult<Self> {
        let path = options.path;
        if path.trim().is_empty() {
            return Err(StoreError::invalid_config("path must be a file path or \":memory:\""));
        }
        if path.contains('\0') {
            return Err(StoreError::invalid_config("path must not contain NUL characters"));
        }
        let ttls = options.cache_ttls;
        for (name, value) in [
            ("retryMs", ttls.retry_ms),
            ("groupMetadataMs", ttls.group_metadata_ms),
            ("chatMetadataMs", ttls.chat_metadata_ms),
            ("deviceListMs", ttls.device_list_ms),
            ("messageSecretMs", ttls.message_secret_ms),
        ] {
            if value <= 0 {
                return Err(StoreError::invalid_config(format!(
                    "cacheTtlMs.{name} must be a positive integer, got {value}"
                )));
            }
        }
        Ok(Self {
            in_memory: path == MEMORY_PATH,
            path,
            pragmas: Pragmas::resolve(&options.pragmas)?,
            tables: TableNames::resolve(&options.table_names)?,
            cache_ttls: ttls,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn pragmas_are_allow_listed_and_canonical() {
        let p = Pragmas::resolve(&pairs(&[("Synchronous", " full "), ("cache_size", "-2000"), ("temp_store", "2")]))
            .unwrap();
        assert_eq!(p.synchronous, Synchronous::Full);
        assert_eq!(p.extra, vec![("cache_size", "-2000".to_owned()), ("temp_store", "MEMORY".to_owned())]);
        let err = Pragmas::resolve(&pairs(&[("synchronous", "normal; DROP TABLE x")])).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidConfig);
        assert!(err.message.contains("pragmas.synchronous"), "{}", err.message);
        let err = Pragmas::resolve(&pairs(&[("locking_mode", "EXCLUSIVE")])).unwrap_err();
        assert!(err.message.contains("pragmas.locking_mode") && err.message.contains("busy_timeout"));
        assert!(Pragmas::resolve(&pairs(&[("busy_timeout", "1.5")])).is_err());
        assert!(Pragmas::resolve(&pairs(&[("busy_timeout", "-1")])).is_err());
        assert!(Pragmas::resolve(&pairs(&[("mmap_size", "1e9")])).is_err());
        assert_eq!(Pragmas::resolve(&pairs(&[("busy_timeout", "250")])).unwrap().busy_timeout_ms, 250);
    }

    #[test]
    fn table_names_validate() {
        let t = TableNames::resolve(&pairs(&[("signal_session", "my_sessions")])).unwrap();
        assert_eq!(t.signal_session, "my_sessions");
        assert_eq!(t.auth, "auth_credentials");
        let err = TableNames::resolve(&pairs(&[("sessions", "x")])).unwrap_err();
        assert!(err.message.contains("tableNames.sessions") && err.message.contains("signal_session"));
        let err = TableNames::resolve(&pairs(&[("signal_session", "x; DROP TABLE y")])).unwrap_err();
        assert!(err.message.contains("tableNames.signal_session"));
        let err = TableNames::resolve(&pairs(&[("signal_session", "AUTH_credentials")])).unwrap_err();
        assert!(err.message.contains("tableNames.auth_credentials"), "{}", err.message);
        assert!(TableNames::resolve(&pairs(&[("signal_session", "sqlite_x")])).is_err());
    }
}
