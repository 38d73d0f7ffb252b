//! JS values ↔ WSV bytes ([`crate::codec`]), streamed without an
//! intermediate tree. Runs on the JS thread: encoding happens while napi
//! converts call arguments, decoding while it resolves the promise.

use std::ptr;

use napi::bindgen_prelude::*;
use napi::sys;

use crate::codec::{Encoder, Reader, Token, TypedArrayKind, MAX_DEPTH, PREALLOC_LIMIT};
use crate::error::{StoreError, StoreResult};

fn check(status: sys::napi_status, what: &str) -> StoreResult<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(StoreError::invalid_argument(format!("could not read the value ({what} failed with napi status {status})")))
    }
}

fn out_check(status: sys::napi_status, what: &str) -> StoreResult<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(StoreError::new(crate::error::ErrorCode::ReadFailed, format!("could not build the JS value ({what} failed with napi status {status})")))
    }
}

/// Reads an own string-keyed property list and typed data out of JS values.
struct Walker {
    env: sys::napi_env,
    map_ctor: sys::napi_value,
    set_ctor: sys::napi_value,
    /// Node's `napi_is_buffer` is true for every Uint8Array; `instanceof Buffer` is not.
    buffer_ctor: sys::napi_value,
    enc: Encoder,
}

fn global_ctor(env: sys::napi_env, name: &str) -> StoreResult<sys::napi_value> {
    let mut global = ptr::null_mut();
    check(unsafe { sys::napi_get_global(env, &mut global) }, "napi_get_global")?;
    let mut ctor = ptr::null_mut();
    let cname = std::ffi::CString::new(name).map_err(|_| StoreError::invalid_argument("bad constructor name"))?;
    check(unsafe { sys::napi_get_named_property(env, global, cname.as_ptr(), &mut ctor) }, "get global constructor")?;
    Ok(ctor)
}

fn read_string(env: sys::napi_env, v: sys::napi_value) -> StoreResult<String> {
    let mut len = 0usize;
    check(unsafe { sys::napi_get_value_string_utf8(env, v, ptr::null_mut(), 0, &mut len) }, "string length")?;
    let mut buf = vec![0u8; len + 1];
    let mut written = 0usize;
    check(
        unsafe { sys::napi_get_value_string_utf8(env, v, buf.as_mut_ptr().cast(), buf.len(), &mut written) },
        "string read",
    )?;
    buf.truncate(written);
    // napi hands out UTF-8 (lone surrogates become U+FFFD), so this cannot fail in practice.
    String::from_utf8(buf).map_err(|_| StoreError::invalid_argument("string is not valid UTF-8"))
}

fn typed_array_kind(t: sys::napi_typedarray_type) -> Option<TypedArrayKind> {
    use sys::TypedarrayType as T;
    Some(match t {
        T::int8_array => TypedArrayKind::Int8,
        T::uint8_clamped_array => TypedArrayKind::Uint8Clamped,
        T::int16_array => TypedArrayKind::Int16,
        T::uint16_array => TypedArrayKind::Uint16,
        T::int32_array => TypedArrayKind::Int32,
        T::uint32_array => TypedArrayKind::Uint32,
        T::float32_array => TypedArrayKind::Float32,
        T::float64_array => TypedArrayKind::Float64,
        T::bigint64_array => TypedArrayKind::BigInt64,
        T::biguint64_array => TypedArrayKind::BigUint64,
        _ => return None,
    })
}

impl Walker {
    fn is(&self, v: sys::napi_value, f: unsafe extern "C" fn(sys::napi_env, sys::napi_value, *mut bool) -> sys::napi_status) -> StoreResult<bool> {
        let mut out = false;
        check(unsafe { f(self.env, v, &mut out) }, "type check")?;
        Ok(out)
    }

    fn instance_of(&self, v: sys::napi_value, ctor: sys::napi_value) -> StoreResult<bool> {
        let mut out = false;
        check(unsafe { sys::napi_instanceof(self.env, v, ctor, &mut out) }, "instanceof")?;
        Ok(out)
    }

