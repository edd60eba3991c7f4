//! The cassette fuzzer's short pass (`tests/src/bin/fuzz-cassettes`): 200 seeded mutants through
//! the component and the native engine. The long mode is documented in the binary's header.

use std::process::Command;

#[test]
fn cassette_fuzzer_short_pass_finds_nothing() {
    let output = Command::new(env!("CARGO_BIN_EXE_fuzz-cassettes"))
        .args(["--iterations", "200", "--seed", "1"])
        .env("FGD_SYNC_CACHE_DIR", fgd_sync_tests::cli::cache_dir())
        .env("NO_COLOR", "1")
        .output()
        .expect("running fuzz-cassettes");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "fuzz-cassettes found problems:\n{stdout}\n{stderr}");
    assert!(stdout.contains("200 passed, 0 failed"), "{stdout}");
}
