//! The connector driven through a scripted fake of the host's `http::send`: each test lists
//! the exact requests it expects (method, URL, JSON body) and the HubSpot answers to replay.

mod describe;
mod read;
mod webhook;
mod write;

use crate::HubSpot;
use serde_json::{Value as Json, json};
use std::cell::RefCell;
use std::collections::VecDeque;
use wasync_sdk::http::{Request, Response};
use wasync_sdk::{Config, Error};

pub const BASE: &str = "https://api.hubapi.com";

/// One expected request and its answer.
struct Exchange {
    method: &'static str,
    path: String,
    body: Option<Json>,
    reply: Result<Response, Error>,
}

thread_local! {
    /// Tests run on their own threads, so each has its own script.
    static SCRIPT: RefCell<VecDeque<Exchange>> = const { RefCell::new(VecDeque::new()) };
}

/// The fake transport: checks each request against the next expected one and replays its
/// answer. The connector must never send credentials itself.
fn fake_send(request: Request) -> Result<Response, Error> {
    let next = SCRIPT.with(|s| s.borrow_mut().pop_front());
    let Some(exchange) = next else {
        panic!("unexpected request {} {}", request.method, request.url);
    };
    let what = format!("{} {}", exchange.method, exchange.path);
    assert_eq!(request.method, exchange.method, "{what}");
    assert_eq!(request.url, format!("{BASE}{}", exchange.path), "{what}");
    assert!(
        !request
            .headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("authorization")),
        "{what}: the connector sent credentials"
    );
    let body = request
        .body
        .as_deref()
        .map(|b| serde_json::from_slice::<Json>(b).unwrap_or(Json::String("<not JSON>".into())));
    assert_eq!(body, exchange.body, "body of {what}");
    if body.is_some() {
        assert!(
            request
                .headers
                .iter()
                .any(|(n, v)| n == "Content-Type" && v == "application/json"),
            "{what}: no JSON content type"
        );
    }
    exchange.reply
}

/// The requests a test expects, checked off as the connector sends them. Dropping it checks
/// that all were sent.
pub struct Script;

impl Script {
    pub fn new() -> Script {
        SCRIPT.with(|s| s.borrow_mut().clear());
        Script
    }

    fn push(
        &self,
        method: &'static str,
        path: &str,
        body: Option<Json>,
        reply: Result<Response, Error>,
    ) {
        SCRIPT.with(|s| {
            s.borrow_mut().push_back(Exchange {
                method,
                path: path.to_owned(),
                body,
                reply,
            })
        });
    }

    /// Expects `GET path`, answered with `status` and `reply`.
    pub fn get(&self, path: &str, status: u16, reply: Json) -> &Self {
        self.push("GET", path, None, Ok(response(status, &reply.to_string())));
        self
    }

    /// Expects `POST path` with `body`, answered with `status` and `reply`.
    pub fn post(&self, path: &str, body: Json, status: u16, reply: Json) -> &Self {
        self.post_raw(path, body, status, &reply.to_string())
    }

    /// Expects `POST path` with `body`, answered with `status` and the raw `reply` text.
    pub fn post_raw(&self, path: &str, body: Json, status: u16, reply: &str) -> &Self {
        self.push("POST", path, Some(body), Ok(response(status, reply)));
        self
    }

    /// Expects `POST path` with `body`, which the host fails with `error`.
    pub fn post_fails(&self, path: &str, body: Json, error: Error) -> &Self {
        self.push("POST", path, Some(body), Err(error));
        self
    }

    /// The companies' properties, answered once.
    pub fn describe_companies(&self) -> &Self {
        self.get("/crm/v3/properties/companies", 200, companies_properties())
    }

    /// Requests still expected.
    pub fn pending(&self) -> usize {
        SCRIPT.with(|s| s.borrow().len())
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let left: Vec<String> = SCRIPT.with(|s| {
                s.borrow()
                    .iter()
                    .map(|e| format!("{} {}", e.method, e.path))
                    .collect()
            });
            assert!(left.is_empty(), "expected requests not sent: {left:?}");
        }
    }
}

/// A response as HubSpot sends it, with its rate-limit headers.
fn response(status: u16, body: &str) -> Response {
    Response {
        status,
        headers: vec![
            (
                "Content-Type".into(),
                "application/json;charset=utf-8".into(),
            ),
            (
                "X-HubSpot-RateLimit-Daily-Remaining".into(),
                "249000".into(),
            ),
        ],
        body: body.as_bytes().to_vec(),
    }
}

/// The connector for `settings` (JSON text), sending through the fake.
pub fn connector(settings: &str) -> Result<HubSpot, Error> {
    HubSpot::with_transport(Config::parse(settings)?.deserialize()?, fake_send)
}

