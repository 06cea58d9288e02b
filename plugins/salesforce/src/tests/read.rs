//! Reads: the query, its chunks, values and errors.

use super::*;
use wasync_sdk::{Cursor, Field, Record, Value};

/// 2024-03-01T12:00:00Z.
const NOON: i64 = 1_709_294_400_000_000;

const ALL_FIELDS: &str = "Id, SystemModstamp, IsDeleted, Name, Type, Industry, Website, Phone, \
    BillingCity, BillingAddress, AnnualRevenue, NumberOfEmployees, Description, \
    LastActivityDate, SlaExpirationDate__c, CreatedDate, LastModifiedDate, Wasync_Id__c";

fn request(after: Option<(Value, &str)>, until: Option<Value>, limit: u32) -> ReadRequest {
    ReadRequest {
        entity: "Account".into(),
        after: after.map(|(watermark, id)| Cursor {
            watermark,
            id: id.into(),
        }),
        until,
        limit,
    }
}

/// A query result record as Salesforce sends it, with `attributes`.
fn account(n: usize, stamp: &str, extra: Json) -> Json {
    let id = account_id(n);
    let mut record = json!({
        "attributes": {"type": "Account", "url": format!("/services/data/v62.0/sobjects/Account/{id}")},
        "Id": id, "SystemModstamp": stamp, "IsDeleted": false,
    });
    if let (Some(record), Json::Object(extra)) = (record.as_object_mut(), extra) {
        record.extend(extra);
    }
    record
}

fn chunk(records: Vec<Json>, next: Option<&str>) -> Json {
    let mut chunk = json!({"totalSize": 999, "done": next.is_none(), "records": records});
    if let Some(next) = next {
        chunk["nextRecordsUrl"] = json!(next);
    }
    chunk
}

