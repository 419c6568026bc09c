//! One batch run: inputs pulled lazily, prepared and planned into chunks, at
//! most `concurrency` chunks in flight, outcomes yielded in input order.
//!
//! Memory is bounded by `concurrency` chunks of inputs: the next input is
//! pulled only when a chunk has room, and a chunk's inputs are dropped as
//! soon as it settles.

use std::{
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
};

use foldhash::{HashSet, HashSetExt};
use futures::{FutureExt, Stream, StreamExt, future::BoxFuture, stream::BoxStream};
use tokio::sync::watch;

use super::{
    deliver::RECONCILE_ROUNDS,
    failure::{ClientCategory, InputFailure},
    gate::KeyGate,
    operation::{Engine, PreparedInput},
    outcome::{InputOutcome, Outcome},
    plan::{ChunkPlanner, PlanEntry},
    report::{AbortCause, BatchStats},
    stats::RunStats,
};
use crate::{
    Client,
    id_property::{ContactKey, InputError, KeyIdentity},
    stop::{Stop, StopSetter},
};

/// Everything a chunk needs to be sent.
pub(super) struct Run<Op> {
    /// The caller's client, counting into this run's statistics, and sending
    /// nothing more once the run is stopped (not even a read-back: what it
    /// would have settled stays unknown).
    pub(super) client: Client,
    /// Set when the caller asked the run to stop.
    pub(super) stop: Stop,
    /// Told the positions of a request's inputs just before it first leaves.
    pub(super) on_send: Option<OnSend>,
    pub(super) op: Op,
    /// Starts every trace id generated in this run.
    trace_prefix: String,
    pub(super) stats: Arc<RunStats>,
    gate: KeyGate,
    /// Set when nothing more can succeed.
    pub(super) abort: Arc<AbortSignal>,
}

/// Why the run stopped, once it has; shared by the chunks in flight, the
/// input puller and the outcome stream.
#[derive(Debug, Default)]
pub(super) struct AbortSignal {
    cause: Mutex<Option<AbortCause>>,
}

impl AbortSignal {
    /// Stops the run for `cause`, unless it has already stopped.
    pub(super) fn stop(&self, cause: AbortCause) {
        self.lock().get_or_insert(cause);
    }

    /// Why the run stopped, if it has.
    pub(super) fn cause(&self) -> Option<AbortCause> {
        self.lock().clone()
    }

