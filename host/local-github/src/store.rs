//! The repository as typed operations on git objects and refs: read objects and trees,
//! write blobs, trees and commits, and move refs by compare-and-swap.
//!
//! Callers pass only validated values (40-hex ids, checked paths and ref names).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::date;
use crate::git::{self, Git, GitError};

/// The id git uses for "this ref must not exist yet" in `update-ref`.
const ZERO_OID: &str = "0000000000000000000000000000000000000000";

/// A git object type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Blob,
    Tree,
    Commit,
    Tag,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "blob" => Kind::Blob,
            "tree" => Kind::Tree,
            "commit" => Kind::Commit,
            "tag" => Kind::Tag,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Blob => "blob",
            Kind::Tree => "tree",
            Kind::Commit => "commit",
            Kind::Tag => "tag",
        }
    }
}

/// One line of `git ls-tree -l`.
#[derive(Clone, Debug)]
pub(crate) struct TreeEntry {
    pub mode: String,
    pub kind: Kind,
    pub sha: String,
    /// Blobs only.
    pub size: Option<u64>,
    pub path: String,
}

/// Commits (a message, headers, signatures) larger than this are not read: a commit anyone
/// with push access made could otherwise fill memory on every listing that shows it.
pub(crate) const MAX_COMMIT_BYTES: u64 = 1 << 20;

/// An object's content, unless it is larger than the reader's limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Content {
    Bytes(Vec<u8>),
    TooLarge(u64),
}

/// A flattened tree: every file (blob or submodule) path with its mode and id.
pub(crate) type FlatTree = BTreeMap<String, (String, String)>;

/// Who and when, as stored in a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Ident {
    pub name: String,
    pub email: String,
    pub secs: i64,
    pub offset_min: i32,
}

/// A parsed commit object.
#[derive(Clone, Debug)]
pub(crate) struct CommitInfo {
    pub sha: String,
    pub tree: String,
    pub parents: Vec<String>,
    pub author: Ident,
    pub committer: Ident,
    pub message: String,
}

/// The result of a compare-and-swap on a ref.
#[derive(Debug)]
pub(crate) enum Cas {
    Updated,
    /// The ref no longer holds the expected value; here is what it holds now.
    Moved(Option<String>),
    /// Git refused although the ref still held the expected value (e.g. a `refs/heads/a`
    /// versus `refs/heads/a/b` conflict, or a lock held for too long).
    Refused(String),
}

#[derive(Clone, Debug)]
pub(crate) struct Store {
    git: Git,
}

impl Store {
    pub fn new(git: Git) -> Self {
        Store { git }
    }

    pub fn git(&self) -> &Git {
        &self.git
    }

    /// True when the repository has no branch at all: GitHub's "empty repository".
    pub fn is_empty(&self) -> Result<bool, GitError> {
        Ok(self.git.run(&["for-each-ref", "--count=1", "--format=x", "refs/heads/"])?.is_empty())
    }

    /// The id an exact ref (`refs/heads/main`) points to.
    pub fn read_ref(&self, full: &str) -> Result<Option<String>, GitError> {
        // The pattern also matches `refs/heads/main/...`, hence the exact comparison; unlike
        // `rev-parse`, no DWIM, and absence is an empty answer rather than an error text.
        let args = ["for-each-ref", "--format=%(objectname) %(refname)", full];
        let text = git::line(&args, self.git.run(&args)?)?;
        Ok(text
            .lines()
            .find_map(|l| l.split_once(' ').filter(|(_, name)| *name == full).map(|(sha, _)| sha.to_string())))
    }

    /// The type and size of each id (`None` when missing), one git run for all.
    pub fn kinds(&self, shas: &[&str]) -> Result<Vec<Option<(Kind, u64)>>, GitError> {
        if shas.is_empty() {
            return Ok(Vec::new());
        }
        let input: String = shas.iter().map(|s| format!("{s}\n")).collect();
        let args = ["cat-file", "--batch-check=%(objecttype) %(objectsize)"];
        let out = self.git.run_with(&args, &[], Some(input.as_bytes()))?;
        let text = git::line(&args, out)?;
        let lines: Vec<&str> = text.lines().collect();
        if lines.len() != shas.len() {
            return Err(GitError::Output {
                args: args.join(" "),
                detail: format!("{} answers for {} ids", lines.len(), shas.len()),
            });
        }
        Ok(lines
            .iter()
            .map(|l| {
                let (t, n) = l.split_once(' ')?;
                Some((Kind::parse(t)?, n.parse().ok()?))
            })
            .collect())
    }

