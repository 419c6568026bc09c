//! `--resume`: before anything new is sent, the rows an earlier run left in
//! flight (sent, no outcome) are settled by reading them back by key. The
//! decision is pure ([`decide`]); [`read_back`] does the reading.
//!
//! A create or an upsert in flight may or may not have been applied, and
//! sending it again could duplicate a contact or report `updated` for one the
//! earlier run created. So:
//! - found, created since the first run started: the earlier run created it;
//! - found, older: a create was refused (it already existed), an upsert is
//!   sent again (it can only update);
//! - not found: it was not applied, and is sent again;
//! - a create without an email cannot be looked up: `unknown`, never resent.
//!
//! Updates, archives, reads and legacy v1 rows are idempotent: they are simply
//! sent again.

use chrono::{DateTime, Utc};
use hubspot_contacts_batch::{Client, ContactsBatchExt, Outcome, batch::BatchAborted};

/// What to do with one row found in flight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settle {
    /// The earlier run created the contact with this id.
    Created(String),
    /// The contact existed before the earlier run: its create was refused.
    Existed(String),
    /// Send it again.
    Resend,
}

/// Which operations read their rows in flight back before resending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InFlight {
    /// Creates: resending could duplicate.
    Create,
    /// Upserts: resending could misreport `created` as `updated`.
    Upsert,
    /// Idempotent operations: send again.
    Resend,
}

/// A contact found by key: its id and when HubSpot created it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// The record id.
    pub id: String,
    /// HubSpot's creation time.
    pub created_at: DateTime<Utc>,
}

/// The reason given for a create in flight that has no email to look it up by.
pub const KEYLESS_CREATE: &str = "it was in flight when the earlier run stopped, and a create \
     without an email cannot be read back; it is not sent again, so that it cannot be \
     created twice";

/// Decides a row in flight, given what reading it back found and when the
/// first run of the journal started. Pure.
pub fn decide(kind: InFlight, found: Option<&Found>, since: DateTime<Utc>) -> Settle {
    match (kind, found) {
        (InFlight::Resend, _) | (_, None) => Settle::Resend,
        (_, Some(found)) if found.created_at >= since => Settle::Created(found.id.clone()),
        (InFlight::Create, Some(found)) => Settle::Existed(found.id.clone()),
        (InFlight::Upsert, Some(_)) => Settle::Resend,
    }
}

/// Reads the contacts whose `property` has each of `values` (in order), and
/// returns, for each, what was found. A value HubSpot does not know is `None`.
pub async fn read_back(
    client: &Client,
    property: &str,
    values: &[String],
) -> Result<Vec<Option<Found>>, BatchAborted> {
    let report = client
        .read_all(values.iter().cloned())
        .id_property(property.to_owned())
        .send()
        .await?;
    let mut found = vec![None; values.len()];
    for outcome in report.outcomes {
        if let (Outcome::Read(contact), Some(slot)) =
            (outcome.outcome, found.get_mut(outcome.index))
        {
            *slot = Some(Found {
                id: contact.id.clone(),
                created_at: contact.created_at,
            });
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, second).unwrap()
    }

    fn found(second: u32) -> Found {
        Found {
            id: "7".into(),
            created_at: at(second),
        }
    }

    #[test]
    fn a_contact_created_since_the_run_started_was_created_by_it() {
        let since = at(10);
        for kind in [InFlight::Create, InFlight::Upsert] {
            assert_eq!(
                decide(kind, Some(&found(10)), since),
                Settle::Created("7".into())
            );
            assert_eq!(
                decide(kind, Some(&found(30)), since),
                Settle::Created("7".into())
            );
        }
    }

    #[test]
    fn an_older_contact_refused_the_create_and_is_updated_by_the_upsert() {
        let since = at(10);
        assert_eq!(
            decide(InFlight::Create, Some(&found(9)), since),
            Settle::Existed("7".into())
        );
        assert_eq!(
            decide(InFlight::Upsert, Some(&found(9)), since),
            Settle::Resend
        );
    }

    #[test]
    fn what_is_not_found_or_idempotent_is_sent_again() {
        let since = at(10);
        assert_eq!(decide(InFlight::Create, None, since), Settle::Resend);
        assert_eq!(decide(InFlight::Upsert, None, since), Settle::Resend);
        assert_eq!(
            decide(InFlight::Resend, Some(&found(30)), since),
            Settle::Resend
        );
    }
}
