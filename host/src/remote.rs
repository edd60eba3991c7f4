//! Where the fabric repository is: GitHub (or GitHub Enterprise) over HTTPS, or a git
//! repository on disk served in-process through the same REST subset, so the guest's code
//! path is identical. Either way the result is an API base for the guest and the
//! `PolicyHooks` that let it reach that base and nothing else.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use fgd_sync_local_github::{ApiRequest, LocalGitHub, Options};

use crate::net::hooks::{HttpLimits, InProcessRemote, LocalResponse, PolicyHooks};
use crate::net::policy::{EgressPolicy, Origin, Token};

/// The API base the guest uses for a local repository. `.invalid` never resolves (RFC 2606),
/// so nothing can leave the machine even if the in-process dispatch were bypassed.
pub const LOCAL_API_BASE: &str = "http://local.fgd-sync.invalid";
/// Owner and name the local remote answers to.
pub const LOCAL_OWNER: &str = "local";
pub const LOCAL_REPO: &str = "fabric";

#[derive(Clone, Debug)]
pub enum Remote {
    GitHub {
        api_base: String,
        owner: String,
        repo: String,
        token: Option<Token>,
        /// The token may go over plain HTTP to a host other than loopback (`--allow-insecure-http`).
        insecure_http: bool,
    },
    /// A bare repository (created when missing) or a repository's `.git` directory.
    Local { path: PathBuf },
}

impl Remote {
    /// `owner/name` -> GitHub remote. Refused now rather than at the first request: a
    /// malformed or dotted origin, and a token over plain HTTP beyond loopback unless
    /// `insecure_http`.
    pub fn github(
        api_base: &str,
        repository: &str,
        token: Option<Token>,
        insecure_http: bool,
    ) -> anyhow::Result<Remote> {
        let (owner, repo) = repository
            .split_once('/')
            .filter(|(o, r)| !o.is_empty() && !r.is_empty() && !r.contains('/'))
            .with_context(|| format!("repository {repository:?} must be OWNER/NAME"))?;
        let remote = Remote::GitHub {
            api_base: api_base.trim_end_matches('/').to_string(),
            owner: owner.into(),
            repo: repo.into(),
            token,
            insecure_http,
        };
        remote.policy().map_err(|e| anyhow::anyhow!("GitHub API base: {e}"))?;
        Ok(remote)
    }

    /// The egress policy of a GitHub remote: its repository's requests, and nothing else.
    fn policy(&self) -> Result<EgressPolicy, String> {
        let mut policy = EgressPolicy::default();
        let (api_base, owner, repo) = self.coordinates();
        let (token, insecure) = match self {
            Remote::GitHub { token, insecure_http, .. } => (token.clone(), *insecure_http),
            Remote::Local { .. } => (None, false),
        };
        policy.allow_insecure_http(insecure);
        policy.allow_repository(&api_base, &owner, &repo, token)?;
        Ok(policy)
    }

    /// `(api_base, owner, repo)` as the guest's `target` needs them.
    pub fn coordinates(&self) -> (String, String, String) {
        match self {
            Remote::GitHub { api_base, owner, repo, .. } => (api_base.clone(), owner.clone(), repo.clone()),
            Remote::Local { .. } => (LOCAL_API_BASE.into(), LOCAL_OWNER.into(), LOCAL_REPO.into()),
        }
    }

    /// Human-readable, for reports: never shows a token.
    pub fn describe(&self) -> String {
        match self {
            Remote::GitHub { api_base, owner, repo, .. } => format!("{owner}/{repo} at {api_base}"),
            Remote::Local { path } => format!("local repository {}", path.display()),
        }
    }

    /// The hooks for this remote: its origin is the only one allowed.
    pub fn hooks(&self, limits: HttpLimits, default_branch: &str) -> anyhow::Result<PolicyHooks> {
        // The local remote is scoped like GitHub: the guest sees the same rules everywhere.
        let policy = self.policy().map_err(anyhow::Error::msg)?;
        match self {
            Remote::GitHub { .. } => Ok(PolicyHooks::new(policy, limits)),
            Remote::Local { path } => {
                let origin = Origin::parse(LOCAL_API_BASE).map_err(anyhow::Error::msg)?;
                let local = LocalRemote::open_or_init(path, default_branch)?;
                Ok(PolicyHooks::new(policy, limits).with_local_remote(origin, Arc::new(local)))
            }
        }
    }
}

/// `LocalGitHub` as an `InProcessRemote`.
pub struct LocalRemote(LocalGitHub);

impl LocalRemote {
    pub fn open_or_init(path: &Path, default_branch: &str) -> anyhow::Result<LocalRemote> {
        let options =
            Options { api_base: LOCAL_API_BASE.into(), default_branch: default_branch.into(), ..Options::default() };
        let git_dir = if path.join(".git").is_dir() { path.join(".git") } else { path.to_path_buf() };
        let github = if git_dir.join("HEAD").exists() {
            LocalGitHub::open(&git_dir, LOCAL_OWNER, LOCAL_REPO, options)
        } else {
            LocalGitHub::init(&git_dir, LOCAL_OWNER, LOCAL_REPO, options)
        }
        .map_err(|e| anyhow::anyhow!("local repository {}: {e}", path.display()))?;
        Ok(LocalRemote(github))
    }
}

impl InProcessRemote for LocalRemote {
    fn handle(&self, method: &str, path_and_query: &str, headers: &[(String, String)], body: &[u8]) -> LocalResponse {
        let response = self.0.handle(&ApiRequest {
            method: method.into(),
            path_and_query: path_and_query.into(),
            headers: headers.to_vec(),
            body: body.to_vec(),
        });
        LocalResponse { status: response.status, headers: response.headers, body: response.body }
    }
}
