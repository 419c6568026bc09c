//! The OAuth app the fake knows and the access tokens it minted: HubSpot's token endpoint
//! (`POST /oauth/{2026-03,2026-09}/token`, grant `refresh_token`) as a pure book of
//! tokens and expiry times. The HTTP side is `server/token.rs`; the bearer check of every
//! API request asks [`TokenBook::check`].

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::FastMap;

/// How long a minted access token lasts unless set: HubSpot's 30 minutes (`expires_in`
/// 1800 in its guide).
pub const DEFAULT_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(30 * 60);

/// Minted tokens that expired longer ago than this are forgotten (then refused as unknown
/// rather than as expired), so a long run with short tokens keeps the book small.
const FORGET_AFTER: Duration = Duration::from_secs(3600);

/// An OAuth app's credentials as the fake knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OAuthApp {
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) refresh_token: String,
}

/// The fields of a token request's form the fake reads.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct TokenForm {
    pub(crate) grant_type: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<String>,
    pub(crate) refresh_token: Option<String>,
}

impl TokenForm {
    /// Reads a form body (`application/x-www-form-urlencoded`); later repeats of a field
    /// win, unknown fields are ignored.
    pub(crate) fn parse(body: &[u8]) -> Self {
        let mut form = Self::default();
        for (name, value) in form_urlencoded::parse(body) {
            let slot = match &*name {
                "grant_type" => &mut form.grant_type,
                "client_id" => &mut form.client_id,
                "client_secret" => &mut form.client_secret,
                "refresh_token" => &mut form.refresh_token,
                _ => continue,
            };
            *slot = Some(value.into_owned());
        }
        form
    }
}

/// A refusal of the token endpoint: `400` with RFC 6749's `error` / `error_description`
/// and HubSpot's legacy `status` / `message` beside them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenRefusal {
    pub(crate) error: &'static str,
    pub(crate) legacy_status: &'static str,
    pub(crate) message: &'static str,
}

impl TokenRefusal {
    /// The refusal's JSON body.
    pub(crate) fn body(&self) -> Value {
        json!({
            "error": self.error,
            "error_description": self.message,
            "status": self.legacy_status,
            "message": self.message,
        })
    }
}

/// A minted access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Minted {
    pub(crate) access_token: String,
    pub(crate) refresh_token: String,
    /// Whole seconds, rounded up (a sub-second lifetime is reported as 1).
    pub(crate) expires_in: u64,
}

impl Minted {
    /// The 200 body (`AccessTokenResponse`, snake_case).
    pub(crate) fn body(&self) -> Value {
        json!({
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_in": self.expires_in,
            "token_type": "bearer",
            "token_use": "access_token",
            "hub_id": 1_000_001,
            "scopes": ["crm.objects.contacts.read", "crm.objects.contacts.write"],
        })
    }
}

/// What a bearer token is to the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Minted and not yet expired.
    Valid,
    /// Minted, and expired `ago` (at `expired_ms`, epoch milliseconds).
    Expired { ago: Duration, expired_ms: u64 },
    /// Never minted (or long forgotten).
    Unknown,
}

/// When a minted token expires.
#[derive(Debug, Clone, Copy)]
struct Expiry {
    at: Instant,
    at_ms: u64,
}

/// The app, its current refresh token and every access token minted.
#[derive(Debug)]
pub(crate) struct TokenBook {
    app: OAuthApp,
    ttl: Duration,
    rotate: bool,
    seed: u64,
    /// The refresh token that works now: the configured one, or the last one handed out
    /// when rotating; `None` once revoked.
    refresh_token: Option<String>,
    access: FastMap<String, Expiry>,
    minted: u64,
}

impl TokenBook {
    pub(crate) fn new(app: OAuthApp, ttl: Duration, rotate: bool, seed: u64) -> Self {
        Self {
            refresh_token: Some(app.refresh_token.clone()),
            app,
            ttl,
            rotate,
            seed,
            access: FastMap::default(),
            minted: 0,
        }
    }

