//! The Salesforce stand-in: an org with `Account` and `Contact`, served under
//! `/services/data/vXX.X` (v31.0 to v62.0) with these endpoints, plus the OAuth token
//! endpoint (`POST /services/oauth2/token`, refresh-token grant):
//!
//! - `GET /query?q=` and `GET /queryAll?q=` (SOQL), their `nextRecordsUrl` cursors, and
//!   `GET /sobjects/{sObject}/{id}`;
//! - `GET /sobjects` and `GET /sobjects/{sObject}/describe`;
//! - sObject Collections: `POST`, `PATCH` and `DELETE /composite/sobjects`, and upsert by
//!   external id, `PATCH /composite/sobjects/{sObject}/{field}`;
//! - Bulk API 2.0 query jobs (v47.0 and later): `POST` and `GET /jobs/query`,
//!   `GET`, `PATCH` (abort) and `DELETE /jobs/query/{id}`, and
//!   `GET /jobs/query/{id}/results` (CSV). See the `jobs` module.
//!
//! Every request but the token endpoint's needs a bearer token and counts against the
//! org's daily API limit.
//!
//! ```no_run
//! let org = wasync_standins::salesforce::start(Default::default()).expect("bind a port");
//! let id = org.insert("Account", &[("Name", "Acme".into())]);
//! assert_eq!(id.len(), 18);
//! // Point a client at org.url() with `Authorization: Bearer <salesforce::DEFAULT_TOKEN>`.
//! ```

mod collections;
mod jobs;
mod query;
mod schema;
mod soql;
mod usage;

use std::collections::{HashMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddr};
use std::ops::Deref;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::Method;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::OAuthClient;
use crate::server::{
    self, Auth, Core, Incoming, RefreshError, Reply, Server, System, Tokens, lock,
};
use schema::{FIRST_RECORD_NUMBER, IS_DELETED, SOBJECTS, Val};

/// The access token [`Options::default`] accepts.
pub const DEFAULT_TOKEN: &str = "00D8d0000001STA!AQ4AQstandin.default.session";

/// The API version of the paths the stand-in answers (`/services/data/v62.0/...`); older
/// versions down to v31.0 are answered the same way.
pub const API_VERSION: &str = "v62.0";

/// How a Salesforce stand-in is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Access tokens (session ids) accepted from the start.
    pub tokens: Vec<String>,
    /// The connected app whose refresh token the token endpoint accepts.
    pub oauth: Option<OAuthClient>,
    /// The org's daily API request limit, counted over a rolling 24 hours as Salesforce
    /// does; past it, requests get 403 `REQUEST_LIMIT_EXCEEDED`.
    pub daily_limit: u64,
    /// The longest request head (URI and headers) served; longer ones get 414. Salesforce
    /// documents 16,384 bytes.
    pub max_head_bytes: usize,
    /// How many status reads of a Bulk API 2.0 query job answer `InProgress` before one
    /// answers `JobComplete` (0: the first one does), so clients are made to poll.
    pub bulk_polls: u32,
}

impl Default for Options {
    /// Accepts [`DEFAULT_TOKEN`], no OAuth, the limit of a Developer Edition org (15,000),
    /// and query jobs that are still `InProgress` at their first status read.
    fn default() -> Options {
        Options {
            tokens: vec![DEFAULT_TOKEN.to_owned()],
            oauth: None,
            daily_limit: 15_000,
            max_head_bytes: 16_384,
            bulk_polls: 1,
        }
    }
}

/// A running Salesforce stand-in; dereferences to its [`Server`].
#[derive(Debug)]
pub struct Salesforce {
    server: Server,
    org: Arc<Org>,
}

impl Deref for Salesforce {
    type Target = Server;

    fn deref(&self) -> &Server {
        &self.server
    }
}

/// Starts a Salesforce stand-in on a free port of 127.0.0.1.
pub fn start(options: Options) -> std::io::Result<Salesforce> {
    start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), options)
}

