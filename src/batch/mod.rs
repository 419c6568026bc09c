//! Bulk writes and reads of any size: [`ContactsBatchExt`].
//!
//! Each helper takes any number of inputs, from an iterator or a
//! `Stream` (wrap it in [`InputStream`]), and:
//! - sends them in HubSpot-sized requests ([`MAX_INPUTS_PER_BATCH`], 50 for reads
//!   with property history, [`V1_DEFAULT_CONTACTS_PER_BATCH`] for the legacy
//!   batch), with at most [`DEFAULT_CONCURRENCY`] requests in flight;
//! - pulls inputs only as requests complete, so memory is bounded by
//!   concurrency x chunk size, not by the number of inputs;
//! - keeps two inputs with the same key (record id, email compared
//!   case-insensitively, or unique property value) out of one request, and
//!   sends the later one after the earlier one has been answered;
//! - gives every input an `objectWriteTraceId` unless it has one, so
//!   HubSpot's 207 answers map back to inputs, whatever the order of results;
//! - splits a request HubSpot refuses as a whole (400, 409 or 413) until the bad
//!   inputs are isolated, and delivers the rest; for the legacy batch, drops
//!   the contacts its 400 names and sends the rest again;
//! - reports one [`Outcome`] per input, in input order.
//!
//! ```no_run
//! use hubspot_contacts_batch::prelude::*;
//!
//! # async fn run(client: Client) -> Result<(), Box<dyn std::error::Error>> {
//! let inputs = (0..1_000).map(|n| Upsert::by_email(format!("user{n}@example.com")).set("firstname", "Ada"));
//! let report = client.upsert_all(inputs).concurrency(8).send().await?;
//! let counts = report.counts();
//! println!("{} created, {} updated, {} failed in {} requests",
//!     counts.created, counts.updated, counts.failed, report.stats.requests);
//! for problem in report.problems() {
//!     eprintln!("{problem}");
//! }
//! # Ok(()) }
//! ```

mod answer;
mod deliver;
mod endpoint;
mod failure;
mod gate;
mod mapping;
mod operation;
mod outcome;
mod plan;
mod report;
mod resolve;
mod run;
mod stats;

use std::{collections::HashMap, sync::Arc};

use futures::{Stream, StreamExt, stream::BoxStream};

use answer::ChunkAnswer;
use mapping::{BatchAnswer, ResultMeaning};
pub use operation::BatchOperation;
use operation::{Engine, Reconciled};
pub use failure::{ClientCategory, InputFailure};
pub use outcome::{InputOutcome, Outcome, OutcomeCounts};
pub use report::{AbortCause, BatchAborted, BatchError, BatchReport, BatchStats};
use run::AbortSignal;
pub use run::OutcomeStream;
use stats::RunStats;
pub use plan::RequestCounter;

use crate::{
    Client,
    id_property::{
        ContactKey, Create, EMAIL_PROPERTY, InputError, KeyIdentity, PreparedInput,
        RECORD_ID_PROPERTY, Update, Upsert, V1Contact,
    },
    types,
    wire::record_id,
};

/// HubSpot's limit of inputs per v3 batch request ("Batch operations are
/// limited to 100 records at a time", Contacts guide).
pub const MAX_INPUTS_PER_BATCH: usize = 100;
/// The limit for batch reads with `propertiesWithHistory` (HubSpot answers 400
/// "The maximum number of inputs supported in a batch request for property
/// histories is 50").
pub const MAX_INPUTS_PER_HISTORY_READ: usize = 50;
/// The default size of a legacy v1 batch ("Performance is best when batch size
/// is limited to 100 contacts or fewer", legacy batch docs).
pub const V1_DEFAULT_CONTACTS_PER_BATCH: usize = 100;
/// The largest legacy v1 batch ("The batch size should not exceed 1000
/// contacts per request", legacy batch docs).
pub const V1_MAX_CONTACTS_PER_BATCH: usize = 1000;
/// How far HubSpot's clock may be from ours when reconciliation decides
/// whether a contact found by its email was created by the request in doubt.
const RECONCILE_CLOCK_SKEW: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

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
    op: Op,
    inputs: BoxStream<'a, Op::Input>,
    concurrency: usize,
    batch_size: Option<usize>,
}

