//! `WSV` — the wastore value encoding, version 1.
//!
//! Structured values a client hands us (Signal session graphs, sender-key
//! records, credentials, protobuf-decoded objects) are stored as one opaque
//! blob in this format and come back deep-equal: a `Uint8Array` stays a
//! `Uint8Array`, a `Buffer` stays a `Buffer`, integers and floats stay numbers,
//! `undefined` fields stay present.
//!
//! Layout: `0xA5 0x01` (magic, version) followed by one value.
//! A value is a one-byte tag and its payload; lengths are LEB128 varints.
//!
//! | tag  | value          | payload                                     |
//! |------|----------------|---------------------------------------------|
//! | 0x00 | undefined      | –                                           |
//! | 0x01 | null           | –                                           |
//! | 0x02 | false          | –                                           |
//! | 0x03 | true           | –                                           |
//! | 0x04 | integer        | zigzag varint (safe integers only)          |
//! | 0x05 | float          | 8 bytes, IEEE-754 little endian             |
//! | 0x06 | string         | len, UTF-8                                  |
//! | 0x07 | Uint8Array     | len, bytes                                  |
//! | 0x08 | Buffer         | len, bytes                                  |
//! | 0x09 | array          | count, values                               |
//! | 0x0A | object         | count, (len, UTF-8 key, value) pairs        |
//! | 0x0B | bigint         | sign byte (0/1), len, magnitude (LE)        |
//! | 0x0C | Date           | 8 bytes, f64 ms since epoch                 |
//! | 0x0D | Map            | count, (key value, value) pairs             |
//! | 0x0E | Set            | count, values                               |
//! | 0x0F | other typed array | kind byte, len, bytes                    |
//! | 0x10 | ArrayBuffer    | len, bytes                                  |
//!
//! Decoders must reject unknown tags and versions with `STORE_CORRUPTED`.

use crate::error::{StoreError, StoreResult};

pub const MAGIC: u8 = 0xA5;
pub const VERSION: u8 = 1;
/// Deeper nesting than this is refused: it is either hostile or cyclic. Kept
/// well below what walking JS values recursively can afford on V8's stack.
pub const MAX_DEPTH: usize = 96;

/// Most elements a decoder reserves room for ahead of reading them. A count
/// is only bounded by the bytes left, and each nesting level may declare
/// one that large, so containers grow as elements actually decode.
pub const PREALLOC_LIMIT: usize = 1024;

pub mod tag {
    pub const UNDEFINED: u8 = 0x00;
    pub const NULL: u8 = 0x01;
    pub const FALSE: u8 = 0x02;
    pub const TRUE: u8 = 0x03;
    pub const INT: u8 = 0x04;
    pub const FLOAT: u8 = 0x05;
    pub const STRING: u8 = 0x06;
    pub const UINT8ARRAY: u8 = 0x07;
    pub const BUFFER: u8 = 0x08;
    pub const ARRAY: u8 = 0x09;
    pub const OBJECT: u8 = 0x0A;
    pub const BIGINT: u8 = 0x0B;
    pub const DATE: u8 = 0x0C;
    pub const MAP: u8 = 0x0D;
    pub const SET: u8 = 0x0E;
    pub const TYPED_ARRAY: u8 = 0x0F;
    pub const ARRAY_BUFFER: u8 = 0x10;
}

/// Kinds of typed arrays other than `Uint8Array` (tag 0x0F).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum TypedArrayKind {
    Int8 = 1,
    Uint8Clamped = 2,
    Int16 = 3,
    Uint16 = 4,
    Int32 = 5,
    Uint32 = 6,
    Float32 = 7,
    Float64 = 8,
    BigInt64 = 9,
    BigUint64 = 10,
}

impl TypedArrayKind {
    pub fn from_byte(byte: u8) -> Option<Self> {
        use TypedArrayKind::*;
        Some(match byte {
            1 => Int8,
            2 => Uint8Clamped,
            3 => Int16,
            4 => Uint16,
            5 => Int32,
            6 => Uint32,
            7 => Float32,
            8 => Float64,
            9 => BigInt64,
            10 => BigUint64,
            _ => return None,
        })
    }

