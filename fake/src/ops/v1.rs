//! Legacy Contacts v1: batch create-or-update, create, and update by vid.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::catalogue::PropertyError;
use crate::reply::{Reply, V1_MAX_CONTACTS_PER_BATCH, validation_result};
use crate::store::{Claims, Conflict, Contact, Store, parse_id};
use crate::wire::{V1BatchItem, V1Property};

/// One validated item of a v1 batch, applied later.
#[derive(Debug, Clone)]
pub(crate) struct V1Write {
    vid: Option<u64>,
    email: Option<String>,
    props: BTreeMap<String, String>,
}

fn props_of(list: Vec<V1Property>) -> BTreeMap<String, String> {
    list.into_iter().map(|p| (p.property, p.value.0)).collect()
}

/// Validates a whole v1 batch; any bad item refuses the batch with HubSpot's
/// `invalidEmails` / `failureMessages` body.
pub(crate) fn validate_batch(
    store: &Store,
    items: Vec<V1BatchItem>,
) -> Result<Vec<V1Write>, Reply> {
    if items.len() > V1_MAX_CONTACTS_PER_BATCH {
        return Err(Reply::validation(format!(
            "Batch of {} contacts exceeds the maximum of {V1_MAX_CONTACTS_PER_BATCH} contacts per request",
            items.len()
        )));
    }
    let mut writes = Vec::with_capacity(items.len());
    let mut invalid_emails: Vec<String> = Vec::new();
    let mut failures: Vec<Value> = Vec::new();
    let fail = |failures: &mut Vec<Value>, index: usize, message: String| {
        failures.push(json!({
            "index": index,
            "error": { "status": "error", "message": message },
        }));
    };
    for (index, item) in items.into_iter().enumerate() {
        let props = props_of(item.properties);
        let email = item.email.filter(|e| !e.is_empty());
        let vid = match item.vid.map(|v| v.0).filter(|v| !v.is_empty()) {
            None => None,
            Some(raw) => match parse_id(&raw) {
                Some(n) if store.live(n).is_some() => Some(n),
                _ => {
                    fail(
                        &mut failures,
                        index,
                        format!("Contact with vid {raw} does not exist"),
                    );
                    continue;
                }
            },
        };
        if vid.is_none() && email.is_none() {
            fail(
                &mut failures,
                index,
                "Each contact must include either an email address or a vid".to_owned(),
            );
            continue;
        }
        let mut bad = false;
        if let Some(e) = &email
            && let Err(err) = store.catalogue.check("email", e)
        {
            invalid_emails.push(e.clone());
            fail(&mut failures, index, err.message);
            bad = true;
        }
        if let Err(errs) = store.catalogue.check_all(&props) {
            for err in errs {
                if err.code == "INVALID_EMAIL"
                    && let Some(v) = props.get(&err.name)
                {
                    invalid_emails.push(v.clone());
                }
                failures.push(json!({
                    "index": index,
                    "propertyValidationResult": validation_result(&err),
                }));
            }
            bad = true;
        }
        if !bad {
            writes.push(V1Write { vid, email, props });
        }
    }
    if failures.is_empty() {
        Ok(writes)
    } else {
        Err(
            Reply::error(400, None, "Errors found processing batch update")
                .with("invalidEmails", json!(invalid_emails))
                .with("failureMessages", Value::Array(failures)),
        )
    }
}

/// Applies a validated v1 batch in order, as HubSpot's asynchronous processing would.
/// Items that became impossible since validation (a vid archived meanwhile, a unique value
/// taken) are skipped with a log line, as HubSpot gives no feedback after the 202.
pub(crate) fn apply_batch(store: &mut Store, writes: Vec<V1Write>, now_ms: u64) -> usize {
    let mut applied = 0;
    for write in writes {
        let target = match (write.vid, &write.email) {
            (Some(vid), _) => match store.live(vid) {
                Some(_) => Some(vid),
                None => {
                    tracing::warn!(vid, "v1 batch: contact vanished before apply; skipped");
                    continue;
                }
            },
            (None, Some(email)) => store.find_unique("email", email),
            (None, None) => continue,
        };
        let mut props = write.props;
        if let (None, Some(email)) = (target, &write.email) {
            props
                .entry("email".to_owned())
                .or_insert_with(|| email.clone());
        }
        if let Err(conflict) = store.claim(&mut Claims::default(), target, &props) {
            tracing::warn!(?conflict, "v1 batch: unique value taken; item skipped");
            continue;
        }
        match target {
            Some(id) => store.update(id, &props, now_ms),
            None => {
                store.create(&props, now_ms);
            }
        }
        applied += 1;
    }
    applied
}

