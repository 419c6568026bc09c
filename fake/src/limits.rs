//! The accounting behind HubSpot's ten-secondly rolling limit and daily budget.
//! Pure: the caller passes the clock in. The limits themselves are
//! `hubspot_rate_limit::RateLimit`, the grammar the SDK and the CLI read too.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use hubspot_rate_limit::RateLimit;

/// A rolling window of the fake: at most `max` requests in any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) max: u32,
    pub(crate) window: Duration,
}

impl Window {
    /// The window of a parsed limit; `None` for [`RateLimit::Unlimited`].
    pub(crate) fn of(limit: RateLimit) -> Option<Window> {
        Some(Window {
            max: limit.max()?,
            window: limit.window()?,
        })
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
    rolling: Option<(Window, VecDeque<Instant>)>,
    daily: Option<(u64, u64)>,
}

impl RateLimiter {
    pub(crate) fn new(rolling: Option<Window>, daily: Option<u64>) -> Self {
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
    fn rolling_window_refuses_then_recovers() {
        let mut limiter = RateLimiter::new(
            Some(Window {
                max: 2,
                window: Duration::from_secs(10),
            }),
            None,
        );
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
        let mut limiter = RateLimiter::new(
            Some(Window {
                max: 1,
                window: Duration::from_secs(1),
            }),
            Some(2),
        );
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
