//! Enumeration, export and import ([`SnapshotStore`]) of the memory backend:
//! every record is at hand, so pages are cut from the sorted records.

use async_trait::async_trait;

use super::caches::{Expiring, InboundCounter};
use super::MemoryBackend;
use crate::domain::snapshot::{
    count_of, not_exact, page_sorted, KindCount, Record, RecordKind, RetryInbound, SignalMeta, SnapshotStore, SortKey,
};
use crate::domain::StoreResult;

impl MemoryBackend {
    /// Every record of one kind of `sid`, in no particular order.
    fn records_of(&self, sid: &str, kind: RecordKind) -> Vec<Record> {
        match kind {
            RecordKind::Auth => self.auth.read(sid, |s| {
                s.and_then(|s| s.credentials.clone())
                    .map(|credentials| Record::Auth { credentials })
                    .into_iter()
                    .collect()
            }),
            RecordKind::Registration => self
                .signal
                .read(sid, |s| s.and_then(|s| s.registration.clone()).map(Record::Registration).into_iter().collect()),
            RecordKind::SignedPreKey => self.signal.read(sid, |s| {
                s.and_then(|s| s.signed_pre_key.clone()).map(Record::SignedPreKey).into_iter().collect()
            }),
            RecordKind::SignalMeta => {
                let (next_pre_key_id, server_has_pre_keys) =
                    self.pre_key.read(sid, |s| s.map_or((1, false), |s| (s.next_id, s.server_has_pre_keys)));
                let signed_pre_key_rotation_ts = self.signal.read(sid, |s| s.and_then(|s| s.rotation_ts));
                let meta = SignalMeta { next_pre_key_id, server_has_pre_keys, signed_pre_key_rotation_ts };
                if meta == SignalMeta::default() {
                    Vec::new()
                } else {
                    vec![Record::SignalMeta(meta)]
                }
            }
            RecordKind::PreKey => self
                .pre_key
                .read(sid, |s| s.map_or_else(Vec::new, |s| s.keys.values().cloned().map(Record::PreKey).collect())),
            RecordKind::Session => self.session.read(sid, |s| {
                s.map_or_else(Vec::new, |s| {
                    s.sessions.iter().map(|(a, r)| Record::Session { address: a.clone(), record: r.clone() }).collect()
                })
            }),
            RecordKind::Identity => self.identity.read(sid, |s| {
                s.map_or_else(Vec::new, |s| {
                    s.identities.iter().map(|(a, k)| Record::Identity { address: a.clone(), key: k.clone() }).collect()
                })
            }),
            RecordKind::SenderKey => self
                .sender_key
                .read(sid, |s| s.map_or_else(Vec::new, |s| s.keys.values().cloned().map(Record::SenderKey).collect())),
            RecordKind::SenderKeyDistribution => self.sender_key.read(sid, |s| {
                s.map_or_else(Vec::new, |s| {
                    s.distributions.values().cloned().map(Record::SenderKeyDistribution).collect()
                })
            }),
            RecordKind::AppStateSyncKey => self.app_state.read(sid, |s| {
                s.map_or_else(Vec::new, |s| s.keys.values().cloned().map(Record::AppStateSyncKey).collect())
            }),
            RecordKind::AppStateCollection => self.app_state.read(sid, |s| {
                s.map_or_else(Vec::new, |s| {
                    s.collections
                        .iter()
                        .map(|(name, c)| {
                            Record::AppStateCollection(crate::domain::app_state::CollectionUpdate {
                                collection: name.clone(),
                                version: c.version,
                                hash: c.hash.clone(),
                                index_value_map: c.index_value_map.clone(),
                            })
                        })
                        .collect()
                })
            }),
            RecordKind::PrivacyToken => self.privacy_token.read(sid, |s| {
                s.map_or_else(Vec::new, |s| s.tokens.values().cloned().map(Record::PrivacyToken).collect())
            }),
            RecordKind::Message => self.messages.read(sid, |s| {
                s.map_or_else(Vec::new, |s| s.messages.values().cloned().map(Record::Message).collect())
            }),
            RecordKind::Thread => self
                .threads
                .read(sid, |s| s.map_or_else(Vec::new, |s| s.threads.values().cloned().map(Record::Thread).collect())),
            RecordKind::Contact => self.contacts.read(sid, |s| {
                s.map_or_else(Vec::new, |s| s.contacts.values().cloned().map(Record::Contact).collect())
            }),
            RecordKind::Key => self.keys.read(sid, |s| {
                s.map_or_else(Vec::new, |s| {
                    s.keys
                        .iter()
                        .map(|((kind, id), value)| Record::Key {
                            kind: kind.clone(),
                            id: id.clone(),
                            value: value.clone(),
                        })
                        .collect()
                })
            }),
            RecordKind::RetryOutbound => self.retry.read(sid, |s| {
                s.map_or_else(Vec::new, |s| s.outbound.values().cloned().map(Record::RetryOutbound).collect())
            }),
            RecordKind::RetryInbound => self.retry.read(sid, |s| {
                s.map_or_else(Vec::new, |s| {
                    s.inbound
                        .iter()
                        .map(|((message_id, requester_jid), c)| {
                            Record::RetryInbound(RetryInbound {
                                message_id: message_id.clone(),
                                requester_jid: requester_jid.clone(),
                                retry_count: c.count,
                                updated_at_ms: c.updated_at_ms,
                                expires_at_ms: c.expires_at_ms,
                            })
                        })
                        .collect()
                })
            }),
            RecordKind::GroupMetadata => self.group_metadata.read(sid, |s| {
                s.map_or_else(Vec::new, |s| {
                    s.groups
                        .values()
                        .map(|e| Record::GroupMetadata { record: e.value.clone(), expires_at_ms: e.expires_at_ms })
                        .collect()
                })
            }),
            RecordKind::ChatMetadata => self.chat_metadata.read(sid, |s| {
                s.map_or_else(Vec::new, |s| {
                    s.chats
                        .values()
                        .map(|e| Record::ChatMetadata { record: e.value.clone(), expires_at_ms: e.expires_at_ms })
                        .collect()
                })
            }),
            RecordKind::DeviceList => self.device_list.read(sid, |s| {
                s.map_or_else(Vec::new, |s| {
                    s.users
                        .values()
                        .map(|e| Record::DeviceList { record: e.value.clone(), expires_at_ms: e.expires_at_ms })
                        .collect()
                })
            }),
            RecordKind::MessageSecret => self.message_secret.read(sid, |s| {
                s.map_or_else(Vec::new, |s| {
                    s.secrets
                        .iter()
                        .map(|(id, e)| Record::MessageSecret {
                            message_id: id.clone(),
                            secret: e.value.clone(),
                            expires_at_ms: e.expires_at_ms,
                        })
                        .collect()
                })
            }),
        }
    }

