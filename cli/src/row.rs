//! One input row as read from the file, before it becomes an SDK input. Pure.

use hubspot_contacts_batch::PropertyValue;

/// A row's values by property name, in column (or key) order.
pub type Fields = Vec<(String, PropertyValue)>;

/// One data row of the input file.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The 1-based number of the row among the data rows (the header and blank
    /// lines are not rows).
    pub number: u64,
    /// The 1-based line of the file the row starts on.
    pub line: u64,
    /// Its values, or why it could not be read.
    pub content: Result<Fields, RowError>,
    /// What the reader changed in the row to send it, such as a key trimmed
    /// of surrounding spaces, for the row's report entry.
    pub notes: Vec<String>,
}

/// A row error's message is cut to this many characters, so that a row of
/// 10,000 columns or a 1 MiB field name still gives a readable line.
pub const MAX_MESSAGE_CHARS: usize = 500;

/// Why a row cannot be sent.
#[derive(Clone, Debug, PartialEq)]
pub struct RowError {
    /// What is wrong, naming the column or field.
    pub message: String,
    /// Whatever values could still be read, so the report can name the key.
    pub fields: Fields,
    /// HubSpot's code for the refusal the preflight predicted (`INVALID_INTEGER`, …).
    pub code: Option<String>,
}

impl RowError {
    /// An error with no readable values; its message is cut to
    /// [`MAX_MESSAGE_CHARS`] characters.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: capped(message.into()),
            fields: Vec::new(),
            code: None,
        }
    }

    /// Names HubSpot's code for the refusal.
    pub fn with_code(mut self, code: &str) -> Self {
        self.code = Some(code.to_owned());
        self
    }

    /// Keeps the values that could be read.
    pub fn with_fields(mut self, fields: Fields) -> Self {
        self.fields = fields;
        self
    }
}

/// `message` cut to [`MAX_MESSAGE_CHARS`] characters, saying how many were cut.
pub fn capped(message: String) -> String {
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        None => message,
        Some((end, _)) => {
            let cut = message[end..].chars().count();
            format!("{} ... ({cut} more characters cut)", &message[..end])
        }
    }
}

/// Trims surrounding whitespace from the values of the fields named `names`,
/// returning a note for each value trimmed.
pub fn trim_values(fields: &mut Fields, names: &[impl AsRef<str>]) -> Vec<String> {
    let mut notes = Vec::new();
    for (name, value) in fields.iter_mut() {
        if !names.iter().any(|n| n.as_ref() == name) {
            continue;
        }
        let Some(text) = value.as_str() else {
            continue;
        };
        let trimmed = text.trim();
        if trimmed.len() != text.len() {
            notes.push(format!("{name:?} had surrounding whitespace, trimmed"));
            *value = PropertyValue::from(trimmed.to_owned());
        }
    }
    notes
}

/// Whether `name` can be a HubSpot property name: ASCII letters, digits and
/// `_`, not starting with a digit.
pub fn is_property_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) if first.is_ascii_alphabetic() || first == '_' => {
            chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_names() {
        for good in ["email", "hs_object_id", "External_ID2", "_x"] {
            assert!(is_property_name(good), "{good}");
        }
        for bad in ["", " ", "2fa", "first name", "e-mail", "naïve"] {
            assert!(!is_property_name(bad), "{bad}");
        }
    }

    #[test]
    fn long_messages_are_cut_with_a_note() {
        assert_eq!(capped("short".into()), "short");
        let exact = "é".repeat(MAX_MESSAGE_CHARS);
        assert_eq!(capped(exact.clone()), exact);
        let long = RowError::new("é".repeat(MAX_MESSAGE_CHARS + 1_000_000));
        assert!(long.message.len() < 2 * MAX_MESSAGE_CHARS + 50);
        assert!(
            long.message.ends_with("... (1000000 more characters cut)"),
            "{}",
            &long.message[long.message.len() - 60..]
        );
    }

    #[test]
    fn keys_are_trimmed_with_a_note() {
        let mut fields: Fields = vec![
            ("email".into(), " a@b.co\t".into()),
            ("id".into(), "7".into()),
            ("city".into(), " Oslo ".into()),
        ];
        let notes = trim_values(&mut fields, &["email", "id"]);
        assert_eq!(notes, vec!["\"email\" had surrounding whitespace, trimmed"]);
        assert_eq!(fields[0].1.as_str(), Some("a@b.co"));
        assert_eq!(
            fields[2].1.as_str(),
            Some(" Oslo "),
            "other values are kept"
        );
    }
}
