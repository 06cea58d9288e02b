//! The lines a batch of changes becomes, against a small file of Accounts.

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
    let mut source = std::io::Cursor::new(file);
    let mut batch = Batch::new(&index, name, entity, NOON, &counter, &mut source);
    batch.read_first(&changes).expect("the lines read back");
    let results = changes.into_iter().map(|c| batch.apply(c)).collect();
    let bytes = batch.into_bytes().unwrap_or_default();
    let lines = String::from_utf8_lossy(&bytes)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or(Json::Null))
        .collect();
    (results, lines)
}

/// A file that counts the reads made of it.
struct Counted<'a>(std::io::Cursor<&'a [u8]>, usize);

impl std::io::Read for Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.1 += 1;
        self.0.read(buf)
    }
}

impl std::io::Seek for Counted<'_> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.0.seek(pos)
    }
}

/// A batch updating a hundred records reads the lines they build on together, not one call
/// out of the sandbox each, and builds on the right one for each.
#[test]
fn a_batch_of_updates_reads_their_lines_at_once() {
    let file: String = (0..100)
        .map(|i| format!("{{\"Id\": \"a{i}\", \"Name\": \"N{i}\", \"SystemModstamp\": \"2024-03-01T11:00:00Z\"}}\n"))
        .collect();
    let entity = account();
    let mut index = Index::default();
    index.ingest(file.as_bytes(), &entity);
    let counter = Cell::new(0);
    let mut source = Counted(std::io::Cursor::new(file.as_bytes()), 0);
    let changes: Vec<Change> = (0..100)
        .rev()
        .map(|i| update(&format!("a{i}"), vec![field("Phone", format!("{i}"))]))
        .collect();
    let mut batch = Batch::new(&index, "Account", &entity, NOON, &counter, &mut source);
    batch.read_first(&changes).expect("read");
    let results: Vec<_> = changes.into_iter().map(|c| batch.apply(c)).collect();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let bytes = batch.into_bytes().expect("lines");
    let lines: Vec<Json> = String::from_utf8_lossy(&bytes)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(lines.len(), 100);
    for line in &lines {
        let i = line["Phone"].as_str().expect("phone");
        assert_eq!(line["Name"], format!("N{i}"), "{line}");
    }
    assert!(source.1 <= 2, "{} reads", source.1);
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
    let mut source = std::io::Cursor::new(FILE);
    let mut batch = Batch::new(&index, "Account", &entity, later, &counter, &mut source);
    for id in ["a", "b"] {
        assert!(batch.apply(Change::Delete(id.into())).is_ok());
    }
    let text = String::from_utf8_lossy(&batch.into_bytes().unwrap_or_default()).into_owned();
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
        [json!({"Id": "001", "SystemModstamp": AFTER_FILE, "_deleted": true, "IsDeleted": true})]
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
        r#"{"Id": "Account-u9", "wasync_id": "u9"}"#, r#"{"Id": "Account-u9", "_deleted": true}"#
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
fn a_value_is_compared_as_a_value_not_as_spelled() {
    let line = r#"{"a": "Caf\u00e9", "b": "x", "c": 1.50, "d": "1"}"#;
    let parsed = parse_line(line).unwrap_or_default();
    let holds = |name: &str, value: Json| parsed.get(name).is_some_and(|p| same(p, &value));
    assert!(holds("a", json!("Café")) && holds("b", json!("x")) && holds("c", json!(1.5)));
    assert!(!holds("b", json!("y")) && !holds("d", json!(1)) && !holds("c", json!("1.50")));
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
