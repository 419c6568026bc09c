//! The fate of one attempt: what its result means for the inputs it carried.
//!
//! The one classification of a result. The retry decision ([`decide`]) and
//! the batch dispatcher both start from it, so a status or a transport failure
//! is never judged twice, and never judged two ways.
//!
//! [`decide`]: super::decide

use reqwest::StatusCode;

use super::{AttemptOutcome, RateLimitPolicy, TransportFailure};

/// What an attempt did, as far as its inputs are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// A 2xx: HubSpot processed the request (a 207's per-input errors are the
    /// response mapper's business).
    Applied,
    /// Certainly not applied, and the same request may succeed later.
    NotApplied(NotApplied),
    /// Sent, and may or may not have been applied.
    MaybeApplied(MaybeApplied),
    /// HubSpot refused the request's content before applying anything (400,
    /// 404, 409, 413 and the other 4xx not named below, or an unexpected 1xx
    /// or 3xx): the same request fails the same way.
    Refused(StatusCode),
    /// Nothing this client sends can succeed until someone acts.
    Fatal(Fatal),
}

/// Why an attempt certainly did nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotApplied {
    /// A 429 for a burst limit: HubSpot counts the limit before processing.
    Throttled(RateLimitPolicy),
    /// The request never left (connection refused, DNS, connect timeout).
    NotSent,
    /// The request's batch run was stopped before it was sent (the client's
    /// own answer).
    Stopped,
}

/// Why an attempt may have been applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MaybeApplied {
    /// A 5xx: HubSpot may have written before failing.
    ServerError(StatusCode),
    /// 423 Locked: HubSpot does not say whether part of the write landed.
    Locked,
    /// A timeout or a lost connection after the request left.
    Transport(TransportFailure),
}

/// Why nothing more can succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fatal {
    /// 401: the token is missing, wrong or expired.
    Unauthorized,
    /// 403: the token lacks a scope.
    Forbidden,
    /// A 429 for the daily budget (or an unidentified 429 whose headers show
    /// none left).
    DailyLimit,
    /// HubSpot's rate-limit headers asked for a limit no run can live with
    /// (the client's own answer, see `window::UNWORKABLE_WINDOW`).
    UnworkableLimit,
}

impl Fatal {
    /// The status HubSpot answered with.
    pub(crate) fn status(self) -> StatusCode {
        match self {
            Fatal::Unauthorized => StatusCode::UNAUTHORIZED,
            Fatal::Forbidden => StatusCode::FORBIDDEN,
            Fatal::DailyLimit | Fatal::UnworkableLimit => StatusCode::TOO_MANY_REQUESTS,
        }
    }
}

