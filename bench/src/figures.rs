//! Figure maths: summaries of repeated runs, the rate-limit ceiling, efficiency, and
//! the steady rate of a run from its answer times. Pure.

use std::fmt;

/// Contacts per v3 batch request.
pub const INPUTS_PER_REQUEST: u32 = 100;

/// The median, min and max of repeated measurements of one figure.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    /// The median (the mean of the middle two for an even count).
    pub median: f64,
    /// The smallest measurement.
    pub min: f64,
    /// The largest measurement.
    pub max: f64,
    /// How many measurements.
    pub runs: usize,
}

impl Spread {
    /// Summarises `values`; `None` when empty or when one is NaN.
    pub fn of(values: &[f64]) -> Option<Spread> {
        if values.is_empty() || values.iter().any(|v| v.is_nan()) {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let mid = sorted.len() / 2;
        let median = if sorted.len() % 2 == 1 {
            sorted[mid]
        } else {
            (sorted[mid - 1] + sorted[mid]) / 2.0
        };
        Some(Spread {
            median,
            min: sorted[0],
            max: sorted[sorted.len() - 1],
            runs: sorted.len(),
        })
    }

    /// Formats with `decimals` digits: `median (min .. max, n runs)`.
    pub fn show(&self, decimals: usize) -> String {
        format!(
            "{:.d$} (min {:.d$}, max {:.d$}; {} runs)",
            self.median,
            self.min,
            self.max,
            self.runs,
            d = decimals
        )
    }
}

impl fmt::Display for Spread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.show(2))
    }
}

/// The most contacts per second a rate limit admits in the long run: `max`
/// requests of [`INPUTS_PER_REQUEST`] contacts per `window_secs`.
pub fn ceiling_contacts_per_sec(max: u32, window_secs: f64) -> f64 {
    f64::from(max) * f64::from(INPUTS_PER_REQUEST) / window_secs
}

/// `rate` as a percentage of `ceiling` (0 when the ceiling is not positive).
pub fn efficiency_percent(rate: f64, ceiling: f64) -> f64 {
    if ceiling > 0.0 {
        rate / ceiling * 100.0
    } else {
        0.0
    }
}

/// The mean time taken by `max` consecutive requests, from the sorted times
/// (seconds) at which successful requests were answered: the mean of
/// `answers[k + max] - answers[k]` over every `k`.
///
/// A rolling limit of `max` requests per window means request `k + max` can be
/// counted no sooner than one window after request `k`; with a steady round
/// trip the same holds for their answers. This span is therefore the time the
/// client actually takes to use one window's budget: exactly the window for a
/// perfect client, whether it sends in bursts or evenly, and longer for one that
/// leaves budget unused (waits too long, or has too few requests in flight).
/// Unlike contacts over wall time, it gives no credit for the burst an empty
/// window allows at the start and no debit for the ragged end of a short run.
///
/// `None` when there are `max` answers or fewer, or `max` is 0.
pub fn window_cycle_secs(answers: &[f64], max: usize) -> Option<f64> {
    if max == 0 || answers.len() <= max {
        return None;
    }
    let spans = answers.len() - max;
    let total: f64 = (0..spans).map(|k| answers[k + max] - answers[k]).sum();
    Some(total / spans as f64)
}

/// The steady rate in contacts per second: one window's budget of `max`
/// requests (of [`INPUTS_PER_REQUEST`] contacts) per `cycle_secs`.
pub fn steady_contacts_per_sec(max: u32, cycle_secs: f64) -> f64 {
    if cycle_secs > 0.0 {
        f64::from(max) * f64::from(INPUTS_PER_REQUEST) / cycle_secs
    } else {
        0.0
    }
}

