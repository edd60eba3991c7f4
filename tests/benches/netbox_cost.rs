//! NetBox cost of the two directions, against the HNP and GitHub stand-ins with the real
//! binary:
//!
//! - (a) the first sync of 1,000 CRs (all 12 kinds) from NetBox into an empty repository:
//!   NetBox requests by method, of which bookkeeping (`last_synced`, `git_file_path`: the
//!   goal is at most one request per kind), GitHub requests, wall time.
//! - (b) `fgd-sync pull` of 100 Git edits (one outside commit that changes the data of 100
//!   managed files, of every kind): the same figures, the data PATCHes apart from the
//!   bookkeeping.
//!
//! Loopback, no injected latency: the counts are the figures that carry over to a real
//! NetBox; wall times show the fixed cost and the stand-ins' work. A bench binary, not a
//! timed test; it checks that each run did what it measures (every CR recorded, every edit in
//! HNP, one commit).
//!
//! ```text
//! cargo build -p fgd-sync && cargo bench -p fgd-sync-tests --bench netbox_cost
//! ```
//! `NETBOX_COST_CRS` and `NETBOX_COST_EDITS` pick other sizes.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant};

use fgd_sync_guest::model::KINDS;
use fgd_sync_tests::cli;
use fgd_sync_tests::github::{Faults, StandIn, StandInOptions};
use fgd_sync_tests::hnp::{Cr, Hnp, Seen};
use serde_json::{json, Value};

const NETBOX_TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";
const DIR: &str = "fabrics/dc1/gitops";

/// One measured run.
struct Figures {
    what: String,
    /// NetBox requests by method.
    netbox: BTreeMap<String, usize>,
    /// PATCHes that only record `last_synced` / `git_file_path`.
    bookkeeping: usize,
    /// Kinds the bookkeeping covered.
    bookkeeping_kinds: usize,
    /// Bulk PATCHes that write CR data (`spec`, `labels`, `annotations`).
    data_patches: usize,
    github: usize,
    /// GitHub requests by method and endpoint (`GET git/blobs`).
    github_by_endpoint: BTreeMap<String, usize>,
    commits: usize,
    wall: Duration,
}

/// CR `i`: kind `i % 12`, a name short enough for every kind, a spec whose `index` line a
/// Git edit changes.
fn cr(fabric: u64, i: usize) -> Cr {
    let kind = KINDS[i % KINDS.len()].name;
    Cr::new(kind, fabric, &name(i), json!({ "index": i, "site": "dc1" })).labels(json!({ "bench": "netbox-cost" }))
}

fn name(i: usize) -> String {
    format!("cr-{i:04}")
}

fn managed(i: usize) -> String {
    format!("{DIR}/managed/{}/{}.yaml", KINDS[i % KINDS.len()].plural, name(i))
}

fn command(gh: &StandIn, hnp: &Hnp, args: &[&str]) -> Command {
    let mut cmd = cli::command();
    cmd.env("GITHUB_TOKEN", gh.token())
        .env("NETBOX_TOKEN", NETBOX_TOKEN)
        .args(args)
        .args(["--json", "--fabric", "dc1", "--directory", DIR, "--branch", "main", "--max-attempts", "1"])
        .args(["--github-api", &gh.api_base(), "--repo", "acme/fabric", "--netbox-url", &hnp.base_url()]);
    cmd
}

