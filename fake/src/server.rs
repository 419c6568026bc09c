//! The HTTP layer: builder, accept loop, the request pipeline (auth -> rate limit ->
//! fault -> body -> operation -> fault -> response) and the admin routes.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tower_service::Service;

use crate::catalogue::{Catalogue, PropertyDef, default_properties};
use crate::faults::{FaultInjector, FaultKind, FaultSpec, TIMEOUT_AFTER_HOLD};
use crate::limits::{LimitHeaders, Policy, RateLimit, RateLimiter, Verdict, retry_after_secs};
use crate::ops::{v1, v3};
use crate::reply::{Reply, ReplyBody};
use crate::routes::{ApiVersion, BatchOp, Route};
use crate::stats::Stats;
use crate::store::{Store, StoredContact};
use crate::util::{IdGen, now_ms};
use crate::wire::{Batch, CreateInput, IdInput, ReadBody, V1BatchItem, V1Body, WriteInput};

/// Request bodies larger than this are refused with 413 before parsing.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// An over-long body is read and discarded up to this size before the 413 is sent.
const MAX_DRAIN_BYTES: usize = 64 * 1024 * 1024;

/// How long shutdown waits for in-flight requests before dropping their connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

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
}

/// Configures and starts a [`FakeHubSpot`]. Every knob defaults to "off": no latency, no
/// limits, no faults, any non-empty bearer token, v1 batches applied at once, seed 0.
#[derive(Debug, Clone)]
pub struct FakeHubSpotBuilder {
    addr: SocketAddr,
    latency: Duration,
    rate_limit: Option<RateLimit>,
    daily_limit: Option<u64>,
    faults: FaultSpec,
    seed: u64,
    tokens: Option<Vec<String>>,
    v1_apply_delay: Duration,
    properties: Vec<PropertyDef>,
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
            v1_apply_delay: Duration::ZERO,
            properties: default_properties(),
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
        self.rate_limit = Some(RateLimit::new(max, window));
        self
    }

    /// Rolling-window limit from a parsed [`RateLimit`], or none.
    pub fn rate_limit_spec(mut self, limit: Option<RateLimit>) -> Self {
        self.rate_limit = limit;
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

    /// Accepted bearer tokens; without this any non-empty token is accepted.
    pub fn tokens<I, S>(mut self, tokens: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tokens = Some(tokens.into_iter().map(Into::into).collect());
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
        let shared = Arc::new(Shared {
            latency: self.latency,
            tokens: self.tokens.map(|t| t.into_iter().collect()),
            v1_apply_delay: self.v1_apply_delay,
            retry_after: self.retry_after,
            timeout_after_hold: self.timeout_after_hold,
            seed: self.seed,
            store: Mutex::new(StoreState {
                store: Store::new(catalogue),
                rng: fastrand::Rng::with_seed(shuffle_seed(self.seed)),
                generation: 0,
            }),
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

fn shuffle_seed(seed: u64) -> u64 {
    seed ^ 0x5EED_5EED_5EED_5EED
}

/// A running fake. Dropping it stops the server too; [`shutdown`](Self::shutdown) also waits
/// for it to finish.
#[derive(Debug)]
pub struct FakeHubSpot {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl FakeHubSpot {
    /// A builder with every knob off.
    pub fn builder() -> FakeHubSpotBuilder {
        FakeHubSpotBuilder::default()
    }

    /// The socket address the fake listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL to give a client, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every stored contact, archived ones included, in id order.
    pub fn contacts(&self) -> Vec<StoredContact> {
        lock(&self.shared.store).store.snapshot()
    }

    /// Request statistics since start or the last reset.
    pub fn stats(&self) -> Stats {
        lock(&self.shared.stats).clone()
    }

    /// Forgets every contact, pending v1 batch, counter and rate-limit window, and
    /// re-seeds the random source, as if freshly started.
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// Stops accepting, lets in-flight requests finish (briefly), and waits for the server
    /// task to end.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take()
            && let Err(e) = task.await
        {
            tracing::warn!(error = %e, "hubspot-fake server task failed");
        }
    }
}

impl Drop for FakeHubSpot {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

#[derive(Debug)]
struct StoreState {
    store: Store,
    rng: fastrand::Rng,
    /// Bumped by reset so that v1 batches scheduled before it are dropped.
    generation: u64,
}

#[derive(Debug)]
struct Shared {
    latency: Duration,
    tokens: Option<HashSet<String>>,
    v1_apply_delay: Duration,
    retry_after: bool,
    timeout_after_hold: Duration,
    seed: u64,
    store: Mutex<StoreState>,
    limiter: Mutex<RateLimiter>,
    faults: Mutex<FaultInjector>,
    stats: Mutex<Stats>,
    ids: IdGen,
    shutdown: watch::Receiver<bool>,
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it (every critical
/// section leaves the data consistent before anything that could panic).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    fn reset(&self) {
        {
            let mut st = lock(&self.store);
            st.store.clear();
            st.rng = fastrand::Rng::with_seed(shuffle_seed(self.seed));
            st.generation += 1;
        }
        lock(&self.limiter).reset();
        lock(&self.faults).reseed(self.seed);
        *lock(&self.stats) = Stats::default();
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let Some((scheme, token)) = value.trim().split_once(' ') else {
            return false;
        };
        let token = token.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
            return false;
        }
        self.tokens.as_ref().is_none_or(|t| t.contains(token))
    }
}

/// Resolves once shutdown was asked for (or the handle is gone).
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await.map(|_| ());
}

/// Per-connection control handed to handlers as a request extension: notifying `reset`
/// makes the connection task drop the connection with a TCP reset.
#[derive(Debug, Clone)]
struct ConnCtl {
    reset: Arc<Notify>,
}

async fn accept_loop(listener: TcpListener, router: Router, mut shutdown: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    conns.spawn(serve_connection(stream, router.clone(), shutdown.clone()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            () = stopped(&mut shutdown) => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    while conns.join_next().await.is_some() {}
}

async fn serve_connection(stream: TcpStream, router: Router, mut shutdown: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    // Keep a second handle on the socket so that SO_LINGER can be set to zero (reset on
    // close) after hyper owns the stream.
    let (stream, twin) = match stream
        .into_std()
        .and_then(|s| s.try_clone().map(|twin| (s, twin)))
        .and_then(|(s, twin)| TcpStream::from_std(s).map(|s| (s, twin)))
    {
        Ok(pair) => pair,
        Err(e) => {
            tracing::warn!(error = %e, "could not prepare connection");
            return;
        }
    };
    let reset = Arc::new(Notify::new());
    let ctl = ConnCtl {
        reset: reset.clone(),
    };
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ctl.clone());
        router.clone().call(req)
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        res = conn.as_mut() => {
            if let Err(e) = res {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        () = reset.notified() => {
            if let Err(e) = socket2::SockRef::from(&twin).set_linger(Some(Duration::ZERO)) {
                tracing::warn!(error = %e, "could not set SO_LINGER; the peer sees a FIN, not a reset");
            }
        }
        () = stopped(&mut shutdown) => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, conn.as_mut()).await;
        }
    }
    // `conn` and `twin` close here; with linger zero the last close sends RST.
}

fn router(shared: Arc<Shared>) -> Router {
    let hub = |route: Route| {
        post(move |State(s): State<Arc<Shared>>, req: Request| pipeline(s, route, None, req))
    };
    let v3 = BatchOp::ALL.into_iter().fold(Router::new(), |router, op| {
        router.route(
            &format!("/crm/v3/objects/contacts/batch/{}", op.name()),
            hub(Route::Batch(op, ApiVersion::V3)),
        )
    });
    v3.route(
        "/crm/objects/{version}/{object_type}/batch/{op}",
        post(dated_batch),
    )
    .route("/contacts/v1/contact/batch/", hub(Route::V1Batch))
    .route("/contacts/v1/contact/batch", hub(Route::V1Batch))
    .route("/contacts/v1/contact", hub(Route::V1Create))
    .route("/contacts/v1/contact/", hub(Route::V1Create))
    .route(
        "/contacts/v1/contact/vid/{vid}/profile",
        post(
            |State(s): State<Arc<Shared>>, Path(vid): Path<String>, req: Request| {
                pipeline(s, Route::V1Update, Some(vid), req)
            },
        ),
    )
    .route("/_fake/contacts", get(admin_contacts))
    .route("/_fake/stats", get(admin_stats))
    .route("/_fake/reset", post(admin_reset))
    .fallback(not_found)
    .with_state(shared)
}

/// `POST /crm/objects/{version}/{objectType}/batch/{op}`: the pipeline when the fake serves
/// that version, object type and operation; otherwise a 404 like an unknown route's, but
/// counted in the stats under the request's own path, since the path is HubSpot's.
async fn dated_batch(
    State(s): State<Arc<Shared>>,
    segments: Result<Path<(String, String, String)>, PathRejection>,
    req: Request,
) -> Response {
    let route = segments.ok().and_then(|Path((version, object_type, op))| {
        Route::dated_batch(&version, &object_type, &op)
    });
    if let Some(route) = route {
        return pipeline(s, route, None, req).await;
    }
    let (parts, body) = req.into_parts();
    drain(body).await;
    let reply = no_route(&parts.method, parts.uri.path());
    {
        let mut stats = lock(&s.stats);
        stats.requests += 1;
        stats.record(
            &format!("{} {}", parts.method, parts.uri.path()),
            reply.status,
        );
    }
    finish(&s, reply, LimitHeaders::default(), None)
}

async fn admin_contacts(State(s): State<Arc<Shared>>) -> Response {
    let contacts = lock(&s.store).store.snapshot();
    json_response(StatusCode::OK, &contacts)
}

async fn admin_stats(State(s): State<Arc<Shared>>) -> Response {
    let stats = lock(&s.stats).clone();
    json_response(StatusCode::OK, &stats)
}

async fn admin_reset(State(s): State<Arc<Shared>>) -> StatusCode {
    s.reset();
    StatusCode::NO_CONTENT
}

async fn not_found(State(s): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    drain(body).await;
    let reply = no_route(&parts.method, parts.uri.path());
    finish(&s, reply, LimitHeaders::default(), None)
}

/// The 404 for a path the fake does not serve, naming it.
fn no_route(method: &Method, path: &str) -> Reply {
    Reply::error(
        404,
        Some("OBJECT_NOT_FOUND"),
        format!("No route for {method} {path}"),
    )
}

fn json_response<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"null".to_vec());
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=utf-8"),
    );
    resp
}

