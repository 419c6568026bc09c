//! One HubSpot-route exchange, in order: latency in, count, read the body, auth, rate
//! limit, faults before, the operation, faults after, latency out, response.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde_json::json;

use super::body::{drain, read_body};
use super::connection::{ConnCtl, drop_connection};
use super::dispatch::dispatch;
use super::response::finish;
use super::state::{FakeState, lock, stopped};
use crate::faults::FaultKind;
use crate::limits::{LimitHeaders, Policy, Verdict, retry_after_secs};
use crate::oauth::Access;
use crate::reply::Reply;
use crate::routes::Route;
use crate::util::rfc3339_ms;

/// One HubSpot-route exchange, inside the configured latency: half on the way
/// in, half on the way out. `vid` is the `{vid}` path segment of [`Route::V1Update`].
pub(super) async fn pipeline(
    shared: Arc<FakeState>,
    route: Route,
    vid: Option<String>,
    req: Request,
) -> Response {
    let way_in = shared.latency / 2;
    let way_out = shared.latency - way_in;
    tokio::time::sleep(way_in).await;
    let response = handle(Arc::clone(&shared), route, vid, req).await;
    tokio::time::sleep(way_out).await;
    response
}

/// The exchange itself, between the latency halves; see the module docs for the order.
async fn handle(
    shared: Arc<FakeState>,
    route: Route,
    vid: Option<String>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let ctl = parts.extensions.get::<ConnCtl>().cloned();
    let name = route.name();
    lock(&shared.stats).requests += 1;
    // Read the whole body first, even for requests refused below: closing a connection
    // with unread request bytes makes the kernel send a reset, which can destroy the
    // refusal before the client reads it.
    let body = if route.takes_body() {
        read_body(&parts.headers, body).await
    } else {
        drain(body).await;
        Ok(Bytes::new())
    };
    let limited = lock(&shared.limiter).is_configured();
    let send = |reply: Reply, limits: LimitHeaders, retry_after: Option<u64>| {
        lock(&shared.stats).record(&name, reply.status);
        finish(&shared, reply, limits, retry_after)
    };

    // 1. Authentication, before anything else.
    let refusal = match authenticate(&shared, &parts.headers) {
        Auth::Accepted => None,
        Auth::Refused => Some(Reply::error(
            401,
            Some("INVALID_AUTHENTICATION"),
            "Authentication credentials not found or not valid. This API supports OAuth 2.0 and private app access tokens sent as `Authorization: Bearer TOKEN`.",
        )),
        Auth::Expired { ago, expired_ms } => Some(
            Reply::error(
                401,
                Some("EXPIRED_AUTHENTICATION"),
                format!(
                    "The OAuth token used to make this call expired {} second(s) ago.",
                    ago.as_secs()
                ),
            )
            .with("context", json!({"expire time": [rfc3339_ms(expired_ms)]})),
        ),
    };
    if let Some(reply) = refusal {
        lock(&shared.stats).unauthorized += 1;
        let limits = if limited {
            lock(&shared.limiter).peek(Instant::now())
        } else {
            LimitHeaders::default()
        };
        return send(reply, limits, None);
    }

    // 2. Rate limits, before anything is applied.
    let limits = match lock(&shared.limiter).check(Instant::now()) {
        Verdict::Allowed(h) => h,
        Verdict::Refused {
            policy,
            retry_after,
            headers,
        } => {
            lock(&shared.stats).rate_limited += 1;
            let retry = retry_after
                .filter(|_| shared.retry_after)
                .map(retry_after_secs);
            return send(rate_limited(policy), headers, retry);
        }
    };

    // 3. Faults that hit before processing.
    let fault = lock(&shared.faults).next();
    if let Some(kind) = fault {
        *lock(&shared.stats).faults.entry(kind.name()).or_default() += 1;
        tracing::debug!(%kind, route = &*name, "injecting fault");
    }
    match fault {
        Some(FaultKind::ResetBefore) => return drop_connection(ctl.as_ref()).await,
        Some(FaultKind::TooManyRequests) => {
            let retry = shared.retry_after.then_some(1);
            return send(rate_limited(Policy::TenSecondlyRolling), limits, retry);
        }
        Some(FaultKind::ServerError(code)) => {
            let reply = Reply::error(
                code,
                Some("INTERNAL_ERROR"),
                format!("Injected fault: HTTP {code}"),
            );
            return send(reply, limits, None);
        }
        _ => {}
    }

    // 4. The body, then the operation (validated whole, applied under one lock).
    let reply = match body {
        Ok(bytes) => dispatch(&shared, route, vid.as_deref(), parts.uri.query(), &bytes),
        Err(reply) => reply,
    };

    // 5. Faults that hit after the request was applied.
    match fault {
        Some(FaultKind::ResetAfter) => return drop_connection(ctl.as_ref()).await,
        Some(FaultKind::TimeoutAfter) => {
            let mut stop = shared.shutdown.clone();
            tokio::select! {
                () = tokio::time::sleep(shared.timeout_after_hold) => {}
                () = stopped(&mut stop) => return drop_connection(ctl.as_ref()).await,
            }
        }
        _ => {}
    }
    send(reply, limits, None)
}

/// What a request's bearer token is worth.
enum Auth {
    Accepted,
    /// An access token the OAuth app minted, expired `ago` (at `expired_ms`).
    Expired {
        ago: Duration,
        expired_ms: u64,
    },
    Refused,
}

/// Judges the request's `Authorization: Bearer TOKEN`: accepted if the token is one of the
/// configured tokens or a live access token of the OAuth app; with neither configured, any
/// non-empty token is accepted.
fn authenticate(shared: &FakeState, headers: &HeaderMap) -> Auth {
    let Some(token) = bearer(headers) else {
        return Auth::Refused;
    };
    if shared.tokens.as_ref().is_some_and(|t| t.contains(token)) {
        return Auth::Accepted;
    }
    if let Some(book) = &shared.oauth {
        return match lock(book).check(token, Instant::now()) {
            Access::Valid => Auth::Accepted,
            Access::Expired { ago, expired_ms } => Auth::Expired { ago, expired_ms },
            Access::Unknown => Auth::Refused,
        };
    }
    if shared.tokens.is_none() {
        Auth::Accepted
    } else {
        Auth::Refused
    }
}

/// The non-empty token of an `Authorization: Bearer TOKEN` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The 429 body of a refusal by `policy`.
fn rate_limited(policy: Policy) -> Reply {
    let (message, name) = match policy {
        Policy::TenSecondlyRolling => (
            "You have reached your ten_secondly_rolling limit.",
            "TEN_SECONDLY_ROLLING",
        ),
        Policy::Daily => ("You have reached your daily limit.", "DAILY"),
    };
    Reply::error(429, None, message)
        .with("errorType", json!("RATE_LIMIT"))
        .with("policyName", json!(name))
}
