//! Fault specifications (`429=0.05,reset-before=0.02,...`) and the seeded choice of a fault
//! for each request. Pure: no I/O, so the parsing and the draw are unit-tested here.

use std::fmt;
use std::str::FromStr;

/// One kind of fault the fake can inject into a HubSpot-route request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    /// Answer `429 Too Many Requests` with a ten-secondly rate-limit body; nothing is applied.
    TooManyRequests,
    /// Answer with this 5xx status code and a HubSpot-shaped error body; nothing is applied.
    ServerError(u16),
    /// Drop the connection (TCP reset) before the request is processed; nothing is applied.
    ResetBefore,
    /// Apply the request, then drop the connection (TCP reset) before the response is sent.
    ResetAfter,
    /// Apply the request, then hold the response far past any sane client timeout
    /// ([`TIMEOUT_AFTER_HOLD`]) before sending it.
    TimeoutAfter,
}

/// How long a `timeout-after` fault holds the response after applying the request.
pub const TIMEOUT_AFTER_HOLD: std::time::Duration = std::time::Duration::from_secs(600);

impl FaultKind {
    /// Whether the request is applied to the store before this fault takes effect.
    pub fn applies_request(self) -> bool {
        matches!(self, FaultKind::ResetAfter | FaultKind::TimeoutAfter)
    }

    /// The name used in fault specs and in [`Stats::faults`](crate::Stats::faults).
    pub fn name(self) -> String {
        match self {
            FaultKind::TooManyRequests => "429".to_owned(),
            FaultKind::ServerError(code) => code.to_string(),
            FaultKind::ResetBefore => "reset-before".to_owned(),
            FaultKind::ResetAfter => "reset-after".to_owned(),
            FaultKind::TimeoutAfter => "timeout-after".to_owned(),
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for FaultKind {
    type Err = FaultSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "429" => Ok(FaultKind::TooManyRequests),
            "reset-before" => Ok(FaultKind::ResetBefore),
            "reset-after" => Ok(FaultKind::ResetAfter),
            "timeout-after" => Ok(FaultKind::TimeoutAfter),
            other => match other.parse::<u16>() {
                Ok(code) if (500..=599).contains(&code) => Ok(FaultKind::ServerError(code)),
                _ => Err(FaultSpecError::UnknownKind(other.to_owned())),
            },
        }
    }
}

/// Why a fault spec could not be parsed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FaultSpecError {
    /// An entry was not of the form `KIND=PROBABILITY`.
    #[error("fault entry {0:?} is not of the form KIND=PROBABILITY")]
    Malformed(String),
    /// The kind is not `429`, a 5xx status code, `reset-before`, `reset-after` or `timeout-after`.
    #[error(
        "unknown fault kind {0:?} (expected 429, a 5xx code, reset-before, reset-after or timeout-after)"
    )]
    UnknownKind(String),
    /// The probability is not a number in `[0, 1]`.
    #[error("fault probability {0:?} is not a number between 0 and 1")]
    BadProbability(String),
    /// The same kind was given twice.
    #[error("fault kind {0} is given more than once")]
    Repeated(FaultKind),
    /// The probabilities add up to more than 1.
    #[error("fault probabilities add up to {0}, more than 1")]
    SumOverOne(f64),
}

/// A set of faults, each with the probability that it hits a given HubSpot-route request.
///
/// At most one fault hits a request: one number is drawn from the seeded random source
/// per request and walked through the cumulative probabilities, so a run with the same
/// seed and the same request order injects the same faults.
///
/// ```
/// use hubspot_fake::{FaultKind, FaultSpec};
/// let spec = FaultSpec::parse("429=0.05,503=0.02,reset-after=0.01").unwrap();
/// assert_eq!(spec.probability(FaultKind::ServerError(503)), 0.02);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultSpec {
    entries: Vec<(FaultKind, f64)>,
}

impl FaultSpec {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// Parses `KIND=PROBABILITY[,KIND=PROBABILITY...]`; an empty string means no faults.
    pub fn parse(spec: &str) -> Result<Self, FaultSpecError> {
        let mut out = FaultSpec::default();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (kind, probability) = entry
                .split_once('=')
                .ok_or_else(|| FaultSpecError::Malformed(entry.to_owned()))?;
            let kind: FaultKind = kind.parse()?;
            let p: f64 = probability
                .trim()
                .parse()
                .map_err(|_| FaultSpecError::BadProbability(probability.to_owned()))?;
            out = out.with(kind, p)?;
        }
        Ok(out)
    }

    /// Adds one fault kind with its probability.
    pub fn with(mut self, kind: FaultKind, probability: f64) -> Result<Self, FaultSpecError> {
        if !(0.0..=1.0).contains(&probability) {
            return Err(FaultSpecError::BadProbability(probability.to_string()));
        }
        if self.entries.iter().any(|(k, _)| *k == kind) {
            return Err(FaultSpecError::Repeated(kind));
        }
        let sum: f64 = self.entries.iter().map(|(_, p)| p).sum::<f64>() + probability;
        if sum > 1.0 + 1e-9 {
            return Err(FaultSpecError::SumOverOne(sum));
        }
        self.entries.push((kind, probability));
        Ok(self)
    }

    /// The probability configured for `kind` (0 when absent).
    pub fn probability(&self, kind: FaultKind) -> f64 {
        self.entries
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0.0, |(_, p)| *p)
    }

    /// Whether no fault can ever be injected.
    pub fn is_empty(&self) -> bool {
        self.entries.iter().all(|(_, p)| *p == 0.0)
    }

    /// The fault selected by a uniform draw `x` in `[0, 1)`, if any.
    pub fn pick(&self, x: f64) -> Option<FaultKind> {
        let mut acc = 0.0;
        for (kind, p) in &self.entries {
            acc += p;
            if x < acc {
                return Some(*kind);
            }
        }
        None
    }
}

