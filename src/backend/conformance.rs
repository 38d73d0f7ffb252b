//! Backend-agnostic behavioural suite: what every backend must do, checked
//! through the domain traits only.
//!
//! Each area uses its own session ids (prefixed `conf:`) and clears them
//! first, so the suite can run against a fresh backend or a persistent
//! database file that already holds a previous run. Nothing here depends on
//! memory-only behaviour (caps, eviction order, what `release_session`
//! does); that lives in the memory backend's own tests.
//!
//! Where the contract leaves an order unspecified (group sender keys,
//! thread lists, index-value maps, exports) results are sorted before they
//! are compared. Cache expiry is checked far from the boundary (`FAR`),
//! since the suite does not know the backend's TTLs.

use std::sync::Arc;

use crate::domain::app_state::{AppStateStore, CollectionState, CollectionUpdate, SyncKey, EMPTY_LT_HASH_LEN};
use crate::domain::auth::AuthStore;
use crate::domain::chat_metadata::{ChatMetadata, ChatMetadataStore};
use crate::domain::contacts::{get_contact_or_by_phone, ContactStore, StoredContact};
use crate::domain::device_list::{DeviceList, DeviceListStore};
use crate::domain::group_metadata::{GroupMetadata, GroupMetadataStore};
use crate::domain::identity::IdentityStore;
use crate::domain::keys::{KeyStore, KeyWrite};
use crate::domain::lease::{Acquired, Fence, Lease, LeaseOwner, Renewed};
use crate::domain::message_secret::{MessageSecret, MessageSecretStore};
use crate::domain::messages::{MessageStore, PageStart, StoredMessage};
use crate::domain::pre_key::{PreKey, PreKeyStore};
use crate::domain::privacy_token::{PrivacyToken, PrivacyTokenStore};
use crate::domain::retry::{RequesterStatus, RetryOutboundMessage, RetryStore};
use crate::domain::sender_key::{SenderKey, SenderKeyDistribution, SenderKeyStore};
use crate::domain::session::SessionStore;
use crate::domain::signal::{RegistrationInfo, SignalStore, SignedPreKey};
use crate::domain::signal_batch::{SessionWrite, SignalWrite};
use crate::domain::snapshot::{self as snap, Cursor, Record, RecordKind};
use crate::domain::threads::{StoredThread, ThreadStore};
use crate::domain::{Backend, KeyPair, SignalAddress};
use crate::error::ErrorCode;

pub type DynBackend = Arc<dyn Backend>;

/// A plausible "now" for cache entries.
const T: i64 = 1_700_000_000_000;
/// Further than any TTL a backend accepts (TTLs are safe integers, < 2^53 ≈ 9.007e15).
const FAR: i64 = 10_000_000_000_000_000;

const MIB: usize = 1024 * 1024;

pub async fn run_all(b: DynBackend) {
    auth(b.clone()).await;
    signal(b.clone()).await;
    pre_key(b.clone()).await;
    session(b.clone()).await;
    identity(b.clone()).await;
    sender_key(b.clone()).await;
    app_state(b.clone()).await;
    privacy_token(b.clone()).await;
    messages(b.clone()).await;
    message_pages(b.clone()).await;
    threads(b.clone()).await;
    contacts(b.clone()).await;
    retry(b.clone()).await;
    group_metadata(b.clone()).await;
    chat_metadata(b.clone()).await;
    device_list(b.clone()).await;
    message_secret(b.clone()).await;
    keys(b.clone()).await;
    signal_batch(b.clone()).await;
    lease(b.clone()).await;
    domain_isolation(b.clone()).await;
    hostile_ids(b.clone()).await;
    wildcards_are_literal(b.clone()).await;
    snapshot(b).await;
}

// ---- fixtures ---------------------------------------------------------------

fn addr(user: &str, server: &str, device: u32) -> SignalAddress {
    SignalAddress::new(user, Some(server), device)
}

fn key_pair(seed: u8) -> KeyPair {
    KeyPair { pub_key: vec![seed; 33], priv_key: vec![seed.wrapping_add(1); 32] }
}

