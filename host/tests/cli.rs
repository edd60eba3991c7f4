//! The binary's contract with scripts: `--version`, `--help` and exit codes. Having an
//! integration test here also makes `cargo test` build `target/*/fgd-sync`, which the
//! end-to-end tests in `tests/` run.

use std::process::Command;

fn fgd_sync(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_fgd-sync"))
        .args(args)
        .env_remove("FGD_SYNC_CONFIG")
        .env_remove("GITHUB_TOKEN")
        .output()
        .expect("running fgd-sync")
}

#[test]
fn version_and_help_exit_zero() {
    let version = fgd_sync(&["--version"]);
    assert_eq!(version.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("fgd-sync "));
    let help = fgd_sync(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    for documented in ["0  done", "1  error", "2  conflicts", "GITHUB_TOKEN"] {
        assert!(text.contains(documented), "--help lacks {documented:?}:\n{text}");
    }
}

/// clap's default exit code for usage errors is 2, which here means "conflicts".
#[test]
fn usage_errors_exit_one_not_the_conflict_code() {
    for args in [&["no-such-command"][..], &["sync", "--no-such-flag"], &["resolve", "x", "--take", "both"]] {
        let out = fgd_sync(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(!out.stderr.is_empty());
    }
}

#[test]
fn missing_configuration_is_a_clear_error() {
    let out = fgd_sync(&["sync", "--fabric", "dc1"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no repository"), "{stderr}");
}
