//! One domain's cached entries of one session: a bounded LRU of clean
//! entries, plus the dirty entries (written, not yet committed), which are
//! never evicted.
//!
//! An entry is either a value or *known absent* (a negative entry): most
//! hot-path lookups miss, and a known miss must not reach the backend twice.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hashlink::LruCache;

/// Stored bytes, shared between the cache, pending writes and readers.
pub type Bytes = Arc<Vec<u8>>;

/// What a lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// A value, with the generation of this exact version (see [`next_generation`]).
    Hit(Bytes, u64),
    /// Known absent.
    Absent,
    /// Not cached: ask the backend.
    Miss,
}

/// Every cached version gets a process-wide unique generation, so a JS
/// object decoded from (or written as) one version can be reused for exactly
/// that version and no other.
pub fn next_generation() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[derive(Debug, Clone)]
struct Slot {
    value: Option<Bytes>,
    generation: u64,
}

#[derive(Debug, Clone)]
struct DirtySlot {
    slot: Slot,
    /// Which write made it dirty; only that write's commit makes it clean.
    seq: u64,
}

type Hasher = foldhash::fast::RandomState;

pub struct Entries<K: Hash + Eq> {
    clean: LruCache<K, Slot, Hasher>,
    dirty: HashMap<K, DirtySlot, Hasher>,
    limit: usize,
    /// Bumped whenever an entry leaves for a reason other than a write
    /// (eviction, revert, clear): a backend read that started before may be stale.
    invalidations: u64,
    pub evictions: u64,
}

