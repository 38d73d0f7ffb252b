//! `signal`, `preKey`, `session` and `identity`.
//!
//! `signal_meta` (one document per session) holds the pre-key counter as
//! `last_prekey_id` (the highest id reserved or stored; the next id is one
//! more), the server flag and the signed pre-key rotation time. Every write
//! that may create it sets the fields it does not own with `$setOnInsert`, so
//! an existing meta document always has a counter. Reservations move the
//! counter with a conditional `$inc` in one `findOneAndUpdate`: concurrent
//! reservations, from any number of processes, never share an id.

use std::collections::HashSet;

use std::future::IntoFuture;

use async_trait::async_trait;
use mongodb::bson::{doc, Bson, Document};
use mongodb::options::ReturnDocument;

use super::bulk::upsert;
use super::collections::Kind;
use super::docs::{
    address_fields, bin, get_bytes, get_flag, get_i64, get_opt_flag, get_opt_i64, get_u32, opt_flag, opt_i64, Key,
};
use super::MongoBackend;
use crate::backend::dedupe::dedupe_last;
use crate::domain::identity::IdentityStore;
use crate::domain::pre_key::{PreKey, PreKeyReservation, PreKeyStore};
use crate::domain::session::SessionStore;
use crate::domain::signal::{RegistrationInfo, SignalStore, SignedPreKey};
use crate::domain::{Blob, KeyPair, SignalAddress, StoreResult};
use crate::error::StoreError;

/// Attempts of the counter reservation before giving up (it only repeats to create the meta document).
const RESERVE_ATTEMPTS: usize = 4;

pub(super) fn pre_key(doc: &Document) -> StoreResult<PreKey> {
    Ok(PreKey {
        key_id: get_u32(doc, "key_id")?,
        key_pair: KeyPair { pub_key: get_bytes(doc, "pub_key")?, priv_key: get_bytes(doc, "priv_key")? },
        uploaded: get_opt_flag(doc, "uploaded")?,
    })
}

pub(super) fn signed_pre_key(doc: &Document) -> StoreResult<SignedPreKey> {
    Ok(SignedPreKey {
        key_id: get_u32(doc, "key_id")?,
        key_pair: KeyPair { pub_key: get_bytes(doc, "pub_key")?, priv_key: get_bytes(doc, "priv_key")? },
        signature: get_bytes(doc, "signature")?,
        uploaded: get_opt_flag(doc, "uploaded")?,
    })
}

fn pre_key_id(sid: &str, key_id: u32) -> String {
    Key::of(sid).int(i64::from(key_id)).done()
}

fn pre_key_fields(sid: &str, record: PreKey) -> Document {
    doc! {
        "s": sid,
        "key_id": i64::from(record.key_id),
        "pub_key": bin(record.key_pair.pub_key),
        "priv_key": bin(record.key_pair.priv_key),
        "uploaded": opt_flag(record.uploaded),
    }
}

pub(super) fn address_id(sid: &str, a: &SignalAddress) -> String {
    Key::of(sid).address(a).done()
}

/// The `$set` of a per-address record (session or identity).
pub(super) fn address_record(sid: &str, a: &SignalAddress, field: &str, value: Vec<u8>) -> Document {
    let mut set = doc! { "s": sid };
    address_fields(&mut set, a);
    set.insert(field, bin(value));
    set
}

/// The stored counter: the highest id handed out so far (0 for a new session).
fn last_prekey_id(meta: Option<&Document>) -> StoreResult<i64> {
    let Some(meta) = meta else { return Ok(0) };
    let last = get_i64(meta, "last_prekey_id")?;
    if !(0..=i64::from(u32::MAX)).contains(&last) {
        return Err(StoreError::corrupted(format!("mongo: stored last_prekey_id {last} is out of range")));
    }
    Ok(last)
}

impl MongoBackend {
    /// Raises the pre-key counter to at least `key_id` (creating the meta document).
    async fn raise_prekey_counter(&self, sid: &str, key_id: u32, what: &'static str) -> StoreResult<()> {
        let u = doc! { "$max": { "last_prekey_id": i64::from(key_id) }, "$setOnInsert": { "server_has_prekeys": 0 } };
        self.upsert_one(Kind::SignalMeta, doc! { "_id": sid }, u, what).await.map(drop)
    }