    pub fn kind(&self, sha: &str) -> Result<Option<Kind>, GitError> {
        Ok(self.kinds(&[sha])?.into_iter().next().flatten().map(|(k, _)| k))
    }

    /// An object's type and content, or `None` when it does not exist. Content over `max`
    /// bytes is not read: `TooLarge` with its size.
    pub fn read_object(&self, sha: &str, max: u64) -> Result<Option<(Kind, Content)>, GitError> {
        let args = ["cat-file", "--batch"];
        // The header line is `<sha> <type> <size>\n`: 128 bytes hold it.
        let cap = usize::try_from(max).unwrap_or(usize::MAX).saturating_add(128);
        let (out, _) = self.git.run_capped(&args, Some(format!("{sha}\n").as_bytes()), cap)?;
        let nl = out.iter().position(|&b| b == b'\n').unwrap_or(out.len());
        let header = String::from_utf8_lossy(&out[..nl]).to_string();
        let mut parts = header.split(' ');
        let (_, kind, size) = (parts.next(), parts.next(), parts.next());
        let (Some(kind), Some(size)) = (kind.and_then(Kind::parse), size.and_then(|s| s.parse::<u64>().ok())) else {
            return Ok(None); // "<sha> missing"
        };
        if size > max {
            return Ok(Some((kind, Content::TooLarge(size))));
        }
        let body = out
            .get(nl + 1..nl + 1 + size as usize)
            .ok_or_else(|| GitError::Output { args: args.join(" "), detail: "short object".into() })?;
        Ok(Some((kind, Content::Bytes(body.to_vec()))))
    }

    /// Writes a blob and returns its id.
    pub fn write_blob(&self, data: &[u8]) -> Result<String, GitError> {
        let args = ["hash-object", "-w", "-t", "blob", "--no-filters", "--stdin"];
        let out = self.git.run_with(&args, &[], Some(data))?;
        git::line(&args, out)
    }

    /// Writes many blobs with one git process (a tree of a thousand inline files would
    /// otherwise start a thousand), returning their ids in order.
    pub fn write_blobs(&self, blobs: &[&[u8]]) -> Result<Vec<String>, GitError> {
        match blobs {
            [] => return Ok(Vec::new()),
            [one] => return Ok(vec![self.write_blob(one)?]),
            _ => {}
        }
        let io =
            |e: std::io::Error| GitError::Output { args: "hash-object --stdin-paths".into(), detail: e.to_string() };
        // Private to this call: no other user can swap a file between our write and git's read.
        let dir = PrivateDir::new(self.git.git_dir()).map_err(io)?;
        let mut paths = String::new();
        for (i, data) in blobs.iter().enumerate() {
            let path = dir.path.join(i.to_string());
            dir.write(&path, data).map_err(io)?;
            paths.push_str(&path.to_string_lossy());
            paths.push('\n');
        }
        let args = ["hash-object", "-w", "-t", "blob", "--no-filters", "--stdin-paths"];
        let out = self.git.run_with(&args, &[], Some(paths.as_bytes()))?;
        let shas: Vec<String> = String::from_utf8_lossy(&out).lines().map(str::to_string).collect();
        if shas.len() != blobs.len() {
            return Err(GitError::Output {
                args: args.join(" "),
                detail: format!("{} ids for {} blobs", shas.len(), blobs.len()),
            });
        }
        Ok(shas)
    }

    /// The tree a commit-ish (validated id or full ref name) points to.
    pub fn peel(&self, rev: &str, to: Kind) -> Result<Option<String>, GitError> {
        let spec = format!("{rev}^{{{}}}", to.as_str());
        let args = ["rev-parse", "--verify", "-q", "--end-of-options", &spec];
        let out = self.git.output(&args, &[], None)?;
        if !out.success() {
            return Ok(None);
        }
        git::line(&args, out.stdout).map(Some)
    }

    /// Lists a tree (`recursive`: every entry below it, subtrees before their contents),
    /// reading at most `max_bytes` of git's listing: `true` when it stopped there.
    pub fn ls_tree(&self, tree: &str, recursive: bool, max_bytes: usize) -> Result<(Vec<TreeEntry>, bool), GitError> {
        let mut args = vec!["ls-tree", "-l", "-z", "--full-tree"];
        if recursive {
            args.extend(["-r", "-t"]);
        }
        args.push(tree);
        let (mut out, cut) = self.git.run_capped(&args, None, max_bytes)?;
        if cut {
            // Drop the record the cap cut in two.
            out.truncate(out.iter().rposition(|&b| b == 0).map_or(0, |i| i + 1));
        }
        let entries = out
            .split(|&b| b == 0)
            .filter(|r| !r.is_empty())
            .map(|r| parse_ls_tree(&args, r))
            .collect::<Result<_, _>>()?;
        Ok((entries, cut))
    }

