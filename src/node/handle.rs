//! What every JS domain object holds: the backend's domain trait object, the
//! session id, and a gate that closes when the object, its session, its
//! store or its backend is destroyed (later calls reject `STORE_CLOSED`).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::domain::{Backend, Domain};
use crate::error::{StoreError, StoreResult};
use crate::ownership::SessionLease;
use crate::signal_cache::SessionCache;

use super::errors::Reply;
use super::js_ref::Raw;

/// A closable scope, closed also when any parent closes.
pub struct Gate {
    closed: AtomicBool,
    what: &'static str,
    parents: Vec<Arc<Gate>>,
}

impl Gate {
    pub fn root(what: &'static str) -> Arc<Gate> {
        Arc::new(Gate { closed: AtomicBool::new(false), what, parents: Vec::new() })
    }

    pub fn child(what: &'static str, parents: &[&Arc<Gate>]) -> Arc<Gate> {
        Arc::new(Gate { closed: AtomicBool::new(false), what, parents: parents.iter().map(|p| Arc::clone(p)).collect() })
    }

    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire) || self.parents.iter().any(|p| p.is_closed())
    }

    /// `Err(STORE_CLOSED)` naming the first closed scope.
    pub fn check(&self) -> StoreResult<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::closed(self.what));
        }
        self.parents.iter().try_for_each(|p| p.check())
    }
}

/// A domain of one session on one backend.
pub struct Handle<T: ?Sized> {
    pub store: Arc<T>,
    pub backend: Arc<dyn Backend>,
    pub sid: Arc<str>,
    pub domain: Domain,
    pub gate: Arc<Gate>,
    /// The session's Signal object cache, for the cached domains' fast paths
    /// (`store` then goes through the same cache).
    pub cache: Option<Arc<SessionCache>>,
    /// Ownership mode: every call first makes sure this process holds the session.
    pub lease: Option<Arc<SessionLease>>,
}

impl<T: ?Sized> Clone for Handle<T> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            backend: Arc::clone(&self.backend),
            sid: Arc::clone(&self.sid),
            domain: self.domain,
            gate: Arc::clone(&self.gate),
            cache: self.cache.clone(),
            lease: self.lease.clone(),
        }
    }
}

impl<T: ?Sized + Send + Sync + 'static> Handle<T> {
    /// Runs one backend call unless a scope is closed. The closure gets owned
    /// clones, so the future is `'static` and `Send`.
    pub async fn call<R, F, Fut>(&self, f: F) -> napi::Result<Reply<R>>
    where
        F: FnOnce(Arc<T>, Arc<str>) -> Fut,
        Fut: Future<Output = StoreResult<R>>,
    {
        if let Err(e) = self.gate.check() {
            return Ok(Reply::store(Err(e)));
        }
        if let Some(lease) = &self.lease {
            if let Err(e) = lease.ensure().await {
                return Ok(Reply::store(Err(e)));
            }
        }
        let started = std::time::Instant::now();
        let result = f(Arc::clone(&self.store), Arc::clone(&self.sid)).await;
        // The closure's type names the method that made it (see `events::operation_name`).
        let operation = std::any::type_name::<F>();
        self.backend.events().operation(&self.sid, self.domain, operation, started.elapsed(), result.is_err());
        Ok(Reply::store(result))
    }

    /// The Signal cache, when a call may take the fast path on the JS thread
    /// now: no ownership, or the lease is held (else the call goes through
    /// [`Handle::call`], which waits for the lease).
    pub fn fast_cache(&self) -> Option<&Arc<SessionCache>> {
        self.cache.as_ref().filter(|_| self.lease.as_ref().is_none_or(|l| l.ready()))
    }

    /// A promise resolved with `undefined` (no backend call, no lease needed).
    pub fn resolved(&self, env: &napi::Env) -> napi::Result<Raw> {
        let promise = env.spawn_future(async move { Ok(()) })?;
        Ok(Raw(napi::JsValue::raw(&promise)))
    }

    /// [`Handle::call`] as a promise, for sync napi methods (classes that are not `Send`).
    pub fn spawn<R, F, Fut>(&self, env: &napi::Env, f: F) -> napi::Result<Raw>
    where
        R: napi::bindgen_prelude::ToNapiValue + Send + 'static,
        F: FnOnce(Arc<T>, Arc<str>) -> Fut + Send + 'static,
        Fut: Future<Output = StoreResult<R>> + Send + 'static,
    {
        let h = self.clone();
        // Cached domains keep call order: a call that cannot take the fast
        // path for want of the lease queues behind the earlier ones.
        let mut ticket = match (&self.lease, &self.cache) {
            (Some(lease), Some(_)) if !lease.ready() => Some(lease.ticket()),
            _ => None,
        };
        let promise = env.spawn_future(async move {
            if let Some(t) = ticket.as_mut() {
                t.turn().await;
            }
            let reply = h.call(f).await;
            drop(ticket);
            reply
        })?;
        Ok(Raw(napi::JsValue::raw(&promise)))
    }

    /// `destroy()` of a domain object: close it and let the backend release the session's domain.
    pub fn destroy(&self) {
        if !self.gate.is_closed() {
            self.backend.release_session(&self.sid, self.domain);
        }
        self.gate.close();
    }
}
