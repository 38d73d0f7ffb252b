//! The `logger` option: core events ([`crate::events`]) reach a pino-style
//! JS logger on the JS thread through a threadsafe function.
//!
//! - Emitting never blocks: the queue holds [`QUEUE`] events and a full
//!   queue drops the event (counted), so a stalled event loop cannot stall a
//!   backend task.
//! - The logger gets `logger.child({ component: 'wastore' })` once, then per
//!   event `child({ sessionId, domain })` when the event has them, and
//!   `[level](fields, message)` with `fields = { event, backend, ...details }`.
//!   A missing `child` puts `sessionId` and `domain` into `fields`; a missing
//!   level method skips the event.
//! - Whatever the logger throws is caught and dropped (counted): a logging
//!   bug must not turn into an uncaught exception inside the store.
//! - The function is weak: pending log events never keep the process alive.

use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi::sys;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};

use crate::error::{StoreError, StoreResult};
use crate::events::{Event, EventSink, Events, Value};

use super::input::In;
use super::js_ref::JsRef;

/// Events queued for the JS thread before new ones are dropped.
const QUEUE: usize = 4096;

type LogFn = ThreadsafeFunction<Event, (), (), Status, false, true, QUEUE>;

/// Counts shared by the sink and its JS-thread callback.
#[derive(Default)]
struct Counts {
    dropped: AtomicU64,
    failed: AtomicU64,
}

pub struct JsLogSink {
    tsfn: LogFn,
    counts: Arc<Counts>,
}

impl EventSink for JsLogSink {
    fn emit(&self, event: Event) {
        if self.tsfn.call(event, ThreadsafeFunctionCallMode::NonBlocking) != Status::Ok {
            self.counts.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl JsLogSink {
    /// Events dropped (queue full or environment closing) and logger calls that threw.
    pub fn losses(&self) -> (u64, u64) {
        (self.counts.dropped.load(Ordering::Relaxed), self.counts.failed.load(Ordering::Relaxed))
    }
}

/// `logger` (when given) and `slowOperationThresholdMs` of an options object.
pub struct LogOptions {
    pub sink: Option<Arc<JsLogSink>>,
    pub slow_threshold: Option<Duration>,
}

impl LogOptions {
    pub fn read(options: &In) -> StoreResult<LogOptions> {
        let logger = options.field("logger")?;
        let sink = if logger.is_nullish() {
            None
        } else {
            if logger.type_of() != sys::ValueType::napi_object {
                return Err(StoreError::invalid_config(format!(
                    "{}.logger must be a logger object (pino-like: info, warn, error, …)",
                    options.path
                )));
            }
            Some(Arc::new(sink(&logger)?))
        };
        let threshold = options.field("slowOperationThresholdMs")?;
        let slow_threshold = if threshold.is_nullish() {
            None
        } else {
            let ms = threshold.number().map_err(|e| StoreError::invalid_config(e.message))?;
            if !(ms.fract() == 0.0 && (0.0..=crate::codec::MAX_SAFE_INTEGER as f64).contains(&ms)) {
                return Err(StoreError::invalid_config(format!(
                    "{}.slowOperationThresholdMs must be a non-negative integer (ms), got {ms}",
                    options.path
                )));
            }
            Some(Duration::from_millis(ms as u64))
        };
        Ok(LogOptions { sink, slow_threshold })
    }

    /// Gives `events` this logger and threshold, unless it has a logger of its
    /// own (a backend factory's `logger` wins over `createStore`'s). True when attached.
    pub fn attach(&self, events: &Events, own: bool) -> bool {
        if !own && events.has_sink() {
            return false;
        }
        if let Some(t) = self.slow_threshold {
            events.set_slow_threshold(Some(t));
        }
        match &self.sink {
            Some(sink) => {
                events.set_sink(Some(Arc::clone(sink) as Arc<dyn EventSink>));
                true
            }
            None => false,
        }
    }
}

fn sink(logger: &In) -> StoreResult<JsLogSink> {
    let env = Env::from_raw(logger.env);
    let fail = |e: napi::Error| StoreError::invalid_config(format!("logger: {}", e.reason));
    let base = child(logger.env, logger.value, &[("component", Value::Str("wastore".into()))]).unwrap_or(logger.value);
    let base = JsRef::new(logger.env, base).map_err(fail)?;
    let counts = Arc::new(Counts::default());
    let failed = Arc::clone(&counts);
    let noop = env.create_function_from_closure::<(), (), _>("wastoreLog", |_| Ok(())).map_err(fail)?;
    let tsfn = noop
        .build_threadsafe_function::<Event>()
        .weak::<true>()
        .callee_handled::<false>()
        .max_queue_size::<QUEUE>()
        .build_callback(move |ctx| {
            if dispatch(ctx.env.raw(), &base, ctx.value).is_err() {
                failed.failed.fetch_add(1, Ordering::Relaxed);
                clear_exception(ctx.env.raw());
            }
            Ok(())
        })
        .map_err(fail)?;
    Ok(JsLogSink { tsfn, counts })
}

/// Drops a pending JS exception (a throwing logger), so it cannot escape.
fn clear_exception(env: sys::napi_env) {
    let mut pending = false;
    unsafe { sys::napi_is_exception_pending(env, &mut pending) };
    if pending {
        let mut err = ptr::null_mut();
        unsafe { sys::napi_get_and_clear_last_exception(env, &mut err) };
    }
}

fn value(env: sys::napi_env, v: &Value) -> Result<sys::napi_value> {
    unsafe {
        match v {
            Value::Str(s) => String::to_napi_value(env, s.clone()),
            Value::Int(n) => f64::to_napi_value(env, *n as f64),
            Value::Float(f) => f64::to_napi_value(env, *f),
            Value::Bool(b) => bool::to_napi_value(env, *b),
        }
    }
}

fn object(env: sys::napi_env, fields: &[(&str, Value)]) -> Result<sys::napi_value> {
    let mut obj = ptr::null_mut();
    check(unsafe { sys::napi_create_object(env, &mut obj) })?;
    for (k, v) in fields {
        let key = std::ffi::CString::new(*k).map_err(|_| napi::Error::from_reason("bad field name"))?;
        check(unsafe { sys::napi_set_named_property(env, obj, key.as_ptr(), value(env, v)?) })?;
    }
    Ok(obj)
}

fn check(status: sys::napi_status) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::from_reason("a logger call failed"))
    }
}

