//! Credentials the host adds to a connector's requests, so that the plugin never handles
//! them: a bearer token, an API key, or OAuth 2.0 access tokens got with a refresh token.
//!
//! Secrets live in [`Secret`], whose `Debug` never shows them; errors name the key or the
//! variable a secret came from, never its value.

use super::kept::{self, KEY_VARIABLE, Kept};
use crate::config::AuthConfig;
use reqwest::Url;
use reqwest::blocking::{Client, RequestBuilder};
use serde::Deserialize;
use std::time::{Duration, Instant};

/// A credential. Shown as `<secret>` by `Debug`; never in a log, an error or the store.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret>")
    }
}

impl Secret {
    fn expose(&self) -> &str {
        &self.0
    }
}

/// What the host adds to each request.
#[derive(Debug)]
pub enum Credentials {
    /// Nothing.
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// An API key in a header.
    KeyHeader {
        /// The header's name.
        header: String,
        /// The key.
        key: Secret,
    },
    /// An API key in a query parameter.
    KeyQuery {
        /// The parameter's name.
        param: String,
        /// The key.
        key: Secret,
    },
    /// OAuth 2.0 access tokens from a refresh token.
    OAuth(Box<OAuth>),
}

/// The OAuth 2.0 refresh-token flow's state: the current access token, kept in memory.
#[derive(Debug)]
pub struct OAuth {
    token_url: Url,
    client_id: String,
    client_secret: Secret,
    refresh_token: Secret,
    access: Option<Access>,
    /// Where a rotated refresh token is kept across restarts.
    kept: Option<Kept>,
    /// The instance the last token response named (`instance_url`, as Salesforce's does):
    /// where a connector's requests by path go.
    instance: Option<Url>,
}

#[derive(Debug)]
struct Access {
    token: Secret,
    /// When the provider said it expires, less a margin; `None`: until refused.
    expires: Option<Instant>,
}

/// A refresh a few seconds before the provider's expiry avoids a refused request.
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);

/// The token endpoint's answer (RFC 6749 §5.1).
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
    refresh_token: Option<String>,
    /// Where calls should go (Salesforce); not in RFC 6749.
    #[serde(default)]
    instance_url: Option<String>,
}

