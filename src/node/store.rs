//! `createStore`, `Store` and `StoreSession`: zapo's routing of each domain to
//! a provider, per-id memoized session bundles, and their teardown.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;
use tokio::sync::OnceCell;

use crate::backend::memory::MemoryBackend;
use crate::backend::noop::NoopBackend;
use crate::cache_layer::{CacheLayerConfig, DEFAULT_L1_ENTRIES, DEFAULT_PRIVACY_TOKEN_L1_ENTRIES};
use crate::config::{cache_ttls_with_overrides, normalize_session_id, positive_integer, resolve_providers, MemoryLimits, Provider};
use crate::domain::snapshot::RecordKind;
use crate::domain::{Backend, Domain};
use crate::encryption::rotate::{rotate, RotationReport, DEFAULT_BATCH, SECRET_KINDS};
use crate::encryption::{EncryptedBackend, EncryptionConfig};
use crate::error::{ErrorCode, StoreError, StoreResult};
use crate::domain::lease::LeaseOwner;
use crate::ownership::{OwnershipConfig, SessionLease};
use crate::signal_cache::{Hub, SessionCache, SignalCacheConfig};
use crate::write_behind::{WriteBehind, WriteBehindConfig};

use super::backend::{as_config, domain_object, entries, number_pairs, BackendLink, Layers, StoreBackend, BACKEND_HANDLE};
use super::logger::LogOptions;
use super::store_options::{parse_encryption, parse_ownership, parse_signal_cache, parse_write_behind};
use super::errors::{to_napi, OrThrow, Reply};
use super::flush::{self, JsFlushReport, JsSessionStats, JsStoreStats};
use super::handle::Gate;
use super::input::In;
use super::js_ref::{JsRef, Raw};

/// Where one domain of every session goes.
#[derive(Clone)]
pub(crate) struct Route {
    /// The name metrics label it with: its key in `backends`, or `memory` / `none`.
    pub name: Arc<str>,
    pub backend: Arc<dyn Backend>,
    pub gate: Arc<Gate>,
    /// A user backend (not the memory or 'none' provider): only these get the caches.
    pub durable: bool,
    /// The Signal object cache and group commit of this backend (session, identity, senderKey, keys).
    pub hub: Option<Arc<Hub>>,
    /// The write-behind queue of this backend's archive domains (messages, threads, contacts).
    pub archive: Option<Arc<WriteBehind>>,
}

impl Route {
    fn plain(backend: Arc<dyn Backend>, gate: Arc<Gate>, durable: bool) -> Self {
        let name = Arc::from(backend.kind());
        Self { name, backend, gate, durable, hub: None, archive: None }
    }
}

/// The Send part of a session: enough to tear it down from a future.
struct SessionCore {
    sid: Arc<str>,
    gate: Arc<Gate>,
    routes: Arc<HashMap<Domain, Route>>,
    layer: CacheLayerConfig,
    /// Ownership mode: this session's leases.
    lease: Option<Arc<SessionLease>>,
    /// The Signal caches its commits are fenced from (kept alive with the bundle).
    _fenced: Vec<Arc<SessionCache>>,
    /// Set once by the first `destroy()`; later calls get the same outcome.
    destroyed: OnceCell<std::result::Result<(), (ErrorCode, String)>>,
}

impl SessionCore {
    /// Sync half of `destroy()`: close every object of the session and let
    /// backends drop per-session memory (done now, so a new bundle for the same
    /// id cannot lose data to a late teardown).
    /// May this process touch the session's data (no ownership, or the lease is held)?
    fn owned(&self) -> bool {
        self.lease.as_ref().is_none_or(|l| l.holds())
    }

    fn close(&self) {
        if !self.gate.is_closed() {
            self.gate.close();
            if !self.owned() {
                return;
            }
            for domain in Domain::PERSISTENT.into_iter().chain(Domain::ADAPTER) {
                if let Some(r) = self.routes.get(&domain) {
                    r.backend.release_session(&self.sid, domain);
                }
            }
        }
    }

    /// Async half: write what the session has pending (within
    /// `writeBehind.flushTimeoutMs`, or `flush_timeout`), then clear the caches
    /// (a persistent retry cache is wiped on graceful destroy, as in zapo).
    async fn teardown(self: Arc<Self>, flush_timeout: Option<Duration>) -> StoreResult<()> {
        let outcome = self
            .destroyed
            .get_or_init(|| async {
                let (hubs, queues) = flush::layers(self.routes.values());
                let timeout = flush_timeout.unwrap_or_else(|| flush::destroy_timeout(&queues));
                let flushed = flush::flush_layers(&hubs, &queues, Some(&self.sid), timeout).await;
                let unwritten = flushed.into_error(&format!("session {:?}", &*self.sid), timeout);
                // Without the lease these caches are another process's: leave them alone.
                let failures = if self.owned() { clear_caches(&self.routes, &self.sid).await } else { Vec::new() };
                // After the final flush: the next owner must not see our writes land after it took over.
                let released = match &self.lease {
                    Some(lease) => lease.release().await.err(),
                    None => None,
                };
                match unwritten.or(failures.into_iter().next()).or(released) {
                    None => Ok(()),
                    Some(e) => Err((e.code, e.message)),
                }
            })
            .await;
        outcome.clone().map_err(|(code, message)| StoreError::new(code, format!("session teardown: {message}")))
    }
}

