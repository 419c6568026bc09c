//! The flags that say how to read the input file (flattened into every
//! subcommand's flags).

use clap::Args;

use crate::{delimiter::Delimiter, encoding::InputEncoding};

/// The default of `--max-line-bytes`: 1 MiB.
pub const DEFAULT_MAX_LINE_BYTES: u64 = 1 << 20;

/// How to read the input file.
#[derive(Clone, Debug, Args)]
pub struct InputArgs {
    /// The CSV field delimiter: `,` `;` `|`, `tab`, or another ASCII
    /// character. Default: detected from the header line, the most frequent
    /// of `,` `;` tab and `|` outside quotes (a comma if none).
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<Delimiter>,
    /// The file's character encoding. A UTF-8 or UTF-16 byte-order mark at
    /// the start of the file decides whatever this says. A byte that is not
    /// valid in the encoding fails its row, naming the column. latin-1 is
    /// read as windows-1252, as the WHATWG Encoding Standard (and every
    /// browser) does.
    #[arg(long, value_enum, value_name = "ENCODING", default_value = "utf-8")]
    pub encoding: InputEncoding,
    /// The longest line read, in bytes (after decoding to UTF-8); a CSV
    /// record whose quoted field spans lines counts as one line. A longer
    /// line fails its row, is skipped without being held in memory, and
    /// reading goes on.
    #[arg(
        long,
        value_name = "BYTES",
        default_value_t = DEFAULT_MAX_LINE_BYTES,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub max_line_bytes: u64,
}
