//! Enumeration, export and import ([`SnapshotStore`]).
//!
//! Redis has no per-session index, so a session's keys are found with one
//! `SCAN` of `<prefix>*:{<sid>}:*` (glob characters escaped; only keys whose
//! tag is one of ours and whose base is exactly this session's are kept).
//! An export page scans once and walks the kinds from the cursor; records
//! are sorted by their natural key in Rust and fetched in one pipeline. Like
//! `clear()`, this walks the whole keyspace and is not a snapshot: a record
//! written while it runs may be missed. Imports of cache entries go through
//! the same scripts as the domains' writes, with the stored expiry.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use async_trait::async_trait;
use redis::{Script, Value};

use super::app_state::sync_key;
use super::caches::{chat_metadata, device_list, entry_member, group_metadata, Entry, PUT_DEVICE_LISTS};
use super::layout::{esc, glob_escape, parse_addr_part, unesc, Area, Space, TAGS};
use super::mailbox::{contact, message, privacy_token, thread};
use super::retry::outbound;
use super::scripts::lua;
use super::sender_keys::distribution;
use super::signal_keys::{key_pair, pre_key, signed_pre_key};
use super::values::{self, flag, Fields, Hash};
use super::{RedisBackend, SCAN_COUNT};
use crate::backend::json_list::encode as to_json;
use crate::domain::app_state::CollectionUpdate;
use crate::domain::message_secret::MessageSecret;
use crate::domain::sender_key::SenderKey;
use crate::domain::signal::RegistrationInfo;
use crate::domain::snapshot::{
    not_exact, page_sorted, KeyPart, KindCount, Record, RecordKind, RetryInbound, SignalMeta, SnapshotStore, SortKey,
};
use crate::domain::StoreResult;
use crate::error::{ErrorCode, StoreError};

const AREAS: [Area; 17] = [
    Area::Auth,
    Area::Signal,
    Area::PreKey,
    Area::Session,
    Area::Identity,
    Area::SenderKey,
    Area::AppState,
    Area::PrivacyToken,
    Area::Messages,
    Area::Threads,
    Area::Contacts,
    Area::Retry,
    Area::GroupMetadata,
    Area::ChatMetadata,
    Area::DeviceList,
    Area::MessageSecret,
    Area::Keys,
];

