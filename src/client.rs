//! Building a [`Client`]: base URL, credentials, timeouts; and the seam through which
//! every generated call passes ([`ClientState`]).

use std::{fmt, sync::Arc, time::Duration};

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};

use crate::{
    Client,
    api_version::{API_VERSION_ENV, ApiVersion},
    error::SdkError,
    exchange::{self, Policy, RequestCounters},
    policy::{RateLimit, RateLimiter, RetryPolicy, WindowLimiter},
    stop::Stop,
    token::{self, AccessToken, TokenSource, Tokens},
};

/// HubSpot's API host, used when no base URL is given.
pub const DEFAULT_BASE_URL: &str = "https://api.hubapi.com";
/// How long to wait for a TCP + TLS connection by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one request may take, from sending to the last byte of the
/// response, by default.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The environment variable [`Client::from_env`] reads the access token from
/// (a private app's token or a service key).
pub const TOKEN_ENV: &str = "HUBSPOT_TOKEN";
/// The environment variable [`Client::from_env`] reads an OAuth app's client
/// id from, when [`TOKEN_ENV`] is not set.
pub const CLIENT_ID_ENV: &str = "HUBSPOT_CLIENT_ID";
/// The environment variable [`Client::from_env`] reads an OAuth app's client
/// secret from, when [`TOKEN_ENV`] is not set.
pub const CLIENT_SECRET_ENV: &str = "HUBSPOT_CLIENT_SECRET";
/// The environment variable [`Client::from_env`] reads an OAuth app's refresh
/// token from, when [`TOKEN_ENV`] is not set.
pub const REFRESH_TOKEN_ENV: &str = "HUBSPOT_REFRESH_TOKEN";
/// The environment variable [`Client::from_env`] reads an optional base URL from.
pub const BASE_URL_ENV: &str = "HUBSPOT_BASE_URL";

/// The hand-written half of every [`Client`], shared by all its clones: the
/// current token and what refreshes it, the rate limiter (one budget for the
/// client and its clones) and the retry policy.
///
/// Generated calls reach it through progenitor's `ClientHooks::exec`, so a
/// single-request call such as `client.batch_upsert().body(..).send()` gets the
/// same authentication, rate limiting and retries as the batch helpers.
#[derive(Clone)]
pub struct ClientState {
    settings: Arc<Settings>,
    /// The counters of the batch run this client was made for, if any.
    counters: Option<Arc<RequestCounters>>,
    /// The stop of the batch run this client sends for, if any: its requests
    /// are not sent, nor retried, once it is set.
    stop: Option<Stop>,
    /// Told once, just before the request of a batch run's chunk first
    /// leaves (the rate limiter let it), if the run asked to know.
    announce: Option<Announce>,
}

/// What a batch run's client calls just before a request first leaves.
pub(crate) type Announce = Arc<dyn Fn() + Send + Sync>;

struct Settings {
    tokens: Tokens,
    allow_insecure_http: bool,
    api_version: ApiVersion,
    policy: Policy,
}

impl ClientState {
    fn new(
        tokens: Tokens,
        allow_insecure_http: bool,
        api_version: ApiVersion,
        policy: Policy,
    ) -> Self {
        Self {
            settings: Arc::new(Settings {
                tokens,
                allow_insecure_http,
                api_version,
                policy,
            }),
            counters: None,
            stop: None,
            announce: None,
        }
    }
}

impl fmt::Debug for ClientState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientState")
            .field("tokens", &self.settings.tokens)
            .field("api_version", &self.settings.api_version)
            .field("policy", &self.settings.policy)
            .finish()
    }
}

