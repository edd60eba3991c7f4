//! The engine's pull (issue 11): Git's edits into HNP under the same three-way rule as a
//! push, HNP's answers per CR, Git's blobs recorded as the new bases, `raw/` ingestion.

use fgd_sync_guest::model::{
    Action, ConflictKind, DeletionGuard, Direction, HnpOp, Mode, Resolution, Side, SyncError, SyncOptions,
};
use fgd_sync_guest::render::render_raw;
use fgd_sync_guest::state::SyncState;

use super::kit::{managed, options, state_path, vpc, DIR};
use super::World;

fn way(direction: Direction) -> SyncOptions {
    SyncOptions { direction, ..options() }
}

/// The VLAN of `name` as HNP holds it now.
fn hnp_vlan(w: &World, name: &str) -> Option<u64> {
    let cr = w.source.resources.iter().find(|r| r.name == name)?;
    let spec: serde_json::Value = serde_json::from_str(&cr.spec).ok()?;
    spec["subnets"]["default"]["vlan"].as_u64()
}

/// The blob SHA the sync state records for `path`.
fn base_of(w: &World, path: &str) -> Option<String> {
    let state = SyncState::parse(&w.file(&state_path())?).ok()?;
    let relative = path.strip_prefix(&format!("{DIR}/"))?;
    state.files.get(relative).filter(|e| !e.deleted).map(|e| e.sha.clone())
}

fn sha_of(w: &World, path: &str) -> String {
    fgd_sync_guest::blob::blob_sha(w.file(path).expect("file").as_bytes())
}

/// Commits `path` in Git with its text edited by `edit`.
fn edit_in_git(w: &mut World, path: &str, edit: impl Fn(&str) -> String) {
    let text = edit(&w.file(path).expect("file to edit"));
    w.fake.git.commit_files("main", &[(path, Some(&text))], "edit in Git");
}

#[test]
fn a_data_edit_in_git_goes_into_hnp_and_its_blob_becomes_the_base() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001), vpc("vpc-2", 1002)]);
    let path = managed("vpcs", "vpc-1");
    edit_in_git(&mut w, &path, |t| format!("# moved by the network team\n{}", t.replace("vlan: 1001", "vlan: 1999")));
    let git_text = w.file(&path);

    let report = w.run(&way(Direction::Pull)).unwrap();
    assert_eq!(hnp_vlan(&w, "vpc-1"), Some(1999), "HNP has Git's data");
    assert_eq!(report.hnp_changes.len(), 1);
    let pulled = &report.hnp_changes[0];
    assert_eq!(
        (pulled.change.op, pulled.change.path.as_str(), pulled.refused.as_deref()),
        (HnpOp::Update, path.as_str(), None)
    );
    assert_eq!(pulled.change.fields, ["spec"], "only the fields that changed");
    assert_eq!(
        pulled.change.expected.as_ref(),
        Some(&vpc("vpc-1", 1001)),
        "written only while HNP holds what was read"
    );
    // A state-only commit: Git's file (comment and all) stays, and is the new base.
    assert!(report.commit.is_some());
    assert_eq!(actions(&report), [(path.clone(), Action::Adopt)]);
    assert_eq!(w.file(&path), git_text);
    assert_eq!(base_of(&w, &path), Some(sha_of(&w, &path)));
    assert!(report.conflicts.is_empty());
    assert_eq!(w.source.record_calls, 0, "recorded with the write: one write per CR");
    let message = &w.fake.git.commits[&w.head()].message;
    assert!(message.starts_with("[hnp] Take VPC vpc-1 from Git into HNP (update)\n\nFgd-Sync-State: "), "{message}");

    // Nothing left to do either way.
    let head = w.head();
    let again = w.run(&way(Direction::Both)).unwrap();
    assert_eq!((again.commit, again.hnp_changes.len(), again.conflicts.len()), (None, 0, 0));
    assert_eq!(w.head(), head);
}

