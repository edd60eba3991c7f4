//! HNP stand-in: a loopback server with the REST shape of the Hedgehog NetBox plugin
//! (`/api/plugins/hedgehog/`), as `shared/facts/hnp.md` describes it, plus NetBox-style
//! webhooks on every change.
//!
//! It is as strict as NetBox where that matters to a client: token auth, limit/offset
//! pagination with absolute `next` links built from the `Host` header, no filter set
//! (`?fabric=` is ignored), trailing slashes required, unknown PATCH fields ignored.
//! Writes follow NetBox's serializers and viewsets: POST, PATCH, PUT and DELETE of one object,
//! bulk writes (a list on the list endpoint, one transaction), 400 with field errors for bad
//! input, the (fabric, namespace, name) unique set, and a webhook per object written.
//! Like NetBox, offset paging is not a snapshot: `count` is the total at each request and a
//! row deleted or created between two pages shifts the later ones (`DuringListing` makes such
//! a change at a chosen page; `set_max_page_size` is NetBox's `MAX_PAGE_SIZE`).
//! It runs on its own thread and tokio runtime, so sync and async tests can both use it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use fgd_sync_guest::model::KINDS;
use fgd_sync_local_github::{format_utc, unix_now};
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Map, Value};
use sha2::Sha512;
use tokio::sync::{mpsc, oneshot};

pub const API: &str = "/api/plugins/hedgehog/";

/// Each CR kind, from the product's one kind table: Kubernetes kind, list endpoint (without
/// its `/`, as a path segment), Django model name.
fn kinds() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    KINDS.iter().map(|k| (k.name, k.netbox_endpoint.trim_end_matches('/'), k.netbox_model))
}
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 1000;

/// A CR to add or to replace one with.
#[derive(Clone, Debug)]
pub struct Cr {
    pub kind: String,
    pub fabric: u64,
    /// `None` stores JSON `null`, which HNP itself never does.
    pub namespace: Option<String>,
    pub name: String,
    pub spec: Value,
    pub labels: Value,
    pub annotations: Value,
}

impl Cr {
    /// Namespace `default`, no labels, no annotations.
    pub fn new(kind: &str, fabric: u64, name: &str, spec: Value) -> Cr {
        Cr {
            kind: kind.into(),
            fabric,
            namespace: Some("default".into()),
            name: name.into(),
            spec,
            labels: json!({}),
            annotations: json!({}),
        }
    }
    pub fn namespace(mut self, namespace: Option<&str>) -> Cr {
        self.namespace = namespace.map(Into::into);
        self
    }
    pub fn labels(mut self, labels: Value) -> Cr {
        self.labels = labels;
        self
    }
    pub fn annotations(mut self, annotations: Value) -> Cr {
        self.annotations = annotations;
        self
    }
}

/// A one-shot misbehaviour: each request takes the next queued fault, if any.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this status and NetBox's HTML error page.
    Status(u16),
    /// Answer 200 with a truncated JSON body.
    MalformedJson,
    /// Wait this long, then answer normally.
    Slow(Duration),
    /// Answer normally, but point `next` at another origin (a misconfigured proxy).
    ForeignNext,
    /// Answer normally, but point `next` at the page just served (a broken proxy or plugin).
    NextLoop,
}

/// A change made while a client pages through an endpoint, between two of its page requests:
/// what makes offset paging skip (or repeat) rows in a real NetBox.
#[derive(Clone, Debug)]
pub enum DuringListing {
    /// Once `after_pages` list pages of the kind's endpoint were served, delete this row.
    Delete { kind: String, id: u64, after_pages: usize },
    /// After every list page of the kind's endpoint, add a new row of `fabric` (a listing never
    /// sees the same `count` twice), until `stop_changes_during_listing`.
    CreateOnEveryPage { kind: String, fabric: u64 },
    /// Once `after_pages` list pages were served, delete this row and create it again under a
    /// new id (an import that replaces it): `count` stays the same while offset paging skips
    /// the first row of the next page, and the listing holds as many rows as `count` says.
    Recreate { kind: String, id: u64, after_pages: usize },
    /// Once `after_pages` list pages of the CR's endpoint were served, add it (as `Hnp::add`):
    /// with `after_pages` 1 and a one-page listing, a row the listing missed by a hair.
    Create { cr: Cr, after_pages: usize },
}

/// How a refused bulk update or delete says which objects were refused. A refused bulk
/// create answers a list aligned with the request in every NetBox version (DRF's list
/// serializer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BulkErrors {
    /// NetBox's `main` (2026): every refused object by id,
    /// `{"detail": "1 of 2 objects failed validation.", "errors": [{"id": 7, "errors": {...}}]}`
    /// (409 with `__all__` for a delete).
    PerObject,
    /// Older releases: a bulk update stops at the first refused object and answers its field
    /// errors alone, naming no object; a bulk delete answers 409 with a `detail`.
    FirstOnly,
}

/// One request as the stand-in saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Created,
    Updated,
    Deleted,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Created => "created",
            Event::Updated => "updated",
            Event::Deleted => "deleted",
        }
    }
}

/// Webhook body layout: NetBox 4.x (`object_type`, `request`) or 3.x (`model`, `username`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookStyle {
    NetBox4,
    NetBox3,
}

/// Where to POST a webhook on every change, as a NetBox event rule would.
#[derive(Clone, Debug)]
pub struct Webhook {
    pub url: String,
    /// Signs with `X-Hook-Signature` when set.
    pub secret: Option<String>,
    pub style: WebhookStyle,
}

/// One webhook POST and how it went.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub event: Event,
    pub kind: String,
    pub id: u64,
    /// The receiver's status, or why there was none.
    pub result: Result<u16, String>,
}

struct Outgoing {
    webhook: Webhook,
    event: Event,
    kind: &'static str,
    id: u64,
    body: Vec<u8>,
}

struct State {
    token: String,
    /// `http://127.0.0.1:<port>`: for URLs in webhook bodies (requests use their `Host`).
    origin: String,
    fabrics: BTreeMap<u64, Value>,
    /// By endpoint, then id. Ids are per table, as in PostgreSQL.
    objects: HashMap<&'static str, BTreeMap<u64, Value>>,
    next_id: HashMap<&'static str, u64>,
    seen: Vec<Seen>,
    faults: VecDeque<Fault>,
    /// Changes armed for later list pages, with the pages served since each was armed.
    during_listing: Vec<(DuringListing, usize)>,
    /// NetBox's `MAX_PAGE_SIZE`: the largest `limit` honoured.
    max_limit: usize,
    /// This request's list page links `next` to itself (`Fault::NextLoop`).
    next_loop: bool,
    nested_fabric: bool,
    /// Every write answers 403, as for a token without write permission.
    writes_forbidden: bool,
    refusals: Vec<Refusal>,
    bulk_errors: BulkErrors,
    webhook: Option<Webhook>,
    deliveries: Vec<Delivery>,
    hooks: mpsc::UnboundedSender<Outgoing>,
    /// NetBox's journal entries (`extras`), in id order.
    journal: Vec<Value>,
    /// Journal POSTs answer this status (`Hnp::refuse_journal_writes`).
    journal_refused: Option<u16>,
}