impl<Op: BatchOperation> std::fmt::Debug for BatchCall<'_, Op> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchCall")
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl<'a, Op: BatchOperation> BatchCall<'a, Op> {
    fn new(client: &Client, op: Op, inputs: BoxStream<'a, Op::Input>) -> Self {
        Self {
            client: client.clone(),
            op,
            inputs,
            concurrency: DEFAULT_CONCURRENCY,
            batch_size: None,
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

    /// Runs the batch and yields one outcome per input, in input order, as
    /// requests complete. Memory stays bounded however many inputs there are.
    /// If the run stops because nothing more can succeed, the last item is
    /// the cause (see [`OutcomeStream`]).
    pub fn stream(self) -> OutcomeStream<'a> {
        let stats = Arc::new(RunStats::default());
        let abort = Arc::new(AbortSignal::default());
        let max = self.op.max_batch_size();
        let batch_size = self
            .batch_size
            .unwrap_or_else(|| self.op.default_batch_size())
            .clamp(1, max);
        let outcomes = run::run(
            &self.client,
            self.op,
            self.inputs,
            self.concurrency,
            batch_size,
            Arc::clone(&stats),
            Arc::clone(&abort),
        );
        OutcomeStream::new(outcomes, stats, abort)
    }

    /// Runs the batch to the end and reports one outcome per input, in input
    /// order. Zero inputs send nothing.
    ///
    /// # Errors
    ///
    /// [`BatchAborted`] when the run stopped because nothing more could
    /// succeed (HubSpot refused the token or its scopes, or the daily budget
    /// is spent); its report holds every input pulled until then, the ones
    /// not sent as [`Outcome::NotSent`]. Inputs HubSpot refused one by one
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

/// Batch helpers on the generated [`Client`]: any number of inputs, chunked,
/// correlated and reported one outcome per input. See the [module docs](self).
pub trait ContactsBatchExt {
    /// Creates contacts (v3 batch create, 100 per request).
    fn create_all<'a>(&self, inputs: impl IntoInputs<'a, Create>) -> BatchCall<'a, CreateAll>;
    /// Updates contacts by record id or unique property (v3 batch update).
    fn update_all<'a>(&self, inputs: impl IntoInputs<'a, Update>) -> BatchCall<'a, UpdateAll>;
    /// Creates or updates contacts by email or unique property (v3 batch upsert).
    fn upsert_all<'a>(&self, inputs: impl IntoInputs<'a, Upsert>) -> BatchCall<'a, UpsertAll>;
    /// Reads contacts by record id, or by the property set with
    /// [`BatchCall::id_property`] (v3 batch read).
    fn read_all<'a, K: Into<String> + Send + 'a>(
        &self,
        keys: impl IntoInputs<'a, K>,
    ) -> BatchCall<'a, ReadAll>;
    /// Archives contacts by record id (v3 batch archive).
    fn archive_all<'a, K: Into<String> + Send + 'a>(
        &self,
        ids: impl IntoInputs<'a, K>,
    ) -> BatchCall<'a, ArchiveAll>;
    /// Creates or updates contacts through the legacy v1 batch endpoint.
    fn v1_create_or_update_all<'a>(
        &self,
        inputs: impl IntoInputs<'a, V1Contact>,
    ) -> BatchCall<'a, V1CreateOrUpdateAll>;
}

impl ContactsBatchExt for Client {
    fn create_all<'a>(&self, inputs: impl IntoInputs<'a, Create>) -> BatchCall<'a, CreateAll> {
        let op = CreateAll {
            reconcile_by: Some(EMAIL_PROPERTY.to_owned()),
        };
        BatchCall::new(self, op, inputs.into_inputs())
    }

    fn update_all<'a>(&self, inputs: impl IntoInputs<'a, Update>) -> BatchCall<'a, UpdateAll> {
        BatchCall::new(self, UpdateAll(()), inputs.into_inputs())
    }

    fn upsert_all<'a>(&self, inputs: impl IntoInputs<'a, Upsert>) -> BatchCall<'a, UpsertAll> {
        BatchCall::new(self, UpsertAll(()), inputs.into_inputs())
    }

    fn read_all<'a, K: Into<String> + Send + 'a>(
        &self,
        keys: impl IntoInputs<'a, K>,
    ) -> BatchCall<'a, ReadAll> {
        let op = ReadAll {
            id_property: None,
            properties: Vec::new(),
            history: Vec::new(),
            archived: false,
        };
        BatchCall::new(self, op, keys.into_inputs().map(Into::into).boxed())
    }

    fn archive_all<'a, K: Into<String> + Send + 'a>(
        &self,
        ids: impl IntoInputs<'a, K>,
    ) -> BatchCall<'a, ArchiveAll> {
        BatchCall::new(
            self,
            ArchiveAll(()),
            ids.into_inputs().map(Into::into).boxed(),
        )
    }

    fn v1_create_or_update_all<'a>(
        &self,
        inputs: impl IntoInputs<'a, V1Contact>,
    ) -> BatchCall<'a, V1CreateOrUpdateAll> {
        let op = V1CreateOrUpdateAll { audit_id: None };
        BatchCall::new(self, op, inputs.into_inputs())
    }
}

