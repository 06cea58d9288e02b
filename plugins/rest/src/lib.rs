//! `rest`: a connector for any paged JSON API, configured entirely from the pipeline file.
//!
//! Every request goes through the host's `http.send`, so the connector's `http` settings
//! apply as for any connector: the allowed hosts, the credentials (API key, bearer, OAuth
//! refresh: the connector never sees them), the rate limit, the daily budget, and retries of
//! 429 (after `Retry-After`), 5xx and timeouts.
//!
//! # Configuration
//!
//! ```toml
//! [connectors.tickets.settings]
//! base_url = "https://api.example.com/v2"
//! headers = { "X-Api-Version" = "2024-06" }            # sent with every request, never credentials
//!
//! [connectors.tickets.settings.entities.Ticket]
//! path = "/tickets"                                   # the list endpoint (or an absolute URL)
//! method = "GET"                                      # or "POST": parameters in a JSON `body`
//! query = { sort = "updated_at" }                     # fixed query parameters
//! records = "data"                                    # where the records are ("" = the body)
//! id_field = "id"                                     # default "id"
//! watermark_field = "updated_at"
//! watermark_kind = "timestamp"                        # timestamp | unix | unix-millis | integer | text
//! deleted_field = "archived"                          # optional: true on deleted records
//! since = { param = "updated_since", format = "rfc3339" }
//! order = "ascending"                                 # or "none"
//! paging = { type = "cursor", param = "cursor", path = "meta.next_cursor", size_param = "limit", size = 100 }
//! fields = { subject = "text", priority = "integer", "requester.email" = "text" }
//!
//! [connectors.tickets.settings.entities.Ticket.write]
//! create = { method = "POST", path = "/tickets", wrap = "ticket", id = "ticket.id" }
//! update = { method = "PATCH", path = "/tickets/{id}", wrap = "ticket" }
//! delete = { method = "DELETE", path = "/tickets/{id}" }
//! ```
//!
//! - `base_url` (required): scheme, host and an optional path prefix. `headers`: fixed
//!   headers; `Authorization` and `Cookie` are refused (credentials go in `http.auth`).
//! - Per entity, by the name pipelines use:
//!   - `path` (required): the list endpoint, relative to `base_url` or absolute.
//!   - `method`: `GET` (default) sends every parameter in the query; `POST` sends them in a
//!     JSON body that starts as `body` (an object), each parameter name a dotted path in it
//!     (`filter.updated_since`). `query` is sent either way.
//!   - `records`: the dotted path of the records' array in an answer; empty (the default)
//!     when the answer is the array itself.
//!   - `id_field` (default `id`) and `watermark_field` (required): dotted paths in a record.
//!     An id is text or an integer. `watermark_kind` says how the watermark is written: RFC
//!     3339 text (`timestamp`, the default), seconds or milliseconds since the epoch
//!     (`unix`, `unix-millis`; all three become timestamps), a growing number (`integer`) or
//!     `text`.
//!   - `deleted_field`: a record whose field is `true` is read as a delete. `kind`: `object`
//!     (default) or `event`.
//!   - `since`: how to ask for the changes since a watermark: the parameter (`param`) and how
//!     the watermark is written in it (`format`: `rfc3339`, `rfc3339-millis`,
//!     `rfc3339-micros`, `unix`, `unix-millis` or `raw`; by default as the API writes it,
//!     RFC 3339 in whole seconds). Times are rounded down, and the parameter must include
//!     the records *at* the watermark (`updated_at >= since`): records on both sides of a
//!     page boundary can share it. Without `since`, every read lists everything and keeps
//!     what comes after the cursor.
//!   - `order`: `ascending` when the list (with `query`) comes sorted by the watermark, ties
//!     in any order; `none` (the default) otherwise. See Reading.
//!   - `paging` (default: one request is the whole list), by `type`:
//!     - `cursor`: the answer has a token at `path`; it goes back in `param`;
//!     - `next-url`: the answer has the next page's URL at `path` (absolute, a path on the
//!       API's host, or a `?query` on the list's URL);
//!     - `link`: the `Link` header's `rel="next"`, as GitHub sends it;
//!     - `offset`: `param` is the offset, moved by the number of records each page brought;
//!       `total` is the dotted path of the number of records, when the API says;
//!     - `page`: `param` is the page number from `start` (default 1); `total_pages` the
//!       dotted path of the number of pages, when the API says.
//!
//!     `size_param` and `size` (default 100) ask for a page size; `offset` and `page` need
//!     them, to tell a last page. A token, URL, offset or page number and the page size are
//!     query parameters, or body paths for a `POST` list.
//!   - `fields`: the fields to read, each a dotted path and a kind (`text`, `integer`,
//!     `float`, `boolean`, `timestamp` for RFC 3339 text, `json`). Without it every top-level
//!     key is a field, the id and watermark included, its kind by its JSON type (objects and
//!     arrays as JSON text).
//!   - `write` (optional; without it the entity cannot be written): `create`, `update` and
//!     `delete`, each a `method` (`POST`, `PUT`, `PATCH`, `DELETE`) and a `path` in which
//!     `{id}` is the record's id and `{NAME}` the change's field `NAME`, percent-encoded.
//!     `wrap` puts the fields object under a dotted path of the body; a create's new id is
//!     read from the answer at `id` (a dotted path, by default `id_field`).
//!
//! An unknown key anywhere is an `invalid-config` error that names it.
//!
//! # Describing
//!
//! Each entity lists `fields` with their kinds; without `fields`, `describe` reads the list's
//! first page once (one call per entity, kept for the instance's life) and takes each key's
//! kind from the first record that has a value for it. The id and watermark fields are
//! always listed; a field is read-only when it is the id or the watermark.
//!
//! # Reading
//!
//! A read asks for the changes since its cursor's watermark and walks the pages:
//!
//! - With `order = "ascending"` it stops as soon as it has `limit` records before the last
//!   watermark seen: at most one page more than the records asked for. Records sharing a
//!   watermark are held back until a later one shows that none of them is still to come.
//! - With `order = "none"` it walks the whole list (since the watermark), sorts it by
//!   (watermark, id), and keeps what is beyond `limit` in memory for the read that continues
//!   after the last record it returned: each record is fetched once per pass.
//!
//! Ids sort as numbers when both are integers, integer ids before others, else as text.
//! The list ends where the paging style says: no next token or URL, no `rel="next"`, an empty
//! page, the `total` or `total_pages` reached, or, without those, a page shorter than its
//! size. Faults are handled so that no record is skipped:
//!
//! - 429 and 5xx are retried by the host; what still fails fails the read, and the next
//!   cycle reads again from the same cursor.
//! - A page shorter than its size with more to come is fine for tokens, URLs and offsets
//!   (the offset moves by what came). With page numbers it means records were skipped: an
//!   ascending read ends at the last complete watermark before it and the next read starts
//!   there; an unordered read fails.
//! - A next token or URL that repeats would loop: the read ends or fails the same way.
//! - A read that walks more than 100,000 pages fails.
//!
//! A record that cannot be read (no id, a watermark of the wrong kind, a field of the wrong
//! kind) is not dropped: it comes with `_error` saying what is wrong, for the host to set
//! aside, and sorts at the watermark of the record before it.
//!
//! # Writing
//!
//! One call per change. A create's answer must carry the new id; an update answers with the
//! change's id; a delete of a record the API no longer has (404) succeeds, so a replayed
//! delete is harmless. A create is idempotent only when the API makes it so: a `PUT` to a
//! path named by a key field (`/tickets/{wasync_id}` with the destination's
//! `external_id_field = "wasync_id"`) creates once and then updates. Refusals: 400, 409 and
//! 422 fail the change as `invalid-input` with the API's message; 401 → `unauthorized`,
//! 403 → `access-denied`, 404 → `not-found`, 429 → `rate-limited`, 5xx → `unavailable`.
//! Values are written as JSON: text, numbers, booleans and null as such, JSON text as the
//! JSON it holds, times as RFC 3339 with milliseconds; a dotted field name nests
//! (`address.city`).