impl ClientHooks<ClientState> for Client {
    async fn exec(
        &self,
        mut request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        // progenitor sends the document's `info.version`; HubSpot has no use for it.
        request.headers_mut().remove("api-version");
        let state = self.inner();
        let settings = &state.settings;
        let send = |request: reqwest::Request| {
            exchange::execute(
                self.client(),
                &settings.policy,
                request,
                info.operation_id,
                state.counters.as_deref(),
                state.stop.as_ref(),
                state.announce.as_deref(),
            )
        };
        // `build` refuses such a base URL; this also covers a client assembled
        // with the generated `Client::new`: no credential travels in clear.
        if !token_may_travel(request.url(), settings.allow_insecure_http) {
            tracing::warn!(host = ?request.url().host_str(), "not sending the access token over plain http");
            return send(request).await;
        }
        // The token, refreshed when due and once after a 401 (src/token.rs).
        token::send_authorized(
            &settings.tokens,
            self.client(),
            &settings.policy.retry,
            request,
            send,
        )
        .await
    }
}

/// Configures and builds a [`Client`].
///
/// ```
/// # fn main() -> Result<(), hubspot_contacts_batch::SdkError> {
/// use std::time::Duration;
/// use hubspot_contacts_batch::Client;
///
/// let client = Client::builder()
///     .token("pat-na1-…")
///     .request_timeout(Duration::from_secs(60))
///     .build()?;
///
/// // An OAuth app: access tokens are fetched and refreshed as needed.
/// let app = Client::builder()
///     .oauth("client-id", "client-secret", "na1-refresh-token")
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ClientBuilder {
    base_url: String,
    credentials: Option<TokenSource>,
    connect_timeout: Duration,
    request_timeout: Duration,
    allow_insecure_http: bool,
    api_version: ApiVersion,
    /// The user's limit, a cap; `None` for the adaptive default.
    rate_limit: Option<RateLimit>,
    adaptive: bool,
    retry: RetryPolicy,
    #[cfg(feature = "redis")]
    shared_budget: Option<SharedBudgetAt>,
}

/// Where the shared budget lives; `Debug` redacts the URL's password.
#[cfg(feature = "redis")]
struct SharedBudgetAt {
    url: String,
    key: String,
}

#[cfg(feature = "redis")]
impl fmt::Debug for SharedBudgetAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedBudget")
            .field("url", &crate::policy::redact(&self.url))
            .field("key", &self.key)
            .finish()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            credentials: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            allow_insecure_http: false,
            api_version: ApiVersion::default(),
            rate_limit: None,
            adaptive: true,
            retry: RetryPolicy::default(),
            #[cfg(feature = "redis")]
            shared_budget: None,
        }
    }
}

