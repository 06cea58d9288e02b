//! A column of values: one tag byte per row, then the rows' payloads in row order.

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

/// A column being written.
#[derive(Debug, Default, Clone)]
pub struct Column {
    tags: Vec<u8>,
    payload: Vec<u8>,
}

impl Column {
    /// An empty column with room for `rows` rows.
    pub fn with_capacity(rows: usize) -> Self {
        Column {
            tags: Vec::with_capacity(rows),
            payload: Vec::with_capacity(rows * 8),
        }
    }

    /// Appends a row holding `value`.
    pub fn push(&mut self, value: ValueRef<'_>) {
        self.tags.push(tag_of(value));
        put_payload(&mut self.payload, value);
    }

    /// Appends a row where the field is absent.
    pub fn push_absent(&mut self) {
        self.tags.push(tag::ABSENT);
    }

    /// Its rows so far.
    pub fn len(&self) -> usize {
        self.tags.len()
    }

    /// Whether it has no rows.
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }

    /// The bytes [`Column::write_to`] appends.
    pub fn encoded_len(&self) -> usize {
        self.tags.len() + self.payload.len()
    }

    /// Appends the column: its tags, then its payloads.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.tags);
        out.extend_from_slice(&self.payload);
    }
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
