//! napi bindings (filled in next).
