//! The portable backup format (JSONL, version 1), napi-free.
//!
//! ```text
//! {"format":"wastore-backup","version":1}
//! {"session":"main","kind":"auth","credentials":"pQEK…"}
//! {"session":"main","kind":"session","address":{"user":"551199…","server":"s.whatsapp.net","device":0},"record":"…"}
//! …
//! {"format":"wastore-backup","end":true,"records":1234}
//! ```
//!
//! - One JSON object per line, UTF-8, `\n` separated. The first line is the
//!   header, the last the trailer with the number of record lines (a file
//!   without it was cut short).
//! - Every record line starts with `session` and `kind` ([`RecordKind::name`]),
//!   then the record's fields in a fixed order, camelCase, every optional
//!   field present (`null` when absent). So the same records always encode to
//!   the same bytes, whatever backend they came from.
//! - Bytes are standard base64 (with padding) of the exact stored bytes: WSV
//!   blobs stay WSV, and values encrypted before they reached the backend stay
//!   encrypted. Integers are JSON integers (epoch milliseconds, ids).
//! - Decoding is strict: an unknown field, a missing one, a wrong type or a
//!   number out of range is `STORE_CORRUPTED`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::domain::app_state::{CollectionUpdate, SyncKey};
use crate::domain::chat_metadata::ChatMetadata;
use crate::domain::contacts::StoredContact;
use crate::domain::device_list::DeviceList;
use crate::domain::group_metadata::GroupMetadata;
use crate::domain::message_secret::MessageSecret;
use crate::domain::messages::StoredMessage;
use crate::domain::pre_key::PreKey;
use crate::domain::privacy_token::PrivacyToken;
use crate::domain::retry::RetryOutboundMessage;
use crate::domain::sender_key::{SenderKey, SenderKeyDistribution};
use crate::domain::signal::{RegistrationInfo, SignedPreKey};
use crate::domain::snapshot::{Record, RetryInbound, SignalMeta};
use crate::domain::threads::StoredThread;
use crate::domain::{KeyPair, SignalAddress};
use crate::error::{StoreError, StoreResult};

/// The `format` of the header and trailer lines.
pub const FORMAT: &str = "wastore-backup";
/// The version this build writes and reads.
pub const VERSION: u32 = 1;

/// The first line of a backup.
pub fn header() -> String {
    format!("{{\"format\":\"{FORMAT}\",\"version\":{VERSION}}}")
}

/// The last line of a backup of `records` record lines.
pub fn trailer(records: u64) -> String {
    format!("{{\"format\":\"{FORMAT}\",\"end\":true,\"records\":{records}}}")
}

mod b64 {
    use super::*;
    pub fn serialize<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text.as_bytes()).map_err(|e| serde::de::Error::custom(format!("invalid base64: {e}")))
    }
}

