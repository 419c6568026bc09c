//! Which contact an input is about ([`ContactKey`]) and the input builders of
//! the batch helpers: [`Create`], [`Update`], [`Upsert`] and [`V1Contact`].
//!
//! Misuse that HubSpot would reject, or worse accept and ignore, is caught
//! before anything is sent and reported for that input alone:
//! batch update by email (HubSpot needs record ids or a unique custom property,
//! and treats an email as a record id that matches nothing), an empty key, and
//! a key property repeated in the properties with a different value.
//!
//! ```
//! use hubspot_contacts_batch::{Create, Update, Upsert};
//!
//! let upsert = Upsert::by_email("ada@example.com").set("firstname", "Ada").set("age", 36);
//! let update = Update::by("external_id", "42").set("lifecyclestage", "customer");
//! let by_id = Update::by_id("512").set("phone", "");
//! let create = Create::new().set("email", "grace@example.com").associate("901", 279);
//! assert_eq!(upsert.key().to_string(), "email ada@example.com");
//! ```

use std::{borrow::Cow, collections::BTreeMap, fmt, sync::Arc};

use crate::{
    batch::PreparedInput,
    builders::{build, record_id},
    properties::PropertyValue,
    types,
};

/// HubSpot's name for the record id property.
pub const RECORD_ID_PROPERTY: &str = "hs_object_id";
/// The email property, unique per contact and compared case-insensitively.
pub const EMAIL_PROPERTY: &str = "email";

/// How an input identifies its contact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContactKey {
    /// By HubSpot record id (`hs_object_id`, the legacy `vid`).
    Id(String),
    /// By email address.
    Email(String),
    /// By the value of a unique custom property.
    Property {
        /// The property's internal name.
        name: String,
        /// Its value.
        value: String,
    },
}

impl ContactKey {
    /// Builds a key from a property name and value: `hs_object_id` gives
    /// [`ContactKey::Id`], `email` gives [`ContactKey::Email`].
    pub fn by(property: impl Into<String>, value: impl Into<String>) -> Self {
        let property = property.into();
        let value = value.into();
        if property == RECORD_ID_PROPERTY {
            Self::Id(value)
        } else if property.eq_ignore_ascii_case(EMAIL_PROPERTY) {
            Self::Email(value)
        } else {
            Self::Property {
                name: property,
                value,
            }
        }
    }

    /// The `idProperty` HubSpot needs beside the value (`None` for record ids).
    pub fn id_property(&self) -> Option<&str> {
        match self {
            Self::Id(_) => None,
            Self::Email(_) => Some(EMAIL_PROPERTY),
            Self::Property { name, .. } => Some(name),
        }
    }

    /// The id, email or property value.
    pub fn value(&self) -> &str {
        match self {
            Self::Id(value) | Self::Email(value) | Self::Property { value, .. } => value,
        }
    }

    fn into_value(self) -> String {
        match self {
            Self::Id(value) | Self::Email(value) | Self::Property { value, .. } => value,
        }
    }

    /// The property whose value is the key (`hs_object_id` for record ids).
    pub fn property(&self) -> &str {
        self.id_property().unwrap_or(RECORD_ID_PROPERTY)
    }

    /// The key as HubSpot compares it: emails are case-insensitive.
    pub(crate) fn identity(&self) -> KeyIdentity {
        KeyIdentity::new(self.property(), self.value())
    }

    fn check_not_empty(&self) -> Result<(), InputError> {
        if self.value().trim().is_empty() {
            return Err(InputError::EmptyKey {
                property: self.property().to_owned(),
            });
        }
        Ok(())
    }
}

impl fmt::Display for ContactKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(id) => write!(f, "id {id}"),
            Self::Email(email) => write!(f, "email {email}"),
            Self::Property { name, value } => write!(f, "{name} {value}"),
        }
    }
}

/// A key normalised the way HubSpot compares keys, for finding duplicates and
/// matching results. Cheap to clone: the planner and the key gate each keep one.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct KeyIdentity(Arc<KeyParts>);

/// The parts of a [`KeyIdentity`].
#[derive(Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct KeyParts {
    pub(crate) property: Cow<'static, str>,
    pub(crate) value: String,
}

