//! The schema, as versioned migrations recorded in `{prefix}migrations`.
//!
//! Rules every table follows:
//! - `session_id VARBINARY(2048)` (≤ 512 characters of UTF-8) leads every
//!   primary key, so one database holds many sessions and every per-session
//!   query is an index range scan;
//! - strings and blobs of unbounded length (jids, ids, group ids, …) are kept
//!   in full (`LONGTEXT` / `LONGBLOB`) and keyed by their SHA-256 in a
//!   `*_h BINARY(32)` column: the longest key, sender keys, is
//!   2048 (session_id: 512 characters × 4 bytes) + 3 × 32 + 8 = 2152 bytes, under
//!   InnoDB's 3072-byte limit;
//! - `utf8mb4_bin` everywhere: ids are exact, case- and accent-sensitive;
//! - epoch-millisecond times and ids are `BIGINT`, booleans `TINYINT(1)`;
//! - each cache table has `(session_id, expires_at_ms)` and `(expires_at_ms)` indexes;
//! - `seq` (auto-increment) keeps first-insert order where the contract has one.
//!
//! MySQL DDL commits implicitly, so migrations cannot hide in a transaction;
//! instead one connection takes `GET_LOCK('<prefix>migrate')`, re-reads the
//! applied versions and applies the missing ones (each statement is
//! idempotent: `CREATE TABLE IF NOT EXISTS` with its indexes inline), so
//! concurrent starts apply each version exactly once. Never edit a released
//! migration: append a new version.

use sqlx::{Executor, MySqlPool, Row};

use super::map_err;
use super::sql::Tables;
use crate::error::{ErrorCode, StoreError, StoreResult};

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub statements: Vec<String>,
    /// For statements that are not idempotent (`ALTER TABLE`): a query that
    /// returns a row once they took effect, so a run interrupted between the
    /// statements and their record does not apply them twice.
    pub done_if: Option<String>,
}

/// The UTF-8 bytes of a session id of at most 512 characters. VARBINARY, not
/// `VARCHAR(512) … utf8mb4_bin`: that collation is PAD SPACE, so `'a'` and
/// `'a '` would be one key; bytes compare exactly, and the key is the same size.
const SID: &str = "session_id VARBINARY(2048) NOT NULL";
const HASH: &str = "BINARY(32) NOT NULL";
const TABLE_OPTIONS: &str = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

fn create(table: &str, body: &str) -> String {
    format!("CREATE TABLE IF NOT EXISTS {table} (\n{body}\n) {TABLE_OPTIONS}")
}

fn expiry_indexes() -> &'static str {
    "KEY by_expiry (session_id, expires_at_ms),\n KEY by_expiry_all (expires_at_ms)"
}

