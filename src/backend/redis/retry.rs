//! `retry` cache: outbound messages `rt:{sid}:o:<id>` (hashes; requester lists
//! as JSON, absent and `[]` distinct) and inbound counters
//! `rt:{sid}:i:<id>:<requester>` (`n`, `ex`, `up`), all indexed by expiry in
//! `rt:{sid}:x` like the other caches (see `caches.rs`). Updates of a record
//! and the counter increment are scripts, atomic across processes.

use std::sync::LazyLock;

use async_trait::async_trait;
use redis::Script;

use super::caches::Entry;
use super::layout::{esc, Area};
use super::scripts::lua;
use super::values::{int, opt_bytes, tuple, utf8, Fields, Hash};
use super::RedisBackend;
use crate::backend::json_list;
use crate::domain::retry::{requester_status, RequesterStatus, RetryOutboundMessage, RetryStore};
use crate::domain::StoreResult;
use crate::error::{ErrorCode, StoreError};

fn outbound_member(message_id: &str) -> String {
    format!("o:{}", esc(message_id))
}

pub(super) fn outbound(message_id: &str, h: &Hash) -> StoreResult<RetryOutboundMessage> {
    Ok(RetryOutboundMessage {
        message_id: message_id.to_owned(),
        to_jid: h.req_text("to")?,
        eligible_requester_device_jids: h.list("el")?,
        delivered_requester_device_jids: h.list("dl")?,
        replay_mode: h.req_text("md")?,
        replay_payload: h.req_bytes("pl")?,
        state: h.req_text("st")?,
        updated_at_ms: h.req_int("up")?,
        expires_at_ms: h.req_int("ex")?,
    })
}

