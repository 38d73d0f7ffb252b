//! `messages`, `threads`, `contacts` and `privacyToken`: the mailbox archive.
//! Threads, contacts and tokens merge field by field in SQL
//! (`COALESCE(excluded.x, x)`), so a partial update never erases a field.

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;

use super::rows::{bool_col, col, count, opt_bool, opt_bool_col, padded};
use super::{read_err, write_err, SqliteBackend};
use crate::domain::contacts::{ContactStore, StoredContact};
use crate::backend::message_ranges::bind_range;
use crate::domain::messages::{page_by_ranges, page_ranges, MessageStore, PageRange, PageStart, StoredMessage};
use crate::domain::privacy_token::{PrivacyToken, PrivacyTokenStore};
use crate::domain::threads::{StoredThread, ThreadStore};
use crate::domain::StoreResult;

pub(super) fn message(row: &SqliteRow) -> StoreResult<StoredMessage> {
    Ok(StoredMessage {
        id: col(row, "message_id")?,
        thread_jid: col(row, "thread_jid")?,
        sender_jid: col(row, "sender_jid")?,
        participant_jid: col(row, "participant_jid")?,
        from_me: bool_col(row, "from_me")?,
        timestamp_ms: col(row, "timestamp_ms")?,
        message_bytes: col(row, "message_bytes")?,
    })
}

impl SqliteBackend {
    async fn message_range(
        &self,
        sid: &str,
        thread_jid: &str,
        range: PageRange<'_>,
        limit: u32,
    ) -> StoreResult<Vec<StoredMessage>> {
        let (sql, binds) = self.sql.msg_page.of(range);
        let query = bind_range(sqlx::query(sql).bind(sid).bind(thread_jid), binds).bind(i64::from(limit));
        let rows = query.fetch_all(self.reader().await?).await.map_err(read_err("list a page of messages"))?;
        rows.iter().map(message).collect()
    }
}

pub(super) fn thread(row: &SqliteRow) -> StoreResult<StoredThread> {
    Ok(StoredThread {
        jid: col(row, "jid")?,
        name: col(row, "name")?,
        unread_count: col(row, "unread_count")?,
        archived: opt_bool_col(row, "archived")?,
        pinned: col(row, "pinned")?,
        mute_end_ms: col(row, "mute_end_ms")?,
        marked_as_unread: opt_bool_col(row, "marked_as_unread")?,
        ephemeral_expiration: col(row, "ephemeral_expiration")?,
        ephemeral_setting_timestamp: col(row, "ephemeral_setting_timestamp")?,
    })
}

pub(super) fn contact(row: &SqliteRow) -> StoreResult<StoredContact> {
    Ok(StoredContact {
        jid: col(row, "jid")?,
        display_name: col(row, "display_name")?,
        push_name: col(row, "push_name")?,
        lid: col(row, "lid")?,
        phone_number: col(row, "phone_number")?,
        username: col(row, "username")?,
        last_updated_ms: col(row, "last_updated_ms")?,
    })
}

pub(super) fn privacy_token(row: &SqliteRow) -> StoreResult<PrivacyToken> {
    Ok(PrivacyToken {
        jid: col(row, "jid")?,
        tc_token: col(row, "tc_token")?,
        tc_token_timestamp: col(row, "tc_token_timestamp")?,
        tc_token_sender_timestamp: col(row, "tc_token_sender_timestamp")?,
        nct_salt: col(row, "nct_salt")?,
        updated_at_ms: col(row, "updated_at_ms")?,
    })
}

#[async_trait]
impl MessageStore for SqliteBackend {
    async fn upsert_messages(&self, sid: &str, records: Vec<StoredMessage>) -> StoreResult<()> {
        let what = "save messages";
        let mut tx = self.begin(what).await?;
        for chunk in records.chunks(self.sql.msg_upsert.max_chunk()) {
            let (sql, len) = self.sql.msg_upsert.for_len(chunk.len());
            let mut query = sqlx::query(sql);
            for m in padded(chunk, len) {
                query = query
                    .bind(sid)
                    .bind(m.id.as_str())
                    .bind(m.thread_jid.as_str())
                    .bind(m.sender_jid.as_deref())
                    .bind(m.participant_jid.as_deref())
                    .bind(i64::from(m.from_me))
                    .bind(m.timestamp_ms)
                    .bind(m.message_bytes.as_deref());
            }
            query.execute(&mut *tx).await.map_err(write_err(what))?;
        }
        tx.commit().await.map_err(write_err(what))
    }

