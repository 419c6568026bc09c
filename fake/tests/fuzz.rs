//! Property tests of the fake's request handling over HTTP: random bytes,
//! mutated valid bodies and random JSON values on every route get a 2xx or a
//! HubSpot-shaped 4xx, never a 5xx, a dropped connection or a panic, and the
//! fake keeps serving. Also a 10 MB body.
//!
//! `PROPTEST_CASES=N` sets the number of cases (256 by default).

mod support;

use std::sync::OnceLock;

use proptest::prelude::*;
use serde_json::{Value, json};
use support::*;

/// A dated batch path, by object type id, beside the v3 ones.
const DATED_UPSERT: &str = "/crm/objects/2026-09/0-1/batch/upsert";

const ROUTES: [&str; 8] = [
    CREATE,
    UPDATE,
    UPSERT,
    READ,
    ARCHIVE,
    DATED_UPSERT,
    V1_BATCH,
    V1_CREATE,
];

/// One fake and one runtime for all cases.
fn harness() -> &'static (tokio::runtime::Runtime, Harness) {
    static HARNESS: OnceLock<(tokio::runtime::Runtime, Harness)> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let harness = runtime.block_on(start_default());
        (runtime, harness)
    })
}

/// Posts `body` to `route` and checks the answer is a 2xx, or a 4xx with
/// HubSpot's error shape.
fn check(route: &str, content_type: Option<&str>, body: Vec<u8>) -> Result<(), TestCaseError> {
    let (runtime, h) = harness();
    let r = runtime.block_on(h.post_raw(route, content_type, body));
    prop_assert!(r.status < 500, "{route}: {} {}", r.status, r.text);
    if r.status >= 400 {
        prop_assert_eq!(&r.json["status"], "error", "{}", r.text);
        prop_assert!(r.json["message"].is_string(), "{}", r.text);
        prop_assert!(r.json["correlationId"].is_string(), "{}", r.text);
    }
    Ok(())
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        ".{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("email"),
            Just("a@example.com"),
            Just("inputs"),
            Just("idProperty"),
            Just("properties"),
            Just("1"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("inputs".to_owned()),
                    Just("properties".to_owned()),
                    Just("id".to_owned()),
                    Just("idProperty".to_owned()),
                    Just("email".to_owned()),
                    Just("vid".to_owned()),
                    Just("property".to_owned()),
                    Just("value".to_owned()),
                    Just("objectWriteTraceId".to_owned()),
                    ".{0,6}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Valid bodies for each route, to be mutated.
fn valid_body(route: &str) -> Vec<u8> {
    let body = match route {
        CREATE => {
            json!({"inputs": [{"properties": {"email": "m@example.com", "firstname": "M"}, "associations": []}]})
        }
        UPDATE => json!({"inputs": [{"id": "1", "properties": {"city": "Rome"}}]}),
        UPSERT | DATED_UPSERT => {
            json!({"inputs": [{"id": "m@example.com", "idProperty": "email", "properties": {"firstname": "M"}}]})
        }
        READ => {
            json!({"inputs": [{"id": "1"}], "properties": ["email"], "idProperty": "hs_object_id"})
        }
        ARCHIVE => json!({"inputs": [{"id": "1"}]}),
        V1_BATCH => {
            json!([{"email": "m@example.com", "properties": [{"property": "firstname", "value": "M"}]}])
        }
        _ => json!({"properties": [{"property": "email", "value": "n@example.com"}]}),
    };
    serde_json::to_vec(&body).expect("json")
}

proptest! {
    #[test]
    fn random_bytes_get_a_hubspot_shaped_answer(
        route in prop::sample::select(ROUTES.to_vec()),
        bytes in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        check(route, Some("application/json"), bytes)?;
    }

    #[test]
    fn random_json_gets_a_hubspot_shaped_answer(
        route in prop::sample::select(ROUTES.to_vec()),
        value in json_value(),
    ) {
        check(route, Some("application/json"), serde_json::to_vec(&value).expect("json"))?;
    }

    #[test]
    fn any_value_of_a_typed_property_gets_a_verdict(
        name in prop::sample::select(&[
            "annualrevenue", "closedate", "date_of_birth", "do_not_call", "hs_buying_role",
            "lifecyclestage", "num_associated_deals", "email",
        ][..]),
        value in "\\PC{0,30}|[0-9;.e: TZ+-]{0,20}",
    ) {
        let body = json!({"inputs": [{"properties": {name: value, "firstname": "F"}}]});
        let (runtime, h) = harness();
        let r = runtime.block_on(h.post(CREATE, body));
        prop_assert!(r.status == 201 || r.status == 400 || r.status == 409, "{} {}", r.status, r.text);
        if r.status == 400 {
            let code = r.errors().first().and_then(|e| e["code"].as_str().map(str::to_owned));
            prop_assert!(code.is_some(), "{}", r.text);
        }
    }

    #[test]
    fn mutated_valid_bodies_get_a_hubspot_shaped_answer(
        route in prop::sample::select(ROUTES.to_vec()),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
        content_type in prop_oneof![
            Just(Some("application/json")),
            Just(Some("application/json; charset=utf-8")),
            Just(Some("text/plain")),
            Just(None),
        ],
    ) {
        let mut body = valid_body(route);
        for (at, byte, kind) in edits {
            if body.is_empty() {
                body.push(byte);
                continue;
            }
            let at = at.index(body.len());
            match kind {
                0 => body[at] = byte,
                1 => body.insert(at, byte),
                _ => {
                    body.remove(at);
                }
            }
        }
        check(route, content_type, body)?;
    }
}

#[test]
fn the_shared_fake_serves_valid_requests_between_fuzz_cases() {
    let (runtime, h) = harness();
    let r = runtime.block_on(h.post(
        UPSERT,
        json!({"inputs": [{"id": "after@example.com", "idProperty": "email", "properties": {}}]}),
    ));
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn a_ten_megabyte_body_is_413_and_changes_nothing() {
    let h = start_default().await;
    for body in [
        // Valid JSON, 10 MB.
        serde_json::to_vec(&json!({"inputs": [{"properties": {"email": "big@example.com", "address": "z".repeat(10 * 1024 * 1024)}}]}))
            .expect("json"),
        // Garbage, 10 MB.
        vec![b'['; 10 * 1024 * 1024],
    ] {
        let r = h.post_raw(CREATE, Some("application/json"), body).await;
        r.assert_error(413, Some("VALIDATION_ERROR"));
    }
    assert!(h.contacts().is_empty());
    let r = h.upsert_emails(&["alive@example.com"]).await;
    assert_eq!(r.status, 200);
}