    /// Atomically takes `n` fresh ids from the counter.
    async fn reserve_ids(&self, sid: &str, n: u32) -> StoreResult<Vec<u32>> {
        let what = "reserve pre-key ids";
        let meta = self.coll(Kind::SignalMeta).await?;
        let n = i64::from(n);
        let max_before = i64::from(u32::MAX) - n;
        for _ in 0..RESERVE_ATTEMPTS {
            // Only a counter with room for `n` more ids matches; the match and
            // the increment are one atomic single-document update.
            let filter = doc! { "_id": sid, "last_prekey_id": { "$lte": max_before } };
            let update = doc! { "$inc": { "last_prekey_id": n } };
            let call = meta.find_one_and_update(filter, update).return_document(ReturnDocument::After);
            if let Some(after) = self.write(what, call.into_future()).await? {
                let last = last_prekey_id(Some(&after))?;
                return Ok((last - n + 1..=last).filter_map(|id| u32::try_from(id).ok()).collect());
            }
            // No match: the meta document is missing (create it and retry) or the id space is spent.
            match self.find_one(Kind::SignalMeta, doc! { "_id": sid }, what).await? {
                None => {
                    let u = doc! { "$setOnInsert": { "last_prekey_id": 0_i64, "server_has_prekeys": 0 } };
                    self.upsert_one(Kind::SignalMeta, doc! { "_id": sid }, u, what).await?;
                }
                Some(doc) => {
                    let last = last_prekey_id(Some(&doc))?;
                    if last > max_before {
                        return Err(StoreError::invalid_argument(format!(
                            "cannot reserve {n} pre-key ids: the id space is exhausted (next id {})",
                            last + 1
                        )));
                    }
                }
            }
        }
        Err(StoreError::new(
            crate::error::ErrorCode::WriteFailed,
            format!("mongo: {what} failed: the counter kept changing"),
        ))
    }
}

#[async_trait]
impl SignalStore for MongoBackend {
    async fn get_registration_info(&self, sid: &str) -> StoreResult<Option<RegistrationInfo>> {
        let doc = self.find_one(Kind::SignalRegistration, doc! { "_id": sid }, "load registration info").await?;
        doc.map(|d| {
            Ok(RegistrationInfo {
                registration_id: get_u32(&d, "registration_id")?,
                identity_key_pair: KeyPair {
                    pub_key: get_bytes(&d, "identity_pub_key")?,
                    priv_key: get_bytes(&d, "identity_priv_key")?,
                },
            })
        })
        .transpose()
    }

    async fn set_registration_info(&self, sid: &str, info: RegistrationInfo) -> StoreResult<()> {
        let set = doc! {
            "registration_id": i64::from(info.registration_id),
            "identity_pub_key": bin(info.identity_key_pair.pub_key),
            "identity_priv_key": bin(info.identity_key_pair.priv_key),
        };
        let what = "save registration info";
        self.upsert_one(Kind::SignalRegistration, doc! { "_id": sid }, doc! { "$set": set }, what).await.map(drop)
    }

    async fn get_signed_pre_key(&self, sid: &str) -> StoreResult<Option<SignedPreKey>> {
        let doc = self.find_one(Kind::SignalSignedPreKey, doc! { "_id": sid }, "load the signed pre-key").await?;
        doc.as_ref().map(signed_pre_key).transpose()
    }

    async fn set_signed_pre_key(&self, sid: &str, record: SignedPreKey) -> StoreResult<()> {
        let set = doc! {
            "key_id": i64::from(record.key_id),
            "pub_key": bin(record.key_pair.pub_key),
            "priv_key": bin(record.key_pair.priv_key),
            "signature": bin(record.signature),
            "uploaded": opt_flag(record.uploaded),
        };
        let what = "save the signed pre-key";
        self.upsert_one(Kind::SignalSignedPreKey, doc! { "_id": sid }, doc! { "$set": set }, what).await.map(drop)
    }

    async fn get_signed_pre_key_by_id(&self, sid: &str, key_id: u32) -> StoreResult<Option<SignedPreKey>> {
        let filter = doc! { "_id": sid, "key_id": i64::from(key_id) };
        let doc = self.find_one(Kind::SignalSignedPreKey, filter, "load the signed pre-key").await?;
        doc.as_ref().map(signed_pre_key).transpose()
    }

    async fn set_signed_pre_key_rotation_ts(&self, sid: &str, value: Option<i64>) -> StoreResult<()> {
        let u = doc! {
            "$set": { "signed_prekey_rotation_ts": opt_i64(value) },
            "$setOnInsert": { "last_prekey_id": 0_i64, "server_has_prekeys": 0 },
        };
        let what = "save the signed pre-key rotation time";
        self.upsert_one(Kind::SignalMeta, doc! { "_id": sid }, u, what).await.map(drop)
    }

