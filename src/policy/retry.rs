//! The retry decision: a pure function from what happened to one attempt to
//! "retry after this long" or "stop, for this reason".
//!
//! Modelled on async-stripe's `request_strategy` (a pure decision covered by a
//! table of unit tests) with smithy-rs's vocabulary: *throttling* (429, 423),
//! *server* (5xx) and *transient* (timeouts, lost connections) errors are
//! retryable, *client* errors (other 4xx) are not, and nothing that may have
//! been applied is ever retried for a non-idempotent operation.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Days, NaiveTime, Utc};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use super::fate::{Fatal, Fate, MaybeApplied, NotApplied, fate};
use super::headers::{RateLimitHeaders, RateLimitPolicy, response_date, retry_after};
use super::operation::Operation;

/// How a failed attempt's delay is randomised (the retry decision takes the
/// random number as an argument, so the decision itself stays pure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Jitter {
    /// No randomness: always the full exponential delay.
    None,
    /// "Full jitter": a uniform delay in `[0, delay)`. Spreads retries the
    /// most but may retry almost at once.
    Full,
    /// "Equal jitter" (the default): `delay / 2` plus a uniform part in
    /// `[0, delay / 2)`. Keeps at least half the exponential delay, so a
    /// struggling server always gets some rest, while still spreading
    /// concurrent chunks apart.
    #[default]
    Equal,
}

/// The knobs of the retry decision. Build it from [`RetryPolicy::default`] or
/// [`RetryPolicy::none`] with the setters.
///
/// ```
/// use std::time::Duration;
/// use hubspot_contacts_batch::policy::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .max_attempts(4)
///     .max_elapsed(Duration::from_secs(30));
/// assert_ne!(policy, RetryPolicy::default());
/// assert_eq!(RetryPolicy::none(), RetryPolicy::default().max_attempts(1));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    max_attempts: u32,
    max_elapsed: Duration,
    initial_backoff: Duration,
    multiplier: f64,
    max_backoff: Duration,
    jitter: Jitter,
    ten_secondly_wait: Duration,
    secondly_wait: Duration,
    locked_wait: Duration,
}

impl Default for RetryPolicy {
    /// Six attempts within two minutes; backoff 500 ms × 2ⁿ capped at 30 s
    /// with equal jitter; 429 waits of 10 s (ten-secondly) or 1 s (secondly)
    /// when the response gives no better figure; 2 s after a 423.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            max_elapsed: Duration::from_secs(120),
            initial_backoff: Duration::from_millis(500),
            multiplier: 2.0,
            max_backoff: Duration::from_secs(30),
            jitter: Jitter::Equal,
            ten_secondly_wait: Duration::from_secs(10),
            secondly_wait: Duration::from_secs(1),
            locked_wait: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries: every attempt is the last
    /// (`max_attempts == 1`).
    pub fn none() -> Self {
        RetryPolicy::default().max_attempts(1)
    }

    /// Total attempts allowed, the first included (at least 1). Default 6.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Time budget from the start of the first attempt: no retry is scheduled
    /// that would start after it. Default 2 minutes.
    pub fn max_elapsed(mut self, elapsed: Duration) -> Self {
        self.max_elapsed = elapsed;
        self
    }

    /// Delay before the first retry of a server or transient error (before
    /// jitter). Default 500 ms.
    pub fn initial_backoff(mut self, delay: Duration) -> Self {
        self.initial_backoff = delay;
        self
    }

    /// Growth factor of the backoff per attempt (at least 1). Default 2.
    pub fn multiplier(mut self, factor: f64) -> Self {
        self.multiplier = if factor.is_finite() {
            factor.max(1.0)
        } else {
            1.0
        };
        self
    }

    /// Upper bound of one backoff delay (before jitter). Default 30 s.
    pub fn max_backoff(mut self, delay: Duration) -> Self {
        self.max_backoff = delay;
        self
    }

    /// How backoff delays are randomised. Default [`Jitter::Equal`].
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// Wait after a ten-secondly (or unidentified) 429 that carries neither
    /// `Retry-After` nor `X-HubSpot-RateLimit-Interval-Milliseconds`.
    /// Default 10 s, the length of HubSpot's rolling window.
    pub fn ten_secondly_wait(mut self, wait: Duration) -> Self {
        self.ten_secondly_wait = wait;
        self
    }

    /// Wait after a secondly 429 that carries neither `Retry-After` nor an
    /// interval header. Default 1 s.
    pub fn secondly_wait(mut self, wait: Duration) -> Self {
        self.secondly_wait = wait;
        self
    }

    /// Minimum wait after a 423 Locked. Default 2 s, as HubSpot's error
    /// documentation asks ("wait at least 2 seconds").
    pub fn locked_wait(mut self, wait: Duration) -> Self {
        self.locked_wait = wait;
        self
    }

