//! The `--dry-run` plan: how many rows, how many valid, and how many requests
//! the SDK would send (counted with the SDK's own planner). Pure.

use std::fmt;

use hubspot_contacts_batch::{ContactKey, batch::RequestCounter};

/// Counts rows and the requests the valid ones would need.
#[derive(Debug)]
pub struct Planner {
    requests: RequestCounter,
    plan: Plan,
}

/// What a run would do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Data rows read.
    pub rows: u64,
    /// Rows that would be sent.
    pub valid: u64,
    /// Rows that are bad and would only be reported.
    pub invalid: u64,
    /// Requests the valid rows would need (before any retry or split).
    pub requests: u64,
    /// Inputs per request at most.
    pub batch_size: usize,
}

impl Planner {
    /// A planner for requests of at most `batch_size` inputs (at least 1).
    pub fn new(batch_size: usize) -> Self {
        let batch_size = batch_size.max(1);
        Self {
            requests: RequestCounter::new(batch_size),
            plan: Plan {
                batch_size,
                ..Plan::default()
            },
        }
    }

    /// Counts a valid row with its key (`property`, `value`), if it has one.
    pub fn valid(&mut self, key: Option<(&str, &str)>) {
        self.plan.rows += 1;
        self.plan.valid += 1;
        let key = key.map(|(property, value)| ContactKey::by(property, value));
        self.requests.add(key.as_ref());
    }

    /// Counts a bad row.
    pub fn invalid(&mut self) {
        self.plan.rows += 1;
        self.plan.invalid += 1;
    }

    /// The plan.
    pub fn finish(self) -> Plan {
        Plan {
            requests: self.requests.finish(),
            ..self.plan
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "rows      {}", self.rows)?;
        writeln!(f, "valid     {}", self.valid)?;
        writeln!(f, "invalid   {}", self.invalid)?;
        write!(
            f,
            "requests  {} (up to {} inputs each)",
            self.requests, self.batch_size
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(keys: &[Option<&str>], invalid: u64, batch_size: usize) -> Plan {
        let mut planner = Planner::new(batch_size);
        for key in keys {
            planner.valid(key.map(|k| ("email", k)));
        }
        for _ in 0..invalid {
            planner.invalid();
        }
        planner.finish()
    }

    #[test]
    fn requests_are_full_chunks_plus_the_rest() {
        let keys: Vec<String> = (0..250).map(|n| format!("u{n}@x.co")).collect();
        let keys: Vec<Option<&str>> = keys.iter().map(|k| Some(k.as_str())).collect();
        for (n, size, requests) in [
            (0, 100, 0),
            (1, 100, 1),
            (100, 100, 1),
            (101, 100, 2),
            (250, 100, 3),
            (250, 1000, 1),
            (5, 2, 3),
        ] {
            let planned = plan(&keys[..n], 0, size);
            assert_eq!(planned.requests, requests, "{n} rows in {size}s");
            assert_eq!(planned.valid, n as u64);
        }
    }

    #[test]
    fn a_repeated_key_starts_a_new_request() {
        let planned = plan(
            &[Some("a@x.co"), Some("b@x.co"), Some(" A@X.CO"), None, None],
            2,
            100,
        );
        assert_eq!(planned.requests, 2);
        assert_eq!((planned.rows, planned.valid, planned.invalid), (7, 5, 2));
        assert_eq!(
            planned.to_string(),
            "rows      7\nvalid     5\ninvalid   2\nrequests  2 (up to 100 inputs each)"
        );
    }
}
