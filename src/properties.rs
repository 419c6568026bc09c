//! Typed property values, encoded the way HubSpot stores them.
//!
//! HubSpot's API takes every property value as a string. [`PropertyValue`]
//! converts Rust values into those strings so callers need not remember the
//! encodings:
//!
//! | Rust value | HubSpot string |
//! |---|---|
//! | `&str`, `String` | as is |
//! | `bool` | `true` / `false` |
//! | integers | decimal digits |
//! | `f64`, `f32` | shortest decimal form, never an exponent; NaN and infinity are refused |
//! | [`PropertyValue::date`] | midnight UTC of that day, in epoch milliseconds |
//! | [`PropertyValue::datetime`] | epoch milliseconds |
//! | [`PropertyValue::multi`] | options joined with `;` |
//! | [`PropertyValue::clear`] | the empty string, which clears the value |
//!
//! ```
//! use chrono::NaiveDate;
//! use hubspot_contacts_batch::PropertyValue;
//!
//! assert_eq!(PropertyValue::from(true).as_str(), Some("true"));
//! assert_eq!(PropertyValue::from(1.5).as_str(), Some("1.5"));
//! let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
//! assert_eq!(PropertyValue::date(day).as_str(), Some("1795305600000"));
//! assert_eq!(PropertyValue::multi(["red", "blue"]).as_str(), Some("red;blue"));
//! assert_eq!(PropertyValue::clear().as_str(), Some(""));
//! ```

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

/// One property value in HubSpot's string encoding, or the reason the Rust
/// value has none (reported for the input that carries it, before sending).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropertyValue(Result<String, String>);

impl PropertyValue {
    /// The value that clears a property: the empty string.
    pub fn clear() -> Self {
        Self(Ok(String::new()))
    }

    /// A date property: midnight UTC of `day` in epoch milliseconds, the only
    /// form HubSpot accepts for date (not datetime) properties.
    pub fn date(day: NaiveDate) -> Self {
        let midnight = Utc.from_utc_datetime(&day.and_time(chrono::NaiveTime::MIN));
        Self(Ok(midnight.timestamp_millis().to_string()))
    }

    /// A datetime property, in epoch milliseconds.
    pub fn datetime<Tz: TimeZone>(at: DateTime<Tz>) -> Self {
        Self(Ok(at.timestamp_millis().to_string()))
    }

    /// A multi-select (checkbox) property: the options joined with `;`. An
    /// option that itself contains `;` cannot be encoded and is refused.
    pub fn multi<I, S>(options: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut joined = String::new();
        for (position, option) in options.into_iter().enumerate() {
            let option = option.as_ref();
            if option.contains(';') {
                return Self(Err(format!(
                    "multi-select option {option:?} contains ';', which HubSpot uses as the separator"
                )));
            }
            if position > 0 {
                joined.push(';');
            }
            joined.push_str(option);
        }
        Self(Ok(joined))
    }

    /// The encoded string, or `None` when the value could not be encoded.
    pub fn as_str(&self) -> Option<&str> {
        self.0.as_deref().ok()
    }

    /// The encoded string, or why the value could not be encoded.
    pub fn into_encoded(self) -> Result<String, String> {
        self.0
    }

    fn decimal(value: f64) -> Self {
        if value.is_finite() {
            // Rust's `Display` for floats never uses exponent notation and
            // prints the shortest string that reads back as the same number.
            Self(Ok(value.to_string()))
        } else {
            Self(Err(format!("{value} is not a number HubSpot can store")))
        }
    }
}

impl From<&str> for PropertyValue {
    fn from(value: &str) -> Self {
        Self(Ok(value.to_owned()))
    }
}

impl From<String> for PropertyValue {
    fn from(value: String) -> Self {
        Self(Ok(value))
    }
}

impl From<&String> for PropertyValue {
    fn from(value: &String) -> Self {
        Self(Ok(value.clone()))
    }
}

impl From<bool> for PropertyValue {
    fn from(value: bool) -> Self {
        Self(Ok(if value { "true" } else { "false" }.to_owned()))
    }
}

impl From<f64> for PropertyValue {
    fn from(value: f64) -> Self {
        Self::decimal(value)
    }
}

impl From<f32> for PropertyValue {
    fn from(value: f32) -> Self {
        // Through the shortest f32 text, so 0.1f32 is "0.1", not 0.10000000149.
        match value.to_string().parse::<f64>() {
            Ok(widened) => Self::decimal(widened),
            Err(_) => Self::decimal(f64::NAN),
        }
    }
}

macro_rules! integer_values {
    ($($int:ty),*) => {$(
        impl From<$int> for PropertyValue {
            fn from(value: $int) -> Self {
                Self(Ok(value.to_string()))
            }
        }
    )*};
}
integer_values!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize
);

impl From<NaiveDate> for PropertyValue {
    fn from(day: NaiveDate) -> Self {
        Self::date(day)
    }
}

impl<Tz: TimeZone> From<DateTime<Tz>> for PropertyValue {
    fn from(at: DateTime<Tz>) -> Self {
        Self::datetime(at)
    }
}

impl<T: Into<PropertyValue>> From<Option<T>> for PropertyValue {
    /// `None` clears the property.
    fn from(value: Option<T>) -> Self {
        value.map_or_else(Self::clear, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_encode_as_hubspot_strings() {
        let cases: Vec<(PropertyValue, &str)> = vec![
            ("Ada".into(), "Ada"),
            (String::from("x").into(), "x"),
            (false.into(), "false"),
            (42u8.into(), "42"),
            ((-7i64).into(), "-7"),
            (u64::MAX.into(), "18446744073709551615"),
            (0.1f64.into(), "0.1"),
            (0.1f32.into(), "0.1"),
            (1e21f64.into(), "1000000000000000000000"),
            ((-2.5f64).into(), "-2.5"),
            (None::<&str>.into(), ""),
            (Some(3i32).into(), "3"),
        ];
        for (value, expected) in cases {
            assert_eq!(value.as_str(), Some(expected));
        }
    }

    #[test]
    fn non_finite_numbers_are_refused_with_a_reason() {
        for value in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let error = PropertyValue::from(value).into_encoded().unwrap_err();
            assert!(error.contains("not a number"), "{error}");
        }
    }

    #[test]
    fn dates_are_midnight_utc_in_milliseconds() {
        let day = NaiveDate::from_ymd_opt(1970, 1, 2).unwrap();
        assert_eq!(PropertyValue::date(day).as_str(), Some("86400000"));
        assert_eq!(PropertyValue::from(day).as_str(), Some("86400000"));
    }

    #[test]
    fn datetimes_are_epoch_milliseconds_whatever_the_zone() {
        let utc = Utc.with_ymd_and_hms(2026, 11, 22, 10, 30, 0).unwrap();
        let offset = utc.with_timezone(&chrono::FixedOffset::east_opt(3600).unwrap());
        assert_eq!(PropertyValue::datetime(utc).as_str(), Some("1795343400000"));
        assert_eq!(PropertyValue::from(offset).as_str(), Some("1795343400000"));
    }

    #[test]
    fn multi_select_joins_with_semicolons_and_refuses_embedded_ones() {
        assert_eq!(
            PropertyValue::multi(["a", "b", "c"]).as_str(),
            Some("a;b;c")
        );
        assert_eq!(
            PropertyValue::multi(Vec::<String>::new()).as_str(),
            Some("")
        );
        assert!(PropertyValue::multi(["a;b"]).as_str().is_none());
    }
}
