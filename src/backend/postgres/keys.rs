//! `keys` (the adapters' generic key domain) and the Signal cache's group
//! commit: every write of a flush, across sessions, in one transaction of
//! array-bound multi-row statements.

use async_trait::async_trait;
use sqlx::{Postgres, Transaction};

use super::rows::{address, col};
use super::{check, check_all, read_err, write_err, PostgresBackend};
use crate::domain::keys::{text_from_bytes, KeyStore, KeyWrite, MAX_LIST_PAGE};
use crate::domain::lease::Fence;
use crate::domain::signal_batch::{group, key_writes, Grouped, SessionWrite, SignalBatchStore};
use crate::domain::{Blob, SignalAddress, StoreResult};

/// `(sessions, users, servers, devices, values)` column arrays.
type AddressColumns<'a> = (Vec<&'a str>, Vec<&'a str>, Vec<&'a str>, Vec<i64>, Vec<&'a [u8]>);

/// Column arrays of `(session, address, bytes)` rows, for `unnest(...)`.
fn address_rows<'a>(rows: impl Iterator<Item = (&'a str, &'a SignalAddress, Option<&'a [u8]>)>) -> AddressColumns<'a> {
    let (mut sids, mut users, mut servers, mut devices, mut values) = (vec![], vec![], vec![], vec![], vec![]);
    for (sid, a, value) in rows {
        let (user, server, device) = address(a);
        sids.push(sid);
        users.push(user);
        servers.push(server);
        devices.push(device);
        if let Some(v) = value {
            values.push(v);
        }
    }
    (sids, users, servers, devices, values)
}

impl PostgresBackend {
    async fn apply_grouped(&self, tx: &mut Transaction<'static, Postgres>, g: &Grouped<'_>) -> StoreResult<()> {
        let what = "commit signal writes";
        if !g.session_deletes.is_empty() {
            let (sids, users, servers, devices, _) =
                address_rows(g.session_deletes.iter().map(|(s, a)| (*s, *a, None)));
            sqlx::query(&self.sql.batch_sess_delete)
                .bind(sids)
                .bind(users)
                .bind(servers)
                .bind(devices)
                .execute(&mut **tx)
                .await
                .map_err(write_err(what))?;
        }
        for (statement, rows) in [
            (&self.sql.batch_sess_upsert, &g.session_puts),
            (&self.sql.batch_ident_upsert, &g.identity_puts),
        ] {
            if rows.is_empty() {
                continue;
            }
            let (sids, users, servers, devices, values) = address_rows(rows.iter().map(|(s, a, v)| (*s, *a, Some(*v))));
            sqlx::query(statement)
                .bind(sids)
                .bind(users)
                .bind(servers)
                .bind(devices)
                .bind(values)
                .execute(&mut **tx)
                .await
                .map_err(write_err(what))?;
        }
        if !g.sender_keys.is_empty() {
            let groups: Vec<&str> = g.sender_keys.iter().map(|(_, r)| r.group_id.as_str()).collect();
            let (sids, users, servers, devices, values) = address_rows(
                g.sender_keys
                    .iter()
                    .map(|(s, r)| (*s, &r.sender, Some(r.record.as_slice()))),
            );
            sqlx::query(&self.sql.batch_sk_upsert)
                .bind(sids)
                .bind(groups)
                .bind(users)
                .bind(servers)
                .bind(devices)
                .bind(values)
                .execute(&mut **tx)
                .await
                .map_err(write_err(what))?;
        }
        if !g.key_deletes.is_empty() {
            let sids: Vec<&str> = g.key_deletes.iter().map(|(s, _)| *s).collect();
            let kinds: Vec<&[u8]> = g.key_deletes.iter().map(|(_, k)| k.kind.as_bytes()).collect();
            let ids: Vec<&[u8]> = g.key_deletes.iter().map(|(_, k)| k.id.as_bytes()).collect();
            sqlx::query(&self.sql.keys_delete)
                .bind(sids)
                .bind(kinds)
                .bind(ids)
                .execute(&mut **tx)
                .await
                .map_err(write_err(what))?;
        }
        if !g.key_puts.is_empty() {
            let sids: Vec<&str> = g.key_puts.iter().map(|(s, _, _)| *s).collect();
            let kinds: Vec<&[u8]> = g.key_puts.iter().map(|(_, k, _)| k.kind.as_bytes()).collect();
            let ids: Vec<&[u8]> = g.key_puts.iter().map(|(_, k, _)| k.id.as_bytes()).collect();
            let values: Vec<&[u8]> = g.key_puts.iter().map(|(_, _, v)| *v).collect();
            sqlx::query(&self.sql.keys_upsert)
                .bind(sids)
                .bind(kinds)
                .bind(ids)
                .bind(values)
                .execute(&mut **tx)
                .await
                .map_err(write_err(what))?;
        }
        Ok(())
    }
}

