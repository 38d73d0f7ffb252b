//! The TTL caches: `groupMetadata`, `chatMetadata`, `deviceList`, `messageSecret`
//! (and the entry scripts `retry` shares).
//!
//! Each entry is a hash `<area>:{sid}:r:<id>` carrying its logical expiry
//! `ex` (`updatedAtMs + ttl`, or write time + ttl for message secrets) and a
//! native TTL ([`RedisBackend::cache_ttl`]). `<area>:{sid}:x` is a sorted set
//! of the entries scored by `ex`, so `cleanupExpired` finds what is due
//! without a scan. Reads filter by `ex` against the caller's `nowMs` and
//! delete what they saw expired. Device lists add `dl:{sid}:a:<alt jid>`,
//! the users naming that alternate jid, scored by `updatedAtMs`.

use std::sync::LazyLock;

use async_trait::async_trait;
use redis::Script;

use super::layout::{esc, Area};
use super::scripts::lua;
use super::values::{array, count, int, tuple, Fields, Hash};
use super::RedisBackend;
use crate::backend::json_list::encode as to_json;
use crate::domain::chat_metadata::{ChatMetadata, ChatMetadataStore};
use crate::domain::device_list::{DeviceList, DeviceListStore};
use crate::domain::group_metadata::{GroupMetadata, GroupMetadataStore};
use crate::domain::message_secret::{MessageSecret, MessageSecretStore};
use crate::domain::StoreResult;
use crate::error::ErrorCode;

/// Entries `cleanupExpired` handles per script run (the client loops).
const CLEANUP_CHUNK: usize = 1_000;

/// Shared by the entry scripts: deletes entry `member` (and, for device
/// lists, its alternate-jid index entry) given its fields `h`.
const DROP_ENTRY: &str = r#"
local function drop(base, member, h)
  if h.a and h.u then redis.call('ZREM', base .. 'a:' .. seg(h.a), h.u) end
  redis.call('ZREM', base .. 'x', member)
  return redis.call('DEL', base .. member)
end
local function fields(flat)
  local h = {}
  for j = 1, #flat, 2 do h[flat[j]] = flat[j + 1] end
  return h
end
"#;

fn entry_script(body: &str) -> Script {
    lua(&format!("{DROP_ENTRY}\n{body}"))
}

/// ARGV: per entry: member, native ttl, expiry, field count, (name, value)
/// per field. Replaces each entry whole and indexes its expiry.
pub(super) static PUT_ENTRIES: LazyLock<Script> = LazyLock::new(|| {
    entry_script(
        r#"
local base = KEYS[1]
local x = base .. 'x'
local i = 1
while i <= #ARGV do
  local member, nat, ex, nf = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  local k = base .. member
  redis.call('DEL', k)
  redis.call('HSET', k, 'ex', ex, unpack(ARGV, i + 4, i + 3 + 2 * nf))
  redis.call('PEXPIRE', k, nat)
  redis.call('ZADD', x, ex, member)
  extend(x, nat)
  i = i + 4 + 2 * nf
end
return 1
"#,
    )
});

