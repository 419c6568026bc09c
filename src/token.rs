//! Where a client's access token comes from, and keeping it fresh.
//!
//! A [`TokenSource`] is either a token used as it is (a private app's token,
//! a service key, a project app's static token) or an OAuth app's refresh
//! token, which the client exchanges for access tokens at HubSpot's dated
//! token endpoint, `POST {base_url}/oauth/2026-03/token` ([`OAUTH_TOKEN_PATH`]),
//! with a form-encoded `grant_type=refresh_token` request.
//!
//! # When an OAuth client refreshes
//!
//! - **On first use, not at build.** [`ClientBuilder::build`] does no I/O (it
//!   is not `async`, and a client can be built where HubSpot is not reachable,
//!   in tests or before a network is up), so the first request fetches the
//!   first access token. A wrong refresh token shows up as that request's 401.
//! - **Before expiry, with a margin.** An access token is refreshed once less
//!   than [`refresh_margin`] of its `expires_in` is left: the smaller of
//!   [`MAX_REFRESH_MARGIN`] (5 minutes) and a tenth of `expires_in`. HubSpot's
//!   30-minute tokens are refreshed 3 minutes early, a 2-second token
//!   200 ms early. The clock is tokio's, so tests can run on a paused clock.
//! - **Once after a 401.** A request refused with 401 gets one refresh (unless
//!   another request refreshed the token meanwhile, whose token it then uses)
//!   and is sent again once; a second 401 is returned as it is, so a batch run
//!   stops.
//! - **One refresh at a time.** Every clone of a client shares one refresh:
//!   requests that find the token stale while a refresh is under way wait for
//!   it and use its result (a lock around the refresh and a generation number
//!   on each token).
//! - **The returned refresh token is kept.** HubSpot returns a refresh token
//!   with every access token; the client uses the latest one for the next
//!   refresh, in case HubSpot rotates it.
//!
//! # When it cannot
//!
//! Transient failures of the token endpoint (5xx, 429, a timeout, no
//! connection) are retried under the client's [`RetryPolicy`]. If that fails
//! while the current access token has not yet expired, it is kept until it
//! does. Otherwise, and when HubSpot refuses the refresh, the request is not
//! sent and the caller gets a 401 made by the client (as it makes the daily
//! 429), whose `category` says why:
//!
//! | category | when | what to do |
//! |---|---|---|
//! | [`CATEGORY_REFRESH_TOKEN_INVALID`] | `invalid_grant`, or legacy `BAD_REFRESH_TOKEN` / `BAD_HUB`: the refresh token is expired or revoked, or the app was uninstalled | re-authorise the app |
//! | [`CATEGORY_OAUTH_CLIENT_INVALID`] | `invalid_client` / `BAD_CLIENT_ID` | fix the client id or secret (configuration) |
//! | [`CATEGORY_REFRESH_REFUSED`] | any other refusal | check the credentials, or re-authorise |
//! | [`CATEGORY_REFRESH_FAILED`] | the endpoint kept failing for the retry policy's whole budget | try again later |
//!
//! A refusal is remembered: the token endpoint is not asked again with the
//! same refresh token, so every later request gets the same 401 at once. The
//! batch helpers stop a run at the first 401 ([`AbortCause::Unauthorized`]),
//! and its message carries the category and message above.
//!
//! The client secret, the refresh token and every access token are redacted
//! from `Debug`, errors and traces; text from the token endpoint is scrubbed
//! of them before it is shown.
//!
//! [`ClientBuilder::build`]: crate::ClientBuilder::build
//! [`RetryPolicy`]: crate::policy::RetryPolicy
//! [`AbortCause::Unauthorized`]: crate::batch::AbortCause::Unauthorized

