//! The adapters' generic key domain and the Signal group commit.
//!
//! `ky:{sid}:v:<type>:<id>` strings hold the values; `ky:{sid}:i:<type>` is a
//! sorted set of the type's ids, all with score 0, so `ZRANGEBYLEX` pages them
//! in byte-wise order after a cursor; `ky:{sid}:types` (same shape) lists the
//! types ever written, and listing it drops the ones whose index is empty.
//! Writes update values and indexes in one `MULTI`.

use std::sync::LazyLock;

use async_trait::async_trait;
use redis::{Pipeline, Script};

use super::layout::{addr_part, esc, Area, Space};
use super::scripts::lua;
use super::values::{array, opt_bytes, utf8};
use super::RedisBackend;
use crate::domain::keys::{KeyStore, KeyWrite, MAX_LIST_PAGE};
use crate::domain::lease::Fence;
use crate::domain::signal_batch::{SessionWrite, SignalBatchStore, SignalWrite};
use crate::domain::{Blob, StoreResult};
use crate::error::{ErrorCode, StoreError};

fn value_key(s: &Space, kind: &str, id: &str) -> String {
    s.key_raw("v", &format!("{}:{}", esc(kind), esc(id)))
}

/// The `ZRANGEBYLEX` lower bound after `after` (exclusive), or the start.
fn lex_after(after: Option<&str>) -> Vec<u8> {
    match after {
        Some(a) => [b"(".as_slice(), a.as_bytes()].concat(),
        None => b"-".to_vec(),
    }
}

