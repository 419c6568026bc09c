//! Why an input failed: HubSpot's refusal in its own words, or the client's
//! reason, told apart.

use std::{collections::BTreeMap, fmt};

use crate::types;

/// Why the client, not HubSpot, failed an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClientCategory {
    /// The input was refused before sending (an empty key, an update by
    /// email, a value that cannot be encoded, …).
    InvalidInput,
    /// HubSpot answered the request but neither returned the input nor
    /// reported an error for it.
    MissingFromResponse,
    /// A create whose request's fate was unknown, read back: the contact
    /// with its key existed before the request was sent, so this create did
    /// not make it (HubSpot would have refused it as a conflict).
    AlreadyExisted,
}

impl ClientCategory {
    /// The category's name as reports show it (`INVALID_INPUT`, …).
    pub fn name(self) -> &'static str {
        match self {
            ClientCategory::InvalidInput => "INVALID_INPUT",
            ClientCategory::MissingFromResponse => "MISSING_FROM_RESPONSE",
            ClientCategory::AlreadyExisted => "ALREADY_EXISTED",
        }
    }
}

impl fmt::Display for ClientCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an input failed, in HubSpot's words when HubSpot refused it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputFailure {
    /// HubSpot's category (`VALIDATION_ERROR`, `OBJECT_NOT_FOUND`,
    /// `CONFLICT`, …); `None` when HubSpot gave none, or when the client failed
    /// the input itself (`client`).
    pub category: Option<String>,
    /// Set when the client, not HubSpot, failed the input.
    pub client: Option<ClientCategory>,
    /// HubSpot's machine-readable cause: the first `errors[].code`
    /// (`MISSING_REQUIRED_PROPERTY`, `INVALID_OPTION`, …), else the `error` of
    /// the first validation result HubSpot embeds in its message; `None` when
    /// HubSpot gave neither.
    pub code: Option<String>,
    /// HubSpot's message, or the client's.
    pub message: String,
    /// HubSpot's context (`objectWriteTraceId`, `ids`, `propertyName`, …),
    /// with the context of each of its detailed causes merged in, so that
    /// `context["propertyName"]` names the properties at fault.
    pub context: BTreeMap<String, Vec<String>>,
    /// The HTTP status of the response that refused it (207 for a per-input error).
    pub status: Option<u16>,
    /// HubSpot's correlation id, when the whole request was refused.
    pub correlation_id: Option<String>,
}

impl InputFailure {
    /// A failure the client decided, with its message.
    pub(crate) fn client(category: ClientCategory, message: impl Into<String>) -> Self {
        Self {
            category: None,
            client: Some(category),
            code: None,
            message: message.into(),
            context: BTreeMap::new(),
            status: None,
            correlation_id: None,
        }
    }

    /// A refusal in HubSpot's words, as the response mapper reads it from a
    /// body HubSpot does not describe with an error object (the legacy batch).
    pub(crate) fn refusal(
        category: &str,
        code: Option<String>,
        message: String,
        context: BTreeMap<String, Vec<String>>,
        status: u16,
        correlation_id: Option<String>,
    ) -> Self {
        Self {
            category: Some(category.to_owned()),
            client: None,
            code,
            message,
            context,
            status: Some(status),
            correlation_id,
        }
    }

    pub(crate) fn from_item_error(status: u16, error: &types::BatchItemError) -> Self {
        let (message, code, context) = gather(&error.message, &error.errors, &error.context);
        Self {
            category: error.category.clone(),
            client: None,
            code,
            message,
            context,
            status: Some(status),
            correlation_id: None,
        }
    }

    pub(crate) fn from_error_body(status: u16, error: &types::ErrorBody) -> Self {
        let (message, code, context) = gather(&error.message, &error.errors, &error.context);
        Self {
            category: error.category.clone().or_else(|| error.error_type.clone()),
            client: None,
            code,
            message,
            context,
            status: Some(status),
            correlation_id: error.correlation_id.clone(),
        }
    }

    /// The first property HubSpot names as the cause (`context.propertyName`).
    pub fn property_name(&self) -> Option<&str> {
        self.context.get(PROPERTY_NAME)?.first().map(String::as_str)
    }
}

/// The context key under which HubSpot names the property at fault.
const PROPERTY_NAME: &str = "propertyName";

/// One error's message, code and context, with its detailed causes folded in:
/// the details' messages appended when the top-level one lacks them (it can be
/// generic), their context merged, and the first code kept. HubSpot sometimes
/// gives the causes only as a JSON array inside the message ("Property values
/// were not valid: [{…"error":"INVALID_OPTION","name":"color"}]"); those count
/// too.
fn gather(
    message: &str,
    details: &[types::ErrorDetail],
    context: &BTreeMap<String, Vec<String>>,
) -> (String, Option<String>, BTreeMap<String, Vec<String>>) {
    let mut message = message.to_owned();
    let mut context = context.clone();
    let mut code = None;
    for detail in details {
        // The message may already hold the detail, raw or inside its
        // embedded JSON (quotes escaped).
        let escaped = serde_json::to_string(&detail.message).unwrap_or_default();
        let escaped = escaped.trim_matches('"');
        if !message.contains(&detail.message) && !message.contains(escaped) {
            message.push_str("; ");
            message.push_str(&detail.message);
        }
        code = code.or_else(|| detail.code.clone());
        for (key, values) in &detail.context {
            merge(&mut context, key, values.iter().cloned());
        }
    }
    for (embedded_code, name) in embedded_causes(&message) {
        code = code.or(embedded_code);
        merge(&mut context, PROPERTY_NAME, name);
    }
    (message, code, context)
}

