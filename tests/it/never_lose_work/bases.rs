//! Resolutions pinned to what the user saw, `--take git` that lasts, and a sync state that belongs to one fabric.
//!
//! Each test runs the real binary against a real git repository (`--local-repo`) with CRs
//! from manifest files (`--source-dir`); other people's edits are real commits made with git
//! plumbing.

use std::path::PathBuf;

use fgd_sync::report::{Action, ConflictKind, ErrorDetail};
use fgd_sync_tests::cli::{self, git, run, Run};
use fgd_sync_tests::github::GitRepo;
use fgd_sync_tests::TempDir;
use pretty_assertions::assert_eq;

use super::vpc;

const DC1: &str = "fabrics/dc1/gitops";
const DC2: &str = "fabrics/dc2/gitops";

fn switch(name: &str) -> String {
    format!(
        "apiVersion: wiring.githedgehog.com/v1beta1\nkind: Switch\nmetadata:\n  name: {name}\nspec:\n  role: \
         server-leaf\n  description: leaf\n"
    )
}

/// One repository; one manifest directory per fabric.
struct Fixture {
    tmp: TempDir,
    repo: PathBuf,
}

impl Fixture {
    fn new(label: &str) -> Fixture {
        let tmp = TempDir::new(label).expect("temp dir");
        let repo = tmp.path().join("fabric.git");
        Fixture { tmp, repo }
    }

