//! Builds a pipeline from its configuration: loads each plugin once, configures each use,
//! and grants each exactly what it needs.

use super::authority::Authority;
use super::lookup::StoreLookup;
use super::order::Ahead;
use super::prefetch::ReadAhead;
use crate::capabilities::http::Client;
use crate::config::{Config, DestinationConfig, FieldMapping, OnDelete, PipelineConfig, PluginUse};
use crate::plugin::{
    Bindings, DirGrant, Function, Grants, Instance, LookupGrant, Plugin, Policy, Runtime, System,
    Transformer,
};
use crate::store::{Endpoint, Store};
use crate::wit::EntityKind;
use anyhow::{Context, bail};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// A configured plugin use, with the label the transaction log records (`name@version`).
pub struct Step<T> {
    /// `plugin@version`: its declared version, else `sha256:<first 12 hex digits>`.
    pub label: String,
    /// The configured use.
    pub instance: Use<T>,
}

/// A configured use that a cycle's stages share: calls need it mutably (a failed call
/// replaces the instance). Behind a mutex, so that a pipeline can run on a thread of its own
/// (`wasync serve` runs each pipeline on one).
pub struct Use<T>(Mutex<T>);

impl<T> Use<T> {
    /// Shares `instance`.
    pub fn new(instance: T) -> Self {
        Use(Mutex::new(instance))
    }

    /// The use, for one call or a batch of them. A call that panicked the host cannot leave
    /// it half-changed (a failed call only drops its instance), so a poisoned lock is taken.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One field pipeline: a target field from a field read, through transforms.
pub struct FieldPipe {
    /// The field written.
    pub target: String,
    /// The field read.
    pub from: String,
    /// Transforms in order.
    pub chain: Vec<Step<Transformer>>,
}

/// A source of a pipeline.
pub struct Source {
    /// `connector/entity`.
    pub label: String,
    /// The connector's name.
    pub connector: String,
    /// The external entity.
    pub entity: String,
    /// Whether it is read.
    pub enabled: bool,
    /// Records per cycle.
    pub batch: u32,
    /// How far behind now reads stay.
    pub delay: Duration,
    /// Object or event.
    pub kind: EntityKind,
    /// The connection.
    pub system: Arc<Use<System>>,
    /// The connector's network client, if it has network.
    pub http: Option<Arc<Client>>,
    /// The source entity pipeline.
    pub functions: Vec<Step<Function>>,
    /// The source field pipelines.
    pub fields: Vec<FieldPipe>,
    /// What its last read brought past the cycle's horizon.
    pub ahead: Ahead,
    /// Its next page, being read while a cycle works on this one.
    pub read_ahead: ReadAhead,
}

impl Source {
    /// How the store keys this source of pipeline `pipeline`.
    pub fn endpoint<'a>(&'a self, pipeline: &'a str) -> Endpoint<'a> {
        Endpoint {
            pipeline,
            connector: &self.connector,
            entity: &self.entity,
        }
    }
}

/// A destination of a pipeline.
pub struct Destination {
    /// `connector/entity`.
    pub label: String,
    /// The connector's name.
    pub connector: String,
    /// The external entity.
    pub entity: String,
    /// The connection.
    pub system: Arc<Use<System>>,
    /// The connector's network client, if it has network.
    pub http: Option<Arc<Client>>,
    /// The destination entity pipeline.
    pub functions: Vec<Step<Function>>,
    /// The destination field pipelines.
    pub fields: Vec<FieldPipe>,
    /// What a deleted unified record does here.
    pub on_delete: OnDelete,
    /// The field that carries the unified id, if any.
    pub external_id_field: Option<String>,
    /// Records per write call.
    pub batch: u32,
}

/// The merge stage's policy and guards.
pub struct Merge {
    /// The policy.
    pub policy: Step<Policy>,
    /// Report only.
    pub dry_run: bool,
    /// Largest group merged.
    pub max_group: usize,
}

/// A pipeline ready to run.
pub struct Pipeline {
    /// Its name.
    pub name: String,
    /// The unified entity.
    pub entity: String,
    /// Sources in configuration order.
    pub sources: Vec<Source>,
    /// Data authority.
    pub authority: Authority,
    /// Deduplication and merge.
    pub merge: Option<Merge>,
    /// Destinations in configuration order.
    pub destinations: Vec<Destination>,
    /// The store connection its entity functions look records up through.
    pub lookups: Arc<StoreLookup>,
}

impl Pipeline {
    /// The network clients of its connectors, each once.
    pub fn clients(&self) -> Vec<Arc<Client>> {
        let mut clients: Vec<Arc<Client>> = Vec::new();
        let all = self.sources.iter().map(|s| &s.http);
        for client in all
            .chain(self.destinations.iter().map(|d| &d.http))
            .flatten()
        {
            if !clients.iter().any(|c| Arc::ptr_eq(c, client)) {
                clients.push(client.clone());
            }
        }
        clients
    }
}

/// A connector's connection, shared by every source and destination that use it.
#[derive(Clone)]
struct Connection {
    system: Arc<Use<System>>,
    http: Option<Arc<Client>>,
}

/// The loaded plugins of an engine, by how the configuration names them.
pub type Plugins = HashMap<String, Plugin>;

/// Loads plugins once per process, by how they are named in the configuration; a plugin
/// already loaded off to the side (hot load) is taken as it is.
pub(super) struct Loader<'a> {
    pub(super) runtime: &'a Runtime,
    /// The pipeline file's folder, where installed packages are resolved.
    dir: &'a std::path::Path,
    preloaded: Plugins,
    loaded: Plugins,
}

