//! `signal`, `preKey`, `session` and `identity`.
//!
//! - signal: `sig:{sid}:reg` and `sig:{sid}:spk` hashes, `sig:{sid}:rot` (rotation time).
//! - preKey: `pk:{sid}:k:<id>` hashes, `pk:{sid}:av` (sorted set of the ids
//!   not uploaded yet, score = id) and `pk:{sid}:meta` (next id `n`, server flag
//!   `sh`). Every change to the keys, the set and the counter is one script.
//! - session / identity: `ses:{sid}:r:<user>:<server>:<device>` and
//!   `idn:{sid}:r:…` strings holding the raw record / key bytes.

use std::sync::LazyLock;

use async_trait::async_trait;
use redis::Script;

use super::layout::{addr_part, Area};
use super::scripts::lua;
use super::values::{array, flag, int, Fields, Hash};
use super::RedisBackend;
use crate::domain::identity::IdentityStore;
use crate::domain::pre_key::{PreKey, PreKeyReservation, PreKeyStore};
use crate::domain::session::SessionStore;
use crate::domain::signal::{RegistrationInfo, SignalStore, SignedPreKey};
use crate::domain::{Blob, KeyPair, SignalAddress, StoreResult};
use crate::error::{ErrorCode, StoreError};

/// `uploaded` as stored: `'1'`, `'0'`, or `''` for absent.
fn uploaded_arg(uploaded: Option<bool>) -> &'static str {
    uploaded.map_or("", flag)
}

/// A key pair stored as `pu` / `pr`.
pub(super) fn key_pair(h: &Hash) -> StoreResult<KeyPair> {
    Ok(KeyPair {
        pub_key: h.req_bytes("pu")?,
        priv_key: h.req_bytes("pr")?,
    })
}

pub(super) fn pre_key(key_id: u32, h: &Hash) -> StoreResult<PreKey> {
    Ok(PreKey {
        key_id,
        key_pair: key_pair(h)?,
        uploaded: h.flag("up")?,
    })
}

pub(super) fn signed_pre_key(h: &Hash) -> StoreResult<SignedPreKey> {
    Ok(SignedPreKey {
        key_id: h.u32("id")?,
        key_pair: key_pair(h)?,
        signature: h.req_bytes("sg")?,
        uploaded: h.flag("up")?,
    })
}

#[async_trait]
impl SignalStore for RedisBackend {
    async fn get_registration_info(&self, sid: &str) -> StoreResult<Option<RegistrationInfo>> {
        let h = self
            .get_hash(
                Area::Signal,
                self.space(Area::Signal, sid).key("reg"),
                "load registration info",
            )
            .await?;
        h.record(|h| {
            Ok(RegistrationInfo {
                registration_id: h.u32("id")?,
                identity_key_pair: key_pair(h)?,
            })
        })
    }

    async fn set_registration_info(&self, sid: &str, info: RegistrationInfo) -> StoreResult<()> {
        let mut fields = Fields::default();
        fields
            .put("id", info.registration_id.to_string())
            .put("pu", info.identity_key_pair.pub_key)
            .put("pr", info.identity_key_pair.priv_key);
        let key = self.space(Area::Signal, sid).key("reg");
        self.replace_hash(Area::Signal, &key, fields, "save registration info")
            .await
    }

    async fn get_signed_pre_key(&self, sid: &str) -> StoreResult<Option<SignedPreKey>> {
        let h = self
            .get_hash(
                Area::Signal,
                self.space(Area::Signal, sid).key("spk"),
                "load the signed pre-key",
            )
            .await?;
        h.record(signed_pre_key)
    }

    async fn set_signed_pre_key(&self, sid: &str, record: SignedPreKey) -> StoreResult<()> {
        let mut fields = Fields::default();
        fields
            .put("id", record.key_id.to_string())
            .put("pu", record.key_pair.pub_key)
            .put("pr", record.key_pair.priv_key)
            .put("sg", record.signature)
            .flag("up", record.uploaded);
        let key = self.space(Area::Signal, sid).key("spk");
        self.replace_hash(Area::Signal, &key, fields, "save the signed pre-key")
            .await
    }

