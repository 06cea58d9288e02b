//! One running stand-in: its thread and HTTP plumbing, and what both systems share (the
//! request log, the fault queue, the access tokens and the clock).

use std::collections::{HashMap, VecDeque};
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use serde::Serialize;
use tokio::sync::oneshot;

use crate::time::Clock;

/// The largest request body a stand-in reads; larger ones are refused with the system's
/// error. Far above what either API accepts (200 records, 100 inputs) but bounded, so a
/// runaway client cannot exhaust memory.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// One request a stand-in served, refused ones included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path with its query string, as sent: `/crm/v3/objects/companies/search`.
    pub path: String,
    /// The HTTP status answered.
    pub status: u16,
    /// When the request arrived.
    pub at: SystemTime,
}

/// A failure to act out on the next requests, queued with [`Server::inject`].
///
/// Faults apply in the order injected, one fault to one request, and never to the OAuth
/// token endpoint. `times` counts the requests a fault applies to (`0` does nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The system's answer to a request over its rate limit: HubSpot's and the REST API's
    /// 429 with `Retry-After: secs` when `Some`; Salesforce's 403 `REQUEST_LIMIT_EXCEEDED`
    /// (it sends no 429). Nothing changes.
    RateLimited {
        /// How many requests get it.
        times: u32,
        /// The `Retry-After` header's seconds.
        retry_after: Option<u64>,
    },
    /// 500 with the system's internal-error body. Nothing changes.
    ServerError {
        /// How many requests get it.
        times: u32,
    },
    /// The request is carried out at once (its change applies, as on a slow real server)
    /// and answered after `delay`.
    Slow {
        /// How many requests get it.
        times: u32,
        /// How long the answer waits.
        delay: Duration,
    },
    /// The answer of a read (a GET, a HubSpot search or batch read, a SOQL query) is cut in
    /// half: a 200 whose JSON is invalid. Writes pass by it without using it up.
    Truncated {
        /// How many reads get it.
        times: u32,
    },
    /// Every access token accepted so far (static ones included) is expired from now on:
    /// 401 with the system's expired-token body until the client gets a new token through
    /// OAuth. Applies at once; it is not queued.
    ExpireTokens,
}

/// The OAuth client a stand-in accepts at its token endpoint (refresh-token grant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClient {
    /// The connected app's client id.
    pub client_id: String,
    /// The connected app's client secret.
    pub client_secret: String,
    /// The refresh token the client holds (valid until rotated).
    pub refresh_token: String,
    /// How long an access token issued by a refresh lives, in seconds.
    pub expires_in: u64,
    /// Each refresh hands out a new refresh token and invalidates the one used, as
    /// Salesforce's "refresh token rotation" does; off: the refresh token stays valid.
    pub rotate_refresh_token: bool,
}

/// One running stand-in server on 127.0.0.1. It stops, and its thread is joined, when
/// dropped.
pub struct Server {
    addr: SocketAddr,
    core: Arc<Core>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// The base URL: `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request served so far, in the order they arrived at the handler.
    pub fn requests(&self) -> Vec<Logged> {
        lock(&self.core.log).clone()
    }

    /// Forgets the requests served so far.
    pub fn clear_requests(&self) {
        lock(&self.core.log).clear();
    }

    /// Queues a fault for the next requests ([`Fault::ExpireTokens`] applies at once).
    pub fn inject(&self, fault: Fault) {
        match fault {
            Fault::ExpireTokens => self.core.tokens.expire_all(),
            Fault::RateLimited { times: 0, .. }
            | Fault::ServerError { times: 0 }
            | Fault::Slow { times: 0, .. }
            | Fault::Truncated { times: 0 } => {}
            fault => lock(&self.core.faults).push_back(fault),
        }
    }

    /// What the system's handlers share with the server.
    pub(crate) fn core(&self) -> &Core {
        &self.core
    }

    /// Drops the faults not yet used up.
    pub fn clear_faults(&self) {
        lock(&self.core.faults).clear();
    }

    /// From now on every write that succeeds is applied at once and answered after `delay`
    /// (`Duration::ZERO`: at once again), so a test can kill a client between a write
    /// reaching the system and its answer reaching the client.
    pub fn delay_writes(&self, delay: Duration) {
        let micros = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        self.core.write_delay_us.store(micros, Ordering::SeqCst);
    }