use std::{
    fmt,
    future::Future,
    sync::{
        RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use reqwest::{
    StatusCode,
    header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue},
};
use serde::Deserialize;
use tokio::time::Instant;

use crate::{
    client::{CLIENT_ID_ENV, CLIENT_SECRET_ENV, REFRESH_TOKEN_ENV, TOKEN_ENV},
    error::SdkError,
    policy::{
        AttemptOutcome, Decision, Operation, ResponseSummary, RetryPolicy, TransportFailure, decide,
    },
};

/// HubSpot's dated OAuth token endpoint, below the client's base URL
/// (hubspot-2026-facts §3.1; `/oauth/v1/token` stops working on 2027-02-16).
pub const OAUTH_TOKEN_PATH: &str = "/oauth/2026-03/token";

/// The most an access token is refreshed ahead of its expiry; see
/// [`refresh_margin`].
pub const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// The `category` of the 401 a request gets when HubSpot refused the refresh
/// token (`invalid_grant`, `BAD_REFRESH_TOKEN`, `BAD_HUB`): it is expired or
/// revoked, or the app was uninstalled. Re-authorise the app.
pub const CATEGORY_REFRESH_TOKEN_INVALID: &str = "REFRESH_TOKEN_INVALID";
/// The `category` of the 401 a request gets when HubSpot refused the app's
/// client id or secret (`invalid_client`): a configuration error.
pub const CATEGORY_OAUTH_CLIENT_INVALID: &str = "OAUTH_CLIENT_INVALID";
/// The `category` of the 401 a request gets when HubSpot refused a refresh
/// for another reason.
pub const CATEGORY_REFRESH_REFUSED: &str = "TOKEN_REFRESH_REFUSED";
/// The `category` of the 401 a request gets when no access token could be had
/// within the retry policy's budget (the token endpoint failed or was
/// unreachable). Nothing was sent.
pub const CATEGORY_REFRESH_FAILED: &str = "TOKEN_REFRESH_FAILED";

/// How early an access token that lasts `expires_in` is refreshed: the smaller
/// of [`MAX_REFRESH_MARGIN`] and a tenth of `expires_in`, so a long-lived token
/// is refreshed 5 minutes early and a short one still spends 90 % of its life
/// in use.
///
/// ```
/// use std::time::Duration;
/// use hubspot_contacts_batch::token::refresh_margin;
///
/// assert_eq!(refresh_margin(Duration::from_secs(1800)), Duration::from_secs(180));
/// assert_eq!(refresh_margin(Duration::from_secs(6 * 3600)), Duration::from_secs(300));
/// ```
pub fn refresh_margin(expires_in: Duration) -> Duration {
    MAX_REFRESH_MARGIN.min(expires_in / 10)
}

/// A token used as it is: a private app's, a service key, or an access token
/// from elsewhere. Surrounding whitespace (a trailing newline from a file,
/// say) is removed. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct AccessToken(String);

impl AccessToken {
    pub(crate) fn new(token: impl Into<String>) -> Self {
        Self(token.into().trim().to_owned())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Bearer {token}`, marked sensitive so that HTTP tooling hides it.
    pub(crate) fn header_value(&self) -> Result<HeaderValue, SdkError> {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", self.0)).map_err(|_| {
            SdkError::Config(
                "the access token contains characters not allowed in an HTTP header".into(),
            )
        })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// A client secret or a refresh token: trimmed, and never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
struct Secret(String);

impl Secret {
    fn new(secret: impl Into<String>) -> Self {
        Self(secret.into().trim().to_owned())
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where a client's access token comes from: a token used as it is, or an
/// OAuth app's refresh token (see the [module docs](self) for when it
/// refreshes). `Debug` shows the kind and the client id, never a secret.
///
/// ```
/// use hubspot_contacts_batch::{Client, token::TokenSource};
///
/// # fn main() -> Result<(), hubspot_contacts_batch::SdkError> {
/// let service_key = TokenSource::token("pat-na1-…");
/// let app = TokenSource::oauth("my-client-id", "my-client-secret", "na1-refresh-…");
/// assert!(!service_key.is_refreshable() && app.is_refreshable());
/// assert!(!format!("{app:?}").contains("my-client-secret"));
///
/// let client = Client::builder().token_source(app).build()?; // no request yet
/// # Ok(()) }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSource(Source);

#[derive(Clone, PartialEq, Eq)]
enum Source {
    Static(AccessToken),
    OAuth {
        client_id: String,
        client_secret: Secret,
        refresh_token: Secret,
    },
}

impl TokenSource {
    /// A token sent as it is on every request: a private app's token, a
    /// service key or a project app's static token. It is never refreshed.
    pub fn token(token: impl Into<String>) -> Self {
        Self(Source::Static(AccessToken::new(token)))
    }

    /// An OAuth app's credentials: access tokens come from exchanging
    /// `refresh_token` at [`OAUTH_TOKEN_PATH`], and are refreshed before they
    /// expire and once after a 401.
    pub fn oauth(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        refresh_token: impl Into<String>,
    ) -> Self {
        Self(Source::OAuth {
            client_id: client_id.into().trim().to_owned(),
            client_secret: Secret::new(client_secret),
            refresh_token: Secret::new(refresh_token),
        })
    }

    /// Whether the tokens of this source can be refreshed (an OAuth app).
    pub fn is_refreshable(&self) -> bool {
        matches!(self.0, Source::OAuth { .. })
    }

    /// The source named by environment variables, read through `var` (give it
    /// `|name| std::env::var(name).ok()`): [`TOKEN_ENV`] when set, otherwise
    /// an OAuth app from [`CLIENT_ID_ENV`], [`CLIENT_SECRET_ENV`] and
    /// [`REFRESH_TOKEN_ENV`], which go together; `None` when none is set. A
    /// variable set to an empty (or blank) value is a configuration error
    /// naming it: an empty token is a mistake, not a wish for no token.
    /// Setting only some of the three is a configuration error that names the
    /// missing ones.
    ///
    /// ```
    /// use hubspot_contacts_batch::token::TokenSource;
    ///
    /// let env = |name: &str| match name {
    ///     "HUBSPOT_CLIENT_ID" => Some("id".to_owned()),
    ///     "HUBSPOT_CLIENT_SECRET" => Some("secret".to_owned()),
    ///     _ => None,
    /// };
    /// let error = TokenSource::from_vars(env).unwrap_err();
    /// assert!(error.to_string().contains("HUBSPOT_REFRESH_TOKEN is not set"));
    /// ```
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, SdkError> {
        for name in [
            TOKEN_ENV,
            CLIENT_ID_ENV,
            CLIENT_SECRET_ENV,
            REFRESH_TOKEN_ENV,
        ] {
            if var(name).is_some_and(|value| value.trim().is_empty()) {
                return Err(SdkError::Config(format!(
                    "{name} is set but empty; set it to a value, or unset it"
                )));
            }
        }
        if let Some(token) = var(TOKEN_ENV) {
            return Ok(Some(Self::token(token)));
        }
        let names = [CLIENT_ID_ENV, CLIENT_SECRET_ENV, REFRESH_TOKEN_ENV];
        let values = names.map(&var);
        let missing: Vec<&str> = names
            .iter()
            .zip(&values)
            .filter(|(_, value)| value.is_none())
            .map(|(name, _)| *name)
            .collect();
        match (values, missing.len()) {
            ([Some(id), Some(secret), Some(refresh)], _) => {
                Ok(Some(Self::oauth(id, secret, refresh)))
            }
            (_, 3) => Ok(None),
            _ => Err(SdkError::Config(format!(
                "{} {} not set: an OAuth app needs {CLIENT_ID_ENV}, {CLIENT_SECRET_ENV} and \
                 {REFRESH_TOKEN_ENV} together (or set {TOKEN_ENV} alone)",
                missing.join(" and "),
                if missing.len() == 1 { "is" } else { "are" },
            ))),
        }
    }
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Source::Static(token) => f.debug_tuple("TokenSource::Static").field(token).finish(),
            Source::OAuth {
                client_id,
                client_secret,
                refresh_token,
            } => f
                .debug_struct("TokenSource::OAuth")
                .field("client_id", client_id)
                .field("client_secret", client_secret)
                .field("refresh_token", refresh_token)
                .finish(),
        }
    }
}

/// The form body of a refresh: `grant_type=refresh_token` and the app's three
/// credentials, percent-encoded. Pure.
pub(crate) fn form_body(client_id: &str, client_secret: &str, refresh_token: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "refresh_token")
        .append_pair("client_id", client_id)
        .append_pair("client_secret", client_secret)
        .append_pair("refresh_token", refresh_token)
        .finish()
}

/// What the token endpoint gave: a response read whole, or a transport failure.
#[derive(Debug)]
pub(crate) enum Answer {
    Response {
        status: StatusCode,
        headers: HeaderMap,
        body: Vec<u8>,
    },
    Transport {
        failure: TransportFailure,
        detail: String,
    },
}

/// An access token HubSpot granted.
struct Grant {
    access_token: AccessToken,
    expires_in: Duration,
    refresh_token: Option<Secret>,
}

/// How HubSpot refused a refresh.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RefusalKind {
    /// The refresh token is expired or revoked, or the app was uninstalled.
    ReAuthorise,
    /// The client id or secret is wrong.
    Client,
    /// Anything else that the same request would meet again.
    Other,
}

/// A refusal of the token endpoint, with its words scrubbed of secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Refusal {
    kind: RefusalKind,
    status: u16,
    /// `error`, else the legacy `status` (`invalid_grant`, `BAD_REFRESH_TOKEN`).
    code: Option<String>,
    /// `error_description`, else the legacy `message`.
    description: Option<String>,
}

