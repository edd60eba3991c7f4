//! The same component everywhere: the shared corpus gives identical renders, paths, plans
//! and errors under the Rust host, Python (PyPI `wasmtime`) and Node.js (jco); a recorded sync
//! replays byte for byte; the cassette fuzzer's short pass finds nothing.

mod corpus;
mod fuzz;
mod install;
mod replay;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use fgd_sync::runtime::{Runtime, RuntimeConfig, COMPONENT};
use serde_json::Value;

/// The workspace root (`tests/` is one of its members).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the workspace").to_path_buf()
}

/// `target/`, from `target/<profile>/deps/<test binary>`.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.ancestors().nth(3).expect("target/<profile>/deps/<test>").to_path_buf()
}

/// The very component the `fgd-sync` binary ships, as a file the other hosts can load.
pub fn component_file() -> PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = target_dir().join("hosts");
        std::fs::create_dir_all(&dir).expect("creating target/hosts");
        let file = dir.join("fgd_sync.wasm");
        if std::fs::read(&file).ok().as_deref() != Some(COMPONENT) {
            let tmp = dir.join(format!("fgd_sync.wasm.{}", std::process::id()));
            std::fs::write(&tmp, COMPONENT).expect("writing the component");
            std::fs::rename(&tmp, &file).expect("renaming the component");
        }
        file
    })
    .clone()
}

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let config = RuntimeConfig { cache_dir: Some(fgd_sync_tests::cli::cache_dir()), ..RuntimeConfig::default() };
        Runtime::load(config).expect("loading the component")
    })
}

fn corpus_file() -> PathBuf {
    workspace().join("tests/data/corpus/corpus.json")
}

fn corpus() -> Value {
    serde_json::from_str(&std::fs::read_to_string(corpus_file()).expect("reading corpus.json")).expect("corpus.json")
}

fn rust_result() -> &'static Value {
    static RESULT: OnceLock<Value> = OnceLock::new();
    RESULT.get_or_init(|| corpus::Runner::new(runtime(), &corpus()).run(&corpus_file(), &corpus()))
}

/// Runs a host's corpus script and parses what it printed.
fn host_result(mut cmd: Command, host: &str) -> Value {
    cmd.arg("--component").arg(component_file()).arg("--corpus").arg(corpus_file());
    let output = cmd.output().unwrap_or_else(|e| panic!("{host}: cannot run {cmd:?}: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{host} corpus run failed ({}):\n{stderr}", output.status);
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{host} printed no JSON ({e}):\n{stderr}"))
}

/// The first place where two results differ, as a JSON path, with both sides.
fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| {
                first_difference(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    &format!("{path}/{k}"),
                )
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().find_map(|(i, (p, q))| first_difference(p, q, &format!("{path}/{i}")))
        }
        _ if a == b => None,
        _ => {
            let cut = |v: &Value| v.to_string().chars().take(300).collect::<String>();
            Some(format!("{path}:\n  rust:  {}\n  other: {}", cut(a), cut(b)))
        }
    }
}

fn assert_same(rust: &Value, other: &Value, host: &str) {
    let strip = |v: &Value| {
        let mut v = v.clone();
        v.as_object_mut().expect("a result object").remove("host");
        v
    };
    let (rust, other) = (strip(rust), strip(other));
    if let Some(difference) = first_difference(&rust, &other, "") {
        panic!("the {host} host differs from the Rust host at {difference}");
    }
}

#[test]
fn corpus_expectations_hold_in_the_rust_host() {
    let corpus_file = corpus_file();
    corpus::check_expectations(&corpus(), rust_result(), corpus_file.parent().unwrap());
}

#[test]
fn python_host_gives_byte_identical_results_on_the_corpus() {
    let mut cmd = Command::new(install::python());
    cmd.arg(install::example("python").join("corpus.py"));
    let python = host_result(cmd, "Python");
    assert_eq!(python["host"], "python");
    assert_same(rust_result(), &python, "Python");
}

#[test]
fn node_host_gives_byte_identical_results_on_the_corpus() {
    let mut cmd = Command::new(install::node());
    cmd.arg(install::example("node").join("corpus.mjs"));
    let node = host_result(cmd, "Node.js");
    assert_eq!(node["host"], "node");
    assert_same(rust_result(), &node, "Node.js");
}