#[test]
fn both_sides_changed_is_a_conflict_and_neither_side_is_written() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    let path = managed("vpcs", "vpc-1");
    edit_in_git(&mut w, &path, |t| t.replace("vlan: 1001", "vlan: 1999"));
    w.source.resources = vec![vpc("vpc-1", 1500)];
    let head = w.head();
    let report = w.run(&way(Direction::Both)).unwrap();
    assert_eq!(report.conflicts.len(), 1);
    assert_eq!(report.conflicts[0].kind, ConflictKind::ModifiedInGit);
    assert!(report.conflicts[0].git_content.as_deref().unwrap().contains("1999"));
    assert!(report.conflicts[0].hnp_content.as_deref().unwrap().contains("1500"));
    assert!(w.source.applied.is_empty(), "nothing asked of HNP");
    assert_eq!(hnp_vlan(&w, "vpc-1"), Some(1500));
    assert_eq!(w.head(), head, "nothing committed");
}

#[test]
fn a_push_alone_leaves_gits_edit_a_conflict() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    edit_in_git(&mut w, &managed("vpcs", "vpc-1"), |t| t.replace("vlan: 1001", "vlan: 1999"));
    let report = w.run(&way(Direction::Push)).unwrap();
    assert_eq!(report.conflicts.len(), 1);
    assert!(w.source.applied.is_empty());
}

#[test]
fn a_deletion_in_git_deletes_the_cr_in_hnp_under_the_guard() {
    let names: Vec<String> = (1..=4).map(|i| format!("vpc-{i}")).collect();
    let mut w = World::synced(names.iter().enumerate().map(|(i, n)| vpc(n, 1001 + i as u32)).collect());
    let gone = managed("vpcs", "vpc-1");
    w.fake.git.commit_files("main", &[(&gone, None)], "remove vpc-1");
    let report = w.run(&way(Direction::Pull)).unwrap();
    assert_eq!(report.hnp_changes.len(), 1);
    assert_eq!(report.hnp_changes[0].change.op, HnpOp::Delete);
    assert!(w.source.resources.iter().all(|r| r.name != "vpc-1"), "deleted in HNP");
    assert_eq!(base_of(&w, &gone), None, "the state forgets it");
    assert_eq!(actions(&report), [(gone, Action::Forget)]);

    // Git deletes every remaining file: the guard refuses, and nothing is asked of HNP.
    let paths: Vec<String> = names[1..].iter().map(|n| managed("vpcs", n)).collect();
    let changes: Vec<(&str, Option<&str>)> = paths.iter().map(|p| (p.as_str(), None)).collect();
    w.fake.git.commit_files("main", &changes, "remove everything");
    let applied = w.source.applied.len();
    let refused = SyncError::TooManyDeletions(DeletionGuard { deletions: 3, managed: 3, limit: 2 });
    assert_eq!(w.run(&way(Direction::Pull)).unwrap_err(), refused);
    assert_eq!(w.source.applied.len(), applied);
    assert_eq!(w.source.resources.len(), 3);
}

#[test]
fn a_managed_file_the_sync_never_wrote_creates_its_cr_in_hnp() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    let path = managed("vpcs", "vpc-9");
    let text = render_raw(&vpc("vpc-9", 1009)).unwrap();
    w.fake.git.commit_files("main", &[(&path, Some(&text))], "add vpc-9");
    let report = w.run(&way(Direction::Pull)).unwrap();
    assert_eq!(report.hnp_changes.len(), 1);
    assert_eq!(report.hnp_changes[0].change.op, HnpOp::Create);
    assert_eq!(hnp_vlan(&w, "vpc-9"), Some(1009));
    assert_eq!(base_of(&w, &path), Some(sha_of(&w, &path)));

    // Without a pull the same file stays untracked: never touched, never a CR.
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    w.fake.git.commit_files("main", &[(&path, Some(&text))], "add vpc-9");
    let report = w.run(&way(Direction::Push)).unwrap();
    assert!(report.hnp_changes.is_empty() && report.conflicts.is_empty() && report.commit.is_none());
}

