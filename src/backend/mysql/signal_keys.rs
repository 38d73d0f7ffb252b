//! `signal`, `preKey`, `session` and `identity`: the local Signal keys and
//! the per-address session records and identities.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use sqlx::mysql::MySqlRow;

use super::rows::{
    address, bind_addresses, chunks_by_size, col, dedupe_last, opt_bool, opt_bool_col, padded, text, u32_col, Query,
};
use super::{is_retryable, read_err, write_err, MysqlBackend};
use crate::domain::identity::IdentityStore;
use crate::domain::pre_key::{PreKey, PreKeyReservation, PreKeyStore};
use crate::domain::session::SessionStore;
use crate::domain::signal::{RegistrationInfo, SignalStore, SignedPreKey};
use crate::domain::{Blob, KeyPair, SignalAddress, StoreResult};
use crate::error::StoreError;

type AddressKey = (String, String, i64);

fn address_key(a: &SignalAddress) -> AddressKey {
    let (user, server, device) = address(a);
    (user.to_owned(), server.to_owned(), device)
}

fn row_address_key(row: &MySqlRow) -> StoreResult<AddressKey> {
    Ok((text(row, "user")?, text(row, "server")?, col(row, "device")?))
}

pub(super) fn pre_key(row: &MySqlRow) -> StoreResult<PreKey> {
    Ok(PreKey {
        key_id: u32_col(row, "key_id")?,
        key_pair: KeyPair { pub_key: col(row, "pub_key")?, priv_key: col(row, "priv_key")? },
        uploaded: opt_bool_col(row, "uploaded")?,
    })
}

pub(super) fn signed_pre_key(row: &MySqlRow) -> StoreResult<SignedPreKey> {
    Ok(SignedPreKey {
        key_id: u32_col(row, "key_id")?,
        key_pair: KeyPair { pub_key: col(row, "pub_key")?, priv_key: col(row, "priv_key")? },
        signature: col(row, "signature")?,
        uploaded: opt_bool_col(row, "uploaded")?,
    })
}

/// The stored next pre-key id, as a value ids can be drawn from.
fn next_pre_key_id(row: Option<&MySqlRow>) -> StoreResult<i64> {
    let Some(row) = row else { return Ok(1) };
    let next: i64 = col(row, "next_prekey_id")?;
    if !(1..=i64::from(u32::MAX) + 1).contains(&next) {
        return Err(StoreError::corrupted(format!("mysql: stored next_prekey_id {next} is out of range")));
    }
    Ok(next)
}

fn addressed_size(entry: &(SignalAddress, Vec<u8>)) -> usize {
    2 * (entry.0.user.len() + entry.0.server.len()) + entry.1.len()
}

fn bind_addressed<'q>(query: Query<'q>, sid: &'q str, entry: &'q (SignalAddress, Vec<u8>)) -> Query<'q> {
    let (user, server, device) = address(&entry.0);
    query.bind(sid).bind(user).bind(user).bind(server).bind(server).bind(device).bind(entry.1.as_slice())
}

#[async_trait]
impl SignalStore for MysqlBackend {
    async fn get_registration_info(&self, sid: &str) -> StoreResult<Option<RegistrationInfo>> {
        let row = sqlx::query(&self.sql.reg_get)
            .bind(sid)
            .fetch_optional(self.db(sid).await?)
            .await
            .map_err(read_err("load registration info"))?;
        row.map(|row| {
            Ok(RegistrationInfo {
                registration_id: u32_col(&row, "registration_id")?,
                identity_key_pair: KeyPair {
                    pub_key: col(&row, "identity_pub_key")?,
                    priv_key: col(&row, "identity_priv_key")?,
                },
            })
        })
        .transpose()
    }

    async fn set_registration_info(&self, sid: &str, info: RegistrationInfo) -> StoreResult<()> {
        sqlx::query(&self.sql.reg_set)
            .bind(sid)
            .bind(i64::from(info.registration_id))
            .bind(info.identity_key_pair.pub_key)
            .bind(info.identity_key_pair.priv_key)
            .execute(self.db(sid).await?)
            .await
            .map_err(write_err("save registration info"))?;
        Ok(())
    }

