//! The NetBox `CrSource`: reads a fabric's CRs from the HNP REST API
//! (`<netbox>/api/plugins/hedgehog/`), writes the CRs a pull brings from Git, and records
//! where each one landed in Git.
//!
//! HNP's CR endpoints have no filter set (`?fabric=` and `?name=` are ignored), so every
//! lookup pages through a whole endpoint and filters on the client by the fabric's id.
//!
//! A listing is used only when it is consistent: offset paging is not a snapshot (a row
//! deleted or created between two page requests shifts every later page, so a row is skipped
//! or seen twice), so every page's `count` must equal the first page's and the rows received
//! must equal `count`; otherwise the endpoint is listed again from the start, a bounded number
//! of times, and then the listing fails. A short listing would read as deleted CRs. Likewise a
//! row that cannot be read (no `id`, no `fabric`, no `name`...) is an error, never skipped.
//!
//! Writes use NetBox's bulk operations on the list endpoint (`POST`, `PATCH`, `DELETE` with a
//! list; one transaction each): one request per kind and operation, whatever the number of
//! CRs. A pull's write is made only while the row still holds what the pull decided on (checked
//! against a listing made just before); NetBox has no compare-and-swap, so an edit landing
//! between that listing and the write is the one window left.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, Method, StatusCode, Uri};
use serde_json::{json, Value};

use super::status::{self, JournalKind, Statuses};
use super::{BoxFuture, CrSource, Synced};
use crate::net::client::{Client, ClientError, Response};
use crate::wit::{namespace_or_default, CustomResource, HnpChange, HnpOp, ResourceRef, Selection, SyncReport};
use fgd_sync_guest::model::KINDS;
use fgd_sync_local_github::{format_utc, unix_now};

/// The HNP API under a NetBox base URL.
const API_PATH: &str = "/api/plugins/hedgehog/";

const FABRICS: &str = "fabrics/";

/// NetBox's default `MAX_PAGE_SIZE`: the largest page it gives (a smaller `MAX_PAGE_SIZE`
/// just means more pages). Fewer pages, fewer chances for a row to move between two of them.
pub const DEFAULT_PAGE_SIZE: u32 = 1000;

/// A `next` chain longer than this is a server bug (or a loop), not a big fabric.
const MAX_PAGES: usize = 10_000;

/// Listings of one endpoint that may change while paging before the listing fails.
pub const MAX_LISTINGS: usize = 3;

/// Waits before the retries of a failed GET (5xx or no answer). Writes are never retried.
const GET_RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(250), Duration::from_secs(1)];

/// How much of an unexpected error body goes into a message.
const MAX_DETAIL: usize = 300;

/// Objects per bulk request. NetBox saves each object of a bulk request (with its change
/// record and webhook) in one transaction; a bounded batch keeps a request well inside proxy
/// and worker timeouts. Up to this many CRs of a kind take one request.
const MAX_BULK_ITEMS: usize = 1000;

/// Requests a bulk write may add after refusals: a 400 that names the bad items sends the
/// rest again; one that names none splits the batch in halves to find them (about
/// 2 log2(n) requests per bad item). Past this, the items not written yet are refused.
const MAX_BULK_RETRIES: usize = 32;

/// Most CRs a "not recorded" error lists by name.
const MAX_LISTED_FAILURES: usize = 10;

/// The fields a pull writes (`hnp-change.fields`).
const WRITABLE: [&str; 3] = ["spec", "labels", "annotations"];

/// Why a pull's change is refused when HNP no longer holds what it was decided on.
const CHANGED: &str = "changed in HNP since it was read";
const GONE: &str = "deleted from HNP since it was read";
const ALREADY_EXISTS: &str = "already exists in HNP";

/// Where NetBox is and how to talk to it.
#[derive(Clone)]
pub struct NetBoxConfig {
    /// NetBox's base URL, e.g. `https://netbox.example.com` (a path prefix is kept).
    pub base_url: String,
    /// API token, sent as `Authorization: Token <token>`.
    pub token: String,
    /// Objects per page (`?limit=`).
    pub page_size: u32,
}

impl NetBoxConfig {
    pub fn new(base_url: impl Into<String>, token: impl Into<String>) -> Self {
        NetBoxConfig { base_url: base_url.into(), token: token.into(), page_size: DEFAULT_PAGE_SIZE }
    }
}

impl fmt::Debug for NetBoxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetBoxConfig")
            .field("base_url", &self.base_url)
            .field("token", &"<redacted>")
            .field("page_size", &self.page_size)
            .finish()
    }
}

/// What went wrong talking to NetBox. Every variant that involves a request names its URL.
#[derive(Debug)]
#[non_exhaustive]
pub enum NetBoxError {
    /// The configuration cannot work (bad base URL, token not usable in a header).
    InvalidConfig(String),
    /// No answer (after retries, for GETs).
    Transport(ClientError),
    /// 401 or 403: the token is missing, wrong, or lacks permission.
    TokenRefused {
        method: Method,
        url: String,
        status: StatusCode,
        detail: String,
    },
    /// Any other non-2xx answer (after retries, for GETs).
    Status {
        method: Method,
        url: String,
        status: StatusCode,
        detail: String,
    },
    /// A 2xx answer that is not the JSON HNP sends.
    Malformed {
        url: String,
        message: String,
    },
    FabricNotFound {
        name: String,
        url: String,
        known: Vec<String>,
    },
    ResourceNotFound {
        fabric: String,
        reference: ResourceRef,
        url: String,
    },
    UnknownKind(String),
    /// A `next` link that leaves the configured origin; following it would send the token
    /// elsewhere. Usually a reverse proxy that does not pass the original host/scheme on.
    ForeignNext {
        url: String,
        next: String,
    },
    TooManyPages {
        url: String,
    },
    /// A `next` link to a page already read in this listing.
    NextLoop {
        url: String,
        next: String,
    },
    /// Rows were created or deleted while paging, in every one of `MAX_LISTINGS` listings:
    /// `counts` is each listing's `count` on its first page, the `count` that differed on a
    /// later page (or the first one again), and the rows received.
    InconsistentListing {
        url: String,
        counts: Vec<(u64, u64, u64)>,
    },
    /// A row that cannot be read as a CR of a fabric.
    MalformedRow {
        url: String,
        id: Option<u64>,
        name: Option<String>,
        field: &'static str,
        message: String,
    },
    /// Some CRs of a commit could not be recorded (the others were): one message each.
    NotRecorded {
        total: usize,
        failures: Vec<String>,
    },
}

