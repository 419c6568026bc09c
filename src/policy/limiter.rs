//! A client-side rate limiter shaped like HubSpot's limits: a pure
//! sliding-window core ([`WindowLimiter`]) and a thin async wrapper
//! ([`RateLimiter`]) shared by every clone of a client.
//!
//! The rationale (sliding-window log, safety margin) is documented on
//! [`WindowLimiter`].

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;

use super::headers::RateLimitHeaders;
use super::retry::next_utc_midnight;

/// A request quota: at most `max` request starts per rolling `window`, or
/// no client-side limit at all.
///
/// The presets follow HubSpot's usage guidelines (per app, per rolling 10 s).
/// The limiter adapts to the portal's real figures after the first response
/// anyway (see [`WindowLimiter::observe`]), so the preset only matters until
/// then; the conservative [`FREE_STARTER`](Self::FREE_STARTER) is the safe
/// default.
///
/// ```
/// use std::time::Duration;
/// use hubspot_contacts_batch::policy::RateLimit;
///
/// assert_eq!("190/10s".parse::<RateLimit>().unwrap(), RateLimit::PROFESSIONAL_ENTERPRISE);
/// assert_eq!("starter".parse::<RateLimit>().unwrap(), RateLimit::FREE_STARTER);
/// assert_eq!(
///     "50/500ms".parse::<RateLimit>().unwrap(),
///     RateLimit::custom(50, Duration::from_millis(500))
/// );
/// assert_eq!(RateLimit::LIMIT_INCREASE.to_string(), "250/10s");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateLimit {
    /// No client-side limiting: requests go out as fast as the caller sends
    /// them. 429s are still handled by the retry decision.
    Unlimited,
    /// At most `max` request starts in any rolling `window`.
    Quota {
        /// Requests per window (at least 1).
        max: u32,
        /// The window length (at least 1 ms).
        window: Duration,
    },
}

const TEN_SECONDS: Duration = Duration::from_secs(10);

impl RateLimit {
    /// Free and Starter: 100 requests per rolling 10 s per app.
    pub const FREE_STARTER: RateLimit = RateLimit::custom(100, TEN_SECONDS);
    /// Professional and Enterprise: 190 requests per rolling 10 s per app.
    pub const PROFESSIONAL_ENTERPRISE: RateLimit = RateLimit::custom(190, TEN_SECONDS);
    /// With the API limit increase (any tier): 250 per rolling 10 s per app
    /// (one older HubSpot page says 200; the adaptive limiter corrects
    /// either way).
    pub const LIMIT_INCREASE: RateLimit = RateLimit::custom(250, TEN_SECONDS);

    /// A custom quota. `max` is raised to at least 1 and `window` to at least
    /// 1 ms, since a zero quota could never admit a request.
    pub const fn custom(max: u32, window: Duration) -> RateLimit {
        let max = if max == 0 { 1 } else { max };
        let window = if window.as_millis() == 0 {
            Duration::from_millis(1)
        } else {
            window
        };
        RateLimit::Quota { max, window }
    }

    /// Requests per window, `None` when unlimited.
    pub fn max(&self) -> Option<u32> {
        match self {
            RateLimit::Unlimited => None,
            RateLimit::Quota { max, .. } => Some(*max),
        }
    }

    /// The window, `None` when unlimited.
    pub fn window(&self) -> Option<Duration> {
        match self {
            RateLimit::Unlimited => None,
            RateLimit::Quota { window, .. } => Some(*window),
        }
    }
}

impl Default for RateLimit {
    /// [`RateLimit::FREE_STARTER`]: right for the smallest plan, and the
    /// adaptive limiter raises it after the first response on larger ones.
    fn default() -> Self {
        RateLimit::FREE_STARTER
    }
}

impl fmt::Display for RateLimit {
    /// `100/10s`, `50/500ms`, or `unlimited`; the output parses back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RateLimit::Unlimited => f.write_str("unlimited"),
            RateLimit::Quota { max, window } => {
                let ms = window.as_millis();
                if ms % 1000 == 0 && window.subsec_nanos() % 1_000_000 == 0 {
                    write!(f, "{max}/{}s", ms / 1000)
                } else {
                    write!(f, "{max}/{ms}ms")
                }
            }
        }
    }
}

/// Why a rate-limit specification could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseRateLimitError {
    /// Neither a preset name nor `<max>/<window>`.
    #[error(
        "unknown rate limit {0:?}: expected <max>/<window> (e.g. 100/10s, 190/1s, 50/500ms), \
         a plan (free, starter, professional, enterprise, increase) or unlimited"
    )]
    Unrecognised(String),
    /// The request count is not a positive integer.
    #[error("invalid request count {0:?} in rate limit: expected a positive integer")]
    InvalidMax(String),
    /// The window is not a positive duration with a unit of ms, s or m.
    #[error("invalid window {0:?} in rate limit: expected e.g. 10s, 1s, 500ms or 1m")]
    InvalidWindow(String),
}

impl FromStr for RateLimit {
    type Err = ParseRateLimitError;

