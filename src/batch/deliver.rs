//! Delivering one chunk: send it, then carry out what [`resolve`] decides
//! (split, drop the named inputs and send the rest, read unknown ones back),
//! until every input has an outcome. The only part of the engine that sends.

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, atomic::Ordering},
};

use super::{
    answer::ChunkAnswer,
    failure::InputFailure,
    mapping::SentInput,
    operation::Engine,
    outcome::Outcome,
    report::AbortCause,
    resolve::{ReadBack, Resolution, Room, read_back, resolve},
    run::{Run, Sendable, lost_track},
};
use crate::stop::STOPPED_BEFORE_SENDING;

/// How many times a batch reads back and re-sends inputs whose fate was unknown.
pub(super) const RECONCILE_ROUNDS: u8 = 3;

/// How long to wait before reading back inputs whose fate is unknown, so a
/// request HubSpot is still processing can land first.
const RECONCILE_DELAY: std::time::Duration = std::time::Duration::from_millis(250);

type Delivery<'a> = Pin<Box<dyn Future<Output = Vec<Outcome>> + Send + 'a>>;

impl<Op: Engine> Run<Op> {
    /// Sends `inputs` in one request and settles each: one outcome per
    /// input, in order.
    pub(super) fn deliver(&self, inputs: Vec<Sendable<Op::Wire>>, rounds_left: u8) -> Delivery<'_> {
        Box::pin(async move {
            if inputs.is_empty() {
                return Vec::new();
            }
            if let Some(held) = self.held_back(inputs.len()) {
                return held;
            }
            let (answer, sent_at) = self.send(&inputs).await;
            self.follow(inputs, answer, sent_at, rounds_left).await
        })
    }

    /// Sends one request for `inputs`: its answer, and when it was sent.
    async fn send(
        &self,
        inputs: &[Sendable<Op::Wire>],
    ) -> (ChunkAnswer, chrono::DateTime<chrono::Utc>) {
        // The request takes a copy; the inputs stay here for what may
        // have to go again.
        let wires: Vec<Op::Wire> = inputs.iter().map(|input| input.wire.clone()).collect();
        let sent_at = chrono::Utc::now();
        let answer = match &self.on_send {
            Some(on_send) => {
                let on_send = Arc::clone(on_send);
                let indices: Vec<usize> = inputs.iter().map(|input| input.index).collect();
                let client = self.client.announcing(Arc::new(move || on_send(&indices)));
                self.op.send(&client, wires).await
            }
            None => self.op.send(&self.client, wires).await,
        };
        (answer, sent_at)
    }

    /// Carries out what `answer` to `inputs` calls for: one outcome per input.
    fn follow(
        &self,
        inputs: Vec<Sendable<Op::Wire>>,
        answer: ChunkAnswer,
        sent_at: chrono::DateTime<chrono::Utc>,
        rounds_left: u8,
    ) -> Delivery<'_> {
        Box::pin(async move {
            let named = match &answer {
                ChunkAnswer::Refused { status, body, .. } => {
                    let wires: Vec<&Op::Wire> = inputs.iter().map(|input| &input.wire).collect();
                    self.op.refused_inputs(*status, body, &wires)
                }
                _ => None,
            };
            let sent: Vec<SentInput<'_>> = inputs
                .iter()
                .map(|input| SentInput {
                    key: input.address.key.as_ref(),
                    trace_id: input.address.trace_id.as_deref(),
                })
                .collect();
            let room = Room {
                bisects: self.op.bisects(),
                may_reconcile: rounds_left > 0,
            };
            match resolve(answer, &sent, named, room) {
                Resolution::Settled(outcomes) => outcomes,
                Resolution::Split(refused) => self.split(inputs, refused, rounds_left).await,
                Resolution::DropAndResend(named) => {
                    let mut settled: Vec<Option<Outcome>> = vec![None; inputs.len()];
                    let mut rest = Vec::new();
                    for (position, input) in inputs.into_iter().enumerate() {
                        match named.get(&position) {
                            Some(failure) => {
                                settled[position] = Some(Outcome::Failed(failure.clone()));
                            }
                            None => rest.push((position, input)),
                        }
                    }
                    self.deliver_into(settled, rest, rounds_left).await
                }
                Resolution::Reconcile(outcomes) => {
                    self.reconcile(inputs, outcomes, sent_at, rounds_left - 1)
                        .await
                }
                Resolution::Abort(cause) => {
                    tracing::warn!(%cause, "stopping the batch");
                    let outcomes = not_sent(&cause, inputs.len());
                    self.abort.stop(cause);
                    outcomes
                }
            }
        })
    }

    /// Sends each half of a refused request. When both are refused with the
    /// parent's own error and it names no input, the refusal concerns the
    /// request, not its inputs: every input fails with it, after 3 requests
    /// in all. Otherwise each half is settled on its own.
    async fn split(
        &self,
        mut inputs: Vec<Sendable<Op::Wire>>,
        refused: InputFailure,
        rounds_left: u8,
    ) -> Vec<Outcome> {
        let second = inputs.split_off(inputs.len() / 2);
        let first = inputs;
        if let Some(held) = self.held_back(first.len() + second.len()) {
            return held;
        }
        let (first_answer, first_at) = self.send(&first).await;
        let (second_answer, second_at) = self.send(&second).await;
        if refuses_as_parent(&first_answer, &refused) && refuses_as_parent(&second_answer, &refused)
        {
            tracing::debug!(%refused, "both halves refused like the whole: not splitting further");
            return vec![Outcome::Failed(refused); first.len() + second.len()];
        }
        let mut outcomes = self
            .follow(first, first_answer, first_at, rounds_left)
            .await;
        outcomes.extend(
            self.follow(second, second_answer, second_at, rounds_left)
                .await,
        );
        outcomes
    }

    /// Reads HubSpot back for the inputs whose outcome is unknown: the ones
    /// this request applied are reported with their id, the absent ones are
    /// sent again, and the rest stay unknown. Other outcomes are kept.
    async fn reconcile(
        &self,
        inputs: Vec<Sendable<Op::Wire>>,
        outcomes: Vec<Outcome>,
        sent_at: chrono::DateTime<chrono::Utc>,
        rounds_left: u8,
    ) -> Vec<Outcome> {
        let mut settled: Vec<Option<Outcome>> = Vec::with_capacity(outcomes.len());
        let mut unknown = Vec::new();
        for (position, (input, outcome)) in inputs.into_iter().zip(outcomes).enumerate() {
            if matches!(outcome, Outcome::Unknown { .. }) {
                settled.push(None);
                unknown.push((position, input, outcome));
            } else {
                settled.push(Some(outcome));
            }
        }
        let wires: Vec<Op::Wire> = unknown
            .iter()
            .map(|(_, input, _)| input.wire.clone())
            .collect();
        // Give HubSpot a moment to finish a request that timed out on our side.
        tokio::time::sleep(RECONCILE_DELAY).await;
        let verdicts = self
            .op
            .reconcile(&self.client, &wires, sent_at)
            .await
            .filter(|verdicts| verdicts.len() == unknown.len());
        let Some(verdicts) = verdicts else {
            for (position, _, outcome) in unknown {
                settled[position] = Some(outcome);
            }
            return fill(settled);
        };
        let mut positions = Vec::with_capacity(unknown.len());
        let mut inputs = Vec::with_capacity(unknown.len());
        let mut unknown_outcomes = Vec::with_capacity(unknown.len());
        for (position, input, outcome) in unknown {
            positions.push(position);
            inputs.push(input);
            unknown_outcomes.push(outcome);
        }
        let ReadBack {
            settled: verdicts,
            decided,
        } = read_back(unknown_outcomes, verdicts);
        self.stats.reconciled.fetch_add(decided, Ordering::Relaxed);
        let mut absent = Vec::new();
        for ((position, input), verdict) in positions.into_iter().zip(inputs).zip(verdicts) {
            match verdict {
                Some(outcome) => settled[position] = Some(outcome),
                None => absent.push((position, input)),
            }
        }
        tracing::info!(
            absent = absent.len(),
            "reconciled inputs whose fate was unknown"
        );
        self.deliver_into(settled, absent, rounds_left).await
    }

    /// The outcomes of `count` inputs the run may no longer send (it stopped,
    /// or was stopped), or `None` while it may.
    fn held_back(&self, count: usize) -> Option<Vec<Outcome>> {
        if let Some(cause) = self.abort.cause() {
            return Some(not_sent(&cause, count));
        }
        let reason = STOPPED_BEFORE_SENDING.to_owned();
        self.stop
            .is_set()
            .then(|| vec![Outcome::NotSent { reason }; count])
    }

    /// Delivers `rest` and puts each outcome in its slot of `settled`.
    async fn deliver_into(
        &self,
        mut settled: Vec<Option<Outcome>>,
        rest: Vec<(usize, Sendable<Op::Wire>)>,
        rounds_left: u8,
    ) -> Vec<Outcome> {
        let (positions, inputs): (Vec<usize>, Vec<_>) = rest.into_iter().unzip();
        let outcomes = self.deliver(inputs, rounds_left).await;
        for (position, outcome) in positions.into_iter().zip(outcomes) {
            settled[position] = Some(outcome);
        }
        fill(settled)
    }
}

/// Whether `answer` refuses a half of a request with the whole request's
/// error, and that error names no input (no property at fault), so it
/// concerns the request itself.
fn refuses_as_parent(answer: &ChunkAnswer, parent: &InputFailure) -> bool {
    let ChunkAnswer::Refused { status, body, .. } = answer else {
        return false;
    };
    let half = InputFailure::from_error_body(*status, body);
    parent.property_name().is_none()
        && half.status == parent.status
        && half.category == parent.category
        && half.message == parent.message
}

/// The outcomes of `count` inputs the run's stop kept from HubSpot.
fn not_sent(cause: &AbortCause, count: usize) -> Vec<Outcome> {
    let reason = format!("the batch stopped before sending it: {}", cause.what());
    vec![Outcome::NotSent { reason }; count]
}

/// The outcomes of a settled chunk; every slot is filled by construction, and
/// a missing one (a bug) is reported rather than dropped.
fn fill(settled: Vec<Option<Outcome>>) -> Vec<Outcome> {
    settled
        .into_iter()
        .map(|outcome| outcome.unwrap_or_else(lost_track))
        .collect()
}
