//! Arguments shared by several commands, and how they become a runtime, fabrics, sources
//! and guest `target`s: flags win over the environment, which wins over the config file.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;

use crate::config::{self, Committer, ConfigFile, DirectionName, FabricEntry};
use crate::net::client::{Client, Timeouts};
use crate::net::hooks::{HttpLimits, PolicyHooks};
use crate::net::http_log::HttpLog;
use crate::net::policy::{EgressPolicy, Token};
use crate::remote::Remote;
use crate::runtime::{CallContext, GuestImports, Runtime, RuntimeConfig};
use crate::source::directory::DirectorySource;
use crate::source::netbox::{NetBoxConfig, NetBoxSource};
use crate::source::CrSource;
use crate::wit::{Identity, SyncOptions, Target};

pub const DEFAULT_GITHUB_API: &str = "https://api.github.com";

/// Sandbox limits of the sync component: taken by every command that runs it.
#[derive(Args, Clone, Debug)]
pub struct RuntimeArgs {
    /// Memory limit for the sync component, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 512)]
    pub memory_limit: usize,
    /// Time limit for one operation (guest code and its HTTP calls together), in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 900)]
    pub timeout: u64,
    /// Instruction budget for one operation (deterministic; for CI and fuzzing).
    #[arg(long, value_name = "UNITS")]
    pub fuel: Option<u64>,
    /// Directory for the precompiled component [env: FGD_SYNC_CACHE_DIR; default: ~/.cache/fgd-sync].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

/// `--http-log`: for the commands that talk to a repository.
#[derive(Args, Clone, Debug)]
pub struct HttpLogArgs {
    /// Write every HTTP exchange of the component as one JSON line to FILE (tokens redacted).
    #[arg(long, value_name = "FILE")]
    pub http_log: Option<PathBuf>,
}

impl HttpLogArgs {
    pub fn open(&self) -> anyhow::Result<Option<Arc<HttpLog>>> {
        self.http_log
            .as_ref()
            .map(|p| HttpLog::create(p).map(Arc::new).with_context(|| format!("opening the HTTP log {}", p.display())))
            .transpose()
    }
}

impl RuntimeArgs {
    /// The sandbox limits of these flags, with the host's own clocks, random and network.
    pub fn config(&self) -> RuntimeConfig {
        RuntimeConfig {
            memory_limit_bytes: self.memory_limit.saturating_mul(1024 * 1024),
            deadline: Duration::from_secs(self.timeout.max(1)),
            fuel: self.fuel,
            cache_dir: self.cache_dir.clone(),
            imports: None,
        }
    }

    pub fn load(&self) -> anyhow::Result<Runtime> {
        self.load_with(None)
    }

