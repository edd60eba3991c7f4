//! The pull half of a plan: which edits made in Git go into HNP (`HnpChange`s).
//!
//! The rule mirrors the push's: HNP's CR is written only while it is exactly what the sync
//! last wrote or confirmed (its rendering is the base's), so an edit made in NetBox is never
//! overwritten by one made in Git; both changed is a conflict. What Git holds must parse into
//! exactly the CR its path names and pass validation, or nothing is written and the path
//! stays a conflict that says why.
//!
//! `raw/` files are ingested whole or not at all: every CR of a file must validate and be
//! free of conflicts before any of them goes into HNP. Once HNP holds them all (the plan
//! after the host applied the changes), the file is removed and the CRs' canonical files are
//! written under `managed/`, in the same commit.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Outcome, Rendered, Texts};
use crate::manifest::Parsed;
use crate::model::{Conflict, ConflictKind, HnpChange, HnpOp, RawError, RawResource, Resource, ResourceRef, SyncError};
use crate::{blob, manifest, path, render, validate};

/// A CR read from a Git file: validated, with its canonical rendering.
pub(super) struct GitCr {
    pub resource: Resource,
    pub sha: String,
}

impl GitCr {
    fn read(raw: &RawResource) -> Result<GitCr, (String, String)> {
        let resource = validate::resource(raw).map_err(|e| (e.field, e.message))?;
        let text = render::render(&resource).map_err(|e| (e.field, e.message))?;
        Ok(GitCr { sha: blob::blob_sha(text.as_bytes()), resource })
    }

    /// The CR as HNP is given it: normalized (namespace filled in, current API version,
    /// JSON objects), so every host writes the same thing.
    pub fn raw(&self) -> RawResource {
        let r = &self.resource;
        let json = |v: Value| v.to_string();
        RawResource {
            kind: r.kind.as_str().to_string(),
            api_version: Some(r.kind.api_version().to_string()),
            name: r.name.clone(),
            namespace: r.namespace.clone(),
            labels: json(serde_json::to_value(&r.labels).unwrap_or_default()),
            annotations: json(serde_json::to_value(&r.annotations).unwrap_or_default()),
            spec: json(Value::Object(r.spec.clone())),
        }
    }
}

/// What Git's file at `path` means for HNP: the one CR it holds, which must be the CR the
/// path names. The error is the reason the path stays a conflict.
pub(super) fn read_managed(path: &str, text: &str, named: &ResourceRef) -> Result<GitCr, String> {
    let documents = manifest::parse_documents(path, text).map_err(|e| match e {
        SyncError::InvalidManifest(m) => {
            format!("Git's file cannot go into HNP: document {}: {}", m.document, m.message)
        }
        other => format!("Git's file cannot go into HNP: {other:?}"),
    })?;
    let [Parsed { resource: raw, item: None, .. }] = documents.as_slice() else {
        return Err(format!("Git's file cannot go into HNP: it holds {} CRs, not one", documents.len()));
    };
    let cr =
        GitCr::read(raw).map_err(|(field, message)| format!("Git's file cannot go into HNP: {field}: {message}"))?;
    if cr.resource.reference() != *named {
        return Err(format!(
            "Git's file holds {}, not {named} that its path names: rename the file or fix its metadata",
            cr.resource.reference()
        ));
    }
    Ok(cr)
}

/// HNP's fields (`spec`, `labels`, `annotations`) whose data differ from Git's CR.
fn differing(hnp: &RawResource, git: &Resource) -> Vec<String> {
    let Ok(hnp) = validate::resource(hnp) else {
        // A desired CR was validated when it was rendered; all fields, to be safe.
        return vec!["spec".into(), "labels".into(), "annotations".into()];
    };
    let mut fields = Vec::new();
    if hnp.spec != git.spec {
        fields.push("spec".to_string());
    }
    if hnp.labels != git.labels {
        fields.push("labels".to_string());
    }
    if hnp.annotations != git.annotations {
        fields.push("annotations".to_string());
    }
    fields
}

