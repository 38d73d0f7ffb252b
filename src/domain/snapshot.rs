//! Enumeration, export and import of everything a backend stores, one
//! session at a time: what `wastore migrate`, `export` and `import` use, and
//! what a later "rewrite every value in batches" (key rotation) can walk.
//!
//! - A session's data is a sequence of [`Record`]s, one variant per stored
//!   record kind, in a canonical order every backend produces: by
//!   [`RecordKind`], then by the record's natural key compared byte-wise
//!   ([`Record::sort_key`]). So the same data exports identically from any
//!   backend, and a page boundary ([`Cursor`]) means the same thing on all.
//! - Values are the stored bytes (WSV blobs, keys): nothing is decoded or
//!   re-encoded on the way, so a value encrypted by a layer above the
//!   backend stays encrypted.
//! - [`import_records`] writes records the way the domains write them, and
//!   cache records with their stored expiry. Writing the same records again
//!   changes nothing.
//! - Paging is keyset paging on the natural key: rewriting the records of a
//!   page in place (same keys) never moves the next page.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::app_state::{CollectionUpdate, SyncKey};
use super::chat_metadata::ChatMetadata;
use super::contacts::StoredContact;
use super::device_list::DeviceList;
use super::group_metadata::GroupMetadata;
use super::keys::KeyWrite;
use super::message_secret::MessageSecret;
use super::messages::StoredMessage;
use super::pre_key::PreKey;
use super::privacy_token::PrivacyToken;
use super::retry::RetryOutboundMessage;
use super::sender_key::{SenderKey, SenderKeyDistribution};
use super::signal::{RegistrationInfo, SignedPreKey};
use super::threads::StoredThread;
use super::{Backend, Blob, Domain, SignalAddress, StoreError, StoreResult};

/// Most records one export page or import call handles.
pub const MAX_PAGE: u32 = 10_000;

/// Every kind of stored record, in export order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordKind {
    Auth,
    Registration,
    SignedPreKey,
    SignalMeta,
    PreKey,
    Session,
    Identity,
    SenderKey,
    SenderKeyDistribution,
    AppStateSyncKey,
    AppStateCollection,
    PrivacyToken,
    Message,
    Thread,
    Contact,
    Key,
    RetryOutbound,
    RetryInbound,
    GroupMetadata,
    ChatMetadata,
    DeviceList,
    MessageSecret,
}

impl RecordKind {
    pub const ALL: [RecordKind; 22] = [
        RecordKind::Auth,
        RecordKind::Registration,
        RecordKind::SignedPreKey,
        RecordKind::SignalMeta,
        RecordKind::PreKey,
        RecordKind::Session,
        RecordKind::Identity,
        RecordKind::SenderKey,
        RecordKind::SenderKeyDistribution,
        RecordKind::AppStateSyncKey,
        RecordKind::AppStateCollection,
        RecordKind::PrivacyToken,
        RecordKind::Message,
        RecordKind::Thread,
        RecordKind::Contact,
        RecordKind::Key,
        RecordKind::RetryOutbound,
        RecordKind::RetryInbound,
        RecordKind::GroupMetadata,
        RecordKind::ChatMetadata,
        RecordKind::DeviceList,
        RecordKind::MessageSecret,
    ];

