//! `appState`: sync keys and per-collection LT-hash state.
//!
//! - `as:{sid}:k:<hex key id>` hashes (`d` data, `t` timestamp, `f` fingerprint)
//!   and `as:{sid}:ki`, a sorted set of the hex ids scored by key epoch, so the
//!   active key is found from the top without reading every key.
//! - `as:{sid}:c:<collection>` (`v` version, `h` hash), `as:{sid}:m:<collection>`
//!   (index MAC → value MAC) and `as:{sid}:cl`, the set of collection names.
//!
//! `set_collection_states` receives the full map and writes only the delta
//! (removed MACs deleted, new or changed ones set), every update in one script.

use std::sync::LazyLock;

use async_trait::async_trait;
use redis::{Script, Value};

use super::layout::{hex, unhex, Area};
use super::scripts::lua;
use super::values::{array, count, tuple, utf8, Hash};
use super::RedisBackend;
use crate::domain::app_state::{
    key_epoch, pick_active_sync_key, AppStateExport, AppStateStore, CollectionState, CollectionUpdate, SyncKey,
};
use crate::domain::StoreResult;
use crate::error::{ErrorCode, StoreError};

pub(super) fn sync_key(hex_id: &[u8], h: &Hash) -> StoreResult<SyncKey> {
    Ok(SyncKey {
        key_id: unhex(hex_id).ok_or_else(|| StoreError::corrupted("redis: a stored app-state key id is not hex"))?,
        key_data: h.req_bytes("d")?,
        timestamp: h.req_int("t")?,
        fingerprint: h.bytes("f"),
    })
}

/// `(hex id, fields)` pairs a script returns, as keys.
fn sync_keys(pairs: Vec<Value>, what: &'static str) -> StoreResult<Vec<SyncKey>> {
    pairs
        .chunks(2)
        .map(|pair| match pair {
            [id, fields] => {
                let id = super::values::opt_bytes(id.clone(), what)?.unwrap_or_default();
                sync_key(&id, &Hash::from_value(fields.clone(), "app-state sync key")?)
            }
            _ => Err(StoreError::corrupted(format!("redis: reply for {what} is truncated"))),
        })
        .collect()
}

fn collection_state(c: Hash, m: Hash) -> StoreResult<CollectionState> {
    if c.is_empty() {
        return Ok(CollectionState::empty());
    }
    let mut map = Vec::new();
    for (mac, value) in m.into_fields() {
        map.push((utf8(mac, "index MAC")?, value));
    }
    Ok(CollectionState {
        initialized: true,
        version: c.req_int("v")?,
        hash: c.req_bytes("h")?,
        index_value_map: map,
    })
}

