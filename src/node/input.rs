//! Reading call arguments into domain types, with `STORE_INVALID_ARGUMENT`
//! errors that name the argument or field (`address.device`, `records[3].jid`).
//!
//! Arguments are read while napi converts them (on the JS thread), into plain
//! Rust values that can cross into the async backend call.

use std::ptr;

use napi::bindgen_prelude::*;
use napi::sys;

use crate::codec::MAX_SAFE_INTEGER;
use crate::domain::SignalAddress;
use crate::error::{StoreError, StoreResult};

use super::value::encode_js;

/// A JS value and the path that names it in error messages.
#[derive(Clone)]
pub struct In {
    pub env: sys::napi_env,
    pub value: sys::napi_value,
    pub path: String,
}

fn bad(path: &str, expected: &str, got: &str) -> StoreError {
    StoreError::invalid_argument(format!("{path} must be {expected}, got {got}"))
}

impl In {
    pub fn new(env: sys::napi_env, value: sys::napi_value, path: impl Into<String>) -> Self {
        Self { env, value, path: path.into() }
    }

    pub fn type_of(&self) -> sys::napi_valuetype {
        let mut ty = sys::ValueType::napi_undefined;
        unsafe { sys::napi_typeof(self.env, self.value, &mut ty) };
        ty
    }

