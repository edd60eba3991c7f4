//! The real `fgd-sync` binary against the GitHub stand-in over HTTP: the create/update/delete
//! and conflict matrix with `--http-log` checked, eight concurrent syncs plus an outside
//! writer, faults at realistic rates, and rate limits. Every test ends with `git fsck` and a
//! check that the branch only ever moved forward.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use fgd_sync::report::{ErrorDetail, Report, SyncOutcome};
use fgd_sync_tests::cli::{self, run, Run};
use fgd_sync_tests::github::conformance::check_all;
use fgd_sync_tests::github::{Action, Faults, Match, Rule, StandIn, StandInOptions, When};
use fgd_sync_tests::TempDir;
use pretty_assertions::assert_eq;
use serde_json::Value;

const DIR: &str = "fabrics/dc1/gitops";

pub fn vpc(name: &str, vlan: u32) -> String {
    let octet = vlan % 250;
    format!(
        "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: {name}\nspec:\n  subnets:\n    default:\n      subnet: 10.0.{octet}.0/24\n      vlan: {vlan}\n"
    )
}

pub fn attachment(name: &str, server: u32) -> String {
    format!(
        "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPCAttachment\nmetadata:\n  name: {name}\nspec:\n  connection: server-{server}--unbundled--leaf-01\n  subnet: vpc-1/default\n"
    )
}

pub fn managed(plural: &str, name: &str) -> String {
    format!("{DIR}/managed/{plural}/{name}.yaml")
}

pub fn state_path() -> String {
    format!("{DIR}/.hnp/sync-state.json")
}

/// A stand-in, a scratch directory for CR sources and logs.
pub struct World {
    pub gh: StandIn,
    pub tmp: TempDir,
}

impl World {
    pub fn new() -> World {
        World::with(StandInOptions::default())
    }

    pub fn with(options: StandInOptions) -> World {
        World { gh: StandIn::start(options).expect("stand-in"), tmp: TempDir::new("gh-e2e").expect("temp dir") }
    }

    /// A source directory `label` holding one manifest per document.
    pub fn source(&self, label: &str, docs: &[String]) -> PathBuf {
        let dir = self.tmp.path().join(label);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (i, doc) in docs.iter().enumerate() {
            std::fs::write(dir.join(format!("cr-{i:04}.yaml")), doc).unwrap();
        }
        dir
    }

    pub fn command(&self, source: &Path, extra: &[&str]) -> Command {
        let mut cmd = cli::command();
        cmd.env("GITHUB_TOKEN", self.gh.token())
            .args(["sync", "--fabric", "dc1", "--json", "--directory", DIR, "--branch", "main"])
            .args(["--github-api", &self.gh.api_base(), "--repo", "acme/fabric"])
            .arg("--source-dir")
            .arg(source)
            .args(extra);
        cmd
    }

    pub fn sync(&self, source: &Path, extra: &[&str]) -> Run {
        run(&mut self.command(source, extra))
    }

    /// The branch is sound: `fsck --strict` passes and every move was a fast-forward.
    pub fn assert_sound(&self) {
        self.gh.repo().fsck().unwrap_or_else(|e| panic!("fsck: {e}"));
        let forced = self.gh.repo().non_fast_forwards("main");
        assert!(forced.is_empty(), "the branch moved backwards or sideways: {forced:#?}");
        for c in self.gh.repo().log("main") {
            assert!(c.parents.len() <= 1, "merge commit {c:?}");
        }
    }

    pub fn file(&self, path: &str) -> Option<String> {
        self.gh.repo().show("main", path)
    }
}

pub fn report(run: &Run) -> Report {
    assert_eq!(run.outcome().schema, 1, "{}", run.stdout);
    run.report()
}

/// `(path, action)` of the report's changes, actions as the JSON spells them.
pub fn actions(report: &Report) -> Vec<(String, String)> {
    report.changes.iter().map(|c| (c.path.clone(), c.action.as_str().to_string())).collect()
}

fn expect(run: &Run, code: i32) {
    assert_eq!(run.code, code, "exit code\nstdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
}

/// Every line of an `--http-log` file.
fn http_log(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("log line is not JSON ({e}): {l}")))
        .collect()
}

