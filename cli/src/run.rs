//! One run: check the job, resolve the target, open (or resume) the report,
//! settle what an earlier run left in flight, send the rows through the SDK,
//! print the summary. The only module that ties I/O together.

use std::{
    collections::{HashMap, VecDeque},
    fs::{File, OpenOptions},
    io::{BufWriter, Write},
    path::Path,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Instant,
};

use chrono::{DateTime, SecondsFormat, Utc};
use futures::{StreamExt, stream::BoxStream};
use hubspot_contacts_batch::{
    Catalogue, Client, ContactsBatchExt, InputStream, Outcome, SdkError, TokenSource,
    batch::{BatchCall, BatchOperation, ClientCategory, InputFailure, OutcomeStream},
    policy::RateLimit,
};
use hubspot_fake::FakeHubSpot;
use tokio::sync::mpsc;

use crate::{
    console,
    convert::{self, Key},
    format::Format,
    identity,
    interrupt::{EXIT_INTERRUPTED, Interrupt},
    job::{Job, Op},
    journal::{self, JournalHeader, RowState, RowStates},
    plan::Planner,
    preflight::{self, Preflight},
    report::ReportWriter,
    resume::{self, InFlight, Settle},
    row::{Fields, RowError},
    sink::{Sink, SinkError},
    source::{self, Item, Source},
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
/// or its scopes refused, the daily budget spent, HubSpot unreachable).
pub const EXIT_ABORTED: u8 = 3;
/// Exit code: the report or the output could not be written.
pub const EXIT_WRITE: u8 = 4;

/// The token given to the embedded fake, which accepts any.
const EMBEDDED_TOKEN: &str = "embedded-hubspot-fake";
/// How the report names the embedded target.
const EMBEDDED_TARGET: &str = "embedded hubspot-fake";
/// Rows read back at once on --resume.
const READ_BACK_BATCH: usize = 1000;

/// Why a run ended without an exit code of its own.
#[derive(Debug, PartialEq, Eq)]
pub enum RunError {
    /// Usage or configuration ([`EXIT_USAGE`]).
    Config(String),
    /// The report or output could not be written ([`EXIT_WRITE`]).
    Write(String),
    /// HubSpot stopped the run before any row was sent ([`EXIT_ABORTED`]).
    Aborted(String),
    /// The first Ctrl-C came before any row was sent ([`EXIT_INTERRUPTED`]).
    Interrupted(String),
}

impl RunError {
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Config(_) => EXIT_USAGE,
            RunError::Write(_) => EXIT_WRITE,
            RunError::Aborted(_) => EXIT_ABORTED,
            RunError::Interrupted(_) => EXIT_INTERRUPTED,
        }
    }

    /// What to print.
    pub fn message(&self) -> &str {
        match self {
            RunError::Config(message)
            | RunError::Write(message)
            | RunError::Aborted(message)
            | RunError::Interrupted(message) => message,
        }
    }
}

impl From<String> for RunError {
    fn from(message: String) -> Self {
        RunError::Config(message)
    }
}