impl KeyIdentity {
    /// `property`'s `value` as HubSpot compares it: trimmed, and lower-cased
    /// for emails.
    pub(crate) fn new(property: &str, value: &str) -> Self {
        let value = value.trim();
        let value = if property.eq_ignore_ascii_case(EMAIL_PROPERTY) {
            value.to_lowercase()
        } else {
            value.to_owned()
        };
        let property = match property {
            EMAIL_PROPERTY => Cow::Borrowed(EMAIL_PROPERTY),
            RECORD_ID_PROPERTY => Cow::Borrowed(RECORD_ID_PROPERTY),
            other => Cow::Owned(other.to_owned()),
        };
        Self(Arc::new(KeyParts { property, value }))
    }
}

impl std::ops::Deref for KeyIdentity {
    type Target = KeyParts;

    fn deref(&self) -> &KeyParts {
        &self.0
    }
}

/// Why an input was refused before sending.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The key's value is empty.
    #[error("the {property} that identifies the contact is empty")]
    EmptyKey {
        /// The key property.
        property: String,
    },
    /// HubSpot cannot batch-update contacts by email.
    #[error(
        "HubSpot cannot batch-update contacts by email (it needs record ids or a unique custom \
         property); use Upsert::by_email, or Update::by_id with the record id"
    )]
    UpdateByEmail,
    /// Upsert needs `email` or a unique custom property, not a record id.
    #[error(
        "upsert needs email or a unique custom property as its key, not a record id; use Update::by_id"
    )]
    UpsertById,
    /// The key property also appears in the properties, with another value.
    #[error("property {property} is the key ({key:?}) but is also set to {value:?}")]
    ConflictingKeyProperty {
        /// The key property.
        property: String,
        /// The key's value.
        key: String,
        /// The other value.
        value: String,
    },
    /// A property name is empty.
    #[error("a property name is empty")]
    EmptyPropertyName,
    /// A property value could not be encoded.
    #[error("property {property}: {reason}")]
    InvalidValue {
        /// The property.
        property: String,
        /// Why.
        reason: String,
    },
    /// A legacy contact has neither an email nor a vid.
    #[error("a legacy batch contact needs an email or a vid")]
    MissingV1Identity,
    /// The generated request type could not be built: the OpenAPI document
    /// requires a field the SDK does not set (the document changed and the
    /// hand-written code has not caught up).
    #[error("cannot build the request's {what}: {reason}")]
    Wire {
        /// The generated type.
        what: &'static str,
        /// What was missing or wrong.
        reason: String,
    },
}

/// Property values being gathered by an input builder, encoded as they are
/// set so that sending moves them rather than copies them.
#[derive(Clone, Debug, Default, PartialEq)]
struct PropertySet {
    /// The encoded values.
    encoded: BTreeMap<String, String>,
    /// Why a value could not be encoded, by property (only the last value set
    /// for a property counts).
    refused: BTreeMap<String, String>,
}

