//! The cache and group commit against real backends; faults come from a
//! committer that fails on demand in front of the real one.

use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::kinds::{Identities, Keys, Sessions};
use super::{Durability, Hub, SignalCacheConfig};
use crate::backend::memory::MemoryBackend;
use crate::backend::sqlite::{SqliteBackend, SqliteOptions};
use crate::domain::lease::Fence;
use crate::domain::signal_batch::{SessionWrite, SignalBatchStore, SignalWrite};
use crate::domain::{Backend, SignalAddress, StoreResult};
use crate::error::{ErrorCode, StoreError};

const OK: u8 = 0;
/// Every commit fails as if the server were down.
const DOWN: u8 = 1;

/// Fails commits on demand (and always for a session write to user "bad"), else delegates.
struct Faulty {
    inner: Arc<dyn Backend>,
    mode: AtomicU8,
    calls: AtomicU32,
}

#[async_trait]
impl SignalBatchStore for Faulty {
    async fn commit_signal_batch(&self, writes: &[SessionWrite], fences: &[Fence]) -> StoreResult<()> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.mode.load(Ordering::SeqCst) == DOWN {
            return Err(StoreError::new(ErrorCode::ConnectionFailed, "server is down"));
        }
        if writes
            .iter()
            .any(|w| matches!(&w.write, SignalWrite::Session { address, .. } if address.user == "bad"))
        {
            return Err(StoreError::new(ErrorCode::WriteFailed, "value rejected"));
        }
        self.inner.commit_signal_batch(writes, fences).await
    }
}

fn addr(user: &str) -> SignalAddress {
    SignalAddress::new(user, None, 0)
}

fn config(durability: Durability) -> SignalCacheConfig {
    SignalCacheConfig {
        durability,
        sync_timeout: Duration::from_millis(300),
        retry_base: Duration::from_millis(5),
        retry_cap: Duration::from_millis(20),
        max_flush_failures: 3,
        ..SignalCacheConfig::default()
    }
}

fn faulty_hub(durability: Durability) -> (Arc<Hub>, Arc<Faulty>, Arc<dyn Backend>) {
    let inner: Arc<dyn Backend> = Arc::new(MemoryBackend::default());
    let faulty = Arc::new(Faulty {
        inner: inner.clone(),
        mode: AtomicU8::new(OK),
        calls: AtomicU32::new(0),
    });
    let hub = Hub::with_committer(
        inner.clone(),
        faulty.clone(),
        config(durability),
        tokio::runtime::Handle::current(),
    );
    (hub, faulty, inner)
}

fn sqlite_hub(dir: &tempfile::TempDir) -> (Arc<Hub>, Arc<dyn Backend>) {
    let path = dir.path().join("cache.sqlite").to_string_lossy().into_owned();
    let backend: Arc<dyn Backend> = Arc::new(
        SqliteBackend::new(SqliteOptions {
            path,
            pragmas: vec![],
            table_names: vec![],
            cache_ttls: Default::default(),
        })
        .unwrap(),
    );
    (
        Hub::new(
            backend.clone(),
            config(Durability::Sync),
            tokio::runtime::Handle::current(),
        ),
        backend,
    )
}

#[tokio::test]
async fn a_thousand_lookups_of_an_absent_key_cost_one_backend_read() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, _) = sqlite_hub(&dir);
    let cache = hub.session(&Arc::from("s"));
    for _ in 0..1000 {
        assert_eq!(cache.get::<Sessions>(&[addr("nobody")]).await.unwrap(), vec![None]);
    }
    let s = cache.stats();
    assert_eq!(s.backend_reads, 1);
    assert_eq!(s.misses, 1);
    assert_eq!(s.negative_hits, 999);
    assert_eq!(
        cache.serve::<Sessions>(&[addr("nobody")]),
        Some(vec![None]),
        "served without the backend"
    );
    assert_eq!(cache.serve::<Sessions>(&[addr("other")]), None);
}

