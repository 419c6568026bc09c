//! The preflight against a mirror of a portal: a hubspot-fake loaded with
//! `fake/examples/portal-properties.json` (number, date, bool, multi-select,
//! calculated and read-only properties, two properties sharing a label).

mod support;

use hubspot_fake::FakeHubSpot;
use support::{arg, at_line, dir, live_contacts, report, run_against, stored, write};

const CATALOGUE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fake/examples/portal-properties.json"
);

async fn portal() -> FakeHubSpot {
    FakeHubSpot::builder()
        .properties_file(CATALOGUE)
        .start()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_semicolon_export_with_display_headers_syncs_and_a_bad_number_fails_alone() {
    let fake = portal().await;
    let dir = dir("preflight-export");
    let input = write(
        &dir,
        "export.csv",
        "Email;First Name;Employees;Buying Role;Date of birth;Newsletter opt-in\n\
         ada@example.com;Ada;12;\"CHAMPION;DECISION_MAKER\";1815-12-10;true\n\
         grace@example.com;Grace;many;;1906-12-09;false\n\
         alan@example.com;Alan;3;CHAMPION;1912-06-23;yes\n\
         edsger@example.com;Edsger;7;;1930-05-11;\n",
    );
    let report_path = dir.join("report.jsonl");
    let run = run_against(
        &fake,
        &["upsert", arg(&input), "--report", arg(&report_path)],
    )
    .await;
    let entries = report(&report_path);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(at_line(&entries, 2)["outcome"], "created", "{:?}", entries);
    let grace = at_line(&entries, 3);
    assert_eq!(grace["outcome"], "failed", "{grace}");
    assert_eq!(grace["error"]["code"], "INVALID_INTEGER", "{grace}");
    assert!(
        grace["error"]["message"]
            .as_str()
            .unwrap()
            .contains("employees"),
        "{grace}"
    );
    assert_eq!(at_line(&entries, 4)["error"]["code"], "INVALID_OPTION");
    assert_eq!(at_line(&entries, 5)["outcome"], "created");
    assert_eq!(live_contacts(&fake), 2, "only the good rows are written");
    assert_eq!(
        stored(&fake, "ada@example.com", "hs_buying_role").as_deref(),
        Some("CHAMPION;DECISION_MAKER")
    );
    assert_eq!(
        stored(&fake, "edsger@example.com", "employees").as_deref(),
        Some("7")
    );
    assert_eq!(
        stored(&fake, "edsger@example.com", "firstname").as_deref(),
        Some("Edsger"),
        "`First Name` went to firstname"
    );
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_select_takes_each_of_its_options() {
    let fake = portal().await;
    let dir = dir("preflight-multi");
    let input = write(
        &dir,
        "roles.csv",
        "email,hs_buying_role\n\
         ada@example.com,CHAMPION;DECISION_MAKER\n\
         grace@example.com,CHAMPION;ASTRONAUT\n",
    );
    let report_path = dir.join("report.jsonl");
    let run = run_against(
        &fake,
        &["upsert", arg(&input), "--report", arg(&report_path)],
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    let entries = report(&report_path);
    assert_eq!(at_line(&entries, 2)["outcome"], "created");
    let grace = at_line(&entries, 3);
    assert_eq!(grace["error"]["code"], "INVALID_OPTION", "{grace}");
    assert!(
        grace["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ASTRONAUT"),
        "{grace}"
    );
    assert_eq!(
        stored(&fake, "ada@example.com", "hs_buying_role").as_deref(),
        Some("CHAMPION;DECISION_MAKER")
    );
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_problem_stops_before_any_write_and_so_does_the_dry_run() {
    let fake = portal().await;
    let dir = dir("preflight-header");
    let input = write(
        &dir,
        "contacts.csv",
        "email,Firstnam,Associated Deals,Mobile Phone Number,employees\n\
         ada@example.com,Ada,3,+1,many\n",
    );
    let report_path = dir.join("report.jsonl");
    for dry in [false, true] {
        let mut args = vec!["upsert", arg(&input), "--report", arg(&report_path)];
        if dry {
            args.push("--dry-run");
        }
        let run = run_against(&fake, &args).await;
        assert_eq!(run.code, 2, "dry run {dry}: {run:?}");
        for named in [
            "\"Firstnam\"",
            "firstname (\"First Name\")",
            "\"Associated Deals\"",
            "mobilephone",
            "cell_phone",
        ] {
            assert!(run.stderr.contains(named), "{named}: {}", run.stderr);
        }
        assert!(!report_path.exists(), "nothing written");
    }
    assert_eq!(live_contacts(&fake), 0);
    // Mapped by hand, the same file's header passes; the dry run names the
    // row whose number is bad, and writes nothing.
    let run = run_against(
        &fake,
        &[
            "upsert",
            arg(&input),
            "--dry-run",
            "--report",
            arg(&report_path),
            "--map",
            "Firstnam=firstname",
            "--map",
            "Associated Deals=city",
            "--map",
            "Mobile Phone Number=mobilephone",
        ],
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    let entries = report(&report_path);
    assert_eq!(at_line(&entries, 2)["error"]["code"], "INVALID_INTEGER");
    assert!(run.stdout.contains("invalid   1"), "{}", run.stdout);
    assert_eq!(live_contacts(&fake), 0);
    let skipped = run_against(&fake, &["upsert", arg(&input), "--no-preflight"]).await;
    assert_eq!(
        skipped.code, 2,
        "without the preflight a display header still needs --map: {skipped:?}"
    );
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_windows_1252_export_keeps_its_accents_in_a_mirrored_portal() {
    let fake = portal().await;
    let dir = dir("preflight-1252");
    let mut bytes = b"Email;First Name;City\n".to_vec();
    bytes.extend_from_slice(b"jose@example.com;Jos\xe9;S\xe3o Paulo\n");
    let input = write(&dir, "export.csv", bytes);
    let run = run_against(
        &fake,
        &["upsert", arg(&input), "--encoding", "windows-1252"],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        stored(&fake, "jose@example.com", "firstname").as_deref(),
        Some("José")
    );
    assert_eq!(
        stored(&fake, "jose@example.com", "city").as_deref(),
        Some("São Paulo")
    );
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonl_keys_map_like_columns_and_a_map_must_name_a_column() {
    let fake = portal().await;
    let dir = dir("preflight-jsonl");
    let input = write(
        &dir,
        "contacts.jsonl",
        "{\"Email\":\"k@example.com\",\"First Name\":\"K\",\"Given Name\":\"G\"}\n",
    );
    let run = run_against(
        &fake,
        &["upsert", arg(&input), "--map", "Given Name=lastname"],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        stored(&fake, "k@example.com", "firstname").as_deref(),
        Some("K")
    );
    assert_eq!(
        stored(&fake, "k@example.com", "lastname").as_deref(),
        Some("G")
    );
    let csv = write(&dir, "contacts.csv", "email,firstname\nm@example.com,M\n");
    let stray = run_against(&fake, &["upsert", arg(&csv), "--map", "Nope=lastname"]).await;
    assert_eq!(stray.code, 2, "{stray:?}");
    assert!(
        stray.stderr.contains("no column \"Nope\""),
        "{}",
        stray.stderr
    );
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_column_mapped_twice_stops_before_any_write_naming_both_properties() {
    let fake = portal().await;
    let dir = dir("preflight-map-twice");
    let input = write(&dir, "contacts.csv", "Mail,fn,x\nm2@example.com,A,\n");
    let run = run_against(
        &fake,
        &[
            "upsert",
            arg(&input),
            "--map",
            "Mail=email",
            "--map",
            "fn=firstname",
            "--map",
            "fn=lastname",
            "--map",
            "x=company",
        ],
    )
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("--map fn=firstname and --map fn=lastname map the column \"fn\" twice"),
        "{}",
        run.stderr
    );
    assert_eq!(live_contacts(&fake), 0);
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_property_that_cannot_find_contacts_stops_before_any_write() {
    let fake = portal().await;
    let dir = dir("preflight-id-property");
    let input = write(
        &dir,
        "contacts.csv",
        "firstname,email\nZed,z1@example.com\n",
    );
    for (property, expected) in [
        ("firstname", "firstname is not one"),
        ("EMAIL", "did you mean email?"),
        ("nothing", "no such property"),
    ] {
        for dry_run in [false, true] {
            let mut args = vec!["upsert", arg(&input), "--id-property", property];
            if dry_run {
                args.push("--dry-run");
            }
            let run = run_against(&fake, &args).await;
            assert_eq!(run.code, 2, "{property}: {run:?}");
            assert!(run.stderr.contains(expected), "{property}: {}", run.stderr);
        }
    }
    assert_eq!(fake.stats().requests, 6, "only the preflight's reads");
    assert_eq!(live_contacts(&fake), 0);
    fake.shutdown().await;
}
