//! The async rate limiter a client shares between all its clones and tasks:
//! a thin shell that waits on what the pure [`WindowLimiter`] and
//! [`DailyBudget`] decide.

use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use tokio::sync::Notify;

use super::daily::{DailyBudget, DailyLimitExhausted};
use super::headers::RateLimitHeaders;
#[cfg(feature = "redis")]
use super::shared::{SharedBudget, Verdict};
use super::window::{Denied, WindowLimiter};
#[cfg(test)]
use hubspot_rate_limit::RateLimit;

/// The rate limiter a client shares between all its clones and tasks: one
/// budget per token.
///
/// [`acquire`](Self::acquire) waits until a request may start and returns a
/// [`Permit`], which holds the request's slot until it is dropped (when the
/// answer, a failure or a cancellation comes). Nobody pairs calls by hand.
///
/// The state sits behind a `std` mutex held only for the pure calls, never
/// across an `.await`. Nobody polls: when every slot is held by a request
/// in flight, a waiter sleeps until a slot is released (a [`Notify`]); when
/// the window is full of counted requests, a release cannot open it sooner,
/// so the waiter sleeps until the instant it opens. Either wakes early when
/// the quota changes. Its clock is tokio's, so tests can use
/// `tokio::time::pause`.
#[derive(Debug, Clone)]
pub(crate) struct RateLimiter {
    /// `None` for an unlimited limiter.
    inner: Option<Arc<Inner>>,
}

#[derive(Debug)]
struct Inner {
    state: Mutex<State>,
    /// Wakes the waiters blocked by requests in flight: a slot was released
    /// or the quota changed.
    released: Notify,
    /// Wakes the waiters blocked by the window: the quota changed.
    quota_changed: Notify,
    /// The budget shared with other workers, and how long a slot in it is
    /// leased (the client's request timeout).
    #[cfg(feature = "redis")]
    shared: Option<(Arc<SharedBudget>, Duration)>,
}

/// Everything the limiter knows, behind one lock.
#[derive(Debug)]
struct State {
    window: WindowLimiter,
    daily: DailyBudget,
    /// Why HubSpot's headers made the limit unworkable, once they have.
    unworkable: Option<String>,
    /// How many times acquirers looked at the state (tests show they do not
    /// poll).
    #[cfg(test)]
    looks: usize,
}

/// Why the limiter lets no request start.
#[derive(Debug, Clone)]
pub(crate) enum Refusal {
    /// The daily budget is spent.
    Daily(DailyLimitExhausted),
    /// HubSpot's headers asked for a limit no run can live with.
    Unworkable(String),
}

/// A request's place in the rate limiter, from its start until its answer.
///
/// Dropping it releases the slot: the window then counts the request from
/// when HubSpot most likely counted it (see [`WindowLimiter::release`]), and
/// the waiters are woken.
#[derive(Debug)]
#[must_use = "dropping a permit releases its slot at once"]
pub(crate) struct Permit {
    /// The limiter and the recorded start; `None` when unlimited.
    held: Option<(Arc<Inner>, Instant)>,
    /// The request's slot in the shared budget, if it holds one.
    #[cfg(feature = "redis")]
    slot: Option<String>,
    /// Whether the shared budget was unreachable, so only this client's own
    /// limiter admitted the request.
    fell_back: bool,
}

impl Permit {
    fn new(held: Option<(Arc<Inner>, Instant)>) -> Permit {
        Permit {
            held,
            #[cfg(feature = "redis")]
            slot: None,
            fell_back: false,
        }
    }

    /// Whether the shared budget was unreachable, so only this client's own
    /// limiter (bounded by HubSpot's `Remaining`) admitted the request.
    pub(crate) fn fell_back(&self) -> bool {
        self.fell_back
    }

    /// Gives the slot back uncounted: HubSpot refused the request with a
    /// 429 and did not count it (see [`WindowLimiter::forget`]).
    pub(crate) fn refused(mut self) {
        if let Some((inner, started)) = self.held.take() {
            inner.lock().window.forget(started);
            inner.released.notify_waiters();
            #[cfg(feature = "redis")]
            if let (Some((shared, _)), Some(slot)) = (&inner.shared, self.slot.take()) {
                let shared = Arc::clone(shared);
                in_background(async move { shared.forget(slot).await });
            }
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some((inner, started)) = self.held.take() {
            let answered = now();
            let counted = inner.lock().window.release(started, answered);
            inner.released.notify_waiters();
            #[cfg(feature = "redis")]
            if let (Some((shared, lease)), Some(slot)) = (&inner.shared, self.slot.take()) {
                let (shared, lifetime) = (Arc::clone(shared), *lease * 2);
                let ago = answered.saturating_duration_since(counted);
                in_background(async move { shared.release(slot, ago, lifetime).await });
            }
            #[cfg(not(feature = "redis"))]
            let _ = counted;
        }
    }
}

/// Runs `work` on the current Tokio runtime without waiting for it (a drop
/// cannot await); outside a runtime it is skipped, and the shared budget's
/// lease frees the slot instead.
#[cfg(feature = "redis")]
fn in_background(work: impl std::future::Future<Output = ()> + Send + 'static) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(work);
    }
}

