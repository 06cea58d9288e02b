//! `salesforce`: a connector for Salesforce sObjects through the REST API.
//!
//! Reads are incremental keyset queries over (`SystemModstamp`, `Id`) with `queryAll`, so
//! deletes are read too (as records with `IsDeleted = true`); writes go through sObject
//! Collections, 200 records a call. Every request goes through the host's `http.send`: the
//! host allows the org's host, adds the `Authorization` header (the connector never sees a
//! credential), refreshes OAuth tokens, limits the rate and retries 429s, 5xx and timeouts.
//!
//! # Configuration
//!
//! ```json
//! {"instance_url": "https://example.my.salesforce.com",
//!  "api_version": "v62.0",
//!  "entities": {"Account": {"fields": ["Name", "Website", "Wasync_Id__c"],
//!                           "upsert_field": "Wasync_Id__c"},
//!               "Contact": {}}}
//! ```
//!
//! - `instance_url` (string, optional): the org's base URL, `https://` (or `http://`) and a
//!   host, without a path; a trailing `/` is fine. Requests go to
//!   `{instance_url}/services/data/{api_version}/...`. Without it, requests are sent by path
//!   and the host sends them to the `instance_url` of the OAuth token response, where
//!   Salesforce says an org's calls go (this needs `oauth2` credentials, and the
//!   connector's `hosts` must allow that instance: `*.my.salesforce.com`).
//! - `api_version` (string, default `v62.0`): the REST API version.
//! - `max_url_bytes` (integer, default 14000): the longest query URL sent. Salesforce refuses
//!   a request whose URI and headers pass 16,384 bytes (414), which a wide object's every
//!   field reaches; a query that would be longer selects `FIELDS(ALL)` instead (see Reading).
//! - `bulk` (boolean, default true): whether large reads use Bulk API 2.0 query jobs (see
//!   Reading); `false`: REST queries only.
//! - `bulk_above` (integer, default 10000): a read that finds more records left than this
//!   reads them through query jobs.
//! - `bulk_records` (integer, default 50000): records per query job. They are held in the
//!   plugin's memory until read, as CSV: about their size in Salesforce's CSV.
//! - `entities` (object, required, not empty): the sObjects to sync, by API name
//!   (`Account`, `Invoice__c`). Only these are described, read or written.
//!   - `fields` (list of field API names, optional): the fields to read. Without it, every
//!     field describe lists. `Id`, `SystemModstamp` and `IsDeleted` are always read.
//!   - `upsert_field` (string, optional): an external id field (`externalId` in describe).
//!     A create that carries a value for it is an upsert by it, so a create that is replayed
//!     updates the record it made the first time.
//!
//! An unknown key anywhere is an `invalid-config` error that names it. Names must be API
//! names (a letter, then letters, digits and `_`). A `fields` entry or `upsert_field` that
//! describe does not know (names ignore case), or an `upsert_field` that is not an external
//! id, is an `invalid-config` error at the entity's first describe, read or write.
//!
//! # Describe
//!
//! One `GET /sobjects/{sObject}/describe` per configured entity, the first time the entity
//! is needed; the result is kept for the life of the instance. Each entity is an `object`
//! with id field `Id` and watermark field `SystemModstamp`, and lists the fields reads
//! return, read-only when describe says they are neither createable nor updateable. Kinds:
//! `boolean` → boolean, `int` → integer, `double`/`currency`/`percent` → float, `datetime` →
//! timestamp, `address`/`location` → JSON, everything else (`id`, `string`, `picklist`,
//! `reference`, `date`, ...) → text.
//!
//! # Reading
//!
//! Each `read` is one `GET /queryAll?q=<SOQL>` with the header
//! `Sforce-Query-Options: batchSize=<limit, clamped to 200..2000>`:
//!
//! ```text
//! SELECT Id, SystemModstamp, IsDeleted, <fields> FROM Account
//! WHERE (SystemModstamp > W OR (SystemModstamp = W AND Id > 'ID')) AND SystemModstamp <= U
//! ORDER BY SystemModstamp ASC, Id ASC LIMIT <limit>
//! ```
//!
//! without the cursor part when the request has none and without `<= U` when it has no
//! bound. When the URL would pass `max_url_bytes`, the query selects `FIELDS(ALL)`, which
//! Salesforce serves at most 200 rows a query (`LIMIT` at most 200), and the fields not
//! asked for are dropped from the records: a read of a very wide object costs a call per
//! 200 records instead of per 2,000. The cursor's watermark and the bound are timestamps, or RFC 3339 text taken as
//! one; they go into SOQL with milliseconds (Salesforce's precision), so a watermark read
//! from Salesforce is exact, and one with a sub-millisecond part keeps its meaning (see
//! `soql`). The connector follows `nextRecordsUrl` only while the page has fewer than
//! `limit` records; `more` is true when the page has exactly `limit`.
//!
//! ## Large reads: Bulk API 2.0 query jobs
//!
//! A first sync, or a long way behind, is what Salesforce's query jobs are for. Once reads
//! whose pages come back full have read a tenth of `bulk_above` in a row, the connector
//! counts the records left after the last, up to the bound (one `SELECT COUNT()` query), so
//! a small object is never counted. When there are more than `bulk_above`, it starts a job
//! (`POST /jobs/query`, `"operation": "queryAll"`) with the same keyset query, without
//! compound fields (a job refuses them; their components are fields of their own, so
//! records read from a job have no `BillingAddress`, but have `BillingCity`) and with
//! `LIMIT bulk_records`. After a count too small for a job, no count is made again until
//! full pages have read as many records as it found; a page that is not full starts the
//! reckoning over.
//!
//! Each later read asks for the job's state (`GET /jobs/query/{id}`, one call) and, while
//! it runs, reads its REST page as usual. Once the job is `JobComplete`, its CSV results are
//! downloaded (`GET .../results?maxRecords=25000`, following `Sforce-Locator`), checked
//! against `Sforce-NumberOfRecords`, sorted by (`SystemModstamp`, `Id`) and kept; reads take
//! their pages from them, after their cursor, without a call. A job's records are its
//! snapshot: a record changed since has a later `SystemModstamp` and is read again later,
//! as with REST pages. When they are used up, REST reads go on. So a first sync of N records
//! costs about N / 50,000 × (a count, a job, a few polls, 2 results calls) instead of
//! N / 2,000 queries.
//!
//! CSV values are read by describe type as JSON ones are; an empty value is `null`.
//! A job that fails or is refused (`Failed`, `Aborted`, HTTP 400) is logged as a warning
//! and the entity is read with REST alone for the life of the instance; a 5xx, a rate
//! limit or an expired session fails the read as any call does, and the next read asks
//! again. Jobs are not deleted: Salesforce removes them after seven days.
//!
//! Records: the id is `Id`, the watermark `SystemModstamp` as a timestamp, deleted when
//! `IsDeleted` is true; `attributes` is dropped and every selected field is a field, by its
//! describe type: boolean, integer, float (also for whole numbers), timestamp for
//! `datetime` (`2024-03-01T12:00:00.000+0000`), JSON for compound fields, text for the rest,
//! `null` for JSON null.
//!
//! # Writing
//!
//! Changes are grouped by kind into calls of at most 200 records, made in this order:
//!
//! - updates (an `upsert` with an id): `PATCH /composite/sobjects`, each record with `Id`
//!   (an `Id` among the fields is ignored: the change's id wins);
//! - creates whose `upsert_field` value is not null or blank:
//!   `PATCH /composite/sobjects/{sObject}/{upsert_field}`;
//! - other creates: `POST /composite/sobjects`;
//! - deletes: `DELETE /composite/sobjects?ids=...&allOrNone=false`. Deleting a record that
//!   is already deleted (`ENTITY_IS_DELETED`) succeeds, so a replayed delete is harmless.
//!
//! Every call has `"allOrNone": false`, so records fail one by one. The results come back one
//! per change in the original order: the record's id, or `invalid-input` with Salesforce's
//! `statusCode: message` (`unavailable` for `UNABLE_TO_LOCK_ROW`, which Salesforce says to
//! retry). A change is refused before any call, with `invalid-input` naming the fields,
//! when it writes a field describe does not know, a read-only field, or a value that cannot
//! be written; and when its id is not a Salesforce id (15 or 18 letters and digits). When a
//! whole call fails, every change in it gets that call's error.
//!
//! Values are written as JSON: text as strings, integers and floats as numbers, booleans,
//! `null`, JSON text as the JSON it holds, timestamps as `2024-03-01T12:00:00.000Z` (rounded
//! down to the millisecond), or `2024-03-01` for a `date` field.
//!
//! # Errors
//!
//! A refused request becomes the error case that fits, with Salesforce's `errorCode` and
//! message: `REQUEST_LIMIT_EXCEEDED` (the org's daily API requests are spent) →
//! `rate-limited`; HTTP 401 / `INVALID_SESSION_ID` → `unauthorized`; HTTP 404, `NOT_FOUND`,
//! `INVALID_TYPE` → `not-found`; HTTP 5xx → `unavailable`; HTTP 400 → `invalid-input`;
//! anything else → `other`. A success whose body is not valid JSON is `unavailable` (the
//! host does not retry a 200; the next cycle reads again). Messages never include headers,
//! and request bodies are never logged. Webhooks are not supported.

