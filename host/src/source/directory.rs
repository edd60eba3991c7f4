//! CRs from manifest files (YAML or JSON, single or multi-document): for CI pipelines, demos
//! and tests. Files are read by the host but parsed inside the sandbox by the guest's
//! `parse-manifests`, so untrusted YAML never meets a native parser.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;

use super::{BoxFuture, CrSource, Synced};
use crate::runtime::{CallContext, Runtime};
use crate::wit::{namespace_or_default, CustomResource, HnpChange, HnpOp, ResourceRef};

/// Largest manifest file read; the guest refuses larger text anyway.
const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// The same fabric for every fabric name: a directory holds one fabric. Loaded from files it
/// is read-only (a pull is refused); made with `in_memory` it is a small HNP of its own that
/// takes a pull's writes (the demo, tests).
pub struct DirectorySource {
    resources: Mutex<Vec<CustomResource>>,
    recorded: Mutex<Vec<Synced>>,
    writable: bool,
}

impl DirectorySource {
    pub fn new(resources: Vec<CustomResource>) -> DirectorySource {
        DirectorySource { resources: Mutex::new(resources), recorded: Mutex::default(), writable: false }
    }

    /// CRs held in memory only, which a pull may create, update and delete.
    pub fn in_memory(resources: Vec<CustomResource>) -> DirectorySource {
        DirectorySource { writable: true, ..DirectorySource::new(resources) }
    }

    /// Every `*.yaml`, `*.yml` and `*.json` file below `dir` (or `dir` itself when it is a
    /// file), in path order, parsed by the guest.
    pub async fn load(runtime: &Runtime, context: CallContext, dir: &Path) -> anyhow::Result<DirectorySource> {
        let mut files = Vec::new();
        collect(dir, &mut files).with_context(|| format!("reading manifests from {}", dir.display()))?;
        let mut resources = Vec::new();
        for file in files {
            let text = read_manifest(&file).with_context(|| format!("reading {}", file.display()))?;
            resources.extend(parse(runtime, context.clone(), &file.display().to_string(), text).await?);
        }
        Ok(DirectorySource::new(resources))
    }

    /// Replaces or adds one CR (matched on kind, namespace, name): the demo's "edit in HNP".
    pub fn upsert(&self, cr: CustomResource) {
        let mut resources = self.resources.lock().unwrap_or_else(|p| p.into_inner());
        match resources.iter_mut().find(|r| same(r, &cr.kind, &cr.namespace, &cr.name)) {
            Some(existing) => *existing = cr,
            None => resources.push(cr),
        }
    }

    pub fn remove(&self, reference: &ResourceRef) {
        let mut resources = self.resources.lock().unwrap_or_else(|p| p.into_inner());
        resources.retain(|r| !same(r, &reference.kind, &reference.namespace, &reference.name));
    }

