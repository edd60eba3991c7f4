//! `LocalGitHub`: one git repository on disk answering GitHub REST requests in-process.
//! Owns configuration, authentication, routing to the handlers, and the headers every
//! answer carries.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::date;
use crate::git::{self, Git, GitError};
use crate::render::Render;
use crate::reply::{ApiError, Reply, DOCS_URL};
use crate::routes::{self, Route};
use crate::store::Store;
use crate::validate;

/// GitHub's limit on the entries of one tree listing; past it, `truncated: true`.
pub const MAX_TREE_ENTRIES: usize = 100_000;

/// The identity used for commits whose request names no author or committer (GitHub would
/// use the authenticated user).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub email: String,
}

/// How a [`LocalGitHub`] behaves.
#[derive(Clone, Debug)]
pub struct Options {
    /// Prefix of every `url`/`html_url` in answers, e.g. `http://127.0.0.1:8080`.
    pub api_base: String,
    /// The branch `GET /repos/{o}/{r}` reports and the contents API uses without `ref`/`branch`.
    pub default_branch: String,
    /// When set, requests must carry `Authorization: Bearer <token>` (or `token <token>`).
    pub token: Option<String>,
    /// Recursive tree listings with more entries stop after this many, with `truncated: true`
    /// (GitHub's limit is 100,000 entries or 7 MB, always applied: [`MAX_TREE_ENTRIES`]).
    pub truncate_tree_after: Option<usize>,
    /// Tree listings stop, `truncated: true`, before their JSON passes this many bytes
    /// (GitHub: 7 MB).
    pub max_tree_bytes: usize,
    /// `GET git/blobs` of a larger blob is refused with 403 without reading it (GitHub:
    /// 100 MB); the contents API reads no file over 1 MB (`encoding: none`, as GitHub).
    pub max_blob_bytes: u64,
    /// Author and committer when a request gives none.
    pub identity: Identity,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            api_base: "http://127.0.0.1".into(),
            default_branch: "main".into(),
            token: None,
            truncate_tree_after: None,
            max_tree_bytes: 7_000_000,
            max_blob_bytes: 100_000_000,
            identity: Identity { name: "local-github".into(), email: "local-github@localhost".into() },
        }
    }
}

/// An HTTP request as far as this crate cares. Header names are case-insensitive.
#[derive(Clone, Debug, Default)]
pub struct ApiRequest {
    pub method: String,
    /// Relative to the API root: `/repos/o/r/git/ref/heads/main?x=y`.
    pub path_and_query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// An HTTP response; header names are lowercase.
#[derive(Clone, Debug)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl ApiResponse {
    /// The first header named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` when empty or not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// Why a repository could not be created or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Git(#[from] GitError),
    /// The path is not a git directory (pass `<worktree>/.git` for a non-bare repository).
    #[error("{0} is not a git repository")]
    NotARepository(PathBuf),
    /// Owner or repository name outside `[A-Za-z0-9._-]`.
    #[error("invalid owner or repository name {0:?}")]
    InvalidName(String),
    #[error("invalid default branch name {0:?}")]
    InvalidBranch(String),
}

/// The handlers' view of the repository.
pub(crate) struct Repo {
    pub store: Store,
    pub render: Render,
    pub options: Options,
}

/// A git repository served as `/repos/{owner}/{name}`. Cheap to share across threads
/// (`&self` everywhere); several processes may serve the same repository at once.
pub struct LocalGitHub {
    owner: String,
    name: String,
    repo: Repo,
    rate: Mutex<RateWindow>,
}

struct RateWindow {
    reset: i64,
    used: u64,
}

impl LocalGitHub {
    /// Creates an empty bare repository (no commits, `HEAD` naming the default branch).
    pub fn init(path: impl AsRef<Path>, owner: &str, name: &str, options: Options) -> Result<Self, Error> {
        check_names(owner, name, &options)?;
        let path = path.as_ref();
        let mut cmd = git::isolated_command();
        cmd.args(["init", "--bare", "--quiet", "--template=", "--initial-branch", &options.default_branch, "--"])
            .arg(path);
        let out = git::run_command(cmd, None)?;
        if !out.success() {
            return Err(git::failed(&["init", "--bare"], &out).into());
        }
        Self::open(path, owner, name, options)
    }

    /// Serves an existing repository (its git directory: bare, or `<worktree>/.git`).
    pub fn open(path: impl AsRef<Path>, owner: &str, name: &str, options: Options) -> Result<Self, Error> {
        check_names(owner, name, &options)?;
        let path = path.as_ref();
        let abs = std::fs::canonicalize(path).map_err(|_| Error::NotARepository(path.to_path_buf()))?;
        let g = Git::new(&abs);
        if !g.output(&["rev-parse", "--git-dir"], &[], None)?.success() {
            return Err(Error::NotARepository(path.to_path_buf()));
        }
        let render = Render::new(&options.api_base, owner, name);
        Ok(LocalGitHub {
            owner: owner.to_string(),
            name: name.to_string(),
            repo: Repo { store: Store::new(g), render, options },
            rate: Mutex::new(RateWindow { reset: 0, used: 0 }),
        })
    }

