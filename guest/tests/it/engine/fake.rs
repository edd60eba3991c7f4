//! An in-memory GitHub as strict as the real one for the operations fgd-sync uses: real Git
//! SHAs, fast-forward-only ref updates, 409 in an empty repository, 422 for bad tree entries,
//! rate-limit headers on every answer, truncated recursive listings on demand; every request
//! and answer checked against GitHub's OpenAPI description.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::rc::Rc;

use base64::Engine as _;
use fgd_sync_guest::github::{HttpRequest, HttpResponse, Transport};
use serde_json::{json, Value};

use super::git::{Commit, Entry, Git, FILE};
use super::schema;

pub const BASE: &str = "https://api.github.com";
pub const OWNER: &str = "octo";
pub const REPO: &str = "fab";

/// Milliseconds on a fake clock, shared by the fake GitHub and the test `Environment`.
#[derive(Clone, Debug, Default)]
pub struct Clock(pub Rc<Cell<u64>>);

impl Clock {
    pub fn at_secs(secs: u64) -> Clock {
        Clock(Rc::new(Cell::new(secs * 1000)))
    }
    pub fn secs(&self) -> u64 {
        self.0.get() / 1000
    }
    pub fn advance_ms(&self, ms: u64) {
        self.0.set(self.0.get() + ms);
    }
}

/// What a test hook wants done with one request.
pub enum Hook {
    /// Handle it normally.
    Pass,
    /// Answer this instead, changing nothing.
    Answer(HttpResponse),
    /// Handle it (state changes happen) but answer this instead: a lost answer.
    After(HttpResponse),
    /// No HTTP answer at all.
    Fail(String),
}

pub type HookFn = Box<dyn FnMut(&mut Git, &HttpRequest) -> Hook>;

pub struct RateLimit {
    pub limit: u64,
    pub remaining: u64,
    pub reset_at: u64,
}

pub struct FakeGitHub {
    pub git: Git,
    pub clock: Clock,
    /// Every request received, in order, rejected ones included.
    pub log: Vec<HttpRequest>,
    /// Things GitHub would refuse or that break the contract (missing headers, schema errors).
    pub violations: Vec<String>,
    pub hook: Option<HookFn>,
    /// Recursive listings with more entries than this come back truncated.
    pub truncate_after: Option<usize>,
    pub rate: RateLimit,
}

/// A JSON answer.
pub fn answer(status: u16, body: Value) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("content-type".into(), "application/json; charset=utf-8".into())],
        body: body.to_string().into_bytes(),
    }
}

fn error(status: u16, message: &str) -> (u16, Value) {
    (
        status,
        json!({"message": message, "documentation_url": "https://docs.github.com/rest", "status": status.to_string()}),
    )
}

