//! Installs what the Python and Node hosts need, once per machine and idempotently: a venv
//! under `target/py-venv` with `examples/python/requirements.txt`, and `npm ci` in
//! `examples/node`. Nothing touches the network when the pinned versions are in place. A
//! missing `python3`, `node` or `npm` fails the test with a message, never a skip.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use super::{target_dir, workspace};

/// Runs `cmd`; panics with its output when it fails or cannot start.
fn run(cmd: &mut Command, what: &str) -> String {
    let output = cmd.output().unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    assert!(
        output.status.success(),
        "{what}: {cmd:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn require_tool(tool: &str, install_hint: &str) {
    let found = Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(found, "`{tool}` is not installed, and the cross-host tests need it: {install_hint}");
}

/// `target/py-venv/bin/python` with the pinned `wasmtime`.
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| with_lock(install_python)).clone()
}

/// `node`, with `examples/node/node_modules` matching its lock file.
pub fn node() -> PathBuf {
    static NODE: OnceLock<PathBuf> = OnceLock::new();
    NODE.get_or_init(|| with_lock(install_node)).clone()
}

/// Tests run in parallel threads; installs run one at a time.
fn with_lock<T>(f: impl FnOnce() -> T) -> T {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    f()
}

fn install_python() -> PathBuf {
    require_tool("python3", "install Python 3.9 or later (Debian: `apt-get install python3 python3-venv`)");
    let venv = target_dir().join("py-venv");
    let python = venv.join("bin").join("python");
    let requirements = workspace().join("examples/python/requirements.txt");
    let pinned = std::fs::read_to_string(&requirements).expect("reading requirements.txt");
    let stamp = venv.join("fgd-sync-requirements.txt");
    if python.exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == pinned) {
        return python;
    }
    if !python.exists() {
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv), "creating the Python venv");
    }
    run(
        Command::new(&python)
            .args(["-m", "pip", "install", "--disable-pip-version-check", "--quiet", "-r"])
            .arg(&requirements),
        "installing the Python host's packages",
    );
    std::fs::write(&stamp, pinned).expect("writing the venv stamp");
    python
}

fn install_node() -> PathBuf {
    require_tool("node", "install Node.js 20 or later (Debian: `apt-get install nodejs npm`)");
    require_tool("npm", "install npm (Debian: `apt-get install npm`)");
    let dir = workspace().join("examples/node");
    let lock = std::fs::read(dir.join("package-lock.json")).expect("reading examples/node/package-lock.json");
    let stamp = dir.join("node_modules").join(".fgd-sync-lock");
    if std::fs::read(&stamp).is_ok_and(|s| s == lock) {
        return PathBuf::from("node");
    }
    run(
        Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]).current_dir(&dir),
        "installing the Node host's packages",
    );
    std::fs::write(&stamp, lock).expect("writing the node_modules stamp");
    PathBuf::from("node")
}

/// `examples/<dir>` in the workspace.
pub fn example(dir: &str) -> PathBuf {
    let path = workspace().join("examples").join(dir);
    assert!(Path::new(&path).is_dir(), "{} is missing", path.display());
    path
}
