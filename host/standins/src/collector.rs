//! An HTTP collector on 127.0.0.1: what the `webhook` connector delivers records and events
//! to. It keeps every record it is sent, with when it arrived, and can refuse the first
//! requests (503) to show that a destination that is down loses nothing.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value as Json;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// One record as the collector received it.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// The entity it was sent as.
    pub entity: String,
    /// Its id.
    pub id: String,
    /// Whether it was a delete.
    pub deleted: bool,
    /// Its fields (an object; null for a delete).
    pub fields: Json,
    /// When it arrived.
    pub at: Instant,
}

#[derive(Default)]
struct Shared {
    records: Vec<Delivered>,
    requests: usize,
    refuse: usize,
}

/// A running collector; stops when dropped.
pub struct Collector {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Collector {
    /// Starts a collector on a free port; it answers 503 to the first `refuse` requests.
    pub fn start(refuse: usize) -> std::io::Result<Collector> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Mutex::new(Shared {
            refuse,
            ..Shared::default()
        }));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let listener = {
            let _entered = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let state = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("collector-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    let router = Router::new()
                        .route("/collect", post(collect))
                        .with_state(state);
                    tokio::select! {
                        _ = axum::serve(listener, router).into_future() => {}
                        _ = stopped => {}
                    }
                });
            })?;
        Ok(Collector {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The URL records are posted to.
    pub fn url(&self) -> String {
        format!("http://{}/collect", self.addr)
    }

    /// Every record received so far, in order of arrival (a record sent twice is here twice).
    pub fn records(&self) -> Vec<Delivered> {
        crate::server::lock(&self.shared).records.clone()
    }

    /// Requests received, refused ones included.
    pub fn requests(&self) -> usize {
        crate::server::lock(&self.shared).requests
    }

    /// Waits until at least `n` records have arrived; false if `timeout` passes first.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if crate::server::lock(&self.shared).records.len() >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn collect(
    State(shared): State<Arc<Mutex<Shared>>>,
    _headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let at = Instant::now();
    let mut shared = crate::server::lock(&shared);
    shared.requests += 1;
    if shared.refuse > 0 {
        shared.refuse -= 1;
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"error":"down for a moment"}"#.into(),
        );
    }
    let Ok(json) = serde_json::from_slice::<Json>(&body) else {
        return (StatusCode::BAD_REQUEST, r#"{"error":"not JSON"}"#.into());
    };
    let entity = json["entity"].as_str().unwrap_or_default().to_owned();
    let Some(records) = json["records"].as_array() else {
        return (StatusCode::BAD_REQUEST, r#"{"error":"no records"}"#.into());
    };
    for r in records {
        shared.records.push(Delivered {
            entity: entity.clone(),
            id: r["id"].as_str().unwrap_or_default().to_owned(),
            deleted: r["deleted"].as_bool().unwrap_or(false),
            fields: r["fields"].clone(),
            at,
        });
    }
    (StatusCode::OK, r#"{"ok":true}"#.into())
}
