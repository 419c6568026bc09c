//! OAuth apps against hubspot-fake's token endpoint: access tokens fetched on
//! first use, refreshed before they expire and once after a 401, one refresh
//! for many requests, a refused refresh that stops a batch with a message
//! saying to re-authorise, and `Client::from_env` with the three variables.
//! (The pure parts, and expiry on a paused clock, are unit-tested in
//! `src/token.rs`.)

mod support;

use std::time::Duration;

use hubspot_contacts_batch::{
    Client, ClientBuilder, SdkError,
    batch::AbortCause,
    policy::RateLimit,
    prelude::*,
    token::{CATEGORY_OAUTH_CLIENT_INVALID, CATEGORY_REFRESH_TOKEN_INVALID},
    types,
};
use hubspot_fake::{FakeHubSpot, FakeHubSpotBuilder, routes};
use support::{assert_every_input_accounted, email, quick_retries};

const ID: &str = "client-7";
const SECRET: &str = "secret-7";
const REFRESH: &str = "na1-refresh-7";

async fn app(configure: impl FnOnce(FakeHubSpotBuilder) -> FakeHubSpotBuilder) -> FakeHubSpot {
    configure(
        FakeHubSpot::builder()
            .seed(11)
            .oauth_app(ID, SECRET, REFRESH),
    )
    .start()
    .await
    .expect("fake starts")
}

fn client_for(fake: &FakeHubSpot) -> ClientBuilder {
    Client::builder()
        .base_url(fake.base_url())
        .oauth(ID, SECRET, REFRESH)
        .rate_limit(RateLimit::Unlimited)
        .retry_policy(quick_retries())
}

