//! `plan` against the sample CRs: creates, updates, deletes, adopts, every conflict kind,
//! resolutions, messages, input errors, idempotence, and properties over random fabrics.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use fgd_sync_guest::blob::blob_sha;
use fgd_sync_guest::model::{
    Action, ConflictKind, GitVersion, InvalidResource, Kind, RawResource, Resolution, ResourceRef, Side, SyncError,
};
use fgd_sync_guest::plan::{plan, CommitPlan, PlanInput};
use fgd_sync_guest::state::SyncState;
use fgd_sync_guest::{path, render, validate};
use pretty_assertions::assert_eq;
use proptest::prelude::*;

use crate::support::sample_resources;

const DIR: &str = "fabrics/dc1/gitops";
const STATE: &str = "fabrics/dc1/gitops/.hnp/sync-state.json";

fn samples() -> &'static [RawResource] {
    static SAMPLES: OnceLock<Vec<RawResource>> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        let files = ["vpc-pre-demo.yaml", "vpc-demo.yaml", "docs-sample-wiring.yaml"];
        // The samples hold kinds HNP does not (`Gateway`).
        files.iter().flat_map(|f| sample_resources(f)).filter(|r| Kind::parse(&r.kind).is_some()).collect()
    })
}

fn cr(kind: &str, name: &str) -> RawResource {
    let found = samples().iter().find(|r| r.kind == kind && r.name == name);
    found.unwrap_or_else(|| panic!("no sample {kind} {name}")).clone()
}

fn vpc1() -> RawResource {
    cr("VPC", "demo-vpc-1")
}
fn vpc2() -> RawResource {
    cr("VPC", "demo-vpc-2")
}
fn leaf1() -> RawResource {
    cr("Switch", "leaf-01")
}

/// The CR with label `edited: <value>`: other data, same file.
fn edited(raw: &RawResource, value: &str) -> RawResource {
    let mut labels: serde_json::Map<String, serde_json::Value> =
        if raw.labels.trim().is_empty() { Default::default() } else { serde_json::from_str(&raw.labels).unwrap() };
    labels.insert("edited".into(), value.into());
    RawResource { labels: serde_json::Value::Object(labels).to_string(), ..raw.clone() }
}

fn renamed(raw: &RawResource, name: &str) -> RawResource {
    RawResource { name: name.into(), ..raw.clone() }
}

fn reference(raw: &RawResource) -> ResourceRef {
    validate::resource(raw).unwrap().reference()
}

fn file(raw: &RawResource) -> String {
    path::manifest_path(DIR, &reference(raw))
}

fn rendered(raw: &RawResource) -> String {
    render::render(&validate::resource(raw).unwrap()).unwrap()
}

/// The same data as `rendered`, formatted by hand (formatting only: no comment).
fn reformatted(raw: &RawResource) -> String {
    format!("---\n{}\n", rendered(raw))
}

/// The same data as `rendered`, with a comment: more than data.
fn commented(raw: &RawResource) -> String {
    format!("# kept by hand\n{}", rendered(raw))
}

/// A branch: files by path, and every text it ever held by blob SHA (Git keeps old blobs).
#[derive(Clone, Debug, Default)]
struct Repo {
    files: BTreeMap<String, String>,
    blobs: BTreeMap<String, String>,
}

impl Repo {
    fn put(&mut self, path: &str, text: &str) {
        self.blobs.insert(blob_sha(text.as_bytes()), text.to_string());
        self.files.insert(path.to_string(), text.to_string());
    }

    fn input(&self, desired: Vec<RawResource>) -> PlanInput {
        PlanInput {
            directory: DIR.into(),
            remote_files: self.files.iter().map(|(p, t)| (p.clone(), blob_sha(t.as_bytes()))).collect(),
            state: self.files.get(STATE).cloned(),
            desired,
            complete: true,
            ..PlanInput::default()
        }
    }

    /// Plans, handing over the contents the plan asks for (at most two rounds: remote, base).
    fn plan(&self, mut input: PlanInput) -> CommitPlan {
        for _ in 0..3 {
            let plan = plan(&input, "[hnp] ").expect("plan");
            if plan.need_contents.is_empty() {
                return plan;
            }
            for sha in &plan.need_contents {
                assert!(!input.contents.contains_key(sha), "asked twice for {sha}");
                input.contents.insert(sha.clone(), self.blobs[sha].clone());
            }
        }
        panic!("plan keeps asking for contents");
    }

    fn apply(&mut self, plan: &CommitPlan) {
        for w in &plan.writes {
            match &w.content {
                Some(text) => self.put(&w.path, text),
                None => {
                    self.files.remove(&w.path);
                }
            }
        }
    }

    /// `input` with the branch as it is now.
    fn reread(&self, input: PlanInput) -> PlanInput {
        let now = self.input(vec![]);
        PlanInput { remote_files: now.remote_files, state: now.state, ..input }
    }

    /// Plans and applies, then checks that planning again changes nothing.
    fn sync(&mut self, input: PlanInput) -> CommitPlan {
        let plan = self.plan(input.clone());
        self.apply(&plan);
        let again = self.plan(self.reread(input));
        assert_eq!(again.writes, vec![], "not idempotent: {:#?}", again.changes);
        assert_eq!(again.changes, vec![]);
        plan
    }

    fn state(&self) -> SyncState {
        SyncState::parse(&self.files[STATE]).unwrap()
    }
}

fn actions(plan: &CommitPlan) -> Vec<(String, Action)> {
    plan.changes.iter().map(|c| (c.path.clone(), c.action)).collect()
}

fn written_paths(plan: &CommitPlan) -> Vec<&str> {
    plan.writes.iter().map(|w| w.path.as_str()).collect()
}

/// A repo where the sync wrote `crs`.
fn synced(crs: &[RawResource]) -> Repo {
    let mut repo = Repo::default();
    repo.sync(repo.input(crs.to_vec()));
    repo
}

#[test]
fn creates_from_empty() {
    let mut repo = Repo::default();
    let plan = repo.sync(repo.input(vec![vpc1(), leaf1()]));
    assert_eq!(actions(&plan), vec![(file(&leaf1()), Action::Create), (file(&vpc1()), Action::Create)]);
    assert_eq!(file(&vpc1()), "fabrics/dc1/gitops/managed/vpcs/demo-vpc-1.yaml");
    assert_eq!(written_paths(&plan), vec![STATE, &file(&leaf1()), &file(&vpc1())]);
    assert_eq!(plan.writes[2].content.as_deref(), Some(rendered(&vpc1()).as_str()));
    let change = &plan.changes[1];
    assert_eq!((change.base_sha.as_deref(), change.remote_sha.as_deref()), (None, None));
    assert_eq!(change.new_sha, Some(blob_sha(rendered(&vpc1()).as_bytes())));
    let state = repo.state();
    let entry = &state.files["managed/vpcs/demo-vpc-1.yaml"];
    assert_eq!((entry.sha.as_str(), entry.rendered.as_deref()), (change.new_sha.as_deref().unwrap(), None));
    assert_eq!(entry.resource, reference(&vpc1()));
    assert_eq!((plan.unchanged, plan.conflicts.len()), (0, 0));
}

#[test]
fn nothing_to_do_is_no_commit() {
    let repo = Repo::default();
    let plan = repo.plan(repo.input(vec![]));
    assert_eq!(plan, CommitPlan::default());
    let repo = synced(&[vpc1()]);
    let plan = repo.plan(repo.input(vec![vpc1()]));
    assert_eq!((plan.writes.len(), plan.changes.len(), plan.unchanged, plan.message.as_str()), (0, 0, 1, ""));
}

