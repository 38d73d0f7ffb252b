//! Reading typed values out of rows, chunking batches and binding items.
//! A stored value of the wrong type or range is `STORE_CORRUPTED`, never a panic.
//!
//! Text columns use `utf8mb4_bin`, which the protocol flags BINARY; they are
//! read as bytes and checked as UTF-8 here.

use sqlx::mysql::{MySqlArguments, MySqlRow};
use sqlx::{Decode, MySql, Row, Type};

use crate::domain::{SignalAddress, DEFAULT_SERVER};
use crate::error::{StoreError, StoreResult};

pub type Query<'q> = sqlx::query::Query<'q, MySql, MySqlArguments>;

pub fn col<'r, T>(row: &'r MySqlRow, name: &'static str) -> StoreResult<T>
where
    T: Decode<'r, MySql> + Type<MySql>,
{
    row.try_get(name).map_err(|err| {
        StoreError::corrupted(format!("mysql: stored column {name} is unreadable: {err}")).with_source(err)
    })
}

pub fn text(row: &MySqlRow, name: &'static str) -> StoreResult<String> {
    let bytes: Vec<u8> = col(row, name)?;
    String::from_utf8(bytes).map_err(|err| {
        StoreError::corrupted(format!("mysql: stored column {name} is not valid UTF-8")).with_source(err)
    })
}

pub fn opt_text(row: &MySqlRow, name: &'static str) -> StoreResult<Option<String>> {
    let bytes: Option<Vec<u8>> = col(row, name)?;
    bytes
        .map(|b| {
            String::from_utf8(b).map_err(|err| {
                StoreError::corrupted(format!("mysql: stored column {name} is not valid UTF-8")).with_source(err)
            })
        })
        .transpose()
}

pub fn u32_col(row: &MySqlRow, name: &'static str) -> StoreResult<u32> {
    let value: i64 = col(row, name)?;
    u32::try_from(value)
        .map_err(|_| StoreError::corrupted(format!("mysql: stored {name} {value} is not a 32-bit unsigned id")))
}

pub fn bool_col(row: &MySqlRow, name: &'static str) -> StoreResult<bool> {
    Ok(col::<i64>(row, name)? != 0)
}

pub fn opt_bool_col(row: &MySqlRow, name: &'static str) -> StoreResult<Option<bool>> {
    Ok(col::<Option<i64>>(row, name)?.map(|v| v != 0))
}

pub fn opt_bool(value: Option<bool>) -> Option<i64> {
    value.map(i64::from)
}

/// A JSON array of strings, as stored for participants, device jids and requesters.
pub fn json_list(raw: &str, name: &'static str) -> StoreResult<Vec<String>> {
    crate::backend::json_list::decode("mysql", raw, name)
}

pub fn opt_json_list(raw: Option<String>, name: &'static str) -> StoreResult<Option<Vec<String>>> {
    crate::backend::json_list::decode_opt("mysql", raw, name)
}

pub use crate::backend::json_list::encode as to_json;

/// Affected-row counts as the contracts report them.
pub fn count(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The row key of a Signal address; an empty server means the default one.
pub fn address(a: &SignalAddress) -> (&str, &str, i64) {
    let server = if a.server.is_empty() { DEFAULT_SERVER } else { a.server.as_str() };
    (a.user.as_str(), server, i64::from(a.device))
}

/// Rebuilds an address read back from `user`/`server`/`device` style columns.
pub fn address_from(
    row: &MySqlRow,
    user: &'static str,
    server: &'static str,
    device: &'static str,
) -> StoreResult<SignalAddress> {
    Ok(SignalAddress { user: text(row, user)?, server: text(row, server)?, device: u32_col(row, device)? })
}

/// `chunk` followed by copies of its last item up to `len`.
pub fn padded<T>(chunk: &[T], len: usize) -> impl Iterator<Item = &T> {
    let pad = len.saturating_sub(chunk.len());
    chunk.iter().chain(std::iter::repeat_n(chunk.last(), pad).flatten())
}

/// Binds every address of a padded chunk as `(user, server, device)` (each
/// string once: the statement hashes it).
pub fn bind_addresses<'q>(mut query: Query<'q>, chunk: &'q [SignalAddress], len: usize) -> Query<'q> {
    for a in padded(chunk, len) {
        let (user, server, device) = address(a);
        query = query.bind(user).bind(server).bind(device);
    }
    query
}

/// Binds every string of a padded chunk.
pub fn bind_strs<'q, S: AsRef<str> + 'q>(mut query: Query<'q>, chunk: &'q [S], len: usize) -> Query<'q> {
    for s in padded(chunk, len) {
        query = query.bind(s.as_ref());
    }
    query
}

/// Cuts `items` into runs of at most `max_rows` items and, unless a single
/// item is larger, at most [`super::sql::MAX_BATCH_BYTES`] bytes by `size`.
pub fn chunks_by_size<T>(items: &[T], max_rows: usize, size: impl Fn(&T) -> usize) -> Vec<&[T]> {
    let max_rows = max_rows.max(1);
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0usize;
    for (i, item) in items.iter().enumerate() {
        let s = size(item).saturating_add(64);
        let len = i - start;
        if len > 0 && (len >= max_rows || bytes.saturating_add(s) > super::sql::MAX_BATCH_BYTES) {
            out.push(&items[start..i]);
            start = i;
            bytes = 0;
        }
        bytes = bytes.saturating_add(s);
    }
    if start < items.len() {
        out.push(&items[start..]);
    }
    out
}

/// Batch dedupe shared with the other server backends (`dedupe_merge` folds duplicates in order).
pub use crate::backend::dedupe::{dedupe_last, dedupe_with as dedupe_merge};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_repeats_the_last_item() {
        let v = [1, 2, 3];
        assert_eq!(padded(&v, 4).copied().collect::<Vec<_>>(), vec![1, 2, 3, 3]);
        let empty: [u8; 0] = [];
        assert_eq!(padded(&empty, 2).count(), 0);
    }

    #[test]
    fn chunks_respect_rows_and_bytes() {
        let v: Vec<usize> = vec![1, 1, 1, 1, 1];
        assert_eq!(chunks_by_size(&v, 2, |_| 1).iter().map(|c| c.len()).collect::<Vec<_>>(), vec![2, 2, 1]);
        let big = vec![3 * 1024 * 1024usize; 3];
        assert_eq!(chunks_by_size(&big, 10, |s| *s).len(), 3);
        assert!(chunks_by_size::<u8>(&[], 3, |_| 1).is_empty());
    }

    #[test]
    fn dedupe_keeps_first_position() {
        let v = vec![(1, 'a'), (2, 'b'), (1, 'c')];
        assert_eq!(dedupe_last(v.clone(), |x| x.0), vec![(1, 'c'), (2, 'b')]);
        assert_eq!(dedupe_merge(v, |x| x.0, |a, b| a.1 = b.1), vec![(1, 'c'), (2, 'b')]);
    }

    #[test]
    fn bad_json_is_corruption() {
        let err = json_list("{\"a\":1}", "participants_json").unwrap_err();
        assert_eq!(err.code, crate::error::ErrorCode::Corrupted);
    }
}
