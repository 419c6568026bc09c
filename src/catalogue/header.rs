//! Which property a file's column header means: by internal name, ignoring
//! case, or by label ([`Catalogue::resolve`]); and why a header means none,
//! or several, or one that cannot be written ([`HeaderError`]).

use std::fmt;

use super::distance::edit_distance;
use super::index::Catalogue;
use super::property::Property;

/// A property named in a [`HeaderError`]: its internal name and label.
///
/// ```
/// use hubspot_contacts_batch::{Catalogue, catalogue::HeaderError, types};
///
/// let list: types::PropertyList =
///     serde_json::from_str(r#"{"results": [{"name": "firstname", "label": "First Name"}]}"#)?;
/// let Err(HeaderError::Unknown { closest: Some(near), .. }) = Catalogue::from(list).resolve("Fist Name")
/// else {
///     panic!("a typo");
/// };
/// assert_eq!(near.to_string(), "firstname (\"First Name\")");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Candidate {
    /// The internal name (`firstname`).
    pub name: String,
    /// The label (`First Name`); empty when HubSpot gave none.
    pub label: String,
}

impl Candidate {
    fn of(property: &Property) -> Self {
        Self {
            name: property.name.clone(),
            label: property.label.clone(),
        }
    }
}

impl fmt::Display for Candidate {
    /// `firstname ("First Name")`, or the bare name without a label.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if !self.label.is_empty() {
            write!(f, " ({:?})", self.label)?;
        }
        Ok(())
    }
}

/// Why a column header maps to no property that can take its values.
///
/// `Display` names the column and what to do about it, in one line.
///
/// ```
/// use hubspot_contacts_batch::{Catalogue, catalogue::HeaderError, types};
///
/// let list: types::PropertyList = serde_json::from_str(r#"{"results": [
///     {"name": "mobilephone", "label": "Mobile Phone Number"},
///     {"name": "cell_phone", "label": "Mobile Phone Number"}
/// ]}"#)?;
/// match Catalogue::from(list).resolve_writable("mobile phone number") {
///     Err(HeaderError::Ambiguous { candidates, .. }) => assert_eq!(candidates.len(), 2),
///     other => panic!("ambiguous, got {other:?}"),
/// }
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// No property has this internal name or label.
    #[error("column {header:?} is not a contact property{}", closest_hint(.closest.as_ref()))]
    Unknown {
        /// The header, as given.
        header: String,
        /// The property whose name or label is closest to the header, when
        /// one is close enough to be a likely typo.
        closest: Option<Candidate>,
    },
    /// Several properties match equally well.
    #[error("column {header:?} matches several contact properties: {}; name one of them", list(.candidates))]
    Ambiguous {
        /// The header, as given.
        header: String,
        /// Every property it matches, in catalogue order.
        candidates: Vec<Candidate>,
    },
    /// The header means a property whose values HubSpot computes or keeps
    /// read-only: every write to it is refused (`READ_ONLY_VALUE`).
    #[error("column {header:?} is {property}, a {} property: HubSpot refuses writes to it (READ_ONLY_VALUE)",
        if *.calculated { "calculated" } else { "read-only" })]
    ReadOnly {
        /// The header, as given.
        header: String,
        /// The property it means.
        property: Candidate,
        /// Whether HubSpot computes it (else it is read-only).
        calculated: bool,
    },
}

fn closest_hint(closest: Option<&Candidate>) -> String {
    match closest {
        Some(candidate) => format!("; the closest is {candidate}"),
        None => "; no property has a similar name or label".to_owned(),
    }
}

fn list(candidates: &[Candidate]) -> String {
    let shown: Vec<String> = candidates.iter().map(ToString::to_string).collect();
    shown.join(", ")
}

