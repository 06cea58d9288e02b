//! `jsonl`: a connector for JSON Lines files in a directory the host grants.
//!
//! Each entity is one file, an append-only log: every line is a JSON object holding one
//! version of one record, and a later line for the same id supersedes the earlier ones.
//! Tests, examples and benchmarks use it as a stand-in for a real system.
//!
//! # Configuration
//!
//! ```json
//! {"dir": "/data",
//!  "entities": {"Account": {"file": "accounts.jsonl", "id_field": "Id",
//!                           "watermark_field": "SystemModstamp", "kind": "object",
//!                           "deleted_field": "IsDeleted", "upsert_key": "wasync_id"}}}
//! ```
//!
//! - `dir` (string, default `/data`): the directory as the plugin sees it (the guest path of
//!   the host's grant).
//! - `entities` (object, required): one entry per entity, by name:
//!   - `id_field` (string, required): the field holding the record id.
//!   - `watermark_field` (string, required): the field by which changes are ordered.
//!   - `file` (string, default `<entity>.jsonl`): the file, relative to `dir`.
//!   - `kind` (`object` or `event`, default `object`).
//!   - `deleted_field` (string, optional): a field that is `true` on deleted records
//!     (`IsDeleted`); deletes write it.
//!   - `upsert_key` (string, optional): a field that identifies a record to create, so that
//!     a create that is replayed updates the record it made the first time (see Writing).
//!
//! An unknown key anywhere is an `invalid-config` error that names it.
//!
//! # Reading lines
//!
//! - A line whose `deleted_field` or `_deleted` is `true` is a tombstone: the record is read
//!   as deleted (its fields may be absent). `_deleted` itself never becomes a field.
//! - Every key of the object becomes a field, the id and watermark fields included. Strings
//!   are text; whole numbers that fit 64 bits are integers, other numbers floats; booleans,
//!   nulls as such; arrays and objects are JSON text.
//! - The watermark field is read as a timestamp when it is an RFC 3339 string
//!   (`2024-03-01T12:00:00Z`, `2024-03-01T12:00:00.123+00:00`, Salesforce's
//!   `2024-03-01T12:00:00.000+0000`), as an integer when it is one. A record without it has a
//!   `null` watermark and is read before all others, so give every line a watermark.
//! - The record id is the id field's text, or a number id in decimal.
//! - A missing file is an entity with no records; a missing directory is an error (it was
//!   most likely not granted to the connector). Blank lines are skipped; lines end in
//!   `\n` (a `\r` before it is ignored), and a last line without one is not read until it is
//!   finished.
//! - **A line that is not a JSON object, or has no usable id, is not dropped**: it is read as
//!   a record with id `line:<n>` (its 1-based line number), not deleted, whose only field
//!   `_error` says what is wrong, so the host can quarantine it. It takes the line's own
//!   watermark, or else the largest watermark of the lines before it, so it is read in file
//!   order. Ids starting with `line:` cannot be written.
//!
//! Reads return the latest version of each record after the request's (watermark, id)
//! cursor and up to its `until` watermark, sorted by (watermark, id). Watermarks of one type
//! compare as that type; across types null sorts first and timestamps last. A cursor or bound
//! given as RFC 3339 text is taken as a timestamp. Each instance keeps an index of its files
//! and on each call reads only what was appended since the last one (see Files changed by
//! hand). The index holds where the latest line of every record is in the file, not its
//! text, and reads lines back from the file when a page or an update needs them; so an
//! instance's memory grows with the number of records (their ids, watermarks and upsert
//! keys), not with the size of their lines: a few dozen bytes a record besides its id, in
//! chunks that never double (see `index::slots`), so a million records fit in the default
//! memory. Files are taken in a MiB at a time, so a file may be far larger than the
//! instance's memory.
//!
//! # Writing
//!
//! All lines of one `write` call are appended with a single write (the file is created if
//! missing). Each line's watermark is the current time as RFC 3339 UTC with microseconds,
//! made later than every watermark already in the file and than the line before it, so a
//! reader's cursor never skips a write.
//!
//! - An update (`id` given) appends the record's latest version overlaid with the given
//!   fields, with the id field set to the id. An unknown id is created with that id.
//! - A create (no `id`) whose fields carry a non-empty `upsert_key` value that a live record
//!   already has updates that record. Otherwise it creates a record with id
//!   `<entity>-<upsert key value>`, or, without a key (or when that id is taken), a new
//!   unique id `<entity>-<time>-<n>`.
//! - An event is written once: a create whose upsert key value a live record already has
//!   writes nothing and answers with that record's id.
//! - An upsert that would change nothing of a live record (every given field already has
//!   the given value; the id and watermark fields are the connector's) writes nothing and
//!   answers with its id. So a write replayed after a crash, which reached the file before
//!   the host could record it, adds no line.
//! - A delete appends `{id_field: id, watermark_field: now, "_deleted": true}` (and
//!   `deleted_field: true` when configured).
//!
//! Values are written as JSON: text as strings, timestamps as RFC 3339 strings, JSON text as
//! the JSON it holds. A change that cannot be written (an empty or `line:` id, a float that
//! JSON cannot hold, JSON text that is not JSON) is an error for that change alone.
//!
//! A write that fails part-way (the disk full, the file at its size limit) is taken back:
//! the file is cut to its length before the write, every change of the call fails with the
//! error (the host quarantines them at `write` and tries them again next cycle), and no
//! half line is left.
//!
//! # The kept index
//!
//! Once a call has taken in a MiB and an eighth of a file since the index was last kept, the
//! index is kept beside the file, hidden (`.accounts.jsonl.index`), written to a temporary
//! file and renamed. The next instance (the next `wasync sync`) starts from it and takes in
//! only what was appended since: on a file of 100,000 records, 10,000 appended changes are
//! taken in by a process 1.6 times faster. It is a cache: it is used only when its format,
//! the entity's settings (`id_field`, `watermark_field`, `deleted_field`, `upsert_key`,
//! `kind`) and a checksum agree, and the file is then checked against it exactly as against
//! a live index (below). One that cannot be written (a read-only directory) or read is not
//! used, and deleting it is always safe. A file rewritten whole (not appended to) is taken
//! in from the start, kept index or not.
//!
//! # Files changed by hand
//!
//! The files are meant to be appended to, but a person may truncate, rewrite or edit one
//! while a sync runs. On each call the connector checks that the file is no shorter than
//! what it took in, that the bytes just before where it stopped are the same, and that a
//! file that did not grow was not modified since; if any of that fails it takes the file in
//! again from the start (with a warning in the host's log). So it never reads on from an
//! offset inside a line, and never builds an update on a line that is no longer there. What
//! the host then gets:
//!
//! - Lines still in the file are kept: a later read serves them as they are now, and an
//!   update builds on the line as edited.
//! - A source's cursor does not move back: lines whose watermark the host has already passed
//!   are not read again, edited or not. To change a record, append a line (or edit one) with
//!   a later watermark.
//! - A line removed is not a delete: the record stays in the store. Delete with a tombstone.
//! - A destination file truncated: records the host wrote there are not written again until
//!   they change; an update of an id no longer in the file creates it with that id, and a
//!   replayed create finds nothing to update and creates it again under the same id.
//! - An edit in the middle of a file that also grew since the connector last looked is taken
//!   for an append (only reading the whole file again could tell), and so is an edit within
//!   the same tick of the file system's clock as the last look, until a read or an update
//!   comes to a line the edit changed or moved: every line read back from the file is
//!   checked against the one indexed, and one that differs has the file taken in again.
//!
//! `describe` lists the configured entities with the fields seen in their files so far: all
//! as text, except the watermark as a timestamp (read-only: the connector sets it).
//! Webhooks are not supported.

