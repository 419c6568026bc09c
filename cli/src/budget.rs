//! `--shared-budget` and `--budget-key`: HubSpot's rate-limit budget shared
//! through Redis with every other worker of the same app in the same portal,
//! and the key that names it. The key is derived without exposing the token
//! (pure, [`derive_key`]); reading the credentials for it is the only I/O.

use std::path::Path;

use clap::Args;
use hubspot_contacts_batch::{
    ClientBuilder,
    client::{CLIENT_ID_ENV, REFRESH_TOKEN_ENV, TOKEN_ENV},
};
use sha2::{Digest, Sha256};

/// The shared-budget flags (flattened into every subcommand's flags).
#[derive(Args, Default)]
pub struct Budget {
    /// Share HubSpot's rate-limit budget with every other worker of the same
    /// app in the same portal, in this Redis (`redis://[:PASSWORD@]HOST[:PORT][/DB]`):
    /// the workers then keep one rolling window between them instead of
    /// each spending the whole budget. Redis must answer at the start (else
    /// exit 2); if it goes away mid-run, the run goes on with this process's
    /// own limiter, says so, and counts the requests in the summary. Without
    /// it, workers still back off from each other by HubSpot's
    /// X-HubSpot-RateLimit-Remaining header, less exactly.
    #[arg(
        long,
        value_name = "redis://HOST",
        env = "HUBSPOT_SHARED_BUDGET",
        hide_env_values = true
    )]
    pub shared_budget: Option<String>,
    /// The budget's name in Redis: every worker that spends the same
    /// HubSpot budget (the same app in the same portal) must use the same
    /// key, and no other. Default: derived from hashes of the base URL and of
    /// the credentials (the token, or an OAuth app's client id and refresh
    /// token), so it never shows them; give one explicitly when workers use
    /// different tokens of one app, or refresh tokens that rotate.
    #[arg(long, value_name = "KEY", requires = "shared_budget")]
    pub budget_key: Option<String>,
}

impl std::fmt::Debug for Budget {
    /// Never shows the URL, which may hold Redis's password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budget")
            .field(
                "shared_budget",
                &self.shared_budget.as_ref().map(|_| "<set>"),
            )
            .field("budget_key", &self.budget_key)
            .finish()
    }
}

impl Budget {
    /// `builder` sharing the budget these flags name, for a run against
    /// `base_url` with the credentials of `token_file` or the environment;
    /// `builder` unchanged without `--shared-budget`.
    pub fn apply(
        &self,
        builder: ClientBuilder,
        base_url: &str,
        token_file: Option<&Path>,
    ) -> Result<ClientBuilder, String> {
        let Some(url) = self
            .shared_budget
            .as_deref()
            .filter(|url| !url.trim().is_empty())
        else {
            return Ok(builder);
        };
        let key = match &self.budget_key {
            Some(key) => key.clone(),
            None => {
                let identity = credential_identity(token_file, |name| std::env::var(name).ok())?;
                derive_key(base_url, &identity)
            }
        };
        Ok(builder.shared_budget(url.trim(), key))
    }
}

/// What identifies the app in a portal among the credentials: a token
/// (a private app's belongs to one app in one portal), else an OAuth app's
/// client id (the app) and refresh token (its install in a portal).
fn credential_identity(
    token_file: Option<&Path>,
    var: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let non_empty = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
    if let Some(path) = token_file {
        return std::fs::read_to_string(path)
            .map(|token| format!("token\0{}", token.trim()))
            .map_err(|error| format!("cannot read the token file {}: {error}", path.display()));
    }
    if let Some(token) = non_empty(var(TOKEN_ENV)) {
        return Ok(format!("token\0{}", token.trim()));
    }
    match (
        non_empty(var(CLIENT_ID_ENV)),
        non_empty(var(REFRESH_TOKEN_ENV)),
    ) {
        (Some(id), Some(refresh)) => Ok(format!("oauth\0{}\0{}", id.trim(), refresh.trim())),
        _ => Err(
            "--shared-budget needs credentials to derive its key from; give --budget-key".into(),
        ),
    }
}

/// The default budget key: `hubspot-contacts:` then 12 hex digits of a hash
/// of the base URL and 16 of a hash of the credentials' `identity`. Pure.
/// A hash, never the secret: the key is stored in Redis and shown in logs.
pub fn derive_key(base_url: &str, identity: &str) -> String {
    let hash = |what: &str, text: &str| {
        let mut digest = Sha256::new();
        digest.update(b"hubspot-contacts budget key\0");
        digest.update(what.as_bytes());
        digest.update(b"\0");
        digest.update(text.as_bytes());
        digest
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect::<String>()
    };
    let base = hash("base url", base_url.trim().trim_end_matches('/'));
    let credentials = hash("credentials", identity);
    format!("hubspot-contacts:{}:{}", &base[..12], &credentials[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_key_names_the_app_in_a_portal_and_never_shows_the_token() {
        let token = credential_identity(None, env(&[(TOKEN_ENV, "pat-na1-secret\n")])).unwrap();
        let key = derive_key("https://api.hubapi.com/", &token);
        assert!(!key.contains("secret"), "{key}");
        assert!(key.starts_with("hubspot-contacts:"), "{key}");
        assert_eq!(key.len(), "hubspot-contacts:".len() + 12 + 1 + 16);
        // Stable: the same base URL and token give the same key in every
        // process, whatever trailing slash or newline.
        let again = credential_identity(None, env(&[(TOKEN_ENV, "pat-na1-secret")])).unwrap();
        assert_eq!(derive_key("https://api.hubapi.com", &again), key);
        // Another token or another base URL is another budget.
        let other = credential_identity(None, env(&[(TOKEN_ENV, "pat-na1-other")])).unwrap();
        assert_ne!(derive_key("https://api.hubapi.com", &other), key);
        assert_ne!(derive_key("https://api.hubapi.eu", &token), key);
    }

    #[test]
    fn an_oauth_app_is_named_by_its_client_id_and_refresh_token() {
        let app = credential_identity(
            None,
            env(&[
                (CLIENT_ID_ENV, "app-1"),
                ("HUBSPOT_CLIENT_SECRET", "shh"),
                (REFRESH_TOKEN_ENV, "na1-refresh"),
            ]),
        )
        .unwrap();
        let key = derive_key("https://api.hubapi.com", &app);
        assert!(!key.contains("refresh") && !key.contains("app-1"), "{key}");
        let error = credential_identity(None, env(&[])).unwrap_err();
        assert!(error.contains("--budget-key"), "{error}");
    }

    #[test]
    fn debug_never_shows_the_url() {
        let budget = Budget {
            shared_budget: Some("redis://:pa55@127.0.0.1:6379".into()),
            budget_key: None,
        };
        let shown = format!("{budget:?}");
        assert!(!shown.contains("pa55"), "{shown}");
    }
}
