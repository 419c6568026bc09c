//! [`Catalogue`]: a portal's contact properties, looked up by internal name,
//! and the check of one value against it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::property::Property;
use super::value::PropertyError;
use crate::types;

/// The contact properties of one HubSpot portal, as its properties list
/// returns them (in that order).
///
/// Get one with [`Client::contact_properties`](crate::Client::contact_properties),
/// or from a saved answer of HubSpot's properties list through
/// [`types::PropertyList`]. What to do with it: look a property up by
/// internal name ([`get`](Self::get)), check a value before writing it
/// ([`check`](Self::check), [`check_all`](Self::check_all)), or find the
/// property a file's column header means
/// ([`resolve`](Self::resolve), [`resolve_writable`](Self::resolve_writable)).
///
/// ```
/// use hubspot_contacts_batch::{Catalogue, types};
///
/// let list: types::PropertyList = serde_json::from_str(r#"{"results": [
///     {"name": "firstname", "label": "First Name", "type": "string", "fieldType": "text"},
///     {"name": "date_of_birth", "label": "Date of birth", "type": "date", "fieldType": "date"}
/// ]}"#)?;
/// let catalogue = Catalogue::from(list);
/// assert_eq!(catalogue.len(), 2);
/// assert_eq!(catalogue.get("firstname").map(|p| p.label.as_str()), Some("First Name"));
/// assert!(catalogue.check("date_of_birth", "1815-12-10").is_ok());
/// let problems = catalogue.check_all([("firstname", "Ada"), ("date_of_birth", "10/12/1815")]);
/// assert_eq!(problems[0].code.as_str(), "INVALID_DATE");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Catalogue {
    properties: Vec<Property>,
    /// Position in `properties` by internal name (the first of duplicates).
    by_name: HashMap<String, usize>,
    /// HubSpot's clock when it listed them, if known.
    as_of: Option<DateTime<Utc>>,
}

impl Catalogue {
    /// HubSpot's clock when it listed these properties (the `Date` of its
    /// answer, to the second), for a catalogue fetched with
    /// [`Client::contact_properties`](crate::Client::contact_properties):
    /// a time on HubSpot's clock before anything written after the fetch,
    /// whatever this machine's clock says. `None` otherwise.
    pub fn as_of(&self) -> Option<DateTime<Utc>> {
        self.as_of
    }

    /// The same catalogue, listed at `as_of` on HubSpot's clock.
    pub(crate) fn listed_at(self, as_of: Option<DateTime<Utc>>) -> Self {
        Self { as_of, ..self }
    }

    /// The property with this internal name (exact, case-sensitive), as
    /// writes name it.
    pub fn get(&self, name: &str) -> Option<&Property> {
        self.by_name
            .get(name)
            .and_then(|&position| self.properties.get(position))
    }

    /// Every property, in the order HubSpot listed them.
    pub fn iter(&self) -> std::slice::Iter<'_, Property> {
        self.properties.iter()
    }

    /// How many properties there are.
    pub fn len(&self) -> usize {
        self.properties.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.properties.is_empty()
    }

    /// Checks a value for a write to the property with this internal name:
    /// the property exists (`PROPERTY_DOESNT_EXIST`), is writable
    /// (`READ_ONLY_VALUE`) and the value fits its type (see
    /// [`Property::check`]). `Ok` gives the property.
    pub fn check(&self, name: &str, value: &str) -> Result<&Property, PropertyError> {
        let property = self.get(name).ok_or_else(|| PropertyError::unknown(name))?;
        property.check(value).map(|()| property)
    }

    /// Checks every `(name, value)` pair, as HubSpot checks a whole input,
    /// and returns every refusal in the pairs' order (none: all fit). An
    /// input builder's `properties()` gives such pairs.
    ///
    /// ```
    /// use hubspot_contacts_batch::{Catalogue, Upsert, types};
    ///
    /// let list: types::PropertyList = serde_json::from_str(r#"{"results": [
    ///     {"name": "numemployees", "type": "number"},
    ///     {"name": "hs_buying_role", "type": "enumeration", "fieldType": "checkbox",
    ///      "options": [{"value": "CHAMPION"}, {"value": "END_USER"}]}
    /// ]}"#)?;
    /// let catalogue = Catalogue::from(list);
    /// let input = Upsert::by_email("ada@example.com")
    ///     .set("numemployees", 12)
    ///     .set("hs_buying_role", "CHAMPION;BOSS");
    /// let problems = catalogue.check_all(input.properties());
    /// assert_eq!(problems.len(), 1);
    /// assert_eq!(problems[0].property, "hs_buying_role");
    /// assert_eq!(problems[0].code.as_str(), "INVALID_OPTION");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn check_all<'a, I>(&self, values: I) -> Vec<PropertyError>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        values
            .into_iter()
            .filter_map(|(name, value)| self.check(name, value).err())
            .collect()
    }
}

