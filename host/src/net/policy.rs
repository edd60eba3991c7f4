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
    /// A trailing dot (`api.github.com.`) is refused, not stripped: it names another host to
    /// TLS and to virtual hosting, and a configured origin must mean one thing.
    pub fn parse(url: &str) -> Result<Origin, String> {
        let uri: http::Uri = url.parse().map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        if uri.host().is_some_and(|h| h.ends_with('.')) {
            return Err(format!("{url:?} ends its host name with a dot: write it without"));
        }
        Origin::of(&uri).ok_or_else(|| format!("{url:?} is not an absolute http(s) URL"))
    }

    /// `localhost` or a loopback address: traffic that never leaves the machine.
    pub fn is_loopback(&self) -> bool {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
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
        // Kept as written: `host.` differs from every configured origin, so it is refused.
        let host = authority.host().to_ascii_lowercase();
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

/// One repository on a forge's API: the only requests its token may go with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoScope {
    /// `<api path>/repos/<owner>/<repo>`, lowercase (GitHub's names are case-insensitive).
    prefix: String,
}

impl RepoScope {
    /// The repository `owner/repo` under `api_base` (`https://api.github.com` or
    /// `https://ghe.example/api/v3`).
    pub fn new(api_base: &str, owner: &str, repo: &str) -> Result<RepoScope, String> {
        let uri: http::Uri = api_base.parse().map_err(|e| format!("{api_base:?} is not a URL: {e}"))?;
        let name_ok = |n: &str| {
            !n.is_empty()
                && n != "."
                && n != ".."
                && n.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        };
        if !name_ok(owner) || !name_ok(repo) {
            return Err(format!("{owner}/{repo} is not a repository name"));
        }
        let base = uri.path().trim_end_matches('/');
        Ok(RepoScope { prefix: format!("{base}/repos/{owner}/{repo}").to_ascii_lowercase() })
    }

    /// Whether `method path` is one of the requests fgd-sync makes for this repository:
    /// reads of anything in it; writes of Git objects and refs (`git/trees`, `git/commits`,
    /// `git/refs/...`) and of files (`contents/...`). Dot segments and encoded slashes are
    /// refused outright: a server that normalizes them would see another path.
    pub fn allows(&self, method: &http::Method, path: &str) -> Result<(), &'static str> {
        let lower = path.to_ascii_lowercase();
        if lower.contains("%2f") || lower.contains("%5c") || lower.contains('\\') {
            return Err("encoded slash in the path");
        }
        let dot = |seg: &str| {
            let seg = seg.replace("%2e", ".");
            seg == "." || seg == ".."
        };
        if lower.split('/').any(dot) {
            return Err("dot segment in the path");
        }
        let Some(rest) = lower.strip_prefix(&self.prefix).filter(|r| r.is_empty() || r.starts_with('/')) else {
            return Err("outside the repository the token is for");
        };
        let write_ok = |prefixes: &[&str]| prefixes.iter().any(|p| rest.starts_with(p));
        match *method {
            http::Method::GET | http::Method::HEAD => Ok(()),
            http::Method::POST if write_ok(&["/git/trees", "/git/commits", "/git/blobs", "/git/refs"]) => Ok(()),
            http::Method::PATCH if write_ok(&["/git/refs/"]) => Ok(()),
            http::Method::PUT if write_ok(&["/contents/"]) => Ok(()),
            _ => Err("a method and path fgd-sync does not use"),
        }
    }
}

/// One allowed origin: the token injected into its requests, and, for a forge, the one
/// repository requests may address (everything else on the origin is refused).
#[derive(Clone, Debug)]
struct Allowed {
    origin: Origin,
    scope: Option<RepoScope>,
    token: Option<Token>,
}

/// The allow-list: each allowed origin with the token injected into its requests.
#[derive(Clone, Debug, Default)]
pub struct EgressPolicy {
    allowed: Vec<Allowed>,
    /// Credentials may go over plain HTTP to other hosts than loopback (`--allow-insecure-http`).
    insecure_http: bool,
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
    /// Lets tokens go over plain HTTP to any host (the operator's opt-in; loopback always may).
    pub fn allow_insecure_http(&mut self, yes: bool) {
        self.insecure_http = yes;
    }

    /// Allows every path of `origin`, with `token` on each request. For origins that are not
    /// a forge (stand-ins in tests); a forge's token goes through [`EgressPolicy::allow_repository`].
    pub fn allow(&mut self, origin: Origin, token: Option<Token>) {
        self.allowed.retain(|a| a.origin != origin);
        self.allowed.push(Allowed { origin, scope: None, token });
    }

    /// Allows the requests fgd-sync makes for one repository (`RepoScope::allows`) and
    /// nothing else on its origin. A token over plain HTTP to a host other than loopback
    /// is refused unless [`EgressPolicy::allow_insecure_http`] was given.
    pub fn allow_repository(
        &mut self,
        api_base: &str,
        owner: &str,
        repo: &str,
        token: Option<Token>,
    ) -> Result<(), String> {
        let origin = Origin::parse(api_base)?;
        if token.is_some() && origin.scheme == "http" && !origin.is_loopback() && !self.insecure_http {
            return Err(format!(
                "{api_base} is plain HTTP: the token would cross the network readable; use https, or --allow-insecure-http"
            ));
        }
        let scope = RepoScope::new(api_base, owner, repo)?;
        self.allowed.retain(|a| a.origin != origin);
        self.allowed.push(Allowed { origin, scope: Some(scope), token });
        Ok(())
    }