    /// The backoff before the retry that follows attempt `attempt` (1-based),
    /// for a random number `jitter` in `[0, 1)`:
    /// `min(initial × multiplierⁿ⁻¹, max_backoff)`, then jittered.
    /// Out-of-range or NaN `jitter` values are clamped into `[0, 1)`.
    pub(crate) fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(1024);
        let factor = self.multiplier.powi(exponent as i32);
        let cap = self.max_backoff.as_nanos() as f64;
        // 0 × ∞ is NaN: a zero initial backoff stays zero.
        let raw = self.initial_backoff.as_nanos() as f64 * factor;
        let delay = if raw.is_nan() {
            Duration::ZERO
        } else {
            nanos(raw.min(cap))
        };
        let r = unit(jitter);
        match self.jitter {
            Jitter::None => delay,
            Jitter::Full => scale(delay, r),
            Jitter::Equal => delay / 2 + scale(delay / 2, r),
        }
    }
}

/// Clamps a random number into `[0, 1)`; NaN reads as 0.
fn unit(r: f64) -> f64 {
    if r.is_nan() {
        0.0
    } else {
        r.clamp(0.0, 1.0 - f64::EPSILON)
    }
}

/// A whole number of nanoseconds (saturating, NaN reads as 0).
fn nanos(n: f64) -> Duration {
    // `as` saturates float-to-int conversions and maps NaN to 0.
    Duration::from_nanos(n.floor() as u64)
}

/// `d × r` for `r` in `[0, 1)`, rounded down so the result stays below `d`.
fn scale(d: Duration, r: f64) -> Duration {
    nanos(d.as_nanos() as f64 * r)
}

/// A failure of the transport, classified by whether the request may have
/// reached HubSpot (smithy-rs: "errors that say whether the request was sent").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum TransportFailure {
    /// The request provably never reached HubSpot: DNS failure, connection
    /// refused, connect timeout, TLS handshake failure. Safe to retry for
    /// every operation, creates included.
    NotSent,
    /// The request was sent (or may have been) and no response came in time.
    TimedOut,
    /// The connection was reset or closed after the request was (or may have
    /// been) sent.
    ConnectionLost,
}

impl TransportFailure {
    /// Classifies a reqwest error: connect errors (which include connect
    /// timeouts and DNS failures) are [`NotSent`](Self::NotSent), other
    /// timeouts [`TimedOut`](Self::TimedOut), anything else
    /// [`ConnectionLost`](Self::ConnectionLost), the conservative answer for
    /// a request that may have left.
    pub(crate) fn from_reqwest(error: &reqwest::Error) -> TransportFailure {
        if error.is_connect() {
            TransportFailure::NotSent
        } else if error.is_timeout() {
            TransportFailure::TimedOut
        } else {
            TransportFailure::ConnectionLost
        }
    }
}

/// What the retry decision needs to know about a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ResponseSummary {
    /// The HTTP status.
    pub(crate) status: StatusCode,
    /// The `X-HubSpot-RateLimit-*` headers.
    pub(crate) rate_limit: RateLimitHeaders,
    /// The `Retry-After` header, as a wait.
    pub(crate) retry_after: Option<Duration>,
    /// For a 429, which limit was hit (from the body); `None` otherwise.
    pub(crate) policy: Option<RateLimitPolicy>,
    /// The response's `Date` header (the server's clock), used to estimate
    /// when a daily limit resets.
    pub(crate) date: Option<DateTime<Utc>>,
    /// Whether the client made this answer itself because HubSpot's
    /// rate-limit headers asked for an unworkable limit.
    pub(crate) unworkable_limit: bool,
    /// Whether the client made this answer itself because the request's
    /// batch run was stopped before it was sent.
    pub(crate) stopped: bool,
}

impl ResponseSummary {
    /// A response with only a status (no headers, no body hints).
    #[cfg(test)]
    pub(crate) fn status(status: StatusCode) -> Self {
        ResponseSummary {
            status,
            rate_limit: RateLimitHeaders::default(),
            retry_after: None,
            policy: None,
            date: None,
            unworkable_limit: false,
            stopped: false,
        }
    }

    /// Reads everything the decision needs from a response's status, headers
    /// and body. The body is only read for a 429 (to classify the limit);
    /// pass an empty slice when it is not at hand.
    pub(crate) fn from_response(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Self {
        ResponseSummary {
            status,
            rate_limit: RateLimitHeaders::from_headers(headers),
            retry_after: retry_after(headers),
            policy: (status == StatusCode::TOO_MANY_REQUESTS)
                .then(|| RateLimitPolicy::from_body(body)),
            date: response_date(headers),
            unworkable_limit: headers.contains_key(crate::exchange::UNWORKABLE_LIMIT_HEADER),
            stopped: headers.contains_key(crate::exchange::STOPPED_HEADER),
        }
    }
}

/// What happened to one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttemptOutcome {
    /// A response came back (any status).
    Response(ResponseSummary),
    /// No response: the transport failed.
    Transport(TransportFailure),
}

