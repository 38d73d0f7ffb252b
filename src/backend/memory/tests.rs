//! Memory backend: the shared conformance suite, plus what only memory does
//! (per-session caps, eviction order, exact TTL boundaries, dropping a
//! released session).

use std::sync::Arc;

use super::MemoryBackend;
use crate::backend::conformance::{self, DynBackend};
use crate::config::MemoryLimits;
use crate::domain::app_state::{AppStateStore, CollectionUpdate, SyncKey};
use crate::domain::chat_metadata::{ChatMetadata, ChatMetadataStore};
use crate::domain::contacts::{ContactStore, StoredContact};
use crate::domain::device_list::{DeviceList, DeviceListStore};
use crate::domain::group_metadata::{GroupMetadata, GroupMetadataStore};
use crate::domain::keys::{KeyStore, KeyWrite};
use crate::domain::message_secret::{MessageSecret, MessageSecretStore};
use crate::domain::messages::{MessageStore, StoredMessage};
use crate::domain::pre_key::{PreKey, PreKeyStore};
use crate::domain::retry::{RetryOutboundMessage, RetryStore};
use crate::domain::session::SessionStore;
use crate::domain::threads::{StoredThread, ThreadStore};
use crate::domain::{Backend, CacheTtls, Domain, KeyPair, SignalAddress};
use crate::error::ErrorCode;

fn fresh() -> DynBackend {
    Arc::new(MemoryBackend::default())
}

crate::backend::conformance::conformance_tests!(super::fresh());

/// Every area against one shared backend, twice: areas must not disturb
/// each other and must cope with leftovers of a previous run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_run_all_twice_on_one_backend() {
    let b = fresh();
    conformance::run_all(b.clone()).await;
    conformance::run_all(b).await;
}

// ---- helpers ------------------------------------------------------------------

fn limits(f: impl FnOnce(&mut MemoryLimits)) -> MemoryLimits {
    let mut l = MemoryLimits::default();
    f(&mut l);
    l
}

fn backend(l: MemoryLimits) -> MemoryBackend {
    MemoryBackend::new(l, CacheTtls::default())
}

fn msg(id: &str, thread: &str, ts: i64) -> StoredMessage {
    StoredMessage {
        id: id.into(),
        thread_jid: thread.into(),
        sender_jid: None,
        participant_jid: None,
        from_me: false,
        timestamp_ms: Some(ts),
        message_bytes: None,
    }
}

fn ids(list: &[StoredMessage]) -> Vec<&str> {
    list.iter().map(|m| m.id.as_str()).collect()
}

fn pk(id: u32) -> PreKey {
    PreKey { key_id: id, key_pair: KeyPair { pub_key: vec![1], priv_key: vec![2] }, uploaded: Some(false) }
}

fn addr(user: &str) -> SignalAddress {
    SignalAddress::new(user, None, 0)
}

fn outbound(id: &str) -> RetryOutboundMessage {
    RetryOutboundMessage {
        message_id: id.into(),
        to_jid: "to@s.whatsapp.net".into(),
        eligible_requester_device_jids: None,
        delivered_requester_device_jids: None,
        replay_mode: "plaintext".into(),
        replay_payload: vec![1],
        state: "pending".into(),
        updated_at_ms: 0,
        expires_at_ms: i64::MAX,
    }
}

fn devices(user: &str, alt: Option<&str>, updated_at_ms: i64) -> DeviceList {
    DeviceList { user_jid: user.into(), alt_user_jid: alt.map(Into::into), device_jids: vec![format!("{user}:1")], updated_at_ms }
}

fn contact(jid: &str, phone: Option<&str>) -> StoredContact {
    StoredContact { jid: jid.into(), phone_number: phone.map(Into::into), last_updated_ms: 1, ..Default::default() }
}

// ---- backend basics -------------------------------------------------------------

#[tokio::test]
async fn kind_close_and_retry_settings() {
    let ttls = CacheTtls { retry_ms: 1_234, ..CacheTtls::default() };
    let b = MemoryBackend::new(MemoryLimits::default(), ttls);
    assert_eq!(b.kind(), "memory");
    assert_eq!(b.retry_ttl_ms(), 1_234);
    assert!(b.supports_raw_replay_payload());
    b.close().await.unwrap();
}

