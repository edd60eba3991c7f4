//! The engine's part of "it never loses work" (issue 10): deletions confirmed with
//! `get-resource`, the mass-deletion guard, HNP read afresh on every attempt, the ref read
//! again after a slow stretch, landed commits recognised, rule violations not retried,
//! resolutions pinned, the state's author checked, unreadable blobs named.

use fgd_sync_guest::engine::{self, deletion_limit};
use fgd_sync_guest::model::{Action, ConflictKind, DeletionGuard, Resolution, Side, SyncError, SyncOptions};

use super::fake::{answer, Hook};
use super::kit::{managed, options, state_path, vpc, with_headers};
use super::{actions, World};

#[test]
fn a_deletion_the_listing_suggests_is_confirmed_with_get() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001), vpc("vpc-2", 1002), vpc("vpc-3", 1003)]);
    // vpc-2 is missed by the listing (offset paging shifted); vpc-3 is really gone.
    w.source.unlisted = vec!["vpc-2".into()];
    w.source.resources.retain(|c| c.name != "vpc-3");
    let report = w.run(&options()).unwrap();
    assert_eq!(actions(&report), [(managed("vpcs", "vpc-3"), Action::Delete)]);
    assert!(w.file(&managed("vpcs", "vpc-2")).is_some(), "a live CR's file is kept");
    assert_eq!(w.file(&managed("vpcs", "vpc-3")), None);
    assert_eq!(w.source.gets, ["vpc-2", "vpc-3"], "one get per deletion the listing suggested");
    assert!(report.conflicts.is_empty());

    // A failed confirmation fails the sync, and nothing is written.
    let mut w = World::synced(vec![vpc("vpc-1", 1001), vpc("vpc-2", 1002), vpc("vpc-3", 1003)]);
    let head = w.head();
    w.source.unlisted = vec!["vpc-2".into()];
    w.source.fail_get = Some("NetBox is down".into());
    let err = w.run(&options()).unwrap_err();
    assert!(matches!(&err, SyncError::Source(m) if m.contains("NetBox is down") && m.contains("vpc-2")), "{err:?}");
    assert_eq!(w.head(), head);
}

#[test]
fn the_default_deletion_limit_never_allows_all_and_at_most_ten_percent_past_ten() {
    // (managed files, largest deletion allowed)
    for (managed, limit) in [(1, 0), (2, 1), (5, 4), (11, 10), (50, 10), (105, 10), (109, 10), (110, 11), (200, 20)] {
        assert_eq!(deletion_limit(managed), limit, "{managed} managed files");
    }
}

#[test]
fn hnp_answering_with_no_crs_deletes_nothing() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001), vpc("vpc-2", 1002), vpc("vpc-3", 1003)]);
    let head = w.head();
    w.source.resources.clear();
    let refused = SyncError::TooManyDeletions(DeletionGuard { deletions: 3, managed: 3, limit: 2 });
    assert_eq!(w.plan(&options()).unwrap_err(), refused, "a plan says so too");
    assert_eq!(w.run(&options()).unwrap_err(), refused);
    assert_eq!(w.head(), head, "nothing written");
    assert!(w.source.gets.is_empty(), "refused before any confirmation: lookups stay bounded");
    // The operator lifts the guard.
    let allowed = SyncOptions { max_deletions: Some(3), ..options() };
    let report = w.run(&allowed).unwrap();
    assert_eq!(report.changes.iter().filter(|c| c.action == Action::Delete).count(), 3);
    assert_eq!(w.source.gets.len(), 3);
}

/// A selection's deletions are each confirmed by a `get-resource` that found nothing (a
/// webhook's delete): the guard, which is about a listing missing CRs, does not apply.
#[test]
fn the_guard_is_for_whole_fabric_listings_only() {
    use fgd_sync_guest::model::{Kind, ResourceRef, Selection};
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    w.source.resources.clear();
    let only =
        Selection::Resources(vec![ResourceRef { kind: Kind::Vpc, namespace: "default".into(), name: "vpc-1".into() }]);
    let report = w.select(&only, &options()).unwrap();
    assert_eq!(actions(&report), [(managed("vpcs", "vpc-1"), Action::Delete)]);
}

