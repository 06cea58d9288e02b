//! Durable webhook intake: a request goes to its connector's `webhook` export, which checks
//! the signature and turns it into changes; the changes are routed to the pipelines that read
//! them and committed to the store; only then is the sender answered 2xx. Requests that
//! arrive together are committed together (one transaction, one fsync-free WAL append), which
//! is what keeps the intake fast under load.

use crate::capabilities::http::Client;
use crate::config::Config;
use crate::engine::{connect, cycle, record_json};
use crate::plugin::{Runtime, System};
use crate::store::{Received, Store};
use crate::value::describe;
use crate::wit::external::{EntityChange, WebhookRequest};
use crate::wit::{EntityKind, Error as PluginErrorValue};
use anyhow::Context;
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;

/// Requests committed in one transaction at most.
const GROUP: usize = 256;

/// A webhook request on its way to a connector, and where its answer goes.
pub struct Delivery {
    /// The connector named in the URL.
    pub connector: String,
    /// The request as received.
    pub request: WebhookRequest,
    /// Gets the answer once the changes are committed, or why not.
    pub reply: tokio::sync::oneshot::Sender<Answer>,
}

/// The HTTP answer to a webhook request.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The JSON body.
    pub body: Json,
}

impl Answer {
    fn refused(status: u16, message: String) -> Answer {
        Answer {
            status,
            body: json!({ "error": message }),
        }
    }
}

/// One connector that takes webhooks.
struct Hook {
    system: System,
    http: Option<Arc<Client>>,
    /// Per entity: whether it holds events, and the pipelines whose sources read it.
    routes: HashMap<String, (EntityKind, Vec<String>)>,
}

/// The connectors that take webhooks, and the store their changes go to.
pub struct Intake {
    store: Store,
    hooks: BTreeMap<String, Hook>,
}

/// The largest body each webhook connector takes, for the HTTP layer to enforce first.
pub fn body_limits(config: &Config) -> HashMap<String, usize> {
    config
        .connectors
        .iter()
        .filter_map(|(name, c)| Some((name.clone(), c.webhook.as_ref()?.max_body_bytes)))
        .collect()
}

impl Intake {
    /// Connects connector `name` if it has a `webhook` table, with its secret resolved.
    pub fn open(config: &Config, runtime: &Runtime, name: &str) -> anyhow::Result<Intake> {
        let store = Store::open(&config.store)?;
        let mut hooks = BTreeMap::new();
        for (name, connector) in config.connectors.iter().filter(|(n, _)| *n == name) {
            if connector.webhook.is_none() {
                continue;
            }
            let settings = connector
                .plugin_config(name, |var| std::env::var(var).ok())
                .map_err(|e| anyhow::anyhow!(e))?;
            let plugin = crate::package::load(runtime, &connector.plugin, &config.dir)
                .with_context(|| format!("connector `{name}`"))?;
            let calls = store.read().api_calls(name, crate::time::today())?;
            let (mut system, http) = connect(runtime, &plugin, name, connector, calls, &settings)?;
            let described = system.describe()?.map_err(|e| {
                anyhow::anyhow!("connector `{name}`: describe failed: {}", describe(&e))
            })?;
            let mut routes = HashMap::new();
            for entity in described {
                let pipelines = config
                    .pipelines
                    .iter()
                    .filter(|p| {
                        p.sources
                            .iter()
                            .any(|s| s.enabled && s.connector == *name && s.entity == entity.name)
                    })
                    .map(|p| p.name.clone())
                    .collect();
                routes.insert(entity.name, (entity.kind, pipelines));
            }
            hooks.insert(
                name.clone(),
                Hook {
                    system,
                    http,
                    routes,
                },
            );
        }
        Ok(Intake { store, hooks })
    }

    /// Takes deliveries until every sender is gone; `taken` is told after each commit that
    /// took something new in. A configuration on `reload` (hot load applied a new pipeline
    /// file) replaces the connectors and routes before the next delivery; if it cannot be
    /// connected, the running ones stay.
    pub fn run(
        mut self,
        name: &str,
        deliveries: Receiver<Delivery>,
        reload: Receiver<Config>,
        runtime: &Runtime,
        taken: impl Fn(),
    ) {
        while let Ok(first) = deliveries.recv() {
            if let Some(config) = reload.try_iter().last() {
                match Intake::open(&config, runtime, name) {
                    Ok(intake) => self = intake,
                    Err(e) => {
                        tracing::error!("the webhook intake keeps its connectors and routes: {e:#}")
                    }
                }
            }
            let mut group = vec![first];
            while group.len() < GROUP {
                match deliveries.try_recv() {
                    Ok(more) => group.push(more),
                    Err(_) => break,
                }
            }
            if self.take(group) > 0 {
                taken();
            }
        }
    }

