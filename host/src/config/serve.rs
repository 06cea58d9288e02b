//! What `wasync serve` needs from the pipeline file: where it listens, each connector's
//! webhook secret and limits, and each pipeline's schedule.

use serde::Deserialize;

/// `[serve]`: the long-running service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// The address webhooks, `/health` and `/status` are served on (`--listen` overrides).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Days a received change is remembered after it was saved, so that a redelivery within
    /// them is recognised and taken in once.
    #[serde(default = "default_remember_days")]
    pub remember_days: u32,
    /// How often, in milliseconds, the service looks for a changed pipeline file or plugin
    /// component file (hot load); 0 turns watching off, leaving `wasync plugin reload`.
    #[serde(default = "default_watch_ms")]
    pub watch_ms: u64,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: default_listen(),
            remember_days: default_remember_days(),
            watch_ms: default_watch_ms(),
        }
    }
}

fn default_listen() -> String {
    "127.0.0.1:7870".into()
}

fn default_remember_days() -> u32 {
    7
}

/// Often enough that a swap feels immediate, rarely enough that stat-ing a few files costs
/// nothing.
fn default_watch_ms() -> u64 {
    250
}

/// `[connectors.NAME.webhook]`: the connector takes webhooks at `/webhooks/NAME`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// The shared secret requests are signed with.
    pub secret: Option<String>,
    /// An environment variable holding the secret instead.
    pub secret_env: Option<String>,
    /// How far a request's timestamp may be from now, against replays.
    #[serde(default = "default_tolerance")]
    pub tolerance_seconds: u64,
    /// Larger request bodies are refused (413) before the connector sees them.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// The service's public URL, for signatures that cover the URL (HubSpot's), when a
    /// proxy in front changes scheme or host.
    pub public_url: Option<String>,
}

fn default_tolerance() -> u64 {
    300
}

fn default_max_body() -> usize {
    1 << 20
}

impl WebhookConfig {
    /// Checks what serde cannot; `at` names the table.
    pub fn check(&self, at: &str) -> Result<(), String> {
        match (&self.secret, &self.secret_env) {
            (Some(_), Some(_)) => Err(format!("{at}: give `secret` or `secret_env`, not both")),
            (None, None) => Err(format!(
                "{at}: needs `secret_env` (an environment variable holding the signing secret) or `secret`"
            )),
            _ if self.max_body_bytes == 0 => {
                Err(format!("{at}: `max_body_bytes` must be at least 1"))
            }
            _ => Ok(()),
        }
    }

    /// The settings the connector gets under its `webhook` key, with the secret resolved
    /// from the environment; an unset variable is an error naming it (never the secret).
    pub fn settings(
        &self,
        connector: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<serde_json::Value, String> {
        let secret = match (&self.secret, &self.secret_env) {
            (Some(secret), _) => secret.clone(),
            (None, Some(var)) => env(var).filter(|s| !s.is_empty()).ok_or_else(|| {
                format!("connector `{connector}`: webhook secret variable `{var}` is not set")
            })?,
            (None, None) => return Err(format!("connector `{connector}`: no webhook secret")),
        };
        let mut settings = serde_json::json!({
            "secret": secret,
            "tolerance_seconds": self.tolerance_seconds,
        });
        if let Some(url) = &self.public_url {
            settings["public_url"] = url.trim_end_matches('/').into();
        }
        Ok(settings)
    }
}
