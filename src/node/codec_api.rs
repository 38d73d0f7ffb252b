//! `encodeValue` / `decodeValue`: the WSV codec that stores structured values.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::errors::OrThrow;
use super::input::In;
use super::js_ref::Raw;
use super::value::{decode_js, encode_js};

/// Encodes a value the way wastore stores it (WSV, versioned binary).
#[napi(catch_unwind, ts_args_type = "value: StoredValue")]
pub fn encode_value(env: Env, value: Unknown) -> Result<Uint8Array> {
    encode_js(env.raw(), value.raw(), "value").map(Uint8Array::new).or_throw(&env)
}

/// Decodes WSV bytes; throws `STORE_CORRUPTED` when they are not valid.
#[napi(catch_unwind, ts_args_type = "bytes: Uint8Array", ts_return_type = "StoredValue")]
pub fn decode_value(env: Env, bytes: Unknown) -> Result<Raw> {
    let bytes = In::new(env.raw(), bytes.raw(), "bytes").bytes().or_throw(&env)?;
    decode_js(env.raw(), &bytes).map(Raw).or_throw(&env)
}
