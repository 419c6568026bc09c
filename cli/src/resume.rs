//! `--resume`: before anything new is sent, the rows an earlier run left in
//! flight (sent, no outcome) are settled by reading them back by key. The
//! decision is pure ([`decide`]); [`read_back`] does the reading.
//!
//! A create or an upsert in flight may or may not have been applied, and
//! sending it again could duplicate a contact or report `updated` for one the
//! earlier run created. So:
//! - found, created since the first run started: the earlier run created it,
//!   unless another row of the journal already claims that contact (a
//!   repeated key): then a create was refused as a duplicate and an upsert is
//!   sent again;
//! - found, older: a create was refused (it already existed), an upsert is
//!   sent again (it can only update);
//! - not found (HubSpot says so): it was not applied, and is sent again;
//! - the read itself failed: a create is `unknown`, never resent; an upsert
//!   is sent again;
//! - a create without an email cannot be looked up: `unknown`, never resent.
//!
//! Updates, archives, reads and legacy v1 rows are idempotent: they are simply
//! sent again. But not out of order: a row sent again whose key a later row
//! already wrote would put back an older value, so each such later row is sent
//! again after it ([`KeyOrder`]).

use std::{
    collections::{HashMap, HashSet},
    io::{self, BufRead},
};

use crate::journal::RowState;
use chrono::{DateTime, Utc};
use hubspot_contacts_batch::{
    Client, ContactsBatchExt, InputOutcome, Outcome, batch::BatchAborted,
};
use serde::Deserialize;

/// What to do with one row found in flight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settle {
    /// The earlier run created the contact with this id.
    Created(String),
    /// The contact existed before the earlier run: its create was refused.
    Existed(String),
    /// Another row of the run created this contact (a repeated key): this
    /// row's create could only have been refused.
    CreatedByRow {
        /// The row that created it.
        row: u64,
        /// The contact's id.
        id: String,
    },
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

/// Decides a row in flight, given what reading it back found, when the first
/// run of the journal started, and which other row, if any, claims to have
/// created the contact found. Pure.
pub fn decide(
    kind: InFlight,
    lookup: &Lookup,
    since: DateTime<Utc>,
    claimed_by: Option<u64>,
) -> Settle {
    match (kind, lookup, claimed_by) {
        (InFlight::Resend, ..) | (_, Lookup::Absent, _) => Settle::Resend,
        (_, Lookup::Found(found), None) if found.created_at >= since => {
            Settle::Created(found.id.clone())
        }
        (InFlight::Create, Lookup::Found(found), Some(row)) if found.created_at >= since => {
            Settle::CreatedByRow {
                row,
                id: found.id.clone(),
            }
        }
        (InFlight::Create, Lookup::Found(found), _) => Settle::Existed(found.id.clone()),
        (InFlight::Upsert, Lookup::Found(_) | Lookup::Unread(_), _) => Settle::Resend,
        (InFlight::Create, Lookup::Unread(why), _) => Settle::Unknown(format!(
            "its fate was unknown when the earlier run stopped, and reading it back failed \
             ({why}); it is not sent again, so that it cannot be created twice"
        )),
    }
}

/// Decides the rows in flight, in row order: `rows[i]` was read back as
/// `lookups[i]`. `claims` maps the ids of contacts to the row the journal
/// says created each; a row decided `Created` here claims its contact too,
/// so a later row with the same key cannot claim it again. Pure.
pub fn decide_in_order(
    kind: InFlight,
    rows: &[u64],
    lookups: &[Lookup],
    since: DateTime<Utc>,
    claims: &mut HashMap<String, u64>,
) -> Vec<Settle> {
    rows.iter()
        .zip(lookups)
        .map(|(&row, lookup)| {
            let claimed_by = match lookup {
                Lookup::Found(found) => claims.get(&found.id).copied().filter(|&by| by != row),
                _ => None,
            };
            let settle = decide(kind, lookup, since, claimed_by);
            if let Settle::Created(id) = &settle {
                claims.insert(id.clone(), row);
            }
            settle
        })
        .collect()
}

/// The ids of the contacts read back that were created since `since`: the
/// ones whose claims [`claimed_creations`] looks up.
pub fn created_since(lookups: &[Lookup], since: DateTime<Utc>) -> HashSet<&str> {
    lookups
        .iter()
        .filter_map(|lookup| match lookup {
            Lookup::Found(found) if found.created_at >= since => Some(found.id.as_str()),
            _ => None,
        })
        .collect()
}

