//! What each batch helper's operation must say to the engine: how to prepare
//! an input, send a chunk, read a refusal and read inputs back. Sealed: the
//! helpers of [`super::ContactsBatchExt`] are the only operations.

use std::{collections::BTreeMap, future::Future};

use super::{answer::ChunkAnswer, failure::InputFailure, outcome::Outcome};
use crate::{
    Client,
    id_property::{ContactKey, InputError, KeyIdentity},
    types,
};

/// One of the operations behind the batch helpers ([`super::CreateAll`],
/// [`super::UpsertAll`], …). Sealed: it names what [`super::BatchCall`]
/// runs, and is not for implementing.
pub trait BatchOperation: Engine {}

impl<T: Engine> BatchOperation for T {}

/// What the engine needs of an operation. Public only inside a private module
/// (the sealed-trait pattern), so users can neither name nor implement it.
pub trait Engine: Send + Sync + 'static {
    /// What the caller passes in, one per contact.
    type Input: Send + 'static;
    /// The wire form of one input.
    type Wire: Clone + Send + Sync + 'static;

    /// The most inputs HubSpot accepts in one request.
    fn max_batch_size(&self) -> usize;

    /// Inputs per request unless the caller sets a size.
    fn default_batch_size(&self) -> usize {
        self.max_batch_size()
    }

    /// The input's key, and its wire form or why it is refused.
    fn prepare(
        &self,
        input: Self::Input,
    ) -> (
        Option<ContactKey>,
        Result<PreparedInput<Self::Wire>, InputError>,
    );

    /// Sets the `objectWriteTraceId` of a wire input; false for operations
    /// that carry none.
    fn set_trace_id(&self, _wire: &mut Self::Wire, _trace_id: &str) -> bool {
        false
    }

    /// Sends one request.
    fn send(
        &self,
        client: &Client,
        inputs: Vec<Self::Wire>,
    ) -> impl Future<Output = ChunkAnswer> + Send;

    /// For a refused request, the inputs the refusal names, so the rest can be
    /// sent again without them. `None` when the refusal names no input.
    fn refused_inputs(
        &self,
        _status: u16,
        _body: &types::ErrorBody,
        _inputs: &[&Self::Wire],
    ) -> Option<BTreeMap<usize, InputFailure>> {
        None
    }

    /// The outcome of an input answered as having created record `id`, which
    /// an earlier input of the run with the same key created: an update of it
    /// (upserts), unless the operation cannot update (creates override this).
    fn claimed_earlier(&self, id: String) -> Outcome {
        Outcome::Updated { id }
    }

    /// Whether a refused request is split in halves to isolate the bad inputs.
    fn bisects(&self) -> bool {
        true
    }

    /// For inputs whose request may or may not have been applied, reads
    /// HubSpot back to learn which were. `None` when the operation cannot
    /// tell (the read failed, or archives and legacy batches, which have
    /// nothing to compare).
    fn reconcile(
        &self,
        _client: &Client,
        _inputs: &[Self::Wire],
        _sent_at: chrono::DateTime<chrono::Utc>,
    ) -> impl Future<Output = Option<Vec<Reconciled>>> + Send {
        async { None }
    }
}

/// An input ready for the wire, with what the batch engine needs to plan and
/// correlate it.
#[derive(Clone, Debug)]
pub struct PreparedInput<W> {
    /// The key for finding duplicates and matching results, if the input has one.
    pub(crate) key: Option<KeyIdentity>,
    /// The caller's `objectWriteTraceId`, if set.
    pub(crate) trace_id: Option<String>,
    /// The wire form.
    pub(crate) wire: W,
}

/// What reading HubSpot back says of an input whose request's fate was unknown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reconciled {
    /// It was applied: the record exists, with this id.
    Applied {
        /// The record id.
        id: String,
        /// Whether the request created the record (else it updated it).
        created: bool,
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
