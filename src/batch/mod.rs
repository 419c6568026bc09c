//! Bulk writes and reads of any size: [`ContactsBatchExt`].
//!
//! Each helper takes any number of inputs, from an iterator or a
//! `Stream` (wrap it in [`InputStream`]), and:
//! - sends them in HubSpot-sized requests ([`MAX_INPUTS_PER_BATCH`], 50 for reads
//!   with property history, [`V1_DEFAULT_CONTACTS_PER_BATCH`] for the legacy
//!   batch), with at most [`DEFAULT_CONCURRENCY`] requests in flight;
//! - pulls inputs only as requests complete, so memory is bounded by
//!   concurrency x chunk size, not by the number of inputs;
//! - keeps two inputs with the same key (record id, email compared
//!   case-insensitively, or unique property value) out of one request, and
//!   sends the later one after the earlier one has been answered;
//! - gives every input an `objectWriteTraceId` unless it has one, so
//!   HubSpot's 207 answers map back to inputs, whatever the order of results;
//! - splits a request HubSpot refuses as a whole (400, 409 or 413) until the bad
//!   inputs are isolated, and delivers the rest; for the legacy batch, drops
//!   the contacts its 400 names and sends the rest again;
//! - reports one [`Outcome`] per input, in input order.
//!
//! ```no_run
//! use hubspot_contacts_batch::prelude::*;
//!
//! # async fn run(client: Client) -> Result<(), Box<dyn std::error::Error>> {
//! let inputs = (0..1_000).map(|n| Upsert::by_email(format!("user{n}@example.com")).set("firstname", "Ada"));
//! let report = client.upsert_all(inputs).concurrency(8).send().await?;
//! let counts = report.counts();
//! println!("{} created, {} updated, {} failed in {} requests",
//!     counts.created, counts.updated, counts.failed, report.stats.requests);
//! for problem in report.problems() {
//!     eprintln!("{problem}");
//! }
//! # Ok(()) }
//! ```

mod answer;
mod call;
mod deliver;
mod endpoint;
mod ext;
mod failure;
mod gate;
mod mapping;
mod operation;
mod ops;
mod outcome;
mod plan;
mod read_back;
mod report;
mod resolve;
mod run;
mod stats;

pub use call::{BatchCall, DEFAULT_CONCURRENCY, InputStream, IntoInputs};
pub use ext::ContactsBatchExt;
pub use failure::{ClientCategory, InputFailure};
pub use operation::BatchOperation;
pub(crate) use operation::PreparedInput;
pub use ops::{ArchiveAll, CreateAll, ReadAll, UpdateAll, UpsertAll, V1CreateOrUpdateAll};
pub use outcome::{InputOutcome, Outcome, OutcomeCounts};
pub use plan::RequestCounter;
pub use report::{AbortCause, BatchAborted, BatchError, BatchReport, BatchStats};
pub use run::OutcomeStream;

/// HubSpot's limit of inputs per v3 batch request ("Batch operations are
/// limited to 100 records at a time", Contacts guide).
pub const MAX_INPUTS_PER_BATCH: usize = 100;
/// The limit for batch reads with `propertiesWithHistory` (HubSpot answers 400
/// "The maximum number of inputs supported in a batch request for property
/// histories is 50").
pub const MAX_INPUTS_PER_HISTORY_READ: usize = 50;
/// The default size of a legacy v1 batch ("Performance is best when batch size
/// is limited to 100 contacts or fewer", legacy batch docs).
pub const V1_DEFAULT_CONTACTS_PER_BATCH: usize = 100;
/// The largest legacy v1 batch ("The batch size should not exceed 1000
/// contacts per request", legacy batch docs).
pub const V1_MAX_CONTACTS_PER_BATCH: usize = 1000;