/// Runs the command line; `Ok` is the exit code.
pub async fn run(job: Job, interrupt: Interrupt) -> Result<u8, RunError> {
    let started = Instant::now();
    let started_at = Utc::now();
    let common = &job.common;
    refuse_overwrites(&job)?;
    let format = Format::resolve(common.format, &common.file)?;
    if common.file != Path::new("-") {
        File::open(&common.file).map_err(|error| {
            RunError::Config(format!("cannot open {}: {error}", common.file.display()))
        })?;
    }
    // Everything that can refuse the run is checked before anything is
    // opened for writing, so a configuration error leaves every file alone.
    let preflight_wanted = job.op.writes_properties() && !common.no_preflight;
    let target = if common.dry_run && !preflight_wanted {
        None
    } else {
        Some(target::from_env(
            common.base_url.clone(),
            common.token_file.as_deref(),
        )?)
    };
    let mut header = journal_header(&job, target.as_ref(), started_at)?;
    let resumed = match (&common.report, common.resume) {
        (Some(path), true) => Some(recover(path, &header, target.as_ref())?),
        (Some(path), false) => {
            refuse_to_restart(path, &header)?;
            None
        }
        _ => None,
    };
    // Until the run writes, Ctrl-C exits at once (see `interrupt`).
    let connection = match target {
        Some(target) => Some(connect(target, &job).await?),
        None => None,
    };
    let preflight = match (&connection, preflight_wanted) {
        (Some((client, _)), true) => Some(fetch_catalogue(client).await?),
        _ => None,
    };
    if let (Some(catalogue), Key::Property { name }) = (&preflight, &job.key)
        && let Some(problem) = preflight::key_property_problem(catalogue, name)
    {
        return Err(RunError::Config(problem));
    }
    // The start on HubSpot's clock, for a later resume to judge creation times by.
    if let (Some(header), Some(as_of)) =
        (&mut header, preflight.as_ref().and_then(Catalogue::as_of))
    {
        header.hubspot_started_at = Some(as_of.to_rfc3339_opts(SecondsFormat::Millis, true));
    }
    let catalogue_size = preflight.as_ref().map(Catalogue::len);
    let ids = job.id_column().map(str::to_owned);
    let preflight = Arc::new(if job.op.writes_properties() {
        Preflight::new(preflight, common.map.clone(), ids)
    } else {
        Preflight::keys_only(ids)
    });
    let source = open_input(&job, format, Arc::clone(&preflight))?;
    interrupt.writing();
    let report = match (&common.report, &header) {
        (Some(path), Some(header)) => Some(open_report(
            path,
            header,
            resumed.as_ref().map(|r| r.intact_len),
        )?),
        _ => None,
    };
    let (client, fake) = match connection {
        Some(connection) if !common.dry_run => connection,
        connection => {
            let code = dry_run(
                &job,
                format,
                source.rows,
                report,
                catalogue_size,
                &interrupt,
            )
            .await;
            if let Some((_, Some(fake))) = connection {
                fake.shutdown().await;
            }
            return code;
        }
    };
    let output: Option<Box<dyn Write + Send>> = match (job.op, &job.output) {
        (Op::Read, Some(path)) => {
            // On --resume the contacts read before stay: the output grows.
            let file = if common.resume {
                OpenOptions::new().create(true).append(true).open(path)
            } else {
                File::create(path)
            };
            let file = file.map_err(|error| {
                RunError::Write(format!(
                    "cannot write the output {}: {error}",
                    path.display()
                ))
            })?;
            Some(Box::new(BufWriter::new(file)))
        }
        (Op::Read, None) => Some(Box::new(BufWriter::new(std::io::stdout()))),
        _ => None,
    };
    let mut sink = Sink::new(report, output, common.quiet);
    let mut states = None;
    // Rows settled here by reading them back are final when the main pass
    // meets them; they are this run's rows, not skipped ones.
    let mut read_back_rows = (0, 0);
    let mut read_back_requests = 0;
    if let Some(recovered) = resumed {
        let since = recovered.first.creation_line().map_err(RunError::Config)?;
        let mut rows = recovered.rows;
        let reading = Arc::clone(&preflight);
        let settling =
            settle_in_flight(&client, &job, format, reading, &mut rows, since, &mut sink);
        let settled_so_far = " while reading back the rows the earlier run left in flight; the \
             report keeps what was settled: run again with --resume";
        read_back_requests = unless_interrupted(&interrupt, settled_so_far, settling).await?;
        read_back_rows = (sink.rows, sink.problems);
        // Only writes of values have an order to keep (a create's rows are
        // never sent twice).
        if job.op.writes_properties() && job.op.in_flight() != InFlight::Create {
            keep_key_order(&job, format, Arc::clone(&preflight), &mut rows).await?;
        }
        states = Some(rows);
    }

    let tracker = Arc::new(RowTracker {
        key: job.key.clone(),
        states,
        traced: job.op.carries_trace_id(),
        resend_unknown: job.op.in_flight() != InFlight::Create,
        trace_prefix: format!("hc-{:x}", started_at.timestamp_millis()),
        pending: Mutex::new(Pending::default()),
        skipped: Mutex::new(SkippedRows::default()),
        sink: Mutex::new(sink),
    });
    let rows = Rows::new(source.rows);
    let mut outcomes = outcome_stream(&client, &job, &rows, &tracker, interrupt.clone());
    let mut aborted = None;
    while let Some(item) = outcomes.next().await {
        match item {
            Ok(outcome) => {
                let (row, line, notes) = lock(&tracker.pending).take(outcome.index);
                lock(&tracker.sink).outcome(row, line, &notes, &outcome);
            }
            Err(cause) => aborted = Some(cause),
        }
    }
    let stats = outcomes.stats();
    drop(outcomes);
    if let Some(cause) = &aborted {
        // The SDK stopped pulling; the rows it never saw are reported too.
        let reason = format!("the run stopped before sending it: {}", cause.what());
        report_unsent(&rows, &tracker, &reason).await;
    }
    let mut skipped = *lock(&tracker.skipped);
    skipped.settled = skipped.settled.saturating_sub(read_back_rows.0);
    skipped.problems = skipped.problems.saturating_sub(read_back_rows.1);
    let mut sink = std::mem::take(&mut *lock(&tracker.sink));
    let interrupted = interrupt.is_set() && aborted.is_none();
    // The marker says the whole file was read: not after a stop or a failure.
    if !interrupted && !sink.ended_early() {
        sink.finished();
    }
    sink.close();
    let summary = Summary {
        command: job.op.name(),
        api_version: job.api_label(),
        rows: sink.rows,
        counts: sink.counts,
        bad_rows: sink.bad_rows,
        skipped: skipped.settled,
        skipped_problems: skipped.problems,
        stats,
        preflight_read: catalogue_size.is_some(),
        read_back_requests,
        elapsed: started.elapsed(),
        peak_rss_kib: summary::peak_rss_kib(),
        aborted: aborted.map(|cause| cause.to_string()),
        interrupted,
        resumable: common.report.is_some() && common.file != Path::new("-") && fake.is_none(),
    };
    finish(&job, sink, summary, fake).await
}

