//! Whether a value fits a property, as HubSpot judges a write: the pure
//! validator behind [`Property::check`] and [`Catalogue::check`](super::Catalogue::check),
//! and the refusal it gives, [`PropertyError`] with HubSpot's [`ErrorCode`].

use std::fmt;

use chrono::{DateTime, NaiveDate};

use super::property::{Property, PropertyType};

/// HubSpot's error code for a refused property value (`errors[].code` in its
/// 400 answers; hubspot-2026-facts §5.2).
///
/// ```
/// use hubspot_contacts_batch::catalogue::ErrorCode;
///
/// assert_eq!(ErrorCode::ReadOnlyValue.as_str(), "READ_ONLY_VALUE");
/// assert_eq!(ErrorCode::InvalidDate.to_string(), "INVALID_DATE");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `PROPERTY_DOESNT_EXIST`: no property has this name.
    PropertyDoesntExist,
    /// `READ_ONLY_VALUE`: the property is read-only or calculated.
    ReadOnlyValue,
    /// `INVALID_INTEGER`: not a number (HubSpot's code for decimals too).
    InvalidInteger,
    /// `INVALID_DATE`: not a day, or a timestamp that is not midnight UTC.
    InvalidDate,
    /// `INVALID_LONG`: not a datetime HubSpot can read.
    InvalidLong,
    /// `INVALID_OPTION`: not one of the options (or, for a multi-select, one
    /// part is not); also used for a bool that is neither `true` nor `false`,
    /// since HubSpot's code for that case is not established.
    InvalidOption,
    /// `INVALID_EMAIL`: not an email address.
    InvalidEmail,
}

impl ErrorCode {
    /// HubSpot's spelling, e.g. `INVALID_OPTION`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PropertyDoesntExist => "PROPERTY_DOESNT_EXIST",
            Self::ReadOnlyValue => "READ_ONLY_VALUE",
            Self::InvalidInteger => "INVALID_INTEGER",
            Self::InvalidDate => "INVALID_DATE",
            Self::InvalidLong => "INVALID_LONG",
            Self::InvalidOption => "INVALID_OPTION",
            Self::InvalidEmail => "INVALID_EMAIL",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value HubSpot would refuse for a property, with HubSpot's code.
///
/// `Display` shows `CODE: message`, the message worded as HubSpot words it
/// where that is known.
///
/// ```
/// use hubspot_contacts_batch::{Catalogue, catalogue::ErrorCode, types};
///
/// let list: types::PropertyList = serde_json::from_str(
///     r#"{"results": [{"name": "numemployees", "type": "number", "fieldType": "number"}]}"#,
/// )?;
/// let error = Catalogue::from(list).check("numemployees", "1,200").unwrap_err();
/// assert_eq!(error.code, ErrorCode::InvalidInteger);
/// assert_eq!(error.property, "numemployees");
/// assert_eq!(error.to_string(), "INVALID_INTEGER: 1,200 was not a valid number.");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
#[non_exhaustive]
pub struct PropertyError {
    /// The property's internal name.
    pub property: String,
    /// HubSpot's code.
    pub code: ErrorCode,
    /// What is wrong, naming the value.
    pub message: String,
}

impl PropertyError {
    pub(super) fn new(property: &str, code: ErrorCode, message: String) -> Self {
        Self {
            property: property.to_owned(),
            code,
            message,
        }
    }

