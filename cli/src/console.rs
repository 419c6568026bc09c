//! Lines for the person at the terminal, on standard error. A closed stderr
//! (piped into `head`, say) must never stop a sync, so write errors are
//! ignored here rather than panicking as `eprintln!` does.

use std::{fmt::Display, io::Write};

/// Writes `text` and a line break to standard error, ignoring failure.
pub fn line(text: impl Display) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}