impl Refusal {
    fn category(&self) -> &'static str {
        match self.kind {
            RefusalKind::ReAuthorise => CATEGORY_REFRESH_TOKEN_INVALID,
            RefusalKind::Client => CATEGORY_OAUTH_CLIENT_INVALID,
            RefusalKind::Other => CATEGORY_REFRESH_REFUSED,
        }
    }

    fn message(&self) -> String {
        let mut said = format!("{}", self.status);
        if let Some(code) = &self.code {
            said.push(' ');
            said.push_str(code);
        }
        if let Some(description) = &self.description {
            said.push_str(": ");
            said.push_str(description);
        }
        match self.kind {
            RefusalKind::ReAuthorise => format!(
                "HubSpot's token endpoint refused the OAuth refresh token ({said}): it is expired \
                 or revoked, or the app was uninstalled; re-authorise the app (install it again) \
                 to get a new refresh token"
            ),
            RefusalKind::Client => format!(
                "HubSpot's token endpoint refused the OAuth app's client id or client secret \
                 ({said}): check them; this is a configuration error, re-authorising will not help"
            ),
            RefusalKind::Other => format!(
                "HubSpot's token endpoint refused to refresh the access token ({said}): check the \
                 app's client id, client secret and refresh token, or re-authorise the app"
            ),
        }
    }
}

/// What one answer of the token endpoint means.
enum Verdict {
    Granted(Grant),
    Refused(Refusal),
    /// Worth asking again (5xx, 429, a transport failure).
    Transient {
        outcome: AttemptOutcome,
        detail: String,
    },
}

/// The body of a 200 (`AccessTokenResponse`, snake_case).
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
    refresh_token: Option<String>,
    token_use: Option<String>,
}

/// The body of a refusal: RFC 6749's pair and HubSpot's legacy pair.
#[derive(Deserialize, Default)]
struct OAuthErrorBody {
    error: Option<String>,
    error_description: Option<String>,
    status: Option<String>,
    message: Option<String>,
}

/// Judges one answer of the token endpoint. `secrets` are scrubbed from any
/// text kept. Pure.
fn judge(answer: &Answer, secrets: &[&str]) -> Verdict {
    let (status, headers, body) = match answer {
        Answer::Transport { failure, detail } => {
            return Verdict::Transient {
                outcome: AttemptOutcome::Transport(*failure),
                detail: format!(
                    "HubSpot's token endpoint could not be reached: {}",
                    scrub(detail, secrets)
                ),
            };
        }
        Answer::Response {
            status,
            headers,
            body,
        } => (*status, headers, body),
    };
    if status.is_success() {
        return match parse_grant(body) {
            Ok(grant) => Verdict::Granted(grant),
            Err(why) => Verdict::Refused(Refusal {
                kind: RefusalKind::Other,
                status: status.as_u16(),
                code: None,
                description: Some(why.to_owned()),
            }),
        };
    }
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        return Verdict::Transient {
            outcome: AttemptOutcome::Response(ResponseSummary::from_response(
                status, headers, body,
            )),
            detail: format!("HubSpot's token endpoint answered {}", status.as_u16()),
        };
    }
    Verdict::Refused(classify_refusal(status, body, secrets))
}

/// Reads a 200's access token. Pure.
fn parse_grant(body: &[u8]) -> Result<Grant, &'static str> {
    let response: TokenResponse =
        serde_json::from_slice(body).map_err(|_| "the answer is not an access token response")?;
    if response
        .token_use
        .as_deref()
        .is_some_and(|token_use| token_use != "access_token")
    {
        return Err("the answer is not an access token (token_use)");
    }
    let access_token = AccessToken::new(response.access_token);
    if access_token.is_empty() {
        return Err("the answer has an empty access_token");
    }
    Ok(Grant {
        access_token,
        expires_in: Duration::from_secs(response.expires_in),
        refresh_token: response
            .refresh_token
            .map(Secret::new)
            .filter(|token| !token.expose().is_empty()),
    })
}

/// What a refusal means (hubspot-2026-facts §3.2): `invalid_grant`, or legacy
/// `BAD_REFRESH_TOKEN` / `BAD_HUB`, means re-authorise; `invalid_client` (or
/// `BAD_CLIENT_ID`) a configuration error. Pure.
fn classify_refusal(status: StatusCode, body: &[u8], secrets: &[&str]) -> Refusal {
    let parsed: OAuthErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let error = parsed.error.as_deref().unwrap_or("");
    let legacy = parsed.status.as_deref().unwrap_or("");
    let kind = if error == "invalid_grant" || matches!(legacy, "BAD_REFRESH_TOKEN" | "BAD_HUB") {
        RefusalKind::ReAuthorise
    } else if error == "invalid_client" || legacy == "BAD_CLIENT_ID" {
        RefusalKind::Client
    } else {
        RefusalKind::Other
    };
    let shown = |text: Option<String>| {
        text.map(|text| scrub(&text, secrets))
            .filter(|text| !text.is_empty())
    };
    Refusal {
        kind,
        status: status.as_u16(),
        code: shown(parsed.error.or(parsed.status)),
        description: shown(parsed.error_description.or(parsed.message)),
    }
}

/// `text` with every secret replaced by `<redacted>`, control characters
/// dropped and at most 300 characters kept. Pure.
fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut text = text.to_owned();
    for secret in secrets.iter().filter(|secret| !secret.is_empty()) {
        text = text.replace(secret, "<redacted>");
    }
    text.chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Asks the token endpoint once. The client's implementation sends the form
/// with reqwest; unit tests answer from a script.
pub(crate) trait Fetch {
    fn fetch(&self, url: &reqwest::Url, form: String) -> impl Future<Output = Answer> + Send;
}

/// The token endpoint over HTTP, with the client's `reqwest::Client` (its
/// timeouts, no redirects).
pub(crate) struct HttpFetch<'a>(pub(crate) &'a reqwest::Client);

