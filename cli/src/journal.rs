//! The report read back as a journal, for `--resume`: its header (what run
//! wrote it) and the state each row reached. Pure: lines in, state out.
//!
//! The report is JSON Lines. Its first line is a [`JournalHeader`]; a resumed
//! run appends another header. Each row then has a `sent` line written before
//! its request goes out, and a line with its `outcome` once it is settled:
//!
//! ```json
//! {"journal":"hubspot-contacts","version":1,"command":"create","key":null,"file":"/data/leads.csv","fingerprint":{"size":1300,"sha256":"…"},"apiVersion":"2026-09","target":"https://api.hubapi.com","startedAt":"2026-12-02T09:00:00.000Z","resumed":false}
//! {"row":1,"line":2,"key":"","sent":true,"traceId":"hc-19ad4a3b2c0-1"}
//! {"row":1,"line":2,"key":"","outcome":"created","id":"1001","apiVersion":"2026-09"}
//! {"finished":true}
//! ```
//!
//! The last line, `finished`, says the run read the whole file.

use std::io::{self, BufRead};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What the first line of a journal says, so the right file is resumed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalHeader {
    /// Always [`JournalHeader::MAGIC`].
    pub journal: String,
    /// The journal format's version.
    pub version: u32,
    /// The subcommand (`create`, `upsert`, …).
    pub command: String,
    /// What keys each row (`email`, `id`, …), if anything.
    pub key: Option<String>,
    /// The input file as given.
    pub file: String,
    /// The input file's size and digest (none for standard input).
    pub fingerprint: Option<Fingerprint>,
    /// The API version the rows go to.
    pub api_version: String,
    /// Where the rows go: a base URL, or the embedded fake.
    pub target: String,
    /// When the run started (RFC 3339, UTC), on this machine's clock.
    pub started_at: String,
    /// When the run started on HubSpot's clock (the `Date` of the
    /// preflight's answer, to the second), if it had a preflight: a resume
    /// compares HubSpot's creation times with it, so this machine's clock
    /// does not matter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hubspot_started_at: Option<String>,
    /// Whether this run resumed an earlier one.
    pub resumed: bool,
    /// Whether this was a dry run (nothing sent).
    #[serde(default)]
    pub dry_run: bool,
    /// The `--map` pairs (column, property): a resumed run must send the
    /// same columns to the same properties.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub map: Vec<(String, String)>,
}

impl JournalHeader {
    /// The `journal` value of every header.
    pub const MAGIC: &'static str = "hubspot-contacts";
    /// The format this build writes and reads.
    pub const VERSION: u32 = 1;

    /// The line between what the run may have created and what existed
    /// before it, for reading back rows it left in flight: the start on
    /// HubSpot's clock when known, else on this machine's.
    pub fn creation_line(&self) -> Result<DateTime<Utc>, String> {
        let at = self.hubspot_started_at.as_ref().unwrap_or(&self.started_at);
        DateTime::parse_from_rfc3339(at)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|error| format!("the report's start time {at:?} is not a time: {error}"))
    }

    /// Why a run described by `self` cannot resume the journal that `earlier`
    /// heads, if it cannot.
    pub fn refuses_to_resume(&self, earlier: &JournalHeader) -> Option<String> {
        if earlier.dry_run {
            return Some("it records a dry run, which sent nothing".into());
        }
        let differs = |what: &str, then: &dyn std::fmt::Display, now: &dyn std::fmt::Display| {
            Some(format!("it records {what} {then}, this run has {now}"))
        };
        if earlier.command != self.command {
            return differs("the command", &earlier.command, &self.command);
        }
        if earlier.key != self.key {
            let key = |key: &Option<String>| key.clone().unwrap_or_else(|| "none".into());
            return differs("the key", &key(&earlier.key), &key(&self.key));
        }
        if earlier.api_version != self.api_version {
            return differs("API version", &earlier.api_version, &self.api_version);
        }
        // `http://host/` and `http://host` are one target.
        if earlier.target.trim_end_matches('/') != self.target.trim_end_matches('/') {
            return differs("the target", &earlier.target, &self.target);
        }
        if earlier.map != self.map {
            return Some("it records other --map pairs; give the same ones".into());
        }
        match (&earlier.fingerprint, &self.fingerprint) {
            (Some(then), Some(now)) if then == now => None,
            (Some(_), Some(_)) => Some(format!(
                "the input file changed since (it was {} then)",
                earlier.file
            )),
            _ => Some("standard input cannot be resumed: it cannot be read again".into()),
        }
    }
}

