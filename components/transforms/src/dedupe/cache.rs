//! A least-recently-used set: what `dedupe` remembers.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::Arc;

/// Remembers at most `capacity` keys, forgetting the one used longest ago first.
///
/// Each key is stamped with a rising counter on every use; `by_age` orders the stamps, so the
/// oldest key is its first entry. Keys are shared between both maps, not copied.
pub(super) struct LruSet<K> {
    capacity: usize,
    stamps: HashMap<Arc<K>, u64>,
    by_age: BTreeMap<u64, Arc<K>>,
    next_stamp: u64,
}

impl<K: Hash + Eq> LruSet<K> {
    pub(super) fn new(capacity: usize) -> Self {
        Self { capacity: capacity.max(1), stamps: HashMap::new(), by_age: BTreeMap::new(), next_stamp: 0 }
    }

    /// Records a use of `key`. Returns true when it was already present (it is then the most
    /// recently used); otherwise adds it, forgetting the oldest key if the set is full.
    pub(super) fn touch(&mut self, key: K) -> bool {
        let stamp = self.next_stamp;
        self.next_stamp += 1;
        if let Some((shared, old)) = self.stamps.get_key_value(&key) {
            let (shared, old) = (shared.clone(), *old);
            self.by_age.remove(&old);
            self.by_age.insert(stamp, shared.clone());
            self.stamps.insert(shared, stamp);
            return true;
        }
        if self.stamps.len() >= self.capacity
            && let Some((_, oldest)) = self.by_age.pop_first()
        {
            self.stamps.remove(&oldest);
        }
        let key = Arc::new(key);
        self.by_age.insert(stamp, key.clone());
        self.stamps.insert(key, stamp);
        false
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.stamps.len()
    }
}

#[cfg(test)]
mod tests {
    use super::LruSet;

    #[test]
    fn forgets_the_least_recently_used_key() {
        let mut set = LruSet::new(2);
        assert!(!set.touch("a"));
        assert!(!set.touch("b"));
        assert!(set.touch("a"));
        // `b` is now the oldest: adding `c` forgets it, not `a`.
        assert!(!set.touch("c"));
        assert_eq!(set.len(), 2);
        assert!(set.touch("a"));
        assert!(!set.touch("b"));
    }
}
