//! `signal`, `preKey`, `session` and `identity`: the local Signal keys and
//! the per-address session records and identities.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;

use super::rows::{address, bind_addresses, col, count, opt_bool, opt_bool_col, u32_col};
use super::{read_err, write_err, SqliteBackend};
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

fn row_address_key(row: &SqliteRow) -> StoreResult<AddressKey> {
    Ok((col(row, "user")?, col(row, "server")?, col(row, "device")?))
}

pub(super) fn pre_key(row: &SqliteRow) -> StoreResult<PreKey> {
    Ok(PreKey {
        key_id: u32_col(row, "key_id")?,
        key_pair: KeyPair { pub_key: col(row, "pub_key")?, priv_key: col(row, "priv_key")? },
        uploaded: opt_bool_col(row, "uploaded")?,
    })
}

pub(super) fn signed_pre_key(row: &SqliteRow) -> StoreResult<SignedPreKey> {
    Ok(SignedPreKey {
        key_id: u32_col(row, "key_id")?,
        key_pair: KeyPair { pub_key: col(row, "pub_key")?, priv_key: col(row, "priv_key")? },
        signature: col(row, "signature")?,
        uploaded: opt_bool_col(row, "uploaded")?,
    })
}

/// The stored next pre-key id, as a value ids can be drawn from.
fn next_pre_key_id(row: Option<&SqliteRow>) -> StoreResult<i64> {
    let Some(row) = row else { return Ok(1) };
    let next: i64 = col(row, "next_prekey_id")?;
    if !(1..=i64::from(u32::MAX) + 1).contains(&next) {
        return Err(StoreError::corrupted(format!("sqlite: stored next_prekey_id {next} is out of range")));
    }
    Ok(next)
}

#[async_trait]
impl SignalStore for SqliteBackend {
    async fn get_registration_info(&self, sid: &str) -> StoreResult<Option<RegistrationInfo>> {
        let row = sqlx::query(&self.sql.reg_get)
            .bind(sid)
            .fetch_optional(self.reader().await?)
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
            .execute(self.writer().await?)
            .await
            .map_err(write_err("save registration info"))?;
        Ok(())
    }

    async fn get_signed_pre_key(&self, sid: &str) -> StoreResult<Option<SignedPreKey>> {
        let row = sqlx::query(&self.sql.spk_get)
            .bind(sid)
            .fetch_optional(self.reader().await?)
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
            .execute(self.writer().await?)
            .await
            .map_err(write_err("save the signed pre-key"))?;
        Ok(())
    }

    async fn get_signed_pre_key_by_id(&self, sid: &str, key_id: u32) -> StoreResult<Option<SignedPreKey>> {
        let row = sqlx::query(&self.sql.spk_get_by_id)
            .bind(sid)
            .bind(i64::from(key_id))
            .fetch_optional(self.reader().await?)
            .await
            .map_err(read_err("load the signed pre-key"))?;
        row.as_ref().map(signed_pre_key).transpose()
    }

    async fn set_signed_pre_key_rotation_ts(&self, sid: &str, value: Option<i64>) -> StoreResult<()> {
        sqlx::query(&self.sql.meta_set_rotation)
            .bind(sid)
            .bind(value)
            .execute(self.writer().await?)
            .await
            .map_err(write_err("save the signed pre-key rotation time"))?;
        Ok(())
    }

    async fn get_signed_pre_key_rotation_ts(&self, sid: &str) -> StoreResult<Option<i64>> {
        let row = sqlx::query(&self.sql.meta_get)
            .bind(sid)
            .fetch_optional(self.reader().await?)
            .await
            .map_err(read_err("load the signed pre-key rotation time"))?;
        Ok(match row {
            Some(row) => col(&row, "signed_prekey_rotation_ts")?,
            None => None,
        })
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        let what = "clear signal keys";
        let mut tx = self.begin(what).await?;
        for sql in [&self.sql.reg_clear, &self.sql.spk_clear, &self.sql.meta_clear_rotation] {
            sqlx::query(sql).bind(sid).execute(&mut *tx).await.map_err(write_err(what))?;
        }
        tx.commit().await.map_err(write_err(what))
    }
}

