//! Reading HubSpot's rate-limit signals from a response: the
//! `X-HubSpot-RateLimit-*` headers, `Retry-After`, `Date` and the 429 body.
//!
//! Everything here is a pure function of the response; nothing panics on
//! malformed input (a header or body that cannot be understood reads as
//! "absent").

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{DATE, HeaderMap, RETRY_AFTER};

/// `X-HubSpot-RateLimit-Max`: requests allowed per interval.
pub(crate) const HEADER_MAX: &str = "x-hubspot-ratelimit-max";
/// `X-HubSpot-RateLimit-Remaining`: requests left in the current interval.
pub(crate) const HEADER_REMAINING: &str = "x-hubspot-ratelimit-remaining";
/// `X-HubSpot-RateLimit-Interval-Milliseconds`: the interval of Max/Remaining.
pub(crate) const HEADER_INTERVAL_MS: &str = "x-hubspot-ratelimit-interval-milliseconds";
/// `X-HubSpot-RateLimit-Daily`: requests allowed per day.
pub(crate) const HEADER_DAILY: &str = "x-hubspot-ratelimit-daily";
/// `X-HubSpot-RateLimit-Daily-Remaining`: requests left today.
pub(crate) const HEADER_DAILY_REMAINING: &str = "x-hubspot-ratelimit-daily-remaining";

/// The `X-HubSpot-RateLimit-*` headers of one response.
///
/// HubSpot documents five headers (usage guidelines, "Rate limit headers"):
/// `Max`, `Remaining` and `Interval-Milliseconds` describe the ten-secondly
/// (burst) limit, `Daily` and `Daily-Remaining` the daily one. Daily headers
/// are not sent for OAuth-authorised calls, and some endpoints send none at
/// all, so every field is optional. A value that is not a plain non-negative
/// integer reads as `None`; so do a `Max` or an interval of zero, which
/// would describe a limit no client can meet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RateLimitHeaders {
    /// `X-HubSpot-RateLimit-Max`: requests allowed per [`interval`](Self::interval).
    pub(crate) max: Option<u32>,
    /// `X-HubSpot-RateLimit-Remaining`: requests left in the current interval.
    pub(crate) remaining: Option<u32>,
    /// `X-HubSpot-RateLimit-Interval-Milliseconds`, as a duration.
    pub(crate) interval: Option<Duration>,
    /// `X-HubSpot-RateLimit-Daily`: requests allowed per day.
    pub(crate) daily: Option<u64>,
    /// `X-HubSpot-RateLimit-Daily-Remaining`: requests left today.
    pub(crate) daily_remaining: Option<u64>,
}

impl RateLimitHeaders {
    /// Reads the rate-limit headers of a response (header names are
    /// case-insensitive). Never fails: unparsable values are `None`.
    pub(crate) fn from_headers(headers: &HeaderMap) -> RateLimitHeaders {
        RateLimitHeaders {
            max: header_u64(headers, HEADER_MAX)
                .filter(|&n| n > 0)
                .and_then(|n| u32::try_from(n).ok()),
            remaining: header_u64(headers, HEADER_REMAINING).map(saturate_u32),
            interval: header_u64(headers, HEADER_INTERVAL_MS)
                .filter(|&ms| ms > 0)
                .map(Duration::from_millis),
            daily: header_u64(headers, HEADER_DAILY),
            daily_remaining: header_u64(headers, HEADER_DAILY_REMAINING),
        }
    }

    #[cfg(test)]
    /// Whether none of the headers was present (or parsable).
    pub(crate) fn is_empty(&self) -> bool {
        *self == RateLimitHeaders::default()
    }

    /// Whether the response says the daily budget is spent
    /// (`X-HubSpot-RateLimit-Daily-Remaining: 0`).
    pub(crate) fn daily_exhausted(&self) -> bool {
        self.daily_remaining == Some(0)
    }
}

fn saturate_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The first value of `name` as a non-negative integer, leniently trimmed.
fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok()
}

