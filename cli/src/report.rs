//! The `--report FILE.jsonl`: a journal in JSON Lines (see [`crate::journal`]
//! for its header and how `--resume` reads it), written as rows are sent and
//! settled, never collected in memory. Every outcome line names the API
//! version the run used:
//!
//! ```json
//! {"row":1,"line":2,"key":"email ada@example.com","outcome":"created","id":"1001","apiVersion":"2026-09"}
//! {"row":2,"line":3,"key":"","outcome":"failed","error":{"category":"INVALID_INPUT","message":"the key \"email\" is empty"},"apiVersion":"2026-09"}
//! ```
//!
//! Entry building is pure; [`ReportWriter`] does the writing.

use std::{
    collections::BTreeMap,
    io::{self, Write},
};

use hubspot_contacts_batch::{Outcome, batch::ClientCategory};
use serde::Serialize;

use crate::{journal::JournalHeader, row::capped};

/// One row's report entry, serialized with its fields in this order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Entry<'a> {
    /// The 1-based data row number.
    pub row: u64,
    /// The 1-based line of the file the row starts on.
    pub line: u64,
    /// The row's key as the SDK labels it (`email ada@example.com`), or empty.
    pub key: &'a str,
    /// `created`, `updated`, `read`, `archived`, `accepted`, `failed`,
    /// `not_sent`, `unknown`, or `valid` in a dry run.
    pub outcome: &'static str,
    /// The record id, when the outcome names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<&'a str>,
    /// Why the row failed or ended unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<EntryError<'a>>,
    /// What the reader changed in the row (an email trimmed, …).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub notes: &'a [String],
}

/// The error of a failed or unknown row, in HubSpot's words when HubSpot refused it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryError<'a> {
    /// HubSpot's category (`VALIDATION_ERROR`, …), or the client's:
    /// `INVALID_INPUT` for rows refused before sending, `MISSING_FROM_RESPONSE`,
    /// `ALREADY_EXISTED`, `NOT_SENT` for rows never sent, `UNKNOWN` for rows
    /// whose fate is unknown; `HTTP_<status>` for a refusal without a category.
    pub category: String,
    /// HubSpot's machine-readable cause (`MISSING_REQUIRED_PROPERTY`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'a str>,
    /// The message, cut at [`crate::row::MAX_MESSAGE_CHARS`] characters.
    pub message: String,
    /// The HTTP status of the response that refused the row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// HubSpot's correlation id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<&'a str>,
    /// HubSpot's context (`propertyName`, `ids`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<&'a BTreeMap<String, Vec<String>>>,
}

impl<'a> EntryError<'a> {
    fn plain(category: &str, message: impl Into<String>) -> Self {
        Self {
            category: category.to_owned(),
            code: None,
            message: message.into(),
            status: None,
            correlation_id: None,
            context: None,
        }
    }
}

/// The report entry of a row the SDK settled.
pub fn outcome_entry<'a>(row: u64, line: u64, key: &'a str, outcome: &'a Outcome) -> Entry<'a> {
    let (name, id, error) = match outcome {
        Outcome::Created { id } => ("created", Some(id.as_str()), None),
        Outcome::Updated { id } => ("updated", Some(id.as_str()), None),
        Outcome::Read(contact) => ("read", Some(contact.id.as_str()), None),
        Outcome::Archived => ("archived", None, None),
        Outcome::Accepted => ("accepted", None, None),
        Outcome::Failed(failure) => (
            "failed",
            None,
            Some(EntryError {
                category: failure
                    .category
                    .clone()
                    .or_else(|| failure.client.map(|client| client.name().to_owned()))
                    .unwrap_or_else(|| match failure.status {
                        Some(status) => format!("HTTP_{status}"),
                        None => "UNKNOWN".to_owned(),
                    }),
                code: failure.code.as_deref(),
                message: capped(failure.message.clone()),
                status: failure.status,
                correlation_id: failure.correlation_id.as_deref(),
                context: Some(&failure.context).filter(|c| !c.is_empty()),
            }),
        ),
        Outcome::Unknown { reason } => (
            "unknown",
            None,
            Some(EntryError::plain("UNKNOWN", capped(reason.clone()))),
        ),
        Outcome::NotSent { reason } => (
            "not_sent",
            None,
            Some(EntryError::plain("NOT_SENT", reason)),
        ),
        other => (
            "other",
            None,
            Some(EntryError::plain("UNKNOWN", other.to_string())),
        ),
    };
    Entry {
        row,
        line,
        key,
        outcome: name,
        id,
        error,
        notes: &[],
    }
}

