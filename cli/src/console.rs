//! Lines for the person at the terminal, on standard error. A closed stderr
//! (piped into `head`, say) must never stop a sync, so write errors are
//! ignored here rather than panicking as `eprintln!` does. What is printed is
//! made readable: control characters (a UTF-16 file read as UTF-8 is full of
//! NULs) are shown as `�`, each line is cut at [`MAX_LINE_CHARS`] characters
//! and a message at [`MAX_LINES`] lines.

use std::{fmt::Display, io::Write};

/// The longest line printed.
pub const MAX_LINE_CHARS: usize = 1000;
/// The most lines one message prints.
pub const MAX_LINES: usize = 50;

/// Writes `text` and a line break to standard error, ignoring failure.
pub fn line(text: impl Display) {
    let _ = writeln!(std::io::stderr().lock(), "{}", readable(&text.to_string()));
}

/// `text` as [`line()`] prints it. Pure.
fn readable(text: &str) -> String {
    let total = text.lines().count();
    let mut out = String::with_capacity(text.len().min(MAX_LINES * MAX_LINE_CHARS));
    for (number, line) in text.lines().enumerate() {
        if number == MAX_LINES {
            out.push_str(&format!("\n... and {} more lines", total - MAX_LINES));
            break;
        }
        if number > 0 {
            out.push('\n');
        }
        let mut chars = line.chars();
        out.extend(chars.by_ref().take(MAX_LINE_CHARS).map(|c| {
            if c.is_control() && c != '\t' {
                '\u{FFFD}'
            } else {
                c
            }
        }));
        let cut = chars.count();
        if cut > 0 {
            out.push_str(&format!(" ... ({cut} more characters cut)"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_long_lines_and_many_lines_are_made_readable() {
        assert_eq!(readable("e\0m\u{1b}[2Kx\ty"), "e\u{FFFD}m\u{FFFD}[2Kx\ty");
        let long = readable(&"a".repeat(MAX_LINE_CHARS + 5));
        assert!(long.ends_with(" ... (5 more characters cut)"), "{long}");
        let many: String = (0..MAX_LINES + 7).map(|n| format!("{n}\n")).collect();
        let shown = readable(&many);
        assert_eq!(shown.lines().count(), MAX_LINES + 1);
        assert!(shown.ends_with("... and 7 more lines"), "{shown}");
        assert_eq!(readable("two\nlines"), "two\nlines");
    }
}
