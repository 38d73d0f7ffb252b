//! Batch dedupe shared by the server backends: one statement must not touch
//! a row (document) twice, and later duplicates win or merge in order.

use std::collections::HashMap;
use std::hash::Hash;

/// One item per key: the **last** value given for it, at the position of its
/// first occurrence (so one statement never touches a row twice; last write wins).
pub fn dedupe_last<T, K: Hash + Eq>(items: Vec<T>, key: impl Fn(&T) -> K) -> Vec<T> {
    dedupe_with(items, key, |slot, item| *slot = item)
}

/// One item per key, later duplicates folded into the first with `merge`.
pub fn dedupe_with<T, K: Hash + Eq>(items: Vec<T>, key: impl Fn(&T) -> K, merge: impl Fn(&mut T, T)) -> Vec<T> {
    let mut position: HashMap<K, usize> = HashMap::with_capacity(items.len());
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        let k = key(&item);
        match position.get(&k) {
            Some(&i) => {
                if let Some(slot) = out.get_mut(i) {
                    merge(slot, item);
                }
            }
            None => {
                position.insert(k, out.len());
                out.push(item);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedupe_keeps_first_position_last_value() {
        let v = vec![("a", 1), ("b", 2), ("a", 3)];
        assert_eq!(dedupe_last(v, |x| x.0), vec![("a", 3), ("b", 2)]);
        let v = vec![("a", 1), ("a", 2)];
        assert_eq!(dedupe_with(v, |x| x.0, |s, i| s.1 += i.1), vec![("a", 3)]);
    }
}
