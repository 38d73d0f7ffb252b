//! Enumeration, export and import ([`SnapshotStore`]): keyset pages over
//! each table's primary key, in byte order; exact cache writes in one
//! transaction.

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;

use super::app_state::sync_key;
use super::caches::{chat_metadata, device_list, group_metadata};
use super::mailbox::{contact, message, privacy_token, thread};
use super::retry::outbound;
use super::rows::{address_from, bind_strs, col, to_json, u32_col, Query};
use super::sender_keys::{distribution, sender_key};
use super::signal_keys::{pre_key, signed_pre_key};
use super::{read_err, write_err, SqliteBackend};
use crate::domain::app_state::CollectionUpdate;
use crate::domain::keys::text_from_bytes;
use crate::domain::signal::RegistrationInfo;
use crate::domain::snapshot::{
    not_exact, KeyPart, KindCount, Record, RecordKind, RetryInbound, SignalMeta, SnapshotStore, SortKey,
};
use crate::domain::{KeyPair, StoreResult};
use crate::error::StoreError;

/// Binds the key parts of `after` (NULLs for the first page). Adapter keys
/// are BLOBs: their text parts are bound as bytes so they compare as stored.
fn bind_after<'q>(mut q: Query<'q>, kind: RecordKind, after: Option<&'q SortKey>) -> Query<'q> {
    match after {
        None => {
            for _ in kind.key_shape().chars() {
                q = q.bind(None::<i64>);
            }
        }
        Some(key) => {
            for part in key {
                q = match part {
                    KeyPart::Int(n) => q.bind(*n),
                    KeyPart::Text(s) if kind == RecordKind::Key => q.bind(s.as_bytes()),
                    KeyPart::Text(s) => q.bind(s.as_str()),
                    KeyPart::Bytes(b) => q.bind(b.as_slice()),
                };
            }
        }
    }
    q
}

fn record(kind: RecordKind, row: &SqliteRow) -> StoreResult<Record> {
    Ok(match kind {
        RecordKind::Auth => Record::Auth { credentials: col(row, "credentials")? },
        RecordKind::Registration => Record::Registration(RegistrationInfo {
            registration_id: u32_col(row, "registration_id")?,
            identity_key_pair: KeyPair {
                pub_key: col(row, "identity_pub_key")?,
                priv_key: col(row, "identity_priv_key")?,
            },
        }),
        RecordKind::SignedPreKey => Record::SignedPreKey(signed_pre_key(row)?),
        RecordKind::SignalMeta => {
            let next: i64 = col(row, "next_prekey_id")?;
            Record::SignalMeta(SignalMeta {
                next_pre_key_id: u64::try_from(next).map_err(|_| {
                    StoreError::corrupted(format!("sqlite: stored next_prekey_id {next} is out of range"))
                })?,
                server_has_pre_keys: super::rows::bool_col(row, "server_has_prekeys")?,
                signed_pre_key_rotation_ts: col(row, "signed_prekey_rotation_ts")?,
            })
        }
        RecordKind::PreKey => Record::PreKey(pre_key(row)?),
        RecordKind::Session => {
            Record::Session { address: address_from(row, "user", "server", "device")?, record: col(row, "record")? }
        }
        RecordKind::Identity => {
            Record::Identity { address: address_from(row, "user", "server", "device")?, key: col(row, "identity_key")? }
        }
        RecordKind::SenderKey => Record::SenderKey(sender_key(row)?),
        RecordKind::SenderKeyDistribution => Record::SenderKeyDistribution(distribution(row)?),
        RecordKind::AppStateSyncKey => Record::AppStateSyncKey(sync_key(row)?),
        RecordKind::AppStateCollection => Record::AppStateCollection(CollectionUpdate {
            collection: col(row, "collection")?,
            version: col(row, "version")?,
            hash: col(row, "hash")?,
            index_value_map: Vec::new(),
        }),
        RecordKind::PrivacyToken => Record::PrivacyToken(privacy_token(row)?),
        RecordKind::Message => Record::Message(message(row)?),
        RecordKind::Thread => Record::Thread(thread(row)?),
        RecordKind::Contact => Record::Contact(contact(row)?),
        RecordKind::Key => Record::Key {
            kind: text_from_bytes("sqlite", col(row, "key_type")?)?,
            id: text_from_bytes("sqlite", col(row, "key_id")?)?,
            value: col(row, "value")?,
        },
        RecordKind::RetryOutbound => Record::RetryOutbound(outbound(row)?),
        RecordKind::RetryInbound => Record::RetryInbound(RetryInbound {
            message_id: col(row, "message_id")?,
            requester_jid: col(row, "requester_jid")?,
            retry_count: u32_col(row, "retry_count")?,
            updated_at_ms: col(row, "updated_at_ms")?,
            expires_at_ms: col(row, "expires_at_ms")?,
        }),
        RecordKind::GroupMetadata => {
            Record::GroupMetadata { record: group_metadata(row)?, expires_at_ms: col(row, "expires_at_ms")? }
        }
        RecordKind::ChatMetadata => {
            Record::ChatMetadata { record: chat_metadata(row)?, expires_at_ms: col(row, "expires_at_ms")? }
        }
        RecordKind::DeviceList => {
            Record::DeviceList { record: device_list(row)?, expires_at_ms: col(row, "expires_at_ms")? }
        }
        RecordKind::MessageSecret => Record::MessageSecret {
            message_id: col(row, "message_id")?,
            secret: crate::domain::message_secret::MessageSecret {
                secret: col(row, "secret")?,
                sender_jid: col(row, "sender_jid")?,
            },
            expires_at_ms: col(row, "expires_at_ms")?,
        },
    })
}

