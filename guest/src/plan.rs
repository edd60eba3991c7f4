//! Plans one commit: desired CRs + the branch as read + the sync state -> ordered changes,
//! conflicts, the files to write (with the new state file) and a commit message.
//!
//! Steps: validate and render every desired CR (refusing two different CRs on one path);
//! read the state; classify every path the sync is responsible for (desired, deleted and,
//! for a whole fabric, every path in the state); ask for missing contents, or settle the
//! verdicts into changes, conflicts and a new state. Every collection is ordered by path, so
//! the plan does not depend on the order of `desired`.

pub(crate) mod message;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize, Serializer};

use crate::blob;
use crate::classify::{self, FileVersion, Verdict};
use crate::model::{
    Action, Change, Conflict, ConflictKind, InvalidManifest, InvalidResource, RawResource, Resolution, ResourceRef,
    Side, SyncError,
};
use crate::path;
use crate::render;
use crate::state::{StateEntry, SyncState};
use crate::validate;

/// Everything `plan` needs; no I/O happens in planning. Mirrors WIT `plan-input` (and
/// serializes as it does, maps as lists of pairs; see `model`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PlanInput {
    /// The fabric directory, normalized (`path::normalize_directory`).
    pub directory: String,
    /// Repository path -> blob SHA of every file under the directory on the branch.
    #[serde(serialize_with = "pairs")]
    pub remote_files: BTreeMap<String, String>,
    /// The state file's text on the branch, if any.
    pub state: Option<String>,
    /// Blob SHA -> text, for the files an earlier call listed in `need_contents`.
    #[serde(serialize_with = "pairs")]
    pub contents: BTreeMap<String, String>,
    pub desired: Vec<RawResource>,
    pub deleted: Vec<ResourceRef>,
    pub complete: bool,
    pub resolutions: Vec<Resolution>,
}

/// WIT `list<tuple<string, string>>`.
fn pairs<S: Serializer>(map: &BTreeMap<String, String>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(map)
}

/// One file of the commit; `content: None` deletes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileWrite {
    pub path: String,
    pub content: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CommitPlan {
    pub changes: Vec<Change>,
    pub conflicts: Vec<Conflict>,
    pub unchanged: u32,
    /// Blob SHAs whose text is needed before the plan can decide (call again with them).
    pub need_contents: Vec<String>,
    /// Files of the commit, the state file included; empty means no commit.
    pub writes: Vec<FileWrite>,
    /// Subject line and body; empty when there is no change.
    pub message: String,
}

/// A desired CR, validated and rendered.
struct Rendered {
    resource: ResourceRef,
    text: String,
    sha: String,
}

/// One path the sync is responsible for in this plan.
struct Subject<'a> {
    resource: ResourceRef,
    desired: Option<&'a Rendered>,
    entry: Option<&'a StateEntry>,
}

/// What became of one path.
enum Outcome {
    Unchanged,
    Untracked,
    Apply(Action),
    Conflict(ConflictKind),
}

/// See WIT `logic.plan`. Multiple resolutions for one path: the last one counts.
/// The checks of `plan` that need nothing from the branch: every CR valid and renderable,
/// no two different CRs on one path, no CR both wanted and deleted. A sync runs them before
/// its first request, so bad input writes nothing (not even an empty repository's first commit).
pub fn check(directory: &str, desired: &[RawResource], deleted: &[ResourceRef]) -> Result<(), SyncError> {
    let directory = path::normalize_directory(directory)?;
    let rendered = render_desired(&directory, desired)?;
    deleted_refs(&directory, deleted, &rendered).map(drop)
}

