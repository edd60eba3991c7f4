//! The per-file write strategy: one Contents-API commit per changed file, as HNP's old write
//! path did, but done safely. It exists as the comparison baseline for the batched strategy
//! and for tokens that may not use the Git Data API.
//!
//! After the same reads and the same plan as the batched strategy (`engine::read`,
//! `plan::plan`), each file write of the plan, in plan order, is:
//! 1. `GET contents/{path}?ref={branch}`: the file as the branch holds it now (HNP's request
//!    pattern: one GET and one write per file);
//! 2. `PUT contents/{path}` `{message, content, branch, sha?}` or `DELETE contents/{path}`
//!    `{message, sha, branch}`, where `sha` is the blob SHA the plan was made against. That
//!    makes every file its own compare-and-swap: GitHub refuses a stale `sha` with 409
//!    `does not match`, and an update without one with 422.
//!
//! Decisions:
//! * A file that changed in Git since the read (seen by the GET, or by a 409/422 followed by
//!   a fresh GET) is reported as a conflict for that path and not written; the other files
//!   are still written, as the batched strategy commits everything but its conflicts. The next
//!   sync classifies that path again with the full three-way compare.
//! * Git already holding exactly the planned bytes (or no file, for a delete) is success
//!   without a write; found before writing, it is reported as adopt (or forget).
//! * `409 is at <head> but expected <sha>` means the branch moved while GitHub wrote (writes
//!   to one branch race even for different files): the file is read again and, if unchanged,
//!   written again, at most `MAX_BRANCH_RACES` times. Writes are therefore sequential.
//! * The sync state is written last, in its own commit, with only the entries of the paths
//!   that landed; a path that did not land keeps its old entry. A crash midway leaves files
//!   without a state entry: the next sync finds Git already holding HNP's data and adopts
//!   them, so nothing is lost. If another writer changed the state file meanwhile, our
//!   entries are merged into theirs (read again, edit, write with the new `sha`).
//! * The report's `commit` and `message` are those of the last commit made; each file's
//!   commit message is the one-change subject the batched planner would write (`Update VPC
//!   vpc-1`).

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use serde::Deserialize;
use serde_json::json;

use super::back_off;
use crate::github::client::Client;
use crate::github::requests::{encode_segment, Repo};
use crate::github::{responses, HttpRequest, HttpResponse};
use crate::model::{Action, Change, Conflict, ConflictKind, Identity, InvalidManifest, SyncError, Target};
use crate::path;
use crate::plan::{CommitPlan, FileWrite};
use crate::state::{StateEntry, SyncState};

/// Writes of one file (or of the state) after GitHub said the branch or the file moved.
pub const MAX_BRANCH_RACES: u32 = 3;

/// What the writes did: the plan narrowed to what landed, plus the conflicts found while
/// writing, and the last commit made.
pub(crate) struct Written {
    pub plan: CommitPlan,
    pub commit: Option<String>,
}

/// Everything one per-file write needs besides the file.
struct Ctx<'a> {
    repo: &'a Repo,
    target: &'a Target,
    directory: &'a str,
}

/// The file on the branch as `GET contents` showed it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Current {
    Absent,
    File {
        sha: String,
        text: Option<String>,
    },
    /// A directory, symlink or submodule: never written over.
    Other,
}

impl Current {
    fn sha(&self) -> Option<&str> {
        match self {
            Current::File { sha, .. } => Some(sha),
            _ => None,
        }
    }
}

/// What became of one file write.
enum Fate {
    /// Written by this sync; `commit` is None when the answer to our write was lost and a
    /// re-read showed our bytes.
    Written {
        commit: Option<String>,
    },
    /// Git already held the planned result before we wrote: the change becomes this action.
    AlreadyThere(Action),
    Conflict(Conflict),
}

