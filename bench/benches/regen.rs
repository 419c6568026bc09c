//! P4, regeneration: in a temporary copy of the workspace (the git-tracked files)
//! with its own target directory under the temp dir, so neither the repository nor
//! the shared `target/` is touched:
//! - clean: `cargo build -p hubspot-contacts-batch` from an empty target directory
//!   (every dependency included);
//! - incremental: then an optional property is added to the `Contact` schema of the
//!   copy's `openapi/contacts-batch.json` and the same `cargo build` runs again, so
//!   `build.rs` regenerates the client and the crate is rebuilt.
//!
//! Run: `cargo bench -p hubspot-contacts-bench --bench regen` (no binaries needed).
//! Environment: `BENCH_RUNS` (3). Each run is a clean build then an incremental one.

use std::{
    path::Path,
    process::{Command, Stdio},
    time::Instant,
};

use hubspot_contacts_bench::{
    figures::Spread,
    openapi,
    process::{self, TempDir},
};

const DOCUMENT: &str = "openapi/contacts-batch.json";
const SCHEMA: &str = "Contact";

fn main() {
    let runs = process::runs();
    let root = process::workspace_root();
    let dir = TempDir::new("regen");
    let copy = dir.path().join("workspace");
    let target = dir.path().join("target");
    copy_tracked_files(&root, &copy);
    let quiet = process::wait_for_quiet();
    println!("P4 regeneration: cargo build -p hubspot-contacts-batch (dev profile) in a copy");
    println!("machine before measuring: {quiet}");
    let (mut clean, mut incremental) = (Vec::new(), Vec::new());
    for run in 1..=runs {
        let _ = std::fs::remove_dir_all(&target);
        let clean_secs = build(&copy, &target);
        let document = copy.join(DOCUMENT);
        let text = std::fs::read_to_string(&document).expect("the OpenAPI document");
        let mut doc: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        openapi::add_optional_property(&mut doc, SCHEMA, &format!("benchProbe{run}"))
            .expect("the edit");
        let edited = serde_json::to_string_pretty(&doc).expect("JSON");
        std::fs::write(&document, edited).expect("writing the copy's document");
        let incremental_secs = build(&copy, &target);
        // Put the copy back as it was for the next run.
        std::fs::write(&document, text).expect("restoring the copy's document");
        println!("  run {run}: clean {clean_secs:.1} s, after the edit {incremental_secs:.1} s");
        clean.push(clean_secs);
        incremental.push(incremental_secs);
    }
    let show = |values: &[f64]| Spread::of(values).map_or("-".into(), |s| s.show(1));
    println!();
    println!("| build | seconds |");
    println!("|---|---|");
    println!("| clean | {} |", show(&clean));
    println!(
        "| incremental after an OpenAPI edit | {} |",
        show(&incremental)
    );
}

/// Copies the files git tracks under `root` into `to`.
fn copy_tracked_files(root: &Path, to: &Path) {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["ls-files", "-z"])
        .output()
        .expect("git ls-files");
    assert!(output.status.success(), "git ls-files failed");
    for name in output.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let name = String::from_utf8_lossy(name);
        let (from, dest) = (root.join(name.as_ref()), to.join(name.as_ref()));
        if !from.is_file() {
            continue;
        }
        std::fs::create_dir_all(dest.parent().expect("a parent")).expect("a directory");
        std::fs::copy(&from, &dest).expect("copying a tracked file");
    }
}

/// Times `cargo build -p hubspot-contacts-batch` in `workspace`, seconds.
fn build(workspace: &Path, target: &Path) -> f64 {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let started = Instant::now();
    let status = Command::new(cargo)
        .current_dir(workspace)
        .args([
            "build",
            "--offline",
            "--locked",
            "-p",
            "hubspot-contacts-batch",
        ])
        .env("CARGO_TARGET_DIR", target)
        // A jobserver from the outer cargo would limit the inner build's parallelism.
        .env_remove("CARGO_MAKEFLAGS")
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("cargo runs");
    let secs = started.elapsed().as_secs_f64();
    assert!(
        status.success(),
        "cargo build failed in {}",
        workspace.display()
    );
    secs
}