/// The running stand-in. Stops when dropped.
pub struct Hnp {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Hnp {
    /// Starts a stand-in that accepts `Authorization: Token <token>`.
    pub fn start(token: &str) -> std::io::Result<Hnp> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (hooks, outgoing) = mpsc::unbounded_channel();
        let state = Arc::new(Mutex::new(State {
            token: token.into(),
            origin: format!("http://{addr}"),
            fabrics: BTreeMap::new(),
            objects: HashMap::new(),
            next_id: HashMap::new(),
            seen: Vec::new(),
            faults: VecDeque::new(),
            during_listing: Vec::new(),
            max_limit: MAX_LIMIT,
            next_loop: false,
            nested_fabric: false,
            writes_forbidden: false,
            refusals: Vec::new(),
            bulk_errors: BulkErrors::PerObject,
            webhook: None,
            deliveries: Vec::new(),
            hooks,
            journal: Vec::new(),
            journal_refused: None,
        }));
        let (stop, stopped) = oneshot::channel::<()>();
        let server_state = state.clone();
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
                tokio::spawn(deliver(outgoing, server_state.clone()));
                tokio::select! {
                    _ = stopped => {}
                    _ = serve(listener, server_state) => {}
                }
            });
            // Slow answers may still sleep; don't wait for them.
            runtime.shutdown_background();
        });
        Ok(Hnp { addr, state, stop: Some(stop), thread: Some(thread) })
    }

    /// `http://127.0.0.1:<port>`: what fgd-sync takes as the NetBox URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:<port>/api/plugins/hedgehog/`.
    pub fn api_url(&self) -> String {
        format!("{}{API}", self.base_url())
    }

    pub fn add_fabric(&self, name: &str) -> u64 {
        let mut state = self.lock();
        let id = state.fabrics.keys().next_back().map_or(1, |id| id + 1);
        let now = format_utc(unix_now());
        let fabric = json!({
            "id": id, "url": format!("{API}fabrics/{id}/"), "display": name, "name": name,
            "description": "", "created": now, "last_updated": now,
        });
        state.fabrics.insert(id, fabric);
        id
    }

    /// Adds a CR as a GUI user would (no validation); fires a `created` webhook.
    pub fn add(&self, cr: Cr) -> u64 {
        self.lock().add(&cr)
    }

    /// Replaces a CR's fabric, namespace, name, spec, labels and annotations; fires an
    /// `updated` webhook. False when there is no such object.
    pub fn update(&self, id: u64, cr: Cr) -> bool {
        let (kind, endpoint, _) = kind(&cr.kind);
        let mut state = self.lock();
        let Some(object) = state.objects.get_mut(endpoint).and_then(|o| o.get_mut(&id)) else {
            return false;
        };
        let before = object.clone();
        set_cr_fields(object, &cr, &format_utc(unix_now()));
        state.changed(Event::Updated, kind, endpoint, id, Some(before));
        true
    }

    /// Deletes a CR; fires a `deleted` webhook. False when there is no such object.
    pub fn delete(&self, kind_name: &str, id: u64) -> bool {
        let (kind, endpoint, _) = kind(kind_name);
        let mut state = self.lock();
        let Some(before) = state.objects.get_mut(endpoint).and_then(|o| o.remove(&id)) else {
            return false;
        };
        state.changed(Event::Deleted, kind, endpoint, id, Some(before));
        true
    }

    /// The object as the REST API shows it (URLs on this stand-in's origin).
    pub fn object(&self, kind_name: &str, id: u64) -> Option<Value> {
        let (_, endpoint, _) = kind(kind_name);
        let state = self.lock();
        let object = state.objects.get(endpoint)?.get(&id)?;
        Some(state.render(object, &state.origin))
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    /// Requests with this method to this path (without query), e.g. `("PATCH", "/api/plugins/hedgehog/vpcs/1/")`.
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.lock().seen.iter().filter(|s| s.method == method && s.path == path).count()
    }

    /// Requests with this method to any path.
    pub fn count_method(&self, method: &str) -> usize {
        self.lock().seen.iter().filter(|s| s.method == method).count()
    }

    pub fn clear_requests(&self) {
        self.lock().seen.clear();
    }

    /// Queues a fault for the next request that has none yet.
    pub fn push_fault(&self, fault: Fault) {
        self.lock().faults.push_back(fault);
    }

    /// Makes a change between two list pages of an endpoint (see `DuringListing`).
    pub fn change_during_listing(&self, change: DuringListing) {
        self.lock().during_listing.push((change, 0));
    }

    /// Disarms every `DuringListing` change not made yet.
    pub fn stop_changes_during_listing(&self) {
        self.lock().during_listing.clear();
    }

    /// NetBox's `MAX_PAGE_SIZE` setting (default 1000): a larger `limit` is cut to it.
    pub fn set_max_page_size(&self, size: usize) {
        self.lock().max_limit = size.max(1);
    }

    /// Sets one field of a stored row as the REST API will show it, or removes it with
    /// `None` (a corrupt or unusual row: `fabric` null, no `name`...). False when there is no
    /// such object.
    pub fn set_field(&self, kind_name: &str, id: u64, field: &str, value: Option<Value>) -> bool {
        let (_, endpoint, _) = kind(kind_name);
        let mut state = self.lock();
        let Some(object) = state.objects.get_mut(endpoint).and_then(|o| o.get_mut(&id)) else {
            return false;
        };
        match (value, object.as_object_mut()) {
            (Some(value), Some(map)) => {
                map.insert(field.to_owned(), value);
            }
            (None, Some(map)) => {
                map.remove(field);
            }
            _ => return false,
        }
        true
    }

    /// Serialize `fabric` as a nested `{id, url, display, name}` object, as NetBox does for
    /// most foreign keys, instead of the plain id HNP sends.
    pub fn set_nested_fabric(&self, nested: bool) {
        self.lock().nested_fabric = nested;
    }

    /// Makes every REST write (POST, PATCH, PUT, DELETE) answer 403, as NetBox does for a token
    /// without write permission, or stops doing so.
    pub fn set_writes_forbidden(&self, forbidden: bool) {
        self.lock().writes_forbidden = forbidden;
    }

    /// Refuses every later REST write of the CR of this kind and name, as NetBox's serializer
    /// would refuse bad input: a create or update answers 400 with `{field: [message]}` for
    /// it; a delete answers 409 (the way NetBox refuses to delete an object others depend on).
    pub fn refuse_writes(&self, kind_name: &str, name: &str, field: &str, message: &str) {
        let (kind, _, _) = kind(kind_name);
        let refusal = Refusal { kind, name: name.into(), field: field.into(), message: message.into() };
        self.lock().refusals.push(refusal);
    }

    /// Disarms every `refuse_writes`.
    pub fn clear_refusals(&self) {
        self.lock().refusals.clear();
    }

    /// How refused bulk updates and deletes answer (default: `BulkErrors::PerObject`).
    pub fn set_bulk_errors(&self, style: BulkErrors) {
        self.lock().bulk_errors = style;
    }

    /// POST a webhook for every later change (from the Rust API and from REST writes).
    pub fn set_webhook(&self, webhook: Option<Webhook>) {
        self.lock().webhook = webhook;
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.lock().deliveries.clone()
    }

    /// Waits until at least `count` webhooks were delivered (or failed), or `timeout` passed.
    pub fn wait_for_deliveries(&self, count: usize, timeout: Duration) -> Vec<Delivery> {
        let deadline = Instant::now() + timeout;
        loop {
            let deliveries = self.deliveries();
            if deliveries.len() >= count || Instant::now() >= deadline {
                return deliveries;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

impl Drop for Hnp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The `(kind, endpoint, model)` entry of a kind; a test naming an unknown kind is a bug.
fn kind(kind: &str) -> (&'static str, &'static str, &'static str) {
    kinds().find(|(k, _, _)| *k == kind).unwrap_or_else(|| panic!("unknown kind {kind:?}"))
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn set_cr_fields(object: &mut Value, cr: &Cr, now: &str) {
    object["fabric"] = json!(cr.fabric);
    object["name"] = json!(cr.name);
    object["display"] = json!(cr.name);
    object["namespace"] = json!(cr.namespace);
    object["spec"] = cr.spec.clone();
    object["labels"] = cr.labels.clone();
    object["annotations"] = cr.annotations.clone();
    object["last_updated"] = json!(now);
}

impl State {
    /// `Hnp::add`.
    fn add(&mut self, cr: &Cr) -> u64 {
        let (kind, endpoint, _) = kind(&cr.kind);
        let id = self.new_id(endpoint);
        let now = format_utc(unix_now());
        let mut object = json!({
            "id": id, "url": format!("{API}{endpoint}/{id}/"), "kubernetes_status": "pending",
            "kubernetes_uid": null, "kubernetes_resource_version": null, "last_applied": null,
            "last_synced": null, "sync_error": "", "git_file_path": "", "auto_sync": true,
            "created": now, "tags": [], "custom_fields": {},
        });
        set_cr_fields(&mut object, cr, &now);
        self.objects.entry(endpoint).or_default().insert(id, object);
        self.changed(Event::Created, kind, endpoint, id, None);
        id
    }

    /// The next id of a table; ids are never reused, as in PostgreSQL.
    fn new_id(&mut self, endpoint: &'static str) -> u64 {
        let next = self.next_id.entry(endpoint).or_insert(1);
        *next += 1;
        *next - 1
    }

    /// The REST view of a stored object: absolute URL, fabric nested if asked.
    fn render(&self, object: &Value, origin: &str) -> Value {
        let mut object = object.clone();
        if let Some(path) = object.get("url").and_then(Value::as_str) {
            object["url"] = json!(format!("{origin}{path}"));
        }
        let fabric = object.get("fabric").and_then(Value::as_u64);
        if let (true, Some(id)) = (self.nested_fabric, fabric) {
            let name = self.fabrics.get(&id).and_then(|f| f.get("name")).cloned();
            object["fabric"] = json!({
                "id": id, "url": format!("{origin}{API}fabrics/{id}/"), "display": name, "name": name,
            });
        }
        object
    }

    /// Queues a webhook for a change, when one is configured.
    fn changed(&self, event: Event, kind: &'static str, endpoint: &str, id: u64, before: Option<Value>) {
        let Some(webhook) = self.webhook.clone() else { return };
        let after = self.objects.get(endpoint).and_then(|o| o.get(&id)).map(|o| self.render(o, &self.origin));
        let before = before.map(|o| self.render(&o, &self.origin));
        let Some(data) = after.clone().or_else(|| before.clone()) else { return };
        let body = webhook_body(webhook.style, event, kind, &data, before.as_ref(), after.as_ref());
        let _ = self.hooks.send(Outgoing { webhook, event, kind, id, body });
    }
}

/// A webhook body as NetBox sends it for a CR (`data`: the REST view of the object).
pub fn webhook_body(
    style: WebhookStyle,
    event: Event,
    kind_name: &str,
    data: &Value,
    prechange: Option<&Value>,
    postchange: Option<&Value>,
) -> Vec<u8> {
    let (_, _, model) = kind(kind_name);
    let mut body = json!({
        "event": event.as_str(),
        "timestamp": format_utc(unix_now()),
        "data": data,
        "snapshots": { "prechange": prechange, "postchange": postchange },
    });
    match style {
        WebhookStyle::NetBox4 => {
            body["object_type"] = json!(format!("netbox_hedgehog.{model}"));
            body["request"] = json!({ "id": "00000000-0000-4000-8000-000000000000", "user": "admin" });
        }
        WebhookStyle::NetBox3 => {
            body["model"] = json!(model);
            body["username"] = json!("admin");
            body["request_id"] = json!("00000000-0000-4000-8000-000000000000");
        }
    }
    body.to_string().into_bytes()
}

/// `X-Hook-Signature`: lowercase hex HMAC-SHA512 of the raw body.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha512>::new_from_slice(secret) else { return String::new() };
    mac.update(body);
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// POSTs queued webhooks one at a time, in order, and records how each went.
async fn deliver(mut outgoing: mpsc::UnboundedReceiver<Outgoing>, state: Arc<Mutex<State>>) {
    while let Some(hook) = outgoing.recv().await {
        let signature = hook.webhook.secret.as_ref().map(|s| signature(s.as_bytes(), &hook.body));
        let result = tokio::time::timeout(Duration::from_secs(10), post(&hook.webhook.url, hook.body, signature))
            .await
            .unwrap_or_else(|_| Err("timed out".into()));
        let delivery = Delivery { event: hook.event, kind: hook.kind.into(), id: hook.id, result };
        lock(&state).deliveries.push(delivery);
    }
}

async fn post(url: &str, body: Vec<u8>, signature: Option<String>) -> Result<u16, String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
    let authority = uri.authority().ok_or(format!("{url}: no host"))?.clone();
    let stream = tokio::net::TcpStream::connect(authority.as_str()).await.map_err(|e| e.to_string())?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let mut request = http::Request::post(uri.path_and_query().map_or("/", |p| p.as_str()))
        .header("host", authority.as_str())
        .header("content-type", "application/json");
    if let Some(signature) = signature {
        request = request.header("x-hook-signature", signature);
    }
    let request = request.body(Full::new(Bytes::from(body))).map_err(|e| e.to_string())?;
    let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let _ = response.into_body().collect().await;
    Ok(status)
}

async fn serve(listener: tokio::net::TcpListener, state: Arc<Mutex<State>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(state.clone(), request));
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

type Reply = http::Response<Full<Bytes>>;

fn reply(status: u16, body: &Value) -> Reply {
    let mut response = http::Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert("content-type", http::HeaderValue::from_static("application/json"));
    response
}

fn raw(status: u16, content_type: &'static str, body: &'static str) -> Reply {
    let mut response = reply(status, &Value::Null);
    *response.body_mut() = Full::new(Bytes::from_static(body.as_bytes()));
    response.headers_mut().insert("content-type", http::HeaderValue::from_static(content_type));
    response
}

fn detail(status: u16, message: &str) -> Reply {
    reply(status, &json!({ "detail": message }))
}

async fn handle(state: Arc<Mutex<State>>, request: http::Request<hyper::body::Incoming>) -> Result<Reply, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let seen = Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().into(),
        query: parts.uri.query().unwrap_or_default().into(),
        body: String::from_utf8_lossy(&body).into(),
    };
    let fault = {
        let mut state = lock(&state);
        state.seen.push(seen.clone());
        state.faults.pop_front()
    };
    let mut foreign_next = false;
    let mut next_loop = false;
    match fault {
        Some(Fault::Status(status)) => {
            let page = "<!doctype html>\n<html><body><h1>Server Error (500)</h1></body></html>\n";
            return Ok(raw(status, "text/html", page));
        }
        Some(Fault::MalformedJson) => return Ok(raw(200, "application/json", r#"{"count": 2, "results": [{"id": 1,"#)),
        Some(Fault::Slow(delay)) => tokio::time::sleep(delay).await,
        Some(Fault::ForeignNext) => foreign_next = true,
        Some(Fault::NextLoop) => next_loop = true,
        None => {}
    }
    let host = parts.headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let origin = if foreign_next { "http://foreign.invalid".to_owned() } else { format!("http://{host}") };

    let mut state = lock(&state);
    // DRF: no credentials -> 401 with the scheme to use; a wrong token -> 403.
    let authorization = parts.headers.get("authorization").and_then(|h| h.to_str().ok());
    match authorization.and_then(|a| a.strip_prefix("Token ")) {
        None => {
            let mut response = detail(401, "Authentication credentials were not provided.");
            response.headers_mut().insert("www-authenticate", http::HeaderValue::from_static("Token"));
            return Ok(response);
        }
        Some(token) if token != state.token => return Ok(detail(403, "Invalid token.")),
        Some(_) => {}
    }
    state.next_loop = next_loop;
    let reply = state.route(&seen, &origin, &body);
    state.next_loop = false;
    Ok(reply)
}

impl State {
    fn route(&mut self, seen: &Seen, origin: &str, body: &[u8]) -> Reply {
        if seen.path.starts_with(JOURNAL) {
            return self.journal_route(seen, origin, body);
        }
        let Some(rest) = seen.path.strip_prefix(API) else { return detail(404, "Not found.") };
        if !(rest.is_empty() || rest.ends_with('/')) {
            return detail(404, "Not found.");
        }
        if self.writes_forbidden && seen.method != "GET" {
            return detail(403, "You do not have permission to perform this action.");
        }
        let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        let method = seen.method.as_str();
        match segments.as_slice() {
            [] if method == "GET" => {
                let mut index = Map::new();
                index.insert("fabrics".into(), json!(format!("{origin}{API}fabrics/")));
                for (_, endpoint, _) in kinds() {
                    index.insert(endpoint.into(), json!(format!("{origin}{API}{endpoint}/")));
                }
                reply(200, &Value::Object(index))
            }
            ["fabrics"] if method == "GET" => {
                let all: Vec<Value> = self.fabrics.values().map(|f| self.render(f, origin)).collect();
                self.page(&all, seen, origin)
            }
            ["fabrics", id] if method == "GET" => match id.parse().ok().and_then(|id: u64| self.fabrics.get(&id)) {
                Some(fabric) => reply(200, &self.render(fabric, origin)),
                None => detail(404, "Not found."),
            },
            [endpoint] => {
                let Some((kind, endpoint, _)) = kinds().find(|(_, e, _)| e == endpoint) else {
                    return detail(404, "Not found.");
                };
                match method {
                    "GET" => {
                        let all = self.objects.get(endpoint).map(|o| o.values().cloned().collect::<Vec<_>>());
                        let all: Vec<Value> = all.unwrap_or_default().iter().map(|o| self.render(o, origin)).collect();
                        let page = self.page(&all, seen, origin);
                        self.listed_a_page(kind);
                        page
                    }
                    "POST" | "PATCH" | "PUT" | "DELETE" => self.list_write(method, kind, endpoint, body, origin),
                    _ => not_allowed(method),
                }
            }
            [endpoint, id] => {
                let Some((kind, endpoint, _)) = kinds().find(|(_, e, _)| e == endpoint) else {
                    return detail(404, "Not found.");
                };
                let id: Option<u64> = id.parse().ok();
                let Some(id) = id.filter(|id| self.objects.get(endpoint).is_some_and(|o| o.contains_key(id))) else {
                    return detail(404, "Not found.");
                };
                match method {
                    "GET" => reply(200, &self.render(&self.objects[endpoint][&id], origin)),
                    "PATCH" => self.write(kind, endpoint, Some(id), body, false, origin),
                    "PUT" => self.write(kind, endpoint, Some(id), body, true, origin),
                    "DELETE" => {
                        if let Some(why) = self.refusal(kind, &self.objects[endpoint][&id]) {
                            let message = format!("Unable to delete object. 1 dependent objects were found: {why}");
                            return detail(409, &message);
                        }
                        let before = self.objects.get_mut(endpoint).and_then(|o| o.remove(&id));
                        self.changed(Event::Deleted, kind, endpoint, id, before);
                        no_content()
                    }
                    _ => not_allowed(method),
                }
            }
            _ if method != "GET" => not_allowed(method),
            _ => detail(404, "Not found."),
        }
    }

    /// One list page of `kind` was served: makes the armed changes that are due.
    fn listed_a_page(&mut self, kind: &'static str) {
        let mut due = Vec::new();
        self.during_listing.retain_mut(|(change, pages)| match change {
            DuringListing::Delete { kind: k, id, after_pages } if k == kind => {
                *pages += 1;
                if *pages < *after_pages {
                    return true;
                }
                due.push(DuringListing::Delete { kind: k.clone(), id: *id, after_pages: *after_pages });
                false
            }
            DuringListing::Recreate { kind: k, after_pages, .. } if k == kind => {
                *pages += 1;
                if *pages < *after_pages {
                    return true;
                }
                due.push(change.clone());
                false
            }
            DuringListing::CreateOnEveryPage { kind: k, .. } if k == kind => {
                *pages += 1;
                due.push(change.clone());
                true
            }
            DuringListing::Create { cr, after_pages } if self::kind(&cr.kind).0 == kind => {
                *pages += 1;
                if *pages < *after_pages {
                    return true;
                }
                due.push(change.clone());
                false
            }
            _ => true,
        });
        let (_, endpoint, _) = self::kind(kind);
        for change in due {
            match change {
                DuringListing::Delete { id, .. } => {
                    if let Some(before) = self.objects.get_mut(endpoint).and_then(|o| o.remove(&id)) {
                        self.changed(Event::Deleted, kind, endpoint, id, Some(before));
                    }
                }
                DuringListing::Recreate { id, .. } => {
                    let Some(before) = self.objects.get_mut(endpoint).and_then(|o| o.remove(&id)) else { continue };
                    self.changed(Event::Deleted, kind, endpoint, id, Some(before.clone()));
                    let new = self.new_id(endpoint);
                    let mut object = before;
                    object["id"] = json!(new);
                    object["url"] = json!(format!("{API}{endpoint}/{new}/"));
                    self.objects.entry(endpoint).or_default().insert(new, object);
                    self.changed(Event::Created, kind, endpoint, new, None);
                }
                DuringListing::CreateOnEveryPage { fabric, .. } => {
                    let id = self.new_id(endpoint);
                    let now = format_utc(unix_now());
                    let mut object = json!({
                        "id": id, "url": format!("{API}{endpoint}/{id}/"), "kubernetes_status": "pending",
                        "last_synced": null, "sync_error": "", "git_file_path": "", "created": now,
                    });
                    set_cr_fields(&mut object, &Cr::new(kind, fabric, &format!("churn-{id}"), json!({})), &now);
                    self.objects.entry(endpoint).or_default().insert(id, object);
                    self.changed(Event::Created, kind, endpoint, id, None);
                }
                DuringListing::Create { cr, .. } => {
                    self.add(&cr);
                }
            }
        }
    }

    /// DRF's LimitOffsetPagination over `all`.
    fn page(&self, all: &[Value], seen: &Seen, origin: &str) -> Reply {
        let params: BTreeMap<String, String> = seen
            .query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let number = |key: &str| params.get(key).and_then(|v| v.parse::<usize>().ok());
        let limit = match number("limit") {
            Some(0) => self.max_limit,
            Some(n) => n.min(self.max_limit),
            None => DEFAULT_LIMIT.min(self.max_limit),
        };
        let offset = number("offset").unwrap_or(0);
        let link = |offset: Option<usize>| {
            let mut params = params.clone();
            params.insert("limit".into(), limit.to_string());
            match offset {
                Some(offset) => params.insert("offset".into(), offset.to_string()),
                None => params.remove("offset"),
            };
            let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            json!(format!("{origin}{}?{}", seen.path, query.join("&")))
        };
        let next = if self.next_loop {
            json!(format!("{origin}{}?{}", seen.path, seen.query))
        } else if offset + limit < all.len() {
            link(Some(offset + limit))
        } else {
            Value::Null
        };
        let previous = match offset {
            0 => Value::Null,
            o if o <= limit => link(None),
            o => link(Some(o - limit)),
        };
        let results: Vec<Value> = all.iter().skip(offset).take(limit).cloned().collect();
        reply(200, &json!({ "count": all.len(), "next": next, "previous": previous, "results": results }))
    }

    /// PATCH (`full` false), PUT (`id` given, `full`) or POST (`id` None) of one object.
    fn write(
        &mut self,
        kind: &'static str,
        endpoint: &'static str,
        id: Option<u64>,
        body: &[u8],
        full: bool,
        origin: &str,
    ) -> Reply {
        let input = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(input)) => input,
            Ok(other) => return reply(400, &not_a_dictionary(&other)),
            Err(e) => return detail(400, &format!("JSON parse error - {e}")),
        };
        let table = self.objects.get(endpoint).cloned().unwrap_or_default();
        let object = match self.validate(kind, &table, id, &input, full) {
            Ok(object) => object,
            Err(errors) => return reply(400, &Value::Object(errors)),
        };
        let (id, status) = match id {
            Some(id) => (id, 200),
            None => (self.new_id(endpoint), 201),
        };
        self.save(kind, endpoint, id, object);
        reply(status, &self.render(&self.objects[endpoint][&id], origin))
    }

    /// A write on a list endpoint: POST of one object, or NetBox's bulk operations (POST,
    /// PATCH, PUT or DELETE of a list). A bulk write is one transaction: when any object is
    /// refused, nothing is written and no webhook fires.
    fn list_write(
        &mut self,
        method: &str,
        kind: &'static str,
        endpoint: &'static str,
        body: &[u8],
        origin: &str,
    ) -> Reply {
        let items = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Array(items)) => items,
            Ok(Value::Object(_)) if method == "POST" => return self.write(kind, endpoint, None, body, true, origin),
            Ok(other) if method == "POST" => return reply(400, &not_a_dictionary(&other)),
            Ok(other) => {
                let message = format!("Expected a list of items but got type \"{}\".", type_name(&other));
                return reply(400, &json!({ "non_field_errors": [message] }));
            }
            Err(e) => return detail(400, &format!("JSON parse error - {e}")),
        };
        match method {
            "POST" => self.bulk_create(kind, endpoint, &items, origin),
            "DELETE" => self.bulk_delete(kind, endpoint, &items),
            _ => self.bulk_update(kind, endpoint, &items, method == "PUT", origin),
        }
    }

    /// DRF's list serializer: every object is validated against the table as it was before
    /// the request; a refusal answers a list aligned with the request (`{}` for good objects).
    fn bulk_create(&mut self, kind: &'static str, endpoint: &'static str, items: &[Value], origin: &str) -> Reply {
        let table = self.objects.get(endpoint).cloned().unwrap_or_default();
        let mut objects = Vec::new();
        let mut errors = Vec::new();
        for item in items {
            let result = match item {
                Value::Object(input) => self.validate(kind, &table, None, input, true),
                other => Err(not_a_dictionary(other).as_object().cloned().unwrap_or_default()),
            };
            match result {
                Ok(object) => {
                    errors.push(json!({}));
                    objects.push(object);
                }
                Err(fields) => errors.push(Value::Object(fields)),
            }
        }
        if objects.len() < items.len() {
            return reply(400, &Value::Array(errors));
        }
        // Validators saw the table before this request, so two new rows with one (fabric,
        // namespace, name) pass them and hit the database's unique constraint: an
        // IntegrityError, which NetBox answers with a 500.
        let mut keys = std::collections::HashSet::new();
        if !objects.iter().all(|object| keys.insert(unique_key(object))) {
            return raw(500, "text/html", "<!doctype html>\n<html><body><h1>Server Error (500)</h1></body></html>\n");
        }
        let mut created = Vec::new();
        for object in objects {
            let id = self.new_id(endpoint);
            self.save(kind, endpoint, id, object);
            created.push(self.render(&self.objects[endpoint][&id], origin));
        }
        reply(201, &Value::Array(created))
    }

    /// NetBox's bulk update: objects in id order, each validated against the table as the
    /// ones before it left it; ids NetBox does not have are skipped without a word.
    fn bulk_update(
        &mut self,
        kind: &'static str,
        endpoint: &'static str,
        items: &[Value],
        full: bool,
        origin: &str,
    ) -> Reply {
        let inputs = match bulk_ids(items) {
            Ok(inputs) => inputs,
            Err(errors) => return reply(400, &errors),
        };
        let mut table = self.objects.get(endpoint).cloned().unwrap_or_default();
        let mut updated = Vec::new();
        let mut errors = Vec::new();
        for (id, input) in inputs {
            if !table.contains_key(&id) {
                continue;
            }
            match self.validate(kind, &table, Some(id), &input, full) {
                Ok(object) => {
                    table.insert(id, object);
                    updated.push(id);
                }
                // Older releases raise the first object's errors and stop.
                Err(fields) if self.bulk_errors == BulkErrors::FirstOnly => return reply(400, &Value::Object(fields)),
                Err(fields) => errors.push(json!({ "id": id, "errors": fields })),
            }
        }
        if !errors.is_empty() {
            let message = format!("{} of {} objects failed validation.", errors.len(), errors.len() + updated.len());
            return reply(400, &json!({ "detail": message, "errors": errors }));
        }
        for &id in &updated {
            self.save(kind, endpoint, id, table[&id].clone());
        }
        let answer: Vec<Value> = updated.iter().map(|id| self.render(&self.objects[endpoint][id], origin)).collect();
        reply(200, &Value::Array(answer))
    }

    /// NetBox's bulk delete: ids it does not have are skipped without a word. A refused
    /// object (one others depend on) refuses the whole request with a 409.
    fn bulk_delete(&mut self, kind: &'static str, endpoint: &'static str, items: &[Value]) -> Reply {
        let inputs = match bulk_ids(items) {
            Ok(inputs) => inputs,
            Err(errors) => return reply(400, &errors),
        };
        let ids: Vec<u64> =
            inputs.into_keys().filter(|id| self.objects.get(endpoint).is_some_and(|o| o.contains_key(id))).collect();
        let mut errors = Vec::new();
        for &id in &ids {
            if let Some(why) = self.refusal(kind, &self.objects[endpoint][&id]) {
                if self.bulk_errors == BulkErrors::FirstOnly {
                    return detail(409, &format!("Unable to delete object. 1 dependent objects were found: {why}"));
                }
                errors.push(json!({ "id": id, "errors": { "__all__": why } }));
            }
        }
        if !errors.is_empty() {
            let message = format!("{} of {} objects could not be deleted.", errors.len(), ids.len());
            return reply(409, &json!({ "detail": message, "errors": errors }));
        }
        for id in ids {
            let before = self.objects.get_mut(endpoint).and_then(|o| o.remove(&id));
            self.changed(Event::Deleted, kind, endpoint, id, before);
        }
        no_content()
    }

    /// The serializer's checks for one object: `input` applied to the row `id` of `table` (or
    /// to a new row), or the field errors. Unknown and read-only fields are ignored, as DRF
    /// does.
    fn validate(
        &self,
        kind: &'static str,
        table: &BTreeMap<u64, Value>,
        id: Option<u64>,
        input: &Map<String, Value>,
        full: bool,
    ) -> Result<Value, Map<String, Value>> {
        let now = format_utc(unix_now());
        let mut object = id.and_then(|id| table.get(&id).cloned()).unwrap_or_else(|| {
            json!({
                "kubernetes_status": "pending", "kubernetes_uid": null, "kubernetes_resource_version": null,
                "last_applied": null, "last_synced": null, "sync_error": "", "git_file_path": "",
                "auto_sync": true, "created": now, "tags": [], "custom_fields": {},
                "namespace": "default", "labels": {}, "annotations": {},
            })
        });
        let mut errors = Map::new();
        for required in ["fabric", "name", "spec"] {
            if full && !input.contains_key(required) {
                errors.insert(required.into(), json!(["This field is required."]));
            }
        }
        for (field, value) in input {
            let problem = match field.as_str() {
                "fabric" => match value.as_u64() {
                    Some(f) if self.fabrics.contains_key(&f) => None,
                    _ => Some(format!("Invalid pk \"{value}\" - object does not exist.")),
                },
                "name" | "namespace" => match value.as_str() {
                    Some(s) if s.len() > 253 => Some("Ensure this field has no more than 253 characters.".into()),
                    Some(s) if is_dns_label(s) => None,
                    _ => Some("Enter a lowercase RFC 1123 label.".into()),
                },
                "spec" => (!value.is_object()).then(|| "Must be a JSON object.".into()),
                "labels" | "annotations" => match value.as_object() {
                    None => Some("Must be a JSON object.".into()),
                    Some(map) => map
                        .iter()
                        .find(|(_, v)| !v.is_string())
                        .map(|(key, v)| format!("Values must be strings; {key:?} is {v}.")),
                },
                "git_file_path" => match value.as_str() {
                    Some(s) if s.chars().count() <= 500 => None,
                    Some(_) => Some("Ensure this field has no more than 500 characters.".into()),
                    None => Some("Not a valid string.".into()),
                },
                "sync_error" => (!value.is_string()).then(|| "Not a valid string.".into()),
                "last_synced" | "last_applied" => match value {
                    Value::Null => None,
                    Value::String(s) if is_datetime(s) => None,
                    _ => Some("Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].".into()),
                },
                "kubernetes_status" | "auto_sync" => None,
                _ => continue,
            };
            match problem {
                Some(problem) => {
                    errors.insert(field.clone(), json!([problem]));
                }
                None => object[field.as_str()] = value.clone(),
            }
        }
        if let Some((field, message)) = self.refusals.iter().find_map(|r| r.matches(kind, &object)) {
            errors.insert(field, json!([message]));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        // DRF's UniqueTogetherValidator, against the table as this request sees it; a partial
        // update that touches none of the fields is not checked.
        let touched = full || ["fabric", "namespace", "name"].iter().any(|f| input.contains_key(*f));
        if touched && table.iter().any(|(other, o)| Some(*other) != id && unique_key(o) == unique_key(&object)) {
            let message = "The fields fabric, namespace, name must make a unique set.";
            errors.insert("non_field_errors".into(), json!([message]));
            return Err(errors);
        }
        Ok(object)
    }

    /// Stores a validated object under `id` (a write: `last_updated` moves) and fires its
    /// webhook.
    fn save(&mut self, kind: &'static str, endpoint: &'static str, id: u64, mut object: Value) {
        object["id"] = json!(id);
        object["url"] = json!(format!("{API}{endpoint}/{id}/"));
        object["display"] = object["name"].clone();
        object["last_updated"] = json!(format_utc(unix_now()));
        let before = self.objects.entry(endpoint).or_default().insert(id, object);
        let event = if before.is_some() { Event::Updated } else { Event::Created };
        self.changed(event, kind, endpoint, id, before);
    }

    /// Why a write of this object is refused, when a test asked for it (`refuse_writes`).
    fn refusal(&self, kind: &str, object: &Value) -> Option<String> {
        self.refusals.iter().find_map(|r| r.matches(kind, object)).map(|(_, message)| message)
    }
}

