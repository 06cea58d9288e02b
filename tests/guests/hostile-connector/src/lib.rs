//! An in-memory connector, a source and a sink of one object entity, that misbehaves as its
//! configuration says. The misbehaviours themselves are in the `misbehave` crate, shared
//! with the other hostile guests.
//!
//! # Configuration
//!
//! ```json
//! {"entity": "Thing", "count": 20, "names": {"7": "loop"},
//!  "describe": "ok", "read": "ok", "write": "ok"}
//! ```
//!
//! - `entity` (default `Thing`): the one entity it offers.
//! - `count` (default 10): how many records it holds: ids `t0` .. `t{count-1}`; record `ti`
//!   has the watermark `Modified` = i (an integer) and the fields `Id` = `ti`, `Modified` = i
//!   and `Name` = `name-i`, unless `names` maps `"i"` to another `Name`.
//! - `describe`, `read`, `write` (default `ok`): how that call behaves, one of the words
//!   below.
//! - `refuse` (any value): the configuration is refused, as a plugin's validation would.
//! - `sink` (text, optional): a JSON Lines file (in a directory granted to the connector)
//!   that `write` appends each change to as it goes, one line and one write per change, so
//!   that a change that traps leaves the ones before it written: part of a batch reached
//!   the system before the plugin failed. The lines are the `jsonl` connector's: `{"Id":
//!   id, ...fields}`, or `{"Id": id, "_deleted": true}` for a delete.
//! - `upsert_key` (text, optional): with `sink`, the field whose value names a create:
//!   it gets the id `<entity>-<value>`, as `jsonl` would give it, so a create replayed
//!   writes the same record again instead of a second one.
//!
//! # Calls
//!
//! `describe` offers the entity as an object with id field `Id`, watermark field `Modified`
//! and the fields `Id` (text), `Name` (text), `Modified` (integer).
//!
//! `read` returns the records after the request's (watermark, id) cursor and up to its
//! `until` (an integer), sorted by watermark, at most the request's `limit`, with `more`
//! when some are left. A read of another entity is `not-found`.
//!
//! `write` returns one result per change: an update's id, a delete's id, or for a create a
//! new id `w0`, `w1`, ... (or `<entity>-<key>`, see `upsert_key`). It keeps nothing but
//! the `sink` lines. It misbehaves for the whole call as `write` says, and also when a
//! change's `Name` is one of `loop`, `memory`, `trap`, `recurse` (the whole call, when it
//! reaches that change: the changes before it are in the sink), `fail:MSG` (an
//! `invalid-input` error for that change) or `big:N` (that change's id is a text of N MiB).
//!
//! | word          | `describe`                 | `read`                                         | `write`                         |
//! |---------------|----------------------------|------------------------------------------------|---------------------------------|
//! | `ok`          | as above                   | as above                                       | as above                        |
//! | `loop`        | spins forever              | spins forever                                  | spins forever                   |
//! | `memory`      | allocates until refused    | allocates until refused                        | allocates until refused         |
//! | `trap`        | panics with `boom`         | panics with `boom`                             | panics with `boom`              |
//! | `recurse`     | overflows its stack        | overflows its stack                            | overflows its stack             |
//! | `fail:MSG`    | an `other` error with MSG  | an `unavailable` error with MSG                | every change fails with MSG     |
//! | `big:N`       | —                          | one record (the first after the cursor), its `Name` a text of N MiB | every id is N MiB |
//! | `many:N`      | —                          | the records as if `count` were N, after the cursor, **ignoring the limit** | —   |
//! | `wait:MS`     | spins MS ms, then `ok`     | spins MS ms, then `ok`                         | spins MS ms, then `ok`          |
//! | `file:PATH`   | —                          | one record `t0` whose `Name` is PATH's text or `error: ...` | —                  |
//! | `env:NAME`    | —                          | one record `t0` whose `Name` is the variable or `null` | —                       |
//! | `socket:ADDR` | —                          | one record `t0` whose `Name` is `connected to ADDR` or `error: ...` (no network is granted: it must be an error) | — |
//!
//! A word a call has no use for (—) behaves as `ok`.

use misbehave::Word;
use std::cell::Cell;
use std::collections::BTreeMap;
use wasync_sdk::{
    Change, Config, Connector, EntityDescription, EntityKind, Error, Field, FieldDescription, Page,
    ReadRequest, Record, Value, ValueKind,
};

