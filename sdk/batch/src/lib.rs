//! The byte layout in which a batch crosses the wasync plugin contract from
//! `wasync:plugin@0.2.0` on: one `list<u8>` per call instead of one canonical-ABI value per
//! field, so a batch of 10,000 values costs one copy into the plugin, not 10,000 calls to
//! its allocator.
//!
//! `docs/batch.md` is the specification; this crate is its one Rust implementation, shared
//! by the host and the Rust SDK. Every decoder treats its input as hostile: it checks every
//! length against what is left, every text for UTF-8 and every tag and row count, and
//! answers a [`DecodeError`] naming the byte where the buffer went wrong. It never panics
//! and never allocates more than the buffer's own size suggests.

mod column;
mod decode;
mod records;
mod results;

pub use decode::DecodeError;
pub use records::{EncodeRecord, Records, decode_records, encode_records};
pub use results::{ErrorKind, ErrorRef, decode_results, decode_results_with, encode_results};

/// The first four bytes of every batch: the layout's name and version.
pub const MAGIC: [u8; 4] = *b"WSB1";

/// What a buffer holds, the byte after [`MAGIC`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// Values, one per row: a transform's input.
    Values = 1,
    /// One result per row, a value or an error: a transform's output.
    Results = 2,
    /// Records, one per row.
    Records = 3,
}

/// One value, borrowed from a buffer being read or written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    /// No value.
    Null,
    /// True or false.
    Boolean(bool),
    /// A whole number.
    Integer(i64),
    /// A floating-point number.
    Float(f64),
    /// UTF-8 text.
    Text(&'a str),
    /// Microseconds since 1970-01-01T00:00:00Z.
    Timestamp(i64),
    /// Nested data as JSON text.
    Json(&'a str),
}

/// Encodes a batch of values (a transform's input).
pub fn encode_values<'a, I>(values: I) -> Vec<u8>
where
    I: IntoIterator<Item = ValueRef<'a>>,
    I::IntoIter: Clone,
{
    let mut out = Vec::new();
    encode_values_into(values, &mut out);
    out
}

/// Encodes a batch of values into `out`, which is cleared first: a caller that encodes a
/// batch per call keeps one buffer (and its memory) for all of them. Reads `values` twice,
/// once for the tags and once for the payloads.
pub fn encode_values_into<'a, I>(values: I, out: &mut Vec<u8>)
where
    I: IntoIterator<Item = ValueRef<'a>>,
    I::IntoIter: Clone,
{
    let values = values.into_iter();
    out.clear();
    put_header(out, Kind::Values, 0);
    let mut rows = 0;
    for value in values.clone() {
        out.push(column::tag_of(value));
        rows += 1;
    }
    out[5..9].copy_from_slice(&len_u32(rows).to_le_bytes());
    for value in values {
        column::put_payload(out, value);
    }
}

/// Decodes a batch of values.
pub fn decode_values(buf: &[u8]) -> Result<Vec<ValueRef<'_>>, DecodeError> {
    decode_values_with(buf, |value| value)
}

/// Decodes a batch of values, each made into a `T` by `f` as it is read (an owned value,
/// without a vector of borrowed ones in between).
pub fn decode_values_with<'a, T>(
    buf: &'a [u8],
    f: impl FnMut(ValueRef<'a>) -> T,
) -> Result<Vec<T>, DecodeError> {
    let mut reader = decode::Reader::new(buf);
    let rows = reader.header(Kind::Values)?;
    let values = reader.values(rows, f)?;
    reader.end()?;
    Ok(values)
}

/// The header of a buffer of `kind` with `rows` rows, with room for `body` more bytes.
fn header(kind: Kind, rows: usize, body: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + body);
    put_header(&mut out, kind, rows);
    out
}

/// Appends the header of a buffer of `kind` with `rows` rows.
fn put_header(out: &mut Vec<u8>, kind: Kind, rows: usize) {
    out.extend_from_slice(&MAGIC);
    out.push(kind as u8);
    out.extend_from_slice(&len_u32(rows).to_le_bytes());
}

/// A length or count as the layout writes it. Batches are bounded far below 4 GiB (a
/// plugin's memory is at most 4 GiB in all), so a larger one is a bug, not input.
fn len_u32(n: usize) -> u32 {
    u32::try_from(n).expect("a batch part under 4 GiB")
}

/// Appends `text` as a length and its bytes.
fn put_text(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(&len_u32(text.len()).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
}

#[cfg(test)]
mod tests;
