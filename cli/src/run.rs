//! One run: resolve the job, read the rows, send them through the SDK, write
//! the report, print the summary. The only module that ties I/O together.

use std::{
    collections::VecDeque,
    fs::File,
    io::{BufWriter, IsTerminal, Write},
    path::PathBuf,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures::{StreamExt, stream::BoxStream};
use hubspot_contacts_batch::{
    ApiVersion, Client, ContactsBatchExt, InputOutcome, InputStream, Outcome, TokenSource,
    batch::{
        BatchCall, BatchOperation, ClientCategory, MAX_INPUTS_PER_BATCH, OutcomeCounts,
        OutcomeStream, V1_DEFAULT_CONTACTS_PER_BATCH, V1_MAX_CONTACTS_PER_BATCH,
    },
    policy::RateLimit,
};
use hubspot_fake::FakeHubSpot;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc;

use crate::{
    args::{Cli, Command, Common, KeyedArgs},
    convert::{self, Key},
    format::Format,
    plan::Planner,
    report::{self, ReportWriter},
    row::{Fields, RowError},
    source::{self, Item},
    summary::{self, Summary},
    target::{self, Target},
};

/// Exit code: every row succeeded.
pub const EXIT_OK: u8 = 0;
/// Exit code: some rows failed or ended unknown.
pub const EXIT_ROWS_FAILED: u8 = 1;
/// Exit code: usage or configuration error.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: the run stopped because nothing more could succeed (the token
/// or its scopes refused, the daily budget spent).
pub const EXIT_ABORTED: u8 = 3;

/// Problem rows printed on stderr at most; the report has them all.
const MAX_PROBLEMS_SHOWN: u64 = 10;
/// The token given to the embedded fake, which accepts any.
const EMBEDDED_TOKEN: &str = "embedded-hubspot-fake";

/// The SDK operation a subcommand runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// v3 batch upsert.
    Upsert,
    /// v3 batch create.
    Create,
    /// v3 batch update.
    Update,
    /// v3 batch archive.
    Archive,
    /// v3 batch read.
    Read,
    /// Legacy v1 batch create-or-update.
    V1,
}

impl Op {
    /// The subcommand's name.
    pub fn name(self) -> &'static str {
        match self {
            Op::Upsert => "upsert",
            Op::Create => "create",
            Op::Update => "update",
            Op::Archive => "archive",
            Op::Read => "read",
            Op::V1 => "v1-batch",
        }
    }

    /// Checks that a row can become this operation's input.
    fn check(self, key: &Key, fields: Fields) -> Result<(), RowError> {
        match self {
            Op::Upsert => key.upsert(fields).map(drop),
            Op::Create => {
                convert::create(fields);
                Ok(())
            }
            Op::Update => key.update(fields).map(drop),
            Op::Archive | Op::Read => key.key_only(fields).map(drop),
            Op::V1 => key.v1(fields).map(drop),
        }
    }
}

/// A subcommand, checked and resolved.
#[derive(Debug)]
pub struct Job {
    /// The operation.
    pub op: Op,
    /// What identifies each row's contact.
    pub key: Key,
    /// Inputs per request.
    pub batch_size: usize,
    /// `read`: the properties to return.
    pub properties: Vec<String>,
    /// `read`: where the contacts go (standard output if `None`).
    pub output: Option<PathBuf>,
    /// The flags every subcommand has.
    pub common: Common,
}

