//! The transport policy against hubspot-fake's faults and limits: retries,
//! create reconciliation, the daily limit, Retry-After and the limiter.

mod support;

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use hubspot_contacts_batch::{
    InputOutcome,
    batch::{AbortCause, OutcomeCounts},
    policy::{RateLimit, RetryPolicy},
    prelude::*,
    types,
};
use hubspot_fake::FakeHubSpot;
use support::{assert_every_input_accounted, email, fake_and_client, quick_retries};

/// The limiter tests measure time; they run one at a time, apart from the
/// CPU-heavy fault tests, so that scheduling delays do not skew them.
static LIMITER_TESTS: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

const FAULTS: &str =
    "429=0.03,500=0.02,503=0.02,reset-before=0.02,reset-after=0.02,timeout-after=0.02";

/// A fake with 13 % faults and a client that times out quickly, retries fast
/// and is not rate limited.
async fn faulty() -> (FakeHubSpot, Client) {
    fake_and_client(
        |fake| {
            fake.faults(hubspot_fake::FaultSpec::parse(FAULTS).expect("spec"))
                .timeout_after_hold(Duration::from_secs(30))
                .seed(11)
        },
        |client| {
            client
                .rate_limit(RateLimit::Unlimited)
                .retry_policy(quick_retries().max_attempts(12))
                // Long enough that a loaded machine's slow answer is not
                // taken for an injected hold (which lasts 30 s).
                .request_timeout(Duration::from_millis(1_500))
        },
    )
    .await
}

fn emails_in_store(fake: &FakeHubSpot) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for contact in fake.contacts() {
        *seen.entry(contact.properties["email"].clone()).or_insert(0) += 1;
    }
    seen
}

#[tokio::test]
async fn upserts_converge_to_the_expected_store_through_faults() {
    let _not_alongside_limiter_tests = LIMITER_TESTS.read().await;
    let (fake, client) = faulty().await;
    let inputs = (0..5_000).map(|i| Upsert::by_email(email(i)).set("firstname", "One"));
    let first = client
        .upsert_all(inputs)
        .concurrency(8)
        .send()
        .await
        .expect("not aborted");
    assert_every_input_accounted(&first.outcomes, 5_000);
    let again = (0..5_000).map(|i| Upsert::by_email(email(i)).set("firstname", format!("Two{i}")));
    let second = client
        .upsert_all(again)
        .concurrency(8)
        .send()
        .await
        .expect("not aborted");
    assert_every_input_accounted(&second.outcomes, 5_000);

    let stats = fake.stats();
    let injected: u64 = stats.faults.values().sum();
    assert!(
        injected * 10 >= stats.requests,
        "at least 10 % faults: {injected} of {}",
        stats.requests
    );
    assert!(second.stats.retries > 0);
    for report in [&first, &second] {
        let counts = report.counts();
        assert_eq!(
            counts.failed + counts.unknown,
            0,
            "{:?}",
            report.problems().next()
        );
    }
    let contacts = fake.contacts();
    assert_eq!(contacts.len(), 5_000);
    for contact in &contacts {
        let n: usize = contact.properties["email"]
            .trim_start_matches("user")
            .trim_end_matches("@example.com")
            .parse()
            .unwrap();
        assert_eq!(contact.properties["firstname"], format!("Two{n}"));
    }
    fake.shutdown().await;
}

#[tokio::test]
async fn creates_never_duplicate_and_every_input_is_accounted_for() {
    let _not_alongside_limiter_tests = LIMITER_TESTS.read().await;
    let (fake, client) = faulty().await;
    let inputs = (0..5_000).map(|i| Create::new().set("email", email(i)).set("firstname", "New"));
    let report = client
        .create_all(inputs)
        .concurrency(8)
        .send()
        .await
        .expect("not aborted");
    assert_every_input_accounted(&report.outcomes, 5_000);
    let counts = report.counts();
    assert_eq!(counts.created + counts.failed + counts.unknown, 5_000);
    assert!(
        report.stats.reconciled > 0,
        "faults after commit must have been reconciled"
    );

    let store = emails_in_store(&fake);
    assert!(
        store.values().all(|&copies| copies == 1),
        "no email stored twice"
    );
    // Every input reported created is stored, under the reported id.
    let ids: BTreeMap<String, String> = fake
        .contacts()
        .into_iter()
        .map(|c| (c.properties["email"].clone(), c.id))
        .collect();
    for entry in &report.outcomes {
        if let Outcome::Created { id } = &entry.outcome {
            assert_eq!(
                ids.get(&email(entry.index)),
                Some(id),
                "input {}",
                entry.index
            );
        }
    }
    // Nothing failed that the store holds, nothing stored that was not reported.
    assert_eq!(
        store.len() as u64,
        counts.created + stored_unknowns(&report.outcomes, &ids)
    );
    fake.shutdown().await;
}

