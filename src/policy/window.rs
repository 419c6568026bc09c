//! The pure rolling window: a sliding-window log of request starts that says
//! whether a request may start now, and if not, what it waits for. It never
//! reads a clock; every method takes `now`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::headers::RateLimitHeaders;
use super::others::Share;
use hubspot_rate_limit::RateLimit;

/// The longest rolling window the limiter follows from HubSpot's headers; a
/// longer one (or a `Max` of 0) would stall a run for hours with nothing to
/// show, so the run stops instead and says why.
pub(crate) const UNWORKABLE_WINDOW: Duration = Duration::from_secs(60 * 60);

/// Why [`WindowLimiter::try_acquire`] refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Denied {
    /// The window is full of counted requests (or a 429 paused everyone): a
    /// slot opens after this long, unless a change (a larger quota) opens one
    /// sooner.
    Wait(Duration),
    /// Every slot is held by a request still in flight: a slot opens only
    /// when one of them is answered ([`WindowLimiter::release`]).
    InFlight,
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
/// nothing extra for 10 s). The margin is configurable in tests
/// (`margin`).
///
/// # Other clients: `Remaining` as an upper bound
///
/// HubSpot's budget belongs to the app in a portal; other workers of the
/// same app spend it too. Each answer's `X-HubSpot-RateLimit-Remaining`
/// says how full HubSpot's window was when it counted that request; what
/// the log cannot account for as this client's own is others', and the
/// client keeps to its share of the window (see [`Share`]). A client alone
/// never sees others, so its throughput is unchanged.
///
/// # A cap
///
/// A limit the user set ([`cap`](Self::cap)) is enforced as a second
/// window beside the quota HubSpot announces: the headers can lower what the
/// client sends, never raise it above the cap.
///
/// # Pauses
///
/// A 429 pauses everyone, not only the request that got it
/// ([`pause_until`](Self::pause_until)); the pause is checked before the
/// window.
#[derive(Debug, Clone)]
pub(crate) struct WindowLimiter {
    max: u32,
    window: Duration,
    /// The user's own limit, enforced whatever HubSpot announces.
    cap: Option<(u32, Duration)>,
    /// The share of HubSpot's window other clients leave this one.
    share: Share,
    /// Whether [`share`](Self::share) bounds this client's requests (off
    /// while a shared budget accounts for every worker).
    bound_by_others: bool,
    /// When the latest request started: with others about, requests are
    /// spread evenly over the window.
    last_start: Option<Instant>,
    /// Whether HubSpot's headers have announced the quota (else it is the
    /// one the client started from).
    announced: bool,
    /// When HubSpot most likely counted this client's answered requests,
    /// oldest first, for reading `Remaining`: kept a round trip longer than
    /// the log keeps them, since an answer's window reaches back from when
    /// HubSpot counted it, before the answer came.
    counted: VecDeque<Instant>,
    margin: f64,
    adaptive: bool,
    /// The recent requests, sorted by `at`.
    sent: VecDeque<Sent>,
    /// The shortest time from start to answer seen so far.
    fastest_answer: Option<Duration>,
    paused_until: Option<Instant>,
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

/// The default safety margin: the window is stretched by 2 %.
pub(crate) const DEFAULT_MARGIN: f64 = 0.02;

/// The smallest stretch a non-zero margin gives a window.
pub(crate) const MIN_MARGIN: Duration = Duration::from_millis(15);

/// The shortest wait ever returned, so a caller looping on
/// [`WindowLimiter::try_acquire`] never spins on a zero wait.
const MIN_WAIT: Duration = Duration::from_millis(1);

impl WindowLimiter {
    /// A limiter admitting at most `max` starts per rolling `window` (clamped
    /// as [`RateLimit::custom`] does), with the default 2 % margin and
    /// adaptation on.
    pub(crate) fn new(max: u32, window: Duration) -> WindowLimiter {
        let (max, window) = quota(max, window);
        WindowLimiter {
            max,
            window,
            cap: None,
            share: Share::default(),
            bound_by_others: true,
            last_start: None,
            announced: false,
            counted: VecDeque::new(),
            margin: DEFAULT_MARGIN,
            adaptive: true,
            sent: VecDeque::with_capacity(max.min(1024) as usize),
            fastest_answer: None,
            paused_until: None,
        }
    }

