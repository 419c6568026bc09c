//! Whether a value fits a property's kind, as HubSpot judges writes (hubspot-2026-facts
//! §5.2): the refusal code and message for each kind. Pure.

use chrono::{DateTime, NaiveDate};

use super::property::PropertyKind;

const MILLIS_PER_DAY: i64 = 86_400_000;

/// Why a non-empty value does not fit `kind`: HubSpot's code and message. Surrounding
/// whitespace is ignored, as HubSpot ignores it on typed values.
pub(super) fn refusal(kind: &PropertyKind, value: &str) -> Option<(&'static str, String)> {
    let value = value.trim();
    match kind {
        PropertyKind::Text => None,
        PropertyKind::Email if is_valid_email(value) => None,
        PropertyKind::Email => Some(("INVALID_EMAIL", format!("Email address {value} is invalid"))),
        PropertyKind::Number if is_decimal(value) => None,
        PropertyKind::Number => Some((
            "INVALID_INTEGER",
            format!("{value} was not a valid number."),
        )),
        PropertyKind::Bool if value.eq_ignore_ascii_case("true") => None,
        PropertyKind::Bool if value.eq_ignore_ascii_case("false") => None,
        PropertyKind::Bool => Some(not_an_option(value, &kind.options())),
        PropertyKind::Date => date_refusal(value).map(|message| ("INVALID_DATE", message)),
        PropertyKind::Datetime if is_datetime(value) => None,
        PropertyKind::Datetime => Some(("INVALID_LONG", format!("{value} was not a valid long."))),
        PropertyKind::Enumeration(options) if options.iter().any(|o| o == value) => None,
        PropertyKind::Enumeration(options) => Some(not_an_option(value, options)),
        PropertyKind::MultiSelect(options) => value
            .split(';')
            .find(|part| !part.is_empty() && !options.iter().any(|o| o == part))
            .map(|part| not_an_option(part, options)),
    }
}

fn not_an_option(value: &str, options: &[String]) -> (&'static str, String) {
    (
        "INVALID_OPTION",
        format!(
            "{value} was not one of the allowed options: [{}]",
            options.join(", ")
        ),
    )
}

/// An optional `-`, then digits with at most one decimal point: no exponent (HubSpot
/// refused `1.4210854715202004e-14`), no thousands separators.
fn is_decimal(value: &str) -> bool {
    let unsigned = value.strip_prefix('-').unwrap_or(value);
    let digits = unsigned.chars().filter(char::is_ascii_digit).count();
    let points = unsigned.chars().filter(|c| *c == '.').count();
    digits > 0 && points <= 1 && digits + points == unsigned.chars().count()
}

/// `None` for `YYYY-MM-DD` or epoch milliseconds at midnight UTC; otherwise HubSpot's
/// message (`<ms> is at 13:1:0.0 UTC, not midnight!` for a timestamp in the day).
fn date_refusal(value: &str) -> Option<String> {
    if let Ok(millis) = value.parse::<i64>() {
        let into_day = millis.rem_euclid(MILLIS_PER_DAY);
        return (into_day != 0).then(|| {
            format!(
                "{value} is at {}:{}:{}.{} UTC, not midnight!",
                into_day / 3_600_000,
                into_day / 60_000 % 60,
                into_day / 1000 % 60,
                into_day % 1000
            )
        });
    }
    (!is_day(value)).then(|| format!("{value} is not a valid date"))
}

/// Exactly `YYYY-MM-DD`, naming a real day.
fn is_day(value: &str) -> bool {
    value.len() == 10 && NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok()
}

/// Epoch milliseconds, RFC 3339 (ISO 8601 with `Z` or an offset), or a plain day.
fn is_datetime(value: &str) -> bool {
    value.parse::<i64>().is_ok() || DateTime::parse_from_rfc3339(value).is_ok() || is_day(value)
}

