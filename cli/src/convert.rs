//! A row's fields -> the SDK's input builders, keyed the way the command
//! says. Pure: a row that cannot become an input gets a [`RowError`].

use hubspot_contacts_batch::{ContactKey, Create, Update, Upsert, V1Contact};

use crate::row::{Fields, RowError};

/// What identifies the contact a row is about, and in which column it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    /// A record id (`hs_object_id`) in this column.
    RecordId {
        /// The column (CSV) or field (JSONL) holding the id.
        column: String,
    },
    /// The value of this unique property (`email`, or a custom one), in the
    /// column of the same name.
    Property {
        /// The property, and its column.
        name: String,
    },
    /// A legacy vid (record id) in this column.
    Vid {
        /// The column holding the vid.
        column: String,
    },
    /// No key (creates): rows are labelled by their email when they have one.
    None,
}

impl Key {
    /// The column holding the key (`email` for creates, used only for labels).
    pub fn column(&self) -> &str {
        match self {
            Key::RecordId { column } | Key::Vid { column } => column,
            Key::Property { name } => name,
            Key::None => "email",
        }
    }

    fn contact_key(&self, value: String) -> ContactKey {
        match self {
            Key::RecordId { .. } | Key::Vid { .. } => ContactKey::Id(value),
            Key::Property { name } => ContactKey::by(name.clone(), value),
            Key::None => ContactKey::Email(value),
        }
    }

    /// The key's value in the row, if it has a non-blank one.
    pub fn value<'a>(&self, fields: &'a Fields) -> Option<&'a str> {
        fields
            .iter()
            .find(|(name, _)| name == self.column())
            .and_then(|(_, value)| value.as_str())
            .filter(|value| !value.trim().is_empty())
    }

    /// A key `value` as HubSpot compares keys: trimmed, an email in lower
    /// case; two rows with equal identities write one contact.
    pub fn identity(&self, value: &str) -> String {
        let value = value.trim();
        match self {
            Key::Property { name } if !name.eq_ignore_ascii_case("email") => value.to_owned(),
            Key::RecordId { .. } | Key::Vid { .. } => value.to_owned(),
            _ => value.to_lowercase(),
        }
    }

    /// The row's key as the SDK labels it (`email ada@example.com`, `id 512`),
    /// or empty when the row has none.
    pub fn label(&self, fields: &Fields) -> String {
        self.value(fields)
            .map(|value| self.contact_key(value.to_owned()).to_string())
            .unwrap_or_default()
    }

    /// Takes the key out of the fields: the key's value and the other fields.
    fn split(&self, mut fields: Fields) -> Result<(String, Fields), RowError> {
        let column = self.column();
        let Some(position) = fields.iter().position(|(name, _)| name == column) else {
            return Err(RowError::new(format!(
                "the key {column:?} is missing or empty"
            )));
        };
        let (_, value) = fields.remove(position);
        match value.into_encoded() {
            Ok(value) if value.trim().is_empty() => {
                Err(RowError::new(format!("the key {column:?} is empty")).with_fields(fields))
            }
            Ok(value)
                if matches!(self, Key::RecordId { .. } | Key::Vid { .. })
                    && !value.bytes().all(|b| b.is_ascii_digit()) =>
            {
                Err(RowError::new(format!(
                    "the record id {value:?} in {column:?} is not a number"
                ))
                .with_fields(fields))
            }
            Ok(value) => Ok((value, fields)),
            Err(reason) => Err(RowError::new(format!("the key {column:?}: {reason}"))),
        }
    }

    /// An upsert of the row's contact.
    pub fn upsert(&self, fields: Fields) -> Result<Upsert, RowError> {
        let (key, rest) = self.split(fields)?;
        Ok(rest.into_iter().fold(
            Upsert::with_key(self.contact_key(key)),
            |input, (name, value)| input.set(name, value),
        ))
    }

    /// An update of the row's contact.
    pub fn update(&self, fields: Fields) -> Result<Update, RowError> {
        let (key, rest) = self.split(fields)?;
        Ok(rest.into_iter().fold(
            Update::with_key(self.contact_key(key)),
            |input, (name, value)| input.set(name, value),
        ))
    }

    /// A legacy create-or-update of the row's contact, by vid or email.
    pub fn v1(&self, fields: Fields) -> Result<V1Contact, RowError> {
        let (key, rest) = self.split(fields)?;
        let contact = match self {
            Key::RecordId { .. } | Key::Vid { .. } => V1Contact::by_vid(key),
            Key::Property { .. } | Key::None => V1Contact::by_email(key),
        };
        Ok(rest
            .into_iter()
            .fold(contact, |input, (name, value)| input.set(name, value)))
    }

    /// Only the key (archive, read); other fields are ignored.
    pub fn key_only(&self, fields: Fields) -> Result<String, RowError> {
        self.split(fields).map(|(key, _)| key)
    }
}