/// ARGV: ttl, next id, server flag ('1'/'0'). Raises the counter, sets the flag.
static PUT_META: LazyLock<Script> = LazyLock::new(|| {
    lua(r#"
local meta, ttl = KEYS[1] .. 'meta', ARGV[1]
local n = redis.call('HGET', meta, 'n')
if not n or num(n, 'pre-key counter') < tonumber(ARGV[2]) then redis.call('HSET', meta, 'n', ARGV[2]) end
redis.call('HSET', meta, 'sh', ARGV[3])
slide(meta, ttl)
return 1
"#)
});

/// One session's keys, by area: what follows each area's base.
#[derive(Default)]
struct SessionKeys {
    by_area: Vec<Vec<String>>,
}

impl SessionKeys {
    fn area(&self, area: Area) -> &[String] {
        self.by_area.get(area as usize).map_or(&[], Vec::as_slice)
    }

    fn has(&self, area: Area, rest: &str) -> bool {
        self.area(area).iter().any(|r| r == rest)
    }

    /// The ids after `kind:` (unescaped), e.g. the message ids of `m:<id>` keys.
    fn ids(&self, area: Area, kind: &str) -> Vec<(String, String)> {
        let prefix = format!("{kind}:");
        self.area(area)
            .iter()
            .filter_map(|rest| {
                let part = rest.strip_prefix(&prefix)?;
                // A part of another shape (an index key) holds an unescaped ':'.
                (!part.contains(':')).then(|| unesc(part).map(|id| (rest.clone(), id)))?
            })
            .collect()
    }
}

/// `(rest, id)` pairs sorted by id, after `after`, at most `limit`.
fn page_ids(mut ids: Vec<(String, String)>, after: Option<&SortKey>, limit: u32) -> Vec<(String, String)> {
    ids.sort_by(|a, b| a.1.cmp(&b.1));
    let after = match after.and_then(|k| k.first()) {
        Some(KeyPart::Text(t)) => Some(t.as_str()),
        _ => None,
    };
    ids.into_iter().filter(|(_, id)| after.is_none_or(|a| id.as_str() > a)).take(limit as usize).collect()
}

impl RedisBackend {
    /// Every key of `sid`, by area (one `SCAN` of the whole keyspace).
    async fn scan_session(&self, sid: &str) -> StoreResult<SessionKeys> {
        let what = "list a session's keys";
        let prefix = &self.options.key_prefix;
        let pattern = format!("{}*{}*", glob_escape(prefix), glob_escape(&format!(":{{{}}}:", esc(sid))));
        let bases: Vec<String> = AREAS.iter().map(|a| Space::new(prefix, *a, sid).base().to_owned()).collect();
        let mut keys = SessionKeys { by_area: vec![Vec::new(); AREAS.len()] };
        self.scan(&pattern, what, |key| {
            if let Some((i, base)) = bases.iter().enumerate().find(|(_, b)| key.starts_with(b.as_str())) {
                keys.by_area[i].push(key[base.len()..].to_owned());
            }
        })
        .await?;
        Ok(keys)
    }

    /// `SCAN … MATCH pattern`, calling `each` with every key (keys that are not UTF-8 are not ours).
    async fn scan(&self, pattern: &str, what: &'static str, mut each: impl FnMut(&str)) -> StoreResult<()> {
        let mut cursor = b"0".to_vec();
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(&cursor).arg("MATCH").arg(pattern).arg("COUNT").arg(SCAN_COUNT);
            let [next, found] = values::tuple::<2>(self.read(what, &scan).await?, what)?;
            cursor = values::opt_bytes(next, what)?.unwrap_or_else(|| b"0".to_vec());
            for k in values::array(found, what)? {
                if let Some(key) = values::opt_bytes(k, what)? {
                    if let Ok(key) = std::str::from_utf8(&key) {
                        each(key);
                    }
                }
            }
            if cursor == b"0" {
                return Ok(());
            }
        }
    }

    /// `HGETALL` of each key, without touching TTLs.
    async fn raw_hashes(&self, keys: &[String], what: &'static str) -> StoreResult<Vec<Hash>> {
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.cmd("HGETALL").arg(key);
        }
        let replies = self.pipe(ErrorCode::ReadFailed, what, &pipe).await?;
        replies.into_iter().map(|v| Hash::from_value(v, what)).collect()
    }

    /// `GET` of each key, without touching TTLs.
    async fn raw_strings(&self, keys: &[String], what: &'static str) -> StoreResult<Vec<Option<Vec<u8>>>> {
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.cmd("GET").arg(key);
        }
        let replies = self.pipe(ErrorCode::ReadFailed, what, &pipe).await?;
        replies.into_iter().map(|v| values::opt_bytes(v, what)).collect()
    }

    async fn meta(&self, sid: &str, keys: &SessionKeys) -> StoreResult<Option<SignalMeta>> {
        let what = "export the pre-key counter";
        let (pk, sig) = (self.space(Area::PreKey, sid), self.space(Area::Signal, sid));
        let h = if keys.has(Area::PreKey, "meta") {
            self.raw_hashes(&[pk.key("meta")], what).await?.pop().unwrap_or_default()
        } else {
            Hash::default()
        };
        let rotation = if keys.has(Area::Signal, "rot") {
            match self.raw_strings(&[sig.key("rot")], what).await?.pop().flatten() {
                Some(raw) => Some(values::int(Value::BulkString(raw), what)?),
                None => None,
            }
        } else {
            None
        };
        let next = h.int("n")?.unwrap_or(1);
        let meta = SignalMeta {
            next_pre_key_id: u64::try_from(next)
                .map_err(|_| StoreError::corrupted(format!("redis: stored pre-key counter {next} is out of range")))?,
            server_has_pre_keys: h.flag("sh")?.unwrap_or(false),
            signed_pre_key_rotation_ts: rotation,
        };
        Ok((meta != SignalMeta::default()).then_some(meta))
    }

    /// Every record of the group-hash kinds (sender keys, distributions) of `sid`.
    async fn group_fields(&self, sid: &str, keys: &SessionKeys, kind: &str) -> StoreResult<Vec<Record>> {
        let what = "export sender keys";
        let s = self.space(Area::SenderKey, sid);
        let groups = keys.ids(Area::SenderKey, kind);
        let names: Vec<String> = groups.iter().map(|(rest, _)| s.key(rest)).collect();
        let hashes = self.raw_hashes(&names, what).await?;
        let mut out = Vec::new();
        for ((_, group), h) in groups.iter().zip(hashes) {
            for (sender, value) in h.fields() {
                let sender = parse_addr_part(sender)?;
                out.push(if kind == "k" {
                    Record::SenderKey(SenderKey { group_id: group.clone(), sender, record: value.to_vec() })
                } else {
                    Record::SenderKeyDistribution(distribution(group, sender, value)?)
                });
            }
        }
        Ok(out)
    }

    /// Records of one kind from a scanned key list.
    async fn export_from(
        &self,
        sid: &str,
        keys: &SessionKeys,
        kind: RecordKind,
        after: Option<&SortKey>,
        limit: u32,
    ) -> StoreResult<Vec<Record>> {
        let what = "export records";
        let area = match kind {
            RecordKind::Auth => Area::Auth,
            RecordKind::Registration | RecordKind::SignedPreKey => Area::Signal,
            RecordKind::SignalMeta | RecordKind::PreKey => Area::PreKey,
            RecordKind::Session => Area::Session,
            RecordKind::Identity => Area::Identity,
            RecordKind::SenderKey | RecordKind::SenderKeyDistribution => Area::SenderKey,
            RecordKind::AppStateSyncKey | RecordKind::AppStateCollection => Area::AppState,
            RecordKind::PrivacyToken => Area::PrivacyToken,
            RecordKind::Message => Area::Messages,
            RecordKind::Thread => Area::Threads,
            RecordKind::Contact => Area::Contacts,
            RecordKind::Key => Area::Keys,
            RecordKind::RetryOutbound | RecordKind::RetryInbound => Area::Retry,
            RecordKind::GroupMetadata => Area::GroupMetadata,
            RecordKind::ChatMetadata => Area::ChatMetadata,
            RecordKind::DeviceList => Area::DeviceList,
            RecordKind::MessageSecret => Area::MessageSecret,
        };
        let s = self.space(area, sid);
        Ok(match kind {
            RecordKind::Auth => {
                if !keys.has(area, "c") {
                    return Ok(Vec::new());
                }
                let value = self.raw_strings(&[s.key("c")], what).await?.pop().flatten();
                value.map(|credentials| Record::Auth { credentials }).into_iter().collect()
            }
            RecordKind::Registration | RecordKind::SignedPreKey => {
                let name = if kind == RecordKind::Registration { "reg" } else { "spk" };
                if !keys.has(area, name) {
                    return Ok(Vec::new());
                }
                let h = self.raw_hashes(&[s.key(name)], what).await?.pop().unwrap_or_default();
                let record = if kind == RecordKind::Registration {
                    h.record(|h| {
                        Ok(Record::Registration(RegistrationInfo {
                            registration_id: h.u32("id")?,
                            identity_key_pair: key_pair(h)?,
                        }))
                    })?
                } else {
                    h.record(|h| signed_pre_key(h).map(Record::SignedPreKey))?
                };
                record.into_iter().collect()
            }
            RecordKind::SignalMeta => self.meta(sid, keys).await?.map(Record::SignalMeta).into_iter().collect(),
            RecordKind::PreKey => {
                let mut ids: Vec<(u32, String)> = keys
                    .area(area)
                    .iter()
                    .filter_map(|rest| Some((rest.strip_prefix("k:")?.parse::<u32>().ok()?, rest.clone())))
                    .collect();
                ids.sort();
                let after = match after.and_then(|k| k.first()) {
                    Some(KeyPart::Int(n)) => Some(*n),
                    _ => None,
                };
                let page: Vec<(u32, String)> = ids
                    .into_iter()
                    .filter(|(id, _)| after.is_none_or(|a| i64::from(*id) > a))
                    .take(limit as usize)
                    .collect();
                let names: Vec<String> = page.iter().map(|(_, rest)| s.key(rest)).collect();
                let hashes = self.raw_hashes(&names, what).await?;
                let mut out = Vec::new();
                for ((id, _), h) in page.iter().zip(hashes) {
                    out.extend(h.record(|h| pre_key(*id, h))?.map(Record::PreKey));
                }
                out
            }
            RecordKind::Session | RecordKind::Identity => {
                let mut found: Vec<(SortKey, crate::domain::SignalAddress, String)> = Vec::new();
                for rest in keys.area(area) {
                    if let Some(part) = rest.strip_prefix("r:") {
                        let address = parse_addr_part(part.as_bytes())?;
                        let key = Record::Session { address: address.clone(), record: Vec::new() }.sort_key();
                        found.push((key, address, rest.clone()));
                    }
                }
                found.sort_by(|a, b| a.0.cmp(&b.0));
                let page: Vec<_> =
                    found.into_iter().filter(|(k, _, _)| after.is_none_or(|a| k > a)).take(limit as usize).collect();
                let names: Vec<String> = page.iter().map(|(_, _, rest)| s.key(rest)).collect();
                let values = self.raw_strings(&names, what).await?;
                page.into_iter()
                    .zip(values)
                    .filter_map(|((_, address, _), v)| {
                        v.map(|v| match kind {
                            RecordKind::Session => Record::Session { address, record: v },
                            _ => Record::Identity { address, key: v },
                        })
                    })
                    .collect()
            }
            RecordKind::SenderKey => page_sorted(self.group_fields(sid, keys, "k").await?, after, limit),
            RecordKind::SenderKeyDistribution => page_sorted(self.group_fields(sid, keys, "d").await?, after, limit),
            RecordKind::AppStateSyncKey => {
                let hexes: Vec<String> =
                    keys.area(area).iter().filter_map(|r| r.strip_prefix("k:").map(str::to_owned)).collect();
                let names: Vec<String> = hexes.iter().map(|h| s.key_raw("k", h)).collect();
                let hashes = self.raw_hashes(&names, what).await?;
                let mut all = Vec::new();
                for (hex, h) in hexes.iter().zip(hashes) {
                    all.extend(h.record(|h| sync_key(hex.as_bytes(), h))?.map(Record::AppStateSyncKey));
                }
                page_sorted(all, after, limit)
            }
            RecordKind::AppStateCollection => {
                let page = page_ids(keys.ids(area, "c"), after, limit);
                let mut names = Vec::with_capacity(page.len() * 2);
                for (_, collection) in &page {
                    names.push(s.key1("c", collection));
                    names.push(s.key1("m", collection));
                }
                let hashes = self.raw_hashes(&names, what).await?;
                let mut out = Vec::new();
                for ((_, collection), pair) in page.iter().zip(hashes.chunks(2)) {
                    let [c, m] = pair else { continue };
                    if c.is_empty() {
                        continue;
                    }
                    let mut map = Vec::new();
                    for (mac, value) in m.fields() {
                        map.push((values::utf8(mac.to_vec(), "index MAC")?, value.to_vec()));
                    }
                    out.push(
                        Record::AppStateCollection(CollectionUpdate {
                            collection: collection.clone(),
                            version: c.req_int("v")?,
                            hash: c.req_bytes("h")?,
                            index_value_map: map,
                        })
                        .canonical(),
                    );
                }
                out
            }
            RecordKind::Key => {
                let mut found: Vec<(String, String, String)> = keys
                    .area(area)
                    .iter()
                    .filter_map(|rest| {
                        let (kind, id) = rest.strip_prefix("v:")?.split_once(':')?;
                        Some((unesc(kind)?, unesc(id)?, rest.clone()))
                    })
                    .collect();
                found.sort();
                let page: Vec<_> = found
                    .into_iter()
                    .filter(|(k, i, _)| {
                        after.is_none_or(|a| vec![KeyPart::Text(k.clone()), KeyPart::Text(i.clone())] > *a)
                    })
                    .take(limit as usize)
                    .collect();
                let names: Vec<String> = page.iter().map(|(_, _, rest)| s.key(rest)).collect();
                let values = self.raw_strings(&names, what).await?;
                page.into_iter()
                    .zip(values)
                    .filter_map(|((kind, id, _), v)| v.map(|value| Record::Key { kind, id, value }))
                    .collect()
            }
            RecordKind::RetryInbound => {
                let mut found: Vec<(String, String, String)> = keys
                    .area(area)
                    .iter()
                    .filter_map(|rest| {
                        let (id, requester) = rest.strip_prefix("i:")?.split_once(':')?;
                        Some((unesc(id)?, unesc(requester)?, rest.clone()))
                    })
                    .collect();
                found.sort();
                let page: Vec<_> = found
                    .into_iter()
                    .filter(|(m, r, _)| {
                        after.is_none_or(|a| vec![KeyPart::Text(m.clone()), KeyPart::Text(r.clone())] > *a)
                    })
                    .take(limit as usize)
                    .collect();
                let names: Vec<String> = page.iter().map(|(_, _, rest)| s.key(rest)).collect();
                let hashes = self.raw_hashes(&names, what).await?;
                let ttl = self.options.cache_ttls.retry_ms;
                let mut out = Vec::new();
                for ((message_id, requester_jid, _), h) in page.into_iter().zip(hashes) {
                    if h.is_empty() {
                        continue;
                    }
                    let expires_at_ms = h.req_int("ex")?;
                    let retry_count = u32::try_from(h.req_int("n")?)
                        .map_err(|_| StoreError::corrupted("redis: a stored retry count is out of range"))?;
                    // Counters written before `up` was stored: their write time was expiry - TTL.
                    let updated_at_ms = h.int("up")?.unwrap_or_else(|| expires_at_ms.saturating_sub(ttl));
                    out.push(Record::RetryInbound(RetryInbound {
                        message_id,
                        requester_jid,
                        retry_count,
                        updated_at_ms,
                        expires_at_ms,
                    }));
                }
                out
            }
            // One string id per record: `<kind>:<id>` keys holding a hash.
            _ => {
                let prefix = match kind {
                    RecordKind::Message => "m",
                    RecordKind::RetryOutbound => "o",
                    _ => "r",
                };
                let page = page_ids(keys.ids(area, prefix), after, limit);
                let names: Vec<String> = page.iter().map(|(rest, _)| s.key(rest)).collect();
                let hashes = self.raw_hashes(&names, what).await?;
                let mut out = Vec::new();
                for ((_, id), h) in page.iter().zip(hashes) {
                    let record = h.record(|h| decode_hash(kind, id, h))?;
                    out.extend(record);
                }
                out
            }
        })
    }
}

