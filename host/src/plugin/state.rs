//! What a plugin instance's store holds: its WASI context (empty unless granted), its limits,
//! the tail of what it printed, and its name for the log.

use super::limits::Limiter;
use crate::capabilities::http::{Client, Http, HttpState};
use crate::capabilities::log::Log;
use crate::capabilities::lookup::{Lookup, LookupGrant};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use wasmtime::component::ResourceTable;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxView, WasiView};

/// How much of a plugin's stderr is kept: enough for a panic message and its location.
const STDERR_TAIL: usize = 4096;

/// Capabilities granted to one use of a plugin. The default grants nothing: no filesystem,
/// no environment, no network, no lookups.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    /// Host directories the plugin may use, each with the path it sees it at.
    pub dirs: Vec<DirGrant>,
    /// Environment variables the plugin sees.
    pub env: Vec<(String, String)>,
    /// Read-only lookups into the unified store.
    pub lookup: Option<LookupGrant>,
    /// Outgoing HTTP through the connector's [`Client`].
    pub http: Option<Arc<Client>>,
}

/// A host directory granted to a plugin.
#[derive(Debug, Clone)]
pub struct DirGrant {
    /// The directory on the host.
    pub host: PathBuf,
    /// Where the plugin sees it (`/data`).
    pub guest: String,
    /// Whether the plugin may only read.
    pub read_only: bool,
}

/// The store data of one plugin instance.
pub struct HostState {
    pub(crate) plugin: Arc<str>,
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: Limiter,
    pub(crate) stderr: StderrTail,
    lookup: Option<LookupGrant>,
    pub(crate) http: HttpState,
}

impl HostState {
    pub(crate) fn new(plugin: Arc<str>, grants: &Grants, memory: usize) -> anyhow::Result<Self> {
        let stderr = StderrTail::default();
        let mut wasi = WasiCtx::builder();
        wasi.stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false);
        for (name, value) in &grants.env {
            wasi.env(name, value);
        }
        for dir in &grants.dirs {
            let perms = if dir.read_only {
                FsPerms::ReadOnly
            } else {
                FsPerms::ReadWrite
            };
            wasi.preopened_dir(&dir.host, &dir.guest, perms)
                .map_err(|e| anyhow::anyhow!("cannot grant {}: {e}", dir.host.display()))?;
        }
        Ok(HostState {
            plugin,
            wasi: wasi.build(),
            table: ResourceTable::new(),
            limiter: Limiter::new(memory),
            stderr,
            lookup: grants.lookup.clone(),
            http: HttpState::new(grants.http.clone()),
        })
    }

    /// The log import's view of this state.
    pub(crate) fn log(&mut self) -> Log<'_> {
        Log {
            plugin: &self.plugin,
        }
    }

    /// The lookup import's view of this state.
    pub(crate) fn lookup(&mut self) -> Lookup<'_> {
        Lookup {
            plugin: &self.plugin,
            grant: self.lookup.as_ref(),
        }
    }

    /// The http import's view of this state.
    pub(crate) fn http(&mut self) -> Http<'_> {
        Http {
            plugin: &self.plugin,
            state: &mut self.http,
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// A plugin's stderr: keeps the last [`STDERR_TAIL`] bytes and never refuses a write, so a
/// chatty plugin cannot fail by printing, and a panic's message can be shown with its trap.
#[derive(Clone, Default)]
pub(crate) struct StderrTail(Arc<Mutex<VecDeque<u8>>>);

impl StderrTail {
    /// What was printed since the last call, as readable lines; empties the tail.
    pub(crate) fn take(&self) -> String {
        let mut tail = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let bytes: Vec<u8> = tail.drain(..).collect();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn push(&self, bytes: &[u8]) {
        let mut tail = self.0.lock().unwrap_or_else(|e| e.into_inner());
        tail.extend(bytes);
        let excess = tail.len().saturating_sub(STDERR_TAIL);
        tail.drain(..excess);
    }
}

impl IsTerminal for StderrTail {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for StderrTail {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl tokio::io::AsyncWrite for StderrTail {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
