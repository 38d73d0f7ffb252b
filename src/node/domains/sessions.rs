//! JS classes of the domains the Signal cache serves: session, identity and
//! senderKey. With a cache (a durable backend, `signalCache` on) point reads
//! and writes take the fast paths of [`super::cached`]; everything else, and
//! every call without a cache, goes to the domain store on the runtime.

use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;

use super::cached::{after_commit, array, boolean, fetch, null, rejected, resolved, Memo};
use crate::domain::identity::IdentityStore as IdentityDomain;
use crate::domain::sender_key::{SenderKey, SenderKeyDistribution, SenderKeyStore as SenderKeyDomain};
use crate::domain::session::SessionStore as SessionDomain;
use crate::domain::SignalAddress;
use crate::error::StoreResult;
use crate::node::errors::to_napi;
use crate::node::input::{quick_address, Arg, FromJs, Id, In};
use crate::node::js_ref::Raw;
use crate::node::records_in::{IdentityEntry, Record};
use crate::node::records_out::{batch, JsGroupSenderKeyList, JsSenderKeyDistribution};
use crate::node::value::{decode_js, new_bytes, Decoded};
use crate::signal_cache::kinds::{Identities, SenderKeyId, SenderKeys, Sessions};
use crate::signal_cache::{SessionCache, Versioned};

/// Reads an argument, throwing `STORE_INVALID_ARGUMENT` (as `Arg<T>` does).
fn arg<T: FromJs>(env: &Env, value: &Unknown, name: &str) -> Result<T> {
    T::from_js(&In::new(env.raw(), value.raw(), name)).map_err(|e| to_napi(env.raw(), &e))
}

/// A Signal address argument: the quick reader on the hot path, the full one (with its errors) otherwise.
fn read_address(env: &Env, value: &Unknown, name: &str) -> Result<SignalAddress> {
    match quick_address(env.raw(), value.raw()) {
        Some(a) => Ok(a),
        None => arg(env, value, name),
    }
}

/// `(user, server, device)` passed as separate primitives by the JS fast path; `None` if unusual.
fn peek_address(env: &Env, user: &Unknown, server: &Unknown, device: &Unknown) -> Option<SignalAddress> {
    crate::node::input::quick_address_parts(env.raw(), user.raw(), server.raw(), device.raw())
}

pub(crate) fn undefined(env: &Env) -> Result<Raw> {
    let mut out = std::ptr::null_mut();
    check_status!(unsafe { sys::napi_get_undefined(env.raw(), &mut out) }, "undefined")?;
    Ok(Raw(out))
}

fn uint8(env: sys::napi_env, bytes: &[u8]) -> StoreResult<sys::napi_value> {
    new_bytes(env, bytes, false)
}

/// Rejects when the object, its session, store or backend was destroyed.
fn closed(env: &Env, gate: &crate::node::handle::Gate) -> Option<Result<Raw>> {
    gate.check().err().map(|e| rejected(env, &e))
}

/// A record being written: its encoding and the caller's object (memoized).
type Written = (Vec<u8>, sys::napi_value);

domain_class!(
    /// `session`: Signal session records per remote address.
    SessionStore,
    SessionDomain,
    memo: SignalAddress
);

impl SessionStore {
    fn limit(cache: &SessionCache) -> usize {
        cache.hub().config().limits.sessions
    }

    /// Records (memoized) or `null`, as a JS array.
    fn records(
        env: sys::napi_env,
        memo: &Memo<SignalAddress>,
        limit: usize,
        keys: &[SignalAddress],
        found: Vec<Option<Versioned>>,
    ) -> Result<Vec<sys::napi_value>> {
        keys.iter()
            .zip(found)
            .map(|(k, v)| match v {
                Some(v) => memo.object(env, k, &v, limit, decode_js),
                None => null(env),
            })
            .collect()
    }

