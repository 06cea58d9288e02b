//! Turns one `write` call's changes into the lines to append, against the index of the file
//! and what the same call wrote before (so a create then an update of the same upsert key
//! in one call touch one record).

use crate::index::Index;
use crate::line::{DELETED_MARKER, Line, Object, Part, id_text, parse_line};
use crate::settings::{EntitySettings, Kind};
use crate::span::{Reread, Source};
use crate::value::{json_of, key_text};
use serde_json::Value as Json;
use std::cell::Cell;
use std::collections::HashMap;
use std::ops::Range;
use wasync_sdk::time::format_micros;
use wasync_sdk::{Change, Error, Field, Timestamp};

/// The lines one `write` call appends, built change by change.
pub struct Batch<'a> {
    index: &'a Index,
    entity_name: &'a str,
    entity: &'a EntitySettings,
    /// Records written by this batch: where their line is in `out` (none for a tombstone)
    /// and upsert key. The line, not the object: keeping every object to drop it at the end
    /// cost a quarter of a write.
    pending: HashMap<String, Pending>,
    /// Upsert keys written by this batch, to the record they were written to.
    pending_keys: HashMap<String, String>,
    /// The watermark of the next line: strictly increasing, past the file's largest.
    next_time: Timestamp,
    /// Per-instance counter for new ids.
    counter: &'a Cell<u64>,
    out: Vec<u8>,
    /// The file the index's lines are read back from, for updates to build on.
    file: &'a mut dyn Source,
    /// Why a line could not be read back, which fails the whole batch.
    trouble: Option<Reread>,
    /// Lines of the records the batch updates, read before it ([`Batch::read_first`]).
    read: HashMap<String, String>,
}

struct Pending {
    line: Option<Range<usize>>,
    key: Option<String>,
}

impl<'a> Batch<'a> {
    /// A batch over `index` of `file` whose lines are stamped from `now` on (microseconds
    /// since the epoch), or just past the file's largest timestamp if the clock is behind it.
    pub fn new(
        index: &'a Index,
        entity_name: &'a str,
        entity: &'a EntitySettings,
        now: Timestamp,
        counter: &'a Cell<u64>,
        file: &'a mut dyn Source,
    ) -> Self {
        let next_time = index
            .max_timestamp()
            .map_or(now, |max| now.max(max.saturating_add(1)));
        Batch {
            index,
            entity_name,
            entity,
            pending: HashMap::new(),
            pending_keys: HashMap::new(),
            next_time,
            counter,
            out: Vec::new(),
            file,
            trouble: None,
            read: HashMap::new(),
        }
    }

    /// Reads at once the lines of the records that `changes` update, which they build on.
    pub fn read_first(&mut self, changes: &[Change]) -> Result<(), Reread> {
        let ids: Vec<&str> = changes
            .iter()
            .filter_map(|c| match c {
                Change::Upsert { id: Some(id), .. } => Some(id.as_str()),
                _ => None,
            })
            .collect();
        self.read = self.index.live_lines(&ids, self.file)?;
        Ok(())
    }

    /// Adds the line for one change; returns the external id it writes.
    pub fn apply(&mut self, change: Change) -> Result<String, Error> {
        match change {
            Change::Upsert { id, fields } => self.upsert(id, fields),
            Change::Delete(id) => self.delete(id),
        }
    }

    /// The lines to append, each ending in a newline; none if a line of the file could not
    /// be read back, as the changes were then built on an index the file no longer matches.
    pub fn into_bytes(self) -> Result<Vec<u8>, Reread> {
        match self.trouble {
            Some(trouble) => Err(trouble),
            None => Ok(self.out),
        }
    }

    fn upsert(&mut self, id: Option<String>, fields: Vec<Field>) -> Result<String, Error> {
        let overlay = overlay_of(fields)?;
        let creating = id.is_none();
        let (id, base) = match id {
            Some(id) => {
                check_id(&id)?;
                let base = self.live_line(&id)?;
                (id, base)
            }
            None => self.create_target(&overlay)?,
        };
        let mut object = base.as_deref().and_then(parse_line).unwrap_or_default();
        // A write replayed after a crash (it reached the file, the host did not record it)
        // must not add a line: an event found by its key is that event, written once, and
        // a record that already holds every given value is left as it is.
        let event_again = creating && self.entity.kind == Kind::Event;
        if base.is_some() && (event_again || self.holds(&object, &overlay)) {
            return Ok(id);
        }
        object.extend(overlay.into_iter().map(|(k, v)| (k, Part::Set(v))));
        self.stamp(&mut object, &id)?;
        let key = self
            .entity
            .upsert_key
            .as_ref()
            .and_then(|k| object.get(k))
            .and_then(Part::json)
            .as_ref()
            .and_then(key_text);
        let line = self.push(&id, &object)?;
        self.remember(&id, Some(line), key);
        Ok(id)
    }

    fn delete(&mut self, id: String) -> Result<String, Error> {
        check_id(&id)?;
        let mut object = Line::new();
        self.stamp(&mut object, &id)?;
        object.insert(DELETED_MARKER.into(), Part::Set(Json::Bool(true)));
        if let Some(field) = &self.entity.deleted_field {
            object.insert(field.clone(), Part::Set(Json::Bool(true)));
        }
        self.push(&id, &object)?;
        self.remember(&id, None, None);
        Ok(id)
    }