#[test]
fn a_git_file_that_is_no_valid_cr_for_its_path_is_a_conflict_that_says_why() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    let path = managed("vpcs", "vpc-1");
    // Valid YAML, but the name is not the one its path gives.
    edit_in_git(&mut w, &path, |t| t.replace("name: vpc-1", "name: vpc-7"));
    let named = managed("vpcs", "vpc-8");
    w.fake.git.commit_files("main", &[(&named, Some("kind: VPC\nmetadata:\n  name: vpc-8\nspec: [\n"))], "broken");
    let report = w.run(&way(Direction::Pull)).unwrap();
    assert!(w.source.applied.is_empty());
    let reasons: Vec<(&str, ConflictKind, &str)> =
        report.conflicts.iter().map(|c| (c.path.as_str(), c.kind, c.reason.as_str())).collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert_eq!((reasons[0].0, reasons[0].1), (path.as_str(), ConflictKind::ModifiedInGit));
    assert!(reasons[0].2.contains("VPC default/vpc-7") || reasons[0].2.contains("vpc-7"), "{}", reasons[0].2);
    assert_eq!((reasons[1].0, reasons[1].1), (named.as_str(), ConflictKind::CreatedInGit));
    assert!(reasons[1].2.contains("cannot go into HNP"), "{}", reasons[1].2);
}

#[test]
fn a_change_hnp_refuses_is_reported_and_no_base_is_claimed() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001), vpc("vpc-2", 1002)]);
    let (one, two) = (managed("vpcs", "vpc-1"), managed("vpcs", "vpc-2"));
    let old_base = base_of(&w, &one);
    edit_in_git(&mut w, &one, |t| t.replace("vlan: 1001", "vlan: 1999"));
    edit_in_git(&mut w, &two, |t| t.replace("vlan: 1002", "vlan: 1998"));
    w.source.refuse = vec![("vpc-1".into(), "400 {\"spec\": [\"VLAN 1999 is reserved\"]}".into())];
    let report = w.run(&way(Direction::Both)).unwrap();
    let refused: Vec<_> = report.hnp_changes.iter().filter_map(|o| o.refused.as_deref()).collect();
    assert_eq!(refused, ["400 {\"spec\": [\"VLAN 1999 is reserved\"]}"]);
    assert_eq!(hnp_vlan(&w, "vpc-1"), Some(1001), "refused: HNP as it was");
    assert_eq!(hnp_vlan(&w, "vpc-2"), Some(1998), "the other CR went in");
    assert_eq!(base_of(&w, &one), old_base, "no base claimed for the refused CR");
    assert_eq!(base_of(&w, &two), Some(sha_of(&w, &two)));
    assert!(w.file(&one).unwrap().contains("vlan: 1999"), "Git's edit stays");

    // Next time HNP accepts: it goes in.
    w.source.refuse.clear();
    let report = w.run(&way(Direction::Both)).unwrap();
    assert_eq!(report.hnp_changes.len(), 1);
    assert_eq!(hnp_vlan(&w, "vpc-1"), Some(1999));
}

#[test]
fn an_edit_in_hnp_between_the_read_and_the_write_is_not_overwritten() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    let path = managed("vpcs", "vpc-1");
    edit_in_git(&mut w, &path, |t| t.replace("vlan: 1001", "vlan: 1999"));
    let old_base = base_of(&w, &path);
    // Someone edits the CR in NetBox after the listing the plan was made on.
    let mut edited = vpc("vpc-1", 1001);
    edited.labels = r#"{"edited":"meanwhile"}"#.into();
    w.source.edit_before_apply = Some(edited.clone());
    let report = w.run(&way(Direction::Both)).unwrap();
    assert_eq!(report.hnp_changes.len(), 1);
    assert!(report.hnp_changes[0].refused.as_deref().unwrap().contains("meanwhile"));
    assert_eq!(w.source.resources, [edited], "the NetBox edit stays");
    assert_eq!(base_of(&w, &path), old_base, "no base claimed");
    assert!(w.file(&path).unwrap().contains("vlan: 1999"), "Git's edit stays");
    // Both changed now: the next sync reports a conflict.
    let report = w.run(&way(Direction::Both)).unwrap();
    assert_eq!(report.conflicts.len(), 1);
}

