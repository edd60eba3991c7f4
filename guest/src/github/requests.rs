//! Request builders for the GitHub REST operations a sync uses: checked URLs, the headers
//! GitHub requires, and JSON bodies. Pure: nothing here sends anything.

use base64::Engine as _;
use serde::Serialize;

use super::HttpRequest;
use crate::model::{Identity, SyncError, Target};
use crate::plan::FileWrite;

/// `Accept` GitHub recommends for the REST API.
pub const ACCEPT: &str = "application/vnd.github+json";
/// The REST API version these requests and parsers were written against.
pub const API_VERSION: &str = "2022-11-28";
/// Mode of every file the sync writes: a regular, non-executable file.
pub const FILE_MODE: &str = "100644";

/// `fgd-sync/<version>`: GitHub refuses requests without a `User-Agent`.
pub fn user_agent() -> String {
    format!("fgd-sync/{}", env!("CARGO_PKG_VERSION"))
}

/// One repository and branch on one GitHub API, with every part checked so that it addresses
/// exactly what it names once put into a URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repo {
    /// Scheme and authority (and `/api/v3` for GHES), without a trailing `/`.
    base: String,
    owner: String,
    name: String,
    branch: String,
}

impl Repo {
    pub fn from_target(target: &Target) -> Result<Repo, SyncError> {
        Repo::new(&target.api_base, &target.owner, &target.repo, &target.branch)
    }

    pub fn new(api_base: &str, owner: &str, repo: &str, branch: &str) -> Result<Repo, SyncError> {
        Ok(Repo {
            base: check_api_base(api_base)?,
            owner: check_name("owner", owner)?.to_string(),
            name: check_name("repo", repo)?.to_string(),
            branch: check_branch(branch)?.to_string(),
        })
    }

    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// `<base>/repos/<owner>/<repo><rest>`; `rest` must already be encoded.
    fn url(&self, rest: &str) -> String {
        format!("{}/repos/{}/{}{rest}", self.base, encode_segment(&self.owner), encode_segment(&self.name))
    }

    /// `GET /repos/{o}/{r}/git/ref/heads/{branch}`: the branch head (404 absent, 409 empty repo).
    pub fn get_ref(&self) -> HttpRequest {
        get(self.url(&format!("/git/ref/heads/{}", encode_path(&self.branch))))
    }

    /// `GET /repos/{o}/{r}/git/trees/{sha}`. A commit SHA is accepted too: the answer is then
    /// the commit's root tree, whose own SHA is the answer's `sha`.
    pub fn get_tree(&self, sha: &str, recursive: bool) -> HttpRequest {
        let query = if recursive { "?recursive=1" } else { "" };
        get(self.url(&format!("/git/trees/{}{query}", encode_segment(sha))))
    }

    /// `GET /repos/{o}/{r}/git/blobs/{sha}`.
    pub fn get_blob(&self, sha: &str) -> HttpRequest {
        get(self.url(&format!("/git/blobs/{}", encode_segment(sha))))
    }

    /// `POST /repos/{o}/{r}/git/trees`: `base_tree` plus the writes; inline `content` writes a
    /// file, `sha: null` deletes one.
    pub fn create_tree(&self, base_tree: &str, writes: &[FileWrite]) -> HttpRequest {
        let tree = writes
            .iter()
            .map(|w| match &w.content {
                Some(content) => TreeEntry::Write { path: &w.path, mode: FILE_MODE, kind: "blob", content },
                None => TreeEntry::Delete { path: &w.path, mode: FILE_MODE, kind: "blob", sha: None },
            })
            .collect();
        post(self.url("/git/trees"), "POST", &CreateTree { base_tree, tree })
    }

    /// `POST /repos/{o}/{r}/git/commits` with exactly one parent.
    pub fn create_commit(&self, message: &str, tree: &str, parent: &str, identity: Option<&Identity>) -> HttpRequest {
        let person = identity.map(Person::from);
        let body = CreateCommit { message, tree, parents: [parent], author: person.clone(), committer: person };
        post(self.url("/git/commits"), "POST", &body)
    }

