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
