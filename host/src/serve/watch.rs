//! Hot load: a watcher thread notices a changed pipeline file or plugin component file,
//! loads and checks the new version off to the side (compiled through the compile cache, its
//! world compared with the old one's, every use configured once), and only then hands it to
//! the cycle runner, which swaps it in between batches (see `cycles.rs`). A version that
//! fails any of that is refused: the old one keeps serving, and the log and `/status` say why.
//!
//! Files are polled (length and modification time, then SHA-256 to confirm), which is
//! portable and cheap for the handful of files a service uses. What is watched is "the files
//! a resolution depended on": the pipeline file, every component file it refers to, and the
//! lock file that installed packages resolve through.

use super::board::{Board, Outcome, Refused, Swapped};
use super::cycles::{Swap, Wake};
use crate::config::Config;
use crate::config::plugins::{Use, file_of};
use crate::engine::Plugins;
use crate::plugin::{Grants, Plugin, Runtime};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, SystemTime};

/// A reload asked for by hand (`POST /reload`): the answer goes back on `reply`.
pub struct Request {
    /// Where the outcome goes.
    pub reply: tokio::sync::oneshot::Sender<Outcome>,
}

/// What a file looked like when last seen.
#[derive(Clone, PartialEq, Eq)]
struct Seen {
    len: u64,
    modified: Option<SystemTime>,
    digest: String,
}

/// The watcher's state: what runs now, and what every watched file looked like.
pub struct Watcher {
    path: PathBuf,
    runtime: Arc<Runtime>,
    config: Config,
    plugins: Plugins,
    /// The pipeline file's digest when last loaded (applied or refused).
    config_digest: Option<String>,
    seen: HashMap<PathBuf, Seen>,
    board: Board,
    runner: Sender<Wake>,
    /// To the webhook intake: a configuration applied.
    intake: Sender<Config>,
}

impl Watcher {
    /// A watcher of the pipeline file `path`, whose configuration `config` runs with
    /// `plugins`; swaps go to the runner through `runner`.
    pub fn new(
        path: PathBuf,
        runtime: Arc<Runtime>,
        config: Config,
        plugins: Plugins,
        board: Board,
        runner: Sender<Wake>,
        intake: Sender<Config>,
    ) -> Watcher {
        let mut watcher = Watcher {
            path,
            runtime,
            config,
            plugins,
            config_digest: None,
            seen: HashMap::new(),
            board,
            runner,
            intake,
        };
        for file in watcher.files() {
            if let Some(seen) = look(&file, None) {
                watcher.seen.insert(file, seen);
            }
        }
        watcher.config_digest = watcher.seen.get(&watcher.path).map(|s| s.digest.clone());
        watcher
    }

