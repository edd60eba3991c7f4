//! Adapters from WASI to the engine: `wasi:http/outgoing-handler` as `Transport`, WASI clocks
//! and random as `Environment`. The host decides what these return (policy, determinism).

use wasip2::http::outgoing_handler;
use wasip2::http::types::{ErrorCode, Fields, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme};
use wasip2::io::streams::StreamError;

use crate::github::{Environment, HttpRequest, HttpResponse, Transport};

/// Most a response body may hold; GitHub's largest answers we read are trees (<= 7 MB).
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;
/// Output streams accept at most 4096 bytes per blocking write.
const WRITE_CHUNK: usize = 4096;
const READ_CHUNK: u64 = 64 * 1024;

pub struct WasiHttp;

impl Transport for WasiHttp {
    fn send(&mut self, request: &HttpRequest) -> Result<HttpResponse, String> {
        send(request).map_err(|e| format!("{} {}: {e}", request.method, request.url))
    }
}

fn send(request: &HttpRequest) -> Result<HttpResponse, String> {
    let (scheme, authority, path_and_query) = split_url(&request.url)?;
    let entries: Vec<(String, Vec<u8>)> =
        request.headers.iter().map(|(n, v)| (n.to_ascii_lowercase(), v.as_bytes().to_vec())).collect();
    let headers = Fields::from_list(&entries).map_err(|e| format!("header refused: {e:?}"))?;
    let outgoing = OutgoingRequest::new(headers);
    outgoing.set_method(&method(&request.method)).map_err(|()| "method refused".to_string())?;
    outgoing.set_scheme(Some(&scheme)).map_err(|()| "scheme refused".to_string())?;
    outgoing.set_authority(Some(authority)).map_err(|()| "authority refused".to_string())?;
    outgoing.set_path_with_query(Some(path_and_query)).map_err(|()| "path refused".to_string())?;
    let body = outgoing.body().map_err(|()| "request body unavailable".to_string())?;

    let future = outgoing_handler::handle(outgoing, None::<RequestOptions>).map_err(describe)?;
    write_body(body, request.body.as_deref().unwrap_or_default())?;

    future.subscribe().block();
    let response = match future.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(describe(code)),
        Some(Err(())) | None => return Err("response already taken".into()),
    };
    let status = response.status();
    let headers = response
        .headers()
        .entries()
        .into_iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), String::from_utf8_lossy(&v).into_owned()))
        .collect();
    let incoming = response.consume().map_err(|()| "response body unavailable".to_string())?;
    let stream = incoming.stream().map_err(|()| "response stream unavailable".to_string())?;
    let mut body = Vec::new();
    loop {
        match stream.blocking_read(READ_CHUNK) {
            Ok(chunk) => {
                if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(format!("response larger than {MAX_RESPONSE_BYTES} bytes"));
                }
                body.extend_from_slice(&chunk);
            }
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => return Err(format!("reading body: {}", e.to_debug_string())),
        }
    }
    Ok(HttpResponse { status, headers, body })
}

fn write_body(body: OutgoingBody, bytes: &[u8]) -> Result<(), String> {
    {
        let stream = body.write().map_err(|()| "request stream unavailable".to_string())?;
        for chunk in bytes.chunks(WRITE_CHUNK) {
            stream.blocking_write_and_flush(chunk).map_err(|e| format!("writing body: {e:?}"))?;
        }
    }
    OutgoingBody::finish(body, None).map_err(describe)
}

fn method(m: &str) -> Method {
    match m {
        "GET" => Method::Get,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "PATCH" => Method::Patch,
        "DELETE" => Method::Delete,
        "HEAD" => Method::Head,
        other => Method::Other(other.to_string()),
    }
}

/// `https://host:port/a/b?c` -> (scheme, `host:port`, `/a/b?c`).
fn split_url(url: &str) -> Result<(Scheme, &str, &str), String> {
    let (scheme, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (Scheme::Https, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (Scheme::Http, rest)
    } else {
        return Err(format!("unsupported URL {url:?}: only http and https"));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(format!("unsupported URL {url:?}: bad authority"));
    }
    Ok((scheme, authority, path))
}

fn describe(code: ErrorCode) -> String {
    match code {
        ErrorCode::HttpRequestDenied => "refused by the host's network policy".into(),
        ErrorCode::ConnectionRefused => "connection refused".into(),
        ErrorCode::ConnectionTimeout => "connect timeout".into(),
        ErrorCode::ConnectionReadTimeout | ErrorCode::HttpResponseTimeout => "response timeout".into(),
        ErrorCode::DnsError(e) => format!("DNS error: {:?}", e.rcode),
        ErrorCode::TlsCertificateError => "TLS certificate error".into(),
        other => format!("{other:?}"),
    }
}

/// Time and randomness from WASI: the host makes them real or deterministic.
pub struct WasiEnvironment;

impl Environment for WasiEnvironment {
    fn now_epoch_secs(&mut self) -> u64 {
        wasip2::clocks::wall_clock::now().seconds
    }

    fn sleep_ms(&mut self, ms: u64) {
        wasip2::clocks::monotonic_clock::subscribe_duration(ms.saturating_mul(1_000_000)).block();
    }

    fn random_u64(&mut self) -> u64 {
        wasip2::random::random::get_random_u64()
    }
}
