//! Authentication, rate limits, injected faults, latency, statistics and the admin routes.

mod support;

use std::time::{Duration, Instant};

use hubspot_fake::{FakeHubSpot, FaultSpec, Stats, StoredContact};
use serde_json::{Value, json};
use support::*;

fn upsert_body(email: &str) -> Value {
    json!({"inputs": [{"id": email, "idProperty": "email", "properties": {"firstname": "F"}}]})
}

fn faults(spec: &str) -> FaultSpec {
    FaultSpec::parse(spec).unwrap()
}

async fn post_with_auth(h: &Harness, auth: Option<&str>) -> Resp {
    let mut req = h
        .http
        .post(h.url(UPSERT))
        .json(&upsert_body("a@example.com"));
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    read_resp(req.send().await.unwrap()).await
}

#[tokio::test]
async fn missing_or_malformed_bearer_is_401() {
    let h = start_default().await;
    for auth in [
        None,
        Some("Basic abc"),
        Some("Bearer "),
        Some("Bearer"),
        Some("token"),
    ] {
        let r = post_with_auth(&h, auth).await;
        r.assert_error(401, Some("INVALID_AUTHENTICATION"));
    }
    assert!(h.contacts().is_empty());
    assert_eq!(
        post_with_auth(&h, Some("bearer anything")).await.status,
        200
    );
    assert_eq!(h.fake.stats().unauthorized, 5);
}

#[tokio::test]
async fn only_configured_tokens_are_accepted() {
    let h = start(FakeHubSpot::builder().tokens(["good", "also-good"])).await;
    post_with_auth(&h, Some("Bearer bad"))
        .await
        .assert_error(401, Some("INVALID_AUTHENTICATION"));
    assert_eq!(post_with_auth(&h, Some("Bearer good")).await.status, 200);
    assert_eq!(
        post_with_auth(&h, Some("Bearer also-good")).await.status,
        200
    );
}

#[tokio::test]
async fn auth_is_checked_before_rate_limits_and_faults() {
    let h = start(
        FakeHubSpot::builder()
            .rate_limit(1, Duration::from_secs(60))
            .faults(faults("500=1")),
    )
    .await;
    for _ in 0..3 {
        post_with_auth(&h, None)
            .await
            .assert_error(401, Some("INVALID_AUTHENTICATION"));
    }
    assert_eq!(h.fake.stats().faults_injected(), 0);
    // The refused requests used none of the budget: this one reaches the fault.
    assert_eq!(post_with_auth(&h, Some("Bearer t")).await.status, 500);
}

#[tokio::test]
async fn rate_limit_headers_on_every_response() {
    let h = start(
        FakeHubSpot::builder()
            .rate_limit(5, Duration::from_secs(10))
            .daily_limit(100),
    )
    .await;
    let r = h.post(UPSERT, upsert_body("a@example.com")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-hubspot-ratelimit-max"), Some("5"));
    assert_eq!(r.header("x-hubspot-ratelimit-remaining"), Some("4"));
    assert_eq!(
        r.header("x-hubspot-ratelimit-interval-milliseconds"),
        Some("10000")
    );
    assert_eq!(r.header("x-hubspot-ratelimit-daily"), Some("100"));
    assert_eq!(r.header("x-hubspot-ratelimit-daily-remaining"), Some("99"));
    // Error responses carry them too.
    let r = h
        .post_raw(READ, Some("application/json"), b"{oops".to_vec())
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.header("x-hubspot-ratelimit-remaining"), Some("3"));
    assert_eq!(r.header("x-hubspot-ratelimit-daily-remaining"), Some("98"));
    let r = post_with_auth(&h, None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("x-hubspot-ratelimit-max"), Some("5"));

    let plain = start_default().await;
    let r = plain.post(UPSERT, upsert_body("a@example.com")).await;
    assert!(
        r.header("x-hubspot-ratelimit-max").is_none(),
        "no limit, no headers"
    );
}

