//! `fgd-sync plan`, `fgd-sync sync` and `fgd-sync resolve`: one code path, three intents.

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::args::{offline_context, Fabric, FabricArgs, RuntimeArgs, WriteArgs};
use super::progress::Progress;
use crate::replay::{Invocation, Recorder};
use crate::report::{describe_error, ErrorReport, SyncOutcome, SCHEMA_VERSION};
use crate::runtime::bindings::hedgehog::fgd_sync::types::{Resolution, ResourceRef, Side};
use crate::runtime::{CallContext, Runtime, SyncCall};

#[derive(Args, Clone, Debug)]
pub struct SyncArgs {
    #[command(flatten)]
    pub fabric: FabricArgs,
    /// Sync only these CRs (KIND/NAME or KIND/NAMESPACE/NAME, e.g. VPC/vpc-1); a CR that the
    /// source no longer has deletes its file. Repeat for several.
    #[arg(long = "only", value_name = "KIND/NAME")]
    pub only: Vec<String>,
    #[command(flatten)]
    pub write: WriteArgs,
    /// Print the outcome as JSON (schema in the README) instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Clone, Debug)]
pub struct SyncCommand {
    #[command(flatten)]
    pub args: SyncArgs,
    /// Read and plan only; write nothing (same as `fgd-sync plan`).
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TakeArg {
    /// Keep Git's file; record it as the new base.
    Git,
    /// Write HNP's version over Git's file (a compare-and-swap on the branch).
    Hnp,
}

#[derive(Args, Clone, Debug)]
pub struct ResolveCommand {
    /// The conflicting file, as reported (relative to the repository root).
    pub path: String,
    /// Which side wins.
    #[arg(long, value_enum)]
    pub take: TakeArg,
    #[command(flatten)]
    pub args: SyncArgs,
}

pub enum Intent {
    Plan,
    Sync,
    Resolve { path: String, take: Side },
}

pub async fn run(runtime_args: &RuntimeArgs, args: &SyncArgs, intent: Intent) -> anyhow::Result<u8> {
    let fabrics = args.fabric.resolve()?;
    // A cassette holds one run: --record needs a single fabric.
    let recorder = match (&runtime_args.record, fabrics.len()) {
        (None, _) => None,
        (Some(_), 1) => Some(Recorder::new()),
        (Some(_), n) => anyhow::bail!("--record records one fabric's run, and this selects {n}: give --fabric NAME"),
    };
    let runtime = runtime_args.load_with(recorder.as_ref().map(Recorder::imports))?;
    let log = runtime_args.http_log()?;
    let mut outcomes = Vec::new();
    for fabric in &fabrics {
        let hooks = fabric.hooks(log.clone())?;
        let mut source = fabric.source(&runtime).await?;
        if let Some(recorder) = &recorder {
            source = recorder.source(source);
        }
        let context = CallContext { hooks: hooks.clone(), source };
        let progress = Progress::start(format!("{} fabric {}", verb(&intent), fabric.name), move || hooks.requests());
        let outcome = sync_one(&runtime, context, fabric, args, &intent, recorder.as_ref()).await;
        progress.finish();
        if let (Some(recorder), Some(path)) = (&recorder, &runtime_args.record) {
            if let Some(cassette) = recorder.finish(outcome.as_ref().ok()) {
                cassette.save(path).with_context(|| format!("writing the cassette {}", path.display()))?;
            }
        }
        outcomes.push(outcome?);
    }
    let single = outcomes.len() == 1;
    for outcome in &outcomes {
        if args.json {
            // One fabric: one JSON document; several: one compact document per line.
            println!("{}", if single { outcome.to_json() } else { serde_json::to_string(outcome)? });
        } else {
            print!("{}", outcome.to_text());
        }
    }
    Ok(outcomes.iter().map(SyncOutcome::exit_code).max_by_key(|c| exit_rank(*c)).unwrap_or(0))
}

/// Errors outrank conflicts, which outrank success.
fn exit_rank(code: u8) -> u8 {
    match code {
        1 => 2,
        2 => 1,
        _ => 0,
    }
}

fn verb(intent: &Intent) -> &'static str {
    match intent {
        Intent::Plan => "planning",
        Intent::Sync => "syncing",
        Intent::Resolve { .. } => "resolving",
    }
}

async fn sync_one(
    runtime: &Runtime,
    context: CallContext,
    fabric: &Fabric,
    args: &SyncArgs,
    intent: &Intent,
    recorder: Option<&Recorder>,
) -> anyhow::Result<SyncOutcome> {
    let mut options = args.write.options(matches!(intent, Intent::Plan));
    let mut refs = args.only.iter().map(|s| parse_ref(s)).collect::<anyhow::Result<Vec<_>>>()?;
    if let Intent::Resolve { path, take } = intent {
        let reference = runtime
            .resource_at(offline_context(), fabric.directory.clone(), path.clone())
            .await?
            .with_context(|| {
                format!("{path:?} is not a managed file of fabric {} (directory {:?})", fabric.name, fabric.directory)
            })?;
        options.resolutions.push(Resolution { path: path.clone(), take: *take });
        refs = vec![reference];
    }
    let call = match (refs.is_empty(), intent) {
        (true, Intent::Plan) => SyncCall::Plan { fabric: fabric.name.clone() },
        (true, _) => SyncCall::Fabric { fabric: fabric.name.clone() },
        (false, _) => SyncCall::Resources { fabric: fabric.name.clone(), refs },
    };
    let target = fabric.target();
    if let Some(recorder) = recorder {
        recorder.begin(Invocation::new(&call, &target, &options, fabric.remote.describe()));
    }
    let result = runtime.sync(context, call, target, options.clone()).await;
    Ok(match result {
        Ok(result) => outcome(fabric, options.dry_run, result),
        // A sandbox limit still yields an outcome, so `--json` callers get a document to read.
        Err(error) => SyncOutcome {
            error: Some(ErrorReport { message: error.to_string(), detail: None }),
            ..skeleton(fabric, options.dry_run)
        },
    })
}

/// The report of one fabric's sync, for text and JSON output.
pub fn outcome(
    fabric: &Fabric,
    dry_run: bool,
    result: Result<
        crate::runtime::bindings::hedgehog::fgd_sync::types::SyncReport,
        crate::runtime::bindings::hedgehog::fgd_sync::types::SyncError,
    >,
) -> SyncOutcome {
    match result {
        Ok(report) => SyncOutcome { report: Some(report), ..skeleton(fabric, dry_run) },
        Err(e) => SyncOutcome {
            error: Some(ErrorReport { message: describe_error(&e), detail: Some(e) }),
            ..skeleton(fabric, dry_run)
        },
    }
}

fn skeleton(fabric: &Fabric, dry_run: bool) -> SyncOutcome {
    SyncOutcome {
        schema: SCHEMA_VERSION,
        fabric: fabric.name.clone(),
        remote: fabric.remote.describe(),
        branch: fabric.branch.clone(),
        directory: fabric.directory.clone(),
        dry_run,
        report: None,
        error: None,
    }
}

/// `KIND/NAME` or `KIND/NAMESPACE/NAME`; the guest validates the parts.
pub fn parse_ref(text: &str) -> anyhow::Result<ResourceRef> {
    let parts: Vec<&str> = text.split('/').collect();
    let (kind, namespace, name) = match parts.as_slice() {
        [kind, name] => (kind, &"default", name),
        [kind, namespace, name] => (kind, namespace, name),
        _ => anyhow::bail!("--only {text:?}: expected KIND/NAME or KIND/NAMESPACE/NAME"),
    };
    Ok(ResourceRef { kind: kind.to_string(), namespace: namespace.to_string(), name: name.to_string() })
}
