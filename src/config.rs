//! Option validation shared by `createStore` and the backend factories.
//! Every error is `STORE_INVALID_CONFIG` and names the offending field.

use std::collections::HashMap;

use crate::domain::{CacheTtls, Domain};
use crate::error::{StoreError, StoreResult};

/// Per-session entry caps of the memory provider (zapo's `memory.limits`).
/// Eviction is oldest-written first; reads do not refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryLimits {
    pub app_state_sync_keys: usize,
    pub app_state_collection_entries: usize,
    pub signal_pre_keys: usize,
    pub signal_sessions: usize,
    pub signal_remote_identities: usize,
    pub sender_keys: usize,
    pub sender_distributions: usize,
    pub group_metadata_groups: usize,
    pub chat_metadata_chats: usize,
    pub device_list_users: usize,
    pub messages: usize,
    pub threads: usize,
    pub contacts: usize,
    pub message_secrets: usize,
    pub privacy_tokens: usize,
    pub retry_outbound_messages: usize,
    pub retry_inbound_counters: usize,
    /// The adapters' generic key domain (not one of zapo's limits).
    pub adapter_keys: usize,
}

impl Default for MemoryLimits {
    fn default() -> Self {
        Self {
            app_state_sync_keys: 4_096,
            app_state_collection_entries: 50_000,
            signal_pre_keys: 4_096,
            signal_sessions: 8_192,
            signal_remote_identities: 8_192,
            sender_keys: 8_192,
            sender_distributions: 8_192,
            group_metadata_groups: 4_096,
            chat_metadata_chats: 2_048,
            device_list_users: 16_384,
            messages: 50_000,
            threads: 10_000,
            contacts: 20_000,
            message_secrets: 10_000,
            privacy_tokens: 10_000,
            retry_outbound_messages: 10_000,
            retry_inbound_counters: 20_000,
            adapter_keys: 100_000,
        }
    }
}

impl MemoryLimits {
    /// The JS names of the limits (`memory.limits.<name>`).
    pub const NAMES: [&'static str; 18] = [
        "appStateSyncKeys",
        "appStateCollectionEntries",
        "signalPreKeys",
        "signalSessions",
        "signalRemoteIdentities",
        "senderKeys",
        "senderDistributions",
        "groupMetadataGroups",
        "chatMetadataChats",
        "deviceListUsers",
        "messages",
        "threads",
        "contacts",
        "messageSecrets",
        "privacyTokens",
        "retryOutboundMessages",
        "retryInboundCounters",
        "adapterKeys",
    ];

    pub fn slot(&mut self, name: &str) -> Option<&mut usize> {
        Some(match name {
            "appStateSyncKeys" => &mut self.app_state_sync_keys,
            "appStateCollectionEntries" => &mut self.app_state_collection_entries,
            "signalPreKeys" => &mut self.signal_pre_keys,
            "signalSessions" => &mut self.signal_sessions,
            "signalRemoteIdentities" => &mut self.signal_remote_identities,
            "senderKeys" => &mut self.sender_keys,
            "senderDistributions" => &mut self.sender_distributions,
            "groupMetadataGroups" => &mut self.group_metadata_groups,
            "chatMetadataChats" => &mut self.chat_metadata_chats,
            "deviceListUsers" => &mut self.device_list_users,
            "messages" => &mut self.messages,
            "threads" => &mut self.threads,
            "contacts" => &mut self.contacts,
            "messageSecrets" => &mut self.message_secrets,
            "privacyTokens" => &mut self.privacy_tokens,
            "retryOutboundMessages" => &mut self.retry_outbound_messages,
            "retryInboundCounters" => &mut self.retry_inbound_counters,
            "adapterKeys" => &mut self.adapter_keys,
            _ => return None,
        })
    }

    /// Applies `(name, value)` pairs from JS; unknown names and non-positive values are errors.
    pub fn with_overrides(pairs: &[(String, f64)], field: &str) -> StoreResult<Self> {
        let mut limits = Self::default();
        for (name, value) in pairs {
            let path = format!("{field}.{name}");
            let slot = limits.slot(name).ok_or_else(|| {
                StoreError::invalid_config(format!("{path} is not a known limit; use one of {}", Self::NAMES.join(", ")))
            })?;
            *slot = positive_integer(&path, *value)? as usize;
        }
        Ok(limits)
    }
}

/// The JS names of the TTL fields (`cacheTtlMs.<name>`), in [`CacheTtls`] order.
pub const CACHE_TTL_NAMES: [&str; 5] = ["retryMs", "groupMetadataMs", "chatMetadataMs", "deviceListMs", "messageSecretMs"];

/// Applies `(name, value)` pairs over zapo's default TTLs.
pub fn cache_ttls_with_overrides(pairs: &[(String, f64)], field: &str) -> StoreResult<CacheTtls> {
    let mut ttls = CacheTtls::default();
    for (name, value) in pairs {
        let path = format!("{field}.{name}");
        let slot = match name.as_str() {
            "retryMs" => &mut ttls.retry_ms,
            "groupMetadataMs" => &mut ttls.group_metadata_ms,
            "chatMetadataMs" => &mut ttls.chat_metadata_ms,
            "deviceListMs" => &mut ttls.device_list_ms,
            "messageSecretMs" => &mut ttls.message_secret_ms,
            _ => {
                return Err(StoreError::invalid_config(format!(
                    "{path} is not a known cache TTL; use one of {}",
                    CACHE_TTL_NAMES.join(", ")
                )))
            }
        };
        *slot = positive_integer(&path, *value)?;
    }
    Ok(ttls)
}

