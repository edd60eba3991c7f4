//! The per-file strategy against the fake GitHub: one Contents-API GET and one PUT or DELETE
//! per changed file, each its own compare-and-swap on the blob SHA, the state written last.

use fgd_sync_guest::blob::blob_sha;
use fgd_sync_guest::engine::Selection;
use fgd_sync_guest::model::{Action, ConflictKind, Strategy, SyncError, SyncOptions};
use fgd_sync_guest::state::SyncState;

use super::fake::{answer, Hook};
use super::kit::{attachment, managed, options, state_path, vpc, DIR};
use super::{actions, shape, World, READS};

fn per_file() -> SyncOptions {
    SyncOptions { strategy: Strategy::PerFile, ..options() }
}

fn get(path: &str) -> String {
    format!("GET /contents/{path}?ref=main")
}

fn state(w: &World) -> SyncState {
    SyncState::parse(&w.file(&state_path()).expect("a state file")).expect("a valid state")
}

fn messages(w: &World, n: usize) -> Vec<String> {
    let history = w.fake.git.history("main");
    history[..n].iter().rev().map(|c| w.fake.git.commits[c].message.clone()).collect()
}

#[test]
fn one_get_and_one_write_per_file_then_the_state() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001), vpc("vpc-2", 1002)]);
    let before = w.head();
    let commits_before = w.fake.git.history("main").len();
    w.source.resources = vec![vpc("vpc-1", 1111), vpc("vpc-3", 1003)];
    let report = w.run(&per_file()).unwrap();
    let (v1, v2, v3) = (managed("vpcs", "vpc-1"), managed("vpcs", "vpc-2"), managed("vpcs", "vpc-3"));
    assert_eq!(
        actions(&report),
        [(v1.clone(), Action::Update), (v2.clone(), Action::Delete), (v3.clone(), Action::Create)]
    );
    let calls = shape(&w, &before, &w.fake.calls());
    let writes = [
        get(&v1),
        format!("PUT /contents/{v1}"),
        get(&v2),
        format!("DELETE /contents/{v2}"),
        get(&v3),
        format!("PUT /contents/{v3}"),
        format!("PUT /contents/{}", state_path()),
    ];
    assert_eq!(calls, [READS.map(String::from).as_slice(), writes.as_slice()].concat());
    assert_eq!((report.requests, report.attempts), (3 + 2 * 3 + 1, 1));
    assert_eq!(w.fake.git.history("main").len(), commits_before + 4, "a commit per file, and the state");
    assert_eq!(
        messages(&w, 4),
        ["[hnp] Update VPC vpc-1", "[hnp] Delete VPC vpc-2", "[hnp] Create VPC vpc-3", "[hnp] Update fgd-sync state"]
    );
    assert_eq!(report.commit.as_deref(), Some(w.head().as_str()));
    assert_eq!(report.message.as_deref(), Some("[hnp] Update fgd-sync state"));
    assert_eq!(report.base_commit.as_deref(), Some(before.as_str()));
    // Every write named the blob SHA the plan was made against.
    let update = w.fake.log.iter().find(|r| r.method == "PUT" && r.url.ends_with(&v1)).unwrap();
    let body: serde_json::Value = serde_json::from_slice(update.body.as_deref().unwrap()).unwrap();
    assert_eq!(body["sha"].as_str(), report.changes[0].remote_sha.as_deref());
    assert_eq!(body["committer"]["name"], "HNP Sync");
    let recorded: Vec<&str> = w.source.recorded.iter().map(|r| r.0.name.as_str()).collect();
    assert_eq!(recorded, ["vpc-1", "vpc-3"]);
}

#[test]
fn per_file_and_batched_end_in_the_same_files() {
    let wanted = vec![vpc("vpc-1", 1111), vpc("vpc-3", 1003), attachment(7)];
    let mut results = Vec::new();
    for strategy in [Strategy::Batched, Strategy::PerFile] {
        let mut w = World::synced(vec![vpc("vpc-1", 1001), vpc("vpc-2", 1002)]);
        w.source.resources = wanted.clone();
        w.run(&SyncOptions { strategy, ..options() }).unwrap();
        results.push(w.fake.git.files("main"));
        // A second run of either strategy has nothing left to do.
        let again = w.run(&SyncOptions { strategy, ..options() }).unwrap();
        assert_eq!((again.commit, again.changes.len(), again.requests), (None, 0, 3));
    }
    assert_eq!(results[0], results[1], "the same files and the same sync state, byte for byte");
}

