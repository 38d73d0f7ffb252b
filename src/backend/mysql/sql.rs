//! Every statement, built once per backend from the prefixed table names.
//! Table names come from a validated prefix; every value is a bound `?`.
//!
//! Columns of unbounded length that take part in a key or a lookup have a
//! `*_h BINARY(32)` twin holding their SHA-256, computed by the server from
//! the bound value ([`H`]); statements bind such a value twice (once for the
//! stored text, once for its hash).

use crate::domain::snapshot::RecordKind;
use crate::backend::message_ranges::{question_mark_conditions, MessageRanges};

/// The server-side hash of one bound value: the key form of an unbounded string or blob.
pub const H: &str = "UNHEX(SHA2(?, 256))";
/// Most bound parameters per statement.
pub const MAX_PARAMS: usize = 500;
/// Rough byte budget of one multi-row statement (far under the default 16 MiB `max_allowed_packet`).
pub const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;

/// The SQL names of every table: prefix + logical name.
#[derive(Debug, Clone)]
pub struct Tables {
    pub migrations: String,
    pub auth: String,
    pub signal_meta: String,
    pub signal_registration: String,
    pub signal_signed_prekey: String,
    pub signal_prekey: String,
    pub signal_session: String,
    pub signal_identity: String,
    pub sender_keys: String,
    pub sender_key_distribution: String,
    pub appstate_sync_keys: String,
    pub appstate_collection_versions: String,
    pub appstate_collection_index_values: String,
    pub retry_outbound: String,
    pub retry_inbound: String,
    pub messages: String,
    pub threads: String,
    pub contacts: String,
    pub group_metadata: String,
    pub device_list: String,
    pub privacy_tokens: String,
    pub message_secrets: String,
    pub chat_metadata: String,
    pub adapter_keys: String,
    pub session_leases: String,
    pub prefix: String,
}

impl Tables {
    pub fn new(prefix: &str) -> Self {
        let t = |name: &str| format!("{prefix}{name}");
        Self {
            migrations: t("migrations"),
            auth: t("auth_credentials"),
            signal_meta: t("signal_meta"),
            signal_registration: t("signal_registration"),
            signal_signed_prekey: t("signal_signed_prekey"),
            signal_prekey: t("signal_prekey"),
            signal_session: t("signal_session"),
            signal_identity: t("signal_identity"),
            sender_keys: t("sender_keys"),
            sender_key_distribution: t("sender_key_distribution"),
            appstate_sync_keys: t("appstate_sync_keys"),
            appstate_collection_versions: t("appstate_collection_versions"),
            appstate_collection_index_values: t("appstate_collection_index_values"),
            retry_outbound: t("retry_outbound_messages"),
            retry_inbound: t("retry_inbound_counters"),
            messages: t("mailbox_messages"),
            threads: t("mailbox_threads"),
            contacts: t("mailbox_contacts"),
            group_metadata: t("group_participants_cache"),
            device_list: t("device_list_cache"),
            privacy_tokens: t("privacy_tokens"),
            message_secrets: t("message_secrets_cache"),
            chat_metadata: t("chat_metadata_cache"),
            adapter_keys: t("adapter_keys"),
            session_leases: t("session_leases"),
            prefix: prefix.to_owned(),
        }
    }

    /// Every data table (the migrations table last).
    #[cfg(test)]
    pub fn all(&self) -> [&str; 25] {
        [
            &self.auth,
            &self.signal_meta,
            &self.signal_registration,
            &self.signal_signed_prekey,
            &self.signal_prekey,
            &self.signal_session,
            &self.signal_identity,
            &self.sender_keys,
            &self.sender_key_distribution,
            &self.appstate_sync_keys,
            &self.appstate_collection_versions,
            &self.appstate_collection_index_values,
            &self.retry_outbound,
            &self.retry_inbound,
            &self.messages,
            &self.threads,
            &self.contacts,
            &self.group_metadata,
            &self.device_list,
            &self.privacy_tokens,
            &self.message_secrets,
            &self.chat_metadata,
            &self.adapter_keys,
            &self.session_leases,
            &self.migrations,
        ]
    }

    /// The tables with an `expires_at_ms` column.
    pub fn caches(&self) -> [&str; 6] {
        [
            &self.retry_outbound,
            &self.retry_inbound,
            &self.group_metadata,
            &self.chat_metadata,
            &self.device_list,
            &self.message_secrets,
        ]
    }
}

/// A statement repeated over a list of items (`IN (…)` values or `VALUES` rows),
/// prebuilt for every power-of-two length up to its chunk size. A batch is
/// cut into chunks and each chunk is padded (by repeating its last item) to
/// the next power of two, so only a handful of distinct statements reach the
/// per-connection prepared-statement cache. Padding is harmless: a repeated
/// `IN` value matches nothing new, a repeated upsert row writes the same values.
#[derive(Debug, Clone)]
pub struct Multi {
    /// `variants[i]` takes `1 << i` items.
    variants: Vec<String>,
    max_chunk: usize,
}

impl Multi {
    /// `template` holds `{in}` where the items go, joined by `, `; each item is
    /// `item` and binds `per_item` values; `fixed` values are bound besides.
    fn new(template: &str, item: &str, per_item: usize, fixed: usize) -> Self {
        let room = MAX_PARAMS.saturating_sub(fixed) / per_item.max(1);
        let mut max_chunk = 1;
        while max_chunk * 2 <= room {
            max_chunk *= 2;
        }
        let mut variants = Vec::new();
        let mut len = 1;
        while len <= max_chunk {
            variants.push(template.replace("{in}", &vec![item; len].join(", ")));
            len *= 2;
        }
        Self { variants, max_chunk }
    }

    pub fn max_chunk(&self) -> usize {
        self.max_chunk
    }

    /// The statement for a chunk of `n` items (`1..=max_chunk`) and how many
    /// items it binds (`n` rounded up to a power of two).
    pub fn for_len(&self, n: usize) -> (&str, usize) {
        let padded = n.clamp(1, self.max_chunk).next_power_of_two();
        let index = padded.trailing_zeros() as usize;
        match self.variants.get(index).or(self.variants.last()) {
            Some(sql) => (sql, padded.min(self.max_chunk)),
            None => ("SELECT 1", 0),
        }
    }
}

pub struct Sql {
    pub auth_load: String,
    pub auth_save: String,
    pub auth_clear: String,

    pub meta_get: String,
    pub meta_lock: String,
    pub meta_get_locked: String,
    pub meta_raise_next: String,
    pub meta_set_server_has: String,
    pub meta_set_rotation: String,
    pub meta_reset_prekeys: String,
    pub meta_clear_rotation: String,

    pub reg_get: String,
    pub reg_set: String,
    pub reg_clear: String,
    pub spk_get: String,
    pub spk_get_by_id: String,
    pub spk_set: String,
    pub spk_clear: String,

