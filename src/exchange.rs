//! One request's exchange with HubSpot under the client's policy: the rate
//! limiter, the retry loop and its counters. The decisions are the pure functions of
//! [`crate::policy`]; this module only waits, sends and counts.
//!
//! It runs inside progenitor's `ClientHooks::exec` (see [`crate::client`]), so
//! every generated call and every chunk of the batch helpers goes through the
//! same policy, with one rate-limit budget per [`Client`](crate::Client) and
//! its clones. A hook sees only the HTTP request and the client, which is why
//! the part of the policy that needs to know about inputs (reconciling creates
//! whose fate is unknown) lives in the batch dispatcher instead; a batch run
//! counts its requests through a client of its own that carries its
//! [`RequestCounters`].

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Instant,
};

use reqwest::{StatusCode, header::HeaderMap};
use tracing::Instrument;

use crate::{
    policy::{
        AttemptOutcome, DailyLimitExhausted, Decision, Fate, Operation, RateLimiter, Refusal,
        ResponseSummary, RetryPolicy, RetryReason, StopReason, TransportFailure, decide, fate,
    },
    stop::{STOPPED_BEFORE_SENDING, Stop},
};

/// What the requests of one batch run cost, counted as they are sent. A
/// client made for a run ([`crate::Client`]'s `counted`) carries them; other
/// clients count nothing.
#[derive(Debug, Default)]
pub(crate) struct RequestCounters {
    pub(crate) requests: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) rate_limited: AtomicU64,
    pub(crate) waited_micros: AtomicU64,
    pub(crate) shared_budget_fallbacks: AtomicU64,
}

impl RequestCounters {
    fn add(counters: Option<&RequestCounters>, pick: impl Fn(&RequestCounters) -> &AtomicU64) {
        if let Some(counters) = counters {
            pick(counters).fetch_add(1, Ordering::Relaxed);
        }
    }

    fn add_wait(counters: Option<&RequestCounters>, started: tokio::time::Instant) {
        let waited = started.elapsed();
        if let Some(counters) = counters.filter(|_| !waited.is_zero()) {
            let micros = u64::try_from(waited.as_micros()).unwrap_or(u64::MAX);
            counters.waited_micros.fetch_add(micros, Ordering::Relaxed);
        }
    }
}

/// The policy every request goes through.
#[derive(Clone, Debug)]
pub(crate) struct Policy {
    pub(crate) limiter: RateLimiter,
    pub(crate) retry: RetryPolicy,
}

