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
            Err(BadValue::Nested(kind)) => {
                problem.get_or_insert_with(|| {
                    format!(
                        "{name:?} is a JSON {kind}; values must be strings, numbers, booleans or null"
                    )
                });
            }
            Err(BadValue::Unpaired) => {
                problem.get_or_insert_with(|| {
                    let escape = unpaired_surrogate(raw.get())
                        .map_or(String::new(), |escape| format!(" ({escape})"));
                    format!(
                        "the value of {name:?} holds an unpaired UTF-16 surrogate escape{escape}, \
                         which is not valid Unicode"
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

/// Why a JSON value cannot be sent.
enum BadValue {
    /// It is a JSON array or object (named).
    Nested(&'static str),
    /// It is a string whose `\uXXXX` escapes hold half a UTF-16 surrogate
    /// pair without the other half: no Unicode text. The only string a
    /// [`RawValue`] lets through that does not decode.
    Unpaired,
}

/// One scalar as HubSpot's string, or why it cannot be sent.
fn value(raw: &RawValue) -> Result<PropertyValue, BadValue> {
    let text = raw.get();
    match kind(text) {
        "string" => serde_json::from_str::<String>(text)
            .map(PropertyValue::from)
            .map_err(|_| BadValue::Unpaired),
        "boolean" => Ok(PropertyValue::from(text == "true")),
        "null" => Ok(PropertyValue::clear()),
        "number" => Ok(PropertyValue::from(text)),
        nested => Err(BadValue::Nested(nested)),
    }
}

/// The first `\uXXXX` escape in `json` (a JSON string as written) that is
/// half a UTF-16 surrogate pair without the other half.
fn unpaired_surrogate(json: &str) -> Option<&str> {
    let escape = |at: usize| json.get(at..at + 6);
    let unit = |at: usize| {
        escape(at)
            .and_then(|text| text.strip_prefix("\\u"))
            .and_then(|hex| u16::from_str_radix(hex, 16).ok())
    };
    // Where an escaped high surrogate waits for its low half.
    let mut high: Option<usize> = None;
    let mut at = 0;
    while at < json.len() {
        match (high, unit(at)) {
            (Some(_), Some(0xDC00..=0xDFFF)) => high = None,
            (Some(start), _) => return escape(start),
            (None, Some(0xDC00..=0xDFFF)) => return escape(at),
            (None, Some(0xD800..=0xDBFF)) => high = Some(at),
            (None, _) => {}
        }
        at += match (unit(at), json.as_bytes()[at]) {
            (Some(_), _) => 6,
            (None, b'\\') => 2,
            (None, _) => 1,
        };
    }
    high.and_then(escape)
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

    #[test]
    fn an_unpaired_surrogate_escape_is_named() {
        let lone = error(br#"{"email":"a@b.co","firstname":"x\ud800y"}"#);
        assert_eq!(
            lone.message,
            "the value of \"firstname\" holds an unpaired UTF-16 surrogate escape (\\ud800), \
             which is not valid Unicode"
        );
        assert_eq!(lone.fields.len(), 1, "the key is still known");
        let pair = parse_line(br#"{"name":"\ud83d\ude00"}"#, "UTF-8").unwrap();
        assert_eq!(encoded(&pair), vec![("name", Some("\u{1f600}"))]);
    }

    #[test]
    fn the_unpaired_half_is_found_among_escapes() {
        let cases: [(&str, Option<&str>); 7] = [
            (r#""\ud83d\ude00""#, None),
            (r#""\u00e9\n""#, None),
            (r#""a\ud800""#, Some(r"\ud800")),
            (r#""\uDC00x""#, Some(r"\uDC00")),
            (r#""\ud800\ud800\udc00""#, Some(r"\ud800")),
            (r#""\ud83d\ude00\ude00""#, Some(r"\ude00")),
            (r#""\\ud800""#, None),
        ];
        for (json, expected) in cases {
            assert_eq!(unpaired_surrogate(json), expected, "{json}");
        }
    }
}