impl<'a> Loader<'a> {
    /// A loader for the pipeline file in `dir`, with nothing preloaded.
    pub(super) fn new(runtime: &'a Runtime, dir: &'a std::path::Path) -> Loader<'a> {
        Loader {
            runtime,
            dir,
            preloaded: HashMap::new(),
            loaded: HashMap::new(),
        }
    }

    /// The plugin `spec` names, loaded once.
    pub(super) fn plugin(&mut self, spec: &str) -> anyhow::Result<Plugin> {
        if let Some(plugin) = self.loaded.get(spec) {
            return Ok(plugin.clone());
        }
        let plugin = match self.preloaded.remove(spec) {
            Some(plugin) => plugin,
            None => crate::package::load(self.runtime, spec, self.dir)?,
        };
        self.loaded.insert(spec.to_owned(), plugin.clone());
        Ok(plugin)
    }

    fn step<B: Bindings>(
        &mut self,
        use_: &PluginUse,
        grants: Grants,
        at: &str,
    ) -> anyhow::Result<Step<Instance<B>>> {
        let plugin = self.plugin(&use_.plugin).with_context(|| at.to_owned())?;
        let instance = self
            .runtime
            .instance::<B>(&plugin, &use_.config_json(), grants)
            .with_context(|| format!("{at}: cannot configure `{}`", use_.plugin))?;
        Ok(Step {
            label: plugin.label(),
            instance: Use::new(instance),
        })
    }

    fn field_pipes(
        &mut self,
        fields: &std::collections::BTreeMap<String, FieldMapping>,
        at: &str,
    ) -> anyhow::Result<Vec<FieldPipe>> {
        fields
            .iter()
            .map(|(target, mapping)| {
                let chain = mapping
                    .transforms()
                    .iter()
                    .map(|t| self.step(t, Grants::default(), &format!("{at}, field `{target}`")))
                    .collect::<anyhow::Result<_>>()?;
                Ok(FieldPipe {
                    target: target.clone(),
                    from: mapping.from().to_owned(),
                    chain,
                })
            })
            .collect()
    }
}