fn log_header<'a>(entry: &'a Value, name: &str) -> Option<&'a str> {
    entry["request_headers"]
        .as_array()?
        .iter()
        .find(|h| h[0].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .and_then(|h| h[1].as_str())
}

/// The log and the stand-in agree: every request went to the stand-in with GitHub's headers,
/// the token reached the stand-in and never the log.
fn check_http_log(w: &World, log: &Path, token: &str) {
    let entries = http_log(log);
    assert!(!entries.is_empty(), "the HTTP log is empty");
    let text = std::fs::read_to_string(log).unwrap();
    assert!(!text.contains(token), "the token leaked into the HTTP log");
    for e in &entries {
        let url = e["url"].as_str().unwrap_or_default();
        assert!(url.starts_with(&format!("{}/", w.gh.api_base())), "a request to another host: {url}");
        assert!(log_header(e, "user-agent").is_some_and(|ua| ua.starts_with("fgd-sync/")), "{e}");
        assert_eq!(log_header(e, "accept"), Some("application/vnd.github+json"), "{e}");
        assert_eq!(log_header(e, "x-github-api-version"), Some("2022-11-28"), "{e}");
        assert_eq!(log_header(e, "authorization"), Some("<redacted>"), "{e}");
    }
    let seen = w.gh.exchanges();
    assert_eq!(seen.len(), entries.len(), "the stand-in saw exactly the logged requests");
    for e in &seen {
        assert_eq!(e.header("authorization"), Some(format!("Bearer {token}").as_str()), "{} {}", e.method, e.path);
    }
}

#[test]
fn create_update_delete_and_conflict_over_http() {
    {
        let label = "create-update-delete";
        let w = World::new();
        let log = w.tmp.path().join(format!("{label}.jsonl"));
        let log_arg = log.display().to_string();
        let args = ["--http-log", &log_arg, "--message-prefix", "[hnp] "];
        let (v1, v2, v3, v4) =
            (managed("vpcs", "vpc-1"), managed("vpcs", "vpc-2"), managed("vpcs", "vpc-3"), managed("vpcs", "vpc-4"));

        // 1. Create into an empty repository (the first commit goes through the Contents API).
        let src = w.source("crs", &[vpc("vpc-1", 1001), vpc("vpc-2", 1002), vpc("vpc-3", 1003)]);
        let first = w.sync(&src, &args);
        expect(&first, 0);
        let r = report(&first);
        let create = |p: &str| (p.to_string(), "create".to_string());
        assert_eq!(actions(&r), [create(&v1), create(&v2), create(&v3)], "{label}");
        assert_eq!(r.commit, w.gh.repo().head("main"), "{label}");
        assert!(w.file(&v1).unwrap().contains("vlan: 1001"));
        check_http_log(&w, &log, w.gh.token());
        let requests = r.requests;
        // GET ref (409), PUT state, 3 reads, who wrote the state (`GET commits`), tree, commit, ref.
        assert_eq!(requests, 9);

        // 2. Update one, delete one, create one.
        std::fs::remove_file(&log).unwrap();
        w.gh.clear_exchanges();
        let before = w.gh.repo().log("main").len();
        let src = w.source("crs", &[vpc("vpc-1", 1111), vpc("vpc-3", 1003), vpc("vpc-4", 1004)]);
        let second = w.sync(&src, &args);
        expect(&second, 0);
        let r = report(&second);
        assert_eq!(
            actions(&r),
            [(v1.clone(), "update".into()), (v2.clone(), "delete".into()), (v4.clone(), "create".into())],
            "{label}"
        );
        assert!(w.file(&v1).unwrap().contains("vlan: 1111"));
        assert_eq!(w.file(&v2), None);
        assert!(w.file(&v4).is_some());
        let new_commits = w.gh.repo().log("main").len() - before;
        let subjects: Vec<String> = w.gh.repo().log("main").into_iter().take(new_commits).map(|c| c.subject).collect();
        // Three reads, `GET commits` (the state's last commit has fgd-sync's trailer), three writes.
        assert_eq!((new_commits, r.requests), (1, 7), "{label}");
        assert_eq!(subjects, ["[hnp] Sync 3 resources: 1 created, 1 updated, 1 deleted"]);
        check_http_log(&w, &log, w.gh.token());

        // 3. Nothing to do: three reads, no commit.
        let again = w.sync(&src, &args);
        expect(&again, 0);
        let r = report(&again);
        assert_eq!((r.commit, r.requests), (None, 3), "{label}");

        // 4. Git changed vpc-3 by hand while HNP changed it too: a conflict, Git's edit kept.
        let theirs = vpc("vpc-3", 1333).replace("spec:", "# edited in Git\nspec:");
        w.gh.repo().commit_files("main", &[(&v3, Some(&theirs))], "hand edit").unwrap();
        let src = w.source("crs", &[vpc("vpc-1", 1111), vpc("vpc-3", 1999), vpc("vpc-4", 1004)]);
        let conflicted = w.sync(&src, &args);
        expect(&conflicted, 2);
        let r = report(&conflicted);
        assert_eq!(r.conflicts.len(), 1, "{label}: {r:#?}");
        assert_eq!(r.conflicts[0].path, v3);
        assert_eq!(w.file(&v3).as_deref(), Some(theirs.as_str()), "{label}: their edit stays");

        let problems = check_all(&w.gh.exchanges());
        assert!(problems.is_empty(), "{label}:\n{}", problems.join("\n"));
        w.assert_sound();
    }
}