    /// The entry at `path` inside `tree`, if any.
    pub fn entry_at(&self, tree: &str, path: &str) -> Result<Option<TreeEntry>, GitError> {
        let args = ["ls-tree", "-l", "-z", "--full-tree", tree, "--", path];
        let out = self.git.run(&args)?;
        for rec in out.split(|&b| b == 0).filter(|r| !r.is_empty()) {
            let e = parse_ls_tree(&args, rec)?;
            if e.path == path {
                return Ok(Some(e));
            }
        }
        Ok(None)
    }

    /// Every file of a tree, flattened.
    pub fn flatten(&self, tree: &str) -> Result<FlatTree, GitError> {
        let args = ["ls-tree", "-r", "-z", "--full-tree", tree];
        let out = self.git.run(&args)?;
        let mut map = FlatTree::new();
        for rec in out.split(|&b| b == 0).filter(|r| !r.is_empty()) {
            let rec = String::from_utf8_lossy(rec);
            let (meta, path) = rec.split_once('\t').ok_or_else(|| bad_output(&args, "no tab"))?;
            let mut m = meta.split(' ');
            let (mode, _, sha) = (m.next(), m.next(), m.next());
            let (Some(mode), Some(sha)) = (mode, sha) else { return Err(bad_output(&args, meta)) };
            map.insert(path.to_string(), (mode.to_string(), sha.to_string()));
        }
        Ok(map)
    }

    /// Writes the tree holding exactly `files` (nested directories included) and returns
    /// its id. Uses a private temporary index, so concurrent requests never share one.
    pub fn write_tree(&self, files: &FlatTree) -> Result<String, GitError> {
        let dir = PrivateDir::new(self.git.git_dir())
            .map_err(|e| GitError::Output { args: "update-index".into(), detail: e.to_string() })?;
        let index_path = dir.path.join("index").to_string_lossy().to_string();
        let env = [("GIT_INDEX_FILE", index_path.as_str())];
        let mut input = Vec::new();
        for (path, (mode, sha)) in files {
            input.extend_from_slice(format!("{mode} {sha}\t{path}").as_bytes());
            input.push(0);
        }
        self.git.run_with(&["update-index", "--add", "-z", "--index-info"], &env, Some(&input))?;
        let args = ["write-tree"];
        let sha = git::line(&args, self.git.run_with(&args, &env, None)?)?;
        if files.is_empty() {
            // `write-tree` on an empty index names the empty tree without storing it.
            self.git.run_with(&["hash-object", "-w", "-t", "tree", "--stdin"], &[], Some(b""))?;
        }
        Ok(sha)
    }

    /// Writes a commit object and returns its id.
    pub fn commit_tree(
        &self,
        tree: &str,
        parents: &[String],
        message: &str,
        author: &Ident,
        committer: &Ident,
    ) -> Result<String, GitError> {
        let mut args = vec!["commit-tree", tree];
        for p in parents {
            args.extend(["-p", p.as_str()]);
        }
        let (ad, cd) =
            (date::git_date(author.secs, author.offset_min), date::git_date(committer.secs, committer.offset_min));
        let env = [
            ("GIT_AUTHOR_NAME", author.name.as_str()),
            ("GIT_AUTHOR_EMAIL", author.email.as_str()),
            ("GIT_AUTHOR_DATE", ad.as_str()),
            ("GIT_COMMITTER_NAME", committer.name.as_str()),
            ("GIT_COMMITTER_EMAIL", committer.email.as_str()),
            ("GIT_COMMITTER_DATE", cd.as_str()),
        ];
        let out = self.git.run_with(&args, &env, Some(message.as_bytes()))?;
        git::line(&args, out)
    }

    /// Reads and parses a commit; `None` when `sha` is not a commit.
    pub fn commit(&self, sha: &str) -> Result<Option<CommitInfo>, GitError> {
        let unreadable = |detail: String| GitError::Output { args: format!("cat-file commit {sha}"), detail };
        match self.read_object(sha, MAX_COMMIT_BYTES)? {
            Some((Kind::Commit, Content::Bytes(body))) => {
                parse_commit(sha, &body).map(Some).ok_or_else(|| unreadable("unparsable commit".into()))
            }
            Some((Kind::Commit, Content::TooLarge(size))) => {
                Err(unreadable(format!("a commit of {size} bytes is over the {MAX_COMMIT_BYTES}-byte limit")))
            }
            _ => Ok(None),
        }
    }

