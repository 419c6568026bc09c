#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Request and network data never reach an unwrap; the library logs through `tracing`.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::print_stdout,
        clippy::print_stderr
    )
)]

mod catalogue;
mod faults;
mod limits;
mod oauth;
mod ops;
mod reply;
pub mod routes;
mod server;
mod stats;
mod store;
mod util;
mod wire;

pub use catalogue::{PropertyDef, PropertyKind, default_properties};
pub use faults::{FaultKind, FaultSpec, FaultSpecError, TIMEOUT_AFTER_HOLD};
pub use hubspot_rate_limit::{ParseRateLimitError, RateLimit};
pub use oauth::DEFAULT_ACCESS_TOKEN_TTL;
pub use reply::{MAX_INPUTS_PER_BATCH, MAX_INPUTS_WITH_HISTORY, V1_MAX_CONTACTS_PER_BATCH};
pub use server::{FakeHubSpot, FakeHubSpotBuilder, MAX_BODY_BYTES, StartError};
pub use stats::Stats;
pub use store::StoredContact;