/// Which row of a journal claims to have created each of `ids`: its
/// `created` outcome lines, the first claim of each id.
pub fn claimed_creations(
    journal: impl BufRead,
    ids: &HashSet<&str>,
) -> io::Result<HashMap<String, u64>> {
    /// The parts of a journal line a claim is read from.
    #[derive(Deserialize)]
    struct Claim {
        row: Option<u64>,
        outcome: Option<String>,
        id: Option<String>,
    }
    let mut claims = HashMap::new();
    for line in journal.split(b'\n') {
        // Headers, `sent` lines and a last line cut short claim nothing.
        let Ok(claim) = serde_json::from_slice::<Claim>(&line?) else {
            continue;
        };
        if let (Some(row), Some("created"), Some(id)) =
            (claim.row, claim.outcome.as_deref(), claim.id)
            && ids.contains(id.as_str())
        {
            claims.entry(id).or_insert(row);
        }
    }
    Ok(claims)
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

/// Keeps a resume's writes to one contact in file order: reading the rows in
/// order, a row that succeeded is sent again if an earlier row with its key
/// is sent again, so the file's last row for a key is the last written.
/// Pure.
#[derive(Debug, Default)]
pub struct KeyOrder {
    /// The keys of the rows seen so far that are sent again.
    waiting: HashSet<String>,
}

impl KeyOrder {
    /// Sees the next row: its key's identity and its state. Whether it must
    /// be sent again although it succeeded.
    pub fn resend(&mut self, identity: String, state: RowState) -> bool {
        if !state.is_final(true) {
            self.waiting.insert(identity);
            return false;
        }
        state == RowState::Succeeded && self.waiting.contains(&identity)
    }
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
            assert_eq!(
                decide(kind, &found(10), since, None),
                Settle::Created("7".into())
            );
            assert_eq!(
                decide(kind, &found(30), since, None),
                Settle::Created("7".into())
            );
        }
    }

    #[test]
    fn an_older_contact_refused_the_create_and_is_updated_by_the_upsert() {
        let since = at(10);
        assert_eq!(
            decide(InFlight::Create, &found(9), since, None),
            Settle::Existed("7".into())
        );
        assert_eq!(
            decide(InFlight::Upsert, &found(9), since, None),
            Settle::Resend
        );
    }

    #[test]
    fn what_is_not_found_or_idempotent_is_sent_again() {
        let since = at(10);
        assert_eq!(
            decide(InFlight::Create, &Lookup::Absent, since, None),
            Settle::Resend
        );
        assert_eq!(
            decide(InFlight::Upsert, &Lookup::Absent, since, None),
            Settle::Resend
        );
        assert_eq!(
            decide(InFlight::Resend, &found(30), since, None),
            Settle::Resend
        );
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
    fn a_contact_another_row_created_is_never_claimed_twice() {
        let since = at(10);
        // Row 1 created contact 7 (the journal says so); rows 2 and 3 repeat
        // its key and were in flight; row 4 found a contact of its own.
        let mut claims = HashMap::from([("7".to_owned(), 1)]);
        let lookups = [
            found(30),
            found(30),
            Lookup::Found(Found {
                id: "8".into(),
                created_at: at(31),
            }),
        ];
        let creates = decide_in_order(
            InFlight::Create,
            &[2, 3, 4],
            &lookups,
            since,
            &mut claims.clone(),
        );
        assert_eq!(
            creates,
            [
                Settle::CreatedByRow {
                    row: 1,
                    id: "7".into()
                },
                Settle::CreatedByRow {
                    row: 1,
                    id: "7".into()
                },
                Settle::Created("8".into()),
            ]
        );
        let upserts = decide_in_order(InFlight::Upsert, &[2, 3, 4], &lookups, since, &mut claims);
        assert_eq!(
            upserts,
            [Settle::Resend, Settle::Resend, Settle::Created("8".into())]
        );
        assert_eq!(claims.get("8"), Some(&4), "row 4 now claims contact 8");

        // Two rows in flight with one key: the first claims it, the second not.
        let mut none = HashMap::new();
        let both = decide_in_order(
            InFlight::Create,
            &[5, 6],
            &[found(30), found(30)],
            since,
            &mut none,
        );
        assert_eq!(
            both,
            [
                Settle::Created("7".into()),
                Settle::CreatedByRow {
                    row: 5,
                    id: "7".into()
                }
            ]
        );
        // A row's own claim (a journal line of its own) is no other row's.
        let mut own = HashMap::from([("7".to_owned(), 5)]);
        assert_eq!(
            decide_in_order(InFlight::Create, &[5], &[found(30)], since, &mut own),
            [Settle::Created("7".into())]
        );
    }

    #[test]
    fn a_later_success_of_a_key_sent_again_is_sent_again_after_it() {
        let mut order = KeyOrder::default();
        let rows = [
            ("a", RowState::Succeeded),
            ("b", RowState::Unknown),
            ("a", RowState::Succeeded),
            ("b", RowState::Succeeded),
            ("c", RowState::NotSent),
            ("b", RowState::Problem),
            ("c", RowState::Succeeded),
            ("d", RowState::Succeeded),
        ];
        let resent: Vec<bool> = rows
            .into_iter()
            .map(|(key, state)| order.resend(key.to_owned(), state))
            .collect();
        assert_eq!(
            resent,
            [false, false, false, true, false, false, true, false]
        );
    }

    #[test]
    fn claims_are_read_from_created_lines_only() {
        let journal = concat!(
            "{\"journal\":\"hubspot-contacts\",\"version\":1}\n",
            "{\"row\":1,\"line\":2,\"key\":\"email a@x.com\",\"sent\":true}\n",
            "{\"row\":1,\"line\":2,\"key\":\"email a@x.com\",\"outcome\":\"created\",\"id\":\"7\"}\n",
            "{\"row\":2,\"line\":3,\"key\":\"email b@x.com\",\"outcome\":\"updated\",\"id\":\"8\"}\n",
            "{\"row\":3,\"line\":4,\"key\":\"email c@x.com\",\"outcome\":\"created\",\"id\":\"9\"}\n",
            "{\"row\":9,\"line\":10,\"ke",
        );
        let ids = HashSet::from(["7", "8"]);
        let claims = claimed_creations(journal.as_bytes(), &ids).unwrap();
        assert_eq!(claims, HashMap::from([("7".to_owned(), 1)]));
    }

    #[test]
    fn a_failed_read_never_resends_a_create() {
        let since = at(10);
        let unread = Lookup::Unread("HubSpot answered 500".into());
        let Settle::Unknown(why) = decide(InFlight::Create, &unread, since, None) else {
            panic!("a create that could not be read back must stay unknown");
        };
        assert!(why.contains("HubSpot answered 500"), "{why}");
        assert_eq!(
            decide(InFlight::Upsert, &unread, since, None),
            Settle::Resend
        );
        assert_eq!(
            decide(InFlight::Resend, &unread, since, None),
            Settle::Resend
        );
    }
}
