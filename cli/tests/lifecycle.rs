//! A sync's life beyond the happy path: the report as a journal, Ctrl-C and
//! kill -9 followed by `--resume`, configuration that must refuse, stderr
//! closed under the run, a report that cannot be written, diagnostics.

mod support;

use std::{
    collections::HashMap,
    io::Write,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use hubspot_fake::FakeHubSpot;
use support::{TOKEN, arg, dir, fake, journal, live_contacts, report, run, run_against, write};

/// `create` rows with an email each (`n` of them).
fn creates(n: usize) -> String {
    let mut csv = String::from("email,firstname\n");
    for i in 0..n {
        csv.push_str(&format!("user{i}@example.com,User{i}\n"));
    }
    csv
}

/// The binary against `fake`, with the test token, stdout discarded and
/// stderr captured.
fn command(fake: &FakeHubSpot, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hubspot-contacts"));
    command
        .args(args)
        .args(["--base-url", &fake.base_url()])
        .env_remove("HUBSPOT_BASE_URL")
        .env_remove("HUBSPOT_API_VERSION")
        .env("HUBSPOT_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// Starts the binary against `fake` without waiting for it.
fn spawn(fake: &FakeHubSpot, args: &[&str]) -> Child {
    command(fake, args).spawn().unwrap()
}

/// Waits until the report holds at least `outcomes` outcome lines (the run is
/// well under way), or panics after a minute.
async fn wait_for_outcomes(path: &Path, outcomes: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.matches("\"outcome\"").count() >= outcomes {
            return;
        }
        assert!(Instant::now() < deadline, "the run made no progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits for the child to exit; its code and stderr.
async fn wait(child: Child) -> (i32, String) {
    tokio::task::spawn_blocking(move || {
        let output = child.wait_with_output().unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

/// Each row's last line in the report, by row number.
fn last_lines(path: &Path) -> HashMap<u64, serde_json::Value> {
    journal(path)
        .into_iter()
        .filter_map(|line| Some((line.get("row")?.as_u64()?, line)))
        .collect()
}

/// Emails the fake holds more than once.
fn duplicated_emails(fake: &FakeHubSpot) -> usize {
    let mut seen = HashMap::new();
    for contact in fake.contacts().iter().filter(|c| !c.archived) {
        if let Some(email) = contact.properties.get("email") {
            *seen.entry(email.clone()).or_insert(0) += 1;
        }
    }
    seen.values().filter(|&&n| n > 1).count()
}

/// Interrupts a slow create after some rows settled, the way `how` says
/// (`INT` for Ctrl-C, `KILL` for kill -9), then resumes it; returns the
/// interrupted run's exit code and stderr.
async fn interrupt_then_resume(
    rows: usize,
    how: &str,
    name: &str,
) -> (FakeHubSpot, std::path::PathBuf, i32, String) {
    let fake = FakeHubSpot::builder()
        .latency(Duration::from_millis(20))
        .start()
        .await
        .unwrap();
    let dir = dir(name);
    let input = write(&dir, "contacts.csv", creates(rows));
    let report_path = dir.join("report.jsonl");
    let args = [
        "create",
        arg(&input),
        "--report",
        arg(&report_path),
        "--batch-size",
        "10",
        "--concurrency",
        "4",
        "--rate-limit",
        "off",
    ];
    let child = spawn(&fake, &args);
    wait_for_outcomes(&report_path, rows / 3).await;
    let status = Command::new("kill")
        .args([&format!("-{how}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let (code, stderr) = wait(child).await;
    let stored = live_contacts(&fake);
    // A kill may leave the last line cut short; every other line is whole.
    let text = std::fs::read_to_string(&report_path).unwrap();
    let recorded: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    assert!(
        recorded.len() + 1 >= text.lines().count(),
        "at most one line cut short"
    );
    // Each row's last outcome, or None for a row sent and never settled.
    let mut last = HashMap::new();
    for line in &recorded {
        if let Some(row) = line.get("row").and_then(|row| row.as_u64()) {
            let outcome = line
                .get("outcome")
                .and_then(|o| o.as_str())
                .map(str::to_owned);
            last.insert(row, outcome);
        }
    }
    let kept_back = last
        .values()
        .filter(|outcome| outcome.as_deref() == Some("not_sent"))
        .count();
    let in_flight = last.values().filter(|outcome| outcome.is_none()).count();
    // A resume skips the rows with a final outcome and sends the not_sent ones.
    let settled_before = last.len() - kept_back - in_flight;
    println!(
        "{how}: {stored} of {rows} stored when stopped, {settled_before} rows settled in the \
         report, {kept_back} kept back (not_sent), {in_flight} left in flight"
    );
    assert!(
        stored < rows,
        "the run was stopped before its end ({stored} stored)"
    );
    let mut resumed_args: Vec<&str> = args.to_vec();
    resumed_args.push("--resume");
    let resumed = run_against(&fake, &resumed_args).await;
    assert!(resumed.code == 0, "{resumed:?}");
    assert!(
        resumed.stderr.contains("skipped "),
        "the summary counts the rows settled before: {}",
        resumed.stderr
    );
    println!("{how}, resumed:\n{}", resumed.stderr);
    let skipped = format!("skipped {settled_before} rows");
    assert!(
        resumed.stderr.contains(&skipped),
        "{skipped}: {}",
        resumed.stderr
    );
    (fake, report_path, code, stderr)
}

/// After a resume, every row's last line is its one final outcome and the
/// store holds each contact once.
fn assert_whole(fake: &FakeHubSpot, report_path: &Path, rows: usize) {
    assert_eq!(live_contacts(fake), rows, "every contact stored");
    assert_eq!(duplicated_emails(fake), 0, "none twice");
    let last = last_lines(report_path);
    assert_eq!(last.len(), rows, "every row is in the report");
    let not_final: Vec<_> = last
        .values()
        .filter(|line| line["outcome"] != "created")
        .collect();
    assert!(not_final.is_empty(), "{not_final:?}");
    let ids: std::collections::HashSet<&str> = last
        .values()
        .filter_map(|line| line["id"].as_str())
        .collect();
    assert_eq!(ids.len(), rows, "one record per row, each reported once");
}

/// Rows of the interrupt-and-resume drills: 3,000, or `RESUME_DRILL_ROWS`
/// (RELIABILITY.md's figures are from 30,000).
fn drill_rows() -> usize {
    std::env::var("RESUME_DRILL_ROWS")
        .ok()
        .and_then(|rows| rows.parse().ok())
        .unwrap_or(3_000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_settles_what_is_in_flight_and_resume_finishes_the_job() {
    let rows = drill_rows();
    let (fake, report_path, code, stderr) = interrupt_then_resume(rows, "INT", "ctrl-c").await;
    assert_eq!(code, 130, "{stderr}");
    assert!(stderr.contains("INTERRUPTED: "), "{stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");
    assert_whole(&fake, &report_path, rows);
    fake.shutdown().await;
}

/// A fake that throttles every request: without a stop, a run's retries
/// would go on for two minutes.
async fn throttling_fake() -> FakeHubSpot {
    FakeHubSpot::builder()
        .faults(hubspot_fake::FaultSpec::parse("429=1").unwrap())
        .retry_after(false)
        .start()
        .await
        .unwrap()
}

/// Sends Ctrl-C to `child` once `fake` has seen a request; its exit code and
/// stderr, or a panic if it was still running 30 s later.
async fn interrupt_after_first_request(fake: &FakeHubSpot, child: Child) -> (i32, String) {
    wait_for_a_request(fake).await;
    interrupt(child, "the run was still retrying 30 s after Ctrl-C").await
}

/// Waits until `fake` has received a request (by then the CLI listens for
/// signals), or panics after a minute.
async fn wait_for_a_request(fake: &FakeHubSpot) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while fake.stats().requests == 0 {
        assert!(Instant::now() < deadline, "nothing was sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends Ctrl-C to `child`: its exit code and stderr, or a panic saying
/// `still` if it is still running 30 s later.
async fn interrupt(child: Child, still: &str) -> (i32, String) {
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let interrupted = Instant::now();
    let Ok(exited) = tokio::time::timeout(Duration::from_secs(30), wait(child)).await else {
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
        panic!("{still}");
    };
    println!("exited {:?} after Ctrl-C", interrupted.elapsed());
    exited
}

/// Starts the binary against `fake` reading standard input, which `feed`
/// writes on a thread of its own (until the CLI is gone).
fn spawn_fed(
    fake: &FakeHubSpot,
    args: &[&str],
    feed: impl FnOnce(std::process::ChildStdin) + Send + 'static,
) -> (Child, std::thread::JoinHandle<()>) {
    let mut child = command(fake, args).stdin(Stdio::piped()).spawn().unwrap();
    let stdin = child.stdin.take().unwrap();
    (child, std::thread::spawn(move || feed(stdin)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_cuts_a_retry_wait_short_and_reports_the_rows_not_sent() {
    let fake = throttling_fake().await;
    let dir = dir("ctrl-c-retry");
    let input = write(&dir, "contacts.csv", creates(50));
    let report_path = dir.join("report.jsonl");
    let args = [
        "upsert",
        arg(&input),
        "--report",
        arg(&report_path),
        "--rate-limit",
        "off",
        "--no-preflight",
    ];
    let (code, stderr) = interrupt_after_first_request(&fake, spawn(&fake, &args)).await;
    assert_eq!(code, 130, "{stderr}");
    assert!(stderr.contains("INTERRUPTED: "), "{stderr}");
    assert_eq!(fake.stats().requests, 1, "no retry went out");
    assert!(fake.contacts().is_empty());
    let last = last_lines(&report_path);
    assert_eq!(last.len(), 50, "every row was taken, and has a line");
    for line in last.values() {
        assert_eq!(line["outcome"], "not_sent", "{line}");
    }
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_the_preflight_stops_before_anything_is_written() {
    let fake = throttling_fake().await;
    let dir = dir("ctrl-c-preflight");
    let input = write(&dir, "contacts.csv", creates(50));
    let report_path = dir.join("report.jsonl");
    let args = ["upsert", arg(&input), "--report", arg(&report_path)];
    let (code, stderr) = interrupt_after_first_request(&fake, spawn(&fake, &args)).await;
    assert_eq!(code, 130, "{stderr}");
    assert!(
        stderr.contains("interrupted; nothing was written"),
        "{stderr}"
    );
    assert!(!report_path.exists(), "no report was started");
    assert!(fake.contacts().is_empty());
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_the_report_is_readable_and_resume_settles_the_rows_in_flight() {
    let rows = drill_rows();
    let (fake, report_path, code, _) = interrupt_then_resume(rows, "KILL", "kill-9").await;
    assert_eq!(code, -1, "killed by a signal");
    assert_whole(&fake, &report_path, rows);
    // Two headers: the first run's and the resumed run's.
    let headers = journal(&report_path)
        .into_iter()
        .filter(|line| line.get("journal").is_some())
        .count();
    assert_eq!(headers, 2);
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_without_a_key_left_in_flight_is_unknown_never_resent() {
    let fake = fake().await;
    let dir = dir("keyless");
    let input = write(&dir, "contacts.csv", "firstname\nAda\nGrace\nEdsger\n");
    let first = run_against(&fake, &["create", arg(&input), "--report", "/dev/null"]).await;
    assert_eq!(first.code, 0, "{first:?}");
    // A journal as a killed run leaves it: row 1 settled, row 2 sent, row 3
    // not reached, and a last line cut short.
    let header = journal_header(&fake, &input, "create", None);
    let report_path = write(
        &dir,
        "report.jsonl",
        format!(
            "{header}\n\
             {{\"row\":1,\"line\":2,\"key\":\"\",\"sent\":true}}\n\
             {{\"row\":2,\"line\":3,\"key\":\"\",\"sent\":true}}\n\
             {{\"row\":1,\"line\":2,\"key\":\"\",\"outcome\":\"created\",\"id\":\"1\"}}\n\
             {{\"row\":3,\"line\":4,\"ke"
        ),
    );
    let before = live_contacts(&fake);
    let resumed = run_against(
        &fake,
        &[
            "create",
            arg(&input),
            "--report",
            arg(&report_path),
            "--resume",
        ],
    )
    .await;
    assert_eq!(resumed.code, 1, "an unknown row is a problem: {resumed:?}");
    assert_eq!(live_contacts(&fake), before + 1, "only row 3 is created");
    let last = last_lines(&report_path);
    assert_eq!(last[&1]["outcome"], "created");
    assert_eq!(last[&2]["outcome"], "unknown");
    assert!(
        last[&2]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not sent again"),
        "{:?}",
        last[&2]
    );
    assert_eq!(last[&3]["outcome"], "created");
    fake.shutdown().await;
}

/// A header line like the CLI's for `input` against `fake`.
fn journal_header(fake: &FakeHubSpot, input: &Path, command: &str, key: Option<&str>) -> String {
    let bytes = std::fs::read(input).unwrap();
    let sha256 = Command::new("sha256sum").arg(input).output().unwrap();
    let sha256 = String::from_utf8(sha256.stdout).unwrap();
    serde_json::json!({
        "journal": "hubspot-contacts",
        "version": 1,
        "command": command,
        "key": key,
        "file": arg(input),
        "fingerprint": {"size": bytes.len(), "sha256": sha256.split_whitespace().next().unwrap()},
        "apiVersion": "2026-09",
        "target": fake.base_url(),
        "startedAt": "2026-01-01T00:00:00.000Z",
        "resumed": false
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_refuses_another_file_command_or_the_embedded_fake() {
    let fake = fake().await;
    let dir = dir("resume-refusals");
    let input = write(&dir, "contacts.csv", creates(3));
    let report_path = dir.join("report.jsonl");
    let first = run_against(
        &fake,
        &["upsert", arg(&input), "--report", arg(&report_path)],
    )
    .await;
    assert_eq!(first.code, 0, "{first:?}");
    let kept = std::fs::read_to_string(&report_path).unwrap();

    let resume = |file: &Path, command: &'static str| {
        vec![
            command.to_owned(),
            arg(file).to_owned(),
            "--report".to_owned(),
            arg(&report_path).to_owned(),
            "--resume".to_owned(),
        ]
    };
    let env = || vec![("HUBSPOT_TOKEN", TOKEN.to_owned())];
    let with_url = |mut args: Vec<String>| {
        args.extend(["--base-url".to_owned(), fake.base_url()]);
        args
    };
    std::fs::write(&input, creates(4)).unwrap();
    let changed = run(with_url(resume(&input, "upsert")), env()).await;
    assert_eq!(changed.code, 2, "{changed:?}");
    assert!(changed.stderr.contains("changed"), "{}", changed.stderr);
    std::fs::write(&input, creates(3)).unwrap();
    let other = run(with_url(resume(&input, "create")), env()).await;
    assert_eq!(other.code, 2, "{other:?}");
    assert!(other.stderr.contains("command"), "{}", other.stderr);
    let embedded = run(resume(&input, "upsert"), vec![]).await;
    assert_eq!(embedded.code, 2, "{embedded:?}");
    assert!(embedded.stderr.contains("embedded"), "{}", embedded.stderr);
    let missing = run(
        with_url(vec![
            "upsert".into(),
            arg(&input).into(),
            "--report".into(),
            arg(&dir.join("none.jsonl")).into(),
            "--resume".into(),
        ]),
        env(),
    )
    .await;
    assert_eq!(missing.code, 2, "{missing:?}");
    assert_eq!(std::fs::read_to_string(&report_path).unwrap(), kept);
    // The same file and command resume: everything was settled, nothing is
    // written (the one request is the preflight's read of the properties).
    let requests = fake.stats().requests;
    let same = run(with_url(resume(&input, "upsert")), env()).await;
    assert_eq!(same.code, 0, "{same:?}");
    assert_eq!(fake.stats().requests, requests + 1);
    assert!(same.stderr.contains("skipped 3 rows"), "{}", same.stderr);
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_records_header_sent_and_outcome_lines() {
    let fake = fake().await;
    let dir = dir("journal");
    let input = write(
        &dir,
        "contacts.csv",
        "email,firstname\nada@example.com,Ada\n,Nobody\n",
    );
    let report_path = dir.join("report.jsonl");
    let run = run_against(
        &fake,
        &["upsert", arg(&input), "--report", arg(&report_path)],
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    let lines = journal(&report_path);
    let header = &lines[0];
    assert_eq!(header["command"], "upsert");
    assert_eq!(header["key"], "email");
    assert_eq!(header["apiVersion"], "2026-09");
    assert_eq!(header["target"], fake.base_url());
    assert_eq!(
        header["fingerprint"]["size"],
        std::fs::metadata(&input).unwrap().len()
    );
    assert!(header["startedAt"].as_str().unwrap().ends_with('Z'));
    let sent = lines
        .iter()
        .position(|line| line["sent"] == true && line["row"] == 1)
        .expect("row 1 recorded as sent");
    let settled = lines
        .iter()
        .position(|line| line["outcome"] == "created" && line["row"] == 1)
        .expect("row 1 settled");
    assert!(sent < settled, "sent before settled");
    let trace = lines[sent]["traceId"].as_str().unwrap();
    assert!(trace.starts_with("hc-") && trace.ends_with("-1"), "{trace}");
    assert!(
        !lines
            .iter()
            .any(|line| line["sent"] == true && line["row"] == 2),
        "a row refused before sending is never recorded as sent"
    );
    assert_eq!(report(&report_path).len(), 2);
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_token_is_a_configuration_error_and_the_embedded_notice_survives_quiet() {
    let dir = dir("config");
    let input = write(&dir, "contacts.csv", creates(2));
    let empty = run(
        vec!["upsert".into(), arg(&input).into()],
        vec![("HUBSPOT_TOKEN", String::new())],
    )
    .await;
    assert_eq!(empty.code, 2, "{empty:?}");
    assert!(
        empty.stderr.contains("HUBSPOT_TOKEN is set but empty"),
        "{}",
        empty.stderr
    );
    let report_path = dir.join("report.jsonl");
    let quiet = run(
        vec![
            "upsert".into(),
            arg(&input).into(),
            "--quiet".into(),
            "--report".into(),
            arg(&report_path).into(),
        ],
        vec![],
    )
    .await;
    assert_eq!(quiet.code, 0, "{quiet:?}");
    assert!(
        quiet.stderr.contains("embedded hubspot-fake"),
        "{}",
        quiet.stderr
    );
    assert_eq!(journal(&report_path)[0]["target"], "embedded hubspot-fake");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_stderr_never_stops_the_sync() {
    let fake = fake().await;
    let dir = dir("stderr-closed");
    // Bad rows print problem lines on stderr, which nobody reads.
    let mut csv = creates(2_000);
    for _ in 0..50 {
        csv.push_str("not-an-email,Bad\n");
    }
    let input = write(&dir, "contacts.csv", csv);
    let mut child = spawn(&fake, &["upsert", arg(&input)]);
    drop(child.stderr.take());
    let (code, _) = wait(child).await;
    assert_eq!(code, 1, "bad rows fail, nothing panics");
    assert_eq!(live_contacts(&fake), 2_000);
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_that_cannot_be_written_is_its_own_exit_code() {
    let fake = fake().await;
    let dir = dir("report-full");
    let input = write(&dir, "contacts.csv", creates(5));
    let full = run_against(&fake, &["upsert", arg(&input), "--report", "/dev/full"]).await;
    assert_eq!(full.code, 4, "{full:?}");
    assert!(
        full.stderr.contains("cannot write the report"),
        "{}",
        full.stderr
    );
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbose_runs_trace_the_sdk_without_the_token() {
    let fake = fake().await;
    let dir = dir("verbose");
    let input = write(&dir, "contacts.csv", creates(5));
    let quiet = run_against(&fake, &["upsert", arg(&input)]).await;
    assert!(
        !quiet.stderr.contains("hubspot.request"),
        "{}",
        quiet.stderr
    );
    let verbose = run_against(&fake, &["upsert", arg(&input), "-vv"]).await;
    assert_eq!(verbose.code, 0, "{verbose:?}");
    assert!(
        verbose.stderr.contains("hubspot.request"),
        "{}",
        verbose.stderr
    );
    let mut args: Vec<String> = ["upsert", arg(&input), "--base-url"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    args.push(fake.base_url());
    let everything = run(
        args,
        vec![
            ("HUBSPOT_TOKEN", TOKEN.to_owned()),
            ("RUST_LOG", "trace".to_owned()),
        ],
    )
    .await;
    assert_eq!(everything.code, 0, "{everything:?}");
    assert!(everything.stderr.contains("TRACE"), "{}", everything.stderr);
    assert!(!everything.stderr.contains(TOKEN), "the token leaked");
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_flag_value_panics() {
    let dir = dir("flags");
    let input = write(&dir, "contacts.csv", creates(1));
    for args in [
        &["--rate-limit", "5/9999999999999999999s"][..],
        &["--rate-limit", "18446744073709551616/1s"],
        &["--concurrency", "99999999999999999999"],
        &["--batch-size", "-1"],
        &["--api-version", "2026-99"],
    ] {
        let mut all = vec!["upsert".to_owned(), arg(&input).to_owned()];
        all.extend(args.iter().map(|a| a.to_string()));
        let run = run(all, vec![]).await;
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_refused_before_sending_go_to_the_report_as_they_come() {
    // 200,000 rows without their key: none is sent, each is reported as it
    // is read, so memory stays where a valid run's is (about 15 MiB).
    let dir = dir("refused-rows");
    let mut csv = String::from("email,firstname\n");
    for i in 0..200_000 {
        csv.push_str(&format!(",Nobody{i}\n"));
    }
    let input = write(&dir, "contacts.csv", csv);
    let report_path = dir.join("report.jsonl");
    let run = run(
        vec![
            "upsert".into(),
            arg(&input).into(),
            "--report".into(),
            arg(&report_path).into(),
        ],
        vec![],
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(report(&report_path).len(), 200_000);
    let peak = support::peak_rss_mib(&run.stderr).expect("the summary reports the peak RSS");
    assert!(peak < 40.0, "peak RSS {peak} MiB for rows never sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_error_names_its_cause() {
    let dir = dir("unreachable");
    let input = write(&dir, "contacts.csv", creates(1));
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let run = run(
        vec![
            "upsert".into(),
            arg(&input).into(),
            "--base-url".into(),
            format!("http://127.0.0.1:{port}"),
        ],
        vec![("HUBSPOT_TOKEN", TOKEN.to_owned())],
    )
    .await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains("Connection refused"),
        "the cause is printed: {}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_progress_counts_rows_settled() {
    // `script` (util-linux) gives the run a terminal, where the progress line shows.
    let fake = FakeHubSpot::builder()
        .latency(Duration::from_millis(20))
        .start()
        .await
        .unwrap();
    let dir = dir("progress");
    let input = write(&dir, "contacts.csv", creates(2_000));
    let command = format!(
        "HUBSPOT_TOKEN={TOKEN} {} upsert {} --base-url {} --batch-size 10 --concurrency 2 --rate-limit off",
        env!("CARGO_BIN_EXE_hubspot-contacts"),
        arg(&input),
        fake.base_url()
    );
    let output = tokio::task::spawn_blocking(move || {
        Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let screen = String::from_utf8_lossy(&output.stdout);
    let counts: Vec<u64> = screen
        .split(['\r', '\n'])
        .filter_map(|frame| {
            let (before, _) = frame.split_once(" rows settled")?;
            before.rsplit(' ').next()?.parse().ok()
        })
        .collect();
    assert!(
        counts.iter().any(|&n| n > 0 && n < 2_000),
        "the line counted rows as they settled: {counts:?}"
    );
    assert!(!screen.contains('%'), "no percentage of bytes read");
    assert_eq!(live_contacts(&fake), 2_000);
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_read_keeps_what_was_read_and_a_failed_output_records_nothing_as_read() {
    let fake = fake().await;
    let dir = dir("read-resume");
    let input = write(&dir, "contacts.csv", creates(20));
    let upserted = run_against(&fake, &["upsert", arg(&input)]).await;
    assert_eq!(upserted.code, 0, "{upserted:?}");
    let report_path = dir.join("read.jsonl");
    let output = dir.join("contacts.jsonl");
    let args = [
        "read",
        "--id-property",
        "email",
        arg(&input),
        "--report",
        arg(&report_path),
        "--output",
        arg(&output),
    ];
    let first = run_against(&fake, &args).await;
    assert_eq!(first.code, 0, "{first:?}");
    // The journal as a run stopped after settling 10 rows leaves it.
    let kept: Vec<String> = journal(&report_path)
        .into_iter()
        .filter(|line| line.get("journal").is_some() || line["row"].as_u64() <= Some(10))
        .map(|line| line.to_string())
        .collect();
    std::fs::write(&report_path, format!("{}\n", kept.join("\n"))).unwrap();
    let read_before = std::fs::read_to_string(&output).unwrap().lines().count();
    let mut resume = args.to_vec();
    resume.push("--resume");
    let resumed = run_against(&fake, &resume).await;
    assert_eq!(resumed.code, 0, "{resumed:?}");
    let read_after = std::fs::read_to_string(&output).unwrap().lines().count();
    assert_eq!(read_before, 20);
    assert_eq!(
        read_after, 30,
        "the 20 read first stay; the 10 resumed are added"
    );

    let full = dir.join("full.jsonl");
    let failed = run_against(
        &fake,
        &[
            "read",
            "--id-property",
            "email",
            arg(&input),
            "--report",
            arg(&full),
            "--output",
            "/dev/full",
        ],
    )
    .await;
    assert_eq!(failed.code, 4, "{failed:?}");
    assert!(
        !journal(&full).iter().any(|line| line["outcome"] == "read"),
        "no row is recorded read when its contact could not be written"
    );
    assert!(
        !journal(&full)
            .iter()
            .any(|line| line.get("finished").is_some()),
        "a run that stopped early does not say it read the whole file"
    );
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_report_one_run_and_never_the_files_a_run_reads() {
    let fake = fake().await;
    let dir = dir("report-guard");
    let input = write(&dir, "contacts.csv", creates(3));
    let report_path = dir.join("report.jsonl");
    // In use by another run (which has not written yet): refused, untouched.
    std::fs::write(&report_path, "").unwrap();
    let held = std::fs::OpenOptions::new()
        .append(true)
        .open(&report_path)
        .unwrap();
    held.lock().unwrap();
    let busy = run_against(
        &fake,
        &["upsert", arg(&input), "--report", arg(&report_path)],
    )
    .await;
    assert_eq!(busy.code, 2, "{busy:?}");
    assert!(busy.stderr.contains("in use"), "{}", busy.stderr);
    assert_eq!(std::fs::read_to_string(&report_path).unwrap(), "");
    drop(held);
    // An unfinished journal of the same job is not started over without --resume.
    let header = journal_header(&fake, &input, "upsert", Some("email"));
    std::fs::write(&report_path, format!("{header}\n")).unwrap();
    let restart = run_against(
        &fake,
        &["upsert", arg(&input), "--report", arg(&report_path)],
    )
    .await;
    assert_eq!(restart.code, 2, "{restart:?}");
    assert!(restart.stderr.contains("--resume"), "{}", restart.stderr);
    // A finished one is.
    std::fs::remove_file(&report_path).unwrap();
    for _ in 0..2 {
        let again = run_against(
            &fake,
            &["upsert", arg(&input), "--report", arg(&report_path)],
        )
        .await;
        assert_eq!(again.code, 0, "{again:?}");
    }
    assert_eq!(journal(&report_path).last().unwrap()["finished"], true);
    // The token file and standard input's file are never overwritten.
    let token = write(&dir, "token", TOKEN);
    let args = vec![
        "upsert".to_owned(),
        arg(&input).to_owned(),
        "--base-url".to_owned(),
        fake.base_url(),
        "--token-file".to_owned(),
        arg(&token).to_owned(),
        "--report".to_owned(),
        arg(&token).to_owned(),
    ];
    let on_token = run(args, vec![]).await;
    assert_eq!(on_token.code, 2, "{on_token:?}");
    assert_eq!(std::fs::read_to_string(&token).unwrap(), TOKEN);
    let stdin = Command::new(env!("CARGO_BIN_EXE_hubspot-contacts"))
        .args(["upsert", "-", "--format", "csv", "--report", arg(&input)])
        .args(["--base-url", &fake.base_url()])
        .env("HUBSPOT_TOKEN", TOKEN)
        .stdin(std::fs::File::open(&input).unwrap())
        .output()
        .unwrap();
    assert_eq!(stdin.status.code(), Some(2), "{stdin:?}");
    assert_eq!(std::fs::read_to_string(&input).unwrap(), creates(3));
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_sends_an_upserts_unknown_rows_again() {
    let fake = fake().await;
    let dir = dir("resume-unknown");
    let input = write(&dir, "contacts.csv", creates(2));
    let header = journal_header(&fake, &input, "upsert", Some("email"));
    let report_path = write(
        &dir,
        "report.jsonl",
        format!(
            "{header}\n\
             {{\"row\":1,\"line\":2,\"key\":\"email user0@example.com\",\"outcome\":\"unknown\"}}\n\
             {{\"row\":2,\"line\":3,\"key\":\"email user1@example.com\",\"outcome\":\"created\",\"id\":\"9\"}}\n"
        ),
    );
    let resumed = run_against(
        &fake,
        &[
            "upsert",
            arg(&input),
            "--report",
            arg(&report_path),
            "--resume",
        ],
    )
    .await;
    assert_eq!(resumed.code, 0, "{resumed:?}");
    assert_eq!(last_lines(&report_path)[&1]["outcome"], "created");
    assert_eq!(
        live_contacts(&fake),
        1,
        "row 2 was settled before and not sent"
    );
    fake.shutdown().await;
}

/// A row left in flight whose key an earlier row created: the contact found
/// is that row's, never this one's creation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_never_claims_a_contact_an_earlier_row_of_the_same_key_created() {
    for command in ["upsert", "create"] {
        let fake = fake().await;
        let dir = dir(&format!("resume-repeated-key-{command}"));
        let first = write(
            &dir,
            "first.csv",
            "email,firstname\ndup@example.com,First\n",
        );
        let made = run_against(&fake, &["create", arg(&first)]).await;
        assert_eq!(made.code, 0, "{made:?}");
        let id = fake.contacts()[0].id.clone();
        // Row 1 created the contact; row 2, the same email, was in flight.
        let input = write(
            &dir,
            "contacts.csv",
            "email,firstname\ndup@example.com,First\ndup@example.com,Second\n",
        );
        let key = (command == "upsert").then_some("email");
        let header = journal_header(&fake, &input, command, key);
        let report_path = write(
            &dir,
            "report.jsonl",
            format!(
                "{header}\n\
                 {{\"row\":1,\"line\":2,\"key\":\"email dup@example.com\",\"sent\":true}}\n\
                 {{\"row\":1,\"line\":2,\"key\":\"email dup@example.com\",\"outcome\":\"created\",\"id\":\"{id}\"}}\n\
                 {{\"row\":2,\"line\":3,\"key\":\"email dup@example.com\",\"sent\":true}}\n"
            ),
        );
        let resumed = run_against(
            &fake,
            &[
                command,
                arg(&input),
                "--report",
                arg(&report_path),
                "--resume",
            ],
        )
        .await;
        let last = last_lines(&report_path);
        assert_eq!(live_contacts(&fake), 1, "{command}: {resumed:?}");
        if command == "upsert" {
            assert_eq!(resumed.code, 0, "{resumed:?}");
            assert_eq!(last[&2]["outcome"], "updated", "sent again: {:?}", last[&2]);
            assert_eq!(fake.contacts()[0].properties["firstname"], "Second");
        } else {
            assert_eq!(resumed.code, 1, "{resumed:?}");
            assert_eq!(last[&2]["outcome"], "failed", "{:?}", last[&2]);
            let message = last[&2]["error"]["message"].as_str().unwrap();
            assert!(message.contains("row 1 of this run created"), "{message}");
        }
        fake.shutdown().await;
    }
}

/// Rows waiting for the rate limiter have not been sent: a kill leaves them
/// without a `sent` line, and the resume sends them, even creates without a
/// key (which it could never read back).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_are_journaled_sent_only_when_their_request_leaves() {
    let fake = fake().await;
    let dir = dir("sent-when-sent");
    let mut csv = String::from("firstname,lastname\n");
    for i in 0..300 {
        csv.push_str(&format!("K{i},L{i}\n"));
    }
    let input = write(&dir, "keyless.csv", csv);
    let report_path = dir.join("report.jsonl");
    // The preflight's read takes the one request of the first 10 s.
    let args = [
        "create",
        arg(&input),
        "--report",
        arg(&report_path),
        "--rate-limit",
        "1/10s",
    ];
    let child = spawn(&fake, &args);
    wait_for_a_request(&fake).await;
    // Time for the rows to be read and handed to the SDK, which holds them.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .unwrap()
            .success()
    );
    let _ = wait(child).await;
    assert_eq!(fake.stats().requests, 1, "no create left");
    let sent = journal(&report_path)
        .iter()
        .filter(|line| line.get("sent").is_some())
        .count();
    assert_eq!(sent, 0, "nothing was sent, so no row is journaled as sent");
    let resumed = run_against(
        &fake,
        &[
            "create",
            arg(&input),
            "--report",
            arg(&report_path),
            "--resume",
            "--rate-limit",
            "off",
        ],
    )
    .await;
    assert_eq!(resumed.code, 0, "{resumed:?}");
    assert_eq!(live_contacts(&fake), 300);
    let last = last_lines(&report_path);
    assert!(
        last.values().all(|line| line["outcome"] == "created"),
        "{last:?}"
    );
    fake.shutdown().await;
}

/// Before anything is written (here: an endless header line on standard
/// input), the first Ctrl-C exits at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_before_anything_is_written_exits_at_once() {
    let fake = fake().await;
    // Zeros without a line break, until the CLI is gone.
    let (child, feeder) = spawn_fed(&fake, &["upsert", "-", "--format", "csv"], |mut stdin| {
        let zeros = [0u8; 64 * 1024];
        while stdin.write_all(&zeros).is_ok() {}
    });
    // The preflight's read came (so the signal handler is in place); the
    // endless header line is being read now.
    wait_for_a_request(&fake).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (code, stderr) = interrupt(
        child,
        "the first Ctrl-C did not end a run that had written nothing",
    )
    .await;
    feeder.join().unwrap();
    assert_eq!(code, 130, "{stderr}");
    assert!(
        stderr.contains("interrupted; nothing was written"),
        "{stderr}"
    );
    assert!(fake.stats().requests <= 1, "at most the preflight's read");
    assert!(fake.contacts().is_empty());
    fake.shutdown().await;
}

/// A dry run stops reading at the first Ctrl-C and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_a_dry_run() {
    let fake = fake().await;
    let dir = dir("ctrl-c-dry-run");
    let report_path = dir.join("report.jsonl");
    let args = [
        "upsert",
        "-",
        "--format",
        "csv",
        "--dry-run",
        "--report",
        arg(&report_path),
    ];
    // Rows without end, until the CLI is gone.
    let (child, feeder) = spawn_fed(&fake, &args, |mut stdin| {
        if stdin.write_all(b"email,firstname\n").is_err() {
            return;
        }
        let rows = "a@example.com,A\n".repeat(4096);
        while stdin.write_all(rows.as_bytes()).is_ok() {}
    });
    // Under way: rows are being checked.
    wait_for_outcomes(&report_path, 1).await;
    let (code, stderr) = interrupt(child, "the dry run went on after Ctrl-C").await;
    feeder.join().unwrap();
    assert_eq!(code, 130, "{stderr}");
    assert!(
        stderr.contains("INTERRUPTED: the dry run stopped reading"),
        "{stderr}"
    );
    assert!(fake.contacts().is_empty());
    fake.shutdown().await;
}

/// A resume judges HubSpot's creation times by HubSpot's clock: the journal's
/// start on this machine's clock may be far off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_judges_creation_times_by_hubspots_clock() {
    let fake = fake().await;
    let dir = dir("resume-hubspot-clock");
    let input = write(&dir, "contacts.csv", creates(1));
    // The first run's request, applied before it was killed.
    let made = run_against(&fake, &["create", arg(&input)]).await;
    assert_eq!(made.code, 0, "{made:?}");
    // This machine's clock was far ahead; HubSpot's start came before the create.
    let mut header: serde_json::Value =
        serde_json::from_str(&journal_header(&fake, &input, "create", None)).unwrap();
    header["startedAt"] = "2099-01-01T00:00:00.000Z".into();
    header["hubspotStartedAt"] = "2020-01-01T00:00:00.000Z".into();
    let report_path = write(
        &dir,
        "report.jsonl",
        format!("{header}\n{{\"row\":1,\"line\":2,\"key\":\"\",\"sent\":true}}\n"),
    );
    let resumed = run_against(
        &fake,
        &[
            "create",
            arg(&input),
            "--report",
            arg(&report_path),
            "--resume",
        ],
    )
    .await;
    assert_eq!(resumed.code, 0, "{resumed:?}");
    assert_eq!(last_lines(&report_path)[&1]["outcome"], "created");
    assert_eq!(live_contacts(&fake), 1, "not sent again");
    fake.shutdown().await;
}

/// A run with a preflight records its start on HubSpot's clock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_records_the_start_on_hubspots_clock() {
    let fake = fake().await;
    let dir = dir("journal-hubspot-clock");
    let input = write(&dir, "contacts.csv", creates(1));
    let report_path = dir.join("report.jsonl");
    let run = run_against(
        &fake,
        &["create", arg(&input), "--report", arg(&report_path)],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let header = journal(&report_path).remove(0);
    let at = header["hubspotStartedAt"].as_str().expect("recorded");
    assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "{at}");
    fake.shutdown().await;
}

/// A row sent again on resume never puts back an older value: the later rows
/// of its key are sent again after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_keeps_the_files_last_value_for_a_key() {
    let fake = fake().await;
    let dir = dir("resume-key-order");
    let input = write(
        &dir,
        "contacts.csv",
        "email,firstname\na@example.com,v1\nA@example.com,v2\na@EXAMPLE.com,v3\n",
    );
    let report_path = dir.join("report.jsonl");
    let args = [
        "upsert",
        arg(&input),
        "--report",
        arg(&report_path),
        "--batch-size",
        "1",
        "--concurrency",
        "1",
    ];
    let first = run_against(&fake, &args).await;
    assert_eq!(first.code, 0, "{first:?}");
    // As a run leaves it when row 1's answer was lost for good: unknown.
    let text = std::fs::read_to_string(&report_path).unwrap();
    let edited: String = text
        .lines()
        .map(|line| {
            let mut entry: serde_json::Value = serde_json::from_str(line).unwrap();
            if entry["row"] == 1 && entry.get("outcome").is_some() {
                entry["outcome"] = "unknown".into();
                entry["error"] = serde_json::json!({"message": "HubSpot answered 503"});
                entry.as_object_mut().unwrap().remove("id");
            }
            format!("{entry}\n")
        })
        .filter(|line| !line.contains("\"finished\""))
        .collect();
    std::fs::write(&report_path, edited).unwrap();
    let mut resumed_args = args.to_vec();
    resumed_args.push("--resume");
    let resumed = run_against(&fake, &resumed_args).await;
    assert_eq!(resumed.code, 0, "{resumed:?}");
    let contacts = fake.contacts();
    assert_eq!(contacts.len(), 1);
    assert_eq!(
        contacts[0].properties["firstname"], "v3",
        "the file's last row wins"
    );
    let last = last_lines(&report_path);
    for row in 1..=3 {
        assert_eq!(
            last[&row]["outcome"], "updated",
            "row {row}: {:?}",
            last[&row]
        );
    }
    fake.shutdown().await;
}

/// A create left unknown is read back on resume: created by the run, it is
/// reported so; absent, it is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_reads_back_a_creates_unknown_rows() {
    let fake = fake().await;
    let dir = dir("resume-unknown-create");
    let input = write(&dir, "contacts.csv", creates(2));
    // Row 1's create was applied although its answer was lost; row 2's was not.
    let first = write(&dir, "first.csv", creates(1));
    let made = run_against(&fake, &["create", arg(&first)]).await;
    assert_eq!(made.code, 0, "{made:?}");
    let header = journal_header(&fake, &input, "create", None);
    let unknown = |row: u64| {
        format!(
            "{{\"row\":{row},\"line\":{},\"key\":\"\",\"outcome\":\"unknown\",\"error\":{{\"message\":\"HubSpot answered 503\"}}}}\n",
            row + 1
        )
    };
    let report_path = write(
        &dir,
        "report.jsonl",
        format!("{header}\n{}{}", unknown(1), unknown(2)),
    );
    let resumed = run_against(
        &fake,
        &[
            "create",
            arg(&input),
            "--report",
            arg(&report_path),
            "--resume",
        ],
    )
    .await;
    assert_eq!(resumed.code, 0, "{resumed:?}");
    let last = last_lines(&report_path);
    assert_eq!(last[&1]["outcome"], "created", "read back: {:?}", last[&1]);
    assert_eq!(last[&2]["outcome"], "created", "sent: {:?}", last[&2]);
    assert_eq!(live_contacts(&fake), 2, "none twice");
    fake.shutdown().await;
}