/// Runs the command from a clean request log and counts what it cost. Panics (with the
/// run's output) unless it exits 0.
fn measure(what: &str, gh: &StandIn, hnp: &Hnp, args: &[&str]) -> (Figures, Value) {
    hnp.clear_requests();
    gh.clear_exchanges();
    let commits_before = gh.repo().log("main").len();
    let started = Instant::now();
    let out = command(gh, hnp, args).output().expect("running fgd-sync");
    let wall = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{what}: exit {:?}\n{stdout}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    let outcome: Value = serde_json::from_str(&stdout).expect("--json output");
    let requests = hnp.requests();
    let mut netbox = BTreeMap::new();
    for r in &requests {
        *netbox.entry(r.method.clone()).or_insert(0) += 1;
    }
    let bookkeeping: Vec<&Seen> = requests.iter().filter(|r| is_bookkeeping(r)).collect();
    let kinds: BTreeSet<&str> = bookkeeping.iter().map(|r| r.path.as_str()).collect();
    let figures = Figures {
        what: what.to_owned(),
        netbox,
        bookkeeping: bookkeeping.len(),
        bookkeeping_kinds: kinds.len(),
        data_patches: requests.iter().filter(|r| r.method == "PATCH" && writes_data(r)).count(),
        github: gh.exchanges().len(),
        github_by_endpoint: gh.exchanges().iter().fold(BTreeMap::new(), |mut counts, e| {
            *counts.entry(format!("{} {}", e.method, endpoint(&gh.repo_path(), &e.path))).or_insert(0) += 1;
            counts
        }),
        commits: gh.repo().log("main").len() - commits_before,
        wall,
    };
    (figures, outcome)
}

/// A GitHub request's endpoint without ids: `git/blobs`, `git/ref/heads`, `commits`.
fn endpoint(repo_path: &str, path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    let path = path.strip_prefix(repo_path).unwrap_or(path).trim_start_matches('/');
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["git", kind, ..] => format!("git/{kind}"),
        [first, ..] => (*first).to_owned(),
        [] => String::new(),
    }
}

const DATA_FIELDS: [&str; 3] = ["spec", "labels", "annotations"];

/// A bulk PATCH whose every item sets `last_synced` and writes no CR data.
fn is_bookkeeping(request: &Seen) -> bool {
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(&request.body) else { return false };
    request.method == "PATCH"
        && items
            .iter()
            .all(|item| item.get("last_synced").is_some() && DATA_FIELDS.iter().all(|f| item.get(f).is_none()))
}

/// A bulk write with an item that carries CR data.
fn writes_data(request: &Seen) -> bool {
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(&request.body) else { return false };
    items.iter().any(|item| DATA_FIELDS.iter().any(|f| item.get(f).is_some()))
}

