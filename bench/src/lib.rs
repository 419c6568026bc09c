//! Shared code of the `hubspot-contacts-batch` benchmarks (`bench/benches/*.rs`).
//!
//! The benchmarks print figures and never pass or fail on time. Run them with
//! `cargo bench -p hubspot-contacts-bench` after building the release binaries
//! they drive (`cargo build --release -p hubspot-fake -p hubspot-contacts-cli`);
//! see `BENCHMARKS.md` at the repository root for what each one measures.
//!
//! The figure maths and parsers ([`figures`], [`parse`], [`openapi`]) are pure and
//! unit-tested; [`process`] and [`cpu`] do the I/O.

#![warn(missing_docs)]

pub mod cpu;
pub mod figures;
pub mod openapi;
pub mod parse;
pub mod process;
#[path = "../../tests/support/redis_server.rs"]
pub mod redis;
