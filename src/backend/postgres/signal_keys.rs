//! `signal`, `preKey`, `session` and `identity`: the local Signal keys and
//! the per-address session records and identities.

use async_trait::async_trait;
use sqlx::postgres::PgRow;

use super::rows::{address, address_arrays, col, count, dedupe_last, u32_col};
use super::{check, read_err, write_err, PostgresBackend};
use crate::domain::identity::IdentityStore;
use crate::domain::pre_key::{PreKey, PreKeyReservation, PreKeyStore};
use crate::domain::session::SessionStore;
use crate::domain::signal::{RegistrationInfo, SignalStore, SignedPreKey};
use crate::domain::{Blob, KeyPair, SignalAddress, StoreResult};
use crate::error::StoreError;

pub(super) fn pre_key(row: &PgRow) -> StoreResult<PreKey> {
    Ok(PreKey {
        key_id: u32_col(row, "key_id")?,
        key_pair: KeyPair { pub_key: col(row, "pub_key")?, priv_key: col(row, "priv_key")? },
        uploaded: col(row, "uploaded")?,
    })
}

pub(super) fn signed_pre_key(row: &PgRow) -> StoreResult<SignedPreKey> {
    Ok(SignedPreKey {
        key_id: u32_col(row, "key_id")?,
        key_pair: KeyPair { pub_key: col(row, "pub_key")?, priv_key: col(row, "priv_key")? },
        signature: col(row, "signature")?,
        uploaded: col(row, "uploaded")?,
    })
}

/// The stored next pre-key id, as a value ids can be drawn from.
fn next_pre_key_id(row: Option<&PgRow>) -> StoreResult<i64> {
    let Some(row) = row else { return Ok(1) };
    let next: i64 = col(row, "next_prekey_id")?;
    if !(1..=i64::from(u32::MAX) + 1).contains(&next) {
        return Err(StoreError::corrupted(format!("postgres: stored next_prekey_id {next} is out of range")));
    }
    Ok(next)
}

fn check_addresses<'a>(addresses: impl IntoIterator<Item = &'a SignalAddress>) -> StoreResult<()> {
    for a in addresses {
        check("address.user", &a.user)?;
        check("address.server", &a.server)?;
    }
    Ok(())
}

fn address_key(a: &SignalAddress) -> (String, String, i64) {
    let (user, server, device) = address(a);
    (user.to_owned(), server.to_owned(), device)
}

#[async_trait]
impl SignalStore for PostgresBackend {
    async fn get_registration_info(&self, sid: &str) -> StoreResult<Option<RegistrationInfo>> {
        check("sessionId", sid)?;
        let row = sqlx::query(&self.sql.reg_get)
            .bind(sid)
            .fetch_optional(self.pool().await?)
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
        check("sessionId", sid)?;
        sqlx::query(&self.sql.reg_set)
            .bind(sid)
            .bind(i64::from(info.registration_id))
            .bind(info.identity_key_pair.pub_key)
            .bind(info.identity_key_pair.priv_key)
            .execute(self.pool().await?)
            .await
            .map_err(write_err("save registration info"))?;
        Ok(())
    }

    async fn get_signed_pre_key(&self, sid: &str) -> StoreResult<Option<SignedPreKey>> {
        check("sessionId", sid)?;
        let row = sqlx::query(&self.sql.spk_get)
            .bind(sid)
            .fetch_optional(self.pool().await?)
            .await
            .map_err(read_err("load the signed pre-key"))?;
        row.as_ref().map(signed_pre_key).transpose()
    }

    async fn set_signed_pre_key(&self, sid: &str, record: SignedPreKey) -> StoreResult<()> {
        check("sessionId", sid)?;
        sqlx::query(&self.sql.spk_set)
            .bind(sid)
            .bind(i64::from(record.key_id))
            .bind(record.key_pair.pub_key)
            .bind(record.key_pair.priv_key)
            .bind(record.signature)
            .bind(record.uploaded)
            .execute(self.pool().await?)
            .await
            .map_err(write_err("save the signed pre-key"))?;
        Ok(())
    }

