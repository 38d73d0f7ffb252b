//! `messages`, `threads`, `contacts` and `privacyToken`: the mailbox archive.
//! Threads, contacts and tokens merge field by field in SQL
//! (`COALESCE(VALUES(x), x)`), so a partial update never erases a field;
//! duplicates within one batch are merged first with the domain's own rule.

use async_trait::async_trait;
use sqlx::mysql::MySqlRow;

use super::rows::{bool_col, col, count, dedupe_last, dedupe_merge, opt_bool, opt_bool_col, opt_text, text, Query};
use super::{read_err, write_err, MysqlBackend};
use crate::domain::contacts::{ContactStore, StoredContact};
use crate::backend::message_ranges::bind_range;
use crate::domain::messages::{page_by_ranges, page_ranges, MessageStore, PageRange, PageStart, StoredMessage};
use crate::domain::privacy_token::{PrivacyToken, PrivacyTokenStore};
use crate::domain::threads::{StoredThread, ThreadStore};
use crate::domain::StoreResult;

pub(super) fn message(row: &MySqlRow) -> StoreResult<StoredMessage> {
    Ok(StoredMessage {
        id: text(row, "message_id")?,
        thread_jid: text(row, "thread_jid")?,
        sender_jid: opt_text(row, "sender_jid")?,
        participant_jid: opt_text(row, "participant_jid")?,
        from_me: bool_col(row, "from_me")?,
        timestamp_ms: col(row, "timestamp_ms")?,
        message_bytes: col(row, "message_bytes")?,
    })
}

impl MysqlBackend {
    async fn message_range(
        &self,
        sid: &str,
        thread_jid: &str,
        range: PageRange<'_>,
        limit: u32,
    ) -> StoreResult<Vec<StoredMessage>> {
        let (sql, binds) = self.sql.msg_page.of(range);
        let query = bind_range(sqlx::query(sql).bind(sid).bind(thread_jid), binds).bind(i64::from(limit));
        let rows = query.fetch_all(self.db(sid).await?).await.map_err(read_err("list a page of messages"))?;
        rows.iter().map(message).collect()
    }
}

pub(super) fn thread(row: &MySqlRow) -> StoreResult<StoredThread> {
    Ok(StoredThread {
        jid: text(row, "jid")?,
        name: opt_text(row, "name")?,
        unread_count: col(row, "unread_count")?,
        archived: opt_bool_col(row, "archived")?,
        pinned: col(row, "pinned")?,
        mute_end_ms: col(row, "mute_end_ms")?,
        marked_as_unread: opt_bool_col(row, "marked_as_unread")?,
        ephemeral_expiration: col(row, "ephemeral_expiration")?,
        ephemeral_setting_timestamp: col(row, "ephemeral_setting_timestamp")?,
    })
}

pub(super) fn contact(row: &MySqlRow) -> StoreResult<StoredContact> {
    Ok(StoredContact {
        jid: text(row, "jid")?,
        display_name: opt_text(row, "display_name")?,
        push_name: opt_text(row, "push_name")?,
        lid: opt_text(row, "lid")?,
        phone_number: opt_text(row, "phone_number")?,
        username: opt_text(row, "username")?,
        last_updated_ms: col(row, "last_updated_ms")?,
    })
}

pub(super) fn privacy_token(row: &MySqlRow) -> StoreResult<PrivacyToken> {
    Ok(PrivacyToken {
        jid: text(row, "jid")?,
        tc_token: col(row, "tc_token")?,
        tc_token_timestamp: col(row, "tc_token_timestamp")?,
        tc_token_sender_timestamp: col(row, "tc_token_sender_timestamp")?,
        nct_salt: col(row, "nct_salt")?,
        updated_at_ms: col(row, "updated_at_ms")?,
    })
}

fn opt_len(s: &Option<String>) -> usize {
    s.as_ref().map_or(0, String::len)
}

fn message_size(m: &StoredMessage) -> usize {
    2 * (m.id.len() + m.thread_jid.len())
        + opt_len(&m.sender_jid)
        + opt_len(&m.participant_jid)
        + m.message_bytes.as_ref().map_or(0, Vec::len)
}