pub(super) fn update(path: &str, hnp: &Rendered, git: &GitCr) -> HnpChange {
    HnpChange {
        op: HnpOp::Update,
        resource: git.raw(),
        expected: Some(hnp.source.clone()),
        fields: differing(&hnp.source, &git.resource),
        path: path.to_string(),
        records_sync: true,
    }
}

pub(super) fn create(path: &str, git: &GitCr) -> HnpChange {
    HnpChange {
        op: HnpOp::Create,
        resource: git.raw(),
        expected: None,
        fields: Vec::new(),
        path: path.to_string(),
        records_sync: true,
    }
}

pub(super) fn delete(path: &str, hnp: &Rendered) -> HnpChange {
    HnpChange {
        op: HnpOp::Delete,
        resource: hnp.source.clone(),
        expected: Some(hnp.source.clone()),
        fields: Vec::new(),
        path: path.to_string(),
        records_sync: false,
    }
}

/// How a conflict over a `raw/` file is settled (`resolve` takes managed files only).
const RAW_SETTLE: &str =
    "edit or remove the raw file in Git, or change the CR in HNP to match it (`resolve` does not apply to raw/ files)";

/// What the `raw/` files of the fabric come to in this plan.
#[derive(Default)]
pub(super) struct RawPass {
    pub changes: Vec<HnpChange>,
    pub conflicts: Vec<Conflict>,
    pub errors: Vec<RawError>,
    /// Raw files whose CRs HNP holds now: removed in this commit.
    pub removals: Vec<String>,
    /// Managed paths of those CRs: their canonical files are written even by a pull alone.
    pub forced: BTreeSet<String>,
}

/// One valid CR of a raw file.
struct RawCr {
    document: u32,
    managed: String,
    git: GitCr,
}

