//! `/ui`: a page where operators see every fabric's state and settle conflicts without a
//! terminal. Served beside `/metrics` (`Surface::ui`) and only with an operator token
//! (`--ui-token-env`); otherwise every `/ui` path answers 404.
//!
//! 1. `GET /ui` without a session shows the login form; `POST /ui/login` with a name and the
//!    token (compared in constant time) opens a session: a random 256-bit id in an
//!    `HttpOnly; SameSite=Strict; Path=/ui` cookie, kept in memory (`Sessions`, bounded,
//!    expiring after `SESSION_TTL`) with a random CSRF token of its own.
//! 2. `GET /ui` with a session renders, server-side (`render_page`): every fabric's last sync,
//!    queue and last error; every open conflict with both blob SHAs, a side-by-side diff (Git
//!    vs HNP) and two buttons pinned to the Git blob shown; invalid CRs; refused pull changes.
//!    The conflicts are the full ones of the last syncs' reports (`metrics::FabricCounters`).
//! 3. `POST /ui/resolve` (and `/ui/logout`) needs the session cookie and the session's CSRF
//!    token, and a present `Origin` must be this server: else 403 and nothing is done. A
//!    resolution is queued to the fabric's worker (`worker::ResolveRequest`), which syncs that
//!    one CR with it; the answer is a 303 to `/ui` with a flash message saying what became of
//!    it. The pin makes a stale page harmless: when Git changed again, the engine reports the
//!    conflict again with the new blob, writes nothing, and the page shows the new version.
//!
//! Git's content is written by anyone with push access: everything shown is HTML-escaped, with
//! control characters and bidirectional overrides shown escaped, and long texts cut. The page
//! loads nothing else (inline CSS allowed by its hash, no script) and may not be framed.

mod page;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use http::{Method, Request, StatusCode};
use hyper::body::Incoming;
use sha2::{Digest, Sha256};
use tokio::sync::{oneshot, Semaphore};

use self::page::{css_hash, login_page, message_page, render_page, Page};
use super::http::{not_allowed, read_body, reply, text, App, BodyError, Reply, Secret};
use super::worker::{expect_name, side_name, ResolveRequest, Settled};
use crate::report::escape_controls;
use crate::wit::{GitVersion, Side};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "fgd_sync_session";
/// How long a session lasts from login.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Sessions held at once; a login beyond it ends the one closest to expiring.
pub const MAX_SESSIONS: usize = 64;
/// Largest form body (a resolution is a few hundred bytes).
pub const MAX_FORM_BYTES: usize = 16 * 1024;
/// Shortest operator token accepted at start: it is the one secret between the network and
/// the buttons.
pub const MIN_TOKEN_CHARS: usize = 16;
/// Longest login name (it goes into the log with every action).
const MAX_NAME_CHARS: usize = 64;
/// How long a resolution's POST waits for the worker before answering "queued".
const WAIT_FOR_WORKER: Duration = Duration::from_secs(20);

/// The operator token and the open sessions.
pub struct Ui {
    token: Secret,
    sessions: Sessions,
    failed_logins: LoginThrottle,
}

impl Ui {
    pub fn new(token: Secret) -> Ui {
        Ui { token, sessions: Sessions::default(), failed_logins: LoginThrottle::default() }
    }
}

/// Failed logins allowed per `LOGIN_WINDOW`, for the whole service; past them every login is
/// refused (429) until the window has moved on, so guessing the token is capped at a handful of
/// tries a minute whoever sends them. (The price: a flood of bad logins also keeps operators
/// out for that long; `fgd-sync resolve` still works.)
pub const MAX_FAILED_LOGINS: usize = 10;
pub const LOGIN_WINDOW: Duration = Duration::from_secs(60);

/// The recent failed logins.
#[derive(Debug, Default)]
pub struct LoginThrottle(Mutex<std::collections::VecDeque<Instant>>);

impl LoginThrottle {
    /// Whether a login may be tried at `now`.
    pub fn allows(&self, now: Instant) -> bool {
        let mut failures = self.0.lock().unwrap_or_else(|p| p.into_inner());
        while failures.front().is_some_and(|at| now.duration_since(*at) >= LOGIN_WINDOW) {
            failures.pop_front();
        }
        failures.len() < MAX_FAILED_LOGINS
    }

