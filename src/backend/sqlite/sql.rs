//! Every statement, built once per backend from the configured table names.
//! Table names are validated identifiers; every value is a bound `?`.

use super::options::TableNames;
use crate::domain::snapshot::RecordKind;
use crate::backend::message_ranges::{question_mark_conditions, MessageRanges};

/// Largest `IN (…)` list of single values per statement.
pub const MAX_CHUNK_SINGLE: usize = 512;
/// Messages per multi-row upsert (8 parameters each, far below SQLite's 32,766).
const MSG_UPSERT_CHUNK: usize = 128;
/// Largest `IN (VALUES (?, ?, ?), …)` list of address triples per statement.
/// 256 × 3 + a few fixed parameters stays under 900, far from SQLite's limit.
pub const MAX_CHUNK_TRIPLE: usize = 256;

/// A statement ending in an `IN (…)` list, prebuilt for every power-of-two
/// length up to its chunk size. A batch is cut into chunks and each chunk is
/// padded (by repeating its last item) to the next power of two, so only a
/// handful of distinct statements ever reach the prepared-statement cache.
#[derive(Debug, Clone)]
pub struct InList {
    /// `variants[i]` takes `1 << i` items.
    variants: Vec<String>,
    max_chunk: usize,
}

impl InList {
    /// `template` contains `{in}` where the list goes; `arity` is 1 (`?, ?`)
    /// or more (`VALUES (?, ?, ?), (?, ?, ?)`).
    fn new(template: &str, arity: usize, max_chunk: usize) -> Self {
        let mut variants = Vec::new();
        let mut len = 1;
        while len <= max_chunk {
            let list = if arity == 1 {
                vec!["?"; len].join(", ")
            } else {
                let tuple = format!("({})", vec!["?"; arity].join(", "));
                format!("VALUES {}", vec![tuple.as_str(); len].join(", "))
            };
            variants.push(template.replace("{in}", &list));
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
        let padded = n.max(1).next_power_of_two();
        let index = padded.trailing_zeros() as usize;
        match self.variants.get(index) {
            Some(sql) => (sql, padded),
            // Callers chunk by max_chunk; stay correct even if one does not.
            None => (&self.variants[self.variants.len() - 1], self.max_chunk),
        }
    }
}

const TRIPLE: usize = 3;

pub struct Sql {
    // auth
    pub auth_load: String,
    pub auth_save: String,
    pub auth_clear: String,

    // signal meta (preKey counter + flag, signed pre-key rotation)
    pub meta_get: String,
    pub meta_raise_next: String,
    pub meta_set_server_has: String,
    pub meta_set_rotation: String,
    pub meta_reset_prekeys: String,
    pub meta_clear_rotation: String,

    // signal
    pub reg_get: String,
    pub reg_set: String,
    pub reg_clear: String,
    pub spk_get: String,
    pub spk_get_by_id: String,
    pub spk_set: String,
    pub spk_clear: String,

    // pre-keys
    pub pk_upsert: String,
    pub pk_insert_missing: String,
    pub pk_get: String,
    pub pk_get_many: InList,
    pub pk_consume: String,
    pub pk_available: String,
    pub pk_mark_uploaded: String,
    pub pk_clear: String,

    // sessions and identities
    pub sess_has_many: InList,
    pub sess_get_many: InList,
    pub sess_upsert: String,
    pub sess_delete: String,
    pub sess_clear: String,
    pub ident_get_many: InList,
    pub ident_upsert: String,
    pub ident_clear: String,

    // sender keys
    pub sk_upsert: String,
    pub sk_list_group: String,
    pub sk_get: String,
    pub sk_delete_in_group: String,
    pub sk_delete_everywhere: String,
    pub sk_forget_many: InList,
    pub sk_clear: String,
    pub skd_upsert: String,
    pub skd_list_group: String,
    pub skd_get_many: InList,
    pub skd_delete_in_group: String,
    pub skd_delete_everywhere: String,
    pub skd_forget_many: InList,
    pub skd_clear: String,

    // app state
    pub ask_upsert: String,
    pub ask_get_many: InList,
    pub ask_active: String,
    pub ask_all: String,
    pub ask_clear: String,
    pub acv_upsert: String,
    pub acv_get_many: InList,
    pub acv_all: String,
    pub acv_clear: String,
    pub aiv_of_collection: String,
    pub aiv_get_many: InList,
    pub aiv_all: String,
    pub aiv_upsert: String,
    pub aiv_delete_many: InList,
    pub aiv_clear: String,

    // messages
    /// Multi-row: one statement per chunk (the sqlx worker thread is one round trip per statement).
    pub msg_upsert: InList,
    pub msg_get: String,
    pub msg_list: String,
    pub msg_list_before: String,
    /// Keyset page ranges ([`crate::domain::messages::PageRange`]): select, then delete.
    pub msg_page: MessageRanges,
    pub msg_delete_range: MessageRanges,
    pub msg_delete: String,
    pub msg_clear: String,

    // threads
    pub thr_upsert: String,
    pub thr_get: String,
    pub thr_list: String,
    pub thr_delete: String,
    pub thr_clear: String,

    // contacts
    pub con_upsert: String,
    pub con_get: String,
    pub con_get_by_phone: String,
    pub con_delete: String,
    pub con_clear: String,

    // privacy tokens
    pub pt_upsert: String,
    pub pt_get: String,
    pub pt_delete: String,
    pub pt_clear: String,

