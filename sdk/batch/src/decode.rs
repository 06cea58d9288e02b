//! Reading a buffer that may be hostile: every read is checked against what is left.

use crate::column::tag;
use crate::{Kind, MAGIC, ValueRef};

/// Why a buffer is not a valid batch, and the byte where reading it went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// The offset in the buffer.
    pub at: usize,
    /// What was wrong there.
    pub what: String,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid batch at byte {}: {}", self.at, self.what)
    }
}

impl std::error::Error for DecodeError {}

/// A position in a buffer.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, at: 0 }
    }

    pub(crate) fn fail<T>(&self, what: impl Into<String>) -> Result<T, DecodeError> {
        Err(DecodeError {
            at: self.at,
            what: what.into(),
        })
    }

    fn left(&self) -> usize {
        self.buf.len() - self.at
    }

    pub(crate) fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], DecodeError> {
        if n > self.left() {
            return self.fail(format!("{what} needs {n} bytes, {} are left", self.left()));
        }
        let bytes = &self.buf[self.at..self.at + n];
        self.at += n;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], DecodeError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, what: &str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn u32(&mut self, what: &str) -> Result<usize, DecodeError> {
        Ok(u32::from_le_bytes(self.array(what)?) as usize)
    }

    fn i64(&mut self, what: &str) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }

    /// A length, then that many bytes of UTF-8.
    pub(crate) fn text(&mut self, what: &str) -> Result<&'a str, DecodeError> {
        let len = self.u32(what)?;
        let start = self.at;
        let bytes = self.take(len, what)?;
        std::str::from_utf8(bytes).map_err(|e| DecodeError {
            at: start + e.valid_up_to(),
            what: format!("{what} is not UTF-8"),
        })
    }

    /// A count of items that each take at least `min_bytes`: refused when the buffer could
    /// not hold that many, so that no count makes a decoder allocate past the buffer's size.
    pub(crate) fn count(&mut self, min_bytes: usize, what: &str) -> Result<usize, DecodeError> {
        let start = self.at;
        let n = self.u32(what)?;
        if n.saturating_mul(min_bytes) > self.left() {
            return Err(DecodeError {
                at: start,
                what: format!(
                    "{what} is {n}, more than the {} bytes after it can hold",
                    self.left()
                ),
            });
        }
        Ok(n)
    }

    /// The magic, the kind and the row count.
    pub(crate) fn header(&mut self, kind: Kind) -> Result<usize, DecodeError> {
        if self.array::<4>("the magic")? != MAGIC {
            self.at = 0;
            return self.fail("it does not begin with `WSB1`");
        }
        let found = self.u8("the kind")?;
        if found != kind as u8 {
            self.at -= 1;
            return self.fail(format!(
                "expected kind {} ({kind:?}), found {found}",
                kind as u8
            ));
        }
        self.count(1, "the row count")
    }

    /// One byte per row, each one of `allowed`.
    pub(crate) fn bytes(
        &mut self,
        rows: usize,
        allowed: &[u8],
        what: &str,
    ) -> Result<&'a [u8], DecodeError> {
        let mut valid = [false; 256];
        for &b in allowed {
            valid[usize::from(b)] = true;
        }
        let start = self.at;
        let bytes = self.take(rows, what)?;
        if let Some(i) = bytes.iter().position(|&b| !valid[usize::from(b)]) {
            return Err(DecodeError {
                at: start + i,
                what: format!("{what} of row {i} is {}, not one of {allowed:?}", bytes[i]),
            });
        }
        Ok(bytes)
    }

    /// A column of `rows` values where no row may be absent, each made into a `T` by `f`.
    pub(crate) fn values<T>(
        &mut self,
        rows: usize,
        mut f: impl FnMut(ValueRef<'a>) -> T,
    ) -> Result<Vec<T>, DecodeError> {
        let mut values = Vec::with_capacity(rows);
        self.values_each(rows, |value| values.push(f(value)))?;
        Ok(values)
    }

    /// A column of `rows` values where no row may be absent, each handed to `f`.
    pub(crate) fn values_each(
        &mut self,
        rows: usize,
        mut f: impl FnMut(ValueRef<'a>),
    ) -> Result<(), DecodeError> {
        let start = self.at;
        self.column_each(rows, |row, value| match value {
            Some(value) => {
                f(value);
                Ok(())
            }
            None => Err(DecodeError {
                at: start + row,
                what: format!("row {row} is absent in a column of values"),
            }),
        })
    }

    /// A column of `rows` rows: tags, then payloads. `None` is an absent row.
    pub(crate) fn column(&mut self, rows: usize) -> Result<Vec<Option<ValueRef<'a>>>, DecodeError> {
        let mut out = Vec::with_capacity(rows);
        self.column_each(rows, |_, value| {
            out.push(value);
            Ok(())
        })?;
        Ok(out)
    }

    /// Reads a column of `rows` rows, handing each row to `f` as it is read: no row is kept
    /// that the caller does not keep.
    fn column_each(
        &mut self,
        rows: usize,
        mut f: impl FnMut(usize, Option<ValueRef<'a>>) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        let tags = self.bytes(rows, &ALL_TAGS, "the tag")?;
        for (row, &tag) in tags.iter().enumerate() {
            let value = match tag {
                tag::ABSENT => None,
                tag::NULL => Some(ValueRef::Null),
                tag::BOOLEAN => Some(match self.u8("a boolean")? {
                    0 => ValueRef::Boolean(false),
                    1 => ValueRef::Boolean(true),
                    other => {
                        self.at -= 1;
                        return self.fail(format!("a boolean is {other}, not 0 or 1"));
                    }
                }),
                tag::INTEGER => Some(ValueRef::Integer(self.i64("an integer")?)),
                tag::FLOAT => Some(ValueRef::Float(f64::from_bits(self.i64("a float")? as u64))),
                tag::TEXT => Some(ValueRef::Text(self.text("a text")?)),
                tag::TIMESTAMP => Some(ValueRef::Timestamp(self.i64("a timestamp")?)),
                _ => Some(ValueRef::Json(self.text("a JSON text")?)),
            };
            f(row, value)?;
        }
        Ok(())
    }

    /// Refuses bytes after the end of the batch.
    pub(crate) fn end(&self) -> Result<(), DecodeError> {
        match self.left() {
            0 => Ok(()),
            n => self.fail(format!("{n} bytes follow the end of the batch")),
        }
    }
}

const ALL_TAGS: [u8; 8] = [
    tag::ABSENT,
    tag::NULL,
    tag::BOOLEAN,
    tag::INTEGER,
    tag::FLOAT,
    tag::TEXT,
    tag::TIMESTAMP,
    tag::JSON,
];
