//! Wire tests: for every operation, the exact request the generated client
//! sends, and the parsing of every documented response, against httpmock; and
//! for every API version, the path and body each batch helper sends.
//!
//! Generated types are built with their builders, never with struct literals,
//! so that a field added to the OpenAPI document does not break these tests
//! (`.ci/regen-drill` checks that).

use httpmock::{Method::POST, Mock, MockServer};
use hubspot_contacts_batch::{
    ApiVersion, BatchReport, Client, ContactsBatchExt, Create, Error, Outcome, SdkError, Update,
    Upsert,
    policy::{RateLimit, RetryPolicy},
    types::{self, DatedVersion},
};
use serde_json::{Value, json};

const TOKEN: &str = "pat-na1-wire-test";
const TIME: &str = "2026-11-22T10:00:00.000Z";

/// The dated versions the document serves, with the path segment HubSpot
/// expects for each, written out rather than derived from the enum.
const DATED: [(DatedVersion, &str); 2] = [
    (DatedVersion::X202603, "2026-03"),
    (DatedVersion::X202609, "2026-09"),
];

/// A client that sends each request once: these tests pin single exchanges
/// (the retry policy has its own tests).
fn client(server: &MockServer) -> Client {
    client_at(server, None)
}

/// As [`client`], with the batch helpers at `version`, or at the builder's
/// default when `None`.
fn client_at(server: &MockServer, version: Option<ApiVersion>) -> Client {
    let builder = Client::builder()
        .base_url(server.base_url())
        .token(TOKEN)
        .retry_policy(RetryPolicy::none())
        .rate_limit(RateLimit::Unlimited);
    let builder = match version {
        Some(version) => builder.api_version(version),
        None => builder,
    };
    builder.build().expect("client")
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

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

/// The path of batch operation `op` at `version`.
fn batch_path(version: ApiVersion, op: &str) -> String {
    match version {
        ApiVersion::V3 => format!("/crm/v3/objects/contacts/batch/{op}"),
        ApiVersion::Dated(dated) => format!("/crm/objects/{dated}/contacts/batch/{op}"),
    }
}

/// A mock of one authenticated JSON `POST` to `path` with exactly `body`,
/// answering `status` with `reply` (no body when `None`).
async fn mock_exchange<'a>(
    server: &'a MockServer,
    path: &str,
    body: &Value,
    status: u16,
    reply: Option<Value>,
) -> Mock<'a> {
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path(path)
                .header("authorization", bearer())
                .header("content-type", "application/json")
                .header_missing("api-version")
                .json_body(body.clone());
            let then = then.status(status);
            if let Some(reply) = reply {
                then.json_body(reply);
            }
        })
        .await
}