    pub fn failed(&self, now: Instant) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push_back(now);
    }
}

/// One logged-in operator.
#[derive(Clone, Debug)]
struct Session {
    name: String,
    csrf: String,
    expires: Instant,
    /// Said once on the next page (what became of the last action).
    flash: Option<String>,
}

/// Open sessions, in memory, keyed by the SHA-256 of their id (a lookup never compares the
/// secret itself).
#[derive(Default)]
pub struct Sessions {
    open: Mutex<BTreeMap<[u8; 32], Session>>,
}

impl Sessions {
    /// Opens a session for `name`; its id (for the cookie). Expired sessions go first; when
    /// `MAX_SESSIONS` remain, the one closest to expiring ends.
    fn open(&self, name: &str, now: Instant) -> Result<String, String> {
        let id = random_hex()?;
        let session = Session { name: name.to_owned(), csrf: random_hex()?, expires: now + SESSION_TTL, flash: None };
        let mut open = self.lock();
        open.retain(|_, s| s.expires > now);
        while open.len() >= MAX_SESSIONS {
            let Some(first) = open.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| *k) else { break };
            open.remove(&first);
        }
        open.insert(digest(id.as_bytes()), session);
        Ok(id)
    }

    /// The live session with this id.
    fn get(&self, id: &str, now: Instant) -> Option<Session> {
        let mut open = self.lock();
        let key = digest(id.as_bytes());
        match open.get(&key) {
            Some(s) if s.expires > now => Some(s.clone()),
            Some(_) => {
                open.remove(&key);
                None
            }
            None => None,
        }
    }

    /// The session's flash message, once.
    fn take_flash(&self, id: &str) -> Option<String> {
        self.lock().get_mut(&digest(id.as_bytes())).and_then(|s| s.flash.take())
    }

    fn set_flash(&self, id: &str, flash: String) {
        if let Some(s) = self.lock().get_mut(&digest(id.as_bytes())) {
            s.flash = Some(flash);
        }
    }

    fn close(&self, id: &str) {
        self.lock().remove(&digest(id.as_bytes()));
    }

    fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<[u8; 32], Session>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Equal secrets, in time that depends on neither (both are hashed first, so not even on
/// their lengths).
pub fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    let (a, b) = (digest(given), digest(expected));
    a.iter().zip(&b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 256 random bits from the operating system, as 64 hex digits.
fn random_hex() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    rustls::crypto::ring::default_provider()
        .secure_random
        .fill(&mut bytes)
        .map_err(|_| "the operating system gave no random bytes".to_owned())?;
    Ok(bytes.iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    }))
}