/// A generated batch call's result, as the dispatcher takes it.
fn batch_answer<T>(
    result: Result<crate::ResponseValue<T>, crate::Error<types::ErrorBody>>,
    meaning: ResultMeaning,
    into_answer: impl FnOnce(u16, T) -> BatchAnswer,
) -> ChunkAnswer {
    ChunkAnswer::from_result(result, |status, body| {
        ChunkAnswer::Batch(into_answer(status, body), meaning)
    })
}


/// The v3 batch create behind [`ContactsBatchExt::create_all`].
#[derive(Debug)]
pub struct CreateAll {
    reconcile_by: Option<String>,
}

impl BatchCall<'_, CreateAll> {
    /// Whether inputs of a create whose fate is unknown (sent, then a reset,
    /// timeout or 5xx) are reconciled: read back by their email (or the
    /// property set with [`reconcile_by`](Self::reconcile_by)), reported
    /// created when found and created again when not. On by default; off, such
    /// inputs are reported [`Outcome::Unknown`]. Inputs without that property
    /// stay unknown.
    pub fn reconcile(mut self, reconcile: bool) -> Self {
        self.op.reconcile_by = match (reconcile, self.op.reconcile_by.take()) {
            (false, _) => None,
            (true, Some(property)) => Some(property),
            (true, None) => Some(EMAIL_PROPERTY.to_owned()),
        };
        self
    }

    /// Reconciles by this unique property instead of `email`.
    pub fn reconcile_by(mut self, property: impl Into<String>) -> Self {
        self.op.reconcile_by = Some(property.into());
        self
    }
}

impl Engine for CreateAll {
    type Input = Create;
    type Wire = types::CreateInput;

    fn max_batch_size(&self) -> usize {
        MAX_INPUTS_PER_BATCH
    }

    fn prepare(&self, input: Create) -> (Option<ContactKey>, Result<PreparedInput<Self::Wire>, InputError>) {
        let key = input.email().map(|email| ContactKey::Email(email.to_owned()));
        (key, input.prepare())
    }

    fn set_trace_id(&self, wire: &mut Self::Wire, trace_id: &str) -> bool {
        wire.object_write_trace_id = Some(trace_id.to_owned());
        true
    }

    async fn reconcile(
        &self,
        client: &Client,
        inputs: &[Self::Wire],
        sent_at: chrono::DateTime<chrono::Utc>,
    ) -> Option<Vec<Reconciled>> {
        let property = self.reconcile_by.as_deref()?;
        let values: Vec<Option<&str>> = inputs
            .iter()
            .map(|input| {
                let value = input.properties.get(property).map(String::as_str);
                value.filter(|value| !value.trim().is_empty())
            })
            .collect();
        let mut lookup: Vec<types::RecordId> = Vec::new();
        for value in values.iter().flatten() {
            if !lookup.iter().any(|known| known.id == *value) {
                lookup.push(record_id((*value).to_owned()).ok()?);
            }
        }
        if lookup.is_empty() {
            return Some(vec![Reconciled::Unknown; inputs.len()]);
        }
        let body = types::BatchReadRequest::builder()
            .inputs(lookup)
            .id_property(Some(property.to_owned()))
            .properties(vec![property.to_owned()])
            .properties_with_history(Vec::new());
        let found = endpoint::read(client, body, false).await.ok()?.into_inner();
        let found: HashMap<KeyIdentity, types::Contact> = found
            .results
            .into_iter()
            .filter_map(|contact| {
                let value = contact.properties.get(property)?.as_deref()?;
                Some((KeyIdentity::new(property, value), contact))
            })
            .collect();
        // A record created well before the request was sent was not created by it.
        let created_before = sent_at - RECONCILE_CLOCK_SKEW;
        let verdict = |value: Option<&str>| match value {
            None => Reconciled::Unknown,
            Some(value) => match found.get(&KeyIdentity::new(property, value)) {
                Some(contact) if contact.created_at < created_before => Reconciled::Existed {
                    id: contact.id.clone(),
                },
                Some(contact) => Reconciled::Applied {
                    id: contact.id.clone(),
                },
                None => Reconciled::Absent,
            },
        };
        Some(values.into_iter().map(verdict).collect())
    }

