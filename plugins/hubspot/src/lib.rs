//! `hubspot`: a connector for HubSpot CRM objects (companies, contacts, deals, custom
//! objects) through HubSpot's CRM v3 API.
//!
//! # Configuration
//!
//! ```json
//! {"base_url": "https://api.hubapi.com",
//!  "entities": {"companies": {"properties": ["name", "domain", "industry", "wasync_id"],
//!                             "upsert_property": "wasync_id"},
//!               "contacts": {}}}
//! ```
//!
//! - `base_url` (string, default `https://api.hubapi.com`): where the API is. A trailing
//!   slash is ignored. The host must allow the connector this host.
//! - `entities` (object, required, not empty): the object types to sync, by the name the API
//!   uses in its paths (`companies`, `contacts`, `deals`, a custom object's `p_cars` or
//!   `2-1234567`). Only these are described and read. Each takes:
//!   - `properties` (list of strings, optional): the properties to read. By default every
//!     property of the object type. `hs_object_id` and `hs_lastmodifieddate` are always read.
//!   - `upsert_property` (string, optional): a property with unique values (`hasUniqueValue`,
//!     such as a custom `wasync_id`) by which creates are upserted, so that a create that is
//!     replayed updates the object it made the first time instead of making a duplicate.
//!   - `read_deletes` (boolean, default false): reads see deletes too (see Reading).
//!
//! An unknown key anywhere is an `invalid-config` error that names it. A `properties` entry
//! or `upsert_property` the object type does not have, or an `upsert_property` without
//! unique values, is an `invalid-config` error at the first `describe` or `read`.
//!
//! There are no credentials in the configuration: the host adds the `Authorization` header
//! (a private app's token or an OAuth access token, refreshed by the host) to every request,
//! and retries rate-limited (429) and failing (5xx) requests with backoff. The connector
//! declares HubSpot's search limit, four requests a second, which the host keeps to unless
//! the connector's `http.rate` in the pipeline file says otherwise.
//!
//! # Describing
//!
//! `describe` asks the properties API (`GET /crm/v3/properties/{objectType}`) once per
//! configured object type and keeps the answer for the life of the instance. Each object type
//! is an `object` entity with id field `hs_object_id` and watermark field
//! `hs_lastmodifieddate`, whose fields are the properties read. Kinds follow the property
//! types: `number` → float (`hs_object_id` → integer), `bool` → boolean, `datetime` →
//! timestamp, anything else (`string`, `enumeration`, `date`, ...) → text. A property is
//! read-only when HubSpot computes it (`modificationMetadata.readOnlyValue`).
//!
//! # Reading
//!
//! A read is a search (`POST /crm/v3/objects/{objectType}/search`) sorted ascending on
//! `hs_lastmodifieddate`, for the objects after the request's (watermark, id) cursor:
//! `hs_lastmodifieddate > W`, or `hs_lastmodifieddate = W` and `hs_object_id > ID` (ids
//! compare as numbers), each bounded by `hs_lastmodifieddate <= until` when the request has
//! one. HubSpot keeps milliseconds and wasync microseconds: a cursor between two
//! milliseconds reads from the next one, a bound between two includes the earlier one. A
//! cursor or bound given as RFC 3339 text is taken as a timestamp.
//!
//! A search call returns at most 200 objects; a read follows the search's `paging.next.after`
//! until it has its `limit`, one call per 200 objects. A search serves only its first 10,000
//! results, so a read that gets that far starts a new search after the last object it read.
//! `more` is set when the read returned `limit` records and the search had more.
//!
//! Each object is a record with id `id`, watermark `hs_lastmodifieddate` as a timestamp, and
//! a field for each property read (null when the object has no value), nothing else. HubSpot sends every value as a string; it becomes, by the
//! property's type: `number` → integer when whole, else float; `bool` → boolean; `datetime`
//! (ISO 8601 or epoch milliseconds) → timestamp; anything else → text. `""` is null except
//! for text properties. A value that does not parse as its type is kept as text.
//!
//! Archived (deleted) objects are not returned by the search. With `read_deletes`, a read
//! also walks the list of archived objects (`GET /crm/v3/objects/{objectType}?archived=true`,
//! 100 a call: it can be neither filtered by time nor sorted) and merges those archived
//! inside its window as deleted records without fields, watermarked with `archivedAt`: the
//! window starts after the cursor and ends at the page's last record when more follow, else
//! at `until`, and the page is cut back to `limit`. That costs ceil(A / 100) calls a read,
//! A being the objects archived in the last 90 days (HubSpot keeps them that long). Without
//! it reads never return deletes; HubSpot's `deletion` webhooks (below) bring them at no
//! cost in calls.
//!
//! # Writing
//!
//! Changes go to the batch endpoints, at most 100 inputs a call (and an id at most once):
//! updates (an id given) to `batch/update`; creates whose fields carry a non-empty
//! `upsert_property` value to `batch/upsert` with that `idProperty`; other creates to
//! `batch/create`; deletes to `batch/archive`. Every change gets its own result, in order:
//! the object's id, or an error. Objects that do not exist fail their updates as `not-found`
//! (HubSpot's multi-status answer names them); archiving one succeeds.
//!
//! Values are written as strings: text as is, integers and floats in decimal, booleans as
//! `true`/`false`, timestamps as ISO 8601 UTC with milliseconds (`date` properties take a
//! timestamp at midnight UTC, written `YYYY-MM-DD`), null as `""` (which clears the
//! property), JSON as its text. A field that is not a property of the object type, is
//! read-only, or holds a value its property cannot take fails its change with
//! `invalid-input` naming the property, before anything is sent; `hs_object_id` in an update
//! is ignored. A call HubSpot refuses as a whole fails all of its changes.
//!
//! # Errors
//!
//! HubSpot's answers become: 401 and 403 → `unauthorized`; 404 → `not-found`; 429 →
//! `rate-limited`, naming the limit (`DAILY`, `TEN_SECONDLY_ROLLING`, `SECONDLY`); 5xx, and
//! a body that is not JSON → `unavailable`; other 4xx → `invalid-input` for writes and
//! `other` for reads. Messages carry HubSpot's message, category and correlation id.
//!
//! # Webhooks
//!
//! `webhook` takes the requests of HubSpot's Webhooks API. It needs a `webhook` key, which
//! the host adds to the configuration from its own (the secret is not the connector
//! user's to write):
//!
//! ```json
//! {"webhook": {"secret": "<the app's client secret>", "tolerance_seconds": 300,
//!              "public_url": "https://sync.example.com"}}
//! ```
//!
//! Without it, every webhook call fails with `invalid-config` naming `webhook.secret`.
//! A request must carry HubSpot's v3 signature: `X-HubSpot-Signature-v3` is
//! `base64(HMAC-SHA256(secret, method + URI + body + timestamp))` and
//! `X-HubSpot-Request-Timestamp` (milliseconds) is at most `tolerance_seconds` (default 300,
//! HubSpot's five minutes) from the connector's clock. The URI is `public_url` + the path
//! the host received (with its query string), or `https://` + the `Host` header + the path,
//! with the percent-encodings HubSpot lists (`%3A`, `%2F`, `%3F`, `%40`, `%21`, `%24`, `%27`,
//! `%28`, `%29`, `%2A`, `%2C`, `%3B`) decoded. A request that fails a check is
//! `unauthorized`, saying which; a body that is not an array of events is `invalid-input`.
//!
//! Each event becomes one change of the configured entity its subscription names
//! (`company.*` or `object.*` with `objectTypeId` `0-2` → `companies`; `contact`/`0-1` →
//! `contacts`; `deal`/`0-3` → `deals`), in payload order:
//!
//! - `*.propertyChange`: a record with that one field, typed as reads type it, watermarked
//!   at `occurredAt` (a timestamp, like a read's `hs_lastmodifieddate`).
//! - `*.creation`, `*.restore`: the whole object, as a read returns it, fetched with one
//!   `POST /crm/v3/objects/{type}/batch/read` per object type and request; an object gone
//!   since is left out (its deletion event follows).
//! - `*.deletion`, `contact.privacyDeletion`: a deleted record without fields, watermarked
//!   at `occurredAt`.
//!
//! Events of object types not configured, of properties not read, and of other kinds
//! (`associationChange`, `merge`) are skipped and logged.

