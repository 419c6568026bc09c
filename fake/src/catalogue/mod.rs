//! The contact property catalogue: the properties a fake knows (by default
//! [`default_properties`], or a portal's own, loaded from a saved answer of HubSpot's
//! properties list), per-value validation by type with HubSpot's codes, the admin-required
//! properties of creates, and the catalogue the properties endpoint serves. Pure.

mod defaults;
mod listing;
mod property;
mod values;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::util::FastMap;

pub use defaults::default_properties;
pub(crate) use listing::parse_listing;
pub use property::{PropertyDef, PropertyKind};

/// The properties the fake maintains itself: always present and read-only, whatever a
/// loaded catalogue says.
const SYSTEM_PROPERTIES: [&str; 3] = ["hs_object_id", "createdate", "lastmodifieddate"];

/// The one property whose values are email addresses, unique and compared
/// case-insensitively, whatever a loaded catalogue says (HubSpot special-cases it too).
const EMAIL: &str = "email";

/// Property names returned by v3 reads that name no `properties`.
pub(crate) const DEFAULT_READ_PROPERTIES: [&str; 6] = [
    "createdate",
    "email",
    "firstname",
    "hs_object_id",
    "lastmodifieddate",
    "lastname",
];

/// Why one property value was refused; the codes are HubSpot's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PropertyError {
    pub(crate) name: String,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

/// The properties known to one fake, in catalogue order and by name, and the ones an
/// account admin made required on create.
#[derive(Debug, Clone)]
pub(crate) struct Catalogue {
    defs: Vec<PropertyDef>,
    by_name: FastMap<String, usize>,
    required: Vec<String>,
}

impl Catalogue {
    /// A catalogue of `defs`; a name given twice keeps its first position and its last
    /// definition. `email` is made an email property and unique, and the
    /// [system properties](SYSTEM_PROPERTIES) are added if missing and made read-only: the
    /// store relies on them.
    pub(crate) fn new(defs: impl IntoIterator<Item = PropertyDef>) -> Self {
        let mut catalogue = Self {
            defs: Vec::new(),
            by_name: FastMap::default(),
            required: Vec::new(),
        };
        for def in defs {
            catalogue.insert(def);
        }
        for name in SYSTEM_PROPERTIES {
            if catalogue.get(name).is_none() {
                let def = PropertyDef::text(name);
                let def = if name == "hs_object_id" {
                    def.unique()
                } else {
                    def
                };
                catalogue.insert(def);
            }
        }
        for def in &mut catalogue.defs {
            if def.name == EMAIL {
                def.kind = PropertyKind::Email;
                def.unique = true;
            }
            if SYSTEM_PROPERTIES.contains(&def.name.as_str()) {
                def.read_only = true;
            }
        }
        catalogue
    }

    fn insert(&mut self, def: PropertyDef) {
        match self.by_name.get(&def.name) {
            Some(&position) => self.defs[position] = def,
            None => {
                self.by_name.insert(def.name.clone(), self.defs.len());
                self.defs.push(def);
            }
        }
    }

