//! The sealed form of one stored value (AES-256-GCM):
//!
//! ```text
//! 0xE5 0x45 0x01 | key fingerprint (8) | nonce (12) | ciphertext | tag (16)
//! magic    ver
//! ```
//!
//! The associated data ([`Slot`]) names the session, the record kind and the
//! record's key, so a sealed value copied to another row, session or kind
//! fails authentication instead of decrypting there.
//!
//! A value that does not start with the magic, or is too short to be sealed,
//! is plaintext written before encryption was turned on. No plaintext the
//! store writes can pass for sealed: WSV blobs start with 0xA5, and raw key
//! fields (32-byte private keys, 33-byte public keys) are shorter than the
//! smallest sealed value (39 bytes).

use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::{AeadInPlace, OsRng};
use aes_gcm::{Nonce, Tag};

use super::keys::{fingerprint_hex, Fingerprint, KeyRing, FINGERPRINT_BYTES};
use crate::domain::snapshot::RecordKind;
use crate::domain::SignalAddress;
use crate::error::{ErrorCode, StoreError, StoreResult};

pub const MAGIC: [u8; 2] = [0xE5, 0x45];
pub const VERSION: u8 = 1;
const NONCE_BYTES: usize = 12;
const TAG_BYTES: usize = 16;
pub const HEADER_BYTES: usize = MAGIC.len() + 1 + FINGERPRINT_BYTES + NONCE_BYTES;
/// The smallest sealed value: a header and the tag of an empty plaintext.
pub const MIN_SEALED_BYTES: usize = HEADER_BYTES + TAG_BYTES;

/// Which record a value belongs to: the associated data of its seal.
pub struct Slot {
    kind: RecordKind,
    aad: Vec<u8>,
    /// For messages: the record key as text.
    label: String,
}

impl Slot {
    fn new(sid: &str, kind: RecordKind) -> Slot {
        let mut aad = Vec::with_capacity(64 + sid.len());
        aad.extend_from_slice(b"wastore sealed value v1");
        push(&mut aad, sid.as_bytes());
        push(&mut aad, kind.name().as_bytes());
        Slot { kind, aad, label: String::new() }
    }

    fn text(mut self, part: &str) -> Slot {
        self.aad.push(b't');
        push(&mut self.aad, part.as_bytes());
        self.note(part);
        self
    }

    fn int(mut self, part: i64) -> Slot {
        self.aad.push(b'i');
        self.aad.extend_from_slice(&part.to_be_bytes());
        self.note(&part.to_string());
        self
    }

    fn bytes(mut self, part: &[u8]) -> Slot {
        self.aad.push(b'b');
        push(&mut self.aad, part);
        self.note(&crate::domain::snapshot::hex(part));
        self
    }

    fn note(&mut self, part: &str) {
        if !self.label.is_empty() {
            self.label.push('/');
        }
        // Keys can be long (ids up to 960 bytes): messages keep the start.
        self.label.extend(part.chars().take(80));
    }

    fn address(self, a: &SignalAddress) -> Slot {
        self.text(&a.user).text(&a.server).int(i64::from(a.device))
    }

    /// The one value of a per-session record (credentials, registration, signed pre-key).
    pub fn singleton(sid: &str, kind: RecordKind) -> Slot {
        Slot::new(sid, kind)
    }
    pub fn pre_key(sid: &str, key_id: u32) -> Slot {
        Slot::new(sid, RecordKind::PreKey).int(i64::from(key_id))
    }
    pub fn session(sid: &str, a: &SignalAddress) -> Slot {
        Slot::new(sid, RecordKind::Session).address(a)
    }
    pub fn identity(sid: &str, a: &SignalAddress) -> Slot {
        Slot::new(sid, RecordKind::Identity).address(a)
    }
    pub fn sender_key(sid: &str, group_id: &str, sender: &SignalAddress) -> Slot {
        Slot::new(sid, RecordKind::SenderKey).text(group_id).address(sender)
    }
    pub fn sync_key(sid: &str, key_id: &[u8]) -> Slot {
        Slot::new(sid, RecordKind::AppStateSyncKey).bytes(key_id)
    }
    pub fn key(sid: &str, kind: &str, id: &str) -> Slot {
        Slot::new(sid, RecordKind::Key).text(kind).text(id)
    }

    /// "the session value user/server/0 of session "x" (domain session)", for errors.
    fn describe(&self, sid_hint: &str) -> String {
        let at = if self.label.is_empty() { String::new() } else { format!(" {}", self.label) };
        format!(
            "the stored {} value{at} of session {sid_hint:?} (domain {})",
            self.kind.name(),
            self.kind.domain().name()
        )
    }
}

fn push(out: &mut Vec<u8>, part: &[u8]) {
    out.extend_from_slice(&(part.len() as u32).to_be_bytes());
    out.extend_from_slice(part);
}

/// What a stored value is.
pub enum Form {
    /// Written before encryption was turned on.
    Plain,
    /// Sealed with the key of this fingerprint.
    Sealed(Fingerprint),
}

