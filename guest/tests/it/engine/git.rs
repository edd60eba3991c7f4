//! A tiny Git object store with real SHAs (blobs, trees, commits hashed as `git` does), so
//! the fake GitHub's answers can be checked against `git hash-object` arithmetic.

use std::collections::BTreeMap;

use fgd_sync_guest::blob::blob_sha;

pub const FILE: &str = "100644";
pub const DIR: &str = "040000";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    /// `100644`, `100755`, `120000` for blobs, `040000` for trees.
    pub mode: String,
    pub sha: String,
}

impl Entry {
    pub fn is_tree(&self) -> bool {
        self.mode == DIR
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    pub tree: String,
    pub parents: Vec<String>,
    pub message: String,
    pub author: (String, String),
    pub time: u64,
}

/// Objects and branches. Writes never remove objects, as in Git.
#[derive(Clone, Debug, Default)]
pub struct Git {
    pub blobs: BTreeMap<String, Vec<u8>>,
    pub trees: BTreeMap<String, Vec<Entry>>,
    pub commits: BTreeMap<String, Commit>,
    pub refs: BTreeMap<String, String>,
}

fn hash(kind: &str, body: &[u8]) -> String {
    let mut h = sha1_smol::Sha1::new();
    h.update(format!("{kind} {}\0", body.len()).as_bytes());
    h.update(body);
    h.digest().to_string()
}

fn hex_to_bytes(sha: &str) -> Vec<u8> {
    (0..sha.len()).step_by(2).map(|i| u8::from_str_radix(&sha[i..i + 2], 16).unwrap_or(0)).collect()
}

impl Git {
    pub fn is_empty(&self) -> bool {
        self.commits.is_empty()
    }

    pub fn put_blob(&mut self, bytes: &[u8]) -> String {
        let sha = blob_sha(bytes);
        self.blobs.insert(sha.clone(), bytes.to_vec());
        sha
    }

    /// Git's tree format; entries sorted as Git sorts them (a tree's name as if it ended in `/`).
    pub fn put_tree(&mut self, mut entries: Vec<Entry>) -> String {
        let key = |e: &Entry| if e.is_tree() { format!("{}/", e.name) } else { e.name.clone() };
        entries.sort_by_key(key);
        let mut body = Vec::new();
        for e in &entries {
            let mode = if e.is_tree() { "40000" } else { e.mode.as_str() };
            body.extend_from_slice(format!("{mode} {}\0", e.name).as_bytes());
            body.extend_from_slice(&hex_to_bytes(&e.sha));
        }
        let sha = hash("tree", &body);
        self.trees.insert(sha.clone(), entries);
        sha
    }

    pub fn put_commit(&mut self, commit: Commit) -> String {
        let mut text = format!("tree {}\n", commit.tree);
        for p in &commit.parents {
            text.push_str(&format!("parent {p}\n"));
        }
        let (name, email) = &commit.author;
        let who = format!("{name} <{email}> {} +0000", commit.time);
        text.push_str(&format!("author {who}\ncommitter {who}\n\n{}", commit.message));
        let sha = hash("commit", text.as_bytes());
        self.commits.insert(sha.clone(), commit);
        sha
    }

    /// Path -> (mode, blob SHA) of every file below a tree.
    pub fn flatten(&self, tree: &str) -> BTreeMap<String, (String, String)> {
        let mut out = BTreeMap::new();
        self.flatten_into(tree, "", &mut out);
        out
    }

    fn flatten_into(&self, tree: &str, prefix: &str, out: &mut BTreeMap<String, (String, String)>) {
        for e in self.trees.get(tree).map(Vec::as_slice).unwrap_or_default() {
            let path = if prefix.is_empty() { e.name.clone() } else { format!("{prefix}/{}", e.name) };
            if e.is_tree() {
                self.flatten_into(&e.sha, &path, out);
            } else {
                out.insert(path, (e.mode.clone(), e.sha.clone()));
            }
        }
    }