impl Job {
    /// Checks a parsed command line. Pure: the errors are usage errors.
    pub fn new(cli: Cli) -> Result<Job, String> {
        let (op, key, common, properties, output) = match cli.command {
            Command::Upsert(args) => {
                if args.id_property == "hs_object_id" {
                    return Err("upsert needs email or a unique property as its key, not record ids; use `update --id-column`".into());
                }
                let key = property_key(&args.id_property)?;
                (Op::Upsert, key, args.common, Vec::new(), None)
            }
            Command::Create(args) => (Op::Create, Key::None, args.common, Vec::new(), None),
            Command::Update(args) => {
                if args
                    .id_property
                    .as_deref()
                    .is_some_and(|p| p.eq_ignore_ascii_case("email"))
                {
                    return Err("HubSpot cannot batch-update contacts by email; use `upsert` (keyed by email), or `update --id-column` with record ids".into());
                }
                let (key, common) = keyed(args)?;
                (Op::Update, key, common, Vec::new(), None)
            }
            Command::Archive(args) => (
                Op::Archive,
                Key::RecordId {
                    column: args.id_column,
                },
                args.common,
                Vec::new(),
                None,
            ),
            Command::Read(args) => {
                let (key, common) = keyed(args.keyed)?;
                (Op::Read, key, common, args.properties, args.output)
            }
            Command::V1Batch(args) => {
                let key = match args.vid_column {
                    Some(column) => Key::Vid { column },
                    None => Key::Property {
                        name: "email".into(),
                    },
                };
                (Op::V1, key, args.common, Vec::new(), None)
            }
        };
        let (default, max) = match op {
            Op::V1 => (V1_DEFAULT_CONTACTS_PER_BATCH, V1_MAX_CONTACTS_PER_BATCH),
            _ => (MAX_INPUTS_PER_BATCH, MAX_INPUTS_PER_BATCH),
        };
        let batch_size = common.batch_size.unwrap_or(default);
        if !(1..=max).contains(&batch_size) {
            return Err(format!(
                "--batch-size {batch_size}: {} requests hold 1 to {max} inputs",
                op.name()
            ));
        }
        Ok(Job {
            op,
            key,
            batch_size,
            properties,
            output,
            common,
        })
    }

    /// The API version the run calls.
    pub fn api_version(&self) -> ApiVersion {
        self.common.api_version.unwrap_or_default()
    }

    /// The API version as the summary and the report name it: the legacy
    /// batch has no dated version, so it is `v1` whatever was asked for.
    pub fn api_label(&self) -> String {
        match self.op {
            Op::V1 => "v1".to_owned(),
            _ => self.api_version().to_string(),
        }
    }

    /// The column every row must have, if any.
    fn key_column(&self) -> Option<&str> {
        match self.key {
            Key::None => None,
            _ => Some(self.key.column()),
        }
    }
}

fn property_key(name: &str) -> Result<Key, String> {
    if crate::row::is_property_name(name) {
        Ok(Key::Property {
            name: name.to_owned(),
        })
    } else {
        Err(format!("--id-property {name:?} is not a property name"))
    }
}

fn keyed(args: KeyedArgs) -> Result<(Key, Common), String> {
    let key = match (args.id_property, args.id_column) {
        (Some(property), _) => property_key(&property)?,
        (None, column) => Key::RecordId {
            column: column.unwrap_or_else(|| "id".to_owned()),
        },
    };
    Ok((key, args.common))
}

