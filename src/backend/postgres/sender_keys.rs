//! `senderKey`: group sender-key records (opaque blobs) and distribution markers.

use async_trait::async_trait;
use sqlx::postgres::PgRow;

use super::rows::{address, address_arrays, address_from, col, count_i64, dedupe_last, u32_col};
use super::{check, read_err, write_err, PostgresBackend};
use crate::domain::sender_key::{GroupSenderKeys, SenderKey, SenderKeyDistribution, SenderKeyStore};
use crate::domain::{SignalAddress, StoreResult};

pub(super) fn sender_key(row: &PgRow) -> StoreResult<SenderKey> {
    Ok(SenderKey {
        group_id: col(row, "group_id")?,
        sender: address_from(row, "sender_user", "sender_server", "sender_device")?,
        record: col(row, "record")?,
    })
}

pub(super) fn distribution(row: &PgRow) -> StoreResult<SenderKeyDistribution> {
    Ok(SenderKeyDistribution {
        group_id: col(row, "group_id")?,
        sender: address_from(row, "sender_user", "sender_server", "sender_device")?,
        key_id: u32_col(row, "key_id")?,
        timestamp_ms: col(row, "timestamp_ms")?,
    })
}

fn check_sender(a: &SignalAddress) -> StoreResult<()> {
    check("sender.user", &a.user)?;
    check("sender.server", &a.server)
}

#[async_trait]
impl SenderKeyStore for PostgresBackend {
    async fn upsert_sender_key(&self, sid: &str, record: SenderKey) -> StoreResult<()> {
        check("sessionId", sid)?;
        check("groupId", &record.group_id)?;
        check_sender(&record.sender)?;
        let (user, server, device) = address(&record.sender);
        sqlx::query(&self.sql.sk_upsert)
            .bind(sid)
            .bind(record.group_id.as_str())
            .bind(user)
            .bind(server)
            .bind(device)
            .bind(record.record.as_slice())
            .execute(self.pool().await?)
            .await
            .map_err(write_err("save a sender key"))?;
        Ok(())
    }

    async fn upsert_sender_key_distributions(&self, sid: &str, records: Vec<SenderKeyDistribution>) -> StoreResult<()> {
        check("sessionId", sid)?;
        for r in &records {
            check("groupId", &r.group_id)?;
            check_sender(&r.sender)?;
        }
        if records.is_empty() {
            return Ok(());
        }
        let records = dedupe_last(records, |r| {
            let (u, s, d) = address(&r.sender);
            (r.group_id.clone(), u.to_owned(), s.to_owned(), d)
        });
        let groups: Vec<&str> = records.iter().map(|r| r.group_id.as_str()).collect();
        let (users, servers, devices) = address_arrays(records.iter().map(|r| &r.sender));
        let key_ids: Vec<i64> = records.iter().map(|r| i64::from(r.key_id)).collect();
        let timestamps: Vec<i64> = records.iter().map(|r| r.timestamp_ms).collect();
        sqlx::query(&self.sql.skd_upsert)
            .bind(sid)
            .bind(groups)
            .bind(users)
            .bind(servers)
            .bind(devices)
            .bind(key_ids)
            .bind(timestamps)
            .execute(self.pool().await?)
            .await
            .map_err(write_err("save sender-key distributions"))?;
        Ok(())
    }

    async fn get_group_sender_keys(&self, sid: &str, group_id: &str) -> StoreResult<GroupSenderKeys> {
        check("sessionId", sid)?;
        check("groupId", group_id)?;
        let what = "load group sender keys";
        let mut tx = self.begin_read(what).await?;
        let keys = sqlx::query(&self.sql.sk_list_group)
            .bind(sid)
            .bind(group_id)
            .fetch_all(&mut *tx)
            .await
            .map_err(read_err(what))?;
        let distributions = sqlx::query(&self.sql.skd_list_group)
            .bind(sid)
            .bind(group_id)
            .fetch_all(&mut *tx)
            .await
            .map_err(read_err(what))?;
        tx.commit().await.map_err(read_err(what))?;
        Ok(GroupSenderKeys {
            sender_keys: keys.iter().map(sender_key).collect::<StoreResult<_>>()?,
            distributions: distributions.iter().map(distribution).collect::<StoreResult<_>>()?,
        })
    }