    fn describe(&self) -> &'static str {
        match self.type_of() {
            sys::ValueType::napi_undefined => "undefined",
            sys::ValueType::napi_null => "null",
            sys::ValueType::napi_boolean => "a boolean",
            sys::ValueType::napi_number => "a number",
            sys::ValueType::napi_string => "a string",
            sys::ValueType::napi_symbol => "a symbol",
            sys::ValueType::napi_object => {
                if self.is(sys::napi_is_array) {
                    "an array"
                } else if self.is(sys::napi_is_typedarray) {
                    "a typed array"
                } else {
                    "an object"
                }
            }
            sys::ValueType::napi_function => "a function",
            sys::ValueType::napi_bigint => "a bigint",
            _ => "an unsupported value",
        }
    }

    fn is(&self, f: unsafe extern "C" fn(sys::napi_env, sys::napi_value, *mut bool) -> sys::napi_status) -> bool {
        let mut out = false;
        (unsafe { f(self.env, self.value, &mut out) }) == sys::Status::napi_ok && out
    }

    pub fn is_nullish(&self) -> bool {
        matches!(self.type_of(), sys::ValueType::napi_undefined | sys::ValueType::napi_null)
    }

    /// A property of an object argument (`undefined` when missing).
    pub fn field(&self, key: &str) -> StoreResult<In> {
        if self.type_of() != sys::ValueType::napi_object {
            return Err(bad(&self.path, "an object", self.describe()));
        }
        let name = std::ffi::CString::new(key).map_err(|_| StoreError::invalid_argument("bad field name"))?;
        let mut out = ptr::null_mut();
        let status = unsafe { sys::napi_get_named_property(self.env, self.value, name.as_ptr(), &mut out) };
        if status != sys::Status::napi_ok {
            return Err(StoreError::invalid_argument(format!("could not read {}.{key}", self.path)));
        }
        Ok(In::new(self.env, out, format!("{}.{key}", self.path)))
    }

    pub fn object(self) -> StoreResult<In> {
        if self.type_of() == sys::ValueType::napi_object && !self.is(sys::napi_is_array) {
            Ok(self)
        } else {
            Err(bad(&self.path, "an object", self.describe()))
        }
    }

    /// Any string (may be empty).
    pub fn string(&self) -> StoreResult<String> {
        if self.type_of() != sys::ValueType::napi_string {
            return Err(bad(&self.path, "a string", self.describe()));
        }
        let mut len = 0usize;
        unsafe { sys::napi_get_value_string_utf8(self.env, self.value, ptr::null_mut(), 0, &mut len) };
        // Hostile 10 KB ids pass, megabyte keys do not ([`crate::limits`]).
        crate::limits::check_id(&self.path, len)?;
        let mut buf = vec![0u8; len + 1];
        let mut written = 0usize;
        let status = unsafe { sys::napi_get_value_string_utf8(self.env, self.value, buf.as_mut_ptr().cast(), buf.len(), &mut written) };
        if status != sys::Status::napi_ok {
            return Err(StoreError::invalid_argument(format!("could not read {}", self.path)));
        }
        buf.truncate(written);
        String::from_utf8(buf).map_err(|_| StoreError::invalid_argument(format!("{} is not valid UTF-8", self.path)))
    }

    /// A non-empty string: ids, jids, names.
    pub fn id(&self) -> StoreResult<String> {
        let s = self.string()?;
        if s.is_empty() {
            return Err(StoreError::invalid_argument(format!("{} must be a non-empty string", self.path)));
        }
        Ok(s)
    }

    pub fn opt_string(&self) -> StoreResult<Option<String>> {
        if self.is_nullish() { Ok(None) } else { self.string().map(Some) }
    }

    pub fn number(&self) -> StoreResult<f64> {
        if self.type_of() != sys::ValueType::napi_number {
            return Err(bad(&self.path, "a number", self.describe()));
        }
        let mut n = 0f64;
        unsafe { sys::napi_get_value_double(self.env, self.value, &mut n) };
        Ok(n)
    }

    /// A safe integer (timestamps, counters, versions).
    pub fn int(&self) -> StoreResult<i64> {
        let n = self.number()?;
        if n.is_finite() && n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER as f64 {
            Ok(n as i64)
        } else {
            Err(bad(&self.path, "a safe integer", &n.to_string()))
        }
    }

    pub fn opt_int(&self) -> StoreResult<Option<i64>> {
        if self.is_nullish() { Ok(None) } else { self.int().map(Some) }
    }

    /// A non-negative integer that fits 32 bits (key ids, device ids, registration ids).
    pub fn u32(&self) -> StoreResult<u32> {
        let n = self.number()?;
        if n.is_finite() && n.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&n) {
            Ok(n as u32)
        } else {
            Err(bad(&self.path, "an integer from 0 to 4294967295", &n.to_string()))
        }
    }

    pub fn bool(&self) -> StoreResult<bool> {
        if self.type_of() != sys::ValueType::napi_boolean {
            return Err(bad(&self.path, "a boolean", self.describe()));
        }
        let mut b = false;
        unsafe { sys::napi_get_value_bool(self.env, self.value, &mut b) };
        Ok(b)
    }

    pub fn opt_bool(&self) -> StoreResult<Option<bool>> {
        if self.is_nullish() { Ok(None) } else { self.bool().map(Some) }
    }

    /// A `Uint8Array` (a Node `Buffer` is one too), copied.
    pub fn bytes(&self) -> StoreResult<Vec<u8>> {
        if !self.is(sys::napi_is_typedarray) {
            return Err(bad(&self.path, "a Uint8Array", self.describe()));
        }
        let (mut t, mut len, mut data, mut ab, mut off) = (0, 0usize, ptr::null_mut(), ptr::null_mut(), 0usize);
        let status = unsafe { sys::napi_get_typedarray_info(self.env, self.value, &mut t, &mut len, &mut data, &mut ab, &mut off) };
        if status != sys::Status::napi_ok || t != sys::TypedarrayType::uint8_array {
            return Err(bad(&self.path, "a Uint8Array", "another typed array"));
        }
        crate::limits::check_value(&self.path, len)?;
        if len == 0 || data.is_null() {
            return Ok(Vec::new());
        }
        // SAFETY: napi guarantees `data` points at `len` bytes of the live view.
        Ok(unsafe { std::slice::from_raw_parts(data as *const u8, len) }.to_vec())
    }

    pub fn opt_bytes(&self) -> StoreResult<Option<Vec<u8>>> {
        if self.is_nullish() { Ok(None) } else { self.bytes().map(Some) }
    }

    /// Any value, as a WSV blob.
    pub fn encoded(&self) -> StoreResult<Vec<u8>> {
        encode_js(self.env, self.value, &self.path)
    }

    /// The elements of an array argument.
    pub fn items(&self) -> StoreResult<Vec<In>> {
        if !self.is(sys::napi_is_array) {
            return Err(bad(&self.path, "an array", self.describe()));
        }
        let mut len = 0u32;
        unsafe { sys::napi_get_array_length(self.env, self.value, &mut len) };
        crate::limits::check_batch(&self.path, len as usize)?;
        (0..len)
            .map(|i| {
                let mut item = ptr::null_mut();
                let status = unsafe { sys::napi_get_element(self.env, self.value, i, &mut item) };
                if status != sys::Status::napi_ok {
                    return Err(StoreError::invalid_argument(format!("could not read {}[{i}]", self.path)));
                }
                Ok(In::new(self.env, item, format!("{}[{i}]", self.path)))
            })
            .collect()
    }

    /// `[...]` mapped element by element.
    pub fn list<T>(&self, f: impl Fn(&In) -> StoreResult<T>) -> StoreResult<Vec<T>> {
        self.items()?.iter().map(f).collect()
    }

    /// Entries of a `Map` (or of a plain object, for callers that pass a record).
    pub fn map_entries(&self) -> StoreResult<Vec<(In, In)>> {
        let map_ctor = global(self.env, "Map")?;
        let mut is_map = false;
        unsafe { sys::napi_instanceof(self.env, self.value, map_ctor, &mut is_map) };
        if is_map {
            let array = global(self.env, "Array")?;
            let mut from = ptr::null_mut();
            unsafe { sys::napi_get_named_property(self.env, array, c"from".as_ptr(), &mut from) };
            let mut list = ptr::null_mut();
            let status = unsafe { sys::napi_call_function(self.env, array, from, 1, [self.value].as_ptr(), &mut list) };
            if status != sys::Status::napi_ok {
                return Err(StoreError::invalid_argument(format!("could not read the entries of {}", self.path)));
            }
            let entries = In::new(self.env, list, self.path.clone()).items()?;
            return entries
                .into_iter()
                .map(|e| {
                    let k = element(&e, 0)?;
                    let v = element(&e, 1)?;
                    Ok((k, v))
                })
                .collect();
        }
        let obj = self.clone().object().map_err(|_| bad(&self.path, "a Map", self.describe()))?;
        let mut keys = ptr::null_mut();
        unsafe { sys::napi_get_property_names(self.env, obj.value, &mut keys) };
        In::new(self.env, keys, self.path.clone())
            .items()?
            .into_iter()
            .map(|k| {
                let name = k.string()?;
                let v = obj.field(&name)?;
                Ok((In::new(self.env, k.value, format!("{}[{name:?}]", self.path)), v))
            })
            .collect()
    }
}

