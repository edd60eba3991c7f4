//! Integration tests of fgd-sync-local-github against real git repositories: every write is
//! verified with `git` itself and `git fsck --strict`, every 2xx body against GitHub's OpenAPI.

mod concurrency;
mod contents;
mod empty;
mod git_data;
mod limits;
mod protocol;
mod support;

/// Every `.rs` file here is a module above (a forgotten file would silently not run).
#[test]
fn no_test_file_forgotten() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it");
    let main = std::fs::read_to_string(dir.join("main.rs")).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(stem) = name.strip_suffix(".rs").filter(|s| *s != "main") {
            assert!(main.contains(&format!("mod {stem};")), "tests/it/{name} is not listed in main.rs");
        }
    }
}
