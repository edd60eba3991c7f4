//! Whole syncs against an in-memory GitHub with real Git semantics (`engine/fake.rs`), and
//! exact error paths against scripted answers (`engine/kit.rs`).

mod fake;
mod git;
mod kit;
mod never_lose;
mod protocol;
mod pull;
mod schema;

use fgd_sync_guest::engine;
use fgd_sync_guest::model::{Action, ConflictKind, Kind, ResourceRef, SyncError, SyncOptions, SyncReport};
use fgd_sync_guest::model::{Mode, Selection};

use fake::{answer, Clock, FakeGitHub, Hook};
use kit::{attachment, managed, options, state_path, target, vpc, with_headers, FakeEnv, MemSource, START};

/// The fake GitHub, HNP and the clock of one test.
struct World {
    fake: FakeGitHub,
    source: MemSource,
    env: FakeEnv,
}

impl World {
    fn new(fake: FakeGitHub, resources: Vec<fgd_sync_guest::model::RawResource>) -> World {
        let env = FakeEnv::new(fake.clock.clone());
        World { fake, source: MemSource::new(resources), env }
    }

    fn empty(resources: Vec<fgd_sync_guest::model::RawResource>) -> World {
        World::new(FakeGitHub::new(Clock::at_secs(START)), resources)
    }

    /// A repository that already went through one sync of `resources`; logs cleared.
    fn synced(resources: Vec<fgd_sync_guest::model::RawResource>) -> World {
        let mut w = World::empty(resources);
        w.run(&options()).expect("first sync");
        w.fake.log.clear();
        w.source.recorded.clear();
        w.source.record_calls = 0;
        w.env.sleeps.clear();
        w
    }

    fn run(&mut self, options: &SyncOptions) -> Result<SyncReport, SyncError> {
        self.select(&Selection::Fabric, options)
    }

    fn plan(&mut self, options: &SyncOptions) -> Result<SyncReport, SyncError> {
        self.call(Mode::Plan, &Selection::Fabric, options)
    }

    fn select(&mut self, selection: &Selection, options: &SyncOptions) -> Result<SyncReport, SyncError> {
        self.call(Mode::Sync, selection, options)
    }

    fn call(&mut self, mode: Mode, selection: &Selection, options: &SyncOptions) -> Result<SyncReport, SyncError> {
        let (fake, source, env) = (&mut self.fake, &mut self.source, &mut self.env);
        let result = engine::run("dc1", mode, selection, &target(), options, fake, source, env);
        self.fake.assert_clean();
        result
    }

    fn head(&self) -> String {
        self.fake.git.head("main").expect("main exists")
    }

    fn file(&self, path: &str) -> Option<String> {
        self.fake.git.files("main").get(path).cloned()
    }
}

fn actions(report: &SyncReport) -> Vec<(String, Action)> {
    report.changes.iter().map(|c| (c.path.clone(), c.action)).collect()
}

const READS: [&str; 3] = ["GET /git/ref/heads/main", "GET /git/trees/{head}?recursive=1", "GET /git/blobs/{state}"];
const WRITES: [&str; 3] = ["POST /git/trees", "POST /git/commits", "PATCH /git/refs/heads/main"];

/// `calls` with the SHAs of the head and the state blob replaced by placeholders.
fn shape(w: &World, head: &str, calls: &[String]) -> Vec<String> {
    let state = w.fake.git.files("main").get(&state_path()).map(|t| fgd_sync_guest::blob::blob_sha(t.as_bytes()));
    let old_states: Vec<String> = w.fake.git.blobs.keys().cloned().collect();
    calls
        .iter()
        .map(|c| {
            let mut c = c.replace(head, "{head}");
            if let Some(s) = &state {
                c = c.replace(s, "{state}");
            }
            // A state blob of an earlier commit is still "the state".
            if c.starts_with("GET /git/blobs/") && old_states.iter().any(|s| c.ends_with(s.as_str())) {
                c = "GET /git/blobs/{state}".into();
            }
            c
        })
        .collect()
}

