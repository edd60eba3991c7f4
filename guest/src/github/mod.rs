//! The GitHub REST protocol, pure: builds requests and reads responses for the operations a
//! sync uses. No I/O here; `Transport` is the one door to the network and `Environment` the one
//! source of time and randomness.
//!
//! * `requests`: checked URLs, required headers, JSON bodies;
//! * `responses`: lenient parsers and GitHub's error messages;
//! * `client`: the retry and rate-limit policy around a `Transport`.

pub mod client;
pub mod requests;
pub mod responses;

/// An HTTP request as the guest wants it sent. The host adds `Authorization`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    /// Absolute URL: `<api-base>/repos/...`.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    /// Names in lowercase.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Sends one request. `Err` means no HTTP answer at all (refused by the host's policy,
/// connection failure, timeout); every HTTP status is `Ok`.
pub trait Transport {
    fn send(&mut self, request: &HttpRequest) -> Result<HttpResponse, String>;
}

/// Time and randomness, from the host (WASI in the component): a host that fixes them makes
/// a sync deterministic.
pub trait Environment {
    fn now_epoch_secs(&mut self) -> u64;
    fn sleep_ms(&mut self, ms: u64);
    fn random_u64(&mut self) -> u64;
}
