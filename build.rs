//! Generates the HubSpot client from `openapi/contacts-batch.json` with progenitor.
//!
//! The generated code is written to `$OUT_DIR/generated.rs` and included by
//! `src/generated.rs`. Editing the document and running `cargo build` is all it
//! takes to regenerate the client.

use std::{env, fs, path::PathBuf};

use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle};

const DOCUMENT: &str = "openapi/contacts-batch.json";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed={DOCUMENT}");

    let text = fs::read_to_string(DOCUMENT)
        .map_err(|error| format!("cannot read the OpenAPI document {DOCUMENT}: {error}"))?;
    let document = serde_json::from_str(&text)
        .map_err(|error| format!("{DOCUMENT} is not a valid OpenAPI 3.0 document: {error}"))?;

    let mut settings = GenerationSettings::default();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged)
        .with_derive("schemars::JsonSchema")
        .with_derive("PartialEq")
        .with_map_type("::std::collections::BTreeMap")
        // Every request goes through the hand-written transport in
        // `src/client.rs`: auth, rate limiting, retries.
        .with_inner_type("crate::client::ClientState".parse()?)
        .with_hooks(HooksMode::Expected);

    let tokens = Generator::new(&settings)
        .generate_tokens(&document)
        .map_err(|error| {
            format!("progenitor could not generate a client from {DOCUMENT}: {error}")
        })?;
    let file = syn::parse2(tokens)?;
    let code = prettyplease::unparse(&file);

    let out = PathBuf::from(env::var("OUT_DIR")?).join("generated.rs");
    fs::write(&out, code)?;
    Ok(())
}