/// Regression: an invalid CR used to be refused only after the empty repository's first
/// commit had been made. Now it is reported and its path left alone; the rest syncs.
#[test]
fn invalid_resource_is_reported_and_nothing_is_written_for_it() {
    let mut bad = vpc("vpc-1", 1001);
    bad.name = "Vpc-1".into();
    let mut w = World::empty(vec![vpc("vpc-2", 1002), bad]);
    let report = w.run(&options()).unwrap();
    assert!(report.invalid.iter().any(|e| e.name == "Vpc-1" && e.field == "metadata.name"), "{report:?}");
    assert_eq!(actions(&report), [(managed("vpcs", "vpc-2"), Action::Create)]);
    assert!(w.fake.git.files("main").keys().all(|p| !p.to_lowercase().contains("vpc-1")));
}

/// The commit message ends with the trailer naming the state blob of that commit.
fn assert_trailer(w: &World, commit: &str) {
    let message = &w.fake.git.commits[commit].message;
    let tree = w.fake.git.commits[commit].tree.clone();
    let state = w.fake.git.flatten(&tree)[&state_path()].1.clone();
    assert!(message.ends_with(&format!("\n\nFgd-Sync-State: {state}\n")), "{message:?}");
}

/// `GET commits` for the last commit that touched the state file, at `head`.
fn last_state_commit(head: &str) -> String {
    format!("GET /commits?sha={head}&path={}&per_page=1", state_path())
}

#[test]
fn first_sync_into_an_empty_repository_initializes_then_commits() {
    let mut w = World::empty(vec![vpc("vpc-1", 1001), vpc("vpc-2", 1002)]);
    let report = w.run(&options()).unwrap();
    let history = w.fake.git.history("main");
    assert_eq!(history.len(), 2, "the initial state commit, then the sync");
    let init = &w.fake.git.commits[&history[1]];
    assert!(init.message.starts_with("[hnp] Initialize fgd-sync state\n\n"), "{:?}", init.message);
    assert_trailer(&w, &history[1]);
    assert_trailer(&w, &history[0]);
    assert_eq!(init.author, ("HNP Sync".into(), "hnp@example.com".into()));
    assert_eq!(report.commit.as_deref(), Some(history[0].as_str()));
    assert_eq!(report.base_commit.as_deref(), Some(history[1].as_str()));
    assert_eq!((report.attempts, report.requests), (1, 9));
    let calls = w.fake.calls();
    assert_eq!(calls[..2], ["GET /git/ref/heads/main", "PUT /contents/fabrics/dc1/.hnp/sync-state.json"]);
    assert_eq!(shape(&w, &history[1], &calls[2..5]), READS);
    assert_eq!(calls[5], last_state_commit(&history[1]), "the state's last commit carries the trailer");
    assert_eq!(calls[6..], WRITES);
    assert_eq!(
        actions(&report),
        [(managed("vpcs", "vpc-1"), Action::Create), (managed("vpcs", "vpc-2"), Action::Create)]
    );
    let files = w.fake.git.files("main");
    assert_eq!(files.keys().collect::<Vec<_>>(), [&state_path(), &managed("vpcs", "vpc-1"), &managed("vpcs", "vpc-2")]);
    assert!(files[&managed("vpcs", "vpc-1")].contains("vlan: 1001"));
    assert!(w.fake.git.commits[&history[0]].message.starts_with(report.message.as_deref().unwrap_or("?")));
    assert!(report.message.as_deref().unwrap_or_default().starts_with("[hnp] "));
    // HNP learns where each CR lives, with the blob SHA GitHub holds.
    assert_eq!(w.source.recorded.len(), 2);
    for (r, path, sha, commit) in &w.source.recorded {
        assert_eq!(r.kind, Kind::Vpc);
        assert_eq!(sha, &fgd_sync_guest::blob::blob_sha(files[path].as_bytes()));
        assert_eq!(commit, &history[0]);
    }
    assert!(report.warnings.is_empty());
}

