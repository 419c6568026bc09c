//! `-v` and `RUST_LOG`: the SDK's and the CLI's tracing on stderr. Tokens and
//! secrets never reach it: the SDK logs no header, and its credential types
//! redact themselves in `Debug`.

use std::str::FromStr;

use tracing_subscriber::{filter::Targets, layer::SubscriberExt, util::SubscriberInitExt};

/// Installs the subscriber: `RUST_LOG` (`target=level,...` or a level) if set
/// and valid, else the level `-v` asks for; nothing without either.
pub fn install(verbose: u8) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|value| !value.trim().is_empty())
        .and_then(|value| Targets::from_str(&value).ok())
        .or_else(|| from_verbosity(verbose));
    let Some(filter) = filter else {
        return;
    };
    let output = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(true);
    // A subscriber already set (never, in the binary) leaves that one in place.
    let _ = tracing_subscriber::registry()
        .with(output)
        .with(filter)
        .try_init();
}

/// The filter `-v` (SDK decisions), `-vv` (every request) or `-vvv`
/// (everything, HTTP internals included) stands for.
fn from_verbosity(verbose: u8) -> Option<Targets> {
    let ours = |level| {
        Targets::new()
            .with_target("hubspot_contacts_batch", level)
            .with_target("hubspot_contacts", level)
    };
    match verbose {
        0 => None,
        1 => Some(ours(tracing::Level::INFO)),
        2 => Some(ours(tracing::Level::DEBUG)),
        _ => Some(Targets::new().with_default(tracing::Level::TRACE)),
    }
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::*;

    #[test]
    fn each_v_shows_more() {
        assert!(from_verbosity(0).is_none());
        let one = from_verbosity(1).unwrap();
        assert!(one.would_enable("hubspot_contacts_batch::exchange", &Level::INFO));
        assert!(!one.would_enable("hubspot_contacts_batch::exchange", &Level::DEBUG));
        assert!(!one.would_enable("hyper_util", &Level::INFO));
        let two = from_verbosity(2).unwrap();
        assert!(two.would_enable("hubspot_contacts_batch::exchange", &Level::DEBUG));
        let three = from_verbosity(3).unwrap();
        assert!(three.would_enable("hyper_util", &Level::TRACE));
    }
}
