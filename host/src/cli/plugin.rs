//! `wasync plugin inspect|call|list|new|build|test`: make, build and try a plugin without
//! writing a pipeline.

use super::RuntimeArgs;
use super::build::{self, Lang};
use super::records::{outcome_to_json, parse_record_line};
use super::scaffold::{self, Kind};
use super::smoke;
use crate::out::{self, outln};
use crate::plugin::{Failure, Function, Grants, Plugin, Runtime, World, builtin, producers};
use crate::value::{from_json, to_json};
use anyhow::{Context, bail};
use clap::Subcommand;
use serde_json::json;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Show a plugin's world, WIT version, exports and the imports it needs.
    Inspect {
        /// A component file, the name of a first-party plugin, or an installed package
        /// (`acme:enrich`).
        plugin: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// The pipeline file whose `wasync.lock` pins installed packages [default: the
        /// wasync.lock in the current folder].
        #[arg(long, value_name = "FILE")]
        pipeline_file: Option<PathBuf>,
        #[command(flatten)]
        runtime: RuntimeArgs,
    },
    /// Run a plugin over JSON lines from stdin; writes one line per input, in order.
    ///
    /// A field transform reads values and writes `{"ok": VALUE}` or `{"err": "MESSAGE"}`. An
    /// entity function reads records (`{"id": "1", "fields": {"Type": "Customer"}}`) and
    /// writes `{"keep": RECORD}`, `{"stop": "REASON"}`, `{"attach": ...}` or `{"err": ...}`.
    Call {
        /// A component file, the name of a first-party plugin, or an installed package
        /// (`acme:enrich`).
        plugin: String,
        /// The plugin's configuration, as JSON.
        #[arg(long, default_value = "{}")]
        config: String,
        /// Values per call into the plugin.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
        batch_size: u32,
        /// Entity functions: the unified entity the records are on their way to.
        #[arg(long, default_value = "Account")]
        entity: String,
        /// The pipeline file whose `wasync.lock` pins installed packages [default: the
        /// wasync.lock in the current folder].
        #[arg(long, value_name = "FILE")]
        pipeline_file: Option<PathBuf>,
        #[command(flatten)]
        runtime: RuntimeArgs,
    },
    /// List the first-party plugins built into this binary.
    List,
    /// Make a new plugin folder that builds with `wasync plugin build` and has a smoke test.
    New {
        /// The language.
        #[arg(long, value_enum)]
        lang: Lang,
        /// What kind of plugin.
        #[arg(long, value_enum, default_value = "transform")]
        kind: Kind,
        /// The plugin's folder; its last part is the plugin's name.
        name: PathBuf,
    },
    /// Build the plugin in a folder, whatever its language; prints the component's path.
    Build {
        /// The plugin's folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Build the plugin in a folder, then run its `smoke.json` through the host.
    Test {
        /// The plugin's folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
        #[command(flatten)]
        runtime: RuntimeArgs,
    },
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
                pipeline_file,
                runtime,
            } => {
                let runtime = Runtime::new(runtime.options())?;
                let (loaded, component) = load(&runtime, &plugin, pipeline_file.as_deref())?;
                inspect(&plugin, &loaded, component.as_deref(), json)
            }
            PluginCommand::Call {
                plugin,
                config,
                batch_size,
                entity,
                pipeline_file,
                runtime,
            } => {
                let runtime = Runtime::new(runtime.options())?;
                let (plugin, _) = load(&runtime, &plugin, pipeline_file.as_deref())?;
                match plugin.world() {
                    World::EntityFunction => {
                        call_function(&runtime, &plugin, &config, &entity, batch_size as usize)
                    }
                    _ => call(&runtime, &plugin, &config, batch_size as usize),
                }
            }
            PluginCommand::Reload { config, url, json } => {
                super::reload::run(config.as_deref(), url.as_deref(), json)
            }
            PluginCommand::List => {
                for name in builtin::names() {
                    outln!("{name}")?;
                }
                Ok(())
            }
            PluginCommand::New { lang, kind, name } => {
                let dir = scaffold::new(&name, lang, kind)?;
                outln!("made {}", dir.display())?;
                outln!("build it:  wasync plugin build {}", dir.display())?;
                outln!("test it:   wasync plugin test {}", dir.display())?;
                Ok(())
            }
            PluginCommand::Build { dir } => {
                let out = build::build(&dir)?;
                outln!("{}", out.display())?;
                Ok(())
            }
            PluginCommand::Test { dir, runtime } => {
                let smoke = smoke::read(&dir)?;
                let out = build::build(&dir)?;
                let runtime = Runtime::new(runtime.options())?;
                let plugin = runtime
                    .load_file(&out)
                    .with_context(|| format!("loading {}", out.display()))?;
                smoke::run(&runtime, &plugin, &smoke)
            }
        }
    }
}

