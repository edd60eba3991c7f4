//! Precompiled components on disk, keyed by the engine's compatibility hash and the
//! component's bytes: the first run compiles (about a second), later runs load in
//! milliseconds. Any cache problem falls back to compiling; the cache is an optimisation.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::component::Component;
use wasmtime::Engine;

/// How the component was obtained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Compiled now (and written to the cache when possible).
    Compiled,
    /// Loaded precompiled from this file.
    Cached(PathBuf),
}

pub fn load(engine: &Engine, wasm: &[u8], dir: Option<&Path>) -> anyhow::Result<(Component, Origin)> {
    let Some(dir) = dir.map(Path::to_path_buf).or_else(default_dir) else {
        return Ok((Component::new(engine, wasm)?, Origin::Compiled));
    };
    let file = dir.join(format!("fgd-sync-{}.cwasm", key(engine, wasm)));
    if file.exists() {
        // SAFETY: the file is in the user's own cache directory, named by the hash of the
        // engine settings and the component; wasmtime checks its header and version.
        match unsafe { Component::deserialize_file(engine, &file) } {
            Ok(component) => return Ok((component, Origin::Cached(file))),
            Err(error) => tracing::warn!(file = %file.display(), %error, "stale precompiled component; compiling"),
        }
    }
    let bytes = engine.precompile_component(wasm)?;
    let component = unsafe { Component::deserialize(engine, &bytes)? };
    if let Err(error) = store(&dir, &file, &bytes) {
        tracing::debug!(dir = %dir.display(), %error, "cannot write the component cache");
    }
    Ok((component, Origin::Compiled))
}

/// Written to a temporary name and renamed, so parallel runs never read half a file.
fn store(dir: &Path, file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp =
        dir.join(format!(".{}.{}.tmp", file.file_name().and_then(|n| n.to_str()).unwrap_or("c"), std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, file)
}

fn key(engine: &Engine, wasm: &[u8]) -> String {
    // DefaultHasher::new() uses fixed keys: stable across runs of the same binary.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let engine_hash = hasher.finish();
    let wasm_hash = sha1_smol::Sha1::from(wasm).hexdigest();
    format!("{engine_hash:016x}-{}", &wasm_hash[..16])
}

/// `$FGD_SYNC_CACHE_DIR`, else `$XDG_CACHE_HOME/fgd-sync`, else `~/.cache/fgd-sync`.
fn default_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("FGD_SYNC_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(dir).join("fgd-sync"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache").join("fgd-sync"))
}
