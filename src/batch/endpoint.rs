//! The generated call behind each batch helper, at the client's API version.
//!
//! The request and response shapes are the same at every version; only the
//! generated method differs (`batch_upsert` for v3, `dated_batch_upsert` with
//! the version as a path parameter). A version added to the document's
//! `DatedVersion` needs nothing here.

use crate::{ApiVersion, Client, Error, ResponseValue, types};

/// What every generated batch call returns.
pub(super) type Answer<T> = Result<ResponseValue<T>, Error<types::ErrorBody>>;

pub(super) async fn create(
    client: &Client,
    body: types::builder::BatchCreateRequest,
) -> Answer<types::BatchContactsResponse> {
    match client.batch_version() {
        ApiVersion::V3 => client.batch_create().body(body).send().await,
        ApiVersion::Dated(version) => {
            let call = client.dated_batch_create().version(version);
            call.body(body).send().await
        }
    }
}

pub(super) async fn update(
    client: &Client,
    body: types::builder::BatchUpdateRequest,
) -> Answer<types::BatchContactsResponse> {
    match client.batch_version() {
        ApiVersion::V3 => client.batch_update().body(body).send().await,
        ApiVersion::Dated(version) => {
            let call = client.dated_batch_update().version(version);
            call.body(body).send().await
        }
    }
}

pub(super) async fn upsert(
    client: &Client,
    body: types::builder::BatchUpsertRequest,
) -> Answer<types::BatchUpsertResponse> {
    match client.batch_version() {
        ApiVersion::V3 => client.batch_upsert().body(body).send().await,
        ApiVersion::Dated(version) => {
            let call = client.dated_batch_upsert().version(version);
            call.body(body).send().await
        }
    }
}

pub(super) async fn read(
    client: &Client,
    body: types::builder::BatchReadRequest,
    archived: bool,
) -> Answer<types::BatchContactsResponse> {
    // `archived` is left out of the query unless asked for, as HubSpot's own
    // clients do.
    match (client.batch_version(), archived) {
        (ApiVersion::V3, false) => client.batch_read().body(body).send().await,
        (ApiVersion::V3, true) => client.batch_read().archived(true).body(body).send().await,
        (ApiVersion::Dated(version), archived) => {
            let call = client.dated_batch_read().version(version);
            let call = if archived { call.archived(true) } else { call };
            call.body(body).send().await
        }
    }
}

pub(super) async fn archive(
    client: &Client,
    body: types::builder::BatchArchiveRequest,
) -> Answer<()> {
    match client.batch_version() {
        ApiVersion::V3 => client.batch_archive().body(body).send().await,
        ApiVersion::Dated(version) => {
            let call = client.dated_batch_archive().version(version);
            call.body(body).send().await
        }
    }
}