/// The plugin `spec` names: an installed package (found through the lock file beside
/// `pipeline_file`, else in the current folder, and checked against its digest as a
/// pipeline's load does), a component file or a first-party plugin. With a package's
/// component, which is in no file of its own.
fn load(
    runtime: &Runtime,
    spec: &str,
    pipeline_file: Option<&Path>,
) -> anyhow::Result<(Plugin, Option<Vec<u8>>)> {
    let dir = match pipeline_file {
        Some(file) if !file.is_file() => bail!("pipeline file {} does not exist", file.display()),
        Some(file) => file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_owned(),
        None => PathBuf::from("."),
    };
    let installed = crate::package::resolve(spec, &dir).with_context(|| match pipeline_file {
        Some(file) => format!("`{spec}` is a package name, looked up for {}", file.display()),
        None => format!(
            "`{spec}` is a package name, looked up in the current folder (name the pipeline file it is installed for with --pipeline-file FILE)"
        ),
    })?;
    match installed {
        Some(installed) => Ok((
            crate::package::load_package(runtime, &installed.package)?,
            Some(installed.package.component),
        )),
        None => Ok((runtime.load(spec)?, None)),
    }
}

fn inspect(
    spec: &str,
    plugin: &Plugin,
    component: Option<&[u8]>,
    as_json: bool,
) -> anyhow::Result<()> {
    let interface = plugin.interface();
    let producers = match (component, builtin::find(spec)) {
        (Some(bytes), _) => producers::read(bytes),
        (None, Some(bytes)) if !Path::new(spec).exists() => producers::read(bytes),
        _ => producers::read(&std::fs::read(spec).with_context(|| format!("reading {spec}"))?),
    };
    if as_json {
        let doc = json!({
            "name": plugin.name(),
            "world": interface.world,
            "wit_version": interface.version,
            "digest": format!("sha256:{}", plugin.digest()),
            "version": plugin.version(),
            "size": plugin.size(),
            "rate": plugin.declared_rate().map(|r| json!({"requests": r.requests, "per_seconds": r.per_seconds})),
            "exports": interface.exports,
            "imports": interface.imports,
            "producers": producers,
        });
        outln!("{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(());
    }
    outln!("name:     {}", plugin.name())?;
    outln!("world:    wasync:plugin/{}", interface.world)?;
    outln!("wit:      wasync:plugin@{}", interface.version)?;
    outln!("digest:   sha256:{}", plugin.digest())?;
    outln!("version:  {}", plugin.version())?;
    outln!("size:     {} bytes", plugin.size())?;
    if let Some(rate) = plugin.declared_rate() {
        outln!(
            "rate:     {} requests per {} s (declared; a pipeline file's `http.rate` wins)",
            rate.requests,
            rate.per_seconds
        )?;
    }
    let tools = |list: &[producers::Tool]| {
        list.iter()
            .map(|t| format!("{} {}", t.name, t.version).trim().to_owned())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !producers.language.is_empty() {
        outln!("language: {}", tools(&producers.language))?;
    }
    if !producers.processed_by.is_empty() {
        outln!("built by: {}", tools(&producers.processed_by))?;
    }
    if !producers.sdk.is_empty() {
        outln!("sdk:      {}", tools(&producers.sdk))?;
    }
    outln!("exports:")?;
    for export in &interface.exports {
        outln!("  {export}")?;
    }
    outln!("imports:")?;
    for import in &interface.imports {
        outln!("  {import}")?;
    }
    Ok(())
}

/// Reads stdin on a thread and hands it out in batches of whatever has arrived (up to
/// `batch_size`): piped input goes through in full batches, a person typing sees each answer
/// at once.
fn batches(batch_size: usize) -> impl Iterator<Item = Vec<std::io::Result<String>>> {
    let (tx, rx) = mpsc::sync_channel::<std::io::Result<String>>(batch_size);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    std::iter::from_fn(move || {
        let first = rx.recv().ok()?;
        let mut lines = vec![first];
        while lines.len() < batch_size {
            match rx.try_recv() {
                Ok(line) => lines.push(line),
                Err(_) => break,
            }
        }
        Some(lines)
    })
}

/// Runs an entity function over records read one per line.
fn call_function(
    runtime: &Runtime,
    plugin: &Plugin,
    config: &str,
    entity: &str,
    batch_size: usize,
) -> anyhow::Result<()> {
    let mut function: Function = runtime
        .instance(plugin, config, Grants::default())
        .with_context(|| format!("cannot configure `{}` with {config}", plugin.name()))?;
    answer_lines(
        batch_size,
        |line, line_no| parse_record_line(line, line_no).map_err(|e| format!("{e:#}")),
        |records| function.isolate(records, |f, chunk| f.apply(entity, chunk)),
        outcome_to_json,
    )
}

/// Runs a field transform over values read one per line.
fn call(runtime: &Runtime, plugin: &Plugin, config: &str, batch_size: usize) -> anyhow::Result<()> {
    if plugin.world() != World::FieldTransform {
        bail!(
            "`wasync plugin call` runs field transforms and entity functions; `{}` implements the {} world",
            plugin.name(),
            plugin.world()
        );
    }
    let mut transform = runtime
        .transformer(plugin, config)
        .with_context(|| format!("cannot configure `{}` with {config}", plugin.name()))?;
    answer_lines(
        batch_size,
        |line, line_no| {
            serde_json::from_str(line)
                .map(from_json)
                .map_err(|e| format!("line {line_no}: not a JSON value: {e}"))
        },
        |values| transform.apply_each(values),
        |value| json!({ "ok": to_json(value) }),
    )
}

/// The loop `plugin call` runs for every world: reads stdin in batches, parses each line (a
/// bad line gets its error in place), calls the plugin once on the batch's good items, and
/// prints one JSON line per input line, in order.
fn answer_lines<I, O>(
    batch_size: usize,
    mut parse: impl FnMut(&str, usize) -> Result<I, String>,
    mut call: impl FnMut(&[I]) -> Vec<Result<O, Failure>>,
    render: impl Fn(&O) -> serde_json::Value,
) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut line_no = 0usize;
    for lines in batches(batch_size) {
        let mut refused = Vec::with_capacity(lines.len());
        let mut items = Vec::with_capacity(lines.len());
        for line in lines {
            line_no += 1;
            let line = line.context("reading stdin")?;
            match parse(&line, line_no) {
                Ok(item) => {
                    refused.push(None);
                    items.push(item);
                }
                Err(message) => refused.push(Some(message)),
            }
        }
        let mut results = call(&items).into_iter();
        for entry in refused {
            let doc = match entry {
                None => match results.next() {
                    Some(Ok(output)) => render(&output),
                    Some(Err(failure)) => json!({ "err": failure.to_string() }),
                    None => bail!("internal: fewer results than inputs"),
                },
                Some(message) => json!({ "err": message }),
            };
            out::checked(writeln!(out, "{doc}"))?;
        }
        out::checked(out.flush())?;
    }
    Ok(())
}
