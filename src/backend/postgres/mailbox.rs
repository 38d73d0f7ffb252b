//! `messages`, `threads`, `contacts` and `privacyToken`: the mailbox archive.
//! Threads, contacts and tokens merge field by field in SQL
//! (`COALESCE(EXCLUDED.x, t.x)`), so a partial update never erases a field;
//! duplicates inside one batch are merged in order first, so one statement
//! never touches a row twice.

use async_trait::async_trait;
use sqlx::postgres::PgRow;

use super::rows::{col, count, dedupe_last, dedupe_with};
use super::{check, check_opt, read_err, write_err, PostgresBackend};
use crate::domain::contacts::{ContactStore, StoredContact};
use crate::backend::message_ranges::bind_range;
use crate::domain::messages::{page_by_ranges, page_ranges, MessageStore, PageRange, PageStart, StoredMessage};
use crate::domain::privacy_token::{PrivacyToken, PrivacyTokenStore};
use crate::domain::threads::{StoredThread, ThreadStore};
use crate::domain::StoreResult;

pub(super) fn message(row: &PgRow) -> StoreResult<StoredMessage> {
    Ok(StoredMessage {
        id: col(row, "message_id")?,
        thread_jid: col(row, "thread_jid")?,
        sender_jid: col(row, "sender_jid")?,
        participant_jid: col(row, "participant_jid")?,
        from_me: col(row, "from_me")?,
        timestamp_ms: col(row, "timestamp_ms")?,
        message_bytes: col(row, "message_bytes")?,
    })
}

/// Text a page start carries must fit PostgreSQL text (no NUL).
fn check_start(thread_jid: &str, start: &PageStart) -> StoreResult<()> {
    check("threadJid", thread_jid)?;
    match start {
        PageStart::After { id, .. } => check("cursor", id),
        _ => Ok(()),
    }
}

impl PostgresBackend {
    async fn message_range(
        &self,
        sid: &str,
        thread_jid: &str,
        range: PageRange<'_>,
        limit: u32,
    ) -> StoreResult<Vec<StoredMessage>> {
        let (sql, binds) = self.sql.msg_page.of(range);
        let query = bind_range(sqlx::query(sql).bind(sid).bind(thread_jid), binds).bind(i64::from(limit));
        let rows = query.fetch_all(self.pool().await?).await.map_err(read_err("list a page of messages"))?;
        rows.iter().map(message).collect()
    }
}

pub(super) fn thread(row: &PgRow) -> StoreResult<StoredThread> {
    Ok(StoredThread {
        jid: col(row, "jid")?,
        name: col(row, "name")?,
        unread_count: col(row, "unread_count")?,
        archived: col(row, "archived")?,
        pinned: col(row, "pinned")?,
        mute_end_ms: col(row, "mute_end_ms")?,
        marked_as_unread: col(row, "marked_as_unread")?,
        ephemeral_expiration: col(row, "ephemeral_expiration")?,
        ephemeral_setting_timestamp: col(row, "ephemeral_setting_timestamp")?,
    })
}