struct HostileConnector {
    entity: String,
    count: u64,
    names: BTreeMap<u64, String>,
    describe: String,
    read: String,
    write: String,
    sink: Option<String>,
    upsert_key: Option<String>,
    created: Cell<u64>,
}

impl Connector for HostileConnector {
    fn new(config: &Config) -> Result<Self, Error> {
        let json = config.json();
        if json.get("refuse").is_some() {
            return Err(Error::InvalidConfig("refused as asked".into()));
        }
        let text = |key: &str, default: &str| -> Result<String, Error> {
            match json.get(key) {
                None => Ok(default.to_owned()),
                Some(v) => v
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| Error::InvalidConfig(format!("`{key}` must be text"))),
            }
        };
        let count = match json.get("count") {
            None => 10,
            Some(v) => v
                .as_u64()
                .ok_or_else(|| Error::InvalidConfig("`count` must be a whole number".into()))?,
        };
        let mut names = BTreeMap::new();
        if let Some(map) = json.get("names") {
            let map = map
                .as_object()
                .ok_or_else(|| Error::InvalidConfig("`names` must be an object".into()))?;
            for (index, name) in map {
                let index = index.parse().map_err(|_| {
                    Error::InvalidConfig(format!("`names`: `{index}` is not a record index"))
                })?;
                let name = name
                    .as_str()
                    .ok_or_else(|| Error::InvalidConfig(format!("`names.{index}` must be text")))?;
                names.insert(index, name.to_owned());
            }
        }
        Ok(HostileConnector {
            entity: text("entity", "Thing")?,
            count,
            names,
            describe: text("describe", "ok")?,
            read: text("read", "ok")?,
            write: text("write", "ok")?,
            sink: json.get("sink").map(|_| text("sink", "")).transpose()?,
            upsert_key: json
                .get("upsert_key")
                .map(|_| text("upsert_key", ""))
                .transpose()?,
            created: Cell::new(0),
        })
    }

    fn describe(&self) -> Result<Vec<EntityDescription>, Error> {
        match Word::parse(&self.describe) {
            Word::Fail(message) => return Err(Error::Other(message.to_owned())),
            word => misbehave_in_call(word),
        }
        let field = |name: &str, kind| FieldDescription {
            name: name.to_owned(),
            kind,
            read_only: false,
        };
        Ok(vec![EntityDescription {
            name: self.entity.clone(),
            kind: EntityKind::Object,
            id_field: "Id".into(),
            watermark_field: "Modified".into(),
            fields: vec![
                field("Id", ValueKind::Text),
                field("Name", ValueKind::Text),
                field("Modified", ValueKind::Integer),
            ],
        }])
    }

    fn read(&self, request: ReadRequest) -> Result<Page, Error> {
        if request.entity != self.entity {
            return Err(Error::NotFound(format!(
                "no entity `{}` here, only `{}`",
                request.entity, self.entity
            )));
        }
        let probe = |name: Value| Page {
            records: vec![self.record(0, Some(name))],
            more: false,
        };
        let word = Word::parse(&self.read);
        let (count, limit) = match word {
            Word::Fail(message) => return Err(Error::Unavailable(message.to_owned())),
            Word::File(path) => return Ok(probe(Value::Text(misbehave::read_file(path)))),
            Word::Env(name) => return Ok(probe(std::env::var(name).ok().into())),
            Word::Socket(addr) => return Ok(probe(Value::Text(misbehave::connect(addr)))),
            Word::Many(n) => (n as u64, u64::MAX),
            Word::Big(_) => (self.count, 1),
            word => {
                misbehave_in_call(word);
                (self.count, u64::from(request.limit))
            }
        };
        let after = |i: u64| match &request.after {
            None => true,
            Some(cursor) => match cursor.watermark {
                Value::Integer(w) if w >= 0 => {
                    let w = w as u64;
                    i > w || (i == w && format!("t{i}") > cursor.id)
                }
                Value::Integer(_) | Value::Null => true,
                _ => false,
            },
        };
        let until = |i: u64| match request.until {
            Some(Value::Integer(u)) => (i as i64) <= u,
            _ => true,
        };
        let mut wanted = (0..count).filter(|&i| after(i) && until(i));
        let mut records: Vec<Record> = wanted
            .by_ref()
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(|i| self.record(i, None))
            .collect();
        let more = wanted.next().is_some();
        if let (Word::Big(mib), Some(first)) = (word, records.first_mut()) {
            first.set("Name", Value::Text(misbehave::big(mib)));
        }
        Ok(Page { records, more })
    }

    fn write(&self, _entity: &str, changes: Vec<Change>) -> Vec<Result<String, Error>> {
        let whole = Word::parse(&self.write);
        if let Word::Fail(message) = whole {
            return changes
                .iter()
                .map(|_| Err(Error::Other(message.to_owned())))
                .collect();
        }
        misbehave_in_call(whole);
        changes
            .into_iter()
            .map(|change| {
                let (id, fields) = match change {
                    Change::Delete(id) => {
                        self.append(&id, &[], true);
                        return Ok(id);
                    }
                    Change::Upsert { id, fields } => (id, fields),
                };
                let word = match name_of(&fields) {
                    Some(Value::Text(name)) => Word::parse(name),
                    _ => Word::Plain,
                };
                misbehave_in_call(word);
                let id = match (word, whole) {
                    (Word::Fail(message), _) => {
                        return Err(Error::InvalidInput(message.to_owned()));
                    }
                    (Word::Big(mib), _) | (_, Word::Big(mib)) => return Ok(misbehave::big(mib)),
                    _ => id.unwrap_or_else(|| self.new_id(&fields)),
                };
                self.append(&id, &fields, false);
                Ok(id)
            })
            .collect()
    }
}

