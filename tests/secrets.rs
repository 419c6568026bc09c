//! Secrets: the token never appears in `Debug`, `Display`, error messages or
//! tracing output, nor do an OAuth app's client secret, its refresh token or
//! the access tokens minted for it; a token is only sent over plain http to
//! loopback (the pure check is unit-tested in `src/client.rs`), and redirects
//! are never followed, so the token cannot reach another origin.
//!
//! A binary of its own: the tracing subscriber that captures everything is
//! process-wide, so that events from every thread are seen.

mod support;

use std::{
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use httpmock::MockServer;
use hubspot_contacts_batch::{
    ClientInfo, SdkError,
    batch::AbortCause,
    policy::{RateLimit, RetryPolicy},
    prelude::*,
    types,
};
use hubspot_fake::{FakeHubSpot, FaultSpec};
use support::{email, fake_and_client, quick_retries};
use tracing_subscriber::{filter, filter::LevelFilter, prelude::*};

/// 13 % of requests get a fault.
const FAULTS: &str =
    "429=0.03,500=0.02,503=0.02,reset-before=0.02,reset-after=0.02,timeout-after=0.02";

const SECRET: &str = "pat-na1-4f1c0de5-SECRET-must-never-leak";

/// Everything written by the tracing subscriber this test installs.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs, once, a process-wide subscriber writing every event at TRACE
/// level into a buffer, and returns the buffer.
fn capture_traces() -> Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let captured = Captured::default();
            let writer = captured.clone();
            // httpmock logs the requests it receives, token included: it
            // is the receiving end, as HubSpot would be, so its events are left out.
            let layer = tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .with_filter(filter::filter_fn(|meta| {
                    !meta.target().starts_with("httpmock")
                }))
                .with_filter(LevelFilter::TRACE);
            tracing_subscriber::registry().with(layer).init();
            captured
        })
        .clone()
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_never_appears_in_debug_display_errors_or_traces() {
    let captured = capture_traces();

    let mut shown: Vec<String> = Vec::new();
    let (fake, client) = fake_and_client(
        |fake| {
            fake.tokens([SECRET])
                .faults(FaultSpec::parse(FAULTS).expect("spec"))
                .timeout_after_hold(Duration::from_secs(30))
                .seed(5)
        },
        |client| {
            client
                .token(SECRET)
                .rate_limit(RateLimit::Unlimited)
                .retry_policy(quick_retries())
                .request_timeout(Duration::from_millis(300))
        },
    )
    .await;
    shown.push(format!("{client:?}"));
    shown.push(format!("{:?}", Client::builder().token(SECRET)));
    shown.push(format!("{:?}", client.inner()));

    // Batch runs through faults, with bad inputs, then their reports and outcomes.
    let upserts = (0..300).map(|i| {
        let address = if i % 50 == 7 {
            format!("broken-{i}")
        } else {
            email(i)
        };
        Upsert::by_email(address).set("firstname", "S")
    });
    let report = client
        .upsert_all(upserts)
        .send()
        .await
        .expect("not aborted");
    assert!(report.counts().failed >= 6, "the bad emails fail");
    let creates = (0..300).map(|i| Create::new().set("email", format!("s{i}@example.com")));
    let created = client
        .create_all(creates)
        .send()
        .await
        .expect("not aborted");
    for report in [&report, &created] {
        shown.push(format!("{report:?}"));
        for entry in &report.outcomes {
            shown.push(format!("{} {:?}", entry.outcome, entry));
        }
        if let Err(error) = report.clone().into_result() {
            shown.push(format!("{error} {error:?}"));
        }
    }
    assert!(
        created.stats.retries + report.stats.retries > 0,
        "faults were met"
    );

    // Errors of every kind from single calls.
    let mut calls: Vec<Result<(), hubspot_contacts_batch::Error<types::ErrorBody>>> = Vec::new();
    let bad: types::BatchUpsertRequest = serde_json::from_value(serde_json::json!({
        "inputs": [{"id": "x", "idProperty": "email", "properties": {"nope": "1"}}]
    }))
    .unwrap();
    calls.push(
        client
            .batch_upsert()
            .body(bad.clone())
            .send()
            .await
            .map(drop),
    );
    // HubSpot refusing the token (401).
    let other = FakeHubSpot::builder()
        .tokens(["someone-else"])
        .start()
        .await
        .expect("fake");
    let refused = Client::builder()
        .base_url(other.base_url())
        .token(SECRET)
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("client");
    calls.push(
        refused
            .batch_upsert()
            .body(bad.clone())
            .send()
            .await
            .map(drop),
    );
    // The batch helpers stop at the 401: the abort, its cause and its report
    // are shown too.
    let aborted = refused
        .upsert_all([Upsert::by_email("ada@example.com")])
        .send()
        .await
        .expect_err("a refused token stops the run");
    assert!(
        matches!(aborted.cause, AbortCause::Unauthorized(_)),
        "{aborted:?}"
    );
    shown.push(format!("{aborted} {aborted:?} {}", aborted.cause));
    // A connection refused: a port that was just free.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    };
    let nowhere = Client::builder()
        .base_url(format!("http://{closed}"))
        .token(SECRET)
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("client");
    calls.push(
        nowhere
            .batch_upsert()
            .body(bad.clone())
            .send()
            .await
            .map(drop),
    );
    // A timeout.
    let slow = FakeHubSpot::builder()
        .tokens([SECRET])
        .faults(FaultSpec::parse("timeout-after=1").expect("spec"))
        .timeout_after_hold(Duration::from_secs(5))
        .start()
        .await
        .expect("fake");
    let timing_out = Client::builder()
        .base_url(slow.base_url())
        .token(SECRET)
        .retry_policy(RetryPolicy::none())
        .request_timeout(Duration::from_millis(200))
        .build()
        .expect("client");
    calls.push(timing_out.batch_upsert().body(bad).send().await.map(drop));
    assert_eq!(calls.iter().filter(|call| call.is_err()).count(), 4);
    for call in calls {
        let error = call.expect_err("checked above");
        shown.push(format!("{error} {error:?}"));
        let sdk = SdkError::from(error);
        shown.push(format!("{sdk} {sdk:?}"));
    }

    // Configuration errors name the host, never the token.
    for builder in [
        Client::builder()
            .base_url("http://api.hubapi.com")
            .token(SECRET),
        Client::builder()
            .base_url("ftp://api.hubapi.com")
            .token(SECRET),
        Client::builder().token(format!("{SECRET}\u{7}bell")),
    ] {
        let error = builder.build().expect_err("refused");
        shown.push(format!("{error} {error:?}"));
    }
    let error = client
        .set_token(format!("{SECRET}\nsecond line"))
        .expect_err("refused");
    shown.push(format!("{error} {error:?}"));

    let traces = captured.text();
    assert!(
        traces.contains("hubspot.request") && traces.contains("attempt done"),
        "the subscriber captured the client's events: {}",
        &traces[..traces.len().min(2_000)]
    );
    shown.push(traces);
    for text in &shown {
        for needle in [SECRET, "SECRET-must-never-leak", "4f1c0de5"] {
            assert!(
                !text.contains(needle),
                "the token leaked: {}",
                &text[text.find(needle).unwrap().saturating_sub(200)..]
            );
        }
    }
    println!(
        "secrets: {} texts searched ({} bytes of traces), token absent",
        shown.len(),
        shown.last().map_or(0, String::len)
    );
    fake.shutdown().await;
    other.shutdown().await;
    slow.shutdown().await;
}

