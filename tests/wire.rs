//! Wire tests: for every operation, the exact request the generated client
//! sends, and the parsing of every documented response, against httpmock.

use httpmock::{Method::POST, MockServer};
use hubspot_contacts_batch::{
    Client, Error, SdkError,
    policy::{RateLimit, RetryPolicy},
    types,
};
use serde_json::json;

const TOKEN: &str = "pat-na1-wire-test";
const TIME: &str = "2026-11-22T10:00:00.000Z";

/// A client that sends each request once: these tests pin single exchanges
/// (the retry policy has its own tests).
fn client(server: &MockServer) -> Client {
    Client::builder()
        .base_url(server.base_url())
        .token(TOKEN)
        .retry_policy(RetryPolicy::none())
        .rate_limit(RateLimit::Unlimited)
        .build()
        .expect("client")
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

fn contact_json(id: &str, email: Option<&str>, trace: &str) -> serde_json::Value {
    json!({
        "id": id,
        "properties": {"email": email, "hs_object_id": id},
        "createdAt": TIME,
        "updatedAt": TIME,
        "archived": false,
        "objectWriteTraceId": trace,
        "someFieldHubSpotAddsLater": {"nested": [1, 2, 3]}
    })
}

fn props(pairs: &[(&str, &str)]) -> types::PropertyValues {
    types::PropertyValues(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

#[tokio::test]
async fn batch_create_sends_inputs_and_parses_201() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/crm/v3/objects/contacts/batch/create")
                .header("authorization", bearer())
                .header("content-type", "application/json")
                .header_missing("api-version")
                .json_body(json!({"inputs": [
                    {"properties": {"email": "ada@example.com", "firstname": "Ada"},
                     "associations": [{"to": {"id": "901"},
                                       "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}]}],
                     "objectWriteTraceId": "t0"},
                    {"properties": {"email": "alan@example.com"}, "associations": []}
                ]}));
            then.status(201).json_body(json!({
                "status": "COMPLETE",
                "results": [contact_json("11", Some("ada@example.com"), "t0"), contact_json("12", Some("alan@example.com"), "t1")],
                "startedAt": TIME, "completedAt": TIME
            }));
        })
        .await;

    let inputs = vec![
        types::CreateInput {
            properties: props(&[("email", "ada@example.com"), ("firstname", "Ada")]),
            associations: vec![types::Association {
                to: types::RecordId { id: "901".into() },
                types: vec![types::AssociationType {
                    association_category: types::AssociationCategory::HubspotDefined,
                    association_type_id: 279,
                }],
            }],
            object_write_trace_id: Some("t0".into()),
        },
        types::CreateInput {
            properties: props(&[("email", "alan@example.com")]),
            associations: vec![],
            object_write_trace_id: None,
        },
    ];
    let response = client(&server)
        .batch_create()
        .body(types::BatchCreateRequest { inputs })
        .send()
        .await
        .expect("201 parses");
    mock.assert_async().await;
    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(response.results.len(), 2);
    assert_eq!(response.results[0].id, "11");
    assert_eq!(
        response.results[0].object_write_trace_id.as_deref(),
        Some("t0")
    );
    assert_eq!(response.errors.len(), 0);
    assert_eq!(response.num_errors, None);
}

#[tokio::test]
async fn batch_create_207_is_told_apart_from_success_and_names_failed_inputs() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/crm/v3/objects/contacts/batch/create");
            then.status(207).json_body(json!({
                "status": "COMPLETE",
                "results": [contact_json("11", Some("ada@example.com"), "t0")],
                "numErrors": 1,
                "errors": [{
                    "status": "error",
                    "category": "VALIDATION_ERROR",
                    "message": "Property values were not valid: [{\"isValid\":false,\"message\":\"Property \\\"shoe\\\" does not exist\",\"error\":\"PROPERTY_DOESNT_EXIST\",\"name\":\"shoe\"}]",
                    "context": {"objectWriteTraceId": ["t1"]}
                }],
                "startedAt": TIME, "completedAt": TIME
            }));
        })
        .await;
    let response = client(&server)
        .batch_create()
        .body(types::BatchCreateRequest { inputs: vec![] })
        .send()
        .await
        .expect("207 parses");
    assert_eq!(response.status().as_u16(), 207);
    assert_eq!(response.num_errors, Some(1));
    let error = &response.errors[0];
    assert_eq!(error.category.as_deref(), Some("VALIDATION_ERROR"));
    assert_eq!(error.context["objectWriteTraceId"], vec!["t1".to_string()]);
    assert!(error.message.contains("PROPERTY_DOESNT_EXIST"));
}

