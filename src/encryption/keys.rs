//! Encryption keys: how a key is given (32 raw bytes, 64 hex characters or
//! base64 of 32 bytes), the key ring (`{ keys: { id: key }, current: id }`)
//! and the fingerprint stored with every value to find its key again.

use aes_gcm::aead::KeyInit;
use aes_gcm::Aes256Gcm;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{StoreError, StoreResult};

/// AES-256: keys are exactly 32 bytes.
pub const KEY_BYTES: usize = 32;
/// Bytes of the key fingerprint in each sealed value's header.
pub const FINGERPRINT_BYTES: usize = 8;
/// Longest key id of a ring, in characters.
pub const MAX_KEY_ID_CHARS: usize = 64;

/// Identifies a key without revealing it: the first 8 bytes of
/// SHA-256("wastore key fingerprint v1" ‖ key). Stored with every value, so
/// a value names the key that sealed it whatever the ring calls that key.
pub type Fingerprint = [u8; FINGERPRINT_BYTES];

/// A key as the caller gave it.
pub enum KeyInput {
    Bytes(Vec<u8>),
    Text(String),
}

/// One key of the ring: its id (the caller's name), fingerprint and cipher.
pub struct RingKey {
    pub id: String,
    pub fingerprint: Fingerprint,
    pub(super) cipher: Aes256Gcm,
}

/// The keys a store can decrypt with, and the one it encrypts with.
pub struct KeyRing {
    keys: Vec<RingKey>,
    current: usize,
}

const HINT: &str = "a key is 32 bytes: a Buffer/Uint8Array of 32 bytes, 64 hex characters, or base64 of 32 bytes \
                    (make one with crypto.randomBytes(32).toString('base64'))";

/// Decodes `input` into 32 key bytes, or `STORE_INVALID_CONFIG` naming `field`.
/// Text of 64 hex digits is hex; any other text must be base64 (standard or
/// URL-safe, padded or not) of exactly 32 bytes.
pub fn parse_key(field: &str, input: KeyInput) -> StoreResult<Zeroizing<[u8; KEY_BYTES]>> {
    let bytes: Zeroizing<Vec<u8>> = match input {
        KeyInput::Bytes(b) => Zeroizing::new(b),
        KeyInput::Text(text) => {
            let text = Zeroizing::new(text);
            let t = text.trim();
            if t.len() == 2 * KEY_BYTES && t.bytes().all(|c| c.is_ascii_hexdigit()) {
                Zeroizing::new((0..KEY_BYTES).map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16).unwrap_or(0)).collect())
            } else {
                let decoded = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD].iter().find_map(|e| e.decode(t).ok());
                match decoded {
                    Some(d) => Zeroizing::new(d),
                    None => {
                        return Err(StoreError::invalid_config(format!(
                            "{field} is a string of {} characters that is neither 64 hex characters nor base64; {HINT}",
                            t.chars().count()
                        )))
                    }
                }
            }
        }
    };
    if bytes.len() != KEY_BYTES {
        return Err(StoreError::invalid_config(format!("{field} is {} bytes; {HINT}", bytes.len())));
    }
    let mut key = Zeroizing::new([0u8; KEY_BYTES]);
    key.copy_from_slice(&bytes);
    Ok(key)
}

/// Ids are what operators write in config files and read in error messages.
pub fn check_key_id(field: &str, id: &str) -> StoreResult<()> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if id.is_empty() || id.chars().count() > MAX_KEY_ID_CHARS || !id.chars().all(ok_char) {
        return Err(StoreError::invalid_config(format!(
            "{field}: key id {id:?} must be 1 to {MAX_KEY_ID_CHARS} characters of A-Z, a-z, 0-9, '.', '_' or '-'"
        )));
    }
    Ok(())
}

pub fn fingerprint(key: &[u8; KEY_BYTES]) -> Fingerprint {
    let mut h = Sha256::new();
    h.update(b"wastore key fingerprint v1");
    h.update(key);
    let digest = h.finalize();
    let mut out = [0u8; FINGERPRINT_BYTES];
    out.copy_from_slice(&digest[..FINGERPRINT_BYTES]);
    out
}

pub fn fingerprint_hex(f: &Fingerprint) -> String {
    f.iter().map(|b| format!("{b:02x}")).collect()
}

