//! `fgd-sync demo`: the whole flow on a sample fabric shipped in the binary and a new local
//! repository: first sync, no-op re-run, a one-file edit, a conflict, and its resolution.
//! No GitHub, no NetBox, no flags.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use fgd_sync_local_github::{isolated_git_command, ApiRequest, LocalGitHub, Options};

use super::args::{offline_context, Fabric, HttpLogArgs, RuntimeArgs, SourceSpec};
use super::sync::outcome;
use crate::remote::{Remote, LOCAL_API_BASE, LOCAL_OWNER, LOCAL_REPO};
use crate::report::exit;
use crate::runtime::{CallContext, Operation, Runtime, SyncCall};
use crate::source::directory::{self, DirectorySource};
use crate::wit::{CustomResource, Direction, Resolution, Selection, Side, SyncOptions};

/// The sample fabric: a hydrated fabric as the installer writes it, plus hand-written VPCs.
const SAMPLES: [(&str, &str); 2] = [
    ("hydrated-fabric.yaml", include_str!("../../../tests/data/hedgehog/samples/hydrated-fabric.yaml")),
    ("vpc-demo.yaml", include_str!("../../../tests/data/hedgehog/samples/vpc-demo.yaml")),
];
const FABRIC: &str = "demo";
const EDITED: &str = "demo-vpc-3";

#[derive(Args, Clone, Debug)]
pub struct DemoCommand {
    /// Where to put the demo repository [default: a new temporary directory, kept for inspection].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    #[command(flatten)]
    pub log: HttpLogArgs,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

pub async fn run(args: &DemoCommand) -> anyhow::Result<u8> {
    let dir = match &args.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            dir.clone()
        }
        None => private_temp_dir().context("creating the demo directory")?,
    };
    let repo = dir.join("fabric.git");
    anyhow::ensure!(!repo.exists(), "{} exists already; pick another --dir", repo.display());

    let runtime = args.runtime.load()?;
    let mut resources = Vec::new();
    for (name, text) in SAMPLES {
        resources.extend(directory::parse(&runtime, offline_context(), name, text.to_string()).await?);
    }
    let source = Arc::new(DirectorySource::in_memory(resources));
    let fabric = Fabric {
        name: FABRIC.into(),
        remote: Remote::Local { path: repo.clone() },
        branch: "main".into(),
        directory: crate::config::default_directory(FABRIC),
        source: SourceSpec::Directory(PathBuf::from("<built-in samples>")),
        message_prefix: String::new(),
        committer: Some(crate::config::Committer {
            name: "fgd-sync demo".into(),
            email: "demo@fgd-sync.invalid".into(),
        }),
        max_deletions: None,
        direction: None,
    };
    let demo = Demo { runtime, fabric, source, log: args.log.open()? };

    writeln!(
        super::stdout(),
        "fgd-sync demo: {} CRs from the built-in sample fabric into a new repository",
        demo.source.resources().len()
    )?;
    writeln!(
        super::stdout(),
        "repository: {} (bare; look inside with: git --git-dir {} log --stat)\n",
        repo.display(),
        repo.display()
    )?;

    step("1. First sync: every CR becomes one file under managed/, all in one commit")?;
    demo.sync(Vec::new(), Direction::Push).await?;
    git(&repo, &["log", "--oneline"])?;

    step("2. Run again: nothing changed, so nothing is written and no commit is made")?;
    demo.sync(Vec::new(), Direction::Push).await?;

    step(&format!("3. Edit VPC {EDITED} in HNP (subnet-1 gets VLAN 1231): one file changes, one commit"))?;
    demo.edit_vlan(1231)?;
    demo.sync(Vec::new(), Direction::Push).await?;
    git(&repo, &["show", "--stat", "--format=%h %s", "HEAD"])?;

    step("4. Someone edits that file in Git, and HNP changes the VPC too: a conflict, nothing overwritten")?;
    let path = format!("{}/managed/vpcs/{EDITED}.yaml", demo.fabric.directory);
    let comment = "# Owned by the network team: ask before changing.\n";
    edit_in_git(&repo, &path, ("vlan: 1231", "vlan: 1431"), comment, "Move demo-vpc-3 subnet-1 to VLAN 1431")?;
    demo.edit_vlan(1331)?;
    let code = demo.sync(Vec::new(), Direction::Push).await?;
    writeln!(super::stdout(), "(`fgd-sync sync` exits with code {code} when it reports conflicts)")?;

    step("5. Resolve it: take HNP's version (still a compare-and-swap on the branch)")?;
    demo.sync(vec![Resolution { path: path.clone(), take: Side::Hnp, expect: None }], Direction::Push).await?;
    git(&repo, &["log", "--oneline"])?;

    step("6. Someone edits the file in Git while HNP stays as it was: `sync --direction both` carries it into HNP")?;
    edit_in_git(&repo, &path, ("vlan: 1331", "vlan: 1531"), "", "Move demo-vpc-3 subnet-1 to VLAN 1531")?;
    demo.sync(Vec::new(), Direction::Both).await?;
    writeln!(super::stdout(), "HNP's {EDITED} now has subnet-1 on VLAN {}", demo.vlan()?)?;
    git(&repo, &["show", "--stat", "--format=%h %s", "HEAD"])?;
    writeln!(
        super::stdout(),
        "\nDone. Try: fgd-sync plan --fabric {FABRIC} --local-repo {} --source-dir <your manifests>",
        repo.display()
    )?;
    Ok(exit::OK)
}

