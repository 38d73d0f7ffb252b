//! The five cache domains: `retry`, `groupMetadata`, `chatMetadata`,
//! `deviceList` and `messageSecret`.
//!
//! Entries carry an absolute expiry. A read at or past it (`now >= expiry`)
//! misses and drops the entry, as zapo's memory caches do; `cleanup_*`
//! sweeps the rest. Expiries saturate so hostile timestamps cannot overflow.

use std::collections::HashMap;

use async_trait::async_trait;

use super::bounded::BoundedMap;
use super::{MemoryBackend, SessionState};
use crate::config::MemoryLimits;
use crate::domain::chat_metadata::{ChatMetadata, ChatMetadataStore};
use crate::domain::device_list::{DeviceList, DeviceListStore};
use crate::domain::group_metadata::{GroupMetadata, GroupMetadataStore};
use crate::domain::message_secret::{MessageSecret, MessageSecretStore};
use crate::domain::retry::{RequesterStatus, RetryOutboundMessage, RetryStore};
use crate::domain::StoreResult;

/// A cached value and the instant it stops being served.
pub(super) struct Expiring<T> {
    pub(super) value: T,
    pub(super) expires_at_ms: i64,
}

impl<T> Expiring<T> {
    fn is_expired(&self, now_ms: i64) -> bool {
        self.expires_at_ms <= now_ms
    }
}

