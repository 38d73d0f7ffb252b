//! Document keys and typed field access.
//!
//! Keys: a compound `_id` is the canonical JSON array text of the key,
//! session id first (`["<sid>","<user>","<server>",1]`). A string `_id` is
//! matched exactly by every MongoDB-wire server (nx-27017 cannot match an
//! embedded-document or Binary `_id` by equality), is unambiguous for any
//! component, and never contains NUL. Byte-string key parts (app-state key
//! ids) are lowercase hex. Singleton documents use the session id itself.
//!
//! Lookup strings: a string field used in a filter, sort or range (thread
//! jid, phone number, group id, address parts, key type and id, …) is
//! stored with U+0000 as U+0001 U+0001 and U+0001 as U+0001 U+0002. The
//! test server truncates strings at NUL when it compares them; the escape
//! is injective and keeps byte-wise order, so equality, ranges and sorts
//! behave as on the raw strings. Other strings are stored as they are.
//!
//! Values: bytes are BSON Binary, times and ids Int64, flags Int32 0/1 (a
//! `$set` of a BSON boolean loses its type on the test server), absent
//! optional fields `null`. Reading is strict about types: anything else is
//! `STORE_CORRUPTED`, never a panic. Integers written by other drivers as
//! Int32 or integral doubles are accepted.

use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{Binary, Bson, Document};

use crate::domain::{SignalAddress, DEFAULT_SERVER};
use crate::error::{StoreError, StoreResult};

/// Builds a compound `_id`: a JSON array of strings and integers.
#[derive(Debug, Default)]
pub struct Key(String);

impl Key {
    /// A key whose first component is the session id.
    pub fn of(sid: &str) -> Self {
        let mut key = Key(String::with_capacity(sid.len() + 32));
        key.0.push('[');
        key.push_str(sid);
        key
    }

    fn sep(&mut self) {
        if self.0.len() > 1 {
            self.0.push(',');
        }
    }

    fn push_str(&mut self, s: &str) {
        self.sep();
        self.0.push('"');
        for c in s.chars() {
            match c {
                '"' => self.0.push_str("\\\""),
                '\\' => self.0.push_str("\\\\"),
                c if u32::from(c) < 0x20 => self.0.push_str(&format!("\\u{:04x}", u32::from(c))),
                c => self.0.push(c),
            }
        }
        self.0.push('"');
    }

    pub fn str(mut self, s: &str) -> Self {
        self.push_str(s);
        self
    }

    pub fn int(mut self, n: i64) -> Self {
        self.sep();
        self.0.push_str(&n.to_string());
        self
    }

    pub fn hex(self, bytes: &[u8]) -> Self {
        let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.str(&text)
    }

    /// The three parts of a Signal address.
    pub fn address(self, a: &SignalAddress) -> Self {
        let server = if a.server.is_empty() { DEFAULT_SERVER } else { a.server.as_str() };
        self.str(&a.user).str(server).int(i64::from(a.device))
    }

    pub fn done(mut self) -> String {
        self.0.push(']');
        self.0
    }
}

/// A lookup string as stored (see the module docs).
pub fn lookup(s: &str) -> String {
    if !s.contains(['\u{0}', '\u{1}']) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\u{0}' => out.push_str("\u{1}\u{1}"),
            '\u{1}' => out.push_str("\u{1}\u{2}"),
            c => out.push(c),
        }
    }
    out
}

pub fn unlookup(stored: String, field: &str) -> StoreResult<String> {
    if !stored.contains('\u{1}') {
        return Ok(stored);
    }
    let mut out = String::with_capacity(stored.len());
    let mut chars = stored.chars();
    while let Some(c) = chars.next() {
        if c != '\u{1}' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\u{1}') => out.push('\u{0}'),
            Some('\u{2}') => out.push('\u{1}'),
            _ => return Err(corrupt(field, "a lookup string with a broken escape")),
        }
    }
    Ok(out)
}

pub fn opt_lookup(s: Option<&str>) -> Bson {
    s.map_or(Bson::Null, |s| Bson::String(lookup(s)))
}

pub fn get_lookup(doc: &Document, field: &str) -> StoreResult<String> {
    unlookup(get_str(doc, field)?, field)
}

pub fn get_opt_lookup(doc: &Document, field: &str) -> StoreResult<Option<String>> {
    get_opt_str(doc, field)?.map(|s| unlookup(s, field)).transpose()
}

/// BSON Binary (generic subtype) of `bytes`.
pub fn bin(bytes: impl Into<Vec<u8>>) -> Bson {
    Bson::Binary(Binary { subtype: BinarySubtype::Generic, bytes: bytes.into() })
}

pub fn opt_bin(bytes: Option<impl Into<Vec<u8>>>) -> Bson {
    bytes.map_or(Bson::Null, bin)
}

pub fn opt_str(s: Option<&str>) -> Bson {
    s.map_or(Bson::Null, |s| Bson::String(s.to_owned()))
}