    /// Writes applied so far (successful requests other than reads and OAuth), counted as
    /// soon as they are applied, before any delay of their answer.
    pub fn writes_applied(&self) -> u64 {
        self.core.writes.load(Ordering::SeqCst)
    }

    /// Binds `addr` (port 0: any free port), so the system can know its own address.
    pub(crate) fn bind(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Ok(listener)
    }

    /// Serves `system` on a thread of its own, on a listener from [`Server::bind`].
    pub(crate) fn serve<S: System>(
        listener: std::net::TcpListener,
        core: Arc<Core>,
        system: Arc<S>,
    ) -> std::io::Result<Server> {
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let listener = {
            let _entered = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let app = Arc::new(App {
            core: Arc::clone(&core),
            system,
        });
        let thread = std::thread::Builder::new()
            .name(format!("standin-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    let router = Router::new().fallback(serve::<S>).with_state(app);
                    let serving = axum::serve(listener, router).into_future();
                    tokio::select! {
                        _ = serving => {}
                        _ = stopped => {}
                    }
                });
                // Dropping the runtime here cancels open connections and pending answers.
            })?;
        Ok(Server {
            addr,
            core,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Locks a mutex, going on with the data if a thread panicked while holding it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A request as a system sees it: decoded path segments and query, the whole body.
#[derive(Debug)]
pub(crate) struct Incoming {
    pub method: Method,
    /// Percent-decoded path segments (`/a/b%20c` → `["a", "b c"]`).
    pub segments: Vec<String>,
    /// Decoded query pairs in order.
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Bytes of the request line's target (path and query, as sent) and of its headers:
    /// what a server's limit on a request's head measures.
    pub head_len: usize,
}

impl Incoming {
    /// The first value of a query parameter.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every value of a query parameter, comma-separated values split.
    pub(crate) fn params(&self, name: &str) -> Vec<String> {
        self.query
            .iter()
            .filter(|(key, _)| key == name)
            .flat_map(|(_, value)| value.split(','))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// A header's value as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The bearer token of the `Authorization` header.
    pub(crate) fn bearer(&self) -> Option<&str> {
        let value = self.header("authorization")?.trim();
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim())
            .filter(|t| !t.is_empty())
    }

    /// The path segments, as `&str`s, for matching.
    pub(crate) fn parts(&self) -> Vec<&str> {
        self.segments.iter().map(String::as_str).collect()
    }
}

/// An answer as a system builds it.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// A JSON answer.
    pub(crate) fn json(status: u16, value: &impl Serialize) -> Reply {
        let body = serde_json::to_vec(value).unwrap_or_else(|e| {
            format!("{{\"message\":\"stand-in failed to encode its answer: {e}\"}}").into_bytes()
        });
        Reply {
            status,
            headers: vec![("content-type", "application/json;charset=UTF-8".into())],
            body,
        }
    }

    /// An answer without a body (204).
    pub(crate) fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header.
    pub(crate) fn with(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// What a system (Salesforce, HubSpot) provides to the shared plumbing.
pub(crate) trait System: Send + Sync + 'static {
    /// Whether this is the OAuth token endpoint (never faulted).
    fn is_token_request(&self, req: &Incoming) -> bool;
    /// Whether this request only reads (so [`Fault::Truncated`] applies to it).
    fn is_read(&self, req: &Incoming) -> bool;
    /// Serves a request: authentication, limits, routing, the work.
    fn handle(&self, core: &Core, req: &Incoming) -> Reply;
    /// The answer to a [`Fault::RateLimited`] request.
    fn rate_limited(&self, core: &Core, retry_after: Option<u64>) -> Reply;
    /// The answer to a [`Fault::ServerError`] request.
    fn server_error(&self, core: &Core) -> Reply;
    /// The answer to a request whose body could not be read or was too large.
    fn unreadable_body(&self, core: &Core) -> Reply;
}

/// What both systems share: request log, fault queue, tokens, clock, randomness.
#[derive(Debug)]
pub(crate) struct Core {
    pub clock: Clock,
    pub tokens: Tokens,
    log: Mutex<Vec<Logged>>,
    faults: Mutex<VecDeque<Fault>>,
    random: AtomicU64,
    /// See [`Server::delay_writes`].
    write_delay_us: AtomicU64,
    /// See [`Server::writes_applied`].
    writes: AtomicU64,
}

/// What the fault queue does to one request.
enum Action {
    Refuse(Reply),
    Delay(Duration),
    Truncate,
    Serve,
}

impl Core {
    pub(crate) fn new(tokens: Tokens) -> Core {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x5eed);
        Core {
            clock: Clock::default(),
            tokens,
            log: Mutex::new(Vec::new()),
            faults: Mutex::new(VecDeque::new()),
            random: AtomicU64::new(seed),
            write_delay_us: AtomicU64::new(0),
            writes: AtomicU64::new(0),
        }
    }

    /// A pseudo-random number (splitmix64): for tokens and correlation ids, not for data.
    pub(crate) fn random(&self) -> u64 {
        let mut z = self
            .random
            .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
            .wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A random UUID (version 4 layout), as HubSpot's `correlationId`.
    pub(crate) fn uuid(&self) -> String {
        let (a, b) = (self.random(), self.random());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }

    fn next_action<S: System>(&self, system: &S, read: bool) -> Action {
        let mut faults = lock(&self.faults);
        let Some(front) = faults.front_mut() else {
            return Action::Serve;
        };
        let (times, action) = match front {
            Fault::RateLimited { times, retry_after } => {
                let reply = system.rate_limited(self, *retry_after);
                (times, Action::Refuse(reply))
            }
            Fault::ServerError { times } => (times, Action::Refuse(system.server_error(self))),
            Fault::Slow { times, delay } => {
                let delay = *delay;
                (times, Action::Delay(delay))
            }
            Fault::Truncated { times } if read => (times, Action::Truncate),
            Fault::Truncated { .. } | Fault::ExpireTokens => return Action::Serve,
        };
        *times = times.saturating_sub(1);
        if *times == 0 {
            faults.pop_front();
        }
        action
    }

    /// Serves one request through the fault queue; returns the answer and its delay.
    fn respond<S: System>(&self, system: &S, req: &Incoming) -> (Reply, Option<Duration>) {
        if system.is_token_request(req) {
            return (system.handle(self, req), None);
        }
        let read = system.is_read(req);
        let (reply, delay) = match self.next_action(system, read) {
            Action::Refuse(reply) => return (reply, None),
            Action::Delay(delay) => (system.handle(self, req), Some(delay)),
            Action::Serve => (system.handle(self, req), None),
            Action::Truncate => {
                let mut reply = system.handle(self, req);
                if reply.is_success() {
                    let half = reply.body.len() / 2;
                    reply.body.truncate(half);
                }
                (reply, None)
            }
        };
        if read || !reply.is_success() {
            return (reply, delay);
        }
        self.writes.fetch_add(1, Ordering::SeqCst);
        let held = Duration::from_micros(self.write_delay_us.load(Ordering::SeqCst));
        let delay = match delay {
            Some(d) => Some(d.max(held)),
            None => (!held.is_zero()).then_some(held),
        };
        (reply, delay)
    }

    fn log(&self, entry: Logged) {
        lock(&self.log).push(entry);
    }
}

struct App<S> {
    core: Arc<Core>,
    system: Arc<S>,
}

/// The single handler: every request of every path comes here.
async fn serve<S: System>(State(app): State<Arc<App<S>>>, request: Request) -> Response {
    let at = SystemTime::now();
    let (parts, body) = request.into_parts();
    let method = parts.method.to_string();
    let logged_path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let (reply, delay) = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(body) => {
            let segments = parts
                .uri
                .path()
                .split('/')
                .filter(|s| !s.is_empty())
                .map(percent_decode)
                .collect();
            let query = parts
                .uri
                .query()
                .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
                .unwrap_or_default();
            let head_len = logged_path.len()
                + parts
                    .headers
                    .iter()
                    .map(|(name, value)| name.as_str().len() + value.len() + 4)
                    .sum::<usize>();
            let incoming = Incoming {
                method: parts.method,
                segments,
                query,
                headers: parts.headers,
                body,
                head_len,
            };
            app.core.respond(app.system.as_ref(), &incoming)
        }
        Err(_) => (app.system.unreadable_body(&app.core), None),
    };
    app.core.log(Logged {
        method,
        path: logged_path,
        status: reply.status,
        at,
    });
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    into_response(reply)
}

fn into_response(reply: Reply) -> Response {
    let mut builder = Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        builder = builder.header(*name, value.as_str());
    }
    builder.body(Body::from(reply.body)).unwrap_or_else(|_| {
        let mut response = Response::new(Body::from("stand-in built an invalid response"));
        *response.status_mut() = axum::http::StatusCode::INTERNAL_SERVER_ERROR;
        response
    })
}

/// Decodes `%XX` escapes of a path segment (invalid escapes stay as they are).
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|&b| hex(b)),
                bytes.get(i + 2).and_then(|&b| hex(b)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How a request's access token stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Auth {
    Valid,
    Expired,
    Invalid,
}

