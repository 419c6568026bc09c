//! Reading the input file: a blocking reader thread that turns lines into
//! [`Row`]s and feeds them through a bounded channel, so a file of any size
//! is never held in memory.

use std::{
    collections::VecDeque,
    fs::File,
    io::{self, BufRead, BufReader, Read},
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use tokio::sync::mpsc;

use crate::{
    csv::{Header, RecordError, parse_record},
    format::Format,
    jsonl,
    row::{Row, RowError},
};

/// Rows read ahead of the SDK at most.
const CHANNEL_CAPACITY: usize = 256;
/// A quoted CSV field may run over at most this many more lines …
const MAX_CONTINUATION_LINES: usize = 64;
/// … and its record over at most this many bytes; past either, the quote is
/// taken as never closed and the next line starts a new row.
const MAX_RECORD_BYTES: usize = 1 << 20;

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
    /// Bytes read so far (for the progress bar).
    pub bytes_read: Arc<AtomicU64>,
    /// The file's size, when known.
    pub size: Option<u64>,
}

/// Opens `path` (`-` for standard input), reads the CSV header (refusing a
/// file without one, or without `key_column`), and starts the reader thread.
pub fn open(path: &Path, format: Format, key_column: Option<&str>) -> Result<Source, String> {
    let (reader, size): (Box<dyn Read + Send>, Option<u64>) = if path == Path::new("-") {
        (Box::new(io::stdin()), None)
    } else {
        let file =
            File::open(path).map_err(|error| format!("cannot open {}: {error}", path.display()))?;
        let size = file.metadata().ok().map(|m| m.len());
        (Box::new(file), size)
    };
    let bytes_read = Arc::new(AtomicU64::new(0));
    let mut lines = Lines {
        reader: BufReader::with_capacity(64 * 1024, reader),
        next_line: 0,
        replay: VecDeque::new(),
        bytes_read: Arc::clone(&bytes_read),
    };
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    let name = path.display().to_string();
    match format {
        Format::Csv => {
            let header = read_header(&mut lines)
                .map_err(|error| format!("cannot read the header row of {name}: {error}"))?;
            if let Some(column) = key_column
                && !header.has(column)
            {
                return Err(format!(
                    "{name} has no {column:?} column (the key); the header has: {}",
                    header
                        .columns()
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            spawn(move || read_csv(lines, header, &tx))?;
        }
        Format::Jsonl => spawn(move || read_jsonl(lines, &tx))?,
    }
    Ok(Source {
        rows: rx,
        bytes_read,
        size,
    })
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

/// Physical lines, numbered from 1, without their line break; lines can be
/// put back to be read again.
struct Lines<R> {
    reader: R,
    next_line: u64,
    replay: VecDeque<(u64, Vec<u8>)>,
    bytes_read: Arc<AtomicU64>,
}

impl<R: BufRead> Lines<R> {
    fn next(&mut self) -> io::Result<Option<(u64, Vec<u8>)>> {
        if let Some(line) = self.replay.pop_front() {
            return Ok(Some(line));
        }
        let mut line = Vec::new();
        let read = self.reader.read_until(b'\n', &mut line)?;
        if read == 0 {
            return Ok(None);
        }
        self.bytes_read.fetch_add(read as u64, Ordering::Relaxed);
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        self.next_line += 1;
        Ok(Some((self.next_line, line)))
    }

    /// The next line that is not blank.
    fn next_non_blank(&mut self) -> io::Result<Option<(u64, Vec<u8>)>> {
        while let Some((number, line)) = self.next()? {
            if !line.iter().all(u8::is_ascii_whitespace) {
                return Ok(Some((number, line)));
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
        expected: Option<usize>,
    ) -> io::Result<Option<(u64, Result<RawRecord, RecordError>)>> {
        let Some((start, first)) = self.next_non_blank()? else {
            return Ok(None);
        };
        let mut record = first;
        let mut continuation: Vec<(u64, Vec<u8>)> = Vec::new();
        let outcome = loop {
            match parse_record(&record) {
                Ok(fields) if continuation.is_empty() => return Ok(Some((start, Ok(fields)))),
                Ok(fields) if expected.is_none_or(|n| n == fields.len()) => {
                    return Ok(Some((start, Ok(fields))));
                }
                Err(RecordError::Unterminated)
                    if continuation.len() < MAX_CONTINUATION_LINES
                        && record.len() < MAX_RECORD_BYTES =>
                {
                    match self.next()? {
                        Some((number, line)) => {
                            record.push(b'\n');
                            record.extend_from_slice(&line);
                            continuation.push((number, line));
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
        Ok(Some((start, Err(outcome))))
    }
}

fn read_header<R: BufRead>(lines: &mut Lines<R>) -> Result<Header, String> {
    match lines.next_record(None) {
        Ok(Some((_, Ok(fields)))) => Header::parse(fields),
        Ok(Some((line, Err(error)))) => Err(format!("line {line}: {error}")),
        Ok(None) => Err("the file is empty".into()),
        Err(error) => Err(error.to_string()),
    }
}

fn read_csv<R: BufRead>(mut lines: Lines<R>, header: Header, tx: &mpsc::Sender<Item>) {
    let expected = Some(header.columns().len());
    let mut number = 0;
    loop {
        let item = match lines.next_record(expected) {
            Ok(Some((line, record))) => {
                number += 1;
                let content = match record {
                    Ok(fields) => header.fields(fields),
                    Err(error) => Err(RowError::new(error.to_string())),
                };
                Item::Row(Row {
                    number,
                    line,
                    content,
                })
            }
            Ok(None) => return,
            Err(error) => Item::Failed(format!("reading stopped after row {number}: {error}")),
        };
        let last = matches!(item, Item::Failed(_));
        if tx.blocking_send(item).is_err() || last {
            return;
        }
    }
}

fn read_jsonl<R: BufRead>(mut lines: Lines<R>, tx: &mpsc::Sender<Item>) {
    let mut number = 0;
    loop {
        let item = match lines.next_non_blank() {
            Ok(Some((line, text))) => {
                number += 1;
                Item::Row(Row {
                    number,
                    line,
                    content: jsonl::parse_line(&text),
                })
            }
            Ok(None) => return,
            Err(error) => Item::Failed(format!("reading stopped after row {number}: {error}")),
        };
        let last = matches!(item, Item::Failed(_));
        if tx.blocking_send(item).is_err() || last {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[u8]) -> Lines<&[u8]> {
        Lines {
            reader: text,
            next_line: 0,
            replay: VecDeque::new(),
            bytes_read: Arc::new(AtomicU64::new(0)),
        }
    }

    fn records(text: &[u8], expected: usize) -> Vec<(u64, Result<usize, RecordError>)> {
        let mut lines = lines(text);
        let mut out = Vec::new();
        while let Some((line, record)) = lines.next_record(Some(expected)).unwrap() {
            out.push((line, record.map(|fields| fields.len())));
        }
        out
    }

    #[test]
    fn multi_line_fields_blank_lines_and_crlf() {
        let text = b"a,b\r\n\r\n\"x\ny\",z\r\nc,d";
        assert_eq!(records(text, 2), vec![(1, Ok(2)), (3, Ok(2)), (5, Ok(2))]);
    }

    #[test]
    fn a_quote_never_closed_is_one_bad_row_and_the_rest_still_reads() {
        let text = b"a,\"broken\nc,d\ne,\"quoted\"\nf,g";
        assert_eq!(
            records(text, 2),
            vec![
                (1, Err(RecordError::Unterminated)),
                (2, Ok(2)),
                (3, Ok(2)),
                (4, Ok(2)),
            ]
        );
        let at_end = b"a,b\nc,\"open";
        assert_eq!(
            records(at_end, 2),
            vec![(1, Ok(2)), (2, Err(RecordError::Unterminated))]
        );
    }

    #[test]
    fn a_stray_quote_is_a_bad_row() {
        assert_eq!(
            records(b"a\"b,c\nd,e", 2),
            vec![(1, Err(RecordError::Quote { column: 1 })), (2, Ok(2))]
        );
    }
}
