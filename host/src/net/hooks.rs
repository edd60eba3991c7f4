//! The one place where guest HTTP leaves the sandbox (`WasiHttpHooks::send_request`): the
//! egress policy is checked, the token injected, limits applied (requests in flight, header
//! and body sizes, time), the exchange logged, and requests for an in-process remote (a local
//! git repository) are answered without a socket.

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION};
use http::{HeaderName, HeaderValue};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime_wasi_http::{
    Error, ForbiddenHeaderFilter, RequestOptions, WasiBody, WasiHttpHooks, DEFAULT_FORBIDDEN_HEADERS,
};

use super::client::{self, ClientErrorKind};
use super::http_log::{Exchange, HttpLog};
use super::policy::{EgressPolicy, Origin};

/// Limits on every guest request, whatever the guest asked for.
#[derive(Clone, Copy, Debug)]
pub struct HttpLimits {
    pub connect_timeout: Duration,
    pub first_byte_timeout: Duration,
    pub between_bytes_timeout: Duration,
    pub max_request_bytes: usize,
    pub max_response_bytes: usize,
    /// Requests of one store (one guest call) in flight at once, from `handle` until the
    /// guest drops the response body: each holds up to `max_response_bytes` of host memory.
    pub max_in_flight: usize,
    /// Headers of one response the guest receives, by count and by bytes (names and values).
    pub max_response_headers: usize,
    pub max_response_header_bytes: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            connect_timeout: Duration::from_secs(10),
            first_byte_timeout: Duration::from_secs(60),
            between_bytes_timeout: Duration::from_secs(30),
            max_request_bytes: 64 * 1024 * 1024,
            max_response_bytes: 64 * 1024 * 1024,
            // The guest sends one request at a time; a few spare for what it has not dropped yet.
            max_in_flight: 8,
            // GitHub sends about 30 headers, 3 KB.
            max_response_headers: 64,
            max_response_header_bytes: 32 * 1024,
        }
    }
}

/// A buffered HTTP answer, for remotes served in-process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A remote answered in-process (the local git repository behind the GitHub REST subset).
/// Blocking: called on tokio's blocking pool.
pub trait InProcessRemote: Send + Sync {
    fn handle(&self, method: &str, path_and_query: &str, headers: &[(String, String)], body: &[u8]) -> LocalResponse;
}

/// State shared by every request of every store: cheap to clone per store.
#[derive(Clone)]
pub struct PolicyHooks {
    policy: Arc<EgressPolicy>,
    local: Option<(Origin, Arc<dyn InProcessRemote>)>,
    log: Option<Arc<HttpLog>>,
    limits: HttpLimits,
    requests: Arc<AtomicU32>,
    rate_limited: Arc<AtomicU32>,
    /// `max_in_flight` permits, shared by the clones of one store's hooks ([`Self::for_store`]).
    in_flight: Arc<Semaphore>,
}

impl PolicyHooks {
    pub fn new(policy: EgressPolicy, limits: HttpLimits) -> PolicyHooks {
        PolicyHooks {
            policy: Arc::new(policy),
            local: None,
            log: None,
            limits,
            requests: Arc::default(),
            rate_limited: Arc::default(),
            in_flight: Arc::new(Semaphore::new(limits.max_in_flight)),
        }
    }

    /// The same hooks with a budget of requests in flight of their own: one per store, so
    /// one guest call cannot take another's.
    pub fn for_store(&self) -> PolicyHooks {
        PolicyHooks { in_flight: Arc::new(Semaphore::new(self.limits.max_in_flight)), ..self.clone() }
    }

    /// Serves `origin` in-process; it must also be allowed by the policy.
    pub fn with_local_remote(mut self, origin: Origin, remote: Arc<dyn InProcessRemote>) -> PolicyHooks {
        self.local = Some((origin, remote));
        self
    }

    pub fn with_log(mut self, log: Arc<HttpLog>) -> PolicyHooks {
        self.log = Some(log);
        self
    }