pub fn plan(input: &PlanInput, message_prefix: &str) -> Result<CommitPlan, SyncError> {
    let directory = path::normalize_directory(&input.directory)?;
    let desired = render_desired(&directory, &input.desired)?;
    let deleted = deleted_refs(&directory, &input.deleted, &desired)?;
    let state_path = path::state_path(&directory);
    let state = match &input.state {
        None => SyncState::default(),
        Some(text) => SyncState::parse(text).map_err(|message| {
            SyncError::InvalidManifest(InvalidManifest { source: state_path.clone(), document: 0, message })
        })?,
    };
    let resolutions: BTreeMap<&str, Side> = input.resolutions.iter().map(|r| (r.path.as_str(), r.take)).collect();

    let subjects = subjects(&directory, &desired, deleted, &state, input.complete);
    let texts = Texts(&input.contents);
    let mut needs = BTreeSet::new();
    let mut outcomes = Vec::with_capacity(subjects.len());
    for (path, subject) in &subjects {
        let base = version(subject.entry.map(|e| e.sha.as_str()), path, &texts)?;
        let remote = version(input.remote_files.get(path).map(String::as_str), path, &texts)?;
        let desired = subject.desired.map(|d| FileVersion { sha: d.sha.clone(), content: Some(d.text.clone()) });
        let rendered_at_base = subject.entry.and_then(|e| e.rendered.as_deref());
        let outcome = match classify::classify(base.as_ref(), rendered_at_base, remote.as_ref(), desired.as_ref()) {
            Verdict::NeedContent(need) => {
                if let (true, Some(base)) = (need.base, &base) {
                    needs.insert(base.sha.clone());
                }
                if let (true, Some(remote)) = (need.remote, &remote) {
                    needs.insert(remote.sha.clone());
                }
                continue;
            }
            Verdict::Conflict(kind) => match resolutions.get(path.as_str()) {
                Some(&side) => Outcome::Apply(resolve(side, desired.is_some(), remote.is_some())),
                None => {
                    // A conflict is reported with both versions.
                    if let Some(FileVersion { sha, content: None }) = &remote {
                        needs.insert(sha.clone());
                    }
                    Outcome::Conflict(kind)
                }
            },
            Verdict::Unchanged => Outcome::Unchanged,
            Verdict::Untracked => Outcome::Untracked,
            Verdict::Apply(action) => Outcome::Apply(action),
        };
        outcomes.push(Classified { path, subject, base, remote, outcome });
    }
    if !needs.is_empty() {
        return Ok(CommitPlan { need_contents: needs.into_iter().collect(), ..CommitPlan::default() });
    }

    let (mut plan, new_state) = settle(&directory, &state, outcomes);
    if new_state != state {
        plan.writes.push(FileWrite { path: state_path, content: Some(new_state.to_text()) });
    }
    plan.writes.sort_by(|a, b| a.path.cmp(&b.path));
    plan.message = message::message(message_prefix, &directory, &plan.changes);
    Ok(plan)
}

/// One path, classified.
struct Classified<'a> {
    path: &'a String,
    subject: &'a Subject<'a>,
    base: Option<FileVersion>,
    remote: Option<FileVersion>,
    outcome: Outcome,
}

/// Turns outcomes into changes, conflicts, file writes and the new state. Conflicting paths
/// keep their state entry; untracked ones never get one.
fn settle(directory: &str, state: &SyncState, outcomes: Vec<Classified<'_>>) -> (CommitPlan, SyncState) {
    let mut plan = CommitPlan::default();
    let mut new_state = state.clone();
    for Classified { path, subject, base, remote, outcome } in outcomes {
        let relative = relative(directory, path).to_string();
        let remote_sha = remote.as_ref().map(|r| r.sha.clone());
        let action = match outcome {
            Outcome::Untracked => continue,
            Outcome::Unchanged => {
                plan.unchanged += u32::from(subject.desired.is_some());
                continue;
            }
            Outcome::Conflict(kind) => {
                plan.conflicts.push(Conflict {
                    path: path.clone(),
                    kind,
                    resource: subject.resource.clone(),
                    expected_sha: base.map(|b| b.sha),
                    actual_sha: remote_sha,
                    git_content: remote.and_then(|r| r.content),
                    hnp_content: subject.desired.map(|d| d.text.clone()),
                });
                continue;
            }
            Outcome::Apply(action) => action,
        };
        // Create, update and adopt come only with a rendering (see `classify` and `resolve`).
        let desired = subject.desired;
        match (action, desired) {
            (Action::Create | Action::Update, Some(d)) => {
                plan.writes.push(FileWrite { path: path.clone(), content: Some(d.text.clone()) });
                new_state.files.insert(relative, entry(subject, &d.sha, None));
            }
            (Action::Adopt, Some(d)) => {
                // Git's file stays as it is; the rendering is recorded when it differs.
                let sha = remote_sha.as_deref().unwrap_or(&d.sha);
                let rendered = (d.sha != sha).then_some(d.sha.as_str());
                new_state.files.insert(relative, entry(subject, sha, rendered));
            }
            (Action::Delete, _) => {
                plan.writes.push(FileWrite { path: path.clone(), content: None });
                new_state.files.remove(&relative);
            }
            _ => {
                new_state.files.remove(&relative);
            }
        }
        let new_sha = match action {
            Action::Create | Action::Update | Action::Adopt => desired.map(|d| d.sha.clone()),
            Action::Delete | Action::Forget => None,
        };
        plan.changes.push(Change {
            path: path.clone(),
            action,
            resource: subject.resource.clone(),
            base_sha: base.map(|b| b.sha),
            remote_sha,
            new_sha,
            old_content: None,
            new_content: None,
        });
    }
    (plan, new_state)
}

/// Validates and renders the desired CRs, keyed by repository path. Sorted first, so that
/// the first error and every message are the same for any order of `desired`.
fn render_desired(directory: &str, desired: &[RawResource]) -> Result<BTreeMap<String, Rendered>, SyncError> {
    let mut sorted: Vec<&RawResource> = desired.iter().collect();
    sorted.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
    let mut out: BTreeMap<String, Rendered> = BTreeMap::new();
    for raw in sorted {
        let resource = validate::resource(raw)?;
        let text = render::render(&resource)?;
        let reference = resource.reference();
        let path = path::manifest_path(directory, &reference);
        if let Some(seen) = out.get(&path) {
            if seen.text == text {
                continue;
            }
            return Err(invalid(&reference, format!("two different CRs are given for {path}")).into());
        }
        let sha = blob::blob_sha(text.as_bytes());
        out.insert(path, Rendered { resource: reference, text, sha });
    }
    Ok(out)
}

