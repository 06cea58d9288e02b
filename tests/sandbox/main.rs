//! The hostile-plugin suite (issue 14): plugins of every world that misbehave on purpose —
//! loop forever, overflow their stack, hoard memory, return huge or countless outputs, panic,
//! reach for files, environment variables and sockets — through (a) the library API, (b)
//! `wasync plugin call`, (c) `wasync sync --once` and `wasync quarantine replay` on a pipeline
//! file, and (d) `wasync serve`. Each must end in a clear error naming the plugin, within
//! about its deadline, with the host's memory bounded and the good values and records coming
//! through. The guests and their vocabularies are in `tests/guests/` (`hostile`,
//! `hostile-entity`, `hostile-merge`, `hostile-connector`).
//!
//! Every child process runs under a hard time limit (`tests/support/bounded.rs`): a host that
//! never stops a plugin fails the test with what it saw instead of hanging it.
//!
//! One module per path: `library` (a, a module per world), `call` (b), `sync` (c, a module per
//! place the plugin sits, and `replay`) and `serve` (d). What they share is here: the limits,
//! the checks that an error names its plugin, the warmed `wasync` command and the probes of
//! files, environment and sockets.

#[path = "../support/bounded.rs"]
mod bounded;
#[path = "../support/cli.rs"]
mod cli;
#[path = "../support/service.rs"]
mod service;

mod call;
mod library;
mod serve;
mod sync;

use serde_json::{Value as Json, json};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Once;
use std::time::Duration;
use wasync_test_guests::{HOSTILE, HOSTILE_CONNECTOR, HOSTILE_ENTITY, HOSTILE_MERGE};

/// The plugins' names as the host reports them (the component file's stem).
const TRANSFORM: &str = "hostile";
const ENTITY: &str = "hostile_entity";
const MERGE: &str = "hostile_merge";
const CONNECTOR: &str = "hostile_connector";

/// The deadline the commands run with (`--deadline-ms`).
const DEADLINE_MS: u64 = 500;
/// No command may run longer than this: past it the test kills it and fails.
const HARD_LIMIT: Duration = Duration::from_secs(30);
/// What a `plugin call` may take beyond the plugin's own time: start-up, parsing, printing.
const CALL_MARGIN: Duration = Duration::from_millis(1500);
/// What a `sync --once` may take beyond the plugin's own time: start-up, the store, the cycle.
const SYNC_MARGIN: Duration = Duration::from_secs(3);
/// The host's peak memory, whatever the plugins return.
const PEAK: u64 = 1 << 30;
/// What a command whose plugin returns hundreds of MiB may take: making them, and failing
/// batches that overrun the memory cap until each value is alone, is work, not a deadline.
const OUTPUT_BOUND: Duration = Duration::from_secs(20);
/// The deadline of the huge-output cases: making 100 MiB takes a plugin hundreds of
/// milliseconds on a loaded machine, and these cases are about the output limit, so the
/// deadline must not be what stops them.
const OUTPUT_DEADLINE_MS: u64 = 10_000;

/// Whether `text` names `plugin` as the host does: `` `hostile` `` in a call error,
/// `hostile@version` in a pipeline's label.
fn names(text: &str, plugin: &str) -> bool {
    text.contains(&format!("`{plugin}`")) || text.contains(&format!("{plugin}@"))
}

fn assert_names(text: &str, plugin: &str, says: &[&str]) {
    assert!(names(text, plugin), "{text:?} should name `{plugin}`");
    for word in says {
        assert!(text.contains(word), "{text:?} should say {word:?}");
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Good values `good-0`.. with `bad` at every other place, `count` times.
fn interleaved(bad: &str, count: usize) -> Vec<String> {
    let mut items = Vec::new();
    for i in 0..count {
        items.push(format!("good-{i}"));
        items.push(bad.to_owned());
    }
    items.push(format!("good-{count}"));
    items
}

/// The compile cache this suite's commands share, warmed once so that no measured command
/// compiles a plugin.
fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sandbox-components")
}

static WARM: Once = Once::new();

/// `wasync` with this suite's compile cache, warmed with every plugin the suite runs.
fn wasync() -> Command {
    WARM.call_once(|| {
        for plugin in [
            HOSTILE,
            HOSTILE_ENTITY,
            HOSTILE_MERGE,
            HOSTILE_CONNECTOR,
            "jsonl",
        ] {
            let out = cli::wasync()
                .args(["plugin", "inspect", plugin])
                .env("WASYNC_CACHE_DIR", cache_dir())
                .output()
                .expect("wasync runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    });
    let mut command = cli::wasync();
    command
        .env("WASYNC_CACHE_DIR", cache_dir())
        .env("WASYNC_TEST_SECRET", "hunter2");
    command
}

/// A secret file outside anything granted, a listener nobody may reach, and the values that
/// try them.
struct Probes {
    _dir: tempfile::TempDir,
    secret_file: PathBuf,
    listener: std::net::TcpListener,
}

impl Probes {
    fn new() -> Probes {
        let dir = tempfile::tempdir().expect("tempdir");
        let secret_file = dir.path().join("secret.txt");
        std::fs::write(&secret_file, "the secret").expect("write");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        Probes {
            _dir: dir,
            secret_file,
            listener,
        }
    }

    /// `file:`, `env:` (a variable the host has: `WASYNC_TEST_SECRET`), `env` and `socket:`.
    fn words(&self) -> Vec<String> {
        vec![
            format!("file:{}", self.secret_file.display()),
            "file:/etc/passwd".to_owned(),
            "env:WASYNC_TEST_SECRET".to_owned(),
            "env".to_owned(),
            format!("socket:{}", self.listener.local_addr().expect("addr")),
        ]
    }

    /// What a refused probe answers, by word: the error as text, no variable, none seen.
    fn refused(word: &str) -> Json {
        match word {
            "env:WASYNC_TEST_SECRET" => Json::Null,
            "env" => json!(0),
            _ => json!("error:"),
        }
    }

    fn check(&self, word: &str, answer: &Json) {
        match Probes::refused(word) {
            Json::String(prefix) => assert!(
                answer.as_str().is_some_and(|a| a.starts_with(&prefix)),
                "{word}: {answer}"
            ),
            other => assert_eq!(answer, &other, "{word}"),
        }
        let text = answer.to_string();
        assert!(
            !text.contains("the secret") && !text.contains("hunter2") && !text.contains("root:"),
            "{word} leaked: {text}"
        );
    }

    fn nothing_connected(&self) {
        assert!(
            self.listener.accept().is_err(),
            "no connection may reach us"
        );
    }
}