#[test]
fn updates() {
    let mut repo = synced(&[vpc1(), leaf1()]);
    let before = repo.files[&file(&vpc1())].clone();
    let plan = repo.sync(repo.input(vec![edited(&vpc1(), "1"), leaf1()]));
    assert_eq!(actions(&plan), vec![(file(&vpc1()), Action::Update)]);
    assert_eq!(plan.unchanged, 1);
    assert_eq!(plan.message, "[hnp] Update VPC demo-vpc-1");
    assert_eq!(plan.changes[0].base_sha, Some(blob_sha(before.as_bytes())));
    assert_eq!(plan.changes[0].remote_sha, plan.changes[0].base_sha);
    assert_eq!(repo.files[&file(&vpc1())], rendered(&edited(&vpc1(), "1")));
}

#[test]
fn deletes_what_the_sync_wrote_when_the_fabric_is_complete() {
    let mut repo = synced(&[vpc1(), leaf1()]);
    let plan = repo.plan(PlanInput { complete: false, ..repo.input(vec![vpc1()]) });
    assert_eq!(plan.writes, vec![], "a selection deletes only what it names");
    let plan = repo.sync(repo.input(vec![vpc1()]));
    assert_eq!(actions(&plan), vec![(file(&leaf1()), Action::Delete)]);
    assert_eq!(plan.message, "[hnp] Delete Switch leaf-01");
    assert!(!repo.files.contains_key(&file(&leaf1())));
    assert!(!repo.state().files.contains_key("managed/switches/leaf-01.yaml"));
}

#[test]
fn deletes_named_refs() {
    let mut repo = synced(&[vpc1(), leaf1()]);
    let input = PlanInput { complete: false, deleted: vec![reference(&leaf1())], ..repo.input(vec![]) };
    let plan = repo.sync(input);
    assert_eq!(actions(&plan), vec![(file(&leaf1()), Action::Delete)]);
    assert!(repo.files.contains_key(&file(&vpc1())));
}

#[test]
fn never_deletes_a_file_it_did_not_write() {
    let mut repo = Repo::default();
    repo.put(&file(&vpc1()), "hand: written\n");
    repo.put("fabrics/dc1/gitops/managed/vpcs/other.yaml", "other: file\n");
    let deleted = vec![reference(&vpc1())];
    let plan = repo.plan(PlanInput { deleted, ..repo.input(vec![]) });
    assert_eq!(plan, CommitPlan::default());
}

#[test]
fn forgets_what_both_sides_deleted() {
    let mut repo = synced(&[vpc1(), leaf1()]);
    repo.files.remove(&file(&leaf1()));
    let plan = repo.sync(repo.input(vec![vpc1()]));
    assert_eq!(actions(&plan), vec![(file(&leaf1()), Action::Forget)]);
    assert_eq!(written_paths(&plan), vec![STATE]);
    assert_eq!(plan.message, "[hnp] Forget Switch leaf-01");
}

#[test]
fn adopts_an_identical_file() {
    let mut repo = Repo::default();
    repo.put(&file(&vpc1()), &rendered(&vpc1()));
    let plan = repo.sync(repo.input(vec![vpc1()]));
    assert_eq!(actions(&plan), vec![(file(&vpc1()), Action::Adopt)]);
    assert_eq!(written_paths(&plan), vec![STATE], "only the state records it");
    assert_eq!(plan.message, "[hnp] Adopt VPC demo-vpc-1");
    assert_eq!(repo.state().files["managed/vpcs/demo-vpc-1.yaml"].rendered, None);
}

#[test]
fn adopts_a_file_formatted_otherwise_and_keeps_it() {
    let mut repo = Repo::default();
    repo.put(&file(&vpc1()), &reformatted(&vpc1()));
    let first = plan(&repo.input(vec![vpc1()]), "").unwrap();
    assert_eq!(first.need_contents, vec![blob_sha(reformatted(&vpc1()).as_bytes())]);
    assert_eq!((first.writes.len(), first.changes.len()), (0, 0), "nothing else is meaningful");
    let plan = repo.sync(repo.input(vec![vpc1()]));
    assert_eq!(actions(&plan), vec![(file(&vpc1()), Action::Adopt)]);
    let entry = repo.state().files["managed/vpcs/demo-vpc-1.yaml"].clone();
    assert_eq!(entry.sha, blob_sha(reformatted(&vpc1()).as_bytes()));
    assert_eq!(entry.rendered, Some(blob_sha(rendered(&vpc1()).as_bytes())));
    assert_eq!(repo.files[&file(&vpc1())], reformatted(&vpc1()));

    // A formatting-only edit in Git, HNP unchanged: recorded, not rewritten.
    let again = format!("\n{}", reformatted(&vpc1()));
    repo.put(&file(&vpc1()), &again);
    let plan = repo.sync(repo.input(vec![vpc1()]));
    assert_eq!(actions(&plan), vec![(file(&vpc1()), Action::Adopt)]);
    assert_eq!(repo.files[&file(&vpc1())], again);

    // An HNP change is written over Git's formatting.
    let plan = repo.sync(repo.input(vec![edited(&vpc1(), "2")]));
    assert_eq!(actions(&plan), vec![(file(&vpc1()), Action::Update)]);
    assert_eq!(repo.state().files["managed/vpcs/demo-vpc-1.yaml"].rendered, None);
}

#[test]
fn updates_over_a_formatting_only_edit() {
    let mut repo = synced(&[vpc1()]);
    repo.put(&file(&vpc1()), &reformatted(&vpc1()));
    let plan = repo.sync(repo.input(vec![edited(&vpc1(), "1")]));
    assert_eq!(actions(&plan), vec![(file(&vpc1()), Action::Update)]);
}

#[test]
fn records_a_file_git_brought_up_to_date() {
    let mut repo = synced(&[vpc1()]);
    let base = repo.files[&file(&vpc1())].clone();
    repo.put(&file(&vpc1()), &rendered(&edited(&vpc1(), "1")));
    let plan = repo.sync(repo.input(vec![edited(&vpc1(), "1")]));
    assert_eq!(actions(&plan), vec![(file(&vpc1()), Action::Adopt)]);
    assert_eq!(written_paths(&plan), vec![STATE]);
    assert_eq!(plan.changes[0].base_sha, Some(blob_sha(base.as_bytes())));
    assert_eq!(plan.message, "[hnp] Adopt VPC demo-vpc-1");
}

#[test]
fn asks_for_contents_only_as_needed() {
    let mut repo = synced(&[vpc1(), leaf1()]);
    let base = blob_sha(repo.files[&file(&vpc1())].as_bytes());
    let git = rendered(&edited(&vpc1(), "git"));
    repo.put(&file(&vpc1()), &git);
    let mut input = repo.input(vec![vpc1(), leaf1()]);
    // The remote first: it alone would decide if it held HNP's data.
    let first = plan(&input, "").unwrap();
    assert_eq!(first, CommitPlan { need_contents: vec![blob_sha(git.as_bytes())], ..CommitPlan::default() });
    input.contents.insert(blob_sha(git.as_bytes()), git.clone());
    // HNP unchanged: the base is HNP's rendering, whose data Git changed. No base read.
    let second = plan(&input, "").unwrap();
    assert_eq!((second.need_contents.len(), second.conflicts.len(), second.unchanged), (0, 1, 1));

    // HNP changed too: whether Git changed only formatting needs the base.
    let mut input = repo.input(vec![edited(&vpc1(), "hnp"), leaf1()]);
    input.contents.insert(blob_sha(git.as_bytes()), git.clone());
    let asks = plan(&input, "").unwrap();
    assert_eq!(asks.need_contents, vec![base.clone()]);
    input.contents.insert(base.clone(), repo.blobs[&base].clone());
    let decided = plan(&input, "").unwrap();
    assert_eq!((decided.need_contents.len(), decided.conflicts.len(), decided.unchanged), (0, 1, 1));
}