    /// Parses `<max>/<window>` (`100/10s`, `190/1s`, `250/10 s`, `50/500ms`,
    /// `600/1m`, a bare number of seconds `100/10`), a plan name (`free`,
    /// `starter`, `professional`/`pro`, `enterprise`, `increase`/
    /// `limit-increase`) or `unlimited`/`off`/`none`. Case-insensitive.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let spec = s.trim().to_ascii_lowercase();
        match spec.as_str() {
            "free" | "starter" | "free-starter" | "free_starter" => {
                return Ok(RateLimit::FREE_STARTER);
            }
            "professional"
            | "pro"
            | "enterprise"
            | "professional-enterprise"
            | "professional_enterprise" => return Ok(RateLimit::PROFESSIONAL_ENTERPRISE),
            "increase" | "limit-increase" | "limit_increase" => {
                return Ok(RateLimit::LIMIT_INCREASE);
            }
            "unlimited" | "off" | "none" => return Ok(RateLimit::Unlimited),
            _ => {}
        }
        let (max, window) = spec
            .split_once('/')
            .ok_or_else(|| ParseRateLimitError::Unrecognised(s.to_string()))?;
        let max = max
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| ParseRateLimitError::InvalidMax(max.trim().to_string()))?;
        let window = parse_window(window.trim())
            .ok_or_else(|| ParseRateLimitError::InvalidWindow(window.trim().to_string()))?;
        Ok(RateLimit::Quota { max, window })
    }
}

/// `10s`, `10 s`, `500ms`, `1m`, `10` (seconds); positive only.
fn parse_window(s: &str) -> Option<Duration> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let number = number.parse::<u64>().ok().filter(|&n| n > 0)?;
    let window = match unit.trim() {
        "" | "s" | "sec" | "secs" | "second" | "seconds" => Duration::from_secs(number),
        "ms" | "millis" | "milliseconds" => Duration::from_millis(number),
        "m" | "min" | "mins" | "minute" | "minutes" => Duration::from_secs(number.checked_mul(60)?),
        _ => return None,
    };
    Some(window)
}

/// Why [`WindowLimiter::try_acquire`] refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// The window is full (or a 429 paused everyone): try again after this
    /// long.
    Wait(Duration),
    /// `X-HubSpot-RateLimit-Daily-Remaining` reached 0 (or a `DAILY` 429 was
    /// seen): no request can succeed until the daily budget resets.
    DailyLimitExhausted,
}

/// The daily budget as far as the limiter knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Daily {
    Available,
    /// Spent; acquires fail until `until` (forever when `None`, until
    /// [`WindowLimiter::reset_daily`]).
    Exhausted {
        until: Option<Instant>,
    },
}

/// The pure core of the rate limiter: a sliding-window log of request starts.
///
/// It never reads a clock: every method takes `now`, so it is tested with
/// synthetic instants.
///
/// # Why a sliding-window log and not a token bucket
///
/// HubSpot allows *N requests per rolling 10 seconds* (100, 190 or 250 by
/// plan, usage guidelines). A token bucket (governor's GCRA) with burst `N`
/// and refill `N / 10 s` starts full, lets `N` requests through at once and
/// then refills continuously: in the 10 s after the burst another `N`
/// arrive, so one rolling window can see up to `2N` requests and HubSpot
/// answers 429. Shrinking the burst to avoid that wastes most of the budget.
/// The exact rule is "at most `N` starts in any window", and it is what
/// this type enforces: it keeps the start times of the last `N`
/// requests (a `VecDeque` capped at `N`) and admits a new one only when the
/// oldest of them has left the window. Memory is `N` instants (≤ 250 × 16
/// bytes for HubSpot's plans).
///
/// # Safety margin
///
/// The limiter records when a request *starts*; HubSpot counts when it
/// *arrives*. A request that needed a fresh TLS connection may arrive a few
/// hundred milliseconds later than one on a warm connection, so two starts
/// exactly one window apart can arrive less than a window apart. The window
/// is therefore stretched by a margin, by default 2 % (200 ms of a 10 s
/// window, 20 ms of a 1 s window). That costs 2 % of the throughput
/// (efficiency 1 / 1.02 ≈ 98 %), whereas keeping a slot spare would cost
/// 1 % at 100/10 s but protects against only one late request per window
/// and nothing against systematic latency differences. Scheduling delays
/// on a busy client machine do not shrink with the window, so a non-zero
/// margin is never less than [`MIN_MARGIN`] (15 ms: 1.5 % of a 1 s window,
/// nothing extra for 10 s). The margin is configurable ([`margin`](Self::margin)).
///
/// # Example
///
/// ```
/// use std::time::{Duration, Instant};
/// use hubspot_contacts_batch::policy::{Denied, WindowLimiter};
///
/// let mut limiter = WindowLimiter::new(2, Duration::from_secs(1)).margin(0.0);
/// let t0 = Instant::now();
/// assert_eq!(limiter.try_acquire(t0), Ok(()));
/// assert_eq!(limiter.try_acquire(t0), Ok(()));
/// // Both answered at once: HubSpot counted them at t0.
/// limiter.settle(t0, t0);
/// limiter.settle(t0, t0);
/// assert_eq!(limiter.try_acquire(t0), Err(Denied::Wait(Duration::from_secs(1))));
/// assert_eq!(limiter.try_acquire(t0 + Duration::from_secs(1)), Ok(()));
/// ```
#[derive(Debug, Clone)]
pub struct WindowLimiter {
    max: u32,
    window: Duration,
    margin: f64,
    adaptive: bool,
    /// The recent requests, sorted by `at`.
    sent: VecDeque<Sent>,
    /// The shortest time from start to answer seen so far.
    fastest_answer: Option<Duration>,
    paused_until: Option<Instant>,
    daily: Daily,
}

/// One request in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sent {
    /// When it started; once answered, when HubSpot most likely counted it.
    at: Instant,
    /// Whether its answer has come back. An unanswered request may still be
    /// counted by HubSpot at any moment, so it holds its slot until then.
    answered: bool,
}

/// How long to wait when every slot is held by a request still in flight.
const IN_FLIGHT_POLL: Duration = Duration::from_millis(5);

/// The default safety margin: the window is stretched by 2 %.
pub const DEFAULT_MARGIN: f64 = 0.02;