#[tokio::test]
async fn batch_reads_fetch_only_the_misses_in_one_call() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, backend) = sqlite_hub(&dir);
    backend
        .set_sessions("s", vec![(addr("a"), vec![1]), (addr("b"), vec![2])])
        .await
        .unwrap();
    let cache = hub.session(&Arc::from("s"));
    cache.get::<Sessions>(&[addr("a")]).await.unwrap();
    let got = cache
        .get::<Sessions>(&[addr("a"), addr("b"), addr("c"), addr("b")])
        .await
        .unwrap();
    let bytes: Vec<Option<Vec<u8>>> = got.into_iter().map(|v| v.map(|(b, _)| b.to_vec())).collect();
    assert_eq!(bytes, vec![Some(vec![1]), Some(vec![2]), None, Some(vec![2])]);
    let s = cache.stats();
    assert_eq!(s.backend_reads, 2, "one call for a, one for the misses b and c");
    assert_eq!(s.misses, 3);
}

#[tokio::test]
async fn sync_writes_resolve_after_commit_and_share_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, backend) = sqlite_hub(&dir);
    let caches: Vec<_> = (0..8).map(|i| hub.session(&Arc::from(format!("s{i}")))).collect();
    let mut waits = Vec::new();
    for n in 0..64u8 {
        let cache = &caches[n as usize % 8];
        let (_, pending) = cache
            .stage::<Sessions>(vec![(addr(&format!("u{n}")), Some(vec![n]))])
            .unwrap();
        waits.push(tokio::spawn(pending.wait()));
    }
    for w in waits {
        w.await.unwrap().unwrap();
    }
    for n in 0..64u8 {
        let sid = format!("s{}", n % 8);
        assert_eq!(
            backend.get_sessions(&sid, &[addr(&format!("u{n}"))]).await.unwrap(),
            vec![Some(vec![n])]
        );
    }
    let s = hub.stats();
    assert_eq!(s.flushed_records, 64);
    assert!(s.transactions < 64 / 4, "64 writes in {} transactions", s.transactions);
    assert_eq!(s.dirty, 0);
    assert_eq!(s.pending_writes, 0);
}

#[tokio::test]
async fn reads_see_staged_writes_and_generations_change_per_version() {
    let (hub, _, _) = faulty_hub(Durability::Deferred);
    let cache = hub.session(&Arc::from("s"));
    let (g1, _) = cache.stage::<Identities>(vec![(addr("a"), Some(vec![5]))]).unwrap();
    let got = cache.serve::<Identities>(&[addr("a")]).unwrap();
    assert_eq!(got[0].as_ref().map(|(b, g)| (b.to_vec(), *g)), Some((vec![5], g1[0])));
    let (g2, _) = cache.stage::<Identities>(vec![(addr("a"), Some(vec![6]))]).unwrap();
    assert_ne!(g1, g2);
    assert!(
        cache.stage::<Identities>(vec![(addr("a"), None)]).is_err(),
        "identities have no delete"
    );
}

#[tokio::test]
async fn a_failed_sync_write_rejects_within_its_deadline_and_is_reverted() {
    let (hub, faulty, backend) = faulty_hub(Durability::Sync);
    let sink = Arc::new(crate::events::testing::Collect::default());
    backend.events().set_sink(Some(sink.clone()));
    let cache = hub.session(&Arc::from("s"));
    faulty.mode.store(DOWN, Ordering::SeqCst);
    let started = std::time::Instant::now();
    let (_, pending) = cache.stage::<Sessions>(vec![(addr("a"), Some(vec![1]))]).unwrap();
    let err = pending.wait().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ConnectionFailed);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "bounded: {:?}",
        started.elapsed()
    );
    assert!(faulty.calls.load(Ordering::SeqCst) > 1, "retried before giving up");
    let failed = sink.named("signalFlushFailed");
    assert_eq!(failed.len(), 1, "the reverted write is reported");
    assert_eq!(failed[0].session_id.as_deref(), Some("s"));
    assert_eq!(
        cache.serve::<Sessions>(&[addr("a")]),
        None,
        "the failed write is not served"
    );
    faulty.mode.store(OK, Ordering::SeqCst);
    assert_eq!(backend.get_sessions("s", &[addr("a")]).await.unwrap(), vec![None]);
    let (_, pending) = cache.stage::<Sessions>(vec![(addr("a"), Some(vec![2]))]).unwrap();
    pending.wait().await.unwrap();
    assert_eq!(
        backend.get_sessions("s", &[addr("a")]).await.unwrap(),
        vec![Some(vec![2])]
    );
}