    /// Makes these properties required on create (HubSpot's "required fields on the Create
    /// Record form"). Each must be a writable property of the catalogue, or a create could
    /// never succeed; the first that is not comes back as the error.
    pub(crate) fn with_required(
        mut self,
        names: impl IntoIterator<Item = String>,
    ) -> Result<Self, String> {
        for name in names {
            if self.get(&name).is_none_or(|d| !d.is_writable()) {
                return Err(name);
            }
            if !self.required.contains(&name) {
                self.required.push(name);
            }
        }
        Ok(self)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&PropertyDef> {
        self.by_name
            .get(name)
            .and_then(|&position| self.defs.get(position))
    }

    /// Names of the unique properties whose values the store must index (not `hs_object_id`,
    /// which is the record id itself).
    pub(crate) fn indexed_unique(&self) -> impl Iterator<Item = &PropertyDef> {
        self.defs
            .iter()
            .filter(|d| d.unique && d.name != "hs_object_id")
    }

    /// The answer of the properties list: every property as HubSpot describes it, or none
    /// when asked for archived ones (the fake archives no properties).
    pub(crate) fn listing(&self, archived: bool) -> Value {
        let results: Vec<Value> = if archived {
            Vec::new()
        } else {
            self.defs
                .iter()
                .enumerate()
                .map(|(position, def)| listing::render(def, position))
                .collect()
        };
        json!({ "results": results })
    }

    /// Checks one client-supplied value: the property exists, is writable (neither
    /// read-only nor calculated), and the value fits its kind. An empty value clears and is
    /// always valid for a writable property.
    pub(crate) fn check(&self, name: &str, value: &str) -> Result<(), PropertyError> {
        let refuse = |code, message| {
            Err(PropertyError {
                name: name.to_owned(),
                code,
                message,
            })
        };
        let Some(def) = self.get(name) else {
            return refuse(
                "PROPERTY_DOESNT_EXIST",
                format!("Property \"{name}\" does not exist"),
            );
        };
        if !def.is_writable() {
            let what = if def.calculated {
                "a calculated"
            } else {
                "a read only"
            };
            return refuse(
                "READ_ONLY_VALUE",
                format!("\"{name}\" is {what} property; its value cannot be set."),
            );
        }
        if value.is_empty() {
            return Ok(());
        }
        match values::refusal(&def.kind, value) {
            None => Ok(()),
            Some((code, message)) => refuse(code, message),
        }
    }

    /// Checks every value, returning all refusals.
    pub(crate) fn check_all<'a>(
        &self,
        props: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> Result<(), Vec<PropertyError>> {
        let errors: Vec<PropertyError> = props
            .into_iter()
            .filter_map(|(k, v)| self.check(k, v).err())
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Checks that a record about to be created has a value for every required property
    /// (absent and empty are both missing), returning one `MISSING_REQUIRED_PROPERTY`
    /// refusal per missing property, in configuration order.
    pub(crate) fn check_required(
        &self,
        props: &BTreeMap<String, String>,
    ) -> Result<(), Vec<PropertyError>> {
        let errors: Vec<PropertyError> = self
            .required
            .iter()
            .filter(|name| props.get(*name).is_none_or(String::is_empty))
            .map(|name| PropertyError {
                name: name.clone(),
                code: "MISSING_REQUIRED_PROPERTY",
                message: format!("Property \"{name}\" is required"),
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue() -> Catalogue {
        Catalogue::new(default_properties())
    }

    #[test]
    fn unknown_read_only_and_invalid_values_are_refused() {
        let c = catalogue();
        assert_eq!(
            c.check("nope", "x").unwrap_err().code,
            "PROPERTY_DOESNT_EXIST"
        );
        assert_eq!(
            c.check("createdate", "x").unwrap_err().code,
            "READ_ONLY_VALUE"
        );
        assert_eq!(
            c.check("hs_object_id", "").unwrap_err().code,
            "READ_ONLY_VALUE"
        );
        assert_eq!(c.check("email", "bad").unwrap_err().code, "INVALID_EMAIL");
        assert_eq!(
            c.check("lifecyclestage", "boss").unwrap_err().code,
            "INVALID_OPTION"
        );
        assert!(c.check("lifecyclestage", "lead").is_ok());
        assert!(c.check("email", "").is_ok(), "empty clears");
        assert!(c.check("firstname", "Ada").is_ok());
        let (a, b) = ("nope".to_owned(), "email".to_owned());
        let (x, y) = ("1".to_owned(), "bad".to_owned());
        assert_eq!(c.check_all([(&a, &x), (&b, &y)]).unwrap_err().len(), 2);
    }

    #[test]
    fn required_properties_must_be_present_and_non_empty() {
        let c = catalogue()
            .with_required([
                "lifecyclestage".to_owned(),
                "city".to_owned(),
                "city".to_owned(),
            ])
            .unwrap();
        let props = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert!(
            c.check_required(&props(&[("lifecyclestage", "lead"), ("city", "Oslo")]))
                .is_ok()
        );
        let errs = c
            .check_required(&props(&[("lifecyclestage", ""), ("email", "a@b.co")]))
            .unwrap_err();
        let names: Vec<&str> = errs.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["lifecyclestage", "city"], "in order, each once");
        assert!(errs.iter().all(|e| e.code == "MISSING_REQUIRED_PROPERTY"));
        assert_eq!(errs[0].message, "Property \"lifecyclestage\" is required");
        assert!(
            catalogue().check_required(&props(&[])).is_ok(),
            "none required"
        );
    }

    #[test]
    fn only_writable_known_properties_can_be_required() {
        for bad in ["nope", "createdate", "hs_object_id"] {
            assert_eq!(
                catalogue().with_required([bad.to_owned()]).unwrap_err(),
                bad
            );
        }
        assert!(
            catalogue()
                .with_required(["external_id".to_owned()])
                .is_ok()
        );
    }

    #[test]
    fn unique_index_keys() {
        let c = catalogue();
        let mut unique: Vec<_> = c.indexed_unique().map(|d| d.name.clone()).collect();
        unique.sort();
        assert_eq!(unique, ["email", "external_id"]);
        assert_eq!(c.get("email").unwrap().index_key("A@B.co"), "a@b.co");
        assert_eq!(c.get("external_id").unwrap().index_key("AbC"), "AbC");
    }

    #[test]
    fn typed_values_and_calculated_properties_are_checked() {
        let c = catalogue();
        let code = |name: &str, value: &str| c.check(name, value).err().map(|e| e.code);
        assert_eq!(code("annualrevenue", "1,000"), Some("INVALID_INTEGER"));
        assert_eq!(code("annualrevenue", "1000.50"), None);
        assert_eq!(code("date_of_birth", "1795352460000"), Some("INVALID_DATE"));
        assert_eq!(code("closedate", "next week"), Some("INVALID_LONG"));
        assert_eq!(code("do_not_call", "yes"), Some("INVALID_OPTION"));
        assert_eq!(code("hs_buying_role", "CHAMPION;END_USER"), None);
        assert_eq!(
            code("hs_buying_role", "CHAMPION;BOSS"),
            Some("INVALID_OPTION")
        );
        assert_eq!(code("num_associated_deals", "3"), Some("READ_ONLY_VALUE"));
        assert_eq!(
            c.check("num_associated_deals", "").unwrap_err().message,
            "\"num_associated_deals\" is a calculated property; its value cannot be set."
        );
    }

    #[test]
    fn email_and_the_system_properties_keep_their_roles_in_any_catalogue() {
        let c = Catalogue::new([
            PropertyDef::text("email"),
            PropertyDef::text("createdate"),
            PropertyDef::text("nickname"),
        ]);
        let email = c.get("email").unwrap();
        assert!(email.unique && email.kind == PropertyKind::Email);
        for name in ["hs_object_id", "createdate", "lastmodifieddate"] {
            assert!(c.get(name).is_some_and(|d| d.read_only), "{name}");
        }
        let listed: Vec<Value> = c.listing(false)["results"].as_array().unwrap().clone();
        let names: Vec<&str> = listed.iter().filter_map(|d| d["name"].as_str()).collect();
        assert_eq!(
            names,
            [
                "email",
                "createdate",
                "nickname",
                "hs_object_id",
                "lastmodifieddate"
            ]
        );
        assert_eq!(c.listing(true), json!({"results": []}));
    }

    #[test]
    fn a_name_given_twice_keeps_its_place_and_its_last_definition() {
        let c = Catalogue::new([
            PropertyDef::text("a"),
            PropertyDef::text("b"),
            PropertyDef::text("a").label("second"),
        ]);
        assert_eq!(c.get("a").unwrap().label, "second");
        assert_eq!(c.listing(false)["results"][0]["label"], "second");
        assert_eq!(c.listing(false)["results"][1]["name"], "b");
    }

    #[test]
    fn the_default_catalogue_lists_labels_and_types() {
        let listed = catalogue().listing(false);
        let find = |name: &str| {
            listed["results"]
                .as_array()
                .and_then(|all| all.iter().find(|d| d["name"] == name).cloned())
                .unwrap()
        };
        assert_eq!(find("firstname")["label"], "First Name");
        assert_eq!(find("hs_buying_role")["fieldType"], "checkbox");
        assert_eq!(find("annualrevenue")["type"], "number");
        assert_eq!(find("num_associated_deals")["calculated"], true);
        assert_eq!(
            find("createdate")["modificationMetadata"]["readOnlyValue"],
            true
        );
    }
}
