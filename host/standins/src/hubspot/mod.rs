//! The HubSpot stand-in: CRM v3 objects (companies, contacts) with search, batch and
//! single-object endpoints, the properties API, rate limits, and OAuth `/oauth/v1/token`.
//!
//! ```no_run
//! let portal = wasync_standins::hubspot::start(Default::default()).expect("bind a port");
//! let id = portal.create("companies", &[("name", "Acme"), ("domain", "acme.com")]);
//! assert_eq!(portal.objects("companies")[0].id, id);
//! // Point a client at portal.url() with `Authorization: Bearer <hubspot::DEFAULT_TOKEN>`.
//! ```

mod objects;
mod schema;
mod search;
mod store;
mod webhooks;

pub use webhooks::{Delivery, MAX_ATTEMPTS, MAX_EVENTS, WebhookTarget};

use std::collections::{BTreeMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddr};
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::Method;
use serde_json::{Value, json};

use crate::OAuthClient;
use crate::server::{
    self, Auth, Core, Incoming, RefreshError, Reply, Server, System, Tokens, lock,
};
use schema::OBJECT_TYPES;
use store::PortalState;
pub(crate) use store::Stored;

/// The private-app token [`Options::default`] accepts.
pub const DEFAULT_TOKEN: &str = "pat-na1-0a1b2c3d-standin-4e5f-8a9b-0c1d2e3f4a5b";

/// The rolling window of the ten-secondly limit.
const TEN_SECONDS: Duration = Duration::from_secs(10);
/// The window of the search limit.
const ONE_SECOND: Duration = Duration::from_secs(1);

/// How a HubSpot stand-in is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Private-app tokens accepted from the start.
    pub tokens: Vec<String>,
    /// The OAuth app whose refresh token `/oauth/v1/token` accepts.
    pub oauth: Option<OAuthClient>,
    /// Requests per rolling ten seconds to endpoints other than search.
    pub ten_secondly_limit: u32,
    /// Search requests per second: four per token, as HubSpot documents it (raised from one
    /// in its changelog "CRM Search API Rate Limit Increase").
    pub search_per_second: u32,
    /// Requests per day (search included).
    pub daily_limit: u64,
    /// How long a write takes to show in search results (eventual consistency; HubSpot's
    /// search index lags by a few seconds). Other endpoints see writes at once.
    pub search_visibility_delay: Duration,
    /// Search results with equal sort values by descending id instead of ascending: HubSpot
    /// does not document that order, so a reader that relies on it is wrong either way.
    pub search_ties_descending: bool,
    /// Where to deliver webhooks of every change to companies and contacts (creations,
    /// property changes, deletions), made through the API or the data helpers; none by
    /// default.
    pub webhooks: Option<WebhookTarget>,
}

impl Default for Options {
    /// Accepts [`DEFAULT_TOKEN`], no OAuth, the limits of a Professional portal's private
    /// app (100 per 10 s, 4 searches per second, 250,000 a day), search consistent at once.
    fn default() -> Options {
        Options {
            tokens: vec![DEFAULT_TOKEN.to_owned()],
            oauth: None,
            ten_secondly_limit: 100,
            search_per_second: 4,
            daily_limit: 250_000,
            search_visibility_delay: Duration::ZERO,
            search_ties_descending: false,
            webhooks: None,
        }
    }
}

/// A running HubSpot stand-in; dereferences to its [`Server`].
#[derive(Debug)]
pub struct HubSpot {
    server: Server,
    portal: Arc<Portal>,
}

impl Deref for HubSpot {
    type Target = Server;

    fn deref(&self) -> &Server {
        &self.server
    }
}

/// A CRM object as stored, for tests to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// The record id (`hs_object_id`).
    pub id: String,
    /// Every property with a value, `hs_object_id`, `createdate` and
    /// `hs_lastmodifieddate` included.
    pub properties: BTreeMap<String, String>,
    /// Whether it was archived (deleted).
    pub archived: bool,
}

/// Starts a HubSpot stand-in on a free port of 127.0.0.1.
pub fn start(options: Options) -> std::io::Result<HubSpot> {
    start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), options)
}

