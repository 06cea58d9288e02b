//! Configured uses of a plugin: an instance made with one configuration and called with
//! batches. A call that traps, runs past its deadline or overruns its memory throws the
//! instance away; the next call gets a fresh one, made with the same configuration.

use super::Plugin;
use super::error::CallError;
use super::limits::Limits;
use super::output::{Measure, Output};
use super::state::{Grants, HostState};
use crate::wit::World;
use crate::wit::{self as bindings, Error as PluginErrorValue, v0_2};
use wasmtime::component::{InstancePre, ResourceAny};
use wasmtime::{Store, StoreContextMut, Trap, UpdateDeadline};

/// The generated bindings of one world, as [`Instance`] needs them.
pub trait Bindings: Sized {
    /// The world.
    const WORLD: World;
    /// The name of its constructor, for errors (`transform.create`).
    const CREATE: &'static str;
    /// Pre-instantiated form.
    type Pre: Clone;

    /// Checks the component's exports against the world and prepares instantiation.
    fn pre(pre: InstancePre<HostState>) -> wasmtime::Result<Self::Pre>;
    /// Instantiates into `store`.
    fn instantiate(pre: &Self::Pre, store: &mut Store<HostState>) -> wasmtime::Result<Self>;
    /// Calls the world's resource constructor with `config`.
    fn create(
        &self,
        store: &mut Store<HostState>,
        config: &str,
    ) -> wasmtime::Result<Result<ResourceAny, PluginErrorValue>>;
}

/// A live instance: its store, bindings and the configured resource.
struct Live<B> {
    store: Store<HostState>,
    bindings: B,
    handle: ResourceAny,
}

/// One configured use of a plugin.
pub struct Instance<B: Bindings> {
    plugin: Plugin,
    config: String,
    grants: Grants,
    limits: Limits,
    /// The next call's deadline: the configured one, shorter while a failed batch is
    /// being taken apart (see [`Instance::isolate`](super::isolate)).
    pub(super) deadline: std::time::Duration,
    pre: B::Pre,
    live: Option<Live<B>>,
    /// The buffer a batch is encoded into, kept from call to call with its memory.
    pub(super) scratch: Vec<u8>,
}

impl<B: Bindings> Instance<B> {
    /// Makes the use and constructs it once, so an unusable configuration fails here.
    pub(crate) fn new(
        plugin: &Plugin,
        config: &str,
        grants: Grants,
        limits: Limits,
    ) -> Result<Self, CallError> {
        let pre = B::pre(plugin.pre().clone()).map_err(|e| CallError::Trap {
            plugin: plugin.name().to_owned(),
            call: B::CREATE,
            reason: format!("{e:#}"),
        })?;
        let mut instance = Instance {
            plugin: plugin.clone(),
            config: config.to_owned(),
            grants,
            limits,
            deadline: limits.deadline,
            pre,
            live: None,
            scratch: Vec::new(),
        };
        instance.live()?;
        Ok(instance)
    }

    /// The plugin this is a use of.
    pub fn plugin(&self) -> &Plugin {
        &self.plugin
    }

    /// The live instance, made now if the last call threw it away.
    fn live(&mut self) -> Result<&mut Live<B>, CallError> {
        if self.live.is_none() {
            let state = HostState::new(self.plugin.shared_name(), &self.grants, self.limits.memory)
                .map_err(|e| CallError::Trap {
                    plugin: self.plugin.name().to_owned(),
                    call: B::CREATE,
                    reason: format!("{e:#}"),
                })?;
            let mut store = Store::new(self.plugin.engine(), state);
            store.limiter(|s| &mut s.limiter);
            store.epoch_deadline_callback(extend_by_waits);
            store.set_epoch_deadline(self.limits.deadline_ticks());
            let bindings = B::instantiate(&self.pre, &mut store)
                .map_err(|e| self.error(B::CREATE, e, Some(&store)))?;
            let handle = match bindings.create(&mut store, &self.config) {
                Ok(Ok(handle)) => handle,
                Ok(Err(error)) => {
                    return Err(CallError::Failed {
                        plugin: self.plugin.name().to_owned(),
                        call: B::CREATE,
                        error,
                    });
                }
                Err(e) => return Err(self.error(B::CREATE, e, Some(&store))),
            };
            self.live = Some(Live {
                store,
                bindings,
                handle,
            });
        }
        Ok(self.live.as_mut().expect("made above"))
    }

