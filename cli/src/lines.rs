//! Splitting a byte stream into physical lines in bounded memory: a line ends
//! at LF, CRLF or a lone CR (old Mac exports), and a line longer than the
//! limit is read past and dropped, never held.

use std::io::{self, BufRead};

/// One physical line, without its line break.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// The line's bytes.
    Text(Vec<u8>),
    /// The line was longer than the limit; its bytes were dropped.
    TooLong {
        /// How many bytes it had.
        bytes: u64,
    },
}

impl Line {
    /// How many bytes the line has (without its line break).
    pub fn len(&self) -> u64 {
        match self {
            Line::Text(text) => text.len() as u64,
            Line::TooLong { bytes } => *bytes,
        }
    }

    /// Whether the line holds nothing but whitespace (a line over the limit
    /// is never blank: its bytes are gone).
    pub fn is_blank(&self) -> bool {
        matches!(self, Line::Text(text) if text.iter().all(u8::is_ascii_whitespace))
    }
}

/// Physical lines of `R`, each at most `max_bytes` long.
pub struct LineReader<R> {
    reader: R,
    max_bytes: usize,
    /// The last line ended with CR: a LF right after it belongs to it.
    after_cr: bool,
}

impl<R: BufRead> LineReader<R> {
    /// Lines of `reader`; a line over `max_bytes` bytes is [`Line::TooLong`].
    pub fn new(reader: R, max_bytes: usize) -> Self {
        Self {
            reader,
            max_bytes,
            after_cr: false,
        }
    }

    /// The next line, or `None` at the end of the stream. Every piece of the
    /// line is shown to `seen` as it is read, a line over the limit too, so
    /// that a CSV reader can follow its quotes without holding it.
    pub fn next_line(&mut self, mut seen: impl FnMut(&[u8])) -> io::Result<Option<Line>> {
        let mut line = Vec::new();
        let mut length: u64 = 0;
        let mut started = false;
        loop {
            let buffer = self.reader.fill_buf()?;
            if buffer.is_empty() {
                return Ok(started.then(|| self.finish(line, length)));
            }
            if std::mem::take(&mut self.after_cr) && buffer[0] == b'\n' {
                self.reader.consume(1);
                continue;
            }
            started = true;
            let end = buffer.iter().position(|&b| b == b'\n' || b == b'\r');
            let piece = &buffer[..end.unwrap_or(buffer.len())];
            seen(piece);
            length += piece.len() as u64;
            if length <= self.max_bytes as u64 {
                line.extend_from_slice(piece);
            } else if !line.is_empty() {
                // Over the limit: drop what was kept, count the rest.
                line = Vec::new();
            }
            match end {
                Some(at) => {
                    self.after_cr = buffer[at] == b'\r';
                    self.reader.consume(at + 1);
                    return Ok(Some(self.finish(line, length)));
                }
                None => {
                    let all = buffer.len();
                    self.reader.consume(all);
                }
            }
        }
    }

    fn finish(&self, line: Vec<u8>, length: u64) -> Line {
        if length > self.max_bytes as u64 {
            Line::TooLong { bytes: length }
        } else {
            Line::Text(line)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[u8], max_bytes: usize, buffer: usize) -> Vec<Line> {
        let mut reader = LineReader::new(io::BufReader::with_capacity(buffer, text), max_bytes);
        let mut out = Vec::new();
        while let Some(line) = reader.next_line(|_| {}).unwrap() {
            out.push(line);
        }
        out
    }

    fn text(line: &str) -> Line {
        Line::Text(line.as_bytes().to_vec())
    }

    #[test]
    fn lf_crlf_and_lone_cr_all_end_lines() {
        for buffer in [1, 2, 3, 64] {
            assert_eq!(
                lines(b"a\nb\r\nc\rd\r\re", 100, buffer),
                vec![
                    text("a"),
                    text("b"),
                    text("c"),
                    text("d"),
                    text(""),
                    text("e")
                ],
                "buffer {buffer}"
            );
            assert_eq!(lines(b"a\r", 100, buffer), vec![text("a")]);
            assert_eq!(lines(b"a\r\n", 100, buffer), vec![text("a")]);
            assert_eq!(lines(b"\n", 100, buffer), vec![text("")]);
            assert_eq!(lines(b"", 100, buffer), vec![]);
        }
    }

    #[test]
    fn a_line_over_the_limit_is_dropped_and_the_next_reads() {
        for buffer in [1, 4, 64] {
            assert_eq!(
                lines(b"abcd\nabcdefgh\r\nxy", 4, buffer),
                vec![text("abcd"), Line::TooLong { bytes: 8 }, text("xy")],
                "buffer {buffer}"
            );
            assert_eq!(
                lines(b"abcdefgh", 4, buffer),
                vec![Line::TooLong { bytes: 8 }]
            );
        }
    }

    #[test]
    fn a_line_over_the_limit_is_still_seen_whole() {
        for buffer in [1, 4, 64] {
            let mut reader = LineReader::new(
                io::BufReader::with_capacity(buffer, &b"abcdefgh\nxy"[..]),
                4,
            );
            let mut seen = Vec::new();
            let line = reader.next_line(|piece| seen.extend_from_slice(piece));
            assert_eq!(line.unwrap(), Some(Line::TooLong { bytes: 8 }));
            assert_eq!(seen, b"abcdefgh", "buffer {buffer}");
            assert_eq!(reader.next_line(|_| {}).unwrap(), Some(text("xy")));
        }
    }

    #[test]
    fn lengths_and_blank_lines() {
        assert_eq!((text("ab").len(), Line::TooLong { bytes: 9 }.len()), (2, 9));
        assert!(text(" \t").is_blank() && text("").is_blank());
        assert!(!text(" x").is_blank() && !Line::TooLong { bytes: 9 }.is_blank());
    }
}
