//! The four wasync worlds, and which versions of the WIT package this host can serve.

use serde::Serialize;

/// The WIT package this host speaks.
pub const PACKAGE: &str = "wasync:plugin";
/// The version of [`PACKAGE`] this host speaks, and the SDKs build against.
pub const VERSION: &str = "0.2.0";

/// Every version of [`PACKAGE`] this host serves, newest first: components built for 0.1.0
/// still load (published packages exist), called through the 0.1.0 bindings.
pub const VERSIONS: [&str; 2] = [VERSION, "0.1.0"];

/// Whether a component built against `found` can be served by this host.
pub fn served(found: &str) -> bool {
    VERSIONS.iter().any(|ours| compatible(found, ours))
}

/// The four kinds of plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum World {
    /// Maps field values to field values.
    FieldTransform,
    /// Acts on whole records in an entity pipeline.
    EntityFunction,
    /// Decides deduplication.
    MergePolicy,
    /// Talks to an external system.
    Connector,
}

impl World {
    /// Every world, in the order the WIT declares them.
    pub const ALL: [World; 4] = [
        World::FieldTransform,
        World::EntityFunction,
        World::MergePolicy,
        World::Connector,
    ];

    /// The world's WIT name.
    pub fn name(self) -> &'static str {
        match self {
            World::FieldTransform => "field-transform",
            World::EntityFunction => "entity-function",
            World::MergePolicy => "merge-policy",
            World::Connector => "connector",
        }
    }

    /// The interface the world exports.
    pub fn export(self) -> &'static str {
        match self {
            World::FieldTransform => "transform",
            World::EntityFunction => "entity",
            World::MergePolicy => "merge",
            World::Connector => "external",
        }
    }
}

impl std::fmt::Display for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether `found` can be served by a host speaking `ours`, by the component model's semver
/// rule: same major version, and for 0.x the same minor.
pub fn compatible(found: &str, ours: &str) -> bool {
    let key = |v: &str| -> Option<(u64, u64)> {
        let mut parts = v.split(['.', '-', '+']);
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(if major == 0 { (0, minor) } else { (major, 0) })
    };
    matches!((key(found), key(ours)), (Some(a), Some(b)) if a == b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_compatibility_follows_the_component_model() {
        assert!(compatible("0.1.0", "0.1.0"));
        assert!(compatible("0.1.7", "0.1.0"));
        assert!(!compatible("0.2.0", "0.1.0"));
        assert!(!compatible("1.0.0", "0.1.0"));
        assert!(compatible("1.4.0", "1.0.0"));
        assert!(!compatible("x", "0.1.0"));
    }

    #[test]
    fn this_host_serves_both_versions_and_no_other() {
        assert!(served("0.1.0") && served("0.1.3") && served("0.2.0") && served("0.2.1"));
        assert!(!served("0.3.0") && !served("1.0.0"));
    }
}
