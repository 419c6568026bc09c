//! P5, scaling out: several `hubspot-contacts` processes of one app, started
//! together, each upserting its own file into one `hubspot-fake` with a
//! time-compressed limit (40 per second) and 10 ms latency. Three setups:
//!
//! - **nothing shared**: each process believes it owns the whole budget, as
//!   before the header bound. That is a CLI built from the commit before it
//!   (`SCALE_BASELINE_CLI`, the path of that build's `hubspot-contacts`); the
//!   setup is skipped without it, so no switch for the old behaviour lives
//!   in the SDK;
//! - **header bound**: today's CLI, no flag: each process keeps to its share
//!   of the window that `X-HubSpot-RateLimit-Remaining` shows;
//! - **Redis**: today's CLI with `--shared-budget` (one `redis-server` per
//!   run, the default budget key: same base URL and token, same key).
//!
//! And, for the single worker's throughput, one process upserting all the
//! contacts alone, with the baseline CLI and with today's.
//!
//! Figures per run: requests and 429s (the fake's own counters), contacts
//! stored, wall time from the first spawn to the last exit, and efficiency =
//! ideal time / wall time, where the ideal time is what a perfect client of
//! the limit needs from its first request's start to its last one's: the
//! first window's budget at once, the rest at the limit's rate (20,000
//! contacts, 200 requests at 40 per second: 40 at once and 160 in 4 s). The
//! wall time also holds the processes' start, reading the files and the last
//! answers, so even a perfect run is a little under 100 %.
//!
//! Run: `cargo build --release -p hubspot-fake -p hubspot-contacts-cli &&
//! cargo bench -p hubspot-contacts-bench --bench scale_out`.
//!
//! Environment: `BENCH_RUNS` (3), `SCALE_WORKERS` (4), `SCALE_CONTACTS` (5000
//! per worker), `SCALE_LIMIT` (`40/1s`), `SCALE_LATENCY_MS` (10),
//! `SCALE_BASELINE_CLI` (unset: no baseline setups).

use std::{
    fs::File,
    io::{BufWriter, Write},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    str::FromStr,
    time::Instant,
};

use hubspot_contacts_batch::policy::RateLimit;
use hubspot_contacts_bench::{
    figures::{self, Spread},
    parse::CliSummary,
    process::{self, FakeProcess, TempDir, die_with_parent},
    redis::RedisServer,
};

/// One way of running the workers.
struct Setup {
    name: &'static str,
    cli: PathBuf,
    /// Flags of today's CLI the baseline does not have.
    flags: &'static [&'static str],
    workers: usize,
    redis: bool,
}

/// Today's CLI reads the portal's properties before writing (one more
/// request, which at 201 requests puts the last one in a sixth window); the
/// baseline did not, so it is skipped to measure the limiter alone.
const TODAY: &[&str] = &["--no-preflight"];

/// What one run of a setup measured.
struct Measured {
    requests: f64,
    rate_limited: f64,
    stored: f64,
    wall: f64,
    efficiency: f64,
}