    /// True when `ancestor` is reachable from `descendant` (or equal to it).
    pub fn is_ancestor(&self, ancestor: &str, descendant: &str) -> Result<bool, GitError> {
        let args = ["merge-base", "--is-ancestor", ancestor, descendant];
        let out = self.git.output(&args, &[], None)?;
        match out.code {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(git::failed(&args, &out)),
        }
    }

    /// Moves `full` from `old` (`None`: must not exist) to `new` atomically. Git holds the
    /// ref's lock file while it compares, so two racing processes cannot both win.
    pub fn cas_ref(&self, full: &str, new: &str, old: Option<&str>) -> Result<Cas, GitError> {
        self.cas(&["update-ref", "-m", "local-github", full, new, old.unwrap_or(ZERO_OID)], full, old)
    }

    /// Deletes `full` if it still points to `old`.
    pub fn delete_ref(&self, full: &str, old: &str) -> Result<Cas, GitError> {
        self.cas(&["update-ref", "-d", full, old], full, Some(old))
    }

    fn cas(&self, args: &[&str], full: &str, old: Option<&str>) -> Result<Cas, GitError> {
        let mut last = String::new();
        for attempt in 0..5 {
            let out = self.git.output(args, &[], None)?;
            if out.success() {
                return Ok(Cas::Updated);
            }
            let now = self.read_ref(full)?;
            if now.as_deref() != old {
                return Ok(Cas::Moved(now));
            }
            // Unchanged: a lock held by a writer that then failed, or a real refusal. Retry
            // briefly (git itself already waited core.filesRefLockTimeout, 100 ms).
            last = out.stderr;
            std::thread::sleep(std::time::Duration::from_millis(5 << attempt));
        }
        Ok(Cas::Refused(last))
    }
}

fn bad_output(args: &[&str], detail: &str) -> GitError {
    GitError::Output { args: args.join(" "), detail: detail.to_string() }
}

/// `<mode> SP <type> SP <sha> SP+ <size> TAB <path>`.
fn parse_ls_tree(args: &[&str], rec: &[u8]) -> Result<TreeEntry, GitError> {
    let rec = String::from_utf8_lossy(rec);
    let (meta, path) = rec.split_once('\t').ok_or_else(|| bad_output(args, "no tab"))?;
    let mut m = meta.split_whitespace();
    let (mode, kind, sha, size) = (m.next(), m.next().and_then(Kind::parse), m.next(), m.next());
    let (Some(mode), Some(kind), Some(sha)) = (mode, kind, sha) else { return Err(bad_output(args, meta)) };
    Ok(TreeEntry {
        mode: mode.to_string(),
        kind,
        sha: sha.to_string(),
        size: size.and_then(|s| s.parse().ok()),
        path: path.to_string(),
    })
}

/// Parses a raw commit object (headers, blank line, message).
pub(crate) fn parse_commit(sha: &str, body: &[u8]) -> Option<CommitInfo> {
    let text = String::from_utf8_lossy(body);
    let (head, message) = text.split_once("\n\n").unwrap_or((&text, ""));
    let (mut tree, mut parents, mut author, mut committer) = (None, Vec::new(), None, None);
    for line in head.lines() {
        match line.split_once(' ') {
            Some(("tree", v)) => tree = Some(v.to_string()),
            Some(("parent", v)) => parents.push(v.to_string()),
            Some(("author", v)) => author = parse_ident(v),
            Some(("committer", v)) => committer = parse_ident(v),
            _ => {} // gpgsig and its continuation lines, encoding, mergetag
        }
    }
    Some(CommitInfo {
        sha: sha.to_string(),
        tree: tree?,
        parents,
        author: author?,
        committer: committer?,
        message: message.to_string(),
    })
}

/// `Name <email> 1415397705 +0100`.
fn parse_ident(v: &str) -> Option<Ident> {
    let lt = v.find('<')?;
    let gt = v.rfind('>')?;
    let mut when = v.get(gt + 1..)?.split_whitespace();
    Some(Ident {
        name: v[..lt].trim_end().to_string(),
        email: v.get(lt + 1..gt)?.to_string(),
        secs: when.next()?.parse().ok()?,
        offset_min: date::parse_git_offset(when.next()?)?,
    })
}