impl PropertySet {
    fn set(&mut self, name: impl Into<String>, value: impl Into<PropertyValue>) {
        let name = name.into();
        match value.into().into_encoded() {
            Ok(value) => {
                self.refused.remove(&name);
                self.encoded.insert(name, value);
            }
            Err(reason) => {
                self.encoded.remove(&name);
                self.refused.insert(name, reason);
            }
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.encoded.get(name).map(String::as_str)
    }

    /// The encoded values, in name order.
    fn values(&self) -> impl Iterator<Item = (&str, &str)> {
        self.encoded
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    /// The encoded values, refusing empty names, unencodable values and a
    /// key property set to a different value than the key. Properties are
    /// checked in name order and the first problem found is the one reported.
    fn encode(self, key: Option<&ContactKey>) -> Result<BTreeMap<String, String>, InputError> {
        let first_refused = self.refused.keys().next();
        for (name, value) in &self.encoded {
            if first_refused.is_some_and(|refused| refused < name) {
                break;
            }
            check_name(name)?;
            if let Some(key) = key {
                check_key_property(key, name, value)?;
            }
        }
        if let Some((property, reason)) = self.refused.into_iter().next() {
            check_name(&property)?;
            return Err(InputError::InvalidValue { property, reason });
        }
        Ok(self.encoded)
    }
}

fn check_name(name: &str) -> Result<(), InputError> {
    if name.trim().is_empty() {
        Err(InputError::EmptyPropertyName)
    } else {
        Ok(())
    }
}

fn check_key_property(key: &ContactKey, name: &str, value: &str) -> Result<(), InputError> {
    let same = match key {
        ContactKey::Email(email) if name.eq_ignore_ascii_case(EMAIL_PROPERTY) => {
            email.trim().eq_ignore_ascii_case(value.trim())
        }
        ContactKey::Property {
            name: key_name,
            value: key_value,
        } if key_name == name => key_value.trim() == value.trim(),
        ContactKey::Id(id) if name == RECORD_ID_PROPERTY => id.trim() == value.trim(),
        _ => true,
    };
    if same {
        Ok(())
    } else {
        Err(InputError::ConflictingKeyProperty {
            property: name.to_owned(),
            key: key.value().to_owned(),
            value: value.to_owned(),
        })
    }
}

/// A contact to create, for [`crate::ContactsBatchExt::create_all`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Create {
    properties: PropertySet,
    /// Records to associate with: (record id, category, association type id).
    associations: Vec<(String, types::AssociationCategory, i32)>,
    trace_id: Option<String>,
}

impl Create {
    /// An empty contact.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a property (see [`PropertyValue`] for the encodings).
    pub fn set(mut self, name: impl Into<String>, value: impl Into<PropertyValue>) -> Self {
        self.properties.set(name, value);
        self
    }

    /// Associates the new contact with record `to_id` through HubSpot-defined
    /// association type `type_id` (279 is contact to company, for example).
    pub fn associate(self, to_id: impl Into<String>, type_id: i32) -> Self {
        self.associate_as(to_id, types::AssociationCategory::HubspotDefined, type_id)
    }

    /// Associates the new contact with record `to_id` through an association
    /// type of any category.
    pub fn associate_as(
        mut self,
        to_id: impl Into<String>,
        category: types::AssociationCategory,
        type_id: i32,
    ) -> Self {
        self.associations.push((to_id.into(), category, type_id));
        self
    }

    /// Sets the `objectWriteTraceId` (one is generated when not set).
    pub fn trace_id(mut self, trace_id: impl Into<String>) -> Self {
        self.trace_id = Some(trace_id.into());
        self
    }

    /// The property values set so far, in HubSpot's string encoding and name
    /// order (a value that could not be encoded is left out; sending reports
    /// it): for checking them against the portal's properties with
    /// [`Catalogue::check_all`](crate::Catalogue::check_all) before sending.
    pub fn properties(&self) -> impl Iterator<Item = (&str, &str)> {
        self.properties.values()
    }

    /// The email being created, if set: the key used to keep two creates of the
    /// same email out of one request.
    pub fn email(&self) -> Option<&str> {
        self.properties.get(EMAIL_PROPERTY)
    }

