//! napi bindings: the only module that knows about Node. It converts JS
//! arguments into domain types, calls the backends, and turns results and
//! `StoreError`s back into JS values and coded `Error`s.

mod backend;
mod codec_api;
mod domains;
mod errors;
mod flush;
mod handle;
mod input;
mod js_ref;
mod logger;
mod metrics;
mod limits_api;
mod records_in;
mod records_out;
mod snapshot;
mod store;
mod store_options;
mod value;
