//! Repository hygiene, checked like tests: every Rust module says what it owns in a `//!`
//! line (as rust-analyzer checks), and no test module is left out of its test binary (as jj
//! checks).

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() && !matches!(name.as_str(), "target" | "node_modules" | "proptest-regressions") {
            rust_files(&path, out);
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_module_opens_with_a_doc_line() {
    let root = workspace();
    let mut files = Vec::new();
    for dir in ["guest/src", "guest/tests", "host/src", "host/tests", "host/local-github/src", "tests/src", "tests/it"]
    {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 80, "found only {} files", files.len());
    let missing: Vec<String> = files
        .iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            !text.lines().find(|l| !l.trim().is_empty()).is_some_and(|l| l.starts_with("//!"))
        })
        .map(|f| f.strip_prefix(&root).unwrap().display().to_string())
        .collect();
    assert!(missing.is_empty(), "modules without a `//!` line saying what they own: {missing:#?}");
}

#[test]
fn no_test_module_is_forgotten() {
    let dir = workspace().join("tests/it");
    let main = std::fs::read_to_string(dir.join("main.rs")).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let module = name.strip_suffix(".rs").unwrap_or(&name).to_string();
        if module == "main" || (entry.path().is_dir() && !dir.join(format!("{module}.rs")).exists()) {
            continue;
        }
        assert!(main.contains(&format!("mod {module};")), "tests/it/{name} is not declared in tests/it/main.rs");
    }
}
