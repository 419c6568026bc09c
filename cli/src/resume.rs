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
//! - not found (HubSpot says so): it was not applied, and is sent again;
//! - the read itself failed: a create is `unknown`, never resent; an upsert
//!   is sent again;
//! - a create without an email cannot be looked up: `unknown`, never resent.
//!
//! Updates, archives, reads and legacy v1 rows are idempotent: they are simply
//! sent again.

use chrono::{DateTime, Utc};
use hubspot_contacts_batch::{
    Client, ContactsBatchExt, InputOutcome, Outcome, batch::BatchAborted,
};

/// What to do with one row found in flight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settle {
    /// The earlier run created the contact with this id.
    Created(String),
    /// The contact existed before the earlier run: its create was refused.
    Existed(String),
    /// Whether the earlier run applied it cannot be told (why): not sent again.
    Unknown(String),
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

/// What reading a row back by its key found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The contact.
    Found(Found),
    /// HubSpot says no contact has the key.
    Absent,
    /// The read did not tell (why): it failed, or was not answered.
    Unread(String),
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
pub fn decide(kind: InFlight, lookup: &Lookup, since: DateTime<Utc>) -> Settle {
    match (kind, lookup) {
        (InFlight::Resend, _) | (_, Lookup::Absent) => Settle::Resend,
        (_, Lookup::Found(found)) if found.created_at >= since => Settle::Created(found.id.clone()),
        (InFlight::Create, Lookup::Found(found)) => Settle::Existed(found.id.clone()),
        (InFlight::Upsert, Lookup::Found(_) | Lookup::Unread(_)) => Settle::Resend,
        (InFlight::Create, Lookup::Unread(why)) => Settle::Unknown(format!(
            "it was in flight when the earlier run stopped, and reading it back failed ({why}); \
             it is not sent again, so that it cannot be created twice"
        )),
    }
}

/// Reads the contacts whose `property` has each of `values` (in order), and
/// returns, for each, what was found (only HubSpot's `OBJECT_NOT_FOUND` makes
/// a value [`Lookup::Absent`]), and the requests that took.
pub async fn read_back(
    client: &Client,
    property: &str,
    values: &[String],
) -> Result<(Vec<Lookup>, u64), BatchAborted> {
    let report = client
        .read_all(values.iter().cloned())
        .id_property(property.to_owned())
        .send()
        .await?;
    Ok((
        lookups(report.outcomes, values.len()),
        report.stats.requests,
    ))
}

/// What each of `count` values read back found, from the read's outcomes.
/// Pure.
fn lookups(outcomes: Vec<InputOutcome>, count: usize) -> Vec<Lookup> {
    let mut lookups = vec![Lookup::Unread("no answer for it".to_owned()); count];
    for outcome in outcomes {
        let Some(slot) = lookups.get_mut(outcome.index) else {
            continue;
        };
        *slot = match outcome.outcome {
            Outcome::Read(contact) => Lookup::Found(Found {
                id: contact.id.clone(),
                created_at: contact.created_at,
            }),
            Outcome::Failed(failure) if failure.category.as_deref() == Some(NOT_FOUND) => {
                Lookup::Absent
            }
            other => Lookup::Unread(other.to_string()),
        };
    }
    lookups
}

/// HubSpot's category for a key no contact has, in a batch read's errors.
const NOT_FOUND: &str = "OBJECT_NOT_FOUND";

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, second).unwrap()
    }

    fn found(second: u32) -> Lookup {
        Lookup::Found(Found {
            id: "7".into(),
            created_at: at(second),
        })
    }

    #[test]
    fn a_contact_created_since_the_run_started_was_created_by_it() {
        let since = at(10);
        for kind in [InFlight::Create, InFlight::Upsert] {
            assert_eq!(decide(kind, &found(10), since), Settle::Created("7".into()));
            assert_eq!(decide(kind, &found(30), since), Settle::Created("7".into()));
        }
    }

    #[test]
    fn an_older_contact_refused_the_create_and_is_updated_by_the_upsert() {
        let since = at(10);
        assert_eq!(
            decide(InFlight::Create, &found(9), since),
            Settle::Existed("7".into())
        );
        assert_eq!(decide(InFlight::Upsert, &found(9), since), Settle::Resend);
    }

    #[test]
    fn what_is_not_found_or_idempotent_is_sent_again() {
        let since = at(10);
        assert_eq!(
            decide(InFlight::Create, &Lookup::Absent, since),
            Settle::Resend
        );
        assert_eq!(
            decide(InFlight::Upsert, &Lookup::Absent, since),
            Settle::Resend
        );
        assert_eq!(decide(InFlight::Resend, &found(30), since), Settle::Resend);
    }

    #[test]
    fn only_hubspots_not_found_makes_a_key_absent() {
        use hubspot_contacts_batch::batch::InputFailure;
        let failed = |category: &str| {
            Outcome::Failed(InputFailure {
                category: Some(category.to_owned()),
                client: None,
                code: None,
                message: "no such contact".to_owned(),
                context: Default::default(),
                status: Some(207),
                correlation_id: None,
            })
        };
        let outcome = |index, outcome| InputOutcome {
            index,
            key: None,
            outcome,
        };
        let found = lookups(
            vec![
                outcome(0, failed("OBJECT_NOT_FOUND")),
                outcome(1, failed("VALIDATION_ERROR")),
                outcome(
                    2,
                    Outcome::Unknown {
                        reason: "timed out".into(),
                    },
                ),
                outcome(9, failed("OBJECT_NOT_FOUND")),
            ],
            4,
        );
        assert_eq!(found[0], Lookup::Absent);
        assert!(matches!(&found[1], Lookup::Unread(why) if why.contains("no such contact")));
        assert!(matches!(&found[2], Lookup::Unread(why) if why.contains("timed out")));
        assert!(
            matches!(&found[3], Lookup::Unread(_)),
            "not answered: {:?}",
            found[3]
        );
    }

    #[test]
    fn a_failed_read_never_resends_a_create() {
        let since = at(10);
        let unread = Lookup::Unread("HubSpot answered 500".into());
        let Settle::Unknown(why) = decide(InFlight::Create, &unread, since) else {
            panic!("a create that could not be read back must stay unknown");
        };
        assert!(why.contains("HubSpot answered 500"), "{why}");
        assert_eq!(decide(InFlight::Upsert, &unread, since), Settle::Resend);
        assert_eq!(decide(InFlight::Resend, &unread, since), Settle::Resend);
    }
}