    fn value(&mut self, v: sys::napi_value, depth: usize, path: &mut String) -> StoreResult<()> {
        if depth > MAX_DEPTH {
            return Err(StoreError::invalid_argument(format!(
                "value at {path} nests deeper than {MAX_DEPTH} levels (or refers to itself)"
            )));
        }
        let mut ty = 0;
        check(unsafe { sys::napi_typeof(self.env, v, &mut ty) }, "typeof")?;
        match ty {
            sys::ValueType::napi_undefined => self.enc.undefined(),
            sys::ValueType::napi_null => self.enc.null(),
            sys::ValueType::napi_boolean => {
                let mut b = false;
                check(unsafe { sys::napi_get_value_bool(self.env, v, &mut b) }, "bool")?;
                self.enc.bool(b);
            }
            sys::ValueType::napi_number => {
                let mut n = 0f64;
                check(unsafe { sys::napi_get_value_double(self.env, v, &mut n) }, "number")?;
                self.enc.number(n);
            }
            sys::ValueType::napi_string => {
                self.enc.string(&read_string(self.env, v)?);
                return self.size_check(path);
            }
            sys::ValueType::napi_bigint => self.bigint(v)?,
            sys::ValueType::napi_object => self.object(v, depth, path)?,
            sys::ValueType::napi_function => {
                return Err(StoreError::invalid_argument(format!("cannot store a function (at {path})")))
            }
            sys::ValueType::napi_symbol => {
                return Err(StoreError::invalid_argument(format!("cannot store a symbol (at {path})")))
            }
            _ => return Err(StoreError::invalid_argument(format!("cannot store this kind of value (at {path})"))),
        }
        Ok(())
    }

    fn bigint(&mut self, v: sys::napi_value) -> StoreResult<()> {
        let mut sign = 0i32;
        let mut count = 0usize;
        // Sign and words both null: napi returns only the word count.
        check(unsafe { sys::napi_get_value_bigint_words(self.env, v, ptr::null_mut(), &mut count, ptr::null_mut()) }, "bigint size")?;
        let mut words = vec![0u64; count];
        check(
            unsafe { sys::napi_get_value_bigint_words(self.env, v, &mut sign, &mut count, words.as_mut_ptr()) },
            "bigint words",
        )?;
        let mut magnitude: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        while magnitude.last() == Some(&0) {
            magnitude.pop();
        }
        self.enc.bigint(sign != 0 && !magnitude.is_empty(), &magnitude);
        Ok(())
    }

    fn object(&mut self, v: sys::napi_value, depth: usize, path: &mut String) -> StoreResult<()> {
        if self.is(v, sys::napi_is_typedarray)? {
            let (mut t, mut len, mut data, mut ab, mut off) = (0, 0usize, ptr::null_mut(), ptr::null_mut(), 0usize);
            check(unsafe { sys::napi_get_typedarray_info(self.env, v, &mut t, &mut len, &mut data, &mut ab, &mut off) }, "typed array")?;
            let bytes_len = len * typed_array_kind(t).map_or(1, |k| k.element_size());
            let bytes: &[u8] = if bytes_len == 0 || data.is_null() {
                &[]
            } else {
                // SAFETY: napi reports `data` valid for the view's byte length while we hold the value.
                unsafe { std::slice::from_raw_parts(data as *const u8, bytes_len) }
            };
            if t == sys::TypedarrayType::uint8_array {
                if self.instance_of(v, self.buffer_ctor)? {
                    self.enc.buffer(bytes);
                } else {
                    self.enc.uint8array(bytes);
                }
            } else if let Some(kind) = typed_array_kind(t) {
                self.enc.typed_array(kind, bytes);
            } else {
                return Err(StoreError::invalid_argument(format!("unsupported typed array (at {path})")));
            }
            return self.size_check(path);
        }
        if self.is(v, sys::napi_is_array)? {
            let mut len = 0u32;
            check(unsafe { sys::napi_get_array_length(self.env, v, &mut len) }, "array length")?;
            self.enc.array_header(len as usize);
            for i in 0..len {
                let mut item = ptr::null_mut();
                check(unsafe { sys::napi_get_element(self.env, v, i, &mut item) }, "array element")?;
                let mark = path.len();
                path.push_str(&format!("[{i}]"));
                self.value(item, depth + 1, path)?;
                path.truncate(mark);
            }
            return Ok(());
        }
        if self.is(v, sys::napi_is_arraybuffer)? {
            let (mut data, mut len) = (ptr::null_mut(), 0usize);
            check(unsafe { sys::napi_get_arraybuffer_info(self.env, v, &mut data, &mut len) }, "array buffer")?;
            let bytes: &[u8] = if len == 0 || data.is_null() { &[] } else { unsafe { std::slice::from_raw_parts(data as *const u8, len) } };
            self.enc.array_buffer(bytes);
            return self.size_check(path);
        }
        if self.is(v, sys::napi_is_date)? {
            let mut ms = 0f64;
            check(unsafe { sys::napi_get_date_value(self.env, v, &mut ms) }, "date")?;
            self.enc.date(ms);
            return Ok(());
        }
        if self.instance_of(v, self.map_ctor)? {
            return self.iterable(v, depth, path, true);
        }
        if self.instance_of(v, self.set_ctor)? {
            return self.iterable(v, depth, path, false);
        }
        // A plain object (or a class instance): its own enumerable string keys, in JS order.
        let mut keys = ptr::null_mut();
        check(
            unsafe {
                sys::napi_get_all_property_names(
                    self.env,
                    v,
                    sys::KeyCollectionMode::own_only,
                    sys::KeyFilter::enumerable | sys::KeyFilter::skip_symbols,
                    sys::KeyConversion::numbers_to_strings,
                    &mut keys,
                )
            },
            "property names",
        )?;
        let mut n = 0u32;
        check(unsafe { sys::napi_get_array_length(self.env, keys, &mut n) }, "key count")?;
        self.enc.object_header(n as usize);
        for i in 0..n {
            let mut key = ptr::null_mut();
            check(unsafe { sys::napi_get_element(self.env, keys, i, &mut key) }, "key")?;
            let name = read_string(self.env, key)?;
            let mut item = ptr::null_mut();
            check(unsafe { sys::napi_get_property(self.env, v, key, &mut item) }, "property")?;
            self.enc.key(&name);
            let mark = path.len();
            path.push('.');
            path.push_str(&name);
            self.value(item, depth + 1, path)?;
            path.truncate(mark);
        }
        Ok(())
    }