/// Both versions of a conflict, and nothing written to its path.
fn assert_conflict(plan: &CommitPlan, raw: &RawResource, kind: ConflictKind, git: Option<&str>, hnp: Option<&str>) {
    let found = plan.conflicts.iter().find(|c| c.path == file(raw));
    let conflict = found.unwrap_or_else(|| panic!("no conflict at {}: {plan:#?}", file(raw)));
    assert_eq!(conflict.kind, kind);
    assert_eq!(conflict.resource, reference(raw));
    assert_eq!(conflict.git_content.as_deref(), git);
    assert_eq!(conflict.hnp_content.as_deref(), hnp);
    assert_eq!(conflict.actual_sha, git.map(|g| blob_sha(g.as_bytes())));
    assert!(plan.writes.iter().all(|w| w.path != conflict.path), "wrote a conflicting path");
}

#[test]
fn reports_every_kind_of_conflict_with_both_versions() {
    let (a, b, c, d) = (vpc1(), vpc2(), leaf1(), cr("Switch", "leaf-02"));
    let mut repo = synced(&[a.clone(), b.clone(), c.clone()]);
    let git_a = rendered(&edited(&a, "git"));
    let git_c = rendered(&edited(&c, "git"));
    let git_d = rendered(&edited(&d, "git"));
    repo.put(&file(&a), &git_a); // HNP changes it too
    repo.files.remove(&file(&b)); // HNP still has it
    repo.put(&file(&c), &git_c); // HNP deleted the CR
    repo.put(&file(&d), &git_d); // HNP creates it
    let state_before = repo.files[STATE].clone();
    let desired = vec![edited(&a, "hnp"), b.clone(), d.clone()];
    let plan = repo.plan(repo.input(desired));
    assert_eq!(plan.changes, vec![]);
    assert_eq!(plan.writes, vec![], "conflicting paths keep their state");
    assert_eq!(plan.conflicts.len(), 4);
    let hnp_a = rendered(&edited(&a, "hnp"));
    assert_conflict(&plan, &a, ConflictKind::ModifiedInGit, Some(&git_a), Some(&hnp_a));
    assert_conflict(&plan, &b, ConflictKind::DeletedInGit, None, Some(&rendered(&b)));
    assert_conflict(&plan, &c, ConflictKind::ModifiedInGit, Some(&git_c), None);
    assert_conflict(&plan, &d, ConflictKind::CreatedInGit, Some(&git_d), Some(&rendered(&d)));
    let paths: Vec<_> = plan.conflicts.iter().map(|c| c.path.clone()).collect();
    assert!(paths.windows(2).all(|w| w[0] < w[1]), "sorted by path");
    assert_eq!(repo.files[STATE], state_before);
}

#[test]
fn git_data_change_with_hnp_unchanged_is_a_conflict_until_hnp_catches_up() {
    let mut repo = synced(&[vpc1()]);
    let git = rendered(&edited(&vpc1(), "git"));
    repo.put(&file(&vpc1()), &format!("# by hand\n{git}"));
    let plan = repo.plan(repo.input(vec![vpc1()]));
    assert_conflict(
        &plan,
        &vpc1(),
        ConflictKind::ModifiedInGit,
        Some(&format!("# by hand\n{git}")),
        Some(&rendered(&vpc1())),
    );
    // HNP ingests Git's change: same data, Git's formatting is kept.
    let plan = repo.sync(repo.input(vec![edited(&vpc1(), "git")]));
    assert_eq!(actions(&plan), vec![(file(&vpc1()), Action::Adopt)]);
    assert!(repo.files[&file(&vpc1())].starts_with("# by hand\n"));
}

fn resolved(repo: &Repo, desired: Vec<RawResource>, raw: &RawResource, take: Side) -> PlanInput {
    PlanInput { resolutions: vec![Resolution { path: file(raw), take, expect: None }], ..repo.input(desired) }
}

#[test]
fn resolutions_settle_each_kind() {
    let (a, b, c, d) = (vpc1(), vpc2(), leaf1(), cr("Switch", "leaf-02"));
    let base = synced(&[a.clone(), b.clone(), c.clone()]);
    let mut conflicted = base.clone();
    conflicted.put(&file(&a), &rendered(&edited(&a, "git")));
    conflicted.files.remove(&file(&b));
    conflicted.put(&file(&c), &rendered(&edited(&c, "git")));
    conflicted.put(&file(&d), &rendered(&edited(&d, "git")));
    let desired = vec![edited(&a, "hnp"), b.clone(), d.clone()];

    let cases = [
        (&a, Side::Hnp, Action::Update, Some(rendered(&edited(&a, "hnp")))),
        (&a, Side::Git, Action::Adopt, Some(rendered(&edited(&a, "git")))),
        (&b, Side::Hnp, Action::Create, Some(rendered(&b))),
        (&b, Side::Git, Action::Forget, None),
        (&c, Side::Hnp, Action::Delete, None),
        (&c, Side::Git, Action::Forget, Some(rendered(&edited(&c, "git")))),
        (&d, Side::Hnp, Action::Update, Some(rendered(&d))),
        (&d, Side::Git, Action::Adopt, Some(rendered(&edited(&d, "git")))),
    ];
    for (raw, take, action, file_after) in cases {
        let mut repo = conflicted.clone();
        let input = resolved(&repo, desired.clone(), raw, take);
        let plan = repo.plan(input.clone());
        assert_eq!(actions(&plan), vec![(file(raw), action)], "{} take {take:?}", raw.name);
        assert_eq!(plan.conflicts.len(), 3, "the other conflicts stay");
        repo.apply(&plan);
        assert_eq!(repo.files.get(&file(raw)), file_after.as_ref(), "{} take {take:?}", raw.name);
        let again = repo.plan(repo.reread(input));
        assert_eq!(again.writes, vec![], "{} take {take:?} is not settled", raw.name);
        assert!(again.conflicts.iter().all(|c| c.path != file(raw)));
        // Without the resolution too: a decision lasts.
        let later = repo.plan(repo.input(desired.clone()));
        assert_eq!(later.writes, vec![], "{} take {take:?} does not last", raw.name);
        assert!(later.conflicts.iter().all(|c| c.path != file(raw)), "{} take {take:?} asked again", raw.name);
    }

    // Kept Git's version: recorded with HNP's rendering; an HNP change later is written.
    let mut repo = conflicted.clone();
    repo.sync(resolved(&repo, desired.clone(), &a, Side::Git));
    let entry = repo.state().files["managed/vpcs/demo-vpc-1.yaml"].clone();
    assert_eq!(entry.sha, blob_sha(rendered(&edited(&a, "git")).as_bytes()));
    assert_eq!(entry.rendered, Some(blob_sha(rendered(&edited(&a, "hnp")).as_bytes())));

    // A resolution for a path without a conflict changes nothing.
    let plan = base.plan(resolved(&base, vec![a.clone(), b.clone(), c.clone()], &a, Side::Git));
    assert_eq!((plan.writes.len(), plan.unchanged), (0, 3));
}

