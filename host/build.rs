//! Builds the guest component (`../guest`, target `wasm32-wasip2`, profile `guest`) and hands
//! its path to the crate as `FGD_SYNC_COMPONENT`, so the binary ships the component inside.
//!
//! rustup does not add a target listed in `rust-toolchain.toml` to a toolchain that is
//! already installed, so this script adds `wasm32-wasip2` itself (idempotent). The inner
//! cargo uses its own target directory: the outer build holds the lock on ours.

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let workspace = manifest_dir.parent().expect("host/ is inside the workspace").to_path_buf();
    for watched in ["guest/src", "guest/Cargo.toml", "wit", "Cargo.lock", "Cargo.toml"] {
        println!("cargo:rerun-if-changed={}", workspace.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=FGD_SYNC_PREBUILT_COMPONENT");

    // Escape hatch for packagers who build the component separately.
    if let Ok(prebuilt) = std::env::var("FGD_SYNC_PREBUILT_COMPONENT") {
        println!("cargo:rustc-env=FGD_SYNC_COMPONENT={prebuilt}");
        return;
    }

    ensure_target();
    let target_dir = workspace.join("target").join("guest-build");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .current_dir(&workspace)
        .args(["build", "--package", "fgd-sync-guest", "--lib", "--target", TARGET, "--profile", "guest"])
        .arg("--target-dir")
        .arg(&target_dir);
    // Flags meant for the host build must not leak into the wasm build.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        build.env_remove(var);
    }
    let status = build.status().expect("running cargo to build the guest component");
    assert!(status.success(), "building the guest component failed (see the output above)");

    let wasm = target_dir.join(TARGET).join("guest").join("fgd_sync_guest.wasm");
    assert!(wasm.exists(), "the guest build did not produce {}", wasm.display());
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("fgd_sync.wasm");
    std::fs::copy(&wasm, &out).expect("copying the component");
    println!("cargo:rustc-env=FGD_SYNC_COMPONENT={}", out.display());
    println!("cargo:rustc-env=FGD_SYNC_COMPONENT_BYTES={}", file_len(&out));
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Adds the wasm target to the active toolchain when it is missing.
fn ensure_target() {
    let sysroot = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| PathBuf::from(s.trim()));
    if let Some(sysroot) = &sysroot {
        if sysroot.join("lib").join("rustlib").join(TARGET).exists() {
            return;
        }
    }
    let mut rustup = Command::new("rustup");
    rustup.args(["target", "add", TARGET]);
    if let Ok(toolchain) = std::env::var("RUSTUP_TOOLCHAIN") {
        rustup.args(["--toolchain", &toolchain]);
    }
    match rustup.status() {
        Ok(status) if status.success() => {}
        other => panic!(
            "{TARGET} is not installed and `rustup target add {TARGET}` failed ({other:?}); install it and build again"
        ),
    }
}
