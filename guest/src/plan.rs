//! Plans one commit: desired CRs + the branch as read + the sync state -> ordered changes,
//! conflicts, the files to write (with the new state file) and a commit message.
//!
//! Steps: validate and render every desired CR (refusing two different CRs on one path);
//! read the state; classify every path the sync is responsible for (desired, deleted and,
//! for a whole fabric, every path in the state); ask for missing contents, or settle the
//! verdicts into changes, conflicts and a new state. Every collection is ordered by path, so
//! the plan does not depend on the order of `desired`.

pub(crate) mod message;
mod pull;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize, Serializer};

use crate::blob;
use crate::classify::{self, Explained, FileVersion, Verdict};
use crate::manifest;
use crate::model::{
    Action, Change, Conflict, ConflictKind, Direction, ForeignState, GitVersion, HnpChange, HnpOp, InvalidManifest,
    InvalidResource, RawError, RawResource, Resolution, ResourceRef, Side, SyncError,
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
    /// The fabric; the state file records it and a state naming another is refused.
    pub fabric: String,
    /// Paths whose state entry a commit not made by fgd-sync changed (see `engine`).
    pub untrusted: BTreeSet<String>,
    /// Blob SHAs whose text cannot be had (not UTF-8, gone from history).
    pub unreadable: BTreeSet<String>,
    /// Which way edits go; a pull turns Git's edits into `CommitPlan::hnp_changes`.
    pub direction: Direction,
    /// Paths whose HNP changes HNP refused in this sync: left alone.
    pub refused: BTreeSet<String>,
}

impl PlanInput {
    /// HNP accepted a pull's change: HNP's CRs, as this input holds them, are Git's now.
    pub fn accept(&mut self, change: &HnpChange) {
        let reference = |r: &RawResource| validate::resource_ref(&r.kind, &r.namespace, &r.name).ok();
        let changed = reference(&change.resource);
        self.desired.retain(|r| changed.is_none() || reference(r) != changed);
        match change.op {
            HnpOp::Create | HnpOp::Update => self.desired.push(change.resource.clone()),
            // A selection names its deletions; a whole fabric infers them from absence.
            HnpOp::Delete if !self.complete => {
                if let Some(r) = changed.filter(|r| !self.deleted.contains(r)) {
                    self.deleted.push(r);
                }
            }
            HnpOp::Delete => {}
        }
    }
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
    /// Desired CRs that fail validation; their paths are left alone.
    pub invalid: Vec<InvalidResource>,
    pub unchanged: u32,
    /// Blob SHAs whose text is needed before the plan can decide (call again with them).
    pub need_contents: Vec<String>,
    /// Files of the commit, the state file included; empty means no commit.
    pub writes: Vec<FileWrite>,
    /// CRs to write into HNP before the commit (a pull). The caller applies them, puts what
    /// HNP accepted into `desired` and the refused paths into `refused`, and plans again.
    pub hnp_changes: Vec<HnpChange>,
    /// `raw/` files that cannot be ingested.
    pub raw_errors: Vec<RawError>,
    /// Subject line and body; empty when there is no change.
    pub message: String,
}

/// A desired CR, validated and rendered.
struct Rendered {
    resource: ResourceRef,
    text: String,
    sha: String,
    /// As HNP gave it: what a pull expects HNP still to hold when it writes.
    source: RawResource,
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
    /// Git's edit goes into HNP (a pull); the file and the state wait for the next plan.
    Pull(Box<HnpChange>),
    /// HNP's edit waits for a push (this plan only pulls).
    Waiting,
    /// HNP refused this path's change in this sync: left alone.
    Held,
    /// A conflict, with its reason when more needs saying than the kind's default.
    Conflict(ConflictKind, Option<String>),
    /// A conflict whose resolution was decided on another Git version: reported again, with
    /// a reason that says what the user saw.
    Stale(ConflictKind, String),
}

/// The checks of `plan` that need nothing from the branch. A CR that fails validation (kind,
/// name, a field) or rendering is returned in the list (`plan` reports it and leaves its path
/// alone); errors are what no single CR explains: a bad directory, two different CRs on one
/// path, a CR both wanted and deleted. A sync runs them before its first request, so such
/// input writes nothing (not even an empty repository's first commit).
pub fn check(
    directory: &str,
    desired: &[RawResource],
    deleted: &[ResourceRef],
) -> Result<Vec<InvalidResource>, SyncError> {
    let directory = path::normalize_directory(directory)?;
    let desired = render_desired(&directory, desired)?;
    deleted_refs(&directory, deleted, &desired)?;
    Ok(desired.invalid)
}