impl Credentials {
    /// Resolves the configured credentials; `env` reads environment variables. `at` names
    /// the table for errors. An OAuth refresh token rotated by an earlier process, kept in
    /// `token_file`, wins over the configured one it descends from.
    pub fn new(
        config: Option<&AuthConfig>,
        token_file: Option<std::path::PathBuf>,
        at: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Credentials, String> {
        let secret = |key: &str, inline: &Option<String>, var: &Option<String>| match (inline, var)
        {
            (Some(value), _) => Ok(Secret(value.clone())),
            (None, Some(var)) => env(var)
                .filter(|v| !v.is_empty())
                .map(Secret)
                .ok_or_else(|| {
                    format!("{at}.auth.{key}_env: the environment variable `{var}` is not set")
                }),
            (None, None) => Err(format!("{at}.auth.{key}: missing")),
        };
        Ok(match config {
            None => Credentials::None,
            Some(AuthConfig::Bearer { token, token_env }) => {
                Credentials::Bearer(secret("token", token, token_env)?)
            }
            Some(AuthConfig::ApiKey {
                key,
                key_env,
                header,
                query,
            }) => {
                let key = secret("key", key, key_env)?;
                match (header, query) {
                    (Some(header), _) => Credentials::KeyHeader {
                        header: header.clone(),
                        key,
                    },
                    (None, Some(param)) => Credentials::KeyQuery {
                        param: param.clone(),
                        key,
                    },
                    (None, None) => return Err(format!("{at}.auth: `header` or `query` missing")),
                }
            }
            Some(AuthConfig::Oauth2 {
                token_url,
                client_id,
                client_secret,
                client_secret_env,
                refresh_token,
                refresh_token_env,
            }) => {
                let configured = secret("refresh_token", refresh_token, refresh_token_env)?;
                let key = match env(KEY_VARIABLE).filter(|k| !k.is_empty()) {
                    Some(text) => Some(kept::key_from(&text)?),
                    None => None,
                };
                let kept = token_file.map(|path| Kept::new(path, configured.expose(), key));
                let refresh_token = match kept.as_ref().map(Kept::load).transpose() {
                    Ok(Some(Some(rotated))) => Secret(rotated),
                    Ok(_) => configured,
                    Err(e) => return Err(format!("{at}.auth: {e}")),
                };
                Credentials::OAuth(Box::new(OAuth {
                    token_url: Url::parse(token_url)
                        .map_err(|e| format!("{at}.auth.token_url: `{token_url}`: {e}"))?,
                    client_id: client_id.clone(),
                    client_secret: secret("client_secret", client_secret, client_secret_env)?,
                    refresh_token,
                    access: None,
                    kept,
                    instance: None,
                }))
            }
        })
    }

    /// Whether a 401 may be cured by getting a new token.
    pub fn refreshable(&self) -> bool {
        matches!(self, Credentials::OAuth(_))
    }

    /// Adds the credentials to `url` (a query key) before the request is built.
    pub fn apply_to_url(&self, url: &mut Url) {
        if let Credentials::KeyQuery { param, key } = self {
            url.query_pairs_mut().append_pair(param, key.expose());
        }
    }

    /// Adds the credentials to a request, getting an access token first if there is none
    /// or it has expired.
    pub fn apply(
        &mut self,
        request: RequestBuilder,
        client: &Client,
        timeout: Duration,
    ) -> Result<RequestBuilder, String> {
        Ok(match self {
            Credentials::None | Credentials::KeyQuery { .. } => request,
            Credentials::Bearer(token) => request.bearer_auth(token.expose()),
            Credentials::KeyHeader { header, key } => request.header(header.as_str(), key.expose()),
            Credentials::OAuth(oauth) => {
                let fresh = oauth
                    .access
                    .as_ref()
                    .is_some_and(|a| a.expires.is_none_or(|e| Instant::now() < e));
                if !fresh {
                    oauth.refresh(client, timeout)?;
                }
                match &oauth.access {
                    Some(access) => request.bearer_auth(access.token.expose()),
                    None => request,
                }
            }
        })
    }

    /// The URL of a request a connector made by path (`/services/data/...`): on the instance
    /// the OAuth token response named, getting a token first if there is none yet.
    pub fn resolve(
        &mut self,
        path: &str,
        client: &Client,
        timeout: Duration,
    ) -> Result<Url, String> {
        let Credentials::OAuth(oauth) = self else {
            return Err(format!(
                "`{path}` is a path without a host: only a connector with OAuth credentials \
                 whose token response names an `instance_url` may send one"
            ));
        };
        // The first request gets the first token, and with it the instance; a provider that
        // names none is not asked again per request.
        if oauth.instance.is_none() && oauth.access.is_none() {
            oauth.refresh(client, timeout)?;
        }
        let instance = oauth.instance.as_ref().ok_or_else(|| {
            format!(
                "`{path}` is a path without a host, and the OAuth token response named no \
                 `instance_url` to send it to"
            )
        })?;
        instance
            .join(path)
            .map_err(|e| format!("`{path}` on the instance `{instance}`: {e}"))
    }

    /// Forgets the access token after a 401, so the next [`apply`](Self::apply) gets a
    /// new one.
    pub fn refused(&mut self) {
        if let Credentials::OAuth(oauth) = self {
            oauth.access = None;
        }
    }
}

impl OAuth {
    /// Trades the refresh token for an access token (and keeps a rotated refresh token).
    fn refresh(&mut self, client: &Client, timeout: Duration) -> Result<(), String> {
        let endpoint = format!(
            "{}{}",
            self.token_url.host_str().unwrap_or_default(),
            self.token_url.path()
        );
        let response = client
            .post(self.token_url.clone())
            .timeout(timeout)
            .form(&[
                ("grant_type", "refresh_token"),
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.client_secret.expose()),
                ("refresh_token", self.refresh_token.expose()),
            ])
            .send()
            .map_err(|e| format!("cannot refresh the OAuth token at {endpoint}: {}", cause(e)))?;
        let status = response.status();
        let body = response.bytes().unwrap_or_default();
        if status.is_client_error() && self.take_newer_kept() {
            // Another client (a webhook's, another process) rotated the token since this one
            // read it, and kept the new one: try again with that.
            return self.refresh(client, timeout);
        }
        if !status.is_success() {
            return Err(format!(
                "the OAuth token endpoint {endpoint} refused the refresh token ({status}){}",
                provider_reason(&body)
            ));
        }
        let token: TokenResponse = serde_json::from_slice(&body).map_err(|_| {
            format!("the OAuth token endpoint {endpoint} answered without an access token")
        })?;
        if let Some(rotated) = token.refresh_token.filter(|t| !t.is_empty()) {
            let rotated = Secret(rotated);
            if rotated != self.refresh_token
                && let Some(Err(e)) = self.kept.as_ref().map(|k| k.save(rotated.expose()))
            {
                // The new token works for this process; the next one will have to be
                // given a new authorization: say so, loudly, without the token.
                tracing::error!(endpoint, "{e}");
            }
            self.refresh_token = rotated;
        }
        if let Some(instance) = token.instance_url.filter(|u| !u.is_empty()) {
            match Url::parse(&instance) {
                Ok(url) if matches!(url.scheme(), "https" | "http") => self.instance = Some(url),
                _ => tracing::warn!(
                    endpoint,
                    instance,
                    "the token response's instance_url is not an http(s) URL"
                ),
            }
        }
        self.access = Some(Access {
            token: Secret(token.access_token),
            expires: token
                .expires_in
                .map(|s| Instant::now() + Duration::from_secs(s).saturating_sub(EXPIRY_MARGIN)),
        });
        tracing::info!(endpoint, "got a new OAuth access token");
        Ok(())
    }
}