    pub fn element_size(self) -> usize {
        use TypedArrayKind::*;
        match self {
            Int8 | Uint8Clamped => 1,
            Int16 | Uint16 => 2,
            Int32 | Uint32 | Float32 => 4,
            Float64 | BigInt64 | BigUint64 => 8,
        }
    }
}

/// A decoded value tree. The napi layer streams straight to and from JS
/// instead; this type is what Rust code and tests use.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Undefined,
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Bytes(Vec<u8>),
    Buffer(Vec<u8>),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
    BigInt { negative: bool, magnitude: Vec<u8> },
    Date(f64),
    Map(Vec<(Value, Value)>),
    Set(Vec<Value>),
    TypedArray { kind: TypedArrayKind, bytes: Vec<u8> },
    ArrayBuffer(Vec<u8>),
}

/// Largest integer a JS number holds exactly.
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// Streaming writer. Callers write the header once, then values depth-first.
#[derive(Default)]
pub struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(64);
        buf.push(MAGIC);
        buf.push(VERSION);
        Self { buf }
    }

    pub fn finish(self) -> Vec<u8> {
        self.buf
    }

    /// Bytes written so far (header included).
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.len() <= 2
    }

    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    fn len_bytes(&mut self, bytes: &[u8]) {
        self.varint(bytes.len() as u64);
        self.buf.extend_from_slice(bytes);
    }

    pub fn undefined(&mut self) {
        self.buf.push(tag::UNDEFINED);
    }
    pub fn null(&mut self) {
        self.buf.push(tag::NULL);
    }
    pub fn bool(&mut self, v: bool) {
        self.buf.push(if v { tag::TRUE } else { tag::FALSE });
    }
    /// Numbers: safe integers as varints (compact), everything else (fractions,
    /// NaN, ±Infinity, -0) as f64 bits so they come back identical.
    pub fn number(&mut self, v: f64) {
        let is_int = v.fract() == 0.0 && v.abs() <= MAX_SAFE_INTEGER as f64 && !(v == 0.0 && v.is_sign_negative());
        if is_int {
            self.int(v as i64);
        } else {
            self.float(v);
        }
    }
    pub fn int(&mut self, v: i64) {
        self.buf.push(tag::INT);
        self.varint(((v << 1) ^ (v >> 63)) as u64);
    }
    pub fn float(&mut self, v: f64) {
        self.buf.push(tag::FLOAT);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn string(&mut self, s: &str) {
        self.buf.push(tag::STRING);
        self.len_bytes(s.as_bytes());
    }
    pub fn uint8array(&mut self, b: &[u8]) {
        self.buf.push(tag::UINT8ARRAY);
        self.len_bytes(b);
    }
    pub fn buffer(&mut self, b: &[u8]) {
        self.buf.push(tag::BUFFER);
        self.len_bytes(b);
    }
    pub fn array_header(&mut self, count: usize) {
        self.buf.push(tag::ARRAY);
        self.varint(count as u64);
    }
    pub fn object_header(&mut self, count: usize) {
        self.buf.push(tag::OBJECT);
        self.varint(count as u64);
    }
    /// An object key; the value follows.
    pub fn key(&mut self, k: &str) {
        self.len_bytes(k.as_bytes());
    }
    pub fn bigint(&mut self, negative: bool, magnitude_le: &[u8]) {
        self.buf.push(tag::BIGINT);
        self.buf.push(negative as u8);
        self.len_bytes(magnitude_le);
    }
    pub fn date(&mut self, ms: f64) {
        self.buf.push(tag::DATE);
        self.buf.extend_from_slice(&ms.to_le_bytes());
    }
    pub fn map_header(&mut self, count: usize) {
        self.buf.push(tag::MAP);
        self.varint(count as u64);
    }
    pub fn set_header(&mut self, count: usize) {
        self.buf.push(tag::SET);
        self.varint(count as u64);
    }
    pub fn typed_array(&mut self, kind: TypedArrayKind, bytes: &[u8]) {
        self.buf.push(tag::TYPED_ARRAY);
        self.buf.push(kind as u8);
        self.len_bytes(bytes);
    }
    pub fn array_buffer(&mut self, bytes: &[u8]) {
        self.buf.push(tag::ARRAY_BUFFER);
        self.len_bytes(bytes);
    }

    pub fn value(&mut self, value: &Value) {
        match value {
            Value::Undefined => self.undefined(),
            Value::Null => self.null(),
            Value::Bool(b) => self.bool(*b),
            Value::Int(i) => self.int(*i),
            Value::Float(f) => self.float(*f),
            Value::String(s) => self.string(s),
            Value::Bytes(b) => self.uint8array(b),
            Value::Buffer(b) => self.buffer(b),
            Value::Array(items) => {
                self.array_header(items.len());
                items.iter().for_each(|v| self.value(v));
            }
            Value::Object(fields) => {
                self.object_header(fields.len());
                for (k, v) in fields {
                    self.key(k);
                    self.value(v);
                }
            }
            Value::BigInt { negative, magnitude } => self.bigint(*negative, magnitude),
            Value::Date(ms) => self.date(*ms),
            Value::Map(entries) => {
                self.map_header(entries.len());
                for (k, v) in entries {
                    self.value(k);
                    self.value(v);
                }
            }
            Value::Set(items) => {
                self.set_header(items.len());
                items.iter().for_each(|v| self.value(v));
            }
            Value::TypedArray { kind, bytes } => self.typed_array(*kind, bytes),
            Value::ArrayBuffer(b) => self.array_buffer(b),
        }
    }
}