    /// A limiter for `limit`; `None` for [`RateLimit::Unlimited`].
    pub(crate) fn from_rate_limit(limit: RateLimit) -> Option<WindowLimiter> {
        match limit {
            RateLimit::Unlimited => None,
            RateLimit::Quota { max, window } => Some(WindowLimiter::new(max, window)),
        }
    }

    /// Sets the safety margin as a fraction of the window (clamped to
    /// `[0, 1]`; NaN reads as 0): starts are spaced so that at most `max` fall
    /// in any `window × (1 + margin)`. Default [`DEFAULT_MARGIN`] (2 %).
    #[cfg(test)]
    pub(crate) fn margin(mut self, fraction: f64) -> Self {
        self.margin = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        self
    }

    /// Whether [`observe`](Self::observe) switches to the quota the response
    /// headers announce. Default on.
    pub(crate) fn adaptive(mut self, adaptive: bool) -> Self {
        self.adaptive = adaptive;
        self
    }

    /// Makes the starting quota a cap: it stays enforced beside whatever
    /// quota HubSpot's headers announce, so they can lower the rate but
    /// never raise it.
    pub(crate) fn capped(mut self) -> Self {
        self.cap = Some((self.max, self.window));
        self
    }

    /// Whether other clients' requests, as HubSpot's `Remaining` reveals
    /// them, bound this client's (on unless a shared budget accounts for
    /// every worker).
    #[cfg(any(test, feature = "redis"))]
    pub(crate) fn set_bound_by_others(&mut self, bound: bool) {
        self.bound_by_others = bound;
    }

    /// Requests per window of the current quota (HubSpot's, as far as it
    /// is known; a cap is this client's own business).
    #[cfg(feature = "redis")]
    pub(crate) fn max(&self) -> u32 {
        self.max
    }

    /// Whether the quota is the one HubSpot's headers announced, rather
    /// than the one the client started from.
    #[cfg(feature = "redis")]
    pub(crate) fn announced(&self) -> bool {
        self.announced
    }

    /// The current quota.
    pub(crate) fn quota(&self) -> RateLimit {
        RateLimit::Quota {
            max: self.max,
            window: self.window,
        }
    }

    /// The window actually enforced: `window × (1 + margin)`, stretched by at
    /// least [`MIN_MARGIN`] unless the margin is 0.
    pub(crate) fn effective_window(&self) -> Duration {
        self.stretch(self.window)
    }

    /// How far back from a new request's start its window reaches: the
    /// effective window, less the time the new request itself will take to
    /// reach HubSpot (half the fastest round trip seen, at most half the
    /// window), since HubSpot counts it on arrival, not when it leaves.
    pub(crate) fn lookback(&self) -> Duration {
        self.lookback_of(self.window)
    }

    /// [`lookback`](Self::lookback) for a window of `window`.
    fn lookback_of(&self, window: Duration) -> Duration {
        let span = self.stretch(window);
        let travel = self
            .fastest_answer
            .map_or(Duration::ZERO, |fastest| fastest / 2);
        span - travel.min(span / 2)
    }

    /// `window × (1 + margin)`, stretched by at least [`MIN_MARGIN`] unless
    /// the margin is 0.
    fn stretch(&self, window: Duration) -> Duration {
        if self.margin > 0.0 {
            window + window.mul_f64(self.margin).max(MIN_MARGIN)
        } else {
            window
        }
    }

    /// How long the log must remember an answered request: the longest
    /// lookback of the quota and the cap.
    fn memory(&self) -> Duration {
        let cap = self
            .cap
            .map_or(Duration::ZERO, |(_, window)| self.lookback_of(window));
        self.lookback().max(cap)
    }