#[async_trait]
impl PreKeyStore for SqliteBackend {
    async fn put_pre_key(&self, sid: &str, record: PreKey) -> StoreResult<()> {
        let what = "save a pre-key";
        let mut tx = self.begin(what).await?;
        let key_id = i64::from(record.key_id);
        sqlx::query(&self.sql.pk_upsert)
            .bind(sid)
            .bind(key_id)
            .bind(record.key_pair.pub_key)
            .bind(record.key_pair.priv_key)
            .bind(opt_bool(record.uploaded))
            .execute(&mut *tx)
            .await
            .map_err(write_err(what))?;
        sqlx::query(&self.sql.meta_raise_next)
            .bind(sid)
            .bind(key_id + 1)
            .execute(&mut *tx)
            .await
            .map_err(write_err(what))?;
        tx.commit().await.map_err(write_err(what))
    }

    async fn reserve_pre_keys(&self, sid: &str, count: u32) -> StoreResult<PreKeyReservation> {
        let what = "reserve pre-keys";
        let mut tx = self.begin(what).await?;
        let rows = sqlx::query(&self.sql.pk_available)
            .bind(sid)
            .bind(i64::from(count))
            .fetch_all(&mut *tx)
            .await
            .map_err(write_err(what))?;
        let available = rows.iter().map(pre_key).collect::<StoreResult<Vec<_>>>()?;
        let missing = i64::from(count) - available.len() as i64;
        let mut reserved_ids = Vec::new();
        if missing > 0 {
            let meta =
                sqlx::query(&self.sql.meta_get).bind(sid).fetch_optional(&mut *tx).await.map_err(write_err(what))?;
            let next = next_pre_key_id(meta.as_ref())?;
            let end = next + missing; // exclusive; ids must fit in u32
            if end - 1 > i64::from(u32::MAX) {
                return Err(StoreError::invalid_argument(format!(
                    "cannot reserve {missing} pre-key ids: the id space is exhausted (next id {next})"
                )));
            }
            reserved_ids = (next..end).filter_map(|id| u32::try_from(id).ok()).collect();
            sqlx::query(&self.sql.meta_raise_next)
                .bind(sid)
                .bind(end)
                .execute(&mut *tx)
                .await
                .map_err(write_err(what))?;
        }
        tx.commit().await.map_err(write_err(what))?;
        Ok(PreKeyReservation { available, reserved_ids })
    }