    async fn get_device_sender_key(
        &self,
        sid: &str,
        group_id: &str,
        sender: &SignalAddress,
    ) -> StoreResult<Option<SenderKey>> {
        check("sessionId", sid)?;
        check("groupId", group_id)?;
        check_sender(sender)?;
        let (user, server, device) = address(sender);
        let row = sqlx::query(&self.sql.sk_get)
            .bind(sid)
            .bind(group_id)
            .bind(user)
            .bind(server)
            .bind(device)
            .fetch_optional(self.pool().await?)
            .await
            .map_err(read_err("load a sender key"))?;
        row.as_ref().map(sender_key).transpose()
    }

    async fn get_device_sender_key_distributions(
        &self,
        sid: &str,
        group_id: &str,
        senders: &[SignalAddress],
    ) -> StoreResult<Vec<Option<SenderKeyDistribution>>> {
        check("sessionId", sid)?;
        check("groupId", group_id)?;
        senders.iter().try_for_each(check_sender)?;
        if senders.is_empty() {
            return Ok(Vec::new());
        }
        let (users, servers, devices) = address_arrays(senders);
        let rows = sqlx::query(&self.sql.skd_get_many)
            .bind(sid)
            .bind(group_id)
            .bind(users)
            .bind(servers)
            .bind(devices)
            .fetch_all(self.pool().await?)
            .await
            .map_err(read_err("load sender-key distributions"))?;
        rows.iter()
            .map(|row| match col::<Option<String>>(row, "group_id")? {
                Some(_) => distribution(row).map(Some),
                None => Ok(None),
            })
            .collect()
    }

    async fn delete_device_sender_key(
        &self,
        sid: &str,
        target: &SignalAddress,
        group_id: Option<&str>,
    ) -> StoreResult<u32> {
        check("sessionId", sid)?;
        check_sender(target)?;
        super::check_opt("groupId", group_id)?;
        let (user, server, device) = address(target);
        // zapo treats an empty group id like an absent one: every group.
        let query = match group_id.filter(|g| !g.is_empty()) {
            Some(group) => sqlx::query_scalar(&self.sql.sk_delete_in_group).bind(sid).bind(group),
            None => sqlx::query_scalar(&self.sql.sk_delete_everywhere).bind(sid),
        };
        let deleted: Option<i64> = query
            .bind(user)
            .bind(server)
            .bind(device)
            .fetch_one(self.pool().await?)
            .await
            .map_err(write_err("delete a sender key"))?;
        Ok(count_i64(deleted.unwrap_or(0)))
    }

    async fn mark_forget_sender_key(
        &self,
        sid: &str,
        group_id: &str,
        participants: &[SignalAddress],
    ) -> StoreResult<u32> {
        check("sessionId", sid)?;
        check("groupId", group_id)?;
        participants.iter().try_for_each(check_sender)?;
        if participants.is_empty() {
            return Ok(0);
        }
        let (users, servers, devices) = address_arrays(participants);
        let deleted: Option<i64> = sqlx::query_scalar(&self.sql.sk_forget_many)
            .bind(sid)
            .bind(group_id)
            .bind(users)
            .bind(servers)
            .bind(devices)
            .fetch_one(self.pool().await?)
            .await
            .map_err(write_err("forget sender keys"))?;
        Ok(count_i64(deleted.unwrap_or(0)))
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        let statements = [self.sql.sk_clear.as_str(), &self.sql.skd_clear];
        self.exec_sid_all(&statements, sid, "clear sender keys").await.map(drop)
    }
}
