//! The operations of the crate's OpenAPI document, and whether each is
//! idempotent: the classification the retry policy needs.

/// What a HubSpot operation does, as far as the retry policy is concerned.
///
/// Every `operationId` of the crate's OpenAPI document
/// (`openapi/contacts-batch.json`) maps to one of these through
/// [`Operation::from_operation_id`]; a batch endpoint served at several API
/// versions (`batch_upsert` at v3, `dated_batch_upsert` at a dated version)
/// maps to one operation. What matters to the transport policy is
/// [`Operation::is_idempotent`]: whether sending the same request twice has the
/// same effect as sending it once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Operation {
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
    /// `GET /crm/v3/properties/contacts` (the property catalogue, a read).
    ListProperties,
    /// An `operationId` missing from [`OPERATION_IDS`]. Its requests still
    /// go through the rate limiter and are retried only when they certainly
    /// did not reach HubSpot, as a create would be; a test that reads the
    /// document fails until the operation is classified.
    Unclassified,
}

/// Every `operationId` of `openapi/contacts-batch.json` and what it does.
///
/// An operation added to the document must be added here too (the crate's
/// tests read the document and fail, naming this table, until it is); until
/// then its requests are [`Operation::Unclassified`].
pub(crate) const OPERATION_IDS: &[(&str, Operation)] = &[
    ("batch_create", Operation::BatchCreate),
    ("batch_update", Operation::BatchUpdate),
    ("batch_upsert", Operation::BatchUpsert),
    ("batch_read", Operation::BatchRead),
    ("batch_archive", Operation::BatchArchive),
    ("dated_batch_create", Operation::BatchCreate),
    ("dated_batch_update", Operation::BatchUpdate),
    ("dated_batch_upsert", Operation::BatchUpsert),
    ("dated_batch_read", Operation::BatchRead),
    ("dated_batch_archive", Operation::BatchArchive),
    (
        "v1_batch_create_or_update",
        Operation::V1BatchCreateOrUpdate,
    ),
    ("v1_create_contact", Operation::V1CreateContact),
    ("v1_update_contact", Operation::V1UpdateContact),
    ("list_contact_properties", Operation::ListProperties),
    ("dated_list_contact_properties", Operation::ListProperties),
];

impl Operation {
    /// Looks an operation up by its `operationId` in [`OPERATION_IDS`] (as
    /// progenitor passes it to the request hooks). The camelCase spelling
    /// (`batchUpsert`) is accepted too; anything else is `None`.
    pub(crate) fn from_operation_id(id: &str) -> Option<Operation> {
        OPERATION_IDS.iter().find_map(|&(known, op)| {
            let matches = known == id || known.replace('_', "").eq_ignore_ascii_case(id);
            matches.then_some(op)
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
    /// An [`Unclassified`](Operation::Unclassified) operation is treated as
    /// not idempotent: nothing that may have been applied is sent again.
    pub(crate) const fn is_idempotent(self) -> bool {
        !matches!(
            self,
            Operation::BatchCreate | Operation::V1CreateContact | Operation::Unclassified
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `operationId`s of the crate's OpenAPI document.
    fn document_operation_ids() -> Vec<String> {
        let text = include_str!("../../openapi/contacts-batch.json");
        let document: serde_json::Value = serde_json::from_str(text).unwrap();
        let paths = document["paths"].as_object().unwrap();
        paths
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .filter_map(|operation| operation["operationId"].as_str().map(str::to_owned))
            .collect()
    }

    #[test]
    fn every_operation_in_the_document_is_classified() {
        let ids = document_operation_ids();
        assert!(ids.len() >= 13, "{ids:?}");
        let unclassified: Vec<&String> = ids
            .iter()
            .filter(|id| Operation::from_operation_id(id).is_none())
            .collect();
        assert!(
            unclassified.is_empty(),
            "operationIds {unclassified:?} in openapi/contacts-batch.json are not classified \
             for the retry policy: add each to OPERATION_IDS in src/policy/operation.rs \
             with the Operation it performs (creates are not idempotent)"
        );
    }

    #[test]
    fn the_table_names_only_operations_of_the_document() {
        let ids = document_operation_ids();
        for (id, _) in OPERATION_IDS {
            assert!(
                ids.iter().any(|known| known == id),
                "{id} is not in the document"
            );
        }
    }

    #[test]
    fn camel_case_ids_are_accepted() {
        assert_eq!(
            Operation::from_operation_id("batchUpsert"),
            Some(Operation::BatchUpsert)
        );
        assert_eq!(
            Operation::from_operation_id("datedBatchCreate"),
            Some(Operation::BatchCreate)
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
    fn only_creates_and_the_unclassified_are_not_idempotent() {
        let not_idempotent: Vec<&str> = OPERATION_IDS
            .iter()
            .filter(|(_, op)| !op.is_idempotent())
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(
            not_idempotent,
            ["batch_create", "dated_batch_create", "v1_create_contact"]
        );
        assert!(!Operation::Unclassified.is_idempotent());
    }
}
