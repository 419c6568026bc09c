//! Real-world input files, synced by the `hubspot-contacts` binary into a
//! hubspot-fake: line endings, byte-order marks, delimiters, encodings, JSON
//! numbers and repeated keys, empty rows, over-long lines and errors, header
//! case and display headers, keys with surrounding spaces.

mod support;

use hubspot_fake::FakeHubSpot;
use serde_json::Value;
use support::{Run, arg, at_line, dir, fake, live_contacts, report, run_against, stored, write};

/// Syncs `content` written to `name` with `command` and `flags`; the run and
/// its report.
async fn sync(
    fake: &FakeHubSpot,
    test: &str,
    name: &str,
    content: impl AsRef<[u8]>,
    command: &str,
    flags: &[&str],
) -> (Run, Vec<Value>) {
    let dir = dir(test);
    let input = write(&dir, name, content);
    let report_path = dir.join("report.json");
    let mut args = vec![command, arg(&input), "--report", arg(&report_path)];
    args.extend_from_slice(flags);
    let run = run_against(fake, &args).await;
    let entries = if report_path.exists() {
        report(&report_path)
    } else {
        Vec::new()
    };
    (run, entries)
}

/// The error message of the row starting on `line`, which must have failed.
fn failure(entries: &[Value], line: u64) -> String {
    let entry = at_line(entries, line);
    assert_eq!(entry["outcome"], "failed", "line {line}: {entry}");
    entry["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cr_only_line_endings_read_every_row() {
    let fake = fake().await;
    let csv = "email,firstname\rada@example.com,Ada\rgrace@example.com,Grace\r";
    let (run, entries) = sync(&fake, "cr-csv", "mac.csv", csv, "upsert", &[]).await;
    assert_eq!((run.code, entries.len()), (0, 2), "{run:?}");
    let jsonl = "{\"email\":\"alan@example.com\"}\r{\"email\":\"ken@example.com\"}\r";
    let (run, entries) = sync(&fake, "cr-jsonl", "mac.jsonl", jsonl, "upsert", &[]).await;
    assert_eq!((run.code, entries.len()), (0, 2), "{run:?}");
    assert_eq!(live_contacts(&fake), 4);
    assert_eq!(
        stored(&fake, "grace@example.com", "firstname").as_deref(),
        Some("Grace")
    );
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jsonl_byte_order_mark_is_skipped() {
    let fake = fake().await;
    let jsonl = b"\xef\xbb\xbf{\"email\":\"ada@example.com\",\"firstname\":\"Ada\"}\r\n";
    let (run, _) = sync(&fake, "bom-jsonl", "bom.jsonl", jsonl, "upsert", &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        stored(&fake, "ada@example.com", "firstname").as_deref(),
        Some("Ada")
    );
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonl_numbers_are_sent_as_written() {
    let fake = fake().await;
    let jsonl = r#"{"email":"big@example.com","zip":123456789012345678901234567890,"phone":1.50}"#;
    let (run, _) = sync(&fake, "numbers", "numbers.jsonl", jsonl, "upsert", &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let zip = stored(&fake, "big@example.com", "zip");
    assert_eq!(zip.as_deref(), Some("123456789012345678901234567890"));
    assert_eq!(
        stored(&fake, "big@example.com", "phone").as_deref(),
        Some("1.50")
    );
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_json_key_fails_its_row_naming_the_key() {
    let fake = fake().await;
    let jsonl = "{\"email\":\"ada@example.com\",\"city\":\"Oslo\",\"city\":\"Rome\"}\n\
                 {\"email\":\"grace@example.com\"}\n";
    let (run, entries) = sync(&fake, "repeated", "twice.jsonl", jsonl, "upsert", &[]).await;
    assert_eq!(run.code, 1, "{run:?}");
    let message = failure(&entries, 1);
    assert!(
        message.contains("\"city\"") && message.contains("more than once"),
        "{message}"
    );
    assert_eq!(at_line(&entries, 1)["key"], "email ada@example.com");
    assert_eq!(live_contacts(&fake), 1, "only the good row lands");
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_fails_empty_rows_instead_of_making_blank_contacts() {
    let fake = fake().await;
    let csv = "email,firstname\n,\nada@example.com,Ada\n \t, \n";
    let (run, entries) = sync(&fake, "empty-csv", "empty.csv", csv, "create", &[]).await;
    assert_eq!(run.code, 1, "{run:?}");
    for line in [2, 4] {
        let message = failure(&entries, line);
        assert!(message.contains("no values"), "line {line}: {message}");
    }
    let jsonl = "{}\n{\"email\":null}\n{\"email\":\"grace@example.com\"}\n";
    let (run, entries) = sync(&fake, "empty-jsonl", "empty.jsonl", jsonl, "create", &[]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(failure(&entries, 1).contains("no values"));
    assert!(failure(&entries, 2).contains("no values"));
    assert_eq!(live_contacts(&fake), 2, "no blank contact");
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_over_max_line_bytes_fails_its_row_and_reading_goes_on() {
    let fake = fake().await;
    // Over the default 1 MiB: the row fails at the reader, the next one lands.
    let mut jsonl = format!(
        "{{\"email\":\"long@example.com\",\"city\":\"{}\"}}\n",
        "y".repeat(3 << 20)
    );
    jsonl.push_str("{\"email\":\"after@example.com\"}\n");
    let (run, entries) = sync(&fake, "long-jsonl", "long.jsonl", jsonl, "upsert", &[]).await;
    assert_eq!(run.code, 1, "{run:?}");
    let message = failure(&entries, 1);
    assert!(
        message.contains("exceeds --max-line-bytes 1048576"),
        "{message}"
    );
    assert_eq!(at_line(&entries, 2)["outcome"], "created");

    // A record over the limit counts whole, a quoted field's lines too.
    let csv = "email,firstname\nada@example.com,Ada\nlong@example.com,Ada Augusta King Lovelace\n\
               \"open@example.com\",\"Grace\nBrewster Murray Hopper\"\n\
               grace@example.com,Grace\n";
    let flags = ["--max-line-bytes", "30"];
    let (run, entries) = sync(&fake, "long-csv", "long.csv", csv, "upsert", &flags).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(failure(&entries, 3).contains("exceeds --max-line-bytes 30"));
    let record = failure(&entries, 4);
    assert!(
        record.contains("(lines 4-5") && record.contains("exceeds --max-line-bytes 30"),
        "{record}"
    );
    assert_eq!(at_line(&entries, 6)["outcome"], "created");
    assert_eq!(live_contacts(&fake), 3);
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_row_error_is_cut_to_a_readable_length() {
    let fake = fake().await;
    let name = "not a property ".repeat(10_000);
    let jsonl = format!("{{\"email\":\"ada@example.com\",\"{name}\":1}}\n");
    let (run, entries) = sync(&fake, "cut", "cut.jsonl", jsonl, "upsert", &[]).await;
    assert_eq!(run.code, 1, "{run:?}");
    let message = failure(&entries, 1);
    assert!(message.len() < 1_000, "{} characters", message.len());
    assert!(message.contains("more characters cut"), "{message}");
    let longest = run.stderr.lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 1_000, "a stderr line of {longest} characters");
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hubspot_refusing_a_very_wide_row_prints_a_readable_line() {
    // 1,000 unknown properties, past the preflight (which would stop at the
    // header): HubSpot's refusal names each, 110,000 characters in all.
    let fake = fake().await;
    let names: Vec<String> = (0..1_000).map(|n| format!("p{n}")).collect();
    let csv = format!(
        "email,{}\nwide@example.com,{}\n",
        names.join(","),
        vec!["v"; names.len()].join(",")
    );
    let (run, entries) = sync(
        &fake,
        "wide",
        "wide.csv",
        csv,
        "upsert",
        &["--no-preflight"],
    )
    .await;
    assert_eq!(run.code, 1, "{}", &run.stderr[..run.stderr.len().min(500)]);
    assert_eq!(at_line(&entries, 2)["outcome"], "failed");
    let message = at_line(&entries, 2)["error"]["message"].as_str().unwrap();
    assert!(
        message.len() < 1_000,
        "the report's message is cut too: {} characters",
        message.len()
    );
    let longest = run.stderr.lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 1_000, "a stderr line of {longest} characters");
    assert!(run.stderr.contains("more characters cut"));
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delimiter_is_detected_from_the_header() {
    let fake = fake().await;
    for (delimiter, name) in [(";", "semicolon"), ("\t", "tab"), ("|", "pipe")] {
        let email = format!("{name}@example.com");
        let csv = format!(
            "email{delimiter}firstname{delimiter}city\n{email}{delimiter}Ada{delimiter}\"Paris, TX\"\n"
        );
        let (run, _) = sync(&fake, name, "export.csv", csv, "upsert", &[]).await;
        assert_eq!(run.code, 0, "{name}: {run:?}");
        assert_eq!(
            stored(&fake, &email, "city").as_deref(),
            Some("Paris, TX"),
            "{name}"
        );
    }
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delimiter_overrides_detection_and_a_wrong_one_gets_a_hint() {
    let fake = fake().await;
    // Detection would pick the comma (two of them); the file says ;.
    let csv = "email;company\nada@example.com;Lovelace, Babbage, and Co\n";
    let (run, _) = sync(
        &fake,
        "forced",
        "forced.csv",
        csv,
        "upsert",
        &["--delimiter", ";"],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let company = stored(&fake, "ada@example.com", "company");
    assert_eq!(company.as_deref(), Some("Lovelace, Babbage, and Co"));

    let csv = "email;firstname\nada@example.com;Ada\n";
    let (run, _) = sync(
        &fake,
        "wrong",
        "wrong.csv",
        csv,
        "upsert",
        &["--delimiter", ","],
    )
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("use --delimiter ';'"), "{}", run.stderr);

    let jsonl = "{\"email\":\"grace@example.com\"}\n";
    let flags = ["--delimiter", ";"];
    let (run, _) = sync(&fake, "jsonl-delimiter", "a.jsonl", jsonl, "upsert", &flags).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("CSV files only"), "{}", run.stderr);
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_1252_and_latin_1_files_keep_their_accents() {
    let fake = fake().await;
    for encoding in ["windows-1252", "latin-1", "iso-8859-1"] {
        let email = format!("{encoding}@example.com");
        let mut csv = b"email,firstname,company\n".to_vec();
        csv.extend_from_slice(email.as_bytes());
        csv.extend_from_slice(b",Zo\xeb,Caf\xe9 \x80\n");
        let flags = ["--encoding", encoding];
        let (run, _) = sync(&fake, encoding, "excel.csv", csv, "upsert", &flags).await;
        assert_eq!(run.code, 0, "{encoding}: {run:?}");
        assert_eq!(stored(&fake, &email, "firstname").as_deref(), Some("Zoë"));
        assert_eq!(stored(&fake, &email, "company").as_deref(), Some("Café €"));
    }
    fake.shutdown().await;
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut bytes = if big_endian {
        vec![0xfe, 0xff]
    } else {
        vec![0xff, 0xfe]
    };
    for unit in text.encode_utf16() {
        let pair = if big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        };
        bytes.extend_from_slice(&pair);
    }
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn utf16_with_a_byte_order_mark_is_read() {
    let fake = fake().await;
    // Excel's "Unicode text": UTF-16LE with a BOM, tab-separated, CRLF.
    let text = "email\tfirstname\r\nle@example.com\tZoë\r\n";
    let (run, _) = sync(
        &fake,
        "utf16le",
        "unicode.csv",
        utf16(text, false),
        "upsert",
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        stored(&fake, "le@example.com", "firstname").as_deref(),
        Some("Zoë")
    );
    let jsonl = utf16(
        "{\"email\":\"be@example.com\",\"firstname\":\"Łukasz\"}\n",
        true,
    );
    let flags = ["--encoding", "utf-16"];
    let (run, _) = sync(&fake, "utf16be", "be.jsonl", jsonl, "upsert", &flags).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        stored(&fake, "be@example.com", "firstname").as_deref(),
        Some("Łukasz")
    );

    let no_bom = "email\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect::<Vec<u8>>();
    let (run, _) = sync(
        &fake,
        "utf16-no-bom",
        "no-bom.csv",
        no_bom,
        "upsert",
        &flags,
    )
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("byte-order mark"), "{}", run.stderr);
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_byte_invalid_in_the_encoding_fails_its_row_naming_the_column() {
    let fake = fake().await;
    let mut csv = utf16("email,firstname\nada@example.com,A", false);
    csv.extend_from_slice(&[0x00, 0xd8]); // an unpaired surrogate
    csv.extend_from_slice(&utf16("da\ngrace@example.com,Grace\n", false)[2..]);
    let (run, entries) = sync(&fake, "bad-utf16", "bad.csv", csv, "upsert", &[]).await;
    assert_eq!(run.code, 1, "{run:?}");
    let message = failure(&entries, 2);
    assert!(
        message.contains("\"firstname\") is not valid UTF-16LE"),
        "{message}"
    );
    assert_eq!(at_line(&entries, 2)["key"], "email ada@example.com");
    assert_eq!(at_line(&entries, 3)["outcome"], "created");

    let jsonl = b"{\"email\":\"alan@example.com\",\"city\":\"Z\xfcrich\"}\n";
    let (run, entries) = sync(&fake, "bad-utf8", "bad.jsonl", jsonl, "upsert", &[]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        failure(&entries, 1),
        "the value of \"city\" is not valid UTF-8"
    );
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capitalised_email_header_is_the_key() {
    let fake = fake().await;
    let csv = "Email,firstname\nada@example.com,Ada\n";
    let (run, _) = sync(&fake, "capital", "capital.csv", csv, "upsert", &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        stored(&fake, "ada@example.com", "firstname").as_deref(),
        Some("Ada")
    );
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_key_with_surrounding_spaces_is_trimmed() {
    let fake = fake().await;
    let csv = "email,firstname\n  ada@example.com\t,Ada\n";
    let (run, entries) = sync(&fake, "spaces", "spaces.csv", csv, "upsert", &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(at_line(&entries, 2)["key"], "email ada@example.com");
    assert_eq!(
        at_line(&entries, 2)["notes"][0],
        "\"email\" had surrounding whitespace, trimmed",
        "the report says so"
    );
    assert_eq!(
        stored(&fake, "ada@example.com", "firstname").as_deref(),
        Some("Ada")
    );
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_display_header_is_one_header_level_error() {
    // Without the preflight nothing maps a label to its property (with it,
    // `First Name` is firstname: tests/preflight.rs).
    let fake = fake().await;
    let mut csv = String::from("email,First Name\n");
    for n in 0..50 {
        csv.push_str(&format!("user{n}@example.com,User\n"));
    }
    let (run, entries) = sync(
        &fake,
        "display",
        "display.csv",
        csv,
        "upsert",
        &["--no-preflight"],
    )
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("column \"First Name\" is not a property name"),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stderr
            .lines()
            .filter(|line| line.contains("First Name"))
            .count(),
        1,
        "said once, not per row: {}",
        run.stderr
    );
    assert!(entries.is_empty(), "no row is reported: {entries:?}");
    assert_eq!(live_contacts(&fake), 0);
    fake.shutdown().await;
}

/// A note of 70 lines whose 31st line looks like a contact row.
fn long_note() -> String {
    let mut note: Vec<String> = (0..70).map(|n| format!("note line {n}")).collect();
    note[30] = "victim@example.com,Mallory,Evil Corp".into();
    note.join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quoted_field_of_many_lines_is_one_value() {
    let fake = fake().await;
    let note = long_note();
    let csv = format!(
        "email,firstname,company\nok1@example.com,Ann,\"{note}\"\nok2@example.com,Bob,short\n"
    );
    let (run, entries) = sync(&fake, "many-lines", "notes.csv", &csv, "upsert", &[]).await;
    assert_eq!((run.code, entries.len()), (0, 2), "{run:?}");
    assert_eq!(at_line(&entries, 72)["outcome"], "created");
    assert_eq!(
        stored(&fake, "ok1@example.com", "company").as_deref(),
        Some(note.as_str())
    );
    assert_eq!(live_contacts(&fake), 2, "no line of the note is a row");
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_multi_line_record_fails_whole_and_its_lines_are_never_rows() {
    let fake = fake().await;
    let note = long_note();
    // Over --max-line-bytes: the record is skipped to its end, and the next reads.
    let csv = format!(
        "email,firstname,company\nok1@example.com,Ann,\"{note}\"\nok2@example.com,Bob,short\n"
    );
    let flags = ["--max-line-bytes", "200"];
    let (run, entries) = sync(&fake, "long-record", "long.csv", &csv, "upsert", &flags).await;
    assert_eq!((run.code, entries.len()), (1, 2), "{run:?}");
    let message = failure(&entries, 2);
    assert!(message.contains("lines 2-71"), "{message}");
    assert!(
        message.contains("exceeds --max-line-bytes 200"),
        "{message}"
    );
    assert_eq!(at_line(&entries, 72)["outcome"], "created");

    // A quote closed, then text after it: one bad record, then the next row.
    let csv = format!(
        "email,firstname,company\nok3@example.com,Ann,\"{note}\" tail\nok4@example.com,Bob,short\n"
    );
    let (run, entries) = sync(&fake, "stray-text", "stray.csv", &csv, "upsert", &[]).await;
    assert_eq!((run.code, entries.len()), (1, 2), "{run:?}");
    assert!(failure(&entries, 2).contains("bad quoting in field 3"));
    assert_eq!(at_line(&entries, 72)["outcome"], "created");

    // A quote never closed: everything after it is inside the field.
    let csv = format!(
        "email,firstname,company\nok5@example.com,Ann,short\nok6@example.com,Eve,\"{note}\nok7@example.com,Bob,short\n"
    );
    let (run, entries) = sync(&fake, "never-closed", "open.csv", &csv, "upsert", &[]).await;
    assert_eq!((run.code, entries.len()), (1, 2), "{run:?}");
    let message = failure(&entries, 3);
    assert!(message.contains("never closed"), "{message}");
    assert!(message.contains("lines 3-73"), "{message}");
    assert_eq!(stored(&fake, "ok7@example.com", "email"), None);

    assert_eq!(stored(&fake, "victim@example.com", "email"), None);
    assert_eq!(live_contacts(&fake), 3, "ok2, ok4 and ok5 only");
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_surrogate_escape_in_jsonl_is_named() {
    let fake = fake().await;
    let jsonl = "{\"email\":\"j@example.com\",\"firstname\":\"\\ud800\"}\n";
    let (run, entries) = sync(&fake, "surrogate", "lone.jsonl", jsonl, "upsert", &[]).await;
    assert_eq!(run.code, 1, "{run:?}");
    let message = failure(&entries, 1);
    assert!(
        message.contains("\"firstname\"") && message.contains("unpaired UTF-16 surrogate"),
        "{message}"
    );
    assert!(!message.contains("values must be"), "{message}");
    assert_eq!(at_line(&entries, 1)["key"], "email j@example.com");
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_utf16_file_ending_in_an_odd_byte_is_an_encoding_error() {
    let fake = fake().await;
    let mut csv = utf16("email,firstname\nada@example.com,Ada\n", false);
    csv.push(b'x');
    let (run, entries) = sync(&fake, "odd-utf16", "odd.csv", csv, "upsert", &[]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("line 3: the file ends in the middle of a UTF-16LE character"),
        "{}",
        run.stderr
    );
    assert_eq!(entries.len(), 1, "no phantom row: {entries:?}");
    assert_eq!(at_line(&entries, 2)["outcome"], "created");
    fake.shutdown().await;
}
