//! The property catalogue: served at v3 and every dated version, loaded from a saved
//! properties list (the sample portal in `examples/portal-properties.json`), and the
//! per-type value checks on writes.

mod support;

use hubspot_fake::{FakeHubSpot, PropertyDef, PropertyKind, StartError, routes};
use serde_json::{Value, json};
use support::*;

/// The sample portal catalogue (number, date, datetime, bool, multi-select, calculated,
/// read-only and an ambiguous label), relative to the fake's package root.
const PORTAL: &str = "examples/portal-properties.json";

fn portal_results() -> Vec<Value> {
    let text = std::fs::read_to_string(PORTAL).expect("sample catalogue");
    let listing: Value = serde_json::from_str(&text).expect("valid JSON");
    listing["results"].as_array().cloned().expect("results")
}

/// The properties list path at `version` for `object_type`.
fn properties_path(version: &str, object_type: &str) -> String {
    if version == "v3" {
        format!("/crm/v3/properties/{object_type}")
    } else {
        format!("/crm/properties/{version}/{object_type}")
    }
}

async fn get(h: &Harness, path: &str) -> Resp {
    let resp = h
        .http
        .get(h.url(path))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("request succeeds");
    read_resp(resp).await
}

/// The codes of a 400's `errors[]`, with the property each names.
fn refusals(r: &Resp) -> Vec<(String, String)> {
    r.errors()
        .iter()
        .map(|e| {
            (
                e["code"].as_str().unwrap_or("").to_owned(),
                e["context"]["propertyName"][0]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_catalogue_is_served_at_every_version_for_contacts_and_0_1() {
    let h = start_default().await;
    for version in versions() {
        for object_type in ["contacts", "0-1"] {
            let r = get(&h, &properties_path(version, object_type)).await;
            assert_eq!(r.status, 200, "{version} {object_type}: {}", r.text);
            let results = r.json["results"].as_array().expect("results");
            let firstname = results.iter().find(|p| p["name"] == "firstname").unwrap();
            assert_eq!(firstname["label"], "First Name");
            assert_eq!(firstname["type"], "string");
            let role = results
                .iter()
                .find(|p| p["name"] == "hs_buying_role")
                .unwrap();
            assert_eq!(role["fieldType"], "checkbox");
            assert!(role["options"].as_array().is_some_and(|o| !o.is_empty()));
        }
        let name = routes::properties(version);
        assert_eq!(h.fake.stats().responses[&name][&200], 2, "{name}");
    }
    assert_eq!(routes::properties("v3"), routes::V3_PROPERTIES);
    let archived = get(&h, "/crm/v3/properties/contacts?archived=true").await;
    assert_eq!(archived.json, json!({"results": []}));
}

#[tokio::test]
async fn other_object_types_and_versions_are_not_found_and_change_nothing() {
    let h = start_default().await;
    for path in [
        "/crm/v3/properties/companies",
        "/crm/properties/2025-01/contacts",
        "/crm/properties/v3/contacts",
        "/crm/properties/2026-09/0-2",
    ] {
        let r = get(&h, path).await;
        r.assert_error(404, Some("OBJECT_NOT_FOUND"));
    }
    assert_eq!(h.fake.stats().requests, 0);
}

#[tokio::test]
async fn the_properties_list_needs_a_token_and_counts_against_the_limits() {
    let h = start(FakeHubSpot::builder().tokens(["good"]).daily_limit(1)).await;
    let anonymous = read_resp(
        h.http
            .get(h.url("/crm/v3/properties/contacts"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    anonymous.assert_error(401, Some("INVALID_AUTHENTICATION"));
    let list = |h: &Harness| {
        h.http
            .get(h.url("/crm/v3/properties/contacts"))
            .bearer_auth("good")
            .send()
    };
    assert_eq!(list(&h).await.unwrap().status(), 200);
    assert_eq!(list(&h).await.unwrap().status(), 429);
}

#[tokio::test]
async fn a_loaded_catalogue_is_served_as_given() {
    let h = start(FakeHubSpot::builder().properties_file(PORTAL)).await;
    for version in versions() {
        let r = get(&h, &properties_path(version, "contacts")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            r.json["results"],
            Value::Array(portal_results()),
            "{version}"
        );
    }
}

#[tokio::test]
async fn a_loaded_catalogue_checks_each_type_with_hubspots_codes() {
    let h = start(FakeHubSpot::builder().properties_file(PORTAL)).await;
    let cases = [
        ("employees", "1,200", Some("INVALID_INTEGER")),
        ("employees", "1e3", Some("INVALID_INTEGER")),
        ("employees", "1200", None),
        ("annualrevenue", "-12.5", None),
        ("date_of_birth", "1795352460000", Some("INVALID_DATE")),
        ("date_of_birth", "10/12/1815", Some("INVALID_DATE")),
        ("date_of_birth", "1815-12-10", None),
        ("date_of_birth", "1795305600000", None),
        ("last_seen_at", "yesterday", Some("INVALID_LONG")),
        ("last_seen_at", "2026-11-22T10:30:00.000Z", None),
        ("newsletter_opt_in", "yes", Some("INVALID_OPTION")),
        ("newsletter_opt_in", "true", None),
        ("lifecyclestage", "Lead", Some("INVALID_OPTION")),
        ("lifecyclestage", "lead", None),
        ("hs_buying_role", "CHAMPION;BOSS", Some("INVALID_OPTION")),
        ("hs_buying_role", "CHAMPION;END_USER", None),
        ("hubspot_owner_id", "12345", None),
        ("num_associated_deals", "3", Some("READ_ONLY_VALUE")),
        ("createdate", "1795305600000", Some("READ_ONLY_VALUE")),
        ("hs_object_id", "7", Some("READ_ONLY_VALUE")),
        ("nickname", "Ada", Some("PROPERTY_DOESNT_EXIST")),
        ("email", "not-an-email", Some("INVALID_EMAIL")),
    ];
    for (n, (property, value, code)) in cases.into_iter().enumerate() {
        let email = format!("typed{n}@example.com");
        let mut properties = json!({ property: value });
        if property != "email" {
            properties["email"] = json!(email);
        }
        let body =
            json!({"inputs": [{"id": email, "idProperty": "email", "properties": properties}]});
        let r = h.post(UPSERT, body).await;
        match code {
            None => assert_eq!(r.status, 200, "{property}={value}: {}", r.text),
            Some(code) => {
                let message = r.assert_error(400, Some("VALIDATION_ERROR"));
                assert_eq!(
                    refusals(&r),
                    [(code.to_owned(), property.to_owned())],
                    "{property}={value}"
                );
                assert!(
                    message.starts_with("Property values were not valid: "),
                    "both envelope forms: {message}"
                );
                assert!(message.contains(code), "{message}");
            }
        }
    }
    let stored = h
        .by_email("typed15@example.com")
        .expect("the good multi-select");
    assert_eq!(stored.properties["hs_buying_role"], "CHAMPION;END_USER");
    let refused = (0..22)
        .filter(|n| h.by_email(&format!("typed{n}@example.com")).is_none())
        .count();
    assert_eq!(refused, 13, "a refused request stores nothing");
}

#[tokio::test]
async fn the_default_catalogue_gains_typed_properties_and_keeps_its_own() {
    let h = start_default().await;
    let body = json!({"inputs": [
        {"properties": {"email": "a@example.com", "annualrevenue": "12 000"}},
        {"properties": {"email": "b@example.com", "hs_buying_role": "CHAMPION;NOBODY"}},
        {"properties": {"email": "c@example.com", "num_associated_deals": "2"}},
        {"properties": {"email": "d@example.com", "lifecyclestage": "boss"}}
    ]});
    let r = h.post(CREATE, body).await;
    r.assert_error(400, Some("VALIDATION_ERROR"));
    let good = json!({"inputs": [{"properties": {
        "email": "e@example.com", "firstname": "Ada", "annualrevenue": "12000",
        "closedate": "2026-12-01T12:00:00Z", "date_of_birth": "1815-12-10",
        "do_not_call": "false", "hs_buying_role": "CHAMPION", "hs_lead_status": "NEW",
        "external_id": "x-1"
    }}]});
    assert_eq!(h.post(CREATE, good).await.status, 201);
}

#[tokio::test]
async fn multi_status_reports_a_bad_typed_value_per_input() {
    let h = start(FakeHubSpot::builder().properties_file(PORTAL)).await;
    let body = json!({"inputs": [
        {"properties": {"email": "good@example.com", "employees": "5"}, "objectWriteTraceId": "t1"},
        {"properties": {"email": "bad@example.com", "employees": "five"}, "objectWriteTraceId": "t2"}
    ]});
    let r = h.post(CREATE, body).await;
    assert_eq!(r.status, 207, "{}", r.text);
    let errors = r.errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["context"]["objectWriteTraceId"], json!(["t2"]));
    assert_eq!(errors[0]["errors"][0]["code"], "INVALID_INTEGER");
    assert!(h.by_email("good@example.com").is_some());
    assert!(h.by_email("bad@example.com").is_none());
}

#[tokio::test]
async fn a_loaded_catalogue_keeps_email_unique_and_the_system_properties() {
    let minimal = json!({"results": [
        {"name": "email", "label": "Email", "type": "string", "fieldType": "text",
         "hasUniqueValue": false},
        {"name": "score", "label": "Score", "type": "number", "fieldType": "number"}
    ]});
    let h = start(FakeHubSpot::builder().properties_json(&minimal.to_string())).await;
    let first = json!({"inputs": [{"properties": {"email": "Ada@Example.com", "score": "9"}}]});
    assert_eq!(h.post(CREATE, first).await.status, 201);
    let again = json!({"inputs": [{"properties": {"email": "ada@example.com"}}]});
    assert_eq!(
        h.post(CREATE, again).await.status,
        409,
        "email stays unique"
    );
    let listed = get(&h, "/crm/v3/properties/contacts").await;
    let names: Vec<&str> = listed.json["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "email",
            "score",
            "hs_object_id",
            "createdate",
            "lastmodifieddate"
        ]
    );
    let contact = h.by_email("ada@example.com").unwrap();
    assert!(contact.properties.contains_key("hs_object_id"));
}

#[tokio::test]
async fn properties_added_after_a_file_extend_it() {
    let h = start(
        FakeHubSpot::builder()
            .properties_file(PORTAL)
            .property(PropertyDef::new("score", PropertyKind::Number).label("Score")),
    )
    .await;
    let listed = get(&h, "/crm/v3/properties/contacts").await;
    let results = listed.json["results"].as_array().unwrap();
    assert_eq!(results.len(), portal_results().len() + 1);
    assert_eq!(results.last().unwrap()["label"], "Score");
}

#[tokio::test]
async fn unreadable_or_malformed_catalogues_stop_the_start() {
    let missing = FakeHubSpot::builder()
        .properties_file("examples/no-such-file.json")
        .start()
        .await;
    let Err(StartError::Properties { origin, .. }) = missing else {
        panic!("a missing file must fail the start");
    };
    assert!(origin.ends_with("no-such-file.json"), "{origin}");
    for text in ["[]", "{\"results\": [{\"label\": \"no name\"}]}", "{"] {
        let error = FakeHubSpot::builder()
            .properties_json(text)
            .start()
            .await
            .expect_err(text);
        assert!(
            error
                .to_string()
                .starts_with("cannot load the property catalogue from JSON text: "),
            "{error}"
        );
    }
    let fixed = FakeHubSpot::builder()
        .properties_json("{")
        .properties_json("{\"results\": []}")
        .start()
        .await;
    assert!(fixed.is_ok(), "a later good catalogue replaces the bad one");
}
