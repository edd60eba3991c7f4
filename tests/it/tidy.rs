//! Repository hygiene and architecture, checked like tests: every Rust file says what it owns
//! in a `//!` line (as rust-analyzer checks), no test module is left out of its test binary
//! (as jj checks), imports point down the layers `ARCHITECTURE.md` draws, the generated WIT
//! bindings are named only by their facades, and the kinds are listed in one table.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.is_file() {
        out.push(dir.to_path_buf());
        return;
    }
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() && !matches!(name.as_str(), "target" | "node_modules" | "proptest-regressions" | "corpus") {
            rust_files(&path, out);
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// Every Rust file of every crate: sources, tests, benches, build scripts, fuzz targets.
const ALL_RUST: &[&str] = &[
    "guest/src",
    "guest/tests",
    "guest/benches",
    "guest/fuzz/fuzz_targets",
    "host/build.rs",
    "host/src",
    "host/tests",
    "host/benches",
    "host/local-github/src",
    "host/local-github/tests",
    "tests/src",
    "tests/it",
    "tests/benches",
];

fn all_rust_files() -> Vec<PathBuf> {
    let root = workspace();
    let mut files = Vec::new();
    for dir in ALL_RUST {
        let path = root.join(dir);
        if path.exists() {
            rust_files(&path, &mut files);
        }
    }
    files
}

fn relative(path: &Path) -> String {
    path.strip_prefix(workspace()).unwrap().display().to_string()
}

#[test]
fn every_module_opens_with_a_doc_line() {
    let files = all_rust_files();
    assert!(files.len() > 100, "found only {} files", files.len());
    let missing: Vec<String> = files
        .iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            !text.lines().find(|l| !l.trim().is_empty()).is_some_and(|l| l.starts_with("//!"))
        })
        .map(|f| relative(f))
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

/// The top-level modules (`crate::X`) a file's code names, comments left out.
fn crate_imports(text: &str) -> BTreeSet<String> {
    let code: String = text.lines().map(|l| l.split("//").next().unwrap_or_default()).collect::<Vec<_>>().join("\n");
    let ident = |s: &str| s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>();
    let mut out = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a::b, c}`: the first segment of each item at depth 0.
            let mut depth = 0;
            let mut start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && !c.is_whitespace() => {
                        out.insert(ident(&group[i..]));
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident(rest));
        }
    }
    out.retain(|m| !m.is_empty() && m != "self");
    out
}

/// Checks that every top-level module of `src` imports only the modules `allowed` lists for
/// it (`"*"`: anything). A module missing from `allowed` may import nothing of the crate.
fn check_layers(src: &str, allowed: &[(&str, &[&str])]) {
    let root = workspace().join(src);
    let allowed: BTreeMap<&str, &[&str]> = allowed.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut wrong = Vec::new();
    for file in files {
        let inner = file.strip_prefix(&root).unwrap();
        let module = inner.iter().next().unwrap().to_string_lossy().trim_end_matches(".rs").to_string();
        if matches!(module.as_str(), "lib" | "main") {
            continue;
        }
        let may = allowed.get(module.as_str()).copied().unwrap_or(&[]);
        if may == ["*"] {
            continue;
        }
        for import in crate_imports(&std::fs::read_to_string(&file).unwrap()) {
            if import != module && !may.contains(&import.as_str()) {
                wrong.push(format!("{} imports crate::{import}", relative(&file)));
            }
        }
    }
    assert!(wrong.is_empty(), "imports that point up or sideways (see ARCHITECTURE.md): {wrong:#?}");
}

#[test]
fn guest_imports_point_down_the_layers() {
    check_layers(
        "guest/src",
        &[
            ("blob", &[]),
            ("tree", &[]),
            ("model", &[]),
            ("validate", &["model"]),
            ("path", &["model", "validate"]),
            ("render", &["model", "validate"]),
            ("manifest", &["model", "validate", "render"]),
            ("state", &["model", "validate", "path", "blob"]),
            ("classify", &["model", "manifest"]),
            ("plan", &["model", "validate", "render", "path", "blob", "manifest", "state", "classify"]),
            ("github", &["model", "path", "blob", "plan"]),
            ("engine", &["model", "path", "blob", "tree", "state", "plan", "github"]),
            ("component", &["*"]),
            ("fuzzing", &["*"]),
        ],
    );
}

#[test]
fn host_imports_point_down_the_layers() {
    check_layers(
        "host/src",
        &[
            ("wit", &[]),
            ("logging", &[]),
            ("net", &[]),
            ("runtime", &["wit", "net"]),
            ("report", &["wit"]),
            ("source", &["wit", "net", "runtime", "report"]),
            ("remote", &["net"]),
            ("replay", &["wit", "net", "runtime", "source", "report"]),
            ("serve", &["wit", "net", "runtime", "source", "report"]),
            ("config", &["*"]),
            ("cli", &["*"]),
        ],
    );
}

#[test]
fn the_generated_bindings_are_named_only_by_their_facades() {
    // The host's facade is `host/src/wit.rs`; the guest's bindings live under `component/`.
    let mut offenders = Vec::new();
    for file in all_rust_files() {
        let path = relative(&file);
        // This file names the patterns it looks for.
        if path == "host/src/wit.rs" || path.starts_with("guest/src/component/") || path == "tests/it/tidy.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        if text.contains("bindings::") || text.contains("bindgen!") || text.contains("wit_bindgen::generate") {
            offenders.push(path);
        }
    }
    assert!(offenders.is_empty(), "files that reach past the WIT facade: {offenders:#?}");
}

#[test]
fn the_kinds_are_listed_once() {
    // The one table is `guest/src/model.rs` `KINDS`. Another file that spells out most of the
    // kinds' NetBox endpoints or plurals is a second table that will drift.
    let endpoints = [
        "\"vpcs/",
        "\"externals/",
        "\"external-attachments/",
        "\"external-peerings/",
        "\"ipv4-namespaces/",
        "\"vpc-attachments/",
        "\"vpc-peerings/",
        "\"connections/",
        "\"servers/",
        "\"switches/",
        "\"switch-groups/",
        "\"vlan-namespaces/",
    ];
    let plurals = [
        "\"vpcattachments\"",
        "\"vpcpeerings\"",
        "\"externalattachments\"",
        "\"externalpeerings\"",
        "\"ipv4namespaces\"",
        "\"switchgroups\"",
        "\"vlannamespaces\"",
        "\"connections\"",
    ];
    let mut tables = Vec::new();
    for file in all_rust_files() {
        let path = relative(&file);
        if path == "guest/src/model.rs" || path == "tests/it/tidy.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let hits = |words: &[&str]| words.iter().filter(|w| text.contains(*w)).count();
        if hits(&endpoints) >= 4 || hits(&plurals) >= 4 {
            tables.push(path);
        }
    }
    assert!(tables.is_empty(), "a second kind table (use fgd_sync_guest::model::KINDS): {tables:#?}");
}

#[test]
fn the_guest_takes_time_and_randomness_from_its_host() {
    // A `HashMap` seeds itself from `wasi:random/insecure-seed`; `std::time` reads the clock
    // directly. Either would make a sync depend on something the host cannot fix or replay.
    let root = workspace().join("guest/src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            text.contains("HashMap") || text.contains("HashSet") || text.contains("std::time")
        })
        .map(|f| relative(f))
        .collect();
    assert!(offenders.is_empty(), "guest files that use HashMap/HashSet or std::time: {offenders:#?}");
}
