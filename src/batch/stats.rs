//! The counters of one batch run, as [`BatchStats`] reports them.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use super::report::BatchStats;
use crate::exchange::RequestCounters;

/// What one run has cost so far: its requests, counted by the transport
/// through the run's own client, and the inputs it read back.
#[derive(Debug, Default)]
pub(crate) struct RunStats {
    pub(crate) requests: Arc<RequestCounters>,
    pub(crate) reconciled: AtomicU64,
}

impl RunStats {
    pub(crate) fn snapshot(&self) -> BatchStats {
        let requests = &self.requests;
        BatchStats {
            requests: requests.requests.load(Ordering::Relaxed),
            retries: requests.retries.load(Ordering::Relaxed),
            rate_limited: requests.rate_limited.load(Ordering::Relaxed),
            waited: Duration::from_micros(requests.waited_micros.load(Ordering::Relaxed)),
            reconciled: self.reconciled.load(Ordering::Relaxed),
            shared_budget_fallbacks: requests.shared_budget_fallbacks.load(Ordering::Relaxed),
        }
    }
}