    /// The `kind` of a backup line.
    pub fn name(self) -> &'static str {
        match self {
            RecordKind::Auth => "auth",
            RecordKind::Registration => "registration",
            RecordKind::SignedPreKey => "signedPreKey",
            RecordKind::SignalMeta => "signalMeta",
            RecordKind::PreKey => "preKey",
            RecordKind::Session => "session",
            RecordKind::Identity => "identity",
            RecordKind::SenderKey => "senderKey",
            RecordKind::SenderKeyDistribution => "senderKeyDistribution",
            RecordKind::AppStateSyncKey => "appStateSyncKey",
            RecordKind::AppStateCollection => "appStateCollection",
            RecordKind::PrivacyToken => "privacyToken",
            RecordKind::Message => "message",
            RecordKind::Thread => "thread",
            RecordKind::Contact => "contact",
            RecordKind::Key => "key",
            RecordKind::RetryOutbound => "retryOutbound",
            RecordKind::RetryInbound => "retryInbound",
            RecordKind::GroupMetadata => "groupMetadata",
            RecordKind::ChatMetadata => "chatMetadata",
            RecordKind::DeviceList => "deviceList",
            RecordKind::MessageSecret => "messageSecret",
        }
    }

    pub fn from_name(name: &str) -> Option<RecordKind> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The domain that holds records of this kind. The signal meta row (the
    /// pre-key counter and flag, the signed pre-key rotation time) counts as `signal`.
    pub fn domain(self) -> Domain {
        match self {
            RecordKind::Auth => Domain::Auth,
            RecordKind::Registration | RecordKind::SignedPreKey | RecordKind::SignalMeta => Domain::Signal,
            RecordKind::PreKey => Domain::PreKey,
            RecordKind::Session => Domain::Session,
            RecordKind::Identity => Domain::Identity,
            RecordKind::SenderKey | RecordKind::SenderKeyDistribution => Domain::SenderKey,
            RecordKind::AppStateSyncKey | RecordKind::AppStateCollection => Domain::AppState,
            RecordKind::PrivacyToken => Domain::PrivacyToken,
            RecordKind::Message => Domain::Messages,
            RecordKind::Thread => Domain::Threads,
            RecordKind::Contact => Domain::Contacts,
            RecordKind::Key => Domain::Keys,
            RecordKind::RetryOutbound | RecordKind::RetryInbound => Domain::Retry,
            RecordKind::GroupMetadata => Domain::GroupMetadata,
            RecordKind::ChatMetadata => Domain::ChatMetadata,
            RecordKind::DeviceList => Domain::DeviceList,
            RecordKind::MessageSecret => Domain::MessageSecret,
        }
    }

    /// The parts of this kind's natural key: `t` text, `i` integer, `b` bytes.
    pub fn key_shape(self) -> &'static str {
        match self {
            RecordKind::Auth | RecordKind::Registration | RecordKind::SignedPreKey | RecordKind::SignalMeta => "",
            RecordKind::PreKey => "i",
            RecordKind::Session | RecordKind::Identity => "tti",
            RecordKind::SenderKey | RecordKind::SenderKeyDistribution => "ttti",
            RecordKind::AppStateSyncKey => "b",
            RecordKind::Key | RecordKind::RetryInbound => "tt",
            _ => "t",
        }
    }

    /// At most one record of this kind per session.
    pub fn is_singleton(self) -> bool {
        matches!(self, RecordKind::Auth | RecordKind::Registration | RecordKind::SignedPreKey | RecordKind::SignalMeta)
    }
}

/// The per-session counters shared by `signal` and `preKey`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalMeta {
    /// The next pre-key id to hand out (1 ..= 2^32).
    pub next_pre_key_id: u64,
    pub server_has_pre_keys: bool,
    pub signed_pre_key_rotation_ts: Option<i64>,
}

impl Default for SignalMeta {
    fn default() -> Self {
        Self { next_pre_key_id: 1, server_has_pre_keys: false, signed_pre_key_rotation_ts: None }
    }
}

/// An inbound retry counter of the `retry` cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryInbound {
    pub message_id: String,
    pub requester_jid: String,
    pub retry_count: u32,
    pub updated_at_ms: i64,
    pub expires_at_ms: i64,
}

