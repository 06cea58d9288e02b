//! A generic paged JSON API: records in collections named by entity, listed in six paging
//! styles over the same data, written with `POST`/`PUT`/`PATCH`/`DELETE`, deleted softly.
//! The "any REST API" connector and the benchmark against dlt's `rest_api` source run
//! against it, so it serves the paging styles real APIs use, not one of its own.
//!
//! A record is a JSON object with `id`, `updated_at` (set by the server on every write,
//! never decreasing, shared by the records of one tick) and any other fields; a deleted
//! one also has `"deleted": true`. Every request needs `Authorization: Bearer <token>`.
//!
//! - `GET /cursor/{entity}?limit&cursor`: `{"data", "meta": {"next_cursor"}}`.
//! - `GET /next/{entity}?page_size&page_token`: `{"count", "next", "results"}`.
//! - `GET /link/{entity}?per_page&page`: a bare array and a `Link` header.
//! - `GET /offset/{entity}?offset&limit`: `{"items", "total"}`.
//! - `GET /page/{entity}?page&per_page`: `{"data", "page", "per_page", "total_pages"}`.
//! - `POST /search/{entity}` `{"filter": {"updated_since"}, "sort", "limit", "after"}`:
//!   `{"records", "next_after"}`.
//! - `POST /v1/{entity}`, `GET`/`PUT`/`PATCH`/`DELETE /v1/{entity}/{id}`.
//!
//! Lists take `updated_since` (inclusive), `sort=updated_at` (ties by descending id, so
//! that a client must order ties itself; without it: by ascending id) and
//! `include_deleted=true`. Page sizes default to 20 and are held to 1..=100.
//!
//! ```no_run
//! use serde_json::json;
//!
//! let api = wasync_standins::rest::start(Default::default()).expect("bind a port");
//! let id = api.insert("tickets", json!({"title": "Printer on fire"}));
//! assert_eq!(api.get("tickets", &id).expect("stored")["title"], "Printer on fire");
//! api.short_pages(1);
//! // GET {api.url()}/cursor/tickets?limit=100 with `Authorization: Bearer rest-standin-token`
//! // now answers a page that ends early, once.
//! ```

mod list;
mod query;
mod service;
mod store;
mod write;

#[cfg(test)]
mod tests;

use std::net::{Ipv4Addr, SocketAddr};
use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Map, Value};

use crate::server::{Core, Server, Tokens, lock};
use service::{Refusal, Service};
use store::Data;

/// The token [`Options::default`] accepts.
pub const DEFAULT_TOKEN: &str = "rest-standin-token";

/// How a REST stand-in is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Bearer tokens accepted.
    pub tokens: Vec<String>,
}

impl Default for Options {
    /// Accepts [`DEFAULT_TOKEN`].
    fn default() -> Options {
        Options {
            tokens: vec![DEFAULT_TOKEN.to_owned()],
        }
    }
}

/// A running REST stand-in; dereferences to its [`Server`] (URL, request log, faults).
#[derive(Debug)]
pub struct RestApi {
    server: Server,
    service: Arc<Service>,
}

impl Deref for RestApi {
    type Target = Server;

    fn deref(&self) -> &Server {
        &self.server
    }
}

/// Starts a REST stand-in on a free port of 127.0.0.1.
pub fn start(options: Options) -> std::io::Result<RestApi> {
    start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), options)
}

/// Starts a REST stand-in on `addr`.
pub fn start_on(addr: SocketAddr, options: Options) -> std::io::Result<RestApi> {
    let listener = Server::bind(addr)?;
    let service = Arc::new(Service {
        url: format!("http://{}", listener.local_addr()?),
        data: Mutex::new(Data::default()),
    });
    let core = Arc::new(Core::new(Tokens::new(&options.tokens, None)));
    let server = Server::serve(listener, core, Arc::clone(&service))?;
    Ok(RestApi { server, service })
}

/// A record's fields as the data helpers take them: a JSON object (a [`Map`], or a
/// [`Value`] that is an object) or `(name, value)` pairs.
pub trait IntoFields {
    /// The fields as a JSON object.
    ///
    /// # Panics
    ///
    /// When a [`Value`] is not an object.
    fn into_fields(self) -> Map<String, Value>;
}

impl IntoFields for Map<String, Value> {
    fn into_fields(self) -> Map<String, Value> {
        self
    }
}

impl IntoFields for &Map<String, Value> {
    fn into_fields(self) -> Map<String, Value> {
        self.clone()
    }
}

impl IntoFields for Value {
    fn into_fields(self) -> Map<String, Value> {
        match self {
            Value::Object(fields) => fields,
            other => panic!("a record's fields are a JSON object, not {other}"),
        }
    }
}

impl IntoFields for &[(&str, Value)] {
    fn into_fields(self) -> Map<String, Value> {
        self.iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .collect()
    }
}