/// Sends `request` under the policy: waits for the rate limiter, retries what
/// [`decide`] says to retry, and returns the last response or error.
///
/// Once `stop` is set, no attempt starts: a request still waiting for the
/// limiter or for its retry gets the client's own "stopped" answer (or, when
/// an earlier attempt may have been applied, the "may have been applied"
/// one), while an attempt already sent is waited for. `announce` is called
/// once, just before the first attempt leaves.
pub(crate) async fn execute(
    http: &reqwest::Client,
    policy: &Policy,
    request: reqwest::Request,
    operation_id: &'static str,
    counters: Option<&RequestCounters>,
    stop: Option<&Stop>,
    announce: Option<&(dyn Fn() + Send + Sync)>,
) -> reqwest::Result<reqwest::Response> {
    let span = tracing::debug_span!("hubspot.request", operation = operation_id);
    async move {
        let operation = Operation::from_operation_id(operation_id).unwrap_or_else(|| {
            tracing::warn!(
                operation = operation_id,
                "operation not classified in policy::OPERATION_IDS; retried only when it certainly did not reach HubSpot"
            );
            Operation::Unclassified
        });
        let started = Instant::now();
        // When the first attempt left (after its wait for the limiter): what
        // an earlier attempt may have written is judged from there.
        let mut first_sent: Option<Instant> = None;
        let mut attempt: u32 = 1;
        // Whether an earlier attempt may have been applied (sent, then its
        // answer lost or a 5xx): the final answer alone would then misstate
        // what happened.
        let mut maybe_applied_before = false;
        loop {
            let waiting = tokio::time::Instant::now();
            // Held until the answer, a failure or a cancellation; dropping
            // it gives the slot back.
            let Some(acquired) = unless_stopped(stop, policy.limiter.acquire()).await else {
                return Ok(stopped_before(maybe_applied_before));
            };
            let permit = match acquired {
                Ok(permit) => permit,
                Err(refusal) => {
                    let why = match &refusal {
                        Refusal::Daily(exhausted) => exhausted.to_string(),
                        Refusal::Unworkable(reason) => reason.clone(),
                    };
                    tracing::warn!(%why, "the rate limiter lets nothing start; not sending");
                    if maybe_applied_before {
                        return Ok(maybe_applied_response(&why));
                    }
                    return Ok(match refusal {
                        Refusal::Daily(exhausted) => daily_limit_response(&exhausted),
                        Refusal::Unworkable(reason) => unworkable_limit_response(&reason),
                    });
                }
            };
            RequestCounters::add_wait(counters, waiting);
            if first_sent.is_none()
                && let Some(announce) = announce
            {
                announce();
            }
            RequestCounters::add(counters, |c| &c.requests);
            if permit.fell_back() {
                RequestCounters::add(counters, |c| &c.shared_budget_fallbacks);
            }
            // Every operation has a JSON body, which can always be cloned; a
            // request that could not be is sent once.
            let Some(this_try) = request.try_clone() else {
                let result = attempt_once(http, policy, request, counters).await.1;
                drop(permit);
                return result;
            };
            let sent = *first_sent.get_or_insert_with(Instant::now);
            let (outcome, result) = attempt_once(http, policy, this_try, counters).await;
            match &outcome {
                // HubSpot did not count it: its slot is not spent.
                AttemptOutcome::Response(summary)
                    if summary.status == StatusCode::TOO_MANY_REQUESTS =>
                {
                    permit.refused();
                }
                _ => drop(permit),
            }
            let decision = decide(&policy.retry, operation, &outcome, attempt, started.elapsed(), fastrand::f64());
            tracing::debug!(attempt, outcome = ?outcome_label(&outcome), decision = ?decision, "attempt done");
            let this_fate = fate(&outcome);
            if let Decision::Stop(stop) = decision
                && maybe_applied_before
            {
                if let StopReason::DailyLimit { resets_at } = stop {
                    policy.limiter.mark_daily_exhausted(resets_at);
                }
                return Ok(after_maybe_applied(this_fate, result, sent.elapsed()));
            }
            maybe_applied_before |= matches!(this_fate, Fate::MaybeApplied(_));
            match decision {
                Decision::Retry { after, reason } => {
                    if matches!(reason, RetryReason::Throttled(_)) {
                        policy.limiter.pause_for(after);
                    }
                    let sleeping = tokio::time::Instant::now();
                    let slept = unless_stopped(stop, tokio::time::sleep(after)).await;
                    RequestCounters::add_wait(counters, sleeping);
                    if slept.is_none() {
                        return Ok(stopped_before(maybe_applied_before));
                    }
                    RequestCounters::add(counters, |c| &c.retries);
                    // A 429 says nothing was applied: it spends time from the
                    // budget, not the attempts meant for transient failures.
                    if !matches!(reason, RetryReason::Throttled(_)) {
                        attempt += 1;
                    }
                }
                Decision::Stop(StopReason::DailyLimit { resets_at }) => {
                    policy.limiter.mark_daily_exhausted(resets_at);
                    return result;
                }
                Decision::Stop(_) => return result,
            }
        }
    }
    .instrument(span)
    .await
}

/// `future`'s output, or `None` if `stop` is set first (or already).
async fn unless_stopped<F: Future>(stop: Option<&Stop>, future: F) -> Option<F::Output> {
    let Some(stop) = stop else {
        return Some(future.await);
    };
    if stop.is_set() {
        return None;
    }
    let stopped = std::pin::pin!(stop.wait());
    let future = std::pin::pin!(future);
    match futures::future::select(stopped, future).await {
        futures::future::Either::Left(((), _)) => None,
        futures::future::Either::Right((output, _)) => Some(output),
    }
}

