//! `keys`: the adapters' generic `(type, id) → value` domain, shaped for
//! Baileys' `SignalKeyStore`. Each method is one native promise and nothing
//! else: Baileys keeps one `AsyncLocalStorage` per key store, and on Node 20
//! every promise in the process pays for each of them.

use std::ptr;

use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;

use crate::domain::keys::{check_key_id, check_key_type, found_only, KeyStore as KeyDomain, KeyWrite, MAX_LIST_PAGE};
use crate::domain::Blob;
use crate::error::{StoreError, StoreResult};

use crate::node::errors::{to_napi, Reply};
use crate::node::input::{Arg, FromJs, In};
use crate::node::domains::sessions::undefined;
use crate::node::js_ref::Raw;
use crate::node::value::{decode_js, define_own, new_string};
use crate::signal_cache::domains::owned;
use crate::signal_cache::kinds::Keys;

/// Page size of `list` / `listIds` when `limit` is not given.
const DEFAULT_PAGE: u32 = 100;

/// Prefixes a validation message with the argument it is about.
fn named(path: &str, e: StoreError) -> StoreError {
    StoreError::invalid_argument(format!("{path}: {}", e.message))
}

/// The `type` argument.
pub struct KeyType(String);

impl FromJs for KeyType {
    const WHAT: &'static str = "type";
    fn from_js(input: &In) -> StoreResult<Self> {
        let kind = input.string()?;
        check_key_type(&kind).map_err(|e| named(&input.path, e))?;
        Ok(KeyType(kind))
    }
}

/// The `ids` argument: strings, checked against the type when the call runs.
pub struct KeyIds(Vec<String>);

impl FromJs for KeyIds {
    const WHAT: &'static str = "ids";
    fn from_js(input: &In) -> StoreResult<Self> {
        input.list(|item| item.string()).map(KeyIds)
    }
}

/// An id as error messages show it: long ones cut to their first 64 characters.
fn shown(id: &str) -> String {
    match id.char_indices().nth(64) {
        Some((end, _)) => format!("{}…", &id[..end]),
        None => id.to_owned(),
    }
}

/// Own enumerable string keys of a plain object with their values. Keys are
/// read as values, not names, so any string (NUL included) is an id.
fn own_entries(obj: &In) -> StoreResult<Vec<(String, In)>> {
    let obj = obj.clone().object()?;
    let mut keys = ptr::null_mut();
    let status = unsafe {
        sys::napi_get_all_property_names(
            obj.env,
            obj.value,
            sys::KeyCollectionMode::own_only,
            sys::KeyFilter::enumerable | sys::KeyFilter::skip_symbols,
            sys::KeyConversion::numbers_to_strings,
            &mut keys,
        )
    };
    if status != sys::Status::napi_ok {
        return Err(StoreError::invalid_argument(format!(
            "could not read the keys of {}",
            obj.path
        )));
    }
    In::new(obj.env, keys, obj.path.clone())
        .items()?
        .into_iter()
        .map(|key| {
            let name = key.string()?;
            let mut value = ptr::null_mut();
            let status = unsafe { sys::napi_get_property(obj.env, obj.value, key.value, &mut value) };
            if status != sys::Status::napi_ok {
                return Err(StoreError::invalid_argument(format!(
                    "could not read {}[{:?}]",
                    obj.path,
                    shown(&name)
                )));
            }
            let path = format!("{}[{:?}]", obj.path, shown(&name));
            Ok((name, In::new(obj.env, value, path)))
        })
        .collect()
}

/// `set`'s `{ [type]: { [id]: value | null | undefined } }`, encoded on the JS thread.
pub struct KeyWrites(Vec<KeyWrite>);

impl FromJs for KeyWrites {
    const WHAT: &'static str = "data";
    fn from_js(input: &In) -> StoreResult<Self> {
        let mut writes = Vec::new();
        for (kind, ids) in own_entries(input)? {
            // Baileys' `SignalDataSet` leaves types out or sets them to undefined.
            if ids.is_nullish() {
                continue;
            }
            check_key_type(&kind).map_err(|e| named(&ids.path, e))?;
            for (id, value) in own_entries(&ids)? {
                check_key_id(&kind, &id).map_err(|e| named(&value.path, e))?;
                let value = if value.is_nullish() {
                    None
                } else {
                    Some(value.encoded()?)
                };
                writes.push(KeyWrite {
                    kind: kind.clone(),
                    id,
                    value,
                });
            }
        }
        Ok(KeyWrites(writes))
    }
}

/// `{ after?, limit? }` of `list` / `listIds`.
pub struct PageOptions {
    after: Option<String>,
    limit: u32,
}