    /// Map and Set: read through `Array.from(x)`, which works for any Map/Set subclass.
    fn iterable(&mut self, v: sys::napi_value, depth: usize, path: &mut String, is_map: bool) -> StoreResult<()> {
        let array_ctor = global_ctor(self.env, "Array")?;
        let mut from = ptr::null_mut();
        check(unsafe { sys::napi_get_named_property(self.env, array_ctor, c"from".as_ptr(), &mut from) }, "Array.from")?;
        let mut list = ptr::null_mut();
        let args = [v];
        check(unsafe { sys::napi_call_function(self.env, array_ctor, from, 1, args.as_ptr(), &mut list) }, "Array.from call")?;
        let mut len = 0u32;
        check(unsafe { sys::napi_get_array_length(self.env, list, &mut len) }, "entries length")?;
        if is_map {
            self.enc.map_header(len as usize);
        } else {
            self.enc.set_header(len as usize);
        }
        for i in 0..len {
            let mut entry = ptr::null_mut();
            check(unsafe { sys::napi_get_element(self.env, list, i, &mut entry) }, "entry")?;
            if is_map {
                for part in 0..2 {
                    let mut item = ptr::null_mut();
                    check(unsafe { sys::napi_get_element(self.env, entry, part, &mut item) }, "map entry")?;
                    self.value(item, depth + 1, path)?;
                }
            } else {
                self.value(entry, depth + 1, path)?;
            }
        }
        Ok(())
    }

    /// Checked after each binary chunk, so a hostile value fails before filling memory.
    fn size_check(&self, path: &str) -> StoreResult<()> {
        let size = self.enc.len();
        if size <= crate::limits::current().value_bytes {
            return Ok(());
        }
        crate::limits::check_value(&format!("the value (so far, at {path})"), size)
    }
}

/// Encodes any JS value; `what` names the argument in error messages.
pub fn encode_js(env: sys::napi_env, v: sys::napi_value, what: &str) -> StoreResult<Vec<u8>> {
    let mut w = Walker {
        env,
        map_ctor: global_ctor(env, "Map")?,
        set_ctor: global_ctor(env, "Set")?,
        buffer_ctor: global_ctor(env, "Buffer")?,
        enc: Encoder::new(),
    };
    let mut path = what.to_owned();
    w.value(v, 0, &mut path)?;
    let out = w.enc.finish();
    crate::limits::check_value(&format!("{what} (encoded)"), out.len())?;
    Ok(out)
}

/// Builds JS values from WSV bytes.
struct Builder<'a> {
    env: sys::napi_env,
    reader: Reader<'a>,
}