/// Live value under `key`, dropping it when expired.
fn read_live<T: Clone>(map: &mut BoundedMap<String, Expiring<T>>, key: &str, now_ms: i64) -> Option<T> {
    let entry = map.get(key)?;
    if entry.is_expired(now_ms) {
        map.remove(key);
        return None;
    }
    Some(entry.value.clone())
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

// ---- retry ----------------------------------------------------------------

pub(super) struct InboundCounter {
    pub(super) count: u32,
    pub(super) updated_at_ms: i64,
    pub(super) expires_at_ms: i64,
}

pub(super) struct RetryData {
    pub(super) outbound: BoundedMap<String, RetryOutboundMessage>,
    /// (message id, requester jid) → counter.
    pub(super) inbound: BoundedMap<(String, String), InboundCounter>,
}

impl SessionState for RetryData {
    fn new(limits: &MemoryLimits) -> Self {
        Self {
            outbound: BoundedMap::new(limits.retry_outbound_messages),
            inbound: BoundedMap::new(limits.retry_inbound_counters),
        }
    }
}

#[async_trait]
impl RetryStore for MemoryBackend {
    async fn upsert_outbound_message(&self, sid: &str, record: RetryOutboundMessage) -> StoreResult<()> {
        self.retry.write(&self.limits, sid, |s| {
            s.outbound.insert(record.message_id.clone(), record);
        });
        Ok(())
    }

    async fn get_outbound_message(&self, sid: &str, message_id: &str) -> StoreResult<Option<RetryOutboundMessage>> {
        Ok(self.retry.read(sid, |s| s.and_then(|s| s.outbound.get(message_id).cloned())))
    }

    async fn delete_outbound_message(&self, sid: &str, message_id: &str) -> StoreResult<u32> {
        Ok(self.retry.read(sid, |s| s.map_or(0, |s| u32::from(s.outbound.remove(message_id).is_some()))))
    }

    async fn get_outbound_requester_status(
        &self,
        sid: &str,
        message_id: &str,
        requester_device_jid: &str,
    ) -> StoreResult<Option<RequesterStatus>> {
        Ok(self.retry.read(sid, |s| s?.outbound.get(message_id)?.requester_status(requester_device_jid)))
    }

    async fn update_outbound_message_state(
        &self,
        sid: &str,
        message_id: &str,
        state: &str,
        updated_at_ms: i64,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        self.retry.read(sid, |s| {
            // A rewrite in zapo, so the message moves to the back of the eviction order.
            s?.outbound.modify(message_id, |m| {
                m.state = state.to_owned();
                m.updated_at_ms = updated_at_ms;
                m.expires_at_ms = expires_at_ms;
            })
        });
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
        self.retry.read(sid, |s| {
            s?.outbound.modify(message_id, |m| m.mark_delivered(requester_device_jid, updated_at_ms, expires_at_ms))
        });
        Ok(())
    }

    /// A counter whose stored expiry is at or before this call's
    /// `updated_at_ms` has lapsed (a periodic cleanup simply had not run yet),
    /// so it restarts at 1 rather than carrying an old retry count forward.
    /// zapo's stores always add 1; the contract asks for the restart.
    async fn increment_inbound_counter(
        &self,
        sid: &str,
        message_id: &str,
        requester_jid: &str,
        updated_at_ms: i64,
        expires_at_ms: i64,
    ) -> StoreResult<u32> {
        Ok(self.retry.write(&self.limits, sid, |s| {
            let key = (message_id.to_owned(), requester_jid.to_owned());
            let count = match s.inbound.get(&key) {
                Some(c) if c.expires_at_ms > updated_at_ms => c.count.saturating_add(1),
                _ => 1,
            };
            s.inbound.insert(key, InboundCounter { count, updated_at_ms, expires_at_ms });
            count
        }))
    }

    async fn cleanup_expired(&self, sid: &str, now_ms: i64) -> StoreResult<u32> {
        Ok(self.retry.read(sid, |s| {
            let Some(s) = s else { return 0 };
            let outbound = s.outbound.retain(|_, m| m.expires_at_ms > now_ms).len();
            let inbound = s.inbound.retain(|_, c| c.expires_at_ms > now_ms).len();
            count(outbound + inbound)
        }))
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.retry.drop_session(sid);
        Ok(())
    }

    fn retry_ttl_ms(&self) -> i64 {
        self.ttls.retry_ms
    }

    /// Payload blobs are kept as given, never re-encoded.
    fn supports_raw_replay_payload(&self) -> bool {
        true
    }
}

// ---- groupMetadata --------------------------------------------------------

pub(super) struct GroupMetadataData {
    pub(super) groups: BoundedMap<String, Expiring<GroupMetadata>>,
}

impl SessionState for GroupMetadataData {
    fn new(limits: &MemoryLimits) -> Self {
        Self { groups: BoundedMap::new(limits.group_metadata_groups) }
    }
}

#[async_trait]
impl GroupMetadataStore for MemoryBackend {
    async fn upsert_group_metadata(&self, sid: &str, snapshot: GroupMetadata) -> StoreResult<()> {
        let expires_at_ms = snapshot.updated_at_ms.saturating_add(self.ttls.group_metadata_ms);
        self.group_metadata.write(&self.limits, sid, |s| {
            s.groups.insert(snapshot.group_jid.clone(), Expiring { value: snapshot, expires_at_ms });
        });
        Ok(())
    }

    async fn get_group_metadata(&self, sid: &str, group_jid: &str, now_ms: i64) -> StoreResult<Option<GroupMetadata>> {
        Ok(self.group_metadata.read(sid, |s| read_live(&mut s?.groups, group_jid, now_ms)))
    }

    async fn delete_group_metadata(&self, sid: &str, group_jid: &str) -> StoreResult<u32> {
        Ok(self.group_metadata.read(sid, |s| s.map_or(0, |s| u32::from(s.groups.remove(group_jid).is_some()))))
    }

    async fn cleanup_expired_group_metadata(&self, sid: &str, now_ms: i64) -> StoreResult<u32> {
        Ok(self.group_metadata.read(sid, |s| s.map_or(0, |s| count(s.groups.retain(|_, e| !e.is_expired(now_ms)).len()))))
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.group_metadata.drop_session(sid);
        Ok(())
    }
}

// ---- chatMetadata ---------------------------------------------------------

pub(super) struct ChatMetadataData {
    pub(super) chats: BoundedMap<String, Expiring<ChatMetadata>>,
}

impl SessionState for ChatMetadataData {
    fn new(limits: &MemoryLimits) -> Self {
        Self { chats: BoundedMap::new(limits.chat_metadata_chats) }
    }
}

#[async_trait]
impl ChatMetadataStore for MemoryBackend {
    async fn upsert_chat_metadata(&self, sid: &str, snapshot: ChatMetadata) -> StoreResult<()> {
        let expires_at_ms = snapshot.updated_at_ms.saturating_add(self.ttls.chat_metadata_ms);
        self.chat_metadata.write(&self.limits, sid, |s| {
            s.chats.insert(snapshot.chat_jid.clone(), Expiring { value: snapshot, expires_at_ms });
        });
        Ok(())
    }

    async fn get_chat_metadata(&self, sid: &str, chat_jid: &str, now_ms: i64) -> StoreResult<Option<ChatMetadata>> {
        Ok(self.chat_metadata.read(sid, |s| read_live(&mut s?.chats, chat_jid, now_ms)))
    }

    async fn delete_chat_metadata(&self, sid: &str, chat_jid: &str) -> StoreResult<u32> {
        Ok(self.chat_metadata.read(sid, |s| s.map_or(0, |s| u32::from(s.chats.remove(chat_jid).is_some()))))
    }

    async fn cleanup_expired_chat_metadata(&self, sid: &str, now_ms: i64) -> StoreResult<u32> {
        Ok(self.chat_metadata.read(sid, |s| s.map_or(0, |s| count(s.chats.retain(|_, e| !e.is_expired(now_ms)).len()))))
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.chat_metadata.drop_session(sid);
        Ok(())
    }
}

// ---- deviceList -----------------------------------------------------------

pub(super) struct DeviceListData {
    pub(super) users: BoundedMap<String, Expiring<DeviceList>>,
    /// alt user jid (the other of PN / LID) → user jid.
    by_alt: HashMap<String, String>,
}

impl SessionState for DeviceListData {
    fn new(limits: &MemoryLimits) -> Self {
        Self { users: BoundedMap::new(limits.device_list_users), by_alt: HashMap::new() }
    }
}

impl DeviceListData {
    /// Drops `alt → user` only while it still points at `user`: a later
    /// snapshot of another user may have claimed the same alt jid.
    fn unindex_alt(&mut self, alt: Option<&str>, user: &str) {
        if let Some(alt) = alt {
            if self.by_alt.get(alt).is_some_and(|owner| owner == user) {
                self.by_alt.remove(alt);
            }
        }
    }

    /// Replaces `snapshot.user_jid`'s entry, keeping the alternate-jid index in step.
    pub(super) fn upsert(&mut self, snapshot: DeviceList, expires_at_ms: i64) {
        if let Some(old) = self.users.remove(&snapshot.user_jid) {
            if old.value.alt_user_jid != snapshot.alt_user_jid {
                self.unindex_alt(old.value.alt_user_jid.as_deref(), &snapshot.user_jid);
            }
        }
        if let Some(alt) = &snapshot.alt_user_jid {
            self.by_alt.insert(alt.clone(), snapshot.user_jid.clone());
        }
        let user = snapshot.user_jid.clone();
        for (user, evicted) in self.users.insert(user, Expiring { value: snapshot, expires_at_ms }) {
            self.unindex_alt(evicted.value.alt_user_jid.as_deref(), &user);
        }
    }

    fn remove(&mut self, user: &str) -> bool {
        match self.users.remove(user) {
            Some(old) => {
                self.unindex_alt(old.value.alt_user_jid.as_deref(), user);
                true
            }
            None => false,
        }
    }

    fn read_live(&mut self, user: &str, now_ms: i64) -> Option<DeviceList> {
        let entry = self.users.get(user)?;
        if entry.is_expired(now_ms) {
            self.remove(user);
            return None;
        }
        Some(entry.value.clone())
    }
}

#[async_trait]
impl DeviceListStore for MemoryBackend {
    async fn upsert_user_devices(&self, sid: &str, snapshots: Vec<DeviceList>) -> StoreResult<()> {
        let ttl_ms = self.ttls.device_list_ms;
        self.device_list.write(&self.limits, sid, |s| snapshots.into_iter().for_each(|d| {
            let expires_at_ms = d.updated_at_ms.saturating_add(ttl_ms);
            s.upsert(d, expires_at_ms)
        }));
        Ok(())
    }

    async fn get_user_devices(&self, sid: &str, user_jids: &[String], now_ms: i64) -> StoreResult<Vec<Option<DeviceList>>> {
        Ok(self.device_list.read(sid, |s| match s {
            Some(s) => user_jids.iter().map(|u| s.read_live(u, now_ms)).collect(),
            None => vec![None; user_jids.len()],
        }))
    }

    async fn find_by_any_user_jid(&self, sid: &str, jid: &str, now_ms: i64) -> StoreResult<Option<DeviceList>> {
        Ok(self.device_list.read(sid, |s| {
            let s = s?;
            if let Some(direct) = s.read_live(jid, now_ms) {
                return Some(direct);
            }
            let user = s.by_alt.get(jid)?.clone();
            s.read_live(&user, now_ms)
        }))
    }

    async fn delete_user_devices(&self, sid: &str, user_jid: &str) -> StoreResult<u32> {
        Ok(self.device_list.read(sid, |s| s.map_or(0, |s| u32::from(s.remove(user_jid)))))
    }

    async fn cleanup_expired_device_lists(&self, sid: &str, now_ms: i64) -> StoreResult<u32> {
        Ok(self.device_list.read(sid, |s| {
            let Some(s) = s else { return 0 };
            let removed = s.users.retain(|_, e| !e.is_expired(now_ms));
            for (user, entry) in &removed {
                s.unindex_alt(entry.value.alt_user_jid.as_deref(), user);
            }
            count(removed.len())
        }))
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.device_list.drop_session(sid);
        Ok(())
    }
}

// ---- messageSecret --------------------------------------------------------

pub(super) struct MessageSecretData {
    pub(super) secrets: BoundedMap<String, Expiring<MessageSecret>>,
}

impl SessionState for MessageSecretData {
    fn new(limits: &MemoryLimits) -> Self {
        Self { secrets: BoundedMap::new(limits.message_secrets) }
    }
}

#[async_trait]
impl MessageSecretStore for MemoryBackend {
    async fn get_message_secrets(&self, sid: &str, message_ids: &[String], now_ms: i64) -> StoreResult<Vec<Option<MessageSecret>>> {
        Ok(self.message_secret.read(sid, |s| match s {
            Some(s) => message_ids.iter().map(|id| read_live(&mut s.secrets, id, now_ms)).collect(),
            None => vec![None; message_ids.len()],
        }))
    }

    async fn set_message_secrets(&self, sid: &str, entries: Vec<(String, MessageSecret)>, now_ms: i64) -> StoreResult<()> {
        // Expiry is fixed at write time: the same instant for the whole batch.
        let expires_at_ms = now_ms.saturating_add(self.ttls.message_secret_ms);
        self.message_secret.write(&self.limits, sid, |s| {
            for (id, value) in entries {
                s.secrets.insert(id, Expiring { value, expires_at_ms });
            }
        });
        Ok(())
    }

    async fn cleanup_expired_message_secrets(&self, sid: &str, now_ms: i64) -> StoreResult<u32> {
        Ok(self.message_secret.read(sid, |s| s.map_or(0, |s| count(s.secrets.retain(|_, e| !e.is_expired(now_ms)).len()))))
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.message_secret.drop_session(sid);
        Ok(())
    }
}
