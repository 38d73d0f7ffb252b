//! Input limits: the most one call may hand the store, so a hostile or
//! buggy caller gets a coded error instead of filling memory or a table.
//!
//! - `maxValueBytes` (default 16 MiB): one stored value, encoded, or one
//!   byte string field → `STORE_VALUE_TOO_LARGE` with `limit` and `size`;
//! - `maxIdBytes` (default 64 KiB): one id, jid or other string field;
//! - `maxBatchItems` (default 100 000): the elements of one array or map
//!   argument (ids of a batch read, records of a batch write).
//!
//! The last two give `STORE_INVALID_ARGUMENT`. Arguments are read on the JS
//! thread before a call knows its store, so the limits are per process
//! (`setInputLimits`), shared by every store, as atomics.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{ErrorCode, ErrorDetails, StoreError, StoreResult};

pub const DEFAULT_VALUE_BYTES: usize = 16 * 1024 * 1024;
pub const DEFAULT_ID_BYTES: usize = 64 * 1024;
pub const DEFAULT_BATCH_ITEMS: usize = 100_000;

/// Upper bounds of the settings themselves: what the backends can hold
/// (MySQL's `LONGBLOB` packets, PostgreSQL's 1 GB field) with headroom.
pub const MAX_VALUE_BYTES: usize = 512 * 1024 * 1024;
pub const MAX_ID_BYTES: usize = 16 * 1024 * 1024;
pub const MAX_BATCH_ITEMS: usize = 10_000_000;

static VALUE_BYTES: AtomicUsize = AtomicUsize::new(DEFAULT_VALUE_BYTES);
static ID_BYTES: AtomicUsize = AtomicUsize::new(DEFAULT_ID_BYTES);
static BATCH_ITEMS: AtomicUsize = AtomicUsize::new(DEFAULT_BATCH_ITEMS);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputLimits {
    pub value_bytes: usize,
    pub id_bytes: usize,
    pub batch_items: usize,
}

impl Default for InputLimits {
    fn default() -> Self {
        Self { value_bytes: DEFAULT_VALUE_BYTES, id_bytes: DEFAULT_ID_BYTES, batch_items: DEFAULT_BATCH_ITEMS }
    }
}

/// The limits in force.
pub fn current() -> InputLimits {
    InputLimits {
        value_bytes: VALUE_BYTES.load(Ordering::Relaxed),
        id_bytes: ID_BYTES.load(Ordering::Relaxed),
        batch_items: BATCH_ITEMS.load(Ordering::Relaxed),
    }
}

/// One setting as given by `setInputLimits`: a whole number from 1 to `max`.
pub fn setting(field: &str, value: f64, max: usize) -> StoreResult<usize> {
    if value.is_finite() && value.fract() == 0.0 && value >= 1.0 && value <= max as f64 {
        Ok(value as usize)
    } else {
        Err(StoreError::invalid_config(format!("{field} must be an integer from 1 to {max}, got {value}")))
    }
}

/// Puts `limits` in force for every store of the process.
pub fn set(limits: InputLimits) -> StoreResult<()> {
    for (field, v, max) in [
        ("maxValueBytes", limits.value_bytes, MAX_VALUE_BYTES),
        ("maxIdBytes", limits.id_bytes, MAX_ID_BYTES),
        ("maxBatchItems", limits.batch_items, MAX_BATCH_ITEMS),
    ] {
        setting(field, v as f64, max)?;
    }
    VALUE_BYTES.store(limits.value_bytes, Ordering::Relaxed);
    ID_BYTES.store(limits.id_bytes, Ordering::Relaxed);
    BATCH_ITEMS.store(limits.batch_items, Ordering::Relaxed);
    Ok(())
}

/// `STORE_VALUE_TOO_LARGE` unless `size` bytes fit; `what` names the argument.
pub fn check_value(what: &str, size: usize) -> StoreResult<()> {
    let limit = VALUE_BYTES.load(Ordering::Relaxed);
    if size <= limit {
        return Ok(());
    }
    Err(StoreError::new(
        ErrorCode::ValueTooLarge,
        format!(
            "{what} is {size} bytes; the limit is {limit} bytes (setInputLimits({{ maxValueBytes }})). \
             Store large media elsewhere and keep a reference"
        ),
    )
    .with_details(ErrorDetails::TooLarge { limit: limit as u64, size: size as u64 }))
}

/// `STORE_INVALID_ARGUMENT` unless a string of `len` bytes fits.
pub fn check_id(what: &str, len: usize) -> StoreResult<()> {
    let limit = ID_BYTES.load(Ordering::Relaxed);
    if len <= limit {
        return Ok(());
    }
    Err(StoreError::invalid_argument(format!(
        "{what} is {len} bytes long; the limit is {limit} bytes (setInputLimits({{ maxIdBytes }}))"
    )))
}

/// `STORE_INVALID_ARGUMENT` unless `n` elements fit in one call.
pub fn check_batch(what: &str, n: usize) -> StoreResult<()> {
    let limit = BATCH_ITEMS.load(Ordering::Relaxed);
    if n <= limit {
        return Ok(());
    }
    Err(StoreError::invalid_argument(format!(
        "{what} has {n} elements; one call takes at most {limit} (setInputLimits({{ maxBatchItems }})); split it"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_and_settings() {
        let d = InputLimits::default();
        assert_eq!(current(), d, "no test changes the process limits");
        assert!(check_value("v", DEFAULT_VALUE_BYTES).is_ok());
        let e = check_value("value", DEFAULT_VALUE_BYTES + 1).unwrap_err();
        assert_eq!(e.code, ErrorCode::ValueTooLarge);
        assert_eq!(
            e.details.as_deref(),
            Some(&ErrorDetails::TooLarge { limit: DEFAULT_VALUE_BYTES as u64, size: DEFAULT_VALUE_BYTES as u64 + 1 })
        );
        assert_eq!(check_id("id", DEFAULT_ID_BYTES + 1).unwrap_err().code, ErrorCode::InvalidArgument);
        assert!(check_batch("ids", DEFAULT_BATCH_ITEMS).is_ok());
        assert!(check_batch("ids", DEFAULT_BATCH_ITEMS + 1).unwrap_err().message.contains("ids has"));
        for bad in [0.0, -1.0, 1.5, f64::NAN, f64::INFINITY, (MAX_VALUE_BYTES + 1) as f64] {
            assert_eq!(setting("maxValueBytes", bad, MAX_VALUE_BYTES).unwrap_err().code, ErrorCode::InvalidConfig, "{bad}");
        }
        assert_eq!(setting("maxValueBytes", 1024.0, MAX_VALUE_BYTES).unwrap(), 1024);
        assert!(set(InputLimits { value_bytes: 0, ..d }).is_err());
        assert_eq!(current(), d, "a refused setting changes nothing");
    }
}