/// `clear()` then release on every cache domain of `sid`; returns the failures.
async fn clear_caches(routes: &HashMap<Domain, Route>, sid: &str) -> Vec<StoreError> {
    use crate::domain::{chat_metadata::ChatMetadataStore, device_list::DeviceListStore, group_metadata::GroupMetadataStore, message_secret::MessageSecretStore, retry::RetryStore};
    let mut failures = Vec::new();
    for domain in Domain::CACHES {
        let Some(route) = routes.get(&domain) else { continue };
        if route.gate.is_closed() {
            continue;
        }
        let b = &*route.backend;
        let r = match domain {
            Domain::Retry => RetryStore::clear(b, sid).await,
            Domain::GroupMetadata => GroupMetadataStore::clear(b, sid).await,
            Domain::ChatMetadata => ChatMetadataStore::clear(b, sid).await,
            Domain::DeviceList => DeviceListStore::clear(b, sid).await,
            _ => MessageSecretStore::clear(b, sid).await,
        };
        if let Err(e) = r {
            failures.push(e);
        }
        b.release_session(sid, domain);
    }
    failures
}

/// `ownership` of a store: the lease settings and who this store is.
struct Ownership {
    config: OwnershipConfig,
    owner: Arc<LeaseOwner>,
    runtime: tokio::runtime::Handle,
}

struct StoreInner {
    routes: Arc<HashMap<Domain, Route>>,
    layer: CacheLayerConfig,
    ownership: Option<Ownership>,
    /// Each distinct backend once, for `store.destroy()`.
    backends: Vec<Route>,
    gate: Arc<Gate>,
    sessions: RefCell<HashMap<String, (JsRef, Arc<SessionCore>)>>,
    /// Destroyed sessions whose teardown may still be running.
    retired: RefCell<Vec<Arc<SessionCore>>>,
    destroyed: Arc<OnceCell<std::result::Result<(), (ErrorCode, String)>>>,
    /// Each distinct user backend's encryption layer, with the secret record
    /// kinds this store routes to it (what rotation re-seals there).
    encrypted: Vec<(Arc<EncryptedBackend>, Vec<RecordKind>)>,
    /// Backends this store gave its `logger`: detached again by `destroy()`.
    logged: Vec<crate::events::Events>,
    log_sink: Option<Arc<super::logger::JsLogSink>>,
}

/// What `store.rotateEncryptionKey()` did.
#[napi(object, js_name = "RotationReport")]
pub struct JsRotationReport {
    /// Sessions walked, over every backend.
    pub sessions: f64,
    /// Records holding a secret value that were read.
    pub records: f64,
    /// Records re-encrypted with the current key (the others had it already).
    pub reencrypted: f64,
    /// Of those, records that were stored unencrypted.
    pub from_plaintext: f64,
}

impl From<RotationReport> for JsRotationReport {
    fn from(r: RotationReport) -> Self {
        Self {
            sessions: r.sessions as f64,
            records: r.records as f64,
            reencrypted: r.reencrypted as f64,
            from_plaintext: r.from_plaintext as f64,
        }
    }
}

/// A store built by `createStore`.
#[napi]
pub struct Store {
    inner: Rc<StoreInner>,
}

/// The current cache objects of a session and the gate that closes them together.
type CacheSet = (Arc<Gate>, Vec<(Domain, JsRef)>);

/// One session's bundle of domain stores.
#[napi]
pub struct StoreSession {
    core: Arc<SessionCore>,
    store: Weak<StoreInner>,
    persistent: Vec<(Domain, JsRef)>,
    caches: RefCell<CacheSet>,
    /// The promise of the first `destroy()`, returned again on repeat calls.
    destroying: RefCell<Option<JsRef>>,
}

fn make_objects(env: sys::napi_env, core: &SessionCore, domains: &[Domain], gate: &Arc<Gate>) -> Result<Vec<(Domain, JsRef)>> {
    domains
        .iter()
        .map(|&d| {
            let route = core.routes.get(&d).ok_or_else(|| napi::Error::from_reason(format!("no provider for {}", d.name())))?;
            let g = Gate::child("this session", &[gate, &route.gate]);
            let l1 = match d {
                Domain::Session => core.layer.session,
                Domain::Identity => core.layer.identity,
                Domain::SenderKey => core.layer.sender_key,
                Domain::PrivacyToken => core.layer.privacy_token,
                _ => None,
            }
            .filter(|_| route.durable);
            let layers = Layers { l1, hub: route.hub.as_ref(), archive: route.archive.as_ref(), lease: core.lease.as_ref() };
            let v = domain_object(env, &route.backend, d, Arc::clone(&core.sid), g, layers)?;
            Ok((d, JsRef::new(env, v)?))
        })
        .collect()
}