/// Why a refresh-token grant was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshError {
    /// `grant_type` is not `refresh_token`.
    GrantType,
    /// Unknown client id.
    ClientId,
    /// Wrong client secret.
    ClientSecret,
    /// Unknown refresh token.
    RefreshToken,
}

#[derive(Debug)]
struct Token {
    /// `None`: lives until expired by [`Fault::ExpireTokens`].
    expires_at: Option<Instant>,
    expired: bool,
}

/// The access tokens a server accepts and the OAuth client that may get new ones.
#[derive(Debug)]
pub(crate) struct Tokens {
    table: Mutex<HashMap<String, Token>>,
    oauth: Option<OAuthClient>,
    /// The refresh token valid now, once rotation has replaced the client's first one.
    rotated: Mutex<Option<String>>,
}

/// What a refresh gave: the access token's lifetime, and the refresh token to hold now.
#[derive(Debug)]
pub(crate) struct Refreshed {
    pub expires_in: u64,
    pub refresh_token: String,
    /// Whether `refresh_token` is a new one (rotation).
    pub rotated: bool,
}

impl Tokens {
    pub(crate) fn new(static_tokens: &[String], oauth: Option<OAuthClient>) -> Tokens {
        let table = static_tokens
            .iter()
            .map(|t| {
                let token = Token {
                    expires_at: None,
                    expired: false,
                };
                (t.clone(), token)
            })
            .collect();
        Tokens {
            table: Mutex::new(table),
            oauth,
            rotated: Mutex::new(None),
        }
    }

