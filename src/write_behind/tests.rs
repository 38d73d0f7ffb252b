//! The queue against real backends; outages come from a wrapper that fails
//! upserts on demand in front of the real archive.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{ArchiveBackend, Archived, WriteBehind, WriteBehindConfig};
use crate::backend::memory::MemoryBackend;
use crate::backend::sqlite::{SqliteBackend, SqliteOptions};
use crate::domain::contacts::{ContactStore, StoredContact};
use crate::domain::messages::{MessageStore, PageStart, StoredMessage};
use crate::domain::threads::{StoredThread, ThreadStore};
use crate::error::{ErrorCode, StoreError, StoreResult};

/// Upserts fail while `down` and take `slow_ms`; `largest` records the biggest batch seen, `in_flight_max` the concurrency.
struct Flaky {
    inner: Arc<dyn ArchiveBackend>,
    down: AtomicBool,
    slow_ms: AtomicU64,
    largest: AtomicUsize,
    in_flight: AtomicUsize,
    in_flight_max: AtomicUsize,
}

impl Flaky {
    fn new(inner: Arc<dyn ArchiveBackend>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            down: AtomicBool::new(false),
            slow_ms: AtomicU64::new(2),
            largest: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            in_flight_max: AtomicUsize::new(0),
        })
    }

    async fn gate(&self, n: usize) -> StoreResult<()> {
        self.largest.fetch_max(n, Ordering::SeqCst);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.in_flight_max.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(self.slow_ms.load(Ordering::SeqCst))).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::new(ErrorCode::ConnectionFailed, "server is down"));
        }
        Ok(())
    }
}

#[async_trait]
impl MessageStore for Flaky {
    async fn upsert_messages(&self, sid: &str, records: Vec<StoredMessage>) -> StoreResult<()> {
        self.gate(records.len()).await?;
        self.inner.upsert_messages(sid, records).await
    }
    async fn get_message(&self, sid: &str, id: &str) -> StoreResult<Option<StoredMessage>> {
        self.inner.get_message(sid, id).await
    }
    async fn list_messages_by_thread(
        &self,
        sid: &str,
        t: &str,
        l: u32,
        b: Option<i64>,
    ) -> StoreResult<Vec<StoredMessage>> {
        self.inner.list_messages_by_thread(sid, t, l, b).await
    }
    async fn list_messages_page(
        &self,
        sid: &str,
        t: &str,
        l: u32,
        start: &PageStart,
    ) -> StoreResult<Vec<StoredMessage>> {
        self.inner.list_messages_page(sid, t, l, start).await
    }
    async fn delete_thread_messages(&self, sid: &str, t: &str, start: &PageStart) -> StoreResult<u32> {
        self.inner.delete_thread_messages(sid, t, start).await
    }
    async fn delete_message(&self, sid: &str, id: &str) -> StoreResult<u32> {
        self.inner.delete_message(sid, id).await
    }
    async fn clear(&self, sid: &str) -> StoreResult<()> {
        MessageStore::clear(&*self.inner, sid).await
    }
}

#[async_trait]
impl ThreadStore for Flaky {
    async fn upsert_threads(&self, sid: &str, records: Vec<StoredThread>) -> StoreResult<()> {
        self.gate(records.len()).await?;
        self.inner.upsert_threads(sid, records).await
    }
    async fn get_thread(&self, sid: &str, jid: &str) -> StoreResult<Option<StoredThread>> {
        self.inner.get_thread(sid, jid).await
    }
    async fn list_threads(&self, sid: &str, limit: u32) -> StoreResult<Vec<StoredThread>> {
        self.inner.list_threads(sid, limit).await
    }
    async fn delete_thread(&self, sid: &str, jid: &str) -> StoreResult<u32> {
        self.inner.delete_thread(sid, jid).await
    }
    async fn clear(&self, sid: &str) -> StoreResult<()> {
        ThreadStore::clear(&*self.inner, sid).await
    }
}