#[tokio::test]
async fn rolling_limit_refuses_with_429_and_changes_nothing() {
    let h = start(FakeHubSpot::builder().rate_limit(2, Duration::from_secs(60))).await;
    h.post(UPSERT, upsert_body("a@example.com")).await;
    h.post(UPSERT, upsert_body("b@example.com")).await;
    let r = h.post(UPSERT, upsert_body("c@example.com")).await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(r.json["status"], "error");
    assert_eq!(
        r.json["message"],
        "You have reached your ten_secondly_rolling limit."
    );
    assert_eq!(r.json["errorType"], "RATE_LIMIT");
    assert_eq!(r.json["policyName"], "TEN_SECONDLY_ROLLING");
    assert!(r.json["correlationId"].is_string());
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(r.header("x-hubspot-ratelimit-remaining"), Some("0"));
    assert!(
        h.by_email("c@example.com").is_none(),
        "a 429 changes nothing"
    );
    assert_eq!(h.contacts().len(), 2);
    let stats = h.fake.stats();
    assert_eq!(stats.rate_limited, 1);
    assert_eq!(stats.count(&format!("POST {UPSERT}"), 429), 1);
}

#[tokio::test]
async fn retry_after_can_be_turned_off() {
    let h = start(
        FakeHubSpot::builder()
            .rate_limit(1, Duration::from_secs(60))
            .retry_after(false),
    )
    .await;
    h.post(UPSERT, upsert_body("a@example.com")).await;
    let r = h.post(UPSERT, upsert_body("b@example.com")).await;
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_none());
}

#[tokio::test]
async fn rolling_window_recovers_after_the_window() {
    let h = start(FakeHubSpot::builder().rate_limit(1, Duration::from_millis(300))).await;
    assert_eq!(
        h.post(UPSERT, upsert_body("a@example.com")).await.status,
        200
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        h.post(UPSERT, upsert_body("b@example.com")).await.status,
        200
    );
}

#[tokio::test]
async fn daily_limit_refuses_with_daily_policy() {
    let h = start(FakeHubSpot::builder().daily_limit(2)).await;
    h.post(UPSERT, upsert_body("a@example.com")).await;
    let r = h.post(UPSERT, upsert_body("b@example.com")).await;
    assert_eq!(r.header("x-hubspot-ratelimit-daily-remaining"), Some("0"));
    assert!(
        r.header("x-hubspot-ratelimit-max").is_none(),
        "no rolling limit set"
    );
    let r = h.post(UPSERT, upsert_body("c@example.com")).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.json["message"], "You have reached your daily limit.");
    assert_eq!(r.json["policyName"], "DAILY");
    assert_eq!(r.json["errorType"], "RATE_LIMIT");
    assert!(r.header("retry-after").is_none());
    assert_eq!(h.contacts().len(), 2);
    // Reset restores the budget.
    h.fake.reset();
    assert_eq!(
        h.post(UPSERT, upsert_body("c@example.com")).await.status,
        200
    );
}

#[tokio::test]
async fn injected_429_and_5xx_apply_nothing() {
    let h = start(FakeHubSpot::builder().faults(faults("429=1"))).await;
    let r = h.post(UPSERT, upsert_body("a@example.com")).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.json["policyName"], "TEN_SECONDLY_ROLLING");
    assert!(r.header("retry-after").is_some());
    assert!(h.contacts().is_empty());
    assert_eq!(h.fake.stats().faults.get("429"), Some(&1));
    assert_eq!(
        h.fake.stats().rate_limited,
        0,
        "faults are not limiter refusals"
    );

    let h = start(FakeHubSpot::builder().faults(faults("503=1"))).await;
    let r = h
        .post(CREATE, json!({"inputs": create_inputs(3, "x")}))
        .await;
    r.assert_error(503, None);
    assert!(h.contacts().is_empty());

    let h = start(
        FakeHubSpot::builder()
            .seed(9)
            .faults(faults("500=0.5,502=0.5")),
    )
    .await;
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..20 {
        let r = h
            .post(UPSERT, upsert_body(&format!("{i}@example.com")))
            .await;
        seen.insert(r.status);
    }
    assert!(seen.is_subset(&[500, 502].into()), "{seen:?}");
    assert_eq!(h.fake.stats().faults_injected(), 20);
    assert!(h.contacts().is_empty());
}

