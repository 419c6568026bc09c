//! HubSpot's API versions: the v3 and dated batch paths over one store, unknown versions
//! and object types, admin-required properties (enforced from 2026-09 on) and the shape of
//! 207 error items.

mod support;

use std::time::Duration;

use hubspot_fake::{FakeHubSpot, PropertyDef, StartError, routes};
use serde_json::{Value, json};
use support::*;

/// Each (version, object type) a batch path can name: v3 only says `contacts`.
fn every_path_family() -> Vec<(&'static str, &'static str)> {
    let mut families = Vec::new();
    for version in versions() {
        families.push((version, "contacts"));
        if version != "v3" {
            families.push((version, "0-1"));
        }
    }
    families
}

fn id_of(r: &Resp) -> String {
    r.results()[0]["id"].as_str().expect("id").to_owned()
}

/// The JSON array HubSpot embeds in a property error's `message`.
fn embedded(message: &str) -> Value {
    let json = message
        .strip_prefix("Property values were not valid: ")
        .unwrap_or_else(|| panic!("no embedded results: {message}"));
    serde_json::from_str(json).expect("embedded JSON")
}

#[test]
fn the_live_dated_versions_are_served_oldest_first() {
    // HubSpot's next version is one more value; these two stay until they sunset.
    assert_eq!(routes::DATED_VERSIONS[..2], ["2026-03", "2026-09"]);
    assert!(
        routes::DATED_VERSIONS
            .windows(2)
            .all(|pair| pair[0] < pair[1])
    );
    assert_eq!(versions()[0], "v3");
    assert_eq!(versions()[1..], *routes::DATED_VERSIONS);
}

