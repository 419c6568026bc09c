//! One JSONL line -> a row's fields. Pure.
//!
//! Each line is one flat JSON object. Strings are sent as they are; numbers
//! are sent exactly as written (read from their raw text, so
//! `123456789012345678901234567890` is not rounded through a float); booleans
//! become `true` / `false`; `null` clears the property. Nested objects and
//! arrays, and a key given twice, make the row bad.

use std::{borrow::Cow, collections::HashSet, fmt};

use hubspot_contacts_batch::PropertyValue;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::row::{Fields, RowError};

/// The fields of one non-blank line, decoded to UTF-8 from `encoding` (named
/// in messages).
pub fn parse_line(line: &[u8], encoding: &str) -> Result<Fields, RowError> {
    // Invalid bytes are read through U+FFFD only to find the field holding
    // them; the row then fails, so nothing replaced is ever sent.
    let (text, invalid_at) = match std::str::from_utf8(line) {
        Ok(text) => (Cow::Borrowed(text), None),
        Err(error) => (String::from_utf8_lossy(line), Some(error.valid_up_to())),
    };
    let Entries(entries) = match serde_json::from_str::<Entries<'_>>(&text) {
        Ok(entries) => entries,
        Err(error) => return Err(shape_error(&text, &error)),
    };
    // Which value holds the first invalid byte; none means a key holds it.
    let base = text.as_ptr() as usize;
    let invalid_value = invalid_at.map(|at| {
        entries.iter().position(|(_, raw)| {
            let start = (raw.get().as_ptr() as usize).saturating_sub(base);
            (start..start + raw.get().len()).contains(&at)
        })
    });
    let mut problem = match (invalid_value, invalid_at) {
        (Some(None), Some(at)) => Some(format!(
            "a key is not valid {encoding} (at byte {})",
            at + 1
        )),
        _ => None,
    };
    let mut fields = Vec::with_capacity(entries.len());
    let mut seen = HashSet::with_capacity(entries.len());
    for (index, (name, raw)) in entries.into_iter().enumerate() {
        if invalid_value == Some(Some(index)) {
            problem.get_or_insert_with(|| format!("the value of {name:?} is not valid {encoding}"));
            continue;
        }
        if !seen.insert(name.clone()) {
            problem.get_or_insert_with(|| format!("the key {name:?} is given more than once"));
            continue;
        }
        match value(raw) {
            Ok(value) => fields.push((name, value)),
            Err(kind) => {
                problem.get_or_insert_with(|| {
                    format!(
                        "{name:?} is a JSON {kind}; values must be strings, numbers, booleans or null"
                    )
                });
            }
        }
    }
    match problem {
        Some(message) => Err(RowError::new(message).with_fields(fields)),
        None => Ok(fields),
    }
}

/// One scalar as HubSpot's string, or the kind of JSON value it is instead.
fn value(raw: &RawValue) -> Result<PropertyValue, &'static str> {
    let text = raw.get();
    match kind(text) {
        "string" => serde_json::from_str::<String>(text)
            .map(PropertyValue::from)
            .map_err(|_| "string"),
        "boolean" => Ok(PropertyValue::from(text == "true")),
        "null" => Ok(PropertyValue::clear()),
        "number" => Ok(PropertyValue::from(text)),
        nested => Err(nested),
    }
}

/// The kind of a valid JSON value, from its first character.
fn kind(json: &str) -> &'static str {
    match json.trim_start().as_bytes().first() {
        Some(b'"') => "string",
        Some(b't' | b'f') => "boolean",
        Some(b'n') => "null",
        Some(b'[') => "array",
        Some(b'{') => "object",
        _ => "number",
    }
}

/// Why a line that is not one JSON object fails.
fn shape_error(text: &str, error: &serde_json::Error) -> RowError {
    match serde_json::from_str::<&RawValue>(text) {
        Ok(other) => RowError::new(format!("a JSON {}, not an object", kind(other.get()))),
        Err(_) => RowError::new(format!("not valid JSON: {error}")),
    }
}

/// A JSON object's entries in file order, repeated keys included, each value
/// as its raw text.
struct Entries<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;

        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }

        deserializer.deserialize_map(EntriesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(fields: &Fields) -> Vec<(&str, Option<&str>)> {
        fields
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect()
    }

    fn error(line: &[u8]) -> RowError {
        parse_line(line, "UTF-8").unwrap_err()
    }

    #[test]
    fn scalars_become_hubspot_strings_and_numbers_keep_their_text() {
        let fields = parse_line(
            br#"{"email":"a\u00e9@b.co","age":36,"big":123456789012345678901234567890,"score":1.50,"exp":-2E3,"vip":true,"off":false,"phone":null}"#,
            "UTF-8",
        )
        .unwrap();
        assert_eq!(
            encoded(&fields),
            vec![
                ("email", Some("aé@b.co")),
                ("age", Some("36")),
                ("big", Some("123456789012345678901234567890")),
                ("score", Some("1.50")),
                ("exp", Some("-2E3")),
                ("vip", Some("true")),
                ("off", Some("false")),
                ("phone", Some("")),
            ]
        );
        let spaced = parse_line(b"{ \"zip\" : 75001 , \"ok\" : true }", "UTF-8").unwrap();
        assert_eq!(
            encoded(&spaced),
            vec![("zip", Some("75001")), ("ok", Some("true"))]
        );
    }

    #[test]
    fn wrong_shapes_are_row_errors() {
        let cases: [(&[u8], &str); 7] = [
            (b"[1,2]", "a JSON array, not an object"),
            (b"\"email\"", "a JSON string, not an object"),
            (b"7", "a JSON number, not an object"),
            (b"{\"email\":", "not valid JSON"),
            (b"{\"a\":1} x", "not valid JSON"),
            (br#"{"tags":["a"]}"#, "\"tags\" is a JSON array"),
            (
                br#"{"address":{"city":"x"}}"#,
                "\"address\" is a JSON object",
            ),
        ];
        for (line, expected) in cases {
            let error = error(line);
            assert!(error.message.contains(expected), "{}", error.message);
        }
        let keeps_key = error(br#"{"email":"a@b.co","tags":[]}"#);
        assert_eq!(keeps_key.fields.len(), 1);
    }

    #[test]
    fn a_key_given_twice_fails_the_row_naming_it() {
        let twice = error(br#"{"email":"a@b.co","city":"Oslo","city":"Rome"}"#);
        assert_eq!(twice.message, "the key \"city\" is given more than once");
        assert_eq!(
            encoded(&twice.fields),
            vec![("email", Some("a@b.co")), ("city", Some("Oslo"))]
        );
    }

    #[test]
    fn invalid_bytes_name_their_field() {
        let in_value =
            parse_line(b"{\"email\":\"a@b.co\",\"city\":\"Z\xffrich\"}", "UTF-16LE").unwrap_err();
        assert_eq!(
            in_value.message,
            "the value of \"city\" is not valid UTF-16LE"
        );
        assert_eq!(in_value.fields.len(), 1, "the key is still known");
        let in_key = error(b"{\"email\":\"a@b.co\",\"c\xffty\":\"Oslo\"}");
        assert_eq!(in_key.message, "a key is not valid UTF-8 (at byte 21)");
        let outside = error(b"\xff{}");
        assert!(
            outside.message.contains("not valid JSON"),
            "{}",
            outside.message
        );
    }
}