mod api;
mod page;
mod read;
mod settings;
mod values;
mod write;

pub use settings::Settings;

use api::{Api, Transport};
use read::Progress;
use serde_json::Value as Json;
use settings::{EntityKind, EntitySettings};
use std::cell::RefCell;
use std::collections::BTreeMap;
use wasync_sdk::{
    Change, Config, Connector, EntityDescription, Error, FieldDescription, Page, ReadRequest,
    ValueKind,
};

/// One configured API.
pub struct Rest {
    settings: Settings,
    api: Api,
    /// Described entities, by name: a sample read once each per instance.
    described: RefCell<BTreeMap<String, EntityDescription>>,
    /// What the last read fetched beyond its answer, for the read that continues it.
    progress: RefCell<Option<Progress>>,
}

impl Rest {
    /// The connector for `settings`, sending through `transport`.
    pub fn with_transport(settings: Settings, transport: Transport) -> Result<Self, Error> {
        let settings = settings.validated()?;
        let headers = settings
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Rest {
            api: Api::new(&settings.base_url, headers, transport),
            settings,
            described: RefCell::new(BTreeMap::new()),
            progress: RefCell::new(None),
        })
    }

    fn entity(&self, name: &str) -> Result<&EntitySettings, Error> {
        self.settings
            .entities
            .get(name)
            .ok_or_else(|| Error::NotFound(format!("no entity `{name}` is configured")))
    }

    /// The description of entity `name`, from its `fields` or a sample of its list.
    fn description(&self, name: &str, e: &EntitySettings) -> Result<EntityDescription, Error> {
        if let Some(described) = self.described.borrow().get(name) {
            return Ok(described.clone());
        }
        let mut kinds: BTreeMap<String, ValueKind> = match &e.fields {
            Some(fields) => fields
                .iter()
                .map(|(name, kind)| (name.clone(), kind.value_kind()))
                .collect(),
            None => sample(self, e)?,
        };
        let watermark = match e.watermark_kind {
            settings::WatermarkKind::Integer => ValueKind::Integer,
            settings::WatermarkKind::Text => ValueKind::Text,
            _ => ValueKind::Timestamp,
        };
        kinds.insert(e.watermark_field.clone(), watermark);
        kinds.entry(e.id_field.clone()).or_insert(ValueKind::Text);
        let described = EntityDescription {
            name: name.to_owned(),
            kind: match e.kind {
                EntityKind::Object => wasync_sdk::EntityKind::Object,
                EntityKind::Event => wasync_sdk::EntityKind::Event,
            },
            id_field: e.id_field.clone(),
            watermark_field: e.watermark_field.clone(),
            fields: kinds
                .into_iter()
                .map(|(field, kind)| FieldDescription {
                    read_only: field == e.id_field || field == e.watermark_field,
                    name: field,
                    kind,
                })
                .collect(),
        };
        self.described
            .borrow_mut()
            .insert(name.to_owned(), described.clone());
        Ok(described)
    }
}