fn one_upsert(n: usize) -> types::BatchUpsertRequest {
    serde_json::from_value(serde_json::json!({
        "inputs": [{"id": email(n), "idProperty": "email", "properties": {"firstname": "O"}}]
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_outlives_several_access_tokens() {
    // 1-second tokens, and a refresh token that changes with every refresh:
    // the run only lasts if the client refreshes and keeps the new one.
    let fake = app(|fake| {
        fake.access_token_ttl(Duration::from_secs(1))
            .rotate_refresh_token(true)
            .latency(Duration::from_millis(20))
    })
    .await;
    let client = client_for(&fake).build().unwrap();
    assert_eq!(fake.stats().requests, 0, "building sends nothing");
    let inputs: Vec<Upsert> = (0..3_000)
        .map(|i| Upsert::by_email(email(i)).set("firstname", "Ada"))
        .collect();
    let started = std::time::Instant::now();
    let report = client
        .upsert_all(inputs.clone())
        .batch_size(10)
        .concurrency(2)
        .send()
        .await
        .expect("not aborted");
    let elapsed = started.elapsed();
    assert_every_input_accounted(&report.outcomes, inputs.len());
    assert_eq!(report.counts().created, 3_000, "{:?}", report.counts());
    assert_eq!(fake.contacts().len(), 3_000);
    let stats = fake.stats();
    let lifetimes = elapsed.as_secs_f64().floor() as u64;
    assert!(
        lifetimes >= 3,
        "the run outlived several tokens: {elapsed:?}"
    );
    assert!(
        stats.token_refreshes > lifetimes,
        "{} refreshes in {elapsed:?}",
        stats.token_refreshes
    );
    assert_eq!(stats.count(routes::OAUTH_TOKEN, 400), 0, "never refused");
    assert!(
        stats.unauthorized <= 1,
        "refreshed before expiry: {} 401s",
        stats.unauthorized
    );
    println!(
        "oauth sync: 3,000 inputs in {elapsed:.1?}, {} refreshes, {} 401s",
        stats.token_refreshes, stats.unauthorized
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_share_one_refresh() {
    let fake = app(|fake| fake.latency(Duration::from_millis(50))).await;
    let client = client_for(&fake).build().unwrap();
    let calls = |round: usize| {
        let client = client.clone();
        futures::future::join_all((0..32).map(move |i| {
            let client = client.clone();
            async move {
                client
                    .batch_upsert()
                    .body(one_upsert(round * 100 + i))
                    .send()
                    .await
            }
        }))
    };
    let first = calls(0).await;
    assert!(first.iter().all(Result::is_ok), "{first:?}");
    assert_eq!(
        fake.stats().token_refreshes,
        1,
        "32 first uses, one refresh"
    );

    // Every token expires at once: the 401s share one refresh too.
    fake.expire_access_tokens();
    let second = calls(1).await;
    assert!(second.iter().all(Result::is_ok), "{second:?}");
    let stats = fake.stats();
    assert_eq!(stats.token_refreshes, 2, "{stats:?}");
    assert_eq!(stats.count(routes::OAUTH_TOKEN, 200), 2);
    assert!(
        stats.unauthorized >= 1 && stats.unauthorized <= 32,
        "{stats:?}"
    );
    assert_eq!(stats.count(routes::V3_UPSERT, 200), 64);
}

#[tokio::test]
async fn an_expired_token_gets_one_refresh_and_the_request_succeeds() {
    let fake = app(|fake| fake).await;
    let client = client_for(&fake).build().unwrap();
    client
        .batch_upsert()
        .body(one_upsert(1))
        .send()
        .await
        .expect("first");
    fake.expire_access_tokens();
    let response = client
        .batch_upsert()
        .body(one_upsert(2))
        .send()
        .await
        .expect("sent again with a fresh token");
    assert_eq!(response.status(), 200);
    let stats = fake.stats();
    assert_eq!(
        stats.count(routes::V3_UPSERT, 401),
        1,
        "one expired-token 401"
    );
    assert_eq!(stats.count(routes::V3_UPSERT, 200), 2);
    assert_eq!(stats.token_refreshes, 2, "first use, then after the 401");
    assert_eq!(fake.contacts().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_refresh_token_stops_the_batch_saying_to_reauthorise() {
    let concurrency = 4;
    let fake = app(|fake| {
        fake.access_token_ttl(Duration::from_secs(1))
            .latency(Duration::from_millis(20))
    })
    .await;
    let client = client_for(&fake).build().unwrap();
    client
        .batch_upsert()
        .body(one_upsert(0))
        .send()
        .await
        .expect("token minted");
    fake.revoke_refresh_token(); // the app was uninstalled
    let inputs: Vec<Upsert> = (0..3_000).map(|i| Upsert::by_email(email(i))).collect();
    let aborted = client
        .upsert_all(inputs.clone())
        .batch_size(10)
        .concurrency(concurrency)
        .send()
        .await
        .expect_err("the run stops once the token cannot be refreshed");
    let AbortCause::Unauthorized(refusal) = &aborted.cause else {
        panic!("{aborted:?}");
    };
    assert_eq!(
        refusal.category.as_deref(),
        Some(CATEGORY_REFRESH_TOKEN_INVALID)
    );
    let shown = aborted.to_string();
    assert!(shown.contains("re-authorise the app"), "{shown}");
    assert!(shown.contains("invalid_grant"), "{shown}");
    // One outcome for every input the run pulled, in order; it stopped pulling.
    let pulled = aborted.report.outcomes.len();
    assert_every_input_accounted(&aborted.report.outcomes, pulled);
    assert!(pulled < inputs.len(), "{pulled}");
    let counts = aborted.report.counts();
    assert!(
        counts.created > 0,
        "the token worked until it expired: {counts:?}"
    );
    assert!(counts.not_sent > 0, "{counts:?}");
    let stats = fake.stats();
    assert_eq!(
        stats.count(routes::OAUTH_TOKEN, 400),
        1,
        "a refusal is not asked again"
    );
    assert!(
        stats.unauthorized <= concurrency as u64 + 1,
        "at most concurrency + 1 refused requests: {}",
        stats.unauthorized
    );
    println!("revoked: {shown}");
}

#[tokio::test]
async fn wrong_credentials_are_refused_before_anything_is_sent() {
    let fake = app(|fake| fake).await;
    // A wrong refresh token: the single call gets the client's 401.
    let client = Client::builder()
        .base_url(fake.base_url())
        .oauth(ID, SECRET, "na1-wrong")
        .build()
        .unwrap();
    let error = SdkError::from(
        client
            .batch_upsert()
            .body(one_upsert(1))
            .send()
            .await
            .expect_err("refused"),
    );
    let SdkError::Api(api) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(api.status, 401);
    assert_eq!(api.category(), Some(CATEGORY_REFRESH_TOKEN_INVALID));
    assert!(
        error.to_string().contains("re-authorise the app"),
        "{error}"
    );
    let aborted = client
        .upsert_all([Upsert::by_email("a@example.com")])
        .send()
        .await
        .expect_err("stopped");
    assert!(matches!(aborted.cause, AbortCause::Unauthorized(_)));

    // A wrong client secret is a configuration error, and says so.
    let client = Client::builder()
        .base_url(fake.base_url())
        .oauth(ID, "not-the-secret", REFRESH)
        .build()
        .unwrap();
    let aborted = client
        .upsert_all([Upsert::by_email("a@example.com")])
        .send()
        .await
        .expect_err("stopped");
    let AbortCause::Unauthorized(refusal) = &aborted.cause else {
        panic!("{aborted:?}");
    };
    assert_eq!(
        refusal.category.as_deref(),
        Some(CATEGORY_OAUTH_CLIENT_INVALID)
    );
    assert!(aborted.to_string().contains("client secret"), "{aborted}");

    let stats = fake.stats();
    assert_eq!(
        stats.count(routes::OAUTH_TOKEN, 400),
        2,
        "one refusal per client"
    );
    assert_eq!(
        stats.count(routes::V3_UPSERT, 401),
        0,
        "nothing sent without a token"
    );
    assert!(fake.contacts().is_empty());
}

/// The environment is the process's: the real test runs this binary again
/// as a child with the variables set, instead of changing its own.
const CHILD: &str = "HUBSPOT_OAUTH_TEST_CHILD";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_env_reads_the_three_oauth_variables() {
    if let Ok(mode) = std::env::var(CHILD) {
        match Client::from_env() {
            Ok(client) if mode == "sync" => {
                let report = client
                    .upsert_all([Upsert::by_email("env@example.com")])
                    .send()
                    .await
                    .expect("not aborted");
                assert_eq!(report.counts().created, 1, "{report:?}");
            }
            Err(error) if mode == "partial" => {
                assert!(
                    error
                        .to_string()
                        .contains("HUBSPOT_REFRESH_TOKEN is not set"),
                    "{error}"
                );
            }
            other => panic!("{mode}: {other:?}"),
        }
        return;
    }
    let fake = app(|fake| fake).await;
    let child = |mode: &str, vars: &[(&str, &str)]| {
        let mut command = std::process::Command::new(std::env::current_exe().unwrap());
        command
            .args([
                "--exact",
                "from_env_reads_the_three_oauth_variables",
                "--nocapture",
            ])
            .env(CHILD, mode)
            .env("HUBSPOT_BASE_URL", fake.base_url())
            .env_remove("HUBSPOT_TOKEN")
            .env_remove("HUBSPOT_API_VERSION")
            .env_remove("HUBSPOT_CLIENT_ID")
            .env_remove("HUBSPOT_CLIENT_SECRET")
            .env_remove("HUBSPOT_REFRESH_TOKEN");
        for (name, value) in vars {
            command.env(name, value);
        }
        command.output().unwrap()
    };
    let synced = child(
        "sync",
        &[
            ("HUBSPOT_CLIENT_ID", ID),
            ("HUBSPOT_CLIENT_SECRET", SECRET),
            ("HUBSPOT_REFRESH_TOKEN", REFRESH),
        ],
    );
    assert!(synced.status.success(), "{synced:?}");
    assert!(
        String::from_utf8_lossy(&synced.stdout).contains("1 passed"),
        "the child ran the test: {synced:?}"
    );
    assert_eq!(fake.stats().token_refreshes, 1);
    assert_eq!(fake.contacts().len(), 1);
    let partial = child(
        "partial",
        &[("HUBSPOT_CLIENT_ID", ID), ("HUBSPOT_CLIENT_SECRET", SECRET)],
    );
    assert!(partial.status.success(), "{partial:?}");
}