    /// With `imports` in place of the host's clocks, random and network (`--record`).
    pub fn load_with(&self, imports: Option<Arc<dyn GuestImports>>) -> anyhow::Result<Runtime> {
        let config = RuntimeConfig { imports, ..self.config() };
        let started = std::time::Instant::now();
        let runtime = Runtime::load(config)?;
        tracing::debug!(origin = ?runtime.origin, elapsed = ?started.elapsed(), "component ready");
        Ok(runtime)
    }
}

/// How a sync writes: shared by `plan`, `sync`, `resolve` and `serve`.
#[derive(Args, Clone, Debug)]
pub struct WriteArgs {
    /// Attempts when another writer moves the branch between our read and our write.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub max_attempts: u32,
    /// Longest wait for a GitHub rate limit to reset, in seconds; a longer one fails.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub max_rate_limit_wait: u64,
    /// Let one sync delete up to N managed files. By default a sync refuses to delete every
    /// managed file of a fabric, or more than 10 when that is over 10 % of them (HNP answering
    /// with too few CRs looks like that) [config file: max_deletions].
    #[arg(long, value_name = "N")]
    pub allow_deletions: Option<u32>,
    /// Which way edits go: push (NetBox -> Git), pull (Git -> NetBox) or both (pull, then
    /// push, in one run) [config file: direction; default: push, serve: both].
    #[arg(long, value_enum, value_name = "WAY")]
    pub direction: Option<DirectionName>,
}

impl WriteArgs {
    /// The options of a sync of `fabric`: flags win over its config entry, which wins over
    /// `default`. A pull needs a source it can write: NetBox, not a directory (which syncs
    /// `push` by default, and refuses any other direction asked for).
    pub fn options(&self, fabric: &Fabric, default: DirectionName) -> anyhow::Result<SyncOptions> {
        let directory = matches!(fabric.source, SourceSpec::Directory(_));
        let direction = match self.direction.or(fabric.direction) {
            Some(asked) => asked,
            None if directory => DirectionName::Push,
            None => default,
        };
        if direction != DirectionName::Push && directory {
            bail!(
                "fabric {:?}: direction {direction:?} writes Git's edits into NetBox, and the CR source is a \
                 directory (read-only): use --netbox-url, or --direction push",
                fabric.name
            );
        }
        Ok(SyncOptions {
            max_attempts: self.max_attempts.max(1),
            max_rate_limit_wait_secs: self.max_rate_limit_wait,
            resolutions: Vec::new(),
            max_deletions: self.allow_deletions.or(fabric.max_deletions),
            direction: direction.into(),
        })
    }
}

/// Which fabric(s), and where their CRs and repository are.
#[derive(Args, Clone, Debug, Default)]
pub struct FabricArgs {
    /// TOML file listing fabrics (see README).
    #[arg(long, value_name = "FILE", env = "FGD_SYNC_CONFIG")]
    pub config: Option<PathBuf>,
    /// Fabric name; with --config, the fabric to use (repeat for several; default: all).
    #[arg(long = "fabric", value_name = "NAME")]
    pub fabrics: Vec<String>,
    /// GitHub repository OWNER/NAME holding the FGD.
    #[arg(long, value_name = "OWNER/NAME", conflicts_with = "local_repo")]
    pub repo: Option<String>,
    /// A git repository on disk instead of GitHub (created, bare, when missing).
    #[arg(long, value_name = "PATH")]
    pub local_repo: Option<PathBuf>,
    /// GitHub REST API base; GitHub Enterprise Server: https://HOST/api/v3 [default: https://api.github.com].
    #[arg(long, value_name = "URL", env = "GITHUB_API_URL")]
    pub github_api: Option<String>,
    /// Branch to read and write [default: main].
    #[arg(long, value_name = "NAME")]
    pub branch: Option<String>,
    /// The fabric's directory in the repository [default: fabrics/<fabric>/gitops].
    #[arg(long, value_name = "PATH")]
    pub directory: Option<String>,
    /// Read CRs from manifest files in DIR (YAML or JSON) instead of NetBox.
    #[arg(long, value_name = "DIR", conflicts_with = "netbox_url")]
    pub source_dir: Option<PathBuf>,
    /// NetBox base URL (HNP's API is under /api/plugins/hedgehog/); token from NETBOX_TOKEN.
    #[arg(long, value_name = "URL", env = "NETBOX_URL")]
    pub netbox_url: Option<String>,
    /// Put before every commit subject, e.g. "[hnp] ".
    #[arg(long, value_name = "TEXT")]
    pub message_prefix: Option<String>,
    /// Commit author and committer name (default: the token's user).
    #[arg(long, value_name = "NAME", requires = "committer_email")]
    pub committer_name: Option<String>,
    /// Commit author and committer email.
    #[arg(long, value_name = "EMAIL", requires = "committer_name")]
    pub committer_email: Option<String>,
    /// Send tokens over plain http:// to hosts other than loopback (readable on the network)
    /// [config file: allow_insecure_http].
    #[arg(long)]
    pub allow_insecure_http: bool,
    /// Trust the CA certificates of this PEM bundle too, for GitHub Enterprise Server and
    /// NetBox behind an internal CA [config file: ca_file].
    #[arg(long, value_name = "PATH")]
    pub ca_file: Option<PathBuf>,
}

#[derive(Clone, Debug)]
pub enum SourceSpec {
    Directory(PathBuf),
    NetBox { url: String, token: Token },
}

/// Everything about one fabric, resolved.
#[derive(Clone, Debug)]
pub struct Fabric {
    pub name: String,
    pub remote: Remote,
    pub branch: String,
    pub directory: String,
    pub source: SourceSpec,
    pub message_prefix: String,
    pub committer: Option<Committer>,
    /// The config file's `max_deletions` for the fabric (or its default).
    pub max_deletions: Option<u32>,
    /// The config file's `direction` for the fabric.
    pub direction: Option<DirectionName>,
}

impl Fabric {
    pub fn target(&self) -> Target {
        let (api_base, owner, repo) = self.remote.coordinates();
        Target {
            api_base,
            owner,
            repo,
            branch: self.branch.clone(),
            directory: self.directory.clone(),
            committer: self.committer.as_ref().map(|c| Identity { name: c.name.clone(), email: c.email.clone() }),
            message_prefix: self.message_prefix.clone(),
        }
    }