/// `future`'s result, unless the first Ctrl-C comes before it ends: then the
/// run stops there, before sending any row, and `then` ends what it says.
async fn unless_interrupted<T>(
    interrupt: &Interrupt,
    then: &str,
    future: impl Future<Output = Result<T, RunError>>,
) -> Result<T, RunError> {
    tokio::select! {
        biased;
        () = interrupt.clone().wait() => Err(RunError::Interrupted(format!("interrupted{then}"))),
        result = future => result,
    }
}

/// Refuses a `--report` or `--output` that is a file the run reads (the
/// input, standard input's file, the token file) or the other one, or that
/// cannot be created (its folder does not exist; `--report -`).
fn refuse_overwrites(job: &Job) -> Result<(), RunError> {
    let common = &job.common;
    let input = if common.file == Path::new("-") {
        Path::new("/dev/stdin")
    } else {
        common.file.as_path()
    };
    let mut read: Vec<(&str, &Path)> = vec![("the input file", input)];
    if let Some(token) = &common.token_file {
        read.push(("the token file", token));
    }
    let output = match (job.op, &job.output) {
        (Op::Read, Some(path)) => Some(path.as_path()),
        (Op::Read, None) => Some(Path::new("/dev/stdout")),
        _ => None,
    };
    if common.report.as_deref() == Some(Path::new("-")) {
        return Err(RunError::Config(
            "--report -: the report is a file (JSON Lines); name one".into(),
        ));
    }
    let written = [("--report", common.report.as_deref()), ("--output", output)];
    for (flag, path) in written {
        let Some(path) = path else { continue };
        if let Some(folder) = path
            .parent()
            .filter(|folder| !folder.as_os_str().is_empty())
            && !folder.is_dir()
        {
            return Err(RunError::Config(format!(
                "{flag} {}: there is no folder {}",
                path.display(),
                folder.display()
            )));
        }
        for (what, other) in &read {
            if identity::same_file(path, other) {
                return Err(RunError::Config(format!(
                    "{flag} {} is {what}; refusing to overwrite it",
                    path.display()
                )));
            }
        }
    }
    if let (Some(report), Some(output)) = (&common.report, output)
        && (report == output || identity::same_file(report, output))
    {
        return Err(RunError::Config(
            "--report and the output (--output, or standard output for read) are the same \
             file"
                .into(),
        ));
    }
    Ok(())
}

/// The header of this run's report, if it has one.
fn journal_header(
    job: &Job,
    target: Option<&Target>,
    started_at: DateTime<Utc>,
) -> Result<Option<JournalHeader>, RunError> {
    if job.common.report.is_none() {
        return Ok(None);
    }
    let file = &job.common.file;
    let fingerprint = if file == Path::new("-") {
        None
    } else {
        Some(identity::fingerprint(file).map_err(|error| {
            RunError::Config(format!("cannot read {}: {error}", file.display()))
        })?)
    };
    Ok(Some(JournalHeader {
        journal: JournalHeader::MAGIC.into(),
        version: JournalHeader::VERSION,
        command: job.op.name().into(),
        key: job.key_column().map(str::to_owned),
        file: file.display().to_string(),
        fingerprint,
        api_version: job.api_label(),
        target: match target {
            Some(Target::Remote { base_url, .. }) => base_url.clone(),
            Some(Target::Embedded) => EMBEDDED_TARGET.into(),
            None => "none (dry run)".into(),
        },
        started_at: started_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        hubspot_started_at: None,
        resumed: job.common.resume,
        dry_run: job.common.dry_run,
        map: job.common.map.clone(),
    }))
}

/// Reads the report to resume, refusing one this run cannot continue.
fn recover(
    path: &Path,
    header: &Option<JournalHeader>,
    target: Option<&Target>,
) -> Result<journal::Recovered, RunError> {
    let refuse = |why: String| {
        RunError::Config(format!(
            "--resume: cannot continue {}: {why}",
            path.display()
        ))
    };
    if matches!(target, Some(Target::Embedded)) {
        return Err(refuse(
            "the embedded hubspot-fake forgets its contacts when the command exits, so there \
             is nothing to continue; run against HubSpot or a standalone hubspot-fake"
                .into(),
        ));
    }
    let file = File::open(path).map_err(|error| refuse(error.to_string()))?;
    let recovered = journal::read(std::io::BufReader::new(file)).map_err(refuse)?;
    if let Some(header) = header
        && let Some(why) = header.refuses_to_resume(&recovered.first)
    {
        return Err(refuse(why));
    }
    Ok(recovered)
}

