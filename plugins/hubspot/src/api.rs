//! Calls to the HubSpot API through the host, and HubSpot's errors as wasync errors.
//!
//! The host adds credentials, rate-limits, and retries 429s and 5xx with backoff, so a
//! response that still fails is final: it becomes the matching error case with HubSpot's own
//! message. Messages never carry headers.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use wasync_sdk::Error;
use wasync_sdk::http::{Request, Response};

/// How requests leave the connector: the host's `http::send`, or a fake in tests.
pub type Transport = fn(Request) -> Result<Response, Error>;

/// What a call is for, which decides how a rejected request is reported: a bad write is the
/// input's fault (`invalid-input`), a bad read is the connector's or the configuration's
/// (`other`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Read,
    Write,
}

/// The API at one base URL.
pub struct Api {
    base_url: String,
    send: Transport,
}

/// A successful response's JSON body (none when the body is empty).
#[derive(Debug)]
pub struct Reply {
    pub body: Option<Json>,
    /// `METHOD /path`, to name the call in messages.
    pub what: String,
}

impl Reply {
    /// The body as `T`; a body of another shape is an error naming the call.
    pub fn decode<T: DeserializeOwned>(self) -> Result<T, Error> {
        let body = self.body.unwrap_or(Json::Null);
        T::deserialize(body).map_err(|e| {
            Error::Other(format!(
                "HubSpot's response to {} is not what the API documents: {e}",
                self.what
            ))
        })
    }
}

impl Api {
    pub fn new(base_url: &str, send: Transport) -> Api {
        Api {
            base_url: base_url.to_owned(),
            send,
        }
    }

    /// `GET {base_url}{path}`.
    pub fn get(&self, path: &str, purpose: Purpose) -> Result<Reply, Error> {
        self.call("GET", path, None, purpose)
    }

    /// `POST {base_url}{path}` with a JSON body.
    pub fn post(&self, path: &str, body: &Json, purpose: Purpose) -> Result<Reply, Error> {
        self.call("POST", path, Some(body), purpose)
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Json>,
        purpose: Purpose,
    ) -> Result<Reply, Error> {
        let what = format!("{method} {path}");
        let mut headers = vec![("Accept".to_owned(), "application/json".to_owned())];
        if body.is_some() {
            headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
        }
        let request = Request {
            method: method.to_owned(),
            url: format!("{}{path}", self.base_url),
            headers,
            body: body.map(|b| b.to_string().into_bytes()),
        };
        let response = (self.send)(request)?;
        if !(200..300).contains(&response.status) {
            return Err(error_of(&what, &response, purpose));
        }
        let body = if response.body.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            Some(serde_json::from_slice(&response.body).map_err(|e| {
                Error::Unavailable(format!(
                    "HubSpot's response to {what} (HTTP {}) was not valid JSON: {e}",
                    response.status
                ))
            })?)
        };
        Ok(Reply { body, what })
    }
}

/// HubSpot's `Error` schema, the parts used; rate-limit errors add `errorType` and
/// `policyName`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    category: Option<Json>,
    #[serde(default)]
    error_type: Option<String>,
    #[serde(default)]
    policy_name: Option<String>,
    #[serde(default)]
    correlation_id: Option<String>,
}

/// The category's name: a string in the `Error` schema, an object with a `name` in batch
/// errors (`StandardError`).
fn category_name(category: Option<&Json>) -> Option<&str> {
    match category? {
        Json::String(name) => Some(name),
        other => other.get("name")?.as_str(),
    }
}

/// A failed response as the error case it stands for.
fn error_of(what: &str, response: &Response, purpose: Purpose) -> Error {
    let status = response.status;
    let Ok(api) = serde_json::from_slice::<ApiError>(&response.body) else {
        let message =
            format!("HubSpot answered {what} with HTTP {status}, and the body was not valid JSON");
        return match status {
            401 | 403 => Error::Unauthorized(message),
            404 => Error::NotFound(message),
            429 => Error::RateLimited(message),
            _ => Error::Unavailable(message),
        };
    };
    let category = category_name(api.category.as_ref())
        .or(api.error_type.as_deref())
        .unwrap_or("no category");
    let mut message = format!(
        "HubSpot answered {what} with HTTP {status} ({category}): {}",
        api.message
    );
    if let Some(id) = &api.correlation_id {
        message.push_str(&format!(" (correlation id {id})"));
    }
    match status {
        401 | 403 => Error::Unauthorized(message),
        404 => Error::NotFound(message),
        429 => Error::RateLimited(format!(
            "{} rate limit reached; {message}",
            api.policy_name.as_deref().unwrap_or("a HubSpot")
        )),
        500.. => Error::Unavailable(message),
        400..500 if purpose == Purpose::Write => Error::InvalidInput(message),
        _ => Error::Other(message),
    }
}

/// One entry of a batch response's `errors` (`StandardError`), the parts used.
#[derive(Debug, Clone, Deserialize)]
pub struct BatchError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    category: Option<Json>,
    #[serde(default)]
    context: Option<Json>,
}