/// The report entry of a row that could not be read or keyed: failed with
/// category `INVALID_INPUT`.
pub fn bad_row_entry<'a>(row: u64, line: u64, key: &'a str, message: &str) -> Entry<'a> {
    Entry {
        row,
        line,
        key,
        outcome: "failed",
        id: None,
        error: Some(EntryError::plain(
            ClientCategory::InvalidInput.name(),
            capped(message.to_owned()),
        )),
        notes: &[],
    }
}

/// The report entry of a row a stopped run never handed to the SDK.
pub fn not_sent_entry<'a>(row: u64, line: u64, key: &'a str, reason: &str) -> Entry<'a> {
    Entry {
        row,
        line,
        key,
        outcome: "not_sent",
        id: None,
        error: Some(EntryError::plain("NOT_SENT", reason)),
        notes: &[],
    }
}

/// The report entry of a valid row in a `--dry-run`.
pub fn valid_row_entry(row: u64, line: u64, key: &str) -> Entry<'_> {
    Entry {
        row,
        line,
        key,
        outcome: "valid",
        id: None,
        error: None,
        notes: &[],
    }
}

/// An entry as written: the row's fields, then the API version of the run.
#[derive(Serialize)]
struct Stamped<'e, 'a> {
    #[serde(flatten)]
    entry: &'e Entry<'a>,
    #[serde(rename = "apiVersion")]
    api_version: &'e str,
}

/// The line recording that a row is about to be sent.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Sent<'a> {
    row: u64,
    line: u64,
    key: &'a str,
    sent: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    trace_id: Option<&'a str>,
}

/// Writes the journal: the header, then one line per event, each flushed to
/// the file as it is written, so a killed run leaves every line it finished.
#[derive(Debug)]
pub struct ReportWriter<W: Write> {
    out: W,
    api_version: String,
    line: Vec<u8>,
}

impl<W: Write> ReportWriter<W> {
    /// Starts a journal (or continues one, on `--resume`) with `header`.
    pub fn new(out: W, header: &JournalHeader) -> io::Result<Self> {
        let mut writer = Self {
            out,
            api_version: header.api_version.clone(),
            line: Vec::with_capacity(256),
        };
        writer.put(header)?;
        Ok(writer)
    }

    /// Records that the row is handed to HubSpot, with the trace id its input
    /// carries (creates, upserts and updates have one).
    pub fn sent(
        &mut self,
        row: u64,
        line: u64,
        key: &str,
        trace_id: Option<&str>,
    ) -> io::Result<()> {
        self.put(&Sent {
            row,
            line,
            key,
            sent: true,
            trace_id,
        })
    }

    /// Records a row's outcome.
    pub fn write(&mut self, entry: &Entry<'_>) -> io::Result<()> {
        let api_version = std::mem::take(&mut self.api_version);
        let written = self.put(&Stamped {
            entry,
            api_version: &api_version,
        });
        self.api_version = api_version;
        written
    }

    /// Records that the run read the whole file (the journal's last line).
    pub fn finished(&mut self) -> io::Result<()> {
        self.put(&serde_json::json!({ "finished": true }))
    }

    /// Flushes and hands back the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }

    /// One line, written whole and flushed.
    fn put(&mut self, value: &impl Serialize) -> io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, value)?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        self.out.flush()
    }
}

