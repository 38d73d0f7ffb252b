//! `setInputLimits` / `getInputLimits`: the process-wide [`crate::limits`].

use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::errors::OrThrow;
use super::input::In;
use crate::error::StoreError;
use crate::limits::{self, InputLimits};

/// The input limits in force (bytes, elements).
#[napi(object, js_name = "InputLimits")]
pub struct JsInputLimits {
    pub max_value_bytes: f64,
    pub max_id_bytes: f64,
    pub max_batch_items: f64,
}

fn to_js(l: InputLimits) -> JsInputLimits {
    JsInputLimits {
        max_value_bytes: l.value_bytes as f64,
        max_id_bytes: l.id_bytes as f64,
        max_batch_items: l.batch_items as f64,
    }
}

/// The input limits every store of this process enforces.
#[napi]
pub fn get_input_limits() -> JsInputLimits {
    to_js(limits::current())
}

/// Changes some input limits for every store of this process (the others
/// keep their value) and returns the limits now in force. Throws
/// `STORE_INVALID_CONFIG` for an unknown field or a value out of range.
#[napi(
    catch_unwind,
    ts_args_type = "limits: { maxValueBytes?: number; maxIdBytes?: number; maxBatchItems?: number }")]
pub fn set_input_limits(env: Env, options: Unknown) -> Result<JsInputLimits> {
    let parsed = (|| {
        let o = In::new(env.raw(), options.raw(), "limits").object().map_err(|e| StoreError::invalid_config(e.message))?;
        let mut next = limits::current();
        for (key, value) in super::backend::entries(&o)? {
            let (slot, max) = match key.as_str() {
                "maxValueBytes" => (&mut next.value_bytes, limits::MAX_VALUE_BYTES),
                "maxIdBytes" => (&mut next.id_bytes, limits::MAX_ID_BYTES),
                "maxBatchItems" => (&mut next.batch_items, limits::MAX_BATCH_ITEMS),
                other => {
                    return Err(StoreError::invalid_config(format!(
                        "limits.{other} is not a limit; use maxValueBytes, maxIdBytes or maxBatchItems"
                    )))
                }
            };
            if value.is_nullish() {
                continue;
            }
            let n = value.number().map_err(|e| StoreError::invalid_config(e.message))?;
            *slot = limits::setting(&format!("limits.{key}"), n, max)?;
        }
        limits::set(next)?;
        Ok(limits::current())
    })();
    parsed.map(to_js).or_throw(&env)
}