fn invalid_properties(errors: &[PropertyError]) -> Reply {
    let results: Vec<Value> = errors.iter().map(validation_result).collect();
    Reply::error(
        400,
        Some("VALIDATION_ERROR"),
        "Property values were not valid",
    )
    .with("validationResults", Value::Array(results))
}

fn identities(contact: &Contact) -> Vec<Value> {
    contact
        .props
        .get("email")
        .map(|e| {
            json!({
                "type": "EMAIL",
                "value": e,
                "timestamp": contact.created_ms,
                "isPrimary": true,
            })
        })
        .into_iter()
        .collect()
}

fn exists(store: &Store, conflict: &Conflict) -> Reply {
    let Conflict::Existing {
        property,
        value,
        id,
    } = conflict
    else {
        return Reply::conflict(conflict);
    };
    let identity = store.get(*id).map(identities).unwrap_or_default();
    Reply::error(
        409,
        Some("OBJECT_ALREADY_EXISTS"),
        format!("Contact already exists. Existing ID: {id}"),
    )
    .with("error", json!("CONTACT_EXISTS"))
    .with(
        "identityProfile",
        json!({ "vid": id, "identity": identity, "isContact": true }),
    )
    .with(
        "errors",
        json!([{
            "message": format!("A contact with {property} {value} already exists. Existing ID: {id}"),
            "in": property,
        }]),
    )
}

/// The v1 contact profile body.
fn profile(contact: &Contact) -> Value {
    let identities: Vec<Value> = identities(contact)
        .into_iter()
        .map(|mut v| {
            if let Some(map) = v.as_object_mut() {
                map.remove("isPrimary");
                map.insert("is-primary".into(), json!(true));
            }
            v
        })
        .collect();
    let properties: serde_json::Map<String, Value> = contact
        .props
        .iter()
        .map(|(name, value)| {
            let versions: Vec<Value> = contact
                .history
                .get(name)
                .map(|vs| {
                    vs.iter()
                        .enumerate()
                        .map(|(i, v)| {
                            json!({
                                "value": v.value,
                                "source-type": "API",
                                "source-id": null,
                                "source-label": null,
                                "timestamp": v.timestamp_ms,
                                "selected": i == 0,
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            (
                name.clone(),
                json!({ "value": value, "versions": versions }),
            )
        })
        .collect();
    json!({
        "vid": contact.id,
        "canonical-vid": contact.id,
        "is-contact": true,
        "identity-profiles": [{ "vid": contact.id, "identities": identities }],
        "properties": properties,
    })
}

/// `POST /contacts/v1/contact`
pub(crate) fn create(store: &mut Store, list: Vec<V1Property>, now_ms: u64) -> Reply {
    let props = props_of(list);
    if props.is_empty() {
        return Reply::validation("At least one property is required to create a contact");
    }
    if let Err(errs) = store.catalogue.check_all(&props) {
        return invalid_properties(&errs);
    }
    if let Err(conflict) = store.claim(&mut Claims::default(), None, &props) {
        return exists(store, &conflict);
    }
    let id = store.create(&props, now_ms);
    match store.get(id) {
        Some(c) => Reply::json(200, &profile(c)),
        None => Reply::error(500, None, "contact vanished"),
    }
}

/// `POST /contacts/v1/contact/vid/{vid}/profile`
pub(crate) fn update(store: &mut Store, vid: &str, list: Vec<V1Property>, now_ms: u64) -> Reply {
    let Some(id) = parse_id(vid).filter(|n| store.live(*n).is_some()) else {
        return Reply::error(404, Some("OBJECT_NOT_FOUND"), "contact does not exist");
    };
    let props = props_of(list);
    if let Err(errs) = store.catalogue.check_all(&props) {
        return invalid_properties(&errs);
    }
    if let Err(conflict) = store.claim(&mut Claims::default(), Some(id), &props) {
        return exists(store, &conflict);
    }
    store.update(id, &props, now_ms);
    Reply::empty(204)
}