#[test]
fn reads_from_the_beginning_converting_values() -> Result<(), Error> {
    let sf = accounts()?;
    answer_describe();
    let full = account(
        1,
        "2024-03-01T12:00:00.000+0000",
        json!({
            "Name": "Acme", "Type": "Customer - Direct", "Industry": null,
            "Website": "https://acme.example", "Phone": "+1 555 0100", "BillingCity": "Paris",
            "BillingAddress": {"city": "Paris", "country": "FR", "street": null},
            "AnnualRevenue": 1000000, "NumberOfEmployees": 250, "Description": "Line 1\nLine 2",
            "LastActivityDate": "2024-02-28", "SlaExpirationDate__c": null,
            "CreatedDate": "2024-01-15T08:30:00.000+0000",
            "LastModifiedDate": "2024-03-01T12:00:00.000+0000", "Wasync_Id__c": "w-1",
        }),
    );
    let deleted = account(
        2,
        "2024-03-01T12:00:00.123+0000",
        json!({"IsDeleted": true, "Name": "Gone", "AnnualRevenue": 12.5}),
    );
    answer_json(200, chunk(vec![full, deleted], None));

    let page = sf.read(request(None, None, 50))?;

    let sent = sent();
    assert_eq!(sent.len(), 2);
    let query = &sent[1];
    assert_eq!(query.method, "GET");
    assert_plain(query);
    assert_eq!(header(query, "Sforce-Query-Options"), Some("batchSize=200"));
    assert_eq!(header(query, "Content-Type"), None);
    assert_eq!(query.body, None);
    assert_eq!(
        soql_of(query).as_deref(),
        Some(
            format!(
                "SELECT {ALL_FIELDS} FROM Account ORDER BY SystemModstamp ASC, Id ASC LIMIT 50"
            )
            .as_str()
        )
    );

    assert!(!page.more);
    let text = |s: &str| Value::Text(s.into());
    let field = |name: &str, value: Value| Field {
        name: name.into(),
        value,
    };
    assert_eq!(
        page.records[0],
        Record {
            id: account_id(1),
            watermark: Value::Timestamp(NOON),
            fields: vec![
                field("Id", text(&account_id(1))),
                field("SystemModstamp", Value::Timestamp(NOON)),
                field("IsDeleted", Value::Boolean(false)),
                field("Name", text("Acme")),
                field("Type", text("Customer - Direct")),
                field("Industry", Value::Null),
                field("Website", text("https://acme.example")),
                field("Phone", text("+1 555 0100")),
                field("BillingCity", text("Paris")),
                field(
                    "BillingAddress",
                    Value::Json(r#"{"city":"Paris","country":"FR","street":null}"#.into())
                ),
                field("AnnualRevenue", Value::Float(1_000_000.0)),
                field("NumberOfEmployees", Value::Integer(250)),
                field("Description", text("Line 1\nLine 2")),
                field("LastActivityDate", text("2024-02-28")),
                field("SlaExpirationDate__c", Value::Null),
                field("CreatedDate", Value::Timestamp(1_705_307_400_000_000)),
                field("LastModifiedDate", Value::Timestamp(NOON)),
                field("Wasync_Id__c", text("w-1")),
            ],
            deleted: false,
        }
    );
    let gone = &page.records[1];
    assert!(gone.deleted);
    assert_eq!(gone.watermark, Value::Timestamp(NOON + 123_000));
    assert_eq!(gone.get("AnnualRevenue"), Some(&Value::Float(12.5)));
    assert_eq!(gone.get("IsDeleted"), Some(&Value::Boolean(true)));
    assert_eq!(gone.get("attributes"), None);
    Ok(())
}

#[test]
fn reads_after_a_cursor_up_to_a_bound() -> Result<(), Error> {
    let sf = connector(json!({
        "instance_url": INSTANCE,
        "entities": {"Account": {"fields": ["Name"]}}
    }))?;
    answer_describe();
    answer_json(200, chunk(vec![], None));
    answer_json(200, chunk(vec![], None));
    // A timestamp cursor, and the same as RFC 3339 text (how a watermark may be stored).
    let id = "001000000000042AAA";
    let until = Some(Value::Timestamp(NOON + 3_600_000_000));
    let page = sf.read(request(
        Some((Value::Timestamp(NOON + 7_000), id)),
        until.clone(),
        1000,
    ))?;
    assert_eq!(page, Page::default());
    let text = Value::Text("2024-03-01T13:00:00.007+01:00".into());
    sf.read(request(Some((text, id)), until, 1000))?;

    let sent = sent();
    let expected = "SELECT Id, SystemModstamp, IsDeleted, Name FROM Account WHERE \
        (SystemModstamp > 2024-03-01T12:00:00.007Z OR (SystemModstamp = \
        2024-03-01T12:00:00.007Z AND Id > '001000000000042AAA')) AND SystemModstamp <= \
        2024-03-01T13:00:00.000Z ORDER BY SystemModstamp ASC, Id ASC LIMIT 1000";
    for query in &sent[1..] {
        assert_eq!(soql_of(query).as_deref(), Some(expected));
        assert_eq!(
            header(query, "Sforce-Query-Options"),
            Some("batchSize=1000")
        );
    }
    assert!(
        sent[1].url.contains("Id+%3E+%27001000000000042AAA%27"),
        "{}",
        sent[1].url
    );
    Ok(())
}

#[test]
fn reads_up_to_a_bound_from_the_beginning_and_escapes_the_cursor_id() -> Result<(), Error> {
    let sf = connector(json!({"instance_url": INSTANCE, "entities": {"Account": {"fields": []}}}))?;
    answer_describe();
    answer_json(200, chunk(vec![], None));
    answer_json(200, chunk(vec![], None));
    sf.read(request(
        None,
        Some(Value::Text("2024-03-01T12:00:00Z".into())),
        5,
    ))?;
    sf.read(request(
        Some((Value::Timestamp(NOON), r"x' OR Name != '\")),
        None,
        5,
    ))?;
    let sent = sent();
    assert_eq!(
        soql_of(&sent[1]).as_deref(),
        Some(
            "SELECT Id, SystemModstamp, IsDeleted FROM Account WHERE SystemModstamp <= \
             2024-03-01T12:00:00.000Z ORDER BY SystemModstamp ASC, Id ASC LIMIT 5"
        )
    );
    assert_eq!(
        soql_of(&sent[2]).as_deref(),
        Some(
            r"SELECT Id, SystemModstamp, IsDeleted FROM Account WHERE (SystemModstamp > 2024-03-01T12:00:00.000Z OR (SystemModstamp = 2024-03-01T12:00:00.000Z AND Id > 'x\' OR Name != \'\\')) ORDER BY SystemModstamp ASC, Id ASC LIMIT 5"
        )
    );
    Ok(())
}

fn accounts_from(first: usize, count: usize) -> Vec<Json> {
    (first..first + count)
        .map(|n| {
            account(
                n,
                "2024-03-01T12:00:00.000+0000",
                json!({"Name": format!("A{n}")}),
            )
        })
        .collect()
}

#[test]
fn follows_next_records_until_the_page_is_full() -> Result<(), Error> {
    let sf = accounts()?;
    answer_describe();
    // Salesforce may send smaller chunks than asked for (wide rows).
    answer_json(
        200,
        chunk(
            accounts_from(0, 200),
            Some("/services/data/v62.0/query/01gD0000002HU6KIAW-200"),
        ),
    );
    answer_json(
        200,
        chunk(
            accounts_from(200, 200),
            Some("/services/data/v62.0/query/01gD0000002HU6KIAW-400"),
        ),
    );
    answer_json(200, chunk(accounts_from(400, 100), None));
    let page = sf.read(request(None, None, 500))?;
    assert_eq!(page.records.len(), 500);
    assert!(page.more);
    assert_eq!(page.records[499].id, account_id(499));

    let sent = sent();
    assert_eq!(sent.len(), 4);
    assert!(soql_of(&sent[1]).is_some_and(|q| q.ends_with("LIMIT 500")));
    assert_eq!(
        sent[2].url,
        format!("{INSTANCE}/services/data/v62.0/query/01gD0000002HU6KIAW-200")
    );
    assert_eq!(
        sent[3].url,
        format!("{INSTANCE}/services/data/v62.0/query/01gD0000002HU6KIAW-400")
    );
    for request in &sent[2..] {
        assert_eq!(request.method, "GET");
        assert_plain(request);
        assert_eq!(
            header(request, "Sforce-Query-Options"),
            Some("batchSize=500")
        );
    }
    Ok(())
}

#[test]
fn stops_following_once_limit_records_are_read() -> Result<(), Error> {
    let sf = accounts()?;
    answer_describe();
    answer_json(
        200,
        chunk(
            accounts_from(0, 300),
            Some("/services/data/v62.0/query/01gX-300"),
        ),
    );
    let page = sf.read(request(None, None, 300))?;
    assert_eq!(page.records.len(), 300);
    assert!(page.more);
    assert_eq!(sent().len(), 2);
    Ok(())
}

#[test]
fn a_field_list_too_long_for_a_url_is_read_with_fields_all_200_at_a_time() -> Result<(), Error> {
    // Every Account field makes a URL of about 500 bytes; allow 300.
    let sf = connector(json!({
        "instance_url": "https://example.my.salesforce.com",
        "max_url_bytes": 300,
        "entities": {"Account": {}}
    }))?;
    answer_describe();
    let mut wide = accounts_from(0, 2);
    for record in &mut wide {
        record["Name"] = json!("Acme");
        record["NotDescribedHere__c"] = json!("dropped");
    }
    answer_json(200, chunk(wide, None));
    let page = sf.read(request(None, None, 1000))?;
    assert_eq!(page.records.len(), 2);
    assert!(!page.more);
    let names: Vec<&str> = page.records[0]
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert!(
        names.contains(&"Name") && !names.contains(&"NotDescribedHere__c"),
        "{names:?}"
    );
    let sent = sent();
    assert!(sent[1].url.len() <= 300, "{}", sent[1].url);
    assert_eq!(
        soql_of(&sent[1]).as_deref(),
        Some("SELECT FIELDS(ALL) FROM Account ORDER BY SystemModstamp ASC, Id ASC LIMIT 200")
    );
    assert_eq!(
        header(&sent[1], "Sforce-Query-Options"),
        Some("batchSize=200")
    );
    Ok(())
}

#[test]
fn large_limits_ask_for_the_largest_chunks() -> Result<(), Error> {
    let sf = accounts()?;
    answer_describe();
    answer_json(200, chunk(accounts_from(0, 3), None));
    let page = sf.read(request(None, None, 5000))?;
    assert_eq!(page.records.len(), 3);
    assert!(!page.more);
    let sent = sent();
    assert_eq!(
        header(&sent[1], "Sforce-Query-Options"),
        Some("batchSize=2000")
    );
    assert!(soql_of(&sent[1]).is_some_and(|q| q.ends_with("LIMIT 5000")));
    Ok(())
}

#[test]
fn refuses_unusable_requests_without_a_query() -> Result<(), Error> {
    let sf = accounts()?;
    answer_describe();
    assert!(matches!(
        sf.read(request(None, None, 0)),
        Err(Error::InvalidInput(_))
    ));
    let result = sf.read(request(Some((Value::Integer(5), "001")), None, 10));
    assert!(matches!(result, Err(Error::InvalidInput(m)) if m.contains("cursor watermark")));
    let result = sf.read(request(None, Some(Value::Text("tomorrow".into())), 10));
    assert!(matches!(result, Err(Error::InvalidInput(m)) if m.contains("`tomorrow`")));
    assert_eq!(sent().len(), 1);
    Ok(())
}

#[test]
fn maps_query_failures() -> Result<(), Error> {
    type Check = fn(&Error) -> bool;
    let cases: Vec<(u16, &str, Check, &str)> = vec![
        (
            401,
            r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#,
            |e| matches!(e, Error::Unauthorized(_)),
            "HTTP 401: INVALID_SESSION_ID: Session expired or invalid",
        ),
        (
            403,
            r#"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#,
            |e| matches!(e, Error::RateLimited(_)),
            "HTTP 403: REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.",
        ),
        (
            500,
            r#"[{"message":"An unexpected error occurred.","errorCode":"UNKNOWN_EXCEPTION"}]"#,
            |e| matches!(e, Error::Unavailable(_)),
            "HTTP 500: UNKNOWN_EXCEPTION: An unexpected error occurred.",
        ),
        (
            400,
            r#"[{"message":"unexpected token: 'FORM'","errorCode":"MALFORMED_QUERY"}]"#,
            |e| matches!(e, Error::InvalidInput(_)),
            "HTTP 400: MALFORMED_QUERY: unexpected token: 'FORM'",
        ),
        (
            200,
            r#"{"totalSize":2,"done":true,"records":[{"attributes":{"type":"Acc"#,
            |e| matches!(e, Error::Unavailable(_)),
            "with HTTP 200 and a body that was not valid JSON",
        ),
    ];
    for (status, body, is_case, says) in cases {
        let sf = accounts()?;
        answer_describe();
        answer(status, body);
        let error = match sf.read(request(None, None, 10)) {
            Err(e) => e,
            Ok(page) => panic!("HTTP {status}: read {page:?}"),
        };
        assert!(is_case(&error), "HTTP {status}: {error:?}");
        let message = error.to_string();
        assert!(message.contains("queryAll Account"), "{message}");
        assert!(message.contains(says), "{message}");
        assert!(!message.contains("api-usage"), "{message}");
        sent();
    }
    Ok(())
}

#[test]
fn passes_on_what_the_host_reports() -> Result<(), Error> {
    let sf = accounts()?;
    answer_describe();
    answer_error(Error::RateLimited("call budget spent".into()));
    assert_eq!(
        sf.read(request(None, None, 10)),
        Err(Error::RateLimited("call budget spent".into()))
    );
    sent();
    Ok(())
}

#[test]
fn a_record_without_a_watermark_fails_the_read() -> Result<(), Error> {
    let sf = accounts()?;
    answer_describe();
    answer_json(
        200,
        chunk(
            vec![json!({"attributes": {"type": "Account"}, "Id": account_id(1)})],
            None,
        ),
    );
    let result = sf.read(request(None, None, 10));
    assert!(matches!(result, Err(Error::Other(m)) if m.contains("SystemModstamp")));
    sent();
    Ok(())
}
