//! `fuzz-cassettes`: mutates recorded cassettes and runs each mutant through the component
//! (wasmtime, `fgd_sync::replay`) and natively (`fgd_sync_guest::engine::run`), checking that
//! neither traps nor panics, that the invariants in `check` hold, and that both give the same
//! report or error after the same requests. Seeded: a failing seed reproduces.
//!
//!   cargo run -p fgd-sync-tests --bin fuzz-cassettes -- --iterations 100000 --seed 7
//!   cargo run -p fgd-sync-tests --bin fuzz-cassettes -- --replay target/fuzz-failures/seed-7-iter-12.json
//!
//! Seed cassettes are recorded fresh against a local repository on every start (and checked
//! to replay strictly), or loaded with `--seeds DIR` (`--save-seeds DIR` writes them).
//! Failing mutants go to `--failures DIR` (default `target/fuzz-failures`) with their mode.

mod check;
mod mutate;
mod native;
mod player;
mod seeds;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use fgd_sync::replay::{Cassette, Replay};
use fgd_sync::runtime::{Operation, Runtime, RuntimeConfig};
use fgd_sync::wit::{SyncError, SyncReport};
use serde::{Deserialize, Serialize};

use crate::mutate::Rng;
use crate::player::{Mode, Player};

/// Failures reported in full before the run only counts them.
const MAX_REPORTED: usize = 5;

struct Args {
    iterations: u64,
    seed: u64,
    seeds: Option<PathBuf>,
    save_seeds: Option<PathBuf>,
    failures: PathBuf,
    replay: Option<PathBuf>,
    cache_dir: Option<PathBuf>,
}

fn parse_args() -> anyhow::Result<Args> {
    let target = std::env::current_exe()?.ancestors().nth(2).map(Path::to_path_buf).unwrap_or_else(|| "target".into());
    let mut args = Args {
        iterations: 200,
        seed: 1,
        seeds: None,
        save_seeds: None,
        failures: target.join("fuzz-failures"),
        replay: None,
        cache_dir: std::env::var_os("FGD_SYNC_CACHE_DIR").map(PathBuf::from),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--iterations" => args.iterations = value()?.parse()?,
            "--seed" => args.seed = value()?.parse()?,
            "--seeds" => args.seeds = Some(value()?.into()),
            "--save-seeds" => args.save_seeds = Some(value()?.into()),
            "--failures" => args.failures = value()?.into(),
            "--replay" => args.replay = Some(value()?.into()),
            "--cache-dir" => args.cache_dir = Some(value()?.into()),
            "-h" | "--help" => {
                println!("usage: fuzz-cassettes [--iterations N] [--seed S] [--seeds DIR] [--save-seeds DIR] [--failures DIR] [--replay FILE] [--cache-dir DIR]");
                std::process::exit(0);
            }
            other => anyhow::bail!("unknown argument {other:?} (see --help)"),
        }
    }
    Ok(args)
}

/// A failing mutant, saved so that `--replay` runs exactly it again.
#[derive(Serialize, Deserialize)]
struct Failure {
    seed: u64,
    iteration: u64,
    base: String,
    mode: String,
    mutations: Vec<String>,
    problems: Vec<String>,
    cassette: Cassette,
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Ordered => "ordered",
        Mode::Matched => "matched",
    }
}

/// What one side did with a mutant.
struct Side {
    outcome: Result<Result<SyncReport, SyncError>, String>,
    log: Vec<player::Logged>,
}

