//! Records, one per row, with a column per field name.
//!
//! Layout after the header: the rows' ids (a text each), a column of their watermarks, a
//! deleted byte per row (0 or 1), the number of field columns, then each field column: its
//! name (a text) and a column in which a record without that field is absent. Field names
//! are unique in a batch; a record's fields come back in the batch's column order.

use crate::decode::Reader;
use crate::{DecodeError, Kind, ValueRef, column, header, len_u32, put_text};
use std::collections::HashMap;

/// A record as [`encode_records`] reads it: whatever type the caller keeps records in.
pub trait EncodeRecord {
    /// Its id.
    fn id(&self) -> &str;
    /// Its watermark.
    fn watermark(&self) -> ValueRef<'_>;
    /// Whether it is deleted.
    fn deleted(&self) -> bool;
    /// How many fields it has.
    fn field_count(&self) -> usize;
    /// Its `i`th field: a name and a value.
    fn field(&self, i: usize) -> (&str, ValueRef<'_>);
}

/// Encodes records into one buffer of exactly the size they need: a plugin's memory holds
/// the records and the batch, never a third copy besides (its memory is capped). A field
/// named twice in one record keeps its first value.
pub fn encode_records<R: EncodeRecord>(records: &[R]) -> Vec<u8> {
    // The columns, in the order their fields are first seen; per record and column, which
    // of the record's fields goes there. Records of one system tend to list the same
    // fields in the same order: the column at the field's position is tried first.
    let mut names: Vec<&str> = Vec::new();
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    let mut at: Vec<Vec<(usize, usize)>> = Vec::with_capacity(records.len());
    let mut body = records.len() * 2 + 4;
    for record in records {
        let mut cells = Vec::with_capacity(record.field_count());
        for i in 0..record.field_count() {
            let (name, _) = record.field(i);
            let column = match names.get(i) {
                Some(&n) if n == name => i,
                _ => *by_name.entry(name).or_insert_with(|| {
                    names.push(name);
                    names.len() - 1
                }),
            };
            if !cells.iter().any(|&(c, _)| c == column) {
                cells.push((column, i));
            }
        }
        cells.sort_unstable();
        at.push(cells);
        body += 4 + record.id().len() + column::payload_len(record.watermark());
    }
    body += names
        .iter()
        .map(|n| 4 + n.len() + records.len())
        .sum::<usize>();
    for (record, cells) in records.iter().zip(&at) {
        body += cells
            .iter()
            .map(|&(_, i)| column::payload_len(record.field(i).1))
            .sum::<usize>();
    }

    let mut out = header(Kind::Records, records.len(), body);
    for record in records {
        put_text(&mut out, record.id());
    }
    out.extend(records.iter().map(|r| column::tag_of(r.watermark())));
    for record in records {
        column::put_payload(&mut out, record.watermark());
    }
    out.extend(records.iter().map(|r| u8::from(r.deleted())));
    out.extend_from_slice(&len_u32(names.len()).to_le_bytes());
    // Each record's cells are in column order: one cursor per record walks them.
    let mut next = vec![0; records.len()];
    let mut present = Vec::with_capacity(records.len());
    for (column, name) in names.iter().enumerate() {
        put_text(&mut out, name);
        present.clear();
        for (row, cells) in at.iter().enumerate() {
            if let Some(&(c, i)) = cells.get(next[row])
                && c == column
            {
                next[row] += 1;
                present.push((row, i));
            }
        }
        let tags = out.len();
        out.resize(tags + records.len(), column::tag::ABSENT);
        for &(row, i) in &present {
            out[tags + row] = column::tag_of(records[row].field(i).1);
        }
        for &(row, i) in &present {
            column::put_payload(&mut out, records[row].field(i).1);
        }
    }
    out
}

/// A decoded batch of records, borrowed from its buffer.
#[derive(Debug, Clone, PartialEq)]
pub struct Records<'a> {
    /// Each record's id.
    pub ids: Vec<&'a str>,
    /// Each record's watermark.
    pub watermarks: Vec<ValueRef<'a>>,
    /// Whether each record is deleted.
    pub deleted: Vec<bool>,
    /// The field columns: a name, and per record the value or `None` where the record does
    /// not have the field.
    pub columns: Vec<(&'a str, Vec<Option<ValueRef<'a>>>)>,
}

impl<'a> Records<'a> {
    /// How many records.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The fields record `row` has, in column order.
    pub fn fields(&self, row: usize) -> impl Iterator<Item = (&'a str, ValueRef<'a>)> + '_ {
        self.columns
            .iter()
            .filter_map(move |(name, column)| column[row].map(|value| (*name, value)))
    }
}

/// Decodes a buffer of records.
pub fn decode_records(buf: &[u8]) -> Result<Records<'_>, DecodeError> {
    let mut reader = Reader::new(buf);
    let rows = reader.header(Kind::Records)?;
    let mut ids = Vec::with_capacity(rows);
    for _ in 0..rows {
        ids.push(reader.text("an id")?);
    }
    let watermarks = reader.values(rows, |value| value)?;
    let deleted = reader
        .bytes(rows, &[0, 1], "the deleted flag")?
        .iter()
        .map(|&b| b == 1)
        .collect();
    let count = reader.count(4 + rows, "the field count")?;
    let mut columns: Vec<(&str, Vec<Option<ValueRef<'_>>>)> = Vec::with_capacity(count);
    let mut seen = std::collections::HashSet::with_capacity(count);
    for _ in 0..count {
        let name = reader.text("a field name")?;
        if !seen.insert(name) {
            return reader.fail(format!("the field `{name}` has two columns"));
        }
        columns.push((name, reader.column(rows)?));
    }
    reader.end()?;
    Ok(Records {
        ids,
        watermarks,
        deleted,
        columns,
    })
}

impl<R: EncodeRecord + ?Sized> EncodeRecord for &R {
    fn id(&self) -> &str {
        (**self).id()
    }
    fn watermark(&self) -> ValueRef<'_> {
        (**self).watermark()
    }
    fn deleted(&self) -> bool {
        (**self).deleted()
    }
    fn field_count(&self) -> usize {
        (**self).field_count()
    }
    fn field(&self, i: usize) -> (&str, ValueRef<'_>) {
        (**self).field(i)
    }
}
