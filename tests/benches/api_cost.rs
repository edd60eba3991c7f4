//! API cost of the two write strategies: the real `fgd-sync` binary syncs 1, 10, 100 and 1000
//! changed resources into the GitHub stand-in with 30 ms of latency on every request, and
//! the table shows HTTP requests, commits and wall time. A bench binary, not a timed test.
//!
//! ```text
//! cargo build -p fgd-sync && cargo bench --profile dev -p fgd-sync-tests --bench api_cost
//! ```
//! `API_COST_SIZES=1,10` picks other sizes; `API_COST_LATENCY_MS` another latency.

use std::path::Path;
use std::time::{Duration, Instant};

use fgd_sync_tests::cli::{self, TempDir};
use fgd_sync_tests::github::{Faults, StandIn, StandInOptions};

const DIRECTORY: &str = "fabrics/dc1/gitops";

struct Row {
    changes: usize,
    strategy: &'static str,
    requests: usize,
    reported: u64,
    commits: usize,
    wall: Duration,
    /// Time the stand-in spent in git answering (not GitHub's; latency excluded).
    server: Duration,
}

fn attachment(i: usize) -> String {
    format!(
        "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPCAttachment\nmetadata:\n  name: att-{i:04}\nspec:\n  connection: server-{i}--unbundled--leaf-01\n  subnet: vpc-1/default\n"
    )
}

fn write_source(dir: &Path, n: usize) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("source dir");
    let docs: Vec<String> = (0..n).map(attachment).collect();
    std::fs::write(dir.join("crs.yaml"), docs.join("---\n")).expect("manifest");
}

fn sync(gh: &StandIn, source: &Path, strategy: &str) -> (std::process::Output, Duration) {
    let mut cmd = cli::command();
    cmd.env("GITHUB_TOKEN", gh.token())
        .args(["sync", "--fabric", "dc1", "--json", "--directory", DIRECTORY, "--strategy", strategy])
        .args(["--github-api", &gh.api_base(), "--repo", "acme/fabric", "--max-attempts", "1"])
        .arg("--source-dir")
        .arg(source);
    let started = Instant::now();
    let out = cmd.output().expect("running fgd-sync");
    (out, started.elapsed())
}

fn measure(n: usize, strategy: &'static str, latency: Duration) -> Row {
    let gh = StandIn::start(StandInOptions::default()).expect("stand-in");
    let tmp = TempDir::new("api-cost");
    let source = tmp.path().join("crs");
    // The first commit (the empty sync state) is not part of the measurement.
    write_source(&source, 0);
    let (out, _) = sync(&gh, &source, strategy);
    assert!(out.status.success(), "setup sync failed: {}", String::from_utf8_lossy(&out.stderr));
    write_source(&source, n);
    let commits_before = gh.repo().log("main").len();
    gh.clear_exchanges();
    gh.faults().set(Faults::default().latency(latency));
    let (out, wall) = sync(&gh, &source, strategy);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{strategy} {n}: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("--json output");
    let changes = json["report"]["changes"].as_array().map_or(0, Vec::len);
    assert_eq!(changes, n, "{strategy} {n}: every resource changed");
    gh.repo().fsck().expect("fsck");
    Row {
        changes: n,
        strategy,
        requests: gh.exchanges().len(),
        reported: json["report"]["requests"].as_u64().unwrap_or(0),
        commits: gh.repo().log("main").len() - commits_before,
        wall,
        server: gh.exchanges().iter().map(|e| e.handling).sum(),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is expected.
    let sizes: Vec<usize> = std::env::var("API_COST_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 10, 100, 1000]);
    let latency =
        Duration::from_millis(std::env::var("API_COST_LATENCY_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(30));
    eprintln!("fgd-sync: {}", cli::binary().display());

    // Fixed cost of a process: start, load the precompiled component, three reads.
    let baseline = measure(0, "batched", latency);

    let mut rows = Vec::new();
    for &n in &sizes {
        for strategy in ["batched", "per-file"] {
            let row = measure(n, strategy, latency);
            eprintln!(
                "{n} {strategy}: {} requests, {} commits, {:.2} s",
                row.requests,
                row.commits,
                row.wall.as_secs_f64()
            );
            rows.push(row);
        }
    }

    println!(
        "API cost of one sync, {} ms latency per request (stand-in), real `fgd-sync` binary:\n",
        latency.as_millis()
    );
    println!("| changed resources | strategy | HTTP requests | commits | wall time | of which stand-in git work |");
    println!("|---:|---|---:|---:|---:|---:|");
    for r in &rows {
        assert_eq!(r.requests as u64, r.reported, "the stand-in and the report agree on requests");
        println!(
            "| {} | {} | {} | {} | {:.2} s | {:.2} s |",
            r.changes,
            r.strategy,
            r.requests,
            r.commits,
            r.wall.as_secs_f64(),
            r.server.as_secs_f64()
        );
    }
    println!();
    for &n in &sizes {
        let get = |s: &str| rows.iter().find(|r| r.changes == n && r.strategy == s);
        if let (Some(b), Some(p)) = (get("batched"), get("per-file")) {
            let without_server = |r: &Row| r.wall.saturating_sub(r.server).as_secs_f64();
            println!(
                "- {n} changes: per-file takes {:.1}x the requests, {:.1}x the wall time of batched ({:.1}x without the stand-in's git work)",
                p.requests as f64 / b.requests as f64,
                p.wall.as_secs_f64() / b.wall.as_secs_f64(),
                without_server(p) / without_server(b)
            );
        }
    }
    println!(
        "- fixed cost of a process (no change: start, component load, {} reads): {:.2} s",
        baseline.requests,
        baseline.wall.as_secs_f64()
    );
}