    async fn get_signed_pre_key_rotation_ts(&self, sid: &str) -> StoreResult<Option<i64>> {
        let what = "load the signed pre-key rotation time";
        let doc = self.find_one(Kind::SignalMeta, doc! { "_id": sid }, what).await?;
        doc.map_or(Ok(None), |d| get_opt_i64(&d, "signed_prekey_rotation_ts"))
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        let what = "clear signal keys";
        let meta = self.coll(Kind::SignalMeta).await?;
        // The meta document is shared with preKey: only the rotation time is ours.
        let unset_rotation = doc! { "$set": { "signed_prekey_rotation_ts": Bson::Null } };
        tokio::try_join!(
            self.delete_where(Kind::SignalRegistration, doc! { "_id": sid }, what),
            self.delete_where(Kind::SignalSignedPreKey, doc! { "_id": sid }, what),
            self.write(what, meta.update_one(doc! { "_id": sid }, unset_rotation).into_future()),
        )
        .map(drop)
    }
}

#[async_trait]
impl PreKeyStore for MongoBackend {
    async fn put_pre_key(&self, sid: &str, record: PreKey) -> StoreResult<()> {
        let what = "save a pre-key";
        let key_id = record.key_id;
        let id = pre_key_id(sid, key_id);
        tokio::try_join!(
            self.upsert_one(Kind::SignalPreKey, doc! { "_id": id }, doc! { "$set": pre_key_fields(sid, record) }, what),
            self.raise_prekey_counter(sid, key_id, what),
        )
        .map(drop)
    }

    async fn reserve_pre_keys(&self, sid: &str, count: u32) -> StoreResult<PreKeyReservation> {
        let filter = doc! { "s": sid, "uploaded": { "$ne": 1 } };
        let sort = doc! { "key_id": 1 };
        let docs =
            self.find_docs(Kind::SignalPreKey, filter, Some(sort), Some(i64::from(count)), "reserve pre-keys").await?;
        let available = docs.iter().map(pre_key).collect::<StoreResult<Vec<_>>>()?;
        let missing = count.saturating_sub(u32::try_from(available.len()).unwrap_or(u32::MAX));
        let reserved_ids = if missing > 0 { self.reserve_ids(sid, missing).await? } else { Vec::new() };
        Ok(PreKeyReservation { available, reserved_ids })
    }

    async fn insert_generated_pre_keys(&self, sid: &str, records: Vec<PreKey>) -> StoreResult<u32> {
        let what = "save generated pre-keys";
        let Some(highest) = records.iter().map(|r| r.key_id).max() else { return Ok(0) };
        // Insert-if-missing (`$setOnInsert`): a stored id is left alone, and
        // the first record of an id is the one that counts.
        let mut seen = HashSet::new();
        let statements: Vec<Document> = records
            .into_iter()
            .filter(|r| seen.insert(r.key_id))
            .map(|r| upsert(doc! { "_id": pre_key_id(sid, r.key_id) }, doc! { "$setOnInsert": pre_key_fields(sid, r) }))
            .collect();
        let (written, ()) = tokio::try_join!(
            self.update_all(Kind::SignalPreKey, statements, what),
            self.raise_prekey_counter(sid, highest, what),
        )?;
        Ok(super::docs::count(written.upserted))
    }

    async fn get_pre_key_by_id(&self, sid: &str, key_id: u32) -> StoreResult<Option<PreKey>> {
        let doc = self.find_one(Kind::SignalPreKey, doc! { "_id": pre_key_id(sid, key_id) }, "load a pre-key").await?;
        doc.as_ref().map(pre_key).transpose()
    }

    async fn get_pre_keys_by_id(&self, sid: &str, key_ids: &[u32]) -> StoreResult<Vec<Option<PreKey>>> {
        let ids: Vec<String> = key_ids.iter().map(|k| pre_key_id(sid, *k)).collect();
        let found = self.find_ids(Kind::SignalPreKey, &ids, "load pre-keys").await?;
        ids.iter().map(|id| found.get(id).map(pre_key).transpose()).collect()
    }

    async fn consume_pre_key_by_id(&self, sid: &str, key_id: u32) -> StoreResult<Option<PreKey>> {
        // findOneAndDelete: the read and the delete are one atomic operation,
        // so two concurrent consumers can never both get the key.
        let coll = self.coll(Kind::SignalPreKey).await?;
        let call = coll.find_one_and_delete(doc! { "_id": pre_key_id(sid, key_id) });
        let doc = self.write("consume a pre-key", call.into_future()).await?;
        doc.as_ref().map(pre_key).transpose()
    }

    async fn mark_key_as_uploaded(&self, sid: &str, key_id: u32) -> StoreResult<()> {
        let what = "mark pre-keys uploaded";
        let meta = self.find_one(Kind::SignalMeta, doc! { "_id": sid }, what).await?;
        if i64::from(key_id) > last_prekey_id(meta.as_ref())? {
            return Err(StoreError::invalid_argument(format!("prekey {key_id} is out of boundary")));
        }
        let coll = self.coll(Kind::SignalPreKey).await?;
        let filter = doc! { "s": sid, "key_id": { "$lte": i64::from(key_id) } };
        let call = coll.update_many(filter, doc! { "$set": { "uploaded": 1 } });
        self.write(what, call.into_future()).await.map(drop)
    }