impl ClientBuilder {
    /// The API's base URL; [`DEFAULT_BASE_URL`] unless set. A trailing `/` is ignored.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into().trim_end_matches('/').to_owned();
        self
    }

    /// A token sent as `Authorization: Bearer …` on every request, as it is
    /// (a private app's token, a service key): [`TokenSource::token`].
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.credentials = Some(TokenSource::token(token));
        self
    }

    /// An OAuth app's credentials: [`TokenSource::oauth`]. The client gets
    /// its access tokens from HubSpot's token endpoint
    /// ([`OAUTH_TOKEN_PATH`](crate::token::OAUTH_TOKEN_PATH) below the base
    /// URL) on first use, refreshes them before they expire and once after a
    /// 401, one refresh at a time for the client and its clones; see
    /// [`token`](mod@crate::token).
    pub fn oauth(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        refresh_token: impl Into<String>,
    ) -> Self {
        self.credentials = Some(TokenSource::oauth(client_id, client_secret, refresh_token));
        self
    }

    /// Where the access token comes from, as [`token`](Self::token) or
    /// [`oauth`](Self::oauth) would set it.
    pub fn token_source(mut self, source: TokenSource) -> Self {
        self.credentials = Some(source);
        self
    }

    /// The API version the batch helpers call: [`ApiVersion::default`] (the
    /// document's default, 2026-09, the newest dated version) unless set.
    /// (The getter is [`Client::batch_version`]: progenitor already gives
    /// `Client` an `api_version`, the document's own version string.) Generated single-request
    /// calls name their version themselves (`batch_upsert` is v3,
    /// `dated_batch_upsert().version(..)` a dated one).
    pub fn api_version(mut self, version: ApiVersion) -> Self {
        self.api_version = version;
        self
    }

    /// How long to wait for a connection ([`DEFAULT_CONNECT_TIMEOUT`] unless set).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long one request may take in all ([`DEFAULT_REQUEST_TIMEOUT`] unless set).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// A cap on the request rate. Unless set, the limiter starts from
    /// [`RateLimit::FREE_STARTER`] (100 per 10 s, HubSpot's lowest plan) and
    /// adapts to the `X-HubSpot-RateLimit-Max` and `-Interval-Milliseconds`
    /// HubSpot sends, so a 190-per-10-s portal gets 190 after its first
    /// answer. A limit set here is a cap: HubSpot's headers can lower the
    /// rate below it (a smaller plan, other workers of the app using the
    /// budget), never raise it above. [`RateLimit::Unlimited`] turns
    /// limiting off.
    ///
    /// Whatever the limit, the client keeps to its share of HubSpot's
    /// window when `X-HubSpot-RateLimit-Remaining` shows other clients of
    /// the same app spending it, so uncoordinated workers back off instead
    /// of running into 429s (see the README's "Scaling out").
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// Shares the rate-limit budget with every client, in any process or on
    /// any machine, that names the same `key` in the Redis at `url`
    /// (`redis://[:password@]host[:port][/db]`; feature `redis`).
    ///
    /// HubSpot's limit belongs to the app in a portal; workers of one app
    /// that each limit themselves spend it several times over. With a
    /// shared budget they keep one rolling window between them, with the
    /// same rules as one client's (a slot is held from a request's start to
    /// its answer, and dated to when HubSpot counted it), kept atomic in
    /// Redis by a script; a 429's pause and a spent daily budget hold every
    /// worker. Name the key after the app and the portal (never put the
    /// token in it): clients of other apps or portals must not share it.
    ///
    /// [`build`](Self::build) checks that Redis answers and fails with
    /// [`SdkError::Config`] when it does not. Later, Redis going away never
    /// stops a run: each request it cannot admit is admitted by the client's
    /// own limiter, which then keeps to its share of HubSpot's `Remaining`
    /// again; a warning is logged, the batch helpers count those requests in
    /// [`BatchStats::shared_budget_fallbacks`](crate::batch::BatchStats),
    /// and Redis is tried again a second later. The URL's password is
    /// redacted in `Debug` and in every message.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), hubspot_contacts_batch::SdkError> {
    /// use hubspot_contacts_batch::Client;
    ///
    /// let client = Client::builder()
    ///     .token("pat-na1-…")
    ///     .shared_budget("redis://127.0.0.1:6379", "contacts-sync:portal-123")
    ///     .build()?; // fails if Redis does not answer
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "redis")]
    pub fn shared_budget(mut self, url: impl Into<String>, key: impl Into<String>) -> Self {
        self.shared_budget = Some(SharedBudgetAt {
            url: url.into(),
            key: key.into(),
        });
        self
    }

    /// Whether the limiter follows the limits HubSpot reports (on unless set).
    pub fn adaptive_rate_limit(mut self, adaptive: bool) -> Self {
        self.adaptive = adaptive;
        self
    }

    /// The retry policy ([`RetryPolicy::default`] unless set;
    /// [`RetryPolicy::none`] never retries).
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Allows sending the token over plain `http://` to a host other than
    /// loopback. Off by default: anyone on the path could read the token.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Builds the client, refusing missing or empty credentials, a base URL
    /// that is not `http(s)://`, and plain `http://` to a non-loopback host
    /// unless allowed. It sends nothing: an OAuth client fetches its first
    /// access token on its first request.
    pub fn build(self) -> Result<Client, SdkError> {
        let credentials = self
            .credentials
            .as_ref()
            .ok_or_else(|| SdkError::Config("an access token is required".into()))?;
        check_base_url(&self.base_url, self.allow_insecure_http)?;
        let tokens = Tokens::new(credentials, &self.base_url)?;
        // reqwest is built without a default crypto provider; install ring's
        // once. An error only means a provider is already installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout)
            // A redirect could carry the token to another host: never follow one.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(
                "hubspot-contacts-batch/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|error| SdkError::Config(format!("cannot build the HTTP client: {error}")))?;
        let start = self.rate_limit.unwrap_or(RateLimit::FREE_STARTER);
        let window = WindowLimiter::from_rate_limit(start).map(|core| {
            let core = core.adaptive(self.adaptive);
            if self.rate_limit.is_some() {
                core.capped()
            } else {
                core
            }
        });
        #[cfg(feature = "redis")]
        if let Some(at) = &self.shared_budget {
            let Some(window) = window else {
                return Err(SdkError::Config(
                    "a shared budget needs a rate limit; RateLimit::Unlimited has none".into(),
                ));
            };
            let budget =
                crate::policy::SharedBudget::connect(&at.url, &at.key, self.connect_timeout)?;
            // A slot is leased for as long as its request may take.
            let lease = self.connect_timeout + self.request_timeout;
            let limiter = RateLimiter::shared(window, budget, lease);
            return Ok(self.finish(tokens, http, limiter));
        }
        let limiter = window.map_or_else(RateLimiter::unlimited, RateLimiter::from_core);
        Ok(self.finish(tokens, http, limiter))
    }

    /// The client, once its parts are built.
    fn finish(self, tokens: Tokens, http: reqwest::Client, limiter: RateLimiter) -> Client {
        let policy = Policy {
            limiter,
            retry: self.retry,
        };
        Client::new_with_client(
            &self.base_url,
            http,
            ClientState::new(tokens, self.allow_insecure_http, self.api_version, policy),
        )
    }
}

