//! Bulk API 2.0 query jobs: when a read starts one, how reads poll it, and how its records
//! are served in keyset order after what REST pages read meanwhile.

use super::*;
use wasync_sdk::{Cursor, Field, Value};

const STAMP: &str = "2024-03-01T12:00:00.000Z";
/// 2024-03-01T12:00:00Z.
const NOON: i64 = 1_709_294_400_000_000;
const JOB: &str = "750R0000000zlh9IAA";
const JOB_URL: &str =
    "https://example.my.salesforce.com/services/data/v62.0/jobs/query/750R0000000zlh9IAA";

fn request(after: Option<usize>, limit: u32) -> ReadRequest {
    ReadRequest {
        entity: "Account".into(),
        after: after.map(|n| Cursor {
            watermark: Value::Timestamp(NOON),
            id: account_id(n),
        }),
        until: None,
        limit,
    }
}

/// A REST chunk of accounts `from..to`, all at noon.
fn rest(from: usize, to: usize) -> Json {
    let records: Vec<Json> = (from..to)
        .map(|n| {
            json!({"attributes": {"type": "Account"}, "Id": account_id(n),
                   "SystemModstamp": "2024-03-01T12:00:00.000+0000", "IsDeleted": false,
                   "Name": format!("A{n}")})
        })
        .collect();
    json!({"totalSize": records.len(), "done": true, "records": records})
}

fn count(total: u64) {
    answer_json(
        200,
        json!({"totalSize": total, "done": true, "records": []}),
    );
}

fn job(state: &str) {
    answer_json(
        200,
        json!({"id": JOB, "operation": "queryAll", "object": "Account", "state": state,
               "contentType": "CSV", "columnDelimiter": "COMMA", "lineEnding": "LF"}),
    );
}

/// Queues a results chunk: the header row, then `rows`.
fn results(rows: &[String], locator: &str) {
    results_saying(rows, locator, rows.len());
}

/// Queues a results chunk whose `Sforce-NumberOfRecords` says `count`.
fn results_saying(rows: &[String], locator: &str, count: usize) {
    let mut body =
        String::from("\"Id\",\"SystemModstamp\",\"IsDeleted\",\"Name\",\"NumberOfEmployees\"\n");
    for row in rows {
        body.push_str(row);
        body.push('\n');
    }
    let response = Response {
        status: 200,
        headers: vec![
            ("Content-Type".into(), "text/csv".into()),
            ("Sforce-Locator".into(), locator.into()),
            ("Sforce-NumberOfRecords".into(), count.to_string()),
        ],
        body: body.into_bytes(),
    };
    ANSWERS.with(|answers| answers.borrow_mut().push_back(Ok(response)));
}

fn row(n: usize) -> String {
    format!(
        "\"{}\",\"{STAMP}\",\"false\",\"A{n}\",\"{n}\"",
        account_id(n)
    )
}

fn ids(page: &Page) -> Vec<String> {
    page.records.iter().map(|r| r.id.clone()).collect()
}

fn accounts_named(from: usize, to: usize) -> Vec<String> {
    (from..to).map(account_id).collect()
}

/// Only the fields bulk tests look at.
fn connector_for_bulk(extra: Json) -> Result<Salesforce, Error> {
    let mut config = json!({
        "instance_url": "https://example.my.salesforce.com",
        "entities": {"Account": {"fields": ["Name", "NumberOfEmployees", "BillingAddress"]}}
    });
    if let (Some(config), Json::Object(extra)) = (config.as_object_mut(), extra) {
        config.extend(extra);
    }
    connector(config)
}

