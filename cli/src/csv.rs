//! A strict CSV record parser (RFC 4180 with `,`), and the header row. Pure.
//!
//! Strict on purpose: a quote inside an unquoted field, or anything but `,`
//! after a closing quote, is an error for that record rather than a guess, so
//! the reader can report the row and go on with the next one.

use std::collections::HashSet;

use crate::row::{Fields, RowError, is_property_name};

/// Why a record could not be split into fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// A quoted field is still open at the end of the text: the record goes
    /// on on the next line, or the quote is never closed.
    Unterminated,
    /// A quote in the wrong place, in the field numbered `column` (1-based).
    Quote {
        /// The 1-based field number.
        column: usize,
    },
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::Unterminated => f.write_str("bad quoting: a quoted field is never closed"),
            RecordError::Quote { column } => write!(
                f,
                "bad quoting in field {column}: a quote inside an unquoted field, or text after a closing quote"
            ),
        }
    }
}

/// Splits one record (without its final line break; it may hold line breaks
/// inside quoted fields) into raw fields.
pub fn parse_record(record: &[u8]) -> Result<Vec<Vec<u8>>, RecordError> {
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut fields = Vec::new();
    let mut field = Vec::new();
    let mut state = State::FieldStart;
    for &byte in record {
        state = match (state, byte) {
            (State::FieldStart, b'"') => State::Quoted,
            (State::FieldStart | State::Unquoted | State::QuoteInQuoted, b',') => {
                fields.push(std::mem::take(&mut field));
                State::FieldStart
            }
            (State::QuoteInQuoted, b'"') => {
                field.push(b'"');
                State::Quoted
            }
            (State::Unquoted, b'"') | (State::QuoteInQuoted, _) => {
                return Err(RecordError::Quote {
                    column: fields.len() + 1,
                });
            }
            (State::FieldStart | State::Unquoted, other) => {
                field.push(other);
                State::Unquoted
            }
            (State::Quoted, b'"') => State::QuoteInQuoted,
            (State::Quoted, other) => {
                field.push(other);
                State::Quoted
            }
        };
    }
    match state {
        State::Quoted => Err(RecordError::Unterminated),
        _ => {
            fields.push(field);
            Ok(fields)
        }
    }
}

/// One column of the header row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// The name as written (trimmed).
    pub name: String,
    /// Whether the name is a usable property name.
    pub valid: bool,
}

/// The header row: one property name per column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    columns: Vec<Column>,
}

impl Header {
    /// Reads the header from its raw fields. Names are trimmed, and a UTF-8
    /// byte-order mark before the first is dropped. Refuses a name that is not
    /// UTF-8 and a name given twice. A name that is not a property name (empty,
    /// say) is kept: a row with a value in that column is a bad row.
    pub fn parse(raw: Vec<Vec<u8>>) -> Result<Header, String> {
        let mut columns = Vec::with_capacity(raw.len());
        let mut seen = HashSet::new();
        for (position, bytes) in raw.into_iter().enumerate() {
            let bytes = if position == 0 {
                bytes
                    .strip_prefix(b"\xEF\xBB\xBF".as_slice())
                    .map(<[u8]>::to_vec)
                    .unwrap_or(bytes)
            } else {
                bytes
            };
            let name = String::from_utf8(bytes)
                .map_err(|_| format!("header column {} is not valid UTF-8", position + 1))?
                .trim()
                .to_owned();
            let valid = is_property_name(&name);
            if valid && !seen.insert(name.clone()) {
                return Err(format!(
                    "header column {} repeats the column name {name:?}",
                    position + 1
                ));
            }
            columns.push(Column { name, valid });
        }
        Ok(Header { columns })
    }

    /// Whether a column has this name.
    pub fn has(&self, name: &str) -> bool {
        self.columns.iter().any(|c| c.valid && c.name == name)
    }

