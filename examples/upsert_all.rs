//! The batch helpers: 1,000 upserts in HubSpot-sized requests, one outcome per
//! input, including one the client refuses before sending.
//!
//! Runs against HubSpot when `HUBSPOT_TOKEN` is set, else against an embedded
//! hubspot-fake: `cargo run --example upsert_all`.

use hubspot_contacts_batch::prelude::*;

mod common;

use common::connect;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _fake) = connect().await?;

    let inputs = (0..1_000).map(|n| {
        let email = if n == 500 {
            String::new()
        } else {
            format!("user{n}@example.com")
        };
        Upsert::by_email(email)
            .set("firstname", "Ada")
            .set("zip", 10_000 + n)
    });
    // `Err` only when the run had to stop (token or scopes refused, daily
    // budget spent); refusals of single inputs are in the report.
    let report = client.upsert_all(inputs).concurrency(4).send().await?;

    let counts = report.counts();
    println!(
        "{} created, {} updated, {} failed, {} unknown, in {} requests",
        counts.created, counts.updated, counts.failed, counts.unknown, report.stats.requests
    );
    for problem in report.problems() {
        println!("{problem}");
    }
    Ok(())
}
