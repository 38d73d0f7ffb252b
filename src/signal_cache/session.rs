//! The cache of one session: lookups served in place (hits, negative hits),
//! misses fetched from the backend in one call, writes staged as dirty
//! entries and handed to the backend's [`Hub`] for group commit.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::config::CacheLimits;
use super::entries::{Bytes, Entries, Lookup};
use super::hub::{Hub, Pending, StagedWrite};
use super::kinds::{Kind, Maps};
use super::stats::{CacheStats, Counters};
use crate::error::{ErrorCode, StoreError, StoreResult};
use crate::ownership::LeaseSlot;

/// A cached value and the generation of that exact version.
pub type Versioned = (Bytes, u64);

pub struct SessionCache {
    pub sid: Arc<str>,
    hub: Arc<Hub>,
    maps: Mutex<Maps>,
    counters: Counters,
    /// A deferred write of this session failed in a way a retry cannot fix:
    /// its dirty state is kept and retried, and new writes are refused.
    halted: AtomicBool,
    /// Ownership mode: the lease this session's commits are fenced with.
    fence: Mutex<Option<Arc<LeaseSlot>>>,
}

impl SessionCache {
    pub(super) fn new(sid: Arc<str>, hub: Arc<Hub>, limits: &CacheLimits) -> Self {
        Self {
            sid,
            hub,
            maps: Mutex::new(Maps {
                sessions: Entries::new(limits.sessions),
                identities: Entries::new(limits.identities),
                sender_keys: Entries::new(limits.sender_keys),
                keys: Entries::new(limits.keys),
            }),
            counters: Counters::default(),
            halted: AtomicBool::new(false),
            fence: Mutex::new(None),
        }
    }

    /// Fences every later commit of this session with `slot` (ownership mode).
    pub fn set_fence(&self, slot: Arc<LeaseSlot>) {
        *self.fence.lock() = Some(slot);
    }

    pub fn fence_slot(&self) -> Option<Arc<LeaseSlot>> {
        self.fence.lock().clone()
    }

