//! Shared support for the end-to-end tests: run the `hubspot-contacts` binary
//! against a hubspot-fake started in the test process, and read what it left.

#![allow(dead_code)]

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use hubspot_fake::FakeHubSpot;
use serde_json::Value;

/// The token the tests give the CLI.
pub const TOKEN: &str = "test-token";

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A fresh directory for one test's files.
pub fn dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cli-e2e")
        .join(format!("{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `content` to `dir/name`.
pub fn write(dir: &Path, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

/// A fake with every knob off.
pub async fn fake() -> FakeHubSpot {
    FakeHubSpot::builder().start().await.unwrap()
}

/// Runs the binary with `args` and these environment variables only (the
/// HubSpot ones of the test's own environment are removed).
pub async fn run(args: Vec<String>, env: Vec<(&'static str, String)>) -> Run {
    tokio::task::spawn_blocking(move || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hubspot-contacts"));
        command
            .args(&args)
            .env_remove("HUBSPOT_TOKEN")
            .env_remove("HUBSPOT_BASE_URL")
            .env_remove("HUBSPOT_API_VERSION")
            .env_remove("HUBSPOT_CLIENT_ID")
            .env_remove("HUBSPOT_CLIENT_SECRET")
            .env_remove("HUBSPOT_REFRESH_TOKEN");
        for (name, value) in env {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    })
    .await
    .unwrap()
}

/// Runs `hubspot-contacts <args> --base-url <fake>` with `HUBSPOT_TOKEN` set.
pub async fn run_against(fake: &FakeHubSpot, args: &[&str]) -> Run {
    let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    args.push("--base-url".into());
    args.push(fake.base_url());
    run(args, vec![("HUBSPOT_TOKEN", TOKEN.to_owned())]).await
}

/// A path as a `&str` argument.
pub fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Every line of the report (a JSON Lines journal), each checked to be JSON.
pub fn journal(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .enumerate()
        .map(|(n, line)| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("report line {} is not JSON ({e}): {line}", n + 1))
        })
        .collect()
}

/// The report's outcome lines (not its header, nor the `sent` lines), in order.
pub fn report(path: &Path) -> Vec<Value> {
    let lines = journal(path);
    assert!(
        lines
            .first()
            .is_some_and(|header| header["journal"] == "hubspot-contacts"),
        "the report starts with its header: {lines:?}"
    );
    lines
        .into_iter()
        .filter(|line| line.get("outcome").is_some())
        .collect()
}

/// The report entry of the row starting on `line`.
pub fn at_line(report: &[Value], line: u64) -> &Value {
    report
        .iter()
        .find(|entry| entry["line"] == line)
        .unwrap_or_else(|| panic!("no entry for line {line} in {report:#?}"))
}

/// The value of `property` of the contact whose email is `email`.
pub fn stored(fake: &FakeHubSpot, email: &str, property: &str) -> Option<String> {
    fake.contacts()
        .into_iter()
        .find(|c| c.properties.get("email").map(String::as_str) == Some(email))
        .and_then(|c| c.properties.get(property).cloned())
}

/// Live (not archived) contacts the fake holds.
pub fn live_contacts(fake: &FakeHubSpot) -> usize {
    fake.contacts().iter().filter(|c| !c.archived).count()
}

/// The peak RSS the summary reports, in MiB.
pub fn peak_rss_mib(stderr: &str) -> Option<f64> {
    stderr
        .lines()
        .find_map(|line| line.trim().strip_prefix("peak RSS "))
        .and_then(|rest| rest.strip_suffix(" MiB"))
        .and_then(|number| number.parse().ok())
}
