//! The command line: subcommands and flags (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use hubspot_contacts_batch::{ApiVersion, policy::RateLimit};

use crate::format::Format;

const AFTER_HELP: &str = "\
Exit codes:
  0  every row succeeded (or, with --dry-run, every row is valid)
  1  some rows failed or ended unknown (see the summary and --report)
  2  usage or configuration error: bad flags, unreadable file, missing or
     empty token, part of an OAuth app's three variables, a --report that
     cannot be resumed
  3  the run stopped: HubSpot refused the token or its scopes, the daily API
     budget is spent, or HubSpot could not be reached; the first line of the
     summary says which and what to do, the rows not sent are reported as
     not_sent (if the preflight's read is what HubSpot refused, nothing was
     written and no report was started)
  4  the report or the output could not be written (disk full, say); the
     rows already settled are in the report up to that point
  130  interrupted (Ctrl-C or SIGTERM): nothing more was sent, the requests
     already sent were settled and reported, rows held back are not_sent;
     re-run with --resume to continue

Environment:
  HUBSPOT_TOKEN     the access token: a private app's or a service key (or
                    --token-file; never a command-line argument)
  HUBSPOT_CLIENT_ID, HUBSPOT_CLIENT_SECRET, HUBSPOT_REFRESH_TOKEN
                    an OAuth app, when HUBSPOT_TOKEN is not set: all three
                    together; access tokens are fetched from
                    /oauth/2026-03/token and refreshed before they expire
                    and once after a 401; a refresh HubSpot refuses stops the
                    run (exit 3) saying to re-authorise the app
  HUBSPOT_BASE_URL  the API base URL (or --base-url; default https://api.hubapi.com)
  HUBSPOT_API_VERSION  the API version (or --api-version; default 2026-09)
  HUBSPOT_SHARED_BUDGET  the Redis of a rate-limit budget shared by the
                    workers of one app (or --shared-budget)

With neither credentials nor a base URL, an in-process hubspot-fake is started
and the run goes there; the closing lines say how many contacts it now holds.";

/// Sync a CSV or JSONL file of contacts into HubSpot through the batch APIs.
#[derive(Debug, Parser)]
#[command(name = "hubspot-contacts", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Diagnostics on stderr: -v for the SDK's decisions (retries, waits),
    /// -vv for every request, -vvv for everything. RUST_LOG (such as
    /// `hubspot_contacts_batch=debug`) takes precedence. Tokens are never logged.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// What to do with the rows.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or update contacts by email or another unique property (batch upsert at --api-version).
    #[command(after_help = AFTER_HELP)]
    Upsert(UpsertArgs),
    /// Create contacts; every column is a property (batch create at --api-version).
    #[command(after_help = AFTER_HELP)]
    Create(CreateArgs),
    /// Update contacts by record id or a unique custom property (batch update at --api-version).
    #[command(after_help = AFTER_HELP)]
    Update(KeyedArgs),
    /// Archive contacts by record id (batch archive at --api-version).
    #[command(after_help = AFTER_HELP)]
    Archive(ArchiveArgs),
    /// Read contacts by record id or a unique property; writes JSONL (batch read at --api-version).
    #[command(after_help = AFTER_HELP)]
    Read(ReadArgs),
    /// Create or update contacts by email, or update by vid (legacy v1 batch).
    #[command(name = "v1-batch", after_help = AFTER_HELP)]
    V1Batch(V1Args),
}