mod api;
mod deletes;
mod schema;
mod search;
mod settings;
mod signature;
mod time;
mod values;
mod webhook;
mod write;

pub use api::Transport;
pub use settings::{EntitySettings, Settings, WebhookSettings};

use api::{Api, Purpose};
use schema::{PropertiesPage, Schema};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::SystemTime;
use wasync_sdk::{
    Change, Config, Connector, EntityChange, EntityDescription, Error, Page, ReadRequest,
    WebhookRequest,
};

/// Where the connector reads the time, to check a webhook request's age: the wall clock,
/// or a fixed time in tests.
pub type Clock = fn() -> SystemTime;

/// One configured use of the connector, with the schemas it has fetched.
pub struct HubSpot {
    settings: Settings,
    api: Api,
    /// Schemas by object type, fetched once each.
    schemas: RefCell<HashMap<String, Rc<Schema>>>,
    clock: Clock,
}

impl HubSpot {
    /// The connector for `settings`, sending through the host.
    pub fn with_settings(settings: Settings) -> Result<Self, Error> {
        HubSpot::with_transport(settings, wasync_sdk::http::send)
    }

    /// The connector for `settings`, sending through `transport` (a fake, in tests).
    pub fn with_transport(settings: Settings, transport: Transport) -> Result<Self, Error> {
        let settings = settings.validate()?;
        Ok(HubSpot {
            api: Api::new(&settings.base_url, transport),
            settings,
            schemas: RefCell::new(HashMap::new()),
            clock: SystemTime::now,
        })
    }