impl fmt::Display for NetBoxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let with_detail = |f: &mut fmt::Formatter<'_>, detail: &str| {
            if detail.is_empty() {
                Ok(())
            } else {
                write!(f, ": {detail}")
            }
        };
        match self {
            NetBoxError::InvalidConfig(why) => write!(f, "NetBox configuration: {why}"),
            NetBoxError::Transport(e) => write!(f, "NetBox unreachable: {e}"),
            NetBoxError::TokenRefused { method, url, status, detail } => {
                write!(f, "NetBox refused the API token ({status}) for {method} {url}")?;
                with_detail(f, detail)
            }
            NetBoxError::Status { method, url, status, detail } => {
                write!(f, "NetBox answered {status} to {method} {url}")?;
                with_detail(f, detail)
            }
            NetBoxError::Malformed { url, message } => {
                write!(f, "NetBox sent malformed JSON for {url}: {message}")
            }
            NetBoxError::FabricNotFound { name, url, known } => {
                write!(f, "fabric {name:?} not found in NetBox at {url}")?;
                if known.is_empty() {
                    write!(f, " (it has no fabrics)")
                } else {
                    write!(f, " (fabrics there: {})", known.join(", "))
                }
            }
            NetBoxError::ResourceNotFound { fabric, reference, url } => write!(
                f,
                "{} {}/{} not found in fabric {fabric:?} at {url}",
                reference.kind,
                namespace_or_default(&reference.namespace),
                reference.name
            ),
            NetBoxError::UnknownKind(kind) => {
                write!(f, "unknown kind {kind:?}; HNP has {}", KINDS.map(|k| k.name).join(", "))
            }
            NetBoxError::ForeignNext { url, next } => write!(
                f,
                "NetBox's page {url} links its next page to another origin ({next}); not \
                 following it with the token (check the proxy's Host and X-Forwarded-Proto)"
            ),
            NetBoxError::TooManyPages { url } => {
                write!(f, "NetBox kept sending pages past {MAX_PAGES} from {url}")
            }
            NetBoxError::NextLoop { url, next } => {
                write!(f, "NetBox's listing {url} links back to a page it already sent ({next}); not following it")
            }
            NetBoxError::InconsistentListing { url, counts } => {
                let tries: Vec<String> = counts
                    .iter()
                    .map(|(first, later, received)| {
                        format!("count {first} on the first page, {later} later, {received} rows received")
                    })
                    .collect();
                write!(
                    f,
                    "NetBox's listing of {url} changed while it was paged, {} times in a row ({}); not                      using a partial listing (it would read as deleted CRs): try again when NetBox is quieter",
                    counts.len(),
                    tries.join("; ")
                )
            }
            NetBoxError::MalformedRow { url, id, name, field, message } => {
                write!(f, "NetBox row")?;
                if let Some(id) = id {
                    write!(f, " id {id}")?;
                }
                if let Some(name) = name {
                    write!(f, " {name:?}")?;
                }
                write!(f, " of {url}: `{field}` {message}; fix the row in NetBox (it is not skipped: a CR left out would read as deleted)")
            }
            NetBoxError::NotRecorded { total, failures } => {
                write!(f, "{} of {total} CRs not recorded in NetBox: ", failures.len())?;
                write!(f, "{}", failures.iter().take(MAX_LISTED_FAILURES).cloned().collect::<Vec<_>>().join("; "))?;
                if failures.len() > MAX_LISTED_FAILURES {
                    write!(f, "; and {} more", failures.len() - MAX_LISTED_FAILURES)?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for NetBoxError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            NetBoxError::Transport(e) => Some(e),
            _ => None,
        }
    }
}

/// Identifies a CR row of one fabric; namespace is normalized (`""` -> `default`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    fabric: u64,
    kind: &'static str,
    namespace: String,
    name: String,
}

/// What `record` and `publish_status` need to know about a row.
#[derive(Clone, Debug)]
struct Known {
    id: u64,
    git_file_path: String,
    /// `None`: the row has no such field (an HNP without it).
    sync_error: Option<String>,
}

/// A CR row of the fabric asked for.
struct Row {
    key: Key,
    known: Known,
    resource: CustomResource,
}

/// CRs from NetBox (HNP). Caches fabric ids and, per row, id and `git_file_path`, so that
/// `record` after `list` needs one bulk PATCH per kind and nothing else.
pub struct NetBoxSource {
    client: Client,
    /// `<base>/api/plugins/hedgehog/`.
    api_root: String,
    origin: Origin,
    headers: HeaderMap,
    page_size: u32,
    fabrics: Mutex<HashMap<String, u64>>,
    known: Mutex<HashMap<Key, Known>>,
}