impl OAuth {
    /// Switches to the kept refresh token when it differs from the one held; says whether.
    fn take_newer_kept(&mut self) -> bool {
        let Some(Ok(Some(kept))) = self.kept.as_ref().map(Kept::load) else {
            return false;
        };
        let kept = Secret(kept);
        if kept == self.refresh_token {
            return false;
        }
        self.refresh_token = kept;
        true
    }
}

/// The provider's own reason for refusing, from the documented error fields only: the body
/// as a whole is never echoed.
fn provider_reason(body: &[u8]) -> String {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
        return String::new();
    };
    let text = |key: &str| json.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    let reason: Vec<String> = ["error", "error_description", "status", "message"]
        .iter()
        .filter_map(|k| text(k))
        .collect();
    if reason.is_empty() {
        String::new()
    } else {
        format!(": {}", reason.join(": "))
    }
}

/// A reqwest error's cause without its URL, which may carry a query key.
pub fn cause(error: reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".into()
    } else if error.is_connect() {
        "cannot connect".into()
    } else {
        error.without_url().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug() {
        let c = Credentials::new(
            Some(&AuthConfig::Bearer {
                token: Some("s3cr3t-token".into()),
                token_env: None,
            }),
            None,
            "connectors.x.http",
            |_| None,
        )
        .expect("valid");
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }

    #[test]
    fn a_missing_variable_is_named_not_shown() {
        let e = Credentials::new(
            Some(&AuthConfig::Bearer {
                token: None,
                token_env: Some("HS_TOKEN".into()),
            }),
            None,
            "connectors.hubspot.http",
            |_| None,
        )
        .expect_err("unset");
        assert_eq!(
            e,
            "connectors.hubspot.http.auth.token_env: the environment variable `HS_TOKEN` is not set"
        );
    }
}
