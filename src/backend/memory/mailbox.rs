//! `privacyToken`, `messages`, `threads` and `contacts`: per-jid records.
//! Privacy tokens, threads and contacts merge field by field through the
//! records' `merge_from`; messages are replaced whole.

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;

use async_trait::async_trait;

use super::bounded::BoundedMap;
use super::{MemoryBackend, SessionState};
use crate::config::MemoryLimits;
use crate::domain::contacts::{ContactStore, StoredContact};
use crate::domain::messages::{MessageStore, PageStart, StoredMessage};
use crate::domain::privacy_token::{PrivacyToken, PrivacyTokenStore};
use crate::domain::threads::{StoredThread, ThreadStore};
use crate::domain::StoreResult;

pub(super) struct PrivacyTokenData {
    pub(super) tokens: BoundedMap<String, PrivacyToken>,
}

impl SessionState for PrivacyTokenData {
    fn new(limits: &MemoryLimits) -> Self {
        Self { tokens: BoundedMap::new(limits.privacy_tokens) }
    }
}

pub(super) struct MessageData {
    pub(super) messages: BoundedMap<String, StoredMessage>,
    /// thread jid → `(timestamp, id)` of its messages, in walk order reversed
    /// (`None` sorts first, so it comes last walking backwards): listing or
    /// paging a thread is a range walk, not a scan and sort.
    by_thread: HashMap<String, BTreeSet<(Option<i64>, String)>>,
}

impl SessionState for MessageData {
    fn new(limits: &MemoryLimits) -> Self {
        Self { messages: BoundedMap::new(limits.messages), by_thread: HashMap::new() }
    }
}

impl MessageData {
    fn unindex(&mut self, old: &StoredMessage) {
        if let Some(ids) = self.by_thread.get_mut(&old.thread_jid) {
            ids.remove(&(old.timestamp_ms, old.id.clone()));
            if ids.is_empty() {
                self.by_thread.remove(&old.thread_jid);
            }
        }
    }

    fn upsert(&mut self, record: StoredMessage) {
        // A message may move thread or time: drop its old index entry first.
        if let Some(old) = self.messages.remove(&record.id) {
            self.unindex(&old);
        }
        self.by_thread.entry(record.thread_jid.clone()).or_default().insert((record.timestamp_ms, record.id.clone()));
        for (_, evicted) in self.messages.insert(record.id.clone(), record) {
            self.unindex(&evicted);
        }
    }

    fn delete(&mut self, id: &str) -> u32 {
        match self.messages.remove(id) {
            Some(old) => {
                self.unindex(&old);
                1
            }
            None => 0,
        }
    }

    /// The thread's index entries after `start`, in walk order.
    fn walk<'a>(
        &'a self,
        thread_jid: &str,
        start: &PageStart,
    ) -> Box<dyn Iterator<Item = &'a (Option<i64>, String)> + 'a> {
        let Some(ids) = self.by_thread.get(thread_jid) else { return Box::new(std::iter::empty()) };
        // Entries below the start in index order are after it in walk order; ids
        // are never empty, so `(Some(ts), "")` sits below every entry of `ts`.
        let upper = match start {
            PageStart::Newest => Bound::Unbounded,
            PageStart::Before(ts) => Bound::Excluded((Some(*ts), String::new())),
            PageStart::After { timestamp_ms, id } => Bound::Excluded((*timestamp_ms, id.clone())),
        };
        Box::new(ids.range((Bound::Unbounded, upper)).rev())
    }
}

pub(super) struct ThreadData {
    pub(super) threads: BoundedMap<String, StoredThread>,
}

impl SessionState for ThreadData {
    fn new(limits: &MemoryLimits) -> Self {
        Self { threads: BoundedMap::new(limits.threads) }
    }
}

pub(super) struct ContactData {
    pub(super) contacts: BoundedMap<String, StoredContact>,
    /// phone number → jid of the contact that holds it (rows are LID-canonical).
    by_phone: HashMap<String, String>,
}