/// Checks that `base_url` is an `http(s)://` URL and that a token would only go
/// over plain HTTP to a loopback host, unless `allow_insecure_http`.
pub(crate) fn check_base_url(base_url: &str, allow_insecure_http: bool) -> Result<(), SdkError> {
    let url = reqwest::Url::parse(base_url).map_err(|error| {
        SdkError::Config(format!("the base URL {base_url:?} is not a URL: {error}"))
    })?;
    match url.scheme() {
        "https" | "http" if token_may_travel(&url, allow_insecure_http) => Ok(()),
        "http" => Err(SdkError::InsecureHttp {
            host: url.host_str().unwrap_or("the host").to_owned(),
        }),
        scheme => Err(SdkError::Config(format!(
            "the base URL {base_url:?} has scheme {scheme:?}; expected https or http"
        ))),
    }
}

/// Whether a bearer token may be sent to `url`: over https, or over plain
/// http to loopback or when explicitly allowed.
fn token_may_travel(url: &reqwest::Url, allow_insecure_http: bool) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => allow_insecure_http || is_loopback(url),
        _ => false,
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

impl Client {
    /// Starts configuring a client; see [`ClientBuilder`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client for `base_url` with `token` and the default settings.
    pub fn with_token(
        base_url: impl Into<String>,
        token: impl Into<String>,
    ) -> Result<Self, SdkError> {
        Self::builder().base_url(base_url).token(token).build()
    }

