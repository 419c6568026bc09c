//! One contact property as the catalogue describes it: [`Property`], its
//! [`PropertyType`], [`FieldType`] and [`PropertyOption`]s.

use std::fmt;

use super::value::{self, PropertyError};
use crate::types;

/// How HubSpot stores a property's values (the property's `type`).
///
/// HubSpot's response schema gives `type` no enum, and its docs name internal
/// types (`json`, `object_coordinates`) that its request enum lacks, so a type
/// this build does not know is kept as [`PropertyType::Other`].
///
/// ```
/// use hubspot_contacts_batch::catalogue::PropertyType;
///
/// assert_eq!(PropertyType::parse("datetime"), PropertyType::Datetime);
/// let unknown = PropertyType::parse("object_coordinates");
/// assert_eq!(unknown, PropertyType::Other("object_coordinates".to_owned()));
/// assert_eq!(unknown.to_string(), "object_coordinates");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PropertyType {
    /// Free text (`string`), up to 65,536 characters.
    String,
    /// A decimal number (`number`): digits with at most one decimal point.
    Number,
    /// A day (`date`): `YYYY-MM-DD`, or epoch milliseconds at midnight UTC.
    Date,
    /// A moment (`datetime`): ISO 8601, or epoch milliseconds.
    Datetime,
    /// `true` or `false` (`bool`).
    Bool,
    /// One of the property's options, or several for a multi-select
    /// (`enumeration`).
    Enumeration,
    /// A phone number (`phone_number`), stored as text.
    PhoneNumber,
    /// A type this build does not know, as HubSpot spelled it.
    Other(String),
}

impl PropertyType {
    /// The type HubSpot's `type` text names.
    pub fn parse(text: &str) -> Self {
        match text {
            "string" => Self::String,
            "number" => Self::Number,
            "date" => Self::Date,
            "datetime" => Self::Datetime,
            "bool" => Self::Bool,
            "enumeration" => Self::Enumeration,
            "phone_number" => Self::PhoneNumber,
            other => Self::Other(other.to_owned()),
        }
    }

    /// HubSpot's spelling of the type.
    pub fn as_str(&self) -> &str {
        match self {
            Self::String => "string",
            Self::Number => "number",
            Self::Date => "date",
            Self::Datetime => "datetime",
            Self::Bool => "bool",
            Self::Enumeration => "enumeration",
            Self::PhoneNumber => "phone_number",
            Self::Other(text) => text,
        }
    }
}

impl fmt::Display for PropertyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How HubSpot's interface edits a property (its `fieldType`). What matters
/// for values is [`FieldType::Checkbox`]: an enumeration edited with
/// checkboxes takes several options, joined with `;`.
///
/// ```
/// use hubspot_contacts_batch::catalogue::FieldType;
///
/// assert_eq!(FieldType::parse("checkbox"), FieldType::Checkbox);
/// assert_eq!(FieldType::BooleanCheckbox.as_str(), "booleancheckbox");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FieldType {
    /// `text`: one line.
    Text,
    /// `textarea`: several lines.
    Textarea,
    /// `html`: rich text.
    Html,
    /// `number`.
    Number,
    /// `date`: a date or datetime picker.
    Date,
    /// `file`: a file reference.
    File,
    /// `phonenumber`.
    PhoneNumber,
    /// `select`: a drop-down, one option.
    Select,
    /// `radio`: radio buttons, one option.
    Radio,
    /// `checkbox`: several options at once (a multi-select).
    Checkbox,
    /// `booleancheckbox`: a single yes/no checkbox.
    BooleanCheckbox,
    /// `calculation_equation`: computed by HubSpot.
    CalculationEquation,
    /// A field type this build does not know, as HubSpot spelled it.
    Other(String),
}

impl FieldType {
    /// The field type HubSpot's `fieldType` text names.
    pub fn parse(text: &str) -> Self {
        match text {
            "text" => Self::Text,
            "textarea" => Self::Textarea,
            "html" => Self::Html,
            "number" => Self::Number,
            "date" => Self::Date,
            "file" => Self::File,
            "phonenumber" => Self::PhoneNumber,
            "select" => Self::Select,
            "radio" => Self::Radio,
            "checkbox" => Self::Checkbox,
            "booleancheckbox" => Self::BooleanCheckbox,
            "calculation_equation" => Self::CalculationEquation,
            other => Self::Other(other.to_owned()),
        }
    }