/// Turns a reply into a response with the correlation id and rate-limit headers.
fn finish(
    shared: &Shared,
    reply: Reply,
    limits: LimitHeaders,
    retry_after: Option<u64>,
) -> Response {
    let correlation_id = shared.ids.next();
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = match reply.body {
        ReplyBody::Empty => {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = status;
            r
        }
        ReplyBody::Json(bytes) => {
            let mut r = Response::new(Body::from(bytes));
            *r.status_mut() = status;
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json;charset=utf-8"),
            );
            r
        }
        ReplyBody::Error(mut map) => {
            map.insert(
                "correlationId".into(),
                Value::String(correlation_id.clone()),
            );
            json_response(status, &map)
        }
    };
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&correlation_id) {
        headers.insert(HeaderName::from_static("x-hubspot-correlation-id"), v);
    }
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    };
    if let Some((max, remaining, interval)) = limits.rolling {
        put("x-hubspot-ratelimit-max", max.to_string());
        put("x-hubspot-ratelimit-remaining", remaining.to_string());
        put(
            "x-hubspot-ratelimit-interval-milliseconds",
            interval.to_string(),
        );
    }
    if let Some((budget, remaining)) = limits.daily {
        put("x-hubspot-ratelimit-daily", budget.to_string());
        put("x-hubspot-ratelimit-daily-remaining", remaining.to_string());
    }
    if let Some(secs) = retry_after {
        put("retry-after", secs.to_string());
    }
    resp
}

