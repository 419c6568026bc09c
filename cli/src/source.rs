//! Reading the input file: a blocking reader thread that decodes the file,
//! splits it into lines and turns them into [`Row`]s, fed through a bounded
//! channel, so a file of any size is never held in memory.
//!
//! ```text
//! bytes -> Decoded (--encoding, BOM) -> LineReader (LF, CRLF, CR; --max-line-bytes)
//!   -> Lines (numbered; CSV records spanning lines) -> Header::fields / jsonl::parse_line -> Row
//! ```

use std::{
    fmt,
    fs::File,
    io::{self, BufRead, BufReader, Read},
    path::Path,
    sync::Arc,
};

use tokio::sync::mpsc;

use crate::{
    csv::{Header, RecordEnd, RecordError, parse_record},
    decode::Decoded,
    delimiter::Delimiter,
    format::Format,
    input_args::InputArgs,
    jsonl,
    lines::{Line, LineReader},
    preflight::{KeyNames, Preflight},
    row::{self, Fields, Row, RowError},
};

/// Rows read ahead of the SDK at most.
const CHANNEL_CAPACITY: usize = 256;
/// Bytes read from the file at a time.
const READ_BUFFER: usize = 64 * 1024;
/// The property whose value is trimmed in every command, key or not.
const EMAIL: &str = "email";

/// What the reader thread sends.
#[derive(Debug)]
pub enum Item {
    /// The next data row.
    Row(Row),
    /// Reading stopped: the file could not be read further.
    Failed(String),
}

/// A file being read.
#[derive(Debug)]
pub struct Source {
    /// The rows, in file order.
    pub rows: mpsc::Receiver<Item>,
}

/// Opens `path` (`-` for standard input) as `input` says, reads the CSV
/// header (refusing a file without one, without `key_column`, or with a
/// column that is not a property name), and starts the reader thread.
pub fn open(
    path: &Path,
    format: Format,
    key_column: Option<&str>,
    input: &InputArgs,
    preflight: Arc<Preflight>,
) -> Result<Source, String> {
    let name = path.display().to_string();
    let mut reader: Box<dyn Read + Send> = if path == Path::new("-") {
        Box::new(io::stdin())
    } else {
        Box::new(File::open(path).map_err(|error| format!("cannot open {name}: {error}"))?)
    };
    // The first bytes, for a byte-order mark, then read again from the start.
    let mut start = Vec::with_capacity(3);
    (&mut reader)
        .take(3)
        .read_to_end(&mut start)
        .map_err(|error| format!("cannot read {name}: {error}"))?;
    let encoding = input
        .encoding
        .resolve(&start)
        .map_err(|error| format!("{name}: {error}"))?;
    let raw = BufReader::with_capacity(READ_BUFFER, io::Cursor::new(start).chain(reader));
    let decoded = Decoded::new(raw, encoding);
    let encoding = decoded.encoding_name();
    let max_bytes = usize::try_from(input.max_line_bytes).unwrap_or(usize::MAX);
    let mut lines = Lines {
        reader: LineReader::new(decoded, max_bytes),
        max_bytes,
        last_line: 0,
    };
    // Trimmed of surrounding whitespace: the key, and any email.
    let trim: Vec<String> = key_column
        .into_iter()
        .chain([EMAIL])
        .map(str::to_owned)
        .collect();
    let mut shape = Shape {
        trim,
        preflight: Arc::clone(&preflight),
        names: KeyNames::default(),
    };
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    match format {
        Format::Csv => {
            let (header, delimiter) = csv_header(
                &mut lines,
                input.delimiter,
                encoding,
                key_column,
                &preflight,
            )
            .map_err(|error| format!("{name}: {error}"))?;
            spawn(move || read_csv(lines, &header, delimiter, &mut shape, &tx))?;
        }
        Format::Jsonl if input.delimiter.is_some() => {
            return Err(format!(
                "{name} is JSONL: --delimiter applies to CSV files only"
            ));
        }
        Format::Jsonl => spawn(move || read_jsonl(lines, encoding, &mut shape, &tx))?,
    }
    Ok(Source { rows: rx })
}

fn spawn(work: impl FnOnce() + Send + 'static) -> Result<(), String> {
    std::thread::Builder::new()
        .name("input reader".into())
        .spawn(work)
        .map(drop)
        .map_err(|error| format!("cannot start the reader thread: {error}"))
}

