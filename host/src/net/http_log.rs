//! `--http-log FILE`: one JSON line per guest HTTP exchange, secrets redacted. The first
//! thing to look at when a sync against GitHub misbehaves.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

/// Bodies longer than this are cut in the log (the exchange itself is not affected).
const MAX_LOGGED_BODY: usize = 256 * 1024;
const REDACTED: &str = "<redacted>";

#[derive(Debug, Serialize)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    pub request_headers: Vec<(String, String)>,
    pub request_body: String,
    /// Absent when no HTTP answer came (refused by policy, connection error, timeout).
    pub status: Option<u16>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: String,
    pub error: Option<String>,
    pub millis: f64,
}

fn headers(map: &http::HeaderMap) -> Vec<(String, String)> {
    map.iter()
        .map(|(name, value)| {
            let value = if is_secret(name.as_str()) {
                REDACTED.to_string()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.to_string(), value)
        })
        .collect()
}

fn is_secret(name: &str) -> bool {
    ["authorization", "proxy-authorization", "cookie", "set-cookie", "x-hook-signature"]
        .iter()
        .any(|s| name.eq_ignore_ascii_case(s))
}

fn body(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(MAX_LOGGED_BODY)];
    let mut text = String::from_utf8_lossy(cut).into_owned();
    if bytes.len() > MAX_LOGGED_BODY {
        text.push_str(&format!("... ({} bytes in all)", bytes.len()));
    }
    text
}

fn millis(elapsed: Duration) -> f64 {
    (elapsed.as_secs_f64() * 1e6).round() / 1e3
}

impl Exchange {
    pub fn denied(method: &str, url: &str, reason: &str, elapsed: Duration) -> Exchange {
        Exchange {
            method: method.into(),
            url: url.into(),
            request_headers: Vec::new(),
            request_body: String::new(),
            status: None,
            response_headers: Vec::new(),
            response_body: String::new(),
            error: Some(format!("refused by policy: {reason}")),
            millis: millis(elapsed),
        }
    }

    pub fn failed(
        method: &str,
        url: &str,
        request_headers: &http::HeaderMap,
        request_body: &[u8],
        error: &wasmtime_wasi_http::Error,
        elapsed: Duration,
    ) -> Exchange {
        Exchange {
            request_headers: headers(request_headers),
            request_body: body(request_body),
            error: Some(format!("{error:?}")),
            ..Exchange::denied(method, url, "", elapsed)
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn answered(
        method: &str,
        url: &str,
        request_headers: &http::HeaderMap,
        request_body: &[u8],
        status: http::StatusCode,
        response_headers: &http::HeaderMap,
        response_body: &[u8],
        elapsed: Duration,
    ) -> Exchange {
        Exchange {
            method: method.into(),
            url: url.into(),
            request_headers: headers(request_headers),
            request_body: body(request_body),
            status: Some(status.as_u16()),
            response_headers: headers(response_headers),
            response_body: body(response_body),
            error: None,
            millis: millis(elapsed),
        }
    }
}

/// Appends exchanges to a file, one JSON object per line.
pub struct HttpLog {
    file: Mutex<File>,
}

impl HttpLog {
    /// Opens `path` for appending; a new file is `0600` (bodies hold repository content).
    pub fn create(path: &Path) -> std::io::Result<HttpLog> {
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path)?;
        Ok(HttpLog { file: Mutex::new(file) })
    }

    pub fn write(&self, exchange: &Exchange) {
        let Ok(mut line) = serde_json::to_string(exchange) else { return };
        line.push('\n');
        let mut file = self.file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Err(error) = file.write_all(line.as_bytes()) {
            tracing::warn!(%error, "cannot write the HTTP log");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        let mut map = http::HeaderMap::new();
        map.insert("authorization", "Bearer s3cret".parse().unwrap());
        map.insert("user-agent", "fgd-sync".parse().unwrap());
        let logged = serde_json::to_string(&headers(&map)).unwrap();
        assert!(!logged.contains("s3cret"));
        assert!(logged.contains("fgd-sync"));
    }
}
