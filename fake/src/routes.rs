//! Route names as used as keys of [`Stats::responses`](crate::Stats::responses) (method,
//! space, path template), and the API versions the fake serves (contact batch and the
//! contact properties list, and the OAuth token endpoint's [`OAUTH_VERSIONS`]).
//!
//! HubSpot serves the same contact batch contract at several path prefixes: CRM v3
//! (`/crm/v3/objects/contacts/batch/{op}`) and the date-based versions
//! (`/crm/objects/{version}/{objectType}/batch/{op}`, with `objectType` `contacts` or its id
//! `0-1`). The fake serves all of them over one store; [`DATED_VERSIONS`] lists the dated
//! ones. The contact properties list is served the same way, at
//! `/crm/v3/properties/{objectType}` and `/crm/properties/{version}/{objectType}` (the
//! date after `properties`).
//!
//! The fake's router is built from the same table as these names, so every route it serves
//! is counted under one of them, and every name is a route it serves.
//!
//! ```
//! use hubspot_fake::routes;
//! assert_eq!(routes::batch("v3", "upsert"), routes::V3_UPSERT);
//! assert_eq!(
//!     routes::batch("2026-09", "upsert"),
//!     "POST /crm/objects/2026-09/contacts/batch/upsert"
//! );
//! ```

use std::borrow::Cow;

/// `POST /crm/v3/objects/contacts/batch/create`
pub const V3_CREATE: &str = "POST /crm/v3/objects/contacts/batch/create";
/// `POST /crm/v3/objects/contacts/batch/update`
pub const V3_UPDATE: &str = "POST /crm/v3/objects/contacts/batch/update";
/// `POST /crm/v3/objects/contacts/batch/upsert`
pub const V3_UPSERT: &str = "POST /crm/v3/objects/contacts/batch/upsert";
/// `POST /crm/v3/objects/contacts/batch/read`
pub const V3_READ: &str = "POST /crm/v3/objects/contacts/batch/read";
/// `POST /crm/v3/objects/contacts/batch/archive`
pub const V3_ARCHIVE: &str = "POST /crm/v3/objects/contacts/batch/archive";
/// `GET /crm/v3/properties/contacts`: the contact property catalogue at v3 (also served
/// for the object type id, `/crm/v3/properties/0-1`).
pub const V3_PROPERTIES: &str = "GET /crm/v3/properties/contacts";
/// `POST /contacts/v1/contact/batch/` (also served without the trailing slash)
pub const V1_BATCH: &str = "POST /contacts/v1/contact/batch/";
/// `POST /contacts/v1/contact`
pub const V1_CREATE: &str = "POST /contacts/v1/contact";
/// `POST /contacts/v1/contact/vid/{vid}/profile`
pub const V1_UPDATE: &str = "POST /contacts/v1/contact/vid/{vid}/profile";
/// Every `POST /crm/objects/...` path the fake does not serve (an unknown
/// version, object type or operation), counted under this one name so that
/// stray paths cannot grow the stats without bound.
pub const DATED_UNSERVED: &str = "POST /crm/objects/{version}/{objectType}/batch/{op} (not served)";

/// `POST /oauth/2026-03/token`: the OAuth token endpoint at HubSpot's first dated version
/// (the name [`oauth_token`] gives for `"2026-03"`).
pub const OAUTH_TOKEN: &str = "POST /oauth/2026-03/token";

/// The dated versions of the OAuth token endpoint the fake serves at
/// `/oauth/{version}/token` (hubspot-2026-facts §3.1 and §3.3: the `2026-09` path exists
/// with the same fields).
pub const OAUTH_VERSIONS: &[&str] = &["2026-03", "2026-09"];

/// The stats name of the OAuth token endpoint at `version`:
/// `POST /oauth/{version}/token`.
///
/// ```
/// use hubspot_fake::routes;
/// assert_eq!(routes::oauth_token("2026-03"), routes::OAUTH_TOKEN);
/// ```
pub fn oauth_token(version: &str) -> String {
    format!("{METHOD}{}", oauth_token_path(version))
}

/// The path of the token endpoint at `version`.
fn oauth_token_path(version: &str) -> String {
    format!("/oauth/{version}/token")
}

