//! The dispatcher: the only part of the batch engine that does I/O.
//!
//! It pulls inputs lazily, plans chunks with [`ChunkPlanner`], keeps at most
//! `concurrency` requests in flight (so at most `concurrency` chunks of inputs
//! in memory), holds a chunk back while an earlier chunk with one of its keys
//! is still in flight (so the later write to a contact lands last), and yields
//! outcomes in input order.
//!
//! A chunk's inputs move into its request rather than being copied for a
//! resend that rarely comes. When some must go again (the halves of a refused
//! request, the inputs HubSpot names in a legacy refusal, the absent ones after
//! reconciling), they are read back from the body the transport sent
//! ([`crate::transport::with_sent_body`]).

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use foldhash::{HashMap, HashSet, HashSetExt};
use futures::{Stream, StreamExt, stream::BoxStream};
use tokio::sync::watch;

use super::{
    mapping::{BatchAnswer, ResultMeaning, SentInput, map_answer},
    outcome::{BatchStats, INVALID_INPUT, InputFailure, InputOutcome, Outcome},
    plan::{ChunkPlanner, PlanEntry},
};
use crate::{
    Client,
    id_property::{InputError, KeyIdentity, PreparedInput},
    types,
};

/// How HubSpot answered one request of a batch.
#[derive(Debug)]
#[doc(hidden)]
pub enum ChunkAnswer {
    /// A 2xx with results and per-input errors.
    Batch(BatchAnswer, ResultMeaning),
    /// A 2xx that applies to every input alike (204 archive, 202 legacy batch).
    Uniform(Outcome),
    /// HubSpot refused the whole request.
    Refused {
        status: u16,
        body: Box<types::Error>,
    },
    /// The request's fate is unknown: sent, then no usable answer.
    Unknown(String),
    /// The request provably did nothing (never sent, or refused before it was applied).
    NotApplied(String),
}

impl ChunkAnswer {
    /// Classifies a generated call's error.
    pub(crate) fn from_error(error: crate::Error<types::Error>) -> Self {
        match error {
            // A 5xx or 423 Locked may come after HubSpot applied part of the request.
            crate::Error::ErrorResponse(response)
                if response.status().is_server_error() || response.status().as_u16() == 423 =>
            {
                let status = response.status().as_u16();
                Self::Unknown(format!(
                    "HubSpot answered {status}: {}",
                    response.into_inner()
                ))
            }
            crate::Error::ErrorResponse(response) => {
                let status = response.status().as_u16();
                Self::Refused {
                    status,
                    body: Box::new(response.into_inner()),
                }
            }
            crate::Error::InvalidRequest(reason) => {
                Self::NotApplied(format!("the request could not be built: {reason}"))
            }
            crate::Error::CommunicationError(error) if error.is_connect() => {
                Self::NotApplied(format!("could not connect: {error}"))
            }
            other => Self::Unknown(other.to_string()),
        }
    }
}