#[test]
fn every_attempt_reads_hnp_after_the_head() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    // HNP changes between the attempts: the newer snapshot is what lands.
    w.source.listings = [vec![vpc("vpc-1", 1111)], vec![vpc("vpc-1", 2222)]].into();
    w.source.lookups = 0;
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
    assert!(w.file(&managed("vpcs", "vpc-1")).unwrap().contains("vlan: 2222"));
    assert_eq!(w.source.lookups, 2, "one listing per attempt");
}

/// `force: false` is only a fast-forward check: a force-push back to an ancestor while we
/// wait out a rate limit would let our commit bring the removed commits back.
#[test]
fn a_force_push_during_a_wait_is_seen_before_the_ref_update() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    let good = w.head();
    let bad = w.fake.git.commit_files("main", &[("fabrics/dc1/raw/secret.yaml", Some("leaked\n"))], "oops");
    w.source.resources.push(vpc("vpc-2", 1002));
    let mut limited = false;
    w.fake.hook = Some(Box::new(move |git, request| {
        if request.method == "POST" && request.url.ends_with("/git/commits") && !limited {
            limited = true;
            // Someone removes the bad commit while we are told to wait.
            git.refs.insert("main".into(), good.clone());
            let body = r#"{"message":"You have exceeded a secondary rate limit."}"#;
            return Hook::Answer(with_headers(403, &[("retry-after", "30")], body));
        }
        Hook::Pass
    }));
    let report = w.run(&options()).unwrap();
    assert_eq!(report.attempts, 2, "the moved head is a lost attempt");
    assert_eq!(w.file("fabrics/dc1/raw/secret.yaml"), None, "the removed commit does not come back");
    assert!(!w.fake.git.history("main").contains(&bad));
    assert!(w.file(&managed("vpcs", "vpc-2")).is_some());
}

#[test]
fn a_commit_that_landed_although_the_answer_said_otherwise_is_reported_once() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    w.source.resources.push(vpc("vpc-2", 1002));
    let before = w.fake.git.history("main").len();
    w.fake.hook = Some(Box::new(move |git, request| {
        if request.method == "PATCH" {
            // The update happens, the answer is lost, and the retry finds another writer on top.
            return Hook::After(answer(502, serde_json::json!({"message": "Bad Gateway"})));
        }
        if request.url.contains("/compare/") {
            git.commit_files("main", &[("other/x.txt", Some("x"))], "other writer");
        }
        Hook::Pass
    }));
    let report = w.run(&options()).unwrap();
    let history = w.fake.git.history("main");
    assert_eq!(history.len(), before + 2, "ours and theirs, ours once");
    assert_eq!(report.commit.as_deref(), Some(history[1].as_str()));
    assert_eq!(report.attempts, 1);
    assert_eq!(w.source.recorded.len(), 1, "record-synced is called for the landed commit");
}

#[test]
fn a_rule_violation_ends_the_sync_after_one_attempt() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    w.source.resources.push(vpc("vpc-2", 1002));
    w.fake.hook = Some(Box::new(|_, request| {
        if request.method == "PATCH" {
            let message = "Repository rule violations found\n\nChanges must be made through a pull request.\n\n";
            return Hook::Answer(answer(
                422,
                serde_json::json!({"message": message, "documentation_url": "https://docs.github.com/rules", "status": "422"}),
            ));
        }
        Hook::Pass
    }));
    let err = w.run(&options()).unwrap_err();
    assert!(matches!(&err, SyncError::BranchProtected(e) if e.status == 422), "{err:?}");
    assert_eq!(w.fake.calls().iter().filter(|c| c.starts_with("PATCH")).count(), 1);
    assert!(w.env.sleeps.is_empty());
}