fn sort_key(r: &RawResource) -> (&str, &str, &str, Option<&str>, &str, &str, &str) {
    (&r.kind, &r.namespace, &r.name, r.api_version.as_deref(), &r.labels, &r.annotations, &r.spec)
}

/// Validates the refs of CRs HNP no longer has, keyed by repository path.
fn deleted_refs(
    directory: &str,
    deleted: &[ResourceRef],
    desired: &BTreeMap<String, Rendered>,
) -> Result<BTreeMap<String, ResourceRef>, SyncError> {
    let mut checked = Vec::with_capacity(deleted.len());
    for r in deleted {
        checked.push(validate::resource_ref(r.kind.as_str(), &r.namespace, &r.name)?);
    }
    checked.sort();
    let mut out = BTreeMap::new();
    for r in checked {
        let path = path::manifest_path(directory, &r);
        if desired.contains_key(&path) {
            return Err(invalid(&r, format!("is both desired and deleted ({path})")).into());
        }
        out.insert(path, r);
    }
    Ok(out)
}

fn invalid(r: &ResourceRef, message: String) -> InvalidResource {
    InvalidResource {
        kind: r.kind.as_str().to_string(),
        namespace: r.namespace.clone(),
        name: r.name.clone(),
        field: "metadata.name".to_string(),
        message,
    }
}

/// Every path this plan decides on, by repository path: desired CRs, deleted refs and, for a
/// whole fabric, every file in the state. Nothing else under the directory is looked at.
fn subjects<'a>(
    directory: &str,
    desired: &'a BTreeMap<String, Rendered>,
    deleted: BTreeMap<String, ResourceRef>,
    state: &'a SyncState,
    complete: bool,
) -> BTreeMap<String, Subject<'a>> {
    let entry = |path: &str| state.files.get(relative(directory, path));
    let mut out = BTreeMap::new();
    for (path, d) in desired {
        out.insert(path.clone(), Subject { resource: d.resource.clone(), desired: Some(d), entry: entry(path) });
    }
    for (path, resource) in deleted {
        let entry = entry(&path);
        out.insert(path, Subject { resource, desired: None, entry });
    }
    if complete {
        for (relative, e) in &state.files {
            let path = path::join(directory, relative);
            out.entry(path).or_insert_with(|| Subject { resource: e.resource.clone(), desired: None, entry: Some(e) });
        }
    }
    out
}

/// A path relative to the fabric directory. Every subject's path is inside it.
fn relative<'p>(directory: &str, path: &'p str) -> &'p str {
    path::strip_directory(directory, path).unwrap_or(path)
}

fn entry(subject: &Subject<'_>, sha: &str, rendered: Option<&str>) -> StateEntry {
    StateEntry { resource: subject.resource.clone(), sha: sha.to_string(), rendered: rendered.map(str::to_string) }
}

/// The action a user's resolution turns a conflict into.
fn resolve(side: Side, has_desired: bool, has_remote: bool) -> Action {
    match (side, has_desired, has_remote) {
        // HNP wins: the base counts as the remote, so the rendering is written over it.
        (Side::Hnp, true, true) => Action::Update,
        (Side::Hnp, true, false) => Action::Create,
        (Side::Hnp, false, true) => Action::Delete,
        // Git wins: its file becomes the base, with HNP's rendering recorded next to it.
        (Side::Git, true, true) => Action::Adopt,
        // Git wins and one side is gone: the sync stops tracking the path. A file Git kept
        // for a CR HNP deleted becomes untracked (never deleted). For a file Git deleted while
        // HNP still has the CR, the state cannot record "deleted on purpose": the next sync
        // creates it again unless HNP drops the CR first.
        (_, _, _) => Action::Forget,
    }
}

/// Texts by blob SHA, checked against their SHA when used: a comparison against the wrong
/// text could delete or adopt wrongly.
struct Texts<'a>(&'a BTreeMap<String, String>);

fn version(sha: Option<&str>, path: &str, texts: &Texts<'_>) -> Result<Option<FileVersion>, SyncError> {
    let Some(sha) = sha else { return Ok(None) };
    let content = match texts.0.get(sha) {
        Some(text) if blob::blob_sha(text.as_bytes()) != sha => {
            return Err(SyncError::InvalidManifest(InvalidManifest {
                source: path.to_string(),
                document: 0,
                message: format!("the text given for blob {sha} has another blob SHA (altered or re-encoded?)"),
            }))
        }
        text => text.cloned(),
    };
    Ok(Some(FileVersion { sha: sha.to_string(), content }))
}