/// One stored record, as the backend holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Auth {
        credentials: Blob,
    },
    Registration(RegistrationInfo),
    SignedPreKey(SignedPreKey),
    SignalMeta(SignalMeta),
    PreKey(PreKey),
    Session {
        address: SignalAddress,
        record: Blob,
    },
    Identity {
        address: SignalAddress,
        key: Vec<u8>,
    },
    SenderKey(SenderKey),
    SenderKeyDistribution(SenderKeyDistribution),
    AppStateSyncKey(SyncKey),
    /// An initialized collection; its map is exported sorted by index MAC.
    AppStateCollection(CollectionUpdate),
    PrivacyToken(PrivacyToken),
    Message(StoredMessage),
    Thread(StoredThread),
    Contact(StoredContact),
    Key {
        kind: String,
        id: String,
        value: Blob,
    },
    RetryOutbound(RetryOutboundMessage),
    RetryInbound(RetryInbound),
    GroupMetadata {
        record: GroupMetadata,
        expires_at_ms: i64,
    },
    ChatMetadata {
        record: ChatMetadata,
        expires_at_ms: i64,
    },
    DeviceList {
        record: DeviceList,
        expires_at_ms: i64,
    },
    MessageSecret {
        message_id: String,
        secret: MessageSecret,
        expires_at_ms: i64,
    },
}

/// One component of a natural key. Within one kind every key has the same
/// shape, so the derived order is the byte-wise order of the components.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyPart {
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

pub type SortKey = Vec<KeyPart>;

fn text(s: &str) -> KeyPart {
    KeyPart::Text(s.to_owned())
}

fn address_key(a: &SignalAddress) -> [KeyPart; 3] {
    [text(&a.user), text(&a.server), KeyPart::Int(i64::from(a.device))]
}

impl Record {
    pub fn kind(&self) -> RecordKind {
        match self {
            Record::Auth { .. } => RecordKind::Auth,
            Record::Registration(_) => RecordKind::Registration,
            Record::SignedPreKey(_) => RecordKind::SignedPreKey,
            Record::SignalMeta(_) => RecordKind::SignalMeta,
            Record::PreKey(_) => RecordKind::PreKey,
            Record::Session { .. } => RecordKind::Session,
            Record::Identity { .. } => RecordKind::Identity,
            Record::SenderKey(_) => RecordKind::SenderKey,
            Record::SenderKeyDistribution(_) => RecordKind::SenderKeyDistribution,
            Record::AppStateSyncKey(_) => RecordKind::AppStateSyncKey,
            Record::AppStateCollection(_) => RecordKind::AppStateCollection,
            Record::PrivacyToken(_) => RecordKind::PrivacyToken,
            Record::Message(_) => RecordKind::Message,
            Record::Thread(_) => RecordKind::Thread,
            Record::Contact(_) => RecordKind::Contact,
            Record::Key { .. } => RecordKind::Key,
            Record::RetryOutbound(_) => RecordKind::RetryOutbound,
            Record::RetryInbound(_) => RecordKind::RetryInbound,
            Record::GroupMetadata { .. } => RecordKind::GroupMetadata,
            Record::ChatMetadata { .. } => RecordKind::ChatMetadata,
            Record::DeviceList { .. } => RecordKind::DeviceList,
            Record::MessageSecret { .. } => RecordKind::MessageSecret,
        }
    }

    /// The natural key: what identifies the record within its kind and session.
    pub fn sort_key(&self) -> SortKey {
        match self {
            Record::Auth { .. } | Record::Registration(_) | Record::SignedPreKey(_) | Record::SignalMeta(_) => {
                Vec::new()
            }
            Record::PreKey(k) => vec![KeyPart::Int(i64::from(k.key_id))],
            Record::Session { address, .. } | Record::Identity { address, .. } => address_key(address).to_vec(),
            Record::SenderKey(k) => sender_key(&k.group_id, &k.sender),
            Record::SenderKeyDistribution(d) => sender_key(&d.group_id, &d.sender),
            Record::AppStateSyncKey(k) => vec![KeyPart::Bytes(k.key_id.clone())],
            Record::AppStateCollection(c) => vec![text(&c.collection)],
            Record::PrivacyToken(t) => vec![text(&t.jid)],
            Record::Message(m) => vec![text(&m.id)],
            Record::Thread(t) => vec![text(&t.jid)],
            Record::Contact(c) => vec![text(&c.jid)],
            Record::Key { kind, id, .. } => vec![text(kind), text(id)],
            Record::RetryOutbound(r) => vec![text(&r.message_id)],
            Record::RetryInbound(r) => vec![text(&r.message_id), text(&r.requester_jid)],
            Record::GroupMetadata { record, .. } => vec![text(&record.group_jid)],
            Record::ChatMetadata { record, .. } => vec![text(&record.chat_jid)],
            Record::DeviceList { record, .. } => vec![text(&record.user_jid)],
            Record::MessageSecret { message_id, .. } => vec![text(message_id)],
        }
    }

