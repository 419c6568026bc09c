//! `hubspot-contacts`: sync a CSV or JSONL file of contacts into HubSpot
//! through the batch APIs of the `hubspot-contacts-batch` SDK.
//!
//! ```text
//! file reader (CSV / JSONL, streaming) -> row -> SDK input builder -> SDK *_all
//!   -> report writer (per row: line number, key, outcome, error) + progress + summary
//! ```
//!
//! Pure logic lives in small modules ([`format`](mod@format), [`csv`], [`jsonl`],
//! [`convert`], [`plan`], [`report`], [`summary`],
//! [`target`]); [`source`] reads the file and [`run`] ties it together.

#![forbid(unsafe_code)]
#![warn(missing_docs, rust_2018_idioms)]

mod args;
mod convert;
mod csv;
mod format;
mod jsonl;
mod plan;
mod report;
mod row;
mod run;
mod source;
mod summary;
mod target;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Usage errors exit with 2 (clap's code), --help and --version with 0.
    let cli = args::Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    let code = match runtime {
        Ok(runtime) => match runtime.block_on(run::run(cli)) {
            Ok(code) => code,
            Err(message) => {
                eprintln!("hubspot-contacts: {message}");
                run::EXIT_USAGE
            }
        },
        Err(error) => {
            eprintln!("hubspot-contacts: cannot start the async runtime: {error}");
            run::EXIT_USAGE
        }
    };
    ExitCode::from(code)
}