    // retry
    pub ro_upsert: String,
    pub ro_get: String,
    pub ro_delete: String,
    pub ro_update_state: String,
    pub ro_get_requesters: String,
    pub ro_get_delivered: String,
    pub ro_set_delivered: String,
    pub ro_cleanup: String,
    pub ro_clear: String,
    pub ri_increment: String,
    pub ri_cleanup: String,
    pub ri_clear: String,

    // group metadata
    pub gm_upsert: String,
    pub gm_get: String,
    pub gm_delete_expired: String,
    pub gm_delete: String,
    pub gm_cleanup: String,
    pub gm_clear: String,

    // chat metadata
    pub cm_upsert: String,
    pub cm_get: String,
    pub cm_delete_expired: String,
    pub cm_delete: String,
    pub cm_cleanup: String,
    pub cm_clear: String,

    // device lists
    pub dl_upsert: String,
    pub dl_get: String,
    pub dl_get_many: InList,
    pub dl_find_alt: String,
    pub dl_delete_expired: String,
    pub dl_delete_expired_many: InList,
    pub dl_delete: String,
    pub dl_cleanup: String,
    pub dl_clear: String,

    // message secrets
    pub ms_upsert: String,
    pub ms_get_many: InList,
    pub ms_delete_expired_many: InList,
    pub ms_cleanup: String,
    pub ms_clear: String,

    pub keys_get_many: InList,
    pub keys_upsert: String,
    pub keys_delete: String,
    pub keys_list: String,
    pub keys_list_ids: String,
    pub keys_types: String,
    pub keys_clear: String,

    pub snap: SnapshotSql,
}

/// Statements of the snapshot API (`snapshot.rs`). TEXT and BLOB compare
/// with memcmp (the BINARY collation), so keyset pages follow byte order.
pub struct SnapshotSql {
    /// One page query per [`RecordKind`] (indexed by `kind as usize`): `?1`
    /// the session, then one parameter per key part (all NULL for the first
    /// page), then the limit.
    pub pages: Vec<String>,
    /// `kind, n, bytes` rows for every kind of one session (`?1`).
    pub counts: String,
    /// Session ids greater than `?1` (`''` for the first page), at most `?2`.
    pub sessions: String,
    pub ri_put: String,
}

/// What each record kind is read from: columns, table, key columns, extra
/// filter, and the payload-bytes expression of `stats`.
struct KindSource<'a> {
    cols: &'a str,
    table: &'a str,
    keys: &'a [&'a str],
    filter: &'a str,
    bytes: String,
}

/// A meta row that holds only defaults exports nothing (as a fresh session reads).
const META_SET: &str = " AND (next_prekey_id <> 1 OR server_has_prekeys <> 0 OR signed_prekey_rotation_ts IS NOT NULL)";

fn keyset_page(s: &KindSource<'_>) -> String {
    let n = s.keys.len();
    if n == 0 {
        return format!("SELECT {} FROM {} WHERE session_id = ?1{} LIMIT ?2", s.cols, s.table, s.filter);
    }
    let params: Vec<String> = (2..n + 2).map(|i| format!("?{i}")).collect();
    let cond = if n == 1 {
        format!("?2 IS NULL OR {} > ?2", s.keys[0])
    } else {
        format!("?2 IS NULL OR ({}) > ({})", s.keys.join(", "), params.join(", "))
    };
    format!(
        "SELECT {} FROM {} WHERE session_id = ?1{} AND ({cond}) ORDER BY {} LIMIT ?{}",
        s.cols,
        s.table,
        s.filter,
        s.keys.join(", "),
        n + 2
    )
}

fn len_sum(cols: &[&str]) -> String {
    let parts: Vec<String> = cols.iter().map(|c| format!("COALESCE(LENGTH({c}), 0)")).collect();
    format!("COALESCE(SUM({}), 0)", parts.join(" + "))
}