impl StoreSession {
    fn get(&self, domain: Domain) -> Result<Raw> {
        let list = if domain.is_cache() { None } else { Some(&self.persistent) };
        let value = match list {
            Some(l) => l.iter().find(|(d, _)| *d == domain).map(|(_, r)| r.value()),
            None => self.caches.borrow().1.iter().find(|(d, _)| *d == domain).map(|(_, r)| r.value()),
        };
        value.unwrap_or_else(|| Err(napi::Error::from_reason(format!("no {} store", domain.name())))).map(Raw)
    }
}

#[napi]
impl StoreSession {
    /// The trimmed session id.
    #[napi(getter)]
    pub fn session_id(&self) -> String {
        self.core.sid.to_string()
    }

    #[napi(getter, ts_return_type = "AuthStore")]
    pub fn auth(&self) -> Result<Raw> {
        self.get(Domain::Auth)
    }
    #[napi(getter, ts_return_type = "SignalStore")]
    pub fn signal(&self) -> Result<Raw> {
        self.get(Domain::Signal)
    }
    #[napi(getter, ts_return_type = "PreKeyStore")]
    pub fn pre_key(&self) -> Result<Raw> {
        self.get(Domain::PreKey)
    }
    #[napi(getter, ts_return_type = "SessionStore")]
    pub fn session(&self) -> Result<Raw> {
        self.get(Domain::Session)
    }
    #[napi(getter, ts_return_type = "IdentityStore")]
    pub fn identity(&self) -> Result<Raw> {
        self.get(Domain::Identity)
    }
    #[napi(getter, ts_return_type = "SenderKeyStore")]
    pub fn sender_key(&self) -> Result<Raw> {
        self.get(Domain::SenderKey)
    }
    #[napi(getter, ts_return_type = "AppStateStore")]
    pub fn app_state(&self) -> Result<Raw> {
        self.get(Domain::AppState)
    }
    #[napi(getter, ts_return_type = "PrivacyTokenStore")]
    pub fn privacy_token(&self) -> Result<Raw> {
        self.get(Domain::PrivacyToken)
    }
    #[napi(getter, ts_return_type = "MessageStore")]
    pub fn messages(&self) -> Result<Raw> {
        self.get(Domain::Messages)
    }
    #[napi(getter, ts_return_type = "ThreadStore")]
    pub fn threads(&self) -> Result<Raw> {
        self.get(Domain::Threads)
    }
    #[napi(getter, ts_return_type = "ContactStore")]
    pub fn contacts(&self) -> Result<Raw> {
        self.get(Domain::Contacts)
    }
    /// The adapters' generic key domain (`useBaileysAuthState` keeps Baileys' auth state here).
    #[napi(getter, ts_return_type = "KeyStore")]
    pub fn keys(&self) -> Result<Raw> {
        self.get(Domain::Keys)
    }
    #[napi(getter, ts_return_type = "RetryStore")]
    pub fn retry(&self) -> Result<Raw> {
        self.get(Domain::Retry)
    }
    #[napi(getter, ts_return_type = "GroupMetadataStore")]
    pub fn group_metadata(&self) -> Result<Raw> {
        self.get(Domain::GroupMetadata)
    }
    #[napi(getter, ts_return_type = "ChatMetadataStore")]
    pub fn chat_metadata(&self) -> Result<Raw> {
        self.get(Domain::ChatMetadata)
    }
    #[napi(getter, ts_return_type = "DeviceListStore")]
    pub fn device_list(&self) -> Result<Raw> {
        self.get(Domain::DeviceList)
    }
    #[napi(getter, ts_return_type = "MessageSecretStore")]
    pub fn message_secret(&self) -> Result<Raw> {
        self.get(Domain::MessageSecret)
    }

