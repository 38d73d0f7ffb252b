//! Every statement, built once per backend from the prefixed table names.
//! Table names come from the validated prefix; every value is a bound `$n`
//! (`$1` is always the session id). Batches travel as arrays and are
//! expanded server-side with `unnest(...)`, so a batch is one round trip.

use crate::domain::snapshot::RecordKind;
use crate::backend::message_ranges::{MessageRanges, RangeConditions};

/// Page range conditions: binds from `$3`; ids are `COLLATE "C"`, so `<` is byte order.
fn page_conditions() -> RangeConditions {
    RangeConditions {
        timed: " AND timestamp_ms < $3".to_owned(),
        timed_below: " AND timestamp_ms <= $3 AND (timestamp_ms < $3 OR message_id < $4)".to_owned(),
        timestamp_twice: false,
        untimed: " AND timestamp_ms IS NULL".to_owned(),
        untimed_below: " AND timestamp_ms IS NULL AND message_id < $3".to_owned(),
    }
}

/// The SQL name of every table: the configured prefix + the logical name.
#[derive(Debug, Clone)]
pub struct Tables {
    pub prefix: String,
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
}

impl Tables {
    pub fn new(prefix: &str) -> Self {
        let t = |name: &str| format!("{prefix}{name}");
        Self {
            prefix: prefix.to_owned(),
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
        }
    }

