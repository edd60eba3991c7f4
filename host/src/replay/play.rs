//! Playback: the guest's imports answered from a `Script` instead of the world. `Replay` is
//! the `GuestImports` (clocks, random pool, HTTP; sleeps end at once) plus the `hnp` source;
//! `CassetteScript` plays one cassette strictly in order. The fuzzer brings its own script.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use http_body_util::BodyExt;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock};
use wasmtime_wasi_http::{ForbiddenHeaderFilter, RequestOptions, WasiBody, WasiHttpHooks};

use super::cassette::{
    Cassette, CassetteError, Event, HnpExchange, HttpAnswer, HttpRequest, HttpResponse, TransportError,
};
use super::record::{full, request_record};
use crate::net::hooks::PolicyHooks;
use crate::runtime::GuestImports;
use crate::source::{BoxFuture, CrSource, Synced};
use crate::wit::{CustomResource, HnpChange, ResourceRef};

/// Answers every import call of a guest. Called from many stores and threads, hence `&self`.
pub trait Script: Send + Sync {
    fn http(&self, request: &HttpRequest) -> HttpAnswer;
    fn list(&self, fabric: &str) -> Result<Vec<CustomResource>, String>;
    fn get(&self, fabric: &str, reference: &ResourceRef) -> Result<Option<CustomResource>, String>;
    fn apply(&self, fabric: &str, changes: &[HnpChange]) -> Result<Vec<Option<String>>, String>;
    fn record(&self, fabric: &str, synced: &[Synced]) -> Result<(), String>;
    /// Since the Unix epoch.
    fn wall_clock(&self) -> Duration;
    /// Nanoseconds.
    fn monotonic_clock(&self) -> u64;
    fn random_pool(&self) -> Vec<u8>;
}

/// The guest's world, played from a script that can be swapped between calls (the fuzzer
/// runs many scripts through one runtime).
#[derive(Clone)]
pub struct Replay {
    script: Arc<RwLock<Arc<dyn Script>>>,
}

impl std::fmt::Debug for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Replay")
    }
}

impl Replay {
    pub fn new(script: Arc<dyn Script>) -> Replay {
        Replay { script: Arc::new(RwLock::new(script)) }
    }

    /// Plays `script` from the next store on.
    pub fn set_script(&self, script: Arc<dyn Script>) {
        *self.script.write().unwrap_or_else(|p| p.into_inner()) = script;
    }

    pub fn script(&self) -> Arc<dyn Script> {
        self.script.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// For `RuntimeConfig::imports`.
    pub fn imports(&self) -> Arc<dyn GuestImports> {
        Arc::new(self.clone())
    }

    /// The `hnp` source for `CallContext::source`.
    pub fn source(&self) -> Arc<dyn CrSource> {
        Arc::new(ScriptSource(self.clone()))
    }
}

impl GuestImports for Replay {
    fn wall_clock(&self) -> Box<dyn HostWallClock + Send> {
        Box::new(ScriptClock(self.script()))
    }

    fn monotonic_clock(&self) -> Box<dyn HostMonotonicClock + Send> {
        Box::new(ScriptClock(self.script()))
    }

    fn random_pool(&self) -> Vec<u8> {
        self.script().random_pool()
    }

    fn http(&self, policy: PolicyHooks) -> Box<dyn WasiHttpHooks> {
        Box::new(ScriptHooks { policy, script: self.script() })
    }

    fn instant_sleeps(&self) -> bool {
        true
    }
}

struct ScriptClock(Arc<dyn Script>);

impl HostWallClock for ScriptClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        self.0.wall_clock()
    }
}

impl HostMonotonicClock for ScriptClock {
    fn resolution(&self) -> u64 {
        1
    }

    fn now(&self) -> u64 {
        self.0.monotonic_clock()
    }
}

type SendResult = Result<
    (http::Response<WasiBody>, Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>),
    wasmtime_wasi_http::Error,
>;

/// `wasi:http` answered by the script; header rules are the policy hooks' own, so the guest
/// sees the same `wasi:http` as in the recorded run. Nothing here opens a socket.
struct ScriptHooks {
    policy: PolicyHooks,
    script: Arc<dyn Script>,
}

impl WasiHttpHooks for ScriptHooks {
    fn is_forbidden_header(&mut self, name: &HeaderName) -> bool {
        self.policy.is_forbidden_header(name)
    }

