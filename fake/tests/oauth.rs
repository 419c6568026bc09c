//! The OAuth token endpoint and the access tokens it mints, over plain HTTP: the refresh
//! grant, HubSpot's refusal bodies, expiry (`EXPIRED_AUTHENTICATION`), revocation,
//! rotation, the stats, and the binary's flags.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use hubspot_fake::{FakeHubSpot, routes};
use serde_json::json;
use support::*;

const ID: &str = "client-1";
const SECRET: &str = "secret-1";
const REFRESH: &str = "na1-refresh-1";

fn form(id: &str, secret: &str, refresh: &str) -> String {
    format!(
        "grant_type=refresh_token&client_id={id}&client_secret={secret}&refresh_token={refresh}"
    )
}

async fn app(ttl: Duration) -> Harness {
    start(
        FakeHubSpot::builder()
            .seed(3)
            .oauth_app(ID, SECRET, REFRESH)
            .access_token_ttl(ttl),
    )
    .await
}

impl Harness {
    async fn token_request(&self, version: &str, body: String) -> Resp {
        let resp = self
            .http
            .post(self.url(&format!("/oauth/{version}/token")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("request succeeds");
        read_resp(resp).await
    }

    async fn upsert_with(&self, token: &str) -> Resp {
        let resp = self
            .http
            .post(self.url(UPSERT))
            .bearer_auth(token)
            .json(&json!({"inputs": [{"id": "a@example.com", "idProperty": "email", "properties": {}}]}))
            .send()
            .await
            .expect("request succeeds");
        read_resp(resp).await
    }
}

#[tokio::test]
async fn a_refresh_mints_an_access_token_the_api_accepts_until_it_expires() {
    let h = app(Duration::from_secs(1)).await;
    let r = h.token_request("2026-03", form(ID, SECRET, REFRESH)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["expires_in"], 1);
    assert_eq!(r.json["refresh_token"], REFRESH);
    assert_eq!(r.json["token_type"], "bearer");
    assert_eq!(r.json["token_use"], "access_token");
    let token = r.json["access_token"].as_str().unwrap().to_owned();
    assert_eq!(h.fake.access_tokens(), std::slice::from_ref(&token));

    assert_eq!(h.upsert_with(&token).await.status, 200);
    let unknown = h.upsert_with("made-up").await;
    unknown.assert_error(401, Some("INVALID_AUTHENTICATION"));

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let expired = h.upsert_with(&token).await;
    let message = expired.assert_error(401, Some("EXPIRED_AUTHENTICATION"));
    assert!(
        message.starts_with("The OAuth token used to make this call expired 0 second(s) ago"),
        "{message}"
    );
    assert!(
        expired.json["context"]["expire time"][0]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );

    // The 2026-09 path serves the same endpoint.
    let again = h.token_request("2026-09", form(ID, SECRET, REFRESH)).await;
    assert_eq!(again.status, 200);
    let stats = h.fake.stats();
    assert_eq!(stats.token_refreshes, 2);
    assert_eq!(stats.count(routes::OAUTH_TOKEN, 200), 1);
    assert_eq!(stats.count(&routes::oauth_token("2026-09"), 200), 1);
    assert_eq!(stats.unauthorized, 2);
    assert_eq!(stats.requests, 5);
}

#[tokio::test]
async fn refusals_carry_hubspots_error_pairs() {
    let h = app(Duration::from_secs(60)).await;
    let r = h
        .token_request("2026-03", form(ID, SECRET, "na1-other"))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json,
        json!({
            "error": "invalid_grant",
            "error_description": "missing or unknown refresh token",
            "status": "BAD_REFRESH_TOKEN",
            "message": "missing or unknown refresh token"
        })
    );
    let r = h.token_request("2026-03", form(ID, "wrong", REFRESH)).await;
    assert_eq!(
        (r.status, &r.json["error"]),
        (400, &json!("invalid_client"))
    );
    let r = h
        .token_request(
            "2026-03",
            format!("grant_type=authorization_code&code=x&client_id={ID}"),
        )
        .await;
    assert_eq!(r.json["error"], "unsupported_grant_type");
    let json_body = h
        .post_raw(
            "/oauth/2026-03/token",
            Some("application/json"),
            br#"{"grant_type":"refresh_token"}"#.to_vec(),
        )
        .await;
    assert_eq!(
        (json_body.status, &json_body.json["error"]),
        (400, &json!("invalid_request"))
    );
    assert_eq!(h.fake.stats().count(routes::OAUTH_TOKEN, 400), 4);
    assert_eq!(h.fake.stats().token_refreshes, 0);

    // Revoked: refused from then on; the access token already minted still works.
    let ok = h.token_request("2026-03", form(ID, SECRET, REFRESH)).await;
    let token = ok.json["access_token"].as_str().unwrap().to_owned();
    h.fake.revoke_refresh_token();
    let r = h.token_request("2026-03", form(ID, SECRET, REFRESH)).await;
    assert_eq!(r.json["error"], "invalid_grant");
    assert_eq!(h.upsert_with(&token).await.status, 200);
    h.fake.reset();
    assert_eq!(
        h.token_request("2026-03", form(ID, SECRET, REFRESH))
            .await
            .status,
        200
    );

    // Without an app, no client id is known.
    let none = start_default().await;
    let r = none
        .token_request("2026-03", form(ID, SECRET, REFRESH))
        .await;
    assert_eq!(
        (r.status, &r.json["error"]),
        (400, &json!("invalid_client"))
    );
}

#[tokio::test]
async fn expire_access_tokens_ends_them_now_and_configured_tokens_still_work() {
    let h = start(
        FakeHubSpot::builder()
            .tokens([TOKEN])
            .oauth_app(ID, SECRET, REFRESH),
    )
    .await;
    let r = h.token_request("2026-03", form(ID, SECRET, REFRESH)).await;
    let token = r.json["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        r.json["expires_in"], 1800,
        "HubSpot's 30 minutes by default"
    );
    assert_eq!(h.upsert_with(&token).await.status, 200);
    h.fake.expire_access_tokens();
    h.upsert_with(&token)
        .await
        .assert_error(401, Some("EXPIRED_AUTHENTICATION"));
    assert_eq!(h.upsert_with(TOKEN).await.status, 200, "a configured token");
}

#[tokio::test]
async fn rotation_retires_each_refresh_token_it_replaces() {
    let h = start(
        FakeHubSpot::builder()
            .oauth_app(ID, SECRET, REFRESH)
            .rotate_refresh_token(true),
    )
    .await;
    let first = h.token_request("2026-03", form(ID, SECRET, REFRESH)).await;
    let rotated = first.json["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rotated, REFRESH);
    let stale = h.token_request("2026-03", form(ID, SECRET, REFRESH)).await;
    assert_eq!(stale.json["error"], "invalid_grant");
    let next = h.token_request("2026-03", form(ID, SECRET, &rotated)).await;
    assert_eq!(next.status, 200);
}

#[tokio::test]
async fn the_binary_takes_an_oauth_app_and_a_ttl() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hubspot-fake"))
        .args([
            "--oauth-client-id",
            ID,
            "--oauth-client-secret",
            SECRET,
            "--refresh-token",
            REFRESH,
            "--access-token-ttl",
            "7",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    let http = client();
    let r = read_resp(
        http.post(format!("{base}/oauth/2026-03/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(ID, SECRET, REFRESH))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        (r.status, &r.json["expires_in"]),
        (200, &json!(7)),
        "{}",
        r.text
    );

    // The three go together.
    let partial = Command::new(env!("CARGO_BIN_EXE_hubspot-fake"))
        .args(["--oauth-client-id", ID])
        .output()
        .unwrap();
    assert_eq!(partial.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&partial.stderr).contains("--refresh-token"));
}