impl From<ResponseSummary> for AttemptOutcome {
    fn from(response: ResponseSummary) -> Self {
        AttemptOutcome::Response(response)
    }
}

impl From<TransportFailure> for AttemptOutcome {
    fn from(failure: TransportFailure) -> Self {
        AttemptOutcome::Transport(failure)
    }
}

/// Why an attempt is worth retrying (smithy-rs's retry kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum RetryReason {
    /// 429: a burst limit (ten-secondly, secondly or unidentified).
    Throttled(RateLimitPolicy),
    /// 423 Locked: HubSpot asks for at least 2 s between requests.
    Locked,
    /// 5xx on an idempotent operation.
    ServerError(StatusCode),
    /// A timeout or lost connection on an idempotent operation.
    Transient(TransportFailure),
    /// The request never left, so it is safe to send for any operation.
    NotSent,
}

impl fmt::Display for RetryReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetryReason::Throttled(policy) => write!(f, "rate limited (429, {policy:?})"),
            RetryReason::Locked => f.write_str("locked (423)"),
            RetryReason::ServerError(status) => write!(f, "server error ({status})"),
            RetryReason::Transient(TransportFailure::TimedOut) => f.write_str("timed out"),
            RetryReason::Transient(_) => f.write_str("connection lost"),
            RetryReason::NotSent => f.write_str("request not sent"),
        }
    }
}

/// Why the caller must stop retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopReason {
    /// A 2xx: done (a 207's per-input errors are the caller's business).
    Success,
    /// A status that retrying cannot fix: 400, 401, 403, 404, 409, any other
    /// 4xx but 423/429, and 1xx/3xx (which reqwest should never surface).
    NotRetryable(StatusCode),
    /// 429 `DAILY` (or an unidentified 429 whose headers show
    /// `X-HubSpot-RateLimit-Daily-Remaining: 0`): the account's daily budget
    /// is spent. `resets_at` is [`next_utc_midnight`] of the response's `Date`
    /// (an approximation, see there), `None` without a `Date` header.
    DailyLimit {
        /// Estimated reset time (next midnight UTC after the response).
        resets_at: Option<DateTime<Utc>>,
    },
    /// A non-idempotent operation (a create) whose request may have reached
    /// HubSpot: a 5xx, 423, timeout or lost connection. Sending it again
    /// could duplicate contacts, so the caller reports its inputs as
    /// unknown and reconciles them.
    MaybeApplied,
    /// The request's batch run was stopped before it was sent (the client's
    /// own answer).
    RunStopped,
    /// The attempt was retryable but `max_attempts` is spent.
    AttemptsExhausted(RetryReason),
    /// The attempt was retryable but the wait would end past `max_elapsed`.
    ElapsedExhausted(RetryReason),
}

/// The outcome of [`decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Send the request again after `after`.
    Retry {
        /// How long to wait before the next attempt.
        after: Duration,
        /// Why a retry is warranted.
        reason: RetryReason,
    },
    /// Do not send it again.
    Stop(StopReason),
}

