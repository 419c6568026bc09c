//! Preflight: the file's columns and values checked against the portal's
//! contact properties before anything is written. Pure: the catalogue is
//! fetched by [`crate::run`], once.
//!
//! A column maps to a property through `--map COLUMN=PROPERTY`, else by the
//! property's internal name in any case or by its label (`First Name` is
//! `firstname`). A column that maps to nothing, to a read-only or calculated
//! property, or to several properties stops the run before any write; a value
//! the property's type refuses fails its row alone, with HubSpot's code. A
//! key property that cannot find contacts ([`key_property_problem`]) stops
//! the run too.

use std::collections::HashMap;

use hubspot_contacts_batch::{Catalogue, catalogue::HeaderError};

use crate::row::{Fields, RowError, is_property_name};

/// JSONL keys resolved at most, remembered for the next rows.
const MAX_REMEMBERED_KEYS: usize = 1024;

/// How columns become properties and which values pass.
#[derive(Clone, Debug, Default)]
pub struct Preflight {
    /// The portal's properties; `None` with `--no-preflight` (or for
    /// commands that write no properties).
    catalogue: Option<Catalogue>,
    /// `--map`: column (as written) -> property.
    map: Vec<(String, String)>,
    /// A column that holds record ids, not a property (`update --id-column`).
    ids: Option<String>,
    /// Columns besides the key are ignored (`read`, `archive`), so any
    /// header text passes.
    keys_only: bool,
}

impl Preflight {
    /// Checks against `catalogue` (if any), with the `--map` pairs, leaving
    /// the record-id column `ids` alone.
    pub fn new(
        catalogue: Option<Catalogue>,
        map: Vec<(String, String)>,
        ids: Option<String>,
    ) -> Self {
        Self {
            catalogue,
            map,
            ids,
            keys_only: false,
        }
    }

    /// For commands that send only each row's key: other columns are ignored.
    pub fn keys_only(ids: Option<String>) -> Self {
        Self {
            ids,
            keys_only: true,
            ..Self::default()
        }
    }

    /// Whether JSONL keys go through [`Preflight::property`]: always, but
    /// for commands that send only each row's key.
    pub fn renames_keys(&self) -> bool {
        !self.keys_only
    }

    /// The property a column (or JSONL key) means, for writes.
    pub fn property(&self, column: &str) -> Result<String, String> {
        if self.keys_only || self.ids.as_deref() == Some(column) {
            return Ok(column.to_owned());
        }
        let named = self.mapped(column)?;
        match (&self.catalogue, named) {
            (Some(catalogue), Some(to)) => match catalogue.resolve_writable(to) {
                Ok(property) => Ok(property.name.clone()),
                Err(error) => Err(format!("--map {column}={to}: {error}")),
            },
            (Some(catalogue), None) => catalogue
                .resolve_writable(column)
                .map(|property| property.name.clone())
                .map_err(|error| describe(&error)),
            (None, Some(to)) => Ok(to.to_owned()),
            (None, None) if is_property_name(column) => Ok(column.to_owned()),
            (None, None) => Err(format!(
                "column {column:?} is not a property name (HubSpot's internal names are \
                 letters, digits and _, such as firstname); map it with --map \
                 {column:?}=PROPERTY, or let the preflight match it to a property's label"
            )),
        }
    }

    /// The property `--map` sends `column` to, if any; a column mapped to
    /// two properties is refused, naming both.
    fn mapped(&self, column: &str) -> Result<Option<&str>, String> {
        let mut to = self
            .map
            .iter()
            .filter(|(from, _)| from == column)
            .map(|(_, to)| to.as_str());
        let first = to.next();
        match (first, to.find(|&other| Some(other) != first)) {
            (Some(first), Some(other)) => Err(format!(
                "--map {column}={first} and --map {column}={other} map the column {column:?} \
                 twice; a column goes to one property: keep one"
            )),
            _ => Ok(first),
        }
    }