fn contact_json(id: &str, email: Option<&str>, trace: &str) -> Value {
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

/// An upsert result: a contact with `new`.
fn upserted_json(id: &str, email: Option<&str>, trace: &str, new: bool) -> Value {
    let mut contact = contact_json(id, email, trace);
    contact["new"] = json!(new);
    contact
}

/// A 200/201/207 batch answer with these results and no errors.
fn batch_reply(results: Vec<Value>) -> Value {
    json!({"status": "COMPLETE", "results": results, "startedAt": TIME, "completedAt": TIME})
}

fn props(pairs: &[(&str, &str)]) -> types::PropertyValues {
    types::PropertyValues(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

fn record_id(id: &str) -> types::RecordId {
    types::RecordId::builder().id(id).try_into().unwrap()
}

fn record_ids(ids: &[&str]) -> Vec<types::RecordId> {
    ids.iter().map(|id| record_id(id)).collect()
}

/// A HubSpot-defined association to record `to`.
fn association(to: &str, type_id: i32) -> types::Association {
    let kind: types::AssociationType = types::AssociationType::builder()
        .association_category(types::AssociationCategory::HubspotDefined)
        .association_type_id(type_id)
        .try_into()
        .unwrap();
    types::Association::builder()
        .to(record_id(to))
        .types(vec![kind])
        .try_into()
        .unwrap()
}

fn create_input(
    properties: &[(&str, &str)],
    associations: Vec<types::Association>,
    trace: Option<&str>,
) -> types::CreateInput {
    types::CreateInput::builder()
        .properties(props(properties))
        .associations(associations)
        .object_write_trace_id(trace.map(str::to_owned))
        .try_into()
        .unwrap()
}

fn update_input(
    id: &str,
    id_property: Option<&str>,
    properties: &[(&str, &str)],
    trace: Option<&str>,
) -> types::UpdateInput {
    types::UpdateInput::builder()
        .id(id)
        .id_property(id_property.map(str::to_owned))
        .properties(props(properties))
        .object_write_trace_id(trace.map(str::to_owned))
        .try_into()
        .unwrap()
}

fn upsert_input(
    id: &str,
    id_property: &str,
    properties: &[(&str, &str)],
    trace: Option<&str>,
) -> types::UpsertInput {
    types::UpsertInput::builder()
        .id(id)
        .id_property(Some(id_property.to_owned()))
        .properties(props(properties))
        .object_write_trace_id(trace.map(str::to_owned))
        .try_into()
        .unwrap()
}

fn v1_contact(
    email: Option<&str>,
    vid: Option<&str>,
    pairs: &[(&str, &str)],
) -> types::V1BatchContact {
    types::V1BatchContact::builder()
        .email(email.map(str::to_string))
        .vid(vid.map(str::to_string))
        .properties(
            pairs
                .iter()
                .map(|(property, value)| v1_property(property, value))
                .collect::<Vec<_>>(),
        )
        .try_into()
        .unwrap()
}

fn v1_property(property: &str, value: &str) -> types::V1PropertyInput {
    types::V1PropertyInput::builder()
        .property(property)
        .value(value)
        .try_into()
        .unwrap()
}

/// The outcomes of a batch run, after checking there is one per input in
/// input order.
fn outcomes(report: &BatchReport, inputs: usize) -> Vec<Outcome> {
    assert_eq!(report.outcomes.len(), inputs, "one outcome per input");
    for (position, entry) in report.outcomes.iter().enumerate() {
        assert_eq!(entry.index, position, "outcomes in input order");
    }
    report
        .outcomes
        .iter()
        .map(|entry| entry.outcome.clone())
        .collect()
}

/// The record ids of the contacts a read returned, `None` for other outcomes.
fn read_ids(report: &BatchReport, inputs: usize) -> Vec<Option<String>> {
    outcomes(report, inputs)
        .into_iter()
        .map(|outcome| match outcome {
            Outcome::Read(contact) => Some(contact.id),
            _ => None,
        })
        .collect()
}

// The generated v3 calls: each request exactly, each documented response.

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
        create_input(
            &[("email", "ada@example.com"), ("firstname", "Ada")],
            vec![association("901", 279)],
            Some("t0"),
        ),
        create_input(&[("email", "alan@example.com")], vec![], None),
    ];
    let response = client(&server)
        .batch_create()
        .body(types::BatchCreateRequest::builder().inputs(inputs))
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
        .body(types::BatchCreateRequest::builder().inputs(Vec::<types::CreateInput>::new()))
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
        .body(
            types::BatchUpdateRequest::builder().inputs(vec![update_input(
                "42",
                Some("external_id"),
                &[("lastname", "")],
                Some("u0"),
            )]),
        )
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
        .body(types::BatchUpdateRequest::builder().inputs(Vec::<types::UpdateInput>::new()))
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
        .body(
            types::BatchUpsertRequest::builder().inputs(vec![upsert_input(
                "ada@example.com",
                "email",
                &[("firstname", "Ada")],
                None,
            )]),
        )
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
        .body(types::BatchUpsertRequest::builder().inputs(Vec::<types::UpsertInput>::new()))
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
                    "properties": ["email", "firstname"],
                    "propertiesWithHistory": []
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
        .body(
            types::BatchReadRequest::builder()
                .inputs(record_ids(&["ada@example.com", "nobody@example.com"]))
                .id_property(Some("email".to_owned()))
                .properties(vec!["email".to_owned(), "firstname".to_owned()])
                .properties_with_history(Vec::<String>::new()),
        )
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
                .json_body(json!({"inputs": [{"id": "11"}], "properties": [], "propertiesWithHistory": ["lifecyclestage"]}));
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
        .body(
            types::BatchReadRequest::builder()
                .inputs(record_ids(&["11"]))
                .properties(Vec::<String>::new())
                .properties_with_history(vec!["lifecyclestage".to_owned()]),
        )
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
        .body(types::BatchArchiveRequest::builder().inputs(record_ids(&["11", "12"])))
        .send()
        .await
        .expect("204 is a success");
    mock.assert_async().await;
    assert_eq!(response.status().as_u16(), 204);
}

// The generated dated calls: the same bodies as v3, at HubSpot's dated paths.

/// Mocks the v3 path of batch operation `op` and each dated path, all
/// expecting exactly `body` and answering `status` with `reply`; runs `send`,
/// which makes the generated calls; then fails unless each path got that body
/// exactly once.
async fn assert_same_body_at_each_version<F, Fut>(
    op: &str,
    body: Value,
    status: u16,
    reply: Option<Value>,
    send: F,
) where
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let server = MockServer::start_async().await;
    let mut mocks = vec![
        mock_exchange(
            &server,
            &format!("/crm/v3/objects/contacts/batch/{op}"),
            &body,
            status,
            reply.clone(),
        )
        .await,
    ];
    for (_, segment) in DATED {
        let path = format!("/crm/objects/{segment}/contacts/batch/{op}");
        mocks.push(mock_exchange(&server, &path, &body, status, reply.clone()).await);
    }
    send(client(&server)).await;
    for mock in mocks {
        mock.assert_async().await;
    }
}

