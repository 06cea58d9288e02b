//! The connector's configuration, as documented in the crate docs, and its checks.

use serde::Deserialize;
use serde_json::Value as Json;
use std::collections::BTreeMap;
use wasync_sdk::{Error, ValueKind};

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Where the API is: scheme, host and an optional path prefix, without a trailing slash
    /// once validated.
    pub base_url: String,
    /// Headers sent with every request (an API version, `Accept`); never credentials, which
    /// the host adds.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The entities, by the name pipelines use.
    pub entities: BTreeMap<String, EntitySettings>,
}

/// How one entity is listed, read and written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntitySettings {
    /// The list endpoint, relative to `base_url` (`/tickets`), or an absolute URL.
    pub path: String,
    /// `GET` (parameters in the query) or `POST` (parameters in a JSON body).
    #[serde(default)]
    pub method: ListMethod,
    /// Query parameters sent with every list request.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// The JSON body a `POST` list request starts from.
    #[serde(default)]
    pub body: Option<Json>,
    /// Where the records are in a response: a dotted path, or empty for the body itself.
    #[serde(default)]
    pub records: String,
    /// The field holding a record's id.
    #[serde(default = "default_id_field")]
    pub id_field: String,
    /// The field by which the API orders changes.
    pub watermark_field: String,
    /// How the watermark field is written.
    #[serde(default)]
    pub watermark_kind: WatermarkKind,
    /// A field that is `true` on deleted records.
    #[serde(default)]
    pub deleted_field: Option<String>,
    /// Object (upserted) or event (appended).
    #[serde(default)]
    pub kind: EntityKind,
    /// How to ask for the changes since a watermark; without it, every read lists all.
    #[serde(default)]
    pub since: Option<Since>,
    /// The order the list comes in.
    #[serde(default)]
    pub order: Order,
    /// How the list is paged.
    #[serde(default)]
    pub paging: Paging,
    /// The fields to read and their kinds (dotted paths reach into objects); without it,
    /// every top-level key, kinds by JSON type.
    #[serde(default)]
    pub fields: Option<BTreeMap<String, FieldKind>>,
    /// How changes are written; without it the entity is read-only.
    #[serde(default)]
    pub write: Option<Writes>,
}

fn default_id_field() -> String {
    "id".into()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ListMethod {
    #[default]
    Get,
    Post,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntityKind {
    #[default]
    Object,
    Event,
}

/// How the watermark field's values are written by the API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WatermarkKind {
    /// RFC 3339 text.
    #[default]
    Timestamp,
    /// Seconds since the epoch, a number.
    Unix,
    /// Milliseconds since the epoch, a number.
    UnixMillis,
    /// A number that grows with every change (a sequence, a version).
    Integer,
    /// Text compared byte by byte.
    Text,
}

/// How a watermark goes into a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SinceFormat {
    /// `2024-03-01T12:00:00Z`.
    Rfc3339,
    /// `2024-03-01T12:00:00.123Z`.
    Rfc3339Millis,
    /// `2024-03-01T12:00:00.123456Z`.
    Rfc3339Micros,
    /// Seconds since the epoch.
    Unix,
    /// Milliseconds since the epoch.
    UnixMillis,
    /// As the API wrote it (integers in decimal, text as it is).
    Raw,
}

/// The parameter that asks for changes since a watermark.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Since {
    /// The query parameter (`GET`) or the dotted path in the body (`POST`).
    pub param: String,
    /// How the watermark is written; by default as the API writes it, in whole seconds for
    /// RFC 3339 (rounded down, so nothing at the watermark is missed).
    #[serde(default)]
    pub format: Option<SinceFormat>,
}

/// The order a list comes in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// No order the connector can use: each read lists everything since the watermark.
    #[default]
    None,
    /// Ascending by watermark (ties in any order): a read stops once it has its limit.
    Ascending,
}

