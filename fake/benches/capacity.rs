//! Capacity benchmark: how many batch-upsert requests of 100 inputs per second the fake
//! sustains with latency, limits and faults off. Prints figures; never passes or fails on
//! time. Run with `cargo bench -p hubspot-fake --bench capacity`.
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(Duration::from_secs(secs), clients, keys));
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

async fn run(duration: Duration, clients: u64, keys: u64) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let fake = FakeHubSpot::builder()
        .start()
        .await
        .expect("fake starts");
    let url = format!("{}/crm/v3/objects/contacts/batch/upsert", fake.base_url());
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
    let ok = ok.load(Ordering::Relaxed);
    let failed = failed.load(Ordering::Relaxed);
    let stored = fake.contacts().len();
    let stats = fake.stats();
    fake.shutdown().await;
    let rps = ok as f64 / elapsed;
    println!("hubspot-fake capacity: batch upsert, {INPUTS} inputs per request");
    println!("  clients: {clients}, run: {elapsed:.2} s, key space: {keys} emails");
    println!("  requests ok: {ok}, failed: {failed}, server-side requests: {}", stats.requests);
    println!("  contacts stored: {stored}");
    println!("  requests/s: {rps:.0}");
    println!("  contacts/s (inputs upserted): {:.0}", rps * INPUTS as f64);
    println!(
        "  target >= 1000 requests/s: {}",
        if rps >= 1000.0 { "met" } else { "NOT met" }
    );
}
