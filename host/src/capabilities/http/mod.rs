//! The host side of a connector's network: one [`Client`] per connector enforces its
//! allowed hosts, rate limit, daily budget, timeouts and retries, and adds its credentials.
//! The `http` import ([`capability`]) hands plugin requests to it.
//!
//! A request goes: allow-list → budget → rate limit → credentials → send; a 429, a 5xx, a
//! timeout or a refused connection is retried with exponential backoff and jitter (or after
//! the server's `Retry-After`), a 401 with OAuth gets a new access token and one more try.
//! Every try is an API call: it counts against the budget and the rate limit.

mod allow;
mod auth;
mod capability;
pub mod kept;
mod limit;
mod retry;

pub use allow::AllowList;
pub use auth::{Credentials, Secret};
pub use capability::{Http, HttpState, add_to_linker};
pub use limit::{Ledger, RateWindow, Spent};

use crate::config::HttpConfig;
use crate::wit::Error;
use crate::wit::http::{Request, Response};
use reqwest::blocking::Client as Reqwest;
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, Url};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// One connector's way out.
#[derive(Debug)]
pub struct Client {
    connector: String,
    allow: AllowList,
    timeout: Duration,
    retries: u32,
    backoff: Duration,
    rate: Option<Mutex<RateWindow>>,
    ledger: Mutex<Ledger>,
    credentials: Mutex<Credentials>,
    reqwest: Reqwest,
}

/// UTC days since 1970-01-01, the unit of a daily budget.
pub use crate::time::today;

