//! The edit the regeneration benchmark makes to the OpenAPI document: an optional
//! string property added to (or removed from) a schema. Pure.

use serde_json::{Value, json};

/// Adds an optional string property `name` to `components.schemas.<schema>`.
/// Errors if the schema has no `properties` object or already has `name`.
pub fn add_optional_property(doc: &mut Value, schema: &str, name: &str) -> Result<(), String> {
    let properties = schema_properties(doc, schema)?;
    if properties.contains_key(name) {
        return Err(format!("schema {schema} already has property {name}"));
    }
    properties.insert(
        name.to_owned(),
        json!({"type": "string", "description": "Added by the regeneration benchmark."}),
    );
    Ok(())
}

/// Removes property `name` from `components.schemas.<schema>`; errors if absent.
pub fn remove_property(doc: &mut Value, schema: &str, name: &str) -> Result<(), String> {
    schema_properties(doc, schema)?
        .remove(name)
        .map(drop)
        .ok_or_else(|| format!("schema {schema} has no property {name}"))
}

fn schema_properties<'a>(
    doc: &'a mut Value,
    schema: &str,
) -> Result<&'a mut serde_json::Map<String, Value>, String> {
    doc.pointer_mut(&format!("/components/schemas/{schema}/properties"))
        .and_then(Value::as_object_mut)
        .ok_or_else(|| format!("no properties object in schema {schema}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_then_removes_a_property() {
        let mut doc = json!({"components": {"schemas": {"Contact": {"type": "object",
            "required": ["id"], "properties": {"id": {"type": "string"}}}}}});
        let before = doc.clone();
        add_optional_property(&mut doc, "Contact", "benchProbe").unwrap();
        assert_eq!(
            doc["components"]["schemas"]["Contact"]["properties"]["benchProbe"]["type"],
            "string"
        );
        // Optional: `required` is untouched.
        assert_eq!(
            doc["components"]["schemas"]["Contact"]["required"],
            json!(["id"])
        );
        assert!(add_optional_property(&mut doc, "Contact", "benchProbe").is_err());
        remove_property(&mut doc, "Contact", "benchProbe").unwrap();
        assert_eq!(doc, before);
        assert!(remove_property(&mut doc, "Contact", "benchProbe").is_err());
        assert!(add_optional_property(&mut doc, "Nope", "x").is_err());
    }
}