#[test]
fn each_file_commit_has_the_subject_a_one_change_batched_commit_has() {
    let mut subjects = Vec::new();
    for strategy in [Strategy::Batched, Strategy::PerFile] {
        let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
        w.source.resources = vec![vpc("vpc-1", 1111)];
        let before = w.fake.git.history("main").len();
        w.run(&SyncOptions { strategy, ..options() }).unwrap();
        let new = w.fake.git.history("main").len() - before;
        subjects.push(messages(&w, new)[0].clone());
    }
    assert_eq!(subjects[0], subjects[1]);
    assert_eq!(subjects[1], "[hnp] Update VPC vpc-1");
}

#[test]
fn request_count_is_three_reads_two_per_file_and_the_state() {
    for n in [1usize, 10, 100] {
        let mut w = World::synced(vec![]);
        let before = w.fake.git.history("main").len();
        w.source.resources = (0..n).map(attachment).collect();
        let report = w.run(&per_file()).unwrap();
        assert_eq!(report.changes.len(), n);
        assert_eq!(report.requests as usize, 3 + 2 * n + 1, "{n} changes");
        assert_eq!(w.fake.git.history("main").len(), before + n + 1, "{n} changes");
        assert_eq!(state(&w).files.len(), n);
    }
}

#[test]
fn first_sync_into_an_empty_repository_initializes_the_same_way() {
    let mut w = World::empty(vec![vpc("vpc-1", 1001)]);
    let report = w.run(&per_file()).unwrap();
    let calls = w.fake.calls();
    assert_eq!(calls[..2], ["GET /git/ref/heads/main".to_string(), format!("PUT /contents/{}", state_path())]);
    assert_eq!(calls.len(), 2 + 3 + 2 + 1, "{calls:#?}");
    assert_eq!(actions(&report), [(managed("vpcs", "vpc-1"), Action::Create)]);
    assert_eq!(state(&w).files.len(), 1);
}

#[test]
fn dry_run_reads_and_writes_nothing() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    let head = w.head();
    w.source.resources.push(vpc("vpc-2", 1002));
    let report = w.run(&SyncOptions { dry_run: true, ..per_file() }).unwrap();
    assert_eq!((report.requests, report.commit.as_deref()), (3, None));
    assert_eq!(actions(&report), [(managed("vpcs", "vpc-2"), Action::Create)]);
    assert_eq!(w.head(), head);
}

#[test]
fn a_file_changed_in_git_after_the_read_is_a_conflict_and_the_others_still_land() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001), vpc("vpc-2", 1002)]);
    let old_entry = state(&w).files["managed/vpcs/vpc-1.yaml"].clone();
    w.source.resources = vec![vpc("vpc-1", 1111), vpc("vpc-2", 1002), vpc("vpc-3", 1003)];
    let theirs = "# edited in Git\nkind: VPC\n";
    let v1 = managed("vpcs", "vpc-1");
    let target = get(&v1);
    w.fake.hook = Some(Box::new(move |git, request| {
        if request.method == "GET" && request.url.ends_with(&target[4..]) {
            git.commit_files("main", &[("fabrics/dc1/managed/vpcs/vpc-1.yaml", Some(theirs))], "hand edit");
        }
        Hook::Pass
    }));
    let report = w.run(&per_file()).unwrap();
    assert_eq!(actions(&report), [(managed("vpcs", "vpc-3"), Action::Create)]);
    assert_eq!(report.unchanged, 1, "vpc-2");
    assert_eq!(report.conflicts.len(), 1);
    let c = &report.conflicts[0];
    assert_eq!((c.path.as_str(), c.kind), (v1.as_str(), ConflictKind::ModifiedInGit));
    assert_eq!(c.actual_sha.as_deref(), Some(blob_sha(theirs.as_bytes()).as_str()));
    assert_eq!(c.expected_sha.as_deref(), Some(old_entry.sha.as_str()));
    assert_eq!(c.git_content.as_deref(), Some(theirs));
    assert!(c.hnp_content.as_deref().unwrap_or_default().contains("1111"));
    assert_eq!(w.file(&v1).as_deref(), Some(theirs), "their edit is kept");
    assert!(!w.fake.calls().contains(&format!("PUT /contents/{v1}")), "no write over their edit");
    assert_eq!(state(&w).files["managed/vpcs/vpc-1.yaml"], old_entry, "the conflicting path keeps its base");
    assert!(state(&w).files.contains_key("managed/vpcs/vpc-3.yaml"));
    assert_eq!(report.requests, 3 + 1 + 2 + 1);
}

