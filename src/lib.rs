#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, rust_2018_idioms, unreachable_pub)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)
)]

pub mod api_version;
pub mod batch;
mod builders;
pub mod catalogue;
pub mod client;
pub mod error;
mod exchange;
mod generated;
pub mod id_property;
pub mod policy;
pub mod properties;
mod stop;
pub mod token;

pub use api_version::{ApiVersion, UnknownApiVersion};
pub use batch::{BatchReport, ContactsBatchExt, InputOutcome, InputStream, Outcome};
pub use catalogue::Catalogue;
pub use client::ClientBuilder;
pub use error::{ApiError, SdkError};
pub use generated::{Client, ClientInfo, Error, ResponseValue, builder, types};
pub use id_property::{ContactKey, Create, InputError, Update, Upsert, V1Contact};
pub use properties::PropertyValue;
pub use token::TokenSource;

/// The client, the batch helpers and the input builders in one import, with
/// the `StreamExt` that reading [`stream`](batch::BatchCall::stream) needs.
pub mod prelude {
    pub use crate::{
        ApiVersion, Client, ContactKey, ContactsBatchExt, Create, InputStream, Outcome,
        PropertyValue, Update, Upsert, V1Contact,
    };
    pub use futures::StreamExt;
}