    /// The git directory served.
    pub fn git_dir(&self) -> &Path {
        self.repo.store.git().git_dir()
    }

    pub fn options(&self) -> &Options {
        &self.repo.options
    }

    /// Answers one request. Never panics; faults of git itself become 500.
    pub fn handle(&self, req: &ApiRequest) -> ApiResponse {
        let result = catch_unwind(AssertUnwindSafe(|| self.dispatch(req)))
            .unwrap_or_else(|_| Err(ApiError::new(500, "local-github: internal error")));
        let (status, body, mut headers) = match result {
            Ok(r) => {
                let body = if r.status == 204 { Vec::new() } else { serde_json::to_vec(&r.body).unwrap_or_default() };
                (r.status, body, r.headers)
            }
            Err(e) => {
                let body = serde_json::json!({ "message": e.message, "documentation_url": DOCS_URL });
                (e.status, serde_json::to_vec(&body).unwrap_or_default(), Vec::new())
            }
        };
        if status != 204 {
            headers.push(("content-type".into(), "application/json; charset=utf-8".into()));
        }
        headers.extend(self.rate_headers());
        headers.push(("x-github-api-version-selected".into(), "2022-11-28".into()));
        headers.push(("x-github-media-type".into(), "github.v3; format=json".into()));
        ApiResponse { status, headers, body }
    }

    fn dispatch(&self, req: &ApiRequest) -> Result<Reply, ApiError> {
        self.authenticate(req)?;
        let target = routes::route(&req.method, &req.path_and_query).ok_or_else(ApiError::not_found)?;
        if !target.owner.eq_ignore_ascii_case(&self.owner) || !target.repo.eq_ignore_ascii_case(&self.name) {
            return Err(ApiError::not_found());
        }
        let repo = &self.repo;
        let body = || crate::reply::Body::parse(&req.body);
        match &target.route {
            Route::GetRepo => Ok(Reply::ok(repo.render.repository(&repo.options.default_branch, date::now()))),
            Route::GetRef(r) => repo.get_ref(r),
            Route::CreateRef => repo.create_ref(&body()?),
            Route::UpdateRef(r) => repo.update_ref(r, &body()?),
            Route::DeleteRef(r) => repo.delete_ref(r),
            Route::GetTree(t) => repo.get_tree(t, target.query("recursive").is_some()),
            Route::CreateTree => repo.create_tree(&body()?),
            Route::GetBlob(s) => repo.get_blob(s),
            Route::CreateBlob => repo.create_blob(&body()?),
            Route::GetCommit(s) => repo.get_commit(s),
            Route::CreateCommit => repo.create_commit(&body()?),
            Route::GetContents(p) => repo.get_contents(p, target.query("ref")),
            Route::PutContents(p) => repo.put_contents(p, &body()?),
            Route::DeleteContents(p) => repo.delete_contents(p, &body()?),
            Route::ListCommits => repo.list_commits(&target),
            Route::Compare(spec) => repo.compare(spec),
        }
    }

    fn authenticate(&self, req: &ApiRequest) -> Result<(), ApiError> {
        let Some(token) = &self.repo.options.token else { return Ok(()) };
        let header = req.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("authorization")).map(|(_, v)| v.trim());
        let Some(header) = header else { return Err(ApiError::new(401, "Requires authentication")) };
        let given = header.split_once(' ').and_then(|(scheme, t)| {
            (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token")).then(|| t.trim())
        });
        if given == Some(token.as_str()) {
            Ok(())
        } else {
            Err(ApiError::new(401, "Bad credentials"))
        }
    }

    /// Informational only: this crate never refuses for rate; the test stand-in injects that.
    fn rate_headers(&self) -> Vec<(String, String)> {
        let now = date::now();
        let (reset, used) = match self.rate.lock() {
            Ok(mut w) => {
                if now >= w.reset {
                    *w = RateWindow { reset: now + 3600, used: 0 };
                }
                w.used += 1;
                (w.reset, w.used)
            }
            Err(_) => (now + 3600, 1),
        };
        vec![
            ("x-ratelimit-limit".into(), "5000".into()),
            ("x-ratelimit-remaining".into(), 5000u64.saturating_sub(used).to_string()),
            ("x-ratelimit-used".into(), used.to_string()),
            ("x-ratelimit-reset".into(), reset.to_string()),
            ("x-ratelimit-resource".into(), "core".into()),
        ]
    }
}

fn check_names(owner: &str, name: &str, options: &Options) -> Result<(), Error> {
    for n in [owner, name] {
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
            return Err(Error::InvalidName(n.to_string()));
        }
    }
    if !validate::branch(&options.default_branch) {
        return Err(Error::InvalidBranch(options.default_branch.clone()));
    }
    Ok(())
}