/// ARGV: member, native ttl, state, updatedAtMs, expiresAtMs. No-op (0) for an unknown message.
static UPDATE_STATE: LazyLock<Script> = LazyLock::new(|| {
    lua(r#"
local base, member, nat = KEYS[1], ARGV[1], ARGV[2]
local k = base .. member
if redis.call('EXISTS', k) == 0 then return 0 end
redis.call('HSET', k, 'st', ARGV[3], 'up', ARGV[4], 'ex', ARGV[5])
redis.call('PEXPIRE', k, nat)
redis.call('ZADD', base .. 'x', ARGV[5], member)
extend(base .. 'x', nat)
return 1
"#)
});

/// ARGV: member, native ttl, requester, updatedAtMs, expiresAtMs. Adds the
/// requester to the delivered list once; no-op (0) for an unknown message.
static MARK_DELIVERED: LazyLock<Script> = LazyLock::new(|| {
    lua(r#"
local base, member, nat, requester = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local k = base .. member
if redis.call('EXISTS', k) == 0 then return 0 end
local raw = redis.call('HGET', k, 'dl')
local list = {}
if raw then
  local ok, decoded = pcall(cjson.decode, raw)
  if not ok or type(decoded) ~= 'table' then corrupt('retry delivered list is not a JSON array') end
  list = decoded
end
local seen = false
for _, v in ipairs(list) do
  if v == requester then seen = true end
end
if not seen then
  list[#list + 1] = requester
  redis.call('HSET', k, 'dl', cjson.encode(list))
end
redis.call('HSET', k, 'up', ARGV[4], 'ex', ARGV[5])
redis.call('PEXPIRE', k, nat)
redis.call('ZADD', base .. 'x', ARGV[5], member)
extend(base .. 'x', nat)
return 1
"#)
});

/// ARGV: member, native ttl, updatedAtMs, expiresAtMs. Returns the new count;
/// a counter expired at `updatedAtMs` restarts at 1.
static INCREMENT: LazyLock<Script> = LazyLock::new(|| {
    lua(r#"
local base, member, nat = KEYS[1], ARGV[1], ARGV[2]
local k = base .. member
local cur = redis.call('HMGET', k, 'n', 'ex')
local n = 1
if cur[1] and cur[2] and num(cur[2], 'retry counter expiry') > tonumber(ARGV[3]) then
  n = num(cur[1], 'retry count') + 1
end
redis.call('HSET', k, 'n', string.format('%d', n), 'ex', ARGV[4], 'up', ARGV[3])
redis.call('PEXPIRE', k, nat)
redis.call('ZADD', base .. 'x', ARGV[4], member)
extend(base .. 'x', nat)
return n
"#)
});

#[async_trait]
impl RetryStore for RedisBackend {
    async fn upsert_outbound_message(&self, sid: &str, record: RetryOutboundMessage) -> StoreResult<()> {
        let mut fields = Fields::default();
        fields
            .put("to", record.to_jid)
            .put("md", record.replay_mode)
            .put("pl", record.replay_payload)
            .put("st", record.state)
            .int("up", Some(record.updated_at_ms));
        fields.list("el", record.eligible_requester_device_jids.as_deref())?;
        fields.list("dl", record.delivered_requester_device_jids.as_deref())?;
        let entry = Entry {
            member: outbound_member(&record.message_id),
            expires_at_ms: record.expires_at_ms,
            fields,
        };
        self.put_entries(
            Area::Retry,
            sid,
            self.options.cache_ttls.retry_ms,
            vec![entry],
            "save a retry message",
        )
        .await
    }

    async fn get_outbound_message(&self, sid: &str, message_id: &str) -> StoreResult<Option<RetryOutboundMessage>> {
        // Like the SQL backends, no expiry filter here: cleanupExpired decides.
        let key = self.space(Area::Retry, sid).key(&outbound_member(message_id));
        let h = self.get_hash(Area::Retry, key, "load a retry message").await?;
        h.record(|h| outbound(message_id, h))
    }

    async fn delete_outbound_message(&self, sid: &str, message_id: &str) -> StoreResult<u32> {
        self.delete_entry(Area::Retry, sid, outbound_member(message_id), "delete a retry message")
            .await
    }

    async fn get_outbound_requester_status(
        &self,
        sid: &str,
        message_id: &str,
        requester_device_jid: &str,
    ) -> StoreResult<Option<RequesterStatus>> {
        let what = "look up a retry requester";
        let key = self.space(Area::Retry, sid).key(&outbound_member(message_id));
        let reply = self
            .read(what, redis::cmd("HMGET").arg(key).arg("el").arg("dl"))
            .await?;
        let [eligible, delivered] = tuple::<2>(reply, what)?;
        let list = |v, field: &str| -> StoreResult<Option<Vec<String>>> {
            opt_bytes(v, what)?
                .map(|raw| json_list::decode("redis", &utf8(raw, "retry requester list")?, field))
                .transpose()
        };
        let (eligible, delivered) = (
            list(eligible, "retry message field \"el\"")?,
            list(delivered, "retry message field \"dl\"")?,
        );
        Ok(requester_status(
            eligible.as_deref(),
            delivered.as_deref(),
            requester_device_jid,
        ))
    }

    async fn update_outbound_message_state(
        &self,
        sid: &str,
        message_id: &str,
        state: &str,
        updated_at_ms: i64,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        let mut call = UPDATE_STATE.key(self.space(Area::Retry, sid).base());
        call.arg(outbound_member(message_id))
            .arg(Self::cache_ttl(expires_at_ms, self.options.cache_ttls.retry_ms))
            .arg(state)
            .arg(updated_at_ms)
            .arg(expires_at_ms);
        self.eval(ErrorCode::WriteFailed, "update a retry message", &call)
            .await
            .map(drop)
    }

    async fn mark_outbound_requester_delivered(
        &self,
        sid: &str,
        message_id: &str,
        requester_device_jid: &str,
        updated_at_ms: i64,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        let mut call = MARK_DELIVERED.key(self.space(Area::Retry, sid).base());
        call.arg(outbound_member(message_id))
            .arg(Self::cache_ttl(expires_at_ms, self.options.cache_ttls.retry_ms))
            .arg(requester_device_jid)
            .arg(updated_at_ms)
            .arg(expires_at_ms);
        self.eval(ErrorCode::WriteFailed, "mark a retry requester delivered", &call)
            .await
            .map(drop)
    }

    async fn increment_inbound_counter(
        &self,
        sid: &str,
        message_id: &str,
        requester_jid: &str,
        updated_at_ms: i64,
        expires_at_ms: i64,
    ) -> StoreResult<u32> {
        let what = "count a retry request";
        let mut call = INCREMENT.key(self.space(Area::Retry, sid).base());
        call.arg(format!("i:{}:{}", esc(message_id), esc(requester_jid)))
            .arg(Self::cache_ttl(expires_at_ms, self.options.cache_ttls.retry_ms))
            .arg(updated_at_ms)
            .arg(expires_at_ms);
        let n = int(self.eval(ErrorCode::WriteFailed, what, &call).await?, what)?;
        u32::try_from(n).map_err(|_| StoreError::corrupted(format!("redis: stored retry count {n} is out of range")))
    }

    async fn cleanup_expired(&self, sid: &str, now_ms: i64) -> StoreResult<u32> {
        self.cleanup_entries(Area::Retry, sid, now_ms, "clean up expired retry entries")
            .await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.clear_space(Area::Retry, sid, "clear retry entries").await
    }

    fn retry_ttl_ms(&self) -> i64 {
        self.options.cache_ttls.retry_ms
    }

    fn supports_raw_replay_payload(&self) -> bool {
        false
    }
}