    async fn send(&self, client: &Client, inputs: Vec<Self::Wire>) -> ChunkAnswer {
        let result =
            endpoint::create(client, types::BatchCreateRequest::builder().inputs(inputs)).await;
        batch_answer(result, ResultMeaning::Created, |status, body| {
            BatchAnswer::from_contacts(status, body, false)
        })
    }
}

/// The v3 batch update behind [`ContactsBatchExt::update_all`].
#[derive(Debug)]
pub struct UpdateAll(());

impl Engine for UpdateAll {
    type Input = Update;
    type Wire = types::UpdateInput;

    fn max_batch_size(&self) -> usize {
        MAX_INPUTS_PER_BATCH
    }

    fn prepare(&self, input: Update) -> (Option<ContactKey>, Result<PreparedInput<Self::Wire>, InputError>) {
        (Some(input.key().clone()), input.prepare())
    }

    fn set_trace_id(&self, wire: &mut Self::Wire, trace_id: &str) -> bool {
        wire.object_write_trace_id = Some(trace_id.to_owned());
        true
    }

    async fn send(&self, client: &Client, inputs: Vec<Self::Wire>) -> ChunkAnswer {
        let result =
            endpoint::update(client, types::BatchUpdateRequest::builder().inputs(inputs)).await;
        batch_answer(result, ResultMeaning::Updated, |status, body| {
            BatchAnswer::from_contacts(status, body, false)
        })
    }
}

/// The v3 batch upsert behind [`ContactsBatchExt::upsert_all`].
#[derive(Debug)]
pub struct UpsertAll(());

impl Engine for UpsertAll {
    type Input = Upsert;
    type Wire = types::UpsertInput;

    fn max_batch_size(&self) -> usize {
        MAX_INPUTS_PER_BATCH
    }

    fn prepare(&self, input: Upsert) -> (Option<ContactKey>, Result<PreparedInput<Self::Wire>, InputError>) {
        (Some(input.key().clone()), input.prepare())
    }

    fn set_trace_id(&self, wire: &mut Self::Wire, trace_id: &str) -> bool {
        wire.object_write_trace_id = Some(trace_id.to_owned());
        true
    }

    async fn send(&self, client: &Client, inputs: Vec<Self::Wire>) -> ChunkAnswer {
        let result =
            endpoint::upsert(client, types::BatchUpsertRequest::builder().inputs(inputs)).await;
        batch_answer(result, ResultMeaning::Upserted, |status, body| {
            BatchAnswer::from_upserts(status, body)
        })
    }
}

/// The v3 batch read behind [`ContactsBatchExt::read_all`].
#[derive(Debug)]
pub struct ReadAll {
    id_property: Option<String>,
    properties: Vec<String>,
    history: Vec<String>,
    archived: bool,
}

impl Engine for ReadAll {
    type Input = String;
    type Wire = types::RecordId;

    fn max_batch_size(&self) -> usize {
        if self.history.is_empty() {
            MAX_INPUTS_PER_BATCH
        } else {
            MAX_INPUTS_PER_HISTORY_READ
        }
    }

    fn prepare(&self, value: String) -> (Option<ContactKey>, Result<PreparedInput<Self::Wire>, InputError>) {
        let key = match &self.id_property {
            Some(property) => ContactKey::by(property.clone(), value),
            None => ContactKey::Id(value),
        };
        let prepared = if key.value().trim().is_empty() {
            Err(InputError::EmptyKey {
                property: key.property().to_owned(),
            })
        } else {
            record_id(key.value().to_owned()).map(|wire| PreparedInput {
                key: Some(KeyIdentity::new(key.property(), key.value())),
                trace_id: None,
                wire,
            })
        };
        (Some(key), prepared)
    }

    async fn send(&self, client: &Client, inputs: Vec<Self::Wire>) -> ChunkAnswer {
        let mut properties = self.properties.clone();
        // Results are matched by the key property, so it must come back.
        if let Some(property) = self
            .id_property
            .as_ref()
            .filter(|p| !properties.contains(p))
        {
            properties.push(property.clone());
        }
        let body = types::BatchReadRequest::builder()
            .inputs(inputs)
            .id_property(self.id_property.clone())
            .properties(properties)
            .properties_with_history(self.history.clone());
        let result = endpoint::read(client, body, self.archived).await;
        batch_answer(result, ResultMeaning::Read, |status, body| {
            BatchAnswer::from_contacts(status, body, true)
        })
    }
}

