//! Runs the real `fgd-sync` binary, as users do: a fresh process per call, a clean
//! environment, a shared component cache so only the first call compiles the component.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fgd_sync::report::{ErrorReport, Report, SyncOutcome};

/// `target/<profile>/fgd-sync`, next to the test binary's `deps/` directory. `cargo test
/// --workspace` builds it because the `fgd-sync` package has an integration test
/// (`host/tests/cli.rs`); `cargo test -p fgd-sync-tests` alone does not: build it first.
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>");
    let bin = profile_dir.join(format!("fgd-sync{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.exists(), "{} is missing: build it with `cargo build -p fgd-sync`", bin.display());
    bin
}

/// The compiled-component cache shared by every test process of this build.
pub fn cache_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent().and_then(Path::parent).expect("target dir").join("fgd-sync-test-cache")
}

/// `fgd-sync` with no inherited secrets or config, logs at warn. The first call compiles the
/// component into the shared cache, so parallel tests do not all compile it at once.
pub fn command() -> Command {
    static WARM: std::sync::Once = std::sync::Once::new();
    WARM.call_once(|| {
        let out = bare_command()
            .arg("render")
            .arg("-")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("running fgd-sync");
        assert!(out.status.success(), "warming the component cache failed: {}", String::from_utf8_lossy(&out.stderr));
    });
    bare_command()
}

fn bare_command() -> Command {
    let mut cmd = Command::new(binary());
    for var in [
        "GITHUB_TOKEN",
        "NETBOX_URL",
        "NETBOX_TOKEN",
        "FGD_SYNC_CONFIG",
        "GITHUB_API_URL",
        "RUST_LOG",
        "XDG_CACHE_HOME",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("FGD_SYNC_CACHE_DIR", cache_dir()).env("NO_COLOR", "1");
    cmd
}

/// A finished run: exit code, stdout, stderr.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout of `plan`/`sync`/`resolve`/`replay --json`, read through the schema's own types
    /// (`fgd_sync::report`): a renamed or unknown field fails here, not deep in a test.
    pub fn outcome(&self) -> SyncOutcome {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!("stdout is not a JSON outcome ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr)
        })
    }

    /// The outcome's report; panics (showing the run) when it has an error instead.
    pub fn report(&self) -> Report {
        self.outcome().report.unwrap_or_else(|| panic!("no report:\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }

    /// The outcome's error; panics (showing the run) when it has a report instead.
    pub fn error(&self) -> ErrorReport {
        self.outcome().error.unwrap_or_else(|| panic!("no error:\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

pub fn run(cmd: &mut Command) -> Run {
    cmd.output().expect("running fgd-sync").into()
}

/// `git --git-dir <repo> <args>`; panics with git's stderr on failure.
pub fn git(repo: &Path, args: &[&str]) -> String {
    crate::github::GitRepo::new(repo).git(args).unwrap_or_else(|e| panic!("{e}"))
}
