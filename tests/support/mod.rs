//! Shared setup for the fake-backed tests.
#![allow(dead_code)]

use hubspot_contacts_batch::{Client, InputOutcome};
use hubspot_fake::{FakeHubSpot, FakeHubSpotBuilder};

pub const TOKEN: &str = "pat-test-token";

/// A fake with `configure` applied, and a client pointed at it.
pub async fn fake_with(
    configure: impl FnOnce(FakeHubSpotBuilder) -> FakeHubSpotBuilder,
) -> (FakeHubSpot, Client) {
    let fake = configure(FakeHubSpot::builder().seed(7))
        .start()
        .await
        .expect("fake starts");
    let client = Client::with_token(fake.base_url(), TOKEN).expect("client");
    (fake, client)
}

pub async fn fake() -> (FakeHubSpot, Client) {
    fake_with(|builder| builder).await
}

/// Asserts one outcome per input, in input order.
pub fn assert_every_input_accounted(outcomes: &[InputOutcome], inputs: usize) {
    assert_eq!(outcomes.len(), inputs, "one outcome per input");
    for (position, outcome) in outcomes.iter().enumerate() {
        assert_eq!(outcome.index, position as u64, "outcomes in input order");
    }
}

pub fn email(n: usize) -> String {
    format!("user{n}@example.com")
}