    /// Requests that left (or were answered in-process) since this hooks value was made.
    pub fn requests(&self) -> u32 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Rate-limit answers (403 or 429 with `x-ratelimit-remaining: 0` or `retry-after`, or
    /// any 429) since this hooks value was made: each one makes the guest wait or give up.
    pub fn rate_limit_answers(&self) -> u32 {
        self.rate_limited.load(Ordering::Relaxed)
    }
}

fn is_rate_limit_answer(status: http::StatusCode, headers: &http::HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    status == http::StatusCode::TOO_MANY_REQUESTS
        || (status == http::StatusCode::FORBIDDEN
            && (header("x-ratelimit-remaining") == Some("0") || header("retry-after").is_some()))
}

/// Credentials are the host's business: the guest may not set them.
fn forbidden(name: &HeaderName) -> bool {
    *name == AUTHORIZATION
        || *name == PROXY_AUTHORIZATION
        || *name == COOKIE
        || DEFAULT_FORBIDDEN_HEADERS.contains(name)
}

type SendResult = Result<(http::Response<WasiBody>, Box<dyn Future<Output = Result<(), Error>> + Send>), Error>;

impl WasiHttpHooks for PolicyHooks {
    fn is_forbidden_header(&mut self, name: &HeaderName) -> bool {
        forbidden(name)
    }

    fn forbidden_header_filter(&mut self) -> ForbiddenHeaderFilter {
        Arc::new(forbidden)
    }

    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        drop(fut);
        let hooks = self.clone();
        // Taken when the guest calls `handle`, given back when it drops the response body
        // (or the future): a guest that starts requests and reads none is stopped here.
        let Ok(permit) = self.in_flight.clone().try_acquire_owned() else {
            let limit = self.limits.max_in_flight;
            tracing::warn!(limit, "guest request refused: too many requests in flight");
            let (method, url) = (request.method().to_string(), request.uri().to_string());
            hooks.log_exchange(Exchange::denied(&method, &url, "too many requests in flight", Duration::ZERO));
            return Box::new(async { Err(Error::ConnectionLimitReached) });
        };
        Box::new(async move { hooks.exchange(request, options, permit).await })
    }
}

