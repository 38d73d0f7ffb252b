//! Enumeration, export and import ([`SnapshotStore`]).
//!
//! Strings that are not lookup-escaped (jids, ids) compare as C strings on
//! the test server, so pages are not cut on the server: an export page reads
//! the session's documents of one kind and sorts them by natural key here.
//! That is one read of the kind per page (fine for the Signal state; large
//! archives export in more time than on the SQL backends). Imports of cache
//! entries use the same statements as the domains' writes, with the stored expiry.

use std::collections::BTreeSet;
use std::future::IntoFuture;

use async_trait::async_trait;
use mongodb::bson::{doc, Bson};

use super::app_state::{group_entries, sync_key};
use super::caches::{
    chat_metadata, chat_metadata_upsert, device_list, device_list_upsert, group_metadata, group_metadata_upsert,
    message_secret_upsert,
};
use super::collections::Kind;
use super::docs::{get_address, get_bytes, get_flag, get_i64, get_lookup, get_opt_i64, get_str, get_u32, opt_i64};
use super::mailbox::{contact, message, privacy_token, thread};
use super::retry::{counter_upsert, outbound};
use super::sender_keys::{distribution, sender_key};
use super::signal_keys::{pre_key, signed_pre_key};
use super::MongoBackend;
use crate::domain::app_state::CollectionUpdate;
use crate::domain::message_secret::MessageSecret;
use crate::domain::signal::RegistrationInfo;
use crate::domain::snapshot::{
    count_of, not_exact, page_sorted, KindCount, Record, RecordKind, RetryInbound, SignalMeta, SnapshotStore, SortKey,
};
use crate::domain::{KeyPair, StoreResult};
use crate::error::StoreError;

/// The collection of each record kind.
fn collection(kind: RecordKind) -> Kind {
    match kind {
        RecordKind::Auth => Kind::Auth,
        RecordKind::Registration => Kind::SignalRegistration,
        RecordKind::SignedPreKey => Kind::SignalSignedPreKey,
        RecordKind::SignalMeta => Kind::SignalMeta,
        RecordKind::PreKey => Kind::SignalPreKey,
        RecordKind::Session => Kind::SignalSession,
        RecordKind::Identity => Kind::SignalIdentity,
        RecordKind::SenderKey => Kind::SenderKeys,
        RecordKind::SenderKeyDistribution => Kind::SenderKeyDistribution,
        RecordKind::AppStateSyncKey => Kind::AppStateSyncKeys,
        RecordKind::AppStateCollection => Kind::AppStateCollectionVersions,
        RecordKind::PrivacyToken => Kind::PrivacyTokens,
        RecordKind::Message => Kind::Messages,
        RecordKind::Thread => Kind::Threads,
        RecordKind::Contact => Kind::Contacts,
        RecordKind::Key => Kind::AdapterKeys,
        RecordKind::RetryOutbound => Kind::RetryOutbound,
        RecordKind::RetryInbound => Kind::RetryInbound,
        RecordKind::GroupMetadata => Kind::GroupMetadata,
        RecordKind::ChatMetadata => Kind::ChatMetadata,
        RecordKind::DeviceList => Kind::DeviceList,
        RecordKind::MessageSecret => Kind::MessageSecrets,
    }
}

/// The counters of a meta document; `None` when they hold only defaults.
fn meta(d: &mongodb::bson::Document) -> StoreResult<Option<SignalMeta>> {
    let last = get_i64(d, "last_prekey_id")?;
    let next = u64::try_from(last.saturating_add(1))
        .map_err(|_| StoreError::corrupted(format!("mongo: stored last_prekey_id {last} is out of range")))?;
    let m = SignalMeta {
        next_pre_key_id: next,
        server_has_pre_keys: get_flag(d, "server_has_prekeys")?,
        signed_pre_key_rotation_ts: get_opt_i64(d, "signed_prekey_rotation_ts")?,
    };
    Ok((m != SignalMeta::default()).then_some(m))
}

