//! `messages`, `threads`, `contacts` and `privacyToken`.
//!
//! - messages: `msg:{sid}:m:<id>` hashes and `msg:{sid}:t:<thread>`, a sorted
//!   set of the thread's message ids scored by timestamp (`-inf` for none), so
//!   `listByThread` reads newest first by (timestamp, id) without a scan.
//! - threads: `thr:{sid}:r:<jid>` hashes and `thr:{sid}:all` (their jids).
//! - contacts: `ct:{sid}:r:<jid>` hashes and `ct:{sid}:p:<phone>`, the jids
//!   carrying that phone number, scored by `lastUpdatedMs`.
//! - privacy tokens: `pt:{sid}:r:<jid>` hashes.
//!
//! Threads, contacts and tokens merge field by field: `HSET` of only the
//! fields a record carries is SQL's `COALESCE(excluded.x, x)`.

use std::sync::LazyLock;

use async_trait::async_trait;
use redis::{Script, Value};

use super::layout::Area;
use super::scripts::lua;
use super::values::{array, count, flag, Fields, Hash};
use super::RedisBackend;
use crate::domain::contacts::{ContactStore, StoredContact};
use crate::domain::messages::{MessageStore, PageStart, StoredMessage};
use crate::domain::privacy_token::{PrivacyToken, PrivacyTokenStore};
use crate::domain::threads::{StoredThread, ThreadStore};
use crate::domain::StoreResult;
use crate::error::{ErrorCode, StoreError};

pub(super) fn message(id: String, h: &Hash) -> StoreResult<StoredMessage> {
    Ok(StoredMessage {
        id,
        thread_jid: h.req_text("t")?,
        sender_jid: h.text("s")?,
        participant_jid: h.text("p")?,
        from_me: h.flag("f")?.unwrap_or(false),
        timestamp_ms: h.int("ts")?,
        message_bytes: h.bytes("b"),
    })
}

pub(super) fn thread(h: &Hash) -> StoreResult<StoredThread> {
    Ok(StoredThread {
        jid: h.req_text("j")?,
        name: h.text("n")?,
        unread_count: h.int("uc")?,
        archived: h.flag("ar")?,
        pinned: h.int("pi")?,
        mute_end_ms: h.int("me")?,
        marked_as_unread: h.flag("mu")?,
        ephemeral_expiration: h.int("ee")?,
        ephemeral_setting_timestamp: h.int("es")?,
    })
}

pub(super) fn contact(h: &Hash) -> StoreResult<StoredContact> {
    Ok(StoredContact {
        jid: h.req_text("j")?,
        display_name: h.text("dn")?,
        push_name: h.text("pn")?,
        lid: h.text("li")?,
        phone_number: h.text("ph")?,
        username: h.text("un")?,
        last_updated_ms: h.req_int("lu")?,
    })
}

pub(super) fn privacy_token(h: &Hash) -> StoreResult<PrivacyToken> {
    Ok(PrivacyToken {
        jid: h.req_text("j")?,
        tc_token: h.bytes("tc"),
        tc_token_timestamp: h.int("tt")?,
        tc_token_sender_timestamp: h.int("ts")?,
        nct_salt: h.bytes("ns"),
        updated_at_ms: h.req_int("up")?,
    })
}

/// `(member, fields)` pairs a script returns.
fn pairs(reply: Value, what: &'static str) -> StoreResult<Vec<(Vec<u8>, Hash)>> {
    let items = array(reply, what)?;
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let Some(member) = it.next() {
        let fields = it
            .next()
            .ok_or_else(|| StoreError::corrupted(format!("redis: reply for {what} is truncated")))?;
        out.push((
            super::values::opt_bytes(member, what)?.unwrap_or_default(),
            Hash::from_value(fields, what)?,
        ));
    }
    Ok(out)
}