    /// The limits its calls run under.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Runs one call under the deadline and checks what it returned against the output
    /// limits; a failed call ends the instance.
    pub(crate) fn call<R: Output>(
        &mut self,
        call: &'static str,
        f: impl FnOnce(&B, &mut Store<HostState>, ResourceAny) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        let result = self.call_unchecked(call, f)?;
        self.check(call, &result.measured())?;
        Ok(result)
    }

    /// Refuses an output over the limits. The instance that made it is thrown away, and with
    /// it the memory it grew to make it.
    pub(crate) fn check(&mut self, call: &'static str, measure: &Measure) -> Result<(), CallError> {
        match measure.over(&self.limits) {
            None => Ok(()),
            Some(over) => {
                self.live = None;
                Err(CallError::OutputLimit {
                    plugin: self.plugin.name().to_owned(),
                    call,
                    over,
                })
            }
        }
    }

    /// Reads a batch a plugin answered with: a buffer over the output limits is refused
    /// unread, one that breaks the layout as [`Instance::malformed`].
    pub(crate) fn read_batch<T>(
        &mut self,
        call: &'static str,
        buf: &[u8],
        decode: impl FnOnce(&[u8]) -> Result<T, wasync_batch::DecodeError>,
    ) -> Result<T, CallError> {
        self.check(call, &buf.measured())?;
        decode(buf).map_err(|e| self.malformed(call, e))
    }

    /// Refuses an answer that breaks the batch layout. The instance that made it is thrown
    /// away: a plugin whose encoder is broken may be broken in other ways.
    pub(crate) fn malformed(
        &mut self,
        call: &'static str,
        error: wasync_batch::DecodeError,
    ) -> CallError {
        self.live = None;
        CallError::Malformed {
            plugin: self.plugin.name().to_owned(),
            call,
            reason: error.to_string(),
        }
    }