    /// `PATCH /repos/{o}/{r}/git/refs/heads/{branch}` with `force: false`: the compare-and-swap.
    pub fn update_ref(&self, sha: &str) -> HttpRequest {
        let url = self.url(&format!("/git/refs/heads/{}", encode_path(&self.branch)));
        post(url, "PATCH", &UpdateRef { sha, force: false })
    }

    /// `GET /repos/{o}/{r}/compare/{base}...{branch}`: where `base` (our commit) stands
    /// relative to the branch; `identical` or `ahead` means the branch holds it.
    pub fn compare(&self, base: &str) -> HttpRequest {
        get(self.url(&format!("/compare/{}...{}", encode_segment(base), encode_path(&self.branch))))
    }

    /// `GET /repos/{o}/{r}/commits?sha={head}&path={path}&per_page=1`: the last commit
    /// reachable from `head` that changed `path` (newest first).
    pub fn last_commit_touching(&self, head: &str, path: &str) -> HttpRequest {
        let query = format!("?sha={}&path={}&per_page=1", encode_segment(head), encode_path(path));
        get(self.url(&format!("/commits{query}")))
    }

    /// `GET /repos/{o}/{r}/contents/{path}?ref={commit}`: a file as it was at one commit.
    pub fn get_contents_at(&self, path: &str, commit: &str) -> HttpRequest {
        get(self.url(&format!("/contents/{}?ref={}", encode_path(path), encode_segment(commit))))
    }

    /// `PUT /repos/{o}/{r}/contents/{path}`: creates a file in its own commit. Used only for
    /// the first commit of an empty repository, where the Git Data API answers 409.
    pub fn put_contents(&self, path: &str, message: &str, content: &str, identity: Option<&Identity>) -> HttpRequest {
        let person = identity.map(Person::from);
        let body = PutContents {
            message,
            content: base64::engine::general_purpose::STANDARD.encode(content.as_bytes()),
            branch: &self.branch,
            author: person.clone(),
            committer: person,
        };
        post(self.url(&format!("/contents/{}", encode_path(path))), "PUT", &body)
    }
}

fn headers(with_body: bool) -> Vec<(String, String)> {
    let mut h = vec![
        ("Accept".to_string(), ACCEPT.to_string()),
        ("X-GitHub-Api-Version".to_string(), API_VERSION.to_string()),
        ("User-Agent".to_string(), user_agent()),
    ];
    if with_body {
        h.push(("Content-Type".to_string(), "application/json".to_string()));
    }
    h
}

fn get(url: String) -> HttpRequest {
    HttpRequest { method: "GET".into(), url, headers: headers(false), body: None }
}

fn post(url: String, method: &str, body: &impl Serialize) -> HttpRequest {
    // Serializing these plain structs cannot fail; an empty body would be refused loudly.
    let body = serde_json::to_vec(body).unwrap_or_default();
    HttpRequest { method: method.into(), url, headers: headers(true), body: Some(body) }
}

#[derive(Serialize)]
struct CreateTree<'a> {
    base_tree: &'a str,
    tree: Vec<TreeEntry<'a>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum TreeEntry<'a> {
    Write {
        path: &'a str,
        mode: &'static str,
        #[serde(rename = "type")]
        kind: &'static str,
        content: &'a str,
    },
    /// `sha: null` (present, not omitted) is what deletes the path.
    Delete {
        path: &'a str,
        mode: &'static str,
        #[serde(rename = "type")]
        kind: &'static str,
        sha: Option<&'a str>,
    },
}

#[derive(Clone, Serialize)]
struct Person {
    name: String,
    email: String,
}

impl From<&Identity> for Person {
    fn from(i: &Identity) -> Person {
        Person { name: i.name.clone(), email: i.email.clone() }
    }
}

#[derive(Serialize)]
struct CreateCommit<'a> {
    message: &'a str,
    tree: &'a str,
    parents: [&'a str; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    author: Option<Person>,
    #[serde(skip_serializing_if = "Option::is_none")]
    committer: Option<Person>,
}

#[derive(Serialize)]
struct UpdateRef<'a> {
    sha: &'a str,
    force: bool,
}

#[derive(Serialize)]
struct PutContents<'a> {
    message: &'a str,
    content: String,
    branch: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    author: Option<Person>,
    #[serde(skip_serializing_if = "Option::is_none")]
    committer: Option<Person>,
}