/// The answer to a request its run's stop kept from sending (again): it did
/// nothing, unless an earlier attempt may have been applied.
fn stopped_before(maybe_applied_before: bool) -> reqwest::Response {
    if maybe_applied_before {
        return maybe_applied_response("the batch was stopped before its retry");
    }
    let body = serde_json::json!({
        "status": "error",
        "message": STOPPED_BEFORE_SENDING,
    });
    let mut headers = HeaderMap::new();
    headers.insert(
        reqwest::header::CONTENT_TYPE,
        reqwest::header::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        STOPPED_HEADER,
        reqwest::header::HeaderValue::from_static("1"),
    );
    rebuild(
        StatusCode::SERVICE_UNAVAILABLE,
        reqwest::Version::HTTP_11,
        headers,
        body.to_string().into_bytes(),
    )
}

/// The header that marks an answer the client made itself for a request its
/// run's stop kept from sending: the fate classifier reads it as not applied.
pub(crate) const STOPPED_HEADER: &str = "x-hubspot-contacts-batch-stopped";

/// Sends one attempt. A 429's body is read (to learn which limit was hit) and
/// put back, so the caller still gets a whole response.
async fn attempt_once(
    http: &reqwest::Client,
    policy: &Policy,
    request: reqwest::Request,
    counters: Option<&RequestCounters>,
) -> (AttemptOutcome, reqwest::Result<reqwest::Response>) {
    let response = match http.execute(request).await {
        Ok(response) => response,
        Err(error) => {
            return (
                AttemptOutcome::Transport(TransportFailure::from_reqwest(&error)),
                Err(error),
            );
        }
    };
    let status = response.status();
    policy.limiter.observe(response.headers());
    if status != StatusCode::TOO_MANY_REQUESTS {
        let summary = ResponseSummary::from_response(status, response.headers(), &[]);
        return (AttemptOutcome::Response(summary), Ok(response));
    }
    RequestCounters::add(counters, |c| &c.rate_limited);
    let headers = response.headers().clone();
    let version = response.version();
    match response.bytes().await {
        Ok(body) => {
            let summary = ResponseSummary::from_response(status, &headers, &body);
            (
                AttemptOutcome::Response(summary),
                Ok(rebuild(status, version, headers, body.to_vec())),
            )
        }
        Err(error) => (
            AttemptOutcome::Transport(TransportFailure::ConnectionLost),
            Err(error),
        ),
    }
}

fn outcome_label(outcome: &AttemptOutcome) -> String {
    match outcome {
        AttemptOutcome::Response(summary) => summary.status.as_u16().to_string(),
        AttemptOutcome::Transport(failure) => format!("{failure:?}"),
    }
}

fn rebuild(
    status: StatusCode,
    version: reqwest::Version,
    headers: HeaderMap,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut response = http::Response::new(reqwest::Body::from(body));
    *response.status_mut() = status;
    *response.version_mut() = version;
    *response.headers_mut() = headers;
    reqwest::Response::from(response)
}

/// The header that tells the batch engine an earlier attempt of this request
/// may have been applied: on a success, its value is how long ago (ms) the
/// first attempt started, so results can be judged against it.
pub(crate) const EARLIER_ATTEMPT_HEADER: &str = "x-hubspot-contacts-batch-earlier-attempt";

/// The answer to give for a request whose earlier attempt may have been
/// applied, now that its attempts have stopped with `last`. A success stands,
/// marked so the engine knows a `new: false` may be its own earlier create; a
/// refusal of the content stands too (it would have refused the earlier
/// attempt alike); anything else (throttled, not sent, a fatal refusal, a 5xx
/// or a lost answer) becomes a 503 whose message says the request may have
/// been applied, so no input of it is reported failed or not sent.
fn after_maybe_applied(
    last: Fate,
    result: reqwest::Result<reqwest::Response>,
    since_first: std::time::Duration,
) -> reqwest::Response {
    match (last, result) {
        (Fate::Applied | Fate::Refused(_), Ok(mut response)) => {
            let millis = u64::try_from(since_first.as_millis()).unwrap_or(u64::MAX);
            if let Ok(value) = reqwest::header::HeaderValue::from_str(&millis.to_string()) {
                response.headers_mut().insert(EARLIER_ATTEMPT_HEADER, value);
            }
            response
        }
        (_, Ok(response)) => {
            maybe_applied_response(&format!("the last attempt got {}", response.status()))
        }
        (_, Err(error)) => maybe_applied_response(&format!("the last attempt failed: {error}")),
    }
}