pub fn form(stored: &[u8]) -> Form {
    if stored.len() < MIN_SEALED_BYTES || stored[..2] != MAGIC {
        return Form::Plain;
    }
    let mut fp = [0u8; FINGERPRINT_BYTES];
    fp.copy_from_slice(&stored[3..3 + FINGERPRINT_BYTES]);
    Form::Sealed(fp)
}

/// Seals `plain` for `slot` with the ring's current key and a fresh random nonce.
pub fn seal(ring: &KeyRing, slot: &Slot, plain: &[u8]) -> StoreResult<Vec<u8>> {
    let key = ring
        .current()
        .ok_or_else(|| StoreError::invalid_config("the encryption key ring has no current key"))?;
    let mut nonce = [0u8; NONCE_BYTES];
    OsRng.try_fill_bytes(&mut nonce).map_err(|e| {
        StoreError::new(ErrorCode::WriteFailed, format!("no random nonce for a sealed value: the OS random source failed: {e}"))
    })?;
    let mut out = Vec::with_capacity(HEADER_BYTES + plain.len() + TAG_BYTES);
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&key.fingerprint);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plain);
    let tag = key
        .cipher
        .encrypt_in_place_detached(Nonce::from_slice(&nonce), &slot.aad, &mut out[HEADER_BYTES..])
        .map_err(|_| StoreError::new(ErrorCode::WriteFailed, format!("could not encrypt {}", slot.describe(""))))?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// How [`open`] treats a value that is not sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plaintext {
    /// Returned as stored (data written before encryption was turned on).
    Accept,
    /// `STORE_DECRYPT_FAILED` (`encryption.allowPlaintext: false`).
    Reject,
}

/// The plaintext of a stored value of `slot` in session `sid`.
/// Without a ring (encryption off), a sealed value is an error too: it is
/// never handed out as if it were the value.
pub fn open(ring: Option<&KeyRing>, plaintext: Plaintext, sid: &str, slot: &Slot, stored: Vec<u8>) -> StoreResult<Vec<u8>> {
    let fp = match form(&stored) {
        Form::Plain if ring.is_none() || plaintext == Plaintext::Accept => return Ok(stored),
        Form::Plain => {
            return Err(decrypt_failed(format!(
                "{} is not encrypted and encryption.allowPlaintext is false; \
                 run store.rotateEncryptionKey() to encrypt values written before encryption was on",
                slot.describe(sid)
            )))
        }
        Form::Sealed(fp) => fp,
    };
    let Some(ring) = ring else {
        return Err(decrypt_failed(format!(
            "{} is encrypted (key {}), but this store has no encryption key; pass encryption: {{ key }} or {{ keys, current }} to createStore",
            slot.describe(sid),
            fingerprint_hex(&fp)
        )));
    };
    if stored[2] != VERSION {
        return Err(decrypt_failed(format!(
            "{} is sealed in format version {}, which this wastore does not know; upgrade wastore",
            slot.describe(sid),
            stored[2]
        )));
    }
    let Some(key) = ring.find(&fp) else {
        return Err(decrypt_failed(format!(
            "{} was encrypted with key {}, which is not in the key ring ({}); add that key to encryption.keys",
            slot.describe(sid),
            fingerprint_hex(&fp),
            ring.describe()
        )));
    };
    let nonce_at = MAGIC.len() + 1 + FINGERPRINT_BYTES;
    let tag_at = stored.len() - TAG_BYTES;
    let mut plain = stored[HEADER_BYTES..tag_at].to_vec();
    key.cipher
        .decrypt_in_place_detached(
            Nonce::from_slice(&stored[nonce_at..HEADER_BYTES]),
            &slot.aad,
            &mut plain,
            Tag::from_slice(&stored[tag_at..]),
        )
        .map_err(|_| {
            decrypt_failed(format!(
                "{} does not authenticate under key {:?}: it was altered, or copied from another row, session or domain",
                slot.describe(sid),
                key.id
            ))
        })?;
    Ok(plain)
}

/// A value that is already sealed for `slot` with a key of the ring is kept
/// as it is (an import of exported ciphertext); anything else is sealed.
/// Sealed bytes that do not open for this slot are refused, never stored
/// sealed twice.
pub fn seal_or_keep(ring: &KeyRing, sid: &str, slot: &Slot, value: Vec<u8>) -> StoreResult<Vec<u8>> {
    match form(&value) {
        Form::Plain => seal(ring, slot, &value),
        Form::Sealed(_) => {
            open(Some(ring), Plaintext::Reject, sid, slot, value.clone())?;
            Ok(value)
        }
    }
}