/// Refuses to start over on a report that records an unfinished run (of
/// this job, which `--resume` continues, or of another, which it still
/// could), since starting over could send its rows twice; and on a file
/// that is not a journal at all.
fn refuse_to_restart(path: &Path, header: &Option<JournalHeader>) -> Result<(), RunError> {
    let (Some(header), Ok(file)) = (header, File::open(path)) else {
        return Ok(());
    };
    // Only a file with something in it is worth keeping (not /dev/null).
    if !file
        .metadata()
        .is_ok_and(|meta| meta.is_file() && meta.len() > 0)
    {
        return Ok(());
    }
    let refuse = |why: String| {
        RunError::Config(format!(
            "the report {} {why} (to start over, remove it or choose another --report)",
            path.display()
        ))
    };
    let recovered = journal::read(std::io::BufReader::new(file)).map_err(|why| {
        refuse(format!(
            "exists and is not a hubspot-contacts journal ({why}); refusing to overwrite it"
        ))
    })?;
    if !recovered.unfinished() {
        return Ok(());
    }
    let earlier = &recovered.first;
    Err(refuse(if header.refuses_to_resume(earlier).is_none() {
        "records an unfinished run of this file; --resume continues it".to_owned()
    } else {
        format!(
            "records an unfinished run of another job ({} {}), which --resume could still \
             continue; refusing to overwrite it",
            earlier.command, earlier.file
        )
    }))
}

/// Creates the report, or on --resume cuts a line a kill left half-written
/// and appends; then writes this run's header.
fn open_report(
    path: &Path,
    header: &JournalHeader,
    resume_from: Option<u64>,
) -> Result<ReportWriter<File>, RunError> {
    let cannot = |error: std::io::Error| {
        RunError::Write(format!(
            "cannot write the report {}: {error}",
            path.display()
        ))
    };
    // Locked before it is cut, so a second run on the same report is refused
    // without touching it.
    let file = OpenOptions::new()
        .create(resume_from.is_none())
        .append(true)
        .open(path)
        .map_err(cannot)?;
    if let Err(error) = file.try_lock() {
        return Err(match error {
            std::fs::TryLockError::WouldBlock => RunError::Config(format!(
                "the report {} is in use by another run",
                path.display()
            )),
            std::fs::TryLockError::Error(error) => cannot(error),
        });
    }
    // A device (/dev/null, /dev/stderr) is written to, never cut.
    if file.metadata().map_err(cannot)?.is_file() {
        file.set_len(resume_from.unwrap_or(0)).map_err(cannot)?;
    }
    ReportWriter::new(file, header).map_err(cannot)
}

/// The input, read (again) from its start as the job reads it.
fn open_input(job: &Job, format: Format, preflight: Arc<Preflight>) -> Result<Source, RunError> {
    let common = &job.common;
    Ok(source::open(
        &common.file,
        format,
        job.key_column(),
        &common.input,
        preflight,
    )?)
}

/// Settles the rows the earlier run left in flight (and a create's rows it
/// left unknown), reading creates and upserts back by key (see [`resume`]).
/// Rows settled here become final in `states`; the others are sent again by
/// the main pass.
async fn settle_in_flight(
    client: &Client,
    job: &Job,
    format: Format,
    preflight: Arc<Preflight>,
    states: &mut RowStates,
    since: DateTime<Utc>,
    sink: &mut Sink,
) -> Result<u64, RunError> {
    let kind = job.op.in_flight();
    // A create left unknown is read back too: it is never sent blind.
    let unsettled = |state: RowState| {
        state == RowState::InFlight || (kind == InFlight::Create && state == RowState::Unknown)
    };
    let none = states.count(RowState::InFlight) == 0
        && (kind != InFlight::Create || states.count(RowState::Unknown) == 0);
    if kind == InFlight::Resend || none {
        return Ok(0);
    }
    let mut source = open_input(job, format, preflight)?;
    let mut batch: Vec<(u64, u64, String)> = Vec::new();
    let mut settling = InFlightRows {
        client,
        job,
        kind,
        since,
        claims: HashMap::new(),
        requests: 0,
    };
    while let Some(item) = source.rows.recv().await {
        let row = match item {
            Item::Row(row) if unsettled(states.get(row.number)) => row,
            Item::Row(_) => continue,
            Item::Failed(message) => return Err(RunError::Config(message)),
        };
        let fields = match row.content {
            Ok(fields) => fields,
            // Unreadable now, so it was never sent: the main pass reports it.
            Err(_) => continue,
        };
        match job.key.value(&fields) {
            Some(value) => batch.push((row.number, row.line, value.to_owned())),
            // Left unknown before, for the same reason: it stays so.
            None if states.get(row.number) == RowState::Unknown => {}
            None => {
                let unknown = Outcome::Unknown {
                    reason: resume::KEYLESS_CREATE.into(),
                };
                sink.settled(row.number, row.line, "", &row.notes, &unknown);
                states.set(row.number, RowState::Unknown);
            }
        }
        if batch.len() == READ_BACK_BATCH {
            settling.settle(&mut batch, states, sink).await?;
        }
    }
    settling.settle(&mut batch, states, sink).await?;
    Ok(settling.requests)
}

/// On --resume of an idempotent job: each row that succeeded after an
/// earlier row of its key that is sent again is sent again too, after it
/// (see [`resume::KeyOrder`]), so no older value is written last.
async fn keep_key_order(
    job: &Job,
    format: Format,
    preflight: Arc<Preflight>,
    states: &mut RowStates,
) -> Result<(), RunError> {
    if job.key_column().is_none() {
        return Ok(());
    }
    let last = states.last_recorded();
    let mut source = open_input(job, format, preflight)?;
    let mut order = resume::KeyOrder::default();
    while let Some(item) = source.rows.recv().await {
        let row = match item {
            // Rows past the journal's last were never reached: nothing to reorder.
            Item::Row(row) if row.number > last => break,
            Item::Row(row) => row,
            Item::Failed(message) => return Err(RunError::Config(message)),
        };
        let Some(value) = row
            .content
            .as_ref()
            .ok()
            .and_then(|fields| job.key.value(fields))
        else {
            continue;
        };
        if order.resend(job.key.identity(value), states.get(row.number)) {
            states.set(row.number, RowState::Unseen);
        }
    }
    Ok(())
}

