//! Session leases: one row per session in `<prefix>session_leases`, timed
//! by the server's clock (`NOW(3)`; sqlx runs every session at UTC). An
//! acquisition reads the row `FOR UPDATE` and decides in one InnoDB
//! transaction; the Signal group commit reads the rows of its fences
//! `LOCK IN SHARE MODE`, so a takeover waits for a commit in flight and a
//! commit after a takeover sees the new token and is refused.
//!
//! Not `GET_LOCK`: that lock belongs to one connection, so it neither
//! expires while a paused holder keeps its connection open nor fences the
//! writes the pool's other connections make.

use async_trait::async_trait;
use sqlx::mysql::MySqlRow;
use sqlx::{MySql, Transaction};

use super::rows::col;
use super::{check_sid, is_retryable, write_err, MysqlBackend};
use crate::domain::lease::{
    check_fences, fenced_sids, may_take, Acquired, Fence, Lease, LeaseOwner, LeaseRecord, LeaseStore, Renewed,
};
use crate::domain::StoreResult;
use crate::error::StoreError;

/// Epoch milliseconds of the server's clock.
const NOW: &str = "CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)";

pub struct LeaseSql {
    table: String,
    lock: String,
    now: String,
    insert: String,
    take: String,
    get: String,
    renew: String,
    release: String,
}

impl LeaseSql {
    pub fn new(table: &str) -> Self {
        let columns = "token, owner, host, pid, expires_at_ms";
        Self {
            table: table.to_owned(),
            lock: format!("SELECT {columns} FROM {table} WHERE session_id = ? FOR UPDATE"),
            now: format!("SELECT {NOW} AS now_ms"),
            insert: format!(
                "INSERT INTO {table} (session_id, token, owner, host, pid, expires_at_ms) VALUES (?, ?, ?, ?, ?, {NOW} + ?)"
            ),
            take: format!(
                "UPDATE {table} SET token = ?, owner = ?, host = ?, pid = ?, expires_at_ms = {NOW} + ? WHERE session_id = ?"
            ),
            get: format!("SELECT {columns} FROM {table} WHERE session_id = ?"),
            renew: format!(
                "UPDATE {table} SET expires_at_ms = {NOW} + ? WHERE session_id = ? AND token = ? AND owner <> ''"
            ),
            release: format!("UPDATE {table} SET owner = '', expires_at_ms = 0 WHERE session_id = ? AND token = ?"),
        }
    }

    fn fence(&self, n: usize) -> String {
        let marks = vec!["?"; n].join(", ");
        format!(
            "SELECT session_id, token, owner, host, pid, expires_at_ms FROM {} WHERE session_id IN ({marks}) \
             ORDER BY session_id LOCK IN SHARE MODE",
            self.table
        )
    }
}

/// Text columns of wastore's MySQL tables are binary (exact, byte-wise ids).
fn text(row: &MySqlRow, name: &'static str) -> StoreResult<String> {
    let raw: Vec<u8> = col(row, name)?;
    String::from_utf8(raw).map_err(|_| StoreError::corrupted(format!("mysql: stored lease {name} is not UTF-8")))
}

fn record(row: &MySqlRow) -> StoreResult<LeaseRecord> {
    let token: i64 = col(row, "token")?;
    Ok(LeaseRecord {
        token: u64::try_from(token)
            .map_err(|_| StoreError::corrupted(format!("mysql: stored lease token {token} is negative")))?,
        owner: text(row, "owner")?,
        host: text(row, "host")?,
        pid: u32::try_from(col::<i64>(row, "pid")?).unwrap_or(0),
        expires_at_ms: col(row, "expires_at_ms")?,
    })
}

type Fail = (StoreError, bool);

fn fail(what: &'static str) -> impl Fn(sqlx::Error) -> Fail {
    move |err| {
        let retry = is_retryable(&err) || is_duplicate(&err);
        (write_err(what)(err), retry)
    }
}

/// Two first acquisitions of one session raced on the insert: the loser asks again.
fn is_duplicate(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.code().as_deref() == Some("23000"))
}

impl MysqlBackend {
    async fn lease_record<'e, E>(&self, executor: E, sid: &str) -> StoreResult<Option<LeaseRecord>>
    where
        E: sqlx::Executor<'e, Database = MySql>,
    {
        let row = sqlx::query(&self.lease_sql.get)
            .bind(sid)
            .fetch_optional(executor)
            .await
            .map_err(write_err("read a session lease"))?;
        row.as_ref().map(record).transpose()
    }