/// An input file's size and SHA-256 digest (hex), as `sha256sum` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Bytes.
    pub size: u64,
    /// Lower-case hex SHA-256 of the whole file.
    pub sha256: String,
}

impl Fingerprint {
    /// The most data rows the file can hold: every row but the first starts
    /// after a line break, of a byte at least.
    pub fn max_rows(&self) -> u64 {
        self.size.saturating_add(1)
    }
}

/// Where a row got to in the runs a journal records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowState {
    /// Never handed to HubSpot.
    Unseen,
    /// Its request may have gone out; no outcome came back.
    InFlight,
    /// Reported `not_sent` by a run that stopped: it is to be sent.
    NotSent,
    /// Settled as a success.
    Succeeded,
    /// Settled as failed.
    Problem,
    /// Settled as unknown: sent, its fate not known.
    Unknown,
}

impl RowState {
    fn code(self) -> u8 {
        self as u8
    }

    fn from_code(code: u8) -> Self {
        match code {
            1 => RowState::InFlight,
            2 => RowState::NotSent,
            3 => RowState::Succeeded,
            4 => RowState::Problem,
            5 => RowState::Unknown,
            _ => RowState::Unseen,
        }
    }

    /// Whether the row has its final outcome and is not sent again. An
    /// unknown row is final unless `resend_unknown` (an idempotent operation,
    /// which can safely be sent again to learn its fate).
    pub fn is_final(self, resend_unknown: bool) -> bool {
        match self {
            RowState::Succeeded | RowState::Problem => true,
            RowState::Unknown => !resend_unknown,
            RowState::Unseen | RowState::InFlight | RowState::NotSent => false,
        }
    }

    /// Whether the row ended failed or unknown.
    pub fn is_problem(self) -> bool {
        matches!(self, RowState::Problem | RowState::Unknown)
    }
}

/// Each row's state, one byte per row number, so a journal of millions of
/// rows stays small in memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowStates(Vec<u8>);

impl RowStates {
    /// The state of data row `row` (1-based).
    pub fn get(&self, row: u64) -> RowState {
        usize::try_from(row)
            .ok()
            .and_then(|row| self.0.get(row))
            .map_or(RowState::Unseen, |&code| RowState::from_code(code))
    }

    /// The last row number with a state of its own: every row past it is
    /// unseen.
    pub fn last_recorded(&self) -> u64 {
        u64::try_from(self.0.len().saturating_sub(1)).unwrap_or(u64::MAX)
    }

    /// Sets the state of data row `row`; a row number past what memory can
    /// hold (never one read from a file) is ignored.
    pub fn set(&mut self, row: u64, state: RowState) {
        self.try_set(row, state);
    }

    /// Sets the state of data row `row`, growing only if memory allows;
    /// whether it did.
    fn try_set(&mut self, row: u64, state: RowState) -> bool {
        let Some((index, len)) = usize::try_from(row)
            .ok()
            .and_then(|index| Some((index, index.checked_add(1)?)))
        else {
            return false;
        };
        if len > self.0.len() {
            if self.0.try_reserve(len - self.0.len()).is_err() {
                return false;
            }
            self.0.resize(len, RowState::Unseen.code());
        }
        self.0[index] = state.code();
        true
    }

    /// How many rows are in `state`.
    pub fn count(&self, state: RowState) -> u64 {
        self.0.iter().filter(|&&code| code == state.code()).count() as u64
    }
}

/// A journal as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovered {
    /// The first run's header.
    pub first: JournalHeader,
    /// Each row's last recorded state (none kept for standard input, which
    /// cannot be resumed).
    pub rows: RowStates,
    /// Bytes of whole lines: a line cut short by a kill is dropped, and the
    /// resumed run appends from here.
    pub intact_len: u64,
    /// Whether the last run recorded read the whole file.
    pub finished: bool,
}

impl Recovered {
    /// Whether a run with `--resume` would have work left: the last run did
    /// not read the whole file, or rows are in flight or were not sent.
    pub fn unfinished(&self) -> bool {
        !self.finished
            || self.rows.count(RowState::InFlight) > 0
            || self.rows.count(RowState::NotSent) > 0
    }
}

/// A line of the journal, with only the fields resuming needs.
#[derive(Deserialize)]
struct Line {
    journal: Option<String>,
    row: Option<u64>,
    #[serde(default)]
    sent: bool,
    outcome: Option<String>,
    #[serde(default)]
    finished: bool,
}

/// A journal line longer than this is damage, not an entry.
const MAX_LINE_BYTES: usize = 1 << 20;

