//! The report of a whole batch run, what it cost, and the two ways a run
//! ends short: some inputs did not succeed ([`BatchError`]), or the run
//! stopped because nothing more could succeed ([`BatchAborted`]).

use std::{fmt, time::Duration};

use super::{
    failure::InputFailure,
    outcome::{InputOutcome, OutcomeCounts},
};

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
    /// Requests admitted by the client's own rate limiter alone because
    /// the shared budget ([`ClientBuilder::shared_budget`](crate::ClientBuilder),
    /// feature `redis`) was out of reach; 0 without one.
    pub shared_budget_fallbacks: u64,
}

/// One outcome per input, in input order, and what the run cost.
#[derive(Clone, Debug, Default, PartialEq)]
#[must_use = "a report says which inputs failed"]
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

    /// The inputs that did not succeed: failed, not sent or unknown.
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
                total: self.outcomes.len(),
                problems,
            })
        }
    }
}

/// Some inputs of a batch failed, were not sent or ended unknown.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{} of {total} inputs did not succeed{}", problems.len(), first_problem(problems))]
pub struct BatchError {
    /// How many inputs the batch had.
    pub total: usize,
    /// The inputs that did not succeed, in input order (never empty).
    pub problems: Vec<InputOutcome>,
}

fn first_problem(problems: &[InputOutcome]) -> String {
    problems
        .first()
        .map_or_else(String::new, |first| format!("; first: {first}"))
}

/// Why a run stopped before its end: nothing more it sent could succeed.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum AbortCause {
    /// 401: HubSpot refused the access token (wrong, revoked or expired).
    Unauthorized(InputFailure),
    /// 403: the token lacks a scope the operation needs.
    Forbidden(InputFailure),
    /// 429 `DAILY`: the account's daily API budget is spent.
    DailyLimit(InputFailure),
    /// HubSpot's rate-limit headers asked for a limit no run can live with
    /// (a `Max` of 0, or windows longer than an hour): waiting would stall.
    UnworkableLimit(InputFailure),
    /// HubSpot could not be reached for the retry policy's whole budget
    /// (connection refused, DNS, connect timeouts); the reason names the cause.
    Unreachable(String),
}

impl AbortCause {
    /// What happened, in a few words (`HubSpot refused the access token (401)`).
    pub fn what(&self) -> &'static str {
        match self {
            Self::Unauthorized(_) => "HubSpot refused the access token (401)",
            Self::Forbidden(_) => "the token lacks a scope this operation needs (403)",
            Self::DailyLimit(_) => "the account's daily API budget is spent (429 DAILY)",
            Self::Unreachable(_) => "HubSpot could not be reached",
            Self::UnworkableLimit(_) => "HubSpot's rate-limit headers ask for an unworkable wait",
        }
    }

    /// HubSpot's refusal that stopped the run, when HubSpot answered.
    pub fn refusal(&self) -> Option<&InputFailure> {
        match self {
            Self::Unauthorized(refusal)
            | Self::Forbidden(refusal)
            | Self::DailyLimit(refusal)
            | Self::UnworkableLimit(refusal) => Some(refusal),
            Self::Unreachable(_) => None,
        }
    }
}

impl fmt::Display for AbortCause {
    /// What happened and what to do about it, then HubSpot's words.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let advice = match self {
            Self::Unauthorized(_) => "check the token, or re-authorise the app",
            Self::Forbidden(_) => {
                "add the contacts scope (crm.objects.contacts.write, or .read for reads) to the app"
            }
            Self::DailyLimit(_) => "it returns at midnight in the account's time zone",
            Self::Unreachable(_) => {
                "check the network and the base URL, then run again; nothing more was sent"
            }
            Self::UnworkableLimit(_) => {
                "check the app's rate limit in HubSpot, or set a client-side limit (RateLimit, \
                 --rate-limit) with adaptive limits off"
            }
        };
        write!(f, "{}: {advice}", self.what())?;
        match self {
            Self::Unreachable(reason) => write!(f, " ({reason})"),
            _ => match self.refusal() {
                Some(refusal) => write!(f, "; HubSpot said: {refusal}"),
                None => Ok(()),
            },
        }
    }
}

/// A run that stopped before its end because nothing more it sent could
/// succeed. The report still holds one outcome for every input the run
/// pulled: the ones not sent are [`Outcome::NotSent`](super::Outcome::NotSent).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("the batch stopped after {} inputs: {cause}", report.outcomes.len())]
pub struct BatchAborted {
    /// Every input pulled before the stop, with its outcome.
    pub report: BatchReport,
    /// Why the run stopped.
    pub cause: AbortCause,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        ContactKey, Outcome,
        batch::failure::{ClientCategory, InputFailure},
    };

    fn entry(index: usize, outcome: Outcome) -> InputOutcome {
        InputOutcome {
            index,
            key: Some(ContactKey::Id(index.to_string())),
            outcome,
        }
    }

    #[test]
    fn counts_and_all_or_nothing() {
        let refused = InputFailure::client(ClientCategory::InvalidInput, "bad email");
        let report = BatchReport {
            outcomes: vec![
                entry(0, Outcome::Created { id: "1".into() }),
                entry(1, Outcome::Failed(refused)),
                entry(
                    2,
                    Outcome::Unknown {
                        reason: "reset".into(),
                    },
                ),
                entry(3, Outcome::Archived),
                entry(
                    4,
                    Outcome::NotSent {
                        reason: "stopped".into(),
                    },
                ),
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
                counts.not_sent,
                counts.total()
            ),
            (1, 1, 1, 1, 1, 5)
        );
        let error = report.into_result().unwrap_err();
        assert_eq!(
            error.problems.iter().map(|p| p.index).collect::<Vec<_>>(),
            vec![1, 2, 4]
        );
        assert!(
            error.to_string().starts_with(
                "3 of 5 inputs did not succeed; first: input 1 (id 1): failed: INVALID_INPUT: bad email"
            ),
            "{error}"
        );
    }

    #[test]
    fn a_clean_report_is_ok() {
        let report = BatchReport {
            outcomes: vec![entry(0, Outcome::Accepted)],
            stats: BatchStats::default(),
        };
        assert_eq!(report.into_result().unwrap().len(), 1);
    }

    #[test]
    fn an_abort_says_what_to_do() {
        let refusal = InputFailure::refusal(
            "INVALID_AUTHENTICATION",
            None,
            "Authentication credentials not found".into(),
            Default::default(),
            401,
            None,
        );
        let aborted = BatchAborted {
            report: BatchReport::default(),
            cause: AbortCause::Unauthorized(refusal),
        };
        let shown = aborted.to_string();
        assert!(
            shown.starts_with(
                "the batch stopped after 0 inputs: HubSpot refused the access token (401)"
            ),
            "{shown}"
        );
        assert!(
            shown.contains("INVALID_AUTHENTICATION: Authentication credentials not found"),
            "{shown}"
        );
    }
}