    fn forbidden_header_filter(&mut self) -> ForbiddenHeaderFilter {
        self.policy.forbidden_header_filter()
    }

    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        let script = self.script.clone();
        Box::new(async move {
            let (parts, body) = request.into_parts();
            let body = body.collect().await?.to_bytes();
            let recorded = request_record(&parts.method, &parts.uri, &parts.headers, &body);
            match script.http(&recorded) {
                HttpAnswer::Response(response) => Ok((to_response(&response)?, Box::new(async { Ok(()) }) as Box<_>)),
                HttpAnswer::Error(error) => Err(error.to_error()),
            }
        })
    }
}

fn to_response(recorded: &HttpResponse) -> Result<http::Response<WasiBody>, wasmtime_wasi_http::Error> {
    let status = http::StatusCode::from_u16(recorded.status)
        .map_err(|_| wasmtime_wasi_http::Error::InternalError(Some(format!("cassette status {}", recorded.status))))?;
    let mut response = http::Response::new(full(Bytes::from(recorded.body.to_bytes())));
    *response.status_mut() = status;
    for (name, value) in &recorded.headers {
        // A header that cannot be sent is dropped, as a real client would never see it.
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name.as_str()), HeaderValue::from_str(value)) {
            response.headers_mut().append(n, v);
        }
    }
    Ok(response)
}

/// The script as the call's CR source.
struct ScriptSource(Replay);

impl CrSource for ScriptSource {
    fn list<'a>(&'a self, fabric: &'a str) -> BoxFuture<'a, Result<Vec<CustomResource>, String>> {
        Box::pin(async move { self.0.script().list(fabric) })
    }

    fn get<'a>(
        &'a self,
        fabric: &'a str,
        reference: &'a ResourceRef,
    ) -> BoxFuture<'a, Result<Option<CustomResource>, String>> {
        Box::pin(async move { self.0.script().get(fabric, reference) })
    }

    fn apply<'a>(
        &'a self,
        fabric: &'a str,
        changes: &'a [HnpChange],
    ) -> BoxFuture<'a, Result<Vec<Option<String>>, String>> {
        Box::pin(async move { self.0.script().apply(fabric, changes) })
    }

    fn record<'a>(&'a self, fabric: &'a str, synced: &'a [Synced]) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move { self.0.script().record(fabric, synced) })
    }
}

/// A cassette played strictly: each stream (HTTP, `hnp`, each clock) in recorded order, and
/// every call must be the one recorded next. The first difference is kept as the replay's
/// error; the guest gets a transport or source error from then on, so it stops soon.
pub struct CassetteScript {
    pool: Vec<u8>,
    state: Mutex<Streams>,
}

#[derive(Default)]
struct Streams {
    http: VecDeque<(HttpRequest, HttpAnswer)>,
    hnp: VecDeque<HnpExchange>,
    wall: VecDeque<Duration>,
    monotonic: VecDeque<u64>,
    /// Last clock readings, handed out again if the guest reads a clock more often.
    last_wall: Duration,
    last_monotonic: u64,
    /// HTTP requests the run made so far, for messages.
    http_made: usize,
    divergence: Option<String>,
}

impl CassetteScript {
    pub fn new(cassette: &Cassette) -> Result<CassetteScript, CassetteError> {
        let mut streams = Streams::default();
        for event in &cassette.events {
            match event.clone() {
                Event::Http(e) => streams.http.push_back((e.request, e.answer)),
                Event::Hnp(e) => streams.hnp.push_back(e),
                Event::WallClock { secs, nanos } => streams.wall.push_back(Duration::new(secs, nanos)),
                Event::MonotonicClock(ns) => streams.monotonic.push_back(ns),
            }
        }
        Ok(CassetteScript { pool: cassette.random_pool()?, state: Mutex::new(streams) })
    }

