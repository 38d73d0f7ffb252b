//! Session leases: one hash per session, `<prefix>ls:{<sid>}:l` with the
//! token `t`, owner `o`, host `h`, pid `p` and expiry `x` (epoch ms of the
//! server's `TIME`). It is `SET NX PX` with a fencing token, done as
//! scripts so the token survives expiry: the hash has no native TTL (a
//! key that expired would take its token with it, and the next owner
//! would start again at 1), and a release empties `o` instead of deleting.
//!
//! A fenced group commit is one script that checks every fence and then
//! runs the batch's commands: Redis runs scripts atomically, so no takeover
//! can land between the check and the writes.

use std::sync::LazyLock;

use redis::{Pipeline, Script, Value};

use super::layout::Area;
use super::scripts::lua;
use super::values::{array, int, opt_bytes, utf8};
use super::RedisBackend;
use crate::domain::lease::{fenced_sids, lost_error, Acquired, Fence, Lease, LeaseOwner, LeaseRecord, Renewed};
use crate::domain::StoreResult;
use crate::error::{ErrorCode, StoreError};

/// The server's clock in epoch ms, and the record as `{t, o, h, p, x}`.
const LEASE_PRELUDE: &str = r#"
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function record(key)
  local r = redis.call('HMGET', key, 't', 'o', 'h', 'p', 'x')
  if not r[1] then return nil end
  return r
end
"#;

/// KEYS[1] lease; ARGV owner, host, pid, lease ms → {1, t, x} or {0, t, o, h, p, x}.
static ACQUIRE: LazyLock<Script> = LazyLock::new(|| {
    lua(&format!(
        r#"{LEASE_PRELUDE}
local now = now_ms()
local r = record(KEYS[1])
if r and r[2] ~= '' and r[2] ~= ARGV[1] and num(r[5], 'lease expiry') > now then
  return {{0, r[1], r[2], r[3] or '', r[4] or '0', r[5]}}
end
local t = redis.call('HINCRBY', KEYS[1], 't', 1)
local x = string.format('%d', now + num(ARGV[4], 'lease ms'))
redis.call('HSET', KEYS[1], 'o', ARGV[1], 'h', ARGV[2], 'p', ARGV[3], 'x', x)
return {{1, t, x}}
"#
    ))
});

/// KEYS[1] lease; ARGV token, lease ms → {1, t, x} or {0, t, o, h, p, x} (or {0} when absent).
static RENEW: LazyLock<Script> = LazyLock::new(|| {
    lua(&format!(
        r#"{LEASE_PRELUDE}
local r = record(KEYS[1])
if not r then return {{0}} end
if r[1] ~= ARGV[1] or r[2] == '' then
  return {{0, r[1], r[2], r[3] or '', r[4] or '0', r[5] or '0'}}
end
local x = string.format('%d', now_ms() + num(ARGV[2], 'lease ms'))
redis.call('HSET', KEYS[1], 'x', x)
return {{1, r[1], x}}
"#
    ))
});

/// KEYS[1] lease; ARGV token.
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    lua(
        r#"
if redis.call('HGET', KEYS[1], 't') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'o', '', 'x', '0')
end
return 1
"#,
    )
});

/// KEYS: the fenced sessions' leases. ARGV: n, the n tokens, then the
/// commands, each as its argument count followed by its arguments.
/// Returns 0 after running every command, or the 1-based index of the first stale fence.
static FENCED: LazyLock<Script> = LazyLock::new(|| {
    lua(
        r#"
local n = tonumber(ARGV[1])
for i = 1, n do
  if redis.call('HGET', KEYS[i], 't') ~= ARGV[1 + i] then return i end
end
local at = n + 2
while at <= #ARGV do
  local argc = tonumber(ARGV[at])
  redis.call(unpack(ARGV, at + 1, at + argc))
  at = at + argc + 1
end
return 0
"#,
    )
});

fn text(v: Value, what: &str) -> StoreResult<String> {
    utf8(opt_bytes(v, what)?.unwrap_or_default(), what)
}

fn number<T: std::str::FromStr>(v: Value, what: &str) -> StoreResult<T> {
    let raw = text(v, what)?;
    raw.parse().map_err(|_| StoreError::corrupted(format!("redis: stored {what} {raw:?} is not a number")))
}

/// `[t, o, h, p, x]` of a script reply.
fn record(items: Vec<Value>) -> StoreResult<LeaseRecord> {
    let what = "session lease";
    let mut it = items.into_iter();
    let mut next = || it.next().unwrap_or(Value::Nil);
    Ok(LeaseRecord {
        token: number(next(), what)?,
        owner: text(next(), what)?,
        host: text(next(), what)?,
        pid: number(next(), what).unwrap_or(0),
        expires_at_ms: number(next(), what)?,
    })
}