/// See WIT `logic.plan`. Multiple resolutions for one path: the last one counts.
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
    owned(&state, &input.fabric, &directory, &state_path)?;
    let resolutions: BTreeMap<&str, &Resolution> = input.resolutions.iter().map(|r| (r.path.as_str(), r)).collect();

    let pulls = input.direction.pulls();
    let subjects = subjects(&directory, &desired, deleted, &state, input, pulls);
    let invalid = desired.invalid.clone();
    let texts = Texts(&input.contents);
    let mut needs = BTreeSet::new();
    let mut outcomes = Vec::with_capacity(subjects.len());
    for (path, subject) in &subjects {
        // A tombstone is no base: Git has no file there on purpose.
        let tombstone = subject.entry.filter(|e| e.deleted);
        let live = subject.entry.filter(|e| !e.deleted);
        let base = version(live.map(|e| e.sha.as_str()), path, &texts)?;
        let remote = version(input.remote_files.get(path).map(String::as_str), path, &texts)?;
        let desired = subject.desired.map(|d| FileVersion { sha: d.sha.clone(), content: Some(d.text.clone()) });
        let rendered_at_base = live.and_then(|e| e.rendered.as_deref());
        let explained = match tombstone {
            // A file a revert (not the user) removed while HNP has the CR stays a conflict.
            Some(t) if t.untrusted && desired.is_some() && remote.is_none() => {
                Verdict::Conflict(ConflictKind::UntrustedBase).into()
            }
            Some(t) => tombstoned(&t.sha, remote.as_ref(), desired.as_ref()).into(),
            None => classify::explain(base.as_ref(), rendered_at_base, remote.as_ref(), desired.as_ref()),
        };
        let sides = Sides { base: base.as_ref(), remote: remote.as_ref(), desired: desired.as_ref() };
        // Found untrusted by the engine now, or marked so by an earlier plan (`settle`).
        let untrusted = input.untrusted.contains(path) || subject.entry.is_some_and(|e| e.untrusted);
        let Explained { verdict, reason: why } = overrule(input, untrusted, explained, &sides);
        // A pull never writes HNP from a base it cannot trust, and HNP is written only while
        // its CR is what the sync last wrote or confirmed (its rendering is the base's).
        let pulls = pulls && !untrusted;
        let hnp_unchanged = match (live, &subject.desired) {
            (Some(e), Some(d)) => d.sha == rendered_at_base.unwrap_or(&e.sha),
            (None, Some(d)) => tombstone.is_some_and(|t| t.sha == d.sha),
            _ => false,
        };
        if input.refused.contains(path) {
            outcomes.push(Classified { path, subject, base, remote, outcome: Outcome::Held });
            continue;
        }
        // `Err`: the blob whose text the pull needs first.
        let outcome: Result<Outcome, String> = match verdict {
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
                // Git wins on both sides: its data goes into HNP too (an explicit decision,
                // so even over an untrusted base).
                Some(r)
                    if pinned(r.expect.as_ref(), remote.as_ref()) && input.direction.pulls() && r.take == Side::Git =>
                {
                    take_git(kind, path, subject, remote.as_ref())
                }
                Some(r) if pinned(r.expect.as_ref(), remote.as_ref()) => {
                    Ok(Outcome::Apply(resolve(r.take, desired.is_some(), remote.is_some())))
                }
                None if pulls && hnp_unchanged && git_edit(kind) => take_git(kind, path, subject, remote.as_ref()),
                found => {
                    // A conflict is reported with both versions (those that can be read).
                    if let Some(FileVersion { sha, content: None }) = &remote {
                        if !input.unreadable.contains(sha) {
                            needs.insert(sha.clone());
                        }
                    }
                    Ok(match found {
                        Some(r) => Outcome::Stale(kind, stale(r, remote.as_ref())),
                        None => Outcome::Conflict(kind, why.map(str::to_string)),
                    })
                }
            },
            // Git's deletion, kept earlier with `resolve --take git`, reaches HNP now.
            Verdict::Unchanged if pulls && hnp_unchanged && tombstone.is_some() && remote.is_none() => {
                Ok(Outcome::Pull(Box::new(pull::delete(
                    path,
                    subject.desired.expect("hnp_unchanged implies a desired CR"),
                ))))
            }
            Verdict::Unchanged => Ok(Outcome::Unchanged),
            // A managed file the sync never wrote, for a CR HNP lacks: created in HNP.
            Verdict::Untracked if pulls && subject.entry.is_none() && subject.desired.is_none() => {
                take_git(ConflictKind::CreatedInGit, path, subject, remote.as_ref())
            }
            Verdict::Untracked => Ok(Outcome::Untracked),
            Verdict::Apply(action) => Ok(Outcome::Apply(action)),
        };
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(sha) => {
                needs.insert(sha);
                continue;
            }
        };
        outcomes.push(Classified { path, subject, base, remote, outcome });
    }
    let raw = if pulls {
        let by_path: BTreeMap<&str, &Outcome> = outcomes.iter().map(|c| (c.path.as_str(), &c.outcome)).collect();
        pull::raw_files(
            &directory,
            &input.remote_files,
            &texts,
            &input.unreadable,
            &input.refused,
            &desired.rendered,
            &by_path,
            &mut needs,
        )
    } else {
        pull::RawPass::default()
    };
    if !needs.is_empty() {
        return Ok(CommitPlan { need_contents: needs.into_iter().collect(), ..CommitPlan::default() });
    }
    if !input.direction.pushes() {
        // A pull alone writes no file for HNP's own edits (they wait for a push), but does
        // write the canonical files of CRs ingested from `raw/`.
        for c in &mut outcomes {
            if matches!(c.outcome, Outcome::Apply(Action::Create | Action::Update | Action::Delete))
                && !raw.forced.contains(c.path.as_str())
            {
                c.outcome = Outcome::Waiting;
            }
        }
    }

    let (mut plan, mut new_state) = settle(&directory, &state, outcomes);
    plan.invalid = invalid;
    plan.hnp_changes.extend(raw.changes);
    plan.conflicts.extend(raw.conflicts);
    plan.conflicts.sort_by(|a, b| a.path.cmp(&b.path));
    plan.raw_errors = raw.errors;
    plan.writes.extend(raw.removals.into_iter().map(|path| FileWrite { path, content: None }));
    // Marks of untrusted entries ride along with a commit that happens anyway; alone they
    // are no reason for one (the next sync finds the same foreign commit again).
    if plan.writes.is_empty() && unmarked(&new_state) == unmarked(&state) {
        new_state = state.clone();
    }
    if new_state != state {
        // Whenever the state is written it names its owner (a version 1 state is adopted here).
        if !input.fabric.is_empty() {
            new_state.fabric = Some(input.fabric.clone());
        }
        new_state.directory = Some(directory.clone());
        plan.writes.push(FileWrite { path: state_path, content: Some(new_state.to_text()) });
    }
    plan.writes.sort_by(|a, b| a.path.cmp(&b.path));
    plan.message = message::message(message_prefix, &directory, &plan.changes);
    Ok(plan)
}