impl SnapshotSql {
    fn new(t: &TableNames) -> Self {
        let none = "0".to_owned();
        let sources: Vec<KindSource<'_>> = RecordKind::ALL
            .iter()
            .map(|kind| match kind {
                RecordKind::Auth => KindSource { cols: "credentials", table: &t.auth, keys: &[], filter: "", bytes: len_sum(&["credentials"]) },
                RecordKind::Registration => KindSource {
                    cols: "registration_id, identity_pub_key, identity_priv_key",
                    table: &t.signal_registration,
                    keys: &[],
                    filter: "",
                    bytes: len_sum(&["identity_pub_key", "identity_priv_key"]),
                },
                RecordKind::SignedPreKey => KindSource {
                    cols: "key_id, pub_key, priv_key, signature, uploaded",
                    table: &t.signal_signed_prekey,
                    keys: &[],
                    filter: "",
                    bytes: len_sum(&["pub_key", "priv_key", "signature"]),
                },
                RecordKind::SignalMeta => KindSource {
                    cols: "next_prekey_id, server_has_prekeys, signed_prekey_rotation_ts",
                    table: &t.signal_meta,
                    keys: &[],
                    filter: META_SET,
                    bytes: none.clone(),
                },
                RecordKind::PreKey => KindSource {
                    cols: "key_id, pub_key, priv_key, uploaded",
                    table: &t.signal_prekey,
                    keys: &["key_id"],
                    filter: "",
                    bytes: len_sum(&["pub_key", "priv_key"]),
                },
                RecordKind::Session => KindSource {
                    cols: "user, server, device, record",
                    table: &t.signal_session,
                    keys: &["user", "server", "device"],
                    filter: "",
                    bytes: len_sum(&["record"]),
                },
                RecordKind::Identity => KindSource {
                    cols: "user, server, device, identity_key",
                    table: &t.signal_identity,
                    keys: &["user", "server", "device"],
                    filter: "",
                    bytes: len_sum(&["identity_key"]),
                },
                RecordKind::SenderKey => KindSource {
                    cols: "group_id, sender_user, sender_server, sender_device, record",
                    table: &t.sender_keys,
                    keys: &["group_id", "sender_user", "sender_server", "sender_device"],
                    filter: "",
                    bytes: len_sum(&["record"]),
                },
                RecordKind::SenderKeyDistribution => KindSource {
                    cols: "group_id, sender_user, sender_server, sender_device, key_id, timestamp_ms",
                    table: &t.sender_key_distribution,
                    keys: &["group_id", "sender_user", "sender_server", "sender_device"],
                    filter: "",
                    bytes: none.clone(),
                },
                RecordKind::AppStateSyncKey => KindSource {
                    cols: "key_id, key_data, timestamp, fingerprint",
                    table: &t.appstate_sync_keys,
                    keys: &["key_id"],
                    filter: "",
                    bytes: len_sum(&["key_data", "fingerprint"]),
                },
                RecordKind::AppStateCollection => KindSource {
                    cols: "collection, version, hash",
                    table: &t.appstate_collection_versions,
                    keys: &["collection"],
                    filter: "",
                    bytes: format!(
                        "{} + (SELECT {} FROM {} WHERE session_id = ?1)",
                        len_sum(&["hash"]),
                        len_sum(&["value_mac"]),
                        t.appstate_collection_index_values
                    ),
                },
                RecordKind::PrivacyToken => KindSource {
                    cols: "jid, tc_token, tc_token_timestamp, tc_token_sender_timestamp, nct_salt, updated_at_ms",
                    table: &t.privacy_tokens,
                    keys: &["jid"],
                    filter: "",
                    bytes: len_sum(&["tc_token", "nct_salt"]),
                },
                RecordKind::Message => KindSource {
                    cols: "message_id, thread_jid, sender_jid, participant_jid, from_me, timestamp_ms, message_bytes",
                    table: &t.messages,
                    keys: &["message_id"],
                    filter: "",
                    bytes: len_sum(&["message_bytes"]),
                },
                RecordKind::Thread => KindSource {
                    cols: "jid, name, unread_count, archived, pinned, mute_end_ms, marked_as_unread, \
                           ephemeral_expiration, ephemeral_setting_timestamp",
                    table: &t.threads,
                    keys: &["jid"],
                    filter: "",
                    bytes: none.clone(),
                },
                RecordKind::Contact => KindSource {
                    cols: "jid, display_name, push_name, lid, phone_number, username, last_updated_ms",
                    table: &t.contacts,
                    keys: &["jid"],
                    filter: "",
                    bytes: none.clone(),
                },
                RecordKind::Key => KindSource {
                    cols: "key_type, key_id, value",
                    table: &t.adapter_keys,
                    keys: &["key_type", "key_id"],
                    filter: "",
                    bytes: len_sum(&["value"]),
                },
                RecordKind::RetryOutbound => KindSource {
                    cols: "message_id, to_jid, eligible_requesters_json, delivered_requesters_json, replay_mode, \
                           replay_payload, state, updated_at_ms, expires_at_ms",
                    table: &t.retry_outbound,
                    keys: &["message_id"],
                    filter: "",
                    bytes: len_sum(&["replay_payload"]),
                },
                RecordKind::RetryInbound => KindSource {
                    cols: "message_id, requester_jid, retry_count, updated_at_ms, expires_at_ms",
                    table: &t.retry_inbound,
                    keys: &["message_id", "requester_jid"],
                    filter: "",
                    bytes: none.clone(),
                },
                RecordKind::GroupMetadata => KindSource {
                    cols: "group_jid, participants_json, ephemeral, ephemeral_trigger, updated_at_ms, expires_at_ms",
                    table: &t.group_metadata,
                    keys: &["group_jid"],
                    filter: "",
                    bytes: none.clone(),
                },
                RecordKind::ChatMetadata => KindSource {
                    cols: "chat_jid, ephemeral_expiration, ephemeral_setting_timestamp, updated_at_ms, expires_at_ms",
                    table: &t.chat_metadata,
                    keys: &["chat_jid"],
                    filter: "",
                    bytes: none.clone(),
                },
                RecordKind::DeviceList => KindSource {
                    cols: "user_jid, alt_user_jid, device_jids_json, updated_at_ms, expires_at_ms",
                    table: &t.device_list,
                    keys: &["user_jid"],
                    filter: "",
                    bytes: none.clone(),
                },
                RecordKind::MessageSecret => KindSource {
                    cols: "message_id, secret, sender_jid, expires_at_ms",
                    table: &t.message_secrets,
                    keys: &["message_id"],
                    filter: "",
                    bytes: len_sum(&["secret"]),
                },
            })
            .collect();
        let counts: Vec<String> = RecordKind::ALL
            .iter()
            .zip(&sources)
            .map(|(kind, s)| {
                format!(
                    "SELECT '{}' AS kind, COUNT(*) AS n, {} AS bytes FROM {} WHERE session_id = ?1{}",
                    kind.name(),
                    s.bytes,
                    s.table,
                    s.filter
                )
            })
            .collect();
        // Each branch reads its index in order and stops after ?2 distinct ids.
        let mut tables: Vec<(&str, &str)> = Vec::new();
        for s in &sources {
            if !tables.iter().any(|(t, _)| *t == s.table) {
                tables.push((s.table, s.filter));
            }
        }
        let branches: Vec<String> = tables
            .iter()
            .map(|(table, filter)| {
                format!(
                    "SELECT session_id FROM (SELECT DISTINCT session_id FROM {table} WHERE session_id > ?1{filter} \
                     ORDER BY session_id LIMIT ?2)"
                )
            })
            .collect();
        Self {
            pages: sources.iter().map(keyset_page).collect(),
            counts: counts.join("\nUNION ALL "),
            sessions: format!(
                "SELECT session_id FROM ({}) ORDER BY session_id LIMIT ?2",
                branches.join("\nUNION ")
            ),
            ri_put: format!(
                "INSERT INTO {} (session_id, message_id, requester_jid, retry_count, updated_at_ms, expires_at_ms)
                 VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT (session_id, message_id, requester_jid) DO UPDATE SET
                    retry_count = excluded.retry_count, updated_at_ms = excluded.updated_at_ms,
                    expires_at_ms = excluded.expires_at_ms",
                t.retry_inbound
            ),
        }
    }

