//! Legacy Contacts v1 endpoints over plain HTTP: batch create-or-update, create, update.

mod support;

use std::time::Duration;

use hubspot_fake::FakeHubSpot;
use serde_json::{Value, json};
use support::*;

fn item_email(email: &str, props: &[(&str, &str)]) -> Value {
    let props: Vec<Value> = props
        .iter()
        .map(|(p, v)| json!({"property": p, "value": v}))
        .collect();
    json!({"email": email, "properties": props})
}

#[tokio::test]
async fn batch_is_202_with_empty_body_and_creates_or_updates() {
    let h = start_default().await;
    h.upsert_emails(&["old@example.com"]).await;
    let old = h.by_email("old@example.com").unwrap().id;
    let r = h
        .post(
            &format!("{V1_BATCH}?auditId=my-audit"),
            json!([
                item_email("new@example.com", &[("firstname", "New")]),
                item_email("OLD@example.com", &[("lastname", "Updated")]),
                {"vid": old.parse::<u64>().unwrap(), "properties": [{"property": "city", "value": "Rome"}]},
                {"vid": old, "properties": [{"property": "zip", "value": 12345}]}
            ]),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert!(r.text.is_empty());
    let new = h.by_email("new@example.com").expect("created");
    assert_eq!(new.properties["firstname"], "New");
    let old_now = h.by_email("old@example.com").unwrap();
    assert_eq!(old_now.id, old);
    assert_eq!(old_now.properties["lastname"], "Updated");
    assert_eq!(old_now.properties["city"], "Rome");
    assert_eq!(old_now.properties["zip"], "12345");
    assert_eq!(h.contacts().len(), 2);
    // Also served without the trailing slash.
    let r = h
        .post(
            "/contacts/v1/contact/batch",
            json!([item_email("x@example.com", &[])]),
        )
        .await;
    assert_eq!(r.status, 202);
}

#[tokio::test]
async fn batch_is_not_applied_before_the_apply_delay() {
    let h = start(
        FakeHubSpot::builder()
            .seed(1)
            .v1_apply_delay(Duration::from_secs(3600)),
    )
    .await;
    let r = h
        .post(
            V1_BATCH,
            json!([item_email("later@example.com", &[("firstname", "L")])]),
        )
        .await;
    assert_eq!(r.status, 202);
    assert!(h.contacts().is_empty(), "not applied when the 202 is sent");
    // Shutdown does not wait for the pending batch.
    h.fake.shutdown().await;
}

#[tokio::test]
async fn batch_is_applied_asynchronously_after_the_apply_delay() {
    let h = start(
        FakeHubSpot::builder()
            .seed(1)
            .v1_apply_delay(Duration::from_millis(200)),
    )
    .await;
    let started = std::time::Instant::now();
    let r = h
        .post(
            V1_BATCH,
            json!([item_email("later@example.com", &[("firstname", "L")])]),
        )
        .await;
    assert_eq!(r.status, 202);
    assert!(
        h.eventually(Duration::from_secs(60), |c| c.len() == 1)
            .await,
        "applied after the delay"
    );
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(
        h.by_email("later@example.com").unwrap().properties["firstname"],
        "L"
    );
}

#[tokio::test]
async fn reset_drops_pending_v1_batches() {
    let h = start(
        FakeHubSpot::builder()
            .seed(1)
            .v1_apply_delay(Duration::from_millis(300)),
    )
    .await;
    let r = h
        .post(V1_BATCH, json!([item_email("a@example.com", &[])]))
        .await;
    assert_eq!(r.status, 202);
    h.fake.reset();
    // A later batch is applied; the one from before the reset never is.
    let r = h
        .post(V1_BATCH, json!([item_email("b@example.com", &[])]))
        .await;
    assert_eq!(r.status, 202);
    assert!(
        h.eventually(Duration::from_secs(60), |c| !c.is_empty())
            .await
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    let emails: Vec<String> = h
        .contacts()
        .iter()
        .map(|c| c.properties["email"].clone())
        .collect();
    assert_eq!(emails, ["b@example.com"]);
}

#[tokio::test]
async fn more_than_1000_contacts_is_400() {
    let h = start_default().await;
    let items: Vec<Value> = (0..1001)
        .map(|i| item_email(&format!("c{i}@example.com"), &[]))
        .collect();
    let r = h.post(V1_BATCH, Value::Array(items.clone())).await;
    r.assert_error(400, None);
    assert!(h.contacts().is_empty());
    let r = h.post(V1_BATCH, Value::Array(items[..1000].to_vec())).await;
    assert_eq!(r.status, 202);
    assert_eq!(h.contacts().len(), 1000);
}

#[tokio::test]
async fn any_bad_contact_fails_the_whole_batch() {
    let h = start_default().await;
    let r = h
        .post(
            V1_BATCH,
            json!([
                item_email("good@example.com", &[("firstname", "G")]),
                item_email("bad@example.comv@", &[]),
                item_email("ok@example.com", &[("property_name", "x")]),
                {"properties": [{"property": "firstname", "value": "nobody"}]},
                {"vid": "999999", "properties": []},
                item_email("ro@example.com", &[("createdate", "x")])
            ]),
        )
        .await;
    let msg = r.assert_error(400, None);
    assert_eq!(msg, "Errors found processing batch update");
    assert_eq!(r.json["invalidEmails"], json!(["bad@example.comv@"]));
    let failures = r.json["failureMessages"].as_array().unwrap();
    let at = |i: u64| {
        failures
            .iter()
            .find(|f| f["index"] == i)
            .unwrap_or_else(|| panic!("no failure at {i}: {}", r.text))
    };
    assert_eq!(at(1)["error"]["status"], "error");
    assert!(
        at(1)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("is invalid")
    );
    let pvr = &at(2)["propertyValidationResult"];
    assert_eq!(pvr["isValid"], false);
    assert_eq!(pvr["error"], "PROPERTY_DOESNT_EXIST");
    assert_eq!(pvr["name"], "property_name");
    assert_eq!(pvr["message"], "Property \"property_name\" does not exist");
    assert!(
        at(3)["error"]["message"].is_string(),
        "neither vid nor email"
    );
    assert!(at(4)["error"]["message"].is_string(), "unknown vid");
    assert_eq!(
        at(5)["propertyValidationResult"]["error"],
        "READ_ONLY_VALUE"
    );
    assert!(failures.iter().all(|f| f["index"] != 0));
    assert!(h.contacts().is_empty(), "nothing applied");
}

#[tokio::test]
async fn structurally_odd_items_are_accepted() {
    let h = start_default().await;
    let r = h
        .post(
            V1_BATCH,
            json!([{"email": "odd@example.com", "details": [{"property": "firstname", "value": "x"}]}]),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let c = h.by_email("odd@example.com").unwrap();
    assert!(!c.properties.contains_key("firstname"));
}

#[tokio::test]
async fn create_returns_the_v1_profile() {
    let h = start_default().await;
    let r = h
        .post(
            V1_CREATE,
            json!({"properties": [
                {"property": "email", "value": "ada@example.com"},
                {"property": "firstname", "value": "Ada"}
            ]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let vid = r.json["vid"].as_u64().expect("numeric vid");
    let profile = &r.json["identity-profiles"][0];
    assert_eq!(profile["vid"], vid);
    let identity = &profile["identities"][0];
    assert_eq!(identity["type"], "EMAIL");
    assert_eq!(identity["value"], "ada@example.com");
    assert!(identity["timestamp"].is_u64());
    let first = &r.json["properties"]["firstname"];
    assert_eq!(first["value"], "Ada");
    let version = &first["versions"][0];
    assert_eq!(version["value"], "Ada");
    for key in [
        "source-type",
        "source-id",
        "source-label",
        "timestamp",
        "selected",
    ] {
        assert!(version.get(key).is_some(), "version has {key}: {version}");
    }
    assert_eq!(h.contacts()[0].id, vid.to_string(), "same id space as v3");
}

#[tokio::test]
async fn create_existing_email_is_409_contact_exists() {
    let h = start_default().await;
    h.upsert_emails(&["ada@example.com"]).await;
    let id: u64 = h.by_email("ada@example.com").unwrap().id.parse().unwrap();
    let r = h
        .post(
            V1_CREATE,
            json!({"properties": [{"property": "email", "value": "ADA@example.com"}]}),
        )
        .await;
    let msg = r.assert_error(409, Some("OBJECT_ALREADY_EXISTS"));
    assert_eq!(msg, format!("Contact already exists. Existing ID: {id}"));
    assert_eq!(r.json["error"], "CONTACT_EXISTS");
    assert_eq!(r.json["identityProfile"]["vid"], id);
    assert_eq!(
        r.json["identityProfile"]["identity"][0]["value"],
        "ada@example.com"
    );
    assert_eq!(h.contacts().len(), 1);
}

#[tokio::test]
async fn create_refuses_invalid_properties() {
    let h = start_default().await;
    let r = h
        .post(
            V1_CREATE,
            json!({"properties": [{"property": "nope", "value": "1"}]}),
        )
        .await;
    r.assert_error(400, Some("VALIDATION_ERROR"));
    assert_eq!(
        r.json["validationResults"][0]["error"],
        "PROPERTY_DOESNT_EXIST"
    );
    let r = h.post(V1_CREATE, json!({"properties": []})).await;
    r.assert_error(400, Some("VALIDATION_ERROR"));
    assert!(h.contacts().is_empty());
}

#[tokio::test]
async fn update_by_vid_is_204_or_404() {
    let h = start_default().await;
    h.upsert_emails(&["ada@example.com"]).await;
    let id = h.by_email("ada@example.com").unwrap().id;
    let r = h
        .post(
            &format!("/contacts/v1/contact/vid/{id}/profile"),
            json!({"properties": [{"property": "firstname", "value": "Augusta"}]}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(
        h.by_email("ada@example.com").unwrap().properties["firstname"],
        "Augusta"
    );
    let r = h
        .post(
            "/contacts/v1/contact/vid/4242/profile",
            json!({"properties": [{"property": "firstname", "value": "X"}]}),
        )
        .await;
    r.assert_error(404, None);
    let r = h
        .post(
            &format!("/contacts/v1/contact/vid/{id}/profile"),
            json!({"properties": [{"property": "email", "value": "bad"}]}),
        )
        .await;
    r.assert_error(400, Some("VALIDATION_ERROR"));
    assert_eq!(r.json["validationResults"][0]["error"], "INVALID_EMAIL");
}