/// Eight processes, each syncing only its own CRs (`--only`): one update, two creates and
/// one delete each, all at once, while another writer commits to the branch by hand and
/// before some ref updates. Every change must land exactly once, theirs too.
#[test]
fn eight_concurrent_syncs_and_an_outside_writer_lose_nothing() {
    const N: usize = 8;
    let w = World::new();
    let base = |i: usize| format!("base-{i}");
    let doomed = |i: usize| format!("del-{i}");
    let new = |i: usize, k: char| format!("new-{i}-{k}");
    let mut common: Vec<String> = (0..N).map(|i| vpc(&base(i), 1000 + i as u32)).collect();
    common.extend((0..N).map(|i| attachment(&doomed(i), i as u32)));
    let src = w.source("base", &common);
    expect(&w.sync(&src, &["--committer-name", "base", "--committer-email", "base@example.com"]), 0);
    let base_commit = w.gh.repo().head("main").unwrap();

    // Each process sees the base with its own changes.
    let commands: Vec<Command> = (0..N)
        .map(|i| {
            let mut docs: Vec<String> = (0..N)
                .map(|j| if j == i { vpc(&base(j), 2000 + j as u32) } else { vpc(&base(j), 1000 + j as u32) })
                .collect();
            docs.extend((0..N).filter(|j| *j != i).map(|j| attachment(&doomed(j), j as u32)));
            docs.extend(['a', 'b'].map(|k| attachment(&new(i, k), 100 + i as u32)));
            let src = w.source(&format!("p{i}"), &docs);
            let only = [
                format!("VPC/{}", base(i)),
                format!("VPCAttachment/{}", new(i, 'a')),
                format!("VPCAttachment/{}", new(i, 'b')),
                format!("VPCAttachment/{}", doomed(i)),
            ];
            let (name, email) = (format!("sync-{i}"), format!("sync-{i}@example.com"));
            let mut args: Vec<&str> =
                vec!["--max-attempts", "12", "--committer-name", &name, "--committer-email", &email];
            for o in &only {
                args.extend(["--only", o.as_str()]);
            }
            w.command(&src, &args)
        })
        .collect();
    w.gh.faults().set(Faults::default().seed(8).rule(Rule::another_writer_at_rate(0.2)));

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let outside = {
        let (repo, stop) = (w.gh.repo().clone(), stop.clone());
        std::thread::spawn(move || {
            let mut landed = Vec::new();
            let mut k = 0;
            // A person pushing now and then: often enough to race, not so often that no
            // read-plan-commit cycle could ever fit between two pushes.
            while !stop.load(std::sync::atomic::Ordering::SeqCst) && k < 6 {
                std::thread::sleep(Duration::from_millis(700));
                let path = format!("outside/manual-{k}.txt");
                if repo.commit_files("main", &[(&path, Some("by hand\n"))], &format!("manual {k}")).is_ok() {
                    landed.push(path);
                    k += 1;
                }
            }
            landed
        })
    };
    let started = Instant::now();
    let children: Vec<std::process::Child> = commands
        .into_iter()
        .map(|mut c| c.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap())
        .collect();
    let runs: Vec<Run> = children.into_iter().map(|c| c.wait_with_output().unwrap().into()).collect();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let manual = outside.join().unwrap();

    for (i, r) in runs.iter().enumerate() {
        let report = serde_json::from_str::<SyncOutcome>(&r.stdout).ok().and_then(|o| o.report);
        let (attempts, requests) = report.map(|r| (r.attempts, r.requests)).unzip();
        eprintln!("process {i}: exit {}, attempts {attempts:?}, requests {requests:?}", r.code);
    }
    let mut attempts = Vec::new();
    for (i, r) in runs.iter().enumerate() {
        expect(r, 0);
        let rep = report(r);
        attempts.push(u64::from(rep.attempts));
        let mut got = actions(&rep);
        got.sort();
        let mut want = vec![
            (managed("vpcattachments", &doomed(i)), "delete".to_string()),
            (managed("vpcattachments", &new(i, 'a')), "create".to_string()),
            (managed("vpcattachments", &new(i, 'b')), "create".to_string()),
            (managed("vpcs", &base(i)), "update".to_string()),
        ];
        want.sort();
        assert_eq!(got, want, "process {i}");
    }
    eprintln!("attempts per process: {attempts:?}; manual commits: {}; {:?}", manual.len(), started.elapsed());

    // The union of every change, and every outside commit, is on the branch.
    let files = w.gh.repo().files("main");
    for i in 0..N {
        assert!(w.file(&managed("vpcs", &base(i))).unwrap().contains(&format!("vlan: {}", 2000 + i)), "base-{i}");
        assert!(files.contains_key(&managed("vpcattachments", &new(i, 'a'))), "new-{i}-a");
        assert!(files.contains_key(&managed("vpcattachments", &new(i, 'b'))), "new-{i}-b");
        assert!(!files.contains_key(&managed("vpcattachments", &doomed(i))), "del-{i}");
    }
    for path in &manual {
        assert!(files.contains_key(path), "a manual commit was lost: {path}");
    }
    // Every commit somebody else made is in the history and its file in the final tree.
    let fired = w.gh.faults().current().rules[0].fired;
    let log = w.gh.repo().log("main");
    let theirs: Vec<&str> = log.iter().filter_map(|c| c.subject.strip_prefix("Outside edit #")).collect();
    assert!(!theirs.is_empty() && theirs.len() <= fired as usize, "{fired} raced PATCHes, {theirs:?}");
    for n in theirs {
        assert!(files.contains_key(&format!("outside/writer-{n}.txt")), "outside writer #{n} was lost");
    }
    // Exactly one commit per process: no change landed twice.
    for i in 0..N {
        let commits = log.iter().filter(|c| c.author == format!("sync-{i}")).count();
        assert_eq!(commits, 1, "commits by process {i}");
    }
    let state: Value = serde_json::from_str(&w.file(&state_path()).unwrap()).unwrap();
    let tracked: Vec<&String> = state["files"].as_object().unwrap().keys().collect();
    assert_eq!(tracked.len(), N * 3, "{tracked:#?}");
    assert!(tracked.iter().all(|p| !p.contains("/del-")));
    assert!(w.gh.repo().is_ancestor(&base_commit, &w.gh.repo().head("main").unwrap()));
    assert!(fired > 0 && attempts.iter().sum::<u64>() > N as u64, "the race was real: {fired} raced PATCHes");
    w.assert_sound();
}

