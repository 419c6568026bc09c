//! `hubspot-contacts`: sync a CSV or JSONL file of contacts into HubSpot
//! through the batch APIs of the `hubspot-contacts-batch` SDK.
//!
//! ```text
//! file reader (CSV / JSONL, streaming) -> row -> SDK input builder -> SDK *_all
//!   -> report journal (per row: sent, then outcome) + progress + summary
//! ```
//!
//! Pure logic lives in small modules ([`format`](mod@format), [`csv`], [`jsonl`],
//! [`convert`], [`plan`], [`job`], [`journal`], [`report`], [`resume`],
//! [`summary`], [`target`]); [`source`] reads the file, [`sink`] writes what
//! comes back, and [`run`] ties it together.

#![forbid(unsafe_code)]
#![warn(missing_docs, rust_2018_idioms)]

mod args;
mod budget;
mod console;
mod convert;
mod csv;
mod decode;
mod delimiter;
mod diagnostics;
mod encoding;
mod format;
mod identity;
mod input_args;
mod interrupt;
mod job;
mod journal;
mod jsonl;
mod lines;
mod plan;
mod preflight;
mod report;
mod resume;
mod row;
mod run;
mod sink;
mod source;
mod summary;
mod target;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Usage errors exit with 2 (clap's code), --help and --version with 0.
    let cli = args::Cli::parse();
    diagnostics::install(cli.verbose);
    let code = match job::Job::new(cli) {
        Ok(job) => start(job),
        Err(message) => {
            console::line(format!("hubspot-contacts: {message}"));
            run::EXIT_USAGE
        }
    };
    ExitCode::from(code)
}

/// Runs the job on a two-thread runtime and turns its end into an exit code.
fn start(job: job::Job) -> u8 {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(error) => {
            console::line(format!(
                "hubspot-contacts: cannot start the async runtime: {error}"
            ));
            return run::EXIT_USAGE;
        }
    };
    runtime.block_on(async {
        let interrupt = interrupt::Interrupt::install();
        match run::run(job, interrupt).await {
            Ok(code) => code,
            Err(error) => {
                console::line(format!("hubspot-contacts: {}", error.message()));
                error.exit_code()
            }
        }
    })
}
