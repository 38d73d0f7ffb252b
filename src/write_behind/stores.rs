//! The archive domains with write-behind in front of a backend: upserts are
//! queued; reads see queued writes (point reads layer them over the stored
//! record, list and lookup reads first wait for the group to be written).

use std::sync::Arc;

use async_trait::async_trait;

use super::queue::{ArchiveBackend, WriteBehind};
use super::record::{Archive, Record};
use crate::domain::contacts::{ContactStore, StoredContact};
use crate::domain::messages::{MessageStore, PageStart, StoredMessage};
use crate::domain::threads::{StoredThread, ThreadStore};
use crate::error::StoreResult;

pub struct Archived {
    pub queue: Arc<WriteBehind>,
    pub backend: Arc<dyn ArchiveBackend>,
}

/// Reads racing a landing batch retry this often before they wait for the group instead.
const LAYERED_ATTEMPTS: usize = 8;

impl Archived {
    /// The stored record with the queued versions of it applied in order.
    /// The queue is looked at before the backend read: a batch landing in
    /// between is then in the stored record and its (idempotent) merge is
    /// applied twice. A second landing in between could put an older queued
    /// version over a newer stored one, so then the read is retried.
    async fn layered<F, Fut>(&self, sid: &str, archive: Archive, key: &str, read: F) -> StoreResult<Option<Record>>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = StoreResult<Option<Record>>>,
    {
        for _ in 0..LAYERED_ATTEMPTS {
            let before = self.queue.landed();
            let queued = self.queue.pending(sid, archive, key);
            let stored = read().await?;
            if self.queue.landed().saturating_sub(before) <= 1 {
                return Ok(apply(stored, queued));
            }
        }
        self.queue.settle(sid, archive).await?;
        read().await
    }

    /// Writes what is queued for the group, so a delete or clear of the backend is final.
    async fn before_delete(&self, sid: &str, archive: Archive) -> StoreResult<()> {
        self.queue.settle(sid, archive).await
    }
}

fn apply(stored: Option<Record>, queued: Vec<Record>) -> Option<Record> {
    queued.into_iter().fold(stored, |acc, newer| match acc {
        Some(mut r) => {
            r.absorb(newer);
            Some(r)
        }
        None => Some(newer),
    })
}

#[async_trait]
impl MessageStore for Archived {
    async fn upsert_messages(&self, sid: &str, records: Vec<StoredMessage>) -> StoreResult<()> {
        self.queue
            .enqueue(sid, records.into_iter().map(Record::Message).collect())
            .await
    }

    async fn get_message(&self, sid: &str, id: &str) -> StoreResult<Option<StoredMessage>> {
        // A queued message replaces the stored one whole.
        if let Some(Record::Message(m)) = self.queue.pending(sid, Archive::Messages, id).pop() {
            return Ok(Some(m));
        }
        self.backend.get_message(sid, id).await
    }

    async fn list_messages_by_thread(
        &self,
        sid: &str,
        thread_jid: &str,
        limit: u32,
        before_timestamp_ms: Option<i64>,
    ) -> StoreResult<Vec<StoredMessage>> {
        self.queue.settle(sid, Archive::Messages).await?;
        self.backend
            .list_messages_by_thread(sid, thread_jid, limit, before_timestamp_ms)
            .await
    }

    async fn list_messages_page(
        &self,
        sid: &str,
        thread_jid: &str,
        limit: u32,
        start: &PageStart,
    ) -> StoreResult<Vec<StoredMessage>> {
        self.queue.settle(sid, Archive::Messages).await?;
        self.backend.list_messages_page(sid, thread_jid, limit, start).await
    }

    async fn delete_thread_messages(&self, sid: &str, thread_jid: &str, start: &PageStart) -> StoreResult<u32> {
        self.before_delete(sid, Archive::Messages).await?;
        self.backend.delete_thread_messages(sid, thread_jid, start).await
    }

    async fn delete_message(&self, sid: &str, id: &str) -> StoreResult<u32> {
        self.before_delete(sid, Archive::Messages).await?;
        self.backend.delete_message(sid, id).await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.before_delete(sid, Archive::Messages).await?;
        MessageStore::clear(&*self.backend, sid).await
    }
}

#[async_trait]
impl ThreadStore for Archived {
    async fn upsert_threads(&self, sid: &str, records: Vec<StoredThread>) -> StoreResult<()> {
        self.queue
            .enqueue(sid, records.into_iter().map(Record::Thread).collect())
            .await
    }

    async fn get_thread(&self, sid: &str, jid: &str) -> StoreResult<Option<StoredThread>> {
        let read = || async { Ok(self.backend.get_thread(sid, jid).await?.map(Record::Thread)) };
        Ok(match self.layered(sid, Archive::Threads, jid, read).await? {
            Some(Record::Thread(t)) => Some(t),
            _ => None,
        })
    }

    async fn list_threads(&self, sid: &str, limit: u32) -> StoreResult<Vec<StoredThread>> {
        self.queue.settle(sid, Archive::Threads).await?;
        self.backend.list_threads(sid, limit).await
    }

    async fn delete_thread(&self, sid: &str, jid: &str) -> StoreResult<u32> {
        self.before_delete(sid, Archive::Threads).await?;
        self.backend.delete_thread(sid, jid).await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.before_delete(sid, Archive::Threads).await?;
        ThreadStore::clear(&*self.backend, sid).await
    }
}

#[async_trait]
impl ContactStore for Archived {
    async fn upsert_contacts(&self, sid: &str, records: Vec<StoredContact>) -> StoreResult<()> {
        self.queue
            .enqueue(sid, records.into_iter().map(Record::Contact).collect())
            .await
    }

    async fn get_contact(&self, sid: &str, jid: &str) -> StoreResult<Option<StoredContact>> {
        let read = || async { Ok(self.backend.get_contact(sid, jid).await?.map(Record::Contact)) };
        Ok(match self.layered(sid, Archive::Contacts, jid, read).await? {
            Some(Record::Contact(c)) => Some(c),
            _ => None,
        })
    }

    async fn get_contact_by_phone_number(&self, sid: &str, phone_number: &str) -> StoreResult<Option<StoredContact>> {
        self.queue.settle(sid, Archive::Contacts).await?;
        self.backend.get_contact_by_phone_number(sid, phone_number).await
    }

    async fn delete_contact(&self, sid: &str, jid: &str) -> StoreResult<u32> {
        self.before_delete(sid, Archive::Contacts).await?;
        self.backend.delete_contact(sid, jid).await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.before_delete(sid, Archive::Contacts).await?;
        ContactStore::clear(&*self.backend, sid).await
    }
}