    fn crs(&self, fabric: &str) -> PathBuf {
        let dir = self.tmp.path().join(format!("crs-{fabric}"));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// HNP of `fabric` holds `name` (`None`: no longer).
    fn hnp(&self, fabric: &str, name: &str, doc: Option<&str>) {
        let file = self.crs(fabric).join(format!("{name}.yaml"));
        match doc {
            Some(doc) => std::fs::write(file, doc).unwrap(),
            None => std::fs::remove_file(file).unwrap(),
        }
    }

    /// `fgd-sync <args> --json` for `fabric` in `directory`.
    fn run(&self, fabric: &str, directory: &str, args: &[&str]) -> Run {
        let mut cmd = cli::command();
        cmd.args(args)
            .arg("--json")
            .args(["--fabric", fabric, "--directory", directory])
            .arg("--local-repo")
            .arg(&self.repo)
            .arg("--source-dir")
            .arg(self.crs(fabric));
        run(&mut cmd)
    }

    fn sync(&self) -> Run {
        self.run("dc1", DC1, &["sync"])
    }

    fn git(&self) -> GitRepo {
        GitRepo::new(&self.repo)
    }

    /// A commit by somebody else.
    fn commit(&self, changes: &[(&str, Option<&str>)]) -> String {
        self.git().commit_files("main", changes, "Edit in Git").unwrap()
    }

    fn head(&self) -> String {
        git(&self.repo, &["rev-parse", "main"]).trim().to_string()
    }

    fn show(&self, path: &str) -> Option<String> {
        self.git().show("main", path)
    }
}

fn blob_sha(text: &str) -> String {
    fgd_sync_guest::blob::blob_sha(text.as_bytes())
}

/// Item 7: `resolve --take hnp --expect <blob>` writes only over the blob the user reviewed.
#[test]
fn resolve_over_a_version_nobody_reviewed_is_a_conflict_again() {
    let f = Fixture::new("pinned");
    f.hnp("dc1", "vpc-1", Some(&vpc("vpc-1", 1001)));
    assert_eq!(f.sync().code, 0);
    let path = format!("{DC1}/managed/vpcs/vpc-1.yaml");
    let reviewed = f.show(&path).unwrap().replace("vlan: 1001", "vlan: 1999");
    f.commit(&[(&path, Some(&reviewed))]);
    f.hnp("dc1", "vpc-1", Some(&vpc("vpc-1", 1555)));
    let out = f.sync();
    assert_eq!(out.code, 2, "{out:?}");
    let seen = out.report().conflicts[0].actual_sha.clone().expect("Git's blob");
    assert_eq!(seen, blob_sha(&reviewed));

    // A colleague edits the file again before the user's `resolve` runs.
    let newer = reviewed.replace("vlan: 1999", "vlan: 1777");
    let head = f.commit(&[(&path, Some(&newer))]);
    let out = f.run("dc1", DC1, &["resolve", &path, "--take", "hnp", "--expect", &seen]);
    assert_eq!(out.code, 2, "reported again, not written: {out:?}");
    let report = out.report();
    assert_eq!((report.commit.as_deref(), report.changes.len()), (None, 0));
    let conflict = &report.conflicts[0];
    assert_eq!((conflict.path.as_str(), conflict.kind), (path.as_str(), ConflictKind::ModifiedInGit));
    assert_eq!(conflict.actual_sha, Some(blob_sha(&newer)));
    assert!(conflict.git_content.as_deref().unwrap().contains("vlan: 1777"), "with the new version: {conflict:?}");
    assert!(conflict.reason.contains(&seen), "{}", conflict.reason);
    assert_eq!(f.head(), head, "nothing written");
    assert_eq!(f.show(&path).as_deref(), Some(newer.as_str()));

    // Pinned to what Git holds now, it applies.
    let out = f.run("dc1", DC1, &["resolve", &path, "--take", "hnp", "--expect", &blob_sha(&newer)]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(f.show(&path).unwrap().contains("vlan: 1555"));
}

/// Item 8: keeping Git's deletion of a file whose CR HNP still has lasts.
#[test]
fn take_git_on_a_deletion_is_not_undone_by_the_next_sync() {
    let f = Fixture::new("tombstone");
    f.hnp("dc1", "vpc-1", Some(&vpc("vpc-1", 1001)));
    f.hnp("dc1", "leaf-01", Some(&switch("leaf-01")));
    assert_eq!(f.sync().code, 0);
    let path = format!("{DC1}/managed/vpcs/vpc-1.yaml");
    f.commit(&[(&path, None)]);
    let out = f.sync();
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.report().conflicts[0].kind, ConflictKind::DeletedInGit);

    let out = f.run("dc1", DC1, &["resolve", &path, "--take", "git"]);
    assert_eq!(out.code, 0, "{out:?}");
    let state = f.show(&format!("{DC1}/.hnp/sync-state.json")).unwrap();
    assert!(state.contains("\"deleted\": true"), "a tombstone: {state}");

    // The next syncs neither recreate the file nor ask again.
    let head = f.head();
    for _ in 0..2 {
        let out = f.sync();
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!((out.report().commit, out.report().conflicts.len()), (None, 0));
    }
    assert_eq!((f.head(), f.show(&path)), (head.clone(), None), "still deleted");

    // HNP edits the CR: the user decides again; nothing is written meanwhile.
    f.hnp("dc1", "vpc-1", Some(&vpc("vpc-1", 1555)));
    let out = f.sync();
    assert_eq!(out.code, 2, "{out:?}");
    let conflict = &out.report().conflicts[0];
    assert_eq!((conflict.path.as_str(), conflict.kind), (path.as_str(), ConflictKind::DeletedInGit));
    assert!(conflict.hnp_content.as_deref().unwrap().contains("vlan: 1555"));
    assert_eq!(f.head(), head);

    // The CR deleted in HNP: the tombstone goes, no file is touched.
    f.hnp("dc1", "vpc-1", None);
    let out = f.sync();
    assert_eq!(out.code, 0, "{out:?}");
    let report = out.report();
    assert_eq!(
        report.changes.iter().map(|c| (c.path.as_str(), c.action)).collect::<Vec<_>>(),
        [(path.as_str(), Action::Forget)]
    );
    let state = f.show(&format!("{DC1}/.hnp/sync-state.json")).unwrap();
    assert!(!state.contains("vpc-1"), "{state}");
    assert_eq!(f.show(&path), None);
    f.git().fsck().unwrap();
}

/// Item 9: a fabric directory copied with its state to start a second fabric.
#[test]
fn a_state_copied_to_another_fabric_stops_its_first_sync() {
    let f = Fixture::new("foreign");
    for name in ["vpc-1", "vpc-2", "vpc-3"] {
        f.hnp("dc1", name, Some(&vpc(name, 1001)));
    }
    assert_eq!(f.sync().code, 0);
    let state = f.show(&format!("{DC1}/.hnp/sync-state.json")).unwrap();
    assert!(state.contains("\"fabric\": \"dc1\"") && state.contains(&format!("\"directory\": \"{DC1}\"")), "{state}");

    // dc2 starts as a copy of dc1's directory (state included), and HNP holds one of its CRs.
    let copies: Vec<(String, String)> = f
        .git()
        .files("main")
        .into_keys()
        .filter_map(|path| {
            let copy = format!("{DC2}/{}", path.strip_prefix(&format!("{DC1}/"))?);
            Some((copy, f.show(&path)?))
        })
        .collect();
    assert_eq!(copies.len(), 4, "three files and the state");
    let changes: Vec<(&str, Option<&str>)> = copies.iter().map(|(p, t)| (p.as_str(), Some(t.as_str()))).collect();
    let head = f.commit(&changes);
    f.hnp("dc2", "vpc-1", Some(&vpc("vpc-1", 1001)));

    for operation in ["plan", "sync"] {
        let out = f.run("dc2", DC2, &[operation]);
        assert_eq!(out.code, 1, "{operation}: {out:?}");
        let error = out.error();
        let want = ErrorDetail::ForeignState {
            path: format!("{DC2}/.hnp/sync-state.json"),
            fabric: "dc1".into(),
            directory: DC1.into(),
        };
        assert_eq!(error.detail, Some(want), "{operation}: {error:?}");
        for name in ["\"dc1\"", DC1, DC2] {
            assert!(error.message.contains(name), "{operation}: the message names {name}: {}", error.message);
        }
    }
    assert_eq!(f.head(), head, "nothing written");
    assert_eq!(f.git().files("main").keys().filter(|p| p.starts_with(DC2)).count(), 4, "no file of dc2 lost");

    // dc1 itself goes on.
    f.hnp("dc1", "vpc-4", Some(&vpc("vpc-4", 1004)));
    assert_eq!(f.sync().code, 0);
}

/// Item 13: a CR whose file name would not fit a file system is refused, by name.
#[test]
fn a_name_too_long_for_a_file_is_refused() {
    let f = Fixture::new("long-name");
    let name = format!("leaf-{}", "x".repeat(246));
    assert_eq!(name.len(), 251, "fine for the fabric (253), too long as `{{name}}.yaml` (256 bytes)");
    f.hnp("dc1", "long", Some(&switch(&name)));
    f.hnp("dc1", "vpc-1", Some(&vpc("vpc-1", 1001)));
    let out = f.sync();
    assert_ne!(out.code, 0, "{out:?}");
    let text = format!("{}{}", out.stdout, out.stderr);
    for part in ["Switch", name.as_str(), "metadata.name", "256 bytes", "(ext4, APFS) allow at most 255"] {
        assert!(text.contains(part), "the refusal names {part:?}:\n{text}");
    }
    let long_files = f.git().files("main").into_keys().filter(|p| p.contains(&name)).count();
    assert_eq!(long_files, 0, "no such file written");
}
