//! The HTTP surface: hyper (HTTP/1.1) on the listen address, four routes, bounded request
//! reading, and a graceful stop (no new connections; requests in flight finish).
//!
//! | route                  | answer                                                        |
//! |------------------------|---------------------------------------------------------------|
//! | `POST /webhooks/netbox`| 202 queued, 200 ignored, 400, 401, 408, 413, 503              |
//! | `GET /healthz`         | 200 while the process runs                                    |
//! | `GET /readyz`          | 200 once the component is loaded; 503 while starting/stopping |
//! | `GET /metrics`         | Prometheus text, where `Surface::metrics` allows it           |
//!
//! `/metrics` names fabrics and counts conflicts: it is served on a loopback listener, on
//! its own listener (`--metrics-listen`), or with a bearer token, never to anyone who can
//! reach a public webhook listener.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, ALLOW, CONTENT_LENGTH, CONTENT_TYPE};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use super::fabrics::{FabricDirectory, Resolved};
use super::metrics::{self, Metrics, WebhookResult};
use super::webhook::{self, Payload, SIGNATURE_HEADER};
use super::worker::{stopped, Queue};

pub const WEBHOOK_PATH: &str = "/webhooks/netbox";
/// Time for a client to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest webhook body: NetBox's are a few KiB. Everything before the HMAC check is held by
/// anyone who can connect, so this and the limits below bound what they can make us hold.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// A body that arrives within this needs nothing more (NetBox sends the whole request at once).
const FAST_BODY: Duration = Duration::from_secs(1);
/// Slower bodies are read by at most this many requests at once; the others get 503.
const SLOW_BODY_READS: usize = 16;
/// Time for a slow client to send a webhook body.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more wait to be accepted.
const MAX_CONNECTIONS: usize = 64;
/// Request headers: count and buffered bytes (hyper's read buffer, headers included).
const MAX_HEADERS: usize = 64;
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// How long a stop waits for requests in flight.
const STOP_GRACE: Duration = Duration::from_secs(30);

/// What `/readyz` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// Loading the sync component.
    Starting,
    Ready,
    /// Shutting down: no new work.
    Stopping,
}

