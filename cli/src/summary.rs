//! The closing summary printed on stderr, and the peak memory figure in it.
//! Formatting and parsing are pure; [`peak_rss_kib`] reads `/proc`.

use std::{fmt, time::Duration};

use hubspot_contacts_batch::batch::{BatchStats, OutcomeCounts};

/// What a run did, for the closing summary.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    /// The subcommand.
    pub command: &'static str,
    /// The HubSpot API version used (`2026-09`, `v3`, `v1` for the legacy batch).
    pub api_version: String,
    /// Data rows read.
    pub rows: u64,
    /// Outcomes of the rows the SDK settled.
    pub counts: OutcomeCounts,
    /// Rows that were bad before sending (counted as failed too).
    pub bad_rows: u64,
    /// On --resume: rows an earlier run settled, skipped by this one.
    pub skipped: u64,
    /// Of those, the ones that failed or ended unknown.
    pub skipped_problems: u64,
    /// Requests, retries, 429s.
    pub stats: BatchStats,
    /// Whether the preflight read the portal's properties first.
    pub preflight_read: bool,
    /// On --resume: the requests that read back the rows left in flight.
    pub read_back_requests: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Peak resident memory (Linux's VmHWM), in KiB.
    pub peak_rss_kib: Option<u64>,
    /// Why the run stopped before its end, and what to do, if it did.
    pub aborted: Option<String>,
    /// Whether Ctrl-C (or SIGTERM) stopped the reading.
    pub interrupted: bool,
    /// Whether `--resume` can continue the run (a report, a file, a target
    /// that remembers).
    pub resumable: bool,
}

impl Summary {
    /// Failed rows: those HubSpot or the SDK refused, and the bad ones.
    pub fn failed(&self) -> u64 {
        self.counts.failed + self.bad_rows
    }

    /// Whether any row failed, was not sent or ended unknown.
    pub fn has_problems(&self) -> bool {
        self.failed() > 0
            || self.counts.not_sent > 0
            || self.counts.unknown > 0
            || self.skipped_problems > 0
    }

    /// Rows per second over the run.
    pub fn rate(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.rows as f64 / seconds
        } else {
            0.0
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(why) = &self.aborted {
            writeln!(f, "STOPPED: {why}")?;
        } else if self.interrupted {
            write!(
                f,
                "INTERRUPTED: nothing more was sent; the requests already sent were settled, \
                 the rows held back are reported not sent, the rest were not read."
            )?;
            if self.resumable {
                write!(
                    f,
                    " Re-run the same command with --resume (and the same --report) to continue."
                )?;
            }
            writeln!(f)?;
        }
        writeln!(
            f,
            "{} (API {}): {} rows in {:.2} s ({:.0} contacts/s)",
            self.command,
            self.api_version,
            self.rows,
            self.elapsed.as_secs_f64(),
            self.rate()
        )?;
        let counts = &self.counts;
        write!(
            f,
            "  created {}, updated {}",
            counts.created, counts.updated
        )?;
        for (name, count) in [
            ("read", counts.read),
            ("archived", counts.archived),
            ("accepted", counts.accepted),
        ] {
            if count > 0 {
                write!(f, ", {name} {count}")?;
            }
        }
        write!(f, ", failed {}", self.failed())?;
        if self.bad_rows > 0 {
            write!(f, " ({} bad rows)", self.bad_rows)?;
        }
        if counts.not_sent > 0 {
            write!(f, ", not sent {}", counts.not_sent)?;
        }
        writeln!(f, ", unknown {}", counts.unknown)?;
        if self.skipped > 0 {
            writeln!(
                f,
                "  skipped {} rows an earlier run settled ({} of them failed or unknown)",
                self.skipped, self.skipped_problems
            )?;
        }
        write!(
            f,
            "  requests {}, retries {}, 429s {}",
            self.stats.requests, self.stats.retries, self.stats.rate_limited
        )?;
        if self.stats.reconciled > 0 {
            write!(f, ", reconciled {}", self.stats.reconciled)?;
        }
        if self.stats.shared_budget_fallbacks > 0 {
            let fallbacks = self.stats.shared_budget_fallbacks;
            write!(
                f,
                ", {fallbacks} sent without the shared budget (Redis out of reach)"
            )?;
        }
        let mut before = Vec::new();
        if self.preflight_read {
            before.push("the preflight's read of the properties".to_owned());
        }
        if self.read_back_requests > 0 {
            before.push(format!(
                "{} {} reading back the rows left in flight",
                self.read_back_requests,
                if self.read_back_requests == 1 {
                    "request"
                } else {
                    "requests"
                }
            ));
        }
        if !before.is_empty() {
            write!(f, "; before the rows: {}", before.join(", "))?;
        }
        if let Some(kib) = self.peak_rss_kib {
            write!(f, "\n  peak RSS {:.1} MiB", kib as f64 / 1024.0)?;
        }
        Ok(())
    }
}

