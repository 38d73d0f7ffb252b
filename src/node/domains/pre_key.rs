//! `preKey`: one-time pre-keys. `getOrGenPreKeys` runs zapo's loop: reserve
//! ids in the backend, call the JS generator for each (sync or async), insert
//! what it made, and repeat until `count` keys are available.

use napi::bindgen_prelude::*;
use napi::sys;
use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;

use crate::domain::pre_key::{PreKey, PreKeyStore as PreKeyDomain};
use crate::error::StoreError;

use crate::node::errors::{to_napi, Failure, Reply};
use crate::node::input::{Arg, Bool, Count, FromJs, In, KeyId, Num};
use crate::node::records_out::{batch, JsPreKey};

/// Upper bound for one `getOrGenPreKeys` call (WhatsApp uploads batches of tens).
const MAX_COUNT: f64 = 100_000.0;
/// Rounds of reserve → generate → insert before giving up (each must make progress).
const MAX_ROUNDS: usize = 16;

/// What the generator returned: a record, or a promise of one.
pub enum Generated {
    Ready(Box<crate::error::StoreResult<PreKey>>),
    Pending(Promise<Arg<PreKey>>),
}

impl FromNapiValue for Generated {
    unsafe fn from_napi_value(env: sys::napi_env, v: sys::napi_value) -> Result<Self> {
        let mut is_promise = false;
        unsafe { sys::napi_is_promise(env, v, &mut is_promise) };
        if is_promise {
            Ok(Generated::Pending(unsafe { Promise::from_napi_value(env, v)? }))
        } else {
            Ok(Generated::Ready(Box::new(PreKey::from_js(&In::new(env, v, "generator result")))))
        }
    }
}

type GeneratorFn = ThreadsafeFunction<u32, Generated, u32, Status, false>;

/// The `generator` argument: must be a function.
pub struct Generator(GeneratorFn);

impl FromNapiValue for Generator {
    unsafe fn from_napi_value(env: sys::napi_env, v: sys::napi_value) -> Result<Self> {
        if In::new(env, v, "generator").type_of() != sys::ValueType::napi_function {
            return Err(to_napi(env, &StoreError::invalid_argument("generator must be a function (keyId) => PreKeyRecord")));
        }
        Ok(Generator(unsafe { GeneratorFn::from_napi_value(env, v)? }))
    }
}

impl TypeName for Generator {
    fn type_name() -> &'static str {
        "Function"
    }
    fn value_type() -> ValueType {
        ValueType::Function
    }
}

impl ValidateNapiValue for Generator {}

async fn generate(generator: &GeneratorFn, key_id: u32) -> std::result::Result<PreKey, Failure> {
    match generator.call_async_catch(key_id).await.map_err(Failure::Js)? {
        Generated::Ready(r) => (*r).map_err(Failure::Store),
        Generated::Pending(p) => p.await.map(|a| a.0).map_err(Failure::Js),
    }
}

domain_class!(
    /// `preKey`: one-time pre-keys, the next-id counter and the server flag.
    PreKeyStore,
    PreKeyDomain
);

impl PreKeyStore {
    async fn get_or_gen(&self, count: f64, generator: Generator) -> std::result::Result<Vec<PreKey>, Failure> {
        if !(count.fract() == 0.0 && (1.0..=MAX_COUNT).contains(&count)) {
            return Err(StoreError::invalid_argument(format!("invalid prekey count: {count} (must be an integer from 1 to {MAX_COUNT})")).into());
        }
        self.h.gate.check()?;
        let (store, sid) = (&self.h.store, &self.h.sid);
        for _ in 0..MAX_ROUNDS {
            let reservation = store.reserve_pre_keys(sid, count as u32).await?;
            if reservation.reserved_ids.is_empty() {
                return Ok(reservation.available);
            }
            let mut generated = Vec::with_capacity(reservation.reserved_ids.len());
            for id in reservation.reserved_ids {
                let key = generate(&generator.0, id).await?;
                if key.key_id != id {
                    return Err(StoreError::invalid_argument(format!(
                        "the pre-key generator returned keyId {} when asked for {id}; it must use the id it is given",
                        key.key_id
                    ))
                    .into());
                }
                generated.push(key);
            }
            if store.insert_generated_pre_keys(sid, generated).await? == 0 {
                return Err(StoreError::invalid_argument(
                    "getOrGenPreKeys made no progress: the generator returned key ids that collide with stored pre-keys",
                )
                .into());
            }
        }
        Err(StoreError::new(crate::error::ErrorCode::WriteFailed, "getOrGenPreKeys could not gather enough pre-keys: they were consumed as fast as they were generated").into())
    }
}

