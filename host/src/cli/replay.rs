//! `fgd-sync replay FILE`: runs the component against a cassette written by `--record`, with
//! no network, no NetBox and no real time, and prints the report (`--json` as `sync --json`).

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::args::RuntimeArgs;
use crate::replay::{cassette, Cassette};
use crate::report::exit;
use crate::runtime::COMPONENT;

#[derive(Args, Clone, Debug)]
pub struct ReplayCommand {
    /// The cassette (JSON) written by `plan`/`sync`/`resolve --record FILE`.
    pub cassette: PathBuf,
    /// Print the outcome as JSON, byte for byte what `sync --json` printed when recording.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

/// Exit codes: those of the recorded command for the same outcome; 1 as well when the run
/// leaves the recording (a request the cassette does not hold next) or reports something
/// else than the recorded run did (a changed component).
pub async fn run(args: &ReplayCommand) -> anyhow::Result<u8> {
    let cassette = Cassette::load(&args.cassette).with_context(|| format!("reading {}", args.cassette.display()))?;
    if cassette.component != cassette::component_id(COMPONENT) {
        tracing::warn!(
            recorded = %cassette.component,
            "the cassette was recorded with another sync component ({}); the replay may leave the recording",
            cassette.recorded_by
        );
    }
    let outcome = crate::replay::replay(&cassette, args.runtime.config()).await?;
    let mut out = super::stdout();
    if args.json {
        writeln!(out, "{}", outcome.to_json())?;
    } else {
        write!(out, "{}", outcome.to_text())?;
    }
    let replayed = serde_json::to_value(&outcome)?;
    if cassette.report.as_ref().is_some_and(|recorded| *recorded != replayed) {
        eprintln!("error: the replay reports something else than the recorded run (see the cassette's \"report\")");
        return Ok(exit::ERROR);
    }
    Ok(outcome.exit_code())
}
