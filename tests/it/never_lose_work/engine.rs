//! Deletions that need proof, fresh reads on every attempt, knowing what landed, protected branches and the fast-forward window.
//! The real binary against the GitHub stand-in over HTTP (and the HNP stand-in where HNP's
//! paging matters), with faults placed exactly where each guarantee used to break.

use std::sync::Arc;

use fgd_sync::report::{ConflictKind, ErrorDetail};
use fgd_sync_tests::cli::{self, run, Run};
use fgd_sync_tests::github::conformance::check_all;
use fgd_sync_tests::github::{Action, Faults, GitRepo, Match, Rule, When};
use fgd_sync_tests::hnp::{Cr, DuringListing, Hnp};
use pretty_assertions::assert_eq;

use crate::github_e2e::{managed, report, state_path, vpc, World};

fn expect(run: &Run, code: i32) {
    assert_eq!(run.code, code, "exit code\nstdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
}

/// Every answer the stand-in gave fits GitHub's description (compare and commits included).
fn assert_conformant(w: &World) {
    let problems = check_all(&w.gh.exchanges());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn patches(w: &World) -> usize {
    w.gh.exchanges().iter().filter(|e| e.method == "PATCH").count()
}

/// Regression (issue 10): a VPC on the first page replaced in NetBox (deleted and created
/// again) while the sync pages through the listing shifts offset paging: the first VPC of the
/// next page is never listed, yet `count` and the rows received agree. The sync used to
/// delete that VPC's file although it still exists; now `get-resource` confirms first.
#[test]
fn a_vpc_that_offset_paging_skipped_is_not_deleted() {
    const TOKEN: &str = "nb-token";
    let hnp = Hnp::start(TOKEN).unwrap();
    hnp.set_max_page_size(50);
    let dc1 = hnp.add_fabric("dc1");
    let spec = |i: u32| serde_json::json!({"subnets": {"default": {"subnet": format!("10.0.{}.0/24", i % 250), "vlan": 1000 + i}}});
    let ids: Vec<u64> = (1..=60).map(|i| hnp.add(Cr::new("VPC", dc1, &format!("v{i:05}"), spec(i)))).collect();
    let w = World::new();
    let sync = || {
        let mut cmd = cli::command();
        cmd.env("GITHUB_TOKEN", w.gh.token())
            .env("NETBOX_TOKEN", TOKEN)
            .args(["sync", "--fabric", "dc1", "--json", "--directory", "fabrics/dc1/gitops", "--branch", "main"])
            .args(["--github-api", &w.gh.api_base(), "--repo", "acme/fabric", "--netbox-url", &hnp.base_url()]);
        run(&mut cmd)
    };
    expect(&sync(), 0);
    assert_eq!(w.gh.repo().files("main").keys().filter(|p| p.contains("/managed/vpcs/")).count(), 60);
    // v00001 is replaced while the sync reads the first page: v00051 slides onto page one
    // unseen, and v00001 comes again at the end.
    hnp.change_during_listing(DuringListing::Recreate { kind: "VPC".into(), id: ids[0], after_pages: 1 });
    let head = w.gh.repo().head("main");
    let out = sync();
    expect(&out, 0);
    let r = report(&out);
    assert!(r.changes.is_empty(), "nothing to delete: {r:#?}");
    assert_eq!(w.gh.repo().head("main"), head);
    assert!(w.file(&managed("vpcs", "v00051")).is_some(), "a live VPC's file is kept");
    assert_conformant(&w);
}

#[test]
fn hnp_answering_with_no_crs_deletes_nothing_unless_allowed() {
    let w = World::new();
    let src = w.source("crs", &[vpc("vpc-1", 1001), vpc("vpc-2", 1002), vpc("vpc-3", 1003)]);
    expect(&w.sync(&src, &[]), 0);
    let head = w.gh.repo().head("main");
    let empty = w.source("crs", &[]);
    let refused = w.sync(&empty, &[]);
    expect(&refused, 1);
    match refused.error().detail {
        Some(ErrorDetail::TooManyDeletions { deletions, managed, limit }) => {
            assert_eq!((deletions, managed, limit), (3, 3, 2))
        }
        other => panic!("{other:?}\n{}", refused.stdout),
    }
    assert_eq!(w.gh.repo().head("main"), head, "nothing written");
    let allowed = w.sync(&empty, &["--allow-deletions", "3"]);
    expect(&allowed, 0);
    assert_eq!(w.gh.repo().files("main").keys().filter(|p| p.contains("/managed/")).count(), 0);
}

/// A lost race used to re-plan the HNP snapshot read before the first attempt: a newer HNP
/// change made meanwhile was overwritten with the older one. (HNP over HTTP: a manifest
/// directory is read once by the host.)
#[test]
fn after_a_lost_race_the_newer_hnp_state_is_what_lands() {
    const TOKEN: &str = "nb-token";
    let hnp = Arc::new(Hnp::start(TOKEN).unwrap());
    let dc1 = hnp.add_fabric("dc1");
    let spec = |vlan: u32| serde_json::json!({"subnets": {"default": {"subnet": "10.0.1.0/24", "vlan": vlan}}});
    let id = hnp.add(Cr::new("VPC", dc1, "vpc-1", spec(1001)));
    let w = World::new();
    let sync = || {
        let mut cmd = cli::command();
        cmd.env("GITHUB_TOKEN", w.gh.token())
            .env("NETBOX_TOKEN", TOKEN)
            .args(["sync", "--fabric", "dc1", "--json", "--directory", "fabrics/dc1/gitops", "--branch", "main"])
            .args(["--github-api", &w.gh.api_base(), "--repo", "acme/fabric", "--netbox-url", &hnp.base_url()]);
        run(&mut cmd)
    };
    expect(&sync(), 0);
    hnp.update(id, Cr::new("VPC", dc1, "vpc-1", spec(1111)));
    // While the first attempt writes, HNP changes again and another writer commits.
    let writer = fgd_sync_tests::github::faults::outside_commit();
    let newer = hnp.clone();
    let change: fgd_sync_tests::github::faults::WriterFn = Arc::new(move |repo: &GitRepo, path: &str| {
        newer.update(id, Cr::new("VPC", dc1, "vpc-1", spec(2222)));
        writer(repo, path);
    });
    w.gh.faults().set(Faults::default().rule(Rule::new(
        Match::method("PATCH").and_path("/git/refs/heads/"),
        When::Nth(1),
        Action::Before(change),
    )));
    let out = sync();
    expect(&out, 0);
    assert_eq!(report(&out).attempts, 2);
    assert!(w.file(&managed("vpcs", "vpc-1")).unwrap().contains("vlan: 2222"), "the newer HNP state");
    w.assert_sound();
}

/// The ref update landed, its answer was lost, the retry met another writer's commit on
/// top ("not a fast forward"): the compare API says our commit is in the branch.
#[test]
fn a_landed_commit_whose_answer_was_lost_is_reported_as_landed() {
    let w = World::new();
    let src = w.source("crs", &[vpc("vpc-1", 1001)]);
    expect(&w.sync(&src, &[]), 0);
    let src = w.source("crs", &[vpc("vpc-1", 1001), vpc("vpc-2", 1002)]);
    let refs = || Match::method("PATCH").and_path("/git/refs/heads/");
    w.gh.faults()
        .set(Faults::default().rule(Rule::new(refs(), When::Nth(1), Action::LoseAnswer)).rule(Rule::another_writer(2)));
    let out = w.sync(&src, &[]);
    expect(&out, 0);
    let r = report(&out);
    let log = w.gh.repo().log("main");
    let ours = log.iter().find(|c| c.subject.contains("vpc-2")).expect("our commit");
    assert_eq!((r.attempts, r.commit.as_deref()), (1, Some(ours.sha.as_str())), "{r:#?}");
    assert_eq!(log.iter().filter(|c| c.subject.contains("vpc-2")).count(), 1, "written once");
    assert!(w.gh.exchanges().iter().any(|e| e.path.contains("/compare/") && e.status == Some(200)));
    assert_conformant(&w);
    w.assert_sound();
}

#[test]
fn a_protected_branch_ends_the_sync_after_one_attempt() {
    let w = World::new();
    let src = w.source("crs", &[vpc("vpc-1", 1001)]);
    expect(&w.sync(&src, &[]), 0);
    w.gh.faults().set(Faults::default().rule(Rule::protected_branch()));
    w.gh.clear_exchanges();
    let src = w.source("crs", &[vpc("vpc-1", 1001), vpc("vpc-2", 1002)]);
    let out = w.sync(&src, &[]);
    expect(&out, 1);
    match out.error().detail {
        Some(ErrorDetail::BranchProtected { status, message, .. }) => {
            assert_eq!(status, 422);
            assert!(message.contains("Repository rule violations found"), "{message}");
        }
        other => panic!("{other:?}\n{}", out.stdout),
    }
    assert_eq!(patches(&w), 1, "one attempt, no re-plans");
    assert_conformant(&w);
}

/// `force: false` is a fast-forward check, not a compare-and-swap: a force-push back to an
/// ancestor while the sync waits out a rate limit used to let its commit (built on the
/// removed one) bring the removed commit back.
#[test]
fn a_force_push_during_a_rate_limit_wait_does_not_bring_commits_back() {
    let w = World::new();
    let src = w.source("crs", &[vpc("vpc-1", 1001)]);
    expect(&w.sync(&src, &[]), 0);
    let bad =
        w.gh.repo().commit_files("main", &[("fabrics/dc1/gitops/raw/secret.yaml", Some("leaked\n"))], "oops").unwrap();
    w.gh.faults().set(Faults::default().rule(Rule::force_push_back_during_a_wait("main", 1, 5)));
    let src = w.source("crs", &[vpc("vpc-1", 1001), vpc("vpc-2", 1002)]);
    let out = w.sync(&src, &[]);
    expect(&out, 0);
    assert_eq!(report(&out).attempts, 2, "the moved head costs an attempt");
    assert_eq!(w.file("fabrics/dc1/gitops/raw/secret.yaml"), None, "the removed commit stays removed");
    assert!(!w.gh.repo().is_ancestor(&bad, &w.gh.repo().head("main").unwrap()));
    assert!(w.file(&managed("vpcs", "vpc-2")).is_some());
    w.gh.repo().fsck().unwrap();
}

/// `resolve --take hnp` without `--expect` pins to what it reads first: a colleague's newer
/// edit made between two attempts is a conflict again, never overwritten.
#[test]
fn a_resolution_without_expect_does_not_overwrite_a_newer_edit() {
    let w = World::new();
    let src = w.source("crs", &[vpc("vpc-1", 1001)]);
    expect(&w.sync(&src, &[]), 0);
    let path = managed("vpcs", "vpc-1");
    let mine = vpc("vpc-1", 1999).replace("spec:", "# edited in Git\nspec:");
    w.gh.repo().commit_files("main", &[(&path, Some(&mine))], "edit 1").unwrap();
    let src = w.source("crs", &[vpc("vpc-1", 1555)]);
    expect(&w.sync(&src, &[]), 2);
    let newer = vpc("vpc-1", 1777).replace("spec:", "# edited again\nspec:");
    let (p, n) = (path.clone(), newer.clone());
    let colleague: fgd_sync_tests::github::faults::WriterFn = Arc::new(move |repo: &GitRepo, _: &str| {
        repo.commit_files("main", &[(&p, Some(&n))], "edit 2").unwrap();
    });
    w.gh.faults().set(Faults::default().rule(Rule::new(
        Match::method("PATCH").and_path("/git/refs/heads/"),
        When::Nth(1),
        Action::Before(colleague),
    )));
    let cmd = w.command(&src, &[]);
    let args: Vec<String> = cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
    let mut resolve = cli::command();
    resolve.envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))));
    resolve.arg("resolve").arg(&path).args(["--take", "hnp"]).args(&args[1..]);
    let out = run(&mut resolve);
    expect(&out, 2);
    let r = report(&out);
    assert_eq!(r.conflicts.len(), 1, "{r:#?}");
    assert_eq!(r.conflicts[0].path, path);
    assert_eq!(w.file(&path).as_deref(), Some(newer.as_str()), "the newer edit is kept");
}

