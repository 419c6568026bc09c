//! End-to-end tests of the `hubspot-contacts` binary against a hubspot-fake
//! started in the test process: exit codes, the report, dry runs, bad rows,
//! every subcommand, a 20,000-row file, and the embedded default.

mod support;

use std::fmt::Write as _;

use serde_json::Value;
use support::{
    TOKEN, arg, at_line, dir, fake, live_contacts, peak_rss_mib, report, run, run_against, write,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_rows_are_reported_by_line_while_the_rest_lands() {
    let fake = fake().await;
    let dir = dir("bad-rows");
    let mut csv = b"email,firstname,lastname,\n".to_vec();
    csv.extend_from_slice(b"ada@example.com,Ada,Lovelace,\n"); // line 2
    csv.extend_from_slice(b"grace@example.com,\"Grace\"x,Hopper,\n"); // 3: text after a closing quote
    csv.extend_from_slice(b"alan@example.com,Al\xffan,Turing,\n"); // 4: invalid UTF-8
    csv.extend_from_slice(b",Nobody,Empty,\n"); // 5: empty key
    csv.extend_from_slice(b"not-an-email,Bad,Email,\n"); // 6: HubSpot would refuse it
    csv.extend_from_slice(b"edsger@example.com,Edsger,Dijkstra,stray\n"); // 7: value in an unnamed column
    csv.extend_from_slice(b"\n"); // 8: blank, not a row
    csv.extend_from_slice(b"barbara@example.com,Barbara,\"Liskov, Jr.\",\n"); // 9
    csv.extend_from_slice(b"ken@example.com,Ken\n"); // 10: too few fields
    let input = write(&dir, "contacts.csv", csv);
    let report_path = dir.join("report.json");

    let run = run_against(
        &fake,
        &["upsert", arg(&input), "--report", arg(&report_path)],
    )
    .await;

    assert_eq!(run.code, 1, "{run:?}");
    let entries = report(&report_path);
    assert_eq!(entries.len(), 8, "one entry per row: {entries:#?}");
    for (line, expected) in [
        (3, "bad quoting"),
        (4, "not valid UTF-8"),
        (5, "empty"),
        (7, "not a property name"),
        (10, "fields but the header has"),
    ] {
        let entry = at_line(&entries, line);
        assert_eq!(entry["outcome"], "failed", "line {line}: {entry}");
        assert_eq!(entry["error"]["category"], "INVALID_INPUT", "line {line}");
        let message = entry["error"]["message"].as_str().unwrap();
        assert!(message.contains(expected), "line {line}: {message}");
    }
    assert_eq!(at_line(&entries, 4)["key"], "email alan@example.com");
    // The preflight refuses the invalid email before sending it, with the
    // code HubSpot would have given.
    let refused = at_line(&entries, 6);
    assert_eq!(refused["outcome"], "failed");
    assert_eq!(refused["error"]["category"], "INVALID_INPUT");
    assert_eq!(refused["error"]["code"], "INVALID_EMAIL");
    assert_eq!(refused["key"], "email not-an-email");
    for (line, row) in [(2, 1), (9, 7)] {
        let entry = at_line(&entries, line);
        assert_eq!(entry["outcome"], "created", "{entry}");
        assert_eq!(entry["row"], row);
        assert!(entry["id"].is_string());
    }
    assert!(
        run.stderr
            .contains("line 3: failed: INVALID_INPUT: bad quoting"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("created 2, updated 0, failed 6 (6 bad rows), unknown 0"),
        "{}",
        run.stderr
    );
    let contacts = fake.contacts();
    assert_eq!(contacts.len(), 2);
    let barbara = contacts
        .iter()
        .find(|c| c.properties.get("email").map(String::as_str) == Some("barbara@example.com"))
        .unwrap();
    assert_eq!(barbara.properties["lastname"], "Liskov, Jr.");
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_run_exits_zero_and_again_updates() {
    let fake = fake().await;
    let dir = dir("clean");
    let input = write(
        &dir,
        "contacts.jsonl",
        "{\"email\":\"ada@example.com\",\"firstname\":\"Ada\",\"zip\":12345}\n\
         \n\
         {\"email\":\"grace@example.com\",\"firstname\":\"Grace\",\"phone\":null}\n",
    );
    let first = run_against(&fake, &["upsert", arg(&input)]).await;
    assert_eq!(first.code, 0, "{first:?}");
    assert!(
        first
            .stderr
            .contains("created 2, updated 0, failed 0, unknown 0"),
        "{}",
        first.stderr
    );
    assert!(
        first.stderr.contains("requests 1, retries 0, 429s 0"),
        "{}",
        first.stderr
    );
    let second = run_against(&fake, &["upsert", arg(&input), "--quiet"]).await;
    assert_eq!(second.code, 0, "{second:?}");
    assert_eq!(second.stderr, "", "--quiet prints nothing when all is well");
    assert_eq!(live_contacts(&fake), 2);
    let ada = fake
        .contacts()
        .into_iter()
        .find(|c| c.properties.get("firstname").map(String::as_str) == Some("Ada"))
        .unwrap();
    assert_eq!(ada.properties["zip"], "12345", "numbers become strings");
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonl_rows_of_the_wrong_shape_are_reported() {
    let fake = fake().await;
    let dir = dir("jsonl-shapes");
    let input = write(
        &dir,
        "contacts.jsonl",
        "{\"email\":\"ada@example.com\"}\n\
         [1,2]\n\
         {\"email\":\"grace@example.com\",\"tags\":[\"a\"]}\n\
         {\"firstname\":\"no key\"}\n\
         {\"email\":\n",
    );
    let report_path = dir.join("report.json");
    let run = run_against(
        &fake,
        &["upsert", arg(&input), "--report", arg(&report_path)],
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    let entries = report(&report_path);
    assert_eq!(entries.len(), 5);
    assert_eq!(at_line(&entries, 1)["outcome"], "created");
    for (line, expected) in [
        (2, "not an object"),
        (3, "\"tags\" is a JSON array"),
        (4, "missing"),
        (5, "not valid JSON"),
    ] {
        let message = at_line(&entries, line)["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.contains(expected), "line {line}: {message}");
    }
    assert_eq!(at_line(&entries, 3)["key"], "email grace@example.com");
    assert_eq!(live_contacts(&fake), 1);
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_plans_and_sends_only_the_preflight_read() {
    let fake = fake().await;
    let dir = dir("dry-run");
    let mut csv = String::from("email,firstname\n");
    for n in 0..250 {
        writeln!(csv, "user{n}@example.com,User").unwrap();
    }
    csv.push_str(",Empty\n");
    let input = write(&dir, "contacts.csv", csv);
    let report_path = dir.join("report.json");

    let run = run_against(
        &fake,
        &[
            "upsert",
            arg(&input),
            "--dry-run",
            "--report",
            arg(&report_path),
        ],
    )
    .await;

    assert_eq!(run.code, 1, "an invalid row makes the plan exit 1: {run:?}");
    assert!(run.stdout.contains("rows      251"), "{}", run.stdout);
    assert!(run.stdout.contains("valid     250"), "{}", run.stdout);
    assert!(run.stdout.contains("invalid   1"), "{}", run.stdout);
    assert!(
        run.stdout.contains("requests  3 (up to 100 inputs each)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("checked against the portal's")
            && run.stdout.contains("the one read sent"),
        "{}",
        run.stdout
    );
    assert_eq!(fake.stats().requests, 1, "only the preflight's read");
    assert!(fake.contacts().is_empty());
    let entries = report(&report_path);
    assert_eq!(entries.len(), 251);
    assert_eq!(at_line(&entries, 2)["outcome"], "valid");
    let unchecked = run_against(
        &fake,
        &["upsert", arg(&input), "--dry-run", "--no-preflight"],
    )
    .await;
    assert_eq!(unchecked.code, 1, "{unchecked:?}");
    assert!(
        unchecked.stdout.contains("nothing sent"),
        "{}",
        unchecked.stdout
    );
    assert_eq!(
        fake.stats().requests,
        1,
        "without the preflight, not even a read"
    );
    assert_eq!(at_line(&entries, 252)["outcome"], "failed");
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_and_configuration_errors_exit_2() {
    let fake = fake().await;
    let dir = dir("usage");
    let csv = write(&dir, "contacts.csv", "email,firstname\na@example.com,A\n");
    let no_key = write(&dir, "nokey.csv", "firstname\nA\n");
    let text = write(&dir, "contacts.txt", "email\n");
    let missing = dir.join("missing.csv");
    let cases: Vec<Vec<&str>> = vec![
        vec!["upsert", arg(&csv), "--no-such-flag"],
        vec!["upsert", arg(&csv), "--batch-size", "101"],
        vec!["v1-batch", arg(&csv), "--batch-size", "1001"],
        vec!["upsert", arg(&csv), "--rate-limit", "fast"],
        vec!["upsert", arg(&missing)],
        vec!["upsert", arg(&no_key)],
        vec!["upsert", arg(&text)],
        vec!["update", arg(&csv), "--id-property", "email"],
        vec!["upsert", arg(&csv), "--token-file", arg(&missing)],
        vec!["frobnicate", arg(&csv)],
    ];
    for args in cases {
        let run = run_against(&fake, &args).await;
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(!run.stderr.is_empty(), "{args:?} says why");
    }
    // A report or output that could never be written: refused before any request.
    let nowhere = dir.join("no-such-folder").join("report.jsonl");
    let before = fake.stats().requests;
    let unwritable: Vec<Vec<&str>> = vec![
        vec!["upsert", arg(&csv), "--report", "-"],
        vec!["upsert", arg(&csv), "--report", arg(&nowhere)],
        vec!["read", arg(&csv), "--output", arg(&nowhere)],
    ];
    for args in unwritable {
        let run = run_against(&fake, &args).await;
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(
            run.stderr.contains("--"),
            "{args:?} names the flag: {}",
            run.stderr
        );
    }
    assert_eq!(fake.stats().requests, before, "nothing was sent");
    // A base URL without a token.
    let args = vec![
        "upsert".into(),
        arg(&csv).into(),
        "--base-url".into(),
        fake.base_url(),
    ];
    let run = run(args, vec![]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("HUBSPOT_TOKEN"), "{}", run.stderr);
    assert!(fake.contacts().is_empty(), "no usage error writes anything");

    let help = support::run(vec!["--help".into()], vec![]).await;
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("Exit codes:"), "{}", help.stdout);
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_comes_from_a_file() {
    let fake = hubspot_fake::FakeHubSpot::builder()
        .tokens(["file-secret"])
        .start()
        .await
        .unwrap();
    let dir = dir("token-file");
    let csv = write(&dir, "contacts.csv", "email\na@example.com\n");
    let token = write(&dir, "token", "file-secret\n");
    let args = |token_file: &str| {
        vec![
            "upsert".to_owned(),
            arg(&csv).to_owned(),
            "--base-url".to_owned(),
            fake.base_url(),
            "--token-file".to_owned(),
            token_file.to_owned(),
        ]
    };
    let good = run(args(arg(&token)), vec![]).await;
    assert_eq!(good.code, 0, "{good:?}");
    let wrong = write(&dir, "wrong", "nope");
    let refused = run(
        args(arg(&wrong)),
        vec![("HUBSPOT_TOKEN", "file-secret".into())],
    )
    .await;
    assert_eq!(
        refused.code, 3,
        "the file wins over the environment, and a refused token stops the run: {refused:?}"
    );
    assert!(refused.stderr.contains("401"), "{}", refused.stderr);
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_update_read_and_archive_by_record_id() {
    let fake = fake().await;
    let dir = dir("lifecycle");
    let created_report = dir.join("created.json");
    let input = write(
        &dir,
        "new.csv",
        "email,firstname\nada@example.com,Ada\ngrace@example.com,Grace\n",
    );
    let run = run_against(
        &fake,
        &["create", arg(&input), "--report", arg(&created_report)],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let ids: Vec<String> = report(&created_report)
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2);

    let mut updates = String::from("id,city\n");
    for id in &ids {
        writeln!(updates, "{id},Paris").unwrap();
    }
    updates.push_str("999999,Nowhere\n");
    let updates = write(&dir, "updates.csv", updates);
    let update_report = dir.join("updated.json");
    let run = run_against(
        &fake,
        &["update", arg(&updates), "--report", arg(&update_report)],
    )
    .await;
    assert_eq!(run.code, 1, "the unknown id fails: {run:?}");
    let entries = report(&update_report);
    assert_eq!(at_line(&entries, 2)["outcome"], "updated");
    assert_eq!(at_line(&entries, 4)["outcome"], "failed");
    assert!(
        fake.contacts()
            .iter()
            .all(|c| c.properties["city"] == "Paris")
    );

    let keys = write(
        &dir,
        "keys.jsonl",
        "{\"email\":\"ada@example.com\"}\n{\"email\":\"grace@example.com\"}\n",
    );
    let output = dir.join("read.jsonl");
    let run = run_against(
        &fake,
        &[
            "read",
            arg(&keys),
            "--id-property",
            "email",
            "--properties",
            "city,firstname",
            "--output",
            arg(&output),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let read: Vec<Value> = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(read.len(), 2);
    assert_eq!(read[0]["properties"]["firstname"], "Ada");
    assert_eq!(read[1]["properties"]["city"], "Paris");

    let run = run_against(&fake, &["read", arg(&keys), "--id-property", "email"]).await;
    assert_eq!(
        run.stdout.lines().count(),
        2,
        "read writes JSONL to stdout: {run:?}"
    );

    let archive = write(&dir, "archive.csv", format!("id\n{}\n", ids[0]));
    let run = run_against(&fake, &["archive", arg(&archive)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("archived 1"), "{}", run.stderr);
    assert_eq!(live_contacts(&fake), 1);
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_batch_accepts_contacts_by_email() {
    let fake = fake().await;
    let dir = dir("v1");
    let input = write(
        &dir,
        "contacts.csv",
        "email,firstname\nada@example.com,Ada\ngrace@example.com,Grace\n",
    );
    let run = run_against(&fake, &["v1-batch", arg(&input), "--batch-size", "500"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("accepted 2"), "{}", run.stderr);
    assert_eq!(live_contacts(&fake), 2);
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_jsonl_rows_sync_in_bounded_memory() {
    let fake = fake().await;
    let dir = dir("twenty-thousand");
    let mut jsonl = String::new();
    for n in 0..20_000 {
        writeln!(
            jsonl,
            "{{\"email\":\"user{n}@example.com\",\"firstname\":\"User\",\"lastname\":\"Number {n}\",\"company\":\"Acme\",\"city\":\"Paris\",\"zip\":{n}}}"
        )
        .unwrap();
    }
    let input = write(&dir, "contacts.jsonl", jsonl);
    let report_path = dir.join("report.json");

    let run = run_against(
        &fake,
        &["upsert", arg(&input), "--report", arg(&report_path)],
    )
    .await;

    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(live_contacts(&fake), 20_000);
    assert!(run.stderr.contains("created 20000"), "{}", run.stderr);
    assert!(run.stderr.contains("requests 200,"), "{}", run.stderr);
    assert_eq!(report(&report_path).len(), 20_000);
    if cfg!(target_os = "linux") {
        let peak = peak_rss_mib(&run.stderr).expect("the summary reports the peak RSS on Linux");
        assert!(
            peak < 64.0,
            "peak RSS {peak} MiB for 20,000 rows: {}",
            run.stderr
        );
    }
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_nothing_configured_the_sample_goes_into_an_embedded_fake() {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/contacts.csv");
    let run = run(vec!["upsert".into(), sample.into()], vec![]).await;
    assert_eq!(run.code, 1, "the sample has deliberately bad rows: {run:?}");
    assert!(
        run.stderr.contains("embedded hubspot-fake"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("1001 rows"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("created 997, updated 1, failed 3 (3 bad rows), unknown 0"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("now holds 997 contacts"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("line 561: failed: INVALID_INPUT: bad quoting"),
        "{}",
        run.stderr
    );
    let _ = TOKEN;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_api_version_sends_to_its_own_paths_and_is_named_in_summary_and_report() {
    let fake = fake().await;
    let dir = dir("api-versions");
    let input = write(
        &dir,
        "contacts.csv",
        "email,firstname\nada@example.com,Ada\ngrace@example.com,Grace\n",
    );
    let report_path = dir.join("report.json");
    // (flag, environment, the version the run must use)
    let cases: [(Option<&str>, Option<&str>, &str); 4] = [
        (None, None, "2026-09"),
        (Some("v3"), None, "v3"),
        (Some("2026-03"), None, "2026-03"),
        (None, Some("v3"), "v3"),
    ];
    for (flag, env, expected) in cases {
        let before = fake.stats();
        let mut args = vec![
            "upsert".to_owned(),
            arg(&input).to_owned(),
            "--report".to_owned(),
            arg(&report_path).to_owned(),
            "--base-url".to_owned(),
            fake.base_url(),
        ];
        if let Some(version) = flag {
            args.extend(["--api-version".to_owned(), version.to_owned()]);
        }
        let mut vars = vec![("HUBSPOT_TOKEN", TOKEN.to_owned())];
        if let Some(version) = env {
            vars.push(("HUBSPOT_API_VERSION", version.to_owned()));
        }
        let run = run(args, vars).await;
        assert_eq!(run.code, 0, "{flag:?} {env:?}: {run:?}");
        let after = fake.stats();
        let route = hubspot_fake::routes::batch(expected, "upsert");
        assert_eq!(
            after.count(&route, 200) - before.count(&route, 200),
            1,
            "{flag:?} {env:?}: one request to {route}: {after:?}"
        );
        let properties = hubspot_fake::routes::properties(expected);
        assert_eq!(
            after.count(&properties, 200) - before.count(&properties, 200),
            1,
            "{flag:?} {env:?}: the preflight reads {properties}: {after:?}"
        );
        assert_eq!(after.requests - before.requests, 2, "{flag:?} {env:?}");
        assert!(
            run.stderr
                .contains(&format!("upsert (API {expected}): 2 rows")),
            "{}",
            run.stderr
        );
        let entries = report(&report_path);
        assert_eq!(entries.len(), 2);
        for entry in &entries {
            assert_eq!(entry["apiVersion"], expected, "{entry}");
        }
    }
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_api_version_is_a_usage_error_that_lists_the_known_ones() {
    let fake = fake().await;
    let dir = dir("unknown-version");
    let input = write(&dir, "contacts.csv", "email\nada@example.com\n");
    let flagged = run_against(&fake, &["upsert", arg(&input), "--api-version", "2025-01"]).await;
    let from_env = run(
        vec!["upsert".to_owned(), arg(&input).to_owned()],
        vec![
            ("HUBSPOT_TOKEN", TOKEN.to_owned()),
            ("HUBSPOT_BASE_URL", fake.base_url()),
            ("HUBSPOT_API_VERSION", "v4".to_owned()),
        ],
    )
    .await;
    for run in [flagged, from_env] {
        assert_eq!(run.code, 2, "{run:?}");
        assert!(
            run.stderr.contains("v3, 2026-03, 2026-09"),
            "{}",
            run.stderr
        );
    }
    assert_eq!(fake.stats().requests, 0, "nothing is sent");
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_property_an_admin_made_required_fails_its_rows_from_2026_09_on() {
    let fake = hubspot_fake::FakeHubSpot::builder()
        .required_property("lifecyclestage")
        .start()
        .await
        .unwrap();
    let dir = dir("required-property");
    let input = write(
        &dir,
        "contacts.csv",
        "email,lifecyclestage\nada@example.com,lead\ngrace@example.com,\n",
    );
    let report_path = dir.join("report.json");

    let latest = run_against(
        &fake,
        &["create", arg(&input), "--report", arg(&report_path)],
    )
    .await;
    assert_eq!(latest.code, 1, "{latest:?}");
    let entries = report(&report_path);
    assert_eq!(at_line(&entries, 2)["outcome"], "created", "{entries:#?}");
    let refused = at_line(&entries, 3);
    assert_eq!(refused["outcome"], "failed", "{refused}");
    assert_eq!(
        refused["error"]["code"], "MISSING_REQUIRED_PROPERTY",
        "{refused}"
    );
    assert_eq!(
        refused["error"]["context"]["propertyName"],
        serde_json::json!(["lifecyclestage"]),
        "{refused}"
    );
    assert!(
        latest.stderr.contains("lifecyclestage"),
        "{}",
        latest.stderr
    );
    assert_eq!(live_contacts(&fake), 1);

    // v3 does not enforce the rule: the same row goes through.
    let second = write(&dir, "more.csv", "email\nalan@example.com\n");
    let v3 = run_against(&fake, &["create", arg(&second), "--api-version", "v3"]).await;
    assert_eq!(v3.code, 0, "{v3:?}");
    assert_eq!(live_contacts(&fake), 2);
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_input_and_an_earlier_report_survive_usage_and_configuration_errors() {
    let fake = fake().await;
    let dir = dir("survive");
    let csv = "email,firstname\nada@example.com,Ada\n";
    let input = write(&dir, "contacts.csv", csv);

    // --report naming the input file: refused before anything is written.
    let same = run_against(&fake, &["upsert", arg(&input), "--report", arg(&input)]).await;
    assert_eq!(same.code, 2, "{same:?}");
    assert!(same.stderr.contains("is the input file"), "{}", same.stderr);
    assert_eq!(std::fs::read_to_string(&input).unwrap(), csv);
    // The same file under another name (a hard link) is caught too, and so
    // is read's --output.
    let link = dir.join("link.csv");
    std::fs::hard_link(&input, &link).unwrap();
    let linked = run_against(&fake, &["upsert", arg(&input), "--report", arg(&link)]).await;
    assert_eq!(linked.code, 2, "{linked:?}");
    let output = run_against(
        &fake,
        &[
            "read",
            "--id-property",
            "email",
            arg(&input),
            "--output",
            arg(&link),
        ],
    )
    .await;
    assert_eq!(output.code, 2, "{output:?}");
    assert!(output.stderr.contains("--output"), "{}", output.stderr);
    assert_eq!(std::fs::read_to_string(&input).unwrap(), csv);

    // A configuration error (a token over plain http to a remote host) leaves
    // the report of an earlier run as it was, and says what to do in CLI terms.
    let report_path = dir.join("report.jsonl");
    let earlier = run_against(
        &fake,
        &["upsert", arg(&input), "--report", arg(&report_path)],
    )
    .await;
    assert_eq!(earlier.code, 0, "{earlier:?}");
    let earlier_report = std::fs::read_to_string(&report_path).unwrap();
    let requests = fake.stats().requests;
    let refused = run(
        vec![
            "upsert".to_owned(),
            arg(&input).to_owned(),
            "--report".to_owned(),
            arg(&report_path).to_owned(),
            "--base-url".to_owned(),
            "http://hubspot.example.com".to_owned(),
        ],
        vec![("HUBSPOT_TOKEN", TOKEN.to_owned())],
    )
    .await;
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(
        refused.stderr.contains("use an https:// base URL")
            && !refused.stderr.contains("allow_insecure_http"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&report_path).unwrap(),
        earlier_report
    );
    assert_eq!(fake.stats().requests, requests);
    // Nor is a file that is not a journal, or a journal of another
    // unfinished job, ever overwritten by a new run.
    let other = write(&dir, "notes.txt", "precious\n");
    let kept = run_against(&fake, &["upsert", arg(&input), "--report", arg(&other)]).await;
    assert_eq!(kept.code, 2, "{kept:?}");
    assert!(
        kept.stderr.contains("not a hubspot-contacts journal"),
        "{}",
        kept.stderr
    );
    assert_eq!(std::fs::read_to_string(&other).unwrap(), "precious\n");
    let unfinished: String = earlier_report
        .lines()
        .filter(|line| !line.contains("\"finished\""))
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(&report_path, &unfinished).unwrap();
    let input_b = write(&dir, "other.csv", "email\nb@example.com\n");
    let another = run_against(
        &fake,
        &["upsert", arg(&input_b), "--report", arg(&report_path)],
    )
    .await;
    assert_eq!(another.code, 2, "{another:?}");
    assert!(
        another.stderr.contains("unfinished run of another job"),
        "{}",
        another.stderr
    );
    assert_eq!(std::fs::read_to_string(&report_path).unwrap(), unfinished);
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_refuses_a_report_naming_a_row_the_input_cannot_hold() {
    let fake = fake().await;
    let dir = dir("resume-damaged");
    let input = write(
        &dir,
        "contacts.csv",
        "email,firstname\nj1@x.com,A\nj2@x.com,B\n",
    );
    let report_path = dir.join("report.jsonl");
    let mut args = vec!["upsert", arg(&input), "--report", arg(&report_path)];
    let first = run_against(&fake, &args).await;
    assert_eq!(first.code, 0, "{first:?}");
    let text = std::fs::read_to_string(&report_path).unwrap();
    let header = text.lines().next().unwrap();
    let requests = fake.stats().requests;

    // A hand-edited or damaged row number: refused before anything is sent
    // or written, never a crash (it once sized memory by it).
    args.push("--resume");
    for row in ["1099511627776", "18446744073709551615", "0"] {
        let damaged =
            format!("{header}\n{{\"row\":{row},\"line\":2,\"key\":\"x\",\"sent\":true}}\n");
        std::fs::write(&report_path, &damaged).unwrap();
        let resumed = run_against(&fake, &args).await;
        assert_eq!(resumed.code, 2, "{resumed:?}");
        assert!(
            resumed.stderr.contains("line 2 is not a journal entry")
                && resumed.stderr.contains(row),
            "{}",
            resumed.stderr
        );
        assert_eq!(std::fs::read_to_string(&report_path).unwrap(), damaged);
    }
    assert_eq!(fake.stats().requests, requests, "nothing was sent");
    fake.shutdown().await;
}