mod file;
mod index;
mod line;
mod settings;
mod span;
mod value;
mod write;

pub use settings::{EntitySettings, Kind, Settings};

use index::{Index, persist};
use span::{Reread, Source};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};
use value::Mark;
use wasync_sdk::{
    Change, Config, Connector, EntityDescription, Error, FieldDescription, Page, ReadRequest,
    Timestamp, ValueKind,
};
use write::Batch;

/// One configured use of the connector, with the index of each entity's file.
pub struct Jsonl {
    settings: Settings,
    indexes: RefCell<HashMap<String, Index>>,
    /// Counter for new ids, so two creates in one microsecond differ.
    counter: Cell<u64>,
}

impl Jsonl {
    /// The connector for validated settings.
    pub fn with_settings(settings: Settings) -> Result<Self, Error> {
        settings.validate()?;
        Ok(Jsonl {
            settings,
            indexes: RefCell::new(HashMap::new()),
            counter: Cell::new(0),
        })
    }

    fn entity(&self, name: &str) -> Result<&EntitySettings, Error> {
        self.settings
            .entities
            .get(name)
            .ok_or_else(|| Error::NotFound(format!("no entity `{name}` is configured")))
    }

    fn path(&self, name: &str, entity: &EntitySettings) -> PathBuf {
        Path::new(&self.settings.dir).join(entity.file_name(name))
    }

