//! The TTL caches: `groupMetadata`, `chatMetadata`, `deviceList`, `messageSecret`.
//!
//! Expiry is stored per row (`expires_at_ms`). Reads filter expired rows and
//! delete the ones they saw, as zapo does, with an `expires_at_ms <= now`
//! guard so a concurrent refresh survives; only a read that finds an expired
//! row pays for that write. `cleanup_*` deletes the rest, and the optional
//! background task sweeps every cache table for every session.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::mysql::MySqlRow;
use sqlx::MySqlPool;

use super::rows::{bind_strs, col, count, dedupe_last, json_list, opt_text, text, to_json, Query};
use super::{read_err, write_err, MysqlBackend};
use crate::domain::chat_metadata::{ChatMetadata, ChatMetadataStore};
use crate::domain::device_list::{DeviceList, DeviceListStore};
use crate::domain::group_metadata::{GroupMetadata, GroupMetadataStore};
use crate::domain::message_secret::{MessageSecret, MessageSecretStore};
use crate::domain::StoreResult;

fn expired(row: &MySqlRow, now_ms: i64) -> StoreResult<bool> {
    Ok(col::<i64>(row, "expires_at_ms")? <= now_ms)
}

pub(super) fn group_metadata(row: &MySqlRow) -> StoreResult<GroupMetadata> {
    let participants = text(row, "participants_json")?;
    Ok(GroupMetadata {
        group_jid: text(row, "group_jid")?,
        participants: json_list(&participants, "participants_json")?,
        ephemeral: col(row, "ephemeral")?,
        ephemeral_trigger: col(row, "ephemeral_trigger")?,
        updated_at_ms: col(row, "updated_at_ms")?,
    })
}

pub(super) fn chat_metadata(row: &MySqlRow) -> StoreResult<ChatMetadata> {
    Ok(ChatMetadata {
        chat_jid: text(row, "chat_jid")?,
        ephemeral_expiration: col(row, "ephemeral_expiration")?,
        ephemeral_setting_timestamp: col(row, "ephemeral_setting_timestamp")?,
        updated_at_ms: col(row, "updated_at_ms")?,
    })
}

pub(super) fn device_list(row: &MySqlRow) -> StoreResult<DeviceList> {
    let devices = text(row, "device_jids_json")?;
    Ok(DeviceList {
        user_jid: text(row, "user_jid")?,
        alt_user_jid: opt_text(row, "alt_user_jid")?,
        device_jids: json_list(&devices, "device_jids_json")?,
        updated_at_ms: col(row, "updated_at_ms")?,
    })
}

/// First occurrence order, duplicates dropped (so chunked reads never repeat a row).
fn unique(items: &[String]) -> Vec<&str> {
    let mut seen = HashSet::new();
    items.iter().map(String::as_str).filter(|s| seen.insert(*s)).collect()
}

/// The background sweep: every `interval`, deletes expired rows of every
/// cache table, every session. Ends when the pool is closed.
pub async fn cleanup_loop(pool: MySqlPool, statements: Vec<String>, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        if pool.is_closed() {
            return;
        }
        let now = crate::domain::now_ms();
        for sql in &statements {
            if let Err(sqlx::Error::PoolClosed) = sqlx::query(sql).bind(now).execute(&pool).await {
                return;
            }
        }
    }
}

pub(super) struct DeviceRow<'a> {
    pub(super) list: &'a DeviceList,
    pub(super) json: String,
    pub(super) expires_at_ms: i64,
}

fn device_row_size(r: &DeviceRow<'_>) -> usize {
    2 * (r.list.user_jid.len() + r.list.alt_user_jid.as_ref().map_or(0, String::len)) + r.json.len()
}

pub(super) fn bind_device_row<'q>(query: Query<'q>, sid: &'q str, r: &'q DeviceRow<'_>) -> Query<'q> {
    query
        .bind(sid)
        .bind(r.list.user_jid.as_str())
        .bind(r.list.user_jid.as_str())
        .bind(r.list.alt_user_jid.as_deref())
        .bind(r.list.alt_user_jid.as_deref())
        .bind(r.json.as_str())
        .bind(r.list.updated_at_ms)
        .bind(r.expires_at_ms)
}