fn decode_segment(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn blob_base64(bytes: &[u8]) -> String {
    let flat = base64::engine::general_purpose::STANDARD.encode(bytes);
    let lines: Vec<&str> = flat.as_bytes().chunks(60).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
    if lines.is_empty() {
        String::new()
    } else {
        lines.join("\n") + "\n"
    }
}

fn malformed_path(path: &str) -> bool {
    path.is_empty() || path.starts_with('/') || path.split('/').any(|s| s.is_empty() || s == "." || s == "..")
}

impl FakeGitHub {
    pub fn new(clock: Clock) -> FakeGitHub {
        let reset_at = clock.secs() + 3600;
        FakeGitHub {
            git: Git::default(),
            clock,
            log: Vec::new(),
            violations: Vec::new(),
            hook: None,
            truncate_after: None,
            rate: RateLimit { limit: 5000, remaining: 5000, reset_at },
        }
    }

    /// A repository whose `main` holds these files.
    pub fn with_files(clock: Clock, files: &[(&str, &str)]) -> FakeGitHub {
        let mut fake = FakeGitHub::new(clock);
        let changes: Vec<(&str, Option<&str>)> = files.iter().map(|(p, t)| (*p, Some(*t))).collect();
        fake.git.commit_files("main", &changes, "Initial commit");
        fake
    }

    fn url(&self, rest: &str) -> String {
        format!("{BASE}/repos/{OWNER}/{REPO}{rest}")
    }

    fn violation(&mut self, request: &HttpRequest, what: String) {
        self.violations.push(format!("{} {}: {what}", request.method, request.url));
    }

    /// Headers GitHub requires, and the one the guest must never set.
    fn check_headers(&mut self, request: &HttpRequest) -> Option<(u16, Value)> {
        let get = |n: &str| request.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.clone());
        if get("authorization").is_some() {
            self.violation(request, "carries an Authorization header".into());
            return Some(error(400, "the guest must not set Authorization"));
        }
        if get("user-agent").is_none_or(|v| v.is_empty()) {
            self.violation(request, "no User-Agent".into());
            return Some(error(
                403,
                "Request forbidden by administrative rules. Please make sure your request has a User-Agent header",
            ));
        }
        if get("accept").as_deref() != Some("application/vnd.github+json") {
            self.violation(request, format!("Accept is {:?}", get("accept")));
            return Some(error(415, "Unsupported 'Accept' header"));
        }
        if get("x-github-api-version").as_deref() != Some("2022-11-28") {
            self.violation(request, format!("X-GitHub-Api-Version is {:?}", get("x-github-api-version")));
            return Some(error(400, "Invalid API version"));
        }
        let json_type = get("content-type").is_some_and(|v| v.starts_with("application/json"));
        if request.body.is_some() != json_type {
            self.violation(request, "Content-Type: application/json must come with a body and only then".into());
        }
        None
    }

    fn rate_headers(&self) -> Vec<(String, String)> {
        vec![
            ("x-ratelimit-limit".into(), self.rate.limit.to_string()),
            ("x-ratelimit-remaining".into(), self.rate.remaining.to_string()),
            ("x-ratelimit-used".into(), (self.rate.limit - self.rate.remaining).to_string()),
            ("x-ratelimit-reset".into(), self.rate.reset_at.to_string()),
            ("x-ratelimit-resource".into(), "core".into()),
        ]
    }

    fn handle(&mut self, request: &HttpRequest) -> (u16, Value) {
        if let Some(refused) = self.check_headers(request) {
            return refused;
        }
        let now = self.clock.secs();
        if now >= self.rate.reset_at {
            self.rate.remaining = self.rate.limit;
            self.rate.reset_at = now + 3600;
        }
        if self.rate.remaining == 0 {
            return error(403, "API rate limit exceeded for user ID 1.");
        }
        self.rate.remaining -= 1;
        let Some(rest) = request.url.strip_prefix(BASE) else {
            self.violation(request, "wrong API base".into());
            return error(404, "Not Found");
        };
        if rest.contains(['#', ' ']) {
            self.violation(request, "unencoded character in the URL".into());
        }
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let Some(segments) = path.split('/').skip(1).map(decode_segment).collect::<Option<Vec<String>>>() else {
            return error(400, "Bad percent-encoding");
        };
        let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
        let ["repos", owner, repo, route @ ..] = seg.as_slice() else { return error(404, "Not Found") };
        if (*owner, *repo) != (OWNER, REPO) {
            return error(404, "Not Found");
        }
        let body = match &request.body {
            None => Value::Null,
            Some(b) => match serde_json::from_slice(b) {
                Ok(v) => v,
                Err(_) => return error(400, "Problems parsing JSON"),
            },
        };
        let method = request.method.as_str();
        let (template, result) = match (method, route) {
            ("GET", ["git", "ref", "heads", branch @ ..]) => ("/git/ref/{ref}", self.get_ref(&branch.join("/"))),
            ("GET", ["git", "trees", sha]) => ("/git/trees/{tree_sha}", self.get_tree(sha, query)),
            ("GET", ["git", "blobs", sha]) => ("/git/blobs/{file_sha}", self.get_blob(sha)),
            ("POST", ["git", "trees"]) => ("/git/trees", self.create_tree(&body)),
            ("POST", ["git", "commits"]) => ("/git/commits", self.create_commit(&body)),
            ("PATCH", ["git", "refs", "heads", branch @ ..]) => {
                ("/git/refs/{ref}", self.update_ref(&branch.join("/"), &body))
            }
            ("GET", ["contents", path @ ..]) => ("/contents/{path}", self.get_contents(&path.join("/"), query)),
            ("GET", ["commits"]) => ("/commits", self.list_commits(query)),
            ("GET", ["compare", spec @ ..]) => ("/compare/{base}...{head}", self.compare(&spec.join("/"))),
            ("PUT", ["contents", path @ ..]) => ("/contents/{path}", self.put_contents(&path.join("/"), &body)),
            ("DELETE", ["contents", path @ ..]) => ("/contents/{path}", self.delete_contents(&path.join("/"), &body)),
            _ => {
                self.violation(request, "no such operation in the fake".into());
                return error(404, "Not Found");
            }
        };
        let template = format!("/repos/{{owner}}/{{repo}}{template}");
        if method != "GET" {
            for p in schema::check_request(&template, method, &body) {
                self.violation(request, format!("request schema: {p}"));
            }
        } else if !query.is_empty() && query != "recursive=1" && !query.starts_with("ref=") && route != ["commits"] {
            self.violation(request, format!("unexpected query {query:?}"));
        }
        for p in schema::check_response(&template, method, result.0, &result.1) {
            self.violation(request, format!("fake answer schema: {p}"));
        }
        result
    }

    fn ref_json(&self, branch: &str, sha: &str) -> Value {
        json!({
            "ref": format!("refs/heads/{branch}"), "node_id": "REF_1", "url": self.url(&format!("/git/refs/heads/{branch}")),
            "object": {"type": "commit", "sha": sha, "url": self.url(&format!("/git/commits/{sha}"))}
        })
    }

    fn get_ref(&mut self, branch: &str) -> (u16, Value) {
        if self.git.is_empty() {
            return error(409, "Git Repository is empty.");
        }
        match self.git.head(branch) {
            Some(sha) => (200, self.ref_json(branch, &sha)),
            None => error(404, "Not Found"),
        }
    }

    fn entry_json(&self, path: &str, e: &Entry) -> Value {
        let mut v =
            json!({"path": path, "mode": e.mode, "type": if e.is_tree() { "tree" } else { "blob" }, "sha": e.sha});
        if e.is_tree() {
            v["url"] = json!(self.url(&format!("/git/trees/{}", e.sha)));
        } else {
            v["size"] = json!(self.git.blobs.get(&e.sha).map_or(0, Vec::len));
            v["url"] = json!(self.url(&format!("/git/blobs/{}", e.sha)));
        }
        v
    }

    fn listing(&self, tree: &str, prefix: &str, recursive: bool, out: &mut Vec<Value>) {
        for e in self.git.trees.get(tree).cloned().unwrap_or_default() {
            let path = if prefix.is_empty() { e.name.clone() } else { format!("{prefix}/{}", e.name) };
            out.push(self.entry_json(&path, &e));
            if recursive && e.is_tree() {
                self.listing(&e.sha, &path, true, out);
            }
        }
    }

    fn tree_json(&self, tree: &str, recursive: bool) -> Value {
        let mut entries = Vec::new();
        self.listing(tree, "", recursive, &mut entries);
        let truncated = recursive && self.truncate_after.is_some_and(|n| entries.len() > n);
        if truncated {
            entries.truncate(self.truncate_after.unwrap_or_default());
        }
        json!({"sha": tree, "url": self.url(&format!("/git/trees/{tree}")), "tree": entries, "truncated": truncated})
    }

    fn get_tree(&mut self, sha: &str, query: &str) -> (u16, Value) {
        if self.git.is_empty() {
            return error(409, "Git Repository is empty.");
        }
        // GitHub accepts a commit SHA and answers with the commit's root tree.
        let tree = self.git.commits.get(sha).map(|c| c.tree.clone()).unwrap_or_else(|| sha.to_string());
        if !self.git.trees.contains_key(&tree) {
            return error(404, "Not Found");
        }
        (200, self.tree_json(&tree, !query.is_empty()))
    }

    fn get_blob(&mut self, sha: &str) -> (u16, Value) {
        match self.git.blobs.get(sha) {
            Some(bytes) => (
                200,
                json!({
                    "sha": sha, "node_id": "BLOB_1", "size": bytes.len(), "url": self.url(&format!("/git/blobs/{sha}")),
                    "content": blob_base64(bytes), "encoding": "base64",
                }),
            ),
            None => error(404, "Not Found"),
        }
    }

    fn create_tree(&mut self, body: &Value) -> (u16, Value) {
        if self.git.is_empty() {
            return error(409, "Git Repository is empty.");
        }
        let mut files = BTreeMap::new();
        if let Some(base) = body.get("base_tree").and_then(Value::as_str) {
            if !self.git.trees.contains_key(base) {
                return error(422, "Invalid tree info");
            }
            files = self.git.flatten(base);
        }
        let Some(entries) = body.get("tree").and_then(Value::as_array) else {
            return error(422, "Invalid request.\n\n\"tree\" wasn't supplied.");
        };
        for e in entries {
            let path = e["path"].as_str().unwrap_or_default();
            if malformed_path(path) {
                return error(422, &format!("tree.path contains a malformed path component: {path:?}"));
            }
            let mode = e["mode"].as_str().unwrap_or_default();
            if e["type"] != "blob" || !["100644", "100755", "120000"].contains(&mode) {
                return error(422, "Invalid tree info: the fake writes blobs only");
            }
            let has_sha = e.get("sha").is_some();
            match (e.get("content").and_then(Value::as_str), has_sha) {
                (Some(_), true) => return error(422, "Invalid tree info: both sha and content"),
                (Some(text), false) => {
                    let sha = self.git.put_blob(text.as_bytes());
                    files.insert(path.to_string(), (mode.to_string(), sha));
                }
                (None, true) if e["sha"].is_null() => {
                    let prefix = format!("{path}/");
                    let before = files.len();
                    files.retain(|p, _| p != path && !p.starts_with(&prefix));
                    if files.len() == before {
                        return error(422, "GitRPC::BadObjectState");
                    }
                }
                (None, true) => {
                    let sha = e["sha"].as_str().unwrap_or_default();
                    if !self.git.blobs.contains_key(sha) {
                        return error(422, "Invalid tree info: no such blob");
                    }
                    files.insert(path.to_string(), (mode.to_string(), sha.to_string()));
                }
                (None, false) => return error(422, "Invalid tree info: neither sha nor content"),
            }
        }
        let tree = self.git.build(&files);
        (201, self.tree_json(&tree, false))
    }

    fn person(&self, v: &Value) -> Result<Option<(String, String)>, (u16, Value)> {
        if v.is_null() {
            return Ok(None);
        }
        match (v["name"].as_str(), v["email"].as_str()) {
            (Some(n), Some(e)) if !n.is_empty() && !e.is_empty() => Ok(Some((n.into(), e.into()))),
            _ => Err(error(422, "Invalid request.\n\n\"name\" and \"email\" are required.")),
        }
    }

    fn create_commit(&mut self, body: &Value) -> (u16, Value) {
        if self.git.is_empty() {
            return error(409, "Git Repository is empty.");
        }
        let (Some(message), Some(tree)) = (body["message"].as_str(), body["tree"].as_str()) else {
            return error(422, "Invalid request.\n\n\"message\" and \"tree\" are required.");
        };
        if !self.git.trees.contains_key(tree) {
            return error(422, "Tree SHA does not exist");
        }
        // Stricter than GitHub (which makes a root commit): a sync always has one parent.
        let Some(parents) = body["parents"].as_array().filter(|p| !p.is_empty()) else {
            return error(422, "the fake requires `parents`");
        };
        let parents: Vec<String> = parents.iter().filter_map(Value::as_str).map(String::from).collect();
        if parents.iter().any(|p| !self.git.commits.contains_key(p)) {
            return error(422, "Parent SHA does not exist or is not a commit object");
        }
        let author = match (self.person(&body["author"]), self.person(&body["committer"])) {
            (Ok(a), Ok(c)) => a.or(c).unwrap_or(("Token Owner".into(), "owner@example.com".into())),
            (Err(e), _) | (_, Err(e)) => return e,
        };
        let commit = Commit { tree: tree.into(), parents, message: message.into(), author, time: self.clock.secs() };
        let sha = self.git.put_commit(commit);
        (201, self.commit_json(&sha))
    }

    fn commit_json(&self, sha: &str) -> Value {
        let c = &self.git.commits[sha];
        let who = json!({"name": c.author.0, "email": c.author.1, "date": "2024-01-01T00:00:00Z"});
        let parents: Vec<Value> = c
            .parents
            .iter()
            .map(|p| json!({"sha": p, "url": self.url(&format!("/git/commits/{p}")), "html_url": format!("https://github.com/{OWNER}/{REPO}/commit/{p}")}))
            .collect();
        json!({
            "sha": sha, "node_id": "C_1", "url": self.url(&format!("/git/commits/{sha}")),
            "html_url": format!("https://github.com/{OWNER}/{REPO}/commit/{sha}"),
            "author": who, "committer": who, "message": c.message,
            "tree": {"sha": c.tree, "url": self.url(&format!("/git/trees/{}", c.tree))},
            "parents": parents,
            // As real GitHub answers for an unsigned commit (the schema says string).
            "verification": {"verified": false, "reason": "unsigned", "signature": null, "payload": null, "verified_at": null},
        })
    }

    fn update_ref(&mut self, branch: &str, body: &Value) -> (u16, Value) {
        let Some(sha) = body["sha"].as_str() else { return error(422, "Invalid request.\n\n\"sha\" wasn't supplied.") };
        let Some(current) = self.git.head(branch) else { return error(422, "Reference does not exist") };
        if !self.git.commits.contains_key(sha) {
            return error(422, "Object does not exist");
        }
        let force = body["force"].as_bool().unwrap_or(false);
        if !force && !self.git.is_ancestor(&current, sha) {
            return error(422, "Update is not a fast forward");
        }
        self.git.refs.insert(branch.to_string(), sha.to_string());
        (200, self.ref_json(branch, sha))
    }

    fn put_contents(&mut self, path: &str, body: &Value) -> (u16, Value) {
        let (Some(message), Some(content)) = (body["message"].as_str(), body["content"].as_str()) else {
            return error(422, "Invalid request.\n\n\"message\" and \"content\" are required.");
        };
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(content) else {
            return error(422, "content is not valid Base64");
        };
        if malformed_path(path) {
            return error(422, "path contains a malformed path component");
        }
        let branch = body["branch"].as_str().unwrap_or("main");
        let parent = self.git.head(branch);
        if parent.is_none() && !self.git.is_empty() {
            return error(404, &format!("Branch {branch} not found"));
        }
        let mut files =
            parent.as_ref().map(|p| self.git.flatten(&self.git.commits[p].tree.clone())).unwrap_or_default();
        let existed = files.contains_key(path);
        match (files.get(path), body["sha"].as_str()) {
            (Some(_), None) => return error(422, "Invalid request.\n\n\"sha\" wasn't supplied."),
            (Some((_, existing)), Some(s)) if s != existing => {
                return error(409, &format!("{path} does not match {s}"))
            }
            // A `sha` for a file that is not there is as stale as a wrong one.
            (None, Some(s)) => return error(409, &format!("{path} does not match {s}")),
            _ => {}
        }
        let blob = self.git.put_blob(&bytes);
        files.insert(path.to_string(), (FILE.to_string(), blob.clone()));
        let tree = self.git.build(&files);
        let author =
            self.person(&body["author"]).ok().flatten().unwrap_or(("Token Owner".into(), "owner@example.com".into()));
        let commit = Commit {
            tree,
            parents: parent.into_iter().collect(),
            message: message.into(),
            author,
            time: self.clock.secs(),
        };
        let sha = self.git.put_commit(commit);
        self.git.refs.insert(branch.to_string(), sha.clone());
        let content = self.content_json(path, &blob, bytes.len(), None);
        (if existed { 200 } else { 201 }, json!({"content": content, "commit": self.commit_json(&sha)}))
    }

    /// A contents-API file object; `data` adds `content` and `encoding` (GET only).
    fn content_json(&self, path: &str, blob: &str, size: usize, data: Option<&[u8]>) -> Value {
        let name = path.rsplit('/').next().unwrap_or(path);
        let url = self.url(&format!("/contents/{path}?ref=main"));
        let git_url = self.url(&format!("/git/blobs/{blob}"));
        let html_url = format!("https://github.com/{OWNER}/{REPO}/blob/main/{path}");
        let mut v = json!({
            "type": "file", "size": size, "name": name, "path": path, "sha": blob, "url": url,
            "git_url": git_url, "html_url": html_url, "download_url": format!("https://raw.githubusercontent.com/{OWNER}/{REPO}/main/{path}"),
            "_links": {"self": url, "git": git_url, "html": html_url},
        });
        if let Some(data) = data {
            v["content"] = json!(blob_base64(data));
            v["encoding"] = json!("base64");
        }
        v
    }

    /// `GET contents/{path}?ref=<branch>`: files only (the sync reads nothing else this way).
    fn get_contents(&mut self, path: &str, query: &str) -> (u16, Value) {
        if self.git.is_empty() {
            return error(404, "This repository is empty.");
        }
        let branch = query.strip_prefix("ref=").and_then(decode_segment).unwrap_or_else(|| "main".into());
        // `ref` names a branch or a commit.
        let head = self.git.head(&branch).or_else(|| self.git.commits.contains_key(&branch).then(|| branch.clone()));
        let Some(head) = head else {
            return error(404, &format!("No commit found for the ref {branch}"));
        };
        let files = self.git.flatten(&self.git.commits[&head].tree.clone());
        match files.get(path) {
            Some((_, blob)) => {
                let data = self.git.blobs.get(blob).cloned().unwrap_or_default();
                (200, self.content_json(path, blob, data.len(), Some(&data)))
            }
            None => error(404, "Not Found"),
        }
    }

    /// A commit as `GET commits` lists it (the `commit` schema).
    fn listed_commit_json(&self, sha: &str) -> Value {
        let c = &self.git.commits[sha];
        let who = json!({"name": c.author.0, "email": c.author.1, "date": "2024-01-01T00:00:00Z"});
        let parents: Vec<Value> = c
            .parents
            .iter()
            .map(|p| json!({"sha": p, "url": self.url(&format!("/commits/{p}")), "html_url": format!("https://github.com/{OWNER}/{REPO}/commit/{p}")}))
            .collect();
        json!({
            "url": self.url(&format!("/commits/{sha}")), "sha": sha, "node_id": "C_1",
            "html_url": format!("https://github.com/{OWNER}/{REPO}/commit/{sha}"),
            "comments_url": self.url(&format!("/commits/{sha}/comments")),
            "commit": {
                "url": self.url(&format!("/git/commits/{sha}")), "author": who, "committer": who,
                "message": c.message, "comment_count": 0,
                "tree": {"sha": c.tree, "url": self.url(&format!("/git/trees/{}", c.tree))},
            },
            "author": null, "committer": null, "parents": parents,
        })
    }

    /// The blob at `path` in a commit's tree.
    fn blob_at(&self, commit: &str, path: &str) -> Option<String> {
        let tree = self.git.commits.get(commit)?.tree.clone();
        self.git.flatten(&tree).get(path).map(|(_, sha)| sha.clone())
    }

    /// `GET commits?sha=&path=&per_page=`: commits along first parents from `sha` whose
    /// `path` differs from their parent's, newest first.
    fn list_commits(&mut self, query: &str) -> (u16, Value) {
        let params: BTreeMap<&str, String> = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k, decode_segment(v).unwrap_or_default()))
            .collect();
        let start = params.get("sha").cloned().unwrap_or_else(|| "main".into());
        let Some(mut next) = self.git.head(&start).or_else(|| self.git.commits.contains_key(&start).then_some(start))
        else {
            return error(404, "Not Found");
        };
        let per_page = params.get("per_page").and_then(|n| n.parse().ok()).unwrap_or(30usize);
        let path = params.get("path").cloned();
        let mut out = Vec::new();
        loop {
            let parent = self.git.commits[&next].parents.first().cloned();
            let touched = match &path {
                None => true,
                Some(path) => self.blob_at(&next, path) != parent.as_ref().and_then(|p| self.blob_at(p, path)),
            };
            if touched && out.len() < per_page {
                out.push(self.listed_commit_json(&next));
            }
            match parent {
                Some(p) => next = p,
                None => break,
            }
        }
        (200, Value::Array(out))
    }

    /// `GET compare/{base}...{head}`: how `head` stands relative to `base`.
    fn compare(&mut self, spec: &str) -> (u16, Value) {
        let Some((base, head)) = spec.split_once("...") else { return error(404, "Not Found") };
        let resolve = |r: &str| self.git.head(r).or_else(|| self.git.commits.contains_key(r).then(|| r.to_string()));
        let (Some(base), Some(head)) = (resolve(base), resolve(head)) else { return error(404, "Not Found") };
        let count = |from: &str, stop: &str| {
            let mut n = 0;
            let mut next = Some(from.to_string());
            while let Some(sha) = next.filter(|s| s != stop) {
                n += 1;
                next = self.git.commits[&sha].parents.first().cloned();
            }
            n
        };
        let (status, ahead, behind) = if base == head {
            ("identical", 0, 0)
        } else if self.git.is_ancestor(&base, &head) {
            ("ahead", count(&head, &base), 0)
        } else if self.git.is_ancestor(&head, &base) {
            ("behind", 0, count(&base, &head))
        } else {
            ("diverged", 1, 1)
        };
        let url = self.url(&format!("/compare/{spec}"));
        (
            200,
            json!({
                "url": url, "html_url": url, "permalink_url": url, "diff_url": url, "patch_url": url,
                "base_commit": self.listed_commit_json(&base), "merge_base_commit": self.listed_commit_json(&base),
                "status": status, "ahead_by": ahead, "behind_by": behind, "total_commits": ahead,
                "commits": [], "files": [],
            }),
        )
    }

    /// `DELETE contents/{path}` `{message, sha, branch}`: `sha` required and checked.
    fn delete_contents(&mut self, path: &str, body: &Value) -> (u16, Value) {
        let (Some(message), Some(sha)) = (body["message"].as_str(), body["sha"].as_str()) else {
            return error(422, "Invalid request.\n\n\"message\" and \"sha\" are required.");
        };
        let branch = body["branch"].as_str().unwrap_or("main");
        let Some(parent) = self.git.head(branch) else { return error(404, &format!("Branch {branch} not found")) };
        let mut files = self.git.flatten(&self.git.commits[&parent].tree.clone());
        match files.get(path) {
            None => return error(404, "Not Found"),
            Some((_, existing)) if existing != sha => return error(409, &format!("{path} does not match {sha}")),
            Some(_) => {}
        }
        files.remove(path);
        let tree = self.git.build(&files);
        let author =
            self.person(&body["author"]).ok().flatten().unwrap_or(("Token Owner".into(), "owner@example.com".into()));
        let commit = Commit { tree, parents: vec![parent], message: message.into(), author, time: self.clock.secs() };
        let sha = self.git.put_commit(commit);
        self.git.refs.insert(branch.to_string(), sha.clone());
        (200, json!({"content": null, "commit": self.commit_json(&sha)}))
    }

    /// Requests as `METHOD path` (relative to the repository), for readable assertions.
    pub fn calls(&self) -> Vec<String> {
        let prefix = self.url("");
        self.log.iter().map(|r| format!("{} {}", r.method, r.url.strip_prefix(&prefix).unwrap_or(&r.url))).collect()
    }

    pub fn assert_clean(&self) {
        assert!(self.violations.is_empty(), "the fake GitHub saw violations:\n{}", self.violations.join("\n"));
    }
}