#[test]
fn a_resolution_is_pinned_to_what_the_first_attempt_read() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    let path = managed("vpcs", "vpc-1");
    w.fake.git.commit_files("main", &[(path.as_str(), Some("# mine\nkind: VPC\n"))], "edit 1");
    w.source.resources = vec![vpc("vpc-1", 1111)];
    // The user resolves without --expect; a colleague edits again before the ref update.
    let mut raced = false;
    let other = path.clone();
    w.fake.hook = Some(Box::new(move |git, request| {
        if request.method == "PATCH" && !raced {
            raced = true;
            git.commit_files("main", &[(other.as_str(), Some("# theirs, newer\nkind: VPC\n"))], "edit 2");
        }
        Hook::Pass
    }));
    let resolve = SyncOptions {
        resolutions: vec![Resolution { path: path.clone(), take: Side::Hnp, expect: None }],
        ..options()
    };
    let report = w.run(&resolve).unwrap();
    assert_eq!(report.attempts, 2);
    assert_eq!(report.conflicts.len(), 1, "{report:?}");
    assert_eq!(report.conflicts[0].kind, ConflictKind::ModifiedInGit);
    assert_eq!(w.file(&path).as_deref(), Some("# theirs, newer\nkind: VPC\n"), "the newer edit is kept");
}

#[test]
fn a_reverted_state_is_not_trusted_and_costs_two_requests() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    let first = w.fake.git.files("main");
    w.source.resources = vec![vpc("vpc-1", 1111)];
    w.run(&options()).unwrap();
    // A human reverts the sync commit (both the file and the state go back).
    let path = managed("vpcs", "vpc-1");
    let state = state_path();
    w.fake.git.commit_files(
        "main",
        &[(path.as_str(), Some(first[&path].as_str())), (state.as_str(), Some(first[&state].as_str()))],
        "Revert \"[hnp] Update VPC vpc-1\"\n\nThis reverts commit 123.",
    );
    let head = w.head();
    w.fake.log.clear();
    w.source.resources = vec![vpc("vpc-1", 2222)];
    let report = w.run(&options()).unwrap();
    assert_eq!(w.head(), head, "the rollback is not undone");
    assert_eq!(report.conflicts.len(), 1, "{report:?}");
    assert_eq!(
        (report.conflicts[0].path.as_str(), report.conflicts[0].kind),
        (path.as_str(), ConflictKind::UntrustedBase)
    );
    let calls = w.fake.calls();
    // The check costs two requests; the last read is Git's text for the conflict report.
    assert_eq!(report.requests, 3 + 2 + 1, "{calls:?}");
    assert!(calls[3].starts_with("GET /commits?sha="), "{calls:?}");
    assert!(calls[4].starts_with("GET /contents/fabrics/dc1/.hnp/sync-state.json?ref="), "{calls:?}");

    // A no-op sync asks nothing more.
    w.fake.log.clear();
    w.source.resources = vec![vpc("vpc-1", 1001)];
    let report = w.run(&options()).unwrap();
    assert_eq!(report.requests, 3, "{:?}", w.fake.calls());
}

#[test]
fn a_blob_that_is_gone_or_not_utf8_is_unreadable_not_an_error() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    let path = managed("vpcs", "vpc-1");
    let sha = w.fake.git.put_blob(b"kind: VPC\n# \xff\xfe\n");
    let mut files = w.fake.git.flatten(&w.fake.git.commits[&w.head()].tree.clone());
    files.insert(path.clone(), ("100644".into(), sha));
    let tree = w.fake.git.build(&files);
    let parent = w.head();
    let commit = w.fake.git.put_commit(super::git::Commit {
        tree,
        parents: vec![parent],
        message: "binary junk".into(),
        author: ("a".into(), "a@example.com".into()),
        time: 0,
    });
    w.fake.git.refs.insert("main".into(), commit);
    w.source.resources = vec![vpc("vpc-1", 1111)];
    let report = w.run(&options()).unwrap();
    assert_eq!(report.conflicts.len(), 1, "{report:?}");
    assert_eq!(report.conflicts[0].kind, ConflictKind::Unreadable);
    assert!(w.file(&path).unwrap().contains('\u{fffd}'), "left as it was");
}