/// A human reverts a sync commit (the file and the state go back): the next HNP edit used to
/// silently undo the rollback. Now the reverted entries are not trusted as bases.
#[test]
fn a_reverted_sync_is_not_undone_and_the_check_costs_at_most_two_requests() {
    let w = World::new();
    let path = managed("vpcs", "vpc-1");
    let src = w.source("crs", &[vpc("vpc-1", 1001), vpc("vpc-2", 1002)]);
    expect(&w.sync(&src, &[]), 0);
    let before = (w.file(&path).unwrap(), w.file(&state_path()).unwrap());
    let src = w.source("crs", &[vpc("vpc-1", 1111), vpc("vpc-2", 1002)]);
    let update = w.sync(&src, &[]);
    expect(&update, 0);
    // A sync that writes: six requests and one `GET commits` (the state's last commit has
    // fgd-sync's trailer).
    assert_eq!(report(&update).requests, 7);
    let message = w.gh.repo().git(&["log", "-1", "--format=%B", "main"]).unwrap();
    let state_blob = w.gh.repo().git(&["rev-parse", &format!("main:{}", state_path())]).unwrap();
    assert!(message.trim_end().ends_with(&format!("Fgd-Sync-State: {}", state_blob.trim())), "{message}");
    // A no-op sync: three reads, nothing more.
    assert_eq!(report(&w.sync(&src, &[])).requests, 3);

    w.gh.repo()
        .commit_files(
            "main",
            &[(&path, Some(&before.0)), (&state_path(), Some(&before.1))],
            "Revert \"[hnp] Update VPC vpc-1\"\n\nThis reverts commit 0123.",
        )
        .unwrap();
    let reverted = w.gh.repo().head("main");
    let src = w.source("crs", &[vpc("vpc-1", 2222), vpc("vpc-2", 1002)]);
    let out = w.sync(&src, &[]);
    expect(&out, 2);
    let r = report(&out);
    assert_eq!(r.conflicts.len(), 1, "{r:#?}");
    assert_eq!((r.conflicts[0].path.as_str(), r.conflicts[0].kind), (path.as_str(), ConflictKind::UntrustedBase));
    assert_eq!(w.gh.repo().head("main"), reverted, "the rollback stands");
    // Three reads, `GET commits`, the parent's state, and Git's text for the conflict.
    assert_eq!(r.requests, 3 + 2 + 1);
    assert_conformant(&w);
}