/// The smallest stretch a non-zero margin gives a window.
pub const MIN_MARGIN: Duration = Duration::from_millis(15);

impl WindowLimiter {
    /// A limiter admitting at most `max` starts per rolling `window` (clamped
    /// to at least 1 and 1 ms), with the default 2 % margin and adaptation on.
    pub fn new(max: u32, window: Duration) -> WindowLimiter {
        let (max, window) = match RateLimit::custom(max, window) {
            RateLimit::Quota { max, window } => (max, window),
            RateLimit::Unlimited => (max, window),
        };
        WindowLimiter {
            max,
            window,
            margin: DEFAULT_MARGIN,
            adaptive: true,
            sent: VecDeque::with_capacity(max.min(1024) as usize),
            fastest_answer: None,
            paused_until: None,
            daily: Daily::Available,
        }
    }

    /// A limiter for `limit`; `None` for [`RateLimit::Unlimited`].
    pub fn from_rate_limit(limit: RateLimit) -> Option<WindowLimiter> {
        match limit {
            RateLimit::Unlimited => None,
            RateLimit::Quota { max, window } => Some(WindowLimiter::new(max, window)),
        }
    }

    /// Sets the safety margin as a fraction of the window (clamped to
    /// `[0, 1]`; NaN reads as 0): starts are spaced so that at most `max` fall
    /// in any `window × (1 + margin)`. Default [`DEFAULT_MARGIN`] (2 %).
    pub fn margin(mut self, fraction: f64) -> Self {
        self.margin = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        self
    }

    /// Whether [`observe`](Self::observe) switches to the quota the response
    /// headers announce. Default on.
    pub fn adaptive(mut self, adaptive: bool) -> Self {
        self.adaptive = adaptive;
        self
    }

    /// The current quota.
    pub fn quota(&self) -> RateLimit {
        RateLimit::Quota {
            max: self.max,
            window: self.window,
        }
    }

    /// The window actually enforced: `window × (1 + margin)`, stretched by at
    /// least [`MIN_MARGIN`] unless the margin is 0.
    pub fn effective_window(&self) -> Duration {
        let stretch = self.window.mul_f64(self.margin);
        if self.margin > 0.0 {
            self.window + stretch.max(MIN_MARGIN)
        } else {
            self.window
        }
    }

    /// Whether the daily budget is known to be spent at `now`.
    pub fn is_daily_exhausted(&self, now: Instant) -> bool {
        match self.daily {
            Daily::Available => false,
            Daily::Exhausted { until } => until.is_none_or(|until| now < until),
        }
    }

    /// When a spent daily budget is expected back, if the limiter was told.
    pub fn daily_exhausted_until(&self) -> Option<Instant> {
        match self.daily {
            Daily::Exhausted { until } => until,
            Daily::Available => None,
        }
    }

    /// How far back from a new request's start its window reaches: the
    /// effective window, less the time the new request itself will take to
    /// reach HubSpot (half the fastest round trip seen, at most half the
    /// window), since HubSpot counts it on arrival, not when it leaves.
    fn lookback(&self) -> Duration {
        let span = self.effective_window();
        let travel = self
            .fastest_answer
            .map_or(Duration::ZERO, |fastest| fastest / 2);
        span - travel.min(span / 2)
    }

    /// How many starts fall in the window a request starting at `now` would be
    /// counted in.
    pub fn in_window(&self, now: Instant) -> usize {
        let span = self.lookback();
        self.sent
            .iter()
            .filter(|sent| !sent.answered || now.saturating_duration_since(sent.at) < span)
            .count()
    }

    /// How many admitted requests have not been settled yet.
    pub fn in_flight(&self) -> usize {
        self.sent.iter().filter(|sent| !sent.answered).count()
    }

    /// Admits a request starting at `now` (and records it), or says why not.
    ///
    /// Order of checks: a spent daily budget, then a pause, then the window.
    /// The start is recorded at `now`, which is what [`settle`](Self::settle)
    /// expects back; `now` may be earlier than a start already recorded.
    pub fn try_acquire(&mut self, now: Instant) -> Result<(), Denied> {
        if let Daily::Exhausted { until } = self.daily {
            match until {
                Some(until) if now >= until => self.daily = Daily::Available,
                _ => return Err(Denied::DailyLimitExhausted),
            }
        }
        if let Some(until) = self.paused_until {
            if now < until {
                return Err(Denied::Wait(until - now));
            }
            self.paused_until = None;
        }
        let span = self.lookback();
        self.prune(now, span);
        if self.sent.len() < self.max as usize {
            // Recorded at exactly `now`, so `settle(now, ..)` finds it; callers
            // on several threads may arrive slightly out of order, so keep the
            // log sorted by inserting in place.
            let position = self.sent.partition_point(|sent| sent.at <= now);
            self.sent.insert(
                position,
                Sent {
                    at: now,
                    answered: false,
                },
            );
            return Ok(());
        }
        // The log holds `max` requests in flight or counted within `span`:
        // the next slot opens when the oldest answered one leaves the window,
        // or, when all are in flight, once one is answered.
        match self.sent.iter().find(|sent| sent.answered) {
            Some(oldest) => Err(Denied::Wait(
                (oldest.at + span)
                    .saturating_duration_since(now)
                    .max(MIN_WAIT),
            )),
            None => Err(Denied::Wait(IN_FLIGHT_POLL)),
        }
    }

