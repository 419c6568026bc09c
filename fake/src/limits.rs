//! Rate-limit specifications (`100/10s`) and the accounting behind HubSpot's
//! ten-secondly rolling limit and daily budget. Pure: the caller passes the clock in.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// A rolling-window rate limit: at most `max` requests in any `window`.
///
/// HubSpot's is 100 or 190 requests per 10 seconds, depending on the plan.
///
/// ```
/// use hubspot_fake::RateLimit;
/// use std::time::Duration;
/// let limit: RateLimit = "190/10s".parse().unwrap();
/// assert_eq!(limit, RateLimit::new(190, Duration::from_secs(10)));
/// assert_eq!(RateLimit::parse("5/500ms").unwrap().window, Duration::from_millis(500));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub max: u32,
    /// Length of the rolling window.
    pub window: Duration,
}

/// Why a rate-limit spec could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RateLimitError {
    /// Not of the form `MAX/WINDOW`, e.g. `100/10s`.
    #[error("rate limit {0:?} is not of the form MAX/WINDOW, e.g. 100/10s or 5/500ms")]
    Malformed(String),
    /// `MAX` is not a positive integer.
    #[error("rate limit maximum {0:?} is not a positive integer")]
    BadMax(String),
    /// `WINDOW` is not a positive duration with a unit `ms`, `s` or `m`.
    #[error("rate limit window {0:?} is not a positive duration like 10s, 1s or 500ms")]
    BadWindow(String),
}

impl RateLimit {
    /// A limit of `max` requests per `window`.
    pub fn new(max: u32, window: Duration) -> Self {
        Self { max, window }
    }

    /// Parses `MAX/WINDOW`, where `WINDOW` is a number followed by `ms`, `s` or `m`
    /// (`100/10s`, `100/1s`, `190/10s`, `5/500ms`).
    pub fn parse(spec: &str) -> Result<Self, RateLimitError> {
        let (max, window) = spec
            .trim()
            .split_once('/')
            .ok_or_else(|| RateLimitError::Malformed(spec.to_owned()))?;
        let max: u32 = match max.trim().parse() {
            Ok(n) if n > 0 => n,
            _ => return Err(RateLimitError::BadMax(max.to_owned())),
        };
        let window = parse_duration(window.trim())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| RateLimitError::BadWindow(window.to_owned()))?;
        Ok(Self { max, window })
    }
}

fn parse_duration(s: &str) -> Option<Duration> {
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = s.split_at(split);
    let n: u64 = number.parse().ok()?;
    match unit {
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "m" => n.checked_mul(60).map(Duration::from_secs),
        _ => None,
    }
}

impl FromStr for RateLimit {
    type Err = RateLimitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RateLimit::parse(s)
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}ms", self.max, self.window.as_millis())
    }
}

/// Which HubSpot policy refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Policy {
    TenSecondlyRolling,
    Daily,
}

/// Values for the `X-HubSpot-RateLimit-*` headers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LimitHeaders {
    /// (max, remaining, interval in milliseconds)
    pub(crate) rolling: Option<(u32, u32, u128)>,
    /// (daily budget, remaining)
    pub(crate) daily: Option<(u64, u64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Allowed(LimitHeaders),
    Refused {
        policy: Policy,
        /// Time until the rolling window has room again (rolling refusals only).
        retry_after: Option<Duration>,
        headers: LimitHeaders,
    },
}

/// The rolling-window and daily counters.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    rolling: Option<(RateLimit, VecDeque<Instant>)>,
    daily: Option<(u64, u64)>,
}

impl RateLimiter {
    pub(crate) fn new(rolling: Option<RateLimit>, daily: Option<u64>) -> Self {
        Self {
            rolling: rolling.map(|l| (l, VecDeque::with_capacity(l.max as usize))),
            daily: daily.map(|d| (d, 0)),
        }
    }

    pub(crate) fn is_configured(&self) -> bool {
        self.rolling.is_some() || self.daily.is_some()
    }

    pub(crate) fn reset(&mut self) {
        if let Some((_, hits)) = &mut self.rolling {
            hits.clear();
        }
        if let Some((_, used)) = &mut self.daily {
            *used = 0;
        }
    }

    fn expire(&mut self, now: Instant) {
        if let Some((limit, hits)) = &mut self.rolling {
            while let Some(first) = hits.front() {
                if now.saturating_duration_since(*first) >= limit.window {
                    hits.pop_front();
                } else {
                    break;
                }
            }
        }
    }

    /// The header values as they stand, without counting a request.
    pub(crate) fn peek(&mut self, now: Instant) -> LimitHeaders {
        self.expire(now);
        LimitHeaders {
            rolling: self.rolling.as_ref().map(|(limit, hits)| {
                let used = u32::try_from(hits.len()).unwrap_or(u32::MAX);
                (
                    limit.max,
                    limit.max.saturating_sub(used),
                    limit.window.as_millis(),
                )
            }),
            daily: self
                .daily
                .map(|(budget, used)| (budget, budget.saturating_sub(used))),
        }
    }