    /// The columns, in order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// One data row's fields by property name. Empty cells are left out (HubSpot
    /// keeps the current value). Refuses a row with the wrong number of fields,
    /// a value that is not UTF-8, and a value under a column whose name is not a
    /// property name.
    pub fn fields(&self, raw: Vec<Vec<u8>>) -> Result<Fields, RowError> {
        if raw.len() != self.columns.len() {
            return Err(RowError::new(format!(
                "the row has {} fields but the header has {}",
                raw.len(),
                self.columns.len()
            )));
        }
        let mut fields = Vec::with_capacity(raw.len());
        let mut problem = None;
        for (position, (column, bytes)) in self.columns.iter().zip(raw).enumerate() {
            if bytes.is_empty() {
                continue;
            }
            let value = match String::from_utf8(bytes) {
                Ok(value) => value,
                Err(_) => {
                    problem.get_or_insert_with(|| {
                        format!(
                            "column {} ({:?}) is not valid UTF-8",
                            position + 1,
                            column.name
                        )
                    });
                    continue;
                }
            };
            if !column.valid {
                problem.get_or_insert_with(|| {
                    format!(
                        "column {} has a value but its header {:?} is not a property name",
                        position + 1,
                        column.name
                    )
                });
                continue;
            }
            fields.push((column.name.clone(), value.into()));
        }
        match problem {
            // Keep the fields so the error can still name the row's key.
            Some(message) => Err(RowError::new(message).with_fields(fields)),
            None => Ok(fields),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Result<Vec<String>, RecordError> {
        parse_record(text.as_bytes()).map(|fields| {
            fields
                .into_iter()
                .map(|f| String::from_utf8(f).unwrap())
                .collect()
        })
    }

    #[test]
    fn records_split_into_fields() {
        let cases: [(&str, &[&str]); 8] = [
            ("a,b,c", &["a", "b", "c"]),
            ("", &[""]),
            ("a,,c,", &["a", "", "c", ""]),
            (r#""a,b",c"#, &["a,b", "c"]),
            (r#""say ""hi""",x"#, &[r#"say "hi""#, "x"]),
            ("\"two\nlines\",x", &["two\nlines", "x"]),
            (r#""""#, &[""]),
            ("  spaced , kept ", &["  spaced ", " kept "]),
        ];
        for (text, expected) in cases {
            assert_eq!(split(text).unwrap(), expected, "{text:?}");
        }
    }

    #[test]
    fn bad_quoting_is_an_error_with_the_field() {
        assert_eq!(split(r#""open,b"#), Err(RecordError::Unterminated));
        assert_eq!(split(r#"a,b"c"#), Err(RecordError::Quote { column: 2 }));
        assert_eq!(split(r#"a,"b"c,d"#), Err(RecordError::Quote { column: 2 }));
        assert_eq!(split(r#""a" ,b"#), Err(RecordError::Quote { column: 1 }));
    }

    fn header(names: &[&str]) -> Header {
        Header::parse(names.iter().map(|n| n.as_bytes().to_vec()).collect()).unwrap()
    }

    fn raw(values: &[&[u8]]) -> Vec<Vec<u8>> {
        values.iter().map(|v| v.to_vec()).collect()
    }

    #[test]
    fn header_names_are_trimmed_checked_and_unique() {
        let parsed = header(&["\u{feff}email", " firstname ", ""]);
        assert!(parsed.has("email") && parsed.has("firstname"));
        assert!(!parsed.columns()[2].valid);
        let twice = Header::parse(raw(&[b"email", b"email"])).unwrap_err();
        assert!(twice.contains("repeats"), "{twice}");
        assert!(Header::parse(raw(&[b"\xff"])).is_err());
    }

    #[test]
    fn rows_map_to_fields_and_bad_cells_to_errors() {
        let parsed = header(&["email", "firstname", ""]);
        let fields = parsed.fields(raw(&[b"a@b.co", b"", b""])).unwrap();
        assert_eq!(fields.len(), 1, "empty cells are left out");
        assert_eq!(fields[0].0, "email");

        let short = parsed.fields(raw(&[b"a@b.co"])).unwrap_err();
        assert_eq!(short.message, "the row has 1 fields but the header has 3");
        let utf8 = parsed.fields(raw(&[b"a@b.co", b"\xffx", b""])).unwrap_err();
        assert!(utf8.message.contains("column 2"), "{}", utf8.message);
        assert!(utf8.message.contains("UTF-8"), "{}", utf8.message);
        assert_eq!(utf8.fields.len(), 1, "the key is still known");
        let unnamed = parsed.fields(raw(&[b"a@b.co", b"", b"x"])).unwrap_err();
        assert!(unnamed.message.contains("not a property name"));
    }
}