fn stored_unknowns(outcomes: &[InputOutcome], stored: &BTreeMap<String, String>) -> u64 {
    outcomes
        .iter()
        .filter(|entry| matches!(entry.outcome, Outcome::Unknown { .. }))
        .filter(|entry| stored.contains_key(&email(entry.index)))
        .count() as u64
}

#[tokio::test]
async fn without_reconciliation_applied_creates_are_reported_unknown() {
    let (fake, client) = fake_and_client(
        |fake| fake.faults(hubspot_fake::FaultSpec::parse("reset-after=1").expect("spec")),
        |client| {
            client
                .rate_limit(RateLimit::Unlimited)
                .retry_policy(quick_retries())
        },
    )
    .await;
    let inputs = (0..10).map(|i| Create::new().set("email", email(i)));
    let report = client
        .create_all(inputs)
        .reconcile(false)
        .send()
        .await
        .expect("not aborted");
    assert_eq!(report.counts().unknown, 10);
    assert_eq!(
        report.stats.requests, 1,
        "a create that may have been applied is never resent"
    );
    assert_eq!(fake.contacts().len(), 10);
    fake.shutdown().await;
}

#[tokio::test]
async fn a_create_lost_after_commit_is_found_by_reading_back() {
    let (fake, client) = fake_and_client(
        |fake| {
            fake.faults(hubspot_fake::FaultSpec::parse("reset-after=0.5").expect("spec"))
                .seed(3)
        },
        |client| {
            client
                .rate_limit(RateLimit::Unlimited)
                .retry_policy(quick_retries())
        },
    )
    .await;
    let inputs = (0..300).map(|i| Create::new().set("email", email(i)));
    let report = client.create_all(inputs).send().await.expect("not aborted");
    let counts = report.counts();
    assert!(report.stats.reconciled > 0);
    assert_eq!(counts.created, 300, "{:?}", report.problems().next());
    assert_eq!(emails_in_store(&fake).len(), 300);
    fake.shutdown().await;
}

#[tokio::test]
async fn the_daily_limit_stops_without_retrying() {
    let (fake, client) = fake_and_client(
        |fake| fake.daily_limit(3),
        |client| client.retry_policy(quick_retries()),
    )
    .await;
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&pulled);
    let inputs = (0..1_000).map(move |i| {
        counter.fetch_add(1, Ordering::SeqCst);
        Upsert::by_email(email(i))
    });
    let concurrency = 1;
    let aborted = client
        .upsert_all(inputs)
        .concurrency(concurrency)
        .send()
        .await
        .expect_err("the daily limit stops the run");
    let AbortCause::DailyLimit(failure) = &aborted.cause else {
        panic!("{:?}", aborted.cause)
    };
    assert!(failure.message.contains("daily"), "{failure}");
    assert!(
        failure.message.contains("midnight"),
        "says when the budget resets: {failure}"
    );
    assert!(aborted.to_string().contains("daily"), "{aborted}");

    // The report holds every input pulled, in input order: the 300 the three
    // requests of the budget created, then the ones pulled but never sent.
    // The run pulled no more inputs than the chunks it had started.
    let report = &aborted.report;
    let outcomes = &report.outcomes;
    assert_every_input_accounted(outcomes, outcomes.len());
    assert_eq!(
        pulled.load(Ordering::SeqCst),
        outcomes.len(),
        "every input pulled is reported"
    );
    assert!(
        outcomes.len() > 300 && outcomes.len() <= 300 + (concurrency + 1) * 100,
        "{} inputs pulled",
        outcomes.len()
    );
    let counts = report.counts();
    assert_eq!(counts.created, 300);
    assert_eq!(counts.not_sent, outcomes.len() as u64 - 300);
    assert_eq!(counts.failed + counts.unknown, 0);
    for entry in &outcomes[300..] {
        let Outcome::NotSent { reason } = &entry.outcome else {
            panic!("{entry:?}")
        };
        assert!(reason.contains("daily"), "says why: {reason}");
    }
    // The third answer said Daily-Remaining 0: the client sent nothing more.
    assert_eq!(fake.stats().requests, 3);
    assert_eq!(fake.stats().rate_limited, 0);
    assert!(
        report.stats.requests <= 3 + concurrency as u64 + 1,
        "{} requests",
        report.stats.requests
    );
    assert_eq!(report.stats.retries, 0);

    // A direct generated call gets HubSpot's DAILY 429 as a typed error.
    let error = client
        .batch_archive()
        .body(types::BatchArchiveRequest::builder().inputs(Vec::new()))
        .send()
        .await
        .expect_err("daily limit");
    let hubspot_contacts_batch::Error::ErrorResponse(body) = error else {
        panic!("{error:?}")
    };
    assert_eq!(body.policy_name.as_deref(), Some("DAILY"));
    fake.shutdown().await;
}

