//! GitHub stand-in: local-github's git-backed REST subset served over real HTTP on
//! `127.0.0.1:0`, as strict as GitHub per `shared/facts/github-rest.md`, with faults to
//! inject at runtime and a record of every exchange.
//!
//! 1. [`StandIn::start`] binds a port, creates a bare repository in a temporary directory
//!    (reflogs on, so force pushes would show) and serves it on its own thread and runtime,
//!    so sync tests and child processes can use it. Dropping it stops the server and removes
//!    the directory.
//! 2. Point a client at [`StandIn::api_base`] with [`StandIn::token`].
//! 3. Inject faults with `standin.faults().set(Faults::default()...)` (see [`faults`]).
//! 4. Assert on [`StandIn::exchanges`], and on the repository with [`StandIn::repo`] (real
//!    `git log`, `ls-tree`, `show`, `fsck --strict`, reflog).
//! 5. [`StandIn::set_webhook`] makes it a repository with a webhook: a `ping`, then a signed
//!    `push` for every branch move, delivered on a thread as GitHub does (see [`webhooks`]).
//!
//! Gatekeeping, in GitHub's order: no `User-Agent` -> 403 (plain text, GitHub's wording); no
//! token -> 401 `Requires authentication`; wrong token -> 401 `Bad credentials`; a used-up
//! primary limit -> 403/429 with `x-ratelimit-remaining: 0`. Every answer carries the five
//! `x-ratelimit-*` headers from a real per-token counter.

pub mod client;
pub mod conformance;
pub mod faults;
pub mod repo;
mod server;
pub mod webhooks;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fgd_sync_local_github::{LocalGitHub, Options};
use tokio::sync::oneshot;

pub use client::{ClientError, Response};
pub use faults::{Action, FaultState, Faults, Match, Rule, When};
pub use repo::{GitRepo, LogEntry, RefMove};
pub use server::Exchange;
pub use webhooks::{HookDelivery, WebhookConfig};

use server::{lock, Shared};
use webhooks::Hooks;

use crate::TempDir;

/// A token in GitHub's fine-grained format; any string works.
pub const TOKEN: &str = "github_pat_11STANDIN0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUV";
/// `User-Agent` of requests made with [`StandIn::call`].
pub const TEST_UA: &str = "fgd-sync-tests";

/// How a stand-in starts.
#[derive(Clone, Debug)]
pub struct StandInOptions {
    pub owner: String,
    pub repo: String,
    pub default_branch: String,
    /// The one token accepted.
    pub token: String,
    /// Primary limit per token and hour (GitHub: 5,000).
    pub rate_limit: u64,
    /// Recursive tree listings longer than this come back `truncated: true`.
    pub truncate_tree_after: Option<usize>,
}

impl Default for StandInOptions {
    fn default() -> Self {
        StandInOptions {
            owner: "acme".into(),
            repo: "fabric".into(),
            default_branch: "main".into(),
            token: TOKEN.into(),
            rate_limit: 5000,
            truncate_tree_after: None,
        }
    }
}

/// Why a stand-in could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StandInError {
    #[error("stand-in i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("stand-in repository: {0}")]
    Repository(#[from] fgd_sync_local_github::Error),
    #[error("stand-in git: {0}")]
    Git(String),
}

/// Sets the faults of a running stand-in.
#[derive(Clone)]
pub struct FaultHandle(Arc<Mutex<FaultState>>);

impl FaultHandle {
    /// Replaces every fault (counters and generator start over).
    pub fn set(&self, faults: Faults) {
        lock(&self.0).set(faults);
    }
    pub fn clear(&self) {
        self.set(Faults::default());
    }
    /// The rules in force, with their `seen`/`fired` counters.
    pub fn current(&self) -> Faults {
        lock(&self.0).faults.clone()
    }
}

/// A running GitHub stand-in. Stops when dropped.
pub struct StandIn {
    addr: SocketAddr,
    shared: Arc<Shared>,
    options: StandInOptions,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    dir: TempDir,
}

