//! P3, memory: the `hubspot-contacts` CLI streaming 100,000 and 1,000,000 contacts
//! from a generated JSONL file (in a temporary directory) into a separate
//! `hubspot-fake` process, rate limit off. The figure is the CLI's own peak RSS
//! (`VmHWM`), read from the "peak RSS" line of its closing summary; the fake, which
//! holds the contacts, does not count.
//!
//! Run: `cargo build --release -p hubspot-fake -p hubspot-contacts-cli &&
//! cargo bench -p hubspot-contacts-bench --bench memory`.
//!
//! Environment: `BENCH_RUNS` (3), `P3_SIZES` (`100000,1000000`).

use std::{
    fs::File,
    io::{BufWriter, Write},
    path::Path,
    process::{Command, Stdio},
};

use hubspot_contacts_bench::{
    figures::Spread,
    parse::CliSummary,
    process::{self, FakeProcess, TempDir},
};

fn main() {
    let runs = process::runs();
    let sizes: Vec<u64> = std::env::var("P3_SIZES")
        .unwrap_or_else(|_| "100000,1000000".to_owned())
        .split(',')
        .map(|s| s.trim().parse().expect("P3_SIZES: numbers"))
        .collect();
    let cli = process::release_binary("hubspot-contacts");
    let dir = TempDir::new("memory");
    let files: Vec<_> = sizes
        .iter()
        .map(|&n| {
            let path = dir.path().join(format!("contacts-{n}.jsonl"));
            generate(&path, n);
            (n, path)
        })
        .collect();
    let quiet = process::wait_for_quiet();
    println!("P3 CLI memory: hubspot-contacts upsert FILE.jsonl --rate-limit off");
    println!("machine before measuring: {quiet}");
    let mut table = Vec::new();
    for (n, path) in &files {
        let (mut rss, mut rate) = (Vec::new(), Vec::new());
        for run in 1..=runs {
            let fake = FakeProcess::start(&[]);
            let mut command = Command::new(&cli);
            command
                .arg("upsert")
                .arg(path)
                .args(["--base-url", fake.base_url(), "--rate-limit", "off"])
                .env("HUBSPOT_TOKEN", "bench")
                .env_remove("HUBSPOT_BASE_URL")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            let output = process::die_with_parent(&mut command)
                .output()
                .expect("the CLI runs");
            drop(fake);
            let stderr = String::from_utf8_lossy(&output.stderr);
            let summary = CliSummary::from_stderr(&stderr).unwrap_or_else(|| {
                panic!("no summary from the CLI ({}):\n{stderr}", output.status)
            });
            assert_eq!(summary.rows, *n, "rows read; stderr:\n{stderr}");
            let mib = summary.peak_rss_mib.expect("a peak RSS line (Linux)");
            println!(
                "  {n} contacts run {run}: peak RSS {mib:.1} MiB, {:.1} s, {:.0} contacts/s, \
                 {} requests, exit {}",
                summary.seconds, summary.contacts_per_sec, summary.requests, output.status
            );
            rss.push(mib);
            rate.push(summary.contacts_per_sec);
        }
        table.push((*n, rss, rate));
    }
    let show = |values: &[f64], d| Spread::of(values).map_or("-".into(), |s| s.show(d));
    println!();
    println!("| contacts | peak RSS MiB | contacts/s |");
    println!("|---|---|---|");
    for (n, rss, rate) in &table {
        println!("| {n} | {} | {} |", show(rss, 1), show(rate, 0));
    }
}

/// `n` flat JSON objects, one per line, with distinct emails.
fn generate(path: &Path, n: u64) {
    let mut out = BufWriter::new(File::create(path).expect("the JSONL file"));
    for i in 0..n {
        writeln!(
            out,
            r#"{{"email":"user{i}@example.com","firstname":"F{i}","lastname":"Bench","city":"Oslo"}}"#
        )
        .expect("writing the JSONL file");
    }
    out.flush().expect("writing the JSONL file");
}