    /// Builds nested trees from flat paths (empty directories vanish, as in Git).
    pub fn build(&mut self, files: &BTreeMap<String, (String, String)>) -> String {
        let mut here: Vec<Entry> = Vec::new();
        let mut subdirs: BTreeMap<String, BTreeMap<String, (String, String)>> = BTreeMap::new();
        for (path, (mode, sha)) in files {
            match path.split_once('/') {
                Some((dir, rest)) => {
                    subdirs.entry(dir.to_string()).or_default().insert(rest.to_string(), (mode.clone(), sha.clone()));
                }
                None => here.push(Entry { name: path.clone(), mode: mode.clone(), sha: sha.clone() }),
            }
        }
        for (dir, inner) in subdirs {
            let sha = self.build(&inner);
            here.push(Entry { name: dir, mode: DIR.into(), sha });
        }
        self.put_tree(here)
    }

    pub fn head(&self, branch: &str) -> Option<String> {
        self.refs.get(branch).cloned()
    }

    /// Path -> text of every file on a branch.
    pub fn files(&self, branch: &str) -> BTreeMap<String, String> {
        let Some(head) = self.head(branch) else { return BTreeMap::new() };
        let tree = &self.commits[&head].tree;
        self.flatten(tree)
            .into_iter()
            .map(|(p, (_, sha))| (p, String::from_utf8_lossy(&self.blobs[&sha]).into_owned()))
            .collect()
    }

    /// Commits reachable from the branch head along first parents, newest first.
    pub fn history(&self, branch: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut next = self.head(branch);
        while let Some(sha) = next {
            next = self.commits[&sha].parents.first().cloned();
            out.push(sha);
        }
        out
    }

    pub fn is_ancestor(&self, ancestor: &str, descendant: &str) -> bool {
        let mut stack = vec![descendant.to_string()];
        let mut seen = std::collections::BTreeSet::new();
        while let Some(sha) = stack.pop() {
            if sha == ancestor {
                return true;
            }
            if seen.insert(sha.clone()) {
                if let Some(c) = self.commits.get(&sha) {
                    stack.extend(c.parents.iter().cloned());
                }
            }
        }
        false
    }

    /// Another writer's commit: applies `changes` (path, Some(text) or None to delete) on top
    /// of the branch head and moves the branch. Returns the commit SHA.
    pub fn commit_files(&mut self, branch: &str, changes: &[(&str, Option<&str>)], message: &str) -> String {
        let parent = self.head(branch);
        let mut files = parent.as_ref().map(|p| self.flatten(&self.commits[p].tree.clone())).unwrap_or_default();
        for (path, content) in changes {
            match content {
                Some(text) => {
                    let sha = self.put_blob(text.as_bytes());
                    files.insert(path.to_string(), (FILE.into(), sha));
                }
                None => {
                    files.remove(*path);
                }
            }
        }
        let tree = self.build(&files);
        let commit = Commit {
            tree,
            parents: parent.into_iter().collect(),
            message: message.into(),
            author: ("Other Writer".into(), "other@example.com".into()),
            time: 1_700_000_000,
        };
        let sha = self.put_commit(commit);
        self.refs.insert(branch.to_string(), sha.clone());
        sha
    }
}

#[test]
fn hashes_match_git() {
    let mut git = Git::default();
    // `printf 'hello\n' > a; git add a; git write-tree` gives this tree.
    let blob = git.put_blob(b"hello\n");
    assert_eq!(blob, "ce013625030ba8dba906f756967f9e9ca394464a");
    let tree = git.put_tree(vec![Entry { name: "a".into(), mode: FILE.into(), sha: blob }]);
    assert_eq!(tree, "0976950c1fdbcb52435a433913017bf044b3a58f");
    let files = [("a", "hello\n"), ("c", "y"), ("d/e/b", "x")];
    let mut flat = BTreeMap::new();
    for (path, text) in files {
        flat.insert(path.to_string(), (FILE.to_string(), git.put_blob(text.as_bytes())));
    }
    // `git write-tree` of the same files.
    assert_eq!(git.build(&flat), "24f08bc94892c98045669ec2cc3aa08413bd1796");
    // The empty tree every Git knows.
    assert_eq!(git.put_tree(vec![]), "4b825dc642cb6eb9a060e54bf8d69288fbee4904");
}