    /// Where the next page starts when this is the last record of a page.
    pub fn cursor(&self) -> Cursor {
        Cursor { kind: self.kind(), key: self.sort_key() }
    }

    /// Bytes of the record's binary values (what `stats` reports as size).
    pub fn payload_bytes(&self) -> u64 {
        let n = |b: &[u8]| b.len() as u64;
        let opt = |b: &Option<Vec<u8>>| b.as_deref().map_or(0, n);
        match self {
            Record::Auth { credentials } => n(credentials),
            Record::Registration(r) => n(&r.identity_key_pair.pub_key) + n(&r.identity_key_pair.priv_key),
            Record::SignedPreKey(k) => n(&k.key_pair.pub_key) + n(&k.key_pair.priv_key) + n(&k.signature),
            Record::SignalMeta(_) => 0,
            Record::PreKey(k) => n(&k.key_pair.pub_key) + n(&k.key_pair.priv_key),
            Record::Session { record, .. } => n(record),
            Record::Identity { key, .. } => n(key),
            Record::SenderKey(k) => n(&k.record),
            Record::SenderKeyDistribution(_) => 0,
            Record::AppStateSyncKey(k) => n(&k.key_data) + opt(&k.fingerprint),
            Record::AppStateCollection(c) => n(&c.hash) + c.index_value_map.iter().map(|(_, v)| n(v)).sum::<u64>(),
            Record::PrivacyToken(t) => opt(&t.tc_token) + opt(&t.nct_salt),
            Record::Message(m) => opt(&m.message_bytes),
            Record::Thread(_) | Record::Contact(_) => 0,
            Record::Key { value, .. } => n(value),
            Record::RetryOutbound(r) => n(&r.replay_payload),
            Record::RetryInbound(_) | Record::GroupMetadata { .. } | Record::ChatMetadata { .. } => 0,
            Record::DeviceList { .. } => 0,
            Record::MessageSecret { secret, .. } => n(&secret.secret),
        }
    }

    /// The canonical form: an app-state map sorted by index MAC (backends
    /// keep maps in insertion order or none at all).
    pub fn canonical(mut self) -> Self {
        if let Record::AppStateCollection(c) = &mut self {
            c.index_value_map.sort_by(|a, b| a.0.cmp(&b.0));
        }
        self
    }
}

fn sender_key(group: &str, sender: &SignalAddress) -> SortKey {
    let mut key = vec![text(group)];
    key.extend(address_key(sender));
    key
}

/// A position in a session's export: after the record of `kind` with natural key `key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub kind: RecordKind,
    pub key: SortKey,
}

impl Cursor {
    /// Opaque text form (JSON), for JavaScript and migration checkpoints.
    pub fn encode(&self) -> String {
        use serde_json::Value;
        let parts: Vec<Value> = self
            .key
            .iter()
            .map(|p| match p {
                KeyPart::Int(n) => Value::from(*n),
                KeyPart::Text(s) => Value::from(s.as_str()),
                KeyPart::Bytes(b) => serde_json::json!({ "hex": crate::domain::snapshot::hex(b) }),
            })
            .collect();
        serde_json::json!([self.kind.name(), parts]).to_string()
    }