/// One of the batch helpers' operations: how to prepare its inputs and send a chunk.
pub trait BatchOperation: Send + Sync + 'static + sealed::Sealed {
    /// What the caller passes in, one per contact.
    type Input: Send + 'static;
    /// The wire form of one input.
    #[doc(hidden)]
    type Wire: Clone + serde::de::DeserializeOwned + Send + Sync + 'static;

    /// The most inputs HubSpot accepts in one request.
    #[doc(hidden)]
    fn max_batch_size(&self) -> usize;

    /// Inputs per request unless the caller sets a size.
    #[doc(hidden)]
    fn default_batch_size(&self) -> usize {
        self.max_batch_size()
    }

    /// The input's key as text, and its wire form or why it is refused.
    #[doc(hidden)]
    fn prepare(
        &self,
        input: Self::Input,
    ) -> (String, Result<PreparedInput<Self::Wire>, InputError>);

    /// Sets the `objectWriteTraceId` of a wire input; false for operations
    /// that carry none.
    #[doc(hidden)]
    fn set_trace_id(&self, _wire: &mut Self::Wire, _trace_id: &str) -> bool {
        false
    }

    /// The wire inputs of a request body this operation sent, read back;
    /// `None` if the body is not one. The v3 bodies keep them in `inputs`.
    #[doc(hidden)]
    fn wires_from_body(&self, body: &[u8]) -> Option<Vec<Self::Wire>> {
        #[derive(serde::Deserialize)]
        struct Inputs<W> {
            inputs: Vec<W>,
        }
        let body: Inputs<Self::Wire> = serde_json::from_slice(body).ok()?;
        Some(body.inputs)
    }

    /// Sends one request.
    #[doc(hidden)]
    fn send(
        &self,
        client: &Client,
        inputs: Vec<Self::Wire>,
    ) -> impl Future<Output = ChunkAnswer> + Send;

    /// For a refused request, the inputs the refusal names, so the rest can be
    /// sent again without them. `None` when the refusal names no input.
    #[doc(hidden)]
    fn refused_inputs(
        &self,
        _status: u16,
        _body: &types::Error,
        _inputs: &[&Self::Wire],
    ) -> Option<std::collections::BTreeMap<usize, InputFailure>> {
        None
    }

    /// Whether a refused request is split in halves to isolate the bad inputs.
    #[doc(hidden)]
    fn bisects(&self) -> bool {
        true
    }

    /// For inputs whose request may or may not have been applied, reads
    /// HubSpot back to learn which were. `None` when the operation cannot tell
    /// (or is idempotent, so the transport's retries already covered it).
    #[doc(hidden)]
    fn reconcile(
        &self,
        _client: &Client,
        _inputs: &[Self::Wire],
        _sent_at: chrono::DateTime<chrono::Utc>,
    ) -> impl Future<Output = Option<Vec<Reconciled>>> + Send {
        async { None }
    }
}

/// What reading HubSpot back says of an input whose request's fate was unknown.
#[doc(hidden)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reconciled {
    /// It was applied: the record exists, with this id.
    Applied {
        /// The record id.
        id: String,
    },
    /// It was not applied: sending it again is safe.
    Absent,
    /// A record with its key exists but was created before the request was
    /// sent: HubSpot would have refused the create as a conflict.
    Existed {
        /// The existing record's id.
        id: String,
    },
    /// Still unknown (the input has no key to look it up by).
    Unknown,
}

/// How many times a batch reads back and re-sends inputs whose fate was unknown.
const RECONCILE_ROUNDS: u8 = 3;

/// How long to wait before reading back inputs whose fate is unknown, so a
/// request HubSpot is still processing can land first.
const RECONCILE_DELAY: std::time::Duration = std::time::Duration::from_millis(250);

/// The outcomes of a settled chunk; every slot is filled by construction, and
/// a missing one (a bug) is reported rather than dropped.
fn fill(settled: Vec<Option<Outcome>>) -> Vec<Outcome> {
    settled
        .into_iter()
        .map(|outcome| {
            outcome.unwrap_or_else(|| Outcome::Unknown {
                reason: "the client lost track of this input (a bug: please report it)".to_owned(),
            })
        })
        .collect()
}

pub(crate) mod sealed {
    pub trait Sealed {}
}

/// An input with its position, on its way through the planner.
struct Entry<W> {
    index: u64,
    label: String,
    state: Result<Sendable<W>, InputError>,
}

struct Sendable<W> {
    address: Address,
    wire: W,
}

/// What a sent input's result is found by.
struct Address {
    key: Option<KeyIdentity>,
    trace_id: Option<String>,
}

impl<W> PlanEntry for Entry<W> {
    type Key = KeyIdentity;

    fn key(&self) -> Option<&KeyIdentity> {
        self.state
            .as_ref()
            .ok()
            .and_then(|sendable| sendable.address.key.as_ref())
    }

    fn is_sent(&self) -> bool {
        self.state.is_ok()
    }
}

/// Counters shared by the requests of one run.
#[derive(Debug, Default)]
pub(crate) struct StatsCell {
    pub(crate) requests: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) rate_limited: AtomicU64,
    pub(crate) waited_micros: AtomicU64,
    pub(crate) reconciled: AtomicU64,
}

