//! Reading a request body: at most [`MAX_BODY_BYTES`], declared as JSON, and drained when
//! refused so the client reads the refusal.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};
use http_body_util::BodyExt;

use crate::reply::Reply;

/// Request bodies larger than this are refused with 413 before parsing.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// An over-long body is read and discarded up to this size before the 413 is sent.
const MAX_DRAIN_BYTES: usize = 64 * 1024 * 1024;

/// Reads the body (at most [`MAX_BODY_BYTES`]), then checks that it is declared as JSON.
pub(super) async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, Reply> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = || {
        Reply::error(
            413,
            Some("VALIDATION_ERROR"),
            format!("Request body exceeds the fake's limit of {MAX_BODY_BYTES} bytes"),
        )
    };
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        drain(body).await;
        return Err(too_large());
    }
    let mut body = body;
    let mut buf = Vec::with_capacity(declared.map_or(0, |n| n as usize));
    loop {
        match body.frame().await {
            None => break,
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    if buf.len() + data.len() > MAX_BODY_BYTES {
                        drain(body).await;
                        return Err(too_large());
                    }
                    buf.extend_from_slice(&data);
                }
            }
            Some(Err(e)) => {
                return Err(Reply::validation(format!(
                    "Could not read the request body: {e}"
                )));
            }
        }
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/json") {
        let shown = if content_type.is_empty() {
            "(none)"
        } else {
            content_type
        };
        return Err(Reply::error(
            415,
            Some("VALIDATION_ERROR"),
            format!("Content type '{shown}' not supported; send application/json"),
        ));
    }
    Ok(Bytes::from(buf))
}

/// Reads and discards what is left of an over-long body (up to [`MAX_DRAIN_BYTES`]), so the
/// client, still writing, gets to read the 413 instead of a broken pipe.
pub(super) async fn drain(mut body: Body) {
    let mut seen = 0usize;
    while let Some(Ok(frame)) = body.frame().await {
        if let Ok(data) = frame.into_data() {
            seen += data.len();
            if seen > MAX_DRAIN_BYTES {
                break;
            }
        }
    }
}