    /// Records that the request started at `started` was answered at
    /// `answered`, and moves it to when HubSpot most likely counted it.
    ///
    /// HubSpot counts a request somewhere between its start and its answer.
    /// The fixed part of a round trip is split between the way there and the
    /// way back, so the count is estimated at the answer minus half the
    /// fastest round trip seen, never before the start. Queueing on the way
    /// (a burst on new connections, a busy server) delays the answer too,
    /// and so moves the estimate with it; the [margin](Self::margin) covers
    /// what is left. Until its answer, a request holds its slot: it may be
    /// counted at any moment.
    pub fn settle(&mut self, started: Instant, answered: Instant) {
        let took = answered.saturating_duration_since(started);
        let fastest = self
            .fastest_answer
            .map_or(took, |fastest| fastest.min(took));
        self.fastest_answer = Some(fastest);
        let counted = started.max(answered.checked_sub(fastest / 2).unwrap_or(started));
        let entry = self
            .sent
            .iter_mut()
            .find(|sent| !sent.answered && sent.at == started);
        if let Some(entry) = entry {
            *entry = Sent {
                at: counted,
                answered: true,
            };
            self.sent
                .make_contiguous()
                .sort_unstable_by_key(|sent| sent.at);
        }
    }

    /// Forgets answered requests that left the window, and the oldest answered
    /// ones beyond `max` (after the quota shrank).
    fn prune(&mut self, now: Instant, span: Duration) {
        self.sent
            .retain(|sent| !sent.answered || now.saturating_duration_since(sent.at) < span);
        while self.sent.len() > self.max as usize {
            match self.sent.iter().position(|sent| sent.answered) {
                Some(oldest) => {
                    self.sent.remove(oldest);
                }
                None => break,
            }
        }
    }

    /// Learns from a response's rate-limit headers.
    ///
    /// * When adaptive, a `Max` or `Interval-Milliseconds` that differs from
    ///   the current quota replaces it: a client started with the 100/10 s
    ///   preset runs at 190/10 s (or 190/1 s) from the first response of such
    ///   a portal on, and one that guessed too high drops to the real figure.
    ///   The log keeps the newest starts, so the new quota holds at once.
    /// * Whatever `adaptive` says, `Daily-Remaining: 0` marks the daily
    ///   budget spent: further acquires fail with
    ///   [`Denied::DailyLimitExhausted`].
    ///
    /// `Remaining` is not used: it is a snapshot taken when HubSpot handled
    /// that request, older than the limiter's own log for every request sent
    /// since.
    pub fn observe(&mut self, now: Instant, headers: &RateLimitHeaders) {
        if self.adaptive {
            let max = headers.max.unwrap_or(self.max);
            let window = headers.interval.unwrap_or(self.window);
            if (max, window) != (self.max, self.window) {
                tracing::debug!(
                    from = %self.quota(),
                    to = %RateLimit::custom(max, window),
                    "rate limiter adapts to the quota HubSpot reports"
                );
                self.max = max.max(1);
                self.window = window.max(Duration::from_millis(1));
                let span = self.lookback();
                self.prune(now, span);
            }
        }
        if headers.daily_exhausted() && self.daily == Daily::Available {
            tracing::warn!("HubSpot reports the daily request budget spent (Daily-Remaining: 0)");
            self.daily = Daily::Exhausted { until: None };
        }
    }

    /// Holds every acquire until `until` (e.g. after a 429 with Retry-After:
    /// everyone waits, not only the request that got it). A later pause
    /// extends an earlier one; an earlier one never shortens it.
    pub fn pause_until(&mut self, until: Instant) {
        self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
    }

    /// Marks the daily budget spent until `until` (forever when `None`, until
    /// [`reset_daily`](Self::reset_daily)), e.g. after a `DAILY` 429.
    pub fn set_daily_exhausted(&mut self, until: Option<Instant>) {
        self.daily = Daily::Exhausted { until };
    }

    /// Forgets a spent daily budget (e.g. the caller knows it has reset).
    pub fn reset_daily(&mut self) {
        self.daily = Daily::Available;
    }
}

/// The shortest wait ever returned, so a caller looping on
/// [`WindowLimiter::try_acquire`] never spins on a zero wait.
const MIN_WAIT: Duration = Duration::from_millis(1);

/// The daily budget is spent; no request can succeed before it resets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", daily_limit_message(self.resets_at))]
pub struct DailyLimitExhausted {
    /// Estimated reset: the next midnight UTC after the limit was seen. HubSpot
    /// resets at midnight in the account's time zone, which the client cannot
    /// know, so this is an approximation (see
    /// [`next_utc_midnight`](super::next_utc_midnight)).
    pub resets_at: Option<DateTime<Utc>>,
}

fn daily_limit_message(resets_at: Option<DateTime<Utc>>) -> String {
    let base = "HubSpot's daily API request limit is exhausted; it resets at midnight in the \
                account's time zone";
    match resets_at {
        Some(at) => format!(
            "{base} (around {} if the account uses UTC)",
            at.format("%Y-%m-%d %H:%M UTC")
        ),
        None => base.to_string(),
    }
}

#[derive(Debug)]
struct Shared {
    core: WindowLimiter,
    daily_resets_at: Option<DateTime<Utc>>,
}

/// The rate limiter a client shares between all its clones and tasks: one
/// budget per token.
///
/// A thin async shell around [`WindowLimiter`] behind an `Arc<Mutex<_>>`; the
/// lock is a `std` mutex held only for the pure calls, never across an
/// `.await`. Its clock is tokio's, so tests can use `tokio::time::pause`.
///
/// ```
/// use hubspot_contacts_batch::policy::{RateLimit, RateLimiter};
///
/// # async fn example(response_headers: reqwest::header::HeaderMap) -> Result<(), Box<dyn std::error::Error>> {
/// let limiter = RateLimiter::new(RateLimit::default());
/// let for_another_task = limiter.clone(); // same budget
/// let started = limiter.acquire().await?; // waits for a slot
/// // ... send the request, then:
/// limiter.settle(started);                // the answer came: frees the slot in time
/// limiter.observe(&response_headers);     // adapt to the portal's real quota
/// # drop(for_another_task);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RateLimiter {
    inner: Option<Arc<Mutex<Shared>>>,
}