impl NetBoxSource {
    pub fn new(config: NetBoxConfig, client: Client) -> Result<Self, NetBoxError> {
        let invalid = NetBoxError::InvalidConfig;
        let base = config.base_url.trim_end_matches('/');
        let base = base.strip_suffix(API_PATH.trim_end_matches('/')).unwrap_or(base);
        let uri: Uri = base.parse().map_err(|e| invalid(format!("base URL {base:?}: {e}")))?;
        let origin =
            Origin::of(&uri).ok_or_else(|| invalid(format!("base URL {base:?} is not an absolute http(s) URL")))?;
        if uri.query().is_some() {
            return Err(invalid(format!("base URL {base:?} has a query")));
        }
        let mut auth = HeaderValue::from_str(&format!("Token {}", config.token.trim()))
            .map_err(|_| invalid("the token contains characters not allowed in a header".into()))?;
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, auth);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        Ok(NetBoxSource {
            client,
            api_root: format!("{base}{API_PATH}"),
            origin,
            headers,
            page_size: config.page_size.max(1),
            fabrics: Mutex::new(HashMap::new()),
            known: Mutex::new(HashMap::new()),
        })
    }

    /// The HNP API root this source talks to.
    pub fn api_root(&self) -> &str {
        &self.api_root
    }

    /// Every CR of the fabric, from all 12 endpoints.
    pub async fn list_resources(&self, fabric: &str) -> Result<Vec<CustomResource>, NetBoxError> {
        // A full listing re-resolves the fabric: it is the start of every sync.
        let fabric_id = self.resolve_fabric(fabric).await?;
        let mut rows = Vec::new();
        for k in &KINDS {
            rows.extend(self.rows(fabric_id, k.name, k.netbox_endpoint).await?);
        }
        let mut known = lock(&self.known);
        known.retain(|key, _| key.fabric != fabric_id);
        known.extend(rows.iter().map(|row| (row.key.clone(), row.known.clone())));
        Ok(rows.into_iter().map(|row| row.resource).collect())
    }

    /// One CR, or `None` when the fabric does not have it.
    pub async fn get_resource(
        &self,
        fabric: &str,
        reference: &ResourceRef,
    ) -> Result<Option<CustomResource>, NetBoxError> {
        Ok(self.find(fabric, reference).await?.map(|row| row.resource))
    }

    /// Sets `last_synced` to now, and `git_file_path` where it changed, on every CR of one
    /// commit: one bulk PATCH per kind, with the ids the sync's listing cached (a kind with a
    /// CR missing from the cache is listed once first). A CR that cannot be recorded (gone
    /// from NetBox, or refused) does not keep the others from being recorded; the error names
    /// each one.
    pub async fn record_synced(&self, fabric: &str, synced: &[Synced]) -> Result<(), NetBoxError> {
        if synced.is_empty() {
            return Ok(());
        }
        let fabric_id = self.fabric_id(fabric).await?;
        let now = format_utc(unix_now());
        let mut failures: Vec<String> = synced
            .iter()
            .filter_map(|s| kind_of(&s.resource.kind).err().map(|e| format!("{}: {e}", describe(&s.resource))))
            .collect();
        for k in &KINDS {
            let entries: Vec<&Synced> = synced.iter().filter(|s| s.resource.kind == k.name).collect();
            if !entries.is_empty() {
                failures.extend(self.record_kind(fabric, fabric_id, k.name, k.netbox_endpoint, &entries, &now).await?);
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(NetBoxError::NotRecorded { total: synced.len(), failures })
        }
    }

    /// `record_synced` for the CRs of one kind; what could not be recorded, one message per CR.
    async fn record_kind(
        &self,
        fabric: &str,
        fabric_id: u64,
        kind: &'static str,
        endpoint: &'static str,
        entries: &[&Synced],
        now: &str,
    ) -> Result<Vec<String>, NetBoxError> {
        let keys: Vec<Key> =
            entries.iter().map(|s| key(fabric_id, kind, &s.resource.namespace, &s.resource.name)).collect();
        let all_cached = {
            let known = lock(&self.known);
            keys.iter().all(|k| known.contains_key(k))
        };
        let mut listed = false;
        if !all_cached {
            self.refresh(fabric_id, kind, endpoint).await?;
            listed = true;
        }
        let not_found = |i: usize| {
            let reference = entries[i].resource.clone();
            let url = self.endpoint_url(endpoint);
            NetBoxError::ResourceNotFound { fabric: fabric.to_owned(), reference, url }.to_string()
        };
        let mut failures = Vec::new();
        let mut pending: Vec<usize> = (0..entries.len()).collect();
        while !pending.is_empty() {
            let mut items = Vec::new();
            {
                let known = lock(&self.known);
                for &i in &pending {
                    match known.get(&keys[i]) {
                        Some(row) => {
                            let mut body = json!({ "id": row.id, "last_synced": now });
                            // An unchanged path is not sent, so NetBox logs (and webhooks) show
                            // only real changes.
                            if row.git_file_path != entries[i].path {
                                body["git_file_path"] = Value::from(entries[i].path.as_str());
                            }
                            items.push(Item { change: i, id: Some(row.id), body });
                        }
                        None => failures.push(not_found(i)),
                    }
                }
            }
            let outcome = self.bulk(Method::PATCH, endpoint, items).await?;
            failures
                .extend(outcome.refused.iter().map(|(i, why)| format!("{}: {why}", describe(&entries[*i].resource))));
            // NetBox skips the ids it does not have (silently): rows deleted, or re-created
            // under a new id, since they were cached.
            let answered = ids(&outcome.objects);
            let mut gone = Vec::new();
            {
                let mut known = lock(&self.known);
                for (i, id) in outcome.done {
                    match id.filter(|id| answered.contains(id)) {
                        Some(id) => {
                            let sync_error = known.get(&keys[i]).and_then(|row| row.sync_error.clone());
                            let path = entries[i].path.clone();
                            known.insert(keys[i].clone(), Known { id, git_file_path: path, sync_error });
                        }
                        None => gone.push(i),
                    }
                }
            }
            if listed {
                failures.extend(gone.into_iter().map(not_found));
                break;
            }
            if !gone.is_empty() {
                self.refresh(fabric_id, kind, endpoint).await?;
                listed = true;
            }
            pending = gone;
        }
        Ok(failures)
    }

    /// Writes a pull's changes; one answer per change, in order: `None` done, `Some(why)`
    /// refused. Per kind: one consistent listing to check that HNP still holds what each
    /// change was decided on, then one bulk request per operation. `Err`: the answers were
    /// lost (NetBox unreachable, or a success answer that cannot be read); some writes may
    /// have happened, and the next sync finds them.
    pub async fn apply_changes(&self, fabric: &str, changes: &[HnpChange]) -> Result<Vec<Option<String>>, NetBoxError> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        let fabric_id = self.fabric_id(fabric).await?;
        let mut answers: Vec<Option<Option<String>>> = vec![None; changes.len()];
        let mut targets = HashSet::new();
        for (i, change) in changes.iter().enumerate() {
            let cr = &change.resource;
            match kind_of(&cr.kind) {
                Err(e) => answers[i] = Some(Some(e.to_string())),
                // Two writes of one CR in one bulk request: NetBox keeps one of them (PATCH)
                // or fails on the database's unique index (POST).
                Ok((kind, _)) if !targets.insert(key(fabric_id, kind, &cr.namespace, &cr.name)) => {
                    answers[i] = Some(Some("another change in this batch is for the same CR".into()));
                }
                Ok(_) => {}
            }
        }
        for k in &KINDS {
            let indices: Vec<usize> =
                (0..changes.len()).filter(|&i| answers[i].is_none() && changes[i].resource.kind == k.name).collect();
            if indices.is_empty() {
                continue;
            }
            for (i, answer) in self.apply_kind(fabric_id, k.name, k.netbox_endpoint, changes, &indices).await? {
                answers[i] = Some(answer);
            }
        }
        Ok(answers.into_iter().map(|answer| answer.unwrap_or_else(|| Some("not applied: no answer".into()))).collect())
    }

    /// `apply_changes` for the changes of one kind (`indices` into `changes`).
    async fn apply_kind(
        &self,
        fabric_id: u64,
        kind: &'static str,
        endpoint: &'static str,
        changes: &[HnpChange],
        indices: &[usize],
    ) -> Result<Vec<(usize, Option<String>)>, NetBoxError> {
        let current: HashMap<Key, Row> =
            self.refresh(fabric_id, kind, endpoint).await?.into_iter().map(|row| (row.key.clone(), row)).collect();
        let key_of = |i: usize| {
            let cr = &changes[i].resource;
            key(fabric_id, kind, &cr.namespace, &cr.name)
        };
        let mut answers = Vec::new();
        let (mut creates, mut updates, mut deletes) = (Vec::new(), Vec::new(), Vec::new());
        let now = format_utc(unix_now());
        for &i in indices {
            let row = current.get(&key_of(i));
            // A CR taken from its own managed file: its bookkeeping goes with the write, so
            // HNP sees one write (and fires one webhook) per CR, not a second for `record`.
            let bookkeeping = |mut body: Value| {
                if changes[i].records_sync {
                    body["last_synced"] = Value::from(now.as_str());
                    if row.is_none_or(|r| r.known.git_file_path != changes[i].path) {
                        body["git_file_path"] = Value::from(changes[i].path.as_str());
                    }
                }
                body
            };
            match prepare(fabric_id, &changes[i], row) {
                Err(why) => answers.push((i, Some(why))),
                Ok(Write::Nothing) => answers.push((i, None)),
                Ok(Write::Create(body)) => creates.push(Item { change: i, id: None, body: bookkeeping(body) }),
                Ok(Write::Update(id, body)) => updates.push(Item { change: i, id: Some(id), body: bookkeeping(body) }),
                Ok(Write::Delete(id)) => deletes.push(Item { change: i, id: Some(id), body: json!({ "id": id }) }),
            }
        }

        if !creates.is_empty() {
            let outcome = self.bulk(Method::POST, endpoint, creates).await?;
            answers.extend(outcome.refused.into_iter().map(|(i, why)| (i, Some(why))));
            // The new ids, for the `record` after the commit: matched by namespace and name.
            let mut created: HashMap<Key, Known> = outcome
                .objects
                .iter()
                .filter_map(|object| {
                    let (id, fabric) = identity(object).ok()?;
                    let row = row(fabric, kind, id, object).ok()?;
                    Some((row.key, row.known))
                })
                .collect();
            let mut known = lock(&self.known);
            for (i, _) in outcome.done {
                if let Some(row) = created.remove(&key_of(i)) {
                    known.insert(key_of(i), row);
                }
                answers.push((i, None));
            }
        }

        if !updates.is_empty() {
            let outcome = self.bulk(Method::PATCH, endpoint, updates).await?;
            answers.extend(outcome.refused.into_iter().map(|(i, why)| (i, Some(why))));
            // NetBox skips the ids it does not have: deleted after the check above.
            let answered = ids(&outcome.objects);
            for (i, id) in outcome.done {
                let done = id.is_some_and(|id| answered.contains(&id));
                answers.push((i, (!done).then(|| GONE.to_owned())));
            }
        }

        if !deletes.is_empty() {
            let outcome = self.bulk(Method::DELETE, endpoint, deletes).await?;
            answers.extend(outcome.refused.into_iter().map(|(i, why)| (i, Some(why))));
            let mut known = lock(&self.known);
            for (i, _) in outcome.done {
                known.remove(&key_of(i));
                answers.push((i, None));
            }
        }
        Ok(answers)
    }

    /// One bulk request (`POST`, `PATCH` or `DELETE` on the list endpoint) for `items`, and
    /// what became of each. NetBox runs a bulk request in one transaction: a 400 writes
    /// nothing. When it names the bad items, they are refused and the rest is sent again;
    /// when it names none (older NetBox stops a bulk update at the first bad object), the
    /// batch is split in halves until the bad ones are alone. Any other refusal (403, 409,
    /// 5xx: writes are not retried) refuses the whole batch.
    async fn bulk(&self, method: Method, endpoint: &str, items: Vec<Item>) -> Result<Bulk, NetBoxError> {
        self.bulk_to(method, self.endpoint_url(endpoint), items).await
    }

    /// `bulk` on any list endpoint of this NetBox (the journal lives outside the HNP API).
    async fn bulk_to(&self, method: Method, url: String, mut items: Vec<Item>) -> Result<Bulk, NetBoxError> {
        let mut outcome = Bulk::default();
        let mut queue = VecDeque::new();
        while items.len() > MAX_BULK_ITEMS {
            let rest = items.split_off(MAX_BULK_ITEMS);
            queue.push_back(std::mem::replace(&mut items, rest));
        }
        queue.push_back(items);
        let mut budget = queue.len() + MAX_BULK_RETRIES;
        while let Some(batch) = queue.pop_front() {
            if batch.is_empty() {
                continue;
            }
            if budget == 0 {
                let why = format!(
                    "not written: gave up after {MAX_BULK_RETRIES} more bulk requests to {method} {url} that NetBox refused in part"
                );
                let left = batch.iter().chain(queue.iter().flatten());
                outcome.refused.extend(left.map(|item| (item.change, why.clone())));
                break;
            }
            budget -= 1;
            let body: Vec<&Value> = batch.iter().map(|item| &item.body).collect();
            let body = serde_json::to_vec(&body).map_err(|e| malformed(&url, e.to_string()))?;
            let response = self.exchange(method.clone(), &url, Some(body)).await?;
            let status = response.status;
            if status.is_success() {
                if method != Method::DELETE {
                    let answer: Value = serde_json::from_slice(&response.body)
                        .map_err(|e| malformed(&url, json_error(&e, &response.body)))?;
                    let Value::Array(objects) = answer else {
                        return Err(malformed(&url, format!("expected a list answering a bulk {method}")));
                    };
                    outcome.objects.extend(objects);
                }
                outcome.done.extend(batch.iter().map(|item| (item.change, item.id)));
                continue;
            }
            let named = matches!(status, StatusCode::BAD_REQUEST | StatusCode::CONFLICT)
                .then(|| item_errors(&response.body, &batch))
                .flatten();
            if let Some(errors) = named {
                let mut rest = Vec::new();
                for (item, error) in batch.into_iter().zip(errors) {
                    match error {
                        Some(why) => outcome.refused.push((item.change, why)),
                        None => rest.push(item),
                    }
                }
                queue.push_back(rest);
            } else if status == StatusCode::BAD_REQUEST && batch.len() > 1 {
                let mut first = batch;
                let second = first.split_off(first.len() / 2);
                queue.push_back(first);
                queue.push_back(second);
            } else {
                let why = match field_errors(&response.body) {
                    Some(fields) if status == StatusCode::BAD_REQUEST => fields,
                    _ => status_error(method.clone(), &url, status, &response.body).to_string(),
                };
                outcome.refused.extend(batch.iter().map(|item| (item.change, why.clone())));
            }
        }
        Ok(outcome)
    }

    /// Pages through the kind's endpoint for the row; refreshes the cache of that kind.
    async fn find(&self, fabric: &str, reference: &ResourceRef) -> Result<Option<Row>, NetBoxError> {
        let (kind, endpoint) = kind_of(&reference.kind)?;
        let fabric_id = self.fabric_id(fabric).await?;
        let wanted = key(fabric_id, kind, &reference.namespace, &reference.name);
        Ok(self.refresh(fabric_id, kind, endpoint).await?.into_iter().find(|row| row.key == wanted))
    }

    /// The fabric's rows of one kind, from one consistent listing; they replace that kind's
    /// cached ids.
    async fn refresh(&self, fabric_id: u64, kind: &'static str, endpoint: &str) -> Result<Vec<Row>, NetBoxError> {
        let rows = self.rows(fabric_id, kind, endpoint).await?;
        let mut known = lock(&self.known);
        known.retain(|k, _| k.fabric != fabric_id || k.kind != kind);
        known.extend(rows.iter().map(|row| (row.key.clone(), row.known.clone())));
        Ok(rows)
    }

    /// All rows of one endpoint that belong to the fabric, from one consistent listing.
    async fn rows(&self, fabric_id: u64, kind: &'static str, endpoint: &str) -> Result<Vec<Row>, NetBoxError> {
        let url = self.endpoint_url(endpoint);
        let mut rows = Vec::new();
        for object in self.list_objects(endpoint).await? {
            let (id, fabric) = identity(&object).map_err(|e| e.at(&url))?;
            if fabric == fabric_id {
                rows.push(row(fabric_id, kind, id, &object).map_err(|e| e.at(&url))?);
            }
        }
        Ok(rows)
    }

    async fn fabric_id(&self, name: &str) -> Result<u64, NetBoxError> {
        let cached = lock(&self.fabrics).get(name).copied();
        match cached {
            Some(id) => Ok(id),
            None => self.resolve_fabric(name).await,
        }
    }

    async fn resolve_fabric(&self, name: &str) -> Result<u64, NetBoxError> {
        let mut found = None;
        let mut known = Vec::new();
        let url = self.endpoint_url(FABRICS);
        for object in self.list_objects(FABRICS).await? {
            let fabric_name = object.get("name").and_then(Value::as_str).unwrap_or_default();
            if fabric_name == name {
                let id = object.get("id").and_then(Value::as_u64);
                found = Some(id.ok_or_else(|| malformed(&url, format!("fabric {name:?} has no integer id")))?);
            } else if known.len() < 10 {
                known.push(fabric_name.to_owned());
            }
        }
        let mut fabrics = lock(&self.fabrics);
        match found {
            Some(id) => {
                fabrics.insert(name.to_owned(), id);
                Ok(id)
            }
            None => {
                fabrics.remove(name);
                Err(NetBoxError::FabricNotFound { name: name.to_owned(), url, known })
            }
        }
    }

    /// Every object of a paginated list, from a listing whose `count` held still while it
    /// was paged (listed again from the start when it did not, at most `MAX_LISTINGS` times).
    async fn list_objects(&self, endpoint: &str) -> Result<Vec<Value>, NetBoxError> {
        let mut counts = Vec::new();
        while counts.len() < MAX_LISTINGS {
            match self.listing(endpoint).await? {
                Listing::Consistent(objects) => return Ok(objects),
                Listing::Changed { first, later, received } => {
                    tracing::debug!(
                        endpoint,
                        first,
                        later,
                        received,
                        "NetBox listing changed while paging; listing again"
                    );
                    counts.push((first, later, received));
                }
            }
        }
        Err(NetBoxError::InconsistentListing { url: self.endpoint_url(endpoint), counts })
    }

    /// One listing of an endpoint, following `next` links on the configured origin only.
    async fn listing(&self, endpoint: &str) -> Result<Listing, NetBoxError> {
        let first = format!("{}?limit={}&offset=0", self.endpoint_url(endpoint), self.page_size);
        let mut url = first.clone();
        let mut seen = std::collections::HashSet::new();
        let mut ids = std::collections::HashSet::new();
        let mut objects = Vec::new();
        let mut total = None;
        for _ in 0..MAX_PAGES {
            seen.insert(url.clone());
            let body = self.send(Method::GET, &url, None).await?;
            let page: Value = serde_json::from_slice(&body).map_err(|e| malformed(&url, json_error(&e, &body)))?;
            let results = page
                .get("results")
                .and_then(Value::as_array)
                .ok_or_else(|| malformed(&url, "expected a page with a `results` list".into()))?;
            let count = page
                .get("count")
                .and_then(Value::as_u64)
                .ok_or_else(|| malformed(&url, "expected a page with an integer `count`".into()))?;
            let first_count = *total.get_or_insert(count);
            if count != first_count {
                return Ok(Listing::Changed { first: first_count, later: count, received: objects.len() as u64 });
            }
            for object in results {
                // A row seen twice: rows moved between pages (a count that went down, then up).
                if let Some(id) = object.get("id").and_then(Value::as_u64) {
                    if !ids.insert(id) {
                        let received = objects.len() as u64 + 1;
                        return Ok(Listing::Changed { first: first_count, later: count, received });
                    }
                }
                objects.push(object.clone());
            }
            match page.get("next") {
                None | Some(Value::Null) => {
                    let received = objects.len() as u64;
                    return Ok(if received == first_count {
                        Listing::Consistent(objects)
                    } else {
                        Listing::Changed { first: first_count, later: count, received }
                    });
                }
                Some(Value::String(next)) => {
                    let same = next.parse::<Uri>().ok().and_then(|u| Origin::of(&u)) == Some(self.origin.clone());
                    if !same {
                        return Err(NetBoxError::ForeignNext { url, next: next.clone() });
                    }
                    if seen.contains(next) {
                        return Err(NetBoxError::NextLoop { url, next: next.clone() });
                    }
                    url = next.clone();
                }
                Some(other) => return Err(malformed(&url, format!("`next` is {other}, not a URL"))),
            }
        }
        Err(NetBoxError::TooManyPages { url: first })
    }

    /// One request with the token; a 2xx body, or an error naming URL, status and NetBox's
    /// `detail`. GETs are retried on 5xx and on transport trouble.
    async fn send(&self, method: Method, url: &str, body: Option<Vec<u8>>) -> Result<Bytes, NetBoxError> {
        let response = self.exchange(method.clone(), url, body).await?;
        if response.status.is_success() {
            Ok(response.body)
        } else {
            Err(status_error(method, url, response.status, &response.body))
        }
    }

    /// One request with the token, answered with any status. GETs are retried on 5xx and on
    /// transport trouble; writes never (NetBox may have done one whose answer was lost).
    async fn exchange(&self, method: Method, url: &str, body: Option<Vec<u8>>) -> Result<Response, NetBoxError> {
        let retries: &[Duration] = if method == Method::GET { &GET_RETRY_DELAYS } else { &[] };
        let mut attempt = 0;
        loop {
            let mut headers = self.headers.clone();
            if body.is_some() {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            }
            let result = self.client.request(method.clone(), url, headers, body.clone()).await;
            let retry = match &result {
                Ok(response) => response.status.is_server_error(),
                Err(e) => e.is_transient(),
            };
            if retry && attempt < retries.len() {
                tokio::time::sleep(retries[attempt]).await;
                attempt += 1;
                continue;
            }
            return result.map_err(NetBoxError::Transport);
        }
    }

    fn endpoint_url(&self, endpoint: &str) -> String {
        format!("{}{endpoint}", self.api_root)
    }
}