    /// Writes what this session has pending (deferred Signal writes,
    /// write-behind archive writes), waiting at most `timeoutMs`
    /// (default `writeBehind.flushTimeoutMs`).
    #[napi(catch_unwind, ts_args_type = "timeoutMs?: number", ts_return_type = "Promise<FlushReport>")]
    pub fn flush<'e>(&self, env: &'e Env, timeout_ms: Option<f64>) -> Result<PromiseRaw<'e, Reply<JsFlushReport>>> {
        let timeout = match timeout_ms {
            None => None,
            Some(ms) if ms.is_finite() && ms >= 0.0 => Some(Duration::from_millis(ms as u64)),
            Some(ms) => {
                let err = StoreError::invalid_argument(format!("timeoutMs must be a non-negative number, got {ms}"));
                return env.spawn_future(async move { Ok(Reply::store(Err(err))) });
            }
        };
        if let Err(e) = self.core.gate.check() {
            return env.spawn_future(async move { Ok(Reply::store(Err(e))) });
        }
        let (routes, sid) = (Arc::clone(&self.core.routes), Arc::clone(&self.core.sid));
        env.spawn_future(async move {
            let (hubs, queues) = flush::layers(routes.values());
            let timeout = timeout.unwrap_or_else(|| flush::destroy_timeout(&queues));
            let flushed = flush::flush_layers(&hubs, &queues, Some(&sid), timeout).await;
            Ok(Reply::store(Ok(flushed.report.into())))
        })
    }

    /// Counters of this session's Signal cache and pending archive writes.
    #[napi(catch_unwind)]
    pub fn stats(&self) -> JsSessionStats {
        flush::session_stats(&self.core.routes, &self.core.sid)
    }

    /// Clears and closes every cache of this session, then puts fresh cache
    /// objects behind the getters. Old cache objects reject `STORE_CLOSED`.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn destroy_caches<'e>(&self, env: &'e Env) -> Result<PromiseRaw<'e, Reply<()>>> {
        if let Err(e) = self.core.gate.check() {
            return env.spawn_future(async move { Ok(Reply::store(Err(e))) });
        }
        let fresh_gate = Gate::child("these caches", &[&self.core.gate]);
        let fresh = make_objects(env.raw(), &self.core, &Domain::CACHES, &fresh_gate)?;
        let (old_gate, _old) = self.caches.replace((fresh_gate, fresh));
        old_gate.close();
        let (routes, sid) = (Arc::clone(&self.core.routes), Arc::clone(&self.core.sid));
        env.spawn_future(async move {
            let failures = clear_caches(&routes, &sid).await;
            Ok(Reply::store(match failures.len() {
                0 => Ok(()),
                n => Err(StoreError::new(
                    failures[0].code,
                    format!("cache reset finished with {n} failure(s); fresh caches are in place but old entries may remain: {}", failures[0].message),
                )),
            }))
        })
    }

    /// Closes the session: the id is un-memoized at once (a new `store.session(id)`
    /// builds a fresh bundle), every object rejects `STORE_CLOSED`, caches are
    /// cleared. Durable data stays. Repeated calls share one outcome.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn destroy(&self, env: &Env) -> Result<Raw> {
        if let Some(p) = self.destroying.borrow().as_ref() {
            return p.value().map(Raw);
        }
        if let Some(store) = self.store.upgrade() {
            let mut sessions = store.sessions.borrow_mut();
            if sessions.get(&*self.core.sid).is_some_and(|(_, c)| Arc::ptr_eq(c, &self.core)) {
                sessions.remove(&*self.core.sid);
            }
            store.retired.borrow_mut().push(Arc::clone(&self.core));
        }
        self.core.close();
        let core = Arc::clone(&self.core);
        let promise = env.spawn_future(async move { Ok(Reply::store(core.teardown(None).await)) })?;
        let raw = promise.raw();
        *self.destroying.borrow_mut() = Some(JsRef::new(env.raw(), raw)?);
        Ok(Raw(raw))
    }
}

#[napi]
impl Store {
    /// The bundle for `sessionId` (trimmed), built on first use and memoized.
    #[napi(catch_unwind, ts_args_type = "sessionId: string", ts_return_type = "StoreSession")]
    pub fn session(&self, env: Env, session_id: Unknown) -> Result<Raw> {
        let inner = &self.inner;
        if inner.gate.is_closed() {
            return Err(to_napi(env.raw(), &StoreError::closed("this store")));
        }
        let sid = In::new(env.raw(), session_id.raw(), "sessionId").string().and_then(|s| normalize_session_id(&s)).or_throw(&env)?;
        if let Some((r, _)) = inner.sessions.borrow().get(&sid) {
            return r.value().map(Raw);
        }
        inner.retired.borrow_mut().retain(|c| c.destroyed.get().is_none());
        let sid_arc: Arc<str> = Arc::from(sid.as_str());
        let (lease, fenced) = match &inner.ownership {
            Some(own) => {
                let (lease, caches) = session_lease(own, &sid_arc, &inner.routes);
                (Some(lease), caches)
            }
            None => (None, Vec::new()),
        };
        let core = Arc::new(SessionCore {
            sid: sid_arc,
            gate: Gate::child("this session", &[&inner.gate]),
            routes: Arc::clone(&inner.routes),
            layer: inner.layer,
            lease,
            _fenced: fenced,
            destroyed: OnceCell::new(),
        });
        let durable: Vec<Domain> = Domain::PERSISTENT.into_iter().chain(Domain::ADAPTER).collect();
        let persistent = make_objects(env.raw(), &core, &durable, &core.gate)?;
        let cache_gate = Gate::child("these caches", &[&core.gate]);
        let caches = make_objects(env.raw(), &core, &Domain::CACHES, &cache_gate)?;
        let session = StoreSession { core: Arc::clone(&core), store: Rc::downgrade(inner), persistent, caches: RefCell::new((cache_gate, caches)), destroying: RefCell::new(None) };
        let value = unsafe { ToNapiValue::to_napi_value(env.raw(), session)? };
        inner.sessions.borrow_mut().insert(sid, (JsRef::new(env.raw(), value)?, core));
        Ok(Raw(value))
    }