#[test]
fn trailer_is_a_last_line() {
    assert_eq!(engine::with_trailer("[hnp] Sync\n", Some("abc")), "[hnp] Sync\n\nFgd-Sync-State: abc\n");
}

/// A version-1 state predates trailers: its last commit carries none, and it is trusted
/// (such a revert cannot be told from an old sync). One `GET commits`, no more.
#[test]
fn a_version_1_state_without_a_trailer_is_trusted() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    let state = state_path();
    let mut v1: serde_json::Value = serde_json::from_str(&w.file(&state).unwrap()).unwrap();
    v1["version"] = serde_json::json!(1);
    if let Some(o) = v1.as_object_mut() {
        o.remove("fabric");
        o.remove("directory");
    }
    let text = serde_json::to_string_pretty(&v1).unwrap() + "\n";
    w.fake.git.commit_files("main", &[(state.as_str(), Some(text.as_str()))], "[hnp] an old fgd-sync");
    w.fake.log.clear();
    w.source.resources = vec![vpc("vpc-1", 1111)];
    let report = w.run(&options()).unwrap();
    assert!(report.conflicts.is_empty(), "{report:?}");
    assert_eq!(actions(&report), [(managed("vpcs", "vpc-1"), Action::Update)]);
    assert_eq!(report.requests, 7, "{:?}", w.fake.calls());
}

/// A blob GitHub no longer has (history rewritten: 404) is `unreadable` on its path, not an
/// error for the whole sync.
#[test]
fn a_blob_gone_from_history_is_unreadable_not_an_error() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001), vpc("vpc-2", 1002)]);
    let path = managed("vpcs", "vpc-1");
    w.fake.git.commit_files("main", &[(path.as_str(), Some("# edited\nkind: VPC\n"))], "hand edit");
    let gone = fgd_sync_guest::blob::blob_sha(b"# edited\nkind: VPC\n");
    w.fake.hook = Some(Box::new(move |_, request| {
        if request.url.ends_with(&format!("/git/blobs/{gone}")) {
            return Hook::Answer(answer(404, serde_json::json!({"message": "Not Found", "documentation_url": "d"})));
        }
        Hook::Pass
    }));
    w.source.resources = vec![vpc("vpc-1", 1111), vpc("vpc-2", 2222)];
    let report = w.run(&options()).unwrap();
    assert_eq!(report.conflicts.len(), 1, "{report:?}");
    assert_eq!(
        (report.conflicts[0].path.as_str(), report.conflicts[0].kind),
        (path.as_str(), ConflictKind::Unreadable)
    );
    assert!(w.file(&managed("vpcs", "vpc-2")).unwrap().contains("vlan: 2222"), "the rest syncs");
}

#[test]
fn an_empty_commit_listing_for_the_state_is_an_error_not_trust() {
    // The state file exists at the head, so some commit made it: a listing of none is a
    // partial answer (a proxy, a cache). Taken as "trusted", it would let a revert be undone.
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    let head = w.head();
    w.source.resources = vec![vpc("vpc-1", 1111)];
    w.fake.hook = Some(Box::new(|_, request| {
        if request.method == "GET" && request.url.contains("/commits?") {
            Hook::Answer(answer(200, serde_json::json!([])))
        } else {
            Hook::Pass
        }
    }));
    let err = w.run(&options()).unwrap_err();
    assert!(matches!(&err, SyncError::Remote(e) if e.message.contains("listed no commit")), "{err:?}");
    assert_eq!(w.head(), head, "nothing was written");
}
