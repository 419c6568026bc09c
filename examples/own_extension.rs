//! Extending the generated client with a helper trait of your own: here a
//! `find_by_email` built on the generated batch read.
//!
//! Runs against HubSpot when `HUBSPOT_TOKEN` is set, else against an embedded
//! hubspot-fake: `cargo run --example own_extension`.

use hubspot_contacts_batch::{Client, SdkError, prelude::*, types};

/// Our own extension: look contacts up by email, one request.
trait ContactLookupExt {
    /// The contacts with these emails that exist (at most 100).
    async fn find_by_email(&self, emails: &[&str]) -> Result<Vec<types::Contact>, SdkError>;
}

impl ContactLookupExt for Client {
    async fn find_by_email(&self, emails: &[&str]) -> Result<Vec<types::Contact>, SdkError> {
        let body = types::BatchReadRequest {
            inputs: emails
                .iter()
                .map(|email| types::RecordId {
                    id: email.to_string(),
                })
                .collect(),
            id_property: Some("email".into()),
            properties: vec!["email".into(), "firstname".into()],
            properties_with_history: vec![],
        };
        // A 207 lists the emails that were not found in `errors`; we only want the hits.
        Ok(self
            .batch_read()
            .body(body)
            .send()
            .await?
            .into_inner()
            .results)
    }
}

mod common;

use common::connect;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _fake) = connect().await?;
    client
        .upsert_all([Upsert::by_email("grace@example.com").set("firstname", "Grace")])
        .send()
        .await;

    for contact in client
        .find_by_email(&["grace@example.com", "nobody@example.com"])
        .await?
    {
        println!("{} {:?}", contact.id, contact.properties.get("firstname"));
    }
    Ok(())
}