impl BatchError {
    /// The ids (`context.ids`) the error is about; empty when it names none.
    pub fn ids(&self) -> Vec<&str> {
        self.context
            .as_ref()
            .and_then(|c| c.get("ids"))
            .and_then(Json::as_array)
            .map(|ids| ids.iter().filter_map(Json::as_str).collect())
            .unwrap_or_default()
    }

    /// The error for the inputs it is about.
    pub fn error(&self) -> Error {
        let category = category_name(self.category.as_ref()).unwrap_or("error");
        let message = format!("HubSpot ({category}): {}", self.message);
        match category {
            "OBJECT_NOT_FOUND" => Error::NotFound(message),
            _ => Error::InvalidInput(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn response(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: vec![("X-HubSpot-RateLimit-Remaining".into(), "0".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    fn error(status: u16, body: Json, purpose: Purpose) -> Error {
        error_of("POST /x", &response(status, &body.to_string()), purpose)
    }

    #[test]
    fn maps_statuses_to_cases() {
        let unauthorized = json!({"status": "error", "message": "Authentication credentials not found.",
            "correlationId": "c-1", "category": "INVALID_AUTHENTICATION"});
        let expired = json!({"status": "error", "message": "The OAuth token used to make this call expired 2 minute(s) ago.",
            "correlationId": "c-2", "category": "EXPIRED_AUTHENTICATION"});
        let daily = json!({"status": "error", "message": "You have reached your daily limit.",
            "errorType": "RATE_LIMIT", "correlationId": "c-3", "policyName": "DAILY"});
        let secondly = json!({"status": "error", "message": "You have reached your secondly limit.",
            "errorType": "RATE_LIMIT", "correlationId": "c-4", "policyName": "SECONDLY"});
        let invalid = json!({"status": "error", "message": "Property values were not valid",
            "correlationId": "c-5", "category": "VALIDATION_ERROR"});
        let missing = json!({"status": "error", "message": "Object not found", "correlationId": "c-6",
            "category": "OBJECT_NOT_FOUND"});
        let failed = json!({"status": "error", "message": "internal error", "correlationId": "c-7",
            "category": "INTERNAL_ERROR"});
        let cases = [
            (
                401,
                unauthorized,
                Purpose::Read,
                "unauthorized",
                "Authentication credentials not found. ",
            ),
            (
                401,
                expired,
                Purpose::Write,
                "unauthorized",
                "EXPIRED_AUTHENTICATION",
            ),
            (
                429,
                daily,
                Purpose::Read,
                "rate limited",
                "DAILY rate limit reached",
            ),
            (
                429,
                secondly,
                Purpose::Write,
                "rate limited",
                "SECONDLY rate limit",
            ),
            (
                400,
                invalid.clone(),
                Purpose::Write,
                "invalid input",
                "Property values were not valid",
            ),
            (400, invalid, Purpose::Read, "error", "VALIDATION_ERROR"),
            (404, missing, Purpose::Read, "not found", "Object not found"),
            (
                500,
                failed.clone(),
                Purpose::Read,
                "unavailable",
                "internal error",
            ),
            (
                503,
                failed,
                Purpose::Write,
                "unavailable",
                "correlation id c-7",
            ),
        ];
        for (status, body, purpose, kind, text) in cases {
            let message = error(status, body, purpose).to_string();
            assert!(message.starts_with(kind), "{status}: {message}");
            assert!(message.contains(text), "{status}: {message}");
            assert!(!message.contains("X-HubSpot"), "{message}");
        }
    }

    #[test]
    fn says_when_an_error_body_is_not_json() {
        let err = error_of("GET /x", &response(502, "<html>Bad gateway"), Purpose::Read);
        assert!(
            matches!(&err, Error::Unavailable(m) if m.contains("not valid JSON") && m.contains("502")),
            "{err:?}"
        );
        let err = error_of("GET /x", &response(401, ""), Purpose::Read);
        assert!(matches!(err, Error::Unauthorized(_)), "{err:?}");
    }

    #[test]
    fn reads_batch_errors() -> Result<(), serde_json::Error> {
        let error: BatchError = serde_json::from_value(json!({"status": "error",
            "category": "OBJECT_NOT_FOUND", "message": "Could not get some COMPANY objects",
            "context": {"ids": ["999", "998"]}}))?;
        assert_eq!(error.ids(), ["999", "998"]);
        assert!(matches!(error.error(), Error::NotFound(m) if m.contains("Could not get")));
        let error: BatchError = serde_json::from_value(json!({"status": "error",
            "category": {"httpStatus": "BAD_REQUEST", "name": "VALIDATION_ERROR"},
            "message": "bad", "context": {}}))?;
        assert!(error.ids().is_empty());
        assert!(matches!(error.error(), Error::InvalidInput(m) if m.contains("VALIDATION_ERROR")));
        Ok(())
    }
}