/// The date-based API versions the fake serves at
/// `/crm/objects/{version}/{objectType}/batch/{op}`, oldest first. HubSpot's first GA dated
/// version is `2026-03` (2026-03-30); `2026-09` ships on 2026-09-08 and is the first to
/// enforce admin-required properties on API writes. Add a version here to serve it.
pub const DATED_VERSIONS: &[&str] = &["2026-03", "2026-09"];

/// The first dated version that refuses creates missing an admin-required property
/// (HubSpot's changelog "CRM API write validation enforcement", 2026-08-11); versions sort
/// as their date strings do, so every later one enforces them too.
const REQUIRED_PROPERTIES_FROM: &str = "2026-09";

/// The `objectType` path segments that name contacts on dated paths: the name and
/// HubSpot's object type id.
const CONTACT_OBJECT_TYPES: [&str; 2] = ["contacts", "0-1"];

/// The stats name of batch operation `op` (`create`, `update`, `upsert`, `read`, `archive`)
/// at API version `version`: the `V3_*` constant's text for `"v3"`, otherwise
/// `POST /crm/objects/{version}/contacts/batch/{op}`. Dated requests are recorded under
/// this name whichever object type their path names (`contacts` or `0-1`).
///
/// ```
/// use hubspot_fake::routes;
/// assert_eq!(routes::batch("v3", "create"), routes::V3_CREATE);
/// assert_eq!(
///     routes::batch("2026-03", "read"),
///     "POST /crm/objects/2026-03/contacts/batch/read"
/// );
/// ```
pub fn batch(version: &str, op: &str) -> String {
    if version == ApiVersion::V3.name() {
        format!("{METHOD}/crm/v3/objects/contacts/batch/{op}")
    } else {
        format!("{METHOD}{}", dated_path(version, "contacts", op))
    }
}

/// The method of every HubSpot route the fake serves but the properties list, as it
/// starts their names.
const METHOD: &str = "POST ";

/// The method of the properties list, as it starts its names.
const GET: &str = "GET ";

/// The stats name of the contact properties list at API version `version`:
/// [`V3_PROPERTIES`] for `"v3"`, otherwise `GET /crm/properties/{version}/contacts`,
/// whichever object type the path names (`contacts` or `0-1`).
///
/// ```
/// use hubspot_fake::routes;
/// assert_eq!(routes::properties("v3"), routes::V3_PROPERTIES);
/// assert_eq!(routes::properties("2026-09"), "GET /crm/properties/2026-09/contacts");
/// ```
pub fn properties(version: &str) -> String {
    if version == ApiVersion::V3.name() {
        V3_PROPERTIES.to_owned()
    } else {
        format!("{GET}{}", dated_properties_path(version, "contacts"))
    }
}

/// The one spelling of a dated properties path (or, with `{version}` and `{object_type}`,
/// the router's template).
fn dated_properties_path(version: &str, object_type: &str) -> String {
    format!("/crm/properties/{version}/{object_type}")
}

/// The router's template of the v3 properties path.
const V3_PROPERTIES_TEMPLATE: &str = "/crm/v3/properties/{object_type}";

/// The one spelling of a dated batch path: with the segments of a request, or with
/// `{version}`, `{object_type}` and `{op}` the template the router registers.
fn dated_path(version: &str, object_type: &str, op: &str) -> String {
    format!("/crm/objects/{version}/{object_type}/batch/{op}")
}

/// An API version of the contact batch endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ApiVersion {
    /// `/crm/v3/objects/contacts/batch/{op}`
    V3,
    /// `/crm/objects/{version}/{objectType}/batch/{op}`; always one of [`DATED_VERSIONS`].
    Dated(&'static str),
}

impl ApiVersion {
    /// The dated version named by a path segment, if the fake serves it.
    pub(crate) fn dated(segment: &str) -> Option<Self> {
        DATED_VERSIONS
            .iter()
            .find(|v| **v == segment)
            .copied()
            .map(Self::Dated)
    }

    /// `v3`, or the date.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::V3 => "v3",
            Self::Dated(date) => date,
        }
    }

    /// Whether creates at this version must carry every admin-required property.
    pub(crate) fn enforces_required_properties(self) -> bool {
        match self {
            Self::V3 => false,
            Self::Dated(date) => date >= REQUIRED_PROPERTIES_FROM,
        }
    }
}

