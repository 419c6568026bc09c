//! [`FakeHubSpotBuilder`]: the knobs, and `start`, which binds the socket and spawns the
//! accept loop; [`StartError`]: why it could not.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use super::FakeHubSpot;
use super::connection::accept_loop;
use super::router::router;
use super::state::{FakeState, StoreState};
use crate::catalogue::{Catalogue, PropertyDef, default_properties, parse_listing};
use crate::faults::{FaultInjector, FaultSpec, TIMEOUT_AFTER_HOLD};
use hubspot_rate_limit::RateLimit;

use crate::limits::{RateLimiter, Window};
use crate::oauth::{DEFAULT_ACCESS_TOKEN_TTL, OAuthApp, TokenBook};
use crate::stats::Stats;
use crate::store::Store;
use crate::util::IdGen;

/// Why the fake could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// Binding the listening socket failed.
    #[error("could not listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A property given to [`FakeHubSpotBuilder::required_property`] is not a writable
    /// property of the catalogue, so no create could ever satisfy it.
    #[error("required property {name:?} is not a writable property of the catalogue")]
    RequiredProperty {
        /// The property name.
        name: String,
    },
    /// A catalogue given to [`FakeHubSpotBuilder::properties_file`] or
    /// [`FakeHubSpotBuilder::properties_json`] could not be read or is not a properties list.
    #[error("cannot load the property catalogue from {origin}: {reason}")]
    Properties {
        /// The file's path, or `JSON text`.
        origin: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Configures and starts a [`FakeHubSpot`]. Every knob defaults to "off": no latency, no
/// limits, no faults, any non-empty bearer token, no OAuth app, v1 batches applied at once,
/// seed 0.
#[derive(Debug, Clone)]
pub struct FakeHubSpotBuilder {
    addr: SocketAddr,
    latency: Duration,
    rate_limit: Option<Window>,
    daily_limit: Option<u64>,
    faults: FaultSpec,
    seed: u64,
    tokens: Option<Vec<String>>,
    oauth: Option<OAuthApp>,
    access_token_ttl: Duration,
    rotate_refresh_token: bool,
    v1_apply_delay: Duration,
    properties: Vec<PropertyDef>,
    /// Why the last catalogue given could not be loaded (origin, reason), reported by
    /// `start`.
    catalogue_error: Option<(String, String)>,
    required: Vec<String>,
    retry_after: bool,
    timeout_after_hold: Duration,
}

impl Default for FakeHubSpotBuilder {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            latency: Duration::ZERO,
            rate_limit: None,
            daily_limit: None,
            faults: FaultSpec::none(),
            seed: 0,
            tokens: None,
            oauth: None,
            access_token_ttl: DEFAULT_ACCESS_TOKEN_TTL,
            rotate_refresh_token: false,
            v1_apply_delay: Duration::ZERO,
            properties: default_properties(),
            catalogue_error: None,
            required: Vec::new(),
            retry_after: true,
            timeout_after_hold: TIMEOUT_AFTER_HOLD,
        }
    }
}

impl FakeHubSpotBuilder {
    /// Address to listen on; default `127.0.0.1:0` (a free port).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Delay added to every HubSpot-route exchange, like a network round trip:
    /// half before the request is counted and handled, half before the response.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Rolling-window limit: at most `max` requests per `window` (HubSpot: 100 or 190 per 10 s).
    pub fn rate_limit(mut self, max: u32, window: Duration) -> Self {
        self.rate_limit = Some(Window { max, window });
        self
    }

    /// Rolling-window limit from a parsed [`RateLimit`] (`100/10s`,
    /// `professional`, …; [`RateLimit::Unlimited`] for none), the grammar the
    /// SDK and the CLI read too.
    pub fn rate_limit_spec(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Window::of(limit);
        self
    }

    /// Total requests allowed until [`FakeHubSpot::reset`] (HubSpot's daily budget).
    pub fn daily_limit(mut self, budget: u64) -> Self {
        self.daily_limit = Some(budget);
        self
    }

    /// Faults to inject; see [`FaultSpec`].
    pub fn faults(mut self, faults: FaultSpec) -> Self {
        self.faults = faults;
        self
    }

    /// Seed for fault selection and result shuffling, so a run can be replayed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Accepted bearer tokens; without this (and without an [OAuth app](Self::oauth_app))
    /// any non-empty token is accepted.
    pub fn tokens<I, S>(mut self, tokens: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tokens = Some(tokens.into_iter().map(Into::into).collect());
        self
    }

    /// An OAuth app: the token endpoint (`POST /oauth/2026-03/token`, also `2026-09`)
    /// exchanges `refresh_token` for access tokens (form fields `grant_type=refresh_token`,
    /// `client_id`, `client_secret`, `refresh_token`), and the API accepts those access
    /// tokens until they expire (see [`access_token_ttl`](Self::access_token_ttl)); an
    /// expired one gets `401 EXPIRED_AUTHENTICATION`. With an app, other bearer tokens are
    /// refused unless given to [`tokens`](Self::tokens).
    pub fn oauth_app(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        refresh_token: impl Into<String>,
    ) -> Self {
        self.oauth = Some(OAuthApp {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            refresh_token: refresh_token.into(),
        });
        self
    }

    /// How long the access tokens of the [OAuth app](Self::oauth_app) last; default
    /// [`DEFAULT_ACCESS_TOKEN_TTL`](crate::DEFAULT_ACCESS_TOKEN_TTL) (30 minutes, as
    /// HubSpot's). `expires_in` reports it in whole seconds, rounded up.
    pub fn access_token_ttl(mut self, ttl: Duration) -> Self {
        self.access_token_ttl = ttl;
        self
    }