    fn get(&self, env: &Env, cache: &Arc<SessionCache>, keys: Vec<SignalAddress>, single: bool) -> Result<Raw> {
        let limit = Self::limit(cache);
        if let Some(found) = cache.serve::<Sessions>(&keys) {
            let mut items = Self::records(env.raw(), &self.memo, limit, &keys, found)?;
            let value = if single {
                items.pop().map_or_else(|| null(env.raw()), Ok)?
            } else {
                array(env.raw(), items)?
            };
            return resolved(env, value);
        }
        let memo = self.memo.clone();
        fetch::<Sessions, _>(env, cache, keys.clone(), move |env, found| {
            let mut items = Self::records(env, &memo, limit, &keys, found)?;
            if single {
                items.pop().map_or_else(|| null(env), Ok)
            } else {
                array(env, items)
            }
        })
    }

    fn has(env: &Env, cache: &Arc<SessionCache>, keys: Vec<SignalAddress>, single: bool) -> Result<Raw> {
        let build = move |env: sys::napi_env, found: Vec<Option<Versioned>>| -> Result<sys::napi_value> {
            let flags: Vec<sys::napi_value> = found.iter().map(|v| boolean(env, v.is_some())).collect::<Result<_>>()?;
            match (single, flags.first()) {
                (true, Some(f)) => Ok(*f),
                (true, None) => boolean(env, false),
                (false, _) => array(env, flags),
            }
        };
        match cache.serve::<Sessions>(&keys) {
            Some(found) => resolved(env, build(env.raw(), found)?),
            None => fetch::<Sessions, _>(env, cache, keys, build),
        }
    }

    /// Stages `entries` (`None` deletes) and memoizes the written objects.
    fn put(&self, env: &Env, cache: &Arc<SessionCache>, entries: Vec<(SignalAddress, Option<Written>)>) -> Result<Raw> {
        let objects: Vec<Option<sys::napi_value>> = entries.iter().map(|(_, v)| v.as_ref().map(|(_, o)| *o)).collect();
        let keys: Vec<SignalAddress> = entries.iter().map(|(k, _)| k.clone()).collect();
        let staged = cache.stage::<Sessions>(entries.into_iter().map(|(k, v)| (k, v.map(|(b, _)| b))).collect());
        let staged = staged.and_then(|(generations, pending)| {
            for ((key, object), generation) in keys.into_iter().zip(objects).zip(generations) {
                match object {
                    Some(o) => self
                        .memo
                        .remember(key, generation, o, env.raw(), Self::limit(cache))
                        .map_err(|e| crate::error::StoreError::invalid_argument(e.reason))?,
                    None => self.memo.forget(&key),
                }
            }
            Ok(pending)
        });
        after_commit(env, staged)
    }
}

#[napi]
impl SessionStore {
    #[napi(ts_args_type = "address: SignalAddress", ts_return_type = "Promise<boolean>")]
    pub fn has_session(&self, env: &Env, address: Unknown) -> Result<Raw> {
        let address = Arg(read_address(env, &address, "address")?);
        if let Some(r) = closed(env, &self.h.gate) {
            return r;
        }
        if let Some(cache) = self.h.fast_cache() {
            return Self::has(env, cache, vec![address.0], true);
        }
        self.h.spawn(env, |s, sid| async move {
            Ok(s.has_sessions(&sid, &[address.0])
                .await?
                .first()
                .copied()
                .unwrap_or(false))
        })
    }

