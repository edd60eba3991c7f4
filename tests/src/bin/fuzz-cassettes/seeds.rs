//! Seed cassettes: real runs recorded against a local git repository served in-process (the
//! same GitHub REST subset the tests use), covering the first commit of an empty repository,
//! updates and deletes, a file edited in Git (conflict), two updates, a plan, a
//! selection of resources and a resolution.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use base64::Engine as _;
use fgd_sync::net::hooks::{HttpLimits, InProcessRemote, PolicyHooks};
use fgd_sync::net::policy::EgressPolicy;
use fgd_sync::remote::{LocalRemote, Remote, LOCAL_API_BASE, LOCAL_OWNER, LOCAL_REPO};
use fgd_sync::replay::{Cassette, Invocation, Recorder};
use fgd_sync::runtime::{CallContext, Operation, Runtime, RuntimeConfig, SyncCall};
use fgd_sync::source::directory::DirectorySource;
use fgd_sync::wit::{CustomResource, Direction, Identity, Resolution, Selection, Side, SyncOptions, Target};

const SAMPLES: [(&str, &str); 2] = [
    ("vpc-demo.yaml", include_str!("../../../data/hedgehog/samples/vpc-demo.yaml")),
    ("all-kinds.yaml", include_str!("../../../data/corpus/all-kinds.yaml")),
];
const FABRIC: &str = "fuzz";
const DIRECTORY: &str = "fabrics/fuzz/gitops";

struct Recording {
    runtime: Runtime,
    recorder: Recorder,
    remote: Remote,
    hooks: PolicyHooks,
    target: Target,
    cassettes: Vec<(String, Cassette)>,
}

impl Recording {
    async fn run(
        &mut self,
        name: &str,
        call: SyncCall,
        options: SyncOptions,
        crs: &[CustomResource],
    ) -> anyhow::Result<()> {
        // Writable, so a pull's changes are taken (and recorded) as NetBox would take them.
        let source = self.recorder.source(Arc::new(DirectorySource::in_memory(crs.to_vec())));
        let invocation = Invocation::new(&call, &self.target, &options, self.remote.describe());
        self.recorder.begin(invocation.clone());
        let context = CallContext { hooks: self.hooks.clone(), source };
        let result = self.runtime.sync(context, call, self.target.clone(), options).await?;
        let outcome = fgd_sync::replay::outcome(&invocation, result);
        anyhow::ensure!(outcome.error.is_none(), "seed {name} failed: {}", outcome.to_json());
        let cassette = self.recorder.finish(Some(&outcome)).context("recorder was begun")?;
        self.cassettes.push((name.to_string(), cassette));
        Ok(())
    }
}

fn options() -> SyncOptions {
    SyncOptions {
        max_attempts: 3,
        max_rate_limit_wait_secs: 60,
        resolutions: Vec::new(),
        max_deletions: None,
        direction: Direction::Push,
    }
}

/// Gives `cr` a new spec key, so its rendering changes.
fn edit(cr: &mut CustomResource, mark: &str) {
    let mut spec: serde_json::Value = serde_json::from_str(&cr.spec).unwrap_or_default();
    spec["fuzzEdit"] = serde_json::Value::String(mark.into());
    cr.spec = spec.to_string();
}

/// Edits a file on the branch directly, as a person would in Git: `text` as the new content,
/// or (`None`) the old content with a line added.
fn edit_in_git(repo: &Path, path: &str) -> anyhow::Result<()> {
    write_in_git(repo, path, None)
}

fn write_in_git(repo: &Path, path: &str, text: Option<&str>) -> anyhow::Result<()> {
    let local = LocalRemote::open_or_init(repo, "main")?;
    let url = format!("/repos/{LOCAL_OWNER}/{LOCAL_REPO}/contents/{path}");
    let current = local.handle("GET", &format!("{url}?ref=main"), &[], &[]);
    let current: serde_json::Value = serde_json::from_slice(&current.body)?;
    let old = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(current["content"].as_str().context("contents answer has content")?.replace('\n', ""))?,
    )?;
    let new = text.map_or_else(|| format!("{old}editedInGit: true\n"), str::to_owned);
    let body = serde_json::json!({
        "message": "Edit in Git",
        "content": base64::engine::general_purpose::STANDARD.encode(new),
        "sha": current["sha"],
        "branch": "main",
    });
    let answer =
        local.handle("PUT", &url, &[("content-type".into(), "application/json".into())], body.to_string().as_bytes());
    anyhow::ensure!(answer.status < 300, "editing {path} in git: {}", String::from_utf8_lossy(&answer.body));
    Ok(())
}

