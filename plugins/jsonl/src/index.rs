//! The in-memory index of one entity's file: the latest version of each record, sorted by
//! (watermark, id), built from the bytes of the file as they are appended.
//!
//! Each line is parsed once when it is taken in; the index keeps only its text and what
//! reads and writes look up (id, watermark, tombstone, upsert key), so it costs about the
//! size of the file's live lines. A page of records is parsed again when it is read.

use crate::line::{DELETED_MARKER, Version, broken_record, record_fields, scan_line};
use crate::settings::EntitySettings;
use crate::value::Mark;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::ops::Bound;
use wasync_sdk::{Record, Timestamp, Value};

/// The index of one entity's file.
#[derive(Debug, Default)]
pub struct Index {
    /// Bytes of the file taken in so far: complete lines only.
    offset: u64,
    /// Lines taken in so far, for line numbers.
    lines: u64,
    /// The latest version of each record, by id.
    entries: HashMap<String, Entry>,
    /// Every record's (watermark, id), in read order.
    order: BTreeSet<(Mark, String)>,
    /// Live records by their upsert key's value.
    keys: HashMap<String, String>,
    /// The largest watermark seen, for lines that carry none of their own.
    max_mark: Option<Mark>,
    /// The largest timestamp watermark seen, which writes must pass.
    max_timestamp: Option<Timestamp>,
    /// Field names in the order they first appeared.
    fields: Vec<String>,
    seen: HashSet<String>,
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
    /// A line that holds a record, with its line number.
    Line(u64, Box<str>),
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
        while let Some(len) = bytes[start..].iter().position(|&b| b == b'\n') {
            self.lines += 1;
            self.take_line(&bytes[start..start + len], entity);
            start += len + 1;
        }
        self.offset += start as u64;
    }

    /// Up to `limit` records after `after` whose watermark is at most `until`, in
    /// (watermark, id) order, and whether more such records follow.
    pub fn page(
        &self,
        after: Option<(Mark, String)>,
        until: Option<&Mark>,
        limit: usize,
        entity: &EntitySettings,
    ) -> (Vec<Record>, bool) {
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut matching = self
            .order
            .range((start, Bound::Unbounded))
            .take_while(|(mark, _)| until.is_none_or(|until| mark <= until));
        let records = matching
            .by_ref()
            .take(limit)
            .filter_map(|(_, id)| self.record(id, entity))
            .collect();
        (records, matching.next().is_some())
    }

    /// The record with this id as a read returns it (tombstones included).
    pub fn record(&self, id: &str, entity: &EntitySettings) -> Option<Record> {
        let entry = self.entries.get(id)?;
        let watermark = entry.mark.0.clone();
        Some(match &entry.body {
            Body::Broken(line, message) => broken_record(*line, message, watermark),
            Body::Line(line, text) => match record_fields(text, entity) {
                Ok(fields) => Record {
                    id: id.to_owned(),
                    watermark,
                    fields,
                    deleted: entry.deleted,
                },
                Err(message) => broken_record(*line, &message, watermark),
            },
        })
    }

    /// The line of the latest version of a live record, for an update to build on.
    pub fn live_line(&self, id: &str) -> Option<&str> {
        match self.entries.get(id) {
            Some(Entry {
                deleted: false,
                body: Body::Line(_, text),
                ..
            }) => Some(text),
            _ => None,
        }
    }

    /// Whether any line, live, deleted or broken, has this id.
    pub fn contains(&self, id: &str) -> bool {
        self.entries.contains_key(id)
    }

    /// Whether the record with this id is live, and its upsert key.
    pub fn live_key(&self, id: &str) -> Option<Option<&str>> {
        self.entries
            .get(id)
            .filter(|entry| !entry.deleted)
            .map(|entry| entry.key.as_deref())
    }

    /// The live record whose upsert key has this value.
    pub fn id_for_key(&self, key: &str) -> Option<&str> {
        self.keys.get(key).map(String::as_str)
    }

    /// The largest timestamp watermark in the file.
    pub fn max_timestamp(&self) -> Option<Timestamp> {
        self.max_timestamp
    }

    /// The field names seen in the file, in the order they first appeared.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// Parses one line (without its newline) and makes it the latest version of its record.
    fn take_line(&mut self, bytes: &[u8], entity: &EntitySettings) {
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        let bytes = match self.lines {
            1 => bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes),
            _ => bytes,
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => return self.take_broken(format!("not UTF-8 ({e})"), None),
        };
        // Names new to the index, kept only if the line turns out to be a record.
        let mut fresh: Vec<String> = Vec::new();
        let seen = &self.seen;
        let scanned = scan_line(text, entity, |name| {
            if name != DELETED_MARKER && !seen.contains(name) && !fresh.iter().any(|f| f == name) {
                fresh.push(name.to_owned());
            }
        });
        match scanned {
            Ok(version) => {
                self.seen.extend(fresh.iter().cloned());
                self.fields.extend(fresh);
                self.take_version(text, version);
            }
            Err(broken) => self.take_broken(broken.message, broken.watermark),
        }
    }

    fn take_version(&mut self, text: &str, version: Version) {
        let entry = Entry {
            mark: Mark(version.watermark),
            deleted: version.deleted,
            key: version.key,
            body: Body::Line(self.lines, text.into()),
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
        if let Some(old) = self.entries.remove(&id) {
            self.order.remove(&(old.mark, id.clone()));
            if let Some(key) = old.key
                && self.keys.get(&key) == Some(&id)
            {
                self.keys.remove(&key);
            }
        }
        if let (false, Some(key)) = (entry.deleted, &entry.key) {
            self.keys.insert(key.clone(), id.clone());
        }
        if let Value::Timestamp(t) = entry.mark.0 {
            self.max_timestamp = Some(self.max_timestamp.map_or(t, |max| max.max(t)));
        }
        if self.max_mark.as_ref().is_none_or(|max| *max < entry.mark) {
            self.max_mark = Some(entry.mark.clone());
        }
        self.order.insert((entry.mark.clone(), id.clone()));
        self.entries.insert(id, entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::account;

    fn index(text: &str) -> Index {
        let mut index = Index::default();
        index.ingest(text.as_bytes(), &account());
        index
    }

    fn ids(records: &[Record]) -> Vec<&str> {
        records.iter().map(|r| r.id.as_str()).collect()
    }

    fn ts(text: &str) -> Mark {
        Mark::from_bound(Value::Text(text.into()))
    }

    const FILE: &str = concat!(
        r#"{"Id": "b", "SystemModstamp": "2024-03-01T12:00:00Z", "Name": "B"}"#,
        "\n",
        r#"{"Id": "a", "SystemModstamp": "2024-03-01T12:00:00Z", "Name": "A"}"#,
        "\n",
        r#"{"Id": "c", "SystemModstamp": "2024-03-01T11:00:00Z", "Name": "C"}"#,
        "\n",
        r#"{"Id": "d", "SystemModstamp": "2024-03-01T13:00:00Z", "Name": "D"}"#,
        "\n",
    );

    #[test]
    fn sorts_by_watermark_then_id() {
        let (records, more) = index(FILE).page(None, None, 10, &account());
        assert_eq!(ids(&records), ["c", "a", "b", "d"]);
        assert!(!more);
    }

    #[test]
    fn pages_after_a_cursor_without_losing_equal_watermarks() {
        let index = index(FILE);
        let (first, more) = index.page(None, None, 2, &account());
        assert_eq!((ids(&first), more), (vec!["c", "a"], true));
        let cursor = (ts("2024-03-01T12:00:00Z"), "a".to_owned());
        let (second, more) = index.page(Some(cursor), None, 2, &account());
        assert_eq!((ids(&second), more), (vec!["b", "d"], false));
    }

    #[test]
    fn stops_at_the_inclusive_upper_bound() {
        let until = ts("2024-03-01T12:00:00Z");
        let index = index(FILE);
        let (records, more) = index.page(None, Some(&until), 10, &account());
        assert_eq!((ids(&records), more), (vec!["c", "a", "b"], false));
        let (records, more) = index.page(None, Some(&until), 3, &account());
        assert_eq!((ids(&records), more), (vec!["c", "a", "b"], false));
        let (records, more) = index.page(None, Some(&until), 2, &account());
        assert_eq!((ids(&records), more), (vec!["c", "a"], true));
    }

    #[test]
    fn a_later_line_supersedes() {
        let text = format!(
            "{FILE}{}\n",
            r#"{"Id": "c", "SystemModstamp": "2024-03-01T14:00:00Z", "Name": "C2"}"#
        );
        let (records, _) = index(&text).page(None, None, 10, &account());
        assert_eq!(ids(&records), ["a", "b", "d", "c"]);
        assert_eq!(records[3].get("Name"), Some(&Value::Text("C2".into())));
    }

    #[test]
    fn tombstones_are_read_as_deletes() {
        let text = format!(
            "{FILE}{}\n",
            r#"{"Id": "a", "SystemModstamp": "2024-03-01T14:00:00Z", "_deleted": true}"#
        );
        let index = index(&text);
        let (records, _) = index.page(None, None, 10, &account());
        assert_eq!(ids(&records), ["c", "b", "d", "a"]);
        assert!(records[3].deleted);
        assert!(index.live_line("a").is_none());
        assert!(index.contains("a"));
    }

    #[test]
    fn integer_watermarks_order_as_numbers() {
        let text =
            "{\"Id\": \"x\", \"SystemModstamp\": 10}\n{\"Id\": \"y\", \"SystemModstamp\": 9}\n";
        let (records, _) = index(text).page(None, None, 10, &account());
        assert_eq!(ids(&records), ["y", "x"]);
        assert_eq!(records[0].watermark, Value::Integer(9));
    }

    #[test]
    fn leaves_a_partial_line_for_later() {
        let mut index = Index::default();
        let text = "{\"Id\": \"x\"}\n{\"Id\": ";
        index.ingest(text.as_bytes(), &account());
        assert_eq!(index.offset(), 12);
        assert!(index.contains("x"));
        assert!(!index.contains("line:2"));
        // The file grew: the caller passes everything from the offset on.
        index.ingest(b"{\"Id\": \"y\"}\n", &account());
        assert!(index.contains("y"));
    }

    #[test]
    fn broken_lines_become_records_in_file_order() {
        let text = format!(
            "{FILE}not json\n\n   \n[1,2]\n{}\n",
            r#"{"Name": "no id", "SystemModstamp": "2024-03-01T15:00:00Z"}"#
        );
        let index = index(&text);
        let (records, _) = index.page(None, None, 10, &account());
        assert_eq!(
            ids(&records),
            ["c", "a", "b", "d", "line:5", "line:8", "line:9"]
        );
        let line5 = &records[4];
        assert_eq!(line5.watermark, Value::Timestamp(1_709_298_000_000_000));
        assert!(
            matches!(line5.get("_error"), Some(Value::Text(m)) if m.starts_with("line 5: not JSON"))
        );
        assert_eq!(
            records[6].watermark,
            Value::Timestamp(1_709_305_200_000_000)
        );
        assert!(
            matches!(records[6].get("_error"), Some(Value::Text(m)) if m.contains("no id field"))
        );
    }

    #[test]
    fn invalid_utf8_is_a_broken_line() {
        let mut index = Index::default();
        index.ingest(b"{\"Id\": \"\xff\"}\n", &account());
        assert!(index.contains("line:1"));
    }

    #[test]
    fn tolerates_crlf_and_a_byte_order_mark() {
        let index = index("\u{feff}{\"Id\": \"x\"}\r\n{\"Id\": \"y\"}\r\n");
        assert!(index.contains("x") && index.contains("y"));
        assert_eq!(index.fields(), ["Id"]);
    }

    #[test]
    fn tracks_upsert_keys_of_live_records() {
        let mut index = index(concat!(
            r#"{"Id": "a", "wasync_id": "u1"}"#,
            "\n",
            r#"{"Id": "b", "wasync_id": "u2"}"#,
            "\n",
        ));
        assert_eq!(index.id_for_key("u1"), Some("a"));
        index.ingest(b"{\"Id\": \"a\", \"_deleted\": true}\n", &account());
        assert_eq!(index.id_for_key("u1"), None);
        index.ingest(b"{\"Id\": \"b\", \"wasync_id\": \"u3\"}\n", &account());
        assert_eq!(index.id_for_key("u2"), None);
        assert_eq!(index.id_for_key("u3"), Some("b"));
        assert_eq!(index.live_key("b"), Some(Some("u3")));
        assert_eq!(index.live_key("a"), None);
    }

    #[test]
    fn remembers_fields_and_the_largest_timestamp() {
        let index = index(FILE);
        assert_eq!(index.fields(), ["Id", "SystemModstamp", "Name"]);
        assert_eq!(index.max_timestamp(), Some(1_709_298_000_000_000));
    }
}