    async fn try_acquire(&self, sid: &str, owner: &LeaseOwner, lease_ms: u64) -> Result<Acquired, Fail> {
        let what = "acquire a session lease";
        let pool = self.pool().await.map_err(|e| (e, false))?;
        let mut tx = pool.begin().await.map_err(fail(what))?;
        let current = sqlx::query(&self.lease_sql.lock).bind(sid).fetch_optional(&mut *tx).await.map_err(fail(what))?;
        let current = current.as_ref().map(record).transpose().map_err(|e| (e, false))?;
        let now: i64 = {
            let row = sqlx::query(&self.lease_sql.now).fetch_one(&mut *tx).await.map_err(fail(what))?;
            col(&row, "now_ms").map_err(|e| (e, false))?
        };
        let token = match &current {
            Some(r) if !may_take(r, owner, now) => {
                // Now, not when the pool next uses the connection: the row lock goes with it.
                tx.rollback().await.map_err(fail(what))?;
                return Ok(Acquired::Held(r.clone()));
            }
            Some(r) => r.token.saturating_add(1),
            None => 1,
        };
        let statement = if current.is_some() { &self.lease_sql.take } else { &self.lease_sql.insert };
        let mut q = sqlx::query(statement);
        if current.is_none() {
            q = q.bind(sid);
        }
        q = q.bind(token as i64).bind(&owner.id).bind(&owner.host).bind(i64::from(owner.pid)).bind(lease_ms as i64);
        if current.is_some() {
            q = q.bind(sid);
        }
        q.execute(&mut *tx).await.map_err(fail(what))?;
        let granted = self.lease_record(&mut *tx, sid).await.map_err(|e| (e, false))?;
        tx.commit().await.map_err(fail(what))?;
        let expires_at_ms = granted.map_or(now.saturating_add(lease_ms as i64), |r| r.expires_at_ms);
        Ok(Acquired::Granted(Lease { token, expires_at_ms }))
    }

    /// Refuses the transaction's writes unless every fence is current; the
    /// share locks hold off takeovers until the transaction ends.
    pub(super) async fn check_fences_in(
        &self,
        tx: &mut Transaction<'static, MySql>,
        fences: &[Fence],
    ) -> Result<(), Fail> {
        if fences.is_empty() {
            return Ok(());
        }
        let sids = fenced_sids(fences);
        let sql = self.lease_sql.fence(sids.len());
        let mut q = sqlx::query(&sql);
        for sid in &sids {
            q = q.bind(*sid);
        }
        let rows = q.fetch_all(&mut **tx).await.map_err(fail("check session leases"))?;
        let mut current = std::collections::HashMap::new();
        for row in &rows {
            let sid: Vec<u8> = col(row, "session_id").map_err(|e| (e, false))?;
            current.insert(String::from_utf8_lossy(&sid).into_owned(), record(row).map_err(|e| (e, false))?);
        }
        check_fences(fences, |sid| current.get(sid).cloned()).map_err(|e| (e, false))
    }
}

#[async_trait]
impl LeaseStore for MysqlBackend {
    async fn acquire_lease(&self, sid: &str, owner: &LeaseOwner, lease_ms: u64) -> StoreResult<Acquired> {
        check_sid(sid)?;
        retrying!(self.try_acquire(sid, owner, lease_ms))
    }

    async fn renew_lease(&self, sid: &str, token: u64, lease_ms: u64) -> StoreResult<Renewed> {
        check_sid(sid)?;
        let pool = self.pool().await?;
        sqlx::query(&self.lease_sql.renew)
            .bind(lease_ms as i64)
            .bind(sid)
            .bind(token as i64)
            .execute(pool)
            .await
            .map_err(write_err("renew a session lease"))?;
        // Not rows_affected: it is 0 when the expiry did not change (same millisecond). The row decides.
        match self.lease_record(pool, sid).await? {
            Some(r) if r.token == token && !r.owner.is_empty() => {
                Ok(Renewed::Renewed(Lease { token, expires_at_ms: r.expires_at_ms }))
            }
            other => Ok(Renewed::Lost(other)),
        }
    }

    async fn release_lease(&self, sid: &str, token: u64) -> StoreResult<()> {
        check_sid(sid)?;
        sqlx::query(&self.lease_sql.release)
            .bind(sid)
            .bind(token as i64)
            .execute(self.pool().await?)
            .await
            .map_err(write_err("release a session lease"))
            .map(drop)
    }
}
