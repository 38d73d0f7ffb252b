//! `messages`: the message archive.

use super::StoreResult;
use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub id: String,
    pub thread_jid: String,
    pub sender_jid: Option<String>,
    pub participant_jid: Option<String>,
    pub from_me: bool,
    pub timestamp_ms: Option<i64>,
    pub message_bytes: Option<Vec<u8>>,
}

/// Where a keyset walk of a thread starts. The walk order is newest first:
/// timestamp descending with undefined timestamps last (the oldest), then id
/// descending (byte order; MySQL breaks ties by the id's SHA-256 instead, see
/// its backend), a total order, so a walk from [`PageStart::After`] the last
/// message of a page returns every remaining message exactly once, however
/// many share a timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageStart {
    /// The newest message.
    Newest,
    /// The newest message with a timestamp strictly below this one; messages
    /// without a timestamp follow at the end of the walk.
    Before(i64),
    /// The message just after this one in walk order (it need not exist any more).
    After { timestamp_ms: Option<i64>, id: String },
}

impl PageStart {
    /// The position just after `m`, for the next page.
    pub fn after(m: &StoredMessage) -> Self {
        PageStart::After { timestamp_ms: m.timestamp_ms, id: m.id.clone() }
    }

    /// The opaque cursor string of an `After` position: `t<timestamp>:<id>`,
    /// or `u:<id>` without a timestamp (`None` for the other starts).
    pub fn to_cursor(&self) -> Option<String> {
        match self {
            PageStart::After { timestamp_ms: Some(ts), id } => Some(format!("t{ts}:{id}")),
            PageStart::After { timestamp_ms: None, id } => Some(format!("u:{id}")),
            _ => None,
        }
    }

    /// Reads a cursor made by [`PageStart::to_cursor`].
    pub fn from_cursor(cursor: &str) -> Option<Self> {
        let (head, id) = cursor.split_once(':')?;
        if id.is_empty() {
            return None;
        }
        let timestamp_ms = match head.strip_prefix('t') {
            Some(ts) if ts.bytes().all(|c| c.is_ascii_digit() || c == b'-') => Some(ts.parse().ok()?),
            None if head == "u" => None,
            _ => return None,
        };
        Some(PageStart::After { timestamp_ms, id: id.to_owned() })
    }
}

/// One index range of a keyset walk, for backends that query ranges one at a
/// time (SQL, MongoDB): [`page_ranges`] lists them in walk order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageRange<'a> {
    /// The whole thread in walk order (undefined timestamps last).
    All,
    /// Timestamped messages below `(timestamp_ms, below_id)` in walk order; with
    /// no id, every message with a timestamp strictly below `timestamp_ms`.
    Timed { timestamp_ms: i64, below_id: Option<&'a str> },
    /// Messages without a timestamp, ids below `below_id` (all of them without one).
    Untimed { below_id: Option<&'a str> },
}

/// The ranges a walk from `start` covers, in walk order.
pub fn page_ranges(start: &PageStart) -> Vec<PageRange<'_>> {
    match start {
        PageStart::Newest => vec![PageRange::All],
        PageStart::Before(ts) => vec![
            PageRange::Timed { timestamp_ms: *ts, below_id: None },
            PageRange::Untimed { below_id: None },
        ],
        PageStart::After { timestamp_ms: Some(ts), id } => vec![
            PageRange::Timed { timestamp_ms: *ts, below_id: Some(id) },
            PageRange::Untimed { below_id: None },
        ],
        PageStart::After { timestamp_ms: None, id } => vec![PageRange::Untimed { below_id: Some(id) }],
    }
}

/// A page read range by range: at most `limit` messages from `start`, each range
/// asked only for what is still missing (one query unless a page crosses into
/// the messages without a timestamp).
pub async fn page_by_ranges<'a, F, Fut>(
    start: &'a PageStart,
    limit: u32,
    mut query: F,
) -> StoreResult<Vec<StoredMessage>>
where
    F: FnMut(PageRange<'a>, u32) -> Fut,
    Fut: std::future::Future<Output = StoreResult<Vec<StoredMessage>>>,
{
    let mut out = Vec::new();
    for range in page_ranges(start) {
        let missing = limit.saturating_sub(u32::try_from(out.len()).unwrap_or(u32::MAX));
        if missing == 0 {
            break;
        }
        out.extend(query(range, missing).await?);
    }
    Ok(out)
}

#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Full replace per id (a message may move thread), all in one transaction.
    async fn upsert_messages(&self, sid: &str, records: Vec<StoredMessage>) -> StoreResult<()>;
    async fn get_message(&self, sid: &str, id: &str) -> StoreResult<Option<StoredMessage>>;
    /// Newest first (`timestamp_ms DESC, id DESC`); with `before`, only
    /// messages with a timestamp strictly below it (undefined timestamps are
    /// dropped). `limit` is validated positive by the caller.
    async fn list_messages_by_thread(&self, sid: &str, thread_jid: &str, limit: u32, before_timestamp_ms: Option<i64>) -> StoreResult<Vec<StoredMessage>>;
    /// Exact keyset paging: at most `limit` (positive) messages of the thread
    /// from `start`, in walk order (see [`PageStart`]). The next page starts
    /// [`PageStart::after`] the last message returned.
    async fn list_messages_page(
        &self,
        sid: &str,
        thread_jid: &str,
        limit: u32,
        start: &PageStart,
    ) -> StoreResult<Vec<StoredMessage>>;
    /// Deletes every message of the thread a walk from `start` would return
    /// (retention: `Before(cutoff)`, or everything after the newest N); returns how many.
    async fn delete_thread_messages(&self, sid: &str, thread_jid: &str, start: &PageStart) -> StoreResult<u32>;
    async fn delete_message(&self, sid: &str, id: &str) -> StoreResult<u32>;
    async fn clear(&self, sid: &str) -> StoreResult<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        for start in [
            PageStart::After { timestamp_ms: Some(1_700_000_000_000), id: "b|0|a@g.us|3EB0:x".into() },
            PageStart::After { timestamp_ms: Some(-5), id: "ünï 🙂".into() },
            PageStart::After { timestamp_ms: None, id: "t5:x".into() },
        ] {
            let cursor = start.to_cursor().unwrap();
            assert_eq!(PageStart::from_cursor(&cursor), Some(start), "{cursor}");
        }
        for bad in ["", "t5", "t5:", "x5:a", "t:a", "t1.5:a", "u5:a", "t99999999999999999999:a", "t+5:a"] {
            assert_eq!(PageStart::from_cursor(bad), None, "{bad:?}");
        }
        assert_eq!(PageStart::Newest.to_cursor(), None);
    }

    #[test]
    fn ranges_cover_the_walk_in_order() {
        assert_eq!(page_ranges(&PageStart::Newest), [PageRange::All]);
        let after = PageStart::After { timestamp_ms: Some(3), id: "m".into() };
        assert_eq!(
            page_ranges(&after),
            [PageRange::Timed { timestamp_ms: 3, below_id: Some("m") }, PageRange::Untimed { below_id: None }]
        );
    }
}
