//! Where a line is in its file, and reading lines back from there.
//!
//! The index keeps a [`Span`] per record instead of its text, so an instance's memory
//! grows with the number of records, not with their size. A line is read again when a page
//! or an update needs it, and checked against a hash of what was indexed: the file may
//! have changed since the index last looked, and a line read from a stale offset must not
//! be taken for the record.

use std::io::{ErrorKind, Read, Seek, SeekFrom};

/// What lines are read back from: the entity's file (an in-memory one in tests).
pub trait Source: Read + Seek {}

impl<T: Read + Seek> Source for T {}

/// Where a line's text is in the file (after a byte order mark, before `\r\n`), with a
/// hash of it, to tell that the line is still there when it is read back.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    at: u64,
    /// A line of 4 GiB or more is not read back (it reads as changed).
    len: u32,
    /// The low half of the line's hash: 16 bytes a span, kept for every record.
    hash: u32,
}

/// Why a line could not be read back.
#[derive(Debug)]
pub enum Reread {
    /// The bytes at the span are not the line indexed: the file changed under the index.
    Changed,
    /// The file could not be read.
    Failed(std::io::Error),
}

impl From<std::io::Error> for Reread {
    fn from(e: std::io::Error) -> Self {
        match e.kind() {
            // Shorter than the index says: cut since it looked.
            ErrorKind::UnexpectedEof => Reread::Changed,
            _ => Reread::Failed(e),
        }
    }
}

/// Bytes between two lines of a page that are read rather than sought past.
const GAP: u64 = 64 << 10;
/// The most bytes one read takes for a run of lines (a longer line is read alone).
const RUN: u64 = 1 << 20;

impl Span {
    /// The span of `text`, found at byte `at` of the file.
    pub fn new(at: u64, text: &[u8]) -> Span {
        Span {
            at,
            len: u32::try_from(text.len()).unwrap_or(u32::MAX),
            hash: hash(text) as u32,
        }
    }

    /// The span's parts, to keep it in a file: where, how long, the hash.
    pub fn parts(&self) -> (u64, u32, u32) {
        (self.at, self.len, self.hash)
    }

    /// A span kept by [`parts`](Self::parts).
    pub fn from_parts(at: u64, len: u32, hash: u32) -> Span {
        Span { at, len, hash }
    }

    fn end(&self) -> u64 {
        self.at + self.len as u64
    }

    /// The line's text, read from `file`.
    pub fn read(&self, file: &mut dyn Source) -> Result<String, Reread> {
        let mut bytes = vec![0; self.len as usize];
        file.seek(SeekFrom::Start(self.at))?;
        file.read_exact(&mut bytes)?;
        self.check(&bytes)?;
        String::from_utf8(bytes).map_err(|_| Reread::Changed)
    }

    /// `bytes` as the line's text, if they are the line indexed.
    fn check<'b>(&self, bytes: &'b [u8]) -> Result<&'b str, Reread> {
        if bytes.len() != self.len as usize || hash(bytes) as u32 != self.hash {
            return Err(Reread::Changed);
        }
        std::str::from_utf8(bytes).map_err(|_| Reread::Changed)
    }
}

/// The eight bytes of `bytes` (which must hold eight) as one little-endian word, for code
/// that looks at a line eight bytes at a time.
pub fn word(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes.try_into().unwrap_or_default())
}

/// A hash of a line, a word at a time (the multiply-and-rotate of rustc's FxHash). It tells
/// a line from what else an edit left at its offset, not from an adversary: every line is
/// hashed when taken in and when read back, and SipHash was a tenth of a load's start.
pub fn hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mix = |h: u64, word: u64| (h.rotate_left(5) ^ word).wrapping_mul(K);
    let mut words = bytes.chunks_exact(8);
    let mut h = words.by_ref().fold(0, |h, w| mix(h, word(w)));
    for &b in words.remainder() {
        h = mix(h, u64::from(b));
    }
    h
}

