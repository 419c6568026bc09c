//! The property catalogue: the path `Client::contact_properties` asks at each API
//! version (httpmock), the parsing of HubSpot's answer, and the SDK's validator agreeing
//! with hubspot-fake's checks for the sample portal catalogue.

use httpmock::{Method::GET, MockServer};
use hubspot_contacts_batch::{
    ApiVersion, Catalogue, Client, ContactsBatchExt, Outcome, SdkError, Upsert,
    catalogue::{ErrorCode, FieldType, HeaderError, PropertyType},
    policy::{RateLimit, RetryPolicy},
    types::DatedVersion,
};
use hubspot_fake::{FakeHubSpot, FaultSpec, routes};
use serde_json::json;

const TOKEN: &str = "pat-na1-catalogue-test";

/// The sample portal catalogue the fake ships (number, date, datetime, bool,
/// multi-select, calculated and read-only properties, and a label used twice).
const PORTAL: &str = "fake/examples/portal-properties.json";

/// Every version with the path HubSpot serves the contact properties at, written out.
fn versions() -> [(ApiVersion, &'static str); 3] {
    [
        (ApiVersion::V3, "/crm/v3/properties/contacts"),
        (
            ApiVersion::Dated(DatedVersion::X202603),
            "/crm/properties/2026-03/contacts",
        ),
        (
            ApiVersion::Dated(DatedVersion::X202609),
            "/crm/properties/2026-09/contacts",
        ),
    ]
}

fn client_at(base_url: &str, version: ApiVersion) -> Client {
    Client::builder()
        .base_url(base_url)
        .token(TOKEN)
        .api_version(version)
        .retry_policy(RetryPolicy::none())
        .rate_limit(RateLimit::Unlimited)
        .build()
        .expect("client")
}

/// An answer with fields and values this build does not know.
fn answer() -> serde_json::Value {
    json!({"results": [
        {"name": "firstname", "label": "First Name", "type": "string", "fieldType": "text",
         "description": "", "groupName": "contactinformation", "options": [],
         "displayOrder": 0, "hasUniqueValue": false, "hidden": false, "formField": true,
         "modificationMetadata": {"archivable": true, "readOnlyDefinition": true,
                                  "readOnlyValue": false},
         "dataSensitivity": "non_sensitive", "someFieldHubSpotAddsLater": {"x": [1]}},
        {"name": "hs_buying_role", "label": "Buying Role", "type": "enumeration",
         "fieldType": "checkbox", "options": [
            {"label": "Champion", "value": "CHAMPION", "hidden": false, "displayOrder": 0},
            {"label": "End User", "value": "END_USER", "hidden": true, "displayOrder": -1,
             "description": "uses it"}]},
        {"name": "location", "label": "Location", "type": "object_coordinates",
         "fieldType": "geo_point", "calculated": false, "externalOptions": false},
        {"name": "num_notes", "label": "Number of Sales Activities", "type": "number",
         "fieldType": "calculation_equation", "calculated": true,
         "calculationFormula": "count(notes)"}
    ]})
}

#[tokio::test]
async fn the_catalogue_is_read_at_the_clients_version() {
    for (version, path) in versions() {
        let server = MockServer::start_async().await;
        let mock = server
            .mock_async(|when, then| {
                when.method(GET)
                    .path(path)
                    .header("authorization", format!("Bearer {TOKEN}"))
                    .header_missing("api-version")
                    .query_param_missing("archived")
                    .query_param_missing("dataSensitivity");
                then.status(200).json_body(answer());
            })
            .await;
        let catalogue = client_at(&server.base_url(), version)
            .contact_properties()
            .await
            .unwrap_or_else(|e| panic!("{version}: {e}"));
        mock.assert_async().await;
        assert_eq!(catalogue.len(), 4, "{version}");
    }
}

#[tokio::test]
async fn an_answer_reads_into_typed_properties_keeping_the_unknown() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/crm/properties/2026-09/contacts");
            then.status(200).json_body(answer());
        })
        .await;
    let catalogue = client_at(&server.base_url(), ApiVersion::default())
        .contact_properties()
        .await
        .unwrap();
    let role = catalogue.get("hs_buying_role").unwrap();
    assert!(role.is_multi_select());
    let options: Vec<(&str, &str, bool)> = role
        .options
        .iter()
        .map(|o| (o.value.as_str(), o.label.as_str(), o.hidden))
        .collect();
    assert_eq!(
        options,
        [
            ("CHAMPION", "Champion", false),
            ("END_USER", "End User", true)
        ]
    );
    let location = catalogue.get("location").unwrap();
    assert_eq!(
        location.property_type,
        PropertyType::Other("object_coordinates".to_owned())
    );
    assert_eq!(
        location.field_type,
        FieldType::Other("geo_point".to_owned())
    );
    let notes = catalogue.get("num_notes").unwrap();
    assert!(notes.calculated && !notes.is_writable());
    let names: Vec<&str> = catalogue.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["firstname", "hs_buying_role", "location", "num_notes"]
    );
}