    /// Forgets every clean entry (after a lease was acquired: another process may have written).
    pub fn forget_clean(&self) {
        let mut maps = self.maps.lock();
        maps.sessions.clear_clean();
        maps.identities.clear_clean();
        maps.sender_keys.clear_clean();
        maps.keys.clear_clean();
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    fn count(&self, found: &[Lookup]) {
        let (mut hits, mut negative) = (0, 0);
        for f in found {
            match f {
                Lookup::Hit(..) => hits += 1,
                Lookup::Absent => negative += 1,
                Lookup::Miss => {}
            }
        }
        for (mine, hubs, n) in [
            (&self.counters.hits, &self.hub.counters.hits, hits),
            (&self.counters.negative_hits, &self.hub.counters.negative_hits, negative),
        ] {
            Counters::add(mine, n);
            Counters::add(hubs, n);
        }
    }

    /// Serves `keys` from the cache alone, or `None` when any of them is not
    /// cached (then nothing is counted: the caller goes through [`SessionCache::get`]).
    pub fn serve<K: Kind>(&self, keys: &[K::Key]) -> Option<Vec<Option<Versioned>>> {
        let found: Vec<Lookup> = {
            let mut maps = self.maps.lock();
            let map = K::map(&mut maps);
            let mut out = Vec::with_capacity(keys.len());
            for k in keys {
                match map.lookup(k) {
                    Lookup::Miss => return None,
                    l => out.push(l),
                }
            }
            out
        };
        self.count(&found);
        Some(found.into_iter().map(versioned).collect())
    }

    /// Positional values of `keys`: cached ones in place, the misses fetched
    /// from the backend in one call and cached (values and absences).
    pub async fn get<K: Kind>(&self, keys: &[K::Key]) -> StoreResult<Vec<Option<Versioned>>> {
        let (mut found, token) = {
            let mut maps = self.maps.lock();
            let map = K::map(&mut maps);
            (keys.iter().map(|k| map.lookup(k)).collect::<Vec<_>>(), map.read_token())
        };
        self.count(&found);
        let mut missing: Vec<K::Key> = Vec::new();
        let mut index: HashMap<&K::Key, usize> = HashMap::new();
        for (k, f) in keys.iter().zip(&found) {
            if *f == Lookup::Miss && !index.contains_key(k) {
                index.insert(k, missing.len());
                missing.push(k.clone());
            }
        }
        if !missing.is_empty() {
            let n = missing.len() as u64;
            Counters::add(&self.counters.misses, n);
            Counters::add(&self.hub.counters.misses, n);
            Counters::add(&self.counters.backend_reads, 1);
            Counters::add(&self.hub.counters.backend_reads, 1);
            let values = K::fetch(&*self.hub.backend, &self.sid, &missing).await?;
            if values.len() != missing.len() {
                return Err(StoreError::new(
                    ErrorCode::ReadFailed,
                    format!(
                        "{}: the backend returned {} values for {} keys",
                        K::NAME,
                        values.len(),
                        missing.len()
                    ),
                ));
            }
            let fetched: Vec<Option<Bytes>> = values.into_iter().map(|v| v.map(Arc::new)).collect();
            // Generation 0: not cached (a newer write or an invalidation won); the value is still right for this read.
            let generations = K::map(&mut self.maps.lock()).fill(&missing, &fetched, token);
            for (slot, k) in found.iter_mut().zip(keys) {
                if *slot == Lookup::Miss {
                    let i = index[k];
                    *slot = match &fetched[i] {
                        Some(v) => Lookup::Hit(Arc::clone(v), generations[i]),
                        None => Lookup::Absent,
                    };
                }
            }
        }
        Ok(found.into_iter().map(versioned).collect())
    }

    /// Records writes (`None` deletes) as dirty, in call order, and queues
    /// them as one all-or-nothing unit. Returns the generation of each
    /// written version and what to await for durability.
    pub fn stage<K: Kind>(
        self: &Arc<Self>,
        entries: Vec<(K::Key, Option<Vec<u8>>)>,
    ) -> StoreResult<(Vec<u64>, Pending)> {
        self.hub.check_writable()?;
        if self.halted.load(Ordering::Acquire) {
            return Err(halted_error(&self.sid));
        }
        let writes: Vec<(K::Key, Option<Vec<u8>>, crate::domain::signal_batch::SignalWrite)> = entries
            .into_iter()
            .map(|(k, v)| K::write(&k, v.clone()).map(|w| (k, v, w)))
            .collect::<StoreResult<_>>()?;
        // Refused now, not after a deferred write was acknowledged.
        for (_, _, w) in &writes {
            for (field, text) in texts(w) {
                self.hub.backend.check_text(field, text)?;
            }
        }
        let mut staged = Vec::with_capacity(writes.len());
        let mut generations = Vec::with_capacity(writes.len());
        let over_limit = {
            let mut maps = self.maps.lock();
            let map = K::map(&mut maps);
            for (k, v, w) in writes {
                let seq = self.hub.next_seq();
                generations.push(map.write(k.clone(), v.map(Arc::new), seq));
                staged.push(StagedWrite {
                    write: w,
                    seq,
                    settle: settle_fn::<K>(k),
                });
            }
            map.dirty_len() > map.limit()
        };
        // Past the limit even deferred writes wait for their commit: dirty
        // entries cannot be evicted, so this is what bounds the cache.
        Ok((generations, self.hub.submit(Arc::clone(self), staged, over_limit)))
    }

    /// Waits until every write staged so far has been committed (or has failed).
    pub async fn barrier(self: &Arc<Self>, timeout: Duration) -> StoreResult<()> {
        self.hub.barrier(Arc::clone(self), timeout).await
    }

    /// Forgets clean entries of `K` matching `pred` (after a backend delete).
    pub fn forget<K: Kind>(&self, pred: impl FnMut(&K::Key) -> bool) {
        K::map(&mut self.maps.lock()).forget_clean(pred);
    }

    /// Forgets every clean entry of `K` (after a backend clear).
    pub fn forget_all<K: Kind>(&self) {
        K::map(&mut self.maps.lock()).clear_clean();
    }

    pub(super) fn settle(&self, f: &Settle, seq: u64, committed: bool) {
        f(&mut self.maps.lock(), seq, committed);
    }

    pub(super) fn halt(&self) {
        self.halted.store(true, Ordering::Release);
    }

    pub(super) fn resume(&self) {
        self.halted.store(false, Ordering::Release);
    }

    pub fn is_halted(&self) -> bool {
        self.halted.load(Ordering::Acquire)
    }

    pub fn stats(&self) -> CacheStats {
        let maps = self.maps.lock();
        let sizes = [
            (maps.sessions.len(), maps.sessions.dirty_len(), maps.sessions.evictions),
            (
                maps.identities.len(),
                maps.identities.dirty_len(),
                maps.identities.evictions,
            ),
            (
                maps.sender_keys.len(),
                maps.sender_keys.dirty_len(),
                maps.sender_keys.evictions,
            ),
            (maps.keys.len(), maps.keys.dirty_len(), maps.keys.evictions),
        ];
        let c = &self.counters;
        CacheStats {
            hits: Counters::get(&c.hits),
            negative_hits: Counters::get(&c.negative_hits),
            misses: Counters::get(&c.misses),
            backend_reads: Counters::get(&c.backend_reads),
            entries: sizes.iter().map(|s| s.0 as u64).sum(),
            dirty: sizes.iter().map(|s| s.1 as u64).sum(),
            evictions: sizes.iter().map(|s| s.2).sum(),
            halted: self.is_halted(),
            ..CacheStats::default()
        }
    }
}

/// Marks one staged write committed or reverted in its map.
pub type Settle = Box<dyn Fn(&mut Maps, u64, bool) + Send + Sync>;

fn settle_fn<K: Kind>(key: K::Key) -> Settle {
    Box::new(move |maps, seq, committed| {
        let map = K::map(maps);
        if committed {
            map.committed(&key, seq)
        } else {
            map.reverted(&key, seq)
        }
    })
}

/// The text a write stores (types and ids of the key domain are stored as bytes).
fn texts(w: &crate::domain::signal_batch::SignalWrite) -> Vec<(&'static str, &str)> {
    use crate::domain::signal_batch::SignalWrite;
    match w {
        SignalWrite::Session { address, .. } | SignalWrite::Identity { address, .. } => {
            vec![
                ("address.user", address.user.as_str()),
                ("address.server", address.server.as_str()),
            ]
        }
        SignalWrite::SenderKey(r) => vec![
            ("groupId", r.group_id.as_str()),
            ("sender.user", r.sender.user.as_str()),
            ("sender.server", r.sender.server.as_str()),
        ],
        SignalWrite::Key(_) => Vec::new(),
    }
}

fn versioned(l: Lookup) -> Option<Versioned> {
    match l {
        Lookup::Hit(v, g) => Some((v, g)),
        _ => None,
    }
}

pub fn halted_error(sid: &str) -> StoreError {
    StoreError::new(
        ErrorCode::FlushHalted,
        format!(
            "session {sid:?}: earlier writes could not be committed and are still being retried; \
             new writes are refused until the backend accepts them (see store.stats())"
        ),
    )
}