/// A refusal armed by `Hnp::refuse_writes`.
#[derive(Clone, Debug)]
struct Refusal {
    kind: &'static str,
    name: String,
    field: String,
    message: String,
}

impl Refusal {
    fn matches(&self, kind: &str, object: &Value) -> Option<(String, String)> {
        (self.kind == kind && object.get("name").and_then(Value::as_str) == Some(self.name.as_str()))
            .then(|| (self.field.clone(), self.message.clone()))
    }
}

/// What the (fabric, namespace, name) unique constraint compares.
fn unique_key(object: &Value) -> (Option<&Value>, Option<&Value>, Option<&Value>) {
    (object.get("fabric"), object.get("namespace"), object.get("name"))
}

/// NetBox's `BulkOperationSerializer`: every item an object with an integer `id`. The
/// inputs by id (a later item for the same id wins, as in NetBox), or the errors as a list
/// aligned with the request.
fn bulk_ids(items: &[Value]) -> Result<BTreeMap<u64, Map<String, Value>>, Value> {
    let mut inputs = BTreeMap::new();
    let mut errors = Vec::new();
    for item in items {
        let error = match item.get("id") {
            _ if !item.is_object() => not_a_dictionary(item),
            None => json!({ "id": ["This field is required."] }),
            Some(id) => match id.as_u64() {
                Some(id) => {
                    let mut input = item.as_object().cloned().unwrap_or_default();
                    input.remove("id");
                    inputs.insert(id, input);
                    json!({})
                }
                None => json!({ "id": ["A valid integer is required."] }),
            },
        };
        errors.push(error);
    }
    if errors.iter().any(|e| e.as_object().is_none_or(|m| !m.is_empty())) {
        return Err(Value::Array(errors));
    }
    Ok(inputs)
}