/// Answers every `/ui` path on a surface that serves the page.
pub async fn handle(app: &App, ui: &Ui, slow_reads: &Arc<Semaphore>, request: Request<Incoming>) -> Reply {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    match (path.as_str(), method) {
        ("/ui", Method::GET | Method::HEAD) => page(app, ui, request.headers()),
        ("/ui", _) => not_allowed("GET, HEAD"),
        ("/ui/login" | "/ui/logout" | "/ui/resolve", Method::POST) => {
            let (parts, body) = request.into_parts();
            if let Err(why) = same_origin(&parts.headers) {
                tracing::warn!(path, reason = %why, "ui: refused a cross-origin POST");
                return html_reply(StatusCode::FORBIDDEN, message_page("Refused", &why));
            }
            let form = match read_form(&parts.headers, body, slow_reads).await {
                Ok(form) => form,
                Err(reply) => return reply,
            };
            match path.as_str() {
                "/ui/login" => login(ui, &parts.headers, &form),
                "/ui/logout" => match checked_session(ui, &parts.headers, &form) {
                    Ok((id, session)) => {
                        ui.sessions.close(&id);
                        tracing::info!(who = %session.name, "ui: logged out");
                        let mut reply = see_other();
                        set_cookie(
                            &mut reply,
                            &format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/ui; Max-Age=0"),
                        );
                        reply
                    }
                    Err(why) => refused("logout", why),
                },
                _ => match checked_session(ui, &parts.headers, &form) {
                    Ok((id, session)) => resolve(app, ui, &id, &session, &form).await,
                    Err(why) => refused("resolve", why),
                },
            }
        }
        ("/ui/login" | "/ui/logout" | "/ui/resolve", _) => not_allowed("POST"),
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// The dashboard with a session, else the login form.
fn page(app: &App, ui: &Ui, headers: &HeaderMap) -> Reply {
    let now = Instant::now();
    let Some((id, session)) = session_id(headers).and_then(|id| ui.sessions.get(&id, now).map(|s| (id, s))) else {
        return html_reply(StatusCode::OK, login_page(None));
    };
    let flash = ui.sessions.take_flash(&id);
    let counters = app.metrics.snapshot(&app.queue_depths());
    let resolutions = app.queues.iter().map(|(f, q)| (f.clone(), q.resolutions())).collect();
    let page = Page {
        who: &session.name,
        csrf: &session.csrf,
        flash: flash.as_deref(),
        counters: &counters,
        resolutions: &resolutions,
        now: epoch_now(),
    };
    html_reply(StatusCode::OK, render_page(&page))
}

fn login(ui: &Ui, headers: &HeaderMap, form: &Form) -> Reply {
    let name = form.get("name").unwrap_or_default().trim();
    let token = form.get("token").unwrap_or_default().trim();
    let now = Instant::now();
    if !ui.failed_logins.allows(now) {
        tracing::warn!(who = %name, "ui: login refused: too many failed logins");
        let why = "Too many failed logins in the last minute; try again later.";
        return html_reply(StatusCode::TOO_MANY_REQUESTS, login_page(Some(why)));
    }
    // The token is compared whatever the name, so a bad name takes as long as a bad token.
    let token_ok = same_secret(token.as_bytes(), &ui.token.0);
    if let Err(why) = check_name(name) {
        tracing::warn!("ui: login refused: {why}");
        return html_reply(StatusCode::UNAUTHORIZED, login_page(Some(&why)));
    }
    if !token_ok {
        ui.failed_logins.failed(now);
        tracing::warn!(who = %name, "ui: login refused: wrong operator token");
        return html_reply(StatusCode::UNAUTHORIZED, login_page(Some("Wrong operator token.")));
    }
    let id = match ui.sessions.open(name, Instant::now()) {
        Ok(id) => id,
        Err(e) => return html_reply(StatusCode::INTERNAL_SERVER_ERROR, message_page("No session", &e)),
    };
    ui.sessions.set_flash(&id, format!("Logged in as {name}."));
    tracing::info!(who = %name, sessions = ui.sessions.len(), "ui: logged in");
    let secure = headers.get("x-forwarded-proto").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let mut reply = see_other();
    let max_age = SESSION_TTL.as_secs();
    let secure = if secure { "; Secure" } else { "" };
    set_cookie(
        &mut reply,
        &format!("{SESSION_COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/ui; Max-Age={max_age}{secure}"),
    );
    reply
}

/// A login name: what the log names with every action.
fn check_name(name: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_alphanumeric() || " .-_@".contains(c);
    match name.chars().count() {
        0 => Err("Field name: give your name (it is logged with every action).".into()),
        n if n > MAX_NAME_CHARS => Err(format!("Field name: at most {MAX_NAME_CHARS} characters.")),
        _ if !name.chars().all(allowed) => Err("Field name: letters, digits, spaces and . - _ @ only.".into()),
        _ => Ok(()),
    }
}

/// The session of an action POST, checked: the cookie names a live session and the form
/// carries that session's CSRF token. Else why not (the caller answers 403).
fn checked_session(ui: &Ui, headers: &HeaderMap, form: &Form) -> Result<(String, Session), &'static str> {
    let Some((id, session)) = session_id(headers).and_then(|id| ui.sessions.get(&id, Instant::now()).map(|s| (id, s)))
    else {
        return Err("no session: log in again");
    };
    match form.get("csrf") {
        None => Err("the form carries no CSRF token"),
        Some(given) if !same_secret(given.as_bytes(), session.csrf.as_bytes()) => {
            Err("the form's CSRF token is not this session's")
        }
        Some(_) => Ok((id, session)),
    }
}

/// 403 for an action without a valid session or CSRF token; logged, nothing done.
fn refused(action: &str, why: &str) -> Reply {
    tracing::warn!(action, reason = why, "ui: refused an action");
    html_reply(StatusCode::FORBIDDEN, message_page("Refused", why))
}

/// A resolution from the page: checked, queued to the fabric's worker, and answered with
/// what became of it (or "queued", when the worker is busy longer than `WAIT_FOR_WORKER`).
async fn resolve(app: &App, ui: &Ui, id: &str, session: &Session, form: &Form) -> Reply {
    let request = match resolution(|fabric| app.queues.contains_key(fabric), form) {
        Ok(request) => request,
        Err(why) => return html_reply(StatusCode::BAD_REQUEST, message_page("Bad request", &why)),
    };
    let Resolve { fabric, path, take, expect } = request;
    let (side, expected) = (side_name(take), expect_name(&expect).to_owned());
    let counters = app.metrics.snapshot(&BTreeMap::new());
    let open = counters.fabrics.get(&fabric).and_then(|f| f.conflicts.get(&path));
    let Some(conflict) = open else {
        ui.sessions.set_flash(id, format!("{path} is not in conflict any more in fabric {fabric}: nothing to do."));
        return see_other();
    };
    tracing::info!(who = %session.name, fabric, path, side, expect = %expected, "ui: resolution asked for");
    let Some(queue) = app.queues.get(&fabric) else { return see_other() };
    let (done, answer) = oneshot::channel();
    let asked = ResolveRequest {
        path: path.clone(),
        reference: conflict.resource.clone(),
        take,
        expect,
        who: session.name.clone(),
        done: Some(done),
    };
    if !queue.ask_resolve(asked) {
        ui.sessions
            .set_flash(id, format!("Too many resolutions wait for fabric {fabric}; nothing queued. Try again later."));
        return see_other();
    }
    let flash = match tokio::time::timeout(WAIT_FOR_WORKER, answer).await {
        Ok(Ok(settled)) => flash(&settled, &path, take),
        Ok(Err(_)) => format!("The resolution of {path} was not run (the service is stopping)."),
        Err(_) => format!("Queued: take {side} for {path}; the fabric's worker is busy. Reload in a moment."),
    };
    ui.sessions.set_flash(id, flash);
    see_other()
}

/// A resolution's fields, checked.
#[derive(Debug, PartialEq)]
struct Resolve {
    fabric: String,
    path: String,
    take: Side,
    expect: GitVersion,
}

/// Reads the fields of a resolution; errors name the field.
fn resolution(served: impl Fn(&str) -> bool, form: &Form) -> Result<Resolve, String> {
    let field = |name: &str| form.get(name).ok_or_else(|| format!("field {name}: missing"));
    let fabric = field("fabric")?;
    if !served(fabric) {
        return Err(format!("field fabric: {fabric:?} is not a fabric this service syncs"));
    }
    let path = field("path")?;
    if path.is_empty() || path.len() > 1024 || path.chars().any(char::is_control) {
        return Err("field path: not a repository path".into());
    }
    let take = match field("take")? {
        "git" => Side::Git,
        "hnp" => Side::Hnp,
        other => return Err(format!("field take: {other:?} is neither git nor hnp")),
    };
    let expect = parse_expect(field("expect")?).ok_or("field expect: neither `absent` nor a 40-hex blob SHA")?;
    Ok(Resolve { fabric: fabric.to_owned(), path: path.to_owned(), take, expect })
}

/// `absent` or a 40-hex blob SHA.
fn parse_expect(text: &str) -> Option<GitVersion> {
    match text {
        "absent" => Some(GitVersion::Absent),
        sha if sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Some(GitVersion::Blob(sha.to_ascii_lowercase()))
        }
        _ => None,
    }
}

