//! Domain records → JS objects. These `#[napi(object)]` structs also define
//! the TypeScript interfaces in `index.d.ts`; they are read from JS by hand
//! (`records_in.rs`) so bad input gets coded, field-named errors.

use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;

use crate::domain::app_state::{AppStateExport, CollectionState, SyncKey};
use crate::domain::chat_metadata::ChatMetadata;
use crate::domain::contacts::StoredContact;
use crate::domain::device_list::DeviceList;
use crate::domain::group_metadata::GroupMetadata;
use crate::domain::message_secret::MessageSecret;
use crate::domain::messages::StoredMessage;
use crate::domain::pre_key::PreKey;
use crate::domain::privacy_token::PrivacyToken;
use crate::domain::retry::{RequesterStatus, RetryOutboundMessage};
use crate::domain::sender_key::SenderKeyDistribution;
use crate::domain::signal::{RegistrationInfo, SignedPreKey};
use crate::domain::threads::StoredThread;
use crate::domain::{KeyPair, SignalAddress};

use super::value::{new_bytes, new_map, new_string, Decoded};

fn bytes(v: Vec<u8>) -> Uint8Array {
    Uint8Array::new(v)
}

/// A Signal protocol address. `server` defaults to `s.whatsapp.net`.
#[napi(object, object_from_js = false, js_name = "SignalAddress")]
pub struct JsSignalAddress {
    pub user: String,
    pub server: Option<String>,
    pub device: u32,
}

impl From<SignalAddress> for JsSignalAddress {
    fn from(a: SignalAddress) -> Self {
        Self { user: a.user, server: Some(a.server), device: a.device }
    }
}

#[napi(object, object_from_js = false, js_name = "KeyPair")]
pub struct JsKeyPair {
    pub pub_key: Uint8Array,
    pub priv_key: Uint8Array,
}

impl From<KeyPair> for JsKeyPair {
    fn from(k: KeyPair) -> Self {
        Self { pub_key: bytes(k.pub_key), priv_key: bytes(k.priv_key) }
    }
}

#[napi(object, object_from_js = false, js_name = "RegistrationInfo")]
pub struct JsRegistrationInfo {
    pub registration_id: u32,
    pub identity_key_pair: JsKeyPair,
}

impl From<RegistrationInfo> for JsRegistrationInfo {
    fn from(r: RegistrationInfo) -> Self {
        Self { registration_id: r.registration_id, identity_key_pair: r.identity_key_pair.into() }
    }
}

#[napi(object, object_from_js = false, js_name = "SignedPreKeyRecord")]
pub struct JsSignedPreKey {
    pub key_id: u32,
    pub key_pair: JsKeyPair,
    pub signature: Uint8Array,
    pub uploaded: Option<bool>,
}

impl From<SignedPreKey> for JsSignedPreKey {
    fn from(r: SignedPreKey) -> Self {
        Self { key_id: r.key_id, key_pair: r.key_pair.into(), signature: bytes(r.signature), uploaded: r.uploaded }
    }
}

#[napi(object, object_from_js = false, js_name = "PreKeyRecord")]
pub struct JsPreKey {
    pub key_id: u32,
    pub key_pair: JsKeyPair,
    pub uploaded: Option<bool>,
}

impl From<PreKey> for JsPreKey {
    fn from(r: PreKey) -> Self {
        Self { key_id: r.key_id, key_pair: r.key_pair.into(), uploaded: r.uploaded }
    }
}

#[napi(object, object_from_js = false, js_name = "SenderKeyDistributionRecord")]
pub struct JsSenderKeyDistribution {
    pub group_id: String,
    pub sender: JsSignalAddress,
    pub key_id: u32,
    pub timestamp_ms: f64,
}

impl From<SenderKeyDistribution> for JsSenderKeyDistribution {
    fn from(d: SenderKeyDistribution) -> Self {
        Self { group_id: d.group_id, sender: d.sender.into(), key_id: d.key_id, timestamp_ms: d.timestamp_ms as f64 }
    }
}