/// The least time `contacts` can take under a limit of `max` requests per
/// rolling `window_secs`, from the first request's start to the last
/// one's: the requests they need ([`INPUTS_PER_REQUEST`] contacts each,
/// rounded up), the first window's `max` at once and the rest at the
/// limit's rate.
pub fn ideal_secs(contacts: u64, max: u32, window_secs: f64) -> f64 {
    let requests = contacts.div_ceil(u64::from(INPUTS_PER_REQUEST));
    if max == 0 {
        0.0
    } else {
        requests.saturating_sub(u64::from(max)) as f64 * window_secs / f64::from(max)
    }
}

/// CPU seconds per 1,000 contacts.
pub fn cpu_per_thousand(cpu_secs: f64, contacts: u64) -> f64 {
    if contacts == 0 {
        0.0
    } else {
        cpu_secs * 1000.0 / contacts as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_of_odd_and_even_counts() {
        let odd = Spread::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((odd.median, odd.min, odd.max, odd.runs), (2.0, 1.0, 3.0, 3));
        let even = Spread::of(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!((even.median, even.min, even.max), (2.5, 1.0, 4.0));
        assert_eq!(Spread::of(&[]), None);
        assert_eq!(Spread::of(&[1.0, f64::NAN]), None);
        assert_eq!(
            Spread::of(&[1.0, 2.0, 4.0]).unwrap().show(1),
            "2.0 (min 1.0, max 4.0; 3 runs)"
        );
    }

    #[test]
    fn ceilings_and_efficiency() {
        assert_eq!(ceiling_contacts_per_sec(100, 1.0), 10_000.0);
        assert_eq!(ceiling_contacts_per_sec(190, 1.0), 19_000.0);
        assert_eq!(ceiling_contacts_per_sec(100, 10.0), 1_000.0);
        assert_eq!(efficiency_percent(9_700.0, 10_000.0), 97.0);
        assert_eq!(efficiency_percent(1.0, 0.0), 0.0);
    }

    #[test]
    fn a_perfect_bursty_client_cycles_in_one_window() {
        // 3 per window, sent in bursts at 0, 1 and 2 s, answered 50 ms later.
        let answers = [0.05, 0.05, 0.05, 1.05, 1.05, 1.05, 2.05, 2.05];
        let cycle = window_cycle_secs(&answers, 3).unwrap();
        assert!((cycle - 1.0).abs() < 1e-9, "{cycle}");
        assert!((steady_contacts_per_sec(3, cycle) - 300.0).abs() < 1e-6);
    }

    #[test]
    fn an_even_client_below_the_limit_shows_its_own_rate() {
        // 10 per window allowed, but one answer every 0.125 s (8/s).
        let answers: Vec<f64> = (0..40).map(|k| f64::from(k) * 0.125).collect();
        let cycle = window_cycle_secs(&answers, 10).unwrap();
        assert!((cycle - 1.25).abs() < 1e-9, "{cycle}");
        let rate = steady_contacts_per_sec(10, cycle);
        assert!((efficiency_percent(rate, ceiling_contacts_per_sec(10, 1.0)) - 80.0).abs() < 1e-9);
    }

    #[test]
    fn too_few_answers_have_no_cycle() {
        assert_eq!(window_cycle_secs(&[0.0, 1.0], 2), None);
        assert_eq!(window_cycle_secs(&[0.0, 1.0], 0), None);
        assert_eq!(steady_contacts_per_sec(3, 0.0), 0.0);
    }

    #[test]
    fn ideal_time_of_a_run() {
        // 200 requests at 40 per second: 40 at once, 160 in 4 s.
        assert_eq!(ideal_secs(20_000, 40, 1.0), 4.0);
        assert_eq!(ideal_secs(20_001, 40, 1.0), 4.025);
        assert_eq!(ideal_secs(30_000, 100, 10.0), 20.0);
        assert_eq!(ideal_secs(1_000, 100, 10.0), 0.0);
        assert_eq!(ideal_secs(1_000, 0, 1.0), 0.0);
    }

    #[test]
    fn cpu_per_thousand_contacts() {
        assert_eq!(cpu_per_thousand(2.0, 100_000), 0.02);
        assert_eq!(cpu_per_thousand(2.0, 0), 0.0);
    }
}
