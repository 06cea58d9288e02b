//! `wasync check` (is this pipeline file usable, and if not, everything that is wrong) and
//! `wasync discover` (what the connectors offer, and a starting point written into the file).

use super::RuntimeArgs;
use crate::config::Config;
use crate::engine::check::{self, Checked, Described};
use crate::out::outln;
use crate::plugin::Runtime;
use crate::wit::{EntityDescription, EntityKind, ValueKind};
use anyhow::Context;
use serde_json::{Value as Json, json};
use std::path::Path;

/// `wasync check`: fails, after listing every problem, when there is any.
pub fn run_check(file: &Path, as_json: bool, runtime: &RuntimeArgs) -> anyhow::Result<()> {
    let config = Config::load(file)?;
    let runtime = Runtime::new(runtime.options())?;
    let checked = check::check(&config, &runtime);
    if as_json {
        outln!("{}", serde_json::to_string_pretty(&document(&checked))?)?;
    } else {
        for c in &checked.connectors {
            let entities: Vec<String> = c
                .entities
                .iter()
                .map(|e| format!("{} ({})", e.name, kind(e.kind)))
                .collect();
            outln!(
                "connector {} ({}): {}",
                c.connector,
                c.plugin,
                entities.join(", ")
            )?;
        }
        outln!("plugin uses configured: {}", checked.uses)?;
        for p in &checked.problems {
            outln!("problem: {}: {}", p.at, p.message)?;
        }
    }
    match checked.problems.len() {
        0 => {
            if !as_json {
                outln!("ok: {} is ready to sync", file.display())?;
            }
            Ok(())
        }
        n => anyhow::bail!("{n} problem(s) in {}", file.display()),
    }
}

/// `wasync discover`: the entities and fields each connector describes; with `add`, a new
/// pipeline over the chosen ones appended to the file.
pub fn run_discover(
    file: &Path,
    connector: Option<&str>,
    as_json: bool,
    add: Option<NewPipeline>,
    runtime: &RuntimeArgs,
) -> anyhow::Result<()> {
    let config = Config::load(file)?;
    let runtime = Runtime::new(runtime.options())?;
    let found = check::describe_connectors(&config, &runtime, connector);
    if let Some(new) = add {
        let added = add_pipeline(file, &found, &new)?;
        outln!("added to {}:{added}", file.display())?;
        return Ok(());
    }
    if as_json {
        let mut doc = document(&found);
        if let Some(doc) = doc.as_object_mut() {
            doc.remove("plugin_uses"); // discovery configures none
        }
        outln!("{}", serde_json::to_string_pretty(&doc)?)?;
    } else {
        for c in &found.connectors {
            show(c)?;
        }
        for p in &found.problems {
            outln!("problem: {}: {}", p.at, p.message)?;
        }
    }
    match found.problems.len() {
        0 => Ok(()),
        n => anyhow::bail!("{n} problem(s) in {}", file.display()),
    }
}

/// What `wasync discover --add-pipeline` writes: a new pipeline reading `sources`
/// (`connector/entity`), each mapping its fields (those named in `fields`, else all but the
/// id and the watermark) to unified fields of the same name.
pub struct NewPipeline {
    /// The pipeline's name.
    pub name: String,
    /// The unified entity (default: the first source's entity).
    pub entity: Option<String>,
    /// The sources, `connector/entity`.
    pub sources: Vec<String>,
    /// The fields to map; all when empty.
    pub fields: Vec<String>,
}