fn bind_message<'q>(query: Query<'q>, sid: &'q str, m: &'q StoredMessage) -> Query<'q> {
    query
        .bind(sid)
        .bind(m.id.as_str())
        .bind(m.id.as_str())
        .bind(m.thread_jid.as_str())
        .bind(m.thread_jid.as_str())
        .bind(m.sender_jid.as_deref())
        .bind(m.participant_jid.as_deref())
        .bind(i64::from(m.from_me))
        .bind(m.timestamp_ms)
        .bind(m.message_bytes.as_deref())
}

fn thread_size(t: &StoredThread) -> usize {
    2 * t.jid.len() + opt_len(&t.name)
}

fn bind_thread<'q>(query: Query<'q>, sid: &'q str, t: &'q StoredThread) -> Query<'q> {
    query
        .bind(sid)
        .bind(t.jid.as_str())
        .bind(t.jid.as_str())
        .bind(t.name.as_deref())
        .bind(t.unread_count)
        .bind(opt_bool(t.archived))
        .bind(t.pinned)
        .bind(t.mute_end_ms)
        .bind(opt_bool(t.marked_as_unread))
        .bind(t.ephemeral_expiration)
        .bind(t.ephemeral_setting_timestamp)
}

fn contact_size(c: &StoredContact) -> usize {
    2 * (c.jid.len() + opt_len(&c.phone_number))
        + opt_len(&c.display_name)
        + opt_len(&c.push_name)
        + opt_len(&c.lid)
        + opt_len(&c.username)
}

fn bind_contact<'q>(query: Query<'q>, sid: &'q str, c: &'q StoredContact) -> Query<'q> {
    query
        .bind(sid)
        .bind(c.jid.as_str())
        .bind(c.jid.as_str())
        .bind(c.display_name.as_deref())
        .bind(c.push_name.as_deref())
        .bind(c.lid.as_deref())
        .bind(c.phone_number.as_deref())
        .bind(c.phone_number.as_deref())
        .bind(c.username.as_deref())
        .bind(c.last_updated_ms)
}

fn token_size(t: &PrivacyToken) -> usize {
    2 * t.jid.len() + t.tc_token.as_ref().map_or(0, Vec::len) + t.nct_salt.as_ref().map_or(0, Vec::len)
}

fn bind_token<'q>(query: Query<'q>, sid: &'q str, t: &'q PrivacyToken) -> Query<'q> {
    query
        .bind(sid)
        .bind(t.jid.as_str())
        .bind(t.jid.as_str())
        .bind(t.tc_token.as_deref())
        .bind(t.tc_token_timestamp)
        .bind(t.tc_token_sender_timestamp)
        .bind(t.nct_salt.as_deref())
        .bind(t.updated_at_ms)
}

#[async_trait]
impl MessageStore for MysqlBackend {
    async fn upsert_messages(&self, sid: &str, records: Vec<StoredMessage>) -> StoreResult<()> {
        let what = "save messages";
        let records = dedupe_last(records, |m| m.id.clone());
        self.upsert_rows(sid, &self.sql.msg_upsert, &records, message_size, bind_message, what).await
    }

    async fn get_message(&self, sid: &str, id: &str) -> StoreResult<Option<StoredMessage>> {
        let row = sqlx::query(&self.sql.msg_get)
            .bind(sid)
            .bind(id)
            .fetch_optional(self.db(sid).await?)
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
            query.bind(i64::from(limit)).fetch_all(self.db(sid).await?).await.map_err(read_err("list messages"))?;
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
        let mut tx = self.tx(sid, what).await?;
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
            .execute(self.db(sid).await?)
            .await
            .map_err(write_err("delete a message"))?;
        Ok(count(done.rows_affected()))
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        sqlx::query(&self.sql.msg_clear)
            .bind(sid)
            .execute(self.db(sid).await?)
            .await
            .map_err(write_err("clear messages"))?;
        Ok(())
    }
}

#[async_trait]
impl ThreadStore for MysqlBackend {
    async fn upsert_threads(&self, sid: &str, records: Vec<StoredThread>) -> StoreResult<()> {
        let what = "save threads";
        let records = dedupe_merge(records, |t| t.jid.clone(), StoredThread::merge_from);
        self.upsert_rows(sid, &self.sql.thr_upsert, &records, thread_size, bind_thread, what).await
    }