    #[napi(
        ts_args_type = "addresses: readonly SignalAddress[]",
        ts_return_type = "Promise<boolean[]>"
    )]
    pub fn has_sessions(&self, env: &Env, addresses: Arg<Vec<SignalAddress>>) -> Result<Raw> {
        if let Some(r) = closed(env, &self.h.gate) {
            return r;
        }
        if let Some(cache) = self.h.fast_cache() {
            return Self::has(env, cache, addresses.0, false);
        }
        self.h
            .spawn(env, |s, sid| async move { s.has_sessions(&sid, &addresses.0).await })
    }

    /// The fast path of `getSession` (see `fast.js`): the cached record, `null` when known
    /// absent, `undefined` when the cache cannot answer alone (then call `getSession`).
    #[napi(skip_typescript)]
    pub fn peek_session(&self, env: &Env, user: Unknown, server: Unknown, device: Unknown) -> Result<Raw> {
        let (Some(cache), Some(address)) = (self.h.fast_cache(), peek_address(env, &user, &server, &device)) else {
            return undefined(env);
        };
        if self.h.gate.is_closed() {
            return undefined(env);
        }
        let keys = [address];
        match cache.serve::<Sessions>(&keys) {
            Some(mut found) => match found.pop().flatten() {
                Some(v) => self.memo.object(env.raw(), &keys[0], &v, Self::limit(cache), decode_js).map(Raw),
                None => null(env.raw()).map(Raw),
            },
            None => undefined(env),
        }
    }

    #[napi(
        ts_generic_types = "T extends object = SignalSessionRecord",
        ts_args_type = "address: SignalAddress",
        ts_return_type = "Promise<T | null>"
    )]
    pub fn get_session(&self, env: &Env, address: Unknown) -> Result<Raw> {
        let address = Arg(read_address(env, &address, "address")?);
        if let Some(r) = closed(env, &self.h.gate) {
            return r;
        }
        if let Some(cache) = self.h.fast_cache() {
            return self.get(env, cache, vec![address.0], true);
        }
        self.h.spawn(env, |s, sid| async move {
            Ok(s.get_sessions(&sid, &[address.0])
                .await?
                .into_iter()
                .next()
                .flatten()
                .map(Decoded))
        })
    }

    /// Positional: `null` where no session is stored.
    #[napi(
        ts_generic_types = "T extends object = SignalSessionRecord",
        ts_args_type = "addresses: readonly SignalAddress[]",
        ts_return_type = "Promise<(T | null)[]>"
    )]
    pub fn get_sessions_batch(&self, env: &Env, addresses: Arg<Vec<SignalAddress>>) -> Result<Raw> {
        if let Some(r) = closed(env, &self.h.gate) {
            return r;
        }
        if let Some(cache) = self.h.fast_cache() {
            return self.get(env, cache, addresses.0, false);
        }
        self.h.spawn(env, |s, sid| async move {
            Ok(s.get_sessions(&sid, &addresses.0)
                .await?
                .into_iter()
                .map(|o| o.map(Decoded))
                .collect::<Vec<_>>())
        })
    }

    #[napi(
        ts_args_type = "address: SignalAddress, session: object",
        ts_return_type = "Promise<void>"
    )]
    pub fn set_session(&self, env: &Env, address: Unknown, session: Unknown) -> Result<Raw> {
        let address = Arg(read_address(env, &address, "address")?);
        let record: Record = arg(env, &session, "session")?;
        if let Some(r) = closed(env, &self.h.gate) {
            return r;
        }
        if let Some(cache) = self.h.fast_cache() {
            return self.put(env, cache, vec![(address.0, Some((record.0, session.raw())))]);
        }
        self.h.spawn(env, |s, sid| async move {
            s.set_sessions(&sid, vec![(address.0, record.0)]).await
        })
    }

    /// All-or-nothing.
    #[napi(
        ts_args_type = "entries: readonly { readonly address: SignalAddress; readonly session: object }[]",
        ts_return_type = "Promise<void>"
    )]
    pub fn set_sessions_batch(&self, env: &Env, entries: Unknown) -> Result<Raw> {
        let items = In::new(env.raw(), entries.raw(), "entries").list(|i| {
            let o = i.clone().object()?;
            let address = SignalAddress::from_js(&o.field("address")?)?;
            let session = o.field("session")?;
            crate::node::records_in::require_object(&session)?;
            Ok((address, session.encoded()?, session.value))
        });
        let items = items.map_err(|e| to_napi(env.raw(), &e))?;
        if let Some(r) = closed(env, &self.h.gate) {
            return r;
        }
        if let Some(cache) = self.h.fast_cache() {
            return self.put(
                env,
                cache,
                items.into_iter().map(|(a, b, o)| (a, Some((b, o)))).collect(),
            );
        }
        let entries: Vec<(SignalAddress, Vec<u8>)> = items.into_iter().map(|(a, b, _)| (a, b)).collect();
        self.h
            .spawn(env, |s, sid| async move { s.set_sessions(&sid, entries).await })
    }

    #[napi(ts_args_type = "address: SignalAddress", ts_return_type = "Promise<void>")]
    pub fn delete_session(&self, env: &Env, address: Unknown) -> Result<Raw> {
        let address = Arg(read_address(env, &address, "address")?);
        if let Some(r) = closed(env, &self.h.gate) {
            return r;
        }
        if let Some(cache) = self.h.fast_cache() {
            return self.put(env, cache, vec![(address.0, None)]);
        }
        self.h
            .spawn(env, |s, sid| async move { s.delete_session(&sid, &address.0).await })
    }
}

