//! The rate-limit specification: [`RateLimit`] and its grammar (`100/10s`,
//! `professional`, `off`), one crate so that the `hubspot-contacts-batch` SDK
//! (as `policy::RateLimit`), the `hubspot-contacts` CLI and `hubspot-fake`
//! read `--rate-limit` the same way.

#![forbid(unsafe_code)]
#![warn(missing_docs, rust_2018_idioms, unreachable_pub)]

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A request quota: at most `max` request starts per rolling `window`, or
/// no client-side limit at all.
///
/// The presets follow HubSpot's usage guidelines (per app, per rolling 10 s).
/// The SDK's limiter adapts to the portal's real figures after the first
/// response anyway (its `ClientBuilder::adaptive_rate_limit`), so the preset
/// only matters until then; the conservative
/// [`FREE_STARTER`](Self::FREE_STARTER) is the safe default.
///
/// It parses from the grammar of `--rate-limit` (see the [`FromStr`] impl):
///
/// ```
/// use std::time::Duration;
/// use hubspot_rate_limit::RateLimit;
///
/// assert_eq!("190/10s".parse::<RateLimit>().unwrap(), RateLimit::PROFESSIONAL_ENTERPRISE);
/// assert_eq!("starter".parse::<RateLimit>().unwrap(), RateLimit::FREE_STARTER);
/// assert_eq!(
///     "50/500ms".parse::<RateLimit>().unwrap(),
///     RateLimit::custom(50, Duration::from_millis(500))
/// );
/// assert_eq!("off".parse::<RateLimit>().unwrap(), RateLimit::Unlimited);
/// assert_eq!(RateLimit::LIMIT_INCREASE.to_string(), "250/10s");
/// assert!("100/0s".parse::<RateLimit>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateLimit {
    /// No client-side limiting: requests go out as fast as the caller sends
    /// them. 429s are still handled by the retry decision.
    Unlimited,
    /// At most `max` request starts in any rolling `window`.
    Quota {
        /// Requests per window (at least 1).
        max: u32,
        /// The window length (at least 1 ms, at most
        /// [`MAX_WINDOW`](RateLimit::MAX_WINDOW)).
        window: Duration,
    },
}

const TEN_SECONDS: Duration = Duration::from_secs(10);

impl RateLimit {
    /// Free and Starter: 100 requests per rolling 10 s per app.
    pub const FREE_STARTER: RateLimit = RateLimit::custom(100, TEN_SECONDS);
    /// Professional and Enterprise: 190 requests per rolling 10 s per app.
    pub const PROFESSIONAL_ENTERPRISE: RateLimit = RateLimit::custom(190, TEN_SECONDS);
    /// With the API limit increase (any tier): 250 per rolling 10 s per app
    /// (one older HubSpot page says 200; the adaptive limiter corrects
    /// either way).
    pub const LIMIT_INCREASE: RateLimit = RateLimit::custom(250, TEN_SECONDS);

    /// The longest window a quota may have: one day. HubSpot's rolling
    /// windows are 1 s or 10 s (its daily budget is a separate limit); the
    /// bound keeps every instant the limiter computes far from overflow.
    pub const MAX_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

    /// A custom quota. `max` is raised to at least 1 and `window` to at least
    /// 1 ms, since a zero quota could never admit a request; `window` is
    /// lowered to at most [`MAX_WINDOW`](Self::MAX_WINDOW).
    pub const fn custom(max: u32, window: Duration) -> RateLimit {
        let max = if max == 0 { 1 } else { max };
        let window = if window.as_millis() == 0 {
            Duration::from_millis(1)
        } else if window.as_nanos() > RateLimit::MAX_WINDOW.as_nanos() {
            RateLimit::MAX_WINDOW
        } else {
            window
        };
        RateLimit::Quota { max, window }
    }