/// Bytes that are not all the same, so truncation or reordering shows.
fn big_blob(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

fn pk(id: u32, seed: u8) -> PreKey {
    PreKey { key_id: id, key_pair: key_pair(seed), uploaded: Some(false) }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn sorted<T: Clone, K: Ord>(items: &[T], key: impl Fn(&T) -> K) -> Vec<T> {
    let mut out = items.to_vec();
    out.sort_by_key(|item| key(item));
    out
}

fn sorted_map(map: &[(String, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    sorted(map, |(k, _)| k.clone())
}

/// Strings that break naive SQL, LIKE patterns, delimiters or size limits.
fn hostile_strings() -> Vec<String> {
    vec![
        "'; DROP TABLE x; --".to_owned(),
        "\"quoted\" 'single' `back`".to_owned(),
        "100% _match_ \\escape\\".to_owned(),
        "a|b|c:1@s.whatsapp.net".to_owned(),
        "ünïcødé 🙂 漢字 \u{202e}rtl".to_owned(),
        "line\nbreak\ttab".to_owned(),
        "k".repeat(10 * 1024),
    ]
}

fn message(id: &str, thread: &str, ts: Option<i64>) -> StoredMessage {
    StoredMessage {
        id: id.to_owned(),
        thread_jid: thread.to_owned(),
        sender_jid: Some("alice@s.whatsapp.net".to_owned()),
        participant_jid: None,
        from_me: false,
        timestamp_ms: ts,
        message_bytes: Some(vec![1, 2, 3]),
    }
}

fn outbound(id: &str, eligible: Option<&[&str]>, expires_at_ms: i64) -> RetryOutboundMessage {
    RetryOutboundMessage {
        message_id: id.to_owned(),
        to_jid: "to@s.whatsapp.net".to_owned(),
        eligible_requester_device_jids: eligible.map(strings),
        delivered_requester_device_jids: None,
        replay_mode: "plaintext".to_owned(),
        replay_payload: vec![1, 2, 3],
        state: "pending".to_owned(),
        updated_at_ms: 1_000,
        expires_at_ms,
    }
}

fn sync_key(id: &[u8], data: &[u8], timestamp: i64) -> SyncKey {
    SyncKey { key_id: id.to_vec(), key_data: data.to_vec(), timestamp, fingerprint: None }
}

/// A 6-byte key id: device id in bytes 0..2, epoch in bytes 2..6.
fn key_id(device: u16, epoch: u32) -> Vec<u8> {
    let mut id = device.to_be_bytes().to_vec();
    id.extend_from_slice(&epoch.to_be_bytes());
    id
}

fn group(jid: &str, updated_at_ms: i64) -> GroupMetadata {
    GroupMetadata {
        group_jid: jid.to_owned(),
        participants: strings(&["a@s.whatsapp.net", "b@s.whatsapp.net"]),
        ephemeral: Some(7_776_000),
        ephemeral_trigger: Some(5),
        updated_at_ms,
    }
}

fn chat(jid: &str, updated_at_ms: i64) -> ChatMetadata {
    ChatMetadata {
        chat_jid: jid.to_owned(),
        ephemeral_expiration: Some(86_400),
        ephemeral_setting_timestamp: Some(1_751_808_692),
        updated_at_ms,
    }
}

fn devices(user: &str, alt: Option<&str>, updated_at_ms: i64) -> DeviceList {
    DeviceList {
        user_jid: user.to_owned(),
        alt_user_jid: alt.map(str::to_owned),
        device_jids: vec![format!("{user}:1"), format!("{user}:2")],
        updated_at_ms,
    }
}

fn secret(seed: u8, sender: &str) -> MessageSecret {
    MessageSecret { secret: vec![seed; 32], sender_jid: sender.to_owned() }
}

fn contact(jid: &str, last_updated_ms: i64) -> StoredContact {
    StoredContact { jid: jid.to_owned(), last_updated_ms, ..Default::default() }
}

// ---- auth -------------------------------------------------------------------

pub async fn auth(b: DynBackend) {
    let (a, o) = ("conf:auth:a", "conf:auth:b");
    AuthStore::clear(&*b, a).await.unwrap();
    AuthStore::clear(&*b, o).await.unwrap();

    assert_eq!(b.load(a).await.unwrap(), None);
    b.save(a, vec![0xA5, 1, 0]).await.unwrap();
    assert_eq!(b.load(a).await.unwrap(), Some(vec![0xA5, 1, 0]));
    assert_eq!(b.load(o).await.unwrap(), None, "another session sees nothing");

    // Whole-snapshot replace, large values intact.
    let big = big_blob(MIB, 7);
    b.save(a, big.clone()).await.unwrap();
    assert_eq!(b.load(a).await.unwrap(), Some(big));
    b.save(o, vec![9]).await.unwrap();

    AuthStore::clear(&*b, a).await.unwrap();
    assert_eq!(b.load(a).await.unwrap(), None);
    AuthStore::clear(&*b, a).await.unwrap(); // idempotent
    assert_eq!(b.load(o).await.unwrap(), Some(vec![9]), "clear leaves other sessions alone");
    AuthStore::clear(&*b, o).await.unwrap();
}

// ---- signal -----------------------------------------------------------------

pub async fn signal(b: DynBackend) {
    let (a, o) = ("conf:signal:a", "conf:signal:b");
    for sid in [a, o] {
        SignalStore::clear(&*b, sid).await.unwrap();
        PreKeyStore::clear(&*b, sid).await.unwrap();
    }

    assert_eq!(b.get_registration_info(a).await.unwrap(), None);
    assert_eq!(b.get_signed_pre_key(a).await.unwrap(), None);
    assert_eq!(b.get_signed_pre_key_by_id(a, 1).await.unwrap(), None);
    assert_eq!(b.get_signed_pre_key_rotation_ts(a).await.unwrap(), None);

    let reg = RegistrationInfo { registration_id: 54_321, identity_key_pair: key_pair(3) };
    b.set_registration_info(a, reg.clone()).await.unwrap();
    assert_eq!(b.get_registration_info(a).await.unwrap(), Some(reg.clone()));
    let reg2 = RegistrationInfo { registration_id: 1, identity_key_pair: key_pair(4) };
    b.set_registration_info(a, reg2.clone()).await.unwrap();
    assert_eq!(b.get_registration_info(a).await.unwrap(), Some(reg2.clone()));

    let spk = |id: u32, uploaded: bool| SignedPreKey { key_id: id, key_pair: key_pair(id as u8), signature: vec![7; 64], uploaded: Some(uploaded) };
    b.set_signed_pre_key(a, spk(21, true)).await.unwrap();
    assert_eq!(b.get_signed_pre_key(a).await.unwrap(), Some(spk(21, true)));
    assert_eq!(b.get_signed_pre_key_by_id(a, 21).await.unwrap(), Some(spk(21, true)));
    assert_eq!(b.get_signed_pre_key_by_id(a, 22).await.unwrap(), None);
    // Only the current signed pre-key is kept.
    b.set_signed_pre_key(a, spk(22, false)).await.unwrap();
    assert_eq!(b.get_signed_pre_key_by_id(a, 21).await.unwrap(), None);
    assert_eq!(b.get_signed_pre_key_by_id(a, 22).await.unwrap(), Some(spk(22, false)));

    b.set_signed_pre_key_rotation_ts(a, Some(1_751_808_692_000)).await.unwrap();
    assert_eq!(b.get_signed_pre_key_rotation_ts(a).await.unwrap(), Some(1_751_808_692_000));
    b.set_signed_pre_key_rotation_ts(a, None).await.unwrap();
    assert_eq!(b.get_signed_pre_key_rotation_ts(a).await.unwrap(), None);
    b.set_signed_pre_key_rotation_ts(a, Some(123_456)).await.unwrap();

    // Isolation between sessions.
    assert_eq!(b.get_registration_info(o).await.unwrap(), None);
    assert_eq!(b.get_signed_pre_key(o).await.unwrap(), None);
    b.set_registration_info(o, reg.clone()).await.unwrap();

    // signal and preKey are separate domains: clearing one keeps the other,
    // including the pre-key counter and the server flag.
    b.put_pre_key(a, pk(10, 1)).await.unwrap();
    b.set_server_has_pre_keys(a, true).await.unwrap();
    SignalStore::clear(&*b, a).await.unwrap();
    assert_eq!(b.get_registration_info(a).await.unwrap(), None);
    assert_eq!(b.get_signed_pre_key(a).await.unwrap(), None);
    assert_eq!(b.get_signed_pre_key_rotation_ts(a).await.unwrap(), None);
    assert!(b.get_server_has_pre_keys(a).await.unwrap(), "signal.clear must not reset the preKey flag");
    assert_eq!(b.get_pre_key_by_id(a, 10).await.unwrap(), Some(pk(10, 1)));
    b.mark_key_as_uploaded(a, 10).await.expect("signal.clear must not reset the pre-key counter");

    b.set_registration_info(a, reg2.clone()).await.unwrap();
    b.set_signed_pre_key_rotation_ts(a, Some(5)).await.unwrap();
    PreKeyStore::clear(&*b, a).await.unwrap();
    assert_eq!(b.get_registration_info(a).await.unwrap(), Some(reg2));
    assert_eq!(b.get_signed_pre_key_rotation_ts(a).await.unwrap(), Some(5));

    assert_eq!(b.get_registration_info(o).await.unwrap(), Some(reg), "other session intact");
    for sid in [a, o] {
        SignalStore::clear(&*b, sid).await.unwrap();
        PreKeyStore::clear(&*b, sid).await.unwrap();
    }
}

// ---- preKey -----------------------------------------------------------------

pub async fn pre_key(b: DynBackend) {
    let (a, o) = ("conf:prekey:a", "conf:prekey:b");
    for sid in [a, o] {
        PreKeyStore::clear(&*b, sid).await.unwrap();
    }

    assert!(!b.get_server_has_pre_keys(a).await.unwrap());
    // The counter starts at 1: 0 is in bounds, 1 is not.
    b.mark_key_as_uploaded(a, 0).await.unwrap();
    let err = b.mark_key_as_uploaded(a, 1).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument);
    assert!(err.message.contains("prekey 1 is out of boundary"), "{}", err.message);

    // Nothing stored: every id is freshly reserved, and the counter moves on.
    let r = b.reserve_pre_keys(a, 3).await.unwrap();
    assert!(r.available.is_empty());
    assert_eq!(r.reserved_ids, vec![1, 2, 3]);
    let r = b.reserve_pre_keys(a, 2).await.unwrap();
    assert_eq!(r.reserved_ids, vec![4, 5], "a reservation advances the counter even before insertion");

    assert_eq!(b.insert_generated_pre_keys(a, vec![pk(1, 1), pk(2, 2), pk(3, 3)]).await.unwrap(), 3);
    // Colliding ids are left alone; new ones go in and raise the counter.
    assert_eq!(b.insert_generated_pre_keys(a, vec![pk(2, 99), pk(6, 6)]).await.unwrap(), 1);
    assert_eq!(b.get_pre_key_by_id(a, 2).await.unwrap(), Some(pk(2, 2)));
    assert_eq!(b.insert_generated_pre_keys(a, vec![pk(3, 98)]).await.unwrap(), 0);
    assert_eq!(b.insert_generated_pre_keys(a, vec![]).await.unwrap(), 0);

    let r = b.reserve_pre_keys(a, 2).await.unwrap();
    assert_eq!(r.available, vec![pk(1, 1), pk(2, 2)], "lowest ids first, at most count");
    assert!(r.reserved_ids.is_empty());
    let r = b.reserve_pre_keys(a, 5).await.unwrap();
    assert_eq!(r.available.iter().map(|k| k.key_id).collect::<Vec<_>>(), vec![1, 2, 3, 6]);
    assert_eq!(r.reserved_ids, vec![7]);

    assert_eq!(
        b.get_pre_keys_by_id(a, &[3, 99, 1, 3]).await.unwrap(),
        vec![Some(pk(3, 3)), None, Some(pk(1, 1)), Some(pk(3, 3))]
    );
    assert_eq!(b.get_pre_keys_by_id(a, &[]).await.unwrap(), vec![]);
    assert_eq!(b.get_pre_key_by_id(a, 4).await.unwrap(), None);

    // Marking covers every id ≤ k, and uploaded keys are no longer available.
    b.mark_key_as_uploaded(a, 2).await.unwrap();
    assert_eq!(b.get_pre_key_by_id(a, 1).await.unwrap().and_then(|k| k.uploaded), Some(true));
    assert_eq!(b.get_pre_key_by_id(a, 2).await.unwrap().and_then(|k| k.uploaded), Some(true));
    assert_ne!(b.get_pre_key_by_id(a, 3).await.unwrap().and_then(|k| k.uploaded), Some(true));
    let r = b.reserve_pre_keys(a, 1).await.unwrap();
    assert_eq!(r.available, vec![pk(3, 3)]);

    // The counter is now 8 (ids up to 7 were reserved).
    b.mark_key_as_uploaded(a, 7).await.unwrap();
    assert_eq!(b.mark_key_as_uploaded(a, 8).await.unwrap_err().code, ErrorCode::InvalidArgument);
    let r = b.reserve_pre_keys(a, 2).await.unwrap();
    assert!(r.available.is_empty(), "every stored key is uploaded");
    assert_eq!(r.reserved_ids, vec![8, 9]);

    // put_pre_key upserts and raises the counter past its id.
    b.put_pre_key(a, pk(100, 100)).await.unwrap();
    b.mark_key_as_uploaded(a, 100).await.unwrap();
    assert_eq!(b.mark_key_as_uploaded(a, 101).await.unwrap_err().code, ErrorCode::InvalidArgument);
    let r = b.reserve_pre_keys(a, 1).await.unwrap();
    assert_eq!(r.reserved_ids, vec![101]);
    b.put_pre_key(a, pk(1, 50)).await.unwrap();
    assert_eq!(b.get_pre_key_by_id(a, 1).await.unwrap(), Some(pk(1, 50)), "put replaces the whole record");
    assert_eq!(b.reserve_pre_keys(a, 1).await.unwrap().available, vec![pk(1, 50)]);

    // consume: atomic read + delete.
    let consumed = b.consume_pre_key_by_id(a, 100).await.unwrap().expect("key 100");
    assert_eq!((consumed.key_id, consumed.uploaded), (100, Some(true)));
    assert_eq!(b.consume_pre_key_by_id(a, 100).await.unwrap(), None);
    assert_eq!(b.get_pre_key_by_id(a, 100).await.unwrap(), None);
    assert_eq!(b.consume_pre_key_by_id(a, 12_345).await.unwrap(), None);

    b.set_server_has_pre_keys(a, true).await.unwrap();
    assert!(b.get_server_has_pre_keys(a).await.unwrap());
    b.set_server_has_pre_keys(a, false).await.unwrap();
    assert!(!b.get_server_has_pre_keys(a).await.unwrap());
    b.set_server_has_pre_keys(a, true).await.unwrap();

    // Another session has its own keys, counter and flag.
    assert!(!b.get_server_has_pre_keys(o).await.unwrap());
    assert_eq!(b.get_pre_key_by_id(o, 1).await.unwrap(), None);
    assert_eq!(b.reserve_pre_keys(o, 1).await.unwrap().reserved_ids, vec![1]);

    // clear: keys gone, counter back to 1, flag false; the other session keeps its counter.
    PreKeyStore::clear(&*b, a).await.unwrap();
    assert!(!b.get_server_has_pre_keys(a).await.unwrap());
    assert_eq!(b.get_pre_key_by_id(a, 1).await.unwrap(), None);
    assert_eq!(b.mark_key_as_uploaded(a, 1).await.unwrap_err().code, ErrorCode::InvalidArgument);
    let r = b.reserve_pre_keys(a, 2).await.unwrap();
    assert_eq!((r.available, r.reserved_ids), (vec![], vec![1, 2]));
    assert_eq!(b.reserve_pre_keys(o, 1).await.unwrap().reserved_ids, vec![2]);

    // Large key ids keep their value.
    b.put_pre_key(o, pk(16_777_215, 5)).await.unwrap();
    assert_eq!(b.get_pre_key_by_id(o, 16_777_215).await.unwrap(), Some(pk(16_777_215, 5)));
    assert_eq!(b.reserve_pre_keys(o, 2).await.unwrap().reserved_ids, vec![16_777_216]);

    for sid in [a, o] {
        PreKeyStore::clear(&*b, sid).await.unwrap();
    }
}

// ---- session ----------------------------------------------------------------

pub async fn session<B: SessionStore + ?Sized>(b: Arc<B>) {
    let (a, o) = ("conf:session:a", "conf:session:b");
    for sid in [a, o] {
        SessionStore::clear(&*b, sid).await.unwrap();
    }
    let x = addr("11111", "s.whatsapp.net", 1);
    let y = addr("22222", "lid", 2);
    let z = addr("33333", "s.whatsapp.net", 3);
    // Same characters, different split: keys must be structured, not joined.
    let p1 = addr("a|b", "c", 1);
    let p2 = addr("a", "b|c", 1);
    let d0 = addr("11111", "s.whatsapp.net", 0);

    assert_eq!(b.has_sessions(a, &[x.clone(), y.clone()]).await.unwrap(), vec![false, false]);
    assert_eq!(b.get_sessions(a, std::slice::from_ref(&x)).await.unwrap(), vec![None]);
    assert_eq!(b.has_sessions(a, &[]).await.unwrap(), Vec::<bool>::new());
    b.set_sessions(a, vec![]).await.unwrap();

    b.set_sessions(a, vec![(x.clone(), vec![1]), (y.clone(), vec![2]), (x.clone(), vec![3]), (p1.clone(), vec![4]), (p2.clone(), vec![5])])
        .await
        .unwrap();
    assert_eq!(
        b.has_sessions(a, &[x.clone(), z.clone(), y.clone(), x.clone(), d0.clone()]).await.unwrap(),
        vec![true, false, true, true, false]
    );
    assert_eq!(
        b.get_sessions(a, &[y.clone(), z.clone(), x.clone(), p1.clone(), p2.clone(), y.clone()]).await.unwrap(),
        vec![Some(vec![2]), None, Some(vec![3]), Some(vec![4]), Some(vec![5]), Some(vec![2])],
        "positional, later duplicates win"
    );

    let big = big_blob(MIB, 3);
    b.set_sessions(a, vec![(z.clone(), big.clone())]).await.unwrap();
    assert_eq!(b.get_sessions(a, std::slice::from_ref(&z)).await.unwrap(), vec![Some(big)]);

    b.delete_session(a, &x).await.unwrap();
    b.delete_session(a, &x).await.unwrap();
    b.delete_session(a, &addr("nobody", "s.whatsapp.net", 0)).await.unwrap();
    assert_eq!(b.has_sessions(a, &[x.clone(), y.clone()]).await.unwrap(), vec![false, true]);

    assert_eq!(b.has_sessions(o, std::slice::from_ref(&y)).await.unwrap(), vec![false]);
    b.set_sessions(o, vec![(y.clone(), vec![42])]).await.unwrap();
    SessionStore::clear(&*b, a).await.unwrap();
    assert_eq!(b.get_sessions(a, &[y.clone(), z]).await.unwrap(), vec![None, None]);
    assert_eq!(b.get_sessions(o, &[y]).await.unwrap(), vec![Some(vec![42])]);
    SessionStore::clear(&*b, o).await.unwrap();
}

// ---- identity ---------------------------------------------------------------

pub async fn identity<B: IdentityStore + ?Sized>(b: Arc<B>) {
    let (a, o) = ("conf:identity:a", "conf:identity:b");
    for sid in [a, o] {
        IdentityStore::clear(&*b, sid).await.unwrap();
    }
    let x = addr("11111", "s.whatsapp.net", 1);
    let y = addr("22222", "s.whatsapp.net", 2);
    let missing = addr("99999", "s.whatsapp.net", 9);

    assert_eq!(b.get_remote_identities(a, std::slice::from_ref(&x)).await.unwrap(), vec![None]);
    b.set_remote_identities(a, vec![(x.clone(), vec![1, 2, 3]), (y.clone(), vec![4, 5, 6]), (y.clone(), vec![7])]).await.unwrap();
    assert_eq!(
        b.get_remote_identities(a, &[y.clone(), missing.clone(), x.clone(), y.clone()]).await.unwrap(),
        vec![Some(vec![7]), None, Some(vec![1, 2, 3]), Some(vec![7])]
    );
    b.set_remote_identities(a, vec![(x.clone(), vec![9; 33])]).await.unwrap();
    assert_eq!(b.get_remote_identities(a, std::slice::from_ref(&x)).await.unwrap(), vec![Some(vec![9; 33])]);
    assert_eq!(b.get_remote_identities(a, &[]).await.unwrap(), Vec::<Option<Vec<u8>>>::new());

    assert_eq!(b.get_remote_identities(o, std::slice::from_ref(&x)).await.unwrap(), vec![None]);
    b.set_remote_identities(o, vec![(x.clone(), vec![8])]).await.unwrap();
    IdentityStore::clear(&*b, a).await.unwrap();
    assert_eq!(b.get_remote_identities(a, &[x.clone(), y]).await.unwrap(), vec![None, None]);
    assert_eq!(b.get_remote_identities(o, &[x]).await.unwrap(), vec![Some(vec![8])]);
    IdentityStore::clear(&*b, o).await.unwrap();
}

// ---- senderKey --------------------------------------------------------------

pub async fn sender_key<B: SenderKeyStore + ?Sized>(b: Arc<B>) {
    let (a, o) = ("conf:senderkey:a", "conf:senderkey:b");
    for sid in [a, o] {
        SenderKeyStore::clear(&*b, sid).await.unwrap();
    }
    let (g1, g2) = ("group-1@g.us", "group-2@g.us");
    let sa = addr("11111", "s.whatsapp.net", 1);
    let sb = addr("22222", "lid", 2);
    let unknown = addr("99999", "s.whatsapp.net", 9);
    let sk = |g: &str, s: &SignalAddress, seed: u8| SenderKey { group_id: g.to_owned(), sender: s.clone(), record: vec![seed; 40] };
    let dist = |g: &str, s: &SignalAddress, key_id: u32| SenderKeyDistribution { group_id: g.to_owned(), sender: s.clone(), key_id, timestamp_ms: T + i64::from(key_id) };

    let empty = b.get_group_sender_keys(a, g1).await.unwrap();
    assert!(empty.sender_keys.is_empty() && empty.distributions.is_empty());

    b.upsert_sender_key(a, sk(g1, &sa, 1)).await.unwrap();
    b.upsert_sender_key(a, sk(g1, &sb, 2)).await.unwrap();
    b.upsert_sender_key(a, sk(g2, &sa, 3)).await.unwrap();
    b.upsert_sender_key_distributions(a, vec![dist(g1, &sa, 10), dist(g1, &sb, 11), dist(g2, &sa, 12), dist(g1, &sb, 13)]).await.unwrap();
    b.upsert_sender_key_distributions(a, vec![]).await.unwrap();

    let list = b.get_group_sender_keys(a, g1).await.unwrap();
    let by_sender = |k: &SenderKey| k.sender.clone();
    assert_eq!(sorted(&list.sender_keys, by_sender), sorted(&[sk(g1, &sa, 1), sk(g1, &sb, 2)], by_sender));
    let by_dist_sender = |d: &SenderKeyDistribution| d.sender.clone();
    assert_eq!(
        sorted(&list.distributions, by_dist_sender),
        sorted(&[dist(g1, &sa, 10), dist(g1, &sb, 13)], by_dist_sender),
        "later duplicate distributions win"
    );

    assert_eq!(b.get_device_sender_key(a, g1, &sa).await.unwrap(), Some(sk(g1, &sa, 1)));
    assert_eq!(b.get_device_sender_key(a, "group-3@g.us", &sa).await.unwrap(), None);
    let big = SenderKey { group_id: g1.to_owned(), sender: sa.clone(), record: big_blob(MIB, 9) };
    b.upsert_sender_key(a, big.clone()).await.unwrap();
    assert_eq!(b.get_device_sender_key(a, g1, &sa).await.unwrap(), Some(big), "whole-record replace");
    b.upsert_sender_key(a, sk(g1, &sa, 4)).await.unwrap();

    assert_eq!(
        b.get_device_sender_key_distributions(a, g1, &[sb.clone(), unknown.clone(), sa.clone(), sb.clone()]).await.unwrap(),
        vec![Some(dist(g1, &sb, 13)), None, Some(dist(g1, &sa, 10)), Some(dist(g1, &sb, 13))]
    );
    assert_eq!(b.get_device_sender_key_distributions(a, g1, &[]).await.unwrap(), vec![]);

    // Delimiter confusion: group "x|y" + user "z" vs group "x" + user "y|z".
    let (gx, gxy) = ("x", "x|y");
    let uz = addr("z", "s.whatsapp.net", 0);
    let uyz = addr("y|z", "s.whatsapp.net", 0);
    b.upsert_sender_key(a, sk(gxy, &uz, 20)).await.unwrap();
    b.upsert_sender_key(a, sk(gx, &uyz, 21)).await.unwrap();
    assert_eq!(b.get_device_sender_key(a, gxy, &uz).await.unwrap(), Some(sk(gxy, &uz, 20)));
    assert_eq!(b.get_device_sender_key(a, gx, &uyz).await.unwrap(), Some(sk(gx, &uyz, 21)));
    assert_eq!(b.get_device_sender_key(a, gx, &uz).await.unwrap(), None);
    assert_eq!(b.get_group_sender_keys(a, gx).await.unwrap().sender_keys, vec![sk(gx, &uyz, 21)]);

    // Deletion counts keys and distributions; with a group only that group.
    assert_eq!(b.delete_device_sender_key(a, &sa, Some(g1)).await.unwrap(), 2);
    assert_eq!(b.get_device_sender_key(a, g1, &sa).await.unwrap(), None);
    assert_eq!(b.get_device_sender_key(a, g2, &sa).await.unwrap(), Some(sk(g2, &sa, 3)));
    assert_eq!(b.delete_device_sender_key(a, &sa, Some(g1)).await.unwrap(), 0);
    // Without a group: every group.
    b.upsert_sender_key(a, sk(g1, &sa, 5)).await.unwrap();
    assert_eq!(b.delete_device_sender_key(a, &sa, None).await.unwrap(), 3, "g1 key, g2 key, g2 distribution");
    assert_eq!(b.get_device_sender_key(a, g2, &sa).await.unwrap(), None);
    assert_eq!(b.delete_device_sender_key(a, &sa, None).await.unwrap(), 0);
    assert_eq!(b.get_device_sender_key(a, g1, &sb).await.unwrap(), Some(sk(g1, &sb, 2)), "other senders untouched");

    // mark_forget: each participant in one group, duplicates and unknowns harmless.
    b.upsert_sender_key(a, sk(g2, &sb, 6)).await.unwrap();
    assert_eq!(b.mark_forget_sender_key(a, g1, &[sb.clone(), sb.clone(), unknown.clone()]).await.unwrap(), 2);
    assert_eq!(b.get_group_sender_keys(a, g1).await.unwrap(), Default::default());
    assert_eq!(b.get_device_sender_key(a, g2, &sb).await.unwrap(), Some(sk(g2, &sb, 6)));
    assert_eq!(b.mark_forget_sender_key(a, g1, &[]).await.unwrap(), 0);

    // Sessions are isolated.
    assert_eq!(b.get_device_sender_key(o, g2, &sb).await.unwrap(), None);
    assert_eq!(b.delete_device_sender_key(o, &sb, None).await.unwrap(), 0);
    b.upsert_sender_key(o, sk(g2, &sb, 7)).await.unwrap();
    SenderKeyStore::clear(&*b, a).await.unwrap();
    assert_eq!(b.get_device_sender_key(a, g2, &sb).await.unwrap(), None);
    assert_eq!(b.get_device_sender_key(o, g2, &sb).await.unwrap(), Some(sk(g2, &sb, 7)));
    SenderKeyStore::clear(&*b, o).await.unwrap();
}

// ---- appState ---------------------------------------------------------------

pub async fn app_state(b: DynBackend) {
    let (a, o) = ("conf:appstate:a", "conf:appstate:b");
    for sid in [a, o] {
        AppStateStore::clear(&*b, sid).await.unwrap();
    }

    assert_eq!(b.export_data(a).await.unwrap(), Default::default());
    assert_eq!(b.get_active_sync_key(a).await.unwrap(), None);
    assert_eq!(b.upsert_sync_keys(a, vec![]).await.unwrap(), 0);

    let k1 = sync_key(&key_id(5, 1), &[9, 9], 10);
    let k2 = sync_key(&key_id(7, 2), &[8, 8], 20);
    assert_eq!(b.upsert_sync_keys(a, vec![k1.clone(), k2.clone()]).await.unwrap(), 2);
    // Unchanged key data is skipped: not counted, not rewritten.
    assert_eq!(b.upsert_sync_keys(a, vec![sync_key(&k1.key_id, &k1.key_data, 999)]).await.unwrap(), 0);
    assert_eq!(b.get_sync_keys(a, std::slice::from_ref(&k1.key_id)).await.unwrap(), vec![Some(k1.clone())]);
    let k1b = SyncKey { key_data: vec![1, 2, 3], timestamp: 11, fingerprint: Some(vec![0xA5, 1, 0]), ..k1.clone() };
    assert_eq!(b.upsert_sync_keys(a, vec![k1b.clone(), k2.clone()]).await.unwrap(), 1);

    assert_eq!(
        b.get_sync_keys(a, &[k2.key_id.clone(), vec![7], k1.key_id.clone(), k2.key_id.clone()]).await.unwrap(),
        vec![Some(k2.clone()), None, Some(k1b.clone()), Some(k2.clone())]
    );
    assert_eq!(b.get_sync_keys(a, &[]).await.unwrap(), vec![]);

    // Active key: highest epoch, ties to the lower device id; short ids have epoch -1.
    assert_eq!(b.get_active_sync_key(a).await.unwrap(), Some(k2.clone()));
    let k3 = sync_key(&key_id(3, 2), &[7], 30);
    let short = sync_key(&[1, 2, 3], &[6], 40);
    assert_eq!(b.upsert_sync_keys(a, vec![short.clone(), k3.clone()]).await.unwrap(), 2);
    assert_eq!(b.get_active_sync_key(a).await.unwrap(), Some(k3.clone()));
    let k4 = sync_key(&key_id(9, 70_000), &[5], 50);
    b.upsert_sync_keys(a, vec![k4.clone()]).await.unwrap();
    assert_eq!(b.get_active_sync_key(a).await.unwrap(), Some(k4.clone()));

    // Collections: unknown ones read as empty, positional.
    let names = strings(&["regular", "critical_block", "never-written"]);
    let empty = CollectionState::empty();
    assert_eq!(empty.hash.len(), EMPTY_LT_HASH_LEN);
    assert_eq!(b.get_collection_states(a, &names).await.unwrap(), vec![empty.clone(), empty.clone(), empty.clone()]);

    let map = |pairs: &[(&str, &[u8])]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_vec())).collect::<Vec<_>>();
    let regular = CollectionUpdate { collection: "regular".into(), version: 3, hash: vec![1; 128], index_value_map: map(&[("bb", &[2]), ("aa", &[1])]) };
    let critical = CollectionUpdate { collection: "critical_block".into(), version: 4, hash: vec![2; 128], index_value_map: map(&[("cc", &[3])]) };
    b.set_collection_states(a, vec![regular.clone(), critical.clone()]).await.unwrap();
    b.set_collection_states(a, vec![]).await.unwrap();

    let states = b.get_collection_states(a, &[names[1].clone(), names[2].clone(), names[0].clone(), names[1].clone()]).await.unwrap();
    assert_eq!(states.len(), 4);
    let check = |s: &CollectionState, u: &CollectionUpdate| {
        assert!(s.initialized);
        assert_eq!((s.version, &s.hash), (u.version, &u.hash));
        assert_eq!(sorted_map(&s.index_value_map), sorted_map(&u.index_value_map));
    };
    check(&states[0], &critical);
    assert_eq!(states[1], empty);
    check(&states[2], &regular);
    check(&states[3], &critical);

    // A later update replaces version, hash and the whole map.
    let regular2 = CollectionUpdate { version: 5, hash: vec![3; 128], index_value_map: map(&[("dd", &[4]), ("aa", &[9])]), ..regular.clone() };
    b.set_collection_states(a, vec![regular2.clone()]).await.unwrap();
    check(&b.get_collection_states(a, &names[..1]).await.unwrap()[0], &regular2);

    // A large map survives intact.
    let large: Vec<(String, Vec<u8>)> = (0..2_000u32).map(|i| (format!("{i:064x}"), big_blob(32, i as u8))).collect();
    let regular3 = CollectionUpdate { index_value_map: large, ..regular2.clone() };
    b.set_collection_states(a, vec![regular3.clone()]).await.unwrap();
    check(&b.get_collection_states(a, &names[..1]).await.unwrap()[0], &regular3);
    b.set_collection_states(a, vec![regular2.clone()]).await.unwrap();

    // Export: every key, initialized collections only.
    let exported = b.export_data(a).await.unwrap();
    let by_id = |k: &SyncKey| k.key_id.clone();
    assert_eq!(sorted(&exported.keys, by_id), sorted(&[k1b.clone(), k2.clone(), k3, short, k4], by_id));
    let by_name = |c: &CollectionUpdate| c.collection.clone();
    let mut collections = sorted(&exported.collections, by_name);
    for c in &mut collections {
        c.index_value_map = sorted_map(&c.index_value_map);
    }
    let mut want = sorted(&[regular2.clone(), critical.clone()], by_name);
    for c in &mut want {
        c.index_value_map = sorted_map(&c.index_value_map);
    }
    assert_eq!(collections, want);

    // Isolation and clear.
    assert_eq!(b.export_data(o).await.unwrap(), Default::default());
    assert_eq!(b.get_collection_states(o, &names[..1]).await.unwrap(), vec![empty.clone()]);
    b.upsert_sync_keys(o, vec![k1.clone()]).await.unwrap();
    assert_eq!(b.get_sync_keys(o, std::slice::from_ref(&k1.key_id)).await.unwrap(), vec![Some(k1.clone())], "same id, other session, own data");
    AppStateStore::clear(&*b, a).await.unwrap();
    assert_eq!(b.export_data(a).await.unwrap(), Default::default());
    assert_eq!(b.get_collection_states(a, &names[..1]).await.unwrap(), vec![empty]);
    assert_eq!(b.get_active_sync_key(o).await.unwrap(), Some(k1));
    AppStateStore::clear(&*b, o).await.unwrap();
}

// ---- privacyToken -----------------------------------------------------------

pub async fn privacy_token(b: DynBackend) {
    let (a, o) = ("conf:privacy:a", "conf:privacy:b");
    for sid in [a, o] {
        PrivacyTokenStore::clear(&*b, sid).await.unwrap();
    }
    let jid = "alice@s.whatsapp.net";
    let token = |updated_at_ms: i64| PrivacyToken { jid: jid.to_owned(), updated_at_ms, ..Default::default() };

    assert_eq!(b.get_privacy_token(a, jid).await.unwrap(), None);
    b.upsert_privacy_tokens(a, vec![PrivacyToken { tc_token: Some(vec![1, 2, 3]), tc_token_timestamp: Some(100), ..token(10) }]).await.unwrap();
    b.upsert_privacy_tokens(a, vec![PrivacyToken { nct_salt: Some(vec![7, 8, 9]), ..token(11) }]).await.unwrap();
    let want = PrivacyToken {
        tc_token: Some(vec![1, 2, 3]),
        tc_token_timestamp: Some(100),
        nct_salt: Some(vec![7, 8, 9]),
        ..token(11)
    };
    assert_eq!(b.get_privacy_token(a, jid).await.unwrap(), Some(want.clone()), "field-level merge, updated_at overwritten");

    // In one batch, records merge in order.
    b.upsert_privacy_tokens(
        a,
        vec![
            PrivacyToken { tc_token: Some(vec![4]), tc_token_sender_timestamp: Some(5), ..token(12) },
            PrivacyToken { tc_token_timestamp: Some(200), ..token(9) },
        ],
    )
    .await
    .unwrap();
    let want2 = PrivacyToken { tc_token: Some(vec![4]), tc_token_timestamp: Some(200), tc_token_sender_timestamp: Some(5), ..want.clone() };
    assert_eq!(b.get_privacy_token(a, jid).await.unwrap(), Some(PrivacyToken { updated_at_ms: 9, ..want2 }));

    assert_eq!(b.get_privacy_token(o, jid).await.unwrap(), None);
    b.upsert_privacy_tokens(o, vec![token(1)]).await.unwrap();
    assert_eq!(b.delete_privacy_token(a, jid).await.unwrap(), 1);
    assert_eq!(b.delete_privacy_token(a, jid).await.unwrap(), 0);
    assert_eq!(b.get_privacy_token(a, jid).await.unwrap(), None);
    b.upsert_privacy_tokens(a, vec![token(2)]).await.unwrap();
    PrivacyTokenStore::clear(&*b, a).await.unwrap();
    assert_eq!(b.get_privacy_token(a, jid).await.unwrap(), None);
    assert_eq!(b.get_privacy_token(o, jid).await.unwrap(), Some(token(1)));
    PrivacyTokenStore::clear(&*b, o).await.unwrap();
}

// ---- messages ---------------------------------------------------------------

pub async fn messages(b: DynBackend) {
    let (a, o) = ("conf:messages:a", "conf:messages:b");
    for sid in [a, o] {
        MessageStore::clear(&*b, sid).await.unwrap();
    }
    let (t, u) = ("thread-t@s.whatsapp.net", "thread-u@g.us");
    let ids = |list: &[StoredMessage]| list.iter().map(|m| m.id.clone()).collect::<Vec<_>>();

    assert_eq!(b.list_messages_by_thread(a, t, 10, None).await.unwrap(), vec![]);
    b.upsert_messages(
        a,
        vec![
            message("m1", t, Some(1_000)),
            message("m2", t, Some(2_000)),
            message("m3", t, Some(3_000)),
            message("m4", u, Some(4_000)),
            message("m5", t, None),
            message("m6", t, Some(2_000)),
            message("m7", t, Some(-5)),
        ],
    )
    .await
    .unwrap();
    b.upsert_messages(a, vec![]).await.unwrap();

    // Newest first, ties by id descending, undefined timestamps last.
    assert_eq!(ids(&b.list_messages_by_thread(a, t, 50, None).await.unwrap()), ["m3", "m6", "m2", "m1", "m7", "m5"]);
    assert_eq!(ids(&b.list_messages_by_thread(a, t, 2, None).await.unwrap()), ["m3", "m6"]);
    // `before` is strict and drops undefined timestamps.
    assert_eq!(ids(&b.list_messages_by_thread(a, t, 50, Some(3_000)).await.unwrap()), ["m6", "m2", "m1", "m7"]);
    assert_eq!(ids(&b.list_messages_by_thread(a, t, 1, Some(2_000)).await.unwrap()), ["m1"]);
    assert_eq!(ids(&b.list_messages_by_thread(a, t, 50, Some(-5)).await.unwrap()), Vec::<String>::new());
    assert_eq!(b.list_messages_by_thread(a, "nobody", 50, None).await.unwrap(), vec![]);

    assert_eq!(b.get_message(a, "m1").await.unwrap(), Some(message("m1", t, Some(1_000))));
    assert_eq!(b.get_message(a, "missing").await.unwrap(), None);

    // Full replace: the message moves thread and loses fields it no longer has.
    let moved = StoredMessage {
        id: "m1".into(),
        thread_jid: u.into(),
        sender_jid: None,
        participant_jid: Some("alice:1@s.whatsapp.net".into()),
        from_me: true,
        timestamp_ms: Some(5_000),
        message_bytes: Some(big_blob(MIB, 1)),
    };
    b.upsert_messages(a, vec![moved.clone()]).await.unwrap();
    assert_eq!(b.get_message(a, "m1").await.unwrap(), Some(moved));
    assert_eq!(ids(&b.list_messages_by_thread(a, t, 50, None).await.unwrap()), ["m3", "m6", "m2", "m7", "m5"]);
    assert_eq!(ids(&b.list_messages_by_thread(a, u, 50, None).await.unwrap()), ["m1", "m4"]);
    let bare = StoredMessage { sender_jid: None, message_bytes: None, ..message("m4", u, Some(4_000)) };
    b.upsert_messages(a, vec![bare.clone()]).await.unwrap();
    assert_eq!(b.get_message(a, "m4").await.unwrap(), Some(bare));

    assert_eq!(b.delete_message(a, "m2").await.unwrap(), 1);
    assert_eq!(b.delete_message(a, "m2").await.unwrap(), 0);
    assert_eq!(ids(&b.list_messages_by_thread(a, t, 50, None).await.unwrap()), ["m3", "m6", "m7", "m5"]);

    assert_eq!(b.get_message(o, "m3").await.unwrap(), None);
    assert_eq!(b.list_messages_by_thread(o, t, 50, None).await.unwrap(), vec![]);
    b.upsert_messages(o, vec![message("m3", t, Some(1))]).await.unwrap();
    MessageStore::clear(&*b, a).await.unwrap();
    assert_eq!(b.get_message(a, "m3").await.unwrap(), None);
    assert_eq!(b.list_messages_by_thread(a, t, 50, None).await.unwrap(), vec![]);
    assert_eq!(b.list_messages_by_thread(o, t, 50, None).await.unwrap(), vec![message("m3", t, Some(1))]);
    MessageStore::clear(&*b, o).await.unwrap();
}

// ---- message pages ----------------------------------------------------------

/// Every message of the thread from `start`, `limit` at a time, each page
/// starting after the last message of the one before.
async fn walk(b: &DynBackend, sid: &str, thread: &str, limit: u32, start: PageStart) -> Vec<StoredMessage> {
    let (mut out, mut start) = (Vec::new(), start);
    loop {
        let page = b.list_messages_page(sid, thread, limit, &start).await.unwrap();
        assert!(page.len() <= limit as usize);
        let Some(last) = page.last() else { return out };
        start = PageStart::after(last);
        let full = page.len() == limit as usize;
        out.extend(page);
        if !full {
            return out;
        }
    }
}

/// Walk order: timestamps never rise, undefined ones come last, and the ties
/// of one timestamp are in a strict order (byte order, or MySQL's hash order).
fn assert_walk_order(list: &[StoredMessage]) {
    for pair in list.windows(2) {
        let (x, y) = (&pair[0], &pair[1]);
        let later = match (x.timestamp_ms, y.timestamp_ms) {
            (Some(a), Some(b)) => a >= b,
            (Some(_), None) | (None, None) => true,
            (None, Some(_)) => false,
        };
        assert!(later, "{} ({:?}) before {} ({:?})", x.id, x.timestamp_ms, y.id, y.timestamp_ms);
    }
}

pub async fn message_pages(b: DynBackend) {
    let (a, o) = ("conf:pages:a", "conf:pages:b");
    for sid in [a, o] {
        MessageStore::clear(&*b, sid).await.unwrap();
    }
    let (t, u) = ("pages@g.us", "other@s.whatsapp.net");
    let ids = |list: &[StoredMessage]| list.iter().map(|m| m.id.clone()).collect::<Vec<_>>();
    let hostile = ["a", "a\u{1}", "%", "_x", "it's", "\"q\"", "[*?]", "ünï 🙂", "Z", "a:b|c"];
    // 150 messages share one timestamp, 20 have none, 80 are spread around it.
    let mut all = Vec::new();
    for i in 0..150 {
        all.push(message(&format!("tie-{i:03}-{}", hostile[i % hostile.len()]), t, Some(5_000)));
    }
    for i in 0..20 {
        all.push(message(&format!("none-{i:02}{}", hostile[i % hostile.len()]), t, None));
    }
    for i in 0..80i64 {
        all.push(message(&format!("spread-{i:02}"), t, Some(4_960 + i)));
    }
    b.upsert_messages(a, all.clone()).await.unwrap();
    b.upsert_messages(a, vec![message("elsewhere", u, Some(5_000))]).await.unwrap();
    b.upsert_messages(o, vec![message("tie-000-a", t, Some(5_000))]).await.unwrap();

    // Walking pages returns every message once, in walk order, whatever the page size.
    let full = walk(&b, a, t, 1_000, PageStart::Newest).await;
    assert_eq!(full.len(), all.len());
    let mut seen = ids(&full);
    seen.sort();
    let mut expected = ids(&all);
    expected.sort();
    assert_eq!(seen, expected, "every message exactly once");
    assert_walk_order(&full);
    assert!(full.iter().all(|m| m.message_bytes.as_deref() == Some(&[1, 2, 3][..])), "whole records");
    for limit in [1, 7, 100] {
        assert_eq!(ids(&walk(&b, a, t, limit, PageStart::Newest).await), ids(&full), "limit {limit}");
    }
    assert_eq!(ids(&b.list_messages_page(a, t, 5, &PageStart::Newest).await.unwrap()), ids(&full[..5]));

    // `Before(ts)`: strictly older timestamps, then the untimed ones.
    let older: Vec<String> =
        full.iter().filter(|m| m.timestamp_ms.is_none_or(|ts| ts < 5_000)).map(|m| m.id.clone()).collect();
    assert_eq!(ids(&walk(&b, a, t, 9, PageStart::Before(5_000)).await), older);
    assert_eq!(walk(&b, a, t, 9, PageStart::Before(i64::MIN)).await.len(), 20, "only the untimed ones");

    // A cursor whose message is gone still resumes at the right place: in the
    // ties, in the untimed tail, and for a page start no message ever had.
    for k in [60, 171, 200, 235] {
        let gone = &full[k];
        assert_eq!(b.delete_message(a, &gone.id).await.unwrap(), 1);
        let rest = walk(&b, a, t, 11, PageStart::after(gone)).await;
        assert_eq!(ids(&rest), ids(&full[k + 1..]), "after deleted {}", gone.id);
        b.upsert_messages(a, vec![gone.clone()]).await.unwrap();
    }

    // A message that moved thread leaves the old thread's walk.
    let moved = StoredMessage { thread_jid: u.into(), ..full[3].clone() };
    b.upsert_messages(a, vec![moved.clone()]).await.unwrap();
    let without: Vec<String> = ids(&full).into_iter().filter(|id| *id != moved.id).collect();
    assert_eq!(ids(&walk(&b, a, t, 13, PageStart::Newest).await), without);
    assert_eq!(walk(&b, a, u, 13, PageStart::Newest).await.len(), 2);
    b.upsert_messages(a, vec![full[3].clone()]).await.unwrap();

    // Deleting from a page start removes exactly what a walk from there returns.
    let k = 120;
    assert_eq!(b.delete_thread_messages(a, t, &PageStart::after(&full[k])).await.unwrap(), (full.len() - k - 1) as u32);
    assert_eq!(ids(&walk(&b, a, t, 50, PageStart::Newest).await), ids(&full[..=k]));
    assert_eq!(b.delete_thread_messages(a, t, &PageStart::Before(4_990)).await.unwrap(), 0, "already gone");
    let cut = full[..=k].iter().filter(|m| m.timestamp_ms.is_some_and(|ts| ts < 5_010)).count() as u32;
    assert_eq!(b.delete_thread_messages(a, t, &PageStart::Before(5_010)).await.unwrap(), cut);
    assert!(walk(&b, a, t, 50, PageStart::Newest).await.iter().all(|m| m.timestamp_ms >= Some(5_010)));
    b.upsert_messages(a, vec![message("late-1", t, None), message("late-2", t, None)]).await.unwrap();
    let left = walk(&b, a, t, 50, PageStart::Newest).await;
    assert_eq!(left.len(), 32);
    assert_eq!(b.delete_thread_messages(a, t, &PageStart::after(&left[30])).await.unwrap(), 1, "in the untimed tail");
    assert_eq!(ids(&walk(&b, a, t, 50, PageStart::Newest).await), ids(&left[..31]));
    assert_eq!(b.delete_thread_messages(a, t, &PageStart::Newest).await.unwrap(), 31);
    assert_eq!(b.list_messages_page(a, t, 10, &PageStart::Newest).await.unwrap(), vec![]);

    // Other threads and sessions are untouched.
    assert_eq!(ids(&b.list_messages_page(a, u, 10, &PageStart::Newest).await.unwrap()), ["elsewhere"]);
    assert_eq!(ids(&b.list_messages_page(o, t, 10, &PageStart::Newest).await.unwrap()), ["tie-000-a"]);
    assert_eq!(b.delete_thread_messages(a, "nobody", &PageStart::Newest).await.unwrap(), 0);
    assert_eq!(b.list_messages_page(a, "nobody", 10, &PageStart::Newest).await.unwrap(), vec![]);
    for sid in [a, o] {
        MessageStore::clear(&*b, sid).await.unwrap();
    }
}

// ---- threads ----------------------------------------------------------------

pub async fn threads(b: DynBackend) {
    let (a, o) = ("conf:threads:a", "conf:threads:b");
    for sid in [a, o] {
        ThreadStore::clear(&*b, sid).await.unwrap();
    }
    let thread = |jid: &str| StoredThread { jid: jid.to_owned(), ..Default::default() };
    let t1 = "chat-1@s.whatsapp.net";

    assert_eq!(b.list_threads(a, 10).await.unwrap(), vec![]);
    b.upsert_threads(a, vec![StoredThread { name: Some("Chat 1".into()), unread_count: Some(3), pinned: Some(1), ..thread(t1) }]).await.unwrap();
    b.upsert_threads(a, vec![StoredThread { archived: Some(true), unread_count: Some(0), ..thread(t1) }]).await.unwrap();
    let full = StoredThread {
        name: Some("Chat 1".into()),
        unread_count: Some(0),
        archived: Some(true),
        pinned: Some(1),
        mute_end_ms: Some(-1),
        marked_as_unread: Some(false),
        ephemeral_expiration: Some(604_800),
        ephemeral_setting_timestamp: Some(1_751_808_692),
        ..thread(t1)
    };
    b.upsert_threads(
        a,
        vec![StoredThread {
            mute_end_ms: Some(-1),
            marked_as_unread: Some(false),
            ephemeral_expiration: Some(604_800),
            ephemeral_setting_timestamp: Some(1_751_808_692),
            ..thread(t1)
        }],
    )
    .await
    .unwrap();
    assert_eq!(b.get_thread(a, t1).await.unwrap(), Some(full.clone()), "field-level merge");
    b.upsert_threads(a, vec![thread(t1)]).await.unwrap();
    assert_eq!(b.get_thread(a, t1).await.unwrap(), Some(full.clone()), "absent fields keep stored values");

    b.upsert_threads(a, vec![thread("t2"), thread("t3"), thread("t4")]).await.unwrap();
    b.upsert_threads(a, vec![]).await.unwrap();
    assert_eq!(b.list_threads(a, 2).await.unwrap().len(), 2);
    let all = b.list_threads(a, 100).await.unwrap();
    let mut jids: Vec<String> = all.iter().map(|t| t.jid.clone()).collect();
    jids.sort();
    assert_eq!(jids, [t1, "t2", "t3", "t4"]);
    assert!(all.contains(&full));

    assert_eq!(b.get_thread(a, "missing").await.unwrap(), None);
    assert_eq!(b.delete_thread(a, "t2").await.unwrap(), 1);
    assert_eq!(b.delete_thread(a, "t2").await.unwrap(), 0);
    assert_eq!(b.list_threads(a, 100).await.unwrap().len(), 3);

    assert_eq!(b.list_threads(o, 100).await.unwrap(), vec![]);
    b.upsert_threads(o, vec![thread(t1)]).await.unwrap();
    assert_eq!(b.get_thread(o, t1).await.unwrap(), Some(thread(t1)));
    ThreadStore::clear(&*b, a).await.unwrap();
    assert_eq!(b.list_threads(a, 100).await.unwrap(), vec![]);
    assert_eq!(b.list_threads(o, 100).await.unwrap(), vec![thread(t1)]);
    ThreadStore::clear(&*b, o).await.unwrap();
}

// ---- contacts ---------------------------------------------------------------

pub async fn contacts(b: DynBackend) {
    let (a, o) = ("conf:contacts:a", "conf:contacts:b");
    for sid in [a, o] {
        ContactStore::clear(&*b, sid).await.unwrap();
    }
    let (lid, pn1, pn2) = ("123@lid", "5511@s.whatsapp.net", "5522@s.whatsapp.net");

    b.upsert_contacts(a, vec![StoredContact { display_name: Some("Alice".into()), phone_number: Some(pn1.into()), ..contact(lid, 1_000) }])
        .await
        .unwrap();
    let alice = StoredContact { display_name: Some("Alice".into()), phone_number: Some(pn1.into()), ..contact(lid, 1_000) };
    assert_eq!(b.get_contact(a, lid).await.unwrap(), Some(alice.clone()));
    assert_eq!(b.get_contact_by_phone_number(a, pn1).await.unwrap(), Some(alice.clone()));
    assert_eq!(b.get_contact(a, pn1).await.unwrap(), None, "get_contact is a direct hit only");
    assert_eq!(get_contact_or_by_phone(&*b, a, pn1).await.unwrap(), Some(alice.clone()));
    assert_eq!(get_contact_or_by_phone(&*b, a, "999@lid").await.unwrap(), None);

    // Field-level merge; last_updated_ms keeps the larger value.
    b.upsert_contacts(a, vec![StoredContact { push_name: Some("Ali".into()), ..contact(lid, 2_000) }]).await.unwrap();
    b.upsert_contacts(a, vec![StoredContact { username: Some("ali".into()), lid: Some(lid.into()), ..contact(lid, 500) }]).await.unwrap();
    let merged = StoredContact { push_name: Some("Ali".into()), username: Some("ali".into()), lid: Some(lid.into()), last_updated_ms: 2_000, ..alice.clone() };
    assert_eq!(b.get_contact(a, lid).await.unwrap(), Some(merged.clone()));

    // A changed phone number leaves the old one unindexed.
    b.upsert_contacts(a, vec![StoredContact { phone_number: Some(pn2.into()), ..contact(lid, 3_000) }]).await.unwrap();
    let moved = StoredContact { phone_number: Some(pn2.into()), last_updated_ms: 3_000, ..merged };
    assert_eq!(b.get_contact_by_phone_number(a, pn1).await.unwrap(), None);
    assert_eq!(b.get_contact_by_phone_number(a, pn2).await.unwrap(), Some(moved.clone()));

    b.upsert_contacts(a, vec![contact("bob@lid", 1), StoredContact { display_name: Some("Carol".into()), ..contact("carol@lid", 2) }]).await.unwrap();
    b.upsert_contacts(a, vec![]).await.unwrap();
    assert_eq!(b.get_contact(a, "bob@lid").await.unwrap(), Some(contact("bob@lid", 1)));

    assert_eq!(b.delete_contact(a, lid).await.unwrap(), 1);
    assert_eq!(b.delete_contact(a, lid).await.unwrap(), 0);
    assert_eq!(b.delete_contact(a, "missing@s.whatsapp.net").await.unwrap(), 0);
    assert_eq!(b.get_contact_by_phone_number(a, pn2).await.unwrap(), None, "deleting a contact drops its phone lookup");

    assert_eq!(b.get_contact(o, "bob@lid").await.unwrap(), None);
    b.upsert_contacts(o, vec![StoredContact { phone_number: Some(pn2.into()), ..contact(lid, 7) }]).await.unwrap();
    b.upsert_contacts(a, vec![StoredContact { phone_number: Some(pn2.into()), ..contact(lid, 8) }]).await.unwrap();
    ContactStore::clear(&*b, a).await.unwrap();
    assert_eq!(b.get_contact(a, "bob@lid").await.unwrap(), None);
    assert_eq!(b.get_contact_by_phone_number(a, pn2).await.unwrap(), None);
    let other = StoredContact { phone_number: Some(pn2.into()), ..contact(lid, 7) };
    assert_eq!(b.get_contact_by_phone_number(o, pn2).await.unwrap(), Some(other));
    ContactStore::clear(&*b, o).await.unwrap();
}

// ---- retry ------------------------------------------------------------------

pub async fn retry(b: DynBackend) {
    let (a, o) = ("conf:retry:a", "conf:retry:b");
    for sid in [a, o] {
        RetryStore::clear(&*b, sid).await.unwrap();
    }
    assert!(b.retry_ttl_ms() > 0);
    let _ = b.supports_raw_replay_payload();
    let (d1, d2, stranger) = ("dev1@s.whatsapp.net", "dev2@s.whatsapp.net", "unknown@s.whatsapp.net");

    let mut m1 = outbound("m1", Some(&[d1, d2][..]), 10_000);
    m1.replay_payload = big_blob(MIB, 4);
    b.upsert_outbound_message(a, m1.clone()).await.unwrap();
    assert_eq!(b.get_outbound_message(a, "m1").await.unwrap(), Some(m1.clone()));
    assert_eq!(b.get_outbound_message(a, "missing").await.unwrap(), None);

    let status = |eligible, delivered| Some(RequesterStatus { eligible, delivered });
    assert_eq!(b.get_outbound_requester_status(a, "m1", d1).await.unwrap(), status(true, false));
    assert_eq!(b.get_outbound_requester_status(a, "m1", stranger).await.unwrap(), status(false, false));
    assert_eq!(b.get_outbound_requester_status(a, "missing", d1).await.unwrap(), None);

    b.mark_outbound_requester_delivered(a, "m1", d1, 1_001, 11_000).await.unwrap();
    b.mark_outbound_requester_delivered(a, "m1", d1, 1_002, 12_000).await.unwrap();
    assert_eq!(b.get_outbound_requester_status(a, "m1", d1).await.unwrap(), status(true, true));
    assert_eq!(b.get_outbound_requester_status(a, "m1", d2).await.unwrap(), status(true, false));
    let stored = b.get_outbound_message(a, "m1").await.unwrap().expect("m1");
    assert_eq!(stored.delivered_requester_device_jids, Some(strings(&[d1])), "delivered once");
    assert_eq!(stored.eligible_requester_device_jids, Some(strings(&[d1, d2])));
    b.mark_outbound_requester_delivered(a, "missing", d1, 1, 2).await.unwrap();
    assert_eq!(b.get_outbound_message(a, "missing").await.unwrap(), None, "no-op for unknown messages");

    // Without eligible requesters there is no status, even after a delivery mark.
    b.upsert_outbound_message(a, outbound("m2", None, 20_000)).await.unwrap();
    assert_eq!(b.get_outbound_requester_status(a, "m2", d1).await.unwrap(), None);
    b.mark_outbound_requester_delivered(a, "m2", d1, 1_001, 20_000).await.unwrap();
    assert_eq!(b.get_outbound_requester_status(a, "m2", d1).await.unwrap(), None);

    b.update_outbound_message_state(a, "m1", "delivered", 1_005, 13_000).await.unwrap();
    let stored = b.get_outbound_message(a, "m1").await.unwrap().expect("m1");
    assert_eq!((stored.state.as_str(), stored.updated_at_ms, stored.expires_at_ms), ("delivered", 1_005, 13_000));
    assert_eq!(stored.replay_payload, m1.replay_payload);
    assert_eq!(stored.delivered_requester_device_jids, Some(strings(&[d1])));
    b.update_outbound_message_state(a, "missing", "read", 1, 2).await.unwrap();
    assert_eq!(b.get_outbound_message(a, "missing").await.unwrap(), None);

    // A full upsert replaces everything, delivered list included.
    let m1b = RetryOutboundMessage { state: "read".into(), replay_mode: "encrypted".into(), ..outbound("m1", Some(&[d2][..]), 14_000) };
    b.upsert_outbound_message(a, m1b.clone()).await.unwrap();
    assert_eq!(b.get_outbound_message(a, "m1").await.unwrap(), Some(m1b));
    assert_eq!(b.get_outbound_requester_status(a, "m1", d1).await.unwrap(), status(false, false));

    // Inbound counters: per (message, requester), starting at 1.
    assert_eq!(b.increment_inbound_counter(a, "in-1", "dev-a", 1_000, 2_000).await.unwrap(), 1);
    assert_eq!(b.increment_inbound_counter(a, "in-1", "dev-a", 1_100, 2_000).await.unwrap(), 2);
    assert_eq!(b.increment_inbound_counter(a, "in-1", "dev-a", 1_999, 2_500).await.unwrap(), 3);
    assert_eq!(b.increment_inbound_counter(a, "in-1", "dev-b", 1_000, 2_000).await.unwrap(), 1);
    assert_eq!(b.increment_inbound_counter(a, "in-2", "dev-a", 1_000, 2_000).await.unwrap(), 1);
    // A counter whose expiry is at or before this call's time restarts.
    assert_eq!(b.increment_inbound_counter(a, "in-1", "dev-a", 2_500, 4_000).await.unwrap(), 1);
    assert_eq!(b.increment_inbound_counter(a, "in-1", "dev-a", 2_600, 4_000).await.unwrap(), 2);

    // Counters in o are separate.
    assert_eq!(b.increment_inbound_counter(o, "in-1", "dev-a", 2_600, 4_000).await.unwrap(), 1);
    b.upsert_outbound_message(o, outbound("m1", None, 10_000)).await.unwrap();

    // Cleanup: expires_at <= now goes. Outbound m1 14000, m2 20000; counters in-1/dev-b 2000,
    // in-2/dev-a 2000, in-1/dev-a 4000.
    assert_eq!(b.cleanup_expired(a, 1_999).await.unwrap(), 0);
    assert_eq!(b.cleanup_expired(a, 2_000).await.unwrap(), 2);
    assert_eq!(b.increment_inbound_counter(a, "in-2", "dev-a", 0, 5_000).await.unwrap(), 1, "cleaned counters restart");
    assert_eq!(b.cleanup_expired(a, 14_000).await.unwrap(), 3);
    assert_eq!(b.get_outbound_message(a, "m1").await.unwrap(), None);
    assert!(b.get_outbound_message(a, "m2").await.unwrap().is_some());
    assert_eq!(b.cleanup_expired(a, 14_000).await.unwrap(), 0);

    assert_eq!(b.delete_outbound_message(a, "m2").await.unwrap(), 1);
    assert_eq!(b.delete_outbound_message(a, "m2").await.unwrap(), 0);

    b.upsert_outbound_message(a, outbound("m3", Some(&[d1][..]), 30_000)).await.unwrap();
    RetryStore::clear(&*b, a).await.unwrap();
    assert_eq!(b.get_outbound_message(a, "m3").await.unwrap(), None);
    assert_eq!(b.increment_inbound_counter(a, "in-1", "dev-a", 0, 1).await.unwrap(), 1);
    assert!(b.get_outbound_message(o, "m1").await.unwrap().is_some(), "other session intact");
    assert_eq!(b.increment_inbound_counter(o, "in-1", "dev-a", 2_600, 4_000).await.unwrap(), 2);
    for sid in [a, o] {
        RetryStore::clear(&*b, sid).await.unwrap();
    }
}

// ---- groupMetadata ----------------------------------------------------------

pub async fn group_metadata(b: DynBackend) {
    let (a, o) = ("conf:groupmeta:a", "conf:groupmeta:b");
    for sid in [a, o] {
        GroupMetadataStore::clear(&*b, sid).await.unwrap();
    }
    let g = "group-1@g.us";

    assert_eq!(b.get_group_metadata(a, g, T).await.unwrap(), None);
    b.upsert_group_metadata(a, group(g, T)).await.unwrap();
    assert_eq!(b.get_group_metadata(a, g, T).await.unwrap(), Some(group(g, T)));
    assert_eq!(b.get_group_metadata(a, g, T + 1).await.unwrap(), Some(group(g, T)));
    assert_eq!(b.get_group_metadata(a, g, T + FAR).await.unwrap(), None, "expired");

    // Whole-snapshot replace: cleared settings come back absent.
    let plain = GroupMetadata { ephemeral: None, ephemeral_trigger: None, participants: vec![], ..group(g, T + 1) };
    b.upsert_group_metadata(a, plain.clone()).await.unwrap();
    assert_eq!(b.get_group_metadata(a, g, T + 1).await.unwrap(), Some(plain));

    assert_eq!(b.delete_group_metadata(a, g).await.unwrap(), 1);
    assert_eq!(b.delete_group_metadata(a, g).await.unwrap(), 0);
    assert_eq!(b.get_group_metadata(a, g, T).await.unwrap(), None);

    b.upsert_group_metadata(a, group("old@g.us", T)).await.unwrap();
    b.upsert_group_metadata(a, group("new@g.us", T + 2 * FAR)).await.unwrap();
    assert_eq!(b.cleanup_expired_group_metadata(a, T).await.unwrap(), 0);
    assert_eq!(b.cleanup_expired_group_metadata(a, T + FAR).await.unwrap(), 1);
    assert_eq!(b.get_group_metadata(a, "old@g.us", T).await.unwrap(), None, "cleanup deleted it");
    assert_eq!(b.get_group_metadata(a, "new@g.us", T + FAR).await.unwrap(), Some(group("new@g.us", T + 2 * FAR)));

    assert_eq!(b.get_group_metadata(o, "new@g.us", T).await.unwrap(), None);
    assert_eq!(b.cleanup_expired_group_metadata(o, T + 4 * FAR).await.unwrap(), 0);
    b.upsert_group_metadata(o, group(g, T)).await.unwrap();
    GroupMetadataStore::clear(&*b, a).await.unwrap();
    assert_eq!(b.get_group_metadata(a, "new@g.us", T + FAR).await.unwrap(), None);
    assert_eq!(b.get_group_metadata(o, g, T).await.unwrap(), Some(group(g, T)));
    GroupMetadataStore::clear(&*b, o).await.unwrap();
}

// ---- chatMetadata -----------------------------------------------------------

pub async fn chat_metadata(b: DynBackend) {
    let (a, o) = ("conf:chatmeta:a", "conf:chatmeta:b");
    for sid in [a, o] {
        ChatMetadataStore::clear(&*b, sid).await.unwrap();
    }
    let c = "chat-1@lid";

    assert_eq!(b.get_chat_metadata(a, c, T).await.unwrap(), None);
    b.upsert_chat_metadata(a, chat(c, T)).await.unwrap();
    assert_eq!(b.get_chat_metadata(a, c, T).await.unwrap(), Some(chat(c, T)));
    assert_eq!(b.get_chat_metadata(a, c, T + FAR).await.unwrap(), None, "expired");

    let disabled = ChatMetadata { ephemeral_expiration: Some(0), ephemeral_setting_timestamp: None, ..chat(c, T + 1) };
    b.upsert_chat_metadata(a, disabled.clone()).await.unwrap();
    assert_eq!(b.get_chat_metadata(a, c, T + 1).await.unwrap(), Some(disabled));

    assert_eq!(b.delete_chat_metadata(a, c).await.unwrap(), 1);
    assert_eq!(b.delete_chat_metadata(a, c).await.unwrap(), 0);

    b.upsert_chat_metadata(a, chat("old@lid", T)).await.unwrap();
    b.upsert_chat_metadata(a, chat("older@lid", T - 1)).await.unwrap();
    b.upsert_chat_metadata(a, chat("new@lid", T + 2 * FAR)).await.unwrap();
    assert_eq!(b.cleanup_expired_chat_metadata(a, T + FAR).await.unwrap(), 2);
    assert_eq!(b.get_chat_metadata(a, "new@lid", T + FAR).await.unwrap(), Some(chat("new@lid", T + 2 * FAR)));

    assert_eq!(b.get_chat_metadata(o, "new@lid", T).await.unwrap(), None);
    b.upsert_chat_metadata(o, chat(c, T)).await.unwrap();
    ChatMetadataStore::clear(&*b, a).await.unwrap();
    assert_eq!(b.get_chat_metadata(a, "new@lid", T + FAR).await.unwrap(), None);
    assert_eq!(b.get_chat_metadata(o, c, T).await.unwrap(), Some(chat(c, T)));
    ChatMetadataStore::clear(&*b, o).await.unwrap();
}

// ---- deviceList -------------------------------------------------------------

pub async fn device_list(b: DynBackend) {
    let (a, o) = ("conf:devices:a", "conf:devices:b");
    for sid in [a, o] {
        DeviceListStore::clear(&*b, sid).await.unwrap();
    }
    let (u1, a1, a1b, u2) = ("u1@s.whatsapp.net", "u1@lid", "u1-new@lid", "u2@s.whatsapp.net");
    let users = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    assert_eq!(b.get_user_devices(a, &users(&[u1]), T).await.unwrap(), vec![None]);
    b.upsert_user_devices(a, vec![devices(u1, Some(a1), T), devices(u2, None, T)]).await.unwrap();
    b.upsert_user_devices(a, vec![]).await.unwrap();
    assert_eq!(
        b.get_user_devices(a, &users(&[u2, "missing@s.whatsapp.net", u1, u2]), T).await.unwrap(),
        vec![Some(devices(u2, None, T)), None, Some(devices(u1, Some(a1), T)), Some(devices(u2, None, T))]
    );
    assert_eq!(b.get_user_devices(a, &[], T).await.unwrap(), vec![]);

    assert_eq!(b.find_by_any_user_jid(a, u1, T).await.unwrap(), Some(devices(u1, Some(a1), T)));
    assert_eq!(b.find_by_any_user_jid(a, a1, T).await.unwrap(), Some(devices(u1, Some(a1), T)), "by alt jid");
    assert_eq!(b.find_by_any_user_jid(a, "nobody@lid", T).await.unwrap(), None);

    // A new alt replaces the old one; later duplicates in a batch win.
    let mut last = devices(u1, Some(a1b), T + 1);
    last.device_jids = vec!["u1:9@s.whatsapp.net".into()];
    b.upsert_user_devices(a, vec![devices(u1, Some(a1b), T + 1), last.clone()]).await.unwrap();
    assert_eq!(b.find_by_any_user_jid(a, a1, T + 1).await.unwrap(), None, "stale alt no longer matches");
    assert_eq!(b.find_by_any_user_jid(a, a1b, T + 1).await.unwrap(), Some(last.clone()));
    let none_devices = DeviceList { device_jids: vec![], ..devices(u2, None, T) };
    b.upsert_user_devices(a, vec![none_devices.clone()]).await.unwrap();
    assert_eq!(b.get_user_devices(a, &users(&[u2]), T).await.unwrap(), vec![Some(none_devices)]);

    // Expiry: far-future reads miss.
    assert_eq!(b.get_user_devices(a, &users(&[u1]), T + FAR).await.unwrap(), vec![None]);
    assert_eq!(b.find_by_any_user_jid(a, a1b, T + FAR).await.unwrap(), None);

    assert_eq!(b.delete_user_devices(a, u2).await.unwrap(), 1);
    assert_eq!(b.delete_user_devices(a, u2).await.unwrap(), 0);

    b.upsert_user_devices(a, vec![devices("old@s.whatsapp.net", Some("old@lid"), T), devices("new@s.whatsapp.net", Some("new@lid"), T + 2 * FAR)])
        .await
        .unwrap();
    let cleaned = b.cleanup_expired_device_lists(a, T + FAR).await.unwrap();
    assert!((1..=2).contains(&cleaned), "old entry (and u1 unless a read already dropped it): {cleaned}");
    assert_eq!(b.find_by_any_user_jid(a, "old@lid", T).await.unwrap(), None);
    assert_eq!(b.find_by_any_user_jid(a, "new@lid", T + FAR).await.unwrap(), Some(devices("new@s.whatsapp.net", Some("new@lid"), T + 2 * FAR)));

    assert_eq!(b.find_by_any_user_jid(o, "new@lid", T).await.unwrap(), None);
    b.upsert_user_devices(o, vec![devices(u1, Some(a1), T)]).await.unwrap();
    DeviceListStore::clear(&*b, a).await.unwrap();
    assert_eq!(b.find_by_any_user_jid(a, "new@lid", T + FAR).await.unwrap(), None);
    assert_eq!(b.find_by_any_user_jid(o, a1, T).await.unwrap(), Some(devices(u1, Some(a1), T)));
    DeviceListStore::clear(&*b, o).await.unwrap();
}

// ---- messageSecret ----------------------------------------------------------

pub async fn message_secret(b: DynBackend) {
    let (a, o) = ("conf:secrets:a", "conf:secrets:b");
    for sid in [a, o] {
        MessageSecretStore::clear(&*b, sid).await.unwrap();
    }
    let ids = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let (alice, bob) = ("alice@s.whatsapp.net", "bob@s.whatsapp.net");

    assert_eq!(b.get_message_secrets(a, &ids(&["m1"]), T).await.unwrap(), vec![None]);
    b.set_message_secrets(a, vec![("m1".into(), secret(1, alice)), ("m2".into(), secret(2, bob)), ("m1".into(), secret(3, bob))], T)
        .await
        .unwrap();
    b.set_message_secrets(a, vec![], T).await.unwrap();
    assert_eq!(
        b.get_message_secrets(a, &ids(&["m2", "missing", "m1", "m2"]), T).await.unwrap(),
        vec![Some(secret(2, bob)), None, Some(secret(3, bob)), Some(secret(2, bob))],
        "positional, later duplicates win"
    );
    assert_eq!(b.get_message_secrets(a, &[], T).await.unwrap(), vec![]);
    // Expiry counts from the write's now_ms.
    b.set_message_secrets(a, vec![("late".into(), secret(4, alice))], T + 2 * FAR).await.unwrap();
    assert_eq!(b.get_message_secrets(a, &ids(&["late"]), T).await.unwrap(), vec![Some(secret(4, alice))]);

    assert_eq!(b.cleanup_expired_message_secrets(a, T).await.unwrap(), 0);
    assert_eq!(b.cleanup_expired_message_secrets(a, T + FAR).await.unwrap(), 2);
    assert_eq!(b.get_message_secrets(a, &ids(&["m1", "late"]), T + FAR).await.unwrap(), vec![None, Some(secret(4, alice))]);
    assert_eq!(b.get_message_secrets(a, &ids(&["late"]), T + 4 * FAR).await.unwrap(), vec![None], "expired");

    let big = MessageSecret { secret: big_blob(MIB, 2), sender_jid: alice.into() };
    b.set_message_secrets(a, vec![("big".into(), big.clone())], T).await.unwrap();
    assert_eq!(b.get_message_secrets(a, &ids(&["big"]), T).await.unwrap(), vec![Some(big)]);

    assert_eq!(b.get_message_secrets(o, &ids(&["big"]), T).await.unwrap(), vec![None]);
    b.set_message_secrets(o, vec![("m1".into(), secret(9, alice))], T).await.unwrap();
    MessageSecretStore::clear(&*b, a).await.unwrap();
    assert_eq!(b.get_message_secrets(a, &ids(&["big"]), T).await.unwrap(), vec![None]);
    assert_eq!(b.get_message_secrets(o, &ids(&["m1"]), T).await.unwrap(), vec![Some(secret(9, alice))]);
    MessageSecretStore::clear(&*b, o).await.unwrap();
}

// ---- keys (adapters' generic key domain) -------------------------------------

fn put(kind: &str, id: &str, value: &[u8]) -> KeyWrite {
    KeyWrite { kind: kind.into(), id: id.into(), value: Some(value.to_vec()) }
}

fn del(kind: &str, id: &str) -> KeyWrite {
    KeyWrite { kind: kind.into(), id: id.into(), value: None }
}

pub async fn keys<B: KeyStore + ?Sized>(b: Arc<B>) {
    let (a, o) = ("conf:keys:a", "conf:keys:b");
    for sid in [a, o] {
        b.clear_keys(sid).await.unwrap();
    }
    let ids = strings(&["1", "2", "3"]);
    assert_eq!(b.get_keys(a, "pre-key", &ids).await.unwrap(), vec![None, None, None]);
    assert_eq!(b.get_keys(a, "pre-key", &[]).await.unwrap(), Vec::<Option<Vec<u8>>>::new());
    assert!(b.list_keys(a, "pre-key", None, 10).await.unwrap().is_empty());
    assert!(b.list_key_types(a).await.unwrap().is_empty());
    b.write_keys(a, vec![]).await.unwrap();

    // Baileys ids: base64 app-state key ids, LID addresses, group::user::device.
    let odd = ["AAAAAQ+/=", "111_1.0", "120363@g.us::111::0", "a:b", "ünï🙂", "x y", "%_*?[]\'\""];
    let big = big_blob(MIB, 7);
    let mut writes: Vec<KeyWrite> = odd.iter().enumerate().map(|(i, id)| put("sender-key", id, &[i as u8])).collect();
    writes.push(put("session", "111.0", &big));
    writes.push(put("pre-key", "1", &[1]));
    writes.push(put("pre-key", "2", &[2]));
    writes.push(put("pre-key", "1", &[11])); // later duplicate wins
    writes.push(del("pre-key", "2")); // put then delete in one call: absent
    writes.push(del("pre-key", "404"));
    b.write_keys(a, writes).await.unwrap();

    assert_eq!(
        b.get_keys(a, "pre-key", &strings(&["2", "1", "404", "1"])).await.unwrap(),
        vec![None, Some(vec![11]), None, Some(vec![11])],
        "positional, duplicates kept"
    );
    assert_eq!(b.get_keys(a, "session", &strings(&["111.0"])).await.unwrap(), vec![Some(big)]);
    assert_eq!(b.get_keys(a, "session", &strings(&["1"])).await.unwrap(), vec![None], "types are separate");
    let odd_ids: Vec<String> = odd.iter().map(|s| s.to_string()).collect();
    let want: Vec<Option<Vec<u8>>> = (0..odd.len()).map(|i| Some(vec![i as u8])).collect();
    assert_eq!(b.get_keys(a, "sender-key", &odd_ids).await.unwrap(), want);
    assert_eq!(b.list_key_types(a).await.unwrap(), strings(&["pre-key", "sender-key", "session"]));

    // Paging walks every id once, in byte order, whatever the page size.
    let mut sorted_ids = odd_ids.clone();
    sorted_ids.sort_by(|x, y| x.as_bytes().cmp(y.as_bytes()));
    for page in [1u32, 2, 3, 1000] {
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let got = b.list_keys(a, "sender-key", after.as_deref(), page).await.unwrap();
            let ids_only = b.list_key_ids(a, "sender-key", after.as_deref(), page).await.unwrap();
            assert_eq!(got.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(), ids_only);
            assert!(got.len() <= page as usize);
            let Some((last, _)) = got.last() else { break };
            after = Some(last.clone());
            for (id, value) in got {
                let i = odd.iter().position(|x| *x == id).unwrap();
                assert_eq!(value, vec![i as u8]);
                seen.push(id);
            }
        }
        assert_eq!(seen, sorted_ids, "page size {page}");
    }

    // Another session: nothing shared, and clear is per session.
    assert_eq!(b.get_keys(o, "pre-key", &strings(&["1"])).await.unwrap(), vec![None]);
    b.write_keys(o, vec![put("pre-key", "1", &[99])]).await.unwrap();
    b.clear_keys(a).await.unwrap();
    assert_eq!(b.get_keys(a, "pre-key", &strings(&["1"])).await.unwrap(), vec![None]);
    assert!(b.list_key_ids(a, "sender-key", None, 100).await.unwrap().is_empty());
    assert_eq!(b.get_keys(o, "pre-key", &strings(&["1"])).await.unwrap(), vec![Some(vec![99])]);
    b.clear_keys(o).await.unwrap();
}