/// The state without the marks of untrusted entries (marked tombstones dropped).
fn unmarked(state: &SyncState) -> SyncState {
    let mut out = state.clone();
    out.files.retain(|_, e| !(e.untrusted && e.deleted));
    out.files.values_mut().for_each(|e| e.untrusted = false);
    out
}

/// The sides of one path, as classified.
struct Sides<'v> {
    base: Option<&'v FileVersion>,
    remote: Option<&'v FileVersion>,
    desired: Option<&'v FileVersion>,
}

/// What the engine learned beyond the texts overrules a verdict, before any resolution:
/// 1. a path whose remote or base blob cannot be read is an `unreadable` conflict unless
///    its verdict writes no file (nothing is ever compared with, or asked of, such a blob);
/// 2. a path whose state entry a foreign commit changed (a revert, a hand edit) is never
///    created, updated or deleted from that base: an `untrusted-base` conflict. Adopting
///    stays only when Git already holds HNP's data (it writes no file and trusts no base).
fn overrule(input: &PlanInput, untrusted: bool, explained: Explained, sides: &Sides<'_>) -> Explained {
    let Explained { verdict, .. } = explained;
    let unreadable = |v: Option<&FileVersion>| v.is_some_and(|v| input.unreadable.contains(&v.sha));
    let why = if unreadable(sides.remote) {
        Some("Git's file cannot be read as text (not UTF-8?)")
    } else if unreadable(sides.base) {
        Some("the base blob the sync state records cannot be read (gone from history?)")
    } else {
        None
    };
    if let Some(why) = why {
        let writes_nothing = match verdict {
            Verdict::Unchanged | Verdict::Untracked | Verdict::Apply(Action::Forget) => true,
            Verdict::Apply(Action::Adopt) => sides.remote.zip(sides.desired).is_some_and(|(r, d)| r.sha == d.sha),
            _ => false,
        };
        if !writes_nothing {
            return Explained { verdict: Verdict::Conflict(ConflictKind::Unreadable), reason: Some(why) };
        }
    }
    if untrusted {
        let untrusted = Explained { verdict: Verdict::Conflict(ConflictKind::UntrustedBase), reason: None };
        return match verdict {
            Verdict::Apply(Action::Create | Action::Update | Action::Delete) => untrusted,
            Verdict::Apply(Action::Adopt) => match in_git_is_hnp(sides) {
                Some(true) => explained,
                // Adopted on a comparison with the base alone: its content is known.
                None => Verdict::NeedContent(classify::ContentNeeded { base: false, remote: true }).into(),
                Some(false) => untrusted,
            },
            _ => explained,
        };
    }
    explained
}

