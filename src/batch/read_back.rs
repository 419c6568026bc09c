//! Reading updates and upserts back when their request's fate is unknown: a
//! contact that shows every value an input wrote was written (created or
//! updated, as its creation time says); one that does not is sent again,
//! which is safe since both operations are idempotent.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{endpoint, operation::Reconciled};
use crate::{Client, builders::record_id, types};

/// One write in doubt: its key (`None` for a record id) and what it set.
pub(super) struct Written<'a> {
    id_property: Option<&'a str>,
    id: &'a str,
    properties: &'a BTreeMap<String, String>,
}

/// The wire forms of the writes that can be read back.
pub(super) trait WriteInput {
    /// The write's key and values.
    fn written(&self) -> Written<'_>;
}

impl WriteInput for types::UpsertInput {
    fn written(&self) -> Written<'_> {
        Written {
            id_property: self.id_property.as_deref(),
            id: &self.id,
            properties: &self.properties.0,
        }
    }
}

impl WriteInput for types::UpdateInput {
    fn written(&self) -> Written<'_> {
        Written {
            id_property: self.id_property.as_deref(),
            id: &self.id,
            properties: &self.properties.0,
        }
    }
}

/// Reads back `writes`, sent at `sent_at` (our clock). `may_create`: an
/// upsert may have created the contact; an update never does. `None` when
/// the read fails (the inputs then stay unknown).
pub(super) async fn read_back_writes<W: WriteInput>(
    client: &Client,
    inputs: &[W],
    sent_at: chrono::DateTime<chrono::Utc>,
    may_create: bool,
) -> Option<Vec<Reconciled>> {
    let writes: Vec<Written<'_>> = inputs.iter().map(WriteInput::written).collect();
    let mut verdicts = vec![Reconciled::Unknown; writes.len()];
    // One read per key property, asking for every property written.
    let mut by_key: HashMap<Option<&str>, Vec<usize>> = HashMap::new();
    for (at, write) in writes.iter().enumerate() {
        by_key.entry(write.id_property).or_default().push(at);
    }
    for (id_property, positions) in by_key {
        let mut properties: BTreeSet<String> = BTreeSet::new();
        let mut ids = Vec::new();
        for &at in &positions {
            properties.extend(writes[at].properties.keys().cloned());
            ids.push(record_id(writes[at].id.to_owned()).ok()?);
        }
        if let Some(property) = id_property {
            properties.insert(property.to_owned());
        }
        let body = types::BatchReadRequest::builder()
            .inputs(ids)
            .id_property(id_property.map(str::to_owned))
            .properties(properties.into_iter().collect::<Vec<_>>())
            .properties_with_history(Vec::new());
        let found = endpoint::read(client, body, false).await.ok()?.into_inner();
        // HubSpot's clock is at least `completed_at - now` ahead of ours: a
        // contact created before `sent_at` plus that much existed before the
        // write in doubt (a twin input of the run that made it later is
        // caught by the key gate's memory).
        let created_after = sent_at + (found.completed_at - chrono::Utc::now());
        for at in positions {
            let write = &writes[at];
            let contact = found.results.iter().find(|contact| match id_property {
                None => contact.id == write.id,
                Some(property) => contact
                    .properties
                    .get(property)
                    .and_then(Option::as_deref)
                    .is_some_and(|value| same_key(property, value, write.id)),
            });
            verdicts[at] = match contact {
                Some(contact) if shows(contact, write.properties) => Reconciled::Applied {
                    id: contact.id.clone(),
                    created: may_create && contact.created_at >= created_after,
                },
                // Absent, or not showing the values: sending again is safe.
                _ => Reconciled::Absent,
            };
        }
    }
    Some(verdicts)
}

/// Whether two values of the key property name one contact (emails compare
/// case-insensitively, as HubSpot's unique index does).
fn same_key(property: &str, stored: &str, sent: &str) -> bool {
    if property == crate::id_property::EMAIL_PROPERTY {
        stored.trim().eq_ignore_ascii_case(sent.trim())
    } else {
        stored == sent
    }
}

/// Whether the contact shows every value written (an empty value clears).
fn shows(contact: &types::Contact, written: &BTreeMap<String, String>) -> bool {
    written.iter().all(|(name, value)| {
        let stored = contact.properties.get(name).and_then(Option::as_deref);
        match stored {
            Some(stored) => stored == value,
            None => value.is_empty(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(properties: serde_json::Value) -> types::Contact {
        serde_json::from_value(serde_json::json!({
            "id": "7", "properties": properties,
            "createdAt": "2026-12-01T00:00:00Z", "updatedAt": "2026-12-01T00:00:00Z",
            "archived": false
        }))
        .unwrap()
    }

    #[test]
    fn a_contact_shows_a_write_only_with_every_value() {
        let written = BTreeMap::from([
            ("firstname".to_owned(), "Ada".to_owned()),
            ("phone".to_owned(), String::new()),
        ]);
        assert!(shows(
            &contact(serde_json::json!({"firstname": "Ada", "phone": null})),
            &written
        ));
        assert!(!shows(
            &contact(serde_json::json!({"firstname": "Alan", "phone": null})),
            &written
        ));
        assert!(!shows(
            &contact(serde_json::json!({"phone": null})),
            &written
        ));
    }

    #[test]
    fn emails_name_one_contact_whatever_their_case() {
        assert!(same_key("email", "ada@example.com", " Ada@Example.com"));
        assert!(!same_key("external_id", "A1", "a1"));
    }
}