#[tokio::test]
async fn a_refusal_keeps_hubspots_words() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/crm/v3/properties/contacts");
            then.status(403).json_body(json!({
                "status": "error", "category": "MISSING_SCOPES",
                "message": "This app hasn't been granted all required scopes",
                "correlationId": "4b5e6f3c-0000-4000-8000-000000000000"
            }));
        })
        .await;
    let error = client_at(&server.base_url(), ApiVersion::V3)
        .contact_properties()
        .await
        .unwrap_err();
    let SdkError::Api(api) = &error else {
        panic!("an API error, got {error}");
    };
    assert_eq!(api.status, 403);
    assert_eq!(api.category(), Some("MISSING_SCOPES"));
}

/// A fake mirroring the sample portal, and its catalogue fetched through the SDK.
async fn portal(version: ApiVersion) -> (FakeHubSpot, Client, Catalogue) {
    let fake = FakeHubSpot::builder()
        .properties_file(PORTAL)
        .start()
        .await
        .expect("fake starts");
    let client = client_at(&fake.base_url(), version);
    let catalogue = client.contact_properties().await.expect("catalogue");
    (fake, client, catalogue)
}

#[tokio::test]
async fn the_fake_serves_the_sample_portal_at_every_version() {
    for (version, _) in versions() {
        let (_fake, _client, catalogue) = portal(version).await;
        let employees = catalogue.resolve_writable("Employees").unwrap();
        assert_eq!(employees.property_type, PropertyType::Number);
        assert_eq!(catalogue.resolve("First Name").unwrap().name, "firstname");
        assert!(matches!(
            catalogue.resolve("Mobile Phone Number"),
            Err(HeaderError::Ambiguous { ref candidates, .. }) if candidates.len() == 2
        ));
        assert!(matches!(
            catalogue.resolve_writable("Associated Deals"),
            Err(HeaderError::ReadOnly {
                calculated: true,
                ..
            })
        ));
    }
}

/// The SDK's prediction and the fake's verdict agree, value by value: each value is
/// checked with the catalogue, then sent alone, and HubSpot's (the fake's) code compared.
#[tokio::test]
async fn the_validator_predicts_the_fakes_verdict() {
    let (fake, client, catalogue) = portal(ApiVersion::default()).await;
    let cases = [
        ("employees", "1,200"),
        ("employees", "1200"),
        ("employees", "12.5"),
        ("employees", "1e3"),
        ("date_of_birth", "1815-12-10"),
        ("date_of_birth", "1795352460000"),
        ("date_of_birth", "-4859337600000"),
        ("last_seen_at", "2026-11-22T10:30:00Z"),
        ("last_seen_at", "last tuesday"),
        ("newsletter_opt_in", "true"),
        ("newsletter_opt_in", "oui"),
        ("lifecyclestage", "lead"),
        ("lifecyclestage", "Lead"),
        ("hs_buying_role", "CHAMPION;END_USER"),
        ("hs_buying_role", "CHAMPION;BOSS"),
        ("hubspot_owner_id", "987"),
        ("num_associated_deals", "1"),
        ("createdate", "1795305600000"),
        ("nickname", "Ada"),
        ("firstname", ""),
    ];
    let mut inputs = Vec::new();
    let mut predicted = Vec::new();
    for (n, (property, value)) in cases.iter().enumerate() {
        let email = format!("case{n}@example.com");
        predicted.push(catalogue.check(property, value).err().map(|e| e.code));
        inputs.push(Upsert::by_email(email).set(*property, *value));
    }
    // One request per input, so that each refusal is HubSpot's word on that value alone.
    let report = client
        .upsert_all(inputs)
        .batch_size(1)
        .send()
        .await
        .unwrap();
    for (position, entry) in report.outcomes.iter().enumerate() {
        let verdict = match &entry.outcome {
            Outcome::Created { .. } | Outcome::Updated { .. } => None,
            Outcome::Failed(failure) => failure.code.clone(),
            other => panic!("{:?}: unexpected {other:?}", cases[position]),
        };
        let prediction = predicted[position].map(|code| code.as_str().to_owned());
        assert_eq!(prediction, verdict, "{:?}", cases[position]);
    }
    let accepted = predicted.iter().filter(|p| p.is_none()).count();
    assert_eq!(fake.contacts().len(), accepted);
    assert!(predicted.contains(&Some(ErrorCode::ReadOnlyValue)));
}

/// The properties list is a read: a request whose answer was lost after HubSpot handled
/// it is simply sent again.
#[tokio::test]
async fn a_lost_answer_is_asked_again() {
    let fake = FakeHubSpot::builder()
        .faults(FaultSpec::parse("reset-after=0.5").expect("spec"))
        .seed(3)
        .start()
        .await
        .expect("fake starts");
    let quick = RetryPolicy::default()
        .max_attempts(12)
        .initial_backoff(std::time::Duration::from_millis(1))
        .max_backoff(std::time::Duration::from_millis(5));
    let client = Client::builder()
        .base_url(fake.base_url())
        .token(TOKEN)
        .api_version(ApiVersion::V3)
        .retry_policy(quick)
        .rate_limit(RateLimit::Unlimited)
        .build()
        .expect("client");
    for _ in 0..5 {
        let catalogue = client
            .contact_properties()
            .await
            .expect("retried until answered");
        assert!(catalogue.get("email").is_some());
    }
    let stats = fake.stats();
    assert!(
        stats.faults.get("reset-after").is_some_and(|n| *n > 0),
        "{stats:?}"
    );
    assert_eq!(stats.count(routes::V3_PROPERTIES, 200), 5);
}