/// Every migration, oldest first, with the configured table names.
pub fn migrations(t: &Tables) -> Vec<Migration> {
    vec![
        Migration {
            version: 1,
            name: "auth_and_signal",
            statements: vec![
                create(
                    &t.auth,
                    &format!("{SID}, credentials LONGBLOB NOT NULL, updated_at_ms BIGINT NOT NULL, PRIMARY KEY (session_id)"),
                ),
                // Per-session counters shared by the signal and preKey domains;
                // each domain's clear() resets only its own columns.
                create(
                    &t.signal_meta,
                    &format!(
                        "{SID}, next_prekey_id BIGINT NOT NULL DEFAULT 1,
                         server_has_prekeys TINYINT(1) NOT NULL DEFAULT 0,
                         signed_prekey_rotation_ts BIGINT NULL, PRIMARY KEY (session_id)"
                    ),
                ),
                create(
                    &t.signal_registration,
                    &format!(
                        "{SID}, registration_id BIGINT NOT NULL, identity_pub_key LONGBLOB NOT NULL,
                         identity_priv_key LONGBLOB NOT NULL, PRIMARY KEY (session_id)"
                    ),
                ),
                create(
                    &t.signal_signed_prekey,
                    &format!(
                        "{SID}, key_id BIGINT NOT NULL, pub_key LONGBLOB NOT NULL, priv_key LONGBLOB NOT NULL,
                         signature LONGBLOB NOT NULL, uploaded TINYINT(1) NULL, PRIMARY KEY (session_id)"
                    ),
                ),
                // by_available: the availability scan (not uploaded, lowest id first).
                create(
                    &t.signal_prekey,
                    &format!(
                        "{SID}, key_id BIGINT NOT NULL, pub_key LONGBLOB NOT NULL, priv_key LONGBLOB NOT NULL,
                         uploaded TINYINT(1) NULL, PRIMARY KEY (session_id, key_id),
                         KEY by_available (session_id, uploaded, key_id)"
                    ),
                ),
                create(
                    &t.signal_session,
                    &format!(
                        "{SID}, user LONGTEXT NOT NULL, user_h {HASH}, server LONGTEXT NOT NULL, server_h {HASH},
                         device BIGINT NOT NULL, record LONGBLOB NOT NULL,
                         PRIMARY KEY (session_id, user_h, server_h, device)"
                    ),
                ),
                create(
                    &t.signal_identity,
                    &format!(
                        "{SID}, user LONGTEXT NOT NULL, user_h {HASH}, server LONGTEXT NOT NULL, server_h {HASH},
                         device BIGINT NOT NULL, identity_key LONGBLOB NOT NULL,
                         PRIMARY KEY (session_id, user_h, server_h, device)"
                    ),
                ),
            ],
            done_if: None,
        },
        Migration {
            version: 2,
            name: "sender_keys",
            statements: vec![
                create(
                    &t.sender_keys,
                    &format!(
                        "{SID}, group_id LONGTEXT NOT NULL, group_h {HASH},
                         sender_user LONGTEXT NOT NULL, sender_user_h {HASH},
                         sender_server LONGTEXT NOT NULL, sender_server_h {HASH},
                         sender_device BIGINT NOT NULL, record LONGBLOB NOT NULL,
                         seq BIGINT NOT NULL AUTO_INCREMENT,
                         PRIMARY KEY (session_id, group_h, sender_user_h, sender_server_h, sender_device),
                         UNIQUE KEY by_seq (seq),
                         KEY by_sender (session_id, sender_user_h, sender_server_h, sender_device)"
                    ),
                ),
                create(
                    &t.sender_key_distribution,
                    &format!(
                        "{SID}, group_id LONGTEXT NOT NULL, group_h {HASH},
                         sender_user LONGTEXT NOT NULL, sender_user_h {HASH},
                         sender_server LONGTEXT NOT NULL, sender_server_h {HASH},
                         sender_device BIGINT NOT NULL, key_id BIGINT NOT NULL, timestamp_ms BIGINT NOT NULL,
                         seq BIGINT NOT NULL AUTO_INCREMENT,
                         PRIMARY KEY (session_id, group_h, sender_user_h, sender_server_h, sender_device),
                         UNIQUE KEY by_seq (seq),
                         KEY by_sender (session_id, sender_user_h, sender_server_h, sender_device)"
                    ),
                ),
            ],
            done_if: None,
        },
        Migration {
            version: 3,
            name: "app_state",
            statements: vec![
                // key_epoch / key_device are derived from key_id at write time so the
                // active key is one indexed ORDER BY (zapo's pickActiveSyncKey).
                create(
                    &t.appstate_sync_keys,
                    &format!(
                        "{SID}, key_id LONGBLOB NOT NULL, key_h {HASH}, key_data LONGBLOB NOT NULL,
                         `timestamp` BIGINT NOT NULL, fingerprint LONGBLOB NULL, key_epoch BIGINT NOT NULL,
                         key_device BIGINT NULL, seq BIGINT NOT NULL AUTO_INCREMENT,
                         PRIMARY KEY (session_id, key_h), UNIQUE KEY by_seq (seq),
                         KEY by_active (session_id, key_epoch, key_device)"
                    ),
                ),
                create(
                    &t.appstate_collection_versions,
                    &format!(
                        "{SID}, collection LONGTEXT NOT NULL, collection_h {HASH}, version BIGINT NOT NULL,
                         hash LONGBLOB NOT NULL, seq BIGINT NOT NULL AUTO_INCREMENT,
                         PRIMARY KEY (session_id, collection_h), UNIQUE KEY by_seq (seq)"
                    ),
                ),
                create(
                    &t.appstate_collection_index_values,
                    &format!(
                        "{SID}, collection LONGTEXT NOT NULL, collection_h {HASH},
                         index_mac_hex LONGTEXT NOT NULL, index_h {HASH}, value_mac LONGBLOB NOT NULL,
                         seq BIGINT NOT NULL AUTO_INCREMENT,
                         PRIMARY KEY (session_id, collection_h, index_h), UNIQUE KEY by_seq (seq)"
                    ),
                ),
            ],
            done_if: None,
        },
        Migration {
            version: 4,
            name: "mailbox_and_privacy_tokens",
            statements: vec![
                create(
                    &t.messages,
                    &format!(
                        "{SID}, message_id LONGTEXT NOT NULL, message_h {HASH},
                         thread_jid LONGTEXT NOT NULL, thread_h {HASH},
                         sender_jid LONGTEXT NULL, participant_jid LONGTEXT NULL, from_me TINYINT(1) NOT NULL,
                         timestamp_ms BIGINT NULL, message_bytes LONGBLOB NULL,
                         PRIMARY KEY (session_id, message_h),
                         KEY by_thread (session_id, thread_h, timestamp_ms)"
                    ),
                ),
                create(
                    &t.threads,
                    &format!(
                        "{SID}, jid LONGTEXT NOT NULL, jid_h {HASH}, name LONGTEXT NULL, unread_count BIGINT NULL,
                         archived TINYINT(1) NULL, pinned BIGINT NULL, mute_end_ms BIGINT NULL,
                         marked_as_unread TINYINT(1) NULL, ephemeral_expiration BIGINT NULL,
                         ephemeral_setting_timestamp BIGINT NULL, PRIMARY KEY (session_id, jid_h)"
                    ),
                ),
                create(
                    &t.contacts,
                    &format!(
                        "{SID}, jid LONGTEXT NOT NULL, jid_h {HASH}, display_name LONGTEXT NULL,
                         push_name LONGTEXT NULL, lid LONGTEXT NULL, phone_number LONGTEXT NULL,
                         phone_h BINARY(32) NULL, username LONGTEXT NULL, last_updated_ms BIGINT NOT NULL,
                         seq BIGINT NOT NULL AUTO_INCREMENT,
                         PRIMARY KEY (session_id, jid_h), UNIQUE KEY by_seq (seq),
                         KEY by_phone_number (session_id, phone_h)"
                    ),
                ),
                create(
                    &t.privacy_tokens,
                    &format!(
                        "{SID}, jid LONGTEXT NOT NULL, jid_h {HASH}, tc_token LONGBLOB NULL,
                         tc_token_timestamp BIGINT NULL, tc_token_sender_timestamp BIGINT NULL,
                         nct_salt LONGBLOB NULL, updated_at_ms BIGINT NOT NULL, PRIMARY KEY (session_id, jid_h)"
                    ),
                ),
            ],
            done_if: None,
        },
        Migration {
            version: 5,
            name: "caches",
            statements: vec![
                // Requester lists are JSON arrays; NULL keeps "absent" apart from "empty".
                create(
                    &t.retry_outbound,
                    &format!(
                        "{SID}, message_id LONGTEXT NOT NULL, message_h {HASH}, to_jid LONGTEXT NOT NULL,
                         eligible_requesters_json LONGTEXT NULL, delivered_requesters_json LONGTEXT NULL,
                         replay_mode LONGTEXT NOT NULL, replay_payload LONGBLOB NOT NULL, state LONGTEXT NOT NULL,
                         updated_at_ms BIGINT NOT NULL, expires_at_ms BIGINT NOT NULL,
                         PRIMARY KEY (session_id, message_h), {}",
                        expiry_indexes()
                    ),
                ),
                create(
                    &t.retry_inbound,
                    &format!(
                        "{SID}, message_id LONGTEXT NOT NULL, message_h {HASH},
                         requester_jid LONGTEXT NOT NULL, requester_h {HASH}, retry_count BIGINT NOT NULL,
                         updated_at_ms BIGINT NOT NULL, expires_at_ms BIGINT NOT NULL,
                         PRIMARY KEY (session_id, message_h, requester_h), {}",
                        expiry_indexes()
                    ),
                ),
                create(
                    &t.group_metadata,
                    &format!(
                        "{SID}, group_jid LONGTEXT NOT NULL, group_h {HASH}, participants_json LONGTEXT NOT NULL,
                         ephemeral BIGINT NULL, ephemeral_trigger BIGINT NULL, updated_at_ms BIGINT NOT NULL,
                         expires_at_ms BIGINT NOT NULL, PRIMARY KEY (session_id, group_h), {}",
                        expiry_indexes()
                    ),
                ),
                create(
                    &t.chat_metadata,
                    &format!(
                        "{SID}, chat_jid LONGTEXT NOT NULL, chat_h {HASH}, ephemeral_expiration BIGINT NULL,
                         ephemeral_setting_timestamp BIGINT NULL, updated_at_ms BIGINT NOT NULL,
                         expires_at_ms BIGINT NOT NULL, PRIMARY KEY (session_id, chat_h), {}",
                        expiry_indexes()
                    ),
                ),
                create(
                    &t.device_list,
                    &format!(
                        "{SID}, user_jid LONGTEXT NOT NULL, user_h {HASH}, alt_user_jid LONGTEXT NULL,
                         alt_h BINARY(32) NULL, device_jids_json LONGTEXT NOT NULL, updated_at_ms BIGINT NOT NULL,
                         expires_at_ms BIGINT NOT NULL, seq BIGINT NOT NULL AUTO_INCREMENT,
                         PRIMARY KEY (session_id, user_h), UNIQUE KEY by_seq (seq),
                         KEY by_alt_user_jid (session_id, alt_h), {}",
                        expiry_indexes()
                    ),
                ),
                create(
                    &t.message_secrets,
                    &format!(
                        "{SID}, message_id LONGTEXT NOT NULL, message_h {HASH}, secret LONGBLOB NOT NULL,
                         sender_jid LONGTEXT NOT NULL, expires_at_ms BIGINT NOT NULL,
                         PRIMARY KEY (session_id, message_h), {}",
                        expiry_indexes()
                    ),
                ),
            ],
            done_if: None,
        },
        Migration {
            version: 6,
            name: "adapter_keys",
            // The type is keyed by its hash and the id in full, so ids page in
            // byte order: 2048 + 32 + 960 bytes fit InnoDB's 3072-byte key limit.
            statements: vec![create(
                &t.adapter_keys,
                &format!(
                    "{SID}, type_h {HASH}, key_type VARBINARY(255) NOT NULL, key_id VARBINARY(960) NOT NULL,
                     value LONGBLOB NOT NULL, PRIMARY KEY (session_id, type_h, key_id)"
                ),
            )],
            done_if: None,
        },
        Migration {
            version: 7,
            name: "message_pages",
            // Keyset pages order ties by `message_h` (`message_id` is LONGTEXT and
            // cannot be indexed); the new index covers the old one's queries.
            statements: vec![format!(
                "ALTER TABLE {} ADD KEY by_thread_page (session_id, thread_h, timestamp_ms, message_h), \
                 DROP KEY by_thread",
                t.messages
            )],
            done_if: Some(format!(
                "SELECT 1 FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = '{}' \
                 AND index_name = 'by_thread_page' LIMIT 1",
                t.messages
            )),
        },
        Migration {
            version: 8,
            name: "session_leases",
            // One row per session ever owned; a release keeps it, so tokens are never reused.
            statements: vec![create(
                &t.session_leases,
                &format!(
                    "{SID}, token BIGINT NOT NULL, owner VARCHAR(255) NOT NULL, host VARCHAR(255) NOT NULL,
                     pid BIGINT NOT NULL, expires_at_ms BIGINT NOT NULL, PRIMARY KEY (session_id)"
                ),
            )],
            done_if: None,
        },
    ]
}