/// Reads a journal. A last line without its line break (a run killed while
/// writing it) is left out; any other unreadable line is an error naming it.
pub fn read(mut input: impl BufRead) -> Result<Recovered, String> {
    let mut first = None;
    let mut rows = RowStates::default();
    let mut intact_len = 0u64;
    let mut finished = false;
    let mut number = 0u64;
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        let mut limited = io::Read::take(&mut input, MAX_LINE_BYTES as u64 + 1);
        let read = limited
            .read_until(b'\n', &mut buffer)
            .map_err(|error: io::Error| error.to_string())?;
        if read == 0 {
            break;
        }
        number += 1;
        if buffer.last() != Some(&b'\n') {
            if buffer.len() > MAX_LINE_BYTES {
                return Err(format!("line {number} is longer than any entry"));
            }
            // Cut short: the run was killed while writing it.
            break;
        }
        // An editor's byte order mark, and blank lines, say nothing.
        let text = match buffer.strip_prefix(b"\xEF\xBB\xBF") {
            Some(rest) if number == 1 => rest,
            _ => &buffer[..],
        };
        if text.iter().all(u8::is_ascii_whitespace) {
            intact_len += read as u64;
            continue;
        }
        let line: Line = serde_json::from_slice(text).map_err(|error| {
            format!(
                "line {number} is not a journal entry: {}",
                without_position(&error)
            )
        })?;
        match (&line.journal, line.row) {
            (Some(_), _) => {
                let header: JournalHeader = serde_json::from_slice(text).map_err(|error| {
                    format!(
                        "line {number} is not a journal header: {}",
                        without_position(&error)
                    )
                })?;
                if header.journal != JournalHeader::MAGIC
                    || header.version != JournalHeader::VERSION
                {
                    return Err(format!(
                        "line {number} is a header of another format ({} version {})",
                        header.journal, header.version
                    ));
                }
                first.get_or_insert(header);
                finished = false;
            }
            (None, None) if line.finished => finished = true,
            (None, Some(_)) if first.is_none() => {
                return Err(
                    "it does not start with a journal header (was it written by an older version?)"
                        .into(),
                );
            }
            (None, Some(row)) => {
                let state = match line.outcome.as_deref() {
                    Some("not_sent") => RowState::NotSent,
                    Some("unknown") => RowState::Unknown,
                    Some("valid") => RowState::Unseen,
                    Some(outcome) if is_success(outcome) => RowState::Succeeded,
                    Some(_) => RowState::Problem,
                    None if line.sent => RowState::InFlight,
                    None => return Err(format!("line {number} has neither an outcome nor sent")),
                };
                let fingerprint = first.as_ref().and_then(|first| first.fingerprint.as_ref());
                record(&mut rows, fingerprint, row, state)
                    .map_err(|why| format!("line {number} is not a journal entry: {why}"))?;
            }
            (None, None) => return Err(format!("line {number} names no row")),
        }
        intact_len += read as u64;
    }
    let first = first.ok_or(if number == 0 {
        "it is empty"
    } else {
        "it has no whole journal header line (was it written by hubspot-contacts --report?)"
    })?;
    Ok(Recovered {
        first,
        rows,
        intact_len,
        finished,
    })
}

/// Records that data row `row` of the input `fingerprint` names reached
/// `state`, or says why no row of that input has this number. Rows of
/// standard input (no fingerprint) bound nothing and are not kept: it cannot
/// be resumed.
fn record(
    rows: &mut RowStates,
    fingerprint: Option<&Fingerprint>,
    row: u64,
    state: RowState,
) -> Result<(), String> {
    let Some(fingerprint) = fingerprint else {
        return Ok(());
    };
    let max = fingerprint.max_rows();
    if row == 0 || row > max {
        return Err(format!(
            "row {row} cannot be one of the input's (rows are numbered from 1, and its {} \
             bytes hold {max} at most)",
            fingerprint.size
        ));
    }
    if !rows.try_set(row, state) {
        return Err(format!("row {row} is more rows than memory holds"));
    }
    Ok(())
}

/// A JSON error without serde's position inside the one line it read
/// ("at line 1 column 7"), which would be taken for a line of the file.
fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rsplit_once(" at line ") {
        Some((what, _)) if error.line() > 0 => what.to_owned(),
        _ => text,
    }
}

fn is_success(outcome: &str) -> bool {
    matches!(
        outcome,
        "created" | "updated" | "read" | "archived" | "accepted"
    )
}