#[tokio::test]
async fn batch_update_sends_id_property_and_parses_200_and_207() {
    let server = MockServer::start_async().await;
    let ok = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/crm/v3/objects/contacts/batch/update")
                .header("authorization", bearer())
                .json_body(json!({"inputs": [
                    {"id": "42", "idProperty": "external_id", "properties": {"lastname": ""}, "objectWriteTraceId": "u0"}
                ]}));
            then.status(200).json_body(json!({
                "status": "COMPLETE", "results": [contact_json("512", None, "u0")],
                "startedAt": TIME, "completedAt": TIME, "requestedAt": TIME
            }));
        })
        .await;
    let response = client(&server)
        .batch_update()
        .body(types::BatchUpdateRequest {
            inputs: vec![types::UpdateInput {
                id: "42".into(),
                id_property: Some("external_id".into()),
                properties: props(&[("lastname", "")]),
                object_write_trace_id: Some("u0".into()),
            }],
        })
        .send()
        .await
        .expect("200 parses");
    ok.assert_async().await;
    assert_eq!(response.status().as_u16(), 200);
    // A defined-but-empty property comes back as null.
    assert_eq!(response.results[0].properties.get("email"), Some(&None));

    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/crm/v3/objects/contacts/batch/update");
            then.status(207).json_body(json!({
                "status": "COMPLETE", "results": [], "numErrors": 1,
                "errors": [{"status": "error", "category": "OBJECT_NOT_FOUND",
                            "message": "Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.",
                            "context": {"ids": ["999"], "objectWriteTraceId": ["u1"]}}],
                "startedAt": TIME, "completedAt": TIME
            }));
        })
        .await;
    let response = client(&server)
        .batch_update()
        .body(types::BatchUpdateRequest { inputs: vec![] })
        .send()
        .await
        .expect("207 parses");
    assert_eq!(response.status().as_u16(), 207);
    assert_eq!(response.errors[0].context["ids"], vec!["999".to_string()]);
}

#[tokio::test]
async fn batch_upsert_parses_new_flag() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/crm/v3/objects/contacts/batch/upsert")
                .header("authorization", bearer())
                .header("content-type", "application/json")
                .json_body(json!({"inputs": [
                    {"id": "ada@example.com", "idProperty": "email", "properties": {"firstname": "Ada"}}
                ]}));
            let mut created = contact_json("11", Some("ada@example.com"), "x");
            created["new"] = json!(true);
            let mut updated = contact_json("12", Some("alan@example.com"), "y");
            updated["new"] = json!(false);
            then.status(200).json_body(json!({
                "status": "COMPLETE", "results": [created, updated], "startedAt": TIME, "completedAt": TIME
            }));
        })
        .await;
    let response = client(&server)
        .batch_upsert()
        .body(types::BatchUpsertRequest {
            inputs: vec![types::UpsertInput {
                id: "ada@example.com".into(),
                id_property: Some("email".into()),
                properties: props(&[("firstname", "Ada")]),
                object_write_trace_id: None,
            }],
        })
        .send()
        .await
        .expect("200 parses");
    mock.assert_async().await;
    assert!(response.results[0].new);
    assert!(!response.results[1].new);
}

#[tokio::test]
async fn batch_upsert_207_parses_errors() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/crm/v3/objects/contacts/batch/upsert");
            then.status(207).json_body(json!({
                "status": "COMPLETE", "results": [], "numErrors": 1,
                "errors": [{"status": "error", "category": "VALIDATION_ERROR", "message": "Email address bad@ is invalid",
                            "context": {"objectWriteTraceId": ["p0"]}, "errors": [{"message": "invalid", "code": "INVALID_EMAIL", "in": "email"}]}],
                "startedAt": TIME, "completedAt": TIME
            }));
        })
        .await;
    let response = client(&server)
        .batch_upsert()
        .body(types::BatchUpsertRequest { inputs: vec![] })
        .send()
        .await
        .expect("207 parses");
    assert_eq!(response.status().as_u16(), 207);
    assert_eq!(
        response.errors[0].errors[0].code.as_deref(),
        Some("INVALID_EMAIL")
    );
}

