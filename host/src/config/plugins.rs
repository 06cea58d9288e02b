//! The plugins a pipeline file refers to: where each is used and with what configuration,
//! and which of them are component files (resolved against the file's folder), so that
//! `wasync serve` knows what to watch and what to check a new version against.

use super::{Config, FieldMapping, PluginUse};
use crate::wit::World;
use std::path::{Path, PathBuf};

/// One use of a plugin: where, as which world, with which configuration.
#[derive(Debug, Clone)]
pub struct Use {
    /// Where, as errors name it (`pipeline `x`, source `a/B`, field `f``).
    pub at: String,
    /// The world the place needs.
    pub world: World,
    /// The plugin reference, as resolved.
    pub plugin: String,
    /// Its configuration, JSON.
    pub config: String,
}

/// Whether a plugin reference names a component file rather than a first-party plugin.
pub fn is_file(spec: &str) -> bool {
    spec.ends_with(".wasm") || spec.contains('/') || spec.contains(std::path::MAIN_SEPARATOR)
}

impl Config {
    /// Every use of a plugin other than connectors (whose check needs their grants), in
    /// file order.
    pub fn plugin_uses(&self) -> Vec<Use> {
        let mut uses = Vec::new();
        let mut push = |at: String, world: World, u: &PluginUse| {
            uses.push(Use {
                at,
                world,
                plugin: u.plugin.clone(),
                config: u.config_json(),
            });
        };
        for p in &self.pipelines {
            let ends = p
                .sources
                .iter()
                .map(|s| ("source", &s.connector, &s.entity, &s.functions, &s.fields))
                .chain(p.destinations.iter().map(|d| {
                    (
                        "destination",
                        &d.connector,
                        &d.entity,
                        &d.functions,
                        &d.fields,
                    )
                }));
            for (role, connector, entity, functions, fields) in ends {
                let at = format!("pipeline `{}`, {role} `{connector}/{entity}`", p.name);
                for f in functions {
                    push(at.clone(), World::EntityFunction, f);
                }
                for (target, mapping) in fields {
                    for t in mapping.transforms() {
                        push(format!("{at}, field `{target}`"), World::FieldTransform, t);
                    }
                }
            }
            if let Some(m) = &p.merge {
                let use_ = PluginUse {
                    plugin: m.plugin.clone(),
                    config: m.config.clone(),
                };
                push(
                    format!("pipeline `{}`, merge", p.name),
                    World::MergePolicy,
                    &use_,
                );
            }
        }
        uses
    }

    /// Every plugin reference of the file, connectors included, each once.
    pub fn plugin_specs(&self) -> Vec<String> {
        let mut specs: Vec<String> = self.connectors.values().map(|c| c.plugin.clone()).collect();
        specs.extend(self.plugin_uses().into_iter().map(|u| u.plugin));
        specs.sort();
        specs.dedup();
        specs
    }

    /// Component files relative to the pipeline file's folder `base`, as they would be if the
    /// process ran from there.
    pub(super) fn resolve_plugin_files(&mut self, base: &Path) {
        let resolve = |spec: &mut String| {
            if is_file(spec) && Path::new(spec.as_str()).is_relative() {
                *spec = base.join(spec.as_str()).display().to_string();
            }
        };
        for connector in self.connectors.values_mut() {
            resolve(&mut connector.plugin);
        }
        for p in &mut self.pipelines {
            let sources = p
                .sources
                .iter_mut()
                .map(|s| (&mut s.functions, &mut s.fields));
            let destinations = p
                .destinations
                .iter_mut()
                .map(|d| (&mut d.functions, &mut d.fields));
            for (functions, fields) in sources.chain(destinations) {
                functions.iter_mut().for_each(|f| resolve(&mut f.plugin));
                for mapping in fields.values_mut() {
                    if let FieldMapping::Pipeline { transforms, .. } = mapping {
                        transforms.iter_mut().for_each(|t| resolve(&mut t.plugin));
                    }
                }
            }
            if let Some(m) = &mut p.merge {
                resolve(&mut m.plugin);
            }
        }
    }
}

/// The component file a reference names, if it names one.
pub fn file_of(spec: &str) -> Option<PathBuf> {
    is_file(spec).then(|| PathBuf::from(spec))
}