/// A record's fields, not yet decoded.
type RawRecord = Vec<Vec<u8>>;

/// The physical lines a record spans, first and last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    first: u64,
    last: u64,
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lines {}-{}", self.first, self.last)
    }
}

/// Why a CSV record could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
enum BadRecord {
    /// Its quoting is broken; [`RecordError::Unterminated`] when a quoted
    /// field is still open at the end of the file.
    Quoting {
        /// What is wrong.
        error: RecordError,
        /// The lines it spans: to the end of the file when never closed.
        span: Span,
    },
    /// It is over `--max-line-bytes`.
    TooLong {
        /// The record's length, its line breaks counted as one byte each.
        bytes: u64,
        /// The limit.
        max: usize,
        /// The lines it spans.
        span: Span,
    },
}

impl fmt::Display for BadRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadRecord::Quoting { error, span } if span.first == span.last => error.fmt(f),
            BadRecord::Quoting {
                error: RecordError::Unterminated,
                span,
            } => write!(
                f,
                "{}, so the rest of the file ({span}) is inside it; none of it was read as a row",
                RecordError::Unterminated
            ),
            BadRecord::Quoting { error, span } => write!(
                f,
                "{error} (the record spans {span}: a quoted field holds line breaks)"
            ),
            BadRecord::TooLong { bytes, max, span } if span.first == span.last => {
                too_long(*bytes, *max).fmt(f)
            }
            BadRecord::TooLong { bytes, max, span } => write!(
                f,
                "the record ({span}: a quoted field holds line breaks) has {bytes} bytes, which \
                 exceeds --max-line-bytes {max}; it was skipped (raise --max-line-bytes to read it)"
            ),
        }
    }
}

/// The message for a line over the limit.
fn too_long(bytes: u64, max: usize) -> String {
    format!(
        "the line has {bytes} bytes, which exceeds --max-line-bytes {max}; it was skipped \
         (raise --max-line-bytes to read it)"
    )
}

/// Physical lines, numbered from 1, without their line break, and the CSV
/// records they hold.
struct Lines<R> {
    reader: LineReader<R>,
    max_bytes: usize,
    /// The number of the last line read.
    last_line: u64,
}

impl<R: BufRead> Lines<R> {
    /// The next line, each of its pieces shown to `seen`; an error names
    /// the line.
    fn next_seen(&mut self, seen: impl FnMut(&[u8])) -> io::Result<Option<(u64, Line)>> {
        let line = self.reader.next_line(seen).map_err(|error| {
            let number = self.last_line + 1;
            io::Error::new(error.kind(), format!("line {number}: {error}"))
        })?;
        let Some(line) = line else {
            return Ok(None);
        };
        self.last_line += 1;
        Ok(Some((self.last_line, line)))
    }

    /// The next line that is not blank.
    fn next_non_blank(&mut self) -> io::Result<Option<(u64, Line)>> {
        while let Some((number, line)) = self.next_seen(|_| {})? {
            if !line.is_blank() {
                return Ok(Some((number, line)));
            }
        }
        Ok(None)
    }

    /// The next CSV record: its first line and its fields, or why it is bad.
    fn next_record(
        &mut self,
        delimiter: Delimiter,
    ) -> io::Result<Option<(u64, Result<RawRecord, BadRecord>)>> {
        loop {
            let mut end = RecordEnd::new(delimiter);
            let Some((first, line)) = self.next_seen(|piece| end.scan(piece))? else {
                return Ok(None);
            };
            if !line.is_blank() {
                let record = self.rest_of_record(first, line, end, delimiter)?;
                return Ok(Some((first, record)));
            }
        }
    }

