//! The index over small files held in memory.

use super::*;
use crate::fixtures::account;
use std::io::Cursor;

fn index(text: &str) -> Index {
    let mut index = Index::default();
    index.ingest(text.as_bytes(), &account());
    index
}

/// A page of `index`, whose lines are read back from `file`.
fn page(
    index: &mut Index,
    file: &str,
    after: Option<(Mark, String)>,
    until: Option<&Mark>,
    limit: usize,
) -> Result<(Vec<Record>, bool), Reread> {
    index.page(after, until, limit, &account(), &mut Cursor::new(file))
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
fn sorts_by_watermark_then_id() -> Result<(), Reread> {
    let (records, more) = page(&mut index(FILE), FILE, None, None, 10)?;
    assert_eq!(ids(&records), ["c", "a", "b", "d"]);
    assert!(!more);
    Ok(())
}

#[test]
fn pages_after_a_cursor_without_losing_equal_watermarks() -> Result<(), Reread> {
    let mut index = index(FILE);
    let (first, more) = page(&mut index, FILE, None, None, 2)?;
    assert_eq!((ids(&first), more), (vec!["c", "a"], true));
    let cursor = (ts("2024-03-01T12:00:00Z"), "a".to_owned());
    let (second, more) = page(&mut index, FILE, Some(cursor), None, 2)?;
    assert_eq!((ids(&second), more), (vec!["b", "d"], false));
    Ok(())
}

#[test]
fn stops_at_the_inclusive_upper_bound() -> Result<(), Reread> {
    let until = ts("2024-03-01T12:00:00Z");
    let mut index = index(FILE);
    let (records, more) = page(&mut index, FILE, None, Some(&until), 10)?;
    assert_eq!((ids(&records), more), (vec!["c", "a", "b"], false));
    let (records, more) = page(&mut index, FILE, None, Some(&until), 3)?;
    assert_eq!((ids(&records), more), (vec!["c", "a", "b"], false));
    let (records, more) = page(&mut index, FILE, None, Some(&until), 2)?;
    assert_eq!((ids(&records), more), (vec!["c", "a"], true));
    Ok(())
}

#[test]
fn a_later_line_supersedes() -> Result<(), Reread> {
    let text = format!(
        "{FILE}{}\n",
        r#"{"Id": "c", "SystemModstamp": "2024-03-01T14:00:00Z", "Name": "C2"}"#
    );
    let (records, _) = page(&mut index(&text), &text, None, None, 10)?;
    assert_eq!(ids(&records), ["a", "b", "d", "c"]);
    assert_eq!(records[3].get("Name"), Some(&Value::Text("C2".into())));
    Ok(())
}

#[test]
fn tombstones_are_read_as_deletes() -> Result<(), Reread> {
    let text = format!(
        "{FILE}{}\n",
        r#"{"Id": "a", "SystemModstamp": "2024-03-01T14:00:00Z", "_deleted": true}"#
    );
    let mut index = index(&text);
    let (records, _) = page(&mut index, &text, None, None, 10)?;
    assert_eq!(ids(&records), ["c", "b", "d", "a"]);
    assert!(records[3].deleted);
    assert!(index.live_line("a", &mut Cursor::new(&text))?.is_none());
    assert!(index.contains("a"));
    Ok(())
}

#[test]
fn integer_watermarks_order_as_numbers() -> Result<(), Reread> {
    let text = "{\"Id\": \"x\", \"SystemModstamp\": 10}\n{\"Id\": \"y\", \"SystemModstamp\": 9}\n";
    let (records, _) = page(&mut index(text), text, None, None, 10)?;
    assert_eq!(ids(&records), ["y", "x"]);
    assert_eq!(records[0].watermark, Value::Integer(9));
    Ok(())
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
fn broken_lines_become_records_in_file_order() -> Result<(), Reread> {
    let text = format!(
        "{FILE}not json\n\n   \n[1,2]\n{}\n",
        r#"{"Name": "no id", "SystemModstamp": "2024-03-01T15:00:00Z"}"#
    );
    let mut index = index(&text);
    let (records, _) = page(&mut index, &text, None, None, 10)?;
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
    assert!(matches!(records[6].get("_error"), Some(Value::Text(m)) if m.contains("no id field")));
    Ok(())
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

/// Takes in `more`, appended to `text` since the index took `text` in; returns the file.
fn append(index: &mut Index, text: &str, more: &str) -> String {
    index.ingest(more.as_bytes(), &account());
    format!("{text}{more}")
}

#[test]
fn lines_are_read_back_at_their_offsets_after_appends_and_updates() -> Result<(), Reread> {
    let mut index = index(FILE);
    let update = r#"{"Id": "a", "SystemModstamp": "2024-03-01T14:00:00Z", "Name": "A2"}"#;
    let text = append(&mut index, FILE, &format!("{update}\n"));
    let new = r#"{"Id": "e", "SystemModstamp": "2024-03-01T15:00:00Z", "Name": "E"}"#;
    let text = append(&mut index, &text, &format!("\n{new}\n"));
    let (records, _) = page(&mut index, &text, None, None, 10)?;
    let names: Vec<_> = records
        .iter()
        .map(|r| (r.id.as_str(), r.get("Name")))
        .collect();
    let name = |n: &str| Some(Value::Text(n.into()));
    assert_eq!(
        names,
        [
            ("c", name("C").as_ref()),
            ("b", name("B").as_ref()),
            ("d", name("D").as_ref()),
            ("a", name("A2").as_ref()),
            ("e", name("E").as_ref()),
        ]
    );
    let mut file = Cursor::new(&text);
    assert_eq!(index.live_line("a", &mut file)?.as_deref(), Some(update));
    assert_eq!(index.live_line("e", &mut file)?.as_deref(), Some(new));
    Ok(())
}

#[test]
fn lines_are_read_back_without_a_byte_order_mark_or_carriage_return() -> Result<(), Reread> {
    let text = "\u{feff}{\"Id\": \"x\", \"N\": 1}\r\n{\"Id\": \"y\", \"N\": 2}\r\n";
    let mut index = index(text);
    let (records, _) = page(&mut index, text, None, None, 10)?;
    let numbers: Vec<_> = records.iter().map(|r| r.get("N")).collect();
    assert_eq!(
        numbers,
        [Some(&Value::Integer(1)), Some(&Value::Integer(2))]
    );
    assert!(records.iter().all(|r| r.get("_error").is_none()));
    let mut file = Cursor::new(text);
    let x = index.live_line("x", &mut file)?;
    assert_eq!(x.as_deref(), Some("{\"Id\": \"x\", \"N\": 1}"));
    Ok(())
}

#[test]
fn a_file_changed_under_the_index_is_not_read_as_its_records() -> Result<(), Reread> {
    let mut index = index(FILE);
    // The same length, other bytes: a line edited in place.
    let edited = FILE.replace("\"Name\": \"B\"", "\"Name\": \"X\"");
    let read = page(&mut index, &edited, None, None, 10);
    assert!(matches!(read, Err(Reread::Changed)), "{read:?}");
    assert!(matches!(
        index.live_line("b", &mut Cursor::new(&edited)),
        Err(Reread::Changed)
    ));
    // Cut short: the lines past the end are not there.
    let cut = &FILE[..FILE.len() / 2];
    assert!(matches!(
        page(&mut index, cut, None, None, 10),
        Err(Reread::Changed)
    ));
    // Lines the edit left alone still read.
    assert!(index.live_line("a", &mut Cursor::new(&edited))?.is_some());
    Ok(())
}

#[test]
fn finds_a_byte_a_word_at_a_time() {
    let text = b"0123456789abcdef\nxyz\n";
    for start in 0..text.len() {
        let want = text[start..].iter().position(|&b| b == b'\n');
        assert_eq!(find(&text[start..], b'\n'), want, "from {start}");
    }
    assert_eq!(find(b"", b'\n'), None);
}

/// Lines mostly repeat the keys of the line before; the index still finds every key new to
/// it, wherever it comes, and none from a line that is not a record.
#[test]
fn finds_new_fields_whatever_the_lines_before_had() {
    let index = index(concat!(
        r#"{"Id": "a", "A": 1, "B": 2}"#,
        "\n",
        r#"{"Id": "b", "A": 1, "B": 2}"#,
        "\n",
        r#"{"Id": "c", "A": 1}"#,
        "\n",
        r#"{"Id": "d", "A": 1, "C": 3}"#,
        "\n",
        r#"{"Id": "e", "X": 1, "Y": "#,
        "\n",
        r#"{"Id": "f", "B": 2, "A": 1, "C": 3, "D": 4}"#,
        "\n",
        r#"{"Id": "g", "B": 2, "A": 1, "C": 3, "D": 4, "_deleted": false, "E": 5}"#,
        "\n",
    ));
    assert_eq!(index.fields(), ["Id", "A", "B", "C", "D", "E"]);
}

/// Many rewrites of few records, out of watermark order, with upsert keys, deletes and a
/// broken line: past the compaction threshold, every page, key and id still answers as a
/// model of the latest lines does.
#[test]
fn compacting_superseded_versions_changes_no_answer() -> Result<(), Reread> {
    const RECORDS: usize = 300;
    let mut text = String::new();
    let mut latest = std::collections::BTreeMap::new();
    let mut index = Index::default();
    for round in 0..8usize {
        let mut chunk = String::new();
        for n in 0..RECORDS {
            // Watermarks go back and forth, so lines come out of order.
            let second = (n * 7 + round * 13) % 60;
            let deleted = (n + round) % 11 == 0;
            let line = format!(
                r#"{{"Id": "r{n:03}", "SystemModstamp": "2024-03-01T12:{round:02}:{second:02}Z", "wasync_id": "k{n}-{round}", "_deleted": {deleted}}}"#
            );
            chunk.push_str(&line);
            chunk.push('\n');
            latest.insert(format!("r{n:03}"), (round, second, deleted));
        }
        if round == 3 {
            chunk.push_str("not json\n");
        }
        text = append(&mut index, &text, &chunk);
        // A page after each round sorts in what came, and compacts once there is enough.
        page(&mut index, &text, None, None, 1)?;
    }
    assert!(
        index.slots.len() < 8 * RECORDS,
        "superseded versions compacted away"
    );

    let (records, more) = page(&mut index, &text, None, None, 10_000)?;
    assert!(!more);
    let mut expected: Vec<(u64, String)> = latest
        .iter()
        .map(|(id, (round, second, _))| ((*round * 60 + *second) as u64, id.clone()))
        .collect();
    expected.sort();
    let got: Vec<&str> = ids(&records)
        .into_iter()
        .filter(|id| id.starts_with('r'))
        .collect();
    assert_eq!(
        got,
        expected
            .iter()
            .map(|(_, id)| id.as_str())
            .collect::<Vec<_>>()
    );
    assert!(
        ids(&records).iter().any(|id| id.starts_with("line:")),
        "the broken line stays"
    );
    for (id, (round, _, deleted)) in &latest {
        let record = records.iter().find(|r| &r.id == id).expect("every record");
        assert_eq!(record.deleted, *deleted, "{id}");
        let n: usize = id[1..].parse().expect("a number");
        let key = format!("k{n}-{round}");
        let expected_id = (!deleted).then_some(id.as_str());
        assert_eq!(index.id_for_key(&key), expected_id, "{key}");
        assert_eq!(index.id_for_key(&format!("k{n}-{}", round - 1)), None);
        assert_eq!(index.live_key(id), (!deleted).then_some(Some(key.as_str())));
    }
    // Pages after a cursor, in small steps, read each record once.
    let mut cursor = None;
    let mut walked = Vec::new();
    loop {
        let (records, more) = page(&mut index, &text, cursor.clone(), None, 7)?;
        walked.extend(records.iter().map(|r| r.id.clone()));
        match records.last() {
            Some(last) => cursor = Some((Mark(last.watermark.clone()), last.id.clone())),
            None => break,
        }
        if !more {
            break;
        }
    }
    assert_eq!(walked, ids(&records));
    Ok(())
}

#[test]
fn ids_of_any_length_are_kept_whole() {
    let long = "x".repeat(300 << 10);
    let mut text = String::new();
    for id in [
        "a",
        long.as_str(),
        "b",
        &"y".repeat(200 << 10),
        &"z".repeat(100 << 10),
        "c",
    ] {
        text.push_str(&format!("{{\"Id\": \"{id}\"}}\n"));
    }
    let index = index(&text);
    for id in [
        "a",
        "b",
        "c",
        long.as_str(),
        &"y".repeat(200 << 10),
        &"z".repeat(100 << 10),
    ] {
        assert!(index.contains(id), "an id of {} bytes", id.len());
    }
    assert!(!index.contains(&"x".repeat((300 << 10) - 1)));
}
