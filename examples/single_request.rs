//! One generated call: a single batch upsert request, exactly as the OpenAPI
//! document describes it.
//!
//! Runs against HubSpot when `HUBSPOT_TOKEN` is set, else against an embedded
//! hubspot-fake: `cargo run --example single_request`.

use hubspot_contacts_batch::{SdkError, types};

mod common;

use common::connect;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _fake) = connect().await?;

    let input = types::UpsertInput {
        id: "ada@example.com".into(),
        id_property: Some("email".into()),
        properties: types::PropertyValues([("firstname".to_string(), "Ada".to_string())].into()),
        object_write_trace_id: None,
    };
    match client
        .batch_upsert()
        .body(types::BatchUpsertRequest {
            inputs: vec![input],
        })
        .send()
        .await
    {
        Ok(response) => {
            for contact in &response.results {
                println!(
                    "{} {} (new: {})",
                    response.status(),
                    contact.id,
                    contact.new
                );
            }
            for error in &response.errors {
                println!(
                    "{}: {}",
                    error.category.as_deref().unwrap_or("?"),
                    error.message
                );
            }
        }
        Err(error) => println!("{}", SdkError::from(error)),
    }
    Ok(())
}
