//! The one place where guest HTTP leaves the sandbox (`WasiHttpHooks::send_request`): the
//! egress policy is checked, the token injected, limits applied, the exchange logged, and
//! requests for an in-process remote (a local git repository) are answered without a socket.

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION};
use http::{HeaderName, HeaderValue};
use http_body_util::{BodyExt, Full, Limited};
use wasmtime_wasi_http::{
    default_send_request, Error, ForbiddenHeaderFilter, RequestOptions, WasiBody, WasiHttpHooks,
    DEFAULT_FORBIDDEN_HEADERS,
};

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
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            connect_timeout: Duration::from_secs(10),
            first_byte_timeout: Duration::from_secs(60),
            between_bytes_timeout: Duration::from_secs(30),
            max_request_bytes: 64 * 1024 * 1024,
            max_response_bytes: 64 * 1024 * 1024,
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
        }
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
        Box::new(async move { hooks.exchange(request, options).await })
    }
}

impl PolicyHooks {
    async fn exchange(self, mut request: http::Request<WasiBody>, options: Option<RequestOptions>) -> SendResult {
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
            Some(remote) => Self::answer_locally(remote, &parts, request_body.clone()).await,
            None => self.send_remote(parts.clone(), request_body.clone(), options).await,
        };
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
        let mut response = http::Response::new(Full::new(response_body).map_err(|never| match never {}).boxed_unsync());
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        Ok((response, Box::new(async { Ok(()) })))
    }

    /// Sends over the network with our timeouts (the guest's, if shorter) and a size cap.
    async fn send_remote(
        &self,
        parts: http::request::Parts,
        body: Bytes,
        options: Option<RequestOptions>,
    ) -> Result<(http::StatusCode, http::HeaderMap, Bytes), Error> {
        let limits = self.limits;
        let shorter = |guest: Option<Duration>, ours: Duration| Some(guest.map_or(ours, |g| g.min(ours)));
        let options = RequestOptions {
            connect_timeout: shorter(options.and_then(|o| o.connect_timeout), limits.connect_timeout),
            first_byte_timeout: shorter(options.and_then(|o| o.first_byte_timeout), limits.first_byte_timeout),
            between_bytes_timeout: shorter(options.and_then(|o| o.between_bytes_timeout), limits.between_bytes_timeout),
        };
        let request = http::Request::from_parts(parts, Full::new(body).map_err(|never| match never {}));
        let (response, io) = default_send_request(request, Some(options)).await?;
        // The connection future drives the socket while we read the body.
        let connection = tokio::spawn(io);
        let (parts, body) = response.into_parts();
        let collected = Limited::new(body, limits.max_response_bytes).collect().await;
        connection.abort();
        let bytes = collected
            .map_err(|e| match e.downcast::<Error>() {
                Ok(e) => *e,
                Err(_) => Error::HttpResponseBodySize(Some(limits.max_response_bytes as u64)),
            })?
            .to_bytes();
        Ok((parts.status, parts.headers, bytes))
    }

    async fn answer_locally(
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
