//! Which of HubSpot's API versions the client calls: [`ApiVersion`].

use std::{fmt, str::FromStr};

use crate::types::DatedVersion;

/// The environment variable [`Client::from_env`](crate::Client::from_env)
/// reads the API version from.
pub const API_VERSION_ENV: &str = "HUBSPOT_API_VERSION";

/// The HubSpot API version the batch helpers call.
///
/// HubSpot moved from `v3` paths (`/crm/v3/objects/contacts/batch/upsert`) to
/// date-based versions (`/crm/objects/2026-09/contacts/batch/upsert`). The
/// request and response shapes of the contact batch endpoints are the same in
/// every version; what differs is the path and what HubSpot enforces: from
/// 2026-09 on, HubSpot refuses a create that lacks a property an account admin
/// made required (`MISSING_REQUIRED_PROPERTY`, reported per input).
///
/// The default is the `default` of `DatedVersion` in the crate's OpenAPI
/// document, today 2026-09, the newest: HubSpot tells new integrations to
/// target the newest dated version,
/// and `v3` loses support in September 2027. Choose [`ApiVersion::V3`] or an
/// older dated version to keep an integration's behaviour while it migrates.
///
/// The dated versions are the values of `DatedVersion` in
/// `openapi/contacts-batch.json`: adding HubSpot's next version there makes it
/// parse, display and work here without other changes.
///
/// ```
/// use hubspot_contacts_batch::ApiVersion;
///
/// let version: ApiVersion = "2026-03".parse()?;
/// assert_eq!(version.to_string(), "2026-03");
/// assert_eq!("v3".parse::<ApiVersion>()?, ApiVersion::V3);
/// assert_eq!(ApiVersion::default().to_string(), "2026-09");
/// let error = "2025-01".parse::<ApiVersion>().unwrap_err();
/// assert!(error.to_string().contains("v3, 2026-03, 2026-09"));
/// # Ok::<(), hubspot_contacts_batch::UnknownApiVersion>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApiVersion {
    /// The `v3` paths, `/crm/v3/objects/contacts/batch/...`, supported by
    /// HubSpot until September 2027.
    V3,
    /// A date-based version: `/crm/objects/<version>/contacts/batch/...`.
    Dated(DatedVersion),
}

impl ApiVersion {
    /// Every version this build knows, `v3` first, then the dated ones from
    /// oldest to newest.
    pub fn known() -> Vec<ApiVersion> {
        let dated = dated_values()
            .into_iter()
            .filter_map(|value| value.parse().ok())
            .map(ApiVersion::Dated);
        std::iter::once(ApiVersion::V3).chain(dated).collect()
    }
}

/// The values of `DatedVersion` as the document lists them, read from the
/// schema progenitor derived from it, so that a value added to the document
/// needs no change here.
fn dated_values() -> Vec<String> {
    let schema = schemars::schema_for!(DatedVersion);
    schema
        .schema
        .enum_values
        .unwrap_or_default()
        .into_iter()
        .filter_map(|value| value.as_str().map(str::to_owned))
        .collect()
}

impl Default for ApiVersion {
    /// The document's default dated version (2026-09).
    fn default() -> Self {
        ApiVersion::Dated(DatedVersion::default())
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiVersion::V3 => f.write_str("v3"),
            ApiVersion::Dated(version) => write!(f, "{version}"),
        }
    }
}

impl FromStr for ApiVersion {
    type Err = UnknownApiVersion;

    /// `v3` (any case) or a dated version such as `2026-09`; surrounding
    /// whitespace is ignored.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let value = value.trim();
        if value.eq_ignore_ascii_case("v3") {
            return Ok(ApiVersion::V3);
        }
        value
            .parse()
            .map(ApiVersion::Dated)
            .map_err(|_| UnknownApiVersion {
                given: value.to_owned(),
            })
    }
}

/// A string that names no API version this build knows.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown HubSpot API version {given:?}; known versions: {}",
    known_list()
)]
pub struct UnknownApiVersion {
    given: String,
}

fn known_list() -> String {
    let known: Vec<String> = ApiVersion::known()
        .iter()
        .map(ToString::to_string)
        .collect();
    known.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_version_round_trips_through_its_text() {
        let known = ApiVersion::known();
        assert!(known.len() >= 3, "{known:?}");
        for version in known {
            assert_eq!(version.to_string().parse::<ApiVersion>(), Ok(version));
        }
    }

    #[test]
    fn the_document_lists_the_live_versions_in_order() {
        let shown: Vec<String> = ApiVersion::known()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(shown[..3], ["v3", "2026-03", "2026-09"]);
    }

    #[test]
    fn the_default_is_the_newest_ga_version() {
        assert_eq!(ApiVersion::default().to_string(), "2026-09");
    }

    #[test]
    fn spellings_are_forgiving_only_where_unambiguous() {
        assert_eq!(" V3 ".parse::<ApiVersion>(), Ok(ApiVersion::V3));
        assert_eq!(
            "2026-03\n".parse::<ApiVersion>().map(|v| v.to_string()),
            Ok("2026-03".to_owned())
        );
        for bad in ["", "v4", "2026-9", "2026/09", "latest", "2026-09-beta"] {
            let error = bad.parse::<ApiVersion>().expect_err(bad);
            let message = error.to_string();
            assert!(message.contains(&format!("{:?}", bad.trim())), "{message}");
            assert!(message.contains("v3, 2026-03, 2026-09"), "{message}");
        }
    }
}