impl SessionState for ContactData {
    fn new(limits: &MemoryLimits) -> Self {
        Self { contacts: BoundedMap::new(limits.contacts), by_phone: HashMap::new() }
    }
}

impl ContactData {
    /// Drops `phone → jid` only if it still points at `jid`: another contact
    /// may have claimed the number since.
    fn unindex_phone(&mut self, phone: Option<&str>, jid: &str) {
        if let Some(phone) = phone {
            if self.by_phone.get(phone).is_some_and(|owner| owner == jid) {
                self.by_phone.remove(phone);
            }
        }
    }

    fn upsert(&mut self, incoming: StoredContact) {
        let (merged, old_phone) = match self.contacts.remove(&incoming.jid) {
            Some(mut existing) => {
                let old_phone = existing.phone_number.clone();
                existing.merge_from(incoming);
                (existing, old_phone)
            }
            None => (incoming, None),
        };
        if old_phone.is_some() && old_phone != merged.phone_number {
            self.unindex_phone(old_phone.as_deref(), &merged.jid);
        }
        if let Some(phone) = &merged.phone_number {
            self.by_phone.insert(phone.clone(), merged.jid.clone());
        }
        for (jid, evicted) in self.contacts.insert(merged.jid.clone(), merged) {
            self.unindex_phone(evicted.phone_number.as_deref(), &jid);
        }
    }

    fn delete(&mut self, jid: &str) -> u32 {
        match self.contacts.remove(jid) {
            Some(old) => {
                self.unindex_phone(old.phone_number.as_deref(), jid);
                1
            }
            None => 0,
        }
    }
}

#[async_trait]
impl PrivacyTokenStore for MemoryBackend {
    async fn upsert_privacy_tokens(&self, sid: &str, records: Vec<PrivacyToken>) -> StoreResult<()> {
        self.privacy_token.write(&self.limits, sid, |s| {
            for record in records {
                let merged = match s.tokens.remove(&record.jid) {
                    Some(mut existing) => {
                        existing.merge_from(record);
                        existing
                    }
                    None => record,
                };
                s.tokens.insert(merged.jid.clone(), merged);
            }
        });
        Ok(())
    }

    async fn get_privacy_token(&self, sid: &str, jid: &str) -> StoreResult<Option<PrivacyToken>> {
        Ok(self.privacy_token.read(sid, |s| s.and_then(|s| s.tokens.get(jid).cloned())))
    }

    async fn delete_privacy_token(&self, sid: &str, jid: &str) -> StoreResult<u32> {
        Ok(self.privacy_token.read(sid, |s| s.map_or(0, |s| u32::from(s.tokens.remove(jid).is_some()))))
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.privacy_token.drop_session(sid);
        Ok(())
    }
}

#[async_trait]
impl MessageStore for MemoryBackend {
    async fn upsert_messages(&self, sid: &str, records: Vec<StoredMessage>) -> StoreResult<()> {
        self.messages.write(&self.limits, sid, |s| records.into_iter().for_each(|r| s.upsert(r)));
        Ok(())
    }

    async fn get_message(&self, sid: &str, id: &str) -> StoreResult<Option<StoredMessage>> {
        Ok(self.messages.read(sid, |s| s.and_then(|s| s.messages.get(id).cloned())))
    }

    async fn list_messages_by_thread(
        &self,
        sid: &str,
        thread_jid: &str,
        limit: u32,
        before_timestamp_ms: Option<i64>,
    ) -> StoreResult<Vec<StoredMessage>> {
        // Newest first: timestamp DESC (`None` is lowest, so last), then id DESC,
        // the order SQL's `ORDER BY timestamp_ms DESC, id DESC` gives.
        let start = before_timestamp_ms.map_or(PageStart::Newest, PageStart::Before);
        Ok(self.messages.read(sid, |s| {
            let Some(s) = s else { return Vec::new() };
            s.walk(thread_jid, &start)
                .take_while(|(ts, _)| before_timestamp_ms.is_none() || ts.is_some())
                .filter_map(|(_, id)| s.messages.get(id).cloned())
                .take(limit as usize)
                .collect()
        }))
    }