/// Settling the rows in flight, one batch at a time, in row order.
struct InFlightRows<'a> {
    client: &'a Client,
    job: &'a Job,
    kind: InFlight,
    /// When the journal's first run started.
    since: DateTime<Utc>,
    /// The contacts found so far, each with the row that created it (by the
    /// journal, or as settled here).
    claims: HashMap<String, u64>,
    /// Requests the reading took.
    requests: u64,
}

impl InFlightRows<'_> {
    /// Reads back one batch of rows in flight and records what was decided.
    async fn settle(
        &mut self,
        batch: &mut Vec<(u64, u64, String)>,
        states: &mut RowStates,
        sink: &mut Sink,
    ) -> Result<(), RunError> {
        if batch.is_empty() {
            return Ok(());
        }
        let job = self.job;
        let values: Vec<String> = batch.iter().map(|(_, _, value)| value.clone()).collect();
        let (lookups, requests) = resume::read_back(self.client, job.key.column(), &values)
            .await
            .map_err(|aborted| {
                RunError::Aborted(format!(
                    "--resume: cannot read back the rows left in flight, so nothing was sent: {}",
                    aborted.cause
                ))
            })?;
        self.requests += requests;
        self.look_up_claims(&lookups)?;
        let rows: Vec<u64> = batch.iter().map(|(row, _, _)| *row).collect();
        let settled =
            resume::decide_in_order(self.kind, &rows, &lookups, self.since, &mut self.claims);
        for ((row, line, value), settle) in batch.drain(..).zip(settled) {
            let label = job
                .key
                .label(&vec![(job.key.column().to_owned(), value.as_str().into())]);
            let outcome = match settle {
                Settle::Resend => {
                    states.set(row, RowState::Unseen);
                    continue;
                }
                Settle::Created(id) => Outcome::Created { id },
                Settle::Unknown(reason) => Outcome::Unknown { reason },
                Settle::Existed(id) => already_existed(format!(
                    "the contact existed before the earlier run started (Existing ID: {id}), \
                     so that run's create of it was refused"
                )),
                Settle::CreatedByRow { row: creator, id } => already_existed(format!(
                    "row {creator} of this run created the contact with this key (Existing ID: \
                     {id}), so this row's create of it could only be refused"
                )),
            };
            let state = match &outcome {
                Outcome::Unknown { .. } => RowState::Unknown,
                outcome if outcome.is_success() => RowState::Succeeded,
                _ => RowState::Problem,
            };
            states.set(row, state);
            sink.settled(row, line, &label, &[], &outcome);
        }
        Ok(())
    }

    /// Adds to the claims which rows of the journal created the contacts just
    /// read back, if not looked up yet.
    fn look_up_claims(&mut self, lookups: &[resume::Lookup]) -> Result<(), RunError> {
        let mut ids = resume::created_since(lookups, self.since);
        ids.retain(|id| !self.claims.contains_key(*id));
        let Some(path) = self
            .job
            .common
            .report
            .as_deref()
            .filter(|_| !ids.is_empty())
        else {
            return Ok(());
        };
        let cannot = |error: std::io::Error| {
            RunError::Config(format!("--resume: cannot read {}: {error}", path.display()))
        };
        let journal = std::io::BufReader::new(File::open(path).map_err(cannot)?);
        for (id, row) in resume::claimed_creations(journal, &ids).map_err(cannot)? {
            self.claims.entry(id).or_insert(row);
        }
        Ok(())
    }
}

/// A create refused because the contact already existed, as the client tells.
fn already_existed(message: String) -> Outcome {
    Outcome::Failed(InputFailure {
        category: None,
        client: Some(ClientCategory::AlreadyExisted),
        code: None,
        message,
        context: Default::default(),
        status: None,
        correlation_id: None,
    })
}