/// Starts a HubSpot stand-in on `addr`.
pub fn start_on(addr: SocketAddr, options: Options) -> std::io::Result<HubSpot> {
    let listener = Server::bind(addr)?;
    let url = format!("http://{}", listener.local_addr()?);
    let core = Arc::new(Core::new(Tokens::new(
        &options.tokens,
        options.oauth.clone(),
    )));
    let webhooks = options
        .webhooks
        .clone()
        .map(webhooks::Webhooks::start)
        .transpose()?;
    let portal = Arc::new(Portal {
        url,
        options,
        state: Mutex::new(PortalState::default()),
        webhooks,
    });
    let server = Server::serve(listener, core, Arc::clone(&portal))?;
    Ok(HubSpot { server, portal })
}

impl HubSpot {
    fn object_type(object: &str) -> usize {
        schema::object_type(object)
            .unwrap_or_else(|| panic!("no object type {object} in the stand-in"))
    }

    fn changes(ty: usize, properties: &[(&str, &str)]) -> objects::Changes {
        let map = properties
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
            .collect();
        objects::validate(&OBJECT_TYPES[ty], &map)
            .unwrap_or_else(|e| panic!("the stand-in refuses these properties: {}", e.message()))
    }

    /// Creates an object as the API would; returns its id.
    ///
    /// # Panics
    ///
    /// When the API would refuse it (unknown object type or property, invalid value,
    /// unique value in use).
    pub fn create(&self, object: &str, properties: &[(&str, &str)]) -> String {
        let mut ids = self.create_batch(object, &[properties]);
        ids.pop().expect("one row, one id")
    }

    /// Creates objects as one `batch/create` call would: all with one timestamp, so that
    /// readers meet runs of equal `hs_lastmodifieddate`; returns their ids.
    ///
    /// # Panics
    ///
    /// As [`HubSpot::create`].
    pub fn create_batch(&self, object: &str, rows: &[&[(&str, &str)]]) -> Vec<String> {
        let ty = Self::object_type(object);
        let mut state = lock(&self.portal.state);
        let now = self.server.core().clock.now_ms();
        let delay = self.portal.options.search_visibility_delay;
        let mut ids = Vec::new();
        for properties in rows {
            let changes = Self::changes(ty, properties);
            if let Err(holder) = state.stores[ty].check_unique(&changes, None) {
                panic!("a {object} with that unique value exists: {holder}");
            }
            ids.push(state.create(ty, changes, now, delay).to_string());
        }
        self.portal.publish(&mut state, HELPER_SOURCE);
        ids
    }

    /// Updates properties of a live object as the API would (bumps `hs_lastmodifieddate`).
    ///
    /// # Panics
    ///
    /// When the object does not exist (or is archived) or the API would refuse it.
    pub fn update(&self, object: &str, id: &str, properties: &[(&str, &str)]) {
        let ty = Self::object_type(object);
        let changes = Self::changes(ty, properties);
        let delay = self.portal.options.search_visibility_delay;
        let mut state = lock(&self.portal.state);
        let now = self.server.core().clock.now_ms();
        let store = &mut state.stores[ty];
        let Some(id) = id.parse().ok().filter(|id| store.live(*id).is_some()) else {
            panic!("no live {object} {id}");
        };
        if let Err(holder) = store.check_unique(&changes, Some(id)) {
            panic!("a {object} with that unique value exists: {holder}");
        }
        store.update(&OBJECT_TYPES[ty], id, changes, now, delay);
        self.portal.publish(&mut state, HELPER_SOURCE);
    }

    /// Archives an object (a no-op when it is unknown or archived, as the API's).
    pub fn archive(&self, object: &str, id: &str) {
        let ty = Self::object_type(object);
        let delay = self.portal.options.search_visibility_delay;
        let mut state = lock(&self.portal.state);
        let now = self.server.core().clock.now_ms();
        if let Ok(id) = id.parse() {
            state.stores[ty].archive(&OBJECT_TYPES[ty], id, now, delay);
        }
        self.portal.publish(&mut state, HELPER_SOURCE);
    }