/// The flash message for what became of a resolution.
fn flash(settled: &Settled, path: &str, take: Side) -> String {
    let side = match take {
        Side::Git => "Git",
        Side::Hnp => "HNP",
    };
    match settled {
        Settled::Done { commit, refused: None } => {
            let commit =
                commit.as_deref().map_or("nothing left to write".to_owned(), |c| format!("commit {}", short(c)));
            format!("Took {side} for {path}: {commit}.")
        }
        Settled::Done { refused: Some(why), .. } => {
            format!("Took {side} for {path}, but HNP refused Git's data: {why}")
        }
        Settled::Stale { now } => {
            let now = now.as_deref().map_or("no file".to_owned(), |sha| format!("blob {}", short(sha)));
            format!(
                "Not applied: Git changed {path} again after the page was shown (now {now}); nothing was written. \
                 Review the new version below."
            )
        }
        Settled::Conflict(reason) => format!("Still in conflict, nothing written: {path}: {reason}"),
        Settled::Failed(why) => format!("The sync failed, nothing was written: {why}"),
    }
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(10)]
}

/// A present `Origin` must name this server (as the client reached it: `Host`, or the
/// `X-Forwarded-Host` a proxy in front sets). A cross-site form can set neither.
fn same_origin(headers: &HeaderMap) -> Result<(), String> {
    let Some(origin) = headers.get(http::header::ORIGIN) else { return Ok(()) };
    let origin = origin.to_str().unwrap_or_default();
    let authority = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"));
    let ours = [http::header::HOST.as_str(), "x-forwarded-host"]
        .iter()
        .filter_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()))
        .any(|host| authority.is_some_and(|a| a.eq_ignore_ascii_case(host.trim())));
    match ours {
        true => Ok(()),
        false => Err(format!("the request comes from another site (Origin {})", escape_controls(origin))),
    }
}

