//! `--rate-limit`: a HubSpot plan preset or `MAX/WINDOW`. Pure.
//!
//! TODO(sdk): the SDK's transport policy will bring `ClientBuilder::rate_limit`
//! and a `FromStr` rate-limit type with the same grammar. Until it lands, the
//! CLI parses and validates the flag here and the client is built without it.

use std::{fmt, str::FromStr, time::Duration};

/// The HubSpot plan presets `--rate-limit` accepts.
pub const PRESETS: [&str; 5] = ["free", "starter", "professional", "enterprise", "increase"];

/// A parsed `--rate-limit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RateLimitArg {
    /// A plan preset (one of [`PRESETS`]).
    Preset(&'static str),
    /// At most `max` requests per rolling `window`.
    Window {
        /// Requests allowed per window.
        max: u32,
        /// The window.
        window: Duration,
    },
}

impl FromStr for RateLimitArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if let Some(preset) = PRESETS.iter().find(|p| p.eq_ignore_ascii_case(text)) {
            return Ok(RateLimitArg::Preset(preset));
        }
        let usage = || {
            format!(
                "{text:?} is not a rate limit: use a plan ({}) or MAX/WINDOW such as 100/10s",
                PRESETS.join(", ")
            )
        };
        let (max, window) = text.split_once('/').ok_or_else(usage)?;
        let max: u32 = max.trim().parse().map_err(|_| usage())?;
        let window = parse_window(window.trim()).ok_or_else(usage)?;
        if max == 0 || window.is_zero() {
            return Err(format!(
                "{text:?}: the rate limit must allow at least one request in a non-empty window"
            ));
        }
        Ok(RateLimitArg::Window { max, window })
    }
}

/// `10s`, `500ms`, `1m`; a bare number is seconds.
fn parse_window(text: &str) -> Option<Duration> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    match unit {
        "ms" => Some(Duration::from_millis(number)),
        "" | "s" => Some(Duration::from_secs(number)),
        "m" => number.checked_mul(60).map(Duration::from_secs),
        _ => None,
    }
}

impl fmt::Display for RateLimitArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RateLimitArg::Preset(name) => f.write_str(name),
            RateLimitArg::Window { max, window } => write!(f, "{max}/{}ms", window.as_millis()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_and_windows_parse() {
        assert_eq!("Starter".parse(), Ok(RateLimitArg::Preset("starter")));
        assert_eq!(
            "100/10s".parse(),
            Ok(RateLimitArg::Window {
                max: 100,
                window: Duration::from_secs(10)
            })
        );
        assert_eq!(
            "5/500ms".parse::<RateLimitArg>().map(|r| r.to_string()),
            Ok("5/500ms".to_owned())
        );
        assert_eq!(
            "190/1m".parse(),
            Ok(RateLimitArg::Window {
                max: 190,
                window: Duration::from_secs(60)
            })
        );
    }

    #[test]
    fn nonsense_is_refused_with_the_grammar() {
        for bad in [
            "", "fast", "100", "x/10s", "100/10h", "0/10s", "10/0s", "-1/10s",
        ] {
            let error = bad.parse::<RateLimitArg>().unwrap_err();
            assert!(error.contains("rate limit"), "{bad}: {error}");
        }
    }
}
