//! Shared setup for the fake-backed tests.
#![allow(dead_code)]

use std::time::Duration;

use hubspot_contacts_batch::{
    Client, ClientBuilder, InputOutcome,
    policy::{RateLimit, RetryPolicy},
};
use hubspot_fake::{FakeHubSpot, FakeHubSpotBuilder};

pub const TOKEN: &str = "pat-test-token";

/// A fake with `configure` applied, and a client pointed at it. The fake
/// sends no rate-limit headers unless given a limit, so the client is not
/// limited either.
pub async fn fake_with(
    configure: impl FnOnce(FakeHubSpotBuilder) -> FakeHubSpotBuilder,
) -> (FakeHubSpot, Client) {
    fake_and_client(configure, |client| client.rate_limit(RateLimit::Unlimited)).await
}

pub async fn fake() -> (FakeHubSpot, Client) {
    fake_with(|builder| builder).await
}

/// A fake and a client, each configured by the caller.
pub async fn fake_and_client(
    configure: impl FnOnce(FakeHubSpotBuilder) -> FakeHubSpotBuilder,
    client: impl FnOnce(ClientBuilder) -> ClientBuilder,
) -> (FakeHubSpot, Client) {
    let fake = configure(FakeHubSpot::builder().seed(7))
        .start()
        .await
        .expect("fake starts");
    let builder = Client::builder().base_url(fake.base_url()).token(TOKEN);
    (fake, client(builder).build().expect("client"))
}

/// Retries as the default policy does, with short waits so tests stay quick.
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy::default()
        .initial_backoff(Duration::from_millis(5))
        .max_backoff(Duration::from_millis(50))
        .max_attempts(8)
}

/// Asserts one outcome per input, in input order.
pub fn assert_every_input_accounted(outcomes: &[InputOutcome], inputs: usize) {
    assert_eq!(outcomes.len(), inputs, "one outcome per input");
    for (position, outcome) in outcomes.iter().enumerate() {
        assert_eq!(outcome.index, position, "outcomes in input order");
    }
}

pub fn email(n: usize) -> String {
    format!("user{n}@example.com")
}
