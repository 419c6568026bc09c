//! What happened to each input, and the report of a whole batch run.

use std::{collections::BTreeMap, fmt, time::Duration};

use crate::types;

/// The category given to inputs refused before sending.
pub const INVALID_INPUT: &str = "INVALID_INPUT";
/// The category given to inputs HubSpot neither returned nor reported.
pub const MISSING_FROM_RESPONSE: &str = "MISSING_FROM_RESPONSE";

/// What happened to one input.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Outcome {
    /// The contact was created with this record id.
    Created {
        /// The new record id.
        id: String,
    },
    /// The contact with this record id was updated.
    Updated {
        /// The record id.
        id: String,
    },
    /// The contact was read.
    Read(Box<types::Contact>),
    /// The contact was archived (or did not exist, which HubSpot does not tell apart).
    Archived,
    /// The legacy batch endpoint accepted the contact; HubSpot applies it
    /// asynchronously and returns no id.
    Accepted,
    /// HubSpot, or the client before sending, refused the input.
    Failed(InputFailure),
    /// The request carrying the input may or may not have been applied: it was
    /// sent, then the connection failed, timed out or HubSpot answered 5xx.
    Unknown {
        /// What went wrong.
        reason: String,
    },
}

impl Outcome {
    /// True for created, updated, read, archived and accepted.
    pub fn is_success(&self) -> bool {
        !matches!(self, Self::Failed(_) | Self::Unknown { .. })
    }

    pub(crate) fn failed(category: &str, message: impl Into<String>) -> Self {
        Self::Failed(InputFailure {
            category: category.to_owned(),
            code: None,
            message: message.into(),
            context: BTreeMap::new(),
            status: None,
            correlation_id: None,
        })
    }
}

/// Why an input failed, in HubSpot's words when HubSpot refused it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputFailure {
    /// HubSpot's category (`VALIDATION_ERROR`, `OBJECT_NOT_FOUND`, `CONFLICT`,
    /// …), or [`INVALID_INPUT`] / [`MISSING_FROM_RESPONSE`] from the client.
    pub category: String,
    /// HubSpot's machine-readable cause: the first `errors[].code`
    /// (`MISSING_REQUIRED_PROPERTY`, `INVALID_OPTION`, …), else the `error` of
    /// the first validation result HubSpot embeds in its message; `None` when
    /// HubSpot gave neither.
    pub code: Option<String>,
    /// HubSpot's message, or the client's.
    pub message: String,
    /// HubSpot's context (`objectWriteTraceId`, `ids`, `propertyName`, …),
    /// with the context of each of its detailed causes merged in, so that
    /// `context["propertyName"]` names the properties at fault.
    pub context: BTreeMap<String, Vec<String>>,
    /// The HTTP status of the response that refused it (207 for a per-input error).
    pub status: Option<u16>,
    /// HubSpot's correlation id, when the whole request was refused.
    pub correlation_id: Option<String>,
}

impl InputFailure {
    pub(crate) fn from_item_error(status: u16, error: &types::BatchItemError) -> Self {
        let (message, code, context) = gather(&error.message, &error.errors, &error.context);
        Self {
            category: error
                .category
                .clone()
                .unwrap_or_else(|| "UNKNOWN".to_owned()),
            code,
            message,
            context,
            status: Some(status),
            correlation_id: None,
        }
    }

    pub(crate) fn from_error_body(status: u16, error: &types::Error) -> Self {
        let (message, code, context) = gather(&error.message, &error.errors, &error.context);
        Self {
            category: error
                .category
                .clone()
                .or_else(|| error.error_type.clone())
                .unwrap_or_else(|| format!("HTTP_{status}")),
            code,
            message,
            context,
            status: Some(status),
            correlation_id: error.correlation_id.clone(),
        }
    }

    /// The first property HubSpot names as the cause (`context.propertyName`).
    pub fn property_name(&self) -> Option<&str> {
        self.context.get(PROPERTY_NAME)?.first().map(String::as_str)
    }
}

