//! (a) The library API: `wasync::plugin::Runtime` with small limits, a module per world.

mod connector;
mod entity;
mod merge;
mod transform;

use crate::{cache_dir, ms};
use wasync::plugin::{Cache, Failure, Limits, Runtime, RuntimeOptions};
use wasync::{Field, Record, Value};

/// A runtime with these limits; the output limits, once the host has them, keep their
/// defaults (4096 KiB a value, 64 MiB a call).
#[allow(clippy::needless_update)]
fn runtime(memory_mib: usize, deadline_ms: u64) -> Runtime {
    Runtime::new(RuntimeOptions {
        limits: Limits {
            memory: memory_mib << 20,
            deadline: ms(deadline_ms),
            ..Limits::default()
        },
        cache: Cache::at(cache_dir()),
    })
    .expect("runtime")
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

fn record(id: &str, name: &str) -> Record {
    Record {
        id: id.into(),
        watermark: Value::Null,
        fields: vec![Field {
            name: "Name".into(),
            value: text(name),
        }],
        deleted: false,
    }
}

fn field<'a>(record: &'a Record, name: &str) -> Option<&'a Value> {
    record
        .fields
        .iter()
        .find(|f| f.name == name)
        .map(|f| &f.value)
}

fn failure(result: &Result<impl std::fmt::Debug, Failure>) -> String {
    match result {
        Err(failure) => failure.to_string(),
        Ok(ok) => panic!("expected a failure, got {ok:?}"),
    }
}
