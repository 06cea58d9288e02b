//! Salesforce responses to results: a body to parse, or the error case that fits the
//! refusal, with Salesforce's own `errorCode` and message in it. Headers never go into a
//! message.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use wasync_sdk::Error;
use wasync_sdk::http::Response;

/// How much of a body that is not Salesforce's error JSON goes into a message.
const BODY_EXCERPT_CHARS: usize = 200;

/// The body of a successful response as `T`.
///
/// A body that is not JSON is `unavailable` (a truncated or garbled answer: the host retries
/// the next cycle); JSON of an unexpected shape is `other`. A refusal is mapped by
/// [`refusal`].
pub fn parse<T: DeserializeOwned>(response: Response, what: &str) -> Result<T, Error> {
    if !(200..300).contains(&response.status) {
        return Err(refusal(&response, what));
    }
    let json: Json = serde_json::from_slice(&response.body).map_err(|e| {
        Error::Unavailable(format!(
            "Salesforce answered {what} with HTTP {} and a body that was not valid JSON ({e})",
            response.status
        ))
    })?;
    T::deserialize(json).map_err(|e| {
        Error::Other(format!(
            "Salesforce answered {what} with JSON of an unexpected shape: {e}"
        ))
    })
}

/// One entry of a Salesforce error body: `[{"message", "errorCode", "fields"}]`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    error_code: String,
    #[serde(default)]
    fields: Vec<String>,
}

/// The OAuth endpoints' error body: `{"error", "error_description"}`.
#[derive(Debug, Deserialize)]
struct OAuthError {
    error: String,
    #[serde(default)]
    error_description: String,
}

/// The error for a response that is not a success:
///
/// - `REQUEST_LIMIT_EXCEEDED` (403, the org's API requests are spent) or HTTP 429:
///   `rate-limited`;
/// - `INVALID_SESSION_ID` or HTTP 401: `unauthorized`;
/// - `NOT_FOUND`, `INVALID_TYPE` (an unknown sObject) or HTTP 404: `not-found`;
/// - HTTP 5xx: `unavailable`;
/// - HTTP 400 (`MALFORMED_QUERY`, `INVALID_FIELD`, `JSON_PARSER_ERROR`, ...): `invalid-input`;
/// - anything else: `other`.
pub fn refusal(response: &Response, what: &str) -> Error {
    let status = response.status;
    let (codes, detail) = describe_body(&response.body);
    let message = format!("Salesforce answered {what} with HTTP {status}: {detail}");
    let has = |code: &str| codes.iter().any(|c| c == code);
    if has("REQUEST_LIMIT_EXCEEDED") || status == 429 {
        Error::RateLimited(message)
    } else if has("INVALID_SESSION_ID") || status == 401 {
        Error::Unauthorized(message)
    } else if has("NOT_FOUND") || has("INVALID_TYPE") || status == 404 {
        Error::NotFound(message)
    } else if status >= 500 {
        Error::Unavailable(message)
    } else if status == 400 {
        Error::InvalidInput(message)
    } else {
        Error::Other(message)
    }
}

/// The error codes in a body and a text for people: `CODE: message (fields: A, B)` per
/// error, or an excerpt of a body that is not Salesforce's error JSON.
fn describe_body(body: &[u8]) -> (Vec<String>, String) {
    if let Ok(errors) = serde_json::from_slice::<Vec<ApiError>>(body)
        && !errors.is_empty()
    {
        let codes = errors.iter().map(|e| e.error_code.clone()).collect();
        let text = errors
            .iter()
            .map(|e| with_fields(&e.error_code, &e.message, &e.fields))
            .collect::<Vec<_>>()
            .join("; ");
        return (codes, text);
    }
    if let Ok(error) = serde_json::from_slice::<OAuthError>(body) {
        let text = with_fields(&error.error, &error.error_description, &[]);
        return (vec![error.error], text);
    }
    (Vec::new(), excerpt(body))
}

/// `CODE: message`, with the fields named when there are any.
pub fn with_fields(code: &str, message: &str, fields: &[String]) -> String {
    let mut text = match (code.is_empty(), message.is_empty()) {
        (false, false) => format!("{code}: {message}"),
        (false, true) => code.to_owned(),
        (true, _) => message.to_owned(),
    };
    if !fields.is_empty() {
        text.push_str(&format!(" (fields: {})", fields.join(", ")));
    }
    text
}