/// `{1, t, x}` → the lease; `{0, record…}` → the record (or `None` for `{0}`).
fn outcome(reply: Value) -> StoreResult<Result<Lease, Option<LeaseRecord>>> {
    let what = "session lease";
    let mut items = array(reply, what)?;
    if items.is_empty() {
        return Err(StoreError::corrupted("redis: empty session lease reply"));
    }
    let rest = items.split_off(1);
    let granted = int(items.remove(0), what)? == 1;
    if granted {
        let mut it = rest.into_iter();
        let token = number(it.next().unwrap_or(Value::Nil), what)?;
        let expires_at_ms = number(it.next().unwrap_or(Value::Nil), what)?;
        return Ok(Ok(Lease { token, expires_at_ms }));
    }
    Ok(Err(if rest.is_empty() { None } else { Some(record(rest)?) }))
}

impl RedisBackend {
    fn lease_key(&self, sid: &str) -> String {
        self.space(Area::Lease, sid).key("l")
    }

    pub(super) async fn acquire(&self, sid: &str, owner: &LeaseOwner, lease_ms: u64) -> StoreResult<Acquired> {
        let mut call = ACQUIRE.key(self.lease_key(sid));
        call.arg(&owner.id).arg(&owner.host).arg(owner.pid).arg(lease_ms);
        match outcome(self.eval(ErrorCode::WriteFailed, "acquire a session lease", &call).await?)? {
            Ok(lease) => Ok(Acquired::Granted(lease)),
            Err(Some(held)) => Ok(Acquired::Held(held)),
            Err(None) => Err(StoreError::corrupted("redis: acquiring a session lease returned no record")),
        }
    }

    pub(super) async fn renew(&self, sid: &str, token: u64, lease_ms: u64) -> StoreResult<Renewed> {
        let mut call = RENEW.key(self.lease_key(sid));
        call.arg(token.to_string()).arg(lease_ms);
        Ok(match outcome(self.eval(ErrorCode::WriteFailed, "renew a session lease", &call).await?)? {
            Ok(lease) => Renewed::Renewed(lease),
            Err(record) => Renewed::Lost(record),
        })
    }

    pub(super) async fn release(&self, sid: &str, token: u64) -> StoreResult<()> {
        let mut call = RELEASE.key(self.lease_key(sid));
        call.arg(token.to_string());
        self.eval(ErrorCode::WriteFailed, "release a session lease", &call).await.map(drop)
    }

    async fn lease_record(&self, sid: &str) -> StoreResult<Option<LeaseRecord>> {
        let what = "read a session lease";
        let cmd = redis::cmd("HMGET").arg(self.lease_key(sid)).arg(&["t", "o", "h", "p", "x"]).clone();
        let items = array(self.read(what, &cmd).await?, what)?;
        if matches!(items.first(), None | Some(Value::Nil)) {
            return Ok(None);
        }
        record(items).map(Some)
    }

    /// Runs `pipe`'s commands in one script that first checks every fence.
    pub(super) async fn fenced(&self, what: &'static str, pipe: &Pipeline, fences: &[Fence]) -> StoreResult<()> {
        let sids = fenced_sids(fences);
        let mut call = FENCED.prepare_invoke();
        for sid in &sids {
            call.key(self.lease_key(sid));
        }
        call.arg(sids.len());
        for sid in &sids {
            // Every fence of one session carries the same token (one lease per session and backend).
            let token = fences.iter().find(|f| &*f.sid == *sid).map_or(0, |f| f.token);
            call.arg(token.to_string());
        }
        for cmd in pipe.cmd_iter() {
            call.arg(cmd.args_iter().len());
            for arg in cmd.args_iter() {
                match arg {
                    redis::Arg::Simple(bytes) => call.arg(bytes),
                    _ => return Err(StoreError::new(ErrorCode::WriteFailed, "redis: a cursor in a fenced batch")),
                };
            }
        }
        let stale = int(self.eval(ErrorCode::WriteFailed, what, &call).await?, what)?;
        if stale == 0 {
            return Ok(());
        }
        let sid = usize::try_from(stale - 1).ok().and_then(|i| sids.get(i)).copied().unwrap_or_default();
        Err(lost_error(sid, self.lease_record(sid).await?.as_ref()))
    }
}

#[async_trait::async_trait]
impl crate::domain::lease::LeaseStore for RedisBackend {
    async fn acquire_lease(&self, sid: &str, owner: &LeaseOwner, lease_ms: u64) -> StoreResult<Acquired> {
        self.acquire(sid, owner, lease_ms).await
    }
    async fn renew_lease(&self, sid: &str, token: u64, lease_ms: u64) -> StoreResult<Renewed> {
        self.renew(sid, token, lease_ms).await
    }
    async fn release_lease(&self, sid: &str, token: u64) -> StoreResult<()> {
        self.release(sid, token).await
    }
}