/// A resolution pinned to what Git held when the user decided.
fn pinned(repo: &Repo, desired: Vec<RawResource>, raw: &RawResource, take: Side, expect: GitVersion) -> PlanInput {
    PlanInput { resolutions: vec![Resolution { path: file(raw), take, expect: Some(expect) }], ..repo.input(desired) }
}

fn blob(text: &str) -> GitVersion {
    GitVersion::Blob(blob_sha(text.as_bytes()))
}

#[test]
fn a_resolution_applies_only_to_the_git_version_it_was_decided_on() {
    let (a, b) = (vpc1(), vpc2());
    let mut conflicted = synced(&[a.clone(), b.clone()]);
    let seen = rendered(&edited(&a, "git"));
    conflicted.put(&file(&a), &seen);
    conflicted.files.remove(&file(&b));
    let desired = vec![edited(&a, "hnp"), b.clone()];

    // Git holds what the user saw: the resolution applies.
    let plan = conflicted.plan(pinned(&conflicted, desired.clone(), &a, Side::Hnp, blob(&seen)));
    assert_eq!(actions(&plan), vec![(file(&a), Action::Update)]);
    let plan = conflicted.plan(pinned(&conflicted, desired.clone(), &b, Side::Hnp, GitVersion::Absent));
    assert_eq!(actions(&plan), vec![(file(&b), Action::Create)]);

    // A colleague changed the file again after the user looked: reported again, nothing written.
    let mut moved = conflicted.clone();
    let newer = rendered(&edited(&a, "git-2"));
    moved.put(&file(&a), &newer);
    moved.put(&file(&b), &rendered(&edited(&b, "git")));
    for (raw, take, expect) in [
        (&a, Side::Hnp, blob(&seen)),
        (&a, Side::Git, blob(&seen)),
        (&a, Side::Hnp, GitVersion::Absent),
        (&b, Side::Hnp, GitVersion::Absent),
        (&b, Side::Git, GitVersion::Absent),
    ] {
        let plan = moved.plan(pinned(&moved, desired.clone(), raw, take, expect.clone()));
        assert_eq!(plan.writes, vec![], "{} take {take:?} expecting {expect:?} wrote", raw.name);
        assert_eq!(plan.changes, vec![]);
        let conflict = plan.conflicts.iter().find(|c| c.path == file(raw)).expect("reported again");
        assert_eq!(conflict.git_content.as_ref(), moved.files.get(&file(raw)), "with Git's new version");
        assert_eq!(conflict.actual_sha, moved.files.get(&file(raw)).map(|t| blob_sha(t.as_bytes())));
        assert!(conflict.reason.contains("after the resolution was decided"), "{}", conflict.reason);
        let saw = match &expect {
            GitVersion::Blob(sha) => format!("expected blob {sha}"),
            GitVersion::Absent => "expected no file".to_string(),
        };
        assert!(conflict.reason.contains(&saw), "{}", conflict.reason);
    }

    // Git deleted the file the user saw: `--take hnp` does not recreate it blindly.
    let mut gone = conflicted.clone();
    gone.files.remove(&file(&a));
    let plan = gone.plan(pinned(&gone, desired.clone(), &a, Side::Hnp, blob(&seen)));
    assert_eq!((plan.writes.len(), plan.conflicts.len()), (0, 2));
    assert!(plan.conflicts[0].reason.contains("Git now has no file"), "{}", plan.conflicts[0].reason);

    // `expect: None` applies to whatever Git holds (the engine pins it before planning).
    let plan = moved.plan(resolved(&moved, desired.clone(), &a, Side::Hnp));
    assert_eq!(actions(&plan), vec![(file(&a), Action::Update)]);
}

#[test]
fn a_kept_deletion_lasts_until_hnp_changes_the_cr() {
    let (a, b) = (vpc1(), vpc2());
    let mut repo = synced(&[a.clone(), b.clone()]);
    repo.files.remove(&file(&b));
    let plan = repo.plan(repo.input(vec![a.clone(), b.clone()]));
    assert_eq!(plan.conflicts.iter().map(|c| c.kind).collect::<Vec<_>>(), vec![ConflictKind::DeletedInGit]);

    // `resolve --take git`: a tombstone with HNP's rendering, no file.
    let plan = repo.sync(resolved(&repo, vec![a.clone(), b.clone()], &b, Side::Git));
    assert_eq!(actions(&plan), vec![(file(&b), Action::Forget)]);
    let tombstone = repo.state().files["managed/vpcs/demo-vpc-2.yaml"].clone();
    assert!(tombstone.deleted);
    assert_eq!((tombstone.sha, tombstone.rendered), (blob_sha(rendered(&b).as_bytes()), None));
    assert_eq!(repo.state().managed().count(), 1, "a tombstone is not a managed file");
    assert!(repo.files[STATE].contains("\"deleted\": true"));

    // Later syncs: neither recreated nor asked again.
    let plan = repo.plan(repo.input(vec![a.clone(), b.clone()]));
    assert_eq!((plan.writes.len(), plan.conflicts.len(), plan.unchanged), (0, 0, 2));
    let selection = PlanInput { complete: false, ..repo.input(vec![b.clone()]) };
    assert_eq!(repo.plan(selection).writes, vec![]);

    // HNP edits the CR: a conflict again, nothing written.
    let plan = repo.plan(repo.input(vec![a.clone(), edited(&b, "hnp")]));
    assert_eq!(plan.writes, vec![]);
    let conflict = &plan.conflicts[0];
    assert_eq!((conflict.path.as_str(), conflict.kind), (file(&b).as_str(), ConflictKind::DeletedInGit));
    assert_eq!((conflict.expected_sha.as_deref(), conflict.actual_sha.as_deref()), (None, None));
    assert_eq!(conflict.hnp_content, Some(rendered(&edited(&b, "hnp"))));
    assert!(conflict.reason.contains("--take git"), "{}", conflict.reason);
    // ... settled either way.
    let mut kept = repo.clone();
    kept.sync(resolved(&kept, vec![a.clone(), edited(&b, "hnp")], &b, Side::Git));
    assert_eq!(
        kept.state().files["managed/vpcs/demo-vpc-2.yaml"].sha,
        blob_sha(rendered(&edited(&b, "hnp")).as_bytes())
    );
    let mut taken = repo.clone();
    let plan = taken.sync(resolved(&taken, vec![a.clone(), edited(&b, "hnp")], &b, Side::Hnp));
    assert_eq!(actions(&plan), vec![(file(&b), Action::Create)]);
    assert!(!taken.state().files["managed/vpcs/demo-vpc-2.yaml"].deleted);

    // A file re-created in Git is compared as a file created in Git.
    let mut recreated = repo.clone();
    recreated.put(&file(&b), &reformatted(&b));
    let plan = recreated.sync(recreated.input(vec![a.clone(), b.clone()]));
    assert_eq!(actions(&plan), vec![(file(&b), Action::Adopt)]);
    assert!(!recreated.state().files["managed/vpcs/demo-vpc-2.yaml"].deleted);
    let mut other = repo.clone();
    other.put(&file(&b), &rendered(&edited(&b, "git")));
    let plan = other.plan(other.input(vec![a.clone(), b.clone()]));
    assert_eq!(plan.conflicts.iter().map(|c| c.kind).collect::<Vec<_>>(), vec![ConflictKind::CreatedInGit]);
    assert_eq!(plan.writes, vec![]);

    // The CR deleted in HNP: the tombstone goes, and a file Git made meanwhile stays.
    let mut dropped = repo.clone();
    let plan = dropped.sync(dropped.input(vec![a.clone()]));
    assert_eq!(actions(&plan), vec![(file(&b), Action::Forget)]);
    assert!(!dropped.state().files.contains_key("managed/vpcs/demo-vpc-2.yaml"));
    let plan = other.sync(other.input(vec![a.clone()]));
    assert_eq!(actions(&plan), vec![(file(&b), Action::Forget)]);
    assert_eq!(written_paths(&plan), vec![STATE]);
    assert!(other.files.contains_key(&file(&b)));
}

