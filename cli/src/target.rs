//! Where the rows go: HubSpot (or any base URL) with a token or an OAuth app's
//! credentials, or an embedded hubspot-fake when neither credentials nor a
//! base URL are given.

use std::path::Path;

use hubspot_contacts_batch::{
    TokenSource,
    client::{
        BASE_URL_ENV, CLIENT_ID_ENV, CLIENT_SECRET_ENV, DEFAULT_BASE_URL, REFRESH_TOKEN_ENV,
        TOKEN_ENV,
    },
};

/// The target a run resolves to.
#[derive(Clone, PartialEq, Eq)]
pub enum Target {
    /// A real (or standalone fake) API.
    Remote {
        /// The base URL.
        base_url: String,
        /// A token, or an OAuth app's credentials (`Debug` redacts them).
        credentials: TokenSource,
    },
    /// A hubspot-fake started in this process.
    Embedded,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Remote {
                base_url,
                credentials,
            } => f
                .debug_struct("Remote")
                .field("base_url", base_url)
                .field("credentials", credentials)
                .finish(),
            Target::Embedded => f.write_str("Embedded"),
        }
    }
}

/// Decides the target from the flags and the environment's values. Pure.
/// An empty base URL is an error. A base URL without credentials is an
/// error: credentials are never guessed for a real server.
pub fn resolve(
    base_url_flag: Option<String>,
    base_url_env: Option<String>,
    credentials: Option<TokenSource>,
) -> Result<Target, String> {
    // An empty base URL is a mistake: falling back to HubSpot's would send
    // a test run to production.
    for (what, value) in [
        ("--base-url", &base_url_flag),
        (BASE_URL_ENV, &base_url_env),
    ] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return Err(format!(
                "{what} is empty; give the API's URL, or leave it out for {DEFAULT_BASE_URL}"
            ));
        }
    }
    let base_url = base_url_flag.or(base_url_env);
    match (credentials, base_url) {
        (None, None) => Ok(Target::Embedded),
        (Some(credentials), base_url) => Ok(Target::Remote {
            base_url: base_url.unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
            credentials,
        }),
        (None, Some(base_url)) => Err(format!(
            "no credentials for {base_url}: set {TOKEN_ENV} or use --token-file, or set \
             {CLIENT_ID_ENV}, {CLIENT_SECRET_ENV} and {REFRESH_TOKEN_ENV} for an OAuth app"
        )),
    }
}

/// The credentials named by `var` (the environment's values), with a token
/// file standing in for `HUBSPOT_TOKEN`: a token, else an OAuth app's three
/// variables (all or none; a partial set is an error naming the missing ones),
/// else `None`. Pure.
pub fn credentials(
    token_file: Option<String>,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Option<TokenSource>, String> {
    TokenSource::from_vars(|name| match (&token_file, name) {
        (Some(token), TOKEN_ENV) => Some(token.clone()),
        _ => var(name),
    })
    .map_err(|error| error.to_string())
}

/// The target for these flags and the process environment.
pub fn from_env(
    base_url_flag: Option<String>,
    token_file: Option<&Path>,
) -> Result<Target, String> {
    let token = match token_file {
        Some(path) => {
            let token = std::fs::read_to_string(path).map_err(|error| {
                format!("cannot read the token file {}: {error}", path.display())
            })?;
            if token.trim().is_empty() {
                return Err(format!("the token file {} is empty", path.display()));
            }
            Some(token)
        }
        None => None,
    };
    let credentials = credentials(token, |name| std::env::var(name).ok())?;
    resolve(base_url_flag, std::env::var(BASE_URL_ENV).ok(), credentials)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(value: &str) -> Option<String> {
        Some(value.to_owned())
    }

    fn token(value: &str) -> Option<TokenSource> {
        Some(TokenSource::token(value))
    }

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    const OAUTH: &[(&str, &str)] = &[
        ("HUBSPOT_CLIENT_ID", "id"),
        ("HUBSPOT_CLIENT_SECRET", "app-secret"),
        ("HUBSPOT_REFRESH_TOKEN", "na1-refresh"),
    ];

    #[test]
    fn nothing_configured_means_the_embedded_fake() {
        assert_eq!(resolve(None, None, None), Ok(Target::Embedded));
        assert_eq!(credentials(None, env(&[])), Ok(None));
    }

    #[test]
    fn an_empty_base_url_is_an_error_not_hubspot() {
        for (flag, env) in [(s(""), None), (None, s(" ")), (s(""), s("http://b"))] {
            let error = resolve(flag, env, token("t")).unwrap_err();
            assert!(error.contains("is empty"), "{error}");
        }
    }

    #[test]
    fn an_empty_token_is_an_error_not_the_embedded_fake() {
        let error = credentials(None, env(&[("HUBSPOT_TOKEN", " ")])).unwrap_err();
        assert!(error.contains("HUBSPOT_TOKEN is set but empty"), "{error}");
    }

    #[test]
    fn credentials_go_to_the_flag_then_the_env_then_hubspot() {
        let remote = |url: &str| Target::Remote {
            base_url: url.to_owned(),
            credentials: TokenSource::token("t"),
        };
        assert_eq!(
            resolve(s("http://a"), s("http://b"), token("t\n")),
            Ok(remote("http://a"))
        );
        assert_eq!(
            resolve(None, s("http://b"), token("t")),
            Ok(remote("http://b"))
        );
        assert_eq!(
            resolve(None, None, token("t")),
            Ok(remote(DEFAULT_BASE_URL))
        );
    }

    #[test]
    fn a_token_file_wins_then_the_token_then_the_oauth_app() {
        let with_token: &[(&str, &str)] = &[
            ("HUBSPOT_TOKEN", "env-token"),
            ("HUBSPOT_CLIENT_ID", "id"),
            ("HUBSPOT_CLIENT_SECRET", "app-secret"),
            ("HUBSPOT_REFRESH_TOKEN", "na1-refresh"),
        ];
        assert_eq!(
            credentials(s("file-token\n"), env(OAUTH)),
            Ok(token("file-token"))
        );
        assert_eq!(credentials(None, env(with_token)), Ok(token("env-token")));
        assert_eq!(
            credentials(None, env(OAUTH)),
            Ok(Some(TokenSource::oauth("id", "app-secret", "na1-refresh")))
        );
    }

    #[test]
    fn part_of_an_oauth_app_is_an_error_naming_what_is_missing() {
        let error = credentials(None, env(&[("HUBSPOT_REFRESH_TOKEN", "r")])).unwrap_err();
        assert!(
            error.contains("HUBSPOT_CLIENT_ID and HUBSPOT_CLIENT_SECRET are not set"),
            "{error}"
        );
    }

    #[test]
    fn a_base_url_without_credentials_is_refused() {
        let error = resolve(s("http://127.0.0.1:1"), None, None).unwrap_err();
        assert!(error.contains("HUBSPOT_TOKEN"), "{error}");
        assert!(error.contains("HUBSPOT_REFRESH_TOKEN"), "{error}");
    }

    #[test]
    fn debug_hides_the_secrets() {
        for credentials in [credentials(None, env(OAUTH)).unwrap(), token("pat-secret")] {
            let shown = format!("{:?}", resolve(None, None, credentials).unwrap());
            for secret in ["pat-secret", "app-secret", "na1-refresh"] {
                assert!(!shown.contains(secret), "{shown}");
            }
        }
    }
}