/// Appends `new` to the pipeline file at `file`, from what the connectors described, once
/// the whole file with it still loads; returns the text added.
pub fn add_pipeline(file: &Path, found: &Checked, new: &NewPipeline) -> anyhow::Result<String> {
    anyhow::ensure!(
        !new.sources.is_empty(),
        "--add-pipeline needs at least one --source CONNECTOR/ENTITY"
    );
    let mut sources = Vec::new();
    let mut unused: Vec<&String> = new.fields.iter().collect();
    for label in &new.sources {
        let (connector, entity) = label
            .split_once('/')
            .with_context(|| format!("--source `{label}`: write it as CONNECTOR/ENTITY"))?;
        let described = found
            .connectors
            .iter()
            .find(|c| c.connector == connector)
            .with_context(|| format!("--source `{label}`: no connector `{connector}` described"))?;
        let e = described
            .entities
            .iter()
            .find(|e| e.name == entity)
            .with_context(|| {
                let offers: Vec<&str> = described.entities.iter().map(|e| e.name.as_str()).collect();
                format!(
                    "--source `{label}`: connector `{connector}` has no entity `{entity}` (it offers: {})",
                    offers.join(", ")
                )
            })?;
        let fields: Vec<&str> = e
            .fields
            .iter()
            .map(|f| f.name.as_str())
            .filter(|f| match new.fields.is_empty() {
                true => *f != e.id_field && *f != e.watermark_field,
                false => new.fields.iter().any(|n| n == f),
            })
            .collect();
        unused.retain(|u| !fields.contains(&u.as_str()));
        sources.push((label, connector, entity, fields));
    }
    if let Some(field) = unused.first() {
        anyhow::bail!("--field `{field}`: no chosen source has it");
    }
    if let Some((label, ..)) = sources.iter().find(|(.., fields)| fields.is_empty()) {
        anyhow::bail!("--source `{label}`: none of its fields is chosen");
    }
    let entity = match &new.entity {
        Some(entity) => entity.as_str(),
        None => sources[0].2,
    };
    let mut added = format!(
        "\n# Pipeline `{}`, added by `wasync discover` as a starting point: add destinations,\n# transforms and authority rules, then try it with `wasync check`.\n[[pipeline]]\nname = {}\nentity = {}\n",
        new.name,
        quoted(&new.name),
        quoted(entity)
    );
    for (_, connector, entity, fields) in &sources {
        added.push_str(&format!(
            "\n[[pipeline.source]]\nconnector = {}\nentity = {}\n\n[pipeline.source.fields]\n",
            quoted(connector),
            quoted(entity)
        ));
        for f in fields {
            added.push_str(&format!("{} = {}\n", key(f), quoted(f)));
        }
    }
    let before =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let after = format!("{}\n{added}", before.trim_end());
    // The file with the pipeline must still load; written next to it, then renamed over it,
    // so a failure leaves the file as it was.
    let draft = file.with_extension("toml.discover");
    std::fs::write(&draft, &after).with_context(|| format!("cannot write {}", draft.display()))?;
    if let Err(e) = Config::load(&draft) {
        let _ = std::fs::remove_file(&draft);
        return Err(anyhow::Error::new(e).context("the pipeline would not load; nothing written"));
    }
    std::fs::rename(&draft, file).with_context(|| format!("cannot replace {}", file.display()))?;
    Ok(added)
}

/// `text` as a TOML string.
fn quoted(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// `name` as a TOML key: bare when it can be, else quoted.
fn key(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    match bare {
        true => name.to_owned(),
        false => quoted(name),
    }
}

/// One connector's entities and fields, for people.
fn show(c: &Described) -> anyhow::Result<()> {
    outln!("connector {} ({})", c.connector, c.plugin)?;
    for e in &c.entities {
        outln!(
            "  {} ({}; id `{}`, watermark `{}`)",
            e.name,
            kind(e.kind),
            e.id_field,
            e.watermark_field
        )?;
        for f in &e.fields {
            let read_only = if f.read_only { ", read-only" } else { "" };
            outln!("    {:<32} {}{read_only}", f.name, value_kind(f.kind))?;
        }
    }
    Ok(())
}

/// What a check or a discovery found, as JSON.
fn document(checked: &Checked) -> Json {
    let connectors: Vec<Json> = checked
        .connectors
        .iter()
        .map(|c| {
            json!({
                "connector": c.connector,
                "plugin": c.plugin,
                "entities": c.entities.iter().map(entity).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "ok": checked.problems.is_empty(),
        "connectors": connectors,
        "plugin_uses": checked.uses,
        "problems": checked.problems,
    })
}

fn entity(e: &EntityDescription) -> Json {
    json!({
        "name": e.name,
        "kind": kind(e.kind),
        "id_field": e.id_field,
        "watermark_field": e.watermark_field,
        "fields": e.fields.iter().map(|f| json!({
            "name": f.name,
            "kind": value_kind(f.kind),
            "read_only": f.read_only,
        })).collect::<Vec<_>>(),
    })
}

fn kind(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Object => "object",
        EntityKind::Event => "event",
    }
}

fn value_kind(kind: ValueKind) -> &'static str {
    match kind {
        ValueKind::Boolean => "boolean",
        ValueKind::Integer => "integer",
        ValueKind::Float => "float",
        ValueKind::Text => "text",
        ValueKind::Timestamp => "timestamp",
        ValueKind::Json => "json",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_keys_and_values_read_back_as_they_were() {
        for (name, value) in [
            ("Name", "Name"),
            ("Account Name", "a \"quoted\" one"),
            ("hs_object_id", "back\\slash"),
            ("ümlaut", "line\nbreak"),
        ] {
            let line = format!("{} = {}", key(name), quoted(value));
            let table: toml::Table = toml::from_str(&line).expect("parses");
            assert_eq!(table[name].as_str(), Some(value), "{line}");
        }
        assert_eq!(key("Name"), "Name");
        assert_eq!(key("Account Name"), "\"Account Name\"");
    }
}