/// A positive safe integer, or an error naming `field`.
pub fn positive_integer(field: &str, value: f64) -> StoreResult<i64> {
    if value.is_finite() && value.fract() == 0.0 && value >= 1.0 && value <= crate::codec::MAX_SAFE_INTEGER as f64 {
        Ok(value as i64)
    } else {
        Err(StoreError::invalid_config(format!("{field} must be a positive integer, got {value}")))
    }
}

/// Where one domain of a session lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provider {
    Memory,
    /// No-op store (mailbox domains and caches only).
    None,
    Backend(String),
}

/// zapo's provider routing, validated up front:
/// - no backends: every domain in memory, mailbox domains `'none'`;
/// - with backends: every persistent domain must be named in `providers`;
/// - `'memory'` everywhere, `'none'` on mailbox and cache domains (elsewhere it means memory);
/// - a name that is neither reserved nor a configured backend is an error.
pub fn resolve_providers(
    backend_names: &[String],
    providers: &HashMap<String, String>,
    cache_providers: &HashMap<String, String>,
) -> StoreResult<HashMap<Domain, Provider>> {
    for name in backend_names {
        if name == "memory" || name == "none" {
            return Err(StoreError::invalid_config(format!(
                "backends.{name}: '{name}' is reserved; give the backend another name"
            )));
        }
    }
    for (key, kinds) in [(providers, "providers"), (cache_providers, "cacheProviders")] {
        for domain_name in key.keys() {
            let known = Domain::from_name(domain_name).is_some_and(|d| d.is_cache() == (kinds == "cacheProviders"));
            if !known {
                let list: Vec<&str> = if kinds == "providers" {
                    Domain::PERSISTENT.iter().chain(Domain::ADAPTER.iter()).map(|d| d.name()).collect()
                } else {
                    Domain::CACHES.iter().map(|d| d.name()).collect()
                };
                return Err(StoreError::invalid_config(format!(
                    "{kinds}.{domain_name} is not a domain; use one of {}",
                    list.join(", ")
                )));
            }
        }
    }
    if !backend_names.is_empty() {
        let missing: Vec<String> = Domain::PERSISTENT
            .iter()
            .filter(|d| !providers.contains_key(d.name()))
            .map(|d| format!("providers.{}", d.name()))
            .collect();
        if !missing.is_empty() {
            return Err(StoreError::invalid_config(format!(
                "when backends is set, every persistent domain must be assigned in providers. Missing: {}. \
                 Pass a backend name to persist, 'memory' to keep it in memory, or 'none' to skip a mailbox domain \
                 (messages/threads/contacts).",
                missing.join(", ")
            )));
        }
    }
    let mut out = HashMap::new();
    // `session` comes before the adapter domains, which follow it when unset.
    for domain in Domain::PERSISTENT.iter().chain(Domain::CACHES.iter()).chain(Domain::ADAPTER.iter()) {
        let (map, kind) = if domain.is_cache() { (cache_providers, "cacheProviders") } else { (providers, "providers") };
        let provider = match map.get(domain.name()).map(String::as_str) {
            // So a zapo config that persists Signal state persists the adapters' keys with it.
            None if Domain::ADAPTER.contains(domain) => out.get(&Domain::Session).cloned().unwrap_or(Provider::Memory),
            None if domain.is_mailbox() => Provider::None,
            None | Some("memory") => Provider::Memory,
            Some("none") if domain.is_mailbox() || domain.is_cache() => Provider::None,
            Some("none") => Provider::Memory,
            Some(name) if backend_names.iter().any(|b| b == name) => Provider::Backend(name.to_owned()),
            Some(name) => {
                let known = if backend_names.is_empty() { "none configured".to_owned() } else { backend_names.join(", ") };
                return Err(StoreError::invalid_config(format!(
                    "{kind}.{}: unknown backend '{name}' (backends: {known}; or 'memory'/'none')",
                    domain.name()
                )));
            }
        };
        out.insert(*domain, provider);
    }
    Ok(out)
}

/// A SQL identifier we splice into statements (table names, prefixes):
/// ASCII letter or `_` first, then letters, digits or `_`, at most 48 characters.
pub fn validate_identifier(field: &str, name: &str) -> StoreResult<()> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if first_ok && name.len() <= 48 && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(())
    } else {
        Err(StoreError::invalid_config(format!(
            "{field} must be a plain SQL identifier (letters, digits, '_', not starting with a digit, at most 48 characters), got {name:?}"
        )))
    }
}

