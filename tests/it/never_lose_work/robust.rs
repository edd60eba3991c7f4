//! Bases that a revert or a hand edit changed, comments as work, unreadable files and invalid CRs that do not block the fabric.
//!
//! Each test runs the real binary against a real git repository (`--local-repo`) with CRs
//! from manifest files (`--source-dir`); other people's edits are real commits made with git
//! plumbing.

use std::path::PathBuf;

use fgd_sync::report::{Action, ConflictKind};
use fgd_sync_tests::cli::{self, git, run, Run};
use fgd_sync_tests::github::GitRepo;
use fgd_sync_tests::TempDir;
use pretty_assertions::assert_eq;

use super::vpc;

const DIRECTORY: &str = "fabrics/dc1/gitops";

fn path(name: &str) -> String {
    format!("{DIRECTORY}/managed/vpcs/{name}.yaml")
}

/// One repository, one fabric, HNP as manifest files.
struct Fixture {
    tmp: TempDir,
    repo: PathBuf,
}

impl Fixture {
    fn new(label: &str) -> Fixture {
        let tmp = TempDir::new(label).expect("temp dir");
        let repo = tmp.path().join("fabric.git");
        std::fs::create_dir_all(tmp.path().join("crs")).unwrap();
        Fixture { tmp, repo }
    }

    /// HNP holds `doc` as `name` (`None`: no longer).
    fn hnp(&self, name: &str, doc: Option<&str>) {
        let file = self.tmp.path().join("crs").join(format!("{name}.yaml"));
        match doc {
            Some(doc) => std::fs::write(file, doc).unwrap(),
            None => std::fs::remove_file(file).unwrap(),
        }
    }

    fn sync(&self) -> Run {
        let mut cmd = cli::command();
        cmd.args(["sync", "--json", "--fabric", "dc1", "--directory", DIRECTORY])
            .arg("--local-repo")
            .arg(&self.repo)
            .arg("--source-dir")
            .arg(self.tmp.path().join("crs"));
        run(&mut cmd)
    }

    /// A commit by somebody else.
    fn commit(&self, changes: &[(&str, Option<&str>)], message: &str) -> String {
        GitRepo::new(&self.repo).commit_files("main", changes, message).unwrap()
    }

    fn head(&self) -> String {
        git(&self.repo, &["rev-parse", "main"]).trim().to_string()
    }

    fn show(&self, path: &str) -> Option<String> {
        GitRepo::new(&self.repo).show("main", path)
    }

    /// A file as it was at `commit`.
    fn show_at(&self, commit: &str, path: &str) -> String {
        git(&self.repo, &["show", &format!("{commit}:{path}")])
    }
}

/// Item 11: a comment added in Git is neither overwritten by an HNP change nor deleted with
/// its CR; the conflict shows what would be lost. Pure formatting is still written over.
#[test]
fn a_comment_added_in_git_is_a_conflict_not_lost() {
    let f = Fixture::new("comments");
    f.hnp("vpc-1", Some(&vpc("vpc-1", 1001)));
    f.hnp("vpc-2", Some(&vpc("vpc-2", 1002)));
    assert_eq!(f.sync().code, 0);
    let commented =
        format!("# vlan 1001 is reserved for the lab, ask Ana before changing\n{}", f.show(&path("vpc-1")).unwrap());
    // Formatting only (a document marker, the top-level keys in another order): no work in it.
    let rendered = f.show(&path("vpc-2")).unwrap();
    let (head_part, spec) = rendered.split_at(rendered.find("spec:").unwrap());
    let reformatted = format!("---\n{spec}{head_part}");
    f.commit(&[(&path("vpc-1"), Some(&commented)), (&path("vpc-2"), Some(&reformatted))], "Notes");

    // HNP edits both CRs.
    f.hnp("vpc-1", Some(&vpc("vpc-1", 1555)));
    f.hnp("vpc-2", Some(&vpc("vpc-2", 1556)));
    let out = f.sync();
    assert_eq!(out.code, 2, "{out:?}");
    let report = out.report();
    let conflict = &report.conflicts[0];
    assert_eq!((conflict.path.as_str(), conflict.kind), (path("vpc-1").as_str(), ConflictKind::ModifiedInGit));
    assert!(conflict.reason.contains("comments"), "{conflict:?}");
    assert_eq!(conflict.git_content.as_deref(), Some(commented.as_str()), "shows what would be lost");
    assert!(conflict.hnp_content.as_deref().unwrap().contains("vlan: 1555"));
    let changes: Vec<_> = report.changes.iter().map(|c| (c.path.as_str(), c.action)).collect();
    assert_eq!(changes, vec![(path("vpc-2").as_str(), Action::Update)], "formatting is not work");
    assert_eq!(f.show(&path("vpc-1")).as_deref(), Some(commented.as_str()));

    // HNP deletes the CR: deleting the file would lose the comment just the same.
    f.hnp("vpc-1", None);
    let out = f.sync();
    assert_eq!(out.code, 2, "{out:?}");
    let report = out.report();
    assert_eq!(report.conflicts.len(), 1, "{report:?}");
    assert_eq!(report.conflicts[0].kind, ConflictKind::ModifiedInGit);
    assert!(report.conflicts[0].reason.contains("comments"), "{report:?}");
    assert_eq!(f.show(&path("vpc-1")).as_deref(), Some(commented.as_str()), "still there");
}

