//! Reading the input file: a blocking reader thread that decodes the file,
//! splits it into lines and turns them into [`Row`]s, fed through a bounded
//! channel, so a file of any size is never held in memory.
//!
//! ```text
//! bytes -> Decoded (--encoding, BOM) -> LineReader (LF, CRLF, CR; --max-line-bytes)
//!   -> Lines (numbered; CSV records spanning lines) -> Header::fields / jsonl::parse_line -> Row
//! ```

use std::{
    collections::VecDeque,
    fmt,
    fs::File,
    io::{self, BufRead, BufReader, Read},
    path::Path,
    sync::Arc,
};

use tokio::sync::mpsc;

use crate::{
    csv::{Header, RecordError, parse_record},
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
/// A quoted CSV field may run over at most this many more lines (and its
/// record over at most `--max-line-bytes`); past either, the quote is taken
/// as never closed and the next line starts a new row.
const MAX_CONTINUATION_LINES: usize = 64;
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
        next_line: 0,
        replay: VecDeque::new(),
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

/// Why a CSV record could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
enum BadRecord {
    /// Its quoting is broken.
    Quoting(RecordError),
    /// Its line is over `--max-line-bytes`.
    TooLong {
        /// The line's length.
        bytes: u64,
        /// The limit.
        max: usize,
    },
}

impl fmt::Display for BadRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadRecord::Quoting(error) => error.fmt(f),
            BadRecord::TooLong { bytes, max } => too_long(*bytes, *max).fmt(f),
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

/// Physical lines, numbered from 1, without their line break; lines can be
/// put back to be read again.
struct Lines<R> {
    reader: LineReader<R>,
    max_bytes: usize,
    next_line: u64,
    replay: VecDeque<(u64, Line)>,
}

impl<R: BufRead> Lines<R> {
    fn next(&mut self) -> io::Result<Option<(u64, Line)>> {
        if let Some(line) = self.replay.pop_front() {
            return Ok(Some(line));
        }
        let Some(line) = self.reader.next_line()? else {
            return Ok(None);
        };
        self.next_line += 1;
        Ok(Some((self.next_line, line)))
    }

    /// The next line that is not blank.
    fn next_non_blank(&mut self) -> io::Result<Option<(u64, Line)>> {
        while let Some((number, line)) = self.next()? {
            match &line {
                Line::Text(text) if text.iter().all(u8::is_ascii_whitespace) => {}
                _ => return Ok(Some((number, line))),
            }
        }
        Ok(None)
    }

    /// The next CSV record: its first line and its fields, or why it is bad.
    /// A record whose quoted field runs over several lines is accepted only if
    /// it then parses into `expected` fields; otherwise its first line alone
    /// is the bad row, and reading goes on at the line after it.
    fn next_record(
        &mut self,
        delimiter: Delimiter,
        expected: Option<usize>,
    ) -> io::Result<Option<(u64, Result<RawRecord, BadRecord>)>> {
        let Some((start, first)) = self.next_non_blank()? else {
            return Ok(None);
        };
        let mut record = match first {
            Line::Text(text) => text,
            Line::TooLong { bytes } => {
                let max = self.max_bytes;
                return Ok(Some((start, Err(BadRecord::TooLong { bytes, max }))));
            }
        };
        let mut continuation: Vec<(u64, Line)> = Vec::new();
        let outcome = loop {
            match parse_record(&record, delimiter) {
                Ok(fields) if continuation.is_empty() => return Ok(Some((start, Ok(fields)))),
                Ok(fields) if expected.is_none_or(|n| n == fields.len()) => {
                    return Ok(Some((start, Ok(fields))));
                }
                Err(RecordError::Unterminated) if continuation.len() < MAX_CONTINUATION_LINES => {
                    match self.next()? {
                        Some((number, Line::Text(line)))
                            if record.len() + 1 + line.len() <= self.max_bytes =>
                        {
                            record.push(b'\n');
                            record.extend_from_slice(&line);
                            continuation.push((number, Line::Text(line)));
                        }
                        // The record would be over the limit (or the line is).
                        Some(line) => {
                            continuation.push(line);
                            break RecordError::Unterminated;
                        }
                        None => break RecordError::Unterminated,
                    }
                }
                Ok(_) => break RecordError::Unterminated,
                Err(error) if continuation.is_empty() => break error,
                Err(_) => break RecordError::Unterminated,
            }
        };
        // Give back the lines borrowed for the quoted field: they are rows of their own.
        for line in continuation.into_iter().rev() {
            self.replay.push_front(line);
        }
        Ok(Some((start, Err(BadRecord::Quoting(outcome)))))
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
    let delimiter = match (&line, delimiter) {
        (_, Some(given)) => given,
        (Line::Text(text), None) => Delimiter::detect(text),
        (Line::TooLong { .. }, None) => Delimiter::COMMA,
    };
    lines.replay.push_front((number, line));
    let mut header = match lines.next_record(delimiter, None) {
        Ok(Some((_, Ok(fields)))) => Header::parse(fields, encoding)?,
        Ok(Some((line, Err(error)))) => {
            return Err(format!("the header row (line {line}): {error}"));
        }
        Ok(None) => return Err("the file is empty: there is no header row".into()),
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
    let expected = Some(header.len());
    let mut number = 0;
    loop {
        let item = match lines.next_record(delimiter, expected) {
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
            next_line: 0,
            replay: VecDeque::new(),
        }
    }

    fn records(text: &[u8], expected: usize) -> Vec<(u64, Result<usize, BadRecord>)> {
        let mut lines = lines(text, 1 << 20);
        let mut out = Vec::new();
        while let Some((line, record)) =
            lines.next_record(Delimiter::COMMA, Some(expected)).unwrap()
        {
            out.push((line, record.map(|fields| fields.len())));
        }
        out
    }

    const UNTERMINATED: BadRecord = BadRecord::Quoting(RecordError::Unterminated);

    #[test]
    fn multi_line_fields_blank_lines_and_crlf() {
        let text = b"a,b\r\n\r\n\"x\ny\",z\r\nc,d";
        assert_eq!(records(text, 2), vec![(1, Ok(2)), (3, Ok(2)), (5, Ok(2))]);
    }

    #[test]
    fn cr_only_line_endings_split_records() {
        let text = b"a,b\r\"x\ry\",z\r\rc,d\r";
        assert_eq!(records(text, 2), vec![(1, Ok(2)), (2, Ok(2)), (5, Ok(2))]);
    }

    #[test]
    fn a_quote_never_closed_is_one_bad_row_and_the_rest_still_reads() {
        let text = b"a,\"broken\nc,d\ne,\"quoted\"\nf,g";
        assert_eq!(
            records(text, 2),
            vec![(1, Err(UNTERMINATED)), (2, Ok(2)), (3, Ok(2)), (4, Ok(2))]
        );
        let at_end = b"a,b\nc,\"open";
        assert_eq!(records(at_end, 2), vec![(1, Ok(2)), (2, Err(UNTERMINATED))]);
    }

    #[test]
    fn a_stray_quote_is_a_bad_row() {
        assert_eq!(
            records(b"a\"b,c\nd,e", 2),
            vec![
                (1, Err(BadRecord::Quoting(RecordError::Quote { column: 1 }))),
                (2, Ok(2))
            ]
        );
    }

    #[test]
    fn a_line_over_the_limit_is_a_bad_row_and_the_next_reads() {
        let mut lines = lines(b"a,b\nlong,line\n\"open,\nlong,line\nc,d", 8);
        let mut out = Vec::new();
        while let Some((line, record)) = lines.next_record(Delimiter::COMMA, Some(2)).unwrap() {
            out.push((line, record.map(|fields| fields.len())));
        }
        let too_long = BadRecord::TooLong { bytes: 9, max: 8 };
        assert_eq!(
            out,
            vec![
                (1, Ok(2)),
                (2, Err(too_long.clone())),
                (3, Err(UNTERMINATED)),
                (4, Err(too_long)),
                (5, Ok(2)),
            ]
        );
    }

    #[test]
    fn a_multi_line_record_never_grows_past_the_limit() {
        let text = b"\"a\nb\",c\n\"abc\nde\",f\nx,y";
        let mut lines = lines(text, 8);
        let mut out = Vec::new();
        while let Some((line, record)) = lines.next_record(Delimiter::COMMA, Some(2)).unwrap() {
            out.push((line, record.map(|fields| fields.len())));
        }
        // "a\nb",c is 8 bytes; "abc\nde",f would be 10: its lines are rows.
        assert_eq!(
            out,
            vec![
                (1, Ok(2)),
                (3, Err(UNTERMINATED)),
                (4, Err(BadRecord::Quoting(RecordError::Quote { column: 1 }))),
                (5, Ok(2)),
            ]
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