/// The SDK call of the job, fed by the rows.
fn outcome_stream<'a>(
    client: &'a Client,
    job: &Job,
    rows: &Rows,
    tracker: &Arc<RowTracker>,
    interrupt: Interrupt,
) -> OutcomeStream<'a> {
    match job.op {
        Op::Upsert => tuned(
            client.upsert_all(inputs(rows, tracker, |key, fields, trace| {
                key.upsert(fields).map(|input| input.trace_id(trace))
            })),
            job,
            tracker,
            &interrupt,
        ),
        Op::Create => tuned(
            client
                .create_all(inputs(rows, tracker, |_, fields, trace| {
                    convert::create(fields).map(|input| input.trace_id(trace))
                }))
                .reconcile(job.reconcile),
            job,
            tracker,
            &interrupt,
        ),
        Op::Update => tuned(
            client.update_all(inputs(rows, tracker, |key, fields, trace| {
                key.update(fields).map(|input| input.trace_id(trace))
            })),
            job,
            tracker,
            &interrupt,
        ),
        Op::Archive => tuned(
            client.archive_all(inputs(rows, tracker, |key, fields, _| key.key_only(fields))),
            job,
            tracker,
            &interrupt,
        ),
        Op::Read => {
            let call = client
                .read_all(inputs(rows, tracker, |key, fields, _| key.key_only(fields)))
                .properties(job.properties.clone());
            match &job.key {
                Key::Property { name } => {
                    tuned(call.id_property(name.clone()), job, tracker, &interrupt)
                }
                _ => tuned(call, job, tracker, &interrupt),
            }
        }
        Op::V1 => tuned(
            client.v1_create_or_update_all(inputs(rows, tracker, |key, fields, _| key.v1(fields))),
            job,
            tracker,
            &interrupt,
        ),
    }
}

/// Reports every row left unread as `not_sent` (after HubSpot stopped the run).
async fn report_unsent(rows: &Rows, tracker: &RowTracker, reason: &str) {
    let mut rest = rows.stream();
    while let Some(item) = rest.next().await {
        let mut sink = lock(&tracker.sink);
        match item {
            Item::Failed(message) => sink.input_failed(message),
            Item::Row(row) => {
                if tracker.already_settled(row.number) {
                    continue;
                }
                match row.content {
                    Ok(fields) => {
                        let label = tracker.key.label(&fields);
                        sink.not_sent(row.number, row.line, &label, reason);
                    }
                    Err(error) => {
                        let label = tracker.key.label(&error.fields);
                        sink.bad_row(row.number, row.line, &label, &error);
                    }
                }
            }
        }
    }
}

/// The knobs every subcommand shares, applied to its batch call, which
/// journals each row as sent just before its request leaves and stops at the
/// first Ctrl-C.
fn tuned<'a, Op: BatchOperation>(
    call: BatchCall<'a, Op>,
    job: &Job,
    tracker: &Arc<RowTracker>,
    interrupt: &Interrupt,
) -> OutcomeStream<'a> {
    let tracker = Arc::clone(tracker);
    call.batch_size(job.batch_size)
        .concurrency(usize::from(job.common.concurrency))
        .on_send(move |indices| tracker.sending(indices))
        .until(interrupt.clone().wait())
        .stream()
}

/// Checks every row and plans the requests, sending nothing; stops reading
/// at the first Ctrl-C.
async fn dry_run(
    job: &Job,
    format: Format,
    mut rows: mpsc::Receiver<Item>,
    report: Option<ReportWriter<File>>,
    catalogue_size: Option<usize>,
    interrupt: &Interrupt,
) -> Result<u8, RunError> {
    let mut planner = Planner::new(job.batch_size);
    let mut sink = Sink::new(report, None, job.common.quiet);
    let plan_key = match job.key {
        Key::None => Key::Property {
            name: "email".into(),
        },
        _ => job.key.clone(),
    };
    loop {
        let item = tokio::select! {
            biased;
            () = interrupt.clone().wait() => break,
            item = rows.recv() => item,
        };
        let row = match item {
            Some(Item::Row(row)) => row,
            Some(Item::Failed(message)) => {
                sink.input_failed(message);
                break;
            }
            None => break,
        };
        let checked = row.content.and_then(|fields| {
            let key = plan_key.value(&fields).map(str::to_owned);
            let label = job.key.label(&fields);
            job.op.check(&job.key, fields).map(|()| (key, label))
        });
        match checked {
            Ok((key, label)) => {
                planner.valid(key.as_deref().map(|value| (plan_key.column(), value)));
                sink.valid(row.number, row.line, &label, &row.notes);
            }
            Err(error) => {
                planner.invalid();
                let label = job.key.label(&error.fields);
                sink.bad_row(row.number, row.line, &label, &error);
            }
        }
    }
    sink.close();
    let plan = planner.finish();
    let concurrency = job.common.concurrency;
    let checked = match catalogue_size {
        Some(properties) => format!(
            "checked against the portal's {properties} contact properties (the one read sent)"
        ),
        None => "nothing sent".to_owned(),
    };
    let printed = writeln!(
        std::io::stdout(),
        "dry run: {} {} ({}) at API {}, {checked}\n{plan}, {concurrency} in flight",
        job.op.name(),
        job.common.file.display(),
        format.name(),
        job.api_label()
    );
    if let Err(error) = printed {
        return Err(RunError::Write(format!("cannot write the plan: {error}")));
    }
    if let Some(error) = sink.error {
        return Err(sink_error(error));
    }
    if interrupt.is_set() {
        console::line("INTERRUPTED: the dry run stopped reading; the plan covers the rows read");
        return Ok(EXIT_INTERRUPTED);
    }
    Ok(if plan.invalid > 0 {
        EXIT_ROWS_FAILED
    } else {
        EXIT_OK
    })
}

