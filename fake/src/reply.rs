//! HubSpot-shaped replies: success bodies ready to send, and error bodies that the HTTP
//! layer completes with a correlation id.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::catalogue::PropertyError;
use crate::store::Conflict;
use crate::wire::{ErrorDetail, StandardError};

/// Batch endpoints (v3 and dated) take at most this many inputs ("Batch operations are
/// limited to 100 records at a time", Contacts guide).
pub const MAX_INPUTS_PER_BATCH: usize = 100;
/// Batch read (v3 and dated) with `propertiesWithHistory` takes at most this many inputs.
pub const MAX_INPUTS_WITH_HISTORY: usize = 50;
/// The fake's limit for the legacy v1 batch endpoint ("The batch size should not exceed
/// 1000 contacts per request", legacy docs).
pub const V1_MAX_CONTACTS_PER_BATCH: usize = 1000;

#[derive(Debug)]
pub(crate) enum ReplyBody {
    Empty,
    Json(Vec<u8>),
    /// An error object; `status: "error"` and `correlationId` are added when sent.
    Error(Map<String, Value>),
}

#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: ReplyBody,
}

impl Reply {
    pub(crate) fn empty(status: u16) -> Self {
        Self {
            status,
            body: ReplyBody::Empty,
        }
    }

    pub(crate) fn json<T: Serialize>(status: u16, body: &T) -> Self {
        Self::json_sized(status, body, 0)
    }

    /// Like [`json`](Self::json), with a capacity hint for the serialised body.
    pub(crate) fn json_sized<T: Serialize>(status: u16, body: &T, hint: usize) -> Self {
        let mut bytes = Vec::with_capacity(hint);
        match serde_json::to_writer(&mut bytes, body) {
            Ok(()) => Self {
                status,
                body: ReplyBody::Json(bytes),
            },
            Err(e) => Self::error(500, Some("INTERNAL_ERROR"), format!("serialisation: {e}")),
        }
    }

    pub(crate) fn error(status: u16, category: Option<&str>, message: impl Into<String>) -> Self {
        let mut map = Map::new();
        map.insert("status".into(), json!("error"));
        map.insert("message".into(), Value::String(message.into()));
        if let Some(category) = category {
            map.insert("category".into(), json!(category));
        }
        Self {
            status,
            body: ReplyBody::Error(map),
        }
    }

    /// Adds a field to an error body (no-op on other bodies).
    pub(crate) fn with(mut self, key: &str, value: Value) -> Self {
        if let ReplyBody::Error(map) = &mut self.body {
            map.insert(key.to_owned(), value);
        }
        self
    }

    pub(crate) fn validation(message: impl Into<String>) -> Self {
        Self::error(400, Some("VALIDATION_ERROR"), message)
    }

    pub(crate) fn too_many_inputs() -> Self {
        Self::validation(format!(
            "The maximum number of inputs supported in a batch is {MAX_INPUTS_PER_BATCH}. Please reduce the number of items and try again"
        ))
    }

    pub(crate) fn duplicates(ids: &[String]) -> Self {
        Self::validation(format!(
            "Duplicate IDs found in batch input: [{}]. IDs must be unique",
            ids.join(", ")
        ))
        .with("context", json!({ "ids": ids }))
    }

    pub(crate) fn non_unique_id_property(operation: &str, property: &str) -> Self {
        Self::validation(format!(
            "Unable to perform {operation} by non-unique 0-1 property {property}"
        ))
    }

    pub(crate) fn bad_json(err: &serde_json::Error) -> Self {
        Self::validation(format!(
            "Invalid input JSON on line {}, column {}: {}",
            err.line(),
            err.column(),
            err
        ))
    }

    pub(crate) fn property_errors(errors: &[PropertyError]) -> Self {
        let details: Vec<ErrorDetail> = errors.iter().map(property_detail).collect();
        Self::validation(property_message(errors)).with("errors", json!(details))
    }

    pub(crate) fn conflict(conflict: &Conflict) -> Self {
        Self::error(409, Some("CONFLICT"), conflict_message(conflict))
    }
}

fn property_detail(e: &PropertyError) -> ErrorDetail {
    ErrorDetail {
        message: e.message.clone(),
        code: Some(e.code),
        context: BTreeMap::from([("propertyName".to_owned(), vec![e.name.clone()])]),
    }
}

fn property_message(errors: &[PropertyError]) -> String {
    let results: Vec<Value> = errors.iter().map(validation_result).collect();
    format!("Property values were not valid: {}", Value::Array(results))
}

/// HubSpot's `propertyValidationResult` / `validationResults` item.
pub(crate) fn validation_result(e: &PropertyError) -> Value {
    json!({
        "isValid": false,
        "message": e.message,
        "error": e.code,
        "name": e.name,
    })
}

pub(crate) fn conflict_message(conflict: &Conflict) -> String {
    match conflict {
        Conflict::Existing { id, .. } => format!("Contact already exists. Existing ID: {id}"),
        Conflict::InBatch { property, value } => format!(
            "Another input in this batch already sets {property} to {value:?}; values of a unique property must differ"
        ),
    }
}

fn trace_context(trace: Option<&String>) -> BTreeMap<String, Vec<String>> {
    trace
        .map(|t| ("objectWriteTraceId".to_owned(), vec![t.clone()]))
        .into_iter()
        .collect()
}

impl StandardError {
    pub(crate) fn validation(errors: &[PropertyError], trace: Option<&String>) -> Self {
        let mut context = trace_context(trace);
        if let [only] = errors {
            context.insert("propertyName".into(), vec![only.name.clone()]);
        }
        Self {
            status: "error",
            category: "VALIDATION_ERROR",
            message: property_message(errors),
            context,
            errors: errors.iter().map(property_detail).collect(),
            links: BTreeMap::new(),
        }
    }

    pub(crate) fn invalid(message: String, trace: Option<&String>) -> Self {
        Self {
            status: "error",
            category: "VALIDATION_ERROR",
            message,
            context: trace_context(trace),
            errors: Vec::new(),
            links: BTreeMap::new(),
        }
    }

    pub(crate) fn conflict(conflict: &Conflict, trace: Option<&String>) -> Self {
        let mut context = trace_context(trace);
        if let Conflict::Existing { id, .. } = conflict {
            context.insert("ids".into(), vec![id.to_string()]);
        }
        Self {
            status: "error",
            category: "CONFLICT",
            message: conflict_message(conflict),
            context,
            errors: Vec::new(),
            links: BTreeMap::new(),
        }
    }

    pub(crate) fn not_found(ids: Vec<String>, traces: Vec<String>) -> Self {
        let mut context = BTreeMap::from([("ids".to_owned(), ids)]);
        if !traces.is_empty() {
            context.insert("objectWriteTraceId".into(), traces);
        }
        Self {
            status: "error",
            category: "OBJECT_NOT_FOUND",
            message: "Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.".into(),
            context,
            errors: Vec::new(),
            links: BTreeMap::new(),
        }
    }
}
