//! A strict CSV record parser (RFC 4180 with a chosen delimiter), and the
//! header row. Pure.
//!
//! Strict on purpose: a quote inside an unquoted field, or anything but the
//! delimiter after a closing quote, is an error for that record rather than a
//! guess, so the reader can report the row and go on with the next one.

use std::collections::HashSet;

use crate::{
    delimiter::Delimiter,
    preflight::Preflight,
    row::{Fields, RowError, is_property_name},
};

/// Why a record could not be split into fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// A quoted field is still open at the end of the text: its quote is
    /// never closed.
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

/// Where a scan is within a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: its end, or the first of `""`.
    QuoteInQuoted,
}

/// What one byte of a record is.
enum Byte {
    /// Text of the field.
    Text(u8),
    /// The end of the field.
    Delimiter,
    /// An opening or closing quote, or the first of `""`: not text.
    Quote,
    /// A quote inside an unquoted field, or text after a closing quote: an
    /// error for [`parse_record`], text for [`RecordEnd`].
    Misplaced,
}

/// One step of the RFC 4180 state machine. A misplaced byte leaves the field
/// unquoted, as Python's `csv` module reads it, so that even a record with
/// bad quoting ends where those readers end it.
fn step(state: State, byte: u8, delimiter: u8) -> (State, Byte) {
    match (state, byte) {
        (State::FieldStart, b'"') => (State::Quoted, Byte::Quote),
        (State::FieldStart | State::Unquoted | State::QuoteInQuoted, byte) if byte == delimiter => {
            (State::FieldStart, Byte::Delimiter)
        }
        (State::QuoteInQuoted, b'"') => (State::Quoted, Byte::Text(b'"')),
        (State::Unquoted, b'"') | (State::QuoteInQuoted, _) => (State::Unquoted, Byte::Misplaced),
        (State::FieldStart | State::Unquoted, other) => (State::Unquoted, Byte::Text(other)),
        (State::Quoted, b'"') => (State::QuoteInQuoted, Byte::Quote),
        (State::Quoted, other) => (State::Quoted, Byte::Text(other)),
    }
}

/// Splits one record (without its final line break; it may hold line breaks
/// inside quoted fields) into raw fields.
pub fn parse_record(record: &[u8], delimiter: Delimiter) -> Result<Vec<Vec<u8>>, RecordError> {
    let delimiter = delimiter.byte();
    let mut fields = Vec::new();
    let mut field = Vec::new();
    let mut state = State::FieldStart;
    for &byte in record {
        let (next, kind) = step(state, byte, delimiter);
        match kind {
            Byte::Text(text) => field.push(text),
            Byte::Delimiter => fields.push(std::mem::take(&mut field)),
            Byte::Quote => {}
            Byte::Misplaced => {
                return Err(RecordError::Quote {
                    column: fields.len() + 1,
                });
            }
        }
        state = next;
    }
    match state {
        State::Quoted => Err(RecordError::Unterminated),
        _ => {
            fields.push(field);
            Ok(fields)
        }
    }
}

/// Where a record ends, found as its bytes stream past without holding them:
/// at the first line break outside a quoted field. A line break inside one
/// is the field's text, however many there are. Past a quoting error the
/// scan goes on as [`step`] says, so a record with bad quoting ends where
/// Python's `csv` module ends it, and the text of a quoted field is never
/// taken for records of its own.
#[derive(Clone, Debug)]
pub struct RecordEnd {
    state: State,
    delimiter: u8,
}

impl RecordEnd {
    /// A scan from the start of a record.
    pub fn new(delimiter: Delimiter) -> Self {
        Self {
            state: State::FieldStart,
            delimiter: delimiter.byte(),
        }
    }

    /// Reads on through `bytes`, which hold no line break outside a quoted
    /// field (a line's bytes, without its break).
    pub fn scan(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.state = step(self.state, byte, self.delimiter).0;
        }
    }

    /// Whether a line break here is inside a quoted field: text of the field,
    /// so the record goes on over the next line.
    pub fn in_quotes(&self) -> bool {
        self.state == State::Quoted
    }
}

/// One column of the header row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// The header text as written (trimmed), kept for messages and for a
    /// mapping step that renames display headers to property names.
    pub text: String,
    /// The property the column's values are sent as: the text when it is a
    /// property name, the key's name when it names the key in other case
    /// (`Email`); `None` until something maps it.
    pub property: Option<String>,
}