#[tokio::test]
async fn deferred_writes_survive_an_outage_halt_and_resume() {
    let (hub, faulty, backend) = faulty_hub(Durability::Deferred);
    let sink = Arc::new(crate::events::testing::Collect::default());
    backend.events().set_sink(Some(sink.clone()));
    let cache = hub.session(&Arc::from("s"));
    faulty.mode.store(DOWN, Ordering::SeqCst);
    for n in 0..10u8 {
        let (_, pending) = cache
            .stage::<Keys>(vec![(("session".into(), n.to_string()), Some(vec![n]))])
            .unwrap();
        pending.wait().await.unwrap(); // acknowledged at once
    }
    // Wait until the flusher has failed often enough to halt.
    for _ in 0..200 {
        if hub.stats().halted {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let s = hub.stats();
    assert!(s.halted && s.failures >= 3, "{s:?}");
    assert_eq!(s.dirty, 10, "dirty state is kept");
    let err = cache
        .stage::<Keys>(vec![(("session".into(), "x".into()), Some(vec![0]))])
        .err()
        .unwrap();
    assert_eq!(err.code, ErrorCode::FlushHalted);

    faulty.mode.store(OK, Ordering::SeqCst);
    cache.barrier(Duration::from_secs(5)).await.unwrap();
    let s = hub.stats();
    assert!(!s.halted);
    assert_eq!(s.dirty, 0);
    let ids: Vec<String> = (0..10u8).map(|n| n.to_string()).collect();
    let stored = backend.get_keys("s", "session", &ids).await.unwrap();
    assert_eq!(
        stored,
        (0..10u8).map(|n| Some(vec![n])).collect::<Vec<_>>(),
        "nothing acknowledged is lost"
    );
    cache
        .stage::<Keys>(vec![(("session".into(), "x".into()), Some(vec![0]))])
        .unwrap();
    assert!(!sink.named("signalFlushRetry").is_empty(), "retries are reported");
    assert_eq!(sink.named("signalFlushHalted").len(), 1, "the halt is reported once");
    assert_eq!(sink.named("signalFlushResumed").len(), 1, "and so is the recovery");
}

#[tokio::test]
async fn a_bad_write_fails_only_its_own_caller() {
    let (hub, _, backend) = faulty_hub(Durability::Sync);
    let a = hub.session(&Arc::from("a"));
    let b = hub.session(&Arc::from("b"));
    let (_, good1) = a.stage::<Sessions>(vec![(addr("x"), Some(vec![1]))]).unwrap();
    let (_, bad) = b
        .stage::<Sessions>(vec![(addr("bad"), Some(vec![2])), (addr("y"), Some(vec![3]))])
        .unwrap();
    let (_, good2) = a.stage::<Sessions>(vec![(addr("z"), Some(vec![4]))]).unwrap();
    let (r1, r2, r3) = tokio::join!(good1.wait(), bad.wait(), good2.wait());
    r1.unwrap();
    r3.unwrap();
    assert_eq!(r2.unwrap_err().code, ErrorCode::WriteFailed);
    assert_eq!(
        backend.get_sessions("a", &[addr("x"), addr("z")]).await.unwrap(),
        vec![Some(vec![1]), Some(vec![4])]
    );
    assert_eq!(
        backend.get_sessions("b", &[addr("y")]).await.unwrap(),
        vec![None],
        "the bad unit is all-or-nothing"
    );
}

#[tokio::test]
async fn the_cache_stays_within_its_limit_and_never_evicts_dirty_entries() {
    let (hub, faulty, _) = faulty_hub(Durability::Deferred);
    let sid: Arc<str> = Arc::from("s");
    let cache = hub.session(&sid);
    let limit = hub.config().limits.sessions;
    faulty.mode.store(DOWN, Ordering::SeqCst);
    let dirty: Vec<SignalAddress> = (0..50).map(|i| addr(&format!("d{i}"))).collect();
    for a in &dirty {
        cache.stage::<Sessions>(vec![(a.clone(), Some(vec![1]))]).unwrap();
    }
    faulty.mode.store(OK, Ordering::SeqCst);
    cache.barrier(Duration::from_secs(5)).await.unwrap();
    // Fill far past the limit with reads: clean entries are evicted, the cache stays bounded.
    let many: Vec<SignalAddress> = (0..(limit + 500)).map(|i| addr(&format!("r{i}"))).collect();
    for chunk in many.chunks(1000) {
        cache.get::<Sessions>(chunk).await.unwrap();
        assert!(
            cache.stats().entries as usize <= limit,
            "{} > {limit}",
            cache.stats().entries
        );
    }
    assert!(cache.stats().evictions >= 500);
    // Entries written during an outage stay dirty (and readable) however many reads come in.
    faulty.mode.store(DOWN, Ordering::SeqCst);
    let (_, _) = cache.stage::<Sessions>(vec![(addr("pinned"), Some(vec![7]))]).unwrap();
    cache.get::<Sessions>(&many[..1000]).await.unwrap();
    assert!(cache.serve::<Sessions>(&[addr("pinned")]).is_some());
    assert_eq!(cache.stats().dirty, 1);
    faulty.mode.store(OK, Ordering::SeqCst);
    cache.barrier(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn a_rebuilt_bundle_shares_the_session_cache() {
    let (hub, _, _) = faulty_hub(Durability::Deferred);
    let sid: Arc<str> = Arc::from("s");
    let first = hub.session(&sid);
    first.stage::<Sessions>(vec![(addr("a"), Some(vec![1]))]).unwrap();
    let again = hub.session(&sid);
    assert!(Arc::ptr_eq(&first, &again));
    assert!(again.serve::<Sessions>(&[addr("a")]).is_some());
    again.barrier(Duration::from_secs(5)).await.unwrap();
    hub.flush_all(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn deferred_flushes_wait_for_the_window_and_coalesce() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.sqlite").to_string_lossy().into_owned();
    let backend: Arc<dyn Backend> = Arc::new(
        SqliteBackend::new(SqliteOptions {
            path,
            pragmas: vec![],
            table_names: vec![],
            cache_ttls: Default::default(),
        })
        .unwrap(),
    );
    backend.get_sessions("s", &[addr("same")]).await.unwrap(); // open (and migrate) first
    let config = SignalCacheConfig {
        flush_window: Duration::from_millis(200),
        ..config(Durability::Deferred)
    };
    let hub = Hub::new(backend.clone(), config, tokio::runtime::Handle::current());
    let cache = hub.session(&Arc::from("s"));
    for n in 0..100u8 {
        cache.stage::<Sessions>(vec![(addr("same"), Some(vec![n]))]).unwrap();
    }
    assert_eq!(
        backend.get_sessions("s", &[addr("same")]).await.unwrap(),
        vec![None],
        "not yet flushed"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        backend.get_sessions("s", &[addr("same")]).await.unwrap(),
        vec![Some(vec![99])]
    );
    assert_eq!(hub.stats().transactions, 1, "one window, one transaction");
}

/// The behavioural suite of the four cached domains, through the cache, on
/// SQLite (sync) and on memory (deferred): the cache changes no answer.
mod through_the_cache {
    use super::*;
    use crate::backend::conformance;
    use crate::signal_cache::CachedSignal;

    fn sqlite_cached(dir: &tempfile::TempDir) -> Arc<CachedSignal> {
        Arc::new(CachedSignal::new(sqlite_hub(dir).0))
    }

    fn memory_deferred() -> Arc<CachedSignal> {
        Arc::new(CachedSignal::new(faulty_hub(Durability::Deferred).0))
    }

    #[tokio::test]
    async fn session() {
        let dir = tempfile::tempdir().unwrap();
        conformance::session(sqlite_cached(&dir)).await;
        conformance::session(memory_deferred()).await;
    }

    #[tokio::test]
    async fn identity() {
        let dir = tempfile::tempdir().unwrap();
        conformance::identity(sqlite_cached(&dir)).await;
        conformance::identity(memory_deferred()).await;
    }

    #[tokio::test]
    async fn sender_key() {
        let dir = tempfile::tempdir().unwrap();
        conformance::sender_key(sqlite_cached(&dir)).await;
        conformance::sender_key(memory_deferred()).await;
    }

    #[tokio::test]
    async fn keys() {
        let dir = tempfile::tempdir().unwrap();
        conformance::keys(sqlite_cached(&dir)).await;
        conformance::keys(memory_deferred()).await;
    }
}