/// Decides whether to retry an attempt. Pure: the same inputs always give
/// the same decision, and no clock or random source is read.
///
/// * `attempt`: the number of the attempt that just ended, 1-based (0 is read
///   as 1).
/// * `elapsed`: time since the first attempt started.
/// * `jitter`: a uniform random number in `[0, 1)` (e.g. `fastrand::f64()`);
///   values outside are clamped.
///
/// The rules, in order:
///
/// 1. **2xx** → `Stop(Success)`.
/// 2. **429 `DAILY`** → `Stop(DailyLimit)`: the daily budget resets at
///    midnight in the account's time zone (usage guidelines), so no retry
///    within `max_elapsed` can succeed. An unidentified 429 whose headers say
///    `Daily-Remaining: 0` counts as daily too.
/// 3. **429 ten-secondly / secondly / unidentified** → retry for *every*
///    operation, creates included: the limit is enforced before the request is
///    processed, so nothing was applied. Wait `Retry-After` when present
///    (undocumented by HubSpot, honoured when sent), else the
///    `X-HubSpot-RateLimit-Interval-Milliseconds` window (by then the rolling
///    window has fully rolled on), else 10 s for ten-secondly/unidentified and
///    1 s for secondly (HubSpot's own Node client uses the same figures).
/// 4. **423 Locked** → on idempotent operations retry after
///    `max(locked_wait, Retry-After)`, ≥ 2 s as HubSpot's error docs ask; on
///    creates `Stop(MaybeApplied)`, because HubSpot does not document whether
///    a locked write was partly applied and reconciliation is always safe.
/// 5. **Other 4xx** (400, 401, 403, 404, 409, ...) and 1xx/3xx →
///    `Stop(NotRetryable)`: the same request will fail the same way.
/// 6. **5xx** (500, 502, 503, 504, ...) → idempotent operations retry with
///    exponential backoff and jitter (at least `Retry-After` if a 503 sends
///    one); creates stop with `MaybeApplied`, since the server may have
///    created the contacts before failing.
/// 7. **Timeout / lost connection after sending** → as 5xx.
/// 8. **Not sent** (refused, DNS, connect timeout) → retry with backoff for
///    every operation: the request never reached HubSpot.
///
/// Every retry is bounded: when `attempt >= max_attempts` the decision is
/// `Stop(AttemptsExhausted)`, and when `elapsed + after > max_elapsed` it is
/// `Stop(ElapsedExhausted)`.
pub(crate) fn decide(
    policy: &RetryPolicy,
    op: Operation,
    outcome: &AttemptOutcome,
    attempt: u32,
    elapsed: Duration,
    jitter: f64,
) -> Decision {
    let attempt = attempt.max(1);
    let backoff = || policy.backoff(attempt, jitter);
    let (reason, after) = match fate(outcome) {
        Fate::Applied => return Decision::Stop(StopReason::Success),
        Fate::Fatal(Fatal::DailyLimit) => {
            let date = match outcome {
                AttemptOutcome::Response(response) => response.date,
                AttemptOutcome::Transport(_) => None,
            };
            return Decision::Stop(StopReason::DailyLimit {
                resets_at: date.map(next_utc_midnight),
            });
        }
        Fate::Fatal(fatal) => return Decision::Stop(StopReason::NotRetryable(fatal.status())),
        Fate::Refused(status) => return Decision::Stop(StopReason::NotRetryable(status)),
        Fate::NotApplied(NotApplied::Stopped) => return Decision::Stop(StopReason::RunStopped),
        Fate::NotApplied(NotApplied::NotSent) => (RetryReason::NotSent, backoff()),
        Fate::NotApplied(NotApplied::Throttled(limit)) => {
            let fallback = match limit {
                RateLimitPolicy::Secondly => policy.secondly_wait,
                _ => policy.ten_secondly_wait,
            };
            let (retry_after, interval) = match outcome {
                AttemptOutcome::Response(response) => {
                    (response.retry_after, response.rate_limit.interval)
                }
                AttemptOutcome::Transport(_) => (None, None),
            };
            (
                RetryReason::Throttled(limit),
                retry_after.or(interval).unwrap_or(fallback),
            )
        }
        Fate::MaybeApplied(_) if !op.is_idempotent() => {
            return Decision::Stop(StopReason::MaybeApplied);
        }
        Fate::MaybeApplied(why) => {
            let retry_after = match outcome {
                AttemptOutcome::Response(response) => response.retry_after,
                AttemptOutcome::Transport(_) => None,
            }
            .unwrap_or(Duration::ZERO);
            match why {
                MaybeApplied::Locked => (RetryReason::Locked, policy.locked_wait.max(retry_after)),
                MaybeApplied::ServerError(status) => {
                    (RetryReason::ServerError(status), backoff().max(retry_after))
                }
                MaybeApplied::Transport(failure) => (RetryReason::Transient(failure), backoff()),
            }
        }
    };
    if attempt >= policy.max_attempts {
        return Decision::Stop(StopReason::AttemptsExhausted(reason));
    }
    if elapsed.saturating_add(after) > policy.max_elapsed {
        return Decision::Stop(StopReason::ElapsedExhausted(reason));
    }
    Decision::Retry { after, reason }
}

