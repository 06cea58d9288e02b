//! The in-memory index of one entity's file: the latest version of each record, sorted by
//! (watermark, id), built from the bytes of the file as they are appended.
//!
//! Each line is parsed once when it is taken in; the index keeps only where it is in the
//! file and what reads and writes look up (id, watermark, tombstone, upsert key), so it
//! costs a few dozen bytes per record however long its line. A page of records is read
//! back from the file and parsed again when it is read, as is the line an update builds on.

use crate::line::{DELETED_MARKER, Version, broken_record, record_fields, scan_line};
use crate::settings::EntitySettings;
use crate::span::{Reread, Source, Span, read_each, word};
use crate::value::Mark;
use slots::{Slot, Slots};
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use wasync_sdk::{Record, Timestamp, Value};

pub mod persist;
mod slots;

/// The index of one entity's file.
#[derive(Debug, Default)]
pub struct Index {
    /// Bytes of the file taken in so far: complete lines only.
    offset: u64,
    /// Lines taken in so far, for line numbers.
    lines: u64,
    /// Where the file was taken in to when the index was last kept beside it (or read
    /// from there).
    kept: u64,
    /// Every version taken in, and which is each id's latest.
    slots: Slots,
    /// Every slot in (watermark, id) order, up to `sorted`; lines taken in since are
    /// after it, and sorted in at the next page. A superseded slot keeps its place until it
    /// is compacted away.
    order: Vec<u32>,
    sorted: usize,
    /// Live records by their upsert key's value.
    keys: HashMap<String, u32>,
    /// The upsert key's value of each slot whose line had one (most files have none).
    keys_of: HashMap<u32, Box<str>>,
    /// The message of each line that is not a record, by slot.
    broken: HashMap<u32, String>,
    /// The largest watermark seen, for lines that carry none of their own.
    max_mark: Option<Mark>,
    /// The largest timestamp watermark seen, which writes must pass.
    max_timestamp: Option<Timestamp>,
    /// Field names in the order they first appeared.
    fields: Vec<String>,
    seen: HashSet<String>,
    /// The keys of the last record line, in order.
    last_keys: Vec<String>,
    /// What the file looked like where the index stopped.
    file: Seen,
}

/// What a file looked like when an index last took it in, to tell lines appended to it
/// from a file truncated, rewritten or edited since.
#[derive(Debug, Default)]
pub struct Seen {
    /// The bytes just before where the index stopped.
    pub tail: Vec<u8>,
    /// When the file was last modified, where the file system says.
    pub modified: Option<std::time::SystemTime>,
}

impl Index {
    /// Bytes of the file already taken in.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// What the file looked like when the index last took it in.
    pub fn seen(&self) -> &Seen {
        &self.file
    }

    /// Remembers what the file looks like now that the index has taken it in.
    pub fn set_seen(&mut self, seen: Seen) {
        self.file = seen;
    }

    /// Remembers when the file was last modified, once it is taken in.
    pub fn set_modified(&mut self, modified: Option<std::time::SystemTime>) {
        self.file.modified = modified;
    }

    /// Takes in the complete lines at the start of `bytes`, which continue the file at
    /// [`offset`](Self::offset). A trailing partial line is left for a later call.
    pub fn ingest(&mut self, bytes: &[u8], entity: &EntitySettings) {
        let mut start = 0;
        while let Some(len) = find(&bytes[start..], b'\n') {
            self.lines += 1;
            let at = self.offset + start as u64;
            self.take_line(at, &bytes[start..start + len], entity);
            start += len + 1;
        }
        self.offset += start as u64;
    }

    /// Up to `limit` records after `after` whose watermark is at most `until`, in
    /// (watermark, id) order, and whether more such records follow. Their lines are read
    /// from `file`, which must be the file the index has taken in.
    pub fn page(
        &mut self,
        after: Option<(Mark, String)>,
        until: Option<&Mark>,
        limit: usize,
        entity: &EntitySettings,
        file: &mut dyn Source,
    ) -> Result<(Vec<Record>, bool), Reread> {
        self.settle();
        let slots = &self.slots;
        let start = match &after {
            Some((mark, id)) => self.order.partition_point(|&slot| {
                let at = slots.get(slot);
                (&at.mark, slots.id_bytes(slot)) <= (mark, id.as_bytes())
            }),
            None => 0,
        };
        let mut matching = self.order[start..]
            .iter()
            .copied()
            .filter(|&slot| !slots.get(slot).superseded)
            .take_while(|&slot| until.is_none_or(|until| slots.get(slot).mark <= *until));
        let chosen: Vec<u32> = matching.by_ref().take(limit).collect();
        let more = matching.next().is_some();
        let mut records: Vec<Option<Record>> = Vec::with_capacity(chosen.len());
        let mut wanted = Vec::new();
        for (n, &slot) in chosen.iter().enumerate() {
            let at = slots.get(slot);
            if at.broken {
                let message = self.broken.get(&slot).map_or("", String::as_str);
                records.push(Some(broken_record(
                    u64::from(at.line),
                    message,
                    at.mark.0.clone(),
                )));
            } else {
                records.push(None);
                wanted.push((n, at.span));
            }
        }
        read_each(file, &mut wanted, |n, text| {
            records[n] = Some(record(slots, chosen[n], text, entity));
        })?;
        Ok((records.into_iter().flatten().collect(), more))
    }

