//! The connector end to end over real files in a temporary directory.

use super::*;
use std::fs;
use std::io::Write as _;
use wasync_sdk::{Cursor, Field, Record, Value};

/// A fresh directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("wasync-jsonl-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).ok();
        TempDir(path)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn connector(&self, entity: &str) -> Result<Jsonl, Error> {
        let config = format!(
            r#"{{"dir": {:?}, "entities": {{"Account": {entity}}}}}"#,
            self.0.display().to_string()
        );
        Jsonl::new(&Config::parse(&config)?)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

const ACCOUNT: &str = r#"{"file": "accounts.jsonl", "id_field": "Id", "watermark_field": "SystemModstamp",
    "deleted_field": "IsDeleted", "upsert_key": "wasync_id"}"#;

fn request(after: Option<&Record>, limit: u32) -> ReadRequest {
    ReadRequest {
        entity: "Account".into(),
        after: after.map(|r| Cursor {
            watermark: r.watermark.clone(),
            id: r.id.clone(),
        }),
        until: None,
        limit,
    }
}

fn append(path: &Path, text: &str) {
    let file = fs::OpenOptions::new().append(true).create(true).open(path);
    if let Ok(mut file) = file {
        let _ = file.write_all(text.as_bytes());
    }
}

fn field(name: &str, value: impl Into<Value>) -> Field {
    Field {
        name: name.into(),
        value: value.into(),
    }
}

/// Reads the whole entity in pages of `limit`, as the host does.
fn read_all(connector: &Jsonl, limit: u32) -> Result<Vec<Record>, Error> {
    let mut all: Vec<Record> = Vec::new();
    loop {
        let page = connector.read(request(all.last(), limit))?;
        assert!(page.records.len() <= limit as usize);
        all.extend(page.records);
        if !page.more {
            return Ok(all);
        }
    }
}

#[test]
fn a_missing_file_has_no_records() -> Result<(), Error> {
    let dir = TempDir::new("missing");
    let connector = dir.connector(ACCOUNT)?;
    assert_eq!(
        connector.read(request(None, 10))?,
        Page {
            records: vec![],
            more: false
        }
    );
    let described = connector.describe()?;
    assert_eq!(described.len(), 1);
    assert_eq!(described[0].id_field, "Id");
    assert!(described[0].fields.is_empty());
    Ok(())
}

#[test]
fn an_unknown_entity_is_not_found() -> Result<(), Error> {
    let dir = TempDir::new("unknown");
    let connector = dir.connector(ACCOUNT)?;
    let mut req = request(None, 10);
    req.entity = "Contact".into();
    assert!(matches!(connector.read(req), Err(Error::NotFound(_))));
    let results = connector.write("Contact", vec![Change::Delete("x".into())]);
    assert!(matches!(results.as_slice(), [Err(Error::NotFound(_))]));
    Ok(())
}

#[test]
fn reads_what_is_appended_between_calls() -> Result<(), Error> {
    let dir = TempDir::new("append");
    let path = dir.file("accounts.jsonl");
    let connector = dir.connector(ACCOUNT)?;
    append(
        &path,
        "{\"Id\": \"a\", \"SystemModstamp\": \"2024-03-01T12:00:00Z\"}\n{\"Id\": \"b\", ",
    );
    let first = connector.read(request(None, 10))?;
    assert_eq!(first.records.len(), 1);
    append(&path, "\"SystemModstamp\": \"2024-03-01T12:00:01Z\"}\n");
    let second = connector.read(request(first.records.last(), 10))?;
    assert_eq!(
        second
            .records
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>(),
        ["b"]
    );
    Ok(())
}

#[test]
fn a_file_that_shrank_is_read_again() -> Result<(), Error> {
    let dir = TempDir::new("shrink");
    let path = dir.file("accounts.jsonl");
    let connector = dir.connector(ACCOUNT)?;
    append(
        &path,
        "{\"Id\": \"a\", \"SystemModstamp\": 1}\n{\"Id\": \"b\", \"SystemModstamp\": 2}\n",
    );
    assert_eq!(connector.read(request(None, 10))?.records.len(), 2);
    fs::write(&path, "{\"Id\": \"c\", \"SystemModstamp\": 3}\n").ok();
    let page = connector.read(request(None, 10))?;
    assert_eq!(
        page.records
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>(),
        ["c"]
    );
    fs::remove_file(&path).ok();
    assert!(connector.read(request(None, 10))?.records.is_empty());
    Ok(())
}

