//! `keys` (the adapters' generic key domain) and the Signal cache's group
//! commit: every write of a flush, across sessions, in one InnoDB
//! transaction of multi-row upserts, replayed whole after a deadlock.

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::{MySql, Transaction};

use super::rows::{address, chunks_by_size, col, padded, Query};
use super::sql::Multi;
use super::{check_sid, is_retryable, read_err, write_err, MysqlBackend};
use crate::domain::keys::{text_from_bytes, KeyStore, KeyWrite, MAX_LIST_PAGE};
use crate::domain::lease::Fence;
use crate::domain::signal_batch::{group, key_writes, Grouped, SessionWrite, SignalBatchStore};
use crate::domain::{Blob, SignalAddress, StoreError, StoreResult};

type Fail = (StoreError, bool);
type AddressRow<'a> = (&'a str, &'a SignalAddress, &'a [u8]);
type KeyRow<'a> = (&'a str, &'a KeyWrite, &'a [u8]);

fn fail(what: &'static str) -> impl Fn(sqlx::Error) -> Fail {
    move |err| {
        let retry = is_retryable(&err);
        (write_err(what)(err), retry)
    }
}

/// Runs `multi` over `rows` in chunks (by row count and bytes) inside `tx`.
async fn exec_multi<T: Sync>(
    tx: &mut Transaction<'static, MySql>,
    multi: &Multi,
    rows: &[T],
    size: fn(&T) -> usize,
    bind: for<'q> fn(Query<'q>, &'q T) -> Query<'q>,
    what: &'static str,
) -> Result<(), Fail> {
    for chunk in chunks_by_size(rows, multi.max_chunk(), size) {
        let (sql, len) = multi.for_len(chunk.len());
        let mut query = sqlx::query(sql);
        for row in padded(chunk, len) {
            query = bind(query, row);
        }
        query.execute(&mut **tx).await.map_err(fail(what))?;
    }
    Ok(())
}

fn address_row_size(r: &AddressRow<'_>) -> usize {
    r.0.len() + 2 * (r.1.user.len() + r.1.server.len()) + r.2.len()
}

