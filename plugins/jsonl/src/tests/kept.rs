//! The index kept beside a large file: used by the next instance, and never trusted over
//! the file.

use super::*;
use crate::index::persist;

/// A file of `n` accounts, one a second from noon, of about 400 bytes each.
fn accounts(from: u32, n: u32, name: &str) -> String {
    (from..from + n)
        .map(|i| {
            format!(
                "{{\"Id\": \"a{i:05}\", \"Name\": \"{name} {i}\", \"wasync_id\": \"w{i}\", \
                 \"Notes\": \"{}\", \"SystemModstamp\": \"2024-03-01T{:02}:{:02}:{:02}Z\"}}\n",
                "x".repeat(300),
                12 + i / 3600,
                i / 60 % 60,
                i % 60
            )
        })
        .collect()
}

fn names(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| match r.get("Name") {
            Some(Value::Text(name)) => name.clone(),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn a_large_file_s_index_is_kept_and_taken_up_by_the_next_instance() -> Result<(), Error> {
    let dir = TempDir::new("kept");
    let path = dir.file("accounts.jsonl");
    fs::write(&path, accounts(0, 4_000, "First")).ok();
    let first = read_all(&dir.connector(ACCOUNT)?, 1_000)?;
    assert_eq!(first.len(), 4_000);
    let entity: EntitySettings =
        serde_json::from_str(ACCOUNT).map_err(|e| Error::Other(e.to_string()))?;
    let kept = persist::load(&path, &entity).expect("an index kept beside the file");
    assert_eq!(
        kept.offset(),
        fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
    );
    assert_eq!(kept.id_for_key("w17"), Some("a00017"));

    // A new instance reads the same from it, and what was appended since.
    append(&path, &accounts(4_000, 10, "Appended"));
    let connector = dir.connector(ACCOUNT)?;
    let second = read_all(&connector, 700)?;
    assert_eq!(second.len(), 4_010);
    assert_eq!(names(&second[..4_000]), names(&first));
    assert_eq!(second[4_009].id, "a04009");

    // The file rewritten under the kept index: read from the start, as it is now.
    fs::write(&path, accounts(0, 3_000, "Rewritten")).ok();
    let third = read_all(&dir.connector(ACCOUNT)?, 1_000)?;
    assert_eq!(third.len(), 3_000);
    assert!(names(&third).iter().all(|n| n.starts_with("Rewritten")));
    Ok(())
}

#[test]
fn a_damaged_or_foreign_kept_index_is_not_used() -> Result<(), Error> {
    let dir = TempDir::new("kept-damaged");
    let path = dir.file("accounts.jsonl");
    fs::write(&path, accounts(0, 4_000, "Only")).ok();
    read_all(&dir.connector(ACCOUNT)?, 2_000)?;
    let entity: EntitySettings =
        serde_json::from_str(ACCOUNT).map_err(|e| Error::Other(e.to_string()))?;
    let kept_path = persist::path_for(&path).expect("a kept path");
    let good = fs::read(&kept_path).unwrap_or_default();
    assert!(persist::load(&path, &entity).is_some());

    // Another entity's settings, a flipped byte, a cut tail: not used.
    let other = EntitySettings {
        id_field: "Name".into(),
        ..entity.clone()
    };
    assert!(persist::load(&path, &other).is_none());
    for damaged in [
        {
            let mut bytes = good.clone();
            bytes[good.len() / 2] ^= 0x10;
            bytes
        },
        good[..good.len() - 1].to_vec(),
        Vec::new(),
    ] {
        fs::write(&kept_path, damaged).ok();
        assert!(persist::load(&path, &entity).is_none());
        let all = read_all(&dir.connector(ACCOUNT)?, 2_000)?;
        assert_eq!(all.len(), 4_000);
    }
    Ok(())
}

#[test]
fn a_kept_index_whose_lines_moved_is_caught_by_their_hashes() -> Result<(), Error> {
    let dir = TempDir::new("kept-moved");
    let path = dir.file("accounts.jsonl");
    let text = accounts(0, 4_000, "Before");
    fs::write(&path, &text).ok();
    read_all(&dir.connector(ACCOUNT)?, 4_000)?;
    // The same length and last bytes, another name in the middle: the kept spans now point
    // at lines that are not the ones indexed.
    let edited = text.replacen("\"Before 100\"", "\"Beford 100\"", 1);
    assert!(edited != text && edited.len() == text.len());
    fs::write(&path, &edited).ok();
    let all = read_all(&dir.connector(ACCOUNT)?, 4_000)?;
    assert_eq!(all.len(), 4_000);
    assert!(names(&all).contains(&"Beford 100".to_owned()));
    Ok(())
}