impl Default for RateLimiter {
    /// [`RateLimit::default`] (100/10 s, adaptive).
    fn default() -> Self {
        RateLimiter::new(RateLimit::default())
    }
}

impl RateLimiter {
    /// A limiter for `limit`, adaptive, with the default margin.
    /// [`RateLimit::Unlimited`] gives a limiter that admits everything at
    /// once and ignores what it observes.
    pub fn new(limit: RateLimit) -> RateLimiter {
        match WindowLimiter::from_rate_limit(limit) {
            Some(core) => RateLimiter::from_core(core),
            None => RateLimiter::unlimited(),
        }
    }

    /// A limiter that admits every request at once.
    pub fn unlimited() -> RateLimiter {
        RateLimiter { inner: None }
    }

    /// A limiter around a configured core (e.g. with adaptation off or
    /// another margin).
    pub fn from_core(core: WindowLimiter) -> RateLimiter {
        RateLimiter {
            inner: Some(Arc::new(Mutex::new(Shared {
                core,
                daily_resets_at: None,
            }))),
        }
    }

    /// Whether this limiter limits anything.
    pub fn is_unlimited(&self) -> bool {
        self.inner.is_none()
    }

    /// The current quota ([`RateLimit::Unlimited`] for an unlimited limiter).
    pub fn quota(&self) -> RateLimit {
        self.with(|shared| shared.core.quota())
            .unwrap_or(RateLimit::Unlimited)
    }

    fn with<T>(&self, f: impl FnOnce(&mut Shared) -> T) -> Option<T> {
        let inner = self.inner.as_ref()?;
        // A panic while holding the lock cannot leave the log inconsistent
        // in a harmful way, so a poisoned lock is used as is.
        let mut guard: MutexGuard<'_, Shared> = inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Some(f(&mut guard))
    }

    fn now() -> Instant {
        tokio::time::Instant::now().into_std()
    }