#[tokio::test]
async fn batch_read_sends_archived_query_and_parses_207_not_found() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/crm/v3/objects/contacts/batch/read")
                .query_param("archived", "true")
                .header("authorization", bearer())
                .json_body(json!({
                    "inputs": [{"id": "ada@example.com"}, {"id": "nobody@example.com"}],
                    "idProperty": "email",
                    "properties": ["email", "firstname"]
                }));
            then.status(207).json_body(json!({
                "status": "COMPLETE", "results": [contact_json("11", Some("ada@example.com"), "r")],
                "numErrors": 1,
                "errors": [{"status": "error", "category": "OBJECT_NOT_FOUND",
                            "message": "Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.",
                            "context": {"ids": ["nobody@example.com"]}}],
                "startedAt": TIME, "completedAt": TIME
            }));
        })
        .await;
    let response = client(&server)
        .batch_read()
        .archived(true)
        .body(types::BatchReadRequest {
            inputs: vec![
                types::RecordId {
                    id: "ada@example.com".into(),
                },
                types::RecordId {
                    id: "nobody@example.com".into(),
                },
            ],
            id_property: Some("email".into()),
            properties: vec!["email".into(), "firstname".into()],
            properties_with_history: vec![],
        })
        .send()
        .await
        .expect("207 parses");
    mock.assert_async().await;
    assert_eq!(response.status().as_u16(), 207);
    assert_eq!(
        response.results[0].properties.get("email"),
        Some(&Some("ada@example.com".to_string()))
    );
    assert_eq!(
        response.errors[0].category.as_deref(),
        Some("OBJECT_NOT_FOUND")
    );
}

#[tokio::test]
async fn batch_read_without_archived_sends_no_query() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/crm/v3/objects/contacts/batch/read")
                .query_param_missing("archived")
                .json_body(json!({"inputs": [{"id": "11"}], "propertiesWithHistory": ["lifecyclestage"]}));
            then.status(200).json_body(json!({
                "status": "COMPLETE",
                "results": [{
                    "id": "11", "properties": {}, "createdAt": TIME, "updatedAt": TIME, "archived": false,
                    "propertiesWithHistory": {"lifecyclestage": [
                        {"value": "lead", "timestamp": TIME, "sourceType": "API", "sourceId": "app-1"}
                    ]}
                }],
                "startedAt": TIME, "completedAt": TIME
            }));
        })
        .await;
    let response = client(&server)
        .batch_read()
        .body(types::BatchReadRequest {
            inputs: vec![types::RecordId { id: "11".into() }],
            id_property: None,
            properties: vec![],
            properties_with_history: vec!["lifecyclestage".into()],
        })
        .send()
        .await
        .expect("200 parses");
    mock.assert_async().await;
    assert_eq!(
        response.results[0].properties_with_history["lifecyclestage"][0].value,
        "lead"
    );
}

#[tokio::test]
async fn batch_archive_sends_ids_and_accepts_204() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/crm/v3/objects/contacts/batch/archive")
                .header("authorization", bearer())
                .json_body(json!({"inputs": [{"id": "11"}, {"id": "12"}]}));
            then.status(204);
        })
        .await;
    let response = client(&server)
        .batch_archive()
        .body(types::BatchArchiveRequest {
            inputs: vec![
                types::RecordId { id: "11".into() },
                types::RecordId { id: "12".into() },
            ],
        })
        .send()
        .await
        .expect("204 is a success");
    mock.assert_async().await;
    assert_eq!(response.status().as_u16(), 204);
}

fn v1_contact(
    email: Option<&str>,
    vid: Option<&str>,
    pairs: &[(&str, &str)],
) -> types::V1BatchContact {
    types::V1BatchContact {
        email: email.map(str::to_string),
        vid: vid.map(str::to_string),
        properties: pairs
            .iter()
            .map(|(property, value)| types::V1PropertyInput {
                property: property.to_string(),
                value: value.to_string(),
            })
            .collect(),
    }
}

