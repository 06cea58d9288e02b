//! A column of values: one tag byte per row, then the rows' payloads in row order. Writers
//! write a column's tags and then its payloads straight into their one buffer.

use crate::{ValueRef, put_text};

/// The tag of each row of a column.
pub(crate) mod tag {
    /// The field is not in this record (records' field columns only).
    pub const ABSENT: u8 = 0;
    pub const NULL: u8 = 1;
    pub const BOOLEAN: u8 = 2;
    pub const INTEGER: u8 = 3;
    pub const FLOAT: u8 = 4;
    pub const TEXT: u8 = 5;
    pub const TIMESTAMP: u8 = 6;
    pub const JSON: u8 = 7;
}

/// The tag of a row holding `value`.
pub(crate) fn tag_of(value: ValueRef<'_>) -> u8 {
    match value {
        ValueRef::Null => tag::NULL,
        ValueRef::Boolean(_) => tag::BOOLEAN,
        ValueRef::Integer(_) => tag::INTEGER,
        ValueRef::Float(_) => tag::FLOAT,
        ValueRef::Text(_) => tag::TEXT,
        ValueRef::Timestamp(_) => tag::TIMESTAMP,
        ValueRef::Json(_) => tag::JSON,
    }
}

/// Appends the payload of `value`.
pub(crate) fn put_payload(out: &mut Vec<u8>, value: ValueRef<'_>) {
    match value {
        ValueRef::Null => {}
        ValueRef::Boolean(b) => out.push(u8::from(b)),
        ValueRef::Integer(n) | ValueRef::Timestamp(n) => out.extend_from_slice(&n.to_le_bytes()),
        ValueRef::Float(x) => out.extend_from_slice(&x.to_le_bytes()),
        ValueRef::Text(text) | ValueRef::Json(text) => put_text(out, text),
    }
}

/// The bytes [`put_payload`] appends for `value`.
pub(crate) fn payload_len(value: ValueRef<'_>) -> usize {
    match value {
        ValueRef::Null => 0,
        ValueRef::Boolean(_) => 1,
        ValueRef::Integer(_) | ValueRef::Timestamp(_) | ValueRef::Float(_) => 8,
        ValueRef::Text(text) | ValueRef::Json(text) => 4 + text.len(),
    }
}