/// Starts a Salesforce stand-in on `addr`.
pub fn start_on(addr: SocketAddr, options: Options) -> std::io::Result<Salesforce> {
    let listener = Server::bind(addr)?;
    let url = format!("http://{}", listener.local_addr()?);
    let core = Arc::new(Core::new(Tokens::new(&options.tokens, options.oauth)));
    let org = Arc::new(Org {
        url,
        daily_limit: options.daily_limit,
        max_head_bytes: options.max_head_bytes,
        bulk_polls: options.bulk_polls,
        passed_ms: AtomicI64::new(0),
        state: Mutex::new(OrgState::default()),
    });
    let server = Server::serve(listener, Arc::clone(&core), Arc::clone(&org))?;
    Ok(Salesforce { server, org })
}

impl Salesforce {
    /// The org's `instance_url` (the same as [`Server::url`]).
    pub fn instance_url(&self) -> String {
        self.server.url()
    }

    /// Creates a record as the API would, and returns its id.
    ///
    /// # Panics
    ///
    /// When the API would refuse the record (unknown sObject or field, missing `Name`...).
    pub fn insert(&self, sobject: &str, fields: &[(&str, Value)]) -> String {
        self.write_one(collections::Mode::Create, sobject, None, fields)
    }

    /// Updates fields of a record as the API would.
    ///
    /// # Panics
    ///
    /// When the API would refuse it (unknown or deleted record, unknown field...).
    pub fn update(&self, sobject: &str, id: &str, fields: &[(&str, Value)]) {
        self.write_one(collections::Mode::Update, sobject, Some(id), fields);
    }

    /// Deletes a record (it stays visible to `queryAll` with `IsDeleted = true`).
    ///
    /// # Panics
    ///
    /// When the record does not exist or is already deleted.
    pub fn delete(&self, sobject: &str, id: &str) {
        assert!(
            schema::sobject(sobject).is_some(),
            "no sObject {sobject} in the stand-in"
        );
        let mut state = lock(&self.org.state);
        let now = self.server_now();
        if let Err(error) = collections::delete_one(&mut state, id, now) {
            panic!("cannot delete {sobject} {id}: {}", error.message);
        }
    }

    /// Every record of an sObject, deleted ones included, with all fields.
    ///
    /// # Panics
    ///
    /// When the sObject is not one of the stand-in's.
    pub fn records(&self, sobject: &str) -> Vec<Map<String, Value>> {
        let index = schema::sobject(sobject)
            .unwrap_or_else(|| panic!("no sObject {sobject} in the stand-in"));
        let schema = &SOBJECTS[index];
        let state = lock(&self.org.state);
        state.tables[index]
            .records
            .iter()
            .map(|record| {
                schema
                    .fields
                    .iter()
                    .zip(record)
                    .map(|(f, v)| (f.name.to_owned(), v.to_json()))
                    .collect()
            })
            .collect()
    }

    /// API requests counted against the daily limit: those of the last 24 hours.
    pub fn calls(&self) -> u64 {
        let now = self.org.now_ms();
        lock(&self.org.state).usage.count(now)
    }

    /// Bulk API 2.0 query jobs created so far (deleted and forgotten ones included).
    pub fn query_jobs(&self) -> usize {
        lock(&self.org.state).jobs.created()
    }

    /// Moves the org's limit window on by `elapsed`, as if that much time had passed since
    /// the requests made so far (Salesforce counts requests over a rolling 24 hours).
    pub fn pass_time(&self, elapsed: Duration) {
        let ms = i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX);
        self.org.passed_ms.fetch_add(ms, Ordering::SeqCst);
    }

    fn server_now(&self) -> i64 {
        self.core().clock.now_ms()
    }

    fn core(&self) -> &Core {
        self.server.core()
    }

    fn write_one(
        &self,
        mode: collections::Mode,
        sobject: &str,
        id: Option<&str>,
        fields: &[(&str, Value)],
    ) -> String {
        let mut record: Map<String, Value> = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        record.insert("attributes".into(), json!({ "type": sobject }));
        if let Some(id) = id {
            record.insert("Id".into(), Value::String(id.to_owned()));
        }
        let mut state = lock(&self.org.state);
        let now = self.server_now();
        match collections::write_one(&mut state, mode, &Value::Object(record), now) {
            Ok(id) => id,
            Err(message) => panic!("the stand-in refuses this {sobject}: {message}"),
        }
    }
}

