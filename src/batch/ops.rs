//! The operations behind the batch helpers: how each prepares an input,
//! sends a chunk at the client's API version, reads a refusal and, for
//! creates, reads inputs back.

use std::collections::HashMap;

use super::{
    BatchCall, MAX_INPUTS_PER_BATCH, MAX_INPUTS_PER_HISTORY_READ, V1_DEFAULT_CONTACTS_PER_BATCH,
    V1_MAX_CONTACTS_PER_BATCH,
    answer::ChunkAnswer,
    endpoint,
    failure::{ClientCategory, InputFailure},
    mapping::{self, BatchAnswer, ResultMeaning},
    operation::{Engine, PreparedInput, Reconciled},
    outcome::Outcome,
    read_back::read_back_writes,
};
use crate::{
    Client,
    builders::record_id,
    exchange::EARLIER_ATTEMPT_HEADER,
    id_property::{
        ContactKey, Create, EMAIL_PROPERTY, InputError, KeyIdentity, RECORD_ID_PROPERTY, Update,
        Upsert, V1Contact,
    },
    types,
};

/// The instant, on HubSpot's clock, before which a record cannot have been
/// created by a request we sent at `sent_at` (our clock): the read that found
/// it completed at `read_completed` (HubSpot's clock), before we had its
/// answer at `read_answered` (ours), so HubSpot's clock is at least
/// `read_completed - read_answered` ahead of ours. A record created before
/// `sent_at` plus that much certainly existed before the request, such as
/// one an earlier input of the same run created; one created later is taken
/// for the request's own. No guessed skew enters.
fn existed_before(
    sent_at: chrono::DateTime<chrono::Utc>,
    read_completed: chrono::DateTime<chrono::Utc>,
    read_answered: chrono::DateTime<chrono::Utc>,
) -> chrono::DateTime<chrono::Utc> {
    sent_at + (read_completed - read_answered)
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

/// The batch create behind [`super::ContactsBatchExt::create_all`].
#[derive(Debug)]
pub struct CreateAll {
    pub(super) reconcile_by: Option<String>,
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

    fn prepare(
        &self,
        input: Create,
    ) -> (
        Option<ContactKey>,
        Result<PreparedInput<Self::Wire>, InputError>,
    ) {
        let key = input
            .email()
            .map(|email| ContactKey::Email(email.to_owned()));
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
        let created_before = existed_before(sent_at, found.completed_at, chrono::Utc::now());
        let found: HashMap<KeyIdentity, types::Contact> = found
            .results
            .into_iter()
            .filter_map(|contact| {
                let value = contact.properties.get(property)?.as_deref()?;
                Some((KeyIdentity::new(property, value), contact))
            })
            .collect();
        let verdict = |value: Option<&str>| match value {
            None => Reconciled::Unknown,
            Some(value) => match found.get(&KeyIdentity::new(property, value)) {
                Some(contact) if contact.created_at < created_before => Reconciled::Existed {
                    id: contact.id.clone(),
                },
                // A twin input of the run that made it is caught by the key
                // gate's memory (one record, one claim).
                Some(contact) => Reconciled::Applied {
                    id: contact.id.clone(),
                    created: true,
                },
                None => Reconciled::Absent,
            },
        };
        Some(values.into_iter().map(verdict).collect())
    }

    fn claimed_earlier(&self, id: String) -> Outcome {
        Outcome::Failed(InputFailure::client(
            ClientCategory::AlreadyExisted,
            format!(
                "Contact already exists. Existing ID: {id} (an earlier input of this run created it)"
            ),
        ))
    }

    async fn send(&self, client: &Client, inputs: Vec<Self::Wire>) -> ChunkAnswer {
        let result =
            endpoint::create(client, types::BatchCreateRequest::builder().inputs(inputs)).await;
        batch_answer(result, ResultMeaning::Created, |status, body| {
            BatchAnswer::from_contacts(status, body, false)
        })
    }
}

/// The batch update behind [`super::ContactsBatchExt::update_all`].
#[derive(Debug)]
pub struct UpdateAll(pub(super) ());

impl Engine for UpdateAll {
    type Input = Update;
    type Wire = types::UpdateInput;

    fn max_batch_size(&self) -> usize {
        MAX_INPUTS_PER_BATCH
    }

    fn prepare(
        &self,
        input: Update,
    ) -> (
        Option<ContactKey>,
        Result<PreparedInput<Self::Wire>, InputError>,
    ) {
        (Some(input.key().clone()), input.prepare())
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
        read_back_writes(client, inputs, sent_at, false).await
    }

    async fn send(&self, client: &Client, inputs: Vec<Self::Wire>) -> ChunkAnswer {
        let result =
            endpoint::update(client, types::BatchUpdateRequest::builder().inputs(inputs)).await;
        batch_answer(result, ResultMeaning::Updated, |status, body| {
            BatchAnswer::from_contacts(status, body, false)
        })
    }
}

/// The batch upsert behind [`super::ContactsBatchExt::upsert_all`].
#[derive(Debug)]
pub struct UpsertAll(pub(super) ());

impl Engine for UpsertAll {
    type Input = Upsert;
    type Wire = types::UpsertInput;

    fn max_batch_size(&self) -> usize {
        MAX_INPUTS_PER_BATCH
    }

    fn prepare(
        &self,
        input: Upsert,
    ) -> (
        Option<ContactKey>,
        Result<PreparedInput<Self::Wire>, InputError>,
    ) {
        (Some(input.key().clone()), input.prepare())
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
        read_back_writes(client, inputs, sent_at, true).await
    }

    async fn send(&self, client: &Client, inputs: Vec<Self::Wire>) -> ChunkAnswer {
        let result =
            endpoint::upsert(client, types::BatchUpsertRequest::builder().inputs(inputs)).await;
        let earlier = result
            .as_ref()
            .ok()
            .and_then(|answer| answer.headers().get(EARLIER_ATTEMPT_HEADER))
            .and_then(|value| value.to_str().ok()?.parse().ok())
            .map(std::time::Duration::from_millis);
        batch_answer(result, ResultMeaning::Upserted, |status, body| {
            BatchAnswer::from_upserts(status, body, earlier)
        })
    }
}

/// The batch read behind [`super::ContactsBatchExt::read_all`].
#[derive(Debug)]
pub struct ReadAll {
    pub(super) id_property: Option<String>,
    pub(super) properties: Vec<String>,
    pub(super) history: Vec<String>,
    pub(super) archived: bool,
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

    fn prepare(
        &self,
        value: String,
    ) -> (
        Option<ContactKey>,
        Result<PreparedInput<Self::Wire>, InputError>,
    ) {
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

/// The batch archive behind [`super::ContactsBatchExt::archive_all`].
#[derive(Debug)]
pub struct ArchiveAll(pub(super) ());

impl Engine for ArchiveAll {
    type Input = String;
    type Wire = types::RecordId;

    fn max_batch_size(&self) -> usize {
        MAX_INPUTS_PER_BATCH
    }

    fn prepare(
        &self,
        id: String,
    ) -> (
        Option<ContactKey>,
        Result<PreparedInput<Self::Wire>, InputError>,
    ) {
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

/// The legacy v1 batch behind [`super::ContactsBatchExt::v1_create_or_update_all`].
#[derive(Debug)]
pub struct V1CreateOrUpdateAll {
    pub(super) audit_id: Option<String>,
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

    fn prepare(
        &self,
        input: V1Contact,
    ) -> (
        Option<ContactKey>,
        Result<PreparedInput<Self::Wire>, InputError>,
    ) {
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

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone, Utc};

    use super::existed_before;

    #[test]
    fn the_line_moves_with_hubspots_clock_not_a_guessed_skew() {
        let sent = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let answered = sent + TimeDelta::seconds(2);
        // HubSpot's clock 30 s behind ours: the read completed 28 s "before" we sent.
        let completed = answered - TimeDelta::seconds(30);
        assert_eq!(
            existed_before(sent, completed, answered),
            sent - TimeDelta::seconds(30)
        );
        // In step: the line is our send time.
        assert_eq!(existed_before(sent, answered, answered), sent);
    }
}