const CLIENT_SECRET: &str = "cs-9b7e-CLIENT-SECRET-must-never-leak";
const REFRESH_TOKEN: &str = "na1-77aa-REFRESH-TOKEN-must-never-leak";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_secrets_never_appear_in_debug_display_errors_or_traces() {
    let captured = capture_traces();
    let mut shown: Vec<String> = Vec::new();
    // Refresh tokens rotate (each new one starts with the configured one).
    let fake = FakeHubSpot::builder()
        .oauth_app("app-1", CLIENT_SECRET, REFRESH_TOKEN)
        .rotate_refresh_token(true)
        .faults(FaultSpec::parse(FAULTS).expect("spec"))
        .timeout_after_hold(Duration::from_secs(30))
        .seed(9)
        .start()
        .await
        .expect("fake");
    let builder = || {
        Client::builder()
            .base_url(fake.base_url())
            .oauth("app-1", CLIENT_SECRET, REFRESH_TOKEN)
            .rate_limit(RateLimit::Unlimited)
            .retry_policy(quick_retries())
            .request_timeout(Duration::from_millis(300))
    };
    shown.push(format!("{:?}", builder()));
    shown.push(format!(
        "{:?}",
        hubspot_contacts_batch::TokenSource::oauth("app-1", CLIENT_SECRET, REFRESH_TOKEN)
    ));
    let client = builder().build().expect("client");
    shown.push(format!("{client:?} {:?}", client.inner()));

    // Runs through faults, with a refresh after a 401 in between.
    for round in 0..2 {
        let upserts = (0..200).map(|i| Upsert::by_email(email(round * 1000 + i)));
        let report = client
            .upsert_all(upserts)
            .send()
            .await
            .expect("not aborted");
        shown.push(format!("{report:?}"));
        if let Err(error) = report.into_result() {
            shown.push(format!("{error} {error:?}"));
        }
        fake.expire_access_tokens();
    }
    assert!(fake.stats().token_refreshes >= 2, "{:?}", fake.stats());

    // The refresh token revoked: a refused refresh, as a single call's error
    // and as a batch's abort.
    fake.revoke_refresh_token();
    fake.expire_access_tokens();
    let single = client
        .batch_upsert()
        .body(types::BatchUpsertRequest::builder().inputs(Vec::new()))
        .send()
        .await
        .expect_err("refused");
    shown.push(format!("{single} {single:?}"));
    let sdk = SdkError::from(single);
    assert!(sdk.to_string().contains("re-authorise"), "{sdk}");
    shown.push(format!("{sdk} {sdk:?}"));
    let aborted = client
        .upsert_all([Upsert::by_email("ada@example.com")])
        .send()
        .await
        .expect_err("stopped");
    shown.push(format!("{aborted} {aborted:?} {}", aborted.cause));

    // A wrong client secret, and configuration errors.
    let wrong = Client::builder()
        .base_url(fake.base_url())
        .oauth("app-1", format!("{CLIENT_SECRET}-x"), REFRESH_TOKEN)
        .build()
        .expect("client");
    let aborted = wrong
        .upsert_all([Upsert::by_email("ada@example.com")])
        .send()
        .await
        .expect_err("stopped");
    shown.push(format!("{aborted} {aborted:?}"));
    for builder in [
        Client::builder().base_url("http://api.hubapi.com").oauth(
            "app-1",
            CLIENT_SECRET,
            REFRESH_TOKEN,
        ),
        Client::builder().oauth("app-1", CLIENT_SECRET, ""),
        Client::builder().oauth("", CLIENT_SECRET, REFRESH_TOKEN),
    ] {
        let error = builder.build().expect_err("refused");
        shown.push(format!("{error} {error:?}"));
    }
    let partial = hubspot_contacts_batch::TokenSource::from_vars(|name| {
        (name == "HUBSPOT_CLIENT_SECRET").then(|| CLIENT_SECRET.to_owned())
    })
    .expect_err("partial");
    shown.push(format!("{partial} {partial:?}"));

    let traces = captured.text();
    assert!(
        traces.contains("OAuth access token refreshed"),
        "the subscriber captured the refreshes"
    );
    shown.push(traces);
    let access_tokens = fake.access_tokens();
    assert!(access_tokens.len() >= 2);
    let mut needles: Vec<String> = vec![
        CLIENT_SECRET.into(),
        REFRESH_TOKEN.into(),
        "CLIENT-SECRET-must-never-leak".into(),
        "REFRESH-TOKEN-must-never-leak".into(),
    ];
    needles.extend(access_tokens);
    for text in &shown {
        for needle in &needles {
            assert!(
                !text.contains(needle.as_str()),
                "a secret leaked: {}",
                &text[text.find(needle.as_str()).unwrap().saturating_sub(200)..]
            );
        }
    }
    fake.shutdown().await;
}