/// A create of the row's contact: every field is a property; no key needed.
/// Refuses a row with no value that is not blank (`,,` or `{}`), which would
/// create an empty contact.
pub fn create(fields: Fields) -> Result<Create, RowError> {
    let has_value = fields
        .iter()
        .any(|(_, value)| value.as_str().is_none_or(|text| !text.trim().is_empty()));
    if !has_value {
        return Err(RowError::new(
            "the row has no values; a create needs at least one (an empty row would create a blank contact)",
        )
        .with_fields(fields));
    }
    Ok(fields
        .into_iter()
        .fold(Create::new(), |input, (name, value)| input.set(name, value)))
}

#[cfg(test)]
mod tests {
    use hubspot_contacts_batch::PropertyValue;

    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), PropertyValue::from(*v)))
            .collect()
    }

    fn email() -> Key {
        Key::Property {
            name: "email".into(),
        }
    }

    #[test]
    fn upsert_by_email_keys_on_the_email_column() {
        let upsert = email()
            .upsert(fields(&[("email", "a@b.co"), ("firstname", "Ada")]))
            .unwrap();
        assert_eq!(upsert.key(), &ContactKey::Email("a@b.co".into()));
        let expected = Upsert::by_email("a@b.co").set("firstname", "Ada");
        assert_eq!(upsert, expected);
    }

    #[test]
    fn update_by_record_id_or_unique_property() {
        let by_id = Key::RecordId {
            column: "id".into(),
        }
        .update(fields(&[("id", "512"), ("city", "Paris")]))
        .unwrap();
        assert_eq!(by_id, Update::by_id("512").set("city", "Paris"));
        let by_external = Key::Property {
            name: "external_id".into(),
        }
        .update(fields(&[("external_id", "x1")]))
        .unwrap();
        assert_eq!(by_external, Update::by("external_id", "x1"));
    }

    #[test]
    fn a_record_id_must_be_a_number() {
        let id = Key::RecordId {
            column: "id".into(),
        };
        let error = id.key_only(fields(&[("id", "x")])).unwrap_err();
        assert!(error.message.contains("not a number"), "{}", error.message);
        assert_eq!(id.key_only(fields(&[("id", "512")])).unwrap(), "512");
    }

    #[test]
    fn missing_and_empty_keys_are_row_errors() {
        let missing = email().upsert(fields(&[("firstname", "Ada")])).unwrap_err();
        assert_eq!(missing.message, "the key \"email\" is missing or empty");
        let blank = email()
            .upsert(fields(&[("email", "  "), ("firstname", "Ada")]))
            .unwrap_err();
        assert_eq!(blank.message, "the key \"email\" is empty");
        assert!(
            Key::RecordId {
                column: "id".into()
            }
            .key_only(fields(&[("email", "x")]))
            .is_err()
        );
    }

    #[test]
    fn labels_follow_the_sdk() {
        let row = fields(&[("id", "7"), ("email", "a@b.co")]);
        assert_eq!(email().label(&row), "email a@b.co");
        assert_eq!(Key::None.label(&row), "email a@b.co");
        assert_eq!(
            Key::Vid {
                column: "id".into()
            }
            .label(&row),
            "id 7"
        );
        assert_eq!(email().label(&fields(&[("email", "")])), "");
    }

    #[test]
    fn v1_by_email_or_vid_and_creates() {
        let by_vid = Key::Vid {
            column: "vid".into(),
        }
        .v1(fields(&[("vid", "9"), ("city", "Oslo")]))
        .unwrap();
        assert_eq!(by_vid, V1Contact::by_vid("9").set("city", "Oslo"));
        let by_email = email().v1(fields(&[("email", "a@b.co")])).unwrap();
        assert_eq!(by_email, V1Contact::by_email("a@b.co"));
        assert_eq!(
            create(fields(&[("email", "a@b.co")])),
            Ok(Create::new().set("email", "a@b.co"))
        );
    }

    #[test]
    fn a_create_of_an_empty_row_is_a_row_error() {
        for empty in [fields(&[]), fields(&[("firstname", " "), ("email", "")])] {
            let error = create(empty).unwrap_err();
            assert!(error.message.contains("no values"), "{}", error.message);
        }
        assert!(create(fields(&[("email", ""), ("firstname", "Ada")])).is_ok());
    }
}