impl FromIterator<Property> for Catalogue {
    /// A catalogue of these properties; a name listed twice keeps its first
    /// definition for lookups.
    fn from_iter<I: IntoIterator<Item = Property>>(properties: I) -> Self {
        let properties: Vec<Property> = properties.into_iter().collect();
        let mut by_name = HashMap::with_capacity(properties.len());
        for (position, property) in properties.iter().enumerate() {
            by_name.entry(property.name.clone()).or_insert(position);
        }
        Self {
            properties,
            by_name,
            as_of: None,
        }
    }
}

impl From<types::PropertyList> for Catalogue {
    /// The catalogue of a properties list answer.
    fn from(list: types::PropertyList) -> Self {
        list.results.into_iter().map(Property::from).collect()
    }
}

impl<'a> IntoIterator for &'a Catalogue {
    type Item = &'a Property;
    type IntoIter = std::slice::Iter<'a, Property>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::ErrorCode;

    fn catalogue(results: serde_json::Value) -> Catalogue {
        let list: types::PropertyList =
            serde_json::from_value(serde_json::json!({ "results": results })).unwrap();
        Catalogue::from(list)
    }

    #[test]
    fn lookups_are_by_exact_internal_name_and_keep_the_first_duplicate() {
        let c = catalogue(serde_json::json!([
            {"name": "firstname", "label": "First Name"},
            {"name": "firstname", "label": "Second definition"},
            {"name": "lastname", "label": "Last Name"}
        ]));
        assert_eq!(c.len(), 3);
        assert_eq!(c.get("firstname").unwrap().label, "First Name");
        assert!(c.get("FirstName").is_none());
        let names: Vec<&str> = c.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["firstname", "firstname", "lastname"]);
        assert!(Catalogue::default().is_empty());
    }

    #[test]
    fn checks_name_the_unknown_and_the_read_only() {
        let c = catalogue(serde_json::json!([
            {"name": "numemployees", "type": "number"},
            {"name": "createdate", "type": "datetime", "modificationMetadata": {"readOnlyValue": true}}
        ]));
        let unknown = c.check("Firstname", "Ada").unwrap_err();
        assert_eq!(unknown.code, ErrorCode::PropertyDoesntExist);
        assert_eq!(unknown.message, "Property \"Firstname\" does not exist");
        assert_eq!(
            c.check("createdate", "0").unwrap_err().code,
            ErrorCode::ReadOnlyValue
        );
        assert_eq!(c.check("numemployees", "12").unwrap().name, "numemployees");
        let all = c.check_all([
            ("numemployees", "many"),
            ("numemployees", "3"),
            ("nope", ""),
        ]);
        let codes: Vec<ErrorCode> = all.iter().map(|e| e.code).collect();
        assert_eq!(
            codes,
            [ErrorCode::InvalidInteger, ErrorCode::PropertyDoesntExist]
        );
    }
}