impl BatchCall<'_, ReadAll> {
    /// Reads by this unique property (`email` or a custom one) instead of
    /// record ids.
    pub fn id_property(mut self, property: impl Into<String>) -> Self {
        let property = property.into();
        self.op.id_property = (property != RECORD_ID_PROPERTY).then_some(property);
        self
    }

    /// The properties to return.
    pub fn properties<I: IntoIterator<Item = S>, S: Into<String>>(mut self, properties: I) -> Self {
        self.op.properties = properties.into_iter().map(Into::into).collect();
        self
    }

    /// The properties to return with their history (50 inputs per request then).
    pub fn properties_with_history<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        properties: I,
    ) -> Self {
        self.op.history = properties.into_iter().map(Into::into).collect();
        self
    }

    /// Reads archived contacts instead of live ones.
    pub fn archived(mut self, archived: bool) -> Self {
        self.op.archived = archived;
        self
    }
}

/// The v3 batch archive behind [`ContactsBatchExt::archive_all`].
#[derive(Debug)]
pub struct ArchiveAll(());

impl Engine for ArchiveAll {
    type Input = String;
    type Wire = types::RecordId;

    fn max_batch_size(&self) -> usize {
        MAX_INPUTS_PER_BATCH
    }

    fn prepare(&self, id: String) -> (Option<ContactKey>, Result<PreparedInput<Self::Wire>, InputError>) {
        let key = ContactKey::Id(id.clone());
        let prepared = if id.trim().is_empty() {
            Err(InputError::EmptyKey {
                property: RECORD_ID_PROPERTY.to_owned(),
            })
        } else {
            let key = KeyIdentity::new(RECORD_ID_PROPERTY, &id);
            record_id(id).map(|wire| PreparedInput {
                key: Some(key),
                trace_id: None,
                wire,
            })
        };
        (Some(key), prepared)
    }

    async fn send(&self, client: &Client, inputs: Vec<Self::Wire>) -> ChunkAnswer {
        let result =
            endpoint::archive(client, types::BatchArchiveRequest::builder().inputs(inputs)).await;
        ChunkAnswer::from_result(result, |_, ()| ChunkAnswer::Uniform(Outcome::Archived))
    }
}

/// The legacy v1 batch behind [`ContactsBatchExt::v1_create_or_update_all`].
#[derive(Debug)]
pub struct V1CreateOrUpdateAll {
    audit_id: Option<String>,
}

impl Engine for V1CreateOrUpdateAll {
    type Input = V1Contact;
    type Wire = types::V1BatchContact;

    fn max_batch_size(&self) -> usize {
        V1_MAX_CONTACTS_PER_BATCH
    }

    fn default_batch_size(&self) -> usize {
        V1_DEFAULT_CONTACTS_PER_BATCH
    }

    fn prepare(&self, input: V1Contact) -> (Option<ContactKey>, Result<PreparedInput<Self::Wire>, InputError>) {
        (input.key(), input.prepare())
    }

    async fn send(&self, client: &Client, inputs: Vec<Self::Wire>) -> ChunkAnswer {
        let mut call = client
            .v1_batch_create_or_update()
            .body(types::V1BatchRequest(inputs));
        if let Some(audit_id) = &self.audit_id {
            call = call.audit_id(audit_id.clone());
        }
        ChunkAnswer::from_result(call.send().await, |_, ()| {
            ChunkAnswer::Uniform(Outcome::Accepted)
        })
    }

    fn refused_inputs(
        &self,
        status: u16,
        body: &types::ErrorBody,
        inputs: &[&Self::Wire],
    ) -> Option<std::collections::BTreeMap<usize, InputFailure>> {
        let emails: Vec<Option<&str>> = inputs.iter().map(|input| input.email.as_deref()).collect();
        Some(mapping::v1_refused_positions(status, body, &emails))
    }

    fn bisects(&self) -> bool {
        false
    }
}

impl BatchCall<'_, V1CreateOrUpdateAll> {
    /// The `auditId` HubSpot records as the source of the changes.
    pub fn audit_id(mut self, audit_id: impl Into<String>) -> Self {
        self.op.audit_id = Some(audit_id.into());
        self
    }
}