impl FromJs for PageOptions {
    const WHAT: &'static str = "options";
    fn from_js(input: &In) -> StoreResult<Self> {
        if input.is_nullish() {
            return Ok(PageOptions {
                after: None,
                limit: DEFAULT_PAGE,
            });
        }
        let input = input.clone().object()?;
        let after = input.field("after")?.opt_string()?;
        let limit = input.field("limit")?;
        let limit = if limit.is_nullish() {
            DEFAULT_PAGE
        } else {
            let n = limit.number()?;
            if !(n.fract() == 0.0 && (1.0..=f64::from(MAX_LIST_PAGE)).contains(&n)) {
                return Err(StoreError::invalid_argument(format!(
                    "{} must be an integer from 1 to {MAX_LIST_PAGE}, got {n}",
                    limit.path
                )));
            }
            n as u32
        };
        Ok(PageOptions { after, limit })
    }
}

/// Names a stored value that does not decode.
fn decode(env: sys::napi_env, kind: &str, id: &str, blob: &[u8]) -> StoreResult<sys::napi_value> {
    decode_js(env, blob).map_err(|e| StoreError::new(e.code, format!("key {kind:?} / {id:?}: {}", e.message)))
}

fn out(status: sys::napi_status, what: &str) -> StoreResult<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(StoreError::new(
            crate::error::ErrorCode::ReadFailed,
            format!("could not build {what} (napi status {status})"),
        ))
    }
}

/// `get`'s `{ missing? }`: leave missing ids out (default), or answer `null` for them.
pub struct GetOptions {
    missing_as_null: bool,
}

impl FromJs for GetOptions {
    const WHAT: &'static str = "options";
    fn from_js(input: &In) -> StoreResult<Self> {
        if input.is_nullish() {
            return Ok(GetOptions { missing_as_null: false });
        }
        let missing = input.clone().object()?.field("missing")?;
        match missing.opt_string()?.as_deref() {
            None | Some("omit") => Ok(GetOptions { missing_as_null: false }),
            Some("null") => Ok(GetOptions { missing_as_null: true }),
            Some(other) => Err(StoreError::invalid_argument(format!(
                "{} must be 'omit' or 'null', got {:?}",
                missing.path,
                shown(other)
            ))),
        }
    }
}

/// `get`'s answer: `{ [id]: value }`, with `null` for the missing ids that are kept.
pub struct FoundKeys {
    kind: String,
    found: Vec<(String, Option<Blob>)>,
}

impl FoundKeys {
    fn build(self, env: sys::napi_env) -> StoreResult<sys::napi_value> {
        let mut obj = ptr::null_mut();
        out(unsafe { sys::napi_create_object(env, &mut obj) }, "the result object")?;
        for (id, blob) in &self.found {
            let key = new_string(env, id)?;
            let value = match blob {
                Some(blob) => decode(env, &self.kind, id, blob)?,
                None => {
                    let mut null = ptr::null_mut();
                    out(unsafe { sys::napi_get_null(env, &mut null) }, "null")?;
                    null
                }
            };
            if id == "__proto__" {
                define_own(env, obj, key, value)?;
            } else {
                out(
                    unsafe { sys::napi_set_property(env, obj, key, value) },
                    "a result entry",
                )?;
            }
        }
        Ok(obj)
    }
}

impl ToNapiValue for FoundKeys {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        val.build(env).map_err(|e| to_napi(env, &e))
    }
}

/// `list`'s answer: `[id, value]` pairs in id order.
pub struct KeyPage {
    kind: String,
    entries: Vec<(String, Blob)>,
}

impl KeyPage {
    fn build(self, env: sys::napi_env) -> StoreResult<sys::napi_value> {
        let mut list = ptr::null_mut();
        out(
            unsafe { sys::napi_create_array_with_length(env, self.entries.len(), &mut list) },
            "the page",
        )?;
        for (i, (id, blob)) in self.entries.iter().enumerate() {
            let mut pair = ptr::null_mut();
            out(
                unsafe { sys::napi_create_array_with_length(env, 2, &mut pair) },
                "a page entry",
            )?;
            out(
                unsafe { sys::napi_set_element(env, pair, 0, new_string(env, id)?) },
                "a page entry",
            )?;
            out(
                unsafe { sys::napi_set_element(env, pair, 1, decode(env, &self.kind, id, blob)?) },
                "a page entry",
            )?;
            out(unsafe { sys::napi_set_element(env, list, i as u32, pair) }, "the page")?;
        }
        Ok(list)
    }
}

impl ToNapiValue for KeyPage {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        val.build(env).map_err(|e| to_napi(env, &e))
    }
}

/// `get`'s entries: every id with `null` for the missing ones, or only the found ones.
fn answer(ids: Vec<String>, values: Vec<Option<Blob>>, missing_as_null: bool) -> Vec<(String, Option<Blob>)> {
    if missing_as_null {
        ids.into_iter().zip(values).collect()
    } else {
        found_only(ids, values).into_iter().map(|(id, v)| (id, Some(v))).collect()
    }
}

