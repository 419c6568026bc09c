//! Reliability and security: a fault soak through upsert and create, a
//! sustained load of 64 requests in flight, the token kept out of every
//! printed or traced form, redirects never followed, hostile response bodies,
//! and property tests of the response parsers.
//!
//! The CI runs a small version of each; the full run is one command, whose
//! figures are in RELIABILITY.md:
//!
//! ```sh
//! cargo test --release --test reliability -- --ignored --nocapture
//! ```
//!
//! `RELIABILITY_SOAK_CONTACTS` (default 20,000) and `RELIABILITY_LOAD_SECS`
//! (default 60) size the full run; `PROPTEST_CASES` the property tests.

mod support;

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use httpmock::MockServer;
use hubspot_contacts_batch::{
    BatchReport,
    policy::{RateLimit, RetryPolicy},
    prelude::*,
    types,
};
use hubspot_fake::{FakeHubSpot, FaultSpec};
use proptest::prelude::*;
use support::{assert_every_input_accounted, email, fake_and_client, quick_retries};

/// 13 % of requests get a fault: throttling, server errors, and connections
/// lost before and after the request was applied.
const SOAK_FAULTS: &str =
    "429=0.03,500=0.02,503=0.02,reset-before=0.02,reset-after=0.02,timeout-after=0.02";

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------------------
// Fault soak
// ---------------------------------------------------------------------------

/// A fake with 13 % faults and a tight rolling limit (40 requests a second),
/// and a client that starts at HubSpot's lowest plan and learns the fake's
/// limit from its headers.
async fn soak_fake() -> (FakeHubSpot, Client) {
    fake_and_client(
        |fake| {
            fake.faults(FaultSpec::parse(SOAK_FAULTS).expect("spec"))
                .rate_limit(40, Duration::from_secs(1))
                .timeout_after_hold(Duration::from_secs(30))
                .seed(2024)
        },
        |client| {
            client
                .retry_policy(
                    quick_retries()
                        .max_attempts(12)
                        .max_elapsed(Duration::from_secs(600)),
                )
                .request_timeout(Duration::from_secs(1))
        },
    )
    .await
}

fn describe_faults(fake: &FakeHubSpot) -> String {
    let stats = fake.stats();
    format!(
        "{} requests, {} faults injected {:?}, {} refused by the rate limit",
        stats.requests,
        stats.faults_injected(),
        stats.faults,
        stats.rate_limited
    )
}

/// `n` upserts, a tenth of them repeating an earlier email in capitals with a
/// newer value: the store must end with each email once, holding its latest value.
async fn soak_upserts(n: usize) {
    let (fake, client) = soak_fake().await;
    let distinct = n - n / 10;
    let inputs = (0..n).map(move |i| {
        let key = i % distinct;
        let address = if i >= distinct {
            email(key).to_uppercase()
        } else {
            email(key)
        };
        Upsert::by_email(address)
            .set("firstname", format!("v{i}"))
            .set("lastname", "Soak")
    });
    let report = client
        .upsert_all(inputs)
        .concurrency(8)
        .send()
        .await
        .expect("not aborted");

    assert_every_input_accounted(&report.outcomes, n);
    let counts = report.counts();
    assert_eq!(
        counts.failed + counts.unknown,
        0,
        "every upsert lands: {:?}",
        report.problems().next()
    );
    assert_eq!(counts.created + counts.updated, n as u64);

    let contacts = fake.contacts();
    let mut by_email: BTreeMap<String, &hubspot_fake::StoredContact> = BTreeMap::new();
    for contact in &contacts {
        let address = contact.properties["email"].to_lowercase();
        assert!(
            by_email.insert(address.clone(), contact).is_none(),
            "{address} stored twice"
        );
    }
    assert_eq!(contacts.len(), distinct, "exactly the expected contacts");
    for key in 0..distinct {
        let latest = if key + distinct < n {
            key + distinct
        } else {
            key
        };
        let stored = by_email
            .get(&email(key))
            .unwrap_or_else(|| panic!("{} is missing", email(key)));
        assert_eq!(
            stored.properties["firstname"],
            format!("v{latest}"),
            "{}",
            email(key)
        );
    }
    for entry in &report.outcomes {
        let (Outcome::Created { id } | Outcome::Updated { id }) = &entry.outcome else {
            unreachable!("checked above")
        };
        let address = email(entry.index % distinct);
        assert_eq!(&by_email[&address].id, id, "input {}", entry.index);
    }
    let stats = fake.stats();
    assert!(
        stats.faults_injected() * 10 >= stats.requests,
        "at least 10 % faults: {}",
        describe_faults(&fake)
    );
    println!(
        "soak upsert: {n} inputs ({distinct} contacts), created {}, updated {}, failed 0, unknown 0; \
         client: {} requests, {} retries, {} 429s, waited {:?}; fake: {}",
        counts.created,
        counts.updated,
        report.stats.requests,
        report.stats.retries,
        report.stats.rate_limited,
        report.stats.waited,
        describe_faults(&fake)
    );
    fake.shutdown().await;
}