fn element(arr: &In, i: u32) -> StoreResult<In> {
    let mut out = ptr::null_mut();
    unsafe { sys::napi_get_element(arr.env, arr.value, i, &mut out) };
    Ok(In::new(arr.env, out, format!("{}[{i}]", arr.path)))
}

fn global(env: sys::napi_env, name: &str) -> StoreResult<sys::napi_value> {
    let mut g = ptr::null_mut();
    unsafe { sys::napi_get_global(env, &mut g) };
    let cname = std::ffi::CString::new(name).map_err(|_| StoreError::invalid_argument("bad global name"))?;
    let mut out = ptr::null_mut();
    let status = unsafe { sys::napi_get_named_property(env, g, cname.as_ptr(), &mut out) };
    if status != sys::Status::napi_ok {
        return Err(StoreError::invalid_argument(format!("global {name} is not available")));
    }
    Ok(out)
}

/// Types that can be read from one call argument.
pub trait FromJs: Sized {
    /// Name used in error messages when the argument has no better name.
    const WHAT: &'static str;
    fn from_js(input: &In) -> StoreResult<Self>;
}

/// A call argument read with [`FromJs`]; invalid input throws `STORE_INVALID_ARGUMENT`.
pub struct Arg<T>(pub T);

impl<T: FromJs> FromNapiValue for Arg<T> {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        T::from_js(&In::new(env, value, T::WHAT)).map(Arg).map_err(|e| super::errors::to_napi(env, &e))
    }
}

impl<T> TypeName for Arg<T> {
    fn type_name() -> &'static str {
        "unknown"
    }
    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

impl<T: FromJs> ValidateNapiValue for Arg<T> {}

/// Optional arguments: `undefined`/`null`/missing → `None`.
impl<T: FromJs> FromJs for Option<T> {
    const WHAT: &'static str = T::WHAT;
    fn from_js(input: &In) -> StoreResult<Self> {
        if input.is_nullish() { Ok(None) } else { T::from_js(input).map(Some) }
    }
}

impl<T: FromJs> FromJs for Vec<T> {
    const WHAT: &'static str = T::WHAT;
    fn from_js(input: &In) -> StoreResult<Self> {
        input.list(T::from_js)
    }
}

/// A non-empty string argument (ids, jids).
pub struct Id(pub String);
impl FromJs for Id {
    const WHAT: &'static str = "id";
    fn from_js(input: &In) -> StoreResult<Self> {
        input.id().map(Id)
    }
}

