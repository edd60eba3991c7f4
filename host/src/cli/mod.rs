//! The command line: one file per subcommand, one `run` per file, help text from the doc
//! comments of the argument structs.

mod args;
mod demo;
mod progress;
mod render;
mod replay;
mod serve;
mod sync;

use clap::{Parser, Subcommand};

use crate::config::DirectionName;
use crate::runtime::Operation;
use crate::wit::{Resolution, Side};

const EXIT_CODES: &str = "Exit codes:
  0  done (or nothing to do)
  1  error: bad input, configuration, GitHub or NetBox failure; nothing was written by the failing step
  2  conflicts or invalid CRs: files changed in Git since the last sync, and the files of CRs that
     fail validation, were left alone (the rest landed)

Environment: GITHUB_TOKEN, NETBOX_URL, NETBOX_TOKEN, FGD_SYNC_CONFIG, RUST_LOG (e.g. fgd_sync=debug).";

/// Carries Hedgehog fabric resources between NetBox (HNP) and the fabric's Git repository:
/// one YAML file per resource under `managed/`, one atomic commit per sync, Git's edits into
/// NetBox (`pull`), and never over a change made on the other side since the last sync.
#[derive(Parser, Debug)]
#[command(name = "fgd-sync", version, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the whole flow on a built-in sample fabric and a local repository (no GitHub, no NetBox).
    Demo(demo::DemoCommand),
    /// Print the canonical YAML of CR manifests (or their paths with --path).
    Render(render::RenderCommand),
    /// Show what a sync would change, as a readable list and diff; writes nothing.
    Plan(sync::SyncArgs),
    /// Carry edits between NetBox (HNP) and the repository, in one commit (--direction).
    Sync(sync::SyncArgs),
    /// Carry edits made in Git into NetBox (HNP): `sync --direction pull`.
    Pull(sync::SyncArgs),
    /// Settle a reported conflict: keep Git's file, or write HNP's version over it.
    Resolve(sync::ResolveCommand),
    /// Run the component against a cassette made with --record: no network, the same report.
    Replay(replay::ReplayCommand),
    /// Receive NetBox webhooks and sync every edit to Git by itself (with a periodic full reconcile).
    Serve(serve::ServeCommand),
}

/// stdout for data, locked: a closed pipe (`| head -1`) comes back as an error that `main`
/// ends quietly, where `println!` would panic.
fn stdout() -> std::io::StdoutLock<'static> {
    std::io::stdout().lock()
}

pub async fn run(cli: Cli) -> anyhow::Result<u8> {
    match &cli.command {
        Command::Demo(args) => demo::run(args).await,
        Command::Render(args) => render::run(args).await,
        Command::Plan(args) => sync::run(args, Operation::Plan, None).await,
        Command::Sync(args) => sync::run(args, Operation::Sync, None).await,
        Command::Pull(args) => {
            if args.write.direction.is_some_and(|d| d != DirectionName::Pull) {
                anyhow::bail!("`pull` carries Git's edits into NetBox; for another --direction use `sync`");
            }
            let mut args = args.clone();
            args.write.direction = Some(DirectionName::Pull);
            sync::run(&args, Operation::Sync, None).await
        }
        Command::Resolve(command) => {
            let take = match command.take {
                sync::TakeArg::Git => Side::Git,
                sync::TakeArg::Hnp => Side::Hnp,
            };
            let resolution = Resolution { path: command.path.clone(), take, expect: command.expect.clone() };
            sync::run(&command.args, Operation::Sync, Some(resolution)).await
        }
        Command::Replay(command) => replay::run(command).await,
        Command::Serve(command) => serve::run(command).await,
    }
}