/// ARGV: ttl, then per message: id, thread, score, field count, (name, value) per field.
static UPSERT_MESSAGES: LazyLock<Script> = LazyLock::new(|| {
    lua(r#"
local base, ttl = KEYS[1], ARGV[1]
local i = 2
while i <= #ARGV do
  local id, thread, score, nf = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  local m = base .. 'm:' .. seg(id)
  local old = redis.call('HGET', m, 't')
  if old and old ~= thread then redis.call('ZREM', base .. 't:' .. seg(old), id) end
  redis.call('DEL', m)
  redis.call('HSET', m, 't', thread, unpack(ARGV, i + 4, i + 3 + 2 * nf))
  local t = base .. 't:' .. seg(thread)
  redis.call('ZADD', t, score, id)
  slide(m, ttl) slide(t, ttl)
  i = i + 4 + 2 * nf
end
return 1
"#)
});

/// ARGV: thread, limit, max score, min score. (id, fields) pairs, newest first;
/// index entries whose message is gone or moved are dropped.
static LIST_MESSAGES: LazyLock<Script> = LazyLock::new(|| {
    lua(r#"
local base, thread, limit = KEYS[1], ARGV[1], tonumber(ARGV[2])
local t = base .. 't:' .. seg(thread)
local function page(offset, n) return redis.call('ZREVRANGEBYSCORE', t, ARGV[3], ARGV[4], 'LIMIT', offset, n) end
local function take(id)
  local f = redis.call('HGETALL', base .. 'm:' .. seg(id))
  for j = 1, #f, 2 do
    if f[j] == 't' and f[j + 1] == thread then return f end
  end
  return nil
end
return flat(collect(t, limit, page, take))
"#)
});

/// Lua: `start_rank(t, mode, ts, id)`, the reverse rank in the thread index
/// `t` where a walk from a page start begins. The index is scored by
/// timestamp (`-inf` for none) and Redis orders equal scores by member bytes,
/// so reverse rank order is exactly the walk order. Modes: `n` newest; `b`
/// strictly below timestamp `ts`; `a` after the message `(ts, id)`, which is
/// its rank + 1 while it is indexed there, else the count of members sorting
/// before it (higher scores, then its score's members byte-wise above `id`).
const START_RANK: &str = r#"
local function bytes_gt(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x > y end
  end
  return #a > #b
end
local function same_score(s, ts)
  if ts == '-inf' then return s == '-inf' end
  return s ~= '-inf' and tonumber(s) == tonumber(ts)
end
local function start_rank(t, mode, ts, id)
  if mode == 'n' then return 0 end
  if mode == 'b' then return redis.call('ZCOUNT', t, ts, '+inf') end
  local s = redis.call('ZSCORE', t, id)
  if s and same_score(s, ts) then return redis.call('ZREVRANK', t, id) + 1 end
  local above = redis.call('ZCOUNT', t, '(' .. ts, '+inf')
  for _, m in ipairs(redis.call('ZREVRANGEBYSCORE', t, ts, ts)) do
    if not bytes_gt(m, id) then break end
    above = above + 1
  end
  return above
end
"#;

/// ARGV: thread, limit, mode, timestamp, id (see `START_RANK`). (id, fields)
/// pairs in walk order; index entries whose message is gone or moved are dropped.
static LIST_PAGE: LazyLock<Script> = LazyLock::new(|| {
    lua(&format!(
        "{START_RANK}{}",
        r#"
local base, thread, limit = KEYS[1], ARGV[1], tonumber(ARGV[2])
local t = base .. 't:' .. seg(thread)
local start = start_rank(t, ARGV[3], ARGV[4], ARGV[5])
local function page(offset, n) return redis.call('ZREVRANGE', t, start + offset, start + offset + n - 1) end
local function take(id)
  local f = redis.call('HGETALL', base .. 'm:' .. seg(id))
  for j = 1, #f, 2 do
    if f[j] == 't' and f[j + 1] == thread then return f end
  end
  return nil
end
return flat(collect(t, limit, page, take))
"#
    ))
});

/// ARGV: thread, mode, timestamp, id (see `START_RANK`). Deletes every message
/// a walk from there returns, and their index entries; returns how many.
static DELETE_FROM: LazyLock<Script> = LazyLock::new(|| {
    lua(&format!(
        "{START_RANK}{}",
        r#"
local base, thread = KEYS[1], ARGV[1]
local t = base .. 't:' .. seg(thread)
local start = start_rank(t, ARGV[2], ARGV[3], ARGV[4])
local n = 0
for _, id in ipairs(redis.call('ZREVRANGE', t, start, -1)) do
  local m = base .. 'm:' .. seg(id)
  -- A message that moved thread since is not this thread's to delete.
  if redis.call('HGET', m, 't') == thread then n = n + redis.call('DEL', m) end
end
local last = redis.call('ZCARD', t) - 1 - start
if last >= 0 then redis.call('ZREMRANGEBYRANK', t, 0, last) end
return n
"#
    ))
});

/// `(mode, timestamp, id)` script arguments of a page start.
fn start_args(start: &PageStart) -> [String; 3] {
    let score = |ts: Option<i64>| ts.map_or_else(|| "-inf".to_owned(), |ts| ts.to_string());
    match start {
        PageStart::Newest => ["n".into(), String::new(), String::new()],
        PageStart::Before(ts) => ["b".into(), ts.to_string(), String::new()],
        PageStart::After { timestamp_ms, id } => ["a".into(), score(*timestamp_ms), id.clone()],
    }
}

/// ARGV: record kind, id, indexed field, index kind. Deletes record
/// `<kind>:<id>` and its entry in the index named by its field (the thread of
/// a message, the phone number of a contact); returns 1 or 0.
static DELETE_INDEXED: LazyLock<Script> = LazyLock::new(|| {
    lua(r#"
local base, id = KEYS[1], ARGV[2]
local r = base .. ARGV[1] .. ':' .. seg(id)
local v = redis.call('HGET', r, ARGV[3])
local n = redis.call('DEL', r)
if v then redis.call('ZREM', base .. ARGV[4] .. ':' .. seg(v), id) end
return n
"#)
});

impl RedisBackend {
    async fn delete_indexed(&self, area: Area, sid: &str, record: [&str; 4], what: &'static str) -> StoreResult<u32> {
        let mut call = DELETE_INDEXED.key(self.space(area, sid).base());
        call.arg(&record[..]);
        count(self.eval(ErrorCode::WriteFailed, what, &call).await?, what)
    }
}

#[async_trait]
impl MessageStore for RedisBackend {
    async fn upsert_messages(&self, sid: &str, records: Vec<StoredMessage>) -> StoreResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut call = UPSERT_MESSAGES.key(self.space(Area::Messages, sid).base());
        call.arg(self.slide_arg(Area::Messages));
        for m in records {
            let mut f = Fields::default();
            f.put("f", flag(m.from_me));
            f.text("s", m.sender_jid.as_deref());
            f.text("p", m.participant_jid.as_deref());
            f.int("ts", m.timestamp_ms);
            f.bytes("b", m.message_bytes.as_deref());
            let score = m.timestamp_ms.map_or_else(|| "-inf".to_owned(), |ts| ts.to_string());
            call.arg(m.id).arg(m.thread_jid).arg(score).arg(f.0.len());
            for (name, value) in f.0 {
                call.arg(name).arg(value);
            }
        }
        self.eval(ErrorCode::WriteFailed, "save messages", &call)
            .await
            .map(drop)
    }

    async fn get_message(&self, sid: &str, id: &str) -> StoreResult<Option<StoredMessage>> {
        let key = self.space(Area::Messages, sid).key1("m", id);
        let h = self.get_hash(Area::Messages, key, "load a message").await?;
        h.record(|h| message(id.to_owned(), h))
    }

    async fn list_messages_by_thread(
        &self,
        sid: &str,
        thread_jid: &str,
        limit: u32,
        before_timestamp_ms: Option<i64>,
    ) -> StoreResult<Vec<StoredMessage>> {
        let what = "list messages";
        // With a cursor: strictly below it, and `(-inf` leaves out undefined timestamps.
        let (max, min) = match before_timestamp_ms {
            Some(before) => (format!("({before}"), "(-inf"),
            None => ("+inf".to_owned(), "-inf"),
        };
        let mut call = LIST_MESSAGES.key(self.space(Area::Messages, sid).base());
        call.arg(thread_jid).arg(limit).arg(max).arg(min);
        pairs(self.eval(ErrorCode::ReadFailed, what, &call).await?, "message")?
            .into_iter()
            .map(|(id, h)| message(super::values::utf8(id, "message id")?, &h))
            .collect()
    }

    async fn list_messages_page(
        &self,
        sid: &str,
        thread_jid: &str,
        limit: u32,
        start: &PageStart,
    ) -> StoreResult<Vec<StoredMessage>> {
        let what = "list a page of messages";
        let mut call = LIST_PAGE.key(self.space(Area::Messages, sid).base());
        call.arg(thread_jid).arg(limit).arg(&start_args(start)[..]);
        pairs(self.eval(ErrorCode::ReadFailed, what, &call).await?, "message")?
            .into_iter()
            .map(|(id, h)| message(super::values::utf8(id, "message id")?, &h))
            .collect()
    }

    async fn delete_thread_messages(&self, sid: &str, thread_jid: &str, start: &PageStart) -> StoreResult<u32> {
        let what = "delete messages of a thread";
        let mut call = DELETE_FROM.key(self.space(Area::Messages, sid).base());
        call.arg(thread_jid).arg(&start_args(start)[..]);
        count(self.eval(ErrorCode::WriteFailed, what, &call).await?, what)
    }

    async fn delete_message(&self, sid: &str, id: &str) -> StoreResult<u32> {
        self.delete_indexed(Area::Messages, sid, ["m", id, "t", "t"], "delete a message")
            .await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.clear_space(Area::Messages, sid, "clear messages").await
    }
}

/// ARGV: limit. Up to `limit` (jid, fields) pairs; index entries without a thread are dropped.
static LIST_THREADS: LazyLock<Script> = LazyLock::new(|| {
    lua(r#"
local base, limit = KEYS[1], tonumber(ARGV[1])
local all = base .. 'all'
local function page(offset, n) return redis.call('ZRANGE', all, offset, offset + n - 1) end
local function take(jid)
  local f = redis.call('HGETALL', base .. 'r:' .. seg(jid))
  if #f > 0 then return f end
  return nil
end
return flat(collect(all, limit, page, take))
"#)
});

#[async_trait]
impl ThreadStore for RedisBackend {
    async fn upsert_threads(&self, sid: &str, records: Vec<StoredThread>) -> StoreResult<()> {
        let s = self.space(Area::Threads, sid);
        let all = s.key("all");
        let mut pipe = redis::pipe();
        pipe.atomic();
        for t in &records {
            let key = s.key1("r", &t.jid);
            let mut f = Fields::default();
            f.put("j", t.jid.as_bytes());
            f.text("n", t.name.as_deref());
            f.int("uc", t.unread_count);
            f.flag("ar", t.archived);
            f.int("pi", t.pinned);
            f.int("me", t.mute_end_ms);
            f.flag("mu", t.marked_as_unread);
            f.int("ee", t.ephemeral_expiration);
            f.int("es", t.ephemeral_setting_timestamp);
            pipe.cmd("HSET").arg(&key);
            for (name, value) in f.0 {
                pipe.arg(name).arg(value);
            }
            pipe.ignore();
            pipe.cmd("ZADD").arg(&all).arg(0).arg(&t.jid).ignore();
            self.slide(&mut pipe, Area::Threads, &key);
        }
        if !records.is_empty() {
            self.slide(&mut pipe, Area::Threads, &all);
        }
        self.pipe(ErrorCode::WriteFailed, "save threads", &pipe).await.map(drop)
    }

    async fn get_thread(&self, sid: &str, jid: &str) -> StoreResult<Option<StoredThread>> {
        let h = self
            .get_hash(
                Area::Threads,
                self.space(Area::Threads, sid).key1("r", jid),
                "load a thread",
            )
            .await?;
        h.record(thread)
    }

    async fn list_threads(&self, sid: &str, limit: u32) -> StoreResult<Vec<StoredThread>> {
        let what = "list threads";
        let mut call = LIST_THREADS.key(self.space(Area::Threads, sid).base());
        call.arg(limit);
        pairs(self.eval(ErrorCode::ReadFailed, what, &call).await?, "thread")?
            .iter()
            .map(|(_, h)| thread(h))
            .collect()
    }

    async fn delete_thread(&self, sid: &str, jid: &str) -> StoreResult<u32> {
        let what = "delete a thread";
        let s = self.space(Area::Threads, sid);
        let mut pipe = redis::pipe();
        pipe.atomic();
        pipe.cmd("DEL").arg(s.key1("r", jid));
        pipe.cmd("ZREM").arg(s.key("all")).arg(jid).ignore();
        let reply = self
            .pipe(ErrorCode::WriteFailed, what, &pipe)
            .await?
            .pop()
            .unwrap_or(Value::Int(0));
        count(reply, what)
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.clear_space(Area::Threads, sid, "clear threads").await
    }
}

/// ARGV: ttl, then per contact: jid, lastUpdatedMs, field count, (name, value)
/// per field. Merges in order; `lu` keeps the larger value; the phone index
/// follows the merged phone number.
static UPSERT_CONTACTS: LazyLock<Script> = LazyLock::new(|| {
    lua(r#"
local base, ttl = KEYS[1], ARGV[1]
local i = 2
while i <= #ARGV do
  local jid, lu, nf = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local r = base .. 'r:' .. seg(jid)
  local old = redis.call('HMGET', r, 'ph', 'lu')
  if old[2] and num(old[2], 'contact lastUpdatedMs') > tonumber(lu) then lu = old[2] end
  local phone = old[1]
  for j = i + 3, i + 2 + 2 * nf, 2 do
    if ARGV[j] == 'ph' then phone = ARGV[j + 1] end
  end
  if nf > 0 then
    redis.call('HSET', r, 'j', jid, 'lu', lu, unpack(ARGV, i + 3, i + 2 + 2 * nf))
  else
    redis.call('HSET', r, 'j', jid, 'lu', lu)
  end
  if old[1] and old[1] ~= phone then redis.call('ZREM', base .. 'p:' .. seg(old[1]), jid) end
  if phone then
    local p = base .. 'p:' .. seg(phone)
    redis.call('ZADD', p, lu, jid)
    slide(p, ttl)
  end
  slide(r, ttl)
  i = i + 3 + 2 * nf
end
return 1
"#)
});

/// ARGV: phone. The fields of the most recently updated contact with that
/// number, or nil; index entries that no longer match are dropped.
static CONTACT_BY_PHONE: LazyLock<Script> = LazyLock::new(|| {
    lua(r#"
local base, phone = KEYS[1], ARGV[1]
local p = base .. 'p:' .. seg(phone)
local found, stale = false, {}
for _, jid in ipairs(redis.call('ZREVRANGE', p, 0, -1)) do
  local r = base .. 'r:' .. seg(jid)
  if redis.call('HGET', r, 'ph') == phone then
    found = redis.call('HGETALL', r)
    break
  end
  stale[#stale + 1] = jid
end
for _, jid in ipairs(stale) do redis.call('ZREM', p, jid) end
return found
"#)
});

#[async_trait]
impl ContactStore for RedisBackend {
    async fn upsert_contacts(&self, sid: &str, records: Vec<StoredContact>) -> StoreResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut call = UPSERT_CONTACTS.key(self.space(Area::Contacts, sid).base());
        call.arg(self.slide_arg(Area::Contacts));
        for c in records {
            let mut f = Fields::default();
            f.text("dn", c.display_name.as_deref());
            f.text("pn", c.push_name.as_deref());
            f.text("li", c.lid.as_deref());
            f.text("ph", c.phone_number.as_deref());
            f.text("un", c.username.as_deref());
            call.arg(c.jid).arg(c.last_updated_ms).arg(f.0.len());
            for (name, value) in f.0 {
                call.arg(name).arg(value);
            }
        }
        self.eval(ErrorCode::WriteFailed, "save contacts", &call)
            .await
            .map(drop)
    }

    async fn get_contact(&self, sid: &str, jid: &str) -> StoreResult<Option<StoredContact>> {
        let h = self
            .get_hash(
                Area::Contacts,
                self.space(Area::Contacts, sid).key1("r", jid),
                "load a contact",
            )
            .await?;
        h.record(contact)
    }

    async fn get_contact_by_phone_number(&self, sid: &str, phone_number: &str) -> StoreResult<Option<StoredContact>> {
        let what = "look up a contact by phone number";
        let mut call = CONTACT_BY_PHONE.key(self.space(Area::Contacts, sid).base());
        call.arg(phone_number);
        let h = Hash::from_value(self.eval(ErrorCode::ReadFailed, what, &call).await?, "contact")?;
        h.record(contact)
    }

    async fn delete_contact(&self, sid: &str, jid: &str) -> StoreResult<u32> {
        self.delete_indexed(Area::Contacts, sid, ["r", jid, "ph", "p"], "delete a contact")
            .await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.clear_space(Area::Contacts, sid, "clear contacts").await
    }
}

#[async_trait]
impl PrivacyTokenStore for RedisBackend {
    async fn upsert_privacy_tokens(&self, sid: &str, records: Vec<PrivacyToken>) -> StoreResult<()> {
        let s = self.space(Area::PrivacyToken, sid);
        let mut pipe = redis::pipe();
        pipe.atomic();
        for t in &records {
            let key = s.key1("r", &t.jid);
            let mut f = Fields::default();
            f.put("j", t.jid.as_bytes());
            f.bytes("tc", t.tc_token.as_deref());
            f.int("tt", t.tc_token_timestamp);
            f.int("ts", t.tc_token_sender_timestamp);
            f.bytes("ns", t.nct_salt.as_deref());
            f.put("up", t.updated_at_ms.to_string());
            pipe.cmd("HSET").arg(&key);
            for (name, value) in f.0 {
                pipe.arg(name).arg(value);
            }
            pipe.ignore();
            self.slide(&mut pipe, Area::PrivacyToken, &key);
        }
        self.pipe(ErrorCode::WriteFailed, "save privacy tokens", &pipe)
            .await
            .map(drop)
    }

    async fn get_privacy_token(&self, sid: &str, jid: &str) -> StoreResult<Option<PrivacyToken>> {
        let key = self.space(Area::PrivacyToken, sid).key1("r", jid);
        let h = self.get_hash(Area::PrivacyToken, key, "load a privacy token").await?;
        h.record(privacy_token)
    }

    async fn delete_privacy_token(&self, sid: &str, jid: &str) -> StoreResult<u32> {
        let what = "delete a privacy token";
        let key = self.space(Area::PrivacyToken, sid).key1("r", jid);
        count(self.write(what, redis::cmd("DEL").arg(key)).await?, what)
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.clear_space(Area::PrivacyToken, sid, "clear privacy tokens").await
    }
}
