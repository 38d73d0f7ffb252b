//! What every JS domain object holds: the backend's domain trait object, the
//! session id, and a gate that closes when the object, its session, its
//! store or its backend is destroyed (later calls reject `STORE_CLOSED`).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::domain::{Backend, Domain};
use crate::error::{StoreError, StoreResult};
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
        let started = std::time::Instant::now();
        let result = f(Arc::clone(&self.store), Arc::clone(&self.sid)).await;
        // The closure's type names the method that made it (see `events::operation_name`).
        let operation = std::any::type_name::<F>();
        self.backend.events().operation(&self.sid, self.domain, operation, started.elapsed(), result.is_err());
        Ok(Reply::store(result))
    }

    /// [`Handle::call`] as a promise, for sync napi methods (classes that are not `Send`).
    pub fn spawn<R, F, Fut>(&self, env: &napi::Env, f: F) -> napi::Result<Raw>
    where
        R: napi::bindgen_prelude::ToNapiValue + Send + 'static,
        F: FnOnce(Arc<T>, Arc<str>) -> Fut + Send + 'static,
        Fut: Future<Output = StoreResult<R>> + Send + 'static,
    {
        let h = self.clone();
        let promise = env.spawn_future(async move { h.call(f).await })?;
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