/// `input` for fabric `fabric` in `directory` (the state is read from there).
fn for_fabric(repo: &Repo, fabric: &str, directory: &str, desired: Vec<RawResource>) -> PlanInput {
    let state = repo.files.get(&path::state_path(directory)).cloned();
    PlanInput { fabric: fabric.into(), directory: directory.into(), state, ..repo.input(desired) }
}

#[test]
fn the_state_names_its_fabric_and_directory() {
    let mut repo = Repo::default();
    repo.sync(for_fabric(&repo, "dc1", DIR, vec![vpc1()]));
    let state = repo.state();
    assert_eq!((state.fabric.as_deref(), state.directory.as_deref()), (Some("dc1"), Some(DIR)));
    assert!(
        repo.files[STATE].starts_with("{\n  \"version\": 2,\n  \"generator\": \"fgd-sync\",\n  \"fabric\": \"dc1\",\n")
    );

    // A caller that does not name the fabric keeps the recorded one.
    repo.sync(repo.input(vec![vpc1(), leaf1()]));
    assert_eq!(repo.state().fabric.as_deref(), Some("dc1"));
}

#[test]
fn a_state_of_another_fabric_or_directory_stops_the_plan() {
    let mut repo = Repo::default();
    repo.sync(for_fabric(&repo, "dc1", DIR, vec![vpc1(), leaf1()]));
    let foreign = |e: SyncError| match e {
        SyncError::ForeignState(f) => (f.path, f.fabric, f.directory),
        other => panic!("not a foreign state: {other:?}"),
    };

    // dc1's directory copied, with its state, to start dc2.
    let dc2 = "fabrics/dc2/gitops";
    let mut copied = repo.clone();
    for (path, text) in repo.files.clone() {
        copied.put(&path.replacen(DIR, dc2, 1), &text);
    }
    let want = ("fabrics/dc2/gitops/.hnp/sync-state.json".to_string(), "dc1".to_string(), DIR.to_string());
    assert_eq!(foreign(plan_error(for_fabric(&copied, "dc2", dc2, vec![vpc2()]))), want);
    // Known fabric or not, the directory gives it away.
    assert_eq!(foreign(plan_error(for_fabric(&copied, "", dc2, vec![vpc2()]))), want);

    // Two fabrics configured on one directory.
    let want = (STATE.to_string(), "dc1".to_string(), DIR.to_string());
    assert_eq!(foreign(plan_error(for_fabric(&repo, "dc2", DIR, vec![vpc2()]))), want);
    assert!(plan(&for_fabric(&repo, "dc1", DIR, vec![]), "").is_ok());
}

#[test]
fn a_version_1_state_is_adopted_by_the_next_write() {
    let mut repo = synced(&[vpc1()]);
    let entry = &repo.state().files["managed/vpcs/demo-vpc-1.yaml"];
    let v1 = format!(
        "{{\"version\": 1, \"generator\": \"fgd-sync\", \"files\": {{\"managed/vpcs/demo-vpc-1.yaml\": \
         {{\"kind\": \"VPC\", \"namespace\": \"default\", \"name\": \"demo-vpc-1\", \"sha\": \"{}\"}}}}}}",
        entry.sha
    );
    repo.put(STATE, &v1);
    // Nothing to do: no commit just to rewrite the state.
    let plan = repo.plan(for_fabric(&repo, "dc1", DIR, vec![vpc1()]));
    assert_eq!((plan.writes.len(), plan.unchanged), (0, 1));
    // The next change writes version 2, owned by this fabric.
    repo.sync(for_fabric(&repo, "dc1", DIR, vec![vpc1(), leaf1()]));
    let state = repo.state();
    assert_eq!((state.fabric.as_deref(), state.directory.as_deref()), (Some("dc1"), Some(DIR)));
    assert!(repo.files[STATE].starts_with("{\n  \"version\": 2,"));
}

#[test]
fn message_lists_several_changes() {
    let mut repo = synced(&[vpc1(), leaf1()]);
    repo.files.remove(&file(&leaf1()));
    repo.put(&file(&cr("Switch", "leaf-02")), &rendered(&cr("Switch", "leaf-02")));
    let desired = vec![edited(&vpc1(), "1"), vpc2(), cr("Switch", "leaf-02")];
    let plan = repo.plan(repo.input(desired));
    let want = "[hnp] Sync 4 resources: 1 created, 1 updated, 2 recorded

- Forget Switch leaf-01 (managed/switches/leaf-01.yaml)
- Adopt Switch leaf-02 (managed/switches/leaf-02.yaml)
- Update VPC demo-vpc-1 (managed/vpcs/demo-vpc-1.yaml)
- Create VPC demo-vpc-2 (managed/vpcs/demo-vpc-2.yaml)";
    assert_eq!(plan.message, want);
}

#[test]
fn message_body_is_capped() {
    let crs: Vec<_> = (0..250).map(|i| renamed(&leaf1(), &format!("leaf-{i:03}"))).collect();
    let mut repo = synced(&crs[..10]);
    let mut desired = crs[..5].to_vec();
    desired.extend(crs[20..].iter().cloned());
    let plan = repo.sync(repo.input(desired));
    let lines: Vec<&str> = plan.message.lines().collect();
    assert_eq!(lines[0], "[hnp] Sync 235 resources: 230 created, 5 deleted");
    assert_eq!(lines[1], "");
    assert_eq!(lines.len(), 2 + 200);
    assert_eq!(lines[2], "- Delete Switch leaf-005 (managed/switches/leaf-005.yaml)");
    assert_eq!(lines[201], "- ... and 36 more");
}

#[test]
fn namespaced_crs_and_other_directories() {
    let mut repo = Repo::default();
    let ns = RawResource { namespace: "team-a".into(), ..vpc1() };
    // Files outside the fabric directory are not the fabric's.
    repo.put("fabrics/dc2/gitops/managed/vpcs/demo-vpc-1.yaml", "other: fabric\n");
    let plan = repo.sync(repo.input(vec![ns.clone(), vpc1()]));
    assert_eq!(actions(&plan), vec![(file(&vpc1()), Action::Create), (file(&ns), Action::Create)]);
    assert_eq!(file(&ns), "fabrics/dc1/gitops/managed/vpcs/team-a/demo-vpc-1.yaml");
    assert!(plan.message.contains("- Create VPC team-a/demo-vpc-1 (managed/vpcs/team-a/demo-vpc-1.yaml)"));
    assert_eq!(repo.files["fabrics/dc2/gitops/managed/vpcs/demo-vpc-1.yaml"], "other: fabric\n");
}

