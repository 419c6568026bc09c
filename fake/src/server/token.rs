//! The OAuth token endpoint, `POST /oauth/{version}/token`: latency (half), count, read the
//! form, ask the [token book](crate::oauth::TokenBook), latency (half), answer. No bearer
//! token, rate limit or fault applies: HubSpot's token endpoint declares no security, and
//! its limits are not the API's.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde_json::json;

use super::response::finish;
use super::state::{FakeState, lock};
use crate::limits::LimitHeaders;
use crate::oauth::TokenForm;
use crate::reply::Reply;
use crate::routes;
use crate::util::now_ms;

/// Token requests with a larger form are refused (a refresh form is a few hundred bytes).
const MAX_FORM_BYTES: usize = 64 * 1024;

/// One exchange with the token endpoint at `version`.
pub(super) async fn token_endpoint(
    shared: Arc<FakeState>,
    version: &'static str,
    req: Request,
) -> Response {
    let way_in = shared.latency / 2;
    let way_out = shared.latency - way_in;
    tokio::time::sleep(way_in).await;
    lock(&shared.stats).requests += 1;
    let (parts, body) = req.into_parts();
    let reply = match axum::body::to_bytes(body, MAX_FORM_BYTES).await {
        Err(_) => invalid_request("the form could not be read (at most 64 KiB)"),
        Ok(_) if !is_form(&parts.headers) => {
            invalid_request("send the form as application/x-www-form-urlencoded")
        }
        Ok(bytes) => answer(&shared, &TokenForm::parse(&bytes)),
    };
    {
        let mut stats = lock(&shared.stats);
        if reply.status == 200 {
            stats.token_refreshes += 1;
        }
        stats.record(&routes::oauth_token(version), reply.status);
    }
    tokio::time::sleep(way_out).await;
    finish(&shared, reply, LimitHeaders::default(), None)
}

/// The book's answer to a form; without an OAuth app every client id is unknown.
fn answer(shared: &FakeState, form: &TokenForm) -> Reply {
    let Some(book) = &shared.oauth else {
        return Reply::json(
            400,
            &json!({
                "error": "invalid_client",
                "error_description": "no OAuth app is configured on this fake",
                "status": "BAD_CLIENT_ID",
                "message": "no OAuth app is configured on this fake",
            }),
        );
    };
    match lock(book).refresh(form, Instant::now(), now_ms()) {
        Ok(minted) => Reply::json(200, &minted.body()),
        Err(refusal) => Reply::json(400, &refusal.body()),
    }
}

/// Whether the request declares a form body.
fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            mime.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// A `400 invalid_request` about the request itself.
fn invalid_request(message: &str) -> Reply {
    Reply::json(
        400,
        &json!({
            "error": "invalid_request",
            "error_description": message,
            "status": "BAD_REQUEST",
            "message": message,
        }),
    )
}