pub fn opt_i64(n: Option<i64>) -> Bson {
    n.map_or(Bson::Null, Bson::Int64)
}

/// A flag as Int32 0/1.
pub fn flag(b: bool) -> Bson {
    Bson::Int32(i32::from(b))
}

pub fn opt_flag(b: Option<bool>) -> Bson {
    b.map_or(Bson::Null, flag)
}

pub fn str_list(items: &[String]) -> Bson {
    Bson::Array(items.iter().map(|s| Bson::String(s.clone())).collect())
}

pub fn opt_str_list(items: Option<&Vec<String>>) -> Bson {
    items.map_or(Bson::Null, |l| str_list(l))
}

/// A BSON Date for TTL indexes (the numeric field stays the source of truth).
pub fn date(ms: i64) -> Bson {
    Bson::DateTime(mongodb::bson::DateTime::from_millis(ms))
}

fn corrupt(field: &str, problem: &str) -> StoreError {
    StoreError::corrupted(format!("mongo: stored field {field} is {problem}"))
}

/// Present and not `null`.
fn present<'a>(doc: &'a Document, field: &str) -> Option<&'a Bson> {
    doc.get(field).filter(|v| !matches!(v, Bson::Null | Bson::Undefined))
}

fn as_i64(value: &Bson, field: &str) -> StoreResult<i64> {
    match value {
        Bson::Int64(n) => Ok(*n),
        Bson::Int32(n) => Ok(i64::from(*n)),
        Bson::Double(f) if f.fract() == 0.0 && f.abs() <= crate::codec::MAX_SAFE_INTEGER as f64 => Ok(*f as i64),
        other => Err(corrupt(field, &format!("not an integer ({:?})", other.element_type()))),
    }
}

pub fn get_i64(doc: &Document, field: &str) -> StoreResult<i64> {
    present(doc, field).ok_or_else(|| corrupt(field, "missing")).and_then(|v| as_i64(v, field))
}

pub fn get_opt_i64(doc: &Document, field: &str) -> StoreResult<Option<i64>> {
    present(doc, field).map(|v| as_i64(v, field)).transpose()
}

pub fn get_u32(doc: &Document, field: &str) -> StoreResult<u32> {
    let n = get_i64(doc, field)?;
    u32::try_from(n).map_err(|_| corrupt(field, &format!("{n}, not a 32-bit unsigned integer")))
}

pub fn get_count(doc: &Document, field: &str) -> StoreResult<u64> {
    let n = get_opt_i64(doc, field)?.unwrap_or(0);
    u64::try_from(n).map_err(|_| corrupt(field, &format!("{n}, a negative count")))
}

fn as_flag(value: &Bson, field: &str) -> StoreResult<bool> {
    match value {
        Bson::Boolean(b) => Ok(*b),
        other => match as_i64(other, field)? {
            0 => Ok(false),
            1 => Ok(true),
            n => Err(corrupt(field, &format!("{n}, not a 0/1 flag"))),
        },
    }
}

pub fn get_flag(doc: &Document, field: &str) -> StoreResult<bool> {
    present(doc, field).ok_or_else(|| corrupt(field, "missing")).and_then(|v| as_flag(v, field))
}

pub fn get_opt_flag(doc: &Document, field: &str) -> StoreResult<Option<bool>> {
    present(doc, field).map(|v| as_flag(v, field)).transpose()
}

fn as_str(value: &Bson, field: &str) -> StoreResult<String> {
    match value {
        Bson::String(s) => Ok(s.clone()),
        other => Err(corrupt(field, &format!("not a string ({:?})", other.element_type()))),
    }
}

pub fn get_str(doc: &Document, field: &str) -> StoreResult<String> {
    present(doc, field).ok_or_else(|| corrupt(field, "missing")).and_then(|v| as_str(v, field))
}

pub fn get_opt_str(doc: &Document, field: &str) -> StoreResult<Option<String>> {
    present(doc, field).map(|v| as_str(v, field)).transpose()
}

fn as_bytes(value: &Bson, field: &str) -> StoreResult<Vec<u8>> {
    match value {
        Bson::Binary(b) => Ok(b.bytes.clone()),
        other => Err(corrupt(field, &format!("not binary ({:?})", other.element_type()))),
    }
}

pub fn get_bytes(doc: &Document, field: &str) -> StoreResult<Vec<u8>> {
    present(doc, field).ok_or_else(|| corrupt(field, "missing")).and_then(|v| as_bytes(v, field))
}

pub fn get_opt_bytes(doc: &Document, field: &str) -> StoreResult<Option<Vec<u8>>> {
    present(doc, field).map(|v| as_bytes(v, field)).transpose()
}

fn as_str_list(value: &Bson, field: &str) -> StoreResult<Vec<String>> {
    match value {
        Bson::Array(items) => items.iter().map(|v| as_str(v, field)).collect(),
        other => Err(corrupt(field, &format!("not an array of strings ({:?})", other.element_type()))),
    }
}