#[test]
fn a_large_read_goes_on_from_a_query_job_after_what_rest_read_meanwhile() -> Result<(), Error> {
    let sf = connector_for_bulk(json!({"bulk_above": 10, "bulk_records": 1000}))?;

    // A full REST page, 150 records left: a job for them.
    answer_describe();
    answer_json(200, rest(0, 2));
    count(150);
    job("UploadComplete");
    let page = sf.read(request(None, 2))?;
    assert_eq!(ids(&page), accounts_named(0, 2));
    assert!(page.more);
    let calls = sent();
    assert_eq!(calls.len(), 4);
    assert!(soql_of(&calls[2]).is_some_and(|q| q.starts_with("SELECT COUNT() FROM Account WHERE")));
    assert_eq!(calls[3].method, "POST");
    assert_eq!(calls[3].url, format!("{BASE}/jobs/query"));
    assert_eq!(
        body_json(&calls[3]),
        json!({"operation": "queryAll", "query":
            "SELECT Id, SystemModstamp, IsDeleted, Name, NumberOfEmployees FROM Account WHERE \
             (SystemModstamp > 2024-03-01T12:00:00.000Z OR (SystemModstamp = \
             2024-03-01T12:00:00.000Z AND Id > '001000000000001AAA')) \
             ORDER BY SystemModstamp ASC, Id ASC LIMIT 1000"}),
        "compound fields are not in a job's query"
    );

    // While it runs: one look at it, then a REST page, and no count.
    job("InProgress");
    answer_json(200, rest(2, 4));
    let page = sf.read(request(Some(1), 2))?;
    assert_eq!(ids(&page), accounts_named(2, 4));
    let calls = sent();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        (calls[0].method.as_str(), calls[0].url.as_str()),
        ("GET", JOB_URL)
    );

    // Complete: its results in two chunks, in no order, with what REST read already.
    job("JobComplete");
    let mut first: Vec<String> = (2..7).rev().map(row).collect();
    first.push(format!(
        "\"{}\",\"{STAMP}\",\"true\",\"say \"\"hi\"\",\nbye\",\"\"",
        account_id(7)
    ));
    results(&first, "MTAwMDA");
    results(&[row(9), row(8)], "null");
    let page = sf.read(request(Some(3), 3))?;
    assert_eq!(ids(&page), accounts_named(4, 7));
    assert!(page.more);
    assert_eq!(
        page.records[0].fields,
        vec![
            Field {
                name: "Id".into(),
                value: Value::Text(account_id(4))
            },
            Field {
                name: "SystemModstamp".into(),
                value: Value::Timestamp(NOON)
            },
            Field {
                name: "IsDeleted".into(),
                value: Value::Boolean(false)
            },
            Field {
                name: "Name".into(),
                value: Value::Text("A4".into())
            },
            Field {
                name: "NumberOfEmployees".into(),
                value: Value::Integer(4)
            },
        ]
    );
    assert_eq!(page.records[0].watermark, Value::Timestamp(NOON));
    let calls = sent();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[1].url, format!("{JOB_URL}/results?maxRecords=25000"));
    assert_eq!(
        calls[2].url,
        format!("{JOB_URL}/results?maxRecords=25000&locator=MTAwMDA")
    );
    assert_eq!(header(&calls[1], "Accept"), Some("text/csv"));

    // The rest without a call; a quoted value, a deleted record, null.
    let page = sf.read(request(Some(6), 2))?;
    assert_eq!(ids(&page), accounts_named(7, 9));
    let deleted = &page.records[0];
    assert!(deleted.deleted);
    assert!(deleted.fields.contains(&Field {
        name: "Name".into(),
        value: Value::Text("say \"hi\",\nbye".into())
    }));
    assert!(deleted.fields.contains(&Field {
        name: "NumberOfEmployees".into(),
        value: Value::Null
    }));
    let page = sf.read(request(Some(8), 2))?;
    assert_eq!(ids(&page), accounts_named(9, 10));
    assert!(page.more, "used up: REST reads what came after the job");
    assert!(sent().is_empty());

    // Then REST again, from the job's last record.
    answer_json(200, rest(10, 11));
    let page = sf.read(request(Some(9), 2))?;
    assert_eq!(ids(&page), accounts_named(10, 11));
    assert!(!page.more);
    let calls = sent();
    assert_eq!(calls.len(), 1);
    assert!(soql_of(&calls[0]).is_some_and(|q| q.contains("Id > '001000000000009AAA'")));
    Ok(())
}

