//! Building the generated request types without naming their fields.
//!
//! A struct literal of a generated type stops compiling when the OpenAPI
//! document gives that type a new optional field; its builder does not. Every
//! request value the hand-written code makes goes through a builder and
//! [`build`]. A field the document makes *required* and the SDK does not set
//! becomes an [`InputError::Wire`] on each input, never a panic.

use std::fmt;

use crate::{id_property::InputError, types};

/// Finishes a generated builder, naming the type when a required field is unset.
pub(crate) fn build<T, B>(what: &'static str, builder: B) -> Result<T, InputError>
where
    B: TryInto<T>,
    B::Error: fmt::Display,
{
    builder.try_into().map_err(|error| InputError::Wire {
        what,
        reason: error.to_string(),
    })
}

/// `{"id": id}`: a record id, or a value of the read's `idProperty`.
pub(crate) fn record_id(id: String) -> Result<types::RecordId, InputError> {
    build("RecordId", types::RecordId::builder().id(id))
}