fn rate_limited(policy: Policy) -> Reply {
    let (message, name) = match policy {
        Policy::TenSecondlyRolling => (
            "You have reached your ten_secondly_rolling limit.",
            "TEN_SECONDLY_ROLLING",
        ),
        Policy::Daily => ("You have reached your daily limit.", "DAILY"),
    };
    Reply::error(429, None, message)
        .with("errorType", json!("RATE_LIMIT"))
        .with("policyName", json!(name))
}

/// Drops the connection with a reset; never returns.
async fn drop_connection(ctl: Option<&ConnCtl>) -> Response {
    match ctl {
        Some(ctl) => {
            ctl.reset.notify_one();
            std::future::pending::<Response>().await
        }
        None => {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            r
        }
    }
}

/// One HubSpot-route exchange, inside the configured latency: half on the way
/// in, half on the way out.
async fn pipeline(
    shared: Arc<Shared>,
    route: Route,
    vid: Option<String>,
    req: Request,
) -> Response {
    let way_in = shared.latency / 2;
    let way_out = shared.latency - way_in;
    tokio::time::sleep(way_in).await;
    let response = handle(Arc::clone(&shared), route, vid, req).await;
    tokio::time::sleep(way_out).await;
    response
}

async fn handle(shared: Arc<Shared>, route: Route, vid: Option<String>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let ctl = parts.extensions.get::<ConnCtl>().cloned();
    let name = route.name();
    lock(&shared.stats).requests += 1;
    // Read the whole body first, even for requests refused below: closing a connection
    // with unread request bytes makes the kernel send a reset, which can destroy the
    // refusal before the client reads it.
    let body = read_body(&parts.headers, body).await;
    let limited = lock(&shared.limiter).is_configured();
    let send = |reply: Reply, limits: LimitHeaders, retry_after: Option<u64>| {
        lock(&shared.stats).record(&name, reply.status);
        finish(&shared, reply, limits, retry_after)
    };

    // 1. Authentication, before anything else.
    if !shared.authorized(&parts.headers) {
        lock(&shared.stats).unauthorized += 1;
        let limits = if limited {
            lock(&shared.limiter).peek(Instant::now())
        } else {
            LimitHeaders::default()
        };
        let reply = Reply::error(
            401,
            Some("INVALID_AUTHENTICATION"),
            "Authentication credentials not found or not valid. This API supports OAuth 2.0 and private app access tokens sent as `Authorization: Bearer TOKEN`.",
        );
        return send(reply, limits, None);
    }

    // 2. Rate limits, before anything is applied.
    let limits = match lock(&shared.limiter).check(Instant::now()) {
        Verdict::Allowed(h) => h,
        Verdict::Refused {
            policy,
            retry_after,
            headers,
        } => {
            lock(&shared.stats).rate_limited += 1;
            let retry = retry_after
                .filter(|_| shared.retry_after)
                .map(retry_after_secs);
            return send(rate_limited(policy), headers, retry);
        }
    };

    // 3. Faults that hit before processing.
    let fault = lock(&shared.faults).next();
    if let Some(kind) = fault {
        *lock(&shared.stats).faults.entry(kind.name()).or_default() += 1;
        tracing::debug!(%kind, route = &*name, "injecting fault");
    }
    match fault {
        Some(FaultKind::ResetBefore) => return drop_connection(ctl.as_ref()).await,
        Some(FaultKind::TooManyRequests) => {
            let retry = shared.retry_after.then_some(1);
            return send(rate_limited(Policy::TenSecondlyRolling), limits, retry);
        }
        Some(FaultKind::ServerError(code)) => {
            let reply = Reply::error(
                code,
                Some("INTERNAL_ERROR"),
                format!("Injected fault: HTTP {code}"),
            );
            return send(reply, limits, None);
        }
        _ => {}
    }

    // 4. The body, then the operation (validated whole, applied under one lock).
    let reply = match body {
        Ok(bytes) => dispatch(&shared, route, vid.as_deref(), parts.uri.query(), &bytes),
        Err(reply) => reply,
    };

    // 5. Faults that hit after the request was applied.
    match fault {
        Some(FaultKind::ResetAfter) => return drop_connection(ctl.as_ref()).await,
        Some(FaultKind::TimeoutAfter) => {
            let mut stop = shared.shutdown.clone();
            tokio::select! {
                () = tokio::time::sleep(shared.timeout_after_hold) => {}
                () = stopped(&mut stop) => return drop_connection(ctl.as_ref()).await,
            }
        }
        _ => {}
    }
    send(reply, limits, None)
}

