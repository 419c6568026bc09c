//! Request statistics, as returned by [`FakeHubSpot::stats`](crate::FakeHubSpot::stats)
//! and `GET /_fake/stats`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Counters over HubSpot-route traffic since start or the last reset. Admin routes
/// (`/_fake/...`) are not counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Stats {
    /// HubSpot-route requests received (including refused and faulted ones).
    pub requests: u64,
    /// Responses sent, by route (`"POST /crm/v3/objects/contacts/batch/upsert"`,
    /// `"POST /crm/objects/2026-09/contacts/batch/upsert"` for dated paths whichever object
    /// type they name, `{vid}` for the v1 profile route; see [`routes`](crate::routes)) and
    /// HTTP status. A dated path the fake does not serve is counted under [`routes::DATED_UNSERVED`](crate::routes::DATED_UNSERVED). A
    /// dropped connection sends no response and is counted only in [`faults`](Self::faults).
    pub responses: BTreeMap<String, BTreeMap<u16, u64>>,
    /// Requests refused by the configured rate limits (not injected 429 faults).
    pub rate_limited: u64,
    /// Requests refused with 401 (an expired access token included).
    pub unauthorized: u64,
    /// Access tokens minted by the OAuth token endpoint (its `200`s). Every request to
    /// it, refused ones included, is also in [`requests`](Self::requests) and in
    /// [`responses`](Self::responses) under [`routes::oauth_token`](crate::routes::oauth_token).
    #[serde(default)]
    pub token_refreshes: u64,
    /// Injected faults by kind (`"429"`, `"503"`, `"reset-before"`, `"reset-after"`,
    /// `"timeout-after"`).
    pub faults: BTreeMap<String, u64>,
}

impl Stats {
    /// Responses with `status` on `route`.
    pub fn count(&self, route: &str, status: u16) -> u64 {
        self.responses
            .get(route)
            .and_then(|m| m.get(&status))
            .copied()
            .unwrap_or(0)
    }

    /// Responses with `status`, over all routes.
    pub fn count_status(&self, status: u16) -> u64 {
        self.responses.values().filter_map(|m| m.get(&status)).sum()
    }

    /// Faults injected, over all kinds.
    pub fn faults_injected(&self) -> u64 {
        self.faults.values().sum()
    }

    pub(crate) fn record(&mut self, route: &str, status: u16) {
        *self
            .responses
            .entry(route.to_owned())
            .or_default()
            .entry(status)
            .or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_round_trips_through_json() {
        let mut s = Stats::default();
        s.record("POST /a", 200);
        s.record("POST /a", 200);
        s.record("POST /b", 429);
        s.faults.insert("reset-after".into(), 2);
        assert_eq!(s.count("POST /a", 200), 2);
        assert_eq!(s.count("POST /a", 500), 0);
        assert_eq!(s.count_status(429), 1);
        assert_eq!(s.faults_injected(), 2);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Stats>(&json).unwrap(), s);
    }
}