fn migration_failed(what: String) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |err| StoreError::new(ErrorCode::ConnectionFailed, format!("mysql: {what} failed: {err}")).with_source(err)
}

/// Brings the database up to date. Safe to run from several processes at once.
pub async fn run(pool: &MySqlPool, tables: &Tables, events: &crate::events::Events) -> StoreResult<()> {
    migrate(pool, tables, events).await?;
    // The version table says what ran, not that these tables are ours: a table
    // of another application under the same name survives `IF NOT EXISTS`.
    for (table, columns) in checks(tables) {
        probe(pool, table, columns).await?;
    }
    Ok(())
}

/// `(table, columns)` every wastore table must have.
fn checks(t: &Tables) -> Vec<(&str, &'static str)> {
    vec![
        (&t.migrations, "version, name, applied_at_ms"),
        (&t.auth, "session_id, credentials, updated_at_ms"),
        (&t.signal_meta, "session_id, next_prekey_id, server_has_prekeys, signed_prekey_rotation_ts"),
        (&t.signal_registration, "session_id, registration_id, identity_pub_key, identity_priv_key"),
        (&t.signal_signed_prekey, "session_id, key_id, pub_key, priv_key, signature, uploaded"),
        (&t.signal_prekey, "session_id, key_id, pub_key, priv_key, uploaded"),
        (&t.signal_session, "session_id, user, user_h, server, server_h, device, record"),
        (&t.signal_identity, "session_id, user, user_h, server, server_h, device, identity_key"),
        (
            &t.sender_keys,
            "session_id, group_id, group_h, sender_user, sender_user_h, sender_server, sender_server_h, \
             sender_device, record, seq",
        ),
        (
            &t.sender_key_distribution,
            "session_id, group_id, group_h, sender_user, sender_user_h, sender_server, sender_server_h, \
             sender_device, key_id, timestamp_ms, seq",
        ),
        (
            &t.appstate_sync_keys,
            "session_id, key_id, key_h, key_data, `timestamp`, fingerprint, key_epoch, key_device, seq",
        ),
        (&t.appstate_collection_versions, "session_id, collection, collection_h, version, hash, seq"),
        (
            &t.appstate_collection_index_values,
            "session_id, collection, collection_h, index_mac_hex, index_h, value_mac, seq",
        ),
        (
            &t.messages,
            "session_id, message_id, message_h, thread_jid, thread_h, sender_jid, participant_jid, from_me, \
             timestamp_ms, message_bytes",
        ),
        (
            &t.threads,
            "session_id, jid, jid_h, name, unread_count, archived, pinned, mute_end_ms, marked_as_unread, \
             ephemeral_expiration, ephemeral_setting_timestamp",
        ),
        (
            &t.contacts,
            "session_id, jid, jid_h, display_name, push_name, lid, phone_number, phone_h, username, \
             last_updated_ms, seq",
        ),
        (
            &t.privacy_tokens,
            "session_id, jid, jid_h, tc_token, tc_token_timestamp, tc_token_sender_timestamp, nct_salt, updated_at_ms",
        ),
        (
            &t.retry_outbound,
            "session_id, message_id, message_h, to_jid, eligible_requesters_json, delivered_requesters_json, \
             replay_mode, replay_payload, state, updated_at_ms, expires_at_ms",
        ),
        (
            &t.retry_inbound,
            "session_id, message_id, message_h, requester_jid, requester_h, retry_count, updated_at_ms, expires_at_ms",
        ),
        (
            &t.group_metadata,
            "session_id, group_jid, group_h, participants_json, ephemeral, ephemeral_trigger, updated_at_ms, \
             expires_at_ms",
        ),
        (
            &t.chat_metadata,
            "session_id, chat_jid, chat_h, ephemeral_expiration, ephemeral_setting_timestamp, updated_at_ms, \
             expires_at_ms",
        ),
        (
            &t.device_list,
            "session_id, user_jid, user_h, alt_user_jid, alt_h, device_jids_json, updated_at_ms, expires_at_ms, seq",
        ),
        (&t.message_secrets, "session_id, message_id, message_h, secret, sender_jid, expires_at_ms"),
        (&t.adapter_keys, "session_id, type_h, key_type, key_id, value"),
        (&t.session_leases, "session_id, token, owner, host, pid, expires_at_ms"),
    ]
}