/// How a list is paged.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Paging {
    /// One request is the whole list.
    #[default]
    None,
    /// The response carries a token to send back for the next page.
    Cursor {
        /// The parameter the token goes back in.
        param: String,
        /// The dotted path of the token in the response.
        path: String,
        #[serde(default)]
        size_param: Option<String>,
        #[serde(default = "default_size")]
        size: u32,
    },
    /// The response carries the next page's URL.
    NextUrl {
        /// The dotted path of the URL in the response.
        path: String,
        #[serde(default)]
        size_param: Option<String>,
        #[serde(default = "default_size")]
        size: u32,
    },
    /// The `Link` header's `rel="next"` (RFC 8288, as GitHub sends it).
    Link {
        #[serde(default)]
        size_param: Option<String>,
        #[serde(default = "default_size")]
        size: u32,
    },
    /// An offset into the list, moved by the records each page brought.
    Offset {
        /// The offset parameter.
        param: String,
        /// The dotted path of the total number of records in the response.
        #[serde(default)]
        total: Option<String>,
        #[serde(default)]
        size_param: Option<String>,
        #[serde(default = "default_size")]
        size: u32,
    },
    /// A page number.
    Page {
        /// The page number parameter.
        param: String,
        /// The first page's number.
        #[serde(default = "one")]
        start: u64,
        /// The dotted path of the number of pages in the response.
        #[serde(default)]
        total_pages: Option<String>,
        #[serde(default)]
        size_param: Option<String>,
        #[serde(default = "default_size")]
        size: u32,
    },
}

fn one() -> u64 {
    1
}

fn default_size() -> u32 {
    100
}

impl Paging {
    /// The page size parameter and the size asked for, when the connector asks for one.
    /// `size_param` sets the size; without it the API's own size is used.
    pub fn size(&self) -> Option<(&str, u32)> {
        let (param, size) = match self {
            Paging::None => return None,
            Paging::Cursor {
                size_param, size, ..
            }
            | Paging::NextUrl {
                size_param, size, ..
            }
            | Paging::Link { size_param, size }
            | Paging::Offset {
                size_param, size, ..
            }
            | Paging::Page {
                size_param, size, ..
            } => (size_param, *size),
        };
        Some((param.as_deref()?, size))
    }
}

/// A field's kind, as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FieldKind {
    Text,
    Integer,
    Float,
    Boolean,
    /// RFC 3339 text.
    Timestamp,
    Json,
}

impl FieldKind {
    pub fn value_kind(self) -> ValueKind {
        match self {
            FieldKind::Text => ValueKind::Text,
            FieldKind::Integer => ValueKind::Integer,
            FieldKind::Float => ValueKind::Float,
            FieldKind::Boolean => ValueKind::Boolean,
            FieldKind::Timestamp => ValueKind::Timestamp,
            FieldKind::Json => ValueKind::Json,
        }
    }
}

/// How changes of one entity are written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Writes {
    #[serde(default)]
    pub create: Option<Call>,
    #[serde(default)]
    pub update: Option<Call>,
    #[serde(default)]
    pub delete: Option<Call>,
}

/// One kind of write call.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Call {
    /// `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: String,
    /// The path (or absolute URL), where `{id}` is the external id and `{NAME}` the value of
    /// the change's field `NAME`, each percent-encoded.
    pub path: String,
    /// The dotted path the fields object is put under in the body (`properties`, `data`);
    /// without it the body is the fields object.
    #[serde(default)]
    pub wrap: Option<String>,
    /// Where a create's new id is in the response (a dotted path); the entity's `id_field`
    /// by default.
    #[serde(default)]
    pub id: Option<String>,
}

/// Methods a write may use.
const WRITE_METHODS: [&str; 4] = ["POST", "PUT", "PATCH", "DELETE"];

pub fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidConfig(message.into())
}