impl StatsCell {
    pub(crate) fn snapshot(&self) -> BatchStats {
        BatchStats {
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            waited: Duration::from_micros(self.waited_micros.load(Ordering::Relaxed)),
            reconciled: self.reconciled.load(Ordering::Relaxed),
        }
    }
}

/// Holds a chunk back while an earlier chunk with one of its keys is in flight.
#[derive(Default)]
struct KeyGate {
    in_flight: Mutex<HashMap<KeyIdentity, (u64, watch::Receiver<bool>)>>,
}

impl KeyGate {
    /// Registers chunk `number` with `keys`; returns what it must wait for.
    fn enter<'k>(
        &self,
        number: u64,
        keys: impl Iterator<Item = &'k KeyIdentity>,
        done: &watch::Sender<bool>,
    ) -> Vec<watch::Receiver<bool>> {
        let mut in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut waits = Vec::new();
        for key in keys {
            if let Some((_, earlier)) = in_flight.insert(key.clone(), (number, done.subscribe())) {
                waits.push(earlier);
            }
        }
        waits
    }

    /// Forgets chunk `number`'s keys, unless a later chunk took them over.
    fn leave<'k>(&self, number: u64, keys: impl Iterator<Item = &'k KeyIdentity>) {
        let mut in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for key in keys {
            // Usually the key is still this chunk's: one lookup removes it.
            if let Some((owner, later)) = in_flight.remove(key)
                && owner != number
            {
                in_flight.insert(key.clone(), (owner, later));
            }
        }
    }
}

/// Everything a chunk needs to be sent.
struct Run<Op> {
    client: Client,
    op: Op,
    /// Starts every trace id generated in this run.
    trace_prefix: String,
    stats: Arc<StatsCell>,
    gate: KeyGate,
}

/// Runs a batch: one outcome per input, in input order.
pub(crate) fn run<Op: BatchOperation>(
    client: Client,
    op: Op,
    inputs: BoxStream<'static, Op::Input>,
    concurrency: usize,
    limit: usize,
    stats: Arc<StatsCell>,
) -> BoxStream<'static, InputOutcome> {
    // Generated trace ids differ between runs, so they cannot collide with
    // ids a caller chose in an earlier run.
    let trace_prefix = format!("hcb{:08x}", fastrand::u32(..));
    let run = Arc::new(Run {
        client,
        op,
        trace_prefix: trace_prefix.clone(),
        stats,
        gate: KeyGate::default(),
    });
    let preparing = Arc::clone(&run);
    let entries = inputs.enumerate().map(move |(index, input)| {
        let index = index as u64;
        let (label, prepared) = preparing.op.prepare(input);
        let state = prepared.map(|prepared| {
            let PreparedInput {
                key,
                trace_id,
                mut wire,
            } = prepared;
            let trace_id = trace_id.or_else(|| {
                let generated = generated_trace_id(&trace_prefix, index);
                preparing
                    .op
                    .set_trace_id(&mut wire, &generated)
                    .then_some(generated)
            });
            Sendable {
                address: Address { key, trace_id },
                wire,
            }
        });
        Entry {
            index,
            label,
            state,
        }
    });
    chunks(entries, limit)
        .zip(futures::stream::iter(0u64..))
        .map(move |(chunk, number)| {
            let run = Arc::clone(&run);
            let (done, _) = watch::channel(false);
            let waits = run
                .gate
                .enter(number, chunk.iter().filter_map(PlanEntry::key), &done);
            async move {
                for mut earlier in waits {
                    // An error means the earlier chunk is gone, which is as good as done.
                    let _ = earlier.wait_for(|finished| *finished).await;
                }
                let outcomes =
                    crate::transport::counted(Arc::clone(&run.stats), run.settle(chunk)).await;
                run.gate
                    .leave(number, outcomes.iter().filter_map(|(_, key)| key.as_ref()));
                let _ = done.send(true);
                outcomes
                    .into_iter()
                    .map(|(outcome, _)| outcome)
                    .collect::<Vec<_>>()
            }
        })
        .buffered(concurrency.max(1))
        .flat_map(futures::stream::iter)
        .boxed()
}