fn env_size(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

/// Fabric `dc1` with `crs` CRs in the HNP stand-in, and a GitHub stand-in; `(index, id)` of
/// each CR.
struct World {
    hnp: Hnp,
    gh: StandIn,
    ids: Vec<(usize, u64)>,
}

impl World {
    fn new(crs: usize, latency: Duration) -> World {
        let hnp = Hnp::start(NETBOX_TOKEN).expect("HNP stand-in");
        let fabric = hnp.add_fabric("dc1");
        let ids = (0..crs).map(|i| (i, hnp.add(cr(fabric, i)))).collect();
        let gh = StandIn::start(StandInOptions::default()).expect("GitHub stand-in");
        gh.faults().set(Faults::default().latency(latency));
        World { hnp, gh, ids }
    }

    /// (a) The first sync: every CR becomes a file in one commit and is recorded in NetBox.
    fn first_sync(&self, what: &str) -> Figures {
        let (figures, outcome) = measure(what, &self.gh, &self.hnp, &["sync"]);
        let changes = outcome["report"]["changes"].as_array().map_or(0, Vec::len);
        assert_eq!(changes, self.ids.len(), "{}", outcome["error"]);
        let prefix = format!("{DIR}/managed/");
        let files = self.gh.repo().files("main").into_keys().filter(|p| p.starts_with(&prefix)).count();
        assert_eq!(files, self.ids.len());
        for &(i, id) in &self.ids {
            let row = self.hnp.object(KINDS[i % KINDS.len()].name, id).expect("row");
            assert_eq!(row["git_file_path"], json!(managed(i)), "CR {i} recorded");
        }
        figures
    }

    /// (b) One outside commit edits the data of `edits` managed files; a pull carries them.
    fn pull(&self, edits: usize) -> Figures {
        let edited: Vec<(String, String)> = (0..edits)
            .map(|i| {
                let path = managed(i);
                let text = self.gh.repo().show("main", &path).expect("managed file");
                let changed = text.replace(&format!("index: {i}\n"), &format!("index: {}\n", i + 100_000));
                assert_ne!(text, changed, "{path}: the edit changes the data");
                (path, changed)
            })
            .collect();
        let files: Vec<(&str, Option<&str>)> = edited.iter().map(|(p, t)| (p.as_str(), Some(t.as_str()))).collect();
        self.gh.repo().commit_files("main", &files, "Edit CRs in Git").expect("outside commit");
        let (figures, outcome) = measure(&format!("pull of {edits} Git edits"), &self.gh, &self.hnp, &["pull"]);
        let pulled = outcome["report"]["hnp_changes"].as_array().cloned().unwrap_or_default();
        assert_eq!(pulled.len(), edits, "{}", outcome["error"]);
        assert!(pulled.iter().all(|c| c["refused"].is_null()), "{pulled:?}");
        assert_eq!(figures.commits, 1, "one state-only commit");
        for &(i, id) in &self.ids[..edits] {
            let row = self.hnp.object(KINDS[i % KINDS.len()].name, id).expect("row");
            assert_eq!(row["spec"]["index"], json!(i + 100_000), "CR {i} has Git's data");
        }
        self.gh.repo().fsck().expect("fsck");
        figures
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is expected.
    let crs = env_size("NETBOX_COST_CRS", 1000);
    let edits = env_size("NETBOX_COST_EDITS", 100).min(crs);
    let latency = Duration::from_millis(env_size("NETBOX_COST_GITHUB_LATENCY_MS", 0) as u64);
    eprintln!("fgd-sync: {}", cli::binary().display());

    // The usual case: the FGD goes into a repository that has commits already.
    let existing = World::new(crs, latency);
    existing.gh.seed(&[("README.md", "# Fabric\n")], "Initial commit").expect("seed");
    let first = existing.first_sync(&format!("first sync of {crs} CRs (existing repository)"));
    let pull = existing.pull(edits);
    // An empty repository: fgd-sync makes its first commit (an empty state) after checking
    // HNP's CRs, then reads HNP again after the new head, as every attempt does.
    let empty = World::new(crs, latency).first_sync(&format!("first sync of {crs} CRs (empty repository)"));

    println!(
        "NetBox cost: HNP and GitHub stand-ins on loopback, {} ms latency per GitHub request, none for NetBox; the real binary.\n",
        latency.as_millis()
    );
    println!(
        "| run | NetBox requests by method | of which bookkeeping PATCHes (kinds) | GitHub requests | commits | wall time |"
    );
    println!("|---|---|---:|---:|---:|---:|");
    let runs = [&first, &empty, &pull];
    for f in runs {
        let methods: Vec<String> = f.netbox.iter().map(|(m, n)| format!("{m} {n}")).collect();
        println!(
            "| {} | {} | {} ({}) | {} | {} | {:.2} s |",
            f.what,
            methods.join(", "),
            f.bookkeeping,
            f.bookkeeping_kinds,
            f.github,
            f.commits,
            f.wall.as_secs_f64()
        );
    }
    println!();
    for f in runs {
        let calls: Vec<String> = f.github_by_endpoint.iter().map(|(e, n)| format!("{e} {n}")).collect();
        println!("- {}: GitHub {}", f.what, calls.join(", "));
    }
    println!(
        "- {crs} CRs in {} kinds: {} bookkeeping request(s) (goal: at most one per kind)",
        KINDS.len().min(crs),
        first.bookkeeping
    );
    println!(
        "- {edits} Git edits over {} kinds: {} data PATCH(es) and {} bookkeeping-only PATCH(es)",
        KINDS.len().min(edits),
        pull.data_patches,
        pull.bookkeeping
    );
}
