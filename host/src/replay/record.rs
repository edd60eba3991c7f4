//! Recording: wrappers that pass every import call through to the real thing (policy hooks,
//! CR source, host clocks) and write call and answer down. Only calls made between `begin`
//! and `finish` are kept, so the pure calls that load manifests are not part of the run.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderName, Uri};
use http_body_util::{BodyExt, Full};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock};
use wasmtime_wasi_http::{ForbiddenHeaderFilter, RequestOptions, WasiBody, WasiHttpHooks};

use super::cassette::{
    component_id, encode_hex, Body, Cassette, Event, HnpExchange, HttpAnswer, HttpExchange, HttpRequest, HttpResponse,
    Invocation, TransportError, FORMAT, VERSION,
};
use crate::net::hooks::PolicyHooks;
use crate::report::SyncOutcome;
use crate::runtime::{GuestImports, COMPONENT};
use crate::source::{BoxFuture, CrSource, Synced};
use crate::wit::{CustomResource, HnpChange, ResourceRef};

/// Bytes of randomness drawn for a recorded run; the guest only jitters back-offs with it.
const RANDOM_POOL_BYTES: usize = 256;
/// Largest body of one exchange that `--record` holds in memory (GitHub's own answers stay far
/// below: a blob is at most 100 MiB base64-encoded only through the blobs API, which fgd-sync
/// reads for manifests of a few KiB). A larger one fails the request as too large.
pub const MAX_RECORDED_BODY_BYTES: usize = 32 * 1024 * 1024;
/// Headers never written to a cassette (the guest may not set them; this is belt and braces).
const SECRET_HEADERS: [&str; 3] = ["authorization", "proxy-authorization", "cookie"];

/// Collects the import calls of one run. Clones share the tape.
#[derive(Clone, Debug)]
pub struct Recorder {
    tape: Arc<Mutex<Tape>>,
    pool: Arc<Vec<u8>>,
}

#[derive(Debug, Default)]
struct Tape {
    invocation: Option<Invocation>,
    events: Vec<Event>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

impl Recorder {
    /// A recorder with a fresh random pool from the operating system.
    pub fn new() -> Recorder {
        let mut pool = vec![0u8; RANDOM_POOL_BYTES];
        wasmtime_wasi::thread_rng().fill_bytes(&mut pool);
        Recorder::with_pool(pool)
    }

    /// A recorder whose guest draws from `pool` (tests, fuzz seeds).
    pub fn with_pool(pool: Vec<u8>) -> Recorder {
        Recorder { tape: Arc::default(), pool: Arc::new(pool) }
    }

    /// The clocks, random pool and HTTP wrapper for `RuntimeConfig::imports`.
    pub fn imports(&self) -> Arc<dyn GuestImports> {
        Arc::new(self.clone())
    }

    /// `inner`, with its calls recorded.
    pub fn source(&self, inner: Arc<dyn CrSource>) -> Arc<dyn CrSource> {
        Arc::new(RecordingSource { inner, recorder: self.clone() })
    }

    /// Starts recording the run of `invocation`; anything recorded before is dropped.
    pub fn begin(&self, invocation: Invocation) {
        let mut tape = self.lock();
        tape.invocation = Some(invocation);
        tape.events.clear();
    }

    /// Stops recording; the cassette of the run, or `None` when `begin` was never called.
    pub fn finish(&self, outcome: Option<&SyncOutcome>) -> Option<Cassette> {
        let mut tape = self.lock();
        let invocation = tape.invocation.take()?;
        Some(Cassette {
            format: FORMAT.into(),
            version: VERSION,
            recorded_by: format!("fgd-sync {}", env!("CARGO_PKG_VERSION")),
            component: component_id(COMPONENT),
            invocation,
            random: encode_hex(&self.pool),
            events: std::mem::take(&mut tape.events),
            report: outcome.and_then(|o| serde_json::to_value(o).ok()),
        })
    }

