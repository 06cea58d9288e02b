//! The `wasync` command line: one clap enum, one module per command group.

mod plugin;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

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
    /// Inspect and try plugins.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
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
            },
            cache,
        }
    }
}

/// Runs the command line; prints the whole error chain on failure.
pub fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Plugin(command) => command.run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr; `WASYNC_LOG` (or `RUST_LOG`) sets the filter, warnings by default.
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var("WASYNC_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "warn".to_owned());
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .init();
}