    /// How the request's bearer token stands.
    pub(crate) fn check(&self, req: &Incoming) -> Auth {
        let Some(bearer) = req.bearer() else {
            return Auth::Invalid;
        };
        match lock(&self.table).get(bearer) {
            None => Auth::Invalid,
            Some(token) if token.expired => Auth::Expired,
            Some(Token {
                expires_at: Some(at),
                ..
            }) if *at <= Instant::now() => Auth::Expired,
            Some(_) => Auth::Valid,
        }
    }

    fn expire_all(&self) {
        for token in lock(&self.table).values_mut() {
            token.expired = true;
        }
    }

    /// Checks a refresh-token grant (form fields) and registers `new_token` if it is good;
    /// `next` is the refresh token rotation hands out.
    pub(crate) fn refresh(
        &self,
        form: &[(String, String)],
        new_token: String,
        next: String,
    ) -> Result<Refreshed, RefreshError> {
        let field = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        if field("grant_type") != Some("refresh_token") {
            return Err(RefreshError::GrantType);
        }
        let Some(client) = &self.oauth else {
            return Err(RefreshError::ClientId);
        };
        if field("client_id") != Some(client.client_id.as_str()) {
            return Err(RefreshError::ClientId);
        }
        if field("client_secret") != Some(client.client_secret.as_str()) {
            return Err(RefreshError::ClientSecret);
        }
        let mut rotated = lock(&self.rotated);
        let valid = rotated.as_deref().unwrap_or(&client.refresh_token);
        if field("refresh_token") != Some(valid) {
            return Err(RefreshError::RefreshToken);
        }
        let token = Token {
            expires_at: Instant::now().checked_add(Duration::from_secs(client.expires_in)),
            expired: false,
        };
        lock(&self.table).insert(new_token, token);
        if client.rotate_refresh_token {
            *rotated = Some(next.clone());
        }
        Ok(Refreshed {
            expires_in: client.expires_in,
            refresh_token: rotated
                .clone()
                .unwrap_or_else(|| client.refresh_token.clone()),
            rotated: client.rotate_refresh_token,
        })
    }
}

/// Parses a form body (`a=1&b=2`).
pub(crate) fn form(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_keeps_bad_escapes() {
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "é");
    }

    #[test]
    fn uuids_look_like_uuids() {
        let core = Core::new(Tokens::new(&[], None));
        let id = core.uuid();
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{id}");
        assert_ne!(id, core.uuid());
    }
}