    /// A client configured from the environment: the credentials from
    /// `HUBSPOT_TOKEN`, or when that is not set an OAuth app from
    /// `HUBSPOT_CLIENT_ID`, `HUBSPOT_CLIENT_SECRET` and
    /// `HUBSPOT_REFRESH_TOKEN` (all three; see [`TokenSource::from_vars`]);
    /// the base URL from `HUBSPOT_BASE_URL` when set, else
    /// [`DEFAULT_BASE_URL`]; and the API version from `HUBSPOT_API_VERSION`
    /// when set, else [`ApiVersion::default`]. No credentials, part of the
    /// OAuth three, or an unknown version is a configuration error that says
    /// what is missing or lists the known versions.
    pub fn from_env() -> Result<Self, SdkError> {
        let credentials =
            TokenSource::from_vars(|name| std::env::var(name).ok())?.ok_or_else(|| {
                SdkError::Config(format!(
                    "no credentials: set {TOKEN_ENV}, or {CLIENT_ID_ENV}, {CLIENT_SECRET_ENV} \
                     and {REFRESH_TOKEN_ENV} for an OAuth app"
                ))
            })?;
        let mut builder = Self::builder().token_source(credentials);
        if let Ok(base_url) = std::env::var(BASE_URL_ENV) {
            builder = builder.base_url(base_url);
        }
        match std::env::var(API_VERSION_ENV) {
            Ok(version) => {
                let version = version
                    .parse()
                    .map_err(|error| SdkError::Config(format!("{API_VERSION_ENV}: {error}")))?;
                builder = builder.api_version(version);
            }
            Err(std::env::VarError::NotPresent) => {}
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(SdkError::Config(format!("{API_VERSION_ENV} is not UTF-8")));
            }
        }
        builder.build()
    }

    /// This client, sharing its token, limiter and policy, with its requests
    /// counted into `counters` (the batch helpers' per-run statistics),
    /// neither sent nor retried once the run's `stop` is set.
    pub(crate) fn for_run(&self, counters: Arc<RequestCounters>, stop: Stop) -> Client {
        let inner = ClientState {
            settings: Arc::clone(&self.inner().settings),
            counters: Some(counters),
            stop: Some(stop),
            announce: None,
        };
        Client::new_with_client(self.baseurl(), self.client().clone(), inner)
    }

    /// This client, calling `announce` once just before its request first
    /// leaves (for one chunk of a batch run whose caller asked to know).
    pub(crate) fn announcing(&self, announce: Announce) -> Client {
        let inner = ClientState {
            announce: Some(announce),
            ..self.inner().clone()
        };
        Client::new_with_client(self.baseurl(), self.client().clone(), inner)
    }

    /// The API version the batch helpers of this client call.
    pub fn batch_version(&self) -> ApiVersion {
        self.inner().settings.api_version
    }

    /// Replaces the access token used from the next request on, in this
    /// client and all its clones. A client built with
    /// [`ClientBuilder::oauth`] refreshes its tokens itself; if given one
    /// here, it uses it until HubSpot refuses it, then refreshes.
    pub fn set_token(&self, token: impl Into<String>) -> Result<(), SdkError> {
        self.inner().settings.tokens.set(&AccessToken::new(token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_refused_for_remote_hosts() {
        for url in [
            "http://api.hubapi.com",
            "http://10.0.0.8:8080",
            "http://[2001:db8::1]",
        ] {
            let parsed = reqwest::Url::parse(url).unwrap();
            assert!(!token_may_travel(&parsed, false), "{url}");
            assert!(token_may_travel(&parsed, true), "{url}");
            let error = check_base_url(url, false).expect_err(url);
            assert!(error.to_string().contains("refusing"), "{error}");
            assert!(check_base_url(url, true).is_ok(), "{url} with the override");
        }
    }

    #[test]
    fn https_and_loopback_http_are_accepted() {
        for url in [
            "https://api.hubapi.com",
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://[::1]:9",
        ] {
            assert!(check_base_url(url, false).is_ok(), "{url}");
        }
    }

    #[test]
    fn malformed_base_urls_are_refused() {
        for url in ["api.hubapi.com", "ftp://api.hubapi.com", ""] {
            assert!(check_base_url(url, false).is_err(), "{url}");
        }
    }

    #[test]
    fn debug_never_shows_the_token() {
        let client = Client::with_token("https://api.hubapi.com", "pat-secret-123").unwrap();
        let shown = format!("{client:?} {:?}", AccessToken::new("pat-secret-123"));
        assert!(!shown.contains("pat-secret-123"), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
    }

    #[test]
    fn empty_tokens_are_refused() {
        assert!(Client::with_token("https://api.hubapi.com", "  \n").is_err());
        let client = Client::with_token("https://api.hubapi.com", "t").unwrap();
        assert!(client.set_token("").is_err());
    }
}