/// NetBox's journal, under the base URL (NetBox's own API, not HNP's).
const JOURNAL_PATH: &str = "/api/extras/journal-entries/";

/// How every warning of `publish_status` starts.
const NOT_SHOWN: &str = "the sync's outcome is not shown in NetBox";

/// A CR whose `sync_error` a publish changes.
struct StatusWrite {
    key: Key,
    id: u64,
    before: String,
    after: String,
}

impl StatusWrite {
    fn reference(&self) -> ResourceRef {
        ResourceRef {
            kind: self.key.kind.to_owned(),
            namespace: self.key.namespace.clone(),
            name: self.key.name.clone(),
        }
    }
}

/// What publishing one kind came to.
#[derive(Default)]
struct KindStatus {
    /// Written, with the journal entry each calls for: `(write, model, kind)`.
    journal: Vec<(StatusWrite, &'static str, JournalKind)>,
    /// Not written: `(CR, why)`.
    refused: Vec<(String, String)>,
    /// Rows that want a line but have no `sync_error` field.
    unsupported: bool,
}

impl NetBoxSource {
    /// Shows a finished sync's outcome on its CRs (`super::status`): sets each covered CR's
    /// `sync_error` where it differs from what NetBox holds, one bulk PATCH per kind; then,
    /// for the CRs whose PATCH landed, posts one journal entry per new conflict and one per
    /// conflict cleared, in one bulk POST. Compares with the rows this source read during the
    /// sync (a kind with a named CR missing from them is listed once). When nothing changed
    /// it sends nothing, so a periodic reconcile adds no write and no entry. Returns warnings:
    /// the commit has landed, so this never fails the sync. A journal entry NetBox refuses
    /// is not tried again for the same conflict (its `sync_error` is set already).
    pub async fn publish_status(&self, fabric: &str, statuses: &Statuses<'_>) -> Vec<String> {
        if statuses.crs.is_empty() && !statuses.rest_in_sync {
            return Vec::new();
        }
        let fabric_id = match self.fabric_id(fabric).await {
            Ok(id) => id,
            Err(e) => return vec![format!("{NOT_SHOWN}: {e}")],
        };
        let mut warnings = Vec::new();
        let mut journal = Vec::new();
        let mut refused = Vec::new();
        let mut unsupported = Vec::new();
        for k in &KINDS {
            match self.publish_kind(fabric_id, (k.name, k.netbox_endpoint, k.netbox_model), statuses).await {
                Ok(outcome) => {
                    journal.extend(outcome.journal);
                    refused.extend(outcome.refused);
                    if outcome.unsupported {
                        unsupported.push(k.name);
                    }
                }
                Err(e) => warnings.push(format!("{NOT_SHOWN} for the {} CRs: {e}", k.name)),
            }
        }
        warnings.extend(grouped("`sync_error` not set on", refused));
        if !unsupported.is_empty() {
            warnings.push(format!(
                "{NOT_SHOWN}: HNP at {} sends no `sync_error` field for {} (an HNP from before the field)",
                self.api_root,
                unsupported.join(", ")
            ));
        }
        warnings.extend(self.post_journal(fabric, statuses, journal).await);
        warnings
    }

