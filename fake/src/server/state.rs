//! What every request of one fake shares: its settings, the store, the limiter, the fault
//! injector, the stats, the correlation ids and the shutdown signal; and `reset`.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;

use crate::faults::FaultInjector;
use crate::limits::RateLimiter;
use crate::oauth::TokenBook;
use crate::stats::Stats;
use crate::store::Store;
use crate::util::IdGen;

/// The store with what changes with it: the shuffle generator and the reset generation.
#[derive(Debug)]
pub(super) struct StoreState {
    pub(super) store: Store,
    pub(super) rng: fastrand::Rng,
    /// Bumped by reset so that v1 batches scheduled before it are dropped.
    pub(super) generation: u64,
}

impl StoreState {
    /// A store with its shuffle generator seeded from the fake's `seed`.
    pub(super) fn new(store: Store, seed: u64) -> Self {
        Self {
            store,
            rng: shuffle_rng(seed),
            generation: 0,
        }
    }
}

/// The shuffle generator for `seed`, apart from the fault stream drawn from the same seed.
fn shuffle_rng(seed: u64) -> fastrand::Rng {
    fastrand::Rng::with_seed(seed ^ 0x5EED_5EED_5EED_5EED)
}

/// The state of one running fake, shared by its connections and handlers.
#[derive(Debug)]
pub(super) struct FakeState {
    pub(super) latency: Duration,
    pub(super) tokens: Option<HashSet<String>>,
    /// The OAuth app and the access tokens minted for it, when one is configured.
    pub(super) oauth: Option<Mutex<TokenBook>>,
    pub(super) v1_apply_delay: Duration,
    pub(super) retry_after: bool,
    pub(super) timeout_after_hold: Duration,
    pub(super) seed: u64,
    pub(super) store: Mutex<StoreState>,
    pub(super) limiter: Mutex<RateLimiter>,
    pub(super) faults: Mutex<FaultInjector>,
    pub(super) stats: Mutex<Stats>,
    pub(super) ids: IdGen,
    pub(super) shutdown: watch::Receiver<bool>,
}

impl FakeState {
    /// Forgets contacts, pending v1 batches, counters, windows and minted access tokens
    /// (the OAuth app's refresh token is the configured one again), and re-seeds.
    pub(super) fn reset(&self) {
        {
            let mut st = lock(&self.store);
            st.store.clear();
            st.rng = shuffle_rng(self.seed);
            st.generation += 1;
        }
        lock(&self.limiter).reset();
        lock(&self.faults).reseed(self.seed);
        if let Some(book) = &self.oauth {
            lock(book).reset();
        }
        *lock(&self.stats) = Stats::default();
    }
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it (every critical
/// section leaves the data consistent before anything that could panic).
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Resolves once shutdown was asked for (or the handle is gone).
pub(super) async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await.map(|_| ());
}