/// Companies reading all properties, upserting by `wasync_id`.
pub fn companies() -> Result<HubSpot, Error> {
    connector(r#"{"entities": {"companies": {"upsert_property": "wasync_id"}}}"#)
}

/// One entry of the properties API's answer.
pub fn property(name: &str, ty: &str, field_type: &str, read_only: bool, unique: bool) -> Json {
    json!({"name": name, "label": name, "type": ty, "fieldType": field_type,
           "groupName": "companyinformation", "hasUniqueValue": unique, "hidden": false,
           "modificationMetadata": {"readOnlyValue": read_only, "readOnlyDefinition": true,
                                    "archivable": !read_only}})
}

/// The companies' properties, as the stand-in has them plus a bool and a date.
pub fn companies_properties() -> Json {
    json!({"results": [
        property("name", "string", "text", false, false),
        property("domain", "string", "text", false, false),
        property("industry", "enumeration", "select", false, false),
        property("type", "enumeration", "select", false, false),
        property("phone", "string", "phonenumber", false, false),
        property("city", "string", "text", false, false),
        property("numberofemployees", "number", "number", false, false),
        property("annualrevenue", "number", "number", false, false),
        property("description", "string", "textarea", false, false),
        property("is_public", "bool", "booleancheckbox", false, false),
        property("founded_on", "date", "date", false, false),
        property("createdate", "datetime", "date", true, false),
        property("hs_lastmodifieddate", "datetime", "date", true, false),
        property("hs_object_id", "number", "number", true, false),
        property("wasync_id", "string", "text", false, true),
    ]})
}

/// Every companies property, in the properties API's order: what a search asks for.
pub fn all_properties() -> Vec<&'static str> {
    vec![
        "name",
        "domain",
        "industry",
        "type",
        "phone",
        "city",
        "numberofemployees",
        "annualrevenue",
        "description",
        "is_public",
        "founded_on",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
        "wasync_id",
    ]
}

/// An ISO 8601 datetime with milliseconds, as HubSpot writes them.
pub fn iso(millis: i64) -> String {
    wasync_sdk::time::format_millis(millis * 1000).unwrap_or_default()
}

/// A company as search and batch endpoints return it (`SimplePublicObject`).
pub fn company(id: u64, modified_ms: i64, name: &str) -> Json {
    json!({"id": id.to_string(),
           "properties": {"name": name, "createdate": iso(1_572_406_217_883),
                          "hs_lastmodifieddate": iso(modified_ms), "hs_object_id": id.to_string()},
           "createdAt": iso(1_572_406_217_883), "updatedAt": iso(modified_ms), "archived": false})
}

/// The search request the connector sends, for the given start (watermark ms, id), bound,
/// page size and paging token.
pub fn search_body(
    properties: &[&str],
    start: Option<(i64, &str)>,
    until: Option<i64>,
    limit: usize,
    after: &str,
) -> Json {
    let until = until.map(|u| json!({"propertyName": "hs_lastmodifieddate", "operator": "LTE", "value": u.to_string()}));
    let mut groups = match start {
        None => vec![vec![]],
        Some((millis, id)) => vec![
            vec![
                json!({"propertyName": "hs_lastmodifieddate", "operator": "GT", "value": millis.to_string()}),
            ],
            vec![
                json!({"propertyName": "hs_lastmodifieddate", "operator": "EQ", "value": millis.to_string()}),
                json!({"propertyName": "hs_object_id", "operator": "GT", "value": id}),
            ],
        ],
    };
    for group in &mut groups {
        group.extend(until.clone());
    }
    groups.retain(|g| !g.is_empty());
    let groups: Vec<Json> = groups.into_iter().map(|f| json!({"filters": f})).collect();
    json!({"filterGroups": groups,
           "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
           "properties": properties, "limit": limit, "after": after})
}

/// The search the connector sends for one run of equal watermarks: by ascending id, after
/// `from`.
pub fn run_body(
    properties: &[&str],
    millis: i64,
    from: Option<&str>,
    limit: usize,
    after: &str,
) -> Json {
    let mut filters = vec![
        json!({"propertyName": "hs_lastmodifieddate", "operator": "EQ", "value": millis.to_string()}),
    ];
    if let Some(id) = from {
        filters.push(json!({"propertyName": "hs_object_id", "operator": "GT", "value": id}));
    }
    json!({"filterGroups": [{"filters": filters}],
           "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
           "properties": properties, "limit": limit, "after": after})
}

/// A search answer (`SimplePublicObjectWithForwardPaging`) with these results and, when
/// `next` is given, a next page.
pub fn search_reply(total: usize, results: Vec<Json>, next: Option<&str>) -> Json {
    let mut reply = json!({"total": total, "results": results});
    if let Some(after) = next {
        reply["paging"] = json!({"next": {"after": after, "link": format!("?after={after}")}});
    }
    reply
}
