//! The archive domains with write-behind in front of a backend: upserts are
//! queued; reads see queued writes (point reads layer them over the stored
//! record, list and lookup reads first wait for the group to be written).

use std::sync::Arc;

use async_trait::async_trait;

use super::queue::{ArchiveBackend, WriteBehind};
use super::record::{Archive, Record};
use crate::domain::contacts::{ContactStore, StoredContact};
use crate::domain::messages::{MessageStore, StoredMessage};
use crate::domain::threads::{StoredThread, ThreadStore};
use crate::error::StoreResult;

pub struct Archived {
    pub queue: Arc<WriteBehind>,
    pub backend: Arc<dyn ArchiveBackend>,
}

impl Archived {
    /// The stored record with the queued versions of it applied in order.
    fn layered(&self, sid: &str, archive: Archive, key: &str, stored: Option<Record>) -> Option<Record> {
        self.queue
            .pending(sid, archive, key)
            .into_iter()
            .fold(stored, |acc, newer| match acc {
                Some(mut r) => {
                    r.absorb(newer);
                    Some(r)
                }
                None => Some(newer),
            })
    }

    /// Writes what is queued for the group, so a delete or clear of the backend is final.
    async fn before_delete(&self, sid: &str, archive: Archive) -> StoreResult<()> {
        self.queue.settle(sid, archive).await
    }
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
        let stored = self.backend.get_thread(sid, jid).await?.map(Record::Thread);
        Ok(match self.layered(sid, Archive::Threads, jid, stored) {
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
        let stored = self.backend.get_contact(sid, jid).await?.map(Record::Contact);
        Ok(match self.layered(sid, Archive::Contacts, jid, stored) {
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
