//! Where rows go as they are sent and settled: the report (journal), the
//! `read` output, the counts, the progress line and the first problems on
//! stderr. Nothing is collected: each row is written and forgotten.

use std::{
    fs::File,
    io::{IsTerminal, Write},
    time::Duration,
};

use hubspot_contacts_batch::{
    InputOutcome, Outcome,
    batch::{ClientCategory, OutcomeCounts},
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::{console, report, report::ReportWriter, row::RowError};

/// Problem rows printed on stderr at most; the report has them all.
const MAX_PROBLEMS_SHOWN: u64 = 10;

/// Why the run as a whole failed, beside its rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SinkError {
    /// The input could not be read further.
    Input(String),
    /// The report or the output could not be written.
    Write(String),
}

/// The run's sink.
#[derive(Default)]
pub struct Sink {
    report: Option<ReportWriter<File>>,
    output: Option<Box<dyn Write + Send>>,
    /// Outcomes of the rows the SDK settled (and those never sent).
    pub counts: OutcomeCounts,
    /// Rows settled in this run, bad ones included.
    pub rows: u64,
    /// Rows refused before sending.
    pub bad_rows: u64,
    /// Rows that failed, were not sent or ended unknown.
    pub problems: u64,
    quiet: bool,
    progress: Option<ProgressBar>,
    /// The first error that fails the run as a whole.
    pub error: Option<SinkError>,
}

impl Sink {
    /// A sink writing to `report` (if any) and, for `read`, `output`.
    pub fn new(
        report: Option<ReportWriter<File>>,
        output: Option<Box<dyn Write + Send>>,
        quiet: bool,
    ) -> Self {
        Self {
            report,
            output,
            quiet,
            progress: progress_line(quiet),
            ..Self::default()
        }
    }

    /// Records that a row is handed to HubSpot, before its request goes out
    /// (when there is a report).
    pub fn sent(&mut self, row: u64, line: u64, key: &str, trace_id: Option<&str>) {
        if let Some(report) = &mut self.report
            && let Err(error) = report.sent(row, line, key, trace_id)
        {
            self.write_failed(error);
        }
    }

    /// Makes the `sent` lines written so far durable before their request
    /// leaves, so a resume after a power cut still knows they may have
    /// reached HubSpot.
    pub fn sent_durably(&mut self) {
        if let Some(report) = &mut self.report
            && let Err(error) = report.sync()
        {
            self.write_failed(error);
        }
    }

    /// A row refused before sending.
    pub fn bad_row(&mut self, row: u64, line: u64, key: &str, error: &RowError) {
        let message = error.message.as_str();
        self.rows += 1;
        self.bad_rows += 1;
        let mut entry = report::bad_row_entry(row, line, key, message);
        if let Some(failure) = &mut entry.error {
            failure.code = error.code.as_deref();
        }
        self.entry(&entry);
        self.problem(
            line,
            key,
            &format!("failed: {}: {message}", ClientCategory::InvalidInput),
        );
        self.tick();
    }

    /// A row a stopped run never sent.
    pub fn not_sent(&mut self, row: u64, line: u64, key: &str, reason: &str) {
        self.rows += 1;
        self.counts.add(&Outcome::NotSent {
            reason: String::new(),
        });
        self.entry(&report::not_sent_entry(row, line, key, reason));
        self.problem(line, key, &format!("not sent: {reason}"));
        self.tick();
    }

    /// A valid row of a dry run, with what the reader changed in it.
    pub fn valid(&mut self, row: u64, line: u64, key: &str, notes: &[String]) {
        self.rows += 1;
        let mut entry = report::valid_row_entry(row, line, key);
        entry.notes = notes;
        self.entry(&entry);
    }

    /// A row the SDK settled, with what the reader changed in it.
    pub fn outcome(&mut self, row: u64, line: u64, notes: &[String], settled: &InputOutcome) {
        let key = settled
            .key
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        self.settled(row, line, &key, notes, &settled.outcome);
    }