    /// Sorts in the slots taken in since the last page, and drops superseded ones once
    /// they are as many as the records.
    fn settle(&mut self) {
        let slots = &self.slots;
        if self.sorted < self.order.len() {
            // A file in watermark order appends in order: the sort finds one run.
            self.order.sort_by(|&a, &b| compare(slots, a, b));
            self.sorted = self.order.len();
        }
        if slots.superseded > slots.records().max(1024) {
            let renumber = self.slots.compact();
            // Dropping slots keeps the order of the others: the order stays sorted.
            self.order
                .retain(|&slot| renumber[slot as usize] != u32::MAX);
            for slot in &mut self.order {
                *slot = renumber[*slot as usize];
            }
            self.sorted = self.order.len();
            for slot in self.keys.values_mut() {
                *slot = renumber[*slot as usize];
            }
            self.broken = renumbered(std::mem::take(&mut self.broken), &renumber);
            self.keys_of = renumbered(std::mem::take(&mut self.keys_of), &renumber);
        }
    }

    /// The line of the latest version of a live record, read from `file`, for an update to
    /// build on.
    pub fn live_line(&self, id: &str, file: &mut dyn Source) -> Result<Option<String>, Reread> {
        self.live_span(id).map(|span| span.read(file)).transpose()
    }

    /// Where the line of the latest version of a live record is.
    fn live_span(&self, id: &str) -> Option<Span> {
        let slot = self.slots.get(self.slots.latest(id)?);
        (!slot.deleted && !slot.broken).then_some(slot.span)
    }

    /// The lines of the latest versions of the live records among `ids`, read from `file`
    /// together in file order (a batch of updates read them one by one, each read a call
    /// out of the sandbox: the most of a write's time).
    pub fn live_lines(
        &self,
        ids: &[&str],
        file: &mut dyn Source,
    ) -> Result<HashMap<String, String>, Reread> {
        let mut wanted: Vec<(usize, Span)> = (ids.iter().enumerate())
            .filter_map(|(n, id)| Some((n, self.live_span(id)?)))
            .collect();
        let mut lines = HashMap::with_capacity(wanted.len());
        read_each(file, &mut wanted, |n, text| {
            lines.insert(ids[n].to_owned(), text.to_owned());
        })?;
        Ok(lines)
    }

    /// Whether any line, live, deleted or broken, has this id.
    pub fn contains(&self, id: &str) -> bool {
        self.slots.latest(id).is_some()
    }

    /// Whether the record with this id is live, and its upsert key.
    pub fn live_key(&self, id: &str) -> Option<Option<&str>> {
        let number = self.slots.latest(id)?;
        let slot = self.slots.get(number);
        (!slot.deleted).then(|| self.keys_of.get(&number).map(|key| &**key))
    }

    /// The live record whose upsert key has this value.
    pub fn id_for_key(&self, key: &str) -> Option<&str> {
        self.keys.get(key).map(|&slot| self.slots.id(slot))
    }

    /// The largest timestamp watermark in the file.
    pub fn max_timestamp(&self) -> Option<Timestamp> {
        self.max_timestamp
    }

    /// The field names seen in the file, in the order they first appeared.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// Parses one line (without its newline), found at byte `at` of the file, and makes it
    /// the latest version of its record.
    fn take_line(&mut self, at: u64, bytes: &[u8], entity: &EntitySettings) {
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        const BOM: &[u8] = "\u{feff}".as_bytes();
        let (at, bytes) = match bytes.strip_prefix(BOM) {
            Some(rest) if self.lines == 1 => (at + BOM.len() as u64, rest),
            _ => (at, bytes),
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => return self.take_broken(format!("not UTF-8 ({e})"), None),
        };
        // Names new to the index, kept only if the line turns out to be a record. Lines
        // mostly repeat the keys of the line before, in order: those are known already.
        let mut fresh: Vec<String> = Vec::new();
        let (seen, last) = (&self.seen, &self.last_keys);
        let (mut key_at, mut differs): (usize, Option<(usize, Vec<String>)>) = (0, None);
        let scanned = scan_line(text, entity, |name| {
            match &mut differs {
                None if last.get(key_at).is_some_and(|k| k == name) => {}
                _ => {
                    differs
                        .get_or_insert_with(|| (key_at, Vec::new()))
                        .1
                        .push(name.to_owned());
                    if name != DELETED_MARKER
                        && !seen.contains(name)
                        && !fresh.iter().any(|f| f == name)
                    {
                        fresh.push(name.to_owned());
                    }
                }
            }
            key_at += 1;
        });
        match scanned {
            Ok(version) => {
                if let Some((from, rest)) =
                    differs.or((key_at < self.last_keys.len()).then(|| (key_at, Vec::new())))
                {
                    self.last_keys.truncate(from);
                    self.last_keys.extend(rest);
                }
                self.seen.extend(fresh.iter().cloned());
                self.fields.extend(fresh);
                self.take_version(Span::new(at, bytes), version);
            }
            Err(broken) => self.take_broken(broken.message, broken.watermark),
        }
    }