pub(super) struct SecretRow<'a> {
    pub(super) id: &'a str,
    pub(super) secret: &'a MessageSecret,
    pub(super) expires_at_ms: i64,
}

fn secret_row_size(r: &SecretRow<'_>) -> usize {
    2 * r.id.len() + r.secret.secret.len() + r.secret.sender_jid.len()
}

pub(super) fn bind_secret_row<'q>(query: Query<'q>, sid: &'q str, r: &'q SecretRow<'_>) -> Query<'q> {
    query
        .bind(sid)
        .bind(r.id)
        .bind(r.id)
        .bind(r.secret.secret.as_slice())
        .bind(r.secret.sender_jid.as_str())
        .bind(r.expires_at_ms)
}

impl MysqlBackend {
    /// Deletes one expired row by key, unless it was refreshed meanwhile.
    async fn delete_expired(
        &self,
        sql: &str,
        sid: &str,
        key: &str,
        now_ms: i64,
        what: &'static str,
    ) -> StoreResult<()> {
        sqlx::query(sql)
            .bind(sid)
            .bind(key)
            .bind(now_ms)
            .execute(self.db(sid).await?)
            .await
            .map_err(write_err(what))?;
        Ok(())
    }

    /// `DELETE … WHERE session_id = ? AND expires_at_ms <= ? AND key IN (…)` over chunks.
    async fn delete_expired_many(
        &self,
        list: &super::sql::Multi,
        sid: &str,
        keys: &[&str],
        now_ms: i64,
        what: &'static str,
    ) -> StoreResult<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let pool = self.db(sid).await?;
        for chunk in keys.chunks(list.max_chunk()) {
            let (sql, len) = list.for_len(chunk.len());
            bind_strs(sqlx::query(sql).bind(sid).bind(now_ms), chunk, len)
                .execute(pool)
                .await
                .map_err(write_err(what))?;
        }
        Ok(())
    }

    async fn run_count(
        &self,
        sql: &str,
        sid: &str,
        arg: Option<i64>,
        key: Option<&str>,
        what: &'static str,
    ) -> StoreResult<u32> {
        let mut query = sqlx::query(sql).bind(sid);
        if let Some(key) = key {
            query = query.bind(key);
        }
        if let Some(arg) = arg {
            query = query.bind(arg);
        }
        let done = query.execute(self.db(sid).await?).await.map_err(write_err(what))?;
        Ok(count(done.rows_affected()))
    }
}

#[async_trait]
impl GroupMetadataStore for MysqlBackend {
    async fn upsert_group_metadata(&self, sid: &str, snapshot: GroupMetadata) -> StoreResult<()> {
        let expires = snapshot.updated_at_ms.saturating_add(self.options.cache_ttls.group_metadata_ms);
        sqlx::query(&self.sql.gm_upsert)
            .bind(sid)
            .bind(snapshot.group_jid.as_str())
            .bind(snapshot.group_jid.as_str())
            .bind(to_json(&snapshot.participants)?)
            .bind(snapshot.ephemeral)
            .bind(snapshot.ephemeral_trigger)
            .bind(snapshot.updated_at_ms)
            .bind(expires)
            .execute(self.db(sid).await?)
            .await
            .map_err(write_err("save group metadata"))?;
        Ok(())
    }

    async fn get_group_metadata(&self, sid: &str, group_jid: &str, now_ms: i64) -> StoreResult<Option<GroupMetadata>> {
        let row = sqlx::query(&self.sql.gm_get)
            .bind(sid)
            .bind(group_jid)
            .fetch_optional(self.db(sid).await?)
            .await
            .map_err(read_err("load group metadata"))?;
        let Some(row) = row else { return Ok(None) };
        if expired(&row, now_ms)? {
            self.delete_expired(&self.sql.gm_delete_expired, sid, group_jid, now_ms, "drop expired group metadata")
                .await?;
            return Ok(None);
        }
        group_metadata(&row).map(Some)
    }

    async fn delete_group_metadata(&self, sid: &str, group_jid: &str) -> StoreResult<u32> {
        self.run_count(&self.sql.gm_delete, sid, None, Some(group_jid), "delete group metadata").await
    }

