//! The HTTP surface of the stand-in: hyper on a loopback port, GitHub's gatekeeping (User-Agent,
//! token, per-token primary rate limit with its headers), injected faults, a record of every
//! exchange; the repository work itself is local-github's `handle`, run off the event loop.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use fgd_sync_local_github::{ApiRequest, LocalGitHub};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;

use super::faults::{Action, FaultState};
use super::repo::GitRepo;
use super::webhooks::Hooks;

pub(crate) const UA_REFUSAL: &str = "Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.";
const RATE_DOCS: &str = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api";
/// GitHub's limit for requests without a token, per client address.
const ANONYMOUS_LIMIT: u64 = 60;

/// One request and what the stand-in did with it.
#[derive(Clone, Debug, Default)]
pub struct Exchange {
    /// Arrival order, from 0.
    pub seq: usize,
    pub method: String,
    /// Path and query as sent: `/repos/acme/fabric/git/trees/main?recursive=1`.
    pub path: String,
    /// Names in lowercase.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// None: no answer (dropped, hung) or still in flight. With `LoseAnswer`, the answer
    /// that was made and never sent.
    pub status: Option<u16>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Vec<u8>,
    /// The injected fault, if any (`Status(502)`, `Drop`, ...).
    pub fault: Option<String>,
    /// Time the stand-in spent making the answer (git work), injected latency excluded.
    pub handling: Duration,
}

impl Exchange {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn response_header(&self, name: &str) -> Option<&str> {
        self.response_headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn request_json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
    pub fn response_json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.response_body).unwrap_or(serde_json::Value::Null)
    }
}

/// A primary rate-limit window of one token (or of anonymous callers).
#[derive(Clone, Debug)]
struct Window {
    limit: u64,
    used: u64,
    reset: u64,
    /// 403 or 429, when a fault exhausted the window.
    refuse_status: u16,
}

pub(crate) struct Shared {
    pub github: LocalGitHub,
    pub repo: GitRepo,
    pub token: String,
    pub rate_limit: u64,
    pub faults: Arc<Mutex<FaultState>>,
    pub log: Mutex<Vec<Exchange>>,
    /// The repository webhook: told after every request, since a request may move a branch.
    pub hooks: Arc<Hooks>,
    windows: Mutex<HashMap<String, Window>>,
}

impl Shared {
    pub fn new(github: LocalGitHub, repo: GitRepo, token: String, rate_limit: u64, hooks: Arc<Hooks>) -> Shared {
        Shared {
            github,
            repo,
            token,
            rate_limit,
            faults: Arc::new(Mutex::new(FaultState::default())),
            log: Mutex::new(Vec::new()),
            hooks,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Requests counted against `token`'s primary limit in its current window.
    pub fn rate_used(&self, token: &str) -> u64 {
        lock(&self.windows).get(token).map_or(0, |w| w.used)
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The request was not answered on purpose: hyper closes the connection.
#[derive(Debug)]
struct Unanswered;

impl std::fmt::Display for Unanswered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("closed without an answer (injected fault)")
    }
}

impl std::error::Error for Unanswered {}

pub(crate) async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let shared = shared.clone();
                async move {
                    let answer = handle(shared.clone(), request).await;
                    shared.hooks.poke();
                    answer
                }
            });
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

/// A finished answer before it becomes a hyper response.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn json(status: u16, body: serde_json::Value) -> Answer {
        let headers = vec![("content-type".into(), "application/json; charset=utf-8".into())];
        Answer { status, headers, body: body.to_string().into_bytes() }
    }
    fn text(status: u16, content_type: &str, body: &str) -> Answer {
        Answer { status, headers: vec![("content-type".into(), content_type.into())], body: body.as_bytes().to_vec() }
    }
}