#[tokio::test]
async fn reads_do_not_create_session_state() {
    let b = MemoryBackend::default();
    assert_eq!(b.get_message("ghost", "m").await.unwrap(), None);
    assert_eq!(b.list_threads("ghost", 10).await.unwrap(), vec![]);
    assert_eq!(b.reserve_pre_keys("writer", 1).await.unwrap().reserved_ids, vec![1]);
    assert!(b.mark_key_as_uploaded("ghost", 0).await.is_ok());
    assert_eq!(b.delete_message("ghost", "m").await.unwrap(), 0);
    assert_eq!(b.messages.sessions.lock().len(), 0);
    assert_eq!(b.threads.sessions.lock().len(), 0);
    assert_eq!(b.pre_key.sessions.lock().len(), 1, "only the session that wrote");
}

#[tokio::test]
async fn release_session_drops_one_domain_of_one_session() {
    let b = MemoryBackend::default();
    for sid in ["a", "b"] {
        b.upsert_messages(sid, vec![msg("m", "t", 1)]).await.unwrap();
        b.upsert_threads(sid, vec![StoredThread { jid: "t".into(), ..Default::default() }]).await.unwrap();
        b.put_pre_key(sid, pk(7)).await.unwrap();
    }
    b.release_session("a", Domain::Messages);
    assert_eq!(b.get_message("a", "m").await.unwrap(), None);
    assert!(b.get_thread("a", "t").await.unwrap().is_some(), "other domains of the session stay");
    assert!(b.get_message("b", "m").await.unwrap().is_some(), "other sessions stay");

    // Releasing preKey resets its counter like clear does.
    b.release_session("a", Domain::PreKey);
    assert_eq!(b.reserve_pre_keys("a", 1).await.unwrap().reserved_ids, vec![1]);
    assert_eq!(b.reserve_pre_keys("b", 2).await.unwrap().reserved_ids, vec![8]);

    // The adapters' keys domain goes with its session too, and only with it.
    for sid in ["a", "b"] {
        let write = KeyWrite { kind: "session".into(), id: "1.0".into(), value: Some(vec![1]) };
        b.write_keys(sid, vec![write]).await.unwrap();
    }
    b.release_session("a", Domain::Keys);
    assert_eq!(b.get_keys("a", "session", &["1.0".to_string()]).await.unwrap(), vec![None]);
    assert_eq!(b.get_keys("b", "session", &["1.0".to_string()]).await.unwrap(), vec![Some(vec![1])]);

    // Every domain can be released, known or not to hold data.
    for d in Domain::PERSISTENT.iter().chain(Domain::CACHES.iter()).chain(Domain::ADAPTER.iter()) {
        b.release_session("a", *d);
        b.release_session("nobody", *d);
    }
    assert_eq!(b.get_thread("a", "t").await.unwrap(), None);
    assert!(b.get_thread("b", "t").await.unwrap().is_some());
}

// ---- caps and eviction ------------------------------------------------------------

#[tokio::test]
async fn caps_apply_per_session_and_evict_oldest_write() {
    let b = backend(limits(|l| l.messages = 2));
    b.upsert_messages("a", vec![msg("m1", "t", 1), msg("m2", "t", 2)]).await.unwrap();
    b.upsert_messages("b", vec![msg("m1", "t", 1), msg("m2", "t", 2)]).await.unwrap();
    // A rewrite moves m1 to the back; a read of m2 does not refresh it.
    b.upsert_messages("a", vec![msg("m1", "t", 10)]).await.unwrap();
    assert!(b.get_message("a", "m2").await.unwrap().is_some());
    b.upsert_messages("a", vec![msg("m3", "u", 3)]).await.unwrap();
    assert_eq!(b.get_message("a", "m2").await.unwrap(), None);
    assert_eq!(ids(&b.list_messages_by_thread("a", "t", 10, None).await.unwrap()), ["m1"], "thread index follows eviction");
    assert_eq!(ids(&b.list_messages_by_thread("a", "u", 10, None).await.unwrap()), ["m3"]);
    // Session b has its own cap.
    assert_eq!(ids(&b.list_messages_by_thread("b", "t", 10, None).await.unwrap()), ["m2", "m1"]);
}

