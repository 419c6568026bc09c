//! P1, throughput against the rate-limit ceiling: 50,000 upserts by email through
//! `upsert_all` against a separate `hubspot-fake` process with 50 ms latency and a
//! time-compressed HubSpot limit (100/1s, then 190/1s). The client is built with the
//! default limiter (it starts at 100/10s and adapts to the fake's headers).
//!
//! Run: `cargo build --release -p hubspot-fake -p hubspot-contacts-cli &&
//! cargo bench -p hubspot-contacts-bench --bench throughput`.
//!
//! Environment: `BENCH_RUNS` (3), `P1_LIMITS` (`100/1s,190/1s`), `P1_CONCURRENCY`
//! (`8,16`: the SDK default and twice it), `P1_CONTACTS` (50000), `P1_LATENCY_MS` (50).
//!
//! Figures per run:
//! - wall contacts/s: contacts / wall time (credited with the burst an empty window
//!   allows at the start, so it can exceed the ceiling on a short run);
//! - steady contacts/s: one window's budget over the mean time `max` consecutive
//!   successful requests took to be answered (see
//!   `hubspot_contacts_bench::figures::window_cycle_secs`), and efficiency = steady /
//!   ceiling;
//! - 429s in all, and after the first window: the fake's `rateLimited` at the end
//!   minus its value one window after the start.