impl Fetch for HttpFetch<'_> {
    async fn fetch(&self, url: &reqwest::Url, form: String) -> Answer {
        let sent = self
            .0
            .post(url.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body(form)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => {
                return Answer::Transport {
                    failure: TransportFailure::from_reqwest(&error),
                    detail: error.to_string(),
                };
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        match response.bytes().await {
            Ok(body) => Answer::Response {
                status,
                headers,
                body: body.to_vec(),
            },
            Err(error) => Answer::Transport {
                failure: TransportFailure::ConnectionLost,
                detail: error.to_string(),
            },
        }
    }
}

/// The access token in use, and when to refresh it.
#[derive(Clone)]
struct Issued {
    /// `Bearer …`; `None` until an OAuth client's first refresh.
    authorization: Option<HeaderValue>,
    /// Bumped by every new token, so that a request can tell whether the
    /// token it was refused with is still the current one.
    generation: u64,
    /// When to refresh it (`expires_in` minus the margin); `None`: never.
    refresh_at: Option<Instant>,
    /// When HubSpot stops accepting it; `None`: unknown.
    expires_at: Option<Instant>,
}

impl Issued {
    /// There, and not yet due for a refresh.
    fn fresh(&self, now: Instant) -> bool {
        self.authorization.is_some() && self.refresh_at.is_none_or(|at| now < at)
    }

    /// There, and not yet expired.
    fn usable(&self, now: Instant) -> bool {
        self.authorization.is_some() && self.expires_at.is_none_or(|at| now < at)
    }
}

/// An OAuth app's refresh machinery.
struct Refresher {
    client_id: String,
    client_secret: Secret,
    token_url: reqwest::Url,
    state: tokio::sync::Mutex<RefreshState>,
    /// Refreshes finished, whatever their result: a request that waited for
    /// the lock while one finished takes its result instead of asking again.
    finished: AtomicU64,
}

/// What the refresh lock guards.
struct RefreshState {
    /// The latest refresh token HubSpot gave (or the configured one).
    refresh_token: Secret,
    /// HubSpot's refusal of `refresh_token`, once refused.
    refused: Option<Refusal>,
    /// Why the last refresh failed, if it did for a transient reason.
    failed: Option<String>,
}

/// Why no token could be had for a request.
#[derive(Debug)]
enum Failure {
    Refused(Refusal),
    Unavailable(String),
}

impl Failure {
    /// The 401 the request gets instead of being sent.
    fn response(&self) -> reqwest::Response {
        match self {
            Failure::Refused(refusal) => {
                let mut context = serde_json::Map::new();
                context.insert(
                    "tokenEndpointStatus".into(),
                    serde_json::json!([refusal.status.to_string()]),
                );
                if let Some(code) = &refusal.code {
                    context.insert("tokenEndpointError".into(), serde_json::json!([code]));
                }
                unauthorized(refusal.category(), &refusal.message(), context)
            }
            Failure::Unavailable(detail) => unauthorized(
                CATEGORY_REFRESH_FAILED,
                &format!(
                    "could not get an OAuth access token: {detail}; the request was not sent; \
                     try again later"
                ),
                serde_json::Map::new(),
            ),
        }
    }
}

/// A HubSpot-shaped 401, made locally.
fn unauthorized(
    category: &str,
    message: &str,
    context: serde_json::Map<String, serde_json::Value>,
) -> reqwest::Response {
    let body = serde_json::json!({
        "status": "error",
        "category": category,
        "message": message,
        "context": context,
    });
    let mut response = http::Response::new(reqwest::Body::from(body.to_string()));
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    reqwest::Response::from(response)
}

/// A client's tokens, shared by all its clones: the current one and, for an
/// OAuth app, what refreshes it.
pub(crate) struct Tokens {
    issued: RwLock<Issued>,
    refresher: Option<Refresher>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = f.debug_struct("Tokens");
        shown.field("authorization", &"<redacted>");
        match &self.refresher {
            Some(refresher) => shown
                .field("oauth_client_id", &refresher.client_id)
                .field("token_url", &refresher.token_url.as_str()),
            None => shown.field("oauth", &false),
        }
        .finish()
    }
}

impl Tokens {
    /// The tokens of `source` for a client of `base_url` (whose token
    /// endpoint is `{base_url}`[`OAUTH_TOKEN_PATH`]). Refuses empty
    /// credentials.
    pub(crate) fn new(source: &TokenSource, base_url: &str) -> Result<Self, SdkError> {
        match &source.0 {
            Source::Static(token) => {
                if token.is_empty() {
                    return Err(SdkError::Config("an access token is required".into()));
                }
                Ok(Self {
                    issued: RwLock::new(Issued {
                        authorization: Some(token.header_value()?),
                        generation: 0,
                        refresh_at: None,
                        expires_at: None,
                    }),
                    refresher: None,
                })
            }
            Source::OAuth {
                client_id,
                client_secret,
                refresh_token,
            } => {
                let missing: Vec<&str> = [
                    ("a client id", client_id.as_str()),
                    ("a client secret", client_secret.expose()),
                    ("a refresh token", refresh_token.expose()),
                ]
                .iter()
                .filter(|(_, value)| value.is_empty())
                .map(|(what, _)| *what)
                .collect();
                if !missing.is_empty() {
                    return Err(SdkError::Config(format!(
                        "an OAuth app needs {}",
                        missing.join(" and ")
                    )));
                }
                let token_url = reqwest::Url::parse(&format!(
                    "{}{OAUTH_TOKEN_PATH}",
                    base_url.trim_end_matches('/')
                ))
                .map_err(|error| {
                    SdkError::Config(format!("cannot make the OAuth token URL: {error}"))
                })?;
                Ok(Self {
                    issued: RwLock::new(Issued {
                        authorization: None,
                        generation: 0,
                        refresh_at: None,
                        expires_at: None,
                    }),
                    refresher: Some(Refresher {
                        client_id: client_id.clone(),
                        client_secret: client_secret.clone(),
                        token_url,
                        state: tokio::sync::Mutex::new(RefreshState {
                            refresh_token: refresh_token.clone(),
                            refused: None,
                            failed: None,
                        }),
                        finished: AtomicU64::new(0),
                    }),
                })
            }
        }
    }

