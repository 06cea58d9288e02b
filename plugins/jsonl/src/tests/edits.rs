//! Files changed by hand while an instance holds their index: truncated, rewritten, edited
//! in the middle. The index must read the file as it is, never on from a stale offset.

use super::*;
use std::time::Duration;

fn line(id: &str, mark: u32, name: &str) -> String {
    format!(
        "{{\"Id\": \"{id}\", \"SystemModstamp\": {mark}, \"Name\": \"{name}\", \"wasync_id\": \"u-{id}\"}}\n"
    )
}

fn names(records: &[Record]) -> Vec<(String, Option<Value>)> {
    records
        .iter()
        .map(|r| (r.id.clone(), r.get("Name").cloned()))
        .collect()
}

fn name(text: &str) -> Option<Value> {
    Some(Value::Text(text.into()))
}

/// Moves the file's modification time on, as a later edit would (an edit in the same clock
/// tick as the last look keeps it, and is not seen).
/// Updates record `a`'s Phone through `connector`; a fresh connector then reads `a` with
/// that Phone on the Name `name` the file holds now.
fn update_phone_of_a(dir: &TempDir, connector: &Jsonl, name_now: &str) -> Result<(), Error> {
    let written = connector.write(
        "Account",
        vec![Change::Upsert {
            id: Some("a".into()),
            fields: vec![field("Phone", "5")],
        }],
    );
    assert_eq!(written, [Ok("a".to_owned())]);
    let all = read_all(&dir.connector(ACCOUNT)?, 10)?;
    let a = all.iter().find(|r| r.id == "a");
    assert!(
        a.is_some_and(|a| a.get("Name") == name(name_now).as_ref()
            && a.get("Phone") == Some(&Value::Text("5".into()))),
        "{name_now} under the update: {all:?}"
    );
    Ok(())
}

fn touch_later(path: &Path) {
    let file = fs::OpenOptions::new().write(true).open(path);
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    assert!(file.and_then(|f| f.set_modified(later)).is_ok());
}

#[test]
fn a_file_truncated_then_grown_past_the_old_end_is_read_from_the_start() -> Result<(), Error> {
    let dir = TempDir::new("regrow");
    let path = dir.file("accounts.jsonl");
    let connector = dir.connector(ACCOUNT)?;
    append(&path, &(line("a", 1, "A") + &line("b", 2, "B")));
    assert_eq!(read_all(&connector, 10)?.len(), 2);
    // Rewritten longer than before: the old offset falls inside the second line.
    let text = line("c", 3, "Cccccccccccccccccccc") + &line("d", 4, "D") + &line("e", 5, "E");
    fs::write(&path, text).ok();
    let all = read_all(&connector, 10)?;
    assert_eq!(
        names(&all),
        [
            ("c".into(), name("Cccccccccccccccccccc")),
            ("d".into(), name("D")),
            ("e".into(), name("E"))
        ],
        "every line of the file as it is now, and no piece of a line"
    );
    Ok(())
}

#[test]
fn a_line_edited_in_place_is_what_an_update_builds_on() -> Result<(), Error> {
    let dir = TempDir::new("edit");
    let path = dir.file("accounts.jsonl");
    let connector = dir.connector(ACCOUNT)?;
    append(&path, &(line("a", 1, "Alpha") + &line("b", 2, "Bravo")));
    assert_eq!(read_all(&connector, 10)?.len(), 2);
    // The same length, so only the modification time tells.
    let edited = line("a", 1, "Omega") + &line("b", 2, "Bravo");
    fs::write(&path, edited).ok();
    touch_later(&path);
    // The hand edit is kept under the update.
    update_phone_of_a(&dir, &connector, "Omega")
}

