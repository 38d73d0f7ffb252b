//! The TTL caches: `groupMetadata`, `chatMetadata`, `deviceList`, `messageSecret`.
//!
//! Expiry is stored per row (`expires_at_ms`). Reads filter expired rows and
//! delete the ones they saw, as zapo does, with an `expires_at_ms <= now`
//! guard so a concurrent refresh survives; only a read that finds an expired
//! row pays for that write. `cleanup_*` deletes the rest.

use async_trait::async_trait;
use sqlx::postgres::PgRow;

use super::rows::{col, count, dedupe_last, json_list, to_json};
use super::{check, check_all, check_opt, read_err, write_err, PostgresBackend};
use crate::domain::chat_metadata::{ChatMetadata, ChatMetadataStore};
use crate::domain::device_list::{DeviceList, DeviceListStore};
use crate::domain::group_metadata::{GroupMetadata, GroupMetadataStore};
use crate::domain::message_secret::{MessageSecret, MessageSecretStore};
use crate::domain::StoreResult;

fn expired(row: &PgRow, now_ms: i64) -> StoreResult<bool> {
    Ok(col::<i64>(row, "expires_at_ms")? <= now_ms)
}

pub(super) fn group_metadata(row: &PgRow) -> StoreResult<GroupMetadata> {
    let participants: String = col(row, "participants_json")?;
    Ok(GroupMetadata {
        group_jid: col(row, "group_jid")?,
        participants: json_list(&participants, "participants_json")?,
        ephemeral: col(row, "ephemeral")?,
        ephemeral_trigger: col(row, "ephemeral_trigger")?,
        updated_at_ms: col(row, "updated_at_ms")?,
    })
}

pub(super) fn chat_metadata(row: &PgRow) -> StoreResult<ChatMetadata> {
    Ok(ChatMetadata {
        chat_jid: col(row, "chat_jid")?,
        ephemeral_expiration: col(row, "ephemeral_expiration")?,
        ephemeral_setting_timestamp: col(row, "ephemeral_setting_timestamp")?,
        updated_at_ms: col(row, "updated_at_ms")?,
    })
}

pub(super) fn device_list(row: &PgRow) -> StoreResult<DeviceList> {
    let devices: String = col(row, "device_jids_json")?;
    Ok(DeviceList {
        user_jid: col(row, "user_jid")?,
        alt_user_jid: col(row, "alt_user_jid")?,
        device_jids: json_list(&devices, "device_jids_json")?,
        updated_at_ms: col(row, "updated_at_ms")?,
    })
}

impl PostgresBackend {
    /// Deletes expired rows by key (`$2` a key or an array of keys), unless refreshed meanwhile.
    async fn delete_expired<'q, K>(
        &self,
        sql: &'q str,
        sid: &'q str,
        key: K,
        now_ms: i64,
        what: &'static str,
    ) -> StoreResult<()>
    where
        K: 'q + sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send,
    {
        sqlx::query(sql).bind(sid).bind(key).bind(now_ms).execute(self.pool().await?).await.map_err(write_err(what))?;
        Ok(())
    }

    /// `DELETE … WHERE session_id = $1 [AND expires_at_ms <= $2]`, returning the count.
    async fn delete_counted(&self, sql: &str, sid: &str, now_ms: Option<i64>, what: &'static str) -> StoreResult<u32> {
        check("sessionId", sid)?;
        let mut query = sqlx::query(sql).bind(sid);
        if let Some(now) = now_ms {
            query = query.bind(now);
        }
        let done = query.execute(self.pool().await?).await.map_err(write_err(what))?;
        Ok(count(done.rows_affected()))
    }
}

#[async_trait]
impl GroupMetadataStore for PostgresBackend {
    async fn upsert_group_metadata(&self, sid: &str, snapshot: GroupMetadata) -> StoreResult<()> {
        check("sessionId", sid)?;
        check("groupJid", &snapshot.group_jid)?;
        check_all("participant", snapshot.participants.iter().map(String::as_str))?;
        let expires = snapshot.updated_at_ms.saturating_add(self.options.cache_ttls.group_metadata_ms);
        sqlx::query(&self.sql.gm_upsert)
            .bind(sid)
            .bind(snapshot.group_jid.as_str())
            .bind(to_json(&snapshot.participants)?)
            .bind(snapshot.ephemeral)
            .bind(snapshot.ephemeral_trigger)
            .bind(snapshot.updated_at_ms)
            .bind(expires)
            .execute(self.pool().await?)
            .await
            .map_err(write_err("save group metadata"))?;
        Ok(())
    }

    async fn get_group_metadata(&self, sid: &str, group_jid: &str, now_ms: i64) -> StoreResult<Option<GroupMetadata>> {
        let Some(row) = self.get_one(&self.sql.gm_get, sid, "groupJid", group_jid, "load group metadata").await? else {
            return Ok(None);
        };
        if expired(&row, now_ms)? {
            self.delete_expired(&self.sql.gm_delete_expired, sid, group_jid, now_ms, "drop expired group metadata")
                .await?;
            return Ok(None);
        }
        group_metadata(&row).map(Some)
    }

