//! `retry` cache: outbound messages kept for retry receipts, and inbound counters.
//! Requester lists are JSON arrays; NULL and `[]` stay distinct.

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;

use super::rows::{col, count, json_list, opt_json_list, to_json};
use super::{read_err, write_err, SqliteBackend};
use crate::domain::retry::{RequesterStatus, RetryOutboundMessage, RetryStore, add_delivered, requester_status};
use crate::domain::StoreResult;
use crate::error::StoreError;

pub(super) fn outbound(row: &SqliteRow) -> StoreResult<RetryOutboundMessage> {
    Ok(RetryOutboundMessage {
        message_id: col(row, "message_id")?,
        to_jid: col(row, "to_jid")?,
        eligible_requester_device_jids: opt_json_list(
            col(row, "eligible_requesters_json")?,
            "eligible_requesters_json",
        )?,
        delivered_requester_device_jids: opt_json_list(
            col(row, "delivered_requesters_json")?,
            "delivered_requesters_json",
        )?,
        replay_mode: col(row, "replay_mode")?,
        replay_payload: col(row, "replay_payload")?,
        state: col(row, "state")?,
        updated_at_ms: col(row, "updated_at_ms")?,
        expires_at_ms: col(row, "expires_at_ms")?,
    })
}

fn opt_json(list: Option<&Vec<String>>) -> StoreResult<Option<String>> {
    list.map(|l| to_json(l)).transpose()
}

#[async_trait]
impl RetryStore for SqliteBackend {
    async fn upsert_outbound_message(&self, sid: &str, record: RetryOutboundMessage) -> StoreResult<()> {
        let eligible = opt_json(record.eligible_requester_device_jids.as_ref())?;
        let delivered = opt_json(record.delivered_requester_device_jids.as_ref())?;
        sqlx::query(&self.sql.ro_upsert)
            .bind(sid)
            .bind(record.message_id.as_str())
            .bind(record.to_jid.as_str())
            .bind(eligible)
            .bind(delivered)
            .bind(record.replay_mode.as_str())
            .bind(record.replay_payload.as_slice())
            .bind(record.state.as_str())
            .bind(record.updated_at_ms)
            .bind(record.expires_at_ms)
            .execute(self.writer().await?)
            .await
            .map_err(write_err("save a retry message"))?;
        Ok(())
    }

    async fn get_outbound_message(&self, sid: &str, message_id: &str) -> StoreResult<Option<RetryOutboundMessage>> {
        let row = sqlx::query(&self.sql.ro_get)
            .bind(sid)
            .bind(message_id)
            .fetch_optional(self.reader().await?)
            .await
            .map_err(read_err("load a retry message"))?;
        row.as_ref().map(outbound).transpose()
    }

    async fn delete_outbound_message(&self, sid: &str, message_id: &str) -> StoreResult<u32> {
        let done = sqlx::query(&self.sql.ro_delete)
            .bind(sid)
            .bind(message_id)
            .execute(self.writer().await?)
            .await
            .map_err(write_err("delete a retry message"))?;
        Ok(count(done.rows_affected()))
    }

    async fn get_outbound_requester_status(
        &self,
        sid: &str,
        message_id: &str,
        requester_device_jid: &str,
    ) -> StoreResult<Option<RequesterStatus>> {
        let row = sqlx::query(&self.sql.ro_get_requesters)
            .bind(sid)
            .bind(message_id)
            .fetch_optional(self.reader().await?)
            .await
            .map_err(read_err("look up a retry requester"))?;
        let Some(row) = row else { return Ok(None) };
        let eligible = opt_json_list(col(&row, "eligible_requesters_json")?, "eligible_requesters_json")?;
        let delivered = opt_json_list(col(&row, "delivered_requesters_json")?, "delivered_requesters_json")?;
        Ok(requester_status(eligible.as_deref(), delivered.as_deref(), requester_device_jid))
    }

    async fn update_outbound_message_state(
        &self,
        sid: &str,
        message_id: &str,
        state: &str,
        updated_at_ms: i64,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(&self.sql.ro_update_state)
            .bind(state)
            .bind(updated_at_ms)
            .bind(expires_at_ms)
            .bind(sid)
            .bind(message_id)
            .execute(self.writer().await?)
            .await
            .map_err(write_err("update a retry message"))?;
        Ok(())
    }

    async fn mark_outbound_requester_delivered(
        &self,
        sid: &str,
        message_id: &str,
        requester_device_jid: &str,
        updated_at_ms: i64,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        let what = "mark a retry requester delivered";
        // Read-modify-write of the JSON list under the write lock.
        let mut tx = self.begin(what).await?;
        let Some(row) = sqlx::query(&self.sql.ro_get_delivered)
            .bind(sid)
            .bind(message_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(write_err(what))?
        else {
            return Ok(());
        };
        let stored: Option<String> = col(&row, "delivered_requesters_json")?;
        let mut delivered = match stored {
            Some(raw) => json_list(&raw, "delivered_requesters_json")?,
            None => Vec::new(),
        };
        add_delivered(&mut delivered, requester_device_jid);
        sqlx::query(&self.sql.ro_set_delivered)
            .bind(to_json(&delivered)?)
            .bind(updated_at_ms)
            .bind(expires_at_ms)
            .bind(sid)
            .bind(message_id)
            .execute(&mut *tx)
            .await
            .map_err(write_err(what))?;
        tx.commit().await.map_err(write_err(what))
    }

    async fn increment_inbound_counter(
        &self,
        sid: &str,
        message_id: &str,
        requester_jid: &str,
        updated_at_ms: i64,
        expires_at_ms: i64,
    ) -> StoreResult<u32> {
        let row = sqlx::query(&self.sql.ri_increment)
            .bind(sid)
            .bind(message_id)
            .bind(requester_jid)
            .bind(updated_at_ms)
            .bind(expires_at_ms)
            .fetch_one(self.writer().await?)
            .await
            .map_err(write_err("count a retry request"))?;
        let value: i64 = col(&row, "retry_count")?;
        u32::try_from(value)
            .map_err(|_| StoreError::corrupted(format!("sqlite: stored retry_count {value} is out of range")))
    }

    async fn cleanup_expired(&self, sid: &str, now_ms: i64) -> StoreResult<u32> {
        let what = "clean up expired retry entries";
        let mut tx = self.begin(what).await?;
        let mut deleted = 0u64;
        for sql in [&self.sql.ro_cleanup, &self.sql.ri_cleanup] {
            deleted += sqlx::query(sql)
                .bind(sid)
                .bind(now_ms)
                .execute(&mut *tx)
                .await
                .map_err(write_err(what))?
                .rows_affected();
        }
        tx.commit().await.map_err(write_err(what))?;
        Ok(count(deleted))
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        let what = "clear retry entries";
        let mut tx = self.begin(what).await?;
        for sql in [&self.sql.ro_clear, &self.sql.ri_clear] {
            sqlx::query(sql).bind(sid).execute(&mut *tx).await.map_err(write_err(what))?;
        }
        tx.commit().await.map_err(write_err(what))
    }

    fn retry_ttl_ms(&self) -> i64 {
        self.options.cache_ttls.retry_ms
    }

    fn supports_raw_replay_payload(&self) -> bool {
        false
    }
}