    async fn cleanup_expired_group_metadata(&self, sid: &str, now_ms: i64) -> StoreResult<u32> {
        self.run_count(&self.sql.gm_cleanup, sid, Some(now_ms), None, "clean up group metadata").await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.run_count(&self.sql.gm_clear, sid, None, None, "clear group metadata").await.map(drop)
    }
}

#[async_trait]
impl ChatMetadataStore for MysqlBackend {
    async fn upsert_chat_metadata(&self, sid: &str, snapshot: ChatMetadata) -> StoreResult<()> {
        let expires = snapshot.updated_at_ms.saturating_add(self.options.cache_ttls.chat_metadata_ms);
        sqlx::query(&self.sql.cm_upsert)
            .bind(sid)
            .bind(snapshot.chat_jid.as_str())
            .bind(snapshot.chat_jid.as_str())
            .bind(snapshot.ephemeral_expiration)
            .bind(snapshot.ephemeral_setting_timestamp)
            .bind(snapshot.updated_at_ms)
            .bind(expires)
            .execute(self.db(sid).await?)
            .await
            .map_err(write_err("save chat metadata"))?;
        Ok(())
    }

    async fn get_chat_metadata(&self, sid: &str, chat_jid: &str, now_ms: i64) -> StoreResult<Option<ChatMetadata>> {
        let row = sqlx::query(&self.sql.cm_get)
            .bind(sid)
            .bind(chat_jid)
            .fetch_optional(self.db(sid).await?)
            .await
            .map_err(read_err("load chat metadata"))?;
        let Some(row) = row else { return Ok(None) };
        if expired(&row, now_ms)? {
            self.delete_expired(&self.sql.cm_delete_expired, sid, chat_jid, now_ms, "drop expired chat metadata")
                .await?;
            return Ok(None);
        }
        chat_metadata(&row).map(Some)
    }

    async fn delete_chat_metadata(&self, sid: &str, chat_jid: &str) -> StoreResult<u32> {
        self.run_count(&self.sql.cm_delete, sid, None, Some(chat_jid), "delete chat metadata").await
    }

    async fn cleanup_expired_chat_metadata(&self, sid: &str, now_ms: i64) -> StoreResult<u32> {
        self.run_count(&self.sql.cm_cleanup, sid, Some(now_ms), None, "clean up chat metadata").await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.run_count(&self.sql.cm_clear, sid, None, None, "clear chat metadata").await.map(drop)
    }
}

#[async_trait]
impl DeviceListStore for MysqlBackend {
    async fn upsert_user_devices(&self, sid: &str, snapshots: Vec<DeviceList>) -> StoreResult<()> {
        let what = "save device lists";
        let ttl = self.options.cache_ttls.device_list_ms;
        let snapshots = dedupe_last(snapshots, |s| s.user_jid.clone());
        let mut rows = Vec::with_capacity(snapshots.len());
        for s in &snapshots {
            rows.push(DeviceRow { list: s, json: to_json(&s.device_jids)?, expires_at_ms: s.updated_at_ms.saturating_add(ttl) });
        }
        self.upsert_rows(sid, &self.sql.dl_upsert, &rows, device_row_size, bind_device_row, what).await
    }

    async fn get_user_devices(
        &self,
        sid: &str,
        user_jids: &[String],
        now_ms: i64,
    ) -> StoreResult<Vec<Option<DeviceList>>> {
        let pool = self.db(sid).await?;
        let jids = unique(user_jids);
        let mut live: HashMap<String, DeviceList> = HashMap::new();
        let mut stale: Vec<String> = Vec::new();
        for chunk in jids.chunks(self.sql.dl_get_many.max_chunk()) {
            let (sql, len) = self.sql.dl_get_many.for_len(chunk.len());
            let rows = bind_strs(sqlx::query(sql).bind(sid), chunk, len)
                .fetch_all(pool)
                .await
                .map_err(read_err("load device lists"))?;
            for row in &rows {
                if expired(row, now_ms)? {
                    stale.push(text(row, "user_jid")?);
                } else {
                    let list = device_list(row)?;
                    live.insert(list.user_jid.clone(), list);
                }
            }
        }
        let stale: Vec<&str> = stale.iter().map(String::as_str).collect();
        self.delete_expired_many(&self.sql.dl_delete_expired_many, sid, &stale, now_ms, "drop expired device lists")
            .await?;
        Ok(user_jids.iter().map(|jid| live.get(jid).cloned()).collect())
    }