    /// The connector reading the time from `clock` (a fixed time, in tests).
    pub fn with_clock(self, clock: Clock) -> Self {
        HubSpot { clock, ..self }
    }

    /// The schema of a configured object type, fetched on first use.
    fn schema(&self, object_type: &str) -> Result<Rc<Schema>, Error> {
        let Some(entity) = self.settings.entities.get(object_type) else {
            return Err(Error::NotFound(format!(
                "no entity `{object_type}` is configured"
            )));
        };
        if let Some(schema) = self.schemas.borrow().get(object_type) {
            return Ok(schema.clone());
        }
        let path = format!("/crm/v3/properties/{object_type}");
        let page: PropertiesPage = self.api.get(&path, Purpose::Read)?.decode()?;
        let schema = Rc::new(Schema::new(object_type, page, entity)?);
        self.schemas
            .borrow_mut()
            .insert(object_type.to_owned(), schema.clone());
        Ok(schema)
    }
}

impl Connector for HubSpot {
    fn new(config: &Config) -> Result<Self, Error> {
        HubSpot::with_settings(config.deserialize()?)
    }

    fn describe(&self) -> Result<Vec<EntityDescription>, Error> {
        self.settings
            .entities
            .keys()
            .map(|name| Ok(self.schema(name)?.description()))
            .collect()
    }

    fn read(&self, request: ReadRequest) -> Result<Page, Error> {
        let schema = self.schema(&request.entity)?;
        let deletes = self
            .settings
            .entities
            .get(&request.entity)
            .is_some_and(|e| e.read_deletes);
        if !deletes {
            return search::read(&self.api, &schema, request);
        }
        let page = search::read(&self.api, &schema, request.clone())?;
        deletes::merge(&self.api, &request, page)
    }

    fn write(&self, entity: &str, changes: Vec<Change>) -> Vec<Result<String, Error>> {
        if changes.is_empty() {
            return Vec::new();
        }
        match self.schema(entity) {
            Ok(schema) => write::write(&self.api, &schema, changes),
            Err(e) => vec![Err(e); changes.len()],
        }
    }

    fn webhook(&self, request: WebhookRequest) -> Result<Vec<EntityChange>, Error> {
        webhook::receive(self, request)
    }
}

#[cfg(target_arch = "wasm32")]
wasync_sdk::export_connector!(HubSpot);

// HubSpot's search, which every read goes through: four requests a second per token
// (its changelog, "CRM Search API Rate Limit Increase"). A pipeline file's `rate` wins.
wasync_sdk::declare_rate_limit!(requests = 4, per_seconds = 1);

#[cfg(test)]
mod tests;
