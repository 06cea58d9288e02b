//! The connector end to end over a scripted transport: each test queues Salesforce's
//! answers, drives the connector, then checks the exact requests it sent.

mod bulk;
mod describe;
mod read;
mod write;

use super::*;
use serde_json::{Value as Json, json};
use std::collections::VecDeque;

thread_local! {
    /// Answers for the next requests, in order (tests run one per thread).
    static ANSWERS: RefCell<VecDeque<Result<Response, Error>>> = RefCell::default();
    /// The requests sent so far.
    static SENT: RefCell<Vec<Request>> = RefCell::default();
}

/// The transport under test: records the request, replays the next answer.
fn scripted(request: Request) -> Result<Response, Error> {
    let unexpected = format!("unexpected request {} {}", request.method, request.url);
    SENT.with(|sent| sent.borrow_mut().push(request));
    ANSWERS
        .with(|answers| answers.borrow_mut().pop_front())
        .unwrap_or(Err(Error::Other(unexpected)))
}

pub const INSTANCE: &str = "https://example.my.salesforce.com";
pub const BASE: &str = "https://example.my.salesforce.com/services/data/v62.0";
pub const DESCRIBE_URL: &str =
    "https://example.my.salesforce.com/services/data/v62.0/sobjects/Account/describe";

/// A connector for `config` over a fresh script.
pub fn connector(config: Json) -> Result<Salesforce, Error> {
    ANSWERS.with(|answers| answers.borrow_mut().clear());
    SENT.with(|sent| sent.borrow_mut().clear());
    let settings: Settings = Config::parse(&config.to_string())?.deserialize()?;
    Salesforce::with_transport(settings, scripted)
}

/// The usual connector: every Account field, upserts by `Wasync_Id__c`.
pub fn accounts() -> Result<Salesforce, Error> {
    connector(json!({
        "instance_url": "https://example.my.salesforce.com/",
        "entities": {"Account": {"upsert_field": "Wasync_Id__c"}}
    }))
}

/// Queues an answer with Salesforce's usual header.
pub fn answer(status: u16, body: impl Into<String>) {
    let response = Response {
        status,
        headers: vec![
            ("Sforce-Limit-Info".into(), "api-usage=18/15000".into()),
            (
                "Content-Type".into(),
                "application/json;charset=UTF-8".into(),
            ),
        ],
        body: body.into().into_bytes(),
    };
    ANSWERS.with(|answers| answers.borrow_mut().push_back(Ok(response)));
}

/// Queues a JSON answer.
pub fn answer_json(status: u16, body: Json) {
    answer(status, body.to_string());
}

/// Queues a failure of the host's `http.send` itself.
pub fn answer_error(error: Error) {
    ANSWERS.with(|answers| answers.borrow_mut().push_back(Err(error)));
}

/// Queues the Account describe.
pub fn answer_describe() {
    answer_json(200, account_describe());
}

/// The requests sent since the last call, checking that every queued answer was used.
pub fn sent() -> Vec<Request> {
    let left = ANSWERS.with(|answers| answers.borrow().len());
    assert_eq!(left, 0, "queued answers were not asked for");
    SENT.with(|sent| std::mem::take(&mut *sent.borrow_mut()))
}

/// The header `name` of a request.
pub fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Checks what every request carries: JSON accepted, never credentials.
pub fn assert_plain(request: &Request) {
    assert_eq!(header(request, "Accept"), Some("application/json"));
    assert_eq!(header(request, "Authorization"), None);
}

/// A request's body as JSON (`null` without one).
pub fn body_json(request: &Request) -> Json {
    match &request.body {
        Some(body) => serde_json::from_slice(body).unwrap_or(Json::String("not JSON".into())),
        None => Json::Null,
    }
}

/// The SOQL of a query URL, decoded, checking the URL's base.
pub fn soql_of(request: &Request) -> Option<String> {
    let encoded = request.url.strip_prefix(&format!("{BASE}/queryAll?q="))?;
    let mut bytes = Vec::new();
    let mut rest = encoded.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        match b {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
                bytes.push(u8::from_str_radix(hex, 16).ok()?);
                rest = &tail[2..];
                continue;
            }
            b if b.is_ascii_alphanumeric() || b"-._~".contains(&b) => bytes.push(b),
            _ => return None,
        }
        rest = tail;
    }
    String::from_utf8(bytes).ok()
}

/// A describe field, as Salesforce sends it (with a few of its many other keys).
fn field(name: &str, type_name: &str, createable: bool, updateable: bool) -> Json {
    json!({"name": name, "type": type_name, "label": name, "createable": createable,
           "updateable": updateable, "nillable": true, "externalId": false, "unique": false,
           "length": 255, "soapType": "xsd:string"})
}

/// The stand-in's Account describe, plus a compound address.
pub fn account_describe() -> Json {
    let mut external = field("Wasync_Id__c", "string", true, true);
    external["externalId"] = json!(true);
    external["unique"] = json!(true);
    json!({
        "name": "Account", "label": "Account", "createable": true, "queryable": true,
        "urls": {"describe": "/services/data/v62.0/sobjects/Account/describe"},
        "fields": [
            field("Id", "id", false, false),
            field("IsDeleted", "boolean", false, false),
            field("Name", "string", true, true),
            field("Type", "picklist", true, true),
            field("Industry", "picklist", true, true),
            field("Website", "url", true, true),
            field("Phone", "phone", true, true),
            field("BillingCity", "string", true, true),
            field("BillingAddress", "address", false, false),
            field("AnnualRevenue", "currency", true, true),
            field("NumberOfEmployees", "int", true, true),
            field("Description", "textarea", true, true),
            field("LastActivityDate", "date", false, false),
            field("SlaExpirationDate__c", "date", true, true),
            field("CreatedDate", "datetime", false, false),
            field("LastModifiedDate", "datetime", false, false),
            field("SystemModstamp", "datetime", false, false),
            external,
        ]
    })
}

/// An 18-character Account id ending in `n`.
pub fn account_id(n: usize) -> String {
    format!("001{n:012}AAA")
}