    /// Re-encrypts every stored secret value (credentials and Signal key
    /// material) with `encryption.current`, `batchSize` records at a time
    /// (default 500), in every backend of this store. Values stored
    /// unencrypted are encrypted too. Every value stays readable meanwhile.
    #[napi(catch_unwind, ts_args_type = "options?: { batchSize?: number }", ts_return_type = "Promise<RotationReport>")]
    pub fn rotate_encryption_key<'e>(&self, env: &'e Env, options: Option<Unknown>) -> Result<PromiseRaw<'e, Reply<JsRotationReport>>> {
        let batch = rotation_batch(env, options);
        let inner = &self.inner;
        let targets: Vec<(Arc<EncryptedBackend>, Vec<RecordKind>)> = inner.encrypted.clone();
        let gate = Arc::clone(&inner.gate);
        env.spawn_future(async move {
            let run = async {
                let batch = batch?;
                gate.check()?;
                if targets.iter().all(|(b, _)| b.ring().is_none()) {
                    return Err(StoreError::invalid_config(
                        "rotateEncryptionKey needs createStore({ encryption: { keys: { old, new }, current: 'new' } }) and at least one backend",
                    ));
                }
                let mut total = RotationReport::default();
                for (backend, kinds) in &targets {
                    let r = rotate(backend, kinds, batch).await?;
                    total.sessions += r.sessions;
                    total.records += r.records;
                    total.reencrypted += r.reencrypted;
                    total.from_plaintext += r.from_plaintext;
                }
                Ok(JsRotationReport::from(total))
            };
            Ok(Reply::store(run.await))
        })
    }

    /// Counters of every backend's Signal cache and write-behind queue.
    #[napi(catch_unwind)]
    pub fn stats(&self) -> JsStoreStats {
        flush::store_stats(&self.inner.backends, self.inner.sessions.borrow().len())
    }

    /// Prometheus text exposition (format 0.0.4) of `stats()` and the
    /// operation counters, one `backend` label per backend: serve it as
    /// `text/plain; version=0.0.4` from a `/metrics` endpoint.
    #[napi(catch_unwind)]
    pub fn metrics(&self) -> String {
        let losses = self.inner.log_sink.as_ref().map(|s| s.losses());
        super::metrics::store_metrics(&self.inner.backends, self.inner.sessions.borrow().len(), losses)
    }

    /// Writes everything pending (within `writeBehind.flushTimeoutMs`), then
    /// destroys every session and each backend once. Idempotent.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn destroy<'e>(&self, env: &'e Env) -> Result<PromiseRaw<'e, Reply<()>>> {
        let inner = &self.inner;
        inner.gate.close();
        let mut cores: Vec<Arc<SessionCore>> = inner.sessions.borrow_mut().drain().map(|(_, (_, c))| c).collect();
        cores.extend(inner.retired.borrow_mut().drain(..));
        for c in &cores {
            c.close();
        }
        let backends = inner.backends.clone();
        let logged = inner.logged.clone();
        let once = Arc::clone(&inner.destroyed);
        env.spawn_future(async move {
            let outcome = once
                .get_or_init(|| async move {
                    // One flush for everything first; the sessions' own teardowns then find nothing to wait for.
                    let (hubs, queues) = flush::layers(backends.iter());
                    let timeout = flush::destroy_timeout(&queues);
                    let flushed = flush::flush_layers(&hubs, &queues, None, timeout).await;
                    let mut first: Option<StoreError> = flushed.into_error("store", timeout);
                    for c in cores {
                        if let Err(e) = c.teardown(Some(Duration::ZERO)).await {
                            first.get_or_insert(e);
                        }
                    }
                    for h in &hubs {
                        h.close();
                    }
                    for q in &queues {
                        q.close();
                    }
                    for b in backends {
                        if let Err(e) = StoreBackend::shut(b.backend, b.gate).await {
                            first.get_or_insert(e);
                        }
                    }
                    for events in &logged {
                        events.set_sink(None);
                    }
                    first.map_or(Ok(()), |e| Err((e.code, e.message)))
                })
                .await;
            Ok(Reply::store(outcome.clone().map_err(|(code, msg)| StoreError::new(code, msg))))
        })
    }
}

/// `{ domain: 'providerName' }` maps of `providers` / `cacheProviders`.
fn provider_map(options: &In, field: &str) -> StoreResult<HashMap<String, String>> {
    let obj = options.field(field)?;
    if obj.is_nullish() {
        return Ok(HashMap::new());
    }
    entries(&obj)?.into_iter().map(|(k, v)| Ok((k, v.string().map_err(as_config)?))).collect()
}

