//! The CLI's bad-input corpus: one CSV and one JSONL file, each row a named
//! case, synced in one run; every bad row gets its own error in the report
//! while the good rows land. Also: the token never reaches the report,
//! standard output or standard error.

mod support;

use support::{TOKEN, arg, at_line, dir, fake, report, run, run_against, write};

/// `(name, row, expected outcome, phrase of the error message)`.
type Row = (&'static str, Vec<u8>, &'static str, &'static str);

fn csv_rows() -> Vec<Row> {
    let over_long = format!("long@example.com,{},x\n", "y".repeat(5 * 1024 * 1024));
    vec![
        (
            "good row",
            b"ada@example.com,Ada,customer\n".to_vec(),
            "created",
            "",
        ),
        (
            "text after a closing quote",
            b"\"grace@example.com\"x,Grace,lead\n".to_vec(),
            "failed",
            "bad quoting",
        ),
        (
            "invalid UTF-8",
            b"alan@example.com,Al\xffan,lead\n".to_vec(),
            "failed",
            "not valid UTF-8",
        ),
        ("empty key", b",Nobody,lead\n".to_vec(), "failed", "empty"),
        (
            "blank key",
            b"   ,Nobody,lead\n".to_vec(),
            "failed",
            "empty",
        ),
        (
            "invalid email",
            b"not-an-email,Bad,lead\n".to_vec(),
            "failed",
            "invalid",
        ),
        (
            "too few fields",
            b"ken@example.com,Ken\n".to_vec(),
            "failed",
            "fields but the header has",
        ),
        (
            "too many fields",
            b"dennis@example.com,Dennis,lead,extra\n".to_vec(),
            "failed",
            "fields but the header has",
        ),
        (
            "unknown enumeration option",
            b"edsger@example.com,Edsger,martian\n".to_vec(),
            "failed",
            "martian",
        ),
        (
            "multi-select with ;",
            b"tony@example.com,Tony,lead;customer\n".to_vec(),
            "failed",
            "lead;customer",
        ),
        (
            "stray quote inside a field",
            b"linus@example.com,Li\"nus,lead\n".to_vec(),
            "failed",
            "bad quoting",
        ),
        (
            "value over the request size limit",
            over_long.into_bytes(),
            "failed",
            "exceeds",
        ),
        (
            "good row after the bad ones",
            b"barbara@example.com,\"Liskov, Jr.\",lead\n".to_vec(),
            "created",
            "",
        ),
        (
            "duplicate email, later row",
            b"ADA@example.com,Ada Again,customer\n".to_vec(),
            "updated",
            "",
        ),
        // Last: a quote never closed holds the rest of the file.
        (
            "quote never closed",
            b"\"grace@example.com,Grace,lead\n".to_vec(),
            "failed",
            "never closed",
        ),
    ]
}

fn jsonl_rows() -> Vec<Row> {
    vec![
        (
            "good row",
            br#"{"email":"jo@example.com","zip":75001,"city":true}"#.to_vec(),
            "created",
            "",
        ),
        (
            "unknown property",
            br#"{"email":"u1@example.com","shoe_size":"44"}"#.to_vec(),
            "failed",
            "does not exist",
        ),
        (
            "read-only property",
            br#"{"email":"u2@example.com","createdate":"2020-01-01"}"#.to_vec(),
            "failed",
            "read only",
        ),
        (
            "nested object value",
            br#"{"email":"u3@example.com","city":{"name":"Rome"}}"#.to_vec(),
            "failed",
            "\"city\" is a JSON object",
        ),
        (
            "array value",
            br#"{"email":"u4@example.com","tags":["a"]}"#.to_vec(),
            "failed",
            "\"tags\" is a JSON array",
        ),
        (
            "not an object",
            b"[1,2]".to_vec(),
            "failed",
            "not an object",
        ),
        (
            "a bare string",
            br#""email""#.to_vec(),
            "failed",
            "not an object",
        ),
        (
            "NaN is not JSON",
            br#"{"email":"u5@example.com","zip":NaN}"#.to_vec(),
            "failed",
            "not valid JSON",
        ),
        (
            "truncated JSON",
            br#"{"email":"u6@exam"#.to_vec(),
            "failed",
            "not valid JSON",
        ),
        (
            "missing key",
            br#"{"firstname":"no key"}"#.to_vec(),
            "failed",
            "missing",
        ),
        (
            "empty property name",
            br#"{"email":"u7@example.com","":"x"}"#.to_vec(),
            "failed",
            "property name",
        ),
        (
            "key is a number",
            br#"{"email":7}"#.to_vec(),
            "failed",
            "invalid",
        ),
        (
            "invalid UTF-8",
            b"{\"email\":\"u8@example.com\",\"city\":\"\xff\"}".to_vec(),
            "failed",
            "UTF-8",
        ),
        (
            "null clears, not an error",
            br#"{"email":"u9@example.com","phone":null}"#.to_vec(),
            "created",
            "",
        ),
    ]
}

/// Writes `header` and `rows` to a file, syncs it, and checks each row's
/// report entry. Returns the problems found.
async fn sync_corpus(
    fake: &hubspot_fake::FakeHubSpot,
    name: &str,
    header: &[u8],
    rows: Vec<Row>,
) -> Vec<String> {
    let dir = dir(&format!("bad-input-{name}"));
    let mut content = header.to_vec();
    let mut lines = Vec::new();
    let mut line = 1 + header.iter().filter(|&&b| b == b'\n').count() as u64;
    for (_, row, _, _) in &rows {
        lines.push(line);
        line += row.iter().filter(|&&b| b == b'\n').count().max(1) as u64;
        content.extend_from_slice(row);
        if !row.ends_with(b"\n") {
            content.push(b'\n');
        }
    }
    let input = write(&dir, name, content);
    let report_path = dir.join("report.json");
    // Lines up to 8 MiB are read, so the 5 MiB row reaches HubSpot's own
    // request-size refusal rather than the reader's --max-line-bytes; and
    // without the preflight, so that HubSpot's own refusals of bad values are
    // what each row reports (the preflight's are tested in input_files.rs).
    let run = run_against(
        fake,
        &[
            "upsert",
            arg(&input),
            "--report",
            arg(&report_path),
            "--max-line-bytes",
            "8388608",
            "--no-preflight",
        ],
    )
    .await;
    assert_eq!(run.code, 1, "bad rows make the run exit 1: {run:?}");
    let entries = report(&report_path);
    assert_eq!(entries.len(), rows.len(), "one entry per row: {entries:#?}");
    let mut problems = Vec::new();
    for ((case, _, outcome, phrase), line) in rows.iter().zip(lines) {
        let entry = at_line(&entries, line);
        let message = entry["error"]["message"].as_str().unwrap_or("");
        if entry["outcome"] != *outcome || !message.to_lowercase().contains(&phrase.to_lowercase())
        {
            problems.push(format!(
                "{name} line {line} ({case}): expected {outcome} with {phrase:?}, got {}",
                &entry.to_string()[..entry.to_string().len().min(300)]
            ));
        }
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_row_gets_its_own_error_while_the_rest_lands() {
    let fake = fake().await;
    let csv = csv_rows();
    let jsonl = jsonl_rows();
    let bad = |rows: &[Row]| rows.iter().filter(|row| row.2 == "failed").count();
    assert!(bad(&csv) + bad(&jsonl) >= 20);
    let mut problems = sync_corpus(
        &fake,
        "contacts.csv",
        b"email,firstname,lifecyclestage\n",
        csv,
    )
    .await;
    problems.extend(sync_corpus(&fake, "contacts.jsonl", b"", jsonl).await);
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    let stored: Vec<String> = fake
        .contacts()
        .iter()
        .map(|c| c.properties["email"].to_lowercase())
        .collect();
    for email in [
        "ada@example.com",
        "barbara@example.com",
        "jo@example.com",
        "u9@example.com",
    ] {
        assert_eq!(
            stored.iter().filter(|e| *e == email).count(),
            1,
            "{email} stored once: {stored:?}"
        );
    }
    assert_eq!(stored.len(), 4, "{stored:?}");
    let ada = fake
        .contacts()
        .into_iter()
        .find(|c| c.properties["email"].eq_ignore_ascii_case("ada@example.com"))
        .unwrap();
    assert_eq!(
        ada.properties["firstname"], "Ada Again",
        "the later row wins"
    );
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_with_a_byte_order_mark_reads_its_first_column() {
    let fake = fake().await;
    let dir = dir("bom");
    let input = write(
        &dir,
        "excel.csv",
        b"\xef\xbb\xbfemail,firstname\r\nada@example.com,Ada\r\n",
    );
    let run = run_against(&fake, &["upsert", arg(&input)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(fake.contacts()[0].properties["firstname"], "Ada");
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_never_reaches_the_report_or_the_output() {
    const SECRET: &str = "pat-na1-cli-SECRET-never-shown";
    let good = hubspot_fake::FakeHubSpot::builder()
        .tokens([SECRET])
        .faults(hubspot_fake::FaultSpec::parse("500=0.2,reset-after=0.1").unwrap())
        .start()
        .await
        .unwrap();
    let refusing = hubspot_fake::FakeHubSpot::builder()
        .tokens(["another"])
        .start()
        .await
        .unwrap();
    let dir = dir("secret");
    let mut csv = String::from("email,firstname\n");
    for n in 0..5_000 {
        csv.push_str(&format!("user{n}@example.com,User\n"));
    }
    csv.push_str("bad-email,Bad\n");
    let input = write(&dir, "contacts.csv", csv);
    let token_file = write(&dir, "token", SECRET);
    for (fake, how) in [(&good, "env"), (&good, "file"), (&refusing, "env")] {
        let report_path = dir.join(format!("report-{how}-{}.json", fake.addr().port()));
        let mut args = vec![
            "upsert".to_owned(),
            arg(&input).to_owned(),
            "--base-url".to_owned(),
            fake.base_url(),
            "--report".to_owned(),
            arg(&report_path).to_owned(),
            // The run's own stop on a 401 is what is checked here; the
            // preflight's is checked below.
            "--no-preflight".to_owned(),
        ];
        let env = if how == "file" {
            args.extend(["--token-file".to_owned(), arg(&token_file).to_owned()]);
            vec![]
        } else {
            vec![("HUBSPOT_TOKEN", SECRET.to_owned())]
        };
        let run = run(args, env).await;
        // A refused token stops the run (exit 3); otherwise the bad email fails its row (exit 1).
        let refused = std::ptr::eq(fake, &refusing);
        assert_eq!(run.code, if refused { 3 } else { 1 }, "{run:?}");
        if refused {
            assert!(
                run.stderr
                    .contains("STOPPED: HubSpot refused the access token (401)"),
                "{}",
                run.stderr
            );
            let entries = report(&report_path);
            assert_eq!(
                entries.len(),
                5_001,
                "one entry per row, the ones never pulled too"
            );
            assert!(
                entries.iter().all(|e| e["outcome"] == "not_sent"),
                "{entries:?}"
            );
        }
        let report_text = std::fs::read_to_string(&report_path).unwrap();
        for text in [&run.stdout, &run.stderr, &report_text] {
            assert!(
                !text.contains(SECRET) && !text.contains("SECRET-never"),
                "the token leaked: {text}"
            );
        }
    }
    // With the preflight, the refused token stops the run at its first read,
    // before any report or write, and the token is not in what it says.
    let preflighted = run(
        vec![
            "upsert".to_owned(),
            arg(&input).to_owned(),
            "--base-url".to_owned(),
            refusing.base_url(),
        ],
        vec![("HUBSPOT_TOKEN", SECRET.to_owned())],
    )
    .await;
    assert_eq!(preflighted.code, 3, "{preflighted:?}");
    assert!(preflighted.stderr.contains("401"), "{}", preflighted.stderr);
    assert!(!preflighted.stderr.contains(SECRET), "the token leaked");
    // The refused run says why, without the token.
    let refused = refusing.stats().unauthorized;
    assert!(refused > 0);
    // The run stops: at most one refused request per slot in flight, plus one.
    assert!(refused <= 9, "{refused} requests refused");
    // The http refusal for a remote host is a configuration error (exit 2),
    // decided before anything is sent; the host here is never contacted.
    let args = vec![
        "upsert".to_owned(),
        arg(&input).to_owned(),
        "--base-url".to_owned(),
        "http://api.hubapi.com".to_owned(),
    ];
    let refused = run(args, vec![("HUBSPOT_TOKEN", SECRET.to_owned())]).await;
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.stderr.contains("refusing"), "{}", refused.stderr);
    assert!(!refused.stderr.contains(SECRET));
    let _ = TOKEN;
    good.shutdown().await;
    refusing.shutdown().await;
}
