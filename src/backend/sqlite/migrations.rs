//! The schema, as versioned migrations recorded in the migrations table.
//!
//! Rules every table follows:
//! - `session_id` leads every primary key, so one file holds many sessions
//!   and every per-session query is an index range scan;
//! - bytes are BLOBs, epoch-millisecond times are INTEGERs, booleans 0/1;
//! - each cache table has a `(session_id, expires_at_ms)` index for cleanup.
//!
//! Each migration runs once, in its own `BEGIN IMMEDIATE` transaction that
//! re-checks the version first, so two processes opening the same file at
//! once apply it exactly once (the loser waits on the lock, then skips).
//! Never edit a released migration: append a new version (one that drops a
//! column must also drop it from the earlier `checks`, which are re-run on
//! every open).

use sqlx::SqlitePool;

use super::map_err;
use super::options::TableNames;
use crate::error::{ErrorCode, StoreError, StoreResult};

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub statements: Vec<String>,
    /// `(table, columns)` that must exist once this migration ran. Checked
    /// inside its transaction: `CREATE TABLE IF NOT EXISTS` silently keeps a
    /// table someone else made under the same name, and recording the
    /// version then would make the clash permanent.
    pub checks: Vec<(String, &'static str)>,
}

/// Every migration, oldest first, with the configured table names.
pub fn migrations(t: &TableNames) -> Vec<Migration> {
    vec![
        Migration {
            version: 1,
            name: "auth_and_signal",
            statements: vec![
                // The whole credentials object, encoded by the caller: one row per session.
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL PRIMARY KEY,
                        credentials BLOB NOT NULL,
                        updated_at_ms INTEGER NOT NULL
                    )",
                    t.auth
                ),
                // Per-session counters shared by the signal and preKey domains;
                // each domain's clear() resets only its own columns.
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL PRIMARY KEY,
                        next_prekey_id INTEGER NOT NULL DEFAULT 1,
                        server_has_prekeys INTEGER NOT NULL DEFAULT 0,
                        signed_prekey_rotation_ts INTEGER
                    )",
                    t.signal_meta
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL PRIMARY KEY,
                        registration_id INTEGER NOT NULL,
                        identity_pub_key BLOB NOT NULL,
                        identity_priv_key BLOB NOT NULL
                    )",
                    t.signal_registration
                ),
                // `uploaded` keeps the record's optional flag as given (NULL = absent).
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL PRIMARY KEY,
                        key_id INTEGER NOT NULL,
                        pub_key BLOB NOT NULL,
                        priv_key BLOB NOT NULL,
                        signature BLOB NOT NULL,
                        uploaded INTEGER
                    )",
                    t.signal_signed_prekey
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL,
                        key_id INTEGER NOT NULL,
                        pub_key BLOB NOT NULL,
                        priv_key BLOB NOT NULL,
                        uploaded INTEGER,
                        PRIMARY KEY (session_id, key_id)
                    )",
                    t.signal_prekey
                ),
                // Availability scan (`uploaded IS NOT 1 ORDER BY key_id`) reads this
                // partial index in order, with no sort step.
                format!(
                    "CREATE INDEX IF NOT EXISTS {0}_available ON {0} (session_id, key_id) WHERE uploaded IS NOT 1",
                    t.signal_prekey
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL,
                        user TEXT NOT NULL,
                        server TEXT NOT NULL,
                        device INTEGER NOT NULL,
                        record BLOB NOT NULL,
                        PRIMARY KEY (session_id, user, server, device)
                    )",
                    t.signal_session
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL,
                        user TEXT NOT NULL,
                        server TEXT NOT NULL,
                        device INTEGER NOT NULL,
                        identity_key BLOB NOT NULL,
                        PRIMARY KEY (session_id, user, server, device)
                    )",
                    t.signal_identity
                ),
            ],
            checks: vec![
                (t.auth.clone(), "session_id, credentials, updated_at_ms"),
                (t.signal_meta.clone(), "session_id, next_prekey_id, server_has_prekeys, signed_prekey_rotation_ts"),
                (t.signal_registration.clone(), "session_id, registration_id, identity_pub_key, identity_priv_key"),
                (t.signal_signed_prekey.clone(), "session_id, key_id, pub_key, priv_key, signature, uploaded"),
                (t.signal_prekey.clone(), "session_id, key_id, pub_key, priv_key, uploaded"),
                (t.signal_session.clone(), "session_id, user, server, device, record"),
                (t.signal_identity.clone(), "session_id, user, server, device, identity_key"),
            ],
        },
        Migration {
            version: 2,
            name: "sender_keys",
            statements: vec![
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL,
                        group_id TEXT NOT NULL,
                        sender_user TEXT NOT NULL,
                        sender_server TEXT NOT NULL,
                        sender_device INTEGER NOT NULL,
                        record BLOB NOT NULL,
                        PRIMARY KEY (session_id, group_id, sender_user, sender_server, sender_device)
                    )",
                    t.sender_keys
                ),
                // Deleting a sender across every group.
                format!(
                    "CREATE INDEX IF NOT EXISTS {0}_by_sender ON {0} (session_id, sender_user, sender_server, sender_device)",
                    t.sender_keys
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL,
                        group_id TEXT NOT NULL,
                        sender_user TEXT NOT NULL,
                        sender_server TEXT NOT NULL,
                        sender_device INTEGER NOT NULL,
                        key_id INTEGER NOT NULL,
                        timestamp_ms INTEGER NOT NULL,
                        PRIMARY KEY (session_id, group_id, sender_user, sender_server, sender_device)
                    )",
                    t.sender_key_distribution
                ),
                format!(
                    "CREATE INDEX IF NOT EXISTS {0}_by_sender ON {0} (session_id, sender_user, sender_server, sender_device)",
                    t.sender_key_distribution
                ),
            ],
            checks: vec![
                (t.sender_keys.clone(), "session_id, group_id, sender_user, sender_server, sender_device, record"),
                (
                    t.sender_key_distribution.clone(),
                    "session_id, group_id, sender_user, sender_server, sender_device, key_id, \
                     timestamp_ms",
                ),
            ],
        },
        Migration {
            version: 3,
            name: "app_state",
            statements: vec![
                // key_epoch / key_device are derived from key_id at write time so the
                // active key is one indexed ORDER BY (zapo's pickActiveSyncKey).
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL,
                        key_id BLOB NOT NULL,
                        key_data BLOB NOT NULL,
                        timestamp INTEGER NOT NULL,
                        fingerprint BLOB,
                        key_epoch INTEGER NOT NULL,
                        key_device INTEGER,
                        PRIMARY KEY (session_id, key_id)
                    )",
                    t.appstate_sync_keys
                ),
                format!(
                    "CREATE INDEX IF NOT EXISTS {0}_active ON {0} (session_id, key_epoch DESC, key_device ASC)",
                    t.appstate_sync_keys
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL,
                        collection TEXT NOT NULL,
                        version INTEGER NOT NULL,
                        hash BLOB NOT NULL,
                        PRIMARY KEY (session_id, collection)
                    )",
                    t.appstate_collection_versions
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL,
                        collection TEXT NOT NULL,
                        index_mac_hex TEXT NOT NULL,
                        value_mac BLOB NOT NULL,
                        PRIMARY KEY (session_id, collection, index_mac_hex)
                    )",
                    t.appstate_collection_index_values
                ),
            ],
            checks: vec![
                (
                    t.appstate_sync_keys.clone(),
                    "session_id, key_id, key_data, timestamp, fingerprint, key_epoch, key_device",
                ),
                (t.appstate_collection_versions.clone(), "session_id, collection, version, hash"),
                (t.appstate_collection_index_values.clone(), "session_id, collection, index_mac_hex, value_mac"),
            ],
        },
        Migration {
            version: 4,
            name: "mailbox_and_privacy_tokens",
            statements: vec![
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL,
                        message_id TEXT NOT NULL,
                        thread_jid TEXT NOT NULL,
                        sender_jid TEXT,
                        participant_jid TEXT,
                        from_me INTEGER NOT NULL,
                        timestamp_ms INTEGER,
                        message_bytes BLOB,
                        PRIMARY KEY (session_id, message_id)
                    )",
                    t.messages
                ),
                format!(
                    "CREATE INDEX IF NOT EXISTS {0}_by_thread ON {0} (session_id, thread_jid, timestamp_ms DESC, message_id DESC)",
                    t.messages
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL,
                        jid TEXT NOT NULL,
                        name TEXT,
                        unread_count INTEGER,
                        archived INTEGER,
                        pinned INTEGER,
                        mute_end_ms INTEGER,
                        marked_as_unread INTEGER,
                        ephemeral_expiration INTEGER,
                        ephemeral_setting_timestamp INTEGER,
                        PRIMARY KEY (session_id, jid)
                    )",
                    t.threads
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL,
                        jid TEXT NOT NULL,
                        display_name TEXT,
                        push_name TEXT,
                        lid TEXT,
                        phone_number TEXT,
                        username TEXT,
                        last_updated_ms INTEGER NOT NULL,
                        PRIMARY KEY (session_id, jid)
                    )",
                    t.contacts
                ),
                format!(
                    "CREATE INDEX IF NOT EXISTS {0}_by_phone_number ON {0} (session_id, phone_number) WHERE phone_number IS NOT NULL",
                    t.contacts
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL,
                        jid TEXT NOT NULL,
                        tc_token BLOB,
                        tc_token_timestamp INTEGER,
                        tc_token_sender_timestamp INTEGER,
                        nct_salt BLOB,
                        updated_at_ms INTEGER NOT NULL,
                        PRIMARY KEY (session_id, jid)
                    )",
                    t.privacy_tokens
                ),
            ],
            checks: vec![
                (
                    t.messages.clone(),
                    "session_id, message_id, thread_jid, sender_jid, participant_jid, from_me, \
                     timestamp_ms, message_bytes",
                ),
                (
                    t.threads.clone(),
                    "session_id, jid, name, unread_count, archived, pinned, mute_end_ms, \
                     marked_as_unread, ephemeral_expiration, ephemeral_setting_timestamp",
                ),
                (
                    t.contacts.clone(),
                    "session_id, jid, display_name, push_name, lid, phone_number, username, \
                     last_updated_ms",
                ),
                (
                    t.privacy_tokens.clone(),
                    "session_id, jid, tc_token, tc_token_timestamp, tc_token_sender_timestamp, \
                     nct_salt, updated_at_ms",
                ),
            ],
        },
        Migration {
            version: 5,
            name: "caches",
            statements: vec![
                // Requester lists are JSON arrays; NULL keeps "absent" apart from "empty".
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL,
                        message_id TEXT NOT NULL,
                        to_jid TEXT NOT NULL,
                        eligible_requesters_json TEXT,
                        delivered_requesters_json TEXT,
                        replay_mode TEXT NOT NULL,
                        replay_payload BLOB NOT NULL,
                        state TEXT NOT NULL,
                        updated_at_ms INTEGER NOT NULL,
                        expires_at_ms INTEGER NOT NULL,
                        PRIMARY KEY (session_id, message_id)
                    )",
                    t.retry_outbound
                ),
                expiry_index(&t.retry_outbound),
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL,
                        message_id TEXT NOT NULL,
                        requester_jid TEXT NOT NULL,
                        retry_count INTEGER NOT NULL,
                        updated_at_ms INTEGER NOT NULL,
                        expires_at_ms INTEGER NOT NULL,
                        PRIMARY KEY (session_id, message_id, requester_jid)
                    )",
                    t.retry_inbound
                ),
                expiry_index(&t.retry_inbound),
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL,
                        group_jid TEXT NOT NULL,
                        participants_json TEXT NOT NULL,
                        ephemeral INTEGER,
                        ephemeral_trigger INTEGER,
                        updated_at_ms INTEGER NOT NULL,
                        expires_at_ms INTEGER NOT NULL,
                        PRIMARY KEY (session_id, group_jid)
                    )",
                    t.group_metadata
                ),
                expiry_index(&t.group_metadata),
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL,
                        chat_jid TEXT NOT NULL,
                        ephemeral_expiration INTEGER,
                        ephemeral_setting_timestamp INTEGER,
                        updated_at_ms INTEGER NOT NULL,
                        expires_at_ms INTEGER NOT NULL,
                        PRIMARY KEY (session_id, chat_jid)
                    )",
                    t.chat_metadata
                ),
                expiry_index(&t.chat_metadata),
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL,
                        user_jid TEXT NOT NULL,
                        alt_user_jid TEXT,
                        device_jids_json TEXT NOT NULL,
                        updated_at_ms INTEGER NOT NULL,
                        expires_at_ms INTEGER NOT NULL,
                        PRIMARY KEY (session_id, user_jid)
                    )",
                    t.device_list
                ),
                format!(
                    "CREATE INDEX IF NOT EXISTS {0}_by_alt_user_jid ON {0} (session_id, alt_user_jid) WHERE alt_user_jid IS NOT NULL",
                    t.device_list
                ),
                expiry_index(&t.device_list),
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL,
                        message_id TEXT NOT NULL,
                        secret BLOB NOT NULL,
                        sender_jid TEXT NOT NULL,
                        expires_at_ms INTEGER NOT NULL,
                        PRIMARY KEY (session_id, message_id)
                    )",
                    t.message_secrets
                ),
                expiry_index(&t.message_secrets),
            ],
            checks: vec![
                (
                    t.retry_outbound.clone(),
                    "session_id, message_id, to_jid, eligible_requesters_json, \
                     delivered_requesters_json, replay_mode, replay_payload, state, updated_at_ms, \
                     expires_at_ms",
                ),
                (
                    t.retry_inbound.clone(),
                    "session_id, message_id, requester_jid, retry_count, updated_at_ms, expires_at_ms",
                ),
                (
                    t.group_metadata.clone(),
                    "session_id, group_jid, participants_json, ephemeral, ephemeral_trigger, \
                     updated_at_ms, expires_at_ms",
                ),
                (
                    t.chat_metadata.clone(),
                    "session_id, chat_jid, ephemeral_expiration, ephemeral_setting_timestamp, \
                     updated_at_ms, expires_at_ms",
                ),
                (
                    t.device_list.clone(),
                    "session_id, user_jid, alt_user_jid, device_jids_json, updated_at_ms, \
                     expires_at_ms",
                ),
                (t.message_secrets.clone(), "session_id, message_id, secret, sender_jid, expires_at_ms"),
            ],
        },
        Migration {
            version: 6,
            name: "adapter_keys",
            // Types and ids as BLOBs: byte-wise order for paging, NUL allowed.
            statements: vec![format!(
                "CREATE TABLE IF NOT EXISTS {} (
                    session_id TEXT NOT NULL,
                    key_type BLOB NOT NULL,
                    key_id BLOB NOT NULL,
                    value BLOB NOT NULL,
                    PRIMARY KEY (session_id, key_type, key_id)
                )",
                t.adapter_keys
            )],
            checks: vec![(t.adapter_keys.clone(), "session_id, key_type, key_id, value")],
        },
        Migration {
            version: 7,
            name: "session_leases",
            // One row per session ever owned; a release keeps it, so tokens are never reused.
            statements: vec![format!(
                "CREATE TABLE IF NOT EXISTS {} (
                    session_id TEXT NOT NULL PRIMARY KEY,
                    token INTEGER NOT NULL,
                    owner TEXT NOT NULL,
                    host TEXT NOT NULL,
                    pid INTEGER NOT NULL,
                    expires_at_ms INTEGER NOT NULL
                )",
                t.session_leases
            )],
            checks: vec![(t.session_leases.clone(), "session_id, token, owner, host, pid, expires_at_ms")],
        },
    ]
}