/// zapo's `cacheLayer`: per-domain flags plus optional per-domain entry limits.
fn parse_cache_layer(options: &In) -> StoreResult<CacheLayerConfig> {
    let mut config = CacheLayerConfig::default();
    let layer = options.field("cacheLayer")?;
    if layer.is_nullish() {
        return Ok(config);
    }
    const FLAGS: [&str; 4] = ["session", "identity", "senderKey", "privacyToken"];
    let mut limits: HashMap<String, usize> = HashMap::new();
    for (key, value) in entries(&layer)? {
        if key == "limits" {
            for (name, n) in number_pairs(&value)? {
                if !FLAGS.contains(&name.as_str()) {
                    return Err(StoreError::invalid_config(format!("cacheLayer.limits.{name} is not a cacheLayer domain; use {}", FLAGS.join(", "))));
                }
                limits.insert(name.clone(), positive_integer(&format!("cacheLayer.limits.{name}"), n)? as usize);
            }
        } else if !FLAGS.contains(&key.as_str()) {
            return Err(StoreError::invalid_config(format!("cacheLayer.{key} is not an option; use {}, limits", FLAGS.join(", "))));
        }
    }
    for name in FLAGS {
        let flag = layer.field(name)?;
        let on = if flag.is_nullish() { false } else { flag.bool().map_err(as_config)? };
        if !on {
            continue;
        }
        let default = if name == "privacyToken" { DEFAULT_PRIVACY_TOKEN_L1_ENTRIES } else { DEFAULT_L1_ENTRIES };
        let n = Some(limits.get(name).copied().unwrap_or(default));
        match name {
            "session" => config.session = n,
            "identity" => config.identity = n,
            "senderKey" => config.sender_key = n,
            _ => config.privacy_token = n,
        }
    }
    Ok(config)
}

fn build_store(env: &Env, options: Option<Unknown>) -> StoreResult<StoreInner> {
    let opts = match options {
        Some(v) if In::new(env.raw(), v.raw(), "options").type_of() != sys::ValueType::napi_undefined => {
            In::new(env.raw(), v.raw(), "options").object().map_err(as_config)?
        }
        _ => return build_from(None),
    };
    build_from(Some(opts))
}

fn build_from(opts: Option<In>) -> StoreResult<StoreInner> {
    let mut backends: Vec<(String, Route)> = Vec::new();
    let (mut providers, mut cache_providers) = (HashMap::new(), HashMap::new());
    let (mut limits, mut ttls) = (MemoryLimits::default(), Default::default());
    let mut layer = CacheLayerConfig::default();
    let mut ownership = None;
    let (mut signal_cache, mut write_behind) = (Some(SignalCacheConfig::default()), Some(WriteBehindConfig::default()));
    let mut encryption: Option<EncryptionConfig> = None;
    let mut log: Option<LogOptions> = None;
    if let Some(o) = &opts {
        const OPTIONS: [&str; 11] = [
            "backends",
            "providers",
            "cacheProviders",
            "memory",
            "cacheLayer",
            "signalCache",
            "writeBehind",
            "ownership",
            "logger",
            "encryption",
            "slowOperationThresholdMs",
        ];
        for (key, _) in entries(o)? {
            if !OPTIONS.contains(&key.as_str()) {
                return Err(StoreError::invalid_config(format!(
                    "options.{key} is not a createStore option; use {}",
                    OPTIONS.join(", ")
                )));
            }
        }
        let b = o.field("backends")?;
        if !b.is_nullish() {
            for (name, value) in entries(&b)? {
                let backend = backend_of(&value).ok_or_else(|| {
                    StoreError::invalid_config(format!(
                        "backends.{name} is not a wastore backend; create it with createSqliteStore(...) or createMemoryStore(...)"
                    ))
                })?;
                let mut backend = backend;
                backend.name = Arc::from(name.as_str());
                backends.push((name, backend));
            }
        }
        providers = provider_map(o, "providers")?;
        cache_providers = provider_map(o, "cacheProviders")?;
        let memory = o.field("memory")?;
        if !memory.is_nullish() {
            for (key, _) in entries(&memory)? {
                if key != "limits" && key != "cacheTtlMs" {
                    return Err(StoreError::invalid_config(format!("memory.{key} is not an option; use limits, cacheTtlMs")));
                }
            }
            limits = MemoryLimits::with_overrides(&number_pairs(&memory.field("limits")?)?, "memory.limits")?;
            ttls = cache_ttls_with_overrides(&number_pairs(&memory.field("cacheTtlMs")?)?, "memory.cacheTtlMs")?;
        }
        layer = parse_cache_layer(o)?;
        signal_cache = parse_signal_cache(o, &limits)?;
        write_behind = parse_write_behind(o)?;
        encryption = parse_encryption(o)?;
        log = Some(LogOptions::read(o)?);
        ownership = parse_ownership(o)?;
    }
    let names: Vec<String> = backends.iter().map(|(n, _)| n.clone()).collect();
    let resolved = resolve_providers(&names, &providers, &cache_providers)?;
    let layers = attach_encryption(&mut backends, encryption.as_ref());
    attach_caches(&mut backends, signal_cache.as_ref(), write_behind.as_ref())?;
    let memory = Route::plain(Arc::new(MemoryBackend::new(limits, ttls)), Gate::root("the memory provider"), false);
    let none = Route::plain(Arc::new(NoopBackend::new(ttls)), Gate::root("the 'none' provider"), false);
    let mut routes = HashMap::new();
    for (domain, provider) in resolved {
        let route = match provider {
            Provider::Memory => memory.clone(),
            Provider::None => none.clone(),
            Provider::Backend(name) => backends.iter().find(|(n, _)| *n == name).map(|(_, r)| r.clone()).ok_or_else(|| {
                StoreError::invalid_config(format!("unknown backend '{name}'"))
            })?,
        };
        routes.insert(domain, route);
    }
    // Each distinct backend once (the same object may be listed under two names).
    let mut unique: Vec<Route> = vec![memory, none];
    for (_, r) in backends {
        if !unique.iter().any(|u| Arc::ptr_eq(&u.gate, &r.gate)) {
            unique.push(r);
        }
    }
    let encrypted = layers
        .into_iter()
        .map(|(gate, layer)| {
            let kinds = SECRET_KINDS
                .into_iter()
                .filter(|k| routes.get(&k.domain()).is_some_and(|r: &Route| Arc::ptr_eq(&r.gate, &gate)))
                .collect();
            (layer, kinds)
        })
        .collect();
    // The store's logger reaches every backend that has none of its own.
    let logged = match &log {
        Some(l) => unique.iter().filter(|r| l.attach(r.backend.events(), false)).map(|r| r.backend.events().clone()).collect(),
        None => Vec::new(),
    };
    let ownership = match ownership {
        Some(config) => Some(Ownership { config, owner: Arc::new(crate::ownership::owner()), runtime: runtime()? }),
        None => None,
    };
    Ok(StoreInner {
        encrypted,
        routes: Arc::new(routes),
        layer,
        ownership,
        backends: unique,
        gate: Gate::root("this store"),
        sessions: RefCell::new(HashMap::new()),
        retired: RefCell::new(Vec::new()),
        destroyed: Arc::new(OnceCell::new()),
        logged,
        log_sink: log.and_then(|l| l.sink),
    })
}

