//! Call arguments → domain records, validated field by field.

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
use crate::domain::{KeyPair, SignalAddress};
use crate::error::{StoreError, StoreResult};

use super::input::{FromJs, In};

impl FromJs for SignalAddress {
    const WHAT: &'static str = "address";
    fn from_js(i: &In) -> StoreResult<Self> {
        let o = i.clone().object()?;
        let user = o.field("user")?.id()?;
        let server = o.field("server")?.opt_string()?;
        let device = o.field("device")?.u32()?;
        Ok(SignalAddress::new(user, server.as_deref(), device))
    }
}

impl FromJs for KeyPair {
    const WHAT: &'static str = "keyPair";
    fn from_js(i: &In) -> StoreResult<Self> {
        let o = i.clone().object()?;
        Ok(KeyPair { pub_key: o.field("pubKey")?.bytes()?, priv_key: o.field("privKey")?.bytes()? })
    }
}

impl FromJs for RegistrationInfo {
    const WHAT: &'static str = "info";
    fn from_js(i: &In) -> StoreResult<Self> {
        let o = i.clone().object()?;
        Ok(RegistrationInfo {
            registration_id: o.field("registrationId")?.u32()?,
            identity_key_pair: KeyPair::from_js(&o.field("identityKeyPair")?)?,
        })
    }
}

impl FromJs for SignedPreKey {
    const WHAT: &'static str = "record";
    fn from_js(i: &In) -> StoreResult<Self> {
        let o = i.clone().object()?;
        Ok(SignedPreKey {
            key_id: o.field("keyId")?.u32()?,
            key_pair: KeyPair::from_js(&o.field("keyPair")?)?,
            signature: o.field("signature")?.bytes()?,
            uploaded: o.field("uploaded")?.opt_bool()?,
        })
    }
}

impl FromJs for PreKey {
    const WHAT: &'static str = "record";
    fn from_js(i: &In) -> StoreResult<Self> {
        let o = i.clone().object()?;
        Ok(PreKey {
            key_id: o.field("keyId")?.u32()?,
            key_pair: KeyPair::from_js(&o.field("keyPair")?)?,
            uploaded: o.field("uploaded")?.opt_bool()?,
        })
    }
}

/// `{ address, identityKey }` for `setRemoteIdentities`.
pub struct IdentityEntry(pub SignalAddress, pub Vec<u8>);
impl FromJs for IdentityEntry {
    const WHAT: &'static str = "entries";
    fn from_js(i: &In) -> StoreResult<Self> {
        let o = i.clone().object()?;
        Ok(IdentityEntry(SignalAddress::from_js(&o.field("address")?)?, o.field("identityKey")?.bytes()?))
    }
}

/// Opaque client records (Signal sessions, credentials) must be objects.
pub fn require_object(i: &In) -> StoreResult<()> {
    if i.is_nullish() {
        return Err(StoreError::invalid_argument(format!("{} must be an object, got {}", i.path, if i.type_of() == napi::sys::ValueType::napi_null { "null" } else { "undefined" })));
    }
    i.clone().object().map(|_| ())
}

/// A whole sender-key record object: stored as is, keyed by its `groupId` and `sender`.
impl FromJs for SenderKey {
    const WHAT: &'static str = "record";
    fn from_js(i: &In) -> StoreResult<Self> {
        let o = i.clone().object()?;
        let group_id = o.field("groupId")?.id()?;
        let sender = SignalAddress::from_js(&o.field("sender")?)?;
        Ok(SenderKey { group_id, sender, record: o.encoded()? })
    }
}

impl FromJs for SenderKeyDistribution {
    const WHAT: &'static str = "record";
    fn from_js(i: &In) -> StoreResult<Self> {
        let o = i.clone().object()?;
        Ok(SenderKeyDistribution {
            group_id: o.field("groupId")?.id()?,
            sender: SignalAddress::from_js(&o.field("sender")?)?,
            key_id: o.field("keyId")?.u32()?,
            timestamp_ms: o.field("timestampMs")?.int()?,
        })
    }
}

impl FromJs for SyncKey {
    const WHAT: &'static str = "keys";
    fn from_js(i: &In) -> StoreResult<Self> {
        let o = i.clone().object()?;
        let fingerprint = o.field("fingerprint")?;
        Ok(SyncKey {
            key_id: non_empty_bytes(&o.field("keyId")?)?,
            key_data: o.field("keyData")?.bytes()?,
            timestamp: o.field("timestamp")?.int()?,
            fingerprint: if fingerprint.type_of() == napi::sys::ValueType::napi_undefined { None } else { Some(fingerprint.encoded()?) },
        })
    }
}