/// Percent-encodes one path segment: everything but RFC 3986 unreserved characters, so `/`,
/// `#`, `?`, `%` and spaces cannot change what the URL addresses.
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Encodes each `/`-separated segment and keeps the `/` (branch names and file paths).
pub fn encode_path(path: &str) -> String {
    path.split('/').map(encode_segment).collect::<Vec<_>>().join("/")
}

fn invalid(what: &str, value: &str, why: &str) -> SyncError {
    SyncError::InvalidTarget(format!("{what} {value:?}: {why}"))
}

/// `http(s)://authority[/path]` without query, fragment, whitespace, or trailing `/`.
fn check_api_base(base: &str) -> Result<String, SyncError> {
    let trimmed = base.trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .ok_or_else(|| invalid("api-base", base, "must start with https:// or http://"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        return Err(invalid("api-base", base, "has no host"));
    }
    if rest.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#' | '\\')) {
        return Err(invalid("api-base", base, "must not contain whitespace, `?`, `#` or `\\`"));
    }
    if rest.split('/').skip(1).any(|s| s.is_empty() || s == "." || s == "..") {
        return Err(invalid("api-base", base, "has an empty, `.` or `..` path segment"));
    }
    Ok(trimmed.to_string())
}

/// Owner and repository: one non-empty segment that is not `.` or `..`.
fn check_name<'a>(what: &str, value: &'a str) -> Result<&'a str, SyncError> {
    if value.is_empty() || value == "." || value == ".." {
        return Err(invalid(what, value, "must be a name"));
    }
    if value.contains('/') || value.chars().any(char::is_control) {
        return Err(invalid(what, value, "must not contain `/` or control characters"));
    }
    Ok(value)
}