/// A record of a one-id hash kind (messages, threads, contacts, tokens, caches).
fn decode_hash(kind: RecordKind, id: &str, h: &Hash) -> StoreResult<Record> {
    let expiry = |h: &Hash| h.req_int("ex");
    Ok(match kind {
        RecordKind::Message => Record::Message(message(id.to_owned(), h)?),
        RecordKind::Thread => Record::Thread(thread(h)?),
        RecordKind::Contact => Record::Contact(contact(h)?),
        RecordKind::PrivacyToken => Record::PrivacyToken(privacy_token(h)?),
        RecordKind::RetryOutbound => Record::RetryOutbound(outbound(id, h)?),
        RecordKind::GroupMetadata => {
            Record::GroupMetadata { record: group_metadata(id, h)?, expires_at_ms: expiry(h)? }
        }
        RecordKind::ChatMetadata => Record::ChatMetadata { record: chat_metadata(id, h)?, expires_at_ms: expiry(h)? },
        RecordKind::DeviceList => Record::DeviceList { record: device_list(h)?, expires_at_ms: expiry(h)? },
        RecordKind::MessageSecret => Record::MessageSecret {
            message_id: id.to_owned(),
            secret: MessageSecret { secret: h.req_bytes("s")?, sender_jid: h.req_text("j")? },
            expires_at_ms: expiry(h)?,
        },
        other => return Err(StoreError::corrupted(format!("redis: {} is not a hash record", other.name()))),
    })
}

