//! Decoding an input stream to UTF-8 as it is read, with `encoding_rs`'s
//! streaming [`Decoder`], in bounded memory.
//!
//! Written here rather than taken from `encoding_rs_io`, whose reader
//! replaces malformed bytes with U+FFFD: a value would be changed silently.
//! Here each malformed sequence becomes the byte `0xFF`, which is never valid
//! UTF-8, so the row holding it fails on its own, naming its column, when its
//! fields are read.

use std::io::{self, BufRead, Read};

use encoding_rs::{Decoder, DecoderResult, Encoding};

/// Decoded bytes held at most.
const OUTPUT_CAPACITY: usize = 64 * 1024;
/// What a malformed sequence becomes in the output: a byte that no UTF-8 text holds.
const MALFORMED: u8 = 0xFF;

/// A reader of UTF-8 decoded from `R` in some encoding.
pub struct Decoded<R> {
    inner: R,
    decoder: Decoder,
    output: Box<[u8]>,
    start: usize,
    end: usize,
    /// A malformed sequence came when the output was full.
    marker_pending: bool,
    finished: bool,
    /// The input ended in the middle of a character.
    cut_short: bool,
}

impl<R: BufRead> Decoded<R> {
    /// Decodes `inner` from `encoding`, dropping that encoding's byte-order
    /// mark at the start.
    pub fn new(inner: R, encoding: &'static Encoding) -> Self {
        Self {
            inner,
            decoder: encoding.new_decoder_with_bom_removal(),
            output: vec![0; OUTPUT_CAPACITY].into_boxed_slice(),
            start: 0,
            end: 0,
            marker_pending: false,
            finished: false,
            cut_short: false,
        }
    }

    /// The encoding being decoded, for messages.
    pub fn encoding_name(&self) -> &'static str {
        self.decoder.encoding().name()
    }

    /// Decodes the next piece of input into the (empty) output buffer.
    fn refill(&mut self) -> io::Result<()> {
        self.start = 0;
        self.end = 0;
        if self.marker_pending {
            self.marker_pending = false;
            self.output[0] = MALFORMED;
            self.end = 1;
            return Ok(());
        }
        let input = self.inner.fill_buf()?;
        let last = input.is_empty();
        let (result, read, written) =
            self.decoder
                .decode_to_utf8_without_replacement(input, &mut self.output, last);
        self.inner.consume(read);
        self.end = written;
        match result {
            DecoderResult::InputEmpty if last => self.finished = true,
            // With no input left, only a sequence the input stopped in the
            // middle of is malformed: an error for the file, not a byte of
            // a row (on a line of its own, it would make a row of nothing).
            DecoderResult::Malformed(_, _) if last => {
                self.finished = true;
                self.cut_short = true;
            }
            DecoderResult::InputEmpty | DecoderResult::OutputFull => {}
            DecoderResult::Malformed(_, _) => match self.output.get_mut(written) {
                Some(byte) => {
                    *byte = MALFORMED;
                    self.end += 1;
                }
                None => self.marker_pending = true,
            },
        }
        Ok(())
    }
}

impl<R: BufRead> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Decoded<R> {
    /// The next decoded bytes; at the end, an [`io::ErrorKind::InvalidData`]
    /// error if the input stops in the middle of a character.
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.start == self.end && !self.finished {
            self.refill()?;
        }
        if self.start == self.end && self.cut_short {
            let name = self.encoding_name();
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the file ends in the middle of a {name} character (it is cut short, or not \
                     {name})"
                ),
            ));
        }
        Ok(&self.output[self.start..self.end])
    }

    fn consume(&mut self, amount: usize) {
        self.start = (self.start + amount).min(self.end);
    }
}

#[cfg(test)]
mod tests {
    use encoding_rs::{UTF_8, UTF_16LE, WINDOWS_1252};

    use super::*;

    fn decode(input: &[u8], encoding: &'static Encoding) -> Vec<u8> {
        // A one-byte inner buffer: every sequence is split across reads.
        let inner = io::BufReader::with_capacity(1, input);
        let mut out = Vec::new();
        Decoded::new(inner, encoding).read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn encodings_become_utf8_and_the_bom_goes() {
        assert_eq!(decode(b"\xef\xbb\xbfZo\xc3\xab", UTF_8), "Zoë".as_bytes());
        assert_eq!(decode(b"Zo\xeb \x80", WINDOWS_1252), "Zoë €".as_bytes());
        let utf16 = decode(b"\xff\xfeZ\0o\0\xeb\0\n\0", UTF_16LE);
        assert_eq!(utf16, "Zoë\n".as_bytes());
    }

    #[test]
    fn malformed_sequences_become_invalid_utf8_and_the_rest_reads() {
        assert_eq!(decode(b"a\xffb\xe2\x82c\n", UTF_8), b"a\xffb\xffc\n");
        // An unpaired surrogate, then a line break.
        assert_eq!(decode(b"\x00\xd8\n\0", UTF_16LE), b"\xff\n");
    }

    #[test]
    fn input_cut_short_in_a_character_is_an_error_after_the_rest() {
        let cases: [(&[u8], &'static Encoding, &[u8]); 3] = [
            (b"a\0\n\0x", UTF_16LE, b"a\n"),
            (b"a\0\n\0\x3d\xd8", UTF_16LE, b"a\n"),
            (b"a\n\xe2\x82", UTF_8, b"a\n"),
        ];
        for (input, encoding, expected) in cases {
            let mut decoded = Decoded::new(io::BufReader::with_capacity(1, input), encoding);
            let mut out = Vec::new();
            let error = decoded.read_to_end(&mut out).unwrap_err();
            assert_eq!(out, expected, "{input:?}");
            assert_eq!(error.kind(), io::ErrorKind::InvalidData);
            let name = encoding.name();
            assert_eq!(
                error.to_string(),
                format!(
                    "the file ends in the middle of a {name} character (it is cut short, or not {name})"
                )
            );
        }
    }

    #[test]
    fn a_large_input_streams_through_the_fixed_buffer() {
        let input = "é".repeat(OUTPUT_CAPACITY);
        let mut out = String::new();
        Decoded::new(input.as_bytes(), UTF_8)
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, input);
    }
}
