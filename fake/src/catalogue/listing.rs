//! The catalogue in the shape of HubSpot's properties list (`GET
//! /crm/v3/properties/contacts`): reading a saved answer into property definitions, and
//! the answer the fake serves. Pure.

use serde::Deserialize;
use serde_json::{Value, json};

use super::property::{PropertyDef, PropertyKind};

/// A properties list answer: `{"results": [definition, ...]}`.
#[derive(Deserialize)]
struct Listing {
    results: Vec<Value>,
}

/// The fields of one definition the fake uses; the rest is kept in the raw value.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Definition {
    name: String,
    label: Option<String>,
    #[serde(rename = "type")]
    type_: Option<String>,
    field_type: Option<String>,
    options: Option<Vec<OptionValue>>,
    has_unique_value: Option<bool>,
    calculated: Option<bool>,
    external_options: Option<bool>,
    archived: Option<bool>,
    modification_metadata: Option<Metadata>,
}

#[derive(Deserialize)]
struct OptionValue {
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    read_only_value: Option<bool>,
}

/// The definitions of a properties list answer, in its order; archived ones are left
/// out. `Err` says what is wrong, naming the definition by its position.
pub(crate) fn parse_listing(text: &str) -> Result<Vec<PropertyDef>, String> {
    let listing: Listing = serde_json::from_str(text)
        .map_err(|e| format!("not a properties list ({{\"results\": [...]}}): {e}"))?;
    let mut defs = Vec::with_capacity(listing.results.len());
    for (position, raw) in listing.results.into_iter().enumerate() {
        let definition =
            Definition::deserialize(&raw).map_err(|e| format!("results[{position}]: {e}"))?;
        if definition.archived != Some(true) {
            defs.push(from_definition(definition, raw));
        }
    }
    Ok(defs)
}

/// The property a definition describes; `raw` is what the fake serves for it.
fn from_definition(definition: Definition, raw: Value) -> PropertyDef {
    let options = || {
        definition
            .options
            .unwrap_or_default()
            .into_iter()
            .map(|option| option.value)
            .collect()
    };
    let kind = match (
        definition.type_.as_deref(),
        definition.field_type.as_deref(),
    ) {
        // Owners, pipeline stages: the options live elsewhere and are not listed.
        _ if definition.external_options == Some(true) => PropertyKind::Text,
        (Some("number"), _) => PropertyKind::Number,
        (Some("bool"), _) => PropertyKind::Bool,
        (Some("date"), _) => PropertyKind::Date,
        (Some("datetime"), _) => PropertyKind::Datetime,
        (Some("enumeration"), Some("checkbox")) => PropertyKind::MultiSelect(options()),
        (Some("enumeration"), _) => PropertyKind::Enumeration(options()),
        _ => PropertyKind::Text,
    };
    let read_only = definition
        .modification_metadata
        .and_then(|metadata| metadata.read_only_value)
        .unwrap_or(false);
    let mut def = PropertyDef::new(definition.name, kind);
    if let Some(label) = definition.label {
        def.label = label;
    }
    def.unique = definition.has_unique_value.unwrap_or(false);
    def.read_only = read_only;
    def.calculated = definition.calculated.unwrap_or(false);
    def.definition = Some(raw);
    def
}

