//! Enumeration, export and import ([`SnapshotStore`]): keyset pages in byte
//! order (`CAST(… AS BINARY)`) inside one InnoDB snapshot; exact cache writes
//! in one transaction.

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::mysql::MySqlRow;

use super::app_state::sync_key;
use super::caches::{
    bind_device_row, bind_secret_row, chat_metadata, device_list, group_metadata, DeviceRow, SecretRow,
};
use super::mailbox::{contact, message, privacy_token, thread};
use super::retry::outbound;
use super::rows::{address_from, bind_strs, bool_col, col, text, to_json, u32_col, Query};
use super::sender_keys::{distribution, sender_key};
use super::signal_keys::{pre_key, signed_pre_key};
use super::{check_sid, read_err, write_err, MysqlBackend};
use crate::domain::app_state::CollectionUpdate;
use crate::domain::keys::text_from_bytes;
use crate::domain::message_secret::MessageSecret;
use crate::domain::signal::RegistrationInfo;
use crate::domain::snapshot::{
    not_exact, KeyPart, KindCount, Record, RecordKind, RetryInbound, SignalMeta, SnapshotStore, SortKey,
};
use crate::domain::{KeyPair, StoreResult};
use crate::error::StoreError;

/// Sorting by a LONGTEXT key compares only its first `max_sort_length`
/// bytes (1024 by default): lift that for the export's connection to 64 KiB,
/// so long ids still sort by their whole value, and give the sort a buffer
/// that holds enough such keys (4 parts of 64 KiB per row) to merge.
const SET_SORT_LENGTH: &str = "SET SESSION max_sort_length = 65536, sort_buffer_size = 16777216";

fn bind_after<'q>(mut q: Query<'q>, kind: RecordKind, key: &'q SortKey) -> Query<'q> {
    for part in key {
        q = match part {
            KeyPart::Int(n) => q.bind(*n),
            // Adapter keys are VARBINARY: compare them as the bytes they are.
            KeyPart::Text(s) if kind == RecordKind::Key => q.bind(s.as_bytes()),
            KeyPart::Text(s) => q.bind(s.as_str()),
            KeyPart::Bytes(b) => q.bind(b.as_slice()),
        };
    }
    q
}

fn record(kind: RecordKind, row: &MySqlRow) -> StoreResult<Record> {
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
                    StoreError::corrupted(format!("mysql: stored next_prekey_id {next} is out of range"))
                })?,
                server_has_pre_keys: bool_col(row, "server_has_prekeys")?,
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
            collection: text(row, "collection")?,
            version: col(row, "version")?,
            hash: col(row, "hash")?,
            index_value_map: Vec::new(),
        }),
        RecordKind::PrivacyToken => Record::PrivacyToken(privacy_token(row)?),
        RecordKind::Message => Record::Message(message(row)?),
        RecordKind::Thread => Record::Thread(thread(row)?),
        RecordKind::Contact => Record::Contact(contact(row)?),
        RecordKind::Key => Record::Key {
            kind: text_from_bytes("mysql", col(row, "key_type")?)?,
            id: text_from_bytes("mysql", col(row, "key_id")?)?,
            value: col(row, "value")?,
        },
        RecordKind::RetryOutbound => Record::RetryOutbound(outbound(row)?),
        RecordKind::RetryInbound => Record::RetryInbound(RetryInbound {
            message_id: text(row, "message_id")?,
            requester_jid: text(row, "requester_jid")?,
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
            message_id: text(row, "message_id")?,
            secret: MessageSecret { secret: col(row, "secret")?, sender_jid: text(row, "sender_jid")? },
            expires_at_ms: col(row, "expires_at_ms")?,
        },
    })
}

fn count_u64(n: i64, what: &str) -> StoreResult<u64> {
    u64::try_from(n).map_err(|_| StoreError::corrupted(format!("mysql: a negative {what} ({n})")))
}

impl MysqlBackend {
    /// One export page inside `tx`.
    async fn export_in(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::MySql>,
        sid: &str,
        kind: RecordKind,
        after: Option<&SortKey>,
        limit: u32,
    ) -> StoreResult<Vec<Record>> {
        let what = "export records";
        sqlx::query(SET_SORT_LENGTH).execute(&mut **tx).await.map_err(read_err(what))?;
        let query = match after {
            None => sqlx::query(&self.sql.snap.first[kind as usize]).bind(sid),
            Some(key) => bind_after(sqlx::query(&self.sql.snap.after[kind as usize]).bind(sid), kind, key),
        };
        let rows = query.bind(i64::from(limit)).fetch_all(&mut **tx).await.map_err(read_err(what))?;
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
                    .fetch_all(&mut **tx)
                    .await
                    .map_err(read_err(what))?;
                for row in &rows {
                    maps.entry(text(row, "collection")?)
                        .or_default()
                        .push((text(row, "index_mac_hex")?, col(row, "value_mac")?));
                }
            }
            for r in &mut records {
                if let Record::AppStateCollection(c) = r {
                    c.index_value_map = maps.remove(&c.collection).unwrap_or_default();
                }
            }
        }
        Ok(records.into_iter().map(Record::canonical).collect())
    }
}