    async fn get_signed_pre_key(&self, sid: &str) -> StoreResult<Option<SignedPreKey>> {
        let row = sqlx::query(&self.sql.spk_get)
            .bind(sid)
            .fetch_optional(self.db(sid).await?)
            .await
            .map_err(read_err("load the signed pre-key"))?;
        row.as_ref().map(signed_pre_key).transpose()
    }

    async fn set_signed_pre_key(&self, sid: &str, record: SignedPreKey) -> StoreResult<()> {
        sqlx::query(&self.sql.spk_set)
            .bind(sid)
            .bind(i64::from(record.key_id))
            .bind(record.key_pair.pub_key)
            .bind(record.key_pair.priv_key)
            .bind(record.signature)
            .bind(opt_bool(record.uploaded))
            .execute(self.db(sid).await?)
            .await
            .map_err(write_err("save the signed pre-key"))?;
        Ok(())
    }

    async fn get_signed_pre_key_by_id(&self, sid: &str, key_id: u32) -> StoreResult<Option<SignedPreKey>> {
        let row = sqlx::query(&self.sql.spk_get_by_id)
            .bind(sid)
            .bind(i64::from(key_id))
            .fetch_optional(self.db(sid).await?)
            .await
            .map_err(read_err("load the signed pre-key"))?;
        row.as_ref().map(signed_pre_key).transpose()
    }

    async fn set_signed_pre_key_rotation_ts(&self, sid: &str, value: Option<i64>) -> StoreResult<()> {
        sqlx::query(&self.sql.meta_set_rotation)
            .bind(sid)
            .bind(value)
            .execute(self.db(sid).await?)
            .await
            .map_err(write_err("save the signed pre-key rotation time"))?;
        Ok(())
    }

    async fn get_signed_pre_key_rotation_ts(&self, sid: &str) -> StoreResult<Option<i64>> {
        let row = sqlx::query(&self.sql.meta_get)
            .bind(sid)
            .fetch_optional(self.db(sid).await?)
            .await
            .map_err(read_err("load the signed pre-key rotation time"))?;
        Ok(match row {
            Some(row) => col(&row, "signed_prekey_rotation_ts")?,
            None => None,
        })
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        let what = "clear signal keys";
        let mut tx = self.tx(sid, what).await?;
        for sql in [&self.sql.reg_clear, &self.sql.spk_clear, &self.sql.meta_clear_rotation] {
            sqlx::query(sql).bind(sid).execute(&mut *tx).await.map_err(write_err(what))?;
        }
        tx.commit().await.map_err(write_err(what))
    }
}

impl MysqlBackend {
    /// Opens a transaction holding the session's meta row lock (created if
    /// missing) and returns the row: every pre-key read-modify-write takes it
    /// first, so they serialize per session, across processes, without deadlocks.
    async fn lock_meta(
        &self,
        sid: &str,
        what: &'static str,
    ) -> StoreResult<(sqlx::Transaction<'static, sqlx::MySql>, MySqlRow)> {
        let mut tx = self.tx(sid, what).await?;
        sqlx::query(&self.sql.meta_lock).bind(sid).execute(&mut *tx).await.map_err(write_err(what))?;
        let row =
            sqlx::query(&self.sql.meta_get_locked).bind(sid).fetch_one(&mut *tx).await.map_err(write_err(what))?;
        Ok((tx, row))
    }

    async fn reserve_once(&self, sid: &str, count: u32) -> Result<PreKeyReservation, (StoreError, bool)> {
        let what = "reserve pre-keys";
        let fail = |err: sqlx::Error| {
            let retry = is_retryable(&err);
            (write_err(what)(err), retry)
        };
        let (mut tx, meta) = self.lock_meta(sid, what).await.map_err(|e| (e, false))?;
        let rows = sqlx::query(&self.sql.pk_available)
            .bind(sid)
            .bind(i64::from(count))
            .fetch_all(&mut *tx)
            .await
            .map_err(fail)?;
        let available = rows.iter().map(pre_key).collect::<StoreResult<Vec<_>>>().map_err(|e| (e, false))?;
        let missing = i64::from(count) - available.len() as i64;
        let mut reserved_ids = Vec::new();
        if missing > 0 {
            let next = next_pre_key_id(Some(&meta)).map_err(|e| (e, false))?;
            let end = next + missing; // exclusive; ids must fit in u32
            if end - 1 > i64::from(u32::MAX) {
                return Err((
                    StoreError::invalid_argument(format!(
                        "cannot reserve {missing} pre-key ids: the id space is exhausted (next id {next})"
                    )),
                    false,
                ));
            }
            reserved_ids = (next..end).filter_map(|id| u32::try_from(id).ok()).collect();
            sqlx::query(&self.sql.meta_raise_next).bind(sid).bind(end).execute(&mut *tx).await.map_err(fail)?;
        }
        tx.commit().await.map_err(fail)?;
        Ok(PreKeyReservation { available, reserved_ids })
    }