    /// Waits until a request may start, and counts it as started; returns
    /// the start, to hand to [`settle`](Self::settle) when the answer comes.
    ///
    /// Fails at once when the daily budget is known to be spent.
    pub async fn acquire(&self) -> Result<Instant, DailyLimitExhausted> {
        loop {
            let now = Self::now();
            let verdict = self.with(|shared| {
                shared
                    .core
                    .try_acquire(now)
                    .map_err(|denied| (denied, shared.daily_resets_at))
            });
            match verdict {
                None | Some(Ok(())) => return Ok(now),
                Some(Err((Denied::DailyLimitExhausted, resets_at))) => {
                    return Err(DailyLimitExhausted { resets_at });
                }
                Some(Err((Denied::Wait(wait), _))) => {
                    tracing::trace!(wait_ms = wait.as_millis() as u64, "rate limiter wait");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Records that the request started at `started` has been answered (see
    /// [`WindowLimiter::settle`]).
    pub fn settle(&self, started: Instant) {
        let now = Self::now();
        self.with(|shared| shared.core.settle(started, now));
    }

    /// Learns from a response's headers (see [`WindowLimiter::observe`]).
    pub fn observe(&self, headers: &HeaderMap) {
        self.observe_rate_limit(&RateLimitHeaders::from_headers(headers));
    }

    /// Learns from already parsed rate-limit headers.
    pub fn observe_rate_limit(&self, headers: &RateLimitHeaders) {
        let newly_exhausted = self
            .with(|shared| {
                let now = Self::now();
                let before = shared.core.is_daily_exhausted(now);
                shared.core.observe(now, headers);
                !before && shared.core.is_daily_exhausted(now)
            })
            .unwrap_or(false);
        if newly_exhausted {
            self.mark_daily_exhausted(None);
        }
    }

    /// Marks the daily budget spent (e.g. after a `DAILY` 429) until
    /// `resets_at`, or, when `None`, until the next midnight UTC: HubSpot
    /// resets at midnight in the account's time zone, unknown to the client,
    /// so the limiter lets one request probe after each UTC midnight.
    pub fn mark_daily_exhausted(&self, resets_at: Option<DateTime<Utc>>) {
        let wall = Utc::now();
        let resets_at = resets_at.unwrap_or_else(|| next_utc_midnight(wall));
        let wait = (resets_at - wall).to_std().unwrap_or(Duration::ZERO);
        self.with(|shared| {
            let until = Self::now().checked_add(wait);
            shared.core.set_daily_exhausted(until);
            shared.daily_resets_at = Some(resets_at);
        });
    }

    /// Holds every acquire of every clone for `wait` (e.g. a 429's
    /// Retry-After).
    pub fn pause_for(&self, wait: Duration) {
        self.with(|shared| {
            let now = Self::now();
            shared
                .core
                .pause_until(now.checked_add(wait).unwrap_or(now));
        });
    }

    /// Holds every acquire of every clone until `until` (tokio's clock).
    pub fn pause_until(&self, until: tokio::time::Instant) {
        self.with(|shared| shared.core.pause_until(until.into_std()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Acquires at `now` and, when admitted, settles at once: a request
    /// answered immediately, counted when it started.
    fn admit(limiter: &mut WindowLimiter, now: Instant) -> Result<(), Denied> {
        let verdict = limiter.try_acquire(now);
        if verdict.is_ok() {
            limiter.settle(now, now);
        }
        verdict
    }

    const SEC: Duration = Duration::from_secs(1);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Drives `limiter` at full demand from `start` for `duration`: every
    /// refusal is followed by exactly the wait it asked for. Returns the
    /// admitted start times.
    fn saturate(limiter: &mut WindowLimiter, start: Instant, duration: Duration) -> Vec<Instant> {
        let mut now = start;
        let mut starts = Vec::new();
        while now < start + duration {
            match admit(limiter, now) {
                Ok(()) => starts.push(now),
                Err(Denied::Wait(wait)) => now += wait,
                Err(Denied::DailyLimitExhausted) => break,
            }
        }
        starts
    }

    /// Asserts no window of length `window` holds more than `max` starts:
    /// start `i + max` is at least `window` after start `i`.
    fn assert_never_over(starts: &[Instant], max: u32, window: Duration) {
        let max = max as usize;
        for (i, pair) in starts.windows(max + 1).enumerate() {
            let gap = pair[max] - pair[0];
            assert!(
                gap >= window,
                "starts {i}..={} span only {gap:?} (< {window:?})",
                i + max
            );
        }
    }

    fn headers(max: u32, interval: Duration) -> RateLimitHeaders {
        RateLimitHeaders {
            max: Some(max),
            interval: Some(interval),
            ..RateLimitHeaders::default()
        }
    }

    #[test]
    fn never_more_than_max_in_any_window_at_full_demand() {
        for (max, window) in [
            (100, SEC * 10),
            (190, SEC * 10),
            (190, SEC),
            (250, SEC * 10),
        ] {
            let mut limiter = WindowLimiter::new(max, window);
            let starts = saturate(&mut limiter, Instant::now(), window * 50);
            assert!(starts.len() > max as usize * 40);
            assert_never_over(&starts, max, window);
            // With the margin, even the stretched window is respected.
            assert_never_over(&starts, max, limiter.effective_window());
        }
    }

    #[test]
    fn never_more_than_max_with_irregular_demand() {
        // Requests arrive at pseudo-random instants (a fixed LCG), some in
        // bursts, some spread out; late arrivals must never overfill.
        let mut limiter = WindowLimiter::new(100, SEC * 10);
        let mut now = Instant::now();
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut starts = Vec::new();
        for _ in 0..20_000 {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            now += ms((seed >> 33) % 300);
            match admit(&mut limiter, now) {
                Ok(()) => starts.push(now),
                Err(Denied::Wait(wait)) => {
                    assert!(wait > Duration::ZERO && wait <= limiter.effective_window());
                }
                Err(Denied::DailyLimitExhausted) => unreachable!(),
            }
        }
        assert!(starts.len() > 1000);
        assert_never_over(&starts, 100, SEC * 10);
    }

    #[test]
    fn efficiency_at_full_demand_is_at_least_97_percent() {
        for (max, window) in [(100, SEC * 10), (190, SEC * 10), (190, SEC), (100, SEC)] {
            let mut limiter = WindowLimiter::new(max, window);
            let run = window * 100;
            let starts = saturate(&mut limiter, Instant::now(), run);
            let ideal = f64::from(max) * 100.0;
            let efficiency = starts.len() as f64 / ideal;
            assert!(
                efficiency >= 0.97,
                "{max}/{window:?}: {} of {ideal} ({efficiency:.4})",
                starts.len()
            );
            assert!(efficiency <= 1.0 + 1.0 / 100.0);
        }
    }

    #[test]
    fn zero_margin_is_exact() {
        let mut limiter = WindowLimiter::new(10, SEC).margin(0.0);
        let t0 = Instant::now();
        let starts = saturate(&mut limiter, t0, SEC * 10);
        assert_eq!(starts.len(), 100);
        assert_never_over(&starts, 10, SEC);
    }

    #[test]
    fn wait_is_until_the_oldest_start_leaves_the_window() {
        let mut limiter = WindowLimiter::new(3, SEC * 10).margin(0.0);
        let t0 = Instant::now();
        for offset in [0, 2, 4] {
            assert_eq!(admit(&mut limiter, t0 + SEC * offset), Ok(()));
        }
        assert_eq!(limiter.in_window(t0 + SEC * 5), 3);
        assert_eq!(
            admit(&mut limiter, t0 + SEC * 5),
            Err(Denied::Wait(SEC * 5))
        );
        assert_eq!(admit(&mut limiter, t0 + SEC * 10), Ok(()));
        assert_eq!(
            admit(&mut limiter, t0 + SEC * 10),
            Err(Denied::Wait(SEC * 2))
        );
    }

    #[test]
    fn a_request_is_dated_to_its_arrival_and_the_next_gets_credit_for_its_own_travel() {
        let mut limiter = WindowLimiter::new(1, SEC).margin(0.0);
        let t0 = Instant::now();
        assert_eq!(limiter.try_acquire(t0), Ok(()));
        // Answered after 100 ms: counted by HubSpot about 50 ms after it left.
        limiter.settle(t0, t0 + ms(100));
        // The next one arrives about 50 ms after it leaves, so it may leave
        // 950 ms after the first was counted, not a whole window.
        assert!(matches!(
            limiter.try_acquire(t0 + ms(999)),
            Err(Denied::Wait(_))
        ));
        assert_eq!(limiter.try_acquire(t0 + ms(1000)), Ok(()));
    }

    #[test]
    fn time_going_backwards_is_safe() {
        let mut limiter = WindowLimiter::new(2, SEC).margin(0.0);
        let t0 = Instant::now() + SEC * 5;
        assert_eq!(admit(&mut limiter, t0), Ok(()));
        assert_eq!(admit(&mut limiter, t0 - SEC), Ok(()));
        assert!(matches!(
            admit(&mut limiter, t0 - SEC),
            Err(Denied::Wait(_))
        ));
        assert_eq!(admit(&mut limiter, t0 + SEC), Ok(()));
    }

    #[test]
    fn adapts_from_100_per_10s_to_190_per_10s() {
        let t0 = Instant::now();
        let mut limiter = WindowLimiter::from_rate_limit(RateLimit::FREE_STARTER).unwrap();
        assert_eq!(admit(&mut limiter, t0), Ok(()));
        limiter.observe(t0, &headers(190, SEC * 10));
        assert_eq!(limiter.quota(), RateLimit::PROFESSIONAL_ENTERPRISE);
        let starts = saturate(&mut limiter, t0, SEC * 100);
        assert_never_over(&starts, 190, SEC * 10);
        // 189 more in the first window, then ~190 per 10.2 s.
        assert!(starts.len() >= 1850, "{}", starts.len());
    }

    #[test]
    fn adapts_from_100_per_10s_to_190_per_second() {
        let t0 = Instant::now();
        let mut limiter = WindowLimiter::from_rate_limit(RateLimit::FREE_STARTER).unwrap();
        for _ in 0..50 {
            assert_eq!(admit(&mut limiter, t0), Ok(()));
        }
        limiter.observe(t0, &headers(190, SEC));
        assert_eq!(limiter.quota(), RateLimit::custom(190, SEC));
        let starts = saturate(&mut limiter, t0, SEC * 10);
        assert_never_over(&starts, 190, SEC);
        assert!(starts.len() >= 1800, "{}", starts.len());
    }

    #[test]
    fn adapts_down_and_keeps_the_newest_starts() {
        let t0 = Instant::now();
        let mut limiter = WindowLimiter::new(250, SEC * 10).margin(0.0);
        for i in 0..200 {
            assert_eq!(admit(&mut limiter, t0 + ms(i * 10)), Ok(()));
        }
        let now = t0 + SEC * 2;
        limiter.observe(now, &headers(100, SEC * 10));
        assert_eq!(limiter.quota(), RateLimit::FREE_STARTER);
        // The newest 100 starts (1.0 s ..= 1.99 s) fill the new quota.
        assert_eq!(limiter.in_window(now), 100);
        assert_eq!(admit(&mut limiter, now), Err(Denied::Wait(SEC * 9)));
    }

    #[test]
    fn observe_ignores_partial_or_absent_headers_sensibly() {
        let t0 = Instant::now();
        let mut limiter = WindowLimiter::new(100, SEC * 10);
        limiter.observe(t0, &RateLimitHeaders::default());
        assert_eq!(limiter.quota(), RateLimit::FREE_STARTER);
        limiter.observe(
            t0,
            &RateLimitHeaders {
                max: Some(150),
                ..RateLimitHeaders::default()
            },
        );
        assert_eq!(limiter.quota(), RateLimit::custom(150, SEC * 10));
        limiter.observe(
            t0,
            &RateLimitHeaders {
                interval: Some(SEC),
                remaining: Some(0),
                ..RateLimitHeaders::default()
            },
        );
        assert_eq!(limiter.quota(), RateLimit::custom(150, SEC));
    }

    #[test]
    fn non_adaptive_keeps_its_quota() {
        let t0 = Instant::now();
        let mut limiter = WindowLimiter::new(100, SEC * 10).adaptive(false);
        limiter.observe(t0, &headers(190, SEC));
        assert_eq!(limiter.quota(), RateLimit::FREE_STARTER);
    }

    #[test]
    fn daily_exhaustion_blocks_until_reset() {
        let t0 = Instant::now();
        let mut limiter = WindowLimiter::new(100, SEC * 10).adaptive(false);
        let spent = RateLimitHeaders {
            daily: Some(250_000),
            daily_remaining: Some(0),
            ..RateLimitHeaders::default()
        };
        limiter.observe(t0, &spent);
        assert!(limiter.is_daily_exhausted(t0));
        assert_eq!(admit(&mut limiter, t0), Err(Denied::DailyLimitExhausted));
        assert_eq!(
            admit(&mut limiter, t0 + SEC * 86_400),
            Err(Denied::DailyLimitExhausted)
        );
        limiter.reset_daily();
        assert_eq!(admit(&mut limiter, t0), Ok(()));

        // With an expected reset time, acquires resume after it.
        limiter.set_daily_exhausted(Some(t0 + SEC * 60));
        assert_eq!(limiter.daily_exhausted_until(), Some(t0 + SEC * 60));
        assert_eq!(
            admit(&mut limiter, t0 + SEC * 59),
            Err(Denied::DailyLimitExhausted)
        );
        assert_eq!(admit(&mut limiter, t0 + SEC * 60), Ok(()));
        assert!(!limiter.is_daily_exhausted(t0 + SEC * 60));
    }

    #[test]
    fn pause_holds_everyone_and_only_extends() {
        let t0 = Instant::now();
        let mut limiter = WindowLimiter::new(100, SEC * 10);
        limiter.pause_until(t0 + SEC * 3);
        limiter.pause_until(t0 + SEC);
        assert_eq!(admit(&mut limiter, t0), Err(Denied::Wait(SEC * 3)));
        assert_eq!(admit(&mut limiter, t0 + SEC * 2), Err(Denied::Wait(SEC)));
        assert_eq!(admit(&mut limiter, t0 + SEC * 3), Ok(()));
        assert_eq!(limiter.in_window(t0 + SEC * 3), 1);
    }

    #[test]
    fn parses_quotas_and_presets() {
        let ok = [
            ("100/10s", RateLimit::FREE_STARTER),
            ("190/10s", RateLimit::PROFESSIONAL_ENTERPRISE),
            ("250/10s", RateLimit::LIMIT_INCREASE),
            ("190/1s", RateLimit::custom(190, SEC)),
            ("50/500ms", RateLimit::custom(50, ms(500))),
            (" 100 / 10 s ", RateLimit::FREE_STARTER),
            ("100/10", RateLimit::FREE_STARTER),
            ("600/1m", RateLimit::custom(600, SEC * 60)),
            ("100/10SEC", RateLimit::FREE_STARTER),
            ("free", RateLimit::FREE_STARTER),
            ("Starter", RateLimit::FREE_STARTER),
            ("professional", RateLimit::PROFESSIONAL_ENTERPRISE),
            ("pro", RateLimit::PROFESSIONAL_ENTERPRISE),
            ("ENTERPRISE", RateLimit::PROFESSIONAL_ENTERPRISE),
            ("increase", RateLimit::LIMIT_INCREASE),
            ("limit-increase", RateLimit::LIMIT_INCREASE),
            ("unlimited", RateLimit::Unlimited),
            ("off", RateLimit::Unlimited),
        ];
        for (spec, expected) in ok {
            assert_eq!(spec.parse::<RateLimit>(), Ok(expected), "{spec:?}");
        }
        let bad = [
            ("", ParseRateLimitError::Unrecognised(String::new())),
            ("fast", ParseRateLimitError::Unrecognised("fast".into())),
            ("0/10s", ParseRateLimitError::InvalidMax("0".into())),
            ("-1/10s", ParseRateLimitError::InvalidMax("-1".into())),
            ("x/10s", ParseRateLimitError::InvalidMax("x".into())),
            ("100/0s", ParseRateLimitError::InvalidWindow("0s".into())),
            ("100/", ParseRateLimitError::InvalidWindow(String::new())),
            ("100/10h", ParseRateLimitError::InvalidWindow("10h".into())),
            (
                "100/1.5s",
                ParseRateLimitError::InvalidWindow("1.5s".into()),
            ),
            ("100/s", ParseRateLimitError::InvalidWindow("s".into())),
            (
                "100/99999999999999999999m",
                ParseRateLimitError::InvalidWindow("99999999999999999999m".into()),
            ),
        ];
        for (spec, expected) in bad {
            assert_eq!(spec.parse::<RateLimit>(), Err(expected), "{spec:?}");
        }
    }

    #[test]
    fn display_round_trips() {
        for limit in [
            RateLimit::FREE_STARTER,
            RateLimit::custom(190, SEC),
            RateLimit::custom(50, ms(500)),
            RateLimit::custom(7, ms(1500)),
            RateLimit::Unlimited,
        ] {
            assert_eq!(limit.to_string().parse::<RateLimit>(), Ok(limit));
        }
        assert_eq!(RateLimit::custom(50, ms(500)).to_string(), "50/500ms");
    }

    #[test]
    fn custom_clamps_zero_quotas() {
        assert_eq!(
            RateLimit::custom(0, Duration::ZERO),
            RateLimit::Quota {
                max: 1,
                window: ms(1)
            }
        );
        assert_eq!(RateLimit::Unlimited.max(), None);
        assert_eq!(RateLimit::FREE_STARTER.window(), Some(SEC * 10));
    }

    #[test]
    fn daily_limit_error_says_when_it_resets() {
        let at = chrono::TimeZone::with_ymd_and_hms(&Utc, 2025, 6, 2, 0, 0, 0).unwrap();
        let message = DailyLimitExhausted {
            resets_at: Some(at),
        }
        .to_string();
        assert!(message.contains("midnight in the account's time zone"));
        assert!(message.contains("2025-06-02 00:00 UTC"), "{message}");
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
                let started = limiter.acquire().await?;
                // Answered at once.
                limiter.settle(started);
                Ok::<_, DailyLimitExhausted>(start.elapsed())
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
        let started = clone.acquire().await.expect("no daily limit");
        clone.settle(started);
        assert!(before.elapsed() >= SEC * 5);

        // Daily-Remaining: 0 fails every clone at once, with a reset estimate.
        h.insert(
            "x-hubspot-ratelimit-daily-remaining",
            "0".parse().expect("header"),
        );
        limiter.observe(&h);
        let err = clone.acquire().await.expect_err("daily limit");
        assert!(err.resets_at.is_some());
    }

    #[tokio::test]
    async fn unlimited_limiter_admits_everything() {
        let limiter = RateLimiter::new(RateLimit::Unlimited);
        assert!(limiter.is_unlimited());
        for _ in 0..1000 {
            limiter.acquire().await.expect("unlimited");
        }
        limiter.pause_for(SEC * 3600);
        limiter.acquire().await.expect("unlimited ignores pauses");
        assert_eq!(limiter.quota(), RateLimit::Unlimited);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn every_slot_is_given_back_under_concurrent_acquires() {
        let limiter = RateLimiter::from_core(WindowLimiter::new(5, ms(20)));
        let tasks: Vec<_> = (0..400)
            .map(|_| {
                let limiter = limiter.clone();
                tokio::spawn(async move {
                    let started = limiter.acquire().await?;
                    tokio::task::yield_now().await;
                    limiter.settle(started);
                    Ok::<_, DailyLimitExhausted>(())
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("task").expect("no daily limit");
        }
        let in_flight = limiter.with(|shared| shared.core.in_flight());
        assert_eq!(
            in_flight,
            Some(0),
            "a slot recorded at one instant and settled at another"
        );
    }
}
