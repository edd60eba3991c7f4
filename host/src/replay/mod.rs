//! Record and replay of whole sync runs: `--record FILE` writes every import the guest used
//! into a cassette (`cassette`), and `fgd-sync replay FILE` runs the component against it
//! with no network, no real time and no HNP, and gets the identical report.
//!
//! The component's only windows on the world are its imports: `hnp`, `wasi:http`, the WASI
//! clocks and `wasi:random` (it has no files, environment or sockets). Recording wraps each
//! (`record::Recorder`, through `RuntimeConfig::imports` and `CallContext::source`); playback
//! answers each from a `Script` (`play`). Same component + same answers = same run, so a
//! replay is byte-for-byte the recorded report, every time.
//!
//! 1. `Recorder::new()`; load the runtime with `imports: Some(recorder.imports())` and wrap the
//!    source with `recorder.source(..)`;
//! 2. `recorder.begin(Invocation::new(..))` right before the sync call, then
//!    `recorder.finish(Some(&outcome))` gives the `Cassette`; `save` it;
//! 3. `replay(&cassette, config)` plays it back and returns the outcome, or says where the run
//!    left the recording (`ReplayError::Diverged`).

pub mod cassette;
mod play;
mod record;

use std::sync::Arc;

pub use self::cassette::{Cassette, CassetteError, Invocation};
pub use self::play::{describe_request, CassetteScript, Replay, Script};
pub use self::record::Recorder;
use crate::net::hooks::{HttpLimits, PolicyHooks};
use crate::net::policy::EgressPolicy;
use crate::report::{ErrorReport, SyncOutcome};
use crate::runtime::{CallContext, Operation, Runtime, RuntimeConfig, RuntimeError};
use crate::wit::{SyncError, SyncReport};

/// Why a replay gave no trustworthy outcome.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReplayError {
    Cassette(CassetteError),
    /// The runtime could not be set up.
    Setup(anyhow::Error),
    /// The component trapped or ran out of a limit.
    Runtime(RuntimeError),
    /// The run made a call the cassette does not hold next (or left recorded calls unused).
    Diverged(String),
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplayError::Cassette(e) => write!(f, "cassette: {e}"),
            ReplayError::Setup(e) => write!(f, "cannot start the component: {e:#}"),
            ReplayError::Runtime(e) => write!(f, "{e}"),
            ReplayError::Diverged(m) => write!(f, "the replay left the recording: {m}"),
        }
    }
}

impl std::error::Error for ReplayError {}

/// Runs the cassette's invocation against the cassette. `config.imports` is replaced.
pub async fn replay(cassette: &Cassette, mut config: RuntimeConfig) -> Result<SyncOutcome, ReplayError> {
    let script = Arc::new(CassetteScript::new(cassette).map_err(ReplayError::Cassette)?);
    let replay = Replay::new(script.clone());
    config.imports = Some(replay.imports());
    let runtime = Runtime::load(config).map_err(ReplayError::Setup)?;
    let result = run(&runtime, &replay, &cassette.invocation).await.map_err(ReplayError::Runtime)?;
    if let Some(divergence) = script.divergence() {
        return Err(ReplayError::Diverged(divergence));
    }
    Ok(outcome(&cassette.invocation, result))
}

/// One run of `invocation` on `runtime` (whose imports are `replay`'s) with `replay`'s script.
pub async fn run(
    runtime: &Runtime,
    replay: &Replay,
    invocation: &Invocation,
) -> Result<Result<SyncReport, SyncError>, RuntimeError> {
    // The script answers every request; the policy only lends its header rules.
    let context = CallContext {
        hooks: PolicyHooks::new(EgressPolicy::default(), HttpLimits::default()),
        source: replay.source(),
    };
    let invocation = invocation.clone();
    runtime.sync(context, invocation.call(), invocation.target, invocation.options).await
}

/// The outcome as `plan`/`sync --json` reports it for the recorded fabric.
pub fn outcome(invocation: &Invocation, result: Result<SyncReport, SyncError>) -> SyncOutcome {
    SyncOutcome::new(
        invocation.fabric.clone(),
        invocation.remote.clone(),
        &invocation.target,
        invocation.operation == Operation::Plan,
        result.map_err(ErrorReport::from),
    )
}