impl Settings {
    /// Checks what serde cannot; drops a trailing slash from `base_url`.
    pub fn validated(mut self) -> Result<Self, Error> {
        let base = self.base_url.trim().trim_end_matches('/').to_owned();
        if !is_http_url(&base) {
            return Err(invalid(format!(
                "`base_url` `{}` is not an http(s) URL",
                self.base_url
            )));
        }
        self.base_url = base;
        for name in self.headers.keys() {
            if name.eq_ignore_ascii_case("authorization") || name.eq_ignore_ascii_case("cookie") {
                return Err(invalid(format!(
                    "`headers.{name}`: credentials belong in the connector's `http.auth`, where \
                     the host keeps them out of the plugin and out of logs"
                )));
            }
        }
        if self.entities.is_empty() {
            return Err(invalid("`entities` is empty: configure at least one"));
        }
        for (name, entity) in &self.entities {
            entity
                .validate()
                .map_err(|e| invalid(format!("`entities.{name}`: {e}")))?;
        }
        Ok(self)
    }
}

impl EntitySettings {
    fn validate(&self) -> Result<(), String> {
        if !(self.path.starts_with('/') || is_http_url(&self.path)) {
            return Err(format!(
                "`path` `{}` must start with `/` or be an http(s) URL",
                self.path
            ));
        }
        for (key, value) in [
            ("id_field", &self.id_field),
            ("watermark_field", &self.watermark_field),
        ] {
            if value.trim().is_empty() {
                return Err(format!("`{key}` is empty"));
            }
        }
        match (&self.method, &self.body) {
            (ListMethod::Get, Some(_)) => return Err("`body` needs `method = \"POST\"`".into()),
            (_, Some(body)) if !body.is_object() => return Err("`body` must be an object".into()),
            _ => {}
        }
        if let Some(kind) = self.fields.as_ref().and_then(|f| f.get(&self.id_field))
            && !matches!(kind, FieldKind::Text | FieldKind::Integer)
        {
            return Err(format!(
                "`fields.{}`: an id is text or an integer",
                self.id_field
            ));
        }
        if let Some(size) = self.paging.size()
            && size.1 == 0
        {
            return Err("`paging.size` must be at least 1".into());
        }
        if matches!(self.paging, Paging::Page { .. } | Paging::Offset { .. })
            && self.paging.size().is_none()
        {
            return Err(
                "`paging`: offset and page paging need `size_param`, to know a page's size".into(),
            );
        }
        if let Some(writes) = &self.write {
            for (kind, call) in [
                ("create", &writes.create),
                ("update", &writes.update),
                ("delete", &writes.delete),
            ] {
                let Some(call) = call else { continue };
                if !WRITE_METHODS.contains(&call.method.as_str()) {
                    return Err(format!(
                        "`write.{kind}.method` `{}` is not one of {}",
                        call.method,
                        WRITE_METHODS.join(", ")
                    ));
                }
                if !(call.path.starts_with('/') || is_http_url(&call.path)) {
                    return Err(format!(
                        "`write.{kind}.path` `{}` must start with `/` or be an http(s) URL",
                        call.path
                    ));
                }
                crate::write::Template::parse(&call.path)
                    .map_err(|e| format!("`write.{kind}.path`: {e}"))?;
                let needs_id = kind != "create";
                if needs_id && !call.path.contains("{id}") {
                    return Err(format!(
                        "`write.{kind}.path` `{}` must name the record with `{{id}}`",
                        call.path
                    ));
                }
            }
        }
        Ok(())
    }

    /// How a watermark goes into a request: as configured, else as the API writes it.
    pub fn since_format(&self) -> SinceFormat {
        let configured = self.since.as_ref().and_then(|s| s.format);
        configured.unwrap_or(match self.watermark_kind {
            WatermarkKind::Timestamp => SinceFormat::Rfc3339,
            WatermarkKind::Unix => SinceFormat::Unix,
            WatermarkKind::UnixMillis => SinceFormat::UnixMillis,
            WatermarkKind::Integer | WatermarkKind::Text => SinceFormat::Raw,
        })
    }
}

/// Whether `text` is `http://` or `https://` and a host.
pub fn is_http_url(text: &str) -> bool {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
}