    pub fn decode(raw: &str) -> StoreResult<Cursor> {
        use serde_json::Value;
        let bad = || StoreError::invalid_argument(format!("not an export cursor: {:?}", truncate(raw, 80)));
        let value: Value = serde_json::from_str(raw).map_err(|_| bad())?;
        let Value::Array(items) = value else { return Err(bad()) };
        let [Value::String(kind), Value::Array(parts)] = items.as_slice() else { return Err(bad()) };
        let kind = RecordKind::from_name(kind).ok_or_else(bad)?;
        let key = parts
            .iter()
            .map(|p| match p {
                Value::Number(n) => n.as_i64().map(KeyPart::Int).ok_or_else(bad),
                Value::String(s) => Ok(KeyPart::Text(s.clone())),
                Value::Object(o) => match o.get("hex") {
                    Some(Value::String(h)) if o.len() == 1 => unhex(h).map(KeyPart::Bytes).ok_or_else(bad),
                    _ => Err(bad()),
                },
                _ => Err(bad()),
            })
            .collect::<StoreResult<SortKey>>()?;
        let shape: Vec<u8> = key
            .iter()
            .map(|p| match p {
                KeyPart::Int(_) => b'i',
                KeyPart::Text(_) => b't',
                KeyPart::Bytes(_) => b'b',
            })
            .collect();
        if shape != kind.key_shape().as_bytes() {
            return Err(bad());
        }
        Ok(Cursor { kind, key })
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((at, _)) => &s[..at],
        None => s,
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

/// How many records of one kind a session holds, and their payload bytes
/// ([`Record::payload_bytes`]) when the backend can sum them cheaply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindCount {
    pub kind: RecordKind,
    pub records: u64,
    pub bytes: Option<u64>,
}

/// What every backend implements on top of the domain contracts.
#[async_trait]
pub trait SnapshotStore: Send + Sync {
    /// Ids of sessions holding at least one record, byte-wise ascending,
    /// greater than `after`, at most `limit` (≤ [`MAX_PAGE`]).
    async fn list_session_ids(&self, after: Option<&str>, limit: u32) -> StoreResult<Vec<String>>;

    /// One entry per kind in [`RecordKind::ALL`] order (zero counts included);
    /// `records` is what [`SnapshotStore::export_kind`] yields for the kind.
    async fn count_records(&self, sid: &str) -> StoreResult<Vec<KindCount>>;

    /// Records of one kind whose natural key is greater than `after`, in
    /// natural-key order ([`Record::sort_key`]), canonical
    /// ([`Record::canonical`]), at most `limit` (≤ [`MAX_PAGE`]).
    async fn export_kind(
        &self,
        sid: &str,
        kind: RecordKind,
        after: Option<&SortKey>,
        limit: u32,
    ) -> StoreResult<Vec<Record>>;

    /// The records of `sid` after `after`, every kind in order, at most
    /// `limit`. By default one [`SnapshotStore::export_kind`] per kind.
    async fn export_page(&self, sid: &str, after: Option<&Cursor>, limit: u32) -> StoreResult<ExportPage> {
        walk_kinds(after, limit, |kind, key, left| async move { self.export_kind(sid, kind, key.as_ref(), left).await })
            .await
    }

    /// Writes records of the kinds the domain contracts cannot write as
    /// stored ([`needs_exact_write`]): cache entries with their expiry,
    /// inbound retry counters, and the pre-key counter (raised, never lowered).
    async fn import_exact(&self, sid: &str, records: Vec<Record>) -> StoreResult<()>;
}

/// Kinds [`SnapshotStore::import_exact`] writes; every other kind goes
/// through its domain's own write method.
pub fn needs_exact_write(kind: RecordKind) -> bool {
    matches!(
        kind,
        RecordKind::SignalMeta
            | RecordKind::RetryInbound
            | RecordKind::GroupMetadata
            | RecordKind::ChatMetadata
            | RecordKind::DeviceList
            | RecordKind::MessageSecret
    )
}

/// The error of an [`SnapshotStore::import_exact`] given a record it does not write.
pub fn not_exact(r: &Record) -> StoreError {
    StoreError::invalid_argument(format!(
        "{} records are imported through their domain, not import_exact",
        r.kind().name()
    ))
}

/// One page of a session's export.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExportPage {
    pub records: Vec<Record>,
    /// Where the next page starts; `None` when this page ended the export.
    pub next: Option<Cursor>,
}

