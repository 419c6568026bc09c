//! Malformed requests get HubSpot-shaped 4xx answers; the fake never panics and never
//! half-applies a refused request.

mod support;

use futures::stream;
use serde_json::{Value, json};
use support::*;

const JSON: Option<&str> = Some("application/json");

async fn still_serves(h: &Harness) {
    let r = h.upsert_emails(&["alive@example.com"]).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn malformed_json_is_400_validation_error() {
    let h = start_default().await;
    for body in [
        &b"{"[..],
        b"{\"inputs\": [",
        b"not json",
        b"",
        b"{\"inputs\": []} trailing",
    ] {
        let r = h.post_raw(CREATE, JSON, body.to_vec()).await;
        let msg = r.assert_error(400, Some("VALIDATION_ERROR"));
        assert!(msg.starts_with("Invalid input JSON"), "{msg}");
    }
    still_serves(&h).await;
}

#[tokio::test]
async fn wrong_or_missing_content_type_is_415() {
    let h = start_default().await;
    let body = serde_json::to_vec(&json!({"inputs": create_inputs(1, "ct")})).unwrap();
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let r = h.post_raw(CREATE, ct, body.clone()).await;
        r.assert_error(415, Some("VALIDATION_ERROR"));
    }
    assert!(h.contacts().is_empty());
    let r = h
        .post_raw(CREATE, Some("Application/JSON; charset=utf-8"), body)
        .await;
    assert_eq!(r.status, 201, "parameters and case are fine");
}

#[tokio::test]
async fn oversized_body_is_413() {
    let h = start_default().await;
    let big = "x".repeat(hubspot_fake::MAX_BODY_BYTES);
    let body =
        serde_json::to_vec(&json!({"inputs": [{"properties": {"firstname": big}}]})).unwrap();
    let r = h.post_raw(CREATE, JSON, body.clone()).await;
    r.assert_error(413, Some("VALIDATION_ERROR"));

    // Without a Content-Length (chunked), the limit applies while reading.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        body.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    let resp = h
        .http
        .post(h.url(CREATE))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    read_resp(resp)
        .await
        .assert_error(413, Some("VALIDATION_ERROR"));
    assert!(h.contacts().is_empty());

    // A large body under the limit is fine.
    let inputs: Vec<Value> = (0..100)
        .map(|i| json!({"properties": {"email": format!("{i}@example.com"), "address": "y".repeat(30_000)}}))
        .collect();
    let r = h.post(CREATE, json!({ "inputs": inputs })).await;
    assert_eq!(r.status, 201);
    still_serves(&h).await;
}

#[tokio::test]
async fn deep_nesting_is_400() {
    let h = start_default().await;
    let depth = 100_000;
    let mut body = String::from("{\"inputs\": ");
    body.push_str(&"[".repeat(depth));
    body.push_str(&"]".repeat(depth));
    body.push('}');
    let r = h.post_raw(CREATE, JSON, body.into_bytes()).await;
    r.assert_error(400, Some("VALIDATION_ERROR"));

    let mut value = String::from("\"v\"");
    for _ in 0..5_000 {
        value = format!("{{\"a\": {value}}}");
    }
    let body = format!("{{\"inputs\": [{{\"properties\": {{\"firstname\": {value}}}}}]}}");
    let r = h.post_raw(CREATE, JSON, body.into_bytes()).await;
    r.assert_error(400, Some("VALIDATION_ERROR"));
    assert!(h.contacts().is_empty());
    still_serves(&h).await;
}