    async fn consume_once(&self, sid: &str, key_id: u32) -> Result<Option<PreKey>, (StoreError, bool)> {
        let what = "consume a pre-key";
        let fail = |err: sqlx::Error| {
            let retry = is_retryable(&err);
            (write_err(what)(err), retry)
        };
        let mut tx = self.tx(sid, what).await.map_err(|e| (e, false))?;
        // The row lock makes concurrent consumers queue; the loser then reads nothing.
        let row = sqlx::query(&self.sql.pk_get_locked)
            .bind(sid)
            .bind(i64::from(key_id))
            .fetch_optional(&mut *tx)
            .await
            .map_err(fail)?;
        let Some(row) = row else {
            tx.commit().await.map_err(fail)?;
            return Ok(None);
        };
        let record = pre_key(&row).map_err(|e| (e, false))?;
        let done =
            sqlx::query(&self.sql.pk_delete).bind(sid).bind(i64::from(key_id)).execute(&mut *tx).await.map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        Ok((done.rows_affected() == 1).then_some(record))
    }
}


#[async_trait]
impl PreKeyStore for MysqlBackend {
    async fn put_pre_key(&self, sid: &str, record: PreKey) -> StoreResult<()> {
        let what = "save a pre-key";
        let mut tx = self.tx(sid, what).await?;
        let key_id = i64::from(record.key_id);
        sqlx::query(&self.sql.meta_raise_next)
            .bind(sid)
            .bind(key_id + 1)
            .execute(&mut *tx)
            .await
            .map_err(write_err(what))?;
        sqlx::query(&self.sql.pk_upsert)
            .bind(sid)
            .bind(key_id)
            .bind(record.key_pair.pub_key)
            .bind(record.key_pair.priv_key)
            .bind(opt_bool(record.uploaded))
            .execute(&mut *tx)
            .await
            .map_err(write_err(what))?;
        tx.commit().await.map_err(write_err(what))
    }

    async fn reserve_pre_keys(&self, sid: &str, count: u32) -> StoreResult<PreKeyReservation> {
        retrying!(self.reserve_once(sid, count))
    }

    async fn insert_generated_pre_keys(&self, sid: &str, records: Vec<PreKey>) -> StoreResult<u32> {
        let what = "save generated pre-keys";
        let (mut tx, _meta) = self.lock_meta(sid, what).await?;
        // First occurrence of an id wins; ids already stored are left alone.
        let mut seen = HashSet::new();
        let unique: Vec<&PreKey> = records.iter().filter(|r| seen.insert(r.key_id)).collect();
        let ids: Vec<i64> = unique.iter().map(|r| i64::from(r.key_id)).collect();
        let mut existing: HashSet<i64> = HashSet::new();
        for chunk in ids.chunks(self.sql.pk_existing.max_chunk()) {
            let (sql, len) = self.sql.pk_existing.for_len(chunk.len());
            let mut query = sqlx::query(sql).bind(sid);
            for id in padded(chunk, len) {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&mut *tx).await.map_err(write_err(what))? {
                existing.insert(col(&row, "key_id")?);
            }
        }
        let fresh: Vec<&PreKey> = unique.into_iter().filter(|r| !existing.contains(&i64::from(r.key_id))).collect();
        for chunk in chunks_by_size(&fresh, self.sql.pk_insert_many.max_chunk(), |r| {
            r.key_pair.pub_key.len() + r.key_pair.priv_key.len()
        }) {
            let (sql, len) = self.sql.pk_insert_many.for_len(chunk.len());
            let mut query = sqlx::query(sql);
            for r in padded(chunk, len) {
                query = query
                    .bind(sid)
                    .bind(i64::from(r.key_id))
                    .bind(r.key_pair.pub_key.as_slice())
                    .bind(r.key_pair.priv_key.as_slice())
                    .bind(opt_bool(r.uploaded));
            }
            query.execute(&mut *tx).await.map_err(write_err(what))?;
        }
        if let Some(highest) = records.iter().map(|r| r.key_id).max() {
            sqlx::query(&self.sql.meta_raise_next)
                .bind(sid)
                .bind(i64::from(highest) + 1)
                .execute(&mut *tx)
                .await
                .map_err(write_err(what))?;
        }
        tx.commit().await.map_err(write_err(what))?;
        Ok(super::rows::count(fresh.len() as u64))
    }

