//! `createStore`'s `signalCache` and `writeBehind` options.

use std::time::Duration;

use napi::sys;

use crate::config::{positive_integer, MemoryLimits};
use crate::encryption::envelope::Plaintext;
use crate::encryption::keys::{parse_key, KeyInput, KeyRing};
use crate::encryption::EncryptionConfig;
use crate::error::{StoreError, StoreResult};
use crate::signal_cache::{CacheLimits, Durability, SignalCacheConfig};
use crate::write_behind::WriteBehindConfig;

use super::backend::{as_config, entries, number_pairs};
use super::input::In;

/// `false` turns a feature off; `undefined`, `true` or an object turns it on.
fn enabled(value: &In, field: &str) -> StoreResult<bool> {
    Ok(match value.type_of() {
        sys::ValueType::napi_undefined | sys::ValueType::napi_null => true,
        sys::ValueType::napi_boolean => value.bool().map_err(as_config)?,
        sys::ValueType::napi_object => true,
        _ => {
            return Err(StoreError::invalid_config(format!(
                "{field} must be an options object or a boolean"
            )))
        }
    })
}

fn ms(field: &str, value: f64) -> StoreResult<Duration> {
    Ok(Duration::from_millis(positive_integer(field, value)? as u64))
}

/// `signalCache: false | { durability, flushWindowMs, syncTimeoutMs, maxFlushFailures }`.
pub fn parse_signal_cache(options: &In, limits: &MemoryLimits) -> StoreResult<Option<SignalCacheConfig>> {
    let value = options.field("signalCache")?;
    if !enabled(&value, "signalCache")? {
        return Ok(None);
    }
    let mut config = SignalCacheConfig {
        limits: CacheLimits::from_memory_limits(limits),
        ..SignalCacheConfig::default()
    };
    if value.type_of() != sys::ValueType::napi_object {
        return Ok(Some(config));
    }
    for (key, v) in entries(&value)? {
        let field = format!("signalCache.{key}");
        match key.as_str() {
            "durability" => {
                config.durability = match v.string().map_err(as_config)?.as_str() {
                    "sync" => Durability::Sync,
                    "deferred" => Durability::Deferred,
                    other => {
                        return Err(StoreError::invalid_config(format!(
                            "{field} must be 'sync' or 'deferred', got {other:?}"
                        )))
                    }
                }
            }
            "flushWindowMs" => config.flush_window = ms(&field, v.number().map_err(as_config)?)?,
            "syncTimeoutMs" => config.sync_timeout = ms(&field, v.number().map_err(as_config)?)?,
            "maxFlushFailures" => {
                config.max_flush_failures =
                    positive_integer(&field, v.number().map_err(as_config)?)?.min(u32::MAX.into()) as u32
            }
            _ => {
                return Err(StoreError::invalid_config(format!(
                    "{field} is not an option; use durability, flushWindowMs, syncTimeoutMs, maxFlushFailures"
                )))
            }
        }
    }
    Ok(Some(config))
}

/// `writeBehind: false | { maxPendingKeys, maxWriteConcurrency, flushTimeoutMs, maxBatchSize }` (zapo's names and defaults).
pub fn parse_write_behind(options: &In) -> StoreResult<Option<WriteBehindConfig>> {
    let value = options.field("writeBehind")?;
    if !enabled(&value, "writeBehind")? {
        return Ok(None);
    }
    let mut config = WriteBehindConfig::default();
    if value.type_of() != sys::ValueType::napi_object {
        return Ok(Some(config));
    }
    for (key, n) in number_pairs(&value)? {
        let field = format!("writeBehind.{key}");
        let n = positive_integer(&field, n)?;
        match key.as_str() {
            "maxPendingKeys" => config.max_pending_keys = n as usize,
            "maxWriteConcurrency" => config.max_write_concurrency = n as usize,
            "flushTimeoutMs" => config.flush_timeout = Duration::from_millis(n as u64),
            "maxBatchSize" => config.max_batch_size = n as usize,
            _ => {
                return Err(StoreError::invalid_config(format!(
                    "{field} is not an option; use maxPendingKeys, maxWriteConcurrency, flushTimeoutMs, maxBatchSize"
                )))
            }
        }
    }
    Ok(Some(config))
}

