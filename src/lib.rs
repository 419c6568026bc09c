#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, rust_2018_idioms, unreachable_pub)]

pub mod client;
pub mod error;
mod generated;
pub mod policy;

pub use client::{ClientBuilder, Transport};
pub use error::{ApiError, SdkError};
pub use generated::{Client, ClientInfo, Error, ResponseValue, builder, types};