#[test]
fn create_update_and_delete_land_in_one_commit() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001), vpc("vpc-2", 1002)]);
    let before = w.head();
    w.source.resources = vec![vpc("vpc-1", 1111), vpc("vpc-3", 1003)];
    let report = w.run(&options()).unwrap();
    assert_eq!(
        actions(&report),
        [
            (managed("vpcs", "vpc-1"), Action::Update),
            (managed("vpcs", "vpc-2"), Action::Delete),
            (managed("vpcs", "vpc-3"), Action::Create),
        ]
    );
    let head = w.head();
    assert_eq!(report.commit.as_deref(), Some(head.as_str()));
    assert_eq!(w.fake.git.commits[&head].parents, std::slice::from_ref(&before));
    assert!(w.file(&managed("vpcs", "vpc-1")).unwrap().contains("vlan: 1111"));
    assert_eq!(w.file(&managed("vpcs", "vpc-2")), None);
    assert!(w.file(&managed("vpcs", "vpc-3")).is_some());
    let check = last_state_commit("{head}");
    assert_eq!(shape(&w, &before, &w.fake.calls()), [READS.as_slice(), &[check.as_str()], WRITES.as_slice()].concat());
    assert_trailer(&w, &head);
    let recorded: Vec<&str> = w.source.recorded.iter().map(|r| r.0.name.as_str()).collect();
    assert_eq!(recorded, ["vpc-1", "vpc-3"], "deletes are not recorded");
}

#[test]
fn a_rerun_reads_three_times_and_commits_nothing() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001), vpc("vpc-2", 1002)]);
    let head = w.head();
    let report = w.run(&options()).unwrap();
    assert_eq!((report.commit.clone(), report.message.clone(), report.unchanged), (None, None, 2));
    assert!(report.changes.is_empty() && report.conflicts.is_empty());
    assert_eq!(shape(&w, &head, &w.fake.calls()), READS);
    assert_eq!(report.requests, 3);
    assert_eq!(w.head(), head);
    assert!(w.source.recorded.is_empty());
}

#[test]
fn a_plan_writes_nothing() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    let head = w.head();
    w.source.resources.push(vpc("vpc-2", 1002));
    let report = w.plan(&options()).unwrap();
    assert_eq!(actions(&report), [(managed("vpcs", "vpc-2"), Action::Create)]);
    assert_eq!((report.commit.as_deref(), report.base_commit.as_deref()), (None, Some(head.as_str())));
    assert!(report.message.as_deref().unwrap_or_default().contains("vpc-2"), "{:?}", report.message);
    assert_eq!(report.requests, 4, "a plan that writes checks who wrote the state, as a sync does");
    assert_eq!(w.head(), head);
    assert!(w.source.recorded.is_empty());

    // In an empty repository a plan does not create the first commit either.
    let mut empty = World::empty(vec![vpc("vpc-1", 1001)]);
    let report = empty.plan(&options()).unwrap();
    assert_eq!((&report.base_commit, &report.commit, report.requests), (&None, &None, 1));
    assert_eq!(actions(&report), [(managed("vpcs", "vpc-1"), Action::Create)]);
    assert!(empty.fake.git.is_empty());
}

#[test]
fn at_most_seven_requests_for_one_or_a_thousand_changes() {
    for n in [1, 1000] {
        let mut w = World::synced(vec![]);
        let before = w.fake.git.history("main").len();
        w.source.resources = (0..n).map(attachment).collect();
        let report = w.run(&options()).unwrap();
        assert_eq!(report.changes.len(), n);
        // Six, plus one `GET commits`: was the state written by fgd-sync?
        assert_eq!(report.requests, 7, "{n} changes took {} requests", report.requests);
        assert_eq!(w.fake.git.history("main").len(), before + 1, "one commit");
        assert_eq!(w.fake.git.files("main").len(), n + 1);
        assert_eq!(w.source.recorded.len(), n);
    }
}

