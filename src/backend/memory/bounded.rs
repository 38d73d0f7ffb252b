//! An insertion-ordered map with a size cap, zapo's `setBoundedMapEntry`:
//! every write moves the key to the back, and when the map grows past its
//! cap the oldest-written entries go first. Reads never refresh an entry.
//!
//! Order is kept by a write sequence number: `entries` maps a key to its
//! sequence and value, `order` maps sequences back to keys, so insert,
//! remove and evict are all O(log n).

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

#[derive(Debug, Clone)]
pub struct BoundedMap<K, V> {
    cap: usize,
    next_seq: u64,
    entries: HashMap<K, (u64, V)>,
    order: BTreeMap<u64, K>,
}

impl<K: Eq + Hash + Clone, V> BoundedMap<K, V> {
    /// A cap of 0 is treated as 1: config validation forbids it, and a map
    /// that evicts what was just written would only surprise callers.
    pub fn new(cap: usize) -> Self {
        Self { cap: cap.max(1), next_seq: 0, entries: HashMap::new(), order: BTreeMap::new() }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.get(key).map(|(_, v)| v)
    }

    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.contains_key(key)
    }

    /// In-place change that does not count as a write (keeps its position),
    /// e.g. flipping a pre-key's uploaded flag, which zapo keeps out of band.
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.get_mut(key).map(|(_, v)| v)
    }

    /// In-place change that counts as a write: the entry moves to the back.
    pub fn modify<Q, R>(&mut self, key: &Q, f: impl FnOnce(&mut V) -> R) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let seq = self.bump();
        let (old_seq, value) = self.entries.get_mut(key)?;
        let moved_key = self.order.remove(old_seq)?;
        *old_seq = seq;
        self.order.insert(seq, moved_key);
        Some(f(value))
    }

    /// Writes `value` at the back (replacing any previous value) and returns
    /// the entries evicted to stay within the cap, oldest first, so callers
    /// can fix up their secondary indexes.
    pub fn insert(&mut self, key: K, value: V) -> Vec<(K, V)> {
        self.remove(&key);
        let seq = self.bump();
        self.order.insert(seq, key.clone());
        self.entries.insert(key, (seq, value));
        let mut evicted = Vec::new();
        while self.entries.len() > self.cap {
            let Some((_, oldest)) = self.order.pop_first() else { break };
            if let Some((_, v)) = self.entries.remove(&oldest) {
                evicted.push((oldest, v));
            }
        }
        evicted
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let (seq, value) = self.entries.remove(key)?;
        self.order.remove(&seq);
        Some(value)
    }

    /// Keeps the entries for which `keep` is true; returns the removed ones in write order.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) -> Vec<(K, V)> {
        let doomed: Vec<(u64, K)> = self
            .order
            .iter()
            .filter(|(_, k)| self.entries.get(*k).is_some_and(|(_, v)| !keep(k, v)))
            .map(|(s, k)| (*s, k.clone()))
            .collect();
        let mut removed = Vec::with_capacity(doomed.len());
        for (seq, key) in doomed {
            self.order.remove(&seq);
            if let Some((_, v)) = self.entries.remove(&key) {
                removed.push((key, v));
            }
        }
        removed
    }

    /// Entries from oldest to newest write.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.order.values().filter_map(move |k| self.entries.get_key_value(k).map(|(k, (_, v))| (k, v)))
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.iter().map(|(_, v)| v)
    }

    /// The entries from oldest to newest write, consuming the map.
    pub fn into_vec(mut self) -> Vec<(K, V)> {
        let order = std::mem::take(&mut self.order);
        order.into_values().filter_map(|k| self.entries.remove(&k).map(|(_, v)| (k, v))).collect()
    }

    fn bump(&mut self) -> u64 {
        let seq = self.next_seq;
        // 2^64 writes will not happen; wrapping keeps this panic-free regardless.
        self.next_seq = self.next_seq.wrapping_add(1);
        seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(map: &BoundedMap<&'static str, u32>) -> Vec<&'static str> {
        map.iter().map(|(k, _)| *k).collect()
    }

    #[test]
    fn evicts_oldest_write_and_rewrites_move_to_back() {
        let mut m = BoundedMap::new(2);
        assert!(m.insert("a", 1).is_empty());
        assert!(m.insert("b", 2).is_empty());
        assert!(m.insert("a", 3).is_empty()); // rewrite: a is now newest
        assert_eq!(keys(&m), ["b", "a"]);
        assert_eq!(m.insert("c", 4), vec![("b", 2)]);
        assert_eq!(keys(&m), ["a", "c"]);
        assert_eq!(m.get("a"), Some(&3));
    }

    #[test]
    fn reads_and_get_mut_do_not_refresh_but_modify_does() {
        let mut m = BoundedMap::new(2);
        m.insert("a", 1);
        m.insert("b", 2);
        let _ = m.get("a");
        *m.get_mut("a").unwrap() = 10;
        assert_eq!(m.insert("c", 3), vec![("a", 10)]);
        assert_eq!(m.modify("b", |v| *v += 1), Some(()));
        assert_eq!(keys(&m), ["c", "b"]);
        assert_eq!(m.modify("zz", |v| *v += 1), None);
    }

    #[test]
    fn remove_and_retain_keep_order_consistent() {
        let mut m = BoundedMap::new(3);
        for (k, v) in [("a", 1), ("b", 2), ("c", 3)] {
            m.insert(k, v);
        }
        assert_eq!(m.remove("b"), Some(2));
        assert_eq!(m.remove("b"), None);
        m.insert("d", 4);
        assert_eq!(m.retain(|_, v| *v != 1), vec![("a", 1)]);
        assert_eq!(keys(&m), ["c", "d"]);
        assert_eq!(m.len(), 2);
        m.insert("e", 5);
        assert_eq!(m.insert("f", 6), vec![("c", 3)]);
        assert_eq!(m.into_vec(), vec![("d", 4), ("e", 5), ("f", 6)]);
    }

    #[test]
    fn zero_cap_behaves_as_one() {
        let mut m = BoundedMap::new(0);
        assert!(m.insert("a", 1).is_empty());
        assert_eq!(m.insert("b", 2), vec![("a", 1)]);
        assert!(!m.is_empty());
    }
}