/// Puts the encryption layer (or, without `encryption`, the guard that
/// refuses encrypted values) in front of each distinct user backend, below
/// the caches. Returns each layer with the gate of its backend.
fn attach_encryption(
    backends: &mut [(String, Route)],
    encryption: Option<&EncryptionConfig>,
) -> Vec<(Arc<Gate>, Arc<EncryptedBackend>)> {
    let mut layers: Vec<(Arc<Gate>, Arc<EncryptedBackend>)> = Vec::new();
    for (_, route) in backends.iter_mut() {
        let layer = match layers.iter().find(|(g, _)| Arc::ptr_eq(g, &route.gate)) {
            Some((_, l)) => Arc::clone(l),
            None => {
                let inner = Arc::clone(&route.backend);
                let l = Arc::new(match encryption {
                    Some(c) => EncryptedBackend::new(inner, c.clone()),
                    None => EncryptedBackend::guard(inner),
                });
                layers.push((Arc::clone(&route.gate), Arc::clone(&l)));
                l
            }
        };
        route.backend = layer;
    }
    layers
}

/// `rotateEncryptionKey({ batchSize })`.
fn rotation_batch(env: &Env, options: Option<Unknown>) -> StoreResult<u32> {
    let Some(o) = options else { return Ok(DEFAULT_BATCH) };
    let o = In::new(env.raw(), o.raw(), "options");
    if o.is_nullish() {
        return Ok(DEFAULT_BATCH);
    }
    let o = o.object()?;
    for (key, _) in entries(&o).map_err(|e| StoreError::invalid_argument(e.message))? {
        if key != "batchSize" {
            return Err(StoreError::invalid_argument(format!("options.{key} is not a rotateEncryptionKey option; use batchSize")));
        }
    }
    let b = o.field("batchSize")?;
    if b.is_nullish() {
        return Ok(DEFAULT_BATCH);
    }
    let n = b.number()?;
    if !n.is_finite() || n.fract() != 0.0 || n < 1.0 || n > f64::from(crate::domain::snapshot::MAX_PAGE) {
        return Err(StoreError::invalid_argument(format!(
            "options.batchSize must be an integer from 1 to {}, got {n}",
            crate::domain::snapshot::MAX_PAGE
        )));
    }
    Ok(n as u32)
}

