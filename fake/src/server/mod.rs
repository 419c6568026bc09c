//! The HTTP layer. A request goes from the accept loop ([`connection`]) through the router
//! ([`router`], built from the [route table](crate::routes)) into the pipeline
//! ([`pipeline`]: auth -> rate limit -> faults -> body -> operation -> faults -> response),
//! which reads the body ([`body`]), runs the route's operation over the store
//! ([`dispatch`]) and turns the reply into a response ([`response`]). The OAuth token
//! endpoint ([`token`]) has its own short path. [`builder`] configures and starts it;
//! [`state`] is what every request shares.

mod body;
mod builder;
mod connection;
mod dispatch;
mod pipeline;
mod response;
mod router;
mod state;
mod token;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::watch;

pub use body::MAX_BODY_BYTES;
pub use builder::{FakeHubSpotBuilder, StartError};

use crate::stats::Stats;
use crate::store::StoredContact;
use state::{FakeState, lock};

/// A running fake. Dropping it stops the server too; [`shutdown`](Self::shutdown) also waits
/// for it to finish.
#[derive(Debug)]
pub struct FakeHubSpot {
    addr: SocketAddr,
    shared: Arc<FakeState>,
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

    /// Forgets every contact, pending v1 batch, counter, rate-limit window and minted
    /// access token, and re-seeds the random source, as if freshly started.
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// Makes every access token the OAuth app has minted expire now, as if HubSpot's clock
    /// ran ahead of the client's: the next request with one gets `401
    /// EXPIRED_AUTHENTICATION`. No-op without an [OAuth app](FakeHubSpotBuilder::oauth_app).
    pub fn expire_access_tokens(&self) {
        if let Some(book) = &self.shared.oauth {
            lock(book).expire_all(std::time::Instant::now(), crate::util::now_ms());
        }
    }

    /// Revokes the OAuth app's refresh token (as an uninstall would): later refreshes get
    /// `400 invalid_grant` (`BAD_REFRESH_TOKEN`); access tokens already minted work until
    /// they expire. [`reset`](Self::reset) restores it.
    pub fn revoke_refresh_token(&self) {
        if let Some(book) = &self.shared.oauth {
            lock(book).revoke_refresh_token();
        }
    }

    /// Every access token the OAuth app has minted (expired ones included), oldest first:
    /// for tests that check a client never shows them.
    pub fn access_tokens(&self) -> Vec<String> {
        self.shared
            .oauth
            .as_ref()
            .map_or_else(Vec::new, |book| lock(book).access_tokens())
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