/// A fresh directory for one operation's temporary files (blobs to hash, a temporary index
/// and its lock), inside the git directory rather than a shared `/tmp`: created `0700` with
/// `create_dir` under an unpredictable name (never an existing directory or symlink), its
/// files created with `O_EXCL`, everything removed on drop.
struct PrivateDir {
    path: PathBuf,
}

impl PrivateDir {
    fn new(git_dir: &std::path::Path) -> std::io::Result<PrivateDir> {
        use std::hash::{BuildHasher, Hasher};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let mut last = std::io::Error::from(std::io::ErrorKind::AlreadyExists);
        for _ in 0..16 {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
            hasher.write_u128(nanos);
            let name = format!("fgd-tmp-{}-{n}-{:016x}", std::process::id(), hasher.finish());
            let path = git_dir.join(name);
            let mut builder = std::fs::DirBuilder::new();
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            match builder.create(&path) {
                Ok(()) => return Ok(PrivateDir { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    /// Creates `path` (which must not exist) and writes `data`.
    fn write(&self, path: &std::path::Path, data: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(path)?.write_all(data)
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The swap itself refuses a stale expected value, whatever the caller checked before:
    /// the guarantee racing processes rely on.
    #[test]
    fn cas_refuses_a_stale_old_value_and_empty_trees_are_stored() {
        let dir = std::env::temp_dir().join(format!("fgd-lg-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut init = git::isolated_command();
        init.args(["init", "--bare", "--quiet"]).arg(&dir);
        assert!(git::run_command(init, None).unwrap().success());
        let store = Store::new(Git::new(&dir));
        let me = Ident { name: "T".into(), email: "t@x".into(), secs: 1, offset_min: 0 };
        let empty = store.write_tree(&FlatTree::new()).unwrap();
        let a = store.commit_tree(&empty, &[], "a", &me, &me).unwrap();
        let b = store.commit_tree(&empty, std::slice::from_ref(&a), "b", &me, &me).unwrap();
        assert!(matches!(store.cas_ref("refs/heads/main", &a, None).unwrap(), Cas::Updated));
        assert!(matches!(store.cas_ref("refs/heads/main", &b, None).unwrap(), Cas::Moved(Some(ref s)) if *s == a));
        assert!(matches!(store.cas_ref("refs/heads/main", &b, Some(&b)).unwrap(), Cas::Moved(Some(ref s)) if *s == a));
        assert!(matches!(store.cas_ref("refs/heads/main", &b, Some(&a)).unwrap(), Cas::Updated));
        assert_eq!(store.read_ref("refs/heads/main").unwrap().as_deref(), Some(b.as_str()));
        assert!(store.git().run(&["fsck", "--strict"]).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Temporary files live in a private directory of the git directory, never in `/tmp`
    /// under a predictable name, and are gone afterwards.
    #[test]
    fn temporary_files_are_private_and_removed() {
        let dir = std::env::temp_dir().join(format!("fgd-lg-unit-tmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut init = git::isolated_command();
        init.args(["init", "--bare", "--quiet"]).arg(&dir);
        assert!(git::run_command(init, None).unwrap().success());
        let private = PrivateDir::new(&dir).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&private.path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "{mode:o}");
        }
        assert!(private.path.starts_with(&dir));
        let file = private.path.join("x");
        private.write(&file, b"a").unwrap();
        assert!(private.write(&file, b"b").is_err(), "an existing file is never reused");
        drop(private);
        let store = Store::new(Git::new(&dir));
        let shas = store.write_blobs(&[b"one\n", b"two\n"]).unwrap();
        assert_eq!(store.read_object(&shas[1], 4).unwrap().map(|(_, b)| b), Some(Content::Bytes(b"two\n".to_vec())));
        assert_eq!(store.read_object(&shas[1], 3).unwrap().map(|(_, b)| b), Some(Content::TooLarge(4)));
        let mut files = FlatTree::new();
        files.insert("a/one".into(), ("100644".into(), shas[0].clone()));
        store.write_tree(&files).unwrap();
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with("fgd-tmp-"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn parses_commit_with_signature() {
        let raw = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nauthor A U <a@x> 1415397705 +0100\ncommitter C <c@x> 1415397706 -0000\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n abc\n -----END PGP SIGNATURE-----\n\nsubject\n\nbody\n";
        let c = parse_commit("s", raw).unwrap();
        assert_eq!(c.parents.len(), 1);
        assert_eq!(c.author, Ident { name: "A U".into(), email: "a@x".into(), secs: 1_415_397_705, offset_min: 60 });
        assert_eq!(c.committer.offset_min, 0);
        assert_eq!(c.message, "subject\n\nbody\n");
    }
}