#[test]
fn a_line_edited_to_a_longer_one_is_read_whole_and_the_rest_is_kept() -> Result<(), Error> {
    let dir = TempDir::new("longer");
    let path = dir.file("accounts.jsonl");
    let connector = dir.connector(ACCOUNT)?;
    append(
        &path,
        &(line("a", 1, "A") + &line("b", 2, "B") + &line("c", 3, "C")),
    );
    assert_eq!(read_all(&connector, 10)?.len(), 3);
    let edited = line("a", 1, "A") + &line("b", 4, "B, now longer") + &line("c", 3, "C");
    fs::write(&path, edited).ok();
    let all = read_all(&connector, 10)?;
    assert_eq!(
        names(&all),
        [
            ("a".into(), name("A")),
            ("c".into(), name("C")),
            ("b".into(), name("B, now longer"))
        ]
    );
    assert!(all.iter().all(|r| r.get("_error").is_none()), "{all:?}");
    Ok(())
}

#[test]
fn a_destination_truncated_between_writes_gets_its_records_created_again() -> Result<(), Error> {
    let dir = TempDir::new("dest");
    let path = dir.file("accounts.jsonl");
    let connector = dir.connector(ACCOUNT)?;
    let create = |key: &str| Change::Upsert {
        id: None,
        fields: vec![field("Name", key), field("wasync_id", key)],
    };
    let first = connector.write("Account", vec![create("u1"), create("u2")]);
    assert_eq!(first, [Ok("Account-u1".into()), Ok("Account-u2".into())]);
    fs::write(&path, "").ok();
    // A replayed create and an update of a record no longer in the file.
    let again = connector.write(
        "Account",
        vec![
            create("u1"),
            Change::Upsert {
                id: Some("Account-u2".into()),
                fields: vec![field("Name", "u2")],
            },
        ],
    );
    assert_eq!(again, [Ok("Account-u1".into()), Ok("Account-u2".into())]);
    let all = read_all(&dir.connector(ACCOUNT)?, 10)?;
    assert_eq!(
        names(&all)
            .into_iter()
            .map(|(id, _)| id)
            .collect::<Vec<_>>(),
        ["Account-u1", "Account-u2"]
    );
    Ok(())
}

/// Writes `text` over the file and puts its modification time back, so that the checks
/// made on each call (its length, its last bytes, its modification time) see no change.
fn edit_unseen(path: &Path, text: &str) {
    let modified = fs::metadata(path).and_then(|m| m.modified());
    assert!(fs::write(path, text).is_ok());
    let file = fs::OpenOptions::new().write(true).open(path);
    assert!(modified.and_then(|m| file?.set_modified(m)).is_ok());
}

/// An edit the checks cannot see is found when its line is read back from where the
/// index has it: the file is then taken in again, and no record is read from bytes that
/// are no longer its line.
#[test]
fn a_line_edited_unseen_is_read_as_it_is_now_not_from_a_stale_offset() -> Result<(), Error> {
    let dir = TempDir::new("unseen");
    let path = dir.file("accounts.jsonl");
    let connector = dir.connector(ACCOUNT)?;
    // The last line is longer than the bytes kept to recognise the file.
    let last = line("c", 3, &"C".repeat(80));
    append(
        &path,
        &(line("a", 1, "Alpha") + &line("b", 2, "Bravo") + &last),
    );
    assert_eq!(read_all(&connector, 10)?.len(), 3);
    // Record a renamed, and b's line now another record's, each the same length.
    edit_unseen(
        &path,
        &(line("a", 1, "Omega") + &line("z", 2, "Bravo") + &last),
    );
    let all = read_all(&connector, 10)?;
    assert_eq!(
        names(&all),
        [
            ("a".into(), name("Omega")),
            ("z".into(), name("Bravo")),
            ("c".into(), name(&"C".repeat(80)))
        ]
    );
    // An update builds on the line as it is now, too.
    edit_unseen(
        &path,
        &(line("a", 1, "Sigma") + &line("z", 2, "Bravo") + &last),
    );
    update_phone_of_a(&dir, &connector, "Sigma")
}
