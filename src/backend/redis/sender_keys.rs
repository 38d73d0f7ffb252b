//! `senderKey`: per group, `sk:{sid}:k:<group>` (hash: sender → record bytes)
//! and `sk:{sid}:d:<group>` (hash: sender → `keyId:timestampMs`); per sender,
//! `sk:{sid}:s:<sender>` (set of the groups it has anything in), which
//! "delete in every group" walks. Senders are `user:server:device` parts.

use std::sync::LazyLock;

use async_trait::async_trait;
use redis::{Pipeline, Script, Value};

use super::layout::{addr_part, esc, parse_addr_part, Area, Space};
use super::scripts::lua;
use super::values::{count, opt_bytes};
use super::RedisBackend;
use crate::domain::sender_key::{GroupSenderKeys, SenderKey, SenderKeyDistribution, SenderKeyStore};
use crate::domain::{SignalAddress, StoreResult};
use crate::error::{ErrorCode, StoreError};

fn distribution_value(d: &SenderKeyDistribution) -> String {
    format!("{}:{}", d.key_id, d.timestamp_ms)
}

pub(super) fn distribution(group_id: &str, sender: SignalAddress, raw: &[u8]) -> StoreResult<SenderKeyDistribution> {
    let bad = || StoreError::corrupted("redis: a stored sender-key distribution is not keyId:timestampMs");
    let text = std::str::from_utf8(raw).map_err(|_| bad())?;
    let (key_id, ts) = text.split_once(':').ok_or_else(bad)?;
    Ok(SenderKeyDistribution {
        group_id: group_id.to_owned(),
        sender,
        key_id: key_id.parse().map_err(|_| bad())?,
        timestamp_ms: ts.parse().map_err(|_| bad())?,
    })
}

impl RedisBackend {
    /// Queues an upsert of one sender key: the record and the sender's group index.
    pub(super) fn queue_sender_key(&self, pipe: &mut Pipeline, s: &Space, record: &SenderKey) {
        let (group, sender) = (esc(&record.group_id), addr_part(&record.sender));
        let (k, idx) = (s.key_raw("k", &group), s.key_raw("s", &sender));
        pipe.cmd("HSET").arg(&k).arg(&sender).arg(&record.record).ignore();
        pipe.cmd("SADD").arg(&idx).arg(&group).ignore();
        self.slide(pipe, Area::SenderKey, &k);
        self.slide(pipe, Area::SenderKey, &idx);
    }
}