#[tokio::test]
async fn reset_before_drops_the_connection_and_applies_nothing() {
    let h = start(FakeHubSpot::builder().faults(faults("reset-before=1"))).await;
    let err = h
        .try_post(UPSERT, upsert_body("a@example.com"))
        .await
        .unwrap_err();
    assert!(!err.is_timeout(), "{err:?}");
    assert!(h.contacts().is_empty());
    let stats = h.fake.stats();
    assert_eq!(stats.faults.get("reset-before"), Some(&1));
    assert_eq!(stats.requests, 1);
    assert!(stats.responses.is_empty(), "no response was sent");
}

#[tokio::test]
async fn reset_after_applies_then_drops_the_connection() {
    let h = start(FakeHubSpot::builder().faults(faults("reset-after=1"))).await;
    let err = h
        .try_post(UPSERT, upsert_body("a@example.com"))
        .await
        .unwrap_err();
    assert!(!err.is_timeout(), "{err:?}");
    assert!(
        h.by_email("a@example.com").is_some(),
        "applied before the reset"
    );
    assert_eq!(h.contacts().len(), 1);
    let stats = h.fake.stats();
    assert_eq!(stats.requests, 1, "the client did not resend");
    assert_eq!(stats.faults.get("reset-after"), Some(&1));
}