/// The `Date` header of a response: the server's clock, in UTC.
pub(crate) fn response_date(headers: &HeaderMap) -> Option<DateTime<Utc>> {
    parse_http_date(headers.get(DATE)?.to_str().ok()?)
}

/// The wait a response asks for in `Retry-After`, if any.
///
/// `Retry-After` is either a number of seconds or an HTTP-date (RFC 9110
/// §10.2.3). HubSpot does not document it at all and third parties disagree
/// on whether it is sent on 429s (fact sheet §5.3, open question 3), so it is
/// honoured when present and otherwise the caller falls back on the
/// rate-limit interval. Fractional seconds (`1.5`) are accepted; negative,
/// non-finite or unparsable values are ignored.
///
/// An HTTP-date is measured against the response's own `Date` header when
/// there is one (so the wait does not depend on the client's clock skew),
/// else against the local clock; a date in the past means "now"
/// (`Duration::ZERO`). Use [`retry_after_at`] for a fully deterministic
/// reading.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let now = response_date(headers).unwrap_or_else(Utc::now);
    retry_after_at(headers, now)
}

/// [`retry_after`] with an explicit "now" for HTTP-date values: pure.
pub(crate) fn retry_after_at(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    if let Ok(secs) = value.parse::<f64>() {
        // `Duration::try_from_secs_f64` rejects negative, NaN and huge values.
        return Duration::try_from_secs_f64(secs).ok();
    }
    let at = parse_http_date(value)?;
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// Parses an HTTP-date: the IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`
/// (and other RFC 2822 spellings) or the obsolete RFC 850 / asctime forms.
fn parse_http_date(value: &str) -> Option<DateTime<Utc>> {
    let value = value.trim();
    if let Ok(date) = DateTime::parse_from_rfc2822(value) {
        return Some(date.with_timezone(&Utc));
    }
    // RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT`; asctime: `Sun Nov  6 08:49:37 1994`.
    for format in ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"] {
        if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(value, format) {
            return Some(naive.and_utc());
        }
    }
    None
}

/// Which HubSpot limit a 429 response reports.
///
/// HubSpot's 429 body names the limit in `policyName` (documented values
/// `DAILY` and `TEN_SECONDLY_ROLLING`; `SECONDLY` is only seen in third-party
/// notes) and in the message ("You have reached your daily limit.", "... your
/// secondly limit.", as keyed on by HubSpot's own Node client). See the fact
/// sheet §5.2: the format is partly uncertain, so the classifier is lenient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum RateLimitPolicy {
    /// `TEN_SECONDLY_ROLLING`: the per-app burst limit (100/190/250 per
    /// rolling 10 s). Waiting for the window to roll on is enough.
    TenSecondly,
    /// `DAILY`: the per-account daily budget is spent until midnight in the
    /// account's time zone. Retrying is pointless.
    Daily,
    /// `SECONDLY`: a per-second limit (e.g. the search API's).
    Secondly,
    /// A 429 whose body names no limit we know.
    Unknown,
}