#[test]
fn a_stale_sha_409_is_read_again_not_retried_blindly() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    w.source.resources = vec![vpc("vpc-1", 1111)];
    let v1 = managed("vpcs", "vpc-1");
    let theirs = "# edited between our GET and our PUT\n";
    let path = v1.clone();
    w.fake.hook = Some(Box::new(move |git, request| {
        if request.method == "PUT" && request.url.ends_with(&path) {
            git.commit_files("main", &[(path.as_str(), Some(theirs))], "hand edit");
        }
        Hook::Pass
    }));
    let report = w.run(&per_file()).unwrap();
    assert!(report.changes.is_empty());
    assert_eq!(report.conflicts.iter().map(|c| c.kind).collect::<Vec<_>>(), [ConflictKind::ModifiedInGit]);
    let calls = w.fake.calls();
    assert_eq!(calls[3..], [get(&v1), format!("PUT /contents/{v1}"), get(&v1)]);
    assert_eq!(report.commit, None, "nothing landed, so no state commit either");
    assert_eq!(w.file(&v1).as_deref(), Some(theirs));
}

#[test]
fn a_file_created_in_git_meanwhile_is_a_created_in_git_conflict() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    w.source.resources.push(vpc("vpc-2", 1002));
    let v2 = managed("vpcs", "vpc-2");
    let path = v2.clone();
    w.fake.hook = Some(Box::new(move |git, request| {
        if request.method == "PUT" && request.url.ends_with(&path) {
            git.commit_files("main", &[(path.as_str(), Some("kind: VPC # by hand\n"))], "by hand");
        }
        Hook::Pass
    }));
    let report = w.run(&per_file()).unwrap();
    // GitHub answered 422 "sha wasn't supplied"; the fresh GET shows why.
    assert_eq!(report.conflicts.iter().map(|c| c.kind).collect::<Vec<_>>(), [ConflictKind::CreatedInGit]);
    assert!(report.changes.is_empty());
}

#[test]
fn a_branch_race_409_rereads_and_writes_again() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    w.source.resources.push(vpc("vpc-2", 1002));
    let v2 = managed("vpcs", "vpc-2");
    let mut raced = false;
    w.fake.hook = Some(Box::new(move |_, request| {
        if request.method == "PUT" && !raced {
            raced = true;
            let message =
                "is at 1111111111111111111111111111111111111111 but expected 2222222222222222222222222222222222222222";
            return Hook::Answer(answer(409, serde_json::json!({"message": message})));
        }
        Hook::Pass
    }));
    let report = w.run(&per_file()).unwrap();
    assert_eq!(actions(&report), [(v2.clone(), Action::Create)]);
    assert_eq!(
        w.fake.calls()[3..],
        [
            get(&v2),
            format!("PUT /contents/{v2}"),
            get(&v2),
            format!("PUT /contents/{v2}"),
            format!("PUT /contents/{}", state_path())
        ]
    );
    assert_eq!(w.env.sleeps.len(), 1, "one backoff before writing again");
    assert!(w.file(&v2).is_some());
}

#[test]
fn endless_branch_races_give_up_with_too_many_races() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    w.source.resources.push(vpc("vpc-2", 1002));
    w.fake.hook = Some(Box::new(|_, request| {
        if request.method == "PUT" {
            let message =
                "is at 1111111111111111111111111111111111111111 but expected 2222222222222222222222222222222222222222";
            return Hook::Answer(answer(409, serde_json::json!({"message": message})));
        }
        Hook::Pass
    }));
    assert_eq!(w.run(&per_file()).unwrap_err(), SyncError::TooManyRaces(4));
    assert_eq!(w.fake.calls().iter().filter(|c| c.starts_with("PUT")).count(), 4);
}