    /// Whether every refresh hands out a new refresh token and retires the one it was
    /// given (default false: the same refresh token keeps working, as HubSpot's has been
    /// seen to). A client that does not keep the returned refresh token fails its second
    /// refresh with `invalid_grant`.
    pub fn rotate_refresh_token(mut self, rotate: bool) -> Self {
        self.rotate_refresh_token = rotate;
        self
    }

    /// How long after its 202 a v1 batch is applied; zero (the default) applies it before
    /// the 202 is sent.
    pub fn v1_apply_delay(mut self, delay: Duration) -> Self {
        self.v1_apply_delay = delay;
        self
    }

    /// Adds (or replaces, by name) a property in the catalogue.
    pub fn property(mut self, def: PropertyDef) -> Self {
        self.properties.retain(|p| p.name != def.name);
        self.properties.push(def);
        self
    }

    /// Replaces the catalogue with the properties of a saved answer of HubSpot's properties
    /// list: the JSON `GET /crm/v3/properties/contacts` returns, `{"results": [{"name",
    /// "label", "type", "fieldType", "options": [{"label", "value", ...}], "hasUniqueValue",
    /// "calculated", "modificationMetadata": {"readOnlyValue", ...}, ...}]}`, so that the
    /// fake mirrors a portal. The properties list serves each definition as given; values
    /// are checked by `type` (an `enumeration` with `fieldType` `checkbox` is a
    /// multi-select; `externalOptions` ones take any value), and read-only (`readOnlyValue`)
    /// and calculated properties refuse writes. Archived definitions are left out; `email`
    /// and the system properties `hs_object_id`, `createdate` and `lastmodifieddate` keep
    /// the roles the fake gives them (added if missing). Later [`property`](Self::property)
    /// calls add to it. A file that cannot be read or parsed makes [`start`](Self::start)
    /// fail with [`StartError::Properties`].
    pub fn properties_file(self, path: impl AsRef<Path>) -> Self {
        let path = path.as_ref();
        let origin = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => self.load_catalogue(origin, &text),
            Err(e) => Self {
                catalogue_error: Some((origin, e.to_string())),
                ..self
            },
        }
    }

    /// As [`properties_file`](Self::properties_file), from the JSON text itself.
    pub fn properties_json(self, text: &str) -> Self {
        self.load_catalogue("JSON text".to_owned(), text)
    }

    fn load_catalogue(mut self, origin: String, text: &str) -> Self {
        match parse_listing(text) {
            Ok(defs) => {
                self.properties = defs;
                self.catalogue_error = None;
            }
            Err(reason) => self.catalogue_error = Some((origin, reason)),
        }
        self
    }

    /// Makes a property required on create, as an account admin does with the Create Record
    /// form; call once per property. Only API version 2026-09 and later enforce it: a batch
    /// create input, or an upsert input that creates a record, without a non-empty value
    /// for it is refused with `MISSING_REQUIRED_PROPERTY` (`VALIDATION_ERROR`, context
    /// `propertyName`). Updates, and every write at v3 or 2026-03, are not affected. The
    /// property must be a writable one of the catalogue (see [`property`](Self::property)),
    /// or [`start`](Self::start) fails.
    pub fn required_property(mut self, name: impl Into<String>) -> Self {
        self.required.push(name.into());
        self
    }

    /// Whether rolling-window 429s carry a `Retry-After` header (whole seconds, rounded
    /// up); default true. HubSpot does not document one, so clients should cope either way.
    pub fn retry_after(mut self, send: bool) -> Self {
        self.retry_after = send;
        self
    }

    /// How long a `timeout-after` fault holds the response; default 10 minutes.
    pub fn timeout_after_hold(mut self, hold: Duration) -> Self {
        self.timeout_after_hold = hold;
        self
    }

    /// Binds the socket and starts serving on the current Tokio runtime.
    pub async fn start(self) -> Result<FakeHubSpot, StartError> {
        if let Some((origin, reason)) = self.catalogue_error {
            return Err(StartError::Properties { origin, reason });
        }
        let catalogue = Catalogue::new(self.properties)
            .with_required(self.required)
            .map_err(|name| StartError::RequiredProperty { name })?;
        let listener = TcpListener::bind(self.addr)
            .await
            .map_err(|source| StartError::Bind {
                addr: self.addr,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: self.addr,
            source,
        })?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let shared = Arc::new(FakeState {
            latency: self.latency,
            tokens: self.tokens.map(|t| t.into_iter().collect()),
            oauth: self.oauth.map(|app| {
                Mutex::new(TokenBook::new(
                    app,
                    self.access_token_ttl,
                    self.rotate_refresh_token,
                    self.seed,
                ))
            }),
            v1_apply_delay: self.v1_apply_delay,
            retry_after: self.retry_after,
            timeout_after_hold: self.timeout_after_hold,
            seed: self.seed,
            store: Mutex::new(StoreState::new(Store::new(catalogue), self.seed)),
            limiter: Mutex::new(RateLimiter::new(self.rate_limit, self.daily_limit)),
            faults: Mutex::new(FaultInjector::new(self.faults, self.seed)),
            stats: Mutex::new(Stats::default()),
            ids: IdGen::new(self.seed),
            shutdown: shutdown_rx.clone(),
        });
        let router = router(shared.clone());
        let task = tokio::spawn(accept_loop(listener, router, shutdown_rx));
        tracing::info!(%addr, "hubspot-fake listening");
        Ok(FakeHubSpot {
            addr,
            shared,
            shutdown: shutdown_tx,
            task: Some(task),
        })
    }
}