fn main() {
    let runs = process::runs();
    let workers = process::env_number("SCALE_WORKERS", 4) as usize;
    let each = process::env_number("SCALE_CONTACTS", 5_000);
    let latency = process::env_number("SCALE_LATENCY_MS", 10).to_string();
    let limit = std::env::var("SCALE_LIMIT").unwrap_or_else(|_| "40/1s".to_owned());
    let (max, window) = match RateLimit::from_str(&limit) {
        Ok(RateLimit::Quota { max, window }) => (max, window),
        _ => panic!("SCALE_LIMIT: {limit} is not MAX/WINDOW"),
    };
    let total = each * workers as u64;
    let ideal = figures::ideal_secs(total, max, window.as_secs_f64());
    let cli = process::release_binary("hubspot-contacts");
    let baseline = std::env::var_os("SCALE_BASELINE_CLI").map(PathBuf::from);
    let dir = TempDir::new("scale-out");
    let files: Vec<PathBuf> = (0..workers)
        .map(|w| {
            let path = dir.path().join(format!("worker-{w}.jsonl"));
            generate(&path, w as u64 * each, each);
            path
        })
        .collect();
    let alone = dir.path().join("alone.jsonl");
    generate(&alone, 0, total);

    let mut setups = Vec::new();
    if let Some(old) = &baseline {
        setups.push(Setup {
            name: "nothing shared (baseline CLI)",
            cli: old.clone(),
            flags: &[],
            workers,
            redis: false,
        });
    }
    setups.push(Setup {
        name: "header bound",
        cli: cli.clone(),
        flags: TODAY,
        workers,
        redis: false,
    });
    setups.push(Setup {
        name: "Redis (--shared-budget)",
        cli: cli.clone(),
        flags: TODAY,
        workers,
        redis: true,
    });
    if let Some(old) = &baseline {
        setups.push(Setup {
            name: "one worker alone (baseline CLI)",
            cli: old.clone(),
            flags: &[],
            workers: 1,
            redis: false,
        });
    }
    setups.push(Setup {
        name: "one worker alone",
        cli,
        flags: TODAY,
        workers: 1,
        redis: false,
    });

    let runtime = tokio::runtime::Runtime::new().expect("a Tokio runtime");
    let quiet = process::wait_for_quiet();
    println!(
        "P5 scaling out: {total} upserts by email in all, limit {limit}, fake latency {latency} ms, \
         ideal {ideal:.2} s"
    );
    println!("machine before measuring: {quiet}");
    if baseline.is_none() {
        println!("SCALE_BASELINE_CLI not set: no baseline setups");
    }
    let mut table = Vec::new();
    for setup in &setups {
        let mut results = Vec::new();
        for run in 1..=runs {
            let fake = FakeProcess::start(&["--latency-ms", &latency, "--rate-limit", &limit]);
            let redis = setup.redis.then(|| {
                RedisServer::start_with(|command| {
                    die_with_parent(command);
                })
            });
            let inputs: Vec<&Path> = if setup.workers == 1 {
                vec![&alone]
            } else {
                files.iter().map(PathBuf::as_path).collect()
            };
            let started = Instant::now();
            let children: Vec<Child> = inputs
                .iter()
                .map(|file| spawn(setup, file, fake.base_url(), redis.as_ref()))
                .collect();
            let mut summaries = Vec::new();
            for child in children {
                let output = child.wait_with_output().expect("a worker runs");
                let stderr = String::from_utf8_lossy(&output.stderr);
                let summary = CliSummary::from_stderr(&stderr).unwrap_or_else(|| {
                    panic!("no summary from a worker ({}):\n{stderr}", output.status)
                });
                summaries.push(summary);
            }
            let wall = started.elapsed().as_secs_f64();
            let (stats, stored) = runtime.block_on(async {
                let http = process::admin_client();
                let stats = process::fake_stats(&http, fake.base_url()).await;
                (stats, stored_contacts(&http, fake.base_url()).await)
            });
            drop(redis);
            drop(fake);
            let rows: u64 = summaries.iter().map(|s| s.rows).sum();
            assert_eq!(rows, total, "every row read");
            let measured = Measured {
                requests: stats.requests as f64,
                rate_limited: stats.rate_limited as f64,
                stored: stored as f64,
                wall,
                efficiency: figures::efficiency_percent(ideal, wall),
            };
            println!(
                "  {} run {run}: {} requests, {} 429s ({:.1} %), {} contacts stored, {:.2} s, \
                 efficiency {:.1} %",
                setup.name,
                stats.requests,
                stats.rate_limited,
                percent(stats.rate_limited, stats.requests),
                stored,
                wall,
                measured.efficiency
            );
            results.push(measured);
        }
        table.push((setup, results));
    }
    let show = |values: Vec<f64>, d| Spread::of(&values).map_or("-".into(), |s| s.show(d));
    println!();
    println!(
        "| setup | workers | requests | 429s | 429 % | contacts stored | wall s | efficiency % |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (setup, results) in &table {
        let pick = |f: fn(&Measured) -> f64| results.iter().map(f).collect::<Vec<_>>();
        let share: Vec<f64> = results
            .iter()
            .map(|m| m.rate_limited / m.requests.max(1.0) * 100.0)
            .collect();
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            setup.name,
            setup.workers,
            show(pick(|m| m.requests), 0),
            show(pick(|m| m.rate_limited), 0),
            show(share, 1),
            show(pick(|m| m.stored), 0),
            show(pick(|m| m.wall), 2),
            show(pick(|m| m.efficiency), 1),
        );
    }
}

/// `cli upsert FILE --base-url URL` and the setup's flags, with
/// `--shared-budget` when given one.
fn spawn(setup: &Setup, file: &Path, base_url: &str, redis: Option<&RedisServer>) -> Child {
    let cli = &setup.cli;
    let mut command = Command::new(cli);
    command
        .arg("upsert")
        .arg(file)
        .args(["--base-url", base_url])
        .args(setup.flags)
        .env("HUBSPOT_TOKEN", "bench")
        .env_remove("HUBSPOT_BASE_URL")
        .env_remove("HUBSPOT_SHARED_BUDGET")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(redis) = redis {
        command.args(["--shared-budget", &redis.url()]);
    }
    process::die_with_parent(&mut command)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", cli.display()))
}

/// How many contacts the fake holds (`GET /_fake/contacts`).
async fn stored_contacts(http: &reqwest::Client, base_url: &str) -> usize {
    let body = http
        .get(format!("{base_url}/_fake/contacts"))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .expect("GET /_fake/contacts")
        .text()
        .await
        .expect("the contacts body");
    match serde_json::from_str::<serde_json::Value>(&body) {
        Ok(serde_json::Value::Array(contacts)) => contacts.len(),
        Ok(value) => value
            .get("results")
            .and_then(serde_json::Value::as_array)
            .map_or(0, Vec::len),
        Err(_) => panic!("unexpected contacts body: {body:.200}"),
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64 * 100.0
    }
}

/// `count` flat JSON objects with distinct emails, numbered from `first`.
fn generate(path: &Path, first: u64, count: u64) {
    let mut out = BufWriter::new(File::create(path).expect("the JSONL file"));
    for i in first..first + count {
        writeln!(
            out,
            r#"{{"email":"user{i}@example.com","firstname":"F{i}","lastname":"Bench"}}"#
        )
        .expect("writing the JSONL file");
    }
    out.flush().expect("writing the JSONL file");
}