/// Applies `plan` file by file. `remote_state_sha` is the state file's blob SHA as read.
pub(crate) fn write(
    client: &mut Client<'_>,
    repo: &Repo,
    target: &Target,
    directory: &str,
    plan: CommitPlan,
    state_text: Option<&str>,
    remote_state_sha: Option<&str>,
) -> Result<Written, SyncError> {
    let ctx = Ctx { repo, target, directory };
    let state_path = path::state_path(directory);
    let old_state = parse_state(&state_path, state_text.unwrap_or_default(), state_text.is_none())?;
    let mut planned_state = old_state.clone();
    let mut file_writes = Vec::new();
    for w in plan.writes {
        match (w.path == state_path, &w.content) {
            (true, Some(text)) => planned_state = parse_state(&state_path, text, false)?,
            _ => file_writes.push(w),
        }
    }
    let index: BTreeMap<&str, usize> = plan.changes.iter().enumerate().map(|(i, c)| (c.path.as_str(), i)).collect();

    let mut changes = plan.changes.clone();
    // Paths whose write did not land: their change is dropped and their state entry kept.
    let mut refused = BTreeSet::new();
    let mut conflicts = plan.conflicts;
    let mut writes = Vec::new();
    let mut last: Option<(String, String)> = None;
    for w in file_writes {
        let Some(&i) = index.get(w.path.as_str()) else {
            // A planner invariant: every file write belongs to a change.
            return Err(invariant(&ctx, &w.path, "a file write without a change"));
        };
        match write_file(client, &ctx, &plan.changes[i], w.content.as_deref())? {
            Fate::Written { commit } => {
                if let Some(commit) = commit {
                    last = Some((commit, subject(&ctx, &plan.changes[i])));
                }
                writes.push(w);
            }
            Fate::AlreadyThere(action) => changes[i].action = action,
            Fate::Conflict(c) => {
                refused.insert(w.path.clone());
                conflicts.push(c);
            }
        }
    }
    changes.retain(|c| !refused.contains(&c.path));
    conflicts.sort_by(|a, b| a.path.cmp(&b.path));

    // Entries of the paths that landed (adopt and forget land with the state itself).
    let edits: Vec<(String, Option<StateEntry>)> = changes
        .iter()
        .map(|c| {
            let relative = path::strip_directory(directory, &c.path).unwrap_or(&c.path).to_string();
            let entry = planned_state.files.get(&relative).cloned();
            (relative, entry)
        })
        .collect();
    if let Some((commit, text)) = write_state(client, &ctx, &old_state, remote_state_sha, &edits)? {
        writes.push(FileWrite { path: state_path, content: Some(text) });
        last = Some((commit, state_message(&ctx)));
    }
    let (commit, message) = match last {
        Some((commit, message)) => (Some(commit), message),
        None => (None, plan.message),
    };
    let plan = CommitPlan { changes, conflicts, writes, message, unchanged: plan.unchanged, need_contents: Vec::new() };
    Ok(Written { plan, commit })
}

/// One GET, then one PUT or DELETE with the planned SHA; again after a race (bounded).
fn write_file(
    client: &mut Client<'_>,
    ctx: &Ctx<'_>,
    change: &Change,
    content: Option<&str>,
) -> Result<Fate, SyncError> {
    let planned = change.remote_sha.as_deref();
    let wanted = content.map(|c| crate::blob::blob_sha(c.as_bytes()));
    let mut races = 0u32;
    loop {
        let current = get_contents(client, ctx, &change.path)?;
        if current.sha() == wanted.as_deref() {
            // Git holds the planned result already: ours, when this is a retry after a lost answer.
            return Ok(if races == 0 {
                Fate::AlreadyThere(if content.is_some() { Action::Adopt } else { Action::Forget })
            } else {
                Fate::Written { commit: None }
            });
        }
        if current.sha() != planned || current == Current::Other {
            return Ok(Fate::Conflict(conflict(change, planned, current, content)));
        }
        let request = match content {
            Some(text) => put_request(ctx, &change.path, &subject(ctx, change), text, planned),
            None => delete_request(ctx, &change.path, &subject(ctx, change), planned.unwrap_or_default()),
        };
        let response = client.send(&request)?;
        match response.status {
            200 | 201 => {
                return responses::parse_contents_commit(&request, &response).map(|c| Fate::Written { commit: Some(c) })
            }
            // Stale `sha`, missing `sha`, the file gone, or the branch moved under GitHub's own
            // write: read again and decide; a write is repeated only if the file is unchanged.
            404 | 409 | 422 if raced(&response) => {}
            _ => return Err(responses::remote_error(&request, &response)),
        }
        races += 1;
        if races > MAX_BRANCH_RACES {
            return Err(SyncError::TooManyRaces(races));
        }
        back_off(client, races - 1);
    }
}