    /// Where a create goes: the live record with the same upsert key (so a replayed create
    /// updates instead of duplicating), else a new record.
    fn create_target(&mut self, overlay: &Object) -> Result<(String, Option<String>), Error> {
        let key = self
            .entity
            .upsert_key
            .as_ref()
            .and_then(|k| overlay.get(k))
            .and_then(key_text);
        if let Some(id) = key.as_deref().and_then(|key| self.live_id_for_key(key)) {
            let base = self.live_line(&id)?;
            return Ok((id, base));
        }
        let derived = key
            .map(|key| format!("{}-{key}", self.entity_name))
            .filter(|id| !self.is_known(id));
        Ok((derived.unwrap_or_else(|| self.new_id()), None))
    }

    /// Whether `line` already has every value of `overlay`, so that writing it would change
    /// nothing but the watermark. The id and watermark fields are the connector's to set.
    fn holds(&self, line: &Line<'_>, overlay: &Object) -> bool {
        overlay
            .iter()
            .filter(|(name, _)| {
                **name != self.entity.id_field && **name != self.entity.watermark_field
            })
            .all(|(name, value)| line.get(name).is_some_and(|part| same(part, value)))
    }

    /// A fresh id no line of the file or of this batch has.
    fn new_id(&self) -> String {
        loop {
            let n = self.counter.get();
            self.counter.set(n.wrapping_add(1));
            let id = format!("{}-{}-{n}", self.entity_name, self.next_time);
            if !self.is_known(&id) {
                return id;
            }
        }
    }

    /// Sets the id field (kept as it is when it already spells `id`, so a number id stays
    /// a number) and a watermark later than any before.
    fn stamp(&mut self, object: &mut Line<'_>, id: &str) -> Result<(), Error> {
        let stated = object.get(&self.entity.id_field).and_then(Part::json);
        if stated.as_ref().and_then(id_text).as_deref() != Some(id) {
            let id = Json::String(id.to_owned());
            object.insert(self.entity.id_field.clone(), Part::Set(id));
        }
        let time = self.next_time;
        self.next_time = time.saturating_add(1);
        let text = format_micros(time)
            .ok_or_else(|| Error::Other(format!("the clock reads {time} µs, not a usable time")))?;
        object.insert(
            self.entity.watermark_field.clone(),
            Part::Set(Json::String(text)),
        );
        Ok(())
    }

    /// Appends the line of `object`; returns where it is in `out`, without its newline.
    fn push(&mut self, id: &str, object: &Line<'_>) -> Result<Range<usize>, Error> {
        let start = self.out.len();
        serde_json::to_writer(&mut self.out, object)
            .map_err(|e| Error::Other(format!("cannot write record {id}: {e}")))?;
        let end = self.out.len();
        self.out.push(b'\n');
        Ok(start..end)
    }

    fn remember(&mut self, id: &str, line: Option<Range<usize>>, key: Option<String>) {
        if let Some(key) = &key {
            self.pending_keys.insert(key.clone(), id.to_owned());
        }
        self.pending.insert(id.to_owned(), Pending { line, key });
    }

    /// The line of the latest live version of a record, this batch's writes first.
    fn live_line(&mut self, id: &str) -> Result<Option<String>, Error> {
        match self.pending.get(id) {
            Some(pending) => Ok(pending
                .line
                .clone()
                .and_then(|line| std::str::from_utf8(&self.out[line]).ok().map(str::to_owned))),
            None if let Some(line) = self.read.remove(id) => Ok(Some(line)),
            None => self.index.live_line(id, self.file).map_err(|trouble| {
                self.trouble.get_or_insert(trouble);
                Error::Unavailable(format!("the line of record {id} could not be read back"))
            }),
        }
    }

    /// Whether the record is live, and its upsert key, this batch's writes first.
    fn live_key(&self, id: &str) -> Option<Option<&str>> {
        match self.pending.get(id) {
            Some(Pending { line: Some(_), key }) => Some(key.as_deref()),
            Some(Pending { line: None, .. }) => None,
            None => self.index.live_key(id),
        }
    }

    /// The live record whose upsert key has this value.
    fn live_id_for_key(&self, key: &str) -> Option<String> {
        let candidates = [
            self.pending_keys.get(key).map(String::as_str),
            self.index.id_for_key(key),
        ];
        candidates
            .into_iter()
            .flatten()
            .find(|id| self.live_key(id) == Some(Some(key)))
            .map(str::to_owned)
    }

    fn is_known(&self, id: &str) -> bool {
        self.pending.contains_key(id) || self.index.contains(id)
    }
}

/// The change's fields as JSON, minus the connector's own tombstone marker.
fn overlay_of(fields: Vec<Field>) -> Result<Object, Error> {
    fields
        .into_iter()
        .filter(|field| field.name != DELETED_MARKER)
        .map(|Field { name, value }| match json_of(value) {
            Ok(json) => Ok((name, json)),
            Err(e) => Err(Error::InvalidInput(format!("field `{name}`: {e}"))),
        })
        .collect()
}

/// Whether a field of a line holds `value`. Text without escapes (most values) is compared
/// as it stands in the line, so that a write that does change something stays cheap.
fn same(part: &Part<'_>, value: &Json) -> bool {
    match (part, value) {
        (Part::Set(set), _) => set == value,
        (Part::Kept(raw), Json::String(text)) if !raw.get().contains('\\') => {
            raw.get()
                .strip_prefix('"')
                .and_then(|r| r.strip_suffix('"'))
                == Some(text.as_str())
        }
        (Part::Kept(raw), _) => serde_json::from_str::<Json>(raw.get()).is_ok_and(|j| j == *value),
    }
}

/// Refuses ids that cannot name a record of the file.
fn check_id(id: &str) -> Result<(), Error> {
    if id.trim().is_empty() {
        return Err(Error::InvalidInput("the record id is empty".into()));
    }
    if id.starts_with("line:") {
        return Err(Error::InvalidInput(format!(
            "`{id}` stands for a line of the file that is not a record; it cannot be written"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