#[napi]
impl PreKeyStore {
    /// Upsert; raises the next-id counter past `keyId`.
    #[napi(ts_args_type = "record: PreKeyRecord", ts_return_type = "Promise<void>")]
    pub async fn put_pre_key(&self, record: Arg<PreKey>) -> Result<Reply<()>> {
        self.h.call(|s, sid| async move { s.put_pre_key(&sid, record.0).await }).await
    }

    /// The `count` lowest-id keys not uploaded yet, generating fresh ids when there are too few.
    #[napi(
        ts_args_type = "count: number, generator: (keyId: number) => PreKeyRecord | Promise<PreKeyRecord>",
        ts_return_type = "Promise<PreKeyRecord[]>"
    )]
    pub async fn get_or_gen_pre_keys(&self, count: Arg<Count>, generator: Generator) -> Result<Reply<Vec<JsPreKey>>> {
        let r = self.get_or_gen(count.0 .0, generator).await;
        Ok(Reply(r.map(|keys| keys.into_iter().map(Into::into).collect())))
    }

    #[napi(
        ts_args_type = "generator: (keyId: number) => PreKeyRecord | Promise<PreKeyRecord>",
        ts_return_type = "Promise<PreKeyRecord>"
    )]
    pub async fn get_or_gen_single_pre_key(&self, generator: Generator) -> Result<Reply<JsPreKey>> {
        let r = self.get_or_gen(1.0, generator).await.and_then(|keys| {
            keys.into_iter().next().map(Into::into).ok_or_else(|| StoreError::invalid_argument("no pre-key was generated").into())
        });
        Ok(Reply(r))
    }

    #[napi(ts_args_type = "keyId: number", ts_return_type = "Promise<PreKeyRecord | null>")]
    pub async fn get_pre_key_by_id(&self, key_id: Arg<KeyId>) -> Result<Reply<Option<JsPreKey>>> {
        self.h.call(|s, sid| async move { Ok(s.get_pre_key_by_id(&sid, key_id.0 .0).await?.map(Into::into)) }).await
    }

    #[napi(ts_args_type = "keyIds: readonly number[]", ts_return_type = "Promise<(PreKeyRecord | null)[]>")]
    pub async fn get_pre_keys_by_id(&self, key_ids: Arg<Vec<KeyId>>) -> Result<Reply<Vec<Option<JsPreKey>>>> {
        let ids: Vec<u32> = key_ids.0.into_iter().map(|k| k.0).collect();
        self.h.call(|s, sid| async move { Ok(batch(s.get_pre_keys_by_id(&sid, &ids).await?)) }).await
    }

    /// Atomic read-and-delete: concurrent calls for one id get the record once.
    #[napi(ts_args_type = "keyId: number", ts_return_type = "Promise<PreKeyRecord | null>")]
    pub async fn consume_pre_key_by_id(&self, key_id: Arg<KeyId>) -> Result<Reply<Option<JsPreKey>>> {
        self.h.call(|s, sid| async move { Ok(s.consume_pre_key_by_id(&sid, key_id.0 .0).await?.map(Into::into)) }).await
    }

    /// Marks every key with id ≤ `keyId` uploaded.
    #[napi(ts_args_type = "keyId: number", ts_return_type = "Promise<void>")]
    pub async fn mark_key_as_uploaded(&self, key_id: Arg<Num>) -> Result<Reply<()>> {
        let k = key_id.0 .0;
        if !(k.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&k)) {
            return Ok(Reply::store(Err(StoreError::invalid_argument(format!("prekey {k} is out of boundary")))));
        }
        self.h.call(|s, sid| async move { s.mark_key_as_uploaded(&sid, k as u32).await }).await
    }

    #[napi(ts_args_type = "value: boolean", ts_return_type = "Promise<void>")]
    pub async fn set_server_has_pre_keys(&self, value: Arg<Bool>) -> Result<Reply<()>> {
        self.h.call(|s, sid| async move { s.set_server_has_pre_keys(&sid, value.0 .0).await }).await
    }

    #[napi(ts_return_type = "Promise<boolean>")]
    pub async fn get_server_has_pre_keys(&self) -> Result<Reply<bool>> {
        self.h.call(|s, sid| async move { s.get_server_has_pre_keys(&sid).await }).await
    }

}
