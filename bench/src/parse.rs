//! Parsers for what the benchmarks read from other processes: the fake's first
//! line and its stats, the CLI's closing summary, and `pgrep`'s listing. Pure.

use serde_json::Value;

/// The base URL from hubspot-fake's first stdout line, `listening on http://ADDR`.
pub fn listening_url(line: &str) -> Option<&str> {
    let url = line.trim().strip_prefix("listening on ")?.trim();
    url.starts_with("http://").then_some(url)
}

/// The counters of the fake's `GET /_fake/stats` the benchmarks use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FakeStats {
    /// HubSpot-route requests received (429s included).
    pub requests: u64,
    /// Requests refused with 429 by the rolling or daily limit.
    pub rate_limited: u64,
}

impl FakeStats {
    /// Reads `{requests, rateLimited, ...}`; `None` if either is missing.
    pub fn from_json(body: &str) -> Option<FakeStats> {
        let value: Value = serde_json::from_str(body).ok()?;
        Some(FakeStats {
            requests: value.get("requests")?.as_u64()?,
            rate_limited: value.get("rateLimited")?.as_u64()?,
        })
    }
}

/// The figures of the CLI's closing summary (stderr).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CliSummary {
    /// Data rows read.
    pub rows: u64,
    /// Wall time of the run, seconds.
    pub seconds: f64,
    /// Rows per second.
    pub contacts_per_sec: f64,
    /// Requests sent.
    pub requests: u64,
    /// 429 responses.
    pub rate_limited: u64,
    /// Peak resident memory, MiB (`None` when the CLI could not read it).
    pub peak_rss_mib: Option<f64>,
}

impl CliSummary {
    /// Finds the summary in the CLI's stderr:
    ///
    /// ```text
    /// upsert: 1001 rows in 0.06 s (16337 contacts/s)
    ///   created 997, updated 1, failed 3 (2 bad rows), unknown 0
    ///   requests 10, retries 0, 429s 0
    ///   peak RSS 16.4 MiB
    /// ```
    pub fn from_stderr(stderr: &str) -> Option<CliSummary> {
        let mut summary = None;
        for line in stderr.lines() {
            let line = line.trim();
            if let Some(parsed) = headline(line) {
                summary = Some(parsed);
                continue;
            }
            let Some(current) = summary.as_mut() else {
                continue;
            };
            if let Some(rest) = line.strip_prefix("requests ") {
                current.requests = leading_number(rest)?;
                current.rate_limited = rest
                    .split(", ")
                    .find_map(|part| part.strip_prefix("429s "))
                    .and_then(leading_number)?;
            } else if let Some(rest) = line.strip_prefix("peak RSS ") {
                current.peak_rss_mib = rest.strip_suffix(" MiB")?.trim().parse().ok();
            }
        }
        summary
    }
}

/// `upsert: 1001 rows in 0.06 s (16337 contacts/s)`.
fn headline(line: &str) -> Option<CliSummary> {
    let (_, rest) = line.split_once(": ")?;
    let (rows, rest) = rest.split_once(" rows in ")?;
    let (seconds, rest) = rest.split_once(" s (")?;
    let rate = rest.strip_suffix(" contacts/s)")?;
    Some(CliSummary {
        rows: rows.trim().parse().ok()?,
        seconds: seconds.trim().parse().ok()?,
        contacts_per_sec: rate.trim().parse().ok()?,
        ..CliSummary::default()
    })
}

fn leading_number(text: &str) -> Option<u64> {
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The lines of `pgrep -fa PATTERN` output that are not this process or one of
/// `own` (the benchmark's own pids): the heavy processes to wait for.
pub fn others(pgrep_output: &str, own: &[u32]) -> Vec<String> {
    pgrep_output
        .lines()
        .filter(|line| {
            let pid = line.split_whitespace().next().and_then(|p| p.parse().ok());
            !line.trim().is_empty() && pid.is_none_or(|pid: u32| !own.contains(&pid))
        })
        .map(str::to_owned)
        .collect()
}

/// User + system CPU seconds from the text of `/proc/<pid>/stat`, with
/// `ticks_per_sec` clock ticks per second (`utime` and `stime`, the 14th and
/// 15th fields, counted after the parenthesised command name).
pub fn proc_stat_cpu_secs(stat: &str, ticks_per_sec: f64) -> Option<f64> {
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / ticks_per_sec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fakes_first_line() {
        assert_eq!(
            listening_url("listening on http://127.0.0.1:41234\n"),
            Some("http://127.0.0.1:41234")
        );
        assert_eq!(listening_url("hubspot-fake: address in use"), None);
        assert_eq!(listening_url("listening on ftp://x"), None);
    }

    #[test]
    fn the_fakes_stats() {
        let body = r#"{"requests":512,"responses":{"POST /crm/v3/objects/contacts/batch/upsert":{"200":500,"429":12}},"rateLimited":12,"unauthorized":0,"faults":{}}"#;
        assert_eq!(
            FakeStats::from_json(body),
            Some(FakeStats {
                requests: 512,
                rate_limited: 12
            })
        );
        assert_eq!(FakeStats::from_json(r#"{"requests":1}"#), None);
        assert_eq!(FakeStats::from_json("not json"), None);
    }

    #[test]
    fn the_clis_summary() {
        let stderr = "line 341: failed: INVALID_INPUT: the key \"email\" is missing or empty\n\
            upsert: 1001 rows in 0.06 s (16337 contacts/s)\n  \
            created 997, updated 1, failed 3 (2 bad rows), unknown 0\n  \
            requests 10, retries 0, 429s 2\n  \
            peak RSS 16.4 MiB\n";
        let summary = CliSummary::from_stderr(stderr).unwrap();
        assert_eq!(
            summary,
            CliSummary {
                rows: 1001,
                seconds: 0.06,
                contacts_per_sec: 16337.0,
                requests: 10,
                rate_limited: 2,
                peak_rss_mib: Some(16.4),
            }
        );
    }

    #[test]
    fn a_summary_without_rss_or_at_all() {
        let stderr = "upsert: 5 rows in 1.00 s (5 contacts/s)\n  requests 1, retries 0, 429s 0, reconciled 3\n";
        let summary = CliSummary::from_stderr(stderr).unwrap();
        assert_eq!((summary.rows, summary.requests), (5, 1));
        assert_eq!(summary.peak_rss_mib, None);
        assert_eq!(CliSummary::from_stderr("error: no such file\n"), None);
    }

    #[test]
    fn cpu_from_proc_stat() {
        let stat = "4242 (hubspot fake) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 4 0";
        assert_eq!(proc_stat_cpu_secs(stat, 100.0), Some(3.0));
        assert_eq!(proc_stat_cpu_secs("garbage", 100.0), None);
    }

    #[test]
    fn other_heavy_processes() {
        let listing = "4269 cargo test --workspace --locked\n\
            777 /work/main/target/release/deps/throughput-abc\n\
            4917 rustc --crate-name serde_json\n";
        assert_eq!(
            others(listing, &[777]),
            vec![
                "4269 cargo test --workspace --locked".to_owned(),
                "4917 rustc --crate-name serde_json".to_owned()
            ]
        );
        assert!(others("", &[1]).is_empty());
    }
}