#[tokio::test]
async fn v1_batch_sends_an_array_with_audit_id_and_accepts_202() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/contacts/v1/contact/batch/")
                .query_param("auditId", "nightly-sync")
                .header("authorization", bearer())
                .header("content-type", "application/json")
                .json_body(json!([
                    {"email": "ada@example.com", "properties": [{"property": "firstname", "value": "Ada"}]},
                    {"vid": "259429", "properties": [{"property": "lastname", "value": "Turing"}]}
                ]));
            then.status(202);
        })
        .await;
    let response = client(&server)
        .v1_batch_create_or_update()
        .audit_id("nightly-sync")
        .body(types::V1BatchRequest(vec![
            v1_contact(Some("ada@example.com"), None, &[("firstname", "Ada")]),
            v1_contact(None, Some("259429"), &[("lastname", "Turing")]),
        ]))
        .send()
        .await
        .expect("202 is a success");
    mock.assert_async().await;
    assert_eq!(response.status().as_u16(), 202);
}

#[tokio::test]
async fn v1_batch_400_names_failed_indices_and_emails() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/contacts/v1/contact/batch/");
            then.status(400).json_body(json!({
                "status": "error", "message": "Errors found processing batch update", "correlationId": "c-v1",
                "invalidEmails": ["xxx@xxx.comv"],
                "failureMessages": [
                    {"index": 33, "error": {"status": "error", "message": "Email address xxx@xxx.comv is invalid"}},
                    {"index": 3, "propertyValidationResult": {"isValid": false, "message": "Property \"shoe\" does not exist",
                                                              "error": "PROPERTY_DOESNT_EXIST", "name": "shoe"}}
                ],
                "requestId": "r-1"
            }));
        })
        .await;
    let error = client(&server)
        .v1_batch_create_or_update()
        .body(types::V1BatchRequest(vec![]))
        .send()
        .await
        .expect_err("400 is an error");
    let Error::ErrorResponse(response) = error else {
        panic!("typed error expected, got {error:?}")
    };
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(response.invalid_emails, vec!["xxx@xxx.comv".to_string()]);
    assert_eq!(response.failure_messages[0].index, 33);
    assert!(
        response.failure_messages[0]
            .error
            .as_ref()
            .unwrap()
            .message
            .contains("invalid")
    );
    let validation = response.failure_messages[1]
        .property_validation_result
        .as_ref()
        .unwrap();
    assert_eq!(validation.error.as_deref(), Some("PROPERTY_DOESNT_EXIST"));
    assert_eq!(validation.name.as_deref(), Some("shoe"));
}

#[tokio::test]
async fn v1_create_contact_parses_the_full_contact() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/contacts/v1/contact")
                .header("authorization", bearer())
                .json_body(json!({"properties": [{"property": "email", "value": "ada@example.com"}]}));
            then.status(200).json_body(json!({
                "vid": 3234574, "canonical-vid": 3234574, "portal-id": 62515,
                "identity-profiles": [{"vid": 3234574, "identities": [
                    {"type": "EMAIL", "value": "ada@example.com", "timestamp": 1484026585538u64},
                    {"type": "LEAD_GUID", "value": "22a26060-c9d7-44b0-9f07-aa40488cfa3a", "timestamp": 1484026585613u64}
                ]}],
                "properties": {"email": {"value": "ada@example.com", "versions": [
                    {"value": "ada@example.com", "source-type": "API", "source-id": null, "source-label": null,
                     "timestamp": 1484026585538u64, "selected": false}
                ]}}
            }));
        })
        .await;
    let response = client(&server)
        .v1_create_contact()
        .body(types::V1ContactRequest {
            properties: vec![types::V1PropertyInput {
                property: "email".into(),
                value: "ada@example.com".into(),
            }],
        })
        .send()
        .await
        .expect("200 parses");
    mock.assert_async().await;
    assert_eq!(response.vid, 3234574);
    assert_eq!(
        response.identity_profiles[0].identities[1].type_,
        "LEAD_GUID"
    );
    let email = &response.properties["email"];
    assert_eq!(email.value, "ada@example.com");
    assert_eq!(email.versions[0].source_type.as_deref(), Some("API"));
    assert_eq!(email.versions[0].source_id, None);
}