/// An app-state key id: a non-empty `Uint8Array`.
pub struct SyncKeyId(pub Vec<u8>);
impl FromJs for SyncKeyId {
    const WHAT: &'static str = "keyId";
    fn from_js(i: &In) -> StoreResult<Self> {
        non_empty_bytes(i).map(SyncKeyId)
    }
}

fn non_empty_bytes(i: &In) -> StoreResult<Vec<u8>> {
    let b = i.bytes()?;
    if b.is_empty() {
        return Err(StoreError::invalid_argument(format!("{} must not be empty", i.path)));
    }
    Ok(b)
}

impl FromJs for CollectionUpdate {
    const WHAT: &'static str = "updates";
    fn from_js(i: &In) -> StoreResult<Self> {
        let o = i.clone().object()?;
        let map = o.field("indexValueMap")?;
        let index_value_map = map
            .map_entries()?
            .into_iter()
            .map(|(k, v)| Ok((k.id()?, v.bytes()?)))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(CollectionUpdate {
            collection: o.field("collection")?.id()?,
            version: o.field("version")?.int()?,
            hash: o.field("hash")?.bytes()?,
            index_value_map,
        })
    }
}

impl FromJs for PrivacyToken {
    const WHAT: &'static str = "record";
    fn from_js(i: &In) -> StoreResult<Self> {
        let o = i.clone().object()?;
        Ok(PrivacyToken {
            jid: o.field("jid")?.id()?,
            tc_token: o.field("tcToken")?.opt_bytes()?,
            tc_token_timestamp: o.field("tcTokenTimestamp")?.opt_int()?,
            tc_token_sender_timestamp: o.field("tcTokenSenderTimestamp")?.opt_int()?,
            nct_salt: o.field("nctSalt")?.opt_bytes()?,
            updated_at_ms: o.field("updatedAtMs")?.int()?,
        })
    }
}

impl FromJs for StoredMessage {
    const WHAT: &'static str = "record";
    fn from_js(i: &In) -> StoreResult<Self> {
        let o = i.clone().object()?;
        Ok(StoredMessage {
            id: o.field("id")?.id()?,
            thread_jid: o.field("threadJid")?.id()?,
            sender_jid: o.field("senderJid")?.opt_string()?,
            participant_jid: o.field("participantJid")?.opt_string()?,
            from_me: o.field("fromMe")?.bool()?,
            timestamp_ms: o.field("timestampMs")?.opt_int()?,
            message_bytes: o.field("messageBytes")?.opt_bytes()?,
        })
    }
}

impl FromJs for crate::domain::threads::StoredThread {
    const WHAT: &'static str = "record";
    fn from_js(i: &In) -> StoreResult<Self> {
        let o = i.clone().object()?;
        Ok(Self {
            jid: o.field("jid")?.id()?,
            name: o.field("name")?.opt_string()?,
            unread_count: o.field("unreadCount")?.opt_int()?,
            archived: o.field("archived")?.opt_bool()?,
            pinned: o.field("pinned")?.opt_int()?,
            mute_end_ms: o.field("muteEndMs")?.opt_int()?,
            marked_as_unread: o.field("markedAsUnread")?.opt_bool()?,
            ephemeral_expiration: o.field("ephemeralExpiration")?.opt_int()?,
            ephemeral_setting_timestamp: o.field("ephemeralSettingTimestamp")?.opt_int()?,
        })
    }
}

impl FromJs for StoredContact {
    const WHAT: &'static str = "record";
    fn from_js(i: &In) -> StoreResult<Self> {
        let o = i.clone().object()?;
        Ok(StoredContact {
            jid: o.field("jid")?.id()?,
            display_name: o.field("displayName")?.opt_string()?,
            push_name: o.field("pushName")?.opt_string()?,
            lid: o.field("lid")?.opt_string()?,
            phone_number: o.field("phoneNumber")?.opt_string()?,
            username: o.field("username")?.opt_string()?,
            last_updated_ms: o.field("lastUpdatedMs")?.int()?,
        })
    }
}

fn opt_strings(i: &In) -> StoreResult<Option<Vec<String>>> {
    if i.is_nullish() { Ok(None) } else { i.list(|s| s.string()).map(Some) }
}

pub const REPLAY_MODES: [&str; 3] = ["plaintext", "encrypted", "opaque_node"];
pub const RETRY_STATES: [&str; 5] = ["pending", "delivered", "read", "played", "ineligible"];