    pub(crate) fn prepare(self) -> Result<PreparedInput<types::CreateInput>, InputError> {
        let key = self
            .email()
            .filter(|email| !email.trim().is_empty())
            .map(|email| ContactKey::Email(email.to_owned()));
        let properties = self.properties.encode(None)?;
        let associations = self
            .associations
            .into_iter()
            .map(|(to_id, category, type_id)| {
                let kind = build(
                    "AssociationType",
                    types::AssociationType::builder()
                        .association_category(category)
                        .association_type_id(type_id),
                )?;
                build(
                    "Association",
                    types::Association::builder()
                        .to(record_id(to_id)?)
                        .types(vec![kind]),
                )
            })
            .collect::<Result<Vec<types::Association>, InputError>>()?;
        Ok(PreparedInput {
            key: key.as_ref().map(ContactKey::identity),
            trace_id: self.trace_id.clone(),
            wire: build(
                "CreateInput",
                types::CreateInput::builder()
                    .properties(types::PropertyValues(properties))
                    .associations(associations)
                    .object_write_trace_id(self.trace_id),
            )?,
        })
    }
}

macro_rules! keyed_input {
    ($(#[$doc:meta])* $name:ident, $wire:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name {
            key: ContactKey,
            properties: PropertySet,
            trace_id: Option<String>,
        }

        impl $name {
            /// An input for the contact with this key.
            pub fn with_key(key: ContactKey) -> Self {
                Self { key, properties: PropertySet::default(), trace_id: None }
            }

            /// An input for the contact whose unique `property` has `value`
            /// (`email` and `hs_object_id` are understood).
            pub fn by(property: impl Into<String>, value: impl Into<String>) -> Self {
                Self::with_key(ContactKey::by(property, value))
            }

            /// An input for the contact with this email.
            pub fn by_email(email: impl Into<String>) -> Self {
                Self::with_key(ContactKey::Email(email.into()))
            }

            /// Sets a property (see [`PropertyValue`] for the encodings).
            pub fn set(mut self, name: impl Into<String>, value: impl Into<PropertyValue>) -> Self {
                self.properties.set(name, value);
                self
            }

            /// Sets the `objectWriteTraceId` (one is generated when not set).
            pub fn trace_id(mut self, trace_id: impl Into<String>) -> Self {
                self.trace_id = Some(trace_id.into());
                self
            }

            /// The contact's key.
            pub fn key(&self) -> &ContactKey {
                &self.key
            }

            /// The property values set so far, in HubSpot's string encoding
            /// and name order, the key aside (a value that could not be
            /// encoded is left out; sending reports it): for checking them
            /// against the portal's properties with
            /// [`Catalogue::check_all`](crate::Catalogue::check_all) before
            /// sending.
            pub fn properties(&self) -> impl Iterator<Item = (&str, &str)> {
                self.properties.values()
            }

            fn prepare_parts(self) -> Result<(ContactKey, BTreeMap<String, String>, Option<String>), InputError> {
                self.key.check_not_empty()?;
                let properties = self.properties.encode(Some(&self.key))?;
                Ok((self.key, properties, self.trace_id))
            }

            pub(crate) fn prepare(self) -> Result<PreparedInput<types::$wire>, InputError> {
                Self::check_key(&self.key)?;
                let (key, properties, trace_id) = self.prepare_parts()?;
                let identity = key.identity();
                let id_property = key.id_property().map(str::to_owned);
                Ok(PreparedInput {
                    key: Some(identity),
                    trace_id: trace_id.clone(),
                    wire: build(
                        stringify!($wire),
                        types::$wire::builder()
                            .id(key.into_value())
                            .id_property(id_property)
                            .properties(types::PropertyValues(properties))
                            .object_write_trace_id(trace_id),
                    )?,
                })
            }
        }
    };
}

keyed_input!(
    /// A contact to update, for [`crate::ContactsBatchExt::update_all`]: by
    /// record id or a unique custom property. HubSpot cannot batch-update by
    /// email; such an input is refused before sending.
    Update,
    UpdateInput
);

keyed_input!(
    /// A contact to create or update, for [`crate::ContactsBatchExt::upsert_all`]:
    /// by email or a unique custom property.
    Upsert,
    UpsertInput
);

impl Update {
    /// An update of the contact with this record id.
    pub fn by_id(id: impl Into<String>) -> Self {
        Self::with_key(ContactKey::Id(id.into()))
    }

    fn check_key(key: &ContactKey) -> Result<(), InputError> {
        match key {
            ContactKey::Email(_) => Err(InputError::UpdateByEmail),
            _ => Ok(()),
        }
    }
}

impl Upsert {
    fn check_key(key: &ContactKey) -> Result<(), InputError> {
        match key {
            ContactKey::Id(_) => Err(InputError::UpsertById),
            _ => Ok(()),
        }
    }
}

/// A contact for the legacy batch, for
/// [`crate::ContactsBatchExt::v1_create_or_update_all`]: by email (create or
/// update) or by vid (update).
#[derive(Clone, Debug, PartialEq)]
pub struct V1Contact {
    email: Option<String>,
    vid: Option<String>,
    properties: PropertySet,
}

impl V1Contact {
    /// Creates or updates the contact with this email.
    pub fn by_email(email: impl Into<String>) -> Self {
        Self {
            email: Some(email.into()),
            vid: None,
            properties: PropertySet::default(),
        }
    }

