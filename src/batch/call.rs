//! A batch run being configured, [`BatchCall`], and what it accepts as
//! inputs.

use std::sync::Arc;

use futures::{FutureExt, Stream, StreamExt, future::BoxFuture, stream::BoxStream};

use super::{
    BatchOperation, OutcomeStream,
    report::{BatchAborted, BatchReport},
    run::{self, AbortSignal},
    stats::RunStats,
};
use crate::{Client, stop};

/// Requests in flight at once unless set. With HubSpot's 50-300 ms per batch
/// request, 8 keeps even a 250-per-10-s portal busy.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// Inputs given as a [`Stream`] rather than an iterator.
#[derive(Debug)]
pub struct InputStream<S>(pub S);

/// Anything the batch helpers accept as inputs: an iterator (a `Vec`, a
/// `map` over lines, a `map` over a borrowed slice, …) or an [`InputStream`].
/// The inputs may borrow from the caller for `'a`; the run then lives no
/// longer than they do.
///
/// ```no_run
/// use hubspot_contacts_batch::prelude::*;
///
/// # async fn run(client: Client) -> Result<(), Box<dyn std::error::Error>> {
/// let known = vec!["ada@example.com".to_owned(), "alan@example.com".to_owned()];
/// let report = client
///     .upsert_all(known.iter().map(|email| Upsert::by_email(email).set("lifecyclestage", "lead")))
///     .send()
///     .await?;
/// # Ok(()) }
/// ```
pub trait IntoInputs<'a, T> {
    /// The inputs as a stream.
    fn into_inputs(self) -> BoxStream<'a, T>;
}

impl<'a, T, I> IntoInputs<'a, T> for I
where
    I: IntoIterator<Item = T>,
    I::IntoIter: Send + 'a,
    T: Send + 'a,
{
    fn into_inputs(self) -> BoxStream<'a, T> {
        futures::stream::iter(self).boxed()
    }
}

impl<'a, T, S> IntoInputs<'a, T> for InputStream<S>
where
    S: Stream<Item = T> + Send + 'a,
{
    fn into_inputs(self) -> BoxStream<'a, T> {
        self.0.boxed()
    }
}

/// A batch run being configured; ends in [`send`](BatchCall::send) or
/// [`stream`](BatchCall::stream).
#[must_use = "a batch does nothing until `send` or `stream`"]
pub struct BatchCall<'a, Op: BatchOperation> {
    client: Client,
    pub(super) op: Op,
    inputs: BoxStream<'a, Op::Input>,
    concurrency: usize,
    batch_size: Option<usize>,
    until: Option<BoxFuture<'a, ()>>,
    on_send: Option<run::OnSend>,
}

impl<Op: BatchOperation> std::fmt::Debug for BatchCall<'_, Op> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchCall")
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl<'a, Op: BatchOperation> BatchCall<'a, Op> {
    pub(super) fn new(client: &Client, op: Op, inputs: BoxStream<'a, Op::Input>) -> Self {
        Self {
            client: client.clone(),
            op,
            inputs,
            concurrency: DEFAULT_CONCURRENCY,
            batch_size: None,
            until: None,
            on_send: None,
        }
    }

    /// At most this many requests in flight at once ([`DEFAULT_CONCURRENCY`]
    /// unless set; at least 1).
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Inputs per request: HubSpot's largest unless set (100 for v3, 50 for
    /// reads with property history; 100 by default and up to 1,000 for the
    /// legacy batch), and never more than that.
    pub fn batch_size(mut self, size: usize) -> Self {
        self.batch_size = Some(size);
        self
    }

    /// Stops the run gracefully once `signal` resolves (a Ctrl-C, a
    /// shutdown): no more inputs are pulled; a request waiting for the rate
    /// limiter or for a retry is not sent, and its inputs are
    /// [`Outcome::NotSent`](super::Outcome::NotSent); a request already sent
    /// is waited for and settled as usual, but nothing more is sent for it:
    /// a create whose answer was lost is read back only if that read had
    /// already left, and is otherwise reported unknown. Every input pulled
    /// still gets its one outcome, and the run ends without an error.
    ///
    /// ```no_run
    /// use hubspot_contacts_batch::prelude::*;
    ///
    /// # async fn run(client: Client, rows: Vec<Upsert>) -> Result<(), Box<dyn std::error::Error>> {
    /// // At most a minute of sending; what is left goes another time.
    /// let report = client
    ///     .upsert_all(rows)
    ///     .until(tokio::time::sleep(std::time::Duration::from_secs(60)))
    ///     .send()
    ///     .await?;
    /// let not_sent = report.outcomes.iter().filter(|o| matches!(o.outcome, Outcome::NotSent { .. }));
    /// println!("{} inputs to send another time", not_sent.count());
    /// # Ok(()) }
    /// ```
    pub fn until(mut self, signal: impl Future<Output = ()> + Send + 'a) -> Self {
        self.until = Some(signal.boxed());
        self
    }

    /// Calls `on_send` with the positions of a request's inputs just before
    /// the request first leaves (once the rate limiter lets it), every time
    /// inputs are sent, so a journal can record what may have reached
    /// HubSpot: an input never named here certainly did not. Positions count
    /// the inputs from 0, as [`InputOutcome::index`](super::InputOutcome)
    /// does; an input may be named more than once (a request split in
    /// halves, or sent again after a read-back). It runs on the request's
    /// task, so it should return quickly.
    pub fn on_send(mut self, on_send: impl Fn(&[usize]) + Send + Sync + 'static) -> Self {
        self.on_send = Some(Arc::new(on_send));
        self
    }

    /// Runs the batch and yields one outcome per input, in input order, as
    /// requests complete. Memory stays bounded however many inputs there are.
    /// If the run stops because nothing more can succeed, the last item is
    /// the cause (see [`OutcomeStream`]).
    pub fn stream(self) -> OutcomeStream<'a> {
        let stats = Arc::new(RunStats::default());
        let abort = Arc::new(AbortSignal::default());
        let (setter, stop) = stop::stop();
        let max = self.op.max_batch_size();
        let batch_size = self
            .batch_size
            .unwrap_or_else(|| self.op.default_batch_size())
            .clamp(1, max);
        let outcomes = run::run(
            &self.client,
            self.op,
            self.inputs,
            run::Shape {
                concurrency: self.concurrency,
                batch_size,
                on_send: self.on_send,
            },
            Arc::clone(&stats),
            Arc::clone(&abort),
            stop,
        );
        OutcomeStream::new(
            outcomes,
            stats,
            abort,
            self.until.map(|signal| (signal, setter)),
        )
    }

    /// Runs the batch to the end and reports one outcome per input, in input
    /// order. Zero inputs send nothing.
    ///
    /// # Errors
    ///
    /// [`BatchAborted`] when the run stopped because nothing more could
    /// succeed (HubSpot refused the token or its scopes, or the daily budget
    /// is spent); its report holds every input pulled until then, the ones
    /// not sent as [`Outcome::NotSent`](super::Outcome::NotSent). Inputs HubSpot refused one by one
    /// are not an error: they are in the report.
    pub async fn send(self) -> Result<BatchReport, BatchAborted> {
        let mut stream = self.stream();
        let mut outcomes = Vec::new();
        let mut cause = None;
        while let Some(item) = stream.next().await {
            match item {
                Ok(outcome) => outcomes.push(outcome),
                Err(stop) => cause = Some(stop),
            }
        }
        let report = BatchReport {
            outcomes,
            stats: stream.stats(),
        };
        match cause {
            None => Ok(report),
            Some(cause) => Err(BatchAborted { report, cause }),
        }
    }
}