domain_class!(
    /// `identity`: remote identity keys per address.
    IdentityStore,
    IdentityDomain
);

impl IdentityStore {
    /// Identity keys are tiny: every read gets a fresh `Uint8Array`.
    fn get(env: &Env, cache: &Arc<SessionCache>, keys: Vec<SignalAddress>, single: bool) -> Result<Raw> {
        let build = move |env: sys::napi_env, found: Vec<Option<Versioned>>| -> Result<sys::napi_value> {
            let mut items: Vec<sys::napi_value> = found
                .iter()
                .map(|v| match v {
                    Some((bytes, _)) => uint8(env, bytes).map_err(|e| to_napi(env, &e)),
                    None => null(env),
                })
                .collect::<Result<_>>()?;
            if single {
                items.pop().map_or_else(|| null(env), Ok)
            } else {
                array(env, items)
            }
        };
        match cache.serve::<Identities>(&keys) {
            Some(found) => resolved(env, build(env.raw(), found)?),
            None => fetch::<Identities, _>(env, cache, keys, build),
        }
    }

    fn put(env: &Env, cache: &Arc<SessionCache>, entries: Vec<(SignalAddress, Vec<u8>)>) -> Result<Raw> {
        let staged = cache.stage::<Identities>(entries.into_iter().map(|(k, v)| (k, Some(v))).collect());
        after_commit(env, staged.map(|(_, pending)| pending))
    }
}

#[napi]
impl IdentityStore {
    #[napi(
        ts_args_type = "address: SignalAddress",
        ts_return_type = "Promise<Uint8Array | null>"
    )]
    pub fn get_remote_identity(&self, env: &Env, address: Unknown) -> Result<Raw> {
        let address = Arg(read_address(env, &address, "address")?);
        if let Some(r) = closed(env, &self.h.gate) {
            return r;
        }
        if let Some(cache) = self.h.fast_cache() {
            return Self::get(env, cache, vec![address.0], true);
        }
        self.h.spawn(env, |s, sid| async move {
            Ok(s.get_remote_identities(&sid, &[address.0])
                .await?
                .into_iter()
                .next()
                .flatten()
                .map(Uint8Array::new))
        })
    }

    #[napi(
        ts_args_type = "addresses: readonly SignalAddress[]",
        ts_return_type = "Promise<(Uint8Array | null)[]>"
    )]
    pub fn get_remote_identities(&self, env: &Env, addresses: Arg<Vec<SignalAddress>>) -> Result<Raw> {
        if let Some(r) = closed(env, &self.h.gate) {
            return r;
        }
        if let Some(cache) = self.h.fast_cache() {
            return Self::get(env, cache, addresses.0, false);
        }
        self.h.spawn(env, |s, sid| async move {
            Ok(s.get_remote_identities(&sid, &addresses.0)
                .await?
                .into_iter()
                .map(|o| o.map(Uint8Array::new))
                .collect::<Vec<_>>())
        })
    }

    #[napi(
        ts_args_type = "address: SignalAddress, identityKey: Uint8Array",
        ts_return_type = "Promise<void>"
    )]
    pub fn set_remote_identity(
        &self,
        env: &Env,
        address: Arg<SignalAddress>,
        identity_key: Arg<crate::node::input::Bytes>,
    ) -> Result<Raw> {
        if let Some(r) = closed(env, &self.h.gate) {
            return r;
        }
        let entries = vec![(address.0, identity_key.0 .0)];
        if let Some(cache) = self.h.fast_cache() {
            return Self::put(env, cache, entries);
        }
        self.h.spawn(
            env,
            |s, sid| async move { s.set_remote_identities(&sid, entries).await },
        )
    }

    #[napi(
        ts_args_type = "entries: readonly { readonly address: SignalAddress; readonly identityKey: Uint8Array }[]",
        ts_return_type = "Promise<void>"
    )]
    pub fn set_remote_identities(&self, env: &Env, entries: Arg<Vec<IdentityEntry>>) -> Result<Raw> {
        if let Some(r) = closed(env, &self.h.gate) {
            return r;
        }
        let entries: Vec<(SignalAddress, Vec<u8>)> = entries.0.into_iter().map(|e| (e.0, e.1)).collect();
        if let Some(cache) = self.h.fast_cache() {
            return Self::put(env, cache, entries);
        }
        self.h.spawn(
            env,
            |s, sid| async move { s.set_remote_identities(&sid, entries).await },
        )
    }
}