/// The trace id generated for input `index` of the run whose ids start with `prefix`.
fn generated_trace_id(prefix: &str, index: u64) -> String {
    use std::fmt::Write;
    // Room for the longest index, so writing it never grows the string.
    let mut trace_id = String::with_capacity(prefix.len() + 1 + 20);
    let _ = write!(trace_id, "{prefix}-{index}");
    trace_id
}

/// Cuts the entries into chunks, lazily.
fn chunks<W: Send + 'static>(
    entries: impl Stream<Item = Entry<W>> + Send + 'static,
    limit: usize,
) -> impl Stream<Item = Vec<Entry<W>>> + Send + 'static {
    let state = (Box::pin(entries), Some(ChunkPlanner::new(limit)));
    futures::stream::unfold(state, |(mut entries, mut planner)| async move {
        loop {
            let current = planner.as_mut()?;
            match entries.next().await {
                Some(entry) => {
                    if let Some(chunk) = current.push(entry) {
                        return Some((chunk, (entries, planner)));
                    }
                }
                None => {
                    let last = planner.take()?.finish()?;
                    return Some((last, (entries, None)));
                }
            }
        }
    })
}

impl<Op: BatchOperation> Run<Op> {
    /// Sends a chunk and returns each entry's outcome (with its key), in order.
    async fn settle(
        &self,
        chunk: Vec<Entry<Op::Wire>>,
    ) -> Vec<(InputOutcome, Option<KeyIdentity>)> {
        let mut outcomes: Vec<Option<Outcome>> = Vec::with_capacity(chunk.len());
        let mut reported = Vec::with_capacity(chunk.len());
        let mut sendable = Vec::with_capacity(chunk.len());
        let mut positions = Vec::with_capacity(chunk.len());
        for (position, entry) in chunk.into_iter().enumerate() {
            let Entry {
                index,
                label,
                state,
            } = entry;
            match state {
                Ok(item) => {
                    outcomes.push(None);
                    sendable.push((index, item));
                    positions.push(position);
                }
                Err(error) => {
                    outcomes.push(Some(Outcome::failed(INVALID_INPUT, error.to_string())))
                }
            }
            reported.push((index, label));
        }
        let sendable = self.untie_repeated_trace_ids(sendable);
        let keys: Vec<Option<KeyIdentity>> = sendable
            .iter()
            .map(|item| item.address.key.clone())
            .collect();
        let sent = self.deliver(sendable, RECONCILE_ROUNDS).await;
        let mut keys_by_position = vec![None; outcomes.len()];
        for ((position, outcome), key) in positions.into_iter().zip(sent).zip(keys) {
            outcomes[position] = Some(outcome);
            keys_by_position[position] = key;
        }
        reported
            .into_iter()
            .zip(outcomes)
            .zip(keys_by_position)
            .map(|(((index, label), outcome), key)| {
                let outcome = outcome.unwrap_or_else(|| {
                    Outcome::failed(INVALID_INPUT, "the input was never planned")
                });
                (
                    InputOutcome {
                        index,
                        key: label,
                        outcome,
                    },
                    key,
                )
            })
            .collect()
    }

    /// Results are matched by trace id, so one repeated in a request would
    /// confuse two inputs: each later repeat gets a generated trace id of its own.
    fn untie_repeated_trace_ids(
        &self,
        inputs: Vec<(u64, Sendable<Op::Wire>)>,
    ) -> Vec<Sendable<Op::Wire>> {
        let mut seen = HashSet::with_capacity(inputs.len());
        let repeated: Vec<bool> = inputs
            .iter()
            .map(|(_, item)| {
                item.address
                    .trace_id
                    .as_deref()
                    .is_some_and(|trace| !seen.insert(trace))
            })
            .collect();
        inputs
            .into_iter()
            .zip(repeated)
            .map(|((index, mut item), repeated)| {
                if repeated {
                    let own = generated_trace_id(&self.trace_prefix, index);
                    item.address.trace_id =
                        self.op.set_trace_id(&mut item.wire, &own).then_some(own);
                }
                item
            })
            .collect()
    }