async fn connect(target: Target, job: &Job) -> Result<(Client, Option<FakeHubSpot>), RunError> {
    let (base_url, credentials, fake) = match target {
        Target::Remote {
            base_url,
            credentials,
        } => (base_url, credentials, None),
        Target::Embedded => {
            let fake = FakeHubSpot::builder().start().await.map_err(|error| {
                RunError::Config(format!("cannot start the embedded hubspot-fake: {error}"))
            })?;
            // Always said, even with --quiet: nothing reaches HubSpot.
            let doing = if job.common.dry_run {
                "checking against"
            } else {
                "syncing into"
            };
            console::line(format!(
                "No HUBSPOT_TOKEN and no base URL: {doing} an embedded hubspot-fake at {} \
                 (in this process; nothing leaves the machine).",
                fake.base_url()
            ));
            (
                fake.base_url(),
                TokenSource::token(EMBEDDED_TOKEN),
                Some(fake),
            )
        }
    };
    // An explicit --rate-limit is a cap; without one the client follows
    // HubSpot's headers, and the embedded fake (no limit) an unlimited one.
    let limit = job
        .common
        .rate_limit
        .or(fake.as_ref().map(|_| RateLimit::Unlimited));
    let builder = job
        .common
        .budget
        .apply(
            Client::builder(),
            &base_url,
            job.common.token_file.as_deref(),
        )
        .map_err(RunError::Config)?;
    let builder = match limit {
        Some(limit) => builder.rate_limit(limit),
        None => builder,
    };
    let client = builder
        .base_url(base_url)
        .token_source(credentials)
        .api_version(job.api_version())
        .build()
        .map_err(|error| match error {
            SdkError::InsecureHttp { host } => RunError::Config(format!(
                "refusing to send the token over plain http to {host}: use an https:// base URL \
                 (plain http is only used for localhost)"
            )),
            other => RunError::Config(other.to_string()),
        })?;
    Ok((client, fake))
}

/// The portal's contact properties, for the preflight.
async fn fetch_catalogue(client: &Client) -> Result<Catalogue, RunError> {
    client.contact_properties().await.map_err(|error| {
        let mut cause: &dyn std::error::Error = &error;
        while let Some(inner) = cause.source() {
            cause = inner;
        }
        let cause = if std::ptr::addr_eq(cause, &error) {
            String::new()
        } else {
            format!(" ({cause})")
        };
        let message = format!(
            "the preflight cannot read the portal's contact properties, so nothing was \
             written: {error}{cause}"
        );
        match &error {
            SdkError::Api(api) if api.status == 403 => RunError::Aborted(format!(
                "{message}\nreading properties needs the crm.schemas.contacts.read scope; \
                 --no-preflight skips the check"
            )),
            SdkError::Config(_) => RunError::Config(message),
            _ => RunError::Aborted(message),
        }
    })
}

fn sink_error(error: SinkError) -> RunError {
    match error {
        SinkError::Input(message) => RunError::Config(message),
        SinkError::Write(message) => RunError::Write(message),
    }
}