fn check_limit(limit: u32) -> StoreResult<u32> {
    if limit == 0 || limit > MAX_PAGE {
        return Err(StoreError::invalid_argument(format!("limit must be from 1 to {MAX_PAGE}, got {limit}")));
    }
    Ok(limit)
}

/// The records of `sid` after `after`, every kind in order, at most `limit`
/// (1 to [`MAX_PAGE`]).
pub async fn export_records(b: &dyn Backend, sid: &str, after: Option<&Cursor>, limit: u32) -> StoreResult<ExportPage> {
    b.export_page(sid, after, check_limit(limit)?).await
}

/// Walks the kinds from `after` on, asking `page(kind, after_key, room)` for
/// each until `limit` records are gathered; what [`SnapshotStore::export_page`]
/// does by default, and what a backend that reads a session in one go reuses.
pub async fn walk_kinds<F, Fut>(after: Option<&Cursor>, limit: u32, mut page: F) -> StoreResult<ExportPage>
where
    F: FnMut(RecordKind, Option<SortKey>, u32) -> Fut,
    Fut: std::future::Future<Output = StoreResult<Vec<Record>>>,
{
    let mut records: Vec<Record> = Vec::new();
    for kind in RecordKind::ALL {
        let key = match after {
            Some(c) if kind < c.kind => continue,
            // Nothing follows a singleton within its kind.
            Some(c) if kind == c.kind && kind.is_singleton() => continue,
            Some(c) if kind == c.kind => Some(c.key.clone()),
            _ => None,
        };
        let left = limit.saturating_sub(records.len() as u32);
        if left == 0 {
            break;
        }
        records.extend(page(kind, key, left).await?);
    }
    let next = (records.len() as u32 >= limit).then(|| records.last().map(Record::cursor)).flatten();
    Ok(ExportPage { records, next })
}

/// Every session id of the backend (in pages of `MAX_PAGE`).
pub async fn all_session_ids(b: &dyn Backend) -> StoreResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    loop {
        let page = b.list_session_ids(out.last().map(String::as_str), MAX_PAGE).await?;
        let done = (page.len() as u32) < MAX_PAGE;
        out.extend(page);
        if done {
            return Ok(out);
        }
    }
}