    pub fn page(&self, kind: RecordKind) -> &str {
        &self.pages[kind as usize]
    }
}

fn delete_all(table: &str) -> String {
    format!("DELETE FROM {table} WHERE session_id = ?")
}

fn cleanup(table: &str) -> String {
    format!("DELETE FROM {table} WHERE session_id = ? AND expires_at_ms <= ?")
}

impl Sql {
    pub fn new(t: &TableNames) -> Self {
        let meta = &t.signal_meta;
        let pk = &t.signal_prekey;
        let sess = &t.signal_session;
        let keys = &t.adapter_keys;
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

        const PK_COLS: &str = "key_id, pub_key, priv_key, uploaded";
        const SK_COLS: &str = "group_id, sender_user, sender_server, sender_device, record";
        const SKD_COLS: &str = "group_id, sender_user, sender_server, sender_device, key_id, timestamp_ms";
        const ASK_COLS: &str = "key_id, key_data, timestamp, fingerprint";
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
        const ADDR: &str = "user = ? AND server = ? AND device = ?";
        const SENDER: &str = "sender_user = ? AND sender_server = ? AND sender_device = ?";

        Self {
            auth_load: format!("SELECT credentials FROM {} WHERE session_id = ?", t.auth),
            auth_save: format!(
                "INSERT INTO {0} (session_id, credentials, updated_at_ms) VALUES (?, ?, ?)
                 ON CONFLICT (session_id) DO UPDATE SET
                    credentials = excluded.credentials, updated_at_ms = excluded.updated_at_ms",
                t.auth
            ),
            auth_clear: delete_all(&t.auth),

            meta_get: format!(
                "SELECT next_prekey_id, server_has_prekeys, signed_prekey_rotation_ts FROM {meta} WHERE session_id = ?"
            ),
            meta_raise_next: format!(
                "INSERT INTO {meta} (session_id, next_prekey_id) VALUES (?, ?)
                 ON CONFLICT (session_id) DO UPDATE SET
                    next_prekey_id = MAX({meta}.next_prekey_id, excluded.next_prekey_id)"
            ),
            meta_set_server_has: format!(
                "INSERT INTO {meta} (session_id, server_has_prekeys) VALUES (?, ?)
                 ON CONFLICT (session_id) DO UPDATE SET server_has_prekeys = excluded.server_has_prekeys"
            ),
            meta_set_rotation: format!(
                "INSERT INTO {meta} (session_id, signed_prekey_rotation_ts) VALUES (?, ?)
                 ON CONFLICT (session_id) DO UPDATE SET signed_prekey_rotation_ts = excluded.signed_prekey_rotation_ts"
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
                "INSERT INTO {0} (session_id, registration_id, identity_pub_key, identity_priv_key) VALUES (?, ?, ?, ?)
                 ON CONFLICT (session_id) DO UPDATE SET
                    registration_id = excluded.registration_id,
                    identity_pub_key = excluded.identity_pub_key,
                    identity_priv_key = excluded.identity_priv_key",
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
                "INSERT INTO {0} (session_id, key_id, pub_key, priv_key, signature, uploaded) VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT (session_id) DO UPDATE SET
                    key_id = excluded.key_id, pub_key = excluded.pub_key, priv_key = excluded.priv_key,
                    signature = excluded.signature, uploaded = excluded.uploaded",
                t.signal_signed_prekey
            ),
            spk_clear: delete_all(&t.signal_signed_prekey),

            pk_upsert: format!(
                "INSERT INTO {pk} (session_id, key_id, pub_key, priv_key, uploaded) VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT (session_id, key_id) DO UPDATE SET
                    pub_key = excluded.pub_key, priv_key = excluded.priv_key, uploaded = excluded.uploaded"
            ),
            // Generated keys never overwrite a stored id (zapo PR #147: a colliding
            // generator must show up as "no progress", not silently replace keys).
            pk_insert_missing: format!(
                "INSERT INTO {pk} (session_id, key_id, pub_key, priv_key, uploaded) VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT (session_id, key_id) DO NOTHING"
            ),
            pk_get: format!("SELECT {PK_COLS} FROM {pk} WHERE session_id = ? AND key_id = ?"),
            pk_get_many: InList::new(
                &format!("SELECT {PK_COLS} FROM {pk} WHERE session_id = ? AND key_id IN ({{in}})"),
                1,
                MAX_CHUNK_SINGLE,
            ),
            pk_consume: format!("DELETE FROM {pk} WHERE session_id = ? AND key_id = ? RETURNING {PK_COLS}"),
            // `uploaded IS NOT 1` matches the partial index's WHERE exactly.
            pk_available: format!(
                "SELECT {PK_COLS} FROM {pk} WHERE session_id = ? AND uploaded IS NOT 1 ORDER BY key_id ASC LIMIT ?"
            ),
            pk_mark_uploaded: format!("UPDATE {pk} SET uploaded = 1 WHERE session_id = ? AND key_id <= ?"),
            pk_clear: delete_all(pk),

            sess_has_many: InList::new(
                &format!("SELECT user, server, device FROM {sess} WHERE session_id = ? AND (user, server, device) IN ({{in}})"),
                TRIPLE,
                MAX_CHUNK_TRIPLE,
            ),
            sess_get_many: InList::new(
                &format!(
                    "SELECT user, server, device, record FROM {sess} WHERE session_id = ? AND (user, server, device) IN ({{in}})"
                ),
                TRIPLE,
                MAX_CHUNK_TRIPLE,
            ),
            sess_upsert: format!(
                "INSERT INTO {sess} (session_id, user, server, device, record) VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT (session_id, user, server, device) DO UPDATE SET record = excluded.record"
            ),
            sess_delete: format!("DELETE FROM {sess} WHERE session_id = ? AND {ADDR}"),
            sess_clear: delete_all(sess),
            ident_get_many: InList::new(
                &format!(
                    "SELECT user, server, device, identity_key FROM {ident} WHERE session_id = ? AND (user, server, device) IN ({{in}})"
                ),
                TRIPLE,
                MAX_CHUNK_TRIPLE,
            ),
            ident_upsert: format!(
                "INSERT INTO {ident} (session_id, user, server, device, identity_key) VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT (session_id, user, server, device) DO UPDATE SET identity_key = excluded.identity_key"
            ),
            ident_clear: delete_all(ident),

            sk_upsert: format!(
                "INSERT INTO {sk} (session_id, group_id, sender_user, sender_server, sender_device, record)
                 VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT (session_id, group_id, sender_user, sender_server, sender_device)
                 DO UPDATE SET record = excluded.record"
            ),
            // rowid order = first-insert order, like the memory store's map.
            sk_list_group: format!("SELECT {SK_COLS} FROM {sk} WHERE session_id = ? AND group_id = ? ORDER BY rowid"),
            sk_get: format!("SELECT {SK_COLS} FROM {sk} WHERE session_id = ? AND group_id = ? AND {SENDER}"),
            sk_delete_in_group: format!("DELETE FROM {sk} WHERE session_id = ? AND group_id = ? AND {SENDER}"),
            sk_delete_everywhere: format!("DELETE FROM {sk} WHERE session_id = ? AND {SENDER}"),
            sk_forget_many: InList::new(
                &format!(
                    "DELETE FROM {sk} WHERE session_id = ? AND group_id = ?
                     AND (sender_user, sender_server, sender_device) IN ({{in}})"
                ),
                TRIPLE,
                MAX_CHUNK_TRIPLE,
            ),
            sk_clear: delete_all(sk),
            skd_upsert: format!(
                "INSERT INTO {skd} (session_id, group_id, sender_user, sender_server, sender_device, key_id, timestamp_ms)
                 VALUES (?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (session_id, group_id, sender_user, sender_server, sender_device)
                 DO UPDATE SET key_id = excluded.key_id, timestamp_ms = excluded.timestamp_ms"
            ),
            skd_list_group: format!("SELECT {SKD_COLS} FROM {skd} WHERE session_id = ? AND group_id = ? ORDER BY rowid"),
            skd_get_many: InList::new(
                &format!(
                    "SELECT {SKD_COLS} FROM {skd} WHERE session_id = ? AND group_id = ?
                     AND (sender_user, sender_server, sender_device) IN ({{in}})"
                ),
                TRIPLE,
                MAX_CHUNK_TRIPLE,
            ),
            skd_delete_in_group: format!("DELETE FROM {skd} WHERE session_id = ? AND group_id = ? AND {SENDER}"),
            skd_delete_everywhere: format!("DELETE FROM {skd} WHERE session_id = ? AND {SENDER}"),
            skd_forget_many: InList::new(
                &format!(
                    "DELETE FROM {skd} WHERE session_id = ? AND group_id = ?
                     AND (sender_user, sender_server, sender_device) IN ({{in}})"
                ),
                TRIPLE,
                MAX_CHUNK_TRIPLE,
            ),
            skd_clear: delete_all(skd),

            // The WHERE makes an unchanged key_data a no-op (0 rows changed), which
            // is how upsert_sync_keys counts inserted-or-changed keys.
            ask_upsert: format!(
                "INSERT INTO {ask} (session_id, key_id, key_data, timestamp, fingerprint, key_epoch, key_device)
                 VALUES (?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (session_id, key_id) DO UPDATE SET
                    key_data = excluded.key_data, timestamp = excluded.timestamp,
                    fingerprint = excluded.fingerprint, key_epoch = excluded.key_epoch,
                    key_device = excluded.key_device
                 WHERE {ask}.key_data IS NOT excluded.key_data"
            ),
            ask_get_many: InList::new(
                &format!("SELECT {ASK_COLS} FROM {ask} WHERE session_id = ? AND key_id IN ({{in}})"),
                1,
                MAX_CHUNK_SINGLE,
            ),
            // Highest epoch, then lowest device id, then first inserted (pickActiveSyncKey).
            ask_active: format!(
                "SELECT {ASK_COLS} FROM {ask} WHERE session_id = ?
                 ORDER BY key_epoch DESC, key_device ASC, rowid ASC LIMIT 1"
            ),
            ask_all: format!("SELECT {ASK_COLS} FROM {ask} WHERE session_id = ? ORDER BY rowid"),
            ask_clear: delete_all(ask),
            acv_upsert: format!(
                "INSERT INTO {acv} (session_id, collection, version, hash) VALUES (?, ?, ?, ?)
                 ON CONFLICT (session_id, collection) DO UPDATE SET version = excluded.version, hash = excluded.hash"
            ),
            acv_get_many: InList::new(
                &format!("SELECT collection, version, hash FROM {acv} WHERE session_id = ? AND collection IN ({{in}})"),
                1,
                MAX_CHUNK_SINGLE,
            ),
            acv_all: format!("SELECT collection, version, hash FROM {acv} WHERE session_id = ? ORDER BY rowid"),
            acv_clear: delete_all(acv),
            aiv_of_collection: format!(
                "SELECT index_mac_hex, value_mac FROM {aiv} WHERE session_id = ? AND collection = ?"
            ),
            aiv_get_many: InList::new(
                &format!(
                    "SELECT collection, index_mac_hex, value_mac FROM {aiv}
                     WHERE session_id = ? AND collection IN ({{in}}) ORDER BY rowid"
                ),
                1,
                MAX_CHUNK_SINGLE,
            ),
            aiv_all: format!(
                "SELECT collection, index_mac_hex, value_mac FROM {aiv} WHERE session_id = ? ORDER BY rowid"
            ),
            aiv_upsert: format!(
                "INSERT INTO {aiv} (session_id, collection, index_mac_hex, value_mac) VALUES (?, ?, ?, ?)
                 ON CONFLICT (session_id, collection, index_mac_hex) DO UPDATE SET value_mac = excluded.value_mac"
            ),
            aiv_delete_many: InList::new(
                &format!(
                    "DELETE FROM {aiv} WHERE session_id = ? AND collection = ? AND index_mac_hex IN ({{in}})"
                ),
                1,
                MAX_CHUNK_SINGLE,
            ),
            aiv_clear: delete_all(aiv),

            // Rows apply in order, so a later duplicate id wins; padding repeats the last row.
            msg_upsert: InList::new(
                &format!(
                    "INSERT INTO {msg} (session_id, {MSG_COLS}) {{in}}
                     ON CONFLICT (session_id, message_id) DO UPDATE SET
                        thread_jid = excluded.thread_jid, sender_jid = excluded.sender_jid,
                        participant_jid = excluded.participant_jid, from_me = excluded.from_me,
                        timestamp_ms = excluded.timestamp_ms, message_bytes = excluded.message_bytes"
                ),
                8,
                MSG_UPSERT_CHUNK,
            ),
            msg_get: format!("SELECT {MSG_COLS} FROM {msg} WHERE session_id = ? AND message_id = ?"),
            // DESC puts NULL timestamps last in SQLite.
            msg_list: format!(
                "SELECT {MSG_COLS} FROM {msg} WHERE session_id = ? AND thread_jid = ?
                 ORDER BY timestamp_ms DESC, message_id DESC LIMIT ?"
            ),
            msg_list_before: format!(
                "SELECT {MSG_COLS} FROM {msg} WHERE session_id = ? AND thread_jid = ? AND timestamp_ms < ?
                 ORDER BY timestamp_ms DESC, message_id DESC LIMIT ?"
            ),
            msg_page: MessageRanges::new(&question_mark_conditions("message_id < ?"), |range, _| {
                format!(
                    "SELECT {MSG_COLS} FROM {msg} WHERE session_id = ? AND thread_jid = ?{range}
                     ORDER BY timestamp_ms DESC, message_id DESC LIMIT ?"
                )
            }),
            msg_delete_range: MessageRanges::new(&question_mark_conditions("message_id < ?"), |range, _| {
                format!("DELETE FROM {msg} WHERE session_id = ? AND thread_jid = ?{range}")
            }),
            msg_delete: format!("DELETE FROM {msg} WHERE session_id = ? AND message_id = ?"),
            msg_clear: delete_all(msg),

            thr_upsert: format!(
                "INSERT INTO {thr} (session_id, {THR_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (session_id, jid) DO UPDATE SET
                    name = COALESCE(excluded.name, {thr}.name),
                    unread_count = COALESCE(excluded.unread_count, {thr}.unread_count),
                    archived = COALESCE(excluded.archived, {thr}.archived),
                    pinned = COALESCE(excluded.pinned, {thr}.pinned),
                    mute_end_ms = COALESCE(excluded.mute_end_ms, {thr}.mute_end_ms),
                    marked_as_unread = COALESCE(excluded.marked_as_unread, {thr}.marked_as_unread),
                    ephemeral_expiration = COALESCE(excluded.ephemeral_expiration, {thr}.ephemeral_expiration),
                    ephemeral_setting_timestamp =
                        COALESCE(excluded.ephemeral_setting_timestamp, {thr}.ephemeral_setting_timestamp)"
            ),
            thr_get: format!("SELECT {THR_COLS} FROM {thr} WHERE session_id = ? AND jid = ?"),
            thr_list: format!("SELECT {THR_COLS} FROM {thr} WHERE session_id = ? LIMIT ?"),
            thr_delete: format!("DELETE FROM {thr} WHERE session_id = ? AND jid = ?"),
            thr_clear: delete_all(thr),

            con_upsert: format!(
                "INSERT INTO {con} (session_id, {CON_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (session_id, jid) DO UPDATE SET
                    display_name = COALESCE(excluded.display_name, {con}.display_name),
                    push_name = COALESCE(excluded.push_name, {con}.push_name),
                    lid = COALESCE(excluded.lid, {con}.lid),
                    phone_number = COALESCE(excluded.phone_number, {con}.phone_number),
                    username = COALESCE(excluded.username, {con}.username),
                    last_updated_ms = MAX(excluded.last_updated_ms, {con}.last_updated_ms)"
            ),
            con_get: format!("SELECT {CON_COLS} FROM {con} WHERE session_id = ? AND jid = ?"),
            // Several rows may carry one number; prefer the most recently updated.
            con_get_by_phone: format!(
                "SELECT {CON_COLS} FROM {con} WHERE session_id = ? AND phone_number = ?
                 ORDER BY last_updated_ms DESC, rowid DESC LIMIT 1"
            ),
            con_delete: format!("DELETE FROM {con} WHERE session_id = ? AND jid = ?"),
            con_clear: delete_all(con),

            pt_upsert: format!(
                "INSERT INTO {pt} (session_id, {PT_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (session_id, jid) DO UPDATE SET
                    tc_token = COALESCE(excluded.tc_token, {pt}.tc_token),
                    tc_token_timestamp = COALESCE(excluded.tc_token_timestamp, {pt}.tc_token_timestamp),
                    tc_token_sender_timestamp =
                        COALESCE(excluded.tc_token_sender_timestamp, {pt}.tc_token_sender_timestamp),
                    nct_salt = COALESCE(excluded.nct_salt, {pt}.nct_salt),
                    updated_at_ms = excluded.updated_at_ms"
            ),
            pt_get: format!("SELECT {PT_COLS} FROM {pt} WHERE session_id = ? AND jid = ?"),
            pt_delete: format!("DELETE FROM {pt} WHERE session_id = ? AND jid = ?"),
            pt_clear: delete_all(pt),

            ro_upsert: format!(
                "INSERT INTO {ro} (session_id, {RO_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (session_id, message_id) DO UPDATE SET
                    to_jid = excluded.to_jid,
                    eligible_requesters_json = excluded.eligible_requesters_json,
                    delivered_requesters_json = excluded.delivered_requesters_json,
                    replay_mode = excluded.replay_mode, replay_payload = excluded.replay_payload,
                    state = excluded.state, updated_at_ms = excluded.updated_at_ms,
                    expires_at_ms = excluded.expires_at_ms"
            ),
            ro_get: format!("SELECT {RO_COLS} FROM {ro} WHERE session_id = ? AND message_id = ?"),
            ro_delete: format!("DELETE FROM {ro} WHERE session_id = ? AND message_id = ?"),
            ro_update_state: format!(
                "UPDATE {ro} SET state = ?, updated_at_ms = ?, expires_at_ms = ? WHERE session_id = ? AND message_id = ?"
            ),
            // Requester checks run per retry receipt: skip the replay payload.
            ro_get_requesters: format!(
                "SELECT eligible_requesters_json, delivered_requesters_json FROM {ro} WHERE session_id = ? AND message_id = ?"
            ),
            ro_get_delivered: format!(
                "SELECT delivered_requesters_json FROM {ro} WHERE session_id = ? AND message_id = ?"
            ),
            ro_set_delivered: format!(
                "UPDATE {ro} SET delivered_requesters_json = ?, updated_at_ms = ?, expires_at_ms = ?
                 WHERE session_id = ? AND message_id = ?"
            ),
            ro_cleanup: cleanup(ro),
            ro_clear: delete_all(ro),
            // One statement, so concurrent increments never lose a count.
            ri_increment: format!(
                "INSERT INTO {ri} (session_id, message_id, requester_jid, retry_count, updated_at_ms, expires_at_ms)
                 VALUES (?, ?, ?, 1, ?, ?)
                 ON CONFLICT (session_id, message_id, requester_jid) DO UPDATE SET
                    retry_count = CASE WHEN {ri}.expires_at_ms <= excluded.updated_at_ms THEN 1
                                       ELSE {ri}.retry_count + 1 END,
                    updated_at_ms = excluded.updated_at_ms,
                    expires_at_ms = excluded.expires_at_ms
                 RETURNING retry_count"
            ),
            ri_cleanup: cleanup(ri),
            ri_clear: delete_all(ri),

            gm_upsert: format!(
                "INSERT INTO {gm} (session_id, {GM_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (session_id, group_jid) DO UPDATE SET
                    participants_json = excluded.participants_json, ephemeral = excluded.ephemeral,
                    ephemeral_trigger = excluded.ephemeral_trigger, updated_at_ms = excluded.updated_at_ms,
                    expires_at_ms = excluded.expires_at_ms"
            ),
            gm_get: format!("SELECT {GM_COLS} FROM {gm} WHERE session_id = ? AND group_jid = ?"),
            // The expiry guard keeps a concurrent refresh alive.
            gm_delete_expired: format!(
                "DELETE FROM {gm} WHERE session_id = ? AND group_jid = ? AND expires_at_ms <= ?"
            ),
            gm_delete: format!("DELETE FROM {gm} WHERE session_id = ? AND group_jid = ?"),
            gm_cleanup: cleanup(gm),
            gm_clear: delete_all(gm),

            cm_upsert: format!(
                "INSERT INTO {cm} (session_id, {CM_COLS}) VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT (session_id, chat_jid) DO UPDATE SET
                    ephemeral_expiration = excluded.ephemeral_expiration,
                    ephemeral_setting_timestamp = excluded.ephemeral_setting_timestamp,
                    updated_at_ms = excluded.updated_at_ms, expires_at_ms = excluded.expires_at_ms"
            ),
            cm_get: format!("SELECT {CM_COLS} FROM {cm} WHERE session_id = ? AND chat_jid = ?"),
            cm_delete_expired: format!(
                "DELETE FROM {cm} WHERE session_id = ? AND chat_jid = ? AND expires_at_ms <= ?"
            ),
            cm_delete: format!("DELETE FROM {cm} WHERE session_id = ? AND chat_jid = ?"),
            cm_cleanup: cleanup(cm),
            cm_clear: delete_all(cm),

            dl_upsert: format!(
                "INSERT INTO {dl} (session_id, {DL_COLS}) VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT (session_id, user_jid) DO UPDATE SET
                    alt_user_jid = excluded.alt_user_jid, device_jids_json = excluded.device_jids_json,
                    updated_at_ms = excluded.updated_at_ms, expires_at_ms = excluded.expires_at_ms"
            ),
            dl_get: format!("SELECT {DL_COLS} FROM {dl} WHERE session_id = ? AND user_jid = ?"),
            dl_get_many: InList::new(
                &format!("SELECT {DL_COLS} FROM {dl} WHERE session_id = ? AND user_jid IN ({{in}})"),
                1,
                MAX_CHUNK_SINGLE,
            ),
            // The latest snapshot naming this alt jid wins (as the memory store's alt index).
            dl_find_alt: format!(
                "SELECT {DL_COLS} FROM {dl} WHERE session_id = ? AND alt_user_jid = ?
                 ORDER BY updated_at_ms DESC, rowid DESC LIMIT 1"
            ),
            dl_delete_expired: format!(
                "DELETE FROM {dl} WHERE session_id = ? AND user_jid = ? AND expires_at_ms <= ?"
            ),
            dl_delete_expired_many: InList::new(
                // `+expires_at_ms`: look rows up by key, not by scanning every expired row.
                &format!("DELETE FROM {dl} WHERE session_id = ? AND +expires_at_ms <= ? AND user_jid IN ({{in}})"),
                1,
                MAX_CHUNK_SINGLE,
            ),
            dl_delete: format!("DELETE FROM {dl} WHERE session_id = ? AND user_jid = ?"),
            dl_cleanup: cleanup(dl),
            dl_clear: delete_all(dl),

            ms_upsert: format!(
                "INSERT INTO {ms} (session_id, message_id, secret, sender_jid, expires_at_ms) VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT (session_id, message_id) DO UPDATE SET
                    secret = excluded.secret, sender_jid = excluded.sender_jid, expires_at_ms = excluded.expires_at_ms"
            ),
            ms_get_many: InList::new(
                &format!(
                    "SELECT message_id, secret, sender_jid, expires_at_ms FROM {ms}
                     WHERE session_id = ? AND message_id IN ({{in}})"
                ),
                1,
                MAX_CHUNK_SINGLE,
            ),
            ms_delete_expired_many: InList::new(
                &format!("DELETE FROM {ms} WHERE session_id = ? AND +expires_at_ms <= ? AND message_id IN ({{in}})"),
                1,
                MAX_CHUNK_SINGLE,
            ),
            ms_cleanup: cleanup(ms),
            ms_clear: delete_all(ms),

            keys_get_many: InList::new(
                &format!("SELECT key_id, value FROM {keys} WHERE session_id = ? AND key_type = ? AND key_id IN ({{in}})"),
                1,
                MAX_CHUNK_SINGLE,
            ),
            keys_upsert: format!(
                "INSERT INTO {keys} (session_id, key_type, key_id, value) VALUES (?, ?, ?, ?)
                 ON CONFLICT (session_id, key_type, key_id) DO UPDATE SET value = excluded.value"
            ),
            keys_delete: format!("DELETE FROM {keys} WHERE session_id = ? AND key_type = ? AND key_id = ?"),
            // `?3 IS NULL`: the first page has no cursor.
            keys_list: format!(
                "SELECT key_id, value FROM {keys} WHERE session_id = ?1 AND key_type = ?2
                   AND (?3 IS NULL OR key_id > ?3) ORDER BY key_id LIMIT ?4"
            ),
            keys_list_ids: format!(
                "SELECT key_id FROM {keys} WHERE session_id = ?1 AND key_type = ?2
                   AND (?3 IS NULL OR key_id > ?3) ORDER BY key_id LIMIT ?4"
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
    fn in_lists_round_up_to_powers_of_two() {
        let list = InList::new("SELECT 1 WHERE x IN ({in})", 1, 8);
        assert_eq!(list.for_len(1), ("SELECT 1 WHERE x IN (?)", 1));
        assert_eq!(list.for_len(3).1, 4);
        assert_eq!(list.for_len(3).0.matches('?').count(), 4);
        assert_eq!(list.for_len(8).1, 8);
        let triples = InList::new("({in})", 3, 4);
        assert_eq!(triples.for_len(2).0, "(VALUES (?, ?, ?), (?, ?, ?))");
    }

    #[test]
    fn custom_table_names_reach_every_statement() {
        let names = TableNames { signal_session: "custom_sessions".into(), ..Default::default() };
        let sql = Sql::new(&names);
        assert!(sql.sess_upsert.contains("custom_sessions"));
        assert!(sql.sess_get_many.for_len(5).0.contains("custom_sessions"));
        assert!(!sql.sess_clear.contains("signal_session"));
    }
}
