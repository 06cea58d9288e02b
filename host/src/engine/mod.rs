//! The sync engine: pipelines built from the configuration, each running the staged cycle of
//! [`cycle`] over the unified store. The stages share one context ([`work::Cycle`]) and are
//! named by [`Stage`].
//!
//! | stage | module |
//! |---|---|
//! | 1. read from sources | [`read`] |
//! | 2. source entity pipeline | [`entity`] |
//! | 3. source field pipelines, data authority | [`fields`], [`authority`] |
//! | 4. deduplication and merge | [`merge`] |
//! | 5. save and log | [`save`] |
//! | 6. destination entity pipeline (per destination, chunk by chunk) | [`entity`] |
//! | 7. destination field pipelines | [`fields`] |
//! | 8. write to destinations | [`write`] |

pub mod authority;
mod build;
pub mod check;
pub mod cycle;
pub mod entity;
pub mod fields;
mod lookup;
pub mod merge;
pub mod order;
mod prefetch;
pub mod read;
pub mod report;
pub mod save;
pub mod stage;
pub mod work;
pub mod write;

/// The clock, where callers of the engine used to find it.
pub use crate::time::now_micros;
pub use build::{Destination, FieldPipe, Pipeline, Plugins, Source, Step, Use, connect};
pub use lookup::StoreLookup;
pub use report::Report;
pub use stage::{Stage, Stages};

use crate::config::Config;
use crate::plugin::{Bindings, CallError, Instance, Runtime};
use crate::store::Store;
use crate::wit::{Error as PluginErrorValue, Field, Record};
use anyhow::Context;

/// The configured pipelines over one store.
pub struct Engine {
    store: Store,
    pipelines: Vec<Pipeline>,
    plugins: Plugins,
}

impl Engine {
    /// Opens the store and builds every pipeline: loads its plugins and configures each use.
    /// Anything wrong stops here, before a record moves.
    pub fn open(config: &Config, runtime: &Runtime) -> anyhow::Result<Engine> {
        Engine::open_with(config, runtime, Plugins::new())
    }

    /// Like [`Engine::open`], with plugins already loaded (off to the side, by hot load)
    /// taken from `plugins` by how the configuration names them.
    pub fn open_with(
        config: &Config,
        runtime: &Runtime,
        plugins: Plugins,
    ) -> anyhow::Result<Engine> {
        let store = Store::open(&config.store)?;
        let (pipelines, plugins) = build::pipelines(config, runtime, &store, plugins)?;
        Ok(Engine {
            store,
            pipelines,
            plugins,
        })
    }

    /// The plugins its pipelines use, by how the configuration names them.
    pub fn plugins(&self) -> &Plugins {
        &self.plugins
    }

    /// The pipelines' names.
    pub fn pipeline_names(&self) -> Vec<String> {
        self.pipelines.iter().map(|p| p.name.clone()).collect()
    }

    /// Runs one cycle of pipeline `name`.
    pub fn run_cycle(&mut self, name: &str, options: &cycle::Options) -> anyhow::Result<Report> {
        let pipeline = self
            .pipelines
            .iter()
            .find(|p| p.name == name)
            .with_context(|| format!("no pipeline `{name}` in the configuration"))?;
        run_cycle(pipeline, &mut self.store, options)
    }

    /// Its store, its pipelines and their plugins, to run each pipeline on a thread of its
    /// own (`wasync serve`), each with a store connection of its own.
    pub fn into_parts(self) -> (Store, Vec<Pipeline>, Plugins) {
        (self.store, self.pipelines, self.plugins)
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Forgets changes received by webhook that were saved before `before` (micros).
    pub fn prune_received(&mut self, before: i64) -> anyhow::Result<usize> {
        Ok(self.store.transaction(|tx| tx.prune_intake(before))?)
    }
}

/// Runs one cycle of `pipeline` on `store`.
pub fn run_cycle(
    pipeline: &Pipeline,
    store: &mut Store,
    options: &cycle::Options,
) -> anyhow::Result<Report> {
    let report = cycle::run(pipeline, store, options);
    if report.is_err() {
        // A cycle cut off still spent its calls: they count against the budget.
        let clients = pipeline.clients();
        if let Err(e) = store.transaction(|tx| cycle::save_calls(tx, &clients)) {
            tracing::warn!("cannot save the API call counts: {e}");
        }
    }
    report
}

/// [`Instance::isolate`] with failures as readable text, as quarantine keeps them.
pub fn per_item<B: Bindings, I, O>(
    instance: &mut Instance<B>,
    items: &[I],
    call: impl FnMut(&mut Instance<B>, &[I]) -> Result<Vec<Result<O, PluginErrorValue>>, CallError>,
) -> Vec<Result<O, String>> {
    instance
        .isolate(items, call)
        .into_iter()
        .map(|r| r.map_err(|failure| failure.to_string()))
        .collect()
}

/// The value of field `name` of a record: `None` when the record does not have the field
/// (unknown), as opposed to `Some(Null)` (empty).
pub fn field<'a>(record: &'a Record, name: &str) -> Option<&'a crate::wit::Value> {
    record
        .fields
        .iter()
        .find(|f| f.name == name)
        .map(|f| &f.value)
}

/// A unified record as plugins see it: its id, its last change as watermark, its fields.
pub fn record_of(u: crate::store::Unified) -> Record {
    Record {
        id: u.id,
        watermark: crate::wit::Value::Timestamp(u.updated),
        fields: u
            .fields
            .into_iter()
            .map(|(name, value)| Field { name, value })
            .collect(),
        deleted: u.deleted,
    }
}

/// A record as JSON, for quarantine (so it can be replayed) and for people.
pub fn record_json(record: &Record) -> String {
    let fields: serde_json::Map<String, serde_json::Value> = record
        .fields
        .iter()
        .map(|f| (f.name.clone(), crate::store::encode_value(&f.value)))
        .collect();
    serde_json::json!({
        "id": record.id,
        "watermark": crate::store::encode_value(&record.watermark),
        "deleted": record.deleted,
        "fields": fields,
    })
    .to_string()
}

/// The record a [`record_json`] text stands for.
pub fn record_from_json(text: &str) -> Option<Record> {
    let json: serde_json::Value = serde_json::from_str(text).ok()?;
    let fields = json["fields"]
        .as_object()?
        .iter()
        .map(|(name, value)| Field {
            name: name.clone(),
            value: crate::store::decode_value(value),
        })
        .collect();
    Some(Record {
        id: json["id"].as_str()?.to_owned(),
        watermark: crate::store::decode_value(&json["watermark"]),
        fields,
        deleted: json["deleted"].as_bool().unwrap_or(false),
    })
}

/// Stops the process after `point` when `WASYNC_ABORT_AT` names it: the test suite kills a
/// real `wasync sync` at every stage boundary this way to prove a cut-off cycle loses
/// nothing. In a micro-batch of received changes the point is named `received:POINT`, so
/// `wasync serve` can be cut off there without its scheduled cycles tripping first. Costs
/// one environment read per point.
pub fn abort_point(point: &str) {
    let Ok(at) = std::env::var("WASYNC_ABORT_AT") else {
        return;
    };
    let named = match cycle::IN_MICRO_BATCH.get() {
        true => at.strip_prefix("received:") == Some(point),
        false => at == point,
    };
    if named {
        std::process::abort();
    }
}