/// Everything stored for one group.
#[napi(object, object_from_js = false, js_name = "GroupSenderKeyList")]
pub struct JsGroupSenderKeyList {
    #[napi(ts_type = "SenderKeyRecord[]")]
    pub sk_list: Vec<Decoded>,
    pub sk_distrib_list: Vec<JsSenderKeyDistribution>,
}

#[napi(object, object_from_js = false, js_name = "AppStateSyncKey")]
pub struct JsSyncKey {
    pub key_id: Uint8Array,
    pub key_data: Uint8Array,
    pub timestamp: f64,
    #[napi(ts_type = "StoredValue")]
    pub fingerprint: Option<Decoded>,
}

impl From<SyncKey> for JsSyncKey {
    fn from(k: SyncKey) -> Self {
        Self { key_id: bytes(k.key_id), key_data: bytes(k.key_data), timestamp: k.timestamp as f64, fingerprint: k.fingerprint.map(Decoded) }
    }
}

/// `Map<indexMacHex, valueMac>`.
pub struct IndexValueMap(pub Vec<(String, Vec<u8>)>);

impl ToNapiValue for IndexValueMap {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let entries = val.0.iter().map(|(k, v)| Ok((new_string(env, k)?, new_bytes(env, v, false)?)));
        new_map(env, entries).map_err(|e| super::errors::to_napi(env, &e))
    }
}

impl TypeName for IndexValueMap {
    fn type_name() -> &'static str {
        "Map<string, Uint8Array>"
    }
    fn value_type() -> ValueType {
        ValueType::Object
    }
}

#[napi(object, object_from_js = false, js_name = "AppStateCollectionState")]
pub struct JsCollectionState {
    pub initialized: bool,
    pub version: f64,
    pub hash: Uint8Array,
    #[napi(ts_type = "Map<string, Uint8Array>")]
    pub index_value_map: IndexValueMap,
}

impl From<CollectionState> for JsCollectionState {
    fn from(s: CollectionState) -> Self {
        Self { initialized: s.initialized, version: s.version as f64, hash: bytes(s.hash), index_value_map: IndexValueMap(s.index_value_map) }
    }
}

/// `exportData()`: collections as a plain record `{ [name]: { version, hash, indexValueMap: { [hex]: Uint8Array } } }`.
pub struct ExportedCollections(pub Vec<crate::domain::app_state::CollectionUpdate>);

impl ToNapiValue for ExportedCollections {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let env_ = Env::from_raw(env);
        let out = Object::new(&env_)?;
        for c in val.0 {
            let mut entry = Object::new(&env_)?;
            entry.set_named_property("version", c.version as f64)?;
            entry.set_named_property("hash", bytes(c.hash))?;
            let map = Object::new(&env_)?;
            for (k, v) in c.index_value_map {
                let key = new_string(env, &k).map_err(|e| super::errors::to_napi(env, &e))?;
                let value = new_bytes(env, &v, false).map_err(|e| super::errors::to_napi(env, &e))?;
                let status = unsafe { sys::napi_set_property(env, map.raw(), key, value) };
                if status != sys::Status::napi_ok {
                    return Err(napi::Error::from_reason("could not build indexValueMap"));
                }
            }
            entry.set_named_property("indexValueMap", map)?;
            // Collection names are data: set them as keys, not C strings (they may hold NUL).
            let key = new_string(env, &c.collection).map_err(|e| super::errors::to_napi(env, &e))?;
            if unsafe { sys::napi_set_property(env, out.raw(), key, entry.raw()) } != sys::Status::napi_ok {
                return Err(napi::Error::from_reason("could not build the exported collections"));
            }
        }
        Ok(out.raw())
    }
}

#[napi(object, object_from_js = false, js_name = "AppStateExport")]
pub struct JsAppStateExport {
    pub keys: Vec<JsSyncKey>,
    #[napi(ts_type = "Record<string, { version: number; hash: Uint8Array; indexValueMap: Record<string, Uint8Array> }>")]
    pub collections: ExportedCollections,
}

impl From<AppStateExport> for JsAppStateExport {
    fn from(e: AppStateExport) -> Self {
        Self { keys: e.keys.into_iter().map(Into::into).collect(), collections: ExportedCollections(e.collections) }
    }
}