    /// Answers a token request at `now` (`now_ms` the same instant in epoch milliseconds).
    pub(crate) fn refresh(
        &mut self,
        form: &TokenForm,
        now: Instant,
        now_ms: u64,
    ) -> Result<Minted, TokenRefusal> {
        if form.grant_type.as_deref() != Some("refresh_token") {
            return Err(TokenRefusal {
                error: if form.grant_type.is_none() {
                    "invalid_request"
                } else {
                    "unsupported_grant_type"
                },
                legacy_status: "BAD_GRANT_TYPE",
                message: "grant_type must be refresh_token (the fake serves no other grant)",
            });
        }
        if form.client_id.as_deref() != Some(self.app.client_id.as_str())
            || form.client_secret.as_deref() != Some(self.app.client_secret.as_str())
        {
            return Err(TokenRefusal {
                error: "invalid_client",
                legacy_status: "BAD_CLIENT_ID",
                message: "missing or unknown client id, or a client secret that does not match",
            });
        }
        if form.refresh_token.is_none() || form.refresh_token != self.refresh_token {
            return Err(TokenRefusal {
                error: "invalid_grant",
                legacy_status: "BAD_REFRESH_TOKEN",
                message: "missing or unknown refresh token",
            });
        }
        self.minted += 1;
        let n = self.minted;
        let access_token = format!(
            "fake-at-{n}-{:016x}",
            fastrand::Rng::with_seed(self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)).u64(..)
        );
        if self.rotate {
            self.refresh_token = Some(format!("{}-r{n}", self.app.refresh_token));
        }
        let ttl_ms = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
        self.access.insert(
            access_token.clone(),
            Expiry {
                at: now + self.ttl,
                at_ms: now_ms.saturating_add(ttl_ms),
            },
        );
        self.access
            .retain(|_, expiry| now.saturating_duration_since(expiry.at) < FORGET_AFTER);
        Ok(Minted {
            access_token,
            refresh_token: self.refresh_token.clone().unwrap_or_default(),
            expires_in: self.ttl.as_secs() + u64::from(self.ttl.subsec_nanos() > 0),
        })
    }

    /// What `token` is at `now`.
    pub(crate) fn check(&self, token: &str, now: Instant) -> Access {
        match self.access.get(token) {
            None => Access::Unknown,
            Some(expiry) if now < expiry.at => Access::Valid,
            Some(expiry) => Access::Expired {
                ago: now - expiry.at,
                expired_ms: expiry.at_ms,
            },
        }
    }

    /// Makes every minted token expire at `now` (as if HubSpot's clock ran ahead).
    pub(crate) fn expire_all(&mut self, now: Instant, now_ms: u64) {
        for expiry in self.access.values_mut().filter(|expiry| expiry.at > now) {
            *expiry = Expiry {
                at: now,
                at_ms: now_ms,
            };
        }
    }

    /// Revokes the refresh token: later refreshes get `invalid_grant`. Access tokens
    /// already minted last until they expire.
    pub(crate) fn revoke_refresh_token(&mut self) {
        self.refresh_token = None;
    }

    /// Every access token minted and not forgotten, oldest first.
    pub(crate) fn access_tokens(&self) -> Vec<String> {
        let mut tokens: Vec<(Instant, String)> = self
            .access
            .iter()
            .map(|(token, expiry)| (expiry.at, token.clone()))
            .collect();
        tokens.sort();
        tokens.into_iter().map(|(_, token)| token).collect()
    }

    /// Back to the configured refresh token, with no access token minted.
    pub(crate) fn reset(&mut self) {
        self.refresh_token = Some(self.app.refresh_token.clone());
        self.access.clear();
        self.minted = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> OAuthApp {
        OAuthApp {
            client_id: "id".into(),
            client_secret: "secret".into(),
            refresh_token: "na1-refresh".into(),
        }
    }

    fn form(refresh_token: &str) -> TokenForm {
        TokenForm {
            grant_type: Some("refresh_token".into()),
            client_id: Some("id".into()),
            client_secret: Some("secret".into()),
            refresh_token: Some(refresh_token.into()),
        }
    }

    #[test]
    fn forms_are_read_percent_decoded() {
        let parsed = TokenForm::parse(
            b"grant_type=refresh_token&client_id=a+b&client_secret=s%26%3D&refresh_token=r&x=1",
        );
        assert_eq!(parsed.client_id.as_deref(), Some("a b"));
        assert_eq!(parsed.client_secret.as_deref(), Some("s&="));
        assert_eq!(parsed.refresh_token.as_deref(), Some("r"));
        assert_eq!(TokenForm::parse(b""), TokenForm::default());
    }

    #[test]
    fn minted_tokens_are_valid_until_their_ttl_then_expired() {
        let t0 = Instant::now();
        let mut book = TokenBook::new(app(), Duration::from_millis(1500), false, 7);
        let minted = book.refresh(&form("na1-refresh"), t0, 1_000).unwrap();
        assert_eq!(minted.expires_in, 2, "rounded up");
        assert_eq!(minted.refresh_token, "na1-refresh");
        let token = minted.access_token.as_str();
        assert_eq!(book.check(token, t0), Access::Valid);
        assert_eq!(
            book.check(token, t0 + Duration::from_millis(1499)),
            Access::Valid
        );
        assert_eq!(
            book.check(token, t0 + Duration::from_secs(3)),
            Access::Expired {
                ago: Duration::from_millis(1500),
                expired_ms: 2_500
            }
        );
        assert_eq!(book.check("made-up", t0), Access::Unknown);
        let second = book.refresh(&form("na1-refresh"), t0, 1_000).unwrap();
        assert_ne!(second.access_token, minted.access_token);
        book.expire_all(t0, 1_000);
        assert!(matches!(
            book.check(&second.access_token, t0),
            Access::Expired { .. }
        ));
    }

    #[test]
    fn refusals_name_the_grant_the_client_or_the_refresh_token() {
        let now = Instant::now();
        let mut book = TokenBook::new(app(), DEFAULT_ACCESS_TOKEN_TTL, false, 0);
        let refused =
            |book: &mut TokenBook, form: TokenForm| book.refresh(&form, now, 0).unwrap_err().error;
        assert_eq!(refused(&mut book, form("other")), "invalid_grant");
        let mut wrong = form("na1-refresh");
        wrong.client_secret = Some("nope".into());
        assert_eq!(refused(&mut book, wrong), "invalid_client");
        let mut wrong = form("na1-refresh");
        wrong.grant_type = Some("authorization_code".into());
        assert_eq!(refused(&mut book, wrong), "unsupported_grant_type");
        book.revoke_refresh_token();
        let refusal = book.refresh(&form("na1-refresh"), now, 0).unwrap_err();
        assert_eq!(
            refusal.body(),
            json!({
                "error": "invalid_grant",
                "error_description": "missing or unknown refresh token",
                "status": "BAD_REFRESH_TOKEN",
                "message": "missing or unknown refresh token"
            })
        );
        book.reset();
        assert!(book.refresh(&form("na1-refresh"), now, 0).is_ok());
    }

    #[test]
    fn rotation_hands_out_a_new_refresh_token_and_retires_the_old() {
        let now = Instant::now();
        let mut book = TokenBook::new(app(), DEFAULT_ACCESS_TOKEN_TTL, true, 0);
        let first = book.refresh(&form("na1-refresh"), now, 0).unwrap();
        assert_ne!(first.refresh_token, "na1-refresh");
        assert!(book.refresh(&form("na1-refresh"), now, 0).is_err());
        let second = book.refresh(&form(&first.refresh_token), now, 0).unwrap();
        assert_ne!(second.refresh_token, first.refresh_token);
        assert_eq!(book.access_tokens().len(), 2);
    }
}
