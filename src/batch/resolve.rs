//! What to do after a request's answer: a pure decision the dispatcher
//! carries out ([`super::deliver`]), and what reading inputs back settles.

use std::collections::BTreeMap;

use super::{
    answer::ChunkAnswer,
    failure::{ClientCategory, InputFailure},
    mapping::{SentInput, map_answer},
    operation::Reconciled,
    outcome::Outcome,
    report::AbortCause,
};
use crate::{policy::Fatal, token};

/// What the dispatcher does with a request's inputs once it is answered.
#[derive(Debug, PartialEq)]
pub(super) enum Resolution {
    /// Every input's outcome is known, in order.
    Settled(Vec<Outcome>),
    /// The refusal names these inputs (by position); they fail, the others go again.
    DropAndResend(BTreeMap<usize, InputFailure>),
    /// The request was refused, with this error, for some of its inputs,
    /// which it does not name: send each half on its own until the bad ones
    /// stand alone.
    Split(InputFailure),
    /// These are the outcomes, but some are unknown: read those back.
    Reconcile(Vec<Outcome>),
    /// Nothing more can succeed: the run stops. The request's inputs were
    /// refused before anything was applied, so they are not sent.
    Abort(AbortCause),
}

/// What a request's shape allows after its answer.
#[derive(Clone, Copy, Debug)]
pub(super) struct Room {
    /// Whether the operation isolates bad inputs by halving a refused request.
    pub(super) bisects: bool,
    /// Whether reading back unknown inputs is still allowed.
    pub(super) may_reconcile: bool,
}