mod bulk;
mod describe;
mod errors;
mod read;
mod settings;
mod soql;
mod values;
mod write;

pub use settings::{EntitySettings, Settings};

use describe::{Describe, SObject};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use wasync_sdk::http::{Request, Response};
use wasync_sdk::{Change, Config, Connector, EntityDescription, Error, Page, ReadRequest};

/// How the connector sends HTTP requests: the host's `http.send`, or a fake in tests.
pub type Transport = fn(Request) -> Result<Response, Error>;

/// One configured connection to an org.
pub struct Salesforce {
    settings: Settings,
    transport: Transport,
    /// Described sObjects, by entity name: one describe each per instance.
    sobjects: RefCell<HashMap<String, Rc<SObject>>>,
    /// Bulk query jobs and their records not read yet, by entity name.
    bulk: RefCell<HashMap<String, bulk::Bulk>>,
}

impl Salesforce {
    /// The connector for `settings`, sending through `transport`.
    pub fn with_transport(settings: Settings, transport: Transport) -> Result<Self, Error> {
        Ok(Salesforce {
            settings: settings.validated()?,
            transport,
            sobjects: RefCell::new(HashMap::new()),
            bulk: RefCell::new(HashMap::new()),
        })
    }

    /// `{instance_url}/services/data/{api_version}`.
    fn base_url(&self) -> String {
        self.settings.base_url()
    }