/// Runs the command line; `Ok` is the exit code, `Err` a usage or
/// configuration error (exit code [`EXIT_USAGE`]).
pub async fn run(cli: Cli) -> Result<u8, String> {
    let started = Instant::now();
    let job = Job::new(cli)?;
    let common = &job.common;
    let format = Format::resolve(common.format, &common.file)?;
    let source = source::open(&common.file, format, job.key_column())?;
    if let Some(path) = &common.report
        && same_file(path, &common.file)
    {
        return Err(format!(
            "--report {} names the input file; refusing to overwrite it",
            path.display()
        ));
    }
    // Everything that can refuse the run is checked before the report is
    // created, so a configuration error leaves an existing report alone.
    let connection = if common.dry_run {
        None
    } else {
        let target = target::from_env(common.base_url.clone(), common.token_file.as_deref())?;
        Some(connect(target, &job, common.quiet).await?)
    };
    let report = match &common.report {
        Some(path) => Some(
            File::create(path)
                .map_err(|error| error.to_string())
                .and_then(|file| {
                    ReportWriter::new(BufWriter::new(file), job.api_label())
                        .map_err(|error| error.to_string())
                })
                .map_err(|error| format!("cannot write the report {}: {error}", path.display()))?,
        ),
        None => None,
    };
    let Some((client, fake)) = connection else {
        return dry_run(&job, format, source.rows, report).await;
    };
    let output: Option<Box<dyn Write + Send>> = match (job.op, &job.output) {
        (Op::Read, Some(path)) => Some(Box::new(BufWriter::new(
            File::create(path)
                .map_err(|error| format!("cannot write the output {}: {error}", path.display()))?,
        ))),
        (Op::Read, None) => Some(Box::new(BufWriter::new(std::io::stdout()))),
        _ => None,
    };
    let progress = progress_bar(common.quiet, source.size);
    let shared = Arc::new(RowTracker {
        key: job.key.clone(),
        pending: Mutex::new(Pending::default()),
        sink: Mutex::new(Sink {
            report,
            output,
            quiet: common.quiet,
            progress,
            bytes_read: Arc::clone(&source.bytes_read),
            ..Sink::default()
        }),
    });

    let rows = Rows::new(source.rows);
    let mut outcomes = match job.op {
        Op::Upsert => tuned(
            client.upsert_all(inputs(rows.clone(), &shared, |key, fields| {
                key.upsert(fields)
            })),
            &job,
        ),
        Op::Create => tuned(
            client
                .create_all(inputs(rows.clone(), &shared, |_, fields| {
                    Ok(convert::create(fields))
                }))
                .reconcile(!common.no_reconcile),
            &job,
        ),
        Op::Update => tuned(
            client.update_all(inputs(rows.clone(), &shared, |key, fields| {
                key.update(fields)
            })),
            &job,
        ),
        Op::Archive => tuned(
            client.archive_all(inputs(rows.clone(), &shared, |key, fields| {
                key.key_only(fields)
            })),
            &job,
        ),
        Op::Read => {
            let call = client
                .read_all(inputs(rows.clone(), &shared, |key, fields| {
                    key.key_only(fields)
                }))
                .properties(job.properties.clone());
            match &job.key {
                Key::Property { name } => tuned(call.id_property(name.clone()), &job),
                _ => tuned(call, &job),
            }
        }
        Op::V1 => tuned(
            client.v1_create_or_update_all(inputs(rows.clone(), &shared, |key, fields| {
                key.v1(fields)
            })),
            &job,
        ),
    };
    let mut aborted = None;
    while let Some(item) = outcomes.next().await {
        match item {
            Ok(outcome) => {
                let (row, line) = lock(&shared.pending).take(outcome.index);
                lock(&shared.sink).outcome(row, line, &outcome);
            }
            Err(cause) => aborted = Some(cause),
        }
    }
    let stats = outcomes.stats();
    drop(outcomes);
    if let Some(cause) = &aborted {
        // The SDK stopped pulling; the rows it never saw are reported too.
        let reason = format!("the run stopped before sending it: {}", cause.what());
        let mut rest = rows.stream();
        while let Some(item) = rest.next().await {
            let mut sink = lock(&shared.sink);
            match item {
                Item::Failed(message) => sink.fail(message),
                Item::Row(row) => match row.content {
                    Ok(fields) => {
                        let label = shared.key.label(&fields);
                        sink.not_sent(row.number, row.line, &label, &reason);
                    }
                    Err(error) => {
                        let label = shared.key.label(&error.fields);
                        sink.bad_row(row.number, row.line, &label, &error.message);
                    }
                },
            }
        }
    }

    let mut sink = std::mem::take(&mut *lock(&shared.sink));
    sink.close();
    let summary = Summary {
        command: job.op.name(),
        api_version: job.api_label(),
        rows: sink.rows,
        counts: sink.counts,
        bad_rows: sink.bad_rows,
        stats,
        elapsed: started.elapsed(),
        peak_rss_kib: summary::peak_rss_kib(),
        aborted: aborted.map(|cause| cause.to_string()),
    };
    finish(&job, sink, summary, fake).await
}

/// Whether two paths name one existing file (a path that does not exist yet
/// names no file).
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The knobs every subcommand shares, applied to its batch call.
fn tuned<'a, Op: BatchOperation>(call: BatchCall<'a, Op>, job: &Job) -> OutcomeStream<'a> {
    call.batch_size(job.batch_size)
        .concurrency(usize::from(job.common.concurrency))
        .stream()
}

