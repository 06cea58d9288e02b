//! The HubSpot stand-in over HTTP.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use wasync_standins::hubspot::{self, DEFAULT_TOKEN, HubSpot, Options};
use wasync_standins::{Fault, OAuthClient};

use crate::{Answer, Api};

const COMPANIES: &str = "/crm/v3/objects/companies";

/// Limits high enough that a test never meets them by accident.
fn roomy() -> Options {
    Options {
        ten_secondly_limit: 100_000,
        search_per_second: 100_000,
        ..Options::default()
    }
}

fn portal(options: Options) -> (HubSpot, Api) {
    let portal = hubspot::start(options).expect("start the stand-in");
    let api = Api::new(portal.url(), DEFAULT_TOKEN);
    (portal, api)
}

fn category(answer: &Answer) -> String {
    answer.json()["category"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn ids(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["id"].as_str().expect("an id").to_owned())
        .collect()
}

/// Creates `n` companies over the API, 100 a call, spread over a few milliseconds so that
/// modification dates both tie and differ.
fn create_companies(api: &Api, n: usize) -> Vec<String> {
    let mut created = Vec::new();
    let names: Vec<usize> = (0..n).collect();
    for chunk in names.chunks(100) {
        let inputs: Vec<Value> = chunk
            .iter()
            .map(|i| json!({"properties": {"name": format!("Company {i}"), "numberofemployees": i.to_string()}}))
            .collect();
        let answer = api.post(
            &format!("{COMPANIES}/batch/create"),
            &json!({ "inputs": inputs }),
        );
        assert_eq!(answer.status, 201, "{}", answer.text);
        created.extend(ids(&answer.json()));
        std::thread::sleep(Duration::from_millis(2));
    }
    created
}

#[test]
fn search_pages_by_after_return_every_object_once_in_order() {
    let (portal, api) = portal(roomy());
    let created = create_companies(&api, 450);
    let mut expected: Vec<(String, u64)> = portal
        .objects("companies")
        .iter()
        .map(|o| {
            (
                o.properties["hs_lastmodifieddate"].clone(),
                o.id.parse().expect("numeric"),
            )
        })
        .collect();
    expected.sort();
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut body = json!({
            "filterGroups": [],
            "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
            "properties": ["name", "domain"],
            "limit": 200,
        });
        if let Some(after) = &after {
            body["after"] = json!(after);
        }
        let answer = api.post(&format!("{COMPANIES}/search"), &body);
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert!(
            answer.header("x-hubspot-ratelimit-remaining").is_none(),
            "search has no rate-limit headers"
        );
        let page = answer.json();
        assert_eq!(page["total"], 450);
        pages += 1;
        for result in page["results"].as_array().expect("results") {
            let properties = &result["properties"];
            assert_eq!(properties["hs_object_id"], result["id"]);
            assert!(properties["domain"].is_null(), "requested but unset: null");
            assert!(
                properties.get("numberofemployees").is_none(),
                "not requested"
            );
            assert_eq!(result["archived"], false);
            seen.push((
                properties["hs_lastmodifieddate"]
                    .as_str()
                    .expect("a date")
                    .to_owned(),
                result["id"]
                    .as_str()
                    .expect("an id")
                    .parse::<u64>()
                    .expect("numeric"),
            ));
        }
        match page["paging"]["next"]["after"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected);
    assert_eq!(seen.len(), created.len());
    // Ids are increasing decimal numbers that cross digit counts: 9 < 10 as numbers.
    assert!(seen.iter().any(|(_, id)| *id == 9) && seen.iter().any(|(_, id)| *id == 10));
}

#[test]
fn the_connectors_cursor_search_sees_ties_and_the_until_bound() {
    let (portal, api) = portal(roomy());
    create_companies(&api, 250);
    let objects = portal.objects("companies");
    let mut expected: Vec<(i64, u64)> = objects
        .iter()
        .map(|o| {
            (
                millis(&o.properties["hs_lastmodifieddate"]),
                o.id.parse().expect("numeric"),
            )
        })
        .collect();
    expected.sort();
    let until = expected[expected.len() - 60].0; // the last call's objects lie past it
    expected.retain(|(at, _)| *at <= until);
    let mut cursor: Option<(i64, u64)> = None;
    let mut seen = Vec::new();
    loop {
        let bound = json!({"propertyName": "hs_lastmodifieddate", "operator": "LTE", "value": until.to_string()});
        let groups = match cursor {
            None => json!([{"filters": [bound]}]),
            Some((at, id)) => json!([
                {"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GT", "value": at.to_string()}, bound]},
                {"filters": [
                    {"propertyName": "hs_lastmodifieddate", "operator": "EQ", "value": at.to_string()},
                    {"propertyName": "hs_object_id", "operator": "GT", "value": id.to_string()},
                    bound
                ]}
            ]),
        };
        let body = json!({"filterGroups": groups, "sorts": ["hs_lastmodifieddate"], "limit": 70});
        let page = api.post(&format!("{COMPANIES}/search"), &body).json();
        let results = page["results"].as_array().expect("results").clone();
        for result in &results {
            let at = millis(
                result["properties"]["hs_lastmodifieddate"]
                    .as_str()
                    .expect("a date"),
            );
            seen.push((
                at,
                result["id"]
                    .as_str()
                    .expect("an id")
                    .parse()
                    .expect("numeric"),
            ));
        }
        if results.len() < 70 {
            break;
        }
        cursor = seen.last().copied();
    }
    assert_eq!(seen, expected);

    // ISO values filter like epoch milliseconds; descending sorts keep ties by ascending id.
    let iso = objects[0].properties["createdate"].clone();
    let body = json!({
        "filterGroups": [{"filters": [{"propertyName": "createdate", "operator": "EQ", "value": iso}]}],
        "sorts": ["-hs_lastmodifieddate"],
        "limit": 200,
    });
    let page = api.post(&format!("{COMPANIES}/search"), &body).json();
    let found = ids(&page);
    assert_eq!(found.len(), 100, "one batch shares its timestamp");
    let numbers: Vec<u64> = found
        .iter()
        .map(|id| id.parse().expect("numeric"))
        .collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]));
}