/// The header row: what each column holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    columns: Vec<Column>,
    /// The file's encoding, for messages about bytes that are not valid in it.
    encoding: &'static str,
}

impl Header {
    /// Reads the header from its raw fields, decoded to UTF-8 from `encoding`
    /// (named in messages). Texts are trimmed. Refuses a text that is not
    /// valid in the encoding and a property name given twice. A text that is
    /// not a property name (`First Name`, or empty) is kept without a
    /// property until [`Header::map`] gives it one.
    pub fn parse(raw: Vec<Vec<u8>>, encoding: &'static str) -> Result<Header, String> {
        let mut columns = Vec::with_capacity(raw.len());
        let mut seen = HashSet::new();
        for (position, bytes) in raw.into_iter().enumerate() {
            let text = String::from_utf8(bytes)
                .map_err(|_| format!("header column {} is not valid {encoding}", position + 1))?
                .trim()
                .to_owned();
            let property = is_property_name(&text).then(|| text.clone());
            if property.is_some() && !seen.insert(text.clone()) {
                return Err(format!(
                    "header column {} repeats the column name {text:?}",
                    position + 1
                ));
            }
            columns.push(Column { text, property });
        }
        Ok(Header { columns, encoding })
    }

    /// Finds the column of the key property `key`: the column named exactly
    /// so, else the one column whose text is `key` in other case (`Email` for
    /// `email`), which then carries the key's name. Refuses a header with no
    /// such column or with several.
    pub fn find_key(&mut self, key: &str) -> Result<(), String> {
        if self
            .columns
            .iter()
            .any(|c| c.property.as_deref() == Some(key))
        {
            return Ok(());
        }
        let mut matches = self
            .columns
            .iter_mut()
            .enumerate()
            .filter(|(_, c)| c.text.eq_ignore_ascii_case(key));
        match (matches.next(), matches.next()) {
            (Some((_, column)), None) => {
                column.property = Some(key.to_owned());
                Ok(())
            }
            (Some((first, _)), Some((second, _))) => Err(format!(
                "header columns {} and {} both name the key {key:?} in different case; keep one",
                first + 1,
                second + 1
            )),
            (None, _) => Err(format!(
                "there is no {key:?} column (the key); the header has: {}",
                self.texts().collect::<Vec<_>>().join(", ")
            )),
        }
    }

    /// Maps every column to its property through `preflight` (the key
    /// column, found by [`Header::find_key`], stays the key), refusing the
    /// header with every problem listed.
    pub fn map(&mut self, preflight: &Preflight, key: Option<&str>) -> Result<(), String> {
        let key_at = key.and_then(|key| {
            self.columns
                .iter()
                .position(|c| c.property.as_deref() == Some(key))
                .map(|at| (at, key))
        });
        let texts: Vec<&str> = self.texts().collect();
        let mapped = preflight.map_header(&texts, key_at)?;
        for (column, property) in self.columns.iter_mut().zip(mapped) {
            column.property = property;
        }
        Ok(())
    }

    /// Whether some column holds the property `name`.
    pub fn has_property(&self, name: &str) -> bool {
        self.columns
            .iter()
            .any(|c| c.property.as_deref() == Some(name))
    }

