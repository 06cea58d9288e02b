//! A field transform whose input says how to misbehave. Any other text is echoed back, so a
//! test can show that the next call after a failure works. The misbehaviours themselves are
//! in the `misbehave` crate, shared with the other hostile guests.
//!
//! | input            | what it does                                                  |
//! |------------------|---------------------------------------------------------------|
//! | `loop`           | spins forever (the host's deadline must stop it)              |
//! | `memory`         | allocates until allocation fails (memory cap)                 |
//! | `trap`           | panics with the message `boom` (a trap)                       |
//! | `recurse`        | recurses without end, not as a loop (a stack overflow trap)   |
//! | `big:N`          | returns a text of N MiB (the host's output limits)            |
//! | `wait:MS`        | spins for MS ms, then returns `waited MS ms`                  |
//! | `file:PATH`      | tries to read PATH, returns its text or the error             |
//! | `env:NAME`       | returns the environment variable NAME, or `null`              |
//! | `env`            | returns how many environment variables it sees                |
//! | `socket:ADDR`    | opens a TCP connection to ADDR with `std::net`, returns `connected to ADDR` or the error as `error: ...` (no network is granted: it must be an error) |
//! | `log:MESSAGE`    | logs MESSAGE at info, returns it                              |
//! | `fail:MESSAGE`   | returns an `invalid-input` error for this value               |
//!
//! A configuration with `refuse` is refused, as a plugin's validation would.

use misbehave::Word;
use wasync_sdk::{Config, Error, Transform, Value, log};

struct Hostile;

impl Transform for Hostile {
    fn new(config: &Config) -> Result<Self, Error> {
        if config.json().get("refuse").is_some() {
            return Err(Error::InvalidConfig("refused as asked".into()));
        }
        Ok(Hostile)
    }

    fn apply(&self, value: Value) -> Result<Value, Error> {
        let Value::Text(text) = value else {
            return Ok(value);
        };
        Ok(match Word::parse(&text) {
            Word::Loop => misbehave::spin(),
            Word::Memory => Value::Integer(misbehave::hoard() as i64),
            Word::Trap => panic!("boom"),
            Word::Recurse => Value::Integer(misbehave::recurse() as i64),
            Word::Big(mib) => Value::Text(misbehave::big(mib)),
            Word::Wait(ms) => {
                misbehave::busy_wait(ms);
                Value::Text(format!("waited {ms} ms"))
            }
            Word::File(path) => Value::Text(misbehave::read_file(path)),
            Word::EnvCount => Value::Integer(std::env::vars().count() as i64),
            Word::Env(name) => std::env::var(name).ok().into(),
            Word::Socket(addr) => Value::Text(misbehave::connect(addr)),
            Word::Log(message) => {
                log::info(message);
                Value::Text(message.to_owned())
            }
            Word::Fail(message) => return Err(Error::InvalidInput(message.to_owned())),
            Word::Many(_) | Word::Plain => Value::Text(text),
        })
    }
}

wasync_sdk::export_transform!(Hostile);