    /// The guest's network: this fabric's repository and nothing else.
    pub fn hooks(&self, log: Option<Arc<HttpLog>>) -> anyhow::Result<PolicyHooks> {
        let hooks = self.remote.hooks(HttpLimits::default(), &self.branch)?;
        Ok(match log {
            Some(log) => hooks.with_log(log),
            None => hooks,
        })
    }

    /// Opens the CR source; a directory is parsed in the sandbox now.
    pub async fn source(&self, runtime: &Runtime) -> anyhow::Result<Arc<dyn CrSource>> {
        Ok(match &self.source {
            SourceSpec::Directory(dir) => Arc::new(DirectorySource::load(runtime, offline_context(), dir).await?),
            SourceSpec::NetBox { url, token } => {
                let client = Client::new(Timeouts::default());
                Arc::new(NetBoxSource::new(NetBoxConfig::new(url.clone(), token.expose()), client)?)
            }
        })
    }
}

/// A context for pure calls: no network at all, no CRs.
pub fn offline_context() -> CallContext {
    CallContext {
        hooks: PolicyHooks::new(EgressPolicy::default(), HttpLimits::default()),
        source: Arc::new(DirectorySource::new(Vec::new())),
    }
}

impl FabricArgs {
    /// The fabrics this invocation is about.
    pub fn resolve(&self) -> anyhow::Result<Vec<Fabric>> {
        let file = self.config.as_deref().map(ConfigFile::load).transpose()?;
        let entries: Vec<FabricEntry> = match &file {
            Some(file) if self.fabrics.is_empty() => file.fabrics.clone(),
            Some(file) => self
                .fabrics
                .iter()
                .map(|name| {
                    file.fabric(name).cloned().with_context(|| {
                        format!(
                            "fabric {name:?} is not in {}",
                            self.config.as_deref().unwrap_or_else(|| "".as_ref()).display()
                        )
                    })
                })
                .collect::<anyhow::Result<_>>()?,
            None => match self.fabrics.as_slice() {
                [name] => vec![FabricEntry { name: name.clone(), ..FabricEntry::default() }],
                [] => bail!(
                    "which fabric? give --fabric NAME (with --repo or --local-repo and a source), or --config FILE"
                ),
                _ => bail!("several --fabric need a --config file that describes them"),
            },
        };
        if entries.is_empty() {
            bail!("the config file lists no [[fabric]]");
        }
        let flags_apply = entries.len() == 1;
        let defaults = file.map(|f| f.defaults).unwrap_or_default();
        // Process-wide: the NetBox clients and the guest's HTTPS all trust it.
        if let Some(path) = self.ca_file.as_ref().or(defaults.ca_file.as_ref()) {
            let count = crate::net::client::trust_ca_file(path)?;
            tracing::debug!(path = %path.display(), count, "trusting the CA bundle");
        }
        entries.into_iter().map(|entry| self.fabric(entry, &defaults, flags_apply)).collect()
    }