impl KeyRing {
    /// A ring of `(id, key)` pairs encrypting with `current`. Ids must be
    /// unique; the same key under two ids is refused too (it would make the
    /// ring ambiguous about which id a value's key has).
    pub fn new(keys: Vec<(String, Zeroizing<[u8; KEY_BYTES]>)>, current: &str, field: &str) -> StoreResult<KeyRing> {
        if keys.is_empty() {
            return Err(StoreError::invalid_config(format!("{field}.keys must hold at least one key")));
        }
        let mut ring: Vec<RingKey> = Vec::with_capacity(keys.len());
        for (id, key) in keys {
            check_key_id(&format!("{field}.keys"), &id)?;
            let fp = fingerprint(&key);
            if let Some(other) = ring.iter().find(|k| k.fingerprint == fp) {
                return Err(StoreError::invalid_config(format!(
                    "{field}.keys.{id} is the same key as {field}.keys.{}; give each key once",
                    other.id
                )));
            }
            if ring.iter().any(|k| k.id == id) {
                return Err(StoreError::invalid_config(format!("{field}.keys has the id {id:?} twice")));
            }
            let cipher = Aes256Gcm::new_from_slice(&key[..])
                .map_err(|_| StoreError::invalid_config(format!("{field}.keys.{id}: {HINT}")))?;
            ring.push(RingKey { id, fingerprint: fp, cipher });
        }
        let current = ring.iter().position(|k| k.id == current).ok_or_else(|| {
            let ids: Vec<&str> = ring.iter().map(|k| k.id.as_str()).collect();
            StoreError::invalid_config(format!(
                "{field}.current is {current:?}, which is not a key of {field}.keys ({})",
                ids.join(", ")
            ))
        })?;
        Ok(KeyRing { keys: ring, current })
    }

    /// A ring of one key, for `encryption: { key }` (its id is `default`).
    pub fn single(key: Zeroizing<[u8; KEY_BYTES]>) -> StoreResult<KeyRing> {
        KeyRing::new(vec![("default".to_owned(), key)], "default", "encryption")
    }

    pub fn current(&self) -> Option<&RingKey> {
        self.keys.get(self.current)
    }

    pub fn find(&self, fp: &Fingerprint) -> Option<&RingKey> {
        self.keys.iter().find(|k| &k.fingerprint == fp)
    }

    /// `id (fingerprint)` of every key, for messages.
    pub fn describe(&self) -> String {
        let parts: Vec<String> =
            self.keys.iter().map(|k| format!("{} ({})", k.id, fingerprint_hex(&k.fingerprint))).collect();
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn key(byte: u8) -> Zeroizing<[u8; KEY_BYTES]> {
        Zeroizing::new([byte; KEY_BYTES])
    }

    #[test]
    fn keys_are_32_bytes_in_raw_hex_or_base64_form() {
        let raw: Vec<u8> = (0..32).collect();
        let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        let cases = [
            KeyInput::Bytes(raw.clone()),
            KeyInput::Text(hex.clone()),
            KeyInput::Text(hex.to_uppercase()),
            KeyInput::Text(STANDARD.encode(&raw)),
            KeyInput::Text(URL_SAFE_NO_PAD.encode(&raw)),
            KeyInput::Text(format!(" {} \n", STANDARD.encode(&raw))),
        ];
        for input in cases {
            assert_eq!(&parse_key("k", input).unwrap()[..], &raw[..]);
        }
        for bad in [
            KeyInput::Bytes(vec![1; 31]),
            KeyInput::Bytes(vec![1; 33]),
            KeyInput::Bytes(Vec::new()),
            KeyInput::Text(String::new()),
            KeyInput::Text("not a key!".into()),
            KeyInput::Text(STANDARD.encode([1u8; 16])),
            KeyInput::Text("z".repeat(64)),
        ] {
            let err = parse_key("encryption.key", bad).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidConfig);
            assert!(err.message.starts_with("encryption.key"), "{}", err.message);
        }
    }

    #[test]
    fn rings_validate_ids_current_and_duplicates() {
        let ring = KeyRing::new(vec![("a".into(), key(1)), ("b-2.x_y".into(), key(2))], "b-2.x_y", "encryption").unwrap();
        assert_eq!(ring.current().unwrap().id, "b-2.x_y");
        assert_eq!(ring.find(&fingerprint(&[1; 32])).unwrap().id, "a");
        assert!(ring.find(&fingerprint(&[3; 32])).is_none());
        assert!(ring.describe().contains("a ("));
        let cases: Vec<(Vec<(String, Zeroizing<[u8; 32]>)>, &str, &str)> = vec![
            (vec![], "a", "at least one key"),
            (vec![("a".into(), key(1))], "b", "not a key of"),
            (vec![("a".into(), key(1)), ("b".into(), key(1))], "a", "same key"),
            (vec![("a".into(), key(1)), ("a".into(), key(2))], "a", "twice"),
            (vec![("has space".into(), key(1))], "has space", "key id"),
            (vec![("".into(), key(1))], "", "key id"),
            (vec![("x".repeat(65), key(1))], "x", "key id"),
        ];
        for (keys, current, want) in cases {
            let err = KeyRing::new(keys, current, "encryption").err().unwrap();
            assert_eq!(err.code, ErrorCode::InvalidConfig);
            assert!(err.message.contains(want), "{} lacks {want}", err.message);
        }
    }

    #[test]
    fn fingerprints_differ_per_key_and_are_stable() {
        assert_ne!(fingerprint(&[1; 32]), fingerprint(&[2; 32]));
        assert_eq!(fingerprint(&[1; 32]), fingerprint(&[1; 32]));
        assert_eq!(KeyRing::single(key(7)).unwrap().current().unwrap().id, "default");
    }
}