    /// HubSpot's spelling of the field type.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Text => "text",
            Self::Textarea => "textarea",
            Self::Html => "html",
            Self::Number => "number",
            Self::Date => "date",
            Self::File => "file",
            Self::PhoneNumber => "phonenumber",
            Self::Select => "select",
            Self::Radio => "radio",
            Self::Checkbox => "checkbox",
            Self::BooleanCheckbox => "booleancheckbox",
            Self::CalculationEquation => "calculation_equation",
            Self::Other(text) => text,
        }
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One allowed value of an enumeration property.
///
/// ```
/// use hubspot_contacts_batch::{Catalogue, types};
///
/// let list: types::PropertyList = serde_json::from_str(r#"{"results": [{"name": "lifecyclestage",
///     "type": "enumeration", "fieldType": "radio",
///     "options": [{"label": "Lead", "value": "lead", "hidden": false}]}]}"#)?;
/// let catalogue = Catalogue::from(list);
/// let lead = &catalogue.get("lifecyclestage").unwrap().options[0];
/// assert_eq!((lead.value.as_str(), lead.label.as_str(), lead.hidden), ("lead", "Lead", false));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PropertyOption {
    /// The internal value: the one to send (an exact match is required).
    pub value: String,
    /// The text HubSpot's interface shows (empty when HubSpot gave none).
    pub label: String,
    /// Whether the option is hidden in HubSpot's interface.
    pub hidden: bool,
}

/// One contact property: what a value written to it must look like, and
/// whether it can be written at all.
///
/// Properties come from a [`Catalogue`](super::Catalogue), which reads them
/// from HubSpot's properties list.
///
/// ```
/// use hubspot_contacts_batch::{Catalogue, catalogue::{FieldType, PropertyType}, types};
///
/// let list: types::PropertyList = serde_json::from_value(serde_json::json!({"results": [
///     {"name": "hs_buying_role", "label": "Buying Role", "type": "enumeration",
///      "fieldType": "checkbox", "options": [{"label": "Champion", "value": "CHAMPION"},
///                                          {"label": "End User", "value": "END_USER"}]}
/// ]}))?;
/// let catalogue = Catalogue::from(list);
/// let role = catalogue.get("hs_buying_role").unwrap();
/// assert_eq!(role.property_type, PropertyType::Enumeration);
/// assert_eq!(role.field_type, FieldType::Checkbox);
/// assert!(role.is_multi_select() && role.is_writable());
/// assert!(role.check("CHAMPION;END_USER").is_ok());
/// assert_eq!(role.check("CHAMPION;Boss").unwrap_err().code.as_str(), "INVALID_OPTION");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Property {
    /// The internal name, the key of a value on writes (`firstname`).
    pub name: String,
    /// The name HubSpot's interface shows (`First Name`); empty when HubSpot
    /// gave none.
    pub label: String,
    /// How values are stored, which decides what a value must look like.
    pub property_type: PropertyType,
    /// How HubSpot's interface edits it; [`FieldType::Checkbox`] makes an
    /// enumeration a multi-select.
    pub field_type: FieldType,
    /// The allowed values of an enumeration; empty for other types and for
    /// [`external_options`](Self::external_options) properties.
    pub options: Vec<PropertyOption>,
    /// Whether values are unique across contacts (`hasUniqueValue`), so the
    /// property can identify contacts (`idProperty`).
    pub unique: bool,
    /// Whether values are read-only (`modificationMetadata.readOnlyValue`).
    pub read_only: bool,
    /// Whether HubSpot computes the value (`calculated`).
    pub calculated: bool,
    /// Whether the options live elsewhere (owners, pipeline stages), so
    /// [`options`](Self::options) is empty and values cannot be checked here.
    pub external_options: bool,
}