#[tokio::test]
async fn v1_create_contact_409_carries_the_existing_vid() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/contacts/v1/contact");
            then.status(409).json_body(json!({
                "status": "error", "message": "Contact already exists. Existing ID: 2926551", "correlationId": "c-409",
                "category": "OBJECT_ALREADY_EXISTS", "error": "CONTACT_EXISTS",
                "identityProfile": {"vid": 2926551, "identity": [{"value": "lee@xyz.co.uk", "type": "EMAIL", "timestamp": 1, "isPrimary": true}], "isContact": true},
                "errors": [{"message": "A contact with email lee@xyz.co.uk already exists. Existing ID: 2926551", "in": "email"}]
            }));
        })
        .await;
    let error = client(&server)
        .v1_create_contact()
        .body(types::V1ContactRequest { properties: vec![] })
        .send()
        .await
        .expect_err("409 is an error");
    let Error::ErrorResponse(response) = error else {
        panic!("typed error expected, got {error:?}")
    };
    assert_eq!(response.status().as_u16(), 409);
    assert_eq!(response.error.as_deref(), Some("CONTACT_EXISTS"));
    assert_eq!(
        response.identity_profile.as_ref().map(|p| p.vid),
        Some(2926551)
    );
    assert_eq!(response.errors[0].in_.as_deref(), Some("email"));
}

#[tokio::test]
async fn v1_update_contact_puts_vid_in_the_path_and_handles_204_and_404() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/contacts/v1/contact/vid/512/profile")
                .header("authorization", bearer())
                .json_body(json!({"properties": [{"property": "firstname", "value": "Grace"}]}));
            then.status(204);
        })
        .await;
    let body = types::V1ContactRequest {
        properties: vec![types::V1PropertyInput {
            property: "firstname".into(),
            value: "Grace".into(),
        }],
    };
    let response = client(&server)
        .v1_update_contact()
        .vid(512)
        .body(body.clone())
        .send()
        .await
        .expect("204 is a success");
    mock.assert_async().await;
    assert_eq!(response.status().as_u16(), 204);

    server
        .mock_async(|when, then| {
            when.method(POST).path("/contacts/v1/contact/vid/77/profile");
            then.status(404).json_body(json!({
                "status": "error", "message": "contact does not exist", "correlationId": "c-404", "category": "OBJECT_NOT_FOUND"
            }));
        })
        .await;
    let error = client(&server)
        .v1_update_contact()
        .vid(77)
        .body(body)
        .send()
        .await
        .expect_err("404");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(404));
    let sdk = SdkError::from(error);
    assert!(sdk.to_string().contains("contact does not exist"), "{sdk}");
}

#[tokio::test]
async fn rate_limit_429_exposes_policy_and_headers() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/crm/v3/objects/contacts/batch/upsert");
            then.status(429)
                .header("X-HubSpot-RateLimit-Max", "190")
                .header("X-HubSpot-RateLimit-Remaining", "0")
                .header("X-HubSpot-RateLimit-Interval-Milliseconds", "10000")
                .header("X-HubSpot-RateLimit-Daily", "625000")
                .header("X-HubSpot-RateLimit-Daily-Remaining", "4000")
                .json_body(json!({
                    "status": "error", "message": "You have reached your ten_secondly_rolling limit.",
                    "errorType": "RATE_LIMIT", "correlationId": "c-429", "policyName": "TEN_SECONDLY_ROLLING",
                    "groupName": "publicapi:private-app-api-calls-ten-secondly:1"
                }));
        })
        .await;
    let error = client(&server)
        .batch_upsert()
        .body(types::BatchUpsertRequest { inputs: vec![] })
        .send()
        .await
        .expect_err("429 is an error");
    let Error::ErrorResponse(response) = error else {
        panic!("typed error expected, got {error:?}")
    };
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(
        response.policy_name.as_deref(),
        Some("TEN_SECONDLY_ROLLING")
    );
    assert_eq!(response.error_type.as_deref(), Some("RATE_LIMIT"));
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    assert_eq!(header("x-hubspot-ratelimit-max").as_deref(), Some("190"));
    assert_eq!(
        header("x-hubspot-ratelimit-remaining").as_deref(),
        Some("0")
    );
    assert_eq!(
        header("x-hubspot-ratelimit-interval-milliseconds").as_deref(),
        Some("10000")
    );
    assert_eq!(
        header("x-hubspot-ratelimit-daily-remaining").as_deref(),
        Some("4000")
    );
}

#[tokio::test]
async fn server_errors_keep_hubspots_message_category_and_correlation_id() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/crm/v3/objects/contacts/batch/update");
            then.status(502).json_body(json!({
                "status": "error", "message": "Bad gateway", "correlationId": "3f1c-502", "category": "UNKNOWN"
            }));
        })
        .await;
    let error = client(&server)
        .batch_update()
        .body(types::BatchUpdateRequest { inputs: vec![] })
        .send()
        .await
        .expect_err("502 is an error");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(502));
    let SdkError::Api(api) = SdkError::from(error) else {
        panic!("an API error expected")
    };
    assert_eq!(api.message(), "Bad gateway");
    assert_eq!(api.category(), Some("UNKNOWN"));
    assert_eq!(api.correlation_id(), Some("3f1c-502"));
    assert_eq!(
        api.to_string(),
        "HubSpot answered 502: UNKNOWN: Bad gateway [correlation id 3f1c-502]"
    );
}