/// Whether Git's file holds HNP's data; `None` when Git's text is needed to tell.
fn in_git_is_hnp(sides: &Sides<'_>) -> Option<bool> {
    match (sides.remote, sides.desired) {
        (Some(r), Some(d)) if r.sha == d.sha => Some(true),
        (Some(r), Some(d)) => match (&r.content, &d.content) {
            (Some(git), Some(hnp)) => Some(manifest::same_data(git, hnp)),
            _ => None,
        },
        _ => Some(false),
    }
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
            Outcome::Untracked | Outcome::Waiting | Outcome::Held => continue,
            Outcome::Pull(change) => {
                plan.hnp_changes.push(*change);
                continue;
            }
            Outcome::Unchanged => {
                plan.unchanged += u32::from(subject.desired.is_some());
                continue;
            }
            Outcome::Conflict(kind, _) | Outcome::Stale(kind, _) => {
                if kind == ConflictKind::UntrustedBase {
                    // Marked, so that the next plan still refuses this base after fgd-sync's
                    // own commit has become the last one to touch the state.
                    if let Some(mut held) = subject.entry.cloned() {
                        held.untrusted = true;
                        new_state.files.insert(relative.clone(), held);
                    } else if let (None, Some(d)) = (&remote, subject.desired) {
                        // A revert removed a file the sync had created: a marked tombstone.
                        let mut held = StateEntry::tombstone(subject.resource.clone(), &d.sha);
                        held.untrusted = true;
                        new_state.files.insert(relative.clone(), held);
                    }
                }
                let reason = match outcome {
                    Outcome::Stale(_, why) => why,
                    Outcome::Conflict(_, Some(why)) => why,
                    _ if subject.entry.is_some_and(|e| e.deleted) => {
                        "deleted in Git and kept so with `resolve --take git`; HNP changed the CR since".to_string()
                    }
                    _ => reason(kind).to_string(),
                };
                plan.conflicts.push(Conflict {
                    path: path.clone(),
                    kind,
                    reason,
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
            (Action::Forget, Some(d)) if remote_sha.is_none() => {
                // Git's deletion kept while HNP has the CR: a tombstone with HNP's rendering, so
                // the next sync neither recreates the file nor asks again until HNP changes it.
                new_state.files.insert(relative, StateEntry::tombstone(subject.resource.clone(), &d.sha));
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

/// The desired CRs: the valid ones rendered, keyed by repository path; the invalid ones
/// listed, with the paths they would have (when their kind and name allow one) held.
struct Desired {
    rendered: BTreeMap<String, Rendered>,
    invalid: Vec<InvalidResource>,
    /// Paths of invalid CRs: never created, updated or deleted by this plan.
    held: BTreeSet<String>,
}

/// Validates and renders the desired CRs. Sorted first, so that the first error and every
/// message are the same for any order of `desired`. A CR that fails validation or rendering
/// is listed, not an error: one bad CR must not block its fabric.
fn render_desired(directory: &str, desired: &[RawResource]) -> Result<Desired, SyncError> {
    let mut sorted: Vec<&RawResource> = desired.iter().collect();
    sorted.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
    let mut out = Desired { rendered: BTreeMap::new(), invalid: Vec::new(), held: BTreeSet::new() };
    for raw in sorted {
        let rendering = validate::resource(raw).and_then(|r| Ok((render::render(&r)?, r.reference())));
        let (text, reference) = match rendering {
            Ok(ok) => ok,
            Err(e) => {
                // Its file, found by the raw kind, namespace and name, stays as it is (even in a
                // whole-fabric plan, where its absence would otherwise delete it). A name that
                // gives no path can match no state entry either.
                if let Ok(r) = validate::resource_ref(&raw.kind, &raw.namespace, &raw.name) {
                    out.held.insert(path::manifest_path(directory, &r));
                }
                if !out.invalid.contains(&e) {
                    out.invalid.push(e);
                }
                continue;
            }
        };
        let path = path::manifest_path(directory, &reference);
        if let Some(seen) = out.rendered.get(&path) {
            if seen.text == text {
                continue;
            }
            return Err(invalid(&reference, format!("two different CRs are given for {path}")).into());
        }
        let sha = blob::blob_sha(text.as_bytes());
        out.rendered.insert(path, Rendered { resource: reference, text, sha, source: raw.clone() });
    }
    // A valid and an invalid CR on one path: HNP's data for it is in doubt, so the path is
    // left alone too (and the rest of the fabric goes on).
    let held = &out.held;
    out.rendered.retain(|path, _| !held.contains(path));
    Ok(out)
}

fn sort_key(r: &RawResource) -> (&str, &str, &str, Option<&str>, &str, &str, &str) {
    (&r.kind, &r.namespace, &r.name, r.api_version.as_deref(), &r.labels, &r.annotations, &r.spec)
}

/// Validates the refs of CRs HNP no longer has, keyed by repository path.
fn deleted_refs(
    directory: &str,
    deleted: &[ResourceRef],
    desired: &Desired,
) -> Result<BTreeMap<String, ResourceRef>, SyncError> {
    let mut checked = Vec::with_capacity(deleted.len());
    for r in deleted {
        checked.push(validate::resource_ref(r.kind.as_str(), &r.namespace, &r.name)?);
    }
    checked.sort();
    let mut out = BTreeMap::new();
    for r in checked {
        let path = path::manifest_path(directory, &r);
        if desired.rendered.contains_key(&path) || desired.held.contains(&path) {
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
/// whole fabric, every file in the state but those of invalid CRs, and (when it pulls) every
/// managed file Git has. Nothing else under the directory is looked at.
fn subjects<'a>(
    directory: &str,
    desired: &'a Desired,
    deleted: BTreeMap<String, ResourceRef>,
    state: &'a SyncState,
    input: &PlanInput,
    pulls: bool,
) -> BTreeMap<String, Subject<'a>> {
    let complete = input.complete;
    let entry = |path: &str| state.files.get(relative(directory, path));
    let mut out = BTreeMap::new();
    for (path, d) in &desired.rendered {
        out.insert(path.clone(), Subject { resource: d.resource.clone(), desired: Some(d), entry: entry(path) });
    }
    for (path, resource) in deleted {
        let entry = entry(&path);
        out.insert(path, Subject { resource, desired: None, entry });
    }
    if complete {
        for (relative, e) in &state.files {
            let path = path::join(directory, relative);
            if desired.held.contains(&path) {
                continue;
            }
            out.entry(path).or_insert_with(|| Subject { resource: e.resource.clone(), desired: None, entry: Some(e) });
        }
    }
    if complete && pulls {
        for path in input.remote_files.keys() {
            let Some(resource) = path::resource_at(directory, path) else { continue };
            if desired.held.contains(path) {
                continue;
            }
            out.entry(path.clone()).or_insert_with(|| Subject { resource, desired: None, entry: None });
        }
    }
    out
}

/// Conflicts a pull can settle: Git edited or deleted the file while HNP kept the CR as is.
fn git_edit(kind: ConflictKind) -> bool {
    matches!(kind, ConflictKind::ModifiedInGit | ConflictKind::DeletedInGit)
}

/// Git's side of a path, carried into HNP: an update, a create or a delete of the CR, or
/// (when Git's file holds no valid CR for the path) a `kind` conflict that says why. `Err`: the
/// blob whose text is needed first.
fn take_git(
    kind: ConflictKind,
    path: &str,
    subject: &Subject<'_>,
    remote: Option<&FileVersion>,
) -> Result<Outcome, String> {
    let git = match remote {
        None => None,
        Some(FileVersion { sha, content: None }) => return Err(sha.clone()),
        Some(FileVersion { content: Some(text), .. }) => match pull::read_managed(path, text, &subject.resource) {
            Ok(git) => Some(git),
            Err(why) => return Ok(Outcome::Conflict(kind, Some(why))),
        },
    };
    Ok(match (subject.desired, git) {
        (Some(hnp), Some(git)) if hnp.sha == git.sha => Outcome::Apply(Action::Adopt),
        (Some(hnp), Some(git)) => Outcome::Pull(Box::new(pull::update(path, hnp, &git))),
        (None, Some(git)) => Outcome::Pull(Box::new(pull::create(path, &git))),
        (Some(hnp), None) => Outcome::Pull(Box::new(pull::delete(path, hnp))),
        (None, None) => Outcome::Apply(Action::Forget),
    })
}

/// A path relative to the fabric directory. Every subject's path is inside it.
fn relative<'p>(directory: &str, path: &'p str) -> &'p str {
    path::strip_directory(directory, path).unwrap_or(path)
}

fn entry(subject: &Subject<'_>, sha: &str, rendered: Option<&str>) -> StateEntry {
    StateEntry {
        resource: subject.resource.clone(),
        sha: sha.to_string(),
        rendered: rendered.map(str::to_string),
        deleted: false,
        untrusted: false,
    }
}

/// Refuses a state recorded for another fabric or directory: a directory copied with its
/// state (or two fabrics on one directory) would otherwise let one fabric's sync delete the
/// other's files. An empty `fabric` (a caller that does not know it) checks the directory only.
fn owned(state: &SyncState, fabric: &str, directory: &str, state_path: &str) -> Result<(), SyncError> {
    let other_fabric = !fabric.is_empty() && state.fabric.as_deref().is_some_and(|f| f != fabric);
    let other_directory = state.directory.as_deref().is_some_and(|d| d != directory);
    if other_fabric || other_directory {
        return Err(SyncError::ForeignState(ForeignState {
            path: state_path.to_string(),
            fabric: state.fabric.clone().unwrap_or_default(),
            directory: state.directory.clone().unwrap_or_default(),
        }));
    }
    Ok(())
}

/// The verdict for a path whose entry is a tombstone (`rendered`: HNP's rendering when Git's
/// deletion was kept).
fn tombstoned(rendered: &str, remote: Option<&FileVersion>, desired: Option<&FileVersion>) -> Verdict {
    match (desired, remote) {
        // The CR is gone from HNP: so goes the tombstone. A file Git made since is not ours.
        (None, _) => Verdict::Apply(Action::Forget),
        (Some(d), None) if d.sha == rendered => Verdict::Unchanged,
        // HNP changed the CR after the deletion was kept: the user decides again.
        (Some(_), None) => Verdict::Conflict(ConflictKind::DeletedInGit),
        // Git made the file again: compared as any file created in Git.
        (Some(_), Some(_)) => classify::classify(None, None, remote, desired),
    }
}

/// Whether Git still holds what the user saw when deciding (`None`: pinned by the caller).
fn pinned(expect: Option<&GitVersion>, remote: Option<&FileVersion>) -> bool {
    match (expect, remote) {
        (None, _) => true,
        (Some(GitVersion::Absent), None) => true,
        (Some(GitVersion::Blob(sha)), Some(remote)) => *sha == remote.sha,
        _ => false,
    }
}

/// Why a resolution decided on another Git version does not apply.
fn stale(resolution: &Resolution, remote: Option<&FileVersion>) -> String {
    let saw = match &resolution.expect {
        Some(GitVersion::Blob(sha)) => format!("blob {sha}"),
        _ => "no file".to_string(),
    };
    let now = remote.map_or("no file".to_string(), |r| format!("blob {}", r.sha));
    format!("changed in Git after the resolution was decided (it expected {saw}, Git now has {now}); review it and resolve again")
}

/// One line for people: why writing this path would lose work.
fn reason(kind: ConflictKind) -> &'static str {
    match kind {
        ConflictKind::ModifiedInGit => "changed in Git since the last sync",
        ConflictKind::DeletedInGit => "deleted in Git since the last sync, while HNP still has the CR",
        ConflictKind::CreatedInGit => "created in Git, not by fgd-sync, with other data than HNP's",
        ConflictKind::Unreadable => "Git's file or its base cannot be read",
        ConflictKind::UntrustedBase => {
            "the sync state's entry was changed by a commit fgd-sync did not make (a revert or a hand edit): check the file, then `fgd-sync resolve`"
        }
    }
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
        // Git wins and one side is gone. A file Git kept for a CR HNP deleted becomes
        // untracked (never deleted). A file Git deleted while HNP still has the CR leaves a
        // tombstone (`settle`): not recreated while HNP's rendering stays the same.
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
