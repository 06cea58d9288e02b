//! A package asks for capabilities; the pipeline file grants them. A use whose grants do
//! not cover what the package asks for is refused before the plugin runs. The plugin still
//! gets exactly what the pipeline file grants, never what it merely asked for.

use super::PackageError;
use super::manifest::Manifest;
use crate::plugin::{Grants, Limits};
use reqwest::Url;

/// Checks one configured use of an installed package: its configuration against the
/// manifest's keys, and its grants and limits against what the manifest asks for.
pub fn check_use(
    manifest: &Manifest,
    config: &str,
    grants: &Grants,
    limits: Limits,
) -> Result<(), PackageError> {
    manifest.check_config(config)?;
    let asks = &manifest.capabilities;
    let refuse = |capability: String, granted: String| PackageError::NotGranted {
        package: manifest.reference(),
        capability,
        granted,
    };
    for host in &asks.hosts {
        let granted = grants.http.as_ref().is_some_and(|client| {
            // A wildcard is granted when a host under it is; a host, when the list allows it.
            let probe = host.replacen('*', "wasync-probe", 1);
            Url::parse(&format!("https://{probe}/")).is_ok_and(|url| client.allows(&url))
        });
        if !granted {
            let granted = match &grants.http {
                Some(client) => format!(
                    "add it to `hosts` in [connectors.{}.http]",
                    client.connector()
                ),
                None => "this use has no network: only a connector can be granted hosts, in [connectors.NAME.http] hosts".into(),
            };
            return Err(refuse(format!("host `{host}`"), granted));
        }
    }
    for dir in &asks.dirs {
        if !grants.dirs.iter().any(|d| d.guest == *dir) {
            let granted = if grants.dirs.is_empty() {
                "no directory is granted here: only a connector can be granted one, in `dirs` of [connectors.NAME]".to_owned()
            } else {
                format!(
                    "granted here: {}; add `{{ host = \"…\", guest = \"{dir}\" }}` to the connector's `dirs`",
                    grants
                        .dirs
                        .iter()
                        .map(|d| d.guest.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            return Err(refuse(format!("directory `{dir}`"), granted));
        }
    }
    let memory = limits.memory as u64 >> 20;
    if asks.memory_mib > memory {
        return Err(refuse(
            format!("{} MiB of memory", asks.memory_mib),
            format!(
                "plugins are limited to {memory} MiB: run with `--memory-mib {}` or more",
                asks.memory_mib
            ),
        ));
    }
    Ok(())
}

impl crate::plugin::Package for Manifest {
    fn version(&self) -> &str {
        &self.version
    }

    fn check_use(&self, config: &str, grants: &Grants, limits: Limits) -> anyhow::Result<()> {
        Ok(check_use(self, config, grants, limits)?)
    }
}

/// The pipeline-file lines that grant what `manifest` asks for, for `install` to print.
pub fn grant_lines(manifest: &Manifest) -> Vec<String> {
    let asks = &manifest.capabilities;
    let mut lines = Vec::new();
    let quoted = |items: &[String]| {
        items
            .iter()
            .map(|h| format!("\"{h}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let is_connector = manifest.world_kind() == Ok(crate::wit::World::Connector);
    if is_connector {
        lines.push("[connectors.NAME]".to_owned());
        lines.push(format!("plugin = \"{}\"", manifest.name));
        if !asks.dirs.is_empty() {
            let dirs = asks
                .dirs
                .iter()
                .map(|d| format!("{{ host = \"HOST-DIR\", guest = \"{d}\" }}"))
                .collect::<Vec<_>>()
                .join(", ");
            lines.push(format!("dirs = [{dirs}]"));
        }
        if !asks.hosts.is_empty() {
            lines.push("[connectors.NAME.http]".to_owned());
            lines.push(format!("hosts = [{}]", quoted(&asks.hosts)));
        }
    } else {
        lines.push(format!(
            "{{ plugin = \"{}\", config = {{ … }} }}",
            manifest.name
        ));
    }
    if asks.memory_mib > crate::plugin::limits::DEFAULT_MEMORY as u64 >> 20 {
        lines.push(format!(
            "# and run with --memory-mib {} or more",
            asks.memory_mib
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::manifest::Capabilities;
    use crate::plugin::DirGrant;

    fn asking(capabilities: Capabilities) -> Manifest {
        Manifest {
            name: "acme:x".into(),
            version: "1.0.0".into(),
            kind: "field-transform".into(),
            world: "wasync:plugin/field-transform@0.1.0".into(),
            description: String::new(),
            capabilities,
            config: None,
        }
    }

    #[test]
    fn only_what_is_granted_is_accepted() {
        let limits = Limits::default();
        let none = Grants::default();
        assert!(check_use(&asking(Capabilities::default()), "{}", &none, limits).is_ok());

        let host = asking(Capabilities {
            hosts: vec!["api.example.com".into()],
            ..Capabilities::default()
        });
        let e = check_use(&host, "{}", &none, limits).expect_err("refused");
        assert!(
            e.to_string()
                .contains("host `api.example.com`, which is not granted: this use has no network"),
            "{e}"
        );

        let dir = asking(Capabilities {
            dirs: vec!["/data".into()],
            ..Capabilities::default()
        });
        let e = check_use(&dir, "{}", &none, limits).expect_err("refused");
        assert!(e.to_string().contains("directory `/data`"), "{e}");
        let granted = Grants {
            dirs: vec![DirGrant {
                host: "in".into(),
                guest: "/data".into(),
                read_only: true,
            }],
            ..Grants::default()
        };
        assert!(check_use(&dir, "{}", &granted, limits).is_ok());

        let memory = asking(Capabilities {
            memory_mib: 300,
            ..Capabilities::default()
        });
        let e = check_use(&memory, "{}", &none, limits).expect_err("refused");
        assert!(e.to_string().contains("300 MiB of memory"), "{e}");
    }
}