// ---- group commit -----------------------------------------------------------

pub async fn signal_batch(b: DynBackend) {
    let (a, o) = ("conf:batch:a", "conf:batch:b");
    for sid in [a, o] {
        SessionStore::clear(&*b, sid).await.unwrap();
        IdentityStore::clear(&*b, sid).await.unwrap();
        SenderKeyStore::clear(&*b, sid).await.unwrap();
        b.clear_keys(sid).await.unwrap();
    }
    b.commit_signal_batch(&[], &[]).await.unwrap();
    let (sa, so): (Arc<str>, Arc<str>) = (Arc::from(a), Arc::from(o));
    let w = |sid: &Arc<str>, write| SessionWrite { sid: Arc::clone(sid), write };
    let x = addr("11111", "s.whatsapp.net", 1);
    let y = addr("22222", "lid", 0);
    let sk = |record: Vec<u8>| SenderKey { group_id: "g@g.us".into(), sender: x.clone(), record };
    let big = big_blob(MIB, 9);
    b.commit_signal_batch(
        &[
        w(&sa, SignalWrite::Session { address: x.clone(), record: Some(vec![1]) }),
        w(&so, SignalWrite::Session { address: x.clone(), record: Some(vec![2]) }),
        w(&sa, SignalWrite::Session { address: y.clone(), record: Some(big.clone()) }),
        w(&sa, SignalWrite::Identity { address: x.clone(), key: vec![5; 33] }),
        w(&sa, SignalWrite::SenderKey(sk(vec![7]))),
        w(&sa, SignalWrite::Key(put("lid-mapping", "111", b"222"))),
        w(&so, SignalWrite::Key(put("lid-mapping", "111", b"333"))),
        w(&sa, SignalWrite::Session { address: x.clone(), record: Some(vec![3]) }),
        ],
        &[],
    )
    .await
    .unwrap();
    assert_eq!(b.get_sessions(a, &[x.clone(), y.clone()]).await.unwrap(), vec![Some(vec![3]), Some(big)], "last write wins");
    assert_eq!(b.get_sessions(o, std::slice::from_ref(&x)).await.unwrap(), vec![Some(vec![2])]);
    assert_eq!(b.get_remote_identities(a, std::slice::from_ref(&x)).await.unwrap(), vec![Some(vec![5; 33])]);
    assert_eq!(b.get_remote_identities(o, std::slice::from_ref(&x)).await.unwrap(), vec![None]);
    assert_eq!(b.get_device_sender_key(a, "g@g.us", &x).await.unwrap().map(|r| r.record), Some(vec![7]));
    assert_eq!(b.get_keys(a, "lid-mapping", &strings(&["111"])).await.unwrap(), vec![Some(b"222".to_vec())]);
    assert_eq!(b.get_keys(o, "lid-mapping", &strings(&["111"])).await.unwrap(), vec![Some(b"333".to_vec())]);

    // Deletes, a put followed by a delete, and a sender-key replace in one batch.
    b.commit_signal_batch(
        &[
        w(&sa, SignalWrite::Session { address: y.clone(), record: None }),
        w(&so, SignalWrite::Session { address: y.clone(), record: Some(vec![8]) }),
        w(&so, SignalWrite::Session { address: y.clone(), record: None }),
        w(&sa, SignalWrite::SenderKey(sk(vec![9]))),
        w(&sa, SignalWrite::Key(del("lid-mapping", "111"))),
        w(&sa, SignalWrite::Identity { address: x.clone(), key: vec![6; 33] }),
        ],
        &[],
    )
    .await
    .unwrap();
    assert_eq!(b.get_sessions(a, &[x.clone(), y.clone()]).await.unwrap(), vec![Some(vec![3]), None]);
    assert_eq!(b.get_sessions(o, std::slice::from_ref(&y)).await.unwrap(), vec![None]);
    assert_eq!(b.get_device_sender_key(a, "g@g.us", &x).await.unwrap().map(|r| r.record), Some(vec![9]));
    assert_eq!(b.get_group_sender_keys(a, "g@g.us").await.unwrap().sender_keys.len(), 1);
    assert_eq!(b.get_keys(a, "lid-mapping", &strings(&["111"])).await.unwrap(), vec![None]);
    assert_eq!(b.get_keys(o, "lid-mapping", &strings(&["111"])).await.unwrap(), vec![Some(b"333".to_vec())]);
    assert_eq!(b.get_remote_identities(a, std::slice::from_ref(&x)).await.unwrap(), vec![Some(vec![6; 33])]);
    for sid in [a, o] {
        SessionStore::clear(&*b, sid).await.unwrap();
        IdentityStore::clear(&*b, sid).await.unwrap();
        SenderKeyStore::clear(&*b, sid).await.unwrap();
        b.clear_keys(sid).await.unwrap();
    }
}

