//! The contact property catalogue, per-value validation and the admin-required
//! properties of creates. Pure.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::util::FastMap;

/// What values a property accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PropertyKind {
    /// Any string.
    Text,
    /// An email address (`local@domain.tld`); unique values compare case-insensitively.
    Email,
    /// One of a fixed list of internal option values.
    Enumeration(Vec<String>),
}

/// One contact property the fake knows about.
///
/// ```
/// use hubspot_fake::PropertyDef;
/// let loyalty_id = PropertyDef::text("loyalty_id").unique();
/// assert!(loyalty_id.unique && !loyalty_id.read_only);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyDef {
    /// Internal property name, e.g. `firstname`.
    pub name: String,
    /// Accepted values.
    pub kind: PropertyKind,
    /// Whether values must be unique across contacts (`hasUniqueValue`); such a property
    /// can serve as `idProperty`.
    pub unique: bool,
    /// Whether writes are refused (`READ_ONLY_VALUE`); the fake maintains such values itself.
    pub read_only: bool,
}

impl PropertyDef {
    /// A writable, non-unique text property.
    pub fn text(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            kind: PropertyKind::Text,
            unique: false,
            read_only: false,
        }
    }

    /// A writable, non-unique enumeration property with these internal option values.
    pub fn enumeration<I, S>(name: impl Into<String>, options: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            kind: PropertyKind::Enumeration(options.into_iter().map(Into::into).collect()),
            ..Self::text(name)
        }
    }

    /// Marks the property as having unique values.
    pub fn unique(mut self) -> Self {
        self.unique = true;
        self
    }

    /// Marks the property as read-only.
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// The key under which a value is indexed for uniqueness (emails are lower-cased).
    pub(crate) fn index_key<'v>(&self, value: &'v str) -> Cow<'v, str> {
        match self.kind {
            PropertyKind::Email if value.bytes().any(|b| b.is_ascii_uppercase()) => {
                Cow::Owned(value.to_ascii_lowercase())
            }
            _ => Cow::Borrowed(value),
        }
    }
}

/// The properties every fake starts with: HubSpot's common contact properties, a custom
/// unique `external_id`, and the read-only `hs_object_id`, `createdate`, `lastmodifieddate`.
pub fn default_properties() -> Vec<PropertyDef> {
    let mut defs = vec![PropertyDef {
        kind: PropertyKind::Email,
        ..PropertyDef::text("email").unique()
    }];
    for name in [
        "firstname",
        "lastname",
        "phone",
        "company",
        "website",
        "address",
        "city",
        "state",
        "zip",
    ] {
        defs.push(PropertyDef::text(name));
    }
    defs.push(PropertyDef::enumeration(
        "lifecyclestage",
        [
            "subscriber",
            "lead",
            "marketingqualifiedlead",
            "salesqualifiedlead",
            "opportunity",
            "customer",
            "evangelist",
            "other",
        ],
    ));
    defs.push(PropertyDef::text("external_id").unique());
    defs.push(PropertyDef::text("hs_object_id").unique().read_only());
    defs.push(PropertyDef::text("createdate").read_only());
    defs.push(PropertyDef::text("lastmodifieddate").read_only());
    defs
}

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

/// The properties known to one fake, by name, and the ones an account admin made
/// required on create.
#[derive(Debug, Clone)]
pub(crate) struct Catalogue {
    defs: FastMap<String, PropertyDef>,
    required: Vec<String>,
}

impl Catalogue {
    pub(crate) fn new(defs: impl IntoIterator<Item = PropertyDef>) -> Self {
        Self {
            defs: defs.into_iter().map(|d| (d.name.clone(), d)).collect(),
            required: Vec::new(),
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
            if self.defs.get(&name).is_none_or(|d| d.read_only) {
                return Err(name);
            }
            if !self.required.contains(&name) {
                self.required.push(name);
            }
        }
        Ok(self)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&PropertyDef> {
        self.defs.get(name)
    }

    /// Names of the unique properties whose values the store must index (not `hs_object_id`,
    /// which is the record id itself).
    pub(crate) fn indexed_unique(&self) -> impl Iterator<Item = &PropertyDef> {
        self.defs
            .values()
            .filter(|d| d.unique && d.name != "hs_object_id")
    }

    /// Checks one client-supplied value. An empty value clears and is always valid for a
    /// writable property.
    pub(crate) fn check(&self, name: &str, value: &str) -> Result<(), PropertyError> {
        let Some(def) = self.defs.get(name) else {
            return Err(PropertyError {
                name: name.to_owned(),
                code: "PROPERTY_DOESNT_EXIST",
                message: format!("Property \"{name}\" does not exist"),
            });
        };
        if def.read_only {
            return Err(PropertyError {
                name: name.to_owned(),
                code: "READ_ONLY_VALUE",
                message: format!("\"{name}\" is a read only property; its value cannot be set."),
            });
        }
        if value.is_empty() {
            return Ok(());
        }
        match &def.kind {
            PropertyKind::Text => Ok(()),
            PropertyKind::Email if is_valid_email(value) => Ok(()),
            PropertyKind::Email => Err(PropertyError {
                name: name.to_owned(),
                code: "INVALID_EMAIL",
                message: format!("Email address {value} is invalid"),
            }),
            PropertyKind::Enumeration(options) if options.iter().any(|o| o == value) => Ok(()),
            PropertyKind::Enumeration(options) => Err(PropertyError {
                name: name.to_owned(),
                code: "INVALID_OPTION",
                message: format!(
                    "{value} was not one of the allowed options: [{}]",
                    options.join(", ")
                ),
            }),
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

/// A deliberately simple email check: one `@`, a non-empty local part without spaces,
/// and a domain with a dot, no spaces and no empty labels.
pub(crate) fn is_valid_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !value.chars().any(char::is_whitespace)
        && domain.contains('.')
        && domain.split('.').all(|label| !label.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue() -> Catalogue {
        Catalogue::new(default_properties())
    }

    #[test]
    fn emails() {
        for good in ["a@b.co", "First.Last+tag@Example.COM", "x@sub.domain.org"] {
            assert!(is_valid_email(good), "{good}");
        }
        for bad in [
            "", "a", "a@", "@b.co", "a@b", "a@@b.co", "a b@c.co", "a@b..co", "a@b.co.",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
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
}
