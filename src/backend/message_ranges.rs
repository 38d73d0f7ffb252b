//! The SQL statements of keyset paging (`list_messages_page`,
//! `delete_thread_messages`), shared by the SQL backends: one statement per
//! [`PageRange`] shape, built from the dialect's `AND …` condition of each.
//! The by-thread index serves every one: timed ranges seek on
//! `timestamp_ms <= ?` and filter the ties of that timestamp by id.

use crate::domain::messages::PageRange;

/// The `AND …` condition of each range shape in one dialect.
pub struct RangeConditions {
    /// Timestamp strictly below the bound (one bind: the timestamp).
    pub timed: String,
    /// Below `(timestamp, id)` in walk order: the timestamp (twice when
    /// `timestamp_twice`: `?` dialects cannot reuse a bind), then the id.
    pub timed_below: String,
    pub timestamp_twice: bool,
    /// No timestamp (no bind).
    pub untimed: String,
    /// No timestamp, id below the bound (one bind: the id).
    pub untimed_below: String,
}

/// A value a range statement binds after session and thread, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeBind<'a> {
    Timestamp(i64),
    Id(&'a str),
}

pub struct MessageRanges {
    all: String,
    timed: String,
    timed_below: String,
    untimed: String,
    untimed_below: String,
    timestamp_twice: bool,
}

impl MessageRanges {
    /// `statement(condition, binds)` builds one statement around a condition
    /// that takes `binds` values (after session and thread).
    pub fn new(c: &RangeConditions, statement: impl Fn(&str, usize) -> String) -> Self {
        Self {
            all: statement("", 0),
            timed: statement(&c.timed, 1),
            timed_below: statement(&c.timed_below, if c.timestamp_twice { 3 } else { 2 }),
            untimed: statement(&c.untimed, 0),
            untimed_below: statement(&c.untimed_below, 1),
            timestamp_twice: c.timestamp_twice,
        }
    }

    /// The statement of `range` and what it binds after session and thread.
    pub fn of<'a>(&'a self, range: PageRange<'a>) -> (&'a str, Vec<RangeBind<'a>>) {
        use RangeBind::{Id, Timestamp};
        match range {
            PageRange::All => (&self.all, vec![]),
            PageRange::Timed { timestamp_ms, below_id: None } => (&self.timed, vec![Timestamp(timestamp_ms)]),
            PageRange::Timed { timestamp_ms, below_id: Some(id) } if self.timestamp_twice => {
                (&self.timed_below, vec![Timestamp(timestamp_ms), Timestamp(timestamp_ms), Id(id)])
            }
            PageRange::Timed { timestamp_ms, below_id: Some(id) } => {
                (&self.timed_below, vec![Timestamp(timestamp_ms), Id(id)])
            }
            PageRange::Untimed { below_id: None } => (&self.untimed, vec![]),
            PageRange::Untimed { below_id: Some(id) } => (&self.untimed_below, vec![Id(id)]),
        }
    }
}

/// Binds a range's values after session and thread, for any sqlx driver.
pub fn bind_range<'q, DB>(
    mut query: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>,
    binds: Vec<RangeBind<'q>>,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    for b in binds {
        query = match b {
            RangeBind::Timestamp(ts) => query.bind(ts),
            RangeBind::Id(id) => query.bind(id),
        };
    }
    query
}

/// The `?` dialect (SQLite, MySQL) with `id_below` as the tie-break condition
/// on the id bind (`message_id < ?`, or MySQL's hash of it).
pub fn question_mark_conditions(id_below: &str) -> RangeConditions {
    RangeConditions {
        timed: " AND timestamp_ms < ?".to_owned(),
        timed_below: format!(" AND timestamp_ms <= ? AND (timestamp_ms < ? OR {id_below})"),
        timestamp_twice: true,
        untimed: " AND timestamp_ms IS NULL".to_owned(),
        untimed_below: format!(" AND timestamp_ms IS NULL AND {id_below}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_follow_the_range_shape() {
        let ranges = MessageRanges::new(&question_mark_conditions("message_id < ?"), |c, n| format!("S{c}|{n}"));
        let (sql, binds) = ranges.of(PageRange::Timed { timestamp_ms: 5, below_id: Some("m") });
        assert_eq!(sql, "S AND timestamp_ms <= ? AND (timestamp_ms < ? OR message_id < ?)|3");
        assert_eq!(binds, [RangeBind::Timestamp(5), RangeBind::Timestamp(5), RangeBind::Id("m")]);
        assert_eq!(ranges.of(PageRange::All), ("S|0", vec![]));
        assert_eq!(ranges.of(PageRange::Untimed { below_id: Some("x") }).1, [RangeBind::Id("x")]);
    }
}