/// Builds every pipeline of `config`, taking plugins from `preloaded` where it has them;
/// returns the pipelines and every plugin they use.
pub fn pipelines(
    config: &Config,
    runtime: &Runtime,
    store: &Store,
    preloaded: Plugins,
) -> anyhow::Result<(Vec<Pipeline>, Plugins)> {
    let mut loader = Loader {
        runtime,
        dir: &config.dir,
        preloaded,
        loaded: HashMap::new(),
    };
    let mut systems: HashMap<String, Connection> = HashMap::new();
    let mut pipelines = Vec::new();
    for p in &config.pipelines {
        for field in &p.lookup_fields {
            store.index_lookup_field(&p.entity, field)?;
        }
        // A connection of its own per pipeline: each holds its own snapshot while its entity
        // functions run, and pipelines may run at once (`wasync serve`).
        let lookups = Arc::new(StoreLookup::new(Store::open_read_only(store.path())?));
        pipelines.push(pipeline(
            config,
            p,
            &mut loader,
            &mut systems,
            &lookups,
            store,
        )?);
    }
    Ok((pipelines, loader.loaded))
}

fn system(
    config: &Config,
    name: &str,
    loader: &mut Loader<'_>,
    systems: &mut HashMap<String, Connection>,
    store: &Store,
) -> anyhow::Result<Connection> {
    if let Some(system) = systems.get(name) {
        return Ok(system.clone());
    }
    let connector = config
        .connectors
        .get(name)
        .with_context(|| format!("connector `{name}` is not defined"))?;
    granted_dirs_exist(name, connector)?;
    let plugin = loader
        .plugin(&connector.plugin)
        .with_context(|| format!("connector `{name}`"))?;
    let settings = serde_json::to_string(&connector.settings)?;
    let calls = store.read().api_calls(name, crate::time::today())?;
    let (instance, http) = connect(loader.runtime, &plugin, name, connector, calls, &settings)?;
    let connection = Connection {
        system: Arc::new(Use::new(instance)),
        http,
    };
    systems.insert(name.to_owned(), connection.clone());
    Ok(connection)
}

/// Refuses a connector granted a directory that does not exist.
pub(super) fn granted_dirs_exist(
    name: &str,
    connector: &crate::config::ConnectorConfig,
) -> anyhow::Result<()> {
    for dir in &connector.dirs {
        if !dir.host.is_dir() {
            bail!(
                "connector `{name}`: granted directory {} does not exist",
                dir.host.display()
            );
        }
    }
    Ok(())
}

/// Connects connector `name` with `settings` (its plugin configuration, JSON): grants its
/// directories and, when it has network, a client that counts on from `calls` made today
/// (the store's count).
pub fn connect(
    runtime: &Runtime,
    plugin: &Plugin,
    name: &str,
    connector: &crate::config::ConnectorConfig,
    calls: u64,
    settings: &str,
) -> anyhow::Result<(System, Option<Arc<Client>>)> {
    let http = match &connector.http {
        Some(http) => {
            // The pipeline file's rate limit, else the one the connector declares.
            let mut http = http.clone();
            http.rate = http.rate.or(plugin.declared_rate());
            let client = Client::new(name, &http, calls, |var| std::env::var(var).ok())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            Some(Arc::new(client))
        }
        None => None,
    };
    let grants = Grants {
        http: http.clone(),
        dirs: connector
            .dirs
            .iter()
            .map(|d| DirGrant {
                host: d.host.clone(),
                guest: d.guest.clone(),
                read_only: d.read_only,
            })
            .collect(),
        ..Grants::default()
    };
    let instance: System = runtime
        .instance(plugin, settings, grants)
        .with_context(|| format!("connector `{name}`: cannot connect"))?;
    Ok((instance, http))
}