/// The context key under which HubSpot names the property at fault.
const PROPERTY_NAME: &str = "propertyName";

/// One error's message, code and context, with its detailed causes folded in:
/// the details' messages appended when the top-level one lacks them (it can be
/// generic), their context merged, and the first code kept. HubSpot sometimes
/// gives the causes only as a JSON array inside the message ("Property values
/// were not valid: [{…"error":"INVALID_OPTION","name":"color"}]"); those count
/// too.
fn gather(
    message: &str,
    details: &[types::ErrorDetail],
    context: &BTreeMap<String, Vec<String>>,
) -> (String, Option<String>, BTreeMap<String, Vec<String>>) {
    let mut message = message.to_owned();
    let mut context = context.clone();
    let mut code = None;
    for detail in details {
        if !message.contains(&detail.message) {
            message.push_str("; ");
            message.push_str(&detail.message);
        }
        code = code.or_else(|| detail.code.clone());
        for (key, values) in &detail.context {
            merge(&mut context, key, values.iter().cloned());
        }
    }
    for (embedded_code, name) in embedded_causes(&message) {
        code = code.or(embedded_code);
        merge(&mut context, PROPERTY_NAME, name);
    }
    (message, code, context)
}

fn merge(
    context: &mut BTreeMap<String, Vec<String>>,
    key: &str,
    values: impl IntoIterator<Item = String>,
) {
    for value in values {
        let known = context.entry(key.to_owned()).or_default();
        if !known.contains(&value) {
            known.push(value);
        }
    }
}

/// The `(error, name)` pairs of the validation results HubSpot embeds as a
/// JSON array at the end of a message; none when there is no such array.
fn embedded_causes(message: &str) -> Vec<(Option<String>, Option<String>)> {
    #[derive(serde::Deserialize)]
    struct Cause {
        error: Option<String>,
        name: Option<String>,
    }
    let Some(start) = message.find(": [{") else {
        return Vec::new();
    };
    let array = &message[start + 2..];
    // Only a whole array counts; a message that merely quotes one does not.
    serde_json::from_str::<Vec<Cause>>(array)
        .map(|causes| causes.into_iter().map(|c| (c.error, c.name)).collect())
        .unwrap_or_default()
}

impl fmt::Display for InputFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.category, self.message)?;
        if let Some(id) = &self.correlation_id {
            write!(f, " [correlation id {id}]")?;
        }
        Ok(())
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Created { id } => write!(f, "created {id}"),
            Self::Updated { id } => write!(f, "updated {id}"),
            Self::Read(contact) => write!(f, "read {}", contact.id),
            Self::Archived => f.write_str("archived"),
            Self::Accepted => f.write_str("accepted"),
            Self::Failed(failure) => write!(f, "failed: {failure}"),
            Self::Unknown { reason } => write!(f, "unknown: {reason}"),
        }
    }
}

/// One input's outcome, with its position in the input and its key.
#[derive(Clone, Debug, PartialEq)]
pub struct InputOutcome {
    /// The input's 0-based position in what the caller passed.
    pub index: u64,
    /// The input's key as text (`email ada@example.com`, `id 512`, …), empty
    /// when the input has none (a create without email).
    pub key: String,
    /// What happened.
    pub outcome: Outcome,
}

/// Counts of what a batch run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// HTTP requests sent, retries and bisection included.
    pub requests: u64,
    /// Requests that were retries of an earlier attempt.
    pub retries: u64,
    /// 429 responses received.
    pub rate_limited: u64,
    /// Time spent waiting: for the rate limiter and before retries.
    pub waited: Duration,
    /// Inputs whose unknown fate was settled by reading HubSpot back.
    pub reconciled: u64,
}

/// How many inputs ended in each outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutcomeCounts {
    /// [`Outcome::Created`].
    pub created: u64,
    /// [`Outcome::Updated`].
    pub updated: u64,
    /// [`Outcome::Read`].
    pub read: u64,
    /// [`Outcome::Archived`].
    pub archived: u64,
    /// [`Outcome::Accepted`].
    pub accepted: u64,
    /// [`Outcome::Failed`].
    pub failed: u64,
    /// [`Outcome::Unknown`].
    pub unknown: u64,
}