pub fn decrypt_failed(message: String) -> StoreError {
    StoreError::new(ErrorCode::DecryptFailed, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encryption::keys::KeyRing;
    use zeroize::Zeroizing;

    fn ring(ids: &[(&str, u8)], current: &str) -> KeyRing {
        let keys = ids.iter().map(|(id, b)| (id.to_string(), Zeroizing::new([*b; 32]))).collect();
        KeyRing::new(keys, current, "encryption").unwrap()
    }

    fn code(r: StoreResult<Vec<u8>>) -> ErrorCode {
        r.unwrap_err().code
    }

    #[test]
    fn seals_open_only_in_their_slot() {
        let r = ring(&[("a", 1)], "a");
        let a = SignalAddress::new("u", None, 1);
        let slot = Slot::session("s1", &a);
        let sealed = seal(&r, &slot, b"secret session").unwrap();
        assert_eq!(sealed.len(), MIN_SEALED_BYTES + 14);
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(open(Some(&r), Plaintext::Reject, "s1", &slot, sealed.clone()).unwrap(), b"secret session");
        // Fresh nonce per value.
        assert_ne!(seal(&r, &slot, b"secret session").unwrap(), sealed);
        for other in [
            Slot::session("s2", &a),
            Slot::session("s1", &SignalAddress::new("u", None, 2)),
            Slot::identity("s1", &a),
            Slot::key("s1", "session", "u.1"),
        ] {
            let err = open(Some(&r), Plaintext::Accept, "s1", &other, sealed.clone()).unwrap_err();
            assert_eq!(err.code, ErrorCode::DecryptFailed);
            assert!(err.message.contains("copied from another row"), "{}", err.message);
        }
        let mut flipped = sealed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(code(open(Some(&r), Plaintext::Accept, "s1", &slot, flipped)), ErrorCode::DecryptFailed);
    }

    #[test]
    fn wrong_missing_or_unknown_keys_fail_with_decrypt_failed() {
        let r = ring(&[("a", 1)], "a");
        let slot = Slot::singleton("s", RecordKind::Auth);
        let sealed = seal(&r, &slot, b"creds").unwrap();
        let err = open(Some(&ring(&[("b", 2)], "b")), Plaintext::Accept, "s", &slot, sealed.clone()).unwrap_err();
        assert_eq!(err.code, ErrorCode::DecryptFailed);
        assert!(err.message.contains("domain auth") && err.message.contains("not in the key ring"), "{}", err.message);
        let err = open(None, Plaintext::Accept, "s", &slot, sealed.clone()).unwrap_err();
        assert!(err.message.contains("no encryption key"), "{}", err.message);
        let mut future = sealed.clone();
        future[2] = 9;
        assert_eq!(code(open(Some(&r), Plaintext::Accept, "s", &slot, future)), ErrorCode::DecryptFailed);
        // A ring holding the old key still opens it.
        let both = ring(&[("b", 2), ("a", 1)], "b");
        assert_eq!(open(Some(&both), Plaintext::Reject, "s", &slot, sealed).unwrap(), b"creds");
    }

    #[test]
    fn plaintext_is_accepted_or_refused_as_configured() {
        let r = ring(&[("a", 1)], "a");
        let slot = Slot::pre_key("s", 5);
        let wsv = vec![0xA5, 1, 6, 1, b'x'];
        assert_eq!(open(Some(&r), Plaintext::Accept, "s", &slot, wsv.clone()).unwrap(), wsv);
        assert_eq!(open(None, Plaintext::Reject, "s", &slot, wsv.clone()).unwrap(), wsv);
        let err = open(Some(&r), Plaintext::Reject, "s", &slot, wsv).unwrap_err();
        assert!(err.message.contains("allowPlaintext"), "{}", err.message);
        // Raw keys (even ones starting with the magic) are shorter than any sealed value.
        let mut raw = [7u8; 33];
        raw[..2].copy_from_slice(&MAGIC);
        assert!(matches!(form(&raw), Form::Plain));
        assert_eq!(open(Some(&r), Plaintext::Accept, "s", &slot, raw.to_vec()).unwrap(), raw.to_vec());
    }

    #[test]
    fn sealed_values_are_kept_only_when_they_open_in_the_slot() {
        let r = ring(&[("a", 1)], "a");
        let slot = Slot::sync_key("s", &[1, 2]);
        let sealed = seal(&r, &slot, b"k").unwrap();
        assert_eq!(seal_or_keep(&r, "s", &slot, sealed.clone()).unwrap(), sealed);
        let moved = Slot::sync_key("t", &[1, 2]);
        assert_eq!(code(seal_or_keep(&r, "t", &moved, sealed)), ErrorCode::DecryptFailed);
        let fresh = seal_or_keep(&r, "s", &slot, b"plain".to_vec()).unwrap();
        assert!(matches!(form(&fresh), Form::Sealed(_)));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let r = ring(&[("a", 1)], "a");
        let slot = Slot::singleton("s", RecordKind::Auth);
        let mut bytes = MAGIC.to_vec();
        bytes.push(VERSION);
        bytes.extend_from_slice(&crate::encryption::keys::fingerprint(&[1; 32]));
        for len in 0..80 {
            let mut v = bytes.clone();
            v.resize(len.max(3), 0x11);
            v.truncate(len);
            let _ = open(Some(&r), Plaintext::Accept, "s", &slot, v);
        }
    }
}