fn bind_address_row<'q, 'a>(q: Query<'q>, r: &'q AddressRow<'a>) -> Query<'q> {
    let (user, server, device) = address(r.1);
    q.bind(r.0)
        .bind(user)
        .bind(user)
        .bind(server)
        .bind(server)
        .bind(device)
        .bind(r.2)
}

fn key_row_size(r: &KeyRow<'_>) -> usize {
    r.0.len() + 2 * r.1.kind.len() + r.1.id.len() + r.2.len()
}

fn bind_key_row<'q, 'a>(q: Query<'q>, r: &'q KeyRow<'a>) -> Query<'q> {
    q.bind(r.0)
        .bind(r.1.kind.as_bytes())
        .bind(r.1.kind.as_bytes())
        .bind(r.1.id.as_bytes())
        .bind(r.2)
}

impl MysqlBackend {
    async fn apply_grouped(&self, tx: &mut Transaction<'static, MySql>, g: &Grouped<'_>) -> Result<(), Fail> {
        let what = "commit signal writes";
        for (sid, a) in &g.session_deletes {
            let (user, server, device) = address(a);
            let q = sqlx::query(&self.sql.sess_delete)
                .bind(*sid)
                .bind(user)
                .bind(server)
                .bind(device);
            q.execute(&mut **tx).await.map_err(fail(what))?;
        }
        exec_multi(
            tx,
            &self.sql.sess_upsert,
            &g.session_puts,
            address_row_size,
            bind_address_row,
            what,
        )
        .await?;
        exec_multi(
            tx,
            &self.sql.ident_upsert,
            &g.identity_puts,
            address_row_size,
            bind_address_row,
            what,
        )
        .await?;
        for (sid, r) in &g.sender_keys {
            let (user, server, device) = address(&r.sender);
            sqlx::query(&self.sql.sk_upsert)
                .bind(*sid)
                .bind(r.group_id.as_str())
                .bind(r.group_id.as_str())
                .bind(user)
                .bind(user)
                .bind(server)
                .bind(server)
                .bind(device)
                .bind(r.record.as_slice())
                .execute(&mut **tx)
                .await
                .map_err(fail(what))?;
        }
        for (sid, k) in &g.key_deletes {
            let q = sqlx::query(&self.sql.keys_delete)
                .bind(*sid)
                .bind(k.kind.as_bytes())
                .bind(k.id.as_bytes());
            q.execute(&mut **tx).await.map_err(fail(what))?;
        }
        exec_multi(tx, &self.sql.keys_upsert, &g.key_puts, key_row_size, bind_key_row, what).await
    }
}

#[async_trait]
impl SignalBatchStore for MysqlBackend {
    async fn commit_signal_batch(&self, writes: &[SessionWrite], fences: &[Fence]) -> StoreResult<()> {
        let what = "commit signal writes";
        for w in writes {
            check_sid(&w.sid)?;
        }
        let g = group(writes);
        if g.is_empty() {
            return Ok(());
        }
        let pool = self.pool().await?;
        retrying!(async {
            let mut tx = pool.begin().await.map_err(fail(what))?;
            if let Err(e) = self.check_fences_in(&mut tx, fences).await {
                // Now, not when the pool next uses the connection: the share locks go with it.
                let _ = tx.rollback().await;
                return Err(e);
            }
            self.apply_grouped(&mut tx, &g).await?;
            tx.commit().await.map_err(fail(what))
        })
    }
}

#[async_trait]
impl KeyStore for MysqlBackend {
    async fn get_keys(&self, sid: &str, kind: &str, ids: &[String]) -> StoreResult<Vec<Option<Blob>>> {
        let pool = self.db(sid).await?;
        let mut found: HashMap<Vec<u8>, Blob> = HashMap::new();
        for chunk in ids.chunks(self.sql.keys_get_many.max_chunk()) {
            let (sql, len) = self.sql.keys_get_many.for_len(chunk.len());
            let mut query = sqlx::query(sql).bind(sid).bind(kind.as_bytes());
            for id in padded(chunk, len) {
                query = query.bind(id.as_bytes());
            }
            for row in query.fetch_all(pool).await.map_err(read_err("load keys"))? {
                found.insert(col(&row, "key_id")?, col(&row, "value")?);
            }
        }
        Ok(ids.iter().map(|id| found.get(id.as_bytes()).cloned()).collect())
    }

    async fn write_keys(&self, sid: &str, writes: Vec<KeyWrite>) -> StoreResult<()> {
        self.commit_signal_batch(&key_writes(sid, writes), &[]).await
    }

    async fn list_keys(
        &self,
        sid: &str,
        kind: &str,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<(String, Blob)>> {
        let after = after.map(str::as_bytes);
        let rows = sqlx::query(&self.sql.keys_list)
            .bind(sid)
            .bind(kind.as_bytes())
            .bind(after)
            .bind(after)
            .bind(i64::from(limit.min(MAX_LIST_PAGE)))
            .fetch_all(self.db(sid).await?)
            .await
            .map_err(read_err("list keys"))?;
        rows.iter()
            .map(|row| Ok((text_from_bytes("mysql", col(row, "key_id")?)?, col(row, "value")?)))
            .collect()
    }

    async fn list_key_ids(&self, sid: &str, kind: &str, after: Option<&str>, limit: u32) -> StoreResult<Vec<String>> {
        let after = after.map(str::as_bytes);
        let rows = sqlx::query(&self.sql.keys_list_ids)
            .bind(sid)
            .bind(kind.as_bytes())
            .bind(after)
            .bind(after)
            .bind(i64::from(limit.min(MAX_LIST_PAGE)))
            .fetch_all(self.db(sid).await?)
            .await
            .map_err(read_err("list key ids"))?;
        rows.iter()
            .map(|row| text_from_bytes("mysql", col(row, "key_id")?))
            .collect()
    }

    async fn list_key_types(&self, sid: &str) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(&self.sql.keys_types)
            .bind(sid)
            .fetch_all(self.db(sid).await?)
            .await
            .map_err(read_err("list key types"))?;
        rows.iter()
            .map(|row| text_from_bytes("mysql", col(row, "key_type")?))
            .collect()
    }

    async fn clear_keys(&self, sid: &str) -> StoreResult<()> {
        sqlx::query(&self.sql.keys_clear)
            .bind(sid)
            .execute(self.db(sid).await?)
            .await
            .map_err(write_err("clear keys"))?;
        Ok(())
    }
}