pub fn get_str_list(doc: &Document, field: &str) -> StoreResult<Vec<String>> {
    present(doc, field).ok_or_else(|| corrupt(field, "missing")).and_then(|v| as_str_list(v, field))
}

pub fn get_opt_str_list(doc: &Document, field: &str) -> StoreResult<Option<Vec<String>>> {
    present(doc, field).map(|v| as_str_list(v, field)).transpose()
}

/// The `_id` of a document as the string key it was written with.
pub fn get_id(doc: &Document) -> StoreResult<String> {
    get_str(doc, "_id")
}

pub fn get_address(doc: &Document) -> StoreResult<SignalAddress> {
    Ok(SignalAddress {
        user: get_lookup(doc, "user")?,
        server: get_lookup(doc, "server")?,
        device: get_u32(doc, "device")?,
    })
}

/// Address fields of a document (`user`, `server`, `device`), for `$set` and filters.
pub fn address_fields(doc: &mut Document, a: &SignalAddress) {
    let server = if a.server.is_empty() { DEFAULT_SERVER } else { a.server.as_str() };
    doc.insert("user", lookup(&a.user));
    doc.insert("server", lookup(server));
    doc.insert("device", i64::from(a.device));
}

/// Affected counts as the contracts report them.
pub fn count(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use mongodb::bson::doc;

    #[test]
    fn keys_are_canonical_json_arrays() {
        assert_eq!(Key::of("s").str("a\"b\\c").int(-3).done(), r#"["s","a\"b\\c",-3]"#);
        assert_eq!(Key::of("s\n\0").hex(&[0, 0xAB]).done(), r#"["s\u000a\u0000","00ab"]"#);
        let parsed: Vec<serde_json::Value> =
            serde_json::from_str(&Key::of("ü🙂\u{1f}").str("x").address(&SignalAddress::new("u", None, 7)).done())
                .unwrap();
        assert_eq!(
            parsed,
            vec![serde_json::json!("ü🙂\u{1f}"), "x".into(), "u".into(), DEFAULT_SERVER.into(), 7.into()]
        );
        // Delimiter confusion is impossible: the split shows in the quoting.
        assert_ne!(Key::of("a|b").str("c").done(), Key::of("a").str("b|c").done());
        assert_ne!(Key::of("a\",\"b").done(), Key::of("a").str("b").done());
    }

    #[test]
    fn lookup_strings_escape_nul_injectively_and_keep_byte_order() {
        let raw = ["", "a", "a\u{0}", "a\u{0}\u{0}", "a\u{1}", "a\u{1}\u{0}", "a\u{2}", "ab", "\u{1}\u{1}"];
        let mut by_raw: Vec<&str> = raw.to_vec();
        by_raw.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        let mut by_stored = by_raw.clone();
        by_stored.sort_by_key(|s| lookup(s).into_bytes());
        assert_eq!(by_stored, by_raw, "order is kept");
        for s in raw {
            assert!(!lookup(s).contains('\u{0}'));
            assert_eq!(unlookup(lookup(s), "f").unwrap(), s);
        }
        let stored: std::collections::HashSet<String> = raw.iter().map(|s| lookup(s)).collect();
        assert_eq!(stored.len(), raw.len(), "injective");
        assert_eq!(unlookup("x\u{1}".into(), "f").unwrap_err().code, ErrorCode::Corrupted);
    }

    #[test]
    fn fields_are_typed_strictly() {
        let d = doc! { "i": 5_i64, "j": 6_i32, "f": 7.0, "g": 7.5, "b": 1, "t": true, "n": null, "s": "x", "l": ["a"], "x": bin(vec![1]) };
        assert_eq!(get_i64(&d, "i").unwrap(), 5);
        assert_eq!(get_i64(&d, "j").unwrap(), 6);
        assert_eq!(get_i64(&d, "f").unwrap(), 7);
        assert_eq!(get_i64(&d, "g").unwrap_err().code, ErrorCode::Corrupted);
        assert_eq!(get_opt_i64(&d, "n").unwrap(), None);
        assert_eq!(get_opt_i64(&d, "missing").unwrap(), None);
        assert_eq!(get_i64(&d, "missing").unwrap_err().code, ErrorCode::Corrupted);
        assert!(get_flag(&d, "b").unwrap() && get_flag(&d, "t").unwrap());
        assert_eq!(get_flag(&d, "i").unwrap_err().code, ErrorCode::Corrupted);
        assert_eq!(get_bytes(&d, "x").unwrap(), vec![1]);
        assert_eq!(get_bytes(&d, "s").unwrap_err().code, ErrorCode::Corrupted);
        assert_eq!(get_str_list(&d, "l").unwrap(), vec!["a".to_owned()]);
        assert_eq!(get_str_list(&d, "s").unwrap_err().code, ErrorCode::Corrupted);
        assert_eq!(get_u32(&doc! { "k": -1_i64 }, "k").unwrap_err().code, ErrorCode::Corrupted);
    }
}