#[async_trait]
impl ContactStore for Flaky {
    async fn upsert_contacts(&self, sid: &str, records: Vec<StoredContact>) -> StoreResult<()> {
        self.gate(records.len()).await?;
        self.inner.upsert_contacts(sid, records).await
    }
    async fn get_contact(&self, sid: &str, jid: &str) -> StoreResult<Option<StoredContact>> {
        self.inner.get_contact(sid, jid).await
    }
    async fn get_contact_by_phone_number(&self, sid: &str, pn: &str) -> StoreResult<Option<StoredContact>> {
        self.inner.get_contact_by_phone_number(sid, pn).await
    }
    async fn delete_contact(&self, sid: &str, jid: &str) -> StoreResult<u32> {
        self.inner.delete_contact(sid, jid).await
    }
    async fn clear(&self, sid: &str) -> StoreResult<()> {
        ContactStore::clear(&*self.inner, sid).await
    }
}

fn msg(id: &str, thread: &str, ts: i64) -> StoredMessage {
    StoredMessage {
        id: id.into(),
        thread_jid: thread.into(),
        sender_jid: None,
        participant_jid: None,
        from_me: false,
        timestamp_ms: Some(ts),
        message_bytes: Some(vec![1, 2, 3]),
    }
}

fn small_config() -> WriteBehindConfig {
    WriteBehindConfig {
        max_pending_keys: 64,
        max_write_concurrency: 2,
        max_batch_size: 10,
        retry_base: Duration::from_millis(5),
        retry_cap: Duration::from_millis(20),
        flush_timeout: Duration::from_millis(300),
    }
}

fn setup(inner: Arc<dyn ArchiveBackend>, config: WriteBehindConfig) -> (Arc<Flaky>, Archived) {
    let flaky = Flaky::new(inner);
    let queue = WriteBehind::new(flaky.clone(), config, tokio::runtime::Handle::current());
    (flaky.clone(), Archived { queue, backend: flaky })
}