    /// Requests per window, `None` when unlimited.
    pub fn max(&self) -> Option<u32> {
        match self {
            RateLimit::Unlimited => None,
            RateLimit::Quota { max, .. } => Some(*max),
        }
    }

    /// The window, `None` when unlimited.
    pub fn window(&self) -> Option<Duration> {
        match self {
            RateLimit::Unlimited => None,
            RateLimit::Quota { window, .. } => Some(*window),
        }
    }
}

impl Default for RateLimit {
    /// [`RateLimit::FREE_STARTER`]: right for the smallest plan, and the
    /// adaptive limiter raises it after the first response on larger ones.
    fn default() -> Self {
        RateLimit::FREE_STARTER
    }
}

impl fmt::Display for RateLimit {
    /// `100/10s`, `50/500ms`, or `unlimited`; the output parses back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RateLimit::Unlimited => f.write_str("unlimited"),
            RateLimit::Quota { max, window } => {
                let ms = window.as_millis();
                if ms % 1000 == 0 && window.subsec_nanos() % 1_000_000 == 0 {
                    write!(f, "{max}/{}s", ms / 1000)
                } else {
                    write!(f, "{max}/{ms}ms")
                }
            }
        }
    }
}

/// Why a rate-limit specification could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseRateLimitError {
    /// Nothing but whitespace.
    #[error(
        "the rate limit is empty: expected <max>/<window> (e.g. 100/10s, 190/1s, 50/500ms), \
         a plan (free, starter, professional, enterprise, increase) or off"
    )]
    Empty,
    /// Neither a plan name nor `<max>/<window>`.
    #[error(
        "unknown rate limit {0:?}: expected <max>/<window> (e.g. 100/10s, 190/1s, 50/500ms), \
         a plan (free, starter, professional, enterprise, increase) or off"
    )]
    Unrecognised(String),
    /// The request count is not a whole number from 1 to `u32::MAX`.
    #[error(
        "invalid request count {0:?} in rate limit: expected a whole number from 1 to {max}",
        max = u32::MAX
    )]
    InvalidMax(String),
    /// The window is not a positive whole number with a unit of ms, s or m.
    #[error("invalid window {0:?} in rate limit: expected e.g. 10s, 1s, 500ms or 1m")]
    InvalidWindow(String),
    /// The window is longer than [`RateLimit::MAX_WINDOW`].
    #[error("window {0:?} in rate limit is too long: at most one day (86400s, 1440m)")]
    WindowTooLong(String),
}

impl FromStr for RateLimit {
    type Err = ParseRateLimitError;

    /// Parses, case-insensitively and ignoring surrounding whitespace:
    ///
    /// * `<max>/<window>`: `100/10s`, `190/1s`, `250/10 s`, `50/500ms`,
    ///   `600/1m`, or a bare number of seconds, `100/10`. `max` is a whole
    ///   number from 1 to `u32::MAX`; the window is a whole number above 0 of
    ///   `ms`, `s` or `m`, at most [`RateLimit::MAX_WINDOW`];
    /// * a plan: `free`, `starter` ([`RateLimit::FREE_STARTER`]),
    ///   `professional`, `pro`, `enterprise`
    ///   ([`RateLimit::PROFESSIONAL_ENTERPRISE`]), `increase`,
    ///   `limit-increase` ([`RateLimit::LIMIT_INCREASE`]);
    /// * `off`, `unlimited` or `none`: [`RateLimit::Unlimited`].
    ///
    /// Never panics: an out-of-range number is an error like any other.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let spec = s.trim().to_ascii_lowercase();
        match spec.as_str() {
            "" => return Err(ParseRateLimitError::Empty),
            "free" | "starter" | "free-starter" | "free_starter" => {
                return Ok(RateLimit::FREE_STARTER);
            }
            "professional"
            | "pro"
            | "enterprise"
            | "professional-enterprise"
            | "professional_enterprise" => return Ok(RateLimit::PROFESSIONAL_ENTERPRISE),
            "increase" | "limit-increase" | "limit_increase" => {
                return Ok(RateLimit::LIMIT_INCREASE);
            }
            "unlimited" | "off" | "none" => return Ok(RateLimit::Unlimited),
            _ => {}
        }
        let (max, window) = spec
            .split_once('/')
            .ok_or_else(|| ParseRateLimitError::Unrecognised(s.to_string()))?;
        let (max, window) = (max.trim(), window.trim());
        let max = max
            .parse::<u32>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| ParseRateLimitError::InvalidMax(max.to_string()))?;
        let window = match parse_window(window) {
            Window::Valid(window) => window,
            Window::Invalid => return Err(ParseRateLimitError::InvalidWindow(window.to_string())),
            Window::TooLong => return Err(ParseRateLimitError::WindowTooLong(window.to_string())),
        };
        Ok(RateLimit::Quota { max, window })
    }
}