    /// The most requests the log must remember: the larger of the quota's
    /// and the cap's.
    fn most(&self) -> usize {
        self.max.max(self.cap.map_or(0, |(max, _)| max)) as usize
    }

    /// With others about (a `share` below the quota), whether the last
    /// request started at least `span / share` ago, so this client spreads
    /// its share evenly over the window instead of spending it in a burst
    /// that others, reading the same `Remaining`, would make at the same
    /// moment; else the wait until it has.
    fn paced(&self, now: Instant, share: u32, span: Duration) -> Result<(), Option<Duration>> {
        if share >= self.max || share == 0 {
            return Ok(());
        }
        let gap = span / share;
        match self.last_start {
            Some(last) if now.saturating_duration_since(last) < gap => Err(Some(
                (last + gap).saturating_duration_since(now).max(MIN_WAIT),
            )),
            _ => Ok(()),
        }
    }

    /// When the log's requests leave room for one more under a limit of
    /// `allowed` per `span` at `now`: `Ok` when there is room now, else
    /// the wait until the answered request that must leave has left, or
    /// `None` when only answers (of requests in flight) can make room.
    fn room(&self, now: Instant, allowed: usize, span: Duration) -> Result<(), Option<Duration>> {
        let mut answered = self
            .sent
            .iter()
            .filter(|sent| sent.answered && now.saturating_duration_since(sent.at) < span);
        let in_window =
            self.sent.iter().filter(|sent| !sent.answered).count() + answered.clone().count();
        if in_window < allowed {
            return Ok(());
        }
        let must_leave = in_window - allowed;
        Err(answered.nth(must_leave).map(|sent| {
            (sent.at + span)
                .saturating_duration_since(now)
                .max(MIN_WAIT)
        }))
    }

    /// How many starts fall in the window a request starting at `now` would be
    /// counted in.
    #[cfg(test)]
    pub(crate) fn in_window(&self, now: Instant) -> usize {
        let span = self.lookback();
        self.sent
            .iter()
            .filter(|sent| !sent.answered || now.saturating_duration_since(sent.at) < span)
            .count()
    }

    /// How many admitted requests have not been released yet.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> usize {
        self.sent.iter().filter(|sent| !sent.answered).count()
    }

    /// Admits a request starting at `now` (and records it), or says why not.
    ///
    /// A pause is checked first, then the window. The start is recorded at
    /// `now`, which is what [`release`](Self::release) expects back; `now`
    /// may be earlier than a start already recorded.
    pub(crate) fn try_acquire(&mut self, now: Instant) -> Result<(), Denied> {
        if let Some(until) = self.paused_until {
            if now < until {
                return Err(Denied::Wait(until - now));
            }
            self.paused_until = None;
        }
        let span = self.lookback();
        self.prune(now, self.memory());
        self.share.prune(now, span);
        let share = self
            .share
            .of(now, span)
            .filter(|_| self.bound_by_others)
            .map_or(self.max, |share| share.min(self.max));
        let quota = self
            .room(now, share as usize, span)
            .and_then(|()| self.paced(now, share, span));
        let cap = match self.cap {
            Some((max, window)) => self.room(now, max as usize, self.lookback_of(window)),
            None => Ok(()),
        };
        if quota.is_ok() && cap.is_ok() {
            self.last_start = Some(self.last_start.map_or(now, |last| last.max(now)));
            // Recorded at exactly `now`, so `release(now, ..)` finds it;
            // callers on several threads may arrive slightly out of order, so
            // keep the log sorted by inserting in place.
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
        // A full window opens when enough of its answered requests have
        // left it, or when others' slots are a window old; when neither can
        // happen, only an answer can open a slot.
        let quota = quota.map_err(|own| {
            let others_drop = match share < self.max {
                true => self.share.next_rise(now, span).map(|d| d.max(MIN_WAIT)),
                false => None,
            };
            match (own, others_drop) {
                (Some(own), Some(others)) => Some(own.min(others)),
                (own, others) => own.or(others),
            }
        });
        // Both must have room: wait for the later of the two.
        [quota.err().flatten(), cap.err().flatten()]
            .into_iter()
            .flatten()
            .max()
            .map_or(Err(Denied::InFlight), |wait| Err(Denied::Wait(wait)))
    }

    /// Records that the request started at `started` was answered at
    /// `answered`, and moves it to when HubSpot most likely counted it.
    ///
    /// HubSpot counts a request somewhere between its start and its answer.
    /// The fixed part of a round trip is split between the way there and the
    /// way back, so the count is estimated at the answer minus half the
    /// fastest round trip seen, never before the start. Queueing on the way
    /// (a burst on new connections, a busy server) delays the answer too,
    /// and so moves the estimate with it; the margin covers what is left.
    /// Until its answer, a request holds its slot: it may be counted at any
    /// moment. Returns the instant it is dated to.
    pub(crate) fn release(&mut self, started: Instant, answered: Instant) -> Instant {
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
            self.remember_counted(counted);
            self.sent
                .make_contiguous()
                .sort_unstable_by_key(|sent| sent.at);
        }
        counted
    }