/// The answers that mean "the file or the branch is not as you think": worth a fresh read.
fn raced(response: &HttpResponse) -> bool {
    let message = responses::error_message(response).to_ascii_lowercase();
    match response.status {
        409 => message.contains("does not match") || message.contains("but expected"),
        422 => message.contains("\"sha\" wasn't supplied"),
        // DELETE of a file removed meanwhile.
        404 => message == "not found",
        _ => false,
    }
}

/// The conflict for a file Git changed since the read.
fn conflict(change: &Change, planned: Option<&str>, current: Current, content: Option<&str>) -> Conflict {
    let kind = match (planned, &current) {
        (None, _) => ConflictKind::CreatedInGit,
        (Some(_), Current::Absent) => ConflictKind::DeletedInGit,
        (Some(_), _) => ConflictKind::ModifiedInGit,
    };
    let (actual_sha, git_content) = match current {
        Current::File { sha, text } => (Some(sha), text),
        _ => (None, None),
    };
    Conflict {
        path: change.path.clone(),
        kind,
        resource: change.resource.clone(),
        expected_sha: change.base_sha.clone(),
        actual_sha,
        git_content,
        hnp_content: content.map(str::to_string),
    }
}

/// Writes the state with `edits` applied, merging into the current state when another writer
/// changed it since the read. The commit and the text written; `None` when there is nothing
/// to record.
fn write_state(
    client: &mut Client<'_>,
    ctx: &Ctx<'_>,
    read: &SyncState,
    read_sha: Option<&str>,
    edits: &[(String, Option<StateEntry>)],
) -> Result<Option<(String, String)>, SyncError> {
    let state_path = path::state_path(ctx.directory);
    let (mut base, mut sha) = (read.clone(), read_sha.map(str::to_string));
    for races in 0..=MAX_BRANCH_RACES {
        let mut next = base.clone();
        for (relative, entry) in edits {
            match entry {
                Some(e) => next.files.insert(relative.clone(), e.clone()),
                None => next.files.remove(relative),
            };
        }
        if next == base {
            return Ok(None);
        }
        let text = next.to_text();
        let request = put_request(ctx, &state_path, &state_message(ctx), &text, sha.as_deref());
        let response = client.send(&request)?;
        match response.status {
            200 | 201 => return responses::parse_contents_commit(&request, &response).map(|c| Some((c, text))),
            409 | 422 if raced(&response) && races < MAX_BRANCH_RACES => {}
            _ => return Err(responses::remote_error(&request, &response)),
        }
        back_off(client, races);
        // Merge into whatever the state is now.
        (base, sha) = match get_contents(client, ctx, &state_path)? {
            Current::File { sha, text } => {
                (parse_state(&state_path, text.as_deref().unwrap_or_default(), false)?, Some(sha))
            }
            Current::Absent => (SyncState::default(), None),
            Current::Other => return Err(invariant(ctx, &state_path, "the sync state path is not a file")),
        };
    }
    Err(SyncError::TooManyRaces(MAX_BRANCH_RACES + 1))
}

fn parse_state(state_path: &str, text: &str, absent: bool) -> Result<SyncState, SyncError> {
    if absent {
        return Ok(SyncState::default());
    }
    SyncState::parse(text).map_err(|message| {
        SyncError::InvalidManifest(InvalidManifest { source: state_path.to_string(), document: 0, message })
    })
}

/// The one-change subject the batched planner writes (`<prefix>Update VPC vpc-1`).
fn subject(ctx: &Ctx<'_>, change: &Change) -> String {
    crate::plan::message::message(&ctx.target.message_prefix, "", std::slice::from_ref(change))
}

fn state_message(ctx: &Ctx<'_>) -> String {
    format!("{}Update fgd-sync state", ctx.target.message_prefix)
}