/// Decides every `raw/` file (see the module comment). `outcomes` are the managed paths'
/// outcomes in this plan; `needs` collects raw texts still to be read.
#[allow(clippy::too_many_arguments)]
pub(super) fn raw_files(
    directory: &str,
    remote_files: &BTreeMap<String, String>,
    texts: &Texts<'_>,
    unreadable: &BTreeSet<String>,
    refused: &BTreeSet<String>,
    desired: &BTreeMap<String, Rendered>,
    outcomes: &BTreeMap<&str, &Outcome>,
    needs: &mut BTreeSet<String>,
) -> RawPass {
    let mut pass = RawPass::default();
    // Every raw file's CRs, read; a file with any error is reported and dropped.
    let mut files: BTreeMap<&str, (&str, Vec<RawCr>)> = BTreeMap::new();
    for (file, sha) in remote_files.iter().filter(|(p, _)| path::is_raw_file(directory, p)) {
        // HNP refused one of its CRs in this sync: the file stays for another try.
        if refused.contains(file) {
            continue;
        }
        let error = |document: u32, field: &str, message: String| RawError {
            path: file.clone(),
            document,
            field: field.to_string(),
            message,
        };
        if unreadable.contains(sha) {
            pass.errors.push(error(0, "", "the file is not UTF-8 text".into()));
            continue;
        }
        let Some(text) = texts.0.get(sha) else {
            needs.insert(sha.clone());
            continue;
        };
        let documents = match manifest::parse_documents(file, text) {
            Ok(documents) => documents,
            Err(SyncError::InvalidManifest(m)) => {
                pass.errors.push(error(m.document, "", m.message));
                continue;
            }
            Err(other) => {
                pass.errors.push(error(0, "", format!("{other:?}")));
                continue;
            }
        };
        let mut crs = Vec::new();
        let mut bad = false;
        for parsed in documents {
            match GitCr::read(&parsed.resource) {
                Ok(git) => {
                    let managed = path::manifest_path(directory, &git.resource.reference());
                    crs.push(RawCr { document: parsed.document, managed, git });
                }
                Err((field, message)) => {
                    pass.errors.push(error(parsed.document, &parsed.field(&field), message));
                    bad = true;
                }
            }
        }
        if crs.is_empty() && !bad {
            pass.errors.push(error(0, "", "the file holds no CR".into()));
            continue;
        }
        if !bad {
            files.insert(file, (text, crs));
        }
    }
    // One CR in two places of `raw/` with other data: nobody can tell which is meant.
    let mut seen: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    let mut ambiguous = BTreeSet::new();
    for (file, (_, crs)) in &files {
        for cr in crs {
            match seen.get(cr.managed.as_str()) {
                Some((other, sha)) if *sha != cr.git.sha => {
                    ambiguous.insert(*file);
                    ambiguous.insert(*other);
                }
                _ => {
                    seen.insert(&cr.managed, (file, &cr.git.sha));
                }
            }
        }
    }
    for file in &ambiguous {
        let (_, crs) = &files[file];
        for cr in crs.iter().filter(|cr| seen.get(cr.managed.as_str()).is_some_and(|(f, _)| f != file)) {
            pass.errors.push(RawError {
                path: file.to_string(),
                document: cr.document,
                field: "metadata.name".into(),
                message: format!("{} is also in another raw file, with other data", cr.git.resource.reference()),
            });
        }
    }
    for (file, (text, crs)) in files.into_iter().filter(|(f, _)| !ambiguous.contains(f)) {
        let mut changes = Vec::new();
        let mut conflicts = Vec::new();
        for cr in &crs {
            let hnp = desired.get(&cr.managed);
            let outcome = outcomes.get(cr.managed.as_str()).copied();
            match decide(&cr.managed, hnp, &cr.git, outcome, remote_files.contains_key(&cr.managed)) {
                // From the raw file: the CR's managed file comes with the commit, and
                // `record-synced` names it then.
                Ok(Some(change)) => changes.push(HnpChange { path: file.to_string(), records_sync: false, ..change }),
                Ok(None) => {}
                Err(reason) => conflicts.push(Conflict {
                    path: file.to_string(),
                    kind: ConflictKind::CreatedInGit,
                    // `resolve` settles managed files; a raw file is settled where it is.
                    reason: format!("{reason}; {RAW_SETTLE}"),
                    resource: cr.git.resource.reference(),
                    expected_sha: None,
                    actual_sha: remote_files.get(file).cloned(),
                    git_content: Some(text.to_string()),
                    hnp_content: hnp.map(|h| h.text.clone()),
                }),
            }
        }
        if !conflicts.is_empty() {
            pass.conflicts.extend(conflicts);
        } else if !changes.is_empty() {
            pass.changes.extend(changes);
        } else {
            pass.removals.push(file.to_string());
            pass.forced.extend(crs.into_iter().map(|cr| cr.managed));
        }
    }
    pass
}

/// One raw CR against its managed path: a change for HNP (`Some`), nothing to write (HNP
/// holds its data already), or the reason it conflicts.
fn decide(
    managed: &str,
    hnp: Option<&Rendered>,
    git: &GitCr,
    outcome: Option<&Outcome>,
    file_exists: bool,
) -> Result<Option<HnpChange>, String> {
    let busy = match outcome {
        Some(Outcome::Conflict(..) | Outcome::Stale(..)) => {
            Some(format!("the managed file {managed} is in conflict; settle it first"))
        }
        Some(Outcome::Pull(_)) => Some(format!("the managed file {managed} was edited in Git too")),
        Some(Outcome::Held) => Some(format!("HNP refused the change of {managed} in this sync")),
        _ => None,
    };
    if let Some(busy) = busy {
        return Err(busy);
    }
    match hnp {
        Some(h) if h.sha == git.sha => Ok(None),
        None if !file_exists && !matches!(outcome, Some(Outcome::Apply(crate::model::Action::Delete))) => {
            Ok(Some(create(managed, git)))
        }
        None if file_exists => Err(format!("{managed} exists in Git, and HNP does not have its CR")),
        None => Err("HNP deleted the CR since the last sync".into()),
        Some(h) => match outcome {
            Some(Outcome::Unchanged) => Ok(Some(update(managed, h, git))),
            _ => Err("HNP changed the CR since the last sync, and its new data differs from the raw file's".into()),
        },
    }
}
