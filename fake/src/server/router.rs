//! The router: every path of the [route table](crate::routes) into the pipeline (the OAuth
//! token endpoint into its own), the dated paths the fake does not serve to a counted 404,
//! the properties paths of other object types or versions to a plain 404, the admin routes
//! (`/_fake/...`), and a 404 for everything else.

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};

use super::body::drain;
use super::pipeline::pipeline;
use super::response::{finish, json_response};
use super::state::{FakeState, lock};
use super::token::token_endpoint;
use crate::limits::LimitHeaders;
use crate::reply::Reply;
use crate::routes::{self, Route, Serves};

/// The fake's router: HubSpot's routes from the route table, then the admin routes.
pub(super) fn router(shared: Arc<FakeState>) -> Router {
    routes::table()
        .into_iter()
        .fold(Router::new(), |router, (path, serves)| {
            router.route(&path, handler(serves))
        })
        .route("/_fake/contacts", get(admin_contacts))
        .route("/_fake/stats", get(admin_stats))
        .route("/_fake/reset", post(admin_reset))
        .fallback(not_found)
        .with_state(shared)
}

/// The handler of one path of the route table.
fn handler(serves: Serves) -> MethodRouter<Arc<FakeState>> {
    match serves {
        Serves::Route(route) => {
            post(move |State(s): State<Arc<FakeState>>, req: Request| pipeline(s, route, None, req))
        }
        Serves::V1Update => post(
            |State(s): State<Arc<FakeState>>, Path(vid): Path<String>, req: Request| {
                pipeline(s, Route::V1Update, Some(vid), req)
            },
        ),
        Serves::DatedBatch => post(dated_batch),
        Serves::V3Properties => get(
            |State(s): State<Arc<FakeState>>, Path(object_type): Path<String>, req: Request| {
                properties(s, Route::properties(None, &object_type), req)
            },
        ),
        Serves::DatedProperties => get(
            |State(s): State<Arc<FakeState>>,
             Path((version, object_type)): Path<(String, String)>,
             req: Request| {
                properties(s, Route::properties(Some(&version), &object_type), req)
            },
        ),
        Serves::OAuthToken(version) => {
            post(move |State(s): State<Arc<FakeState>>, req: Request| {
                token_endpoint(s, version, req)
            })
        }
    }
}

/// `POST /crm/objects/{version}/{objectType}/batch/{op}`: the pipeline when the fake serves
/// that version, object type and operation; otherwise a 404 like an unknown route's, but
/// counted in the stats under [`routes::DATED_UNSERVED`](crate::routes::DATED_UNSERVED).
async fn dated_batch(
    State(s): State<Arc<FakeState>>,
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
        stats.record(crate::routes::DATED_UNSERVED, reply.status);
    }
    finish(&s, reply, LimitHeaders::default(), None)
}

/// `GET` a properties list: the pipeline when the path names one the fake serves, else the
/// 404 of an unknown route.
async fn properties(s: Arc<FakeState>, route: Option<Route>, req: Request) -> Response {
    match route {
        Some(route) => pipeline(s, route, None, req).await,
        None => not_found(State(s), req).await,
    }
}

/// `GET /_fake/contacts`: every contact, archived ones included.
async fn admin_contacts(State(s): State<Arc<FakeState>>) -> Response {
    let contacts = lock(&s.store).store.snapshot();
    json_response(StatusCode::OK, &contacts)
}

/// `GET /_fake/stats`: the counters.
async fn admin_stats(State(s): State<Arc<FakeState>>) -> Response {
    let stats = lock(&s.stats).clone();
    json_response(StatusCode::OK, &stats)
}

/// `POST /_fake/reset`: as [`FakeHubSpot::reset`](crate::FakeHubSpot::reset).
async fn admin_reset(State(s): State<Arc<FakeState>>) -> StatusCode {
    s.reset();
    StatusCode::NO_CONTENT
}

/// Any other path: a 404, not counted (the body is drained first, see [`drain`]).
async fn not_found(State(s): State<Arc<FakeState>>, req: Request) -> Response {
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