fn count_u64(n: i64, what: &str) -> StoreResult<u64> {
    u64::try_from(n).map_err(|_| StoreError::corrupted(format!("sqlite: a negative {what} ({n})")))
}

#[async_trait]
impl SnapshotStore for SqliteBackend {
    async fn list_session_ids(&self, after: Option<&str>, limit: u32) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(&self.sql.snap.sessions)
            .bind(after.unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(self.reader().await?)
            .await
            .map_err(read_err("list session ids"))?;
        rows.iter().map(|row| col(row, "session_id")).collect()
    }

    async fn count_records(&self, sid: &str) -> StoreResult<Vec<KindCount>> {
        let rows = sqlx::query(&self.sql.snap.counts)
            .bind(sid)
            .fetch_all(self.reader().await?)
            .await
            .map_err(read_err("count records"))?;
        let mut by_kind: HashMap<String, (u64, u64)> = HashMap::new();
        for row in &rows {
            let n: i64 = col(row, "n")?;
            let bytes: i64 = col(row, "bytes")?;
            by_kind.insert(col(row, "kind")?, (count_u64(n, "count")?, count_u64(bytes, "size")?));
        }
        Ok(RecordKind::ALL
            .iter()
            .map(|&kind| {
                let (records, bytes) = by_kind.get(kind.name()).copied().unwrap_or((0, 0));
                KindCount { kind, records, bytes: Some(bytes) }
            })
            .collect())
    }

