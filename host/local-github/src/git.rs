//! Runs the `git` CLI against one repository, isolated from the caller's environment and the
//! user's configuration, with typed errors.
//!
//! Every argument that comes from a request has been validated (`validate.rs`) before it gets
//! here; this module adds the second fence: literal pathspecs, no hooks, no replace objects.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A failure to run git, or git answering with an unexpected exit status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GitError {
    /// The `git` binary could not be started (not installed, not on `PATH`).
    #[error("cannot run git: {0}")]
    Spawn(#[source] std::io::Error),
    /// Git ran and exited unsuccessfully.
    #[error("`git {args}` failed ({status}): {stderr}")]
    Failed { args: String, status: String, stderr: String },
    /// Git printed something this crate cannot read.
    #[error("unexpected output from `git {args}`: {detail}")]
    Output { args: String, detail: String },
}

/// What a git run produced, whatever its exit status.
pub(crate) struct Output {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// One repository's git directory; every run passes `--git-dir` explicitly.
#[derive(Clone, Debug)]
pub(crate) struct Git {
    git_dir: PathBuf,
}

/// The only variables a git child inherits: where programs are, and the home directory.
const INHERITED: [&str; 2] = ["PATH", "HOME"];

/// A `git` command with a cleared environment (only `PATH` and `HOME` are passed on, plus
/// `LC_ALL=C`) and no user or system configuration.
pub fn isolated_command() -> Command {
    let mut cmd = Command::new("git");
    // Nothing else is inherited: the caller's tokens (GITHUB_TOKEN, NETBOX_TOKEN, the webhook
    // secret) are none of git's business, and GIT_DIR, GIT_INDEX_FILE, GIT_CONFIG_COUNT...
    // would redirect or reconfigure every run.
    cmd.env_clear();
    for name in INHERITED {
        if let Some(value) = std::env::var_os(name) {
            cmd.env(name, value);
        }
    }
    cmd.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        // Paths are data, never patterns (`*`, `:(glob)`).
        .env("GIT_LITERAL_PATHSPECS", "1")
        .env("GIT_NO_REPLACE_OBJECTS", "1")
        .env("LC_ALL", "C")
        // No hook runs on our behalf (update-ref runs `reference-transaction`).
        .args(["-c", "core.hooksPath=/dev/null", "-c", "gc.auto=0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

impl Git {
    pub fn new(git_dir: impl Into<PathBuf>) -> Self {
        Git { git_dir: git_dir.into() }
    }

    pub fn git_dir(&self) -> &Path {
        &self.git_dir
    }

    /// Runs `git <args>` and returns stdout; a non-zero exit is an error.
    pub fn run(&self, args: &[&str]) -> Result<Vec<u8>, GitError> {
        self.run_with(args, &[], None)
    }

    /// Like [`Git::run`], with extra environment variables and optional stdin.
    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Result<Vec<u8>, GitError> {
        let out = self.output(args, env, stdin)?;
        if out.success() {
            Ok(out.stdout)
        } else {
            Err(failed(args, &out))
        }
    }

    /// Runs git and returns its output whatever the exit status, for commands whose status
    /// is the answer (`merge-base --is-ancestor`, `show-ref --verify`).
    pub fn output(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Result<Output, GitError> {
        run_command(self.command(args, env), stdin)
    }

    /// Like [`Git::run_with`], but reads at most `max` bytes of stdout: past that, git is
    /// killed and the first `max` bytes come back with `true`. What a repository holds (a huge
    /// tree or blob anyone with push access can commit) never decides how much memory an
    /// answer takes.
    pub fn run_capped(&self, args: &[&str], stdin: Option<&[u8]>, max: usize) -> Result<(Vec<u8>, bool), GitError> {
        let mut cmd = self.command(args, &[]);
        if stdin.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd.spawn().map_err(GitError::Spawn)?;
        let (pipe, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let (stdout, stderr) = std::thread::scope(|s| {
            if let (Some(mut pipe), Some(data)) = (pipe, stdin) {
                s.spawn(move || {
                    let _ = pipe.write_all(data);
                });
            }
            // Drained beside stdout so a chatty stderr cannot block git; git's messages are short.
            let stderr = s.spawn(move || {
                let mut text = Vec::new();
                if let Some(e) = stderr {
                    let _ = e.take(64 * 1024).read_to_end(&mut text);
                }
                text
            });
            let mut out = Vec::new();
            let read = stdout.map_or(Ok(0), |o| o.take(max as u64 + 1).read_to_end(&mut out));
            if out.len() > max {
                // Killed before `wait`, so the stderr thread sees the pipe close.
                let _ = child.kill();
            }
            (read.map(|_| out), stderr.join().unwrap_or_default())
        });
        let stdout = stdout.map_err(GitError::Spawn)?;
        let status = child.wait().map_err(GitError::Spawn)?;
        if stdout.len() > max {
            let mut stdout = stdout;
            stdout.truncate(max);
            return Ok((stdout, true));
        }
        let out =
            Output { code: status.code(), stdout, stderr: String::from_utf8_lossy(&stderr).trim_end().to_string() };
        if out.success() {
            Ok((out.stdout, false))
        } else {
            Err(failed(args, &out))
        }
    }

    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut git_dir = OsString::from("--git-dir=");
        git_dir.push(&self.git_dir);
        let mut cmd = isolated_command();
        cmd.arg(git_dir).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }
}

/// Spawns `cmd`, feeds `stdin` from a helper thread (so a large input cannot deadlock
/// against a full stdout pipe) and collects the output.
pub(crate) fn run_command(mut cmd: Command, stdin: Option<&[u8]>) -> Result<Output, GitError> {
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().map_err(GitError::Spawn)?;
    let pipe = child.stdin.take();
    let output = std::thread::scope(|s| {
        if let (Some(mut pipe), Some(data)) = (pipe, stdin) {
            // A write error means git exited early; its status tells the story.
            s.spawn(move || {
                let _ = pipe.write_all(data);
            });
        }
        child.wait_with_output()
    })
    .map_err(GitError::Spawn)?;
    Ok(Output {
        code: output.status.code(),
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).trim_end().to_string(),
    })
}

/// The error for a run that exited unsuccessfully.
pub(crate) fn failed(args: &[&str], out: &Output) -> GitError {
    GitError::Failed {
        args: args.join(" "),
        status: match out.code {
            Some(c) => format!("exit {c}"),
            None => "killed by a signal".to_string(),
        },
        stderr: out.stderr.clone(),
    }
}

/// Stdout as one trimmed UTF-8 line (a sha, a type name).
pub(crate) fn line(args: &[&str], stdout: Vec<u8>) -> Result<String, GitError> {
    String::from_utf8(stdout)
        .map(|s| s.trim_end().to_string())
        .map_err(|_| GitError::Output { args: args.join(" "), detail: "not UTF-8".into() })
}
