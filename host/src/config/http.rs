//! A connector's `[connectors.NAME.http]` table: which hosts it may reach, how fast and how
//! often, and the credentials the host injects for it. Documented in `docs/config.md`.

use serde::Deserialize;

/// How a connector reaches the network. Without this table a connector has no network.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Hosts the connector may reach: `api.hubapi.com` (its scheme's default port),
    /// `127.0.0.1:8080`, or `*.my.salesforce.com` (any subdomain). Anything else is refused
    /// before a socket opens.
    pub hosts: Vec<String>,
    /// Seconds before a request without an answer is abandoned (and retried).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: f64,
    /// Retries after the first try, for 429, 5xx, timeouts and refused connections.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// The first backoff in milliseconds; each retry doubles it, with jitter. A
    /// `Retry-After` from the server wins.
    #[serde(default = "default_backoff")]
    pub backoff_ms: u64,
    /// At most this many requests per window.
    pub rate: Option<RateConfig>,
    /// API calls per UTC day; a cycle that reaches it stops at the next batch boundary.
    pub daily_budget: Option<u64>,
    /// Credentials the host adds to every request; the plugin never sees them.
    pub auth: Option<AuthConfig>,
    /// Where a rotated OAuth refresh token is kept (next to the store, set when the file is
    /// loaded; see `capabilities::http::kept`).
    #[serde(skip)]
    pub token_file: Option<std::path::PathBuf>,
}

fn default_timeout() -> f64 {
    30.0
}

fn default_retries() -> u32 {
    4
}

fn default_backoff() -> u64 {
    500
}

/// A rate limit: `requests` per `per_seconds`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateConfig {
    /// Requests allowed in one window.
    pub requests: u32,
    /// The window, in seconds.
    pub per_seconds: f64,
}

/// Credentials, each secret given inline or (better) as the name of an environment
/// variable that holds it: `token = "..."` or `token_env = "HUBSPOT_TOKEN"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum AuthConfig {
    /// `Authorization: Bearer <token>` (a private-app token, a session id).
    Bearer {
        /// The token.
        token: Option<String>,
        /// An environment variable holding it.
        token_env: Option<String>,
    },
    /// An API key in a header (`header = "X-API-Key"`) or a query parameter
    /// (`query = "hapikey"`).
    ApiKey {
        /// The key.
        key: Option<String>,
        /// An environment variable holding it.
        key_env: Option<String>,
        /// The header that carries it.
        header: Option<String>,
        /// The query parameter that carries it.
        query: Option<String>,
    },
    /// OAuth 2.0 with a refresh token: the host gets an access token from `token_url`,
    /// sends it as a bearer token, and gets a new one when it expires or is refused (401).
    Oauth2 {
        /// The token endpoint (`https://login.salesforce.com/services/oauth2/token`).
        token_url: String,
        /// The client id (not a secret).
        client_id: String,
        /// The client secret.
        client_secret: Option<String>,
        /// An environment variable holding it.
        client_secret_env: Option<String>,
        /// The refresh token.
        refresh_token: Option<String>,
        /// An environment variable holding it.
        refresh_token_env: Option<String>,
    },
}

impl HttpConfig {
    /// What the types cannot say; `at` names the table.
    pub(super) fn check(&self, at: &str) -> Result<(), String> {
        if self.hosts.is_empty() {
            return Err(format!("{at}.hosts: lists no host"));
        }
        for host in &self.hosts {
            if host.is_empty() || host.contains(['/', '?', '#', '@']) || host.contains("://") {
                return Err(format!(
                    "{at}.hosts: `{host}` is not a host (write `api.example.com`, `127.0.0.1:8080` or `*.example.com`)"
                ));
            }
        }
        if !(self.timeout_seconds.is_finite() && self.timeout_seconds > 0.0) {
            return Err(format!("{at}.timeout_seconds: must be more than 0"));
        }
        if let Some(rate) = self.rate
            && (rate.requests == 0 || !(rate.per_seconds.is_finite() && rate.per_seconds > 0.0))
        {
            return Err(format!(
                "{at}.rate: `requests` must be at least 1 and `per_seconds` more than 0"
            ));
        }
        if self.daily_budget == Some(0) {
            return Err(format!("{at}.daily_budget: must be at least 1"));
        }
        match &self.auth {
            None => Ok(()),
            Some(AuthConfig::Bearer { token, token_env }) => {
                one_of(at, "auth.token", token, token_env)
            }
            Some(AuthConfig::ApiKey {
                key,
                key_env,
                header,
                query,
            }) => {
                one_of(at, "auth.key", key, key_env)?;
                match (header, query) {
                    (Some(_), None) | (None, Some(_)) => Ok(()),
                    _ => Err(format!(
                        "{at}.auth: an api-key needs exactly one of `header` or `query`"
                    )),
                }
            }
            Some(AuthConfig::Oauth2 {
                client_secret,
                client_secret_env,
                refresh_token,
                refresh_token_env,
                ..
            }) => {
                one_of(at, "auth.client_secret", client_secret, client_secret_env)?;
                one_of(at, "auth.refresh_token", refresh_token, refresh_token_env)
            }
        }
    }
}

/// Exactly one of a secret and its environment variable; `key` is `auth.token` and the like.
fn one_of(
    at: &str,
    key: &str,
    inline: &Option<String>,
    env: &Option<String>,
) -> Result<(), String> {
    let name = key.rsplit('.').next().unwrap_or(key);
    match (inline, env) {
        (Some(_), None) | (None, Some(_)) => Ok(()),
        _ => Err(format!(
            "{at}.{key}: give exactly one of `{name}` and `{name}_env`"
        )),
    }
}