struct Demo {
    runtime: Runtime,
    fabric: Fabric,
    source: Arc<DirectorySource>,
    log: Option<Arc<crate::net::http_log::HttpLog>>,
}

impl Demo {
    async fn sync(&self, resolutions: Vec<Resolution>, direction: Direction) -> anyhow::Result<u8> {
        let context = CallContext { hooks: self.fabric.hooks(self.log.clone())?, source: self.source.clone() };
        let selection = match resolutions.first() {
            Some(r) => {
                let reference = self
                    .runtime
                    .resource_at(offline_context(), self.fabric.directory.clone(), r.path.clone())
                    .await?
                    .context("the demo's conflict path maps to no CR")?;
                Selection::Resources(vec![reference])
            }
            None => Selection::Fabric,
        };
        let call = SyncCall::new(Operation::Sync, FABRIC, selection);
        let options =
            SyncOptions { max_attempts: 3, max_rate_limit_wait_secs: 0, max_deletions: None, resolutions, direction };
        let result = self.runtime.sync(context, call, self.fabric.target(), options).await?;
        let outcome = outcome(&self.fabric, Operation::Sync, result);
        write!(super::stdout(), "{}", outcome.to_text())?;
        Ok(outcome.exit_code())
    }

    fn edited_vpc(&self) -> anyhow::Result<CustomResource> {
        let resources = self.source.resources();
        resources.into_iter().find(|r| r.kind == "VPC" && r.name == EDITED).context("the demo VPC is missing")
    }

    /// Subnet-1's VLAN of the edited VPC in HNP.
    fn vlan(&self) -> anyhow::Result<serde_json::Value> {
        let spec: serde_json::Value = serde_json::from_str(&self.edited_vpc()?.spec)?;
        Ok(spec["subnets"]["subnet-1"]["vlan"].clone())
    }

    /// Changes subnet-1's VLAN of the edited VPC, as a user would in the NetBox GUI.
    fn edit_vlan(&self, vlan: u64) -> anyhow::Result<()> {
        let mut vpc = self.edited_vpc()?;
        let mut spec: serde_json::Value = serde_json::from_str(&vpc.spec)?;
        spec["subnets"]["subnet-1"]["vlan"] = serde_json::json!(vlan);
        vpc.spec = spec.to_string();
        self.source.upsert(vpc);
        Ok(())
    }
}

fn step(title: &str) -> std::io::Result<()> {
    writeln!(super::stdout(), "\n== {title}")
}

/// Another writer: a Contents-API commit straight to the repository that replaces `from` by
/// `to` and puts `comment` first, as someone editing on GitHub would.
fn edit_in_git(repo: &Path, path: &str, (from, to): (&str, &str), comment: &str, message: &str) -> anyhow::Result<()> {
    let github = LocalGitHub::open(
        repo,
        LOCAL_OWNER,
        LOCAL_REPO,
        Options { api_base: LOCAL_API_BASE.into(), ..Options::default() },
    )
    .map_err(|e| anyhow::anyhow!("opening the demo repository: {e}"))?;
    let base = format!("/repos/{LOCAL_OWNER}/{LOCAL_REPO}/contents/{path}");
    let current = github.handle(&ApiRequest {
        method: "GET".into(),
        path_and_query: format!("{base}?ref=main"),
        ..Default::default()
    });
    let file = current.json();
    let sha = file["sha"].as_str().context("the demo file is missing")?.to_string();
    let text = String::from_utf8(base64_decode(file["content"].as_str().unwrap_or_default())?)?;
    anyhow::ensure!(text.contains(from), "the demo file {path} no longer holds {from:?}");
    let edited = format!("{comment}{}", text.replace(from, to));
    let body = serde_json::json!({
        "message": message,
        "content": base64_encode(edited.as_bytes()),
        "sha": sha,
        "branch": "main",
        "committer": {"name": "A. Colleague", "email": "colleague@example.com"},
    });
    let answer = github.handle(&ApiRequest {
        method: "PUT".into(),
        path_and_query: base,
        body: body.to_string().into_bytes(),
        ..Default::default()
    });
    anyhow::ensure!(answer.status == 200, "editing in Git failed: {}", String::from_utf8_lossy(&answer.body));
    writeln!(super::stdout(), "(a colleague committed \"{message}\" to {path})")?;
    Ok(())
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn base64_decode(text: &str) -> anyhow::Result<Vec<u8>> {
    use base64::Engine as _;
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    Ok(base64::engine::general_purpose::STANDARD.decode(compact)?)
}

/// A new `0700` directory with an unpredictable name in the temp dir: never an existing
/// one (another user could have planted it, or a symlink, in a shared `/tmp`).
fn private_temp_dir() -> std::io::Result<PathBuf> {
    use std::hash::{BuildHasher, Hasher};
    let mut last = std::io::Error::from(std::io::ErrorKind::AlreadyExists);
    for _ in 0..16 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher
            .write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
        let dir = std::env::temp_dir().join(format!("fgd-sync-demo-{}-{:016x}", std::process::id(), hasher.finish()));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        match builder.create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

fn git(repo: &Path, args: &[&str]) -> anyhow::Result<()> {
    let mut out = super::stdout();
    writeln!(out, "$ git {}", args.join(" "))?;
    // Isolated like every other git run: no inherited secrets, no user configuration.
    let output = isolated_git_command().arg("--git-dir").arg(repo).args(args).output().context("running git")?;
    out.write_all(&output.stdout)?;
    Ok(())
}