/// ARGV: ttl, then (hex id, data, timestamp, has fingerprint '1'/'0', fingerprint, epoch) per key.
static UPSERT_SYNC_KEYS: LazyLock<Script> = LazyLock::new(|| {
    lua(r#"
local base, ttl = KEYS[1], ARGV[1]
local ki = base .. 'ki'
local n = 0
for i = 2, #ARGV, 6 do
  local hx = ARGV[i]
  local k = base .. 'k:' .. hx
  if redis.call('HGET', k, 'd') ~= ARGV[i + 1] then
    redis.call('DEL', k)
    if ARGV[i + 3] == '1' then
      redis.call('HSET', k, 'd', ARGV[i + 1], 't', ARGV[i + 2], 'f', ARGV[i + 4])
    else
      redis.call('HSET', k, 'd', ARGV[i + 1], 't', ARGV[i + 2])
    end
    redis.call('ZADD', ki, ARGV[i + 5], hx)
    slide(k, ttl)
    n = n + 1
  end
end
slide(ki, ttl)
return n
"#)
});

/// ARGV: ttl. The keys of the highest epoch that still exist: (hex id, fields) pairs.
static ACTIVE_SYNC_KEYS: LazyLock<Script> = LazyLock::new(|| {
    lua(r#"
local base, ttl = KEYS[1], ARGV[1]
local ki = base .. 'ki'
local all = redis.call('ZREVRANGE', ki, 0, -1, 'WITHSCORES')
local out, stale, best = {}, {}, nil
for i = 1, #all, 2 do
  local hx, score = all[i], tonumber(all[i + 1])
  if best ~= nil and score ~= best then break end
  local k = base .. 'k:' .. hx
  local f = redis.call('HGETALL', k)
  if #f == 0 then
    stale[#stale + 1] = hx
  else
    best = score
    out[#out + 1] = hx
    out[#out + 1] = f
    slide(k, ttl)
  end
end
for _, hx in ipairs(stale) do redis.call('ZREM', ki, hx) end
slide(ki, ttl)
return out
"#)
});

/// A consistent snapshot: {(hex id, fields) pairs, (name, state, map) triples}.
static EXPORT: LazyLock<Script> = LazyLock::new(|| {
    lua(r#"
local base = KEYS[1]
local keys, colls = {}, {}
for _, hx in ipairs(redis.call('ZRANGE', base .. 'ki', 0, -1)) do
  local f = redis.call('HGETALL', base .. 'k:' .. hx)
  if #f > 0 then
    keys[#keys + 1] = hx
    keys[#keys + 1] = f
  end
end
for _, name in ipairs(redis.call('SMEMBERS', base .. 'cl')) do
  local c = redis.call('HGETALL', base .. 'c:' .. seg(name))
  if #c > 0 then
    colls[#colls + 1] = name
    colls[#colls + 1] = c
    colls[#colls + 1] = redis.call('HGETALL', base .. 'm:' .. seg(name))
  end
end
return {keys, colls}
"#)
});

/// ARGV: ttl, number of updates, then per update: name, version, hash, number
/// of entries, (index MAC, value MAC) per entry. Later duplicate MACs win.
static SET_COLLECTIONS: LazyLock<Script> = LazyLock::new(|| {
    lua(r#"
local base, ttl = KEYS[1], ARGV[1]
local i = 3
for _ = 1, tonumber(ARGV[2]) do
  local name, version, hash, count = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  i = i + 4
  local c, m = base .. 'c:' .. seg(name), base .. 'm:' .. seg(name)
  redis.call('HSET', c, 'v', version, 'h', hash)
  redis.call('SADD', base .. 'cl', name)
  local want, order = {}, {}
  for j = 0, count - 1 do
    local mac = ARGV[i + 2 * j]
    if want[mac] == nil then order[#order + 1] = mac end
    want[mac] = ARGV[i + 2 * j + 1]
  end
  i = i + 2 * count
  local have, cur, drop = redis.call('HGETALL', m), {}, {}
  for j = 1, #have, 2 do
    if want[have[j]] == nil then drop[#drop + 1] = have[j] else cur[have[j]] = have[j + 1] end
  end
  for j = 1, #drop, 500 do redis.call('HDEL', m, unpack(drop, j, math.min(j + 499, #drop))) end
  local put = {}
  for _, mac in ipairs(order) do
    if cur[mac] ~= want[mac] then
      put[#put + 1] = mac
      put[#put + 1] = want[mac]
    end
  end
  for j = 1, #put, 1000 do redis.call('HSET', m, unpack(put, j, math.min(j + 999, #put))) end
  slide(c, ttl) slide(m, ttl)
end
slide(base .. 'cl', ttl)
return 1
"#)
});

#[async_trait]
impl AppStateStore for RedisBackend {
    async fn export_data(&self, sid: &str) -> StoreResult<AppStateExport> {
        let what = "export app state";
        let call = EXPORT.key(self.space(Area::AppState, sid).base());
        let [keys, colls] = tuple::<2>(self.eval(ErrorCode::ReadFailed, what, &call).await?, what)?;
        let keys = sync_keys(array(keys, what)?, what)?;
        let mut collections = Vec::new();
        for triple in array(colls, what)?.chunks(3) {
            let [name, c, m] = triple else {
                return Err(StoreError::corrupted(format!("redis: reply for {what} is truncated")));
            };
            let name = utf8(
                super::values::opt_bytes(name.clone(), what)?.unwrap_or_default(),
                "collection name",
            )?;
            let state = collection_state(
                Hash::from_value(c.clone(), "app-state collection")?,
                Hash::from_value(m.clone(), "app-state index")?,
            )?;
            collections.push(CollectionUpdate {
                collection: name,
                version: state.version,
                hash: state.hash,
                index_value_map: state.index_value_map,
            });
        }
        Ok(AppStateExport { keys, collections })
    }

    async fn upsert_sync_keys(&self, sid: &str, keys: Vec<SyncKey>) -> StoreResult<u32> {
        if keys.is_empty() {
            return Ok(0);
        }
        let what = "save app-state sync keys";
        let mut call = UPSERT_SYNC_KEYS.key(self.space(Area::AppState, sid).base());
        call.arg(self.slide_arg(Area::AppState));
        for k in keys {
            let has_fp = if k.fingerprint.is_some() { "1" } else { "0" };
            call.arg(hex(&k.key_id))
                .arg(k.key_data)
                .arg(k.timestamp)
                .arg(has_fp)
                .arg(k.fingerprint.unwrap_or_default())
                .arg(key_epoch(&k.key_id));
        }
        count(self.eval(ErrorCode::WriteFailed, what, &call).await?, what)
    }

    async fn get_sync_keys(&self, sid: &str, key_ids: &[Vec<u8>]) -> StoreResult<Vec<Option<SyncKey>>> {
        let s = self.space(Area::AppState, sid);
        let hex_ids: Vec<String> = key_ids.iter().map(|id| hex(id)).collect();
        let keys: Vec<String> = hex_ids.iter().map(|h| s.key_raw("k", h)).collect();
        let hashes = self
            .get_hashes_sliding(Area::AppState, &keys, &[s.key("ki")], "load app-state sync keys")
            .await?;
        hex_ids
            .iter()
            .zip(hashes)
            .map(|(id, h)| h.record(|h| sync_key(id.as_bytes(), h)))
            .collect()
    }

    async fn get_active_sync_key(&self, sid: &str) -> StoreResult<Option<SyncKey>> {
        let what = "load the active app-state sync key";
        let mut call = ACTIVE_SYNC_KEYS.key(self.space(Area::AppState, sid).base());
        call.arg(self.slide_arg(Area::AppState));
        let mut top = sync_keys(array(self.eval(ErrorCode::ReadFailed, what, &call).await?, what)?, what)?;
        // Same epoch: key id order (as the SQL backends' `ORDER BY key_epoch DESC, key_id ASC`).
        top.sort_by(|a, b| a.key_id.cmp(&b.key_id));
        Ok(pick_active_sync_key(&top).cloned())
    }

    async fn get_collection_states(&self, sid: &str, collections: &[String]) -> StoreResult<Vec<CollectionState>> {
        let s = self.space(Area::AppState, sid);
        let keys: Vec<String> = collections
            .iter()
            .flat_map(|c| [s.key1("c", c), s.key1("m", c)])
            .collect();
        let mut hashes = self
            .get_hashes_sliding(Area::AppState, &keys, &[s.key("cl")], "load app-state collections")
            .await?
            .into_iter();
        let mut out = Vec::with_capacity(collections.len());
        while let (Some(c), Some(m)) = (hashes.next(), hashes.next()) {
            out.push(collection_state(c, m)?);
        }
        Ok(out)
    }

    async fn set_collection_states(&self, sid: &str, updates: Vec<CollectionUpdate>) -> StoreResult<()> {
        if updates.is_empty() {
            return Ok(());
        }
        let what = "save app-state collections";
        let mut call = SET_COLLECTIONS.key(self.space(Area::AppState, sid).base());
        call.arg(self.slide_arg(Area::AppState)).arg(updates.len());
        for u in updates {
            call.arg(u.collection)
                .arg(u.version)
                .arg(u.hash)
                .arg(u.index_value_map.len());
            for (mac, value) in u.index_value_map {
                call.arg(mac).arg(value);
            }
        }
        self.eval(ErrorCode::WriteFailed, what, &call).await.map(drop)
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.clear_space(Area::AppState, sid, "clear app state").await
    }
}