/// Branch names may contain `/` (kept in the URL), but no segment may be empty, `.` or `..`
/// (a URL would then address another ref) and no control characters.
fn check_branch(branch: &str) -> Result<&str, SyncError> {
    if branch.is_empty() {
        return Err(invalid("branch", branch, "must not be empty"));
    }
    let bad_segment = branch.split('/').any(|s| s.is_empty() || s == "." || s == "..");
    if bad_segment || branch.chars().any(char::is_control) {
        return Err(invalid("branch", branch, "has an empty, `.` or `..` segment or a control character"));
    }
    Ok(branch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(base: &str, branch: &str) -> Repo {
        Repo::new(base, "octo", "fab", branch).unwrap()
    }

    fn body(req: &HttpRequest) -> serde_json::Value {
        serde_json::from_slice(req.body.as_deref().unwrap()).unwrap()
    }

    #[test]
    fn urls_for_every_kind_of_base() {
        let cases = [
            ("https://api.github.com", "https://api.github.com/repos/octo/fab/git/ref/heads/main"),
            ("https://api.github.com/", "https://api.github.com/repos/octo/fab/git/ref/heads/main"),
            ("https://ghe.example/api/v3//", "https://ghe.example/api/v3/repos/octo/fab/git/ref/heads/main"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080/repos/octo/fab/git/ref/heads/main"),
        ];
        for (base, want) in cases {
            assert_eq!(repo(base, "main").get_ref().url, want, "{base}");
        }
    }

    #[test]
    fn encodes_segments_but_keeps_branch_slashes() {
        let r = Repo::new("https://api.github.com", "my org", "fab#1", "release/2024 q1#a?b%c").unwrap();
        assert_eq!(
            r.get_ref().url,
            "https://api.github.com/repos/my%20org/fab%231/git/ref/heads/release/2024%20q1%23a%3Fb%25c"
        );
        assert_eq!(
            r.update_ref("a").url,
            "https://api.github.com/repos/my%20org/fab%231/git/refs/heads/release/2024%20q1%23a%3Fb%25c"
        );
        let put = r.put_contents("dir one/.hnp/sync-state.json", "m", "x", None);
        assert_eq!(put.url, "https://api.github.com/repos/my%20org/fab%231/contents/dir%20one/.hnp/sync-state.json");
    }

    #[test]
    fn refuses_targets_that_would_address_something_else() {
        for base in
            ["api.github.com", "ftp://x", "https://", "https://x/a?b", "https://x/#", "https://x/../y", "https://a b"]
        {
            assert!(matches!(Repo::new(base, "o", "r", "main"), Err(SyncError::InvalidTarget(_))), "{base}");
        }
        for (owner, repo_name) in [("", "r"), ("o", ""), ("..", "r"), ("o", "."), ("a/b", "r"), ("o", "r\n")] {
            assert!(Repo::new("https://x", owner, repo_name, "main").is_err(), "{owner}/{repo_name}");
        }
        for branch in ["", "/main", "main/", "a//b", "a/../b", "..", "a\tb"] {
            assert!(Repo::new("https://x", "o", "r", branch).is_err(), "{branch:?}");
        }
    }

    #[test]
    fn every_request_has_the_required_headers_and_never_authorization() {
        let r = repo("https://api.github.com", "main");
        let identity = Identity { name: "n".into(), email: "e@x".into() };
        let requests = [
            r.get_ref(),
            r.get_tree("abc", true),
            r.get_blob("abc"),
            r.create_tree("t", &[]),
            r.create_commit("m", "t", "p", Some(&identity)),
            r.update_ref("s"),
            r.put_contents("p", "m", "c", None),
        ];
        for req in &requests {
            let get =
                |name: &str| req.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
            assert_eq!(get("accept"), Some(ACCEPT));
            assert_eq!(get("x-github-api-version"), Some(API_VERSION));
            assert_eq!(get("user-agent"), Some(user_agent().as_str()));
            assert!(user_agent().starts_with("fgd-sync/"));
            assert_eq!(get("authorization"), None);
            assert_eq!(get("content-type").is_some(), req.body.is_some(), "{} {}", req.method, req.url);
        }
    }

    #[test]
    fn tree_bodies_write_inline_and_delete_with_null_sha() {
        let r = repo("https://api.github.com", "main");
        let writes = [
            FileWrite { path: "f/managed/vpcs/a.yaml".into(), content: Some("a: 1\n".into()) },
            FileWrite { path: "f/managed/vpcs/b.yaml".into(), content: None },
        ];
        let req = r.create_tree("base", &writes);
        assert_eq!(
            (req.method.as_str(), req.url.as_str()),
            ("POST", "https://api.github.com/repos/octo/fab/git/trees")
        );
        assert_eq!(
            body(&req),
            serde_json::json!({"base_tree": "base", "tree": [
                {"path": "f/managed/vpcs/a.yaml", "mode": "100644", "type": "blob", "content": "a: 1\n"},
                {"path": "f/managed/vpcs/b.yaml", "mode": "100644", "type": "blob", "sha": null},
            ]})
        );
    }

    #[test]
    fn commit_ref_and_contents_bodies() {
        let r = repo("https://api.github.com", "main");
        let identity = Identity { name: "HNP".into(), email: "hnp@example.com".into() };
        let person = serde_json::json!({"name": "HNP", "email": "hnp@example.com"});
        assert_eq!(
            body(&r.create_commit("msg", "tree1", "head1", Some(&identity))),
            serde_json::json!({"message": "msg", "tree": "tree1", "parents": ["head1"], "author": person, "committer": person})
        );
        assert_eq!(
            body(&r.create_commit("msg", "tree1", "head1", None)),
            serde_json::json!({"message": "msg", "tree": "tree1", "parents": ["head1"]})
        );
        let patch = r.update_ref("c1");
        assert_eq!(patch.method, "PATCH");
        assert_eq!(body(&patch), serde_json::json!({"sha": "c1", "force": false}));
        let put = r.put_contents("f/.hnp/sync-state.json", "init", "{}\n", None);
        assert_eq!(put.method, "PUT");
        assert_eq!(body(&put), serde_json::json!({"message": "init", "content": "e30K", "branch": "main"}));
        assert_eq!(r.get_tree("abc", true).url, "https://api.github.com/repos/octo/fab/git/trees/abc?recursive=1");
        assert_eq!(r.get_tree("abc", false).url, "https://api.github.com/repos/octo/fab/git/trees/abc");
    }
}