    fn push(&self, event: Event) {
        let mut tape = self.lock();
        if tape.invocation.is_some() {
            tape.events.push(event);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tape> {
        self.tape.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl GuestImports for Recorder {
    fn wall_clock(&self) -> Box<dyn HostWallClock + Send> {
        Box::new(RecordingWallClock(self.clone()))
    }

    fn monotonic_clock(&self) -> Box<dyn HostMonotonicClock + Send> {
        Box::new(RecordingMonotonicClock { recorder: self.clone(), start: Instant::now() })
    }

    fn random_pool(&self) -> Vec<u8> {
        self.pool.to_vec()
    }

    fn http(&self, policy: PolicyHooks) -> Box<dyn WasiHttpHooks> {
        Box::new(RecordingHooks { inner: policy, recorder: self.clone() })
    }
}

struct RecordingWallClock(Recorder);

impl HostWallClock for RecordingWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        self.0.push(Event::WallClock { secs: now.as_secs(), nanos: now.subsec_nanos() });
        now
    }
}

struct RecordingMonotonicClock {
    recorder: Recorder,
    start: Instant,
}

impl HostMonotonicClock for RecordingMonotonicClock {
    fn resolution(&self) -> u64 {
        1
    }

    fn now(&self) -> u64 {
        let now = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.recorder.push(Event::MonotonicClock(now));
        now
    }
}

type SendResult = Result<
    (http::Response<WasiBody>, Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>),
    wasmtime_wasi_http::Error,
>;

/// The policy hooks, with each exchange written down. Transport errors are turned into the
/// cassette's form before the guest sees them, so a replay hands the guest the same error.
struct RecordingHooks {
    inner: PolicyHooks,
    recorder: Recorder,
}

impl WasiHttpHooks for RecordingHooks {
    fn is_forbidden_header(&mut self, name: &HeaderName) -> bool {
        self.inner.is_forbidden_header(name)
    }

    fn forbidden_header_filter(&mut self) -> ForbiddenHeaderFilter {
        self.inner.forbidden_header_filter()
    }

    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        let mut inner = self.inner.clone();
        let recorder = self.recorder.clone();
        Box::new(async move {
            let (parts, body) = request.into_parts();
            let body = match http_body_util::Limited::new(body, MAX_RECORDED_BODY_BYTES).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(_) => {
                    let error = TransportError::HttpRequestBodySize(Some(MAX_RECORDED_BODY_BYTES as u64));
                    return Err(error.to_error());
                }
            };
            let recorded = request_record(&parts.method, &parts.uri, &parts.headers, &body);
            let request = http::Request::from_parts(parts, full(body));
            let answer = Pin::from(inner.send_request(request, options, fut)).await;
            let (response, io) = match answer {
                Ok(answer) => answer,
                Err(error) => {
                    let error = TransportError::from_error(error);
                    recorder.push(Event::Http(HttpExchange {
                        request: recorded,
                        answer: HttpAnswer::Error(error.clone()),
                    }));
                    return Err(error.to_error());
                }
            };
            let (parts, body) = response.into_parts();
            let body = match http_body_util::Limited::new(body, MAX_RECORDED_BODY_BYTES).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(error) => {
                    // A body past the cap, or the transport's own error.
                    let error = match error.downcast::<wasmtime_wasi_http::Error>() {
                        Ok(error) => TransportError::from_error(*error),
                        Err(_) => TransportError::HttpResponseBodySize(Some(MAX_RECORDED_BODY_BYTES as u64)),
                    };
                    recorder.push(Event::Http(HttpExchange {
                        request: recorded,
                        answer: HttpAnswer::Error(error.clone()),
                    }));
                    return Err(error.to_error());
                }
            };
            let response = HttpResponse {
                status: parts.status.as_u16(),
                headers: header_list(&parts.headers),
                body: Body::from_bytes(&body),
            };
            recorder.push(Event::Http(HttpExchange { request: recorded, answer: HttpAnswer::Response(response) }));
            Ok((http::Response::from_parts(parts, full(body)), io))
        })
    }
}

pub(super) fn full(bytes: Bytes) -> WasiBody {
    Full::new(bytes).map_err(|never| match never {}).boxed_unsync()
}

/// The request as the guest made it; secret headers are left out.
pub(super) fn request_record(method: &http::Method, uri: &Uri, headers: &http::HeaderMap, body: &[u8]) -> HttpRequest {
    HttpRequest {
        method: method.to_string(),
        url: uri.to_string(),
        headers: header_list(headers)
            .into_iter()
            .filter(|(n, _)| !SECRET_HEADERS.iter().any(|s| n.eq_ignore_ascii_case(s)))
            .collect(),
        body: Body::from_bytes(body),
    }
}

fn header_list(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers.iter().map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect()
}