#[tokio::test]
async fn every_bounded_map_honours_its_limit() {
    let b = backend(limits(|l| {
        l.signal_sessions = 1;
        l.signal_remote_identities = 1;
        l.sender_keys = 1;
        l.sender_distributions = 1;
        l.threads = 1;
        l.privacy_tokens = 1;
        l.group_metadata_groups = 1;
        l.chat_metadata_chats = 1;
        l.message_secrets = 1;
        l.retry_inbound_counters = 1;
        l.app_state_sync_keys = 1;
    }));
    let s = "s";
    b.set_sessions(s, vec![(addr("x"), vec![1]), (addr("y"), vec![2])]).await.unwrap();
    assert_eq!(b.has_sessions(s, &[addr("x"), addr("y")]).await.unwrap(), vec![false, true]);
    use crate::domain::identity::IdentityStore;
    b.set_remote_identities(s, vec![(addr("x"), vec![1]), (addr("y"), vec![2])]).await.unwrap();
    assert_eq!(b.get_remote_identities(s, &[addr("x"), addr("y")]).await.unwrap(), vec![None, Some(vec![2])]);

    use crate::domain::sender_key::{SenderKey, SenderKeyDistribution, SenderKeyStore};
    b.upsert_sender_key(s, SenderKey { group_id: "g".into(), sender: addr("x"), record: vec![1] }).await.unwrap();
    b.upsert_sender_key(s, SenderKey { group_id: "g".into(), sender: addr("y"), record: vec![2] }).await.unwrap();
    let dist = |u: &str| SenderKeyDistribution { group_id: "g".into(), sender: addr(u), key_id: 1, timestamp_ms: 1 };
    b.upsert_sender_key_distributions(s, vec![dist("x"), dist("y")]).await.unwrap();
    let group = b.get_group_sender_keys(s, "g").await.unwrap();
    assert_eq!((group.sender_keys.len(), group.distributions.len()), (1, 1));
    assert_eq!(group.sender_keys[0].sender, addr("y"));

    b.upsert_threads(s, vec![StoredThread { jid: "t1".into(), ..Default::default() }, StoredThread { jid: "t2".into(), ..Default::default() }])
        .await
        .unwrap();
    assert_eq!(b.list_threads(s, 10).await.unwrap().iter().map(|t| t.jid.as_str()).collect::<Vec<_>>(), ["t2"]);

    use crate::domain::privacy_token::{PrivacyToken, PrivacyTokenStore};
    let token = |jid: &str| PrivacyToken { jid: jid.into(), ..Default::default() };
    b.upsert_privacy_tokens(s, vec![token("p1"), token("p2")]).await.unwrap();
    assert_eq!(b.get_privacy_token(s, "p1").await.unwrap(), None);

    let gm = |jid: &str| GroupMetadata { group_jid: jid.into(), participants: vec![], ephemeral: None, ephemeral_trigger: None, updated_at_ms: 0 };
    b.upsert_group_metadata(s, gm("g1")).await.unwrap();
    b.upsert_group_metadata(s, gm("g2")).await.unwrap();
    assert_eq!(b.get_group_metadata(s, "g1", 0).await.unwrap(), None);
    let cm = |jid: &str| ChatMetadata { chat_jid: jid.into(), ephemeral_expiration: None, ephemeral_setting_timestamp: None, updated_at_ms: 0 };
    b.upsert_chat_metadata(s, cm("c1")).await.unwrap();
    b.upsert_chat_metadata(s, cm("c2")).await.unwrap();
    assert_eq!(b.get_chat_metadata(s, "c1", 0).await.unwrap(), None);
    let secret = MessageSecret { secret: vec![1], sender_jid: "x".into() };
    b.set_message_secrets(s, vec![("m1".into(), secret.clone()), ("m2".into(), secret)], 0).await.unwrap();
    assert_eq!(b.get_message_secrets(s, &["m1".into()], 0).await.unwrap(), vec![None]);

    assert_eq!(b.increment_inbound_counter(s, "m", "r1", 0, 100).await.unwrap(), 1);
    assert_eq!(b.increment_inbound_counter(s, "m", "r1", 0, 100).await.unwrap(), 2);
    assert_eq!(b.increment_inbound_counter(s, "m", "r2", 0, 100).await.unwrap(), 1);
    assert_eq!(b.increment_inbound_counter(s, "m", "r1", 0, 100).await.unwrap(), 1, "evicted counter restarts");

    let key = |id: u8| SyncKey { key_id: vec![0, 0, 0, 0, 0, id], key_data: vec![id], timestamp: 0, fingerprint: None };
    b.upsert_sync_keys(s, vec![key(1), key(2)]).await.unwrap();
    assert_eq!(b.get_sync_keys(s, &[vec![0, 0, 0, 0, 0, 1]]).await.unwrap(), vec![None]);
}

