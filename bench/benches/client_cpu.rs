//! P2, client CPU: 100,000 upserts by email through `upsert_all` (default concurrency)
//! against a separate `hubspot-fake` process with latency and limits off, the client
//! built with `RateLimit::Unlimited`. Reports the user + system CPU of this process
//! (the client: the fake is another process) per 1,000 contacts, measured around the
//! run only, and beside it, in the same process and run, the CPU of just serialising
//! the same request bodies (`types::BatchUpsertRequest` of 100 inputs, with the trace
//! ids the SDK adds) with serde_json: the floor.
//!
//! To show where the rest goes, the same run then measures the two other parts any
//! client must do for the same exchanges, with no SDK in the way: sending the
//! already-serialised bodies over plain reqwest at the same concurrency and reading
//! the answers as bytes (HTTP), and parsing those answers into the generated
//! `types::BatchUpsertResponse` (parse); and the caller's own part, building the
//! `Upsert` inputs. What the SDK adds is the client's CPU minus those four.
//!
//! Run: `cargo build --release -p hubspot-fake -p hubspot-contacts-cli &&
//! cargo bench -p hubspot-contacts-bench --bench client_cpu`.
//!
//! Environment: `BENCH_RUNS` (3), `P2_CONTACTS` (100000).

use std::{collections::BTreeMap, hint::black_box, time::Instant};

use futures::StreamExt;
use hubspot_contacts_batch::{
    Client, ContactsBatchExt, Upsert, batch::DEFAULT_CONCURRENCY, policy::RateLimit, types,
};
use hubspot_contacts_bench::{
    cpu,
    figures::{self, Spread},
    process::{self, FakeProcess},
};

/// Passes over the same bodies for the serialise and parse figures, which are
/// too short to time well once.
const PASSES: u32 = 5;

/// One run's figures, in ms of CPU per 1,000 contacts (but `rate`).
#[derive(Default)]
struct Figures {
    client: Vec<f64>,
    serialise: Vec<f64>,
    http: Vec<f64>,
    parse: Vec<f64>,
    inputs: Vec<f64>,
    sdk_adds: Vec<f64>,
    ratio: Vec<f64>,
    fake: Vec<f64>,
    rate: Vec<f64>,
}

pub fn main() {
    let runs = process::runs();
    let contacts = process::env_number("P2_CONTACTS", 100_000);
    let runtime = tokio::runtime::Runtime::new().expect("a Tokio runtime");
    let quiet = process::wait_for_quiet();
    println!("P2 client CPU: {contacts} upserts by email, no latency, no limits");
    println!("machine before measuring: {quiet}");
    let per_k = |cpu_secs: f64| figures::cpu_per_thousand(cpu_secs, contacts) * 1000.0;
    let mut all = Figures::default();
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

        let bodies = request_bodies(contacts);
        let (serialise_cpu, serialised) = serialise(&bodies);
        let (http_cpu, answers) = runtime.block_on(exchange(fake.base_url(), serialised));
        drop(fake);
        let parse_cpu = parse(&answers);
        let inputs_cpu = build_inputs(contacts);

        let client_ms = per_k(client_cpu);
        let floor_ms = per_k(serialise_cpu);
        let (http_ms, parse_ms) = (per_k(http_cpu), per_k(parse_cpu));
        let inputs_ms = per_k(inputs_cpu);
        let sdk_adds = client_ms - floor_ms - http_ms - parse_ms - inputs_ms;
        println!(
            "  run {run}: {elapsed:.2} s ({:.0} contacts/s), created {created}, failed {failed}; \
             client {client_ms:.2} ms per 1,000 contacts = {:.1}x the serialising floor \
             ({floor_ms:.3}); HTTP {http_ms:.2}, parse {parse_ms:.2}, building the inputs \
             {inputs_ms:.2}, SDK adds {sdk_adds:.2}; \
             fake {}",
            contacts as f64 / elapsed,
            client_ms / floor_ms,
            fake_cpu.map_or("?".into(), |c| format!("{:.2}", per_k(c))),
        );
        all.client.push(client_ms);
        all.serialise.push(floor_ms);
        all.http.push(http_ms);
        all.parse.push(parse_ms);
        all.inputs.push(inputs_ms);
        all.sdk_adds.push(sdk_adds);
        all.ratio.push(client_ms / floor_ms);
        all.fake.push(fake_cpu.map_or(f64::NAN, per_k));
        all.rate.push(contacts as f64 / elapsed);
    }
    let show = |values: &[f64], d| Spread::of(values).map_or("-".into(), |s| s.show(d));
    println!();
    println!("| figure | median (min, max) |");
    println!("|---|---|");
    let rows = [
        ("client CPU, ms per 1,000 contacts", &all.client, 2),
        (
            "serde_json floor (serialise), ms per 1,000",
            &all.serialise,
            3,
        ),
        ("client / floor", &all.ratio, 1),
        (
            "plain reqwest exchange of the same bodies, ms per 1,000",
            &all.http,
            2,
        ),
        ("parsing the same answers, ms per 1,000", &all.parse, 2),
        (
            "building the inputs (caller's code), ms per 1,000",
            &all.inputs,
            2,
        ),
        ("what the SDK adds, ms per 1,000", &all.sdk_adds, 2),
        ("fake CPU (other process), ms per 1,000", &all.fake, 2),
        ("wall contacts/s", &all.rate, 0),
    ];
    for (name, values, decimals) in rows {
        println!("| {name} | {} |", show(values, decimals));
    }
}