/// Records every scenario in a fresh repository under `work`.
pub async fn record(work: &Path, config: RuntimeConfig) -> anyhow::Result<Vec<(String, Cassette)>> {
    // A fixed pool: seeds differ between runs only in commit SHAs and dates.
    let recorder = Recorder::with_pool((0u8..64).map(|i| i.wrapping_mul(37).wrapping_add(11)).collect());
    let runtime = Runtime::load(RuntimeConfig { imports: Some(recorder.imports()), ..config })?;
    let offline = CallContext {
        hooks: PolicyHooks::new(EgressPolicy::default(), HttpLimits::default()),
        source: Arc::new(DirectorySource::new(Vec::new())),
    };
    let mut crs = Vec::new();
    for (name, text) in SAMPLES {
        crs.extend(fgd_sync::source::directory::parse(&runtime, offline.clone(), name, text.to_string()).await?);
    }
    let repo = work.join("fabric.git");
    let remote = Remote::Local { path: repo.clone() };
    let hooks = remote.hooks(HttpLimits::default(), "main")?;
    let target = Target {
        api_base: LOCAL_API_BASE.into(),
        owner: LOCAL_OWNER.into(),
        repo: LOCAL_REPO.into(),
        branch: "main".into(),
        directory: DIRECTORY.into(),
        committer: Some(Identity { name: "fgd-sync fuzz".into(), email: "fuzz@fgd-sync.invalid".into() }),
        message_prefix: "[fuzz] ".into(),
    };
    let mut rec = Recording { runtime, recorder, remote, hooks, target, cassettes: Vec::new() };
    let fabric = || SyncCall::new(Operation::Sync, FABRIC, Selection::Fabric);

    rec.run("first-sync", fabric(), options(), &crs).await?;

    edit(&mut crs[0], "one");
    let gone = crs.remove(1);
    rec.run("update-delete", fabric(), options(), &crs).await?;

    let conflicted = manifest_path(&rec, &crs[2]).await?;
    edit_in_git(&repo, &conflicted)?;
    edit(&mut crs[2], "two");
    edit(&mut crs[3], "two");
    rec.run("git-edit-conflict", fabric(), options(), &crs).await?;

    edit(&mut crs[4], "three");
    edit(&mut crs[5], "three");
    rec.run("two-updates", fabric(), options(), &crs).await?;

    edit(&mut crs[6], "four");
    rec.run("plan", SyncCall::new(Operation::Plan, FABRIC, Selection::Fabric), options(), &crs).await?;

    let refs = vec![crs[6].reference(), gone.reference()];
    rec.run("resources", SyncCall::new(Operation::Sync, FABRIC, Selection::Resources(refs)), options(), &crs).await?;

    let mut resolve = options();
    resolve.resolutions.push(Resolution { path: conflicted, take: Side::Hnp, expect: None });
    let refs = vec![crs[2].reference()];
    rec.run("resolve", SyncCall::new(Operation::Sync, FABRIC, Selection::Resources(refs)), resolve, &crs).await?;

    // A data edit in Git while HNP keeps the CR: a pull takes it into HNP, then one state-only
    // commit (the `apply-changes` answers are what the fuzzer mutates).
    let mut in_git = crs[7].clone();
    edit(&mut in_git, "from-git");
    let offline = CallContext {
        hooks: PolicyHooks::new(EgressPolicy::default(), HttpLimits::default()),
        source: Arc::new(DirectorySource::new(Vec::new())),
    };
    let text = rec.runtime.render(offline, in_git).await?.map_err(|e| anyhow::anyhow!("render: {}", e.message))?;
    write_in_git(&repo, &manifest_path(&rec, &crs[7]).await?, Some(&text))?;
    let both = SyncOptions { direction: Direction::Both, ..options() };
    rec.run("pull", fabric(), both, &crs).await?;
    Ok(rec.cassettes)
}

/// The CR's file, from the component's own `manifest-path`.
async fn manifest_path(rec: &Recording, cr: &CustomResource) -> anyhow::Result<String> {
    let offline = CallContext {
        hooks: PolicyHooks::new(EgressPolicy::default(), HttpLimits::default()),
        source: Arc::new(DirectorySource::new(Vec::new())),
    };
    rec.runtime
        .manifest_path(offline, DIRECTORY.into(), cr.reference())
        .await?
        .map_err(|e| anyhow::anyhow!("manifest-path: {}", e.message))
}