    pub pk_upsert: String,
    pub pk_insert_many: Multi,
    pub pk_existing: Multi,
    pub pk_get: String,
    pub pk_get_many: Multi,
    pub pk_get_locked: String,
    pub pk_delete: String,
    pub pk_available: String,
    pub pk_mark_uploaded: String,
    pub pk_clear: String,

    pub sess_has_many: Multi,
    pub sess_get_many: Multi,
    pub sess_upsert: Multi,
    pub sess_delete: String,
    pub sess_clear: String,
    pub ident_get_many: Multi,
    pub ident_upsert: Multi,
    pub ident_clear: String,

    pub sk_upsert: String,
    pub sk_list_group: String,
    pub sk_get: String,
    pub sk_delete_in_group: String,
    pub sk_delete_everywhere: String,
    pub sk_forget_many: Multi,
    pub sk_clear: String,
    pub skd_upsert: Multi,
    pub skd_list_group: String,
    pub skd_get_many: Multi,
    pub skd_delete_in_group: String,
    pub skd_delete_everywhere: String,
    pub skd_forget_many: Multi,
    pub skd_clear: String,

    pub ask_upsert: String,
    pub ask_data_many: Multi,
    pub ask_get_many: Multi,
    pub ask_active: String,
    pub ask_all: String,
    pub ask_clear: String,
    pub acv_upsert: String,
    pub acv_get_many: Multi,
    pub acv_all: String,
    pub acv_clear: String,
    pub aiv_of_collection: String,
    pub aiv_get_many: Multi,
    pub aiv_all: String,
    pub aiv_upsert: Multi,
    pub aiv_delete_many: Multi,
    pub aiv_clear: String,

    pub msg_upsert: Multi,
    pub msg_get: String,
    pub msg_list: String,
    pub msg_list_before: String,
    /// Keyset page ranges ([`crate::domain::messages::PageRange`]): select, then delete.
    pub msg_page: MessageRanges,
    pub msg_delete_range: MessageRanges,
    pub msg_delete: String,
    pub msg_clear: String,

    pub thr_upsert: Multi,
    pub thr_get: String,
    pub thr_list: String,
    pub thr_delete: String,
    pub thr_clear: String,

    pub con_upsert: Multi,
    pub con_get: String,
    pub con_get_by_phone: String,
    pub con_delete: String,
    pub con_clear: String,

    pub pt_upsert: Multi,
    pub pt_get: String,
    pub pt_delete: String,
    pub pt_clear: String,

    pub ro_upsert: String,
    pub ro_get: String,
    pub ro_delete: String,
    pub ro_update_state: String,
    pub ro_get_requesters: String,
    pub ro_get_delivered_locked: String,
    pub ro_set_delivered: String,
    pub ro_cleanup: String,
    pub ro_clear: String,
    pub ri_increment: String,
    pub ri_get: String,
    pub ri_cleanup: String,
    pub ri_clear: String,

    pub gm_upsert: String,
    pub gm_get: String,
    pub gm_delete_expired: String,
    pub gm_delete: String,
    pub gm_cleanup: String,
    pub gm_clear: String,

    pub cm_upsert: String,
    pub cm_get: String,
    pub cm_delete_expired: String,
    pub cm_delete: String,
    pub cm_cleanup: String,
    pub cm_clear: String,

    pub dl_upsert: Multi,
    pub dl_get: String,
    pub dl_get_many: Multi,
    pub dl_find_alt: String,
    pub dl_delete_expired: String,
    pub dl_delete_expired_many: Multi,
    pub dl_delete: String,
    pub dl_cleanup: String,
    pub dl_clear: String,

    pub ms_upsert: Multi,
    pub ms_get_many: Multi,
    pub ms_delete_expired_many: Multi,
    pub ms_cleanup: String,
    pub ms_clear: String,

    /// `DELETE FROM <cache> WHERE expires_at_ms <= ?` for every cache table, every session.
    pub cleanup_all: Vec<String>,

    pub keys_get_many: Multi,
    /// Rows carry their own session id (group commit spans sessions).
    pub keys_upsert: Multi,
    pub keys_delete: String,
    pub keys_list: String,
    pub keys_list_ids: String,
    pub keys_types: String,
    pub keys_clear: String,

    pub snap: SnapshotSql,
}

/// Statements of the snapshot API (`snapshot.rs`). Text keys compare and
/// sort `CAST(… AS BINARY)`: byte order, and no PAD SPACE (`'a'` and `'a '`
/// stay apart). Keys are ordered on their text, not their hash columns, so
/// pages are sorted rather than index range scans.
pub struct SnapshotSql {
    /// The first page of each [`RecordKind`] (indexed by `kind as usize`):
    /// the session, then the limit.
    pub first: Vec<String>,
    /// Later pages: the session, one parameter per key part, the limit.
    pub after: Vec<String>,
    /// `kind, n, bytes` rows for every kind of one session (the session id bound once per kind).
    pub counts: String,
    /// Session ids greater than `?` (byte order), at most `?`; both bound once per table.
    pub sessions: String,
    /// How many tables `sessions` reads (how often its two parameters repeat).
    pub session_tables: usize,
    pub ri_put: String,
}

/// What each record kind is read from: columns, table, key columns (`t`
/// text, `i` integer, `b` binary), extra filter, payload-bytes expression.
struct KindSource<'a> {
    cols: &'a str,
    table: &'a str,
    keys: &'a [(&'a str, char)],
    filter: &'a str,
    bytes: String,
}

/// A meta row that holds only defaults exports nothing (as a fresh session reads).
const META_SET: &str = " AND (next_prekey_id <> 1 OR server_has_prekeys <> 0 OR signed_prekey_rotation_ts IS NOT NULL)";

fn key_expr(col: &str, ty: char) -> String {
    if ty == 't' {
        format!("CAST({col} AS BINARY)")
    } else {
        col.to_owned()
    }
}

fn pages_of(s: &KindSource<'_>) -> (String, String) {
    let head = format!("SELECT {} FROM {} WHERE session_id = ?{}", s.cols, s.table, s.filter);
    if s.keys.is_empty() {
        let page = format!("{head} LIMIT ?");
        return (page.clone(), page);
    }
    let cols: Vec<String> = s.keys.iter().map(|(c, ty)| key_expr(c, *ty)).collect();
    let params: Vec<&str> = s.keys.iter().map(|(_, ty)| if *ty == 't' { "CAST(? AS BINARY)" } else { "?" }).collect();
    let order = format!("ORDER BY {} LIMIT ?", cols.join(", "));
    let cond = if cols.len() == 1 {
        format!("{} > {}", cols[0], params[0])
    } else {
        format!("({}) > ({})", cols.join(", "), params.join(", "))
    };
    (format!("{head} {order}"), format!("{head} AND {cond} {order}"))
}

fn len_sum(cols: &[&str]) -> String {
    let parts: Vec<String> = cols.iter().map(|c| format!("COALESCE(LENGTH({c}), 0)")).collect();
    format!("CAST(COALESCE(SUM({}), 0) AS SIGNED)", parts.join(" + "))
}