/// Classifies an attempt. Pure.
pub(crate) fn fate(outcome: &AttemptOutcome) -> Fate {
    let response = match outcome {
        AttemptOutcome::Transport(TransportFailure::NotSent) => {
            return Fate::NotApplied(NotApplied::NotSent);
        }
        AttemptOutcome::Transport(failure) => {
            return Fate::MaybeApplied(MaybeApplied::Transport(*failure));
        }
        AttemptOutcome::Response(response) => response,
    };
    if response.unworkable_limit {
        return Fate::Fatal(Fatal::UnworkableLimit);
    }
    if response.stopped {
        return Fate::NotApplied(NotApplied::Stopped);
    }
    let status = response.status;
    match status {
        _ if status.is_success() => Fate::Applied,
        StatusCode::TOO_MANY_REQUESTS => {
            let limit = match response.policy.unwrap_or(RateLimitPolicy::Unknown) {
                RateLimitPolicy::Unknown if response.rate_limit.daily_exhausted() => {
                    RateLimitPolicy::Daily
                }
                other => other,
            };
            match limit {
                RateLimitPolicy::Daily => Fate::Fatal(Fatal::DailyLimit),
                burst => Fate::NotApplied(NotApplied::Throttled(burst)),
            }
        }
        StatusCode::LOCKED => Fate::MaybeApplied(MaybeApplied::Locked),
        StatusCode::UNAUTHORIZED => Fate::Fatal(Fatal::Unauthorized),
        StatusCode::FORBIDDEN => Fate::Fatal(Fatal::Forbidden),
        _ if status.is_server_error() => Fate::MaybeApplied(MaybeApplied::ServerError(status)),
        _ => Fate::Refused(status),
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::{HeaderMap, HeaderValue};

    use super::*;
    use crate::policy::ResponseSummary;

    fn status(code: u16) -> AttemptOutcome {
        AttemptOutcome::Response(ResponseSummary::status(StatusCode::from_u16(code).unwrap()))
    }

    fn throttled(policy: RateLimitPolicy) -> AttemptOutcome {
        let mut summary = ResponseSummary::status(StatusCode::TOO_MANY_REQUESTS);
        summary.policy = Some(policy);
        AttemptOutcome::Response(summary)
    }

    /// The 503 the client makes for a request its run's stop kept back.
    fn stopped() -> AttemptOutcome {
        let mut headers = HeaderMap::new();
        headers.insert(
            crate::exchange::STOPPED_HEADER,
            HeaderValue::from_static("1"),
        );
        AttemptOutcome::Response(ResponseSummary::from_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &headers,
            b"",
        ))
    }

    #[test]
    fn every_kind_of_result_has_one_fate() {
        use RateLimitPolicy::*;
        let cases: Vec<(&str, AttemptOutcome, Fate)> = vec![
            ("200", status(200), Fate::Applied),
            ("201", status(201), Fate::Applied),
            ("207", status(207), Fate::Applied),
            ("204", status(204), Fate::Applied),
            ("400", status(400), Fate::Refused(StatusCode::BAD_REQUEST)),
            ("404", status(404), Fate::Refused(StatusCode::NOT_FOUND)),
            ("409", status(409), Fate::Refused(StatusCode::CONFLICT)),
            (
                "413",
                status(413),
                Fate::Refused(StatusCode::PAYLOAD_TOO_LARGE),
            ),
            ("302", status(302), Fate::Refused(StatusCode::FOUND)),
            ("401", status(401), Fate::Fatal(Fatal::Unauthorized)),
            ("403", status(403), Fate::Fatal(Fatal::Forbidden)),
            (
                "429 daily",
                throttled(Daily),
                Fate::Fatal(Fatal::DailyLimit),
            ),
            (
                "429 ten-secondly",
                throttled(TenSecondly),
                Fate::NotApplied(NotApplied::Throttled(TenSecondly)),
            ),
            (
                "429 secondly",
                throttled(Secondly),
                Fate::NotApplied(NotApplied::Throttled(Secondly)),
            ),
            (
                "429 without a body",
                status(429),
                Fate::NotApplied(NotApplied::Throttled(Unknown)),
            ),
            ("423", status(423), Fate::MaybeApplied(MaybeApplied::Locked)),
            (
                "500",
                status(500),
                Fate::MaybeApplied(MaybeApplied::ServerError(StatusCode::INTERNAL_SERVER_ERROR)),
            ),
            (
                "503",
                status(503),
                Fate::MaybeApplied(MaybeApplied::ServerError(StatusCode::SERVICE_UNAVAILABLE)),
            ),
            (
                "not sent",
                AttemptOutcome::Transport(TransportFailure::NotSent),
                Fate::NotApplied(NotApplied::NotSent),
            ),
            (
                "timed out",
                AttemptOutcome::Transport(TransportFailure::TimedOut),
                Fate::MaybeApplied(MaybeApplied::Transport(TransportFailure::TimedOut)),
            ),
            (
                "connection lost",
                AttemptOutcome::Transport(TransportFailure::ConnectionLost),
                Fate::MaybeApplied(MaybeApplied::Transport(TransportFailure::ConnectionLost)),
            ),
            (
                "the client's own stopped answer",
                stopped(),
                Fate::NotApplied(NotApplied::Stopped),
            ),
        ];
        for (name, outcome, expected) in cases {
            assert_eq!(fate(&outcome), expected, "{name}");
        }
    }

    #[test]
    fn an_unidentified_429_with_no_daily_budget_left_is_the_daily_limit() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-hubspot-ratelimit-daily-remaining",
            HeaderValue::from_static("0"),
        );
        let summary = ResponseSummary::from_response(StatusCode::TOO_MANY_REQUESTS, &headers, b"");
        assert_eq!(
            fate(&AttemptOutcome::Response(summary)),
            Fate::Fatal(Fatal::DailyLimit)
        );
    }

    #[test]
    fn fatal_fates_keep_their_status() {
        assert_eq!(Fatal::Unauthorized.status().as_u16(), 401);
        assert_eq!(Fatal::Forbidden.status().as_u16(), 403);
        assert_eq!(Fatal::DailyLimit.status().as_u16(), 429);
    }
}
