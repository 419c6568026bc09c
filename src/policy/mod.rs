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
//! been applied is retried for a non-idempotent operation. The only async piece,
//! the client's rate limiter (`limiter.rs`), is a thin shell that waits on
//! what the pure rolling window (`window.rs`) and daily budget (`daily.rs`)
//! decide.
//!
//! | module part | what it decides |
//! |---|---|
//! | `operation.rs` (crate-private) | what each operationId of the document does; creates are not idempotent |
//! | `headers.rs` (crate-private) | HubSpot's rate-limit signals in a response |
//! | `fate.rs` (crate-private) | what an attempt's result means for its inputs: applied, not, maybe, refused, fatal |
//! | `retry.rs`: [`RetryPolicy`], and the crate-private `decide` | retry after a delay, or stop and why |
//! | [`RateLimit`] (the `hubspot-rate-limit` crate) | the quota a client starts from, and its grammar (`100/10s`, `professional`, `off`) |
//! | `window.rs` (crate-private) | the rolling window: when the next request may start |
//! | `others.rs` (crate-private) | other clients' requests in HubSpot's window, read from `Remaining`, as this client's share of it |
//! | `shared.rs` + `shared_budget.lua` (crate-private, feature `redis`) | one rolling window for every worker of an app, in Redis |
//! | `daily.rs` (crate-private) | the daily budget: spent or not, and until when |
//! | `limiter.rs` (crate-private) | the async limiter every clone of a client shares; its permit releases a slot on drop |
//!
//!
//! What users configure is [`RateLimit`] and [`RetryPolicy`] (with its
//! [`Jitter`]); the rest is the crate's own machinery.

#[cfg(test)]
mod crowd;
mod daily;
mod fate;
mod headers;
mod limiter;
mod operation;
mod others;
mod retry;
#[cfg(feature = "redis")]
mod shared;
mod window;

pub(crate) use daily::DailyLimitExhausted;
pub(crate) use fate::{Fatal, Fate, NotApplied, fate};
pub(crate) use headers::{RateLimitPolicy, response_date};
pub use hubspot_rate_limit::{ParseRateLimitError, RateLimit};
pub(crate) use limiter::{RateLimiter, Refusal};
pub(crate) use operation::Operation;
pub(crate) use retry::{
    AttemptOutcome, Decision, ResponseSummary, RetryReason, StopReason, TransportFailure, decide,
};
pub use retry::{Jitter, RetryPolicy};
#[cfg(feature = "redis")]
pub(crate) use shared::{SharedBudget, redact};
pub(crate) use window::WindowLimiter;