    /// The record whose first line, numbered `first`, is `line`, `end`
    /// having scanned it: the lines after it while a quoted field holds
    /// line breaks, read in full however many (never into rows of their
    /// own) and kept while the record is within `--max-line-bytes`. A quoted
    /// field still open at the end of the file makes the rest of the file
    /// this one bad record.
    fn rest_of_record(
        &mut self,
        first: u64,
        line: Line,
        mut end: RecordEnd,
        delimiter: Delimiter,
    ) -> io::Result<Result<RawRecord, BadRecord>> {
        let mut bytes = line.len();
        let mut kept = match line {
            Line::Text(text) => Some(text),
            Line::TooLong { .. } => None,
        };
        let mut span = Span { first, last: first };
        while end.in_quotes() {
            let Some((number, line)) = self.next_seen(|piece| end.scan(piece))? else {
                let error = RecordError::Unterminated;
                return Ok(Err(BadRecord::Quoting { error, span }));
            };
            span.last = number;
            bytes += 1 + line.len();
            kept = match (kept, line) {
                (Some(mut record), Line::Text(text)) if bytes <= self.max_bytes as u64 => {
                    record.push(b'\n');
                    record.extend_from_slice(&text);
                    Some(record)
                }
                _ => None,
            };
        }
        let Some(record) = kept else {
            let max = self.max_bytes;
            return Ok(Err(BadRecord::TooLong { bytes, max, span }));
        };
        Ok(parse_record(&record, delimiter).map_err(|error| BadRecord::Quoting { error, span }))
    }
}

/// Reads the header row, with its delimiter (`--delimiter`, else detected
/// from the header's first line), and checks it: `key_column` is there, and
/// every named column is a property name. Errors name the column and, when
/// another delimiter seems to separate the columns, say so.
fn csv_header<R: BufRead>(
    lines: &mut Lines<R>,
    delimiter: Option<Delimiter>,
    encoding: &'static str,
    key_column: Option<&str>,
    preflight: &Preflight,
) -> Result<(Header, Delimiter), String> {
    let first = lines
        .next_non_blank()
        .map_err(|error| format!("cannot read the header row: {error}"))?;
    let Some((number, line)) = first else {
        return Err("the file is empty: there is no header row".into());
    };
    // Without its bytes, a header line over the limit cannot be read on.
    let text = match &line {
        Line::Text(text) => text,
        Line::TooLong { bytes } => {
            let message = too_long(*bytes, lines.max_bytes);
            return Err(format!("the header row (line {number}): {message}"));
        }
    };
    let delimiter = delimiter.unwrap_or_else(|| Delimiter::detect(text));
    let mut end = RecordEnd::new(delimiter);
    end.scan(text);
    let mut header = match lines.rest_of_record(number, line, end, delimiter) {
        Ok(Ok(fields)) => Header::parse(fields, encoding)?,
        Ok(Err(error)) => return Err(format!("the header row (line {number}): {error}")),
        Err(error) => return Err(format!("cannot read the header row: {error}")),
    };
    let hinted = |message: String, header: &Header| match delimiter.hint(header.texts()) {
        Some(hint) => format!("{message}\nhint: {hint}"),
        None => message,
    };
    let key_found = key_column.map(|key| header.find_key(key));
    let found_key = match key_found {
        Some(Ok(())) => key_column,
        _ => None,
    };
    if let Err(problems) = header.map(preflight, found_key) {
        let message = match &key_found {
            Some(Err(no_key)) => format!("{no_key}\n{problems}"),
            _ => problems,
        };
        return Err(hinted(message, &header));
    }
    // A key column found only through the mapping (a label, a --map) will do.
    if let (Some(key), Some(Err(error))) = (key_column, key_found)
        && !header.has_property(key)
    {
        return Err(hinted(error, &header));
    }
    Ok((header, delimiter))
}

fn read_csv<R: BufRead>(
    mut lines: Lines<R>,
    header: &Header,
    delimiter: Delimiter,
    shape: &mut Shape,
    tx: &mpsc::Sender<Item>,
) {
    let mut number = 0;
    loop {
        let item = match lines.next_record(delimiter) {
            Ok(Some((line, record))) => {
                number += 1;
                let content = match record {
                    Ok(fields) => header.fields(fields),
                    Err(error) => Err(RowError::new(error.to_string())),
                };
                Item::Row(shape.row(number, line, content))
            }
            Ok(None) => return,
            Err(error) => Item::Failed(format!("reading stopped after row {number}: {error}")),
        };
        if !send(tx, item) {
            return;
        }
    }
}