#[test]
fn a_pull_alone_leaves_hnps_own_edits_for_a_push() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001), vpc("vpc-2", 1002)]);
    let (one, two) = (managed("vpcs", "vpc-1"), managed("vpcs", "vpc-2"));
    edit_in_git(&mut w, &one, |t| t.replace("vlan: 1001", "vlan: 1999"));
    w.source.resources[1] = vpc("vpc-2", 1500);
    let report = w.run(&way(Direction::Pull)).unwrap();
    assert_eq!(hnp_vlan(&w, "vpc-1"), Some(1999));
    assert!(w.file(&two).unwrap().contains("vlan: 1002"), "HNP's edit waits for a push");
    assert!(!actions(&report).iter().any(|(p, _)| *p == two));
    let report = w.run(&way(Direction::Push)).unwrap();
    assert_eq!(actions(&report), [(two.clone(), Action::Update)]);
    assert!(w.file(&two).unwrap().contains("vlan: 1500"));
}

#[test]
fn a_dry_run_shows_the_pull_and_writes_nothing() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    edit_in_git(&mut w, &managed("vpcs", "vpc-1"), |t| t.replace("vlan: 1001", "vlan: 1999"));
    let head = w.head();
    let report = w.call(Mode::Plan, &fgd_sync_guest::model::Selection::Fabric, &way(Direction::Both)).unwrap();
    assert_eq!(report.hnp_changes.len(), 1);
    assert_eq!(report.hnp_changes[0].change.op, HnpOp::Update);
    assert!(w.source.applied.is_empty(), "HNP untouched");
    assert_eq!(hnp_vlan(&w, "vpc-1"), Some(1001));
    assert_eq!((report.commit, w.head()), (None, head));
}

#[test]
fn resolving_for_git_writes_gits_data_into_hnp_too() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    let path = managed("vpcs", "vpc-1");
    edit_in_git(&mut w, &path, |t| t.replace("vlan: 1001", "vlan: 1999"));
    w.source.resources = vec![vpc("vpc-1", 1500)];
    assert_eq!(w.run(&way(Direction::Both)).unwrap().conflicts.len(), 1);
    let resolution = Resolution { path: path.clone(), take: Side::Git, expect: None };
    let options = SyncOptions { resolutions: vec![resolution], ..way(Direction::Both) };
    let report = w.run(&options).unwrap();
    assert!(report.conflicts.is_empty(), "{:?}", report.conflicts);
    assert_eq!(hnp_vlan(&w, "vpc-1"), Some(1999), "both sides agree");
    assert_eq!(base_of(&w, &path), Some(sha_of(&w, &path)));
    assert!(w.run(&way(Direction::Both)).unwrap().commit.is_none());
}

#[test]
fn a_raw_file_is_ingested_whole_in_one_commit() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    let raw = format!("{DIR}/raw/new-vpcs.yaml");
    let text = format!("{}---\n{}", render_raw(&vpc("vpc-1", 1777)).unwrap(), render_raw(&vpc("vpc-5", 1005)).unwrap());
    w.fake.git.commit_files("main", &[(&raw, Some(&text))], "drop two VPCs");
    let commits = w.fake.git.history("main").len();
    let report = w.run(&way(Direction::Pull)).unwrap();
    assert!(report.raw_errors.is_empty() && report.conflicts.is_empty(), "{report:?}");
    let ops: Vec<(HnpOp, &str)> =
        report.hnp_changes.iter().map(|o| (o.change.op, o.change.resource.name.as_str())).collect();
    assert_eq!(ops, [(HnpOp::Update, "vpc-1"), (HnpOp::Create, "vpc-5")]);
    assert_eq!((hnp_vlan(&w, "vpc-1"), hnp_vlan(&w, "vpc-5")), (Some(1777), Some(1005)));
    assert_eq!(w.fake.git.history("main").len(), commits + 1, "one commit");
    assert_eq!(w.file(&raw), None, "the raw file is removed");
    for (name, vlan) in [("vpc-1", "1777"), ("vpc-5", "1005")] {
        let file = w.file(&managed("vpcs", name)).expect("canonical file");
        assert!(file.contains(&format!("vlan: {vlan}")), "{file}");
        assert_eq!(base_of(&w, &managed("vpcs", name)), Some(sha_of(&w, &managed("vpcs", name))));
    }
    assert!(w.run(&way(Direction::Both)).unwrap().commit.is_none(), "settled");
}