domain_class!(
    /// `senderKey`: group sender keys and distribution markers.
    SenderKeyStore,
    SenderKeyDomain,
    memo: SenderKeyId
);

#[napi]
impl SenderKeyStore {
    /// Whole-record replace; the record's `groupId` and `sender` key it.
    #[napi(ts_args_type = "record: SenderKeyRecord", ts_return_type = "Promise<void>")]
    pub fn upsert_sender_key(&self, env: &Env, record: Unknown) -> Result<Raw> {
        let parsed: SenderKey = arg(env, &record, "record")?;
        if let Some(r) = closed(env, &self.h.gate) {
            return r;
        }
        let Some(cache) = self.h.fast_cache() else {
            return self
                .h
                .spawn(env, |s, sid| async move { s.upsert_sender_key(&sid, parsed).await });
        };
        let key: SenderKeyId = (parsed.group_id, parsed.sender);
        let staged = cache
            .stage::<SenderKeys>(vec![(key.clone(), Some(parsed.record))])
            .and_then(|(generations, pending)| {
                let limit = cache.hub().config().limits.sender_keys;
                self.memo
                    .remember(key, generations[0], record.raw(), env.raw(), limit)
                    .map_err(|e| crate::error::StoreError::invalid_argument(e.reason))?;
                Ok(pending)
            });
        after_commit(env, staged)
    }

    /// The fast path of `getDeviceSenderKey` (see `fast.js`), like `peekSession`.
    #[napi(skip_typescript)]
    pub fn peek_device_sender_key(&self, env: &Env, group_id: Unknown, user: Unknown, server: Unknown, device: Unknown) -> Result<Raw> {
        let group = crate::node::input::quick_string(env.raw(), group_id.raw());
        let (Some(cache), Some(group), Some(sender)) = (self.h.fast_cache(), group, peek_address(env, &user, &server, &device)) else {
            return undefined(env);
        };
        if self.h.gate.is_closed() {
            return undefined(env);
        }
        let key: SenderKeyId = (group, sender);
        match cache.serve::<SenderKeys>(std::slice::from_ref(&key)) {
            Some(mut found) => match found.pop().flatten() {
                Some(v) => self.memo.object(env.raw(), &key, &v, cache.hub().config().limits.sender_keys, decode_js).map(Raw),
                None => null(env.raw()).map(Raw),
            },
            None => undefined(env),
        }
    }