    /// The header texts, in column order.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.text.as_str())
    }

    /// One data row's fields by property name. Empty cells are left out (HubSpot
    /// keeps the current value). Refuses a row with the wrong number of fields,
    /// a value that is not valid in the file's encoding, and a value under a
    /// column that has no property.
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
                            "column {} ({:?}) is not valid {}",
                            position + 1,
                            column.text,
                            self.encoding
                        )
                    });
                    continue;
                }
            };
            let Some(property) = &column.property else {
                problem.get_or_insert_with(|| {
                    format!(
                        "column {} has a value but its header {:?} is not a property name",
                        position + 1,
                        column.text
                    )
                });
                continue;
            };
            fields.push((property.clone(), value.into()));
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
        parse_record(text.as_bytes(), Delimiter::COMMA).map(|fields| {
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

    #[test]
    fn other_delimiters_split_and_commas_become_data() {
        let semicolon: Delimiter = ";".parse().unwrap();
        let fields = parse_record(b"a,b;\"c;d\";", semicolon).unwrap();
        assert_eq!(fields, vec![b"a,b".to_vec(), b"c;d".to_vec(), Vec::new()]);
        let tab: Delimiter = "tab".parse().unwrap();
        assert_eq!(parse_record(b"a\tb", tab).unwrap().len(), 2);
    }

    /// Whether a line break after each of `lines` is inside a quoted field.
    fn in_quotes(lines: &[&str]) -> Vec<bool> {
        let mut end = RecordEnd::new(Delimiter::COMMA);
        lines
            .iter()
            .map(|line| {
                end.scan(line.as_bytes());
                end.in_quotes()
            })
            .collect()
    }

    #[test]
    fn a_record_ends_at_the_first_line_break_outside_quotes() {
        let cases: [(&[&str], &[bool]); 6] = [
            (&["a,b"], &[false]),
            (&["a,\"b", "c", "d\",e"], &[true, true, false]),
            (&["\"say \"\"", "hi\"\"\""], &[true, false]),
            (&["\"\""], &[false]),
            // Misplaced quotes are text: they open nothing.
            (&["a,b\"c", "d"], &[false, false]),
            (&["\"a\"b\"c", "d"], &[false, false]),
        ];
        for (lines, expected) in cases {
            assert_eq!(in_quotes(lines), expected, "{lines:?}");
        }
        let mut tab = RecordEnd::new("tab".parse().unwrap());
        tab.scan(b"a,\"b");
        assert!(!tab.in_quotes(), "a quote opens a field only at its start");
        tab.scan(b"\t\"c");
        assert!(tab.in_quotes());
    }

    fn header(names: &[&str]) -> Header {
        Header::parse(
            names.iter().map(|n| n.as_bytes().to_vec()).collect(),
            "UTF-8",
        )
        .unwrap()
    }

    fn raw(values: &[&[u8]]) -> Vec<Vec<u8>> {
        values.iter().map(|v| v.to_vec()).collect()
    }

    #[test]
    fn header_names_are_trimmed_checked_and_unique() {
        let parsed = header(&["email", " firstname ", ""]);
        let properties: Vec<_> = parsed
            .columns
            .iter()
            .map(|c| c.property.as_deref())
            .collect();
        assert_eq!(properties, vec![Some("email"), Some("firstname"), None]);
        let twice = Header::parse(raw(&[b"email", b"email"]), "UTF-8").unwrap_err();
        assert!(twice.contains("repeats"), "{twice}");
        let bad = Header::parse(raw(&[b"\xff"]), "UTF-16LE").unwrap_err();
        assert_eq!(bad, "header column 1 is not valid UTF-16LE");
    }

    #[test]
    fn display_headers_keep_their_text_until_mapped() {
        let mut parsed = header(&["Email", "First Name"]);
        assert_eq!(parsed.columns[1].property, None);
        parsed.find_key("email").unwrap();
        let error = parsed
            .map(&Preflight::default(), Some("email"))
            .unwrap_err();
        assert!(error.contains("\"First Name\""), "{error}");
        let map = Preflight::new(None, vec![("First Name".into(), "firstname".into())], None);
        parsed.map(&map, Some("email")).unwrap();
        assert!(parsed.has_property("email") && parsed.has_property("firstname"));
        assert_eq!(parsed.columns[1].text, "First Name");
    }

    #[test]
    fn the_key_column_matches_in_any_case() {
        let mut capitalised = header(&["Email", "firstname"]);
        capitalised.find_key("email").unwrap();
        let fields = capitalised.fields(raw(&[b"a@b.co", b"Ada"])).unwrap();
        assert_eq!(fields[0].0, "email");
        assert_eq!(capitalised.columns[0].text, "Email", "the text is kept");

        let mut exact = header(&["EMAIL", "email"]);
        exact.find_key("email").unwrap();
        assert_eq!(exact.columns[0].property.as_deref(), Some("EMAIL"));

        let mut both = header(&["EMAIL", "Email"]);
        assert!(
            both.find_key("email")
                .unwrap_err()
                .contains("columns 1 and 2")
        );
        let mut none = header(&["firstname"]);
        let missing = none.find_key("email").unwrap_err();
        assert!(missing.contains("no \"email\" column"), "{missing}");
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
        assert_eq!(utf8.message, "column 2 (\"firstname\") is not valid UTF-8");
        assert_eq!(utf8.fields.len(), 1, "the key is still known");
        let unnamed = parsed.fields(raw(&[b"a@b.co", b"", b"x"])).unwrap_err();
        assert!(unnamed.message.contains("not a property name"));
    }
}