    /// `PROPERTY_DOESNT_EXIST` for `name`, in HubSpot's words.
    pub(super) fn unknown(name: &str) -> Self {
        Self::new(
            name,
            ErrorCode::PropertyDoesntExist,
            format!("Property \"{name}\" does not exist"),
        )
    }
}

/// The one property whose values HubSpot checks as email addresses.
const EMAIL_PROPERTY: &str = "email";

/// How many options a refusal lists before it says how many more there are.
const OPTIONS_SHOWN: usize = 20;

const MILLIS_PER_DAY: i64 = 86_400_000;

/// Checks `value` for a write to `property`; see [`Property::check`].
pub(super) fn check(property: &Property, value: &str) -> Result<(), PropertyError> {
    let refuse = |code, message| Err(PropertyError::new(&property.name, code, message));
    if !property.is_writable() {
        let what = if property.calculated {
            "a calculated"
        } else {
            "a read only"
        };
        let name = &property.name;
        return refuse(
            ErrorCode::ReadOnlyValue,
            format!("\"{name}\" is {what} property; its value cannot be set."),
        );
    }
    // HubSpot accepts surrounding whitespace on typed values (hubspot-2026-facts §5.2).
    let value = value.trim();
    if value.is_empty() {
        return Ok(());
    }
    if property.name == EMAIL_PROPERTY && !is_email(value) {
        return refuse(
            ErrorCode::InvalidEmail,
            format!("Email address {value} is invalid"),
        );
    }
    match property.property_type {
        PropertyType::Number if !is_decimal(value) => refuse(
            ErrorCode::InvalidInteger,
            format!("{value} was not a valid number."),
        ),
        PropertyType::Date => check_date(value)
            .map_err(|message| PropertyError::new(&property.name, ErrorCode::InvalidDate, message)),
        PropertyType::Datetime if !is_datetime(value) => refuse(
            ErrorCode::InvalidLong,
            format!("{value} was not a valid long."),
        ),
        PropertyType::Bool
            if !value.eq_ignore_ascii_case("true") && !value.eq_ignore_ascii_case("false") =>
        {
            refuse(
                ErrorCode::InvalidOption,
                format!("{value} was not one of the allowed options: [true, false]"),
            )
        }
        PropertyType::Enumeration => check_options(property, value),
        _ => Ok(()),
    }
}

/// An optional `-`, then digits with at most one decimal point (at least one
/// digit in all): no exponent, no thousands separators, no `+`.
fn is_decimal(value: &str) -> bool {
    let unsigned = value.strip_prefix('-').unwrap_or(value);
    let mut digits = 0;
    let mut points = 0;
    for c in unsigned.chars() {
        match c {
            '0'..='9' => digits += 1,
            '.' => points += 1,
            _ => return false,
        }
    }
    digits > 0 && points <= 1
}

/// `YYYY-MM-DD`, or epoch milliseconds at midnight UTC; `Err` is HubSpot's message.
fn check_date(value: &str) -> Result<(), String> {
    if let Ok(millis) = value.parse::<i64>() {
        let into_day = millis.rem_euclid(MILLIS_PER_DAY);
        if into_day == 0 {
            return Ok(());
        }
        let (hours, minutes) = (into_day / 3_600_000, into_day / 60_000 % 60);
        let (seconds, millis) = (into_day / 1000 % 60, into_day % 1000);
        return Err(format!(
            "{value} is at {hours}:{minutes}:{seconds}.{millis} UTC, not midnight!"
        ));
    }
    if is_iso_day(value) {
        Ok(())
    } else {
        Err(format!("{value} is not a valid date"))
    }
}

/// Exactly `YYYY-MM-DD`, naming a real day.
fn is_iso_day(value: &str) -> bool {
    value.len() == 10 && NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok()
}

/// Epoch milliseconds, an ISO 8601 timestamp with a zone (`Z` or an offset),
/// or a plain `YYYY-MM-DD`.
fn is_datetime(value: &str) -> bool {
    value.parse::<i64>().is_ok() || DateTime::parse_from_rfc3339(value).is_ok() || is_iso_day(value)
}

/// One option's value, or for a multi-select each `;`-separated part (empty
/// parts, as a leading `;` that appends makes, are skipped). Properties whose
/// options live elsewhere, or that list none, accept anything.
fn check_options(property: &Property, value: &str) -> Result<(), PropertyError> {
    if property.external_options || property.options.is_empty() {
        return Ok(());
    }
    let is_option = |part: &str| property.options.iter().any(|option| option.value == part);
    let bad = if property.is_multi_select() {
        value
            .split(';')
            .find(|part| !part.is_empty() && !is_option(part))
    } else {
        Some(value).filter(|whole| !is_option(whole))
    };
    match bad {
        None => Ok(()),
        Some(part) => Err(PropertyError::new(
            &property.name,
            ErrorCode::InvalidOption,
            format!(
                "{part} was not one of the allowed options: [{}]",
                listed_options(property)
            ),
        )),
    }
}

/// The option values, at most [`OPTIONS_SHOWN`] of them, then how many more.
fn listed_options(property: &Property) -> String {
    let shown: Vec<&str> = property
        .options
        .iter()
        .take(OPTIONS_SHOWN)
        .map(|option| option.value.as_str())
        .collect();
    let more = property.options.len().saturating_sub(OPTIONS_SHOWN);
    let mut listed = shown.join(", ");
    if more > 0 {
        listed.push_str(&format!(", and {more} more"));
    }
    listed
}

/// A deliberately simple address check: one `@`, a non-empty local part, a
/// domain with a dot and no empty labels, no whitespace anywhere. HubSpot's
/// own check is stricter in ways it does not document.
fn is_email(value: &str) -> bool {
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
    use crate::types;

    /// A property read from HubSpot's JSON for one definition.
    fn property(definition: serde_json::Value) -> Property {
        let wire: types::PropertyDefinition = serde_json::from_value(definition).unwrap();
        Property::from(wire)
    }

    fn typed(type_: &str, field_type: &str) -> Property {
        property(serde_json::json!({"name": "p", "type": type_, "fieldType": field_type}))
    }

    fn enumeration(field_type: &str) -> Property {
        property(
            serde_json::json!({"name": "p", "type": "enumeration", "fieldType": field_type,
            "options": [{"label": "Red", "value": "red"}, {"label": "Blue", "value": "blue"},
                        {"label": "Sky blue", "value": "sky blue", "hidden": true}]}),
        )
    }

    /// Checks each `(value, expected code)` row, `None` meaning accepted.
    fn table(property: &Property, rows: &[(&str, Option<ErrorCode>)]) {
        for (value, expected) in rows {
            let got = property.check(value).err().map(|error| error.code);
            assert_eq!(got, *expected, "{value:?} for {property:?}");
        }
    }

    #[test]
    fn numbers() {
        use ErrorCode::InvalidInteger as BAD;
        table(
            &typed("number", "number"),
            &[
                ("0", None),
                ("42", None),
                ("-7", None),
                ("3.14", None),
                (".5", None),
                ("5.", None),
                (" 12 ", None),
                ("", None),
                ("1,200", Some(BAD)),
                ("1 200", Some(BAD)),
                ("1.2.3", Some(BAD)),
                ("1e5", Some(BAD)),
                ("1.4210854715202004e-14", Some(BAD)),
                ("+5", Some(BAD)),
                ("-", Some(BAD)),
                (".", Some(BAD)),
                ("twelve", Some(BAD)),
                ("NaN", Some(BAD)),
                ("٣", Some(BAD)),
            ],
        );
    }

    #[test]
    fn bools() {
        use ErrorCode::InvalidOption as BAD;
        table(
            &typed("bool", "booleancheckbox"),
            &[
                ("true", None),
                ("false", None),
                ("TRUE", None),
                ("False", None),
                ("", None),
                ("yes", Some(BAD)),
                ("1", Some(BAD)),
                ("t", Some(BAD)),
                ("truee", Some(BAD)),
            ],
        );
    }

    #[test]
    fn dates_are_a_day_or_midnight_utc_in_milliseconds() {
        use ErrorCode::InvalidDate as BAD;
        table(
            &typed("date", "date"),
            &[
                ("2026-11-22", None),
                ("1795305600000", None),
                ("0", None),
                ("-86400000", None),
                ("2024-02-29", None),
                ("1795305600001", Some(BAD)),
                ("1795352460000", Some(BAD)),
                ("2023-02-29", Some(BAD)),
                ("2026-13-01", Some(BAD)),
                ("2026-1-5", Some(BAD)),
                ("22/11/2026", Some(BAD)),
                ("2026-11-22T00:00:00Z", Some(BAD)),
                ("tomorrow", Some(BAD)),
            ],
        );
    }

    #[test]
    fn a_timestamp_off_midnight_is_refused_in_hubspots_words() {
        let error = typed("date", "date").check("1795352460000").unwrap_err();
        assert_eq!(
            error.message,
            "1795352460000 is at 13:1:0.0 UTC, not midnight!"
        );
    }

    #[test]
    fn datetimes() {
        use ErrorCode::InvalidLong as BAD;
        table(
            &typed("datetime", "date"),
            &[
                ("2020-02-29T03:30:17.000Z", None),
                ("2020-02-29T03:30:17Z", None),
                ("2020-02-29T04:30:17+01:00", None),
                ("1582947017000", None),
                ("2020-02-29", None),
                ("2020-02-29 03:30", Some(BAD)),
                ("2020-02-30T03:30:17Z", Some(BAD)),
                ("29 Feb 2020", Some(BAD)),
                ("1.5", Some(BAD)),
                ("soon", Some(BAD)),
            ],
        );
    }

    #[test]
    fn single_selects_take_exactly_one_option_value() {
        use ErrorCode::InvalidOption as BAD;
        for field_type in ["select", "radio", "booleancheckbox"] {
            table(
                &enumeration(field_type),
                &[
                    ("red", None),
                    ("sky blue", None),
                    ("", None),
                    ("Red", Some(BAD)),
                    ("green", Some(BAD)),
                    ("red;blue", Some(BAD)),
                ],
            );
        }
    }

    #[test]
    fn multi_selects_check_each_option() {
        use ErrorCode::InvalidOption as BAD;
        table(
            &enumeration("checkbox"),
            &[
                ("red", None),
                ("red;blue", None),
                ("blue;red;sky blue", None),
                (";blue", None),
                ("", None),
                ("red;green", Some(BAD)),
                ("alpha;delta", Some(BAD)),
                ("red; blue", Some(BAD)),
                ("Red;Blue", Some(BAD)),
            ],
        );
        let error = enumeration("checkbox").check("red;green").unwrap_err();
        assert_eq!(
            error.message,
            "green was not one of the allowed options: [red, blue, sky blue]"
        );
    }

    #[test]
    fn enumerations_without_listed_options_accept_anything() {
        let owners = property(serde_json::json!({"name": "hubspot_owner_id",
            "type": "enumeration", "fieldType": "select", "externalOptions": true,
            "options": [{"value": "1"}]}));
        assert!(owners.check("12345").is_ok());
        assert!(enumeration("select").check("12345").is_err());
        assert!(typed("enumeration", "select").check("anything").is_ok());
    }

    #[test]
    fn long_option_lists_are_cut_short_in_the_message() {
        let options: Vec<serde_json::Value> = (0..25)
            .map(|n| serde_json::json!({"value": format!("o{n}")}))
            .collect();
        let many = property(serde_json::json!({"name": "p", "type": "enumeration",
            "fieldType": "select", "options": options}));
        let message = many.check("nope").unwrap_err().message;
        assert!(message.ends_with("o18, o19, and 5 more]"), "{message}");
    }

    #[test]
    fn emails() {
        use ErrorCode::InvalidEmail as BAD;
        let email = property(serde_json::json!({"name": "email", "type": "string",
            "fieldType": "text"}));
        table(
            &email,
            &[
                ("ada@example.com", None),
                ("First.Last+tag@Example.COM", None),
                (" ada@example.com ", None),
                ("", None),
                ("not-an-email", Some(BAD)),
                ("a@b", Some(BAD)),
                ("@b.co", Some(BAD)),
                ("a@@b.co", Some(BAD)),
                ("a b@c.co", Some(BAD)),
                ("a@b..co", Some(BAD)),
            ],
        );
        assert!(
            typed("string", "text").check("not-an-email").is_ok(),
            "only `email` is checked as an address"
        );
    }

    #[test]
    fn strings_and_unknown_types_accept_anything() {
        for (type_, field_type) in [
            ("string", "text"),
            ("phone_number", "phonenumber"),
            ("json", "text"),
        ] {
            table(
                &typed(type_, field_type),
                &[("anything;at all", None), ("1e5", None)],
            );
        }
    }

    #[test]
    fn read_only_and_calculated_properties_refuse_every_value() {
        use ErrorCode::ReadOnlyValue as BAD;
        let read_only = property(serde_json::json!({"name": "createdate", "type": "datetime",
            "modificationMetadata": {"readOnlyValue": true}}));
        let calculated = property(serde_json::json!({"name": "num_notes", "type": "number",
            "calculated": true}));
        for property in [&read_only, &calculated] {
            table(property, &[("1582947017000", Some(BAD)), ("", Some(BAD))]);
        }
        assert_eq!(
            calculated.check("3").unwrap_err().message,
            "\"num_notes\" is a calculated property; its value cannot be set."
        );
        assert_eq!(
            read_only.check("3").unwrap_err().message,
            "\"createdate\" is a read only property; its value cannot be set."
        );
    }

    proptest::proptest! {
        #[test]
        fn every_text_gets_a_verdict_and_accepted_numbers_read_as_plain_decimals(
            value in "\\PC{0,24}|-?[0-9.,e+ ]{0,12}"
        ) {
            for (type_, field_type) in [("bool", "booleancheckbox"), ("date", "date"),
                ("datetime", "date"), ("string", "text")] {
                let _ = typed(type_, field_type).check(&value);
            }
            let _ = enumeration("checkbox").check(&value);
            let accepted = typed("number", "number").check(&value).is_ok();
            let trimmed = value.trim();
            if accepted && !trimmed.is_empty() {
                proptest::prop_assert!(trimmed.parse::<f64>().is_ok(), "{:?}", value);
                proptest::prop_assert!(!trimmed.contains(['e', 'E', '+', ',']), "{:?}", value);
            }
        }

        #[test]
        fn midnights_are_dates_and_every_other_millisecond_is_not(
            day in -100_000i64..100_000,
            offset in 1i64..MILLIS_PER_DAY,
        ) {
            let date = typed("date", "date");
            let midnight = day * MILLIS_PER_DAY;
            proptest::prop_assert!(date.check(&midnight.to_string()).is_ok());
            let error = date.check(&(midnight + offset).to_string()).unwrap_err();
            proptest::prop_assert_eq!(error.code, ErrorCode::InvalidDate);
        }
    }
}
