//! Reading replies: raw bytes, integers, arrays and hashes. A reply or a stored
//! field of the wrong shape is `STORE_CORRUPTED`, never a panic.

use redis::Value;

use crate::error::{StoreError, StoreResult};

fn bad(what: &str, got: &Value) -> StoreError {
    let shape = match got {
        Value::Nil => "nil".to_owned(),
        Value::Int(n) => format!("the integer {n}"),
        Value::BulkString(b) => format!("{} bytes", b.len()),
        Value::Array(items) => format!("an array of {}", items.len()),
        other => format!("{other:?}").chars().take(60).collect(),
    };
    StoreError::corrupted(format!("redis: unexpected reply for {what}: {shape}"))
}

/// A bulk string, or `None` for nil.
pub fn opt_bytes(v: Value, what: &str) -> StoreResult<Option<Vec<u8>>> {
    match v {
        Value::Nil => Ok(None),
        Value::BulkString(b) => Ok(Some(b)),
        Value::SimpleString(s) => Ok(Some(s.into_bytes())),
        Value::Okay => Ok(Some(b"OK".to_vec())),
        // Lua numbers come back as integers.
        Value::Int(n) => Ok(Some(n.to_string().into_bytes())),
        other => Err(bad(what, &other)),
    }
}

pub fn int(v: Value, what: &str) -> StoreResult<i64> {
    match v {
        Value::Int(n) => Ok(n),
        Value::BulkString(ref b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(what, &v)),
        other => Err(bad(what, &other)),
    }
}

/// A count as the contracts report it.
pub fn count(v: Value, what: &str) -> StoreResult<u32> {
    Ok(u32::try_from(int(v, what)?.max(0)).unwrap_or(u32::MAX))
}

/// An array reply; nil reads as empty.
pub fn array(v: Value, what: &str) -> StoreResult<Vec<Value>> {
    match v {
        Value::Array(items) | Value::Set(items) => Ok(items),
        Value::Nil => Ok(Vec::new()),
        other => Err(bad(what, &other)),
    }
}

/// Exactly `N` items of an array reply.
pub fn tuple<const N: usize>(v: Value, what: &str) -> StoreResult<[Value; N]> {
    let items = array(v, what)?;
    let len = items.len();
    items
        .try_into()
        .map_err(|_| StoreError::corrupted(format!("redis: reply for {what} has {len} items, not {N}")))
}

pub fn utf8(bytes: Vec<u8>, what: &str) -> StoreResult<String> {
    String::from_utf8(bytes).map_err(|_| StoreError::corrupted(format!("redis: stored {what} is not UTF-8 text")))
}

/// A hash (`HGETALL`, or field/value pairs a script returns). Empty means absent.
#[derive(Debug, Default)]
pub struct Hash {
    fields: Vec<(Vec<u8>, Vec<u8>)>,
    what: &'static str,
}

impl Hash {
    pub fn from_value(v: Value, what: &'static str) -> StoreResult<Self> {
        let pairs: Vec<(Value, Value)> = match v {
            Value::Map(pairs) => pairs,
            other => {
                let items = array(other, what)?;
                if !items.len().is_multiple_of(2) {
                    return Err(StoreError::corrupted(format!(
                        "redis: {what} reply has an odd number of items"
                    )));
                }
                let mut it = items.into_iter();
                let mut pairs = Vec::new();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    pairs.push((k, v));
                }
                pairs
            }
        };
        let mut fields = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            let (Some(k), Some(v)) = (opt_bytes(k, what)?, opt_bytes(v, what)?) else {
                return Err(StoreError::corrupted(format!("redis: {what} reply has a nil field")));
            };
            fields.push((k, v));
        }
        Ok(Self { fields, what })
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// `None` for an absent (empty) hash, else the record `decode` reads from it.
    pub fn record<T>(&self, decode: impl FnOnce(&Hash) -> StoreResult<T>) -> StoreResult<Option<T>> {
        if self.is_empty() {
            return Ok(None);
        }
        decode(self).map(Some)
    }

    pub fn fields(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.fields.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))
    }

    pub fn into_fields(self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.fields
    }

    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(k, _)| k == name.as_bytes())
            .map(|(_, v)| v.as_slice())
    }

    fn corrupt(&self, name: &str, why: &str) -> StoreError {
        StoreError::corrupted(format!("redis: {}: stored field {name:?} {why}", self.what))
    }

    fn need<T>(&self, name: &str, value: Option<T>) -> StoreResult<T> {
        value.ok_or_else(|| self.corrupt(name, "is missing"))
    }

    pub fn bytes(&self, name: &str) -> Option<Vec<u8>> {
        self.get(name).map(<[u8]>::to_vec)
    }

    pub fn req_bytes(&self, name: &str) -> StoreResult<Vec<u8>> {
        self.need(name, self.bytes(name))
    }

    pub fn text(&self, name: &str) -> StoreResult<Option<String>> {
        self.get(name)
            .map(|b| String::from_utf8(b.to_vec()).map_err(|_| self.corrupt(name, "is not UTF-8 text")))
            .transpose()
    }

    pub fn req_text(&self, name: &str) -> StoreResult<String> {
        let v = self.text(name)?;
        self.need(name, v)
    }

    pub fn int(&self, name: &str) -> StoreResult<Option<i64>> {
        self.get(name)
            .map(|b| {
                std::str::from_utf8(b)
                    .ok()
                    .and_then(|s| s.parse::<i64>().ok())
                    .ok_or_else(|| self.corrupt(name, "is not an integer"))
            })
            .transpose()
    }

    pub fn req_int(&self, name: &str) -> StoreResult<i64> {
        let v = self.int(name)?;
        self.need(name, v)
    }

    pub fn u32(&self, name: &str) -> StoreResult<u32> {
        let n = self.req_int(name)?;
        u32::try_from(n).map_err(|_| self.corrupt(name, "is not a 32-bit unsigned id"))
    }

    /// `"1"` / `"0"`, or absent.
    pub fn flag(&self, name: &str) -> StoreResult<Option<bool>> {
        match self.get(name) {
            None => Ok(None),
            Some(b"1") => Ok(Some(true)),
            Some(b"0") => Ok(Some(false)),
            Some(_) => Err(self.corrupt(name, "is not 0 or 1")),
        }
    }

    /// A JSON list of strings (participants, device jids, requesters).
    pub fn list(&self, name: &str) -> StoreResult<Option<Vec<String>>> {
        let field = format!("{} field {name:?}", self.what);
        self.text(name)?
            .map(|raw| crate::backend::json_list::decode("redis", &raw, &field))
            .transpose()
    }
}