/// The next midnight UTC strictly after `now`.
///
/// HubSpot resets the daily budget at midnight **in the account's time
/// zone** (usage guidelines), which a client authenticated by a token cannot
/// know. This is therefore an approximation: the true reset may be up to
/// 14 hours earlier or 12 hours later. Use it to tell a user roughly when to
/// come back, never to schedule work precisely.
pub(crate) fn next_utc_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    let tomorrow = now
        .date_naive()
        .checked_add_days(Days::new(1))
        .unwrap_or(chrono::NaiveDate::MAX);
    tomorrow.and_time(NaiveTime::MIN).and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const SEC: Duration = Duration::from_secs(1);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn status(code: u16) -> AttemptOutcome {
        let status = StatusCode::from_u16(code).expect("test status");
        let mut response = ResponseSummary::status(status);
        if code == 429 {
            response.policy = Some(RateLimitPolicy::Unknown);
        }
        AttemptOutcome::Response(response)
    }

    fn with(outcome: AttemptOutcome, edit: impl FnOnce(&mut ResponseSummary)) -> AttemptOutcome {
        match outcome {
            AttemptOutcome::Response(mut response) => {
                edit(&mut response);
                AttemptOutcome::Response(response)
            }
            other => other,
        }
    }

    fn throttled(policy: RateLimitPolicy) -> AttemptOutcome {
        with(status(429), |r| r.policy = Some(policy))
    }

    fn retry(after: Duration, reason: RetryReason) -> Decision {
        Decision::Retry { after, reason }
    }

    fn stop(reason: StopReason) -> Decision {
        Decision::Stop(reason)
    }

    fn code(n: u16) -> StatusCode {
        StatusCode::from_u16(n).expect("test status")
    }

    /// Every rule of [`decide`], one row each. Jitter is fixed at 0.5 with
    /// the default equal jitter, so attempt n's backoff is
    /// `0.75 × min(500 ms × 2ⁿ⁻¹, 30 s)`.
    #[test]
    fn decision_table() {
        use Operation::*;
        use RateLimitPolicy::{Daily, Secondly, TenSecondly, Unknown};
        use TransportFailure::{ConnectionLost, NotSent, TimedOut};

        let p = RetryPolicy::default();
        let noon = Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap();
        let midnight = Utc.with_ymd_and_hms(2025, 6, 2, 0, 0, 0).unwrap();
        let not_sent = AttemptOutcome::Transport(NotSent);
        let timed_out = AttemptOutcome::Transport(TimedOut);
        let lost = AttemptOutcome::Transport(ConnectionLost);
        let stopped = AttemptOutcome::Response(ResponseSummary {
            stopped: true,
            ..ResponseSummary::status(StatusCode::SERVICE_UNAVAILABLE)
        });

        #[rustfmt::skip]
        let rows: Vec<(&str, Operation, AttemptOutcome, u32, Duration, Decision)> = vec![
            // --- success
            ("200 upsert", BatchUpsert, status(200), 1, ms(0), stop(StopReason::Success)),
            // --- the run's stop kept it back: never retried, whatever the operation
            ("stopped upsert", BatchUpsert, stopped, 1, ms(0), stop(StopReason::RunStopped)),
            ("201 create", BatchCreate, status(201), 1, ms(0), stop(StopReason::Success)),
            ("207 partial", BatchUpdate, status(207), 3, ms(0), stop(StopReason::Success)),
            ("204 archive", BatchArchive, status(204), 1, ms(0), stop(StopReason::Success)),
            // success even when the budget is spent: the request went through
            ("200 at last attempt", BatchRead, status(200), 6, SEC * 500, stop(StopReason::Success)),

            // --- never retried client errors, for any operation
            ("400", BatchUpsert, status(400), 1, ms(0), stop(StopReason::NotRetryable(code(400)))),
            ("401", BatchRead, status(401), 1, ms(0), stop(StopReason::NotRetryable(code(401)))),
            ("403", BatchArchive, status(403), 1, ms(0), stop(StopReason::NotRetryable(code(403)))),
            ("404", V1UpdateContact, status(404), 1, ms(0), stop(StopReason::NotRetryable(code(404)))),
            ("409 create", BatchCreate, status(409), 1, ms(0), stop(StopReason::NotRetryable(code(409)))),
            ("409 v1 create", V1CreateContact, status(409), 1, ms(0), stop(StopReason::NotRetryable(code(409)))),
            ("413", V1BatchCreateOrUpdate, status(413), 1, ms(0), stop(StopReason::NotRetryable(code(413)))),
            ("422", BatchUpdate, status(422), 1, ms(0), stop(StopReason::NotRetryable(code(422)))),
            ("408 is a client error too", BatchUpdate, status(408), 1, ms(0), stop(StopReason::NotRetryable(code(408)))),
            ("304", BatchRead, status(304), 1, ms(0), stop(StopReason::NotRetryable(code(304)))),

            // --- 429 daily: never retried, reset estimated from Date
            ("429 daily", BatchUpsert, throttled(Daily), 1, ms(0), stop(StopReason::DailyLimit { resets_at: None })),
            ("429 daily with Date", BatchCreate, with(throttled(Daily), |r| r.date = Some(noon)), 1, ms(0),
                stop(StopReason::DailyLimit { resets_at: Some(midnight) })),
            ("429 daily ignores Retry-After", BatchRead, with(throttled(Daily), |r| r.retry_after = Some(SEC)), 1, ms(0),
                stop(StopReason::DailyLimit { resets_at: None })),
            ("429 unknown + Daily-Remaining 0", BatchRead,
                with(status(429), |r| r.rate_limit.daily_remaining = Some(0)), 1, ms(0),
                stop(StopReason::DailyLimit { resets_at: None })),
            ("429 missing policy + Daily-Remaining 0", BatchRead,
                with(status(429), |r| { r.policy = None; r.rate_limit.daily_remaining = Some(0) }), 1, ms(0),
                stop(StopReason::DailyLimit { resets_at: None })),

            // --- 429 burst: Retry-After, else interval, else per-policy default
            ("429 ten-secondly bare", BatchUpsert, throttled(TenSecondly), 1, ms(0), retry(SEC * 10, RetryReason::Throttled(TenSecondly))),
            ("429 secondly bare", BatchRead, throttled(Secondly), 1, ms(0), retry(SEC, RetryReason::Throttled(Secondly))),
            ("429 unknown bare", BatchUpdate, throttled(Unknown), 1, ms(0), retry(SEC * 10, RetryReason::Throttled(Unknown))),
            ("429 interval header", BatchUpsert,
                with(throttled(TenSecondly), |r| r.rate_limit.interval = Some(SEC)), 1, ms(0),
                retry(SEC, RetryReason::Throttled(TenSecondly))),
            ("429 Retry-After beats interval", BatchUpsert,
                with(throttled(TenSecondly), |r| { r.rate_limit.interval = Some(SEC * 10); r.retry_after = Some(SEC * 3) }), 1, ms(0),
                retry(SEC * 3, RetryReason::Throttled(TenSecondly))),
            ("429 Retry-After 0", BatchUpsert, with(throttled(Secondly), |r| r.retry_after = Some(ms(0))), 1, ms(0),
                retry(ms(0), RetryReason::Throttled(Secondly))),
            ("429 create is safe", BatchCreate, throttled(TenSecondly), 1, ms(0), retry(SEC * 10, RetryReason::Throttled(TenSecondly))),
            ("429 v1 create is safe", V1CreateContact, throttled(Secondly), 2, ms(0), retry(SEC, RetryReason::Throttled(Secondly))),
            ("429 attempts spent", BatchUpsert, throttled(TenSecondly), 6, ms(0),
                stop(StopReason::AttemptsExhausted(RetryReason::Throttled(TenSecondly)))),
            ("429 wait past budget", BatchUpsert, throttled(TenSecondly), 2, SEC * 111,
                stop(StopReason::ElapsedExhausted(RetryReason::Throttled(TenSecondly)))),
            ("429 wait exactly to budget", BatchUpsert, throttled(TenSecondly), 2, SEC * 110,
                retry(SEC * 10, RetryReason::Throttled(TenSecondly))),
            ("429 huge Retry-After", BatchUpsert, with(throttled(TenSecondly), |r| r.retry_after = Some(SEC * 3600)), 1, ms(0),
                stop(StopReason::ElapsedExhausted(RetryReason::Throttled(TenSecondly)))),

            // --- 423 Locked: >= 2 s on idempotent ops, reconcile on creates
            ("423 update", BatchUpdate, status(423), 1, ms(0), retry(SEC * 2, RetryReason::Locked)),
            ("423 Retry-After longer", BatchUpsert, with(status(423), |r| r.retry_after = Some(SEC * 5)), 1, ms(0),
                retry(SEC * 5, RetryReason::Locked)),
            ("423 Retry-After shorter", BatchUpsert, with(status(423), |r| r.retry_after = Some(SEC)), 1, ms(0),
                retry(SEC * 2, RetryReason::Locked)),
            ("423 create", BatchCreate, status(423), 1, ms(0), stop(StopReason::MaybeApplied)),
            ("423 attempts spent", BatchRead, status(423), 6, ms(0), stop(StopReason::AttemptsExhausted(RetryReason::Locked))),

            // --- 5xx: backoff on idempotent ops, MaybeApplied on creates
            ("500 upsert #1", BatchUpsert, status(500), 1, ms(0), retry(ms(375), RetryReason::ServerError(code(500)))),
            ("502 update #2", BatchUpdate, status(502), 2, ms(0), retry(ms(750), RetryReason::ServerError(code(502)))),
            ("503 read #3", BatchRead, status(503), 3, ms(0), retry(ms(1500), RetryReason::ServerError(code(503)))),
            ("504 archive #4", BatchArchive, status(504), 4, ms(0), retry(ms(3000), RetryReason::ServerError(code(504)))),
            ("500 v1 batch #5", V1BatchCreateOrUpdate, status(500), 5, ms(0), retry(ms(6000), RetryReason::ServerError(code(500)))),
            ("503 v1 update", V1UpdateContact, status(503), 1, ms(0), retry(ms(375), RetryReason::ServerError(code(503)))),
            ("503 Retry-After longer", BatchUpsert, with(status(503), |r| r.retry_after = Some(SEC * 4)), 1, ms(0),
                retry(SEC * 4, RetryReason::ServerError(code(503)))),
            ("500 attempts spent", BatchUpsert, status(500), 6, ms(0),
                stop(StopReason::AttemptsExhausted(RetryReason::ServerError(code(500))))),
            ("500 elapsed spent", BatchUpsert, status(500), 2, SEC * 120,
                stop(StopReason::ElapsedExhausted(RetryReason::ServerError(code(500))))),
            ("500 create", BatchCreate, status(500), 1, ms(0), stop(StopReason::MaybeApplied)),
            ("502 create", BatchCreate, status(502), 1, ms(0), stop(StopReason::MaybeApplied)),
            ("503 v1 create", V1CreateContact, status(503), 1, ms(0), stop(StopReason::MaybeApplied)),
            ("504 v1 create", V1CreateContact, status(504), 1, ms(0), stop(StopReason::MaybeApplied)),
            ("500 create at last attempt", BatchCreate, status(500), 6, ms(0), stop(StopReason::MaybeApplied)),

            // --- transport failures after sending: as 5xx
            ("timeout upsert", BatchUpsert, timed_out, 1, ms(0), retry(ms(375), RetryReason::Transient(TimedOut))),
            ("reset read", BatchRead, lost, 2, ms(0), retry(ms(750), RetryReason::Transient(ConnectionLost))),
            ("reset v1 batch", V1BatchCreateOrUpdate, lost, 1, ms(0), retry(ms(375), RetryReason::Transient(ConnectionLost))),
            ("timeout create", BatchCreate, timed_out, 1, ms(0), stop(StopReason::MaybeApplied)),
            ("reset create", BatchCreate, lost, 1, ms(0), stop(StopReason::MaybeApplied)),
            ("timeout v1 create", V1CreateContact, timed_out, 1, ms(0), stop(StopReason::MaybeApplied)),
            ("reset v1 create", V1CreateContact, lost, 1, ms(0), stop(StopReason::MaybeApplied)),
            ("timeout attempts spent", BatchArchive, timed_out, 6, ms(0),
                stop(StopReason::AttemptsExhausted(RetryReason::Transient(TimedOut)))),

            // --- not sent: retry for every operation
            ("not sent create", BatchCreate, not_sent, 1, ms(0), retry(ms(375), RetryReason::NotSent)),
            ("not sent v1 create", V1CreateContact, not_sent, 3, ms(0), retry(ms(1500), RetryReason::NotSent)),
            ("not sent upsert", BatchUpsert, not_sent, 1, ms(0), retry(ms(375), RetryReason::NotSent)),
            ("not sent attempts spent", BatchCreate, not_sent, 6, ms(0), stop(StopReason::AttemptsExhausted(RetryReason::NotSent))),
            ("not sent elapsed spent", BatchCreate, not_sent, 1, SEC * 120, stop(StopReason::ElapsedExhausted(RetryReason::NotSent))),

            // --- attempt 0 reads as attempt 1
            ("attempt 0", BatchUpsert, status(500), 0, ms(0), retry(ms(375), RetryReason::ServerError(code(500)))),
        ];

        let mut failures = Vec::new();
        for (name, op, outcome, attempt, elapsed, expected) in &rows {
            let got = decide(&p, *op, outcome, *attempt, *elapsed, 0.5);
            if got != *expected {
                failures.push(format!("{name}: expected {expected:?}, got {got:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn none_policy_never_retries_but_keeps_reasons() {
        let p = RetryPolicy::none();
        let cases = [
            (
                status(500),
                stop(StopReason::AttemptsExhausted(RetryReason::ServerError(
                    code(500),
                ))),
            ),
            (
                AttemptOutcome::Transport(TransportFailure::NotSent),
                stop(StopReason::AttemptsExhausted(RetryReason::NotSent)),
            ),
            (status(404), stop(StopReason::NotRetryable(code(404)))),
            (status(200), stop(StopReason::Success)),
        ];
        for (outcome, expected) in cases {
            assert_eq!(
                decide(&p, Operation::BatchUpsert, &outcome, 1, ms(0), 0.3),
                expected
            );
        }
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let samples = [
            0.0,
            0.1,
            0.5,
            0.999_999,
            1.0,
            7.0,
            -3.0,
            f64::NAN,
            f64::INFINITY,
        ];
        for attempt in 1..=12 {
            let base = RetryPolicy::default()
                .jitter(Jitter::None)
                .backoff(attempt, 0.0);
            for r in samples {
                let full = RetryPolicy::default()
                    .jitter(Jitter::Full)
                    .backoff(attempt, r);
                assert!(full < base || base.is_zero(), "full {full:?} vs {base:?}");
                let equal = RetryPolicy::default()
                    .jitter(Jitter::Equal)
                    .backoff(attempt, r);
                assert!(
                    equal >= base / 2 && equal < base,
                    "equal {equal:?} vs {base:?}"
                );
                let none = RetryPolicy::default()
                    .jitter(Jitter::None)
                    .backoff(attempt, r);
                assert_eq!(none, base);
            }
        }
        // The random number drives the delay: 0 gives the floor.
        let p = RetryPolicy::default();
        assert_eq!(
            p.clone().jitter(Jitter::Full).backoff(3, 0.0),
            Duration::ZERO
        );
        assert_eq!(p.backoff(3, 0.0), SEC);
    }

    #[test]
    fn backoff_is_monotone_and_capped() {
        let p = RetryPolicy::default().jitter(Jitter::None);
        let delays: Vec<_> = (1..=40).map(|n| p.backoff(n, 0.5)).collect();
        assert_eq!(&delays[..4], &[ms(500), SEC, SEC * 2, SEC * 4]);
        assert!(delays.windows(2).all(|w| w[0] <= w[1]), "{delays:?}");
        assert!(delays.iter().all(|d| *d <= SEC * 30));
        assert_eq!(delays[39], SEC * 30);
        assert_eq!(p.backoff(u32::MAX, 0.5), SEC * 30);

        let custom = RetryPolicy::default()
            .jitter(Jitter::None)
            .initial_backoff(ms(100))
            .multiplier(3.0)
            .max_backoff(SEC * 2);
        let delays: Vec<_> = (1..=5).map(|n| custom.backoff(n, 0.0)).collect();
        assert_eq!(delays, [ms(100), ms(300), ms(900), ms(2000), ms(2000)]);
        // A nonsensical multiplier means constant backoff, not a panic.
        let flat = RetryPolicy::default()
            .jitter(Jitter::None)
            .multiplier(f64::NAN);
        assert_eq!(flat.backoff(10, 0.0), ms(500));
    }

    #[test]
    fn retry_after_beats_the_interval_and_the_default() {
        let p = RetryPolicy::default();
        let mut response = ResponseSummary::status(StatusCode::TOO_MANY_REQUESTS);
        response.policy = Some(RateLimitPolicy::TenSecondly);
        response.rate_limit.interval = Some(SEC * 10);
        response.retry_after = Some(ms(1500));
        let decision = decide(&p, Operation::BatchUpsert, &response.into(), 1, ms(0), 0.9);
        assert_eq!(
            decision,
            retry(
                ms(1500),
                RetryReason::Throttled(RateLimitPolicy::TenSecondly)
            )
        );
        // 429 waits are not jittered: the limiter spreads the callers out.
        let again = decide(&p, Operation::BatchUpsert, &response.into(), 1, ms(0), 0.1);
        assert_eq!(decision, again);
    }

    #[test]
    fn summary_from_a_real_response_with_garbage_headers() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "later".parse().expect("header"));
        headers.insert("x-hubspot-ratelimit-max", "lots".parse().expect("header"));
        headers.insert(
            "x-hubspot-ratelimit-interval-milliseconds",
            "1000".parse().expect("header"),
        );
        let body = br#"{"policyName":"SECONDLY"}"#;
        let summary = ResponseSummary::from_response(StatusCode::TOO_MANY_REQUESTS, &headers, body);
        assert_eq!(summary.retry_after, None);
        assert_eq!(summary.rate_limit.max, None);
        assert_eq!(summary.policy, Some(RateLimitPolicy::Secondly));
        assert_eq!(
            decide(
                &RetryPolicy::default(),
                Operation::BatchCreate,
                &summary.into(),
                1,
                ms(0),
                0.5
            ),
            retry(SEC, RetryReason::Throttled(RateLimitPolicy::Secondly))
        );
        // The body is only classified for 429s.
        let ok = ResponseSummary::from_response(StatusCode::OK, &headers, body);
        assert_eq!(ok.policy, None);
    }

    #[test]
    fn next_midnight_is_strictly_after() {
        let at_midnight = Utc.with_ymd_and_hms(2024, 12, 31, 0, 0, 0).unwrap();
        assert_eq!(
            next_utc_midnight(at_midnight),
            Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
        );
        let leap = Utc.with_ymd_and_hms(2024, 2, 28, 23, 59, 59).unwrap();
        assert_eq!(
            next_utc_midnight(leap),
            Utc.with_ymd_and_hms(2024, 2, 29, 0, 0, 0).unwrap()
        );
    }

    #[test]
    fn retry_reason_display() {
        assert_eq!(
            RetryReason::ServerError(code(503)).to_string(),
            "server error (503 Service Unavailable)"
        );
        assert_eq!(RetryReason::NotSent.to_string(), "request not sent");
    }
}