    async fn get_thread(&self, sid: &str, jid: &str) -> StoreResult<Option<StoredThread>> {
        let row = sqlx::query(&self.sql.thr_get)
            .bind(sid)
            .bind(jid)
            .fetch_optional(self.db(sid).await?)
            .await
            .map_err(read_err("load a thread"))?;
        row.as_ref().map(thread).transpose()
    }

    async fn list_threads(&self, sid: &str, limit: u32) -> StoreResult<Vec<StoredThread>> {
        let rows = sqlx::query(&self.sql.thr_list)
            .bind(sid)
            .bind(i64::from(limit))
            .fetch_all(self.db(sid).await?)
            .await
            .map_err(read_err("list threads"))?;
        rows.iter().map(thread).collect()
    }

    async fn delete_thread(&self, sid: &str, jid: &str) -> StoreResult<u32> {
        let done = sqlx::query(&self.sql.thr_delete)
            .bind(sid)
            .bind(jid)
            .execute(self.db(sid).await?)
            .await
            .map_err(write_err("delete a thread"))?;
        Ok(count(done.rows_affected()))
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        sqlx::query(&self.sql.thr_clear)
            .bind(sid)
            .execute(self.db(sid).await?)
            .await
            .map_err(write_err("clear threads"))?;
        Ok(())
    }
}

#[async_trait]
impl ContactStore for MysqlBackend {
    async fn upsert_contacts(&self, sid: &str, records: Vec<StoredContact>) -> StoreResult<()> {
        let what = "save contacts";
        let records = dedupe_merge(records, |c| c.jid.clone(), StoredContact::merge_from);
        self.upsert_rows(sid, &self.sql.con_upsert, &records, contact_size, bind_contact, what).await
    }

    async fn get_contact(&self, sid: &str, jid: &str) -> StoreResult<Option<StoredContact>> {
        let row = sqlx::query(&self.sql.con_get)
            .bind(sid)
            .bind(jid)
            .fetch_optional(self.db(sid).await?)
            .await
            .map_err(read_err("load a contact"))?;
        row.as_ref().map(contact).transpose()
    }

    async fn get_contact_by_phone_number(&self, sid: &str, phone_number: &str) -> StoreResult<Option<StoredContact>> {
        let row = sqlx::query(&self.sql.con_get_by_phone)
            .bind(sid)
            .bind(phone_number)
            .fetch_optional(self.db(sid).await?)
            .await
            .map_err(read_err("look up a contact by phone number"))?;
        row.as_ref().map(contact).transpose()
    }

    async fn delete_contact(&self, sid: &str, jid: &str) -> StoreResult<u32> {
        let done = sqlx::query(&self.sql.con_delete)
            .bind(sid)
            .bind(jid)
            .execute(self.db(sid).await?)
            .await
            .map_err(write_err("delete a contact"))?;
        Ok(count(done.rows_affected()))
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        sqlx::query(&self.sql.con_clear)
            .bind(sid)
            .execute(self.db(sid).await?)
            .await
            .map_err(write_err("clear contacts"))?;
        Ok(())
    }
}

#[async_trait]
impl PrivacyTokenStore for MysqlBackend {
    async fn upsert_privacy_tokens(&self, sid: &str, records: Vec<PrivacyToken>) -> StoreResult<()> {
        let what = "save privacy tokens";
        let records = dedupe_merge(records, |t| t.jid.clone(), PrivacyToken::merge_from);
        self.upsert_rows(sid, &self.sql.pt_upsert, &records, token_size, bind_token, what).await
    }

    async fn get_privacy_token(&self, sid: &str, jid: &str) -> StoreResult<Option<PrivacyToken>> {
        let row = sqlx::query(&self.sql.pt_get)
            .bind(sid)
            .bind(jid)
            .fetch_optional(self.db(sid).await?)
            .await
            .map_err(read_err("load a privacy token"))?;
        row.as_ref().map(privacy_token).transpose()
    }

    async fn delete_privacy_token(&self, sid: &str, jid: &str) -> StoreResult<u32> {
        let done = sqlx::query(&self.sql.pt_delete)
            .bind(sid)
            .bind(jid)
            .execute(self.db(sid).await?)
            .await
            .map_err(write_err("delete a privacy token"))?;
        Ok(count(done.rows_affected()))
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        sqlx::query(&self.sql.pt_clear)
            .bind(sid)
            .execute(self.db(sid).await?)
            .await
            .map_err(write_err("clear privacy tokens"))?;
        Ok(())
    }
}