/// Hash fields of one record to write: `(name, value)`; absent values are left out.
#[derive(Debug, Default)]
pub struct Fields(pub Vec<(&'static str, Vec<u8>)>);

impl Fields {
    pub fn put(&mut self, name: &'static str, value: impl Into<Vec<u8>>) -> &mut Self {
        self.0.push((name, value.into()));
        self
    }
    pub fn text(&mut self, name: &'static str, value: Option<&str>) -> &mut Self {
        if let Some(v) = value {
            self.put(name, v.as_bytes());
        }
        self
    }
    pub fn int(&mut self, name: &'static str, value: Option<i64>) -> &mut Self {
        if let Some(v) = value {
            self.put(name, v.to_string());
        }
        self
    }
    pub fn flag(&mut self, name: &'static str, value: Option<bool>) -> &mut Self {
        if let Some(v) = value {
            self.put(name, flag(v));
        }
        self
    }
    pub fn bytes(&mut self, name: &'static str, value: Option<&[u8]>) -> &mut Self {
        if let Some(v) = value {
            self.put(name, v);
        }
        self
    }
    /// A string list as JSON (participants, device jids, requesters).
    pub fn list(&mut self, name: &'static str, value: Option<&[String]>) -> StoreResult<&mut Self> {
        if let Some(list) = value {
            self.put(name, crate::backend::json_list::encode(list)?);
        }
        Ok(self)
    }
}

pub fn flag(value: bool) -> &'static str {
    if value {
        "1"
    } else {
        "0"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn hashes_decode_strictly() {
        let h = Hash::from_value(
            Value::Array(vec![bulk("n"), bulk("42"), bulk("f"), bulk("1"), bulk("x"), bulk("?")]),
            "test",
        )
        .unwrap();
        assert_eq!(h.req_int("n").unwrap(), 42);
        assert_eq!(h.flag("f").unwrap(), Some(true));
        assert_eq!(h.flag("x").unwrap_err().code, ErrorCode::Corrupted);
        assert_eq!(h.req_int("x").unwrap_err().code, ErrorCode::Corrupted);
        assert_eq!(h.req_text("missing").unwrap_err().code, ErrorCode::Corrupted);
        assert_eq!(h.list("x").unwrap_err().code, ErrorCode::Corrupted);
        assert!(Hash::from_value(Value::Array(vec![bulk("odd")]), "t").is_err());
        assert!(Hash::from_value(Value::Int(1), "t").is_err());
        assert!(Hash::from_value(Value::Nil, "t").unwrap().is_empty());
    }

    #[test]
    fn replies_of_the_wrong_shape_are_corruption() {
        assert_eq!(int(bulk("x"), "t").unwrap_err().code, ErrorCode::Corrupted);
        assert_eq!(int(bulk("12"), "t").unwrap(), 12);
        assert_eq!(
            opt_bytes(Value::Array(vec![]), "t").unwrap_err().code,
            ErrorCode::Corrupted
        );
        assert_eq!(count(Value::Int(-3), "t").unwrap(), 0);
        assert!(tuple::<2>(Value::Array(vec![Value::Nil]), "t").is_err());
    }
}