/// Item 12: Git's file that is not YAML is an `unreadable` conflict on that path, with a
/// reason; the rest of the fabric syncs.
#[test]
fn a_file_that_is_not_yaml_is_a_conflict_on_its_path_only() {
    let f = Fixture::new("not-yaml");
    f.hnp("vpc-1", Some(&vpc("vpc-1", 1001)));
    f.hnp("vpc-2", Some(&vpc("vpc-2", 1002)));
    assert_eq!(f.sync().code, 0);
    let broken = "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata: {name: [\n";
    f.commit(&[(&path("vpc-1"), Some(broken))], "Half a merge");
    f.hnp("vpc-1", Some(&vpc("vpc-1", 1555)));
    f.hnp("vpc-2", Some(&vpc("vpc-2", 1556)));
    let out = f.sync();
    assert_eq!(out.code, 2, "{out:?}");
    let report = out.report();
    let conflict = &report.conflicts[0];
    assert_eq!((conflict.path.as_str(), conflict.kind), (path("vpc-1").as_str(), ConflictKind::Unreadable));
    assert!(conflict.reason.contains("not valid YAML"), "{conflict:?}");
    assert_eq!(conflict.git_content.as_deref(), Some(broken));
    assert_eq!(report.changes.len(), 1, "{report:?}");
    assert!(f.show(&path("vpc-2")).unwrap().contains("vlan: 1556"), "the rest syncs");
    assert_eq!(f.show(&path("vpc-1")).as_deref(), Some(broken));
}

/// Item 12: an invalid CR is reported (kind, name, field), its file is left as it is (not
/// deleted although no valid CR wants it), the rest of the fabric syncs, and the exit is 2.
#[test]
fn an_invalid_cr_is_reported_and_does_not_block_the_fabric() {
    let f = Fixture::new("invalid");
    f.hnp("vpc-1", Some(&vpc("vpc-1", 1001)));
    f.hnp("vpc-2", Some(&vpc("vpc-2", 1002)));
    assert_eq!(f.sync().code, 0);
    let kept = f.show(&path("vpc-2")).unwrap();
    f.hnp("vpc-1", Some(&vpc("vpc-1", 1555)));
    f.hnp(
        "vpc-2",
        Some("apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: vpc-2\nspec: [1, 2]\n"),
    );
    let out = f.sync();
    assert_eq!(out.code, 2, "an invalid CR exits 2: {out:?}");
    let report = out.report();
    assert_eq!(report.invalid.len(), 1, "{report:?}");
    let invalid = &report.invalid[0];
    assert_eq!((invalid.kind.as_str(), invalid.name.as_str(), invalid.field.as_str()), ("VPC", "vpc-2", "spec"));
    let changes: Vec<_> = report.changes.iter().map(|c| (c.path.as_str(), c.action)).collect();
    assert_eq!(changes, vec![(path("vpc-1").as_str(), Action::Update)]);
    assert!(f.show(&path("vpc-1")).unwrap().contains("vlan: 1555"), "the rest syncs");
    assert_eq!(f.show(&path("vpc-2")), Some(kept), "its file is left alone");
}

/// Item 10: a human revert of a sync commit is respected. The revert brought the state's
/// entry back with the file; the next sync does not silently re-apply HNP's version over it.
#[test]
fn a_reverted_sync_commit_is_not_silently_redone() {
    let f = Fixture::new("revert");
    f.hnp("vpc-1", Some(&vpc("vpc-1", 1001)));
    f.hnp("vpc-2", Some(&vpc("vpc-2", 1002)));
    assert_eq!(f.sync().code, 0);
    let before = f.head();
    f.hnp("vpc-1", Some(&vpc("vpc-1", 1555)));
    assert_eq!(f.sync().code, 0);
    // Somebody reverts the sync commit (the file and the state, as `git revert` would).
    let state = format!("{DIRECTORY}/.hnp/sync-state.json");
    let (old_file, old_state) = (f.show_at(&before, &path("vpc-1")), f.show_at(&before, &state));
    let reverted =
        f.commit(&[(&path("vpc-1"), Some(&old_file)), (&state, Some(&old_state))], "Revert \"Update VPC vpc-1\"");

    // HNP still says 1555, and another CR changes: that one syncs, the reverted one waits.
    f.hnp("vpc-2", Some(&vpc("vpc-2", 1556)));
    let out = f.sync();
    assert_eq!(out.code, 2, "{out:?}");
    let report = out.report();
    assert_eq!(report.conflicts.len(), 1, "{report:?}");
    let conflict = &report.conflicts[0];
    assert_eq!((conflict.path.as_str(), conflict.kind), (path("vpc-1").as_str(), ConflictKind::UntrustedBase));
    assert!(conflict.reason.contains("did not make"), "{conflict:?}");
    assert!(conflict.git_content.as_deref().unwrap().contains("vlan: 1001"));
    assert!(conflict.hnp_content.as_deref().unwrap().contains("vlan: 1555"));
    assert_eq!(f.show(&path("vpc-1")).as_deref(), Some(old_file.as_str()), "the revert stays");
    assert!(f.show(&path("vpc-2")).unwrap().contains("vlan: 1556"));
    assert_eq!(git(&f.repo, &["rev-parse", "main~1"]).trim(), reverted);
}