    async fn insert_generated_pre_keys(&self, sid: &str, records: Vec<PreKey>) -> StoreResult<u32> {
        let what = "save generated pre-keys";
        let mut tx = self.begin(what).await?;
        let mut inserted = 0u64;
        for record in &records {
            inserted += sqlx::query(&self.sql.pk_insert_missing)
                .bind(sid)
                .bind(i64::from(record.key_id))
                .bind(record.key_pair.pub_key.as_slice())
                .bind(record.key_pair.priv_key.as_slice())
                .bind(opt_bool(record.uploaded))
                .execute(&mut *tx)
                .await
                .map_err(write_err(what))?
                .rows_affected();
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
        Ok(count(inserted))
    }

    async fn get_pre_key_by_id(&self, sid: &str, key_id: u32) -> StoreResult<Option<PreKey>> {
        let row = sqlx::query(&self.sql.pk_get)
            .bind(sid)
            .bind(i64::from(key_id))
            .fetch_optional(self.reader().await?)
            .await
            .map_err(read_err("load a pre-key"))?;
        row.as_ref().map(pre_key).transpose()
    }

    async fn get_pre_keys_by_id(&self, sid: &str, key_ids: &[u32]) -> StoreResult<Vec<Option<PreKey>>> {
        let pool = self.reader().await?;
        let mut found: HashMap<u32, PreKey> = HashMap::new();
        for chunk in key_ids.chunks(self.sql.pk_get_many.max_chunk()) {
            let (sql, len) = self.sql.pk_get_many.for_len(chunk.len());
            let mut query = sqlx::query(sql).bind(sid);
            for id in super::rows::padded(chunk, len) {
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
        // DELETE … RETURNING: the read and the delete are one statement, so
        // two concurrent consumers can never both get the key.
        let row = sqlx::query(&self.sql.pk_consume)
            .bind(sid)
            .bind(i64::from(key_id))
            .fetch_optional(self.writer().await?)
            .await
            .map_err(write_err("consume a pre-key"))?;
        row.as_ref().map(pre_key).transpose()
    }

    async fn mark_key_as_uploaded(&self, sid: &str, key_id: u32) -> StoreResult<()> {
        let what = "mark pre-keys uploaded";
        let mut tx = self.begin(what).await?;
        let meta = sqlx::query(&self.sql.meta_get).bind(sid).fetch_optional(&mut *tx).await.map_err(write_err(what))?;
        if i64::from(key_id) >= next_pre_key_id(meta.as_ref())? {
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
            .execute(self.writer().await?)
            .await
            .map_err(write_err("save the server pre-key flag"))?;
        Ok(())
    }

    async fn get_server_has_pre_keys(&self, sid: &str) -> StoreResult<bool> {
        let row = sqlx::query(&self.sql.meta_get)
            .bind(sid)
            .fetch_optional(self.reader().await?)
            .await
            .map_err(read_err("load the server pre-key flag"))?;
        match row {
            Some(row) => super::rows::bool_col(&row, "server_has_prekeys"),
            None => Ok(false),
        }
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        let what = "clear pre-keys";
        let mut tx = self.begin(what).await?;
        for sql in [&self.sql.pk_clear, &self.sql.meta_reset_prekeys] {
            sqlx::query(sql).bind(sid).execute(&mut *tx).await.map_err(write_err(what))?;
        }
        tx.commit().await.map_err(write_err(what))
    }
}

#[async_trait]
impl SessionStore for SqliteBackend {
    async fn has_sessions(&self, sid: &str, addresses: &[SignalAddress]) -> StoreResult<Vec<bool>> {
        let pool = self.reader().await?;
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
        let pool = self.reader().await?;
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
        let what = "save sessions";
        let mut tx = self.begin(what).await?;
        for (a, record) in &entries {
            let (user, server, device) = address(a);
            sqlx::query(&self.sql.sess_upsert)
                .bind(sid)
                .bind(user)
                .bind(server)
                .bind(device)
                .bind(record.as_slice())
                .execute(&mut *tx)
                .await
                .map_err(write_err(what))?;
        }
        tx.commit().await.map_err(write_err(what))
    }

    async fn delete_session(&self, sid: &str, a: &SignalAddress) -> StoreResult<()> {
        let (user, server, device) = address(a);
        sqlx::query(&self.sql.sess_delete)
            .bind(sid)
            .bind(user)
            .bind(server)
            .bind(device)
            .execute(self.writer().await?)
            .await
            .map_err(write_err("delete a session"))?;
        Ok(())
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        sqlx::query(&self.sql.sess_clear)
            .bind(sid)
            .execute(self.writer().await?)
            .await
            .map_err(write_err("clear sessions"))?;
        Ok(())
    }
}

#[async_trait]
impl IdentityStore for SqliteBackend {
    async fn get_remote_identities(&self, sid: &str, addresses: &[SignalAddress]) -> StoreResult<Vec<Option<Vec<u8>>>> {
        let pool = self.reader().await?;
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
        let what = "save remote identities";
        let mut tx = self.begin(what).await?;
        for (a, key) in &entries {
            let (user, server, device) = address(a);
            sqlx::query(&self.sql.ident_upsert)
                .bind(sid)
                .bind(user)
                .bind(server)
                .bind(device)
                .bind(key.as_slice())
                .execute(&mut *tx)
                .await
                .map_err(write_err(what))?;
        }
        tx.commit().await.map_err(write_err(what))
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        sqlx::query(&self.sql.ident_clear)
            .bind(sid)
            .execute(self.writer().await?)
            .await
            .map_err(write_err("clear remote identities"))?;
        Ok(())
    }
}