    /// Adds `at` to [`counted`](Self::counted), forgetting what is more
    /// than a stretched window and a round trip old (or beyond twice the
    /// quota, which bounds memory).
    fn remember_counted(&mut self, at: Instant) {
        let position = self.counted.partition_point(|&other| other <= at);
        self.counted.insert(position, at);
        let keep = self.effective_window() + self.fastest_answer.unwrap_or_default();
        while self.counted.len() > 2 * self.most()
            || self
                .counted
                .front()
                .is_some_and(|&oldest| at.saturating_duration_since(oldest) > keep)
        {
            self.counted.pop_front();
        }
    }

    /// Moves the start of the request in flight started at `started` to
    /// `now` (it waited for the shared budget before it left).
    #[cfg(feature = "redis")]
    pub(crate) fn restamp(&mut self, started: Instant, now: Instant) {
        let entry = self
            .sent
            .iter_mut()
            .find(|sent| !sent.answered && sent.at == started);
        if let Some(entry) = entry {
            entry.at = now;
            self.sent
                .make_contiguous()
                .sort_unstable_by_key(|sent| sent.at);
        }
        self.last_start = Some(self.last_start.map_or(now, |last| last.max(now)));
    }

    /// Forgets the request started at `started`, which HubSpot refused with a
    /// 429 without counting it: it holds no slot, and it is not this
    /// client's when reading `Remaining`. (The 429's pause keeps everyone
    /// from taking the slot back at once.)
    pub(crate) fn forget(&mut self, started: Instant) {
        if let Some(position) = self
            .sent
            .iter()
            .position(|sent| !sent.answered && sent.at == started)
        {
            self.sent.remove(position);
        }
    }

    /// Forgets answered requests that left the window, and the oldest answered
    /// ones beyond `max` (after the quota shrank).
    fn prune(&mut self, now: Instant, span: Duration) {
        self.sent
            .retain(|sent| !sent.answered || now.saturating_duration_since(sent.at) < span);
        while self.sent.len() > self.most() {
            match self.sent.iter().position(|sent| sent.answered) {
                Some(oldest) => {
                    self.sent.remove(oldest);
                }
                None => break,
            }
        }
    }

