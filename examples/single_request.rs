//! One generated call: a single batch upsert request at HubSpot's newest
//! dated version, exactly as the OpenAPI document describes it. Request types
//! are made with their builders, so a field HubSpot adds to the document later
//! does not break this code.
//!
//! Runs against HubSpot when `HUBSPOT_TOKEN` is set, else against an embedded
//! hubspot-fake: `cargo run --example single_request`.

use hubspot_contacts_batch::{SdkError, types};

mod common;

use common::connect;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _fake) = connect().await?;

    let properties = [("firstname".to_string(), "Ada".to_string())];
    let input: types::UpsertInput = types::UpsertInput::builder()
        .id("ada@example.com")
        .id_property(Some("email".to_owned()))
        .properties(types::PropertyValues(properties.into()))
        .try_into()?;
    match client
        .dated_batch_upsert()
        .version(types::DatedVersion::default())
        .body(types::BatchUpsertRequest::builder().inputs(vec![input]))
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