    /// Updates the contact with this vid (record id).
    pub fn by_vid(vid: impl ToString) -> Self {
        Self {
            email: None,
            vid: Some(vid.to_string()),
            properties: PropertySet::default(),
        }
    }

    /// Sets a property (see [`PropertyValue`] for the encodings).
    pub fn set(mut self, name: impl Into<String>, value: impl Into<PropertyValue>) -> Self {
        self.properties.set(name, value);
        self
    }

    /// The contact's key: its vid when set, else its email.
    pub fn key(&self) -> Option<ContactKey> {
        match (&self.vid, &self.email) {
            (Some(vid), _) => Some(ContactKey::Id(vid.clone())),
            (None, Some(email)) => Some(ContactKey::Email(email.clone())),
            (None, None) => None,
        }
    }

    pub(crate) fn prepare(self) -> Result<PreparedInput<types::V1BatchContact>, InputError> {
        let key = self.key().ok_or(InputError::MissingV1Identity)?;
        key.check_not_empty()?;
        let properties = self
            .properties
            .encode(Some(&key))?
            .into_iter()
            .map(|(property, value)| {
                build(
                    "V1PropertyInput",
                    types::V1PropertyInput::builder()
                        .property(property)
                        .value(value),
                )
            })
            .collect::<Result<Vec<types::V1PropertyInput>, InputError>>()?;
        Ok(PreparedInput {
            key: Some(key.identity()),
            trace_id: None,
            wire: build(
                "V1BatchContact",
                types::V1BatchContact::builder()
                    .email(self.email)
                    .vid(self.vid)
                    .properties(properties),
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_know_their_id_property() {
        assert_eq!(
            ContactKey::by("hs_object_id", "5"),
            ContactKey::Id("5".into())
        );
        assert_eq!(
            ContactKey::by("Email", "a@b.c"),
            ContactKey::Email("a@b.c".into())
        );
        assert_eq!(ContactKey::Id("5".into()).id_property(), None);
        assert_eq!(
            ContactKey::by("external_id", "42").id_property(),
            Some("external_id")
        );
        assert_eq!(
            ContactKey::Email(" Ada@Example.COM ".into()).identity(),
            ContactKey::Email("ada@example.com".into()).identity()
        );
    }

    #[test]
    fn upsert_by_email_becomes_an_email_id_property_input() {
        let prepared = Upsert::by_email("ada@example.com")
            .set("firstname", "Ada")
            .set("age", 36)
            .prepare()
            .unwrap();
        assert_eq!(prepared.wire.id, "ada@example.com");
        assert_eq!(prepared.wire.id_property.as_deref(), Some("email"));
        assert_eq!(
            prepared.wire.properties.get("age").map(String::as_str),
            Some("36")
        );
        assert_eq!(prepared.key.unwrap().value, "ada@example.com");
    }

    #[test]
    fn update_by_id_sends_no_id_property() {
        let prepared = Update::by_id("512").set("phone", "").prepare().unwrap();
        assert_eq!(prepared.wire.id, "512");
        assert_eq!(prepared.wire.id_property, None);
        assert_eq!(
            prepared.wire.properties.get("phone").map(String::as_str),
            Some("")
        );
    }

    #[test]
    fn the_first_problem_in_name_order_is_the_one_reported() {
        let conflict_first = Upsert::by_email("a@x.com")
            .set("email", "b@x.com")
            .set("score", f64::NAN);
        assert!(matches!(
            conflict_first.prepare().unwrap_err(),
            InputError::ConflictingKeyProperty { property, .. } if property == "email"
        ));
        let invalid_first = Upsert::by_email("a@x.com")
            .set("age", f64::INFINITY)
            .set("email", "b@x.com");
        assert!(matches!(
            invalid_first.prepare().unwrap_err(),
            InputError::InvalidValue { property, .. } if property == "age"
        ));
        let empty_name_first = Upsert::by_email("a@x.com")
            .set("score", f64::NAN)
            .set(" ", "x");
        assert_eq!(
            empty_name_first.prepare().unwrap_err(),
            InputError::EmptyPropertyName
        );
    }

    #[test]
    fn a_refused_value_set_again_validly_is_sent() {
        let prepared = Upsert::by_email("a@x.com")
            .set("score", f64::NAN)
            .set("score", 3)
            .prepare()
            .expect("the later value is valid");
        assert_eq!(
            prepared.wire.properties.get("score").map(String::as_str),
            Some("3")
        );
        let refused_again = Upsert::by_email("a@x.com")
            .set("score", 3)
            .set("score", f64::NAN)
            .prepare();
        assert!(matches!(
            refused_again.unwrap_err(),
            InputError::InvalidValue { property, .. } if property == "score"
        ));
    }

    #[test]
    fn misuse_is_refused_before_sending() {
        assert_eq!(
            Update::by_email("a@b.c").prepare().unwrap_err(),
            InputError::UpdateByEmail
        );
        assert_eq!(
            Update::by("email", "a@b.c").prepare().unwrap_err(),
            InputError::UpdateByEmail
        );
        assert_eq!(
            Upsert::by("hs_object_id", "1").prepare().unwrap_err(),
            InputError::UpsertById
        );
        assert!(matches!(
            Upsert::by_email("  ").prepare().unwrap_err(),
            InputError::EmptyKey { .. }
        ));
        assert!(matches!(
            Update::by("external_id", "").prepare().unwrap_err(),
            InputError::EmptyKey { .. }
        ));
        assert!(matches!(
            Upsert::by_email("a@b.c")
                .set("email", "other@b.c")
                .prepare()
                .unwrap_err(),
            InputError::ConflictingKeyProperty { .. }
        ));
        assert!(matches!(
            Upsert::by("external_id", "42")
                .set("external_id", "43")
                .prepare()
                .unwrap_err(),
            InputError::ConflictingKeyProperty { .. }
        ));
        assert!(matches!(
            Upsert::by_email("a@b.c")
                .set("", "x")
                .prepare()
                .unwrap_err(),
            InputError::EmptyPropertyName
        ));
        assert!(matches!(
            Upsert::by_email("a@b.c")
                .set("score", f64::NAN)
                .prepare()
                .unwrap_err(),
            InputError::InvalidValue { .. }
        ));
    }

    #[test]
    fn the_key_property_may_repeat_with_the_same_value() {
        assert!(
            Upsert::by_email("Ada@Example.com")
                .set("email", "ada@example.com")
                .prepare()
                .is_ok()
        );
        assert!(
            Update::by("external_id", "42")
                .set("external_id", "42")
                .prepare()
                .is_ok()
        );
    }

    #[test]
    fn create_keeps_associations_and_keys_on_email() {
        let prepared = Create::new()
            .set("email", "Grace@Example.com")
            .associate("901", 279)
            .trace_id("t-1")
            .prepare()
            .unwrap();
        assert_eq!(prepared.wire.associations.len(), 1);
        assert_eq!(prepared.wire.associations[0].to.id, "901");
        assert_eq!(prepared.wire.object_write_trace_id.as_deref(), Some("t-1"));
        assert_eq!(prepared.key.unwrap().value, "grace@example.com");
        assert!(
            Create::new()
                .set("firstname", "x")
                .prepare()
                .unwrap()
                .key
                .is_none()
        );
    }

    #[test]
    fn legacy_contacts_need_an_identity() {
        let by_email = V1Contact::by_email("a@b.c")
            .set("firstname", "A")
            .prepare()
            .unwrap();
        assert_eq!(by_email.wire.email.as_deref(), Some("a@b.c"));
        assert_eq!(by_email.wire.properties[0].property, "firstname");
        let by_vid = V1Contact::by_vid(77).prepare().unwrap();
        assert_eq!(by_vid.wire.vid.as_deref(), Some("77"));
        assert!(matches!(
            V1Contact::by_email("").prepare().unwrap_err(),
            InputError::EmptyKey { .. }
        ));
    }
}