/// The session cookie's value, if the request has one.
fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|v| v.len() == 64)
}

/// A form's fields (`application/x-www-form-urlencoded`), first value of each name.
#[derive(Debug, Default)]
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn parse(body: &[u8]) -> Option<Form> {
        let text = std::str::from_utf8(body).ok()?;
        let mut fields = Vec::new();
        for pair in text.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            fields.push((decode(name)?, decode(value)?));
        }
        Some(Form(fields))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// `+` and `%XX` decoded; `None` for a bad escape or bytes that are not UTF-8.
fn decode(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        match b {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex = tail.get(..2)?;
                bytes.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
                rest = &tail[2..];
                continue;
            }
            b => bytes.push(b),
        }
        rest = tail;
    }
    String::from_utf8(bytes).ok()
}

/// A form body under the caps of the webhook bodies (`MAX_FORM_BYTES`, slow readers).
async fn read_form(headers: &HeaderMap, body: Incoming, slow_reads: &Arc<Semaphore>) -> Result<Form, Reply> {
    let kind = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !kind.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        let why = "send the form as application/x-www-form-urlencoded";
        return Err(html_reply(StatusCode::UNSUPPORTED_MEDIA_TYPE, message_page("Bad request", why)));
    }
    let declared = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let body = match declared {
        Some(n) if n > MAX_FORM_BYTES as u64 => Err(BodyError::TooLarge),
        _ => read_body(body, declared, MAX_FORM_BYTES, slow_reads).await,
    };
    let body = body.map_err(|e| match e {
        BodyError::TooLarge => {
            let why = format!("the form is larger than {MAX_FORM_BYTES} bytes");
            html_reply(StatusCode::PAYLOAD_TOO_LARGE, message_page("Bad request", &why))
        }
        e => e.reply(),
    })?;
    Form::parse(&body).ok_or_else(|| {
        html_reply(StatusCode::BAD_REQUEST, message_page("Bad request", "the form is not URL-encoded UTF-8"))
    })
}

fn see_other() -> Reply {
    let mut reply = reply(StatusCode::SEE_OTHER, "text/plain; charset=utf-8", Bytes::from_static(b"see /ui\n"));
    reply.headers_mut().insert(LOCATION, HeaderValue::from_static("/ui"));
    reply
}

fn set_cookie(reply: &mut Reply, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        reply.headers_mut().insert(SET_COOKIE, value);
    }
}

/// An HTML answer that loads nothing else, runs no script and is never framed or cached.
fn html_reply(status: StatusCode, body: String) -> Reply {
    let mut reply = reply(status, "text/html; charset=utf-8", body.into());
    let headers = reply.headers_mut();
    let csp = format!(
        "default-src 'none'; style-src '{}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        css_hash()
    );
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        headers.insert("content-security-policy", csp);
    }
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    // `same-origin`, not `no-referrer`: under that, browsers send `Origin: null` with a form.
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    reply
}

