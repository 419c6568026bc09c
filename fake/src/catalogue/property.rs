//! [`PropertyDef`]: one contact property the fake knows, and [`PropertyKind`]: what values
//! it accepts.

use std::borrow::Cow;

use serde_json::Value;

/// What values a property accepts (HubSpot's `type`, with `fieldType` telling a
/// multi-select apart). Every kind accepts the empty string, which clears a value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PropertyKind {
    /// Any string (`string`, `phone_number`, and types the fake does not model).
    Text,
    /// An email address (`local@domain.tld`); unique values compare case-insensitively.
    /// Only `email` has this kind.
    Email,
    /// One of a fixed list of internal option values (`enumeration` edited as `select`,
    /// `radio` or `booleancheckbox`).
    Enumeration(Vec<String>),
    /// Any number of the options joined with `;` (`enumeration` edited as `checkbox`).
    MultiSelect(Vec<String>),
    /// A decimal number (`number`).
    Number,
    /// `true` or `false` (`bool`).
    Bool,
    /// A day: `YYYY-MM-DD`, or epoch milliseconds at midnight UTC (`date`).
    Date,
    /// A moment: epoch milliseconds or ISO 8601 (`datetime`).
    Datetime,
}

impl PropertyKind {
    /// HubSpot's `type` and `fieldType` for a property of this kind.
    pub(crate) fn wire_types(&self) -> (&'static str, &'static str) {
        match self {
            Self::Text | Self::Email => ("string", "text"),
            Self::Enumeration(_) => ("enumeration", "select"),
            Self::MultiSelect(_) => ("enumeration", "checkbox"),
            Self::Number => ("number", "number"),
            Self::Bool => ("bool", "booleancheckbox"),
            Self::Date => ("date", "date"),
            Self::Datetime => ("datetime", "date"),
        }
    }

    /// The option values a property of this kind lists (`bool` lists `true` and `false`).
    pub(crate) fn options(&self) -> Cow<'_, [String]> {
        match self {
            Self::Enumeration(options) | Self::MultiSelect(options) => Cow::Borrowed(options),
            Self::Bool => Cow::Owned(vec!["true".to_owned(), "false".to_owned()]),
            _ => Cow::Borrowed(&[]),
        }
    }
}

/// One contact property the fake knows about.
///
/// ```
/// use hubspot_fake::{PropertyDef, PropertyKind};
/// let loyalty_id = PropertyDef::text("loyalty_id").unique();
/// assert!(loyalty_id.unique && !loyalty_id.read_only);
/// let employees = PropertyDef::new("employees", PropertyKind::Number).label("Employees");
/// assert_eq!(employees.label, "Employees");
/// let deals = PropertyDef::new("num_associated_deals", PropertyKind::Number).calculated();
/// assert!(deals.calculated);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyDef {
    /// Internal property name, e.g. `firstname`.
    pub name: String,
    /// The label HubSpot's interface shows, e.g. `First Name` (the name unless set).
    pub label: String,
    /// Accepted values.
    pub kind: PropertyKind,
    /// Whether values must be unique across contacts (`hasUniqueValue`); such a property
    /// can serve as `idProperty`.
    pub unique: bool,
    /// Whether writes are refused (`READ_ONLY_VALUE`); the fake maintains such values itself.
    pub read_only: bool,
    /// Whether HubSpot computes the value (`calculated`): writes are refused with
    /// `READ_ONLY_VALUE`, as for read-only properties.
    pub calculated: bool,
    /// The definition as a loaded catalogue file gave it, served back unchanged.
    pub(crate) definition: Option<Value>,
}

impl PropertyDef {
    /// A writable, non-unique property of this kind, labelled with its name.
    pub fn new(name: impl Into<String>, kind: PropertyKind) -> Self {
        let name = name.into();
        Self {
            label: name.clone(),
            name,
            kind,
            unique: false,
            read_only: false,
            calculated: false,
            definition: None,
        }
    }

    /// A writable, non-unique text property.
    pub fn text(name: impl Into<String>) -> Self {
        Self::new(name, PropertyKind::Text)
    }

    /// A writable, non-unique enumeration property with these internal option values.
    pub fn enumeration<I, S>(name: impl Into<String>, options: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let options = options.into_iter().map(Into::into).collect();
        Self::new(name, PropertyKind::Enumeration(options))
    }

    /// Sets the label.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
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

    /// Marks the property as calculated by HubSpot (so not writable).
    pub fn calculated(mut self) -> Self {
        self.calculated = true;
        self
    }

    /// Whether clients may write it.
    pub(crate) fn is_writable(&self) -> bool {
        !self.read_only && !self.calculated
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
