use super::*;
use wasync_sdk::Value;

fn policy(config: &str) -> Result<Merge, Error> {
    Merge::new(&Config::parse(config)?)
}

fn record(fields: &[(&str, Value)]) -> Record {
    Record {
        id: "u".into(),
        watermark: Value::Null,
        fields: fields
            .iter()
            .map(|(name, value)| Field {
                name: (*name).into(),
                value: value.clone(),
            })
            .collect(),
        deleted: false,
    }
}

fn candidate(source: &str, created: i64, updated: i64, fields: &[(&str, Value)]) -> Candidate {
    Candidate {
        record: record(fields),
        source: source.into(),
        created,
        updated,
    }
}

fn get<'a>(fields: &'a [Field], name: &str) -> Option<&'a Value> {
    fields.iter().find(|f| f.name == name).map(|f| &f.value)
}

#[test]
fn reads_the_documented_example() -> Result<(), Error> {
    let merge = policy(
        r#"{"match": ["Name"], "ignore_case": true, "winner": "oldest",
            "sources": ["salesforce/Account", "hubspot/companies"], "fields": "fill-empty"}"#,
    )?;
    assert_eq!(merge.rules, [["Name"]]);
    assert_eq!(
        (merge.winner, merge.fields),
        (Winner::Oldest, FieldsMode::FillEmpty)
    );
    Ok(())
}