    fn every_session_id(&self) -> Vec<String> {
        let mut ids: Vec<String> = [
            self.auth.session_ids(),
            self.signal.session_ids(),
            self.pre_key.session_ids(),
            self.session.session_ids(),
            self.identity.session_ids(),
            self.sender_key.session_ids(),
            self.app_state.session_ids(),
            self.privacy_token.session_ids(),
            self.messages.session_ids(),
            self.threads.session_ids(),
            self.contacts.session_ids(),
            self.retry.session_ids(),
            self.group_metadata.session_ids(),
            self.chat_metadata.session_ids(),
            self.device_list.session_ids(),
            self.message_secret.session_ids(),
            self.keys.session_ids(),
        ]
        .concat();
        ids.sort();
        ids.dedup();
        ids
    }
}

#[async_trait]
impl SnapshotStore for MemoryBackend {
    async fn list_session_ids(&self, after: Option<&str>, limit: u32) -> StoreResult<Vec<String>> {
        Ok(self
            .every_session_id()
            .into_iter()
            .filter(|sid| after.is_none_or(|a| sid.as_str() > a))
            .filter(|sid| RecordKind::ALL.iter().any(|&k| !self.records_of(sid, k).is_empty()))
            .take(limit as usize)
            .collect())
    }

    async fn count_records(&self, sid: &str) -> StoreResult<Vec<KindCount>> {
        Ok(count_of(RecordKind::ALL.iter().map(|&k| (k, self.records_of(sid, k)))))
    }

    async fn export_kind(
        &self,
        sid: &str,
        kind: RecordKind,
        after: Option<&SortKey>,
        limit: u32,
    ) -> StoreResult<Vec<Record>> {
        Ok(page_sorted(self.records_of(sid, kind), after, limit))
    }

    async fn import_exact(&self, sid: &str, records: Vec<Record>) -> StoreResult<()> {
        for r in records {
            match r {
                Record::SignalMeta(m) => {
                    self.pre_key.write(&self.limits, sid, |s| {
                        s.next_id = s.next_id.max(m.next_pre_key_id);
                        s.server_has_pre_keys = m.server_has_pre_keys;
                    });
                    self.signal.write(&self.limits, sid, |s| s.rotation_ts = m.signed_pre_key_rotation_ts);
                }
                Record::RetryInbound(c) => self.retry.write(&self.limits, sid, |s| {
                    let counter = InboundCounter {
                        count: c.retry_count,
                        updated_at_ms: c.updated_at_ms,
                        expires_at_ms: c.expires_at_ms,
                    };
                    s.inbound.insert((c.message_id, c.requester_jid), counter);
                }),
                Record::GroupMetadata { record, expires_at_ms } => self.group_metadata.write(&self.limits, sid, |s| {
                    s.groups.insert(record.group_jid.clone(), Expiring { value: record, expires_at_ms });
                }),
                Record::ChatMetadata { record, expires_at_ms } => self.chat_metadata.write(&self.limits, sid, |s| {
                    s.chats.insert(record.chat_jid.clone(), Expiring { value: record, expires_at_ms });
                }),
                Record::DeviceList { record, expires_at_ms } => {
                    self.device_list.write(&self.limits, sid, |s| s.upsert(record, expires_at_ms))
                }
                Record::MessageSecret { message_id, secret, expires_at_ms } => {
                    self.message_secret.write(&self.limits, sid, |s| {
                        s.secrets.insert(message_id, Expiring { value: secret, expires_at_ms });
                    })
                }
                other => return Err(not_exact(&other)),
            }
        }
        Ok(())
    }
}
