//! The `hubspot-fake` binary: first stdout line, flags, exit on bad flags.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::json;
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_hubspot-fake");

/// Kills the child (by its own handle) when dropped, so a failing test leaves nothing behind.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str]) -> (Running, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let port: u16 = base.rsplit(':').next().unwrap().parse().unwrap();
    assert_ne!(port, 0);
    (running, base)
}

#[tokio::test]
async fn prints_its_address_first_and_serves() {
    let (_child, base) = spawn(&["--addr", "127.0.0.1:0"]);
    let http = client();
    let r = http
        .post(format!("{base}{UPSERT}"))
        .bearer_auth("anything")
        .json(
            &json!({"inputs": [{"id": "a@example.com", "idProperty": "email", "properties": {}}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let contacts: serde_json::Value = http
        .get(format!("{base}/_fake/contacts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(contacts.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn every_flag_is_honoured() {
    let (_child, base) = spawn(&[
        "--addr",
        "127.0.0.1:0",
        "--latency-ms",
        "1",
        "--rate-limit",
        "3/10s",
        "--daily-limit",
        "1000",
        "--faults",
        "503=0",
        "--seed",
        "7",
        "--tokens",
        "alpha,beta",
        "--v1-apply-delay-ms",
        "0",
    ]);
    let http = client();
    let post = |token: &'static str| {
        http.post(format!("{base}{V1_BATCH}"))
            .bearer_auth(token)
            .json(&json!([{"email": "v1@example.com", "properties": []}]))
            .send()
    };
    let r = read_resp(post("gamma").await.unwrap()).await;
    r.assert_error(401, Some("INVALID_AUTHENTICATION"));
    let r = read_resp(post("beta").await.unwrap()).await;
    assert_eq!(r.status, 202);
    assert_eq!(r.header("x-hubspot-ratelimit-max"), Some("3"));
    assert_eq!(
        r.header("x-hubspot-ratelimit-interval-milliseconds"),
        Some("10000")
    );
    assert_eq!(r.header("x-hubspot-ratelimit-daily"), Some("1000"));
    assert_eq!(r.header("x-hubspot-ratelimit-daily-remaining"), Some("999"));
    let contacts: serde_json::Value = http
        .get(format!("{base}/_fake/contacts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        contacts.as_array().unwrap().len(),
        1,
        "v1 applied with zero delay"
    );
    assert_eq!(read_resp(post("alpha").await.unwrap()).await.status, 202);
    assert_eq!(read_resp(post("alpha").await.unwrap()).await.status, 202);
    assert_eq!(read_resp(post("alpha").await.unwrap()).await.status, 429);
}

#[tokio::test]
async fn rate_limit_takes_the_sdks_grammar_plans_included() {
    for (spec, max) in [
        ("professional", "190"),
        ("starter", "100"),
        ("250/10s", "250"),
    ] {
        let (_child, base) = spawn(&["--rate-limit", spec]);
        let r = client()
            .post(format!("{base}{V1_BATCH}"))
            .bearer_auth("any")
            .json(&json!([{"email": "v1@example.com", "properties": []}]))
            .send()
            .await
            .unwrap();
        let r = read_resp(r).await;
        assert_eq!(r.status, 202, "{spec}");
        assert_eq!(r.header("x-hubspot-ratelimit-max"), Some(max), "{spec}");
        assert_eq!(
            r.header("x-hubspot-ratelimit-interval-milliseconds"),
            Some("10000"),
            "{spec}"
        );
    }
    let (_child, base) = spawn(&["--rate-limit", "off"]);
    let r = client()
        .post(format!("{base}{V1_BATCH}"))
        .bearer_auth("any")
        .json(&json!([{"email": "v1@example.com", "properties": []}]))
        .send()
        .await
        .unwrap();
    assert_eq!(read_resp(r).await.header("x-hubspot-ratelimit-max"), None);
}

#[tokio::test]
async fn faults_flag_injects() {
    let (_child, base) = spawn(&["--faults", "502=1", "--seed", "1"]);
    let r = client()
        .post(format!("{base}{READ}"))
        .bearer_auth("t")
        .json(&json!({"inputs": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
}

#[tokio::test]
async fn required_property_flags_are_enforced_from_2026_09_on() {
    let (_child, base) = spawn(&[
        "--required-property",
        "lifecyclestage",
        "--required-property",
        "city",
    ]);
    let http = client();
    let create = |version: &str| {
        http.post(format!(
            "{base}{}",
            batch_path(version, "contacts", "create")
        ))
        .bearer_auth("t")
        .json(&json!({"inputs": [{"properties": {"email": format!("{version}@example.com")}}]}))
        .send()
    };
    let r = read_resp(create("2026-09").await.unwrap()).await;
    r.assert_error(400, Some("VALIDATION_ERROR"));
    let errors = r.errors();
    let missing: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| {
            (
                e["code"].as_str().unwrap(),
                e["context"]["propertyName"][0].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        missing,
        [
            ("MISSING_REQUIRED_PROPERTY", "lifecyclestage"),
            ("MISSING_REQUIRED_PROPERTY", "city")
        ]
    );
    for version in ["v3", "2026-03"] {
        assert_eq!(create(version).await.unwrap().status(), 201, "{version}");
    }
}

#[tokio::test]
async fn properties_flag_loads_a_portal_catalogue() {
    let (_child, base) = spawn(&["--properties", "examples/portal-properties.json"]);
    let http = client();
    let listed: serde_json::Value = http
        .get(format!("{base}/crm/properties/2026-09/contacts"))
        .bearer_auth("t")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let employees = listed["results"]
        .as_array()
        .and_then(|all| all.iter().find(|p| p["name"] == "employees").cloned())
        .expect("the file's number property");
    assert_eq!(employees["label"], "Employees");
    let r = http
        .post(format!("{base}{CREATE}"))
        .bearer_auth("t")
        .json(&json!({"inputs": [{"properties": {"email": "a@example.com", "employees": "many"}}]}))
        .send()
        .await
        .unwrap();
    let r = read_resp(r).await;
    r.assert_error(400, Some("VALIDATION_ERROR"));
    assert_eq!(r.errors()[0]["code"], "INVALID_INTEGER");
}

#[test]
fn bad_flags_exit_with_an_error() {
    for args in [
        &["--rate-limit", "lots"][..],
        &["--faults", "404=1"],
        &["--faults", "429=2"],
        &["--latency-ms", "-5"],
        &["--addr", "nowhere"],
        &["--unknown"],
        &["--required-property", "no_such_property"],
        &["--required-property", "createdate"],
        &["--properties", "examples/no-such-file.json"],
        &["--properties", "Cargo.toml"],
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(!out.stderr.is_empty(), "{args:?} printed no reason");
        assert!(out.stdout.is_empty(), "{args:?} printed a listening line");
    }
}

#[test]
fn help_lists_every_flag() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--addr",
        "--latency-ms",
        "--rate-limit",
        "--daily-limit",
        "--faults",
        "--seed",
        "--tokens",
        "--v1-apply-delay-ms",
        "--no-retry-after",
        "--required-property",
        "--properties",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}