#[test]
fn fabric_at_repository_root() {
    let input = PlanInput { directory: String::new(), desired: vec![vpc1()], ..PlanInput::default() };
    let plan = plan(&input, "").unwrap();
    assert_eq!(written_paths(&plan), vec![".hnp/sync-state.json", "managed/vpcs/demo-vpc-1.yaml"]);
    assert_eq!(plan.message, "Create VPC demo-vpc-1");
}

fn plan_error(input: PlanInput) -> SyncError {
    plan(&input, "").expect_err("plan should fail")
}

fn invalid_resource(input: PlanInput) -> InvalidResource {
    match plan_error(input) {
        SyncError::InvalidResource(e) => e,
        other => panic!("not an invalid resource: {other:?}"),
    }
}

#[test]
fn the_same_cr_twice() {
    let repo = Repo::default();
    let plan = repo.plan(repo.input(vec![vpc1(), leaf1(), vpc1()]));
    assert_eq!(plan.changes.len(), 2, "identical duplicates are one CR");
    let e = invalid_resource(repo.input(vec![vpc1(), edited(&vpc1(), "1")]));
    assert_eq!((e.kind.as_str(), e.name.as_str(), e.field.as_str()), ("VPC", "demo-vpc-1", "metadata.name"));
    assert!(e.message.contains("fabrics/dc1/gitops/managed/vpcs/demo-vpc-1.yaml"), "{}", e.message);
    // Same error whichever comes first.
    assert_eq!(invalid_resource(repo.input(vec![edited(&vpc1(), "1"), vpc1()])), e);
}

#[test]
fn invalid_crs_are_listed_by_field() {
    let repo = Repo::default();
    let plan = repo.plan(repo.input(vec![vpc1(), renamed(&leaf1(), "Leaf_01")]));
    let e = &plan.invalid[0];
    assert_eq!((e.kind.as_str(), e.name.as_str(), e.field.as_str()), ("Switch", "Leaf_01", "metadata.name"));
    assert_eq!(actions(&plan), vec![(file(&vpc1()), Action::Create)], "the rest is planned");
    let plan = repo.plan(repo.input(vec![RawResource { labels: "[1]".into(), ..vpc1() }]));
    assert!(plan.invalid[0].field.starts_with("metadata.labels"), "{:?}", plan.invalid);
    assert_eq!(plan.writes, vec![]);
    // What is no single CR's fault is still an error.
    let bad_ref = ResourceRef { kind: Kind::Vpc, namespace: "default".into(), name: "Bad".into() };
    let e = invalid_resource(PlanInput { deleted: vec![bad_ref], ..repo.input(vec![]) });
    assert_eq!(e.field, "metadata.name");
    let e = invalid_resource(PlanInput { deleted: vec![reference(&vpc1())], ..repo.input(vec![vpc1()]) });
    assert!(e.message.contains("both desired and deleted"), "{e:?}");
}

#[test]
fn bad_inputs_name_their_source() {
    let mut repo = Repo::default();
    repo.put(STATE, "{\"version\": 7}");
    match plan_error(repo.input(vec![])) {
        SyncError::InvalidManifest(e) => {
            assert_eq!((e.source.as_str(), e.document), (STATE, 0));
            assert!(e.message.contains("version 7"), "{}", e.message);
        }
        other => panic!("{other:?}"),
    }
    let input = PlanInput { directory: "a/../b".into(), ..PlanInput::default() };
    assert!(matches!(plan_error(input), SyncError::InvalidTarget(_)));

    // A text that is not the blob it claims to be is refused, not compared.
    let mut repo = Repo::default();
    repo.put(&file(&vpc1()), &reformatted(&vpc1()));
    let mut input = repo.input(vec![vpc1()]);
    input.contents.insert(blob_sha(reformatted(&vpc1()).as_bytes()), rendered(&vpc1()));
    match plan_error(input) {
        SyncError::InvalidManifest(e) => assert_eq!(e.source, file(&vpc1())),
        other => panic!("{other:?}"),
    }
}

#[test]
fn order_of_desired_does_not_matter() {
    let repo = synced(&[vpc1(), leaf1()]);
    let mut desired: Vec<_> = samples().to_vec();
    let forward = repo.plan(repo.input(desired.clone()));
    desired.reverse();
    assert_eq!(repo.plan(repo.input(desired)), forward);
}

// -- properties over random small fabrics --------------------------------------------------

/// The CRs of the random fabrics: one per kind family, all from the samples.
fn pool() -> Vec<RawResource> {
    vec![
        vpc1(),
        cr("VPCAttachment", "demo-vpc-1--server-1--mclag--s5248-01--s5248-02"),
        leaf1(),
        cr("Connection", "spine-01--fabric--leaf-01"),
        cr("IPv4Namespace", "default"),
    ]
}

/// One CR's situation: what HNP has, what Git has, what the state says, what is asked.
#[derive(Clone, Debug)]
struct Slot {
    /// 0: gone, 1: the sample, 2: edited.
    desired: u8,
    /// 0: none, else a version (see `text`).
    remote: u8,
    /// (0: no entry, else a version; rendered: 0 none, 1 sample, 2 edited).
    state: (u8, u8),
    deleted: bool,
    resolution: Option<bool>,
}

/// Versions of one CR's file: 1/2 rendered sample/edited, 3/4 the same reformatted, 5 not
/// YAML at all, 6 edited in Git, 7 the sample with a comment.
fn text(raw: &RawResource, version: u8) -> String {
    match version {
        1 => rendered(raw),
        2 => rendered(&edited(raw, "hnp")),
        3 => reformatted(raw),
        4 => reformatted(&edited(raw, "hnp")),
        5 => "{ not yaml: [\n".to_string(),
        6 => rendered(&edited(raw, "git")),
        _ => commented(raw),
    }
}

fn slot() -> impl Strategy<Value = Slot> {
    (0..3u8, 0..8u8, (0..8u8, 0..3u8), any::<bool>(), proptest::option::of(any::<bool>()))
        .prop_map(|(desired, remote, state, deleted, resolution)| Slot { desired, remote, state, deleted, resolution })
}

#[derive(Clone, Debug)]
struct Fabric {
    repo: Repo,
    input: PlanInput,
    /// Paths neither in the state nor desired.
    foreign: Vec<String>,
}

fn fabric(slots: &[Slot], complete: bool, foreign_file: bool) -> Fabric {
    let mut repo = Repo::default();
    let mut state = SyncState::default();
    let mut input = PlanInput { directory: DIR.into(), complete, ..PlanInput::default() };
    let mut foreign = Vec::new();
    for (raw, slot) in pool().iter().zip(slots) {
        let path = file(raw);
        match slot.desired {
            1 => input.desired.push(raw.clone()),
            2 => input.desired.push(edited(raw, "hnp")),
            _ if slot.deleted => input.deleted.push(reference(raw)),
            _ => {}
        }
        if slot.remote > 0 {
            repo.put(&path, &text(raw, slot.remote));
        }
        if slot.state.0 > 0 {
            let base = text(raw, slot.state.0);
            repo.blobs.insert(blob_sha(base.as_bytes()), base.clone());
            let rendered = match slot.state.1 {
                0 => None,
                n => Some(blob_sha(text(raw, n).as_bytes())),
            };
            let entry = fgd_sync_guest::state::StateEntry {
                resource: reference(raw),
                sha: blob_sha(base.as_bytes()),
                rendered: rendered.filter(|r| *r != blob_sha(base.as_bytes())),
                deleted: false,
                untrusted: false,
            };
            state.files.insert(path::strip_directory(DIR, &path).unwrap().to_string(), entry);
        } else if slot.desired == 0 {
            foreign.push(path.clone());
        }
        if let Some(git) = slot.resolution {
            input.resolutions.push(Resolution { path, take: if git { Side::Git } else { Side::Hnp }, expect: None });
        }
    }
    if foreign_file {
        let path = format!("{DIR}/managed/vpcs/foreign.yaml");
        repo.put(&path, "kind: VPC\n");
        foreign.push(path);
    }
    repo.put(STATE, &state.to_text());
    let base = repo.input(vec![]);
    input.remote_files = base.remote_files;
    input.state = base.state;
    Fabric { repo, input, foreign }
}