/// One of the five batch operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BatchOp {
    Create,
    Update,
    Upsert,
    Read,
    Archive,
}

impl BatchOp {
    /// Every operation, in path order of HubSpot's docs.
    pub(crate) const ALL: [Self; 5] = [
        Self::Create,
        Self::Update,
        Self::Upsert,
        Self::Read,
        Self::Archive,
    ];

    /// The last path segment.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Upsert => "upsert",
            Self::Read => "read",
            Self::Archive => "archive",
        }
    }

    fn parse(segment: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.name() == segment)
    }
}

/// HubSpot routes the fake serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// A contact batch operation at an API version.
    Batch(BatchOp, ApiVersion),
    /// `POST /contacts/v1/contact/batch/`
    V1Batch,
    /// `POST /contacts/v1/contact`
    V1Create,
    /// `POST /contacts/v1/contact/vid/{vid}/profile`
    V1Update,
    /// `GET` the contact property catalogue at an API version.
    Properties(ApiVersion),
}

impl Route {
    /// The route a dated batch path names, or `None` when the fake does not serve its
    /// version, object type or operation.
    pub(crate) fn dated_batch(version: &str, object_type: &str, op: &str) -> Option<Self> {
        let version = ApiVersion::dated(version)?;
        if !CONTACT_OBJECT_TYPES.contains(&object_type) {
            return None;
        }
        Some(Self::Batch(BatchOp::parse(op)?, version))
    }

    /// The properties list a path names: the v3 one (`version` `None`) or a dated one,
    /// for contacts; `None` when the fake does not serve that version or object type.
    pub(crate) fn properties(version: Option<&str>, object_type: &str) -> Option<Self> {
        let version = match version {
            None => ApiVersion::V3,
            Some(segment) => ApiVersion::dated(segment)?,
        };
        CONTACT_OBJECT_TYPES
            .contains(&object_type)
            .then_some(Self::Properties(version))
    }

    /// Whether requests on this route carry a JSON body (every route but the `GET`).
    pub(crate) fn takes_body(self) -> bool {
        !matches!(self, Self::Properties(_))
    }

    /// The key the stats record this route's responses under.
    pub(crate) fn name(self) -> Cow<'static, str> {
        let name = match self {
            Self::Batch(op, ApiVersion::V3) => match op {
                BatchOp::Create => V3_CREATE,
                BatchOp::Update => V3_UPDATE,
                BatchOp::Upsert => V3_UPSERT,
                BatchOp::Read => V3_READ,
                BatchOp::Archive => V3_ARCHIVE,
            },
            Self::Batch(op, version) => return Cow::Owned(batch(version.name(), op.name())),
            Self::V1Batch => V1_BATCH,
            Self::V1Create => V1_CREATE,
            Self::V1Update => V1_UPDATE,
            Self::Properties(version) => return Cow::Owned(properties(version.name())),
        };
        Cow::Borrowed(name)
    }

    /// The path of the route's name: the path template the router serves it at. (Dated
    /// routes are served through one template, see [`Serves::DatedBatch`].)
    fn path(self) -> String {
        let name = self.name();
        name.split_once(' ')
            .map_or(&*name, |(_, path)| path)
            .to_owned()
    }
}

/// What the router serves at one path of the [route table](table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Serves {
    /// This route, for every request on the path.
    Route(Route),
    /// [`Route::V1Update`], for the contact the path's `{vid}` segment names.
    V1Update,
    /// The dated batch route the path's `{version}`, `{object_type}` and `{op}` segments
    /// name ([`Route::dated_batch`]). A dated path the fake does not serve is answered 404,
    /// and counted under the path as requested.
    DatedBatch,
    /// The properties list at v3, for the object type the path's `{object_type}` segment
    /// names ([`Route::properties`]).
    V3Properties,
    /// The properties list at the version and object type the path's `{version}` and
    /// `{object_type}` segments name ([`Route::properties`]).
    DatedProperties,
    /// The OAuth token endpoint at this version (one of [`OAUTH_VERSIONS`]), counted under
    /// [`oauth_token`]. It is not a [`Route`]: it takes a form, not JSON, needs no bearer
    /// token and is outside the rate limits and faults.
    OAuthToken(&'static str),
}

