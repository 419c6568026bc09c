//! Capacity benchmark: how many batch-upsert requests of 100 inputs per second the fake
//! sustains with latency, limits and faults off. Prints figures; never passes or fails on
//! time. Run with `cargo bench -p hubspot-fake --bench capacity`.
//!
//! The fake runs on its own Tokio runtime (threads named `hubspot-fake`), the load
//! generator on another (`bench-client`), as if they were separate processes. Besides the
//! wall-clock rate, on Linux the benchmark reads the CPU time of the fake's threads from
//! `/proc`, which gives the fake's cost per request independently of the client's share of
//! the machine.
//!
//! Environment: `CAPACITY_SECS` (default 5), `CAPACITY_CLIENTS` (default 16 concurrent
//! client tasks), `CAPACITY_KEYS` (default 50000 distinct emails, so the run mixes creates
//! and updates).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hubspot_fake::FakeHubSpot;
use serde_json::{Value, json};

const INPUTS: usize = 100;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let secs = env_or("CAPACITY_SECS", 5);
    let clients = env_or("CAPACITY_CLIENTS", 16);
    let keys = env_or("CAPACITY_KEYS", 50_000).max(INPUTS as u64);
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(SERVER_THREAD)
        .enable_all()
        .build()
        .expect("server runtime");
    let fake = server
        .block_on(FakeHubSpot::builder().start())
        .expect("fake starts");
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-client")
        .enable_all()
        .build()
        .expect("client runtime");
    let cpu_before = server_cpu_secs();
    let (ok, failed, elapsed) = client.block_on(run(
        fake.base_url(),
        Duration::from_secs(secs),
        clients,
        keys,
    ));
    let cpu = server_cpu_secs()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let stored = fake.contacts().len();
    let stats = fake.stats();
    server.block_on(fake.shutdown());
    let rps = ok as f64 / elapsed;
    println!("hubspot-fake capacity: batch upsert, {INPUTS} inputs per request");
    println!("  clients: {clients}, run: {elapsed:.2} s, key space: {keys} emails");
    println!(
        "  requests ok: {ok}, failed: {failed}, server-side requests: {}",
        stats.requests
    );
    println!("  contacts stored: {stored}");
    println!("  requests/s: {rps:.0}");
    println!("  contacts/s (inputs upserted): {:.0}", rps * INPUTS as f64);
    if let Some(cpu) = cpu.filter(|c| *c > 0.0) {
        println!(
            "  fake CPU: {cpu:.2} s ({:.0} us per request; {:.0} requests per CPU-second)",
            cpu * 1e6 / ok.max(1) as f64,
            ok as f64 / cpu
        );
    }
    println!(
        "  target >= 1000 requests/s: {}",
        if rps >= 1000.0 { "met" } else { "NOT met" }
    );
}

const SERVER_THREAD: &str = "hubspot-fake";

/// CPU seconds (user + system) used so far by this process's threads named
/// [`SERVER_THREAD`], from `/proc/self/task/*/stat` (Linux; `None` elsewhere). Assumes the
/// usual 100 clock ticks per second.
fn server_cpu_secs() -> Option<f64> {
    let mut ticks = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let path = task.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if comm.trim_end() != SERVER_THREAD {
            continue;
        }
        let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
        // Fields after the parenthesised command name; utime and stime are the 14th and
        // 15th fields overall, so the 12th and 13th after it.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let utime: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0);
        let stime: u64 = fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
        ticks += utime + stime;
    }
    Some(ticks as f64 / 100.0)
}

/// Request bodies, built before the clock starts so the client's JSON work is not measured.
fn bodies(keys: u64) -> Vec<bytes_body::Body> {
    let batches = keys / INPUTS as u64;
    (0..batches)
        .map(|b| {
            let inputs: Vec<Value> = (0..INPUTS as u64)
                .map(|i| {
                    let n = b * INPUTS as u64 + i;
                    json!({
                        "id": format!("user{n}@example.com"),
                        "idProperty": "email",
                        "objectWriteTraceId": format!("t{n}"),
                        "properties": {"firstname": format!("F{n}"), "lastname": "Bench", "city": "Oslo"}
                    })
                })
                .collect();
            bytes_body::Body::from(serde_json::to_vec(&json!({ "inputs": inputs })).expect("json"))
        })
        .collect()
}

/// A cheaply clonable request body.
mod bytes_body {
    pub type Body = std::sync::Arc<Vec<u8>>;
}

async fn run(base_url: String, duration: Duration, clients: u64, keys: u64) -> (u64, u64, f64) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let url = format!("{base_url}/crm/v3/objects/contacts/batch/upsert");
    let bodies = Arc::new(bodies(keys));
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(clients as usize)
        .build()
        .expect("client");
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (http, url, bodies) = (http.clone(), url.clone(), bodies.clone());
        let (ok, failed, stop) = (ok.clone(), failed.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = c as usize;
            while !stop.load(Ordering::Relaxed) {
                let body = bodies[i % bodies.len()].as_ref().clone();
                i += clients as usize;
                let resp = http
                    .post(&url)
                    .bearer_auth("bench")
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await;
                match resp {
                    Ok(r) if r.status().as_u16() == 200 => {
                        let _ = r.bytes().await;
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    (
        ok.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        elapsed,
    )
}