async fn dry_run(
    job: &Job,
    format: Format,
    mut rows: mpsc::Receiver<Item>,
    report: Option<ReportWriter<BufWriter<File>>>,
) -> Result<u8, String> {
    let mut planner = Planner::new(job.batch_size);
    let mut sink = Sink {
        report,
        quiet: job.common.quiet,
        ..Sink::default()
    };
    let plan_key = match job.key {
        Key::None => Key::Property {
            name: "email".into(),
        },
        _ => job.key.clone(),
    };
    while let Some(item) = rows.recv().await {
        let row = match item {
            Item::Row(row) => row,
            Item::Failed(message) => {
                sink.fail(message);
                break;
            }
        };
        let checked = row.content.and_then(|fields| {
            let key = plan_key.value(&fields).map(str::to_owned);
            let label = job.key.label(&fields);
            job.op.check(&job.key, fields).map(|()| (key, label))
        });
        match checked {
            Ok((key, label)) => {
                planner.valid(key.as_deref().map(|value| (plan_key.column(), value)));
                sink.valid(row.number, row.line, &label);
            }
            Err(error) => {
                planner.invalid();
                let label = job.key.label(&error.fields);
                sink.bad_row(row.number, row.line, &label, &error.message);
            }
        }
    }
    sink.close();
    let plan = planner.finish();
    let concurrency = job.common.concurrency;
    println!(
        "dry run: {} {} ({}) at API {}, nothing sent\n{plan}, {concurrency} in flight",
        job.op.name(),
        job.common.file.display(),
        format.name(),
        job.api_label()
    );
    if let Some(message) = sink.error {
        return Err(message);
    }
    Ok(if plan.invalid > 0 {
        EXIT_ROWS_FAILED
    } else {
        EXIT_OK
    })
}

async fn connect(
    target: Target,
    job: &Job,
    quiet: bool,
) -> Result<(Client, Option<FakeHubSpot>), String> {
    let (base_url, credentials, fake) = match target {
        Target::Remote {
            base_url,
            credentials,
        } => (base_url, credentials, None),
        Target::Embedded => {
            let fake = FakeHubSpot::builder()
                .start()
                .await
                .map_err(|error| format!("cannot start the embedded hubspot-fake: {error}"))?;
            if !quiet {
                eprintln!(
                    "No HUBSPOT_TOKEN and no base URL: syncing into an embedded hubspot-fake at {} \
                     (in this process; nothing leaves the machine).",
                    fake.base_url()
                );
            }
            (
                fake.base_url(),
                TokenSource::token(EMBEDDED_TOKEN),
                Some(fake),
            )
        }
    };
    // The embedded fake has no rate limit, so neither has its client unless asked.
    let default_limit = if fake.is_some() {
        RateLimit::Unlimited
    } else {
        RateLimit::default()
    };
    let client = Client::builder()
        .base_url(base_url)
        .token_source(credentials)
        .rate_limit(job.common.rate_limit.unwrap_or(default_limit))
        .api_version(job.api_version())
        .build()
        .map_err(|error| error.to_string())?;
    Ok((client, fake))
}

async fn finish(
    job: &Job,
    sink: Sink,
    summary: Summary,
    fake: Option<FakeHubSpot>,
) -> Result<u8, String> {
    if !job.common.quiet {
        let hidden = sink.problems.saturating_sub(MAX_PROBLEMS_SHOWN);
        if hidden > 0 {
            let hint = if job.common.report.is_some() {
                "all are in the report"
            } else {
                "--report FILE.json lists them all"
            };
            eprintln!("... and {hidden} more failed or unknown rows ({hint})");
        }
        eprintln!("{summary}");
    }
    if let Some(fake) = fake {
        let held = fake.contacts().iter().filter(|c| !c.archived).count();
        if !job.common.quiet {
            eprintln!(
                "The embedded hubspot-fake now holds {held} contacts (it stops with this command; \
                 set HUBSPOT_TOKEN to sync into HubSpot)."
            );
        }
        fake.shutdown().await;
    }
    if let Some(message) = sink.error {
        return Err(message);
    }
    Ok(if summary.aborted.is_some() {
        EXIT_ABORTED
    } else if summary.has_problems() {
        EXIT_ROWS_FAILED
    } else {
        EXIT_OK
    })
}

fn progress_bar(quiet: bool, size: Option<u64>) -> Option<ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = match size {
        Some(size) => ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr())
            .with_style(
                ProgressStyle::with_template("{bar:30} {percent:>3}% {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            ),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
    };
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}

/// The rows the reader sends, shared by the SDK's input adapter and, after a
/// stop, the loop that reports the rows the SDK never pulled.
#[derive(Clone)]
struct Rows(Arc<Mutex<mpsc::Receiver<Item>>>);

impl Rows {
    fn new(rows: mpsc::Receiver<Item>) -> Self {
        Self(Arc::new(Mutex::new(rows)))
    }

    /// The rows not taken yet, as a stream.
    fn stream(&self) -> BoxStream<'static, Item> {
        let rows = Arc::clone(&self.0);
        futures::stream::poll_fn(move |cx| lock(&rows).poll_recv(cx)).boxed()
    }
}