#[test]
fn a_lost_answer_to_a_write_makes_no_second_commit() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    w.source.resources = vec![vpc("vpc-1", 1111)];
    let before = w.fake.git.history("main").len();
    let mut first = true;
    w.fake.hook = Some(Box::new(move |_, request| {
        if request.method == "PUT" && first {
            first = false;
            // Written, but the answer is lost: the client retries the same PUT.
            return Hook::After(answer(502, serde_json::json!({"message": "Bad Gateway"})));
        }
        Hook::Pass
    }));
    let report = w.run(&per_file()).unwrap();
    assert_eq!(actions(&report), [(managed("vpcs", "vpc-1"), Action::Update)]);
    assert_eq!(w.fake.git.history("main").len(), before + 2, "the file once, then the state");
    assert!(
        state(&w).files["managed/vpcs/vpc-1.yaml"].sha
            == blob_sha(w.file(&managed("vpcs", "vpc-1")).unwrap().as_bytes())
    );
}

#[test]
fn a_crash_before_the_state_write_is_adopted_by_the_next_sync() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    let old_state = w.file(&state_path());
    w.source.resources = vec![vpc("vpc-1", 1111), vpc("vpc-2", 1002)];
    let state_url = state_path();
    w.fake.hook = Some(Box::new(move |_, request| {
        if request.method == "PUT" && request.url.ends_with(&state_url) {
            return Hook::Fail("connection reset".into());
        }
        Hook::Pass
    }));
    assert!(matches!(w.run(&per_file()), Err(SyncError::Transport(_))));
    assert!(w.file(&managed("vpcs", "vpc-2")).is_some(), "the files landed");
    assert_eq!(w.file(&state_path()), old_state, "the state did not");

    w.fake.hook = None;
    w.fake.log.clear();
    let report = w.run(&per_file()).unwrap();
    assert_eq!(
        actions(&report),
        [(managed("vpcs", "vpc-1"), Action::Adopt), (managed("vpcs", "vpc-2"), Action::Adopt)],
        "Git holds HNP's data already: adopted, not rewritten"
    );
    assert_eq!(report.requests, 3 + 1, "the reads and the state write only");
    assert_eq!(state(&w).files.len(), 2);
}

#[test]
fn another_writer_of_the_state_is_merged_not_overwritten() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    w.source.resources.push(vpc("vpc-2", 1002));
    let theirs = {
        let mut s = state(&w);
        let mut entry = s.files["managed/vpcs/vpc-1.yaml"].clone();
        entry.resource.name = "vpc-9".into();
        s.files.insert("managed/vpcs/vpc-9.yaml".into(), entry);
        s.to_text()
    };
    let state_url = state_path();
    let mut first = true;
    w.fake.hook = Some(Box::new(move |git, request| {
        if request.method == "PUT" && request.url.ends_with(&state_url) && first {
            first = false;
            git.commit_files("main", &[(state_url.as_str(), Some(theirs.as_str()))], "another sync");
        }
        Hook::Pass
    }));
    let report = w.run(&per_file()).unwrap();
    assert_eq!(actions(&report), [(managed("vpcs", "vpc-2"), Action::Create)]);
    let files: Vec<String> = state(&w).files.into_keys().collect();
    assert_eq!(files, ["managed/vpcs/vpc-1.yaml", "managed/vpcs/vpc-2.yaml", "managed/vpcs/vpc-9.yaml"]);
    let calls = w.fake.calls();
    assert_eq!(
        calls[calls.len() - 3..],
        [format!("PUT /contents/{}", state_path()), get(&state_path()), format!("PUT /contents/{}", state_path())]
    );
}

#[test]
fn a_resources_selection_works_per_file_too() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001), vpc("vpc-2", 1002)]);
    w.source.resources = vec![vpc("vpc-1", 1001)];
    let gone = fgd_sync_guest::model::ResourceRef {
        kind: fgd_sync_guest::model::Kind::Vpc,
        namespace: "default".into(),
        name: "vpc-2".into(),
    };
    let report = w.select(&Selection::Resources(vec![gone]), &per_file()).unwrap();
    assert_eq!(actions(&report), [(managed("vpcs", "vpc-2"), Action::Delete)]);
    assert_eq!(w.file(&managed("vpcs", "vpc-2")), None);
    assert!(w.file(&format!("{DIR}/managed/vpcs/vpc-1.yaml")).is_some());
}