    async fn delete_group_metadata(&self, sid: &str, group_jid: &str) -> StoreResult<u32> {
        self.delete_one(&self.sql.gm_delete, sid, "groupJid", group_jid, "delete group metadata").await
    }

    async fn cleanup_expired_group_metadata(&self, sid: &str, now_ms: i64) -> StoreResult<u32> {
        self.delete_counted(&self.sql.gm_cleanup, sid, Some(now_ms), "clean up group metadata").await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.delete_counted(&self.sql.gm_clear, sid, None, "clear group metadata").await.map(drop)
    }
}

#[async_trait]
impl ChatMetadataStore for PostgresBackend {
    async fn upsert_chat_metadata(&self, sid: &str, snapshot: ChatMetadata) -> StoreResult<()> {
        check("sessionId", sid)?;
        check("chatJid", &snapshot.chat_jid)?;
        let expires = snapshot.updated_at_ms.saturating_add(self.options.cache_ttls.chat_metadata_ms);
        sqlx::query(&self.sql.cm_upsert)
            .bind(sid)
            .bind(snapshot.chat_jid.as_str())
            .bind(snapshot.ephemeral_expiration)
            .bind(snapshot.ephemeral_setting_timestamp)
            .bind(snapshot.updated_at_ms)
            .bind(expires)
            .execute(self.pool().await?)
            .await
            .map_err(write_err("save chat metadata"))?;
        Ok(())
    }

    async fn get_chat_metadata(&self, sid: &str, chat_jid: &str, now_ms: i64) -> StoreResult<Option<ChatMetadata>> {
        let Some(row) = self.get_one(&self.sql.cm_get, sid, "chatJid", chat_jid, "load chat metadata").await? else {
            return Ok(None);
        };
        if expired(&row, now_ms)? {
            self.delete_expired(&self.sql.cm_delete_expired, sid, chat_jid, now_ms, "drop expired chat metadata")
                .await?;
            return Ok(None);
        }
        chat_metadata(&row).map(Some)
    }

    async fn delete_chat_metadata(&self, sid: &str, chat_jid: &str) -> StoreResult<u32> {
        self.delete_one(&self.sql.cm_delete, sid, "chatJid", chat_jid, "delete chat metadata").await
    }

    async fn cleanup_expired_chat_metadata(&self, sid: &str, now_ms: i64) -> StoreResult<u32> {
        self.delete_counted(&self.sql.cm_cleanup, sid, Some(now_ms), "clean up chat metadata").await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.delete_counted(&self.sql.cm_clear, sid, None, "clear chat metadata").await.map(drop)
    }
}

#[async_trait]
impl DeviceListStore for PostgresBackend {
    async fn upsert_user_devices(&self, sid: &str, snapshots: Vec<DeviceList>) -> StoreResult<()> {
        check("sessionId", sid)?;
        for s in &snapshots {
            check("userJid", &s.user_jid)?;
            check_opt("altUserJid", s.alt_user_jid.as_deref())?;
            check_all("deviceJid", s.device_jids.iter().map(String::as_str))?;
        }
        if snapshots.is_empty() {
            return Ok(());
        }
        let ttl = self.options.cache_ttls.device_list_ms;
        let snapshots = dedupe_last(snapshots, |s| s.user_jid.clone());
        let devices = snapshots.iter().map(|s| to_json(&s.device_jids)).collect::<StoreResult<Vec<_>>>()?;
        sqlx::query(&self.sql.dl_upsert)
            .bind(sid)
            .bind(snapshots.iter().map(|s| s.user_jid.as_str()).collect::<Vec<_>>())
            .bind(snapshots.iter().map(|s| s.alt_user_jid.as_deref()).collect::<Vec<_>>())
            .bind(devices)
            .bind(snapshots.iter().map(|s| s.updated_at_ms).collect::<Vec<_>>())
            .bind(snapshots.iter().map(|s| s.updated_at_ms.saturating_add(ttl)).collect::<Vec<_>>())
            .execute(self.pool().await?)
            .await
            .map_err(write_err("save device lists"))?;
        Ok(())
    }

