//! Shared test helpers: the Hedgehog sample files and CRDs, scratch directories, and a
//! Python 3 with PyYAML and jsonschema for cross-checks against independent implementations.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use fgd_sync_guest::manifest::parse_manifests;
use fgd_sync_guest::model::RawResource;

/// The sample manifests in `tests/data/hedgehog/samples/`.
pub const SAMPLES: [&str; 4] =
    ["docs-sample-wiring.yaml", "hydrated-fabric.yaml", "vpc-demo.yaml", "vpc-pre-demo.yaml"];

/// `tests/data/hedgehog/` of the workspace.
pub fn hedgehog_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/hedgehog")
}

pub fn crd_dir() -> PathBuf {
    hedgehog_dir().join("crds")
}

pub fn sample_path(name: &str) -> PathBuf {
    hedgehog_dir().join("samples").join(name)
}

pub fn sample_text(name: &str) -> String {
    let path = sample_path(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Every document of a sample, parsed.
pub fn sample_resources(name: &str) -> Vec<RawResource> {
    parse_manifests(name, &sample_text(name)).unwrap_or_else(|e| panic!("{name} does not parse: {e}"))
}

/// A fresh, empty scratch directory, unique per process and call.
pub fn scratch_dir(tag: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("fgd-sync-guest-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir
}

pub fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// `guest/tests/python/<name>`.
pub fn python_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python").join(name)
}

/// The Python interpreter, with `yaml` and `jsonschema` importable. Installs them with pip
/// once per test run when missing. A machine without Python, or where the install fails,
/// fails the test: these cross-checks are the point, never skipped silently.
pub fn python() -> &'static str {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    let ready = READY.get_or_init(|| {
        let imports =
            || Command::new("python3").args(["-c", "import yaml, jsonschema"]).output().map(|o| o.status.success());
        match imports() {
            Err(e) => return Err(format!("python3 is required for the YAML 1.1 and CRD cross-checks: {e}")),
            Ok(true) => return Ok(()),
            Ok(false) => {}
        }
        let pip = |extra: &[&str]| {
            Command::new("python3")
                .args(["-m", "pip", "install", "--quiet"])
                .args(extra)
                .args(["pyyaml", "jsonschema"])
                .output()
        };
        let first = pip(&[]).map_err(|e| format!("running pip: {e}"))?;
        if !first.status.success() {
            // Debian marks its Python "externally managed" (PEP 668); root on a test machine
            // may still install.
            let stderr = String::from_utf8_lossy(&first.stderr);
            let retried = stderr.contains("externally-managed-environment")
                && pip(&["--break-system-packages"]).map(|o| o.status.success()).unwrap_or(false);
            if !retried {
                return Err(format!("`python3 -m pip install pyyaml jsonschema` failed:\n{stderr}"));
            }
        }
        match imports() {
            Ok(true) => Ok(()),
            _ => Err("pyyaml and jsonschema installed, but `import yaml, jsonschema` still fails".into()),
        }
    });
    if let Err(message) = ready {
        panic!("{message}");
    }
    "python3"
}

/// Runs a script from `tests/python/`; panics with its output unless it exits 0. Returns
/// its standard output.
pub fn run_python(script: &str, args: &[&Path]) -> String {
    let output = Command::new(python())
        .arg(python_script(script))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {script}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{script} failed ({}):\n{stdout}\n{stderr}", output.status);
    stdout
}