// ---- session leases ---------------------------------------------------------

/// Session ids of this run only: lease records outlive a run (tokens are never reused).
fn run_sid(name: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("conf:lease:{}:{nanos:x}:{name}", std::process::id())
}

fn lease_owner(id: &str) -> LeaseOwner {
    LeaseOwner { id: format!("{id}:{}", std::process::id()), host: format!("host-{id}"), pid: 4242 }
}

fn granted(a: Acquired) -> Lease {
    match a {
        Acquired::Granted(l) => l,
        Acquired::Held(r) => panic!("expected a grant, held by {r:?}"),
    }
}

pub async fn lease(b: DynBackend) {
    let (one, two) = (lease_owner("one"), lease_owner("two"));
    let sid = run_sid("a");
    let first = granted(b.acquire_lease(&sid, &one, 60_000).await.unwrap());
    assert!(first.expires_at_ms > crate::domain::now_ms() + 50_000, "{first:?}");
    match b.acquire_lease(&sid, &two, 60_000).await.unwrap() {
        Acquired::Held(r) => {
            assert_eq!((r.host.as_str(), r.pid, r.token), ("host-one", 4242, first.token));
            assert_eq!(r.expires_at_ms, first.expires_at_ms);
        }
        other => panic!("a second owner got {other:?}"),
    }
    // The same owner again (a new bundle): a new token; the old one is stale.
    let again = granted(b.acquire_lease(&sid, &one, 60_000).await.unwrap());
    assert!(again.token > first.token);
    assert!(matches!(b.renew_lease(&sid, first.token, 60_000).await.unwrap(), Renewed::Lost(Some(r)) if r.token == again.token));
    assert!(matches!(b.renew_lease(&sid, again.token, 60_000).await.unwrap(), Renewed::Renewed(l) if l.token == again.token));
    // A release lets anyone in at once, with a larger token; releasing a stale token does nothing.
    b.release_lease(&sid, first.token).await.unwrap();
    assert!(matches!(b.acquire_lease(&sid, &two, 60_000).await.unwrap(), Acquired::Held(_)));
    b.release_lease(&sid, again.token).await.unwrap();
    assert!(matches!(b.renew_lease(&sid, again.token, 60_000).await.unwrap(), Renewed::Lost(_)), "released");
    let taken = granted(b.acquire_lease(&sid, &two, 60_000).await.unwrap());
    assert!(taken.token > again.token);

    // Expiry: a lease nobody renews can be taken over; the old holder then renews in vain.
    let short = run_sid("short");
    let old = granted(b.acquire_lease(&short, &one, 1_000).await.unwrap());
    let second = b.acquire_lease(&short, &two, 1_000).await.unwrap();
    assert!(matches!(second, Acquired::Held(_)), "{second:?} now {}", crate::domain::now_ms());
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let new = granted(b.acquire_lease(&short, &two, 60_000).await.unwrap());
    assert!(new.token > old.token);
    assert!(matches!(b.renew_lease(&short, old.token, 60_000).await.unwrap(), Renewed::Lost(Some(r)) if r.host == "host-two"));

    // Fencing: a batch under a stale token is refused whole; under the current one it lands.
    let other = run_sid("other");
    let other_lease = granted(b.acquire_lease(&other, &one, 60_000).await.unwrap());
    let (ss, so): (Arc<str>, Arc<str>) = (Arc::from(short.as_str()), Arc::from(other.as_str()));
    let x = addr("fenced", "s.whatsapp.net", 0);
    let write = |sid: &Arc<str>, n: u8| SessionWrite {
        sid: Arc::clone(sid),
        write: SignalWrite::Session { address: x.clone(), record: Some(vec![n]) },
    };
    let fence = |sid: &Arc<str>, token| Fence { sid: Arc::clone(sid), token };
    let stale = b
        .commit_signal_batch(&[write(&so, 1), write(&ss, 1)], &[fence(&so, other_lease.token), fence(&ss, old.token)])
        .await
        .unwrap_err();
    assert_eq!(stale.code, ErrorCode::SessionLocked, "{}", stale.message);
    assert!(stale.message.contains("lost its lease"), "{}", stale.message);
    assert_eq!(b.get_sessions(&short, std::slice::from_ref(&x)).await.unwrap(), vec![None], "nothing of a refused batch lands");
    assert_eq!(b.get_sessions(&other, std::slice::from_ref(&x)).await.unwrap(), vec![None]);
    b.commit_signal_batch(&[write(&so, 2), write(&ss, 2)], &[fence(&so, other_lease.token), fence(&ss, new.token)])
        .await
        .unwrap();
    assert_eq!(b.get_sessions(&short, std::slice::from_ref(&x)).await.unwrap(), vec![Some(vec![2])]);
    // A session that was never leased has no current token either.
    let never = run_sid("never");
    let sn: Arc<str> = Arc::from(never.as_str());
    assert_eq!(b.commit_signal_batch(&[write(&sn, 3)], &[fence(&sn, 1)]).await.unwrap_err().code, ErrorCode::SessionLocked);

    // Leases of look-alike ids are independent.
    for (i, suffix) in ["%", "_", "*", "?", "[x]", "}{", ":", "'", " ", "\\"].iter().enumerate() {
        let id = format!("{sid}{suffix}");
        let l = granted(b.acquire_lease(&id, &two, 60_000).await.unwrap_or_else(|e| panic!("{i}: {e}")));
        assert_eq!(l.token, 1, "{id:?} shares a record");
        b.release_lease(&id, l.token).await.unwrap();
    }
    for s in [&short, &other] {
        SessionStore::clear(&*b, s).await.unwrap();
    }
    for (s, t) in [(&sid, taken.token), (&short, new.token), (&other, other_lease.token)] {
        b.release_lease(s, t).await.unwrap();
    }
}