/// A 503 made locally for a request that may have been applied by an
/// earlier attempt whose answer was lost, while `last` says what ended it.
fn maybe_applied_response(last: &str) -> reqwest::Response {
    let body = serde_json::json!({
        "status": "error",
        "message": format!(
            "an earlier attempt of this request may have been applied (its answer was lost or was a server error); {last}"
        ),
    });
    let mut headers = HeaderMap::new();
    headers.insert(
        reqwest::header::CONTENT_TYPE,
        reqwest::header::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        EARLIER_ATTEMPT_HEADER,
        reqwest::header::HeaderValue::from_static("maybe-applied"),
    );
    rebuild(
        StatusCode::SERVICE_UNAVAILABLE,
        reqwest::Version::HTTP_11,
        headers,
        body.to_string().into_bytes(),
    )
}

/// The header that marks an answer the client made itself because HubSpot's
/// rate-limit headers asked for a limit no run can live with.
pub(crate) const UNWORKABLE_LIMIT_HEADER: &str = "x-hubspot-contacts-batch-unworkable-limit";

/// A 429 made locally once HubSpot's headers made the limit unworkable (see
/// `window::UNWORKABLE_WINDOW`): the fate classifier reads it as fatal.
fn unworkable_limit_response(reason: &str) -> reqwest::Response {
    let body = serde_json::json!({
        "status": "error",
        "message": format!("not waiting on HubSpot's rate limit: {reason}"),
        "errorType": "RATE_LIMIT",
    });
    let mut headers = HeaderMap::new();
    headers.insert(
        reqwest::header::CONTENT_TYPE,
        reqwest::header::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        UNWORKABLE_LIMIT_HEADER,
        reqwest::header::HeaderValue::from_static("1"),
    );
    rebuild(
        StatusCode::TOO_MANY_REQUESTS,
        reqwest::Version::HTTP_11,
        headers,
        body.to_string().into_bytes(),
    )
}

/// The 429 HubSpot would send once the daily budget is spent, made locally so
/// no request is wasted; generated calls return it as a typed error.
fn daily_limit_response(exhausted: &DailyLimitExhausted) -> reqwest::Response {
    let body = serde_json::json!({
        "status": "error",
        "message": exhausted.to_string(),
        "errorType": "RATE_LIMIT",
        "policyName": "DAILY",
    });
    let mut headers = HeaderMap::new();
    headers.insert(
        reqwest::header::CONTENT_TYPE,
        reqwest::header::HeaderValue::from_static("application/json"),
    );
    rebuild(
        StatusCode::TOO_MANY_REQUESTS,
        reqwest::Version::HTTP_11,
        headers,
        body.to_string().into_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::NotApplied;

    fn fate_of(response: &reqwest::Response) -> Fate {
        let summary = ResponseSummary::from_response(response.status(), response.headers(), &[]);
        fate(&AttemptOutcome::Response(summary))
    }

    #[test]
    fn a_stopped_request_did_nothing_unless_an_earlier_attempt_may_have() {
        assert_eq!(
            fate_of(&stopped_before(false)),
            Fate::NotApplied(NotApplied::Stopped)
        );
        assert!(matches!(
            fate_of(&stopped_before(true)),
            Fate::MaybeApplied(_)
        ));
    }

    #[tokio::test]
    async fn a_stop_cuts_a_wait_short_and_no_stop_lets_it_end() {
        let (setter, stop) = crate::stop::stop();
        let quick = unless_stopped(Some(&stop), std::future::ready(1)).await;
        assert_eq!(quick, Some(1));
        assert_eq!(unless_stopped(None, std::future::ready(2)).await, Some(2));
        setter.set();
        let cut = unless_stopped(Some(&stop), std::future::pending::<()>()).await;
        assert_eq!(cut, None);
    }
}