/// How a header is compared with names and labels: trimmed, lower-cased,
/// runs of whitespace as one space.
fn normalise(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The largest edit distance at which a property is offered as the closest:
/// a third of the header's length, but at least 2.
fn close_enough(header: &str) -> usize {
    (header.chars().count() / 3).max(2)
}

impl Catalogue {
    /// The property a column header means, tried in this order, the first
    /// tier with a match deciding:
    ///
    /// 1. the exact internal name (`firstname`);
    /// 2. the internal name ignoring case and surrounding spaces (`Email`);
    /// 3. the label ignoring case and runs of spaces (`First Name`).
    ///
    /// Several matches in the deciding tier are [`HeaderError::Ambiguous`],
    /// listing them; none at all is [`HeaderError::Unknown`], naming the
    /// property whose name or label is closest by edit distance when one is
    /// close enough to be a typo. Read-only properties resolve too (a read
    /// may name them); see [`resolve_writable`](Self::resolve_writable) for
    /// columns to write.
    ///
    /// ```
    /// use hubspot_contacts_batch::{Catalogue, catalogue::HeaderError, types};
    ///
    /// let list: types::PropertyList = serde_json::from_str(r#"{"results": [
    ///     {"name": "email", "label": "Email"},
    ///     {"name": "firstname", "label": "First Name"},
    ///     {"name": "phone", "label": "Phone"},
    ///     {"name": "mobilephone", "label": "Phone"}
    /// ]}"#)?;
    /// let catalogue = Catalogue::from(list);
    /// assert_eq!(catalogue.resolve("First Name").unwrap().name, "firstname");
    /// assert_eq!(catalogue.resolve("EMAIL").unwrap().name, "email");
    /// assert_eq!(catalogue.resolve("phone").unwrap().name, "phone", "a name beats a label");
    /// let Err(HeaderError::Unknown { closest, .. }) = catalogue.resolve("Frist Name") else {
    ///     panic!("an unknown header");
    /// };
    /// assert_eq!(closest.unwrap().name, "firstname");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn resolve(&self, header: &str) -> Result<&Property, HeaderError> {
        if let Some(property) = self.get(header) {
            return Ok(property);
        }
        let wanted = normalise(header);
        let by_name: Vec<&Property> = self
            .iter()
            .filter(|property| normalise(&property.name) == wanted)
            .collect();
        let by_label = || -> Vec<&Property> {
            self.iter()
                .filter(|property| {
                    !property.label.is_empty() && normalise(&property.label) == wanted
                })
                .collect()
        };
        let matches = if by_name.is_empty() {
            by_label()
        } else {
            by_name
        };
        match matches.as_slice() {
            [one] => Ok(one),
            [] => Err(HeaderError::Unknown {
                header: header.to_owned(),
                closest: self.closest(&wanted).map(Candidate::of),
            }),
            several => Err(HeaderError::Ambiguous {
                header: header.to_owned(),
                candidates: several
                    .iter()
                    .map(|property| Candidate::of(property))
                    .collect(),
            }),
        }
    }

    /// As [`resolve`](Self::resolve), for a column whose values will be
    /// written: a read-only or calculated property is
    /// [`HeaderError::ReadOnly`].
    ///
    /// ```
    /// use hubspot_contacts_batch::{Catalogue, types};
    ///
    /// let list: types::PropertyList = serde_json::from_str(r#"{"results": [
    ///     {"name": "num_notes", "label": "Number of Sales Activities", "type": "number",
    ///      "calculated": true}
    /// ]}"#)?;
    /// let error = Catalogue::from(list).resolve_writable("num_notes").unwrap_err();
    /// assert_eq!(
    ///     error.to_string(),
    ///     "column \"num_notes\" is num_notes (\"Number of Sales Activities\"), a calculated \
    ///      property: HubSpot refuses writes to it (READ_ONLY_VALUE)"
    /// );
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn resolve_writable(&self, header: &str) -> Result<&Property, HeaderError> {
        let property = self.resolve(header)?;
        if property.is_writable() {
            Ok(property)
        } else {
            Err(HeaderError::ReadOnly {
                header: header.to_owned(),
                property: Candidate::of(property),
                calculated: property.calculated,
            })
        }
    }

    /// The property whose name or label is nearest to the normalised header,
    /// if near enough; the first in catalogue order among equals.
    fn closest(&self, wanted: &str) -> Option<&Property> {
        let limit = close_enough(wanted);
        self.iter()
            .filter_map(|property| {
                let name = edit_distance(wanted, &normalise(&property.name));
                let label = edit_distance(wanted, &normalise(&property.label));
                let distance = if property.label.is_empty() {
                    name
                } else {
                    name.min(label)
                };
                (distance <= limit).then_some((distance, property))
            })
            .min_by_key(|(distance, _)| *distance)
            .map(|(_, property)| property)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types;

    fn catalogue() -> Catalogue {
        let list: types::PropertyList = serde_json::from_value(serde_json::json!({"results": [
            {"name": "email", "label": "Email"},
            {"name": "firstname", "label": "First Name"},
            {"name": "lastname", "label": "Last Name"},
            {"name": "phone", "label": "Phone Number"},
            {"name": "mobilephone", "label": "Mobile Phone Number"},
            {"name": "work_phone", "label": "Work phone"},
            {"name": "office_phone", "label": "Work Phone"},
            {"name": "Region", "label": "Region (custom)"},
            {"name": "region", "label": "Region"},
            {"name": "createdate", "label": "Create Date",
             "modificationMetadata": {"readOnlyValue": true}},
            {"name": "num_notes", "label": "Number of Sales Activities", "calculated": true},
            {"name": "nolabel"}
        ]}))
        .unwrap();
        Catalogue::from(list)
    }

    fn resolved(header: &str) -> Result<String, HeaderError> {
        catalogue().resolve(header).map(|p| p.name.clone())
    }

    #[test]
    fn headers_resolve_by_name_then_case_insensitive_name_then_label() {
        for (header, name) in [
            ("email", "email"),
            ("Email", "email"),
            (" EMAIL ", "email"),
            ("First Name", "firstname"),
            ("first  name", "firstname"),
            ("FIRSTNAME", "firstname"),
            ("Phone Number", "phone"),
            ("Region", "Region"),
            ("region", "region"),
            ("Create Date", "createdate"),
            ("nolabel", "nolabel"),
        ] {
            assert_eq!(resolved(header).as_deref(), Ok(name), "{header:?}");
        }
    }

    #[test]
    fn several_matches_in_the_deciding_tier_are_ambiguous() {
        let Err(HeaderError::Ambiguous { candidates, .. }) = resolved("work phone") else {
            panic!("two labels match");
        };
        let names: Vec<&str> = candidates.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["work_phone", "office_phone"]);
        let Err(HeaderError::Ambiguous { candidates, .. }) = resolved("REGION") else {
            panic!("two names match ignoring case");
        };
        assert_eq!(candidates.len(), 2);
        assert_eq!(
            resolved("work phone").unwrap_err().to_string(),
            "column \"work phone\" matches several contact properties: work_phone (\"Work phone\"), \
             office_phone (\"Work Phone\"); name one of them"
        );
    }

    #[test]
    fn unknown_headers_name_the_closest_property_by_name_or_label() {
        for (header, closest) in [
            ("Frist Name", Some("firstname")),
            ("first_name", Some("firstname")),
            ("emial", Some("email")),
            ("Last name:", Some("lastname")),
            ("Mobile Phone", Some("mobilephone")),
            ("xyzzy", None),
            ("", None),
        ] {
            let Err(HeaderError::Unknown { closest: got, .. }) = resolved(header) else {
                panic!("{header:?} should be unknown");
            };
            assert_eq!(got.map(|c| c.name).as_deref(), closest, "{header:?}");
        }
        assert_eq!(
            resolved("Frist Name").unwrap_err().to_string(),
            "column \"Frist Name\" is not a contact property; the closest is firstname (\"First Name\")"
        );
        assert_eq!(
            resolved("xyzzy").unwrap_err().to_string(),
            "column \"xyzzy\" is not a contact property; no property has a similar name or label"
        );
    }

    #[test]
    fn writable_columns_refuse_read_only_and_calculated_properties() {
        let c = catalogue();
        assert_eq!(c.resolve_writable("First Name").unwrap().name, "firstname");
        let Err(HeaderError::ReadOnly {
            property,
            calculated,
            ..
        }) = c.resolve_writable("Create Date")
        else {
            panic!("read-only");
        };
        assert_eq!((property.name.as_str(), calculated), ("createdate", false));
        let Err(HeaderError::ReadOnly { calculated, .. }) = c.resolve_writable("num_notes") else {
            panic!("calculated");
        };
        assert!(calculated);
        assert!(matches!(
            c.resolve_writable("nope"),
            Err(HeaderError::Unknown { .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn any_header_resolves_to_a_match_or_says_why(header in "\\PC{0,20}|[A-Za-z _]{0,14}") {
            let c = catalogue();
            match c.resolve(&header) {
                Ok(property) => {
                    let wanted = normalise(&header);
                    proptest::prop_assert!(
                        normalise(&property.name) == wanted || normalise(&property.label) == wanted,
                        "{:?} -> {}", header, property.name
                    );
                }
                Err(HeaderError::Unknown { closest: Some(near), .. }) => {
                    proptest::prop_assert!(c.get(&near.name).is_some());
                }
                Err(HeaderError::Ambiguous { candidates, .. }) => {
                    proptest::prop_assert!(candidates.len() >= 2);
                }
                Err(_) => {}
            }
        }
    }
}