#[tokio::test]
async fn everything_lands_in_bounded_batches_and_concurrency() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wb.sqlite").to_string_lossy().into_owned();
    let sqlite = Arc::new(
        SqliteBackend::new(SqliteOptions {
            path,
            pragmas: vec![],
            table_names: vec![],
            cache_ttls: Default::default(),
        })
        .unwrap(),
    );
    let (flaky, store) = setup(sqlite.clone(), small_config());
    let mut tasks = Vec::new();
    for s in 0..4 {
        let queue = Arc::clone(&store.queue);
        tasks.push(tokio::spawn(async move {
            for chunk in (0..500).collect::<Vec<i64>>().chunks(25) {
                let records = chunk
                    .iter()
                    .map(|i| super::Record::Message(msg(&format!("m{i}"), "t", *i)))
                    .collect();
                queue.enqueue(&format!("s{s}"), records).await.unwrap();
                assert!(queue.held_keys() <= 64, "never more than maxPendingKeys");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let report = store.queue.flush(None, None, Duration::from_secs(20)).await;
    assert_eq!(report.remaining, 0);
    for s in 0..4 {
        let listed = store
            .list_messages_by_thread(&format!("s{s}"), "t", 1000, None)
            .await
            .unwrap();
        assert_eq!(listed.len(), 500, "every write landed, exactly once");
    }
    assert!(flaky.largest.load(Ordering::SeqCst) <= 10);
    assert!(flaky.in_flight_max.load(Ordering::SeqCst) <= 2);
    assert_eq!(store.queue.stats().flushed_records, 2000);
}

#[tokio::test]
async fn writes_coalesce_and_reads_see_them_before_they_land() {
    let (flaky, store) = setup(Arc::new(MemoryBackend::default()), small_config());
    flaky.down.store(true, Ordering::SeqCst);
    store
        .upsert_threads(
            "s",
            vec![StoredThread {
                jid: "t".into(),
                name: Some("a".into()),
                ..Default::default()
            }],
        )
        .await
        .unwrap();
    store
        .upsert_threads(
            "s",
            vec![StoredThread {
                jid: "t".into(),
                unread_count: Some(2),
                ..Default::default()
            }],
        )
        .await
        .unwrap();
    store.upsert_messages("s", vec![msg("m", "t1", 1)]).await.unwrap();
    store.upsert_messages("s", vec![msg("m", "t2", 2)]).await.unwrap();
    let t = store.get_thread("s", "t").await.unwrap().unwrap();
    assert_eq!((t.name.as_deref(), t.unread_count), (Some("a"), Some(2)));
    assert_eq!(store.get_message("s", "m").await.unwrap().unwrap().thread_jid, "t2");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(store.queue.stats().failures > 0, "retried while down");
    // A newer write merges into the failed batch rather than being overwritten by its retry.
    store
        .upsert_threads(
            "s",
            vec![StoredThread {
                jid: "t".into(),
                archived: Some(true),
                ..Default::default()
            }],
        )
        .await
        .unwrap();
    flaky.down.store(false, Ordering::SeqCst);
    assert_eq!(
        store
            .queue
            .flush(Some("s"), None, Duration::from_secs(5))
            .await
            .remaining,
        0
    );
    let t = flaky.inner.get_thread("s", "t").await.unwrap().unwrap();
    assert_eq!(
        (t.name.as_deref(), t.unread_count, t.archived),
        (Some("a"), Some(2), Some(true))
    );
    assert_eq!(
        flaky.inner.get_message("s", "m").await.unwrap().unwrap().thread_jid,
        "t2"
    );
}

#[tokio::test]
async fn a_full_queue_makes_writers_wait_instead_of_dropping() {
    let config = WriteBehindConfig {
        max_pending_keys: 8,
        ..small_config()
    };
    let (flaky, store) = setup(Arc::new(MemoryBackend::default()), config);
    flaky.down.store(true, Ordering::SeqCst);
    let records: Vec<StoredMessage> = (0..20).map(|i| msg(&format!("m{i}"), "t", i)).collect();
    let queue = Arc::clone(&store.queue);
    let writer = tokio::spawn(async move {
        queue
            .enqueue("s", records.into_iter().map(super::Record::Message).collect())
            .await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!writer.is_finished(), "waits for room");
    assert_eq!(store.queue.held_keys(), 8);
    flaky.down.store(false, Ordering::SeqCst);
    writer.await.unwrap().unwrap();
    assert_eq!(store.queue.flush(None, None, Duration::from_secs(5)).await.remaining, 0);
    assert_eq!(
        store.list_messages_by_thread("s", "t", 100, None).await.unwrap().len(),
        20
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_writers_waiting_for_room_all_get_in() {
    let config = WriteBehindConfig {
        max_pending_keys: 8,
        ..small_config()
    };
    let (_, store) = setup(Arc::new(MemoryBackend::default()), config);
    let writers: Vec<_> = (0..2_000)
        .map(|i| {
            let queue = Arc::clone(&store.queue);
            tokio::spawn(async move { queue.enqueue("s", vec![super::Record::Message(msg(&format!("m{i}"), "t", i))]).await })
        })
        .collect();
    for w in writers {
        tokio::time::timeout(Duration::from_secs(30), w).await.expect("no writer is left waiting").unwrap().unwrap();
    }
    assert_eq!(store.queue.flush(None, None, Duration::from_secs(5)).await.remaining, 0);
    assert_eq!(store.list_messages_by_thread("s", "t", 5_000, None).await.unwrap().len(), 2_000);
}

#[tokio::test]
async fn retries_are_reported_to_the_event_sink_with_session_and_domain() {
    let flaky = Flaky::new(Arc::new(MemoryBackend::default()));
    let events = crate::events::Events::new("memory");
    let sink = Arc::new(crate::events::testing::Collect::default());
    events.set_sink(Some(sink.clone()));
    let queue = WriteBehind::with_events(
        WriteBehind::new(flaky.clone(), small_config(), tokio::runtime::Handle::current()),
        events,
    );
    let store = Archived { queue, backend: flaky.clone() };
    flaky.down.store(true, Ordering::SeqCst);
    store.upsert_messages("s1", vec![msg("m", "t", 1)]).await.unwrap();
    let _ = store.queue.flush(Some("s1"), None, Duration::from_millis(60)).await;
    let retries = sink.named("writeBehindRetry");
    assert!(!retries.is_empty(), "a failed batch is reported");
    assert_eq!((retries[0].session_id.as_deref(), retries[0].domain), (Some("s1"), Some("messages")));
    assert!(retries[0].fields.iter().any(|(k, v)| *k == "code" && *v == "STORE_CONNECTION_FAILED".into()));
    flaky.down.store(false, Ordering::SeqCst);
    let report = store.queue.flush(Some("s1"), None, Duration::from_secs(2)).await;
    assert_eq!(report.remaining, 0);
}

#[tokio::test]
async fn flush_reports_what_is_left_when_the_backend_stays_down() {
    let (flaky, store) = setup(Arc::new(MemoryBackend::default()), small_config());
    flaky.down.store(true, Ordering::SeqCst);
    store
        .upsert_contacts(
            "s",
            vec![StoredContact {
                jid: "c".into(),
                ..Default::default()
            }],
        )
        .await
        .unwrap();
    let report = store.queue.flush(Some("s"), None, Duration::from_millis(100)).await;
    assert_eq!((report.flushed, report.remaining), (0, 1));
    let err = store.delete_contact("s", "c").await;
    assert!(
        err.is_err(),
        "a delete must not overtake a queued write it cannot flush"
    );
    flaky.down.store(false, Ordering::SeqCst);
    assert_eq!(
        store.delete_contact("s", "c").await.unwrap(),
        1,
        "the queued write landed, then was deleted"
    );
    store.queue.close();
    assert!(store.upsert_contacts("s", vec![]).await.is_ok());
    assert!(store
        .upsert_contacts(
            "s",
            vec![StoredContact {
                jid: "x".into(),
                ..Default::default()
            }]
        )
        .await
        .is_err());
}

#[tokio::test]
async fn pages_and_thread_deletes_see_every_queued_write() {
    use crate::domain::messages::PageStart;
    let (flaky, store) = setup(Arc::new(MemoryBackend::new(Default::default(), Default::default())), small_config());
    let all: Vec<StoredMessage> = (0..200).map(|i| msg(&format!("m{i:03}"), "t", i / 50)).collect();
    store.upsert_messages("s", all.clone()).await.unwrap();
    // Queued, not yet written: the first page still sees all of them.
    let page = store.list_messages_page("s", "t", 120, &PageStart::Newest).await.unwrap();
    assert_eq!(page.len(), 120);
    let rest = store.list_messages_page("s", "t", 120, &PageStart::after(&page[119])).await.unwrap();
    assert_eq!(page.len() + rest.len(), 200);
    // A write queued while the backend is down is written before the delete runs (or the delete fails).
    flaky.down.store(true, Ordering::SeqCst);
    store.upsert_messages("s", vec![msg("late", "t", 0)]).await.unwrap();
    let err = store.delete_thread_messages("s", "t", &PageStart::Before(1)).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ConnectionFailed);
    flaky.down.store(false, Ordering::SeqCst);
    assert_eq!(store.delete_thread_messages("s", "t", &PageStart::Before(1)).await.unwrap(), 51);
    assert_eq!(store.list_messages_page("s", "t", 500, &PageStart::Newest).await.unwrap().len(), 150);
}

#[tokio::test]
async fn reads_wait_for_a_slow_backend_while_its_batches_land() {
    let (flaky, store) = setup(Arc::new(MemoryBackend::default()), small_config());
    // 20 batches, 2 at a time, 60 ms each: about 600 ms, twice the 300 ms flush timeout.
    flaky.slow_ms.store(60, Ordering::SeqCst);
    let all: Vec<StoredMessage> = (0..200).map(|i| msg(&format!("m{i:03}"), "t", i)).collect();
    let started = std::time::Instant::now();
    store.upsert_messages("s", all).await.unwrap();
    let page = store.list_messages_page("s", "t", 500, &PageStart::Newest).await.unwrap();
    assert_eq!(page.len(), 200, "the page waited for every queued write");
    assert!(started.elapsed() > Duration::from_millis(300), "the wait outlasted one flush timeout");
    assert_eq!(store.delete_thread_messages("s", "t", &PageStart::Newest).await.unwrap(), 200);
    // A backend that lands nothing for a whole timeout still fails the read.
    flaky.down.store(true, Ordering::SeqCst);
    store.upsert_messages("s", vec![msg("late", "t", 0)]).await.unwrap();
    let err = store.list_messages_page("s", "t", 10, &PageStart::Newest).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ConnectionFailed);
    assert!(err.message.contains("none landed"), "{}", err.message);
}