/// `encryption: { key } | { keys: { id: key }, current }`, plus `allowPlaintext`.
pub fn parse_encryption(options: &In) -> StoreResult<Option<EncryptionConfig>> {
    let value = options.field("encryption")?;
    if value.is_nullish() {
        return Ok(None);
    }
    if value.type_of() != sys::ValueType::napi_object {
        return Err(StoreError::invalid_config("encryption must be { key } or { keys: { id: key }, current: id }"));
    }
    const FIELDS: [&str; 4] = ["key", "keys", "current", "allowPlaintext"];
    for (key, _) in entries(&value)? {
        if !FIELDS.contains(&key.as_str()) {
            return Err(StoreError::invalid_config(format!("encryption.{key} is not an option; use {}", FIELDS.join(", "))));
        }
    }
    let (key, keys, current) = (value.field("key")?, value.field("keys")?, value.field("current")?);
    let ring = match (key.is_nullish(), keys.is_nullish()) {
        (false, false) => return Err(StoreError::invalid_config("give encryption.key or encryption.keys, not both")),
        (true, true) => {
            return Err(StoreError::invalid_config(
                "encryption needs key (one 32-byte key) or keys and current (a key ring)",
            ))
        }
        (false, true) => {
            if !current.is_nullish() {
                return Err(StoreError::invalid_config("encryption.current goes with encryption.keys, not encryption.key"));
            }
            KeyRing::single(parse_key("encryption.key", key_input(&key)?)?)?
        }
        (true, false) => {
            if current.is_nullish() {
                return Err(StoreError::invalid_config("encryption.current must name the key of encryption.keys to encrypt with"));
            }
            let current = current.string().map_err(as_config)?;
            let mut ring = Vec::new();
            for (id, k) in entries(&keys)? {
                let field = format!("encryption.keys.{id}");
                ring.push((id, parse_key(&field, key_input(&k)?)?));
            }
            KeyRing::new(ring, &current, "encryption")?
        }
    };
    let allow = value.field("allowPlaintext")?;
    let plaintext = match allow.is_nullish() || allow.bool().map_err(as_config)? {
        true => Plaintext::Accept,
        false => Plaintext::Reject,
    };
    Ok(Some(EncryptionConfig { ring: std::sync::Arc::new(ring), plaintext }))
}

fn key_input(v: &In) -> StoreResult<KeyInput> {
    match v.type_of() {
        sys::ValueType::napi_string => Ok(KeyInput::Text(v.string().map_err(as_config)?)),
        sys::ValueType::napi_object => v.bytes().map(KeyInput::Bytes).map_err(|_| {
            StoreError::invalid_config(format!("{} must be a Buffer/Uint8Array of 32 bytes or a hex/base64 string", v.path))
        }),
        _ => Err(StoreError::invalid_config(format!(
            "{} must be a Buffer/Uint8Array of 32 bytes or a hex/base64 string",
            v.path
        ))),
    }
}

/// `ownership: { mode: 'exclusive' | 'none', leaseMs?, renewMs? }`; `None` when off.
pub fn parse_ownership(options: &In) -> StoreResult<Option<crate::ownership::OwnershipConfig>> {
    let value = options.field("ownership")?;
    if value.is_nullish() {
        return Ok(None);
    }
    let value = value.object().map_err(|_| StoreError::invalid_config("ownership must be { mode: 'exclusive', leaseMs?, renewMs? }"))?;
    let (mut mode, mut lease_ms, mut renew_ms) = (None, None, None);
    for (key, v) in entries(&value)? {
        let field = format!("ownership.{key}");
        match key.as_str() {
            "mode" => mode = Some(v.string().map_err(as_config)?),
            "leaseMs" => lease_ms = Some(positive_integer(&field, v.number().map_err(as_config)?)? as u64),
            "renewMs" => renew_ms = Some(positive_integer(&field, v.number().map_err(as_config)?)? as u64),
            _ => {
                return Err(StoreError::invalid_config(format!("{field} is not an option; use mode, leaseMs, renewMs")))
            }
        }
    }
    match mode.as_deref() {
        Some("exclusive") => crate::ownership::OwnershipConfig::new(lease_ms, renew_ms).map(Some),
        Some("none") => Ok(None),
        Some(other) => Err(StoreError::invalid_config(format!("ownership.mode must be 'exclusive' or 'none', got {other:?}"))),
        None => Err(StoreError::invalid_config("ownership.mode is required ('exclusive' or 'none')")),
    }
}