    async fn export_kind(
        &self,
        sid: &str,
        kind: RecordKind,
        after: Option<&SortKey>,
        limit: u32,
    ) -> StoreResult<Vec<Record>> {
        let what = "export records";
        // One snapshot, so a collection's version and map belong together.
        let mut tx = self.begin_read(what).await?;
        let query = bind_after(sqlx::query(self.sql.snap.page(kind)).bind(sid), kind, after).bind(i64::from(limit));
        let rows = query.fetch_all(&mut *tx).await.map_err(read_err(what))?;
        let mut records = rows.iter().map(|row| record(kind, row)).collect::<StoreResult<Vec<Record>>>()?;
        if kind == RecordKind::AppStateCollection && !records.is_empty() {
            let names: Vec<String> = records
                .iter()
                .filter_map(|r| match r {
                    Record::AppStateCollection(c) => Some(c.collection.clone()),
                    _ => None,
                })
                .collect();
            let mut maps: HashMap<String, Vec<(String, Vec<u8>)>> = HashMap::new();
            for chunk in names.chunks(self.sql.aiv_get_many.max_chunk()) {
                let (sql, len) = self.sql.aiv_get_many.for_len(chunk.len());
                let rows = bind_strs(sqlx::query(sql).bind(sid), chunk, len)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(read_err(what))?;
                for row in &rows {
                    let name: String = col(row, "collection")?;
                    maps.entry(name).or_default().push((col(row, "index_mac_hex")?, col(row, "value_mac")?));
                }
            }
            for r in &mut records {
                if let Record::AppStateCollection(c) = r {
                    c.index_value_map = maps.remove(&c.collection).unwrap_or_default();
                }
            }
        }
        tx.commit().await.map_err(read_err(what))?;
        Ok(records.into_iter().map(Record::canonical).collect())
    }

    async fn import_exact(&self, sid: &str, records: Vec<Record>) -> StoreResult<()> {
        let what = "import records";
        let sql = &self.sql;
        let mut tx = self.begin(what).await?;
        for r in &records {
            let statements: Vec<Query<'_>> = match r {
                Record::SignalMeta(m) => {
                    let next = i64::try_from(m.next_pre_key_id)
                        .map_err(|_| StoreError::invalid_argument("nextPreKeyId is out of range"))?;
                    vec![
                        sqlx::query(&sql.meta_raise_next).bind(sid).bind(next),
                        sqlx::query(&sql.meta_set_server_has).bind(sid).bind(i64::from(m.server_has_pre_keys)),
                        sqlx::query(&sql.meta_set_rotation).bind(sid).bind(m.signed_pre_key_rotation_ts),
                    ]
                }
                Record::RetryInbound(c) => vec![sqlx::query(&sql.snap.ri_put)
                    .bind(sid)
                    .bind(c.message_id.as_str())
                    .bind(c.requester_jid.as_str())
                    .bind(i64::from(c.retry_count))
                    .bind(c.updated_at_ms)
                    .bind(c.expires_at_ms)],
                Record::GroupMetadata { record: g, expires_at_ms } => vec![sqlx::query(&sql.gm_upsert)
                    .bind(sid)
                    .bind(g.group_jid.as_str())
                    .bind(to_json(&g.participants)?)
                    .bind(g.ephemeral)
                    .bind(g.ephemeral_trigger)
                    .bind(g.updated_at_ms)
                    .bind(*expires_at_ms)],
                Record::ChatMetadata { record: c, expires_at_ms } => vec![sqlx::query(&sql.cm_upsert)
                    .bind(sid)
                    .bind(c.chat_jid.as_str())
                    .bind(c.ephemeral_expiration)
                    .bind(c.ephemeral_setting_timestamp)
                    .bind(c.updated_at_ms)
                    .bind(*expires_at_ms)],
                Record::DeviceList { record: d, expires_at_ms } => vec![sqlx::query(&sql.dl_upsert)
                    .bind(sid)
                    .bind(d.user_jid.as_str())
                    .bind(d.alt_user_jid.as_deref())
                    .bind(to_json(&d.device_jids)?)
                    .bind(d.updated_at_ms)
                    .bind(*expires_at_ms)],
                Record::MessageSecret { message_id, secret, expires_at_ms } => vec![sqlx::query(&sql.ms_upsert)
                    .bind(sid)
                    .bind(message_id.as_str())
                    .bind(secret.secret.as_slice())
                    .bind(secret.sender_jid.as_str())
                    .bind(*expires_at_ms)],
                other => return Err(not_exact(other)),
            };
            for q in statements {
                q.execute(&mut *tx).await.map_err(write_err(what))?;
            }
        }
        tx.commit().await.map_err(write_err(what))
    }
}