    /// Checks, routes and commits a group of deliveries, then answers each; returns how many
    /// new changes were committed.
    pub fn take(&mut self, group: Vec<Delivery>) -> usize {
        let checked: Vec<(Delivery, Result<Vec<Received>, Answer>)> = group
            .into_iter()
            .map(|d| {
                let rows = self.check(&d);
                (d, rows)
            })
            .collect();
        let now = crate::time::now_micros();
        let clients: Vec<Arc<Client>> =
            self.hooks.values().filter_map(|h| h.http.clone()).collect();
        let committed = self.store.transaction(|tx| {
            let mut new = Vec::new();
            for (_, rows) in &checked {
                new.push(match rows {
                    Ok(rows) => tx.take_in(rows, now)?,
                    Err(_) => 0,
                });
            }
            cycle::save_calls(tx, &clients)?;
            Ok(new)
        });
        let mut total = 0;
        match committed {
            Ok(new) => {
                for ((delivery, rows), new) in checked.into_iter().zip(new) {
                    total += new;
                    let answer = rows.map(|rows| Answer {
                        status: 200,
                        body: json!({ "received": rows.len(), "new": new }),
                    });
                    let _ = delivery
                        .reply
                        .send(answer.unwrap_or_else(|refused| refused));
                }
            }
            Err(e) => {
                tracing::error!("cannot store received changes: {e}");
                for (delivery, rows) in checked {
                    let answer = match rows {
                        Ok(_) => Answer::refused(503, format!("cannot store the changes: {e}")),
                        Err(refused) => refused,
                    };
                    let _ = delivery.reply.send(answer);
                }
            }
        }
        total
    }

    /// The rows one request becomes, or the answer refusing it.
    fn check(&mut self, d: &Delivery) -> Result<Vec<Received>, Answer> {
        let hook = self.hooks.get_mut(&d.connector).ok_or_else(|| {
            Answer::refused(
                404,
                format!("connector `{}` takes no webhooks", d.connector),
            )
        })?;
        let changes = match hook.system.webhook(&d.request) {
            Ok(Ok(changes)) => changes,
            Ok(Err(error)) => return Err(refusal(&d.connector, &error)),
            Err(failure) => {
                return Err(Answer::refused(
                    500,
                    format!("connector `{}` failed: {failure}", d.connector),
                ));
            }
        };
        let mut rows = Vec::new();
        for (i, EntityChange { entity, record }) in changes.into_iter().enumerate() {
            let Some((kind, pipelines)) = hook.routes.get(&entity).filter(|(_, p)| !p.is_empty())
            else {
                return Err(Answer::refused(
                    422,
                    format!(
                        "change {}: no pipeline has `{}/{entity}` as an enabled source",
                        i + 1,
                        d.connector
                    ),
                ));
            };
            if record.id.trim().is_empty() {
                return Err(Answer::refused(
                    400,
                    format!("change {}: the record has no id", i + 1),
                ));
            }
            let json = record_json(&record);
            // An event is named by its id; a change to an object by what it says, so the
            // same change delivered twice is taken in once, and a later one is not lost.
            let key = match kind {
                EntityKind::Event => format!("event:{}", record.id),
                EntityKind::Object => {
                    format!("sha256:{}", hex(&Sha256::digest(json.as_bytes())))
                }
            };
            for pipeline in pipelines {
                rows.push(Received {
                    pipeline: pipeline.clone(),
                    connector: d.connector.clone(),
                    entity: entity.clone(),
                    key: key.clone(),
                    record: json.clone(),
                });
            }
        }
        Ok(rows)
    }
}