/// A header for unit tests.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    /// An upsert's header.
    pub fn header() -> JournalHeader {
        header_for("upsert")
    }

    /// A header of `command`.
    pub fn header_for(command: &str) -> JournalHeader {
        JournalHeader {
            journal: JournalHeader::MAGIC.into(),
            version: JournalHeader::VERSION,
            command: command.into(),
            key: Some("email".into()),
            file: "in.csv".into(),
            fingerprint: Some(Fingerprint {
                size: 10,
                sha256: "ab".into(),
            }),
            api_version: "2026-09".into(),
            target: "http://127.0.0.1:1".into(),
            started_at: "2026-12-02T09:00:00.000Z".into(),
            hubspot_started_at: None,
            resumed: false,
            dry_run: false,
            map: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::header_for as header;
    use super::*;

    fn journal(lines: &[String]) -> String {
        lines.iter().map(|line| format!("{line}\n")).collect()
    }

    #[test]
    fn each_row_ends_in_its_last_recorded_state() {
        let text = journal(&[
            serde_json::to_string(&header("upsert")).unwrap(),
            r#"{"row":1,"line":2,"key":"a","sent":true,"traceId":"t1"}"#.into(),
            r#"{"row":2,"line":3,"key":"b","sent":true,"traceId":"t2"}"#.into(),
            r#"{"row":3,"line":4,"key":"","outcome":"failed","error":{"category":"INVALID_INPUT","message":"x"}}"#.into(),
            r#"{"row":1,"line":2,"key":"a","outcome":"created","id":"7"}"#.into(),
            r#"{"row":4,"line":5,"key":"d","outcome":"not_sent"}"#.into(),
        ]);
        let recovered = read(text.as_bytes()).unwrap();
        assert_eq!(recovered.first, header("upsert"));
        let states: Vec<RowState> = (1..=5).map(|row| recovered.rows.get(row)).collect();
        assert_eq!(
            states,
            [
                RowState::Succeeded,
                RowState::InFlight,
                RowState::Problem,
                RowState::NotSent,
                RowState::Unseen
            ]
        );
        assert_eq!(recovered.intact_len, text.len() as u64);
        assert_eq!(recovered.rows.count(RowState::InFlight), 1);
        assert!(!recovered.finished && recovered.unfinished());
    }

    #[test]
    fn a_run_that_read_the_whole_file_says_finished_until_resumed() {
        let header_line = serde_json::to_string(&header("upsert")).unwrap();
        let done = journal(&[
            header_line.clone(),
            r#"{"row":1,"line":2,"key":"a","outcome":"updated","id":"7"}"#.into(),
            r#"{"finished":true}"#.into(),
        ]);
        let recovered = read(done.as_bytes()).unwrap();
        assert!(recovered.finished && !recovered.unfinished());
        let resumed = format!("{done}{header_line}\n");
        assert!(!read(resumed.as_bytes()).unwrap().finished);
        let not_sent = journal(&[
            header_line,
            r#"{"row":1,"line":2,"key":"a","outcome":"not_sent"}"#.into(),
            r#"{"finished":true}"#.into(),
        ]);
        assert!(read(not_sent.as_bytes()).unwrap().unfinished());
    }

    #[test]
    fn a_line_cut_short_by_a_kill_is_left_out() {
        let whole = journal(&[
            serde_json::to_string(&header("create")).unwrap(),
            r#"{"row":1,"line":2,"key":"","sent":true}"#.into(),
        ]);
        let text = format!("{whole}{{\"row\":1,\"line\":2,\"key\":\"\",\"outco");
        let recovered = read(text.as_bytes()).unwrap();
        assert_eq!(recovered.rows.get(1), RowState::InFlight);
        assert_eq!(recovered.intact_len, whole.len() as u64);
    }

    #[test]
    fn damage_and_foreign_files_are_refused_naming_the_line() {
        let header_line = serde_json::to_string(&header("create")).unwrap();
        for (text, expected) in [
            (String::new(), "empty"),
            (
                "\u{1}binary without a line break".to_owned(),
                "no whole journal header",
            ),
            ("[\n".to_owned(), "line 1"),
            (
                journal(&[r#"{"row":1,"line":2,"key":"","sent":true}"#.into()]),
                "header",
            ),
            (journal(&[header_line.clone(), "{}".into()]), "line 2"),
            (
                journal(&[header_line.replace("\"version\":1", "\"version\":9")]),
                "another format",
            ),
        ] {
            let error = read(text.as_bytes()).unwrap_err();
            assert!(error.contains(expected), "{error} for {text:?}");
        }
    }

    #[test]
    fn an_editors_bom_and_blank_lines_are_harmless_and_errors_name_file_lines_only() {
        let header_line = serde_json::to_string(&header("create")).unwrap();
        let row = r#"{"row":1,"line":2,"key":"","sent":true}"#;
        let edited = format!("\u{feff}{header_line}\n\n{row}\n  \n");
        let recovered = read(edited.as_bytes()).unwrap();
        assert_eq!(recovered.rows.get(1), RowState::InFlight);
        assert_eq!(recovered.intact_len, edited.len() as u64);
        let error = read(journal(&[header_line, "{\"row\":".into()]).as_bytes()).unwrap_err();
        assert!(
            error.starts_with("line 2 is not a journal entry"),
            "{error}"
        );
        assert!(
            !error.contains("column"),
            "serde's position is left out: {error}"
        );
    }

    #[test]
    fn a_row_number_the_input_cannot_hold_is_damage_naming_the_line() {
        // The header's input is 10 bytes: rows 1 to 11 at most.
        let header_line = serde_json::to_string(&header("upsert")).unwrap();
        let sent = |row: &str| format!(r#"{{"row":{row},"line":2,"key":"x","sent":true}}"#);
        for row in ["0", "12", "1099511627776", "18446744073709551615"] {
            let text = journal(&[header_line.clone(), sent(row)]);
            let error = read(text.as_bytes()).unwrap_err();
            assert!(
                error.starts_with("line 2 is not a journal entry") && error.contains(row),
                "{error}"
            );
        }
        let last = journal(&[header_line, sent("11")]);
        let recovered = read(last.as_bytes()).unwrap();
        assert_eq!(recovered.rows.get(11), RowState::InFlight);
    }

    #[test]
    fn a_journal_of_standard_input_keeps_no_row_states() {
        let mut stdin = header("upsert");
        stdin.fingerprint = None;
        let text = journal(&[
            serde_json::to_string(&stdin).unwrap(),
            r#"{"row":18446744073709551615,"line":2,"key":"x","sent":true}"#.into(),
        ]);
        let recovered = read(text.as_bytes()).unwrap();
        assert_eq!(recovered.rows, RowStates::default());
    }

    #[test]
    fn a_run_resumes_only_its_own_journal() {
        let earlier = header("upsert");
        assert_eq!(header("upsert").refuses_to_resume(&earlier), None);
        let mut changed = header("upsert");
        changed.fingerprint.as_mut().unwrap().sha256 = "cd".into();
        assert!(
            changed
                .refuses_to_resume(&earlier)
                .unwrap()
                .contains("changed")
        );
        assert!(
            header("create")
                .refuses_to_resume(&earlier)
                .unwrap()
                .contains("command")
        );
        let mut slashed = header("upsert");
        slashed.target.push('/');
        assert_eq!(slashed.refuses_to_resume(&earlier), None, "one target");
        slashed.target = "https://elsewhere.example.com".into();
        assert!(slashed.refuses_to_resume(&earlier).is_some());
        let mut other_version = header("upsert");
        other_version.api_version = "v3".into();
        assert!(other_version.refuses_to_resume(&earlier).is_some());
        let mut stdin = header("upsert");
        stdin.fingerprint = None;
        assert!(
            stdin
                .refuses_to_resume(&earlier)
                .unwrap()
                .contains("standard input")
        );
        let mut mapped = header("upsert");
        mapped.map = vec![("Given".into(), "firstname".into())];
        assert!(
            mapped
                .refuses_to_resume(&earlier)
                .unwrap()
                .contains("--map")
        );
        let mut dry = header("upsert");
        dry.dry_run = true;
        assert!(header("upsert").refuses_to_resume(&dry).is_some());
    }

    #[test]
    fn row_states_grow_on_demand_and_default_to_unseen() {
        let mut states = RowStates::default();
        assert_eq!(states.get(1_000_000), RowState::Unseen);
        states.set(3, RowState::Succeeded);
        assert_eq!(states.get(3), RowState::Succeeded);
        assert!(states.get(3).is_final(true) && !states.get(2).is_final(false));
        states.set(4, RowState::Unknown);
        assert!(
            states.get(4).is_final(false),
            "a create's unknown row is never resent"
        );
        assert!(!states.get(4).is_final(true), "an upsert's is sent again");
        assert!(states.get(4).is_problem());
        for past_memory in [u64::MAX, u64::MAX / 2] {
            states.set(past_memory, RowState::Succeeded);
            assert_eq!(states.get(past_memory), RowState::Unseen);
        }
        assert_eq!(states.count(RowState::Succeeded), 1);
        assert_eq!(states.last_recorded(), 4);
        assert_eq!(RowStates::default().last_recorded(), 0);
    }
}