    async fn get_message(&self, sid: &str, id: &str) -> StoreResult<Option<StoredMessage>> {
        let row = sqlx::query(&self.sql.msg_get)
            .bind(sid)
            .bind(id)
            .fetch_optional(self.reader().await?)
            .await
            .map_err(read_err("load a message"))?;
        row.as_ref().map(message).transpose()
    }

    async fn list_messages_by_thread(
        &self,
        sid: &str,
        thread_jid: &str,
        limit: u32,
        before_timestamp_ms: Option<i64>,
    ) -> StoreResult<Vec<StoredMessage>> {
        let query = match before_timestamp_ms {
            Some(before) => sqlx::query(&self.sql.msg_list_before).bind(sid).bind(thread_jid).bind(before),
            None => sqlx::query(&self.sql.msg_list).bind(sid).bind(thread_jid),
        };
        let rows =
            query.bind(i64::from(limit)).fetch_all(self.reader().await?).await.map_err(read_err("list messages"))?;
        rows.iter().map(message).collect()
    }

    async fn list_messages_page(
        &self,
        sid: &str,
        thread_jid: &str,
        limit: u32,
        start: &PageStart,
    ) -> StoreResult<Vec<StoredMessage>> {
        page_by_ranges(start, limit, |range, n| self.message_range(sid, thread_jid, range, n)).await
    }

    async fn delete_thread_messages(&self, sid: &str, thread_jid: &str, start: &PageStart) -> StoreResult<u32> {
        let what = "delete messages of a thread";
        let mut tx = self.begin(what).await?;
        let mut deleted = 0;
        for range in page_ranges(start) {
            let (sql, binds) = self.sql.msg_delete_range.of(range);
            let done = bind_range(sqlx::query(sql).bind(sid).bind(thread_jid), binds)
                .execute(&mut *tx)
                .await
                .map_err(write_err(what))?;
            deleted += count(done.rows_affected());
        }
        tx.commit().await.map_err(write_err(what))?;
        Ok(deleted)
    }

    async fn delete_message(&self, sid: &str, id: &str) -> StoreResult<u32> {
        let done = sqlx::query(&self.sql.msg_delete)
            .bind(sid)
            .bind(id)
            .execute(self.writer().await?)
            .await
            .map_err(write_err("delete a message"))?;
        Ok(count(done.rows_affected()))
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        sqlx::query(&self.sql.msg_clear)
            .bind(sid)
            .execute(self.writer().await?)
            .await
            .map_err(write_err("clear messages"))?;
        Ok(())
    }
}

#[async_trait]
impl ThreadStore for SqliteBackend {
    async fn upsert_threads(&self, sid: &str, records: Vec<StoredThread>) -> StoreResult<()> {
        let what = "save threads";
        let mut tx = self.begin(what).await?;
        for t in &records {
            sqlx::query(&self.sql.thr_upsert)
                .bind(sid)
                .bind(t.jid.as_str())
                .bind(t.name.as_deref())
                .bind(t.unread_count)
                .bind(opt_bool(t.archived))
                .bind(t.pinned)
                .bind(t.mute_end_ms)
                .bind(opt_bool(t.marked_as_unread))
                .bind(t.ephemeral_expiration)
                .bind(t.ephemeral_setting_timestamp)
                .execute(&mut *tx)
                .await
                .map_err(write_err(what))?;
        }
        tx.commit().await.map_err(write_err(what))
    }

    async fn get_thread(&self, sid: &str, jid: &str) -> StoreResult<Option<StoredThread>> {
        let row = sqlx::query(&self.sql.thr_get)
            .bind(sid)
            .bind(jid)
            .fetch_optional(self.reader().await?)
            .await
            .map_err(read_err("load a thread"))?;
        row.as_ref().map(thread).transpose()
    }

    async fn list_threads(&self, sid: &str, limit: u32) -> StoreResult<Vec<StoredThread>> {
        let rows = sqlx::query(&self.sql.thr_list)
            .bind(sid)
            .bind(i64::from(limit))
            .fetch_all(self.reader().await?)
            .await
            .map_err(read_err("list threads"))?;
        rows.iter().map(thread).collect()
    }

