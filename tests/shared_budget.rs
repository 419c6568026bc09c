//! The shared budget in Redis (feature `redis`): several clients of one app,
//! each with its own limiter as if in its own process, keep one rolling
//! window between them; Redis going away mid-run never stops a run. Each
//! test starts its own `redis-server` on a free loopback port and uses a key
//! of its own: a client whose Redis died reconnects to the same port, which
//! another test's Redis may have taken since.

#[path = "support/redis_server.rs"]
mod redis_server;
mod support;

use std::time::Duration;

use futures::StreamExt;
use hubspot_contacts_batch::{
    Client, ContactsBatchExt, SdkError, Upsert, batch::BatchStats, policy::RateLimit,
};
use hubspot_fake::FakeHubSpot;
use redis_server::RedisServer;
use support::TOKEN;

const SEC: Duration = Duration::from_secs(1);

/// A fake allowing `limit`, 10 ms away.
async fn fake(limit: RateLimit) -> FakeHubSpot {
    FakeHubSpot::builder()
        .seed(7)
        .latency(Duration::from_millis(10))
        .rate_limit_spec(limit)
        .start()
        .await
        .expect("fake starts")
}

/// A client of its own (its own limiter, as a separate process would have)
/// capped at `limit` and sharing the budget `key` in the Redis at `url`.
fn worker(fake: &FakeHubSpot, limit: RateLimit, url: &str, key: &str) -> Client {
    Client::builder()
        .base_url(fake.base_url())
        .token(TOKEN)
        .rate_limit(limit)
        .shared_budget(url, key)
        .build()
        .expect("Redis answers")
}

/// `count` upserts by email, numbered from `first`, one per request.
fn upserts(first: usize, count: usize) -> Vec<Upsert> {
    (first..first + count)
        .map(|n| Upsert::by_email(support::email(n)).set("firstname", "Ada"))
        .collect()
}

async fn run(client: Client, inputs: Vec<Upsert>) -> BatchStats {
    let report = client
        .upsert_all(inputs)
        .batch_size(1)
        .concurrency(4)
        .send()
        .await
        .expect("the run completes");
    assert!(report.problems().next().is_none(), "every input succeeds");
    report.stats
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_sharing_a_budget_get_no_429s() {
    let redis = RedisServer::start();
    // Three workers of 20 requests each against 20 per second: three
    // windows of work for one window's budget.
    let limit = RateLimit::custom(20, SEC);
    let fake = fake(limit).await;
    let runs: Vec<_> = (0..3)
        .map(|i| {
            let client = worker(&fake, limit, &redis.url(), "no-429s:portal-1");
            tokio::spawn(run(client, upserts(i * 100, 20)))
        })
        .collect();
    let mut requests = 0;
    for handle in runs {
        let stats = handle.await.expect("the worker's task");
        assert_eq!(stats.rate_limited, 0, "{stats:?}");
        assert_eq!(stats.shared_budget_fallbacks, 0, "{stats:?}");
        requests += stats.requests;
    }
    assert_eq!(requests, 60);
    let stats = fake.stats();
    assert_eq!(stats.rate_limited, 0, "the fake refused none");
    assert_eq!(fake.contacts().len(), 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_starting_late_keeps_to_the_quota_hubspot_announced_to_the_others() {
    let redis = RedisServer::start();
    let fake = fake(RateLimit::custom(10, SEC)).await;
    // Neither is capped: each starts from the 100-per-10-s preset, and
    // learns the real 10 per second from HubSpot's headers.
    let adaptive = || {
        Client::builder()
            .base_url(fake.base_url())
            .token(TOKEN)
            .shared_budget(redis.url(), "late-start:portal-1")
            .build()
            .expect("Redis answers")
    };
    let first = run(adaptive(), upserts(0, 10)).await;
    // The first window is full of the first worker's requests; a second
    // worker that has had no answer yet must not spend its preset of 100.
    let late = run(adaptive(), upserts(100, 10)).await;
    assert_eq!(
        first.rate_limited + late.rate_limited,
        0,
        "{first:?} {late:?}"
    );
    assert_eq!(fake.stats().rate_limited, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_completes_when_redis_dies_mid_run() {
    let mut redis = RedisServer::start();
    let limit = RateLimit::custom(20, SEC);
    let fake = fake(limit).await;
    let other = worker(&fake, limit, &redis.url(), "redis-dies:portal-1");
    let other = tokio::spawn(run(other, upserts(1_000, 30)));
    let client = worker(&fake, limit, &redis.url(), "redis-dies:portal-1");
    let mut outcomes = client
        .upsert_all(upserts(0, 30))
        .batch_size(1)
        .concurrency(4)
        .stream();
    let mut settled = 0;
    while let Some(item) = outcomes.next().await {
        let outcome = item.expect("the run never stops");
        assert!(outcome.outcome.is_success(), "{outcome}");
        settled += 1;
        if settled == 10 {
            redis.kill();
        }
    }
    assert_eq!(settled, 30);
    let stats = outcomes.stats();
    // At most 4 requests were in flight when Redis died; the rest were
    // admitted by the client's own limiter.
    assert!(stats.shared_budget_fallbacks >= 16, "{stats:?}");
    other.await.expect("the other worker's task");
    assert_eq!(fake.contacts().len(), 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_daily_budget_stops_every_worker_of_the_budget() {
    let redis = RedisServer::start();
    let fake = FakeHubSpot::builder()
        .seed(7)
        .daily_limit(5)
        .start()
        .await
        .expect("fake starts");
    let limit = RateLimit::custom(100, SEC);
    let first = worker(&fake, limit, &redis.url(), "daily-spent:portal-1")
        .upsert_all(upserts(0, 8))
        .batch_size(1)
        .concurrency(1)
        .send()
        .await
        .expect_err("the daily budget runs out");
    assert_eq!(first.report.stats.requests, 5, "{:?}", first.report.stats);
    // The first worker tells Redis in the background; wait until it has.
    let mut connection = redis::Client::open(redis.url())
        .and_then(|client| client.get_connection())
        .expect("a connection to the test's Redis");
    for _ in 0..500 {
        let spent: Option<String> = redis::cmd("GET")
            .arg("{daily-spent:portal-1}:daily")
            .query(&mut connection)
            .expect("GET");
        if spent.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // A second worker, which has never had an answer, sends nothing.
    let second = worker(&fake, limit, &redis.url(), "daily-spent:portal-1")
        .upsert_all(upserts(100, 3))
        .send()
        .await
        .expect_err("the budget is spent for every worker");
    assert_eq!(second.report.stats.requests, 0, "{:?}", second.report.stats);
    assert_eq!(fake.stats().requests, 5);
}

#[test]
fn an_unreachable_redis_is_a_configuration_error_that_hides_the_password() {
    let builder = Client::builder()
        .token(TOKEN)
        .shared_budget("redis://:pa55word@127.0.0.1:1", "app-1:portal-1");
    let shown = format!("{builder:?}");
    assert!(!shown.contains("pa55word"), "{shown}");
    assert!(shown.contains("<redacted>"), "{shown}");
    let error = builder.build().expect_err("nothing listens on port 1");
    assert!(matches!(error, SdkError::Config(_)), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("unreachable"), "{message}");
    assert!(!message.contains("pa55word"), "{message}");
}