impl SnapshotSql {
    fn new(t: &Tables) -> Self {
        let none = "CAST(0 AS SIGNED)".to_owned();
        let address = [("user", 't'), ("server", 't'), ("device", 'i')];
        let sender = [("group_id", 't'), ("sender_user", 't'), ("sender_server", 't'), ("sender_device", 'i')];
        let src = |cols, table, keys, bytes| KindSource { cols, table, keys, filter: "", bytes };
        let sources: Vec<KindSource<'_>> = RecordKind::ALL
            .iter()
            .map(|kind| match kind {
                RecordKind::Auth => src("credentials", &t.auth, &[], len_sum(&["credentials"])),
                RecordKind::Registration => src(
                    "registration_id, identity_pub_key, identity_priv_key",
                    &t.signal_registration,
                    &[],
                    len_sum(&["identity_pub_key", "identity_priv_key"]),
                ),
                RecordKind::SignedPreKey => src(
                    "key_id, pub_key, priv_key, signature, uploaded",
                    &t.signal_signed_prekey,
                    &[],
                    len_sum(&["pub_key", "priv_key", "signature"]),
                ),
                RecordKind::SignalMeta => KindSource {
                    filter: META_SET,
                    ..src("next_prekey_id, server_has_prekeys, signed_prekey_rotation_ts", &t.signal_meta, &[], none.clone())
                },
                RecordKind::PreKey => src(
                    "key_id, pub_key, priv_key, uploaded",
                    &t.signal_prekey,
                    &[("key_id", 'i')],
                    len_sum(&["pub_key", "priv_key"]),
                ),
                RecordKind::Session => src("user, server, device, record", &t.signal_session, &address, len_sum(&["record"])),
                RecordKind::Identity => {
                    src("user, server, device, identity_key", &t.signal_identity, &address, len_sum(&["identity_key"]))
                }
                RecordKind::SenderKey => src(
                    "group_id, sender_user, sender_server, sender_device, record",
                    &t.sender_keys,
                    &sender,
                    len_sum(&["record"]),
                ),
                RecordKind::SenderKeyDistribution => src(
                    "group_id, sender_user, sender_server, sender_device, key_id, timestamp_ms",
                    &t.sender_key_distribution,
                    &sender,
                    none.clone(),
                ),
                RecordKind::AppStateSyncKey => src(
                    "key_id, key_data, `timestamp`, fingerprint",
                    &t.appstate_sync_keys,
                    &[("key_id", 'b')],
                    len_sum(&["key_data", "fingerprint"]),
                ),
                RecordKind::AppStateCollection => src(
                    "collection, version, hash",
                    &t.appstate_collection_versions,
                    &[("collection", 't')],
                    format!(
                        "{} + (SELECT {} FROM {} WHERE session_id = ?)",
                        len_sum(&["hash"]),
                        len_sum(&["value_mac"]),
                        t.appstate_collection_index_values
                    ),
                ),
                RecordKind::PrivacyToken => src(
                    "jid, tc_token, tc_token_timestamp, tc_token_sender_timestamp, nct_salt, updated_at_ms",
                    &t.privacy_tokens,
                    &[("jid", 't')],
                    len_sum(&["tc_token", "nct_salt"]),
                ),
                RecordKind::Message => src(
                    "message_id, thread_jid, sender_jid, participant_jid, from_me, timestamp_ms, message_bytes",
                    &t.messages,
                    &[("message_id", 't')],
                    len_sum(&["message_bytes"]),
                ),
                RecordKind::Thread => src(
                    "jid, name, unread_count, archived, pinned, mute_end_ms, marked_as_unread, \
                     ephemeral_expiration, ephemeral_setting_timestamp",
                    &t.threads,
                    &[("jid", 't')],
                    none.clone(),
                ),
                RecordKind::Contact => src(
                    "jid, display_name, push_name, lid, phone_number, username, last_updated_ms",
                    &t.contacts,
                    &[("jid", 't')],
                    none.clone(),
                ),
                RecordKind::Key => src(
                    "key_type, key_id, value",
                    &t.adapter_keys,
                    &[("key_type", 'b'), ("key_id", 'b')],
                    len_sum(&["value"]),
                ),
                RecordKind::RetryOutbound => src(
                    "message_id, to_jid, eligible_requesters_json, delivered_requesters_json, replay_mode, \
                     replay_payload, state, updated_at_ms, expires_at_ms",
                    &t.retry_outbound,
                    &[("message_id", 't')],
                    len_sum(&["replay_payload"]),
                ),
                RecordKind::RetryInbound => src(
                    "message_id, requester_jid, retry_count, updated_at_ms, expires_at_ms",
                    &t.retry_inbound,
                    &[("message_id", 't'), ("requester_jid", 't')],
                    none.clone(),
                ),
                RecordKind::GroupMetadata => src(
                    "group_jid, participants_json, ephemeral, ephemeral_trigger, updated_at_ms, expires_at_ms",
                    &t.group_metadata,
                    &[("group_jid", 't')],
                    none.clone(),
                ),
                RecordKind::ChatMetadata => src(
                    "chat_jid, ephemeral_expiration, ephemeral_setting_timestamp, updated_at_ms, expires_at_ms",
                    &t.chat_metadata,
                    &[("chat_jid", 't')],
                    none.clone(),
                ),
                RecordKind::DeviceList => src(
                    "user_jid, alt_user_jid, device_jids_json, updated_at_ms, expires_at_ms",
                    &t.device_list,
                    &[("user_jid", 't')],
                    none.clone(),
                ),
                RecordKind::MessageSecret => src(
                    "message_id, secret, sender_jid, expires_at_ms",
                    &t.message_secrets,
                    &[("message_id", 't')],
                    len_sum(&["secret"]),
                ),
            })
            .collect();
        let counts: Vec<String> = RecordKind::ALL
            .iter()
            .zip(&sources)
            .map(|(kind, s)| {
                format!(
                    "SELECT '{}' AS kind, CAST(COUNT(*) AS SIGNED) AS n, {} AS bytes FROM {} WHERE session_id = ?{}",
                    kind.name(),
                    s.bytes,
                    s.table,
                    s.filter
                )
            })
            .collect();
        let mut tables: Vec<(&str, &str)> = Vec::new();
        for s in &sources {
            if !tables.iter().any(|(t, _)| *t == s.table) {
                tables.push((s.table, s.filter));
            }
        }
        // session_id is VARBINARY: byte order, and each branch is an index range.
        let branches: Vec<String> = tables
            .iter()
            .map(|(table, filter)| {
                format!(
                    "(SELECT DISTINCT session_id FROM {table} WHERE session_id > ?{filter} ORDER BY session_id LIMIT ?)"
                )
            })
            .collect();
        let (first, after) = sources.iter().map(pages_of).unzip();
        Self {
            first,
            after,
            counts: counts.join("\nUNION ALL "),
            sessions: format!("SELECT session_id FROM ({}) AS s ORDER BY session_id LIMIT ?", branches.join("\nUNION ")),
            session_tables: tables.len(),
            ri_put: format!(
                "INSERT INTO {} (session_id, message_id, message_h, requester_jid, requester_h, retry_count,
                    updated_at_ms, expires_at_ms)
                 VALUES (?, ?, {H}, ?, {H}, ?, ?, ?)
                 ON DUPLICATE KEY UPDATE retry_count = VALUES(retry_count), updated_at_ms = VALUES(updated_at_ms),
                    expires_at_ms = VALUES(expires_at_ms)",
                t.retry_inbound
            ),
        }
    }
}