/// The org: its data and counters.
#[derive(Debug)]
pub(crate) struct Org {
    url: String,
    daily_limit: u64,
    max_head_bytes: usize,
    bulk_polls: u32,
    /// Time passed by [`Salesforce::pass_time`], added to the clock of the limit window.
    passed_ms: AtomicI64,
    state: Mutex<OrgState>,
}

/// One sObject's records, in creation order (which is id order).
#[derive(Debug, Clone)]
struct Table {
    records: Vec<Vec<Val>>,
    /// 15-character id → index in `records`.
    by_id: HashMap<String, usize>,
    /// For each unique field: its live (not deleted) values → index in `records`.
    unique: Vec<(usize, HashMap<String, usize>)>,
    next_number: u64,
}

impl Table {
    fn new(sobject: usize) -> Table {
        let unique = SOBJECTS[sobject]
            .fields
            .iter()
            .enumerate()
            .filter(|(_, f)| f.unique)
            .map(|(i, _)| (i, HashMap::new()))
            .collect();
        Table {
            records: Vec::new(),
            by_id: HashMap::new(),
            unique,
            next_number: FIRST_RECORD_NUMBER,
        }
    }

    fn find(&self, id: &str) -> Option<usize> {
        self.by_id.get(&schema::id_key(id)).copied()
    }

    /// The live record holding `value` in the unique field `field`.
    fn holder(&self, field: usize, value: &str) -> Option<usize> {
        self.unique
            .iter()
            .find(|(f, _)| *f == field)
            .and_then(|(_, index)| index.get(value).copied())
    }

    fn is_deleted(&self, index: usize) -> bool {
        self.records[index][IS_DELETED] == Val::Bool(true)
    }

    fn unindex(&mut self, index: usize) {
        let record = &self.records[index];
        for (field, values) in &mut self.unique {
            if let Val::Text(value) = &record[*field]
                && values.get(value) == Some(&index)
            {
                values.remove(value);
            }
        }
    }

    fn reindex(&mut self, index: usize) {
        if self.is_deleted(index) {
            return;
        }
        let record = &self.records[index];
        for (field, values) in &mut self.unique {
            if let Val::Text(value) = &record[*field] {
                values.insert(value.clone(), index);
            }
        }
    }
}

#[derive(Debug)]
struct OrgState {
    tables: Vec<Table>,
    cursors: VecDeque<query::Cursor>,
    next_cursor: u64,
    jobs: jobs::Jobs,
    usage: usage::Usage,
}

impl Default for OrgState {
    fn default() -> OrgState {
        OrgState {
            tables: (0..SOBJECTS.len()).map(Table::new).collect(),
            cursors: VecDeque::new(),
            next_cursor: FIRST_RECORD_NUMBER,
            jobs: jobs::Jobs::default(),
            usage: usage::Usage::default(),
        }
    }
}

/// Salesforce's error body: `[{"message": ..., "errorCode": ...}]`.
pub(crate) fn error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(status, &json!([{ "message": message, "errorCode": code }]))
}

fn not_found() -> Reply {
    error(404, "NOT_FOUND", "The requested resource does not exist")
}

fn method_not_allowed(method: &Method, allowed: &str) -> Reply {
    error(
        405,
        "METHOD_NOT_ALLOWED",
        &format!("HTTP Method '{method}' not allowed. Allowed are {allowed}"),
    )
}

/// Whether a path segment is an API version this stand-in answers (`v31.0`..`v62.0`).
fn known_version(segment: &str) -> bool {
    let Some(number) = segment.strip_prefix('v') else {
        return false;
    };
    let Some((major, minor)) = number.split_once('.') else {
        return false;
    };
    minor == "0" && major.parse::<u32>().is_ok_and(|m| (31..=62).contains(&m))
}

#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: String,
    signature: String,
    scope: &'a str,
    instance_url: &'a str,
    id: String,
    token_type: &'a str,
    issued_at: String,
    /// The new refresh token, when the connected app rotates them.
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