    async fn get_signed_pre_key_by_id(&self, sid: &str, key_id: u32) -> StoreResult<Option<SignedPreKey>> {
        check("sessionId", sid)?;
        let row = sqlx::query(&self.sql.spk_get_by_id)
            .bind(sid)
            .bind(i64::from(key_id))
            .fetch_optional(self.pool().await?)
            .await
            .map_err(read_err("load the signed pre-key"))?;
        row.as_ref().map(signed_pre_key).transpose()
    }

    async fn set_signed_pre_key_rotation_ts(&self, sid: &str, value: Option<i64>) -> StoreResult<()> {
        check("sessionId", sid)?;
        sqlx::query(&self.sql.meta_set_rotation)
            .bind(sid)
            .bind(value)
            .execute(self.pool().await?)
            .await
            .map_err(write_err("save the signed pre-key rotation time"))?;
        Ok(())
    }

    async fn get_signed_pre_key_rotation_ts(&self, sid: &str) -> StoreResult<Option<i64>> {
        check("sessionId", sid)?;
        let row = sqlx::query(&self.sql.meta_get)
            .bind(sid)
            .fetch_optional(self.pool().await?)
            .await
            .map_err(read_err("load the signed pre-key rotation time"))?;
        Ok(match row {
            Some(row) => col(&row, "signed_prekey_rotation_ts")?,
            None => None,
        })
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        let statements = [self.sql.reg_clear.as_str(), &self.sql.spk_clear, &self.sql.meta_clear_rotation];
        self.exec_sid_all(&statements, sid, "clear signal keys").await.map(drop)
    }
}