/// Decides what follows `answer` for the `sent` inputs. `named` is what the
/// operation reads out of a refusal (the legacy batch's failed emails), when
/// the answer is one. Pure.
pub(super) fn resolve(
    answer: ChunkAnswer,
    sent: &[SentInput<'_>],
    named: Option<BTreeMap<usize, InputFailure>>,
    room: Room,
) -> Resolution {
    let count = sent.len();
    let outcomes = match answer {
        ChunkAnswer::Batch(answer, meaning) => map_answer(sent, answer, meaning),
        ChunkAnswer::Uniform(outcome) => vec![outcome; count],
        ChunkAnswer::Unknown(reason) => vec![Outcome::Unknown { reason }; count],
        ChunkAnswer::NotApplied(reason) => vec![Outcome::NotSent { reason }; count],
        ChunkAnswer::Unreachable(reason) => {
            return Resolution::Abort(AbortCause::Unreachable(reason));
        }
        ChunkAnswer::Fatal {
            status,
            body,
            fatal,
        } => {
            let refusal = InputFailure::from_error_body(status, &body);
            return Resolution::Abort(match fatal {
                // The token endpoint could not be reached: no refusal of HubSpot's.
                Fatal::Unauthorized
                    if refusal.category.as_deref() == Some(token::CATEGORY_REFRESH_FAILED) =>
                {
                    AbortCause::Unreachable(refusal.message)
                }
                Fatal::Unauthorized => AbortCause::Unauthorized(refusal),
                Fatal::Forbidden => AbortCause::Forbidden(refusal),
                Fatal::DailyLimit => AbortCause::DailyLimit(refusal),
                Fatal::UnworkableLimit => AbortCause::UnworkableLimit(refusal),
            });
        }
        ChunkAnswer::Refused {
            status,
            body,
            splittable,
        } => {
            if let Some(named) = named.filter(|named| !named.is_empty()) {
                return Resolution::DropAndResend(named);
            }
            let refused = InputFailure::from_error_body(status, &body);
            if splittable && room.bisects && count > 1 {
                return Resolution::Split(refused);
            }
            return Resolution::Settled(vec![Outcome::Failed(refused); count]);
        }
    };
    let has_unknown = outcomes
        .iter()
        .any(|outcome| matches!(outcome, Outcome::Unknown { .. }));
    if has_unknown && room.may_reconcile {
        Resolution::Reconcile(outcomes)
    } else {
        Resolution::Settled(outcomes)
    }
}

/// What reading back settled for the unknown inputs of a request.
#[derive(Debug, PartialEq)]
pub(super) struct ReadBack {
    /// One slot per unknown input: its outcome, or `None` for one to send again.
    pub(super) settled: Vec<Option<Outcome>>,
    /// How many inputs the read-back settled (found, found to predate the
    /// request, or found absent and sent again).
    pub(super) decided: u64,
}

/// Applies the read-back `verdicts` to the `unknown` outcomes they answer,
/// one for one. Pure.
pub(super) fn read_back(unknown: Vec<Outcome>, verdicts: Vec<Reconciled>) -> ReadBack {
    let mut decided = 0;
    let settled = unknown
        .into_iter()
        .zip(verdicts)
        .map(|(outcome, verdict)| {
            if verdict != Reconciled::Unknown {
                decided += 1;
            }
            match verdict {
                Reconciled::Applied { id, created: true } => Some(Outcome::Created { id }),
                Reconciled::Applied { id, created: false } => Some(Outcome::Updated { id }),
                Reconciled::Existed { id } => Some(Outcome::Failed(InputFailure::client(
                    ClientCategory::AlreadyExisted,
                    format!(
                        "Contact already exists. Existing ID: {id} (it existed before this request)"
                    ),
                ))),
                Reconciled::Absent => None,
                Reconciled::Unknown => Some(outcome),
            }
        })
        .collect();
    ReadBack { settled, decided }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{batch::mapping::BatchAnswer, types};

    /// (name, answer, inputs sent, inputs the refusal names, room, expected)
    type Case = (
        &'static str,
        ChunkAnswer,
        usize,
        Option<BTreeMap<usize, InputFailure>>,
        Room,
        Resolution,
    );

    const ROOM: Room = Room {
        bisects: true,
        may_reconcile: true,
    };

    fn sent(n: usize) -> Vec<SentInput<'static>> {
        (0..n)
            .map(|_| SentInput {
                key: None,
                trace_id: None,
            })
            .collect()
    }

    fn body(message: &str) -> Box<types::ErrorBody> {
        Box::new(serde_json::from_value(serde_json::json!({"message": message})).unwrap())
    }

    fn refused(status: u16, splittable: bool) -> ChunkAnswer {
        ChunkAnswer::Refused {
            status,
            body: body("no"),
            splittable,
        }
    }

    fn unknown(reason: &str) -> Outcome {
        Outcome::Unknown {
            reason: reason.to_owned(),
        }
    }

    #[test]
    fn each_answer_leads_to_one_resolution() {
        let no_bisect = Room {
            bisects: false,
            ..ROOM
        };
        let no_reconcile = Room {
            may_reconcile: false,
            ..ROOM
        };
        let failure = InputFailure::from_error_body(400, &body("bad email"));
        let named = BTreeMap::from([(1, failure.clone())]);
        let cases: Vec<Case> = vec![
            (
                "uniform success",
                ChunkAnswer::Uniform(Outcome::Archived),
                2,
                None,
                ROOM,
                Resolution::Settled(vec![Outcome::Archived, Outcome::Archived]),
            ),
            (
                "unknown, may reconcile",
                ChunkAnswer::Unknown("reset".into()),
                2,
                None,
                ROOM,
                Resolution::Reconcile(vec![unknown("reset"), unknown("reset")]),
            ),
            (
                "unknown, no rounds left",
                ChunkAnswer::Unknown("reset".into()),
                1,
                None,
                no_reconcile,
                Resolution::Settled(vec![unknown("reset")]),
            ),
            (
                "never sent",
                ChunkAnswer::NotApplied("refused".into()),
                1,
                None,
                ROOM,
                Resolution::Settled(vec![Outcome::NotSent {
                    reason: "refused".into(),
                }]),
            ),
            (
                "an unreachable HubSpot stops the run",
                ChunkAnswer::Unreachable("refused".into()),
                2,
                None,
                ROOM,
                Resolution::Abort(AbortCause::Unreachable("refused".into())),
            ),
            (
                "a token endpoint out of reach stops the run as unreachable",
                ChunkAnswer::Fatal {
                    status: 401,
                    body: Box::new(
                        serde_json::from_value(serde_json::json!({
                            "category": token::CATEGORY_REFRESH_FAILED,
                            "message": "could not refresh"
                        }))
                        .unwrap(),
                    ),
                    fatal: Fatal::Unauthorized,
                },
                1,
                None,
                ROOM,
                Resolution::Abort(AbortCause::Unreachable("could not refresh".into())),
            ),
            (
                "401 stops the run",
                ChunkAnswer::Fatal {
                    status: 401,
                    body: body("no"),
                    fatal: Fatal::Unauthorized,
                },
                2,
                None,
                ROOM,
                Resolution::Abort(AbortCause::Unauthorized(InputFailure::from_error_body(
                    401,
                    &body("no"),
                ))),
            ),
            (
                "the daily limit stops the run",
                ChunkAnswer::Fatal {
                    status: 429,
                    body: body("no"),
                    fatal: Fatal::DailyLimit,
                },
                2,
                None,
                ROOM,
                Resolution::Abort(AbortCause::DailyLimit(InputFailure::from_error_body(
                    429,
                    &body("no"),
                ))),
            ),
            (
                "refusal naming inputs",
                refused(400, true),
                3,
                Some(named.clone()),
                ROOM,
                Resolution::DropAndResend(named),
            ),
            (
                "refusal naming none, splittable",
                refused(400, true),
                3,
                Some(BTreeMap::new()),
                ROOM,
                Resolution::Split(InputFailure::from_error_body(400, &body("no"))),
            ),
            (
                "409 splits",
                refused(409, true),
                2,
                None,
                ROOM,
                Resolution::Split(InputFailure::from_error_body(409, &body("no"))),
            ),
            (
                "a lone input is not split",
                refused(400, true),
                1,
                None,
                ROOM,
                Resolution::Settled(vec![Outcome::Failed(InputFailure::from_error_body(
                    400,
                    &body("no"),
                ))]),
            ),
            (
                "an operation that does not bisect",
                refused(400, true),
                2,
                None,
                no_bisect,
                Resolution::Settled(vec![
                    Outcome::Failed(InputFailure::from_error_body(
                        400,
                        &body("no")
                    ));
                    2
                ]),
            ),
            (
                "a 404 fails all",
                refused(404, false),
                2,
                None,
                ROOM,
                Resolution::Settled(vec![
                    Outcome::Failed(InputFailure::from_error_body(
                        404,
                        &body("no")
                    ));
                    2
                ]),
            ),
        ];
        for (name, answer, count, named, room, expected) in cases {
            assert_eq!(
                resolve(answer, &sent(count), named, room),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn a_result_missing_from_a_207_fails_rather_than_vanishes() {
        let answer = BatchAnswer {
            status: 207,
            results: Vec::new(),
            errors: Vec::new(),
        };
        let resolution = resolve(
            ChunkAnswer::Batch(answer, crate::batch::mapping::ResultMeaning::Created),
            &sent(1),
            None,
            ROOM,
        );
        assert!(
            matches!(&resolution, Resolution::Settled(outcomes) if !outcomes[0].is_success()),
            "{resolution:?}"
        );
    }

    #[test]
    fn reading_back_settles_found_and_existing_and_resends_absent() {
        let read = read_back(
            vec![unknown("a"), unknown("b"), unknown("c"), unknown("d")],
            vec![
                Reconciled::Applied {
                    id: "7".into(),
                    created: true,
                },
                Reconciled::Absent,
                Reconciled::Existed { id: "3".into() },
                Reconciled::Unknown,
            ],
        );
        assert_eq!(read.decided, 3);
        assert_eq!(read.settled[0], Some(Outcome::Created { id: "7".into() }));
        assert_eq!(read.settled[1], None);
        assert!(
            matches!(&read.settled[2], Some(Outcome::Failed(f)) if f.client == Some(ClientCategory::AlreadyExisted) && f.message.contains("Existing ID: 3"))
        );
        assert_eq!(read.settled[3], Some(unknown("d")));
    }
}