fn entity_kind(
    system: &Arc<Use<System>>,
    connector: &str,
    entity: &str,
) -> anyhow::Result<EntityKind> {
    let described = system.lock().describe()?.map_err(|e| {
        anyhow::anyhow!(
            "connector `{connector}`: describe failed: {}",
            crate::value::describe(&e)
        )
    })?;
    match described.iter().find(|d| d.name == entity) {
        Some(d) => Ok(d.kind),
        None => bail!(
            "connector `{connector}` has no entity `{entity}` (it offers: {})",
            described
                .iter()
                .map(|d| d.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn pipeline(
    config: &Config,
    p: &PipelineConfig,
    loader: &mut Loader<'_>,
    systems: &mut HashMap<String, Connection>,
    lookups: &Arc<StoreLookup>,
    store: &Store,
) -> anyhow::Result<Pipeline> {
    let entity_grants = Grants {
        lookup: Some(LookupGrant(lookups.clone())),
        ..Grants::default()
    };
    let mut sources = Vec::new();
    for s in &p.sources {
        let at = format!(
            "pipeline `{}`, source `{}/{}`",
            p.name, s.connector, s.entity
        );
        let Connection { system, http } =
            system(config, &s.connector, loader, systems, store).with_context(|| at.clone())?;
        let kind = entity_kind(&system, &s.connector, &s.entity).with_context(|| at.clone())?;
        let functions = s
            .functions
            .iter()
            .map(|f| loader.step(f, entity_grants.clone(), &at))
            .collect::<anyhow::Result<_>>()?;
        sources.push(Source {
            label: format!("{}/{}", s.connector, s.entity),
            connector: s.connector.clone(),
            entity: s.entity.clone(),
            enabled: s.enabled,
            batch: s.batch_size.unwrap_or(p.batch_size),
            delay: Duration::from_secs(s.delay_seconds),
            kind,
            system,
            http,
            functions,
            fields: loader.field_pipes(&s.fields, &at)?,
            ahead: Ahead::default(),
            read_ahead: ReadAhead::default(),
        });
    }
    let merge = match &p.merge {
        Some(m) => {
            let use_ = PluginUse {
                plugin: m.plugin.clone(),
                config: m.config.clone(),
            };
            Some(Merge {
                policy: loader.step(
                    &use_,
                    Grants::default(),
                    &format!("pipeline `{}`, merge", p.name),
                )?,
                dry_run: m.dry_run,
                max_group: m.max_group,
            })
        }
        None => None,
    };
    let destinations = p
        .destinations
        .iter()
        .map(|d| destination(config, p, d, loader, systems, &entity_grants, store))
        .collect::<anyhow::Result<_>>()?;
    Ok(Pipeline {
        name: p.name.clone(),
        entity: p.entity.clone(),
        authority: Authority::new(&p.authority, sources.iter().map(|s| s.label.as_str())),
        sources,
        merge,
        destinations,
        lookups: lookups.clone(),
    })
}

fn destination(
    config: &Config,
    p: &PipelineConfig,
    d: &DestinationConfig,
    loader: &mut Loader<'_>,
    systems: &mut HashMap<String, Connection>,
    grants: &Grants,
    store: &Store,
) -> anyhow::Result<Destination> {
    let at = format!(
        "pipeline `{}`, destination `{}/{}`",
        p.name, d.connector, d.entity
    );
    let Connection { system, http } =
        system(config, &d.connector, loader, systems, store).with_context(|| at.clone())?;
    entity_kind(&system, &d.connector, &d.entity).with_context(|| at.clone())?;
    Ok(Destination {
        label: format!("{}/{}", d.connector, d.entity),
        connector: d.connector.clone(),
        entity: d.entity.clone(),
        system,
        http,
        functions: d
            .functions
            .iter()
            .map(|f| loader.step(f, grants.clone(), &at))
            .collect::<anyhow::Result<_>>()?,
        fields: loader.field_pipes(&d.fields, &at)?,
        on_delete: d.on_delete,
        external_id_field: d.external_id_field.clone(),
        batch: d.batch_size.unwrap_or(p.batch_size),
    })
}
