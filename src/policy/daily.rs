//! The daily budget: whether HubSpot's daily request limit is known to be
//! spent, and until when. Pure: both clocks (the monotonic one the limiter
//! waits on, the wall clock HubSpot's midnight is on) are passed in.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::headers::RateLimitHeaders;
use super::retry::next_utc_midnight;

/// The daily budget is spent; no request can succeed before it resets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "HubSpot's daily API request limit is exhausted; it resets at midnight in the account's \
     time zone (around {} if the account uses UTC)",
    .resets_at.format("%Y-%m-%d %H:%M UTC")
)]
pub(crate) struct DailyLimitExhausted {
    /// Estimated reset: the next midnight UTC after the limit was seen, or
    /// the time HubSpot's answer gave. HubSpot resets at midnight in the
    /// account's time zone, which the client cannot know, so this is an
    /// approximation (see [`next_utc_midnight`]).
    pub(crate) resets_at: DateTime<Utc>,
}

/// What the limiter knows about the daily budget, in one place: whether it
/// is spent, the monotonic instant acquires resume at, and the wall-clock
/// reset to tell the user.
///
/// A spent budget stays spent until its reset, then lets requests through
/// again: if HubSpot's reset (midnight in the account's time zone) is later
/// than the estimate, the first request after the estimate gets a `DAILY`
/// 429 or `Daily-Remaining: 0` and marks the budget spent again, so the
/// client probes once per estimate rather than never or always.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct DailyBudget {
    spent: Option<Spent>,
}

/// A spent budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Spent {
    /// When acquires resume (monotonic clock).
    until: Instant,
    /// The same moment on the wall clock, for the error message.
    resets_at: DateTime<Utc>,
}

impl DailyBudget {
    /// Whether a request may start at `now`; once the reset is reached the
    /// budget is available again.
    pub(crate) fn check(&mut self, now: Instant) -> Result<(), DailyLimitExhausted> {
        match self.spent {
            Some(spent) if now < spent.until => Err(DailyLimitExhausted {
                resets_at: spent.resets_at,
            }),
            Some(_) => {
                self.spent = None;
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Whether the budget is spent at `now`.
    #[cfg(test)]
    pub(crate) fn is_spent(&self, now: Instant) -> bool {
        self.spent.is_some_and(|spent| now < spent.until)
    }

    /// Learns from a response's rate-limit headers at `now` (wall clock
    /// `wall`): `Daily-Remaining: 0` marks the budget spent until the next
    /// midnight UTC, unless it is already known to be spent. Returns whether
    /// it became spent.
    pub(crate) fn observe(
        &mut self,
        now: Instant,
        wall: DateTime<Utc>,
        headers: &RateLimitHeaders,
    ) -> bool {
        if !headers.daily_exhausted() || self.check(now).is_err() {
            return false;
        }
        tracing::warn!("HubSpot reports the daily request budget spent (Daily-Remaining: 0)");
        self.mark_spent(now, wall, None);
        true
    }

    /// Marks the budget spent at `now` (wall clock `wall`) until `resets_at`
    /// (e.g. the reset a `DAILY` 429 implies), or, when `None`, until the
    /// next midnight UTC: HubSpot resets at midnight in the account's time
    /// zone, unknown to the client, so one request may probe after each UTC
    /// midnight. A reset in the past makes the budget available at once.
    pub(crate) fn mark_spent(
        &mut self,
        now: Instant,
        wall: DateTime<Utc>,
        resets_at: Option<DateTime<Utc>>,
    ) {
        let resets_at = resets_at.unwrap_or_else(|| next_utc_midnight(wall));
        let wait = (resets_at - wall).to_std().unwrap_or(Duration::ZERO);
        // A reset too far away to represent is as good as never.
        let until = now
            .checked_add(wait)
            .or_else(|| now.checked_add(Duration::from_secs(366 * 24 * 60 * 60)))
            .unwrap_or(now);
        self.spent = Some(Spent { until, resets_at });
    }

    /// Forgets a spent budget (e.g. the caller knows it has reset).
    #[cfg(test)]
    pub(crate) fn reset(&mut self) {
        self.spent = None;
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    fn spent_headers() -> RateLimitHeaders {
        RateLimitHeaders {
            daily: Some(250_000),
            daily_remaining: Some(0),
            ..RateLimitHeaders::default()
        }
    }

    fn utc(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 1, h, m, 0).unwrap()
    }

    #[test]
    fn daily_exhaustion_blocks_until_the_next_utc_midnight_or_a_reset() {
        let t0 = Instant::now();
        let mut daily = DailyBudget::default();
        assert_eq!(daily.check(t0), Ok(()));
        // Seen at 23:00 UTC: spent until midnight, an hour on.
        assert!(daily.observe(t0, utc(23, 0), &spent_headers()));
        assert!(daily.is_spent(t0));
        let midnight = Utc.with_ymd_and_hms(2025, 6, 2, 0, 0, 0).unwrap();
        assert_eq!(
            daily.check(t0 + SEC * 3599),
            Err(DailyLimitExhausted {
                resets_at: midnight
            })
        );
        // Seeing it again changes nothing.
        assert!(!daily.observe(t0 + SEC, utc(23, 0), &spent_headers()));
        assert_eq!(daily.check(t0 + SEC * 3600), Ok(()));
        assert!(!daily.is_spent(t0 + SEC * 3600));

        // A reset the caller knows of frees it at once.
        daily.observe(t0, utc(12, 0), &spent_headers());
        assert!(daily.check(t0).is_err());
        daily.reset();
        assert_eq!(daily.check(t0), Ok(()));
    }

    #[test]
    fn a_daily_429_marks_it_spent_until_the_reset_it_implies() {
        let t0 = Instant::now();
        let mut daily = DailyBudget::default();
        let wall = utc(10, 0);
        daily.mark_spent(t0, wall, Some(utc(10, 1)));
        assert!(daily.check(t0 + SEC * 59).is_err());
        assert_eq!(daily.check(t0 + SEC * 60), Ok(()));
        // A reset already past frees it at once.
        daily.mark_spent(t0, wall, Some(utc(9, 0)));
        assert_eq!(daily.check(t0), Ok(()));
        // Headers without Daily-Remaining: 0 say nothing.
        assert!(!daily.observe(t0, wall, &RateLimitHeaders::default()));
        assert_eq!(daily.check(t0), Ok(()));
    }

    #[test]
    fn a_reset_beyond_the_clock_does_not_overflow() {
        let t0 = Instant::now();
        let mut daily = DailyBudget::default();
        daily.mark_spent(t0, utc(0, 0), Some(DateTime::<Utc>::MAX_UTC));
        assert!(daily.check(t0 + SEC * 86_400 * 30).is_err());
    }

    #[test]
    fn daily_limit_error_says_when_it_resets() {
        let at = Utc.with_ymd_and_hms(2025, 6, 2, 0, 0, 0).unwrap();
        let message = DailyLimitExhausted { resets_at: at }.to_string();
        assert!(message.contains("midnight in the account's time zone"));
        assert!(message.contains("2025-06-02 00:00 UTC"), "{message}");
    }
}
