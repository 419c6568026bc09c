//! P2, client CPU: 100,000 upserts by email through `upsert_all` (default concurrency)
//! against a separate `hubspot-fake` process with latency and limits off, the client
//! built with `RateLimit::Unlimited`. Reports the user + system CPU of this process
//! (the client: the fake is another process) per 1,000 contacts, measured around the
//! run only, and beside it, in the same process and run, the CPU of just serialising
//! the same request bodies (`types::BatchUpsertRequest` of 100 inputs, with the trace
//! ids the SDK adds) with serde_json: the floor.
//!
//! Run: `cargo build --release -p hubspot-fake -p hubspot-contacts-cli &&
//! cargo bench -p hubspot-contacts-bench --bench client_cpu`.
//!
//! Environment: `BENCH_RUNS` (3), `P2_CONTACTS` (100000).

use std::{collections::BTreeMap, hint::black_box, time::Instant};

use hubspot_contacts_batch::{Client, ContactsBatchExt, Upsert, policy::RateLimit, types};
use hubspot_contacts_bench::{
    cpu,
    figures::{self, Spread},
    process::{self, FakeProcess},
};

fn main() {
    let runs = process::runs();
    let contacts = process::env_number("P2_CONTACTS", 100_000);
    let runtime = tokio::runtime::Runtime::new().expect("a Tokio runtime");
    let quiet = process::wait_for_quiet();
    println!("P2 client CPU: {contacts} upserts by email, no latency, no limits");
    println!("machine before measuring: {quiet}");
    let (mut client_ms, mut floor_ms, mut ratio, mut fake_ms, mut rate) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for run in 1..=runs {
        let fake = FakeProcess::start(&[]);
        let client = Client::builder()
            .base_url(fake.base_url())
            .token("bench")
            .rate_limit(RateLimit::Unlimited)
            .build()
            .expect("a client");
        // Warm-up outside the measurement: connections, allocator, lazy statics.
        runtime.block_on(upsert(&client, 0..1_000, "warm"));
        let fake_before = process::child_cpu_secs(fake.pid());
        let cpu_before = cpu::process_cpu_secs();
        let started = Instant::now();
        let (created, failed) = runtime.block_on(upsert(&client, 0..contacts, "user"));
        let elapsed = started.elapsed().as_secs_f64();
        let client_cpu = cpu::process_cpu_secs() - cpu_before;
        let fake_cpu = process::child_cpu_secs(fake.pid())
            .zip(fake_before)
            .map(|(after, before)| after - before);
        drop(fake);

        let bodies = request_bodies(contacts);
        let floor_before = cpu::process_cpu_secs();
        let bytes: usize = bodies
            .iter()
            .map(|body| black_box(serde_json::to_vec(black_box(body)).expect("json")).len())
            .sum();
        let floor_cpu = cpu::process_cpu_secs() - floor_before;

        let per_k = figures::cpu_per_thousand(client_cpu, contacts) * 1000.0;
        let floor_per_k = figures::cpu_per_thousand(floor_cpu, contacts) * 1000.0;
        println!(
            "  run {run}: {elapsed:.2} s ({:.0} contacts/s), created {created}, failed {failed}; \
             client CPU {client_cpu:.3} s = {per_k:.2} ms per 1,000 contacts; \
             serialising floor {floor_cpu:.3} s = {floor_per_k:.2} ms per 1,000 ({} MB of JSON); \
             ratio {:.1}x; fake CPU {}",
            contacts as f64 / elapsed,
            bytes / 1_000_000,
            per_k / floor_per_k,
            fake_cpu.map_or("?".into(), |c| format!("{c:.2} s")),
        );
        client_ms.push(per_k);
        floor_ms.push(floor_per_k);
        ratio.push(per_k / floor_per_k);
        fake_ms.push(fake_cpu.map_or(f64::NAN, |c| {
            figures::cpu_per_thousand(c, contacts) * 1000.0
        }));
        rate.push(contacts as f64 / elapsed);
    }
    let show = |values: &[f64], d| Spread::of(values).map_or("-".into(), |s| s.show(d));
    println!();
    println!("| figure | median (min, max) |");
    println!("|---|---|");
    println!(
        "| client CPU, ms per 1,000 contacts | {} |",
        show(&client_ms, 2)
    );
    println!(
        "| serde_json floor, ms per 1,000 contacts | {} |",
        show(&floor_ms, 2)
    );
    println!("| client / floor | {} |", show(&ratio, 1));
    println!(
        "| fake CPU (other process), ms per 1,000 contacts | {} |",
        show(&fake_ms, 2)
    );
    println!("| wall contacts/s | {} |", show(&rate, 0));
}

async fn upsert(client: &Client, range: std::ops::Range<u64>, prefix: &str) -> (u64, u64) {
    let prefix = prefix.to_owned();
    let inputs = range.map(move |n| {
        Upsert::by_email(format!("{prefix}{n}@example.com"))
            .set("firstname", format!("F{n}"))
            .set("lastname", "Bench")
            .set("city", "Oslo")
    });
    let counts = client.upsert_all(inputs).send().await.counts();
    (
        counts.created + counts.updated,
        counts.failed + counts.unknown,
    )
}

/// The bodies the SDK sends for the run: 100 inputs each, the same properties, and
/// the `hcb-<index>` trace ids it adds.
fn request_bodies(contacts: u64) -> Vec<types::BatchUpsertRequest> {
    let all: Vec<u64> = (0..contacts).collect();
    all.chunks(figures::INPUTS_PER_REQUEST as usize)
        .map(|chunk| types::BatchUpsertRequest {
            inputs: chunk
                .iter()
                .map(|&n| types::UpsertInput {
                    id: format!("user{n}@example.com"),
                    id_property: Some("email".to_owned()),
                    object_write_trace_id: Some(format!("hcb-{n}")),
                    properties: types::PropertyValues(BTreeMap::from([
                        ("city".to_owned(), "Oslo".to_owned()),
                        ("firstname".to_owned(), format!("F{n}")),
                        ("lastname".to_owned(), "Bench".to_owned()),
                    ])),
                })
                .collect(),
        })
        .collect()
}