#[async_trait]
impl PreKeyStore for PostgresBackend {
    async fn put_pre_key(&self, sid: &str, record: PreKey) -> StoreResult<()> {
        check("sessionId", sid)?;
        let what = "save a pre-key";
        let mut tx = self.begin(what).await?;
        let key_id = i64::from(record.key_id);
        sqlx::query(&self.sql.pk_upsert)
            .bind(sid)
            .bind(key_id)
            .bind(record.key_pair.pub_key)
            .bind(record.key_pair.priv_key)
            .bind(record.uploaded)
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
        check("sessionId", sid)?;
        let what = "reserve pre-keys";
        let mut tx = self.begin(what).await?;
        // Ensure the meta row exists, then lock it: concurrent reservations
        // of one session serialize here and never hand out an id twice.
        sqlx::query(&self.sql.meta_ensure).bind(sid).execute(&mut *tx).await.map_err(write_err(what))?;
        let meta = sqlx::query(&self.sql.meta_get_for_update)
            .bind(sid)
            .fetch_optional(&mut *tx)
            .await
            .map_err(write_err(what))?;
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
        check("sessionId", sid)?;
        let what = "save generated pre-keys";
        let highest = records.iter().map(|r| r.key_id).max();
        // Insert-if-missing: the first record of an id is the one that counts.
        let mut records = super::rows::dedupe_with(records, |r| r.key_id, |_, _| {});
        records.sort_by_key(|r| r.key_id);
        let ids: Vec<i64> = records.iter().map(|r| i64::from(r.key_id)).collect();
        let pubs: Vec<&[u8]> = records.iter().map(|r| r.key_pair.pub_key.as_slice()).collect();
        let privs: Vec<&[u8]> = records.iter().map(|r| r.key_pair.priv_key.as_slice()).collect();
        let uploaded: Vec<Option<bool>> = records.iter().map(|r| r.uploaded).collect();
        let mut tx = self.begin(what).await?;
        let inserted = sqlx::query(&self.sql.pk_insert_missing)
            .bind(sid)
            .bind(ids)
            .bind(pubs)
            .bind(privs)
            .bind(uploaded)
            .execute(&mut *tx)
            .await
            .map_err(write_err(what))?
            .rows_affected();
        if let Some(highest) = highest {
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
        check("sessionId", sid)?;
        let row = sqlx::query(&self.sql.pk_get)
            .bind(sid)
            .bind(i64::from(key_id))
            .fetch_optional(self.pool().await?)
            .await
            .map_err(read_err("load a pre-key"))?;
        row.as_ref().map(pre_key).transpose()
    }

    async fn get_pre_keys_by_id(&self, sid: &str, key_ids: &[u32]) -> StoreResult<Vec<Option<PreKey>>> {
        check("sessionId", sid)?;
        if key_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = key_ids.iter().map(|id| i64::from(*id)).collect();
        let rows = sqlx::query(&self.sql.pk_get_many)
            .bind(sid)
            .bind(ids)
            .fetch_all(self.pool().await?)
            .await
            .map_err(read_err("load pre-keys"))?;
        rows.iter()
            .map(|row| match col::<Option<i64>>(row, "key_id")? {
                Some(_) => pre_key(row).map(Some),
                None => Ok(None),
            })
            .collect()
    }

    async fn consume_pre_key_by_id(&self, sid: &str, key_id: u32) -> StoreResult<Option<PreKey>> {
        check("sessionId", sid)?;
        // DELETE … RETURNING: the read and the delete are one statement, so
        // two concurrent consumers can never both get the key.
        let row = sqlx::query(&self.sql.pk_consume)
            .bind(sid)
            .bind(i64::from(key_id))
            .fetch_optional(self.pool().await?)
            .await
            .map_err(write_err("consume a pre-key"))?;
        row.as_ref().map(pre_key).transpose()
    }

    async fn mark_key_as_uploaded(&self, sid: &str, key_id: u32) -> StoreResult<()> {
        check("sessionId", sid)?;
        let what = "mark pre-keys uploaded";
        let mut tx = self.begin(what).await?;
        let meta = sqlx::query(&self.sql.meta_get_for_update)
            .bind(sid)
            .fetch_optional(&mut *tx)
            .await
            .map_err(write_err(what))?;
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
        check("sessionId", sid)?;
        sqlx::query(&self.sql.meta_set_server_has)
            .bind(sid)
            .bind(value)
            .execute(self.pool().await?)
            .await
            .map_err(write_err("save the server pre-key flag"))?;
        Ok(())
    }

    async fn get_server_has_pre_keys(&self, sid: &str) -> StoreResult<bool> {
        check("sessionId", sid)?;
        let row = sqlx::query(&self.sql.meta_get)
            .bind(sid)
            .fetch_optional(self.pool().await?)
            .await
            .map_err(read_err("load the server pre-key flag"))?;
        match row {
            Some(row) => col(&row, "server_has_prekeys"),
            None => Ok(false),
        }
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        let statements = [self.sql.pk_clear.as_str(), &self.sql.meta_reset_prekeys];
        self.exec_sid_all(&statements, sid, "clear pre-keys").await.map(drop)
    }
}

#[async_trait]
impl SessionStore for PostgresBackend {
    async fn has_sessions(&self, sid: &str, addresses: &[SignalAddress]) -> StoreResult<Vec<bool>> {
        check("sessionId", sid)?;
        check_addresses(addresses)?;
        if addresses.is_empty() {
            return Ok(Vec::new());
        }
        let (users, servers, devices) = address_arrays(addresses);
        let rows = sqlx::query(&self.sql.sess_has_many)
            .bind(sid)
            .bind(users)
            .bind(servers)
            .bind(devices)
            .fetch_all(self.pool().await?)
            .await
            .map_err(read_err("look up sessions"))?;
        rows.iter().map(|row| col(row, "hit")).collect()
    }

