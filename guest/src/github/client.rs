//! Sends requests through a `Transport` with GitHub's retry rules: bounded, jittered retries
//! for 5xx, 408 and missing answers; waits for rate limits up to a limit; every other status
//! goes back to the caller unretried (a stale 409/422 cannot succeed on a repeat). Counts
//! every request sent, retries included.

use super::responses::error_message;
use super::{Environment, HttpRequest, HttpResponse, Transport};
use crate::model::{RateLimit, RemoteError, SyncError};

/// Retries after a 5xx, a 408 or no answer (so at most 4 tries).
pub const MAX_RETRIES: u32 = 3;
/// First retry delay; doubles for each further retry.
pub const BACKOFF_BASE_MS: u64 = 1_000;
/// Rate-limit waits per request before giving up (each wait is bounded on its own).
pub const MAX_RATE_LIMIT_WAITS: u32 = 5;
/// Secondary-limit wait when GitHub names none: at least a minute, doubling.
pub const SECONDARY_WAIT_SECS: u64 = 60;

/// Longest single back-off wait (before jitter).
pub const MAX_BACKOFF_MS: u64 = 30_000;

/// `base * 2^n` plus up to half as much jitter, so clients that failed together spread out.
pub fn backoff_ms(retry: u32, random: u64) -> u64 {
    // Capped, so many attempts never add up to waits longer than the host's time limit.
    let delay = BACKOFF_BASE_MS.saturating_mul(1u64 << retry.min(16)).min(MAX_BACKOFF_MS);
    delay.saturating_add(random % (delay / 2 + 1))
}

/// How GitHub said "slow down".
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Limit {
    /// Primary limit used up; it resets at this epoch second.
    Primary { reset_at: u64 },
    /// Secondary limit; wait this many seconds when GitHub said so.
    Secondary { retry_after: Option<u64> },
}

/// Recognises a rate-limit answer: 403 or 429 with `x-ratelimit-remaining: 0` (primary), or with
/// `retry-after` or a "secondary rate limit" message (secondary). Any other 403 is a refusal.
pub fn rate_limit(response: &HttpResponse) -> Option<Limit> {
    if !matches!(response.status, 403 | 429) {
        return None;
    }
    let number = |name: &str| response.header(name).and_then(|v| v.trim().parse::<u64>().ok());
    let retry_after = number("retry-after");
    if number("x-ratelimit-remaining") == Some(0) && retry_after.is_none() {
        if let Some(reset_at) = number("x-ratelimit-reset") {
            return Some(Limit::Primary { reset_at });
        }
    }
    let message = error_message(response).to_ascii_lowercase();
    let secondary = retry_after.is_some()
        || message.contains("secondary rate limit")
        || message.contains("abuse detection")
        || number("x-ratelimit-remaining") == Some(0)
        || response.status == 429;
    secondary.then_some(Limit::Secondary { retry_after })
}

/// A `Transport` with the retry policy, the environment's clock, and a request counter.
pub struct Client<'a> {
    transport: &'a mut dyn Transport,
    env: &'a mut dyn Environment,
    max_wait_secs: u64,
    requests: u32,
}