impl TypeName for ExportedCollections {
    fn type_name() -> &'static str {
        "object"
    }
    fn value_type() -> ValueType {
        ValueType::Object
    }
}

#[napi(object, object_from_js = false, js_name = "PrivacyTokenRecord")]
pub struct JsPrivacyToken {
    pub jid: String,
    pub tc_token: Option<Uint8Array>,
    pub tc_token_timestamp: Option<f64>,
    pub tc_token_sender_timestamp: Option<f64>,
    pub nct_salt: Option<Uint8Array>,
    pub updated_at_ms: f64,
}

impl From<PrivacyToken> for JsPrivacyToken {
    fn from(t: PrivacyToken) -> Self {
        Self {
            jid: t.jid,
            tc_token: t.tc_token.map(bytes),
            tc_token_timestamp: t.tc_token_timestamp.map(|v| v as f64),
            tc_token_sender_timestamp: t.tc_token_sender_timestamp.map(|v| v as f64),
            nct_salt: t.nct_salt.map(bytes),
            updated_at_ms: t.updated_at_ms as f64,
        }
    }
}

#[napi(object, object_from_js = false, js_name = "StoredMessageRecord")]
pub struct JsStoredMessage {
    pub id: String,
    pub thread_jid: String,
    pub sender_jid: Option<String>,
    pub participant_jid: Option<String>,
    pub from_me: bool,
    pub timestamp_ms: Option<f64>,
    pub message_bytes: Option<Uint8Array>,
}

impl From<StoredMessage> for JsStoredMessage {
    fn from(m: StoredMessage) -> Self {
        Self {
            id: m.id,
            thread_jid: m.thread_jid,
            sender_jid: m.sender_jid,
            participant_jid: m.participant_jid,
            from_me: m.from_me,
            timestamp_ms: m.timestamp_ms.map(|v| v as f64),
            message_bytes: m.message_bytes.map(bytes),
        }
    }
}

#[napi(object, object_from_js = false, js_name = "StoredThreadRecord")]
pub struct JsStoredThread {
    pub jid: String,
    pub name: Option<String>,
    pub unread_count: Option<f64>,
    pub archived: Option<bool>,
    pub pinned: Option<f64>,
    pub mute_end_ms: Option<f64>,
    pub marked_as_unread: Option<bool>,
    pub ephemeral_expiration: Option<f64>,
    pub ephemeral_setting_timestamp: Option<f64>,
}

impl From<StoredThread> for JsStoredThread {
    fn from(t: StoredThread) -> Self {
        let f = |v: Option<i64>| v.map(|n| n as f64);
        Self {
            jid: t.jid,
            name: t.name,
            unread_count: f(t.unread_count),
            archived: t.archived,
            pinned: f(t.pinned),
            mute_end_ms: f(t.mute_end_ms),
            marked_as_unread: t.marked_as_unread,
            ephemeral_expiration: f(t.ephemeral_expiration),
            ephemeral_setting_timestamp: f(t.ephemeral_setting_timestamp),
        }
    }
}

#[napi(object, object_from_js = false, js_name = "StoredContactRecord")]
pub struct JsStoredContact {
    pub jid: String,
    pub display_name: Option<String>,
    pub push_name: Option<String>,
    pub lid: Option<String>,
    pub phone_number: Option<String>,
    pub username: Option<String>,
    pub last_updated_ms: f64,
}

impl From<StoredContact> for JsStoredContact {
    fn from(c: StoredContact) -> Self {
        Self {
            jid: c.jid,
            display_name: c.display_name,
            push_name: c.push_name,
            lid: c.lid,
            phone_number: c.phone_number,
            username: c.username,
            last_updated_ms: c.last_updated_ms as f64,
        }
    }
}