    async fn get_sessions(&self, sid: &str, addresses: &[SignalAddress]) -> StoreResult<Vec<Option<Blob>>> {
        check("sessionId", sid)?;
        check_addresses(addresses)?;
        if addresses.is_empty() {
            return Ok(Vec::new());
        }
        let (users, servers, devices) = address_arrays(addresses);
        let rows = sqlx::query(&self.sql.sess_get_many)
            .bind(sid)
            .bind(users)
            .bind(servers)
            .bind(devices)
            .fetch_all(self.pool().await?)
            .await
            .map_err(read_err("load sessions"))?;
        rows.iter().map(|row| col(row, "record")).collect()
    }

    async fn set_sessions(&self, sid: &str, entries: Vec<(SignalAddress, Blob)>) -> StoreResult<()> {
        check("sessionId", sid)?;
        check_addresses(entries.iter().map(|(a, _)| a))?;
        if entries.is_empty() {
            return Ok(());
        }
        // Key order: concurrent batches lock rows in one order, never deadlock.
        let mut entries = dedupe_last(entries, |(a, _)| address_key(a));
        entries.sort_by_cached_key(|(a, _)| address_key(a));
        let (users, servers, devices) = address_arrays(entries.iter().map(|(a, _)| a));
        let records: Vec<Blob> = entries.into_iter().map(|(_, r)| r).collect();
        sqlx::query(&self.sql.sess_upsert)
            .bind(sid)
            .bind(users)
            .bind(servers)
            .bind(devices)
            .bind(records)
            .execute(self.pool().await?)
            .await
            .map_err(write_err("save sessions"))?;
        Ok(())
    }

    async fn delete_session(&self, sid: &str, a: &SignalAddress) -> StoreResult<()> {
        check("sessionId", sid)?;
        check_addresses([a])?;
        let (user, server, device) = address(a);
        sqlx::query(&self.sql.sess_delete)
            .bind(sid)
            .bind(user)
            .bind(server)
            .bind(device)
            .execute(self.pool().await?)
            .await
            .map_err(write_err("delete a session"))?;
        Ok(())
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.exec_sid_all(&[&self.sql.sess_clear], sid, "clear sessions").await.map(drop)
    }
}

#[async_trait]
impl IdentityStore for PostgresBackend {
    async fn get_remote_identities(&self, sid: &str, addresses: &[SignalAddress]) -> StoreResult<Vec<Option<Vec<u8>>>> {
        check("sessionId", sid)?;
        check_addresses(addresses)?;
        if addresses.is_empty() {
            return Ok(Vec::new());
        }
        let (users, servers, devices) = address_arrays(addresses);
        let rows = sqlx::query(&self.sql.ident_get_many)
            .bind(sid)
            .bind(users)
            .bind(servers)
            .bind(devices)
            .fetch_all(self.pool().await?)
            .await
            .map_err(read_err("load remote identities"))?;
        rows.iter().map(|row| col(row, "identity_key")).collect()
    }

    async fn set_remote_identities(&self, sid: &str, entries: Vec<(SignalAddress, Vec<u8>)>) -> StoreResult<()> {
        check("sessionId", sid)?;
        check_addresses(entries.iter().map(|(a, _)| a))?;
        if entries.is_empty() {
            return Ok(());
        }
        // Key order: concurrent batches lock rows in one order, never deadlock.
        let mut entries = dedupe_last(entries, |(a, _)| address_key(a));
        entries.sort_by_cached_key(|(a, _)| address_key(a));
        let (users, servers, devices) = address_arrays(entries.iter().map(|(a, _)| a));
        let keys: Vec<Vec<u8>> = entries.into_iter().map(|(_, k)| k).collect();
        sqlx::query(&self.sql.ident_upsert)
            .bind(sid)
            .bind(users)
            .bind(servers)
            .bind(devices)
            .bind(keys)
            .execute(self.pool().await?)
            .await
            .map_err(write_err("save remote identities"))?;
        Ok(())
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.exec_sid_all(&[&self.sql.ident_clear], sid, "clear remote identities").await.map(drop)
    }
}