    async fn delete_thread(&self, sid: &str, jid: &str) -> StoreResult<u32> {
        let done = sqlx::query(&self.sql.thr_delete)
            .bind(sid)
            .bind(jid)
            .execute(self.writer().await?)
            .await
            .map_err(write_err("delete a thread"))?;
        Ok(count(done.rows_affected()))
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        sqlx::query(&self.sql.thr_clear)
            .bind(sid)
            .execute(self.writer().await?)
            .await
            .map_err(write_err("clear threads"))?;
        Ok(())
    }
}

#[async_trait]
impl ContactStore for SqliteBackend {
    async fn upsert_contacts(&self, sid: &str, records: Vec<StoredContact>) -> StoreResult<()> {
        let what = "save contacts";
        let mut tx = self.begin(what).await?;
        for c in &records {
            sqlx::query(&self.sql.con_upsert)
                .bind(sid)
                .bind(c.jid.as_str())
                .bind(c.display_name.as_deref())
                .bind(c.push_name.as_deref())
                .bind(c.lid.as_deref())
                .bind(c.phone_number.as_deref())
                .bind(c.username.as_deref())
                .bind(c.last_updated_ms)
                .execute(&mut *tx)
                .await
                .map_err(write_err(what))?;
        }
        tx.commit().await.map_err(write_err(what))
    }

    async fn get_contact(&self, sid: &str, jid: &str) -> StoreResult<Option<StoredContact>> {
        let row = sqlx::query(&self.sql.con_get)
            .bind(sid)
            .bind(jid)
            .fetch_optional(self.reader().await?)
            .await
            .map_err(read_err("load a contact"))?;
        row.as_ref().map(contact).transpose()
    }

    async fn get_contact_by_phone_number(&self, sid: &str, phone_number: &str) -> StoreResult<Option<StoredContact>> {
        let row = sqlx::query(&self.sql.con_get_by_phone)
            .bind(sid)
            .bind(phone_number)
            .fetch_optional(self.reader().await?)
            .await
            .map_err(read_err("look up a contact by phone number"))?;
        row.as_ref().map(contact).transpose()
    }

    async fn delete_contact(&self, sid: &str, jid: &str) -> StoreResult<u32> {
        let done = sqlx::query(&self.sql.con_delete)
            .bind(sid)
            .bind(jid)
            .execute(self.writer().await?)
            .await
            .map_err(write_err("delete a contact"))?;
        Ok(count(done.rows_affected()))
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        sqlx::query(&self.sql.con_clear)
            .bind(sid)
            .execute(self.writer().await?)
            .await
            .map_err(write_err("clear contacts"))?;
        Ok(())
    }
}

#[async_trait]
impl PrivacyTokenStore for SqliteBackend {
    async fn upsert_privacy_tokens(&self, sid: &str, records: Vec<PrivacyToken>) -> StoreResult<()> {
        let what = "save privacy tokens";
        let mut tx = self.begin(what).await?;
        for t in &records {
            sqlx::query(&self.sql.pt_upsert)
                .bind(sid)
                .bind(t.jid.as_str())
                .bind(t.tc_token.as_deref())
                .bind(t.tc_token_timestamp)
                .bind(t.tc_token_sender_timestamp)
                .bind(t.nct_salt.as_deref())
                .bind(t.updated_at_ms)
                .execute(&mut *tx)
                .await
                .map_err(write_err(what))?;
        }
        tx.commit().await.map_err(write_err(what))
    }

    async fn get_privacy_token(&self, sid: &str, jid: &str) -> StoreResult<Option<PrivacyToken>> {
        let row = sqlx::query(&self.sql.pt_get)
            .bind(sid)
            .bind(jid)
            .fetch_optional(self.reader().await?)
            .await
            .map_err(read_err("load a privacy token"))?;
        row.as_ref().map(privacy_token).transpose()
    }

    async fn delete_privacy_token(&self, sid: &str, jid: &str) -> StoreResult<u32> {
        let done = sqlx::query(&self.sql.pt_delete)
            .bind(sid)
            .bind(jid)
            .execute(self.writer().await?)
            .await
            .map_err(write_err("delete a privacy token"))?;
        Ok(count(done.rows_affected()))
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        sqlx::query(&self.sql.pt_clear)
            .bind(sid)
            .execute(self.writer().await?)
            .await
            .map_err(write_err("clear privacy tokens"))?;
        Ok(())
    }
}