#[test]
fn lost_race_on_another_file_retries_and_keeps_their_change() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    w.source.resources.push(vpc("vpc-2", 1002));
    let mut raced = false;
    w.fake.hook = Some(Box::new(move |git, request| {
        if request.method == "PATCH" && !raced {
            raced = true;
            git.commit_files("main", &[("fabrics/dc1/raw/notes.yaml", Some("by hand\n"))], "manual edit");
        }
        Hook::Pass
    }));
    let report = w.run(&options()).unwrap();
    assert_eq!(report.attempts, 2);
    assert_eq!(actions(&report), [(managed("vpcs", "vpc-2"), Action::Create)]);
    assert_eq!(w.file("fabrics/dc1/raw/notes.yaml").as_deref(), Some("by hand\n"));
    let history = w.fake.git.history("main");
    assert_eq!(report.commit.as_deref(), Some(history[0].as_str()));
    assert_eq!(w.fake.git.commits[&history[1]].message, "manual edit");
    assert_eq!(report.base_commit.as_deref(), Some(history[1].as_str()));
    assert_eq!(w.env.sleeps.len(), 1, "one backoff between attempts");
    // 7, then `compare` (did our commit land after all? no), then 5 + `GET commits` of the
    // new head: the state blob is read once, a SHA names its content.
    assert_eq!(report.requests, 7 + 1 + 6, "the state blob is read once: a SHA names its content");
}

#[test]
fn lost_race_on_the_same_file_reports_a_conflict_and_keeps_their_version() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001), vpc("vpc-2", 1002)]);
    w.source.resources = vec![vpc("vpc-1", 1111), vpc("vpc-2", 1002)];
    let theirs = "# edited in Git\nkind: VPC\n";
    let mut raced = false;
    w.fake.hook = Some(Box::new(move |git, request| {
        if request.method == "PATCH" && !raced {
            raced = true;
            git.commit_files("main", &[("fabrics/dc1/managed/vpcs/vpc-1.yaml", Some(theirs))], "hand edit");
        }
        Hook::Pass
    }));
    let report = w.run(&options()).unwrap();
    assert_eq!(report.attempts, 2);
    assert_eq!(report.commit, None, "nothing else to write");
    assert_eq!(report.conflicts.len(), 1);
    let conflict = &report.conflicts[0];
    assert_eq!(
        (conflict.path.as_str(), conflict.kind),
        (managed("vpcs", "vpc-1").as_str(), ConflictKind::ModifiedInGit)
    );
    assert_eq!(conflict.git_content.as_deref(), Some(theirs));
    assert!(conflict.hnp_content.as_deref().unwrap_or_default().contains("1111"));
    assert_eq!(w.file(&managed("vpcs", "vpc-1")).as_deref(), Some(theirs));
    assert_eq!(w.fake.git.commits[&w.head()].message, "hand edit");
}

#[test]
fn too_many_races_gives_up_without_forcing() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    w.source.resources.push(vpc("vpc-2", 1002));
    let mut n = 0;
    w.fake.hook = Some(Box::new(move |git, request| {
        if request.method == "PATCH" {
            n += 1;
            git.commit_files("main", &[(&format!("other/{n}.txt"), Some("x"))], "busy");
        }
        Hook::Pass
    }));
    let err = w.run(&options()).unwrap_err();
    assert_eq!(err, SyncError::TooManyRaces(3));
    assert!(w.file(&managed("vpcs", "vpc-2")).is_none());
    assert_eq!(w.fake.git.commits[&w.head()].message, "busy");
    assert_eq!(w.env.sleeps.len(), 2, "a backoff between attempts, none after the last");
    assert!(w.env.sleeps[1] >= 2 * 1000, "exponential: {:?}", w.env.sleeps);
    assert!(w.fake.calls().iter().filter(|c| c.starts_with("PATCH")).count() == 3);
}

