//! `wasync plugin reload`: asks a running `wasync serve` to look at its plugins and pipeline
//! file now (`POST /reload`), and prints what it swapped in and what it refused.

use crate::config::Config;
use crate::out::outln;
use crate::serve::Outcome;
use anyhow::{Context, bail};
use serde_json::Value as Json;
use std::path::Path;
use std::time::Duration;

/// How long a reload may take: compiling a large component on a busy machine, then waiting
/// for the batch in flight to finish.
const TIMEOUT: Duration = Duration::from_secs(300);

/// Reloads the service at `url`, else the one `config`'s `[serve] listen` names.
pub fn run(config: Option<&Path>, url: Option<&str>, as_json: bool) -> anyhow::Result<()> {
    let base = match (url, config) {
        (Some(url), _) => url.trim_end_matches('/').to_owned(),
        (None, Some(config)) => {
            let config = Config::load(config)?;
            let listen = config.serve.listen.replace("0.0.0.0", "127.0.0.1");
            format!("http://{listen}")
        }
        (None, None) => bail!("say which service: --config FILE or --url URL"),
    };
    let client = reqwest::blocking::Client::builder()
        .timeout(TIMEOUT)
        .build()?;
    let response = client
        .post(format!("{base}/reload"))
        .send()
        .with_context(|| format!("no wasync serve answers at {base}"))?;
    let status = response.status();
    let body: Json = response
        .json()
        .with_context(|| format!("{base}/reload did not answer JSON"))?;
    if !status.is_success() {
        bail!("{base}/reload answered {status}: {body}");
    }
    let outcome: Outcome = serde_json::from_value(body.clone())
        .with_context(|| format!("{base}/reload answered something else: {body}"))?;
    if as_json {
        outln!("{body}")?;
    } else {
        print(&outcome)?;
    }
    let refused = outcome.refused.len() + usize::from(outcome.config == "refused");
    if refused > 0 {
        bail!("{refused} refused; the versions before them keep serving");
    }
    Ok(())
}

fn print(outcome: &Outcome) -> anyhow::Result<()> {
    match &outcome.config_error {
        Some(error) => outln!("config: refused: {error}")?,
        None => outln!("config: {}", outcome.config)?,
    }
    for s in &outcome.swapped {
        match &s.from {
            Some(from) => outln!("swapped: {} {from} -> {}", s.plugin, s.to)?,
            None => outln!("loaded: {} {}", s.plugin, s.to)?,
        }
    }
    for r in &outcome.refused {
        outln!("refused: {}: {}", r.plugin, r.error)?;
    }
    if outcome.swapped.is_empty() && outcome.refused.is_empty() {
        outln!("plugins: unchanged")?;
    }
    Ok(())
}