pub fn encode(value: &Value) -> Vec<u8> {
    let mut enc = Encoder::new();
    enc.value(value);
    enc.finish()
}

/// One step of a decode: scalars carry their data, containers their element count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Token<'a> {
    Undefined,
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
    Uint8Array(&'a [u8]),
    Buffer(&'a [u8]),
    Array(usize),
    Object(usize),
    BigInt { negative: bool, magnitude: &'a [u8] },
    Date(f64),
    Map(usize),
    Set(usize),
    TypedArray { kind: TypedArrayKind, bytes: &'a [u8] },
    ArrayBuffer(&'a [u8]),
}

/// Streaming reader over an encoded blob. Every length is checked against the
/// remaining input, so a corrupted blob fails instead of allocating wildly.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::corrupted(format!("stored value is not valid WSV data ({what})"))
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> StoreResult<Self> {
        match buf {
            [MAGIC, VERSION, ..] => Ok(Self { buf, pos: 2 }),
            [MAGIC, v, ..] => Err(StoreError::corrupted(format!(
                "stored value has encoding version {v}; this wastore reads version {VERSION}"
            ))),
            _ => Err(corrupt("missing header")),
        }
    }

    pub fn is_at_end(&self) -> bool {
        self.pos == self.buf.len()
    }

    fn byte(&mut self) -> StoreResult<u8> {
        let b = *self.buf.get(self.pos).ok_or_else(|| corrupt("truncated"))?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> StoreResult<u64> {
        let mut out = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            out |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(out);
            }
        }
        Err(corrupt("varint too long"))
    }

    fn take(&mut self, len: usize) -> StoreResult<&'a [u8]> {
        let end = self.pos.checked_add(len).filter(|e| *e <= self.buf.len()).ok_or_else(|| corrupt("length past end"))?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn len_bytes(&mut self) -> StoreResult<&'a [u8]> {
        let len = self.varint()?;
        let len = usize::try_from(len).map_err(|_| corrupt("length overflow"))?;
        self.take(len)
    }

    /// A container count; each element takes at least one byte, which bounds it.
    fn count(&mut self) -> StoreResult<usize> {
        let n = self.varint()?;
        let remaining = (self.buf.len() - self.pos) as u64;
        if n > remaining {
            return Err(corrupt("element count past end"));
        }
        Ok(n as usize)
    }

    fn f64(&mut self) -> StoreResult<f64> {
        let raw = self.take(8)?;
        let mut arr = [0u8; 8];
        arr.copy_from_slice(raw);
        Ok(f64::from_le_bytes(arr))
    }

    pub fn key(&mut self) -> StoreResult<&'a str> {
        std::str::from_utf8(self.len_bytes()?).map_err(|_| corrupt("object key is not UTF-8"))
    }

    pub fn next_token(&mut self) -> StoreResult<Token<'a>> {
        Ok(match self.byte()? {
            tag::UNDEFINED => Token::Undefined,
            tag::NULL => Token::Null,
            tag::FALSE => Token::Bool(false),
            tag::TRUE => Token::Bool(true),
            tag::INT => {
                let z = self.varint()?;
                Token::Int(((z >> 1) as i64) ^ -((z & 1) as i64))
            }
            tag::FLOAT => Token::Float(self.f64()?),
            tag::STRING => Token::Str(std::str::from_utf8(self.len_bytes()?).map_err(|_| corrupt("string is not UTF-8"))?),
            tag::UINT8ARRAY => Token::Uint8Array(self.len_bytes()?),
            tag::BUFFER => Token::Buffer(self.len_bytes()?),
            tag::ARRAY => Token::Array(self.count()?),
            tag::OBJECT => Token::Object(self.count()?),
            tag::BIGINT => {
                let negative = self.byte()? != 0;
                Token::BigInt { negative, magnitude: self.len_bytes()? }
            }
            tag::DATE => Token::Date(self.f64()?),
            tag::MAP => Token::Map(self.count()?),
            tag::SET => Token::Set(self.count()?),
            tag::TYPED_ARRAY => {
                let kind = TypedArrayKind::from_byte(self.byte()?).ok_or_else(|| corrupt("unknown typed array kind"))?;
                let bytes = self.len_bytes()?;
                if bytes.len() % kind.element_size() != 0 {
                    return Err(corrupt("typed array length"));
                }
                Token::TypedArray { kind, bytes }
            }
            tag::ARRAY_BUFFER => Token::ArrayBuffer(self.len_bytes()?),
            other => return Err(corrupt(&format!("unknown tag 0x{other:02x}"))),
        })
    }

    pub fn value(&mut self, depth: usize) -> StoreResult<Value> {
        if depth > MAX_DEPTH {
            return Err(corrupt("nesting too deep"));
        }
        Ok(match self.next_token()? {
            Token::Undefined => Value::Undefined,
            Token::Null => Value::Null,
            Token::Bool(b) => Value::Bool(b),
            Token::Int(i) => Value::Int(i),
            Token::Float(f) => Value::Float(f),
            Token::Str(s) => Value::String(s.to_owned()),
            Token::Uint8Array(b) => Value::Bytes(b.to_vec()),
            Token::Buffer(b) => Value::Buffer(b.to_vec()),
            Token::Array(n) => Value::Array(self.values(n, depth)?),
            Token::Object(n) => {
                let mut fields = Vec::with_capacity(n.min(PREALLOC_LIMIT));
                for _ in 0..n {
                    let k = self.key()?.to_owned();
                    fields.push((k, self.value(depth + 1)?));
                }
                Value::Object(fields)
            }
            Token::BigInt { negative, magnitude } => Value::BigInt { negative, magnitude: magnitude.to_vec() },
            Token::Date(ms) => Value::Date(ms),
            Token::Map(n) => {
                let mut entries = Vec::with_capacity(n.min(PREALLOC_LIMIT));
                for _ in 0..n {
                    let k = self.value(depth + 1)?;
                    entries.push((k, self.value(depth + 1)?));
                }
                Value::Map(entries)
            }
            Token::Set(n) => Value::Set(self.values(n, depth)?),
            Token::TypedArray { kind, bytes } => Value::TypedArray { kind, bytes: bytes.to_vec() },
            Token::ArrayBuffer(b) => Value::ArrayBuffer(b.to_vec()),
        })
    }
}