#[async_trait]
impl SnapshotStore for MysqlBackend {
    async fn list_session_ids(&self, after: Option<&str>, limit: u32) -> StoreResult<Vec<String>> {
        let after = after.unwrap_or("").as_bytes();
        let mut q = sqlx::query(&self.sql.snap.sessions);
        for _ in 0..self.sql.snap.session_tables {
            q = q.bind(after).bind(i64::from(limit));
        }
        let rows =
            q.bind(i64::from(limit)).fetch_all(self.pool().await?).await.map_err(read_err("list session ids"))?;
        rows.iter().map(|row| text(row, "session_id")).collect()
    }

    async fn count_records(&self, sid: &str) -> StoreResult<Vec<KindCount>> {
        let sql = &self.sql.snap.counts;
        let mut q = sqlx::query(sql);
        // Every `?` of the statement is the session id.
        for _ in 0..sql.matches('?').count() {
            q = q.bind(sid);
        }
        let rows = q.fetch_all(self.db(sid).await?).await.map_err(read_err("count records"))?;
        let mut by_kind: HashMap<String, (u64, u64)> = HashMap::new();
        for row in &rows {
            let n: i64 = col(row, "n")?;
            let bytes: i64 = col(row, "bytes")?;
            by_kind.insert(text(row, "kind")?, (count_u64(n, "count")?, count_u64(bytes, "size")?));
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
        let mut tx = self.read_tx(sid, what).await?;
        match self.export_in(&mut tx, sid, kind, after, limit).await {
            Ok(records) => {
                tx.commit().await.map_err(read_err(what))?;
                Ok(records)
            }
            Err(err) => {
                // Roll back now: a connection left inside a transaction holds its metadata locks.
                let _ = tx.rollback().await;
                Err(err)
            }
        }
    }

    async fn import_exact(&self, sid: &str, records: Vec<Record>) -> StoreResult<()> {
        let what = "import records";
        check_sid(sid)?;
        let sql = &self.sql;
        // Owned rows first: the statements borrow them.
        let mut devices: Vec<DeviceRow<'_>> = Vec::new();
        let mut secrets: Vec<SecretRow<'_>> = Vec::new();
        let mut jsons: Vec<String> = Vec::new();
        for r in &records {
            match r {
                Record::DeviceList { record, expires_at_ms } => devices.push(DeviceRow {
                    list: record,
                    json: to_json(&record.device_jids)?,
                    expires_at_ms: *expires_at_ms,
                }),
                Record::MessageSecret { message_id, secret, expires_at_ms } => {
                    secrets.push(SecretRow { id: message_id, secret, expires_at_ms: *expires_at_ms })
                }
                Record::GroupMetadata { record, .. } => jsons.push(to_json(&record.participants)?),
                Record::SignalMeta(_) | Record::RetryInbound(_) | Record::ChatMetadata { .. } => {}
                other => return Err(not_exact(other)),
            }
        }
        let mut statements: Vec<Query<'_>> = Vec::new();
        let mut json = jsons.iter();
        for r in &records {
            match r {
                Record::SignalMeta(m) => {
                    let next = i64::try_from(m.next_pre_key_id)
                        .map_err(|_| StoreError::invalid_argument("nextPreKeyId is out of range"))?;
                    statements.push(sqlx::query(&sql.meta_raise_next).bind(sid).bind(next));
                    statements
                        .push(sqlx::query(&sql.meta_set_server_has).bind(sid).bind(i64::from(m.server_has_pre_keys)));
                    statements.push(sqlx::query(&sql.meta_set_rotation).bind(sid).bind(m.signed_pre_key_rotation_ts));
                }
                Record::RetryInbound(c) => statements.push(
                    sqlx::query(&sql.snap.ri_put)
                        .bind(sid)
                        .bind(c.message_id.as_str())
                        .bind(c.message_id.as_str())
                        .bind(c.requester_jid.as_str())
                        .bind(c.requester_jid.as_str())
                        .bind(i64::from(c.retry_count))
                        .bind(c.updated_at_ms)
                        .bind(c.expires_at_ms),
                ),
                Record::GroupMetadata { record: g, expires_at_ms } => statements.push(
                    sqlx::query(&sql.gm_upsert)
                        .bind(sid)
                        .bind(g.group_jid.as_str())
                        .bind(g.group_jid.as_str())
                        .bind(json.next().map_or("[]", String::as_str))
                        .bind(g.ephemeral)
                        .bind(g.ephemeral_trigger)
                        .bind(g.updated_at_ms)
                        .bind(*expires_at_ms),
                ),
                Record::ChatMetadata { record: c, expires_at_ms } => statements.push(
                    sqlx::query(&sql.cm_upsert)
                        .bind(sid)
                        .bind(c.chat_jid.as_str())
                        .bind(c.chat_jid.as_str())
                        .bind(c.ephemeral_expiration)
                        .bind(c.ephemeral_setting_timestamp)
                        .bind(c.updated_at_ms)
                        .bind(*expires_at_ms),
                ),
                _ => {}
            }
        }
        let (one_device, _) = sql.dl_upsert.for_len(1);
        for d in &devices {
            statements.push(bind_device_row(sqlx::query(one_device), sid, d));
        }
        let (one_secret, _) = sql.ms_upsert.for_len(1);
        for s in &secrets {
            statements.push(bind_secret_row(sqlx::query(one_secret), sid, s));
        }
        let mut tx = self.tx(sid, what).await?;
        for q in statements {
            q.execute(&mut *tx).await.map_err(write_err(what))?;
        }
        tx.commit().await.map_err(write_err(what))
    }
}
