//! The HTTP surface: hyper (HTTP/1.1) on the listen address, five routes, bounded request
//! reading, and a graceful stop (no new connections; requests in flight finish).
//!
//! | route                  | answer                                                        |
//! |------------------------|---------------------------------------------------------------|
//! | `POST /webhooks/netbox`| 202 queued, 200 ignored, 400, 401, 408, 413, 503              |
//! | `POST /webhooks/github`| 202 scheduled or ignored, 200 pong, 400, 401, 408, 413, 503;  |
//! |                        | 404 without a GitHub webhook secret                           |
//! | `GET /healthz`         | 200 while the process runs                                    |
//! | `GET /readyz`          | 200 once the component is loaded; 503 while starting/stopping |
//! | `GET /metrics`         | Prometheus text, where `Surface::metrics` allows it           |
//! | `/ui`, `/ui/*`         | the operators' page (`ui`), where `Surface::ui` allows it and |
//! |                        | an operator token is set; else 404                            |
//!
//! `/metrics` names fabrics and counts conflicts: it is served on a loopback listener, on
//! its own listener (`--metrics-listen`), or with a bearer token, never to anyone who can
//! reach a public webhook listener. `/ui` shows Git's and HNP's content and writes: it is
//! served on a loopback listener or the metrics listener, and only to logged-in operators.

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
use super::github_webhook::{self, Decision, Event, Watched};
use super::metrics::{self, GitHubWebhookResult, Metrics, WebhookResult};
use super::ui::{self, Ui};
use super::webhook::{self, Payload, SIGNATURE_HEADER};
use super::worker::{stopped, Queue};

pub const WEBHOOK_PATH: &str = "/webhooks/netbox";
pub const GITHUB_WEBHOOK_PATH: &str = "/webhooks/github";
/// Time for a client to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest webhook body: NetBox's are a few KiB, a GitHub push of a few commits some tens.
/// Everything before the HMAC check is held by anyone who can connect, so this and the
/// limits below bound what they can make us hold. (A push of some hundreds of commits can
/// be larger and is answered 413; the periodic reconcile still sees what it changed.)
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// A body that arrives within this needs nothing more (NetBox and GitHub send the whole
/// request at once).
const FAST_BODY: Duration = Duration::from_secs(1);
/// The same when every slow-body slot is taken (a flood of stalled senders): a body must
/// then arrive at once, so stalled connections give their slots back ten times as fast and a
/// signed webhook waits behind them for a fraction of a second, not seconds.
const FAST_BODY_UNDER_LOAD: Duration = Duration::from_millis(100);
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
    /// `/ui` (when an operator token is set): a loopback or the metrics listener.
    pub ui: bool,
}

/// GitHub push webhooks: their secret and the fabrics a push may concern.
#[derive(Clone, Debug)]
pub struct GitHubHooks {
    pub secret: Secret,
    pub watched: Vec<Watched>,
}