fn delete_all(table: &str) -> String {
    format!("DELETE FROM {table} WHERE session_id = ?")
}

fn cleanup(table: &str) -> String {
    format!("DELETE FROM {table} WHERE session_id = ? AND expires_at_ms <= ?")
}

/// `(?, ?, …)` with `H` where `hashed[i]`.
fn row(items: &[&str]) -> String {
    format!("({})", items.join(", "))
}

impl Sql {
    pub fn new(t: &Tables) -> Self {
        let meta = &t.signal_meta;
        let pk = &t.signal_prekey;
        let sess = &t.signal_session;
        let ident = &t.signal_identity;
        let sk = &t.sender_keys;
        let skd = &t.sender_key_distribution;
        let ask = &t.appstate_sync_keys;
        let acv = &t.appstate_collection_versions;
        let aiv = &t.appstate_collection_index_values;
        let msg = &t.messages;
        let thr = &t.threads;
        let con = &t.contacts;
        let pt = &t.privacy_tokens;
        let ro = &t.retry_outbound;
        let ri = &t.retry_inbound;
        let gm = &t.group_metadata;
        let cm = &t.chat_metadata;
        let dl = &t.device_list;
        let ms = &t.message_secrets;
        let keys = &t.adapter_keys;

        const PK_COLS: &str = "key_id, pub_key, priv_key, uploaded";
        const SK_COLS: &str = "group_id, sender_user, sender_server, sender_device, record";
        const SKD_COLS: &str = "group_id, sender_user, sender_server, sender_device, key_id, timestamp_ms";
        const ASK_COLS: &str = "key_id, key_data, `timestamp`, fingerprint";
        const MSG_COLS: &str =
            "message_id, thread_jid, sender_jid, participant_jid, from_me, timestamp_ms, message_bytes";
        const THR_COLS: &str = "jid, name, unread_count, archived, pinned, mute_end_ms, marked_as_unread, \
                                ephemeral_expiration, ephemeral_setting_timestamp";
        const CON_COLS: &str = "jid, display_name, push_name, lid, phone_number, username, last_updated_ms";
        const PT_COLS: &str = "jid, tc_token, tc_token_timestamp, tc_token_sender_timestamp, nct_salt, updated_at_ms";
        const RO_COLS: &str = "message_id, to_jid, eligible_requesters_json, delivered_requesters_json, replay_mode, \
                               replay_payload, state, updated_at_ms, expires_at_ms";
        const GM_COLS: &str =
            "group_jid, participants_json, ephemeral, ephemeral_trigger, updated_at_ms, expires_at_ms";
        const CM_COLS: &str =
            "chat_jid, ephemeral_expiration, ephemeral_setting_timestamp, updated_at_ms, expires_at_ms";
        const DL_COLS: &str = "user_jid, alt_user_jid, device_jids_json, updated_at_ms, expires_at_ms";
        let addr_eq = format!("user_h = {H} AND server_h = {H} AND device = ?");
        let sender_eq = format!("sender_user_h = {H} AND sender_server_h = {H} AND sender_device = ?");
        let addr_item = row(&[H, H, "?"]);

        Self {
            auth_load: format!("SELECT credentials FROM {} WHERE session_id = ?", t.auth),
            auth_save: format!(
                "INSERT INTO {} (session_id, credentials, updated_at_ms) VALUES (?, ?, ?)
                 ON DUPLICATE KEY UPDATE credentials = VALUES(credentials), updated_at_ms = VALUES(updated_at_ms)",
                t.auth
            ),
            auth_clear: delete_all(&t.auth),

            meta_get: format!(
                "SELECT next_prekey_id, server_has_prekeys, signed_prekey_rotation_ts FROM {meta} WHERE session_id = ?"
            ),
            // Creates the row if needed and holds its exclusive lock until commit:
            // the per-session mutex of every pre-key read-modify-write.
            meta_lock: format!(
                "INSERT INTO {meta} (session_id) VALUES (?) ON DUPLICATE KEY UPDATE session_id = session_id"
            ),
            meta_get_locked: format!(
                "SELECT next_prekey_id, server_has_prekeys, signed_prekey_rotation_ts FROM {meta}
                 WHERE session_id = ? FOR UPDATE"
            ),
            meta_raise_next: format!(
                "INSERT INTO {meta} (session_id, next_prekey_id) VALUES (?, ?)
                 ON DUPLICATE KEY UPDATE next_prekey_id = GREATEST(next_prekey_id, VALUES(next_prekey_id))"
            ),
            meta_set_server_has: format!(
                "INSERT INTO {meta} (session_id, server_has_prekeys) VALUES (?, ?)
                 ON DUPLICATE KEY UPDATE server_has_prekeys = VALUES(server_has_prekeys)"
            ),
            meta_set_rotation: format!(
                "INSERT INTO {meta} (session_id, signed_prekey_rotation_ts) VALUES (?, ?)
                 ON DUPLICATE KEY UPDATE signed_prekey_rotation_ts = VALUES(signed_prekey_rotation_ts)"
            ),
            meta_reset_prekeys: format!(
                "UPDATE {meta} SET next_prekey_id = 1, server_has_prekeys = 0 WHERE session_id = ?"
            ),
            meta_clear_rotation: format!("UPDATE {meta} SET signed_prekey_rotation_ts = NULL WHERE session_id = ?"),

            reg_get: format!(
                "SELECT registration_id, identity_pub_key, identity_priv_key FROM {} WHERE session_id = ?",
                t.signal_registration
            ),
            reg_set: format!(
                "INSERT INTO {} (session_id, registration_id, identity_pub_key, identity_priv_key) VALUES (?, ?, ?, ?)
                 ON DUPLICATE KEY UPDATE registration_id = VALUES(registration_id),
                    identity_pub_key = VALUES(identity_pub_key), identity_priv_key = VALUES(identity_priv_key)",
                t.signal_registration
            ),
            reg_clear: delete_all(&t.signal_registration),
            spk_get: format!(
                "SELECT key_id, pub_key, priv_key, signature, uploaded FROM {} WHERE session_id = ?",
                t.signal_signed_prekey
            ),
            spk_get_by_id: format!(
                "SELECT key_id, pub_key, priv_key, signature, uploaded FROM {} WHERE session_id = ? AND key_id = ?",
                t.signal_signed_prekey
            ),
            spk_set: format!(
                "INSERT INTO {} (session_id, key_id, pub_key, priv_key, signature, uploaded) VALUES (?, ?, ?, ?, ?, ?)
                 ON DUPLICATE KEY UPDATE key_id = VALUES(key_id), pub_key = VALUES(pub_key),
                    priv_key = VALUES(priv_key), signature = VALUES(signature), uploaded = VALUES(uploaded)",
                t.signal_signed_prekey
            ),
            spk_clear: delete_all(&t.signal_signed_prekey),

            pk_upsert: format!(
                "INSERT INTO {pk} (session_id, {PK_COLS}) VALUES (?, ?, ?, ?, ?)
                 ON DUPLICATE KEY UPDATE pub_key = VALUES(pub_key), priv_key = VALUES(priv_key),
                    uploaded = VALUES(uploaded)"
            ),
            // Only ids found missing under the meta lock are inserted; the no-op
            // update absorbs the padding rows.
            pk_insert_many: Multi::new(
                &format!(
                    "INSERT INTO {pk} (session_id, {PK_COLS}) VALUES {{in}} ON DUPLICATE KEY UPDATE key_id = key_id"
                ),
                "(?, ?, ?, ?, ?)",
                5,
                0,
            ),
            pk_existing: Multi::new(
                &format!("SELECT key_id FROM {pk} WHERE session_id = ? AND key_id IN ({{in}})"),
                "?",
                1,
                1,
            ),
            pk_get: format!("SELECT {PK_COLS} FROM {pk} WHERE session_id = ? AND key_id = ?"),
            pk_get_many: Multi::new(
                &format!("SELECT {PK_COLS} FROM {pk} WHERE session_id = ? AND key_id IN ({{in}})"),
                "?",
                1,
                1,
            ),
            pk_get_locked: format!("SELECT {PK_COLS} FROM {pk} WHERE session_id = ? AND key_id = ? FOR UPDATE"),
            pk_delete: format!("DELETE FROM {pk} WHERE session_id = ? AND key_id = ?"),
            pk_available: format!(
                "SELECT {PK_COLS} FROM {pk} WHERE session_id = ? AND (uploaded IS NULL OR uploaded = 0)
                 ORDER BY key_id ASC LIMIT ?"
            ),
            pk_mark_uploaded: format!("UPDATE {pk} SET uploaded = 1 WHERE session_id = ? AND key_id <= ?"),
            pk_clear: delete_all(pk),

            sess_has_many: Multi::new(
                &format!(
                    "SELECT user, server, device FROM {sess} WHERE session_id = ? AND (user_h, server_h, device) IN ({{in}})"
                ),
                &addr_item,
                3,
                1,
            ),
            sess_get_many: Multi::new(
                &format!(
                    "SELECT user, server, device, record FROM {sess}
                     WHERE session_id = ? AND (user_h, server_h, device) IN ({{in}})"
                ),
                &addr_item,
                3,
                1,
            ),
            sess_upsert: Multi::new(
                &format!(
                    "INSERT INTO {sess} (session_id, user, user_h, server, server_h, device, record) VALUES {{in}}
                     ON DUPLICATE KEY UPDATE record = VALUES(record)"
                ),
                &row(&["?", "?", H, "?", H, "?", "?"]),
                7,
                0,
            ),
            sess_delete: format!("DELETE FROM {sess} WHERE session_id = ? AND {addr_eq}"),
            sess_clear: delete_all(sess),
            ident_get_many: Multi::new(
                &format!(
                    "SELECT user, server, device, identity_key FROM {ident}
                     WHERE session_id = ? AND (user_h, server_h, device) IN ({{in}})"
                ),
                &addr_item,
                3,
                1,
            ),
            ident_upsert: Multi::new(
                &format!(
                    "INSERT INTO {ident} (session_id, user, user_h, server, server_h, device, identity_key) VALUES {{in}}
                     ON DUPLICATE KEY UPDATE identity_key = VALUES(identity_key)"
                ),
                &row(&["?", "?", H, "?", H, "?", "?"]),
                7,
                0,
            ),
            ident_clear: delete_all(ident),

            sk_upsert: format!(
                "INSERT INTO {sk} (session_id, group_id, group_h, sender_user, sender_user_h, sender_server,
                    sender_server_h, sender_device, record)
                 VALUES (?, ?, {H}, ?, {H}, ?, {H}, ?, ?)
                 ON DUPLICATE KEY UPDATE record = VALUES(record)"
            ),
            // seq order = first-insert order, like the memory store's map.
            sk_list_group: format!("SELECT {SK_COLS} FROM {sk} WHERE session_id = ? AND group_h = {H} ORDER BY seq"),
            sk_get: format!("SELECT {SK_COLS} FROM {sk} WHERE session_id = ? AND group_h = {H} AND {sender_eq}"),
            sk_delete_in_group: format!("DELETE FROM {sk} WHERE session_id = ? AND group_h = {H} AND {sender_eq}"),
            sk_delete_everywhere: format!("DELETE FROM {sk} WHERE session_id = ? AND {sender_eq}"),
            sk_forget_many: Multi::new(
                &format!(
                    "DELETE FROM {sk} WHERE session_id = ? AND group_h = {H}
                     AND (sender_user_h, sender_server_h, sender_device) IN ({{in}})"
                ),
                &addr_item,
                3,
                2,
            ),
            sk_clear: delete_all(sk),
            skd_upsert: Multi::new(
                &format!(
                    "INSERT INTO {skd} (session_id, group_id, group_h, sender_user, sender_user_h, sender_server,
                        sender_server_h, sender_device, key_id, timestamp_ms)
                     VALUES {{in}}
                     ON DUPLICATE KEY UPDATE key_id = VALUES(key_id), timestamp_ms = VALUES(timestamp_ms)"
                ),
                &row(&["?", "?", H, "?", H, "?", H, "?", "?", "?"]),
                10,
                0,
            ),
            skd_list_group: format!(
                "SELECT {SKD_COLS} FROM {skd} WHERE session_id = ? AND group_h = {H} ORDER BY seq"
            ),
            skd_get_many: Multi::new(
                &format!(
                    "SELECT {SKD_COLS} FROM {skd} WHERE session_id = ? AND group_h = {H}
                     AND (sender_user_h, sender_server_h, sender_device) IN ({{in}})"
                ),
                &addr_item,
                3,
                2,
            ),
            skd_delete_in_group: format!("DELETE FROM {skd} WHERE session_id = ? AND group_h = {H} AND {sender_eq}"),
            skd_delete_everywhere: format!("DELETE FROM {skd} WHERE session_id = ? AND {sender_eq}"),
            skd_forget_many: Multi::new(
                &format!(
                    "DELETE FROM {skd} WHERE session_id = ? AND group_h = {H}
                     AND (sender_user_h, sender_server_h, sender_device) IN ({{in}})"
                ),
                &addr_item,
                3,
                2,
            ),
            skd_clear: delete_all(skd),