#[tokio::test]
async fn retry_after_is_honoured() {
    // 2 requests per 10 s on the fake; the client starts unlimited and non-adaptive,
    // so only the 429's Retry-After can make it wait.
    let (fake, client) = fake_and_client(
        |fake| fake.rate_limit(2, Duration::from_secs(2)),
        |client| {
            client
                .rate_limit(RateLimit::Unlimited)
                .retry_policy(RetryPolicy::default().ten_secondly_wait(Duration::from_secs(60)))
        },
    )
    .await;
    let started = tokio::time::Instant::now();
    let report = client
        .upsert_all((0..300).map(|i| Upsert::by_email(email(i))))
        .concurrency(1)
        .send()
        .await
        .expect("not aborted");
    assert_eq!(report.counts().created, 300);
    assert_eq!(
        report.stats.rate_limited, 1,
        "one 429, then the wait it asked for"
    );
    // Retry-After is 2 s here; the fallback would have been 60 s.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited as told"
    );
    assert!(report.stats.waited >= Duration::from_secs(1));
    fake.shutdown().await;
}

#[tokio::test]
async fn the_adaptive_limiter_causes_no_429_after_the_first_window() {
    let _alone = LIMITER_TESTS.write().await;
    // HubSpot's 100/10 s and 190/10 s, compressed 10 times (and 5 times fewer requests).
    for (max, window) in [
        (20u32, Duration::from_secs(1)),
        (38, Duration::from_secs(1)),
    ] {
        let (fake, client) = fake_and_client(
            |fake| fake.rate_limit(max, window),
            // Starts at HubSpot's lowest plan and learns the portal's limit.
            |client| client.retry_policy(quick_retries()),
        )
        .await;
        let inputs = (0..6_000).map(|i| Upsert::by_email(email(i)));
        let report = client
            .upsert_all(inputs)
            .concurrency(8)
            .send()
            .await
            .expect("not aborted");
        let counts: OutcomeCounts = report.counts();
        assert_eq!(counts.created, 6_000);
        // Before the first answer the client may not know the window; after it, no 429s.
        assert!(
            fake.stats().rate_limited <= 8,
            "{max}/{window:?}: {} 429s",
            fake.stats().rate_limited
        );
        assert_eq!(report.stats.rate_limited, fake.stats().rate_limited);
        fake.shutdown().await;
    }
}

