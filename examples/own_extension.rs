//! Extending the generated client with a helper trait of your own: here a
//! `find_by_email` built on the generated batch read.
//!
//! Runs against HubSpot when `HUBSPOT_TOKEN` is set, else against an embedded
//! hubspot-fake: `cargo run --example own_extension`.

use hubspot_contacts_batch::{ApiVersion, Client, SdkError, prelude::*, types};

/// Our own extension: look contacts up by email, one request.
trait ContactLookupExt {
    /// The contacts with these emails that exist (at most 100).
    async fn find_by_email(&self, emails: &[&str]) -> Result<Vec<types::Contact>, SdkError>;
}

impl ContactLookupExt for Client {
    async fn find_by_email(&self, emails: &[&str]) -> Result<Vec<types::Contact>, SdkError> {
        let inputs = emails
            .iter()
            .map(|email| types::RecordId::builder().id(*email).try_into())
            .collect::<Result<Vec<types::RecordId>, _>>()
            .map_err(|error| SdkError::Config(error.to_string()))?;
        // Builders, not struct literals: a field added to the document later
        // keeps this compiling.
        let body = types::BatchReadRequest::builder()
            .inputs(inputs)
            .id_property(Some("email".to_owned()))
            .properties(vec!["email".to_owned(), "firstname".to_owned()])
            .properties_with_history(Vec::new());
        // The same call at the client's API version, as the batch helpers do.
        let response = match self.batch_version() {
            ApiVersion::V3 => self.batch_read().body(body).send().await?,
            ApiVersion::Dated(version) => {
                let call = self.dated_batch_read().version(version);
                call.body(body).send().await?
            }
        };
        // A 207 lists the emails that were not found in `errors`; we only want the hits.
        Ok(response.into_inner().results)
    }
}

mod common;

use common::connect;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _fake) = connect().await?;
    let report = client
        .upsert_all([Upsert::by_email("grace@example.com").set("firstname", "Grace")])
        .send()
        .await?;
    println!(
        "{} upserted",
        report.counts().created + report.counts().updated
    );

    for contact in client
        .find_by_email(&["grace@example.com", "nobody@example.com"])
        .await?
    {
        println!("{} {:?}", contact.id, contact.properties.get("firstname"));
    }
    Ok(())
}
