//! One result per row, a value or an error: what a transform returns.
//!
//! Layout after the header: a status byte per row ([`status::OK`] or [`status::ERROR`]),
//! then the errors of the rows that are not ok (a kind byte and a text each), in row order,
//! then a column of the values of the rows that are ok, in row order. Errors come first
//! because they are few: a reader keeps them aside and streams the values into their rows.

use crate::decode::Reader;
use crate::{DecodeError, Kind, ValueRef, column, header, put_text};

/// The status of a row.
pub(crate) mod status {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 4;
}

/// What kind of error a row failed with: the cases of the WIT `error` variant, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ErrorKind {
    /// The configuration is not usable.
    InvalidConfig = 0,
    /// This input is not usable.
    InvalidInput = 1,
    /// A capability was not granted.
    AccessDenied = 2,
    /// What was asked for does not exist.
    NotFound = 3,
    /// Credentials were missing, expired or rejected.
    Unauthorized = 4,
    /// Asked to slow down, or a budget is spent.
    RateLimited = 5,
    /// A passing failure.
    Unavailable = 6,
    /// Anything else, and any kind a later layout adds.
    Other = 7,
}

impl ErrorKind {
    /// The kind a byte names; a kind this layout does not know is [`ErrorKind::Other`], so
    /// that later versions may add kinds.
    pub fn from_byte(byte: u8) -> Self {
        match byte {
            0 => ErrorKind::InvalidConfig,
            1 => ErrorKind::InvalidInput,
            2 => ErrorKind::AccessDenied,
            3 => ErrorKind::NotFound,
            4 => ErrorKind::Unauthorized,
            5 => ErrorKind::RateLimited,
            6 => ErrorKind::Unavailable,
            _ => ErrorKind::Other,
        }
    }
}

/// A row's error, borrowed from its buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorRef<'a> {
    /// Its kind.
    pub kind: ErrorKind,
    /// Its message, for a person.
    pub message: &'a str,
}

/// Encodes results into one buffer of exactly the size they need, dropping each result as
/// soon as its value is written: a plugin's memory holds a large value and its copy in the
/// batch, never a third copy besides (its memory is capped).
pub fn encode_results<T, E>(
    results: Vec<Result<T, E>>,
    value: impl for<'v> Fn(&'v T) -> ValueRef<'v>,
    error: impl for<'v> Fn(&'v E) -> (ErrorKind, &'v str),
) -> Vec<u8> {
    let mut body = results.len();
    for result in &results {
        body += match result {
            Ok(ok) => 1 + column::payload_len(value(ok)),
            Err(e) => 5 + error(e).1.len(),
        };
    }
    let mut out = header(Kind::Results, results.len(), body);
    out.extend(results.iter().map(|r| match r {
        Ok(_) => status::OK,
        Err(_) => status::ERROR,
    }));
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        let (kind, message) = error(e);
        out.push(kind as u8);
        put_text(&mut out, message);
    }
    out.extend(
        results
            .iter()
            .filter_map(|r| r.as_ref().ok().map(|v| column::tag_of(value(v)))),
    );
    for ok in results.into_iter().filter_map(Result::ok) {
        column::put_payload(&mut out, value(&ok));
    }
    out
}

/// Decodes a buffer of results.
#[allow(clippy::type_complexity)]
pub fn decode_results(buf: &[u8]) -> Result<Vec<Result<ValueRef<'_>, ErrorRef<'_>>>, DecodeError> {
    decode_results_with(buf, |value| value, |error| error)
}

/// Decodes a buffer of results, each value made into a `T` by `ok` and each error into an
/// `E` by `err` as it is read.
pub fn decode_results_with<'a, T, E>(
    buf: &'a [u8],
    mut ok: impl FnMut(ValueRef<'a>) -> T,
    mut err: impl FnMut(ErrorRef<'a>) -> E,
) -> Result<Vec<Result<T, E>>, DecodeError> {
    let mut reader = Reader::new(buf);
    let rows = reader.header(Kind::Results)?;
    let statuses = reader.bytes(rows, &[status::OK, status::ERROR], "the status")?;
    let mut errors = Vec::new();
    for _ in statuses.iter().filter(|&&s| s == status::ERROR) {
        errors.push(err(ErrorRef {
            kind: ErrorKind::from_byte(reader.u8("an error's kind")?),
            message: reader.text("an error's message")?,
        }));
    }
    let mut errors = errors.into_iter();
    let oks = rows - errors.len();
    let mut out = Vec::with_capacity(rows);
    let mut rows = statuses.iter();
    reader.values_each(oks, |value| {
        // Each error row before this value, then the value's own row.
        for _ in rows.by_ref().take_while(|&&s| s == status::ERROR) {
            out.push(Err(errors.next().expect("one error per error row")));
        }
        out.push(Ok(ok(value)));
    })?;
    out.extend(errors.map(Err));
    reader.end()?;
    Ok(out)
}
