//! Why an input failed: HubSpot's refusal in its own words, or the client's
//! reason, told apart.

use std::{collections::BTreeMap, fmt};

use aho_corasick::{
    Anchored, MatchKind,
    automaton::{Automaton, StateID},
    nfa::contiguous::NFA,
};
use foldhash::{HashMap, HashSet};

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
///
/// Linear in the size of the error, however many properties it names: the
/// message is read once for all the details (not once per detail), and each
/// context value is checked against a set of those its key already holds.
fn gather(
    message: &str,
    details: &[types::ErrorDetail],
    context: &BTreeMap<String, Vec<String>>,
) -> (String, Option<String>, BTreeMap<String, Vec<String>>) {
    // The message may already hold a detail, raw or inside its embedded JSON
    // (quotes escaped); appended details count too, as they are appended.
    let escaped: Vec<String> = details.iter().map(|d| escape(&d.message)).collect();
    let mut sightings = Sightings::new(
        details
            .iter()
            .zip(&escaped)
            .flat_map(|(detail, escaped)| [detail.message.as_str(), escaped]),
    );
    sightings.read(message);
    let mut message = message.to_owned();
    let mut code = None;
    let mut additions: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (detail, escaped) in details.iter().zip(&escaped) {
        if !sightings.holds(&detail.message) && !sightings.holds(escaped) {
            for piece in ["; ", &detail.message] {
                message.push_str(piece);
                sightings.read(piece);
            }
        }
        code = code.or_else(|| detail.code.clone());
        for (key, values) in &detail.context {
            additions
                .entry(key)
                .or_default()
                .extend(values.iter().cloned());
        }
    }
    for (embedded_code, name) in embedded_causes(&message) {
        code = code.or(embedded_code);
        additions.entry(PROPERTY_NAME).or_default().extend(name);
    }
    let mut context = context.clone();
    for (key, values) in additions {
        merge(&mut context, key, values);
    }
    (message, code, context)
}

/// A detail's message as it reads inside the JSON HubSpot embeds in a
/// message: quotes and backslashes escaped, the outer quotes trimmed.
fn escape(detail: &str) -> String {
    let escaped = serde_json::to_string(detail).unwrap_or_default();
    escaped.trim_matches('"').to_owned()
}

/// Adds `values`, in order, to those under `key`, each unless `key` already
/// holds it; with no values to add, `key` is left as it is (absent stays absent).
fn merge(context: &mut BTreeMap<String, Vec<String>>, key: &str, values: Vec<String>) {
    if values.is_empty() {
        return;
    }
    let known = context.entry(key.to_owned()).or_default();
    let mut held: HashSet<String> = known.iter().cloned().collect();
    known.extend(
        values
            .into_iter()
            .filter(|value| held.insert(value.clone())),
    );
}

/// Which of a fixed set of needles a text holds, the text read piece by
/// piece as it grows: each byte of the text is read once, however many
/// needles there are. An Aho–Corasick automaton (the `aho-corasick` crate's)
/// walked byte by byte, so that where it is carries over from one piece to
/// the next.
struct Sightings<'a> {
    /// The automaton of the distinct non-empty needles, which reports every
    /// needle ending where it is (`MatchKind::Standard`), and where it is
    /// after the text read so far; `None` when the needles were too many to
    /// build it, and then none but the empty one reads as held.
    walk: Option<(NFA, StateID)>,
    /// Each distinct non-empty needle's pattern in the automaton: its
    /// position in the order the needles were first given.
    patterns: HashMap<&'a str, usize>,
    /// Per pattern, whether the text read so far holds it.
    seen: Vec<bool>,
    /// The match states entered so far. A state reports the needles its
    /// suffixes end with too, so they can be many: they are marked seen on
    /// its first visit only.
    entered: HashSet<StateID>,
}

impl<'a> Sightings<'a> {
    /// Sightings of `needles`, before any text is read.
    fn new(needles: impl IntoIterator<Item = &'a str>) -> Self {
        let mut patterns: HashMap<&str, usize> = HashMap::default();
        let mut distinct = Vec::new();
        // Any text holds the empty needle, so the automaton leaves it out.
        for needle in needles.into_iter().filter(|needle| !needle.is_empty()) {
            patterns.entry(needle).or_insert_with(|| {
                distinct.push(needle);
                distinct.len() - 1
            });
        }
        let walk = NFA::builder()
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build(&distinct)
            .map_err(|error| error.to_string())
            .and_then(|automaton| {
                let start = automaton
                    .start_state(Anchored::No)
                    .map_err(|error| error.to_string())?;
                Ok((automaton, start))
            })
            .inspect_err(|error| {
                tracing::warn!(%error, "no automaton for the details: each is appended");
            })
            .ok();
        Self {
            walk,
            patterns,
            seen: vec![false; distinct.len()],
            entered: HashSet::default(),
        }
    }