/// `target[name]` when it is a function.
fn method(env: sys::napi_env, target: sys::napi_value, name: &str) -> Option<sys::napi_value> {
    let key = std::ffi::CString::new(name).ok()?;
    let mut f = ptr::null_mut();
    if unsafe { sys::napi_get_named_property(env, target, key.as_ptr(), &mut f) } != sys::Status::napi_ok {
        clear_exception(env);
        return None;
    }
    let mut ty = sys::ValueType::napi_undefined;
    unsafe { sys::napi_typeof(env, f, &mut ty) };
    (ty == sys::ValueType::napi_function).then_some(f)
}

fn call(env: sys::napi_env, this: sys::napi_value, f: sys::napi_value, args: &[sys::napi_value]) -> Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    check(unsafe { sys::napi_call_function(env, this, f, args.len(), args.as_ptr(), &mut out) })?;
    Ok(out)
}

/// `target.child(bindings)`, when `child` is a function that returns an object.
fn child(env: sys::napi_env, target: sys::napi_value, bindings: &[(&str, Value)]) -> Option<sys::napi_value> {
    let f = method(env, target, "child")?;
    let made = object(env, bindings).ok().and_then(|b| call(env, target, f, &[b]).ok());
    let Some(made) = made else {
        clear_exception(env);
        return None;
    };
    let mut ty = sys::ValueType::napi_undefined;
    unsafe { sys::napi_typeof(env, made, &mut ty) };
    (ty == sys::ValueType::napi_object).then_some(made)
}

fn dispatch(env: sys::napi_env, base: &JsRef, e: Event) -> Result<()> {
    let base = base.value()?;
    let mut bound: Vec<(&str, Value)> = Vec::new();
    if let Some(sid) = &e.session_id {
        bound.push(("sessionId", Value::Str(sid.clone())));
    }
    if let Some(domain) = e.domain {
        bound.push(("domain", Value::Str(domain.to_owned())));
    }
    let mut fields: Vec<(&str, Value)> = vec![("event", Value::Str(e.event.to_owned()))];
    if let Some(backend) = e.backend {
        fields.push(("backend", Value::Str(backend.to_owned())));
    }
    let target = if bound.is_empty() {
        base
    } else {
        match child(env, base, &bound) {
            Some(c) => c,
            None => {
                fields.extend(bound);
                base
            }
        }
    };
    let Some(log) = method(env, target, e.level.name()) else { return Ok(()) };
    fields.extend(e.fields.iter().map(|(k, v)| (*k, v.clone())));
    let args = [object(env, &fields)?, value(env, &Value::Str(e.message))?];
    call(env, target, log, &args).map(drop)
}