    async fn get_pre_key_by_id(&self, sid: &str, key_id: u32) -> StoreResult<Option<PreKey>> {
        let row = sqlx::query(&self.sql.pk_get)
            .bind(sid)
            .bind(i64::from(key_id))
            .fetch_optional(self.db(sid).await?)
            .await
            .map_err(read_err("load a pre-key"))?;
        row.as_ref().map(pre_key).transpose()
    }

    async fn get_pre_keys_by_id(&self, sid: &str, key_ids: &[u32]) -> StoreResult<Vec<Option<PreKey>>> {
        let pool = self.db(sid).await?;
        let mut found: HashMap<u32, PreKey> = HashMap::new();
        let mut seen = HashSet::new();
        let ids: Vec<u32> = key_ids.iter().copied().filter(|id| seen.insert(*id)).collect();
        for chunk in ids.chunks(self.sql.pk_get_many.max_chunk()) {
            let (sql, len) = self.sql.pk_get_many.for_len(chunk.len());
            let mut query = sqlx::query(sql).bind(sid);
            for id in padded(chunk, len) {
                query = query.bind(i64::from(*id));
            }
            for row in query.fetch_all(pool).await.map_err(read_err("load pre-keys"))? {
                let key = pre_key(&row)?;
                found.insert(key.key_id, key);
            }
        }
        Ok(key_ids.iter().map(|id| found.get(id).cloned()).collect())
    }

    async fn consume_pre_key_by_id(&self, sid: &str, key_id: u32) -> StoreResult<Option<PreKey>> {
        retrying!(self.consume_once(sid, key_id))
    }

    async fn mark_key_as_uploaded(&self, sid: &str, key_id: u32) -> StoreResult<()> {
        let what = "mark pre-keys uploaded";
        let (mut tx, meta) = self.lock_meta(sid, what).await?;
        if i64::from(key_id) >= next_pre_key_id(Some(&meta))? {
            return Err(StoreError::invalid_argument(format!("prekey {key_id} is out of boundary")));
        }
        sqlx::query(&self.sql.pk_mark_uploaded)
            .bind(sid)
            .bind(i64::from(key_id))
            .execute(&mut *tx)
            .await
            .map_err(write_err(what))?;
        tx.commit().await.map_err(write_err(what))
    }

    async fn set_server_has_pre_keys(&self, sid: &str, value: bool) -> StoreResult<()> {
        sqlx::query(&self.sql.meta_set_server_has)
            .bind(sid)
            .bind(i64::from(value))
            .execute(self.db(sid).await?)
            .await
            .map_err(write_err("save the server pre-key flag"))?;
        Ok(())
    }

    async fn get_server_has_pre_keys(&self, sid: &str) -> StoreResult<bool> {
        let row = sqlx::query(&self.sql.meta_get)
            .bind(sid)
            .fetch_optional(self.db(sid).await?)
            .await
            .map_err(read_err("load the server pre-key flag"))?;
        match row {
            Some(row) => super::rows::bool_col(&row, "server_has_prekeys"),
            None => Ok(false),
        }
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        let what = "clear pre-keys";
        let mut tx = self.tx(sid, what).await?;
        // meta first: the same lock order as every other pre-key write.
        for sql in [&self.sql.meta_reset_prekeys, &self.sql.pk_clear] {
            sqlx::query(sql).bind(sid).execute(&mut *tx).await.map_err(write_err(what))?;
        }
        tx.commit().await.map_err(write_err(what))
    }
}