fn millis(iso: &str) -> i64 {
    // `2019-12-07T16:50:06.678Z` → epoch milliseconds.
    let date: Vec<i64> = iso[..10]
        .split('-')
        .map(|p| p.parse().expect("a number"))
        .collect();
    let time: Vec<f64> = iso[11..23]
        .split(':')
        .map(|p| p.parse().expect("a number"))
        .collect();
    let days = wasync_civil::days_from_civil(date[0], date[1] as u32, date[2] as u32);
    days * 86_400_000
        + (time[0] * 3_600_000.0 + time[1] * 60_000.0 + time[2] * 1000.0).round() as i64
}

#[test]
fn search_refuses_past_10000_over_200_and_too_many_filters() {
    let (_portal, api) = portal(roomy());
    let search = |body: Value| api.post(&format!("{COMPANIES}/search"), &body);
    let past = search(json!({"after": "10000", "limit": 100}));
    assert_eq!(
        (past.status, category(&past)),
        (400, "VALIDATION_ERROR".into())
    );
    assert_eq!(past.json()["status"], "error");
    assert!(
        past.json()["correlationId"]
            .as_str()
            .is_some_and(|c| c.len() == 36)
    );
    assert_eq!(search(json!({"after": 9999, "limit": 100})).status, 200);
    assert_eq!(search(json!({"limit": 201})).status, 400);
    let filter = json!({"propertyName": "name", "operator": "HAS_PROPERTY"});
    let six_groups: Vec<Value> = (0..6).map(|_| json!({"filters": [filter]})).collect();
    assert_eq!(search(json!({"filterGroups": six_groups})).status, 400);
    assert_eq!(
        search(json!({"filterGroups": [{"filters": vec![filter.clone(); 7]}]})).status,
        400
    );
    assert_eq!(search(json!({"sorts": ["name", "domain"]})).status, 400);
    let bad_operator = search(
        json!({"filterGroups": [{"filters": [{"propertyName": "name", "operator": "LIKE", "value": "a"}]}]}),
    );
    assert_eq!(bad_operator.status, 400);
    let bad_json = api.raw(Method::POST, &format!("{COMPANIES}/search"), "{\"limit\": ");
    assert_eq!(
        (bad_json.status, category(&bad_json)),
        (400, "VALIDATION_ERROR".into())
    );
    assert!(
        bad_json.json()["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Invalid input JSON"))
    );
}

