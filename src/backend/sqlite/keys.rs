//! `keys` (the adapters' generic key domain) and the Signal cache's group
//! commit: every write of a flush, across sessions, in one `BEGIN IMMEDIATE`
//! transaction on the single writer connection.

use std::collections::HashMap;

use async_trait::async_trait;

use super::rows::{address, col, padded};
use super::{read_err, write_err, SqliteBackend};
use crate::domain::keys::{text_from_bytes, KeyStore, KeyWrite, MAX_LIST_PAGE};
use crate::domain::lease::Fence;
use crate::domain::signal_batch::{group, key_writes, SessionWrite, SignalBatchStore};
use crate::domain::{Blob, StoreResult};

#[async_trait]
impl SignalBatchStore for SqliteBackend {
    async fn commit_signal_batch(&self, writes: &[SessionWrite], fences: &[Fence]) -> StoreResult<()> {
        let what = "commit signal writes";
        let g = group(writes);
        if g.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin(what).await?;
        if let Err(e) = self.check_fences_in(&mut tx, fences).await {
            // Now, not when the pool next uses the connection: the write lock goes with it.
            let _ = tx.rollback().await;
            return Err(e);
        }
        for (sid, a) in &g.session_deletes {
            let (user, server, device) = address(a);
            let q = sqlx::query(&self.sql.sess_delete)
                .bind(*sid)
                .bind(user)
                .bind(server)
                .bind(device);
            q.execute(&mut *tx).await.map_err(write_err(what))?;
        }
        for (statement, rows) in [
            (&self.sql.sess_upsert, &g.session_puts),
            (&self.sql.ident_upsert, &g.identity_puts),
        ] {
            for (sid, a, value) in rows {
                let (user, server, device) = address(a);
                let q = sqlx::query(statement)
                    .bind(*sid)
                    .bind(user)
                    .bind(server)
                    .bind(device)
                    .bind(*value);
                q.execute(&mut *tx).await.map_err(write_err(what))?;
            }
        }
        for (sid, r) in &g.sender_keys {
            let (user, server, device) = address(&r.sender);
            sqlx::query(&self.sql.sk_upsert)
                .bind(*sid)
                .bind(r.group_id.as_str())
                .bind(user)
                .bind(server)
                .bind(device)
                .bind(r.record.as_slice())
                .execute(&mut *tx)
                .await
                .map_err(write_err(what))?;
        }
        for (sid, k) in &g.key_deletes {
            let q = sqlx::query(&self.sql.keys_delete)
                .bind(*sid)
                .bind(k.kind.as_bytes())
                .bind(k.id.as_bytes());
            q.execute(&mut *tx).await.map_err(write_err(what))?;
        }
        for (sid, k, value) in &g.key_puts {
            let q = sqlx::query(&self.sql.keys_upsert)
                .bind(*sid)
                .bind(k.kind.as_bytes())
                .bind(k.id.as_bytes());
            q.bind(*value).execute(&mut *tx).await.map_err(write_err(what))?;
        }
        tx.commit().await.map_err(write_err(what))
    }
}

#[async_trait]
impl KeyStore for SqliteBackend {
    async fn get_keys(&self, sid: &str, kind: &str, ids: &[String]) -> StoreResult<Vec<Option<Blob>>> {
        let pool = self.reader().await?;
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
        let rows = sqlx::query(&self.sql.keys_list)
            .bind(sid)
            .bind(kind.as_bytes())
            .bind(after.map(str::as_bytes))
            .bind(i64::from(limit.min(MAX_LIST_PAGE)))
            .fetch_all(self.reader().await?)
            .await
            .map_err(read_err("list keys"))?;
        rows.iter()
            .map(|row| Ok((text_from_bytes("sqlite", col(row, "key_id")?)?, col(row, "value")?)))
            .collect()
    }

    async fn list_key_ids(&self, sid: &str, kind: &str, after: Option<&str>, limit: u32) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(&self.sql.keys_list_ids)
            .bind(sid)
            .bind(kind.as_bytes())
            .bind(after.map(str::as_bytes))
            .bind(i64::from(limit.min(MAX_LIST_PAGE)))
            .fetch_all(self.reader().await?)
            .await
            .map_err(read_err("list key ids"))?;
        rows.iter()
            .map(|row| text_from_bytes("sqlite", col(row, "key_id")?))
            .collect()
    }

    async fn list_key_types(&self, sid: &str) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(&self.sql.keys_types)
            .bind(sid)
            .fetch_all(self.reader().await?)
            .await
            .map_err(read_err("list key types"))?;
        rows.iter()
            .map(|row| text_from_bytes("sqlite", col(row, "key_type")?))
            .collect()
    }

    async fn clear_keys(&self, sid: &str) -> StoreResult<()> {
        sqlx::query(&self.sql.keys_clear)
            .bind(sid)
            .execute(self.writer().await?)
            .await
            .map_err(write_err("clear keys"))?;
        Ok(())
    }
}