/// The incoming request as plain data.
#[derive(Clone)]
struct Incoming {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Incoming {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

async fn handle(
    shared: Arc<Shared>,
    request: http::Request<hyper::body::Incoming>,
) -> Result<http::Response<Full<Bytes>>, Unanswered> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes().to_vec()).map_err(|_| Unanswered)?;
    let headers = parts
        .headers
        .iter()
        .map(|(n, v)| (n.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    let mut incoming = Incoming { method: parts.method.as_str().to_string(), path, headers, body };
    let seq = {
        let mut log = lock(&shared.log);
        let seq = log.len();
        log.push(Exchange {
            seq,
            method: incoming.method.clone(),
            path: incoming.path.clone(),
            headers: incoming.headers.clone(),
            body: incoming.body.clone(),
            ..Exchange::default()
        });
        seq
    };
    let (action, latency) = {
        let mut faults = lock(&shared.faults);
        (faults.decide(&incoming.method, &incoming.path), faults.faults.latency)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let handling_started = std::time::Instant::now();
    let fault = action.as_ref().map(|a| format!("{a:?}"));
    let action = match action {
        Some(Action::BeforeThen(writer, then)) => {
            let (repo, path) = (shared.repo.clone(), incoming.path.clone());
            let _ = tokio::task::spawn_blocking(move || writer(&repo, &path)).await;
            Some(*then)
        }
        other => other,
    };
    let lose_answer = matches!(action, Some(Action::LoseAnswer));
    let answer = match action {
        Some(Action::Drop) => return unanswered(&shared, seq, fault, None).await,
        Some(Action::Hang(d)) => return unanswered(&shared, seq, fault, Some(d)).await,
        Some(Action::Status(status)) => Some(server_error(status)),
        Some(Action::SecondaryLimit { status, retry_after }) => Some(secondary(status, retry_after, seq)),
        Some(Action::PrimaryLimit { status, reset_in }) => {
            exhaust(&shared, &incoming, status, reset_in);
            None
        }
        Some(Action::Before(writer)) => {
            let (repo, path) = (shared.repo.clone(), incoming.path.clone());
            let _ = tokio::task::spawn_blocking(move || writer(&repo, &path)).await;
            None
        }
        Some(Action::RuleViolation) => Some(rule_violation()),
        Some(Action::RewriteBody(rewrite)) => {
            incoming.body = rewrite(&incoming.body);
            None
        }
        // Unwrapped above; a nested one does its inner action only.
        Some(Action::BeforeThen(..)) | Some(Action::LoseAnswer) | None => None,
    };
    let mut answer = match answer {
        Some(mut a) => {
            a.headers.extend(rate_headers(&mut lock(&shared.windows), &shared, &incoming, false).1);
            a
        }
        None => {
            let (shared2, incoming2) = (shared.clone(), incoming.clone());
            tokio::task::spawn_blocking(move || respond(&shared2, &incoming2))
                .await
                .unwrap_or_else(|_| Answer::json(500, json!({"message": "stand-in: handler panicked"})))
        }
    };
    answer.headers.push(("x-github-request-id".into(), request_id(seq)));
    answer.headers.push(("x-github-api-version-selected".into(), "2022-11-28".into()));
    {
        let mut log = lock(&shared.log);
        if let Some(e) = log.get_mut(seq) {
            e.status = Some(answer.status);
            e.response_headers = answer.headers.clone();
            e.response_body = answer.body.clone();
            e.fault = fault;
            e.handling = handling_started.elapsed();
        }
    }
    if lose_answer {
        return Err(Unanswered);
    }
    let mut response = http::Response::new(Full::new(Bytes::from(answer.body)));
    *response.status_mut() =
        http::StatusCode::from_u16(answer.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in answer.headers {
        if let (Ok(n), Ok(v)) = (http::HeaderName::from_bytes(name.as_bytes()), http::HeaderValue::from_str(&value)) {
            response.headers_mut().append(n, v);
        }
    }
    Ok(response)
}

async fn unanswered(
    shared: &Shared,
    seq: usize,
    fault: Option<String>,
    hang: Option<Duration>,
) -> Result<http::Response<Full<Bytes>>, Unanswered> {
    if let Some(e) = lock(&shared.log).get_mut(seq) {
        e.fault = fault;
    }
    if let Some(d) = hang {
        tokio::time::sleep(d).await;
    }
    Err(Unanswered)
}

fn request_id(seq: usize) -> String {
    format!("F65D:{:04X}:{:06X}:{:07X}:{:08X}", seq % 0xFFFF, seq * 7 % 0xFFFFFF, seq * 13, 0x6500_0000 + seq)
}

/// GitHub's gatekeeping, then local-github. Blocking (git runs here).
fn respond(shared: &Shared, req: &Incoming) -> Answer {
    if req.header("user-agent").is_none_or(|ua| ua.trim().is_empty()) {
        let mut a = Answer::text(403, "text/plain; charset=utf-8", UA_REFUSAL);
        a.headers.extend(rate_headers(&mut lock(&shared.windows), shared, req, false).1);
        return a;
    }
    let mut windows = lock(&shared.windows);
    let given = token_of(req);
    if given.as_deref() != Some(shared.token.as_str()) {
        let message = if given.is_none() && req.header("authorization").is_none() {
            "Requires authentication"
        } else {
            "Bad credentials"
        };
        let mut a = Answer::json(
            401,
            json!({"message": message, "documentation_url": "https://docs.github.com/rest", "status": "401"}),
        );
        a.headers.extend(rate_headers(&mut windows, shared, req, true).1);
        return a;
    }
    let (exhausted, headers) = rate_headers(&mut windows, shared, req, true);
    drop(windows);
    if let Some(status) = exhausted {
        let message = "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID.";
        let mut a = Answer::json(status, json!({"message": message, "documentation_url": RATE_DOCS}));
        a.headers.extend(headers);
        return a;
    }
    let api = ApiRequest {
        method: req.method.clone(),
        path_and_query: req.path.clone(),
        headers: req.headers.clone(),
        body: req.body.clone(),
    };
    let response = shared.github.handle(&api);
    let mut kept: Vec<(String, String)> =
        response.headers.into_iter().filter(|(n, _)| !n.starts_with("x-ratelimit-")).collect();
    kept.extend(headers);
    Answer { status: response.status, headers: kept, body: response.body }
}

/// The token of `Authorization: Bearer <t>` (or `token <t>`).
fn token_of(req: &Incoming) -> Option<String> {
    let value = req.header("authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token")).then(|| token.trim().to_string())
}

/// The window this request counts against: its token's when valid, else the anonymous one.
fn window_key(shared: &Shared, req: &Incoming) -> (String, u64) {
    match token_of(req) {
        Some(t) if t == shared.token => (t, shared.rate_limit),
        _ => ("anonymous".into(), ANONYMOUS_LIMIT),
    }
}

fn window<'a>(windows: &'a mut HashMap<String, Window>, key: &str, limit: u64) -> &'a mut Window {
    let now = now();
    let w = windows.entry(key.to_string()).or_insert(Window { limit, used: 0, reset: now + 3600, refuse_status: 403 });
    if now >= w.reset {
        *w = Window { limit, used: 0, reset: now + 3600, refuse_status: 403 };
    }
    w
}

/// Counts the request (when `count`) and gives GitHub's five headers; `Some(status)` when
/// the window is used up and the request must be refused.
fn rate_headers(
    windows: &mut HashMap<String, Window>,
    shared: &Shared,
    req: &Incoming,
    count: bool,
) -> (Option<u16>, Vec<(String, String)>) {
    let (key, limit) = window_key(shared, req);
    let w = window(windows, &key, limit);
    let exhausted = (w.used >= w.limit).then_some(w.refuse_status);
    if count && exhausted.is_none() {
        w.used += 1;
    }
    let headers = vec![
        ("x-ratelimit-limit".into(), w.limit.to_string()),
        ("x-ratelimit-remaining".into(), w.limit.saturating_sub(w.used).to_string()),
        ("x-ratelimit-used".into(), w.used.to_string()),
        ("x-ratelimit-reset".into(), w.reset.to_string()),
        ("x-ratelimit-resource".into(), "core".into()),
    ];
    (exhausted, headers)
}

/// Uses up the request's window until now + `reset_in`.
fn exhaust(shared: &Shared, req: &Incoming, status: u16, reset_in: Duration) {
    let (key, limit) = window_key(shared, req);
    let mut windows = lock(&shared.windows);
    let w = window(&mut windows, &key, limit);
    w.used = w.limit;
    w.reset = now() + reset_in.as_secs().max(1);
    w.refuse_status = status;
}

/// What GitHub's front end answers for a 5xx: JSON for 500/503/504, an HTML page for 502.
fn server_error(status: u16) -> Answer {
    match status {
        502 => Answer::text(
            502,
            "text/html",
            "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>\n",
        ),
        504 => Answer::json(
            504,
            json!({"message": "We couldn't respond to your request in time. Sorry about that. Please try resubmitting your request and contact us if the problem persists."}),
        ),
        503 => Answer::json(503, json!({"message": "Service Unavailable"})),
        other => Answer::json(other, json!({"message": "Server Error"})),
    }
}

/// GitHub's answer to a ref update a ruleset refuses (`git push` shows it as GH013).
fn rule_violation() -> Answer {
    let message = "Repository rule violations found\n\nChanges must be made through a pull request.\n\n";
    let docs = "https://docs.github.com/repositories/configuring-branches-and-merges-in-your-repository/managing-rulesets/about-rulesets";
    Answer::json(422, json!({"message": message, "documentation_url": docs, "status": "422"}))
}

fn secondary(status: u16, retry_after: Option<u64>, seq: usize) -> Answer {
    let message = format!(
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID {}.",
        request_id(seq)
    );
    let docs = "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits";
    let mut a = Answer::json(status, json!({"message": message, "documentation_url": docs}));
    if let Some(secs) = retry_after {
        a.headers.push(("retry-after".into(), secs.to_string()));
    }
    a
}
