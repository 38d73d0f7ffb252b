//! The schema, as versioned migrations recorded in `{prefix}migrations`.
//!
//! Rules every table follows:
//! - `session_id` leads every primary key, so one database holds many
//!   sessions and every per-session query is an index range scan;
//! - bytes are BYTEA, epoch-millisecond times and ints BIGINT, flags BOOLEAN;
//! - each cache table has a `(session_id, expires_at_ms)` index for cleanup;
//! - tables whose reads follow insertion order carry a `seq` identity column.
//!
//! All pending migrations run in one transaction that first takes
//! `pg_advisory_xact_lock(<key of the prefix>)`, so processes opening the same
//! prefix at once apply each version exactly once (the others wait, then
//! find it recorded). Never edit a released migration: append a new version.

use std::collections::HashSet;

use sqlx::PgPool;

use super::map_err;
use super::sql::Tables;
use crate::error::{ErrorCode, StoreError, StoreResult};

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub statements: Vec<String>,
}

fn expiry_index(table: &str) -> String {
    format!("CREATE INDEX IF NOT EXISTS {table}_by_expiry ON {table} (session_id, expires_at_ms)")
}

/// Every migration, oldest first, with the prefixed table names.
pub fn migrations(t: &Tables) -> Vec<Migration> {
    vec![
        Migration {
            version: 1,
            name: "auth_and_signal",
            statements: vec![
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL PRIMARY KEY,
                        credentials BYTEA NOT NULL,
                        updated_at_ms BIGINT NOT NULL
                    )",
                    t.auth
                ),
                // Per-session counters shared by the signal and preKey domains;
                // each domain's clear() resets only its own columns.
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL PRIMARY KEY,
                        next_prekey_id BIGINT NOT NULL DEFAULT 1,
                        server_has_prekeys BOOLEAN NOT NULL DEFAULT FALSE,
                        signed_prekey_rotation_ts BIGINT
                    )",
                    t.signal_meta
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL PRIMARY KEY,
                        registration_id BIGINT NOT NULL,
                        identity_pub_key BYTEA NOT NULL,
                        identity_priv_key BYTEA NOT NULL
                    )",
                    t.signal_registration
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL PRIMARY KEY,
                        key_id BIGINT NOT NULL,
                        pub_key BYTEA NOT NULL,
                        priv_key BYTEA NOT NULL,
                        signature BYTEA NOT NULL,
                        uploaded BOOLEAN
                    )",
                    t.signal_signed_prekey
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL,
                        key_id BIGINT NOT NULL,
                        pub_key BYTEA NOT NULL,
                        priv_key BYTEA NOT NULL,
                        uploaded BOOLEAN,
                        PRIMARY KEY (session_id, key_id)
                    )",
                    t.signal_prekey
                ),
                // Availability scan (`uploaded IS NOT TRUE ORDER BY key_id`).
                format!(
                    "CREATE INDEX IF NOT EXISTS {0}_available ON {0} (session_id, key_id) WHERE uploaded IS NOT TRUE",
                    t.signal_prekey
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL,
                        addr_user TEXT NOT NULL,
                        addr_server TEXT NOT NULL,
                        addr_device BIGINT NOT NULL,
                        record BYTEA NOT NULL,
                        PRIMARY KEY (session_id, addr_user, addr_server, addr_device)
                    )",
                    t.signal_session
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL,
                        addr_user TEXT NOT NULL,
                        addr_server TEXT NOT NULL,
                        addr_device BIGINT NOT NULL,
                        identity_key BYTEA NOT NULL,
                        PRIMARY KEY (session_id, addr_user, addr_server, addr_device)
                    )",
                    t.signal_identity
                ),
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
                        sender_device BIGINT NOT NULL,
                        record BYTEA NOT NULL,
                        seq BIGINT GENERATED ALWAYS AS IDENTITY,
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
                        sender_device BIGINT NOT NULL,
                        key_id BIGINT NOT NULL,
                        timestamp_ms BIGINT NOT NULL,
                        seq BIGINT GENERATED ALWAYS AS IDENTITY,
                        PRIMARY KEY (session_id, group_id, sender_user, sender_server, sender_device)
                    )",
                    t.sender_key_distribution
                ),
                format!(
                    "CREATE INDEX IF NOT EXISTS {0}_by_sender ON {0} (session_id, sender_user, sender_server, sender_device)",
                    t.sender_key_distribution
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
                        key_id BYTEA NOT NULL,
                        key_data BYTEA NOT NULL,
                        key_timestamp BIGINT NOT NULL,
                        fingerprint BYTEA,
                        key_epoch BIGINT NOT NULL,
                        key_device BIGINT,
                        seq BIGINT GENERATED ALWAYS AS IDENTITY,
                        PRIMARY KEY (session_id, key_id)
                    )",
                    t.appstate_sync_keys
                ),
                format!(
                    "CREATE INDEX IF NOT EXISTS {0}_active ON {0} (session_id, key_epoch DESC, key_device ASC NULLS FIRST, seq)",
                    t.appstate_sync_keys
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL,
                        collection TEXT NOT NULL,
                        version BIGINT NOT NULL,
                        hash BYTEA NOT NULL,
                        seq BIGINT GENERATED ALWAYS AS IDENTITY,
                        PRIMARY KEY (session_id, collection)
                    )",
                    t.appstate_collection_versions
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL,
                        collection TEXT NOT NULL,
                        index_mac_hex TEXT NOT NULL,
                        value_mac BYTEA NOT NULL,
                        seq BIGINT GENERATED ALWAYS AS IDENTITY,
                        PRIMARY KEY (session_id, collection, index_mac_hex)
                    )",
                    t.appstate_collection_index_values
                ),
            ],
        },
        Migration {
            version: 4,
            name: "mailbox_and_privacy_tokens",
            statements: vec![
                // Byte-order ids, so `message_id DESC` ties break the same on every server locale.
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL,
                        message_id TEXT COLLATE \"C\" NOT NULL,
                        thread_jid TEXT NOT NULL,
                        sender_jid TEXT,
                        participant_jid TEXT,
                        from_me BOOLEAN NOT NULL,
                        timestamp_ms BIGINT,
                        message_bytes BYTEA,
                        PRIMARY KEY (session_id, message_id)
                    )",
                    t.messages
                ),
                format!(
                    "CREATE INDEX IF NOT EXISTS {0}_by_thread ON {0}
                        (session_id, thread_jid, timestamp_ms DESC NULLS LAST, message_id DESC)",
                    t.messages
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL,
                        jid TEXT NOT NULL,
                        name TEXT,
                        unread_count BIGINT,
                        archived BOOLEAN,
                        pinned BIGINT,
                        mute_end_ms BIGINT,
                        marked_as_unread BOOLEAN,
                        ephemeral_expiration BIGINT,
                        ephemeral_setting_timestamp BIGINT,
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
                        last_updated_ms BIGINT NOT NULL,
                        seq BIGINT GENERATED ALWAYS AS IDENTITY,
                        PRIMARY KEY (session_id, jid)
                    )",
                    t.contacts
                ),
                format!(
                    "CREATE INDEX IF NOT EXISTS {0}_by_phone_number ON {0} (session_id, phone_number)
                        WHERE phone_number IS NOT NULL",
                    t.contacts
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL,
                        jid TEXT NOT NULL,
                        tc_token BYTEA,
                        tc_token_timestamp BIGINT,
                        tc_token_sender_timestamp BIGINT,
                        nct_salt BYTEA,
                        updated_at_ms BIGINT NOT NULL,
                        PRIMARY KEY (session_id, jid)
                    )",
                    t.privacy_tokens
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
                        replay_payload BYTEA NOT NULL,
                        state TEXT NOT NULL,
                        updated_at_ms BIGINT NOT NULL,
                        expires_at_ms BIGINT NOT NULL,
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
                        retry_count BIGINT NOT NULL,
                        updated_at_ms BIGINT NOT NULL,
                        expires_at_ms BIGINT NOT NULL,
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
                        ephemeral BIGINT,
                        ephemeral_trigger BIGINT,
                        updated_at_ms BIGINT NOT NULL,
                        expires_at_ms BIGINT NOT NULL,
                        PRIMARY KEY (session_id, group_jid)
                    )",
                    t.group_metadata
                ),
                expiry_index(&t.group_metadata),
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL,
                        chat_jid TEXT NOT NULL,
                        ephemeral_expiration BIGINT,
                        ephemeral_setting_timestamp BIGINT,
                        updated_at_ms BIGINT NOT NULL,
                        expires_at_ms BIGINT NOT NULL,
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
                        updated_at_ms BIGINT NOT NULL,
                        expires_at_ms BIGINT NOT NULL,
                        seq BIGINT GENERATED ALWAYS AS IDENTITY,
                        PRIMARY KEY (session_id, user_jid)
                    )",
                    t.device_list
                ),
                format!(
                    "CREATE INDEX IF NOT EXISTS {0}_by_alt_user_jid ON {0} (session_id, alt_user_jid)
                        WHERE alt_user_jid IS NOT NULL",
                    t.device_list
                ),
                expiry_index(&t.device_list),
                format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        session_id TEXT NOT NULL,
                        message_id TEXT NOT NULL,
                        secret BYTEA NOT NULL,
                        sender_jid TEXT NOT NULL,
                        expires_at_ms BIGINT NOT NULL,
                        PRIMARY KEY (session_id, message_id)
                    )",
                    t.message_secrets
                ),
                expiry_index(&t.message_secrets),
            ],
        },
        Migration {
            version: 6,
            name: "adapter_keys",
            // Types and ids as bytes: byte-wise order for paging, and NUL is allowed.
            statements: vec![format!(
                "CREATE TABLE IF NOT EXISTS {} (
                    session_id TEXT NOT NULL,
                    key_type BYTEA NOT NULL,
                    key_id BYTEA NOT NULL,
                    value BYTEA NOT NULL,
                    PRIMARY KEY (session_id, key_type, key_id)
                )",
                t.adapter_keys
            )],
        },
        Migration {
            version: 7,
            name: "session_leases",
            // One row per session ever owned; a release keeps it, so tokens are never reused.
            statements: vec![format!(
                "CREATE TABLE IF NOT EXISTS {} (
                    session_id TEXT NOT NULL PRIMARY KEY,
                    token BIGINT NOT NULL,
                    owner TEXT NOT NULL,
                    host TEXT NOT NULL,
                    pid BIGINT NOT NULL,
                    expires_at_ms BIGINT NOT NULL
                )",
                t.session_leases
            )],
        },
    ]
}