impl HostileConnector {
    /// The id of a create: `<entity>-<key>` by the upsert key, else the next `w<n>`.
    fn new_id(&self, fields: &[Field]) -> String {
        let key = self.upsert_key.as_ref().and_then(|key| {
            fields
                .iter()
                .find(|f| &f.name == key)
                .and_then(|f| f.value.as_text())
        });
        match key {
            Some(key) => format!("{}-{key}", self.entity),
            None => {
                let n = self.created.get();
                self.created.set(n + 1);
                format!("w{n}")
            }
        }
    }

    /// Appends the line of one change to the sink, if there is one, in a write of its own.
    fn append(&self, id: &str, fields: &[Field], deleted: bool) {
        use std::io::Write;
        let Some(sink) = &self.sink else {
            return;
        };
        let mut line = serde_json::Map::new();
        line.insert("Id".into(), id.into());
        for field in fields {
            line.insert(field.name.clone(), json_of(&field.value));
        }
        if deleted {
            line.insert("_deleted".into(), true.into());
        }
        let text = format!("{}\n", serde_json::Value::Object(line));
        let written = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(sink)
            .and_then(|mut file| file.write_all(text.as_bytes()));
        if let Err(e) = written {
            panic!("cannot append to {sink}: {e}");
        }
    }

    /// Record `ti`, its `Name` as configured unless `name` is given.
    fn record(&self, i: u64, name: Option<Value>) -> Record {
        let name = name.unwrap_or_else(|| {
            Value::Text(
                self.names
                    .get(&i)
                    .cloned()
                    .unwrap_or_else(|| format!("name-{i}")),
            )
        });
        let id = format!("t{i}");
        Record {
            id: id.clone(),
            watermark: Value::Integer(i as i64),
            fields: vec![
                Field {
                    name: "Id".into(),
                    value: Value::Text(id),
                },
                Field {
                    name: "Name".into(),
                    value: name,
                },
                Field {
                    name: "Modified".into(),
                    value: Value::Integer(i as i64),
                },
            ],
            deleted: false,
        }
    }
}

/// A value as the `jsonl` connector writes it (timestamps as microseconds: the tests that
/// use the sink write none).
fn json_of(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Boolean(b) => (*b).into(),
        Value::Integer(i) => (*i).into(),
        Value::Float(f) => (*f).into(),
        Value::Text(t) => t.clone().into(),
        Value::Timestamp(t) => (*t).into(),
        Value::Json(text) => serde_json::from_str(text).unwrap_or_else(|_| text.clone().into()),
    }
}

fn name_of(fields: &[Field]) -> Option<&Value> {
    fields.iter().find(|f| f.name == "Name").map(|f| &f.value)
}

/// The misbehaviours that take a whole call down, or slow it; any other word does nothing.
fn misbehave_in_call(word: Word<'_>) {
    match word {
        Word::Loop => misbehave::spin(),
        Word::Memory => {
            misbehave::hoard();
        }
        Word::Trap => panic!("boom"),
        Word::Recurse => {
            misbehave::recurse();
        }
        Word::Wait(ms) => misbehave::busy_wait(ms),
        _ => {}
    }
}

wasync_sdk::export_connector!(HostileConnector);