// ---- cross-domain isolation -------------------------------------------------

/// zapo's 16 domains plus the adapters' key domain.
const DOMAINS: usize = 17;

/// Writes one entry in every domain of `sid`.
async fn fill_every_domain(b: &DynBackend, sid: &str) {
    let x = addr("11111", "s.whatsapp.net", 1);
    b.save(sid, vec![1]).await.unwrap();
    b.set_registration_info(sid, RegistrationInfo { registration_id: 1, identity_key_pair: key_pair(1) }).await.unwrap();
    b.put_pre_key(sid, pk(1, 1)).await.unwrap();
    b.set_sessions(sid, vec![(x.clone(), vec![1])]).await.unwrap();
    b.set_remote_identities(sid, vec![(x.clone(), vec![1])]).await.unwrap();
    b.upsert_sender_key(sid, SenderKey { group_id: "g".into(), sender: x, record: vec![1] }).await.unwrap();
    b.upsert_sync_keys(sid, vec![sync_key(&key_id(1, 1), &[1], 1)]).await.unwrap();
    b.upsert_privacy_tokens(sid, vec![PrivacyToken { jid: "j".into(), ..Default::default() }]).await.unwrap();
    b.upsert_messages(sid, vec![message("m", "t", Some(1))]).await.unwrap();
    b.upsert_threads(sid, vec![StoredThread { jid: "t".into(), ..Default::default() }]).await.unwrap();
    b.upsert_contacts(sid, vec![contact("c", 1)]).await.unwrap();
    b.upsert_outbound_message(sid, outbound("r", None, T + FAR)).await.unwrap();
    b.upsert_group_metadata(sid, group("g", T)).await.unwrap();
    b.upsert_chat_metadata(sid, chat("c", T)).await.unwrap();
    b.upsert_user_devices(sid, vec![devices("u", None, T)]).await.unwrap();
    b.set_message_secrets(sid, vec![("s".into(), secret(1, "a"))], T).await.unwrap();
    b.write_keys(sid, vec![KeyWrite { kind: "session".into(), id: "1.0".into(), value: Some(vec![1]) }]).await.unwrap();
}

