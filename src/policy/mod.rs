//! The transport policy's pure building blocks: which operations are
//! idempotent, what a response says about HubSpot's rate limits, and whether
//! and when to retry.
//!
//! Nothing in here performs I/O.

mod headers;
mod operation;
mod retry;

pub use headers::{
    HEADER_DAILY, HEADER_DAILY_REMAINING, HEADER_INTERVAL_MS, HEADER_MAX, HEADER_REMAINING,
    RateLimitHeaders, RateLimitPolicy, response_date, retry_after, retry_after_at,
};
pub use operation::Operation;
pub use retry::{
    AttemptOutcome, Decision, Jitter, ResponseSummary, RetryPolicy, RetryReason, StopReason,
    TransportFailure, decide, next_utc_midnight,
};