/// A deliberately simple email check: one `@`, a non-empty local part without spaces,
/// and a domain with a dot, no spaces and no empty labels.
fn is_valid_email(value: &str) -> bool {
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

    /// Checks `(value, expected code)` rows for `kind`; `None` means accepted.
    fn table(kind: &PropertyKind, rows: &[(&str, Option<&str>)]) {
        for (value, expected) in rows {
            let got = refusal(kind, value).map(|(code, _)| code);
            assert_eq!(got, *expected, "{value:?} as {kind:?}");
        }
    }

    #[test]
    fn emails() {
        for good in ["a@b.co", "First.Last+tag@Example.COM", "x@sub.domain.org"] {
            assert!(is_valid_email(good), "{good}");
        }
        for bad in [
            "", "a", "a@", "@b.co", "a@b", "a@@b.co", "a b@c.co", "a@b..co", "a@b.co.",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
        table(
            &PropertyKind::Email,
            &[(" a@b.co ", None), ("nope", Some("INVALID_EMAIL"))],
        );
    }

    #[test]
    fn numbers() {
        let bad = Some("INVALID_INTEGER");
        table(
            &PropertyKind::Number,
            &[
                ("42", None),
                ("-7", None),
                ("3.14", None),
                (" 12 ", None),
                (".5", None),
                ("1,200", bad),
                ("1e5", bad),
                ("1.2.3", bad),
                ("+5", bad),
                ("-", bad),
                ("twelve", bad),
            ],
        );
        assert_eq!(
            refusal(&PropertyKind::Number, "1,200")
                .map(|(_, m)| m)
                .as_deref(),
            Some("1,200 was not a valid number.")
        );
    }

    #[test]
    fn bools() {
        let bad = Some("INVALID_OPTION");
        table(
            &PropertyKind::Bool,
            &[("true", None), ("FALSE", None), ("yes", bad), ("1", bad)],
        );
    }

    #[test]
    fn dates() {
        let bad = Some("INVALID_DATE");
        table(
            &PropertyKind::Date,
            &[
                ("2026-11-22", None),
                ("1795305600000", None),
                ("-86400000", None),
                ("1795352460000", bad),
                ("2023-02-29", bad),
                ("2026-1-5", bad),
                ("22/11/2026", bad),
                ("2026-11-22T00:00:00Z", bad),
            ],
        );
        assert_eq!(
            refusal(&PropertyKind::Date, "1795352460000")
                .map(|(_, m)| m)
                .as_deref(),
            Some("1795352460000 is at 13:1:0.0 UTC, not midnight!")
        );
    }

    #[test]
    fn datetimes() {
        let bad = Some("INVALID_LONG");
        table(
            &PropertyKind::Datetime,
            &[
                ("2020-02-29T03:30:17.000Z", None),
                ("2020-02-29T04:30:17+01:00", None),
                ("1582947017000", None),
                ("2020-02-29", None),
                ("2020-02-29 03:30", bad),
                ("soon", bad),
            ],
        );
    }

    #[test]
    fn enumerations_take_one_option_and_multi_selects_each_part() {
        let options = vec!["red".to_owned(), "blue".to_owned()];
        let bad = Some("INVALID_OPTION");
        table(
            &PropertyKind::Enumeration(options.clone()),
            &[("red", None), ("Red", bad), ("red;blue", bad)],
        );
        table(
            &PropertyKind::MultiSelect(options),
            &[
                ("red", None),
                ("red;blue", None),
                (";blue", None),
                ("red;green", bad),
                ("red; blue", bad),
            ],
        );
        let kind = PropertyKind::MultiSelect(vec!["alpha".into(), "beta".into()]);
        assert_eq!(
            refusal(&kind, "alpha;delta").map(|(_, m)| m).as_deref(),
            Some("delta was not one of the allowed options: [alpha, beta]")
        );
    }

    #[test]
    fn text_takes_anything() {
        table(&PropertyKind::Text, &[("1e5;x", None), ("  ", None)]);
    }
}
