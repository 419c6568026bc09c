//! Small helpers: wall-clock timestamps in HubSpot's format, the store's map type and
//! correlation ids.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, SecondsFormat, Utc};

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

thread_local! {
    /// The last timestamp formatted on this thread: a batch stamps every record with the
    /// same millisecond, so this saves most of the formatting.
    static LAST_STAMP: std::cell::RefCell<(Option<u64>, String)> =
        const { std::cell::RefCell::new((None, String::new())) };
}

/// Formats epoch milliseconds as RFC 3339 UTC with milliseconds, e.g.
/// `2026-11-22T19:13:41.123Z`, the format of HubSpot's `createdAt`.
pub(crate) fn rfc3339_ms(ms: u64) -> String {
    LAST_STAMP.with(|last| {
        let mut last = last.borrow_mut();
        if last.0 != Some(ms) {
            *last = (Some(ms), format_rfc3339_ms(ms));
        }
        last.1.clone()
    })
}

/// The formatting behind [`rfc3339_ms`]. A time past chrono's range (after the year 262,142,
/// never a wall clock) is shown as the last instant chrono can represent.
fn format_rfc3339_ms(ms: u64) -> String {
    i64::try_from(ms)
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A `HashMap` for the store's internal maps, hashed with foldhash's fast hasher under a
/// fixed seed: flooding resistance is not a concern for a local test fake, speed is, and a
/// fixed seed keeps every run of a seeded fake the same, whatever a future caller does with
/// the iteration order.
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;

/// Generates uuid-looking correlation ids from a seeded counter (no randomness needed,
/// and it leaves the fault and shuffle streams untouched).
#[derive(Debug)]
pub(crate) struct IdGen {
    seed: u64,
    counter: AtomicU64,
}

impl IdGen {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            seed,
            counter: AtomicU64::new(0),
        }
    }

    pub(crate) fn next(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let a = splitmix(self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let b = splitmix(a ^ 0xD1B5_4A32_D192_ED03);
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_timestamps() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339_ms(1_795_461_221_007), "2026-11-23T19:13:41.007Z");
        assert_eq!(rfc3339_ms(4_107_542_399_999), "2100-02-28T23:59:59.999Z");
        assert_eq!(rfc3339_ms(253_402_300_799_999), "9999-12-31T23:59:59.999Z");
        // Whole seconds keep their `.000`, and the cache is per value, not per call.
        assert_eq!(rfc3339_ms(1_000), "1970-01-01T00:00:01.000Z");
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn timestamps_past_chrono_range_do_not_panic() {
        // Run on a thread of its own, so that this is the thread's first stamp.
        let stamp = std::thread::spawn(|| rfc3339_ms(u64::MAX)).join().unwrap();
        assert_eq!(stamp, "+262142-12-31T23:59:59.999Z");
    }

    #[test]
    fn correlation_ids_look_like_uuids_and_differ() {
        let ids = IdGen::new(1);
        let a = ids.next();
        let b = ids.next();
        assert_ne!(a, b);
        for id in [&a, &b] {
            let parts: Vec<_> = id.split('-').map(str::len).collect();
            assert_eq!(parts, [8, 4, 4, 4, 12], "{id}");
            assert!(id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
        }
        assert_eq!(IdGen::new(1).next(), a, "seeded");
    }

    #[test]
    fn fast_map_behaves_like_a_map() {
        let mut m: FastMap<String, u64> = FastMap::default();
        for i in 0..1000u64 {
            m.insert(format!("user{i}@example.com"), i);
        }
        assert_eq!(m.len(), 1000);
        assert_eq!(m.get("user999@example.com"), Some(&999));
        let mut ids: FastMap<u64, u64> = FastMap::default();
        ids.extend((0..1000).map(|i| (i, i * 2)));
        assert_eq!(ids[&500], 1000);
    }
}