    /// Every table, the migrations table last.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn all(&self) -> Vec<&str> {
        vec![
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

    /// The tables whose rows carry `expires_at_ms`.
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

pub struct Sql {
    pub auth_load: String,
    pub auth_save: String,
    pub auth_clear: String,

    pub meta_get: String,
    pub meta_get_for_update: String,
    pub meta_ensure: String,
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
    pub pk_insert_missing: String,
    pub pk_get: String,
    pub pk_get_many: String,
    pub pk_consume: String,
    pub pk_available: String,
    pub pk_mark_uploaded: String,
    pub pk_clear: String,

    pub sess_has_many: String,
    pub sess_get_many: String,
    pub sess_upsert: String,
    pub sess_delete: String,
    pub sess_clear: String,
    pub ident_get_many: String,
    pub ident_upsert: String,
    pub ident_clear: String,

    pub sk_upsert: String,
    pub sk_list_group: String,
    pub sk_get: String,
    pub sk_delete_in_group: String,
    pub sk_delete_everywhere: String,
    pub sk_forget_many: String,
    pub sk_clear: String,
    pub skd_upsert: String,
    pub skd_list_group: String,
    pub skd_get_many: String,
    pub skd_clear: String,

    pub ask_upsert: String,
    pub ask_get_many: String,
    pub ask_active: String,
    pub ask_all: String,
    pub ask_clear: String,
    pub acv_upsert: String,
    pub acv_get_many: String,
    pub acv_all: String,
    pub acv_clear: String,
    pub aiv_get_many: String,
    pub aiv_all: String,
    pub aiv_upsert_many: String,
    pub aiv_delete_others: String,
    pub aiv_clear: String,

    pub msg_upsert: String,
    pub msg_get: String,
    pub msg_list: String,
    pub msg_list_before: String,
    /// Keyset page ranges ([`crate::domain::messages::PageRange`]): select, then delete.
    pub msg_page: MessageRanges,
    pub msg_delete_range: MessageRanges,
    pub msg_delete: String,
    pub msg_clear: String,

    pub thr_upsert: String,
    pub thr_get: String,
    pub thr_list: String,
    pub thr_delete: String,
    pub thr_clear: String,

    pub con_upsert: String,
    pub con_get: String,
    pub con_get_by_phone: String,
    pub con_delete: String,
    pub con_clear: String,

    pub pt_upsert: String,
    pub pt_get: String,
    pub pt_delete: String,
    pub pt_clear: String,

    pub ro_upsert: String,
    pub ro_get: String,
    pub ro_delete: String,
    pub ro_update_state: String,
    pub ro_get_requesters: String,
    pub ro_get_delivered_for_update: String,
    pub ro_set_delivered: String,
    pub ro_cleanup: String,
    pub ro_clear: String,
    pub ri_increment: String,
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

    pub dl_upsert: String,
    pub dl_get: String,
    pub dl_get_many: String,
    pub dl_find_alt: String,
    pub dl_delete_expired: String,
    pub dl_delete_expired_many: String,
    pub dl_delete: String,
    pub dl_cleanup: String,
    pub dl_clear: String,

    pub ms_upsert: String,
    pub ms_get_many: String,
    pub ms_delete_expired_many: String,
    pub ms_cleanup: String,
    pub ms_clear: String,

    /// `DELETE … WHERE expires_at_ms <= $1` on every cache table, every session.
    pub cache_cleanup_all: Vec<String>,

    pub keys_get_many: String,
    pub keys_list: String,
    pub keys_list_ids: String,
    pub keys_types: String,
    pub keys_clear: String,
    // Group commit: multi-session statements, `$1` is an array of session ids.
    pub keys_upsert: String,
    pub keys_delete: String,
    pub batch_sess_upsert: String,
    pub batch_sess_delete: String,
    pub batch_ident_upsert: String,
    pub batch_sk_upsert: String,

    pub snap: SnapshotSql,
}

/// Statements of the snapshot API (`snapshot.rs`). Text keys compare and
/// sort `COLLATE "C"` (byte order, whatever the database's locale).
pub struct SnapshotSql {
    /// One page query per [`RecordKind`] (indexed by `kind as usize`): `$1`
    /// the session, then one parameter per key part (all NULL for the first
    /// page), then the limit.
    pub pages: Vec<String>,
    /// `kind, n, bytes` rows for every kind of one session (`$1`).
    pub counts: String,
    /// Session ids greater than `$1` (byte order), at most `$2`.
    pub sessions: String,
    pub ri_put: String,
}

/// What each record kind is read from: columns, table, key columns with
/// their types, extra filter, and the payload-bytes expression of `stats`.
struct KindSource<'a> {
    cols: &'a str,
    table: &'a str,
    keys: &'a [(&'a str, &'a str)],
    filter: &'a str,
    bytes: String,
}

/// A meta row that holds only defaults exports nothing (as a fresh session reads).
const META_SET: &str =
    " AND (next_prekey_id <> 1 OR server_has_prekeys OR signed_prekey_rotation_ts IS NOT NULL)";

fn key_expr(col: &str, ty: &str) -> String {
    if ty == "text" {
        format!("{col} COLLATE \"C\"")
    } else {
        col.to_owned()
    }
}

fn keyset_page(s: &KindSource<'_>) -> String {
    let n = s.keys.len();
    if n == 0 {
        return format!("SELECT {} FROM {} WHERE session_id = $1{} LIMIT $2", s.cols, s.table, s.filter);
    }
    let cols: Vec<String> = s.keys.iter().map(|(c, ty)| key_expr(c, ty)).collect();
    let params: Vec<String> = s.keys.iter().enumerate().map(|(i, (_, ty))| format!("${}::{ty}", i + 2)).collect();
    let cond = if n == 1 {
        format!("{} IS NULL OR {} > {}", params[0], cols[0], params[0])
    } else {
        format!("{} IS NULL OR ({}) > ({})", params[0], cols.join(", "), params.join(", "))
    };
    format!(
        "SELECT {} FROM {} WHERE session_id = $1{} AND ({cond}) ORDER BY {} LIMIT ${}",
        s.cols,
        s.table,
        s.filter,
        cols.join(", "),
        n + 2
    )
}

fn len_sum(cols: &[&str]) -> String {
    let parts: Vec<String> = cols.iter().map(|c| format!("COALESCE(octet_length({c}), 0)")).collect();
    format!("COALESCE(SUM({}), 0)::int8", parts.join(" + "))
}

const T: &str = "text";
const I: &str = "int8";
const B: &str = "bytea";

impl SnapshotSql {
    fn new(t: &Tables) -> Self {
        let none = "0::int8".to_owned();
        let address = [("addr_user", T), ("addr_server", T), ("addr_device", I)];
        let sender = [("group_id", T), ("sender_user", T), ("sender_server", T), ("sender_device", I)];
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
                    &[("key_id", I)],
                    len_sum(&["pub_key", "priv_key"]),
                ),
                RecordKind::Session => {
                    src("addr_user, addr_server, addr_device, record", &t.signal_session, &address, len_sum(&["record"]))
                }
                RecordKind::Identity => src(
                    "addr_user, addr_server, addr_device, identity_key",
                    &t.signal_identity,
                    &address,
                    len_sum(&["identity_key"]),
                ),
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
                    "key_id, key_data, key_timestamp, fingerprint",
                    &t.appstate_sync_keys,
                    &[("key_id", B)],
                    len_sum(&["key_data", "fingerprint"]),
                ),
                RecordKind::AppStateCollection => src(
                    "collection, version, hash",
                    &t.appstate_collection_versions,
                    &[("collection", T)],
                    format!(
                        "{} + (SELECT {} FROM {} WHERE session_id = $1)",
                        len_sum(&["hash"]),
                        len_sum(&["value_mac"]),
                        t.appstate_collection_index_values
                    ),
                ),
                RecordKind::PrivacyToken => src(
                    "jid, tc_token, tc_token_timestamp, tc_token_sender_timestamp, nct_salt, updated_at_ms",
                    &t.privacy_tokens,
                    &[("jid", T)],
                    len_sum(&["tc_token", "nct_salt"]),
                ),
                RecordKind::Message => src(
                    "message_id, thread_jid, sender_jid, participant_jid, from_me, timestamp_ms, message_bytes",
                    &t.messages,
                    &[("message_id", T)],
                    len_sum(&["message_bytes"]),
                ),
                RecordKind::Thread => src(
                    "jid, name, unread_count, archived, pinned, mute_end_ms, marked_as_unread, \
                     ephemeral_expiration, ephemeral_setting_timestamp",
                    &t.threads,
                    &[("jid", T)],
                    none.clone(),
                ),
                RecordKind::Contact => src(
                    "jid, display_name, push_name, lid, phone_number, username, last_updated_ms",
                    &t.contacts,
                    &[("jid", T)],
                    none.clone(),
                ),
                RecordKind::Key => src(
                    "key_type, key_id, value",
                    &t.adapter_keys,
                    &[("key_type", B), ("key_id", B)],
                    len_sum(&["value"]),
                ),
                RecordKind::RetryOutbound => src(
                    "message_id, to_jid, eligible_requesters_json, delivered_requesters_json, replay_mode, \
                     replay_payload, state, updated_at_ms, expires_at_ms",
                    &t.retry_outbound,
                    &[("message_id", T)],
                    len_sum(&["replay_payload"]),
                ),
                RecordKind::RetryInbound => src(
                    "message_id, requester_jid, retry_count, updated_at_ms, expires_at_ms",
                    &t.retry_inbound,
                    &[("message_id", T), ("requester_jid", T)],
                    none.clone(),
                ),
                RecordKind::GroupMetadata => src(
                    "group_jid, participants_json, ephemeral, ephemeral_trigger, updated_at_ms, expires_at_ms",
                    &t.group_metadata,
                    &[("group_jid", T)],
                    none.clone(),
                ),
                RecordKind::ChatMetadata => src(
                    "chat_jid, ephemeral_expiration, ephemeral_setting_timestamp, updated_at_ms, expires_at_ms",
                    &t.chat_metadata,
                    &[("chat_jid", T)],
                    none.clone(),
                ),
                RecordKind::DeviceList => src(
                    "user_jid, alt_user_jid, device_jids_json, updated_at_ms, expires_at_ms",
                    &t.device_list,
                    &[("user_jid", T)],
                    none.clone(),
                ),
                RecordKind::MessageSecret => src(
                    "message_id, secret, sender_jid, expires_at_ms",
                    &t.message_secrets,
                    &[("message_id", T)],
                    len_sum(&["secret"]),
                ),
            })
            .collect();
        let counts: Vec<String> = RecordKind::ALL
            .iter()
            .zip(&sources)
            .map(|(kind, s)| {
                format!(
                    "SELECT '{}'::text AS kind, COUNT(*)::int8 AS n, {} AS bytes FROM {} WHERE session_id = $1{}",
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
        let branches: Vec<String> = tables
            .iter()
            .map(|(table, filter)| {
                format!(
                    "(SELECT DISTINCT session_id COLLATE \"C\" AS session_id FROM {table}
                      WHERE session_id COLLATE \"C\" > $1{filter} ORDER BY 1 LIMIT $2)"
                )
            })
            .collect();
        Self {
            pages: sources.iter().map(keyset_page).collect(),
            counts: counts.join("\nUNION ALL "),
            sessions: format!("SELECT session_id FROM ({}) AS s ORDER BY 1 LIMIT $2", branches.join("\nUNION ")),
            ri_put: format!(
                "INSERT INTO {} AS t (session_id, message_id, requester_jid, retry_count, updated_at_ms, expires_at_ms)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (session_id, message_id, requester_jid) DO UPDATE SET
                    retry_count = EXCLUDED.retry_count, updated_at_ms = EXCLUDED.updated_at_ms,
                    expires_at_ms = EXCLUDED.expires_at_ms",
                t.retry_inbound
            ),
        }
    }

    pub fn page(&self, kind: RecordKind) -> &str {
        &self.pages[kind as usize]
    }
}

fn delete_all(table: &str) -> String {
    format!("DELETE FROM {table} WHERE session_id = $1")
}

fn cleanup(table: &str) -> String {
    format!("DELETE FROM {table} WHERE session_id = $1 AND expires_at_ms <= $2")
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
        const SKD_COLS: &str = "group_id, sender_user, sender_server, sender_device, key_id, timestamp_ms";
        const ASK_COLS: &str = "key_id, key_data, key_timestamp, fingerprint";
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
        const ADDR: &str = "addr_user = $2 AND addr_server = $3 AND addr_device = $4";
        // Positional batch of addresses: one output row per input, in input order.
        const ADDR_INPUT: &str =
            "unnest($2::text[], $3::text[], $4::int8[]) WITH ORDINALITY AS u(addr_user, addr_server, addr_device, ord)";

        Self {
            auth_load: format!("SELECT credentials FROM {} WHERE session_id = $1", t.auth),
            auth_save: format!(
                "INSERT INTO {0} AS t (session_id, credentials, updated_at_ms) VALUES ($1, $2, $3)
                 ON CONFLICT (session_id) DO UPDATE SET
                    credentials = EXCLUDED.credentials, updated_at_ms = EXCLUDED.updated_at_ms",
                t.auth
            ),
            auth_clear: delete_all(&t.auth),

            meta_get: format!(
                "SELECT next_prekey_id, server_has_prekeys, signed_prekey_rotation_ts FROM {meta} WHERE session_id = $1"
            ),
            meta_get_for_update: format!(
                "SELECT next_prekey_id, server_has_prekeys, signed_prekey_rotation_ts FROM {meta}
                 WHERE session_id = $1 FOR UPDATE"
            ),
            meta_ensure: format!("INSERT INTO {meta} (session_id) VALUES ($1) ON CONFLICT (session_id) DO NOTHING"),
            meta_raise_next: format!(
                "INSERT INTO {meta} AS t (session_id, next_prekey_id) VALUES ($1, $2)
                 ON CONFLICT (session_id) DO UPDATE SET
                    next_prekey_id = GREATEST(t.next_prekey_id, EXCLUDED.next_prekey_id)"
            ),
            meta_set_server_has: format!(
                "INSERT INTO {meta} AS t (session_id, server_has_prekeys) VALUES ($1, $2)
                 ON CONFLICT (session_id) DO UPDATE SET server_has_prekeys = EXCLUDED.server_has_prekeys"
            ),
            meta_set_rotation: format!(
                "INSERT INTO {meta} AS t (session_id, signed_prekey_rotation_ts) VALUES ($1, $2)
                 ON CONFLICT (session_id) DO UPDATE SET signed_prekey_rotation_ts = EXCLUDED.signed_prekey_rotation_ts"
            ),
            meta_reset_prekeys: format!(
                "UPDATE {meta} SET next_prekey_id = 1, server_has_prekeys = FALSE WHERE session_id = $1"
            ),
            meta_clear_rotation: format!("UPDATE {meta} SET signed_prekey_rotation_ts = NULL WHERE session_id = $1"),

            reg_get: format!(
                "SELECT registration_id, identity_pub_key, identity_priv_key FROM {} WHERE session_id = $1",
                t.signal_registration
            ),
            reg_set: format!(
                "INSERT INTO {0} AS t (session_id, registration_id, identity_pub_key, identity_priv_key)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (session_id) DO UPDATE SET
                    registration_id = EXCLUDED.registration_id,
                    identity_pub_key = EXCLUDED.identity_pub_key,
                    identity_priv_key = EXCLUDED.identity_priv_key",
                t.signal_registration
            ),
            reg_clear: delete_all(&t.signal_registration),
            spk_get: format!(
                "SELECT key_id, pub_key, priv_key, signature, uploaded FROM {} WHERE session_id = $1",
                t.signal_signed_prekey
            ),
            spk_get_by_id: format!(
                "SELECT key_id, pub_key, priv_key, signature, uploaded FROM {} WHERE session_id = $1 AND key_id = $2",
                t.signal_signed_prekey
            ),
            spk_set: format!(
                "INSERT INTO {0} AS t (session_id, key_id, pub_key, priv_key, signature, uploaded)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (session_id) DO UPDATE SET
                    key_id = EXCLUDED.key_id, pub_key = EXCLUDED.pub_key, priv_key = EXCLUDED.priv_key,
                    signature = EXCLUDED.signature, uploaded = EXCLUDED.uploaded",
                t.signal_signed_prekey
            ),
            spk_clear: delete_all(&t.signal_signed_prekey),

            pk_upsert: format!(
                "INSERT INTO {pk} AS t (session_id, key_id, pub_key, priv_key, uploaded) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (session_id, key_id) DO UPDATE SET
                    pub_key = EXCLUDED.pub_key, priv_key = EXCLUDED.priv_key, uploaded = EXCLUDED.uploaded"
            ),
            // Generated keys never overwrite a stored id (zapo PR #147).
            pk_insert_missing: format!(
                "INSERT INTO {pk} (session_id, key_id, pub_key, priv_key, uploaded)
                 SELECT $1, * FROM unnest($2::int8[], $3::bytea[], $4::bytea[], $5::bool[])
                 ON CONFLICT (session_id, key_id) DO NOTHING"
            ),
            pk_get: format!("SELECT {PK_COLS} FROM {pk} WHERE session_id = $1 AND key_id = $2"),
            pk_get_many: format!(
                "SELECT p.key_id, p.pub_key, p.priv_key, p.uploaded
                 FROM unnest($2::int8[]) WITH ORDINALITY AS u(key_id, ord)
                 LEFT JOIN {pk} p ON p.session_id = $1 AND p.key_id = u.key_id
                 ORDER BY u.ord"
            ),
            pk_consume: format!("DELETE FROM {pk} WHERE session_id = $1 AND key_id = $2 RETURNING {PK_COLS}"),
            // `uploaded IS NOT TRUE` matches the partial index's predicate exactly.
            pk_available: format!(
                "SELECT {PK_COLS} FROM {pk} WHERE session_id = $1 AND uploaded IS NOT TRUE ORDER BY key_id ASC LIMIT $2"
            ),
            pk_mark_uploaded: format!("UPDATE {pk} SET uploaded = TRUE WHERE session_id = $1 AND key_id <= $2"),
            pk_clear: delete_all(pk),

            sess_has_many: format!(
                "SELECT (s.session_id IS NOT NULL) AS hit FROM {ADDR_INPUT}
                 LEFT JOIN {sess} s ON s.session_id = $1 AND s.addr_user = u.addr_user
                    AND s.addr_server = u.addr_server AND s.addr_device = u.addr_device
                 ORDER BY u.ord"
            ),
            sess_get_many: format!(
                "SELECT s.record FROM {ADDR_INPUT}
                 LEFT JOIN {sess} s ON s.session_id = $1 AND s.addr_user = u.addr_user
                    AND s.addr_server = u.addr_server AND s.addr_device = u.addr_device
                 ORDER BY u.ord"
            ),
            sess_upsert: format!(
                "INSERT INTO {sess} AS t (session_id, addr_user, addr_server, addr_device, record)
                 SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int8[], $5::bytea[])
                 ON CONFLICT (session_id, addr_user, addr_server, addr_device) DO UPDATE SET record = EXCLUDED.record"
            ),
            sess_delete: format!("DELETE FROM {sess} WHERE session_id = $1 AND {ADDR}"),
            sess_clear: delete_all(sess),
            ident_get_many: format!(
                "SELECT i.identity_key FROM {ADDR_INPUT}
                 LEFT JOIN {ident} i ON i.session_id = $1 AND i.addr_user = u.addr_user
                    AND i.addr_server = u.addr_server AND i.addr_device = u.addr_device
                 ORDER BY u.ord"
            ),
            ident_upsert: format!(
                "INSERT INTO {ident} AS t (session_id, addr_user, addr_server, addr_device, identity_key)
                 SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int8[], $5::bytea[])
                 ON CONFLICT (session_id, addr_user, addr_server, addr_device)
                 DO UPDATE SET identity_key = EXCLUDED.identity_key"
            ),
            ident_clear: delete_all(ident),

            sk_upsert: format!(
                "INSERT INTO {sk} AS t (session_id, group_id, sender_user, sender_server, sender_device, record)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (session_id, group_id, sender_user, sender_server, sender_device)
                 DO UPDATE SET record = EXCLUDED.record"
            ),
            // seq order = first-insert order, like the memory store's map.
            sk_list_group: format!(
                "SELECT group_id, sender_user, sender_server, sender_device, record FROM {sk}
                 WHERE session_id = $1 AND group_id = $2 ORDER BY seq"
            ),
            sk_get: format!(
                "SELECT group_id, sender_user, sender_server, sender_device, record FROM {sk}
                 WHERE session_id = $1 AND group_id = $2
                   AND sender_user = $3 AND sender_server = $4 AND sender_device = $5"
            ),
            // Keys and distributions go together, in one statement.
            sk_delete_in_group: format!(
                "WITH a AS (DELETE FROM {sk} WHERE session_id = $1 AND group_id = $2
                              AND sender_user = $3 AND sender_server = $4 AND sender_device = $5 RETURNING 1),
                      b AS (DELETE FROM {skd} WHERE session_id = $1 AND group_id = $2
                              AND sender_user = $3 AND sender_server = $4 AND sender_device = $5 RETURNING 1)
                 SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b) AS deleted"
            ),
            sk_delete_everywhere: format!(
                "WITH a AS (DELETE FROM {sk} WHERE session_id = $1
                              AND sender_user = $2 AND sender_server = $3 AND sender_device = $4 RETURNING 1),
                      b AS (DELETE FROM {skd} WHERE session_id = $1
                              AND sender_user = $2 AND sender_server = $3 AND sender_device = $4 RETURNING 1)
                 SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b) AS deleted"
            ),
            sk_forget_many: format!(
                "WITH u AS (SELECT * FROM unnest($3::text[], $4::text[], $5::int8[]) AS u(a_user, a_server, a_device)),
                      a AS (DELETE FROM {sk} k USING u WHERE k.session_id = $1 AND k.group_id = $2
                              AND k.sender_user = u.a_user AND k.sender_server = u.a_server
                              AND k.sender_device = u.a_device RETURNING 1),
                      b AS (DELETE FROM {skd} d USING u WHERE d.session_id = $1 AND d.group_id = $2
                              AND d.sender_user = u.a_user AND d.sender_server = u.a_server
                              AND d.sender_device = u.a_device RETURNING 1)
                 SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b) AS deleted"
            ),
            sk_clear: delete_all(sk),
            skd_upsert: format!(
                "INSERT INTO {skd} AS t (session_id, group_id, sender_user, sender_server, sender_device, key_id, timestamp_ms)
                 SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::int8[], $6::int8[], $7::int8[])
                 ON CONFLICT (session_id, group_id, sender_user, sender_server, sender_device)
                 DO UPDATE SET key_id = EXCLUDED.key_id, timestamp_ms = EXCLUDED.timestamp_ms"
            ),
            skd_list_group: format!("SELECT {SKD_COLS} FROM {skd} WHERE session_id = $1 AND group_id = $2 ORDER BY seq"),
            skd_get_many: format!(
                "SELECT d.group_id, d.sender_user, d.sender_server, d.sender_device, d.key_id, d.timestamp_ms
                 FROM unnest($3::text[], $4::text[], $5::int8[]) WITH ORDINALITY AS u(a_user, a_server, a_device, ord)
                 LEFT JOIN {skd} d ON d.session_id = $1 AND d.group_id = $2 AND d.sender_user = u.a_user
                    AND d.sender_server = u.a_server AND d.sender_device = u.a_device
                 ORDER BY u.ord"
            ),
            skd_clear: delete_all(skd),

            // The WHERE makes an unchanged key_data a no-op (0 rows changed),
            // which is how upsert_sync_keys counts inserted-or-changed keys.
            ask_upsert: format!(
                "INSERT INTO {ask} AS t (session_id, key_id, key_data, key_timestamp, fingerprint, key_epoch, key_device)
                 SELECT $1, u.key_id, u.key_data, u.key_timestamp, u.fingerprint, u.key_epoch, u.key_device
                 FROM unnest($2::bytea[], $3::bytea[], $4::int8[], $5::bytea[], $6::int8[], $7::int8[])
                    WITH ORDINALITY AS u(key_id, key_data, key_timestamp, fingerprint, key_epoch, key_device, ord)
                 ORDER BY ord
                 ON CONFLICT (session_id, key_id) DO UPDATE SET
                    key_data = EXCLUDED.key_data, key_timestamp = EXCLUDED.key_timestamp,
                    fingerprint = EXCLUDED.fingerprint, key_epoch = EXCLUDED.key_epoch,
                    key_device = EXCLUDED.key_device
                 WHERE t.key_data IS DISTINCT FROM EXCLUDED.key_data"
            ),
            ask_get_many: format!(
                "SELECT k.key_id, k.key_data, k.key_timestamp, k.fingerprint
                 FROM unnest($2::bytea[]) WITH ORDINALITY AS u(key_id, ord)
                 LEFT JOIN {ask} k ON k.session_id = $1 AND k.key_id = u.key_id
                 ORDER BY u.ord"
            ),
            // Highest epoch, then lowest device id, then first inserted (pickActiveSyncKey).
            ask_active: format!(
                "SELECT {ASK_COLS} FROM {ask} WHERE session_id = $1
                 ORDER BY key_epoch DESC, key_device ASC NULLS FIRST, seq ASC LIMIT 1"
            ),
            ask_all: format!("SELECT {ASK_COLS} FROM {ask} WHERE session_id = $1 ORDER BY seq"),
            ask_clear: delete_all(ask),
            acv_upsert: format!(
                "INSERT INTO {acv} AS t (session_id, collection, version, hash) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (session_id, collection) DO UPDATE SET version = EXCLUDED.version, hash = EXCLUDED.hash"
            ),
            acv_get_many: format!(
                "SELECT collection, version, hash FROM {acv} WHERE session_id = $1 AND collection = ANY($2::text[])"
            ),
            acv_all: format!("SELECT collection, version, hash FROM {acv} WHERE session_id = $1 ORDER BY seq"),
            acv_clear: delete_all(acv),
            aiv_get_many: format!(
                "SELECT collection, index_mac_hex, value_mac FROM {aiv}
                 WHERE session_id = $1 AND collection = ANY($2::text[]) ORDER BY seq"
            ),
            aiv_all: format!(
                "SELECT collection, index_mac_hex, value_mac FROM {aiv} WHERE session_id = $1 ORDER BY seq"
            ),
            // Only new or changed entries are written; unchanged rows stay untouched.
            aiv_upsert_many: format!(
                "INSERT INTO {aiv} AS t (session_id, collection, index_mac_hex, value_mac)
                 SELECT $1, $2, u.index_mac_hex, u.value_mac
                 FROM unnest($3::text[], $4::bytea[]) WITH ORDINALITY AS u(index_mac_hex, value_mac, ord)
                 ORDER BY u.ord
                 ON CONFLICT (session_id, collection, index_mac_hex) DO UPDATE SET value_mac = EXCLUDED.value_mac
                 WHERE t.value_mac IS DISTINCT FROM EXCLUDED.value_mac"
            ),
            aiv_delete_others: format!(
                "DELETE FROM {aiv} WHERE session_id = $1 AND collection = $2
                   AND NOT (index_mac_hex = ANY($3::text[]))"
            ),
            aiv_clear: delete_all(aiv),

            msg_upsert: format!(
                "INSERT INTO {msg} AS t (session_id, {MSG_COLS})
                 SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bool[], $7::int8[], $8::bytea[])
                 ON CONFLICT (session_id, message_id) DO UPDATE SET
                    thread_jid = EXCLUDED.thread_jid, sender_jid = EXCLUDED.sender_jid,
                    participant_jid = EXCLUDED.participant_jid, from_me = EXCLUDED.from_me,
                    timestamp_ms = EXCLUDED.timestamp_ms, message_bytes = EXCLUDED.message_bytes"
            ),
            msg_get: format!("SELECT {MSG_COLS} FROM {msg} WHERE session_id = $1 AND message_id = $2"),
            // Matches the by-thread index exactly (NULL timestamps last).
            msg_list: format!(
                "SELECT {MSG_COLS} FROM {msg} WHERE session_id = $1 AND thread_jid = $2
                 ORDER BY timestamp_ms DESC NULLS LAST, message_id DESC LIMIT $3"
            ),
            msg_list_before: format!(
                "SELECT {MSG_COLS} FROM {msg} WHERE session_id = $1 AND thread_jid = $2 AND timestamp_ms < $3
                 ORDER BY timestamp_ms DESC NULLS LAST, message_id DESC LIMIT $4"
            ),
            msg_page: MessageRanges::new(&page_conditions(), |range, binds| {
                format!(
                    "SELECT {MSG_COLS} FROM {msg} WHERE session_id = $1 AND thread_jid = $2{range}
                     ORDER BY timestamp_ms DESC NULLS LAST, message_id DESC LIMIT ${}",
                    binds + 3
                )
            }),
            msg_delete_range: MessageRanges::new(&page_conditions(), |range, _| {
                format!("DELETE FROM {msg} WHERE session_id = $1 AND thread_jid = $2{range}")
            }),
            msg_delete: format!("DELETE FROM {msg} WHERE session_id = $1 AND message_id = $2"),
            msg_clear: delete_all(msg),

            thr_upsert: format!(
                "INSERT INTO {thr} AS t (session_id, {THR_COLS})
                 SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int8[], $5::bool[], $6::int8[], $7::int8[],
                                          $8::bool[], $9::int8[], $10::int8[])
                 ON CONFLICT (session_id, jid) DO UPDATE SET
                    name = COALESCE(EXCLUDED.name, t.name),
                    unread_count = COALESCE(EXCLUDED.unread_count, t.unread_count),
                    archived = COALESCE(EXCLUDED.archived, t.archived),
                    pinned = COALESCE(EXCLUDED.pinned, t.pinned),
                    mute_end_ms = COALESCE(EXCLUDED.mute_end_ms, t.mute_end_ms),
                    marked_as_unread = COALESCE(EXCLUDED.marked_as_unread, t.marked_as_unread),
                    ephemeral_expiration = COALESCE(EXCLUDED.ephemeral_expiration, t.ephemeral_expiration),
                    ephemeral_setting_timestamp =
                        COALESCE(EXCLUDED.ephemeral_setting_timestamp, t.ephemeral_setting_timestamp)"
            ),
            thr_get: format!("SELECT {THR_COLS} FROM {thr} WHERE session_id = $1 AND jid = $2"),
            thr_list: format!("SELECT {THR_COLS} FROM {thr} WHERE session_id = $1 LIMIT $2"),
            thr_delete: format!("DELETE FROM {thr} WHERE session_id = $1 AND jid = $2"),
            thr_clear: delete_all(thr),

            con_upsert: format!(
                "INSERT INTO {con} AS t (session_id, {CON_COLS})
                 SELECT $1, u.jid, u.display_name, u.push_name, u.lid, u.phone_number, u.username, u.last_updated_ms
                 FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int8[])
                    WITH ORDINALITY AS u(jid, display_name, push_name, lid, phone_number, username, last_updated_ms, ord)
                 ORDER BY u.ord
                 ON CONFLICT (session_id, jid) DO UPDATE SET
                    display_name = COALESCE(EXCLUDED.display_name, t.display_name),
                    push_name = COALESCE(EXCLUDED.push_name, t.push_name),
                    lid = COALESCE(EXCLUDED.lid, t.lid),
                    phone_number = COALESCE(EXCLUDED.phone_number, t.phone_number),
                    username = COALESCE(EXCLUDED.username, t.username),
                    last_updated_ms = GREATEST(EXCLUDED.last_updated_ms, t.last_updated_ms)"
            ),
            con_get: format!("SELECT {CON_COLS} FROM {con} WHERE session_id = $1 AND jid = $2"),
            // Several rows may carry one number; prefer the most recently updated.
            con_get_by_phone: format!(
                "SELECT {CON_COLS} FROM {con} WHERE session_id = $1 AND phone_number = $2
                 ORDER BY last_updated_ms DESC, seq DESC LIMIT 1"
            ),
            con_delete: format!("DELETE FROM {con} WHERE session_id = $1 AND jid = $2"),
            con_clear: delete_all(con),

            pt_upsert: format!(
                "INSERT INTO {pt} AS t (session_id, {PT_COLS})
                 SELECT $1, * FROM unnest($2::text[], $3::bytea[], $4::int8[], $5::int8[], $6::bytea[], $7::int8[])
                 ON CONFLICT (session_id, jid) DO UPDATE SET
                    tc_token = COALESCE(EXCLUDED.tc_token, t.tc_token),
                    tc_token_timestamp = COALESCE(EXCLUDED.tc_token_timestamp, t.tc_token_timestamp),
                    tc_token_sender_timestamp =
                        COALESCE(EXCLUDED.tc_token_sender_timestamp, t.tc_token_sender_timestamp),
                    nct_salt = COALESCE(EXCLUDED.nct_salt, t.nct_salt),
                    updated_at_ms = EXCLUDED.updated_at_ms"
            ),
            pt_get: format!("SELECT {PT_COLS} FROM {pt} WHERE session_id = $1 AND jid = $2"),
            pt_delete: format!("DELETE FROM {pt} WHERE session_id = $1 AND jid = $2"),
            pt_clear: delete_all(pt),

            ro_upsert: format!(
                "INSERT INTO {ro} AS t (session_id, {RO_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (session_id, message_id) DO UPDATE SET
                    to_jid = EXCLUDED.to_jid,
                    eligible_requesters_json = EXCLUDED.eligible_requesters_json,
                    delivered_requesters_json = EXCLUDED.delivered_requesters_json,
                    replay_mode = EXCLUDED.replay_mode, replay_payload = EXCLUDED.replay_payload,
                    state = EXCLUDED.state, updated_at_ms = EXCLUDED.updated_at_ms,
                    expires_at_ms = EXCLUDED.expires_at_ms"
            ),
            ro_get: format!("SELECT {RO_COLS} FROM {ro} WHERE session_id = $1 AND message_id = $2"),
            ro_delete: format!("DELETE FROM {ro} WHERE session_id = $1 AND message_id = $2"),
            ro_update_state: format!(
                "UPDATE {ro} SET state = $3, updated_at_ms = $4, expires_at_ms = $5
                 WHERE session_id = $1 AND message_id = $2"
            ),
            ro_get_requesters: format!(
                "SELECT eligible_requesters_json, delivered_requesters_json FROM {ro}
                 WHERE session_id = $1 AND message_id = $2"
            ),
            ro_get_delivered_for_update: format!(
                "SELECT delivered_requesters_json FROM {ro} WHERE session_id = $1 AND message_id = $2 FOR UPDATE"
            ),
            ro_set_delivered: format!(
                "UPDATE {ro} SET delivered_requesters_json = $3, updated_at_ms = $4, expires_at_ms = $5
                 WHERE session_id = $1 AND message_id = $2"
            ),
            ro_cleanup: cleanup(ro),
            ro_clear: delete_all(ro),
            // One statement, so concurrent increments never lose a count.
            ri_increment: format!(
                "INSERT INTO {ri} AS t (session_id, message_id, requester_jid, retry_count, updated_at_ms, expires_at_ms)
                 VALUES ($1, $2, $3, 1, $4, $5)
                 ON CONFLICT (session_id, message_id, requester_jid) DO UPDATE SET
                    retry_count = CASE WHEN t.expires_at_ms <= EXCLUDED.updated_at_ms THEN 1
                                       ELSE t.retry_count + 1 END,
                    updated_at_ms = EXCLUDED.updated_at_ms,
                    expires_at_ms = EXCLUDED.expires_at_ms
                 RETURNING retry_count"
            ),
            ri_cleanup: cleanup(ri),
            ri_clear: delete_all(ri),

            gm_upsert: format!(
                "INSERT INTO {gm} AS t (session_id, {GM_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (session_id, group_jid) DO UPDATE SET
                    participants_json = EXCLUDED.participants_json, ephemeral = EXCLUDED.ephemeral,
                    ephemeral_trigger = EXCLUDED.ephemeral_trigger, updated_at_ms = EXCLUDED.updated_at_ms,
                    expires_at_ms = EXCLUDED.expires_at_ms"
            ),
            gm_get: format!("SELECT {GM_COLS} FROM {gm} WHERE session_id = $1 AND group_jid = $2"),
            // The expiry guard keeps a concurrent refresh alive.
            gm_delete_expired: format!(
                "DELETE FROM {gm} WHERE session_id = $1 AND group_jid = $2 AND expires_at_ms <= $3"
            ),
            gm_delete: format!("DELETE FROM {gm} WHERE session_id = $1 AND group_jid = $2"),
            gm_cleanup: cleanup(gm),
            gm_clear: delete_all(gm),

            cm_upsert: format!(
                "INSERT INTO {cm} AS t (session_id, {CM_COLS}) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (session_id, chat_jid) DO UPDATE SET
                    ephemeral_expiration = EXCLUDED.ephemeral_expiration,
                    ephemeral_setting_timestamp = EXCLUDED.ephemeral_setting_timestamp,
                    updated_at_ms = EXCLUDED.updated_at_ms, expires_at_ms = EXCLUDED.expires_at_ms"
            ),
            cm_get: format!("SELECT {CM_COLS} FROM {cm} WHERE session_id = $1 AND chat_jid = $2"),
            cm_delete_expired: format!(
                "DELETE FROM {cm} WHERE session_id = $1 AND chat_jid = $2 AND expires_at_ms <= $3"
            ),
            cm_delete: format!("DELETE FROM {cm} WHERE session_id = $1 AND chat_jid = $2"),
            cm_cleanup: cleanup(cm),
            cm_clear: delete_all(cm),

            dl_upsert: format!(
                "INSERT INTO {dl} AS t (session_id, {DL_COLS})
                 SELECT $1, u.user_jid, u.alt_user_jid, u.device_jids_json, u.updated_at_ms, u.expires_at_ms
                 FROM unnest($2::text[], $3::text[], $4::text[], $5::int8[], $6::int8[])
                    WITH ORDINALITY AS u(user_jid, alt_user_jid, device_jids_json, updated_at_ms, expires_at_ms, ord)
                 ORDER BY u.ord
                 ON CONFLICT (session_id, user_jid) DO UPDATE SET
                    alt_user_jid = EXCLUDED.alt_user_jid, device_jids_json = EXCLUDED.device_jids_json,
                    updated_at_ms = EXCLUDED.updated_at_ms, expires_at_ms = EXCLUDED.expires_at_ms"
            ),
            dl_get: format!("SELECT {DL_COLS} FROM {dl} WHERE session_id = $1 AND user_jid = $2"),
            dl_get_many: format!(
                "SELECT d.user_jid, d.alt_user_jid, d.device_jids_json, d.updated_at_ms, d.expires_at_ms
                 FROM unnest($2::text[]) WITH ORDINALITY AS u(user_jid, ord)
                 LEFT JOIN {dl} d ON d.session_id = $1 AND d.user_jid = u.user_jid
                 ORDER BY u.ord"
            ),
            // The latest snapshot naming this alt jid wins (as the memory store's alt index).
            dl_find_alt: format!(
                "SELECT {DL_COLS} FROM {dl} WHERE session_id = $1 AND alt_user_jid = $2
                 ORDER BY updated_at_ms DESC, seq DESC LIMIT 1"
            ),
            dl_delete_expired: format!(
                "DELETE FROM {dl} WHERE session_id = $1 AND user_jid = $2 AND expires_at_ms <= $3"
            ),
            dl_delete_expired_many: format!(
                "DELETE FROM {dl} WHERE session_id = $1 AND user_jid = ANY($2::text[]) AND expires_at_ms <= $3"
            ),
            dl_delete: format!("DELETE FROM {dl} WHERE session_id = $1 AND user_jid = $2"),
            dl_cleanup: cleanup(dl),
            dl_clear: delete_all(dl),

            ms_upsert: format!(
                "INSERT INTO {ms} AS t (session_id, message_id, secret, sender_jid, expires_at_ms)
                 SELECT $1, u.message_id, u.secret, u.sender_jid, $5::int8
                 FROM unnest($2::text[], $3::bytea[], $4::text[]) AS u(message_id, secret, sender_jid)
                 ON CONFLICT (session_id, message_id) DO UPDATE SET
                    secret = EXCLUDED.secret, sender_jid = EXCLUDED.sender_jid, expires_at_ms = EXCLUDED.expires_at_ms"
            ),
            ms_get_many: format!(
                "SELECT u.message_id AS wanted, m.secret, m.sender_jid, m.expires_at_ms
                 FROM unnest($2::text[]) WITH ORDINALITY AS u(message_id, ord)
                 LEFT JOIN {ms} m ON m.session_id = $1 AND m.message_id = u.message_id
                 ORDER BY u.ord"
            ),
            ms_delete_expired_many: format!(
                "DELETE FROM {ms} WHERE session_id = $1 AND message_id = ANY($2::text[]) AND expires_at_ms <= $3"
            ),
            ms_cleanup: cleanup(ms),
            ms_clear: delete_all(ms),

            cache_cleanup_all: t
                .caches()
                .iter()
                .map(|table| format!("DELETE FROM {table} WHERE expires_at_ms <= $1"))
                .collect(),

            keys_get_many: format!(
                "SELECT k.value FROM unnest($3::bytea[]) WITH ORDINALITY AS u(key_id, ord)
                 LEFT JOIN {keys} k ON k.session_id = $1 AND k.key_type = $2 AND k.key_id = u.key_id
                 ORDER BY u.ord"
            ),
            keys_list: format!(
                "SELECT key_id, value FROM {keys} WHERE session_id = $1 AND key_type = $2
                   AND ($3::bytea IS NULL OR key_id > $3) ORDER BY key_id LIMIT $4"
            ),
            keys_list_ids: format!(
                "SELECT key_id FROM {keys} WHERE session_id = $1 AND key_type = $2
                   AND ($3::bytea IS NULL OR key_id > $3) ORDER BY key_id LIMIT $4"
            ),
            keys_types: format!("SELECT DISTINCT key_type FROM {keys} WHERE session_id = $1 ORDER BY key_type"),
            keys_clear: delete_all(keys),
            keys_upsert: format!(
                "INSERT INTO {keys} (session_id, key_type, key_id, value)
                 SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::bytea[])
                 ON CONFLICT (session_id, key_type, key_id) DO UPDATE SET value = EXCLUDED.value"
            ),
            keys_delete: format!(
                "DELETE FROM {keys} k USING unnest($1::text[], $2::bytea[], $3::bytea[]) AS u(sid, key_type, key_id)
                 WHERE k.session_id = u.sid AND k.key_type = u.key_type AND k.key_id = u.key_id"
            ),
            batch_sess_upsert: format!(
                "INSERT INTO {sess} (session_id, addr_user, addr_server, addr_device, record)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::bytea[])
                 ON CONFLICT (session_id, addr_user, addr_server, addr_device) DO UPDATE SET record = EXCLUDED.record"
            ),
            batch_sess_delete: format!(
                "DELETE FROM {sess} s USING unnest($1::text[], $2::text[], $3::text[], $4::int8[])
                   AS u(sid, addr_user, addr_server, addr_device)
                 WHERE s.session_id = u.sid AND s.addr_user = u.addr_user
                   AND s.addr_server = u.addr_server AND s.addr_device = u.addr_device"
            ),
            batch_ident_upsert: format!(
                "INSERT INTO {ident} (session_id, addr_user, addr_server, addr_device, identity_key)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::bytea[])
                 ON CONFLICT (session_id, addr_user, addr_server, addr_device)
                 DO UPDATE SET identity_key = EXCLUDED.identity_key"
            ),
            batch_sk_upsert: format!(
                "INSERT INTO {sk} (session_id, group_id, sender_user, sender_server, sender_device, record)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::bytea[])
                 ON CONFLICT (session_id, group_id, sender_user, sender_server, sender_device)
                 DO UPDATE SET record = EXCLUDED.record"
            ),

            snap: SnapshotSql::new(t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_reaches_every_statement() {
        let t = Tables::new("pfx_");
        let sql = Sql::new(&t);
        assert!(sql.sess_upsert.contains("pfx_signal_session"));
        assert!(sql.msg_list.contains("pfx_mailbox_messages"));
        assert_eq!(t.migrations, "pfx_migrations");
        assert!(t.all().iter().all(|name| name.starts_with("pfx_")));
        assert_eq!(sql.cache_cleanup_all.len(), 6);
    }
}