/// A stable advisory-lock key for a prefix (FNV-1a, 64 bit), so backends on
/// different prefixes never wait on each other.
pub fn lock_key(prefix: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in "wastore:migrations:".bytes().chain(prefix.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// Brings the schema up to date. Safe to run from several processes at once.
pub async fn run(pool: &PgPool, tables: &Tables, events: &crate::events::Events) -> StoreResult<()> {
    let what = "apply schema migrations";
    let fail = |err| map_err(ErrorCode::ConnectionFailed, what)(err);
    let mut tx = pool.begin().await.map_err(fail)?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(lock_key(&tables.prefix))
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
    let create = format!(
        "CREATE TABLE IF NOT EXISTS {} (
            version BIGINT NOT NULL PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at_ms BIGINT NOT NULL
        )",
        tables.migrations
    );
    sqlx::query(&create).execute(&mut *tx).await.map_err(fail)?;
    let applied_sql = format!("SELECT version FROM {}", tables.migrations);
    let applied: Vec<i64> = sqlx::query_scalar(&applied_sql).fetch_all(&mut *tx).await.map_err(fail)?;
    let record_sql = format!("INSERT INTO {} (version, name, applied_at_ms) VALUES ($1, $2, $3)", tables.migrations);
    let mut done: Vec<(i64, &'static str)> = Vec::new();
    for migration in migrations(tables) {
        if applied.contains(&migration.version) {
            continue;
        }
        done.push((migration.version, migration.name));
        for statement in &migration.statements {
            sqlx::query(statement).execute(&mut *tx).await.map_err(|err| {
                StoreError::new(
                    ErrorCode::ConnectionFailed,
                    format!(
                        "postgres: migration {} ({}) failed: {err}; a table with a {:?} prefix may belong to \
                         another application (pick another tablePrefix)",
                        migration.version, migration.name, tables.prefix
                    ),
                )
                .with_source(err)
            })?;
        }
        sqlx::query(&record_sql)
            .bind(migration.version)
            .bind(migration.name)
            .bind(crate::domain::now_ms())
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
    }
    // `CREATE TABLE IF NOT EXISTS` silently keeps a table someone else made
    // under the same name: check that every table has the columns we use, so
    // a clash fails here (rolled back, nothing recorded) and not on first use.
    verify_columns(&mut tx, tables).await?;
    tx.commit().await.map_err(fail)?;
    for (version, name) in done {
        events.migration_applied(version, name, &tables.migrations);
    }
    Ok(())
}

/// The columns each table must have (a subset check: extra columns are fine).
fn expected_columns(t: &Tables) -> Vec<(&str, &'static str)> {
    vec![
        (&t.migrations, "version, name, applied_at_ms"),
        (&t.auth, "session_id, credentials, updated_at_ms"),
        (&t.signal_meta, "session_id, next_prekey_id, server_has_prekeys, signed_prekey_rotation_ts"),
        (&t.signal_registration, "session_id, registration_id, identity_pub_key, identity_priv_key"),
        (&t.signal_signed_prekey, "session_id, key_id, pub_key, priv_key, signature, uploaded"),
        (&t.signal_prekey, "session_id, key_id, pub_key, priv_key, uploaded"),
        (&t.signal_session, "session_id, addr_user, addr_server, addr_device, record"),
        (&t.signal_identity, "session_id, addr_user, addr_server, addr_device, identity_key"),
        (&t.sender_keys, "session_id, group_id, sender_user, sender_server, sender_device, record, seq"),
        (
            &t.sender_key_distribution,
            "session_id, group_id, sender_user, sender_server, sender_device, key_id, timestamp_ms, seq",
        ),
        (&t.appstate_sync_keys, "session_id, key_id, key_data, key_timestamp, fingerprint, key_epoch, key_device, seq"),
        (&t.appstate_collection_versions, "session_id, collection, version, hash, seq"),
        (&t.appstate_collection_index_values, "session_id, collection, index_mac_hex, value_mac, seq"),
        (
            &t.messages,
            "session_id, message_id, thread_jid, sender_jid, participant_jid, from_me, timestamp_ms, message_bytes",
        ),
        (
            &t.threads,
            "session_id, jid, name, unread_count, archived, pinned, mute_end_ms, marked_as_unread, \
             ephemeral_expiration, ephemeral_setting_timestamp",
        ),
        (&t.contacts, "session_id, jid, display_name, push_name, lid, phone_number, username, last_updated_ms, seq"),
        (
            &t.privacy_tokens,
            "session_id, jid, tc_token, tc_token_timestamp, tc_token_sender_timestamp, nct_salt, updated_at_ms",
        ),
        (
            &t.retry_outbound,
            "session_id, message_id, to_jid, eligible_requesters_json, delivered_requesters_json, replay_mode, \
             replay_payload, state, updated_at_ms, expires_at_ms",
        ),
        (&t.retry_inbound, "session_id, message_id, requester_jid, retry_count, updated_at_ms, expires_at_ms"),
        (
            &t.group_metadata,
            "session_id, group_jid, participants_json, ephemeral, ephemeral_trigger, updated_at_ms, expires_at_ms",
        ),
        (
            &t.chat_metadata,
            "session_id, chat_jid, ephemeral_expiration, ephemeral_setting_timestamp, updated_at_ms, expires_at_ms",
        ),
        (&t.device_list, "session_id, user_jid, alt_user_jid, device_jids_json, updated_at_ms, expires_at_ms, seq"),
        (&t.message_secrets, "session_id, message_id, secret, sender_jid, expires_at_ms"),
        (&t.adapter_keys, "session_id, key_type, key_id, value"),
        (&t.session_leases, "session_id, token, owner, host, pid, expires_at_ms"),
    ]
}

/// Fails, saying what to fix, unless every table exists with its columns.
/// One catalog query; unquoted names are folded to lower case by PostgreSQL.
async fn verify_columns(conn: &mut sqlx::PgConnection, tables: &Tables) -> StoreResult<()> {
    let expected = expected_columns(tables);
    let names: Vec<String> = expected.iter().map(|(table, _)| table.to_lowercase()).collect();
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = ANY($1::text[])",
    )
    .bind(&names)
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err(ErrorCode::ConnectionFailed, "check the schema"))?;
    let present: HashSet<(&str, &str)> = rows.iter().map(|(t, c)| (t.as_str(), c.as_str())).collect();
    for ((_, columns), table) in expected.iter().zip(&names) {
        let missing: Vec<&str> =
            columns.split(", ").map(str::trim).filter(|c| !present.contains(&(table.as_str(), *c))).collect();
        if !missing.is_empty() {
            return Err(StoreError::new(
                ErrorCode::ConnectionFailed,
                format!(
                    "postgres: table {table} is missing or is not a wastore table (no column {}); do not share \
                     tables with other applications (pick another tablePrefix)",
                    missing.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_depend_on_the_prefix() {
        assert_eq!(lock_key("wastore_"), lock_key("wastore_"));
        assert_ne!(lock_key("a_"), lock_key("b_"));
    }
}
