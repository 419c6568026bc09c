//! Stopping a run with `until`: nothing more is sent, what was sent is
//! settled, and every input pulled keeps its one outcome.

mod support;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use hubspot_contacts_batch::{
    InputOutcome,
    policy::{RateLimit, RetryPolicy},
    prelude::*,
};
use hubspot_fake::FakeHubSpot;
use support::{assert_every_input_accounted, email, fake_and_client};

/// Resolves once `fake` has received `requests` requests.
async fn after_requests(fake: &FakeHubSpot, requests: u64) {
    while fake.stats().requests < requests {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn not_sent(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::NotSent { reason } if reason.contains("stopped before sending"))
}

#[tokio::test]
async fn a_stop_during_a_retry_wait_sends_nothing_more() {
    // Every request is throttled, and the client would wait a minute to retry.
    let (fake, client) = fake_and_client(
        |fake| {
            fake.faults(hubspot_fake::FaultSpec::parse("429=1").expect("spec"))
                .retry_after(false)
        },
        |client| {
            client
                .rate_limit(RateLimit::Unlimited)
                .retry_policy(RetryPolicy::default().ten_secondly_wait(Duration::from_secs(60)))
        },
    )
    .await;
    let started = Instant::now();
    let report = client
        .upsert_all((0..5).map(|i| Upsert::by_email(email(i))))
        .until(after_requests(&fake, 1))
        .send()
        .await
        .expect("a stop is not an abort");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the retry wait was cut short: {:?}",
        started.elapsed()
    );
    assert_every_input_accounted(&report.outcomes, 5);
    for outcome in &report.outcomes {
        assert!(not_sent(&outcome.outcome), "{}", outcome.outcome);
    }
    assert_eq!(report.stats.retries, 0, "no retry was sent");
    assert_eq!(fake.stats().requests, 1);
    assert!(fake.contacts().is_empty());
    fake.shutdown().await;
}

#[tokio::test]
async fn a_stop_keeps_waiting_requests_back_and_settles_the_one_sent() {
    // One request per 10 s: the first goes at once, the others wait.
    let (fake, client) = fake_and_client(
        |fake| fake,
        |client| client.rate_limit("1/10s".parse().expect("limit")),
    )
    .await;
    let started = Instant::now();
    let named = Arc::new(std::sync::Mutex::new(Vec::new()));
    let report = client
        .upsert_all((0..3).map(|i| Upsert::by_email(email(i))))
        .batch_size(1)
        .concurrency(3)
        .on_send({
            let named = Arc::clone(&named);
            move |indices| named.lock().unwrap().extend_from_slice(indices)
        })
        .until(after_requests(&fake, 1))
        .send()
        .await
        .expect("a stop is not an abort");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "no waiting for the limiter's next window: {:?}",
        started.elapsed()
    );
    assert_every_input_accounted(&report.outcomes, 3);
    let created: Vec<&InputOutcome> = report
        .outcomes
        .iter()
        .filter(|outcome| matches!(outcome.outcome, Outcome::Created { .. }))
        .collect();
    assert_eq!(created.len(), 1, "the request sent is settled: {report:?}");
    assert_eq!(
        *named.lock().unwrap(),
        [created[0].index],
        "on_send named the input sent, and only it"
    );
    let kept_back = report
        .outcomes
        .iter()
        .filter(|o| not_sent(&o.outcome))
        .count();
    assert_eq!(kept_back, 2);
    let stored = fake.contacts();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].properties["email"],
        email(created[0].index),
        "the one reported created is the one stored"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn endless_inputs_stop_being_pulled_and_each_pulled_one_has_an_outcome() {
    let (fake, client) = fake_and_client(
        |fake| fake,
        |client| client.rate_limit(RateLimit::Unlimited),
    )
    .await;
    let pulled = Arc::new(AtomicUsize::new(0));
    let inputs = (0..).map({
        let pulled = Arc::clone(&pulled);
        move |i| {
            pulled.fetch_add(1, Ordering::Relaxed);
            Upsert::by_email(email(i))
        }
    });
    let report = client
        .upsert_all(inputs)
        .batch_size(10)
        .until(after_requests(&fake, 20))
        .send()
        .await
        .expect("a stop is not an abort");
    let pulled = pulled.load(Ordering::Relaxed);
    assert_every_input_accounted(&report.outcomes, pulled);
    let stored = fake.contacts().len();
    let counts = report.counts();
    assert_eq!(counts.created as usize, stored, "created means stored");
    assert_eq!(
        stored
            + report
                .outcomes
                .iter()
                .filter(|o| not_sent(&o.outcome))
                .count(),
        pulled,
        "every input pulled was stored or kept back"
    );
    assert!(stored >= 200, "{stored}");
    fake.shutdown().await;
}