/// What [`parse_window`] made of a window.
enum Window {
    Valid(Duration),
    Invalid,
    TooLong,
}

/// `10s`, `10 s`, `500ms`, `1m`, `10` (seconds); positive, at most
/// [`RateLimit::MAX_WINDOW`]. Only ASCII digits count as digits.
fn parse_window(s: &str) -> Window {
    // `find` returns a char boundary, so the split is safe for any UTF-8.
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let unit_ms: u64 = match unit.trim() {
        "" | "s" | "sec" | "secs" | "second" | "seconds" => 1_000,
        "ms" | "millis" | "milliseconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60_000,
        _ => return Window::Invalid,
    };
    if number.is_empty() {
        return Window::Invalid;
    }
    // All ASCII digits, so a failed parse can only be an overflow.
    let Ok(number) = number.parse::<u64>() else {
        return Window::TooLong;
    };
    if number == 0 {
        return Window::Invalid;
    }
    match number.checked_mul(unit_ms).map(Duration::from_millis) {
        Some(window) if window <= RateLimit::MAX_WINDOW => Window::Valid(window),
        _ => Window::TooLong,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn parses_quotas_and_presets() {
        let ok = [
            ("100/10s", RateLimit::FREE_STARTER),
            ("190/10s", RateLimit::PROFESSIONAL_ENTERPRISE),
            ("250/10s", RateLimit::LIMIT_INCREASE),
            ("190/1s", RateLimit::custom(190, SEC)),
            ("50/500ms", RateLimit::custom(50, ms(500))),
            (" 100 / 10 s ", RateLimit::FREE_STARTER),
            ("100/10", RateLimit::FREE_STARTER),
            ("600/1m", RateLimit::custom(600, SEC * 60)),
            ("100/10SEC", RateLimit::FREE_STARTER),
            ("4294967295/1s", RateLimit::custom(u32::MAX, SEC)),
            ("1/86400s", RateLimit::custom(1, RateLimit::MAX_WINDOW)),
            ("1/1440m", RateLimit::custom(1, RateLimit::MAX_WINDOW)),
            ("free", RateLimit::FREE_STARTER),
            ("Starter", RateLimit::FREE_STARTER),
            ("professional", RateLimit::PROFESSIONAL_ENTERPRISE),
            ("pro", RateLimit::PROFESSIONAL_ENTERPRISE),
            ("ENTERPRISE", RateLimit::PROFESSIONAL_ENTERPRISE),
            ("increase", RateLimit::LIMIT_INCREASE),
            ("limit-increase", RateLimit::LIMIT_INCREASE),
            ("unlimited", RateLimit::Unlimited),
            ("off", RateLimit::Unlimited),
            (" none\n", RateLimit::Unlimited),
        ];
        for (spec, expected) in ok {
            assert_eq!(spec.parse::<RateLimit>(), Ok(expected), "{spec:?}");
        }
    }

    #[test]
    fn rejects_bad_specs_with_a_clear_error_and_never_panics() {
        use ParseRateLimitError::*;
        let bad = [
            ("", Empty),
            ("  \t", Empty),
            ("fast", Unrecognised("fast".into())),
            ("0/10s", InvalidMax("0".into())),
            ("0/1s", InvalidMax("0".into())),
            ("-1/10s", InvalidMax("-1".into())),
            ("x/10s", InvalidMax("x".into())),
            ("/10s", InvalidMax(String::new())),
            ("4294967296/1s", InvalidMax("4294967296".into())),
            (
                "99999999999999999999999/1s",
                InvalidMax("99999999999999999999999".into()),
            ),
            ("100/0s", InvalidWindow("0s".into())),
            ("1/0s", InvalidWindow("0s".into())),
            ("1/0ms", InvalidWindow("0ms".into())),
            ("100/", InvalidWindow(String::new())),
            ("100/10h", InvalidWindow("10h".into())),
            ("100/1.5s", InvalidWindow("1.5s".into())),
            ("100/s", InvalidWindow("s".into())),
            ("100/-1s", InvalidWindow("-1s".into())),
            ("100/10s/2", InvalidWindow("10s/2".into())),
            ("1/86401s", WindowTooLong("86401s".into())),
            ("1/1441m", WindowTooLong("1441m".into())),
            (
                "5/9999999999999999999s",
                WindowTooLong("9999999999999999999s".into()),
            ),
            (
                "5/18446744073709551615m",
                WindowTooLong("18446744073709551615m".into()),
            ),
            (
                "100/99999999999999999999m",
                WindowTooLong("99999999999999999999m".into()),
            ),
            // Unicode: only ASCII digits and units count; nothing panics on
            // a multi-byte character at a split point.
            ("１００/10s", InvalidMax("１００".into())),
            ("١٠٠/10s", InvalidMax("١٠٠".into())),
            ("100/１0s", InvalidWindow("１0s".into())),
            ("100/10ｓ", InvalidWindow("10ｓ".into())),
            ("100/10秒", InvalidWindow("10秒".into())),
            ("100/é", InvalidWindow("é".into())),
            ("ｆｒｅｅ", Unrecognised("ｆｒｅｅ".into())),
            ("🚀", Unrecognised("🚀".into())),
            ("1🚀/1s", InvalidMax("1🚀".into())),
        ];
        for (spec, expected) in bad {
            let error = spec.parse::<RateLimit>().expect_err(spec);
            assert_eq!(error, expected, "{spec:?}");
            // Every message says what was expected.
            let message = error.to_string();
            assert!(
                message.contains("expected") || message.contains("at most"),
                "{message}"
            );
        }
        assert!(
            "4294967296/1s"
                .parse::<RateLimit>()
                .expect_err("too many")
                .to_string()
                .contains("from 1 to 4294967295")
        );
    }

    #[test]
    fn display_round_trips() {
        for limit in [
            RateLimit::FREE_STARTER,
            RateLimit::custom(190, SEC),
            RateLimit::custom(50, ms(500)),
            RateLimit::custom(7, ms(1500)),
            RateLimit::custom(u32::MAX, RateLimit::MAX_WINDOW),
            RateLimit::Unlimited,
        ] {
            assert_eq!(limit.to_string().parse::<RateLimit>(), Ok(limit));
        }
        assert_eq!(RateLimit::custom(50, ms(500)).to_string(), "50/500ms");
    }

    #[test]
    fn custom_clamps_zero_and_huge_quotas() {
        assert_eq!(
            RateLimit::custom(0, Duration::ZERO),
            RateLimit::Quota {
                max: 1,
                window: ms(1)
            }
        );
        assert_eq!(
            RateLimit::custom(1, Duration::MAX).window(),
            Some(RateLimit::MAX_WINDOW)
        );
        assert_eq!(RateLimit::Unlimited.max(), None);
        assert_eq!(RateLimit::FREE_STARTER.window(), Some(SEC * 10));
    }
}
