//! How HubSpot answered one request of a batch, read from the generated
//! call's result through the one fate classifier ([`crate::policy::fate`]).

use crate::{
    Error, ResponseValue,
    policy::{AttemptOutcome, Fatal, Fate, NotApplied, ResponseSummary, TransportFailure, fate},
    types,
};

use super::{
    mapping::{BatchAnswer, ResultMeaning},
    outcome::Outcome,
};

/// How HubSpot answered one request of a batch.
#[derive(Debug)]
pub enum ChunkAnswer {
    /// A 2xx with results and per-input errors.
    Batch(BatchAnswer, ResultMeaning),
    /// A 2xx that applies to every input alike (204 archive, 202 legacy batch).
    Uniform(Outcome),
    /// HubSpot refused the whole request, with its reasons. `splittable` when
    /// the refusal is about the request's content (400, 409, 413), so halves
    /// of it may go through.
    Refused {
        /// The HTTP status.
        status: u16,
        /// HubSpot's error body.
        body: Box<types::ErrorBody>,
        /// Whether sending part of the inputs may succeed.
        splittable: bool,
    },
    /// HubSpot refused the request for a reason no later request can escape
    /// (401, 403, the daily budget): the run stops.
    Fatal {
        /// The HTTP status.
        status: u16,
        /// HubSpot's error body.
        body: Box<types::ErrorBody>,
        /// Which reason.
        fatal: Fatal,
    },
    /// The request's fate is unknown: sent, then no usable answer.
    Unknown(String),
    /// The request provably did nothing (never sent).
    NotApplied(String),
    /// HubSpot could not be reached for the retry policy's whole budget:
    /// nothing was sent, and the requests after it would fare the same.
    Unreachable(String),
}

/// "could not connect to HOST: CAUSE", with the innermost cause (connection
/// refused, DNS, timeout) that reqwest's own message leaves out.
fn connect_failure(error: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    let host = error
        .url()
        .and_then(|url| url.host_str())
        .unwrap_or("HubSpot");
    format!("could not connect to {host}: {cause}")
}

impl ChunkAnswer {
    /// The answer of a generated batch call: `read` turns a success into the
    /// per-input answer.
    pub(crate) fn from_result<T>(
        result: Result<ResponseValue<T>, Error<types::ErrorBody>>,
        read: impl FnOnce(u16, T) -> ChunkAnswer,
    ) -> Self {
        match result {
            Ok(response) => {
                let status = response.status().as_u16();
                read(status, response.into_inner())
            }
            Err(error) => Self::from_error(error),
        }
    }

    /// Classifies a generated call's error by its fate.
    fn from_error(error: Error<types::ErrorBody>) -> Self {
        match error {
            Error::ErrorResponse(response) => {
                let status = response.status();
                // Only a 429's body says which limit; re-reading it is rare.
                let body_bytes = if status.as_u16() == 429 {
                    serde_json::to_vec(response.as_ref()).unwrap_or_default()
                } else {
                    Vec::new()
                };
                let summary =
                    ResponseSummary::from_response(status, response.headers(), &body_bytes);
                let body = Box::new(response.into_inner());
                match fate(&AttemptOutcome::Response(summary)) {
                    Fate::MaybeApplied(_) => {
                        Self::Unknown(format!("HubSpot answered {}: {body}", status.as_u16()))
                    }
                    Fate::Refused(status) => Self::Refused {
                        status: status.as_u16(),
                        body,
                        splittable: matches!(status.as_u16(), 400 | 409 | 413),
                    },
                    Fate::Fatal(fatal) => Self::Fatal {
                        status: status.as_u16(),
                        body,
                        fatal,
                    },
                    Fate::NotApplied(NotApplied::Stopped) => Self::NotApplied(body.message),
                    // Throttled past the retry budget, or (never expected
                    // here) a success: refused as a whole, in HubSpot's words.
                    Fate::NotApplied(_) | Fate::Applied => Self::Refused {
                        status: status.as_u16(),
                        body,
                        splittable: false,
                    },
                }
            }
            Error::CommunicationError(error) => {
                match fate(&AttemptOutcome::Transport(TransportFailure::from_reqwest(
                    &error,
                ))) {
                    Fate::NotApplied(_) => Self::Unreachable(connect_failure(&error)),
                    _ => Self::Unknown(error.to_string()),
                }
            }
            Error::InvalidRequest(reason) => {
                Self::NotApplied(format!("the request could not be built: {reason}"))
            }
            // An undeclared status, an unreadable or unparsable body: the
            // request reached HubSpot and its effect is unknown.
            other => Self::Unknown(other.to_string()),
        }
    }
}
