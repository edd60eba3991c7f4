//! A small HTTP/1.1 client for the host's own calls (NetBox now, webhooks maybe later): one
//! connection per request, TLS through rustls with the webpki roots plus the operator's CA
//! bundle (`--ca-file`), and hard limits on connect time, whole-response time and response size.
//!
//! The guest's GitHub traffic does not come through [`Client`]: it goes through `wasi:http`
//! and the egress policy (`hooks`), which opens its connections with [`open`], so both trust
//! the same roots.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{HeaderValue, HOST, USER_AGENT};
use http::uri::{Authority, Scheme};
use http::{HeaderMap, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// Time limits for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP connect plus TLS handshake.
    pub connect: Duration,
    /// Everything after the connection is up: sending, the status line, the whole body.
    pub response: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { connect: Duration::from_secs(10), response: Duration::from_secs(60) }
    }
}

/// Responses larger than this are refused unless [`Client::with_max_body`] says otherwise.
pub const DEFAULT_MAX_BODY: usize = 64 << 20;

const DEFAULT_USER_AGENT: &str = concat!("fgd-sync/", env!("CARGO_PKG_VERSION"));

/// A complete response: the body has been read in full.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Why a request got no complete response. Always names the method and URL.
#[derive(Debug)]
pub struct ClientError {
    pub method: Method,
    pub url: String,
    pub kind: ClientErrorKind,
}

/// The cause of a [`ClientError`].
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientErrorKind {
    /// The URL cannot be requested (not absolute, not http/https, has credentials, ...).
    InvalidUrl(String),
    /// No TCP connection and TLS session within the connect timeout.
    ConnectTimeout(Duration),
    /// The TCP connection failed (refused, unreachable, DNS).
    Connect(std::io::Error),
    /// The TLS handshake failed (certificate, protocol).
    Tls(std::io::Error),
    /// The HTTP exchange failed (connection reset, malformed response, ...).
    Http(hyper::Error),
    /// No complete response within the response timeout.
    Timeout(Duration),
    /// The response body is larger than the cap.
    TooLarge { limit: usize },
}

impl ClientError {
    /// Whether trying again may help: connection trouble and timeouts, not bad URLs,
    /// certificate failures or oversized answers.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            ClientErrorKind::ConnectTimeout(_)
                | ClientErrorKind::Connect(_)
                | ClientErrorKind::Http(_)
                | ClientErrorKind::Timeout(_)
        )
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: ", self.method, self.url)?;
        match &self.kind {
            ClientErrorKind::InvalidUrl(why) => write!(f, "invalid URL: {why}"),
            ClientErrorKind::ConnectTimeout(t) => write!(f, "no connection within {t:?}"),
            ClientErrorKind::Connect(e) => write!(f, "cannot connect: {e}"),
            ClientErrorKind::Tls(e) => write!(f, "TLS handshake failed: {e}"),
            ClientErrorKind::Http(e) => {
                // hyper's own messages are terse ("connection closed before message
                // completed"); the cause chain says what actually happened.
                write!(f, "HTTP error: {e}")?;
                let mut source = std::error::Error::source(e);
                while let Some(cause) = source {
                    write!(f, ": {cause}")?;
                    source = cause.source();
                }
                Ok(())
            }
            ClientErrorKind::Timeout(t) => write!(f, "no complete response within {t:?}"),
            ClientErrorKind::TooLarge { limit } => {
                write!(f, "response body larger than {limit} bytes")
            }
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ClientErrorKind::Connect(e) | ClientErrorKind::Tls(e) => Some(e),
            ClientErrorKind::Http(e) => Some(e),
            _ => None,
        }
    }
}

/// The client. Cheap to clone; holds no connections between requests.
#[derive(Clone, Debug)]
pub struct Client {
    timeouts: Timeouts,
    max_body: usize,
}

impl Default for Client {
    fn default() -> Self {
        Client::new(Timeouts::default())
    }
}

/// What `connect` hands to hyper: plain TCP or TLS over it.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// Certificates trusted besides the Mozilla roots (`--ca-file`, config `ca_file`): GitHub
/// Enterprise Server or NetBox behind an internal CA. Process-wide, so that every client (the
/// NetBox source, serve's lookups) and the guest's HTTPS trust the same roots.
static EXTRA_ROOTS: RwLock<Vec<rustls::pki_types::CertificateDer<'static>>> = RwLock::new(Vec::new());

/// Trusts the certificates of a PEM bundle from now on, in addition to the Mozilla roots
/// (replacing any bundle trusted before). Returns how many there are; a file without a
/// certificate, or with one rustls cannot use as a root, is an error now rather than a TLS
/// failure at the first connection.
pub fn trust_ca_file(path: &Path) -> anyhow::Result<usize> {
    use anyhow::Context as _;
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::CertificateDer;
    let certificates = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading the CA bundle {}", path.display()))?;
    anyhow::ensure!(!certificates.is_empty(), "the CA bundle {} holds no PEM certificate", path.display());
    let mut store = rustls::RootCertStore::empty();
    let (_, unusable) = store.add_parsable_certificates(certificates.iter().cloned());
    anyhow::ensure!(
        unusable == 0,
        "the CA bundle {}: {unusable} certificate(s) cannot be used as roots",
        path.display()
    );
    let count = certificates.len();
    *EXTRA_ROOTS.write().unwrap_or_else(|e| e.into_inner()) = certificates;
    Ok(count)
}

/// A connection to the host of `url` (TCP, and TLS for `https` with the trusted roots) within
/// `limit`, for a caller that speaks HTTP over it itself (the guest's requests).
pub(crate) async fn open(url: &http::Uri, limit: Duration) -> Result<Box<dyn Stream>, ClientErrorKind> {
    let target = Target::parse(&url.to_string()).map_err(ClientErrorKind::InvalidUrl)?;
    connect(&target, limit).await
}