#[tokio::test]
async fn unchanged_sync_keys_keep_their_place() {
    let b = backend(limits(|l| l.app_state_sync_keys = 2));
    let key = |id: u8, data: u8| SyncKey { key_id: vec![0, 0, 0, 0, 0, id], key_data: vec![data], timestamp: 0, fingerprint: None };
    b.upsert_sync_keys("s", vec![key(1, 1), key(2, 2)]).await.unwrap();
    // Same data again: skipped, so key 1 stays the oldest and is the one evicted.
    assert_eq!(b.upsert_sync_keys("s", vec![key(1, 1)]).await.unwrap(), 0);
    b.upsert_sync_keys("s", vec![key(3, 3)]).await.unwrap();
    let got = b.get_sync_keys("s", &[key(1, 0).key_id, key(2, 0).key_id]).await.unwrap();
    assert_eq!(got, vec![None, Some(key(2, 2))]);
}

#[tokio::test]
async fn collection_entries_are_capped_keeping_the_last_written() {
    let b = backend(limits(|l| l.app_state_collection_entries = 2));
    let map = |pairs: &[(&str, u8)]| pairs.iter().map(|(k, v)| (k.to_string(), vec![*v])).collect::<Vec<_>>();
    let update = CollectionUpdate { collection: "regular".into(), version: 1, hash: vec![0; 128], index_value_map: map(&[("a", 1), ("b", 2), ("a", 3), ("c", 4)]) };
    b.set_collection_states("s", vec![update]).await.unwrap();
    let state = &b.get_collection_states("s", &["regular".into()]).await.unwrap()[0];
    // a is rewritten after b, so b is the oldest write and goes first.
    assert_eq!(state.index_value_map, map(&[("a", 3), ("c", 4)]));
}

#[tokio::test]
async fn pre_key_eviction_drops_the_key_and_its_flag_but_not_the_counter() {
    let b = backend(limits(|l| l.signal_pre_keys = 2));
    b.put_pre_key("s", pk(1)).await.unwrap();
    b.put_pre_key("s", pk(2)).await.unwrap();
    // Marking is not a write: key 1 stays the oldest.
    b.mark_key_as_uploaded("s", 1).await.unwrap();
    b.put_pre_key("s", pk(3)).await.unwrap();
    assert_eq!(b.get_pre_key_by_id("s", 1).await.unwrap(), None);
    assert!(b.get_pre_key_by_id("s", 2).await.unwrap().is_some());
    b.mark_key_as_uploaded("s", 3).await.expect("the counter did not move back");
    // Re-adding key 1 brings it back without the old uploaded flag.
    b.put_pre_key("s", pk(1)).await.unwrap();
    let r = b.reserve_pre_keys("s", 1).await.unwrap();
    assert_eq!(r.available, vec![pk(1)]);
    // Generated keys beyond the cap evict too.
    assert_eq!(b.insert_generated_pre_keys("s", vec![pk(10), pk(11), pk(12)]).await.unwrap(), 3);
    let got = b.get_pre_keys_by_id("s", &[1, 10, 11, 12]).await.unwrap();
    assert_eq!(got, vec![None, None, Some(pk(11)), Some(pk(12))]);
}

#[tokio::test]
async fn pre_key_ids_never_wrap_past_u32() {
    let b = MemoryBackend::default();
    b.put_pre_key("s", PreKey { uploaded: Some(true), ..pk(u32::MAX) }).await.unwrap();
    b.mark_key_as_uploaded("s", u32::MAX).await.unwrap();
    let err = b.reserve_pre_keys("s", 1).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument);
    // The failed reservation changed nothing.
    assert_eq!(b.get_pre_key_by_id("s", u32::MAX).await.unwrap().map(|k| k.key_id), Some(u32::MAX));
}