impl FromStr for FaultSpec {
    type Err = FaultSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FaultSpec::parse(s)
    }
}

impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (kind, p)) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{kind}={p}")?;
        }
        Ok(())
    }
}

/// Draws one fault per request from a seeded generator.
#[derive(Debug)]
pub(crate) struct FaultInjector {
    spec: FaultSpec,
    rng: fastrand::Rng,
}

impl FaultInjector {
    pub(crate) fn new(spec: FaultSpec, seed: u64) -> Self {
        Self {
            spec,
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    pub(crate) fn reseed(&mut self, seed: u64) {
        self.rng = fastrand::Rng::with_seed(seed);
    }

    /// The fault for the next request. Draws exactly one number whenever faults are
    /// configured, so the sequence depends only on the seed and the request count.
    pub(crate) fn next(&mut self) -> Option<FaultKind> {
        if self.spec.is_empty() {
            return None;
        }
        let x = self.rng.f64();
        self.spec.pick(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let spec = FaultSpec::parse(
            "429=0.05,500=0.01,503=0.02,reset-before=0.02,reset-after=0.01,timeout-after=0.01",
        )
        .unwrap();
        assert_eq!(spec.probability(FaultKind::TooManyRequests), 0.05);
        assert_eq!(spec.probability(FaultKind::ServerError(500)), 0.01);
        assert_eq!(spec.probability(FaultKind::ServerError(503)), 0.02);
        assert_eq!(spec.probability(FaultKind::ResetBefore), 0.02);
        assert_eq!(spec.probability(FaultKind::ResetAfter), 0.01);
        assert_eq!(spec.probability(FaultKind::TimeoutAfter), 0.01);
        assert_eq!(spec.probability(FaultKind::ServerError(502)), 0.0);
        assert_eq!(FaultSpec::parse(&spec.to_string()).unwrap(), spec);
    }

    #[test]
    fn empty_spec_is_no_faults() {
        assert!(FaultSpec::parse("").unwrap().is_empty());
        assert!(FaultSpec::parse(" , ").unwrap().is_empty());
    }

    #[test]
    fn rejects_bad_specs() {
        assert!(matches!(
            FaultSpec::parse("429"),
            Err(FaultSpecError::Malformed(_))
        ));
        assert!(matches!(
            FaultSpec::parse("404=0.1"),
            Err(FaultSpecError::UnknownKind(_))
        ));
        assert!(matches!(
            FaultSpec::parse("boom=0.1"),
            Err(FaultSpecError::UnknownKind(_))
        ));
        assert!(matches!(
            FaultSpec::parse("429=x"),
            Err(FaultSpecError::BadProbability(_))
        ));
        assert!(matches!(
            FaultSpec::parse("429=1.5"),
            Err(FaultSpecError::BadProbability(_))
        ));
        assert!(matches!(
            FaultSpec::parse("429=0.6,500=0.6"),
            Err(FaultSpecError::SumOverOne(_))
        ));
        assert!(matches!(
            FaultSpec::parse("429=0.1,429=0.1"),
            Err(FaultSpecError::Repeated(FaultKind::TooManyRequests))
        ));
    }

    #[test]
    fn pick_walks_cumulative_probabilities() {
        let spec = FaultSpec::parse("429=0.25,reset-after=0.25").unwrap();
        assert_eq!(spec.pick(0.0), Some(FaultKind::TooManyRequests));
        assert_eq!(spec.pick(0.2499), Some(FaultKind::TooManyRequests));
        assert_eq!(spec.pick(0.25), Some(FaultKind::ResetAfter));
        assert_eq!(spec.pick(0.4999), Some(FaultKind::ResetAfter));
        assert_eq!(spec.pick(0.5), None);
        assert_eq!(spec.pick(0.99), None);
        let always = FaultSpec::parse("502=1").unwrap();
        assert_eq!(always.pick(0.999_999), Some(FaultKind::ServerError(502)));
    }

    #[test]
    fn the_same_seed_replays_the_same_faults() {
        let spec = FaultSpec::parse("429=0.2,500=0.2,reset-before=0.2").unwrap();
        let run = |seed| {
            let mut inj = FaultInjector::new(spec.clone(), seed);
            (0..200).map(|_| inj.next()).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let hits = run(7).iter().filter(|f| f.is_some()).count();
        assert!(hits > 60 && hits < 180, "{hits} faults out of 200");
    }

    #[test]
    fn only_after_faults_apply_the_request() {
        assert!(FaultKind::ResetAfter.applies_request());
        assert!(FaultKind::TimeoutAfter.applies_request());
        assert!(!FaultKind::ResetBefore.applies_request());
        assert!(!FaultKind::TooManyRequests.applies_request());
        assert!(!FaultKind::ServerError(500).applies_request());
    }
}
