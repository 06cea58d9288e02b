//! Writes: grouping into collections calls, bodies, results in order, errors.

use super::*;
use wasync_sdk::{Field, Value};

const COLLECTIONS: &str =
    "https://example.my.salesforce.com/services/data/v62.0/composite/sobjects";

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

fn ok(id: &str) -> Json {
    json!({"id": id, "success": true, "errors": []})
}

fn failed(code: &str, message: &str, fields: &[&str]) -> Json {
    json!({"success": false, "errors": [{"statusCode": code, "message": message, "fields": fields}]})
}

fn collection(records: Json) -> Json {
    json!({"allOrNone": false, "records": records})
}

#[test]
fn groups_changes_by_kind_and_answers_in_order() -> Result<(), Error> {
    let sf = accounts()?;
    answer_describe();
    let (a1, a2, a3, a4, a5) = (
        account_id(1),
        account_id(2),
        account_id(3),
        account_id(4),
        account_id(5),
    );
    let changes = vec![
        create(vec![
            field("Name", "Plain"),
            field("Wasync_Id__c", Value::Null),
        ]),
        Change::Delete(a1.clone()),
        update(
            &a2,
            vec![
                field("Id", "ignored"),
                field("Website", "https://b.example"),
            ],
        ),
        create(vec![field("Name", "Keyed"), field("wasync_id__c", "w-7")]),
        update(&a3, vec![field("SystemModstamp", Value::Timestamp(0))]),
        create(vec![field("Nmae", "Typo")]),
        Change::Delete(a4.clone()),
        create(vec![
            field("Name", "Blank key"),
            field("Wasync_Id__c", "  "),
        ]),
    ];
    answer_json(200, json!([ok(&a2)]));
    answer_json(
        200,
        json!([{"id": a5, "success": true, "errors": [], "created": true}]),
    );
    answer_json(
        200,
        json!([
            ok("001000000000100AAA"),
            failed(
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [Name]",
                &["Name"]
            )
        ]),
    );
    answer_json(
        200,
        json!([
            ok(&a1),
            failed("ENTITY_IS_DELETED", "entity is deleted", &[])
        ]),
    );

    let results = sf.write("Account", changes);

    assert_eq!(
        results,
        vec![
            Ok("001000000000100AAA".into()),
            Ok(a1.clone()),
            Ok(a2.clone()),
            Ok(a5.clone()),
            Err(Error::InvalidInput(
                "cannot write `SystemModstamp` (read-only) of Account".into()
            )),
            Err(Error::InvalidInput(
                "cannot write `Nmae` (no such field) of Account".into()
            )),
            Ok(a4.clone()),
            Err(Error::InvalidInput(
                "REQUIRED_FIELD_MISSING: Required fields are missing: [Name]".into()
            )),
        ]
    );
    let sent = sent();
    assert_eq!(sent.len(), 5);
    let calls: Vec<(&str, &str)> = sent[1..]
        .iter()
        .map(|r| (r.method.as_str(), r.url.as_str()))
        .collect();
    let upsert_url = format!("{COLLECTIONS}/Account/Wasync_Id__c");
    let delete_url = format!("{COLLECTIONS}?ids={a1},{a4}&allOrNone=false");
    assert_eq!(
        calls,
        [
            ("PATCH", COLLECTIONS),
            ("PATCH", upsert_url.as_str()),
            ("POST", COLLECTIONS),
            ("DELETE", delete_url.as_str()),
        ]
    );
    let account = json!({"type": "Account"});
    assert_eq!(
        body_json(&sent[1]),
        collection(json!([{"attributes": account, "Id": a2, "Website": "https://b.example"}]))
    );
    assert_eq!(
        body_json(&sent[2]),
        collection(json!([{"attributes": account, "Name": "Keyed", "Wasync_Id__c": "w-7"}]))
    );
    assert_eq!(
        body_json(&sent[3]),
        collection(json!([
            {"attributes": account, "Name": "Plain", "Wasync_Id__c": null},
            {"attributes": account, "Name": "Blank key", "Wasync_Id__c": "  "},
        ]))
    );
    assert_eq!(sent[4].body, None);
    for request in &sent[1..4] {
        assert_plain(request);
        assert_eq!(header(request, "Content-Type"), Some("application/json"));
        // `attributes` leads each record, as Salesforce's own clients send it.
        let text =
            String::from_utf8_lossy(request.body.as_deref().unwrap_or_default()).into_owned();
        assert!(
            text.starts_with(r#"{"allOrNone":false,"records":[{"attributes":{"type":"Account"}"#),
            "{text}"
        );
    }
    assert_plain(&sent[4]);
    Ok(())
}

#[test]
fn writes_values_by_field_type() -> Result<(), Error> {
    let sf = accounts()?;
    answer_describe();
    answer_json(200, json!([ok(&account_id(9))]));
    let results = sf.write(
        "Account",
        vec![update(
            &account_id(9),
            vec![
                field("Name", "Acme"),
                field("NumberOfEmployees", 250i64),
                field("AnnualRevenue", 1.5e6),
                field("Description", Value::Null),
                field("Phone", Value::Json(r#""+1 555""#.into())),
                field(
                    "SlaExpirationDate__c",
                    Value::Timestamp(1_709_294_400_000_000),
                ),
                field("Industry", Value::Boolean(true)),
                field("Type", Value::Timestamp(1_709_294_400_123_456)),
            ],
        )],
    );
    assert_eq!(results, vec![Ok(account_id(9))]);
    let sent = sent();
    assert_eq!(
        body_json(&sent[1])["records"][0],
        json!({"attributes": {"type": "Account"}, "Id": account_id(9), "Name": "Acme",
               "NumberOfEmployees": 250, "AnnualRevenue": 1500000.0, "Description": null,
               "Phone": "+1 555", "SlaExpirationDate__c": "2024-03-01", "Industry": true,
               "Type": "2024-03-01T12:00:00.123Z"})
    );
    Ok(())
}

#[test]
fn refuses_unwritable_changes_without_a_call() -> Result<(), Error> {
    let sf = accounts()?;
    answer_describe();
    let results = sf.write(
        "Account",
        vec![
            update(
                &account_id(1),
                vec![
                    field("CreatedDate", Value::Timestamp(0)),
                    field("Foo__c", "x"),
                ],
            ),
            update("001 bad", vec![field("Name", "x")]),
            Change::Delete("001000000000001AAA,001000000000002AAA".into()),
            create(vec![field("Name", Value::Float(f64::NAN))]),
            create(vec![field("Description", Value::Json("{oops".into()))]),
        ],
    );
    let messages: Vec<String> = results
        .iter()
        .map(|r| match r {
            Err(Error::InvalidInput(m)) => m.clone(),
            other => format!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        messages[0],
        "cannot write `CreatedDate` (read-only), `Foo__c` (no such field) of Account"
    );
    assert!(
        messages[1].contains("`001 bad` is not a Salesforce record id"),
        "{}",
        messages[1]
    );
    assert!(
        messages[2].contains("not a Salesforce record id"),
        "{}",
        messages[2]
    );
    assert!(
        messages[3].contains("`Name` (the float NaN has no JSON form)"),
        "{}",
        messages[3]
    );
    assert!(
        messages[4].contains("`Description` (the JSON value is not JSON"),
        "{}",
        messages[4]
    );
    assert_eq!(sent().len(), 1);
    Ok(())
}

#[test]
fn splits_calls_at_200_records_keeping_the_order() -> Result<(), Error> {
    let sf = accounts()?;
    answer_describe();
    let changes: Vec<Change> = (0..450)
        .map(|n| create(vec![field("Name", format!("A{n}"))]))
        .collect();
    for (first, count) in [(0, 200), (200, 200), (400, 50)] {
        let answers: Vec<Json> = (first..first + count).map(|n| ok(&account_id(n))).collect();
        answer_json(200, Json::Array(answers));
    }
    let results = sf.write("Account", changes);
    let expected: Vec<Result<String, Error>> = (0..450).map(|n| Ok(account_id(n))).collect();
    assert_eq!(results, expected);
    let sent = sent();
    let sizes: Vec<usize> = sent[1..]
        .iter()
        .map(|r| body_json(r)["records"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(sizes, [200, 200, 50]);
    assert_eq!(body_json(&sent[2])["records"][0]["Name"], json!("A200"));
    assert_eq!(body_json(&sent[3])["records"][49]["Name"], json!("A449"));
    Ok(())
}

#[test]
fn deletes_in_calls_of_200_ids() -> Result<(), Error> {
    let sf = accounts()?;
    answer_describe();
    let changes: Vec<Change> = (0..201).map(|n| Change::Delete(account_id(n))).collect();
    answer_json(
        200,
        Json::Array((0..200).map(|n| ok(&account_id(n))).collect()),
    );
    answer_json(200, json!([ok(&account_id(200))]));
    let results = sf.write("Account", changes);
    assert!(results.iter().all(Result::is_ok));
    let sent = sent();
    let ids: Vec<usize> = sent[1..]
        .iter()
        .map(|r| {
            r.url
                .split_once("ids=")
                .map_or(0, |(_, ids)| ids.split(',').count())
        })
        .collect();
    assert_eq!(ids, [200, 1]);
    assert_eq!(
        sent[2].url,
        format!("{COLLECTIONS}?ids={}&allOrNone=false", account_id(200))
    );
    Ok(())
}

#[test]
fn a_failed_call_fails_its_changes_only() -> Result<(), Error> {
    type Check = fn(&Error) -> bool;
    let cases: Vec<(u16, &str, Check)> = vec![
        (
            401,
            r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#,
            |e| matches!(e, Error::Unauthorized(m) if m.contains("INVALID_SESSION_ID: Session expired or invalid")),
        ),
        (
            403,
            r#"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#,
            |e| matches!(e, Error::RateLimited(m) if m.contains("REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.")),
        ),
        (
            503,
            "Service Unavailable",
            |e| matches!(e, Error::Unavailable(m) if m.contains("HTTP 503: Service Unavailable")),
        ),
        (
            200,
            r#"[{"id":"001000000000001AAA","succ"#,
            |e| matches!(e, Error::Unavailable(m) if m.contains("not valid JSON")),
        ),
        (
            400,
            r#"[{"message":"Number of records in the request exceeds the limit of 200","errorCode":"EXCEEDED_ID_LIMIT"}]"#,
            |e| matches!(e, Error::InvalidInput(m) if m.contains("EXCEEDED_ID_LIMIT")),
        ),
    ];
    for (status, body, is_expected) in cases {
        let sf = accounts()?;
        answer_describe();
        answer(status, body);
        answer_json(200, json!([ok(&account_id(3))]));
        let results = sf.write(
            "Account",
            vec![
                update(&account_id(1), vec![field("Name", "a")]),
                Change::Delete(account_id(3)),
                update(&account_id(2), vec![field("Name", "b")]),
            ],
        );
        assert_eq!(results[1], Ok(account_id(3)), "HTTP {status}");
        for result in [&results[0], &results[2]] {
            match result {
                Err(e) => {
                    assert!(is_expected(e), "HTTP {status}: {e:?}");
                    assert!(e.to_string().contains("update Account (2 records)"), "{e}");
                    assert!(!e.to_string().contains("api-usage"), "{e}");
                }
                Ok(id) => panic!("HTTP {status}: wrote {id}"),
            }
        }
        assert_eq!(sent().len(), 3);
    }
    Ok(())
}

#[test]
fn host_failures_and_odd_answers_fail_the_call() -> Result<(), Error> {
    let sf = accounts()?;
    answer_describe();
    answer_error(Error::Unavailable("timed out after 30 s".into()));
    answer_json(200, json!([ok(&account_id(1))]));
    let results = sf.write(
        "Account",
        vec![
            create(vec![field("Name", "a")]),
            Change::Delete(account_id(1)),
            Change::Delete(account_id(2)),
        ],
    );
    assert_eq!(
        results[0],
        Err(Error::Unavailable("timed out after 30 s".into()))
    );
    for result in &results[1..] {
        assert!(
            matches!(result, Err(Error::Other(m)) if m.contains("with 1 results")),
            "{result:?}"
        );
    }
    assert_eq!(sent().len(), 3);
    Ok(())
}

#[test]
fn maps_record_errors() -> Result<(), Error> {
    let sf = accounts()?;
    answer_describe();
    answer_json(
        200,
        json!([
            failed("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", &[]),
            failed("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record", &[]),
            {"success": false, "errors": [
                {"statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "message": "Website is required", "fields": []},
                {"statusCode": "STRING_TOO_LONG", "message": "Name: data value too large", "fields": ["Name"]}]},
            failed("ENTITY_IS_DELETED", "entity is deleted", &[]),
        ]),
    );
    let results = sf.write(
        "Account",
        (1..=4)
            .map(|n| update(&account_id(n), vec![field("Name", "x")]))
            .collect(),
    );
    assert_eq!(
        results,
        vec![
            Err(Error::InvalidInput(
                "INVALID_CROSS_REFERENCE_KEY: invalid cross reference id".into()
            )),
            Err(Error::Unavailable(
                "UNABLE_TO_LOCK_ROW: unable to obtain exclusive access to this record".into()
            )),
            Err(Error::InvalidInput(
                "FIELD_CUSTOM_VALIDATION_EXCEPTION: Website is required; STRING_TOO_LONG: Name: \
                 data value too large"
                    .into()
            )),
            // Only a delete of a deleted record is a success.
            Err(Error::InvalidInput(
                "ENTITY_IS_DELETED: entity is deleted".into()
            )),
        ]
    );
    sent();
    Ok(())
}

#[test]
fn without_an_upsert_field_every_create_is_a_create() -> Result<(), Error> {
    let sf = connector(json!({"instance_url": INSTANCE, "entities": {"Account": {}}}))?;
    answer_describe();
    answer_json(200, json!([ok(&account_id(1))]));
    let results = sf.write(
        "Account",
        vec![create(vec![
            field("Name", "a"),
            field("Wasync_Id__c", "w-1"),
        ])],
    );
    assert_eq!(results, vec![Ok(account_id(1))]);
    let sent = sent();
    assert_eq!(
        (sent[1].method.as_str(), sent[1].url.as_str()),
        ("POST", COLLECTIONS)
    );
    Ok(())
}

#[test]
fn an_empty_write_sends_nothing() -> Result<(), Error> {
    let sf = accounts()?;
    assert_eq!(sf.write("Account", Vec::new()), Vec::new());
    assert!(sent().is_empty());
    Ok(())
}