impl<'a> Client<'a> {
    pub fn new(transport: &'a mut dyn Transport, env: &'a mut dyn Environment, max_wait_secs: u64) -> Client<'a> {
        Client { transport, env, max_wait_secs, requests: 0 }
    }

    /// HTTP requests sent so far, retries included.
    pub fn requests(&self) -> u32 {
        self.requests
    }

    pub fn env(&mut self) -> &mut dyn Environment {
        &mut *self.env
    }

    /// Sends `request` until it gets an answer worth returning: any status but 5xx, 408 and
    /// rate limits. `Err` when retries or the rate-limit wait run out.
    pub fn send(&mut self, request: &HttpRequest) -> Result<HttpResponse, SyncError> {
        let mut failures = 0u32;
        let mut limit_waits = 0u32;
        let mut secondary_waits = 0u32;
        loop {
            self.requests = self.requests.saturating_add(1);
            let response = match self.transport.send(request) {
                Ok(response) => response,
                Err(e) => {
                    if failures >= MAX_RETRIES {
                        return Err(SyncError::Transport(format!(
                            "{} {}: {e} (gave up after {} tries)",
                            request.method,
                            request.url,
                            failures + 1
                        )));
                    }
                    self.back_off(failures);
                    failures += 1;
                    continue;
                }
            };
            if let Some(limit) = rate_limit(&response) {
                let now = self.env.now_epoch_secs();
                let (reset_at, wait_secs) = match limit {
                    // +1 s: the reset second itself may still be limited.
                    Limit::Primary { reset_at } => (reset_at, reset_at.saturating_sub(now).saturating_add(1)),
                    Limit::Secondary { retry_after } => {
                        let wait = retry_after
                            .unwrap_or_else(|| SECONDARY_WAIT_SECS.saturating_mul(1u64 << secondary_waits.min(16)));
                        secondary_waits += 1;
                        (now.saturating_add(wait), wait)
                    }
                };
                let within = match limit {
                    Limit::Primary { reset_at } => reset_at.saturating_sub(now) <= self.max_wait_secs,
                    Limit::Secondary { .. } => wait_secs <= self.max_wait_secs,
                };
                if !within || limit_waits >= MAX_RATE_LIMIT_WAITS {
                    return Err(SyncError::RateLimited(RateLimit { reset_at, message: error_message(&response) }));
                }
                limit_waits += 1;
                self.env.sleep_ms(wait_secs.saturating_mul(1_000));
                continue;
            }
            if response.status >= 500 || response.status == 408 {
                if failures >= MAX_RETRIES {
                    return Err(SyncError::Remote(RemoteError {
                        method: request.method.clone(),
                        url: request.url.clone(),
                        status: response.status,
                        message: format!("{} (gave up after {} tries)", error_message(&response), failures + 1),
                    }));
                }
                self.back_off(failures);
                failures += 1;
                continue;
            }
            return Ok(response);
        }
    }

    fn back_off(&mut self, retry: u32) {
        let random = self.env.random_u64();
        self.env.sleep_ms(backoff_ms(retry, random));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, headers: &[(&str, &str)], body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn recognises_rate_limits() {
        let primary = [("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1700000000")];
        assert_eq!(rate_limit(&resp(403, &primary, "{}")), Some(Limit::Primary { reset_at: 1_700_000_000 }));
        assert_eq!(rate_limit(&resp(429, &primary, "{}")), Some(Limit::Primary { reset_at: 1_700_000_000 }));
        assert_eq!(
            rate_limit(&resp(403, &[("retry-after", "7")], "{}")),
            Some(Limit::Secondary { retry_after: Some(7) })
        );
        let secondary = r#"{"message":"You have exceeded a secondary rate limit. Please wait."}"#;
        assert_eq!(rate_limit(&resp(403, &[], secondary)), Some(Limit::Secondary { retry_after: None }));
        assert_eq!(rate_limit(&resp(429, &[], "")), Some(Limit::Secondary { retry_after: None }));
        // A plain permission refusal, even with rate-limit headers left, is not a limit.
        let forbidden = r#"{"message":"Resource not accessible by integration"}"#;
        assert_eq!(rate_limit(&resp(403, &[("x-ratelimit-remaining", "4999")], forbidden)), None);
        assert_eq!(rate_limit(&resp(422, &[("retry-after", "1")], "{}")), None);
    }

    #[test]
    fn backoff_grows_and_jitters_within_bounds() {
        assert_eq!(backoff_ms(0, 0), 1_000);
        assert_eq!(backoff_ms(1, 0), 2_000);
        assert_eq!(backoff_ms(2, 0), 4_000);
        assert_eq!(backoff_ms(2, 2_000), 6_000);
        assert!(backoff_ms(2, u64::MAX) <= 6_000);
        assert!(backoff_ms(u32::MAX, u64::MAX) > 0);
    }
}
