//! Connections: the accept loop, serving one connection with hyper, graceful shutdown, and
//! dropping a connection with a TCP reset when a fault asks for it.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tower_service::Service;

use super::state::stopped;

/// How long shutdown waits for in-flight requests before dropping their connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Per-connection control handed to handlers as a request extension: notifying `reset`
/// makes the connection task drop the connection with a TCP reset.
#[derive(Debug, Clone)]
pub(super) struct ConnCtl {
    reset: Arc<Notify>,
}

/// Accepts connections until shutdown, then waits for the open ones to finish.
pub(super) async fn accept_loop(
    listener: TcpListener,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) {
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

/// Serves one connection until it ends, a handler asks for a reset, or shutdown (which
/// gives in-flight requests [`SHUTDOWN_GRACE`]).
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

/// Drops the connection a request came on with a reset; never returns. Without a
/// connection to drop (a request that did not come through [`serve_connection`]), answers
/// 500 instead.
pub(super) async fn drop_connection(ctl: Option<&ConnCtl>) -> Response {
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
