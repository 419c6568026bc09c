//! Small helpers: wall-clock timestamps in HubSpot's formats and correlation ids.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

thread_local! {
    /// The last timestamp formatted on this thread: a batch stamps every record with the
    /// same millisecond, so this saves most of the formatting.
    static LAST_STAMP: std::cell::RefCell<(u64, String)> =
        const { std::cell::RefCell::new((u64::MAX, String::new())) };
}

/// Formats epoch milliseconds as RFC 3339 UTC with milliseconds, e.g.
/// `2026-11-22T19:13:41.123Z`, the format of HubSpot's `createdAt`.
pub(crate) fn rfc3339_ms(ms: u64) -> String {
    LAST_STAMP.with(|last| {
        let mut last = last.borrow_mut();
        if last.0 != ms {
            *last = (ms, format_rfc3339_ms(ms));
        }
        last.1.clone()
    })
}

fn format_rfc3339_ms(ms: u64) -> String {
    let secs = ms / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

/// FNV-1a: a fast, non-keyed hash for the store's internal maps (flooding resistance is
/// not a concern for a local test fake, speed is).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = splitmix(self.0 ^ n);
    }
}

/// A `HashMap` using [`Fnv`].
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<Fnv>>;

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