impl Property {
    /// Whether HubSpot accepts values for it: neither read-only nor calculated.
    pub fn is_writable(&self) -> bool {
        !self.read_only && !self.calculated
    }

    /// Whether it takes several options at once, joined with `;` (an
    /// enumeration edited with checkboxes).
    pub fn is_multi_select(&self) -> bool {
        self.property_type == PropertyType::Enumeration && self.field_type == FieldType::Checkbox
    }

    /// Checks `value` as HubSpot would on a write to this property: writable,
    /// and fitting its type. `Err` carries HubSpot's error code. The empty
    /// string clears a value and fits every writable property. See the
    /// [module docs](super) for the rules per type.
    pub fn check(&self, value: &str) -> Result<(), PropertyError> {
        value::check(self, value)
    }
}

impl From<types::PropertyDefinition> for Property {
    fn from(wire: types::PropertyDefinition) -> Self {
        let read_only = wire
            .modification_metadata
            .as_ref()
            .and_then(|metadata| metadata.read_only_value)
            .unwrap_or(false);
        Property {
            label: wire.label.unwrap_or_default(),
            property_type: PropertyType::parse(wire.type_.as_deref().unwrap_or("string")),
            field_type: FieldType::parse(wire.field_type.as_deref().unwrap_or("text")),
            options: wire.options.into_iter().map(PropertyOption::from).collect(),
            unique: wire.has_unique_value.unwrap_or(false),
            read_only,
            calculated: wire.calculated.unwrap_or(false),
            external_options: wire.external_options.unwrap_or(false),
            name: wire.name,
        }
    }
}

impl From<types::PropertyOption> for PropertyOption {
    fn from(wire: types::PropertyOption) -> Self {
        PropertyOption {
            value: wire.value,
            label: wire.label.unwrap_or_default(),
            hidden: wire.hidden.unwrap_or(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_field_types_round_trip_and_keep_the_unknown() {
        for text in [
            "string",
            "number",
            "date",
            "datetime",
            "bool",
            "enumeration",
            "phone_number",
            "json",
        ] {
            assert_eq!(PropertyType::parse(text).as_str(), text);
        }
        assert_eq!(
            PropertyType::parse("object_coordinates"),
            PropertyType::Other("object_coordinates".to_owned())
        );
        for text in [
            "text",
            "textarea",
            "html",
            "number",
            "date",
            "file",
            "phonenumber",
            "select",
            "radio",
            "checkbox",
            "booleancheckbox",
            "calculation_equation",
            "signature",
        ] {
            assert_eq!(FieldType::parse(text).to_string(), text);
        }
        assert_eq!(
            FieldType::parse("signature"),
            FieldType::Other("signature".to_owned())
        );
    }

    #[test]
    fn a_sparse_definition_reads_as_a_writable_text_property() {
        let wire: types::PropertyDefinition =
            serde_json::from_value(serde_json::json!({"name": "nickname"})).unwrap();
        let property = Property::from(wire);
        assert_eq!(property.name, "nickname");
        assert_eq!(property.property_type, PropertyType::String);
        assert_eq!(property.field_type, FieldType::Text);
        assert!(property.is_writable() && !property.unique && !property.is_multi_select());
    }

    #[test]
    fn read_only_comes_from_the_modification_metadata_and_calculated_from_its_flag() {
        let read = |value: serde_json::Value| {
            Property::from(serde_json::from_value::<types::PropertyDefinition>(value).unwrap())
        };
        let read_only = read(serde_json::json!({
            "name": "createdate", "modificationMetadata": {"readOnlyValue": true,
            "readOnlyDefinition": true, "archivable": false}
        }));
        assert!(read_only.read_only && !read_only.is_writable());
        let calculated = read(serde_json::json!({"name": "num_notes", "calculated": true}));
        assert!(calculated.calculated && !calculated.is_writable());
        let unique = read(
            serde_json::json!({"name": "external_id", "hasUniqueValue": true,
            "modificationMetadata": {"readOnlyValue": false}}),
        );
        assert!(unique.unique && unique.is_writable());
    }
}