/// Reads the text of every span in `wanted` and hands it to `each` with the span's tag.
/// Spans are read in file order, neighbours together, so a page of lines appended one
/// after another costs a few large reads, not one per line.
pub fn read_each(
    file: &mut dyn Source,
    wanted: &mut [(usize, Span)],
    mut each: impl FnMut(usize, &str),
) -> Result<(), Reread> {
    wanted.sort_unstable_by_key(|(_, span)| span.at);
    let mut buf = Vec::new();
    let mut rest = &wanted[..];
    while let Some((_, first)) = rest.first() {
        let start = first.at;
        let mut end = first.end();
        let run = 1 + rest[1..]
            .iter()
            .take_while(|(_, span)| {
                let joins = span.at <= end + GAP && span.end() - start <= RUN;
                if joins {
                    end = end.max(span.end());
                }
                joins
            })
            .count();
        let len = usize::try_from(end - start).map_err(|_| Reread::Changed)?;
        buf.resize(len, 0);
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut buf)?;
        for (tag, span) in &rest[..run] {
            // Within `buf`: the run ends at or after every span in it.
            let from = (span.at - start) as usize;
            each(*tag, span.check(&buf[from..from + span.len as usize])?);
        }
        rest = &rest[run..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A file that counts the reads made of it.
    struct Counted<'a>(Cursor<&'a [u8]>, usize);

    impl Read for Counted<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.1 += 1;
            self.0.read(buf)
        }
    }

    impl Seek for Counted<'_> {
        fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
            self.0.seek(pos)
        }
    }

    /// The spans of the lines of `text`.
    fn spans(text: &str) -> Vec<Span> {
        let mut at = 0;
        text.split_inclusive('\n')
            .map(|line| {
                let span = Span::new(at, line.trim_end().as_bytes());
                at += line.len() as u64;
                span
            })
            .collect()
    }

    #[test]
    fn a_page_of_neighbouring_lines_is_one_read_in_any_order() -> Result<(), Reread> {
        let text: String = (0..5_000).map(|i| format!("line {i}\n")).collect();
        let mut wanted: Vec<_> = spans(&text).into_iter().enumerate().rev().collect();
        let mut file = Counted(Cursor::new(text.as_bytes()), 0);
        let mut got = vec![String::new(); wanted.len()];
        read_each(&mut file, &mut wanted, |i, line| got[i] = line.to_owned())?;
        assert!(
            got.iter()
                .enumerate()
                .all(|(i, l)| *l == format!("line {i}"))
        );
        assert_eq!(file.1, 1);
        Ok(())
    }

    #[test]
    fn far_apart_lines_are_read_apart() -> Result<(), Reread> {
        let text = format!("a\n{}\nb\n", "x".repeat(GAP as usize + 1));
        let all = spans(&text);
        let mut wanted = vec![(0, all[0]), (1, all[2])];
        let mut file = Counted(Cursor::new(text.as_bytes()), 0);
        let mut got = Vec::new();
        read_each(&mut file, &mut wanted, |i, line| {
            got.push((i, line.to_owned()))
        })?;
        assert_eq!(got, [(0, "a".to_owned()), (1, "b".to_owned())]);
        assert_eq!(file.1, 2);
        Ok(())
    }

    #[test]
    fn other_bytes_at_a_span_are_a_changed_file() {
        let all = spans("alpha\nbravo\n");
        let mut edited = Cursor::new(&b"alpha\nbrave\n"[..]);
        assert!(matches!(all[1].read(&mut edited), Err(Reread::Changed)));
        assert!(matches!(all[0].read(&mut edited), Ok(line) if line == "alpha"));
        let mut cut = Cursor::new(&b"alpha\nbr"[..]);
        assert!(matches!(all[1].read(&mut cut), Err(Reread::Changed)));
        let mut wanted = vec![(0, all[0]), (1, all[1])];
        let read = read_each(&mut edited, &mut wanted, |_, _| {});
        assert!(matches!(read, Err(Reread::Changed)));
    }
}
