//! `tree` against real git: the SHAs `git mktree` and `git write-tree` give for nested trees,
//! before and after the kind of writes a sync makes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use fgd_sync_guest::blob::blob_sha;
use fgd_sync_guest::tree::{expected_root, tree_sha, Listed};

use crate::support::scratch_dir;

/// A bare repository and a private index to build trees with.
struct Repo {
    dir: PathBuf,
}

impl Repo {
    fn new(tag: &str) -> Repo {
        let dir = scratch_dir(tag);
        let init =
            Command::new("git").args(["init", "--bare", "--quiet"]).arg(&dir).output().expect("git is installed");
        assert!(init.status.success(), "git init: {}", String::from_utf8_lossy(&init.stderr));
        Repo { dir }
    }

    fn git(&self, args: &[&str], stdin: &[u8]) -> String {
        run_git(&self.dir, args, stdin)
    }

    fn blob(&self, text: &str) -> String {
        self.git(&["hash-object", "-w", "--stdin"], text.as_bytes())
    }

    /// Replaces the index with `entries` (`(mode, sha, path)`) and writes its tree.
    fn write_tree(&self, entries: &[(&str, &str, &str)]) -> String {
        let _ = std::fs::remove_file(self.dir.join("index"));
        let info: String = entries.iter().map(|(mode, sha, path)| format!("{mode} {sha}\t{path}\n")).collect();
        self.git(&["update-index", "--add", "--index-info"], info.as_bytes());
        self.git(&["write-tree"], b"")
    }

    /// Every entry below `tree`, directories included: what GitHub's recursive listing holds.
    fn listing(&self, tree: &str) -> Vec<Listed> {
        self.git(&["ls-tree", "-r", "-t", tree], b"")
            .lines()
            .map(|line| {
                let (meta, path) = line.split_once('\t').unwrap();
                let mut parts = meta.split(' ');
                let mode = parts.next().unwrap().to_string();
                let sha = parts.nth(1).unwrap().to_string();
                Listed { path: path.to_string(), mode, sha }
            })
            .collect()
    }
}