#[test]
fn rate_limits_answer_429_with_hubspots_bodies() {
    let (portal, api) = portal(Options {
        ten_secondly_limit: 3,
        search_per_second: 2,
        daily_limit: 7,
        ..Options::default()
    });
    for remaining in ["2", "1", "0"] {
        let answer = api.get(COMPANIES);
        assert_eq!(answer.status, 200);
        assert_eq!(
            answer.header("x-hubspot-ratelimit-remaining").as_deref(),
            Some(remaining)
        );
        assert_eq!(
            answer.header("x-hubspot-ratelimit-max").as_deref(),
            Some("3")
        );
        assert_eq!(
            answer
                .header("x-hubspot-ratelimit-interval-milliseconds")
                .as_deref(),
            Some("10000")
        );
        assert_eq!(
            answer.header("x-hubspot-ratelimit-daily").as_deref(),
            Some("7")
        );
    }
    let limited = api.get(COMPANIES);
    assert_eq!(limited.status, 429);
    let body = limited.json();
    assert_eq!(
        body["message"],
        "You have reached your ten_secondly_rolling limit."
    );
    assert_eq!(body["errorType"], "RATE_LIMIT");
    assert_eq!(body["policyName"], "TEN_SECONDLY_ROLLING");
    assert_eq!(body["status"], "error");

    // Search has its own limit, per second.
    let search = || api.post(&format!("{COMPANIES}/search"), &json!({}));
    assert_eq!(search().status, 200);
    assert_eq!(search().status, 200);
    let limited = search();
    assert_eq!(limited.status, 429);
    assert_eq!(limited.json()["policyName"], "SECONDLY");
    std::thread::sleep(Duration::from_millis(1050));
    assert_eq!(search().status, 200);
    assert_eq!(portal.calls(), 6);
    assert_eq!(search().status, 200);
    std::thread::sleep(Duration::from_millis(1050));
    let daily = search();
    assert_eq!(daily.status, 429);
    assert_eq!(daily.json()["policyName"], "DAILY");
    assert_eq!(
        daily.json()["message"],
        "You have reached your daily limit."
    );
    assert_eq!(portal.calls(), 7);
}