fn not_a_dictionary(value: &Value) -> Value {
    let message = format!("Invalid data. Expected a dictionary, but got {}.", type_name(value));
    json!({ "non_field_errors": [message] })
}

fn no_content() -> Reply {
    let mut response = reply(204, &Value::Null);
    *response.body_mut() = Full::new(Bytes::new());
    response
}

fn not_allowed(method: &str) -> Reply {
    detail(405, &format!("Method \"{method}\" not allowed."))
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
fn is_dns_label(s: &str) -> bool {
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    s.starts_with(ok) && s.ends_with(ok) && s.chars().all(|c| ok(c) || c == '-')
}

/// Roughly what Django's DateTimeField parses: `YYYY-MM-DD[Thh:mm[:ss[.f]]][Z|±hh:mm]`.
fn is_datetime(s: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (date, time) = s.split_once(['T', ' ']).unwrap_or((s, ""));
    let date_ok = date.len() == 10 && date.split('-').map(digits).collect::<Vec<_>>() == [true, true, true];
    let time = time.trim_end_matches('Z');
    let time = time.rsplit_once(['+', '-']).map_or(time, |(t, _)| t);
    let time = time.split_once('.').map_or(time, |(t, fraction)| if digits(fraction) { t } else { "x" });
    date_ok && (time.is_empty() || time.split(':').all(|part| part.len() == 2 && digits(part)))
}

/// NetBox's journal endpoint (`extras`), beside the HNP API.
pub const JOURNAL: &str = "/api/extras/journal-entries/";

/// The user the stand-in's one token belongs to: `created_by` of its journal entries.
pub const TOKEN_USER_ID: u64 = 1;

/// A journal entry's `kind` choices, as NetBox labels them.
const JOURNAL_KINDS: [(&str, &str); 4] =
    [("info", "Info"), ("success", "Success"), ("warning", "Warning"), ("danger", "Danger")];

/// Journal entries and `sync_error`, as NetBox's `extras` API and HNP's 2026 models have them.
impl Hnp {
    /// Every journal entry, in id order, as the REST API shows it.
    pub fn journal_entries(&self) -> Vec<Value> {
        let state = self.lock();
        state.journal.iter().map(|entry| state.render(entry, &state.origin)).collect()
    }

    /// A CR's `sync_error` (`None`: no such object, or a row without the field).
    pub fn sync_error(&self, kind_name: &str, id: u64) -> Option<String> {
        self.object(kind_name, id)?.get("sync_error")?.as_str().map(str::to_owned)
    }

    /// Sets a CR's `sync_error` as a NetBox user would (an `updated` webhook fires). False
    /// when there is no such object.
    pub fn set_sync_error(&self, kind_name: &str, id: u64, text: &str) -> bool {
        let (kind, endpoint, _) = kind(kind_name);
        let mut state = self.lock();
        let Some(object) = state.objects.get_mut(endpoint).and_then(|o| o.get_mut(&id)) else {
            return false;
        };
        let before = object.clone();
        object["sync_error"] = json!(text);
        object["last_updated"] = json!(format_utc(unix_now()));
        state.changed(Event::Updated, kind, endpoint, id, Some(before));
        true
    }

    /// Makes every later journal POST answer `status` (403: a token without permission on
    /// journal entries; 500: a broken NetBox), or stops doing so with `None`.
    pub fn refuse_journal_writes(&self, status: Option<u16>) {
        self.lock().journal_refused = status;
    }
}

impl State {
    /// `/api/extras/journal-entries/`: list (filtered by `assigned_object_type` and
    /// `assigned_object_id`), one entry, and POST of one entry or a list (NetBox's bulk
    /// create: every entry valid, or a 400 list aligned with the request and nothing saved).
    fn journal_route(&mut self, seen: &Seen, origin: &str, body: &[u8]) -> Reply {
        let rest = &seen.path[JOURNAL.len()..];
        let method = seen.method.as_str();
        if !(rest.is_empty() || rest.ends_with('/')) {
            return detail(404, "Not found.");
        }
        if method != "GET" {
            if self.writes_forbidden || self.journal_refused == Some(403) {
                return detail(403, "You do not have permission to perform this action.");
            }
            if let Some(status) = self.journal_refused {
                return raw(status, "text/html", "<!doctype html>\n<html><body><h1>Server Error</h1></body></html>\n");
            }
        }
        match (method, rest.trim_end_matches('/')) {
            ("GET", "") => {
                let filters: Vec<(&str, &str)> =
                    seen.query.split('&').filter_map(|pair| pair.split_once('=')).collect();
                let wanted = |entry: &Value, field: &str| {
                    filters.iter().filter(|(k, _)| *k == field).all(|(_, v)| match &entry[field] {
                        Value::String(s) => s == v,
                        other => other.as_u64().is_some_and(|n| v.parse() == Ok(n)),
                    })
                };
                let all: Vec<Value> = self
                    .journal
                    .iter()
                    .filter(|e| wanted(e, "assigned_object_type") && wanted(e, "assigned_object_id"))
                    .map(|e| self.render(e, origin))
                    .collect();
                self.page(&all, seen, origin)
            }
            ("GET", id) => match self.journal.iter().find(|e| id.parse().ok() == e["id"].as_u64()) {
                Some(entry) => reply(200, &self.render(entry, origin)),
                None => detail(404, "Not found."),
            },
            ("POST", "") => {
                let (items, bulk) = match serde_json::from_slice::<Value>(body) {
                    Ok(Value::Array(items)) => (items, true),
                    Ok(item @ Value::Object(_)) => (vec![item], false),
                    Ok(other) => return reply(400, &not_a_dictionary(&other)),
                    Err(e) => return detail(400, &format!("JSON parse error - {e}")),
                };
                let results: Vec<Result<Value, Value>> = items.iter().map(|item| self.journal_entry(item)).collect();
                if results.iter().any(Result::is_err) {
                    if !bulk {
                        return reply(400, results[0].as_ref().err().unwrap_or(&Value::Null));
                    }
                    let errors = results.into_iter().map(|r| r.err().unwrap_or_else(|| json!({}))).collect();
                    return reply(400, &Value::Array(errors));
                }
                let mut created = Vec::new();
                for mut entry in results.into_iter().flatten() {
                    let id = self.journal.last().and_then(|e| e["id"].as_u64()).map_or(1, |id| id + 1);
                    entry["id"] = json!(id);
                    entry["url"] = json!(format!("{JOURNAL}{id}/"));
                    self.journal.push(entry);
                    created.push(self.render(self.journal.last().unwrap_or(&Value::Null), origin));
                }
                match bulk {
                    true => reply(201, &Value::Array(created)),
                    false => reply(201, &created[0]),
                }
            }
            (_, "") | ("PATCH" | "PUT" | "DELETE", _) => not_allowed(method),
            _ => detail(404, "Not found."),
        }
    }

    /// NetBox's `JournalEntrySerializer` for one new entry: the stored entry (without `id`
    /// and `url`), or the field errors.
    fn journal_entry(&self, item: &Value) -> Result<Value, Value> {
        let Some(input) = item.as_object() else { return Err(not_a_dictionary(item)) };
        let mut errors = Map::new();
        let mut error = |field: &str, message: String| {
            errors.insert(field.to_owned(), json!([message]));
        };
        let object_type = input.get("assigned_object_type");
        let model = match object_type {
            None => {
                error("assigned_object_type", "This field is required.".into());
                None
            }
            Some(Value::String(text)) => match text.split_once('.') {
                Some((app, model)) if app == "netbox_hedgehog" && kinds().any(|(_, _, m)| m == model) => {
                    kinds().find(|(_, _, m)| *m == model)
                }
                Some(_) => {
                    error("assigned_object_type", format!("Invalid content type: {text}"));
                    None
                }
                None => {
                    error(
                        "assigned_object_type",
                        "Invalid value. Specify a content type as '<app_label>.<model_name>'.".into(),
                    );
                    None
                }
            },
            Some(other) => {
                error("assigned_object_type", format!("Invalid content type: {other}"));
                None
            }
        };
        let object_id = match input.get("assigned_object_id") {
            None => {
                error("assigned_object_id", "This field is required.".into());
                None
            }
            Some(value) => {
                let id = value.as_u64();
                if id.is_none() {
                    error("assigned_object_id", "A valid integer is required.".into());
                }
                id
            }
        };
        let kind = match input.get("kind") {
            None => "info",
            Some(value) => match JOURNAL_KINDS.iter().find(|(k, _)| Some(*k) == value.as_str()) {
                Some((kind, _)) => kind,
                None => {
                    let shown = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
                    error("kind", format!("\"{shown}\" is not a valid choice."));
                    "info"
                }
            },
        };
        let comments = match input.get("comments") {
            None => {
                error("comments", "This field is required.".into());
                String::new()
            }
            Some(Value::String(text)) if text.trim().is_empty() => {
                error("comments", "This field may not be blank.".into());
                String::new()
            }
            Some(Value::String(text)) => text.clone(),
            Some(_) => {
                error("comments", "Not a valid string.".into());
                String::new()
            }
        };
        if !errors.is_empty() {
            return Err(Value::Object(errors));
        }
        // The serializer's `validate`: the object must exist.
        let (Some((_, endpoint, model)), Some(object_id)) = (model, object_id) else {
            return Err(json!({ "non_field_errors": ["Invalid assigned_object."] }));
        };
        let Some(object) = self.objects.get(endpoint).and_then(|o| o.get(&object_id)) else {
            let message = format!("Invalid assigned_object: netbox_hedgehog.{model} ID {object_id}");
            return Err(json!({ "non_field_errors": [message] }));
        };
        let label = JOURNAL_KINDS.iter().find(|(k, _)| *k == kind).map_or("Info", |(_, label)| label);
        let now = format_utc(unix_now());
        Ok(json!({
            "display": format!("{} ({label})", &now[..16.min(now.len())].replace('T', " ")),
            "assigned_object_type": format!("netbox_hedgehog.{model}"),
            "assigned_object_id": object_id,
            "assigned_object": {
                "id": object_id,
                "url": format!("{}{}", self.origin, object["url"].as_str().unwrap_or_default()),
                "display": object["display"],
            },
            "created": now,
            "created_by": TOKEN_USER_ID,
            "kind": { "value": kind, "label": label },
            "comments": comments,
            "tags": [],
            "custom_fields": {},
            "last_updated": now,
        }))
    }
}
