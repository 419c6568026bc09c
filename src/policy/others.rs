//! Other clients' requests in HubSpot's window, as its
//! `X-HubSpot-RateLimit-Remaining` header reveals them, and the share of the
//! window they leave this client. Pure: every method takes `now`.
//!
//! HubSpot's limit belongs to the app in a portal, not to a process: other
//! workers of the same app spend the same window. An answer says how many
//! requests HubSpot had counted in its window when it counted this one
//! (`Max` less `Remaining`); the ones the client cannot account for as its
//! own belong to others.
//!
//! Workers that do not coordinate all read the same `Remaining` and would
//! all rush for the same free slots. So each keeps to its share instead: if
//! its own requests were a quarter of what HubSpot counted, it may hold a
//! quarter of the window, however much of it is free. Shares read at about
//! the same moment add up to the whole window, so workers that each keep
//! to theirs stay within it together, and a free slot goes to no one until
//! a share grows. Shares change slowly: the bound is the smallest share read
//! in the last window, so a worker's share grows only once a whole window
//! has shown it larger (another worker finished or slowed down). A client
//! alone always reads a share of the whole window and is never held back.
//!
//! The smallest reading of a sliding window is kept as a list: a newer
//! reading at most as large makes older ones irrelevant, so few readings are
//! kept whatever the rate of answers.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The share of HubSpot's window other clients leave this one, read from
/// answers.
#[derive(Debug, Clone, Default)]
pub(crate) struct Share {
    /// `(when counted, requests this client may hold in the window)`,
    /// oldest first; a reading is dropped when a newer one is at most as
    /// large, so shares grow from the oldest to the newest (but for a rare
    /// reading that arrives late).
    readings: VecDeque<(Instant, u32)>,
}

impl Share {
    /// Records, for a request HubSpot counted at `at` with `used` requests
    /// in a window of `max`, `own` of them this client's: its share of the
    /// window is `max × own / used` requests (all of it when `own` is all).
    pub(crate) fn record(&mut self, at: Instant, max: u32, used: u32, own: u32) {
        let share = if own >= used {
            max
        } else {
            let share = u64::from(max) * u64::from(own) / u64::from(used);
            u32::try_from(share).unwrap_or(max)
        };
        while self
            .readings
            .back()
            .is_some_and(|&(_, newer)| newer >= share)
        {
            self.readings.pop_back();
        }
        // Readings arrive nearly in order; one dated before the newest kept
        // is still a bound until it ages out, so it is kept in place.
        let position = self.readings.partition_point(|&(when, _)| when <= at);
        self.readings.insert(position, (at, share));
    }

    /// Forgets readings a whole `span` old at `now`, but for the newest.
    pub(crate) fn prune(&mut self, now: Instant, span: Duration) {
        while self.readings.len() > 1
            && self
                .readings
                .front()
                .is_some_and(|&(at, _)| now.saturating_duration_since(at) >= span)
        {
            self.readings.pop_front();
        }
    }

    /// How many requests this client may hold in a window of `span` ending
    /// at `now`: the smallest share read in it. With no reading in it (a
    /// client that was paused or idle), the newest reading still holds:
    /// others do not stop because this client did. `None` before any
    /// reading.
    pub(crate) fn of(&self, now: Instant, span: Duration) -> Option<u32> {
        self.readings
            .iter()
            .filter(|&&(at, _)| now.saturating_duration_since(at) < span)
            .map(|&(_, share)| share)
            .min()
            .or_else(|| self.readings.back().map(|&(_, share)| share))
    }

    /// How long until the smallest share in the window leaves it (and the
    /// share may grow); `None` when only a newer reading can change it.
    pub(crate) fn next_rise(&self, now: Instant, span: Duration) -> Option<Duration> {
        let smallest = self.of(now, span)?;
        let newest = self.readings.back().map(|&(at, _)| at);
        self.readings
            .iter()
            .filter(|&&(at, share)| {
                share == smallest && now.saturating_duration_since(at) < span && Some(at) != newest
            })
            .map(|&(at, _)| (at + span).saturating_duration_since(now))
            .max()
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
    fn the_share_is_the_smallest_read_in_the_last_window() {
        let t0 = Instant::now();
        let mut share = Share::default();
        assert_eq!(share.of(t0, SEC), None);
        assert_eq!(share.next_rise(t0, SEC), None);
        // A quarter of 40 counted: a quarter of the window.
        share.record(t0, 40, 40, 10);
        share.record(t0 + ms(100), 40, 20, 10);
        // A larger share never raises the bound within the window.
        assert_eq!(share.of(t0 + ms(100), SEC), Some(10));
        assert_eq!(share.next_rise(t0 + ms(100), SEC), Some(ms(900)));
        // Once the quarter is a window old, the half is the bound, and
        // stays so until a newer reading comes.
        assert_eq!(share.of(t0 + SEC, SEC), Some(20));
        assert_eq!(share.next_rise(t0 + SEC, SEC), None);
        assert_eq!(share.of(t0 + SEC * 60, SEC), Some(20));
        // A client alone again reads the whole window, and the stale
        // reading is out of the window: it has all of it.
        share.record(t0 + SEC * 60, 40, 5, 5);
        assert_eq!(share.of(t0 + SEC * 60, SEC), Some(40));
        share.prune(t0 + SEC * 60, SEC);
        assert_eq!(share.readings.len(), 1);
    }

    #[test]
    fn a_client_alone_reads_the_whole_window_and_a_smaller_share_replaces_larger_ones() {
        let t0 = Instant::now();
        let mut share = Share::default();
        share.record(t0, 40, 12, 12);
        share.record(t0, 40, 0, 0);
        assert_eq!(share.of(t0, SEC), Some(40));
        assert_eq!(share.readings.len(), 1);
        for (i, own) in [30, 20, 25, 10].into_iter().enumerate() {
            share.record(t0 + ms(i as u64 * 10), 40, 40, own);
        }
        assert_eq!(share.readings.len(), 1);
        assert_eq!(share.of(t0 + ms(40), SEC), Some(10));
        share.prune(t0 + ms(30) + SEC, SEC);
        assert_eq!(share.readings.len(), 1, "the newest stays");
    }

    #[test]
    fn a_late_reading_is_kept_in_order_and_huge_figures_do_not_overflow() {
        let t0 = Instant::now() + SEC;
        let mut share = Share::default();
        share.record(t0, 40, 40, 20);
        share.record(t0 - ms(500), 40, 40, 30);
        assert_eq!(share.of(t0, SEC), Some(20));
        assert_eq!(share.of(t0 + ms(600), SEC), Some(20));
        assert_eq!(share.of(t0 + SEC, SEC), Some(20));
        let mut huge = Share::default();
        huge.record(t0, u32::MAX, u32::MAX, u32::MAX - 1);
        assert_eq!(huge.of(t0, SEC), Some(u32::MAX - 1));
    }
}
