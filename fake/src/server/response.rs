//! Turning a [`Reply`] into an HTTP response: the status, the JSON body, the correlation id
//! (header and error body) and the rate-limit headers.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

use super::state::FakeState;
use crate::limits::LimitHeaders;
use crate::reply::{Reply, ReplyBody};

/// A JSON response of anything serializable: an error body, an admin route's answer.
pub(super) fn json_response<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"null".to_vec());
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=utf-8"),
    );
    resp
}

/// Turns a reply into a response with the correlation id and rate-limit headers.
pub(super) fn finish(
    shared: &FakeState,
    reply: Reply,
    limits: LimitHeaders,
    retry_after: Option<u64>,
) -> Response {
    let correlation_id = shared.ids.next();
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = match reply.body {
        ReplyBody::Empty => {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = status;
            r
        }
        ReplyBody::Json(bytes) => {
            let mut r = Response::new(Body::from(bytes));
            *r.status_mut() = status;
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json;charset=utf-8"),
            );
            r
        }
        ReplyBody::Error(mut map) => {
            map.insert(
                "correlationId".into(),
                Value::String(correlation_id.clone()),
            );
            json_response(status, &map)
        }
    };
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&correlation_id) {
        headers.insert(HeaderName::from_static("x-hubspot-correlation-id"), v);
    }
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    };
    if let Some((max, remaining, interval)) = limits.rolling {
        put("x-hubspot-ratelimit-max", max.to_string());
        put("x-hubspot-ratelimit-remaining", remaining.to_string());
        put(
            "x-hubspot-ratelimit-interval-milliseconds",
            interval.to_string(),
        );
    }
    if let Some((budget, remaining)) = limits.daily {
        put("x-hubspot-ratelimit-daily", budget.to_string());
        put("x-hubspot-ratelimit-daily-remaining", remaining.to_string());
    }
    if let Some(secs) = retry_after {
        put("retry-after", secs.to_string());
    }
    resp
}
