//! Which authorities the guest may reach, and with which credential. Pure: parsed once,
//! then checked in exactly one place (`hooks::PolicyHooks::send_request`), failing closed.

use std::fmt;

/// `scheme://host:port`, lowercase, explicit port: what a request is matched on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    pub scheme: String,
    pub host: String,
    pub port: u16,
}

impl Origin {
    /// Parses the origin of an absolute http(s) URL such as `https://api.github.com` or
    /// `http://127.0.0.1:8080/api/v3`. Userinfo (`user@host`) is refused.
    pub fn parse(url: &str) -> Result<Origin, String> {
        let uri: http::Uri = url.parse().map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        Origin::of(&uri).ok_or_else(|| format!("{url:?} is not an absolute http(s) URL"))
    }

    /// The origin of a request URI, from the URI alone: never from a `Host` header.
    pub fn of(uri: &http::Uri) -> Option<Origin> {
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "https" => 443,
            "http" => 80,
            _ => return None,
        };
        let authority = uri.authority()?;
        if authority.as_str().contains('@') {
            return None;
        }
        let host = authority.host().trim_end_matches('.').to_ascii_lowercase();
        if host.is_empty() {
            return None;
        }
        Some(Origin { scheme, host, port: authority.port_u16().unwrap_or(default_port) })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// A secret the host adds to requests; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(secret: impl Into<String>) -> Token {
        Token(secret.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// The allow-list: each allowed origin with the token injected into its requests.
#[derive(Clone, Debug, Default)]
pub struct EgressPolicy {
    allowed: Vec<(Origin, Option<Token>)>,
}

/// Why a request was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denied {
    pub url: String,
    pub reason: &'static str,
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request to {} refused: {}", self.url, self.reason)
    }
}

impl EgressPolicy {
    pub fn allow(&mut self, origin: Origin, token: Option<Token>) {
        self.allowed.retain(|(o, _)| *o != origin);
        self.allowed.push((origin, token));
    }

    /// `Ok(token)` when the URI's origin is allowed (the token to inject, if any).
    pub fn check(&self, uri: &http::Uri) -> Result<Option<&Token>, Denied> {
        let url = uri.to_string();
        let origin = Origin::of(uri).ok_or(Denied { url: url.clone(), reason: "not an absolute http(s) URL" })?;
        self.allowed
            .iter()
            .find(|(o, _)| *o == origin)
            .map(|(_, token)| token.as_ref())
            .ok_or(Denied { url, reason: "origin not in the allow-list" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> EgressPolicy {
        let mut p = EgressPolicy::default();
        p.allow(Origin::parse("https://api.github.com").unwrap(), Some(Token::new("s3cret")));
        p.allow(Origin::parse("http://127.0.0.1:8080/api/v3").unwrap(), None);
        p
    }

    #[test]
    fn allows_configured_origins_only() {
        let p = policy();
        let ok = |u: &str| p.check(&u.parse().unwrap()).is_ok();
        assert!(ok("https://api.github.com/repos/o/r/git/ref/heads/main"));
        assert!(ok("https://API.GitHub.com:443/x"));
        assert!(ok("http://127.0.0.1:8080/anything"));
        assert!(!ok("http://api.github.com/x"), "scheme is part of the origin");
        assert!(!ok("https://api.github.com:8443/x"), "port is part of the origin");
        assert!(!ok("https://api.github.com.evil.example/x"));
        assert!(!ok("https://evil.example/x"));
        assert!(!ok("http://127.0.0.1:8081/x"));
        assert!(!ok("/relative"));
    }

    #[test]
    fn token_goes_only_to_its_origin() {
        let p = policy();
        let token = p.check(&"https://api.github.com/x".parse().unwrap()).unwrap();
        assert_eq!(token.map(Token::expose), Some("s3cret"));
        assert!(p.check(&"http://127.0.0.1:8080/x".parse().unwrap()).unwrap().is_none());
    }

    #[test]
    fn userinfo_is_refused() {
        assert!(Origin::parse("https://user@api.github.com").is_err());
        assert!(format!("{:?}", Token::new("s3cret")).contains("redacted"));
    }
}