impl Transport for FakeGitHub {
    fn send(&mut self, request: &HttpRequest) -> Result<HttpResponse, String> {
        self.log.push(request.clone());
        let hook = match self.hook.as_mut() {
            Some(hook) => hook(&mut self.git, request),
            None => Hook::Pass,
        };
        let replacement = match hook {
            Hook::Pass => None,
            Hook::Answer(r) => return Ok(r),
            Hook::Fail(e) => return Err(e),
            Hook::After(r) => Some(r),
        };
        let (status, body) = self.handle(request);
        let mut response = answer(status, body);
        response.headers.extend(self.rate_headers());
        Ok(replacement.unwrap_or(response))
    }
}

#[test]
fn the_fake_refuses_what_github_refuses() {
    use fgd_sync_guest::github::requests::Repo;
    use fgd_sync_guest::plan::FileWrite;
    let mut fake = FakeGitHub::with_files(Clock::at_secs(1_700_000_000), &[("f/a.yaml", "a: 1\n")]);
    let repo = Repo::new(BASE, OWNER, REPO, "main").unwrap();
    let head = fake.git.head("main").unwrap();
    let root = fake.git.commits[&head].tree.clone();
    let send = |fake: &mut FakeGitHub, r: &HttpRequest| fake.send(r).unwrap();
    let mut bare = repo.get_ref();
    bare.headers.retain(|(n, _)| n != "User-Agent");
    assert_eq!(send(&mut fake, &bare).status, 403);
    let delete_missing = [FileWrite { path: "f/nope.yaml".into(), content: None }];
    assert_eq!(send(&mut fake, &repo.create_tree(&root, &delete_missing)).status, 422);
    let leading_slash = [FileWrite { path: "/f/b.yaml".into(), content: Some("b".into()) }];
    assert_eq!(send(&mut fake, &repo.create_tree(&root, &leading_slash)).status, 422);
    let mut no_parents = repo.create_commit("m", &root, &head, None);
    no_parents.body = Some(json!({"message": "m", "tree": root}).to_string().into_bytes());
    assert_eq!(send(&mut fake, &no_parents).status, 422);
    // A sibling commit (not a descendant of the head) cannot move the branch.
    let sibling = fake.git.put_commit(Commit {
        tree: root.clone(),
        parents: vec![],
        message: "x".into(),
        author: ("a".into(), "b".into()),
        time: 0,
    });
    let refused = send(&mut fake, &repo.update_ref(&sibling));
    assert_eq!((refused.status, String::from_utf8_lossy(&refused.body).contains("not a fast forward")), (422, true));
    assert_eq!(fake.git.head("main").unwrap(), head);
    let missing = Repo::new(BASE, OWNER, REPO, "nope").unwrap();
    assert_eq!(send(&mut fake, &missing.get_ref()).status, 404);
    assert_eq!(send(&mut FakeGitHub::new(Clock::default()), &repo.get_ref()).status, 409);
    assert_eq!(fake.violations.len(), 1, "{:?}", fake.violations); // the missing User-Agent
}
