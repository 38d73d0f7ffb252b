//! Bounded fuzzing of the WSV codec (proptest, a few seconds): decoding any
//! bytes returns a value or `STORE_CORRUPTED`, never panics, and never
//! allocates more than a small multiple of its input.
//!
//! The counting allocator below is the lib test binary's; it counts per
//! thread, so each measurement sees only its own test's allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use proptest::prelude::*;
use crate::codec::{decode, encode, Reader, Token, TypedArrayKind, Value, MAGIC, VERSION};
use crate::error::ErrorCode;

/// Counts the live and peak heap bytes of the current thread.
struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn note(delta: isize) {
    // `try_with`: the thread's own teardown frees after its locals are gone.
    let _ = LIVE.try_with(|live| {
        let now = live.get().saturating_add_signed(delta);
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Peak heap bytes `f` used above what was live when it started.
fn peak_of<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let out = f();
    (out, PEAK.with(Cell::get) - base)
}

/// What decoding `len` input bytes may allocate: every element consumes at
/// least one byte and becomes one `Value` (plus its container's slot, and
/// doubling growth), and every byte string is copied once.
fn budget(len: usize) -> usize {
    64 * 1024 + len * 4 * (std::mem::size_of::<Value>() + 32)
}

/// Decodes and checks the rules; returns whether it decoded.
fn check(bytes: &[u8]) -> bool {
    let (result, peak) = peak_of(|| decode(bytes));
    assert!(peak <= budget(bytes.len()), "decoding {} bytes allocated {peak} bytes", bytes.len());
    match result {
        Ok(v) => {
            // What decodes re-encodes to the same bytes, except for NaN payloads and -0 spellings.
            let again = encode(&v);
            assert!(decode(&again).is_ok());
            true
        }
        Err(e) => {
            assert_eq!(e.code, ErrorCode::Corrupted, "{}", e.message);
            false
        }
    }
}

/// The token stream the JS decoder walks, over the same bytes: errors, never panics.
fn walk_tokens(bytes: &[u8]) {
    let Ok(mut r) = Reader::new(bytes) else { return };
    for _ in 0..bytes.len() + 1 {
        match r.next_token() {
            Ok(Token::Object(_)) => {
                let _ = r.key();
            }
            Ok(_) => {}
            Err(e) => {
                assert_eq!(e.code, ErrorCode::Corrupted);
                return;
            }
        }
        if r.is_at_end() {
            return;
        }
    }
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Undefined),
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| Value::Int(i >> 11)),
        any::<f64>().prop_map(Value::Float),
        ".{0,12}".prop_map(Value::String),
        proptest::collection::vec(any::<u8>(), 0..24).prop_map(Value::Bytes),
        proptest::collection::vec(any::<u8>(), 0..24).prop_map(Value::Buffer),
        (any::<bool>(), proptest::collection::vec(1u8..=255, 0..9))
            .prop_map(|(negative, magnitude)| Value::BigInt { negative, magnitude }),
        any::<f64>().prop_map(Value::Date),
        proptest::collection::vec(any::<[u8; 4]>(), 0..4)
            .prop_map(|w| Value::TypedArray { kind: TypedArrayKind::Int32, bytes: w.concat() }),
        proptest::collection::vec(any::<u8>(), 0..8).prop_map(Value::ArrayBuffer),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((".{0,6}", inner.clone()), 0..6).prop_map(Value::Object),
            proptest::collection::vec((inner.clone(), inner.clone()), 0..4).prop_map(Value::Map),
            proptest::collection::vec(inner, 0..4).prop_map(Value::Set),
        ]
    })
}

/// One change to an encoding: flip a byte, cut it, splice bytes in, or drop a run.
#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Cut(usize),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        any::<usize>().prop_map(Mutation::Cut),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..10)).prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<usize>(), 1usize..8).prop_map(|(i, n)| Mutation::Remove(i, n)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len().max(1);
    match m {
        Mutation::Set(i, b) if !bytes.is_empty() => bytes[i % len] = *b,
        Mutation::Cut(i) => bytes.truncate(i % len),
        Mutation::Insert(i, b) => {
            let at = i % (bytes.len() + 1);
            bytes.splice(at..at, b.iter().copied());
        }
        Mutation::Remove(i, n) if !bytes.is_empty() => {
            let at = i % len;
            let end = (at + n).min(bytes.len());
            bytes.drain(at..end);
        }
        _ => {}
    }
}

/// Headers, then the tags and varints that declare sizes: what random bytes rarely hit.
fn hostile_prefix() -> impl Strategy<Value = Vec<u8>> {
    let header = Just(vec![MAGIC, VERSION]);
    let body = proptest::collection::vec(
        prop_oneof![
            4 => any::<u8>(),
            1 => Just(0xff),
            1 => Just(0x7f),
            1 => 0u8..0x14,
        ],
        0..64,
    );
    (header, body).prop_map(|(mut h, b)| {
        h.extend(b);
        h
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        check(&bytes);
        walk_tokens(&bytes);
    }

    #[test]
    fn bytes_with_a_valid_header_never_panic(bytes in hostile_prefix()) {
        check(&bytes);
        walk_tokens(&bytes);
    }

    #[test]
    fn values_round_trip_and_their_mutations_never_panic(v in value(), ms in proptest::collection::vec(mutation(), 1..4)) {
        let good = encode(&v);
        prop_assert!(check(&good), "a valid encoding must decode");
        prop_assert_eq!(encode(&decode(&good).unwrap()), good.clone());
        let mut bad = good;
        for m in &ms {
            apply(&mut bad, m);
        }
        check(&bad);
        walk_tokens(&bad);
    }
}

/// Containers each declaring about as many elements as bytes remain, nested
/// 20 deep: the decoder must fail fast without reserving each count.
#[test]
fn nested_huge_counts_do_not_allocate_ahead() {
    for tag in [0x09u8, 0x0a, 0x0d, 0x0e] {
        let mut bytes = vec![MAGIC, VERSION];
        for _ in 0..20 {
            bytes.push(tag);
            bytes.extend([0xff, 0xff, 0x3f]); // about a million
            if tag == 0x0a {
                bytes.extend([0x01, b'k']);
            }
        }
        bytes.resize(bytes.len() + 1_100_000, 0x01);
        let (result, peak) = peak_of(|| decode(&bytes));
        assert!(result.is_err());
        assert!(peak <= budget(bytes.len()), "tag {tag:#x}: {peak} bytes for {} input bytes", bytes.len());
    }
}