#[tokio::test]
async fn validation_400_keeps_context_and_details() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/crm/v3/objects/contacts/batch/create");
            then.status(400).json_body(json!({
                "status": "error",
                "message": "The maximum number of inputs supported in a batch is 100. Please reduce the number of items and try again",
                "correlationId": "c-400", "category": "VALIDATION_ERROR",
                "context": {"ids": ["1"]},
                "errors": [{"message": "too many", "code": "TOO_MANY", "context": {"max": ["100"]}}],
                "links": {"docs": "https://example.invalid"}
            }));
        })
        .await;
    let error = client(&server)
        .batch_create()
        .body(types::BatchCreateRequest { inputs: vec![] })
        .send()
        .await
        .expect_err("400");
    let Error::ErrorResponse(response) = error else {
        panic!("typed error expected")
    };
    assert_eq!(response.category.as_deref(), Some("VALIDATION_ERROR"));
    assert_eq!(response.context["ids"], vec!["1".to_string()]);
    assert_eq!(response.errors[0].code.as_deref(), Some("TOO_MANY"));
}

#[tokio::test]
async fn a_replaced_token_is_used_from_the_next_request_on() {
    let server = MockServer::start_async().await;
    let old = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/crm/v3/objects/contacts/batch/archive")
                .header("authorization", bearer());
            then.status(204);
        })
        .await;
    let new = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/crm/v3/objects/contacts/batch/archive")
                .header("authorization", "Bearer rotated-token");
            then.status(204);
        })
        .await;
    let client = client(&server);
    let clone = client.clone();
    let body = types::BatchArchiveRequest { inputs: vec![] };
    client
        .batch_archive()
        .body(body.clone())
        .send()
        .await
        .expect("old token");
    client.set_token("rotated-token").expect("valid token");
    clone
        .batch_archive()
        .body(body)
        .send()
        .await
        .expect("new token, through a clone");
    old.assert_async().await;
    new.assert_async().await;
}

/// A client whose requests go through the default retry decision, with short waits.
fn retrying_client(server: &MockServer) -> Client {
    let quick = RetryPolicy::default()
        .max_attempts(3)
        .initial_backoff(std::time::Duration::from_millis(1))
        .max_backoff(std::time::Duration::from_millis(5));
    Client::builder()
        .base_url(server.base_url())
        .token(TOKEN)
        .retry_policy(quick)
        .rate_limit(RateLimit::Unlimited)
        .build()
        .expect("client")
}

#[tokio::test]
async fn a_5xx_is_retried_for_upsert_but_never_for_create() {
    let server = MockServer::start_async().await;
    let upsert = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/crm/v3/objects/contacts/batch/upsert");
            then.status(503)
                .json_body(json!({"status": "error", "message": "unavailable"}));
        })
        .await;
    let create = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/crm/v3/objects/contacts/batch/create");
            then.status(503)
                .json_body(json!({"status": "error", "message": "unavailable"}));
        })
        .await;
    let client = retrying_client(&server);
    let error = client
        .batch_upsert()
        .body(types::BatchUpsertRequest { inputs: vec![] })
        .send()
        .await
        .expect_err("503");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(
        upsert.calls_async().await,
        3,
        "idempotent: every attempt used"
    );
    client
        .batch_create()
        .body(types::BatchCreateRequest { inputs: vec![] })
        .send()
        .await
        .expect_err("503");
    assert_eq!(
        create.calls_async().await,
        1,
        "a create that may have been applied is not resent"
    );
}

#[tokio::test]
async fn client_errors_are_never_retried() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/crm/v3/objects/contacts/batch/update");
            then.status(409).json_body(
                json!({"status": "error", "message": "conflict", "category": "CONFLICT"}),
            );
        })
        .await;
    let client = retrying_client(&server);
    client
        .batch_update()
        .body(types::BatchUpdateRequest { inputs: vec![] })
        .send()
        .await
        .expect_err("409");
    assert_eq!(mock.calls_async().await, 1);
}