/// Every text that reaches a `text` column (PostgreSQL text cannot hold NUL).
fn check_batch(writes: &[SessionWrite]) -> StoreResult<()> {
    use crate::domain::signal_batch::SignalWrite;
    for w in writes {
        check("sessionId", &w.sid)?;
        match &w.write {
            SignalWrite::Session { address, .. } | SignalWrite::Identity { address, .. } => {
                check_all("address", [address.user.as_str(), address.server.as_str()])?
            }
            SignalWrite::SenderKey(r) => check_all(
                "sender key",
                [r.group_id.as_str(), r.sender.user.as_str(), r.sender.server.as_str()],
            )?,
            SignalWrite::Key(_) => {} // types and ids are stored as bytes
        }
    }
    Ok(())
}

#[async_trait]
impl SignalBatchStore for PostgresBackend {
    async fn commit_signal_batch(&self, writes: &[SessionWrite], fences: &[Fence]) -> StoreResult<()> {
        check_batch(writes)?;
        let g = group(writes);
        if g.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin("commit signal writes").await?;
        if let Err(e) = self.check_fences_in(&mut tx, fences).await {
            // Now, not when the pool next uses the connection: the share locks go with it.
            let _ = tx.rollback().await;
            return Err(e);
        }
        self.apply_grouped(&mut tx, &g).await?;
        tx.commit().await.map_err(write_err("commit signal writes"))
    }
}

#[async_trait]
impl KeyStore for PostgresBackend {
    async fn get_keys(&self, sid: &str, kind: &str, ids: &[String]) -> StoreResult<Vec<Option<Blob>>> {
        check("sessionId", sid)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let id_bytes: Vec<&[u8]> = ids.iter().map(|id| id.as_bytes()).collect();
        let rows = sqlx::query(&self.sql.keys_get_many)
            .bind(sid)
            .bind(kind.as_bytes())
            .bind(id_bytes)
            .fetch_all(self.pool().await?)
            .await
            .map_err(read_err("load keys"))?;
        rows.iter().map(|row| col::<Option<Vec<u8>>>(row, "value")).collect()
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
        check("sessionId", sid)?;
        let rows = sqlx::query(&self.sql.keys_list)
            .bind(sid)
            .bind(kind.as_bytes())
            .bind(after.map(str::as_bytes))
            .bind(i64::from(limit.min(MAX_LIST_PAGE)))
            .fetch_all(self.pool().await?)
            .await
            .map_err(read_err("list keys"))?;
        rows.iter()
            .map(|row| Ok((text_from_bytes("postgres", col(row, "key_id")?)?, col(row, "value")?)))
            .collect()
    }

    async fn list_key_ids(&self, sid: &str, kind: &str, after: Option<&str>, limit: u32) -> StoreResult<Vec<String>> {
        check("sessionId", sid)?;
        let rows = sqlx::query(&self.sql.keys_list_ids)
            .bind(sid)
            .bind(kind.as_bytes())
            .bind(after.map(str::as_bytes))
            .bind(i64::from(limit.min(MAX_LIST_PAGE)))
            .fetch_all(self.pool().await?)
            .await
            .map_err(read_err("list key ids"))?;
        rows.iter()
            .map(|row| text_from_bytes("postgres", col(row, "key_id")?))
            .collect()
    }

    async fn list_key_types(&self, sid: &str) -> StoreResult<Vec<String>> {
        check("sessionId", sid)?;
        let rows = sqlx::query(&self.sql.keys_types)
            .bind(sid)
            .fetch_all(self.pool().await?)
            .await
            .map_err(read_err("list key types"))?;
        rows.iter()
            .map(|row| text_from_bytes("postgres", col(row, "key_type")?))
            .collect()
    }

    async fn clear_keys(&self, sid: &str) -> StoreResult<()> {
        self.exec_sid_all(&[&self.sql.keys_clear], sid, "clear keys")
            .await
            .map(drop)
    }
}
