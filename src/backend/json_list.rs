//! String lists (group participants, device jids, retry requesters) as the SQL
//! backends store them: a JSON array of strings in a text column.

use crate::error::{StoreError, StoreResult};

/// Decodes a stored list; anything but a JSON array of strings is `STORE_CORRUPTED`.
pub fn decode(backend: &str, raw: &str, column: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(raw).map_err(|err| {
        StoreError::corrupted(format!("{backend}: stored {column} is not a JSON array of strings: {err}")).with_source(err)
    })
}

pub fn decode_opt(backend: &str, raw: Option<String>, column: &str) -> StoreResult<Option<Vec<String>>> {
    raw.map(|raw| decode(backend, &raw, column)).transpose()
}

pub fn encode(list: &[String]) -> StoreResult<String> {
    // Serializing strings cannot fail; keep the error path anyway rather than unwrap.
    serde_json::to_string(list)
        .map_err(|err| StoreError::invalid_argument(format!("could not encode a string list: {err}")).with_source(err))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn round_trips_and_rejects_non_lists() {
        let list = vec!["a\"b".to_owned(), "ü😀".to_owned()];
        assert_eq!(decode("x", &encode(&list).unwrap(), "c").unwrap(), list);
        assert_eq!(decode_opt("x", None, "c").unwrap(), None);
        let err = decode("pg", "{\"a\":1}", "participants_json").unwrap_err();
        assert_eq!(err.code, ErrorCode::Corrupted);
        assert!(err.message.contains("pg: stored participants_json"));
    }
}
