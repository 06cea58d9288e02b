//! Which wasync world a component implements, read from its exports and imports.

use super::error::LoadError;
use crate::wit::{PACKAGE, VERSION, World, served};
use serde::Serialize;
use wasmtime::Engine;
use wasmtime::component::Component;

/// What a component declares: its world, the WIT version it was built against, and the
/// names of everything it exports and imports.
#[derive(Debug, Clone, Serialize)]
pub struct Interface {
    /// The world it implements.
    pub world: World,
    /// The version of `wasync:plugin` it was built against.
    pub version: String,
    /// Exported names (`wasync:plugin/transform@0.1.0`).
    pub exports: Vec<String>,
    /// Imported names (`wasync:plugin/log@0.1.0`, `wasi:cli/environment@0.2.6`).
    pub imports: Vec<String>,
}

/// A parsed `namespace:package/interface@version` name.
struct Name<'a> {
    package: &'a str,
    interface: &'a str,
    version: Option<&'a str>,
}

fn parse(name: &str) -> Option<Name<'_>> {
    let (path, version) = match name.split_once('@') {
        Some((path, version)) => (path, Some(version)),
        None => (name, None),
    };
    let (package, interface) = path.split_once('/')?;
    Some(Name {
        package,
        interface,
        version,
    })
}

/// The world that exports `interface`.
fn from_export(interface: &str) -> Option<World> {
    World::ALL.into_iter().find(|w| w.export() == interface)
}

/// Reads the world a component implements; refuses one that implements none, several, or
/// an incompatible version.
pub fn inspect(engine: &Engine, component: &Component, name: &str) -> Result<Interface, LoadError> {
    let ty = component.component_type();
    let exports: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_owned()).collect();
    let imports: Vec<String> = ty.imports(engine).map(|(n, _)| n.to_owned()).collect();

    let mut worlds = Vec::new();
    let mut incompatible = Vec::new();
    for export in &exports {
        let Some(parsed) = parse(export) else {
            continue;
        };
        let Some(world) = from_export(parsed.interface) else {
            continue;
        };
        if parsed.package != PACKAGE {
            continue;
        }
        match parsed.version {
            Some(v) if served(v) => worlds.push((world, v.to_owned())),
            _ => incompatible.push(export.clone()),
        }
    }

    match worlds.as_slice() {
        [(world, version)] => Ok(Interface {
            world: *world,
            version: version.clone(),
            exports,
            imports,
        }),
        [] if !incompatible.is_empty() => Err(LoadError::IncompatibleVersion {
            name: name.to_owned(),
            found: incompatible.join(", "),
        }),
        [] => Err(LoadError::NoWorld {
            name: name.to_owned(),
            found: if exports.is_empty() {
                "nothing".to_owned()
            } else {
                exports.join(", ")
            },
        }),
        several => Err(LoadError::SeveralWorlds {
            name: name.to_owned(),
            worlds: several
                .iter()
                .map(|(w, _)| w.name())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// The exports that make a component a wasync plugin, one per world.
pub fn expected_exports() -> String {
    World::ALL
        .iter()
        .map(|w| format!("{PACKAGE}/{}@{VERSION}", w.export()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_into_package_interface_and_version() {
        let n = parse("wasync:plugin/transform@0.1.0").expect("parses");
        assert_eq!(
            (n.package, n.interface, n.version),
            ("wasync:plugin", "transform", Some("0.1.0"))
        );
        assert!(parse("hello").is_none());
    }
}
