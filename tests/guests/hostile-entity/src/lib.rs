//! An entity function that reads one field of each record and misbehaves as its text says.
//! A record whose field is any other text, not text, or missing is kept unchanged, so a test
//! can show that the rest of the batch and the next call work. The misbehaviours themselves
//! are in the `misbehave` crate, shared with the other hostile guests.
//!
//! Configuration: `{"field": "Name"}` (the default) names the field that is read; a
//! configuration with `refuse` is refused.
//!
//! | field's text     | what becomes of the record                                     |
//! |------------------|----------------------------------------------------------------|
//! | `loop`           | none: spins forever (the host's deadline must stop it)         |
//! | `memory`         | none: allocates until allocation fails (memory cap)            |
//! | `trap`           | none: panics with the message `boom` (a trap)                  |
//! | `recurse`        | none: recurses without end (a stack overflow trap)             |
//! | `big:N`          | kept, with the field set to a text of N MiB                    |
//! | `many:N`         | kept, with N extra fields `extra0` .. `extra{N-1}` (integers)  |
//! | `wait:MS`        | kept unchanged after spinning for MS ms                        |
//! | `file:PATH`      | kept, with the field set to PATH's text or `error: ...`        |
//! | `env:NAME`       | kept, with the field set to the variable's value or `null`     |
//! | `env`            | kept, with the field set to how many variables it sees         |
//! | `socket:ADDR`    | kept, with the field set to `connected to ADDR` or `error: ...` (no network is granted: it must be an error) |
//! | `log:MESSAGE`    | kept unchanged; MESSAGE is logged at info                      |
//! | `fail:MSG`       | an `invalid-input` error with MSG, for this record alone       |
//! | `stop:REASON`    | stopped, with REASON                                           |
//! | anything else    | kept unchanged                                                 |

use misbehave::Word;
use wasync_sdk::{Config, EntityFunction, Error, Field, Outcome, Record, Value, log};

struct HostileEntity {
    field: String,
}

impl EntityFunction for HostileEntity {
    fn new(config: &Config) -> Result<Self, Error> {
        let json = config.json();
        if json.get("refuse").is_some() {
            return Err(Error::InvalidConfig("refused as asked".into()));
        }
        let field = match json.get("field") {
            None => "Name".to_owned(),
            Some(field) => field
                .as_str()
                .ok_or_else(|| Error::InvalidConfig("`field` must be text".into()))?
                .to_owned(),
        };
        Ok(HostileEntity { field })
    }

    fn apply(&self, _entity: &str, mut record: Record) -> Result<Outcome, Error> {
        let Some(Value::Text(text)) = record.get(&self.field).cloned() else {
            return Ok(Outcome::Keep(record));
        };
        if let Some(reason) = text.strip_prefix("stop:") {
            return Ok(Outcome::Stop(reason.to_owned()));
        }
        let value = match Word::parse(&text) {
            Word::Loop => misbehave::spin(),
            Word::Memory => Value::Integer(misbehave::hoard() as i64),
            Word::Trap => panic!("boom"),
            Word::Recurse => Value::Integer(misbehave::recurse() as i64),
            Word::Big(mib) => Value::Text(misbehave::big(mib)),
            Word::Many(n) => {
                // Pushed, not `set`: N may be large, and the names are new.
                record.fields.extend((0..n).map(|i| Field {
                    name: format!("extra{i}"),
                    value: Value::Integer(i as i64),
                }));
                return Ok(Outcome::Keep(record));
            }
            Word::Wait(ms) => {
                misbehave::busy_wait(ms);
                return Ok(Outcome::Keep(record));
            }
            Word::File(path) => Value::Text(misbehave::read_file(path)),
            Word::Env(name) => std::env::var(name).ok().into(),
            Word::EnvCount => Value::Integer(std::env::vars().count() as i64),
            Word::Socket(addr) => Value::Text(misbehave::connect(addr)),
            Word::Log(message) => {
                log::info(message);
                return Ok(Outcome::Keep(record));
            }
            Word::Fail(message) => return Err(Error::InvalidInput(message.to_owned())),
            Word::Plain => return Ok(Outcome::Keep(record)),
        };
        record.set(&self.field, value);
        Ok(Outcome::Keep(record))
    }
}

wasync_sdk::export_entity_function!(HostileEntity);