impl Builder<'_> {
    fn bytes_value(&self, bytes: &[u8], as_buffer: bool) -> StoreResult<sys::napi_value> {
        new_bytes(self.env, bytes, as_buffer)
    }

    fn value(&mut self, depth: usize) -> StoreResult<sys::napi_value> {
        if depth > MAX_DEPTH {
            return Err(StoreError::corrupted("stored value nests too deep"));
        }
        let env = self.env;
        let mut out = ptr::null_mut();
        match self.reader.next_token()? {
            Token::Undefined => out_check(unsafe { sys::napi_get_undefined(env, &mut out) }, "undefined")?,
            Token::Null => out_check(unsafe { sys::napi_get_null(env, &mut out) }, "null")?,
            Token::Bool(b) => out_check(unsafe { sys::napi_get_boolean(env, b, &mut out) }, "bool")?,
            Token::Int(i) => out_check(unsafe { sys::napi_create_double(env, i as f64, &mut out) }, "number")?,
            Token::Float(f) => out_check(unsafe { sys::napi_create_double(env, f, &mut out) }, "number")?,
            Token::Str(s) => out = new_string(env, s)?,
            Token::Uint8Array(b) => out = self.bytes_value(b, false)?,
            Token::Buffer(b) => out = self.bytes_value(b, true)?,
            Token::Array(n) => {
                out_check(unsafe { sys::napi_create_array_with_length(env, n.min(PREALLOC_LIMIT), &mut out) }, "array")?;
                for i in 0..n {
                    let item = self.value(depth + 1)?;
                    out_check(unsafe { sys::napi_set_element(env, out, i as u32, item) }, "array element")?;
                }
            }
            Token::Object(n) => {
                out_check(unsafe { sys::napi_create_object(env, &mut out) }, "object")?;
                for _ in 0..n {
                    let name = self.reader.key()?;
                    let key = new_string(env, name)?;
                    let item = self.value(depth + 1)?;
                    if name == "__proto__" {
                        define_own(env, out, key, item)?;
                    } else {
                        out_check(unsafe { sys::napi_set_property(env, out, key, item) }, "property")?;
                    }
                }
            }
            Token::BigInt { negative, magnitude } => {
                let mut words: Vec<u64> = magnitude
                    .chunks(8)
                    .map(|c| {
                        let mut w = [0u8; 8];
                        w[..c.len()].copy_from_slice(c);
                        u64::from_le_bytes(w)
                    })
                    .collect();
                if words.is_empty() {
                    words.push(0);
                }
                out_check(
                    unsafe { sys::napi_create_bigint_words(env, negative as i32, words.len(), words.as_ptr(), &mut out) },
                    "bigint",
                )?;
            }
            Token::Date(ms) => out_check(unsafe { sys::napi_create_date(env, ms, &mut out) }, "date")?,
            Token::Map(n) => out = self.collection(n, true, depth)?,
            Token::Set(n) => out = self.collection(n, false, depth)?,
            Token::TypedArray { kind, bytes } => {
                let ab = new_arraybuffer(env, bytes)?;
                let t = match kind {
                    TypedArrayKind::Int8 => sys::TypedarrayType::int8_array,
                    TypedArrayKind::Uint8Clamped => sys::TypedarrayType::uint8_clamped_array,
                    TypedArrayKind::Int16 => sys::TypedarrayType::int16_array,
                    TypedArrayKind::Uint16 => sys::TypedarrayType::uint16_array,
                    TypedArrayKind::Int32 => sys::TypedarrayType::int32_array,
                    TypedArrayKind::Uint32 => sys::TypedarrayType::uint32_array,
                    TypedArrayKind::Float32 => sys::TypedarrayType::float32_array,
                    TypedArrayKind::Float64 => sys::TypedarrayType::float64_array,
                    TypedArrayKind::BigInt64 => sys::TypedarrayType::bigint64_array,
                    TypedArrayKind::BigUint64 => sys::TypedarrayType::biguint64_array,
                };
                let len = bytes.len() / kind.element_size();
                out_check(unsafe { sys::napi_create_typedarray(env, t, len, ab, 0, &mut out) }, "typed array")?;
            }
            Token::ArrayBuffer(b) => out = new_arraybuffer(env, b)?,
        }
        Ok(out)
    }

    fn collection(&mut self, n: usize, is_map: bool, depth: usize) -> StoreResult<sys::napi_value> {
        let mut entries = Vec::with_capacity(n.min(PREALLOC_LIMIT));
        for _ in 0..n {
            let k = self.value(depth + 1)?;
            let v = if is_map { Some(self.value(depth + 1)?) } else { None };
            entries.push((k, v));
        }
        new_collection(self.env, is_map, entries.into_iter().map(Ok))
    }
}