    async fn get_signed_pre_key_by_id(&self, sid: &str, key_id: u32) -> StoreResult<Option<SignedPreKey>> {
        Ok(self.get_signed_pre_key(sid).await?.filter(|k| k.key_id == key_id))
    }

    async fn set_signed_pre_key_rotation_ts(&self, sid: &str, value: Option<i64>) -> StoreResult<()> {
        let key = self.space(Area::Signal, sid).key("rot");
        let what = "save the signed pre-key rotation time";
        match value {
            Some(ts) => {
                self.set_strings(Area::Signal, vec![(key, ts.to_string().into_bytes())], what)
                    .await
            }
            None => self.write(what, redis::cmd("DEL").arg(key)).await.map(drop),
        }
    }

    async fn get_signed_pre_key_rotation_ts(&self, sid: &str) -> StoreResult<Option<i64>> {
        let what = "load the signed pre-key rotation time";
        let key = self.space(Area::Signal, sid).key("rot");
        let Some(raw) = self.get_strings(Area::Signal, &[key], what).await?.pop().flatten() else {
            return Ok(None);
        };
        int(redis::Value::BulkString(raw), what).map(Some)
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        let s = self.space(Area::Signal, sid);
        let del = redis::cmd("DEL")
            .arg(s.key("reg"))
            .arg(s.key("spk"))
            .arg(s.key("rot"))
            .clone();
        self.write("clear signal keys", &del).await.map(drop)
    }
}