fn fabrics() -> impl Strategy<Value = (Fabric, Vec<RawResource>)> {
    (proptest::collection::vec(slot(), 5), any::<bool>(), any::<bool>()).prop_flat_map(|(slots, complete, foreign)| {
        let fabric = fabric(&slots, complete, foreign);
        let shuffled = Just(fabric.input.desired.clone()).prop_shuffle();
        (Just(fabric), shuffled)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn plans_are_safe_stable_and_idempotent((fabric, shuffled) in fabrics()) {
        let Fabric { mut repo, input, foreign } = fabric;
        let plan = repo.plan(input.clone());

        let permuted = repo.plan(PlanInput { desired: shuffled, ..input.clone() });
        prop_assert_eq!(&permuted, &plan, "the order of desired changed the plan");

        for conflict in &plan.conflicts {
            prop_assert!(plan.writes.iter().all(|w| w.path != conflict.path), "wrote {}", conflict.path);
            prop_assert!(plan.changes.iter().all(|c| c.path != conflict.path));
        }
        for path in &foreign {
            prop_assert!(plan.writes.iter().all(|w| &w.path != path), "touched foreign {}", path);
            prop_assert!(plan.changes.iter().all(|c| &c.path != path));
        }
        for w in &plan.writes {
            let expected = w.path == STATE || plan.changes.iter().any(|c| c.path == w.path && c.action.touches_file());
            prop_assert!(expected, "write without a change: {}", w.path);
        }

        repo.apply(&plan);
        let again = repo.plan(repo.reread(input.clone()));
        prop_assert_eq!(&again.conflicts, &plan.conflicts);
        // Kept deletions of CRs HNP still has included: their tombstones hold.
        prop_assert_eq!(&again.writes, &vec![], "re-planning changes {:#?}", again.changes);
    }
}

// -- comments are work; untrusted bases; one bad path never blocks a fabric ------------------

fn conflict_at<'p>(plan: &'p CommitPlan, raw: &RawResource) -> &'p fgd_sync_guest::model::Conflict {
    let found = plan.conflicts.iter().find(|c| c.path == file(raw));
    found.unwrap_or_else(|| panic!("no conflict at {}: {plan:#?}", file(raw)))
}

#[test]
fn a_comment_in_git_is_never_overwritten_or_deleted_silently() {
    let mut repo = synced(&[vpc1()]);
    repo.put(&file(&vpc1()), &commented(&vpc1()));
    let (hnp, theirs) = (edited(&vpc1(), "1"), commented(&vpc1()));
    // HNP changed the CR: writing it would drop the comment.
    let plan = repo.sync(repo.input(vec![hnp.clone()]));
    assert_conflict(&plan, &vpc1(), ConflictKind::ModifiedInGit, Some(&theirs), Some(&rendered(&hnp)));
    assert!(conflict_at(&plan, &vpc1()).reason.contains("comments"), "{plan:#?}");
    // The CR is gone from HNP: deleting the file would lose the comment too.
    let plan = repo.sync(repo.input(vec![]));
    assert_conflict(&plan, &vpc1(), ConflictKind::ModifiedInGit, Some(&theirs), None);
    assert!(conflict_at(&plan, &vpc1()).reason.contains("deleting"), "{plan:#?}");

    // HNP unchanged: the commented file is recorded as the base, and stays as it is ...
    let plan = repo.sync(repo.input(vec![vpc1()]));
    assert_eq!(actions(&plan), vec![(file(&vpc1()), Action::Adopt)]);
    assert_eq!(repo.files[&file(&vpc1())], theirs);
    // ... yet the comment is still work: Git holds what the sync adopted, not what it wrote.
    let plan = repo.sync(repo.input(vec![hnp.clone()]));
    assert_conflict(&plan, &vpc1(), ConflictKind::ModifiedInGit, Some(&theirs), Some(&rendered(&hnp)));
    let plan = repo.sync(repo.input(vec![]));
    assert_conflict(&plan, &vpc1(), ConflictKind::ModifiedInGit, Some(&theirs), None);
    // Taking HNP's side writes over it, as asked.
    let plan = repo.sync(resolved(&repo, vec![hnp.clone()], &vpc1(), Side::Hnp));
    assert_eq!(actions(&plan), vec![(file(&vpc1()), Action::Update)]);
    assert_eq!(repo.files[&file(&vpc1())], rendered(&hnp));
}

#[test]
fn pure_formatting_is_still_overwritten_and_deleted() {
    let mut repo = synced(&[vpc1(), vpc2()]);
    repo.put(&file(&vpc1()), &reformatted(&vpc1()));
    repo.put(&file(&vpc2()), &reformatted(&vpc2()));
    let plan = repo.sync(repo.input(vec![edited(&vpc1(), "1")]));
    let mut got = actions(&plan);
    got.sort();
    assert_eq!(got, vec![(file(&vpc1()), Action::Update), (file(&vpc2()), Action::Delete)]);
}

#[test]
fn an_untrusted_base_never_leads_to_a_write() {
    let mut repo = synced(&[vpc1(), vpc2(), leaf1()]);
    let hnp = edited(&vpc1(), "1");
    // A revert rewrote the state's entries of vpc1 and leaf1: an update of vpc1 and the
    // deletion of leaf1 would act on bases fgd-sync never recorded.
    let mut input = repo.input(vec![hnp.clone(), vpc2()]);
    input.untrusted = [file(&vpc1()), file(&leaf1())].into();
    let plan = repo.plan(input.clone());
    assert_conflict(&plan, &vpc1(), ConflictKind::UntrustedBase, Some(&rendered(&vpc1())), Some(&rendered(&hnp)));
    assert_conflict(&plan, &leaf1(), ConflictKind::UntrustedBase, Some(&rendered(&leaf1())), None);
    assert!(conflict_at(&plan, &vpc1()).reason.contains("revert"), "{plan:#?}");
    assert_eq!((plan.writes.len(), plan.changes.len(), plan.unchanged), (0, 0, 1));

    // What writes no file stays: Git already holds HNP's data (adopt), or nothing changed.
    repo.put(&file(&vpc1()), &reformatted(&hnp));
    let plan =
        repo.plan(PlanInput { untrusted: input.untrusted.clone(), ..repo.input(vec![hnp.clone(), vpc2(), leaf1()]) });
    assert_eq!(actions(&plan), vec![(file(&vpc1()), Action::Adopt)]);
    assert_eq!(plan.conflicts, vec![]);

    // A file created where the untrusted state had no entry, and a resolution settling it.
    let mut repo = synced(&[vpc1()]);
    let untrusted = std::collections::BTreeSet::from([file(&vpc2())]);
    let plan = repo.plan(PlanInput { untrusted: untrusted.clone(), ..repo.input(vec![vpc1(), vpc2()]) });
    assert_conflict(&plan, &vpc2(), ConflictKind::UntrustedBase, None, Some(&rendered(&vpc2())));
    let input = PlanInput { untrusted, ..resolved(&repo, vec![vpc1(), vpc2()], &vpc2(), Side::Hnp) };
    let plan = repo.sync(input);
    assert_eq!(actions(&plan), vec![(file(&vpc2()), Action::Create)]);
}

