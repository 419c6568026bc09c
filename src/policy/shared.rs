//! The shared budget: one rolling window for every worker of an app, kept in
//! Redis (cargo feature `redis`).
//!
//! It has the in-process limiter's semantics: a request holds a slot from its
//! start until its answer, and is then dated to when HubSpot most likely
//! counted it; at most `max` slots are held or counted in any window; a 429
//! pauses everyone; a spent daily budget stops everyone. The decisions are
//! one Lua script (`shared_budget.lua`), so they are atomic whatever the
//! number of workers, and dated on Redis's clock, so workers on several
//! machines agree. A slot's lease ends after the client's request timeout,
//! so a worker that dies mid-request does not hold it for ever.
//!
//! Redis going away never stops a run: a failed or slow call makes the
//! client fall back to its own limiter, bounded by HubSpot's `Remaining`
//! header, for the requests of the next second, then it tries Redis again.
//! The first failure is logged as a warning, the return as info. The URL's
//! password never appears in a message (see [`redact`]).

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use tokio::time::Instant;

use crate::error::SdkError;

/// How long one call to Redis may take before the client gives up on it
/// and falls back.
const CALL_TIMEOUT: Duration = Duration::from_millis(500);

/// How long the client keeps to its own limiter after Redis failed, before
/// it tries again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// What the shared budget says about a request that wants to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// It holds a slot now.
    Admitted,
    /// The window is full (or everyone is paused): ask again after this.
    Wait(Duration),
    /// Every slot is held by a request in flight: ask again once answers
    /// have come.
    AnswersFirst,
    /// The daily budget is spent for this long.
    DailySpent(Duration),
    /// Redis could not be asked: the client falls back to its own limiter.
    Unreachable,
}

impl Verdict {
    /// Reads the script's `{verdict, milliseconds}` answer. Pure; an answer
    /// it does not know reads as [`Unreachable`](Verdict::Unreachable).
    fn from_answer(verdict: i64, millis: i64) -> Verdict {
        let after = Duration::from_millis(u64::try_from(millis).unwrap_or(0).max(1));
        match (verdict, millis) {
            (0, _) => Verdict::Admitted,
            (1, ..0) => Verdict::AnswersFirst,
            (1, _) => Verdict::Wait(after),
            (2, _) => Verdict::DailySpent(after),
            _ => Verdict::Unreachable,
        }
    }
}

/// A budget in Redis shared by every client that names the same key.
pub(crate) struct SharedBudget {
    client: redis::Client,
    /// In flight, counted, pause, daily, quota; one hash tag, so a Redis
    /// Cluster keeps them on one node.
    keys: [String; 5],
    /// The URL with its password redacted.
    shown: String,
    script: redis::Script,
    link: Mutex<Link>,
}

/// The connection and whether Redis is being avoided after a failure.
#[derive(Default)]
struct Link {
    connection: Option<MultiplexedConnection>,
    /// Set while the client falls back: when to try Redis again.
    retry_at: Option<Instant>,
}

impl std::fmt::Debug for SharedBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedBudget")
            .field("url", &self.shown)
            .field("key", &self.keys[0])
            .finish()
    }
}

impl SharedBudget {
    /// Checks that Redis answers at `url` (waiting at most `timeout`) and
    /// makes the budget named `key`. An unreachable Redis, a URL that is not
    /// one, or an unusable key is a configuration error, with the URL's
    /// password redacted.
    pub(crate) fn connect(url: &str, key: &str, timeout: Duration) -> Result<Self, SdkError> {
        let shown = redact(url);
        let key = key.trim();
        if key.is_empty() || key.len() > 256 || key.chars().any(char::is_control) {
            return Err(SdkError::Config(format!(
                "the shared budget's key {key:?} must be 1 to 256 characters, none of them a \
                 control character"
            )));
        }
        let unreachable = |error: &dyn std::fmt::Display| {
            SdkError::Config(format!(
                "the shared budget at {shown} is unreachable: {}",
                scrub(&error.to_string(), url)
            ))
        };
        let client = redis::Client::open(url).map_err(|error| {
            SdkError::Config(format!(
                "the shared budget's URL {shown} is not a Redis URL: {}",
                scrub(&error.to_string(), url)
            ))
        })?;
        let mut connection = client
            .get_connection_with_timeout(timeout)
            .map_err(|error| unreachable(&error))?;
        redis::cmd("PING")
            .query::<String>(&mut connection)
            .map_err(|error| unreachable(&error))?;
        let keys = ["flight", "counted", "pause", "daily", "quota"]
            .map(|part| format!("{{{key}}}:{part}"));
        Ok(SharedBudget {
            client,
            keys,
            shown,
            script: redis::Script::new(include_str!("shared_budget.lua")),
            link: Mutex::new(Link::default()),
        })
    }

