//! Bulk API 2.0 query jobs of the Salesforce stand-in over HTTP, read back with a real CSV
//! parser and checked against the REST API's answer to the same SOQL.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use wasync_standins::salesforce::{self, DEFAULT_TOKEN, Options, Salesforce};

use crate::{Answer, Api, encode};

const DATA: &str = "/services/data/v62.0";
const JOBS: &str = "/services/data/v62.0/jobs/query";
const FIELDS: &str =
    "Id, Name, Industry, NumberOfEmployees, AnnualRevenue, Description, IsDeleted, SystemModstamp";
const TRICKY: &str = "He said \"hi\", then\nleft";

fn org(options: Options) -> (Salesforce, Api) {
    let org = salesforce::start(options).expect("start the stand-in");
    let api = Api::new(org.url(), DEFAULT_TOKEN);
    (org, api)
}

fn error_code(answer: &Answer) -> String {
    answer.json()[0]["errorCode"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Asserts an error answer: its status and Salesforce's `errorCode`.
fn expect_error(answer: &Answer, status: u16, code: &str) {
    assert_eq!(
        (answer.status, error_code(answer).as_str()),
        (status, code),
        "{}",
        answer.text
    );
}

fn job_id(job: &Value) -> String {
    job["id"].as_str().expect("a job id").to_owned()
}

fn message(answer: &Answer) -> String {
    answer.json()[0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Creates a job; panics unless it is accepted. Returns the job info.
fn create(api: &Api, body: Value) -> Value {
    let answer = api.post(JOBS, &body);
    assert_eq!(answer.status, 200, "{body}: {}", answer.text);
    answer.json()
}

/// Polls until `JobComplete`; returns every state seen.
fn poll(api: &Api, id: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    for _ in 0..10 {
        let info = api.get(&format!("{JOBS}/{id}")).json();
        seen.push(info.clone());
        if info["state"] == "JobComplete" {
            return seen;
        }
    }
    panic!("never complete: {seen:?}");
}

/// A set of results: header row, rows (empty fields as `None`), and its headers.
struct Set {
    answer: Answer,
    header: Vec<String>,
    rows: Vec<Vec<Option<String>>>,
}

fn results(api: &Api, id: &str, query: &str, delimiter: u8) -> Set {
    let answer = api.get(&format!("{JOBS}/{id}/results{query}"));
    assert_eq!(answer.status, 200, "{query}: {}", answer.text);
    assert_eq!(answer.header("content-type").as_deref(), Some("text/csv"));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(answer.text.as_bytes());
    let header = reader
        .headers()
        .expect("a header row")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| {
            let r = r.expect("a CSV row");
            r.iter()
                .map(|v| (!v.is_empty()).then(|| v.to_owned()))
                .collect()
        })
        .collect();
    Set {
        answer,
        header,
        rows,
    }
}

/// Every set of a job's results, `maxRecords` at a time, following `Sforce-Locator`.
fn read_all(api: &Api, id: &str, max: usize) -> (Vec<Set>, Vec<Vec<Option<String>>>) {
    let mut sets: Vec<Set> = Vec::new();
    let mut locator: Option<String> = None;
    loop {
        let query = match &locator {
            None => format!("?maxRecords={max}"),
            Some(l) => format!("?locator={}&maxRecords={max}", encode(l)),
        };
        let set = results(api, id, &query, b',');
        let count = set.answer.header("sforce-numberofrecords");
        assert_eq!(count, Some(set.rows.len().to_string()));
        let next = set.answer.header("sforce-locator").expect("a locator");
        sets.push(set);
        if next == "null" {
            break;
        }
        locator = Some(next);
        assert!(sets.len() < 100, "locators never end");
    }
    let rows = sets.iter().flat_map(|s| s.rows.clone()).collect();
    (sets, rows)
}

/// The REST API's answer to the same SOQL, as CSV would write it, by id, in its order.
fn rest_rows(api: &Api, endpoint: &str, soql: &str) -> Vec<(String, Vec<Option<String>>)> {
    let answer = api.get(&format!("{DATA}/{endpoint}?q={}", encode(soql)));
    assert_eq!(answer.status, 200, "{}", answer.text);
    let page = answer.json();
    assert_eq!(page["done"], true);
    let names: Vec<&str> = FIELDS.split(", ").collect();
    page["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|record| {
            let values = names
                .iter()
                .map(|name| match &record[*name] {
                    Value::Null => None,
                    Value::String(s) => Some(match s.strip_suffix("+0000") {
                        Some(datetime) => format!("{datetime}Z"),
                        None => s.clone(),
                    }),
                    other => Some(other.to_string()),
                })
                .collect();
            (record["Id"].as_str().expect("an id").to_owned(), values)
        })
        .collect()
}

fn by_id(rows: &[Vec<Option<String>>]) -> BTreeMap<String, Vec<Option<String>>> {
    rows.iter()
        .map(|r| (r[0].clone().expect("an id"), r.clone()))
        .collect()
}

/// Accounts made in moments: 4 early ones, 20 later, then 2 of those deleted and 3
/// updated, so ORDER BY SystemModstamp differs from creation order.
fn seed(org: &Salesforce) -> (String, Vec<String>) {
    for i in 0..4 {
        org.insert("Account", &[("Name", format!("Early {i}").into())]);
    }
    std::thread::sleep(Duration::from_millis(3));
    let after = org.records("Account")[3]["SystemModstamp"]
        .as_str()
        .expect("a datetime")
        .to_owned();
    let ids: Vec<String> = (0..20)
        .map(|i| {
            let mut fields = vec![("Name", json!(format!("Later {i:02}")))];
            if i % 3 == 0 {
                fields.push(("Industry", json!("Banking")));
                fields.push(("NumberOfEmployees", json!(i * 10)));
                fields.push(("AnnualRevenue", json!(1_000_000.5)));
            }
            if i == 4 {
                fields.push(("Description", json!(TRICKY)));
            }
            org.insert("Account", &fields)
        })
        .collect();
    std::thread::sleep(Duration::from_millis(3));
    for i in [7, 8] {
        org.delete("Account", &ids[i]);
    }
    std::thread::sleep(Duration::from_millis(3));
    for i in [1, 2, 5] {
        org.update(
            "Account",
            &ids[i],
            &[("Name", format!("Renamed {i}").into())],
        );
    }
    (after, ids)
}

#[test]
fn query_all_jobs_serve_what_rest_query_all_selects_in_chunks_in_storage_order() {
    let (org, api) = org(Options::default());
    let (after, _) = seed(&org);
    let soql = format!(
        "SELECT {FIELDS} FROM Account WHERE SystemModstamp > {after} ORDER BY SystemModstamp, Id LIMIT 18"
    );
    let job = create(&api, json!({"operation": "queryAll", "query": soql}));
    let id = job_id(&job);
    assert!(id.starts_with("750") && id.len() == 18, "{id}");
    let created = job["createdDate"].as_str().expect("a datetime");
    assert!(created.len() == 28 && created.ends_with("+0000"), "{job}");
    let expected = json!({
        "id": id, "operation": "queryAll", "object": "Account",
        "createdById": "0058d000001STANAA2", "createdDate": created, "systemModstamp": created,
        "state": "UploadComplete", "concurrencyMode": "Parallel", "contentType": "CSV",
        "apiVersion": 62.0, "lineEnding": "LF", "columnDelimiter": "COMMA",
    });
    assert_eq!(job, expected);
    expect_error(
        &api.get(&format!("{JOBS}/{id}/results")),
        412,
        "JOB_NOT_COMPLETE",
    );
    let states = poll(&api, &id);
    let names: Vec<&Value> = states.iter().map(|s| &s["state"]).collect();
    assert_eq!(names, [&json!("InProgress"), &json!("JobComplete")]);
    let done = &states[1];
    assert_eq!(done["numberRecordsProcessed"], 18);
    assert_eq!(done["retries"], 0);
    assert!(done["totalProcessingTime"].as_i64().is_some(), "{done}");
    assert_eq!(done["jobType"], "V2Query");

    let (sets, rows) = read_all(&api, &id, 7);
    let sizes: Vec<usize> = sets.iter().map(|s| s.rows.len()).collect();
    assert_eq!(sizes, [7, 7, 4]);
    let fields: Vec<&str> = FIELDS.split(", ").collect();
    for set in &sets {
        assert_eq!(set.header, fields);
    }
    assert!(
        sets[0]
            .answer
            .text
            .starts_with("\"Id\",\"Name\",\"Industry\",")
    );
    // A locator can be read again, with the same rows.
    let second = sets[0].answer.header("sforce-locator").expect("a locator");
    assert_eq!(second, "Nw", "base64 of row 7");
    let again = results(&api, &id, &format!("?locator={second}&maxRecords=7"), b',');
    assert_eq!(again.answer.text, sets[1].answer.text);
    // Without maxRecords: everything left.
    let rest = results(&api, &id, &format!("?locator={second}"), b',');
    assert_eq!(rest.rows.len(), 11);
    assert_eq!(
        rest.answer.header("sforce-locator").as_deref(),
        Some("null")
    );

    // The same rows, the same values, as REST queryAll; deleted ones included. LIMIT 18
    // leaves out the last two by SystemModstamp: two of the updated accounts.
    let rest = rest_rows(&api, "queryAll", &soql);
    let expected: BTreeMap<_, _> = rest.iter().cloned().collect();
    assert_eq!(by_id(&rows), expected);
    assert_eq!(rows.len(), 18);
    let deleted = |row: &Vec<Option<String>>| row[6].as_deref() == Some("true");
    assert_eq!(rows.iter().filter(|r| deleted(r)).count(), 2);
    // Served in storage (creation, id) order, not in ORDER BY order.
    let served: Vec<&str> = rows.iter().filter_map(|r| r[0].as_deref()).collect();
    let mut sorted = served.clone();
    sorted.sort_unstable();
    assert_eq!(served, sorted);
    let ordered: Vec<&str> = rest.iter().map(|(id, _)| id.as_str()).collect();
    assert_ne!(
        served, ordered,
        "the seed makes ORDER BY differ from storage order"
    );

    // Quoting, nulls, datetimes with Z.
    let text: String = sets.iter().map(|s| s.answer.text.as_str()).collect();
    assert!(
        text.contains("\"He said \"\"hi\"\", then\nleft\""),
        "{text}"
    );
    let descriptions: Vec<&str> = rows.iter().filter_map(|r| r[5].as_deref()).collect();
    assert_eq!(descriptions, [TRICKY]);
    assert!(
        text.contains(",,,,,\"false\""),
        "null fields are empty: {text}"
    );
    let stamp = rows[0][7].as_deref().expect("a datetime");
    assert!(stamp.len() == 24 && stamp.ends_with('Z'), "{stamp}");

    // query leaves the deleted rows out, as REST query does.
    let live_id = job_id(&create(&api, json!({"operation": "query", "query": soql})));
    poll(&api, &live_id);
    let (_, live_rows) = read_all(&api, &live_id, 1000);
    let expected: BTreeMap<_, _> = rest_rows(&api, "query", &soql).into_iter().collect();
    assert_eq!(by_id(&live_rows), expected);
    assert!(!live_rows.iter().any(deleted));
    assert_eq!(live_rows.len(), 18, "all 18 live rows");

    assert_eq!(org.query_jobs(), 2);
    assert_eq!(org.calls() as usize, org.requests().len());
}

#[test]
fn delimiters_line_endings_and_the_number_of_polls_are_options() {
    let (org, api) = org(Options {
        bulk_polls: 0,
        ..Options::default()
    });
    org.insert("Account", &[("Name", "Tab\there".into())]);
    org.insert("Account", &[("Name", "Plain".into())]);
    let job = create(
        &api,
        json!({"operation": "query", "query": "SELECT Id, Name, Industry FROM Account",
               "contentType": "CSV", "columnDelimiter": "TAB", "lineEnding": "CRLF"}),
    );
    assert_eq!(job["columnDelimiter"], "TAB");
    assert_eq!(job["lineEnding"], "CRLF");
    let id = job_id(&job);
    // The query ran at creation: a later record is not in the results.
    org.insert("Account", &[("Name", "Too late".into())]);
    let states = poll(&api, &id);
    assert_eq!(states.len(), 1, "0 polls: complete at the first read");
    let set = results(&api, &id, "", b'\t');
    let text = &set.answer.text;
    assert!(
        text.starts_with("\"Id\"\t\"Name\"\t\"Industry\"\r\n"),
        "{text}"
    );
    assert!(text.contains("\"Tab\there\"\t\r\n"), "{text}");
    assert_eq!(set.rows.len(), 2);
    assert_eq!(set.answer.header("sforce-locator").as_deref(), Some("null"));

    for (delimiter, byte) in [
        ("PIPE", b'|'),
        ("SEMICOLON", b';'),
        ("CARET", b'^'),
        ("BACKQUOTE", b'`'),
    ] {
        let body = json!({"operation": "query", "query": "SELECT Id, Name FROM Account", "columnDelimiter": delimiter});
        let id = job_id(&create(&api, body));
        poll(&api, &id);
        let set = results(&api, &id, "", byte);
        assert_eq!(set.header, ["Id", "Name"], "{delimiter}");
        assert_eq!(set.rows[1][1].as_deref(), Some("Plain"), "{delimiter}");
    }

    let (_slow, slow_api) = self::org(Options {
        bulk_polls: 3,
        ..Options::default()
    });
    let body = json!({"operation": "query", "query": "SELECT Id FROM Account"});
    let states: Vec<Value> = poll(&slow_api, &job_id(&create(&slow_api, body)))
        .iter()
        .map(|s| s["state"].clone())
        .collect();
    assert_eq!(
        states,
        ["InProgress", "InProgress", "InProgress", "JobComplete"]
    );
}

#[test]
fn refusals_get_salesforces_errors_and_every_request_counts() {
    let (org, api) = org(Options::default());
    org.insert("Account", &[("Name", "Acme".into())]);
    org.insert("Account", &[("Name", "Globex".into())]);
    let query = |soql: &str| json!({"operation": "query", "query": soql});
    let with = |key: &str, value: &str| {
        let mut body = query("SELECT Id FROM Account");
        body[key] = json!(value);
        body
    };
    let refusals = [
        (
            query("SELECT COUNT() FROM Account"),
            "INVALIDJOB",
            "COUNT()",
        ),
        (
            query("SELECT Id FROM Account LIMIT 5 OFFSET 1"),
            "INVALIDJOB",
            "OFFSET",
        ),
        (
            query("SELECT FIELDS(ALL) FROM Account LIMIT 9"),
            "INVALIDJOB",
            "FIELDS()",
        ),
        (
            query("SELECT FIELDS(ALL) FROM Account"),
            "INVALIDJOB",
            "FIELDS()",
        ),
        (
            query("SELECT Id FROM Account WHERE"),
            "MALFORMED_QUERY",
            "ERROR at Row:1",
        ),
        (query("SELECT Id FROM Nope"), "INVALID_TYPE", "Nope"),
        (with("operation", "upsert"), "INVALIDJOB", "upsert"),
        (
            json!({"query": "SELECT Id FROM Account"}),
            "INVALIDJOB",
            "operation",
        ),
        (json!({"operation": "query"}), "INVALIDJOB", "query"),
        (
            json!({"operation": "query", "query": 5}),
            "INVALIDJOB",
            "query",
        ),
        (with("contentType", "JSON"), "INVALIDJOB", "contentType"),
        (
            with("columnDelimiter", "SPACE"),
            "INVALIDJOB",
            "columnDelimiter",
        ),
        (with("lineEnding", "CR"), "INVALIDJOB", "lineEnding"),
    ];
    for (body, code, says) in refusals {
        let answer = api.post(JOBS, &body);
        expect_error(&answer, 400, code);
        assert!(message(&answer).contains(says), "{body}: {}", answer.text);
    }
    let garbled = api.raw(Method::POST, JOBS, "{\"operation\": ");
    expect_error(&garbled, 400, "JSON_PARSER_ERROR");
    assert_eq!(org.query_jobs(), 0, "no refused job was created");

    let id = job_id(&create(&api, query("SELECT Id, Name FROM Account")));
    let job = format!("{JOBS}/{id}");
    let results = format!("{job}/results");
    let not_complete = api.get(&results);
    expect_error(&not_complete, 412, "JOB_NOT_COMPLETE");
    assert!(message(&not_complete).contains("UPLOAD_COMPLETE"));
    assert_eq!(api.get(&job).json()["state"], "InProgress");
    assert!(message(&api.get(&results)).contains("IN_PROGRESS"));
    expect_error(&api.send(Method::DELETE, &job, None, &[]), 400, "API_ERROR");
    assert_eq!(api.get(&job).json()["state"], "JobComplete");
    for bad in ["locator=null", "locator=%21%21", "locator=MA", "locator=Mg"] {
        expect_error(&api.get(&format!("{results}?{bad}")), 400, "INVALIDJOB");
    }
    for bad in ["maxRecords=0", "maxRecords=x", "maxRecords=-1"] {
        expect_error(&api.get(&format!("{results}?{bad}")), 400, "INVALIDJOB");
    }
    assert_eq!(api.get(&format!("{results}?locator=MQ")).status, 200);
    let other_version = format!("/services/data/v61.0/jobs/query/{id}/results");
    expect_error(&api.get(&other_version), 409, "INVALIDJOB");
    let too_old = api.get("/services/data/v46.0/jobs/query");
    expect_error(&too_old, 404, "NOT_FOUND");

    let unknown = format!("{JOBS}/7508d0000000000AAA");
    for answer in [
        api.get(&unknown),
        api.get(&format!("{unknown}/results")),
        api.send(Method::DELETE, &unknown, None, &[]),
        api.patch(&unknown, &json!({"state": "Aborted"})),
    ] {
        expect_error(&answer, 404, "NOT_FOUND");
    }
    for (method, path) in [
        (Method::PUT, JOBS),
        (Method::POST, &job),
        (Method::POST, &results),
    ] {
        expect_error(
            &api.send(method, path, None, &[]),
            405,
            "METHOD_NOT_ALLOWED",
        );
    }

    // Aborting: only a running job, and then it has no results.
    let abort = json!({"state": "Aborted"});
    expect_error(&api.patch(&job, &abort), 400, "INVALIDJOB");
    let other_job = format!(
        "{JOBS}/{}",
        job_id(&create(&api, query("SELECT Id FROM Account")))
    );
    let wrong = api.patch(&other_job, &json!({"state": "JobComplete"}));
    expect_error(&wrong, 400, "INVALIDJOB");
    let aborted = api.patch(&other_job, &abort);
    assert_eq!(
        (aborted.status, &aborted.json()["state"]),
        (200, &json!("Aborted"))
    );
    let polled = api.get(&other_job).json();
    assert_eq!(polled["state"], "Aborted", "polling does not revive it");
    assert!(message(&api.get(&format!("{other_job}/results"))).contains("ABORTED"));
    let listed = api.get(JOBS).json();
    assert_eq!(listed["done"], true);
    assert_eq!(listed["records"].as_array().map(Vec::len), Some(2));

    // Deleting forgets a finished job.
    for path in [&job, &other_job] {
        assert_eq!(api.send(Method::DELETE, path, None, &[]).status, 204);
        assert_eq!(api.get(path).status, 404);
    }
    assert_eq!(org.query_jobs(), 2);
    let served = org.requests().len();
    assert_eq!(org.calls() as usize, served, "every request counts");
}

#[test]
fn only_the_newest_hundred_jobs_are_kept() {
    let (_org, api) = org(Options::default());
    let body = json!({"operation": "query", "query": "SELECT Id FROM Account"});
    let ids: Vec<String> = (0..101)
        .map(|_| job_id(&create(&api, body.clone())))
        .collect();
    assert_eq!(api.get(&format!("{JOBS}/{}", ids[0])).status, 404);
    assert_eq!(api.get(&format!("{JOBS}/{}", ids[1])).status, 200);
    let listed = api.get(JOBS).json();
    assert_eq!(listed["records"].as_array().map(Vec::len), Some(100));
}