    /// Sends inputs in one request; on a refusal that names inputs, or a
    /// validation refusal it can split, isolates the bad ones and delivers
    /// the rest; reconciles inputs whose fate is unknown. Returns one
    /// outcome per input, in order.
    fn deliver(
        &self,
        inputs: Vec<Sendable<Op::Wire>>,
        reconcile_rounds: u8,
    ) -> Pin<Box<dyn Future<Output = Vec<Outcome>> + Send + '_>> {
        Box::pin(async move {
            if inputs.is_empty() {
                return Vec::new();
            }
            // The wires move into the request; the few that must go again
            // (after a refusal, or a fate to reconcile) are read back from its body.
            let (addresses, wires): (Vec<Address>, Vec<Op::Wire>) = inputs
                .into_iter()
                .map(|input| (input.address, input.wire))
                .unzip();
            let count = addresses.len();
            let sent_at = chrono::Utc::now();
            let (answer, sent_body) =
                crate::transport::with_sent_body(self.op.send(&self.client, wires)).await;
            let outcomes = match answer {
                ChunkAnswer::Batch(answer, meaning) => {
                    let sent: Vec<SentInput<'_>> = addresses
                        .iter()
                        .map(|address| SentInput {
                            key: address.key.as_ref(),
                            trace_id: address.trace_id.as_deref(),
                        })
                        .collect();
                    map_answer(&sent, answer, meaning)
                }
                ChunkAnswer::Uniform(outcome) => vec![outcome; count],
                ChunkAnswer::Unknown(reason) => vec![Outcome::Unknown { reason }; count],
                ChunkAnswer::NotApplied(reason) => {
                    vec![Outcome::failed("NOT_SENT", reason); count]
                }
                ChunkAnswer::Refused { status, body } => {
                    return match self.read_back(addresses, sent_body) {
                        Some(inputs) => {
                            self.after_refusal(inputs, status, &body, reconcile_rounds)
                                .await
                        }
                        None => {
                            let refused = InputFailure::from_error_body(status, &body);
                            vec![Outcome::Failed(refused); count]
                        }
                    };
                }
            };
            let has_unknown = outcomes
                .iter()
                .any(|outcome| matches!(outcome, Outcome::Unknown { .. }));
            if !has_unknown || reconcile_rounds == 0 {
                return outcomes;
            }
            match self.read_back(addresses, sent_body) {
                Some(inputs) => {
                    self.reconcile(inputs, outcomes, sent_at, reconcile_rounds - 1)
                        .await
                }
                None => outcomes,
            }
        })
    }

    /// The inputs of a sent request again: their addresses, with their wire
    /// forms read back from the request's body. `None` (never expected) when
    /// the body is missing or does not hold one wire per address.
    fn read_back(
        &self,
        addresses: Vec<Address>,
        sent_body: Option<Vec<u8>>,
    ) -> Option<Vec<Sendable<Op::Wire>>> {
        let wires = sent_body.and_then(|body| self.op.wires_from_body(&body));
        match wires {
            Some(wires) if wires.len() == addresses.len() => Some(
                addresses
                    .into_iter()
                    .zip(wires)
                    .map(|(address, wire)| Sendable { address, wire })
                    .collect(),
            ),
            _ => {
                tracing::warn!(
                    "the sent request's inputs could not be read back; not sending them again"
                );
                None
            }
        }
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
        let (unknown, known): (Vec<_>, Vec<_>) = inputs
            .into_iter()
            .zip(outcomes)
            .enumerate()
            .partition(|(_, (_, outcome))| matches!(outcome, Outcome::Unknown { .. }));
        let mut settled: Vec<Option<Outcome>> = vec![None; unknown.len() + known.len()];
        for (position, (_, outcome)) in known {
            settled[position] = Some(outcome);
        }
        let wires: Vec<Op::Wire> = unknown
            .iter()
            .map(|(_, (input, _))| input.wire.clone())
            .collect();
        // Give HubSpot a moment to finish a request that timed out on our side.
        tokio::time::sleep(RECONCILE_DELAY).await;
        let verdicts = self.op.reconcile(&self.client, &wires, sent_at).await;
        let Some(verdicts) = verdicts.filter(|verdicts| verdicts.len() == unknown.len()) else {
            for (position, (_, outcome)) in unknown {
                settled[position] = Some(outcome);
            }
            return fill(settled);
        };
        let mut absent = Vec::new();
        let mut absent_positions = Vec::new();
        for ((position, (input, outcome)), verdict) in unknown.into_iter().zip(verdicts) {
            settled[position] = match verdict {
                Reconciled::Applied { id } => Some(Outcome::Created { id }),
                Reconciled::Existed { id } => Some(Outcome::failed(
                    "CONFLICT",
                    format!(
                        "Contact already exists. Existing ID: {id} (it existed before this request)"
                    ),
                )),
                Reconciled::Absent => {
                    absent.push(input);
                    absent_positions.push(position);
                    None
                }
                Reconciled::Unknown => Some(outcome),
            };
        }
        let read_back = settled.iter().filter(|outcome| outcome.is_none()).count()
            + settled
                .iter()
                .filter(|o| matches!(o, Some(Outcome::Created { .. })))
                .count();
        self.stats
            .reconciled
            .fetch_add(read_back as u64, Ordering::Relaxed);
        tracing::info!(
            absent = absent.len(),
            "reconciled inputs whose fate was unknown"
        );
        let resent = self.deliver(absent, rounds_left).await;
        for (position, outcome) in absent_positions.into_iter().zip(resent) {
            settled[position] = Some(outcome);
        }
        fill(settled)
    }

    async fn after_refusal(
        &self,
        inputs: Vec<Sendable<Op::Wire>>,
        status: u16,
        body: &types::Error,
        reconcile_rounds: u8,
    ) -> Vec<Outcome> {
        let refused = || Outcome::Failed(InputFailure::from_error_body(status, body));
        let wires: Vec<&Op::Wire> = inputs.iter().map(|input| &input.wire).collect();
        if let Some(named) = self
            .op
            .refused_inputs(status, body, &wires)
            .filter(|named| !named.is_empty())
        {
            let mut settled: Vec<Option<Outcome>> = vec![None; inputs.len()];
            let mut rest = Vec::new();
            let mut rest_positions = Vec::new();
            for (position, input) in inputs.into_iter().enumerate() {
                match named.get(&position) {
                    Some(failure) => settled[position] = Some(Outcome::Failed(failure.clone())),
                    None => {
                        rest.push(input);
                        rest_positions.push(position);
                    }
                }
            }
            let resent = self.deliver(rest, reconcile_rounds).await;
            for (position, outcome) in rest_positions.into_iter().zip(resent) {
                settled[position] = Some(outcome);
            }
            return fill(settled);
        }
        // 413: the request is too large, which halving cures unless one
        // input is too large on its own; that one then fails alone.
        let splittable = matches!(status, 400 | 409 | 413) && self.op.bisects() && inputs.len() > 1;
        if !splittable {
            return vec![refused(); inputs.len()];
        }
        let mut first = inputs;
        let second = first.split_off(first.len() / 2);
        let mut outcomes = self.deliver(first, reconcile_rounds).await;
        outcomes.extend(self.deliver(second, reconcile_rounds).await);
        outcomes
    }
}

/// A running batch: a stream of one outcome per input, in input order, with
/// the run's counters.
pub struct OutcomeStream {
    outcomes: BoxStream<'static, InputOutcome>,
    stats: Arc<StatsCell>,
}

impl OutcomeStream {
    pub(crate) fn new(outcomes: BoxStream<'static, InputOutcome>, stats: Arc<StatsCell>) -> Self {
        Self { outcomes, stats }
    }

    /// The counters so far: requests, retries, 429s, time waited.
    pub fn stats(&self) -> BatchStats {
        self.stats.snapshot()
    }
}

impl Stream for OutcomeStream {
    type Item = InputOutcome;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<InputOutcome>> {
        self.outcomes.poll_next_unpin(cx)
    }
}

impl std::fmt::Debug for OutcomeStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutcomeStream")
            .field("stats", &self.stats.snapshot())
            .finish_non_exhaustive()
    }
}