impl PolicyHooks {
    async fn exchange(
        self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        permit: OwnedSemaphorePermit,
    ) -> SendResult {
        let started = Instant::now();
        let method = request.method().to_string();
        let url = request.uri().to_string();
        let token = match self.policy.check(request.method(), request.uri()) {
            Ok(token) => token.cloned(),
            Err(denied) => {
                tracing::warn!(%denied, "guest request refused");
                self.log_exchange(Exchange::denied(&method, &url, denied.reason, started.elapsed()));
                return Err(Error::HttpRequestDenied);
            }
        };
        self.requests.fetch_add(1, Ordering::Relaxed);
        if let Some(token) = &token {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                .map_err(|_| Error::InternalError(Some("token is not a valid header value".into())))?;
            // Kept out of hyper's and h2's debug output and header tables.
            value.set_sensitive(true);
            request.headers_mut().insert(AUTHORIZATION, value);
        }
        let (parts, body) = request.into_parts();
        let request_body = Limited::new(body, self.limits.max_request_bytes)
            .collect()
            .await
            .map_err(|_| Error::HttpRequestBodySize(None))?
            .to_bytes();

        let origin = Origin::of(&parts.uri);
        let local = self.local.as_ref().filter(|(o, _)| Some(o) == origin.as_ref()).map(|(_, r)| r.clone());
        let answer = match local {
            Some(remote) => self.answer_locally(remote, &parts, request_body.clone()).await,
            None => self.send_remote(parts.clone(), request_body.clone(), options).await,
        };
        let answer = answer.and_then(|(status, headers, body)| {
            self.check_headers(&headers)?;
            Ok((status, headers, body))
        });
        let (status, headers, response_body) = match answer {
            Ok(answer) => answer,
            Err(error) => {
                self.log_exchange(Exchange::failed(
                    &method,
                    &url,
                    &parts.headers,
                    &request_body,
                    &error,
                    started.elapsed(),
                ));
                return Err(error);
            }
        };
        if is_rate_limit_answer(status, &headers) {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
        self.log_exchange(Exchange::answered(
            &method,
            &url,
            &parts.headers,
            &request_body,
            status,
            &headers,
            &response_body,
            started.elapsed(),
        ));
        let body = Full::new(response_body).map_err(|never| match never {}).map_frame(move |frame| {
            // The permit lives as long as the body the guest holds.
            let _held = &permit;
            frame
        });
        let mut response = http::Response::new(body.boxed_unsync());
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        Ok((response, Box::new(async { Ok(()) })))
    }

    /// Sends over the network with our timeouts (the guest's, if shorter) and a size cap, over
    /// a connection `client::open` makes (the operator's CA bundle is trusted there too).
    async fn send_remote(
        &self,
        mut parts: http::request::Parts,
        body: Bytes,
        options: Option<RequestOptions>,
    ) -> Result<(http::StatusCode, http::HeaderMap, Bytes), Error> {
        let limits = self.limits;
        let shorter = |guest: Option<Duration>, ours: Duration| guest.map_or(ours, |g| g.min(ours));
        let connect_timeout = shorter(options.and_then(|o| o.connect_timeout), limits.connect_timeout);
        let first_byte_timeout = shorter(options.and_then(|o| o.first_byte_timeout), limits.first_byte_timeout);
        let between_bytes_timeout =
            shorter(options.and_then(|o| o.between_bytes_timeout), limits.between_bytes_timeout);

        // As wasmtime's `default_send_request` maps the same failures.
        let stream = client::open(&parts.uri, connect_timeout).await.map_err(|e| match e {
            ClientErrorKind::ConnectTimeout(_) => Error::ConnectionTimeout,
            ClientErrorKind::Connect(e) => Error::Connect(e),
            ClientErrorKind::Tls(e) => Error::Tls(e),
            _ => Error::HttpRequestUriInvalid,
        })?;
        let (mut sender, connection) =
            tokio::time::timeout(connect_timeout, hyper::client::conn::http1::handshake(TokioIo::new(stream)))
                .await
                .map_err(|_| Error::ConnectionTimeout)??;
        // The connection task drives the socket while we read; it ends with `sender`.
        let connection = tokio::spawn(connection);
        // A server is sent the origin form: scheme and authority are for proxies.
        parts.uri =
            parts.uri.path_and_query().map_or("/", |p| p.as_str()).parse().map_err(|_| Error::HttpRequestUriInvalid)?;
        let request = http::Request::from_parts(parts, Full::new(body));
        let response = tokio::time::timeout(first_byte_timeout, sender.send_request(request))
            .await
            .map_err(|_| Error::ConnectionReadTimeout)??;
        let (parts, mut incoming) = response.into_parts();
        let mut collected = bytes::BytesMut::new();
        let result = loop {
            match tokio::time::timeout(between_bytes_timeout, incoming.frame()).await {
                Err(_) => break Err(Error::ConnectionReadTimeout),
                Ok(None) => break Ok(()),
                Ok(Some(Err(e))) => break Err(Error::from(e)),
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        if collected.len() + data.len() > limits.max_response_bytes {
                            break Err(Error::HttpResponseBodySize(Some(limits.max_response_bytes as u64)));
                        }
                        collected.extend_from_slice(&data);
                    }
                }
            }
        };
        connection.abort();
        result?;
        Ok((parts.status, parts.headers, collected.freeze()))
    }

    /// Refuses an answer whose headers are more, or larger, than the guest needs (each one
    /// lands in the guest's resource table and memory).
    fn check_headers(&self, headers: &http::HeaderMap) -> Result<(), Error> {
        let bytes: usize = headers.iter().map(|(n, v)| n.as_str().len() + v.len()).sum();
        if headers.len() > self.limits.max_response_headers || bytes > self.limits.max_response_header_bytes {
            return Err(Error::HttpResponseHeaderSectionSize(u32::try_from(bytes).ok()));
        }
        Ok(())
    }

    async fn answer_locally(
        &self,
        remote: Arc<dyn InProcessRemote>,
        parts: &http::request::Parts,
        body: Bytes,
    ) -> Result<(http::StatusCode, http::HeaderMap, Bytes), Error> {
        let method = parts.method.to_string();
        let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
        let headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let answer = tokio::task::spawn_blocking(move || remote.handle(&method, &path_and_query, &headers, &body))
            .await
            .map_err(|e| Error::InternalError(Some(format!("local remote failed: {e}"))))?;
        let status = http::StatusCode::from_u16(answer.status)
            .map_err(|_| Error::InternalError(Some(format!("local remote answered status {}", answer.status))))?;
        if answer.body.len() > self.limits.max_response_bytes {
            return Err(Error::HttpResponseBodySize(Some(self.limits.max_response_bytes as u64)));
        }
        let mut headers = http::HeaderMap::new();
        for (name, value) in &answer.headers {
            if let (Ok(n), Ok(v)) = (HeaderName::try_from(name.as_str()), HeaderValue::from_str(value)) {
                headers.append(n, v);
            }
        }
        Ok((status, headers, Bytes::from(answer.body)))
    }

    fn log_exchange(&self, exchange: Exchange) {
        if let Some(log) = &self.log {
            log.write(&exchange);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;

    use http_body_util::Empty;

    use super::*;

    /// A local remote that answers after `delay`, with `headers` headers of `header_bytes`
    /// bytes each and a body of `body` bytes.
    #[derive(Clone, Copy, Default)]
    struct Remote {
        delay: Duration,
        headers: usize,
        header_bytes: usize,
        body: usize,
    }

    impl InProcessRemote for Remote {
        fn handle(&self, _: &str, _: &str, _: &[(String, String)], _: &[u8]) -> LocalResponse {
            std::thread::sleep(self.delay);
            LocalResponse {
                status: 200,
                headers: (0..self.headers).map(|i| (format!("x-h{i}"), "v".repeat(self.header_bytes))).collect(),
                body: vec![b'x'; self.body],
            }
        }
    }

    const BASE: &str = "http://127.0.0.1:9";

    fn hooks(remote: Remote, limits: HttpLimits) -> PolicyHooks {
        let mut policy = EgressPolicy::default();
        policy.allow(Origin::parse(BASE).unwrap(), None);
        PolicyHooks::new(policy, limits).with_local_remote(Origin::parse(BASE).unwrap(), Arc::new(remote)).for_store()
    }

    fn get(hooks: &mut PolicyHooks) -> Pin<Box<dyn Future<Output = SendResult> + Send>> {
        let body = Empty::new().map_err(|never| match never {}).boxed_unsync();
        let request = http::Request::get(format!("{BASE}/repos/acme/fabric/git/ref/heads/main")).body(body).unwrap();
        Box::into_pin(hooks.send_request(request, None, Box::new(async { Ok(()) })))
    }

    /// Issue 12, item 9: a guest that starts requests without reading their answers holds at
    /// most `max_in_flight` of them (each up to `max_response_bytes` of host memory); an
    /// answer counts until the guest drops its body. Each store has a budget of its own.
    #[tokio::test]
    async fn at_most_eight_requests_are_in_flight_per_store() {
        let remote = Remote { delay: Duration::from_millis(20), ..Remote::default() };
        let mut store = hooks(remote, HttpLimits::default());
        let started: Vec<_> = (0..8).map(|_| get(&mut store)).collect();
        assert!(matches!(get(&mut store).await, Err(Error::ConnectionLimitReached)), "the ninth is refused");
        let mut answers = Vec::new();
        for request in started {
            answers.push(request.await.expect("the first eight are answered").0);
        }
        assert!(matches!(get(&mut store).await, Err(Error::ConnectionLimitReached)), "answers not dropped yet");
        let mut other = store.for_store();
        assert!(get(&mut other).await.is_ok(), "another store has its own budget");
        drop(answers);
        assert!(get(&mut store).await.is_ok(), "room again once the bodies are dropped");
        assert_eq!(store.requests(), 10, "refused requests never left");
    }

    /// Issue 12, item 9: headers and bodies the guest receives are bounded, from an
    /// in-process remote (the local git repository) as from the network.
    #[tokio::test]
    async fn response_headers_and_local_bodies_are_bounded() {
        let limits = HttpLimits { max_response_bytes: 1000, ..HttpLimits::default() };
        let answer = |remote: Remote| async move { get(&mut hooks(remote, limits)).await.map(|_| ()) };
        assert!(answer(Remote { headers: 64, header_bytes: 8, body: 1000, ..Remote::default() }).await.is_ok());
        let many = answer(Remote { headers: 65, header_bytes: 8, ..Remote::default() }).await;
        assert!(matches!(many, Err(Error::HttpResponseHeaderSectionSize(_))), "{many:?}");
        let large = answer(Remote { headers: 2, header_bytes: 20_000, ..Remote::default() }).await;
        assert!(matches!(large, Err(Error::HttpResponseHeaderSectionSize(_))), "{large:?}");
        let body = answer(Remote { body: 1001, ..Remote::default() }).await;
        assert!(matches!(body, Err(Error::HttpResponseBodySize(Some(1000)))), "{body:?}");
    }
}