impl OutcomeCounts {
    /// Counts one more outcome.
    pub fn add(&mut self, outcome: &Outcome) {
        let slot = match outcome {
            Outcome::Created { .. } => &mut self.created,
            Outcome::Updated { .. } => &mut self.updated,
            Outcome::Read(_) => &mut self.read,
            Outcome::Archived => &mut self.archived,
            Outcome::Accepted => &mut self.accepted,
            Outcome::Failed(_) => &mut self.failed,
            Outcome::Unknown { .. } => &mut self.unknown,
        };
        *slot += 1;
    }

    /// All inputs counted.
    pub fn total(&self) -> u64 {
        self.created
            + self.updated
            + self.read
            + self.archived
            + self.accepted
            + self.failed
            + self.unknown
    }
}

/// One outcome per input, in input order, and what the run cost.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchReport {
    /// One entry per input, in input order.
    pub outcomes: Vec<InputOutcome>,
    /// Requests, retries, waits.
    pub stats: BatchStats,
}

impl BatchReport {
    /// How many inputs ended in each outcome.
    pub fn counts(&self) -> OutcomeCounts {
        let mut counts = OutcomeCounts::default();
        for entry in &self.outcomes {
            counts.add(&entry.outcome);
        }
        counts
    }

    /// The failed and unknown inputs.
    pub fn problems(&self) -> impl Iterator<Item = &InputOutcome> {
        self.outcomes
            .iter()
            .filter(|entry| !entry.outcome.is_success())
    }

    /// All or nothing: the outcomes if every input succeeded, else an error
    /// listing the ones that did not.
    pub fn into_result(self) -> Result<Vec<InputOutcome>, BatchError> {
        let problems: Vec<InputOutcome> = self.problems().cloned().collect();
        if problems.is_empty() {
            Ok(self.outcomes)
        } else {
            Err(BatchError {
                total: self.outcomes.len() as u64,
                problems,
            })
        }
    }
}

/// Some inputs of a batch failed or ended unknown.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{} of {total} inputs did not succeed{}", problems.len(), first_problem(problems))]
pub struct BatchError {
    /// How many inputs the batch had.
    pub total: u64,
    /// The inputs that failed or ended unknown, in input order (never empty).
    pub problems: Vec<InputOutcome>,
}

fn first_problem(problems: &[InputOutcome]) -> String {
    problems.first().map_or_else(String::new, |first| {
        format!(
            "; first: input {} ({}): {}",
            first.index, first.key, first.outcome
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(index: u64, outcome: Outcome) -> InputOutcome {
        InputOutcome {
            index,
            key: format!("id {index}"),
            outcome,
        }
    }

    #[test]
    fn counts_and_all_or_nothing() {
        let report = BatchReport {
            outcomes: vec![
                entry(0, Outcome::Created { id: "1".into() }),
                entry(1, Outcome::failed("VALIDATION_ERROR", "bad email")),
                entry(
                    2,
                    Outcome::Unknown {
                        reason: "reset".into(),
                    },
                ),
                entry(3, Outcome::Archived),
            ],
            stats: BatchStats::default(),
        };
        let counts = report.counts();
        assert_eq!(
            (
                counts.created,
                counts.failed,
                counts.unknown,
                counts.archived,
                counts.total()
            ),
            (1, 1, 1, 1, 4)
        );
        let error = report.into_result().unwrap_err();
        assert_eq!(
            error.problems.iter().map(|p| p.index).collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert!(error.to_string().starts_with("2 of 4 inputs did not succeed; first: input 1 (id 1): failed: VALIDATION_ERROR: bad email"));
    }

    #[test]
    fn a_clean_report_is_ok() {
        let report = BatchReport {
            outcomes: vec![entry(0, Outcome::Accepted)],
            stats: BatchStats::default(),
        };
        assert_eq!(report.into_result().unwrap().len(), 1);
    }
}
