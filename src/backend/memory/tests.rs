//! Memory backend: the shared conformance suite, plus what only memory does
//! (per-session caps, eviction order, dropping a released session).