/// ARGV: now, then members. Per member its fields, or nil when absent or
/// expired at `now` (an expired entry is deleted).
pub(super) static GET_ENTRIES: LazyLock<Script> = LazyLock::new(|| {
    entry_script(
        r#"
local base, now = KEYS[1], tonumber(ARGV[1])
local out = {}
for i = 2, #ARGV do
  local member = ARGV[i]
  local flat = redis.call('HGETALL', base .. member)
  local h = fields(flat)
  if #flat == 0 then
    out[#out + 1] = false
  elseif num(h.ex, 'cache expiry') <= now then
    drop(base, member, h)
    out[#out + 1] = false
  else
    out[#out + 1] = flat
  end
end
return out
"#,
    )
});

/// ARGV: member. Deletes one entry; returns 1 or 0.
pub(super) static DELETE_ENTRY: LazyLock<Script> = LazyLock::new(|| {
    entry_script(
        r#"
local base, member = KEYS[1], ARGV[1]
return drop(base, member, fields(redis.call('HGETALL', base .. member)))
"#,
    )
});

/// ARGV: now, limit. Deletes up to `limit` entries due at `now`; returns
/// {deleted, examined}.
pub(super) static CLEANUP: LazyLock<Script> = LazyLock::new(|| {
    entry_script(
        r#"
local base, now = KEYS[1], tonumber(ARGV[1])
local x = base .. 'x'
local due = redis.call('ZRANGEBYSCORE', x, '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local n = 0
for _, member in ipairs(due) do
  local flat = redis.call('HGETALL', base .. member)
  local h = fields(flat)
  if #flat == 0 then
    redis.call('ZREM', x, member)
  elseif num(h.ex, 'cache expiry') <= now then
    n = n + drop(base, member, h)
  else
    redis.call('ZADD', x, h.ex, member)
  end
end
return {n, #due}
"#,
    )
});

/// ARGV: per snapshot: user, has alt '1'/'0', alt, native ttl, expiry,
/// updatedAtMs, device jids (JSON). Moves the alternate-jid index along.
pub(super) static PUT_DEVICE_LISTS: LazyLock<Script> = LazyLock::new(|| {
    entry_script(
        r#"
local base = KEYS[1]
local x = base .. 'x'
for i = 1, #ARGV, 7 do
  local user, has_alt, alt, nat, ex, up, devices = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6]
  local member = 'r:' .. seg(user)
  local k = base .. member
  local old = redis.call('HGET', k, 'a')
  if old and (has_alt == '0' or old ~= alt) then redis.call('ZREM', base .. 'a:' .. seg(old), user) end
  redis.call('DEL', k)
  if has_alt == '1' then
    redis.call('HSET', k, 'u', user, 'a', alt, 'd', devices, 'up', up, 'ex', ex)
    local a = base .. 'a:' .. seg(alt)
    redis.call('ZADD', a, up, user)
    extend(a, nat)
  else
    redis.call('HSET', k, 'u', user, 'd', devices, 'up', up, 'ex', ex)
  end
  redis.call('PEXPIRE', k, nat)
  redis.call('ZADD', x, ex, member)
  extend(x, nat)
end
return 1
"#,
    )
});

/// ARGV: jid, now. The live entry of user `jid`, else the latest one naming
/// `jid` as its alternate jid; nil when none (expired ones are deleted).
static FIND_DEVICE_LIST: LazyLock<Script> = LazyLock::new(|| {
    entry_script(
        r#"
local base, jid, now = KEYS[1], ARGV[1], tonumber(ARGV[2])
local function live(member)
  local flat = redis.call('HGETALL', base .. member)
  if #flat == 0 then return nil end
  local h = fields(flat)
  if num(h.ex, 'cache expiry') <= now then
    drop(base, member, h)
    return false
  end
  return flat
end
local direct = live('r:' .. seg(jid))
if direct then return direct end
local a = base .. 'a:' .. seg(jid)
for _, user in ipairs(redis.call('ZREVRANGE', a, 0, -1)) do
  local member = 'r:' .. seg(user)
  if redis.call('HGET', base .. member, 'a') == jid then
    return live(member) or false
  end
  redis.call('ZREM', a, user)
end
return false
"#,
    )
});

/// One cache entry to write: its member (`r:<id>`, `o:<id>`…), logical expiry and fields.
pub(super) struct Entry {
    pub member: String,
    pub expires_at_ms: i64,
    pub fields: Fields,
}

impl RedisBackend {
    /// Runs [`PUT_ENTRIES`] for entries of one area.
    pub(super) async fn put_entries(
        &self,
        area: Area,
        sid: &str,
        domain_ttl_ms: i64,
        entries: Vec<Entry>,
        what: &'static str,
    ) -> StoreResult<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut call = PUT_ENTRIES.key(self.space(area, sid).base());
        for e in entries {
            let native = Self::cache_ttl(e.expires_at_ms, domain_ttl_ms);
            call.arg(e.member)
                .arg(native)
                .arg(e.expires_at_ms)
                .arg(e.fields.0.len());
            for (name, value) in e.fields.0 {
                call.arg(name).arg(value);
            }
        }
        self.eval(ErrorCode::WriteFailed, what, &call).await.map(drop)
    }

    /// Runs [`GET_ENTRIES`]: positional hashes, empty for a miss or an expired entry.
    pub(super) async fn get_entries(
        &self,
        area: Area,
        sid: &str,
        members: &[String],
        now_ms: i64,
        what: &'static str,
    ) -> StoreResult<Vec<Hash>> {
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let mut call = GET_ENTRIES.key(self.space(area, sid).base());
        call.arg(now_ms).arg(members);
        let replies = array(self.eval(ErrorCode::ReadFailed, what, &call).await?, what)?;
        replies.into_iter().map(|v| Hash::from_value(v, what)).collect()
    }

    pub(super) async fn get_entry(
        &self,
        area: Area,
        sid: &str,
        member: String,
        now_ms: i64,
        what: &'static str,
    ) -> StoreResult<Hash> {
        Ok(self
            .get_entries(area, sid, &[member], now_ms, what)
            .await?
            .pop()
            .unwrap_or_default())
    }

    pub(super) async fn delete_entry(
        &self,
        area: Area,
        sid: &str,
        member: String,
        what: &'static str,
    ) -> StoreResult<u32> {
        let mut call = DELETE_ENTRY.key(self.space(area, sid).base());
        call.arg(member);
        count(self.eval(ErrorCode::WriteFailed, what, &call).await?, what)
    }

    /// Runs [`CLEANUP`] until nothing due is left; returns how many entries went.
    pub(super) async fn cleanup_entries(
        &self,
        area: Area,
        sid: &str,
        now_ms: i64,
        what: &'static str,
    ) -> StoreResult<u32> {
        let space = self.space(area, sid);
        let mut deleted: u32 = 0;
        loop {
            let mut call = CLEANUP.key(space.base());
            call.arg(now_ms).arg(CLEANUP_CHUNK);
            let [n, examined] = tuple::<2>(self.eval(ErrorCode::WriteFailed, what, &call).await?, what)?;
            deleted = deleted.saturating_add(count(n, what)?);
            if int(examined, what)? < CLEANUP_CHUNK as i64 {
                return Ok(deleted);
            }
        }
    }
}

pub(super) fn entry_member(id: &str) -> String {
    format!("r:{}", esc(id))
}

pub(super) fn group_metadata(group_jid: &str, h: &Hash) -> StoreResult<GroupMetadata> {
    Ok(GroupMetadata {
        group_jid: group_jid.to_owned(),
        participants: h.list("p")?.unwrap_or_default(),
        ephemeral: h.int("e")?,
        ephemeral_trigger: h.int("et")?,
        updated_at_ms: h.req_int("up")?,
    })
}

pub(super) fn chat_metadata(chat_jid: &str, h: &Hash) -> StoreResult<ChatMetadata> {
    Ok(ChatMetadata {
        chat_jid: chat_jid.to_owned(),
        ephemeral_expiration: h.int("ee")?,
        ephemeral_setting_timestamp: h.int("es")?,
        updated_at_ms: h.req_int("up")?,
    })
}

pub(super) fn device_list(h: &Hash) -> StoreResult<DeviceList> {
    Ok(DeviceList {
        user_jid: h.req_text("u")?,
        alt_user_jid: h.text("a")?,
        device_jids: h.list("d")?.unwrap_or_default(),
        updated_at_ms: h.req_int("up")?,
    })
}

#[async_trait]
impl GroupMetadataStore for RedisBackend {
    async fn upsert_group_metadata(&self, sid: &str, snapshot: GroupMetadata) -> StoreResult<()> {
        let ttl = self.options.cache_ttls.group_metadata_ms;
        let mut fields = Fields::default();
        fields.list("p", Some(&snapshot.participants))?;
        fields
            .int("up", Some(snapshot.updated_at_ms))
            .int("e", snapshot.ephemeral)
            .int("et", snapshot.ephemeral_trigger);
        let expires_at_ms = snapshot.updated_at_ms.saturating_add(ttl);
        let entry = Entry {
            member: entry_member(&snapshot.group_jid),
            expires_at_ms,
            fields,
        };
        self.put_entries(Area::GroupMetadata, sid, ttl, vec![entry], "save group metadata")
            .await
    }

    async fn get_group_metadata(&self, sid: &str, group_jid: &str, now_ms: i64) -> StoreResult<Option<GroupMetadata>> {
        let h = self
            .get_entry(
                Area::GroupMetadata,
                sid,
                entry_member(group_jid),
                now_ms,
                "load group metadata",
            )
            .await?;
        h.record(|h| group_metadata(group_jid, h))
    }

    async fn delete_group_metadata(&self, sid: &str, group_jid: &str) -> StoreResult<u32> {
        self.delete_entry(
            Area::GroupMetadata,
            sid,
            entry_member(group_jid),
            "delete group metadata",
        )
        .await
    }

    async fn cleanup_expired_group_metadata(&self, sid: &str, now_ms: i64) -> StoreResult<u32> {
        self.cleanup_entries(Area::GroupMetadata, sid, now_ms, "clean up group metadata")
            .await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.clear_space(Area::GroupMetadata, sid, "clear group metadata").await
    }
}

#[async_trait]
impl ChatMetadataStore for RedisBackend {
    async fn upsert_chat_metadata(&self, sid: &str, snapshot: ChatMetadata) -> StoreResult<()> {
        let ttl = self.options.cache_ttls.chat_metadata_ms;
        let mut fields = Fields::default();
        fields
            .int("up", Some(snapshot.updated_at_ms))
            .int("ee", snapshot.ephemeral_expiration)
            .int("es", snapshot.ephemeral_setting_timestamp);
        let expires_at_ms = snapshot.updated_at_ms.saturating_add(ttl);
        let entry = Entry {
            member: entry_member(&snapshot.chat_jid),
            expires_at_ms,
            fields,
        };
        self.put_entries(Area::ChatMetadata, sid, ttl, vec![entry], "save chat metadata")
            .await
    }

    async fn get_chat_metadata(&self, sid: &str, chat_jid: &str, now_ms: i64) -> StoreResult<Option<ChatMetadata>> {
        let h = self
            .get_entry(
                Area::ChatMetadata,
                sid,
                entry_member(chat_jid),
                now_ms,
                "load chat metadata",
            )
            .await?;
        h.record(|h| chat_metadata(chat_jid, h))
    }

    async fn delete_chat_metadata(&self, sid: &str, chat_jid: &str) -> StoreResult<u32> {
        self.delete_entry(Area::ChatMetadata, sid, entry_member(chat_jid), "delete chat metadata")
            .await
    }

    async fn cleanup_expired_chat_metadata(&self, sid: &str, now_ms: i64) -> StoreResult<u32> {
        self.cleanup_entries(Area::ChatMetadata, sid, now_ms, "clean up chat metadata")
            .await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.clear_space(Area::ChatMetadata, sid, "clear chat metadata").await
    }
}

#[async_trait]
impl DeviceListStore for RedisBackend {
    async fn upsert_user_devices(&self, sid: &str, snapshots: Vec<DeviceList>) -> StoreResult<()> {
        if snapshots.is_empty() {
            return Ok(());
        }
        let ttl = self.options.cache_ttls.device_list_ms;
        let mut call = PUT_DEVICE_LISTS.key(self.space(Area::DeviceList, sid).base());
        for s in snapshots {
            let expires = s.updated_at_ms.saturating_add(ttl);
            call.arg(&s.user_jid)
                .arg(if s.alt_user_jid.is_some() { "1" } else { "0" })
                .arg(s.alt_user_jid.as_deref().unwrap_or(""))
                .arg(Self::cache_ttl(expires, ttl))
                .arg(expires)
                .arg(s.updated_at_ms)
                .arg(to_json(&s.device_jids)?);
        }
        self.eval(ErrorCode::WriteFailed, "save device lists", &call)
            .await
            .map(drop)
    }

    async fn get_user_devices(
        &self,
        sid: &str,
        user_jids: &[String],
        now_ms: i64,
    ) -> StoreResult<Vec<Option<DeviceList>>> {
        let members: Vec<String> = user_jids.iter().map(|u| entry_member(u)).collect();
        let hashes = self
            .get_entries(Area::DeviceList, sid, &members, now_ms, "load device lists")
            .await?;
        hashes.iter().map(|h| h.record(device_list)).collect()
    }

    async fn find_by_any_user_jid(&self, sid: &str, jid: &str, now_ms: i64) -> StoreResult<Option<DeviceList>> {
        let what = "find a device list";
        let mut call = FIND_DEVICE_LIST.key(self.space(Area::DeviceList, sid).base());
        call.arg(jid).arg(now_ms);
        let h = Hash::from_value(self.eval(ErrorCode::ReadFailed, what, &call).await?, what)?;
        h.record(device_list)
    }

    async fn delete_user_devices(&self, sid: &str, user_jid: &str) -> StoreResult<u32> {
        self.delete_entry(Area::DeviceList, sid, entry_member(user_jid), "delete a device list")
            .await
    }

    async fn cleanup_expired_device_lists(&self, sid: &str, now_ms: i64) -> StoreResult<u32> {
        self.cleanup_entries(Area::DeviceList, sid, now_ms, "clean up device lists")
            .await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.clear_space(Area::DeviceList, sid, "clear device lists").await
    }
}

#[async_trait]
impl MessageSecretStore for RedisBackend {
    async fn get_message_secrets(
        &self,
        sid: &str,
        message_ids: &[String],
        now_ms: i64,
    ) -> StoreResult<Vec<Option<MessageSecret>>> {
        let members: Vec<String> = message_ids.iter().map(|id| entry_member(id)).collect();
        let hashes = self
            .get_entries(Area::MessageSecret, sid, &members, now_ms, "load message secrets")
            .await?;
        let secret = |h: &Hash| {
            Ok(MessageSecret {
                secret: h.req_bytes("s")?,
                sender_jid: h.req_text("j")?,
            })
        };
        hashes.iter().map(|h| h.record(secret)).collect()
    }

    async fn set_message_secrets(
        &self,
        sid: &str,
        entries: Vec<(String, MessageSecret)>,
        now_ms: i64,
    ) -> StoreResult<()> {
        let ttl = self.options.cache_ttls.message_secret_ms;
        let expires = now_ms.saturating_add(ttl);
        let entries = entries
            .into_iter()
            .map(|(id, s)| {
                let mut fields = Fields::default();
                fields.put("s", s.secret).put("j", s.sender_jid);
                Entry {
                    member: entry_member(&id),
                    expires_at_ms: expires,
                    fields,
                }
            })
            .collect();
        self.put_entries(Area::MessageSecret, sid, ttl, entries, "save message secrets")
            .await
    }

    async fn cleanup_expired_message_secrets(&self, sid: &str, now_ms: i64) -> StoreResult<u32> {
        self.cleanup_entries(Area::MessageSecret, sid, now_ms, "clean up message secrets")
            .await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.clear_space(Area::MessageSecret, sid, "clear message secrets")
            .await
    }
}