/// The definition the fake serves for `def`: a loaded one as it was given, otherwise
/// HubSpot's fields made from the definition (`position` is its `displayOrder`).
pub(crate) fn render(def: &PropertyDef, position: usize) -> Value {
    if let Some(raw) = &def.definition {
        return raw.clone();
    }
    let (type_, field_type) = def.kind.wire_types();
    let options: Vec<Value> = def
        .kind
        .options()
        .iter()
        .enumerate()
        .map(|(order, value)| {
            json!({"label": value, "value": value, "hidden": false, "displayOrder": order})
        })
        .collect();
    json!({
        "name": def.name,
        "label": def.label,
        "type": type_,
        "fieldType": if def.calculated { "calculation_equation" } else { field_type },
        "description": "",
        "groupName": "contactinformation",
        "options": options,
        "displayOrder": position,
        "hasUniqueValue": def.unique,
        "calculated": def.calculated,
        "externalOptions": false,
        "hidden": false,
        "formField": def.is_writable(),
        "hubspotDefined": true,
        "archived": false,
        "modificationMetadata": {
            "archivable": def.is_writable(),
            "readOnlyDefinition": !def.is_writable(),
            "readOnlyValue": def.read_only,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_answer_reads_into_kinds_flags_and_labels() {
        let text = json!({"results": [
            {"name": "employees", "label": "Employees", "type": "number", "fieldType": "number"},
            {"name": "roles", "label": "Roles", "type": "enumeration", "fieldType": "checkbox",
             "options": [{"label": "A", "value": "a", "hidden": false}, {"label": "B", "value": "b"}]},
            {"name": "tier", "type": "enumeration", "fieldType": "radio", "options": [{"value": "gold"}]},
            {"name": "owner", "type": "enumeration", "fieldType": "select", "externalOptions": true, "options": []},
            {"name": "vip", "type": "bool", "fieldType": "booleancheckbox"},
            {"name": "birthday", "type": "date", "fieldType": "date"},
            {"name": "seen_at", "type": "datetime", "fieldType": "date"},
            {"name": "deals", "type": "number", "fieldType": "calculation_equation", "calculated": true},
            {"name": "created", "type": "datetime", "modificationMetadata": {"readOnlyValue": true}},
            {"name": "code", "type": "string", "hasUniqueValue": true, "somethingNew": {"x": 1}},
            {"name": "gone", "type": "string", "archived": true}
        ]})
        .to_string();
        let defs = parse_listing(&text).unwrap();
        let kinds: Vec<(&str, &PropertyKind)> =
            defs.iter().map(|d| (d.name.as_str(), &d.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("employees", &PropertyKind::Number),
                (
                    "roles",
                    &PropertyKind::MultiSelect(vec!["a".into(), "b".into()])
                ),
                ("tier", &PropertyKind::Enumeration(vec!["gold".into()])),
                ("owner", &PropertyKind::Text),
                ("vip", &PropertyKind::Bool),
                ("birthday", &PropertyKind::Date),
                ("seen_at", &PropertyKind::Datetime),
                ("deals", &PropertyKind::Number),
                ("created", &PropertyKind::Datetime),
                ("code", &PropertyKind::Text),
            ]
        );
        assert_eq!(defs[0].label, "Employees");
        assert_eq!(defs[2].label, "tier", "the name when there is no label");
        assert!(defs[7].calculated && !defs[7].read_only);
        assert!(defs[8].read_only && !defs[8].calculated);
        assert!(defs[9].unique);
        assert_eq!(
            render(&defs[9], 0)["somethingNew"],
            json!({"x": 1}),
            "served as given"
        );
    }

    #[test]
    fn bad_files_are_refused_naming_the_definition() {
        for (text, expected) in [
            ("[]", "not a properties list"),
            ("{}", "not a properties list"),
            (
                "{\"results\": [{\"name\": \"a\"}, {\"label\": \"b\"}]}",
                "results[1]: missing field `name`",
            ),
            ("{\"results\": [{\"name\": 5}]}", "results[0]"),
            ("not json", "not a properties list"),
        ] {
            let error = parse_listing(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
        assert_eq!(parse_listing("{\"results\": []}").unwrap(), Vec::new());
    }

    #[test]
    fn rendered_definitions_have_hubspots_fields() {
        let def = PropertyDef::new("roles", PropertyKind::MultiSelect(vec!["a".into()]))
            .label("Roles")
            .unique();
        let shown = render(&def, 3);
        assert_eq!(shown["name"], "roles");
        assert_eq!(shown["label"], "Roles");
        assert_eq!(
            (shown["type"].as_str(), shown["fieldType"].as_str()),
            (Some("enumeration"), Some("checkbox"))
        );
        assert_eq!(shown["options"][0]["value"], "a");
        assert_eq!(shown["hasUniqueValue"], true);
        assert_eq!(shown["displayOrder"], 3);
        assert_eq!(shown["modificationMetadata"]["readOnlyValue"], false);
        let calculated = render(&PropertyDef::new("n", PropertyKind::Number).calculated(), 0);
        assert_eq!(calculated["calculated"], true);
        assert_eq!(calculated["fieldType"], "calculation_equation");
        let read_only = render(&PropertyDef::text("createdate").read_only(), 0);
        assert_eq!(read_only["modificationMetadata"]["readOnlyValue"], true);
        let flag = render(&PropertyDef::new("vip", PropertyKind::Bool), 0);
        assert_eq!(flag["options"][1]["value"], "false");
        let round_trip = parse_listing(&json!({"results": [shown]}).to_string()).unwrap();
        assert_eq!(round_trip[0].kind, def.kind);
        assert!(round_trip[0].unique);
    }
}