            ask_upsert: format!(
                "INSERT INTO {ask} (session_id, key_id, key_h, key_data, `timestamp`, fingerprint, key_epoch, key_device)
                 VALUES (?, ?, {H}, ?, ?, ?, ?, ?)
                 ON DUPLICATE KEY UPDATE key_data = VALUES(key_data), `timestamp` = VALUES(`timestamp`),
                    fingerprint = VALUES(fingerprint), key_epoch = VALUES(key_epoch), key_device = VALUES(key_device)"
            ),
            ask_data_many: Multi::new(
                &format!("SELECT key_id, key_data FROM {ask} WHERE session_id = ? AND key_h IN ({{in}}) FOR UPDATE"),
                H,
                1,
                1,
            ),
            ask_get_many: Multi::new(
                &format!("SELECT {ASK_COLS} FROM {ask} WHERE session_id = ? AND key_h IN ({{in}})"),
                H,
                1,
                1,
            ),
            // Highest epoch, then lowest device id, then first inserted (pickActiveSyncKey).
            ask_active: format!(
                "SELECT {ASK_COLS} FROM {ask} WHERE session_id = ?
                 ORDER BY key_epoch DESC, key_device ASC, seq ASC LIMIT 1"
            ),
            ask_all: format!("SELECT {ASK_COLS} FROM {ask} WHERE session_id = ? ORDER BY seq"),
            ask_clear: delete_all(ask),
            acv_upsert: format!(
                "INSERT INTO {acv} (session_id, collection, collection_h, version, hash) VALUES (?, ?, {H}, ?, ?)
                 ON DUPLICATE KEY UPDATE version = VALUES(version), hash = VALUES(hash)"
            ),
            acv_get_many: Multi::new(
                &format!(
                    "SELECT collection, version, hash FROM {acv} WHERE session_id = ? AND collection_h IN ({{in}})"
                ),
                H,
                1,
                1,
            ),
            acv_all: format!("SELECT collection, version, hash FROM {acv} WHERE session_id = ? ORDER BY seq"),
            acv_clear: delete_all(acv),
            aiv_of_collection: format!(
                "SELECT index_mac_hex, value_mac FROM {aiv} WHERE session_id = ? AND collection_h = {H} FOR UPDATE"
            ),
            aiv_get_many: Multi::new(
                &format!(
                    "SELECT collection, index_mac_hex, value_mac FROM {aiv}
                     WHERE session_id = ? AND collection_h IN ({{in}}) ORDER BY seq"
                ),
                H,
                1,
                1,
            ),
            aiv_all: format!(
                "SELECT collection, index_mac_hex, value_mac FROM {aiv} WHERE session_id = ? ORDER BY seq"
            ),
            aiv_upsert: Multi::new(
                &format!(
                    "INSERT INTO {aiv} (session_id, collection, collection_h, index_mac_hex, index_h, value_mac)
                     VALUES {{in}} ON DUPLICATE KEY UPDATE value_mac = VALUES(value_mac)"
                ),
                &row(&["?", "?", H, "?", H, "?"]),
                6,
                0,
            ),
            aiv_delete_many: Multi::new(
                &format!(
                    "DELETE FROM {aiv} WHERE session_id = ? AND collection_h = {H} AND index_h IN ({{in}})"
                ),
                H,
                1,
                2,
            ),
            aiv_clear: delete_all(aiv),