pub(super) fn contact(row: &PgRow) -> StoreResult<StoredContact> {
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

pub(super) fn privacy_token(row: &PgRow) -> StoreResult<PrivacyToken> {
    Ok(PrivacyToken {
        jid: col(row, "jid")?,
        tc_token: col(row, "tc_token")?,
        tc_token_timestamp: col(row, "tc_token_timestamp")?,
        tc_token_sender_timestamp: col(row, "tc_token_sender_timestamp")?,
        nct_salt: col(row, "nct_salt")?,
        updated_at_ms: col(row, "updated_at_ms")?,
    })
}

impl PostgresBackend {
    /// `DELETE … WHERE session_id = $1 AND key = $2`, returning the count.
    pub(super) async fn delete_one(
        &self,
        sql: &str,
        sid: &str,
        field: &'static str,
        key: &str,
        what: &'static str,
    ) -> StoreResult<u32> {
        check("sessionId", sid)?;
        check(field, key)?;
        let done = sqlx::query(sql).bind(sid).bind(key).execute(self.pool().await?).await.map_err(write_err(what))?;
        Ok(count(done.rows_affected()))
    }

    /// `SELECT … WHERE session_id = $1 AND key = $2`.
    pub(super) async fn get_one(
        &self,
        sql: &str,
        sid: &str,
        field: &'static str,
        key: &str,
        what: &'static str,
    ) -> StoreResult<Option<PgRow>> {
        check("sessionId", sid)?;
        check(field, key)?;
        sqlx::query(sql).bind(sid).bind(key).fetch_optional(self.pool().await?).await.map_err(read_err(what))
    }
}

#[async_trait]
impl MessageStore for PostgresBackend {
    async fn upsert_messages(&self, sid: &str, records: Vec<StoredMessage>) -> StoreResult<()> {
        check("sessionId", sid)?;
        for m in &records {
            check("message.id", &m.id)?;
            check("message.threadJid", &m.thread_jid)?;
            check_opt("message.senderJid", m.sender_jid.as_deref())?;
            check_opt("message.participantJid", m.participant_jid.as_deref())?;
        }
        if records.is_empty() {
            return Ok(());
        }
        // Key order: concurrent batches lock rows in one order, never deadlock.
        let mut records = dedupe_last(records, |m| m.id.clone());
        records.sort_by(|a, b| a.id.cmp(&b.id));
        let ids: Vec<&str> = records.iter().map(|m| m.id.as_str()).collect();
        let threads: Vec<&str> = records.iter().map(|m| m.thread_jid.as_str()).collect();
        let senders: Vec<Option<&str>> = records.iter().map(|m| m.sender_jid.as_deref()).collect();
        let participants: Vec<Option<&str>> = records.iter().map(|m| m.participant_jid.as_deref()).collect();
        let from_me: Vec<bool> = records.iter().map(|m| m.from_me).collect();
        let timestamps: Vec<Option<i64>> = records.iter().map(|m| m.timestamp_ms).collect();
        let bytes: Vec<Option<&[u8]>> = records.iter().map(|m| m.message_bytes.as_deref()).collect();
        sqlx::query(&self.sql.msg_upsert)
            .bind(sid)
            .bind(ids)
            .bind(threads)
            .bind(senders)
            .bind(participants)
            .bind(from_me)
            .bind(timestamps)
            .bind(bytes)
            .execute(self.pool().await?)
            .await
            .map_err(write_err("save messages"))?;
        Ok(())
    }

    async fn get_message(&self, sid: &str, id: &str) -> StoreResult<Option<StoredMessage>> {
        let row = self.get_one(&self.sql.msg_get, sid, "id", id, "load a message").await?;
        row.as_ref().map(message).transpose()
    }

    async fn list_messages_by_thread(
        &self,
        sid: &str,
        thread_jid: &str,
        limit: u32,
        before_timestamp_ms: Option<i64>,
    ) -> StoreResult<Vec<StoredMessage>> {
        check("sessionId", sid)?;
        check("threadJid", thread_jid)?;
        let query = match before_timestamp_ms {
            Some(before) => sqlx::query(&self.sql.msg_list_before).bind(sid).bind(thread_jid).bind(before),
            None => sqlx::query(&self.sql.msg_list).bind(sid).bind(thread_jid),
        };
        let rows =
            query.bind(i64::from(limit)).fetch_all(self.pool().await?).await.map_err(read_err("list messages"))?;
        rows.iter().map(message).collect()
    }

    async fn list_messages_page(
        &self,
        sid: &str,
        thread_jid: &str,
        limit: u32,
        start: &PageStart,
    ) -> StoreResult<Vec<StoredMessage>> {
        check("sessionId", sid)?;
        check_start(thread_jid, start)?;
        page_by_ranges(start, limit, |range, n| self.message_range(sid, thread_jid, range, n)).await
    }

    async fn delete_thread_messages(&self, sid: &str, thread_jid: &str, start: &PageStart) -> StoreResult<u32> {
        check("sessionId", sid)?;
        check_start(thread_jid, start)?;
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
        self.delete_one(&self.sql.msg_delete, sid, "id", id, "delete a message").await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.exec_sid_all(&[&self.sql.msg_clear], sid, "clear messages").await.map(drop)
    }
}

#[async_trait]
impl ThreadStore for PostgresBackend {
    async fn upsert_threads(&self, sid: &str, records: Vec<StoredThread>) -> StoreResult<()> {
        check("sessionId", sid)?;
        for t in &records {
            check("thread.jid", &t.jid)?;
            check_opt("thread.name", t.name.as_deref())?;
        }
        if records.is_empty() {
            return Ok(());
        }
        let mut records = dedupe_with(records, |t| t.jid.clone(), StoredThread::merge_from);
        records.sort_by(|a, b| a.jid.cmp(&b.jid));
        let jids: Vec<&str> = records.iter().map(|t| t.jid.as_str()).collect();
        let names: Vec<Option<&str>> = records.iter().map(|t| t.name.as_deref()).collect();
        sqlx::query(&self.sql.thr_upsert)
            .bind(sid)
            .bind(jids)
            .bind(names)
            .bind(records.iter().map(|t| t.unread_count).collect::<Vec<_>>())
            .bind(records.iter().map(|t| t.archived).collect::<Vec<_>>())
            .bind(records.iter().map(|t| t.pinned).collect::<Vec<_>>())
            .bind(records.iter().map(|t| t.mute_end_ms).collect::<Vec<_>>())
            .bind(records.iter().map(|t| t.marked_as_unread).collect::<Vec<_>>())
            .bind(records.iter().map(|t| t.ephemeral_expiration).collect::<Vec<_>>())
            .bind(records.iter().map(|t| t.ephemeral_setting_timestamp).collect::<Vec<_>>())
            .execute(self.pool().await?)
            .await
            .map_err(write_err("save threads"))?;
        Ok(())
    }

    async fn get_thread(&self, sid: &str, jid: &str) -> StoreResult<Option<StoredThread>> {
        let row = self.get_one(&self.sql.thr_get, sid, "jid", jid, "load a thread").await?;
        row.as_ref().map(thread).transpose()
    }

    async fn list_threads(&self, sid: &str, limit: u32) -> StoreResult<Vec<StoredThread>> {
        check("sessionId", sid)?;
        let rows = sqlx::query(&self.sql.thr_list)
            .bind(sid)
            .bind(i64::from(limit))
            .fetch_all(self.pool().await?)
            .await
            .map_err(read_err("list threads"))?;
        rows.iter().map(thread).collect()
    }

    async fn delete_thread(&self, sid: &str, jid: &str) -> StoreResult<u32> {
        self.delete_one(&self.sql.thr_delete, sid, "jid", jid, "delete a thread").await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.exec_sid_all(&[&self.sql.thr_clear], sid, "clear threads").await.map(drop)
    }
}

#[async_trait]
impl ContactStore for PostgresBackend {
    async fn upsert_contacts(&self, sid: &str, records: Vec<StoredContact>) -> StoreResult<()> {
        check("sessionId", sid)?;
        for c in &records {
            check("contact.jid", &c.jid)?;
            check_opt("contact.displayName", c.display_name.as_deref())?;
            check_opt("contact.pushName", c.push_name.as_deref())?;
            check_opt("contact.lid", c.lid.as_deref())?;
            check_opt("contact.phoneNumber", c.phone_number.as_deref())?;
            check_opt("contact.username", c.username.as_deref())?;
        }
        if records.is_empty() {
            return Ok(());
        }
        let records = dedupe_with(records, |c| c.jid.clone(), StoredContact::merge_from);
        let opt = |f: fn(&StoredContact) -> Option<&str>| records.iter().map(f).collect::<Vec<_>>();
        sqlx::query(&self.sql.con_upsert)
            .bind(sid)
            .bind(records.iter().map(|c| c.jid.as_str()).collect::<Vec<_>>())
            .bind(opt(|c| c.display_name.as_deref()))
            .bind(opt(|c| c.push_name.as_deref()))
            .bind(opt(|c| c.lid.as_deref()))
            .bind(opt(|c| c.phone_number.as_deref()))
            .bind(opt(|c| c.username.as_deref()))
            .bind(records.iter().map(|c| c.last_updated_ms).collect::<Vec<_>>())
            .execute(self.pool().await?)
            .await
            .map_err(write_err("save contacts"))?;
        Ok(())
    }

    async fn get_contact(&self, sid: &str, jid: &str) -> StoreResult<Option<StoredContact>> {
        let row = self.get_one(&self.sql.con_get, sid, "jid", jid, "load a contact").await?;
        row.as_ref().map(contact).transpose()
    }

    async fn get_contact_by_phone_number(&self, sid: &str, phone_number: &str) -> StoreResult<Option<StoredContact>> {
        let what = "look up a contact by phone number";
        let row = self.get_one(&self.sql.con_get_by_phone, sid, "phoneNumber", phone_number, what).await?;
        row.as_ref().map(contact).transpose()
    }

    async fn delete_contact(&self, sid: &str, jid: &str) -> StoreResult<u32> {
        self.delete_one(&self.sql.con_delete, sid, "jid", jid, "delete a contact").await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.exec_sid_all(&[&self.sql.con_clear], sid, "clear contacts").await.map(drop)
    }
}

#[async_trait]
impl PrivacyTokenStore for PostgresBackend {
    async fn upsert_privacy_tokens(&self, sid: &str, records: Vec<PrivacyToken>) -> StoreResult<()> {
        check("sessionId", sid)?;
        for t in &records {
            check("privacyToken.jid", &t.jid)?;
        }
        if records.is_empty() {
            return Ok(());
        }
        let mut records = dedupe_with(records, |t| t.jid.clone(), PrivacyToken::merge_from);
        records.sort_by(|a, b| a.jid.cmp(&b.jid));
        sqlx::query(&self.sql.pt_upsert)
            .bind(sid)
            .bind(records.iter().map(|t| t.jid.as_str()).collect::<Vec<_>>())
            .bind(records.iter().map(|t| t.tc_token.as_deref()).collect::<Vec<_>>())
            .bind(records.iter().map(|t| t.tc_token_timestamp).collect::<Vec<_>>())
            .bind(records.iter().map(|t| t.tc_token_sender_timestamp).collect::<Vec<_>>())
            .bind(records.iter().map(|t| t.nct_salt.as_deref()).collect::<Vec<_>>())
            .bind(records.iter().map(|t| t.updated_at_ms).collect::<Vec<_>>())
            .execute(self.pool().await?)
            .await
            .map_err(write_err("save privacy tokens"))?;
        Ok(())
    }

    async fn get_privacy_token(&self, sid: &str, jid: &str) -> StoreResult<Option<PrivacyToken>> {
        let row = self.get_one(&self.sql.pt_get, sid, "jid", jid, "load a privacy token").await?;
        row.as_ref().map(privacy_token).transpose()
    }

    async fn delete_privacy_token(&self, sid: &str, jid: &str) -> StoreResult<u32> {
        self.delete_one(&self.sql.pt_delete, sid, "jid", jid, "delete a privacy token").await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.exec_sid_all(&[&self.sql.pt_clear], sid, "clear privacy tokens").await.map(drop)
    }
}
