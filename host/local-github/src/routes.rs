//! Maps a method and a path to an operation, pure. Paths are percent-decoded; multi-segment
//! parameters (branch names, file paths) keep their slashes.

/// One supported operation, with its path parameters still unvalidated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    GetRepo,
    /// `heads/main` (what follows `git/ref/`).
    GetRef(String),
    CreateRef,
    UpdateRef(String),
    DeleteRef(String),
    /// A tree id, commit id, or branch/tag name.
    GetTree(String),
    CreateTree,
    GetBlob(String),
    CreateBlob,
    GetCommit(String),
    CreateCommit,
    /// The file path (may be empty: the root directory).
    GetContents(String),
    PutContents(String),
    DeleteContents(String),
    /// `GET /commits?sha=&path=&per_page=&page=`.
    ListCommits,
    /// `{base}...{head}` (what follows `compare/`).
    Compare(String),
}

/// A routed request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub owner: String,
    pub repo: String,
    pub route: Route,
    pub query: Vec<(String, String)>,
}

impl Target {
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// `None` for anything unknown (GitHub answers 404 also for a wrong method on a known path).
pub(crate) fn route(method: &str, path_and_query: &str) -> Option<Target> {
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let path = percent_decode(path)?;
    let rest = path.strip_prefix("/repos/")?;
    let mut it = rest.splitn(3, '/');
    let owner = it.next().filter(|s| !s.is_empty())?.to_string();
    let repo = it.next().filter(|s| !s.is_empty())?.to_string();
    let tail = it.next();
    let m = method.to_ascii_uppercase();
    let route = match tail {
        None | Some("") => (m == "GET").then_some(Route::GetRepo)?,
        Some(tail) => op(&m, tail)?,
    };
    Some(Target { owner, repo, route, query: parse_query(query) })
}

fn op(m: &str, tail: &str) -> Option<Route> {
    let param = |prefix: &str| tail.strip_prefix(prefix).filter(|s| !s.is_empty()).map(str::to_string);
    Some(match (m, tail) {
        ("POST", "git/refs") => Route::CreateRef,
        ("POST", "git/trees") => Route::CreateTree,
        ("POST", "git/blobs") => Route::CreateBlob,
        ("POST", "git/commits") => Route::CreateCommit,
        ("GET", "contents") | ("GET", "contents/") => Route::GetContents(String::new()),
        ("GET", "commits") => Route::ListCommits,
        ("GET", _) if tail.starts_with("compare/") => Route::Compare(param("compare/")?),
        ("GET", _) if tail.starts_with("git/ref/") => Route::GetRef(param("git/ref/")?),
        ("PATCH", _) if tail.starts_with("git/refs/") => Route::UpdateRef(param("git/refs/")?),
        ("DELETE", _) if tail.starts_with("git/refs/") => Route::DeleteRef(param("git/refs/")?),
        ("GET", _) if tail.starts_with("git/trees/") => Route::GetTree(param("git/trees/")?),
        ("GET", _) if tail.starts_with("git/blobs/") => Route::GetBlob(param("git/blobs/")?),
        ("GET", _) if tail.starts_with("git/commits/") => Route::GetCommit(param("git/commits/")?),
        ("GET", _) if tail.starts_with("contents/") => {
            Route::GetContents(param("contents/")?.trim_end_matches('/').to_string())
        }
        ("PUT", _) if tail.starts_with("contents/") => Route::PutContents(param("contents/")?),
        ("DELETE", _) if tail.starts_with("contents/") => Route::DeleteContents(param("contents/")?),
        _ => return None,
    })
}

/// Decodes `%XX`; `None` for a bad escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Some((percent_decode(&k.replace('+', " "))?, percent_decode(&v.replace('+', " "))?))
        })
        .collect()
}

/// Percent-encodes a repository path or ref for use in a URL (keeps `/`).
pub(crate) fn encode_path(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(method: &str, p: &str) -> Option<Route> {
        route(method, p).map(|t| t.route)
    }

    #[test]
    fn routes() {
        assert_eq!(r("GET", "/repos/o/r"), Some(Route::GetRepo));
        assert_eq!(r("GET", "/repos/o/r/git/ref/heads/feature/x"), Some(Route::GetRef("heads/feature/x".into())));
        assert_eq!(r("PATCH", "/repos/o/r/git/refs/heads/main"), Some(Route::UpdateRef("heads/main".into())));
        assert_eq!(r("GET", "/repos/o/r/git/trees/main?recursive=1"), Some(Route::GetTree("main".into())));
        assert_eq!(r("GET", "/repos/o/r/contents/a%20b/c.yaml?ref=x"), Some(Route::GetContents("a b/c.yaml".into())));
        assert_eq!(r("GET", "/repos/o/r/contents"), Some(Route::GetContents(String::new())));
        assert_eq!(r("POST", "/repos/o/r/git/ref/heads/main"), None);
        assert_eq!(r("DELETE", "/repos/o/r/git/blobs"), None);
        assert_eq!(r("GET", "/repos/o/r/git/ref/"), None);
        assert_eq!(r("GET", "/repos/o/r/pulls"), None);
        assert_eq!(r("GET", "/repos/o/r/commits?sha=main&per_page=1"), Some(Route::ListCommits));
        assert_eq!(r("GET", "/repos/o/r/compare/abc...feature/x"), Some(Route::Compare("abc...feature/x".into())));
        assert_eq!(r("GET", "/user"), None);
        assert_eq!(r("GET", "/repos/o/r/contents/%ZZ"), None);
        assert_eq!(r("GET", "/repos//r"), None);
    }

    #[test]
    fn queries() {
        let t = route("GET", "/repos/o/r/contents/x?ref=feature%2Fy&recursive").unwrap();
        assert_eq!(t.query("ref"), Some("feature/y"));
        assert_eq!(t.query("recursive"), Some(""));
        assert_eq!(encode_path("a b/ü.yaml"), "a%20b/%C3%BC.yaml");
    }
}
