//! `fgd-sync plan`, `fgd-sync sync` and `fgd-sync resolve`: one code path; `resolve` is a
//! sync of one CR with the user's resolution of its conflict. After a sync (not a plan) the
//! outcome is shown on the CRs where the source can show it (`CrSource::publish`: NetBox's
//! `sync_error` and journal).

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::args::{offline_context, Fabric, FabricArgs, HttpLogArgs, RuntimeArgs, WriteArgs};
use super::progress::Progress;
use crate::config::DirectionName;
use crate::replay::{Invocation, Recorder};
use crate::report::{exit, ErrorReport, SyncOutcome};
use crate::runtime::{CallContext, Operation, Runtime, SyncCall};
use crate::source::CrSource;
use crate::wit::{GitVersion, Resolution, ResourceRef, Selection};

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
    /// Print the outcome as JSON (schema: docs/json-schema.md) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Record every import the component used (HTTP exchanges, HNP lookups, clock and random
    /// values) into a cassette FILE for `fgd-sync replay`.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    #[command(flatten)]
    pub log: HttpLogArgs,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
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
    /// The Git version you reviewed: the blob SHA the conflict showed ("blob in Git now"), or
    /// `absent` when Git had no file. If Git holds anything else by the time of the write, the
    /// conflict is reported again with the new version and nothing is written. Without it, the
    /// resolution applies to the version the sync reads first.
    #[arg(long, value_name = "BLOB-SHA|absent", value_parser = parse_expect)]
    pub expect: Option<GitVersion>,
    #[command(flatten)]
    pub args: SyncArgs,
}

/// `--expect`: `absent`, or a full 40-hex blob SHA (as printed with the conflict).
fn parse_expect(text: &str) -> Result<GitVersion, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("absent") {
        return Ok(GitVersion::Absent);
    }
    if text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(GitVersion::Blob(text.to_ascii_lowercase()));
    }
    Err("expected `absent` or the 40-hex blob SHA of the conflict's Git version".into())
}

pub async fn run(args: &SyncArgs, operation: Operation, resolution: Option<Resolution>) -> anyhow::Result<u8> {
    let fabrics = args.fabric.resolve()?;
    // A cassette holds one run: --record needs a single fabric.
    let recorder = match (&args.record, fabrics.len()) {
        (None, _) => None,
        (Some(_), 1) => Some(Recorder::new()),
        (Some(_), n) => anyhow::bail!("--record records one fabric's run, and this selects {n}: give --fabric NAME"),
    };
    let runtime = args.runtime.load_with(recorder.as_ref().map(Recorder::imports))?;
    let log = args.log.open()?;
    let mut outcomes = Vec::new();
    for fabric in &fabrics {
        let hooks = fabric.hooks(log.clone())?;
        let mut source = fabric.source(&runtime).await?;
        // The source itself, not the recorder around it: publishing is no guest import.
        let publisher = source.clone();
        if let Some(recorder) = &recorder {
            source = recorder.source(source);
        }
        let context = CallContext { hooks: hooks.clone(), source };
        let progress =
            Progress::start(format!("{} fabric {}", verb(operation, resolution.as_ref()), fabric.name), move || {
                hooks.requests()
            });
        let call = Call { operation, resolution: resolution.as_ref(), recorder: recorder.as_ref(), publisher };
        let outcome = sync_one(&runtime, context, fabric, args, call).await;
        progress.finish();
        if let (Some(recorder), Some(path)) = (&recorder, &args.record) {
            if let Some(cassette) = recorder.finish(outcome.as_ref().ok()) {
                cassette.save(path).with_context(|| format!("writing the cassette {}", path.display()))?;
            }
        }
        outcomes.push(outcome?);
    }
    let single = outcomes.len() == 1;
    let mut out = super::stdout();
    for outcome in &outcomes {
        if args.json {
            // One fabric: one JSON document; several: one compact document per line.
            writeln!(out, "{}", if single { outcome.to_json() } else { serde_json::to_string(outcome)? })?;
        } else {
            write!(out, "{}", outcome.to_text())?;
        }
    }
    Ok(outcomes.iter().map(SyncOutcome::exit_code).max_by_key(|c| exit_rank(*c)).unwrap_or(exit::OK))
}

/// Errors outrank conflicts, which outrank success.
fn exit_rank(code: u8) -> u8 {
    match code {
        exit::ERROR => 2,
        exit::CONFLICTS => 1,
        _ => 0,
    }
}

fn verb(operation: Operation, resolution: Option<&Resolution>) -> &'static str {
    match (operation, resolution) {
        (Operation::Plan, _) => "planning",
        (Operation::Sync, None) => "syncing",
        (Operation::Sync, Some(_)) => "resolving",
    }
}

/// What one fabric's run is: the operation, the user's resolution, and where its imports
/// are recorded and its outcome published.
struct Call<'a> {
    operation: Operation,
    resolution: Option<&'a Resolution>,
    recorder: Option<&'a Recorder>,
    publisher: Arc<dyn CrSource>,
}

async fn sync_one(
    runtime: &Runtime,
    context: CallContext,
    fabric: &Fabric,
    args: &SyncArgs,
    Call { operation, resolution, recorder, publisher }: Call<'_>,
) -> anyhow::Result<SyncOutcome> {
    // `resolve --take git` with NetBox also writes Git's data into HNP, so both sides agree.
    let default = if resolution.is_some() { DirectionName::Both } else { DirectionName::Push };
    let mut options = args.write.options(fabric, default)?;
    let mut refs = args.only.iter().map(|s| parse_ref(s)).collect::<anyhow::Result<Vec<_>>>()?;
    if let Some(resolution) = resolution {
        let path = &resolution.path;
        let reference = runtime
            .resource_at(offline_context(), fabric.directory.clone(), path.clone())
            .await?
            .with_context(|| {
                format!("{path:?} is not a managed file of fabric {} (directory {:?})", fabric.name, fabric.directory)
            })?;
        options.resolutions.push(resolution.clone());
        refs = vec![reference];
    }
    let selection = if refs.is_empty() { Selection::Fabric } else { Selection::Resources(refs) };
    let call = SyncCall::new(operation, &fabric.name, selection.clone());
    let target = fabric.target();
    if let Some(recorder) = recorder {
        recorder.begin(Invocation::new(&call, &target, &options, fabric.remote.describe()));
    }
    let mut result = runtime.sync(context, call, target, options.clone()).await;
    if let (Ok(Ok(report)), Operation::Sync) = (&mut result, operation) {
        let warnings = publisher.publish(&fabric.name, &selection, report).await;
        report.warnings.extend(warnings);
    }
    Ok(match result {
        Ok(result) => outcome(fabric, operation, result),
        // A sandbox limit still yields an outcome, so `--json` callers get a document to read.
        Err(error) => SyncOutcome::new(
            fabric.name.clone(),
            fabric.remote.describe(),
            &fabric.target(),
            operation == Operation::Plan,
            Err(ErrorReport { message: error.to_string(), detail: None }),
        ),
    })
}

/// The report of one fabric's sync, for text and JSON output.
pub fn outcome(
    fabric: &Fabric,
    operation: Operation,
    result: Result<crate::wit::SyncReport, crate::wit::SyncError>,
) -> SyncOutcome {
    SyncOutcome::new(
        fabric.name.clone(),
        fabric.remote.describe(),
        &fabric.target(),
        operation == Operation::Plan,
        result.map_err(ErrorReport::from),
    )
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
