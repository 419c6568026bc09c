//! One JSONL line -> a row's fields. Pure.
//!
//! Each line is one flat JSON object. Strings are sent as they are; numbers
//! and booleans become HubSpot's string encodings through the SDK's
//! [`PropertyValue`]; `null` clears the property. Nested objects and arrays
//! make the row bad.

use hubspot_contacts_batch::PropertyValue;
use serde_json::Value;

use crate::row::{Fields, RowError, is_property_name};

/// The fields of one non-blank line.
pub fn parse_line(line: &[u8]) -> Result<Fields, RowError> {
    let text = std::str::from_utf8(line).map_err(|error| {
        RowError::new(format!(
            "not valid UTF-8 (at byte {})",
            error.valid_up_to() + 1
        ))
    })?;
    let object = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => object,
        Ok(other) => {
            return Err(RowError::new(format!(
                "a JSON {}, not an object",
                kind(&other)
            )));
        }
        Err(error) => return Err(RowError::new(format!("not valid JSON: {error}"))),
    };
    let mut fields = Vec::with_capacity(object.len());
    let mut problem = None;
    for (name, value) in object {
        if !is_property_name(&name) {
            problem.get_or_insert_with(|| format!("{name:?} is not a property name"));
            continue;
        }
        let value = match value {
            Value::String(text) => PropertyValue::from(text),
            Value::Bool(flag) => PropertyValue::from(flag),
            Value::Null => PropertyValue::clear(),
            Value::Number(number) => {
                if let Some(integer) = number.as_i64() {
                    PropertyValue::from(integer)
                } else if let Some(integer) = number.as_u64() {
                    PropertyValue::from(integer)
                } else {
                    // Always present without serde_json's arbitrary precision.
                    PropertyValue::from(number.as_f64().unwrap_or(f64::NAN))
                }
            }
            nested @ (Value::Array(_) | Value::Object(_)) => {
                problem.get_or_insert_with(|| {
                    format!(
                        "{name:?} is a JSON {}; values must be strings, numbers, booleans or null",
                        kind(&nested)
                    )
                });
                continue;
            }
        };
        fields.push((name, value));
    }
    match problem {
        Some(message) => Err(RowError::new(message).with_fields(fields)),
        None => Ok(fields),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(fields: &Fields) -> Vec<(String, Option<String>)> {
        fields
            .iter()
            .map(|(name, value)| (name.clone(), value.as_str().map(str::to_owned)))
            .collect()
    }

    #[test]
    fn scalars_become_hubspot_strings() {
        let fields = parse_line(
            br#"{"email":"a@b.co","age":36,"big":18446744073709551615,"score":1.5,"vip":true,"phone":null}"#,
        )
        .unwrap();
        let some = |s: &str| Some(s.to_owned());
        assert_eq!(
            encoded(&fields),
            vec![
                ("age".to_owned(), some("36")),
                ("big".to_owned(), some("18446744073709551615")),
                ("email".to_owned(), some("a@b.co")),
                ("phone".to_owned(), some("")),
                ("score".to_owned(), some("1.5")),
                ("vip".to_owned(), some("true")),
            ]
        );
    }

    #[test]
    fn wrong_shapes_are_row_errors() {
        let cases: [(&[u8], &str); 6] = [
            (b"[1,2]", "a JSON array, not an object"),
            (b"{\"email\":", "not valid JSON"),
            (b"{\"a\":\"\xff\"}", "not valid UTF-8"),
            (br#"{"tags":["a"]}"#, "\"tags\" is a JSON array"),
            (
                br#"{"address":{"city":"x"}}"#,
                "\"address\" is a JSON object",
            ),
            (br#"{"first name":"x"}"#, "not a property name"),
        ];
        for (line, expected) in cases {
            let error = parse_line(line).unwrap_err();
            assert!(error.message.contains(expected), "{}", error.message);
        }
        let keeps_key = parse_line(br#"{"email":"a@b.co","tags":[]}"#).unwrap_err();
        assert_eq!(keeps_key.fields.len(), 1);
    }
}