#[async_trait]
impl SnapshotStore for RedisBackend {
    async fn list_session_ids(&self, after: Option<&str>, limit: u32) -> StoreResult<Vec<String>> {
        let prefix = self.options.key_prefix.clone();
        let mut ids: BTreeSet<String> = BTreeSet::new();
        self.scan(&format!("{}*", glob_escape(&prefix)), "list session ids", |key| {
            let Some(rest) = key.strip_prefix(prefix.as_str()) else { return };
            let Some((tag, tail)) = rest.split_once(":{") else { return };
            let Some((sid, _)) = tail.split_once("}:") else { return };
            if TAGS.contains(&tag) {
                if let Some(sid) = unesc(sid) {
                    ids.insert(sid);
                }
            }
        })
        .await?;
        Ok(ids.into_iter().filter(|s| after.is_none_or(|a| s.as_str() > a)).take(limit as usize).collect())
    }

    async fn count_records(&self, sid: &str) -> StoreResult<Vec<KindCount>> {
        let keys = self.scan_session(sid).await?;
        let s = self.space(Area::SenderKey, sid);
        let mut counts: Vec<KindCount> =
            RecordKind::ALL.iter().map(|&kind| KindCount { kind, records: 0, bytes: None }).collect();
        let mut set = |kind: RecordKind, n: usize| counts[kind as usize].records = n as u64;
        set(RecordKind::Auth, usize::from(keys.has(Area::Auth, "c")));
        set(RecordKind::Registration, usize::from(keys.has(Area::Signal, "reg")));
        set(RecordKind::SignedPreKey, usize::from(keys.has(Area::Signal, "spk")));
        set(RecordKind::SignalMeta, usize::from(self.meta(sid, &keys).await?.is_some()));
        let prefixed = |area: Area, p: &str| keys.area(area).iter().filter(|r| r.starts_with(p)).count();
        set(RecordKind::PreKey, prefixed(Area::PreKey, "k:"));
        set(RecordKind::Session, prefixed(Area::Session, "r:"));
        set(RecordKind::Identity, prefixed(Area::Identity, "r:"));
        set(RecordKind::AppStateSyncKey, prefixed(Area::AppState, "k:"));
        set(RecordKind::AppStateCollection, keys.ids(Area::AppState, "c").len());
        set(RecordKind::PrivacyToken, keys.ids(Area::PrivacyToken, "r").len());
        set(RecordKind::Message, keys.ids(Area::Messages, "m").len());
        set(RecordKind::Thread, keys.ids(Area::Threads, "r").len());
        set(RecordKind::Contact, keys.ids(Area::Contacts, "r").len());
        set(RecordKind::Key, prefixed(Area::Keys, "v:"));
        set(RecordKind::RetryOutbound, keys.ids(Area::Retry, "o").len());
        set(RecordKind::RetryInbound, prefixed(Area::Retry, "i:"));
        set(RecordKind::GroupMetadata, keys.ids(Area::GroupMetadata, "r").len());
        set(RecordKind::ChatMetadata, keys.ids(Area::ChatMetadata, "r").len());
        set(RecordKind::DeviceList, keys.ids(Area::DeviceList, "r").len());
        set(RecordKind::MessageSecret, keys.ids(Area::MessageSecret, "r").len());
        // Sender keys and distributions are hash fields: HLEN of each group.
        for (prefix, kind) in [("k", RecordKind::SenderKey), ("d", RecordKind::SenderKeyDistribution)] {
            let mut pipe = redis::pipe();
            let groups = keys.ids(Area::SenderKey, prefix);
            for (rest, _) in &groups {
                pipe.cmd("HLEN").arg(s.key(rest));
            }
            let replies = self.pipe(ErrorCode::ReadFailed, "count sender keys", &pipe).await?;
            let mut n = 0u64;
            for v in replies {
                n += u64::try_from(values::int(v, "count sender keys")?.max(0)).unwrap_or(0);
            }
            counts[kind as usize].records = n;
        }
        Ok(counts)
    }