    /// Runs `f` on the index of entity `name`, brought up to date with its file, and the
    /// file to read the index's lines back from. A line read back that is not the line
    /// indexed means the file changed since it was checked (edited in place within one
    /// tick of its clock, or between the check and the read): it is taken in again from
    /// the start, as any file changed by hand, and `f` runs once more.
    fn with_index<T>(
        &self,
        name: &str,
        mut f: impl FnMut(&mut Index, &EntitySettings, &Path, &mut dyn Source) -> Result<T, Reread>,
    ) -> Result<T, Error> {
        let entity = self.entity(name)?;
        let path = self.path(name, entity);
        let mut indexes = self.indexes.borrow_mut();
        let index = (indexes.entry(name.to_owned()))
            .or_insert_with(|| persist::load(&path, entity).unwrap_or_default());
        for _ in 0..2 {
            let mut file = file::refresh(index, &path, entity)?;
            // A missing file has no lines, so nothing is read from it.
            let mut missing = Cursor::<&[u8]>::new(&[]);
            let source: &mut dyn Source = match &mut file {
                Some(file) => file,
                None => &mut missing,
            };
            match f(index, entity, &path, source) {
                Ok(done) => {
                    if persist::worth_keeping(index)
                        && let Err(e) = persist::save(index, &path, entity)
                    {
                        wasync_sdk::log::debug(&format!(
                            "{}: the index is not kept beside it: {e}",
                            path.display()
                        ));
                    }
                    return Ok(done);
                }
                Err(Reread::Failed(e)) => return Err(file::io_error("cannot read", &path, e)),
                Err(Reread::Changed) => {
                    wasync_sdk::log::warn(&format!(
                        "{} changed under its index: read again from the start",
                        path.display()
                    ));
                    *index = Index::default();
                }
            }
        }
        Err(Error::Unavailable(format!(
            "{} keeps changing while it is read: try again",
            path.display()
        )))
    }

    fn describe_entity(&self, name: &str) -> Result<EntityDescription, Error> {
        self.with_index(name, |index, entity, _, _| {
            Ok(EntityDescription {
                name: name.to_owned(),
                kind: entity.kind.into(),
                id_field: entity.id_field.clone(),
                watermark_field: entity.watermark_field.clone(),
                fields: index
                    .fields()
                    .iter()
                    .map(|field| {
                        let is_watermark = *field == entity.watermark_field;
                        FieldDescription {
                            name: field.clone(),
                            kind: if is_watermark {
                                ValueKind::Timestamp
                            } else {
                                ValueKind::Text
                            },
                            read_only: is_watermark,
                        }
                    })
                    .collect(),
            })
        })
    }

    /// Builds and appends the lines for `changes`, then takes them into the index.
    fn write_changes(
        &self,
        name: &str,
        changes: Vec<Change>,
    ) -> Result<Vec<Result<String, Error>>, Error> {
        self.with_index(name, |index, entity, path, file| {
            let mut batch = Batch::new(index, name, entity, now(), &self.counter, file);
            batch.read_first(&changes)?;
            // Cloned: if the file changed under the index, the batch is built again.
            let mut results: Vec<_> = changes.iter().map(|c| batch.apply(c.clone())).collect();
            let bytes = batch.into_bytes()?;
            if bytes.is_empty() {
                return Ok(results);
            }
            if let Err(e) = file::append(path, &bytes) {
                results = results.into_iter().map(|r| r.and(Err(e.clone()))).collect();
            }
            if let Err(e) = file::refresh(index, path, entity) {
                wasync_sdk::log::warn(&format!("written, but not read back: {e}"));
            }
            Ok(results)
        })
    }
}

/// The wall clock in microseconds since the epoch.
fn now() -> Timestamp {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| {
        Timestamp::try_from(d.as_micros()).unwrap_or(Timestamp::MAX)
    })
}

impl Connector for Jsonl {
    fn new(config: &Config) -> Result<Self, Error> {
        Jsonl::with_settings(config.deserialize()?)
    }

    fn describe(&self) -> Result<Vec<EntityDescription>, Error> {
        self.settings
            .entities
            .keys()
            .map(|name| self.describe_entity(name))
            .collect()
    }

    fn read(&self, request: ReadRequest) -> Result<Page, Error> {
        let after = request.after.map(|c| (Mark::from_bound(c.watermark), c.id));
        let until = request.until.map(Mark::from_bound);
        let limit = usize::try_from(request.limit).unwrap_or(usize::MAX);
        self.with_index(&request.entity, |index, entity, _, file| {
            let (records, more) = index.page(after.clone(), until.as_ref(), limit, entity, file)?;
            Ok(Page { records, more })
        })
    }

    fn write(&self, entity: &str, changes: Vec<Change>) -> Vec<Result<String, Error>> {
        let count = changes.len();
        self.write_changes(entity, changes)
            .unwrap_or_else(|e| vec![Err(e); count])
    }
}

#[cfg(target_arch = "wasm32")]
wasync_sdk::export_connector!(Jsonl);

#[cfg(test)]
mod fixtures {
    use crate::settings::{EntitySettings, Kind};

    /// Salesforce-like Accounts with a deleted field and an upsert key.
    pub fn account() -> EntitySettings {
        EntitySettings {
            file: None,
            id_field: "Id".into(),
            watermark_field: "SystemModstamp".into(),
            kind: Kind::Object,
            deleted_field: Some("IsDeleted".into()),
            upsert_key: Some("wasync_id".into()),
        }
    }
}

#[cfg(test)]
mod tests;