/// Fails, saying what to fix, unless `table` exists with `columns`.
async fn probe(pool: &MySqlPool, table: &str, columns: &str) -> StoreResult<()> {
    let sql = format!("SELECT {columns} FROM {table} LIMIT 0");
    match sqlx::query(&sql).persistent(false).fetch_all(pool).await {
        Ok(_) => Ok(()),
        Err(err) => Err(StoreError::new(
            ErrorCode::ConnectionFailed,
            format!(
                "mysql: table {table} is missing or is not a wastore table ({err}); keep tablePrefix fixed per \
                 database and do not share tables with other applications (pick another tablePrefix)"
            ),
        )
        .with_source(err)),
    }
}

async fn migrate(pool: &MySqlPool, tables: &Tables, events: &crate::events::Events) -> StoreResult<()> {
    let all = migrations(tables);
    let applied_sql = format!("SELECT version FROM {}", tables.migrations);
    // Fast path: already up to date (no lock needed).
    if let Ok(rows) = sqlx::query(&applied_sql).fetch_all(pool).await {
        let applied: Vec<i64> = rows.iter().filter_map(|r| r.try_get::<i64, _>(0).ok()).collect();
        if all.iter().all(|m| applied.contains(&m.version)) {
            return Ok(());
        }
    }

    let mut conn = pool.acquire().await.map_err(map_err(ErrorCode::ConnectionFailed, "start migrations"))?;
    let lock_name = format!("{}migrate", tables.prefix);
    let got: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, 30)")
        .bind(&lock_name)
        .fetch_one(&mut *conn)
        .await
        .map_err(map_err(ErrorCode::ConnectionFailed, "take the migration lock"))?;
    if got != Some(1) {
        return Err(StoreError::new(
            ErrorCode::ConnectionFailed,
            format!("mysql: could not take the migration lock {lock_name:?} within 30 s (another process is migrating)"),
        ));
    }
    let result = apply(&mut conn, tables, all, events).await;
    let released = sqlx::query("SELECT RELEASE_LOCK(?)").bind(&lock_name).execute(&mut *conn).await;
    if released.is_err() {
        // A connection that may still hold the lock must not go back to the pool.
        let _ = conn.detach();
    }
    result
}

