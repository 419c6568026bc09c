//! Ctrl-C and SIGTERM. Before the run writes anything (reading the header,
//! connecting, the preflight), the first exits at once. Once it writes, the
//! first stops the run: nothing more is sent (rows waiting for the rate
//! limiter or a retry are reported `not_sent`), the requests already sent are
//! settled, and the report and the summary are written; the second exits at
//! once with [`EXIT_INTERRUPTED`] (every report line written so far is
//! already on disk).

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;

use crate::console;

/// Exit code of an interrupted run (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Whether the run was asked to stop.
#[derive(Clone, Debug)]
pub struct Interrupt {
    stop: watch::Receiver<bool>,
    /// Whether the run has begun to write (see [`Interrupt::writing`]).
    writing: Arc<Mutex<bool>>,
}

impl Interrupt {
    /// Starts listening for Ctrl-C and SIGTERM. Call inside the runtime.
    pub fn install() -> Self {
        let (tx, rx) = watch::channel(false);
        let writing = Arc::new(Mutex::new(false));
        let begun = Arc::clone(&writing);
        tokio::spawn(async move {
            let mut signals = Signals::new();
            signals.next().await;
            {
                // Held while exiting, so the run cannot begin to write meanwhile.
                let begun = begun.lock().unwrap_or_else(PoisonError::into_inner);
                if !*begun {
                    console::line("hubspot-contacts: interrupted; nothing was written");
                    std::process::exit(i32::from(EXIT_INTERRUPTED));
                }
            }
            console::line(
                "interrupted: nothing more is sent; the requests already sent are settled \
                 and reported (press Ctrl-C again to exit at once)",
            );
            let _ = tx.send(true);
            signals.next().await;
            console::line("interrupted again: exiting now");
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        });
        Self { stop: rx, writing }
    }

    /// Marks that the run is about to write (its report, its output, its
    /// first request): from now on the first signal stops it gracefully
    /// instead of exiting at once.
    pub fn writing(&self) {
        *self.writing.lock().unwrap_or_else(PoisonError::into_inner) = true;
    }

    /// Whether the first signal came.
    pub fn is_set(&self) -> bool {
        *self.stop.borrow()
    }

    /// Resolves when the first signal comes (never, if none does).
    pub async fn wait(mut self) {
        if self.stop.wait_for(|&stop| stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Ctrl-C and, on Unix, SIGTERM, as one stream of "stop" requests.
struct Signals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    #[cfg(unix)]
    fn new() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        Self {
            interrupt: signal(SignalKind::interrupt()).ok(),
            terminate: signal(SignalKind::terminate()).ok(),
        }
    }

    #[cfg(not(unix))]
    fn new() -> Self {
        Self {}
    }

    #[cfg(unix)]
    async fn next(&mut self) {
        async fn one(signal: &mut Option<tokio::signal::unix::Signal>) {
            let received = match signal {
                Some(signal) => signal.recv().await.is_some(),
                None => false,
            };
            if !received {
                std::future::pending::<()>().await;
            }
        }
        tokio::select! {
            () = one(&mut self.interrupt) => {}
            () = one(&mut self.terminate) => {}
        }
    }

    #[cfg(not(unix))]
    async fn next(&mut self) {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