    /// Reads the next piece of the text.
    fn read(&mut self, piece: &str) {
        let Some((automaton, at)) = &mut self.walk else {
            return;
        };
        for &byte in piece.as_bytes() {
            *at = automaton.next_state(Anchored::No, *at, byte);
            if automaton.is_match(*at) && self.entered.insert(*at) {
                for index in 0..automaton.match_len(*at) {
                    self.seen[automaton.match_pattern(*at, index).as_usize()] = true;
                }
            }
        }
    }

    /// Whether the text read so far holds `needle`, one of the needles the
    /// sightings were made for (any other string reads as not held).
    fn holds(&self, needle: &str) -> bool {
        needle.is_empty()
            || self
                .patterns
                .get(needle)
                .is_some_and(|&pattern| self.seen[pattern])
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

    /// A refusal of 10,000 unknown properties, each a detail; the message
    /// embeds them all as the fake (and HubSpot) does, or is generic.
    fn wide_refusal(embedded: bool) -> (types::ErrorBody, Vec<String>) {
        let names: Vec<String> = (0..10_000).map(|i| format!("unknown_{i}")).collect();
        let detail = |name: &String| format!("Property \"{name}\" does not exist");
        let message = if embedded {
            let results = names.iter().map(|name| {
                serde_json::json!({"isValid": false, "message": detail(name),
                                   "error": "PROPERTY_DOESNT_EXIST", "name": name})
            });
            format!(
                "Property values were not valid: {}",
                serde_json::Value::Array(results.collect())
            )
        } else {
            "Property values were not valid".to_owned()
        };
        let errors: Vec<_> = names
            .iter()
            .map(|name| {
                serde_json::json!({"message": detail(name), "code": "PROPERTY_DOESNT_EXIST",
                                   "context": {"propertyName": [name]}})
            })
            .collect();
        let body = error_body(serde_json::json!({
            "status": "error", "category": "VALIDATION_ERROR",
            "message": message, "errors": errors
        }));
        (body, names)
    }

    #[test]
    fn a_wide_refusal_names_every_property_once() {
        let (body, names) = wide_refusal(true);
        let failure = InputFailure::from_error_body(400, &body);
        assert_eq!(failure.context[PROPERTY_NAME], names);
        assert_eq!(failure.code.as_deref(), Some("PROPERTY_DOESNT_EXIST"));
        assert_eq!(failure.message, body.message, "every detail is embedded");

        let (body, names) = wide_refusal(false);
        let failure = InputFailure::from_error_body(400, &body);
        assert_eq!(failure.context[PROPERTY_NAME], names);
        let appended: String = names
            .iter()
            .map(|name| format!("; Property \"{name}\" does not exist"))
            .collect();
        assert_eq!(
            failure.message,
            format!("Property values were not valid{appended}")
        );
    }

    #[test]
    fn a_detail_is_appended_unless_the_message_so_far_holds_it() {
        let cases: &[(&str, &[&str], &str)] = &[
            ("Refused", &["1", "1"], "Refused; 1"),
            (
                "Not valid",
                &["Property \"x\" is required", "is required"],
                "Not valid; Property \"x\" is required",
            ),
            // Held across the end of the message and what was appended.
            ("x is", &["required", "is; required"], "x is; required"),
            ("Refused", &[""], "Refused"),
            ("", &[""], ""),
            (
                r#"Not valid: [{"message":"say \"hi\""}]"#,
                &[r#"say "hi""#],
                r#"Not valid: [{"message":"say \"hi\""}]"#,
            ),
            ("Refused", &["1", "2", "1"], "Refused; 1; 2"),
        ];
        for &(message, details, expected) in cases {
            let details: Vec<types::ErrorDetail> = details
                .iter()
                .map(|d| serde_json::from_value(serde_json::json!({"message": d})).unwrap())
                .collect();
            let (gathered, _, _) = gather(message, &details, &BTreeMap::new());
            assert_eq!(gathered, expected, "{message:?} {details:?}");
        }
    }

    #[test]
    fn merged_context_values_are_added_once_and_in_order() {
        let details: Vec<types::ErrorDetail> = serde_json::from_value(serde_json::json!([
            {"message": "m", "context": {"propertyName": ["b", "c", "b"], "ids": []}},
            {"message": "m", "context": {"propertyName": ["a", "d"]}}
        ]))
        .unwrap();
        let context = BTreeMap::from([(
            PROPERTY_NAME.to_owned(),
            vec!["a".to_owned(), "a".to_owned()],
        )]);
        let (_, _, merged) = gather("m", &details, &context);
        assert_eq!(merged[PROPERTY_NAME], ["a", "a", "b", "c", "d"]);
        assert!(
            !merged.contains_key("ids"),
            "a key with no values stays absent"
        );
    }
}