    fn is_stopped(&self) -> bool {
        self.lock().is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<AbortCause>> {
        self.cause.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// An input with its position, on its way through the planner.
struct Entry<W> {
    index: usize,
    key: Option<ContactKey>,
    state: Result<Sendable<W>, InputError>,
}

/// An input ready to send, with its position and what its result is found by.
pub(super) struct Sendable<W> {
    pub(super) index: usize,
    pub(super) address: Address,
    pub(super) wire: W,
}

/// What a sent input's result is found by.
pub(super) struct Address {
    pub(super) key: Option<KeyIdentity>,
    pub(super) trace_id: Option<String>,
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

/// How a run cuts and sends its inputs.
#[derive(Clone)]
pub(super) struct Shape {
    /// Requests in flight at most.
    pub(super) concurrency: usize,
    /// Inputs per request at most.
    pub(super) batch_size: usize,
    /// Told the positions of a request's inputs just before it first leaves.
    pub(super) on_send: Option<OnSend>,
}

/// The caller's [`BatchCall::on_send`](super::BatchCall::on_send).
pub(super) type OnSend = Arc<dyn Fn(&[usize]) + Send + Sync>;

/// Runs a batch: one outcome per input pulled, in input order. When the run
/// stops (`abort` says why) or is stopped (`stop`), no more inputs are pulled
/// and the inputs not sent are [`Outcome::NotSent`].
pub(super) fn run<'a, Op: Engine>(
    client: &Client,
    op: Op,
    inputs: BoxStream<'a, Op::Input>,
    Shape {
        concurrency,
        batch_size,
        on_send,
    }: Shape,
    stats: Arc<RunStats>,
    abort: Arc<AbortSignal>,
    stop: Stop,
) -> BoxStream<'a, InputOutcome> {
    // Generated trace ids differ between runs, so they cannot collide with
    // ids a caller chose in an earlier run.
    let trace_prefix = format!("hcb{:08x}", fastrand::u32(..));
    let run = Arc::new(Run {
        client: client.for_run(Arc::clone(&stats.requests), stop.clone()),
        stop: stop.clone(),
        on_send,
        op,
        trace_prefix: trace_prefix.clone(),
        stats,
        gate: KeyGate::default(),
        abort: Arc::clone(&abort),
    });
    let preparing = Arc::clone(&run);
    // A stop ends the pulling even while the inputs keep it waiting.
    let mut inputs = inputs.take_until(async move { stop.wait().await }.boxed());
    // Checked before each input is pulled, so a stop never drops one.
    let pulled = futures::stream::poll_fn(move |cx| {
        if abort.is_stopped() {
            Poll::Ready(None)
        } else {
            inputs.poll_next_unpin(cx)
        }
    });
    let entries = pulled
        .enumerate()
        .map(move |(index, input)| preparing.entry(index, input));
    chunks(entries, batch_size)
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
                let outcomes = run.settle(chunk).await;
                run.gate.leave(
                    number,
                    outcomes.iter().filter_map(|(outcome, key)| {
                        let created = match &outcome.outcome {
                            Outcome::Created { id } => Some(id.as_str()),
                            _ => None,
                        };
                        Some((key.as_ref()?, created))
                    }),
                );
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
fn generated_trace_id(prefix: &str, index: usize) -> String {
    use std::fmt::Write;
    // Room for the longest index, so writing it never grows the string.
    let mut trace_id = String::with_capacity(prefix.len() + 1 + 20);
    let _ = write!(trace_id, "{prefix}-{index}");
    trace_id
}

/// Cuts the entries into chunks, lazily.
fn chunks<'a, W: Send + 'a>(
    entries: impl Stream<Item = Entry<W>> + Send + 'a,
    limit: usize,
) -> impl Stream<Item = Vec<Entry<W>>> + Send + 'a {
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

impl<Op: Engine> Run<Op> {
    /// Prepares input `index`: its label, and its wire form with a trace id,
    /// or why it cannot be sent.
    fn entry(&self, index: usize, input: Op::Input) -> Entry<Op::Wire> {
        let (key, prepared) = self.op.prepare(input);
        let state = prepared.map(|prepared| {
            let PreparedInput {
                key,
                trace_id,
                mut wire,
            } = prepared;
            let trace_id = trace_id.or_else(|| {
                let generated = generated_trace_id(&self.trace_prefix, index);
                self.op
                    .set_trace_id(&mut wire, &generated)
                    .then_some(generated)
            });
            Sendable {
                index,
                address: Address { key, trace_id },
                wire,
            }
        });
        Entry { index, key, state }
    }

    /// Sends a chunk and returns each entry's outcome (with its key), in order.
    async fn settle(
        &self,
        chunk: Vec<Entry<Op::Wire>>,
    ) -> Vec<(InputOutcome, Option<KeyIdentity>)> {
        let mut settled: Vec<(InputOutcome, Option<KeyIdentity>)> = Vec::with_capacity(chunk.len());
        let mut sendable = Vec::with_capacity(chunk.len());
        for entry in chunk {
            let Entry { index, key, state } = entry;
            let (outcome, identity) = match state {
                Ok(item) => {
                    let identity = item.address.key.clone();
                    sendable.push((index, settled.len(), item));
                    // Replaced once the chunk is delivered.
                    (lost_track(), identity)
                }
                Err(error) => {
                    let refused =
                        InputFailure::client(ClientCategory::InvalidInput, error.to_string());
                    (Outcome::Failed(refused), None)
                }
            };
            let outcome = InputOutcome {
                index,
                key,
                outcome,
            };
            settled.push((outcome, identity));
        }
        let (slots, inputs): (Vec<usize>, Vec<Sendable<Op::Wire>>) =
            self.untie_repeated_trace_ids(sendable).into_iter().unzip();
        let delivered = self.deliver(inputs, RECONCILE_ROUNDS).await;
        for (slot, outcome) in slots.into_iter().zip(delivered) {
            settled[slot].0.outcome = self.one_claim(outcome, settled[slot].1.as_ref());
        }
        settled
    }

    /// A record an earlier input of the run with the same key was reported
    /// to have created is not this input's creation: one record, one claim.
    fn one_claim(&self, outcome: Outcome, key: Option<&KeyIdentity>) -> Outcome {
        match (outcome, key) {
            (Outcome::Created { id }, Some(key))
                if self.gate.created_earlier(key).as_deref() == Some(id.as_str()) =>
            {
                self.op.claimed_earlier(id)
            }
            (outcome, _) => outcome,
        }
    }

    /// Results are matched by trace id, so one repeated in a request would
    /// confuse two inputs: each later repeat gets a generated trace id of its
    /// own. Returns each input with its slot in the chunk.
    fn untie_repeated_trace_ids(
        &self,
        inputs: Vec<(usize, usize, Sendable<Op::Wire>)>,
    ) -> Vec<(usize, Sendable<Op::Wire>)> {
        let mut seen = HashSet::with_capacity(inputs.len());
        let repeated: Vec<bool> = inputs
            .iter()
            .map(|(_, _, item)| {
                item.address
                    .trace_id
                    .as_deref()
                    .is_some_and(|trace| !seen.insert(trace))
            })
            .collect();
        inputs
            .into_iter()
            .zip(repeated)
            .map(|((index, slot, mut item), repeated)| {
                if repeated {
                    let own = generated_trace_id(&self.trace_prefix, index);
                    item.address.trace_id =
                        self.op.set_trace_id(&mut item.wire, &own).then_some(own);
                }
                (slot, item)
            })
            .collect()
    }
}

/// The outcome of an input the engine lost (a bug), reported rather than dropped.
pub(super) fn lost_track() -> Outcome {
    Outcome::Unknown {
        reason: "the client lost track of this input (a bug: please report it)".to_owned(),
    }
}

/// A running batch: a stream of one outcome per input, in input order, with
/// the run's counters.
///
/// Each item is an input's outcome. When the run stops because nothing more
/// can succeed, the outcomes of every input pulled come first (the ones not
/// sent as [`Outcome::NotSent`]), then one `Err` with the cause, then the end.
pub struct OutcomeStream<'a> {
    outcomes: BoxStream<'a, InputOutcome>,
    stats: Arc<RunStats>,
    abort: Arc<AbortSignal>,
    /// The caller's stop signal, until it fires, and what it sets.
    until: Option<(BoxFuture<'a, ()>, StopSetter)>,
    ended: bool,
}

impl<'a> OutcomeStream<'a> {
    pub(super) fn new(
        outcomes: BoxStream<'a, InputOutcome>,
        stats: Arc<RunStats>,
        abort: Arc<AbortSignal>,
        until: Option<(BoxFuture<'a, ()>, StopSetter)>,
    ) -> Self {
        Self {
            outcomes,
            stats,
            abort,
            until,
            ended: false,
        }
    }

    /// The counters so far: requests, retries, 429s, time waited.
    pub fn stats(&self) -> BatchStats {
        self.stats.snapshot()
    }
}

impl Stream for OutcomeStream<'_> {
    type Item = Result<InputOutcome, AbortCause>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        if let Some((signal, setter)) = &mut self.until
            && signal.poll_unpin(cx).is_ready()
        {
            setter.set();
            self.until = None;
        }
        match self.outcomes.poll_next_unpin(cx) {
            Poll::Ready(Some(outcome)) => Poll::Ready(Some(Ok(outcome))),
            Poll::Ready(None) => {
                self.ended = true;
                Poll::Ready(self.abort.cause().map(Err))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl std::fmt::Debug for OutcomeStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutcomeStream")
            .field("stats", &self.stats.snapshot())
            .finish_non_exhaustive()
    }
}