#[tokio::test]
async fn dated_batch_create_sends_the_v3_body_to_2026_03_and_2026_09() {
    let body = json!({"inputs": [
        {"properties": {"email": "ada@example.com"},
         "associations": [{"to": {"id": "901"},
                           "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}]}],
         "objectWriteTraceId": "t0"}
    ]});
    let reply = batch_reply(vec![contact_json("11", Some("ada@example.com"), "t0")]);
    assert_same_body_at_each_version("create", body, 201, Some(reply), |client| async move {
        let request = types::BatchCreateRequest::builder().inputs(vec![create_input(
            &[("email", "ada@example.com")],
            vec![association("901", 279)],
            Some("t0"),
        )]);
        let v3 = client.batch_create().body(request.clone()).send().await;
        assert_eq!(v3.expect("v3 201 parses").results[0].id, "11");
        for (version, segment) in DATED {
            let call = client.dated_batch_create().version(version);
            let response = call.body(request.clone()).send().await;
            let response = response.unwrap_or_else(|e| panic!("{segment}: {e}"));
            assert_eq!(response.status().as_u16(), 201, "{segment}");
            assert_eq!(response.results[0].id, "11", "{segment}");
        }
    })
    .await;
}

#[tokio::test]
async fn dated_batch_update_sends_the_v3_body_to_2026_03_and_2026_09() {
    let body = json!({"inputs": [
        {"id": "42", "idProperty": "external_id", "properties": {"lastname": ""}, "objectWriteTraceId": "u0"}
    ]});
    let reply = batch_reply(vec![contact_json("512", None, "u0")]);
    assert_same_body_at_each_version("update", body, 200, Some(reply), |client| async move {
        let request = types::BatchUpdateRequest::builder().inputs(vec![update_input(
            "42",
            Some("external_id"),
            &[("lastname", "")],
            Some("u0"),
        )]);
        let v3 = client.batch_update().body(request.clone()).send().await;
        assert_eq!(v3.expect("v3 200 parses").results[0].id, "512");
        for (version, segment) in DATED {
            let call = client.dated_batch_update().version(version);
            let response = call.body(request.clone()).send().await;
            let response = response.unwrap_or_else(|e| panic!("{segment}: {e}"));
            assert_eq!(response.results[0].id, "512", "{segment}");
        }
    })
    .await;
}

#[tokio::test]
async fn dated_batch_upsert_sends_the_v3_body_to_2026_03_and_2026_09() {
    let body = json!({"inputs": [
        {"id": "ada@example.com", "idProperty": "email", "properties": {"firstname": "Ada"}, "objectWriteTraceId": "p0"}
    ]});
    let reply = batch_reply(vec![upserted_json(
        "11",
        Some("ada@example.com"),
        "p0",
        true,
    )]);
    assert_same_body_at_each_version("upsert", body, 200, Some(reply), |client| async move {
        let request = types::BatchUpsertRequest::builder().inputs(vec![upsert_input(
            "ada@example.com",
            "email",
            &[("firstname", "Ada")],
            Some("p0"),
        )]);
        let v3 = client.batch_upsert().body(request.clone()).send().await;
        assert!(v3.expect("v3 200 parses").results[0].new);
        for (version, segment) in DATED {
            let call = client.dated_batch_upsert().version(version);
            let response = call.body(request.clone()).send().await;
            let response = response.unwrap_or_else(|e| panic!("{segment}: {e}"));
            assert_eq!(response.results[0].id, "11", "{segment}");
            assert!(response.results[0].new, "{segment}");
        }
    })
    .await;
}

#[tokio::test]
async fn dated_batch_read_sends_the_v3_body_and_query_to_2026_03_and_2026_09() {
    let body = json!({
        "inputs": [{"id": "ada@example.com"}],
        "idProperty": "email",
        "properties": ["email"],
        "propertiesWithHistory": []
    });
    let server = MockServer::start_async().await;
    let reply = batch_reply(vec![contact_json("11", Some("ada@example.com"), "r")]);
    // `archived` travels in the query at every version.
    let mut mocks = Vec::new();
    let dated = DATED.map(|(_, segment)| format!("/crm/objects/{segment}/contacts/batch/read"));
    let v3 = "/crm/v3/objects/contacts/batch/read".to_owned();
    for path in std::iter::once(v3).chain(dated) {
        let mock = server
            .mock_async(|when, then| {
                when.method(POST)
                    .path(path)
                    .query_param("archived", "true")
                    .header("authorization", bearer())
                    .header_missing("api-version")
                    .json_body(body.clone());
                then.status(200).json_body(reply.clone());
            })
            .await;
        mocks.push(mock);
    }
    let client = client(&server);
    let request = types::BatchReadRequest::builder()
        .inputs(record_ids(&["ada@example.com"]))
        .id_property(Some("email".to_owned()))
        .properties(vec!["email".to_owned()])
        .properties_with_history(Vec::<String>::new());
    let v3 = client.batch_read().archived(true).body(request.clone());
    assert_eq!(v3.send().await.expect("v3 200 parses").results[0].id, "11");
    for (version, segment) in DATED {
        let call = client.dated_batch_read().version(version).archived(true);
        let response = call.body(request.clone()).send().await;
        let response = response.unwrap_or_else(|e| panic!("{segment}: {e}"));
        assert_eq!(
            response.results[0].properties.get("email"),
            Some(&Some("ada@example.com".to_owned())),
            "{segment}"
        );
    }
    for mock in mocks {
        mock.assert_async().await;
    }
}

#[tokio::test]
async fn dated_batch_archive_sends_the_v3_body_to_2026_03_and_2026_09() {
    let body = json!({"inputs": [{"id": "11"}, {"id": "12"}]});
    assert_same_body_at_each_version("archive", body, 204, None, |client| async move {
        let request = types::BatchArchiveRequest::builder().inputs(record_ids(&["11", "12"]));
        let v3 = client.batch_archive().body(request.clone()).send().await;
        assert_eq!(v3.expect("v3 204").status().as_u16(), 204);
        for (version, segment) in DATED {
            let call = client.dated_batch_archive().version(version);
            let response = call.body(request.clone()).send().await;
            let response = response.unwrap_or_else(|e| panic!("{segment}: {e}"));
            assert_eq!(response.status().as_u16(), 204, "{segment}");
        }
    })
    .await;
}

// The batch helpers at each API version: the path follows the client's
// version, the body is the same at every version.

/// Each helper's exchange, checked against a fresh server: a client at
/// `version` (the builder's default when `None`) must send exactly the body
/// shown to `path`, once, and report the outcomes HubSpot's answer means.
async fn create_all_exchange(version: Option<ApiVersion>, path: &str) {
    let server = MockServer::start_async().await;
    let body = json!({"inputs": [
        {"properties": {"email": "ada@example.com", "firstname": "Ada"},
         "associations": [],
         "objectWriteTraceId": "t0"},
        {"properties": {"email": "alan@example.com"},
         "associations": [{"to": {"id": "901"},
                           "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}]}],
         "objectWriteTraceId": "t1"}
    ]});
    let reply = batch_reply(vec![
        contact_json("12", Some("alan@example.com"), "t1"),
        contact_json("11", Some("ada@example.com"), "t0"),
    ]);
    let mock = mock_exchange(&server, path, &body, 201, Some(reply)).await;
    let inputs = [
        Create::new()
            .set("email", "ada@example.com")
            .set("firstname", "Ada")
            .trace_id("t0"),
        Create::new()
            .set("email", "alan@example.com")
            .associate("901", 279)
            .trace_id("t1"),
    ];
    let report = client_at(&server, version)
        .create_all(inputs)
        .send()
        .await
        .expect("not aborted");
    mock.assert_async().await;
    assert_eq!(
        outcomes(&report, 2),
        [
            Outcome::Created { id: "11".into() },
            Outcome::Created { id: "12".into() },
        ],
        "{path}"
    );
}

async fn update_all_exchange(version: Option<ApiVersion>, path: &str) {
    let server = MockServer::start_async().await;
    let body = json!({"inputs": [
        {"id": "42", "properties": {"lastname": ""}, "objectWriteTraceId": "u0"},
        {"id": "x-7", "idProperty": "external_id", "properties": {"firstname": "Grace"}, "objectWriteTraceId": "u1"}
    ]});
    let reply = batch_reply(vec![
        contact_json("42", None, "u0"),
        contact_json("512", None, "u1"),
    ]);
    let mock = mock_exchange(&server, path, &body, 200, Some(reply)).await;
    let inputs = [
        Update::by_id("42").set("lastname", "").trace_id("u0"),
        Update::by("external_id", "x-7")
            .set("firstname", "Grace")
            .trace_id("u1"),
    ];
    let report = client_at(&server, version)
        .update_all(inputs)
        .send()
        .await
        .expect("not aborted");
    mock.assert_async().await;
    assert_eq!(
        outcomes(&report, 2),
        [
            Outcome::Updated { id: "42".into() },
            Outcome::Updated { id: "512".into() },
        ],
        "{path}"
    );
}

async fn upsert_all_exchange(version: Option<ApiVersion>, path: &str) {
    let server = MockServer::start_async().await;
    let body = json!({"inputs": [
        {"id": "ada@example.com", "idProperty": "email", "properties": {"firstname": "Ada"}, "objectWriteTraceId": "p0"},
        {"id": "x-7", "idProperty": "external_id", "properties": {"lastname": "Turing"}, "objectWriteTraceId": "p1"}
    ]});
    let reply = batch_reply(vec![
        upserted_json("11", Some("ada@example.com"), "p0", true),
        upserted_json("12", Some("alan@example.com"), "p1", false),
    ]);
    let mock = mock_exchange(&server, path, &body, 200, Some(reply)).await;
    let inputs = [
        Upsert::by_email("ada@example.com")
            .set("firstname", "Ada")
            .trace_id("p0"),
        Upsert::by("external_id", "x-7")
            .set("lastname", "Turing")
            .trace_id("p1"),
    ];
    let report = client_at(&server, version)
        .upsert_all(inputs)
        .send()
        .await
        .expect("not aborted");
    mock.assert_async().await;
    assert_eq!(
        outcomes(&report, 2),
        [
            Outcome::Created { id: "11".into() },
            Outcome::Updated { id: "12".into() },
        ],
        "{path}"
    );
}

/// A read asking for `properties`: the body carries them, and always
/// `propertiesWithHistory`, empty when none are asked for.
async fn read_all_exchange(version: Option<ApiVersion>, path: &str, properties: &[&str]) {
    let server = MockServer::start_async().await;
    let body = json!({
        "inputs": [{"id": "11"}, {"id": "12"}],
        "properties": properties,
        "propertiesWithHistory": []
    });
    let reply = batch_reply(vec![
        contact_json("12", Some("alan@example.com"), "r1"),
        contact_json("11", Some("ada@example.com"), "r0"),
    ]);
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(path)
                .query_param_missing("archived")
                .header("authorization", bearer())
                .header_missing("api-version")
                .json_body(body);
            then.status(200).json_body(reply);
        })
        .await;
    let report = client_at(&server, version)
        .read_all(["11", "12"])
        .properties(properties.iter().copied())
        .send()
        .await
        .expect("not aborted");
    mock.assert_async().await;
    assert_eq!(
        read_ids(&report, 2),
        [Some("11".to_owned()), Some("12".to_owned())],
        "{path}"
    );
}

async fn archive_all_exchange(version: Option<ApiVersion>, path: &str) {
    let server = MockServer::start_async().await;
    let body = json!({"inputs": [{"id": "11"}, {"id": "12"}]});
    let mock = mock_exchange(&server, path, &body, 204, None).await;
    let report = client_at(&server, version)
        .archive_all(["11", "12"])
        .send()
        .await
        .expect("not aborted");
    mock.assert_async().await;
    assert_eq!(
        outcomes(&report, 2),
        [Outcome::Archived, Outcome::Archived],
        "{path}"
    );
}

#[test]
fn the_known_versions_are_v3_2026_03_and_2026_09_at_hubspots_paths() {
    let paths: Vec<String> = ApiVersion::known()
        .into_iter()
        .map(|version| batch_path(version, "upsert"))
        .collect();
    assert_eq!(
        paths[..3],
        [
            "/crm/v3/objects/contacts/batch/upsert",
            "/crm/objects/2026-03/contacts/batch/upsert",
            "/crm/objects/2026-09/contacts/batch/upsert",
        ]
    );
}

#[tokio::test]
async fn create_all_sends_associations_and_trace_ids_to_each_versions_path() {
    for version in ApiVersion::known() {
        create_all_exchange(Some(version), &batch_path(version, "create")).await;
    }
}

#[tokio::test]
async fn update_all_sends_id_properties_and_trace_ids_to_each_versions_path() {
    for version in ApiVersion::known() {
        update_all_exchange(Some(version), &batch_path(version, "update")).await;
    }
}

#[tokio::test]
async fn upsert_all_sends_id_property_and_trace_ids_to_each_versions_path() {
    for version in ApiVersion::known() {
        upsert_all_exchange(Some(version), &batch_path(version, "upsert")).await;
    }
}

#[tokio::test]
async fn read_all_sends_properties_and_empty_history_to_each_versions_path() {
    for version in ApiVersion::known() {
        let path = batch_path(version, "read");
        read_all_exchange(Some(version), &path, &["email", "firstname"]).await;
    }
}

#[tokio::test]
async fn archive_all_sends_ids_to_each_versions_path() {
    for version in ApiVersion::known() {
        archive_all_exchange(Some(version), &batch_path(version, "archive")).await;
    }
}

#[tokio::test]
async fn a_client_without_a_version_sends_every_helper_to_2026_09() {
    let server = MockServer::start_async().await;
    assert_eq!(
        client(&server).batch_version(),
        ApiVersion::Dated(DatedVersion::X202609)
    );
    let at = |op: &str| format!("/crm/objects/2026-09/contacts/batch/{op}");
    create_all_exchange(None, &at("create")).await;
    update_all_exchange(None, &at("update")).await;
    upsert_all_exchange(None, &at("upsert")).await;
    // No properties asked for: `properties` is still sent, empty.
    read_all_exchange(None, &at("read"), &[]).await;
    archive_all_exchange(None, &at("archive")).await;
}

/// HubSpot's 2026-09 refusal of a write lacking a property an account admin
/// made required.
fn missing_required_property_reply() -> Value {
    json!({
        "status": "error",
        "category": "VALIDATION_ERROR",
        "message": "Some required properties were not set.",
        "correlationId": "c-required-2026-09",
        "errors": [{
            "message": "Required property lifecyclestage is missing",
            "code": "MISSING_REQUIRED_PROPERTY",
            "context": {"propertyName": ["lifecyclestage"]}
        }]
    })
}

/// The one input of `report` failed with HubSpot's missing-property refusal,
/// its code and the property named.
fn assert_failed_for_missing_lifecyclestage(report: &BatchReport) {
    let outcomes = outcomes(report, 1);
    let Outcome::Failed(failure) = &outcomes[0] else {
        panic!("the input must fail, got {:?}", outcomes[0])
    };
    assert_eq!(failure.category.as_deref(), Some("VALIDATION_ERROR"));
    assert_eq!(failure.client, None, "HubSpot's refusal, not the client's");
    assert_eq!(failure.code.as_deref(), Some("MISSING_REQUIRED_PROPERTY"));
    assert_eq!(failure.context["propertyName"], ["lifecyclestage"]);
    assert_eq!(failure.property_name(), Some("lifecyclestage"));
    assert!(failure.message.contains("lifecyclestage"), "{failure}");
    assert_eq!(failure.status, Some(400));
    assert_eq!(
        failure.correlation_id.as_deref(),
        Some("c-required-2026-09")
    );
}

#[tokio::test]
async fn a_2026_09_upsert_refused_for_a_missing_required_property_fails_that_input() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/crm/objects/2026-09/contacts/batch/upsert")
                .json_body(json!({"inputs": [
                    {"id": "ada@example.com", "idProperty": "email", "properties": {"firstname": "Ada"}, "objectWriteTraceId": "p0"}
                ]}));
            then.status(400).json_body(missing_required_property_reply());
        })
        .await;
    let input = Upsert::by_email("ada@example.com")
        .set("firstname", "Ada")
        .trace_id("p0");
    let report = client_at(&server, Some(ApiVersion::Dated(DatedVersion::X202609)))
        .upsert_all([input])
        .send()
        .await
        .expect("not aborted");
    mock.assert_async().await;
    assert_failed_for_missing_lifecyclestage(&report);
}

