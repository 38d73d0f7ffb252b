//! `senderKey`: group sender-key records (opaque blobs) and distribution markers.

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::mysql::MySqlRow;

use super::rows::{address, address_from, bind_addresses, col, count, dedupe_last, text, u32_col, Query};
use super::{read_err, write_err, MysqlBackend};
use crate::domain::sender_key::{GroupSenderKeys, SenderKey, SenderKeyDistribution, SenderKeyStore};
use crate::domain::{SignalAddress, StoreResult};

pub(super) fn sender_key(row: &MySqlRow) -> StoreResult<SenderKey> {
    Ok(SenderKey {
        group_id: text(row, "group_id")?,
        sender: address_from(row, "sender_user", "sender_server", "sender_device")?,
        record: col(row, "record")?,
    })
}

pub(super) fn distribution(row: &MySqlRow) -> StoreResult<SenderKeyDistribution> {
    Ok(SenderKeyDistribution {
        group_id: text(row, "group_id")?,
        sender: address_from(row, "sender_user", "sender_server", "sender_device")?,
        key_id: u32_col(row, "key_id")?,
        timestamp_ms: col(row, "timestamp_ms")?,
    })
}

/// An address with the default server filled in, as rows store it.
fn normalized(a: &SignalAddress) -> SignalAddress {
    let (user, server, device) = address(a);
    SignalAddress { user: user.to_owned(), server: server.to_owned(), device: device as u32 }
}

fn distribution_size(r: &SenderKeyDistribution) -> usize {
    2 * (r.group_id.len() + r.sender.user.len() + r.sender.server.len())
}

fn bind_distribution<'q>(query: Query<'q>, sid: &'q str, r: &'q SenderKeyDistribution) -> Query<'q> {
    let (user, server, device) = address(&r.sender);
    let group = r.group_id.as_str();
    query
        .bind(sid)
        .bind(group)
        .bind(group)
        .bind(user)
        .bind(user)
        .bind(server)
        .bind(server)
        .bind(device)
        .bind(i64::from(r.key_id))
        .bind(r.timestamp_ms)
}

#[async_trait]
impl SenderKeyStore for MysqlBackend {
    async fn upsert_sender_key(&self, sid: &str, record: SenderKey) -> StoreResult<()> {
        let (user, server, device) = address(&record.sender);
        let group = record.group_id.as_str();
        sqlx::query(&self.sql.sk_upsert)
            .bind(sid)
            .bind(group)
            .bind(group)
            .bind(user)
            .bind(user)
            .bind(server)
            .bind(server)
            .bind(device)
            .bind(record.record.as_slice())
            .execute(self.db(sid).await?)
            .await
            .map_err(write_err("save a sender key"))?;
        Ok(())
    }

    async fn upsert_sender_key_distributions(&self, sid: &str, records: Vec<SenderKeyDistribution>) -> StoreResult<()> {
        let what = "save sender-key distributions";
        let records = dedupe_last(records, |r| (r.group_id.clone(), normalized(&r.sender)));
        self.upsert_rows(sid, &self.sql.skd_upsert, &records, distribution_size, bind_distribution, what).await
    }

    async fn get_group_sender_keys(&self, sid: &str, group_id: &str) -> StoreResult<GroupSenderKeys> {
        let what = "load group sender keys";
        let mut tx = self.read_tx(sid, what).await?;
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
        let (user, server, device) = address(sender);
        let row = sqlx::query(&self.sql.sk_get)
            .bind(sid)
            .bind(group_id)
            .bind(user)
            .bind(server)
            .bind(device)
            .fetch_optional(self.db(sid).await?)
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
        let pool = self.db(sid).await?;
        let mut found: HashMap<SignalAddress, SenderKeyDistribution> = HashMap::new();
        for chunk in senders.chunks(self.sql.skd_get_many.max_chunk()) {
            let (sql, len) = self.sql.skd_get_many.for_len(chunk.len());
            let query = bind_addresses(sqlx::query(sql).bind(sid).bind(group_id), chunk, len);
            for row in query.fetch_all(pool).await.map_err(read_err("load sender-key distributions"))? {
                let record = distribution(&row)?;
                found.insert(record.sender.clone(), record);
            }
        }
        Ok(senders.iter().map(|s| found.get(&normalized(s)).cloned()).collect())
    }

    async fn delete_device_sender_key(
        &self,
        sid: &str,
        target: &SignalAddress,
        group_id: Option<&str>,
    ) -> StoreResult<u32> {
        let what = "delete a sender key";
        let (user, server, device) = address(target);
        // zapo treats an empty group id like an absent one: every group.
        let group_id = group_id.filter(|g| !g.is_empty());
        let mut tx = self.tx(sid, what).await?;
        let mut deleted = 0u64;
        for (in_group, everywhere) in [
            (&self.sql.sk_delete_in_group, &self.sql.sk_delete_everywhere),
            (&self.sql.skd_delete_in_group, &self.sql.skd_delete_everywhere),
        ] {
            let query = match group_id {
                Some(group) => sqlx::query(in_group).bind(sid).bind(group),
                None => sqlx::query(everywhere).bind(sid),
            };
            let done = query.bind(user).bind(server).bind(device).execute(&mut *tx).await.map_err(write_err(what))?;
            deleted += done.rows_affected();
        }
        tx.commit().await.map_err(write_err(what))?;
        Ok(count(deleted))
    }

    async fn mark_forget_sender_key(
        &self,
        sid: &str,
        group_id: &str,
        participants: &[SignalAddress],
    ) -> StoreResult<u32> {
        let what = "forget sender keys";
        let mut tx = self.tx(sid, what).await?;
        let mut deleted = 0u64;
        for list in [&self.sql.sk_forget_many, &self.sql.skd_forget_many] {
            for chunk in participants.chunks(list.max_chunk()) {
                let (sql, len) = list.for_len(chunk.len());
                let query = bind_addresses(sqlx::query(sql).bind(sid).bind(group_id), chunk, len);
                deleted += query.execute(&mut *tx).await.map_err(write_err(what))?.rows_affected();
            }
        }
        tx.commit().await.map_err(write_err(what))?;
        Ok(count(deleted))
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        let what = "clear sender keys";
        let mut tx = self.tx(sid, what).await?;
        for sql in [&self.sql.sk_clear, &self.sql.skd_clear] {
            sqlx::query(sql).bind(sid).execute(&mut *tx).await.map_err(write_err(what))?;
        }
        tx.commit().await.map_err(write_err(what))
    }
}