fn epoch_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::page::*;
    use super::*;
    use crate::serve::metrics::Counters;
    use crate::serve::metrics::{FabricCounters, Outcome};
    use crate::wit::Conflict;
    use crate::wit::{ConflictKind, ResourceRef};

    fn conflict(path: &str, git: Option<&str>, hnp: Option<&str>) -> Conflict {
        Conflict {
            path: path.into(),
            kind: ConflictKind::ModifiedInGit,
            reason: "Git's file <b>carries</b> comments".into(),
            resource: ResourceRef { kind: "VPC".into(), namespace: "default".into(), name: "vpc-1".into() },
            expected_sha: Some("a".repeat(40)),
            actual_sha: Some("b".repeat(40)),
            git_content: git.map(str::to_owned),
            hnp_content: hnp.map(str::to_owned),
        }
    }

    fn page_of(fabric: FabricCounters, flash: Option<&str>) -> String {
        let counters = Counters { fabrics: [("dc1".to_owned(), fabric)].into(), ..Counters::default() };
        let resolutions = BTreeMap::from([("dc1".to_owned(), 1)]);
        let page = Page {
            who: "alice",
            csrf: "c0ffee",
            flash,
            counters: &counters,
            resolutions: &resolutions,
            now: 1e9 + 90.0,
        };
        render_page(&page)
    }

    /// Nothing from Git or HNP reaches the page as markup or as a raw control character.
    #[test]
    fn failed_logins_are_capped_per_window() {
        let throttle = LoginThrottle::default();
        let start = Instant::now();
        for i in 0..MAX_FAILED_LOGINS {
            assert!(throttle.allows(start), "try {i}");
            throttle.failed(start);
        }
        assert!(!throttle.allows(start + Duration::from_secs(59)), "the cap holds within the window");
        assert!(throttle.allows(start + LOGIN_WINDOW), "and lifts once the window has moved on");
    }

    #[test]
    fn html_escapes_markup_and_control_characters() {
        assert_eq!(html("a<b>&\"c\"'"), "a&lt;b&gt;&amp;&quot;c&quot;&#39;");
        assert_eq!(html("x\x1b[2Jy\r\u{202e}z\tt"), "x\\x1b[2Jy\\x0d\\u{202e}z\tt");
        assert_eq!(html("plain: text"), "plain: text");
    }

    #[test]
    fn hostile_git_content_is_shown_as_text() {
        let git = "name: a\n</td></table><script>alert(1)</script>\x1b]0;pwned\x07\u{202e}evil\n";
        let mut fabric = FabricCounters::default();
        let path = "d/managed/vpcs/\"><img src=x onerror=alert(2)>.yaml";
        fabric.conflicts.insert(path.into(), Arc::new(conflict(path, Some(git), Some("name: a\n"))));
        fabric.last_error = Some((1e9, "GitHub said <i>no</i>".into()));
        let page = page_of(fabric, Some("<script>flash</script>"));
        for bad in ["<script", "<img", "<i>", "\x1b", "\x07", "\u{202e}"] {
            assert!(!page.contains(bad), "{bad:?} reached the page:\n{page}");
        }
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;\\x1b]0;pwned\\x07\\u{202e}evil"), "{page}");
        assert!(page.contains("&lt;b&gt;carries&lt;/b&gt;"), "{page}");
        assert!(
            page.contains("<code>d/managed/vpcs/&quot;&gt;&lt;img src=x onerror=alert(2)&gt;.yaml</code>"),
            "{page}"
        );
        // Not the CR's own managed file: no buttons (resolve would refuse it).
        assert!(!page.contains("Take Git") && page.contains("the buttons take managed files only"), "{page}");
        assert!(!page.chars().any(|c| c.is_control() && c != '\n'), "a control character in the page");
    }

    #[test]
    fn the_page_shows_fabrics_conflicts_with_pinned_buttons_and_the_rest() {
        let mut fabric = FabricCounters { queue_depth: 3, ..FabricCounters::default() };
        fabric.last_sync = Some((1e9, Outcome::Conflicts));
        let path = "d/managed/vpcs/vpc-1.yaml";
        fabric.conflicts.insert(path.into(), Arc::new(conflict(path, Some("a\nvlan: 1\n"), Some("a\nvlan: 2\n"))));
        let page = page_of(fabric, Some("Took HNP"));
        for expected in [
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
            "<span class=\"conflicts\">conflicts</span> 2001-09-09T01:46:40Z (1 min ago)",
            "3 CRs, 1 resolutions",
            "<p class=\"flash\" role=\"status\">Took HNP</p>",
            "<dt>Base blob</dt><dd><code>aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa</code>",
            "<dt>Git blob</dt><dd><code>bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb</code>",
            "<input type=\"hidden\" name=\"expect\" value=\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\">",
            "<input type=\"hidden\" name=\"csrf\" value=\"c0ffee\">",
            "<button type=\"submit\" name=\"take\" value=\"hnp\" class=\"take\">Take HNP</button>",
            "<td class=\"del side-git\">vlan: 1</td><td class=\"add side-hnp\">vlan: 2</td>",
            "Open conflicts (1)",
            "Invalid CRs (0)",
            "Pull changes HNP refused (0)",
        ] {
            assert!(page.contains(expected), "missing {expected:?} in:\n{page}");
        }
        // No external asset, no script.
        assert!(!page.contains("src=") && !page.contains("<script") && !page.contains("<link"), "{page}");
    }

    #[test]
    fn a_page_shows_at_most_max_cards_conflicts() {
        let mut fabric = FabricCounters::default();
        for i in 0..MAX_CARDS + 7 {
            let path = format!("d/managed/vpcs/v{i:03}.yaml");
            fabric.conflicts.insert(path.clone(), Arc::new(conflict(&path, Some("a\n"), Some("b\n"))));
        }
        let page = page_of(fabric, None);
        assert_eq!(page.matches("<article class=\"conflict\">").count(), MAX_CARDS);
        assert!(page.contains(&format!("Open conflicts ({})", MAX_CARDS + 7)), "{page}");
        assert!(page.contains("… and 7 more conflicts"), "{page}");
    }

    #[test]
    fn diffs_pair_changed_runs_and_say_what_is_missing() {
        use Line::*;
        let rows = diff_rows(Some("a\nb\nc\n"), Some("a\nB\nc\nd\n"));
        assert_eq!(
            rows,
            [
                (Same("a".into()), Same("a".into())),
                (Changed("b".into()), Changed("B".into())),
                (Same("c".into()), Same("c".into())),
                (Gap, Changed("d".into())),
            ]
        );
        let rows = diff_rows(None, Some("a\n"));
        assert_eq!(rows, [(Gap, Changed("a".into())), (Note("(no file in Git, or not read)".into()), Gap)]);
    }

    #[test]
    fn huge_texts_are_cut_with_a_note() {
        let long: String = (0..5000).map(|i| format!("line {i}\n")).collect();
        let rows = diff_rows(Some(&long), Some("line 0\n"));
        assert!(rows.len() <= MAX_SHOWN_LINES + 2, "{} rows", rows.len());
        let (note, _) = rows.last().expect("rows");
        assert_eq!(note, &Line::Note(format!("… 4400 more lines not shown ({} bytes in all)", long.len())));
        let wide = "x".repeat(MAX_SHOWN_BYTES * 2);
        let (shown, cut) = cap(&wide);
        assert_eq!((shown.len(), cut.is_some()), (MAX_SHOWN_BYTES, true));
        assert_eq!(cap("short\n"), ("short\n", None));
    }

    #[test]
    fn sessions_expire_and_are_bounded() {
        let sessions = Sessions::default();
        let t0 = Instant::now();
        let id = sessions.open("alice", t0).expect("session");
        assert_eq!(id.len(), 64);
        let session = sessions.get(&id, t0).expect("open");
        assert_eq!((session.name.as_str(), session.csrf.len()), ("alice", 64));
        assert_ne!(session.csrf, id, "the CSRF token is not the session id");
        assert!(sessions.get(&"0".repeat(64), t0).is_none());
        assert!(sessions.get(&id, t0 + SESSION_TTL).is_none(), "expired");
        assert!(sessions.get(&id, t0).is_none(), "an expired session is gone");

        let first = sessions.open("first", t0).expect("session");
        for i in 0..MAX_SESSIONS + 5 {
            sessions.open(&format!("user {i}"), t0 + Duration::from_secs(1 + i as u64)).expect("session");
        }
        assert_eq!(sessions.len(), MAX_SESSIONS);
        assert!(sessions.get(&first, t0 + Duration::from_secs(1)).is_none(), "the oldest went first");
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).expect("header"));
        }
        map
    }

    #[test]
    fn actions_need_the_session_cookie_and_its_csrf_token() {
        let ui = Ui::new(Secret(b"operator-token-0123456789".to_vec()));
        let id = ui.sessions.open("alice", Instant::now()).expect("session");
        let csrf = ui.sessions.get(&id, Instant::now()).expect("session").csrf;
        let cookie = format!("other=1; {SESSION_COOKIE}={id}");
        let form = |csrf: Option<&str>| Form(csrf.map(|c| vec![("csrf".to_owned(), c.to_owned())]).unwrap_or_default());
        let check = |h: &HeaderMap, f: &Form| checked_session(&ui, h, f).map(|(_, s)| s.name);
        assert_eq!(check(&headers(&[("cookie", &cookie)]), &form(Some(&csrf))).ok(), Some("alice".into()));
        assert!(check(&headers(&[("cookie", &cookie)]), &form(None)).is_err(), "no token");
        assert!(check(&headers(&[("cookie", &cookie)]), &form(Some(&"0".repeat(64)))).is_err(), "wrong token");
        assert!(check(&headers(&[("cookie", &cookie)]), &form(Some(""))).is_err(), "empty token");
        assert!(check(&headers(&[]), &form(Some(&csrf))).is_err(), "no cookie");
        let stranger = format!("{SESSION_COOKIE}={}", "f".repeat(64));
        assert!(check(&headers(&[("cookie", &stranger)]), &form(Some(&csrf))).is_err(), "another session id");
        assert_eq!(check(&headers(&[]), &form(Some(&csrf))), Err("no session: log in again"));
        assert_eq!(refused("resolve", "no session").status(), StatusCode::FORBIDDEN);
        assert!(same_secret(b"abc", b"abc") && !same_secret(b"abc", b"abd") && !same_secret(b"", b"abc"));
    }

    #[test]
    fn a_present_origin_must_be_this_server() {
        let host = ("host", "127.0.0.1:8787");
        assert!(same_origin(&headers(&[host])).is_ok(), "no Origin: not a browser's cross-site form");
        assert!(same_origin(&headers(&[host, ("origin", "http://127.0.0.1:8787")])).is_ok());
        for other in ["http://evil.example", "null", "http://127.0.0.1:8788", "http://127.0.0.1:8787.evil"] {
            assert!(same_origin(&headers(&[host, ("origin", other)])).is_err(), "{other}");
        }
        let proxied = [host, ("x-forwarded-host", "ops.example.com"), ("origin", "https://ops.example.com")];
        assert!(same_origin(&headers(&proxied)).is_ok());
    }

    #[test]
    fn forms_and_their_fields() {
        let form = Form::parse(b"name=J%C3%BCrgen+K&token=a%2Bb&empty=&name=second").expect("form");
        assert_eq!((form.get("name"), form.get("token"), form.get("empty")), (Some("Jürgen K"), Some("a+b"), Some("")));
        assert!(
            Form::parse(b"bad=%zz").is_none() && Form::parse(b"bad=%ff").is_none() && Form::parse(b"x=%4").is_none()
        );

        let served = |f: &str| f == "dc1";
        let sha = "B".repeat(40);
        let fields = |pairs: &[(&str, &str)]| Form(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        let good = [("fabric", "dc1"), ("path", "d/managed/vpcs/a.yaml"), ("take", "hnp"), ("expect", sha.as_str())];
        assert_eq!(
            resolution(served, &fields(&good)),
            Ok(Resolve {
                fabric: "dc1".into(),
                path: "d/managed/vpcs/a.yaml".into(),
                take: Side::Hnp,
                expect: GitVersion::Blob("b".repeat(40))
            })
        );
        for (field, value, error) in [
            ("fabric", "dc9", "field fabric: \"dc9\" is not a fabric this service syncs"),
            ("path", "", "field path: not a repository path"),
            ("take", "both", "field take: \"both\" is neither git nor hnp"),
            ("expect", "abc", "field expect: neither `absent` nor a 40-hex blob SHA"),
        ] {
            let bad: Vec<(&str, &str)> =
                good.iter().map(|&(k, v)| if k == field { (k, value) } else { (k, v) }).collect();
            assert_eq!(resolution(served, &fields(&bad)), Err(error.to_owned()));
        }
        assert_eq!(resolution(served, &fields(&good[1..])), Err("field fabric: missing".to_owned()));
        let absent = [("fabric", "dc1"), ("path", "p"), ("take", "git"), ("expect", "absent")];
        assert_eq!(resolution(served, &fields(&absent)).map(|r| r.expect), Ok(GitVersion::Absent));

        assert!(check_name("Jürgen K.").is_ok());
        for bad in ["", "a\nb", "<script>", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}