/// Whether each domain of `sid` still holds what [`fill_every_domain`] wrote.
async fn present(b: &DynBackend, sid: &str) -> [bool; DOMAINS] {
    let x = addr("11111", "s.whatsapp.net", 1);
    [
        b.load(sid).await.unwrap().is_some(),
        b.get_registration_info(sid).await.unwrap().is_some(),
        b.get_pre_key_by_id(sid, 1).await.unwrap().is_some(),
        b.has_sessions(sid, std::slice::from_ref(&x)).await.unwrap() == [true],
        b.get_remote_identities(sid, std::slice::from_ref(&x)).await.unwrap()[0].is_some(),
        b.get_device_sender_key(sid, "g", &x).await.unwrap().is_some(),
        b.get_active_sync_key(sid).await.unwrap().is_some(),
        b.get_privacy_token(sid, "j").await.unwrap().is_some(),
        b.get_message(sid, "m").await.unwrap().is_some(),
        b.get_thread(sid, "t").await.unwrap().is_some(),
        b.get_contact(sid, "c").await.unwrap().is_some(),
        b.get_outbound_message(sid, "r").await.unwrap().is_some(),
        b.get_group_metadata(sid, "g", T).await.unwrap().is_some(),
        b.get_chat_metadata(sid, "c", T).await.unwrap().is_some(),
        b.get_user_devices(sid, &["u".to_owned()], T).await.unwrap()[0].is_some(),
        b.get_message_secrets(sid, &["s".to_owned()], T).await.unwrap()[0].is_some(),
        b.get_keys(sid, "session", &["1.0".to_owned()]).await.unwrap()[0].is_some(),
    ]
}

