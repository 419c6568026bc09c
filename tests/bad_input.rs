//! The SDK's bad-input corpus: each bad input is sent between two good ones
//! and must get its own clear error while the good ones land. Raw generated
//! calls that HubSpot refuses as a whole must get a typed error naming why.
//! (The CLI's corpus is in `cli/tests/bad_input.rs`.)

mod support;

use hubspot_contacts_batch::{
    batch::{ClientCategory, InputFailure},
    prelude::*,
    types,
};
use support::fake;

/// A bad input of one of the helpers' input types.
enum Bad {
    Upsert(Upsert),
    Create(Create),
    /// An update; `{id}` in a key is replaced by a stored contact's id.
    Update(Update),
    V1(V1Contact),
}

/// Whose category a failure must carry: HubSpot's (a string in its words),
/// or the client's, for an input refused before sending.
#[derive(Debug, Clone, Copy)]
enum Category {
    HubSpot(&'static str),
    Client(ClientCategory),
}

use Category::HubSpot;

/// The client refused the input before sending it.
const INVALID_INPUT: Category = Category::Client(ClientCategory::InvalidInput);

impl Category {
    /// Whether `failure` carries this category, and only this one.
    fn matches(self, failure: &InputFailure) -> bool {
        match self {
            HubSpot(category) => {
                failure.category.as_deref() == Some(category) && failure.client.is_none()
            }
            Category::Client(client) => {
                failure.client == Some(client) && failure.category.is_none()
            }
        }
    }
}

/// What the bad input must get: its category and a phrase of its message.
/// `None` means the input is not bad after all and must land.
struct Case {
    name: &'static str,
    bad: Bad,
    expect: Option<(Category, &'static str)>,
}

fn case(name: &'static str, bad: Bad, category: Category, phrase: &'static str) -> Case {
    Case {
        name,
        bad,
        expect: Some((category, phrase)),
    }
}

fn corpus() -> Vec<Case> {
    let huge = "x".repeat(hubspot_fake::MAX_BODY_BYTES + 1);
    vec![
        case(
            "invalid email as the upsert key",
            Bad::Upsert(Upsert::by_email("not-an-email")),
            HubSpot("VALIDATION_ERROR"),
            "invalid",
        ),
        case(
            "invalid email in a create",
            Bad::Create(Create::new().set("email", "a@@b")),
            HubSpot("VALIDATION_ERROR"),
            "invalid",
        ),
        case(
            "unknown property",
            Bad::Upsert(Upsert::by_email("u1@example.com").set("shoe_size", "44")),
            HubSpot("VALIDATION_ERROR"),
            "does not exist",
        ),
        case(
            "read-only property",
            Bad::Upsert(Upsert::by_email("u2@example.com").set("createdate", "2020-01-01")),
            HubSpot("VALIDATION_ERROR"),
            "read only",
        ),
        case(
            "unknown enumeration option",
            Bad::Upsert(Upsert::by_email("u3@example.com").set("lifecyclestage", "martian")),
            HubSpot("VALIDATION_ERROR"),
            "martian",
        ),
        case(
            "multi-select values joined where one holds a ;",
            Bad::Upsert(
                Upsert::by_email("u4@example.com")
                    .set("lifecyclestage", PropertyValue::multi(["lead;customer"])),
            ),
            INVALID_INPUT,
            ";",
        ),
        case(
            "empty key",
            Bad::Upsert(Upsert::by_email("")),
            INVALID_INPUT,
            "empty",
        ),
        case(
            "blank key",
            Bad::Upsert(Upsert::by_email("   ")),
            INVALID_INPUT,
            "empty",
        ),
        case(
            "empty unique-property key",
            Bad::Upsert(Upsert::by("external_id", "")),
            INVALID_INPUT,
            "empty",
        ),
        case(
            "upsert by a property that is not unique",
            Bad::Upsert(Upsert::by("firstname", "Ada")),
            HubSpot("VALIDATION_ERROR"),
            "firstname",
        ),
        case(
            "upsert by record id",
            Bad::Upsert(Upsert::with_key(ContactKey::Id("1".into()))),
            INVALID_INPUT,
            "not a record id",
        ),
        case(
            "update by email",
            Bad::Update(Update::by_email("u5@example.com").set("city", "Rome")),
            INVALID_INPUT,
            "cannot batch-update contacts by email",
        ),
        case(
            "update of a record that does not exist",
            Bad::Update(Update::by_id("999999999").set("city", "Rome")),
            HubSpot("OBJECT_NOT_FOUND"),
            "not exist",
        ),
        case(
            "key property set to another value",
            Bad::Upsert(Upsert::by_email("u6@example.com").set("email", "other@example.com")),
            INVALID_INPUT,
            "is the key",
        ),
        case(
            "empty property name",
            Bad::Upsert(Upsert::by_email("u7@example.com").set("", "x")),
            INVALID_INPUT,
            "property name is empty",
        ),
        case(
            "blank property name",
            Bad::Create(Create::new().set("email", "u8@example.com").set(" ", "x")),
            INVALID_INPUT,
            "property name is empty",
        ),
        case(
            "NaN number",
            Bad::Upsert(Upsert::by_email("u9@example.com").set("zip", f64::NAN)),
            INVALID_INPUT,
            "zip",
        ),
        case(
            "infinite number",
            Bad::Create(
                Create::new()
                    .set("email", "u10@example.com")
                    .set("zip", f64::INFINITY),
            ),
            INVALID_INPUT,
            "zip",
        ),
        case(
            "a value larger than HubSpot takes in one request",
            Bad::Upsert(Upsert::by_email("u11@example.com").set("address", huge)),
            HubSpot("VALIDATION_ERROR"),
            "exceeds",
        ),
        case(
            "create with an email already stored",
            Bad::Create(Create::new().set("email", "taken@example.com")),
            HubSpot("CONFLICT"),
            "already exists",
        ),
        case(
            "legacy contact with an empty email",
            Bad::V1(V1Contact::by_email("")),
            INVALID_INPUT,
            "empty",
        ),
        case(
            "legacy contact with an invalid email",
            Bad::V1(V1Contact::by_email("nope@")),
            HubSpot("VALIDATION_ERROR"),
            "nope@ is invalid",
        ),
        case(
            "legacy contact with an unknown property",
            Bad::V1(V1Contact::by_email("v1@example.com").set("shoe_size", "44")),
            HubSpot("PROPERTY_DOESNT_EXIST"),
            "shoe_size",
        ),
        case(
            "legacy update of a vid that does not exist",
            Bad::V1(V1Contact::by_vid(987654321)),
            HubSpot("VALIDATION_ERROR"),
            "987654321",
        ),
        // Not errors: HubSpot's string encodings of typed values.
        Case {
            name: "numbers and booleans become strings",
            bad: Bad::Upsert(
                Upsert::by_email("ok1@example.com")
                    .set("zip", 75001)
                    .set("city", true),
            ),
            expect: None,
        },
        Case {
            name: "a clear is an empty string",
            bad: Bad::Upsert(
                Upsert::by_email("ok2@example.com").set("city", PropertyValue::clear()),
            ),
            expect: None,
        },
        Case {
            name: "key property set to the same value in other case",
            bad: Bad::Upsert(Upsert::by_email("ok3@example.com").set("email", "OK3@example.com")),
            expect: None,
        },
    ]
}

/// Sends `good, bad, good` with the helper of `bad`'s type; checks the good
/// ones landed and returns the bad one's outcome.
async fn send_between_good_ones(
    client: &Client,
    fake: &hubspot_fake::FakeHubSpot,
    n: usize,
    bad: Bad,
) -> Outcome {
    let good = |side: &str| format!("good-{side}-{n}@example.com");
    let report = match bad {
        Bad::Upsert(bad) => client
            .upsert_all([
                Upsert::by_email(good("a")),
                bad,
                Upsert::by_email(good("b")),
            ])
            .send()
            .await
            .expect("not aborted"),
        Bad::Create(bad) => client
            .create_all([
                Create::new().set("email", good("a")),
                bad,
                Create::new().set("email", good("b")),
            ])
            .send()
            .await
            .expect("not aborted"),
        Bad::Update(bad) => {
            let ids: Vec<String> = client
                .create_all([
                    Create::new().set("email", good("a")),
                    Create::new().set("email", good("b")),
                ])
                .send()
                .await
                .expect("not aborted")
                .outcomes
                .into_iter()
                .map(|entry| match entry.outcome {
                    Outcome::Created { id } => id,
                    other => panic!("{other:?}"),
                })
                .collect();
            client
                .update_all([
                    Update::by_id(&ids[0]).set("city", "Good"),
                    bad,
                    Update::by_id(&ids[1]).set("city", "Good"),
                ])
                .send()
                .await
                .expect("not aborted")
        }
        Bad::V1(bad) => client
            .v1_create_or_update_all([
                V1Contact::by_email(good("a")),
                bad,
                V1Contact::by_email(good("b")),
            ])
            .send()
            .await
            .expect("not aborted"),
    };
    assert_eq!(report.outcomes.len(), 3);
    for at in [0, 2] {
        assert!(
            report.outcomes[at].outcome.is_success(),
            "{:?}",
            report.outcomes[at]
        );
    }
    let stored = fake.contacts();
    for side in ["a", "b"] {
        assert!(
            stored
                .iter()
                .any(|c| c.properties.get("email") == Some(&good(side))),
            "{} landed",
            good(side)
        );
    }
    report.outcomes[1].outcome.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_input_gets_its_own_error_while_the_rest_lands() {
    let (fake, client) = fake().await;
    client
        .create_all([Create::new().set("email", "taken@example.com")])
        .send()
        .await
        .expect("not aborted")
        .into_result()
        .expect("seeded");
    let corpus = corpus();
    assert!(corpus.iter().filter(|case| case.expect.is_some()).count() >= 20);
    let mut problems = Vec::new();
    for (n, case) in corpus.into_iter().enumerate() {
        let outcome = send_between_good_ones(&client, &fake, n, case.bad).await;
        match (case.expect, &outcome) {
            (None, outcome) if outcome.is_success() => {}
            (Some((category, phrase)), Outcome::Failed(failure))
                if category.matches(failure)
                    && failure
                        .message
                        .to_lowercase()
                        .contains(&phrase.to_lowercase()) => {}
            (expect, outcome) => problems.push(format!(
                "{}: expected {expect:?}, got {outcome:?}",
                case.name
            )),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    fake.shutdown().await;
}

#[tokio::test]
async fn duplicate_keys_in_one_run_both_land_and_the_later_wins() {
    let (fake, client) = fake().await;
    let report = client
        .upsert_all([
            Upsert::by_email("dup@example.com").set("firstname", "First"),
            Upsert::by_email("other@example.com"),
            Upsert::by_email("DUP@example.com").set("firstname", "Second"),
        ])
        .send()
        .await
        .expect("not aborted");
    assert_eq!(report.counts().failed, 0, "{:?}", report.outcomes);
    assert!(matches!(
        report.outcomes[0].outcome,
        Outcome::Created { .. }
    ));
    assert!(matches!(
        report.outcomes[2].outcome,
        Outcome::Updated { .. }
    ));
    let stored = fake.contacts();
    assert_eq!(stored.len(), 2);
    let dup = stored
        .iter()
        .find(|c| c.properties["email"].eq_ignore_ascii_case("dup@example.com"))
        .expect("stored");
    assert_eq!(dup.properties["firstname"], "Second");
    fake.shutdown().await;
}

fn upsert_input(email: &str) -> types::UpsertInput {
    types::UpsertInput::builder()
        .id(email)
        .id_property(Some("email".to_owned()))
        .properties(types::PropertyValues(Default::default()))
        .try_into()
        .unwrap()
}

fn v1_contact(email: Option<String>) -> types::V1BatchContact {
    types::V1BatchContact::builder()
        .email(email)
        .properties(Vec::new())
        .try_into()
        .unwrap()
}

/// What a raw generated call refused as a whole must say.
async fn refused(
    call: impl std::future::Future<Output = Result<(), hubspot_contacts_batch::Error<types::ErrorBody>>>,
) -> (u16, String) {
    match call.await {
        Err(hubspot_contacts_batch::Error::ErrorResponse(response)) => (
            response.status().as_u16(),
            response.into_inner().to_string(),
        ),
        other => panic!("expected HubSpot's refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn raw_generated_calls_get_hubspots_refusal_as_a_typed_error() {
    let (fake, client) = fake().await;
    let inputs: Vec<_> = (0..101).map(|i| upsert_input(&support::email(i))).collect();
    let (status, message) = refused(async {
        client
            .batch_upsert()
            .body(types::BatchUpsertRequest::builder().inputs(inputs))
            .send()
            .await
            .map(drop)
    })
    .await;
    assert_eq!(status, 400);
    assert!(
        message.contains("maximum number of inputs supported in a batch is 100"),
        "{message}"
    );

    let inputs = vec![
        upsert_input("same@example.com"),
        upsert_input("same@example.com"),
    ];
    let (status, message) = refused(async {
        client
            .batch_upsert()
            .body(types::BatchUpsertRequest::builder().inputs(inputs))
            .send()
            .await
            .map(drop)
    })
    .await;
    assert_eq!(status, 400);
    assert!(message.contains("Duplicate IDs"), "{message}");

    // A legacy contact with neither email nor vid, which the builders cannot make.
    let body = types::V1BatchRequest(vec![
        v1_contact(Some("fine@example.com".into())),
        v1_contact(None),
    ]);
    let error = client
        .v1_batch_create_or_update()
        .body(body)
        .send()
        .await
        .expect_err("refused");
    let hubspot_contacts_batch::Error::ErrorResponse(response) = error else {
        panic!("{error:?}")
    };
    assert_eq!(response.status().as_u16(), 400);
    let body = response.into_inner();
    assert_eq!(body.failure_messages.len(), 1, "{body:?}");
    assert_eq!(
        body.failure_messages[0].index, 1,
        "the contact without identity is named"
    );

    // More than 1,000 legacy contacts.
    let many = (0..1_001)
        .map(|i| v1_contact(Some(support::email(i))))
        .collect();
    let (status, _) = refused(async {
        client
            .v1_batch_create_or_update()
            .body(types::V1BatchRequest(many))
            .send()
            .await
            .map(drop)
    })
    .await;
    assert_eq!(status, 400);
    assert!(fake.contacts().is_empty(), "nothing refused was applied");
    fake.shutdown().await;
}