/// Faults at rates far above GitHub's real ones: 5xx, dropped connections, lost answers,
/// secondary limits and a hang, on any request.
fn faulty(seed: u64) -> Faults {
    Faults::default()
        .seed(seed)
        .latency(Duration::from_millis(2))
        .rule(Rule::new(Match::any(), When::Rate(0.04), Action::Status(502)))
        .rule(Rule::new(Match::any(), When::Rate(0.02), Action::Status(500)))
        .rule(Rule::new(Match::any(), When::Rate(0.03), Action::Drop))
        .rule(Rule::new(Match::any(), When::Rate(0.03), Action::LoseAnswer))
        .rule(Rule::new(Match::any(), When::Rate(0.02), Action::SecondaryLimit { status: 403, retry_after: Some(1) }))
        .rule(Rule::new(Match::any(), When::Nth(5), Action::Hang(Duration::from_secs(2))))
}

#[test]
fn faults_at_high_rates_converge_or_fail_clearly_without_partial_or_duplicate_commits() {
    let wanted: Vec<String> = (0..12).map(|i| attachment(&format!("att-{i:02}"), i)).collect();
    for seed in 1..=4 {
        let w = World::new();
        let args = ["--committer-name", "hnp", "--committer-email", "hnp@example.com"];
        expect(&w.sync(&w.source("empty", &[]), &args), 0);
        let before = w.gh.repo().log("main").len();
        w.gh.faults().set(faulty(seed));
        let src = w.source("crs", &wanted);
        let first = w.sync(&src, &args);
        let faults: u32 = w.gh.faults().current().rules.iter().map(|r| r.fired).sum();
        let outcome = first.outcome();
        let message = outcome.error.as_ref().map(|e| e.message.as_str());
        eprintln!("seed {seed}: exit {}, {faults} faults, error {message:?}", first.code);
        match first.code {
            0 => assert_eq!(outcome.report.map(|r| r.changes.len()), Some(12)),
            1 => assert!(message.is_some_and(|m| !m.is_empty()), "{outcome:#?}"),
            other => panic!("exit {other}: {}", first.stderr),
        }
        let problems = check_all(&w.gh.exchanges());
        assert!(problems.is_empty(), "{}", problems.join("\n"));

        // Without faults the next sync finishes the job; nothing is ever written twice.
        w.gh.faults().clear();
        let second = w.sync(&src, &args);
        expect(&second, 0);
        let files = w.gh.repo().files("main");
        assert_eq!(files.keys().filter(|p| p.contains("/vpcattachments/")).count(), 12);
        let log = w.gh.repo().log("main");
        let ours: Vec<String> = log.iter().filter(|c| c.author == "hnp").map(|c| c.subject.clone()).collect();
        let new = log.len() - before;
        // One commit with all twelve, whichever run made it; never a partial one.
        assert_eq!(new, 1, "{ours:#?}");
        let head = w.gh.repo().head("main").unwrap();
        let changed = w.gh.repo().git(&["diff-tree", "--no-commit-id", "--name-only", "-r", &head]).unwrap();
        assert_eq!(changed.lines().filter(|l| l.contains("/vpcattachments/")).count(), 12);
        let third = w.sync(&src, &args);
        assert_eq!(report(&third).changes.len(), 0);
        w.assert_sound();
    }
}