    /// Runs one call on the live instance under the deadline, what it returns unchecked; a
    /// failed call ends the instance.
    pub(crate) fn call_unchecked<R>(
        &mut self,
        call: &'static str,
        f: impl FnOnce(&B, &mut Store<HostState>, ResourceAny) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        let ticks = super::limits::ticks(self.deadline);
        let live = self.live()?;
        live.store.set_epoch_deadline(ticks);
        live.store.data_mut().limiter.refused = None;
        live.store.data_mut().http.take_waited();
        let started = std::time::Instant::now();
        let result = f(&live.bindings, &mut live.store, live.handle);
        super::PLUGIN_NANOS.fetch_add(
            started.elapsed().as_nanos() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        match result {
            Ok(result) => Ok(result),
            Err(e) => {
                let live = self.live.take().expect("live during the call");
                Err(self.error(call, e, Some(&live.store)))
            }
        }
    }

    /// Checks that a batch call returned one result per input.
    pub(crate) fn expect_count<T>(
        &self,
        call: &'static str,
        expected: usize,
        results: Vec<T>,
    ) -> Result<Vec<T>, CallError> {
        if results.len() == expected {
            return Ok(results);
        }
        Err(CallError::WrongCount {
            plugin: self.plugin.name().to_owned(),
            call,
            expected,
            got: results.len(),
        })
    }

    /// Turns a failed call into a typed error naming the plugin and the call.
    fn error(
        &self,
        call: &'static str,
        error: wasmtime::Error,
        store: Option<&Store<HostState>>,
    ) -> CallError {
        let plugin = self.plugin.name().to_owned();
        if matches!(error.downcast_ref::<Trap>(), Some(Trap::Interrupt)) {
            return CallError::Deadline {
                plugin,
                call,
                deadline: self.limits.deadline,
            };
        }
        let state = store.map(Store::data);
        if state.is_some_and(|s| s.limiter.refused.is_some()) {
            return CallError::MemoryLimit {
                plugin,
                call,
                limit: self.limits.memory,
            };
        }
        let printed = state.map(|s| s.stderr.take()).unwrap_or_default();
        let trap = match error.downcast_ref::<Trap>() {
            Some(trap) => trap.to_string(),
            None => format!("{error:#}"),
        };
        let reason = if printed.is_empty() {
            trap
        } else {
            format!("{trap}; the plugin printed: {printed}")
        };
        CallError::Trap {
            plugin,
            call,
            reason,
        }
    }
}

/// A world's bindings, or its pre-instantiated form, in the version of the WIT package the
/// component was built for.
#[derive(Clone)]
pub enum Versioned<A, B> {
    /// `wasync:plugin@0.1.0`.
    V0_1(A),
    /// `wasync:plugin@0.2.0`.
    V0_2(B),
}

/// Evaluates `$call` on whichever version `$bindings` is, where both versions share the
/// call's types (everything but a transform's batch).
macro_rules! either {
    ($bindings:expr, $b:ident => $call:expr) => {
        match $bindings {
            $crate::plugin::instance::Versioned::V0_1($b) => $call,
            $crate::plugin::instance::Versioned::V0_2($b) => $call,
        }
    };
}
pub(crate) use either;

/// A field transform's configured use.
pub type Transformer = Instance<
    Versioned<bindings::field_transform::FieldTransform, v0_2::field_transform::FieldTransform>,
>;
/// An entity function's configured use.
pub type Function = Instance<
    Versioned<bindings::entity_function::EntityFunction, v0_2::entity_function::EntityFunction>,
>;
/// A merge policy's configured use.
pub type Policy =
    Instance<Versioned<bindings::merge_policy::MergePolicy, v0_2::merge_policy::MergePolicy>>;
/// A connector's configured use.
pub type System = Instance<Versioned<bindings::connector::Connector, v0_2::connector::Connector>>;

/// Implements [`Bindings`] for a generated world in both versions; `$guest` names its
/// export's accessor and `$resource` the resource's.
macro_rules! world_bindings {
    ($world:expr, $create:literal, $guest:ident, $resource:ident,
     $v1:ty, $v1pre:ty, $v2:ty, $v2pre:ty) => {
        impl Bindings for Versioned<$v1, $v2> {
            const WORLD: World = $world;
            const CREATE: &'static str = $create;
            type Pre = Versioned<$v1pre, $v2pre>;

            /// The version whose exports the component has; [`super::world::inspect`] has
            /// already refused any other.
            fn pre(pre: InstancePre<HostState>) -> wasmtime::Result<Self::Pre> {
                match <$v2pre>::new(pre.clone()) {
                    Ok(pre) => Ok(Versioned::V0_2(pre)),
                    Err(_) => <$v1pre>::new(pre).map(Versioned::V0_1),
                }
            }

            fn instantiate(
                pre: &Self::Pre,
                store: &mut Store<HostState>,
            ) -> wasmtime::Result<Self> {
                Ok(match pre {
                    Versioned::V0_1(pre) => Versioned::V0_1(pre.instantiate(store)?),
                    Versioned::V0_2(pre) => Versioned::V0_2(pre.instantiate(store)?),
                })
            }

            fn create(
                &self,
                store: &mut Store<HostState>,
                config: &str,
            ) -> wasmtime::Result<Result<ResourceAny, PluginErrorValue>> {
                either!(self, b => b.$guest().$resource().call_create(&mut *store, config))
            }
        }
    };
}

world_bindings!(
    World::FieldTransform,
    "transform.create",
    wasync_plugin_transform,
    transformer,
    bindings::field_transform::FieldTransform,
    bindings::field_transform::FieldTransformPre<HostState>,
    v0_2::field_transform::FieldTransform,
    v0_2::field_transform::FieldTransformPre<HostState>
);
world_bindings!(
    World::EntityFunction,
    "entity.create",
    wasync_plugin_entity,
    function,
    bindings::entity_function::EntityFunction,
    bindings::entity_function::EntityFunctionPre<HostState>,
    v0_2::entity_function::EntityFunction,
    v0_2::entity_function::EntityFunctionPre<HostState>
);
world_bindings!(
    World::MergePolicy,
    "merge.create",
    wasync_plugin_merge,
    policy,
    bindings::merge_policy::MergePolicy,
    bindings::merge_policy::MergePolicyPre<HostState>,
    v0_2::merge_policy::MergePolicy,
    v0_2::merge_policy::MergePolicyPre<HostState>
);
world_bindings!(
    World::Connector,
    "external.create",
    wasync_plugin_external,
    system,
    bindings::connector::Connector,
    bindings::connector::ConnectorPre<HostState>,
    v0_2::connector::Connector,
    v0_2::connector::ConnectorPre<HostState>
);

/// At the deadline: a plugin that spent part of the call waiting on the host's network gets
/// that time back; one that only ran is stopped.
fn extend_by_waits(mut store: StoreContextMut<'_, HostState>) -> wasmtime::Result<UpdateDeadline> {
    let waited = store.data_mut().http.take_waited();
    let ticks = waited.as_nanos() / super::limits::EPOCH_TICK.as_nanos();
    Ok(match ticks as u64 {
        0 => UpdateDeadline::Interrupt,
        ticks => UpdateDeadline::Continue(ticks),
    })
}