    /// Polls every `every` (never when `None`) and answers requests, until the requests'
    /// senders are gone.
    pub fn run(mut self, requests: Receiver<Request>, every: Option<Duration>) {
        loop {
            let request = match every {
                Some(every) => requests.recv_timeout(every),
                None => requests.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match request {
                Ok(request) => {
                    let outcome = self.reload(true);
                    let _ = request.reply.send(outcome);
                }
                Err(RecvTimeoutError::Timeout) => {
                    if self.changed() {
                        self.reload(false);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// The files the running configuration depends on: the pipeline file, every component
    /// file it refers to, and the lock file installed packages are found through (`wasync
    /// package install` into a running service rewrites it).
    fn files(&self) -> Vec<PathBuf> {
        let mut files = vec![self.path.clone()];
        files.extend(self.config.plugin_specs().iter().filter_map(|s| file_of(s)));
        files.push(crate::package::lock_path(&self.config.dir));
        files
    }

    /// Whether any watched file differs from when it was last seen.
    fn changed(&mut self) -> bool {
        let mut changed = false;
        for file in self.files() {
            let before = self.seen.get(&file);
            match look(&file, before) {
                Some(now) if before != Some(&now) => {
                    self.seen.insert(file, now);
                    changed = true;
                }
                _ => {}
            }
        }
        changed
    }

    /// Loads what changed (everything when `forced`), checks it, and has the runner swap it
    /// in; what fails is refused and reported.
    fn reload(&mut self, forced: bool) -> Outcome {
        if forced {
            self.changed();
        }
        let mut outcome = Outcome {
            config: "unchanged".into(),
            ..Outcome::default()
        };
        // The pipeline file: parsed and checked whole, or refused whole.
        let mut config = None;
        let edited = self.seen.get(&self.path).map(|s| s.digest.clone());
        if edited.is_some() && edited != self.config_digest {
            self.config_digest = edited;
            // The webhook secrets too: the intake must be able to take the file.
            let loaded = Config::load(&self.path)
                .map_err(|e| e.to_string())
                .and_then(|c| secrets(&c).map(|()| c));
            match loaded {
                Ok(c) => config = Some(c),
                Err(error) => {
                    tracing::error!(
                        "pipeline file refused, the running configuration stays: {error}"
                    );
                    outcome.config = "refused".into();
                    outcome.config_error = Some(error.clone());
                    self.board.lock().file.error = Some(error);
                }
            }
        }
        // Plugins: each new version compiled and checked against every use. A new
        // configuration whose own new plugin is unusable cannot run: refused, and the
        // running configuration's plugins are looked at instead.
        let plugins = match config.as_ref().map(|c| self.plugins_for(c, &mut outcome)) {
            Some(Ok(plugins)) => plugins,
            Some(Err(error)) => {
                tracing::error!("pipeline file refused, the running configuration stays: {error}");
                // Tried again at the next reload, when the plugin may be fixed.
                (config, self.config_digest) = (None, None);
                outcome.config = "refused".into();
                outcome.config_error = Some(error.clone());
                outcome.refused.clear();
                self.board.lock().file.error = Some(error);
                let running = self.config.clone();
                self.plugins_for(&running, &mut outcome).unwrap_or_default()
            }
            None => {
                let running = self.config.clone();
                self.plugins_for(&running, &mut outcome).unwrap_or_default()
            }
        };
        let new_plugins: Vec<Swapped> = plugins
            .iter()
            .filter(|(spec, p)| {
                self.plugins
                    .get(*spec)
                    .is_none_or(|old| old.digest() != p.digest())
            })
            .map(|(spec, p)| Swapped {
                plugin: spec.clone(),
                from: self.plugins.get(spec).map(|o| o.version().to_owned()),
                to: p.version().to_owned(),
            })
            .collect();
        if config.is_none() && new_plugins.is_empty() {
            return outcome;
        }

        // Off to the side it all works: the runner swaps it in at its next batch boundary.
        let config_changed = config.is_some();
        let running = config.unwrap_or_else(|| self.config.clone());
        let (reply, answer) = mpsc::channel();
        let swap = Swap {
            config: running.clone(),
            config_changed,
            plugins: plugins.clone(),
            reply,
        };
        let built = match self.runner.send(Wake::Swap(Box::new(swap))) {
            Ok(()) => answer
                .recv()
                .unwrap_or_else(|_| Err("the service is stopping".into())),
            Err(_) => Err("the service is stopping".into()),
        };
        match built {
            Ok(()) => {
                for s in &new_plugins {
                    super::say(format_args!(
                        "wasync serve: plugin `{}` now serves version {}{}",
                        s.plugin,
                        s.to,
                        s.from
                            .as_deref()
                            .map(|f| format!(" (was {f})"))
                            .unwrap_or_default()
                    ));
                }
                if config_changed {
                    super::say(format_args!(
                        "wasync serve: applied {}",
                        self.path.display()
                    ));
                    outcome.config = "applied".into();
                }
                let mut board = self.board.lock();
                board.running(&plugins);
                // The intake takes a new configuration, or a new version of a connector it
                // runs, before its next delivery: from then on webhooks go the new way.
                let webhook_swapped = running.connectors.values().any(|c| {
                    c.webhook.is_some() && new_plugins.iter().any(|s| s.plugin == c.plugin)
                });
                if config_changed || webhook_swapped {
                    let _ = self.intake.send(running.clone());
                }
                if config_changed {
                    board.limits = super::intake::body_limits(&running);
                    board.config = running.clone();
                    board.file.loaded_at = crate::time::rfc3339(crate::time::now_micros());
                    board.file.error = None;
                }
                drop(board);
                self.config = running;
                self.plugins = plugins;
                outcome.swapped = new_plugins;
            }
            Err(error) => {
                tracing::error!("reload refused, the running pipelines stay: {error}");
                let mut board = self.board.lock();
                if config_changed {
                    outcome.config = "refused".into();
                    outcome.config_error = Some(error.clone());
                    board.file.error = Some(error.clone());
                }
                for s in new_plugins {
                    board.refused(&s.plugin, &error);
                    outcome.refused.push(Refused {
                        plugin: s.plugin,
                        error: error.clone(),
                    });
                }
            }
        }
        outcome
    }

    /// Every plugin `config` uses: the running version where the file has not changed or its
    /// new version is refused (said in `outcome` and on the board), else the new one. Err
    /// when a plugin that is not running yet cannot be used.
    fn plugins_for(&self, config: &Config, outcome: &mut Outcome) -> Result<Plugins, String> {
        let mut plugins = Plugins::new();
        let uses = config.plugin_uses();
        for spec in config.plugin_specs() {
            let old = self.plugins.get(&spec);
            match (self.prepare(&spec, old, &uses), old) {
                (Ok(Some(plugin)), _) => drop(plugins.insert(spec, plugin)),
                (Ok(None), Some(old)) => {
                    plugins.insert(spec.clone(), old.clone());
                    self.board.lock().clear(&spec);
                }
                (Ok(None), None) => {}
                (Err(error), Some(old)) => {
                    tracing::error!(
                        "plugin `{spec}`: new version refused, the old one keeps serving: {error}"
                    );
                    self.board.lock().refused(&spec, &error);
                    outcome.refused.push(Refused {
                        plugin: spec.clone(),
                        error,
                    });
                    plugins.insert(spec, old.clone());
                }
                (Err(error), None) => return Err(format!("plugin `{spec}`: {error}")),
            }
        }
        Ok(plugins)
    }

    /// The new version of `spec` loaded and checked, `None` when it has not changed.
    fn prepare(
        &self,
        spec: &str,
        old: Option<&Plugin>,
        uses: &[Use],
    ) -> Result<Option<Plugin>, String> {
        let plugin = match file_of(spec) {
            Some(file) => {
                let bytes = std::fs::read(&file)
                    .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
                let digest = format!("{:x}", Sha256::digest(&bytes));
                if old.is_some_and(|o| o.digest() == digest) {
                    return Ok(None);
                }
                let name = file
                    .file_stem()
                    .map_or_else(|| spec.to_owned(), |s| s.to_string_lossy().into_owned());
                self.runtime
                    .load_bytes(&name, &bytes)
                    .map_err(|e| format!("{}: {e}", file.display()))?
            }
            None => match crate::package::resolve(spec, &self.config.dir)
                .map_err(|e| e.to_string())?
            {
                // An installed package: the version the lock file pins now.
                Some(installed) => {
                    let plugin = crate::package::load_package(&self.runtime, &installed.package)
                        .map_err(|e| format!("{e:#}"))?;
                    if old.is_some_and(|o| o.digest() == plugin.digest()) {
                        return Ok(None);
                    }
                    plugin
                }
                // First-party plugins change only with the binary.
                None if old.is_some() => return Ok(None),
                None => self.runtime.load(spec).map_err(|e| e.to_string())?,
            },
        };
        if let Some(old) = old
            && old.world() != plugin.world()
        {
            return Err(format!(
                "{spec}: it implements {}, the running version {} (a plugin keeps its world)",
                plugin.world(),
                old.world()
            ));
        }
        for u in uses.iter().filter(|u| u.plugin == spec) {
            check_use(&self.runtime, &plugin, u).map_err(|e| format!("{}: {e:#}", u.at))?;
        }
        Ok(Some(plugin))
    }
}

/// Whether every webhook connector's secret can be had (from the file or its variable).
fn secrets(config: &Config) -> Result<(), String> {
    for (name, connector) in &config.connectors {
        if connector.webhook.is_some() {
            connector.plugin_config(name, |var| std::env::var(var).ok())?;
        }
    }
    Ok(())
}

/// Configures `plugin` once as `u` asks: the world it must implement, and its constructor's
/// verdict on the configuration. Nothing is granted: a constructor that needs the network
/// or the store is wrong anyway.
fn check_use(runtime: &Runtime, plugin: &Plugin, u: &Use) -> anyhow::Result<()> {
    runtime.configure(plugin, u.world, &u.config, Grants::default())
}

/// What `file` looks like now; its digest is read again only when its length or time moved
/// since `before`. `None` when it cannot be read (being replaced, or gone).
fn look(file: &Path, before: Option<&Seen>) -> Option<Seen> {
    let meta = std::fs::metadata(file).ok()?;
    let (len, modified) = (meta.len(), meta.modified().ok());
    if let Some(b) = before
        && b.len == len
        && b.modified == modified
    {
        return Some(b.clone());
    }
    let bytes = std::fs::read(file).ok()?;
    Some(Seen {
        len: bytes.len() as u64,
        modified,
        digest: format!("{:x}", Sha256::digest(&bytes)),
    })
}