/// Reads the body (at most [`MAX_BODY_BYTES`]), then checks that it is declared as JSON.
async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, Reply> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = || {
        Reply::error(
            413,
            Some("VALIDATION_ERROR"),
            format!("Request body exceeds the fake's limit of {MAX_BODY_BYTES} bytes"),
        )
    };
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        drain(body).await;
        return Err(too_large());
    }
    let mut body = body;
    let mut buf = Vec::with_capacity(declared.map_or(0, |n| n as usize));
    loop {
        match body.frame().await {
            None => break,
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    if buf.len() + data.len() > MAX_BODY_BYTES {
                        drain(body).await;
                        return Err(too_large());
                    }
                    buf.extend_from_slice(&data);
                }
            }
            Some(Err(e)) => {
                return Err(Reply::validation(format!(
                    "Could not read the request body: {e}"
                )));
            }
        }
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/json") {
        let shown = if content_type.is_empty() {
            "(none)"
        } else {
            content_type
        };
        return Err(Reply::error(
            415,
            Some("VALIDATION_ERROR"),
            format!("Content type '{shown}' not supported; send application/json"),
        ));
    }
    Ok(Bytes::from(buf))
}

/// Reads and discards what is left of an over-long body (up to [`MAX_DRAIN_BYTES`]), so the
/// client, still writing, gets to read the 413 instead of a broken pipe.
async fn drain(mut body: Body) {
    let mut seen = 0usize;
    while let Some(Ok(frame)) = body.frame().await {
        if let Ok(data) = frame.into_data() {
            seen += data.len();
            if seen > MAX_DRAIN_BYTES {
                break;
            }
        }
    }
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Reply> {
    serde_json::from_slice(bytes).map_err(|e| Reply::bad_json(&e))
}

fn query_flag(query: Option<&str>, name: &str) -> bool {
    query
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .any(|(k, v)| k == name && v.eq_ignore_ascii_case("true"))
}

fn dispatch(
    shared: &Arc<Shared>,
    route: Route,
    vid: Option<&str>,
    query: Option<&str>,
    bytes: &[u8],
) -> Reply {
    let result = match route {
        Route::Batch(op, version) => batch(shared, op, version, query, bytes),
        Route::V1Batch => parse::<Vec<V1BatchItem>>(bytes).map(|items| v1_batch(shared, items)),
        Route::V1Create => parse::<V1Body>(bytes).map(|b| {
            let mut st = lock(&shared.store);
            v1::create(&mut st.store, b.properties, now_ms())
        }),
        Route::V1Update => parse::<V1Body>(bytes).map(|b| {
            let mut st = lock(&shared.store);
            v1::update(&mut st.store, vid.unwrap_or(""), b.properties, now_ms())
        }),
    };
    result.unwrap_or_else(|reply| reply)
}

/// One batch operation at an API version: the same operations over the same store for
/// every version.
fn batch(
    shared: &Shared,
    op: BatchOp,
    version: ApiVersion,
    query: Option<&str>,
    bytes: &[u8],
) -> Result<Reply, Reply> {
    let reply = match op {
        BatchOp::Create => {
            let b = parse::<Batch<CreateInput>>(bytes)?;
            with_store(shared, version, |ctx| v3::create(ctx, b.inputs))
        }
        BatchOp::Update => {
            let b = parse::<Batch<WriteInput>>(bytes)?;
            with_store(shared, version, |ctx| v3::update(ctx, b.inputs))
        }
        BatchOp::Upsert => {
            let b = parse::<Batch<WriteInput>>(bytes)?;
            with_store(shared, version, |ctx| v3::upsert(ctx, b.inputs))
        }
        BatchOp::Read => {
            let archived = query_flag(query, "archived");
            let b = parse::<ReadBody>(bytes)?;
            with_store(shared, version, |ctx| v3::read(ctx, b, archived))
        }
        BatchOp::Archive => {
            let b = parse::<Batch<IdInput>>(bytes)?;
            with_store(shared, version, |ctx| v3::archive(ctx, b.inputs))
        }
    };
    Ok(reply)
}

/// Runs a batch operation under the store lock, with what `version` changes: whether
/// creates must carry the admin-required properties.
fn with_store(
    shared: &Shared,
    version: ApiVersion,
    op: impl FnOnce(&mut v3::Ctx<'_>) -> Reply,
) -> Reply {
    let mut guard = lock(&shared.store);
    let st = &mut *guard;
    let mut ctx = v3::Ctx {
        store: &mut st.store,
        rng: &mut st.rng,
        now_ms: now_ms(),
        enforce_required: version.enforces_required_properties(),
    };
    op(&mut ctx)
}

fn v1_batch(shared: &Arc<Shared>, items: Vec<V1BatchItem>) -> Reply {
    let mut st = lock(&shared.store);
    let writes = match v1::validate_batch(&st.store, items) {
        Ok(w) => w,
        Err(reply) => return reply,
    };
    if shared.v1_apply_delay.is_zero() {
        v1::apply_batch(&mut st.store, writes, now_ms());
        return Reply::empty(202);
    }
    let generation = st.generation;
    drop(st);
    let shared = shared.clone();
    tokio::spawn(async move {
        let mut stop = shared.shutdown.clone();
        tokio::select! {
            () = tokio::time::sleep(shared.v1_apply_delay) => {
                let mut st = lock(&shared.store);
                if st.generation == generation {
                    let applied = v1::apply_batch(&mut st.store, writes, now_ms());
                    tracing::debug!(applied, "v1 batch applied");
                }
            }
            () = stopped(&mut stop) => {}
        }
    });
    Reply::empty(202)
}
