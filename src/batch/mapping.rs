//! Pure mapping of HubSpot's batch answers to one outcome per sent input.
//!
//! HubSpot gives no order guarantee for `results`, so nothing here uses
//! position: a result belongs to the input with the same `objectWriteTraceId`,
//! else the same key (record id, or the value of the key property); an error
//! belongs to the inputs named in its `context.objectWriteTraceId` or
//! `context.ids`. An input that is neither returned nor reported fails with
//! [`ClientCategory::MissingFromResponse`].

use std::{
    cell::OnceCell,
    collections::{BTreeMap, BTreeSet},
};

use foldhash::HashMap;

use super::{
    failure::{ClientCategory, InputFailure},
    outcome::Outcome,
};
use crate::{
    id_property::{KeyIdentity, RECORD_ID_PROPERTY},
    types,
};

/// What a successful answer means for the inputs it returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[doc(hidden)]
pub enum ResultMeaning {
    /// Returned inputs were created.
    Created,
    /// Returned inputs were updated.
    Updated,
    /// Returned inputs were created or updated, as each result's `new` says.
    Upserted,
    /// Returned inputs were read.
    Read,
}

/// One returned record, in the shape common to every batch answer.
#[derive(Clone, Debug)]
pub(crate) struct ReturnedRecord {
    pub(crate) id: String,
    pub(crate) trace_id: Option<String>,
    pub(crate) properties: BTreeMap<String, Option<String>>,
    /// `new` of an upsert result.
    pub(crate) created: Option<bool>,
    /// The whole record, kept for reads.
    pub(crate) contact: Option<Box<types::Contact>>,
}

/// A 2xx batch answer: what came back and what was reported.
#[derive(Clone, Debug)]
#[doc(hidden)]
pub struct BatchAnswer {
    pub(crate) status: u16,
    pub(crate) results: Vec<ReturnedRecord>,
    pub(crate) errors: Vec<types::BatchItemError>,
}

impl BatchAnswer {
    pub(crate) fn from_contacts(
        status: u16,
        body: types::BatchContactsResponse,
        keep_records: bool,
    ) -> Self {
        let results = body
            .results
            .into_iter()
            .map(|contact| {
                if keep_records {
                    ReturnedRecord {
                        id: contact.id.clone(),
                        trace_id: contact.object_write_trace_id.clone(),
                        properties: contact.properties.0.clone(),
                        created: None,
                        contact: Some(Box::new(contact)),
                    }
                } else {
                    ReturnedRecord {
                        id: contact.id,
                        trace_id: contact.object_write_trace_id,
                        properties: contact.properties.0,
                        created: None,
                        contact: None,
                    }
                }
            })
            .collect();
        Self {
            status,
            results,
            errors: body.errors,
        }
    }

    /// `earlier`: how long before this answer's attempt an earlier attempt of
    /// the same request was sent, when that one may have been applied (its
    /// answer was lost). A contact it created comes back `new: false` from the
    /// retry; its creation time, on HubSpot's clock like `startedAt`, tells it
    /// apart from a contact that existed before.
    pub(crate) fn from_upserts(
        status: u16,
        body: types::BatchUpsertResponse,
        earlier: Option<std::time::Duration>,
    ) -> Self {
        let created_since = earlier.and_then(|earlier| {
            let window = chrono::TimeDelta::from_std(earlier + EARLIER_ATTEMPT_SLACK).ok()?;
            body.started_at.checked_sub_signed(window)
        });
        let results = body
            .results
            .into_iter()
            .map(|contact| {
                let by_earlier_attempt =
                    created_since.is_some_and(|since| contact.created_at >= since);
                ReturnedRecord {
                    id: contact.id,
                    trace_id: contact.object_write_trace_id,
                    properties: contact.properties.0,
                    created: Some(contact.new || by_earlier_attempt),
                    contact: None,
                }
            })
            .collect();
        Self {
            status,
            results,
            errors: body.errors,
        }
    }
}

/// Slack on the window in which an earlier attempt may have created a
/// contact. The window, measured on our clock from the first send to the last
/// answer, already reaches back past the moment HubSpot received the first
/// attempt, seen from the last attempt's `startedAt`; the slack only covers
/// the millisecond rounding of HubSpot's timestamps. Both timestamps compared
/// are HubSpot's, so no clock skew enters.
const EARLIER_ATTEMPT_SLACK: std::time::Duration = std::time::Duration::from_millis(10);

/// What the mapper knows of one sent input.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SentInput<'a> {
    pub(crate) key: Option<&'a KeyIdentity>,
    pub(crate) trace_id: Option<&'a str>,
}