#[test]
fn writes_are_read_back_after_everything_before() -> Result<(), Error> {
    let dir = TempDir::new("roundtrip");
    let path = dir.file("accounts.jsonl");
    let connector = dir.connector(ACCOUNT)?;
    // A watermark far in the future: writes must still sort after it.
    append(
        &path,
        "{\"Id\": \"old\", \"SystemModstamp\": \"2999-01-01T00:00:00Z\", \"Name\": \"Old\"}\n",
    );
    let seen = connector.read(request(None, 10))?;
    let created = connector.write(
        "Account",
        vec![
            Change::Upsert {
                id: None,
                fields: vec![field("Name", "Acme"), field("wasync_id", "u1")],
            },
            Change::Upsert {
                id: Some("old".into()),
                fields: vec![field("Phone", "5")],
            },
        ],
    );
    assert_eq!(created[0], Ok("Account-u1".to_owned()));
    assert_eq!(created[1], Ok("old".to_owned()));
    let page = connector.read(request(seen.records.last(), 10))?;
    let ids: Vec<&str> = page.records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["Account-u1", "old"]);
    assert_eq!(
        page.records[1].get("Name"),
        Some(&Value::Text("Old".into()))
    );
    assert_eq!(page.records[1].get("Phone"), Some(&Value::Text("5".into())));

    // A replayed create is the same record, and a fresh instance sees the same file.
    let replay = connector.write(
        "Account",
        vec![Change::Upsert {
            id: None,
            fields: vec![field("Name", "Acme"), field("wasync_id", "u1")],
        }],
    );
    assert_eq!(replay, [Ok("Account-u1".to_owned())]);
    let fresh = dir.connector(ACCOUNT)?;
    assert_eq!(read_all(&fresh, 1)?.len(), 2);

    // Deletes come back as tombstones.
    assert_eq!(
        connector.write("Account", vec![Change::Delete("old".into())]),
        [Ok("old".to_owned())]
    );
    let all = read_all(&connector, 10)?;
    let old = all.iter().find(|r| r.id == "old");
    assert!(old.is_some_and(|r| r.deleted && r.get("IsDeleted") == Some(&Value::Boolean(true))));
    Ok(())
}

/// The host appended an event, then died before recording the write; after the restart it
/// sends the same create again, to a fresh instance.
#[test]
fn a_replayed_event_create_is_answered_with_the_line_written_before() -> Result<(), Error> {
    let dir = TempDir::new("event-replay");
    let event = r#"{"file": "views.jsonl", "id_field": "id", "watermark_field": "at",
        "kind": "event", "upsert_key": "wasync_id"}"#;
    let view = || Change::Upsert {
        id: None,
        fields: vec![field("url", "/pricing"), field("wasync_id", "u1")],
    };
    let first = dir.connector(event)?.write("Account", vec![view()]);
    assert_eq!(first, [Ok("Account-u1".to_owned())]);
    let replayed = dir.connector(event)?.write("Account", vec![view(), view()]);
    assert_eq!(
        replayed,
        [Ok("Account-u1".to_owned()), Ok("Account-u1".to_owned())]
    );
    let text =
        fs::read_to_string(dir.file("views.jsonl")).map_err(|e| Error::Other(e.to_string()))?;
    assert_eq!(text.lines().count(), 1, "{text}");
    Ok(())
}

#[test]
fn a_line_torn_by_a_crash_glues_nothing_to_the_next_write() -> Result<(), Error> {
    let dir = TempDir::new("torn");
    let path = dir.file("accounts.jsonl");
    // An append cut off mid-line: the file ends inside a record.
    append(
        &path,
        "{\"Id\": \"a\", \"SystemModstamp\": \"2026-01-01T00:00:00Z\", \"Name\": \"A\"}\n{\"Id\": \"b\", \"Sys",
    );
    let connector = dir.connector(ACCOUNT)?;
    let created = connector.write(
        "Account",
        vec![Change::Upsert {
            id: None,
            fields: vec![field("Name", "Acme"), field("wasync_id", "u1")],
        }],
    );
    assert_eq!(created, [Ok("Account-u1".to_owned())]);
    let text = fs::read_to_string(&path).map_err(|e| Error::Other(e.to_string()))?;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(
        lines[1], "{\"Id\": \"b\", \"Sys",
        "the torn line stands alone"
    );
    // The written record is whole, and read back; the torn line is set aside, not lost.
    let all = read_all(&dir.connector(ACCOUNT)?, 10)?;
    assert!(
        all.iter()
            .any(|r| r.id == "Account-u1" && r.get("Name") == Some(&Value::Text("Acme".into())))
    );
    assert!(
        all.iter().any(
            |r| matches!(r.get("_error"), Some(Value::Text(m)) if m.starts_with("line 2: not JSON"))
        ),
        "{all:?}"
    );
    Ok(())
}