/// ARGV: group part, then sender parts. Deletes each sender's key and
/// distribution in that group; returns how many entries went.
static FORGET_IN_GROUP: LazyLock<Script> = LazyLock::new(|| {
    lua(r#"
local base, g = KEYS[1], ARGV[1]
local n = 0
for i = 2, #ARGV do
  local m = ARGV[i]
  n = n + redis.call('HDEL', base .. 'k:' .. g, m) + redis.call('HDEL', base .. 'd:' .. g, m)
  redis.call('SREM', base .. 's:' .. m, g)
end
return n
"#)
});

/// ARGV: sender part. Deletes its keys and distributions in every group.
static FORGET_EVERYWHERE: LazyLock<Script> = LazyLock::new(|| {
    lua(r#"
local base, m = KEYS[1], ARGV[1]
local idx = base .. 's:' .. m
local n = 0
for _, g in ipairs(redis.call('SMEMBERS', idx)) do
  n = n + redis.call('HDEL', base .. 'k:' .. g, m) + redis.call('HDEL', base .. 'd:' .. g, m)
end
redis.call('DEL', idx)
return n
"#)
});

#[async_trait]
impl SenderKeyStore for RedisBackend {
    async fn upsert_sender_key(&self, sid: &str, record: SenderKey) -> StoreResult<()> {
        let s = self.space(Area::SenderKey, sid);
        let mut pipe = redis::pipe();
        pipe.atomic();
        self.queue_sender_key(&mut pipe, &s, &record);
        self.pipe(ErrorCode::WriteFailed, "save a sender key", &pipe)
            .await
            .map(drop)
    }

    async fn upsert_sender_key_distributions(&self, sid: &str, records: Vec<SenderKeyDistribution>) -> StoreResult<()> {
        let s = self.space(Area::SenderKey, sid);
        let mut pipe = redis::pipe();
        pipe.atomic();
        for d in &records {
            let (group, sender) = (esc(&d.group_id), addr_part(&d.sender));
            let (k, idx) = (s.key_raw("d", &group), s.key_raw("s", &sender));
            pipe.cmd("HSET")
                .arg(&k)
                .arg(&sender)
                .arg(distribution_value(d))
                .ignore();
            pipe.cmd("SADD").arg(&idx).arg(&group).ignore();
            self.slide(&mut pipe, Area::SenderKey, &k);
            self.slide(&mut pipe, Area::SenderKey, &idx);
        }
        self.pipe(ErrorCode::WriteFailed, "save sender-key distributions", &pipe)
            .await
            .map(drop)
    }

    async fn get_group_sender_keys(&self, sid: &str, group_id: &str) -> StoreResult<GroupSenderKeys> {
        let s = self.space(Area::SenderKey, sid);
        let keys = [s.key1("k", group_id), s.key1("d", group_id)];
        let what = "load group sender keys";
        let mut hashes = self.get_hashes(Area::SenderKey, &keys, what).await?.into_iter();
        let (keys, dists) = (hashes.next().unwrap_or_default(), hashes.next().unwrap_or_default());
        if self.store_ttl(Area::SenderKey).is_some() {
            // The senders' group indexes must outlive what they point at (delete in every group walks them).
            let mut pipe = redis::pipe();
            for (member, _) in keys.fields().chain(dists.fields()) {
                self.slide(
                    &mut pipe,
                    Area::SenderKey,
                    &s.key_raw("s", &String::from_utf8_lossy(member)),
                );
            }
            self.pipe(ErrorCode::ReadFailed, what, &pipe).await?;
        }
        let mut out = GroupSenderKeys::default();
        for (member, record) in keys.into_fields() {
            out.sender_keys.push(SenderKey {
                group_id: group_id.to_owned(),
                sender: parse_addr_part(&member)?,
                record,
            });
        }
        for (member, raw) in dists.fields() {
            out.distributions
                .push(distribution(group_id, parse_addr_part(member)?, raw)?);
        }
        Ok(out)
    }

    async fn get_device_sender_key(
        &self,
        sid: &str,
        group_id: &str,
        sender: &SignalAddress,
    ) -> StoreResult<Option<SenderKey>> {
        let what = "load a sender key";
        let s = self.space(Area::SenderKey, sid);
        let (key, member) = (s.key1("k", group_id), addr_part(sender));
        let mut pipe = redis::pipe();
        pipe.cmd("HGET").arg(&key).arg(&member);
        self.slide_on_read(&mut pipe, Area::SenderKey, &key);
        self.slide_on_read(&mut pipe, Area::SenderKey, &s.key_raw("s", &member));
        let reply = self
            .pipe(ErrorCode::ReadFailed, what, &pipe)
            .await?
            .pop()
            .unwrap_or(Value::Nil);
        Ok(opt_bytes(reply, what)?.map(|record| SenderKey {
            group_id: group_id.to_owned(),
            sender: sender.clone(),
            record,
        }))
    }

    async fn get_device_sender_key_distributions(
        &self,
        sid: &str,
        group_id: &str,
        senders: &[SignalAddress],
    ) -> StoreResult<Vec<Option<SenderKeyDistribution>>> {
        if senders.is_empty() {
            return Ok(Vec::new());
        }
        let what = "load sender-key distributions";
        let s = self.space(Area::SenderKey, sid);
        let key = s.key1("d", group_id);
        let members: Vec<String> = senders.iter().map(addr_part).collect();
        let mut pipe = redis::pipe();
        pipe.cmd("HMGET").arg(&key).arg(&members);
        self.slide_on_read(&mut pipe, Area::SenderKey, &key);
        for member in &members {
            self.slide_on_read(&mut pipe, Area::SenderKey, &s.key_raw("s", member));
        }
        let reply = self
            .pipe(ErrorCode::ReadFailed, what, &pipe)
            .await?
            .pop()
            .unwrap_or(Value::Nil);
        let values = super::values::array(reply, what)?;
        if values.len() != senders.len() {
            return Err(StoreError::corrupted(
                "redis: HMGET returned the wrong number of values",
            ));
        }
        senders
            .iter()
            .zip(values)
            .map(|(sender, v)| {
                opt_bytes(v, what)?
                    .map(|raw| distribution(group_id, sender.clone(), &raw))
                    .transpose()
            })
            .collect()
    }

    async fn delete_device_sender_key(
        &self,
        sid: &str,
        target: &SignalAddress,
        group_id: Option<&str>,
    ) -> StoreResult<u32> {
        let what = "delete a sender key";
        let s = self.space(Area::SenderKey, sid);
        // zapo treats an empty group id like an absent one: every group.
        let reply = match group_id.filter(|g| !g.is_empty()) {
            Some(group) => {
                let mut call = FORGET_IN_GROUP.key(s.base());
                call.arg(esc(group)).arg(addr_part(target));
                self.eval(ErrorCode::WriteFailed, what, &call).await?
            }
            None => {
                let mut call = FORGET_EVERYWHERE.key(s.base());
                call.arg(addr_part(target));
                self.eval(ErrorCode::WriteFailed, what, &call).await?
            }
        };
        count(reply, what)
    }

    async fn mark_forget_sender_key(
        &self,
        sid: &str,
        group_id: &str,
        participants: &[SignalAddress],
    ) -> StoreResult<u32> {
        if participants.is_empty() {
            return Ok(0);
        }
        let what = "forget sender keys";
        let s = self.space(Area::SenderKey, sid);
        let mut call = FORGET_IN_GROUP.key(s.base());
        call.arg(esc(group_id));
        for p in participants {
            call.arg(addr_part(p));
        }
        count(self.eval(ErrorCode::WriteFailed, what, &call).await?, what)
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.clear_space(Area::SenderKey, sid, "clear sender keys").await
    }
}
