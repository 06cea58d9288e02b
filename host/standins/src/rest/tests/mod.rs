//! The REST stand-in over real HTTP, as connectors and the benchmark use it.

mod paging;
mod writes;

use reqwest::Method;
use reqwest::blocking::Client as Http;
use serde_json::Value;

use super::{DEFAULT_TOKEN, RestApi, start};

/// A running stand-in and an HTTP client holding its token.
struct Client {
    api: RestApi,
    http: Http,
    token: Option<String>,
}

/// An answer, read whole.
#[derive(Debug)]
struct Answer {
    status: u16,
    link: Option<String>,
    retry_after: Option<String>,
    /// The body as JSON (`null` when empty).
    body: Value,
}

impl Client {
    fn new() -> Client {
        Client {
            api: start(Default::default()).expect("start the stand-in"),
            http: Http::new(),
            token: Some(DEFAULT_TOKEN.to_owned()),
        }
    }

    /// Sends a request to a path of the stand-in or to an absolute URL it gave out.
    fn send(&self, method: Method, target: &str, body: Option<&Value>) -> Answer {
        let url = if target.starts_with("http") {
            target.to_owned()
        } else {
            format!("{}{target}", self.api.url())
        };
        let mut request = self.http.request(method, url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().expect("the stand-in answers");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (status, link, retry_after) = (
            response.status().as_u16(),
            header("link"),
            header("retry-after"),
        );
        let text = response.text().expect("a body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"))
        };
        Answer {
            status,
            link,
            retry_after,
            body,
        }
    }

    fn get(&self, target: &str) -> Answer {
        self.send(Method::GET, target, None)
    }
}

/// The ids of a list of records.
fn ids(records: &Value) -> Vec<String> {
    records
        .as_array()
        .expect("an array of records")
        .iter()
        .map(|r| r["id"].as_str().expect("an id").to_owned())
        .collect()
}
