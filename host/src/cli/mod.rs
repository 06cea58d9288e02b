//! The `wasync` command line: one clap enum, one module per command group.

pub mod build;
mod check;
mod package;
mod plugin;
mod progress;
mod records;
mod reload;
mod scaffold;
mod smoke;
mod status;
mod sync;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::out;
use crate::plugin::{Cache, Limits, RuntimeOptions};

/// wasync keeps business records in agreement across the systems a company uses.
#[derive(Debug, Parser)]
#[command(name = "wasync", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sync Salesforce Accounts and HubSpot Companies through stand-in servers on 127.0.0.1:
    /// a few cycles with changes upstream, then what happened. Needs no account anywhere.
    #[cfg(feature = "demo")]
    Demo {
        /// Where the pipeline file and the store go (made afresh).
        #[arg(long, value_name = "DIR", default_value = "wasync-demo")]
        dir: PathBuf,
        /// Companies seeded across both systems.
        #[arg(long, default_value_t = 60)]
        companies: usize,
        /// Cycles to run.
        #[arg(long, default_value_t = 3)]
        cycles: usize,
        #[command(flatten)]
        runtime: RuntimeArgs,
    },
    /// Inspect and try plugins.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Build, publish and install shareable plugin packages.
    #[command(subcommand)]
    Package(package::PackageCommand),
    /// Run sync cycles: read changes, unify, write only what changed.
    Sync {
        /// The pipeline file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Run only this pipeline.
        #[arg(long)]
        pipeline: Option<String>,
        /// Run one cycle per pipeline, then stop (default: until every source is caught up).
        #[arg(long)]
        once: bool,
        #[command(flatten)]
        runtime: RuntimeArgs,
    },
    /// Run every pipeline on its schedule and take webhooks, until SIGINT or SIGTERM.
    Serve {
        /// The pipeline file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The address to listen on (default: `serve.listen` in the file, else 127.0.0.1:7870).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        #[command(flatten)]
        runtime: RuntimeArgs,
    },
    /// Try a pipeline file without syncing: load every plugin, configure every use, ask each
    /// connector to describe itself once; list every problem, each with where it is.
    Check {
        /// The pipeline file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        runtime: RuntimeArgs,
    },
    /// The entities and fields each connector offers (kind, id, watermark, read-only); with
    /// `--add-pipeline`, a new pipeline over the chosen ones written into the file.
    Discover {
        /// The pipeline file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Only this connector.
        #[arg(long, value_name = "NAME")]
        connector: Option<String>,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
        /// Append a pipeline of this name reading the `--source`s, as a starting point.
        #[arg(long, value_name = "NAME", requires = "source")]
        add_pipeline: Option<String>,
        /// A source for `--add-pipeline`: CONNECTOR/ENTITY (repeat for more).
        #[arg(long, value_name = "CONNECTOR/ENTITY", requires = "add_pipeline")]
        source: Vec<String>,
        /// Only these fields (repeat; default: all but the id and the watermark).
        #[arg(long, value_name = "NAME", requires = "add_pipeline")]
        field: Vec<String>,
        /// The pipeline's unified entity (default: the first source's entity).
        #[arg(long, value_name = "NAME", requires = "add_pipeline")]
        unified: Option<String>,
        #[command(flatten)]
        runtime: RuntimeArgs,
    },
    /// Watermarks, lag per destination and the last cycle's counts, per pipeline.
    Status {
        /// The pipeline file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The transaction log, newest first.
    Log {
        /// The pipeline file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Only this unified record.
        #[arg(long, value_name = "ID")]
        record: Option<String>,
        /// At most this many entries (the newest).
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// Print JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// Records set aside because they could not be processed.
    #[command(subcommand)]
    Quarantine(QuarantineCommand),
}

#[derive(Debug, Subcommand)]
enum QuarantineCommand {
    /// List quarantined records with their stage and reason.
    List {
        /// The pipeline file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Print JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// Process quarantined records again now (they are also retried by every cycle).
    Replay {
        /// The pipeline file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Only this pipeline.
        #[arg(long)]
        pipeline: Option<String>,
        #[command(flatten)]
        runtime: RuntimeArgs,
    },
}

/// How plugins run: limits and the compile cache.
#[derive(Debug, Clone, Args)]
pub struct RuntimeArgs {
    /// Memory cap per plugin instance, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = crate::plugin::limits::DEFAULT_MEMORY >> 20)]
    memory_mib: usize,
    /// CPU-time deadline per plugin call, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = crate::plugin::limits::DEFAULT_DEADLINE.as_millis() as u64)]
    deadline_ms: u64,
    /// Largest value a plugin call may return (a field value, a key, an id), in KiB: past
    /// it, that value or record fails with an error naming the plugin.
    #[arg(long, value_name = "KIB", default_value_t = crate::plugin::limits::DEFAULT_VALUE_BYTES >> 10)]
    max_value_kib: usize,
    /// Largest output of one plugin call, in MiB: past it, the batch is split and retried.
    #[arg(long, value_name = "MIB", default_value_t = crate::plugin::limits::DEFAULT_OUTPUT_BYTES >> 20)]
    max_output_mib: usize,
    /// Where compiled components are cached [default: $WASYNC_CACHE_DIR, else ~/.cache/wasync/components].
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Compile every plugin afresh; read and write no cache.
    #[arg(long, conflicts_with = "cache_dir")]
    no_cache: bool,
}

impl RuntimeArgs {
    fn options(&self) -> RuntimeOptions {
        let cache = match (&self.cache_dir, self.no_cache) {
            (_, true) => Cache::off(),
            (Some(dir), false) => Cache::at(dir),
            (None, false) => Cache::default_location(),
        };
        RuntimeOptions {
            limits: Limits {
                memory: self.memory_mib << 20,
                deadline: Duration::from_millis(self.deadline_ms),
                value_bytes: self.max_value_kib << 10,
                output_bytes: self.max_output_mib << 20,
            },
            cache,
        }
    }
}

/// Runs the command line; prints the whole error chain on failure.
pub fn main() -> ExitCode {
    init_logging();
    ignore_file_size_signal();
    let cli = Cli::parse();
    let result = match cli.command {
        #[cfg(feature = "demo")]
        Command::Demo {
            dir,
            companies,
            cycles,
            runtime,
        } => crate::demo::run(
            &crate::demo::Options {
                dir,
                companies,
                cycles,
            },
            runtime.options(),
        ),
        Command::Plugin(command) => command.run(),
        Command::Package(command) => command.run(),
        Command::Sync {
            config,
            pipeline,
            once,
            runtime,
        } => sync::run(&config, pipeline.as_deref(), once, &runtime),
        Command::Serve {
            config,
            listen,
            runtime,
        } => crate::serve::run(&crate::serve::Options {
            config,
            listen,
            runtime: runtime.options(),
        }),
        Command::Check {
            config,
            json,
            runtime,
        } => check::run_check(&config, json, &runtime),
        Command::Discover {
            config,
            connector,
            json,
            add_pipeline,
            source,
            field,
            unified,
            runtime,
        } => {
            let add = add_pipeline.map(|name| check::NewPipeline {
                name,
                entity: unified,
                sources: source,
                fields: field,
            });
            check::run_discover(&config, connector.as_deref(), json, add, &runtime)
        }
        Command::Status { config, json } => status::run_status(&config, json),
        Command::Log {
            config,
            record,
            limit,
            json,
        } => status::run_log(&config, record.as_deref(), limit, json),
        Command::Quarantine(QuarantineCommand::List { config, json }) => {
            status::run_quarantine_list(&config, json)
        }
        Command::Quarantine(QuarantineCommand::Replay {
            config,
            pipeline,
            runtime,
        }) => sync::replay(&config, pipeline.as_deref(), &runtime),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of stdout has gone (`wasync log | head`): it has all it wanted.
        Err(error) if out::is_closed(&error) => ExitCode::SUCCESS,
        Err(error) => {
            let mut messages = messages(&error).into_iter();
            if let Some(first) = messages.next() {
                eprintln!("error: {first}");
            }
            for cause in messages {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

/// The messages of an error and its causes, each said once. Some errors include their
/// cause's message in their own (`cannot read f: No such file`, caused by `No such file`),
/// some causes restate their effect's (`file is not a database`, caused by `Error code 26:
/// file is not a database`): a cause whose message ends its effect's, or ends with it, is
/// not repeated.
fn messages(error: &anyhow::Error) -> Vec<String> {
    let mut said = Vec::new();
    let mut effect = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if said.is_empty() || !(effect.ends_with(&text) || text.ends_with(&effect)) {
            said.push(text.clone());
        }
        effect = text;
    }
    said
}

/// A write past the file size limit (`ulimit -f`) kills the process by default (SIGXFSZ),
/// with no word of which file and a cycle cut off. Ignored, the write fails with "File too
/// large", and the store or the connector says which file, as for a full disk (PostgreSQL
/// does the same).
fn ignore_file_size_signal() {
    #[cfg(unix)]
    // SAFETY: sets one signal's disposition to "ignore"; no handler runs, nothing is shared.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// Logs go to stderr; `WASYNC_LOG` (or `RUST_LOG`) sets the filter, warnings by default.
/// Colours only on a terminal: stderr redirected to a file gets plain text.
fn init_logging() {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var("WASYNC_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "warn".to_owned());
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_in_its_effects_message_is_said_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let error = anyhow::Error::new(io)
            .context("cannot read wasync.toml: No such file")
            .context("cannot start the pipelines");
        assert_eq!(
            messages(&error),
            [
                "cannot start the pipelines",
                "cannot read wasync.toml: No such file"
            ]
        );
        let error = anyhow::anyhow!("Error code 26: file is not a database")
            .context("file is not a database")
            .context("cannot read the store s.db");
        assert_eq!(
            messages(&error),
            ["cannot read the store s.db", "file is not a database"]
        );

        let error = anyhow::anyhow!("timeout").context("the call ran past its timeout, twice");
        assert_eq!(messages(&error).len(), 2, "not a repetition: not its end");
    }
}