#[test]
fn primary_rate_limit_is_waited_out_within_the_limit() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    w.fake.rate.remaining = 0;
    w.fake.rate.reset_at = START + 30;
    let start = w.fake.clock.secs();
    let report = w.run(&options()).unwrap();
    assert_eq!(report.requests, 4, "one refused request, then three reads");
    assert_eq!(w.env.sleeps, [(START + 30 - start + 1) * 1000]);
    assert!(w.fake.clock.secs() > START + 30);
}

#[test]
fn primary_rate_limit_beyond_the_limit_fails_without_waiting() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    w.fake.rate.remaining = 0;
    w.fake.rate.reset_at = START + 600;
    let err = w.run(&options()).unwrap_err();
    match err {
        SyncError::RateLimited(r) => {
            assert_eq!(r.reset_at, START + 600);
            assert!(r.message.contains("API rate limit exceeded"), "{}", r.message);
        }
        other => panic!("{other:?}"),
    }
    assert!(w.env.sleeps.is_empty());
    assert_eq!(w.fake.log.len(), 1);
}

#[test]
fn secondary_rate_limit_honours_retry_after() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    w.source.resources.push(vpc("vpc-2", 1002));
    let mut limited = false;
    w.fake.hook = Some(Box::new(move |_, request| {
        if request.method == "POST" && !limited {
            limited = true;
            let body = r#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}"#;
            return Hook::Answer(with_headers(403, &[("retry-after", "7")], body));
        }
        Hook::Pass
    }));
    let report = w.run(&options()).unwrap();
    assert!(report.commit.is_some());
    assert_eq!(w.env.sleeps, [7_000]);
    // 7 + the refused POST + the ref read again after the wait (see `FRESH_HEAD_SECS`).
    assert_eq!(report.requests, 9);

    // Without `retry-after`, at least a minute, doubling; beyond the limit it fails.
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    w.fake.hook = Some(Box::new(|_, _| {
        Hook::Answer(with_headers(403, &[], r#"{"message":"You have exceeded a secondary rate limit"}"#))
    }));
    let limits = SyncOptions { max_rate_limit_wait_secs: 150, ..options() };
    let err = w.run(&limits).unwrap_err();
    assert_eq!(w.env.sleeps, [60_000, 120_000]);
    assert!(matches!(err, SyncError::RateLimited(ref r) if r.reset_at == w.fake.clock.secs() + 240), "{err:?}");
}

#[test]
fn server_errors_are_retried_and_nothing_is_written_twice() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    w.source.resources.push(vpc("vpc-2", 1002));
    let before = w.fake.git.history("main").len();
    let mut seen = Vec::new();
    w.fake.hook = Some(Box::new(move |_, request| {
        let first = !seen.contains(&request.method);
        seen.push(request.method.clone());
        match request.method.as_str() {
            "GET" if first => Hook::Answer(answer(503, serde_json::json!({"message": "Service Unavailable"}))),
            // The ref moved, but the answer was lost: the retry must not make a second commit.
            "PATCH" if first => Hook::After(answer(502, serde_json::json!({"message": "Bad Gateway"}))),
            _ => Hook::Pass,
        }
    }));
    let report = w.run(&options()).unwrap();
    assert_eq!(w.fake.git.history("main").len(), before + 1, "exactly one commit");
    assert_eq!(report.commit.as_deref(), Some(w.head().as_str()));
    assert_eq!((report.attempts, report.requests), (1, 9));
    assert_eq!(w.fake.calls().iter().filter(|c| c.starts_with("POST /git/commits")).count(), 1);
    assert_eq!(w.env.sleeps.len(), 2);
    assert!(w.env.sleeps.iter().all(|&ms| (1_000..=1_500).contains(&ms)), "{:?}", w.env.sleeps);
}