    async fn get_user_devices(
        &self,
        sid: &str,
        user_jids: &[String],
        now_ms: i64,
    ) -> StoreResult<Vec<Option<DeviceList>>> {
        check("sessionId", sid)?;
        check_all("userJid", user_jids.iter().map(String::as_str))?;
        if user_jids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(&self.sql.dl_get_many)
            .bind(sid)
            .bind(user_jids)
            .fetch_all(self.pool().await?)
            .await
            .map_err(read_err("load device lists"))?;
        let mut out = Vec::with_capacity(rows.len());
        let mut stale: Vec<String> = Vec::new();
        for row in &rows {
            let Some(user_jid) = col::<Option<String>>(row, "user_jid")? else {
                out.push(None);
                continue;
            };
            if expired(row, now_ms)? {
                stale.push(user_jid);
                out.push(None);
            } else {
                out.push(Some(device_list(row)?));
            }
        }
        if !stale.is_empty() {
            stale.sort();
            stale.dedup();
            self.delete_expired(&self.sql.dl_delete_expired_many, sid, stale, now_ms, "drop expired device lists")
                .await?;
        }
        Ok(out)
    }

    async fn find_by_any_user_jid(&self, sid: &str, jid: &str, now_ms: i64) -> StoreResult<Option<DeviceList>> {
        check("sessionId", sid)?;
        check("jid", jid)?;
        let what = "look up a device list";
        let pool = self.pool().await?;
        // The primary jid first, then the latest snapshot that names `jid` as its alt form.
        for sql in [&self.sql.dl_get, &self.sql.dl_find_alt] {
            let row = sqlx::query(sql).bind(sid).bind(jid).fetch_optional(pool).await.map_err(read_err(what))?;
            let Some(row) = row else { continue };
            if !expired(&row, now_ms)? {
                return device_list(&row).map(Some);
            }
            let user_jid: String = col(&row, "user_jid")?;
            self.delete_expired(&self.sql.dl_delete_expired, sid, user_jid, now_ms, "drop an expired device list")
                .await?;
        }
        Ok(None)
    }

    async fn delete_user_devices(&self, sid: &str, user_jid: &str) -> StoreResult<u32> {
        self.delete_one(&self.sql.dl_delete, sid, "userJid", user_jid, "delete a device list").await
    }

    async fn cleanup_expired_device_lists(&self, sid: &str, now_ms: i64) -> StoreResult<u32> {
        self.delete_counted(&self.sql.dl_cleanup, sid, Some(now_ms), "clean up device lists").await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.delete_counted(&self.sql.dl_clear, sid, None, "clear device lists").await.map(drop)
    }
}

#[async_trait]
impl MessageSecretStore for PostgresBackend {
    async fn get_message_secrets(
        &self,
        sid: &str,
        message_ids: &[String],
        now_ms: i64,
    ) -> StoreResult<Vec<Option<MessageSecret>>> {
        check("sessionId", sid)?;
        check_all("messageId", message_ids.iter().map(String::as_str))?;
        if message_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(&self.sql.ms_get_many)
            .bind(sid)
            .bind(message_ids)
            .fetch_all(self.pool().await?)
            .await
            .map_err(read_err("load message secrets"))?;
        let mut out = Vec::with_capacity(rows.len());
        let mut stale: Vec<String> = Vec::new();
        for row in &rows {
            let Some(expires_at_ms) = col::<Option<i64>>(row, "expires_at_ms")? else {
                out.push(None);
                continue;
            };
            if expires_at_ms <= now_ms {
                stale.push(col(row, "wanted")?);
                out.push(None);
            } else {
                out.push(Some(MessageSecret { secret: col(row, "secret")?, sender_jid: col(row, "sender_jid")? }));
            }
        }
        if !stale.is_empty() {
            stale.sort();
            stale.dedup();
            self.delete_expired(&self.sql.ms_delete_expired_many, sid, stale, now_ms, "drop expired message secrets")
                .await?;
        }
        Ok(out)
    }

    async fn set_message_secrets(
        &self,
        sid: &str,
        entries: Vec<(String, MessageSecret)>,
        now_ms: i64,
    ) -> StoreResult<()> {
        check("sessionId", sid)?;
        for (id, secret) in &entries {
            check("messageId", id)?;
            check("senderJid", &secret.sender_jid)?;
        }
        if entries.is_empty() {
            return Ok(());
        }
        let expires = now_ms.saturating_add(self.options.cache_ttls.message_secret_ms);
        let mut entries = dedupe_last(entries, |(id, _)| id.clone());
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        sqlx::query(&self.sql.ms_upsert)
            .bind(sid)
            .bind(entries.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>())
            .bind(entries.iter().map(|(_, s)| s.secret.as_slice()).collect::<Vec<_>>())
            .bind(entries.iter().map(|(_, s)| s.sender_jid.as_str()).collect::<Vec<_>>())
            .bind(expires)
            .execute(self.pool().await?)
            .await
            .map_err(write_err("save message secrets"))?;
        Ok(())
    }

    async fn cleanup_expired_message_secrets(&self, sid: &str, now_ms: i64) -> StoreResult<u32> {
        self.delete_counted(&self.sql.ms_cleanup, sid, Some(now_ms), "clean up message secrets").await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.delete_counted(&self.sql.ms_clear, sid, None, "clear message secrets").await.map(drop)
    }
}