    /// `publish_status` for the CRs of one kind (`(kind, endpoint, model)`).
    async fn publish_kind(
        &self,
        fabric_id: u64,
        (kind, endpoint, model): (&'static str, &'static str, &'static str),
        statuses: &Statuses<'_>,
    ) -> Result<KindStatus, NetBoxError> {
        let mut outcome = KindStatus::default();
        let named = statuses.named(kind);
        if named.is_empty() && !statuses.rest_in_sync {
            return Ok(outcome);
        }
        let missing = {
            let known = lock(&self.known);
            named.iter().any(|w| !known.contains_key(&key(fabric_id, kind, &w.resource.namespace, &w.resource.name)))
        };
        if missing {
            // A CR the sync's reads did not cache (created meanwhile, or gone: then skipped).
            self.refresh(fabric_id, kind, endpoint).await?;
        }
        let mut writes = Vec::new();
        {
            let known = lock(&self.known);
            for (key, row) in known.iter().filter(|(key, _)| key.fabric == fabric_id && key.kind == kind) {
                let Some(after) = statuses.wanted(&(kind.to_owned(), key.namespace.clone(), key.name.clone())) else {
                    continue;
                };
                match &row.sync_error {
                    None => outcome.unsupported |= !after.is_empty(),
                    Some(before) if before != after => writes.push(StatusWrite {
                        key: key.clone(),
                        id: row.id,
                        before: before.clone(),
                        after: after.to_owned(),
                    }),
                    Some(_) => {}
                }
            }
        }
        if writes.is_empty() {
            return Ok(outcome);
        }
        writes.sort_by(|a, b| (&a.key.namespace, &a.key.name).cmp(&(&b.key.namespace, &b.key.name)));
        let items = writes
            .iter()
            .enumerate()
            .map(|(i, w)| Item { change: i, id: Some(w.id), body: json!({ "id": w.id, "sync_error": w.after }) })
            .collect();
        let bulk = self.bulk(Method::PATCH, endpoint, items).await?;
        outcome.refused.extend(bulk.refused.into_iter().map(|(i, why)| (describe(&writes[i].reference()), why)));
        // NetBox skips ids it no longer has: CRs deleted since the sync read them.
        let answered = ids(&bulk.objects);
        let done: HashSet<usize> = bulk
            .done
            .into_iter()
            .filter(|(_, id)| id.is_some_and(|id| answered.contains(&id)))
            .map(|(i, _)| i)
            .collect();
        let mut known = lock(&self.known);
        for (_, write) in writes.into_iter().enumerate().filter(|(i, _)| done.contains(i)) {
            if let Some(row) = known.get_mut(&write.key) {
                row.sync_error = Some(write.after.clone());
            }
            if let Some(journal) = status::journal_for(&write.before, &write.after) {
                outcome.journal.push((write, model, journal));
            }
        }
        Ok(outcome)
    }

    /// Posts the journal entries of `publish_status` in one bulk POST; warnings for those
    /// NetBox refused.
    async fn post_journal(
        &self,
        fabric: &str,
        statuses: &Statuses<'_>,
        entries: Vec<(StatusWrite, &'static str, JournalKind)>,
    ) -> Vec<String> {
        let mut items = Vec::new();
        for (i, (write, model, journal)) in entries.iter().enumerate() {
            let comments = match journal {
                JournalKind::Warning => {
                    let reference = write.reference();
                    let Some(conflict) = statuses.conflict(&reference.key()) else { continue };
                    status::conflict_entry(conflict, fabric)
                }
                JournalKind::Success => status::resolved_entry(&write.before, statuses.commit),
            };
            let body = json!({
                "assigned_object_type": format!("netbox_hedgehog.{model}"),
                "assigned_object_id": write.id,
                "kind": journal.as_str(),
                "comments": comments,
            });
            items.push(Item { change: i, id: None, body });
        }
        if items.is_empty() {
            return Vec::new();
        }
        let url = format!("{}{JOURNAL_PATH}", self.api_root.strip_suffix(API_PATH).unwrap_or(&self.api_root));
        let what = "journal entry (not tried again for this conflict) not posted for";
        let refused = match self.bulk_to(Method::POST, url, items).await {
            Ok(bulk) => bulk.refused,
            Err(e) => (0..entries.len()).map(|i| (i, e.to_string())).collect(),
        };
        grouped(what, refused.into_iter().map(|(i, why)| (describe(&entries[i].0.reference()), why)).collect())
    }
}

/// One warning per reason, naming the CRs it applies to (at most `MAX_LISTED_FAILURES`).
fn grouped(what: &str, failures: Vec<(String, String)>) -> Vec<String> {
    let mut by_reason: Vec<(String, Vec<String>)> = Vec::new();
    for (cr, why) in failures {
        match by_reason.iter_mut().find(|(reason, _)| *reason == why) {
            Some((_, crs)) => crs.push(cr),
            None => by_reason.push((why, vec![cr])),
        }
    }
    by_reason
        .into_iter()
        .map(|(why, crs)| {
            let mut named = crs.iter().take(MAX_LISTED_FAILURES).cloned().collect::<Vec<_>>().join(", ");
            if crs.len() > MAX_LISTED_FAILURES {
                named.push_str(&format!(" and {} more", crs.len() - MAX_LISTED_FAILURES));
            }
            format!("{NOT_SHOWN}: {what} {named}: {why}")
        })
        .collect()
}

/// A row's `sync_error`: `None` when the row has no such field, `""` for null.
fn sync_error(object: &Value) -> Option<String> {
    match object.get("sync_error")? {
        Value::String(text) => Some(text.clone()),
        Value::Null => Some(String::new()),
        other => Some(other.to_string()),
    }
}

impl CrSource for NetBoxSource {
    fn list<'a>(&'a self, fabric: &'a str) -> BoxFuture<'a, Result<Vec<CustomResource>, String>> {
        Box::pin(async move { self.list_resources(fabric).await.map_err(|e| e.to_string()) })
    }

    fn get<'a>(
        &'a self,
        fabric: &'a str,
        reference: &'a ResourceRef,
    ) -> BoxFuture<'a, Result<Option<CustomResource>, String>> {
        Box::pin(async move { self.get_resource(fabric, reference).await.map_err(|e| e.to_string()) })
    }

