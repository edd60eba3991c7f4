//! API cost of two write paths into the same GitHub stand-in, with 30 ms of latency on every
//! request, for 1, 10, 100 and 1000 changed resources:
//!
//! - `fgd-sync`: the real binary (`fgd-sync sync`): one atomic commit per sync through the
//!   Git Data API.
//! - `HNP per-file`: HNP's old write path, reimplemented here as a small client (fgd-sync
//!   itself has no such mode): for each file, sequentially, `GET .../contents/{path}?ref=main`
//!   (404 when absent) then `PUT .../contents/{path}` `{message, content, branch, sha?}`, one
//!   Contents-API commit per file (`shared/facts/hnp.md`, "Defects of the existing write
//!   path"; `shared/facts/github-rest.md`, "Contents API"). It renders with the guest crate's
//!   own parser and renderer, and the bench asserts that both paths leave byte-identical
//!   managed files.
//!
//! The table shows HTTP requests, commits and wall time. A bench binary, not a timed test.
//!
//! ```text
//! cargo build -p fgd-sync && cargo bench --profile dev -p fgd-sync-tests --bench api_cost
//! ```
//! `API_COST_SIZES=1,10` picks other sizes; `API_COST_LATENCY_MS` another latency.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use fgd_sync_guest::{manifest, path, render, validate};
use fgd_sync_tests::github::{Faults, StandIn, StandInOptions};
use fgd_sync_tests::{cli, TempDir};

const DIRECTORY: &str = "fabrics/dc1/gitops";
const FGD_SYNC: &str = "fgd-sync";
const PER_FILE: &str = "HNP per-file";