#[test]
fn a_bad_raw_file_is_reported_with_document_and_field_and_never_half_ingested() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    let raw = format!("{DIR}/raw/bad.yaml");
    let mut bad = vpc("Bad_Name", 1006);
    bad.api_version = Some("vpc.githedgehog.com/v1beta1".into());
    let text = format!(
        "{}---\nkind: VPC\napiVersion: vpc.githedgehog.com/v1beta1\nmetadata:\n  name: Bad_Name\nspec: {{}}\n",
        render_raw(&vpc("vpc-5", 1005)).unwrap()
    );
    w.fake.git.commit_files("main", &[(&raw, Some(&text))], "drop a bad file");
    let broken = format!("{DIR}/raw/broken.yaml");
    w.fake.git.commit_files("main", &[(&broken, Some("kind: VPC\nspec: [\n"))], "drop a broken file");
    let head = w.head();
    let report = w.run(&way(Direction::Pull)).unwrap();
    assert!(w.source.applied.is_empty(), "not half ingested: vpc-5 waits too");
    let errors: Vec<(&str, u32, &str)> =
        report.raw_errors.iter().map(|e| (e.path.as_str(), e.document, e.field.as_str())).collect();
    assert_eq!(errors, [(raw.as_str(), 1, "metadata.name"), (broken.as_str(), 0, "")]);
    assert_eq!(w.head(), head, "nothing written");
    assert!(w.file(&raw).is_some() && w.file(&broken).is_some());
}

#[test]
fn a_raw_cr_that_hnp_changed_since_is_a_conflict() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    w.source.resources = vec![vpc("vpc-1", 1500)];
    let raw = format!("{DIR}/raw/vpc-1.yaml");
    let text = render_raw(&vpc("vpc-1", 1777)).unwrap();
    w.fake.git.commit_files("main", &[(&raw, Some(&text))], "drop vpc-1");
    let report = w.run(&way(Direction::Both)).unwrap();
    assert!(w.source.applied.is_empty());
    assert_eq!(report.conflicts.iter().map(|c| c.path.as_str()).collect::<Vec<_>>(), [raw.as_str()]);
    // HNP's own change is pushed meanwhile; the raw file stays.
    assert!(w.file(&managed("vpcs", "vpc-1")).unwrap().contains("vlan: 1500"));
    assert!(w.file(&raw).is_some());
}

fn actions(report: &fgd_sync_guest::model::SyncReport) -> Vec<(String, Action)> {
    report.changes.iter().map(|c| (c.path.clone(), c.action)).collect()
}

#[test]
fn a_cr_the_listing_missed_is_confirmed_before_gits_deletion_is_forgotten() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001), vpc("vpc-2", 1002), vpc("vpc-3", 1003)]);
    let gone = managed("vpcs", "vpc-2");
    w.fake.git.commit_files("main", &[(&gone, None)], "remove vpc-2");
    // Offset paging skipped vpc-2: the listing lacks it, a lookup finds it.
    w.source.unlisted = vec!["vpc-2".into()];
    let report = w.run(&way(Direction::Pull)).unwrap();
    assert_eq!(w.source.gets, ["vpc-2"], "confirmed with one lookup");
    assert_eq!(report.hnp_changes.len(), 1);
    assert_eq!(report.hnp_changes[0].change.op, HnpOp::Delete);
    assert!(w.source.resources.iter().all(|r| r.name != "vpc-2"), "Git's deletion reached HNP");
    // A push alone does not look it up (nothing is deleted either way).
    let mut w = World::synced(vec![vpc("vpc-1", 1001), vpc("vpc-2", 1002)]);
    w.fake.git.commit_files("main", &[(&gone, None)], "remove vpc-2");
    w.source.unlisted = vec!["vpc-2".into()];
    w.run(&way(Direction::Push)).unwrap();
    assert!(w.source.gets.is_empty());
}