    fn apply<'a>(
        &'a self,
        fabric: &'a str,
        changes: &'a [HnpChange],
    ) -> BoxFuture<'a, Result<Vec<Option<String>>, String>> {
        Box::pin(async move { self.apply_changes(fabric, changes).await.map_err(|e| e.to_string()) })
    }

    fn record<'a>(&'a self, fabric: &'a str, synced: &'a [Synced]) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move { self.record_synced(fabric, synced).await.map_err(|e| e.to_string()) })
    }

    fn publish<'a>(
        &'a self,
        fabric: &'a str,
        covered: &'a Selection,
        report: &'a SyncReport,
    ) -> BoxFuture<'a, Vec<String>> {
        Box::pin(async move { self.publish_status(fabric, &status::statuses(covered, report)).await })
    }
}

/// Scheme, host and port: what a `next` link must keep.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Origin {
    tls: bool,
    host: String,
    port: u16,
}

impl Origin {
    fn of(uri: &Uri) -> Option<Origin> {
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return None,
        };
        let authority = uri.authority()?;
        let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
        Some(Origin { tls, host: authority.host().to_ascii_lowercase(), port })
    }
}

/// The kind as the table spells it, and its endpoint.
fn kind_of(kind: &str) -> Result<(&'static str, &'static str), NetBoxError> {
    let info = KINDS.iter().find(|k| k.name == kind).ok_or_else(|| NetBoxError::UnknownKind(kind.to_owned()))?;
    Ok((info.name, info.netbox_endpoint))
}