#[tokio::test]
async fn a_2026_09_create_refused_for_a_missing_required_property_fails_that_input() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/crm/objects/2026-09/contacts/batch/create")
                .json_body(json!({"inputs": [
                    {"properties": {"email": "ada@example.com"}, "associations": [], "objectWriteTraceId": "t0"}
                ]}));
            then.status(400).json_body(missing_required_property_reply());
        })
        .await;
    let input = Create::new().set("email", "ada@example.com").trace_id("t0");
    let report = client_at(&server, Some(ApiVersion::Dated(DatedVersion::X202609)))
        .create_all([input])
        .send()
        .await
        .expect("not aborted");
    // A refusal is final: the create is not sent again.
    mock.assert_async().await;
    assert_failed_for_missing_lifecyclestage(&report);
}

// The legacy v1 calls.

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
        .body(
            types::V1ContactRequest::builder()
                .properties(vec![v1_property("email", "ada@example.com")]),
        )
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
        .body(types::V1ContactRequest::builder().properties(Vec::<types::V1PropertyInput>::new()))
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
    let body =
        types::V1ContactRequest::builder().properties(vec![v1_property("firstname", "Grace")]);
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

// Errors, tokens and retries.

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
        .body(types::BatchUpsertRequest::builder().inputs(Vec::<types::UpsertInput>::new()))
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
        .body(types::BatchUpdateRequest::builder().inputs(Vec::<types::UpdateInput>::new()))
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
        .body(types::BatchCreateRequest::builder().inputs(Vec::<types::CreateInput>::new()))
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
    let body = types::BatchArchiveRequest::builder().inputs(Vec::<types::RecordId>::new());
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
        .body(types::BatchUpsertRequest::builder().inputs(Vec::<types::UpsertInput>::new()))
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
        .body(types::BatchCreateRequest::builder().inputs(Vec::<types::CreateInput>::new()))
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
        .body(types::BatchUpdateRequest::builder().inputs(Vec::<types::UpdateInput>::new()))
        .send()
        .await
        .expect_err("409");
    assert_eq!(mock.calls_async().await, 1);
}

