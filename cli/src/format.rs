//! Which input format a file is in: from `--format`, else from its extension. Pure.

use std::path::Path;

/// The input formats the CLI reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Comma-separated values with a header row of property names.
    Csv,
    /// One flat JSON object per line.
    Jsonl,
}

impl Format {
    /// The format asked for, else the one the file name says (`.csv`, `.jsonl`,
    /// `.ndjson`, case-insensitive), else an error naming what was found.
    pub fn resolve(explicit: Option<Format>, path: &Path) -> Result<Format, String> {
        if let Some(format) = explicit {
            return Ok(format);
        }
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("csv") => Ok(Format::Csv),
            Some("jsonl" | "ndjson") => Ok(Format::Jsonl),
            Some(other) => Err(format!(
                "cannot tell the format of {} from its extension .{other}; use --format csv or --format jsonl",
                path.display()
            )),
            None => Err(format!(
                "cannot tell the format of {} (no extension); use --format csv or --format jsonl",
                path.display()
            )),
        }
    }

    /// The name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "CSV",
            Format::Jsonl => "JSONL",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_decides_unless_told() {
        let cases = [
            ("a.csv", Some(Format::Csv)),
            ("dir/a.CSV", Some(Format::Csv)),
            ("a.jsonl", Some(Format::Jsonl)),
            ("a.ndjson", Some(Format::Jsonl)),
            ("a.txt", None),
            ("-", None),
        ];
        for (path, expected) in cases {
            assert_eq!(
                Format::resolve(None, Path::new(path)).ok(),
                expected,
                "{path}"
            );
        }
        assert_eq!(
            Format::resolve(Some(Format::Jsonl), Path::new("a.csv")),
            Ok(Format::Jsonl)
        );
        let error = Format::resolve(None, Path::new("a.txt")).unwrap_err();
        assert!(error.contains("--format"), "{error}");
    }
}