/// What the handlers share.
pub struct App {
    pub secret: Secret,
    /// `None`: `/webhooks/github` is off (404).
    pub github: Option<GitHubHooks>,
    pub directory: FabricDirectory,
    pub queues: BTreeMap<String, Arc<Queue>>,
    pub metrics: Arc<Metrics>,
    pub readiness: Mutex<Readiness>,
    /// `None`: no operator token, `/ui` is off (404).
    pub ui: Option<Ui>,
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

pub(super) type Reply = Response<Full<Bytes>>;

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
    let github = app.github.as_ref().filter(|_| surface.webhooks);
    match (request.uri().path(), get) {
        (WEBHOOK_PATH, _) if !surface.webhooks => text(StatusCode::NOT_FOUND, "not found\n"),
        (GITHUB_WEBHOOK_PATH, _) if github.is_none() => text(StatusCode::NOT_FOUND, "not found\n"),
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
        (GITHUB_WEBHOOK_PATH, _) if request.method() == Method::POST => {
            let Some(github) = github else { return text(StatusCode::NOT_FOUND, "not found\n") };
            let (result, reply) = github_push(app, github, slow_reads, request).await;
            app.metrics.github_webhook(result);
            reply
        }
        (GITHUB_WEBHOOK_PATH, _) => not_allowed("POST"),
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
        (path, _) if path == "/ui" || path.starts_with("/ui/") => match app.ui.as_ref().filter(|_| surface.ui) {
            Some(operators) => ui::handle(app, operators, slow_reads, request).await,
            None => text(StatusCode::NOT_FOUND, "not found\n"),
        },
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// Checks, reads and queues one webhook. Nothing is queued unless the signature is good.
async fn webhook(app: &App, slow_reads: &Arc<Semaphore>, request: Request<Incoming>) -> (WebhookResult, Reply) {
    let (parts, body) = request.into_parts();
    let (body, signature) = match signed_body(&parts, body, SIGNATURE_HEADER, slow_reads).await {
        Ok(read) => read,
        Err(BodyError::Unsigned) => {
            return (WebhookResult::Unauthorized, unauthorized(&webhook::SignatureError::Missing, None))
        }
        Err(e) => {
            let result = match e {
                BodyError::TooLarge => WebhookResult::TooLarge,
                BodyError::Read(_) => WebhookResult::Malformed,
                BodyError::Unsigned | BodyError::Late | BodyError::Busy => WebhookResult::Unavailable,
            };
            return (result, e.reply());
        }
    };
    if let Err(e) = webhook::verify_signature(&app.secret.0, Some(signature.as_bytes()), &body) {
        return (WebhookResult::Unauthorized, unauthorized(&e, None));
    }
    let (event, targets) = match webhook::parse(&body) {
        Err(e) => {
            tracing::warn!(error = %e, "malformed webhook");
            return (WebhookResult::Malformed, error(StatusCode::BAD_REQUEST, &e.to_string()));
        }
        Ok(Payload::Ignored { reason }) => return (WebhookResult::Ignored, ignored(StatusCode::OK, &reason)),
        Ok(Payload::Bookkeeping { resource }) => {
            tracing::debug!(kind = %resource.kind, name = %resource.name, "ignoring a bookkeeping-only update");
            let reason = "only bookkeeping fields changed (git_file_path, last_synced, kubernetes_*, ...)";
            return (WebhookResult::Bookkeeping, ignored(StatusCode::OK, reason));
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
        return (WebhookResult::UnknownFabric, ignored(StatusCode::OK, &reason));
    }
    (WebhookResult::Accepted, json_reply(StatusCode::ACCEPTED, &json!({ "status": "queued", "queued": queued })))
}

/// Checks and reads one GitHub delivery; a push that concerns served fabrics asks for their
/// reconcile. Nothing is asked for unless the signature is good.
async fn github_push(
    app: &App,
    github: &GitHubHooks,
    slow_reads: &Arc<Semaphore>,
    request: Request<Incoming>,
) -> (GitHubWebhookResult, Reply) {
    let (parts, body) = request.into_parts();
    // For logs only: GitHub's id of this delivery (shown on the webhook's page).
    let delivery = parts
        .headers
        .get(github_webhook::DELIVERY_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64)
        .map(str::to_owned);
    let (body, signature) = match signed_body(&parts, body, github_webhook::SIGNATURE_HEADER, slow_reads).await {
        Ok(read) => read,
        Err(BodyError::Unsigned) => {
            let reply = unauthorized(&github_webhook::SignatureError::Missing, delivery.as_deref());
            return (GitHubWebhookResult::Unauthorized, reply);
        }
        Err(e) => {
            let result = match e {
                BodyError::TooLarge => GitHubWebhookResult::TooLarge,
                BodyError::Read(_) => GitHubWebhookResult::Malformed,
                BodyError::Unsigned | BodyError::Late | BodyError::Busy => GitHubWebhookResult::Unavailable,
            };
            return (result, e.reply());
        }
    };
    if let Err(e) = github_webhook::verify_signature(&github.secret.0, Some(signature.as_bytes()), &body) {
        return (GitHubWebhookResult::Unauthorized, unauthorized(&e, delivery.as_deref()));
    }
    let header = |name| parts.headers.get(name).map(HeaderValue::as_bytes);
    let event = match github_webhook::parse(header(github_webhook::EVENT_HEADER), header(CONTENT_TYPE.as_str()), &body)
    {
        Ok(event) => event,
        Err(e) => {
            tracing::warn!(error = %e, delivery, "malformed GitHub webhook");
            return (GitHubWebhookResult::Malformed, error(StatusCode::BAD_REQUEST, &e.to_string()));
        }
    };
    let push = match event {
        Event::Ping => return (GitHubWebhookResult::Pong, json_reply(StatusCode::OK, &json!({ "status": "pong" }))),
        Event::Other(name) => {
            let reason = format!("event {name:?} is not a push");
            return (GitHubWebhookResult::Ignored, ignored(StatusCode::ACCEPTED, &reason));
        }
        Event::Push(push) => push,
    };
    let branch = push.branch().unwrap_or(&push.git_ref).to_owned();
    match github_webhook::decide(&push, &github.watched) {
        Decision::Ignored(reason) => {
            tracing::debug!(delivery, repository = %push.repository, branch, reason, "ignoring a push");
            (GitHubWebhookResult::Ignored, ignored(StatusCode::ACCEPTED, &reason))
        }
        Decision::OwnCommits => {
            tracing::debug!(delivery, repository = %push.repository, branch, "ignoring a push of fgd-sync's own commits");
            let reason = "only fgd-sync's own commits (Fgd-Sync-State trailer) change the fabric directories";
            (GitHubWebhookResult::OwnCommits, ignored(StatusCode::ACCEPTED, reason))
        }
        Decision::Sync { fabrics, incomplete } => {
            for fabric in &fabrics {
                // Every fabric of `watched` has a queue; `decide` names no other.
                let Some(queue) = app.queues.get(fabric) else { continue };
                let new = queue.ask_reconcile();
                tracing::info!(fabric = %fabric, delivery, repository = %push.repository, branch, after = %push.after,
                    why_whole = incomplete.unwrap_or("the push changes the fabric directory"),
                    "{}", if new { "push: reconcile asked for" } else { "push: reconcile already asked for" });
            }
            (
                GitHubWebhookResult::Scheduled,
                json_reply(StatusCode::ACCEPTED, &json!({ "status": "scheduled", "fabrics": fabrics })),
            )
        }
    }
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

/// Why a webhook (or form) body was not read.
pub(super) enum BodyError {
    /// No signature header: the body is not even read.
    Unsigned,
    Late,
    Busy,
    TooLarge,
    Read(String),
}

impl BodyError {
    /// The answer. Each handler answers `Unsigned` itself, naming its own header.
    pub(super) fn reply(&self) -> Reply {
        match self {
            BodyError::Late => error(StatusCode::REQUEST_TIMEOUT, "the body did not arrive in time"),
            BodyError::Busy => {
                error(StatusCode::SERVICE_UNAVAILABLE, "too many slow uploads at once; send the body at once or retry")
            }
            BodyError::TooLarge => too_large(),
            BodyError::Read(e) => error(StatusCode::BAD_REQUEST, &format!("reading the body: {e}")),
            BodyError::Unsigned => error(StatusCode::UNAUTHORIZED, "no signature"),
        }
    }
}

/// A webhook's body and signature header, read under the caps: a declared length over the
/// cap is refused before anything is read, and so is a request without `signature_header`.
async fn signed_body(
    parts: &http::request::Parts,
    body: Incoming,
    signature_header: &str,
    slow_reads: &Arc<Semaphore>,
) -> Result<(Bytes, HeaderValue), BodyError> {
    let declared = parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(BodyError::TooLarge);
    }
    let signature = parts.headers.get(signature_header).cloned().ok_or(BodyError::Unsigned)?;
    Ok((read_body(body, declared, MAX_BODY_BYTES, slow_reads).await?, signature))
}

/// Reads an unauthenticated body of at most `limit` bytes (never over `MAX_BODY_BYTES`) under
/// the caps: a body that arrives within `FAST_BODY` needs nothing more; a slower one
/// continues only with one of the `SLOW_BODY_READS` permits (none free: `Busy` at once, and
/// what was read is dropped), until `BODY_TIMEOUT`.
/// So slow senders hold at most `SLOW_BODY_READS` bodies, and a sender that delivers at
/// once, as NetBox does, never waits behind them.
pub(super) async fn read_body(
    body: Incoming,
    declared: Option<u64>,
    limit: usize,
    slow_reads: &Arc<Semaphore>,
) -> Result<Bytes, BodyError> {
    let started = tokio::time::Instant::now();
    let fast = if slow_reads.available_permits() == 0 { FAST_BODY_UNDER_LOAD } else { FAST_BODY };
    let mut body = Limited::new(body, limit.min(MAX_BODY_BYTES));
    // The declared length (already checked against the cap), so the buffer never doubles.
    let mut read = bytes::BytesMut::with_capacity(declared.map_or(0, |n| n as usize));
    let mut permit = None;
    loop {
        let until = started + if permit.is_some() { BODY_TIMEOUT } else { fast };
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

fn unauthorized(e: &dyn fmt::Display, delivery: Option<&str>) -> Reply {
    tracing::warn!(reason = %e, delivery, "refused a webhook");
    error(StatusCode::UNAUTHORIZED, &e.to_string())
}

fn too_large() -> Reply {
    error(StatusCode::PAYLOAD_TOO_LARGE, &format!("the body is larger than {MAX_BODY_BYTES} bytes"))
}

/// NetBox's webhooks answer 200 when ignored, GitHub's 202 (accepted, nothing to do).
fn ignored(status: StatusCode, reason: &str) -> Reply {
    json_reply(status, &json!({ "status": "ignored", "reason": reason }))
}

fn error(status: StatusCode, message: &str) -> Reply {
    json_reply(status, &json!({ "error": message }))
}

fn json_reply(status: StatusCode, body: &Value) -> Reply {
    reply(status, "application/json", format!("{body}\n").into())
}

pub(super) fn text(status: StatusCode, body: &'static str) -> Reply {
    reply(status, "text/plain; charset=utf-8", Bytes::from_static(body.as_bytes()))
}

pub(super) fn not_allowed(allow: &'static str) -> Reply {
    let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    response.headers_mut().insert(ALLOW, HeaderValue::from_static(allow));
    response
}

pub(super) fn reply(status: StatusCode, content_type: &'static str, body: Bytes) -> Reply {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
