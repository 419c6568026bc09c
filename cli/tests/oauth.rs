//! `hubspot-contacts` with an OAuth app's three variables against a
//! hubspot-fake with short-lived access tokens: a run that outlives several
//! tokens, a refused refresh token (exit 3, saying to re-authorise), and a
//! partial set of the variables (exit 2, naming the missing ones).

mod support;

use std::fmt::Write as _;
use std::time::Duration;

use hubspot_fake::{FakeHubSpot, routes};
use support::{arg, dir, live_contacts, report, run, write};

const ID: &str = "cli-app";
const SECRET: &str = "cli-secret";
const REFRESH: &str = "na1-cli-refresh";

fn oauth_env(refresh: &str) -> Vec<(&'static str, String)> {
    vec![
        ("HUBSPOT_CLIENT_ID", ID.to_owned()),
        ("HUBSPOT_CLIENT_SECRET", SECRET.to_owned()),
        ("HUBSPOT_REFRESH_TOKEN", refresh.to_owned()),
    ]
}

fn upsert(file: &std::path::Path, fake: &FakeHubSpot, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = vec!["upsert".into(), arg(file).into(), "--base-url".into()];
    args.push(fake.base_url());
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

fn contacts_csv(rows: usize) -> String {
    let mut csv = String::from("email,firstname\n");
    for i in 0..rows {
        writeln!(csv, "oauth{i}@example.com,O{i}").unwrap();
    }
    csv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_rows_outlive_two_second_tokens() {
    let fake = FakeHubSpot::builder()
        .oauth_app(ID, SECRET, REFRESH)
        .access_token_ttl(Duration::from_secs(2))
        .latency(Duration::from_millis(100))
        .start()
        .await
        .unwrap();
    let dir = dir("oauth-sync");
    let input = write(&dir, "contacts.csv", contacts_csv(10_000));
    let report_path = dir.join("report.json");
    let args = upsert(
        &input,
        &fake,
        &["--concurrency", "2", "--report", arg(&report_path)],
    );
    let run = run(args, oauth_env(REFRESH)).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(live_contacts(&fake), 10_000);
    assert_eq!(report(&report_path).len(), 10_000);
    let stats = fake.stats();
    assert!(
        stats.token_refreshes >= 3,
        "first use and at least two refreshes: {stats:?}"
    );
    assert!(stats.unauthorized <= 1, "{stats:?}");
    assert_eq!(stats.count(routes::OAUTH_TOKEN, 400), 0);
    println!(
        "10,000 rows with 2-second tokens: {} token requests, {} 401s",
        stats.token_refreshes, stats.unauthorized
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_refresh_token_stops_the_run_with_exit_3() {
    let fake = FakeHubSpot::builder()
        .oauth_app(ID, SECRET, REFRESH)
        .start()
        .await
        .unwrap();
    let dir = dir("oauth-refused");
    let input = write(&dir, "contacts.csv", contacts_csv(500));
    let report_path = dir.join("report.json");
    // With the preflight, the first request (its read) stops the run.
    let preflighted = run(upsert(&input, &fake, &[]), oauth_env("na1-revoked")).await;
    assert_eq!(preflighted.code, 3, "{preflighted:?}");
    assert!(
        preflighted.stderr.contains("re-authorise the app"),
        "{}",
        preflighted.stderr
    );
    // Without it, the writes stop, and every row is reported.
    let args = upsert(
        &input,
        &fake,
        &["--report", arg(&report_path), "--no-preflight"],
    );
    let run = run(args, oauth_env("na1-revoked")).await;
    assert_eq!(run.code, 3, "{run:?}");
    // The summary's first line says why and what to do.
    let stopped = run
        .stderr
        .lines()
        .find(|line| line.starts_with("STOPPED"))
        .unwrap_or_else(|| panic!("{}", run.stderr));
    assert!(stopped.contains("re-authorise the app"), "{stopped}");
    assert!(stopped.contains("invalid_grant"), "{stopped}");
    assert!(!run.stderr.contains("na1-revoked") && !run.stderr.contains(SECRET));
    assert_eq!(report(&report_path).len(), 500, "one entry per row");
    let stats = fake.stats();
    assert_eq!(stats.count(routes::OAUTH_TOKEN, 400), 2, "one per run");
    assert_eq!(stats.unauthorized, 0, "no request went out without a token");
    assert_eq!(live_contacts(&fake), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn part_of_an_oauth_app_is_a_configuration_error() {
    let fake = FakeHubSpot::builder()
        .oauth_app(ID, SECRET, REFRESH)
        .start()
        .await
        .unwrap();
    let dir = dir("oauth-partial");
    let input = write(&dir, "contacts.csv", contacts_csv(1));
    let mut env = oauth_env(REFRESH);
    env.remove(1);
    let run = run(upsert(&input, &fake, &[]), env).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("HUBSPOT_CLIENT_SECRET is not set"),
        "{}",
        run.stderr
    );
    assert_eq!(fake.stats().requests, 0);

    let help = support::run(vec!["--help".into()], vec![]).await;
    assert!(
        help.stdout.contains("HUBSPOT_REFRESH_TOKEN"),
        "{}",
        help.stdout
    );
}
