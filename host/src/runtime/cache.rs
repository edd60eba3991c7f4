//! Precompiled components on disk, keyed by the engine's compatibility hash and the
//! component's bytes: the first run compiles (about a second), later runs load in
//! milliseconds. Any cache problem falls back to compiling; the cache is an optimisation.
//!
//! A precompiled component is native code that runs next to every token, so the cache trusts
//! only what no one else could have written: a directory owned by the current user and not
//! open to group or others (created `0700`), holding a regular file (never a symlink) owned by
//! the current user and not writable by group or others. Anything else is recompiled, and the
//! log says why. Files are written under an unpredictable name with `O_CREAT | O_EXCL` (which
//! never follows a symlink) and mode `0600`, then renamed into place.

use std::hash::{BuildHasher, Hash, Hasher};
use std::io::Write;
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
    let dir_trusted = match prepare_dir(&dir) {
        Ok(()) => true,
        Err(why) => {
            tracing::warn!(dir = %dir.display(), "not using the component cache ({why}); recompiling");
            false
        }
    };
    if dir_trusted {
        match trusted_file(&file) {
            Ok(true) => {
                // SAFETY: the file is a regular file owned by this user, in a directory only
                // this user can write (both checked above), named by the hash of the engine
                // settings and the component; wasmtime checks its header and version.
                match unsafe { Component::deserialize_file(engine, &file) } {
                    Ok(component) => return Ok((component, Origin::Cached(file))),
                    Err(error) => {
                        tracing::warn!(file = %file.display(), %error, "stale precompiled component; recompiling")
                    }
                }
            }
            Ok(false) => {}
            Err(why) => tracing::warn!(file = %file.display(), "untrusted precompiled component ({why}); recompiling"),
        }
    }
    let bytes = engine.precompile_component(wasm)?;
    let component = unsafe { Component::deserialize(engine, &bytes)? };
    if dir_trusted {
        if let Err(error) = store(&dir, &file, &bytes) {
            tracing::debug!(dir = %dir.display(), %error, "cannot write the component cache");
        }
    }
    Ok((component, Origin::Compiled))
}

/// Creates the directory `0700` when missing (parents as usual); an existing one must be
/// this user's and not writable by group or others.
fn prepare_dir(dir: &Path) -> Result<(), String> {
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| format!("creating {}: {e}", parent.display()))?;
    }
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    match builder.create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("creating it: {e}")),
    }
    // Followed if a link: the path is the operator's choice; what it names must be private.
    let meta = std::fs::metadata(dir).map_err(|e| e.to_string())?;
    if !meta.is_dir() {
        return Err("not a directory".into());
    }
    // Readable by others is harmless (older versions made it 0755); writable is not.
    owned_and_closed(&meta, 0o022)
}

/// `Ok(false)`: no file (the usual first run). `Err`: a file that must not be loaded.
fn trusted_file(file: &Path) -> Result<bool, String> {
    let meta = match std::fs::symlink_metadata(file) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e.to_string()),
    };
    if !meta.is_file() {
        return Err("not a regular file (a symlink?)".into());
    }
    owned_and_closed(&meta, 0o022).map(|()| true)
}

/// Owned by the effective user, and none of the `forbidden` permission bits set.
#[cfg(unix)]
fn owned_and_closed(meta: &std::fs::Metadata, forbidden: u32) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(format!("owned by uid {}, not by uid {me}", meta.uid()));
    }
    if meta.mode() & forbidden != 0 {
        return Err(format!("mode {:o} lets others write it", meta.mode() & 0o7777));
    }
    Ok(())
}

#[cfg(not(unix))]
fn owned_and_closed(_meta: &std::fs::Metadata, _forbidden: u32) -> Result<(), String> {
    Ok(())
}

/// Written to an unpredictable temporary name that must not exist yet (`create_new` is
/// `O_CREAT | O_EXCL`: a planted file or symlink there fails the write) and renamed, so
/// parallel runs never read half a file and a planted file at the final name is replaced.
fn store(dir: &Path, file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("c");
    let tmp = dir.join(format!(".{name}.{}.{:016x}.tmp", std::process::id(), random()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    let written = options.open(&tmp).and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()));
    match written.and_then(|()| std::fs::rename(&tmp, file)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// 64 unpredictable bits: std's randomly keyed SipHash over the clock.
fn random() -> u64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(nanos);
    hasher.finish()
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

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn tmp(label: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("fgd-cache-unit-{label}-{}-{:x}", std::process::id(), random()));
        std::fs::create_dir(&dir).unwrap();
        dir
    }

    #[test]
    fn only_private_regular_files_in_private_directories_are_trusted() {
        let base = tmp("trust");
        let dir = base.join("cache");
        prepare_dir(&dir).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        let file = dir.join("x.cwasm");
        assert_eq!(trusted_file(&file), Ok(false));
        store(&dir, &file, b"bytes").unwrap();
        assert_eq!(trusted_file(&file), Ok(true));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o646)).unwrap();
        assert!(trusted_file(&file).is_err());
        std::fs::remove_file(&file).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", &file).unwrap();
        assert!(trusted_file(&file).is_err(), "a symlink is never trusted");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(prepare_dir(&dir).is_ok(), "readable by others is harmless");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o770)).unwrap();
        assert!(prepare_dir(&dir).is_err());
        let _ = std::fs::remove_dir_all(&base);
    }
}
