//! The plugin runtime: loads WebAssembly components, tells which world they implement, and
//! runs configured uses of them in a sandbox with memory and CPU-time limits.
//!
//! ```no_run
//! use wasync::plugin::{Runtime, RuntimeOptions};
//! use wasync::Value;
//!
//! let runtime = Runtime::new(RuntimeOptions::default())?;
//! let plugin = runtime.load("extract-domain")?;
//! let mut transform = runtime.transformer(&plugin, "{}")?;
//! let out = transform.apply(&[Value::Text("https://www.example.co.uk/a".into())])?;
//! # Ok::<(), anyhow::Error>(())
//! ```

mod batch;
pub mod builtin;
pub mod cache;
mod calls;
pub mod error;
mod instance;
mod isolate;
pub mod limits;
pub mod output;
pub mod producers;
pub mod rate;
mod state;
mod v0_2;
pub mod version;
pub mod world;

pub use crate::capabilities::lookup::{LOOKUP_NANOS, LookupGrant, LookupSource};
/// The generated WIT types, by their old name.
pub use crate::wit as bindings;
pub use crate::wit::World;
pub use cache::{Cache, Origin};
pub use calls::ERROR_FIELD;
pub use error::{CallError, LoadError};
pub use instance::{Bindings, Function, Instance, Policy, System, Transformer};
pub use isolate::Failure;
pub use limits::Limits;
pub use state::{DirGrant, Grants, HostState};
pub use world::Interface;

use crate::capabilities;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use wasmtime::component::{InstancePre, Linker};
use wasmtime::{Config, Engine};

/// Nanoseconds this process has spent inside plugin calls (lowering, the plugin's own work,
/// lifting): what the benchmarks report as the share of time crossing into plugins.
pub static PLUGIN_NANOS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Bytes of linear memory plugins have grown by in this process (a plugin's memory never
/// shrinks while its instance lives): how the benchmarks tell plugins' memory from the host's.
pub static PLUGIN_MEMORY_GROWN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Links wasync's host imports, each answering from its part of [`HostState`].
fn link_capabilities(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    capabilities::add_types_to_linker(linker)?;
    capabilities::log::add_to_linker(linker, HostState::log)?;
    capabilities::lookup::add_to_linker(linker, HostState::lookup)?;
    capabilities::http::add_to_linker(linker, HostState::http)?;
    Ok(())
}

/// How to build a [`Runtime`].
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Limits for every call.
    pub limits: Limits,
    /// The compile cache.
    pub cache: Cache,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            limits: Limits::default(),
            cache: Cache::default_location(),
        }
    }
}

/// The engine, the linker with every host import, the compile cache and the epoch ticker
/// that enforces deadlines. One per process.
pub struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
    limits: Limits,
    cache: Cache,
    /// Shared with every plugin loaded here: deadlines hold as long as any plugin is in use,
    /// even after the runtime that loaded it is gone (`wasync sync` drops it once the
    /// pipelines are built).
    ticker: Arc<Ticker>,
}

impl Runtime {
    /// Builds the engine and links WASI (with nothing granted) and wasync's host imports.
    pub fn new(options: RuntimeOptions) -> anyhow::Result<Self> {
        let mut config = Config::new();
        config.wasm_component_model(true).epoch_interruption(true);
        // For `perf`: name the compiled plugin code (README "Benchmarks").
        if std::env::var_os("WASYNC_PERFMAP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        link_capabilities(&mut linker)?;
        Ok(Runtime {
            ticker: Arc::new(Ticker::start(engine.clone())?),
            engine,
            linker,
            limits: options.limits,
            cache: options.cache,
        })
    }

    /// The limits every call gets.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Loads `spec`: a path to a component file, or the name of a first-party plugin.
    pub fn load(&self, spec: &str) -> Result<Plugin, LoadError> {
        let path = Path::new(spec);
        if path.exists() || spec.ends_with(".wasm") {
            return self.load_file(path);
        }
        match builtin::find(spec) {
            Some(bytes) => self.load_bytes(spec, bytes),
            None => Err(LoadError::Unknown {
                name: spec.to_owned(),
                known: builtin::names().collect::<Vec<_>>().join(", "),
            }),
        }
    }

    /// Loads a component file; the plugin is named after the file.
    pub fn load_file(&self, path: &Path) -> Result<Plugin, LoadError> {
        let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
            path: path.to_owned(),
            source,
        })?;
        let name = path.file_stem().map_or_else(
            || path.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        self.load_bytes(&name, &bytes)
    }

    /// Loads a component from its bytes: compiles it (or reads it from the cache), reads its
    /// world and checks that this host provides everything it imports.
    pub fn load_bytes(&self, name: &str, bytes: &[u8]) -> Result<Plugin, LoadError> {
        let started = Instant::now();
        let digest = format!("{:x}", Sha256::digest(bytes));
        let invalid = |e: wasmtime::Error| LoadError::Invalid {
            name: name.to_owned(),
            reason: format!("{e:#}"),
        };
        let (component, origin) = self
            .cache
            .load(&self.engine, bytes, &digest)
            .map_err(invalid)?;
        let interface = world::inspect(&self.engine, &component, name)?;
        let pre =
            self.linker
                .instantiate_pre(&component)
                .map_err(|e| LoadError::MissingImport {
                    name: name.to_owned(),
                    reason: format!("{e:#}"),
                })?;
        Ok(Plugin {
            name: name.into(),
            package: None,
            inner: Arc::new(Loaded {
                version: version::of(bytes, &digest),
                rate: rate::declared(bytes, name),
                digest,
                interface,
                origin,
                load_time: started.elapsed(),
                size: bytes.len(),
                pre,
                _ticker: self.ticker.clone(),
            }),
        })
    }