/// A safe-integer argument (timestamps).
pub struct Int(pub i64);
impl FromJs for Int {
    const WHAT: &'static str = "number";
    fn from_js(input: &In) -> StoreResult<Self> {
        input.int().map(Int)
    }
}

/// A number argument that may be negative or beyond 32 bits (validated by the method).
pub struct Num(pub f64);
impl FromJs for Num {
    const WHAT: &'static str = "number";
    fn from_js(input: &In) -> StoreResult<Self> {
        input.number().map(Num)
    }
}

/// A `limit` argument (validated by the method); errors name it.
pub struct Limit(pub f64);
impl FromJs for Limit {
    const WHAT: &'static str = "limit";
    fn from_js(input: &In) -> StoreResult<Self> {
        input.number().map(Limit)
    }
}

/// A `count` argument (validated by the method); errors name it.
pub struct Count(pub f64);
impl FromJs for Count {
    const WHAT: &'static str = "count";
    fn from_js(input: &In) -> StoreResult<Self> {
        input.number().map(Count)
    }
}

/// A non-negative 32-bit integer argument (key ids).
pub struct KeyId(pub u32);
impl FromJs for KeyId {
    const WHAT: &'static str = "keyId";
    fn from_js(input: &In) -> StoreResult<Self> {
        input.u32().map(KeyId)
    }
}

pub struct Bool(pub bool);
impl FromJs for Bool {
    const WHAT: &'static str = "value";
    fn from_js(input: &In) -> StoreResult<Self> {
        input.bool().map(Bool)
    }
}

pub struct Bytes(pub Vec<u8>);
impl FromJs for Bytes {
    const WHAT: &'static str = "bytes";
    fn from_js(input: &In) -> StoreResult<Self> {
        input.bytes().map(Bytes)
    }
}

fn typeof_(env: sys::napi_env, v: sys::napi_value) -> Option<sys::napi_valuetype> {
    let mut t = 0;
    (unsafe { sys::napi_typeof(env, v, &mut t) } == sys::Status::napi_ok).then_some(t)
}

fn prop(env: sys::napi_env, obj: sys::napi_value, name: &std::ffi::CStr) -> Option<sys::napi_value> {
    let mut out = ptr::null_mut();
    (unsafe { sys::napi_get_named_property(env, obj, name.as_ptr(), &mut out) } == sys::Status::napi_ok).then_some(out)
}

/// A short non-empty string, read into a stack buffer; `None` for anything else.
pub fn quick_string(env: sys::napi_env, v: sys::napi_value) -> Option<String> {
    let mut buf = [0u8; 128];
    let mut written = 0usize;
    let ok = unsafe { sys::napi_get_value_string_utf8(env, v, buf.as_mut_ptr().cast(), buf.len(), &mut written) };
    // Not a string, empty, or a full buffer (maybe cut): the full reader handles it.
    // Longer than the id limit (which may be set below the buffer): the full reader refuses it.
    if ok != sys::Status::napi_ok || written == 0 || written >= buf.len() - 1 || written > crate::limits::current().id_bytes {
        return None;
    }
    std::str::from_utf8(&buf[..written]).ok().map(str::to_owned)
}

/// An address from its three parts (`server` may be `undefined`/`null`); `None` for anything unusual.
pub fn quick_address_parts(
    env: sys::napi_env,
    user: sys::napi_value,
    server: sys::napi_value,
    device: sys::napi_value,
) -> Option<SignalAddress> {
    let user = quick_string(env, user)?;
    let server = match typeof_(env, server)? {
        sys::ValueType::napi_undefined | sys::ValueType::napi_null => None,
        _ => Some(quick_string(env, server)?),
    };
    let mut n = 0f64;
    if unsafe { sys::napi_get_value_double(env, device, &mut n) } != sys::Status::napi_ok
        || !(n.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&n))
    {
        return None;
    }
    Some(SignalAddress::new(user, server.as_deref(), n as u32))
}

/// Reads `{ user, server?, device }` on the hot path with static property
/// names and a stack buffer. `None` for anything unusual (the caller then
/// uses [`FromJs`], which also words the error).
pub fn quick_address(env: sys::napi_env, value: sys::napi_value) -> Option<SignalAddress> {
    if typeof_(env, value)? != sys::ValueType::napi_object {
        return None;
    }
    quick_address_parts(env, prop(env, value, c"user")?, prop(env, value, c"server")?, prop(env, value, c"device")?)
}