#[tokio::test]
async fn retry_state_changes_count_as_writes() {
    let b = backend(limits(|l| l.retry_outbound_messages = 2));
    b.upsert_outbound_message("s", outbound("m1")).await.unwrap();
    b.upsert_outbound_message("s", outbound("m2")).await.unwrap();
    b.update_outbound_message_state("s", "m1", "read", 1, i64::MAX).await.unwrap();
    b.upsert_outbound_message("s", outbound("m3")).await.unwrap();
    assert_eq!(b.get_outbound_message("s", "m2").await.unwrap(), None, "m1 was rewritten, so m2 is the oldest");
    assert!(b.get_outbound_message("s", "m1").await.unwrap().is_some());
    b.mark_outbound_requester_delivered("s", "m1", "d", 2, i64::MAX).await.unwrap();
    b.upsert_outbound_message("s", outbound("m4")).await.unwrap();
    assert_eq!(b.get_outbound_message("s", "m3").await.unwrap(), None);
    let m1 = b.get_outbound_message("s", "m1").await.unwrap().expect("m1");
    assert_eq!(m1.delivered_requester_device_jids, Some(vec!["d".to_owned()]), "memory records deliveries as zapo's memory store does");
}

#[tokio::test]
async fn contact_phone_index_tracks_eviction_and_shared_numbers() {
    let b = backend(limits(|l| l.contacts = 2));
    b.upsert_contacts("s", vec![contact("a@lid", Some("p")), contact("b@lid", Some("p"))]).await.unwrap();
    assert_eq!(b.get_contact_by_phone_number("s", "p").await.unwrap().map(|c| c.jid), Some("b@lid".into()), "last writer owns the number");
    // a moving off "p" must not unindex b's claim on it.
    b.upsert_contacts("s", vec![contact("a@lid", Some("q"))]).await.unwrap();
    assert_eq!(b.get_contact_by_phone_number("s", "p").await.unwrap().map(|c| c.jid), Some("b@lid".into()));
    // b is now the oldest: a third contact evicts it and its phone lookup.
    b.upsert_contacts("s", vec![contact("c@lid", None)]).await.unwrap();
    assert_eq!(b.get_contact("s", "b@lid").await.unwrap(), None);
    assert_eq!(b.get_contact_by_phone_number("s", "p").await.unwrap(), None);
    b.upsert_contacts("s", vec![contact("b@lid", None)]).await.unwrap();
    assert_eq!(b.get_contact_by_phone_number("s", "p").await.unwrap(), None, "no stale index entry resurrects");
    assert_eq!(b.get_contact_by_phone_number("s", "q").await.unwrap(), None, "a was evicted by b");
}

#[tokio::test]
async fn device_alt_index_tracks_eviction_and_shared_alts() {
    let b = backend(limits(|l| l.device_list_users = 2));
    b.upsert_user_devices("s", vec![devices("u1", Some("x"), 0), devices("u2", Some("x"), 0)]).await.unwrap();
    assert_eq!(b.find_by_any_user_jid("s", "x", 0).await.unwrap().map(|d| d.user_jid), Some("u2".into()));
    // u1 dropping "x" must not unindex u2's claim on it (zapo's memory store would).
    b.upsert_user_devices("s", vec![devices("u1", Some("y"), 0)]).await.unwrap();
    assert_eq!(b.find_by_any_user_jid("s", "x", 0).await.unwrap().map(|d| d.user_jid), Some("u2".into()));
    // u2 is the oldest: evicting it drops "x", and re-adding u2 without an alt keeps it dropped.
    b.upsert_user_devices("s", vec![devices("u3", None, 0)]).await.unwrap();
    assert_eq!(b.find_by_any_user_jid("s", "x", 0).await.unwrap(), None);
    b.upsert_user_devices("s", vec![devices("u2", None, 0)]).await.unwrap();
    assert_eq!(b.find_by_any_user_jid("s", "x", 0).await.unwrap(), None);
}

// ---- exact TTL boundaries -----------------------------------------------------------