/// The webhook secret; never printed.
#[derive(Clone)]
pub struct Secret(pub Vec<u8>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Who may read `/metrics` on a listener.
#[derive(Clone, Debug)]
pub enum MetricsAccess {
    /// Anyone who reaches the listener (a loopback or dedicated metrics listener).
    Open,
    /// Requests with `Authorization: Bearer <token>`.
    Token(Secret),
    /// Nobody: 404 (a public webhook listener).
    Hidden,
}

/// What one listener serves.
#[derive(Clone, Debug)]
pub struct Surface {
    pub webhooks: bool,
    pub metrics: MetricsAccess,
}

/// What the handlers share.
pub struct App {
    pub secret: Secret,
    pub directory: FabricDirectory,
    pub queues: BTreeMap<String, Arc<Queue>>,
    pub metrics: Arc<Metrics>,
    pub readiness: Mutex<Readiness>,
}

impl App {
    pub fn set_readiness(&self, readiness: Readiness) {
        *self.readiness.lock().unwrap_or_else(|p| p.into_inner()) = readiness;
    }

    fn readiness(&self) -> Readiness {
        *self.readiness.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn queue_depths(&self) -> BTreeMap<String, u64> {
        self.queues.iter().map(|(fabric, queue)| (fabric.clone(), queue.depth() as u64)).collect()
    }
}

type Reply = Response<Full<Bytes>>;

/// Serves until `stop` turns true, then lets requests in flight finish (for a while).
pub async fn serve(listener: TcpListener, app: Arc<App>, surface: Surface, mut stop: watch::Receiver<bool>) {
    let surface = Arc::new(surface);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let slow_reads = Arc::new(Semaphore::new(SLOW_BODY_READS));
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = stopped(&mut stop) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = accept(&listener, &slots) => accepted,
        };
        let Some((stream, slot)) = accepted else { continue };
        let app = app.clone();
        let slow_reads = slow_reads.clone();
        let surface = surface.clone();
        let mut stop = stop.clone();
        connections.spawn(async move {
            let _slot = slot;
            let _ = stream.set_nodelay(true);
            let service = service_fn(move |request| {
                let app = app.clone();
                let slow_reads = slow_reads.clone();
                let surface = surface.clone();
                async move { Ok::<_, Infallible>(route(&app, &surface, &slow_reads, request).await) }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_headers(MAX_HEADERS)
                .max_buf_size(MAX_HEAD_BYTES);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = stopped(&mut stop) => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    drop(listener);
    let finished = tokio::time::timeout(STOP_GRACE, async { while connections.join_next().await.is_some() {} }).await;
    if finished.is_err() {
        tracing::warn!(left = connections.len(), "requests still running after {STOP_GRACE:?}; dropping them");
    }
}

/// The next connection and its slot; `None` after an accept error (already logged).
async fn accept(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> Option<(tokio::net::TcpStream, tokio::sync::OwnedSemaphorePermit)> {
    let slot = slots.clone().acquire_owned().await.ok()?;
    match listener.accept().await {
        Ok((stream, _)) => Some((stream, slot)),
        Err(error) => {
            // Out of file descriptors and the like: back off instead of spinning.
            tracing::warn!(%error, "accepting a connection failed");
            tokio::time::sleep(Duration::from_millis(100)).await;
            None
        }
    }
}

async fn route(app: &App, surface: &Surface, slow_reads: &Arc<Semaphore>, request: Request<Incoming>) -> Reply {
    let get = matches!(*request.method(), Method::GET | Method::HEAD);
    let metrics_ok = match &surface.metrics {
        MetricsAccess::Open => Some(true),
        MetricsAccess::Token(token) => Some(bearer_matches(&request, token)),
        MetricsAccess::Hidden => None,
    };
    match (request.uri().path(), get) {
        (WEBHOOK_PATH, _) if !surface.webhooks => text(StatusCode::NOT_FOUND, "not found\n"),
        ("/metrics", _) if metrics_ok.is_none() => text(StatusCode::NOT_FOUND, "not found\n"),
        ("/metrics", true) if metrics_ok == Some(false) => {
            let mut reply = text(StatusCode::UNAUTHORIZED, "a bearer token is required\n");
            reply.headers_mut().insert(http::header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            reply
        }
        (WEBHOOK_PATH, _) if request.method() == Method::POST => {
            let (result, reply) = webhook(app, slow_reads, request).await;
            app.metrics.webhook(result);
            reply
        }
        (WEBHOOK_PATH, _) => not_allowed("POST"),
        ("/healthz", true) => text(StatusCode::OK, "ok\n"),
        ("/readyz", true) => match app.readiness() {
            Readiness::Ready => text(StatusCode::OK, "ready\n"),
            Readiness::Starting => text(StatusCode::SERVICE_UNAVAILABLE, "starting: loading the sync component\n"),
            Readiness::Stopping => text(StatusCode::SERVICE_UNAVAILABLE, "stopping\n"),
        },
        ("/metrics", true) => {
            let body = metrics::render(&app.metrics.snapshot(&app.queue_depths()));
            reply(StatusCode::OK, metrics::CONTENT_TYPE, body.into())
        }
        ("/healthz" | "/readyz" | "/metrics", false) => not_allowed("GET, HEAD"),
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// Checks, reads and queues one webhook. Nothing is queued unless the signature is good.
async fn webhook(app: &App, slow_reads: &Arc<Semaphore>, request: Request<Incoming>) -> (WebhookResult, Reply) {
    let (parts, body) = request.into_parts();
    let declared = parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return (WebhookResult::TooLarge, too_large());
    }
    let Some(signature) = parts.headers.get(SIGNATURE_HEADER) else {
        return unauthorized(webhook::SignatureError::Missing);
    };
    let body = match read_body(body, declared, slow_reads).await {
        Ok(body) => body,
        Err(BodyError::Late) => {
            return (WebhookResult::Unavailable, error(StatusCode::REQUEST_TIMEOUT, "the body did not arrive in time"))
        }
        Err(BodyError::Busy) => {
            let message = "too many slow uploads at once; send the body at once or retry";
            return (WebhookResult::Unavailable, error(StatusCode::SERVICE_UNAVAILABLE, message));
        }
        Err(BodyError::TooLarge) => return (WebhookResult::TooLarge, too_large()),
        Err(BodyError::Read(e)) => {
            return (WebhookResult::Malformed, error(StatusCode::BAD_REQUEST, &format!("reading the body: {e}")))
        }
    };
    if let Err(e) = webhook::verify_signature(&app.secret.0, Some(signature.as_bytes()), &body) {
        return unauthorized(e);
    }
    let (event, targets) = match webhook::parse(&body) {
        Err(e) => {
            tracing::warn!(error = %e, "malformed webhook");
            return (WebhookResult::Malformed, error(StatusCode::BAD_REQUEST, &e.to_string()));
        }
        Ok(Payload::Ignored { reason }) => return (WebhookResult::Ignored, ignored(&reason)),
        Ok(Payload::Bookkeeping { resource }) => {
            tracing::debug!(kind = %resource.kind, name = %resource.name, "ignoring a bookkeeping-only update");
            let reason = "only bookkeeping fields changed (git_file_path, last_synced, kubernetes_*, ...)";
            return (WebhookResult::Bookkeeping, ignored(reason));
        }
        Ok(Payload::Resources { event, targets }) => (event, targets),
    };

    // Look every fabric up before queueing anything: a 503 then means nothing was done.
    let mut resolved = Vec::with_capacity(targets.len());
    for target in targets {
        match app.directory.resolve(&target.fabric).await {
            Ok(fabric) => resolved.push((fabric, target.resource)),
            Err(e) => {
                tracing::warn!(error = %e, "cannot tell which fabric a webhook's CR belongs to");
                return (WebhookResult::Unavailable, error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()));
            }
        }
    }
    let mut queued = Vec::new();
    let mut elsewhere = Vec::new();
    for (fabric, resource) in resolved {
        let queue = match &fabric {
            Resolved::Served(name) => app.queues.get(name).map(|q| (name, q)),
            Resolved::NotServed(_) => None,
        };
        let Some((name, queue)) = queue else {
            elsewhere.push(match fabric {
                Resolved::Served(name) | Resolved::NotServed(name) => name,
            });
            continue;
        };
        queue.push(resource.clone());
        tracing::debug!(fabric = %name, event = event.as_str(), kind = %resource.kind, name = %resource.name, "queued");
        queued.push(json!({
            "fabric": name, "kind": resource.kind, "namespace": resource.namespace, "name": resource.name,
        }));
    }
    if queued.is_empty() {
        let reason = format!("{} is not synced by this service", elsewhere.join(", "));
        return (WebhookResult::UnknownFabric, ignored(&reason));
    }
    (WebhookResult::Accepted, json_reply(StatusCode::ACCEPTED, &json!({ "status": "queued", "queued": queued })))
}

/// `Authorization: Bearer <token>`, compared in constant time.
fn bearer_matches(request: &Request<Incoming>, token: &Secret) -> bool {
    let Some(given) =
        request.headers().get(http::header::AUTHORIZATION).and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
    else {
        return false;
    };
    given.len() == token.0.len() && given.iter().zip(&token.0).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

enum BodyError {
    Late,
    Busy,
    TooLarge,
    Read(String),
}

/// Reads an unauthenticated body under the caps: a body that arrives within `FAST_BODY`
/// needs nothing more; a slower one continues only with one of the `SLOW_BODY_READS`
/// permits (none free: `Busy` at once, and what was read is dropped), until `BODY_TIMEOUT`.
/// So slow senders hold at most `SLOW_BODY_READS` bodies, and a sender that delivers at
/// once, as NetBox does, never waits behind them.
async fn read_body(body: Incoming, declared: Option<u64>, slow_reads: &Arc<Semaphore>) -> Result<Bytes, BodyError> {
    let started = tokio::time::Instant::now();
    let mut body = Limited::new(body, MAX_BODY_BYTES);
    // The declared length (already checked against the cap), so the buffer never doubles.
    let mut read = bytes::BytesMut::with_capacity(declared.map_or(0, |n| n as usize));
    let mut permit = None;
    loop {
        let until = started + if permit.is_some() { BODY_TIMEOUT } else { FAST_BODY };
        match tokio::time::timeout_at(until, body.frame()).await {
            Ok(None) => return Ok(read.freeze()),
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    read.extend_from_slice(&data);
                }
            }
            Ok(Some(Err(e))) if e.downcast_ref::<LengthLimitError>().is_some() => return Err(BodyError::TooLarge),
            Ok(Some(Err(e))) => return Err(BodyError::Read(e.to_string())),
            Err(_) if permit.is_none() => match slow_reads.clone().try_acquire_owned() {
                Ok(p) => permit = Some(p),
                Err(_) => return Err(BodyError::Busy),
            },
            Err(_) => return Err(BodyError::Late),
        }
    }
}

fn unauthorized(e: webhook::SignatureError) -> (WebhookResult, Reply) {
    tracing::warn!(reason = %e, "refused a webhook");
    (WebhookResult::Unauthorized, error(StatusCode::UNAUTHORIZED, &e.to_string()))
}

fn too_large() -> Reply {
    error(StatusCode::PAYLOAD_TOO_LARGE, &format!("the body is larger than {MAX_BODY_BYTES} bytes"))
}

fn ignored(reason: &str) -> Reply {
    json_reply(StatusCode::OK, &json!({ "status": "ignored", "reason": reason }))
}

fn error(status: StatusCode, message: &str) -> Reply {
    json_reply(status, &json!({ "error": message }))
}

fn json_reply(status: StatusCode, body: &Value) -> Reply {
    reply(status, "application/json", format!("{body}\n").into())
}

fn text(status: StatusCode, body: &'static str) -> Reply {
    reply(status, "text/plain; charset=utf-8", Bytes::from_static(body.as_bytes()))
}

fn not_allowed(allow: &'static str) -> Reply {
    let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    response.headers_mut().insert(ALLOW, HeaderValue::from_static(allow));
    response
}

fn reply(status: StatusCode, content_type: &'static str, body: Bytes) -> Reply {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