/// A managed file that is not UTF-8 is an `unreadable` conflict on that path, not an error
/// for the whole sync (it used to be compared as a lossy copy).
#[test]
fn a_file_that_is_not_utf8_is_an_unreadable_conflict() {
    let w = World::new();
    let src = w.source("crs", &[vpc("vpc-1", 1001), vpc("vpc-2", 1002)]);
    expect(&w.sync(&src, &[]), 0);
    let path = managed("vpcs", "vpc-1");
    let repo = w.gh.repo();
    let blob = repo.git_with(&["hash-object", "-w", "--stdin"], &[], Some(b"kind: VPC\n# \xff\xfe\n")).unwrap();
    let index = w.tmp.path().join("index");
    let env = [("GIT_INDEX_FILE", index.to_str().unwrap())];
    repo.git_with(&["read-tree", "main"], &env, None).unwrap();
    repo.git_with(&["update-index", "--cacheinfo", &format!("100644,{},{path}", blob.trim())], &env, None).unwrap();
    let tree = repo.git_with(&["write-tree"], &env, None).unwrap();
    let who = [
        ("GIT_AUTHOR_NAME", "Someone"),
        ("GIT_AUTHOR_EMAIL", "someone@example.com"),
        ("GIT_COMMITTER_NAME", "Someone"),
        ("GIT_COMMITTER_EMAIL", "someone@example.com"),
    ];
    let commit = repo.git_with(&["commit-tree", tree.trim(), "-p", "main", "-m", "binary junk"], &who, None).unwrap();
    repo.git(&["update-ref", "refs/heads/main", commit.trim()]).unwrap();
    let src = w.source("crs", &[vpc("vpc-1", 1111), vpc("vpc-2", 2222)]);
    let out = w.sync(&src, &[]);
    expect(&out, 2);
    let r = report(&out);
    assert_eq!(r.conflicts.len(), 1, "{r:#?}");
    assert_eq!((r.conflicts[0].path.as_str(), r.conflicts[0].kind), (path.as_str(), ConflictKind::Unreadable));
    assert!(w.file(&managed("vpcs", "vpc-2")).unwrap().contains("vlan: 2222"), "the rest syncs");
}