#[tokio::test]
async fn caches_expire_exactly_at_updated_plus_ttl_and_drop_on_read() {
    let ttls = CacheTtls { retry_ms: 10, group_metadata_ms: 100, chat_metadata_ms: 200, device_list_ms: 300, message_secret_ms: 400 };
    let b = MemoryBackend::new(MemoryLimits::default(), ttls);
    let s = "s";

    let gm = GroupMetadata { group_jid: "g".into(), participants: vec![], ephemeral: None, ephemeral_trigger: None, updated_at_ms: 1_000 };
    b.upsert_group_metadata(s, gm.clone()).await.unwrap();
    assert_eq!(b.get_group_metadata(s, "g", 1_099).await.unwrap(), Some(gm));
    assert_eq!(b.get_group_metadata(s, "g", 1_100).await.unwrap(), None);
    assert_eq!(b.get_group_metadata(s, "g", 1_000).await.unwrap(), None, "the expired read deleted it");

    let cm = ChatMetadata { chat_jid: "c".into(), ephemeral_expiration: None, ephemeral_setting_timestamp: None, updated_at_ms: 1_000 };
    b.upsert_chat_metadata(s, cm.clone()).await.unwrap();
    assert_eq!(b.cleanup_expired_chat_metadata(s, 1_199).await.unwrap(), 0);
    assert_eq!(b.get_chat_metadata(s, "c", 1_199).await.unwrap(), Some(cm));
    assert_eq!(b.get_chat_metadata(s, "c", 1_200).await.unwrap(), None);
    assert_eq!(b.get_chat_metadata(s, "c", 1_000).await.unwrap(), None);

    b.upsert_user_devices(s, vec![devices("u", Some("alt"), 1_000)]).await.unwrap();
    assert!(b.find_by_any_user_jid(s, "alt", 1_299).await.unwrap().is_some());
    assert_eq!(b.find_by_any_user_jid(s, "alt", 1_300).await.unwrap(), None);
    assert_eq!(b.find_by_any_user_jid(s, "alt", 1_000).await.unwrap(), None, "expired read dropped the entry and its alt");
    assert_eq!(b.cleanup_expired_device_lists(s, 5_000).await.unwrap(), 0);

    let secret = MessageSecret { secret: vec![1], sender_jid: "x".into() };
    b.set_message_secrets(s, vec![("m".into(), secret.clone())], 1_000).await.unwrap();
    assert_eq!(b.get_message_secrets(s, &["m".into()], 1_399).await.unwrap(), vec![Some(secret)]);
    assert_eq!(b.get_message_secrets(s, &["m".into()], 1_400).await.unwrap(), vec![None]);
    assert_eq!(b.cleanup_expired_message_secrets(s, 5_000).await.unwrap(), 0, "already dropped by the read");

    // Hostile timestamps saturate instead of overflowing.
    let far = GroupMetadata { group_jid: "far".into(), participants: vec![], ephemeral: None, ephemeral_trigger: None, updated_at_ms: i64::MAX };
    b.upsert_group_metadata(s, far).await.unwrap();
    assert!(b.get_group_metadata(s, "far", i64::MAX - 1).await.unwrap().is_some());
    b.set_message_secrets(s, vec![("far".into(), MessageSecret { secret: vec![], sender_jid: String::new() })], i64::MAX).await.unwrap();
    assert_eq!(b.cleanup_expired_message_secrets(s, i64::MIN).await.unwrap(), 0);
}

// ---- concurrency ----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_increments_and_reservations_are_atomic() {
    let b: Arc<MemoryBackend> = Arc::new(MemoryBackend::default());
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let b = b.clone();
        tasks.push(tokio::spawn(async move {
            let count = b.increment_inbound_counter("s", "m", "r", 0, i64::MAX).await.unwrap();
            let ids = b.reserve_pre_keys("s", 3).await.unwrap().reserved_ids;
            (count, ids)
        }));
    }
    let mut counts = Vec::new();
    let mut all_ids = Vec::new();
    for t in tasks {
        let (count, ids) = t.await.unwrap();
        counts.push(count);
        all_ids.extend(ids);
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=64).collect::<Vec<u32>>());
    all_ids.sort_unstable();
    assert_eq!(all_ids, (1..=192).collect::<Vec<u32>>(), "every reserved id is unique");
}

#[tokio::test]
async fn clear_on_one_domain_leaves_the_same_sid_elsewhere() {
    let b = MemoryBackend::default();
    b.upsert_messages("s", vec![msg("m", "t", 1)]).await.unwrap();
    b.upsert_threads("s", vec![StoredThread { jid: "t".into(), ..Default::default() }]).await.unwrap();
    MessageStore::clear(&b, "s").await.unwrap();
    assert!(b.get_thread("s", "t").await.unwrap().is_some());
    ThreadStore::clear(&b, "s").await.unwrap();
    SessionStore::clear(&b, "never-written").await.unwrap();
    ContactStore::clear(&b, "never-written").await.unwrap();
    AppStateStore::clear(&b, "never-written").await.unwrap();
    RetryStore::clear(&b, "never-written").await.unwrap();
    PreKeyStore::clear(&b, "never-written").await.unwrap();
    assert_eq!(b.threads.sessions.lock().len(), 0);
}