    fn fabric(&self, entry: FabricEntry, defaults: &config::Defaults, flags: bool) -> anyhow::Result<Fabric> {
        let pick = |flag: &Option<String>, file: &Option<String>| {
            if flags {
                flag.clone().or(file.clone())
            } else {
                file.clone()
            }
        };
        let name = entry.name.clone();
        let env = |var: &str| std::env::var(var).ok().filter(|v| !v.is_empty());
        let insecure_http = self.allow_insecure_http || defaults.allow_insecure_http == Some(true);

        let local = if flags { self.local_repo.clone().or(entry.local.clone()) } else { entry.local.clone() };
        let repository = pick(&self.repo, &entry.repository);
        let remote = match (local, repository) {
            (Some(path), None) => Remote::Local { path },
            (None, Some(repository)) => {
                let api = pick(&self.github_api, &entry.github_api)
                    .or(defaults.github_api.clone())
                    .unwrap_or_else(|| DEFAULT_GITHUB_API.to_string());
                let token_var = entry.github_token_env.clone().unwrap_or_else(|| "GITHUB_TOKEN".into());
                // Trimmed as the NetBox token is: a pasted newline would break the header.
                let token = env(&token_var).map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).map(Token::new);
                if token.is_none() {
                    tracing::warn!(fabric = %name, "no GitHub token in ${token_var}: GitHub will refuse writes");
                }
                Remote::github(&api, &repository, token, insecure_http)?
            }
            (Some(_), Some(_)) => {
                bail!("fabric {name:?}: give either a GitHub repository or a local repository, not both")
            }
            (None, None) => bail!("fabric {name:?}: no repository: give --repo OWNER/NAME or --local-repo PATH"),
        };

        let source_dir =
            if flags { self.source_dir.clone().or(entry.source_dir.clone()) } else { entry.source_dir.clone() };
        let netbox_url = pick(&self.netbox_url, &entry.netbox_url).or(defaults.netbox_url.clone());
        let source = match (source_dir, entry.source.as_deref(), netbox_url) {
            (Some(dir), None | Some("directory"), _) => SourceSpec::Directory(dir),
            (None, None | Some("netbox"), Some(url)) => {
                let token_var = entry.netbox_token_env.clone().unwrap_or_else(|| "NETBOX_TOKEN".into());
                let token = env(&token_var)
                    .with_context(|| format!("fabric {name:?}: NetBox needs a token in ${token_var}"))?;
                let origin = crate::net::policy::Origin::parse(&url)
                    .map_err(|e| anyhow::anyhow!("fabric {name:?}: NetBox URL: {e}"))?;
                if origin.scheme == "http" && !origin.is_loopback() && !insecure_http {
                    bail!("fabric {name:?}: NetBox URL {url} is plain HTTP: the token would cross the network readable; use https, or --allow-insecure-http");
                }
                SourceSpec::NetBox { url, token: Token::new(token) }
            }
            (None, Some("netbox"), None) => {
                bail!("fabric {name:?}: source is netbox but no NetBox URL (--netbox-url or NETBOX_URL)")
            }
            (_, Some(other), _) if other != "netbox" && other != "directory" => {
                bail!("fabric {name:?}: unknown source {other:?} (netbox or directory)")
            }
            _ => bail!("fabric {name:?}: no CR source: give --source-dir DIR or --netbox-url URL"),
        };

        let committer = match (&self.committer_name, &self.committer_email) {
            (Some(name), Some(email)) if flags => Some(Committer { name: name.clone(), email: email.clone() }),
            _ => defaults.committer.clone(),
        };
        Ok(Fabric {
            directory: pick(&self.directory, &entry.directory).unwrap_or_else(|| config::default_directory(&name)),
            branch: pick(&self.branch, &entry.branch).unwrap_or_else(|| "main".into()),
            message_prefix: pick(&self.message_prefix, &entry.message_prefix)
                .or(defaults.message_prefix.clone())
                .unwrap_or_default(),
            max_deletions: entry.max_deletions.or(defaults.max_deletions),
            direction: entry.direction,
            name,
            remote,
            source,
            committer,
        })
    }
}