/// Clears domain number `index` (in [`present`] order) of `sid`.
async fn clear_domain(b: &DynBackend, sid: &str, index: usize) {
    let b = &**b;
    match index {
        0 => AuthStore::clear(b, sid).await,
        1 => SignalStore::clear(b, sid).await,
        2 => PreKeyStore::clear(b, sid).await,
        3 => SessionStore::clear(b, sid).await,
        4 => IdentityStore::clear(b, sid).await,
        5 => SenderKeyStore::clear(b, sid).await,
        6 => AppStateStore::clear(b, sid).await,
        7 => PrivacyTokenStore::clear(b, sid).await,
        8 => MessageStore::clear(b, sid).await,
        9 => ThreadStore::clear(b, sid).await,
        10 => ContactStore::clear(b, sid).await,
        11 => RetryStore::clear(b, sid).await,
        12 => GroupMetadataStore::clear(b, sid).await,
        13 => ChatMetadataStore::clear(b, sid).await,
        14 => DeviceListStore::clear(b, sid).await,
        15 => MessageSecretStore::clear(b, sid).await,
        _ => KeyStore::clear_keys(b, sid).await,
    }
    .unwrap();
}

/// Clearing one domain of one session touches no other domain and no other session.
pub async fn domain_isolation(b: DynBackend) {
    let (a, o) = ("conf:isolation:a", "conf:isolation:b");
    for sid in [a, o] {
        for index in 0..DOMAINS {
            clear_domain(&b, sid, index).await;
        }
    }
    assert_eq!(present(&b, a).await, [false; DOMAINS]);
    fill_every_domain(&b, a).await;
    assert_eq!(present(&b, a).await, [true; DOMAINS]);
    assert_eq!(present(&b, o).await, [false; DOMAINS], "a session sees nothing of another");
    fill_every_domain(&b, o).await;

    let mut want = [true; DOMAINS];
    for index in 0..DOMAINS {
        clear_domain(&b, a, index).await;
        want[index] = false;
        assert_eq!(present(&b, a).await, want, "after clearing domain #{index}");
        assert_eq!(present(&b, o).await, [true; DOMAINS], "other session after clearing domain #{index}");
    }
    for index in 0..DOMAINS {
        clear_domain(&b, o, index).await;
    }
}

// ---- hostile ids ------------------------------------------------------------

/// Ids and session ids that break naive SQL, LIKE patterns, delimiters or
/// size limits must round-trip as plain data in every domain.
pub async fn hostile_ids(b: DynBackend) {
    let sids = ["conf:hostile:'; DROP TABLE x; --".to_owned(), "conf:hostile:%_\"'`\\ ünï🙂".to_owned(), format!("conf:hostile:{}", "s".repeat(490))];
    for sid in &sids {
        for index in 0..DOMAINS {
            clear_domain(&b, sid, index).await;
        }
    }
    for sid in &sids {
        fill_every_domain(&b, sid).await;
        assert_eq!(present(&b, sid).await, [true; DOMAINS], "hostile session id {sid:?}");
    }
    let sid = sids[0].as_str();
    let other = sids[1].as_str();

    for (n, h) in hostile_strings().iter().enumerate() {
        let h = h.as_str();
        let seed = n as u8;
        let address = addr(h, h, n as u32);

        b.save(h.get(..500).unwrap_or(h), vec![seed]).await.unwrap();
        assert_eq!(b.load(h.get(..500).unwrap_or(h)).await.unwrap(), Some(vec![seed]));
        AuthStore::clear(&*b, h.get(..500).unwrap_or(h)).await.unwrap();

        b.set_sessions(sid, vec![(address.clone(), vec![seed])]).await.unwrap();
        assert_eq!(b.get_sessions(sid, std::slice::from_ref(&address)).await.unwrap(), vec![Some(vec![seed])]);
        b.set_remote_identities(sid, vec![(address.clone(), vec![seed])]).await.unwrap();
        assert_eq!(b.get_remote_identities(sid, std::slice::from_ref(&address)).await.unwrap(), vec![Some(vec![seed])]);

        let sk = SenderKey { group_id: h.into(), sender: address.clone(), record: vec![seed] };
        b.upsert_sender_key(sid, sk.clone()).await.unwrap();
        let dist = SenderKeyDistribution { group_id: h.into(), sender: address.clone(), key_id: n as u32, timestamp_ms: 1 };
        b.upsert_sender_key_distributions(sid, vec![dist.clone()]).await.unwrap();
        assert_eq!(b.get_device_sender_key(sid, h, &address).await.unwrap(), Some(sk.clone()));
        let list = b.get_group_sender_keys(sid, h).await.unwrap();
        assert_eq!((list.sender_keys, list.distributions), (vec![sk], vec![dist]));

        let key = sync_key(h.as_bytes(), &[seed], 1);
        assert_eq!(b.upsert_sync_keys(sid, vec![key.clone()]).await.unwrap(), 1);
        assert_eq!(b.get_sync_keys(sid, &[h.as_bytes().to_vec()]).await.unwrap(), vec![Some(key)]);
        let update = CollectionUpdate { collection: h.into(), version: 1, hash: vec![seed; 128], index_value_map: vec![(h.into(), vec![seed])] };
        b.set_collection_states(sid, vec![update.clone()]).await.unwrap();
        let state = &b.get_collection_states(sid, &[h.to_owned()]).await.unwrap()[0];
        assert_eq!((state.version, &state.index_value_map), (1, &update.index_value_map));

        let token = PrivacyToken { jid: h.into(), tc_token: Some(vec![seed]), updated_at_ms: 1, ..Default::default() };
        b.upsert_privacy_tokens(sid, vec![token.clone()]).await.unwrap();
        assert_eq!(b.get_privacy_token(sid, h).await.unwrap(), Some(token));

        let msg = message(h, h, Some(i64::from(seed)));
        b.upsert_messages(sid, vec![msg.clone()]).await.unwrap();
        assert_eq!(b.get_message(sid, h).await.unwrap(), Some(msg.clone()));
        assert_eq!(b.list_messages_by_thread(sid, h, 10, None).await.unwrap(), vec![msg.clone()]);
        assert_eq!(b.list_messages_page(sid, h, 10, &PageStart::Newest).await.unwrap(), vec![msg.clone()]);
        assert_eq!(b.list_messages_page(sid, h, 10, &PageStart::after(&msg)).await.unwrap(), vec![]);

        let thread = StoredThread { jid: h.into(), name: Some(h.into()), ..Default::default() };
        b.upsert_threads(sid, vec![thread.clone()]).await.unwrap();
        assert_eq!(b.get_thread(sid, h).await.unwrap(), Some(thread));

        let c = StoredContact { phone_number: Some(format!("{h}#pn")), push_name: Some(h.into()), ..contact(h, 1) };
        b.upsert_contacts(sid, vec![c.clone()]).await.unwrap();
        assert_eq!(b.get_contact(sid, h).await.unwrap(), Some(c.clone()));
        assert_eq!(b.get_contact_by_phone_number(sid, &format!("{h}#pn")).await.unwrap(), Some(c));

        let mut out = outbound(h, Some(&[h][..]), T + FAR);
        out.to_jid = h.into();
        b.upsert_outbound_message(sid, out.clone()).await.unwrap();
        assert_eq!(b.get_outbound_message(sid, h).await.unwrap(), Some(out));
        assert_eq!(b.get_outbound_requester_status(sid, h, h).await.unwrap(), Some(RequesterStatus { eligible: true, delivered: false }));
        assert_eq!(b.increment_inbound_counter(sid, h, h, 0, T).await.unwrap(), 1);

        b.upsert_group_metadata(sid, group(h, T)).await.unwrap();
        assert_eq!(b.get_group_metadata(sid, h, T).await.unwrap(), Some(group(h, T)));
        b.upsert_chat_metadata(sid, chat(h, T)).await.unwrap();
        assert_eq!(b.get_chat_metadata(sid, h, T).await.unwrap(), Some(chat(h, T)));
        let alt = format!("{h}@alt");
        b.upsert_user_devices(sid, vec![devices(h, Some(&alt), T)]).await.unwrap();
        assert_eq!(b.find_by_any_user_jid(sid, &alt, T).await.unwrap(), Some(devices(h, Some(&alt), T)));
        b.set_message_secrets(sid, vec![(h.into(), secret(seed, h))], T).await.unwrap();
        assert_eq!(b.get_message_secrets(sid, &[h.to_owned()], T).await.unwrap(), vec![Some(secret(seed, h))]);

        // None of it leaks into another session.
        assert_eq!(b.get_message(other, h).await.unwrap(), None);
        assert_eq!(b.get_contact(other, h).await.unwrap(), None);
        assert_eq!(b.get_device_sender_key(other, h, &address).await.unwrap(), None);
    }

    for sid in &sids {
        for index in 0..DOMAINS {
            clear_domain(&b, sid, index).await;
        }
        assert_eq!(present(&b, sid).await, [false; DOMAINS]);
    }
}

