//! The eight operations of the SDK and whether each is idempotent.

use std::fmt;

/// One of the eight HubSpot operations this SDK calls.
///
/// The names follow the `operationId`s of the crate's OpenAPI document
/// (`openapi/contacts-batch.json`). What matters to the transport policy is
/// [`Operation::is_idempotent`]: whether sending the same request twice has the
/// same effect as sending it once.
///
/// ```
/// use hubspot_contacts_batch::policy::Operation;
///
/// let op = Operation::from_operation_id("batch_upsert").unwrap();
/// assert!(op.is_idempotent());
/// assert!(!Operation::BatchCreate.is_idempotent());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `POST /crm/v3/objects/contacts/batch/create` (not idempotent).
    BatchCreate,
    /// `POST /crm/v3/objects/contacts/batch/update`.
    BatchUpdate,
    /// `POST /crm/v3/objects/contacts/batch/upsert`.
    BatchUpsert,
    /// `POST /crm/v3/objects/contacts/batch/read`.
    BatchRead,
    /// `POST /crm/v3/objects/contacts/batch/archive`.
    BatchArchive,
    /// `POST /contacts/v1/contact/batch/` (legacy create-or-update by email).
    V1BatchCreateOrUpdate,
    /// `POST /contacts/v1/contact` (legacy single create, not idempotent).
    V1CreateContact,
    /// `POST /contacts/v1/contact/vid/{vid}/profile` (legacy single update).
    V1UpdateContact,
}

impl Operation {
    /// Every operation, in the order of the OpenAPI document.
    pub const ALL: [Operation; 8] = [
        Operation::BatchCreate,
        Operation::BatchUpdate,
        Operation::BatchUpsert,
        Operation::BatchRead,
        Operation::BatchArchive,
        Operation::V1BatchCreateOrUpdate,
        Operation::V1CreateContact,
        Operation::V1UpdateContact,
    ];

    /// The `operationId` of this operation in the crate's OpenAPI document.
    pub const fn operation_id(self) -> &'static str {
        match self {
            Operation::BatchCreate => "batch_create",
            Operation::BatchUpdate => "batch_update",
            Operation::BatchUpsert => "batch_upsert",
            Operation::BatchRead => "batch_read",
            Operation::BatchArchive => "batch_archive",
            Operation::V1BatchCreateOrUpdate => "v1_batch_create_or_update",
            Operation::V1CreateContact => "v1_create_contact",
            Operation::V1UpdateContact => "v1_update_contact",
        }
    }

    /// Looks an operation up by its `operationId` (as progenitor passes it to
    /// the request hooks). The camelCase spelling (`batchUpsert`) is accepted
    /// too; anything else is `None`.
    pub fn from_operation_id(id: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| {
            let canonical = op.operation_id();
            canonical == id || canonical.replace('_', "").eq_ignore_ascii_case(id)
        })
    }

    /// Whether repeating the request cannot change the outcome, so that a
    /// request that may or may not have been applied can simply be sent again.
    ///
    /// Creates are the only non-idempotent operations: a v3 batch create or a
    /// v1 create that reached HubSpot and is sent again makes duplicate
    /// contacts (or fails with 409 while the first one succeeded). Updates,
    /// upserts, reads and archives converge to the same state however many
    /// times they are applied; the v1 batch endpoint is create-*or-update* by
    /// email, so a second application updates what the first one created.
    pub const fn is_idempotent(self) -> bool {
        !matches!(self, Operation::BatchCreate | Operation::V1CreateContact)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.operation_id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_round_trip() {
        for op in Operation::ALL {
            assert_eq!(Operation::from_operation_id(op.operation_id()), Some(op));
            assert_eq!(op.to_string(), op.operation_id());
        }
    }

    #[test]
    fn camel_case_ids_are_accepted() {
        assert_eq!(
            Operation::from_operation_id("batchUpsert"),
            Some(Operation::BatchUpsert)
        );
        assert_eq!(
            Operation::from_operation_id("v1BatchCreateOrUpdate"),
            Some(Operation::V1BatchCreateOrUpdate)
        );
    }

    #[test]
    fn unknown_ids_are_none() {
        for id in ["", "batch", "search", "batch_create ", "BATCH-CREATE"] {
            assert_eq!(Operation::from_operation_id(id), None, "{id:?}");
        }
    }

    #[test]
    fn only_creates_are_not_idempotent() {
        let not_idempotent: Vec<_> = Operation::ALL
            .into_iter()
            .filter(|op| !op.is_idempotent())
            .collect();
        assert_eq!(
            not_idempotent,
            [Operation::BatchCreate, Operation::V1CreateContact]
        );
    }
}
