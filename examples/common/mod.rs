//! What every example starts with: a client for HubSpot when `HUBSPOT_TOKEN`
//! is set, else for an embedded hubspot-fake (kept alive by the returned handle).

use hubspot_contacts_batch::Client;
use hubspot_fake::FakeHubSpot;

pub async fn connect() -> Result<(Client, Option<FakeHubSpot>), Box<dyn std::error::Error>> {
    if std::env::var_os("HUBSPOT_TOKEN").is_some() {
        return Ok((Client::from_env()?, None));
    }
    let fake = FakeHubSpot::builder().start().await?;
    Ok((
        Client::with_token(fake.base_url(), "example-token")?,
        Some(fake),
    ))
}