#[async_trait]
impl SessionStore for MysqlBackend {
    async fn has_sessions(&self, sid: &str, addresses: &[SignalAddress]) -> StoreResult<Vec<bool>> {
        let pool = self.db(sid).await?;
        let mut present: HashSet<AddressKey> = HashSet::new();
        for chunk in addresses.chunks(self.sql.sess_has_many.max_chunk()) {
            let (sql, len) = self.sql.sess_has_many.for_len(chunk.len());
            let query = bind_addresses(sqlx::query(sql).bind(sid), chunk, len);
            for row in query.fetch_all(pool).await.map_err(read_err("look up sessions"))? {
                present.insert(row_address_key(&row)?);
            }
        }
        Ok(addresses.iter().map(|a| present.contains(&address_key(a))).collect())
    }

    async fn get_sessions(&self, sid: &str, addresses: &[SignalAddress]) -> StoreResult<Vec<Option<Blob>>> {
        let pool = self.db(sid).await?;
        let mut found: HashMap<AddressKey, Blob> = HashMap::new();
        for chunk in addresses.chunks(self.sql.sess_get_many.max_chunk()) {
            let (sql, len) = self.sql.sess_get_many.for_len(chunk.len());
            let query = bind_addresses(sqlx::query(sql).bind(sid), chunk, len);
            for row in query.fetch_all(pool).await.map_err(read_err("load sessions"))? {
                found.insert(row_address_key(&row)?, col(&row, "record")?);
            }
        }
        Ok(addresses.iter().map(|a| found.get(&address_key(a)).cloned()).collect())
    }

    async fn set_sessions(&self, sid: &str, entries: Vec<(SignalAddress, Blob)>) -> StoreResult<()> {
        let entries = dedupe_last(entries, |(a, _)| address_key(a));
        self.upsert_rows(sid, &self.sql.sess_upsert, &entries, addressed_size, bind_addressed, "save sessions").await
    }

    async fn delete_session(&self, sid: &str, a: &SignalAddress) -> StoreResult<()> {
        let (user, server, device) = address(a);
        sqlx::query(&self.sql.sess_delete)
            .bind(sid)
            .bind(user)
            .bind(server)
            .bind(device)
            .execute(self.db(sid).await?)
            .await
            .map_err(write_err("delete a session"))?;
        Ok(())
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        sqlx::query(&self.sql.sess_clear)
            .bind(sid)
            .execute(self.db(sid).await?)
            .await
            .map_err(write_err("clear sessions"))?;
        Ok(())
    }
}

#[async_trait]
impl IdentityStore for MysqlBackend {
    async fn get_remote_identities(&self, sid: &str, addresses: &[SignalAddress]) -> StoreResult<Vec<Option<Vec<u8>>>> {
        let pool = self.db(sid).await?;
        let mut found: HashMap<AddressKey, Vec<u8>> = HashMap::new();
        for chunk in addresses.chunks(self.sql.ident_get_many.max_chunk()) {
            let (sql, len) = self.sql.ident_get_many.for_len(chunk.len());
            let query = bind_addresses(sqlx::query(sql).bind(sid), chunk, len);
            for row in query.fetch_all(pool).await.map_err(read_err("load remote identities"))? {
                found.insert(row_address_key(&row)?, col(&row, "identity_key")?);
            }
        }
        Ok(addresses.iter().map(|a| found.get(&address_key(a)).cloned()).collect())
    }

    async fn set_remote_identities(&self, sid: &str, entries: Vec<(SignalAddress, Vec<u8>)>) -> StoreResult<()> {
        let entries = dedupe_last(entries, |(a, _)| address_key(a));
        let what = "save remote identities";
        self.upsert_rows(sid, &self.sql.ident_upsert, &entries, addressed_size, bind_addressed, what).await
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        sqlx::query(&self.sql.ident_clear)
            .bind(sid)
            .execute(self.db(sid).await?)
            .await
            .map_err(write_err("clear remote identities"))?;
        Ok(())
    }
}