#[tokio::test]
async fn timeout_after_applies_and_holds_without_blocking_others_or_shutdown() {
    let h = start(FakeHubSpot::builder().faults(faults("timeout-after=1"))).await;
    let impatient = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let held = tokio::spawn({
        let http = impatient.clone();
        let url = h.url(UPSERT);
        async move {
            http.post(url)
                .bearer_auth(TOKEN)
                .json(&upsert_body("a@example.com"))
                .send()
                .await
        }
    });
    let err = held.await.unwrap().unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        h.by_email("a@example.com").is_some(),
        "applied before the hold"
    );
    // Another held request and the admin routes are served meanwhile.
    let second = impatient
        .post(h.url(UPSERT))
        .bearer_auth(TOKEN)
        .json(&upsert_body("b@example.com"))
        .send()
        .await;
    assert!(second.unwrap_err().is_timeout());
    let contacts: Vec<StoredContact> = h
        .http
        .get(h.url("/_fake/contacts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(contacts.len(), 2);
    assert_eq!(h.fake.stats().faults.get("timeout-after"), Some(&2));
    // Shutdown does not wait the 10-minute hold out.
    tokio::time::timeout(Duration::from_secs(120), h.fake.shutdown())
        .await
        .expect("shutdown finishes while responses are held");
}

#[tokio::test]
async fn faults_replay_with_the_same_seed() {
    async fn statuses(h: &Harness, n: usize) -> Vec<u16> {
        let mut out = Vec::new();
        for i in 0..n {
            let r = h
                .try_post(UPSERT, upsert_body(&format!("{i}@example.com")))
                .await;
            out.push(r.map_or(0, |r| r.status));
        }
        out
    }
    let spec = "429=0.2,500=0.2,reset-before=0.1";
    let a = start(FakeHubSpot::builder().seed(42).faults(faults(spec))).await;
    let b = start(FakeHubSpot::builder().seed(42).faults(faults(spec))).await;
    let c = start(FakeHubSpot::builder().seed(43).faults(faults(spec))).await;
    let run_a = statuses(&a, 40).await;
    assert_eq!(run_a, statuses(&b, 40).await);
    assert_ne!(run_a, statuses(&c, 40).await);
    assert!(
        run_a.contains(&200) && run_a.iter().any(|s| *s != 200),
        "{run_a:?}"
    );
    a.fake.reset();
    assert_eq!(run_a, statuses(&a, 40).await, "reset re-seeds");
    assert_eq!(a.fake.stats(), b.fake.stats());
}

#[tokio::test]
async fn latency_delays_responses() {
    let h = start(FakeHubSpot::builder().latency(Duration::from_millis(300))).await;
    let t0 = Instant::now();
    h.post(UPSERT, upsert_body("a@example.com")).await;
    assert!(t0.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn stats_count_routes_and_statuses() {
    let h = start_default().await;
    h.post(UPSERT, upsert_body("a@example.com")).await;
    h.post(UPSERT, upsert_body("b@example.com")).await;
    h.post(CREATE, json!({"inputs": [{"properties": {"nope": "x"}}]}))
        .await;
    let stats = h.fake.stats();
    assert_eq!(stats.requests, 3);
    assert_eq!(stats.count(hubspot_fake::routes::V3_UPSERT, 200), 2);
    assert_eq!(stats.count(hubspot_fake::routes::V3_CREATE, 400), 1);
    assert_eq!(stats.count_status(400), 1);
    let over_http: Stats = h
        .http
        .get(h.url("/_fake/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(over_http, stats);
    assert_eq!(h.fake.stats().requests, 3, "admin routes are not counted");
}

#[tokio::test]
async fn admin_routes_need_no_auth_and_are_not_limited_or_faulted() {
    let h = start(
        FakeHubSpot::builder()
            .tokens(["secret"])
            .rate_limit(1, Duration::from_secs(60))
            .faults(faults("reset-before=1")),
    )
    .await;
    for _ in 0..5 {
        let r = h.http.get(h.url("/_fake/contacts")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers().get("x-hubspot-ratelimit-max").is_none());
        assert_eq!(
            h.http
                .get(h.url("/_fake/stats"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    assert_eq!(h.fake.stats(), Stats::default());
}

#[tokio::test]
async fn admin_contacts_lists_archived_and_reset_clears_everything() {
    let h = start_default().await;
    h.upsert_emails(&["a@example.com", "b@example.com"]).await;
    let a = h.by_email("a@example.com").unwrap().id;
    h.post(ARCHIVE, json!({"inputs": [{"id": a}]})).await;
    let listed: Vec<StoredContact> = h
        .http
        .get(h.url("/_fake/contacts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed, h.fake.contacts());
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().any(|c| c.id == a && c.archived));

    let r = h.http.post(h.url("/_fake/reset")).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert!(h.fake.contacts().is_empty());
    assert_eq!(h.fake.stats(), Stats::default());
    // Ids start over after a reset.
    let r = h.upsert_emails(&["c@example.com"]).await;
    assert_eq!(r.results()[0]["id"], "1");
}

#[tokio::test]
async fn start_reports_bind_errors() {
    let h = start_default().await;
    let err = FakeHubSpot::builder()
        .addr(h.fake.addr())
        .start()
        .await
        .expect_err("the port is taken");
    assert!(
        matches!(err, hubspot_fake::StartError::Bind { .. }),
        "{err}"
    );
    assert!(err.to_string().contains(&h.fake.addr().to_string()));
}

#[tokio::test]
async fn refusals_of_large_requests_reach_the_client() {
    // A refusal sent while request bytes are still unread could be destroyed by the reset
    // the kernel sends on close; the fake reads the body first, so each one arrives.
    let h = start(
        FakeHubSpot::builder()
            .tokens(["good"])
            .rate_limit(1, Duration::from_secs(60)),
    )
    .await;
    let inputs: Vec<Value> = (0..100)
        .map(|i| json!({"properties": {"email": format!("{i}@example.com"), "address": "z".repeat(20_000)}}))
        .collect();
    let body = json!({ "inputs": inputs });
    let send = |token: &'static str| {
        h.http
            .post(h.url(CREATE))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    assert_eq!(send("good").await.unwrap().status(), 201);
    for _ in 0..10 {
        assert_eq!(send("good").await.expect("429 arrives").status(), 429);
        assert_eq!(send("bad").await.expect("401 arrives").status(), 401);
    }
    let f = start(FakeHubSpot::builder().faults(faults("503=1"))).await;
    for _ in 0..10 {
        let r = f
            .http
            .post(f.url(CREATE))
            .bearer_auth("t")
            .json(&body)
            .send()
            .await
            .expect("503 arrives");
        assert_eq!(r.status(), 503);
    }
}
