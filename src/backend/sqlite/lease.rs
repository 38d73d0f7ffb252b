//! Session leases: one row per session in `session_leases`. Every process
//! that opens the file runs on the same machine, so expiry uses the system
//! clock. Acquisition, renewal and the Signal group commit's fence check
//! each run inside a `BEGIN IMMEDIATE` transaction, which holds the
//! database write lock: a takeover and a commit can never interleave.
//!
//! A lease row rather than a lock on the file: an OS file lock is held for
//! as long as its process lives, paused or not, so it could neither expire
//! under a SIGSTOPped holder nor let one file serve sessions owned by
//! different processes.

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{Sqlite, Transaction};

use super::rows::col;
use super::{write_err, SqliteBackend};
use crate::domain::lease::{
    check_fences, fenced_sids, may_take, next_token, Acquired, Fence, Lease, LeaseOwner, LeaseRecord, LeaseStore, Renewed,
};
use crate::domain::{now_ms, StoreResult};
use crate::error::StoreError;

pub struct LeaseSql {
    table: String,
    get: String,
    upsert: String,
    renew: String,
    release: String,
}

impl LeaseSql {
    pub fn new(table: &str) -> Self {
        Self {
            table: table.to_owned(),
            get: format!("SELECT token, owner, host, pid, expires_at_ms FROM {table} WHERE session_id = ?"),
            upsert: format!(
                "INSERT INTO {table} (session_id, token, owner, host, pid, expires_at_ms) VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT (session_id) DO UPDATE SET token = excluded.token, owner = excluded.owner,
                    host = excluded.host, pid = excluded.pid, expires_at_ms = excluded.expires_at_ms"
            ),
            renew: format!(
                "UPDATE {table} SET expires_at_ms = ? WHERE session_id = ? AND token = ? AND owner <> ''"
            ),
            release: format!("UPDATE {table} SET owner = '', expires_at_ms = 0 WHERE session_id = ? AND token = ?"),
        }
    }

    fn fence(&self, n: usize) -> String {
        let marks = vec!["?"; n].join(", ");
        format!(
            "SELECT session_id, token, owner, host, pid, expires_at_ms FROM {} WHERE session_id IN ({marks})",
            self.table
        )
    }
}

fn record(row: &SqliteRow) -> StoreResult<LeaseRecord> {
    let token: i64 = col(row, "token")?;
    Ok(LeaseRecord {
        token: u64::try_from(token)
            .map_err(|_| StoreError::corrupted(format!("sqlite: stored lease token {token} is negative")))?,
        owner: col(row, "owner")?,
        host: col(row, "host")?,
        pid: u32::try_from(col::<i64>(row, "pid")?).unwrap_or(0),
        expires_at_ms: col(row, "expires_at_ms")?,
    })
}

impl SqliteBackend {
    async fn lease_in(&self, tx: &mut Transaction<'static, Sqlite>, sid: &str) -> StoreResult<Option<LeaseRecord>> {
        let row = sqlx::query(&self.lease_sql.get)
            .bind(sid)
            .fetch_optional(&mut **tx)
            .await
            .map_err(write_err("read a session lease"))?;
        row.as_ref().map(record).transpose()
    }

    /// Refuses the transaction's writes unless every fence is current (the
    /// transaction holds the write lock, so no takeover can land before it ends).
    pub(super) async fn check_fences_in(&self, tx: &mut Transaction<'static, Sqlite>, fences: &[Fence]) -> StoreResult<()> {
        if fences.is_empty() {
            return Ok(());
        }
        let sids = fenced_sids(fences);
        let mut current = std::collections::HashMap::new();
        // SQLite binds at most 32 766 parameters per statement.
        for chunk in sids.chunks(500) {
            let sql = self.lease_sql.fence(chunk.len());
            let mut q = sqlx::query(&sql);
            for sid in chunk {
                q = q.bind(*sid);
            }
            for row in q.fetch_all(&mut **tx).await.map_err(write_err("check session leases"))? {
                current.insert(col::<String>(&row, "session_id")?, record(&row)?);
            }
        }
        check_fences(fences, |sid| current.get(sid).cloned())
    }
}

#[async_trait]
impl LeaseStore for SqliteBackend {
    async fn acquire_lease(&self, sid: &str, owner: &LeaseOwner, lease_ms: u64) -> StoreResult<Acquired> {
        let what = "acquire a session lease";
        let mut tx = self.begin(what).await?;
        let current = self.lease_in(&mut tx, sid).await?;
        let now = now_ms();
        if let Some(r) = current.as_ref().filter(|r| !may_take(r, owner, now)) {
            // Now, not when the pool next uses the connection: the write lock goes with it.
            tx.rollback().await.map_err(write_err(what))?;
            return Ok(Acquired::Held(r.clone()));
        }
        let lease = Lease { token: next_token(current.as_ref()), expires_at_ms: now.saturating_add(lease_ms as i64) };
        sqlx::query(&self.lease_sql.upsert)
            .bind(sid)
            .bind(lease.token as i64)
            .bind(&owner.id)
            .bind(&owner.host)
            .bind(i64::from(owner.pid))
            .bind(lease.expires_at_ms)
            .execute(&mut *tx)
            .await
            .map_err(write_err(what))?;
        tx.commit().await.map_err(write_err(what))?;
        Ok(Acquired::Granted(lease))
    }

    async fn renew_lease(&self, sid: &str, token: u64, lease_ms: u64) -> StoreResult<Renewed> {
        let what = "renew a session lease";
        let mut tx = self.begin(what).await?;
        let expires_at_ms = now_ms().saturating_add(lease_ms as i64);
        let done = sqlx::query(&self.lease_sql.renew)
            .bind(expires_at_ms)
            .bind(sid)
            .bind(token as i64)
            .execute(&mut *tx)
            .await
            .map_err(write_err(what))?;
        let outcome = if done.rows_affected() > 0 {
            Renewed::Renewed(Lease { token, expires_at_ms })
        } else {
            Renewed::Lost(self.lease_in(&mut tx, sid).await?)
        };
        tx.commit().await.map_err(write_err(what))?;
        Ok(outcome)
    }

    async fn release_lease(&self, sid: &str, token: u64) -> StoreResult<()> {
        let what = "release a session lease";
        let q = sqlx::query(&self.lease_sql.release).bind(sid).bind(token as i64);
        q.execute(self.writer().await?).await.map_err(write_err(what)).map(drop)
    }
}
