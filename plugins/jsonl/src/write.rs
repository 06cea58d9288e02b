//! Turns one `write` call's changes into the lines to append, against the index of the file
//! and what the same call wrote before (so a create then an update of the same upsert key
//! in one call touch one record).

use crate::index::Index;
use crate::line::{DELETED_MARKER, Line, Object, Part, id_text, parse_line};
use crate::settings::{EntitySettings, Kind};
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
}

struct Pending {
    line: Option<Range<usize>>,
    key: Option<String>,
}

impl<'a> Batch<'a> {
    /// A batch over `index` whose lines are stamped from `now` on (microseconds since the
    /// epoch), or just past the file's largest timestamp if the clock is behind it.
    pub fn new(
        index: &'a Index,
        entity_name: &'a str,
        entity: &'a EntitySettings,
        now: Timestamp,
        counter: &'a Cell<u64>,
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
        }
    }

    /// Adds the line for one change; returns the external id it writes.
    pub fn apply(&mut self, change: Change) -> Result<String, Error> {
        match change {
            Change::Upsert { id, fields } => self.upsert(id, fields),
            Change::Delete(id) => self.delete(id),
        }
    }

    /// The lines to append, each ending in a newline.
    pub fn into_bytes(self) -> Vec<u8> {
        self.out
    }

    fn upsert(&mut self, id: Option<String>, fields: Vec<Field>) -> Result<String, Error> {
        let overlay = overlay_of(fields)?;
        let creating = id.is_none();
        let (id, base) = match id {
            Some(id) => {
                check_id(&id)?;
                let base = self.live_line(&id);
                (id, base)
            }
            None => self.create_target(&overlay),
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
    fn create_target(&self, overlay: &Object) -> (String, Option<String>) {
        let key = self
            .entity
            .upsert_key
            .as_ref()
            .and_then(|k| overlay.get(k))
            .and_then(key_text);
        if let Some(id) = key.as_deref().and_then(|key| self.live_id_for_key(key)) {
            let base = self.live_line(&id);
            return (id, base);
        }
        let derived = key
            .map(|key| format!("{}-{key}", self.entity_name))
            .filter(|id| !self.is_known(id));
        (derived.unwrap_or_else(|| self.new_id()), None)
    }

    /// Whether `line` already has every value of `overlay`, so that writing it would change
    /// nothing but the watermark. The id and watermark fields are the connector's to set.
    fn holds(&self, line: &Line<'_>, overlay: &Object) -> bool {
        overlay
            .iter()
            .filter(|(name, _)| {
                **name != self.entity.id_field && **name != self.entity.watermark_field
            })
            .all(|(name, value)| line.get(name).and_then(Part::json).as_ref() == Some(value))
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
    fn live_line(&self, id: &str) -> Option<String> {
        match self.pending.get(id) {
            Some(pending) => pending
                .line
                .clone()
                .and_then(|line| std::str::from_utf8(&self.out[line]).ok().map(str::to_owned)),
            None => self.index.live_line(id).map(str::to_owned),
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
mod tests {
    use super::*;
    use crate::fixtures::account;
    use serde_json::json;
    use wasync_sdk::Value;

    const NOON: Timestamp = 1_709_294_400_000_000;

    fn field(name: &str, value: impl Into<Value>) -> Field {
        Field {
            name: name.into(),
            value: value.into(),
        }
    }

    fn create(fields: Vec<Field>) -> Change {
        Change::Upsert { id: None, fields }
    }

    fn update(id: &str, fields: Vec<Field>) -> Change {
        Change::Upsert {
            id: Some(id.into()),
            fields,
        }
    }

    /// Writes `changes` against a file of Accounts holding `file`; returns the results and
    /// the lines.
    fn write(file: &str, changes: Vec<Change>) -> (Vec<Result<String, Error>>, Vec<Json>) {
        write_to("Account", &account(), file, changes)
    }

    fn write_to(
        name: &str,
        entity: &EntitySettings,
        file: &str,
        changes: Vec<Change>,
    ) -> (Vec<Result<String, Error>>, Vec<Json>) {
        let mut index = Index::default();
        index.ingest(file.as_bytes(), entity);
        let counter = Cell::new(0);
        let mut batch = Batch::new(&index, name, entity, NOON, &counter);
        let results = changes.into_iter().map(|c| batch.apply(c)).collect();
        let bytes = batch.into_bytes();
        let lines = String::from_utf8_lossy(&bytes)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or(Json::Null))
            .collect();
        (results, lines)
    }

    const FILE: &str = concat!(
        r#"{"Id": "001", "Name": "Acme", "Phone": "1", "SystemModstamp": "2024-03-01T13:00:00Z", "wasync_id": "u1"}"#,
        "\n",
        r#"{"Id": 7, "Name": "Seven", "SystemModstamp": "2024-03-01T11:00:00Z"}"#,
        "\n",
    );
    const AFTER_FILE: &str = "2024-03-01T13:00:00.000001Z";

    #[test]
    fn an_update_overlays_the_latest_version() {
        let (results, lines) = write(FILE, vec![update("001", vec![field("Phone", "2")])]);
        assert_eq!(results, [Ok("001".to_owned())]);
        assert_eq!(
            lines,
            [
                json!({"Id": "001", "Name": "Acme", "Phone": "2", "SystemModstamp": AFTER_FILE, "wasync_id": "u1"})
            ]
        );
    }

    #[test]
    fn the_clock_wins_when_it_is_ahead_and_lines_are_strictly_ordered() {
        let mut index = Index::default();
        index.ingest(FILE.as_bytes(), &account());
        let counter = Cell::new(0);
        let entity = account();
        let later = NOON + 10 * 3_600_000_000;
        let mut batch = Batch::new(&index, "Account", &entity, later, &counter);
        for id in ["a", "b"] {
            assert!(batch.apply(Change::Delete(id.into())).is_ok());
        }
        let text = String::from_utf8_lossy(&batch.into_bytes()).into_owned();
        assert!(text.contains("2024-03-01T22:00:00.000000Z"));
        assert!(text.contains("2024-03-01T22:00:00.000001Z"));
    }

    #[test]
    fn a_number_id_stays_a_number() {
        let (results, lines) = write(FILE, vec![update("7", vec![field("Name", "Sept")])]);
        assert_eq!(results, [Ok("7".to_owned())]);
        assert_eq!(lines[0]["Id"], json!(7));
        assert_eq!(lines[0]["Name"], json!("Sept"));
    }

    #[test]
    fn an_update_of_an_unknown_id_creates_it_and_the_id_and_watermark_are_ours() {
        let fields = vec![
            field("Id", "other"),
            field("SystemModstamp", "1999-01-01T00:00:00Z"),
        ];
        let (results, lines) = write(FILE, vec![update("new", fields)]);
        assert_eq!(results, [Ok("new".to_owned())]);
        assert_eq!(lines, [json!({"Id": "new", "SystemModstamp": AFTER_FILE})]);
    }

    #[test]
    fn writes_every_kind_of_value() {
        let fields = vec![
            field("I", 3i64),
            field("F", 2.5),
            field("B", true),
            field("N", Value::Null),
            field("T", Value::Timestamp(NOON)),
            field("J", Value::Json("{\"a\": [1]}".into())),
        ];
        let (_, lines) = write("", vec![update("x", fields)]);
        let line = &lines[0];
        assert_eq!(
            (&line["I"], &line["F"], &line["B"], &line["N"]),
            (&json!(3), &json!(2.5), &json!(true), &json!(null))
        );
        assert_eq!(line["T"], json!("2024-03-01T12:00:00.000000Z"));
        assert_eq!(line["J"], json!({"a": [1]}));
    }

    #[test]
    fn a_bad_change_fails_alone() {
        let changes = vec![
            update("a", vec![field("J", Value::Json("{".into()))]),
            update("", vec![]),
            update("line:3", vec![]),
            Change::Delete(" ".into()),
            update("b", vec![field("F", f64::INFINITY)]),
            update("c", vec![]),
        ];
        let (results, lines) = write(FILE, changes);
        assert!(matches!(&results[0], Err(Error::InvalidInput(m)) if m.contains("`J`")));
        assert!(
            results[1..5]
                .iter()
                .all(|r| matches!(r, Err(Error::InvalidInput(_))))
        );
        assert_eq!(results[5], Ok("c".to_owned()));
        assert_eq!(lines.len(), 1);
    }

    #[test]
    fn a_delete_writes_a_tombstone() {
        let (results, lines) = write(FILE, vec![Change::Delete("001".into())]);
        assert_eq!(results, [Ok("001".to_owned())]);
        assert_eq!(
            lines,
            [
                json!({"Id": "001", "SystemModstamp": AFTER_FILE, "_deleted": true, "IsDeleted": true})
            ]
        );
    }

    #[test]
    fn a_create_with_a_known_upsert_key_updates_that_record() {
        let (results, lines) = write(
            FILE,
            vec![create(vec![
                field("wasync_id", "u1"),
                field("Name", "Acme 2"),
            ])],
        );
        assert_eq!(results, [Ok("001".to_owned())]);
        assert_eq!(lines[0]["Phone"], json!("1"));
        assert_eq!(lines[0]["Name"], json!("Acme 2"));
    }

    #[test]
    fn a_create_with_a_new_upsert_key_takes_its_id_from_it() {
        let changes = vec![
            create(vec![field("wasync_id", "u9"), field("Name", "Nine")]),
            create(vec![field("wasync_id", "u9"), field("Phone", "9")]),
        ];
        let (results, lines) = write(FILE, changes);
        assert_eq!(
            results,
            [Ok("Account-u9".to_owned()), Ok("Account-u9".to_owned())]
        );
        assert_eq!(lines[1]["Name"], json!("Nine"));
        assert_eq!(lines[1]["Phone"], json!("9"));
        assert_eq!(
            lines[1]["SystemModstamp"],
            json!("2024-03-01T13:00:00.000002Z")
        );
    }

    #[test]
    fn a_deleted_record_does_not_match_its_key_nor_lend_its_id() {
        let file = format!(
            "{}\n{}\n",
            r#"{"Id": "Account-u9", "wasync_id": "u9"}"#,
            r#"{"Id": "Account-u9", "_deleted": true}"#
        );
        let (results, lines) = write(&file, vec![create(vec![field("wasync_id", "u9")])]);
        let id = results[0].clone().unwrap_or_default();
        assert!(id.starts_with("Account-") && id != "Account-u9", "{id}");
        assert_eq!(lines[0]["Id"], json!(id));
    }

    #[test]
    fn a_create_after_a_delete_in_the_same_batch_is_a_new_record() {
        let changes = vec![
            Change::Delete("001".into()),
            create(vec![field("wasync_id", "u1")]),
        ];
        let (results, _) = write(FILE, changes);
        assert_eq!(results[0], Ok("001".to_owned()));
        assert!(matches!(&results[1], Ok(id) if id != "001"));
    }

    #[test]
    fn creates_without_a_key_get_distinct_new_ids() {
        let changes = vec![
            create(vec![field("Name", "x")]),
            create(vec![field("Name", "y")]),
        ];
        let (results, lines) = write(FILE, changes);
        let ids: Vec<String> = results.into_iter().flatten().collect();
        assert_eq!(ids.len(), 2);
        assert_ne!(ids[0], ids[1]);
        assert!(ids.iter().all(|id| id.starts_with("Account-")));
        assert_eq!(lines[0]["Id"], json!(ids[0]));
    }

    #[test]
    fn the_marker_field_cannot_be_smuggled_in() {
        let fields = vec![field("_deleted", true), field("Phone", "2")];
        let (_, lines) = write(FILE, vec![update("001", fields)]);
        assert_eq!(lines[0].get("_deleted"), None);
    }

    #[test]
    fn a_write_replayed_after_a_crash_adds_no_line() {
        let changes = vec![
            // The create whose answer was lost: found by its key, already as given.
            create(vec![field("wasync_id", "u1"), field("Name", "Acme")]),
            // The update whose answer was lost; the id and watermark are ours to set.
            update(
                "001",
                vec![
                    field("Phone", "1"),
                    field("Id", "001"),
                    field("SystemModstamp", "1999-01-01T00:00:00Z"),
                ],
            ),
            // A create that is new in this batch, replayed in the same batch.
            create(vec![field("wasync_id", "u9"), field("Name", "Nine")]),
            create(vec![field("wasync_id", "u9"), field("Name", "Nine")]),
        ];
        let (results, lines) = write(FILE, changes);
        let ids: Vec<String> = results.into_iter().flatten().collect();
        assert_eq!(ids, ["001", "001", "Account-u9", "Account-u9"]);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0]["Id"], json!("Account-u9"));
    }

    #[test]
    fn an_event_is_written_once_per_upsert_key() {
        let event = EntitySettings {
            file: None,
            id_field: "id".into(),
            watermark_field: "at".into(),
            kind: Kind::Event,
            deleted_field: None,
            upsert_key: Some("wasync_id".into()),
        };
        let file = concat!(
            r#"{"id": "PageView-u1", "url": "/a", "wasync_id": "u1", "at": "2024-03-01T12:00:00Z"}"#,
            "\n"
        );
        let view = |key: &str, url: &str| create(vec![field("wasync_id", key), field("url", url)]);
        // Replayed, even with other content: an event is never updated by a create.
        let changes = vec![
            view("u1", "/a"),
            view("u1", "/b"),
            view("u2", "/c"),
            view("u2", "/c"),
        ];
        let (results, lines) = write_to("PageView", &event, file, changes);
        let ids: Vec<String> = results.into_iter().flatten().collect();
        assert_eq!(
            ids,
            ["PageView-u1", "PageView-u1", "PageView-u2", "PageView-u2"]
        );
        assert_eq!(
            lines,
            [
                json!({"id": "PageView-u2", "url": "/c", "wasync_id": "u2", "at": "2024-03-01T12:00:00.000001Z"})
            ]
        );
    }
}