/// One outcome per entry of `sent`, in the same order.
pub(crate) fn map_answer(
    sent: &[SentInput<'_>],
    answer: BatchAnswer,
    meaning: ResultMeaning,
) -> Vec<Outcome> {
    let by_trace: HashMap<&str, usize> = sent
        .iter()
        .enumerate()
        .filter_map(|(at, input)| input.trace_id.map(|trace| (trace, at)))
        .collect();
    // Needed only for results and errors without a trace id: built on first use.
    let by_key_built: OnceCell<HashMap<&KeyIdentity, usize>> = OnceCell::new();
    let by_key = || {
        by_key_built.get_or_init(|| {
            sent.iter()
                .enumerate()
                .filter_map(|(at, input)| input.key.map(|key| (key, at)))
                .collect()
        })
    };
    let key_properties: BTreeSet<&str> = sent
        .iter()
        .filter_map(|input| input.key.map(|key| key.property.as_ref()))
        .collect();
    let find_by_value = |value: &str| {
        key_properties
            .iter()
            .find_map(|property| by_key().get(&KeyIdentity::new(property, value)).copied())
    };

    let mut outcomes: Vec<Option<Outcome>> = vec![None; sent.len()];
    let mut untied_results = 0usize;
    for record in answer.results {
        let position = record
            .trace_id
            .as_deref()
            .and_then(|trace| by_trace.get(trace).copied())
            .or_else(|| {
                by_key()
                    .get(&KeyIdentity::new(RECORD_ID_PROPERTY, &record.id))
                    .copied()
            })
            .or_else(|| {
                key_properties.iter().find_map(|property| {
                    let value = record.properties.get(*property)?.as_deref()?;
                    by_key().get(&KeyIdentity::new(property, value)).copied()
                })
            });
        let Some(position) = position.filter(|&at| outcomes[at].is_none()) else {
            untied_results += 1;
            continue;
        };
        outcomes[position] = Some(match meaning {
            ResultMeaning::Created => Outcome::Created { id: record.id },
            ResultMeaning::Updated => Outcome::Updated { id: record.id },
            ResultMeaning::Upserted if record.created == Some(true) => {
                Outcome::Created { id: record.id }
            }
            ResultMeaning::Upserted => Outcome::Updated { id: record.id },
            ResultMeaning::Read => match record.contact {
                Some(contact) => Outcome::Read(contact),
                None => Outcome::Updated { id: record.id },
            },
        });
    }

    let mut untied_error: Option<String> = None;
    for error in &answer.errors {
        let mut positions: Vec<usize> = Vec::new();
        for trace in error
            .context
            .get("objectWriteTraceId")
            .into_iter()
            .flatten()
        {
            positions.extend(by_trace.get(trace.as_str()));
        }
        for id in error.context.get("ids").into_iter().flatten() {
            positions.extend(
                by_key()
                    .get(&KeyIdentity::new(RECORD_ID_PROPERTY, id))
                    .or(find_by_value(id).as_ref()),
            );
        }
        if positions.is_empty() {
            untied_error.get_or_insert_with(|| {
                InputFailure::from_item_error(answer.status, error).to_string()
            });
        }
        for position in positions {
            if outcomes[position].is_none() {
                outcomes[position] = Some(Outcome::Failed(InputFailure::from_item_error(
                    answer.status,
                    error,
                )));
            }
        }
    }

    outcomes
        .into_iter()
        .map(|outcome| {
                        outcome.unwrap_or_else(|| {
                // A result HubSpot returned but that matches no input may be
                // this one's: it may have been applied.
                if untied_results > 0 {
                    return Outcome::Unknown {
                        reason: format!(
                            "HubSpot returned {untied_results} result(s) that match no input by trace id or key; \
                             this input may be one of them"
                        ),
                    };
                }
                let message = match &untied_error {
                    Some(error) => format!("HubSpot did not return this input and reported an error it did not tie to an input: {error}"),
                    None => format!("HubSpot neither returned nor reported this input (status {})", answer.status),
                };
                Outcome::Failed(InputFailure::client(
                    ClientCategory::MissingFromResponse,
                    message,
                ))
            })
        })
        .collect()
}

/// For a legacy batch refused with 400: the positions HubSpot named, through
/// `failureMessages[].index` or `invalidEmails`, each with its failure.
/// Empty when the refusal names no contact.
pub(crate) fn v1_refused_positions(
    status: u16,
    body: &types::ErrorBody,
    emails: &[Option<&str>],
) -> BTreeMap<usize, InputFailure> {
    let mut failed = BTreeMap::new();
    for failure in &body.failure_messages {
        let Some(position) = usize::try_from(failure.index)
            .ok()
            .filter(|&at| at < emails.len())
        else {
            continue;
        };
        let (category, message) = match (&failure.property_validation_result, &failure.error) {
            (Some(validation), _) => (
                validation
                    .error
                    .clone()
                    .unwrap_or_else(|| "VALIDATION_ERROR".to_owned()),
                validation
                    .message
                    .clone()
                    .unwrap_or_else(|| body.message.clone()),
            ),
            (None, Some(cause)) => ("VALIDATION_ERROR".to_owned(), cause.message.clone()),
            (None, None) => ("VALIDATION_ERROR".to_owned(), body.message.clone()),
        };
        let mut context = BTreeMap::new();
        if let Some(name) = failure
            .property_validation_result
            .as_ref()
            .and_then(|v| v.name.clone())
        {
            context.insert("propertyName".to_owned(), vec![name]);
        }
        let code = failure
            .property_validation_result
            .as_ref()
            .and_then(|v| v.error.clone());
        let refusal = InputFailure::refusal(
            &category,
            code,
            message,
            context,
            status,
            body.correlation_id.clone(),
        );
        failed.insert(position, refusal);
    }
    for invalid in &body.invalid_emails {
        for (position, email) in emails.iter().enumerate() {
            if email.is_some_and(|email| email.trim().eq_ignore_ascii_case(invalid.trim())) {
                failed.entry(position).or_insert_with(|| {
                    InputFailure::refusal(
                        "INVALID_EMAIL",
                        Some("INVALID_EMAIL".to_owned()),
                        format!("Email address {invalid} is invalid"),
                        BTreeMap::new(),
                        status,
                        body.correlation_id.clone(),
                    )
                });
            }
        }
    }
    failed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, trace: Option<&str>, email: Option<&str>) -> ReturnedRecord {
        ReturnedRecord {
            id: id.into(),
            trace_id: trace.map(str::to_owned),
            properties: email
                .map(|e| ("email".to_owned(), Some(e.to_owned())))
                .into_iter()
                .collect(),
            created: None,
            contact: None,
        }
    }

    fn item_error(category: &str, context: &[(&str, &[&str])]) -> types::BatchItemError {
        let context: BTreeMap<String, Vec<String>> = context
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect();
        types::BatchItemError::builder()
            .category(Some(category.into()))
            .context(context)
            .message(format!("{category} happened"))
            .status(Some("error".into()))
            .try_into()
            .unwrap()
    }

    #[test]
    fn shuffled_results_map_by_trace_id() {
        let keys = [
            KeyIdentity::new("email", "a@x.io"),
            KeyIdentity::new("email", "b@x.io"),
            KeyIdentity::new("email", "c@x.io"),
        ];
        let traces = ["t0", "t1", "t2"];
        let sent: Vec<SentInput<'_>> = keys
            .iter()
            .zip(traces)
            .map(|(key, trace)| SentInput {
                key: Some(key),
                trace_id: Some(trace),
            })
            .collect();
        let answer = BatchAnswer {
            status: 207,
            results: vec![
                record("30", Some("t2"), None),
                record("10", Some("t0"), None),
            ],
            errors: vec![item_error(
                "VALIDATION_ERROR",
                &[("objectWriteTraceId", &["t1"])],
            )],
        };
        let outcomes = map_answer(&sent, answer, ResultMeaning::Created);
        assert_eq!(outcomes[0], Outcome::Created { id: "10".into() });
        assert!(
            matches!(&outcomes[1], Outcome::Failed(f) if f.category.as_deref() == Some("VALIDATION_ERROR") && f.status == Some(207))
        );
        assert_eq!(outcomes[2], Outcome::Created { id: "30".into() });
    }

    #[test]
    fn results_without_trace_ids_map_by_key_case_insensitively() {
        let keys = [
            KeyIdentity::new("email", "Ada@X.io"),
            KeyIdentity::new("email", "b@x.io"),
        ];
        let sent: Vec<SentInput<'_>> = keys
            .iter()
            .map(|key| SentInput {
                key: Some(key),
                trace_id: None,
            })
            .collect();
        let mut updated = record("2", None, Some("B@X.IO"));
        updated.created = Some(false);
        let mut created = record("1", None, Some("ada@x.io"));
        created.created = Some(true);
        let answer = BatchAnswer {
            status: 200,
            results: vec![updated, created],
            errors: vec![],
        };
        let outcomes = map_answer(&sent, answer, ResultMeaning::Upserted);
        assert_eq!(
            outcomes,
            vec![
                Outcome::Created { id: "1".into() },
                Outcome::Updated { id: "2".into() }
            ]
        );
    }

    #[test]
    fn not_found_ids_fail_their_inputs() {
        let keys = [
            KeyIdentity::new(RECORD_ID_PROPERTY, "5"),
            KeyIdentity::new(RECORD_ID_PROPERTY, "6"),
        ];
        let sent: Vec<SentInput<'_>> = keys
            .iter()
            .map(|key| SentInput {
                key: Some(key),
                trace_id: None,
            })
            .collect();
        let answer = BatchAnswer {
            status: 207,
            results: vec![record("5", None, None)],
            errors: vec![item_error("OBJECT_NOT_FOUND", &[("ids", &["6"])])],
        };
        let outcomes = map_answer(&sent, answer, ResultMeaning::Updated);
        assert_eq!(outcomes[0], Outcome::Updated { id: "5".into() });
        assert!(
            matches!(&outcomes[1], Outcome::Failed(f) if f.category.as_deref() == Some("OBJECT_NOT_FOUND"))
        );
    }

    #[test]
    fn inputs_neither_returned_nor_reported_fail_with_a_reason() {
        let keys = [
            KeyIdentity::new(RECORD_ID_PROPERTY, "5"),
            KeyIdentity::new(RECORD_ID_PROPERTY, "6"),
        ];
        let sent: Vec<SentInput<'_>> = keys
            .iter()
            .map(|key| SentInput {
                key: Some(key),
                trace_id: None,
            })
            .collect();
        let answer = BatchAnswer {
            status: 200,
            results: vec![record("5", None, None)],
            errors: vec![],
        };
        let outcomes = map_answer(&sent, answer, ResultMeaning::Updated);
        assert!(
            matches!(&outcomes[1], Outcome::Failed(f) if f.client == Some(ClientCategory::MissingFromResponse) && f.message.contains("neither returned nor reported"))
        );

        let answer = BatchAnswer {
            status: 207,
            results: vec![record("5", None, None)],
            errors: vec![item_error("VALIDATION_ERROR", &[])],
        };
        let outcomes = map_answer(&sent, answer, ResultMeaning::Updated);
        assert!(matches!(&outcomes[1], Outcome::Failed(f) if f.message.contains("did not tie")));
    }

    #[test]
    fn inputs_possibly_among_untied_results_are_unknown_not_failed() {
        let keys = [
            KeyIdentity::new("email", "a@x.io"),
            KeyIdentity::new("email", "b@x.io"),
        ];
        let sent: Vec<SentInput<'_>> = keys
            .iter()
            .map(|key| SentInput {
                key: Some(key),
                trace_id: Some("t"),
            })
            .collect();
        // A 201 whose results echo no trace id and carry no email.
        let answer = BatchAnswer {
            status: 201,
            results: vec![record("1", None, None), record("2", None, None)],
            errors: vec![],
        };
        let outcomes = map_answer(&sent, answer, ResultMeaning::Created);
        assert!(
            outcomes
                .iter()
                .all(|o| matches!(o, Outcome::Unknown { .. })),
            "{outcomes:?}"
        );
    }

    #[test]
    fn legacy_refusals_name_positions_by_index_and_email() {
        let body: types::ErrorBody = serde_json::from_value(serde_json::json!({
            "status": "error", "message": "Errors found processing batch update", "correlationId": "c",
            "invalidEmails": ["BAD@x"],
            "failureMessages": [
                {"index": 0, "propertyValidationResult": {"isValid": false, "message": "Property \"shoe\" does not exist", "error": "PROPERTY_DOESNT_EXIST", "name": "shoe"}},
                {"index": 99, "error": {"message": "out of range is ignored"}}
            ]
        }))
        .unwrap();
        let emails = [Some("a@x"), Some("bad@x"), None];
        let failed = v1_refused_positions(400, &body, &emails);
        assert_eq!(failed.keys().copied().collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(
            failed[&0].category.as_deref(),
            Some("PROPERTY_DOESNT_EXIST")
        );
        assert_eq!(failed[&0].context["propertyName"], vec!["shoe".to_string()]);
        assert_eq!(failed[&1].category.as_deref(), Some("INVALID_EMAIL"));
    }
}

#[cfg(test)]
#[path = "mapping_props.rs"]
mod props;
