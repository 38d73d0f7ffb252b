//! The TTL caches: `groupMetadata`, `chatMetadata`, `deviceList`, `messageSecret`.
//!
//! Expiry is stored per row (`expires_at_ms`). Reads filter expired rows and
//! delete the ones they saw, as zapo does, with an `expires_at_ms <= now`
//! guard so a concurrent refresh survives; only a read that finds an expired
//! row pays for that write. `cleanup_*` deletes the rest.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;

use super::rows::{bind_strs, col, count, json_list, to_json};
use super::{read_err, write_err, SqliteBackend};
use crate::domain::chat_metadata::{ChatMetadata, ChatMetadataStore};
use crate::domain::device_list::{DeviceList, DeviceListStore};
use crate::domain::group_metadata::{GroupMetadata, GroupMetadataStore};
use crate::domain::message_secret::{MessageSecret, MessageSecretStore};
use crate::domain::StoreResult;

fn expired(row: &SqliteRow, now_ms: i64) -> StoreResult<bool> {
    Ok(col::<i64>(row, "expires_at_ms")? <= now_ms)
}

pub(super) fn group_metadata(row: &SqliteRow) -> StoreResult<GroupMetadata> {
    let participants: String = col(row, "participants_json")?;
    Ok(GroupMetadata {
        group_jid: col(row, "group_jid")?,
        participants: json_list(&participants, "participants_json")?,
        ephemeral: col(row, "ephemeral")?,
        ephemeral_trigger: col(row, "ephemeral_trigger")?,
        updated_at_ms: col(row, "updated_at_ms")?,
    })
}

pub(super) fn chat_metadata(row: &SqliteRow) -> StoreResult<ChatMetadata> {
    Ok(ChatMetadata {
        chat_jid: col(row, "chat_jid")?,
        ephemeral_expiration: col(row, "ephemeral_expiration")?,
        ephemeral_setting_timestamp: col(row, "ephemeral_setting_timestamp")?,
        updated_at_ms: col(row, "updated_at_ms")?,
    })
}

pub(super) fn device_list(row: &SqliteRow) -> StoreResult<DeviceList> {
    let devices: String = col(row, "device_jids_json")?;
    Ok(DeviceList {
        user_jid: col(row, "user_jid")?,
        alt_user_jid: col(row, "alt_user_jid")?,
        device_jids: json_list(&devices, "device_jids_json")?,
        updated_at_ms: col(row, "updated_at_ms")?,
    })
}

/// First occurrence order, duplicates dropped (so chunked reads never repeat a row).
fn unique(items: &[String]) -> Vec<&str> {
    let mut seen = HashSet::new();
    items.iter().map(String::as_str).filter(|s| seen.insert(*s)).collect()
}

impl SqliteBackend {
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
            .execute(self.writer().await?)
            .await
            .map_err(write_err(what))?;
        Ok(())
    }

    /// `DELETE … WHERE session_id = ? AND expires_at_ms <= ? AND key IN (…)` over chunks.
    async fn delete_expired_many(
        &self,
        list: &super::sql::InList,
        sid: &str,
        keys: &[&str],
        now_ms: i64,
        what: &'static str,
    ) -> StoreResult<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin(what).await?;
        for chunk in keys.chunks(list.max_chunk()) {
            let (sql, len) = list.for_len(chunk.len());
            bind_strs(sqlx::query(sql).bind(sid).bind(now_ms), chunk, len)
                .execute(&mut *tx)
                .await
                .map_err(write_err(what))?;
        }
        tx.commit().await.map_err(write_err(what))
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
        let done = query.execute(self.writer().await?).await.map_err(write_err(what))?;
        Ok(count(done.rows_affected()))
    }
}

#[async_trait]
impl GroupMetadataStore for SqliteBackend {
    async fn upsert_group_metadata(&self, sid: &str, snapshot: GroupMetadata) -> StoreResult<()> {
        let expires = snapshot.updated_at_ms.saturating_add(self.options.cache_ttls.group_metadata_ms);
        sqlx::query(&self.sql.gm_upsert)
            .bind(sid)
            .bind(snapshot.group_jid.as_str())
            .bind(to_json(&snapshot.participants)?)
            .bind(snapshot.ephemeral)
            .bind(snapshot.ephemeral_trigger)
            .bind(snapshot.updated_at_ms)
            .bind(expires)
            .execute(self.writer().await?)
            .await
            .map_err(write_err("save group metadata"))?;
        Ok(())
    }

