//! `wasync plugin inspect|call|list`: try a plugin without writing a pipeline.

use super::RuntimeArgs;
use crate::plugin::{Plugin, Runtime, World, builtin};
use crate::value::{from_json, to_json};
use anyhow::{Context, bail};
use clap::Subcommand;
use serde_json::json;
use std::io::{BufRead, Write};
use std::sync::mpsc;

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Show a plugin's world, WIT version, exports and the imports it needs.
    Inspect {
        /// A component file, or the name of a first-party plugin.
        plugin: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        runtime: RuntimeArgs,
    },
    /// Run a field transform over JSON values read one per line from stdin; writes one line
    /// per input, in order: `{"ok": VALUE}` or `{"err": "MESSAGE"}`.
    Call {
        /// A component file, or the name of a first-party plugin.
        plugin: String,
        /// The plugin's configuration, as JSON.
        #[arg(long, default_value = "{}")]
        config: String,
        /// Values per call into the plugin.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
        batch_size: u32,
        #[command(flatten)]
        runtime: RuntimeArgs,
    },
    /// List the first-party plugins built into this binary.
    List,
    /// Have a running `wasync serve` load changed plugins and its pipeline file now (hot
    /// load); prints what was swapped in and what was refused (and exits 1 if anything was).
    Reload {
        /// The pipeline file the service runs; its `[serve] listen` says where it is.
        #[arg(long, value_name = "FILE", required_unless_present = "url")]
        config: Option<std::path::PathBuf>,
        /// The service's URL instead (`http://127.0.0.1:7870`).
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// Print the answer as JSON.
        #[arg(long)]
        json: bool,
    },
}

impl PluginCommand {
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            PluginCommand::Inspect {
                plugin,
                json,
                runtime,
            } => {
                let runtime = Runtime::new(runtime.options())?;
                inspect(&runtime.load(&plugin)?, json)
            }
            PluginCommand::Call {
                plugin,
                config,
                batch_size,
                runtime,
            } => {
                let runtime = Runtime::new(runtime.options())?;
                call(
                    &runtime,
                    &runtime.load(&plugin)?,
                    &config,
                    batch_size as usize,
                )
            }
            PluginCommand::Reload { config, url, json } => {
                super::reload::run(config.as_deref(), url.as_deref(), json)
            }
            PluginCommand::List => {
                for name in builtin::names() {
                    println!("{name}");
                }
                Ok(())
            }
        }
    }
}

fn inspect(plugin: &Plugin, as_json: bool) -> anyhow::Result<()> {
    let interface = plugin.interface();
    if as_json {
        let doc = json!({
            "name": plugin.name(),
            "world": interface.world,
            "wit_version": interface.version,
            "digest": format!("sha256:{}", plugin.digest()),
            "version": plugin.version(),
            "size": plugin.size(),
            "exports": interface.exports,
            "imports": interface.imports,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    println!("name:     {}", plugin.name());
    println!("world:    wasync:plugin/{}", interface.world);
    println!("wit:      wasync:plugin@{}", interface.version);
    println!("digest:   sha256:{}", plugin.digest());
    println!("version:  {}", plugin.version());
    println!("size:     {} bytes", plugin.size());
    println!("exports:");
    for export in &interface.exports {
        println!("  {export}");
    }
    println!("imports:");
    for import in &interface.imports {
        println!("  {import}");
    }
    Ok(())
}

/// Reads lines on a thread so a batch is whatever has arrived (up to `batch_size`): piped
/// input goes through in full batches, a person typing sees each answer at once.
fn call(runtime: &Runtime, plugin: &Plugin, config: &str, batch_size: usize) -> anyhow::Result<()> {
    if plugin.world() != World::FieldTransform {
        bail!(
            "`wasync plugin call` runs field transforms; `{}` is a {} plugin",
            plugin.name(),
            plugin.world()
        );
    }
    let mut transform = runtime
        .transformer(plugin, config)
        .with_context(|| format!("cannot configure `{}` with {config}", plugin.name()))?;

    let (tx, rx) = mpsc::sync_channel::<std::io::Result<String>>(batch_size);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut line_no = 0usize;
    while let Ok(first) = rx.recv() {
        let mut lines = vec![first];
        while lines.len() < batch_size {
            match rx.try_recv() {
                Ok(line) => lines.push(line),
                Err(_) => break,
            }
        }
        // Parse each line; a bad line gets its error in place, the rest go to the plugin.
        let mut parsed = Vec::with_capacity(lines.len());
        let mut values = Vec::with_capacity(lines.len());
        for line in lines {
            line_no += 1;
            let line = line.context("reading stdin")?;
            match serde_json::from_str(&line) {
                Ok(json) => {
                    parsed.push(Ok(values.len()));
                    values.push(from_json(json));
                }
                Err(e) => parsed.push(Err(format!("line {line_no}: not a JSON value: {e}"))),
            }
        }
        let mut results = transform.apply_each(&values).into_iter();
        for entry in parsed {
            let doc = match entry {
                Ok(_) => match results.next() {
                    Some(Ok(value)) => json!({ "ok": to_json(&value) }),
                    Some(Err(failure)) => json!({ "err": failure.to_string() }),
                    None => bail!("internal: fewer results than values"),
                },
                Err(message) => json!({ "err": message }),
            };
            writeln!(out, "{doc}")?;
        }
        out.flush()?;
    }
    Ok(())
}