mod b64_opt {
    use super::*;
    pub fn serialize<S: serde::Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_str(&STANDARD.encode(b)),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(text) => STANDARD
                .decode(text.as_bytes())
                .map(Some)
                .map_err(|e| serde::de::Error::custom(format!("invalid base64: {e}"))),
            None => Ok(None),
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct JsonKeyPair {
    #[serde(with = "b64")]
    pub_key: Vec<u8>,
    #[serde(with = "b64")]
    priv_key: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonAddress {
    user: String,
    server: String,
    device: u32,
}

/// One `[indexMacHex, valueMac]` entry of an app-state map.
#[derive(Serialize, Deserialize)]
struct JsonMapEntry(String, #[serde(with = "b64")] Vec<u8>);

/// Every record line without its `session`; field order is output order.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase", rename_all_fields = "camelCase", deny_unknown_fields)]
enum JsonRecord {
    Auth {
        #[serde(with = "b64")]
        credentials: Vec<u8>,
    },
    Registration {
        registration_id: u32,
        identity_key_pair: JsonKeyPair,
    },
    SignedPreKey {
        key_id: u32,
        key_pair: JsonKeyPair,
        #[serde(with = "b64")]
        signature: Vec<u8>,
        uploaded: Option<bool>,
    },
    SignalMeta {
        next_pre_key_id: u64,
        server_has_pre_keys: bool,
        signed_pre_key_rotation_ts: Option<i64>,
    },
    PreKey {
        key_id: u32,
        key_pair: JsonKeyPair,
        uploaded: Option<bool>,
    },
    Session {
        address: JsonAddress,
        #[serde(with = "b64")]
        record: Vec<u8>,
    },
    Identity {
        address: JsonAddress,
        #[serde(with = "b64")]
        identity_key: Vec<u8>,
    },
    SenderKey {
        group_id: String,
        sender: JsonAddress,
        #[serde(with = "b64")]
        record: Vec<u8>,
    },
    SenderKeyDistribution {
        group_id: String,
        sender: JsonAddress,
        key_id: u32,
        timestamp_ms: i64,
    },
    AppStateSyncKey {
        #[serde(with = "b64")]
        key_id: Vec<u8>,
        #[serde(with = "b64")]
        key_data: Vec<u8>,
        timestamp: i64,
        #[serde(with = "b64_opt")]
        fingerprint: Option<Vec<u8>>,
    },
    AppStateCollection {
        collection: String,
        version: i64,
        #[serde(with = "b64")]
        hash: Vec<u8>,
        index_value_map: Vec<JsonMapEntry>,
    },
    PrivacyToken {
        jid: String,
        #[serde(with = "b64_opt")]
        tc_token: Option<Vec<u8>>,
        tc_token_timestamp: Option<i64>,
        tc_token_sender_timestamp: Option<i64>,
        #[serde(with = "b64_opt")]
        nct_salt: Option<Vec<u8>>,
        updated_at_ms: i64,
    },
    Message {
        id: String,
        thread_jid: String,
        sender_jid: Option<String>,
        participant_jid: Option<String>,
        from_me: bool,
        timestamp_ms: Option<i64>,
        #[serde(with = "b64_opt")]
        message_bytes: Option<Vec<u8>>,
    },
    Thread {
        jid: String,
        name: Option<String>,
        unread_count: Option<i64>,
        archived: Option<bool>,
        pinned: Option<i64>,
        mute_end_ms: Option<i64>,
        marked_as_unread: Option<bool>,
        ephemeral_expiration: Option<i64>,
        ephemeral_setting_timestamp: Option<i64>,
    },
    Contact {
        jid: String,
        display_name: Option<String>,
        push_name: Option<String>,
        lid: Option<String>,
        phone_number: Option<String>,
        username: Option<String>,
        last_updated_ms: i64,
    },
    Key {
        #[serde(rename = "type")]
        kind: String,
        id: String,
        #[serde(with = "b64")]
        value: Vec<u8>,
    },
    RetryOutbound {
        message_id: String,
        to_jid: String,
        eligible_requester_device_jids: Option<Vec<String>>,
        delivered_requester_device_jids: Option<Vec<String>>,
        replay_mode: String,
        #[serde(with = "b64")]
        replay_payload: Vec<u8>,
        state: String,
        updated_at_ms: i64,
        expires_at_ms: i64,
    },
    RetryInbound {
        message_id: String,
        requester_jid: String,
        retry_count: u32,
        updated_at_ms: i64,
        expires_at_ms: i64,
    },
    GroupMetadata {
        group_jid: String,
        participants: Vec<String>,
        ephemeral: Option<i64>,
        ephemeral_trigger: Option<i64>,
        updated_at_ms: i64,
        expires_at_ms: i64,
    },
    ChatMetadata {
        chat_jid: String,
        ephemeral_expiration: Option<i64>,
        ephemeral_setting_timestamp: Option<i64>,
        updated_at_ms: i64,
        expires_at_ms: i64,
    },
    DeviceList {
        user_jid: String,
        alt_user_jid: Option<String>,
        device_jids: Vec<String>,
        updated_at_ms: i64,
        expires_at_ms: i64,
    },
    MessageSecret {
        message_id: String,
        #[serde(with = "b64")]
        secret: Vec<u8>,
        sender_jid: String,
        expires_at_ms: i64,
    },
}

fn pair(k: KeyPair) -> JsonKeyPair {
    JsonKeyPair { pub_key: k.pub_key, priv_key: k.priv_key }
}

fn unpair(k: JsonKeyPair) -> KeyPair {
    KeyPair { pub_key: k.pub_key, priv_key: k.priv_key }
}

fn addr(a: SignalAddress) -> JsonAddress {
    JsonAddress { user: a.user, server: a.server, device: a.device }
}

fn unaddr(a: JsonAddress) -> SignalAddress {
    SignalAddress::new(a.user, Some(&a.server), a.device)
}

impl From<Record> for JsonRecord {
    fn from(r: Record) -> Self {
        match r {
            Record::Auth { credentials } => JsonRecord::Auth { credentials },
            Record::Registration(r) => JsonRecord::Registration {
                registration_id: r.registration_id,
                identity_key_pair: pair(r.identity_key_pair),
            },
            Record::SignedPreKey(k) => JsonRecord::SignedPreKey {
                key_id: k.key_id,
                key_pair: pair(k.key_pair),
                signature: k.signature,
                uploaded: k.uploaded,
            },
            Record::SignalMeta(m) => JsonRecord::SignalMeta {
                next_pre_key_id: m.next_pre_key_id,
                server_has_pre_keys: m.server_has_pre_keys,
                signed_pre_key_rotation_ts: m.signed_pre_key_rotation_ts,
            },
            Record::PreKey(k) => {
                JsonRecord::PreKey { key_id: k.key_id, key_pair: pair(k.key_pair), uploaded: k.uploaded }
            }
            Record::Session { address, record } => JsonRecord::Session { address: addr(address), record },
            Record::Identity { address, key } => JsonRecord::Identity { address: addr(address), identity_key: key },
            Record::SenderKey(k) => {
                JsonRecord::SenderKey { group_id: k.group_id, sender: addr(k.sender), record: k.record }
            }
            Record::SenderKeyDistribution(d) => JsonRecord::SenderKeyDistribution {
                group_id: d.group_id,
                sender: addr(d.sender),
                key_id: d.key_id,
                timestamp_ms: d.timestamp_ms,
            },
            Record::AppStateSyncKey(k) => JsonRecord::AppStateSyncKey {
                key_id: k.key_id,
                key_data: k.key_data,
                timestamp: k.timestamp,
                fingerprint: k.fingerprint,
            },
            Record::AppStateCollection(c) => JsonRecord::AppStateCollection {
                collection: c.collection,
                version: c.version,
                hash: c.hash,
                index_value_map: c.index_value_map.into_iter().map(|(k, v)| JsonMapEntry(k, v)).collect(),
            },
            Record::PrivacyToken(t) => JsonRecord::PrivacyToken {
                jid: t.jid,
                tc_token: t.tc_token,
                tc_token_timestamp: t.tc_token_timestamp,
                tc_token_sender_timestamp: t.tc_token_sender_timestamp,
                nct_salt: t.nct_salt,
                updated_at_ms: t.updated_at_ms,
            },
            Record::Message(m) => JsonRecord::Message {
                id: m.id,
                thread_jid: m.thread_jid,
                sender_jid: m.sender_jid,
                participant_jid: m.participant_jid,
                from_me: m.from_me,
                timestamp_ms: m.timestamp_ms,
                message_bytes: m.message_bytes,
            },
            Record::Thread(t) => JsonRecord::Thread {
                jid: t.jid,
                name: t.name,
                unread_count: t.unread_count,
                archived: t.archived,
                pinned: t.pinned,
                mute_end_ms: t.mute_end_ms,
                marked_as_unread: t.marked_as_unread,
                ephemeral_expiration: t.ephemeral_expiration,
                ephemeral_setting_timestamp: t.ephemeral_setting_timestamp,
            },
            Record::Contact(c) => JsonRecord::Contact {
                jid: c.jid,
                display_name: c.display_name,
                push_name: c.push_name,
                lid: c.lid,
                phone_number: c.phone_number,
                username: c.username,
                last_updated_ms: c.last_updated_ms,
            },
            Record::Key { kind, id, value } => JsonRecord::Key { kind, id, value },
            Record::RetryOutbound(o) => JsonRecord::RetryOutbound {
                message_id: o.message_id,
                to_jid: o.to_jid,
                eligible_requester_device_jids: o.eligible_requester_device_jids,
                delivered_requester_device_jids: o.delivered_requester_device_jids,
                replay_mode: o.replay_mode,
                replay_payload: o.replay_payload,
                state: o.state,
                updated_at_ms: o.updated_at_ms,
                expires_at_ms: o.expires_at_ms,
            },
            Record::RetryInbound(i) => JsonRecord::RetryInbound {
                message_id: i.message_id,
                requester_jid: i.requester_jid,
                retry_count: i.retry_count,
                updated_at_ms: i.updated_at_ms,
                expires_at_ms: i.expires_at_ms,
            },
            Record::GroupMetadata { record: g, expires_at_ms } => JsonRecord::GroupMetadata {
                group_jid: g.group_jid,
                participants: g.participants,
                ephemeral: g.ephemeral,
                ephemeral_trigger: g.ephemeral_trigger,
                updated_at_ms: g.updated_at_ms,
                expires_at_ms,
            },
            Record::ChatMetadata { record: c, expires_at_ms } => JsonRecord::ChatMetadata {
                chat_jid: c.chat_jid,
                ephemeral_expiration: c.ephemeral_expiration,
                ephemeral_setting_timestamp: c.ephemeral_setting_timestamp,
                updated_at_ms: c.updated_at_ms,
                expires_at_ms,
            },
            Record::DeviceList { record: d, expires_at_ms } => JsonRecord::DeviceList {
                user_jid: d.user_jid,
                alt_user_jid: d.alt_user_jid,
                device_jids: d.device_jids,
                updated_at_ms: d.updated_at_ms,
                expires_at_ms,
            },
            Record::MessageSecret { message_id, secret, expires_at_ms } => JsonRecord::MessageSecret {
                message_id,
                secret: secret.secret,
                sender_jid: secret.sender_jid,
                expires_at_ms,
            },
        }
    }
}

impl TryFrom<JsonRecord> for Record {
    type Error = String;

    fn try_from(r: JsonRecord) -> Result<Self, String> {
        Ok(match r {
            JsonRecord::Auth { credentials } => Record::Auth { credentials },
            JsonRecord::Registration { registration_id, identity_key_pair } => {
                Record::Registration(RegistrationInfo { registration_id, identity_key_pair: unpair(identity_key_pair) })
            }
            JsonRecord::SignedPreKey { key_id, key_pair, signature, uploaded } => {
                Record::SignedPreKey(SignedPreKey { key_id, key_pair: unpair(key_pair), signature, uploaded })
            }
            JsonRecord::SignalMeta { next_pre_key_id, server_has_pre_keys, signed_pre_key_rotation_ts } => {
                if !(1..=u64::from(u32::MAX) + 1).contains(&next_pre_key_id) {
                    return Err(format!("nextPreKeyId {next_pre_key_id} is out of range (1 to 2^32)"));
                }
                Record::SignalMeta(SignalMeta { next_pre_key_id, server_has_pre_keys, signed_pre_key_rotation_ts })
            }
            JsonRecord::PreKey { key_id, key_pair, uploaded } => {
                Record::PreKey(PreKey { key_id, key_pair: unpair(key_pair), uploaded })
            }
            JsonRecord::Session { address, record } => Record::Session { address: unaddr(address), record },
            JsonRecord::Identity { address, identity_key } => {
                Record::Identity { address: unaddr(address), key: identity_key }
            }
            JsonRecord::SenderKey { group_id, sender, record } => {
                Record::SenderKey(SenderKey { group_id, sender: unaddr(sender), record })
            }
            JsonRecord::SenderKeyDistribution { group_id, sender, key_id, timestamp_ms } => {
                Record::SenderKeyDistribution(SenderKeyDistribution {
                    group_id,
                    sender: unaddr(sender),
                    key_id,
                    timestamp_ms,
                })
            }
            JsonRecord::AppStateSyncKey { key_id, key_data, timestamp, fingerprint } => {
                Record::AppStateSyncKey(SyncKey { key_id, key_data, timestamp, fingerprint })
            }
            JsonRecord::AppStateCollection { collection, version, hash, index_value_map } => {
                Record::AppStateCollection(CollectionUpdate {
                    collection,
                    version,
                    hash,
                    index_value_map: index_value_map.into_iter().map(|JsonMapEntry(k, v)| (k, v)).collect(),
                })
            }
            JsonRecord::PrivacyToken {
                jid,
                tc_token,
                tc_token_timestamp,
                tc_token_sender_timestamp,
                nct_salt,
                updated_at_ms,
            } => Record::PrivacyToken(PrivacyToken {
                jid,
                tc_token,
                tc_token_timestamp,
                tc_token_sender_timestamp,
                nct_salt,
                updated_at_ms,
            }),
            JsonRecord::Message {
                id,
                thread_jid,
                sender_jid,
                participant_jid,
                from_me,
                timestamp_ms,
                message_bytes,
            } => Record::Message(StoredMessage {
                id,
                thread_jid,
                sender_jid,
                participant_jid,
                from_me,
                timestamp_ms,
                message_bytes,
            }),
            JsonRecord::Thread {
                jid,
                name,
                unread_count,
                archived,
                pinned,
                mute_end_ms,
                marked_as_unread,
                ephemeral_expiration,
                ephemeral_setting_timestamp,
            } => Record::Thread(StoredThread {
                jid,
                name,
                unread_count,
                archived,
                pinned,
                mute_end_ms,
                marked_as_unread,
                ephemeral_expiration,
                ephemeral_setting_timestamp,
            }),
            JsonRecord::Contact { jid, display_name, push_name, lid, phone_number, username, last_updated_ms } => {
                Record::Contact(StoredContact {
                    jid,
                    display_name,
                    push_name,
                    lid,
                    phone_number,
                    username,
                    last_updated_ms,
                })
            }
            JsonRecord::Key { kind, id, value } => Record::Key { kind, id, value },
            JsonRecord::RetryOutbound {
                message_id,
                to_jid,
                eligible_requester_device_jids,
                delivered_requester_device_jids,
                replay_mode,
                replay_payload,
                state,
                updated_at_ms,
                expires_at_ms,
            } => Record::RetryOutbound(RetryOutboundMessage {
                message_id,
                to_jid,
                eligible_requester_device_jids,
                delivered_requester_device_jids,
                replay_mode,
                replay_payload,
                state,
                updated_at_ms,
                expires_at_ms,
            }),
            JsonRecord::RetryInbound { message_id, requester_jid, retry_count, updated_at_ms, expires_at_ms } => {
                Record::RetryInbound(RetryInbound {
                    message_id,
                    requester_jid,
                    retry_count,
                    updated_at_ms,
                    expires_at_ms,
                })
            }
            JsonRecord::GroupMetadata {
                group_jid,
                participants,
                ephemeral,
                ephemeral_trigger,
                updated_at_ms,
                expires_at_ms,
            } => Record::GroupMetadata {
                record: GroupMetadata { group_jid, participants, ephemeral, ephemeral_trigger, updated_at_ms },
                expires_at_ms,
            },
            JsonRecord::ChatMetadata {
                chat_jid,
                ephemeral_expiration,
                ephemeral_setting_timestamp,
                updated_at_ms,
                expires_at_ms,
            } => Record::ChatMetadata {
                record: ChatMetadata { chat_jid, ephemeral_expiration, ephemeral_setting_timestamp, updated_at_ms },
                expires_at_ms,
            },
            JsonRecord::DeviceList { user_jid, alt_user_jid, device_jids, updated_at_ms, expires_at_ms } => {
                Record::DeviceList {
                    record: DeviceList { user_jid, alt_user_jid, device_jids, updated_at_ms },
                    expires_at_ms,
                }
            }
            JsonRecord::MessageSecret { message_id, secret, sender_jid, expires_at_ms } => {
                Record::MessageSecret { message_id, secret: MessageSecret { secret, sender_jid }, expires_at_ms }
            }
        })
    }
}

/// One record line: `{"session":…,"kind":…,…}`.
pub fn encode_record(sid: &str, record: Record) -> StoreResult<String> {
    let body = serde_json::to_string(&JsonRecord::from(record))
        .map_err(|e| StoreError::corrupted(format!("a record could not be encoded: {e}")))?;
    let session = serde_json::to_string(sid)
        .map_err(|e| StoreError::corrupted(format!("a session id could not be encoded: {e}")))?;
    // `body` is a JSON object that starts with `{"kind":`: put the session in front.
    Ok(format!("{{\"session\":{session},{}", &body[1..]))
}

/// Parses one record line; `line_no` (1-based) names it in errors.
pub fn decode_record(line: &str, line_no: u64) -> StoreResult<(String, Record)> {
    let bad = |why: String| StoreError::corrupted(format!("backup line {line_no}: {why}"));
    let mut value: serde_json::Value = serde_json::from_str(line).map_err(|e| bad(format!("not JSON ({e})")))?;
    let object = value.as_object_mut().ok_or_else(|| bad("not a JSON object".to_owned()))?;
    if object.contains_key("format") {
        return Err(bad("a header or trailer line where a record was expected".to_owned()));
    }
    let session = match object.remove("session") {
        Some(serde_json::Value::String(s)) => s,
        Some(_) => return Err(bad("\"session\" must be a string".to_owned())),
        None => return Err(bad("no \"session\" field".to_owned())),
    };
    let record: JsonRecord = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
    Ok((session, Record::try_from(record).map_err(bad)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::snapshot::RecordKind;

    pub fn sample_records() -> Vec<Record> {
        let a = SignalAddress::new("55119\"99", Some("lid"), 3);
        let kp = KeyPair { pub_key: vec![5; 33], priv_key: vec![0, 255, 1] };
        vec![
            Record::Auth { credentials: vec![0xA5, 1, 0] },
            Record::Registration(RegistrationInfo { registration_id: 7, identity_key_pair: kp.clone() }),
            Record::SignedPreKey(SignedPreKey { key_id: 1, key_pair: kp.clone(), signature: vec![9], uploaded: None }),
            Record::SignalMeta(SignalMeta {
                next_pre_key_id: 1 << 32,
                server_has_pre_keys: true,
                signed_pre_key_rotation_ts: Some(-1),
            }),
            Record::PreKey(PreKey { key_id: u32::MAX, key_pair: kp, uploaded: Some(true) }),
            Record::Session { address: a.clone(), record: vec![] },
            Record::Identity { address: a.clone(), key: vec![1] },
            Record::SenderKey(SenderKey { group_id: "g\u{0}".into(), sender: a.clone(), record: vec![2] }),
            Record::SenderKeyDistribution(SenderKeyDistribution {
                group_id: "g".into(),
                sender: a,
                key_id: 1,
                timestamp_ms: i64::MIN,
            }),
            Record::AppStateSyncKey(SyncKey {
                key_id: vec![0; 6],
                key_data: vec![1],
                timestamp: 3,
                fingerprint: Some(vec![]),
            }),
            Record::AppStateCollection(CollectionUpdate {
                collection: "regular".into(),
                version: 4,
                hash: vec![0; 128],
                index_value_map: vec![("00ff".into(), vec![1, 2])],
            }),
            Record::PrivacyToken(PrivacyToken {
                jid: "j".into(),
                tc_token: Some(vec![1]),
                updated_at_ms: 5,
                ..Default::default()
            }),
            Record::Message(StoredMessage {
                id: "m".into(),
                thread_jid: "t".into(),
                sender_jid: None,
                participant_jid: Some("p".into()),
                from_me: true,
                timestamp_ms: None,
                message_bytes: Some(vec![7]),
            }),
            Record::Thread(StoredThread {
                jid: "t".into(),
                unread_count: Some(i64::MAX),
                archived: Some(false),
                ..Default::default()
            }),
            Record::Contact(StoredContact {
                jid: "c".into(),
                username: Some("ü 🙂".into()),
                last_updated_ms: 1,
                ..Default::default()
            }),
            Record::Key { kind: "session".into(), id: "1.0\n".into(), value: vec![0xA5, 1, 1] },
            Record::RetryOutbound(RetryOutboundMessage {
                message_id: "r".into(),
                to_jid: "to".into(),
                eligible_requester_device_jids: Some(vec![]),
                delivered_requester_device_jids: None,
                replay_mode: "plaintext".into(),
                replay_payload: vec![1],
                state: "pending".into(),
                updated_at_ms: 1,
                expires_at_ms: 2,
            }),
            Record::RetryInbound(RetryInbound {
                message_id: "r".into(),
                requester_jid: "q".into(),
                retry_count: 3,
                updated_at_ms: 1,
                expires_at_ms: 2,
            }),
            Record::GroupMetadata {
                record: GroupMetadata {
                    group_jid: "g".into(),
                    participants: vec!["a".into()],
                    ephemeral: None,
                    ephemeral_trigger: Some(1),
                    updated_at_ms: 2,
                },
                expires_at_ms: 3,
            },
            Record::ChatMetadata {
                record: ChatMetadata {
                    chat_jid: "c".into(),
                    ephemeral_expiration: Some(1),
                    ephemeral_setting_timestamp: None,
                    updated_at_ms: 2,
                },
                expires_at_ms: 3,
            },
            Record::DeviceList {
                record: DeviceList {
                    user_jid: "u".into(),
                    alt_user_jid: None,
                    device_jids: vec!["u:1".into()],
                    updated_at_ms: 1,
                },
                expires_at_ms: 2,
            },
            Record::MessageSecret {
                message_id: "m".into(),
                secret: MessageSecret { secret: vec![3; 32], sender_jid: "s".into() },
                expires_at_ms: 9,
            },
        ]
    }

    #[test]
    fn every_kind_round_trips_byte_for_byte() {
        let records = sample_records();
        let kinds: Vec<RecordKind> = records.iter().map(Record::kind).collect();
        assert_eq!(kinds, RecordKind::ALL.to_vec(), "one sample per kind, in order");
        for r in records {
            let line = encode_record("sid \"x\"", r.clone()).unwrap();
            assert!(
                line.starts_with(&format!("{{\"session\":\"sid \\\"x\\\"\",\"kind\":\"{}\"", r.kind().name())),
                "{line}"
            );
            let (sid, back) = decode_record(&line, 1).unwrap();
            assert_eq!((sid.as_str(), &back), ("sid \"x\"", &r));
            assert_eq!(encode_record(&sid, back).unwrap(), line);
        }
    }

    #[test]
    fn strict_decoding_names_the_line() {
        let good = encode_record("s", Record::Auth { credentials: vec![1] }).unwrap();
        let cases = [
            "not json".to_owned(),
            "[1]".to_owned(),
            good.replace("\"session\":\"s\",", ""),
            good.replace("\"credentials\"", "\"credential\""),
            good.replace("}", ",\"extra\":1}"),
            good.replace("\"AQ==\"", "\"!!\""),
            good.replace("\"auth\"", "\"nope\""),
            header(),
            encode_record("s", Record::SignalMeta(SignalMeta::default()))
                .unwrap()
                .replace("\"nextPreKeyId\":1", "\"nextPreKeyId\":0"),
            encode_record(
                "s",
                Record::PreKey(PreKey {
                    key_id: 1,
                    key_pair: KeyPair { pub_key: vec![], priv_key: vec![] },
                    uploaded: None,
                }),
            )
            .unwrap()
            .replace("\"keyId\":1", "\"keyId\":4294967296"),
        ];
        for line in cases {
            let err = decode_record(&line, 42).unwrap_err();
            assert_eq!(err.code, crate::error::ErrorCode::Corrupted, "{line}");
            assert!(err.message.starts_with("backup line 42:"), "{}", err.message);
        }
        assert_eq!(header(), "{\"format\":\"wastore-backup\",\"version\":1}");
        assert_eq!(trailer(3), "{\"format\":\"wastore-backup\",\"end\":true,\"records\":3}");
    }
}