    pub fn resources(&self) -> Vec<CustomResource> {
        self.resources.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// What the guest recorded through `record-synced`, oldest first.
    pub fn recorded(&self) -> Vec<Synced> {
        self.recorded.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// One change of a pull, applied only while the CR is still what the guest saw.
fn apply_one(resources: &mut Vec<CustomResource>, change: &HnpChange) -> Option<String> {
    let cr = &change.resource;
    let at = resources.iter().position(|r| same(r, &cr.kind, &cr.namespace, &cr.name));
    let holds_expected = match (&change.expected, at) {
        (None, None) => true,
        (Some(expected), Some(i)) => resources[i] == *expected,
        _ => false,
    };
    if !holds_expected {
        return Some(format!("{} {}/{} changed meanwhile", cr.kind, namespace_or_default(&cr.namespace), cr.name));
    }
    match (change.op, at) {
        (HnpOp::Create, _) => resources.push(cr.clone()),
        (HnpOp::Update, Some(i)) => resources[i] = cr.clone(),
        (HnpOp::Delete, Some(i)) => {
            resources.remove(i);
        }
        (HnpOp::Update | HnpOp::Delete, None) => unreachable!("an update or delete expects a CR"),
    }
    None
}

/// Parses one manifest text in the sandbox; errors name the file, document and field.
pub async fn parse(
    runtime: &Runtime,
    context: CallContext,
    name: &str,
    text: String,
) -> anyhow::Result<Vec<CustomResource>> {
    runtime.parse_manifests(context, name.to_string(), text).await?.map_err(|e| anyhow::anyhow!(e.describe()))
}

fn same(r: &CustomResource, kind: &str, namespace: &str, name: &str) -> bool {
    r.kind == kind && namespace_or_default(&r.namespace) == namespace_or_default(namespace) && r.name == name
}

/// Reads a file `collect` found, again refusing a link (one swapped in since) and a file grown
/// past the cap: the size is checked on what is read, not on what `metadata` said.
fn read_manifest(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
    let mut text = String::new();
    options.open(path)?.take(MAX_FILE_BYTES + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::other(format!("{} is larger than {MAX_FILE_BYTES} bytes", path.display())));
    }
    Ok(text)
}

/// Directory levels below the top `collect` descends; deeper is an error, not a silent skip.
const MAX_DEPTH: usize = 16;

/// The manifest files below `path` (or `path` itself). Symbolic links are refused, the top
/// one included: a link to `/proc/self/environ` or to a file outside the directory would
/// hand the host's secrets to the parser and, through its errors, to logs and CI artifacts.
/// Entries are read with `symlink_metadata`, so nothing outside `path` is ever opened.
fn collect(path: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    collect_below(path, files, 0)
}

fn collect_below(path: &Path, files: &mut Vec<PathBuf>, depth: usize) -> std::io::Result<()> {
    let metadata = std::fs::symlink_metadata(path)?;
    if metadata.file_type().is_symlink() {
        return Err(std::io::Error::other(format!("{} is a symbolic link; links are not followed", path.display())));
    }
    if metadata.is_file() {
        if metadata.len() > MAX_FILE_BYTES {
            return Err(std::io::Error::other(format!("{} is larger than {MAX_FILE_BYTES} bytes", path.display())));
        }
        files.push(path.to_path_buf());
        return Ok(());
    }
    if !metadata.is_dir() {
        return Err(std::io::Error::other(format!("{} is not a regular file or directory", path.display())));
    }
    if depth >= MAX_DEPTH {
        return Err(std::io::Error::other(format!("{} is more than {MAX_DEPTH} directories deep", path.display())));
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    entries.sort();
    for entry in entries {
        let is_manifest =
            entry.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e, "yaml" | "yml" | "json"));
        let hidden = entry.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        // A link that is not a manifest is skipped like any other file; one that is, is refused.
        let kind = std::fs::symlink_metadata(&entry)?.file_type();
        if (kind.is_dir() && !kind.is_symlink()) || is_manifest {
            collect_below(&entry, files, depth + 1)?;
        }
    }
    Ok(())
}

impl CrSource for DirectorySource {
    fn list<'a>(&'a self, _fabric: &'a str) -> BoxFuture<'a, Result<Vec<CustomResource>, String>> {
        Box::pin(async move { Ok(self.resources()) })
    }

    fn get<'a>(
        &'a self,
        _fabric: &'a str,
        reference: &'a ResourceRef,
    ) -> BoxFuture<'a, Result<Option<CustomResource>, String>> {
        Box::pin(async move {
            let resources = self.resources.lock().unwrap_or_else(|p| p.into_inner());
            Ok(resources.iter().find(|r| same(r, &reference.kind, &reference.namespace, &reference.name)).cloned())
        })
    }

    fn apply<'a>(
        &'a self,
        _fabric: &'a str,
        changes: &'a [HnpChange],
    ) -> BoxFuture<'a, Result<Vec<Option<String>>, String>> {
        Box::pin(async move {
            if !self.writable {
                // The CLI refuses a pull from a directory; a guest asking anyway gets a refusal
                // per change, so nothing is recorded as a base for them.
                let refused = Some("a source directory is read-only: Git's edits go into NetBox".to_string());
                return Ok(vec![refused; changes.len()]);
            }
            let mut resources = self.resources.lock().unwrap_or_else(|p| p.into_inner());
            Ok(changes.iter().map(|change| apply_one(&mut resources, change)).collect())
        })
    }

    fn record<'a>(&'a self, _fabric: &'a str, synced: &'a [Synced]) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            for s in synced {
                tracing::debug!(path = %s.path, sha = %s.blob_sha, "synced");
            }
            self.recorded.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(synced);
            Ok(())
        })
    }
}
