//! Calls to the API through the host, and its refusals as wasync errors.
//!
//! The host adds credentials, keeps to the rate limit and the daily budget, and retries 429s,
//! 5xx and timeouts (after `Retry-After`), so an answer that still fails is final here.

use crate::page::link_next;
use crate::values::short;
use serde_json::Value as Json;
use wasync_sdk::Error;
use wasync_sdk::http::{Request, Response};

/// How requests leave the connector: the host's `http::send`, or a fake in tests.
pub type Transport = fn(Request) -> Result<Response, Error>;

/// Why a call is made, which decides whose fault a refusal is: a refused write is the
/// record's (`invalid-input`), a refused read the configuration's (`other`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Read,
    Write,
}

/// The API at one base URL.
pub struct Api {
    base_url: String,
    headers: Vec<(String, String)>,
    send: Transport,
}

/// A successful answer.
#[derive(Debug)]
pub struct Answer {
    /// The JSON body; none when the body is empty.
    pub body: Option<Json>,
    /// The `Link` header's `rel="next"`.
    pub link_next: Option<String>,
    /// `METHOD URL`, to name the call in messages.
    pub what: String,
}

impl Api {
    pub fn new(base_url: &str, headers: Vec<(String, String)>, send: Transport) -> Api {
        Api {
            base_url: base_url.to_owned(),
            headers,
            send,
        }
    }

    /// `path` on the API: relative to the base URL, unless it is a URL itself.
    pub fn url(&self, path: &str) -> String {
        match crate::settings::is_http_url(path) {
            true => path.to_owned(),
            false => format!("{}{path}", self.base_url),
        }
    }

    /// The base URL's scheme and host, for next-page paths.
    pub fn origin(&self) -> &str {
        let after_scheme = self.base_url.find("://").map_or(0, |i| i + 3);
        match self.base_url[after_scheme..].find('/') {
            Some(slash) => &self.base_url[..after_scheme + slash],
            None => &self.base_url,
        }
    }

    /// A read: `method url` with an optional JSON body.
    pub fn call(&self, method: &str, url: String, body: Option<&Json>) -> Result<Answer, Error> {
        self.send(method, url, body, Purpose::Read)
    }

    /// Sends one request; a status other than 2xx becomes the error it stands for.
    pub fn send(
        &self,
        method: &str,
        url: String,
        body: Option<&Json>,
        purpose: Purpose,
    ) -> Result<Answer, Error> {
        let what = format!("{method} {}", without_query(&url));
        let mut headers = vec![("Accept".to_owned(), "application/json".to_owned())];
        headers.extend(self.headers.iter().cloned());
        if body.is_some() {
            headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
        }
        let response = (self.send)(Request {
            method: method.to_owned(),
            url,
            headers,
            body: body.map(|b| b.to_string().into_bytes()),
        })?;
        if !(200..300).contains(&response.status) {
            return Err(refusal(&what, &response, purpose));
        }
        let body = if response.body.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            Some(serde_json::from_slice(&response.body).map_err(|e| {
                Error::Unavailable(format!(
                    "the answer to {what} (HTTP {}) is not valid JSON: {e}",
                    response.status
                ))
            })?)
        };
        Ok(Answer {
            body,
            link_next: response.header("link").and_then(link_next),
            what,
        })
    }
}

/// A URL without its query, for messages: a query can carry a token.
fn without_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// A refused request as the error case it stands for, with the API's own message.
fn refusal(what: &str, response: &Response, purpose: Purpose) -> Error {
    let status = response.status;
    let said = serde_json::from_slice::<Json>(&response.body)
        .ok()
        .map(|body| {
            ["message", "error_description", "detail", "error", "errors"]
                .iter()
                .find_map(|key| body.get(*key))
                .map_or_else(
                    || short(&body),
                    |m| m.as_str().map_or_else(|| short(m), str::to_owned),
                )
        })
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(&response.body);
            text.chars().take(200).collect()
        });
    let message = format!("{what} answered HTTP {status}: {said}");
    match status {
        400 | 409 | 422 if purpose == Purpose::Write => Error::InvalidInput(message),
        401 => Error::Unauthorized(message),
        403 => Error::AccessDenied(message),
        404 => Error::NotFound(message),
        429 => Error::RateLimited(message),
        500..=599 => Error::Unavailable(message),
        _ => Error::Other(message),
    }
}