impl Drop for Repo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run_git(dir: &Path, args: &[&str], stdin: &[u8]) -> String {
    let mut child = Command::new("git")
        .arg("--git-dir")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("git is installed");
    // Commands that read nothing may exit before the write: their status tells.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Names whose order differs between plain byte order and Git's (`a.b` < `a/` < `a0`), every
/// mode, nesting three deep.
fn fixture(repo: &Repo) -> (Vec<(String, String, String)>, String) {
    let (one, two, link) = (repo.blob("one\n"), repo.blob("two\n"), repo.blob("target"));
    // A submodule points at a commit of another repository; any SHA will do.
    let module = "0123456789abcdef0123456789abcdef01234567".to_string();
    let files = vec![
        ("100644", one.clone(), "a.b"),
        ("100644", two.clone(), "a/x.yaml"),
        ("100644", one.clone(), "a/b/c/deep.yaml"),
        ("100755", two.clone(), "a/run.sh"),
        ("100644", one.clone(), "a0"),
        ("120000", link, "a-link"),
        ("160000", module, "vendor/module"),
        ("100644", two.clone(), "fabrics/dc1/gitops/managed/vpcs/vpc-1.yaml"),
        ("100644", one.clone(), "fabrics/dc1/gitops/managed/vpcs/vpc-2.yaml"),
        ("100644", two, "fabrics/dc1/gitops/.hnp/sync-state.json"),
    ];
    let entries: Vec<(String, String, String)> =
        files.into_iter().map(|(m, s, p)| (m.to_string(), s, p.to_string())).collect();
    let borrowed: Vec<(&str, &str, &str)> =
        entries.iter().map(|(m, s, p)| (m.as_str(), s.as_str(), p.as_str())).collect();
    let root = repo.write_tree(&borrowed);
    (entries, root)
}

#[test]
fn tree_sha_is_git_mktree() {
    let repo = Repo::new("tree-mktree");
    let (one, two) = (repo.blob("one\n"), repo.blob("two\n"));
    let sub = repo.git(&["mktree"], format!("100644 blob {one}\tinner\n").as_bytes());
    let entries = [("a0", "100644", one.as_str()), ("a", "040000", sub.as_str()), ("a.b", "100755", two.as_str())];
    let input: String = entries
        .iter()
        .map(|(name, mode, sha)| format!("{mode} {} {sha}\t{name}\n", if *mode == "040000" { "tree" } else { "blob" }))
        .collect();
    assert_eq!(tree_sha(&entries).unwrap(), repo.git(&["mktree"], input.as_bytes()));
}

#[test]
fn an_unchanged_listing_gives_the_listed_root() {
    let repo = Repo::new("tree-same");
    let (_, root) = fixture(&repo);
    assert_eq!(expected_root(&repo.listing(&root), &[]).unwrap(), root);
}

/// The writes of a sync (new files in new and existing directories, updates, deletions that
/// empty a directory, an executable file overwritten as a regular one) give the tree
/// `git write-tree` gives for the same files.
#[test]
fn writes_give_the_tree_git_writes() {
    let repo = Repo::new("tree-writes");
    let (mut entries, root) = fixture(&repo);
    let listing = repo.listing(&root);
    let (new, updated) = (repo.blob("new\n"), repo.blob("updated\n"));
    let changes: Vec<(&str, Option<&str>)> = vec![
        ("fabrics/dc1/gitops/managed/vpcs/vpc-3.yaml", Some(new.as_str())),
        ("fabrics/dc1/gitops/managed/switches/leaf-1.yaml", Some(new.as_str())),
        ("fabrics/dc1/gitops/.hnp/sync-state.json", Some(updated.as_str())),
        ("a/b/c/deep.yaml", None),
        ("a/run.sh", Some(updated.as_str())),
    ];
    for (path, sha) in &changes {
        entries.retain(|(_, _, p)| p != path);
        if let Some(sha) = sha {
            entries.push(("100644".into(), sha.to_string(), path.to_string()));
        }
    }
    let borrowed: Vec<(&str, &str, &str)> =
        entries.iter().map(|(m, s, p)| (m.as_str(), s.as_str(), p.as_str())).collect();
    let written = repo.write_tree(&borrowed);
    assert_ne!(written, root);
    assert_eq!(expected_root(&listing, &changes).unwrap(), written);
    // The blob SHAs the guest computes are git's.
    assert_eq!(blob_sha(b"new\n"), new);

    // One blob differs: another tree.
    let mut tampered = changes.clone();
    tampered[0].1 = Some(updated.as_str());
    assert_ne!(expected_root(&listing, &tampered).unwrap(), written);
}

/// Deleting every file of the fabric leaves no empty directory behind, as in Git.
#[test]
fn emptied_directories_disappear() {
    let repo = Repo::new("tree-empty");
    let (entries, root) = fixture(&repo);
    let changes: Vec<(&str, Option<&str>)> =
        entries.iter().filter(|(_, _, p)| p.starts_with("fabrics/")).map(|(_, _, p)| (p.as_str(), None)).collect();
    let kept: Vec<(&str, &str, &str)> = entries
        .iter()
        .filter(|(_, _, p)| !p.starts_with("fabrics/"))
        .map(|(m, s, p)| (m.as_str(), s.as_str(), p.as_str()))
        .collect();
    assert_eq!(expected_root(&repo.listing(&root), &changes).unwrap(), repo.write_tree(&kept));
    let everything: Vec<(&str, Option<&str>)> = entries.iter().map(|(_, _, p)| (p.as_str(), None)).collect();
    assert_eq!(expected_root(&repo.listing(&root), &everything).unwrap(), "4b825dc642cb6eb9a060e54bf8d69288fbee4904");
}