/// Writes `records` into `sid`: each kind through its domain's batch write
/// (sessions, identities and keys in one group commit), cache entries and
/// counters through [`SnapshotStore::import_exact`]. Threads, contacts and
/// privacy tokens merge field by field into a stored record, as their
/// domains do; every other kind replaces the stored record with its key.
pub async fn import_records(b: &dyn Backend, sid: &str, records: Vec<Record>) -> StoreResult<()> {
    use crate::domain::signal_batch::{SessionWrite, SignalWrite};
    if records.len() > MAX_PAGE as usize {
        return Err(StoreError::invalid_argument(format!(
            "import at most {MAX_PAGE} records per call, got {}",
            records.len()
        )));
    }
    let sid_arc: std::sync::Arc<str> = std::sync::Arc::from(sid);
    let mut signal: Vec<SessionWrite> = Vec::new();
    let mut exact: Vec<Record> = Vec::new();
    let mut pre_keys: Vec<PreKey> = Vec::new();
    let mut distributions: Vec<SenderKeyDistribution> = Vec::new();
    let mut sync_keys: Vec<SyncKey> = Vec::new();
    let mut collections: Vec<CollectionUpdate> = Vec::new();
    let mut tokens: Vec<PrivacyToken> = Vec::new();
    let mut messages: Vec<StoredMessage> = Vec::new();
    let mut threads: Vec<StoredThread> = Vec::new();
    let mut contacts: Vec<StoredContact> = Vec::new();
    let mut auth: Option<Blob> = None;
    let mut registration: Option<RegistrationInfo> = None;
    let mut signed: Option<SignedPreKey> = None;
    let mut outbound: Vec<RetryOutboundMessage> = Vec::new();
    let push = |w: SignalWrite, list: &mut Vec<SessionWrite>| {
        list.push(SessionWrite { sid: std::sync::Arc::clone(&sid_arc), write: w })
    };
    for r in records {
        match r {
            Record::Auth { credentials } => auth = Some(credentials),
            Record::Registration(x) => registration = Some(x),
            Record::SignedPreKey(x) => signed = Some(x),
            Record::PreKey(k) => pre_keys.push(k),
            Record::Session { address, record } => {
                push(SignalWrite::Session { address, record: Some(record) }, &mut signal)
            }
            Record::Identity { address, key } => push(SignalWrite::Identity { address, key }, &mut signal),
            Record::SenderKey(k) => push(SignalWrite::SenderKey(k), &mut signal),
            Record::Key { kind, id, value } => {
                super::keys::check_key(&kind, &id)?;
                push(SignalWrite::Key(KeyWrite { kind, id, value: Some(value) }), &mut signal)
            }
            Record::SenderKeyDistribution(d) => distributions.push(d),
            Record::AppStateSyncKey(k) => sync_keys.push(k),
            Record::AppStateCollection(c) => collections.push(c),
            Record::PrivacyToken(t) => tokens.push(t),
            Record::Message(m) => messages.push(m),
            Record::Thread(t) => threads.push(t),
            Record::Contact(c) => contacts.push(c),
            Record::RetryOutbound(o) => outbound.push(o),
            other => exact.push(other),
        }
    }
    if let Some(credentials) = auth {
        b.save(sid, credentials).await?;
    }
    if let Some(info) = registration {
        b.set_registration_info(sid, info).await?;
    }
    if let Some(record) = signed {
        b.set_signed_pre_key(sid, record).await?;
    }
    for key in pre_keys {
        b.put_pre_key(sid, key).await?;
    }
    if !signal.is_empty() {
        b.commit_signal_batch(&signal, &[]).await?;
    }
    if !distributions.is_empty() {
        b.upsert_sender_key_distributions(sid, distributions).await?;
    }
    if !sync_keys.is_empty() {
        b.upsert_sync_keys(sid, sync_keys).await?;
    }
    if !collections.is_empty() {
        b.set_collection_states(sid, collections).await?;
    }
    if !tokens.is_empty() {
        b.upsert_privacy_tokens(sid, tokens).await?;
    }
    if !messages.is_empty() {
        b.upsert_messages(sid, messages).await?;
    }
    if !threads.is_empty() {
        b.upsert_threads(sid, threads).await?;
    }
    if !contacts.is_empty() {
        b.upsert_contacts(sid, contacts).await?;
    }
    for o in outbound {
        b.upsert_outbound_message(sid, o).await?;
    }
    if !exact.is_empty() {
        b.import_exact(sid, exact).await?;
    }
    Ok(())
}

/// Deletes every record of `sid` in every domain of `b` (other sessions untouched).
pub async fn clear_session(b: &dyn Backend, sid: &str) -> StoreResult<()> {
    use super::{
        app_state::AppStateStore, auth::AuthStore, chat_metadata::ChatMetadataStore, contacts::ContactStore,
        device_list::DeviceListStore, group_metadata::GroupMetadataStore, identity::IdentityStore, keys::KeyStore,
        message_secret::MessageSecretStore, messages::MessageStore, pre_key::PreKeyStore,
        privacy_token::PrivacyTokenStore, retry::RetryStore, sender_key::SenderKeyStore, session::SessionStore,
        signal::SignalStore, threads::ThreadStore,
    };
    AuthStore::clear(b, sid).await?;
    SignalStore::clear(b, sid).await?;
    PreKeyStore::clear(b, sid).await?;
    SessionStore::clear(b, sid).await?;
    IdentityStore::clear(b, sid).await?;
    SenderKeyStore::clear(b, sid).await?;
    AppStateStore::clear(b, sid).await?;
    PrivacyTokenStore::clear(b, sid).await?;
    MessageStore::clear(b, sid).await?;
    ThreadStore::clear(b, sid).await?;
    ContactStore::clear(b, sid).await?;
    RetryStore::clear(b, sid).await?;
    GroupMetadataStore::clear(b, sid).await?;
    ChatMetadataStore::clear(b, sid).await?;
    DeviceListStore::clear(b, sid).await?;
    MessageSecretStore::clear(b, sid).await?;
    KeyStore::clear_keys(b, sid).await
}