    /// A configured use of a field transform, granted nothing.
    pub fn transformer(&self, plugin: &Plugin, config: &str) -> anyhow::Result<Transformer> {
        self.instance(plugin, config, Grants::default())
    }

    /// A configured use of `plugin` as world `B`, with `grants`.
    pub fn instance<B: Bindings>(
        &self,
        plugin: &Plugin,
        config: &str,
        grants: Grants,
    ) -> anyhow::Result<Instance<B>> {
        if plugin.world() != B::WORLD {
            return Err(LoadError::WrongWorld {
                name: plugin.name().to_owned(),
                found: plugin.world().to_string(),
                wanted: B::WORLD.to_string(),
            }
            .into());
        }
        if let Some(package) = plugin.package() {
            package.check_use(config, &grants, self.limits)?;
        }
        Ok(Instance::new(plugin, config, grants, self.limits)?)
    }

    /// Configures a use of `plugin` as `world` with `config` and `grants`, then lets the
    /// instance go: whether the use would work, without running it (`wasync check`, and
    /// `wasync serve` trying a new version before it swaps it in).
    pub fn configure(
        &self,
        plugin: &Plugin,
        world: World,
        config: &str,
        grants: Grants,
    ) -> anyhow::Result<()> {
        match world {
            World::FieldTransform => self
                .instance(plugin, config, grants)
                .map(|_: Transformer| ()),
            World::EntityFunction => self.instance(plugin, config, grants).map(|_: Function| ()),
            World::MergePolicy => self.instance(plugin, config, grants).map(|_: Policy| ()),
            World::Connector => self.instance(plugin, config, grants).map(|_: System| ()),
        }
    }
}

/// What an installed package declares about its plugin: its version, and what every use of
/// it must grant. Implemented by the package layer's manifest, above this one: the runtime
/// checks each use against it before the plugin runs.
pub trait Package: Send + Sync {
    /// The package's version.
    fn version(&self) -> &str;
    /// Refuses a use whose configuration, grants or limits do not cover what it asks for.
    fn check_use(&self, config: &str, grants: &Grants, limits: Limits) -> anyhow::Result<()>;
}

/// A loaded plugin: compiled, its world known, its imports checked. Cheap to clone.
#[derive(Clone)]
pub struct Plugin {
    name: Arc<str>,
    inner: Arc<Loaded>,
    /// What its package declares, when it was loaded from an installed package.
    package: Option<Arc<dyn Package>>,
}

struct Loaded {
    digest: String,
    version: String,
    /// The rate limit a connector declares (`rate`).
    rate: Option<crate::config::RateConfig>,
    interface: Interface,
    origin: Origin,
    load_time: Duration,
    size: usize,
    pre: InstancePre<HostState>,
    /// Keeps the epoch advancing while this plugin can be called.
    _ticker: Arc<Ticker>,
}

impl Plugin {
    /// Its name: the first-party name or the file's stem.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What its package declares, when it came from an installed package.
    pub fn package(&self) -> Option<&dyn Package> {
        self.package.as_deref()
    }

    /// The same plugin, known to come from the package `package` describes.
    pub fn with_package(mut self, package: impl Package + 'static) -> Plugin {
        self.package = Some(Arc::new(package));
        self
    }

    /// SHA-256 of the component, hex.
    pub fn digest(&self) -> &str {
        &self.inner.digest
    }

    /// Its version: an installed package's, else the one the component declares, else
    /// `sha256:` and 12 hex digits.
    pub fn version(&self) -> &str {
        match &self.package {
            Some(package) => package.version(),
            None => &self.inner.version,
        }
    }

    /// The rate limit it declares for its calls, if any (a connector's own knowledge of its
    /// API's limit; the pipeline file's `http.rate` wins).
    pub fn declared_rate(&self) -> Option<crate::config::RateConfig> {
        self.inner.rate
    }

    /// `name@version`, as the transaction log records it.
    pub fn label(&self) -> String {
        format!("{}@{}", self.name, self.version())
    }

    /// The world it implements.
    pub fn world(&self) -> World {
        self.inner.interface.world
    }

    /// Its world, WIT version, exports and imports.
    pub fn interface(&self) -> &Interface {
        &self.inner.interface
    }

    /// Whether its compiled code came from the cache.
    pub fn origin(&self) -> Origin {
        self.inner.origin
    }

    /// How long loading took (reading the cache or compiling, and checking).
    pub fn load_time(&self) -> Duration {
        self.inner.load_time
    }

    /// The component's size in bytes.
    pub fn size(&self) -> usize {
        self.inner.size
    }

    pub(crate) fn pre(&self) -> &InstancePre<HostState> {
        &self.inner.pre
    }

    pub(crate) fn engine(&self) -> &Engine {
        self.inner.pre.component().engine()
    }

    pub(crate) fn shared_name(&self) -> Arc<str> {
        self.name.clone()
    }
}

/// Advances the engine's epoch every [`limits::EPOCH_TICK`] until dropped; deadlines are
/// counted in these ticks.
struct Ticker {
    stop: Arc<AtomicBool>,
}

impl Ticker {
    fn start(engine: Engine) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::Builder::new()
            .name("wasync-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(limits::EPOCH_TICK);
                    engine.increment_epoch();
                }
            })?;
        Ok(Ticker { stop })
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
