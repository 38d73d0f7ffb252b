//! Lua scripts: every read-modify-write and every write that must keep an
//! index consistent with its data runs as one script, which Redis executes
//! atomically. `redis::Script` sends `EVALSHA` and loads the script once when
//! the server does not know it yet (`NOSCRIPT`).
//!
//! Conventions shared by every script (the prelude below):
//! - `KEYS[1]` is the (area, session) base `<prefix><tag>:{<sid>}:`; dynamic
//!   keys are built from it with `seg`, which escapes like `layout::esc`. The
//!   hash tag in the base keeps every key of one session in one cluster slot.
//! - `corrupt(msg)` raises `WASTORE_CORRUPTED …`, which the backend maps to
//!   `STORE_CORRUPTED`.
//! - `slide(key, ttl)` applies a sliding `storeTtlMs` (`'0'` = none);
//!   `extend(key, ttl)` only ever lengthens a TTL (index keys of caches).
//! - `collect(index, limit, page, take)` walks a sorted-set index page by page
//!   and drops members whose record is gone (expired by `storeTtlMs`, say);
//!   `flat` turns its `{member, value}` pairs into a flat reply.

use redis::Script;

/// The error code scripts raise for undecodable stored data.
pub const CORRUPTED: &str = "WASTORE_CORRUPTED";

const PRELUDE: &str = r#"
local function seg(s)
  return (string.gsub(s, '[%%:{}]', function(c) return string.format('%%%02X', string.byte(c)) end))
end
local function corrupt(msg)
  error({err = 'WASTORE_CORRUPTED ' .. msg})
end
local function slide(key, ttl)
  if ttl ~= '0' then redis.call('PEXPIRE', key, ttl) end
end
local function extend(key, ttl)
  local t = redis.call('PTTL', key)
  if t == -1 or (t >= 0 and t < tonumber(ttl)) then redis.call('PEXPIRE', key, ttl) end
end
local function collect(idx, limit, page, take)
  local out, stale, offset = {}, {}, 0
  while #out < limit do
    local members = page(offset, limit)
    if #members == 0 then break end
    for _, m in ipairs(members) do
      if #out < limit then
        local v = take(m)
        if v then out[#out + 1] = {m, v} else stale[#stale + 1] = m end
      end
    end
    offset = offset + #members
  end
  for _, m in ipairs(stale) do redis.call('ZREM', idx, m) end
  return out
end
local function flat(pairs, into)
  local out = into or {}
  for _, p in ipairs(pairs) do
    out[#out + 1] = p[1]
    out[#out + 1] = p[2]
  end
  return out
end
local function num(v, what)
  local n = tonumber(v)
  if n == nil then corrupt(what .. ' is not a number') end
  return n
end
"#;

/// A script with the shared prelude in front of `body`.
pub fn lua(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}\n{body}"))
}