#[tokio::test]
async fn clones_share_one_rate_limit_budget() {
    let _alone = LIMITER_TESTS.write().await;
    // The fake (on the wall clock) refuses an 11th request within 2 s. The
    // client allows 10 per 2.5 s, shared by the two clones: the fake sees
    // 10 requests per ~2.55 s, half a second clear of its limit, so jitter
    // from a loaded machine (a request that reaches the fake late, the next
    // window's on time) cannot make it refuse one. Two budgets would send
    // 20 per 2.5 s, and the fake would refuse 10 of the first 20 at once.
    // Adaptation is off, or the client would adopt the fake's 10/2 s.
    let (fake, client) = fake_and_client(
        |fake| fake.rate_limit(10, Duration::from_secs(2)),
        |client| {
            client
                .rate_limit(RateLimit::custom(10, Duration::from_millis(2_500)))
                .adaptive_rate_limit(false)
                .retry_policy(quick_retries())
        },
    )
    .await;
    let other = client.clone();
    let one = client
        .upsert_all((0..1_500).map(|i| Upsert::by_email(email(i))))
        .send();
    let two = other
        .upsert_all((1_500..3_000).map(|i| Upsert::by_email(email(i))))
        .send();
    let (one, two) = tokio::join!(one, two);
    let (one, two) = (one.expect("not aborted"), two.expect("not aborted"));
    assert_eq!(one.counts().created + two.counts().created, 3_000);
    assert_eq!(fake.stats().requests, 30);
    let refused = fake.stats().rate_limited;
    assert_eq!(refused, 0, "one budget for both clones: {refused} 429s");
    fake.shutdown().await;
}

/// An upsert whose first answer is lost is sent again; the retry finds the
/// contacts its first attempt created and says `new: false`. They are still
/// reported created: this run made them.
#[tokio::test]
async fn an_upsert_whose_answer_was_lost_still_reports_what_it_created() {
    let (fake, client) = fake_and_client(
        |fake| {
            fake.faults(hubspot_fake::FaultSpec::parse("reset-after=0.5").expect("spec"))
                .seed(5)
        },
        |client| {
            client
                .rate_limit(RateLimit::Unlimited)
                .retry_policy(quick_retries().max_attempts(20))
        },
    )
    .await;
    let inputs = (0..300).map(|i| Upsert::by_email(email(i)).set("firstname", "New"));
    let report = client
        .upsert_all(inputs)
        .batch_size(10)
        .send()
        .await
        .expect("not aborted");
    assert!(report.stats.retries > 0, "some answers were lost");
    let counts = report.counts();
    assert_eq!(
        (counts.created, counts.updated),
        (300, 0),
        "{:?}",
        report.problems().next()
    );
    assert_eq!(emails_in_store(&fake).len(), 300);

    // The same contacts again, through the same faults: every one existed.
    let again = (0..300).map(|i| Upsert::by_email(email(i)).set("firstname", "Again"));
    let report = client
        .upsert_all(again)
        .batch_size(10)
        .send()
        .await
        .expect("not aborted");
    let counts = report.counts();
    assert_eq!((counts.created, counts.updated), (0, 300));
    fake.shutdown().await;
}

/// Answers lost, then 429s until the retries run out: what the lost attempt
/// may have written is never reported failed; it is read back, or unknown.
#[tokio::test]
async fn an_upsert_applied_then_throttled_is_unknown_never_failed() {
    let (fake, client) = fake_and_client(
        |fake| {
            fake.faults(hubspot_fake::FaultSpec::parse("reset-after=0.3,429=0.6").expect("spec"))
                .seed(9)
                .retry_after(false)
        },
        |client| {
            client.rate_limit(RateLimit::Unlimited).retry_policy(
                quick_retries()
                    .max_attempts(3)
                    .ten_secondly_wait(Duration::from_millis(5)),
            )
        },
    )
    .await;
    let inputs = (0..400).map(|i| Upsert::by_email(email(i)).set("firstname", "Kept"));
    let report = client
        .upsert_all(inputs)
        .batch_size(10)
        .send()
        .await
        .expect("not aborted");
    let stored = emails_in_store(&fake);
    let mut applied_then_refused = 0;
    for outcome in &report.outcomes {
        let address = email(outcome.index);
        match &outcome.outcome {
            Outcome::Failed(_) | Outcome::NotSent { .. } => assert!(
                !stored.contains_key(&address),
                "{address} is stored but reported {}",
                outcome.outcome
            ),
            Outcome::Unknown { reason } => {
                if reason.contains("may have been applied") {
                    applied_then_refused += 1;
                }
            }
            other => assert!(other.is_success(), "{address}: {other}"),
        }
    }
    assert!(
        applied_then_refused + report.stats.reconciled > 0,
        "the faults made some requests lose an answer, then run out of retries: \
         each such input is read back, or stays unknown"
    );
    fake.shutdown().await;
}