#[test]
fn a_kubectl_list_dropped_into_raw_is_ingested_and_its_bad_items_named() {
    let mut w = World::synced(vec![vpc("vpc-1", 1001)]);
    let item = |cr: fgd_sync_guest::model::RawResource| {
        let spec: serde_json::Value = serde_json::from_str(&cr.spec).unwrap();
        serde_json::json!({"apiVersion": "vpc.githedgehog.com/v1beta1", "kind": "VPC",
                           "metadata": {"name": cr.name}, "spec": spec})
    };
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [item(vpc("vpc-6", 1006)), item(vpc("vpc-7", 1007))]});
    let raw = format!("{DIR}/raw/exported.json");
    w.fake.git.commit_files("main", &[(&raw, Some(&list.to_string()))], "kubectl get vpcs -o json");
    let report = w.run(&way(Direction::Pull)).unwrap();
    assert!(report.raw_errors.is_empty() && report.conflicts.is_empty(), "{report:?}");
    assert_eq!((hnp_vlan(&w, "vpc-6"), hnp_vlan(&w, "vpc-7")), (Some(1006), Some(1007)));
    assert_eq!(w.file(&raw), None);

    let mut bad = list.clone();
    bad["items"][1]["metadata"]["name"] = serde_json::json!("Bad_Name");
    bad["items"][0]["metadata"]["name"] = serde_json::json!("vpc-8");
    w.fake.git.commit_files("main", &[(&raw, Some(&bad.to_string()))], "a bad export");
    let report = w.run(&way(Direction::Pull)).unwrap();
    let errors: Vec<(u32, &str)> = report.raw_errors.iter().map(|e| (e.document, e.field.as_str())).collect();
    assert_eq!(errors, [(0, "items[1].metadata.name")]);
    assert!(w.source.resources.iter().all(|r| r.name != "vpc-8"), "nothing of the file went in");
}

/// Git deletes a file, the pull deletes its CR from HNP, and before the commit lands someone
/// restores the file in Git: the retry reports the restored file as a conflict (its base is
/// no ground for a deletion, nor for keeping quiet about HNP lacking the CR).
#[test]
fn a_file_restored_in_git_while_its_cr_was_pulled_away_is_a_conflict_not_a_deletion() {
    use super::fake::Hook;
    let mut w = World::synced(vec![vpc("vpc-1", 1001), vpc("vpc-2", 1002), vpc("vpc-3", 1003)]);
    let gone = managed("vpcs", "vpc-2");
    let text = w.file(&gone).expect("vpc-2's file");
    w.fake.git.commit_files("main", &[(&gone, None)], "remove vpc-2");
    let (path, restore) = (gone.clone(), text.clone());
    let mut raced = false;
    w.fake.hook = Some(Box::new(move |git, request| {
        if request.method == "PATCH" && !raced {
            raced = true;
            git.commit_files("main", &[(&path, Some(&restore))], "restore vpc-2");
        }
        Hook::Pass
    }));
    let report = w.run(&way(Direction::Pull)).unwrap();
    assert_eq!(report.attempts, 2);
    assert!(w.source.resources.iter().all(|r| r.name != "vpc-2"), "the first attempt's pull stands");
    assert_eq!(w.file(&gone).as_deref(), Some(text.as_str()), "the restored file stays");
    let conflicts: Vec<(&str, ConflictKind)> = report.conflicts.iter().map(|c| (c.path.as_str(), c.kind)).collect();
    assert_eq!(conflicts, [(gone.as_str(), ConflictKind::UntrustedBase)]);
}