impl Org {
    fn limit_info(&self) -> String {
        let calls = lock(&self.state).usage.total();
        format!("api-usage={calls}/{}", self.daily_limit)
    }

    /// Now, for the limit window: the real time plus any passed by a test.
    fn now_ms(&self) -> i64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        real.saturating_add(self.passed_ms.load(Ordering::SeqCst))
    }

    fn token(&self, core: &Core, req: &Incoming) -> Reply {
        let access_token = format!(
            "00D8d0000001STA!AR{:016x}{:016x}",
            core.random(),
            core.random()
        );
        let next = format!("5Aep861rotated{:016x}", core.random());
        match core
            .tokens
            .refresh(&server::form(&req.body), access_token.clone(), next)
        {
            Ok(refreshed) => Reply::json(
                200,
                &TokenResponse {
                    access_token,
                    signature: format!("{:016x}{:016x}", core.random(), core.random()),
                    scope: "api refresh_token",
                    instance_url: &self.url,
                    id: format!("{}/id/00D8d0000001STAEAY/0058d000001STANAA2", self.url),
                    token_type: "Bearer",
                    issued_at: core.clock.now_ms().to_string(),
                    refresh_token: refreshed.rotated.then_some(refreshed.refresh_token),
                },
            ),
            Err(RefreshError::GrantType) => Reply::json(
                400,
                &json!({"error": "unsupported_grant_type", "error_description": "grant type not supported"}),
            ),
            Err(_) => Reply::json(
                400,
                &json!({"error": "invalid_grant", "error_description": "expired access/refresh token"}),
            ),
        }
    }

    fn api(&self, core: &Core, req: &Incoming) -> Reply {
        if core.tokens.check(req) != Auth::Valid {
            return error(401, "INVALID_SESSION_ID", "Session expired or invalid")
                .with("www-authenticate", "Token");
        }
        let now = self.now_ms();
        let mut state = lock(&self.state);
        if state.usage.count(now) >= self.daily_limit {
            return error(
                403,
                "REQUEST_LIMIT_EXCEEDED",
                "TotalRequests Limit exceeded.",
            );
        }
        state.usage.add(now);
        match req.parts().as_slice() {
            ["services", "data"] if req.method == Method::GET => Reply::json(
                200,
                &json!([{
                    "label": "Winter '25",
                    "url": format!("/services/data/{API_VERSION}"),
                    "version": "62.0",
                }]),
            ),
            ["services", "data"] => method_not_allowed(&req.method, "GET,HEAD"),
            ["services", "data", version, rest @ ..] if known_version(version) => {
                self.versioned(core, &mut state, req, version, rest)
            }
            _ => not_found(),
        }
    }

    fn versioned(
        &self,
        core: &Core,
        state: &mut OrgState,
        req: &Incoming,
        version: &str,
        rest: &[&str],
    ) -> Reply {
        let method = &req.method;
        let is_get = method == Method::GET;
        match rest {
            [] if is_get => Reply::json(
                200,
                &json!({
                    "sobjects": format!("/services/data/{version}/sobjects"),
                    "query": format!("/services/data/{version}/query"),
                    "queryAll": format!("/services/data/{version}/queryAll"),
                    "composite": format!("/services/data/{version}/composite"),
                }),
            ),
            ["sobjects"] if is_get => Reply::json(
                200,
                &json!({
                    "encoding": "UTF-8",
                    "maxBatchSize": 200,
                    "sobjects": SOBJECTS.iter().map(|s| s.summary(version)).collect::<Vec<_>>(),
                }),
            ),
            ["sobjects", name, "describe"] if is_get => match schema::sobject(name) {
                Some(index) => Reply::json(200, &SOBJECTS[index].describe(version)),
                None => not_found(),
            },
            ["sobjects", name, id] if is_get => query::get_record(state, req, version, name, id),
            ["query" | "queryAll"] if is_get => {
                query::run(state, req, version, rest[0] == "queryAll")
            }
            ["query" | "queryAll", locator] if is_get => query::more(state, version, locator),
            ["composite", "sobjects"] if *method == Method::POST => {
                collections::save(state, req, collections::Mode::Create, core.clock.now_ms())
            }
            ["composite", "sobjects"] if *method == Method::PATCH => {
                collections::save(state, req, collections::Mode::Update, core.clock.now_ms())
            }
            ["composite", "sobjects"] if *method == Method::DELETE => {
                collections::delete(state, req, core.clock.now_ms())
            }
            ["composite", "sobjects", name, field] if *method == Method::PATCH => {
                collections::upsert(state, req, name, field, core.clock.now_ms())
            }
            ["jobs", "query", ..] if !jobs::available(version) => not_found(),
            ["jobs", "query"] if *method == Method::POST => {
                jobs::create(state, req, version, core.clock.now_ms(), self.bulk_polls)
            }
            ["jobs", "query"] if is_get => jobs::list(state),
            ["jobs", "query", id] if is_get => jobs::status(state, id, core.clock.now_ms()),
            ["jobs", "query", id] if *method == Method::PATCH => {
                jobs::abort(state, req, id, core.clock.now_ms())
            }
            ["jobs", "query", id] if *method == Method::DELETE => jobs::delete(state, id),
            ["jobs", "query", id, "results"] if is_get => jobs::results(state, req, version, id),
            [] | ["sobjects"] | ["sobjects", _, "describe"] | ["sobjects", _, _] => {
                method_not_allowed(method, "GET,HEAD")
            }
            ["query" | "queryAll"] | ["query" | "queryAll", _] => {
                method_not_allowed(method, "GET,HEAD")
            }
            ["composite", "sobjects"] => method_not_allowed(method, "DELETE,PATCH,POST"),
            ["composite", "sobjects", _, _] => method_not_allowed(method, "PATCH"),
            ["jobs", "query"] => method_not_allowed(method, "GET,HEAD,POST"),
            ["jobs", "query", _] => method_not_allowed(method, "DELETE,GET,HEAD,PATCH"),
            ["jobs", "query", _, "results"] => method_not_allowed(method, "GET,HEAD"),
            _ => not_found(),
        }
    }
}