fn seeded_world() -> (World, PathBuf) {
    let w = World::new();
    let src = w.source("crs", &[vpc("vpc-1", 1001)]);
    expect(&w.sync(&src, &[]), 0);
    let src = w.source("crs", &[vpc("vpc-1", 1001), vpc("vpc-2", 1002)]);
    w.gh.clear_exchanges();
    (w, src)
}

#[test]
fn a_primary_rate_limit_is_waited_out_within_the_maximum_wait() {
    let (w, src) = seeded_world();
    let limit = Action::PrimaryLimit { status: 403, reset_in: Duration::from_secs(2) };
    w.gh.faults().set(Faults::default().rule(Rule::new(Match::any(), When::Nth(2), limit)));
    let started = Instant::now();
    let r = w.sync(&src, &["--max-rate-limit-wait", "30"]);
    expect(&r, 0);
    assert!(started.elapsed() >= Duration::from_secs(2), "{:?}", started.elapsed());
    let seen = w.gh.exchanges();
    let refused: Vec<_> = seen.iter().filter(|e| e.status == Some(403)).collect();
    assert!(!refused.is_empty());
    assert!(refused.iter().all(|e| e.response_header("x-ratelimit-remaining") == Some("0")));
    assert_eq!(seen.last().and_then(|e| e.status), Some(200), "then it went on");
    assert!(w.file(&managed("vpcs", "vpc-2")).is_some());
    w.assert_sound();
}

