//! The HTTP side of the API: authentication, routing, and the error bodies every refusal
//! and injected fault answers with.

use std::fmt;
use std::sync::Mutex;

use axum::http::Method;
use serde_json::json;

use super::store::Data;
use super::{list, write};
use crate::server::{Auth, Core, Incoming, Reply, System, lock};

/// Why a request is refused: the API's error body `{"error", "message", "field"?}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    status: u16,
    code: &'static str,
    message: String,
    /// The field a `validation_failed` refusal is about.
    field: Option<&'static str>,
}

impl Refusal {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    /// 400 `bad_request`.
    pub(crate) fn bad_request(message: impl Into<String>) -> Refusal {
        Refusal::new(400, "bad_request", message)
    }

    /// 404 `not_found`.
    pub(crate) fn not_found(message: impl Into<String>) -> Refusal {
        Refusal::new(404, "not_found", message)
    }

    /// 422 `validation_failed` on `field`.
    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            field: Some(field),
            ..Refusal::new(422, "validation_failed", message)
        }
    }

    fn reply(&self) -> Reply {
        let mut body = json!({ "error": self.code, "message": self.message });
        if let Some(field) = self.field {
            body["field"] = json!(field);
        }
        Reply::json(self.status, &body)
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

/// The API: its address (for the absolute URLs of next pages) and its data.
#[derive(Debug)]
pub(crate) struct Service {
    pub url: String,
    pub data: Mutex<Data>,
}

impl Service {
    fn route(&self, core: &Core, req: &Incoming) -> Result<Reply, Refusal> {
        let mut data = lock(&self.data);
        let data = &mut *data;
        let clock = &core.clock;
        let url = self.url.as_str();
        match (&req.method, req.parts().as_slice()) {
            (&Method::GET, ["cursor", entity]) => list::cursor(data, entity, req),
            (&Method::GET, ["next", entity]) => list::next_url(data, url, entity, req),
            (&Method::GET, ["link", entity]) => list::link(data, url, entity, req),
            (&Method::GET, ["offset", entity]) => list::offset(data, entity, req),
            (&Method::GET, ["page", entity]) => list::page(data, entity, req),
            (&Method::POST, ["search", entity]) => list::search(data, entity, req),
            (&Method::POST, ["v1", entity]) => write::create(data, clock, entity, req),
            (&Method::GET, ["v1", entity, id]) => write::get(data, entity, id),
            (&Method::PUT, ["v1", entity, id]) => write::put(data, clock, entity, id, req),
            (&Method::PATCH, ["v1", entity, id]) => write::patch(data, clock, entity, id, req),
            (&Method::DELETE, ["v1", entity, id]) => write::delete(data, clock, entity, id),
            _ => Err(Refusal::not_found(format!(
                "no route for {} /{}",
                req.method,
                req.segments.join("/")
            ))),
        }
    }
}

impl System for Service {
    fn is_token_request(&self, _req: &Incoming) -> bool {
        false
    }

    fn is_read(&self, req: &Incoming) -> bool {
        req.method == Method::GET
            || (req.method == Method::POST && matches!(req.parts().as_slice(), ["search", _]))
    }

    fn handle(&self, core: &Core, req: &Incoming) -> Reply {
        let refused = match core.tokens.check(req) {
            Auth::Valid => None,
            Auth::Expired => Some("the access token has expired"),
            Auth::Invalid => Some("a valid `Authorization: Bearer <token>` header is required"),
        };
        if let Some(message) = refused {
            return Refusal::new(401, "unauthorized", message).reply();
        }
        self.route(core, req)
            .unwrap_or_else(|refusal| refusal.reply())
    }

    fn rate_limited(&self, _core: &Core, retry_after: Option<u64>) -> Reply {
        let reply = Refusal::new(429, "rate_limited", "too many requests; slow down").reply();
        match retry_after {
            Some(seconds) => reply.with("retry-after", seconds.to_string()),
            None => reply,
        }
    }

    fn server_error(&self, _core: &Core) -> Reply {
        Refusal::new(500, "internal", "an internal error occurred").reply()
    }

    fn unreadable_body(&self, _core: &Core) -> Reply {
        Refusal::bad_request("the request body is too large or could not be read").reply()
    }
}