    #[napi(
        ts_args_type = "groupId: string, sender: SignalAddress",
        ts_return_type = "Promise<SenderKeyRecord | null>"
    )]
    pub fn get_device_sender_key(&self, env: &Env, group_id: Arg<Id>, sender: Unknown) -> Result<Raw> {
        let sender = Arg(read_address(env, &sender, "sender")?);
        if let Some(r) = closed(env, &self.h.gate) {
            return r;
        }
        let Some(cache) = self.h.fast_cache() else {
            return self.h.spawn(env, |s, sid| async move {
                Ok(s.get_device_sender_key(&sid, &group_id.0 .0, &sender.0)
                    .await?
                    .map(|k| Decoded(k.record)))
            });
        };
        let key: SenderKeyId = (group_id.0 .0, sender.0);
        let limit = cache.hub().config().limits.sender_keys;
        let build = {
            let memo = self.memo.clone();
            let key = key.clone();
            move |env: sys::napi_env, mut found: Vec<Option<Versioned>>| match found.pop().flatten() {
                Some(v) => memo.object(env, &key, &v, limit, decode_js),
                None => null(env),
            }
        };
        match cache.serve::<SenderKeys>(std::slice::from_ref(&key)) {
            Some(found) => resolved(env, build(env.raw(), found)?),
            None => fetch::<SenderKeys, _>(env, cache, vec![key], build),
        }
    }

    #[napi(
        ts_args_type = "record: SenderKeyDistributionRecord",
        ts_return_type = "Promise<void>"
    )]
    pub fn upsert_sender_key_distribution(&self, env: &Env, record: Arg<SenderKeyDistribution>) -> Result<Raw> {
        self.h.spawn(env, |s, sid| async move {
            s.upsert_sender_key_distributions(&sid, vec![record.0]).await
        })
    }

    #[napi(
        ts_args_type = "records: readonly SenderKeyDistributionRecord[]",
        ts_return_type = "Promise<void>"
    )]
    pub fn upsert_sender_key_distributions(&self, env: &Env, records: Arg<Vec<SenderKeyDistribution>>) -> Result<Raw> {
        self.h.spawn(env, |s, sid| async move {
            s.upsert_sender_key_distributions(&sid, records.0).await
        })
    }

    #[napi(ts_args_type = "groupId: string", ts_return_type = "Promise<GroupSenderKeyList>")]
    pub fn get_group_sender_key_list(&self, env: &Env, group_id: Arg<Id>) -> Result<Raw> {
        self.h.spawn(env, |s, sid| async move {
            let g = s.get_group_sender_keys(&sid, &group_id.0 .0).await?;
            Ok(JsGroupSenderKeyList {
                sk_list: g.sender_keys.into_iter().map(|k| Decoded(k.record)).collect(),
                sk_distrib_list: g.distributions.into_iter().map(Into::into).collect(),
            })
        })
    }

    #[napi(
        ts_args_type = "groupId: string, senders: readonly SignalAddress[]",
        ts_return_type = "Promise<(SenderKeyDistributionRecord | null)[]>"
    )]
    pub fn get_device_sender_key_distributions(
        &self,
        env: &Env,
        group_id: Arg<Id>,
        senders: Arg<Vec<SignalAddress>>,
    ) -> Result<Raw> {
        self.h.spawn(env, |s, sid| async move {
            let found = s
                .get_device_sender_key_distributions(&sid, &group_id.0 .0, &senders.0)
                .await?;
            Ok(batch::<_, JsSenderKeyDistribution>(found))
        })
    }

    /// Deletes keys and distributions of `target` in `groupId`, or in every group; returns how many rows went.
    #[napi(
        ts_args_type = "target: SignalAddress, groupId?: string",
        ts_return_type = "Promise<number>"
    )]
    pub fn delete_device_sender_key(
        &self,
        env: &Env,
        target: Arg<SignalAddress>,
        group_id: Arg<Option<Id>>,
    ) -> Result<Raw> {
        let group = group_id.0.map(|g| g.0);
        self.h.spawn(env, |s, sid| async move {
            s.delete_device_sender_key(&sid, &target.0, group.as_deref()).await
        })
    }

    #[napi(
        ts_args_type = "groupId: string, participants: readonly SignalAddress[]",
        ts_return_type = "Promise<number>"
    )]
    pub fn mark_forget_sender_key(
        &self,
        env: &Env,
        group_id: Arg<Id>,
        participants: Arg<Vec<SignalAddress>>,
    ) -> Result<Raw> {
        self.h.spawn(env, |s, sid| async move {
            s.mark_forget_sender_key(&sid, &group_id.0 .0, &participants.0).await
        })
    }
}
