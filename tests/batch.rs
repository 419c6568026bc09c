//! The batch helpers against hubspot-fake: chunking, correlation, duplicates,
//! poison isolation, laziness and the legacy batch.

mod support;

use std::{
    collections::BTreeSet,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use futures::StreamExt;
use hubspot_contacts_batch::{
    batch::{ClientCategory, InputFailure},
    prelude::*,
};
use support::{assert_every_input_accounted, email, fake, fake_with};

fn upserts(n: usize) -> Vec<Upsert> {
    (0..n)
        .map(|i| Upsert::by_email(email(i)).set("firstname", format!("First{i}")))
        .collect()
}

#[tokio::test]
async fn upsert_all_chunks_any_number_of_inputs() {
    for (n, requests) in [(0usize, 0u64), (1, 1), (100, 1), (101, 2), (250, 3)] {
        let (fake, client) = fake().await;
        let report = client
            .upsert_all(upserts(n))
            .send()
            .await
            .expect("not aborted");
        assert_every_input_accounted(&report.outcomes, n);
        assert_eq!(report.stats.requests, requests, "{n} inputs");
        assert_eq!(report.counts().created, n as u64, "{n} inputs");
        assert_eq!(fake.stats().requests, requests);
        let stored = fake.contacts();
        assert_eq!(stored.len(), n);
        fake.shutdown().await;
    }
}

#[tokio::test]
async fn ten_thousand_upserts_then_again_as_updates() {
    let (fake, client) = fake().await;
    let report = client
        .upsert_all(upserts(10_000))
        .concurrency(8)
        .send()
        .await
        .expect("not aborted");
    assert_every_input_accounted(&report.outcomes, 10_000);
    assert_eq!(report.counts().created, 10_000);
    assert_eq!(report.stats.requests, 100);

    let again =
        (0..10_000).map(|i| Upsert::by_email(email(i).to_uppercase()).set("lastname", "Second"));
    let report = client.upsert_all(again).send().await.expect("not aborted");
    assert_eq!(report.counts().updated, 10_000);
    // Each outcome names the id the fake stored for that email, despite shuffled results.
    let contacts = fake.contacts();
    for outcome in &report.outcomes {
        let Outcome::Updated { id } = &outcome.outcome else {
            panic!("{outcome:?}")
        };
        let stored = contacts.iter().find(|c| &c.id == id).expect("stored");
        assert_eq!(stored.properties["email"], email(outcome.index));
        assert_eq!(stored.properties["lastname"], "Second");
    }
    fake.shutdown().await;
}

#[tokio::test]
async fn create_207_maps_each_failure_to_its_input() {
    let (fake, client) = fake().await;
    let taken = client
        .create_all([Create::new().set("email", "taken@example.com")])
        .send()
        .await
        .expect("not aborted");
    assert_eq!(taken.counts().created, 1);

    let inputs = vec![
        Create::new()
            .set("email", "a@example.com")
            .set("firstname", "A"),
        Create::new()
            .set("email", "b@example.com")
            .set("no_such_property", "x"),
        Create::new().set("email", "TAKEN@example.com"),
        Create::new().set("email", "c@example.com"),
    ];
    let report = client.create_all(inputs).send().await.expect("not aborted");
    assert_every_input_accounted(&report.outcomes, 4);
    assert_eq!(report.stats.requests, 1, "207 needs no bisection");
    assert!(matches!(
        report.outcomes[0].outcome,
        Outcome::Created { .. }
    ));
    assert!(
        matches!(&report.outcomes[1].outcome, Outcome::Failed(f) if f.message.contains("no_such_property"))
    );
    assert!(
        matches!(&report.outcomes[2].outcome, Outcome::Failed(f) if f.category.as_deref() == Some("CONFLICT")),
        "{:?}",
        report.outcomes[2]
    );
    assert!(matches!(
        report.outcomes[3].outcome,
        Outcome::Created { .. }
    ));
    let emails: BTreeSet<String> = fake
        .contacts()
        .into_iter()
        .map(|c| c.properties["email"].clone())
        .collect();
    assert_eq!(
        emails,
        ["a@example.com", "c@example.com", "taken@example.com"]
            .map(String::from)
            .into()
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn a_poison_input_in_the_middle_of_1000_is_isolated_by_bisection() {
    let (fake, client) = fake().await;
    let inputs = (0..1000).map(|i| {
        let upsert = Upsert::by_email(email(i)).set("firstname", "Ok");
        // An invalid email fails the whole upsert request with 400 on the fake.
        if i == 537 {
            Upsert::by_email("not-an-email").set("firstname", "Bad")
        } else {
            upsert
        }
    });
    let report = client.upsert_all(inputs).send().await.expect("not aborted");
    assert_every_input_accounted(&report.outcomes, 1000);
    let counts = report.counts();
    assert_eq!((counts.created, counts.failed), (999, 1));
    let Outcome::Failed(failure) = &report.outcomes[537].outcome else {
        panic!("{:?}", report.outcomes[537])
    };
    assert!(failure.message.contains("not-an-email"), "{failure}");
    // 10 chunks plus log2(100) levels of splitting in the bad chunk.
    assert!(
        report.stats.requests <= 10 + 2 * 7 + 1,
        "{} requests",
        report.stats.requests
    );
    assert_eq!(fake.contacts().len(), 999);
    fake.shutdown().await;
}

#[tokio::test]
async fn same_key_inputs_never_share_a_request_and_the_last_write_wins() {
    let (fake, client) = fake().await;
    let inputs = vec![
        Upsert::by_email("dup@example.com").set("firstname", "First"),
        Upsert::by_email("other@example.com").set("firstname", "Other"),
        Upsert::by_email("DUP@example.com").set("firstname", "Second"),
        Upsert::by_email("dup@Example.com").set("firstname", "Third"),
    ];
    let report = client
        .upsert_all(inputs)
        .concurrency(4)
        .send()
        .await
        .expect("not aborted");
    assert_every_input_accounted(&report.outcomes, 4);
    assert_eq!(report.counts().failed, 0, "{:?}", report.outcomes);
    assert_eq!(report.stats.requests, 3);
    let dup = fake
        .contacts()
        .into_iter()
        .find(|c| c.properties["email"] == "dup@example.com")
        .expect("stored");
    assert_eq!(dup.properties["firstname"], "Third");
    fake.shutdown().await;
}

#[tokio::test]
async fn misuse_is_reported_per_input_and_the_rest_lands() {
    let (fake, client) = fake().await;
    let created = client
        .upsert_all(upserts(2))
        .send()
        .await
        .expect("not aborted")
        .into_result()
        .expect("seeded");
    let Outcome::Created { id } = &created[0].outcome else {
        panic!()
    };
    let inputs = vec![
        Update::by_id(id.clone()).set("lastname", "Lovelace"),
        Update::by_email(email(1)).set("lastname", "Nope"),
        Update::by_id("").set("lastname", "Nope"),
        Update::by_id("999999").set("lastname", "Missing"),
    ];
    let report = client.update_all(inputs).send().await.expect("not aborted");
    assert_every_input_accounted(&report.outcomes, 4);
    assert_eq!(
        report.outcomes[0].outcome,
        Outcome::Updated { id: id.clone() }
    );
    let category = |at: usize| match &report.outcomes[at].outcome {
        Outcome::Failed(InputFailure {
            category, client, ..
        }) => (category.clone(), *client),
        other => panic!("{other:?}"),
    };
    assert_eq!(category(1), (None, Some(ClientCategory::InvalidInput)));
    assert_eq!(category(2), (None, Some(ClientCategory::InvalidInput)));
    assert_eq!(category(3), (Some("OBJECT_NOT_FOUND".to_owned()), None));
    assert_eq!(report.stats.requests, 1);
    fake.shutdown().await;
}

#[tokio::test]
async fn read_all_by_email_and_archive_all() {
    let (fake, client) = fake().await;
    client
        .upsert_all(upserts(150))
        .send()
        .await
        .expect("not aborted")
        .into_result()
        .expect("seeded");
    let keys: Vec<String> = (0..150)
        .map(email)
        .chain(["nobody@example.com".to_string()])
        .collect();
    let report = client
        .read_all(keys)
        .id_property("email")
        .properties(["firstname"])
        .send()
        .await
        .expect("not aborted");
    assert_every_input_accounted(&report.outcomes, 151);
    assert_eq!(report.counts().read, 150);
    let Outcome::Read(contact) = &report.outcomes[7].outcome else {
        panic!()
    };
    assert_eq!(
        contact.properties.get("firstname"),
        Some(&Some("First7".to_string()))
    );
    assert!(
        matches!(&report.outcomes[150].outcome, Outcome::Failed(f) if f.category.as_deref() == Some("OBJECT_NOT_FOUND"))
    );

    let ids: Vec<String> = fake.contacts().into_iter().map(|c| c.id).collect();
    let report = client.archive_all(ids).send().await.expect("not aborted");
    assert_eq!(report.counts().archived, 150);
    assert!(fake.contacts().iter().all(|c| c.archived));
    fake.shutdown().await;
}

#[tokio::test]
async fn v1_batch_drops_the_contacts_hubspot_names_and_resends_the_rest() {
    let (fake, client) = fake_with(|builder| builder.v1_apply_delay(Duration::ZERO)).await;
    let inputs = (0..250).map(|i| match i {
        17 => V1Contact::by_email("broken@@example").set("firstname", "Bad"),
        201 => V1Contact::by_email(email(i)).set("favourite_shoe", "x"),
        _ => V1Contact::by_email(email(i)).set("firstname", "Ok"),
    });
    let report = client
        .v1_create_or_update_all(inputs)
        .batch_size(100)
        .send()
        .await
        .expect("not aborted");
    assert_every_input_accounted(&report.outcomes, 250);
    assert_eq!(report.counts().accepted, 248);
    assert!(matches!(&report.outcomes[17].outcome, Outcome::Failed(_)));
    assert!(
        matches!(&report.outcomes[201].outcome, Outcome::Failed(f) if f.message.contains("favourite_shoe")),
        "{:?}",
        report.outcomes[201]
    );
    // 3 chunks, two of them sent twice.
    assert_eq!(report.stats.requests, 5);
    // The fake applies legacy batches asynchronously.
    for _ in 0..100 {
        if fake.contacts().len() == 248 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(fake.contacts().len(), 248);
    fake.shutdown().await;
}

#[tokio::test]
async fn inputs_are_pulled_lazily() {
    let (fake, client) = fake_with(|builder| builder.latency(Duration::from_millis(20))).await;
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&pulled);
    let inputs = (0..3_000).map(move |i| {
        counter.fetch_add(1, Ordering::SeqCst);
        Upsert::by_email(email(i))
    });
    let concurrency = 2;
    let mut stream = client.upsert_all(inputs).concurrency(concurrency).stream();
    let mut answered = 0usize;
    let mut most_ahead = 0usize;
    while let Some(item) = stream.next().await {
        let outcome = item.expect("not aborted");
        assert_eq!(outcome.index, answered);
        answered += 1;
        most_ahead = most_ahead.max(pulled.load(Ordering::SeqCst) - answered);
    }
    assert_eq!(answered, 3_000);
    // In flight: `concurrency` chunks, plus the chunk being planned.
    assert!(
        most_ahead <= (concurrency + 1) * 100 + 1,
        "{most_ahead} inputs pulled ahead of the answers"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn typed_values_reach_hubspot_as_strings() {
    let (fake, client) = fake().await;
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).expect("date");
    let input = Create::new()
        .set("email", "typed@example.com")
        .set("zip", 12345)
        .set("website", PropertyValue::multi(["a", "b"]))
        .set("city", true)
        .set("company", PropertyValue::date(day));
    client
        .create_all([input])
        .send()
        .await
        .expect("not aborted")
        .into_result()
        .expect("created");
    let stored = fake.contacts().pop().expect("stored");
    assert_eq!(stored.properties["zip"], "12345");
    assert_eq!(stored.properties["website"], "a;b");
    assert_eq!(stored.properties["city"], "true");
    assert_eq!(stored.properties["company"], "1795305600000");
    fake.shutdown().await;
}

#[tokio::test]
async fn a_trace_id_repeated_by_the_caller_does_not_confuse_two_inputs() {
    let (fake, client) = fake().await;
    let inputs = vec![
        Create::new()
            .set("email", "one@example.com")
            .trace_id("mine"),
        Create::new()
            .set("email", "two@example.com")
            .trace_id("mine"),
    ];
    let report = client.create_all(inputs).send().await.expect("not aborted");
    let ids: Vec<String> = report
        .outcomes
        .iter()
        .map(|entry| match &entry.outcome {
            Outcome::Created { id } => id.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    let stored: std::collections::BTreeMap<String, String> = fake
        .contacts()
        .into_iter()
        .map(|c| (c.properties["email"].clone(), c.id))
        .collect();
    assert_eq!(
        ids,
        vec![
            stored["one@example.com"].clone(),
            stored["two@example.com"].clone()
        ]
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn inputs_may_borrow_and_outcomes_carry_their_typed_key_and_id() {
    let (fake, client) = fake().await;
    let known: Vec<String> = (0..3).map(email).collect();
    // The inputs borrow `known`: the run lives no longer than it.
    let report = client
        .upsert_all(
            known
                .iter()
                .map(|address| Upsert::by_email(address).set("firstname", "Ada")),
        )
        .send()
        .await
        .expect("not aborted");
    let stored = fake.contacts();
    for (position, outcome) in report.outcomes.iter().enumerate() {
        assert_eq!(outcome.index, position);
        assert_eq!(
            outcome.key,
            Some(ContactKey::Email(known[position].clone()))
        );
        let id = outcome.id().expect("a created contact has an id");
        let contact = stored.iter().find(|c| c.id == id).expect("stored");
        assert_eq!(contact.properties["email"], known[position]);
        assert_eq!(
            outcome.to_string(),
            format!("input {position} (email {}): created {id}", known[position])
        );
    }
    // `.stream()` reads with the prelude alone.
    let mut stream = client
        .archive_all(stored.iter().map(|c| c.id.clone()))
        .stream();
    let mut archived = 0;
    while let Some(item) = stream.next().await {
        assert_eq!(item.expect("not aborted").outcome, Outcome::Archived);
        archived += 1;
    }
    assert_eq!(archived, 3);
    fake.shutdown().await;
}

/// Every helper, with bisection of a refused request and reconciliation of a
/// create whose answer was lost, at every API version: each sends to its own
/// version's paths and reports the same outcomes.
#[tokio::test]
async fn every_helper_works_at_every_api_version() {
    use hubspot_contacts_batch::ApiVersion;
    use hubspot_fake::routes;

    for version in ApiVersion::known() {
        let label = version.to_string();
        // Creates through 500s: each create in doubt is read back, then
        // created again when absent (the fake's 500 comes before applying).
        let (faulty, doubtful) = support::fake_and_client(
            |fake| fake.faults(hubspot_fake::FaultSpec::parse("500=0.4").unwrap()),
            |client| {
                client
                    .api_version(version)
                    .rate_limit(hubspot_contacts_batch::policy::RateLimit::Unlimited)
                    .retry_policy(support::quick_retries().max_attempts(20))
            },
        )
        .await;
        let creates = (0..30).map(|i| Create::new().set("email", email(i)));
        let created = doubtful
            .create_all(creates)
            .batch_size(5)
            .concurrency(1)
            .send()
            .await
            .expect("not aborted");
        assert_eq!(
            created.counts().created,
            30,
            "{label}: {:?}",
            created.problems().next()
        );
        assert!(
            created.stats.reconciled > 0,
            "{label}: creates in doubt were read back"
        );
        assert_eq!(faulty.contacts().len(), 30, "{label}: no duplicates");
        let stats = faulty.stats();
        let read_route = routes::batch(&label, "read");
        let read_back = stats.count(&read_route, 200) + stats.count(&read_route, 207);
        assert!(
            read_back > 0,
            "{label}: the read-back went to the version's own path"
        );
        faulty.shutdown().await;

        let (fake, client) = support::fake_and_client(
            |fake| fake,
            |client| {
                client
                    .api_version(version)
                    .rate_limit(hubspot_contacts_batch::policy::RateLimit::Unlimited)
            },
        )
        .await;
        let creates = (0..3).map(|i| Create::new().set("email", email(i)).set("firstname", "C"));
        let created = client
            .create_all(creates)
            .send()
            .await
            .expect("not aborted");
        assert_eq!(created.counts().created, 3, "{label}");

        // One bad email among good ones: the refused request is split.
        let upserts = (0..4).map(|i| {
            let address = if i == 2 {
                "not-an-email".to_owned()
            } else {
                email(i)
            };
            Upsert::by_email(address).set("lastname", "U")
        });
        let upserted = client
            .upsert_all(upserts)
            .send()
            .await
            .expect("not aborted");
        let counts = upserted.counts();
        assert_eq!(
            (counts.created, counts.updated, counts.failed),
            (1, 2, 1),
            "{label}"
        );
        let Outcome::Failed(refused) = &upserted.outcomes[2].outcome else {
            panic!("{label}: {:?}", upserted.outcomes[2])
        };
        assert_eq!(
            refused.category.as_deref(),
            Some("VALIDATION_ERROR"),
            "{label}"
        );

        let ids: Vec<String> = created
            .outcomes
            .iter()
            .filter_map(|o| o.id().map(str::to_owned))
            .collect();
        let updates = ids
            .iter()
            .map(|id| Update::by_id(id).set("firstname", "Again"));
        let updated = client
            .update_all(updates)
            .send()
            .await
            .expect("not aborted");
        assert_eq!(updated.counts().updated, 3, "{label}");
        let read = client
            .read_all(ids.iter().cloned())
            .properties(["firstname"])
            .send()
            .await
            .expect("not aborted");
        for outcome in &read.outcomes {
            let Outcome::Read(contact) = &outcome.outcome else {
                panic!("{label}: {outcome:?}")
            };
            assert_eq!(
                contact.properties["firstname"].as_deref(),
                Some("Again"),
                "{label}"
            );
        }
        let archived = client
            .archive_all(ids.iter().cloned())
            .send()
            .await
            .expect("not aborted");
        assert_eq!(archived.counts().archived, 3, "{label}");

        let stats = fake.stats();
        for op in ["create", "upsert", "update", "read", "archive"] {
            let route = routes::batch(&label, op);
            let answered: u64 = stats
                .responses
                .get(&route)
                .map(|by_status| by_status.values().sum())
                .unwrap_or(0);
            assert!(
                answered > 0,
                "{label}: nothing answered on {route}: {:?}",
                stats.responses.keys()
            );
        }
        let elsewhere = stats
            .responses
            .keys()
            .filter(|route| !route.contains(&format!("/{label}/")))
            .count();
        assert_eq!(elsewhere, 0, "{label}: {:?}", stats.responses.keys());
        fake.shutdown().await;
    }
}

/// A refusal of the request itself (here: upserting by a property that is not
/// unique) does not depend on which inputs the request holds: after the two
/// halves are refused alike, every input fails with it, at 3 requests a chunk.
#[tokio::test]
async fn a_refusal_of_the_request_itself_is_not_split_down_to_single_inputs() {
    let (fake, client) = fake().await;
    let inputs = (0..250).map(|i| Upsert::by("firstname", format!("name{i}")).set("lastname", "L"));
    let report = client.upsert_all(inputs).send().await.expect("not aborted");
    assert_eq!(report.counts().failed, 250);
    for outcome in &report.outcomes {
        let Outcome::Failed(failure) = &outcome.outcome else {
            panic!("{outcome}")
        };
        assert!(failure.message.contains("non-unique"), "{failure}");
    }
    // Three chunks (100, 100, 50), each: the request and its two halves.
    assert_eq!(report.stats.requests, 9, "{:?}", report.stats);
    assert_eq!(fake.stats().requests, 9);
    fake.shutdown().await;
}

#[tokio::test]
async fn on_send_names_each_requests_inputs_before_it_leaves() {
    let (fake, client) = fake().await;
    let calls = Arc::new(std::sync::Mutex::new(Vec::new()));
    let report = client
        .upsert_all(upserts(250))
        .on_send({
            let calls = Arc::clone(&calls);
            move |indices| calls.lock().unwrap().push(indices.to_vec())
        })
        .concurrency(1)
        .send()
        .await
        .expect("not aborted");
    assert_every_input_accounted(&report.outcomes, 250);
    let calls = calls.lock().unwrap().clone();
    assert_eq!(
        calls.len() as u64,
        report.stats.requests,
        "one call per request"
    );
    let sizes: Vec<usize> = calls.iter().map(Vec::len).collect();
    assert_eq!(sizes, [100, 100, 50]);
    let mut named: Vec<usize> = calls.iter().flatten().copied().collect();
    named.sort_unstable();
    assert_eq!(named, (0..250).collect::<Vec<_>>(), "each input named once");
    fake.shutdown().await;
}
