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
}

/// Why a row cannot be sent.
#[derive(Clone, Debug, PartialEq)]
pub struct RowError {
    /// What is wrong, naming the column or field.
    pub message: String,
    /// Whatever values could still be read, so the report can name the key.
    pub fields: Fields,
}

impl RowError {
    /// An error with no readable values.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            fields: Vec::new(),
        }
    }

    /// Keeps the values that could be read.
    pub fn with_fields(mut self, fields: Fields) -> Self {
        self.fields = fields;
        self
    }
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
}