impl System for Org {
    fn is_token_request(&self, req: &Incoming) -> bool {
        req.parts() == ["services", "oauth2", "token"]
    }

    fn is_read(&self, req: &Incoming) -> bool {
        req.method == Method::GET
    }

    fn handle(&self, core: &Core, req: &Incoming) -> Reply {
        if req.head_len > self.max_head_bytes {
            // Refused in front of the API: no JSON, no limit counted.
            return Reply {
                status: 414,
                headers: vec![("content-type", "text/html".into())],
                body: b"<html><body><h1>414 Request-URI Too Large</h1></body></html>".to_vec(),
            };
        }
        let reply = if self.is_token_request(req) {
            if req.method == Method::POST {
                self.token(core, req)
            } else {
                method_not_allowed(&req.method, "POST")
            }
        } else {
            self.api(core, req)
        };
        reply.with("sforce-limit-info", self.limit_info())
    }

    /// Salesforce has no 429: a request over the org's concurrent-request limit gets 403
    /// `REQUEST_LIMIT_EXCEEDED`, as one over the daily limit does, and no `Retry-After`.
    fn rate_limited(&self, _core: &Core, _retry_after: Option<u64>) -> Reply {
        error(
            403,
            "REQUEST_LIMIT_EXCEEDED",
            "ConcurrentPerOrgLongTxn Limit exceeded.",
        )
        .with("sforce-limit-info", self.limit_info())
    }

    fn server_error(&self, core: &Core) -> Reply {
        let error_id = core.random();
        error(
            500,
            "UNKNOWN_EXCEPTION",
            &format!(
                "An unexpected error occurred. Please include this ErrorId if you contact support: {}-{} ({})",
                error_id % 10_000_000_000,
                (error_id >> 40) % 100_000,
                -((error_id >> 20) as i64 % 1_000_000_000)
            ),
        )
        .with("sforce-limit-info", self.limit_info())
    }

    fn unreadable_body(&self, _core: &Core) -> Reply {
        error(
            413,
            "JSON_PARSER_ERROR",
            "The request body is too large or could not be read",
        )
        .with("sforce-limit-info", self.limit_info())
    }
}