#[test]
fn a_primary_rate_limit_beyond_the_maximum_wait_fails_with_the_reset_time() {
    let (w, src) = seeded_world();
    let head = w.gh.repo().head("main");
    let limit = Action::PrimaryLimit { status: 429, reset_in: Duration::from_secs(3600) };
    w.gh.faults().set(Faults::default().rule(Rule::new(Match::any(), When::Nth(1), limit)));
    let started = Instant::now();
    let r = w.sync(&src, &["--max-rate-limit-wait", "10"]);
    expect(&r, 1);
    assert!(started.elapsed() < Duration::from_secs(10), "it did not wait: {:?}", started.elapsed());
    let error = r.error();
    let reset = w.gh.exchanges()[0].response_header("x-ratelimit-reset").unwrap().to_string();
    assert!(
        matches!(&error.detail, Some(ErrorDetail::RateLimited { reset_at, .. }) if reset_at.to_string() == reset),
        "the reset time {reset} is reported: {error:#?}"
    );
    assert!(error.message.contains(&reset) && error.message.contains("rate limited"), "{error:#?}");
    assert_eq!(w.gh.repo().head("main"), head, "nothing written");
}

#[test]
fn a_secondary_rate_limit_honours_retry_after() {
    let (w, src) = seeded_world();
    let limit = Action::SecondaryLimit { status: 403, retry_after: Some(2) };
    w.gh.faults().set(Faults::default().rule(Rule::new(Match::method("POST"), When::Next(1), limit)));
    let started = Instant::now();
    let r = w.sync(&src, &["--max-rate-limit-wait", "30"]);
    expect(&r, 0);
    assert!(started.elapsed() >= Duration::from_secs(2), "{:?}", started.elapsed());
    let posts: Vec<Option<u16>> =
        w.gh.exchanges()
            .iter()
            .filter(|e| e.path.ends_with("/git/trees") && e.method == "POST")
            .map(|e| e.status)
            .collect();
    assert_eq!(posts, [Some(403), Some(201)], "the same request again after the wait");
    // 7 + the refused POST; the ref is read again before the update when the wait made the
    // head read older than 5 s (engine::FRESH_HEAD_SECS), which a slow machine may reach.
    let ref_reads = w.gh.exchanges().iter().filter(|e| e.method == "GET" && e.path.contains("/git/ref/")).count();
    assert_eq!(report(&r).requests as usize, 7 + ref_reads);
    w.assert_sound();
}

#[test]
fn persistent_server_errors_fail_clearly_and_leave_the_branch_alone() {
    let (w, src) = seeded_world();
    let head = w.gh.repo().head("main");
    w.gh.faults().set(Faults::default().rule(Rule::new(Match::method("PATCH"), When::Always, Action::Status(503))));
    let r = w.sync(&src, &[]);
    expect(&r, 1);
    let message = r.error().message;
    assert!(message.contains("503") && message.contains("4 tries"), "{message}");
    assert_eq!(w.gh.repo().head("main"), head, "no commit reached the branch");
    w.gh.faults().clear();
    let again = w.sync(&src, &[]);
    expect(&again, 0);
    assert_eq!(actions(&report(&again)), [(managed("vpcs", "vpc-2"), "create".to_string())]);
    w.assert_sound();
}

#[test]
fn a_ref_update_whose_answers_are_all_lost_still_reports_the_commit_it_landed() {
    let (w, src) = seeded_world();
    let before = w.gh.repo().log("main").len();
    w.gh.faults().set(Faults::default().rule(Rule::new(Match::method("PATCH"), When::Always, Action::LoseAnswer)));
    let r = w.sync(&src, &[]);
    // Regression: every PATCH answer was lost although the first PATCH moved the branch; the
    // sync used to exit 1 ("no answer"). It now reads the ref and sees its own commit there.
    expect(&r, 0);
    assert_eq!(report(&r).commit.as_deref(), Some(w.gh.repo().log("main")[0].sha.as_str()), "{}", r.stdout);
    assert_eq!(w.gh.repo().log("main").len(), before + 1, "the commit landed once");
    w.gh.faults().clear();
    let again = w.sync(&src, &[]);
    expect(&again, 0);
    assert_eq!(report(&again).changes.len(), 0);
    assert_eq!(w.gh.repo().log("main").len(), before + 1);
    w.assert_sound();
}
