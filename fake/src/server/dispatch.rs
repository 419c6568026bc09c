//! What a route does with its body: parse it as the route's wire type and run the
//! operation over the store under one lock (v1 batches possibly later, after
//! `v1_apply_delay`).

use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::state::{FakeState, lock, stopped};
use crate::ops::{v1, v3};
use crate::reply::Reply;
use crate::routes::{ApiVersion, BatchOp, Route};
use crate::util::now_ms;
use crate::wire::{Batch, CreateInput, IdInput, ReadBody, V1BatchItem, V1Body, WriteInput};

/// Parses a JSON body as `T`, or the 400 HubSpot gives for bad JSON.
fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Reply> {
    serde_json::from_slice(bytes).map_err(|e| Reply::bad_json(&e))
}

/// Whether the query string sets `name` to `true` (any case).
fn query_flag(query: Option<&str>, name: &str) -> bool {
    query
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .any(|(k, v)| k == name && v.eq_ignore_ascii_case("true"))
}

/// The reply of `route` to a body that was read whole: `vid` is the `{vid}` path segment
/// of [`Route::V1Update`], `query` the query string.
pub(super) fn dispatch(
    shared: &Arc<FakeState>,
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
        // The same catalogue at every version; `?archived=true` lists archived properties.
        Route::Properties(_) => {
            let listing = lock(&shared.store)
                .store
                .catalogue
                .listing(query_flag(query, "archived"));
            Ok(Reply::json(200, &listing))
        }
    };
    result.unwrap_or_else(|reply| reply)
}

/// One batch operation at an API version: the same operations over the same store for
/// every version.
fn batch(
    shared: &FakeState,
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
    shared: &FakeState,
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

/// A v1 batch: validated whole, then applied now or, after `v1_apply_delay`, by a task
/// that drops it if the fake was reset or shut down meanwhile.
fn v1_batch(shared: &Arc<FakeState>, items: Vec<V1BatchItem>) -> Reply {
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
