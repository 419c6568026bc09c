//! [`ContactsBatchExt`]: the batch helpers on the generated client.

use futures::StreamExt;

use super::{
    ArchiveAll, BatchCall, CreateAll, IntoInputs, ReadAll, UpdateAll, UpsertAll,
    V1CreateOrUpdateAll,
};
use crate::{Client, Create, Update, Upsert, V1Contact, id_property::EMAIL_PROPERTY};

/// Batch helpers on the generated [`Client`]: any number of inputs, chunked,
/// correlated and reported one outcome per input. See the [module docs](super).
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