/// The run's inputs, as a user of the SDK would build them.
fn inputs(range: std::ops::Range<u64>, prefix: &str) -> impl Iterator<Item = Upsert> + use<> {
    let prefix = prefix.to_owned();
    range.map(move |n| {
        Upsert::by_email(format!("{prefix}{n}@example.com"))
            .set("firstname", format!("F{n}"))
            .set("lastname", "Bench")
            .set("city", "Oslo")
    })
}

/// CPU seconds of building and dropping the run's inputs, which the client's
/// figure includes but the SDK does not do (the mean of [`PASSES`]).
fn build_inputs(contacts: u64) -> f64 {
    let before = cpu::process_cpu_secs();
    for _ in 0..PASSES {
        inputs(0..contacts, "user").for_each(|input| drop(black_box(input)));
    }
    (cpu::process_cpu_secs() - before) / f64::from(PASSES)
}

async fn upsert(client: &Client, range: std::ops::Range<u64>, prefix: &str) -> (u64, u64) {
    let counts = client
        .upsert_all(inputs(range, prefix))
        .send()
        .await
        .expect("the fake accepts the bench's token")
        .counts();
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
        .map(|chunk| {
            let inputs = chunk
                .iter()
                .map(|&n| {
                    types::UpsertInput::builder()
                        .id(format!("user{n}@example.com"))
                        .id_property(Some("email".to_owned()))
                        .object_write_trace_id(Some(format!("hcb-{n}")))
                        .properties(types::PropertyValues(BTreeMap::from([
                            ("city".to_owned(), "Oslo".to_owned()),
                            ("firstname".to_owned(), format!("F{n}")),
                            ("lastname".to_owned(), "Bench".to_owned()),
                        ])))
                        .try_into()
                        .expect("every required field is set")
                })
                .collect::<Vec<types::UpsertInput>>();
            types::BatchUpsertRequest::builder()
                .inputs(inputs)
                .try_into()
                .expect("every required field is set")
        })
        .collect()
}

/// The floor: CPU seconds of one pass of serialising `bodies` (the mean of
/// [`PASSES`]), and the serialised bodies.
fn serialise(bodies: &[types::BatchUpsertRequest]) -> (f64, Vec<Vec<u8>>) {
    let before = cpu::process_cpu_secs();
    for _ in 1..PASSES {
        for body in bodies {
            black_box(serde_json::to_vec(black_box(body)).expect("json"));
        }
    }
    let serialised: Vec<Vec<u8>> = bodies
        .iter()
        .map(|body| serde_json::to_vec(black_box(body)).expect("json"))
        .collect();
    let cpu = (cpu::process_cpu_secs() - before) / f64::from(PASSES);
    (cpu, serialised)
}

/// Sends the serialised bodies to the fake's batch upsert over plain reqwest,
/// [`DEFAULT_CONCURRENCY`] at a time, and reads each answer as bytes: CPU
/// seconds, and the answers.
async fn exchange(base_url: &str, bodies: Vec<Vec<u8>>) -> (f64, Vec<impl AsRef<[u8]> + use<>>) {
    let http = process::admin_client();
    let url = format!("{base_url}/crm/v3/objects/contacts/batch/upsert");
    let before = cpu::process_cpu_secs();
    let answers: Vec<_> = futures::stream::iter(bodies)
        .map(|body| {
            let request = http
                .post(&url)
                .bearer_auth("bench")
                .header("content-type", "application/json")
                .body(body);
            async move {
                let response = request.send().await.expect("the fake answers");
                assert!(response.status().is_success(), "{}", response.status());
                response.bytes().await.expect("the answer's body")
            }
        })
        .buffer_unordered(DEFAULT_CONCURRENCY)
        .collect()
        .await;
    (cpu::process_cpu_secs() - before, answers)
}

/// CPU seconds of one pass of parsing `answers` into the generated response type
/// (the mean of [`PASSES`]).
fn parse(answers: &[impl AsRef<[u8]>]) -> f64 {
    let before = cpu::process_cpu_secs();
    for _ in 0..PASSES {
        for answer in answers {
            let parsed: types::BatchUpsertResponse =
                serde_json::from_slice(black_box(answer.as_ref())).expect("an upsert answer");
            black_box(parsed);
        }
    }
    (cpu::process_cpu_secs() - before) / f64::from(PASSES)
}
