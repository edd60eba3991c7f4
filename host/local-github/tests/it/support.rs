//! Fixtures: a repository in a temporary directory, request helpers, git inspection, and
//! the OpenAPI check of responses.

use std::path::PathBuf;
use std::process::Command;

use base64::Engine as _;
use fgd_sync_local_github::testing::TempDir;
use fgd_sync_local_github::{openapi, ApiRequest, ApiResponse, LocalGitHub, Options};
use serde_json::{json, Value};

pub const OWNER: &str = "acme";
pub const REPO: &str = "fabric";

pub struct Fixture {
    pub gh: LocalGitHub,
    pub git_dir: PathBuf,
    _dir: TempDir,
}

impl Fixture {
    pub fn empty() -> Self {
        Self::with(Options { api_base: "http://127.0.0.1:9".into(), ..Options::default() })
    }

    pub fn with(options: Options) -> Self {
        let dir = TempDir::new("local-github").unwrap();
        let git_dir = dir.path().join("fabric.git");
        let gh = LocalGitHub::init(&git_dir, OWNER, REPO, options).unwrap();
        Fixture { gh, git_dir, _dir: dir }
    }

    /// A repository whose `main` holds `files`, made with one contents PUT per file.
    pub fn seeded(files: &[(&str, &str)]) -> Self {
        let f = Self::empty();
        for (path, text) in files {
            let (status, body) = f.call(
                "PUT",
                &format!("/contents/{path}"),
                json!({ "message": format!("add {path}"), "content": b64(text) }),
            );
            assert_eq!(status, 201, "{body}");
        }
        f
    }

    /// Another server on the same repository, as a second process would be.
    pub fn reopen(&self) -> LocalGitHub {
        LocalGitHub::open(&self.git_dir, OWNER, REPO, self.gh.options().clone()).unwrap()
    }

    /// Another server on the same repository, with other options.
    pub fn reopen_with(&self, options: Options) -> LocalGitHub {
        LocalGitHub::open(&self.git_dir, OWNER, REPO, options).unwrap()
    }

    /// A request below `/repos/acme/fabric`.
    pub fn request(&self, method: &str, rel: &str, body: Option<Value>) -> ApiResponse {
        self.gh.handle(&req(method, rel, body))
    }

    /// Status and JSON body; every 2xx answer is checked against GitHub's OpenAPI.
    pub fn call(&self, method: &str, rel: &str, body: Value) -> (u16, Value) {
        let body = if body.is_null() { None } else { Some(body) };
        answer(method, rel, self.request(method, rel, body))
    }

    pub fn get(&self, rel: &str) -> (u16, Value) {
        self.call("GET", rel, Value::Null)
    }

    /// `git <args>` on the repository; panics on failure.
    pub fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .arg("--git-dir")
            .arg(&self.git_dir)
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .envs([
                ("GIT_AUTHOR_NAME", "T"),
                ("GIT_AUTHOR_EMAIL", "t@example.com"),
                ("GIT_COMMITTER_NAME", "T"),
                ("GIT_COMMITTER_EMAIL", "t@example.com"),
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn fsck(&self) {
        self.git(&["fsck", "--strict", "--no-dangling"]);
    }

    pub fn head(&self) -> String {
        self.git(&["rev-parse", "refs/heads/main"]).trim().to_string()
    }

    /// `git ls-tree -r --name-only main`.
    pub fn files(&self, rev: &str) -> Vec<String> {
        self.git(&["ls-tree", "-r", "--name-only", rev]).lines().map(str::to_string).collect()
    }
}

pub fn req(method: &str, rel: &str, body: Option<Value>) -> ApiRequest {
    ApiRequest {
        method: method.into(),
        path_and_query: format!("/repos/{OWNER}/{REPO}{rel}"),
        headers: vec![("accept".into(), "application/vnd.github+json".into())],
        body: body.map(|b| serde_json::to_vec(&b).unwrap()).unwrap_or_default(),
    }
}

/// Status and JSON of a response, after the OpenAPI check of 2xx bodies.
pub fn answer(method: &str, rel: &str, resp: ApiResponse) -> (u16, Value) {
    let json = resp.json();
    if (200..300).contains(&resp.status) && resp.status != 204 {
        let path = format!("/repos/{OWNER}/{REPO}{rel}");
        if let Err(errors) = openapi::github().check_response(method, &path, resp.status, &json) {
            panic!("{method} {rel} -> {}: schema violations:\n{}\n{json:#}", resp.status, errors.join("\n"));
        }
    }
    (resp.status, json)
}

pub fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

pub fn unb64(wrapped: &Value) -> Vec<u8> {
    let s: String = wrapped.as_str().unwrap().chars().filter(|c| *c != '\n').collect();
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

/// The message of an error answer, after checking its shape.
pub fn message(body: &Value) -> &str {
    assert_eq!(body["documentation_url"], "https://docs.github.com/rest", "{body}");
    body["message"].as_str().unwrap()
}

/// Builds one commit on `main`'s head through the Git Data API (blobs, tree, commit), without
/// moving the ref. Returns the commit sha.
pub fn build_commit(gh: &LocalGitHub, files: &[(&str, &str)], message_text: &str) -> String {
    let call = |m: &str, rel: &str, b: Value| answer(m, rel, gh.handle(&req(m, rel, Some(b))));
    let (_, r) = answer("GET", "/git/ref/heads/main", gh.handle(&req("GET", "/git/ref/heads/main", None)));
    let head = r["object"]["sha"].as_str().unwrap().to_string();
    let (_, c) =
        answer("GET", &format!("/git/commits/{head}"), gh.handle(&req("GET", &format!("/git/commits/{head}"), None)));
    let base = c["tree"]["sha"].as_str().unwrap().to_string();
    let entries: Vec<Value> = files
        .iter()
        .map(|(p, t)| {
            let (s, blob) = call("POST", "/git/blobs", json!({ "content": t, "encoding": "utf-8" }));
            assert_eq!(s, 201);
            json!({ "path": p, "mode": "100644", "type": "blob", "sha": blob["sha"] })
        })
        .collect();
    let (s, tree) = call("POST", "/git/trees", json!({ "base_tree": base, "tree": entries }));
    assert_eq!(s, 201, "{tree}");
    let (s, commit) =
        call("POST", "/git/commits", json!({ "message": message_text, "tree": tree["sha"], "parents": [head] }));
    assert_eq!(s, 201, "{commit}");
    commit["sha"].as_str().unwrap().to_string()
}
