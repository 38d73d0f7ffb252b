//! Reading typed values out of rows, and binding chunked `IN` lists.
//! A stored value of the wrong type or range is `STORE_CORRUPTED`, never a panic.

use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Decode, Row, Sqlite, Type};

use crate::domain::{SignalAddress, DEFAULT_SERVER};
use crate::error::{StoreError, StoreResult};

pub type Query<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>>;

pub fn col<'r, T>(row: &'r SqliteRow, name: &'static str) -> StoreResult<T>
where
    T: Decode<'r, Sqlite> + Type<Sqlite>,
{
    row.try_get(name).map_err(|err| {
        StoreError::corrupted(format!("sqlite: stored column {name} is unreadable: {err}")).with_source(err)
    })
}

pub fn u32_col(row: &SqliteRow, name: &'static str) -> StoreResult<u32> {
    let value: i64 = col(row, name)?;
    u32::try_from(value)
        .map_err(|_| StoreError::corrupted(format!("sqlite: stored {name} {value} is not a 32-bit unsigned id")))
}

pub fn bool_col(row: &SqliteRow, name: &'static str) -> StoreResult<bool> {
    Ok(col::<i64>(row, name)? != 0)
}

pub fn opt_bool_col(row: &SqliteRow, name: &'static str) -> StoreResult<Option<bool>> {
    Ok(col::<Option<i64>>(row, name)?.map(|v| v != 0))
}

pub fn opt_bool(value: Option<bool>) -> Option<i64> {
    value.map(i64::from)
}

/// A JSON array of strings, as stored for participants, device jids and requesters.
pub fn json_list(raw: &str, name: &'static str) -> StoreResult<Vec<String>> {
    crate::backend::json_list::decode("sqlite", raw, name)
}

pub fn opt_json_list(raw: Option<String>, name: &'static str) -> StoreResult<Option<Vec<String>>> {
    crate::backend::json_list::decode_opt("sqlite", raw, name)
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
    row: &SqliteRow,
    user: &'static str,
    server: &'static str,
    device: &'static str,
) -> StoreResult<SignalAddress> {
    Ok(SignalAddress { user: col(row, user)?, server: col(row, server)?, device: u32_col(row, device)? })
}

/// `chunk` followed by copies of its last item up to `len` (see [`super::sql::InList`]).
pub fn padded<T>(chunk: &[T], len: usize) -> impl Iterator<Item = &T> {
    let pad = len.saturating_sub(chunk.len());
    chunk.iter().chain(std::iter::repeat_n(chunk.last(), pad).flatten())
}

/// Binds every address of a padded chunk as `(user, server, device)` triples.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_repeats_the_last_item() {
        let v = [1, 2, 3];
        assert_eq!(padded(&v, 4).copied().collect::<Vec<_>>(), vec![1, 2, 3, 3]);
        assert_eq!(padded(&v, 3).count(), 3);
        let empty: [u8; 0] = [];
        assert_eq!(padded(&empty, 2).count(), 0);
    }

    #[test]
    fn bad_json_is_corruption() {
        let err = json_list("{\"a\":1}", "participants_json").unwrap_err();
        assert_eq!(err.code, crate::error::ErrorCode::Corrupted);
        assert_eq!(json_list("[\"a\",\"b\"]", "x").unwrap(), vec!["a", "b"]);
    }
}