#[napi(object, object_from_js = false, js_name = "RetryOutboundMessageRecord")]
pub struct JsRetryOutboundMessage {
    pub message_id: String,
    pub to_jid: String,
    pub eligible_requester_device_jids: Option<Vec<String>>,
    pub delivered_requester_device_jids: Option<Vec<String>>,
    #[napi(ts_type = "RetryReplayMode")]
    pub replay_mode: String,
    #[napi(ts_type = "Uint8Array | StoredObject")]
    pub replay_payload: Decoded,
    #[napi(ts_type = "RetryOutboundState")]
    pub state: String,
    pub updated_at_ms: f64,
    pub expires_at_ms: f64,
}

impl From<RetryOutboundMessage> for JsRetryOutboundMessage {
    fn from(r: RetryOutboundMessage) -> Self {
        Self {
            message_id: r.message_id,
            to_jid: r.to_jid,
            eligible_requester_device_jids: r.eligible_requester_device_jids,
            delivered_requester_device_jids: r.delivered_requester_device_jids,
            replay_mode: r.replay_mode,
            replay_payload: Decoded(r.replay_payload),
            state: r.state,
            updated_at_ms: r.updated_at_ms as f64,
            expires_at_ms: r.expires_at_ms as f64,
        }
    }
}

#[napi(object, object_from_js = false, js_name = "RetryRequesterStatus")]
pub struct JsRequesterStatus {
    pub eligible: bool,
    pub delivered: bool,
}

impl From<RequesterStatus> for JsRequesterStatus {
    fn from(s: RequesterStatus) -> Self {
        Self { eligible: s.eligible, delivered: s.delivered }
    }
}

#[napi(object, object_from_js = false, js_name = "GroupMetadataSnapshot")]
pub struct JsGroupMetadata {
    pub group_jid: String,
    pub participants: Vec<String>,
    pub ephemeral: Option<f64>,
    pub ephemeral_trigger: Option<f64>,
    pub updated_at_ms: f64,
}

impl From<GroupMetadata> for JsGroupMetadata {
    fn from(g: GroupMetadata) -> Self {
        Self {
            group_jid: g.group_jid,
            participants: g.participants,
            ephemeral: g.ephemeral.map(|v| v as f64),
            ephemeral_trigger: g.ephemeral_trigger.map(|v| v as f64),
            updated_at_ms: g.updated_at_ms as f64,
        }
    }
}

#[napi(object, object_from_js = false, js_name = "ChatMetadataSnapshot")]
pub struct JsChatMetadata {
    pub chat_jid: String,
    pub ephemeral_expiration: Option<f64>,
    pub ephemeral_setting_timestamp: Option<f64>,
    pub updated_at_ms: f64,
}

impl From<ChatMetadata> for JsChatMetadata {
    fn from(c: ChatMetadata) -> Self {
        Self {
            chat_jid: c.chat_jid,
            ephemeral_expiration: c.ephemeral_expiration.map(|v| v as f64),
            ephemeral_setting_timestamp: c.ephemeral_setting_timestamp.map(|v| v as f64),
            updated_at_ms: c.updated_at_ms as f64,
        }
    }
}

#[napi(object, object_from_js = false, js_name = "DeviceListSnapshot")]
pub struct JsDeviceList {
    pub user_jid: String,
    pub alt_user_jid: Option<String>,
    pub device_jids: Vec<String>,
    pub updated_at_ms: f64,
}

impl From<DeviceList> for JsDeviceList {
    fn from(d: DeviceList) -> Self {
        Self { user_jid: d.user_jid, alt_user_jid: d.alt_user_jid, device_jids: d.device_jids, updated_at_ms: d.updated_at_ms as f64 }
    }
}

#[napi(object, object_from_js = false, js_name = "MessageSecretEntry")]
pub struct JsMessageSecret {
    pub secret: Uint8Array,
    pub sender_jid: String,
}

impl From<MessageSecret> for JsMessageSecret {
    fn from(m: MessageSecret) -> Self {
        Self { secret: bytes(m.secret), sender_jid: m.sender_jid }
    }
}

/// Maps a positional batch of optional records.
pub fn batch<T, U: From<T>>(items: Vec<Option<T>>) -> Vec<Option<U>> {
    items.into_iter().map(|o| o.map(Into::into)).collect()
}