async fn finish(
    job: &Job,
    sink: Sink,
    summary: Summary,
    fake: Option<FakeHubSpot>,
) -> Result<u8, RunError> {
    if !job.common.quiet {
        let hidden = sink.hidden_problems();
        if hidden > 0 {
            let hint = if job.common.report.is_some() {
                "all are in the report"
            } else {
                "--report FILE.jsonl lists them all"
            };
            console::line(format!(
                "... and {hidden} more failed or unknown rows ({hint})"
            ));
        }
        console::line(&summary);
    }
    if let Some(fake) = fake {
        let held = fake.contacts().iter().filter(|c| !c.archived).count();
        console::line(format!(
            "The embedded hubspot-fake now holds {held} contacts (it stops with this command; \
             set HUBSPOT_TOKEN to sync into HubSpot)."
        ));
        fake.shutdown().await;
    }
    if let Some(error) = sink.error {
        return Err(sink_error(error));
    }
    Ok(if summary.interrupted {
        EXIT_INTERRUPTED
    } else if summary.aborted.is_some() {
        EXIT_ABORTED
    } else if summary.has_problems() {
        EXIT_ROWS_FAILED
    } else {
        EXIT_OK
    })
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

/// Rows an earlier run settled, skipped by this one.
#[derive(Clone, Copy, Debug, Default)]
struct SkippedRows {
    settled: u64,
    problems: u64,
}

/// What the input adapter and the outcome loop share.
struct RowTracker {
    key: Key,
    /// On --resume: where each row got to in the earlier runs.
    states: Option<RowStates>,
    /// Whether the operation's inputs carry a trace id.
    traced: bool,
    /// Whether rows an earlier run left unknown are sent again (idempotent
    /// operations; a create's never are).
    resend_unknown: bool,
    /// The start of every trace id of this run (`hc-<start time>-<row>`).
    trace_prefix: String,
    pending: Mutex<Pending>,
    skipped: Mutex<SkippedRows>,
    sink: Mutex<Sink>,
}

impl RowTracker {
    /// Whether an earlier run settled the row (then it is skipped).
    fn already_settled(&self, row: u64) -> bool {
        self.states
            .as_ref()
            .is_some_and(|states| states.get(row).is_final(self.resend_unknown))
    }

    /// Journals the rows of inputs `indices` as sent, the first time their
    /// request is about to leave.
    fn sending(&self, indices: &[usize]) {
        let mut pending = lock(&self.pending);
        let rows = pending.first_sent(indices);
        if rows.is_empty() {
            return;
        }
        let mut sink = lock(&self.sink);
        for row in rows {
            sink.sent(row.row, row.line, &row.label, row.trace_id.as_deref());
        }
        sink.sent_durably();
    }

    /// Counts a skipped row.
    fn skip(&self, row: u64) {
        let problem = self
            .states
            .as_ref()
            .is_some_and(|states| states.get(row).is_problem());
        let mut skipped = lock(&self.skipped);
        skipped.settled += 1;
        skipped.problems += u64::from(problem);
    }
}

/// Where each row handed to the SDK came from, by its input index, until its
/// outcome comes back. Outcomes come in input order, so this holds at most
/// the rows in flight.
#[derive(Default)]
struct Pending {
    /// The inputs handed to the SDK and not settled yet, in input order.
    rows: VecDeque<PendingRow>,
    next_index: usize,
}

/// A row handed to the SDK, until its outcome comes back.
struct PendingRow {
    /// Its position among the SDK's inputs.
    index: usize,
    row: u64,
    line: u64,
    /// The reader's notes on it.
    notes: Vec<String>,
    /// Its key, as the report shows it.
    label: String,
    /// The trace id its input carries, if the operation has one.
    trace_id: Option<String>,
    /// Whether its `sent` line is written.
    sent: bool,
}

impl Pending {
    /// Records the next input handed to the SDK.
    fn push(
        &mut self,
        row: u64,
        line: u64,
        notes: Vec<String>,
        label: String,
        trace_id: Option<String>,
    ) {
        self.rows.push_back(PendingRow {
            index: self.next_index,
            row,
            line,
            notes,
            label,
            trace_id,
            sent: false,
        });
        self.next_index += 1;
    }

    /// The rows of inputs `indices` whose `sent` line is not written yet,
    /// marked as written.
    fn first_sent(&mut self, indices: &[usize]) -> Vec<&PendingRow> {
        // Inputs settle in order, so the front is input `first`.
        let first = self.rows.front().map_or(0, |pending| pending.index);
        let mut marked = Vec::with_capacity(indices.len());
        for &index in indices {
            if let Some(pending) = index
                .checked_sub(first)
                .and_then(|offset| self.rows.get_mut(offset))
                .filter(|pending| pending.index == index && !pending.sent)
            {
                pending.sent = true;
                marked.push(index - first);
            }
        }
        marked
            .iter()
            .filter_map(|&offset| self.rows.get(offset))
            .collect()
    }

    /// The row, line and notes of input `index`, forgetting it and any before it.
    fn take(&mut self, index: usize) -> (u64, u64, Vec<String>) {
        while let Some(pending) = self.rows.pop_front() {
            if pending.index == index {
                return (pending.row, pending.line, pending.notes);
            }
        }
        (0, 0, Vec::new())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The rows as SDK inputs. Rows an earlier run settled are skipped; bad rows
/// are reported as they are read; each good row is remembered until its
/// outcome comes back, and journaled as sent (with its trace id) when its
/// request is about to leave ([`RowTracker::sending`]).
fn inputs<T, F>(
    rows: &Rows,
    tracker: &Arc<RowTracker>,
    convert: F,
) -> InputStream<BoxStream<'static, T>>
where
    T: Send + 'static,
    F: Fn(&Key, Fields, String) -> Result<T, RowError> + Send + 'static,
{
    let tracker = Arc::clone(tracker);
    InputStream(
        rows.stream()
            .take_while({
                let tracker = Arc::clone(&tracker);
                move |_| futures::future::ready(!lock(&tracker.sink).write_failed_already())
            })
            .filter_map(move |item| futures::future::ready(next_input(&tracker, item, &convert)))
            .boxed(),
    )
}

fn next_input<T>(
    tracker: &RowTracker,
    item: Item,
    convert: &impl Fn(&Key, Fields, String) -> Result<T, RowError>,
) -> Option<T> {
    let row = match item {
        Item::Failed(message) => {
            lock(&tracker.sink).input_failed(message);
            return None;
        }
        Item::Row(row) => row,
    };
    if tracker.already_settled(row.number) {
        tracker.skip(row.number);
        return None;
    }
    let trace_id = format!("{}-{}", tracker.trace_prefix, row.number);
    let fields = match row.content {
        Ok(fields) => fields,
        Err(error) => {
            let label = tracker.key.label(&error.fields);
            lock(&tracker.sink).bad_row(row.number, row.line, &label, &error);
            return None;
        }
    };
    let label = tracker.key.label(&fields);
    match convert(&tracker.key, fields, trace_id.clone()) {
        Ok(input) => {
            let trace_id = tracker.traced.then_some(trace_id);
            lock(&tracker.pending).push(row.number, row.line, row.notes, label, trace_id);
            Some(input)
        }
        Err(error) => {
            lock(&tracker.sink).bad_row(row.number, row.line, &label, &error);
            None
        }
    }
}
