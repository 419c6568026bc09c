//! Where the rows go: HubSpot (or any base URL) with a token, or an embedded
//! hubspot-fake when neither a token nor a base URL is given.

use std::path::Path;

use hubspot_contacts_batch::client::{BASE_URL_ENV, DEFAULT_BASE_URL, TOKEN_ENV};

/// The target a run resolves to.
#[derive(Clone, PartialEq, Eq)]
pub enum Target {
    /// A real (or standalone fake) API.
    Remote {
        /// The base URL.
        base_url: String,
        /// The access token.
        token: String,
    },
    /// A hubspot-fake started in this process.
    Embedded,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Remote { base_url, .. } => f
                .debug_struct("Remote")
                .field("base_url", base_url)
                .field("token", &"<redacted>")
                .finish(),
            Target::Embedded => f.write_str("Embedded"),
        }
    }
}

/// Decides the target from the flags and the environment's values. Pure.
/// An empty value counts as unset. A base URL without a token is an error: a
/// token is never guessed for a real server.
pub fn resolve(
    base_url_flag: Option<String>,
    base_url_env: Option<String>,
    token: Option<String>,
) -> Result<Target, String> {
    let non_empty = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
    let base_url = non_empty(base_url_flag).or_else(|| non_empty(base_url_env));
    match (non_empty(token), base_url) {
        (None, None) => Ok(Target::Embedded),
        (Some(token), base_url) => Ok(Target::Remote {
            base_url: base_url.unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
            token: token.trim().to_owned(),
        }),
        (None, Some(base_url)) => Err(format!(
            "no access token for {base_url}: set {TOKEN_ENV} or use --token-file"
        )),
    }
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
        None => std::env::var(TOKEN_ENV).ok(),
    };
    resolve(base_url_flag, std::env::var(BASE_URL_ENV).ok(), token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(value: &str) -> Option<String> {
        Some(value.to_owned())
    }

    #[test]
    fn nothing_configured_means_the_embedded_fake() {
        assert_eq!(resolve(None, None, None), Ok(Target::Embedded));
        assert_eq!(resolve(None, s(""), s(" ")), Ok(Target::Embedded));
    }

    #[test]
    fn a_token_goes_to_the_flag_then_the_env_then_hubspot() {
        let remote = |url: &str| Target::Remote {
            base_url: url.to_owned(),
            token: "t".to_owned(),
        };
        assert_eq!(
            resolve(s("http://a"), s("http://b"), s("t\n")),
            Ok(remote("http://a"))
        );
        assert_eq!(resolve(None, s("http://b"), s("t")), Ok(remote("http://b")));
        assert_eq!(resolve(None, None, s("t")), Ok(remote(DEFAULT_BASE_URL)));
    }

    #[test]
    fn a_base_url_without_a_token_is_refused() {
        let error = resolve(s("http://127.0.0.1:1"), None, None).unwrap_err();
        assert!(error.contains("HUBSPOT_TOKEN"), "{error}");
    }

    #[test]
    fn debug_hides_the_token() {
        let shown = format!("{:?}", resolve(None, None, s("pat-secret")).unwrap());
        assert!(!shown.contains("pat-secret"), "{shown}");
    }
}