impl StandIn {
    pub fn start(options: StandInOptions) -> Result<StandIn, StandInError> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let dir = TempDir::new("github-standin")?;
        let git_dir = dir.path().join(format!("{}.git", options.repo));
        let local = Options {
            api_base: format!("http://{addr}"),
            default_branch: options.default_branch.clone(),
            token: None, // checked here, per token, before local-github sees the request
            truncate_tree_after: options.truncate_tree_after,
            ..Options::default()
        };
        let github = LocalGitHub::init(&git_dir, &options.owner, &options.repo, local)?;
        let repo = GitRepo::new(&git_dir);
        repo.git(&["config", "core.logAllRefUpdates", "always"]).map_err(StandInError::Git)?;
        let hooks = Arc::new(Hooks::new(repo.clone(), &options.owner, &options.repo, &options.default_branch));
        let shared = Arc::new(Shared::new(github, repo, options.token.clone(), options.rate_limit, hooks));
        // Several threads: git work runs in `spawn_blocking`, latency and hangs are timers.
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let server_shared = shared.clone();
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
                tokio::select! {
                    _ = stopped => {}
                    _ = server::serve(listener, server_shared) => {}
                }
            });
            // Hanging answers may still sleep; don't wait for them.
            runtime.shutdown_background();
        });
        Ok(StandIn { addr, shared, options, stop: Some(stop), thread: Some(thread), dir })
    }

    /// `http://127.0.0.1:<port>`: the `--github-api` of fgd-sync.
    pub fn api_base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api_base())
    }

    /// `/repos/<owner>/<repo>`.
    pub fn repo_path(&self) -> String {
        format!("/repos/{}/{}", self.options.owner, self.options.repo)
    }

    pub fn options(&self) -> &StandInOptions {
        &self.options
    }

    pub fn token(&self) -> &str {
        &self.options.token
    }

    /// The repository, through real git.
    pub fn repo(&self) -> &GitRepo {
        &self.shared.repo
    }

    /// A scratch directory that lives as long as the stand-in.
    pub fn scratch(&self) -> &Path {
        self.dir.path()
    }

    pub fn faults(&self) -> FaultHandle {
        FaultHandle(self.shared.faults.clone())
    }

    /// Every exchange so far, in arrival order.
    pub fn exchanges(&self) -> Vec<Exchange> {
        lock(&self.shared.log).clone()
    }

    pub fn clear_exchanges(&self) {
        lock(&self.shared.log).clear();
    }

    /// Exchanges with this method whose path contains `part`.
    pub fn count(&self, method: &str, part: &str) -> usize {
        lock(&self.shared.log).iter().filter(|e| e.method == method && e.path.contains(part)).count()
    }

    /// Requests counted against the configured token in the current window.
    pub fn rate_used(&self) -> u64 {
        self.shared.rate_used(&self.options.token)
    }

    /// Commits files to the default branch with git directly (the repository's first commit
    /// when it is empty). Returns the commit.
    pub fn seed(&self, files: &[(&str, &str)], message: &str) -> Result<String, StandInError> {
        let changes: Vec<(&str, Option<&str>)> = files.iter().map(|(p, t)| (*p, Some(*t))).collect();
        let commit = self.repo().commit_files(&self.options.default_branch, &changes, message);
        self.shared.hooks.poke();
        commit.map_err(StandInError::Git)
    }

    /// Gives the repository a webhook, as its settings page does: `url` gets a `ping` now and
    /// a `push` for every later branch move (JSON; signed when `secret` is set).
    pub fn set_webhook(&self, url: &str, secret: Option<&str>) {
        let config =
            WebhookConfig { url: url.into(), secret: secret.map(Into::into), content_type: Default::default() };
        self.set_webhook_config(Some(config));
    }

    /// Sets the webhook with every setting (`None`: removes it; nothing more is delivered).
    pub fn set_webhook_config(&self, config: Option<WebhookConfig>) {
        self.shared.hooks.set(config);
    }

    /// Every webhook delivery so far, in order, with the receiver's answer.
    pub fn webhook_deliveries(&self) -> Vec<HookDelivery> {
        self.shared.hooks.deliveries()
    }

    /// Waits until at least `count` deliveries were answered (or failed), or `timeout` passed.
    pub fn wait_for_webhook_deliveries(&self, count: usize, timeout: Duration) -> Vec<HookDelivery> {
        self.shared.hooks.wait_for(count, timeout)
    }

    /// A request with the headers GitHub requires and the token; `path` is absolute
    /// (`/repos/...`) or relative to the repository (`git/ref/heads/main`).
    pub fn call(&self, method: &str, path: &str, body: Option<&serde_json::Value>) -> Result<Response, ClientError> {
        let auth = format!("Bearer {}", self.options.token);
        let headers = [
            ("User-Agent", TEST_UA),
            ("Accept", "application/vnd.github+json"),
            ("X-GitHub-Api-Version", "2022-11-28"),
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
        ];
        let n = if body.is_some() { headers.len() } else { headers.len() - 1 };
        self.call_with(method, path, &headers[..n], body, Duration::from_secs(30))
    }

    /// A request with exactly these headers.
    pub fn call_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&serde_json::Value>,
        timeout: Duration,
    ) -> Result<Response, ClientError> {
        let path = match path {
            "" => self.repo_path(),
            p if p.starts_with('/') => p.to_string(),
            p => format!("{}/{p}", self.repo_path()),
        };
        let body = body.map(|b| b.to_string().into_bytes());
        client::send(method, &self.url(&path), headers, body.as_deref(), timeout)
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.shared.hooks.stop();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