    /// Learns the quota from a response's rate-limit headers; returns whether
    /// it changed.
    ///
    /// When adaptive, a `Max` or `Interval-Milliseconds` that differs from
    /// the current quota replaces it (clamped as [`RateLimit::custom`]
    /// does): a client started with the 100/10 s preset runs at 190/10 s (or
    /// 190/1 s) from the first response of such a portal on, and one that
    /// guessed too high drops to the real figure. The log keeps the newest
    /// starts, so the new quota holds at once.
    ///
    /// `Remaining` tells how many requests of others HubSpot's window held
    /// (see [`observe_share`](Self::observe_share)). The daily headers are
    /// the daily budget's business (`DailyBudget::observe`).
    ///
    /// Why following these headers would stall every request for longer than
    /// [`UNWORKABLE_WINDOW`] allows (a `Max` below 1, or an interval over an
    /// hour), if it would; never for a limiter that does not adapt.
    pub(crate) fn unworkable(&self, headers: &RateLimitHeaders) -> Option<String> {
        if !self.adaptive {
            return None;
        }
        if headers.max == Some(0) {
            return Some("X-HubSpot-RateLimit-Max is 0: no request may ever start".to_owned());
        }
        match headers.interval {
            Some(interval) if interval > UNWORKABLE_WINDOW => Some(format!(
                "X-HubSpot-RateLimit-Interval-Milliseconds is {} ms: each window is longer than an hour",
                interval.as_millis()
            )),
            _ => None,
        }
    }

    pub(crate) fn observe(&mut self, now: Instant, headers: &RateLimitHeaders) -> bool {
        if !self.adaptive {
            return false;
        }
        self.observe_share(now, headers);
        self.announced |= headers.max.is_some() || headers.interval.is_some();
        let (max, window) = quota(
            headers.max.unwrap_or(self.max),
            headers.interval.unwrap_or(self.window),
        );
        if (max, window) == (self.max, self.window) {
            return false;
        }
        tracing::debug!(
            from = %self.quota(),
            to = %RateLimit::custom(max, window),
            "rate limiter adapts to the quota HubSpot reports"
        );
        self.max = max;
        self.window = window;
        let span = self.lookback();
        self.prune(now, span);
        true
    }

    /// Reads from the answer that came at `now` (its request still in
    /// flight) how many requests of others HubSpot's window held.
    ///
    /// HubSpot counted the request about half the fastest round trip before
    /// its answer, and its window then held `Max - Remaining` requests. The
    /// client's own are at most its requests counted in the window before
    /// that instant or started before it and still in flight (this one
    /// included), counted over the effective window, which reaches a little further
    /// back than HubSpot's: the rest are surely others'. Read this way, a
    /// client alone reads no others; and since those instants are
    /// estimates, no more others than it has requests in flight count as
    /// none. The reading becomes a share of the window ([`Share::record`]).
    fn observe_share(&mut self, now: Instant, headers: &RateLimitHeaders) {
        let Some(remaining) = headers.remaining else {
            return;
        };
        let max = headers.max.unwrap_or(self.max);
        let used = max.saturating_sub(remaining);
        let travel = self.fastest_answer.map_or(Duration::ZERO, |f| f / 2);
        let counted = now.checked_sub(travel).unwrap_or(now);
        let span = self.stretch(headers.interval.unwrap_or(self.window));
        let answered = self
            .counted
            .iter()
            .filter(|&&at| at <= counted && counted.saturating_duration_since(at) < span)
            .count();
        let in_flight = self
            .sent
            .iter()
            .filter(|sent| !sent.answered && sent.at <= counted)
            .count();
        let own = answered + in_flight;
        let own = u32::try_from(own).unwrap_or(u32::MAX);
        // When HubSpot counted each request is an estimate; a handful of
        // "others", no more than this client has in flight, is as likely
        // its own requests dated a little off, and is not taken as others.
        let in_flight = self.sent.iter().filter(|sent| !sent.answered).count();
        let slack = u32::try_from(in_flight).unwrap_or(u32::MAX);
        let own = if used.saturating_sub(own) <= slack {
            used
        } else {
            tracing::trace!(
                others = used - own,
                used,
                "HubSpot's window holds requests of other clients"
            );
            own
        };
        self.share.record(counted, max, used, own);
    }

    /// Holds every acquire until `until` (e.g. after a 429 with Retry-After:
    /// everyone waits, not only the request that got it). A later pause
    /// extends an earlier one; an earlier one never shortens it.
    pub(crate) fn pause_until(&mut self, until: Instant) {
        self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
    }
}

