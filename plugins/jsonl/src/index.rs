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
use std::collections::btree_map::Entry as Slot;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::Bound;
use std::sync::Arc;
use wasync_sdk::{Record, Timestamp, Value};

/// The index of one entity's file.
#[derive(Debug, Default)]
pub struct Index {
    /// Bytes of the file taken in so far: complete lines only.
    offset: u64,
    /// Lines taken in so far, for line numbers.
    lines: u64,
    /// The latest version of each record, by id. A B-tree, not a hash map: a hash map
    /// doubles as it grows, and for that moment needs its old table and its new one, twice
    /// the index (a million records went past the plugin's 256 MiB).
    entries: BTreeMap<IdKey, Entry>,
    /// Every record's (watermark, id), in read order. The id is the one `entries` holds,
    /// shared: each record's id is kept once.
    order: BTreeSet<(Mark, Arc<str>)>,
    /// Live records by their upsert key's value.
    keys: HashMap<String, Arc<str>>,
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

/// The latest version of one record.
#[derive(Debug)]
pub struct Entry {
    mark: Mark,
    deleted: bool,
    key: Option<String>,
    body: Body,
}

/// Where a record's content comes from.
#[derive(Debug)]
enum Body {
    /// A line that holds a record, with its line number and where it is.
    Line(u64, Span),
    /// A line that does not: its message, with its line number.
    Broken(u64, String),
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
        &self,
        after: Option<(Mark, String)>,
        until: Option<&Mark>,
        limit: usize,
        entity: &EntitySettings,
        file: &mut dyn Source,
    ) -> Result<(Vec<Record>, bool), Reread> {
        let start = after.map_or(Bound::Unbounded, |(mark, id)| {
            Bound::Excluded((mark, Arc::from(id)))
        });
        let mut matching = self
            .order
            .range((start, Bound::Unbounded))
            .take_while(|(mark, _)| until.is_none_or(|until| mark <= until));
        let entries: Vec<(&str, &Entry)> = matching
            .by_ref()
            .take(limit)
            .filter_map(|(_, id)| Some((&**id, self.entries.get(&IdKey(id.clone()))?)))
            .collect();
        let more = matching.next().is_some();
        let mut records: Vec<Option<Record>> = Vec::with_capacity(entries.len());
        let mut wanted = Vec::new();
        for (n, (_, entry)) in entries.iter().enumerate() {
            match &entry.body {
                Body::Broken(line, message) => {
                    records.push(Some(broken_record(*line, message, entry.mark.0.clone())));
                }
                Body::Line(_, span) => {
                    records.push(None);
                    wanted.push((n, *span));
                }
            }
        }
        read_each(file, &mut wanted, |n, text| {
            let (id, entry) = entries[n];
            records[n] = Some(entry.record(id, text, entity));
        })?;
        Ok((records.into_iter().flatten().collect(), more))
    }

    /// The line of the latest version of a live record, read from `file`, for an update to
    /// build on.
    pub fn live_line(&self, id: &str, file: &mut dyn Source) -> Result<Option<String>, Reread> {
        self.live_span(id).map(|span| span.read(file)).transpose()
    }

    /// Where the line of the latest version of a live record is.
    fn live_span(&self, id: &str) -> Option<Span> {
        match self.entry(id)? {
            Entry {
                deleted: false,
                body: Body::Line(_, span),
                ..
            } => Some(*span),
            _ => None,
        }
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
        self.entry(id).is_some()
    }

    /// Whether the record with this id is live, and its upsert key.
    pub fn live_key(&self, id: &str) -> Option<Option<&str>> {
        self.entry(id)
            .filter(|entry| !entry.deleted)
            .map(|entry| entry.key.as_deref())
    }

    /// The live record whose upsert key has this value.
    pub fn id_for_key(&self, key: &str) -> Option<&str> {
        self.keys.get(key).map(|id| &**id)
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
        let entry = Entry {
            mark: Mark(version.watermark),
            deleted: version.deleted,
            key: version.key,
            body: Body::Line(self.lines, span),
        };
        self.insert(version.id, entry);
    }

    /// A line that is not a record becomes a record of its own, so that it is not lost. With
    /// no watermark of its own it takes the largest seen so far, to be read in file order.
    fn take_broken(&mut self, message: String, watermark: Option<Value>) {
        let watermark = match watermark {
            Some(Value::Null) | None => self.max_mark.clone().map_or(Value::Null, |m| m.0),
            Some(watermark) => watermark,
        };
        let entry = Entry {
            mark: Mark(watermark),
            deleted: false,
            key: None,
            body: Body::Broken(self.lines, message),
        };
        self.insert(format!("line:{}", self.lines), entry);
    }

    /// Makes `entry` the latest version of `id`, superseding the one before.
    fn insert(&mut self, id: String, entry: Entry) {
        let mark = entry.mark.clone();
        let key = entry.key.clone().filter(|_| !entry.deleted);
        // One search of the entries, not one to take the old version out and one to put
        // the new one in; a superseded record keeps the id `order` shares.
        let (id, old) = match self.entries.entry(IdKey(id.into())) {
            Slot::Occupied(mut slot) => (slot.key().0.clone(), Some(slot.insert(entry))),
            Slot::Vacant(slot) => (slot.insert_entry(entry).key().0.clone(), None),
        };
        if let Some(old) = old {
            self.order.remove(&(old.mark, id.clone()));
            if let Some(key) = old.key
                && self.keys.get(&key) == Some(&id)
            {
                self.keys.remove(&key);
            }
        }
        if let Some(key) = key {
            self.keys.insert(key, id.clone());
        }
        if let Value::Timestamp(t) = mark.0 {
            self.max_timestamp = Some(self.max_timestamp.map_or(t, |max| max.max(t)));
        }
        if self.max_mark.as_ref().is_none_or(|max| *max < mark) {
            self.max_mark = Some(mark.clone());
        }
        self.order.insert((mark, id));
    }

    /// The latest version of record `id`.
    fn entry(&self, id: &str) -> Option<&Entry> {
        self.entries.get(&IdKey(id.into()))
    }
}

/// A record's id as [`Index::entries`] keys it: ordered by length, then eight bytes at a
/// time. The entries need an order, not the text's: in the sandbox, comparing text goes a
/// byte at a time (its `memcmp`), and ids that share a long prefix (Salesforce's) made
/// those comparisons a third of taking a file in.
#[derive(Debug, Clone, PartialEq, Eq)]
struct IdKey(Arc<str>);

impl Ord for IdKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        a.len().cmp(&b.len()).then_with(|| {
            let (mut x, mut y) = (a.chunks_exact(8), b.chunks_exact(8));
            for (p, q) in x.by_ref().zip(y.by_ref()) {
                let (p, q) = (word(p), word(q));
                if p != q {
                    return p.cmp(&q);
                }
            }
            x.remainder().cmp(y.remainder())
        })
    }
}

impl PartialOrd for IdKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Entry {
    /// The record as a read returns it (tombstones included), from its line's `text`.
    fn record(&self, id: &str, text: &str, entity: &EntitySettings) -> Record {
        let watermark = self.mark.0.clone();
        let (Body::Line(line, _) | Body::Broken(line, _)) = self.body;
        match record_fields(text, entity) {
            Ok(fields) => Record {
                id: id.to_owned(),
                watermark,
                fields,
                deleted: self.deleted,
            },
            Err(message) => broken_record(line, &message, watermark),
        }
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
