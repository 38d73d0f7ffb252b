//! A strong reference to a JS object, released when dropped. Owned only by
//! napi class structs, so it is created, read and dropped on the JS thread.

use std::ptr;

use napi::bindgen_prelude::*;
use napi::sys;

pub struct JsRef {
    env: sys::napi_env,
    raw: sys::napi_ref,
}

impl JsRef {
    pub fn new(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        let mut raw = ptr::null_mut();
        let status = unsafe { sys::napi_create_reference(env, value, 1, &mut raw) };
        if status != sys::Status::napi_ok {
            return Err(napi::Error::from_reason("could not keep a reference to a store object"));
        }
        Ok(Self { env, raw })
    }

    pub fn value(&self) -> Result<sys::napi_value> {
        let mut out = ptr::null_mut();
        let status = unsafe { sys::napi_get_reference_value(self.env, self.raw, &mut out) };
        if status != sys::Status::napi_ok || out.is_null() {
            return Err(napi::Error::from_reason("a store object is no longer available"));
        }
        Ok(out)
    }
}

impl Drop for JsRef {
    fn drop(&mut self) {
        // Best effort: during environment teardown there is nothing left to release.
        unsafe { sys::napi_delete_reference(self.env, self.raw) };
    }
}

/// A JS value returned as is (`Unknown` without a lifetime, for getters).
pub struct Raw(pub sys::napi_value);

impl ToNapiValue for Raw {
    unsafe fn to_napi_value(_env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        Ok(val.0)
    }
}
