//! The transport policy's pure building blocks: which operations are
//! idempotent, what a response says about HubSpot's rate limits, whether and
//! when to retry, and how fast requests may start.
//!
//! Nothing in here performs I/O. The decisions are functions of their inputs
//! (the clock and the random number are parameters), so every rule is
//! covered by unit tests in the same file, after the model of async-stripe's
//! `request_strategy`, in smithy-rs's vocabulary: *throttling* (429, 423),
//! *server* (5xx) and *transient* (timeouts, lost connections) errors are
//! retryable, *client* errors (other 4xx) are not, and nothing that may have
//! been applied is retried for a non-idempotent operation. The only async piece, [`RateLimiter`], is a thin shell
//! that sleeps on what the pure [`WindowLimiter`] decides.
//!
//! | module part | what it decides |
//! |---|---|
//! | [`Operation`], [`OPERATION_IDS`] | what each operationId of the document does; creates are not idempotent |
//! | [`RateLimitHeaders`], [`retry_after`], [`RateLimitPolicy`] | HubSpot's rate-limit signals in a response |
//! | [`decide`], [`RetryPolicy`] | retry after a delay, or stop and why |
//! | [`WindowLimiter`], [`RateLimiter`], [`RateLimit`] | when the next request may start |
//!
//! A caller's loop looks like this (without the I/O details):
//!
//! ```no_run
//! use std::time::Instant;
//! use hubspot_contacts_batch::policy::{
//!     decide, AttemptOutcome, Decision, Operation, RateLimiter, ResponseSummary, RetryPolicy,
//!     StopReason,
//! };
//! # async fn send() -> (reqwest::StatusCode, reqwest::header::HeaderMap, Vec<u8>) { unimplemented!() }
//! # async fn example(limiter: RateLimiter) -> Result<(), Box<dyn std::error::Error>> {
//! let policy = RetryPolicy::default();
//! let started = Instant::now();
//! for attempt in 1.. {
//!     let slot = limiter.acquire().await?;
//!     let (status, headers, body) = send().await;
//!     limiter.settle(slot); // every acquire is settled, or its slot stays taken
//!     limiter.observe(&headers);
//!     let outcome = AttemptOutcome::Response(ResponseSummary::from_response(status, &headers, &body));
//!     let jitter = 0.5; // e.g. fastrand::f64()
//!     match decide(&policy, Operation::BatchUpsert, &outcome, attempt, started.elapsed(), jitter) {
//!         Decision::Retry { after, .. } => tokio::time::sleep(after).await,
//!         Decision::Stop(StopReason::Success) => break,
//!         Decision::Stop(other) => return Err(format!("gave up: {other:?}").into()),
//!     }
//! }
//! # Ok(()) }
//! ```

mod headers;
mod limiter;
mod operation;
mod retry;

pub use headers::{
    HEADER_DAILY, HEADER_DAILY_REMAINING, HEADER_INTERVAL_MS, HEADER_MAX, HEADER_REMAINING,
    RateLimitHeaders, RateLimitPolicy, response_date, retry_after, retry_after_at,
};
pub use limiter::{
    DEFAULT_MARGIN, DailyLimitExhausted, Denied, MIN_MARGIN, ParseRateLimitError, RateLimit,
    RateLimiter, WindowLimiter,
};
pub use operation::{OPERATION_IDS, Operation};
pub use retry::{
    AttemptOutcome, Decision, Jitter, ResponseSummary, RetryPolicy, RetryReason, StopReason,
    TransportFailure, decide, next_utc_midnight,
};