    /// Every object of a type, archived ones included, in id order.
    pub fn objects(&self, object: &str) -> Vec<Object> {
        let ty = Self::object_type(object);
        let state = lock(&self.portal.state);
        state.stores[ty]
            .objects
            .values()
            .map(|o| Object {
                id: o.id.to_string(),
                properties: o.current.props.clone(),
                archived: o.current.archived_at.is_some(),
            })
            .collect()
    }

    /// API calls counted against the daily limit so far (refused ones are not counted).
    pub fn calls(&self) -> u64 {
        lock(&self.portal.state).calls
    }

    /// Every webhook delivery attempt so far, in order (none without
    /// [`Options::webhooks`]).
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.portal
            .webhooks
            .as_ref()
            .map(|w| w.deliveries())
            .unwrap_or_default()
    }

    /// Waits up to `timeout` until `done` holds for the deliveries so far; returns them
    /// either way.
    pub fn wait_for_deliveries(
        &self,
        timeout: Duration,
        done: impl Fn(&[Delivery]) -> bool,
    ) -> Vec<Delivery> {
        let until = Instant::now() + timeout;
        loop {
            let deliveries = self.deliveries();
            if done(&deliveries) || Instant::now() >= until {
                return deliveries;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for HubSpot {
    /// Stops webhook delivery before the server goes.
    fn drop(&mut self) {
        if let Some(webhooks) = &self.portal.webhooks {
            webhooks.stop();
        }
    }
}

/// The `changeSource` of changes made through the API.
const API_SOURCE: &str = "API";
/// The `changeSource` of changes made with the data helpers, as if in HubSpot's UI.
const HELPER_SOURCE: &str = "CRM_UI";

/// The portal: its settings and data.
#[derive(Debug)]
pub(crate) struct Portal {
    url: String,
    options: Options,
    state: Mutex<PortalState>,
    webhooks: Option<webhooks::Webhooks>,
}

/// HubSpot's `Error` body.
pub(crate) fn error(core: &Core, status: u16, category: &str, message: &str) -> Reply {
    Reply::json(
        status,
        &json!({
            "status": "error",
            "message": message,
            "correlationId": core.uuid(),
            "category": category,
        }),
    )
}

/// HubSpot's `Error` body with a `context`.
pub(crate) fn error_with(
    core: &Core,
    status: u16,
    category: &str,
    message: &str,
    context: Value,
) -> Reply {
    Reply::json(
        status,
        &json!({
            "status": "error",
            "message": message,
            "correlationId": core.uuid(),
            "category": category,
            "context": context,
        }),
    )
}

fn rate_limit_body(core: &Core, message: &str, policy: &str) -> Reply {
    Reply::json(
        429,
        &json!({
            "status": "error",
            "message": message,
            "errorType": "RATE_LIMIT",
            "correlationId": core.uuid(),
            "policyName": policy,
        }),
    )
}

fn not_found(core: &Core) -> Reply {
    error(core, 404, "OBJECT_NOT_FOUND", "Resource not found")
}

fn method_not_allowed(core: &Core, method: &Method) -> Reply {
    error(
        core,
        405,
        "VALIDATION_ERROR",
        &format!("HTTP method {method} is not supported by this resource"),
    )
}

/// Drops instants older than `window`, returns how many remain.
fn prune(window: &mut VecDeque<Instant>, now: Instant, span: Duration) -> usize {
    while window
        .front()
        .is_some_and(|at| now.saturating_duration_since(*at) >= span)
    {
        window.pop_front();
    }
    window.len()
}

/// Whether a request goes to a search endpoint (own rate limit, no rate-limit headers).
fn is_search(req: &Incoming) -> bool {
    matches!(
        req.parts().as_slice(),
        ["crm", "v3", "objects", _, "search"]
    )
}

impl Portal {
    /// Hands the changes made since the last call to the webhooks, numbered while the
    /// state is locked so that `eventId`s follow the order of the changes.
    fn publish(&self, state: &mut PortalState, source: &str) {
        let changes = state.take_changes();
        if let Some(webhooks) = &self.webhooks {
            webhooks.send(webhooks::events(changes, source, &mut state.last_event_id));
        }
    }

    fn token(&self, core: &Core, req: &Incoming) -> Reply {
        let access_token = format!(
            "CJSP{:016x}{:016x}{:016x}",
            core.random(),
            core.random(),
            core.random()
        );
        let next = format!("na1-rotated-{:016x}", core.random());
        match core
            .tokens
            .refresh(&server::form(&req.body), access_token.clone(), next)
        {
            Ok(refreshed) => Reply::json(
                200,
                &json!({
                    "token_type": "bearer",
                    "refresh_token": refreshed.refresh_token,
                    "access_token": access_token,
                    "expires_in": refreshed.expires_in,
                }),
            ),
            Err(RefreshError::GrantType) => Reply::json(
                400,
                &json!({"status": "BAD_GRANT_TYPE", "message": "grant_type must be one of authorization_code, refresh_token"}),
            ),
            Err(RefreshError::ClientId) => Reply::json(
                400,
                &json!({"status": "BAD_CLIENT_ID", "message": "missing or unknown client_id"}),
            ),
            Err(RefreshError::ClientSecret) => Reply::json(
                400,
                &json!({"status": "BAD_CLIENT_SECRET", "message": "missing or invalid client_secret"}),
            ),
            Err(RefreshError::RefreshToken) => Reply::json(
                400,
                &json!({"status": "BAD_REFRESH_TOKEN", "message": "missing or unknown refresh token"}),
            ),
        }
    }

    fn headers(&self, state: &PortalState, reply: Reply) -> Reply {
        let limits = &self.options;
        reply
            .with("x-hubspot-ratelimit-daily", limits.daily_limit.to_string())
            .with(
                "x-hubspot-ratelimit-daily-remaining",
                limits.daily_limit.saturating_sub(state.calls).to_string(),
            )
            .with("x-hubspot-ratelimit-interval-milliseconds", "10000")
            .with(
                "x-hubspot-ratelimit-max",
                limits.ten_secondly_limit.to_string(),
            )
            .with(
                "x-hubspot-ratelimit-remaining",
                (limits.ten_secondly_limit as usize)
                    .saturating_sub(state.ten_secondly.len())
                    .to_string(),
            )
    }

    fn api(&self, core: &Core, req: &Incoming) -> Reply {
        match core.tokens.check(req) {
            Auth::Valid => {}
            Auth::Expired => {
                return error(
                    core,
                    401,
                    "EXPIRED_AUTHENTICATION",
                    "The OAuth token used to make this call expired 0 minute(s) ago.",
                );
            }
            Auth::Invalid => {
                return error(
                    core,
                    401,
                    "INVALID_AUTHENTICATION",
                    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                );
            }
        }
        let search = is_search(req);
        let mut state = lock(&self.state);
        let now = Instant::now();
        if state.calls >= self.options.daily_limit {
            let reply = rate_limit_body(core, "You have reached your daily limit.", "DAILY");
            return if search {
                reply
            } else {
                self.headers(&state, reply)
            };
        }
        if search {
            if prune(&mut state.searches, now, ONE_SECOND)
                >= self.options.search_per_second as usize
            {
                return rate_limit_body(core, "You have reached your secondly limit.", "SECONDLY");
            }
            state.searches.push_back(now);
        } else {
            if prune(&mut state.ten_secondly, now, TEN_SECONDS)
                >= self.options.ten_secondly_limit as usize
            {
                let reply = rate_limit_body(
                    core,
                    "You have reached your ten_secondly_rolling limit.",
                    "TEN_SECONDLY_ROLLING",
                );
                return self.headers(&state, reply);
            }
            state.ten_secondly.push_back(now);
        }
        state.calls += 1;
        let reply = self.route(core, &mut state, req);
        self.publish(&mut state, API_SOURCE);
        if search {
            reply
        } else {
            self.headers(&state, reply)
        }
    }

    fn route(&self, core: &Core, state: &mut PortalState, req: &Incoming) -> Reply {
        let parts = req.parts();
        let method = &req.method;
        let Some(ty_name) = (match parts.as_slice() {
            ["crm", "v3", "properties" | "objects", ty, ..] => Some(*ty),
            _ => None,
        }) else {
            return not_found(core);
        };
        let Some(ty) = schema::object_type(ty_name) else {
            return error(
                core,
                400,
                "VALIDATION_ERROR",
                &format!("Unable to infer object type from: {ty_name}"),
            );
        };
        let object_type = &OBJECT_TYPES[ty];
        let ctx = objects::Ctx {
            core,
            ty,
            object_type,
            now: core.clock.now_ms(),
            delay: self.options.search_visibility_delay,
            ties_descending: self.options.search_ties_descending,
            url: &self.url,
        };
        let get = *method == Method::GET;
        let post = *method == Method::POST;
        match &parts[2..] {
            ["properties", _] if get => Reply::json(
                200,
                &json!({ "results": object_type.properties.iter().map(|p| p.describe(object_type)).collect::<Vec<_>>() }),
            ),
            ["properties", _, name] if get => match object_type.property(name) {
                Some(property) => Reply::json(200, &property.describe(object_type)),
                None => error_with(
                    core,
                    404,
                    "OBJECT_NOT_FOUND",
                    &format!(
                        "Unable to find property {name} for object type {}",
                        object_type.name
                    ),
                    json!({ "propertyName": [name] }),
                ),
            },
            ["properties", ..] => method_not_allowed(core, method),
            ["objects", _] if get => objects::list(&ctx, state, req),
            ["objects", _] if post => objects::create_one(&ctx, state, req),
            ["objects", _, "search"] if post => search::search(&ctx, state, req),
            ["objects", _, "batch", "create"] if post => objects::batch_create(&ctx, state, req),
            ["objects", _, "batch", "update"] if post => objects::batch_update(&ctx, state, req),
            ["objects", _, "batch", "upsert"] if post => objects::batch_upsert(&ctx, state, req),
            ["objects", _, "batch", "archive"] if post => objects::batch_archive(&ctx, state, req),
            ["objects", _, "batch", "read"] if post => objects::batch_read(&ctx, state, req),
            ["objects", _, "batch", _] if post => not_found(core),
            ["objects", _] | ["objects", _, "search"] | ["objects", _, "batch", _] => {
                method_not_allowed(core, method)
            }
            ["objects", _, id] if get => objects::get_one(&ctx, state, req, id),
            ["objects", _, id] if *method == Method::PATCH => {
                objects::update_one(&ctx, state, req, id)
            }
            ["objects", _, id] if *method == Method::DELETE => {
                objects::archive_one(&ctx, state, id)
            }
            ["objects", _, _] => method_not_allowed(core, method),
            _ => not_found(core),
        }
    }
}

impl System for Portal {
    fn is_token_request(&self, req: &Incoming) -> bool {
        req.parts() == ["oauth", "v1", "token"]
    }

    fn is_read(&self, req: &Incoming) -> bool {
        req.method == Method::GET
            || (req.method == Method::POST
                && matches!(
                    req.parts().as_slice(),
                    ["crm", "v3", "objects", _, "search"]
                        | ["crm", "v3", "objects", _, "batch", "read"]
                ))
    }

    fn handle(&self, core: &Core, req: &Incoming) -> Reply {
        if self.is_token_request(req) {
            return if req.method == Method::POST {
                self.token(core, req)
            } else {
                method_not_allowed(core, &req.method)
            };
        }
        self.api(core, req)
    }

    fn rate_limited(&self, core: &Core, retry_after: Option<u64>) -> Reply {
        let reply = rate_limit_body(
            core,
            "You have reached your ten_secondly_rolling limit.",
            "TEN_SECONDLY_ROLLING",
        );
        match retry_after {
            Some(seconds) => reply.with("retry-after", seconds.to_string()),
            None => reply,
        }
    }

    fn server_error(&self, core: &Core) -> Reply {
        error(core, 500, "INTERNAL_ERROR", "An internal error occurred.")
    }

    fn unreadable_body(&self, core: &Core) -> Reply {
        error(
            core,
            413,
            "VALIDATION_ERROR",
            "The request body is too large or could not be read.",
        )
    }
}