#[test]
fn transport_errors_give_up_after_bounded_retries() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    w.fake.hook = Some(Box::new(|_, _| Hook::Fail("connection refused by host policy".into())));
    let err = w.run(&options()).unwrap_err();
    match err {
        SyncError::Transport(m) => {
            assert!(m.contains("connection refused by host policy") && m.contains("4 tries"), "{m}");
            assert!(m.contains("GET https://api.github.com/repos/octo/fab/git/ref/heads/main"), "{m}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(w.fake.log.len(), 4);
    assert_eq!(w.env.sleeps.len(), 3);
    for (i, ms) in w.env.sleeps.iter().enumerate() {
        let step = 1_000 << i;
        assert!(
            (step..=step + step / 2).contains(ms),
            "retry {i} slept {ms} ms: exponential, jitter under half a step"
        );
    }
}

#[test]
fn missing_branch_is_reported_by_name() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    let mut t = target();
    t.branch = "release/v1".into();
    let result =
        engine::run("dc1", Mode::Sync, &Selection::Fabric, &t, &options(), &mut w.fake, &mut w.source, &mut w.env);
    assert_eq!(result.unwrap_err(), SyncError::BranchNotFound("release/v1".into()));
    assert_eq!(w.fake.calls(), ["GET /git/ref/heads/release/v1"]);
}

fn tree_fixture() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> =
        (0..30).map(|i| (format!("aaa/noise-{i:02}.txt"), format!("{i}\n"))).collect();
    files.extend((0..5).map(|i| (format!("zzz/noise-{i}.txt"), format!("{i}\n"))));
    files
}

#[test]
fn truncated_listings_are_walked_subtree_by_subtree() {
    let mut w = World::empty(vec![vpc("vpc-1", 1001), vpc("vpc-2", 1002)]);
    let noise = tree_fixture();
    let changes: Vec<(&str, Option<&str>)> = noise.iter().map(|(p, t)| (p.as_str(), Some(t.as_str()))).collect();
    w.fake.git.commit_files("main", &changes, "unrelated files");
    w.run(&options()).unwrap();
    let head = w.head();

    // The root listing is cut inside `aaa/`; the directory's own listing fits.
    w.fake.log.clear();
    w.fake.truncate_after = Some(10);
    let report = w.run(&options()).unwrap();
    assert_eq!((report.unchanged, report.commit.as_deref()), (2, None));
    let calls = shape(&w, &head, &w.fake.calls());
    let root = w.fake.git.commits[&head].tree.clone();
    let fabrics = w.fake.git.trees[&root].iter().find(|e| e.name == "fabrics").unwrap().sha.clone();
    let dc1 = w.fake.git.trees[&fabrics].iter().find(|e| e.name == "dc1").unwrap().sha.clone();
    assert_eq!(
        calls,
        [
            "GET /git/ref/heads/main".to_string(),
            "GET /git/trees/{head}?recursive=1".into(),
            format!("GET /git/trees/{root}"),
            format!("GET /git/trees/{fabrics}"),
            format!("GET /git/trees/{dc1}?recursive=1"),
            "GET /git/blobs/{state}".into(),
        ]
    );

    // The cut listing still holds the directory's own entry: no walk down to it.
    w.fake.log.clear();
    w.fake.truncate_after = Some(33);
    w.run(&options()).unwrap();
    let calls = w.fake.calls();
    assert_eq!(calls.len(), 4, "{calls:#?}");
    assert_eq!(calls[2], format!("GET /git/trees/{dc1}?recursive=1"));

    // The directory's listing is cut too: every subtree is listed on its own.
    w.fake.log.clear();
    w.fake.truncate_after = Some(2);
    let report = w.run(&options()).unwrap();
    assert_eq!((report.unchanged, report.commit.as_deref()), (2, None));
    let calls = w.fake.calls();
    assert_eq!(calls[4], format!("GET /git/trees/{dc1}?recursive=1"));
    assert_eq!(calls[5], format!("GET /git/trees/{dc1}"));
    assert_eq!(calls.len(), 10, "dc1, .hnp, managed, managed/vpcs, then the state blob: {calls:#?}");

    // A removed CR is still found and deleted through the walk.
    w.source.resources.pop();
    let report = w.run(&options()).unwrap();
    assert_eq!(actions(&report), [(managed("vpcs", "vpc-2"), Action::Delete)]);
    assert_eq!(w.file(&managed("vpcs", "vpc-2")), None);
    assert_eq!(w.file("aaa/noise-00.txt").as_deref(), Some("0\n"));
}