#[test]
fn batch_endpoints_follow_the_spec() {
    let (portal, api) = portal(roomy());
    let created = api
        .post(
            &format!("{COMPANIES}/batch/create"),
            &json!({"inputs": [
                {"properties": {"name": "Acme", "domain": "acme.com", "numberofemployees": 12}},
                {"properties": {"name": "Globex", "wasync_id": "w-2"}}
            ]}),
        )
        .json();
    assert_eq!(created["status"], "COMPLETE");
    let [acme, globex] = [0, 1].map(|i| {
        created["results"][i]["id"]
            .as_str()
            .expect("an id")
            .to_owned()
    });
    assert_eq!(
        created["results"][0]["properties"]["numberofemployees"],
        "12"
    );
    assert!(
        created["startedAt"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );

    let updated = api.post(
        &format!("{COMPANIES}/batch/update"),
        &json!({"inputs": [{"id": acme, "properties": {"city": "Boston"}}, {"id": "999", "properties": {"city": "X"}}]}),
    );
    assert_eq!(updated.status, 207, "{}", updated.text);
    let body = updated.json();
    assert_eq!(body["numErrors"], 1);
    assert_eq!(body["errors"][0]["category"], "OBJECT_NOT_FOUND");
    assert_eq!(body["errors"][0]["context"]["ids"], json!(["999"]));
    assert_eq!(body["results"][0]["properties"]["city"], "Boston");
    let all_known = api.post(
        &format!("{COMPANIES}/batch/update"),
        &json!({"inputs": [{"id": globex, "properties": {"city": ""}}]}),
    );
    assert_eq!(all_known.status, 200);

    let upsert = |name: &str| {
        api.post(
            &format!("{COMPANIES}/batch/upsert"),
            &json!({"inputs": [{"idProperty": "wasync_id", "id": "w-9", "properties": {"name": name}}]}),
        )
    };
    let first = upsert("Initech").json();
    assert_eq!(first["results"][0]["new"], true, "{first}");
    let second = upsert("Initech Inc").json();
    assert_eq!(second["results"][0]["new"], false);
    assert_eq!(first["results"][0]["id"], second["results"][0]["id"]);
    let by_name = api.post(
        &format!("{COMPANIES}/batch/upsert"),
        &json!({"inputs": [{"idProperty": "name", "id": "Acme", "properties": {}}]}),
    );
    assert_eq!(
        (by_name.status, category(&by_name)),
        (400, "VALIDATION_ERROR".into())
    );
    assert_eq!(portal.objects("companies").len(), 3);

    let too_many: Vec<Value> = (0..101)
        .map(|_| json!({"properties": {"name": "x"}}))
        .collect();
    let refused = api.post(
        &format!("{COMPANIES}/batch/create"),
        &json!({"inputs": too_many}),
    );
    assert_eq!(
        (refused.status, category(&refused)),
        (400, "VALIDATION_ERROR".into())
    );
    let unknown = api.post(
        &format!("{COMPANIES}/batch/create"),
        &json!({"inputs": [{"properties": {"nope": "x"}}]}),
    );
    assert_eq!(unknown.status, 400);
    assert!(
        unknown.json()["message"]
            .as_str()
            .is_some_and(|m| m.contains("PROPERTY_DOESNT_EXIST"))
    );
    let read_only = api.post(
        &format!("{COMPANIES}/batch/create"),
        &json!({"inputs": [{"properties": {"hs_object_id": "5"}}]}),
    );
    assert_eq!(read_only.status, 400);
    let duplicate = api.post(
        &format!("{COMPANIES}/batch/create"),
        &json!({"inputs": [{"properties": {"wasync_id": "w-2"}}]}),
    );
    assert_eq!(
        (duplicate.status, category(&duplicate)),
        (409, "CONFLICT".into())
    );
    assert_eq!(portal.objects("companies").len(), 3);

    let read = api.post(
        &format!("{COMPANIES}/batch/read"),
        &json!({"properties": ["city"], "inputs": [{"id": acme}, {"id": "404"}]}),
    );
    assert_eq!(read.status, 207);
    assert_eq!(read.json()["results"][0]["properties"]["city"], "Boston");

    let archived = api.post(
        &format!("{COMPANIES}/batch/archive"),
        &json!({"inputs": [{"id": acme}, {"id": "12345"}]}),
    );
    assert_eq!((archived.status, archived.text.as_str()), (204, ""));
    let search = api
        .post(&format!("{COMPANIES}/search"), &json!({"limit": 10}))
        .json();
    assert_eq!(search["total"], 2, "archived objects are not searched");
    assert!(
        portal
            .objects("companies")
            .iter()
            .any(|o| o.id == acme && o.archived)
    );
    let listed = api.get(&format!("{COMPANIES}?archived=true")).json();
    assert_eq!(ids(&listed), [acme.as_str()]);
    assert!(listed["results"][0]["archivedAt"].is_string());
}

#[test]
fn single_objects_list_and_properties() {
    let (portal, api) = portal(roomy());
    for i in 0..25 {
        portal.create(
            "companies",
            &[("name", &format!("C{i}")), ("domain", &format!("c{i}.com"))],
        );
    }
    let mut after = String::new();
    let mut listed = Vec::new();
    loop {
        let page = api
            .get(&format!(
                "{COMPANIES}?limit=10&properties=name&after={after}"
            ))
            .json();
        listed.extend(ids(&page));
        match page["paging"]["next"]["after"].as_str() {
            Some(next) => after = next.to_owned(),
            None => break,
        }
    }
    let all: Vec<String> = portal
        .objects("companies")
        .into_iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(listed, all);

    let created = api.post(
        COMPANIES,
        &json!({"properties": {"name": "Solo", "wasync_id": "solo"}}),
    );
    assert_eq!(created.status, 201);
    let id = created.json()["id"].as_str().expect("an id").to_owned();
    let got = api
        .get(&format!("{COMPANIES}/{id}?properties=name,wasync_id"))
        .json();
    assert_eq!(got["properties"]["wasync_id"], "solo");
    let by_unique = api
        .get(&format!("{COMPANIES}/solo?idProperty=wasync_id"))
        .json();
    assert_eq!(by_unique["id"], id.as_str());
    let before =
        portal.objects("companies").last().expect("one").properties["hs_lastmodifieddate"].clone();
    std::thread::sleep(Duration::from_millis(2));
    let patched = api
        .patch(
            &format!("{COMPANIES}/{id}"),
            &json!({"properties": {"name": "Solo 2"}}),
        )
        .json();
    assert_eq!(patched["properties"]["name"], "Solo 2");
    assert!(patched["properties"]["hs_lastmodifieddate"].as_str() > Some(before.as_str()));
    assert_eq!(
        patched["updatedAt"],
        patched["properties"]["hs_lastmodifieddate"]
    );
    assert_eq!(
        api.send(Method::DELETE, &format!("{COMPANIES}/{id}"), None, &[])
            .status,
        204
    );
    let gone = api.get(&format!("{COMPANIES}/{id}"));
    assert_eq!(
        (gone.status, category(&gone)),
        (404, "OBJECT_NOT_FOUND".into())
    );

    let properties = api.get("/crm/v3/properties/companies").json();
    let find = |name: &str| {
        properties["results"]
            .as_array()
            .and_then(|r| r.iter().find(|p| p["name"] == name).cloned())
            .expect(name)
    };
    assert_eq!(find("wasync_id")["hasUniqueValue"], true);
    assert_eq!(find("hs_lastmodifieddate")["type"], "datetime");
    assert_eq!(
        find("hs_lastmodifieddate")["modificationMetadata"]["readOnlyValue"],
        true
    );
    assert_eq!(find("numberofemployees")["type"], "number");
    assert_eq!(properties["results"].as_array().map(Vec::len), Some(13));
    assert_eq!(api.get("/crm/v3/properties/contacts").status, 200);

    let nowhere = api.get("/crm/v3/nowhere");
    assert_eq!(
        (nowhere.status, category(&nowhere)),
        (404, "OBJECT_NOT_FOUND".into())
    );
    let wrong_type = api.get("/crm/v3/objects/widgets");
    assert_eq!(wrong_type.status, 400);
    assert_eq!(api.send(Method::PUT, COMPANIES, None, &[]).status, 405);
}

#[test]
fn oauth_refresh_revives_expired_tokens_and_bad_auth_changes_nothing() {
    let client = OAuthClient {
        client_id: "id".into(),
        client_secret: "secret".into(),
        refresh_token: "refresh".into(),
        expires_in: 1800,
        rotate_refresh_token: false,
    };
    let (portal, mut api) = portal(Options {
        oauth: Some(client),
        ..roomy()
    });
    let stranger = Api::new(portal.url(), "not-a-token");
    let refused = stranger.post(
        &format!("{COMPANIES}/batch/create"),
        &json!({"inputs": [{"properties": {"name": "x"}}]}),
    );
    assert_eq!(
        (refused.status, category(&refused)),
        (401, "INVALID_AUTHENTICATION".into())
    );
    assert!(portal.objects("companies").is_empty());

    portal.inject(Fault::ExpireTokens);
    let expired = api.get(COMPANIES);
    assert_eq!(
        (expired.status, category(&expired)),
        (401, "EXPIRED_AUTHENTICATION".into())
    );
    let grant = |refresh: &str| {
        api.form(
            "/oauth/v1/token",
            &[
                ("grant_type", "refresh_token"),
                ("client_id", "id"),
                ("client_secret", "secret"),
                ("refresh_token", refresh),
            ],
        )
    };
    let bad = grant("other");
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.json(),
        json!({"status": "BAD_REFRESH_TOKEN", "message": "missing or unknown refresh token"})
    );
    let good = grant("refresh").json();
    assert_eq!(good["token_type"], "bearer");
    assert_eq!(good["expires_in"], 1800);
    assert_eq!(good["refresh_token"], "refresh");
    api.token = good["access_token"].as_str().expect("a token").to_owned();
    assert_eq!(api.get(COMPANIES).status, 200);
    assert_eq!(
        portal.calls(),
        1,
        "refused requests and token grants are not counted"
    );
}