impl RateLimitPolicy {
    /// Classifies a 429 body. Never fails: any JSON, non-JSON or empty body
    /// gives an answer, `Unknown` when nothing identifies the limit.
    ///
    /// `policyName` is read first (case-insensitively; `TEN_SECONDLY_ROLLING`,
    /// `DAILY`, `SECONDLY` or any name containing those words); failing that,
    /// the `message` (or, for a non-JSON body, the text itself) is searched
    /// for "ten_secondly", "daily limit" and "secondly limit".
    pub(crate) fn from_body(body: &[u8]) -> RateLimitPolicy {
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(json) => {
                let field = |name: &str| json.get(name).and_then(serde_json::Value::as_str);
                field("policyName")
                    .and_then(Self::from_policy_name)
                    .or_else(|| field("message").and_then(Self::from_message))
                    .unwrap_or(RateLimitPolicy::Unknown)
            }
            Err(_) => Self::from_message(&String::from_utf8_lossy(body))
                .unwrap_or(RateLimitPolicy::Unknown),
        }
    }

    /// Classifies a `policyName` value; `None` when it names no known limit.
    pub(crate) fn from_policy_name(name: &str) -> Option<RateLimitPolicy> {
        let name = name.trim().to_ascii_uppercase();
        if name.contains("DAILY") {
            Some(RateLimitPolicy::Daily)
        } else if name.contains("TEN_SECONDLY") || name.contains("TENSECONDLY") {
            Some(RateLimitPolicy::TenSecondly)
        } else if name.contains("SECONDLY") {
            Some(RateLimitPolicy::Secondly)
        } else {
            None
        }
    }

    /// Classifies a human-readable message; `None` when it names no known limit.
    pub(crate) fn from_message(message: &str) -> Option<RateLimitPolicy> {
        let message = message.to_ascii_lowercase();
        if message.contains("daily limit") {
            Some(RateLimitPolicy::Daily)
        } else if message.contains("ten_secondly") || message.contains("ten secondly") {
            Some(RateLimitPolicy::TenSecondly)
        } else if message.contains("secondly limit") {
            Some(RateLimitPolicy::Secondly)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                *name,
                HeaderValue::from_bytes(value).expect("test header value"),
            );
        }
        map
    }

    #[test]
    fn reads_all_rate_limit_headers_case_insensitively() {
        let map = headers(&[
            ("X-HubSpot-RateLimit-Max", b"190"),
            ("x-hubspot-ratelimit-remaining", b" 42 "),
            ("X-HUBSPOT-RATELIMIT-INTERVAL-MILLISECONDS", b"10000"),
            ("X-HubSpot-RateLimit-Daily", b"625000"),
            ("X-HubSpot-RateLimit-Daily-Remaining", b"0"),
        ]);
        let parsed = RateLimitHeaders::from_headers(&map);
        assert_eq!(
            parsed,
            RateLimitHeaders {
                max: Some(190),
                remaining: Some(42),
                interval: Some(Duration::from_secs(10)),
                daily: Some(625_000),
                daily_remaining: Some(0),
            }
        );
        assert!(parsed.daily_exhausted());
        assert!(!parsed.is_empty());
    }

    #[test]
    fn garbage_rate_limit_headers_read_as_absent() {
        let garbage: [&[u8]; 9] = [
            b"",
            b"abc",
            b"-1",
            b"1.5",
            b"10 000",
            b"99999999999999999999999",
            b"\xff\xfe",
            b"0x10",
            b"+",
        ];
        for value in garbage {
            let map = headers(&[
                (HEADER_MAX, value),
                (HEADER_REMAINING, value),
                (HEADER_INTERVAL_MS, value),
                (HEADER_DAILY, value),
                (HEADER_DAILY_REMAINING, value),
            ]);
            let parsed = RateLimitHeaders::from_headers(&map);
            assert!(parsed.is_empty(), "{value:?} gave {parsed:?}");
        }
        assert!(RateLimitHeaders::from_headers(&HeaderMap::new()).is_empty());
    }

    #[test]
    fn zero_max_or_interval_is_absent_and_large_remaining_saturates() {
        let map = headers(&[
            (HEADER_MAX, b"0"),
            (HEADER_INTERVAL_MS, b"0"),
            (HEADER_REMAINING, b"5000000000"),
            (HEADER_DAILY, b"5000000000"),
        ]);
        let parsed = RateLimitHeaders::from_headers(&map);
        assert_eq!(parsed.max, None);
        assert_eq!(parsed.interval, None);
        assert_eq!(parsed.remaining, Some(u32::MAX));
        assert_eq!(parsed.daily, Some(5_000_000_000));
    }

    #[test]
    fn retry_after_seconds_fractions_and_dates() {
        let now = Utc.with_ymd_and_hms(1994, 11, 6, 8, 49, 30).unwrap();
        let cases: [(&[u8], Option<Duration>); 14] = [
            (b"0", Some(Duration::ZERO)),
            (b"10", Some(Duration::from_secs(10))),
            (b" 2 ", Some(Duration::from_secs(2))),
            (b"1.5", Some(Duration::from_millis(1500))),
            (
                b"Sun, 06 Nov 1994 08:49:37 GMT",
                Some(Duration::from_secs(7)),
            ),
            (
                b"Sunday, 06-Nov-94 08:49:37 GMT",
                Some(Duration::from_secs(7)),
            ),
            (b"Sun Nov  6 08:49:37 1994", Some(Duration::from_secs(7))),
            (b"Sun, 06 Nov 1994 08:00:00 GMT", Some(Duration::ZERO)),
            (b"", None),
            (b"-5", None),
            (b"soon", None),
            (b"NaN", None),
            (b"1e400", None),
            (b"\xff", None),
        ];
        for (value, expected) in cases {
            let map = headers(&[("Retry-After", value)]);
            assert_eq!(retry_after_at(&map, now), expected, "{value:?}");
        }
        assert_eq!(retry_after_at(&HeaderMap::new(), now), None);
    }

    #[test]
    fn retry_after_date_is_measured_against_the_date_header() {
        let map = headers(&[
            ("Date", b"Sun, 06 Nov 1994 08:49:30 GMT"),
            ("Retry-After", b"Sun, 06 Nov 1994 08:49:40 GMT"),
        ]);
        assert_eq!(retry_after(&map), Some(Duration::from_secs(10)));
        assert_eq!(
            response_date(&map),
            Some(Utc.with_ymd_and_hms(1994, 11, 6, 8, 49, 30).unwrap())
        );
        assert_eq!(response_date(&headers(&[("Date", b"yesterday")])), None);
    }

    #[test]
    fn classifies_documented_and_observed_429_bodies() {
        let cases: [(&[u8], RateLimitPolicy); 14] = [
            (
                br#"{"status":"error","message":"You have reached your daily limit.","errorType":"RATE_LIMIT","correlationId":"x","policyName":"DAILY","requestId":"y"}"#,
                RateLimitPolicy::Daily,
            ),
            (
                br#"{"status":"error","message":"You have reached your ten_secondly_rolling limit.","errorType":"RATE_LIMIT","policyName":"TEN_SECONDLY_ROLLING","groupName":"publicapi:hapikey-api-calls-ten-secondly:6748263"}"#,
                RateLimitPolicy::TenSecondly,
            ),
            (
                br#"{"policyName":"SECONDLY"}"#,
                RateLimitPolicy::Secondly,
            ),
            (br#"{"policyName":"ten_secondly_rolling"}"#, RateLimitPolicy::TenSecondly),
            // policyName wins over the message.
            (
                br#"{"policyName":"TEN_SECONDLY_ROLLING","message":"daily limit"}"#,
                RateLimitPolicy::TenSecondly,
            ),
            // Unknown policy name: fall back on the message.
            (
                br#"{"policyName":"SOMETHING_NEW","message":"You have reached your secondly limit."}"#,
                RateLimitPolicy::Secondly,
            ),
            (
                br#"{"category":"RATE_LIMITS","message":"You have reached your daily limit."}"#,
                RateLimitPolicy::Daily,
            ),
            (br#"{"policyName":42,"message":null}"#, RateLimitPolicy::Unknown),
            (br#"{"message":"slow down"}"#, RateLimitPolicy::Unknown),
            (br#"["DAILY"]"#, RateLimitPolicy::Unknown),
            (b"null", RateLimitPolicy::Unknown),
            (b"", RateLimitPolicy::Unknown),
            (b"You have reached your secondly limit.", RateLimitPolicy::Secondly),
            (b"\xff\xfe{not json", RateLimitPolicy::Unknown),
        ];
        for (body, expected) in cases {
            assert_eq!(
                RateLimitPolicy::from_body(body),
                expected,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