impl TransportError {
    /// The cassette's form of a `wasi:http` failure, mapped as wasmtime's default hooks map
    /// errors that carry no code of their own.
    pub fn from_error(error: wasmtime_wasi_http::Error) -> TransportError {
        use wasmtime_wasi_http::Error as E;
        match error {
            E::HttpRequestDenied => TransportError::HttpRequestDenied,
            E::ConnectionRefused => TransportError::ConnectionRefused,
            E::ConnectionTerminated => TransportError::ConnectionTerminated,
            E::ConnectionTimeout => TransportError::ConnectionTimeout,
            E::ConnectionReadTimeout => TransportError::ConnectionReadTimeout,
            E::ConnectionWriteTimeout => TransportError::ConnectionWriteTimeout,
            E::DnsTimeout => TransportError::DnsTimeout,
            E::DnsError { rcode, info_code } => TransportError::DnsError { rcode, info_code },
            E::DestinationNotFound => TransportError::DestinationNotFound,
            E::DestinationUnavailable => TransportError::DestinationUnavailable,
            E::TlsProtocolError | E::Tls(_) => TransportError::TlsProtocolError,
            E::TlsCertificateError => TransportError::TlsCertificateError,
            E::HttpRequestBodySize(n) => TransportError::HttpRequestBodySize(n),
            E::HttpResponseIncomplete => TransportError::HttpResponseIncomplete,
            E::HttpResponseBodySize(n) => TransportError::HttpResponseBodySize(n),
            E::HttpResponseTimeout => TransportError::HttpResponseTimeout,
            E::HttpProtocolError | E::Hyper(_) => TransportError::HttpProtocolError,
            E::Connect(e) if e.kind() == std::io::ErrorKind::AddrNotAvailable => {
                TransportError::DnsError { rcode: Some("address not available".into()), info_code: None }
            }
            E::Connect(_) => TransportError::ConnectionRefused,
            E::InternalError(text) => TransportError::Internal(text),
            other => TransportError::Internal(Some(format!("{other:?}"))),
        }
    }

    pub fn to_error(&self) -> wasmtime_wasi_http::Error {
        use wasmtime_wasi_http::Error as E;
        match self.clone() {
            TransportError::HttpRequestDenied => E::HttpRequestDenied,
            TransportError::ConnectionRefused => E::ConnectionRefused,
            TransportError::ConnectionTerminated => E::ConnectionTerminated,
            TransportError::ConnectionTimeout => E::ConnectionTimeout,
            TransportError::ConnectionReadTimeout => E::ConnectionReadTimeout,
            TransportError::ConnectionWriteTimeout => E::ConnectionWriteTimeout,
            TransportError::DnsTimeout => E::DnsTimeout,
            TransportError::DnsError { rcode, info_code } => E::DnsError { rcode, info_code },
            TransportError::DestinationNotFound => E::DestinationNotFound,
            TransportError::DestinationUnavailable => E::DestinationUnavailable,
            TransportError::TlsProtocolError => E::TlsProtocolError,
            TransportError::TlsCertificateError => E::TlsCertificateError,
            TransportError::HttpRequestBodySize(n) => E::HttpRequestBodySize(n),
            TransportError::HttpResponseIncomplete => E::HttpResponseIncomplete,
            TransportError::HttpResponseBodySize(n) => E::HttpResponseBodySize(n),
            TransportError::HttpResponseTimeout => E::HttpResponseTimeout,
            TransportError::HttpProtocolError => E::HttpProtocolError,
            TransportError::Internal(text) => E::InternalError(text),
        }
    }
}

/// The CR source, with each call written down.
struct RecordingSource {
    inner: Arc<dyn CrSource>,
    recorder: Recorder,
}

impl CrSource for RecordingSource {
    fn list<'a>(&'a self, fabric: &'a str) -> BoxFuture<'a, Result<Vec<CustomResource>, String>> {
        Box::pin(async move {
            let answer = self.inner.list(fabric).await;
            self.recorder.push(Event::Hnp(HnpExchange::List { fabric: fabric.into(), answer: answer.clone() }));
            answer
        })
    }

    fn get<'a>(
        &'a self,
        fabric: &'a str,
        reference: &'a ResourceRef,
    ) -> BoxFuture<'a, Result<Option<CustomResource>, String>> {
        Box::pin(async move {
            let answer = self.inner.get(fabric, reference).await;
            let event =
                HnpExchange::Get { fabric: fabric.into(), reference: reference.clone(), answer: answer.clone() };
            self.recorder.push(Event::Hnp(event));
            answer
        })
    }

    fn apply<'a>(
        &'a self,
        fabric: &'a str,
        changes: &'a [HnpChange],
    ) -> BoxFuture<'a, Result<Vec<Option<String>>, String>> {
        Box::pin(async move {
            let answer = self.inner.apply(fabric, changes).await;
            self.recorder.push(Event::Hnp(HnpExchange::Apply {
                fabric: fabric.into(),
                changes: changes.to_vec(),
                answer: answer.clone(),
            }));
            answer
        })
    }

    fn record<'a>(&'a self, fabric: &'a str, synced: &'a [Synced]) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let answer = self.inner.record(fabric, synced).await;
            self.recorder.push(Event::Hnp(HnpExchange::Record {
                fabric: fabric.into(),
                entries: synced.to_vec(),
                answer: answer.clone(),
            }));
            answer
        })
    }
}