impl<const N: usize> IntoFields for &[(&str, Value); N] {
    fn into_fields(self) -> Map<String, Value> {
        self.as_slice().into_fields()
    }
}

impl<const N: usize> IntoFields for [(&str, Value); N] {
    fn into_fields(self) -> Map<String, Value> {
        self.as_slice().into_fields()
    }
}

/// Fields a data helper was given, checked as the API checks them.
fn checked(fields: impl IntoFields) -> Map<String, Value> {
    let fields = fields.into_fields();
    if let Err(refusal) = store::validate(&fields) {
        panic!("the stand-in refuses these fields: {refusal}");
    }
    fields
}

/// The data helpers: they change and read the data as the API does (same checks, same
/// clock) but are neither logged nor counted as writes.
impl RestApi {
    fn data(&self) -> MutexGuard<'_, Data> {
        lock(&self.service.data)
    }

    /// The clock's time; read while holding the data, so that times follow writes.
    fn now(&self) -> i64 {
        self.server.core().clock.now_ms()
    }

    /// Creates a record as `POST /v1/{entity}` would; returns its new id.
    ///
    /// # Panics
    ///
    /// When the API would refuse the fields (`id`, `updated_at`, an `email` without `@`).
    pub fn insert(&self, entity: &str, fields: impl IntoFields) -> String {
        let mut ids = self.insert_many(entity, [fields]);
        ids.pop().expect("one record, one id")
    }

    /// Creates records in one tick of the clock, so that they share one `updated_at` (runs
    /// of equal watermarks, which paging clients must get right); returns their ids.
    ///
    /// # Panics
    ///
    /// As [`RestApi::insert`], before creating any.
    pub fn insert_many<F: IntoFields>(
        &self,
        entity: &str,
        rows: impl IntoIterator<Item = F>,
    ) -> Vec<String> {
        let rows: Vec<Map<String, Value>> = rows.into_iter().map(checked).collect();
        let mut data = self.data();
        let now = self.now();
        let collection = data.collection_mut(entity);
        rows.into_iter()
            .map(|fields| collection.create(fields, now).id.clone())
            .collect()
    }

    /// Creates or updates the record `id` as `PUT /v1/{entity}/{id}` would (given fields
    /// set, others kept, undeleted); returns whether it was created.
    ///
    /// # Panics
    ///
    /// As [`RestApi::insert`].
    pub fn put(&self, entity: &str, id: &str, fields: impl IntoFields) -> bool {
        let fields = checked(fields);
        let mut data = self.data();
        let now = self.now();
        data.collection_mut(entity).put(id, fields, now).0
    }

    /// Sets fields of a live record as `PATCH /v1/{entity}/{id}` would; returns `false`,
    /// changing nothing, when it is missing or deleted.
    ///
    /// # Panics
    ///
    /// As [`RestApi::insert`].
    pub fn update(&self, entity: &str, id: &str, fields: impl IntoFields) -> bool {
        let fields = checked(fields);
        let mut data = self.data();
        let now = self.now();
        data.existing_mut(entity)
            .and_then(|c| c.patch(id, fields, now))
            .is_some()
    }

    /// Deletes a live record softly as `DELETE /v1/{entity}/{id}` would; returns `false`
    /// when it is missing or already deleted.
    pub fn delete(&self, entity: &str, id: &str) -> bool {
        let mut data = self.data();
        let now = self.now();
        data.existing_mut(entity).is_some_and(|c| c.delete(id, now))
    }

    /// A record as the API shows it, deleted ones included.
    pub fn get(&self, entity: &str, id: &str) -> Option<Value> {
        let data = self.data();
        data.collection(entity)?.get(id).map(store::Record::render)
    }

    /// Every record of a collection, deleted ones included, by ascending id.
    pub fn records(&self, entity: &str) -> Vec<Value> {
        let data = self.data();
        data.collection(entity)
            .map(|c| c.records().map(store::Record::render).collect())
            .unwrap_or_default()
    }

    /// The next `times` list answers (any style) carry only the first half of their
    /// records (rounded up): a page that ends early. The cursor, next-URL and search styles
    /// go on after the records sent, as an API that filters its pages does, so nothing is
    /// lost; offsets, page numbers and `Link` pages still count the whole page, so there the
    /// rest of the page is skipped unless the client moves its offset by what came.
    pub fn short_pages(&self, times: u32) {
        let mut data = self.data();
        data.faults.short_pages = data.faults.short_pages.saturating_add(times);
    }

    /// The next `times` answers that would carry a next-page token (cursor, next URL,
    /// `Link` next, `next_after`) carry the token the request used instead: a cursor that
    /// repeats. Offset and page-number lists are not affected.
    pub fn repeat_cursor(&self, times: u32) {
        let mut data = self.data();
        data.faults.repeat_cursor = data.faults.repeat_cursor.saturating_add(times);
    }
}