/// Per-kind counts summed per domain, in the order domains first appear.
pub fn counts_by_domain(counts: &[KindCount]) -> Vec<(Domain, u64, Option<u64>)> {
    let mut out: Vec<(Domain, u64, Option<u64>)> = Vec::new();
    for c in counts {
        let domain = c.kind.domain();
        match out.iter_mut().find(|(d, _, _)| *d == domain) {
            Some((_, n, bytes)) => {
                *n += c.records;
                *bytes = bytes.zip(c.bytes).map(|(a, b)| a + b);
            }
            None => out.push((domain, c.records, c.bytes)),
        }
    }
    out
}

/// For backends without a native order: the canonical page of `records`
/// (every record of one kind), sorted, after `after`, at most `limit`.
pub fn page_sorted(records: Vec<Record>, after: Option<&SortKey>, limit: u32) -> Vec<Record> {
    let mut keyed: BTreeMap<SortKey, Record> = BTreeMap::new();
    for r in records {
        let key = r.sort_key();
        if after.is_none_or(|a| key > *a) {
            keyed.insert(key, r);
        }
    }
    keyed.into_values().take(limit as usize).map(Record::canonical).collect()
}

/// Counts computed from every record of each kind (backends that hold them in memory).
pub fn count_of(records_by_kind: impl IntoIterator<Item = (RecordKind, Vec<Record>)>) -> Vec<KindCount> {
    let mut counts: Vec<KindCount> =
        RecordKind::ALL.iter().map(|&kind| KindCount { kind, records: 0, bytes: Some(0) }).collect();
    for (kind, records) in records_by_kind {
        if let Some(c) = counts.iter_mut().find(|c| c.kind == kind) {
            c.records += records.len() as u64;
            c.bytes = Some(c.bytes.unwrap_or(0) + records.iter().map(Record::payload_bytes).sum::<u64>());
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_unique_names_and_are_in_order() {
        for (i, k) in RecordKind::ALL.iter().enumerate() {
            assert_eq!(RecordKind::from_name(k.name()), Some(*k));
            if i > 0 {
                assert!(RecordKind::ALL[i - 1] < *k);
            }
        }
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = Cursor {
            kind: RecordKind::Session,
            key: vec![KeyPart::Text("a\"b\u{0}🙂".into()), KeyPart::Text("s".into()), KeyPart::Int(-3)],
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        let k = Cursor { kind: RecordKind::AppStateSyncKey, key: vec![KeyPart::Bytes(vec![0, 255])] };
        assert_eq!(Cursor::decode(&k.encode()).unwrap(), k);
        for bad in [
            "",
            "[]",
            "[\"nope\",[]]",
            "[\"appStateSyncKey\",[{\"hex\":\"zz\"}]]",
            "[\"session\",[1.5]]",
            "[\"session\",[\"a\"]]",
            "[\"auth\",[1]]",
            "{}",
        ] {
            assert_eq!(Cursor::decode(bad).unwrap_err().code, crate::error::ErrorCode::InvalidArgument, "{bad}");
        }
    }

    #[test]
    fn byte_order_not_char_order() {
        // 'é' (0xC3 0xA9) sorts after 'z' byte-wise.
        assert!(KeyPart::Text("é".into()) > KeyPart::Text("z".into()));
        let recs: Vec<Record> = ["b", "é", "a"]
            .iter()
            .map(|id| Record::Key { kind: "t".into(), id: id.to_string(), value: vec![] })
            .collect();
        let page = page_sorted(recs, Some(&vec![text("t"), text("a")]), 10);
        let ids: Vec<String> = page
            .iter()
            .map(|r| match r {
                Record::Key { id, .. } => id.clone(),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(ids, vec!["b", "é"]);
    }
}