    async fn list_messages_page(
        &self,
        sid: &str,
        thread_jid: &str,
        limit: u32,
        start: &PageStart,
    ) -> StoreResult<Vec<StoredMessage>> {
        Ok(self.messages.read(sid, |s| {
            let Some(s) = s else { return Vec::new() };
            s.walk(thread_jid, start).filter_map(|(_, id)| s.messages.get(id).cloned()).take(limit as usize).collect()
        }))
    }

    async fn delete_thread_messages(&self, sid: &str, thread_jid: &str, start: &PageStart) -> StoreResult<u32> {
        Ok(self.messages.read(sid, |s| {
            let Some(s) = s else { return 0 };
            let doomed: Vec<String> = s.walk(thread_jid, start).map(|(_, id)| id.clone()).collect();
            doomed.iter().map(|id| s.delete(id)).sum()
        }))
    }

    async fn delete_message(&self, sid: &str, id: &str) -> StoreResult<u32> {
        Ok(self.messages.read(sid, |s| s.map_or(0, |s| s.delete(id))))
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.messages.drop_session(sid);
        Ok(())
    }
}

#[async_trait]
impl ThreadStore for MemoryBackend {
    async fn upsert_threads(&self, sid: &str, records: Vec<StoredThread>) -> StoreResult<()> {
        self.threads.write(&self.limits, sid, |s| {
            for record in records {
                let merged = match s.threads.remove(&record.jid) {
                    Some(mut existing) => {
                        existing.merge_from(record);
                        existing
                    }
                    None => record,
                };
                s.threads.insert(merged.jid.clone(), merged);
            }
        });
        Ok(())
    }

    async fn get_thread(&self, sid: &str, jid: &str) -> StoreResult<Option<StoredThread>> {
        Ok(self.threads.read(sid, |s| s.and_then(|s| s.threads.get(jid).cloned())))
    }

    async fn list_threads(&self, sid: &str, limit: u32) -> StoreResult<Vec<StoredThread>> {
        // Oldest write first, as zapo's memory store iterates its Map.
        Ok(self.threads.read(sid, |s| s.map_or_else(Vec::new, |s| s.threads.values().take(limit as usize).cloned().collect())))
    }

    async fn delete_thread(&self, sid: &str, jid: &str) -> StoreResult<u32> {
        Ok(self.threads.read(sid, |s| s.map_or(0, |s| u32::from(s.threads.remove(jid).is_some()))))
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.threads.drop_session(sid);
        Ok(())
    }
}

#[async_trait]
impl ContactStore for MemoryBackend {
    async fn upsert_contacts(&self, sid: &str, records: Vec<StoredContact>) -> StoreResult<()> {
        self.contacts.write(&self.limits, sid, |s| records.into_iter().for_each(|r| s.upsert(r)));
        Ok(())
    }

    async fn get_contact(&self, sid: &str, jid: &str) -> StoreResult<Option<StoredContact>> {
        Ok(self.contacts.read(sid, |s| s.and_then(|s| s.contacts.get(jid).cloned())))
    }

    async fn get_contact_by_phone_number(&self, sid: &str, phone_number: &str) -> StoreResult<Option<StoredContact>> {
        Ok(self.contacts.read(sid, |s| {
            let s = s?;
            let jid = s.by_phone.get(phone_number)?;
            s.contacts.get(jid).cloned()
        }))
    }

    async fn delete_contact(&self, sid: &str, jid: &str) -> StoreResult<u32> {
        Ok(self.contacts.read(sid, |s| s.map_or(0, |s| s.delete(jid))))
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.contacts.drop_session(sid);
        Ok(())
    }
}