#[tokio::test]
async fn at_every_dated_version_a_5xx_is_retried_for_upsert_but_never_for_create() {
    for version in [types::DatedVersion::X202603, types::DatedVersion::X202609] {
        let server = MockServer::start_async().await;
        let unavailable = |op: &'static str| {
            let path = format!("/crm/objects/{version}/contacts/batch/{op}");
            server.mock(move |when, then| {
                when.method(POST).path(path);
                then.status(503)
                    .json_body(json!({"status": "error", "message": "unavailable"}));
            })
        };
        let upsert = unavailable("upsert");
        let create = unavailable("create");
        let client = retrying_client(&server);
        client
            .dated_batch_upsert()
            .version(version)
            .body(types::BatchUpsertRequest::builder().inputs(Vec::<types::UpsertInput>::new()))
            .send()
            .await
            .expect_err("503");
        assert_eq!(
            upsert.calls(),
            3,
            "{version}: idempotent, every attempt used"
        );
        client
            .dated_batch_create()
            .version(version)
            .body(types::BatchCreateRequest::builder().inputs(Vec::<types::CreateInput>::new()))
            .send()
            .await
            .expect_err("503");
        assert_eq!(
            create.calls(),
            1,
            "{version}: a create that may have been applied is not resent"
        );
    }
}