/// Every email twice, through 500s: the second create of an email never
/// claims the contact its first create made, however recent.
#[tokio::test]
async fn a_duplicate_create_in_doubt_never_claims_its_twins_contact() {
    let (fake, client) = fake_and_client(
        |fake| {
            fake.faults(hubspot_fake::FaultSpec::parse("500=0.3").expect("spec"))
                .seed(21)
        },
        |client| {
            client
                .rate_limit(RateLimit::Unlimited)
                .retry_policy(quick_retries())
        },
    )
    .await;
    let n = 300;
    let inputs = (0..2 * n).map(|i| Create::new().set("email", email(i % n)));
    let report = client.create_all(inputs).send().await.expect("not aborted");
    assert!(report.stats.reconciled > 0, "some creates were in doubt");
    let stored = emails_in_store(&fake);
    assert_eq!(stored.len(), n);
    assert!(stored.values().all(|&copies| copies == 1), "no duplicates");
    let mut created_by_email: BTreeMap<String, usize> = BTreeMap::new();
    for outcome in &report.outcomes {
        if let Outcome::Created { .. } = outcome.outcome {
            *created_by_email
                .entry(email(outcome.index % n))
                .or_default() += 1;
        }
    }
    assert_eq!(created_by_email.len(), n, "every email was created once");
    assert!(
        created_by_email.values().all(|&rows| rows == 1),
        "an email reported created twice: {:?}",
        created_by_email.iter().find(|(_, rows)| **rows > 1)
    );
    fake.shutdown().await;
}

/// Nothing listens: the run stops after the retry budget of the first
/// requests, pulls no more inputs, and says why.
#[tokio::test]
async fn an_unreachable_hubspot_stops_the_run_and_says_why() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let client = Client::builder()
        .base_url(format!("http://127.0.0.1:{port}"))
        .token(support::TOKEN)
        .rate_limit(RateLimit::Unlimited)
        .retry_policy(quick_retries())
        .build()
        .unwrap();
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&pulled);
    let inputs = (0..100_000).map(move |i| {
        counter.fetch_add(1, Ordering::Relaxed);
        Upsert::by_email(email(i))
    });
    let aborted = client
        .upsert_all(inputs)
        .concurrency(4)
        .send()
        .await
        .expect_err("nothing can be sent");
    let AbortCause::Unreachable(reason) = &aborted.cause else {
        panic!("{:?}", aborted.cause)
    };
    assert!(reason.contains("127.0.0.1"), "{reason}");
    assert!(
        reason.to_lowercase().contains("refused"),
        "the cause is named: {reason}"
    );
    let pulled = pulled.load(Ordering::Relaxed);
    assert_eq!(
        aborted.report.outcomes.len(),
        pulled,
        "every pulled input is reported"
    );
    assert!(
        pulled <= 6 * 100,
        "the run stopped pulling: {pulled} inputs pulled"
    );
    assert!(
        aborted
            .report
            .outcomes
            .iter()
            .all(|o| matches!(o.outcome, Outcome::NotSent { .. })),
        "nothing reached HubSpot"
    );
    assert!(aborted.to_string().contains("HubSpot could not be reached"));
}