#[test]
fn few_records_left_start_no_job_and_are_not_counted_again_at_once() -> Result<(), Error> {
    let sf = connector_for_bulk(json!({"bulk_above": 10}))?;
    answer_describe();
    answer_json(200, rest(0, 2));
    count(10);
    sf.read(request(None, 2))?;
    assert_eq!(sent().len(), 3);
    answer_json(200, rest(2, 4));
    sf.read(request(Some(1), 2))?;
    assert_eq!(
        sent().len(),
        1,
        "no count until REST pages read what the last found"
    );
    Ok(())
}

#[test]
fn full_pages_are_counted_once_they_have_read_a_tenth_of_bulk_above() -> Result<(), Error> {
    let sf = connector_for_bulk(json!({"bulk_above": 100}))?;
    answer_describe();
    answer_json(200, rest(0, 2));
    sf.read(request(None, 2))?;
    assert_eq!(sent().len(), 2);
    for n in (2..8).step_by(2) {
        answer_json(200, rest(n, n + 2));
        sf.read(request(Some(n - 1), 2))?;
        assert_eq!(sent().len(), 1, "8 records read: no count");
    }
    // A short page: caught up, the run starts again.
    answer_json(200, rest(8, 9));
    sf.read(request(Some(7), 2))?;
    for n in (9..19).step_by(2) {
        answer_json(200, rest(n, n + 2));
        if n == 17 {
            count(3);
        }
        sf.read(request(Some(n - 1), 2))?;
    }
    let calls = sent();
    assert_eq!(
        calls.len(),
        7,
        "10 records in full pages in a row: one count"
    );
    assert!(soql_of(&calls[6]).is_some_and(|q| q.starts_with("SELECT COUNT()")));
    Ok(())
}

#[test]
fn without_bulk_reads_never_count() -> Result<(), Error> {
    let sf = connector_for_bulk(json!({"bulk": false, "bulk_above": 1}))?;
    answer_describe();
    answer_json(200, rest(0, 2));
    sf.read(request(None, 2))?;
    assert_eq!(sent().len(), 2);
    Ok(())
}

#[test]
fn a_failed_job_leaves_reads_to_rest() -> Result<(), Error> {
    let sf = connector_for_bulk(json!({"bulk_above": 1}))?;
    answer_describe();
    answer_json(200, rest(0, 2));
    count(5);
    job("UploadComplete");
    sf.read(request(None, 2))?;
    sent();
    answer_json(
        200,
        json!({"id": JOB, "state": "Failed", "errorMessage": "QUERY_TIMEOUT"}),
    );
    answer_json(200, rest(2, 4));
    let page = sf.read(request(Some(1), 2))?;
    assert_eq!(ids(&page), accounts_named(2, 4));
    assert_eq!(sent().len(), 2);
    answer_json(200, rest(4, 6));
    sf.read(request(Some(3), 2))?;
    assert_eq!(
        sent().len(),
        1,
        "no count, no job: bulk is off for the entity"
    );
    Ok(())
}

#[test]
fn a_refused_count_leaves_the_page_and_a_failing_call_fails_the_read() -> Result<(), Error> {
    let sf = connector_for_bulk(json!({"bulk_above": 1}))?;
    answer_describe();
    answer_json(200, rest(0, 2));
    answer_error(Error::Unavailable("connection reset".into()));
    let page = sf.read(request(None, 2))?;
    assert_eq!(ids(&page), accounts_named(0, 2));
    sent();

    answer_json(200, rest(2, 4));
    count(5);
    job("UploadComplete");
    sf.read(request(Some(1), 2))?;
    sent();
    job("JobComplete");
    // Cut short: two rows where the header says three.
    results_saying(&[row(4), row(5)], "null", 3);
    assert!(
        matches!(sf.read(request(Some(3), 2)), Err(Error::Unavailable(m)) if m.contains("cut short"))
    );
    sent();
    // The job is still there: the next read asks again.
    job("JobComplete");
    results(&[row(4), row(5)], "null");
    let page = sf.read(request(Some(3), 2))?;
    assert_eq!(ids(&page), accounts_named(4, 6));
    Ok(())
}
