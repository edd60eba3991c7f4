//! The stand-in's bare repository seen through the real `git` CLI: history, trees, file
//! contents, reflogs, `fsck --strict`, and commits made behind the API's back ("another
//! writer"). Runs are isolated from the user's git configuration, like local-github's.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};

const ZERO: &str = "0000000000000000000000000000000000000000";

/// One commit of `git log`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    pub sha: String,
    pub parents: Vec<String>,
    pub author: String,
    pub subject: String,
}

/// One reflog line: the ref moved from `old` to `new`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefMove {
    pub old: String,
    pub new: String,
    pub message: String,
}

/// A git directory (bare repository).
#[derive(Clone, Debug)]
pub struct GitRepo {
    git_dir: PathBuf,
}

impl GitRepo {
    pub fn new(git_dir: impl Into<PathBuf>) -> GitRepo {
        GitRepo { git_dir: git_dir.into() }
    }

    pub fn git_dir(&self) -> &Path {
        &self.git_dir
    }

    /// Runs `git --git-dir=<dir> <args>`; stdout on success, stderr otherwise.
    pub fn git(&self, args: &[&str]) -> Result<String, String> {
        self.git_with(args, &[], None)
    }

    pub fn git_with(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Result<String, String> {
        // The same isolation as the server's own git: no inherited GIT_*, no user config, no hooks.
        let mut cmd = fgd_sync_local_github::isolated_git_command();
        cmd.arg(format!("--git-dir={}", self.git_dir.display()))
            .args(args)
            .envs(env.iter().copied())
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        let mut child = cmd.spawn().map_err(|e| format!("cannot run git: {e}"))?;
        if let (Some(mut pipe), Some(data)) = (child.stdin.take(), stdin) {
            pipe.write_all(data).map_err(|e| format!("git stdin: {e}"))?;
        }
        let out = child.wait_with_output().map_err(|e| format!("git: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!("git {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
        }
    }

    /// The commit a branch points at.
    pub fn head(&self, branch: &str) -> Option<String> {
        let out = self.git(&["rev-parse", "--verify", "--quiet", &format!("refs/heads/{branch}^{{commit}}")]).ok()?;
        Some(out.trim().to_string()).filter(|s| !s.is_empty())
    }

    /// `git log` of a branch, newest first, all parents followed.
    pub fn log(&self, branch: &str) -> Vec<LogEntry> {
        let Ok(out) = self.git(&["log", "--format=%H%x09%P%x09%an%x09%s", &format!("refs/heads/{branch}"), "--"])
        else {
            return Vec::new();
        };
        out.lines()
            .filter_map(|line| {
                let mut parts = line.splitn(4, '\t');
                let sha = parts.next()?.to_string();
                let parents = parts.next()?.split_whitespace().map(str::to_string).collect();
                let author = parts.next()?.to_string();
                let subject = parts.next().unwrap_or_default().to_string();
                Some(LogEntry { sha, parents, author, subject })
            })
            .collect()
    }

    /// Path -> blob SHA of every file on a branch (`git ls-tree -r`).
    pub fn files(&self, branch: &str) -> BTreeMap<String, String> {
        let Ok(out) = self.git(&["ls-tree", "-r", "--full-tree", &format!("refs/heads/{branch}")]) else {
            return BTreeMap::new();
        };
        out.lines()
            .filter_map(|line| {
                let (meta, path) = line.split_once('\t')?;
                let sha = meta.split_whitespace().nth(2)?;
                Some((path.to_string(), sha.to_string()))
            })
            .collect()
    }

    /// A file's text on a branch (`git show <branch>:<path>`).
    pub fn show(&self, branch: &str, path: &str) -> Option<String> {
        self.git(&["show", &format!("refs/heads/{branch}:{path}")]).ok()
    }

    /// `git fsck --strict --no-dangling`: Ok when the repository is sound.
    pub fn fsck(&self) -> Result<(), String> {
        self.git(&["fsck", "--strict", "--no-dangling", "--no-progress"]).map(|_| ())
    }

    /// True when `ancestor` is `descendant` or reachable from it.
    pub fn is_ancestor(&self, ancestor: &str, descendant: &str) -> bool {
        self.git(&["merge-base", "--is-ancestor", ancestor, descendant]).is_ok()
    }

    /// Every move of a branch, oldest first, from its reflog (enabled by the stand-in).
    pub fn ref_moves(&self, branch: &str) -> Vec<RefMove> {
        let log = std::fs::read_to_string(self.git_dir.join("logs/refs/heads").join(branch)).unwrap_or_default();
        log.lines()
            .filter_map(|line| {
                let (head, message) = line.split_once('\t').unwrap_or((line, ""));
                let mut parts = head.split(' ');
                let old = parts.next()?.to_string();
                let new = parts.next()?.to_string();
                Some(RefMove { old, new, message: message.to_string() })
            })
            .collect()
    }

    /// Moves that were not fast-forwards (a force push would show here). Empty is good.
    pub fn non_fast_forwards(&self, branch: &str) -> Vec<RefMove> {
        self.ref_moves(branch).into_iter().filter(|m| m.old != ZERO && !self.is_ancestor(&m.old, &m.new)).collect()
    }

    /// Commits `changes` (`None` deletes) on top of the branch and moves it by
    /// compare-and-swap, as a `git push` by somebody else would. Creates the branch (a root
    /// commit) when it does not exist.
    pub fn commit_files(
        &self,
        branch: &str,
        changes: &[(&str, Option<&str>)],
        message: &str,
    ) -> Result<String, String> {
        static N: AtomicU64 = AtomicU64::new(0);
        let index = std::env::temp_dir().join(format!(
            "fgd-standin-index-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let index_str = index.display().to_string();
        let env = [
            ("GIT_INDEX_FILE", index_str.as_str()),
            ("GIT_AUTHOR_NAME", "Outside Writer"),
            ("GIT_AUTHOR_EMAIL", "outside@example.com"),
            ("GIT_COMMITTER_NAME", "Outside Writer"),
            ("GIT_COMMITTER_EMAIL", "outside@example.com"),
        ];
        let result = (|| {
            let head = self.head(branch);
            match &head {
                Some(h) => self.git_with(&["read-tree", h], &env, None)?,
                None => self.git_with(&["read-tree", "--empty"], &env, None)?,
            };
            for (path, content) in changes {
                match content {
                    Some(text) => {
                        let blob = self.git_with(&["hash-object", "-w", "--stdin"], &env, Some(text.as_bytes()))?;
                        let info = format!("100644,{},{path}", blob.trim());
                        self.git_with(&["update-index", "--add", "--cacheinfo", &info], &env, None)?;
                    }
                    None => {
                        // Mode 0 removes the entry; `--force-remove` wants a work tree.
                        let info = format!("0 {ZERO}\t{path}\n");
                        self.git_with(&["update-index", "--index-info"], &env, Some(info.as_bytes()))?;
                    }
                }
            }
            let tree = self.git_with(&["write-tree"], &env, None)?;
            let mut args = vec!["commit-tree", tree.trim(), "-m", message];
            if let Some(h) = &head {
                args.extend(["-p", h.as_str()]);
            }
            let commit = self.git_with(&args, &env, None)?.trim().to_string();
            let full = format!("refs/heads/{branch}");
            let old = head.as_deref().unwrap_or(ZERO);
            self.git_with(&["update-ref", "-m", "outside writer", &full, &commit, old], &env, None)?;
            Ok(commit)
        })();
        let _ = std::fs::remove_file(&index);
        result
    }
}
