//! `senderKey`: group sender keys and distribution markers, keyed by
//! (group, sender). Keys are structured tuples, never joined strings, so a
//! `|` inside a group id or user cannot make two entries collide.

use async_trait::async_trait;

use super::bounded::BoundedMap;
use super::{MemoryBackend, SessionState};
use crate::config::MemoryLimits;
use crate::domain::sender_key::{GroupSenderKeys, SenderKey, SenderKeyDistribution, SenderKeyStore};
use crate::domain::{SignalAddress, StoreResult};

type GroupSender = (String, SignalAddress);

pub(super) struct SenderKeyData {
    pub(super) keys: BoundedMap<GroupSender, SenderKey>,
    pub(super) distributions: BoundedMap<GroupSender, SenderKeyDistribution>,
}

impl SessionState for SenderKeyData {
    fn new(limits: &MemoryLimits) -> Self {
        Self {
            keys: BoundedMap::new(limits.sender_keys),
            distributions: BoundedMap::new(limits.sender_distributions),
        }
    }
}

impl SenderKeyData {
    /// Deletes `target`'s keys and distributions in `group` (every group when
    /// `None`); returns how many entries went, keys and distributions together.
    fn delete_device(&mut self, target: &SignalAddress, group: Option<&str>) -> u32 {
        let deleted = match group {
            // One group: a direct lookup instead of a scan.
            Some(group) => {
                let key = key_of(group, target);
                usize::from(self.keys.remove(&key).is_some()) + usize::from(self.distributions.remove(&key).is_some())
            }
            None => {
                let keys = self.keys.retain(|(_, sender), _| sender != target).len();
                keys + self.distributions.retain(|(_, sender), _| sender != target).len()
            }
        };
        u32::try_from(deleted).unwrap_or(u32::MAX)
    }
}

fn key_of(group_id: &str, sender: &SignalAddress) -> GroupSender {
    (group_id.to_owned(), sender.clone())
}

#[async_trait]
impl SenderKeyStore for MemoryBackend {
    async fn upsert_sender_key(&self, sid: &str, record: SenderKey) -> StoreResult<()> {
        self.sender_key.write(&self.limits, sid, |s| {
            s.keys.insert(key_of(&record.group_id, &record.sender), record);
        });
        Ok(())
    }

    async fn upsert_sender_key_distributions(&self, sid: &str, records: Vec<SenderKeyDistribution>) -> StoreResult<()> {
        self.sender_key.write(&self.limits, sid, |s| {
            for record in records {
                s.distributions.insert(key_of(&record.group_id, &record.sender), record);
            }
        });
        Ok(())
    }

    async fn get_group_sender_keys(&self, sid: &str, group_id: &str) -> StoreResult<GroupSenderKeys> {
        Ok(self.sender_key.read(sid, |s| {
            let Some(s) = s else { return GroupSenderKeys::default() };
            GroupSenderKeys {
                sender_keys: s.keys.values().filter(|k| k.group_id == group_id).cloned().collect(),
                distributions: s.distributions.values().filter(|d| d.group_id == group_id).cloned().collect(),
            }
        }))
    }

    async fn get_device_sender_key(&self, sid: &str, group_id: &str, sender: &SignalAddress) -> StoreResult<Option<SenderKey>> {
        Ok(self.sender_key.read(sid, |s| s.and_then(|s| s.keys.get(&key_of(group_id, sender)).cloned())))
    }

    async fn get_device_sender_key_distributions(
        &self,
        sid: &str,
        group_id: &str,
        senders: &[SignalAddress],
    ) -> StoreResult<Vec<Option<SenderKeyDistribution>>> {
        Ok(self.sender_key.read(sid, |s| match s {
            Some(s) => senders.iter().map(|a| s.distributions.get(&key_of(group_id, a)).cloned()).collect(),
            None => vec![None; senders.len()],
        }))
    }

    async fn delete_device_sender_key(&self, sid: &str, target: &SignalAddress, group_id: Option<&str>) -> StoreResult<u32> {
        Ok(self.sender_key.read(sid, |s| s.map_or(0, |s| s.delete_device(target, group_id))))
    }

    async fn mark_forget_sender_key(&self, sid: &str, group_id: &str, participants: &[SignalAddress]) -> StoreResult<u32> {
        Ok(self.sender_key.read(sid, |s| {
            let Some(s) = s else { return 0 };
            let mut deleted: u32 = 0;
            for participant in participants {
                deleted = deleted.saturating_add(s.delete_device(participant, Some(group_id)));
            }
            deleted
        }))
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.sender_key.drop_session(sid);
        Ok(())
    }
}