fn read_jsonl<R: BufRead>(
    mut lines: Lines<R>,
    encoding: &'static str,
    shape: &mut Shape,
    tx: &mpsc::Sender<Item>,
) {
    let mut number = 0;
    loop {
        let item = match lines.next_non_blank() {
            Ok(Some((line, text))) => {
                number += 1;
                let content = match text {
                    Line::Text(text) => jsonl::parse_line(&text, encoding),
                    Line::TooLong { bytes } => Err(RowError::new(too_long(bytes, lines.max_bytes))),
                };
                let content = content.and_then(|fields| shape.rename(fields));
                Item::Row(shape.row(number, line, content))
            }
            Ok(None) => return,
            Err(error) => Item::Failed(format!("reading stopped after row {number}: {error}")),
        };
        if !send(tx, item) {
            return;
        }
    }
}

/// What the reader does to each row's fields once read.
struct Shape {
    /// The properties whose values are trimmed: the key, and any email.
    trim: Vec<String>,
    preflight: Arc<Preflight>,
    /// JSONL keys already mapped to properties.
    names: KeyNames,
}

impl Shape {
    /// JSONL keys renamed to their properties (see [`Preflight::renames_keys`]).
    fn rename(&mut self, fields: Fields) -> Result<Fields, RowError> {
        if self.preflight.renames_keys() {
            self.names.rename(&self.preflight, fields)
        } else {
            Ok(fields)
        }
    }

    /// A row, its key and email values trimmed (each trim noted), then its
    /// values checked against the portal's properties.
    fn row(&self, number: u64, line: u64, content: Result<Fields, RowError>) -> Row {
        let mut notes = Vec::new();
        let content = content.and_then(|mut fields| {
            notes = row::trim_values(&mut fields, &self.trim);
            self.preflight.check(&fields).map(|()| fields)
        });
        Row {
            number,
            line,
            content,
            notes,
        }
    }
}