    /// Asks for a slot named `slot` in a window of `max` requests per
    /// `lookback`, leased for `lease`. Unless HubSpot's headers `announced`
    /// that quota to this client, the quota they last announced to any
    /// worker of the budget applies: a worker that starts late does not
    /// spend a preset larger than the real limit.
    pub(crate) async fn acquire(
        &self,
        slot: &str,
        (max, lookback): (u32, Duration),
        announced: bool,
        lease: Duration,
    ) -> Verdict {
        let args = [
            slot.to_owned(),
            max.to_string(),
            millis(lookback).to_string(),
            millis(lease).to_string(),
            u8::from(announced).to_string(),
        ];
        match self.call("acquire", &args).await {
            Some((verdict, ms)) => Verdict::from_answer(verdict, ms),
            None => Verdict::Unreachable,
        }
    }

    /// The request of `slot` was answered; HubSpot counted it `ago`. The
    /// keys live `lifetime` after the last answer.
    pub(crate) async fn release(&self, slot: String, ago: Duration, lifetime: Duration) {
        let args = [slot, millis(ago).to_string(), millis(lifetime).to_string()];
        self.call("release", &args).await;
    }

    /// HubSpot refused the request of `slot` without counting it.
    pub(crate) async fn forget(&self, slot: String) {
        self.call("forget", &[slot]).await;
    }

    /// Holds every worker for `wait` (a 429's Retry-After).
    pub(crate) async fn pause(&self, wait: Duration) {
        self.call("pause", &[millis(wait).to_string()]).await;
    }

    /// Marks the daily budget spent for every worker, for `wait`.
    pub(crate) async fn daily_spent(&self, wait: Duration) {
        self.call("daily", &[millis(wait).to_string()]).await;
    }

    fn link(&self) -> MutexGuard<'_, Link> {
        self.link
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs the script's `op` with `args`; `None` when Redis is being
    /// avoided after a failure, or fails now.
    async fn call(&self, op: &str, args: &[String]) -> Option<(i64, i64)> {
        let connection = {
            let link = self.link();
            if link.retry_at.is_some_and(|at| Instant::now() < at) {
                return None;
            }
            link.connection.clone()
        };
        let mut connection = match connection {
            Some(connection) => connection,
            None => {
                let connecting = self.client.get_multiplexed_async_connection();
                match tokio::time::timeout(CALL_TIMEOUT, connecting).await {
                    Ok(Ok(connection)) => {
                        self.link().connection = Some(connection.clone());
                        connection
                    }
                    Ok(Err(error)) => return self.failed(&error.to_string()),
                    Err(_) => return self.failed("no connection within 500 ms"),
                }
            }
        };
        let mut invocation = self.script.prepare_invoke();
        for key in &self.keys {
            invocation.key(key);
        }
        invocation.arg(op);
        for arg in args {
            invocation.arg(arg);
        }
        let answer = invocation.invoke_async::<(i64, i64)>(&mut connection);
        match tokio::time::timeout(CALL_TIMEOUT, answer).await {
            Ok(Ok(answer)) => {
                let was_down = self.link().retry_at.take().is_some();
                if was_down {
                    tracing::info!(url = %self.shown, "the shared budget is reachable again");
                }
                Some(answer)
            }
            Ok(Err(error)) => self.failed(&error.to_string()),
            Err(_) => self.failed("no answer within 500 ms"),
        }
    }