    fn current(&self) -> Issued {
        match self.issued.read() {
            Ok(issued) => issued.clone(),
            // No writer panics while holding the lock; stay usable if one did.
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Installs a new token (generation bumped) and returns it.
    fn install(
        &self,
        authorization: HeaderValue,
        refresh_at: Option<Instant>,
        expires_at: Option<Instant>,
    ) -> Issued {
        let mut slot = match self.issued.write() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        *slot = Issued {
            authorization: Some(authorization),
            generation: slot.generation + 1,
            refresh_at,
            expires_at,
        };
        slot.clone()
    }

    /// Replaces the current token with `token`, used until HubSpot refuses it
    /// (its expiry is unknown); an OAuth client still refreshes after a 401.
    pub(crate) fn set(&self, token: &AccessToken) -> Result<(), SdkError> {
        if token.is_empty() {
            return Err(SdkError::Config("an access token is required".into()));
        }
        self.install(token.header_value()?, None, None);
        Ok(())
    }

    /// The token to send now: the current one while fresh, else the result
    /// of a refresh (shared with every request that needs one meanwhile).
    async fn authorization(
        &self,
        fetch: &impl Fetch,
        retry: &RetryPolicy,
    ) -> Result<Issued, Failure> {
        let issued = self.current();
        let Some(refresher) = &self.refresher else {
            return Ok(issued);
        };
        if issued.fresh(Instant::now()) {
            return Ok(issued);
        }
        self.refresh(refresher, issued.generation, false, fetch, retry)
            .await
    }

    /// Refreshes the token of generation `seen`, unless another request did
    /// while this one waited for the lock. `rejected`: HubSpot refused that
    /// token (401), so it is not kept even if its expiry has not come.
    async fn refresh(
        &self,
        refresher: &Refresher,
        seen: u64,
        rejected: bool,
        fetch: &impl Fetch,
        retry: &RetryPolicy,
    ) -> Result<Issued, Failure> {
        let finished = refresher.finished.load(Ordering::Acquire);
        let mut state = refresher.state.lock().await;
        let current = self.current();
        if current.generation != seen && current.fresh(Instant::now()) {
            return Ok(current);
        }
        if let Some(refusal) = &state.refused {
            return Err(Failure::Refused(refusal.clone()));
        }
        let shared_failure = (refresher.finished.load(Ordering::Acquire) != finished)
            .then(|| state.failed.clone())
            .flatten();
        let result = match shared_failure {
            // The refresh this request waited for failed: take its result.
            Some(detail) => Err(Failure::Unavailable(detail)),
            None => {
                let result = self.fetch_grant(refresher, &mut state, fetch, retry).await;
                refresher.finished.fetch_add(1, Ordering::AcqRel);
                result
            }
        };
        match result {
            Err(Failure::Unavailable(detail)) if !rejected && current.usable(Instant::now()) => {
                tracing::warn!(
                    %detail,
                    "could not refresh the OAuth access token; using the current one until it expires"
                );
                Ok(current)
            }
            other => other,
        }
    }

    /// Asks the token endpoint, retrying transient failures under `retry`.
    async fn fetch_grant(
        &self,
        refresher: &Refresher,
        state: &mut RefreshState,
        fetch: &impl Fetch,
        retry: &RetryPolicy,
    ) -> Result<Issued, Failure> {
        let started = Instant::now();
        let mut attempt: u32 = 1;
        loop {
            let form = form_body(
                &refresher.client_id,
                refresher.client_secret.expose(),
                state.refresh_token.expose(),
            );
            let sent_at = Instant::now();
            tracing::debug!(attempt, "refreshing the OAuth access token");
            let answer = fetch.fetch(&refresher.token_url, form).await;
            let secrets = [
                refresher.client_secret.expose(),
                state.refresh_token.expose(),
            ];
            match judge(&answer, &secrets) {
                Verdict::Granted(grant) => {
                    let Ok(authorization) = grant.access_token.header_value() else {
                        let refusal = Refusal {
                            kind: RefusalKind::Other,
                            status: 200,
                            code: None,
                            description: Some(
                                "the access token has characters not allowed in an HTTP header"
                                    .into(),
                            ),
                        };
                        state.refused = Some(refusal.clone());
                        return Err(Failure::Refused(refusal));
                    };
                    if let Some(rotated) = grant.refresh_token {
                        state.refresh_token = rotated;
                    }
                    state.failed = None;
                    let issued = self.install(
                        authorization,
                        Some(sent_at + grant.expires_in - refresh_margin(grant.expires_in)),
                        Some(sent_at + grant.expires_in),
                    );
                    tracing::info!(
                        expires_in_secs = grant.expires_in.as_secs(),
                        generation = issued.generation,
                        "OAuth access token refreshed"
                    );
                    return Ok(issued);
                }
                Verdict::Refused(refusal) => {
                    tracing::warn!(
                        status = refusal.status,
                        code = refusal.code.as_deref().unwrap_or(""),
                        category = refusal.category(),
                        "HubSpot refused to refresh the OAuth access token"
                    );
                    state.refused = Some(refusal.clone());
                    return Err(Failure::Refused(refusal));
                }
                Verdict::Transient { outcome, detail } => {
                    let decision = decide(
                        retry,
                        // Asking again is harmless: at worst one more access token is minted.
                        Operation::BatchRead,
                        &outcome,
                        attempt,
                        started.elapsed(),
                        fastrand::f64(),
                    );
                    match decision {
                        Decision::Retry { after, .. } => {
                            tracing::debug!(attempt, %detail, ?after, "retrying the OAuth refresh");
                            tokio::time::sleep(after).await;
                            attempt += 1;
                        }
                        Decision::Stop(_) => {
                            let detail = format!("{detail} (after {attempt} attempts)");
                            tracing::warn!(%detail, "could not refresh the OAuth access token");
                            state.failed = Some(detail.clone());
                            return Err(Failure::Unavailable(detail));
                        }
                    }
                }
            }
        }
    }
}

/// Sends `request` through `send` (the exchange under the client's policy)
/// with the current access token: refreshed first when due, and once more
/// after a 401, with the request sent again once. When no token can be had,
/// the request is not sent and the answer is a 401 made here (see the
/// [module docs](self)).
pub(crate) async fn send_authorized<F, Fut>(
    tokens: &Tokens,
    http: &reqwest::Client,
    retry: &RetryPolicy,
    request: reqwest::Request,
    send: F,
) -> reqwest::Result<reqwest::Response>
where
    F: Fn(reqwest::Request) -> Fut,
    Fut: Future<Output = reqwest::Result<reqwest::Response>>,
{
    send_authorized_with(tokens, &HttpFetch(http), retry, request, send).await
}

async fn send_authorized_with<F, Fut>(
    tokens: &Tokens,
    fetch: &impl Fetch,
    retry: &RetryPolicy,
    mut request: reqwest::Request,
    send: F,
) -> reqwest::Result<reqwest::Response>
where
    F: Fn(reqwest::Request) -> Fut,
    Fut: Future<Output = reqwest::Result<reqwest::Response>>,
{
    let issued = match tokens.authorization(fetch, retry).await {
        Ok(issued) => issued,
        Err(failure) => return Ok(failure.response()),
    };
    if let Some(authorization) = &issued.authorization {
        request
            .headers_mut()
            .insert(AUTHORIZATION, authorization.clone());
    }
    let Some(refresher) = &tokens.refresher else {
        return send(request).await;
    };
    let again = request.try_clone();
    let response = send(request).await?;
    if response.status() != StatusCode::UNAUTHORIZED {
        return Ok(response);
    }
    // Every operation has a JSON body, which can always be cloned.
    let Some(mut again) = again else {
        return Ok(response);
    };
    tracing::info!(
        generation = issued.generation,
        "HubSpot refused the access token (401); refreshing it and sending the request once more"
    );
    match tokens
        .refresh(refresher, issued.generation, true, fetch, retry)
        .await
    {
        Ok(fresh) => {
            drop(response);
            if let Some(authorization) = fresh.authorization {
                again.headers_mut().insert(AUTHORIZATION, authorization);
            }
            send(again).await
        }
        Err(failure) => Ok(failure.response()),
    }
}

#[cfg(test)]
mod tests {
    use std::{
        collections::VecDeque,
        sync::{Arc, Mutex},
    };

    use super::*;

    const SECRET: &str = "s3cret&=+ value";
    const REFRESH: &str = "na1-refresh-0000";

    fn app() -> TokenSource {
        TokenSource::oauth("client-1", SECRET, REFRESH)
    }

    fn tokens() -> Tokens {
        Tokens::new(&app(), "https://api.hubapi.com").unwrap()
    }

    fn answer(status: u16, body: serde_json::Value) -> Answer {
        Answer::Response {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: body.to_string().into_bytes(),
        }
    }

    fn granted(access: &str, expires_in: u64) -> Answer {
        answer(
            200,
            serde_json::json!({
                "access_token": access,
                "expires_in": expires_in,
                "refresh_token": REFRESH,
                "token_type": "bearer",
                "token_use": "access_token",
                "hub_id": 1234
            }),
        )
    }

    fn invalid_grant() -> Answer {
        answer(
            400,
            serde_json::json!({
                "error": "invalid_grant",
                "error_description": "missing or unknown refresh token",
                "status": "BAD_REFRESH_TOKEN",
                "message": "missing or unknown refresh token"
            }),
        )
    }

    /// Answers from a script (the last answer repeats), after `delay`,
    /// keeping the forms it was sent.
    #[derive(Clone, Default)]
    struct Script {
        answers: Arc<Mutex<VecDeque<Answer>>>,
        forms: Arc<Mutex<Vec<String>>>,
        delay: Duration,
        counter: Arc<AtomicU64>,
    }

    impl Script {
        fn new(answers: impl IntoIterator<Item = Answer>) -> Self {
            Self {
                answers: Arc::new(Mutex::new(answers.into_iter().collect())),
                ..Self::default()
            }
        }

        /// Every call mints a new token `at-N` lasting `expires_in` seconds.
        fn minting(expires_in: u64) -> Self {
            Self {
                delay: Duration::from_millis(100),
                answers: Arc::new(Mutex::new(VecDeque::from([granted("", expires_in)]))),
                ..Self::default()
            }
        }

        fn calls(&self) -> usize {
            self.forms.lock().unwrap().len()
        }
    }

    impl Fetch for Script {
        async fn fetch(&self, _url: &reqwest::Url, form: String) -> Answer {
            self.forms.lock().unwrap().push(form);
            tokio::time::sleep(self.delay).await;
            let n = self.counter.fetch_add(1, Ordering::SeqCst) + 1;
            let mut answers = self.answers.lock().unwrap();
            let next = if answers.len() > 1 {
                answers.pop_front().unwrap()
            } else {
                answers.front().map(copy).unwrap()
            };
            match next {
                // An empty access token in the script means "mint at-N".
                Answer::Response { status, body, .. } if status == 200 => {
                    let mut value: serde_json::Value = serde_json::from_slice(&body).unwrap();
                    if value["access_token"] == "" {
                        value["access_token"] = format!("at-{n}").into();
                    }
                    answer(200, value)
                }
                other => other,
            }
        }
    }

    fn copy(answer: &Answer) -> Answer {
        match answer {
            Answer::Response {
                status,
                headers,
                body,
            } => Answer::Response {
                status: *status,
                headers: headers.clone(),
                body: body.clone(),
            },
            Answer::Transport { failure, detail } => Answer::Transport {
                failure: *failure,
                detail: detail.clone(),
            },
        }
    }

    fn bearer(issued: &Issued) -> String {
        issued
            .authorization
            .as_ref()
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    }

    fn status_response(status: u16) -> reqwest::Response {
        let mut response = http::Response::new(reqwest::Body::from("{}"));
        *response.status_mut() = StatusCode::from_u16(status).unwrap();
        reqwest::Response::from(response)
    }

    /// A request built without a `reqwest::Client`, which would need a TLS
    /// provider installed first (and so depend on which test ran before).
    fn request() -> reqwest::Request {
        let mut request = reqwest::Request::new(
            reqwest::Method::POST,
            "https://api.hubapi.com/crm/v3/objects/contacts/batch/upsert"
                .parse()
                .unwrap(),
        );
        *request.body_mut() = Some(reqwest::Body::from("{}"));
        request
    }

    async fn body_of(response: reqwest::Response) -> serde_json::Value {
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
    }

    fn quick() -> RetryPolicy {
        RetryPolicy::default()
            .max_attempts(3)
            .initial_backoff(Duration::from_millis(10))
    }

    #[test]
    fn the_form_is_percent_encoded_with_the_refresh_grant() {
        let form = form_body("client-1", SECRET, REFRESH);
        assert_eq!(
            form,
            "grant_type=refresh_token&client_id=client-1&client_secret=s3cret%26%3D%2B+value\
             &refresh_token=na1-refresh-0000"
        );
        let decoded: Vec<(String, String)> = url::form_urlencoded::parse(form.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(decoded[2], ("client_secret".into(), SECRET.into()));
    }

    #[test]
    fn the_margin_is_five_minutes_or_a_tenth_of_the_lifetime() {
        for (expires_in, margin) in [
            (1800, Duration::from_secs(180)),
            (3000, Duration::from_secs(300)),
            (21_600, Duration::from_secs(300)),
            (2, Duration::from_millis(200)),
            (0, Duration::ZERO),
        ] {
            assert_eq!(
                refresh_margin(Duration::from_secs(expires_in)),
                margin,
                "{expires_in}"
            );
        }
    }

    #[test]
    fn refusals_are_classified_by_error_then_legacy_status() {
        let case = |status: u16, body: serde_json::Value| match judge(&answer(status, body), &[]) {
            Verdict::Refused(refusal) => Some(refusal.kind),
            _ => None,
        };
        use RefusalKind::*;
        let cases = [
            (
                400,
                serde_json::json!({"error": "invalid_grant"}),
                ReAuthorise,
            ),
            (
                400,
                serde_json::json!({"error": "invalid_request", "status": "BAD_REFRESH_TOKEN"}),
                ReAuthorise,
            ),
            (
                400,
                serde_json::json!({"status": "BAD_REFRESH_TOKEN", "message": "missing or unknown refresh token"}),
                ReAuthorise,
            ),
            (
                400,
                serde_json::json!({"error": "access_denied", "status": "BAD_HUB"}),
                ReAuthorise,
            ),
            (400, serde_json::json!({"error": "invalid_client"}), Client),
            (401, serde_json::json!({"status": "BAD_CLIENT_ID"}), Client),
            (400, serde_json::json!({"error": "invalid_request"}), Other),
            (404, serde_json::json!("not found"), Other),
            (302, serde_json::json!({}), Other),
        ];
        for (status, body, kind) in cases {
            assert_eq!(case(status, body.clone()), Some(kind), "{status} {body}");
        }
        for status in [429, 500, 502, 503] {
            assert!(
                matches!(
                    judge(&answer(status, serde_json::json!({})), &[]),
                    Verdict::Transient { .. }
                ),
                "{status}"
            );
        }
        let transport = Answer::Transport {
            failure: TransportFailure::NotSent,
            detail: "connection refused".into(),
        };
        assert!(matches!(judge(&transport, &[]), Verdict::Transient { .. }));
    }

    #[test]
    fn a_grant_is_read_from_snake_case_and_odd_answers_are_refusals() {
        let Verdict::Granted(grant) = judge(&granted("at-1", 1800), &[]) else {
            panic!("granted");
        };
        assert_eq!(grant.expires_in, Duration::from_secs(1800));
        assert_eq!(grant.refresh_token.unwrap().expose(), REFRESH);
        for body in [
            serde_json::json!({"accessToken": "x", "expiresIn": 1800}),
            serde_json::json!({"access_token": "x", "expires_in": -1}),
            serde_json::json!({"access_token": " ", "expires_in": 1800}),
            serde_json::json!({"access_token": "x", "expires_in": 1800, "token_use": "client_credentials"}),
        ] {
            assert!(
                matches!(judge(&answer(200, body.clone()), &[]), Verdict::Refused(_)),
                "{body}"
            );
        }
    }

    #[test]
    fn the_endpoint_words_are_kept_without_the_secrets() {
        let body = serde_json::json!({
            "error": "invalid_grant",
            "error_description": format!("refresh token {REFRESH} is unknown for client secret {SECRET}"),
        });
        let Verdict::Refused(refusal) = judge(&answer(400, body), &[SECRET, REFRESH]) else {
            panic!("refused");
        };
        let message = refusal.message();
        assert!(
            !message.contains(REFRESH) && !message.contains(SECRET),
            "{message}"
        );
        assert!(message.contains("re-authorise the app"), "{message}");
        assert!(message.contains("400 invalid_grant"), "{message}");
        assert_eq!(refusal.category(), CATEGORY_REFRESH_TOKEN_INVALID);
    }

    #[test]
    fn sources_come_from_a_token_or_all_three_oauth_variables() {
        let vars = |pairs: &[(&str, &str)]| {
            let pairs: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            }
        };
        let all = [
            (CLIENT_ID_ENV, "id"),
            (CLIENT_SECRET_ENV, "secret"),
            (REFRESH_TOKEN_ENV, "refresh"),
        ];
        assert_eq!(TokenSource::from_vars(vars(&[])).unwrap(), None);
        assert_eq!(
            TokenSource::from_vars(vars(&[(TOKEN_ENV, "pat\n")])).unwrap(),
            Some(TokenSource::token("pat"))
        );
        assert_eq!(
            TokenSource::from_vars(vars(&all)).unwrap(),
            Some(TokenSource::oauth("id", "secret", "refresh"))
        );
        let mut with_token = all.to_vec();
        with_token.push((TOKEN_ENV, "pat"));
        assert_eq!(
            TokenSource::from_vars(vars(&with_token)).unwrap(),
            Some(TokenSource::token("pat")),
            "the token wins"
        );
        let mut empty_token = all.to_vec();
        empty_token.push((TOKEN_ENV, " "));
        let error = TokenSource::from_vars(vars(&empty_token))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("HUBSPOT_TOKEN is set but empty"),
            "an empty token is a mistake, not a fallback: {error}"
        );
        let error = TokenSource::from_vars(vars(&all[..1]))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("HUBSPOT_CLIENT_SECRET and HUBSPOT_REFRESH_TOKEN are not set"),
            "{error}"
        );
        let error = TokenSource::from_vars(vars(&[all[0], all[1], (REFRESH_TOKEN_ENV, "")]))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("HUBSPOT_REFRESH_TOKEN is set but empty"),
            "{error}"
        );
        assert!(!error.contains("secret\""), "{error}");
    }

    #[test]
    fn debug_shows_no_secret() {
        let shown = format!(
            "{:?} {:?} {:?}",
            app(),
            TokenSource::token("pat-xyz"),
            tokens()
        );
        for secret in [SECRET, REFRESH, "pat-xyz"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("client-1"), "{shown}");
        assert!(Tokens::new(&TokenSource::oauth("id", "", "r"), "https://x").is_err());
        assert!(Tokens::new(&TokenSource::token(" "), "https://x").is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn the_token_is_fetched_on_first_use_and_refreshed_inside_the_margin() {
        let tokens = tokens();
        let script = Script::minting(600); // margin 60 s
        let retry = RetryPolicy::default();
        let first = tokens.authorization(&script, &retry).await.unwrap();
        assert_eq!(script.calls(), 1);
        assert_eq!(bearer(&first), "Bearer at-1");
        // The grant was asked for at t=0 and answered at t=0.1 s.
        tokio::time::advance(Duration::from_millis(539_800)).await;
        let same = tokens.authorization(&script, &retry).await.unwrap();
        assert_eq!((script.calls(), same.generation), (1, first.generation));
        tokio::time::advance(Duration::from_millis(200)).await;
        let next = tokens.authorization(&script, &retry).await.unwrap();
        assert_eq!(script.calls(), 2, "refreshed 60 s before expiry");
        assert_eq!(bearer(&next), "Bearer at-2");
        assert_eq!(next.generation, first.generation + 1);
        let form = script.forms.lock().unwrap()[1].clone();
        assert!(form.starts_with("grant_type=refresh_token&client_id=client-1"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_rotated_refresh_token_is_used_for_the_next_refresh() {
        let tokens = tokens();
        let mut rotated = granted("at-1", 10);
        if let Answer::Response { body, .. } = &mut rotated {
            let mut value: serde_json::Value = serde_json::from_slice(body).unwrap();
            value["refresh_token"] = "na1-rotated".into();
            *body = value.to_string().into_bytes();
        }
        let script = Script::new([rotated, granted("at-2", 10)]);
        let retry = RetryPolicy::default();
        tokens.authorization(&script, &retry).await.unwrap();
        tokio::time::advance(Duration::from_secs(10)).await;
        tokens.authorization(&script, &retry).await.unwrap();
        let forms = script.forms.lock().unwrap().clone();
        assert!(
            forms[0].ends_with("refresh_token=na1-refresh-0000"),
            "{forms:?}"
        );
        assert!(forms[1].ends_with("refresh_token=na1-rotated"), "{forms:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_requests_share_one_refresh() {
        let tokens = Arc::new(tokens());
        let script = Script::minting(1800);
        let retry = RetryPolicy::default();
        let all =
            futures::future::join_all((0..50).map(|_| tokens.authorization(&script, &retry))).await;
        assert_eq!(script.calls(), 1);
        assert!(
            all.iter()
                .all(|issued| bearer(issued.as_ref().unwrap()) == "Bearer at-1")
        );
        // Due again: one more refresh for all of them.
        tokio::time::advance(Duration::from_secs(1800)).await;
        let all =
            futures::future::join_all((0..50).map(|_| tokens.authorization(&script, &retry))).await;
        assert_eq!(script.calls(), 2);
        assert!(
            all.iter()
                .all(|issued| bearer(issued.as_ref().unwrap()) == "Bearer at-2")
        );
    }

    /// The authorization header of every request a [`sender`] was given.
    type Seen = Arc<Mutex<Vec<String>>>;
    /// What a [`sender`] answers at once.
    type Answered = std::future::Ready<reqwest::Result<reqwest::Response>>;

    /// A `send` that answers with `statuses` in turn and records the
    /// authorization header of each request.
    fn sender(statuses: Vec<u16>) -> (Seen, impl Fn(reqwest::Request) -> Answered) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let send = move |request: reqwest::Request| {
            let mut log = log.lock().unwrap();
            let header = request
                .headers()
                .get(AUTHORIZATION)
                .map(|value| value.to_str().unwrap().to_owned())
                .unwrap_or_default();
            log.push(header);
            let status = statuses[(log.len() - 1).min(statuses.len() - 1)];
            std::future::ready(Ok(status_response(status)))
        };
        (seen, send)
    }

    #[tokio::test(start_paused = true)]
    async fn a_401_refreshes_once_and_the_request_is_sent_once_more() {
        let tokens = tokens();
        let script = Script::minting(1800);
        let retry = RetryPolicy::default();
        let (seen, send) = sender(vec![401, 200]);
        let response = send_authorized_with(&tokens, &script, &retry, request(), &send)
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(script.calls(), 2, "first use, then after the 401");
        assert_eq!(*seen.lock().unwrap(), ["Bearer at-1", "Bearer at-2"]);

        // A second 401 is returned as it is.
        let (seen, send) = sender(vec![401]);
        let response = send_authorized_with(&tokens, &script, &retry, request(), &send)
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        assert_eq!(script.calls(), 3);
        assert_eq!(*seen.lock().unwrap(), ["Bearer at-2", "Bearer at-3"]);
    }

    #[tokio::test(start_paused = true)]
    async fn requests_refused_together_share_the_refresh_after_their_401() {
        let tokens = tokens();
        let script = Script::minting(1800);
        let retry = RetryPolicy::default();
        tokens.authorization(&script, &retry).await.unwrap();
        // Every request's first send is refused (at-1 was revoked), the rest pass.
        let send = |request: reqwest::Request| {
            let header = request.headers().get(AUTHORIZATION).unwrap().clone();
            let status = if header == "Bearer at-1" { 401 } else { 200 };
            std::future::ready(Ok(status_response(status)))
        };
        let all = futures::future::join_all(
            (0..20).map(|_| send_authorized_with(&tokens, &script, &retry, request(), send)),
        )
        .await;
        assert!(all.iter().all(|r| r.as_ref().unwrap().status() == 200));
        assert_eq!(script.calls(), 2, "one refresh for the twenty 401s");
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_refresh_is_a_401_saying_to_reauthorise_and_is_not_asked_again() {
        let tokens = tokens();
        let script = Script::new([invalid_grant()]);
        let retry = RetryPolicy::default();
        let (seen, send) = sender(vec![200]);
        for _ in 0..3 {
            let response = send_authorized_with(&tokens, &script, &retry, request(), &send)
                .await
                .unwrap();
            assert_eq!(response.status(), 401);
            let body = body_of(response).await;
            assert_eq!(body["category"], CATEGORY_REFRESH_TOKEN_INVALID);
            let message = body["message"].as_str().unwrap();
            assert!(message.contains("re-authorise the app"), "{message}");
            assert_eq!(body["context"]["tokenEndpointError"][0], "invalid_grant");
        }
        assert_eq!(script.calls(), 1, "a refusal is remembered");
        assert!(seen.lock().unwrap().is_empty(), "nothing was sent");

        let client_refused = tokens_with(Script::new([answer(
            400,
            serde_json::json!({"error": "invalid_client", "error_description": "bad id"}),
        )]))
        .await;
        assert_eq!(client_refused["category"], CATEGORY_OAUTH_CLIENT_INVALID);
    }

    async fn tokens_with(script: Script) -> serde_json::Value {
        let (_, send) = sender(vec![200]);
        let response = send_authorized_with(
            &tokens(),
            &script,
            &RetryPolicy::default(),
            request(),
            &send,
        )
        .await
        .unwrap();
        assert_eq!(response.status(), 401);
        body_of(response).await
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_under_the_policy_then_reported() {
        let unavailable = || answer(503, serde_json::json!({"message": "down"}));
        let tokens = tokens();
        let script = Script::new([unavailable(), unavailable(), granted("at-9", 1800)]);
        let issued = tokens.authorization(&script, &quick()).await.unwrap();
        assert_eq!((script.calls(), bearer(&issued)), (3, "Bearer at-9".into()));

        let script = Script::new([unavailable()]);
        let body = tokens_with(script.clone()).await;
        assert_eq!(script.calls(), 6, "the default policy's six attempts");
        assert_eq!(body["category"], CATEGORY_REFRESH_FAILED);
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains("answered 503 (after 6 attempts)"),
            "{message}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_early_refresh_keeps_the_token_until_it_expires() {
        let tokens = tokens();
        let script = Script::new([granted("at-1", 100), answer(503, serde_json::json!({}))]);
        let retry = RetryPolicy::none();
        tokens.authorization(&script, &retry).await.unwrap();
        tokio::time::advance(Duration::from_secs(95)).await; // inside the 10 s margin
        let kept = tokens.authorization(&script, &retry).await.unwrap();
        assert_eq!((script.calls(), bearer(&kept)), (2, "Bearer at-1".into()));
        tokio::time::advance(Duration::from_secs(10)).await; // expired
        let (_, send) = sender(vec![200]);
        let response = send_authorized_with(&tokens, &script, &retry, request(), &send)
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        assert_eq!(body_of(response).await["category"], CATEGORY_REFRESH_FAILED);
    }

    #[tokio::test(start_paused = true)]
    async fn a_static_token_is_never_refreshed() {
        let tokens = Tokens::new(&TokenSource::token("pat-1"), "https://x").unwrap();
        let script = Script::minting(1);
        let (seen, send) = sender(vec![401]);
        let response =
            send_authorized_with(&tokens, &script, &RetryPolicy::default(), request(), &send)
                .await
                .unwrap();
        assert_eq!(response.status(), 401);
        assert_eq!(script.calls(), 0);
        assert_eq!(*seen.lock().unwrap(), ["Bearer pat-1"]);
        tokens.set(&AccessToken::new("pat-2")).unwrap();
        assert_eq!(bearer(&tokens.current()), "Bearer pat-2");
    }
}
