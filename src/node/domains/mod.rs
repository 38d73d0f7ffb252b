//! One JS class per domain, grouped by area.

/// Defines a domain class: the struct holding its [`Handle`](crate::node::handle::Handle),
/// its constructor, and the two methods every domain has, `clear()` and `destroy()`.
/// The class's own methods go in a second `#[napi] impl` block.
macro_rules! domain_class {
    ($(#[$($doc:tt)*])* $class:ident, $domain:path) => {
        domain_class!($(#[$($doc)*])* $class, $domain, clear: clear);
    };
    // `clear: $clear`: the domain trait's method that deletes the session's data (`clear` unless named).
    ($(#[$doc:meta])* $class:ident, $domain:path, clear: $clear:ident) => {
        $(#[$doc])*
        #[napi_derive::napi]
        pub struct $class {
            h: $crate::node::handle::Handle<dyn $domain>,
        }

        impl $class {
            pub(crate) fn new(h: $crate::node::handle::Handle<dyn $domain>) -> Self {
                Self { h }
            }
        }

        domain_class!(@common $class, $clear);
    };
    // A class of a domain the Signal cache can serve: it also memoizes the JS
    // objects of cached versions, keyed by `$key`.
    ($(#[$doc:meta])* $class:ident, $domain:path, memo: $key:ty) => {
        $(#[$doc])*
        #[napi_derive::napi]
        pub struct $class {
            h: $crate::node::handle::Handle<dyn $domain>,
            memo: $crate::node::domains::cached::Memo<$key>,
        }

        impl $class {
            pub(crate) fn new(h: $crate::node::handle::Handle<dyn $domain>) -> Self {
                Self { h, memo: Default::default() }
            }
        }

        domain_class!(@common $class, clear);
    };
    (@common $class:ident, $clear:ident) => {
        #[napi_derive::napi]
        impl $class {
            /// Deletes everything this domain holds for the session.
            #[napi(ts_return_type = "Promise<void>")]
            pub fn clear(&self, env: &napi::Env) -> napi::Result<$crate::node::js_ref::Raw> {
                self.h.spawn(env, |s, sid| async move { s.$clear(&sid).await })
            }

            /// Closes this object; later calls reject `STORE_CLOSED`.
            #[napi(ts_return_type = "Promise<void>")]
            pub fn destroy(&self, env: &napi::Env) -> napi::Result<$crate::node::js_ref::Raw> {
                self.h.destroy();
                self.h.resolved(env)
            }
        }
    };
}

pub mod app_state;
pub mod cached;
pub mod caches;
pub mod keys;
pub mod mailbox;
pub mod pre_key;
pub mod sessions;
pub mod signal_keys;