    /// Maps every column of a header (`None` for an empty header text),
    /// listing every problem at once: a column that maps to nothing, to a
    /// read-only property or to several, a column `--map` sends to two
    /// properties, and two columns mapping to one property. `key` is the key column, already found, kept as it is.
    pub fn map_header(
        &self,
        texts: &[&str],
        key: Option<(usize, &str)>,
    ) -> Result<Vec<Option<String>>, String> {
        let mut mapped = Vec::with_capacity(texts.len());
        let mut problems = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (at, text) in texts.iter().enumerate() {
            let property = match key {
                Some((key_at, name)) if key_at == at => Some(name.to_owned()),
                _ if text.is_empty() => None,
                _ => match self.property(text) {
                    Ok(property) => Some(property),
                    Err(problem) => {
                        problems.push(problem);
                        None
                    }
                },
            };
            if let Some(property) = &property
                && let Some(first) = seen.insert(property.clone(), at)
            {
                problems.push(format!(
                    "columns {:?} and {:?} both map to the property {property}; keep one or \
                     --map one elsewhere",
                    texts[first], text
                ));
            }
            mapped.push(property);
        }
        for (from, to) in &self.map {
            match texts.iter().position(|text| text == from) {
                None => problems.push(format!(
                    "--map {from}={to}: the header has no column {from:?}"
                )),
                Some(at) => {
                    if let Some((key_at, name)) = key
                        && key_at == at
                        && to != name
                    {
                        problems.push(format!(
                            "--map {from}={to}: {from:?} is the key column, which holds {name}"
                        ));
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(mapped)
        } else {
            Err(problems.join("\n"))
        }
    }

    /// Checks each value of a row against its property's type; the first
    /// refusal fails the row, naming the property and HubSpot's code.
    pub fn check(&self, fields: &Fields) -> Result<(), RowError> {
        let Some(catalogue) = &self.catalogue else {
            return Ok(());
        };
        for (name, value) in fields {
            if self.ids.as_deref() == Some(name.as_str()) {
                continue;
            }
            let Some(value) = value.as_str() else {
                continue;
            };
            if let Err(error) = catalogue.check(name, value) {
                return Err(RowError::new(format!("property {name}: {error}"))
                    .with_code(error.code.as_str())
                    .with_fields(fields.clone()));
            }
        }
        Ok(())
    }
}

/// A header problem in one line, naming the column and what is near.
fn describe(error: &HeaderError) -> String {
    match error {
        HeaderError::Unknown { .. } => {
            format!("{error}; rename the column, or map it with --map COLUMN=PROPERTY")
        }
        _ => error.to_string(),
    }
}

/// JSONL keys renamed to their properties, remembering each key's answer for
/// the next rows (up to [`MAX_REMEMBERED_KEYS`] keys).
#[derive(Debug, Default)]
pub struct KeyNames(HashMap<String, Result<String, String>>);

impl KeyNames {
    /// The row with its keys renamed; a key that maps to nothing, or to the
    /// property of an earlier key, fails it.
    pub fn rename(&mut self, preflight: &Preflight, fields: Fields) -> Result<Fields, RowError> {
        let mut renamed: Fields = Vec::with_capacity(fields.len());
        let mut keys = Vec::with_capacity(fields.len());
        for (key, value) in fields {
            let property = match self.0.get(&key) {
                Some(known) => known.clone(),
                None => {
                    let found = preflight.property(&key);
                    if self.0.len() < MAX_REMEMBERED_KEYS {
                        self.0.insert(key.clone(), found.clone());
                    }
                    found
                }
            };
            let property = property.and_then(|property| {
                match renamed.iter().position(|(name, _)| *name == property) {
                    Some(at) => Err(format!(
                        "keys {:?} and {key:?} both map to the property {property}; keep one or \
                         --map one elsewhere",
                        keys[at]
                    )),
                    None => Ok(property),
                }
            });
            match property {
                Ok(property) => {
                    renamed.push((property, value));
                    keys.push(key);
                }
                Err(problem) => return Err(RowError::new(problem).with_fields(renamed)),
            }
        }
        Ok(renamed)
    }
}

/// Parses a `--map` value: `COLUMN=PROPERTY`.
pub fn parse_map(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((column, property)) if !column.trim().is_empty() && !property.trim().is_empty() => {
            Ok((column.trim().to_owned(), property.trim().to_owned()))
        }
        _ => Err(format!("{text:?} is not COLUMN=PROPERTY")),
    }
}

/// Why the key property `name` (`--id-property`) cannot find contacts, if
/// it cannot: HubSpot finds them by `email` or by a property with unique
/// values, named exactly (names are case-sensitive). Pure.
pub fn key_property_problem(catalogue: &Catalogue, name: &str) -> Option<String> {
    let unique = || {
        let names: Vec<&str> = catalogue
            .iter()
            .filter(|property| property.unique && property.name != "email")
            .map(|property| property.name.as_str())
            .take(10)
            .collect();
        if names.is_empty() {
            "; this portal has none but email".to_owned()
        } else {
            format!("; this portal's: email, {}", names.join(", "))
        }
    };
    if name == "email" {
        return None;
    }
    match catalogue.get(name) {
        Some(property) if property.unique => None,
        Some(_) => Some(format!(
            "--id-property {name}: HubSpot finds contacts only by email or by a property with \
             unique values, and {name} is not one{}",
            unique()
        )),
        None => match catalogue
            .iter()
            .find(|property| property.name.eq_ignore_ascii_case(name))
        {
            Some(property) => Some(format!(
                "--id-property {name}: no property is named that (names are case-sensitive); \
                 did you mean {}?",
                property.name
            )),
            None => Some(format!(
                "--id-property {name}: the portal has no such property{}",
                unique()
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use hubspot_contacts_batch::types;

    use super::*;

    fn catalogue() -> Catalogue {
        let list: types::PropertyList = serde_json::from_str(
            r#"{"results": [
                {"name": "email", "label": "Email", "type": "string", "fieldType": "text", "hasUniqueValue": true},
                {"name": "firstname", "label": "First Name", "type": "string", "fieldType": "text"},
                {"name": "employees", "label": "Employees", "type": "number", "fieldType": "number"},
                {"name": "num_deals", "label": "Deals", "type": "number", "fieldType": "number", "calculated": true},
                {"name": "mobilephone", "label": "Mobile Phone Number", "type": "string", "fieldType": "text"},
                {"name": "cell_phone", "label": "Mobile Phone Number", "type": "string", "fieldType": "text"}
            ]}"#,
        )
        .unwrap();
        Catalogue::from(list)
    }

    #[test]
    fn a_key_property_must_find_contacts_by_its_exact_name() {
        let catalogue = catalogue();
        assert_eq!(key_property_problem(&catalogue, "email"), None);
        let not_unique = key_property_problem(&catalogue, "firstname").unwrap();
        assert!(not_unique.contains("firstname is not one"), "{not_unique}");
        let case = key_property_problem(&catalogue, "EMAIL").unwrap();
        assert!(case.contains("did you mean email?"), "{case}");
        let unknown = key_property_problem(&catalogue, "nothing").unwrap();
        assert!(unknown.contains("no such property"), "{unknown}");
        let list: types::PropertyList = serde_json::from_str(
            r#"{"results": [{"name": "code", "label": "Code", "type": "string", "fieldType": "text", "hasUniqueValue": true}]}"#,
        )
        .unwrap();
        let with_code = Catalogue::from(list);
        assert_eq!(key_property_problem(&with_code, "code"), None);
        let listed = key_property_problem(&with_code, "Code").unwrap();
        assert!(listed.contains("did you mean code?"), "{listed}");
        let none = key_property_problem(&with_code, "x").unwrap();
        assert!(none.contains("this portal's: email, code"), "{none}");
    }

    fn preflight(map: &[(&str, &str)]) -> Preflight {
        Preflight::new(
            Some(catalogue()),
            map.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            None,
        )
    }

    #[test]
    fn headers_map_by_name_in_any_case_by_label_or_by_map() {
        let mapped = preflight(&[("Staff", "employees")])
            .map_header(&["Email", "First Name", "Staff", ""], Some((0, "email")))
            .unwrap();
        assert_eq!(
            mapped,
            [
                Some("email".to_owned()),
                Some("firstname".to_owned()),
                Some("employees".to_owned()),
                None
            ]
        );
        assert_eq!(preflight(&[]).property("FIRSTNAME").unwrap(), "firstname");
    }

    #[test]
    fn every_header_problem_is_listed_with_what_is_near() {
        let error = preflight(&[])
            .map_header(
                &[
                    "email",
                    "Firstnam",
                    "Deals",
                    "Mobile Phone Number",
                    "firstname",
                    "First Name",
                ],
                None,
            )
            .unwrap_err();
        let lines: Vec<&str> = error.lines().collect();
        assert_eq!(lines.len(), 4, "{error}");
        assert!(
            lines[0].contains("\"Firstnam\"") && lines[0].contains("firstname"),
            "{error}"
        );
        assert!(lines[1].contains("\"Deals\""), "{error}");
        assert!(
            lines[2].contains("mobilephone") && lines[2].contains("cell_phone"),
            "{error}"
        );
        assert!(
            lines[3].contains("both map to the property firstname"),
            "{error}"
        );
        let mapped_badly = preflight(&[("x", "nonexistent")])
            .property("x")
            .unwrap_err();
        assert!(
            mapped_badly.starts_with("--map x=nonexistent"),
            "{mapped_badly}"
        );
    }

    #[test]
    fn a_column_mapped_to_two_properties_is_refused_naming_both() {
        for catalogue in [Some(catalogue()), None] {
            let map = vec![
                ("fn".to_owned(), "firstname".to_owned()),
                ("fn".to_owned(), "employees".to_owned()),
            ];
            let twice = Preflight::new(catalogue.clone(), map, None);
            let error = twice
                .map_header(&["email", "fn"], Some((0, "email")))
                .unwrap_err();
            assert!(
                error.starts_with("--map fn=firstname and --map fn=employees")
                    && error.contains("\"fn\""),
                "{error}"
            );
            assert_eq!(twice.property("fn"), Err(error), "a JSONL key likewise");
            let again = vec![("fn".to_owned(), "firstname".to_owned()); 2];
            assert_eq!(
                Preflight::new(catalogue, again, None).property("fn"),
                Ok("firstname".to_owned()),
                "the same pair twice says one thing"
            );
        }
        let one_property = preflight(&[("fn", "firstname"), ("x", "firstname")])
            .map_header(&["email", "fn", "x"], Some((0, "email")))
            .unwrap_err();
        assert!(
            one_property.contains("columns \"fn\" and \"x\" both map to the property firstname"),
            "{one_property}"
        );
    }

    #[test]
    fn without_a_catalogue_names_pass_and_display_headers_need_a_map() {
        let plain = Preflight::new(None, vec![("First Name".into(), "firstname".into())], None);
        assert_eq!(plain.property("firstname").unwrap(), "firstname");
        assert_eq!(plain.property("First Name").unwrap(), "firstname");
        assert!(plain.property("Last Name").unwrap_err().contains("--map"));
        let untyped: Fields = vec![("employees".into(), "many".into())];
        assert!(
            plain.check(&untyped).is_ok(),
            "no catalogue, no value check"
        );
        let read = Preflight::keys_only(Some("id".into()));
        assert_eq!(read.property("First Name").unwrap(), "First Name");
        assert!(!read.renames_keys());
    }

    #[test]
    fn a_bad_value_fails_its_row_with_hubspots_code() {
        let fields: Fields = vec![
            ("email".into(), "ada@example.com".into()),
            ("employees".into(), "many".into()),
        ];
        let error = preflight(&[]).check(&fields).unwrap_err();
        assert_eq!(error.code.as_deref(), Some("INVALID_INTEGER"));
        assert!(
            error.message.contains("property employees"),
            "{}",
            error.message
        );
        let good: Fields = vec![("employees".into(), "12".into())];
        assert!(preflight(&[]).check(&good).is_ok());
        let ids = Preflight::new(Some(catalogue()), vec![], Some("id".into()));
        assert!(ids.check(&vec![("id".into(), "12".into())]).is_ok());
    }

    #[test]
    fn jsonl_keys_are_renamed_and_an_unknown_one_fails_the_row() {
        let mut names = KeyNames::default();
        let renamed = names
            .rename(&preflight(&[]), vec![("Email".into(), "a@b.co".into())])
            .unwrap();
        assert_eq!(renamed[0].0, "email");
        let error = names
            .rename(&preflight(&[]), vec![("Nope".into(), "x".into())])
            .unwrap_err();
        assert!(error.message.contains("\"Nope\""), "{}", error.message);
    }

    #[test]
    fn jsonl_keys_that_map_to_one_property_fail_the_row_naming_both() {
        let error = KeyNames::default()
            .rename(
                &preflight(&[("fn", "firstname")]),
                vec![
                    ("email".into(), "a@b.co".into()),
                    ("First Name".into(), "A".into()),
                    ("fn".into(), "B".into()),
                ],
            )
            .unwrap_err();
        assert_eq!(
            error.message,
            "keys \"First Name\" and \"fn\" both map to the property firstname; keep one or \
             --map one elsewhere"
        );
    }

    #[test]
    fn map_values_are_column_equals_property() {
        assert_eq!(
            parse_map("First Name=firstname"),
            Ok(("First Name".into(), "firstname".into()))
        );
        for bad in ["firstname", "=x", "x=", ""] {
            assert!(parse_map(bad).is_err(), "{bad}");
        }
    }
}