    async fn set_server_has_pre_keys(&self, sid: &str, value: bool) -> StoreResult<()> {
        let u = doc! {
            "$set": { "server_has_prekeys": i32::from(value) },
            "$setOnInsert": { "last_prekey_id": 0_i64 },
        };
        self.upsert_one(Kind::SignalMeta, doc! { "_id": sid }, u, "save the server pre-key flag").await.map(drop)
    }

    async fn get_server_has_pre_keys(&self, sid: &str) -> StoreResult<bool> {
        let doc = self.find_one(Kind::SignalMeta, doc! { "_id": sid }, "load the server pre-key flag").await?;
        doc.map_or(Ok(false), |d| get_flag(&d, "server_has_prekeys"))
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        let what = "clear pre-keys";
        let meta = self.coll(Kind::SignalMeta).await?;
        let reset = doc! { "$set": { "last_prekey_id": 0_i64, "server_has_prekeys": 0 } };
        tokio::try_join!(
            self.delete_where(Kind::SignalPreKey, doc! { "s": sid }, what),
            self.write(what, meta.update_one(doc! { "_id": sid }, reset).into_future()),
        )
        .map(drop)
    }
}

/// `has_sessions` / `get_sessions` / `get_remote_identities`: one `$in` read, positional.
impl MongoBackend {
    async fn by_address(
        &self,
        kind: Kind,
        sid: &str,
        addresses: &[SignalAddress],
        what: &'static str,
    ) -> StoreResult<(Vec<String>, std::collections::HashMap<String, Document>)> {
        let ids: Vec<String> = addresses.iter().map(|a| address_id(sid, a)).collect();
        let found = self.find_ids(kind, &ids, what).await?;
        Ok((ids, found))
    }

    /// Upserts `(address, bytes)` records into `field`, later duplicates winning.
    pub(super) fn address_upserts(sid: &str, entries: Vec<(SignalAddress, Vec<u8>)>, field: &str) -> Vec<Document> {
        let entries = dedupe_last(entries, |(a, _)| address_id(sid, a));
        entries
            .into_iter()
            .map(|(a, value)| {
                upsert(doc! { "_id": address_id(sid, &a) }, doc! { "$set": address_record(sid, &a, field, value) })
            })
            .collect()
    }
}

#[async_trait]
impl SessionStore for MongoBackend {
    async fn has_sessions(&self, sid: &str, addresses: &[SignalAddress]) -> StoreResult<Vec<bool>> {
        let ids: Vec<String> = addresses.iter().map(|a| address_id(sid, a)).collect();
        // Only the ids travel back, not the records.
        let found =
            self.find_ids_fields(Kind::SignalSession, &ids, Some(doc! { "_id": 1 }), "look up sessions").await?;
        Ok(ids.iter().map(|id| found.contains_key(id)).collect())
    }

    async fn get_sessions(&self, sid: &str, addresses: &[SignalAddress]) -> StoreResult<Vec<Option<Blob>>> {
        let (ids, found) = self.by_address(Kind::SignalSession, sid, addresses, "load sessions").await?;
        ids.iter().map(|id| found.get(id).map(|d| get_bytes(d, "record")).transpose()).collect()
    }

    async fn set_sessions(&self, sid: &str, entries: Vec<(SignalAddress, Blob)>) -> StoreResult<()> {
        let statements = Self::address_upserts(sid, entries, "record");
        self.update_all(Kind::SignalSession, statements, "save sessions").await.map(drop)
    }

    async fn delete_session(&self, sid: &str, address: &SignalAddress) -> StoreResult<()> {
        let what = "delete a session";
        self.delete_where(Kind::SignalSession, doc! { "_id": address_id(sid, address) }, what).await.map(drop)
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.delete_where(Kind::SignalSession, doc! { "s": sid }, "clear sessions").await.map(drop)
    }
}

#[async_trait]
impl IdentityStore for MongoBackend {
    async fn get_remote_identities(&self, sid: &str, addresses: &[SignalAddress]) -> StoreResult<Vec<Option<Vec<u8>>>> {
        let (ids, found) = self.by_address(Kind::SignalIdentity, sid, addresses, "load remote identities").await?;
        ids.iter().map(|id| found.get(id).map(|d| get_bytes(d, "identity_key")).transpose()).collect()
    }

    async fn set_remote_identities(&self, sid: &str, entries: Vec<(SignalAddress, Vec<u8>)>) -> StoreResult<()> {
        let statements = Self::address_upserts(sid, entries, "identity_key");
        self.update_all(Kind::SignalIdentity, statements, "save remote identities").await.map(drop)
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.delete_where(Kind::SignalIdentity, doc! { "s": sid }, "clear remote identities").await.map(drop)
    }
}