impl Client {
    /// The client of `connector` from its configuration, with `calls_today` already made
    /// (from the store). `env` reads the environment variables that hold secrets.
    pub fn new(
        connector: &str,
        config: &HttpConfig,
        calls_today: u64,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Client, String> {
        let at = format!("connectors.{connector}.http");
        let allow = AllowList::new(&config.hosts).map_err(|e| format!("{at}.hosts: {e}"))?;
        let credentials =
            Credentials::new(config.auth.as_ref(), config.token_file.clone(), &at, env)?;
        let reqwest = Reqwest::builder()
            // A redirect could lead off the allow-list: the connector sees it and decides.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("wasync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("{at}: cannot make an HTTP client: {e}"))?;
        Ok(Client {
            connector: connector.to_owned(),
            allow,
            timeout: Duration::from_secs_f64(config.timeout_seconds),
            retries: config.retries,
            backoff: Duration::from_millis(config.backoff_ms),
            rate: config.rate.map(|r| {
                Mutex::new(RateWindow::new(
                    r.requests,
                    Duration::from_secs_f64(r.per_seconds),
                ))
            }),
            ledger: Mutex::new(Ledger::new(today(), calls_today, config.daily_budget)),
            credentials: Mutex::new(credentials),
            reqwest,
        })
    }

    /// The connector's name.
    pub fn connector(&self) -> &str {
        &self.connector
    }

    /// Whether `url` is on the connector's allowed hosts (what a package's asked hosts are
    /// checked against).
    pub fn allows(&self, url: &Url) -> bool {
        self.allow.allows(url)
    }

    /// The rate limit it keeps to: requests per window, if any.
    pub fn rate(&self) -> Option<(usize, Duration)> {
        self.rate.as_ref().map(|rate| lock(rate).limit())
    }

    /// Whether today's budget is spent.
    pub fn spent(&self) -> bool {
        lock(&self.ledger).spent(today())
    }

    /// API calls made today.
    pub fn calls_today(&self) -> u64 {
        lock(&self.ledger).today(today())
    }

    /// Calls not yet saved to the store, with their day.
    pub fn take_unsaved(&self) -> (i64, u64) {
        lock(&self.ledger).take_unsaved()
    }

    /// Sends a plugin's request, with everything the module doc lists. A request by path
    /// goes to the instance the OAuth token response named (Salesforce's `instance_url`),
    /// which the allowed hosts must still include.
    pub fn send(&self, request: Request) -> Result<Response, Error> {
        let mut url = match request.url.starts_with('/') {
            true => lock(&self.credentials)
                .resolve(&request.url, &self.reqwest, self.timeout)
                .map_err(Error::InvalidInput)?,
            false => Url::parse(&request.url)
                .map_err(|e| Error::InvalidInput(format!("`{}` is not a URL: {e}", request.url)))?,
        };
        let target = format!("{}{}", url.host_str().unwrap_or_default(), url.path());
        if !self.allow.allows(&url) {
            return Err(Error::AccessDenied(format!(
                "connector `{}` may not reach `{}`: it is not on the allowed hosts of [connectors.{}.http]",
                self.connector,
                url.host_str().map_or(request.url.as_str(), |h| h),
                self.connector
            )));
        }
        let method = Method::from_bytes(request.method.as_bytes()).map_err(|_| {
            Error::InvalidInput(format!("`{}` is not an HTTP method", request.method))
        })?;
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in &request.headers {
            let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) else {
                return Err(Error::InvalidInput(format!("bad header `{name}`")));
            };
            headers.append(name, value);
        }
        lock(&self.credentials).apply_to_url(&mut url);

        let mut tries = 0u32;
        let mut refreshed = false;
        loop {
            tries += 1;
            self.take_call(&target)?;
            self.wait_for_rate();
            let builder = self
                .reqwest
                .request(method.clone(), url.clone())
                .headers(headers.clone())
                .timeout(self.timeout);
            let builder = match &request.body {
                Some(body) => builder.body(body.clone()),
                None => builder,
            };
            let builder = lock(&self.credentials)
                .apply(builder, &self.reqwest, self.timeout)
                .map_err(Error::Unauthorized)?;
            let outcome = builder.send().and_then(|response| {
                let status = response.status().as_u16();
                let headers: Vec<(String, String)> = response
                    .headers()
                    .iter()
                    .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
                    .collect();
                response.bytes().map(|body| Response {
                    status,
                    headers,
                    body: body.to_vec(),
                })
            });
            tracing::debug!(
                connector = %self.connector,
                method = %method,
                target,
                tries,
                status = outcome.as_ref().map_or(0, |r| r.status),
                "http"
            );
            let wait = match outcome {
                Ok(r) if r.status == 401 && !refreshed && lock(&self.credentials).refreshable() => {
                    // The access token expired or was revoked: one more try with a new one.
                    lock(&self.credentials).refused();
                    refreshed = true;
                    continue;
                }
                Ok(r) if !retry::retryable(r.status) => return Ok(r),
                Err(e) if e.is_builder() => return Err(self.failed(Err(e), &target, tries)),
                outcome if tries > self.retries => {
                    return Err(self.failed(outcome, &target, tries));
                }
                outcome => outcome
                    .ok()
                    .and_then(|r| retry::after(&r.headers))
                    .unwrap_or_else(|| retry::backoff(self.backoff, tries)),
            };
            if wait > retry::MAX_WAIT {
                return Err(Error::RateLimited(format!(
                    "`{target}` asked to wait {} s before trying again; the rest waits for the next cycle",
                    wait.as_secs()
                )));
            }
            std::thread::sleep(wait);
        }
    }

    /// Counts one call against the day's budget.
    fn take_call(&self, target: &str) -> Result<(), Error> {
        lock(&self.ledger).take(today()).map_err(|Spent { budget, .. }| {
            Error::RateLimited(format!(
                "connector `{}` has spent its daily budget of {budget} API calls (not sent: {target}); the rest waits for the next UTC day",
                self.connector
            ))
        })
    }

    fn wait_for_rate(&self) {
        let wait = match &self.rate {
            Some(rate) => lock(rate).reserve(Instant::now()),
            None => return,
        };
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }

    /// The error for a request that got no usable response after its tries.
    fn failed(&self, outcome: Result<Response, reqwest::Error>, target: &str, tries: u32) -> Error {
        match outcome {
            Ok(r) if r.status == 429 => Error::RateLimited(format!(
                "`{target}` answered 429 (too many requests) {tries} time(s){}",
                retry::excerpt(&r.body)
            )),
            Ok(r) => Error::Unavailable(format!(
                "`{target}` answered {} {tries} time(s){}",
                r.status,
                retry::excerpt(&r.body)
            )),
            Err(e) => Error::Unavailable(format!(
                "`{target}`: {} ({tries} time(s), timeout {} s)",
                auth::cause(e),
                self.timeout.as_secs_f64()
            )),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
