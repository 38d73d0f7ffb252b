//! Session leases: one row per session in `<prefix>session_leases`, timed
//! by the server's clock (`clock_timestamp()`), so hosts with skewed clocks
//! still agree on expiry. Acquisition is one conditional upsert; the Signal
//! group commit locks the rows of its fences `FOR SHARE`, so a takeover
//! (which updates the row) waits for a commit in flight, and a commit after
//! a takeover sees the new token and is refused.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{Postgres, Transaction};

use super::rows::col;
use super::{check, read_err, write_err, PostgresBackend};
use crate::domain::lease::{check_fences, fenced_sids, Acquired, Fence, Lease, LeaseOwner, LeaseRecord, LeaseStore, Renewed};
use crate::domain::StoreResult;
use crate::error::StoreError;

/// Epoch milliseconds of the server's clock.
const NOW: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

pub struct LeaseSql {
    acquire: String,
    renew: String,
    release: String,
    get: String,
    fence: String,
}

impl LeaseSql {
    pub fn new(table: &str) -> Self {
        Self {
            acquire: format!(
                "INSERT INTO {table} AS l (session_id, token, owner, host, pid, expires_at_ms)
                 VALUES ($1, 1, $2, $3, $4, {NOW} + $5)
                 ON CONFLICT (session_id) DO UPDATE SET token = l.token + 1, owner = EXCLUDED.owner,
                    host = EXCLUDED.host, pid = EXCLUDED.pid, expires_at_ms = EXCLUDED.expires_at_ms
                 WHERE l.expires_at_ms <= {NOW} OR l.owner = '' OR l.owner = EXCLUDED.owner
                 RETURNING token, expires_at_ms"
            ),
            renew: format!(
                "UPDATE {table} SET expires_at_ms = {NOW} + $3
                 WHERE session_id = $1 AND token = $2 AND owner <> '' RETURNING token, expires_at_ms"
            ),
            release: format!("UPDATE {table} SET owner = '', expires_at_ms = 0 WHERE session_id = $1 AND token = $2"),
            get: format!("SELECT token, owner, host, pid, expires_at_ms FROM {table} WHERE session_id = $1"),
            fence: format!(
                "SELECT session_id, token, owner, host, pid, expires_at_ms FROM {table}
                 WHERE session_id = ANY($1) ORDER BY session_id FOR SHARE"
            ),
        }
    }
}

fn token(value: i64) -> StoreResult<u64> {
    u64::try_from(value).map_err(|_| StoreError::corrupted(format!("postgres: stored lease token {value} is negative")))
}

fn record(row: &PgRow) -> StoreResult<LeaseRecord> {
    Ok(LeaseRecord {
        token: token(col(row, "token")?)?,
        owner: col(row, "owner")?,
        host: col(row, "host")?,
        pid: u32::try_from(col::<i64>(row, "pid")?).unwrap_or(0),
        expires_at_ms: col(row, "expires_at_ms")?,
    })
}

fn lease(row: &PgRow) -> StoreResult<Lease> {
    Ok(Lease { token: token(col(row, "token")?)?, expires_at_ms: col(row, "expires_at_ms")? })
}

impl PostgresBackend {
    async fn lease_record(&self, sid: &str) -> StoreResult<Option<LeaseRecord>> {
        let row = sqlx::query(&self.lease_sql.get)
            .bind(sid)
            .fetch_optional(self.pool().await?)
            .await
            .map_err(read_err("read a session lease"))?;
        row.as_ref().map(record).transpose()
    }

    /// Refuses the transaction's writes unless every fence is current; the
    /// share locks hold off takeovers until the transaction ends.
    pub(super) async fn check_fences_in(&self, tx: &mut Transaction<'static, Postgres>, fences: &[Fence]) -> StoreResult<()> {
        if fences.is_empty() {
            return Ok(());
        }
        let sids = fenced_sids(fences);
        let rows = sqlx::query(&self.lease_sql.fence)
            .bind(&sids)
            .fetch_all(&mut **tx)
            .await
            .map_err(write_err("check session leases"))?;
        let mut current = std::collections::HashMap::new();
        for row in &rows {
            current.insert(col::<String>(row, "session_id")?, record(row)?);
        }
        check_fences(fences, |sid| current.get(sid).cloned())
    }
}

#[async_trait]
impl LeaseStore for PostgresBackend {
    async fn acquire_lease(&self, sid: &str, owner: &LeaseOwner, lease_ms: u64) -> StoreResult<Acquired> {
        check("sessionId", sid)?;
        let what = "acquire a session lease";
        // A holder whose lease ends between the two statements is simply asked again.
        for _ in 0..3 {
            let row = sqlx::query(&self.lease_sql.acquire)
                .bind(sid)
                .bind(&owner.id)
                .bind(&owner.host)
                .bind(i64::from(owner.pid))
                .bind(lease_ms as i64)
                .fetch_optional(self.pool().await?)
                .await
                .map_err(write_err(what))?;
            if let Some(row) = row {
                return Ok(Acquired::Granted(lease(&row)?));
            }
            if let Some(held) = self.lease_record(sid).await? {
                return Ok(Acquired::Held(held));
            }
        }
        Err(StoreError::new(crate::error::ErrorCode::WriteFailed, format!("postgres: {what} failed: the lease kept changing")))
    }

    async fn renew_lease(&self, sid: &str, token: u64, lease_ms: u64) -> StoreResult<Renewed> {
        check("sessionId", sid)?;
        let row = sqlx::query(&self.lease_sql.renew)
            .bind(sid)
            .bind(token as i64)
            .bind(lease_ms as i64)
            .fetch_optional(self.pool().await?)
            .await
            .map_err(write_err("renew a session lease"))?;
        match row {
            Some(row) => Ok(Renewed::Renewed(lease(&row)?)),
            None => Ok(Renewed::Lost(self.lease_record(sid).await?)),
        }
    }

    async fn release_lease(&self, sid: &str, token: u64) -> StoreResult<()> {
        check("sessionId", sid)?;
        sqlx::query(&self.lease_sql.release)
            .bind(sid)
            .bind(token as i64)
            .execute(self.pool().await?)
            .await
            .map_err(write_err("release a session lease"))
            .map(drop)
    }
}