fn expiry_index(table: &str) -> String {
    format!("CREATE INDEX IF NOT EXISTS {table}_by_expiry ON {table} (session_id, expires_at_ms)")
}

/// Brings the database up to date. Safe to run from several processes at once.
pub async fn run(pool: &SqlitePool, tables: &TableNames, events: &crate::events::Events) -> StoreResult<()> {
    let create = format!(
        "CREATE TABLE IF NOT EXISTS {} (
            version INTEGER NOT NULL PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at_ms INTEGER NOT NULL
        )",
        tables.migrations
    );
    let mut tx =
        pool.begin_with("BEGIN IMMEDIATE").await.map_err(map_err(ErrorCode::ConnectionFailed, "start migrations"))?;
    sqlx::query(&create)
        .execute(&mut *tx)
        .await
        .map_err(map_err(ErrorCode::ConnectionFailed, "create the migrations table"))?;
    tx.commit().await.map_err(map_err(ErrorCode::ConnectionFailed, "create the migrations table"))?;

    let applied_sql = format!("SELECT 1 FROM {} WHERE version = ?", tables.migrations);
    let record_sql = format!("INSERT INTO {} (version, name, applied_at_ms) VALUES (?, ?, ?)", tables.migrations);
    for migration in migrations(tables) {
        // Cheap unlocked check first; the locked re-check below is the one that counts.
        let applied = sqlx::query(&applied_sql)
            .bind(migration.version)
            .fetch_optional(pool)
            .await
            .map_err(map_err(ErrorCode::ConnectionFailed, "read applied migrations"))?;
        if applied.is_some() {
            continue;
        }
        let what = "apply a schema migration";
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(map_err(ErrorCode::ConnectionFailed, what))?;
        let applied = sqlx::query(&applied_sql)
            .bind(migration.version)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err(ErrorCode::ConnectionFailed, what))?;
        if applied.is_some() {
            continue;
        }
        for statement in &migration.statements {
            sqlx::query(statement).execute(&mut *tx).await.map_err(|err| {
                StoreError::new(
                    ErrorCode::ConnectionFailed,
                    format!("sqlite: migration {} ({}) failed: {err}", migration.version, migration.name),
                )
                .with_source(err)
            })?;
        }
        for (table, columns) in &migration.checks {
            // On a clash `?` drops the transaction: rolled back, nothing recorded.
            probe(&mut *tx, table, columns).await?;
        }
        sqlx::query(&record_sql)
            .bind(migration.version)
            .bind(migration.name)
            .bind(crate::domain::now_ms())
            .execute(&mut *tx)
            .await
            .map_err(map_err(ErrorCode::ConnectionFailed, what))?;
        tx.commit().await.map_err(map_err(ErrorCode::ConnectionFailed, what))?;
        events.migration_applied(migration.version, migration.name, &tables.migrations);
    }
    // The version table says what ran, not under which names: a file first
    // migrated with other tableNames would lack this configuration's tables.
    probe(pool, &tables.migrations, "version, name, applied_at_ms").await?;
    for migration in migrations(tables) {
        for (table, columns) in &migration.checks {
            probe(pool, table, columns).await?;
        }
    }
    Ok(())
}

/// Fails, saying what to fix, unless `table` exists with `columns`.
/// Typical causes: a file first set up with other `tableNames`, or a table
/// of another application (zapo's SQLite store uses the same default names).
async fn probe<'e, E>(executor: E, table: &str, columns: &str) -> StoreResult<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    let sql = format!("SELECT {columns} FROM {table} LIMIT 0");
    match sqlx::query(&sql).persistent(false).fetch_all(executor).await {
        Ok(_) => Ok(()),
        Err(err) => Err(StoreError::new(
            ErrorCode::ConnectionFailed,
            format!(
                "sqlite: table {table} is missing or is not a wastore table ({err}); \
                 keep tableNames fixed per database file and do not share tables with other \
                 applications (pick other tableNames or another file)"
            ),
        )
        .with_source(err)),
    }
}
