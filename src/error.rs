//! The error type of the hand-written layer, and readable views of HubSpot's
//! own error bodies.

use std::fmt;

use crate::types;

/// An error from the hand-written layer: configuration, or a HubSpot call that
/// failed as a whole.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SdkError {
    /// The client is misconfigured (token, base URL, TLS).
    #[error("configuration error: {0}")]
    Config(String),
    /// The base URL is plain `http://` to a host that is not loopback, so the
    /// access token would travel unencrypted.
    #[error(
        "configuration error: refusing to send the access token over plain http to {host}; \
         use https, or ClientBuilder::allow_insecure_http(true) if the network is trusted"
    )]
    InsecureHttp {
        /// The host of the base URL.
        host: String,
    },
    /// HubSpot answered with an error status.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// The request could not be built, sent, or its response read.
    #[error("{0}")]
    Request(#[source] Box<crate::Error<types::ErrorBody>>),
}

/// A non-2xx answer from HubSpot, with HubSpot's own words.
///
/// `Display` shows the status, category, message and correlation id, which is
/// what HubSpot support asks for.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// HubSpot's error body.
    pub body: types::ErrorBody,
}

impl ApiError {
    /// HubSpot's message.
    pub fn message(&self) -> &str {
        &self.body.message
    }

    /// HubSpot's category (`VALIDATION_ERROR`, `CONFLICT`, …), or for a 429 its
    /// `errorType` (`RATE_LIMIT`).
    pub fn category(&self) -> Option<&str> {
        self.body
            .category
            .as_deref()
            .or(self.body.error_type.as_deref())
    }

    /// HubSpot's correlation id for the request.
    pub fn correlation_id(&self) -> Option<&str> {
        self.body.correlation_id.as_deref()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HubSpot answered {}: {}", self.status, self.body)
    }
}

impl std::error::Error for ApiError {}

impl fmt::Display for types::ErrorBody {
    /// `CATEGORY: message (policy P) [correlation id C]`, leaving out what is absent.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(category) = self.category.as_deref().or(self.error_type.as_deref()) {
            write!(f, "{category}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(policy) = &self.policy_name {
            write!(f, " (policy {policy})")?;
        }
        if let Some(id) = &self.correlation_id {
            write!(f, " [correlation id {id}]")?;
        }
        Ok(())
    }
}

impl From<crate::Error<types::ErrorBody>> for SdkError {
    fn from(error: crate::Error<types::ErrorBody>) -> Self {
        match error {
            crate::Error::ErrorResponse(response) => SdkError::Api(Box::new(ApiError {
                status: response.status().as_u16(),
                body: response.into_inner(),
            })),
            other => SdkError::Request(Box::new(other)),
        }
    }
}