impl ReportWriter<std::fs::File> {
    /// Makes the lines written so far durable (fsync), so that not even a
    /// power cut loses them; a device (`/dev/null`) has nothing to keep.
    pub fn sync(&mut self) -> io::Result<()> {
        if self.out.metadata()?.is_file() {
            self.out.sync_data()
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use hubspot_contacts_batch::batch::InputFailure;
    use serde_json::{Value, json};

    use super::*;

    fn value(entry: Entry<'_>) -> Value {
        serde_json::to_value(entry).unwrap()
    }

    #[test]
    fn entries_carry_row_line_key_outcome_and_hubspot_error() {
        let created = Outcome::Created { id: "7".into() };
        assert_eq!(
            value(outcome_entry(1, 2, "email a@b.co", &created)),
            json!({"row":1,"line":2,"key":"email a@b.co","outcome":"created","id":"7"})
        );
        let failure = InputFailure {
            category: Some("VALIDATION_ERROR".into()),
            client: None,
            code: Some("INVALID_EMAIL".into()),
            message: "Email address bad is invalid".into(),
            context: BTreeMap::from([("propertyName".to_owned(), vec!["email".to_owned()])]),
            status: Some(207),
            correlation_id: None,
        };
        let failure = Outcome::Failed(failure);
        let failed = value(outcome_entry(3, 5, "email bad", &failure));
        assert_eq!(
            failed["error"],
            json!({"category":"VALIDATION_ERROR","code":"INVALID_EMAIL","message":"Email address bad is invalid","status":207,"context":{"propertyName":["email"]}})
        );
        let reason = Outcome::Unknown {
            reason: "reset".into(),
        };
        let unknown = value(outcome_entry(4, 6, "", &reason));
        assert_eq!(unknown["outcome"], "unknown");
        assert_eq!(unknown["error"]["message"], "reset");
        let bad = value(bad_row_entry(5, 9, "", "bad quoting"));
        assert_eq!(bad["error"]["category"], "INVALID_INPUT");
        assert_eq!(value(valid_row_entry(1, 2, "id 3"))["outcome"], "valid");
        let text = serde_json::to_string(&created_entry()).unwrap();
        assert!(text.starts_with(r#"{"row":1,"line":2,"key":"#), "{text}");
    }

    fn created_entry() -> Entry<'static> {
        valid_row_entry(1, 2, "")
    }

    #[test]
    fn lines_are_made_durable_in_a_file_and_a_device_is_left_alone() {
        let header = crate::journal::tests_support::header();
        let path = std::env::temp_dir().join(format!("report-sync-{}.jsonl", std::process::id()));
        let file = std::fs::File::create(&path).unwrap();
        let mut writer = ReportWriter::new(file, &header).unwrap();
        writer.sent(1, 2, "email a@example.com", None).unwrap();
        writer.sync().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
        std::fs::remove_file(&path).unwrap();
        let null = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/null")
            .unwrap();
        let mut device = ReportWriter::new(null, &header).unwrap();
        device.sync().unwrap();
    }

    #[test]
    fn the_journal_is_one_json_object_per_line_header_first() {
        let header = crate::journal::tests_support::header();
        let mut writer = ReportWriter::new(Vec::new(), &header).unwrap();
        writer.sent(1, 2, "email a@b.co", Some("t-1")).unwrap();
        writer.write(&created_entry()).unwrap();
        writer.sent(2, 3, "", None).unwrap();
        let bytes = writer.finish().unwrap();
        let lines: Vec<Value> = bytes
            .split(|&b| b == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| serde_json::from_slice(line).unwrap())
            .collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0]["journal"], "hubspot-contacts");
        assert_eq!(
            lines[1],
            json!({"row":1,"line":2,"key":"email a@b.co","sent":true,"traceId":"t-1"})
        );
        assert_eq!(lines[2]["apiVersion"], header.api_version.as_str());
        assert_eq!(lines[2]["outcome"], "valid");
        assert_eq!(lines[3], json!({"row":2,"line":3,"key":"","sent":true}));
        let recovered = crate::journal::read(bytes.as_slice()).unwrap();
        assert_eq!(recovered.first, header);
        assert_eq!(
            recovered.rows.get(1),
            crate::journal::RowState::Unseen,
            "a dry run's valid row is still to be sent"
        );
        assert_eq!(recovered.rows.get(2), crate::journal::RowState::InFlight);
    }
}