            msg_upsert: Multi::new(
                &format!(
                    "INSERT INTO {msg} (session_id, message_id, message_h, thread_jid, thread_h, sender_jid,
                        participant_jid, from_me, timestamp_ms, message_bytes)
                     VALUES {{in}}
                     ON DUPLICATE KEY UPDATE thread_jid = VALUES(thread_jid), thread_h = VALUES(thread_h),
                        sender_jid = VALUES(sender_jid), participant_jid = VALUES(participant_jid),
                        from_me = VALUES(from_me), timestamp_ms = VALUES(timestamp_ms),
                        message_bytes = VALUES(message_bytes)"
                ),
                &row(&["?", "?", H, "?", H, "?", "?", "?", "?", "?"]),
                10,
                0,
            ),
            msg_get: format!("SELECT {MSG_COLS} FROM {msg} WHERE session_id = ? AND message_h = {H}"),
            // DESC puts NULL timestamps last in MySQL too.
            msg_list: format!(
                "SELECT {MSG_COLS} FROM {msg} WHERE session_id = ? AND thread_h = {H}
                 ORDER BY timestamp_ms DESC, message_id DESC LIMIT ?"
            ),
            msg_list_before: format!(
                "SELECT {MSG_COLS} FROM {msg} WHERE session_id = ? AND thread_h = {H} AND timestamp_ms < ?
                 ORDER BY timestamp_ms DESC, message_id DESC LIMIT ?"
            ),
            // Ties break on the id's hash, not the id: `message_id` is LONGTEXT and
            // cannot be in an index, while `(…, timestamp_ms, message_h)` is, so
            // every page is an index range walked backwards.
            msg_page: MessageRanges::new(&question_mark_conditions(&format!("message_h < {H}")), |range, _| {
                format!(
                    "SELECT {MSG_COLS} FROM {msg} WHERE session_id = ? AND thread_h = {H}{range}
                     ORDER BY timestamp_ms DESC, message_h DESC LIMIT ?"
                )
            }),
            msg_delete_range: MessageRanges::new(&question_mark_conditions(&format!("message_h < {H}")), |range, _| {
                format!("DELETE FROM {msg} WHERE session_id = ? AND thread_h = {H}{range}")
            }),
            msg_delete: format!("DELETE FROM {msg} WHERE session_id = ? AND message_h = {H}"),
            msg_clear: delete_all(msg),

            thr_upsert: Multi::new(
                &format!(
                    "INSERT INTO {thr} (session_id, jid, jid_h, name, unread_count, archived, pinned, mute_end_ms,
                        marked_as_unread, ephemeral_expiration, ephemeral_setting_timestamp)
                     VALUES {{in}}
                     ON DUPLICATE KEY UPDATE
                        name = COALESCE(VALUES(name), name),
                        unread_count = COALESCE(VALUES(unread_count), unread_count),
                        archived = COALESCE(VALUES(archived), archived),
                        pinned = COALESCE(VALUES(pinned), pinned),
                        mute_end_ms = COALESCE(VALUES(mute_end_ms), mute_end_ms),
                        marked_as_unread = COALESCE(VALUES(marked_as_unread), marked_as_unread),
                        ephemeral_expiration = COALESCE(VALUES(ephemeral_expiration), ephemeral_expiration),
                        ephemeral_setting_timestamp =
                            COALESCE(VALUES(ephemeral_setting_timestamp), ephemeral_setting_timestamp)"
                ),
                &row(&["?", "?", H, "?", "?", "?", "?", "?", "?", "?", "?"]),
                11,
                0,
            ),
            thr_get: format!("SELECT {THR_COLS} FROM {thr} WHERE session_id = ? AND jid_h = {H}"),
            thr_list: format!("SELECT {THR_COLS} FROM {thr} WHERE session_id = ? LIMIT ?"),
            thr_delete: format!("DELETE FROM {thr} WHERE session_id = ? AND jid_h = {H}"),
            thr_clear: delete_all(thr),

            con_upsert: Multi::new(
                &format!(
                    "INSERT INTO {con} (session_id, jid, jid_h, display_name, push_name, lid, phone_number, phone_h,
                        username, last_updated_ms)
                     VALUES {{in}}
                     ON DUPLICATE KEY UPDATE
                        display_name = COALESCE(VALUES(display_name), display_name),
                        push_name = COALESCE(VALUES(push_name), push_name),
                        lid = COALESCE(VALUES(lid), lid),
                        phone_number = COALESCE(VALUES(phone_number), phone_number),
                        phone_h = COALESCE(VALUES(phone_h), phone_h),
                        username = COALESCE(VALUES(username), username),
                        last_updated_ms = GREATEST(VALUES(last_updated_ms), last_updated_ms)"
                ),
                &row(&["?", "?", H, "?", "?", "?", "?", H, "?", "?"]),
                10,
                0,
            ),
            con_get: format!("SELECT {CON_COLS} FROM {con} WHERE session_id = ? AND jid_h = {H}"),
            // Several rows may carry one number; prefer the most recently updated.
            con_get_by_phone: format!(
                "SELECT {CON_COLS} FROM {con} WHERE session_id = ? AND phone_h = {H}
                 ORDER BY last_updated_ms DESC, seq DESC LIMIT 1"
            ),
            con_delete: format!("DELETE FROM {con} WHERE session_id = ? AND jid_h = {H}"),
            con_clear: delete_all(con),

            pt_upsert: Multi::new(
                &format!(
                    "INSERT INTO {pt} (session_id, jid, jid_h, tc_token, tc_token_timestamp, tc_token_sender_timestamp,
                        nct_salt, updated_at_ms)
                     VALUES {{in}}
                     ON DUPLICATE KEY UPDATE
                        tc_token = COALESCE(VALUES(tc_token), tc_token),
                        tc_token_timestamp = COALESCE(VALUES(tc_token_timestamp), tc_token_timestamp),
                        tc_token_sender_timestamp =
                            COALESCE(VALUES(tc_token_sender_timestamp), tc_token_sender_timestamp),
                        nct_salt = COALESCE(VALUES(nct_salt), nct_salt),
                        updated_at_ms = VALUES(updated_at_ms)"
                ),
                &row(&["?", "?", H, "?", "?", "?", "?", "?"]),
                8,
                0,
            ),
            pt_get: format!("SELECT {PT_COLS} FROM {pt} WHERE session_id = ? AND jid_h = {H}"),
            pt_delete: format!("DELETE FROM {pt} WHERE session_id = ? AND jid_h = {H}"),
            pt_clear: delete_all(pt),

            ro_upsert: format!(
                "INSERT INTO {ro} (session_id, message_id, message_h, to_jid, eligible_requesters_json,
                    delivered_requesters_json, replay_mode, replay_payload, state, updated_at_ms, expires_at_ms)
                 VALUES (?, ?, {H}, ?, ?, ?, ?, ?, ?, ?, ?)
                 ON DUPLICATE KEY UPDATE
                    to_jid = VALUES(to_jid),
                    eligible_requesters_json = VALUES(eligible_requesters_json),
                    delivered_requesters_json = VALUES(delivered_requesters_json),
                    replay_mode = VALUES(replay_mode), replay_payload = VALUES(replay_payload),
                    state = VALUES(state), updated_at_ms = VALUES(updated_at_ms),
                    expires_at_ms = VALUES(expires_at_ms)"
            ),
            ro_get: format!("SELECT {RO_COLS} FROM {ro} WHERE session_id = ? AND message_h = {H}"),
            ro_delete: format!("DELETE FROM {ro} WHERE session_id = ? AND message_h = {H}"),
            ro_update_state: format!(
                "UPDATE {ro} SET state = ?, updated_at_ms = ?, expires_at_ms = ? WHERE session_id = ? AND message_h = {H}"
            ),
            // Requester checks run per retry receipt: skip the replay payload.
            ro_get_requesters: format!(
                "SELECT eligible_requesters_json, delivered_requesters_json FROM {ro}
                 WHERE session_id = ? AND message_h = {H}"
            ),
            ro_get_delivered_locked: format!(
                "SELECT delivered_requesters_json FROM {ro} WHERE session_id = ? AND message_h = {H} FOR UPDATE"
            ),
            ro_set_delivered: format!(
                "UPDATE {ro} SET delivered_requesters_json = ?, updated_at_ms = ?, expires_at_ms = ?
                 WHERE session_id = ? AND message_h = {H}"
            ),
            ro_cleanup: cleanup(ro),
            ro_clear: delete_all(ro),
            // retry_count is assigned first, so its IF still sees the old expiry.
            ri_increment: format!(
                "INSERT INTO {ri} (session_id, message_id, message_h, requester_jid, requester_h, retry_count,
                    updated_at_ms, expires_at_ms)
                 VALUES (?, ?, {H}, ?, {H}, 1, ?, ?)
                 ON DUPLICATE KEY UPDATE
                    retry_count = IF(expires_at_ms <= VALUES(updated_at_ms), 1, retry_count + 1),
                    updated_at_ms = VALUES(updated_at_ms),
                    expires_at_ms = VALUES(expires_at_ms)"
            ),
            ri_get: format!(
                "SELECT retry_count FROM {ri} WHERE session_id = ? AND message_h = {H} AND requester_h = {H}"
            ),
            ri_cleanup: cleanup(ri),
            ri_clear: delete_all(ri),

            gm_upsert: format!(
                "INSERT INTO {gm} (session_id, group_jid, group_h, participants_json, ephemeral, ephemeral_trigger,
                    updated_at_ms, expires_at_ms)
                 VALUES (?, ?, {H}, ?, ?, ?, ?, ?)
                 ON DUPLICATE KEY UPDATE
                    participants_json = VALUES(participants_json), ephemeral = VALUES(ephemeral),
                    ephemeral_trigger = VALUES(ephemeral_trigger), updated_at_ms = VALUES(updated_at_ms),
                    expires_at_ms = VALUES(expires_at_ms)"
            ),
            gm_get: format!("SELECT {GM_COLS} FROM {gm} WHERE session_id = ? AND group_h = {H}"),
            // The expiry guard keeps a concurrent refresh alive.
            gm_delete_expired: format!(
                "DELETE FROM {gm} WHERE session_id = ? AND group_h = {H} AND expires_at_ms <= ?"
            ),
            gm_delete: format!("DELETE FROM {gm} WHERE session_id = ? AND group_h = {H}"),
            gm_cleanup: cleanup(gm),
            gm_clear: delete_all(gm),

            cm_upsert: format!(
                "INSERT INTO {cm} (session_id, chat_jid, chat_h, ephemeral_expiration, ephemeral_setting_timestamp,
                    updated_at_ms, expires_at_ms)
                 VALUES (?, ?, {H}, ?, ?, ?, ?)
                 ON DUPLICATE KEY UPDATE
                    ephemeral_expiration = VALUES(ephemeral_expiration),
                    ephemeral_setting_timestamp = VALUES(ephemeral_setting_timestamp),
                    updated_at_ms = VALUES(updated_at_ms), expires_at_ms = VALUES(expires_at_ms)"
            ),
            cm_get: format!("SELECT {CM_COLS} FROM {cm} WHERE session_id = ? AND chat_h = {H}"),
            cm_delete_expired: format!(
                "DELETE FROM {cm} WHERE session_id = ? AND chat_h = {H} AND expires_at_ms <= ?"
            ),
            cm_delete: format!("DELETE FROM {cm} WHERE session_id = ? AND chat_h = {H}"),
            cm_cleanup: cleanup(cm),
            cm_clear: delete_all(cm),

            dl_upsert: Multi::new(
                &format!(
                    "INSERT INTO {dl} (session_id, user_jid, user_h, alt_user_jid, alt_h, device_jids_json,
                        updated_at_ms, expires_at_ms)
                     VALUES {{in}}
                     ON DUPLICATE KEY UPDATE
                        alt_user_jid = VALUES(alt_user_jid), alt_h = VALUES(alt_h),
                        device_jids_json = VALUES(device_jids_json),
                        updated_at_ms = VALUES(updated_at_ms), expires_at_ms = VALUES(expires_at_ms)"
                ),
                &row(&["?", "?", H, "?", H, "?", "?", "?"]),
                8,
                0,
            ),
            dl_get: format!("SELECT {DL_COLS} FROM {dl} WHERE session_id = ? AND user_h = {H}"),
            dl_get_many: Multi::new(
                &format!("SELECT {DL_COLS} FROM {dl} WHERE session_id = ? AND user_h IN ({{in}})"),
                H,
                1,
                1,
            ),
            // The latest snapshot naming this alt jid wins (as the memory store's alt index).
            dl_find_alt: format!(
                "SELECT {DL_COLS} FROM {dl} WHERE session_id = ? AND alt_h = {H}
                 ORDER BY updated_at_ms DESC, seq DESC LIMIT 1"
            ),
            dl_delete_expired: format!(
                "DELETE FROM {dl} WHERE session_id = ? AND user_h = {H} AND expires_at_ms <= ?"
            ),
            dl_delete_expired_many: Multi::new(
                &format!("DELETE FROM {dl} WHERE session_id = ? AND expires_at_ms <= ? AND user_h IN ({{in}})"),
                H,
                1,
                2,
            ),
            dl_delete: format!("DELETE FROM {dl} WHERE session_id = ? AND user_h = {H}"),
            dl_cleanup: cleanup(dl),
            dl_clear: delete_all(dl),

            ms_upsert: Multi::new(
                &format!(
                    "INSERT INTO {ms} (session_id, message_id, message_h, secret, sender_jid, expires_at_ms)
                     VALUES {{in}}
                     ON DUPLICATE KEY UPDATE secret = VALUES(secret), sender_jid = VALUES(sender_jid),
                        expires_at_ms = VALUES(expires_at_ms)"
                ),
                &row(&["?", "?", H, "?", "?", "?"]),
                6,
                0,
            ),
            ms_get_many: Multi::new(
                &format!(
                    "SELECT message_id, secret, sender_jid, expires_at_ms FROM {ms}
                     WHERE session_id = ? AND message_h IN ({{in}})"
                ),
                H,
                1,
                1,
            ),
            ms_delete_expired_many: Multi::new(
                &format!("DELETE FROM {ms} WHERE session_id = ? AND expires_at_ms <= ? AND message_h IN ({{in}})"),
                H,
                1,
                2,
            ),
            ms_cleanup: cleanup(ms),
            ms_clear: delete_all(ms),

            cleanup_all: t.caches().iter().map(|table| format!("DELETE FROM {table} WHERE expires_at_ms <= ?")).collect(),

            keys_get_many: Multi::new(
                &format!("SELECT key_id, value FROM {keys} WHERE session_id = ? AND type_h = {H} AND key_id IN ({{in}})"),
                "?",
                1,
                2,
            ),
            keys_upsert: Multi::new(
                &format!(
                    "INSERT INTO {keys} (session_id, type_h, key_type, key_id, value) VALUES {{in}}
                     ON DUPLICATE KEY UPDATE value = VALUES(value)"
                ),
                &row(&["?", H, "?", "?", "?"]),
                5,
                0,
            ),
            keys_delete: format!("DELETE FROM {keys} WHERE session_id = ? AND type_h = {H} AND key_id = ?"),
            keys_list: format!(
                "SELECT key_id, value FROM {keys} WHERE session_id = ? AND type_h = {H} AND (? IS NULL OR key_id > ?)
                 ORDER BY key_id LIMIT ?"
            ),
            keys_list_ids: format!(
                "SELECT key_id FROM {keys} WHERE session_id = ? AND type_h = {H} AND (? IS NULL OR key_id > ?)
                 ORDER BY key_id LIMIT ?"
            ),
            keys_types: format!("SELECT DISTINCT key_type FROM {keys} WHERE session_id = ? ORDER BY key_type"),
            keys_clear: delete_all(keys),

            snap: SnapshotSql::new(t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_rounds_up_to_powers_of_two_within_the_parameter_limit() {
        let list = Multi::new("SELECT 1 WHERE x IN ({in})", "?", 1, 1);
        assert_eq!(list.max_chunk(), 256);
        assert_eq!(list.for_len(1), ("SELECT 1 WHERE x IN (?)", 1));
        assert_eq!(list.for_len(3).1, 4);
        assert_eq!(list.for_len(3).0.matches('?').count(), 4);
        let rows = Multi::new("INSERT INTO t VALUES {in}", "(?, ?)", 2, 0);
        assert_eq!(rows.for_len(2).0, "INSERT INTO t VALUES (?, ?), (?, ?)");
        assert!(rows.max_chunk() * 2 <= MAX_PARAMS);
    }

    #[test]
    fn every_statement_names_prefixed_tables() {
        let sql = Sql::new(&Tables::new("p_"));
        assert!(sql.sess_upsert.for_len(5).0.contains("p_signal_session"));
        assert!(sql.auth_load.contains("p_auth_credentials"));
        assert_eq!(sql.cleanup_all.len(), 6);
    }
}