/// ARGV: ttl, id, pub, priv, uploaded ('1' / '0' / '').
static PUT_PRE_KEY: LazyLock<Script> = LazyLock::new(|| {
    lua(r#"
local base, ttl, id, up = KEYS[1], ARGV[1], ARGV[2], ARGV[5]
local k, av, meta = base .. 'k:' .. id, base .. 'av', base .. 'meta'
redis.call('DEL', k)
if up == '' then
  redis.call('HSET', k, 'pu', ARGV[3], 'pr', ARGV[4])
else
  redis.call('HSET', k, 'pu', ARGV[3], 'pr', ARGV[4], 'up', up)
end
if up == '1' then redis.call('ZREM', av, id) else redis.call('ZADD', av, id, id) end
local want = tonumber(id) + 1
local n = redis.call('HGET', meta, 'n')
if not n or num(n, 'pre-key counter') < want then redis.call('HSET', meta, 'n', string.format('%d', want)) end
slide(k, ttl) slide(av, ttl) slide(meta, ttl)
return 1
"#)
});

/// ARGV: ttl, count. Returns {first reserved id or -1 when the id space is
/// exhausted, how many were reserved, then (id, fields) per available key}.
/// Ids whose key is gone (expired by `storeTtlMs`) are dropped from the set.
static RESERVE_PRE_KEYS: LazyLock<Script> = LazyLock::new(|| {
    lua(r#"
local base, ttl, count = KEYS[1], ARGV[1], tonumber(ARGV[2])
local av, meta = base .. 'av', base .. 'meta'
local function page(offset, n) return redis.call('ZRANGE', av, offset, offset + n - 1) end
local function take(id)
  local k = base .. 'k:' .. id
  local f = redis.call('HMGET', k, 'pu', 'up')
  if not f[1] or f[2] == '1' then return nil end
  slide(k, ttl)
  return redis.call('HGETALL', k)
end
local available = collect(av, count, page, take)
local found = #available
local missing, first = count - found, 0
if missing > 0 then
  local n = redis.call('HGET', meta, 'n')
  first = 1
  if n then first = num(n, 'pre-key counter') end
  if first < 1 or first > 4294967296 or first % 1 ~= 0 then corrupt('pre-key counter ' .. n .. ' is out of range') end
  if first + missing - 1 > 4294967295 then return {-1, first} end
  redis.call('HSET', meta, 'n', string.format('%d', first + missing))
else
  missing = 0
end
slide(av, ttl) slide(meta, ttl)
return flat(available, {first, missing})
"#)
});

/// ARGV: ttl, highest id, then (id, pub, priv, uploaded) per key. Inserts only
/// ids not stored yet; returns how many went in.
static INSERT_PRE_KEYS: LazyLock<Script> = LazyLock::new(|| {
    lua(r#"
local base, ttl = KEYS[1], ARGV[1]
local av, meta = base .. 'av', base .. 'meta'
local n = 0
for i = 3, #ARGV, 4 do
  local id, up = ARGV[i], ARGV[i + 3]
  local k = base .. 'k:' .. id
  if redis.call('EXISTS', k) == 0 then
    if up == '' then
      redis.call('HSET', k, 'pu', ARGV[i + 1], 'pr', ARGV[i + 2])
    else
      redis.call('HSET', k, 'pu', ARGV[i + 1], 'pr', ARGV[i + 2], 'up', up)
    end
    if up ~= '1' then redis.call('ZADD', av, id, id) end
    slide(k, ttl)
    n = n + 1
  end
end
local want = tonumber(ARGV[2]) + 1
local cur = redis.call('HGET', meta, 'n')
if not cur or num(cur, 'pre-key counter') < want then redis.call('HSET', meta, 'n', string.format('%d', want)) end
slide(av, ttl) slide(meta, ttl)
return n
"#)
});

/// ARGV: id. The key's fields, deleted in the same step; nil when absent.
static CONSUME_PRE_KEY: LazyLock<Script> = LazyLock::new(|| {
    lua(r#"
local k = KEYS[1] .. 'k:' .. ARGV[1]
local f = redis.call('HGETALL', k)
if #f == 0 then return false end
redis.call('DEL', k)
redis.call('ZREM', KEYS[1] .. 'av', ARGV[1])
return f
"#)
});

/// ARGV: ttl, id. 0 when id >= the next id (out of bounds), else marks every id <= it.
static MARK_UPLOADED: LazyLock<Script> = LazyLock::new(|| {
    lua(r#"
local base, ttl, id = KEYS[1], ARGV[1], tonumber(ARGV[2])
local n = redis.call('HGET', base .. 'meta', 'n')
local next = 1
if n then next = num(n, 'pre-key counter') end
if id >= next then return 0 end
local av = base .. 'av'
for _, m in ipairs(redis.call('ZRANGEBYSCORE', av, '-inf', id)) do
  local k = base .. 'k:' .. m
  if redis.call('EXISTS', k) == 1 then
    redis.call('HSET', k, 'up', '1')
    slide(k, ttl)
  end
end
redis.call('ZREMRANGEBYSCORE', av, '-inf', id)
return 1
"#)
});

#[async_trait]
impl PreKeyStore for RedisBackend {
    async fn put_pre_key(&self, sid: &str, record: PreKey) -> StoreResult<()> {
        let s = self.space(Area::PreKey, sid);
        let mut call = PUT_PRE_KEY.key(s.base());
        call.arg(self.slide_arg(Area::PreKey))
            .arg(record.key_id)
            .arg(record.key_pair.pub_key)
            .arg(record.key_pair.priv_key)
            .arg(uploaded_arg(record.uploaded));
        self.eval(ErrorCode::WriteFailed, "save a pre-key", &call)
            .await
            .map(drop)
    }

    async fn reserve_pre_keys(&self, sid: &str, count: u32) -> StoreResult<PreKeyReservation> {
        let what = "reserve pre-keys";
        let s = self.space(Area::PreKey, sid);
        let mut call = RESERVE_PRE_KEYS.key(s.base());
        call.arg(self.slide_arg(Area::PreKey)).arg(count);
        let mut reply = array(self.eval(ErrorCode::WriteFailed, what, &call).await?, what)?.into_iter();
        let (Some(first), Some(reserved)) = (reply.next(), reply.next()) else {
            return Err(StoreError::corrupted("redis: pre-key reservation reply is truncated"));
        };
        let (first, reserved) = (int(first, what)?, int(reserved, what)?);
        if first < 0 {
            return Err(StoreError::invalid_argument(format!(
                "cannot reserve {count} pre-key ids: the id space is exhausted (next id {reserved})"
            )));
        }
        let rest: Vec<_> = reply.collect();
        let mut available = Vec::with_capacity(rest.len() / 2);
        for pair in rest.chunks(2) {
            let [id, fields] = pair else {
                return Err(StoreError::corrupted("redis: pre-key reservation reply is truncated"));
            };
            let key_id = u32::try_from(int(id.clone(), what)?)
                .map_err(|_| StoreError::corrupted("redis: a stored pre-key id is not a 32-bit unsigned id"))?;
            available.push(pre_key(key_id, &Hash::from_value(fields.clone(), "pre-key")?)?);
        }
        let reserved_ids = (first..first + reserved)
            .filter_map(|id| u32::try_from(id).ok())
            .collect();
        Ok(PreKeyReservation {
            available,
            reserved_ids,
        })
    }

    async fn insert_generated_pre_keys(&self, sid: &str, records: Vec<PreKey>) -> StoreResult<u32> {
        let Some(highest) = records.iter().map(|r| r.key_id).max() else {
            return Ok(0);
        };
        let what = "save generated pre-keys";
        let s = self.space(Area::PreKey, sid);
        let mut call = INSERT_PRE_KEYS.key(s.base());
        call.arg(self.slide_arg(Area::PreKey)).arg(highest);
        for r in records {
            call.arg(r.key_id)
                .arg(r.key_pair.pub_key)
                .arg(r.key_pair.priv_key)
                .arg(uploaded_arg(r.uploaded));
        }
        super::values::count(self.eval(ErrorCode::WriteFailed, what, &call).await?, what)
    }

    async fn get_pre_key_by_id(&self, sid: &str, key_id: u32) -> StoreResult<Option<PreKey>> {
        Ok(self.get_pre_keys_by_id(sid, &[key_id]).await?.pop().flatten())
    }

    async fn get_pre_keys_by_id(&self, sid: &str, key_ids: &[u32]) -> StoreResult<Vec<Option<PreKey>>> {
        let s = self.space(Area::PreKey, sid);
        let keys: Vec<String> = key_ids.iter().map(|id| s.key_raw("k", &id.to_string())).collect();
        let indexes = [s.key("meta"), s.key("av")];
        let hashes = self
            .get_hashes_sliding(Area::PreKey, &keys, &indexes, "load pre-keys")
            .await?;
        key_ids
            .iter()
            .zip(hashes)
            .map(|(id, h)| h.record(|h| pre_key(*id, h)))
            .collect()
    }

    async fn consume_pre_key_by_id(&self, sid: &str, key_id: u32) -> StoreResult<Option<PreKey>> {
        let what = "consume a pre-key";
        let s = self.space(Area::PreKey, sid);
        let mut call = CONSUME_PRE_KEY.key(s.base());
        call.arg(key_id);
        let h = Hash::from_value(self.eval(ErrorCode::WriteFailed, what, &call).await?, "pre-key")?;
        h.record(|h| pre_key(key_id, h))
    }

    async fn mark_key_as_uploaded(&self, sid: &str, key_id: u32) -> StoreResult<()> {
        let what = "mark pre-keys uploaded";
        let s = self.space(Area::PreKey, sid);
        let mut call = MARK_UPLOADED.key(s.base());
        call.arg(self.slide_arg(Area::PreKey)).arg(key_id);
        if int(self.eval(ErrorCode::WriteFailed, what, &call).await?, what)? == 0 {
            return Err(StoreError::invalid_argument(format!(
                "prekey {key_id} is out of boundary"
            )));
        }
        Ok(())
    }

    async fn set_server_has_pre_keys(&self, sid: &str, value: bool) -> StoreResult<()> {
        let meta = self.space(Area::PreKey, sid).key("meta");
        let mut pipe = redis::pipe();
        pipe.cmd("HSET").arg(&meta).arg("sh").arg(flag(value)).ignore();
        self.slide(&mut pipe, Area::PreKey, &meta);
        self.pipe(ErrorCode::WriteFailed, "save the server pre-key flag", &pipe)
            .await
            .map(drop)
    }

    async fn get_server_has_pre_keys(&self, sid: &str) -> StoreResult<bool> {
        let s = self.space(Area::PreKey, sid);
        let hashes = self
            .get_hashes_sliding(
                Area::PreKey,
                &[s.key("meta")],
                &[s.key("av")],
                "load the server pre-key flag",
            )
            .await?;
        Ok(hashes
            .first()
            .map(|h| h.flag("sh"))
            .transpose()?
            .flatten()
            .unwrap_or(false))
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        // The counter and the flag live in this space too: they reset with the keys.
        self.clear_space(Area::PreKey, sid, "clear pre-keys").await
    }
}

fn address_keys(b: &RedisBackend, area: Area, sid: &str, addresses: &[SignalAddress]) -> Vec<String> {
    let s = b.space(area, sid);
    addresses.iter().map(|a| s.key_raw("r", &addr_part(a))).collect()
}

#[async_trait]
impl SessionStore for RedisBackend {
    async fn has_sessions(&self, sid: &str, addresses: &[SignalAddress]) -> StoreResult<Vec<bool>> {
        let what = "look up sessions";
        let mut pipe = redis::pipe();
        for key in address_keys(self, Area::Session, sid, addresses) {
            pipe.cmd("EXISTS").arg(&key);
            self.slide_on_read(&mut pipe, Area::Session, &key);
        }
        let replies = self.pipe(ErrorCode::ReadFailed, what, &pipe).await?;
        replies.into_iter().map(|v| Ok(int(v, what)? > 0)).collect()
    }

    async fn get_sessions(&self, sid: &str, addresses: &[SignalAddress]) -> StoreResult<Vec<Option<Blob>>> {
        self.get_strings(
            Area::Session,
            &address_keys(self, Area::Session, sid, addresses),
            "load sessions",
        )
        .await
    }

    async fn set_sessions(&self, sid: &str, entries: Vec<(SignalAddress, Blob)>) -> StoreResult<()> {
        let s = self.space(Area::Session, sid);
        let pairs = entries
            .into_iter()
            .map(|(a, r)| (s.key_raw("r", &addr_part(&a)), r))
            .collect();
        self.set_strings(Area::Session, pairs, "save sessions").await
    }

    async fn delete_session(&self, sid: &str, address: &SignalAddress) -> StoreResult<()> {
        let key = self.space(Area::Session, sid).key_raw("r", &addr_part(address));
        self.write("delete a session", redis::cmd("DEL").arg(key))
            .await
            .map(drop)
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.clear_space(Area::Session, sid, "clear sessions").await
    }
}

#[async_trait]
impl IdentityStore for RedisBackend {
    async fn get_remote_identities(&self, sid: &str, addresses: &[SignalAddress]) -> StoreResult<Vec<Option<Vec<u8>>>> {
        self.get_strings(
            Area::Identity,
            &address_keys(self, Area::Identity, sid, addresses),
            "load remote identities",
        )
        .await
    }

    async fn set_remote_identities(&self, sid: &str, entries: Vec<(SignalAddress, Vec<u8>)>) -> StoreResult<()> {
        let s = self.space(Area::Identity, sid);
        let pairs = entries
            .into_iter()
            .map(|(a, k)| (s.key_raw("r", &addr_part(&a)), k))
            .collect();
        self.set_strings(Area::Identity, pairs, "save remote identities").await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.clear_space(Area::Identity, sid, "clear remote identities").await
    }
}