/// `max` and `window` clamped as [`RateLimit::custom`] clamps them.
fn quota(max: u32, window: Duration) -> (u32, Duration) {
    match RateLimit::custom(max, window) {
        RateLimit::Quota { max, window } => (max, window),
        RateLimit::Unlimited => (max, window),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Acquires at `now` and, when admitted, releases at once: a request
    /// answered immediately, counted when it started.
    fn admit(limiter: &mut WindowLimiter, now: Instant) -> Result<(), Denied> {
        let verdict = limiter.try_acquire(now);
        if verdict.is_ok() {
            limiter.release(now, now);
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
                Err(Denied::InFlight) => unreachable!("admit releases every request"),
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

    /// Was the `WindowLimiter` doc example.
    #[test]
    fn two_per_second_answered_at_once() {
        let mut limiter = WindowLimiter::new(2, SEC).margin(0.0);
        let t0 = Instant::now();
        assert_eq!(limiter.try_acquire(t0), Ok(()));
        assert_eq!(limiter.try_acquire(t0), Ok(()));
        // Both in flight: only an answer can open a slot.
        assert_eq!(limiter.try_acquire(t0), Err(Denied::InFlight));
        // Both answered at once: HubSpot counted them at t0.
        limiter.release(t0, t0);
        limiter.release(t0, t0);
        assert_eq!(limiter.try_acquire(t0), Err(Denied::Wait(SEC)));
        assert_eq!(limiter.try_acquire(t0 + SEC), Ok(()));
    }

    #[test]
    fn every_slot_in_flight_waits_for_an_answer_not_a_poll() {
        let mut limiter = WindowLimiter::new(2, SEC).margin(0.0);
        let t0 = Instant::now();
        assert_eq!(limiter.try_acquire(t0), Ok(()));
        assert_eq!(limiter.try_acquire(t0), Ok(()));
        // However long they take, in-flight requests hold their slots.
        assert_eq!(limiter.try_acquire(t0 + SEC * 60), Err(Denied::InFlight));
        assert_eq!(limiter.in_flight(), 2);
        // One answer, long after: counted about when it was answered, and
        // the new request gets the slot it left.
        limiter.release(t0, t0 + SEC * 60);
        assert_eq!(limiter.try_acquire(t0 + SEC * 60), Ok(()));
        assert_eq!(limiter.in_flight(), 2);
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
                Err(Denied::InFlight) => unreachable!("admit releases every request"),
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
    fn the_margin_is_two_percent_and_at_least_fifteen_ms() {
        assert_eq!(DEFAULT_MARGIN, 0.02);
        assert_eq!(
            WindowLimiter::new(100, SEC * 10).effective_window(),
            ms(10_200)
        );
        assert_eq!(WindowLimiter::new(100, SEC).effective_window(), ms(1_020));
        assert_eq!(
            WindowLimiter::new(100, ms(500)).effective_window(),
            ms(500) + MIN_MARGIN
        );
        assert_eq!(
            WindowLimiter::new(100, SEC).margin(0.0).effective_window(),
            SEC
        );
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
        limiter.release(t0, t0 + ms(100));
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
        assert!(limiter.observe(t0, &headers(190, SEC * 10)));
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
        assert!(!limiter.observe(t0, &RateLimitHeaders::default()));
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
        // The same quota again is no change.
        assert!(!limiter.observe(t0, &headers(150, SEC)));
    }

    #[test]
    fn an_absurd_interval_header_is_clamped_not_overflowed() {
        let t0 = Instant::now();
        let mut limiter = WindowLimiter::new(1, SEC);
        assert!(limiter.observe(t0, &headers(1, Duration::from_millis(u64::MAX))));
        assert_eq!(limiter.quota(), RateLimit::custom(1, RateLimit::MAX_WINDOW));
        assert_eq!(admit(&mut limiter, t0), Ok(()));
        assert!(matches!(admit(&mut limiter, t0), Err(Denied::Wait(_))));
    }

    #[test]
    fn headers_asking_for_hours_of_waiting_are_unworkable() {
        let limiter = WindowLimiter::new(100, SEC * 10);
        let hour = UNWORKABLE_WINDOW;
        assert_eq!(limiter.unworkable(&headers(190, SEC * 10)), None);
        assert_eq!(
            limiter.unworkable(&headers(1, hour)),
            None,
            "an hour is still workable"
        );
        let long = limiter
            .unworkable(&headers(1, hour + SEC))
            .expect("over an hour");
        assert!(long.contains("3601000 ms"), "{long}");
        let zero = limiter.unworkable(&RateLimitHeaders {
            max: Some(0),
            ..RateLimitHeaders::default()
        });
        assert!(zero.expect("Max 0").contains("Max is 0"));
        let fixed = WindowLimiter::new(100, SEC * 10).adaptive(false);
        assert_eq!(
            fixed.unworkable(&headers(0, hour * 5)),
            None,
            "a fixed limit ignores headers"
        );
    }

    #[test]
    fn non_adaptive_keeps_its_quota() {
        let t0 = Instant::now();
        let mut limiter = WindowLimiter::new(100, SEC * 10).adaptive(false);
        assert!(!limiter.observe(t0, &headers(190, SEC)));
        assert_eq!(limiter.quota(), RateLimit::FREE_STARTER);
    }

    #[test]
    fn a_cap_is_lowered_by_headers_never_raised() {
        let t0 = Instant::now();
        let mut limiter = WindowLimiter::new(5, SEC).margin(0.0).capped();
        assert!(limiter.observe(t0, &headers(190, SEC * 10)));
        let starts = saturate(&mut limiter, t0, SEC * 10);
        assert_never_over(&starts, 5, SEC);
        assert_eq!(starts.len(), 50);
        // HubSpot allowing less wins.
        let mut limiter = WindowLimiter::new(100, SEC).margin(0.0).capped();
        assert!(limiter.observe(t0, &headers(10, SEC)));
        let starts = saturate(&mut limiter, t0, SEC * 10);
        assert_never_over(&starts, 10, SEC);
        assert_eq!(starts.len(), 100);
    }

    #[test]
    fn others_in_remaining_hold_a_client_to_its_share_and_spread_it() {
        let t0 = Instant::now();
        let mut limiter = WindowLimiter::new(40, SEC).margin(0.0);
        assert_eq!(limiter.try_acquire(t0), Ok(()));
        // HubSpot counted 40 with this one: 39 are others'.
        limiter.observe(
            t0,
            &RateLimitHeaders {
                remaining: Some(0),
                ..headers(40, SEC)
            },
        );
        limiter.release(t0, t0);
        // A share of one request per window.
        assert!(matches!(limiter.try_acquire(t0), Err(Denied::Wait(_))));
        assert_eq!(limiter.try_acquire(t0 + SEC), Ok(()));
        limiter.release(t0 + SEC, t0 + SEC);
        // The share stands while no newer reading comes.
        assert!(matches!(
            limiter.try_acquire(t0 + SEC + ms(500)),
            Err(Denied::Wait(_))
        ));
        // A shared budget accounts for everyone: the share is not applied.
        limiter.set_bound_by_others(false);
        assert_eq!(limiter.try_acquire(t0 + SEC + ms(500)), Ok(()));
    }

    #[test]
    fn a_refused_request_is_forgotten() {
        let t0 = Instant::now();
        let mut limiter = WindowLimiter::new(1, SEC).margin(0.0);
        assert_eq!(limiter.try_acquire(t0), Ok(()));
        assert_eq!(limiter.try_acquire(t0), Err(Denied::InFlight));
        limiter.forget(t0);
        assert_eq!(limiter.in_flight(), 0);
        assert_eq!(limiter.try_acquire(t0), Ok(()));
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
}