#[tokio::test]
async fn every_version_serves_the_five_batch_paths_over_one_store() {
    let h = start_default().await;
    let families = every_path_family();
    // v3 by `contacts`, each dated version by `contacts` and by `0-1`.
    assert_eq!(families.len(), 1 + 2 * routes::DATED_VERSIONS.len());

    // One contact created through each family.
    let mut ids = Vec::new();
    for (i, (version, object_type)) in families.iter().enumerate() {
        let r = h
            .post(
                &batch_path(version, object_type, "create"),
                json!({"inputs": [{"properties": {"email": format!("c{i}@example.com")}}]}),
            )
            .await;
        assert_eq!(r.status, 201, "{version}/{object_type}: {}", r.text);
        ids.push(id_of(&r));
    }
    assert_eq!(h.contacts().len(), families.len());

    // Each family reads every contact, whichever family wrote it.
    let inputs: Vec<Value> = ids.iter().map(|id| json!({"id": id})).collect();
    for (version, object_type) in &families {
        let r = h
            .post(
                &batch_path(version, object_type, "read"),
                json!({"inputs": inputs, "properties": ["email"]}),
            )
            .await;
        assert_eq!(r.status, 200, "{version}/{object_type}: {}", r.text);
        let mut emails: Vec<String> = r
            .results()
            .iter()
            .map(|o| o["properties"]["email"].as_str().unwrap().to_owned())
            .collect();
        emails.sort();
        let mut expected: Vec<String> = (0..families.len())
            .map(|i| format!("c{i}@example.com"))
            .collect();
        expected.sort();
        assert_eq!(emails, expected, "{version}/{object_type}");
    }

    // Contact i is updated through family i + 1 and upserted through family i + 2.
    let n = families.len();
    for (i, id) in ids.iter().enumerate() {
        let (version, object_type) = families[(i + 1) % n];
        let r = h
            .post(
                &batch_path(version, object_type, "update"),
                json!({"inputs": [{"id": id, "properties": {"city": version}}]}),
            )
            .await;
        assert_eq!(r.status, 200, "{version}/{object_type}: {}", r.text);
        let (version, object_type) = families[(i + 2) % n];
        let r = h
            .post(
                &batch_path(version, object_type, "upsert"),
                json!({"inputs": [{"id": format!("c{i}@example.com"), "idProperty": "email", "properties": {"lastname": object_type}}]}),
            )
            .await;
        assert_eq!(r.status, 200, "{version}/{object_type}: {}", r.text);
        assert_eq!(r.results()[0]["new"], false, "{version}/{object_type}");
        assert_eq!(r.results()[0]["id"], id.as_str());
    }
    for (i, id) in ids.iter().enumerate() {
        let stored = h.contacts().into_iter().find(|c| &c.id == id).unwrap();
        assert_eq!(stored.properties["city"], families[(i + 1) % n].0);
        assert_eq!(stored.properties["lastname"], families[(i + 2) % n].1);
    }
    assert_eq!(h.contacts().len(), n, "no duplicates were created");

    // Contact i is archived through family i + 3, then read as archived through v3.
    for (i, id) in ids.iter().enumerate() {
        let (version, object_type) = families[(i + 3) % n];
        let r = h
            .post(
                &batch_path(version, object_type, "archive"),
                json!({"inputs": [{"id": id}]}),
            )
            .await;
        assert_eq!(r.status, 204, "{version}/{object_type}: {}", r.text);
    }
    assert!(h.live_contacts().is_empty());
    let r = h
        .post(
            &format!("{}?archived=true", batch_path("2026-09", "0-1", "read")),
            json!({"inputs": inputs}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.results().len(), n);

    // Stats: v3 under its constants, dated versions under their own names whatever the
    // object type.
    let stats = h.fake.stats();
    assert_eq!(stats.count(routes::V3_CREATE, 201), 1);
    assert_eq!(stats.count(&routes::batch("v3", "create"), 201), 1);
    for version in ["2026-03", "2026-09"] {
        assert_eq!(stats.count(&routes::batch(version, "create"), 201), 2);
        assert_eq!(stats.count(&routes::batch(version, "update"), 200), 2);
        assert_eq!(stats.count(&routes::batch(version, "upsert"), 200), 2);
        assert_eq!(stats.count(&routes::batch(version, "archive"), 204), 2);
    }
    assert_eq!(
        stats.count("POST /crm/objects/2026-09/contacts/batch/read", 200),
        3,
        "two plain reads and the archived one, by name and by 0-1"
    );
    assert!(
        stats.responses.keys().all(|k| !k.contains("0-1")),
        "{:?}",
        stats.responses.keys()
    );
    assert_eq!(stats.requests, 5 * n as u64 + 1);
}

#[tokio::test]
async fn unknown_versions_object_types_and_operations_are_hubspot_shaped_404s() {
    let h = start_default().await;
    let upsert =
        json!({"inputs": [{"id": "a@example.com", "idProperty": "email", "properties": {}}]});
    let paths = [
        "/crm/objects/2025-01/contacts/batch/upsert",
        "/crm/objects/2026-09/companies/batch/upsert",
        "/crm/objects/2026-09/0-2/batch/upsert",
        "/crm/objects/v3/contacts/batch/upsert",
        "/crm/objects/2026-09-beta/contacts/batch/upsert",
        "/crm/objects/2026-09/contacts/batch/explode",
    ];
    for path in paths {
        let r = h.post(path, upsert.clone()).await;
        let message = r.assert_error(404, Some("OBJECT_NOT_FOUND"));
        assert_eq!(message, format!("No route for POST {path}"));
        assert_eq!(
            r.header("x-hubspot-correlation-id"),
            r.json["correlationId"].as_str()
        );
    }
    assert!(h.contacts().is_empty(), "nothing was applied");
    let stats = h.fake.stats();
    assert_eq!(stats.requests, paths.len() as u64);
    // One name for every stray path, however many there are.
    assert_eq!(stats.count(routes::DATED_UNSERVED, 404), paths.len() as u64);
    assert_eq!(stats.responses.len(), 1, "{:?}", stats.responses.keys());
    assert_eq!(stats.count_status(404), paths.len() as u64);
}

#[tokio::test]
async fn dated_paths_go_through_auth_limits_and_faults() {
    let h = start(
        FakeHubSpot::builder()
            .seed(1)
            .tokens([TOKEN])
            .rate_limit(2, Duration::from_secs(60)),
    )
    .await;
    let path = batch_path("2026-09", "0-1", "upsert");
    let body =
        json!({"inputs": [{"id": "a@example.com", "idProperty": "email", "properties": {}}]});
    let r = read_resp(
        h.http
            .post(h.url(&path))
            .bearer_auth("wrong")
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.assert_error(401, Some("INVALID_AUTHENTICATION"));
    assert_eq!(h.post(&path, body.clone()).await.status, 200);
    let r = h
        .post(
            &batch_path("2026-03", "contacts", "read"),
            json!({"inputs": []}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-hubspot-ratelimit-remaining"), Some("0"));
    let r = h.post(&path, body.clone()).await;
    assert_eq!(r.status, 429, "{}", r.text);
    let stats = h.fake.stats();
    let name = routes::batch("2026-09", "upsert");
    assert_eq!(stats.count(&name, 401), 1);
    assert_eq!(stats.count(&name, 200), 1);
    assert_eq!(stats.count(&name, 429), 1);
    assert_eq!((stats.unauthorized, stats.rate_limited), (1, 1));

    let faulty =
        start(FakeHubSpot::builder().faults(hubspot_fake::FaultSpec::parse("503=1").unwrap()))
            .await;
    let r = faulty.post(&path, body).await;
    r.assert_error(503, None);
    assert!(faulty.contacts().is_empty());
    assert_eq!(faulty.fake.stats().count(&name, 503), 1);
}

async fn requiring_lifecyclestage() -> Harness {
    start(
        FakeHubSpot::builder()
            .seed(1)
            .required_property("lifecyclestage"),
    )
    .await
}

#[tokio::test]
async fn a_2026_09_create_without_a_required_property_is_refused_whole() {
    let h = requiring_lifecyclestage().await;
    for object_type in ["contacts", "0-1"] {
        for missing in [
            json!({}),
            json!({"lifecyclestage": ""}),
            json!({"lifecyclestage": null}),
        ] {
            let mut props = json!({"email": "b@example.com"});
            props
                .as_object_mut()
                .unwrap()
                .extend(missing.as_object().unwrap().clone());
            let r = h
                .post(
                    &batch_path("2026-09", object_type, "create"),
                    json!({"inputs": [
                        {"properties": {"email": "a@example.com", "lifecyclestage": "lead"}},
                        {"properties": props}
                    ]}),
                )
                .await;
            let message = r.assert_error(400, Some("VALIDATION_ERROR"));
            // Both envelope forms: the detail embedded in `message`, and `errors[]`.
            assert_eq!(
                embedded(&message),
                json!([{
                    "isValid": false,
                    "message": "Property \"lifecyclestage\" is required",
                    "error": "MISSING_REQUIRED_PROPERTY",
                    "name": "lifecyclestage"
                }]),
                "{missing}"
            );
            assert_eq!(
                r.json["errors"],
                json!([{
                    "message": "Property \"lifecyclestage\" is required",
                    "code": "MISSING_REQUIRED_PROPERTY",
                    "context": {"propertyName": ["lifecyclestage"]}
                }])
            );
        }
    }
    assert!(
        h.contacts().is_empty(),
        "nothing stored, the good input neither"
    );
    assert_eq!(
        h.fake
            .stats()
            .count(&routes::batch("2026-09", "create"), 400),
        6
    );

    let r = h
        .post(
            &batch_path("2026-09", "contacts", "create"),
            json!({"inputs": [{"properties": {"email": "a@example.com", "lifecyclestage": "lead"}}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(h.contacts().len(), 1);
}

#[tokio::test]
async fn with_trace_ids_a_missing_required_property_is_a_207_item() {
    let h = requiring_lifecyclestage().await;
    let r = h
        .post(
            &batch_path("2026-09", "0-1", "create"),
            json!({"inputs": [
                {"properties": {"email": "good@example.com", "lifecyclestage": "lead"}, "objectWriteTraceId": "t-good"},
                {"properties": {"email": "bad@example.com"}, "objectWriteTraceId": "t-bad"},
                {"properties": {"email": "also-good@example.com", "lifecyclestage": "customer"}, "objectWriteTraceId": "t-also-good"}
            ]}),
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.text);
    assert_eq!(r.json["numErrors"], 1);
    let mut traces: Vec<&str> = r.json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["objectWriteTraceId"].as_str().unwrap())
        .collect();
    traces.sort_unstable();
    assert_eq!(traces, ["t-also-good", "t-good"]);
    let item = &r.errors()[0];
    assert_eq!(item["status"], "error");
    assert_eq!(item["category"], "VALIDATION_ERROR");
    assert_eq!(
        item["context"],
        json!({"objectWriteTraceId": ["t-bad"], "propertyName": ["lifecyclestage"]})
    );
    assert_eq!(item["errors"][0]["code"], "MISSING_REQUIRED_PROPERTY");
    assert_eq!(
        item["errors"][0]["context"]["propertyName"],
        json!(["lifecyclestage"])
    );
    assert_eq!(
        embedded(item["message"].as_str().unwrap())[0]["error"],
        "MISSING_REQUIRED_PROPERTY"
    );
    assert!(h.by_email("good@example.com").is_some());
    assert!(h.by_email("also-good@example.com").is_some());
    assert!(h.by_email("bad@example.com").is_none());
    assert_eq!(h.contacts().len(), 2);
}

#[tokio::test]
async fn upserts_that_create_need_required_properties_and_updates_do_not() {
    let h = requiring_lifecyclestage().await;
    // v3 does not enforce the rule, so this contact lacks the property.
    h.upsert_emails(&["old@example.com"]).await;
    let old = h.by_email("old@example.com").unwrap();
    assert!(!old.properties.contains_key("lifecyclestage"));
    let upsert = batch_path("2026-09", "contacts", "upsert");
    let input = |email: &str, trace: Option<&str>| {
        let mut i = json!({"id": email, "idProperty": "email", "properties": {"city": "Oslo"}});
        if let Some(t) = trace {
            i["objectWriteTraceId"] = json!(t);
        }
        i
    };

    // Without trace ids the create fails the batch, the update included.
    let r = h
        .post(
            &upsert,
            json!({"inputs": [input("old@example.com", None), input("new@example.com", None)]}),
        )
        .await;
    r.assert_error(400, Some("VALIDATION_ERROR"));
    assert_eq!(r.json["errors"][0]["code"], "MISSING_REQUIRED_PROPERTY");
    assert_eq!(
        r.json["errors"][0]["context"]["propertyName"],
        json!(["lifecyclestage"])
    );
    assert_eq!(h.contacts(), vec![old.clone()], "nothing changed");

    // With trace ids the update goes through and the create is a 207 item.
    let r = h
        .post(
            &upsert,
            json!({"inputs": [input("old@example.com", Some("t-old")), input("new@example.com", Some("t-new"))]}),
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.text);
    assert_eq!(r.results().len(), 1);
    assert_eq!(r.results()[0]["new"], false);
    assert_eq!(r.results()[0]["objectWriteTraceId"], "t-old");
    let item = &r.errors()[0];
    assert_eq!(item["context"]["objectWriteTraceId"], json!(["t-new"]));
    assert_eq!(item["context"]["propertyName"], json!(["lifecyclestage"]));
    assert_eq!(item["errors"][0]["code"], "MISSING_REQUIRED_PROPERTY");
    assert_eq!(
        h.by_email("old@example.com").unwrap().properties["city"],
        "Oslo"
    );
    assert!(h.by_email("new@example.com").is_none());

    // An update without the property is fine, by upsert or by update.
    let r = h
        .post(&upsert, json!({"inputs": [input("old@example.com", None)]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = h
        .post(
            &batch_path("2026-09", "0-1", "update"),
            json!({"inputs": [{"id": old.id, "properties": {"city": "Bergen"}}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // A create carrying it is fine.
    let r = h
        .post(
            &upsert,
            json!({"inputs": [{"id": "new@example.com", "idProperty": "email", "properties": {"lifecyclestage": "lead"}}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.results()[0]["new"], true);
    assert_eq!(h.live_contacts().len(), 2);
}

#[tokio::test]
async fn the_upsert_key_counts_as_the_value_of_a_required_id_property() {
    let h = start(FakeHubSpot::builder().required_property("email")).await;
    let upsert = batch_path("2026-09", "contacts", "upsert");
    let r = h
        .post(
            &upsert,
            json!({"inputs": [{"id": "a@example.com", "idProperty": "email", "properties": {}}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.results()[0]["new"], true);
    // Upserting by another unique property does not supply the email.
    let r = h
        .post(
            &upsert,
            json!({"inputs": [{"id": "X-1", "idProperty": "external_id", "properties": {}}]}),
        )
        .await;
    r.assert_error(400, Some("VALIDATION_ERROR"));
    assert_eq!(
        r.json["errors"][0]["context"]["propertyName"],
        json!(["email"])
    );
    assert_eq!(h.contacts().len(), 1);
}

#[tokio::test]
async fn v3_and_2026_03_ignore_required_properties() {
    let h = start(
        FakeHubSpot::builder()
            .required_property("lifecyclestage")
            .required_property("city"),
    )
    .await;
    for (i, version) in ["v3", "2026-03"].into_iter().enumerate() {
        let r = h
            .post(
                &batch_path(version, "contacts", "create"),
                json!({"inputs": [{"properties": {"email": format!("c{i}@example.com")}}]}),
            )
            .await;
        assert_eq!(r.status, 201, "{version}: {}", r.text);
        let r = h
            .post(
                &batch_path(version, "contacts", "upsert"),
                json!({"inputs": [{"id": format!("u{i}@example.com"), "idProperty": "email", "properties": {}}]}),
            )
            .await;
        assert_eq!(r.status, 200, "{version}: {}", r.text);
        assert_eq!(r.results()[0]["new"], true);
    }
    assert_eq!(h.contacts().len(), 4);
    // 2026-09 names both missing properties.
    let r = h
        .post(
            &batch_path("2026-09", "contacts", "create"),
            json!({"inputs": [{"properties": {"email": "n@example.com"}}]}),
        )
        .await;
    r.assert_error(400, Some("VALIDATION_ERROR"));
    let names: Vec<Value> = r
        .errors()
        .iter()
        .map(|e| e["context"]["propertyName"][0].clone())
        .collect();
    assert_eq!(names, [json!("lifecyclestage"), json!("city")]);
    assert_eq!(h.contacts().len(), 4);
}

#[tokio::test]
async fn a_required_property_must_be_a_writable_catalogue_property() {
    for name in ["loyalty_id", "createdate", "hs_object_id"] {
        match FakeHubSpot::builder().required_property(name).start().await {
            Err(StartError::RequiredProperty { name: got }) => assert_eq!(got, name),
            other => panic!("{name}: {other:?}"),
        }
    }
    // Declared in either order, a custom property can be required.
    let h = start(
        FakeHubSpot::builder()
            .required_property("loyalty_id")
            .property(PropertyDef::text("loyalty_id")),
    )
    .await;
    let r = h
        .post(
            &batch_path("2026-09", "contacts", "create"),
            json!({"inputs": [{"properties": {"email": "a@example.com"}}]}),
        )
        .await;
    r.assert_error(400, Some("VALIDATION_ERROR"));
    assert_eq!(
        r.json["errors"][0]["context"]["propertyName"],
        json!(["loyalty_id"])
    );
}

/// Asserts that a 207 error item carries HubSpot's six `StandardError` fields.
fn assert_standard_error(item: &Value) {
    let mut fields: Vec<&str> = item
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {item}"))
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "category", "context", "errors", "links", "message", "status"
        ],
        "{item}"
    );
    assert!(item["category"].is_string(), "{item}");
    assert!(item["context"].is_object(), "{item}");
    assert!(item["errors"].is_array(), "{item}");
    assert_eq!(item["links"], json!({}), "{item}");
    assert!(
        item["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{item}"
    );
    assert_eq!(item["status"], "error", "{item}");
}

#[tokio::test]
async fn multi_status_error_items_carry_all_six_fields() {
    let h = requiring_lifecyclestage().await;
    h.upsert_emails(&["taken@example.com"]).await;
    let mut items = Vec::new();
    for version in versions() {
        let r = h
            .post(
                &batch_path(version, "contacts", "create"),
                json!({"inputs": [
                    {"properties": {"email": "taken@example.com", "lifecyclestage": "lead"}, "objectWriteTraceId": "conflict"},
                    {"properties": {"nope": "1"}, "objectWriteTraceId": "unknown-property"},
                    {"properties": {"email": format!("{version}@example.com")}, "objectWriteTraceId": "maybe-required"}
                ]}),
            )
            .await;
        assert_eq!(r.status, 207, "{version}: {}", r.text);
        // Required properties are enforced from 2026-09 on (dated versions sort as text).
        let enforced = version != "v3" && version >= "2026-09";
        let expected = if enforced { 3 } else { 2 };
        assert_eq!(r.errors().len(), expected, "{version}: {}", r.text);
        items.extend(r.errors());
        let r = h
            .post(
                &batch_path(version, "contacts", "update"),
                json!({"inputs": [{"id": "999999", "properties": {}}]}),
            )
            .await;
        assert_eq!(r.status, 207, "{version}: {}", r.text);
        items.extend(r.errors());
        let r = h
            .post(
                &batch_path(version, "contacts", "upsert"),
                json!({"inputs": [{"id": "", "idProperty": "external_id", "properties": {}, "objectWriteTraceId": "empty-key"}]}),
            )
            .await;
        assert_eq!(r.status, 207, "{version}: {}", r.text);
        items.extend(r.errors());
        let r = h
            .post(
                &batch_path(version, "contacts", "read"),
                json!({"inputs": [{"id": "424242"}]}),
            )
            .await;
        assert_eq!(r.status, 207, "{version}: {}", r.text);
        items.extend(r.errors());
    }
    assert_eq!(items.len(), 3 * 5 + 1);
    for item in &items {
        assert_standard_error(item);
    }
    let by_category = |category: &str| {
        items
            .iter()
            .filter(|i| i["category"] == category)
            .collect::<Vec<_>>()
    };
    for item in by_category("CONFLICT") {
        assert_eq!(item["errors"], json!([]), "no details: an empty array");
    }
    for item in by_category("OBJECT_NOT_FOUND") {
        assert_eq!(item["errors"], json!([]));
    }
    let validation = by_category("VALIDATION_ERROR");
    assert_eq!(validation.len(), 3 * 2 + 1);
    let codes: Vec<&str> = validation
        .iter()
        .filter_map(|i| i["errors"][0]["code"].as_str())
        .collect();
    assert_eq!(
        codes,
        ["PROPERTY_DOESNT_EXIST"; 3]
            .into_iter()
            .chain(["MISSING_REQUIRED_PROPERTY"])
            .collect::<Vec<_>>(),
        "details when there are any (the empty-key items have none)"
    );
}