fn runtime() -> StoreResult<tokio::runtime::Handle> {
    napi::bindgen_prelude::within_runtime_if_available(tokio::runtime::Handle::try_current).map_err(|e| {
        StoreError::new(ErrorCode::ConnectionFailed, format!("the async runtime is not available: {e}"))
    })
}

/// The leases of one session: one per distinct backend its persistent
/// domains route to (the auth backend first, so a refusal names that one),
/// its Signal caches fenced with them and cleaned on each acquisition. The
/// acquisition starts now, in the background; calls wait for it.
fn session_lease(own: &Ownership, sid: &Arc<str>, routes: &HashMap<Domain, Route>) -> (Arc<SessionLease>, Vec<Arc<SessionCache>>) {
    let mut distinct: Vec<&Route> = Vec::new();
    for domain in Domain::PERSISTENT.into_iter().chain(Domain::ADAPTER) {
        if let Some(r) = routes.get(&domain) {
            if !distinct.iter().any(|d| Arc::ptr_eq(&d.gate, &r.gate)) {
                distinct.push(r);
            }
        }
    }
    let caches: Vec<(Arc<dyn Backend>, Arc<SessionCache>)> =
        distinct.iter().filter_map(|r| r.hub.as_ref().map(|h| (Arc::clone(&r.backend), h.session(sid)))).collect();
    let weak: Vec<std::sync::Weak<SessionCache>> = caches.iter().map(|(_, c)| Arc::downgrade(c)).collect();
    let on_acquired = Box::new(move || {
        for cache in weak.iter().filter_map(std::sync::Weak::upgrade) {
            cache.forget_clean();
        }
    });
    let backends = distinct.iter().map(|r| Arc::clone(&r.backend)).collect();
    let lease = SessionLease::new(Arc::clone(sid), Arc::clone(&own.owner), own.config, backends, own.runtime.clone(), on_acquired);
    for (backend, cache) in &caches {
        if let Some(slot) = lease.slot(backend) {
            cache.set_fence(slot);
        }
    }
    let eager = Arc::clone(&lease);
    // The outcome stays in the lease; the first call reports it.
    own.runtime.spawn(async move {
        let _ = eager.ensure().await;
    });
    (lease, caches.into_iter().map(|(_, c)| c).collect())
}

/// Gives each distinct user backend its Signal cache hub and write-behind
/// queue (shared by every name it is listed under and every session).
fn attach_caches(
    backends: &mut [(String, Route)],
    signal_cache: Option<&SignalCacheConfig>,
    write_behind: Option<&WriteBehindConfig>,
) -> StoreResult<()> {
    if backends.is_empty() || (signal_cache.is_none() && write_behind.is_none()) {
        return Ok(());
    }
    let runtime = runtime()?;
    for i in 0..backends.len() {
        let shared = backends[..i].iter().find(|(_, r)| Arc::ptr_eq(&r.gate, &backends[i].1.gate)).map(|(_, r)| r.clone());
        let route = &mut backends[i].1;
        match shared {
            Some(first) => {
                route.hub = first.hub;
                route.archive = first.archive;
            }
            // An in-process backend gains nothing from an in-process cache in front of it.
            None if route.backend.kind() == "memory" => {}
            None => {
                route.hub = signal_cache.map(|c| Hub::new(Arc::clone(&route.backend), c.clone(), runtime.clone()));
                route.archive = write_behind.map(|c| {
                    let archive: Arc<dyn crate::write_behind::ArchiveBackend> = route.backend.clone();
                    let backend = Arc::clone(&route.backend);
                    let validate: crate::write_behind::queue::Validator = Arc::new(move |_sid, record| {
                        record.texts().into_iter().try_for_each(|(field, text)| backend.check_text(field, text))
                    });
                    let queue = WriteBehind::with_validator(archive, c.clone(), runtime.clone(), validate);
                    WriteBehind::with_events(queue, route.backend.events().clone())
                });
            }
        }
    }
    Ok(())
}

/// The backend behind a `StoreBackend` object, read through its hidden
/// native handle: an `External` whose Rust type is checked, so no other
/// object (not even a look-alike) can pass for a backend.
fn backend_of(value: &In) -> Option<Route> {
    if value.type_of() != sys::ValueType::napi_object {
        return None;
    }
    let handle = value.field(BACKEND_HANDLE).ok()?;
    let link = unsafe { ExternalRef::<BackendLink>::from_napi_value(handle.env, handle.value) }.ok()?;
    Some(Route::plain(Arc::clone(&link.inner), Arc::clone(&link.gate), true))
}

/// zapo's `createStore`: routes each domain of every session to a backend, the
/// memory provider or `'none'`, validated up front.
#[napi(catch_unwind, ts_args_type = "options?: CreateStoreOptions")]
pub fn create_store(env: Env, options: Option<Unknown>) -> Result<Store> {
    let inner = build_store(&env, options).or_throw(&env)?;
    Ok(Store { inner: Rc::new(inner) })
}
