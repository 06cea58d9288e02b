//! The Salesforce stand-in over HTTP.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use wasync_standins::salesforce::{self, DEFAULT_TOKEN, Options, Salesforce};
use wasync_standins::{Fault, OAuthClient};

use crate::{Answer, Api, encode};

const DATA: &str = "/services/data/v62.0";

fn org(options: Options) -> (Salesforce, Api) {
    let org = salesforce::start(options).expect("start the stand-in");
    let api = Api::new(org.url(), DEFAULT_TOKEN);
    (org, api)
}

fn query(api: &Api, endpoint: &str, soql: &str, batch: Option<usize>) -> Answer {
    let path = format!("{DATA}/{endpoint}?q={}", encode(soql));
    let option = batch.map(|n| format!("batchSize={n}"));
    let headers: Vec<(&str, &str)> = option
        .as_deref()
        .map(|o| vec![("Sforce-Query-Options", o)])
        .unwrap_or_default();
    api.send(Method::GET, &path, None, &headers)
}

fn error_code(answer: &Answer) -> String {
    answer.json()[0]["errorCode"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn accounts(names: impl IntoIterator<Item = String>) -> Value {
    let records: Vec<Value> = names
        .into_iter()
        .map(|name| json!({"attributes": {"type": "Account"}, "Name": name}))
        .collect();
    json!({"allOrNone": false, "records": records})
}

/// Creates accounts through the API, 200 a call; returns their ids.
fn create_accounts(api: &Api, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let names: Vec<String> = (0..n).map(|i| format!("Company {i:04}")).collect();
    for chunk in names.chunks(200) {
        let answer = api.post(
            &format!("{DATA}/composite/sobjects"),
            &accounts(chunk.to_vec()),
        );
        assert_eq!(answer.status, 200, "{}", answer.text);
        for result in answer.json().as_array().expect("an array") {
            assert_eq!(result["success"], true, "{result}");
            ids.push(result["id"].as_str().expect("an id").to_owned());
        }
    }
    ids
}

#[test]
fn next_records_url_pages_return_every_record_once_in_order() {
    let (_org, api) = org(Options::default());
    let ids = create_accounts(&api, 450);
    let first = query(
        &api,
        "query",
        "SELECT Id, Name FROM Account ORDER BY Name",
        Some(200),
    );
    assert_eq!(first.status, 200, "{}", first.text);
    let mut page = first.json();
    assert_eq!(page["totalSize"], 450);
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    loop {
        let records = page["records"].as_array().expect("records").clone();
        sizes.push(records.len());
        for record in &records {
            assert_eq!(record["attributes"]["type"], "Account");
            seen.push(record["Id"].as_str().expect("an id").to_owned());
        }
        if page["done"] == true {
            assert!(page.get("nextRecordsUrl").is_none());
            break;
        }
        let next = page["nextRecordsUrl"]
            .as_str()
            .expect("a next URL")
            .to_owned();
        assert!(next.starts_with("/services/data/v62.0/query/01g"), "{next}");
        page = api.get(&next).json();
    }
    assert_eq!(sizes, [200, 200, 50]);
    assert_eq!(seen, ids, "names sort like creation order here");

    // Batch sizes are clamped to 200..=2000; the default is 2000.
    let small = query(&api, "query", "SELECT Id FROM Account", Some(10)).json();
    assert_eq!(small["records"].as_array().map(Vec::len), Some(200));
    let default = query(&api, "query", "SELECT Id FROM Account", None).json();
    assert_eq!(default["records"].as_array().map(Vec::len), Some(450));
    assert_eq!(default["done"], true);
    // A locator that was never handed out.
    let bad = api.get(&format!("{DATA}/query/01g8d0000000000AAA-200"));
    assert_eq!(
        (bad.status, error_code(&bad)),
        (400, "INVALID_QUERY_LOCATOR".into())
    );
}

#[test]
fn the_keyset_query_walks_ties_in_order_without_loss() {
    let (org, api) = org(Options::default());
    // One call shares one SystemModstamp: 200 ties, then more records later.
    create_accounts(&api, 200);
    std::thread::sleep(Duration::from_millis(3));
    create_accounts(&api, 130);
    let mut expected: Vec<(String, String)> = org
        .records("Account")
        .iter()
        .map(|r| {
            let stamp = r["SystemModstamp"].as_str().expect("a datetime").to_owned();
            (stamp, r["Id"].as_str().expect("an id").to_owned())
        })
        .collect();
    expected.sort();
    let until = "2999-01-01T00:00:00.000+0000";
    let mut cursor: Option<(String, String)> = None;
    let mut seen = Vec::new();
    loop {
        let filter = match &cursor {
            None => format!("WHERE SystemModstamp <= {until}"),
            Some((stamp, id)) => format!(
                "WHERE (SystemModstamp > {stamp} OR (SystemModstamp = {stamp} AND Id > '{id}')) AND SystemModstamp <= {until}"
            ),
        };
        let soql = format!(
            "SELECT Id, Name, SystemModstamp FROM Account {filter} ORDER BY SystemModstamp ASC, Id ASC LIMIT 70"
        );
        let answer = query(&api, "queryAll", &soql, Some(200));
        assert_eq!(answer.status, 200, "{soql}: {}", answer.text);
        let records = answer.json()["records"]
            .as_array()
            .expect("records")
            .clone();
        for record in &records {
            let stamp = record["SystemModstamp"]
                .as_str()
                .expect("a datetime")
                .to_owned();
            seen.push((stamp, record["Id"].as_str().expect("an id").to_owned()));
        }
        if records.len() < 70 {
            break;
        }
        cursor = seen.last().cloned();
    }
    assert_eq!(seen, expected);

    // Datetimes compare as instants, whatever their zone.
    let (stamp, _) = &expected[0];
    let millis = &stamp[..23];
    for literal in [
        format!("{millis}+0000"),
        format!("{millis}Z"),
        shift_hour(millis),
    ] {
        let soql = format!("SELECT Id FROM Account WHERE SystemModstamp = {literal}");
        let answer = query(&api, "query", &soql, None);
        assert_eq!(answer.json()["totalSize"], 200, "{soql}: {}", answer.text);
    }
}

/// The same instant in another zone: `2024-03-01T12:00:00.000` → `2024-03-01T13:00:00.000+01:00`
/// (or an hour back, `-01:00`, in the day's last hour).
fn shift_hour(utc: &str) -> String {
    let hour: u32 = utc[11..13].parse().expect("an hour");
    let (hour, zone) = if hour < 23 {
        (hour + 1, "+01:00")
    } else {
        (hour - 1, "-01:00")
    };
    format!("{}{hour:02}{}{zone}", &utc[..11], &utc[13..])
}

#[test]
fn query_all_sees_deletes_query_does_not() {
    let (org, api) = org(Options::default());
    let ids = create_accounts(&api, 3);
    let answer = api.send(
        Method::DELETE,
        &format!(
            "{DATA}/composite/sobjects?ids={},{},0018d0000000000XYZ,bad&allOrNone=false",
            ids[0], ids[0]
        ),
        None,
        &[],
    );
    assert_eq!(answer.status, 200, "{}", answer.text);
    let results = answer.json();
    assert_eq!(results[0]["success"], true);
    assert_eq!(results[1]["errors"][0]["statusCode"], "ENTITY_IS_DELETED");
    assert_eq!(
        results[2]["errors"][0]["statusCode"],
        "INVALID_CROSS_REFERENCE_KEY"
    );
    assert_eq!(results[3]["errors"][0]["statusCode"], "MALFORMED_ID");

    let live = query(&api, "query", "SELECT Id, IsDeleted FROM Account", None).json();
    assert_eq!(live["totalSize"], 2);
    let all = query(
        &api,
        "queryAll",
        "SELECT Id, IsDeleted FROM Account WHERE IsDeleted = true",
        None,
    )
    .json();
    assert_eq!(all["totalSize"], 1);
    assert_eq!(all["records"][0]["Id"], ids[0].as_str());
    assert_eq!(all["records"][0]["IsDeleted"], true);
    let count = query(&api, "queryAll", "SELECT COUNT() FROM Account", None).json();
    assert_eq!(count["totalSize"], 3);
    assert_eq!(org.records("Account").len(), 3);

    // A deleted record cannot be updated.
    let update = api.patch(
        &format!("{DATA}/composite/sobjects"),
        &json!({"records": [{"attributes": {"type": "Account"}, "Id": ids[0], "Name": "Again"}]}),
    );
    assert_eq!(
        update.json()[0]["errors"][0]["statusCode"],
        "ENTITY_IS_DELETED"
    );
}

#[test]
fn upsert_by_external_id_twice_creates_one_record() {
    let (org, api) = org(Options::default());
    let path = format!("{DATA}/composite/sobjects/Account/Wasync_Id__c");
    let body = |name: &str| {
        json!({"allOrNone": false, "records": [
            {"attributes": {"type": "Account"}, "Wasync_Id__c": "w-1", "Name": name, "NumberOfEmployees": 12}
        ]})
    };
    let first = api.patch(&path, &body("Acme")).json();
    assert_eq!(first[0]["created"], true, "{first}");
    let second = api.patch(&path, &body("Acme Corp")).json();
    assert_eq!(second[0]["created"], false, "{second}");
    assert_eq!(first[0]["id"], second[0]["id"]);
    let records = org.records("Account");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["Name"], "Acme Corp");
    assert_eq!(records[0]["NumberOfEmployees"], 12);
    assert_eq!(records[0]["Id"].as_str().map(str::len), Some(18));
    assert!(
        records[0]["Id"]
            .as_str()
            .is_some_and(|id| id.starts_with("001"))
    );

    // One call naming an external id twice fails both records.
    let twice = api
        .patch(
            &path,
            &json!({"records": [
                {"attributes": {"type": "Account"}, "Wasync_Id__c": "w-2", "Name": "A"},
                {"attributes": {"type": "Account"}, "Wasync_Id__c": "w-2", "Name": "B"}
            ]}),
        )
        .json();
    assert_eq!(twice[0]["errors"][0]["statusCode"], "DUPLICATE_EXTERNAL_ID");
    assert_eq!(twice[1]["errors"][0]["statusCode"], "DUPLICATE_EXTERNAL_ID");
    // A plain create with a taken external id is a duplicate value.
    let taken = api
        .post(
            &format!("{DATA}/composite/sobjects"),
            &json!({"records": [{"attributes": {"type": "Account"}, "Wasync_Id__c": "w-1", "Name": "C"}]}),
        )
        .json();
    assert_eq!(taken[0]["errors"][0]["statusCode"], "DUPLICATE_VALUE");
    // Only external id fields can be upserted by.
    let by_name = api.patch(
        &format!("{DATA}/composite/sobjects/Account/Name"),
        &body("X"),
    );
    assert_eq!(
        (by_name.status, error_code(&by_name)),
        (404, "NOT_FOUND".into())
    );
    assert_eq!(org.records("Account").len(), 1);
}

#[test]
fn collections_have_limits_and_per_record_results() {
    let (org, api) = org(Options::default());
    let path = format!("{DATA}/composite/sobjects");
    let too_many = api.post(&path, &accounts((0..201).map(|i| format!("C{i}"))));
    assert_eq!(too_many.status, 400);
    assert_eq!(
        too_many.json(),
        json!([{"message": "Number of records in the request exceeds the limit of 200", "errorCode": "EXCEEDED_ID_LIMIT"}])
    );
    let ids: Vec<String> = (0..201)
        .map(|i| format!("0018d00000000{i:02}AAA"))
        .collect();
    let delete_many = api.send(
        Method::DELETE,
        &format!("{path}?ids={}", ids.join(",")),
        None,
        &[],
    );
    assert_eq!(error_code(&delete_many), "EXCEEDED_ID_LIMIT");

    let mixed = api
        .post(
            &path,
            &json!({"allOrNone": false, "records": [
                {"attributes": {"type": "Account"}, "Name": "Good", "AnnualRevenue": 1.5e6},
                {"attributes": {"type": "Account"}, "Industry": "Retail"},
                {"attributes": {"type": "Account"}, "Name": "Bad", "Nope__c": 1},
                {"attributes": {"type": "Account"}, "Name": "Late", "CreatedDate": "2024-01-01T00:00:00Z"},
                {"attributes": {"type": "Contact"}, "LastName": "Lovelace", "Email": "ada@example.com"}
            ]}),
        )
        .json();
    assert_eq!(mixed[0]["success"], true);
    assert_eq!(
        mixed[1],
        json!({"success": false, "errors": [{"statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [Name]", "fields": ["Name"]}]})
    );
    assert_eq!(mixed[2]["errors"][0]["statusCode"], "INVALID_FIELD");
    assert_eq!(
        mixed[3]["errors"][0]["statusCode"],
        "INVALID_FIELD_FOR_INSERT_UPDATE"
    );
    assert!(
        mixed[4]["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("003"))
    );
    assert_eq!(org.records("Account").len(), 1);
    assert_eq!(org.records("Account")[0]["AnnualRevenue"], 1.5e6);

    // allOrNone: one bad record rolls the others back.
    let all = api
        .post(
            &path,
            &json!({"allOrNone": true, "records": [
                {"attributes": {"type": "Account"}, "Name": "Kept?"},
                {"attributes": {"type": "Account"}}
            ]}),
        )
        .json();
    assert_eq!(
        all[0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert_eq!(all[1]["errors"][0]["statusCode"], "REQUIRED_FIELD_MISSING");
    assert_eq!(org.records("Account").len(), 1);

    // Updates: by Id, unknown ids fail alone, the change bumps SystemModstamp.
    let id = mixed[0]["id"].as_str().expect("an id");
    let before = org.records("Account")[0]["SystemModstamp"].clone();
    std::thread::sleep(Duration::from_millis(2));
    let update = api
        .patch(
            &path,
            &json!({"records": [
                {"attributes": {"type": "Account"}, "Id": id, "Website": "https://good.example"},
                {"attributes": {"type": "Account"}, "Id": "0018d0000000000AAA", "Name": "Ghost"},
                {"attributes": {"type": "Account"}, "Name": "No id"}
            ]}),
        )
        .json();
    assert_eq!(update[0], json!({"id": id, "success": true, "errors": []}));
    assert_eq!(
        update[1]["errors"][0]["statusCode"],
        "INVALID_CROSS_REFERENCE_KEY"
    );
    assert_eq!(update[2]["errors"][0]["statusCode"], "MISSING_ARGUMENT");
    let after = &org.records("Account")[0];
    assert_eq!(after["Website"], "https://good.example");
    assert!(after["SystemModstamp"].as_str() > before.as_str());
    assert_eq!(after["LastModifiedDate"], after["SystemModstamp"]);
}

#[test]
fn malformed_soql_and_json_get_the_documented_400s() {
    let (org, api) = org(Options::default());
    org.insert("Account", &[("Name", "Acme".into())]);
    let cases = [
        ("SELECT Id FROM Account WHERE", "MALFORMED_QUERY"),
        (
            "SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'",
            "MALFORMED_QUERY",
        ),
        ("SELEC Id FROM Account", "MALFORMED_QUERY"),
        ("SELECT Nope FROM Account", "INVALID_FIELD"),
        ("SELECT Id FROM Nope", "INVALID_TYPE"),
        (
            "SELECT Id FROM Account WHERE SystemModstamp > '2024-01-01T00:00:00Z'",
            "INVALID_QUERY_FILTER_OPERATOR",
        ),
        (
            "SELECT Id FROM Account WHERE Name = 'it\\'s' AND Id > '001'",
            "INVALID_QUERY_FILTER_OPERATOR",
        ),
    ];
    for (soql, code) in cases {
        let answer = query(&api, "query", soql, None);
        assert_eq!(
            (answer.status, error_code(&answer)),
            (400, code.to_owned()),
            "{soql}: {}",
            answer.text
        );
        assert!(
            answer.json()[0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("ERROR at Row:1"))
        );
    }
    let missing = api.get(&format!("{DATA}/query"));
    assert_eq!(error_code(&missing), "MALFORMED_QUERY");
    // Escapes and case-insensitive text comparison.
    org.insert("Account", &[("Name", "It's \\ here".into())]);
    let escaped = query(
        &api,
        "query",
        "select name from account where name = 'IT\\'S \\\\ HERE'",
        None,
    )
    .json();
    assert_eq!(escaped["records"][0]["Name"], "It's \\ here", "{escaped}");

    let path = format!("{DATA}/composite/sobjects");
    for body in ["{\"records\": [", "not json", ""] {
        let answer = api.raw(Method::POST, &path, body);
        assert_eq!(
            (answer.status, error_code(&answer)),
            (400, "JSON_PARSER_ERROR".into()),
            "{body}"
        );
    }
    let wrong_type = api.post(
        &path,
        &json!({"records": [{"attributes": {"type": "Account"}, "Name": "Fine"}, {"attributes": {"type": "Account"}, "Name": "X", "NumberOfEmployees": "many"}]}),
    );
    assert_eq!(
        (wrong_type.status, error_code(&wrong_type)),
        (400, "JSON_PARSER_ERROR".into())
    );
    assert_eq!(
        org.records("Account").len(),
        2,
        "a refused request changes nothing"
    );
}

#[test]
fn auth_daily_limit_headers_and_the_request_log() {
    let (org, api) = org(Options {
        daily_limit: 3,
        ..Options::default()
    });
    let anonymous = Api::new(org.url(), "wrong");
    let refused = anonymous.post(
        &format!("{DATA}/composite/sobjects"),
        &accounts(["A".to_owned()]),
    );
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.json(),
        json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    );
    assert!(org.records("Account").is_empty());

    let describe = api.get(&format!("{DATA}/sobjects/Account/describe"));
    assert_eq!(
        describe.header("sforce-limit-info").as_deref(),
        Some("api-usage=1/3")
    );
    let fields = describe.json()["fields"]
        .as_array()
        .expect("fields")
        .clone();
    let field = |name: &str| {
        fields
            .iter()
            .find(|f| f["name"] == name)
            .cloned()
            .expect(name)
    };
    assert_eq!(field("Id")["type"], "id");
    assert_eq!(field("SystemModstamp")["updateable"], false);
    assert_eq!(field("Wasync_Id__c")["externalId"], true);
    assert_eq!(field("NumberOfEmployees")["type"], "int");
    assert_eq!(fields.len(), 15);

    let unknown = api.get(&format!("{DATA}/sobjects/Nope/describe"));
    assert_eq!(
        (unknown.status, error_code(&unknown)),
        (404, "NOT_FOUND".into())
    );
    let nowhere = api.get("/nowhere");
    assert_eq!(
        (nowhere.status, error_code(&nowhere)),
        (404, "NOT_FOUND".into())
    );
    let spent = api.get(&format!("{DATA}/sobjects/Account/describe"));
    assert_eq!(spent.status, 403);
    assert_eq!(
        spent.json(),
        json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    );
    assert_eq!(
        spent.header("sforce-limit-info").as_deref(),
        Some("api-usage=3/3")
    );
    assert_eq!(org.calls(), 3);
    // The limit counts the last 24 hours, not the calendar day: a day on, the calls made
    // have left the count.
    org.pass_time(std::time::Duration::from_secs(23 * 3600));
    assert_eq!(org.calls(), 3);
    org.pass_time(std::time::Duration::from_secs(3600));
    assert_eq!(org.calls(), 0);
    assert_eq!(
        api.get(&format!("{DATA}/sobjects/Account/describe")).status,
        200
    );

    let log: Vec<(String, u16)> = org
        .requests()
        .iter()
        .map(|r| (r.method.clone(), r.status))
        .collect();
    assert_eq!(
        log,
        [
            ("POST".into(), 401),
            ("GET".into(), 200),
            ("GET".into(), 404),
            ("GET".into(), 404),
            ("GET".into(), 403),
            ("GET".into(), 200)
        ]
    );
    assert_eq!(
        org.requests()[1].path,
        format!("{DATA}/sobjects/Account/describe")
    );
    org.clear_requests();
    assert!(org.requests().is_empty());
}

#[test]
fn oauth_refresh_makes_an_expired_session_work_again() {
    let client = OAuthClient {
        client_id: "client".into(),
        client_secret: "secret".into(),
        refresh_token: "refresh".into(),
        expires_in: 3600,
        rotate_refresh_token: false,
    };
    let (org, mut api) = org(Options {
        oauth: Some(client),
        ..Options::default()
    });
    let path = format!("{DATA}/query?q={}", encode("SELECT Id FROM Account"));
    assert_eq!(api.get(&path).status, 200);
    org.inject(Fault::ExpireTokens);
    let expired = api.get(&path);
    assert_eq!(
        (expired.status, error_code(&expired)),
        (401, "INVALID_SESSION_ID".into())
    );

    let grant = |refresh: &str| {
        api.form(
            "/services/oauth2/token",
            &[
                ("grant_type", "refresh_token"),
                ("client_id", "client"),
                ("client_secret", "secret"),
                ("refresh_token", refresh),
            ],
        )
    };
    let bad = grant("stale");
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.json(),
        json!({"error": "invalid_grant", "error_description": "expired access/refresh token"})
    );
    let good = grant("refresh");
    assert_eq!(good.status, 200, "{}", good.text);
    let token = good.json();
    assert_eq!(token["instance_url"], org.url());
    assert_eq!(token["token_type"], "Bearer");
    assert!(
        token["issued_at"]
            .as_str()
            .is_some_and(|t| t.parse::<u64>().is_ok())
    );
    api.token = token["access_token"].as_str().expect("a token").to_owned();
    assert_eq!(api.get(&path).status, 200);
}

#[test]
fn faults_refuse_delay_and_truncate() {
    let (org, api) = org(Options::default());
    let path = format!("{DATA}/composite/sobjects");
    org.inject(Fault::ServerError { times: 1 });
    let failed = api.post(&path, &accounts(["A".to_owned()]));
    assert_eq!(
        (failed.status, error_code(&failed)),
        (500, "UNKNOWN_EXCEPTION".into())
    );
    assert!(org.records("Account").is_empty(), "a 500 changes nothing");

    org.inject(Fault::RateLimited {
        times: 2,
        retry_after: Some(7),
    });
    let limited = api.post(&path, &accounts(["A".to_owned()]));
    assert_eq!(
        (
            limited.status,
            error_code(&limited),
            limited.header("retry-after")
        ),
        (403, "REQUEST_LIMIT_EXCEEDED".into(), None)
    );
    assert_eq!(api.post(&path, &accounts(["A".to_owned()])).status, 403);
    assert!(org.records("Account").is_empty());

    org.inject(Fault::Slow {
        times: 1,
        delay: Duration::from_millis(300),
    });
    let started = Instant::now();
    assert_eq!(api.post(&path, &accounts(["Slow".to_owned()])).status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        org.records("Account").len(),
        1,
        "a slow write still applies"
    );

    org.inject(Fault::Truncated { times: 1 });
    // A write passes by the truncation, which waits for the next read.
    assert_eq!(api.post(&path, &accounts(["B".to_owned()])).status, 200);
    let read = query(&api, "query", "SELECT Id, Name FROM Account", None);
    assert_eq!(read.status, 200);
    assert!(
        serde_json::from_str::<Value>(&read.text).is_err(),
        "{}",
        read.text
    );
    let whole = query(&api, "query", "SELECT Id, Name FROM Account", None);
    assert_eq!(whole.json()["totalSize"], 2);

    org.inject(Fault::ServerError { times: 5 });
    org.clear_faults();
    assert_eq!(api.get(&format!("{DATA}/sobjects")).status, 200);
    let statuses: Vec<u16> = org.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [500, 403, 403, 200, 200, 200, 200, 200]);
}

#[test]
fn a_held_back_write_is_applied_and_counted_before_its_answer() {
    let (org, api) = org(Options::default());
    org.delay_writes(Duration::from_secs(1));
    let (sent, answered) = std::sync::mpsc::channel();
    let writer = std::thread::spawn(move || {
        let answer = api.post(
            &format!("{DATA}/composite/sobjects"),
            &accounts(["Held".to_owned()]),
        );
        let _ = sent.send(answer.status);
        api
    });
    let until = Instant::now() + Duration::from_secs(10);
    while org.writes_applied() == 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(1));
    }
    // Applied and counted while its answer is still held back.
    assert_eq!(org.writes_applied(), 1);
    assert_eq!(org.records("Account")[0]["Name"], "Held");
    assert!(answered.try_recv().is_err(), "answered before the delay");
    assert_eq!(answered.recv().expect("an answer"), 200);
    let api = writer.join().expect("the writer");
    // Reads are not writes, and answers come at once again.
    org.delay_writes(Duration::ZERO);
    assert_eq!(
        query(&api, "query", "SELECT Id FROM Account", None).status,
        200
    );
    create_accounts(&api, 1);
    assert_eq!(org.writes_applied(), 2);
}