fn key(fabric: u64, kind: &'static str, namespace: &str, name: &str) -> Key {
    Key { fabric, kind, namespace: namespace_or_default(namespace).to_owned(), name: name.to_owned() }
}

/// One object of a bulk write: whose it is (an index into the caller's list), the row's id
/// (none for a create), and what is sent for it.
struct Item {
    change: usize,
    id: Option<u64>,
    body: Value,
}

/// What a bulk write came to: the objects NetBox answered with (POST and PATCH), the items
/// written (`change`, `id`), and the refused ones with why.
#[derive(Default)]
struct Bulk {
    objects: Vec<Value>,
    done: Vec<(usize, Option<u64>)>,
    refused: Vec<(usize, String)>,
}

/// What one change of a pull writes, once checked against the row HNP holds now.
enum Write {
    /// Nothing left to do: an update of no field, a delete of a row already gone.
    Nothing,
    Create(Value),
    Update(u64, Value),
    Delete(u64),
}

/// Checks a change against `current` (the row now, from a listing made just before) and
/// builds what to send. `Err`: refused, and why.
fn prepare(fabric_id: u64, change: &HnpChange, current: Option<&Row>) -> Result<Write, String> {
    let cr = &change.resource;
    match change.op {
        HnpOp::Create => {
            if current.is_some() {
                return Err(ALREADY_EXISTS.into());
            }
            let namespace = namespace_or_default(&cr.namespace);
            let mut body = json!({ "fabric": fabric_id, "name": cr.name, "namespace": namespace });
            for field in WRITABLE {
                body[field] = json_field(cr, field)?;
            }
            Ok(Write::Create(body))
        }
        HnpOp::Update => {
            let row = current.ok_or(GONE)?;
            let expected = change.expected.as_ref().ok_or("an update without the CR it was decided on (`expected`)")?;
            if !same_data(&row.resource, expected) {
                return Err(CHANGED.into());
            }
            if change.fields.is_empty() {
                return Ok(Write::Nothing);
            }
            let id = row.known.id;
            let mut body = json!({ "id": id });
            for field in &change.fields {
                if !WRITABLE.contains(&field.as_str()) {
                    return Err(format!("`{field}` is not a field a pull writes ({})", WRITABLE.join(", ")));
                }
                body[field.as_str()] = json_field(cr, field)?;
            }
            Ok(Write::Update(id, body))
        }
        HnpOp::Delete => {
            // Deleted meanwhile by someone else: what the change wanted.
            let Some(row) = current else { return Ok(Write::Nothing) };
            // `resource` is HNP's CR as read, too; `expected` says so explicitly.
            if !same_data(&row.resource, change.expected.as_ref().unwrap_or(cr)) {
                return Err(CHANGED.into());
            }
            Ok(Write::Delete(row.known.id))
        }
    }
}

/// Whether two CRs hold the same spec, labels and annotations, compared as JSON values: key
/// order and spacing do not count (PostgreSQL's `jsonb` keeps neither).
fn same_data(a: &CustomResource, b: &CustomResource) -> bool {
    let value = |text: &str| serde_json::from_str::<Value>(text).ok();
    [(&a.spec, &b.spec), (&a.labels, &b.labels), (&a.annotations, &b.annotations)].into_iter().all(|(x, y)| {
        match (value(x), value(y)) {
            (Some(x), Some(y)) => x == y,
            _ => x == y,
        }
    })
}

/// One of a CR's JSON fields as the value NetBox takes.
fn json_field(cr: &CustomResource, field: &str) -> Result<Value, String> {
    let text = match field {
        "spec" => &cr.spec,
        "labels" => &cr.labels,
        _ => &cr.annotations,
    };
    serde_json::from_str(text).map_err(|e| format!("`{field}` is not JSON: {e}"))
}

/// The ids of the objects a bulk write answered with.
fn ids(objects: &[Value]) -> HashSet<u64> {
    objects.iter().filter_map(|object| object.get("id").and_then(Value::as_u64)).collect()
}

/// `Kind namespace/name`.
fn describe(reference: &ResourceRef) -> String {
    format!("{} {}/{}", reference.kind, namespace_or_default(&reference.namespace), reference.name)
}

