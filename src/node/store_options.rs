//! `createStore`'s `signalCache` and `writeBehind` options.

use std::time::Duration;

use napi::sys;

use crate::config::{positive_integer, MemoryLimits};
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
