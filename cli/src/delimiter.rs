//! The CSV delimiter: given with `--delimiter`, else detected from the header
//! line among `,` `;` tab and `|`. Pure.

use std::{fmt, str::FromStr};

/// The delimiters detection chooses from, in the order that breaks ties.
const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];

/// The byte that separates the fields of a CSV record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delimiter(u8);

impl Delimiter {
    /// The comma of RFC 4180.
    pub const COMMA: Delimiter = Delimiter(b',');

    /// The byte itself.
    pub fn byte(self) -> u8 {
        self.0
    }

    /// The candidate that occurs most often outside quotes in the header line
    /// (ties go to `,` then `;`, tab, `|`); a comma when none occurs, as in a
    /// one-column file.
    pub fn detect(header_line: &[u8]) -> Delimiter {
        let mut counts = [0usize; CANDIDATES.len()];
        let mut quoted = false;
        for &byte in header_line {
            if byte == b'"' {
                quoted = !quoted;
            } else if !quoted && let Some(at) = CANDIDATES.iter().position(|&c| c == byte) {
                counts[at] += 1;
            }
        }
        // `max_by_key` keeps the last of equal counts: scan in reverse so the
        // earliest candidate wins a tie.
        let (best, count) = counts
            .iter()
            .enumerate()
            .rev()
            .max_by_key(|&(_, count)| *count)
            .map_or((0, 0), |(at, count)| (at, *count));
        if count == 0 {
            Delimiter::COMMA
        } else {
            Delimiter(CANDIDATES[best])
        }
    }

    /// A hint for a header that did not split as the user expected: when a
    /// column's text holds another candidate delimiter, that one probably
    /// separates the columns.
    pub fn hint<'a>(self, columns: impl IntoIterator<Item = &'a str>) -> Option<String> {
        columns.into_iter().find_map(|text| {
            CANDIDATES
                .iter()
                .map(|&c| Delimiter(c))
                .filter(|&other| other != self)
                .find(|other| text.as_bytes().contains(&other.0))
                .map(|other| {
                    format!(
                        "the header was split at {self} but holds {other}; if {other} separates \
                         the columns, use --delimiter {}",
                        other.flag_value()
                    )
                })
        })
    }

    /// How to write this delimiter as a `--delimiter` value.
    fn flag_value(self) -> String {
        match self.0 {
            b'\t' => "tab".to_owned(),
            other => format!("'{}'", char::from(other)),
        }
    }
}

impl fmt::Display for Delimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            b'\t' => f.write_str("tab"),
            other => write!(f, "{:?}", char::from(other)),
        }
    }
}

impl FromStr for Delimiter {
    type Err = String;

    /// `tab` or `\t` for a tab, else one ASCII character other than a quote
    /// or a line break.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "tab" | "\\t" | "\t" => return Ok(Delimiter(b'\t')),
            _ => {}
        }
        match text.as_bytes() {
            [byte] if byte.is_ascii() && !matches!(byte, b'"' | b'\r' | b'\n') => {
                Ok(Delimiter(*byte))
            }
            _ => Err(format!(
                "{text:?} is not a delimiter: give one ASCII character such as , ; or |, or tab"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_frequent_candidate_outside_quotes_wins() {
        let cases: [(&[u8], u8); 9] = [
            (b"email,firstname,lastname", b','),
            (b"email;firstname;lastname", b';'),
            (b"email\tfirstname", b'\t'),
            (b"email|firstname", b'|'),
            (b"email", b','),
            (b"", b','),
            (b"\"a;b;c\",d,e", b','),
            (b"a;b,c", b','),
            (b"\"Name, full\";email;\"x,y\"", b';'),
        ];
        for (line, expected) in cases {
            assert_eq!(
                Delimiter::detect(line).byte(),
                expected,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn flag_values_parse() {
        for (text, byte) in [
            (",", b','),
            (";", b';'),
            ("|", b'|'),
            ("tab", b'\t'),
            ("\\t", b'\t'),
        ] {
            assert_eq!(text.parse::<Delimiter>(), Ok(Delimiter(byte)), "{text}");
        }
        for bad in ["", "\"", ";;", "é", "\n"] {
            assert!(bad.parse::<Delimiter>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_header_holding_another_delimiter_gets_a_hint() {
        let hint = Delimiter::COMMA.hint(["email;firstname"]).unwrap();
        assert!(hint.contains("--delimiter ';'"), "{hint}");
        let tab = Delimiter::COMMA.hint(["email\tname"]).unwrap();
        assert!(tab.ends_with("--delimiter tab"), "{tab}");
        assert_eq!(Delimiter::COMMA.hint(["email", "firstname"]), None);
    }
}