async fn apply(
    conn: &mut sqlx::MySqlConnection,
    tables: &Tables,
    all: Vec<Migration>,
    events: &crate::events::Events,
) -> StoreResult<()> {
    let create = create(
        &tables.migrations,
        "version BIGINT NOT NULL, name VARCHAR(255) NOT NULL, applied_at_ms BIGINT NOT NULL, PRIMARY KEY (version)",
    );
    conn.execute(sqlx::query(&create)).await.map_err(migration_failed("create the migrations table".into()))?;
    // Re-read under the lock: another process may have finished meanwhile.
    let rows = sqlx::query(&format!("SELECT version FROM {}", tables.migrations))
        .fetch_all(&mut *conn)
        .await
        .map_err(migration_failed("read applied migrations".into()))?;
    let mut applied = Vec::with_capacity(rows.len());
    for row in &rows {
        applied.push(row.try_get::<i64, _>(0).map_err(migration_failed("read applied migrations".into()))?);
    }
    let record_sql = format!("INSERT INTO {} (version, name, applied_at_ms) VALUES (?, ?, ?)", tables.migrations);
    for migration in all {
        if applied.contains(&migration.version) {
            continue;
        }
        let done = match &migration.done_if {
            Some(probe) => !sqlx::query(probe)
                .fetch_all(&mut *conn)
                .await
                .map_err(migration_failed(format!("migration {} ({}) check", migration.version, migration.name)))?
                .is_empty(),
            None => false,
        };
        for statement in migration.statements.iter().filter(|_| !done) {
            conn.execute(sqlx::query(statement))
                .await
                .map_err(migration_failed(format!("migration {} ({})", migration.version, migration.name)))?;
        }
        sqlx::query(&record_sql)
            .bind(migration.version)
            .bind(migration.name)
            .bind(crate::domain::now_ms())
            .execute(&mut *conn)
            .await
            .map_err(migration_failed(format!("recording migration {}", migration.version)))?;
        events.migration_applied(migration.version, migration.name, &tables.migrations);
    }
    Ok(())
}