fn merge(
    context: &mut BTreeMap<String, Vec<String>>,
    key: &str,
    values: impl IntoIterator<Item = String>,
) {
    for value in values {
        let known = context.entry(key.to_owned()).or_default();
        if !known.contains(&value) {
            known.push(value);
        }
    }
}

/// The `(error, name)` pairs of the validation results HubSpot embeds as a
/// JSON array at the end of a message; none when there is no such array.
fn embedded_causes(message: &str) -> Vec<(Option<String>, Option<String>)> {
    #[derive(serde::Deserialize)]
    struct Cause {
        error: Option<String>,
        name: Option<String>,
    }
    let Some(start) = message.find(": [{") else {
        return Vec::new();
    };
    let array = &message[start + 2..];
    // Only a whole array counts; a message that merely quotes one does not.
    serde_json::from_str::<Vec<Cause>>(array)
        .map(|causes| causes.into_iter().map(|c| (c.error, c.name)).collect())
        .unwrap_or_default()
}

impl fmt::Display for InputFailure {
    /// `CATEGORY: message [correlation id C]`: HubSpot's category, else the
    /// client's, else `HTTP <status>` for a refusal without one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.category, self.client, self.status) {
            (Some(category), _, _) => write!(f, "{category}: ")?,
            (None, Some(client), _) => write!(f, "{client}: ")?,
            (None, None, Some(status)) => write!(f, "HTTP {status}: ")?,
            (None, None, None) => {}
        }
        f.write_str(&self.message)?;
        if let Some(id) = &self.correlation_id {
            write!(f, " [correlation id {id}]")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_body(json: serde_json::Value) -> types::ErrorBody {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_2026_09_refusal_names_its_code_and_property() {
        let body = error_body(serde_json::json!({
            "status": "error", "category": "VALIDATION_ERROR", "correlationId": "c-1",
            "message": "Property values were not valid",
            "errors": [{"message": "Property \"lifecyclestage\" is required",
                        "code": "MISSING_REQUIRED_PROPERTY",
                        "context": {"propertyName": ["lifecyclestage"]}}]
        }));
        let failure = InputFailure::from_error_body(400, &body);
        assert_eq!(failure.category.as_deref(), Some("VALIDATION_ERROR"));
        assert_eq!(failure.code.as_deref(), Some("MISSING_REQUIRED_PROPERTY"));
        assert_eq!(failure.property_name(), Some("lifecyclestage"));
        assert!(
            failure.message.contains("is required"),
            "{}",
            failure.message
        );
        assert_eq!(
            failure.to_string(),
            "VALIDATION_ERROR: Property values were not valid; Property \"lifecyclestage\" is required [correlation id c-1]"
        );
    }

    #[test]
    fn causes_embedded_in_the_message_count_when_no_details_are_given() {
        let item: types::BatchItemError = serde_json::from_value(serde_json::json!({
            "category": "VALIDATION_ERROR",
            "message": "Property values were not valid: [{\"isValid\":false,\"message\":\"x\",\"error\":\"INVALID_OPTION\",\"name\":\"color\"}]",
            "context": {"objectWriteTraceId": ["t1"]}
        }))
        .unwrap();
        let failure = InputFailure::from_item_error(207, &item);
        assert_eq!(failure.code.as_deref(), Some("INVALID_OPTION"));
        assert_eq!(failure.property_name(), Some("color"));
        assert_eq!(failure.context["objectWriteTraceId"], ["t1"]);
    }

    #[test]
    fn a_detail_already_embedded_in_the_message_is_not_repeated() {
        let body = error_body(serde_json::json!({
            "status": "error", "category": "VALIDATION_ERROR",
            "message": "Property values were not valid: [{\"isValid\":false,\"message\":\"Property \\\"shoe\\\" does not exist\",\"error\":\"PROPERTY_DOESNT_EXIST\",\"name\":\"shoe\"}]",
            "errors": [{"message": "Property \"shoe\" does not exist", "code": "PROPERTY_DOESNT_EXIST",
                        "context": {"propertyName": ["shoe"]}}]
        }));
        let failure = InputFailure::from_error_body(400, &body);
        assert_eq!(
            failure.message.matches("does not exist").count(),
            1,
            "{}",
            failure.message
        );
        assert_eq!(failure.property_name(), Some("shoe"));
        assert_eq!(failure.code.as_deref(), Some("PROPERTY_DOESNT_EXIST"));
    }

    #[test]
    fn a_message_that_only_quotes_brackets_has_no_causes() {
        assert!(embedded_causes("Property values were not valid: [{oops").is_empty());
        assert!(embedded_causes("no array here").is_empty());
    }

    #[test]
    fn client_failures_and_bare_refusals_say_whose_they_are() {
        let invalid = InputFailure::client(ClientCategory::InvalidInput, "the key is empty");
        assert_eq!(invalid.category, None);
        assert_eq!(invalid.to_string(), "INVALID_INPUT: the key is empty");
        let bare = InputFailure::from_error_body(
            502,
            &error_body(serde_json::json!({"message": "Bad gateway"})),
        );
        assert_eq!(bare.category, None);
        assert_eq!(bare.client, None);
        assert_eq!(bare.to_string(), "HTTP 502: Bad gateway");
    }
}