/// Why each item of a refused bulk write was refused, aligned with `batch`; `None` when the
/// body names no item. A bulk create answers a list aligned with the request (`{}` for a good
/// item, field errors for a bad one); newer NetBox versions answer
/// `{"detail", "errors": [{"index" or "id", "errors"}]}`; older ones stop a bulk update at the
/// first bad object and answer its field errors alone, which name no item.
fn item_errors(body: &[u8], batch: &[Item]) -> Option<Vec<Option<String>>> {
    let mut errors = vec![None; batch.len()];
    match serde_json::from_slice::<Value>(body).ok()? {
        Value::Array(list) if list.len() == batch.len() => {
            for (slot, error) in errors.iter_mut().zip(&list) {
                if !matches!(error, Value::Object(map) if map.is_empty()) {
                    *slot = Some(reasons(error));
                }
            }
        }
        Value::Object(map) => {
            for entry in map.get("errors")?.as_array()? {
                let index = entry.get("index").and_then(Value::as_u64);
                let position = match (index, entry.get("id").and_then(Value::as_u64)) {
                    (Some(index), _) => usize::try_from(index).ok().filter(|&i| i < batch.len()),
                    (None, Some(id)) => batch.iter().position(|item| item.id == Some(id)),
                    (None, None) => None,
                };
                if let Some(position) = position {
                    errors[position] = Some(reasons(entry.get("errors").unwrap_or(&Value::Null)));
                }
            }
        }
        _ => return None,
    }
    errors.iter().any(Option::is_some).then_some(errors)
}

/// An error body of field errors (`{"field": ["message"]}`, no `detail`), as `field: message`.
fn field_errors(body: &[u8]) -> Option<String> {
    match serde_json::from_slice::<Value>(body).ok()? {
        errors @ Value::Object(_) if errors.get("detail").is_none() => Some(reasons(&errors)),
        _ => None,
    }
}

/// NetBox's errors for one object as `field: message`, several joined with `; `.
fn reasons(errors: &Value) -> String {
    fn messages(value: &Value) -> String {
        match value {
            Value::String(text) => text.clone(),
            Value::Array(items) => items.iter().map(messages).collect::<Vec<_>>().join(" "),
            other => other.to_string(),
        }
    }
    match errors {
        Value::Object(map) if !map.is_empty() => {
            map.iter().map(|(field, value)| format!("{field}: {}", messages(value))).collect::<Vec<_>>().join("; ")
        }
        other => messages(other),
    }
}

/// A non-2xx answer as an error naming method, URL, status and NetBox's `detail`.
fn status_error(method: Method, url: &str, status: StatusCode, body: &[u8]) -> NetBoxError {
    let (url, detail) = (url.to_owned(), detail(body));
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => NetBoxError::TokenRefused { method, url, status, detail },
        _ => NetBoxError::Status { method, url, status, detail },
    }
}

/// One listing: consistent, or changed while paging (with what showed it).
enum Listing {
    Consistent(Vec<Value>),
    Changed { first: u64, later: u64, received: u64 },
}

/// What is wrong with a row, before the endpoint's URL is known.
struct RowError {
    id: Option<u64>,
    name: Option<String>,
    field: &'static str,
    message: String,
}

impl RowError {
    fn of(object: &Value, field: &'static str, message: impl Into<String>) -> RowError {
        RowError {
            id: object.get("id").and_then(Value::as_u64),
            name: object.get("name").and_then(Value::as_str).map(str::to_owned),
            field,
            message: message.into(),
        }
    }

    fn at(self, url: &str) -> NetBoxError {
        let RowError { id, name, field, message } = self;
        NetBoxError::MalformedRow { url: url.to_owned(), id, name, field, message }
    }
}

/// The row's `id` and the `id` of its `fabric` (a primary key, or a nested `{id, ...}`
/// object). A row without them cannot be placed: an error, never skipped.
fn identity(object: &Value) -> Result<(u64, u64), RowError> {
    if !object.is_object() {
        return Err(RowError::of(object, "id", format!("is missing: the row is {object}, not an object")));
    }
    let id = match object.get("id") {
        Some(id) => id.as_u64().ok_or_else(|| RowError::of(object, "id", format!("is {id}, not an integer")))?,
        None => return Err(RowError::of(object, "id", "is missing")),
    };
    let fabric_id =
        |v: &Value| v.as_u64().ok_or_else(|| RowError::of(object, "fabric", format!("is {v}, not a fabric id")));
    let fabric = match object.get("fabric") {
        None => return Err(RowError::of(object, "fabric", "is missing")),
        Some(Value::Null) => return Err(RowError::of(object, "fabric", "is null: the row belongs to no fabric")),
        Some(Value::Object(nested)) => match nested.get("id") {
            Some(value) => fabric_id(value)?,
            None => return Err(RowError::of(object, "fabric", "is an object without `id`")),
        },
        Some(other) => fabric_id(other)?,
    };
    Ok((id, fabric))
}

/// Maps a CR object of the fabric to a row. JSON fields go back to JSON text unchanged
/// (null -> `{}`); a spec that is not an object passes through for the guest to reject
/// (it reports the CR as invalid, naming the field, and leaves its file alone).
fn row(fabric: u64, kind: &'static str, id: u64, object: &Value) -> Result<Row, RowError> {
    let name = match object.get("name") {
        Some(Value::String(name)) if !name.is_empty() => name.clone(),
        Some(other) => return Err(RowError::of(object, "name", format!("is {other}, not a name"))),
        None => return Err(RowError::of(object, "name", "is missing")),
    };
    let text = |field: &'static str| -> Result<String, RowError> {
        match object.get(field) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(RowError::of(object, field, format!("is {other}, not a string"))),
        }
    };
    let json = |field: &str| match object.get(field) {
        None | Some(Value::Null) => "{}".to_owned(),
        Some(value) => value.to_string(),
    };
    // Every HNP CR has a spec; a row without the field is not one NetBox would send.
    if object.get("spec").is_none() {
        return Err(RowError::of(object, "spec", "is missing"));
    }
    let namespace = text("namespace")?;
    let git_file_path = text("git_file_path")?;
    Ok(Row {
        key: key(fabric, kind, &namespace, &name),
        known: Known { id, git_file_path, sync_error: sync_error(object) },
        resource: CustomResource {
            kind: kind.to_owned(),
            api_version: None,
            name,
            namespace,
            labels: json("labels"),
            annotations: json("annotations"),
            spec: json("spec"),
        },
    })
}

fn malformed(url: &str, message: String) -> NetBoxError {
    NetBoxError::Malformed { url: url.to_owned(), message }
}

/// A JSON parse error, with the start of the body when it is clearly not JSON (an HTML
/// login page from a wrong base URL, say).
fn json_error(error: &serde_json::Error, body: &[u8]) -> String {
    let start = String::from_utf8_lossy(&body[..body.len().min(60)]).replace(['\n', '\r'], " ");
    if error.is_eof() || start.trim_start().starts_with(['{', '[']) {
        format!("{error}")
    } else {
        format!("{error}; the body starts with {start:?} (is the base URL right?)")
    }
}

/// NetBox's `detail` message from an error body; else the body itself (field errors of a
/// 400, the text of Django's HTML error page), shortened.
fn detail(body: &[u8]) -> String {
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) if map.get("detail").is_some_and(Value::is_string) => {
            return map["detail"].as_str().unwrap_or_default().to_owned();
        }
        Ok(value) => value.to_string(),
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = if text.trim_start().starts_with('<') { strip_tags(&text) } else { text.into_owned() };
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        }
    };
    match text.char_indices().nth(MAX_DETAIL) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

fn strip_tags(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The guarded maps are caches: data from a panicked holder is still usable.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