#[test]
fn resources_selection_deletes_refs_that_hnp_no_longer_has() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001), vpc("vpc-2", 1002), vpc("vpc-3", 1003)]);
    w.source.resources = vec![vpc("vpc-1", 1111), vpc("vpc-3", 1003)];
    let refs = ["vpc-1", "vpc-2"]
        .map(|n| ResourceRef { kind: Kind::Vpc, namespace: "default".into(), name: n.into() })
        .to_vec();
    let report = w.select(&Selection::Resources(refs), &options()).unwrap();
    assert_eq!(
        actions(&report),
        [(managed("vpcs", "vpc-1"), Action::Update), (managed("vpcs", "vpc-2"), Action::Delete)]
    );
    assert!(w.file(&managed("vpcs", "vpc-3")).is_some(), "not selected, left alone");
    // The first sync lists twice (before initializing the empty repository, then after
    // reading its head); then one get per ref.
    assert_eq!(w.source.lookups, 2 + 2, "one get per ref");
}

#[test]
fn hnp_failures_are_source_errors_or_warnings() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    w.source.fail_lookups = Some("NetBox is down".into());
    let err = w.run(&options()).unwrap_err();
    assert!(matches!(&err, SyncError::Source(m) if m.contains("NetBox is down")), "{err:?}");
    // HNP is read right after the head, so what is written is never older than the head.
    assert_eq!(w.fake.calls(), ["GET /git/ref/heads/main"], "nothing written");

    w.source.fail_lookups = None;
    w.source.fail_record = Some("read-only database".into());
    w.source.resources.push(vpc("vpc-2", 1002));
    let report = w.run(&options()).unwrap();
    assert!(report.commit.is_some());
    assert_eq!(report.warnings.len(), 1);
    assert!(report.warnings[0].contains("read-only database") && report.warnings[0].contains("vpc-2"));
}

#[test]
fn every_request_carries_the_required_headers_and_never_authorization() {
    let mut w = World::empty(vec![vpc("vpc-1", 1001)]);
    w.run(&options()).unwrap();
    assert!(!w.fake.log.is_empty());
    for r in &w.fake.log {
        let get = |n: &str| r.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.as_str());
        assert_eq!(get("accept"), Some("application/vnd.github+json"));
        assert_eq!(get("x-github-api-version"), Some("2022-11-28"));
        assert_eq!(get("user-agent"), Some(concat!("fgd-sync/", env!("CARGO_PKG_VERSION"))));
        assert_eq!(get("authorization"), None);
    }
}

#[test]
fn bad_targets_fail_before_any_request() {
    let mut w = World::empty(vec![]);
    for (directory, api_base) in [("a/../b", "https://api.github.com"), ("f", "api.github.com")] {
        let mut t = target();
        t.directory = directory.into();
        t.api_base = api_base.into();
        let result =
            engine::run("dc1", Mode::Sync, &Selection::Fabric, &t, &options(), &mut w.fake, &mut w.source, &mut w.env);
        assert!(matches!(result, Err(SyncError::InvalidTarget(_))), "{result:?}");
    }
    assert!(w.fake.log.is_empty());
}