    /// Counts a request if both budgets allow it; a refused request is not counted.
    pub(crate) fn check(&mut self, now: Instant) -> Verdict {
        let headers = self.peek(now);
        if let Some((_, 0)) = headers.daily {
            return Verdict::Refused {
                policy: Policy::Daily,
                retry_after: None,
                headers,
            };
        }
        if let Some((limit, hits)) = &self.rolling
            && hits.len() >= limit.max as usize
        {
            let retry_after = hits
                .front()
                .map(|first| (*first + limit.window).saturating_duration_since(now));
            return Verdict::Refused {
                policy: Policy::TenSecondlyRolling,
                retry_after,
                headers,
            };
        }
        if let Some((_, hits)) = &mut self.rolling {
            hits.push_back(now);
        }
        if let Some((_, used)) = &mut self.daily {
            *used += 1;
        }
        Verdict::Allowed(self.peek(now))
    }
}

/// Whole seconds to wait, rounded up, at least 1: the `Retry-After` value.
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_windows() {
        assert_eq!(
            RateLimit::parse("100/10s").unwrap(),
            RateLimit::new(100, Duration::from_secs(10))
        );
        assert_eq!(
            RateLimit::parse("100/1s").unwrap(),
            RateLimit::new(100, Duration::from_secs(1))
        );
        assert_eq!(
            RateLimit::parse("190/10s").unwrap(),
            RateLimit::new(190, Duration::from_secs(10))
        );
        assert_eq!(
            RateLimit::parse(" 5/500ms ").unwrap(),
            RateLimit::new(5, Duration::from_millis(500))
        );
        assert_eq!(
            RateLimit::parse("1/2m").unwrap(),
            RateLimit::new(1, Duration::from_secs(120))
        );
        let l = RateLimit::parse("7/250ms").unwrap();
        assert_eq!(RateLimit::parse(&l.to_string()).unwrap(), l);
    }

    #[test]
    fn rejects_bad_specs() {
        for bad in [
            "100", "x/10s", "0/10s", "100/10", "100/s", "100/0s", "100/10h", "",
        ] {
            assert!(RateLimit::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn rolling_window_refuses_then_recovers() {
        let mut limiter = RateLimiter::new(Some(RateLimit::new(2, Duration::from_secs(10))), None);
        let t0 = Instant::now();
        let Verdict::Allowed(h) = limiter.check(t0) else {
            panic!("first refused")
        };
        assert_eq!(h.rolling, Some((2, 1, 10_000)));
        assert!(matches!(
            limiter.check(t0 + Duration::from_secs(1)),
            Verdict::Allowed(_)
        ));
        match limiter.check(t0 + Duration::from_secs(4)) {
            Verdict::Refused {
                policy,
                retry_after,
                headers,
            } => {
                assert_eq!(policy, Policy::TenSecondlyRolling);
                assert_eq!(retry_after, Some(Duration::from_secs(6)));
                assert_eq!(headers.rolling, Some((2, 0, 10_000)));
            }
            other => panic!("{other:?}"),
        }
        // The refusal was not counted: once the first hit expires there is room for one.
        assert!(matches!(
            limiter.check(t0 + Duration::from_secs(10)),
            Verdict::Allowed(_)
        ));
        assert!(matches!(
            limiter.check(t0 + Duration::from_secs(10)),
            Verdict::Refused { .. }
        ));
        limiter.reset();
        assert!(matches!(
            limiter.check(t0 + Duration::from_secs(10)),
            Verdict::Allowed(_)
        ));
    }

    #[test]
    fn daily_budget_is_checked_first_and_not_consumed_by_refusals() {
        let mut limiter =
            RateLimiter::new(Some(RateLimit::new(1, Duration::from_secs(1))), Some(2));
        let t0 = Instant::now();
        assert!(matches!(limiter.check(t0), Verdict::Allowed(_)));
        assert!(matches!(
            limiter.check(t0),
            Verdict::Refused {
                policy: Policy::TenSecondlyRolling,
                ..
            }
        ));
        let Verdict::Allowed(h) = limiter.check(t0 + Duration::from_secs(2)) else {
            panic!("refused")
        };
        assert_eq!(h.daily, Some((2, 0)));
        assert!(matches!(
            limiter.check(t0 + Duration::from_secs(4)),
            Verdict::Refused {
                policy: Policy::Daily,
                retry_after: None,
                ..
            }
        ));
    }

    #[test]
    fn unconfigured_limiter_allows_everything_without_headers() {
        let mut limiter = RateLimiter::new(None, None);
        assert!(!limiter.is_configured());
        for _ in 0..1000 {
            assert_eq!(
                limiter.check(Instant::now()),
                Verdict::Allowed(LimitHeaders::default())
            );
        }
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(2000)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(2001)), 3);
    }
}
