//! StoreError → JS `Error` with a string `code` and a `cause`.
//!
//! napi-rs rejects async calls with its own `Status` codes. An error built
//! from a JS error object, though, is thrown or rejected as that very object,
//! so we create the object ourselves (on the JS thread) and hand napi a
//! reference to it.

use napi::bindgen_prelude::*;
use napi::sys;

use crate::error::{ErrorDetails, StoreError, StoreResult};

/// Creates `new Error(message)` with `code` (and `cause` when the error has
/// one), plus the facts of its details: `sessionId`, `holder: { host, pid }`
/// and `expiresAt` (epoch ms) for `STORE_SESSION_LOCKED`; `limit` and `size`
/// (bytes) for `STORE_VALUE_TOO_LARGE`.
pub fn js_error(env: sys::napi_env, err: &StoreError) -> Result<sys::napi_value> {
    let env_ = Env::from_raw(env);
    let mut obj = env_.create_error(napi::Error::new(Status::GenericFailure, err.message.clone()))?;
    obj.set_named_property("code", err.code.as_str())?;
    if let Some(cause) = err.cause_message() {
        let cause_obj = env_.create_error(napi::Error::new(Status::GenericFailure, cause))?;
        obj.set_named_property("cause", cause_obj)?;
    }
    match err.details.as_deref() {
        Some(ErrorDetails::Locked(h)) => {
            obj.set_named_property("sessionId", h.session_id.as_str())?;
            let mut holder = Object::new(&env_)?;
            holder.set_named_property("host", h.host.as_str())?;
            holder.set_named_property("pid", h.pid)?;
            obj.set_named_property("holder", holder)?;
            obj.set_named_property("expiresAt", h.expires_at_ms as f64)?;
        }
        Some(ErrorDetails::TooLarge { limit, size }) => {
            obj.set_named_property("limit", *limit as f64)?;
            obj.set_named_property("size", *size as f64)?;
        }
        None => {}
    }
    Ok(obj.raw())
}

/// A napi error that throws/rejects as our JS error object.
pub fn to_napi(env: sys::napi_env, err: &StoreError) -> napi::Error {
    match js_error(env, err) {
        Ok(raw) => {
            // SAFETY: `raw` is a live value created in `env` on this thread.
            let unknown = unsafe { Unknown::from_raw_unchecked(env, raw) };
            napi::Error::from(unknown)
        }
        Err(fallback) => fallback,
    }
}

/// Why an async call failed: a store error (coded on the JS thread), or an
/// error a user callback threw, passed through untouched.
pub enum Failure {
    Store(StoreError),
    Js(napi::Error),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

/// The result of an async store call. Its conversion runs on the JS thread,
/// which is where a coded error object can be built.
pub struct Reply<T>(pub std::result::Result<T, Failure>);

impl<T> Reply<T> {
    pub fn store(r: StoreResult<T>) -> Self {
        Reply(r.map_err(Failure::Store))
    }
}

impl<T: ToNapiValue> ToNapiValue for Reply<T> {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        match val.0 {
            Ok(v) => unsafe { T::to_napi_value(env, v) },
            Err(Failure::Store(e)) => Err(to_napi(env, &e)),
            Err(Failure::Js(e)) => Err(e),
        }
    }
}

impl<T> TypeName for Reply<T> {
    fn type_name() -> &'static str {
        "Reply"
    }
    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

/// For sync entry points: turns a StoreError into a thrown coded JS error.
pub trait OrThrow<T> {
    fn or_throw(self, env: &Env) -> Result<T>;
}

impl<T> OrThrow<T> for StoreResult<T> {
    fn or_throw(self, env: &Env) -> Result<T> {
        self.map_err(|e| to_napi(env.raw(), &e))
    }
}