impl Reader<'_> {
    /// `n` elements one level below `depth`.
    fn values(&mut self, n: usize, depth: usize) -> StoreResult<Vec<Value>> {
        let mut out = Vec::with_capacity(n.min(PREALLOC_LIMIT));
        for _ in 0..n {
            out.push(self.value(depth + 1)?);
        }
        Ok(out)
    }
}

pub fn decode(bytes: &[u8]) -> StoreResult<Value> {
    let mut reader = Reader::new(bytes)?;
    let value = reader.value(0)?;
    if !reader.is_at_end() {
        return Err(corrupt("trailing bytes"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn sample() -> Value {
        Value::Object(vec![
            ("undef".into(), Value::Undefined),
            ("n".into(), Value::Null),
            ("t".into(), Value::Bool(true)),
            ("i".into(), Value::Int(-(1 << 52))),
            ("f".into(), Value::Float(-0.0)),
            ("nan".into(), Value::Float(f64::NAN)),
            ("s".into(), Value::String("héllo 'quoted' % ✓".into())),
            ("b".into(), Value::Bytes(vec![0, 1, 255])),
            ("buf".into(), Value::Buffer(vec![9; 300])),
            ("arr".into(), Value::Array(vec![Value::Int(1), Value::Array(vec![])])),
            ("big".into(), Value::BigInt { negative: true, magnitude: vec![1, 2, 3] }),
            ("d".into(), Value::Date(1_700_000_000_000.0)),
            ("m".into(), Value::Map(vec![(Value::Int(1), Value::String("x".into()))])),
            ("set".into(), Value::Set(vec![Value::Bool(false)])),
            ("ta".into(), Value::TypedArray { kind: TypedArrayKind::Int32, bytes: vec![1, 0, 0, 0] }),
            ("ab".into(), Value::ArrayBuffer(vec![7, 7])),
        ])
    }

    fn same(a: &Value, b: &Value) -> bool {
        // NaN != NaN under PartialEq; compare through the encoding instead.
        encode(a) == encode(b)
    }

    #[test]
    fn round_trips_every_kind() {
        let v = sample();
        let bytes = encode(&v);
        assert_eq!(&bytes[..2], &[MAGIC, VERSION]);
        assert!(same(&decode(&bytes).unwrap(), &v));
    }

    #[test]
    fn numbers_keep_their_identity() {
        for n in [0.0, -0.0, 1.5, 1e300, f64::INFINITY, -(MAX_SAFE_INTEGER as f64), 9007199254740993.0] {
            let mut e = Encoder::new();
            e.number(n);
            let got = match decode(&e.finish()).unwrap() {
                Value::Int(i) => i as f64,
                Value::Float(f) => f,
                other => panic!("{other:?}"),
            };
            assert_eq!(got.to_bits(), n.to_bits(), "{n}");
        }
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        let good = encode(&sample());
        for cut in 0..good.len() {
            let _ = decode(&good[..cut]);
        }
        let mut wrong_version = good.clone();
        wrong_version[1] = 9;
        let err = decode(&wrong_version).unwrap_err();
        assert_eq!(err.code, ErrorCode::Corrupted);
        assert!(err.message.contains("version 9"));
        assert_eq!(decode(b"{\"json\":1}").unwrap_err().code, ErrorCode::Corrupted);
        // A huge declared length must fail, not allocate.
        let huge = [MAGIC, VERSION, tag::ARRAY, 0xff, 0xff, 0xff, 0xff, 0x0f];
        assert_eq!(decode(&huge).unwrap_err().code, ErrorCode::Corrupted);
        let mut trailing = good;
        trailing.push(0);
        assert!(decode(&trailing).is_err());
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut v = Value::Null;
        for _ in 0..(MAX_DEPTH + 2) {
            v = Value::Array(vec![v]);
        }
        assert_eq!(decode(&encode(&v)).unwrap_err().code, ErrorCode::Corrupted);
    }
}