impl MongoBackend {
    /// Every record of one kind of `sid`, in no particular order.
    async fn records_of(&self, sid: &str, kind: RecordKind) -> StoreResult<Vec<Record>> {
        let what = "export records";
        let coll = collection(kind);
        if kind.is_singleton() {
            let Some(d) = self.find_one(coll, doc! { "_id": sid }, what).await? else { return Ok(Vec::new()) };
            return Ok(match kind {
                RecordKind::Auth => vec![Record::Auth { credentials: get_bytes(&d, "credentials")? }],
                RecordKind::Registration => vec![Record::Registration(RegistrationInfo {
                    registration_id: get_u32(&d, "registration_id")?,
                    identity_key_pair: KeyPair {
                        pub_key: get_bytes(&d, "identity_pub_key")?,
                        priv_key: get_bytes(&d, "identity_priv_key")?,
                    },
                })],
                RecordKind::SignedPreKey => vec![Record::SignedPreKey(signed_pre_key(&d)?)],
                _ => meta(&d)?.map(Record::SignalMeta).into_iter().collect(),
            });
        }
        let docs = self.find_docs(coll, doc! { "s": sid }, None, None, what).await?;
        let mut out = Vec::with_capacity(docs.len());
        if kind == RecordKind::AppStateCollection {
            let values = self.find_docs(Kind::AppStateIndexValues, doc! { "s": sid }, None, None, what).await?;
            let mut maps = group_entries(&values)?;
            for d in &docs {
                let name = get_lookup(d, "collection")?;
                let index_value_map = maps.remove(&name).unwrap_or_default();
                out.push(Record::AppStateCollection(CollectionUpdate {
                    collection: name,
                    version: get_i64(d, "version")?,
                    hash: get_bytes(d, "hash")?,
                    index_value_map,
                }));
            }
            return Ok(out);
        }
        for d in &docs {
            let expires = || get_i64(d, "expires_at_ms");
            out.push(match kind {
                RecordKind::PreKey => Record::PreKey(pre_key(d)?),
                RecordKind::Session => Record::Session { address: get_address(d)?, record: get_bytes(d, "record")? },
                RecordKind::Identity => {
                    Record::Identity { address: get_address(d)?, key: get_bytes(d, "identity_key")? }
                }
                RecordKind::SenderKey => Record::SenderKey(sender_key(d)?),
                RecordKind::SenderKeyDistribution => Record::SenderKeyDistribution(distribution(d)?),
                RecordKind::AppStateSyncKey => Record::AppStateSyncKey(sync_key(d)?),
                RecordKind::PrivacyToken => Record::PrivacyToken(privacy_token(d)?),
                RecordKind::Message => Record::Message(message(d)?),
                RecordKind::Thread => Record::Thread(thread(d)?),
                RecordKind::Contact => Record::Contact(contact(d)?),
                RecordKind::Key => Record::Key {
                    kind: get_lookup(d, "kind")?,
                    id: get_lookup(d, "id")?,
                    value: get_bytes(d, "value")?,
                },
                RecordKind::RetryOutbound => Record::RetryOutbound(outbound(d)?),
                RecordKind::RetryInbound => Record::RetryInbound(RetryInbound {
                    message_id: get_str(d, "message_id")?,
                    requester_jid: get_str(d, "requester_jid")?,
                    retry_count: get_u32(d, "retry_count")?,
                    updated_at_ms: get_i64(d, "updated_at_ms")?,
                    expires_at_ms: expires()?,
                }),
                RecordKind::GroupMetadata => {
                    Record::GroupMetadata { record: group_metadata(d)?, expires_at_ms: expires()? }
                }
                RecordKind::ChatMetadata => {
                    Record::ChatMetadata { record: chat_metadata(d)?, expires_at_ms: expires()? }
                }
                RecordKind::DeviceList => Record::DeviceList { record: device_list(d)?, expires_at_ms: expires()? },
                RecordKind::MessageSecret => Record::MessageSecret {
                    message_id: get_str(d, "message_id")?,
                    secret: MessageSecret { secret: get_bytes(d, "secret")?, sender_jid: get_str(d, "sender_jid")? },
                    expires_at_ms: expires()?,
                },
                other => {
                    return Err(StoreError::corrupted(format!("mongo: {} is not a per-record kind", other.name())))
                }
            });
        }
        Ok(out)
    }

