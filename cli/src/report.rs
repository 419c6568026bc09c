//! The `--report FILE.json`: one entry per input row, written as a JSON array
//! as rows are settled (never collected in memory). Every entry names the API
//! version the run used.
//!
//! ```json
//! [
//! {"row":1,"line":2,"key":"email ada@example.com","outcome":"created","id":"1001","apiVersion":"2026-09"},
//! {"row":2,"line":3,"key":"","outcome":"failed","error":{"category":"INVALID_INPUT","message":"the key \"email\" is empty"},"apiVersion":"2026-09"}
//! ]
//! ```
//!
//! Entry building is pure; [`ReportWriter`] does the writing.

use std::{
    collections::BTreeMap,
    io::{self, Write},
};

use hubspot_contacts_batch::{Outcome, batch::ClientCategory};
use serde::Serialize;

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
    /// The message.
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
                message: failure.message.clone(),
                status: failure.status,
                correlation_id: failure.correlation_id.as_deref(),
                context: Some(&failure.context).filter(|c| !c.is_empty()),
            }),
        ),
        Outcome::Unknown { reason } => {
            ("unknown", None, Some(EntryError::plain("UNKNOWN", reason)))
        }
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
            message,
        )),
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

/// Writes entries as one JSON array, one entry per line, as they come; each
/// entry names the API version the run used.
#[derive(Debug)]
pub struct ReportWriter<W: Write> {
    out: W,
    entries: u64,
    api_version: String,
}

impl<W: Write> ReportWriter<W> {
    /// Opens the array of a run against `api_version` (`2026-09`, `v3`, `v1`, …).
    pub fn new(mut out: W, api_version: String) -> io::Result<Self> {
        out.write_all(b"[")?;
        Ok(Self {
            out,
            entries: 0,
            api_version,
        })
    }

    /// Appends one entry.
    pub fn write(&mut self, entry: &Entry<'_>) -> io::Result<()> {
        self.out
            .write_all(if self.entries == 0 { b"\n" } else { b",\n" })?;
        let stamped = Stamped {
            entry,
            api_version: &self.api_version,
        };
        serde_json::to_writer(&mut self.out, &stamped)?;
        self.entries += 1;
        Ok(())
    }

    /// Closes the array and flushes.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.write_all(b"\n]\n")?;
        self.out.flush()?;
        Ok(self.out)
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
    fn the_report_is_a_json_array_whatever_the_number_of_entries() {
        for n in [0u64, 1, 3] {
            let mut writer = ReportWriter::new(Vec::new(), "2026-09".to_owned()).unwrap();
            for row in 1..=n {
                writer.write(&valid_row_entry(row, row + 1, "")).unwrap();
            }
            let bytes = writer.finish().unwrap();
            let parsed: Vec<Value> = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(parsed.len() as u64, n);
            for entry in &parsed {
                assert_eq!(entry["apiVersion"], "2026-09", "{entry}");
                assert_eq!(entry["outcome"], "valid", "{entry}");
            }
        }
    }
}