fn invariant(ctx: &Ctx<'_>, path: &str, what: &str) -> SyncError {
    let request = ctx.repo.put_contents(path, "", "", None);
    SyncError::Remote(crate::model::RemoteError {
        method: request.method,
        url: request.url,
        status: 0,
        message: format!("per-file write of {path}: {what}"),
    })
}

/// `GET contents/{path}?ref={branch}`: 404 is an absent file.
fn get_contents(client: &mut Client<'_>, ctx: &Ctx<'_>, path: &str) -> Result<Current, SyncError> {
    // The URL and headers of the Contents API come from the one builder in `requests`.
    let put = ctx.repo.put_contents(path, "", "", None);
    let url = format!("{}?ref={}", put.url, encode_segment(ctx.repo.branch()));
    let request = HttpRequest { method: "GET".into(), url, headers: ctx.repo.get_ref().headers, body: None };
    let response = client.send(&request)?;
    match response.status {
        200 => parse_current(&request, &response),
        404 => Ok(Current::Absent),
        _ => Err(responses::remote_error(&request, &response)),
    }
}

/// A file answer; an array (a directory) or another `type` is `Other`. Content over 1 MB
/// comes back empty: the SHA still decides, only the conflict report lacks the text.
fn parse_current(request: &HttpRequest, response: &HttpResponse) -> Result<Current, SyncError> {
    #[derive(Deserialize)]
    struct File {
        #[serde(rename = "type")]
        kind: Option<String>,
        sha: Option<String>,
        content: Option<String>,
        encoding: Option<String>,
    }
    let value: serde_json::Value =
        serde_json::from_slice(&response.body).map_err(|e| malformed(request, response, e))?;
    if value.is_array() {
        return Ok(Current::Other);
    }
    let file: File = serde_json::from_value(value).map_err(|e| malformed(request, response, e))?;
    if file.kind.as_deref() != Some("file") {
        return Ok(Current::Other);
    }
    let sha = match file.sha {
        Some(sha) if crate::blob::is_sha(&sha) => sha,
        other => return Err(malformed(request, response, format!("`sha` is not a SHA: {other:?}"))),
    };
    let text = match (file.encoding.as_deref(), file.content) {
        (Some("base64"), Some(content)) if !content.is_empty() => {
            let compact: String = content.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact.as_bytes())
                .ok()
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        }
        _ => None,
    };
    Ok(Current::File { sha, text })
}

fn malformed(request: &HttpRequest, response: &HttpResponse, why: impl std::fmt::Display) -> SyncError {
    SyncError::Remote(crate::model::RemoteError {
        method: request.method.clone(),
        url: request.url.clone(),
        status: response.status,
        message: format!("malformed JSON from GitHub {} {}: {why}", request.method, request.url),
    })
}

/// `PUT contents/{path}`: the shared builder's request with `sha` added when the file exists.
fn put_request(ctx: &Ctx<'_>, path: &str, message: &str, content: &str, sha: Option<&str>) -> HttpRequest {
    let mut request = ctx.repo.put_contents(path, message, content, ctx.target.committer.as_ref());
    if let Some(sha) = sha {
        let mut body: serde_json::Value =
            serde_json::from_slice(request.body.as_deref().unwrap_or_default()).unwrap_or_else(|_| json!({}));
        body["sha"] = json!(sha);
        request.body = Some(body.to_string().into_bytes());
    }
    request
}

/// `DELETE contents/{path}` `{message, sha, branch, author?, committer?}`.
fn delete_request(ctx: &Ctx<'_>, path: &str, message: &str, sha: &str) -> HttpRequest {
    let put = ctx.repo.put_contents(path, message, "", None);
    let mut body = json!({"message": message, "sha": sha, "branch": ctx.repo.branch()});
    if let Some(Identity { name, email }) = &ctx.target.committer {
        body["author"] = json!({"name": name, "email": email});
        body["committer"] = json!({"name": name, "email": email});
    }
    HttpRequest {
        method: "DELETE".into(),
        url: put.url,
        headers: put.headers,
        body: Some(body.to_string().into_bytes()),
    }
}
