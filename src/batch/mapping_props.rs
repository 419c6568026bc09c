//! Property tests of [`map_answer`]: whatever HubSpot's answer holds (results
//! for inputs never sent, repeated, missing or foreign trace ids and ids,
//! errors naming anything), every sent input gets exactly one outcome, and
//! no success is made up.
//!
//! `PROPTEST_CASES=N` sets the number of cases (256 by default).

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

/// Values drawn from a small pool, so answers often name sent inputs and
/// sometimes name inputs that were never sent.
fn pooled() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u8..12).prop_map(|n| n.to_string()),
        (0u8..12).prop_map(|n| format!("hcb-{n}")),
        (0u8..12).prop_map(|n| format!("user{n}@example.com")),
        ".{0,8}",
    ]
}

#[derive(Clone, Debug)]
struct SentSpec {
    by_email: bool,
    value: String,
    traced: bool,
}

fn sent_inputs() -> impl Strategy<Value = Vec<SentSpec>> {
    prop::collection::vec(
        (any::<bool>(), 0u8..12, any::<bool>()).prop_map(|(by_email, n, traced)| SentSpec {
            by_email,
            value: if by_email {
                format!("user{n}@example.com")
            } else {
                n.to_string()
            },
            traced,
        }),
        0..20,
    )
}

fn records() -> impl Strategy<Value = Vec<ReturnedRecord>> {
    prop::collection::vec(
        (
            pooled(),
            prop::option::of(pooled()),
            prop::option::of(pooled()),
            prop::option::of(any::<bool>()),
        )
            .prop_map(|(id, trace_id, email, created)| ReturnedRecord {
                id,
                trace_id,
                properties: email
                    .map(|email| ("email".to_owned(), Some(email)))
                    .into_iter()
                    .collect(),
                created,
                contact: None,
            }),
        0..25,
    )
}

fn item_errors() -> impl Strategy<Value = Vec<types::BatchItemError>> {
    prop::collection::vec(
        (
            prop::collection::vec(pooled(), 0..3),
            prop::collection::vec(pooled(), 0..3),
        )
            .prop_map(|(traces, ids)| {
                let mut context = BTreeMap::new();
                if !traces.is_empty() {
                    context.insert("objectWriteTraceId".to_owned(), traces);
                }
                if !ids.is_empty() {
                    context.insert("ids".to_owned(), ids);
                }
                types::BatchItemError::builder()
                    .category(Some("VALIDATION_ERROR".into()))
                    .context(context)
                    .message("refused")
                    .status(Some("error".into()))
                    .try_into()
                    .unwrap()
            }),
        0..6,
    )
}

fn meanings() -> impl Strategy<Value = ResultMeaning> {
    prop_oneof![
        Just(ResultMeaning::Created),
        Just(ResultMeaning::Updated),
        Just(ResultMeaning::Upserted),
        Just(ResultMeaning::Read),
    ]
}

proptest! {
    #[test]
    fn every_sent_input_gets_exactly_one_outcome(
        specs in sent_inputs(),
        results in records(),
        errors in item_errors(),
        status in prop_oneof![Just(200u16), Just(201), Just(207)],
        meaning in meanings(),
    ) {
        // Keys as the dispatcher makes them: never two equal keys in one
        // request, trace ids unique.
        let mut keys = Vec::new();
        let mut traces = Vec::new();
        for (at, spec) in specs.iter().enumerate() {
            let property = if spec.by_email { "email" } else { crate::id_property::RECORD_ID_PROPERTY };
            let key = KeyIdentity::new(property, &spec.value);
            if keys.iter().any(|(k, _)| k == &key) {
                continue;
            }
            keys.push((key, spec.traced));
            traces.push(format!("hcb-{at}"));
        }
        let sent: Vec<SentInput<'_>> = keys
            .iter()
            .zip(&traces)
            .map(|((key, traced), trace)| SentInput {
                key: Some(key),
                trace_id: traced.then_some(trace.as_str()),
            })
            .collect();
        let returned_ids: Vec<String> = results.iter().map(|r| r.id.clone()).collect();
        let named: Vec<String> = errors
            .iter()
            .flat_map(|e| e.context.values().flatten().cloned())
            .collect();
        let answer = BatchAnswer { status, results: results.clone(), errors };

        let outcomes = map_answer(&sent, answer, meaning);

        prop_assert_eq!(outcomes.len(), sent.len());
        let mut claimed = 0usize;
        for (input, outcome) in sent.iter().zip(&outcomes) {
            match outcome {
                Outcome::Created { id } | Outcome::Updated { id } => {
                    claimed += 1;
                    prop_assert!(returned_ids.contains(id), "{id} was never returned");
                    let created = matches!(outcome, Outcome::Created { .. });
                    prop_assert!(meaning != ResultMeaning::Created || created, "a create reported {:?}", outcome);
                }
                Outcome::Read(_) => prop_assert!(false, "no record was kept"),
                Outcome::Failed(_) | Outcome::Unknown { .. } => {}
                other => prop_assert!(false, "{other:?}"),
            }
            // A success needs a result; an input no result could belong to
            // and no error names is never reported a success.
            // Compared as HubSpot compares keys (trimmed; emails in any case).
            let key = input.key.expect("every input has a key");
            let same = |property: &str, value: &str| KeyIdentity::new(property, value) == *key;
            let trace = input.trace_id;
            let mentioned = results.iter().any(|r| {
                (trace.is_some() && r.trace_id.as_deref() == trace)
                    || same(&key.property, &r.id)
                    || r.properties.values().flatten().any(|v| same(&key.property, v))
            }) || named.iter().any(|n| Some(n.as_str()) == trace || same(&key.property, n));
            if !mentioned {
                prop_assert!(!outcome.is_success(), "{input:?}: {outcome:?}");
            }
        }
        // Each returned record speaks for at most one input.
        prop_assert!(claimed <= results.len());
    }

    #[test]
    fn a_result_echoing_a_sent_trace_id_settles_that_input(
        n in 1usize..30,
        pick in any::<prop::sample::Index>(),
        noise in records(),
    ) {
        let keys: Vec<KeyIdentity> = (0..n).map(|i| KeyIdentity::new("email", &format!("k{i}@x.io"))).collect();
        let traces: Vec<String> = (0..n).map(|i| format!("t-{i}")).collect();
        let sent: Vec<SentInput<'_>> = keys
            .iter()
            .zip(&traces)
            .map(|(key, trace)| SentInput { key: Some(key), trace_id: Some(trace) })
            .collect();
        let at = pick.index(n);
        let mut results = vec![ReturnedRecord {
            id: "target".into(),
            trace_id: Some(traces[at].clone()),
            properties: BTreeMap::new(),
            created: Some(true),
            contact: None,
        }];
        // Noise never echoes these trace ids nor carries these keys.
        results.extend(noise.into_iter().filter(|r| {
            r.trace_id.as_deref().is_none_or(|t| !t.starts_with("t-"))
                && r.properties.values().flatten().all(|v| !v.ends_with("@x.io"))
        }));
        let outcomes = map_answer(&sent, BatchAnswer { status: 200, results, errors: vec![] }, ResultMeaning::Upserted);
        prop_assert_eq!(&outcomes[at], &Outcome::Created { id: "target".into() });
        for (position, outcome) in outcomes.iter().enumerate() {
            if position != at {
                prop_assert!(!outcome.is_success(), "{position}: {outcome:?}");
            }
        }
    }
}