/// tokio's clock, as a `std` instant for the pure parts.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the log inconsistent
        // in a harmful way, so a poisoned lock is used as is.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl RateLimiter {
    /// A limiter for `limit`, adaptive, with the default margin.
    /// [`RateLimit::Unlimited`] gives a limiter that admits everything at
    /// once and ignores what it observes.
    #[cfg(test)]
    pub(crate) fn new(limit: RateLimit) -> RateLimiter {
        match WindowLimiter::from_rate_limit(limit) {
            Some(window) => RateLimiter::from_core(window),
            None => RateLimiter::unlimited(),
        }
    }

    /// A limiter that admits every request at once.
    pub(crate) fn unlimited() -> RateLimiter {
        RateLimiter { inner: None }
    }

    /// A limiter around a configured window (e.g. with adaptation off).
    pub(crate) fn from_core(window: WindowLimiter) -> RateLimiter {
        RateLimiter {
            inner: Some(Arc::new(Inner {
                #[cfg(feature = "redis")]
                shared: None,
                state: Mutex::new(State {
                    window,
                    daily: DailyBudget::default(),
                    unworkable: None,
                    #[cfg(test)]
                    looks: 0,
                }),
                released: Notify::new(),
                quota_changed: Notify::new(),
            })),
        }
    }

    /// A limiter around `window` that also keeps to `shared`, a budget in
    /// Redis shared with other workers, with slots leased for `lease`.
    /// While Redis answers, `window` no longer holds the client to its share
    /// of HubSpot's `Remaining` (the shared budget counts everyone); when it
    /// does not, it does again.
    #[cfg(feature = "redis")]
    pub(crate) fn shared(
        mut window: WindowLimiter,
        shared: SharedBudget,
        lease: Duration,
    ) -> RateLimiter {
        window.set_bound_by_others(false);
        let mut limiter = RateLimiter::from_core(window);
        if let Some(inner) = limiter.inner.as_mut().and_then(Arc::get_mut) {
            inner.shared = Some((Arc::new(shared), lease));
        }
        limiter
    }

    /// Whether this limiter limits anything.
    #[cfg(test)]
    pub(crate) fn is_unlimited(&self) -> bool {
        self.inner.is_none()
    }

    /// The current quota ([`RateLimit::Unlimited`] for an unlimited limiter).
    #[cfg(test)]
    pub(crate) fn quota(&self) -> RateLimit {
        self.with(|state| state.window.quota())
            .unwrap_or(RateLimit::Unlimited)
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> Option<T> {
        let inner = self.inner.as_ref()?;
        Some(f(&mut inner.lock()))
    }

    /// Waits until a request may start, counts it as started, and returns
    /// its [`Permit`]; the slot is released when the permit is dropped.
    ///
    /// Fails at once when the daily budget is known to be spent, or when
    /// HubSpot's headers asked for an unworkable limit.
    pub(crate) async fn acquire(&self) -> Result<Permit, Refusal> {
        let Some(inner) = &self.inner else {
            return Ok(Permit::new(None));
        };
        loop {
            // Registered before looking, so a change between the look and
            // the wait still wakes this waiter.
            let mut released = pin!(inner.released.notified());
            released.as_mut().enable();
            let mut quota_changed = pin!(inner.quota_changed.notified());
            quota_changed.as_mut().enable();
            let (started, verdict) = {
                let mut state = inner.lock();
                #[cfg(test)]
                {
                    state.looks += 1;
                }
                // Read under the lock, so starts are recorded in order.
                let now = now();
                if let Some(reason) = &state.unworkable {
                    return Err(Refusal::Unworkable(reason.clone()));
                }
                state.daily.check(now).map_err(Refusal::Daily)?;
                (now, state.window.try_acquire(now))
            };
            match verdict {
                Ok(()) => {
                    let permit = Permit::new(Some((Arc::clone(inner), started)));
                    #[cfg(feature = "redis")]
                    if let Some((shared, lease)) = &inner.shared {
                        return shared_slot(inner, shared, *lease, permit).await;
                    }
                    return Ok(permit);
                }
                Err(Denied::InFlight) => {
                    tracing::trace!("rate limiter waits for a request in flight");
                    released.await;
                }
                Err(Denied::Wait(wait)) => {
                    tracing::trace!(wait_ms = wait.as_millis() as u64, "rate limiter wait");
                    // Elapsed or woken early: either way, look again.
                    let _ = tokio::time::timeout(wait, quota_changed).await;
                }
            }
        }
    }

    /// Tells the shared budget, if any, that the daily budget is spent
    /// (in the background: the caller does not wait on Redis).
    fn share_daily_spent(&self) {
        #[cfg(feature = "redis")]
        if let Some(inner) = &self.inner
            && let Some((shared, _)) = &inner.shared
            && let Err(spent) = inner.lock().daily.check(now())
        {
            let wait = (spent.resets_at - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO);
            let shared = Arc::clone(shared);
            in_background(async move { shared.daily_spent(wait).await });
        }
    }

    /// Learns from a response's headers: the quota (see
    /// [`WindowLimiter::observe`]) and the daily budget (see
    /// [`DailyBudget::observe`]).
    pub(crate) fn observe(&self, headers: &HeaderMap) {
        let headers = RateLimitHeaders::from_headers(headers);
        let Some(inner) = &self.inner else {
            return;
        };
        let quota_changed = {
            let mut state = inner.lock();
            let now = now();
            if state.daily.observe(now, Utc::now(), &headers) {
                drop(state);
                self.share_daily_spent();
                state = inner.lock();
            }
            match state.window.unworkable(&headers) {
                Some(reason) => {
                    tracing::warn!(%reason, "HubSpot's rate-limit headers are unworkable; stopping");
                    state.unworkable.get_or_insert(reason);
                    true
                }
                None => state.window.observe(now, &headers),
            }
        };
        if quota_changed {
            inner.released.notify_waiters();
            inner.quota_changed.notify_waiters();
        }
    }

    /// Marks the daily budget spent (e.g. after a `DAILY` 429) until
    /// `resets_at`, or, when `None`, until the next midnight UTC (see
    /// [`DailyBudget::mark_spent`]).
    pub(crate) fn mark_daily_exhausted(&self, resets_at: Option<DateTime<Utc>>) {
        self.with(|state| state.daily.mark_spent(now(), Utc::now(), resets_at));
        self.share_daily_spent();
    }

    /// Holds every acquire of every clone for `wait` (e.g. a 429's
    /// Retry-After).
    pub(crate) fn pause_for(&self, wait: Duration) {
        self.with(|state| {
            let now = now();
            state
                .window
                .pause_until(now.checked_add(wait).unwrap_or(now));
        });
        #[cfg(feature = "redis")]
        if let Some((shared, _)) = self.inner.as_ref().and_then(|inner| inner.shared.as_ref()) {
            let shared = Arc::clone(shared);
            in_background(async move { shared.pause(wait).await });
        }
    }
}

