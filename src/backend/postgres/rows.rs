//! Reading typed values out of rows, dedupe of batches, address columns.
//! A stored value of the wrong type or range is `STORE_CORRUPTED`, never a panic.

use sqlx::postgres::PgRow;
use sqlx::{Decode, Postgres, Row, Type};

use crate::domain::{SignalAddress, DEFAULT_SERVER};
use crate::error::{StoreError, StoreResult};

pub fn col<'r, T>(row: &'r PgRow, name: &'static str) -> StoreResult<T>
where
    T: Decode<'r, Postgres> + Type<Postgres>,
{
    row.try_get(name).map_err(|err| {
        StoreError::corrupted(format!("postgres: stored column {name} is unreadable: {err}")).with_source(err)
    })
}

pub fn to_u32(value: i64, name: &'static str) -> StoreResult<u32> {
    u32::try_from(value)
        .map_err(|_| StoreError::corrupted(format!("postgres: stored {name} {value} is not a 32-bit unsigned id")))
}

pub fn u32_col(row: &PgRow, name: &'static str) -> StoreResult<u32> {
    to_u32(col(row, name)?, name)
}

/// A JSON array of strings, as stored for participants, device jids and requesters.
pub fn json_list(raw: &str, name: &'static str) -> StoreResult<Vec<String>> {
    crate::backend::json_list::decode("postgres", raw, name)
}

pub fn opt_json_list(raw: Option<String>, name: &'static str) -> StoreResult<Option<Vec<String>>> {
    crate::backend::json_list::decode_opt("postgres", raw, name)
}

pub use crate::backend::json_list::encode as to_json;

/// Affected-row counts as the contracts report them.
pub fn count(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

pub fn count_i64(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// The row key of a Signal address; an empty server means the default one.
pub fn address(a: &SignalAddress) -> (&str, &str, i64) {
    let server = if a.server.is_empty() { DEFAULT_SERVER } else { a.server.as_str() };
    (a.user.as_str(), server, i64::from(a.device))
}

/// Column arrays of a batch of addresses, for `unnest($n::text[], …, $m::int8[])`.
pub fn address_arrays<'a>(
    addresses: impl IntoIterator<Item = &'a SignalAddress>,
) -> (Vec<String>, Vec<String>, Vec<i64>) {
    let mut users = Vec::new();
    let mut servers = Vec::new();
    let mut devices = Vec::new();
    for a in addresses {
        let (user, server, device) = address(a);
        users.push(user.to_owned());
        servers.push(server.to_owned());
        devices.push(device);
    }
    (users, servers, devices)
}

pub fn address_from(
    row: &PgRow,
    user: &'static str,
    server: &'static str,
    device: &'static str,
) -> StoreResult<SignalAddress> {
    Ok(SignalAddress { user: col(row, user)?, server: col(row, server)?, device: u32_col(row, device)? })
}

pub use crate::backend::dedupe::{dedupe_last, dedupe_with};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_json_is_corruption() {
        assert_eq!(json_list("{}", "x").unwrap_err().code, crate::error::ErrorCode::Corrupted);
    }
}