#[test]
fn an_unreadable_blob_is_a_conflict_on_its_path_only() {
    // Git's file is not UTF-8 (the engine lists its SHA): never asked for, never written over.
    let mut repo = synced(&[vpc1(), vpc2(), leaf1()]);
    let garbage = "stands for bytes that are not UTF-8";
    repo.put(&file(&vpc1()), garbage);
    repo.blobs.remove(&blob_sha(garbage.as_bytes()));
    // Git's file of vpc2 is not YAML: its data cannot be compared.
    repo.put(&file(&vpc2()), "{ not yaml: [\n");
    // The base of leaf1 is gone from history (after a rewrite), and Git changed the file.
    let leaf_base = blob_sha(repo.files[&file(&leaf1())].as_bytes());
    repo.blobs.remove(&leaf_base);
    repo.put(&file(&leaf1()), &rendered(&edited(&leaf1(), "git")));
    let desired = vec![edited(&vpc1(), "1"), edited(&vpc2(), "1"), edited(&leaf1(), "1"), cr("Switch", "leaf-02")];
    let mut input = repo.input(desired);
    input.unreadable = [blob_sha(garbage.as_bytes()), leaf_base].into();
    let plan = repo.plan(input);
    let c = conflict_at(&plan, &vpc1());
    assert_eq!((c.kind, c.git_content.as_deref()), (ConflictKind::Unreadable, None));
    assert_eq!(c.actual_sha, Some(blob_sha(garbage.as_bytes())));
    assert!(c.reason.contains("UTF-8"), "{plan:#?}");
    assert_conflict(
        &plan,
        &vpc2(),
        ConflictKind::Unreadable,
        Some("{ not yaml: [\n"),
        Some(&rendered(&edited(&vpc2(), "1"))),
    );
    assert!(conflict_at(&plan, &vpc2()).reason.contains("YAML"), "{plan:#?}");
    let leaf_git = rendered(&edited(&leaf1(), "git"));
    assert_conflict(
        &plan,
        &leaf1(),
        ConflictKind::Unreadable,
        Some(&leaf_git),
        Some(&rendered(&edited(&leaf1(), "1"))),
    );
    assert!(conflict_at(&plan, &leaf1()).reason.contains("history"), "{plan:#?}");
    // The rest of the fabric syncs.
    assert_eq!(actions(&plan), vec![(file(&cr("Switch", "leaf-02")), Action::Create)]);
}

#[test]
fn an_invalid_cr_is_listed_and_its_file_left_alone() {
    let mut repo = synced(&[vpc1(), leaf1()]);
    let bad = RawResource { labels: "[1]".into(), ..leaf1() };
    // A whole-fabric plan without a valid leaf-01 would delete its file: it is held instead.
    let plan = repo.sync(repo.input(vec![edited(&vpc1(), "1"), bad.clone()]));
    assert_eq!(actions(&plan), vec![(file(&vpc1()), Action::Update)]);
    assert_eq!(plan.invalid.len(), 1);
    let e = &plan.invalid[0];
    assert_eq!((e.kind.as_str(), e.name.as_str()), ("Switch", "leaf-01"));
    assert!(e.field.starts_with("metadata.labels"), "{e:?}");
    assert_eq!(repo.files[&file(&leaf1())], rendered(&leaf1()));
    // `check` lists it before any request; the same invalid CR twice is listed once.
    let listed = fgd_sync_guest::plan::check(DIR, &[bad.clone(), vpc1(), bad.clone()], &[]).unwrap();
    assert_eq!(listed, plan.invalid);
    // A valid and an invalid CR on one path: the path is left alone all the same.
    let plan = repo.plan(repo.input(vec![edited(&vpc1(), "1"), leaf1(), bad.clone()]));
    assert_eq!((plan.changes.len(), plan.writes.len(), plan.invalid.len()), (0, 0, 1), "{plan:#?}");
    // A name that gives no path matches no state entry: leaf-01 goes as any CR gone from HNP.
    let plan = repo.plan(repo.input(vec![vpc1(), renamed(&leaf1(), "Leaf_01")]));
    assert_eq!(plan.invalid.len(), 1);
    assert!(actions(&plan).contains(&(file(&leaf1()), Action::Delete)));
}

#[test]
fn an_untrusted_base_stays_untrusted_after_the_next_commit() {
    // A revert rewrote vpc1's entry; the same sync also creates vpc2, so a commit is made and
    // becomes the last to touch the state. The engine no longer finds vpc1 untrusted after
    // that: the mark in the state must keep the conflict until the user settles it.
    let mut repo = synced(&[vpc1()]);
    let hnp = edited(&vpc1(), "1");
    let mut input = repo.input(vec![hnp.clone(), vpc2()]);
    input.untrusted = [file(&vpc1())].into();
    let plan = repo.plan(input);
    assert_conflict(&plan, &vpc1(), ConflictKind::UntrustedBase, Some(&rendered(&vpc1())), Some(&rendered(&hnp)));
    assert_eq!(actions(&plan), vec![(file(&vpc2()), Action::Create)]);
    repo.apply(&plan);

    let later = repo.plan(repo.input(vec![hnp.clone(), vpc2()]));
    assert_conflict(&later, &vpc1(), ConflictKind::UntrustedBase, Some(&rendered(&vpc1())), Some(&rendered(&hnp)));
    assert!(later.writes.is_empty(), "{later:#?}");

    // Settling it (HNP's side) clears the mark.
    let settled = repo.sync(resolved(&repo, vec![hnp.clone(), vpc2()], &vpc1(), Side::Hnp));
    assert_eq!(actions(&settled), vec![(file(&vpc1()), Action::Update)]);
    assert!(!repo.files[STATE].contains("untrusted"), "{}", repo.files[STATE]);
}

#[test]
fn a_file_a_revert_removed_is_not_created_again() {
    // A revert took back the sync commit that created vpc2 (file and state entry gone).
    let mut repo = synced(&[vpc1(), vpc2()]);
    repo.files.remove(&file(&vpc2()));
    let mut state: serde_json::Value = serde_json::from_str(&repo.files[STATE]).unwrap();
    let relative = file(&vpc2()).strip_prefix(&format!("{DIR}/")).unwrap().to_string();
    state["files"].as_object_mut().unwrap().remove(&relative).expect("vpc2 in the state");
    repo.put(STATE, &serde_json::to_string_pretty(&state).unwrap());
    let mut input = repo.input(vec![vpc1(), vpc2(), leaf1()]);
    input.untrusted = [file(&vpc2())].into();
    let plan = repo.plan(input);
    assert_conflict(&plan, &vpc2(), ConflictKind::UntrustedBase, None, Some(&rendered(&vpc2())));
    assert_eq!(actions(&plan), vec![(file(&leaf1()), Action::Create)]);
    repo.apply(&plan);
    let later = repo.plan(repo.input(vec![vpc1(), vpc2(), leaf1()]));
    assert_conflict(&later, &vpc2(), ConflictKind::UntrustedBase, None, Some(&rendered(&vpc2())));
    assert!(later.writes.is_empty(), "{later:#?}");
}