#[test]
fn defaults() -> Result<(), Error> {
    let merge = policy(r#"{"match": [["Name"], ["Website", "Country"]]}"#)?;
    assert_eq!(merge.rules.len(), 2);
    assert!(merge.ignore_case);
    assert_eq!(
        (merge.winner, merge.fields),
        (Winner::Oldest, FieldsMode::FillEmpty)
    );
    Ok(())
}

#[test]
fn refuses_unusable_configurations() {
    let cases = [
        ("{}", "match"),
        (r#"{"match": []}"#, "at least one"),
        (r#"{"match": "Name"}"#, "list of field names"),
        (r#"{"match": ["Name", ["Website"]]}"#, "list of field names"),
        (r#"{"match": [["Name"], []]}"#, "rule 2: lists no field"),
        (r#"{"match": [""]}"#, "rule 1"),
        (r#"{"match": [[1]]}"#, "1 is not a field name"),
        (r#"{"match": ["Name"], "winner": "first"}"#, "first"),
        (r#"{"match": ["Name"], "fields": "merge"}"#, "merge"),
        (
            r#"{"match": ["Name"], "winner": "source-priority"}"#,
            "needs `sources`",
        ),
        (r#"{"match": ["Name"], "matches": ["x"]}"#, "`matches`"),
    ];
    for (config, expected) in cases {
        match policy(config) {
            Err(Error::InvalidConfig(message)) => {
                assert!(message.contains(expected), "{config}: {message}")
            }
            other => panic!("{config}: {other:?}"),
        }
    }
}

#[test]
fn keys_normalise_text() -> Result<(), Error> {
    let merge = policy(r#"{"match": ["Name"]}"#)?;
    let keys = merge.match_keys(&record(&[("Name", "  Acme \t  INC ".into())]));
    assert_eq!(keys, ["Name=acme inc"]);
    let strict = policy(r#"{"match": ["Name"], "ignore_case": false}"#)?;
    assert_eq!(
        strict.match_keys(&record(&[("Name", " Acme  Inc".into())])),
        ["Name=Acme Inc"]
    );
    Ok(())
}

#[test]
fn a_rule_needs_all_its_fields() -> Result<(), Error> {
    let merge = policy(r#"{"match": [["Name", "Country"], ["Website"]]}"#)?;
    let both = record(&[
        ("Name", "Acme".into()),
        ("Country", "DE".into()),
        ("Website", "acme.com".into()),
    ]);
    assert_eq!(
        merge.match_keys(&both),
        ["Name=acme\u{1f}Country=de", "Website=acme.com"]
    );
    let partial = record(&[
        ("Name", "Acme".into()),
        ("Country", " ".into()),
        ("Website", Value::Null),
    ]);
    assert!(merge.match_keys(&partial).is_empty());
    let numbers = record(&[
        ("Name", Value::Integer(7)),
        ("Country", Value::Boolean(true)),
    ]);
    assert_eq!(merge.match_keys(&numbers), ["Name=7\u{1f}Country=true"]);
    Ok(())
}

#[test]
fn deleted_records_have_no_keys() -> Result<(), Error> {
    let merge = policy(r#"{"match": ["Name"]}"#)?;
    let mut deleted = record(&[("Name", "Acme".into())]);
    deleted.deleted = true;
    assert!(merge.match_keys(&deleted).is_empty());
    Ok(())
}

#[test]
fn the_same_key_from_two_rules_is_given_once() -> Result<(), Error> {
    let merge = policy(r#"{"match": [["Name"], ["Name"]]}"#)?;
    assert_eq!(
        merge.match_keys(&record(&[("Name", "A".into())])),
        ["Name=a"]
    );
    Ok(())
}

#[test]
fn a_group_of_one_is_unchanged() -> Result<(), Error> {
    let merge = policy(r#"{"match": ["Name"]}"#)?;
    let fields = [("Name", Value::from("Acme")), ("Phone", Value::Null)];
    let resolution = merge.resolve(vec![candidate("s", 1, 1, &fields)])?;
    assert_eq!(
        resolution,
        Resolution {
            winner: 0,
            fields: record(&fields).fields
        }
    );
    Ok(())
}

#[test]
fn an_empty_group_is_invalid_input() -> Result<(), Error> {
    let merge = policy(r#"{"match": ["Name"]}"#)?;
    assert!(matches!(merge.resolve(vec![]), Err(Error::InvalidInput(_))));
    Ok(())
}

/// Three duplicates: b is oldest, c newest and most complete, a from the best source.
fn trio() -> Vec<Candidate> {
    vec![
        candidate(
            "hubspot/companies",
            20,
            30,
            &[("Name", "A".into()), ("Phone", "a-phone".into())],
        ),
        candidate(
            "salesforce/Account",
            10,
            20,
            &[
                ("Name", "B".into()),
                ("Phone", "".into()),
                ("Site", Value::Null),
            ],
        ),
        candidate(
            "files/accounts",
            30,
            40,
            &[
                ("Name", "C".into()),
                ("Phone", "c-phone".into()),
                ("Site", "c.com".into()),
            ],
        ),
    ]
}

fn winner_of(config: &str) -> Result<u32, Error> {
    Ok(policy(config)?.resolve(trio())?.winner)
}

#[test]
fn winner_rules() -> Result<(), Error> {
    assert_eq!(winner_of(r#"{"match": ["Name"], "winner": "oldest"}"#)?, 1);
    assert_eq!(winner_of(r#"{"match": ["Name"], "winner": "newest"}"#)?, 2);
    assert_eq!(
        winner_of(r#"{"match": ["Name"], "winner": "most-complete"}"#)?,
        2
    );
    assert_eq!(
        winner_of(
            r#"{"match": ["Name"], "winner": "source-priority", "sources": ["hubspot/companies", "salesforce/Account"]}"#
        )?,
        0
    );
    // Unknown sources come last; among them the oldest.
    assert_eq!(
        winner_of(r#"{"match": ["Name"], "winner": "source-priority", "sources": ["nowhere/x"]}"#)?,
        1
    );
    Ok(())
}

#[test]
fn ties_go_to_the_oldest_then_to_group_order() -> Result<(), Error> {
    let merge = policy(r#"{"match": ["Name"], "winner": "newest"}"#)?;
    let group = vec![
        candidate("s", 5, 9, &[("Name", "A".into())]),
        candidate("s", 3, 9, &[("Name", "B".into())]),
        candidate("s", 3, 9, &[("Name", "C".into())]),
    ];
    assert_eq!(merge.resolve(group)?.winner, 1);
    let complete = policy(r#"{"match": ["Name"], "winner": "most-complete"}"#)?;
    let group = vec![
        candidate("s", 5, 0, &[("Name", "A".into()), ("X", "1".into())]),
        candidate(
            "s",
            4,
            0,
            &[("Name", "B".into()), ("X", "1".into()), ("Y", Value::Null)],
        ),
    ];
    assert_eq!(complete.resolve(group)?.winner, 1);
    Ok(())
}

#[test]
fn fill_empty_fills_from_the_best_ranked_loser() -> Result<(), Error> {
    // Winner b (oldest); losers in order a (20), c (30).
    let resolution = policy(r#"{"match": ["Name"]}"#)?.resolve(trio())?;
    let fields = &resolution.fields;
    assert_eq!(get(fields, "Name"), Some(&Value::from("B")));
    assert_eq!(get(fields, "Phone"), Some(&Value::from("a-phone")));
    assert_eq!(get(fields, "Site"), Some(&Value::from("c.com")));
    assert_eq!(fields.len(), 3);
    Ok(())
}

#[test]
fn fill_empty_adds_fields_the_winner_lacks() -> Result<(), Error> {
    let merge = policy(r#"{"match": ["Name"]}"#)?;
    let group = vec![
        candidate("s", 1, 1, &[("Name", "A".into())]),
        candidate(
            "s",
            2,
            2,
            &[("Name", "A".into()), ("Industry", "Tech".into())],
        ),
    ];
    let resolution = merge.resolve(group)?;
    assert_eq!(
        get(&resolution.fields, "Industry"),
        Some(&Value::from("Tech"))
    );
    Ok(())
}

#[test]
fn override_takes_the_best_ranked_losers_values() -> Result<(), Error> {
    let merge = policy(r#"{"match": ["Name"], "fields": "override"}"#)?;
    let resolution = merge.resolve(trio())?;
    assert_eq!(resolution.winner, 1);
    let fields = &resolution.fields;
    // a outranks c as a loser (created 20 < 30), so a's values prevail where it has them.
    assert_eq!(get(fields, "Name"), Some(&Value::from("A")));
    assert_eq!(get(fields, "Phone"), Some(&Value::from("a-phone")));
    assert_eq!(get(fields, "Site"), Some(&Value::from("c.com")));
    Ok(())
}

#[test]
fn override_never_writes_an_empty_value() -> Result<(), Error> {
    let merge = policy(r#"{"match": ["Name"], "fields": "override"}"#)?;
    let group = vec![
        candidate("s", 1, 1, &[("Name", "A".into()), ("Phone", "1".into())]),
        candidate("s", 2, 2, &[("Name", "A".into()), ("Phone", Value::Null)]),
    ];
    assert_eq!(
        get(&merge.resolve(group)?.fields, "Phone"),
        Some(&Value::from("1"))
    );
    Ok(())
}

#[test]
fn deleted_candidates_never_win_nor_give_values() -> Result<(), Error> {
    let merge = policy(r#"{"match": ["Name"]}"#)?;
    let mut group = trio();
    group[1].record.deleted = true;
    group[0].record.fields.push(Field {
        name: "Site".into(),
        value: Value::Null,
    });
    let resolution = merge.resolve(group)?;
    assert_eq!(resolution.winner, 0);
    assert_eq!(get(&resolution.fields, "Site"), Some(&Value::from("c.com")));

    let mut all_deleted = trio();
    for c in &mut all_deleted {
        c.record.deleted = true;
    }
    let first_fields = all_deleted[0].record.fields.clone();
    assert_eq!(
        merge.resolve(all_deleted)?,
        Resolution {
            winner: 0,
            fields: first_fields
        }
    );
    Ok(())
}