/// The id a session is stored under: trimmed, non-empty, at most 512 bytes, no NUL.
pub fn normalize_session_id(raw: &str) -> StoreResult<String> {
    let id = raw.trim();
    if id.is_empty() {
        return Err(StoreError::invalid_argument("sessionId must be a non-empty string"));
    }
    if id.len() > 512 {
        return Err(StoreError::invalid_argument(format!("sessionId is {} bytes long; the limit is 512", id.len())));
    }
    if id.contains('\0') {
        return Err(StoreError::invalid_argument("sessionId must not contain NUL characters"));
    }
    Ok(id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn no_backends_means_memory_and_none_for_mailbox() {
        let r = resolve_providers(&[], &HashMap::new(), &HashMap::new()).unwrap();
        assert_eq!(r[&Domain::Auth], Provider::Memory);
        assert_eq!(r[&Domain::Messages], Provider::None);
        assert_eq!(r[&Domain::Retry], Provider::Memory);
    }

    #[test]
    fn backends_require_every_persistent_provider() {
        let err = resolve_providers(&["sql".into()], &map(&[("auth", "sql")]), &HashMap::new()).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidConfig);
        assert!(err.message.contains("providers.signal"));
        assert!(!err.message.contains("providers.auth,"));
    }

    #[test]
    fn unknown_backend_and_domain_are_named() {
        let err = resolve_providers(&[], &map(&[("auth", "pg")]), &HashMap::new()).unwrap_err();
        assert!(err.message.contains("providers.auth") && err.message.contains("'pg'"));
        let err = resolve_providers(&[], &map(&[("bogus", "memory")]), &HashMap::new()).unwrap_err();
        assert!(err.message.contains("providers.bogus"));
        let err = resolve_providers(&[], &HashMap::new(), &map(&[("auth", "memory")])).unwrap_err();
        assert!(err.message.contains("cacheProviders.auth"));
    }

    #[test]
    fn none_falls_back_to_memory_outside_mailbox() {
        let r = resolve_providers(&[], &map(&[("auth", "none"), ("messages", "memory")]), &map(&[("retry", "none")])).unwrap();
        assert_eq!(r[&Domain::Auth], Provider::Memory);
        assert_eq!(r[&Domain::Messages], Provider::Memory);
        assert_eq!(r[&Domain::Retry], Provider::None);
    }

    #[test]
    fn keys_follow_session_unless_set() {
        let all: Vec<(&str, &str)> = Domain::PERSISTENT.iter().map(|d| (d.name(), "sql")).collect();
        let r = resolve_providers(&["sql".into()], &map(&all), &HashMap::new()).unwrap();
        assert_eq!(r[&Domain::Keys], Provider::Backend("sql".into()));
        let mut mixed = all.clone();
        mixed.retain(|(d, _)| *d != "session");
        mixed.push(("session", "memory"));
        let r = resolve_providers(&["sql".into()], &map(&mixed), &HashMap::new()).unwrap();
        assert_eq!(r[&Domain::Keys], Provider::Memory);
        let mut explicit = all.clone();
        explicit.push(("keys", "memory"));
        let r = resolve_providers(&["sql".into()], &map(&explicit), &HashMap::new()).unwrap();
        assert_eq!(r[&Domain::Keys], Provider::Memory);
        let r = resolve_providers(&[], &map(&[("keys", "none")]), &HashMap::new()).unwrap();
        assert_eq!(r[&Domain::Keys], Provider::Memory);
        let err = resolve_providers(&[], &map(&[("keys", "pg")]), &HashMap::new()).unwrap_err();
        assert!(err.message.contains("providers.keys") && err.message.contains("'pg'"), "{}", err.message);
        let err = resolve_providers(&[], &HashMap::new(), &map(&[("keys", "memory")])).unwrap_err();
        assert!(err.message.contains("cacheProviders.keys"), "{}", err.message);
        // zapo's required list does not grow: a full zapo config without `keys` is valid.
        let err = resolve_providers(&["sql".into()], &map(&[("auth", "sql")]), &HashMap::new()).unwrap_err();
        assert!(!err.message.contains("providers.keys"), "{}", err.message);
    }

    #[test]
    fn limits_and_ttls_validate() {
        assert!(MemoryLimits::with_overrides(&[("signalSessions".into(), 0.0)], "memory.limits").is_err());
        assert!(MemoryLimits::with_overrides(&[("nope".into(), 1.0)], "memory.limits").is_err());
        assert_eq!(MemoryLimits::with_overrides(&[("messages".into(), 3.0)], "m").unwrap().messages, 3);
        assert!(cache_ttls_with_overrides(&[("retryMs".into(), 1.5)], "t").is_err());
        assert_eq!(cache_ttls_with_overrides(&[("retryMs".into(), 5.0)], "t").unwrap().retry_ms, 5);
    }

    #[test]
    fn identifiers_and_session_ids() {
        assert!(validate_identifier("t", "wa_sessions").is_ok());
        for bad in ["", "1abc", "a-b", "x\"; DROP TABLE y; --", &"a".repeat(49)] {
            assert!(validate_identifier("t", bad).is_err(), "{bad}");
        }
        assert_eq!(normalize_session_id("  a  ").unwrap(), "a");
        assert!(normalize_session_id("   ").is_err());
        assert!(normalize_session_id("a\0b").is_err());
    }
}