impl Client {
    pub fn new(timeouts: Timeouts) -> Self {
        Client { timeouts, max_body: DEFAULT_MAX_BODY }
    }

    /// Caps the size of a response body.
    pub fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// Sends one request and reads the whole response. `Host` is set from the URL, and
    /// `User-Agent` unless `headers` has one. Any status is a response, not an error.
    pub async fn request(
        &self,
        method: Method,
        url: &str,
        headers: HeaderMap,
        body: Option<Vec<u8>>,
    ) -> Result<Response, ClientError> {
        let fail = |kind| ClientError { method: method.clone(), url: url.to_owned(), kind };
        let target = Target::parse(url).map_err(|why| fail(ClientErrorKind::InvalidUrl(why)))?;
        let stream = connect(&target, self.timeouts.connect).await.map_err(fail)?;

        let mut request = Request::new(Full::new(Bytes::from(body.unwrap_or_default())));
        *request.method_mut() = method.clone();
        // hyper's connection-level client sends the URI as given: origin form for a server.
        *request.uri_mut() = target.path_and_query.clone();
        *request.headers_mut() = headers;
        let host = HeaderValue::from_str(target.authority.as_str())
            .map_err(|e| fail(ClientErrorKind::InvalidUrl(e.to_string())))?;
        request.headers_mut().insert(HOST, host);
        if !request.headers().contains_key(USER_AGENT) {
            request.headers_mut().insert(USER_AGENT, HeaderValue::from_static(DEFAULT_USER_AGENT));
        }

        let limit = self.max_body;
        let exchange = async move {
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(ClientErrorKind::Http)?;
            // The connection task ends when `sender` is dropped after this one response.
            tokio::spawn(connection);
            let response = sender.send_request(request).await.map_err(ClientErrorKind::Http)?;
            let (parts, mut incoming) = response.into_parts();
            let declared = parts
                .headers
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if declared.is_some_and(|n| n > limit as u64) {
                return Err(ClientErrorKind::TooLarge { limit });
            }
            let mut body = BytesMut::new();
            while let Some(frame) = incoming.frame().await {
                let frame = frame.map_err(ClientErrorKind::Http)?;
                if let Ok(data) = frame.into_data() {
                    if body.len() + data.len() > limit {
                        return Err(ClientErrorKind::TooLarge { limit });
                    }
                    body.extend_from_slice(&data);
                }
            }
            Ok(Response { status: parts.status, headers: parts.headers, body: body.freeze() })
        };
        match tokio::time::timeout(self.timeouts.response, exchange).await {
            Ok(result) => result.map_err(fail),
            Err(_) => Err(fail(ClientErrorKind::Timeout(self.timeouts.response))),
        }
    }
}

/// TCP connect plus TLS handshake, within `limit`.
async fn connect(target: &Target, limit: Duration) -> Result<Box<dyn Stream>, ClientErrorKind> {
    let connect = async {
        let address = format!("{}:{}", target.host, target.port);
        let tcp = TcpStream::connect(&address).await.map_err(ClientErrorKind::Connect)?;
        // Small request/response exchanges: don't wait to fill segments.
        let _ = tcp.set_nodelay(true);
        if !target.tls {
            return Ok(Box::new(tcp) as Box<dyn Stream>);
        }
        let connector = tokio_rustls::TlsConnector::from(tls_config()?);
        let name = server_name(&target.host)?;
        let tls = connector.connect(name, tcp).await.map_err(ClientErrorKind::Tls)?;
        Ok(Box::new(tls) as Box<dyn Stream>)
    };
    tokio::time::timeout(limit, connect).await.unwrap_or(Err(ClientErrorKind::ConnectTimeout(limit)))
}

/// A URL taken apart for one request.
struct Target {
    tls: bool,
    /// As in the URL, for `Host`: `example.com`, `example.com:8080`, `[::1]:8000`.
    authority: Authority,
    /// Without IPv6 brackets.
    host: String,
    port: u16,
    path_and_query: Uri,
}

impl Target {
    fn parse(url: &str) -> Result<Target, String> {
        let uri: Uri = url.parse().map_err(|e: http::uri::InvalidUri| e.to_string())?;
        let tls = match uri.scheme() {
            Some(s) if *s == Scheme::HTTPS => true,
            Some(s) if *s == Scheme::HTTP => false,
            Some(s) => return Err(format!("scheme {s} is not http or https")),
            None => return Err("not an absolute URL".into()),
        };
        let authority = uri.authority().cloned().ok_or("no host")?;
        if authority.as_str().contains('@') {
            return Err("credentials in URLs are not supported".into());
        }
        let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_owned();
        if host.is_empty() {
            return Err("no host".into());
        }
        let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let path_and_query = uri
            .path_and_query()
            .map(|p| p.as_str())
            .filter(|p| !p.is_empty())
            .unwrap_or("/")
            .parse::<Uri>()
            .map_err(|e| e.to_string())?;
        Ok(Target { tls, authority, host, port, path_and_query })
    }
}

/// rustls with ring, the Mozilla roots and the operator's bundle, built per connection:
/// negligible next to a handshake, and it avoids depending on a process-wide default provider.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, ClientErrorKind> {
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.into() };
    roots.add_parsable_certificates(EXTRA_ROOTS.read().unwrap_or_else(|e| e.into_inner()).iter().cloned());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientErrorKind::Tls(std::io::Error::other(e)))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn server_name(host: &str) -> Result<rustls::pki_types::ServerName<'static>, ClientErrorKind> {
    use rustls::pki_types::ServerName;
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(ServerName::from(ip));
    }
    ServerName::try_from(host.to_owned())
        .map_err(|e| ClientErrorKind::Tls(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)))
}