    /// `Ok(token)` when the request may leave (the token to inject, if any): its origin is
    /// allowed and, for a repository's origin, it is a request fgd-sync makes for that repository.
    pub fn check(&self, method: &http::Method, uri: &http::Uri) -> Result<Option<&Token>, Denied> {
        let url = uri.to_string();
        let origin = Origin::of(uri).ok_or(Denied { url: url.clone(), reason: "not an absolute http(s) URL" })?;
        let allowed = self
            .allowed
            .iter()
            .find(|a| a.origin == origin)
            .ok_or(Denied { url: url.clone(), reason: "origin not in the allow-list" })?;
        if let Some(scope) = &allowed.scope {
            scope.allows(method, uri.path()).map_err(|reason| Denied { url, reason })?;
        }
        Ok(allowed.token.as_ref())
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
        let ok = |u: &str| p.check(&http::Method::GET, &u.parse().unwrap()).is_ok();
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
        let token = p.check(&http::Method::GET, &"https://api.github.com/x".parse().unwrap()).unwrap();
        assert_eq!(token.map(Token::expose), Some("s3cret"));
        assert!(p.check(&http::Method::GET, &"http://127.0.0.1:8080/x".parse().unwrap()).unwrap().is_none());
    }

    /// Issue 12, item 7: a compromised guest cannot spend the token on gists, other
    /// repositories or deploy keys; only the requests a sync makes reach the forge.
    #[test]
    fn a_repository_token_goes_only_with_that_repository_s_requests() {
        let mut p = EgressPolicy::default();
        p.allow_repository("https://ghe.example/api/v3/", "Acme", "fabric", Some(Token::new("s3cret"))).unwrap();
        let check = |m: &str, u: &str| {
            p.check(&m.parse().unwrap(), &format!("https://ghe.example{u}").parse().unwrap()).map(|t| t.is_some())
        };
        let base = "/api/v3/repos/acme/fabric";
        for (m, u) in [
            ("GET", format!("{base}/git/ref/heads/main")),
            ("GET", format!("{base}/git/trees/abc?recursive=1")),
            ("GET", format!("{base}/commits?sha=abc&path=a/b.yaml")),
            ("GET", base.to_string()),
            ("POST", format!("{base}/git/trees")),
            ("POST", format!("{base}/git/commits")),
            ("PATCH", format!("{base}/git/refs/heads/feature/x")),
            ("PUT", format!("{base}/contents/fabrics/dc1/a.yaml")),
            ("GET", "/api/v3/repos/ACME/Fabric/git/ref/heads/main".to_string()),
        ] {
            assert_eq!(check(m, &u), Ok(true), "{m} {u}");
        }
        for (m, u) in [
            ("POST", "/api/v3/gists".to_string()),
            ("GET", "/api/v3/repos/acme/other/contents/secret".to_string()),
            ("GET", "/api/v3/repos/acme/fabric-other/git/ref/heads/main".to_string()),
            ("POST", format!("{base}/keys")),
            ("PUT", format!("{base}/collaborators/mallory")),
            ("DELETE", format!("{base}/git/refs/heads/main")),
            ("PATCH", base.to_string()),
            ("GET", format!("{base}/../other/contents/x")),
            ("GET", format!("{base}/%2e%2e/other/contents/x")),
            ("GET", format!("{base}/contents/a%2Fb")),
            ("GET", "/user".to_string()),
            ("GET", "/repos/acme/fabric/git/ref/heads/main".to_string()),
        ] {
            assert!(check(m, &u).is_err(), "{m} {u} must be refused");
        }
    }

    /// Issue 12, item 8: a token never crosses the network in clear text unless the operator
    /// says so; trailing dots in configured origins are refused.
    #[test]
    fn no_token_over_plain_http_except_to_loopback() {
        let token = || Some(Token::new("s3cret"));
        let mut p = EgressPolicy::default();
        assert!(p.allow_repository("http://ghe.example/api/v3", "o", "r", token()).is_err());
        assert!(p.allow_repository("http://ghe.example/api/v3", "o", "r", None).is_ok(), "no token, nothing to leak");
        assert!(p.allow_repository("http://127.0.0.1:8080", "o", "r", token()).is_ok());
        assert!(p.allow_repository("http://[::1]:8080", "o", "r", token()).is_ok());
        assert!(p.allow_repository("http://localhost:8080", "o", "r", token()).is_ok());
        p.allow_insecure_http(true);
        assert!(p.allow_repository("http://ghe.example/api/v3", "o", "r", token()).is_ok());
        assert!(Origin::parse("https://api.github.com./").is_err());
        let mut p = EgressPolicy::default();
        p.allow(Origin::parse("https://api.github.com").unwrap(), None);
        assert!(p.check(&http::Method::GET, &"https://api.github.com./x".parse().unwrap()).is_err());
    }

    #[test]
    fn userinfo_is_refused() {
        assert!(Origin::parse("https://user@api.github.com").is_err());
        assert!(format!("{:?}", Token::new("s3cret")).contains("redacted"));
    }
}
