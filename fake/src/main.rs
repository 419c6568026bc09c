//! `hubspot-fake`: serve the HubSpot contacts fake until killed.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use hubspot_fake::{FakeHubSpot, FaultSpec, RateLimit};

/// A stateful in-memory fake of HubSpot's contact batch APIs (v3 and dated batch, legacy v1).
///
/// Prints `listening on http://ADDR` as its first line, then serves until killed.
#[derive(Debug, Parser)]
#[command(name = "hubspot-fake", version, about)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// Milliseconds added to each HubSpot-route exchange (half before the request is
    /// counted, half before the response), like a network round trip.
    #[arg(long, value_name = "N", default_value_t = 0)]
    latency_ms: u64,
    /// Rolling-window rate limit: a HubSpot plan (free, starter, professional,
    /// enterprise, increase), MAX/WINDOW such as 100/10s or 5/500ms, or off;
    /// the same grammar as the SDK's and hubspot-contacts' --rate-limit.
    #[arg(long, value_name = "PLAN|MAX/WINDOW")]
    rate_limit: Option<RateLimit>,
    /// Daily request budget (lasts until the fake is reset).
    #[arg(long, value_name = "N")]
    daily_limit: Option<u64>,
    /// Faults, KIND=PROBABILITY,...; kinds: 429, any 5xx code, reset-before, reset-after,
    /// timeout-after.
    #[arg(long, value_name = "SPEC")]
    faults: Option<FaultSpec>,
    /// Seed for fault selection and result order.
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed: u64,
    /// Accepted bearer tokens, comma-separated; default: any non-empty token (without an
    /// OAuth app).
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    tokens: Option<Vec<String>>,
    /// An OAuth app's client id: POST /oauth/2026-03/token (and 2026-09) then exchanges the
    /// refresh token for access tokens, which the API accepts until they expire. Needs
    /// --oauth-client-secret and --refresh-token.
    #[arg(long, value_name = "ID", requires_all = ["oauth_client_secret", "refresh_token"])]
    oauth_client_id: Option<String>,
    /// The OAuth app's client secret.
    #[arg(long, value_name = "SECRET", requires = "oauth_client_id")]
    oauth_client_secret: Option<String>,
    /// The OAuth app's refresh token.
    #[arg(long, value_name = "TOKEN", requires = "oauth_client_id")]
    refresh_token: Option<String>,
    /// Seconds the OAuth app's access tokens last.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 1800,
        requires = "oauth_client_id"
    )]
    access_token_ttl: u64,
    /// Hand out a new refresh token with every access token and retire the old one.
    #[arg(long, requires = "oauth_client_id")]
    rotate_refresh_token: bool,
    /// Milliseconds between a v1 batch's 202 and its application.
    #[arg(long, value_name = "N", default_value_t = 0)]
    v1_apply_delay_ms: u64,
    /// Do not send Retry-After on rate-limit 429s.
    #[arg(long)]
    no_retry_after: bool,
    /// A property creates must carry from API version 2026-09 on (an admin-required
    /// property); repeat the flag for several.
    #[arg(long = "required-property", value_name = "NAME")]
    required_properties: Vec<String>,
    /// The contact property catalogue, in the JSON shape of HubSpot's properties list
    /// ({"results": [...]}, as GET /crm/v3/properties/contacts returns it), instead of the
    /// built-in one: the fake then serves it and checks values by its types.
    #[arg(long, value_name = "FILE")]
    properties: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let mut builder = FakeHubSpot::builder()
        .addr(args.addr)
        .latency(Duration::from_millis(args.latency_ms))
        .rate_limit_spec(args.rate_limit.unwrap_or(RateLimit::Unlimited))
        .faults(args.faults.unwrap_or_default())
        .seed(args.seed)
        .v1_apply_delay(Duration::from_millis(args.v1_apply_delay_ms))
        .retry_after(!args.no_retry_after);
    if let Some(path) = args.properties {
        builder = builder.properties_file(path);
    }
    for name in args.required_properties {
        builder = builder.required_property(name);
    }
    if let (Some(id), Some(secret), Some(refresh)) = (
        args.oauth_client_id,
        args.oauth_client_secret,
        args.refresh_token,
    ) {
        builder = builder
            .oauth_app(id, secret, refresh)
            .access_token_ttl(Duration::from_secs(args.access_token_ttl))
            .rotate_refresh_token(args.rotate_refresh_token);
    }
    if let Some(budget) = args.daily_limit {
        builder = builder.daily_limit(budget);
    }
    if let Some(tokens) = args.tokens {
        let tokens: Vec<String> = tokens
            .into_iter()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect();
        if !tokens.is_empty() {
            builder = builder.tokens(tokens);
        }
    }
    let fake = match builder.start().await {
        Ok(fake) => fake,
        Err(e) => {
            eprintln!("hubspot-fake: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on {}", fake.base_url());
    let _ = out.flush();
    drop(out);
    std::future::pending::<()>().await;
    std::process::ExitCode::SUCCESS
}