/// The `VmHWM` (peak resident set) of a `/proc/<pid>/status` text, in KiB.
pub fn parse_vm_hwm(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|number| number.trim().parse().ok())
}

/// This process's peak resident memory in KiB (Linux only; `None` elsewhere).
pub fn peak_rss_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .as_deref()
        .and_then(parse_vm_hwm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_hwm_is_read_in_kib() {
        let status =
            "Name:\thubspot-contacts\nVmPeak:\t  100 kB\nVmHWM:\t   14336 kB\nVmRSS:\t 9000 kB\n";
        assert_eq!(parse_vm_hwm(status), Some(14336));
        assert_eq!(parse_vm_hwm("Name: x\n"), None);
        assert_eq!(parse_vm_hwm("VmHWM: lots\n"), None);
    }

    #[test]
    fn the_summary_names_every_count() {
        let summary = Summary {
            command: "upsert",
            api_version: "2026-09".to_owned(),
            rows: 1003,
            counts: OutcomeCounts {
                created: 995,
                updated: 1,
                failed: 3,
                ..OutcomeCounts::default()
            },
            bad_rows: 4,
            stats: BatchStats {
                requests: 12,
                retries: 1,
                rate_limited: 1,
                ..BatchStats::default()
            },
            elapsed: Duration::from_millis(500),
            peak_rss_kib: Some(14336),
            ..Summary::default()
        };
        assert_eq!(
            summary.to_string(),
            "upsert (API 2026-09): 1003 rows in 0.50 s (2006 contacts/s)\n  \
             created 995, updated 1, failed 7 (4 bad rows), unknown 0\n  \
             requests 12, retries 1, 429s 1\n  \
             peak RSS 14.0 MiB"
        );
        assert!(summary.has_problems());
        let clean = Summary {
            command: "archive",
            rows: 2,
            counts: OutcomeCounts {
                archived: 2,
                ..OutcomeCounts::default()
            },
            ..Summary::default()
        };
        assert!(!clean.has_problems());
        let stopped = Summary {
            command: "upsert",
            rows: 3,
            counts: OutcomeCounts {
                not_sent: 3,
                ..OutcomeCounts::default()
            },
            aborted: Some("HubSpot refused the access token (401): check the token".into()),
            ..Summary::default()
        };
        assert!(stopped.has_problems());
        let shown = stopped.to_string();
        assert!(
            shown.starts_with("STOPPED: HubSpot refused the access token (401)"),
            "{shown}"
        );
        assert!(shown.contains("failed 0, not sent 3, unknown 0"), "{shown}");
        assert!(
            clean
                .to_string()
                .contains("created 0, updated 0, archived 2, failed 0, unknown 0")
        );
    }

    #[test]
    fn an_interrupted_or_resumed_run_says_so() {
        let interrupted = Summary {
            command: "create",
            rows: 5,
            interrupted: true,
            resumable: true,
            ..Summary::default()
        };
        let shown = interrupted.to_string();
        assert!(shown.starts_with("INTERRUPTED: "), "{shown}");
        assert!(shown.contains("--resume"), "{shown}");
        let without_report = Summary {
            resumable: false,
            ..interrupted
        };
        assert!(!without_report.to_string().contains("--resume"));
        let resumed = Summary {
            command: "create",
            skipped: 40,
            skipped_problems: 2,
            ..Summary::default()
        };
        assert!(resumed.has_problems());
        assert!(
            resumed
                .to_string()
                .contains("skipped 40 rows an earlier run settled (2 of them failed or unknown)"),
            "{resumed}"
        );
        assert!(
            !Summary {
                skipped: 40,
                ..Summary::default()
            }
            .has_problems()
        );
    }

    #[test]
    fn the_requests_before_the_rows_are_named() {
        let plain = Summary::default().to_string();
        assert!(!plain.contains("before the rows"), "{plain}");
        let both = Summary {
            preflight_read: true,
            read_back_requests: 2,
            ..Summary::default()
        };
        assert!(
            both.to_string().contains(
                "requests 0, retries 0, 429s 0; before the rows: the preflight's read of the \
                 properties, 2 requests reading back the rows left in flight"
            ),
            "{both}"
        );
        let one = Summary {
            read_back_requests: 1,
            ..Summary::default()
        };
        assert!(
            one.to_string()
                .contains("429s 0; before the rows: 1 request reading back"),
            "{one}"
        );
    }
}