#[test]
fn describes_the_fields_seen() -> Result<(), Error> {
    let dir = TempDir::new("describe");
    let connector = dir.connector(ACCOUNT)?;
    connector.write(
        "Account",
        vec![Change::Upsert {
            id: Some("a".into()),
            fields: vec![field("Name", "A")],
        }],
    );
    let described = connector.describe()?;
    let fields: Vec<(&str, ValueKind, bool)> = described[0]
        .fields
        .iter()
        .map(|f| (f.name.as_str(), f.kind, f.read_only))
        .collect();
    assert_eq!(
        fields,
        [
            ("Id", ValueKind::Text, false),
            ("Name", ValueKind::Text, false),
            ("SystemModstamp", ValueKind::Timestamp, true),
        ]
    );
    Ok(())
}

#[test]
fn a_missing_directory_is_an_error() -> Result<(), Error> {
    let dir = TempDir::new("nodir");
    let config = format!(
        r#"{{"dir": {:?}, "entities": {{"Account": {ACCOUNT}}}}}"#,
        dir.file("absent").display().to_string()
    );
    let connector = Jsonl::new(&Config::parse(&config)?)?;
    let results = connector.write(
        "Account",
        vec![Change::Delete("a".into()), Change::Delete("b".into())],
    );
    assert_eq!(results.len(), 2);
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(Error::NotFound(m)) if m.contains("granted")))
    );
    // Unlike a missing file, a missing directory is not an empty entity.
    let read = connector.read(request(None, 10));
    assert!(matches!(read, Err(Error::NotFound(m)) if m.contains("granted")));
    Ok(())
}

/// 100,000 lines read in pages of 1,000 and 5,000: every record once, in order, and fast.
#[test]
fn pages_through_a_large_file() -> Result<(), Error> {
    let dir = TempDir::new("large");
    let mut text = String::new();
    for i in 0..100_000u32 {
        // Ten records share each watermark, so pages cut runs of equal watermarks.
        let second = i / 10;
        text.push_str(&format!(
            "{{\"Id\": \"{:06}\", \"Name\": \"Account {i}\", \"Type\": \"Customer\", \"Amount\": {i}, \
             \"SystemModstamp\": \"2024-03-01T{:02}:{:02}:{:02}.000+0000\"}}\n",
            (i * 7919) % 100_000,
            second / 3600,
            second / 60 % 60,
            second % 60
        ));
    }
    fs::write(dir.file("accounts.jsonl"), text).ok();
    for limit in [1_000, 5_000, 777] {
        let connector = dir.connector(ACCOUNT)?;
        let started = std::time::Instant::now();
        let all = read_all(&connector, limit)?;
        eprintln!(
            "100,000 records in pages of {limit}: {:?}",
            started.elapsed()
        );
        assert_eq!(all.len(), 100_000);
        // Every record's own line, read back from where the index has it.
        assert!(all.iter().all(|r| match (r.get("Amount"), r.get("Name")) {
            (Some(Value::Integer(i)), Some(Value::Text(name))) => *name == format!("Account {i}"),
            _ => false,
        }));
        assert!(all.windows(2).all(|w| {
            (Mark(w[0].watermark.clone()), &w[0].id) < (Mark(w[1].watermark.clone()), &w[1].id)
        }));
    }
    Ok(())
}

/// Lines are read back from the file, not kept: after a byte order mark, without their
/// `\r\n`, the latest line of a record after appends and an update.
#[test]
fn lines_are_read_back_from_the_file_as_they_were_taken_in() -> Result<(), Error> {
    let dir = TempDir::new("reread");
    let path = dir.file("accounts.jsonl");
    append(
        &path,
        "\u{feff}{\"Id\": \"a\", \"SystemModstamp\": 1, \"Name\": \"A\"}\r\n\
         {\"Id\": \"b\", \"SystemModstamp\": 2, \"Name\": \"B\"}\r\n",
    );
    let connector = dir.connector(ACCOUNT)?;
    let names = |records: &[Record]| -> Vec<(String, Option<Value>, Option<Value>)> {
        records
            .iter()
            .map(|r| {
                (
                    r.id.clone(),
                    r.get("Name").cloned(),
                    r.get("Phone").cloned(),
                )
            })
            .collect()
    };
    let text = |t: &str| Some(Value::Text(t.into()));
    assert_eq!(
        names(&read_all(&connector, 10)?),
        [("a".into(), text("A"), None), ("b".into(), text("B"), None)]
    );
    append(
        &path,
        "{\"Id\": \"a\", \"SystemModstamp\": 3, \"Name\": \"A2\"}\r\n",
    );
    let written = connector.write(
        "Account",
        vec![Change::Upsert {
            id: Some("b".into()),
            fields: vec![field("Phone", "5")],
        }],
    );
    assert_eq!(written, [Ok("b".to_owned())]);
    let all = read_all(&connector, 1)?;
    assert_eq!(
        names(&all),
        [
            ("a".into(), text("A2"), None),
            ("b".into(), text("B"), text("5"))
        ]
    );
    assert!(all.iter().all(|r| r.get("_error").is_none()), "{all:?}");
    Ok(())
}

mod edits;
mod kept;