    async fn find_by_any_user_jid(&self, sid: &str, jid: &str, now_ms: i64) -> StoreResult<Option<DeviceList>> {
        let what = "look up a device list";
        let pool = self.db(sid).await?;
        // The primary jid first, then the latest snapshot that names `jid` as its alt form.
        for sql in [&self.sql.dl_get, &self.sql.dl_find_alt] {
            let row = sqlx::query(sql).bind(sid).bind(jid).fetch_optional(pool).await.map_err(read_err(what))?;
            let Some(row) = row else { continue };
            if !expired(&row, now_ms)? {
                return device_list(&row).map(Some);
            }
            let user_jid = text(&row, "user_jid")?;
            self.delete_expired(&self.sql.dl_delete_expired, sid, &user_jid, now_ms, "drop an expired device list")
                .await?;
        }
        Ok(None)
    }

    async fn delete_user_devices(&self, sid: &str, user_jid: &str) -> StoreResult<u32> {
        self.run_count(&self.sql.dl_delete, sid, None, Some(user_jid), "delete a device list").await
    }

    async fn cleanup_expired_device_lists(&self, sid: &str, now_ms: i64) -> StoreResult<u32> {
        self.run_count(&self.sql.dl_cleanup, sid, Some(now_ms), None, "clean up device lists").await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.run_count(&self.sql.dl_clear, sid, None, None, "clear device lists").await.map(drop)
    }
}

#[async_trait]
impl MessageSecretStore for MysqlBackend {
    async fn get_message_secrets(
        &self,
        sid: &str,
        message_ids: &[String],
        now_ms: i64,
    ) -> StoreResult<Vec<Option<MessageSecret>>> {
        let pool = self.db(sid).await?;
        let ids = unique(message_ids);
        let mut live: HashMap<String, MessageSecret> = HashMap::new();
        let mut stale: Vec<String> = Vec::new();
        for chunk in ids.chunks(self.sql.ms_get_many.max_chunk()) {
            let (sql, len) = self.sql.ms_get_many.for_len(chunk.len());
            let rows = bind_strs(sqlx::query(sql).bind(sid), chunk, len)
                .fetch_all(pool)
                .await
                .map_err(read_err("load message secrets"))?;
            for row in &rows {
                let id = text(row, "message_id")?;
                if expired(row, now_ms)? {
                    stale.push(id);
                } else {
                    live.insert(id, MessageSecret { secret: col(row, "secret")?, sender_jid: text(row, "sender_jid")? });
                }
            }
        }
        let stale: Vec<&str> = stale.iter().map(String::as_str).collect();
        self.delete_expired_many(&self.sql.ms_delete_expired_many, sid, &stale, now_ms, "drop expired message secrets")
            .await?;
        Ok(message_ids.iter().map(|id| live.get(id).cloned()).collect())
    }

    async fn set_message_secrets(
        &self,
        sid: &str,
        entries: Vec<(String, MessageSecret)>,
        now_ms: i64,
    ) -> StoreResult<()> {
        let what = "save message secrets";
        let expires = now_ms.saturating_add(self.options.cache_ttls.message_secret_ms);
        let entries = dedupe_last(entries, |(id, _)| id.clone());
        let rows: Vec<SecretRow> = entries.iter().map(|(id, secret)| SecretRow { id, secret, expires_at_ms: expires }).collect();
        self.upsert_rows(sid, &self.sql.ms_upsert, &rows, secret_row_size, bind_secret_row, what).await
    }

    async fn cleanup_expired_message_secrets(&self, sid: &str, now_ms: i64) -> StoreResult<u32> {
        self.run_count(&self.sql.ms_cleanup, sid, Some(now_ms), None, "clean up message secrets").await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.run_count(&self.sql.ms_clear, sid, None, None, "clear message secrets").await.map(drop)
    }
}