/// `new Map(entries)` built with `map.set(k, v)`.
pub fn new_map(env: sys::napi_env, entries: impl Iterator<Item = StoreResult<(sys::napi_value, sys::napi_value)>>) -> StoreResult<sys::napi_value> {
    new_collection(env, true, entries.map(|e| e.map(|(k, v)| (k, Some(v)))))
}

/// A `Map` (entries with values) or a `Set` (keys only).
fn new_collection(
    env: sys::napi_env,
    is_map: bool,
    entries: impl Iterator<Item = StoreResult<(sys::napi_value, Option<sys::napi_value>)>>,
) -> StoreResult<sys::napi_value> {
    let ctor = global_ctor(env, if is_map { "Map" } else { "Set" }).map_err(|e| StoreError::corrupted(e.message))?;
    let mut out = ptr::null_mut();
    out_check(unsafe { sys::napi_new_instance(env, ctor, 0, ptr::null(), &mut out) }, "new Map/Set")?;
    let mut method = ptr::null_mut();
    let name = if is_map { c"set" } else { c"add" };
    out_check(unsafe { sys::napi_get_named_property(env, out, name.as_ptr(), &mut method) }, "Map/Set method")?;
    for entry in entries {
        let (k, v) = entry?;
        let args: Vec<sys::napi_value> = std::iter::once(k).chain(v).collect();
        let mut ignored = ptr::null_mut();
        out_check(unsafe { sys::napi_call_function(env, out, method, args.len(), args.as_ptr(), &mut ignored) }, "Map/Set insert")?;
    }
    Ok(out)
}

/// An own, enumerable data property: assignment would call the `__proto__`
/// setter and change the prototype instead of storing the key.
pub fn define_own(env: sys::napi_env, obj: sys::napi_value, key: sys::napi_value, value: sys::napi_value) -> StoreResult<()> {
    let desc = sys::napi_property_descriptor {
        utf8name: ptr::null(),
        name: key,
        method: None,
        getter: None,
        setter: None,
        value,
        attributes: sys::PropertyAttributes::writable | sys::PropertyAttributes::enumerable | sys::PropertyAttributes::configurable,
        data: ptr::null_mut(),
    };
    out_check(unsafe { sys::napi_define_properties(env, obj, 1, &desc) }, "define property")
}

pub fn new_string(env: sys::napi_env, s: &str) -> StoreResult<sys::napi_value> {
    let mut out = ptr::null_mut();
    out_check(unsafe { sys::napi_create_string_utf8(env, s.as_ptr().cast(), s.len() as isize, &mut out) }, "string")?;
    Ok(out)
}

fn new_arraybuffer(env: sys::napi_env, bytes: &[u8]) -> StoreResult<sys::napi_value> {
    let mut data = ptr::null_mut();
    let mut ab = ptr::null_mut();
    out_check(unsafe { sys::napi_create_arraybuffer(env, bytes.len(), &mut data, &mut ab) }, "array buffer")?;
    if !bytes.is_empty() && !data.is_null() {
        // SAFETY: napi allocated `bytes.len()` bytes at `data`.
        unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), data as *mut u8, bytes.len()) };
    }
    Ok(ab)
}

/// A fresh `Uint8Array` (or Node `Buffer`) holding a copy of `bytes`.
pub fn new_bytes(env: sys::napi_env, bytes: &[u8], as_buffer: bool) -> StoreResult<sys::napi_value> {
    let mut out = ptr::null_mut();
    if as_buffer {
        let mut data = ptr::null_mut();
        out_check(unsafe { sys::napi_create_buffer_copy(env, bytes.len(), bytes.as_ptr().cast(), &mut data, &mut out) }, "buffer")?;
    } else {
        let ab = new_arraybuffer(env, bytes)?;
        out_check(unsafe { sys::napi_create_typedarray(env, sys::TypedarrayType::uint8_array, bytes.len(), ab, 0, &mut out) }, "Uint8Array")?;
    }
    Ok(out)
}

pub fn decode_js(env: sys::napi_env, bytes: &[u8]) -> StoreResult<sys::napi_value> {
    let mut b = Builder { env, reader: Reader::new(bytes)? };
    let v = b.value(0)?;
    if !b.reader.is_at_end() {
        return Err(StoreError::corrupted("stored value has trailing bytes"));
    }
    Ok(v)
}

/// A stored WSV blob, decoded into a JS value when returned.
pub struct Decoded(pub Vec<u8>);

impl ToNapiValue for Decoded {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        decode_js(env, &val.0).map_err(|e| super::errors::to_napi(env, &e))
    }
}

impl TypeName for Decoded {
    fn type_name() -> &'static str {
        "unknown"
    }
    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}