/// The start of a body as one line of text, or a note that it is empty.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.is_empty() {
        return "(empty body)".into();
    }
    let line = words.join(" ");
    match line.char_indices().nth(BODY_EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: vec![("Sforce-Limit-Info".into(), "api-usage=15000/15000".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    fn refused(status: u16, body: &str) -> Error {
        refusal(&response(status, body), "queryAll Account")
    }

    #[test]
    fn maps_refusals_to_error_cases() {
        let session =
            r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#;
        assert_eq!(
            refused(401, session),
            Error::Unauthorized(
                "Salesforce answered queryAll Account with HTTP 401: INVALID_SESSION_ID: \
                 Session expired or invalid"
                    .into()
            )
        );
        let limit =
            r#"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#;
        assert_eq!(
            refused(403, limit),
            Error::RateLimited(
                "Salesforce answered queryAll Account with HTTP 403: REQUEST_LIMIT_EXCEEDED: \
                 TotalRequests Limit exceeded."
                    .into()
            )
        );
        let unknown =
            r#"[{"message":"sObject type 'Acount' is not supported.","errorCode":"INVALID_TYPE"}]"#;
        assert!(matches!(refused(400, unknown), Error::NotFound(m) if m.contains("INVALID_TYPE")));
        let missing =
            r#"[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]"#;
        assert!(matches!(refused(404, missing), Error::NotFound(_)));
        assert!(matches!(refused(404, ""), Error::NotFound(_)));
        let field = r#"[{"message":"No such column 'Foo' on entity 'Account'.","errorCode":"INVALID_FIELD","fields":["Foo"]}]"#;
        assert_eq!(
            refused(400, field),
            Error::InvalidInput(
                "Salesforce answered queryAll Account with HTTP 400: INVALID_FIELD: No such \
                 column 'Foo' on entity 'Account'. (fields: Foo)"
                    .into()
            )
        );
        assert!(matches!(
            refused(
                403,
                r#"[{"message":"no","errorCode":"INSUFFICIENT_ACCESS"}]"#
            ),
            Error::Other(_)
        ));
        assert!(matches!(refused(429, "slow down"), Error::RateLimited(_)));
    }

    #[test]
    fn a_server_error_is_unavailable_whatever_its_body() {
        assert_eq!(
            refused(503, "<html>\n  <body>Service   Unavailable</body>\n</html>"),
            Error::Unavailable(
                "Salesforce answered queryAll Account with HTTP 503: <html> <body>Service \
                 Unavailable</body> </html>"
                    .into()
            )
        );
        assert_eq!(
            refused(500, ""),
            Error::Unavailable(
                "Salesforce answered queryAll Account with HTTP 500: (empty body)".into()
            )
        );
        let long = "x".repeat(500);
        assert!(matches!(refused(502, &long), Error::Unavailable(m) if m.len() < 300));
    }

    #[test]
    fn reads_oauth_error_bodies() {
        let body =
            r#"{"error":"invalid_grant","error_description":"expired access/refresh token"}"#;
        assert_eq!(
            refused(400, body),
            Error::InvalidInput(
                "Salesforce answered queryAll Account with HTTP 400: invalid_grant: expired \
                 access/refresh token"
                    .into()
            )
        );
    }

    #[test]
    fn a_body_that_is_not_json_is_unavailable() {
        let result = parse::<Json>(
            response(200, r#"{"done":true,"records":[{"Id""#),
            "queryAll Account",
        );
        assert!(
            matches!(&result, Err(Error::Unavailable(m)) if m.contains("not valid JSON")),
            "{result:?}"
        );
        let result = parse::<Vec<String>>(response(200, r#"{"done":true}"#), "queryAll Account");
        assert!(matches!(&result, Err(Error::Other(m)) if m.contains("unexpected shape")));
        assert_eq!(
            parse::<Vec<u8>>(response(200, "[1, 2]"), "x"),
            Ok(vec![1, 2])
        );
    }
}
