//! Shared support for the fake's integration tests: start a fake, talk to it over plain
//! HTTP with reqwest (never the SDK), and read HubSpot-shaped bodies.
#![allow(dead_code)]

use std::time::Duration;

use hubspot_fake::{FakeHubSpot, FakeHubSpotBuilder, StoredContact};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

pub const TOKEN: &str = "test-token";
pub const CREATE: &str = "/crm/v3/objects/contacts/batch/create";
pub const UPDATE: &str = "/crm/v3/objects/contacts/batch/update";
pub const UPSERT: &str = "/crm/v3/objects/contacts/batch/upsert";
pub const READ: &str = "/crm/v3/objects/contacts/batch/read";
pub const ARCHIVE: &str = "/crm/v3/objects/contacts/batch/archive";
pub const V1_BATCH: &str = "/contacts/v1/contact/batch/";
pub const V1_CREATE: &str = "/contacts/v1/contact";
/// Every API version the fake serves batch paths at: v3, then the dated ones.
pub fn versions() -> Vec<&'static str> {
    std::iter::once("v3")
        .chain(hubspot_fake::routes::DATED_VERSIONS.iter().copied())
        .collect()
}

/// The path of batch operation `op` at `version` (`"v3"` or a date) for `object_type`
/// (`contacts` or `0-1`; v3 paths always say `contacts`).
pub fn batch_path(version: &str, object_type: &str, op: &str) -> String {
    if version == "v3" {
        format!("/crm/v3/objects/contacts/batch/{op}")
    } else {
        format!("/crm/objects/{version}/{object_type}/batch/{op}")
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `results[]` sorted by id.
    pub fn results(&self) -> Vec<Value> {
        let mut r = self.json["results"].as_array().cloned().unwrap_or_default();
        r.sort_by_key(|o| o["id"].as_str().unwrap_or("").parse::<u64>().unwrap_or(0));
        r
    }

    pub fn errors(&self) -> Vec<Value> {
        self.json["errors"].as_array().cloned().unwrap_or_default()
    }

    /// Asserts the common HubSpot error shape and returns the message.
    pub fn assert_error(&self, status: u16, category: Option<&str>) -> String {
        assert_eq!(self.status, status, "body: {}", self.text);
        assert_eq!(self.json["status"], "error", "body: {}", self.text);
        let cid = self.json["correlationId"].as_str().expect("correlationId");
        assert_eq!(cid.len(), 36, "uuid-looking correlation id: {cid}");
        if let Some(category) = category {
            assert_eq!(self.json["category"], category, "body: {}", self.text);
        }
        self.json["message"].as_str().unwrap_or("").to_owned()
    }
}

/// A started fake plus a client.
pub struct Harness {
    pub fake: FakeHubSpot,
    pub http: reqwest::Client,
    pub base: String,
}

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

pub async fn start(builder: FakeHubSpotBuilder) -> Harness {
    let fake = builder.start().await.expect("fake starts");
    let base = fake.base_url();
    Harness {
        fake,
        http: client(),
        base,
    }
}

pub async fn start_default() -> Harness {
    start(FakeHubSpot::builder().seed(1)).await
}

pub async fn read_resp(resp: reqwest::Response) -> Resp {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        text,
        json,
    }
}

impl Harness {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// POST JSON with the default bearer token.
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.try_post(path, body).await.expect("request succeeds")
    }

    pub async fn try_post(&self, path: &str, body: Value) -> reqwest::Result<Resp> {
        let resp = self
            .http
            .post(self.url(path))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await?;
        Ok(read_resp(resp).await)
    }

    /// POST raw bytes with a content type, default token.
    pub async fn post_raw(&self, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Resp {
        let mut req = self.http.post(self.url(path)).bearer_auth(TOKEN).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        read_resp(req.send().await.expect("request succeeds")).await
    }

    pub fn contacts(&self) -> Vec<StoredContact> {
        self.fake.contacts()
    }

    pub fn live_contacts(&self) -> Vec<StoredContact> {
        self.contacts()
            .into_iter()
            .filter(|c| !c.archived)
            .collect()
    }

    /// Upserts contacts by email; returns the response.
    pub async fn upsert_emails(&self, emails: &[&str]) -> Resp {
        let inputs: Vec<Value> = emails
            .iter()
            .map(|e| json!({"id": e, "idProperty": "email", "properties": {"firstname": "F"}}))
            .collect();
        let r = self.post(UPSERT, json!({ "inputs": inputs })).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r
    }

    /// The stored contact with this email (case-insensitive), if live.
    pub fn by_email(&self, email: &str) -> Option<StoredContact> {
        self.live_contacts().into_iter().find(|c| {
            c.properties
                .get("email")
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        })
    }

    /// Polls the store until `pred` holds, for at most `limit`; returns whether it did.
    pub async fn eventually(
        &self,
        limit: Duration,
        pred: impl Fn(&[StoredContact]) -> bool,
    ) -> bool {
        let start = std::time::Instant::now();
        loop {
            if pred(&self.contacts()) {
                return true;
            }
            if start.elapsed() > limit {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// `n` create inputs with distinct emails.
pub fn create_inputs(n: usize, prefix: &str) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"properties": {"email": format!("{prefix}{i}@example.com")}}))
        .collect()
}