impl<K: Hash + Eq + Clone> Entries<K> {
    pub fn new(limit: usize) -> Self {
        Self {
            clean: LruCache::with_hasher(usize::MAX, Hasher::default()),
            dirty: HashMap::with_hasher(Hasher::default()),
            limit: limit.max(1),
            invalidations: 0,
            evictions: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.clean.len() + self.dirty.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    pub fn dirty_len(&self) -> usize {
        self.dirty.len()
    }

    pub fn lookup(&mut self, key: &K) -> Lookup {
        let slot = match self.dirty.get(key) {
            Some(d) => &d.slot,
            None => match self.clean.get(key) {
                Some(s) => s,
                None => return Lookup::Miss,
            },
        };
        match &slot.value {
            Some(v) => Lookup::Hit(Arc::clone(v), slot.generation),
            None => Lookup::Absent,
        }
    }

    /// The token a backend read takes before it starts; see [`Entries::fill`].
    pub fn read_token(&self) -> u64 {
        self.invalidations
    }

    /// Caches what the backend returned for `keys` (one read), unless the
    /// cache learnt something newer meanwhile: a write (the slot is taken) or
    /// an invalidation since `token` (then nothing is cached). Returns the
    /// generation of each cached version, 0 for those not cached.
    pub fn fill(&mut self, keys: &[K], values: &[Option<Bytes>], token: u64) -> Vec<u64> {
        if token != self.invalidations {
            return vec![0; keys.len()];
        }
        let generations = keys
            .iter()
            .zip(values)
            .map(|(key, value)| {
                if self.dirty.contains_key(key) || self.clean.contains_key(key) {
                    return 0;
                }
                let generation = next_generation();
                self.clean.insert(
                    key.clone(),
                    Slot {
                        value: value.clone(),
                        generation,
                    },
                );
                generation
            })
            .collect();
        self.evict();
        generations
    }

    /// Records a write (`None` deletes) as dirty; returns its generation.
    pub fn write(&mut self, key: K, value: Option<Bytes>, seq: u64) -> u64 {
        self.clean.remove(&key);
        let generation = next_generation();
        self.dirty.insert(
            key,
            DirtySlot {
                slot: Slot { value, generation },
                seq,
            },
        );
        generation
    }

    /// The write `seq` of `key` committed: the entry is clean (unless a later write replaced it).
    pub fn committed(&mut self, key: &K, seq: u64) {
        if self.dirty.get(key).is_some_and(|d| d.seq == seq) {
            if let Some(d) = self.dirty.remove(key) {
                self.clean.insert(key.clone(), d.slot);
                self.evict();
            }
        }
    }

    /// The write `seq` of `key` failed and was reported to its caller: forget
    /// the entry (unless a later write replaced it), so the next read asks the backend.
    pub fn reverted(&mut self, key: &K, seq: u64) {
        if self.dirty.get(key).is_some_and(|d| d.seq == seq) {
            self.dirty.remove(key);
            self.invalidations += 1;
        }
    }

    /// Drops clean entries matching `pred` (dirty ones stay until they commit).
    pub fn forget_clean(&mut self, mut pred: impl FnMut(&K) -> bool) {
        let keys: Vec<K> = self
            .clean
            .iter()
            .filter(|(k, _)| pred(k))
            .map(|(k, _)| k.clone())
            .collect();
        for k in keys {
            self.clean.remove(&k);
        }
        self.invalidations += 1;
    }

    /// Drops every clean entry; dirty ones stay until they commit.
    pub fn clear_clean(&mut self) {
        self.clean.clear();
        self.invalidations += 1;
    }

    /// Clean entries go, least recently used first, until the map is within
    /// its limit; dirty entries are never evicted.
    fn evict(&mut self) {
        while self.clean.len() + self.dirty.len() > self.limit {
            if self.clean.remove_lru().is_none() {
                break;
            }
            self.evictions += 1;
            self.invalidations += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(x: u8) -> Option<Bytes> {
        Some(Arc::new(vec![x]))
    }

    #[test]
    fn negative_entries_and_hits() {
        let mut e: Entries<&str> = Entries::new(10);
        assert_eq!(e.lookup(&"a"), Lookup::Miss);
        let t = e.read_token();
        e.fill(&["a"], &[None], t);
        assert_eq!(e.lookup(&"a"), Lookup::Absent);
        let g = e.fill(&["b"], &[b(1)], t)[0];
        assert_eq!(e.lookup(&"b"), Lookup::Hit(Arc::new(vec![1]), g));
    }

    #[test]
    fn dirty_entries_are_never_evicted_and_clean_ones_go_lru_first() {
        let mut e: Entries<u32> = Entries::new(3);
        e.write(1, b(1), 1);
        e.write(2, b(2), 2);
        e.write(3, b(3), 3);
        e.write(4, b(4), 4);
        assert_eq!(e.len(), 4, "dirty entries stay even past the limit");
        for k in 1..=4 {
            assert!(matches!(e.lookup(&k), Lookup::Hit(..)));
        }
        let before = e.read_token();
        e.committed(&1, 1);
        assert_eq!(e.len(), 3, "a clean entry is evicted once the map is over its limit");
        assert_eq!(e.lookup(&1), Lookup::Miss);
        assert_eq!(
            e.fill(&[1], &[b(0)], before),
            vec![0],
            "an eviction during a read invalidates it"
        );
        e.committed(&2, 2);
        e.committed(&3, 3);
        e.committed(&4, 4);
        let t = e.read_token();
        e.lookup(&2); // most recently used
        assert_ne!(
            e.fill(&[5, 6], &[b(5), None], t)[0],
            0,
            "a read's own evictions do not invalidate it"
        );
        assert_eq!(e.len(), 3);
        assert_eq!(e.lookup(&3), Lookup::Miss, "least recently used went");
        assert_eq!(e.lookup(&6), Lookup::Absent);
        assert!(matches!(e.lookup(&2), Lookup::Hit(..)));
        assert!(e.evictions >= 2);
    }

    #[test]
    fn only_the_latest_write_commits_or_reverts() {
        let mut e: Entries<u32> = Entries::new(10);
        e.write(1, b(1), 1);
        e.write(1, b(2), 2);
        e.committed(&1, 1);
        assert_eq!(e.dirty_len(), 1, "an older commit does not clean a newer write");
        e.reverted(&1, 1);
        assert!(matches!(e.lookup(&1), Lookup::Hit(v, _) if *v == vec![2]));
        e.reverted(&1, 2);
        assert_eq!(e.lookup(&1), Lookup::Miss);
    }

    #[test]
    fn a_read_never_overwrites_a_write() {
        let mut e: Entries<u32> = Entries::new(10);
        let t = e.read_token();
        e.write(1, b(9), 1);
        assert_eq!(e.fill(&[1], &[b(1)], t), vec![0]);
        e.committed(&1, 1);
        assert_eq!(e.fill(&[1], &[b(1)], t), vec![0]);
        assert!(matches!(e.lookup(&1), Lookup::Hit(v, _) if *v == vec![9]));
    }
}