#[tokio::test]
async fn wrong_types_are_400() {
    let h = start_default().await;
    for (path, body) in [
        (CREATE, json!({"inputs": {"properties": {}}})),
        (CREATE, json!([{"properties": {}}])),
        (CREATE, json!({"inputs": [{"properties": ["email"]}]})),
        (
            CREATE,
            json!({"inputs": [{"properties": {"firstname": {"nested": 1}}}]}),
        ),
        (
            CREATE,
            json!({"inputs": [{"properties": {"firstname": ["a"]}}]}),
        ),
        (
            CREATE,
            json!({"inputs": [{"properties": {}, "objectWriteTraceId": 7}]}),
        ),
        (CREATE, json!({"inputs": [{}]})),
        (CREATE, json!({})),
        (
            UPDATE,
            json!({"inputs": [{"id": {"x": 1}, "properties": {}}]}),
        ),
        (UPDATE, json!({"inputs": [{"properties": {}}]})),
        (
            UPSERT,
            json!({"inputs": [{"id": "a@example.com", "idProperty": 5, "properties": {}}]}),
        ),
        (
            READ,
            json!({"inputs": [{"id": "1"}], "properties": "email"}),
        ),
        (ARCHIVE, json!({"inputs": "1"})),
        (
            V1_BATCH,
            json!({"email": "a@example.com", "properties": []}),
        ),
        (
            V1_BATCH,
            json!([{"email": "a@example.com", "properties": {"firstname": "x"}}]),
        ),
        (V1_CREATE, json!({"properties": [{"value": "x"}]})),
        (V1_CREATE, json!({"properties": "email"})),
    ] {
        let r = h.post(path, body.clone()).await;
        let msg = r.assert_error(400, Some("VALIDATION_ERROR"));
        assert!(
            msg.starts_with("Invalid input JSON"),
            "{path} {body}: {msg}"
        );
    }
    assert!(h.contacts().is_empty());
    still_serves(&h).await;
}

#[tokio::test]
async fn numbers_booleans_and_null_are_coerced_like_hubspot() {
    let h = start_default().await;
    let r = h
        .post(
            CREATE,
            json!({"inputs": [{"properties": {"email": "n@example.com", "zip": 12345, "city": true, "phone": null}}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let c = h.by_email("n@example.com").unwrap();
    assert_eq!(c.properties["zip"], "12345");
    assert_eq!(c.properties["city"], "true");
    assert!(!c.properties.contains_key("phone"), "null clears");
    // Numeric ids are accepted as strings.
    let id: u64 = c.id.parse().unwrap();
    let r = h
        .post(
            UPDATE,
            json!({"inputs": [{"id": id, "properties": {"city": "Rome"}}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn unknown_routes_and_methods() {
    let h = start_default().await;
    let r = h
        .post("/crm/v3/objects/contacts/batch/explode", json!({}))
        .await;
    r.assert_error(404, None);
    let r = h
        .http
        .get(h.url(CREATE))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    still_serves(&h).await;
}

#[tokio::test]
async fn refused_requests_change_nothing() {
    let h = start_default().await;
    h.upsert_emails(&["keep@example.com"]).await;
    let before = h.contacts();
    let id = before[0].id.clone();
    let refusals = [
        (
            UPDATE,
            json!({"inputs": [{"id": id, "properties": {"city": "A"}}, {"id": id, "properties": {"city": "B"}}]}),
        ),
        (
            UPDATE,
            json!({"inputs": [{"id": id, "properties": {"city": "A"}}, {"id": "1", "idProperty": "email", "properties": {}}]}),
        ),
        (
            UPSERT,
            json!({"inputs": [
                {"id": "new@example.com", "idProperty": "email", "properties": {}},
                {"id": "keep@example.com", "idProperty": "email", "properties": {"createdate": "x"}}
            ]}),
        ),
        (
            CREATE,
            json!({"inputs": [{"properties": {"email": "x@example.com"}}, {"properties": {"email": "KEEP@example.com"}}]}),
        ),
        (ARCHIVE, json!({"inputs": [{"id": id}, {"id": id}]})),
    ];
    for (path, body) in refusals {
        let r = h.post(path, body).await;
        assert!((400..500).contains(&r.status), "{path}: {}", r.text);
    }
    assert_eq!(h.contacts(), before);
}
