//! `wasync check` and `wasync discover`: a pipeline file tried without syncing anything.
//! Every plugin is loaded and every use configured; each connector is connected and asked
//! to `describe` itself once; every source and destination is matched against what its
//! connector offers. Every problem is collected, not just the first, each named by where it
//! is in the file. No store is opened and nothing is read or written.

use super::build::{Loader, connect, granted_dirs_exist};
use crate::capabilities::lookup::{LookupGrant, LookupSource};
use crate::config::{Config, ConnectorConfig};
use crate::plugin::{Grants, Runtime};
use crate::value::describe;
use crate::wit::{EntityDescription, Error, Field, Record, World};
use std::sync::Arc;

/// One problem: where in the pipeline file, and what.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// Where, as the file names it (`connectors.hubspot`, `pipeline `accounts`, source …`).
    pub at: String,
    /// What is wrong, with its causes.
    pub message: String,
}

/// What a connector said it offers.
#[derive(Debug, Clone)]
pub struct Described {
    /// The connector's name in the file.
    pub connector: String,
    /// Its plugin, as `name@version`.
    pub plugin: String,
    /// Its entities and their fields.
    pub entities: Vec<EntityDescription>,
}

/// What a check found.
#[derive(Debug, Default)]
pub struct Checked {
    /// The connectors that described themselves.
    pub connectors: Vec<Described>,
    /// Plugin uses configured without a problem.
    pub uses: usize,
    /// Everything wrong.
    pub problems: Vec<Problem>,
}

/// Connects the connectors of `config` (only `only`, when given) and asks each to describe
/// itself once.
pub fn describe_connectors(config: &Config, runtime: &Runtime, only: Option<&str>) -> Checked {
    let mut checked = Checked::default();
    if let Some(name) = only.filter(|n| !config.connectors.contains_key(*n)) {
        checked.problems.push(Problem {
            at: format!("connectors.{name}"),
            message: format!(
                "no connector `{name}` in the file (it has: {})",
                names(config.connectors.keys())
            ),
        });
    }
    let mut loader = Loader::new(runtime, &config.dir);
    for (name, connector) in &config.connectors {
        if only.is_some_and(|o| o != name) {
            continue;
        }
        match describe_one(&mut loader, name, connector) {
            Ok(described) => checked.connectors.push(described),
            Err(e) => checked.problems.push(Problem {
                at: format!("connectors.{name}"),
                message: format!("{e:#}"),
            }),
        }
    }
    checked
}

/// Everything `wasync check` looks at: the connectors, every plugin use, and every source and
/// destination against its connector's entities.
pub fn check(config: &Config, runtime: &Runtime) -> Checked {
    let mut checked = describe_connectors(config, runtime, None);
    let mut loader = Loader::new(runtime, &config.dir);
    let store = Arc::new(NoStore);
    for u in config.plugin_uses() {
        let grants = match u.world {
            World::EntityFunction => Grants {
                lookup: Some(LookupGrant(store.clone())),
                ..Grants::default()
            },
            _ => Grants::default(),
        };
        let configured = loader
            .plugin(&u.plugin)
            .and_then(|plugin| runtime.configure(&plugin, u.world, &u.config, grants));
        match configured {
            Ok(()) => checked.uses += 1,
            Err(e) => checked.problems.push(Problem {
                at: u.at.clone(),
                message: format!("`{}`: {e:#}", u.plugin),
            }),
        }
    }
    for p in &config.pipelines {
        let ends = p
            .sources
            .iter()
            .map(|s| ("source", &s.connector, &s.entity))
            .chain(
                p.destinations
                    .iter()
                    .map(|d| ("destination", &d.connector, &d.entity)),
            );
        for (role, connector, entity) in ends {
            let Some(described) = checked
                .connectors
                .iter()
                .find(|c| c.connector == *connector)
            else {
                continue; // Its connector's own problem is reported already.
            };
            if !described.entities.iter().any(|e| e.name == *entity) {
                let offers = names(described.entities.iter().map(|e| &e.name));
                checked.problems.push(Problem {
                    at: format!("pipeline `{}`, {role} `{connector}/{entity}`", p.name),
                    message: format!(
                        "connector `{connector}` has no entity `{entity}` (it offers: {offers})"
                    ),
                });
            }
        }
    }
    checked
}

fn describe_one(
    loader: &mut Loader<'_>,
    name: &str,
    connector: &ConnectorConfig,
) -> anyhow::Result<Described> {
    granted_dirs_exist(name, connector)?;
    let plugin = loader.plugin(&connector.plugin)?;
    let settings = connector
        .plugin_config(name, |var| std::env::var(var).ok())
        .map_err(anyhow::Error::msg)?;
    let (mut system, _) = connect(loader.runtime, &plugin, name, connector, 0, &settings)?;
    let entities = system
        .describe()?
        .map_err(|e| anyhow::anyhow!("describe failed: {}", describe(&e)))?;
    Ok(Described {
        connector: name.to_owned(),
        plugin: plugin.label(),
        entities,
    })
}

/// What answers an entity function's lookups while it is only being configured: a check
/// opens no store, and a constructor that looks things up is answered so.
struct NoStore;

impl LookupSource for NoStore {
    fn find(&self, _: &str, _: &[Field], _: u32) -> Result<Vec<Record>, Error> {
        Err(Error::Unavailable(
            "`wasync check` opens no store: lookups are not answered while configuring".into(),
        ))
    }
}

fn names<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    match names.is_empty() {
        true => "nothing".into(),
        false => names.join(", "),
    }
}