/// The fields of an entity's first page, each key's kind from the first value it has.
fn sample(rest: &Rest, e: &EntitySettings) -> Result<BTreeMap<String, ValueKind>, Error> {
    let (records, _) = page::Walk::new(&rest.api, e, page::Place::start(None)).next()?;
    let mut kinds = BTreeMap::new();
    for record in records.iter().filter_map(Json::as_object) {
        for (key, json) in record {
            let kind = match json {
                Json::Null => continue,
                Json::Bool(_) => ValueKind::Boolean,
                Json::Number(n) if n.is_i64() => ValueKind::Integer,
                Json::Number(_) => ValueKind::Float,
                Json::String(_) => ValueKind::Text,
                Json::Array(_) | Json::Object(_) => ValueKind::Json,
            };
            kinds.entry(key.clone()).or_insert(kind);
        }
    }
    Ok(kinds)
}

impl Connector for Rest {
    fn new(config: &Config) -> Result<Self, Error> {
        Rest::with_transport(config.deserialize()?, wasync_sdk::http::send)
    }

    fn describe(&self) -> Result<Vec<EntityDescription>, Error> {
        self.settings
            .entities
            .iter()
            .map(|(name, e)| self.description(name, e))
            .collect()
    }

    fn read(&self, request: ReadRequest) -> Result<Page, Error> {
        let e = self.entity(&request.entity)?;
        read::read(self, e, &request)
    }

    fn write(&self, entity: &str, changes: Vec<Change>) -> Vec<Result<String, Error>> {
        match self.entity(entity) {
            Ok(e) => write::write(self, e, changes),
            Err(error) => vec![Err(error); changes.len()],
        }
    }
}

#[cfg(target_arch = "wasm32")]
wasync_sdk::export_connector!(Rest);

#[cfg(test)]
mod tests;