/// `%`, `_` and `*` are data, not patterns: lookups match exactly.
pub async fn wildcards_are_literal(b: DynBackend) {
    let sid = "conf:wildcards";
    for index in 0..DOMAINS {
        clear_domain(&b, sid, index).await;
    }
    for key in ["a%", "a_c", "a*"] {
        b.upsert_messages(sid, vec![message(key, key, Some(1))]).await.unwrap();
        b.upsert_contacts(sid, vec![StoredContact { phone_number: Some(key.into()), ..contact(key, 1) }]).await.unwrap();
        b.upsert_threads(sid, vec![StoredThread { jid: key.into(), ..Default::default() }]).await.unwrap();
        b.upsert_sender_key(sid, SenderKey { group_id: key.into(), sender: addr(key, "s.whatsapp.net", 0), record: vec![1] }).await.unwrap();
    }
    for probe in ["abc", "a", "ab", "a%c", "A%", "a_", "ac"] {
        assert_eq!(b.get_message(sid, probe).await.unwrap(), None, "{probe}");
        assert_eq!(b.list_messages_by_thread(sid, probe, 10, None).await.unwrap(), vec![], "{probe}");
        assert_eq!(b.list_messages_page(sid, probe, 10, &PageStart::Newest).await.unwrap(), vec![], "{probe}");
        assert_eq!(b.delete_thread_messages(sid, probe, &PageStart::Newest).await.unwrap(), 0, "{probe}");
        assert_eq!(b.get_contact(sid, probe).await.unwrap(), None, "{probe}");
        assert_eq!(b.get_contact_by_phone_number(sid, probe).await.unwrap(), None, "{probe}");
        assert_eq!(b.get_thread(sid, probe).await.unwrap(), None, "{probe}");
        assert_eq!(b.get_group_sender_keys(sid, probe).await.unwrap(), Default::default(), "{probe}");
        assert_eq!(b.delete_message(sid, probe).await.unwrap(), 0, "{probe}");
    }
    assert_eq!(b.list_threads(sid, 10).await.unwrap().len(), 3);
    for index in 0..DOMAINS {
        clear_domain(&b, sid, index).await;
    }
}

// ---- snapshot: enumeration, export, import ---------------------------------

/// Ids whose byte order differs from a locale's order, and two that share a
/// long prefix (MySQL sorts text by its first 1024 bytes unless told otherwise).
fn ordered_ids() -> Vec<String> {
    let long = "m".repeat(1100);
    vec![
        "b".to_owned(),
        "a".to_owned(),
        "Z".to_owned(),
        "é".to_owned(),
        "a b".to_owned(),
        "a ".to_owned(),
        "a%_'\"".to_owned(),
        "🙂".to_owned(),
        format!("{long}b"),
        format!("{long}a"),
    ]
}

/// [`ordered_ids`] that fit the key domain's id limit.
fn key_ids() -> Vec<String> {
    ordered_ids().into_iter().filter(|id| id.len() <= crate::domain::keys::MAX_KEY_ID_BYTES).collect()
}

/// Writes records of every kind into `sid`.
async fn fill_every_kind(b: &DynBackend, sid: &str) {
    b.save(sid, vec![0xA5, 1, 0x0A, 0]).await.unwrap();
    b.set_registration_info(sid, RegistrationInfo { registration_id: 77, identity_key_pair: key_pair(2) }).await.unwrap();
    let spk = SignedPreKey { key_id: 3, key_pair: key_pair(3), signature: vec![9; 64], uploaded: Some(true) };
    b.set_signed_pre_key(sid, spk).await.unwrap();
    b.set_signed_pre_key_rotation_ts(sid, Some(T)).await.unwrap();
    for id in [2, 1, 10] {
        b.put_pre_key(sid, pk(id, id as u8)).await.unwrap();
    }
    b.mark_key_as_uploaded(sid, 1).await.unwrap();
    b.set_server_has_pre_keys(sid, true).await.unwrap();
    let ids = ordered_ids();
    let sessions: Vec<(SignalAddress, Vec<u8>)> =
        ids.iter().enumerate().map(|(i, u)| (addr(u, "s.whatsapp.net", i as u32 % 3), vec![i as u8; 3])).collect();
    b.set_sessions(sid, sessions.clone()).await.unwrap();
    b.set_sessions(sid, vec![(addr("a", "lid", 0), vec![7])]).await.unwrap();
    b.set_remote_identities(sid, sessions.iter().map(|(a, _)| (a.clone(), vec![1; 33])).collect()).await.unwrap();
    for (g, u) in [("g2", "z"), ("g1", "b"), ("g1", "a"), ("é", "a")] {
        let sender = addr(u, "s.whatsapp.net", 1);
        b.upsert_sender_key(sid, SenderKey { group_id: g.into(), sender: sender.clone(), record: vec![4; 20] }).await.unwrap();
        let d = SenderKeyDistribution { group_id: g.into(), sender, key_id: 5, timestamp_ms: T };
        b.upsert_sender_key_distributions(sid, vec![d]).await.unwrap();
    }
    let mut fingerprinted = sync_key(&key_id(2, 9), &[6; 32], T);
    fingerprinted.fingerprint = Some(vec![0xA5, 1, 1]);
    b.upsert_sync_keys(sid, vec![sync_key(&key_id(1, 9), &[5; 32], T), fingerprinted]).await.unwrap();
    let map: Vec<(String, Vec<u8>)> = ["ff00", "00ff", "0a0b"].iter().map(|m| (m.to_string(), vec![1, 2])).collect();
    b.set_collection_states(
        sid,
        vec![
            CollectionUpdate { collection: "regular".into(), version: 3, hash: vec![8; 128], index_value_map: map },
            CollectionUpdate { collection: "critical_block".into(), version: 1, hash: vec![0; 128], index_value_map: vec![] },
        ],
    )
    .await
    .unwrap();
    let token = PrivacyToken { jid: "t@s.whatsapp.net".into(), tc_token: Some(vec![1]), nct_salt: Some(vec![2]), updated_at_ms: T, ..Default::default() };
    b.upsert_privacy_tokens(sid, vec![token]).await.unwrap();
    b.upsert_messages(sid, ids.iter().map(|id| message(id, "thread@g.us", Some(T))).collect()).await.unwrap();
    b.upsert_messages(sid, vec![message("no-ts", "other@g.us", None)]).await.unwrap();
    let thread = StoredThread { jid: "thread@g.us".into(), name: Some("n".into()), unread_count: Some(2), archived: Some(false), ..Default::default() };
    b.upsert_threads(sid, vec![thread, StoredThread { jid: "bare".into(), ..Default::default() }]).await.unwrap();
    let c = StoredContact { phone_number: Some("5511@s.whatsapp.net".into()), push_name: Some("p".into()), ..contact("c@lid", T) };
    b.upsert_contacts(sid, vec![c, contact("d@lid", 1)]).await.unwrap();
    let writes = key_ids()
        .iter()
        .map(|id| KeyWrite { kind: "session".into(), id: id.clone(), value: Some(vec![0xA5, 1, 6, 1, b'x']) })
        .chain([KeyWrite { kind: "__creds__".into(), id: "creds".into(), value: Some(vec![0xA5, 1, 0]) }])
        .collect();
    b.write_keys(sid, writes).await.unwrap();
    b.upsert_outbound_message(sid, outbound("r1", Some(&["x@s.whatsapp.net"][..]), T + FAR)).await.unwrap();
    b.upsert_outbound_message(sid, outbound("r0", None, T)).await.unwrap();
    assert_eq!(b.increment_inbound_counter(sid, "r1", "q@s.whatsapp.net", T, T + FAR).await.unwrap(), 1);
    assert_eq!(b.increment_inbound_counter(sid, "r1", "q@s.whatsapp.net", T + 1, T + FAR).await.unwrap(), 2);
    b.upsert_group_metadata(sid, group("g@g.us", T)).await.unwrap();
    b.upsert_chat_metadata(sid, chat("c@s.whatsapp.net", T)).await.unwrap();
    b.upsert_user_devices(sid, vec![devices("u@s.whatsapp.net", Some("u@lid"), T), devices("v@s.whatsapp.net", None, T)]).await.unwrap();
    b.set_message_secrets(sid, vec![("m1".into(), secret(1, "s@s.whatsapp.net")), ("m0".into(), secret(2, "s"))], T).await.unwrap();
}

/// Every record of `sid`, in pages of `page`, checking the cursors on the way.
async fn export_all(b: &DynBackend, sid: &str, page: u32) -> Vec<Record> {
    let mut out: Vec<Record> = Vec::new();
    let mut after: Option<Cursor> = None;
    loop {
        let p = snap::export_records(&**b, sid, after.as_ref(), page).await.unwrap();
        assert!(p.records.len() as u32 <= page);
        out.extend(p.records);
        match p.next {
            // The text form is what JavaScript and checkpoints carry.
            Some(c) => after = Some(Cursor::decode(&c.encode()).unwrap()),
            None => return out,
        }
    }
}

async fn session_ids_with(b: &DynBackend, prefix: &str, page: u32) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let ids = b.list_session_ids(after.as_deref(), page).await.unwrap();
        assert!(ids.len() as u32 <= page);
        for pair in ids.windows(2) {
            assert!(pair[0].as_bytes() < pair[1].as_bytes(), "session ids in byte order: {pair:?}");
        }
        let done = (ids.len() as u32) < page;
        after = ids.last().cloned();
        out.extend(ids.into_iter().filter(|s| s.starts_with(prefix)));
        if done {
            return out;
        }
    }
}

/// Export pages every kind in canonical order whatever the page size; counts
/// match; an import into another session reproduces the records exactly and
/// a second import changes nothing; session ids are listed and paged.
pub async fn snapshot(b: DynBackend) {
    let (a, copy, other) = ("conf:snap:a", "conf:snap:b '%_ü🙂", "conf:snap:c");
    for sid in [a, copy, other] {
        snap::clear_session(&*b, sid).await.unwrap();
    }
    assert_eq!(export_all(&b, a, 100).await, vec![], "a cleared session exports nothing");
    fill_every_kind(&b, a).await;
    b.save(other, vec![1]).await.unwrap();

    let records = export_all(&b, a, snap::MAX_PAGE).await;
    let kinds: std::collections::BTreeSet<RecordKind> = records.iter().map(Record::kind).collect();
    assert_eq!(kinds.len(), RecordKind::ALL.len(), "every kind exported: {kinds:?}");
    for pair in records.windows(2) {
        let (x, y) = (&pair[0], &pair[1]);
        assert!((x.kind(), x.sort_key()) < (y.kind(), y.sort_key()), "canonical order: {:?} then {:?}", x.cursor(), y.cursor());
    }
    for r in &records {
        if let Record::AppStateCollection(c) = r {
            let macs: Vec<&str> = c.index_value_map.iter().map(|(m, _)| m.as_str()).collect();
            let mut sorted_macs = macs.clone();
            sorted_macs.sort();
            assert_eq!(macs, sorted_macs, "maps export sorted by index MAC");
        }
    }
    let messages: Vec<String> = records
        .iter()
        .filter_map(|r| match r {
            Record::Message(m) => Some(m.id.clone()),
            _ => None,
        })
        .collect();
    let mut expected = ordered_ids();
    expected.push("no-ts".into());
    expected.sort_by(|x, y| x.as_bytes().cmp(y.as_bytes()));
    assert_eq!(messages, expected, "ids in byte order");
    for page in [1, 2, 7] {
        assert_eq!(export_all(&b, a, page).await, records, "pages of {page}");
    }

    let counts = b.count_records(a).await.unwrap();
    assert_eq!(counts.iter().map(|c| c.kind).collect::<Vec<_>>(), RecordKind::ALL.to_vec());
    for c in &counts {
        let of_kind: Vec<&Record> = records.iter().filter(|r| r.kind() == c.kind).collect();
        assert_eq!(c.records, of_kind.len() as u64, "count of {}", c.kind.name());
        if let Some(bytes) = c.bytes {
            assert_eq!(bytes, of_kind.iter().map(|r| r.payload_bytes()).sum::<u64>(), "bytes of {}", c.kind.name());
        }
    }
    let domains = snap::counts_by_domain(&counts);
    assert_eq!(domains.len(), DOMAINS);
    assert!(domains.iter().all(|(_, n, _)| *n > 0), "every domain has records: {domains:?}");

    // Import into another session, in pages, twice.
    for _ in 0..2 {
        for chunk in records.chunks(5) {
            snap::import_records(&*b, copy, chunk.to_vec()).await.unwrap();
        }
        assert_eq!(export_all(&b, copy, 3).await, records, "an import reproduces every record");
        assert_eq!(b.count_records(copy).await.unwrap(), counts);
    }
    // The domains see what was imported (indexes included).
    let x = addr("a", "lid", 0);
    assert_eq!(b.get_sessions(copy, std::slice::from_ref(&x)).await.unwrap(), vec![Some(vec![7])]);
    assert_eq!(b.load(copy).await.unwrap(), Some(vec![0xA5, 1, 0x0A, 0]));
    assert_eq!(b.get_server_has_pre_keys(copy).await.unwrap(), true);
    assert_eq!(b.get_signed_pre_key_rotation_ts(copy).await.unwrap(), Some(T));
    assert_eq!(b.list_messages_by_thread(copy, "thread@g.us", 100, None).await.unwrap().len(), ordered_ids().len());
    assert!(get_contact_or_by_phone(&*b, copy, "5511@s.whatsapp.net").await.unwrap().is_some());
    assert_eq!(b.find_by_any_user_jid(copy, "u@lid", T).await.unwrap(), Some(devices("u@s.whatsapp.net", Some("u@lid"), T)));
    assert_eq!(b.get_group_sender_keys(copy, "g1").await.unwrap().sender_keys.len(), 2);
    assert_eq!(b.list_keys(copy, "session", None, 100).await.unwrap().len(), key_ids().len());
    assert_eq!(b.increment_inbound_counter(copy, "r1", "q@s.whatsapp.net", T + 2, T + FAR).await.unwrap(), 3);
    let next = b.reserve_pre_keys(copy, 5).await.unwrap();
    assert!(next.reserved_ids.iter().all(|id| *id > 10), "the counter came along: {:?}", next.reserved_ids);

    for page in [1, 2, 1000] {
        let listed = session_ids_with(&b, "conf:snap:", page).await;
        assert_eq!(listed, vec![a.to_owned(), copy.to_owned(), other.to_owned()], "session ids, pages of {page}");
    }
    snap::clear_session(&*b, copy).await.unwrap();
    assert!(b.count_records(copy).await.unwrap().iter().all(|c| c.records == 0));
    assert_eq!(session_ids_with(&b, "conf:snap:", 1000).await, vec![a.to_owned(), other.to_owned()]);
    assert_eq!(export_all(&b, other, 1).await, vec![Record::Auth { credentials: vec![1] }]);

    // Bad arguments are refused, never a panic.
    assert_eq!(snap::export_records(&*b, a, None, 0).await.unwrap_err().code, ErrorCode::InvalidArgument);
    assert_eq!(snap::export_records(&*b, a, None, snap::MAX_PAGE + 1).await.unwrap_err().code, ErrorCode::InvalidArgument);
    for sid in [a, other] {
        snap::clear_session(&*b, sid).await.unwrap();
    }
}

/// One `#[tokio::test]` per area above, each on a backend made by `$fresh`
/// (evaluated inside a child module, so pass e.g. `super::fresh()`).
macro_rules! conformance_tests {
    ($fresh:expr) => {
        $crate::backend::conformance::conformance_tests!(@areas $fresh; auth, signal, pre_key, session, identity, sender_key, app_state, privacy_token, messages, message_pages, threads, contacts, retry, group_metadata, chat_metadata, device_list, message_secret, keys, signal_batch, domain_isolation, hostile_ids, wildcards_are_literal, snapshot, lease,);
    };
    (@areas $fresh:expr; $($area:ident),* $(,)?) => {
        mod conformance_areas {
            $(
                #[tokio::test]
                async fn $area() {
                    $crate::backend::conformance::$area($fresh).await;
                }
            )*
        }
    };
}
pub(crate) use conformance_tests;