struct Row {
    changes: usize,
    write_path: &'static str,
    requests: usize,
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

fn sync(gh: &StandIn, source: &Path) -> (std::process::Output, Duration) {
    let mut cmd = cli::command();
    cmd.env("GITHUB_TOKEN", gh.token())
        .args(["sync", "--fabric", "dc1", "--json", "--directory", DIRECTORY])
        .args(["--github-api", &gh.api_base(), "--repo", "acme/fabric", "--max-attempts", "1"])
        .arg("--source-dir")
        .arg(source);
    let started = Instant::now();
    let out = cmd.output().expect("running fgd-sync");
    (out, started.elapsed())
}

/// HNP's old write path: per CR, a Contents-API read of the file's SHA and a PUT that makes
/// its own commit, one after the other (GitHub says to use these endpoints serially). Returns
/// the number of files written.
fn per_file_sync(gh: &StandIn, source: &Path) -> usize {
    let file = source.join("crs.yaml");
    let text = std::fs::read_to_string(&file).expect("manifest");
    let raws = manifest::parse_manifests(&file.display().to_string(), &text).expect("parse manifests");
    let directory = path::normalize_directory(DIRECTORY).expect("directory");
    let branch = gh.options().default_branch.clone();
    let b64 = base64::engine::general_purpose::STANDARD;
    for raw in &raws {
        let resource = validate::resource(raw).expect("valid resource");
        let content = render::render(&resource).expect("render");
        let file_path = path::manifest_path(&directory, &resource.reference());
        let url = format!("contents/{file_path}");

        let current = gh.call("GET", &format!("{url}?ref={branch}"), None).expect("GET contents");
        let sha = match current.status {
            200 => Some(current.json()["sha"].as_str().expect("contents sha").to_string()),
            404 => None,
            s => panic!("GET {file_path}: {s} {}", current.text()),
        };
        let mut body = serde_json::json!({
            "message": format!("Sync {} {}", resource.kind.as_str(), resource.name),
            "content": b64.encode(content.as_bytes()),
            "branch": branch,
        });
        if let Some(sha) = sha {
            body["sha"] = sha.into();
        }
        let put = gh.call("PUT", &url, Some(&body)).expect("PUT contents");
        assert!(matches!(put.status, 200 | 201), "PUT {file_path}: {} {}", put.status, put.text());
    }
    raws.len()
}

/// Managed files (path -> blob SHA) on `main`: what both write paths must agree on.
fn managed_files(gh: &StandIn) -> BTreeMap<String, String> {
    let prefix = format!("{DIRECTORY}/managed/");
    gh.repo().files("main").into_iter().filter(|(p, _)| p.starts_with(&prefix)).collect()
}

fn measure(n: usize, write_path: &'static str, latency: Duration) -> (Row, BTreeMap<String, String>) {
    let gh = StandIn::start(StandInOptions::default()).expect("stand-in");
    let tmp = TempDir::new("api-cost").expect("temp dir");
    let source = tmp.path().join("crs");
    // The same starting repository for both paths: the first commit (the empty sync state,
    // made by fgd-sync) is not part of the measurement.
    write_source(&source, 0);
    let (out, _) = sync(&gh, &source);
    assert!(out.status.success(), "setup sync failed: {}", String::from_utf8_lossy(&out.stderr));
    write_source(&source, n);
    let commits_before = gh.repo().log("main").len();
    gh.clear_exchanges();
    gh.faults().set(Faults::default().latency(latency));
    let wall = if write_path == FGD_SYNC {
        let (out, wall) = sync(&gh, &source);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{write_path} {n}: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
        let json: serde_json::Value = serde_json::from_str(&stdout).expect("--json output");
        let changes = json["report"]["changes"].as_array().map_or(0, Vec::len);
        assert_eq!(changes, n, "{write_path} {n}: every resource changed");
        let reported = json["report"]["requests"].as_u64().unwrap_or(0);
        assert_eq!(gh.exchanges().len() as u64, reported, "the stand-in and the report agree on requests");
        wall
    } else {
        let started = Instant::now();
        let written = per_file_sync(&gh, &source);
        let wall = started.elapsed();
        assert_eq!(written, n, "{write_path} {n}: every resource written");
        wall
    };
    gh.faults().clear();
    gh.repo().fsck().expect("fsck");
    let files = managed_files(&gh);
    assert_eq!(files.len(), n, "{write_path} {n}: one managed file per resource");
    let row = Row {
        changes: n,
        write_path,
        requests: gh.exchanges().len(),
        commits: gh.repo().log("main").len() - commits_before,
        wall,
        server: gh.exchanges().iter().map(|e| e.handling).sum(),
    };
    (row, files)
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
    let (baseline, _) = measure(0, FGD_SYNC, latency);

    let mut rows = Vec::new();
    for &n in &sizes {
        let mut written = Vec::new();
        for write_path in [FGD_SYNC, PER_FILE] {
            let (row, files) = measure(n, write_path, latency);
            eprintln!(
                "{n} {write_path}: {} requests, {} commits, {:.2} s",
                row.requests,
                row.commits,
                row.wall.as_secs_f64()
            );
            rows.push(row);
            written.push(files);
        }
        assert_eq!(written[0], written[1], "{n}: both write paths write the same files with the same bytes");
    }

    println!(
        "API cost of one sync, {} ms latency per request (stand-in); `fgd-sync` is the real binary, \
         `HNP per-file` HNP's old Contents-API write path (a GET and a PUT per file):\n",
        latency.as_millis()
    );
    println!("| changed resources | write path | HTTP requests | commits | wall time | of which stand-in git work |");
    println!("|---:|---|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {:.2} s | {:.2} s |",
            r.changes,
            r.write_path,
            r.requests,
            r.commits,
            r.wall.as_secs_f64(),
            r.server.as_secs_f64()
        );
    }
    println!();
    for &n in &sizes {
        let get = |s: &str| rows.iter().find(|r| r.changes == n && r.write_path == s);
        if let (Some(b), Some(p)) = (get(FGD_SYNC), get(PER_FILE)) {
            let without_server = |r: &Row| r.wall.saturating_sub(r.server).as_secs_f64();
            println!(
                "- {n} changes: HNP per-file takes {:.1}x the requests, {:.1}x the wall time of fgd-sync ({:.1}x without the stand-in's git work)",
                p.requests as f64 / b.requests as f64,
                p.wall.as_secs_f64() / b.wall.as_secs_f64(),
                without_server(p) / without_server(b)
            );
        }
    }
    println!(
        "- fixed cost of an fgd-sync process (no change: start, component load, {} reads): {:.2} s",
        baseline.requests,
        baseline.wall.as_secs_f64()
    );
}