/// The route table: every path the router registers for HubSpot's routes (in axum's
/// `{param}` syntax) and what it serves there. Each path is the path of a route's name
/// ([`Route::name`], the key the stats count it under), or the trailing-slash twin HubSpot
/// also serves for a v1 route, or the template of the dated routes, whose names are built
/// from the same spelling ([`batch`]). So the router serves exactly the routes the stats
/// name. The admin routes (`/_fake/...`) are not HubSpot's, are not counted, and are not
/// in the table.
pub(crate) fn table() -> Vec<(String, Serves)> {
    let mut table: Vec<(String, Serves)> = BatchOp::ALL
        .into_iter()
        .map(|op| Route::Batch(op, ApiVersion::V3))
        .map(|route| (route.path(), Serves::Route(route)))
        .collect();
    table.push((
        dated_path("{version}", "{object_type}", "{op}"),
        Serves::DatedBatch,
    ));
    for route in [Route::V1Batch, Route::V1Create] {
        let path = route.path();
        let twin = match path.strip_suffix('/') {
            Some(bare) => bare.to_owned(),
            None => format!("{path}/"),
        };
        table.push((path, Serves::Route(route)));
        table.push((twin, Serves::Route(route)));
    }
    table.push((Route::V1Update.path(), Serves::V1Update));
    table.push((V3_PROPERTIES_TEMPLATE.to_owned(), Serves::V3Properties));
    table.push((
        dated_properties_path("{version}", "{object_type}"),
        Serves::DatedProperties,
    ));
    for version in OAUTH_VERSIONS {
        table.push((oauth_token_path(version), Serves::OAuthToken(version)));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dated_paths_name_a_served_version_contacts_and_an_operation() {
        for version in DATED_VERSIONS {
            for object_type in ["contacts", "0-1"] {
                for op in BatchOp::ALL {
                    assert_eq!(
                        Route::dated_batch(version, object_type, op.name()),
                        Some(Route::Batch(op, ApiVersion::Dated(version)))
                    );
                }
            }
        }
        for (version, object_type, op) in [
            ("2025-01", "contacts", "upsert"),
            ("v3", "contacts", "upsert"),
            ("2026-09-beta", "contacts", "upsert"),
            ("2026-09", "companies", "upsert"),
            ("2026-09", "0-2", "upsert"),
            ("2026-09", "Contacts", "upsert"),
            ("2026-09", "contacts", "explode"),
            ("2026-09", "contacts", ""),
        ] {
            assert_eq!(Route::dated_batch(version, object_type, op), None);
        }
    }

    #[test]
    fn properties_paths_name_v3_or_a_served_version_and_contacts() {
        for object_type in CONTACT_OBJECT_TYPES {
            assert_eq!(
                Route::properties(None, object_type),
                Some(Route::Properties(ApiVersion::V3))
            );
            for version in DATED_VERSIONS {
                let route = Route::properties(Some(version), object_type);
                assert_eq!(route, Some(Route::Properties(ApiVersion::Dated(version))));
                assert_eq!(
                    route.map(Route::name).as_deref(),
                    Some(format!("GET /crm/properties/{version}/contacts").as_str())
                );
            }
        }
        for (version, object_type) in [
            (None, "companies"),
            (Some("2025-01"), "contacts"),
            (Some("v3"), "contacts"),
            (Some("2026-09"), "0-2"),
        ] {
            assert_eq!(Route::properties(version, object_type), None);
        }
        assert_eq!(Route::Properties(ApiVersion::V3).name(), V3_PROPERTIES);
        assert!(!Route::Properties(ApiVersion::V3).takes_body());
        assert!(Route::V1Create.takes_body());
    }

    #[test]
    fn required_properties_are_enforced_from_2026_09_on() {
        assert!(!ApiVersion::V3.enforces_required_properties());
        assert!(!ApiVersion::Dated("2026-03").enforces_required_properties());
        assert!(ApiVersion::Dated("2026-09").enforces_required_properties());
        assert!(ApiVersion::Dated("2026-09-beta").enforces_required_properties());
        assert!(ApiVersion::Dated("2027-03").enforces_required_properties());
        assert!(!ApiVersion::Dated("2025-09").enforces_required_properties());
    }

    #[test]
    fn names_of_v3_routes_are_the_constants_and_dated_ones_normalise_the_object_type() {
        let v3: Vec<_> = BatchOp::ALL
            .into_iter()
            .map(|op| Route::Batch(op, ApiVersion::V3).name())
            .collect();
        assert_eq!(v3, [V3_CREATE, V3_UPDATE, V3_UPSERT, V3_READ, V3_ARCHIVE]);
        for op in BatchOp::ALL {
            assert_eq!(
                batch("v3", op.name()),
                Route::Batch(op, ApiVersion::V3).name()
            );
        }
        let route = Route::dated_batch("2026-09", "0-1", "upsert");
        assert_eq!(
            route.map(Route::name).as_deref(),
            Some("POST /crm/objects/2026-09/contacts/batch/upsert")
        );
        assert_eq!(
            batch("2026-09", "upsert"),
            "POST /crm/objects/2026-09/contacts/batch/upsert"
        );
        assert_eq!(Route::V1Update.name(), V1_UPDATE);
    }

    /// The name of every route a request on a path that `serves` this can be served as.
    fn served_at(serves: Serves) -> Vec<String> {
        let routes = match serves {
            Serves::Route(route) => vec![route],
            Serves::V1Update => vec![Route::V1Update],
            Serves::DatedBatch => DATED_VERSIONS
                .iter()
                .flat_map(|version| {
                    BatchOp::ALL
                        .map(|op| Route::dated_batch(version, CONTACT_OBJECT_TYPES[0], op.name()))
                })
                .flatten()
                .collect(),
            Serves::OAuthToken(version) => return vec![oauth_token(version)],
            Serves::V3Properties => vec![Route::Properties(ApiVersion::V3)],
            Serves::DatedProperties => DATED_VERSIONS
                .iter()
                .filter_map(|version| Route::properties(Some(version), CONTACT_OBJECT_TYPES[0]))
                .collect(),
        };
        routes
            .into_iter()
            .map(|route| route.name().into_owned())
            .collect()
    }

    #[test]
    fn the_table_registers_each_path_once_and_serves_every_named_route() {
        let table = table();
        let paths: Vec<&str> = table.iter().map(|(path, _)| path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/crm/v3/objects/contacts/batch/create",
                "/crm/v3/objects/contacts/batch/update",
                "/crm/v3/objects/contacts/batch/upsert",
                "/crm/v3/objects/contacts/batch/read",
                "/crm/v3/objects/contacts/batch/archive",
                "/crm/objects/{version}/{object_type}/batch/{op}",
                "/contacts/v1/contact/batch/",
                "/contacts/v1/contact/batch",
                "/contacts/v1/contact",
                "/contacts/v1/contact/",
                "/contacts/v1/contact/vid/{vid}/profile",
                "/crm/v3/properties/{object_type}",
                "/crm/properties/{version}/{object_type}",
                "/oauth/2026-03/token",
                "/oauth/2026-09/token",
            ]
        );
        let served: Vec<String> = table
            .iter()
            .flat_map(|(_, serves)| served_at(*serves))
            .collect();
        let mut named: Vec<String> = [
            V3_CREATE, V3_UPDATE, V3_UPSERT, V3_READ, V3_ARCHIVE, V1_BATCH, V1_CREATE, V1_UPDATE,
        ]
        .map(String::from)
        .to_vec();
        for version in DATED_VERSIONS {
            named.extend(BatchOp::ALL.map(|op| batch(version, op.name())));
        }
        named.extend(OAUTH_VERSIONS.iter().map(|version| oauth_token(version)));
        named.push(properties("v3"));
        named.extend(DATED_VERSIONS.iter().map(|version| properties(version)));
        assert!(named.iter().any(|name| name == OAUTH_TOKEN));
        for name in &named {
            assert!(served.contains(name), "{name} is named but not served");
        }
        for name in &served {
            assert!(named.contains(name), "{name} is served but not named");
        }
    }
}