/// What the input adapter and the outcome loop share.
struct RowTracker {
    key: Key,
    pending: Mutex<Pending>,
    sink: Mutex<Sink>,
}

/// Where each row handed to the SDK came from, by its input index, until its
/// outcome comes back. Outcomes come in input order, so this holds at most
/// the rows in flight.
#[derive(Default)]
struct Pending {
    /// (input index, row, line), in input order.
    rows: VecDeque<(usize, u64, u64)>,
    next_index: usize,
}

impl Pending {
    /// Records the next input handed to the SDK.
    fn push(&mut self, row: u64, line: u64) {
        self.rows.push_back((self.next_index, row, line));
        self.next_index += 1;
    }

    /// The (row, line) of input `index`, forgetting it and any before it.
    fn take(&mut self, index: usize) -> (u64, u64) {
        while let Some(&(at, row, line)) = self.rows.front() {
            self.rows.pop_front();
            if at == index {
                return (row, line);
            }
        }
        (0, 0)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The rows as SDK inputs. Bad rows are reported here, as they are read; the
/// others are remembered by (row, line) until their outcome comes back.
fn inputs<T, F>(
    rows: Rows,
    shared: &Arc<RowTracker>,
    convert: F,
) -> InputStream<BoxStream<'static, T>>
where
    T: Send + 'static,
    F: Fn(&Key, Fields) -> Result<T, RowError> + Send + 'static,
{
    let shared = Arc::clone(shared);
    let items = rows.stream();
    InputStream(
        items
            .filter_map(move |item| {
                let input = match item {
                    Item::Failed(message) => {
                        lock(&shared.sink).fail(message);
                        None
                    }
                    Item::Row(row) => {
                        match row.content.and_then(|fields| convert(&shared.key, fields)) {
                            Ok(input) => {
                                lock(&shared.pending).push(row.number, row.line);
                                Some(input)
                            }
                            Err(error) => {
                                let label = shared.key.label(&error.fields);
                                lock(&shared.sink).bad_row(
                                    row.number,
                                    row.line,
                                    &label,
                                    &error.message,
                                );
                                None
                            }
                        }
                    }
                };
                futures::future::ready(input)
            })
            .boxed(),
    )
}

/// Where settled rows go: the report, the read output, the counts, stderr.
#[derive(Default)]
struct Sink {
    report: Option<ReportWriter<BufWriter<File>>>,
    output: Option<Box<dyn Write + Send>>,
    counts: OutcomeCounts,
    rows: u64,
    bad_rows: u64,
    problems: u64,
    quiet: bool,
    progress: Option<ProgressBar>,
    bytes_read: Arc<AtomicU64>,
    /// The first error that makes the run fail as a whole (exit 2).
    error: Option<String>,
}

impl Sink {
    fn bad_row(&mut self, row: u64, line: u64, key: &str, message: &str) {
        self.rows += 1;
        self.bad_rows += 1;
        self.entry(&report::bad_row_entry(row, line, key, message));
        self.problem(
            line,
            key,
            &format!("failed: {}: {message}", ClientCategory::InvalidInput),
        );
        self.tick();
    }

    fn not_sent(&mut self, row: u64, line: u64, key: &str, reason: &str) {
        self.rows += 1;
        self.counts.add(&Outcome::NotSent {
            reason: String::new(),
        });
        self.entry(&report::not_sent_entry(row, line, key, reason));
        self.problem(line, key, &format!("not sent: {reason}"));
        self.tick();
    }

    fn valid(&mut self, row: u64, line: u64, key: &str) {
        self.rows += 1;
        self.entry(&report::valid_row_entry(row, line, key));
    }

    fn outcome(&mut self, row: u64, line: u64, settled: &InputOutcome) {
        self.rows += 1;
        self.counts.add(&settled.outcome);
        let key = settled
            .key
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        self.entry(&report::outcome_entry(row, line, &key, &settled.outcome));
        if let (Outcome::Read(contact), Some(out)) = (&settled.outcome, &mut self.output) {
            let written = serde_json::to_writer(&mut *out, contact.as_ref())
                .map_err(std::io::Error::from)
                .and_then(|()| out.write_all(b"\n"));
            if let Err(error) = written {
                self.fail(format!("cannot write the contacts read: {error}"));
                self.output = None;
            }
        }
        if !settled.outcome.is_success() {
            self.problem(line, &key, &settled.outcome.to_string());
        }
        self.tick();
    }

    fn entry(&mut self, entry: &report::Entry<'_>) {
        if let Some(report) = &mut self.report
            && let Err(error) = report.write(entry)
        {
            self.error
                .get_or_insert(format!("cannot write the report: {error}"));
            self.report = None;
        }
    }

    fn problem(&mut self, line: u64, key: &str, what: &str) {
        self.problems += 1;
        if self.quiet || self.problems > MAX_PROBLEMS_SHOWN {
            return;
        }
        let text = if key.is_empty() {
            format!("line {line}: {what}")
        } else {
            format!("line {line} ({key}): {what}")
        };
        match &self.progress {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    fn tick(&self) {
        if let Some(bar) = &self.progress
            && self.rows.is_multiple_of(64)
        {
            bar.set_position(self.bytes_read.load(Ordering::Relaxed));
            bar.set_message(format!("{} rows", self.rows));
        }
    }

    fn fail(&mut self, message: String) {
        self.error.get_or_insert(message);
    }

    /// Closes the report and the output, and clears the progress bar.
    fn close(&mut self) {
        if let Some(report) = self.report.take()
            && let Err(error) = report.finish()
        {
            self.fail(format!("cannot write the report: {error}"));
        }
        if let Some(mut out) = self.output.take()
            && let Err(error) = out.flush()
        {
            self.fail(format!("cannot write the contacts read: {error}"));
        }
        if let Some(bar) = self.progress.take() {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn job(args: &[&str]) -> Result<Job, String> {
        let cli =
            Cli::try_parse_from(std::iter::once("hubspot-contacts").chain(args.iter().copied()))
                .map_err(|error| error.to_string())?;
        Job::new(cli)
    }

    #[test]
    fn subcommands_resolve_to_an_operation_and_a_key() {
        let upsert = job(&["upsert", "a.csv"]).unwrap();
        assert_eq!((upsert.op, upsert.batch_size), (Op::Upsert, 100));
        assert_eq!(
            upsert.key,
            Key::Property {
                name: "email".into()
            }
        );
        let update = job(&["update", "a.csv"]).unwrap();
        assert_eq!(
            update.key,
            Key::RecordId {
                column: "id".into()
            }
        );
        let by_external = job(&["update", "--id-property", "external_id", "a.csv"]).unwrap();
        assert_eq!(
            by_external.key,
            Key::Property {
                name: "external_id".into()
            }
        );
        let v1 = job(&[
            "v1-batch",
            "--vid-column",
            "vid",
            "--batch-size",
            "1000",
            "a.csv",
        ])
        .unwrap();
        assert_eq!((v1.key.column(), v1.batch_size), ("vid", 1000));
        assert_eq!(job(&["create", "a.csv"]).unwrap().key_column(), None);
    }

    #[test]
    fn the_api_version_defaults_to_the_newest_and_v1_batch_says_v1() {
        let default = job(&["upsert", "a.csv"]).unwrap();
        assert_eq!(default.api_version(), ApiVersion::default());
        assert_eq!(default.api_label(), "2026-09");
        let v3 = job(&["create", "--api-version", "v3", "a.csv"]).unwrap();
        assert_eq!(
            (v3.api_version(), v3.api_label().as_str()),
            (ApiVersion::V3, "v3")
        );
        let older = job(&["read", "--api-version", "2026-03", "a.csv"]).unwrap();
        assert_eq!(older.api_label(), "2026-03");
        assert_eq!(job(&["v1-batch", "a.csv"]).unwrap().api_label(), "v1");
    }

    #[test]
    fn misuse_is_a_usage_error() {
        for args in [
            &["upsert", "--batch-size", "101", "a.csv"][..],
            &["v1-batch", "--batch-size", "1001", "a.csv"],
            &["create", "--batch-size", "0", "a.csv"],
            &["update", "--id-property", "email", "a.csv"],
            &["upsert", "--id-property", "hs_object_id", "a.csv"],
            &["upsert", "--id-property", "first name", "a.csv"],
            &["update", "--id-property", "x", "--id-column", "y", "a.csv"],
            &["upsert", "--rate-limit", "fast", "a.csv"],
            &["upsert", "--api-version", "2025-01", "a.csv"],
            &["upsert", "--api-version", "v4", "a.csv"],
        ] {
            assert!(job(args).is_err(), "{args:?}");
        }
    }
}