    fn take_version(&mut self, span: Span, version: Version) {
        let mut slot = Slot::new(Mark(version.watermark), span, self.lines);
        slot.deleted = version.deleted;
        let number = self.insert(&version.id, slot, version.key.as_deref());
        if let Some(key) = version.key {
            self.keys_of.insert(number, key.into_boxed_str());
        }
    }

    /// A line that is not a record becomes a record of its own, so that it is not lost. With
    /// no watermark of its own it takes the largest seen so far, to be read in file order.
    fn take_broken(&mut self, message: String, watermark: Option<Value>) {
        let watermark = match watermark {
            Some(Value::Null) | None => self.max_mark.clone().map_or(Value::Null, |m| m.0),
            Some(watermark) => watermark,
        };
        let mut slot = Slot::new(Mark(watermark), Span::new(0, b""), self.lines);
        slot.broken = true;
        let number = self.insert(&format!("line:{}", self.lines), slot, None);
        self.broken.insert(number, message);
    }

    /// Makes `slot`, with upsert key `key`, the latest version of `id`, superseding the one
    /// before; returns its number.
    fn insert(&mut self, id: &str, slot: Slot, key: Option<&str>) -> u32 {
        let mark = slot.mark.clone();
        let live_key = key.filter(|_| !slot.deleted);
        let (number, old) = self.slots.push(id, slot);
        if let Some(old) = old
            && let Some(key) = self.keys_of.get(&old)
            && self.keys.get(&**key) == Some(&old)
        {
            self.keys.remove(&**key);
        }
        if let Some(key) = live_key {
            self.keys.insert(key.to_owned(), number);
        }
        if let Value::Timestamp(t) = mark.0 {
            self.max_timestamp = Some(self.max_timestamp.map_or(t, |max| max.max(t)));
        }
        if self.max_mark.as_ref().is_none_or(|max| *max < mark) {
            self.max_mark = Some(mark);
        }
        // In order while lines come in watermark order; else sorted at the next page.
        let in_order = self.sorted == self.order.len()
            && self
                .order
                .last()
                .is_none_or(|&last| compare(&self.slots, last, number) != Ordering::Greater);
        self.order.push(number);
        if in_order {
            self.sorted = self.order.len();
        }
        number
    }
}

/// `by_slot` for the slots kept, by their new numbers.
fn renumbered<T>(by_slot: HashMap<u32, T>, renumber: &[u32]) -> HashMap<u32, T> {
    (by_slot.into_iter())
        .filter(|(slot, _)| renumber[*slot as usize] != u32::MAX)
        .map(|(slot, value)| (renumber[slot as usize], value))
        .collect()
}

/// Slots in (watermark, id) order.
fn compare(slots: &Slots, a: u32, b: u32) -> Ordering {
    let (x, y) = (slots.get(a), slots.get(b));
    x.mark
        .cmp(&y.mark)
        .then_with(|| slots.id_bytes(a).cmp(slots.id_bytes(b)))
}

/// The record of `slot` as a read returns it (tombstones included), from its line's `text`.
fn record(slots: &Slots, slot: u32, text: &str, entity: &EntitySettings) -> Record {
    let at = slots.get(slot);
    let watermark = at.mark.0.clone();
    match record_fields(text, entity) {
        Ok(fields) => Record {
            id: slots.id(slot).to_owned(),
            watermark,
            fields,
            deleted: at.deleted,
        },
        Err(message) => broken_record(u64::from(at.line), &message, watermark),
    }
}

/// `byte` in each byte of a word.
const fn repeat(byte: u8) -> u64 {
    u64::from_le_bytes([byte; 8])
}

/// Non-zero when some byte of `word` is zero (the classic test: exact as to whether).
const fn zero_byte(word: u64) -> u64 {
    word.wrapping_sub(repeat(1)) & !word & repeat(0x80)
}

/// Where the first `byte` of `bytes` is, a word at a time: in the sandbox a byte-by-byte
/// search for each line's end was a tenth of taking a file in.
fn find(bytes: &[u8], byte: u8) -> Option<usize> {
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        if zero_byte(word(chunk) ^ repeat(byte)) != 0 {
            break;
        }
        at += 8;
    }
    bytes[at..].iter().position(|&b| b == byte).map(|i| at + i)
}

#[cfg(test)]
mod tests;