/// Waits for a slot in the shared budget for a request the local limiter
/// admitted (`permit`, whose local slot is held meanwhile and given back if
/// the wait is cancelled). Redis out of reach admits the request on the
/// local limiter alone, bounded again by HubSpot's `Remaining`.
#[cfg(feature = "redis")]
async fn shared_slot(
    inner: &Arc<Inner>,
    shared: &SharedBudget,
    lease: Duration,
    mut permit: Permit,
) -> Result<Permit, Refusal> {
    let slot = format!("{:x}-{:016x}", std::process::id(), fastrand::u64(..));
    loop {
        let (quota, announced, lookback) = {
            let state = inner.lock();
            let lookback = state.window.lookback();
            (
                (state.window.max(), lookback),
                state.window.announced(),
                lookback,
            )
        };
        match shared.acquire(&slot, quota, announced, lease).await {
            Verdict::Admitted => {
                let mut state = inner.lock();
                state.window.set_bound_by_others(false);
                // The request leaves now, not when the local limiter let it.
                if let Some((_, started)) = permit.held.as_mut() {
                    let now = now();
                    state.window.restamp(*started, now);
                    *started = now;
                }
                permit.slot = Some(slot);
                return Ok(permit);
            }
            Verdict::Unreachable => {
                inner.lock().window.set_bound_by_others(true);
                permit.fell_back = true;
                return Ok(permit);
            }
            Verdict::DailySpent(wait) => {
                let resets_at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                inner
                    .lock()
                    .daily
                    .mark_spent(now(), Utc::now(), Some(resets_at));
                permit.refused();
                return Err(Refusal::Daily(DailyLimitExhausted { resets_at }));
            }
            Verdict::Wait(wait) => tokio::time::sleep(wait).await,
            Verdict::AnswersFirst => {
                let poll =
                    (lookback / 50).clamp(Duration::from_millis(5), Duration::from_millis(200));
                tokio::time::sleep(poll).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn looks(limiter: &RateLimiter) -> usize {
        limiter.with(|state| state.looks).unwrap_or(0)
    }

    /// Was the `RateLimiter` doc example.
    #[tokio::test(start_paused = true)]
    async fn a_permit_is_held_while_the_request_runs() {
        let limiter = RateLimiter::new(RateLimit::default());
        let for_another_task = limiter.clone(); // same budget
        let permit = limiter.acquire().await.expect("no daily limit");
        // ... send the request, learn from the answer's headers:
        limiter.observe(&HeaderMap::new());
        assert_eq!(for_another_task.with(|s| s.window.in_flight()), Some(1));
        drop(permit); // the answer came: the slot is released
        assert_eq!(for_another_task.with(|s| s.window.in_flight()), Some(0));
    }

    #[tokio::test(start_paused = true)]
    async fn async_limiter_is_shared_by_clones_and_waits_on_tokio_time() {
        let limiter = RateLimiter::from_core(WindowLimiter::new(10, SEC).margin(0.0));
        let clone = limiter.clone();
        let start = tokio::time::Instant::now();
        let mut tasks = Vec::new();
        for i in 0..30 {
            let limiter = if i % 2 == 0 {
                limiter.clone()
            } else {
                clone.clone()
            };
            tasks.push(tokio::spawn(async move {
                // Answered at once.
                drop(limiter.acquire().await?);
                Ok::<_, Refusal>(start.elapsed())
            }));
        }
        let mut elapsed = Vec::new();
        for task in tasks {
            elapsed.push(task.await.expect("task").expect("no daily limit"));
        }
        elapsed.sort();
        // 10 at once, 10 after one window, 10 after two (mocked time).
        assert!(elapsed[..10].iter().all(|e| *e < ms(10)), "{elapsed:?}");
        assert!(
            elapsed[10..20]
                .iter()
                .all(|e| *e >= SEC && *e < SEC + ms(10))
        );
        assert!(elapsed[20..].iter().all(|e| *e >= SEC * 2));

        // Observing through one clone changes the budget of all.
        let mut h = HeaderMap::new();
        h.insert("x-hubspot-ratelimit-max", "20".parse().expect("header"));
        clone.observe(&h);
        assert_eq!(limiter.quota(), RateLimit::custom(20, SEC));

        // A pause through one clone holds the other.
        limiter.pause_for(SEC * 5);
        let before = tokio::time::Instant::now();
        drop(clone.acquire().await.expect("no daily limit"));
        assert!(before.elapsed() >= SEC * 5);

        // Daily-Remaining: 0 fails every clone at once, with a reset estimate.
        h.insert(
            "x-hubspot-ratelimit-daily-remaining",
            "0".parse().expect("header"),
        );
        limiter.observe(&h);
        let Err(Refusal::Daily(err)) = clone.acquire().await else {
            panic!("the daily limit refuses")
        };
        assert!(err.resets_at > Utc::now());
        assert!(err.to_string().contains("midnight"));
    }

    #[tokio::test(start_paused = true)]
    async fn unworkable_headers_refuse_every_acquire_from_then_on() {
        let limiter = RateLimiter::new(RateLimit::default());
        drop(limiter.acquire().await.expect("a first request"));
        let mut h = HeaderMap::new();
        h.insert("x-hubspot-ratelimit-max", "1".parse().expect("header"));
        h.insert(
            "x-hubspot-ratelimit-interval-milliseconds",
            "7200000".parse().expect("header"),
        );
        limiter.observe(&h);
        for _ in 0..2 {
            let Err(Refusal::Unworkable(reason)) = limiter.acquire().await else {
                panic!("an unworkable limit refuses")
            };
            assert!(reason.contains("7200000 ms"), "{reason}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_daily_429_fails_acquires_until_its_reset() {
        let limiter = RateLimiter::new(RateLimit::default());
        let resets_at = Utc::now() + chrono::TimeDelta::seconds(60);
        limiter.mark_daily_exhausted(Some(resets_at));
        let Err(Refusal::Daily(err)) = limiter.acquire().await else {
            panic!("the daily limit refuses")
        };
        assert_eq!(err.resets_at, resets_at);
        tokio::time::sleep(SEC * 61).await;
        drop(limiter.acquire().await.expect("reset"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_blocked_by_requests_in_flight_wakes_on_release_without_polling() {
        let limiter = RateLimiter::from_core(WindowLimiter::new(1, SEC).margin(0.0));
        let permit = limiter.acquire().await.expect("no daily limit");
        let waiter = tokio::spawn({
            let limiter = limiter.clone();
            async move {
                let permit = limiter.acquire().await.expect("no daily limit");
                (tokio::time::Instant::now(), permit)
            }
        });
        // The request takes a minute (mocked time); the waiter sleeps.
        tokio::time::sleep(SEC * 60).await;
        assert!(!waiter.is_finished());
        assert_eq!(looks(&limiter), 2, "one look each, no polling");
        let released = tokio::time::Instant::now();
        drop(permit);
        let (admitted, _permit) = waiter.await.expect("task");
        // Admitted on the release, not a poll later: counted around 30 s,
        // the first request has left the 1 s window.
        assert_eq!(admitted, released);
        assert_eq!(looks(&limiter), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_blocked_by_the_window_sleeps_until_it_opens() {
        let limiter = RateLimiter::from_core(WindowLimiter::new(1, SEC * 10).margin(0.0));
        let start = tokio::time::Instant::now();
        drop(limiter.acquire().await.expect("no daily limit"));
        drop(limiter.acquire().await.expect("no daily limit"));
        assert_eq!(start.elapsed(), SEC * 10);
        // First acquire, then the second: once refused, once after its sleep.
        assert_eq!(looks(&limiter), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_larger_quota_wakes_the_waiters_at_once() {
        let limiter = RateLimiter::from_core(WindowLimiter::new(1, SEC * 10).margin(0.0));
        drop(limiter.acquire().await.expect("no daily limit"));
        let waiter = tokio::spawn({
            let limiter = limiter.clone();
            async move {
                drop(limiter.acquire().await.expect("no daily limit"));
                tokio::time::Instant::now()
            }
        });
        tokio::time::sleep(SEC).await;
        assert!(!waiter.is_finished());
        let mut h = HeaderMap::new();
        h.insert("x-hubspot-ratelimit-max", "2".parse().expect("header"));
        let observed = tokio::time::Instant::now();
        limiter.observe(&h);
        assert_eq!(waiter.await.expect("task"), observed);
    }

    #[tokio::test]
    async fn unlimited_limiter_admits_everything() {
        let limiter = RateLimiter::new(RateLimit::Unlimited);
        assert!(limiter.is_unlimited());
        let mut permits = Vec::new();
        for _ in 0..1000 {
            permits.push(limiter.acquire().await.expect("unlimited"));
        }
        limiter.pause_for(SEC * 3600);
        drop(limiter.acquire().await.expect("unlimited ignores pauses"));
        assert_eq!(limiter.quota(), RateLimit::Unlimited);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn every_slot_is_given_back_under_concurrent_acquires() {
        let limiter = RateLimiter::from_core(WindowLimiter::new(5, ms(20)));
        let tasks: Vec<_> = (0..400)
            .map(|_| {
                let limiter = limiter.clone();
                tokio::spawn(async move {
                    let permit = limiter.acquire().await?;
                    tokio::task::yield_now().await;
                    drop(permit);
                    Ok::<_, Refusal>(())
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("task").expect("no daily limit");
        }
        let in_flight = limiter.with(|state| state.window.in_flight());
        assert_eq!(
            in_flight,
            Some(0),
            "a slot recorded at one instant and released at another"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_cancelled_request_gives_its_slot_back() {
        let limiter = RateLimiter::from_core(WindowLimiter::new(2, SEC));
        let holder = tokio::spawn({
            let limiter = limiter.clone();
            async move {
                let _permit = limiter.acquire().await;
                std::future::pending::<()>().await;
            }
        });
        while limiter.with(|state| state.window.in_flight()) != Some(1) {
            tokio::task::yield_now().await;
        }
        holder.abort();
        let _ = holder.await;
        assert_eq!(limiter.with(|state| state.window.in_flight()), Some(0));
    }
}