/// Every id must suit its type; checked before anything reaches a backend.
fn check_ids(kind: &str, ids: &[String]) -> StoreResult<()> {
    ids.iter()
        .enumerate()
        .try_for_each(|(i, id)| check_key_id(kind, id).map_err(|e| named(&format!("ids[{i}]"), e)))
}

domain_class!(
    /// `keys`: opaque `(type, id) → value` entries of one session, for client adapters (Baileys' `SignalKeyStore`).
    KeyStore,
    KeyDomain,
    clear: clear_keys
);

#[napi]
impl KeyStore {
    /// The values of the ids that exist; missing ids are left out, or `null` with `{ missing: 'null' }`.
    #[napi(
        ts_generic_types = "T = unknown",
        ts_args_type = "type: string, ids: readonly string[], options?: { readonly missing?: 'omit' | 'null' }",
        ts_return_type = "Promise<Record<string, T>>"
    )]
    pub async fn get(
        &self,
        r#type: Arg<KeyType>,
        ids: Arg<KeyIds>,
        options: Arg<GetOptions>,
    ) -> Result<Reply<FoundKeys>> {
        let (kind, ids, missing_as_null) = (r#type.0 .0, ids.0 .0, options.0.missing_as_null);
        if let Err(e) = check_ids(&kind, &ids) {
            return Ok(Reply::store(Err(e)));
        }
        self.h
            .call(|s, sid| async move {
                let values = s.get_keys(&sid, &kind, &ids).await?;
                Ok(FoundKeys { kind, found: answer(ids, values, missing_as_null) })
            })
            .await
    }

    /// The fast path of `get` (see `fast.js`): the answer when the Signal cache
    /// holds every id (values or known absences), `undefined` when it cannot
    /// answer alone (then call `get`, which also reports bad arguments).
    #[napi(skip_typescript)]
    pub fn peek(&self, env: &Env, r#type: String, ids: Vec<String>, missing_as_null: bool) -> Result<Raw> {
        let Some(cache) = self.h.fast_cache() else { return undefined(env) };
        if self.h.gate.is_closed() || check_key_type(&r#type).is_err() || check_ids(&r#type, &ids).is_err() {
            return undefined(env);
        }
        let keys: Vec<(String, String)> = ids.iter().map(|id| (r#type.clone(), id.clone())).collect();
        let Some(values) = cache.serve::<Keys>(&keys) else { return undefined(env) };
        match (FoundKeys { kind: r#type, found: answer(ids, owned(values), missing_as_null) }).build(env.raw()) {
            Ok(found) => Ok(Raw(found)),
            // A value that does not decode: `get` rejects with the error.
            Err(_) => undefined(env),
        }
    }

    /// Puts values and deletes ids (`null` / `undefined`) of any number of types, all or nothing.
    #[napi(
        ts_args_type = "data: { readonly [type: string]: { readonly [id: string]: unknown } | null | undefined }",
        ts_return_type = "Promise<void>"
    )]
    pub async fn set(&self, data: Arg<KeyWrites>) -> Result<Reply<()>> {
        let writes = data.0 .0;
        self.h
            .call(|s, sid| async move { s.write_keys(&sid, writes).await })
            .await
    }

    /// One page of `[id, value]` pairs of `type`, ids byte-wise after `after`, at most `limit` (default 100, max 1000).
    #[napi(
        ts_generic_types = "T = unknown",
        ts_args_type = "type: string, options?: { readonly after?: string; readonly limit?: number }",
        ts_return_type = "Promise<[string, T][]>"
    )]
    pub async fn list(&self, r#type: Arg<KeyType>, options: Arg<PageOptions>) -> Result<Reply<KeyPage>> {
        let (kind, options) = (r#type.0 .0, options.0);
        self.h
            .call(|s, sid| async move {
                let entries = s
                    .list_keys(&sid, &kind, options.after.as_deref(), options.limit)
                    .await?;
                Ok(KeyPage { kind, entries })
            })
            .await
    }

    /// [`list`](Self::list) without the values.
    #[napi(
        ts_args_type = "type: string, options?: { readonly after?: string; readonly limit?: number }",
        ts_return_type = "Promise<string[]>"
    )]
    pub async fn list_ids(&self, r#type: Arg<KeyType>, options: Arg<PageOptions>) -> Result<Reply<Vec<String>>> {
        let (kind, options) = (r#type.0 .0, options.0);
        self.h
            .call(|s, sid| async move {
                s.list_key_ids(&sid, &kind, options.after.as_deref(), options.limit)
                    .await
            })
            .await
    }

    /// The types this session has keys of, sorted byte-wise.
    #[napi(ts_return_type = "Promise<string[]>")]
    pub async fn types(&self) -> Result<Reply<Vec<String>>> {
        self.h.call(|s, sid| async move { s.list_key_types(&sid).await }).await
    }
}