/// HubSpot's headers ask for one request per two hours: the run does not
/// stall for hours, it stops after the request that brought them and says why.
#[tokio::test]
async fn unworkable_rate_limit_headers_stop_the_run_instead_of_stalling_it() {
    let (fake, client) = fake_and_client(
        |fake| fake.rate_limit(1, Duration::from_secs(2 * 60 * 60)),
        |client| client.rate_limit(RateLimit::FREE_STARTER),
    )
    .await;
    let inputs = (0..300).map(|i| Upsert::by_email(email(i)));
    let aborted = tokio::time::timeout(
        Duration::from_secs(30),
        client.upsert_all(inputs).concurrency(1).send(),
    )
    .await
    .expect("the run does not stall")
    .expect_err("the run stops");
    let AbortCause::UnworkableLimit(refusal) = &aborted.cause else {
        panic!("{:?}", aborted.cause)
    };
    assert!(
        refusal.message.contains("7200000 ms"),
        "{}",
        refusal.message
    );
    let counts = aborted.report.counts();
    assert_eq!(counts.created, 100, "the first request went through");
    assert_eq!(counts.not_sent, aborted.report.outcomes.len() as u64 - 100);
    assert_eq!(
        fake.stats().requests,
        1,
        "nothing was sent after the headers"
    );
    fake.shutdown().await;
}

/// 429s say nothing was applied: they spend the time budget, not the attempts
/// meant for transient failures, so two attempts survive a storm of them.
#[tokio::test]
async fn throttling_does_not_use_up_the_attempts() {
    let (fake, client) = fake_and_client(
        |fake| {
            fake.faults(hubspot_fake::FaultSpec::parse("429=0.6").expect("spec"))
                .seed(13)
                .retry_after(false)
        },
        |client| {
            client.rate_limit(RateLimit::Unlimited).retry_policy(
                quick_retries()
                    .max_attempts(2)
                    .ten_secondly_wait(Duration::from_millis(2)),
            )
        },
    )
    .await;
    let inputs = (0..2_000).map(|i| Upsert::by_email(email(i)));
    let report = client.upsert_all(inputs).send().await.expect("not aborted");
    assert!(report.stats.rate_limited > 10, "{:?}", report.stats);
    assert_eq!(
        report.counts().created,
        2_000,
        "{:?}",
        report.problems().next()
    );
    fake.shutdown().await;
}

/// Upserts and updates whose answers are lost and whose retries run out are
/// read back: each is reported created or updated as the store shows, never
/// left unknown when the read succeeds.
#[tokio::test]
async fn writes_in_doubt_are_read_back_and_reported_as_the_store_shows() {
    let (fake, client) = fake_and_client(
        |fake| {
            fake.faults(hubspot_fake::FaultSpec::parse("reset-after=0.4").expect("spec"))
                .seed(17)
        },
        // One attempt: every lost answer leaves its inputs in doubt.
        |client| {
            client
                .rate_limit(RateLimit::Unlimited)
                .retry_policy(RetryPolicy::none())
        },
    )
    .await;
    let inputs = (0..500).map(|i| Upsert::by_email(email(i)).set("firstname", "First"));
    let upserted = client
        .upsert_all(inputs)
        .batch_size(25)
        .send()
        .await
        .expect("not aborted");
    assert!(
        upserted.stats.reconciled > 0,
        "some answers were lost and read back"
    );
    let stored: BTreeMap<String, String> = fake
        .contacts()
        .into_iter()
        .map(|c| (c.properties["email"].clone(), c.id))
        .collect();
    for outcome in &upserted.outcomes {
        let address = email(outcome.index);
        match &outcome.outcome {
            Outcome::Created { id } => assert_eq!(stored.get(&address), Some(id), "{address}"),
            Outcome::Unknown { .. } => {}
            other => panic!("{address}: a new contact can only be created: {other}"),
        }
    }
    let ids: Vec<(usize, String)> = upserted
        .outcomes
        .iter()
        .filter_map(|o| Some((o.index, o.id()?.to_owned())))
        .collect();
    let updates = ids
        .iter()
        .map(|(_, id)| Update::by_id(id).set("lastname", "Second"));
    let updated = client
        .update_all(updates)
        .batch_size(25)
        .send()
        .await
        .expect("not aborted");
    let contacts = fake.contacts();
    for outcome in &updated.outcomes {
        match &outcome.outcome {
            Outcome::Updated { id } => {
                let contact = contacts.iter().find(|c| &c.id == id).expect("stored");
                assert_eq!(contact.properties["lastname"], "Second");
            }
            Outcome::Unknown { .. } => {}
            other => panic!("an existing contact can only be updated: {other}"),
        }
    }
    fake.shutdown().await;
}
