//! Which character encoding an input file is read in: `--encoding`, unless a
//! byte-order mark at the start of the file says otherwise. Pure.

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};

/// The encodings `--encoding` accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum InputEncoding {
    /// UTF-8 (the default); a UTF-8 byte-order mark is skipped.
    #[default]
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
    /// Windows-1252 (Excel's "CSV" on Western-European Windows).
    #[value(name = "windows-1252", alias = "cp1252")]
    Windows1252,
    /// Latin-1 (ISO-8859-1), read as windows-1252 as the WHATWG Encoding
    /// Standard says: the two differ only in 0x80-0x9F, control codes in
    /// Latin-1 and letters such as € and Œ in windows-1252.
    #[value(name = "latin-1", alias = "latin1", alias = "iso-8859-1")]
    Latin1,
    /// UTF-16, little- or big-endian as its byte-order mark says (the file
    /// must start with one).
    #[value(name = "utf-16", alias = "utf16")]
    Utf16,
}

impl InputEncoding {
    /// The encoding to decode a file with, from the flag and the file's first
    /// bytes (at least 3 unless the file is shorter). A UTF-8 or UTF-16
    /// byte-order mark decides whatever the flag says (the WHATWG decode
    /// algorithm); UTF-16 without one is refused rather than guessed.
    pub fn resolve(self, start: &[u8]) -> Result<&'static Encoding, String> {
        if let Some((encoding, _)) = Encoding::for_bom(start) {
            return Ok(encoding);
        }
        match self {
            InputEncoding::Utf8 => Ok(UTF_8),
            InputEncoding::Windows1252 | InputEncoding::Latin1 => Ok(WINDOWS_1252),
            InputEncoding::Utf16 => Err(format!(
                "--encoding utf-16 needs a byte-order mark ({} FF FE or {} FE FF) at the start of \
                 the file, and this file has none",
                UTF_16LE.name(),
                UTF_16BE.name()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_decides_unless_a_byte_order_mark_does() {
        let cases: [(InputEncoding, &[u8], &str); 8] = [
            (InputEncoding::Utf8, b"email", "UTF-8"),
            (InputEncoding::Utf8, b"", "UTF-8"),
            (InputEncoding::Windows1252, b"email", "windows-1252"),
            (InputEncoding::Latin1, b"email", "windows-1252"),
            (InputEncoding::Utf8, b"\xff\xfee\0", "UTF-16LE"),
            (InputEncoding::Utf16, b"\xfe\xff\0e", "UTF-16BE"),
            (InputEncoding::Windows1252, b"\xef\xbb\xbfe", "UTF-8"),
            (InputEncoding::Utf16, b"\xff\xfe", "UTF-16LE"),
        ];
        for (flag, start, expected) in cases {
            assert_eq!(flag.resolve(start).unwrap().name(), expected, "{flag:?}");
        }
        let error = InputEncoding::Utf16.resolve(b"e\0m\0").unwrap_err();
        assert!(error.contains("byte-order mark"), "{error}");
    }
}