fn main() -> ExitCode {
    match run() {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<usize> {
    let args = parse_args()?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let config = RuntimeConfig {
        deadline: Duration::from_secs(60),
        cache_dir: args.cache_dir.clone(),
        ..RuntimeConfig::default()
    };
    // Native panics are findings: keep their message, not the default hook's noise.
    std::panic::set_hook(Box::new(|info| eprintln!("native panic: {info}")));

    let replay = Replay::new(Arc::new(Player::new(&placeholder(), Mode::Ordered)));
    let runtime = Runtime::load(RuntimeConfig { imports: Some(replay.imports()), ..config.clone() })?;

    if let Some(file) = &args.replay {
        let failure: Failure = serde_json::from_str(&std::fs::read_to_string(file)?)?;
        let mode = if failure.mode == "matched" { Mode::Matched } else { Mode::Ordered };
        let problems = examine(&rt, &runtime, &replay, &failure.cassette, mode);
        for p in &problems {
            println!("{p}");
        }
        println!("{} problem(s)", problems.len());
        return Ok(problems.len());
    }

    let seeds = load_seeds(&rt, &args, &config)?;
    let started = Instant::now();
    let mut failures = 0usize;
    let mut tally = std::collections::BTreeMap::<String, u64>::new();
    for iteration in 0..args.iterations {
        let mut rng = Rng::new(args.seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ iteration);
        let (base, seed) = &seeds[rng.below(seeds.len())];
        let (mutant, mode, mutations) = mutate::mutate(seed, &mut rng);
        let (problems, kind) = examine_counted(&rt, &runtime, &replay, &mutant, mode);
        *tally.entry(kind).or_default() += 1;
        if problems.is_empty() {
            continue;
        }
        failures += 1;
        std::fs::create_dir_all(&args.failures)?;
        let file = args.failures.join(format!("seed-{}-iter-{iteration}.json", args.seed));
        let failure = Failure {
            seed: args.seed,
            iteration,
            base: base.clone(),
            mode: mode_name(mode).into(),
            mutations: mutations.clone(),
            problems: problems.clone(),
            cassette: mutant,
        };
        std::fs::write(&file, serde_json::to_string_pretty(&failure)?)?;
        if failures <= MAX_REPORTED {
            println!(
                "FAIL seed {} iteration {iteration} (base {base}, mode {}, saved to {}):",
                args.seed,
                mode_name(mode),
                file.display()
            );
            for m in &mutations {
                println!("  mutation: {m}");
            }
            for p in &problems {
                println!("  problem: {p}");
            }
        }
    }
    println!("outcomes: {tally:?}");
    println!(
        "fuzz-cassettes: {} iterations from seed {} over {} seed cassettes in {:.1?}: {} passed, {} failed",
        args.iterations,
        args.seed,
        seeds.len(),
        started.elapsed(),
        args.iterations as usize - failures,
        failures
    );
    Ok(failures)
}

/// The seeds, recorded (and each checked to replay strictly to its own report) or loaded.
fn load_seeds(
    rt: &tokio::runtime::Runtime,
    args: &Args,
    config: &RuntimeConfig,
) -> anyhow::Result<Vec<(String, Cassette)>> {
    let seeds = match &args.seeds {
        Some(dir) => {
            let mut files: Vec<PathBuf> =
                std::fs::read_dir(dir)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
            files.sort();
            files
                .into_iter()
                .filter(|f| f.extension().is_some_and(|e| e == "json"))
                .map(|f| Ok((f.display().to_string(), Cassette::load(&f)?)))
                .collect::<anyhow::Result<Vec<_>>>()?
        }
        None => {
            let work = std::env::temp_dir().join(format!("fgd-sync-fuzz-{}", std::process::id()));
            std::fs::create_dir_all(&work)?;
            let recorded = rt.block_on(seeds::record(&work, config.clone()));
            let _ = std::fs::remove_dir_all(&work);
            recorded?
        }
    };
    anyhow::ensure!(!seeds.is_empty(), "no seed cassettes");
    for (name, cassette) in &seeds {
        let outcome = rt
            .block_on(fgd_sync::replay::replay(cassette, config.clone()))
            .with_context(|| format!("strict replay of seed {name}"))?;
        anyhow::ensure!(
            Some(serde_json::to_value(&outcome)?) == cassette.report,
            "seed {name} replays to another report:\n{}",
            outcome.to_json()
        );
        if let Some(dir) = &args.save_seeds {
            std::fs::create_dir_all(dir)?;
            cassette.save(&dir.join(format!("{name}.json")))?;
        }
    }
    Ok(seeds)
}

fn examine(
    rt: &tokio::runtime::Runtime,
    runtime: &Runtime,
    replay: &Replay,
    cassette: &Cassette,
    mode: Mode,
) -> Vec<String> {
    examine_counted(rt, runtime, replay, cassette, mode).0
}

/// Runs both sides; the problems found, and a one-word kind of outcome for the tally.
fn examine_counted(
    rt: &tokio::runtime::Runtime,
    runtime: &Runtime,
    replay: &Replay,
    cassette: &Cassette,
    mode: Mode,
) -> (Vec<String>, String) {
    let invocation = &cassette.invocation;
    let component_player = Arc::new(Player::new(cassette, mode));
    replay.set_script(component_player.clone());
    let component = Side {
        outcome: rt.block_on(fgd_sync::replay::run(runtime, replay, invocation)).map_err(|e| e.to_string()),
        log: component_player.log(),
    };
    let native_player = Arc::new(Player::new(cassette, mode));
    let native = Side { outcome: native::run(invocation, native_player.clone()), log: native_player.log() };

    let mut problems = Vec::new();
    let plan = invocation.operation == Operation::Plan;
    for (name, side) in [("component", &component), ("native", &native)] {
        match &side.outcome {
            Err(e) => problems.push(format!("{name}: trap or panic: {e}")),
            Ok(outcome) => {
                problems.extend(check::violations(&side.log, outcome, plan).into_iter().map(|v| format!("{name}: {v}")))
            }
        }
    }
    if let (Ok(c), Ok(n)) = (&component.outcome, &native.outcome) {
        if c != n {
            let json = |v: &Result<SyncReport, SyncError>| serde_json::to_string(v).unwrap_or_default();
            problems.push(format!(
                "component and native disagree:\n    component: {}\n    native:    {}",
                json(c),
                json(n)
            ));
        }
    }
    let key = |l: &player::Logged| (l.method.clone(), l.url.clone(), l.body.clone());
    let (c, n): (Vec<_>, Vec<_>) = (component.log.iter().map(key).collect(), native.log.iter().map(key).collect());
    if c != n {
        let at = c.iter().zip(&n).position(|(a, b)| a != b).unwrap_or(c.len().min(n.len()));
        problems.push(format!(
            "component and native made different requests from request {at} on ({} vs {})",
            c.len(),
            n.len()
        ));
    }
    let kind = match &component.outcome {
        Ok(Ok(r)) if !r.conflicts.is_empty() => "conflicts".to_string(),
        Ok(Ok(r)) if r.commit.is_some() => "committed".to_string(),
        Ok(Ok(_)) => "no-commit".to_string(),
        Ok(Err(e)) => format!("error:{}", error_kind(e)),
        Err(_) => "trap".to_string(),
    };
    (problems, kind)
}

fn error_kind(e: &SyncError) -> &'static str {
    match e {
        SyncError::InvalidResource(_) => "invalid-resource",
        SyncError::InvalidManifest(_) => "invalid-manifest",
        SyncError::InvalidTarget(_) => "invalid-target",
        SyncError::BranchNotFound(_) => "branch-not-found",
        SyncError::Remote(_) => "remote",
        SyncError::RateLimited(_) => "rate-limited",
        SyncError::Transport(_) => "transport",
        SyncError::TooManyRaces(_) => "too-many-races",
        SyncError::Source(_) => "source",
        SyncError::TooManyDeletions(_) => "too-many-deletions",
        SyncError::BranchProtected(_) => "branch-protected",
        SyncError::ForeignState(_) => "foreign-state",
    }
}

/// A script for the runtime before the first mutant.
fn placeholder() -> Cassette {
    serde_json::from_value(serde_json::json!({
        "format": fgd_sync::replay::cassette::FORMAT, "version": fgd_sync::replay::cassette::VERSION,
        "recorded_by": "", "component": "", "random": "00", "events": [], "report": null,
        "invocation": {"operation": "plan", "fabric": "", "selection": "Fabric", "remote": "",
            "target": {"api_base": "", "owner": "", "repo": "", "branch": "", "directory": "", "committer": null, "message_prefix": ""},
            "options": {"max_attempts": 1, "max_rate_limit_wait_secs": 0, "resolutions": [], "direction": "Push"}}
    }))
    .expect("a valid empty cassette")
}