use std::{
    fmt::Debug,
    str::FromStr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use hubspot_contacts_batch::{Client, ContactsBatchExt, Upsert, policy::RateLimit};
use hubspot_contacts_bench::{
    figures::{self, Spread},
    process::{self, FakeProcess},
};
use tracing::{
    Event, Metadata, Subscriber,
    field::{Field, Visit},
    span,
};

fn main() {
    let runs = process::runs();
    let contacts = process::env_number("P1_CONTACTS", 50_000);
    let latency = process::env_number("P1_LATENCY_MS", 50).to_string();
    let limits = list("P1_LIMITS", "100/1s,190/1s");
    let concurrencies: Vec<usize> = list("P1_CONCURRENCY", "8,16")
        .iter()
        .map(|c| c.parse().expect("P1_CONCURRENCY: numbers"))
        .collect();
    let answers = Recorder::install();
    let runtime = tokio::runtime::Runtime::new().expect("a Tokio runtime");
    let quiet = process::wait_for_quiet();
    println!("P1 throughput vs ceiling: {contacts} upserts by email, fake latency {latency} ms");
    println!("machine before measuring: {quiet}");
    let mut table = Vec::new();
    for limit in &limits {
        let (max, window) = match RateLimit::from_str(limit) {
            Ok(RateLimit::Quota { max, window }) => (max, window),
            _ => panic!("P1_LIMITS: {limit} is not MAX/WINDOW"),
        };
        let ceiling = figures::ceiling_contacts_per_sec(max, window.as_secs_f64());
        for &concurrency in &concurrencies {
            let mut results = Vec::new();
            for run in 1..=runs {
                // A fresh fake each run: empty store, empty window, zero counters.
                let fake = FakeProcess::start(&["--latency-ms", &latency, "--rate-limit", limit]);
                let result = runtime.block_on(one_run(
                    fake.base_url(),
                    contacts,
                    concurrency,
                    window,
                    &answers,
                ));
                drop(fake);
                let cycle = figures::window_cycle_secs(&result.answers, max as usize);
                let steady = cycle.map_or(0.0, |c| figures::steady_contacts_per_sec(max, c));
                let measured = Measured {
                    wall_rate: result.contacts as f64 / result.elapsed.as_secs_f64(),
                    steady_rate: steady,
                    efficiency: figures::efficiency_percent(steady, ceiling),
                    elapsed: result.elapsed.as_secs_f64(),
                    limited_all: result.limited_all as f64,
                    limited_after_first: result.limited_after_first as f64,
                };
                println!(
                    "  {limit} concurrency {concurrency} run {run}: {:.2} s, wall {:.0} contacts/s, \
                     steady {:.0} contacts/s (window used in {:.3} s), efficiency {:.1} %, \
                     429s {} ({} after the first window), created {} failed {}",
                    measured.elapsed,
                    measured.wall_rate,
                    measured.steady_rate,
                    cycle.unwrap_or(f64::NAN),
                    measured.efficiency,
                    result.limited_all,
                    result.limited_after_first,
                    result.created,
                    result.failed,
                );
                results.push(measured);
            }
            table.push((limit.clone(), concurrency, ceiling, results));
        }
    }
    println!();
    println!(
        "| limit | concurrency | ceiling contacts/s | wall contacts/s | steady contacts/s | efficiency % | 429s after 1st window | 429s in all |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (limit, concurrency, ceiling, results) in &table {
        let spread = |f: fn(&Measured) -> f64, d| {
            Spread::of(&results.iter().map(f).collect::<Vec<_>>()).map_or("-".into(), |s| s.show(d))
        };
        println!(
            "| {limit} | {concurrency} | {ceiling:.0} | {} | {} | {} | {} | {} |",
            spread(|m| m.wall_rate, 0),
            spread(|m| m.steady_rate, 0),
            spread(|m| m.efficiency, 1),
            spread(|m| m.limited_after_first, 0),
            spread(|m| m.limited_all, 0),
        );
    }
}

fn list(name: &str, default: &str) -> Vec<String> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

struct Measured {
    wall_rate: f64,
    steady_rate: f64,
    efficiency: f64,
    elapsed: f64,
    limited_all: f64,
    limited_after_first: f64,
}

struct RunResult {
    contacts: u64,
    created: u64,
    failed: u64,
    elapsed: Duration,
    /// Seconds from the start at which successful requests were answered, sorted.
    answers: Vec<f64>,
    limited_all: u64,
    limited_after_first: u64,
}

async fn one_run(
    base_url: &str,
    contacts: u64,
    concurrency: usize,
    window: Duration,
    answers: &Recorder,
) -> RunResult {
    // The default limiter: 100/10s to start, adapting to the fake's headers.
    let client = Client::builder()
        .base_url(base_url)
        .token("bench")
        .build()
        .expect("a client");
    let admin = process::admin_client();
    let inputs = (0..contacts).map(|n| {
        Upsert::by_email(format!("user{n}@example.com"))
            .set("firstname", format!("F{n}"))
            .set("lastname", "Bench")
            .set("city", "Oslo")
    });
    answers.clear();
    let started = Instant::now();
    let snapshot = {
        let (admin, base_url) = (admin.clone(), base_url.to_owned());
        tokio::spawn(async move {
            tokio::time::sleep_until((started + window).into()).await;
            process::fake_stats(&admin, &base_url).await
        })
    };
    let report = client
        .upsert_all(inputs)
        .concurrency(concurrency)
        .send()
        .await
        .expect("the fake accepts the bench's token");
    let elapsed = started.elapsed();
    let at_first_window = snapshot.await.expect("the snapshot task");
    let at_end = process::fake_stats(&admin, base_url).await;
    let counts = report.counts();
    let mut answered: Vec<f64> = answers
        .take()
        .into_iter()
        .map(|at| at.saturating_duration_since(started).as_secs_f64())
        .collect();
    answered.sort_by(f64::total_cmp);
    RunResult {
        contacts,
        created: counts.created,
        failed: counts.failed + counts.unknown,
        elapsed,
        answers: answered,
        limited_all: at_end.rate_limited,
        limited_after_first: at_end.rate_limited - at_first_window.rate_limited,
    }
}

/// A `tracing` subscriber that records when the SDK's transport saw a 2xx answer
/// (its `attempt done` event with `outcome = "200"`); nothing else is kept.
#[derive(Clone, Default)]
struct Recorder {
    answers: Arc<Mutex<Vec<Instant>>>,
    next_span: Arc<AtomicU64>,
}

impl Recorder {
    fn install() -> Recorder {
        let recorder = Recorder::default();
        tracing::subscriber::set_global_default(recorder.clone()).expect("the only subscriber");
        recorder
    }

    fn clear(&self) {
        self.answers.lock().expect("recorder lock").clear();
    }

    fn take(&self) -> Vec<Instant> {
        std::mem::take(&mut *self.answers.lock().expect("recorder lock"))
    }
}

#[derive(Default)]
struct AttemptFields {
    message: String,
    outcome: String,
}

impl Visit for AttemptFields {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "outcome" => self.outcome = format!("{value:?}"),
            _ => {}
        }
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.is_event() && metadata.target().starts_with("hubspot_contacts_batch")
    }

    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}

    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}

    fn event(&self, event: &Event<'_>) {
        let now = Instant::now();
        let mut fields = AttemptFields::default();
        event.record(&mut fields);
        if fields.message == "attempt done" && fields.outcome.trim_matches('"').starts_with('2') {
            self.answers.lock().expect("recorder lock").push(now);
        }
    }

    fn enter(&self, _: &span::Id) {}

    fn exit(&self, _: &span::Id) {}
}