/// Redirects are never followed, so a 3xx to another origin (another port on
/// loopback) cannot carry the token there.
#[tokio::test]
async fn redirects_are_never_followed_so_the_token_stays_home() {
    for status in [301u16, 302, 303, 307, 308] {
        let elsewhere = MockServer::start_async().await;
        let stolen = elsewhere
            .mock_async(|when, then| {
                when.any_request();
                then.status(200).body("{}");
            })
            .await;
        let home = MockServer::start_async().await;
        let redirect = home
            .mock_async(|when, then| {
                when.any_request();
                then.status(status).header(
                    "location",
                    elsewhere.url("/crm/v3/objects/contacts/batch/upsert"),
                );
            })
            .await;
        let client = Client::builder()
            .base_url(home.base_url())
            .token(SECRET)
            .rate_limit(RateLimit::Unlimited)
            .retry_policy(quick_retries().max_attempts(2))
            .build()
            .expect("client");
        let single = client
            .batch_upsert()
            .body(types::BatchUpsertRequest::builder().inputs(Vec::new()))
            .send()
            .await;
        assert!(single.is_err(), "{status}: a redirect is an error");
        let report = client
            .upsert_all([Upsert::by_email("ada@example.com")])
            .send()
            .await
            .expect("a redirect does not stop the run");
        assert!(
            !report.outcomes[0].outcome.is_success(),
            "{status}: {:?}",
            report.outcomes[0]
        );
        assert!(
            redirect.calls_async().await >= 2,
            "{status}: home was asked"
        );
        assert_eq!(
            stolen.calls_async().await,
            0,
            "{status}: the other origin received nothing"
        );
    }
}