/// Flags every subcommand takes.
#[derive(Debug, Args)]
pub struct Common {
    /// The CSV (header row = property names) or JSONL (one flat object per line)
    /// file; `-` reads standard input (then --format is needed).
    pub file: PathBuf,
    /// The input format; by default from the file's extension (.csv, .jsonl, .ndjson).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// The API base URL (else HUBSPOT_BASE_URL, else HubSpot's api.hubapi.com).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// HubSpot's API version: v3, or a dated version such as 2026-03 or
    /// 2026-09. Default: the newest dated version (2026-09), which HubSpot
    /// tells new integrations to use; v3 loses support in September 2027.
    /// From 2026-09 on HubSpot refuses creates that lack a property an
    /// admin made required. v1-batch always uses the legacy v1 API.
    #[arg(long, value_name = "VERSION", env = "HUBSPOT_API_VERSION")]
    pub api_version: Option<ApiVersion>,
    /// Read the access token from this file instead of HUBSPOT_TOKEN.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Inputs per request: 1-100 for v3 (default 100), 1-1000 for v1-batch (default 100).
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,
    /// A cap on the request rate: a HubSpot plan (free, starter,
    /// professional, enterprise, increase), MAX/WINDOW such as 100/10s, or
    /// off. HubSpot's rate-limit headers can lower the rate below it, never
    /// raise it above. Default: start at free (100/10s) and follow the
    /// limits HubSpot reports; off against the embedded fake.
    #[arg(long, value_name = "PLAN|MAX/WINDOW")]
    pub rate_limit: Option<RateLimit>,
    #[command(flatten)]
    pub budget: crate::budget::Budget,
    /// Write the report to this file: a journal in JSON Lines. A header line
    /// (command, file and its SHA-256, API version, target, start time), then
    /// for each row a `sent` line before its request goes out and a line with
    /// its outcome (row, line, key, outcome, id, error) once settled. Every
    /// line is flushed as it is written, so a killed run leaves a readable
    /// report that --resume continues.
    #[arg(long, value_name = "FILE.jsonl")]
    pub report: Option<PathBuf>,
    /// Continue the run that --report records: rows with an outcome are
    /// skipped, rows left in flight are read back by key first (a create
    /// without an email is reported unknown, never sent twice), rows not
    /// sent are sent. The command, key, API version, target and file must be
    /// those of the earlier run; the report is appended to.
    #[arg(long, requires = "report", conflicts_with = "dry_run")]
    pub resume: bool,
    /// Read and check the file, print the plan (rows, valid, invalid,
    /// requests) and write nothing: only the preflight's read of the
    /// portal's properties is sent.
    #[arg(long)]
    pub dry_run: bool,
    /// Skip the preflight: by default, writes start by reading the portal's
    /// contact properties once; a column that is no writable property stops
    /// the run before any write (exit 2), naming the closest property, and a
    /// value its property's type refuses fails its row, never sent.
    #[arg(long)]
    pub no_preflight: bool,
    /// Send the column (or JSONL key) COLUMN as the property PROPERTY
    /// (repeatable; a column goes to one property, and two columns never to
    /// the same one). Without it a column maps to the property of that
    /// internal name in any case, or of that label (`First Name` is
    /// `firstname`).
    #[arg(long = "map", value_name = "COLUMN=PROPERTY", value_parser = crate::preflight::parse_map)]
    pub map: Vec<(String, String)>,
    /// No progress bar and no summary; only errors (and the notice that the
    /// embedded hubspot-fake is the target).
    #[arg(short, long)]
    pub quiet: bool,
    /// How to read the file: --delimiter, --encoding, --max-line-bytes.
    #[command(flatten)]
    pub input: crate::input_args::InputArgs,
}

/// `upsert`'s flags.
#[derive(Debug, Args)]
pub struct UpsertArgs {
    /// The unique property (and column) that identifies each contact.
    #[arg(long, value_name = "PROPERTY", default_value = "email")]
    pub id_property: String,
    #[command(flatten)]
    pub common: Common,
}

/// `create`'s flags.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Do not read HubSpot back (by email) to settle creates whose fate is
    /// unknown; they are reported unknown.
    #[arg(long)]
    pub no_reconcile: bool,
    #[command(flatten)]
    pub common: Common,
}

/// Flags of the commands keyed by record id or a unique property.
#[derive(Debug, Args)]
pub struct KeyedArgs {
    /// The column holding record ids (default `id`).
    #[arg(long, value_name = "COLUMN", conflicts_with = "id_property")]
    pub id_column: Option<String>,
    /// Key by this unique property (and column) instead of record ids.
    #[arg(long, value_name = "PROPERTY")]
    pub id_property: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

/// `archive`'s flags.
#[derive(Debug, Args)]
pub struct ArchiveArgs {
    /// The column holding record ids.
    #[arg(long, value_name = "COLUMN", default_value = "id")]
    pub id_column: String,
    #[command(flatten)]
    pub common: Common,
}

/// `read`'s flags.
#[derive(Debug, Args)]
pub struct ReadArgs {
    #[command(flatten)]
    pub keyed: KeyedArgs,
    /// The properties to return (comma-separated; HubSpot's defaults if none).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub properties: Vec<String>,
    /// Write the contacts (JSONL) here instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `v1-batch`'s flags.
#[derive(Debug, Args)]
pub struct V1Args {
    /// Update by the vids (record ids) in this column instead of by email.
    #[arg(long, value_name = "COLUMN")]
    pub vid_column: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_documents_the_exit_codes() {
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("Exit codes:"), "{help}");
    }
}
