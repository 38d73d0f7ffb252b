//! Fast paths of the cached domains (session, identity, senderKey): a call
//! the Signal cache can answer alone resolves on the JS thread, with no
//! task hop and, through the memo, no decoding of a value seen before.
//! Writes are staged on the JS thread, so they reach the cache and the
//! group-commit queue in call order.
//!
//! The memo keeps the JS object of each cached version (read or written),
//! keyed by its generation: a hit on the same version returns the same
//! object, as zapo's memory store does. Do not mutate a returned object
//! without writing it back.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::Hash;
use std::ptr;
use std::rc::Rc;

use napi::bindgen_prelude::*;
use napi::sys;

use crate::error::{StoreError, StoreResult};
use crate::node::errors::{js_error, to_napi, Reply};
use crate::node::js_ref::{JsRef, Raw};
use crate::signal_cache::kinds::Kind;
use crate::signal_cache::{Pending, SessionCache, Versioned};

type MemoMap<K> = HashMap<K, (u64, JsRef), foldhash::fast::RandomState>;

/// JS objects of cached versions: `key → (generation, object)`.
pub struct Memo<K> {
    map: Rc<RefCell<MemoMap<K>>>,
}

impl<K> Clone for Memo<K> {
    fn clone(&self) -> Self {
        Self {
            map: Rc::clone(&self.map),
        }
    }
}

impl<K> Default for Memo<K> {
    fn default() -> Self {
        Self {
            map: Rc::new(RefCell::new(MemoMap::default())),
        }
    }
}

/// A memo larger than this many times the cache limit is dropped whole
/// (its entries are only shortcuts; stale ones are never served).
const MEMO_SLACK: usize = 2;

impl<K: Hash + Eq + Clone> Memo<K> {
    pub fn remember(
        &self,
        key: K,
        generation: u64,
        value: sys::napi_value,
        env: sys::napi_env,
        limit: usize,
    ) -> Result<()> {
        if generation == 0 {
            return Ok(());
        }
        let mut map = self.map.borrow_mut();
        if map.len() > limit.saturating_mul(MEMO_SLACK) {
            map.clear();
        }
        map.insert(key, (generation, JsRef::new(env, value)?));
        Ok(())
    }

    pub fn forget(&self, key: &K) {
        self.map.borrow_mut().remove(key);
    }

    /// The JS object of `value`: the memoized one when it is this very
    /// version, else a fresh one from `make` (then memoized).
    pub fn object(
        &self,
        env: sys::napi_env,
        key: &K,
        value: &Versioned,
        limit: usize,
        make: fn(sys::napi_env, &[u8]) -> StoreResult<sys::napi_value>,
    ) -> Result<sys::napi_value> {
        let (bytes, generation) = value;
        if let Some((g, r)) = self.map.borrow().get(key) {
            if g == generation {
                if let Ok(v) = r.value() {
                    return Ok(v);
                }
            }
        }
        let v = make(env, bytes).map_err(|e| to_napi(env, &e))?;
        self.remember(key.clone(), *generation, v, env, limit)?;
        Ok(v)
    }
}

pub fn null(env: sys::napi_env) -> Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    check_status!(unsafe { sys::napi_get_null(env, &mut out) }, "null")?;
    Ok(out)
}

pub fn boolean(env: sys::napi_env, b: bool) -> Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    check_status!(unsafe { sys::napi_get_boolean(env, b, &mut out) }, "boolean")?;
    Ok(out)
}

pub fn array(env: sys::napi_env, items: Vec<sys::napi_value>) -> Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    check_status!(
        unsafe { sys::napi_create_array_with_length(env, items.len(), &mut out) },
        "array"
    )?;
    for (i, v) in items.into_iter().enumerate() {
        check_status!(unsafe { sys::napi_set_element(env, out, i as u32, v) }, "array element")?;
    }
    Ok(out)
}

/// A promise already resolved with `value`.
pub fn resolved(env: &Env, value: sys::napi_value) -> Result<Raw> {
    PromiseRaw::resolve(env, Raw(value)).map(|p| Raw(p.raw()))
}

/// A promise already rejected with the coded error of `err`.
pub fn rejected(env: &Env, err: &StoreError) -> Result<Raw> {
    let e = js_error(env.raw(), err)?;
    PromiseRaw::<Raw>::reject(env, Raw(e)).map(|p| Raw(p.raw()))
}

/// Resolves (with `undefined`) when a staged write is durable as the store's durability asks.
pub fn after_commit(env: &Env, staged: StoreResult<Pending>) -> Result<Raw> {
    match staged {
        Err(e) => rejected(env, &e),
        Ok(Pending::Done) => {
            let mut undefined = ptr::null_mut();
            check_status!(
                unsafe { sys::napi_get_undefined(env.raw(), &mut undefined) },
                "undefined"
            )?;
            resolved(env, undefined)
        }
        Ok(pending) => env
            .spawn_future(async move { Ok(Reply::store(pending.wait().await)) })
            .map(|p| Raw(p.raw())),
    }
}

/// Reads `keys` through the cache on the runtime, then builds the JS result on the JS thread.
pub fn fetch<K, F>(env: &Env, cache: &std::sync::Arc<SessionCache>, keys: Vec<K::Key>, build: F) -> Result<Raw>
where
    K: Kind,
    F: FnOnce(sys::napi_env, Vec<Option<Versioned>>) -> Result<sys::napi_value> + 'static,
{
    let cache = std::sync::Arc::clone(cache);
    let promise = env.spawn_future_with_callback(
        async move { Ok(cache.get::<K>(&keys).await) },
        move |env, found: StoreResult<Vec<Option<Versioned>>>| match found {
            Ok(values) => build(env.raw(), values).map(Raw),
            Err(e) => Err(to_napi(env.raw(), &e)),
        },
    )?;
    Ok(Raw(promise.raw()))
}