    /// Distinct values of `field` in `kind` (session ids), as strings.
    async fn distinct_ids(&self, kind: Kind, field: &str) -> StoreResult<Vec<String>> {
        let what = "list session ids";
        let coll = self.coll(kind).await?;
        let found = self.read(what, coll.distinct(field, doc! {}).into_future()).await?;
        found
            .into_iter()
            .map(|v| match v {
                Bson::String(s) => Ok(s),
                other => Err(StoreError::corrupted(format!(
                    "mongo: a stored session id is not a string ({:?})",
                    other.element_type()
                ))),
            })
            .collect()
    }
}

#[async_trait]
impl SnapshotStore for MongoBackend {
    async fn list_session_ids(&self, after: Option<&str>, limit: u32) -> StoreResult<Vec<String>> {
        let mut ids: BTreeSet<String> = BTreeSet::new();
        for kind in RecordKind::ALL {
            let coll = collection(kind);
            match kind {
                RecordKind::SignalMeta => {
                    // Only meta documents that hold more than defaults count.
                    for d in self.find_docs(coll, doc! {}, None, None, "list session ids").await? {
                        if meta(&d)?.is_some() {
                            ids.insert(get_str(&d, "_id")?);
                        }
                    }
                }
                // Singletons are keyed by the session id (the test server cannot `distinct` on `_id`).
                k if k.is_singleton() => {
                    let docs = self.find_docs(coll, doc! {}, None, None, "list session ids").await?;
                    for d in docs {
                        ids.insert(get_str(&d, "_id")?);
                    }
                }
                _ => ids.extend(self.distinct_ids(coll, "s").await?),
            }
        }
        Ok(ids.into_iter().filter(|s| after.is_none_or(|a| s.as_str() > a)).take(limit as usize).collect())
    }

    async fn count_records(&self, sid: &str) -> StoreResult<Vec<KindCount>> {
        let mut all = Vec::with_capacity(RecordKind::ALL.len());
        for kind in RecordKind::ALL {
            all.push((kind, self.records_of(sid, kind).await?));
        }
        Ok(count_of(all))
    }

    async fn export_kind(
        &self,
        sid: &str,
        kind: RecordKind,
        after: Option<&SortKey>,
        limit: u32,
    ) -> StoreResult<Vec<Record>> {
        Ok(page_sorted(self.records_of(sid, kind).await?, after, limit))
    }

    async fn import_exact(&self, sid: &str, records: Vec<Record>) -> StoreResult<()> {
        let what = "import records";
        let (mut inbound, mut groups, mut chats, mut devices, mut secrets) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for r in records {
            match r {
                Record::SignalMeta(m) => {
                    let last = i64::try_from(m.next_pre_key_id.saturating_sub(1))
                        .map_err(|_| StoreError::invalid_argument("nextPreKeyId is out of range"))?;
                    let u = doc! {
                        "$max": { "last_prekey_id": last },
                        "$set": {
                            "server_has_prekeys": i32::from(m.server_has_pre_keys),
                            "signed_prekey_rotation_ts": opt_i64(m.signed_pre_key_rotation_ts),
                        },
                    };
                    self.upsert_one(Kind::SignalMeta, doc! { "_id": sid }, u, what).await?;
                }
                Record::RetryInbound(c) => inbound.push(counter_upsert(sid, &c)),
                Record::GroupMetadata { record, expires_at_ms } => {
                    groups.push(group_metadata_upsert(sid, &record, expires_at_ms))
                }
                Record::ChatMetadata { record, expires_at_ms } => {
                    chats.push(chat_metadata_upsert(sid, &record, expires_at_ms))
                }
                Record::DeviceList { record, expires_at_ms } => {
                    devices.push(device_list_upsert(sid, &record, expires_at_ms))
                }
                Record::MessageSecret { message_id, secret, expires_at_ms } => {
                    secrets.push(message_secret_upsert(sid, &message_id, &secret, expires_at_ms))
                }
                other => return Err(not_exact(&other)),
            }
        }
        tokio::try_join!(
            self.update_all(Kind::RetryInbound, inbound, what),
            self.update_all(Kind::GroupMetadata, groups, what),
            self.update_all(Kind::ChatMetadata, chats, what),
            self.update_all(Kind::DeviceList, devices, what),
            self.update_all(Kind::MessageSecrets, secrets, what),
        )
        .map(drop)
    }
}
