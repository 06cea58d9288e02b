//! The connector against a scripted fake of the host's `http::send`: each test lists the
//! requests it expects (method, URL, JSON body) and the answers to give. The paging styles
//! against a real server are in the host's `tests/rest.rs`.

mod read;
mod write;

use crate::{Rest, Settings};
use serde_json::{Value as Json, json};
use std::cell::RefCell;
use std::collections::VecDeque;
use wasync_sdk::http::{Request, Response};
use wasync_sdk::{Error, Page, ReadRequest, Record, Value};

pub const BASE: &str = "https://api.example.com/v1";

struct Exchange {
    method: &'static str,
    url: String,
    body: Option<Json>,
    reply: Response,
}

thread_local! {
    static SCRIPT: RefCell<VecDeque<Exchange>> = const { RefCell::new(VecDeque::new()) };
}

fn fake_send(request: Request) -> Result<Response, Error> {
    let Some(next) = SCRIPT.with(|s| s.borrow_mut().pop_front()) else {
        panic!("unexpected request {} {}", request.method, request.url);
    };
    assert_eq!(
        (request.method.as_str(), request.url.as_str()),
        (next.method, next.url.as_str())
    );
    assert!(
        !request
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("authorization")),
        "the connector sent credentials"
    );
    let body = request
        .body
        .as_deref()
        .map(|b| serde_json::from_slice::<Json>(b).unwrap_or(Json::String("<not JSON>".into())));
    assert_eq!(body, next.body, "body of {} {}", next.method, next.url);
    Ok(next.reply)
}

/// The requests a test expects; dropping it checks every one was sent.
pub struct Script;

impl Script {
    pub fn new() -> Script {
        SCRIPT.with(|s| s.borrow_mut().clear());
        Script
    }

    /// Expects `method BASE+path` (with `body`) and answers `status` with `reply` and
    /// `headers`.
    pub fn expect(
        self,
        method: &'static str,
        path: &str,
        body: Option<Json>,
        status: u16,
        reply: Json,
        headers: &[(&str, &str)],
    ) -> Self {
        SCRIPT.with(|s| {
            s.borrow_mut().push_back(Exchange {
                method,
                url: format!("{BASE}{path}"),
                body,
                reply: Response {
                    status,
                    headers: headers
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                    body: if reply.is_null() {
                        Vec::new()
                    } else {
                        reply.to_string().into_bytes()
                    },
                },
            })
        });
        self
    }

    /// Expects `GET BASE+path` answered 200 with `reply`.
    pub fn get(self, path: &str, reply: Json) -> Self {
        self.expect("GET", path, None, 200, reply, &[])
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        let left = SCRIPT.with(|s| s.borrow().len());
        if !std::thread::panicking() {
            assert_eq!(left, 0, "requests the connector never sent");
        }
    }
}

/// A connector for one entity `items` with these entity settings.
pub fn connector(entity: Json) -> Rest {
    try_connector(entity).expect("valid settings")
}

pub fn try_connector(entity: Json) -> Result<Rest, Error> {
    let settings = json!({"base_url": format!("{BASE}/"), "entities": {"items": entity}});
    let settings: Settings =
        serde_json::from_value(settings).map_err(|e| Error::InvalidConfig(e.to_string()))?;
    Rest::with_transport(settings, fake_send)
}

/// `items` read after (watermark, id) with `limit`.
pub fn read(rest: &Rest, after: Option<(&str, &str)>, limit: u32) -> Result<Page, Error> {
    use wasync_sdk::Connector;
    rest.read(ReadRequest {
        entity: "items".into(),
        after: after.map(|(w, id)| wasync_sdk::Cursor {
            watermark: Value::Timestamp(wasync_sdk::time::parse_rfc3339(w).expect("a time")),
            id: id.into(),
        }),
        until: None,
        limit,
    })
}

/// The ids of a page's records.
pub fn ids(page: &Page) -> Vec<&str> {
    page.records
        .iter()
        .map(|r: &Record| r.id.as_str())
        .collect()
}

/// An API record with `id` and `updated_at` at second `s` of 2026-01-01.
pub fn item(id: &str, s: u32) -> Json {
    json!({"id": id, "updated_at": format!("2026-01-01T00:00:{s:02}Z"), "name": format!("n-{id}")})
}