    /// The described sObject of entity `name`, describing it the first time.
    fn sobject(&self, name: &str) -> Result<Rc<SObject>, Error> {
        let settings = self
            .settings
            .entities
            .get(name)
            .ok_or_else(|| Error::NotFound(format!("no entity `{name}` is configured")))?;
        if let Some(sobject) = self.sobjects.borrow().get(name) {
            return Ok(Rc::clone(sobject));
        }
        let url = format!("{}/sobjects/{name}/describe", self.base_url());
        let response = self.call("GET", url, Vec::new(), None)?;
        let describe: Describe = errors::parse(response, &format!("describe {name}"))?;
        let sobject = Rc::new(SObject::new(name, describe, settings)?);
        self.sobjects
            .borrow_mut()
            .insert(name.to_owned(), Rc::clone(&sobject));
        Ok(sobject)
    }

    /// Sends one request, accepting JSON and, with a body, saying it is JSON.
    fn call(
        &self,
        method: &str,
        url: String,
        mut headers: Vec<(String, String)>,
        body: Option<Vec<u8>>,
    ) -> Result<Response, Error> {
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("Accept"))
        {
            headers.insert(0, ("Accept".into(), "application/json".into()));
        }
        if body.is_some() {
            headers.push(("Content-Type".into(), "application/json".into()));
        }
        (self.transport)(Request {
            method: method.into(),
            url,
            headers,
            body,
        })
    }

    /// The absolute URL of a `nextRecordsUrl` (a path on the instance).
    fn resolve(&self, next: &str, what: &str) -> Result<String, Error> {
        if next.starts_with('/') {
            Ok(format!("{}{next}", self.settings.instance_url))
        } else {
            Err(Error::Other(format!(
                "Salesforce answered {what} with a nextRecordsUrl that is not a path: `{next}`"
            )))
        }
    }
}

impl Connector for Salesforce {
    fn new(config: &Config) -> Result<Self, Error> {
        Salesforce::with_transport(config.deserialize()?, wasync_sdk::http::send)
    }

    fn describe(&self) -> Result<Vec<EntityDescription>, Error> {
        self.settings
            .entities
            .keys()
            .map(|name| Ok(self.sobject(name)?.description()))
            .collect()
    }

    fn read(&self, request: ReadRequest) -> Result<Page, Error> {
        let sobject = self.sobject(&request.entity)?;
        read::read(self, &sobject, &request)
    }

    fn write(&self, entity: &str, changes: Vec<Change>) -> Vec<Result<String, Error>> {
        if changes.is_empty() {
            return Vec::new();
        }
        match self.sobject(entity) {
            Ok(sobject) => write::write(self, &sobject, changes),
            Err(e) => vec![Err(e); changes.len()],
        }
    }
}

#[cfg(target_arch = "wasm32")]
wasync_sdk::export_connector!(Salesforce);

#[cfg(test)]
mod tests;
