//! One JS class per domain, grouped by area.

/// Defines a domain class: the struct holding its [`Handle`](crate::node::handle::Handle),
/// its constructor, and the two methods every domain has, `clear()` and `destroy()`.
/// The class's own methods go in a second `#[napi] impl` block.
macro_rules! domain_class {
    ($(#[$($doc:tt)*])* $class:ident, $domain:path) => {
        domain_class!($(#[$($doc)*])* $class, $domain, clear);
    };
    // `$clear`: the domain trait's method that deletes the session's data.
    ($(#[$doc:meta])* $class:ident, $domain:path, $clear:ident) => {
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

        #[napi_derive::napi]
        impl $class {
            /// Deletes everything this domain holds for the session.
            #[napi(ts_return_type = "Promise<void>")]
            pub async fn clear(&self) -> napi::Result<$crate::node::errors::Reply<()>> {
                self.h.call(|s, sid| async move { s.$clear(&sid).await }).await
            }

            /// Closes this object; later calls reject `STORE_CLOSED`.
            #[napi]
            pub async fn destroy(&self) -> napi::Result<()> {
                self.h.destroy();
                Ok(())
            }
        }
    };
}

pub mod app_state;
pub mod caches;
pub mod keys;
pub mod mailbox;
pub mod pre_key;
pub mod signal_keys;
