//! A batch run's request to stop ([`BatchCall::until`]), seen by the run and
//! by each of its requests.
//!
//! [`BatchCall::until`]: crate::batch::BatchCall::until

use tokio::sync::watch;

/// Why an input of a stopped run was not sent.
pub(crate) const STOPPED_BEFORE_SENDING: &str = "the batch was stopped before sending it";

/// Whether the run was asked to stop; set once, cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Stop(watch::Receiver<bool>);

/// The side that sets a [`Stop`]: held by the run's outcome stream, which
/// polls the caller's signal.
#[derive(Debug)]
pub(crate) struct StopSetter(watch::Sender<bool>);

/// A new, unset stop and its setter.
pub(crate) fn stop() -> (StopSetter, Stop) {
    let (setter, stop) = watch::channel(false);
    (StopSetter(setter), Stop(stop))
}

impl StopSetter {
    /// Sets the stop, waking whatever waits for it.
    pub(crate) fn set(&self) {
        self.0.send_replace(true);
    }
}

impl Stop {
    /// Whether the stop is set.
    pub(crate) fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once the stop is set; never, if its setter is gone unset.
    pub(crate) async fn wait(&self) {
        let mut watching = self.0.clone();
        if watching.wait_for(|&set| set).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiting_ends_when_set_and_never_without() {
        let (setter, stop) = stop();
        assert!(!stop.is_set());
        let waiting = tokio::spawn({
            let stop = stop.clone();
            async move { stop.wait().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        setter.set();
        waiting.await.unwrap();
        assert!(stop.is_set());
        // Already set: returns at once.
        stop.wait().await;

        let (setter, stop) = super::stop();
        drop(setter);
        let never = tokio::time::timeout(std::time::Duration::from_millis(10), stop.wait()).await;
        assert!(never.is_err(), "a dropped setter is not a stop");
    }
}