    /// A row settled with `outcome` (by the SDK, or by reading it back on --resume).
    pub fn settled(&mut self, row: u64, line: u64, key: &str, notes: &[String], outcome: &Outcome) {
        if let Outcome::Read(contact) = outcome {
            // A contact read is recorded only once it is in the output; if
            // the output fails, the row stays in flight for --resume.
            let Some(out) = &mut self.output else {
                return;
            };
            let written = serde_json::to_writer(&mut *out, contact.as_ref())
                .map_err(std::io::Error::from)
                .and_then(|()| out.write_all(b"\n"))
                .and_then(|()| out.flush());
            if let Err(error) = written {
                self.error.get_or_insert(SinkError::Write(format!(
                    "cannot write the contacts read: {error}"
                )));
                self.output = None;
                return;
            }
        }
        self.rows += 1;
        self.counts.add(outcome);
        let mut entry = report::outcome_entry(row, line, key, outcome);
        entry.notes = notes;
        self.entry(&entry);
        if !outcome.is_success() {
            self.problem(line, key, &outcome.to_string());
        }
        self.tick();
    }

    fn entry(&mut self, entry: &report::Entry<'_>) {
        if let Some(report) = &mut self.report
            && let Err(error) = report.write(entry)
        {
            self.write_failed(error);
        }
    }

    fn write_failed(&mut self, error: std::io::Error) {
        self.error.get_or_insert(SinkError::Write(format!(
            "cannot write the report: {error}"
        )));
        self.report = None;
    }

    fn problem(&mut self, line: u64, key: &str, what: &str) {
        self.problems += 1;
        if self.quiet || self.problems > MAX_PROBLEMS_SHOWN {
            return;
        }
        let text = crate::row::capped(if key.is_empty() {
            format!("line {line}: {what}")
        } else {
            format!("line {line} ({key}): {what}")
        });
        match &self.progress {
            Some(bar) => bar.suspend(|| console::line(&text)),
            None => console::line(&text),
        }
    }

    fn tick(&self) {
        if let Some(bar) = &self.progress
            && self.rows.is_multiple_of(64)
        {
            bar.set_message(format!("{} rows settled", self.rows));
        }
    }

    /// Whether the report or the output failed: nothing more is sent, since
    /// what comes back could not be recorded.
    pub fn write_failed_already(&self) -> bool {
        matches!(self.error, Some(SinkError::Write(_)))
    }

    /// Whether the run ends before the end of the file: the input could not
    /// be read further, or the report or the output could not be written.
    pub fn ended_early(&self) -> bool {
        self.error.is_some()
    }

    /// The input could not be read further.
    pub fn input_failed(&mut self, message: String) {
        self.error.get_or_insert(SinkError::Input(message));
    }

    /// Problems beyond those printed.
    pub fn hidden_problems(&self) -> u64 {
        self.problems.saturating_sub(MAX_PROBLEMS_SHOWN)
    }

    /// Records in the report that the run read the whole file.
    pub fn finished(&mut self) {
        if let Some(report) = &mut self.report
            && let Err(error) = report.finished()
        {
            self.write_failed(error);
        }
    }

    /// Closes the report and the output, and clears the progress line.
    pub fn close(&mut self) {
        if let Some(report) = self.report.take()
            && let Err(error) = report.finish()
        {
            self.write_failed(error);
        }
        if let Some(mut out) = self.output.take()
            && let Err(error) = out.flush()
        {
            self.error.get_or_insert(SinkError::Write(format!(
                "cannot write the contacts read: {error}"
            )));
        }
        if let Some(bar) = self.progress.take() {
            bar.finish_and_clear();
        }
    }
}

/// A line counting the rows settled, on a terminal only.
fn progress_line(quiet: bool) -> Option<ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let line = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    line.set_message("0 rows settled");
    line.enable_steady_tick(Duration::from_millis(200));
    Some(line)
}
