//! What hot load tells people: per plugin the version serving and the last refused one's
//! reason, and the pipeline file's last reload. Shared by the watcher (which writes it) and
//! the HTTP front (`GET /status`, `POST /reload`).

use crate::config::Config;
use crate::engine::Plugins;
use crate::time::now_micros;
use crate::time::rfc3339;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

/// A plugin as `/status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PluginState {
    /// Its name: the first-party name or the file's stem.
    pub name: String,
    /// How the pipeline file refers to it (resolved).
    pub plugin: String,
    /// The version serving.
    pub version: String,
    /// `sha256:` of the component serving.
    pub digest: String,
    /// The component file, if it is one (watched).
    pub file: Option<PathBuf>,
    /// When the version serving was swapped in (RFC 3339).
    pub loaded_at: String,
    /// Why the last new version of the file was refused; `None` once one is taken.
    pub error: Option<String>,
}

/// The pipeline file as `/status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigState {
    /// The file.
    pub file: PathBuf,
    /// When the configuration running was applied (RFC 3339).
    pub loaded_at: String,
    /// Why the last edit was refused; `None` once one is applied.
    pub error: Option<String>,
}

/// What a reload did, as `POST /reload` answers it and `wasync plugin reload` prints it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Outcome {
    /// `unchanged`, `applied` or `refused`.
    pub config: String,
    /// Why the pipeline file was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_error: Option<String>,
    /// Plugins now serving a new version.
    pub swapped: Vec<Swapped>,
    /// New versions refused; the old ones keep serving.
    pub refused: Vec<Refused>,
}

/// A plugin swapped to a new version.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Swapped {
    /// The plugin reference.
    pub plugin: String,
    /// The version before, if it was loaded before.
    pub from: Option<String>,
    /// The version now.
    pub to: String,
}

/// A new version refused.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Refused {
    /// The plugin reference.
    pub plugin: String,
    /// Why.
    pub error: String,
}

/// The shared board.
#[derive(Clone)]
pub struct Board(Arc<Mutex<State>>);

/// What the board holds.
pub struct State {
    /// The configuration running.
    pub config: Config,
    /// The largest body each webhook connector of `config` takes.
    pub limits: HashMap<String, usize>,
    /// The pipeline file's reloads.
    pub file: ConfigState,
    /// Plugins by reference.
    pub plugins: BTreeMap<String, PluginState>,
}

impl Board {
    /// A board for `config` (whose webhook connectors take bodies up to `limits`), loaded
    /// from `file`, running `plugins`.
    pub fn new(
        config: Config,
        limits: HashMap<String, usize>,
        file: PathBuf,
        plugins: &Plugins,
    ) -> Board {
        let now = rfc3339(now_micros());
        let mut state = State {
            config,
            limits,
            file: ConfigState {
                file,
                loaded_at: now,
                error: None,
            },
            plugins: BTreeMap::new(),
        };
        state.running(plugins);
        Board(Arc::new(Mutex::new(state)))
    }

    /// The state, even if a holder panicked (it is only ever replaced whole, field by field).
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    /// Records `plugins` as what runs: new versions get `loaded_at` now and lose their error;
    /// plugins no longer used are forgotten.
    pub fn running(&mut self, plugins: &Plugins) {
        let now = rfc3339(now_micros());
        self.plugins.retain(|spec, _| plugins.contains_key(spec));
        for (spec, plugin) in plugins {
            let same = self
                .plugins
                .get(spec)
                .is_some_and(|p| p.digest.ends_with(plugin.digest()));
            if same {
                continue;
            }
            self.plugins.insert(
                spec.clone(),
                PluginState {
                    name: plugin.name().to_owned(),
                    plugin: spec.clone(),
                    version: plugin.version().to_owned(),
                    digest: format!("sha256:{}", plugin.digest()),
                    file: crate::config::plugins::file_of(spec),
                    loaded_at: now.clone(),
                    error: None,
                },
            );
        }
    }

    /// Records that a new version of `spec` was refused.
    pub fn refused(&mut self, spec: &str, error: &str) {
        if let Some(p) = self.plugins.get_mut(spec) {
            p.error = Some(error.to_owned());
        }
    }

    /// Records that the file of `spec` is the version serving again: no error stands.
    pub fn clear(&mut self, spec: &str) {
        if let Some(p) = self.plugins.get_mut(spec) {
            p.error = None;
        }
    }

    /// The plugins as `/status` lists them.
    pub fn plugins_json(&self) -> serde_json::Value {
        serde_json::to_value(self.plugins.values().collect::<Vec<_>>())
            .unwrap_or(serde_json::Value::Null)
    }
}