    /// The first difference between the run and the cassette, including recorded calls the
    /// run never made. `None`: the run made exactly the recorded calls.
    pub fn divergence(&self) -> Option<String> {
        let state = self.lock();
        if let Some(d) = &state.divergence {
            return Some(d.clone());
        }
        if let Some((request, _)) = state.http.front() {
            return Some(format!(
                "the run ended with {} recorded HTTP exchange(s) unused, the first: {}",
                state.http.len(),
                describe_request(request)
            ));
        }
        if let Some(call) = state.hnp.front() {
            let more = state.hnp.len();
            return Some(format!(
                "the run ended with {more} recorded hnp call(s) unused, the first: {}",
                call.describe_call()
            ));
        }
        None
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Streams> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Streams {
    /// Keeps the first divergence only: later ones follow from it.
    fn diverge(&mut self, message: String) -> String {
        self.divergence.get_or_insert(message).clone()
    }
}

pub fn describe_request(r: &HttpRequest) -> String {
    let body = r.body.to_bytes();
    let text = String::from_utf8_lossy(&body);
    let shown: String = text.chars().take(200).collect();
    let cut = if shown.len() < text.len() { "..." } else { "" };
    if body.is_empty() {
        format!("{} {}", r.method, r.url)
    } else {
        format!("{} {} with body {shown}{cut}", r.method, r.url)
    }
}

/// What differs between two requests that should be the same, for the error.
fn difference(recorded: &HttpRequest, made: &HttpRequest) -> &'static str {
    if recorded.method != made.method || recorded.url != made.url {
        "method or URL"
    } else if recorded.body != made.body {
        "body"
    } else {
        "headers"
    }
}

impl Script for CassetteScript {
    fn http(&self, request: &HttpRequest) -> HttpAnswer {
        let mut state = self.lock();
        if let Some(d) = &state.divergence {
            return HttpAnswer::Error(TransportError::Internal(Some(format!("replay stopped: {d}"))));
        }
        state.http_made += 1;
        let number = state.http_made;
        let message = match state.http.pop_front() {
            Some((recorded, answer)) if recorded == *request => return answer,
            Some((recorded, _)) => format!(
                "HTTP request {number} differs from the recorded one ({}): made {}, recorded {}",
                difference(&recorded, request),
                describe_request(request),
                describe_request(&recorded)
            ),
            None => format!("the run made a request the cassette does not hold: {}", describe_request(request)),
        };
        let message = state.diverge(message);
        HttpAnswer::Error(TransportError::Internal(Some(format!("replay stopped: {message}"))))
    }

    fn list(&self, fabric: &str) -> Result<Vec<CustomResource>, String> {
        let mut state = self.lock();
        match state.hnp.pop_front() {
            Some(HnpExchange::List { fabric: f, answer }) if f == fabric => answer,
            other => Err(state.diverge(hnp_divergence(&format!("list-resources({fabric:?})"), other))),
        }
    }

    fn get(&self, fabric: &str, reference: &ResourceRef) -> Result<Option<CustomResource>, String> {
        let mut state = self.lock();
        match state.hnp.pop_front() {
            Some(HnpExchange::Get { fabric: f, reference: r, answer }) if f == fabric && r == *reference => answer,
            other => {
                let call = format!("get-resource({fabric:?}, {})", reference);
                Err(state.diverge(hnp_divergence(&call, other)))
            }
        }
    }

    fn apply(&self, fabric: &str, changes: &[HnpChange]) -> Result<Vec<Option<String>>, String> {
        let mut state = self.lock();
        match state.hnp.pop_front() {
            Some(HnpExchange::Apply { fabric: f, changes: c, answer }) if f == fabric && c == changes => answer,
            other => {
                let made =
                    HnpExchange::Apply { fabric: fabric.into(), changes: changes.to_vec(), answer: Ok(Vec::new()) };
                Err(state.diverge(hnp_divergence(&made.describe_call(), other)))
            }
        }
    }

    fn record(&self, fabric: &str, synced: &[Synced]) -> Result<(), String> {
        let mut state = self.lock();
        match state.hnp.pop_front() {
            Some(HnpExchange::Record { fabric: f, entries, answer }) if f == fabric && entries == synced => answer,
            other => {
                let made = HnpExchange::Record { fabric: fabric.into(), entries: synced.to_vec(), answer: Ok(()) };
                Err(state.diverge(hnp_divergence(&made.describe_call(), other)))
            }
        }
    }

    fn wall_clock(&self) -> Duration {
        let mut state = self.lock();
        match state.wall.pop_front() {
            Some(now) => {
                state.last_wall = now;
                now
            }
            None => {
                state.diverge("the run read the wall clock more often than the recorded run".into());
                state.last_wall
            }
        }
    }

    fn monotonic_clock(&self) -> u64 {
        let mut state = self.lock();
        match state.monotonic.pop_front() {
            Some(now) => {
                state.last_monotonic = now;
                now
            }
            None => {
                state.diverge("the run read the monotonic clock more often than the recorded run".into());
                state.last_monotonic
            }
        }
    }

    fn random_pool(&self) -> Vec<u8> {
        self.pool.clone()
    }
}

fn hnp_divergence(made: &str, recorded: Option<HnpExchange>) -> String {
    match recorded {
        Some(recorded) => {
            format!("hnp call differs from the recorded one: made {made}, recorded {}", recorded.describe_call())
        }
        None => format!("the run made an hnp call the cassette does not hold: {made}"),
    }
}