    /// Notes a failure: drops the connection, avoids Redis for
    /// [`RETRY_AFTER`], warns when this starts an outage.
    fn failed(&self, error: &str) -> Option<(i64, i64)> {
        let mut link = self.link();
        link.connection = None;
        if link.retry_at.is_none() {
            tracing::warn!(
                url = %self.shown,
                error = %error,
                "the shared budget is unreachable; falling back to this client's own rate \
                 limiter and HubSpot's Remaining header"
            );
        }
        link.retry_at = Some(Instant::now() + RETRY_AFTER);
        None
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// `url` with its password (if any) shown as `<redacted>`; a URL that does
/// not parse is shown only by its scheme, since it may still hold one.
pub(crate) fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() && parsed.set_password(Some("redacted")).is_err() {
                return format!("{}://<redacted>", parsed.scheme());
            }
            parsed.to_string().replace(":redacted@", ":<redacted>@")
        }
        Err(_) => match url.split_once("://") {
            Some((scheme, _)) if scheme.chars().all(|c| c.is_ascii_alphanumeric()) => {
                format!("{scheme}://<unparsable>")
            }
            _ => "<unparsable URL>".to_owned(),
        },
    }
}

/// `message` with the password of `url` replaced, should an error quote it.
fn scrub(message: &str, url: &str) -> String {
    match url::Url::parse(url)
        .ok()
        .and_then(|u| u.password().map(str::to_owned))
    {
        Some(password) if !password.is_empty() => message.replace(&password, "<redacted>"),
        _ => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        for (url, shown) in [
            (
                "redis://:s3cret@127.0.0.1:6379/0",
                "redis://:<redacted>@127.0.0.1:6379/0",
            ),
            (
                "redis://worker:s3cret@cache.internal:6380",
                "redis://worker:<redacted>@cache.internal:6380",
            ),
            ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379"),
            ("redis://:s3cret@[::1", "redis://<unparsable>"),
            ("s3cret", "<unparsable URL>"),
        ] {
            assert_eq!(redact(url), shown, "{url}");
            assert!(!redact(url).contains("s3cret"));
        }
        assert_eq!(
            scrub("auth failed for s3cret", "redis://:s3cret@h"),
            "auth failed for <redacted>"
        );
    }

    #[test]
    fn script_answers_read_as_verdicts() {
        let ms = Duration::from_millis;
        assert_eq!(Verdict::from_answer(0, 0), Verdict::Admitted);
        assert_eq!(Verdict::from_answer(1, 250), Verdict::Wait(ms(250)));
        assert_eq!(Verdict::from_answer(1, 0), Verdict::Wait(ms(1)));
        assert_eq!(Verdict::from_answer(1, -1), Verdict::AnswersFirst);
        assert_eq!(
            Verdict::from_answer(2, 5_000),
            Verdict::DailySpent(ms(5_000))
        );
        assert_eq!(Verdict::from_answer(7, 0), Verdict::Unreachable);
    }

    #[test]
    fn an_unreachable_redis_or_a_bad_key_is_a_configuration_error() {
        let timeout = Duration::from_millis(500);
        // Port 1 on loopback: nothing listens there.
        let error = SharedBudget::connect("redis://:s3cret@127.0.0.1:1", "k", timeout)
            .expect_err("nothing listens on port 1");
        let message = error.to_string();
        assert!(message.contains("unreachable"), "{message}");
        assert!(!message.contains("s3cret"), "{message}");
        assert!(message.contains("<redacted>"), "{message}");
        let error = SharedBudget::connect("http://x", "k", timeout).expect_err("not redis");
        assert!(error.to_string().contains("not a Redis URL"), "{error}");
        for key in ["", "  ", "a\nb"] {
            let error =
                SharedBudget::connect("redis://127.0.0.1:1", key, timeout).expect_err("a bad key");
            assert!(error.to_string().contains("key"), "{error}");
        }
    }
}