/// Sends `item`; whether reading goes on (the receiver is there and reading
/// did not fail).
fn send(tx: &mpsc::Sender<Item>, item: Item) -> bool {
    let last = matches!(item, Item::Failed(_));
    tx.blocking_send(item).is_ok() && !last
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[u8], max_bytes: usize) -> Lines<&[u8]> {
        Lines {
            reader: LineReader::new(text, max_bytes),
            max_bytes,
            last_line: 0,
        }
    }

    fn records(text: &[u8], max_bytes: usize) -> Vec<(u64, Result<usize, BadRecord>)> {
        let mut lines = lines(text, max_bytes);
        let mut out = Vec::new();
        while let Some((line, record)) = lines.next_record(Delimiter::COMMA).unwrap() {
            out.push((line, record.map(|fields| fields.len())));
        }
        out
    }

    fn quoting(error: RecordError, first: u64, last: u64) -> BadRecord {
        let span = Span { first, last };
        BadRecord::Quoting { error, span }
    }

    fn too_long(bytes: u64, max: usize, first: u64, last: u64) -> BadRecord {
        let span = Span { first, last };
        BadRecord::TooLong { bytes, max, span }
    }

    #[test]
    fn multi_line_fields_blank_lines_and_crlf() {
        let text = b"a,b\r\n\r\n\"x\ny\",z\r\nc,d";
        assert_eq!(
            records(text, 1 << 20),
            vec![(1, Ok(2)), (3, Ok(2)), (5, Ok(2))]
        );
    }

    #[test]
    fn cr_only_line_endings_split_records() {
        let text = b"a,b\r\"x\ry\",z\r\rc,d\r";
        assert_eq!(
            records(text, 1 << 20),
            vec![(1, Ok(2)), (2, Ok(2)), (5, Ok(2))]
        );
    }

    #[test]
    fn a_quoted_field_holds_any_number_of_line_breaks() {
        let mut text = b"a,\"".to_vec();
        text.extend(b"x,y\n".repeat(1_000));
        text.extend(b"\"\nc,d");
        assert_eq!(records(&text, 1 << 20), vec![(1, Ok(2)), (1_002, Ok(2))]);
    }

    #[test]
    fn a_quote_never_closed_is_the_rest_of_the_file() {
        let text = b"a,b\nc,\"open\nd,e\n\nf,g\n";
        let never_closed = quoting(RecordError::Unterminated, 2, 5);
        assert_eq!(
            records(text, 1 << 20),
            vec![(1, Ok(2)), (2, Err(never_closed.clone()))]
        );
        assert!(
            never_closed
                .to_string()
                .contains("(lines 2-5) is inside it")
        );
        let at_end = b"a,b\nc,\"open";
        let on_its_line = quoting(RecordError::Unterminated, 2, 2);
        assert_eq!(
            records(at_end, 1 << 20),
            vec![(1, Ok(2)), (2, Err(on_its_line))]
        );
    }

    #[test]
    fn bad_quoting_is_one_bad_row_to_the_end_of_its_record() {
        // The quote opened on line 1 closes on line 3, followed by text.
        let text = b"a,\"broken\nc,d\ne,\"quoted\"\nf,g";
        let quote = quoting(RecordError::Quote { column: 2 }, 1, 3);
        assert_eq!(records(text, 1 << 20), vec![(1, Err(quote)), (4, Ok(2))]);
        // A quote inside an unquoted field opens nothing.
        let stray = quoting(RecordError::Quote { column: 1 }, 1, 1);
        assert_eq!(
            records(b"a\"b,c\nd,e", 1 << 20),
            vec![(1, Err(stray)), (2, Ok(2))]
        );
    }

    #[test]
    fn a_record_over_the_limit_is_one_bad_row_and_the_next_reads() {
        let text = b"a,b\nlong,line\n\"open,\nlong,line\",x\nc,d";
        assert_eq!(
            records(text, 8),
            vec![
                (1, Ok(2)),
                (2, Err(too_long(9, 8, 2, 2))),
                (3, Err(too_long(19, 8, 3, 4))),
                (5, Ok(2)),
            ]
        );
        // "a\nb",c is 8 bytes; "abc\nde",f is 10, and its second line a row of none.
        let text = b"\"a\nb\",c\n\"abc\nde\",f\nx,y";
        assert_eq!(
            records(text, 8),
            vec![(1, Ok(2)), (3, Err(too_long(10, 8, 3, 4))), (5, Ok(2))]
        );
    }

    #[test]
    fn a_quoted_field_is_followed_through_a_line_over_the_limit() {
        let text = b"\"a\nlong,line\"\"\"\"\nb\",c\nd,e";
        assert_eq!(
            records(text, 8),
            vec![(1, Err(too_long(21, 8, 1, 3))), (4, Ok(2))]
        );
    }

    fn header(text: &[u8], key: Option<&str>) -> Result<(Vec<String>, Delimiter), String> {
        csv_header(
            &mut lines(text, 1 << 20),
            None,
            "UTF-8",
            key,
            &Preflight::default(),
        )
        .map(|(header, delimiter)| (header.texts().map(str::to_owned).collect(), delimiter))
    }

    #[test]
    fn the_header_detects_its_delimiter_and_finds_the_key() {
        let (texts, delimiter) = header(b"\nEmail;firstname\r\nx;y", Some("email")).unwrap();
        assert_eq!(
            (texts, delimiter),
            (
                vec!["Email".to_owned(), "firstname".to_owned()],
                ";".parse().unwrap()
            )
        );
        let forced = csv_header(
            &mut lines(b"email;firstname", 64),
            Some(Delimiter::COMMA),
            "UTF-8",
            Some("email"),
            &Preflight::default(),
        );
        let error = forced.unwrap_err();
        assert!(error.contains("no \"email\" column"), "{error}");
        assert!(error.contains("use --delimiter ';'"), "{error}");
        let display = header(b"email,First Name", None).unwrap_err();
        assert!(
            display.contains("column \"First Name\" is not a property name"),
            "{display}"
        );
        assert!(header(b"\n  \n", None).unwrap_err().contains("empty"));
    }

    #[test]
    fn rows_trim_their_key_and_email_with_a_note() {
        let fields: Fields = vec![
            ("email".into(), " a@b.co ".into()),
            ("id".into(), " 7".into()),
        ];
        let shape = |trim: &[&str]| Shape {
            trim: trim.iter().map(|name| name.to_string()).collect(),
            preflight: Arc::new(Preflight::default()),
            names: KeyNames::default(),
        };
        let trimmed = shape(&["id", EMAIL]).row(1, 2, Ok(fields));
        assert_eq!(trimmed.notes.len(), 2, "{:?}", trimmed.notes);
        let bad = shape(&[EMAIL]).row(1, 2, Err(RowError::new("x")));
        assert!(bad.notes.is_empty());
    }
}