    async fn export_kind(
        &self,
        sid: &str,
        kind: RecordKind,
        after: Option<&SortKey>,
        limit: u32,
    ) -> StoreResult<Vec<Record>> {
        let keys = self.scan_session(sid).await?;
        self.export_from(sid, &keys, kind, after, limit).await
    }

    /// One `SCAN` for the whole page, however many kinds it spans.
    async fn export_page(
        &self,
        sid: &str,
        after: Option<&crate::domain::snapshot::Cursor>,
        limit: u32,
    ) -> StoreResult<crate::domain::snapshot::ExportPage> {
        let keys = self.scan_session(sid).await?;
        let keys = &keys;
        crate::domain::snapshot::walk_kinds(after, limit, |kind, key, left| async move {
            self.export_from(sid, keys, kind, key.as_ref(), left).await
        })
        .await
    }

    async fn import_exact(&self, sid: &str, records: Vec<Record>) -> StoreResult<()> {
        let what = "import records";
        let ttls = self.options.cache_ttls;
        let (mut inbound, mut groups, mut chats, mut secrets, mut devices) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for r in records {
            match r {
                Record::SignalMeta(m) => {
                    let mut call = PUT_META.key(self.space(Area::PreKey, sid).base());
                    call.arg(self.slide_arg(Area::PreKey)).arg(m.next_pre_key_id).arg(flag(m.server_has_pre_keys));
                    self.eval(ErrorCode::WriteFailed, what, &call).await?;
                    crate::domain::signal::SignalStore::set_signed_pre_key_rotation_ts(
                        self,
                        sid,
                        m.signed_pre_key_rotation_ts,
                    )
                    .await?;
                }
                Record::RetryInbound(c) => {
                    let mut fields = Fields::default();
                    fields.put("n", c.retry_count.to_string()).int("up", Some(c.updated_at_ms));
                    let member = format!("i:{}:{}", esc(&c.message_id), esc(&c.requester_jid));
                    inbound.push(Entry { member, expires_at_ms: c.expires_at_ms, fields });
                }
                Record::GroupMetadata { record: g, expires_at_ms } => {
                    let mut fields = Fields::default();
                    fields.list("p", Some(&g.participants))?;
                    fields.int("up", Some(g.updated_at_ms)).int("e", g.ephemeral).int("et", g.ephemeral_trigger);
                    groups.push(Entry { member: entry_member(&g.group_jid), expires_at_ms, fields });
                }
                Record::ChatMetadata { record: c, expires_at_ms } => {
                    let mut fields = Fields::default();
                    fields
                        .int("up", Some(c.updated_at_ms))
                        .int("ee", c.ephemeral_expiration)
                        .int("es", c.ephemeral_setting_timestamp);
                    chats.push(Entry { member: entry_member(&c.chat_jid), expires_at_ms, fields });
                }
                Record::MessageSecret { message_id, secret, expires_at_ms } => {
                    let mut fields = Fields::default();
                    fields.put("s", secret.secret).put("j", secret.sender_jid);
                    secrets.push(Entry { member: entry_member(&message_id), expires_at_ms, fields });
                }
                Record::DeviceList { record, expires_at_ms } => devices.push((record, expires_at_ms)),
                other => return Err(not_exact(&other)),
            }
        }
        self.put_entries(Area::Retry, sid, ttls.retry_ms, inbound, what).await?;
        self.put_entries(Area::GroupMetadata, sid, ttls.group_metadata_ms, groups, what).await?;
        self.put_entries(Area::ChatMetadata, sid, ttls.chat_metadata_ms, chats, what).await?;
        self.put_entries(Area::MessageSecret, sid, ttls.message_secret_ms, secrets, what).await?;
        if !devices.is_empty() {
            let ttl = ttls.device_list_ms;
            let mut call = PUT_DEVICE_LISTS.key(self.space(Area::DeviceList, sid).base());
            for (d, expires) in &devices {
                call.arg(&d.user_jid)
                    .arg(if d.alt_user_jid.is_some() { "1" } else { "0" })
                    .arg(d.alt_user_jid.as_deref().unwrap_or(""))
                    .arg(Self::cache_ttl(*expires, ttl))
                    .arg(*expires)
                    .arg(d.updated_at_ms)
                    .arg(to_json(&d.device_jids)?);
            }
            self.eval(ErrorCode::WriteFailed, what, &call).await?;
        }
        Ok(())
    }
}