/// The status a connector's refusal is answered with, and its message.
fn refusal(connector: &str, error: &PluginErrorValue) -> Answer {
    let status = match error {
        PluginErrorValue::Unauthorized(_) => 401,
        PluginErrorValue::AccessDenied(_) => 403,
        PluginErrorValue::InvalidInput(_) => 400,
        PluginErrorValue::NotFound(_) => 404,
        PluginErrorValue::RateLimited(_) => 429,
        PluginErrorValue::Unavailable(_) => 503,
        PluginErrorValue::InvalidConfig(_) | PluginErrorValue::Other(_) => 500,
    };
    Answer::refused(status, format!("{connector}: {}", describe(error)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The intake of each connector that takes webhooks, on a thread of its own: a connector
/// stuck in its `webhook` call until its deadline holds up only its own deliveries.
pub struct Lanes {
    lanes: BTreeMap<String, Lane>,
    runtime: Arc<Runtime>,
    taken: Arc<dyn Fn() + Send + Sync>,
}

/// One connector's intake thread, and how to reach it.
struct Lane {
    deliver: Sender<Delivery>,
    reload: Sender<Config>,
    thread: JoinHandle<()>,
}

impl Lanes {
    /// Connects every connector that has a `webhook` table and starts its thread; `taken`
    /// is told after each commit that took something new in.
    pub fn open(
        config: &Config,
        runtime: Arc<Runtime>,
        taken: Arc<dyn Fn() + Send + Sync>,
    ) -> anyhow::Result<Lanes> {
        let mut lanes = Lanes {
            lanes: BTreeMap::new(),
            runtime,
            taken,
        };
        for name in webhook_connectors(config) {
            lanes.start(config, &name)?;
        }
        Ok(lanes)
    }

    fn start(&mut self, config: &Config, name: &str) -> anyhow::Result<()> {
        let intake = Intake::open(config, &self.runtime, name)?;
        let (deliver, deliveries) = mpsc::channel();
        let (reload, reloads) = mpsc::channel();
        let (runtime, taken, lane) = (self.runtime.clone(), self.taken.clone(), name.to_owned());
        let thread = std::thread::Builder::new()
            .name(format!("wasync-intake-{name}"))
            .spawn(move || intake.run(&lane, deliveries, reloads, &runtime, || taken()))?;
        self.lanes.insert(
            name.to_owned(),
            Lane {
                deliver,
                reload,
                thread,
            },
        );
        Ok(())
    }

    /// Routes deliveries to their connector's thread until every sender is gone, then lets
    /// each thread answer what it has. A configuration on `reload` (hot load applied a new
    /// pipeline file) reaches every thread before the next delivery; a connector it adds
    /// starts taking webhooks, one it drops stops.
    pub fn run(mut self, deliveries: Receiver<Delivery>, reload: Receiver<Config>) {
        while let Ok(delivery) = deliveries.recv() {
            if let Some(config) = reload.try_iter().last() {
                self.reconfigure(&config);
            }
            match self.lanes.get(&delivery.connector) {
                Some(lane) => {
                    if let Err(mpsc::SendError(d)) = lane.deliver.send(delivery) {
                        let answer = Answer::refused(503, "the intake is stopping".into());
                        let _ = d.reply.send(answer);
                    }
                }
                None => {
                    let message = format!("connector `{}` takes no webhooks", delivery.connector);
                    let _ = delivery.reply.send(Answer::refused(404, message));
                }
            }
        }
        for lane in std::mem::take(&mut self.lanes).into_values() {
            drop(lane.deliver);
            let _ = lane.thread.join();
        }
    }

    fn reconfigure(&mut self, config: &Config) {
        let wanted = webhook_connectors(config);
        let dropped: Vec<String> = self
            .lanes
            .keys()
            .filter(|name| !wanted.contains(name))
            .cloned()
            .collect();
        for name in dropped {
            // Its thread answers what it has, then ends: its channel is gone.
            self.lanes.remove(&name);
        }
        for name in wanted {
            match self.lanes.get(&name) {
                Some(lane) => {
                    let _ = lane.reload.send(config.clone());
                }
                None => {
                    if let Err(e) = self.start(config, &name) {
                        tracing::error!("connector `{name}` cannot take webhooks: {e:#}");
                    }
                }
            }
        }
    }
}

/// The connectors of `config` that take webhooks.
fn webhook_connectors(config: &Config) -> Vec<String> {
    config
        .connectors
        .iter()
        .filter(|(_, c)| c.webhook.is_some())
        .map(|(name, _)| name.clone())
        .collect()
}
