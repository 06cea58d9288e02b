//! A field transform whose input says how to misbehave. Any other text is echoed back, so a
//! test can show that the next call after a failure works.
//!
//! | input            | what it does                                        |
//! |------------------|-----------------------------------------------------|
//! | `loop`           | spins forever (the host's deadline must stop it)    |
//! | `memory`         | allocates until allocation fails (memory cap)       |
//! | `trap`           | panics with the message `boom` (a trap)             |
//! | `file:PATH`      | tries to read PATH, returns its text or the error   |
//! | `env:NAME`       | returns the environment variable NAME, or `null`    |
//! | `env`            | returns how many environment variables it sees      |
//! | `log:MESSAGE`    | logs MESSAGE at info, returns it                    |
//! | `fail:MESSAGE`   | returns an `invalid-input` error for this value     |

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
        match text.split_once(':').unwrap_or((text.as_str(), "")) {
            ("loop", _) => spin(),
            ("memory", _) => Ok(Value::Integer(hoard() as i64)),
            ("trap", _) => panic!("boom"),
            ("file", path) => Ok(match std::fs::read_to_string(path) {
                Ok(contents) => Value::Text(contents),
                Err(e) => Value::Text(format!("error: {e}")),
            }),
            ("env", "") => Ok(Value::Integer(std::env::vars().count() as i64)),
            ("env", name) => Ok(std::env::var(name).ok().into()),
            ("log", message) => {
                log::info(message);
                Ok(Value::Text(message.to_owned()))
            }
            ("fail", message) => Err(Error::InvalidInput(message.to_owned())),
            _ => Ok(Value::Text(text)),
        }
    }
}

/// Loops without end, in a way the optimiser cannot remove.
fn spin() -> ! {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

/// Keeps allocating 16 MiB blocks and touching them; returns only if the host never says no.
fn hoard() -> usize {
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = vec![0u8; 16 << 20];
        block[0] = 1;
        blocks.push(std::hint::black_box(block));
        if blocks.len() > 1 << 20 {
            return blocks.len();
        }
    }
}

wasync_sdk::export_transform!(Hostile);