#[test]
fn faults_refuse_delay_and_truncate() {
    let (portal, api) = portal(roomy());
    let create = || {
        api.post(
            &format!("{COMPANIES}/batch/create"),
            &json!({"inputs": [{"properties": {"name": "x"}}]}),
        )
    };
    portal.inject(Fault::ServerError { times: 1 });
    portal.inject(Fault::RateLimited {
        times: 1,
        retry_after: Some(2),
    });
    let failed = create();
    assert_eq!(
        (failed.status, category(&failed)),
        (500, "INTERNAL_ERROR".into())
    );
    let limited = create();
    assert_eq!(
        (limited.status, limited.header("retry-after")),
        (429, Some("2".into()))
    );
    assert_eq!(limited.json()["policyName"], "TEN_SECONDLY_ROLLING");
    assert!(
        portal.objects("companies").is_empty(),
        "faults change nothing"
    );

    portal.inject(Fault::Slow {
        times: 1,
        delay: Duration::from_millis(250),
    });
    let started = Instant::now();
    assert_eq!(create().status, 201);
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert_eq!(portal.objects("companies").len(), 1);

    portal.inject(Fault::Truncated { times: 1 });
    assert_eq!(create().status, 201, "writes are not truncated");
    let cut = api.post(&format!("{COMPANIES}/search"), &json!({}));
    assert_eq!(cut.status, 200);
    assert!(
        serde_json::from_str::<Value>(&cut.text).is_err(),
        "{}",
        cut.text
    );
    assert_eq!(
        api.post(&format!("{COMPANIES}/search"), &json!({})).json()["total"],
        2
    );
}

#[test]
fn search_lags_writes_by_the_visibility_delay() {
    let (portal, api) = portal(Options {
        search_visibility_delay: Duration::from_millis(300),
        ..roomy()
    });
    let id = portal.create("companies", &[("name", "Fresh")]);
    let search = || {
        api.post(
            &format!("{COMPANIES}/search"),
            &json!({"properties": ["name"]}),
        )
        .json()
    };
    assert_eq!(search()["total"], 0, "not indexed yet");
    assert_eq!(
        api.get(&format!("{COMPANIES}/{id}")).status,
        200,
        "reads see it at once"
    );
    std::thread::sleep(Duration::from_millis(350));
    assert_eq!(search()["results"][0]["properties"]["name"], "Fresh");
    portal.update("companies", &id, &[("name", "Renamed")]);
    assert_eq!(
        search()["results"][0]["properties"]["name"],
        "Fresh",
        "the old state until indexed"
    );
    std::thread::sleep(Duration::from_millis(350));
    assert_eq!(search()["results"][0]["properties"]["name"], "Renamed");
    portal.archive("companies", &id);
    assert_eq!(search()["total"], 1);
    std::thread::sleep(Duration::from_millis(350));
    assert_eq!(search()["total"], 0);
}