/// `n` creates: no email may be stored twice, every input reported created
/// is stored under the reported id, and each unknown is explained and looked
/// up in the store.
async fn soak_creates(n: usize) {
    let (fake, client) = soak_fake().await;
    let address = |i: usize| format!("create{i}@example.com");
    let inputs = (0..n).map(move |i| {
        Create::new()
            .set("email", address(i))
            .set("firstname", format!("c{i}"))
    });
    let report = client
        .create_all(inputs)
        .concurrency(8)
        .send()
        .await
        .expect("not aborted");

    assert_every_input_accounted(&report.outcomes, n);
    let counts = report.counts();
    assert_eq!(
        counts.failed,
        0,
        "no create fails: {:?}",
        report.problems().next()
    );
    let mut stored: BTreeMap<String, String> = BTreeMap::new();
    for contact in fake.contacts() {
        let email = contact.properties["email"].clone();
        assert_eq!(
            contact.properties["firstname"],
            format!("c{}", &email[6..email.find('@').unwrap()])
        );
        assert!(
            stored.insert(email.clone(), contact.id).is_none(),
            "{email} stored twice"
        );
    }
    let mut unknown_stored = 0u64;
    let mut lost = 0u64;
    for entry in &report.outcomes {
        let key = address(entry.index);
        match &entry.outcome {
            Outcome::Created { id } => {
                assert_eq!(stored.get(&key), Some(id), "input {}", entry.index)
            }
            Outcome::Unknown { reason } => {
                assert!(!reason.is_empty(), "an unknown says why");
                if stored.contains_key(&key) {
                    unknown_stored += 1;
                } else {
                    lost += 1;
                }
            }
            other => panic!("input {}: {other:?}", entry.index),
        }
    }
    assert_eq!(
        stored.len() as u64,
        counts.created + unknown_stored,
        "nothing stored that the report does not account for"
    );
    assert!(
        report.stats.reconciled > 0,
        "creates lost after commit were read back"
    );
    println!(
        "soak create: {n} inputs, created {}, failed 0, unknown {} ({unknown_stored} of them stored, \
         {lost} not stored: to resend), reconciled {}; client: {} requests, {} retries, {} 429s; \
         fake: {}",
        counts.created,
        counts.unknown,
        report.stats.reconciled,
        report.stats.requests,
        report.stats.retries,
        report.stats.rate_limited,
        describe_faults(&fake)
    );
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_soak_upsert() {
    soak_upserts(2_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_soak_create() {
    soak_creates(2_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the full soak: cargo test --release --test reliability -- --ignored"]
async fn full_fault_soak_upsert() {
    soak_upserts(env_or("RELIABILITY_SOAK_CONTACTS", 20_000) as usize).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the full soak: cargo test --release --test reliability -- --ignored"]
async fn full_fault_soak_create() {
    soak_creates(env_or("RELIABILITY_SOAK_CONTACTS", 20_000) as usize).await;
}

// ---------------------------------------------------------------------------
// Load: 64 requests in flight
// ---------------------------------------------------------------------------

const IN_FLIGHT: usize = 64;
const KEYS_PER_TASK: usize = 20;
/// The fake keeps 20 versions per property: after this many rounds every
/// contact's history is full and the store stops growing.
const WARM_UP_ROUNDS: u64 = 22;

/// This process's resident set, in KiB (Linux only).
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

#[derive(Default)]
struct LoadCounters {
    ok: AtomicU64,
    errors: AtomicU64,
    in_flight: AtomicU64,
    peak_in_flight: AtomicU64,
    first_error: Mutex<Option<String>>,
}

/// 64 tasks each keep one batch upsert in flight, each over its own 20
/// contacts, through the generated client and the transport policy, for
/// `measured` after the fake's histories are full. Every answer must be a 200
/// with every input; the process RSS is sampled throughout.
async fn sustained_load(measured: Duration) {
    let fake = FakeHubSpot::builder().seed(9).start().await.expect("fake");
    let client = Client::builder()
        .base_url(fake.base_url())
        .token(support::TOKEN)
        .rate_limit(RateLimit::Unlimited)
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("client");
    let counters = Arc::new(LoadCounters::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for task in 0..IN_FLIGHT {
        let (client, counters, stop) = (client.clone(), counters.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut round = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let inputs = (0..KEYS_PER_TASK)
                    .map(|k| {
                        types::UpsertInput::builder()
                            .id(email(task * KEYS_PER_TASK + k))
                            .id_property(Some("email".to_owned()))
                            .properties(types::PropertyValues(
                                [("firstname".to_owned(), format!("r{round}"))].into(),
                            ))
                            .try_into()
                            .unwrap()
                    })
                    .collect::<Vec<types::UpsertInput>>();
                let now = counters.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                counters.peak_in_flight.fetch_max(now, Ordering::SeqCst);
                let answer = client
                    .batch_upsert()
                    .body(types::BatchUpsertRequest::builder().inputs(inputs))
                    .send()
                    .await;
                counters.in_flight.fetch_sub(1, Ordering::SeqCst);
                match answer {
                    Ok(response)
                        if response.status() == 200 && response.results.len() == KEYS_PER_TASK =>
                    {
                        counters.ok.fetch_add(1, Ordering::Relaxed);
                    }
                    other => {
                        counters.errors.fetch_add(1, Ordering::Relaxed);
                        let mut first = counters.first_error.lock().unwrap();
                        first.get_or_insert_with(|| format!("{other:?}"));
                    }
                }
                round += 1;
            }
        }));
    }

    let warm = WARM_UP_ROUNDS * IN_FLIGHT as u64;
    while counters.ok.load(Ordering::Relaxed) + counters.errors.load(Ordering::Relaxed) < warm {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = counters.ok.load(Ordering::Relaxed);
    let started = std::time::Instant::now();
    let mut samples = Vec::new();
    while started.elapsed() < measured {
        samples.extend(rss_kib());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let during = counters.ok.load(Ordering::Relaxed) - before;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("load task");
    }

    let errors = counters.errors.load(Ordering::Relaxed);
    assert_eq!(
        errors,
        0,
        "first error: {:?}",
        counters.first_error.lock().unwrap()
    );
    assert_eq!(
        counters.peak_in_flight.load(Ordering::SeqCst),
        IN_FLIGHT as u64,
        "64 requests were in flight at once"
    );
    let ok = counters.ok.load(Ordering::Relaxed);
    assert_eq!(
        fake.stats().count_status(200),
        ok,
        "the fake answered each one"
    );
    assert_eq!(fake.contacts().len(), IN_FLIGHT * KEYS_PER_TASK);
    assert!(during > 0, "requests completed while measuring");
    if samples.len() >= 4 {
        let half = samples.len() / 2;
        let early = *samples[..half].iter().max().expect("samples");
        let late = *samples[half..].iter().max().expect("samples");
        // Allocator slack and thread stacks move RSS a little; a leak per
        // request (thousands of them here) would move it a lot more.
        assert!(
            late <= early + early / 2 + 32 * 1024,
            "RSS grew from {early} KiB to {late} KiB: {samples:?}"
        );
        println!(
            "load: {IN_FLIGHT} in flight, {ok} requests ({during} in {:.1} s measured, {:.0}/s), \
             0 errors; RSS first half max {} MiB, second half max {} MiB, {} samples",
            measured.as_secs_f64(),
            during as f64 / measured.as_secs_f64(),
            early / 1024,
            late / 1024,
            samples.len()
        );
    }
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_in_flight_without_errors_or_memory_growth() {
    sustained_load(Duration::from_secs(3)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the full load: cargo test --release --test reliability -- --ignored"]
async fn full_sustained_load() {
    sustained_load(Duration::from_secs(env_or("RELIABILITY_LOAD_SECS", 60))).await;
}

// ---------------------------------------------------------------------------
// Hostile response bodies
// ---------------------------------------------------------------------------

struct Hostile {
    name: &'static str,
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    /// Whether a single call may succeed (the body is a valid answer with
    /// nothing in it); the batch helpers must still not report success.
    parses: bool,
}

fn hostile_bodies() -> Vec<Hostile> {
    let json = "application/json";
    let valid = br#"{"status":"COMPLETE","results":[{"id":"1","properties":{"email":"a@example.com"},"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z","archived":false,"new":true}],"startedAt":"2026-01-01T00:00:00Z","completedAt":"2026-01-01T00:00:00Z"}"#;
    let mut ten_megabytes = br#"{"status":"COMPLETE","results":["#.to_vec();
    while ten_megabytes.len() < 10 * 1024 * 1024 {
        ten_megabytes.extend_from_slice(br#""not a contact","#);
    }
    ten_megabytes.extend_from_slice(
        br#""end"],"startedAt":"2026-01-01T00:00:00Z","completedAt":"2026-01-01T00:00:00Z"}"#,
    );
    let mut padded = br#"{"status":"COMPLETE","results":[],"startedAt":"2026-01-01T00:00:00Z","completedAt":"2026-01-01T00:00:00Z","padding":""#.to_vec();
    padded.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    padded.extend_from_slice(b"\"}");
    let mut deep = br#"{"status":"COMPLETE","results":"#.to_vec();
    deep.extend(std::iter::repeat_n(b'[', 200_000));
    vec![
        Hostile { name: "truncated JSON", status: 200, content_type: json, body: valid[..valid.len() / 2].to_vec(), parses: false },
        Hostile { name: "empty 200", status: 200, content_type: json, body: vec![], parses: false },
        Hostile { name: "10 MB of wrong-typed results", status: 200, content_type: json, body: ten_megabytes, parses: false },
        Hostile { name: "10 MB valid answer with no results", status: 200, content_type: json, body: padded, parses: true },
        Hostile { name: "200,000 levels of nesting", status: 200, content_type: json, body: deep, parses: false },
        Hostile { name: "HTML 502 from a proxy", status: 502, content_type: "text/html", body: b"<html><body><h1>502 Bad Gateway</h1></body></html>".to_vec(), parses: false },
        Hostile { name: "wrong types", status: 200, content_type: json, body: br#"{"status":7,"results":{"id":1},"startedAt":false,"completedAt":[]}"#.to_vec(), parses: false },
        Hostile { name: "results of the wrong shape", status: 200, content_type: json, body: br#"{"status":"COMPLETE","results":[{"id":1,"properties":["email"],"new":"yes"}],"startedAt":"2026-01-01T00:00:00Z","completedAt":"2026-01-01T00:00:00Z"}"#.to_vec(), parses: false },
        Hostile { name: "invalid UTF-8", status: 200, content_type: json, body: b"{\"status\":\"\xff\xfe\",\"results\":[]}".to_vec(), parses: false },
        Hostile { name: "JSON answer as text/plain", status: 200, content_type: "text/plain", body: b"not json at all".to_vec(), parses: false },
        Hostile { name: "error body that is not HubSpot's", status: 400, content_type: json, body: br#"{"oops":true}"#.to_vec(), parses: false },
        Hostile { name: "error status with an empty body", status: 400, content_type: json, body: vec![], parses: false },
        Hostile { name: "unexpected status", status: 418, content_type: json, body: br#"{"message":"teapot"}"#.to_vec(), parses: false },
    ]
}

async fn hostile_server(status: u16, content_type: &str, body: &[u8]) -> (MockServer, Client) {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.any_request();
            then.status(status)
                .header("content-type", content_type)
                .body(body);
        })
        .await;
    let client = Client::builder()
        .base_url(server.base_url())
        .token(support::TOKEN)
        .rate_limit(RateLimit::Unlimited)
        .retry_policy(quick_retries().max_attempts(2))
        .request_timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    (server, client)
}

fn three_upserts() -> Vec<Upsert> {
    (0..3).map(|i| Upsert::by_email(email(i))).collect()
}

fn assert_nothing_succeeded(name: &str, report: &BatchReport, inputs: usize) {
    assert_every_input_accounted(&report.outcomes, inputs);
    for entry in &report.outcomes {
        assert!(
            matches!(entry.outcome, Outcome::Failed(_) | Outcome::Unknown { .. }),
            "{name}: {:?}",
            entry.outcome
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_response_bodies_give_typed_errors_and_unsuccessful_outcomes() {
    for case in hostile_bodies() {
        let (_server, client) = hostile_server(case.status, case.content_type, &case.body).await;
        let single = client
            .batch_upsert()
            .body(types::BatchUpsertRequest::builder().inputs(Vec::new()))
            .send()
            .await;
        match (&single, case.parses) {
            (Ok(answer), true) => assert!(answer.results.is_empty(), "{}", case.name),
            (Err(error), false) => {
                // A typed error that says something.
                assert!(!error.to_string().is_empty(), "{}", case.name);
            }
            (other, _) => panic!("{}: {other:?}", case.name),
        }
        let create = client
            .batch_create()
            .body(types::BatchCreateRequest::builder().inputs(Vec::new()))
            .send()
            .await;
        assert_eq!(create.is_ok(), case.parses, "{}: {create:?}", case.name);

        let upserted = client
            .upsert_all(three_upserts())
            .send()
            .await
            .expect("not aborted");
        assert_nothing_succeeded(case.name, &upserted, 3);
        let created = client
            .create_all((0..3).map(|i| Create::new().set("email", email(i))))
            .reconcile(false)
            .send()
            .await
            .expect("not aborted");
        assert_nothing_succeeded(case.name, &created, 3);
    }
}

/// A server that never answers is cut off by the request timeout.
#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).delay(Duration::from_secs(30)).body("{}");
        })
        .await;
    let client = Client::builder()
        .base_url(server.base_url())
        .token(support::TOKEN)
        .rate_limit(RateLimit::Unlimited)
        .retry_policy(RetryPolicy::none())
        .request_timeout(Duration::from_millis(200))
        .build()
        .expect("client");
    let error = client
        .batch_upsert()
        .body(types::BatchUpsertRequest::builder().inputs(Vec::new()))
        .send()
        .await
        .expect_err("timed out");
    assert!(
        matches!(&error, hubspot_contacts_batch::Error::CommunicationError(e) if e.is_timeout()),
        "{error:?}"
    );
    let report = client
        .upsert_all(three_upserts())
        .send()
        .await
        .expect("not aborted");
    assert_nothing_succeeded("never answers", &report, 3);
    assert!(
        report
            .outcomes
            .iter()
            .all(|entry| matches!(entry.outcome, Outcome::Unknown { .. })),
        "an unanswered upsert's fate is unknown: {:?}",
        report.outcomes
    );
}

// ---------------------------------------------------------------------------
// Property tests of response parsing
// ---------------------------------------------------------------------------

const SAMPLE_ANSWERS: [&str; 4] = [
    r#"{"status":"COMPLETE","results":[{"id":"1","properties":{"email":"a@example.com","firstname":null},"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00.123Z","archived":false,"new":true,"objectWriteTraceId":"hcb-0"}],"errors":[{"status":"error","category":"VALIDATION_ERROR","message":"m","context":{"objectWriteTraceId":["hcb-1"]},"errors":[{"message":"d","code":"INVALID_EMAIL","context":{"propertyName":["email"]}}]}],"numErrors":1,"startedAt":"2026-01-01T00:00:00Z","completedAt":"2026-01-01T00:00:00Z"}"#,
    r#"{"status":"error","message":"Property values were not valid","correlationId":"c0a8","category":"VALIDATION_ERROR","context":{"ids":["1","2"]},"errors":[{"message":"x","code":"PROPERTY_DOESNT_EXIST"}]}"#,
    r#"{"status":"error","message":"You have reached your ten_secondly_rolling limit.","errorType":"RATE_LIMIT","correlationId":"c","policyName":"TEN_SECONDLY_ROLLING"}"#,
    r#"{"status":"error","message":"Errors found processing batch update","correlationId":"c","invalidEmails":["bad@"],"failureMessages":[{"index":0,"propertyValidationResult":{"isValid":false,"message":"m","error":"INVALID_EMAIL","name":"email"}},{"index":1,"error":{"status":"error","message":"m"}}]}"#,
];

/// Parses `bytes` as every answer type the client reads; none may panic.
fn parse_everything(bytes: &[u8]) -> usize {
    let mut parsed = 0;
    parsed += usize::from(serde_json::from_slice::<types::BatchUpsertResponse>(bytes).is_ok());
    parsed += usize::from(serde_json::from_slice::<types::BatchContactsResponse>(bytes).is_ok());
    parsed += usize::from(serde_json::from_slice::<types::ErrorBody>(bytes).is_ok());
    parsed += usize::from(serde_json::from_slice::<types::V1Contact>(bytes).is_ok());
    if let Ok(error) = serde_json::from_slice::<types::ErrorBody>(bytes) {
        // Display is what users and logs see.
        let _ = error.to_string();
    }
    parsed
}

/// An edit of a valid answer: overwrite, insert or delete one byte.
fn mutate(mut body: Vec<u8>, edits: &[(prop::sample::Index, u8, u8)]) -> Vec<u8> {
    for (at, byte, kind) in edits {
        if body.is_empty() {
            body.push(*byte);
            continue;
        }
        let at = at.index(body.len());
        match kind % 3 {
            0 => body[at] = *byte,
            1 => body.insert(at, *byte),
            _ => {
                body.remove(at);
            }
        }
    }
    body
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_the_parsers(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        parse_everything(&bytes);
    }

    #[test]
    fn mutated_answers_never_panic_the_parsers(
        sample in 0..SAMPLE_ANSWERS.len(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), any::<u8>()), 1..12),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut body = mutate(SAMPLE_ANSWERS[sample].as_bytes().to_vec(), &edits);
        if truncate && !body.is_empty() {
            body.truncate(cut.index(body.len()));
        }
        parse_everything(&body);
    }
}

#[test]
fn the_sample_answers_parse() {
    // Without this, the mutation test could be mutating bodies that never parsed.
    assert!(
        serde_json::from_slice::<types::BatchUpsertResponse>(SAMPLE_ANSWERS[0].as_bytes()).is_ok()
    );
    for sample in &SAMPLE_ANSWERS[1..] {
        assert!(
            serde_json::from_slice::<types::ErrorBody>(sample.as_bytes()).is_ok(),
            "{sample}"
        );
    }
}