/// One of a fixed set of strings.
pub fn one_of(i: &In, allowed: &[&str]) -> StoreResult<String> {
    let s = i.string()?;
    if allowed.contains(&s.as_str()) {
        Ok(s)
    } else {
        Err(StoreError::invalid_argument(format!("{} must be one of {}, got {s:?}", i.path, allowed.join(", "))))
    }
}

impl FromJs for RetryOutboundMessage {
    const WHAT: &'static str = "record";
    fn from_js(i: &In) -> StoreResult<Self> {
        let o = i.clone().object()?;
        let payload = o.field("replayPayload")?;
        if payload.is_nullish() {
            return Err(StoreError::invalid_argument(format!("{} is required", payload.path)));
        }
        Ok(RetryOutboundMessage {
            message_id: o.field("messageId")?.id()?,
            to_jid: o.field("toJid")?.string()?,
            eligible_requester_device_jids: opt_strings(&o.field("eligibleRequesterDeviceJids")?)?,
            delivered_requester_device_jids: opt_strings(&o.field("deliveredRequesterDeviceJids")?)?,
            replay_mode: one_of(&o.field("replayMode")?, &REPLAY_MODES)?,
            replay_payload: payload.encoded()?,
            state: one_of(&o.field("state")?, &RETRY_STATES)?,
            updated_at_ms: o.field("updatedAtMs")?.int()?,
            expires_at_ms: o.field("expiresAtMs")?.int()?,
        })
    }
}

/// A retry state argument (`updateOutboundMessageState`).
pub struct RetryState(pub String);
impl FromJs for RetryState {
    const WHAT: &'static str = "state";
    fn from_js(i: &In) -> StoreResult<Self> {
        one_of(i, &RETRY_STATES).map(RetryState)
    }
}

impl FromJs for GroupMetadata {
    const WHAT: &'static str = "snapshot";
    fn from_js(i: &In) -> StoreResult<Self> {
        let o = i.clone().object()?;
        Ok(GroupMetadata {
            group_jid: o.field("groupJid")?.id()?,
            participants: o.field("participants")?.list(|s| s.string())?,
            ephemeral: o.field("ephemeral")?.opt_int()?,
            ephemeral_trigger: o.field("ephemeralTrigger")?.opt_int()?,
            updated_at_ms: o.field("updatedAtMs")?.int()?,
        })
    }
}

impl FromJs for ChatMetadata {
    const WHAT: &'static str = "snapshot";
    fn from_js(i: &In) -> StoreResult<Self> {
        let o = i.clone().object()?;
        Ok(ChatMetadata {
            chat_jid: o.field("chatJid")?.id()?,
            ephemeral_expiration: o.field("ephemeralExpiration")?.opt_int()?,
            ephemeral_setting_timestamp: o.field("ephemeralSettingTimestamp")?.opt_int()?,
            updated_at_ms: o.field("updatedAtMs")?.int()?,
        })
    }
}

impl FromJs for DeviceList {
    const WHAT: &'static str = "snapshots";
    fn from_js(i: &In) -> StoreResult<Self> {
        let o = i.clone().object()?;
        Ok(DeviceList {
            user_jid: o.field("userJid")?.id()?,
            alt_user_jid: o.field("altUserJid")?.opt_string()?.filter(|s| !s.is_empty()),
            device_jids: o.field("deviceJids")?.list(|s| s.string())?,
            updated_at_ms: o.field("updatedAtMs")?.int()?,
        })
    }
}

impl FromJs for MessageSecret {
    const WHAT: &'static str = "entry";
    fn from_js(i: &In) -> StoreResult<Self> {
        let o = i.clone().object()?;
        Ok(MessageSecret { secret: o.field("secret")?.bytes()?, sender_jid: o.field("senderJid")?.string()? })
    }
}

/// `{ messageId, entry }` for `setBatch`.
pub struct SecretEntry(pub String, pub MessageSecret);
impl FromJs for SecretEntry {
    const WHAT: &'static str = "entries";
    fn from_js(i: &In) -> StoreResult<Self> {
        let o = i.clone().object()?;
        Ok(SecretEntry(o.field("messageId")?.id()?, MessageSecret::from_js(&o.field("entry")?)?))
    }
}

/// A stored record argument: any non-null object, WSV-encoded (credentials, session records).
pub struct Record(pub Vec<u8>);
impl FromJs for Record {
    const WHAT: &'static str = "record";
    fn from_js(i: &In) -> StoreResult<Self> {
        require_object(i)?;
        i.encoded().map(Record)
    }
}