/// ARGV: type part, lower bound, limit. (id, value) pairs in byte-wise id order.
static LIST_KEYS: LazyLock<Script> = LazyLock::new(|| {
    lua(r#"
local base, kind, limit = KEYS[1], ARGV[1], tonumber(ARGV[3])
local idx = base .. 'i:' .. kind
local function page(offset, n) return redis.call('ZRANGEBYLEX', idx, ARGV[2], '+', 'LIMIT', offset, n) end
local function take(id) return redis.call('GET', base .. 'v:' .. kind .. ':' .. seg(id)) end
return flat(collect(idx, limit, page, take))
"#)
});

/// The types whose index still has ids, in byte-wise order; empty ones are dropped.
static LIST_KEY_TYPES: LazyLock<Script> = LazyLock::new(|| {
    lua(r#"
local base = KEYS[1]
local types = base .. 'types'
local out = {}
for _, kind in ipairs(redis.call('ZRANGE', types, 0, -1)) do
  if redis.call('EXISTS', base .. 'i:' .. seg(kind)) == 1 then
    out[#out + 1] = kind
  else
    redis.call('ZREM', types, kind)
  end
end
return out
"#)
});

impl RedisBackend {
    fn queue_key_write(&self, pipe: &mut Pipeline, s: &Space, write: &KeyWrite) {
        let (value, index) = (value_key(s, &write.kind, &write.id), s.key1("i", &write.kind));
        match &write.value {
            Some(v) => {
                pipe.cmd("SET").arg(&value).arg(v).ignore();
                pipe.cmd("ZADD").arg(&index).arg(0).arg(&write.id).ignore();
                pipe.cmd("ZADD").arg(s.key("types")).arg(0).arg(&write.kind).ignore();
            }
            None => {
                pipe.cmd("DEL").arg(&value).ignore();
                pipe.cmd("ZREM").arg(&index).arg(&write.id).ignore();
            }
        }
    }
}

#[async_trait]
impl KeyStore for RedisBackend {
    async fn get_keys(&self, sid: &str, kind: &str, ids: &[String]) -> StoreResult<Vec<Option<Blob>>> {
        let s = self.space(Area::Keys, sid);
        let keys: Vec<String> = ids.iter().map(|id| value_key(&s, kind, id)).collect();
        self.get_strings(Area::Keys, &keys, "load adapter keys").await
    }

    async fn write_keys(&self, sid: &str, writes: Vec<KeyWrite>) -> StoreResult<()> {
        let s = self.space(Area::Keys, sid);
        let mut pipe = redis::pipe();
        pipe.atomic();
        for w in &writes {
            self.queue_key_write(&mut pipe, &s, w);
        }
        self.pipe(ErrorCode::WriteFailed, "save adapter keys", &pipe)
            .await
            .map(drop)
    }

    async fn list_keys(
        &self,
        sid: &str,
        kind: &str,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<(String, Blob)>> {
        let limit = limit.min(MAX_LIST_PAGE);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let what = "list adapter keys";
        let mut call = LIST_KEYS.key(self.space(Area::Keys, sid).base());
        call.arg(esc(kind)).arg(lex_after(after)).arg(limit);
        let items = array(self.eval(ErrorCode::ReadFailed, what, &call).await?, what)?;
        let mut out = Vec::with_capacity(items.len() / 2);
        let mut it = items.into_iter();
        while let (Some(id), Some(value)) = (it.next(), it.next()) {
            let id = utf8(opt_bytes(id, what)?.unwrap_or_default(), "adapter key id")?;
            let value =
                opt_bytes(value, what)?.ok_or_else(|| StoreError::corrupted("redis: adapter key without a value"))?;
            out.push((id, value));
        }
        Ok(out)
    }

    async fn list_key_ids(&self, sid: &str, kind: &str, after: Option<&str>, limit: u32) -> StoreResult<Vec<String>> {
        let limit = limit.min(MAX_LIST_PAGE);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let what = "list adapter key ids";
        let index = self.space(Area::Keys, sid).key1("i", kind);
        let cmd = redis::cmd("ZRANGEBYLEX")
            .arg(index)
            .arg(lex_after(after))
            .arg("+")
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .clone();
        array(self.read(what, &cmd).await?, what)?
            .into_iter()
            .map(|v| utf8(opt_bytes(v, what)?.unwrap_or_default(), "adapter key id"))
            .collect()
    }

    async fn list_key_types(&self, sid: &str) -> StoreResult<Vec<String>> {
        let what = "list adapter key types";
        let call = LIST_KEY_TYPES.key(self.space(Area::Keys, sid).base());
        array(self.eval(ErrorCode::ReadFailed, what, &call).await?, what)?
            .into_iter()
            .map(|v| utf8(opt_bytes(v, what)?.unwrap_or_default(), "adapter key type"))
            .collect()
    }

    async fn clear_keys(&self, sid: &str) -> StoreResult<()> {
        self.clear_space(Area::Keys, sid, "clear adapter keys").await
    }
}

#[async_trait]
impl SignalBatchStore for RedisBackend {
    /// One `MULTI`/`EXEC` for every write of every session, in order (later
    /// duplicates win); with fences, one script that checks them first.
    async fn commit_signal_batch(&self, writes: &[SessionWrite], fences: &[Fence]) -> StoreResult<()> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        for w in writes {
            match &w.write {
                SignalWrite::Session { address, record } => {
                    let key = self.space(Area::Session, &w.sid).key_raw("r", &addr_part(address));
                    match record {
                        Some(r) => {
                            pipe.cmd("SET").arg(&key).arg(r).ignore();
                            self.slide(&mut pipe, Area::Session, &key);
                        }
                        None => {
                            pipe.cmd("DEL").arg(&key).ignore();
                        }
                    }
                }
                SignalWrite::Identity { address, key: identity } => {
                    let key = self.space(Area::Identity, &w.sid).key_raw("r", &addr_part(address));
                    pipe.cmd("SET").arg(&key).arg(identity).ignore();
                    self.slide(&mut pipe, Area::Identity, &key);
                }
                SignalWrite::SenderKey(record) => {
                    self.queue_sender_key(&mut pipe, &self.space(Area::SenderKey, &w.sid), record);
                }
                SignalWrite::Key(write) => self.queue_key_write(&mut pipe, &self.space(Area::Keys, &w.sid), write),
            }
        }
        if !fences.is_empty() && !pipe.is_empty() {
            return self.fenced("commit a signal batch", &pipe, fences).await;
        }
        self.pipe(ErrorCode::WriteFailed, "commit a signal batch", &pipe)
            .await
            .map(drop)
    }
}
