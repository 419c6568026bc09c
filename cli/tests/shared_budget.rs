//! `--shared-budget` and `--budget-key`: CLI processes of one app keep one
//! rate-limit budget in Redis; a Redis out of reach at the start is a
//! configuration error that never shows its password. The test starts its
//! own `redis-server` on a free loopback port.

#[path = "../../tests/support/redis_server.rs"]
mod redis_server;
mod support;

use std::time::Duration;

use hubspot_fake::{FakeHubSpot, RateLimit};
use redis_server::RedisServer;
use support::{arg, dir, run_against, write};

/// `count` rows with distinct emails, numbered from `first`.
fn rows(first: usize, count: usize) -> String {
    let mut csv = String::from("email,firstname\n");
    for n in first..first + count {
        csv.push_str(&format!("user{n}@example.com,Ada\n"));
    }
    csv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_sharing_a_budget_get_no_429s() {
    let redis = RedisServer::start();
    let fake = FakeHubSpot::builder()
        .latency(Duration::from_millis(5))
        .rate_limit_spec(RateLimit::custom(20, Duration::from_secs(1)))
        .start()
        .await
        .unwrap();
    let dir = dir("shared-budget");
    let files = [
        write(&dir, "a.csv", rows(0, 200)),
        write(&dir, "b.csv", rows(1_000, 200)),
    ];
    let url = redis.url();
    // Both capped at the fake's limit and sharing one budget (the default
    // key: same base URL, same token), 20 requests each: two windows' worth.
    let args: Vec<[&str; 8]> = files
        .iter()
        .map(|file| {
            [
                "upsert",
                arg(file),
                "--batch-size",
                "10",
                "--rate-limit",
                "20/1s",
                "--shared-budget",
                &url,
            ]
        })
        .collect();
    let runs = args.iter().map(|args| run_against(&fake, args));
    for run in futures::future::join_all(runs).await {
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stderr.contains("429s 0"), "{}", run.stderr);
    }
    assert_eq!(fake.stats().rate_limited, 0);
    assert_eq!(fake.contacts().len(), 400);
}

#[tokio::test]
async fn an_unreachable_shared_budget_is_a_configuration_error() {
    let fake = support::fake().await;
    let dir = dir("shared-budget-unreachable");
    let file = write(&dir, "a.csv", rows(0, 3));
    let run = run_against(
        &fake,
        &[
            "upsert",
            arg(&file),
            "--shared-budget",
            "redis://:pa55word@127.0.0.1:1",
            "--budget-key",
            "app-1:portal-1",
        ],
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("unreachable"), "{}", run.stderr);
    assert!(!run.stderr.contains("pa55word"), "{}", run.stderr);
    assert!(fake.contacts().is_empty(), "nothing sent");
}

#[tokio::test]
async fn any_rate_limit_value_is_an_answer_never_a_panic() {
    let fake = support::fake().await;
    let dir = dir("shared-budget-rate-limit");
    let file = write(&dir, "a.csv", rows(0, 3));
    for value in [
        "5/9999999999999999999s",
        "0/1s",
        "1/0s",
        "99999999999/1s",
        "🚀",
    ] {
        let run = run_against(&fake, &["upsert", arg(&file), "--rate-limit", value]).await;
        assert_eq!(run.code, 2, "{value}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{value}: {}", run.stderr);
    }
}