    async fn get_group_metadata(&self, sid: &str, group_jid: &str, now_ms: i64) -> StoreResult<Option<GroupMetadata>> {
        let row = sqlx::query(&self.sql.gm_get)
            .bind(sid)
            .bind(group_jid)
            .fetch_optional(self.reader().await?)
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
impl ChatMetadataStore for SqliteBackend {
    async fn upsert_chat_metadata(&self, sid: &str, snapshot: ChatMetadata) -> StoreResult<()> {
        let expires = snapshot.updated_at_ms.saturating_add(self.options.cache_ttls.chat_metadata_ms);
        sqlx::query(&self.sql.cm_upsert)
            .bind(sid)
            .bind(snapshot.chat_jid.as_str())
            .bind(snapshot.ephemeral_expiration)
            .bind(snapshot.ephemeral_setting_timestamp)
            .bind(snapshot.updated_at_ms)
            .bind(expires)
            .execute(self.writer().await?)
            .await
            .map_err(write_err("save chat metadata"))?;
        Ok(())
    }

    async fn get_chat_metadata(&self, sid: &str, chat_jid: &str, now_ms: i64) -> StoreResult<Option<ChatMetadata>> {
        let row = sqlx::query(&self.sql.cm_get)
            .bind(sid)
            .bind(chat_jid)
            .fetch_optional(self.reader().await?)
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
impl DeviceListStore for SqliteBackend {
    async fn upsert_user_devices(&self, sid: &str, snapshots: Vec<DeviceList>) -> StoreResult<()> {
        let what = "save device lists";
        let ttl = self.options.cache_ttls.device_list_ms;
        let mut tx = self.begin(what).await?;
        for s in &snapshots {
            sqlx::query(&self.sql.dl_upsert)
                .bind(sid)
                .bind(s.user_jid.as_str())
                .bind(s.alt_user_jid.as_deref())
                .bind(to_json(&s.device_jids)?)
                .bind(s.updated_at_ms)
                .bind(s.updated_at_ms.saturating_add(ttl))
                .execute(&mut *tx)
                .await
                .map_err(write_err(what))?;
        }
        tx.commit().await.map_err(write_err(what))
    }

    async fn get_user_devices(
        &self,
        sid: &str,
        user_jids: &[String],
        now_ms: i64,
    ) -> StoreResult<Vec<Option<DeviceList>>> {
        let pool = self.reader().await?;
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
                    stale.push(col(row, "user_jid")?);
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
        let pool = self.reader().await?;
        // The primary jid first, then the latest snapshot that names `jid` as its alt form.
        for sql in [&self.sql.dl_get, &self.sql.dl_find_alt] {
            let row = sqlx::query(sql).bind(sid).bind(jid).fetch_optional(pool).await.map_err(read_err(what))?;
            let Some(row) = row else { continue };
            if !expired(&row, now_ms)? {
                return device_list(&row).map(Some);
            }
            let user_jid: String = col(&row, "user_jid")?;
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
impl MessageSecretStore for SqliteBackend {
    async fn get_message_secrets(
        &self,
        sid: &str,
        message_ids: &[String],
        now_ms: i64,
    ) -> StoreResult<Vec<Option<MessageSecret>>> {
        let pool = self.reader().await?;
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
                let id: String = col(row, "message_id")?;
                if expired(row, now_ms)? {
                    stale.push(id);
                } else {
                    live.insert(id, MessageSecret { secret: col(row, "secret")?, sender_jid: col(row, "sender_jid")? });
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
        let mut tx = self.begin(what).await?;
        for (id, secret) in &entries {
            sqlx::query(&self.sql.ms_upsert)
                .bind(sid)
                .bind(id.as_str())
                .bind(secret.secret.as_slice())
                .bind(secret.sender_jid.as_str())
                .bind(expires)
                .execute(&mut *tx)
                .await
                .map_err(write_err(what))?;
        }
        tx.commit().await.map_err(write_err(what))
    }

    async fn cleanup_expired_message_secrets(&self, sid: &str, now_ms: i64) -> StoreResult<u32> {
        self.run_count(&self.sql.ms_cleanup, sid, Some(now_ms), None, "clean up message secrets").await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.run_count(&self.sql.ms_clear, sid, None, None, "clear message secrets").await.map(drop)
    }
}
