//! The service's HTTP front: `POST /webhooks/{connector}`, `GET /health`, `GET /status`,
//! `POST /reload`.
//! It checks what it can without a plugin (method, connector, body size), hands the request
//! to the intake, and answers what the intake says once the changes are committed.

use super::board::Board;
use super::watch::Request;
use super::{Answer, Delivery};
use crate::wit::external::WebhookRequest;
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value as Json, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc::Sender;

/// What the handlers share.
pub struct Front {
    /// To the intake.
    pub deliver: Sender<Delivery>,
    /// Hot load's board: the configuration running and the plugins' versions, for `/status`.
    pub board: Board,
    /// To the watcher, for `POST /reload`.
    pub reload: Sender<Request>,
}

/// Serves until SIGINT or SIGTERM, then answers the requests in flight and returns.
pub fn serve(listen: SocketAddr, front: Front) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("wasync-http")
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
        let addr = listener.local_addr()?;
        super::say(format_args!("wasync serve: listening on http://{addr}"));
        let app = Router::new()
            .route("/health", get(health))
            .route("/status", get(status))
            .route("/reload", post(reload))
            .route("/webhooks/{connector}", post(webhook))
            .with_state(Arc::new(front));
        axum::serve(listener, app)
            .with_graceful_shutdown(stop_signal())
            .await?;
        Ok(())
    })
}

/// Resolves on SIGINT or SIGTERM.
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        tracing::error!("cannot listen for SIGINT/SIGTERM; stop the service with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
    eprintln!("wasync serve: stopping after the work in flight");
}

fn reply(status: u16, body: Json) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn health() -> Response {
    reply(200, json!({ "status": "ok" }))
}

async fn status(State(front): State<Arc<Front>>) -> Response {
    let document = tokio::task::spawn_blocking(move || {
        let (config, plugins, file) = {
            let board = front.board.lock();
            let file = serde_json::to_value(&board.file).unwrap_or(Json::Null);
            (board.config.clone(), board.plugins_json(), file)
        };
        let mut document = crate::status::document(&config)?;
        if let Some(object) = document.as_object_mut() {
            object.insert("plugins".into(), plugins);
            object.insert("config".into(), file);
        }
        Ok(document)
    })
    .await
    .map_err(anyhow::Error::from)
    .and_then(|r: anyhow::Result<Json>| r);
    match document {
        Ok(document) => reply(200, document),
        Err(e) => reply(503, json!({ "error": format!("{e:#}") })),
    }
}

/// Rescans plugins and the pipeline file now; answers what was swapped and what refused.
async fn reload(State(front): State<Arc<Front>>) -> Response {
    let (tx, answer) = tokio::sync::oneshot::channel();
    if front.reload.send(Request { reply: tx }).is_err() {
        return reply_stopping();
    }
    match answer.await {
        Ok(outcome) => reply(200, serde_json::to_value(outcome).unwrap_or(Json::Null)),
        Err(_) => reply_stopping(),
    }
}

fn reply_stopping() -> Response {
    reply(503, json!({ "error": "the service is stopping" }))
}

async fn webhook(
    State(front): State<Arc<Front>>,
    Path(connector): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let limit = front.board.lock().limits.get(&connector).copied();
    let Some(limit) = limit else {
        let message = format!("connector `{connector}` takes no webhooks");
        return reply(404, json!({ "error": message }));
    };
    // The rest of the body is never read, so the connection cannot carry another request:
    // say so, or a client that pools connections sends its next request into a closed one.
    let too_large = || {
        let message = format!("the body is larger than {limit} bytes");
        let mut response = reply(413, json!({ "error": message }));
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        response
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return too_large();
    }
    let body = match to_bytes(body, limit).await {
        Ok(body) => body,
        Err(e) if is_length_limit(&e) => return too_large(),
        Err(e) => {
            return reply(
                400,
                json!({ "error": format!("cannot read the body: {e}") }),
            );
        }
    };
    let request = WebhookRequest {
        method: method.to_string(),
        path: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |p| p.to_string()),
        headers: headers
            .iter()
            .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_owned())))
            .collect(),
        body: body.to_vec(),
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<Answer>();
    let delivery = Delivery {
        connector,
        request,
        reply: tx,
    };
    if front.deliver.send(delivery).is_err() {
        return reply(503, json!({ "error": "the service is stopping" }));
    }
    match rx.await {
        Ok(answer) => reply(answer.status, answer.body),
        Err(_) => reply(503, json!({ "error": "the service is stopping" })),
    }
}

/// Whether reading a body failed because it passed the limit.
fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}
