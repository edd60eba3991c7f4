//! Writes one commit: a tree on top of the base tree (checked to hold what was sent), a commit
//! with the head as its only parent, and a fast-forward-only ref update; plus the first
//! commit of an empty repository.

use super::read::{self, Files};
use crate::github::client::Client;
use crate::github::requests::Repo;
use crate::github::responses;
use crate::model::{Identity, RemoteError, SyncError};
use crate::plan::FileWrite;
use crate::{blob, tree};

/// What the compare-and-swap on the branch did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RefUpdate {
    Moved,
    /// Another writer moved the branch since we read it: re-read and re-plan.
    Lost,
}

/// `POST git/trees` on top of the head's tree, then a check that the tree GitHub made holds
/// exactly the files the guest computed: a blob swapped on the way (a proxy, the server, a
/// temporary file of a local store) must never be committed and rolled out.
///
/// From a complete listing of the head (`read::Files::listing`) the expected SHA is computed
/// here, with no request. Otherwise (a truncated listing, a mode `tree` cannot hash) the new
/// tree is listed like the head was, and the fabric directory must hold the expected blobs.
pub(crate) fn create_tree(
    client: &mut Client<'_>,
    repo: &Repo,
    base: &Files,
    directory: &str,
    writes: &[FileWrite],
) -> Result<String, SyncError> {
    let request = repo.create_tree(&base.root_tree, writes);
    let response = client.send(&request)?;
    let created = responses::parse_created_sha(&request, &response)?;
    let blobs: Vec<(&str, Option<String>)> =
        writes.iter().map(|w| (w.path.as_str(), w.content.as_ref().map(|c| blob::blob_sha(c.as_bytes())))).collect();
    let changes: Vec<(&str, Option<&str>)> = blobs.iter().map(|(p, sha)| (*p, sha.as_deref())).collect();
    let expected = base.listing.as_deref().and_then(|listing| tree::expected_root(listing, &changes).ok());
    let problem = match expected {
        Some(expected) if expected == created => None,
        Some(expected) => Some(format!("its SHA is {created}, the files sent make {expected}")),
        None => written_files_differ(client, repo, base, directory, &changes, &created)?,
    };
    match problem {
        None => Ok(created),
        Some(problem) => Err(SyncError::Remote(RemoteError {
            method: request.method.clone(),
            url: request.url.clone(),
            status: response.status,
            message: format!(
                "the tree GitHub created does not hold the files fgd-sync sent ({problem}); nothing was committed"
            ),
        })),
    }
}

/// Lists the created tree and compares the fabric directory with the head's plus `changes`
/// (every write of a plan lies in the fabric directory). The first difference, if any.
fn written_files_differ(
    client: &mut Client<'_>,
    repo: &Repo,
    base: &Files,
    directory: &str,
    changes: &[(&str, Option<&str>)],
    created: &str,
) -> Result<Option<String>, SyncError> {
    let mut expected = base.blobs.clone();
    for (path, sha) in changes {
        match sha {
            Some(sha) => expected.insert(path.to_string(), sha.to_string()),
            None => expected.remove(*path),
        };
    }
    let found = read::files(client, repo, created, directory)?.blobs;
    let differ = expected.iter().find(|(path, sha)| found.get(*path) != Some(sha)).map(|(p, _)| p);
    let extra = found.keys().find(|path| !expected.contains_key(*path));
    Ok(match (differ, extra) {
        (Some(path), _) => {
            Some(format!("{path} is {}, not the blob sent", found.get(path).map_or("absent", String::as_str)))
        }
        (None, Some(path)) => Some(format!("{path} was not sent")),
        (None, None) => None,
    })
}

pub(crate) fn create_commit(
    client: &mut Client<'_>,
    repo: &Repo,
    message: &str,
    tree: &str,
    parent: &str,
    identity: Option<&Identity>,
) -> Result<String, SyncError> {
    let request = repo.create_commit(message, tree, parent, identity);
    let response = client.send(&request)?;
    responses::parse_created_sha(&request, &response)
}

/// `force: false` always: GitHub refuses to move the branch unless `commit` descends from
/// the current head, so nobody's work is thrown away. A refusal by branch protection or a
/// ruleset is not a race (retrying cannot help): `BranchProtected`.
pub(crate) fn update_ref(client: &mut Client<'_>, repo: &Repo, commit: &str) -> Result<RefUpdate, SyncError> {
    let request = repo.update_ref(commit);
    let response = match client.send(&request) {
        Ok(response) => response,
        // Every answer was lost, but the update may have happened: `landed` tells.
        Err(lost @ SyncError::Transport(_)) => return answer_lost(client, repo, commit, lost),
        // Retries of a 5xx ran out; any of the tries may have moved the branch.
        Err(SyncError::Remote(e)) if e.status >= 500 || e.status == 408 => {
            return answer_lost(client, repo, commit, SyncError::Remote(e));
        }
        Err(other) => return Err(other),
    };
    let message = responses::error_message(&response);
    match response.status {
        200..=299 => Ok(RefUpdate::Moved),
        409 | 422 if is_rule_violation(&message) => {
            Err(SyncError::BranchProtected(match responses::remote_error(&request, &response) {
                SyncError::Remote(e) => e,
                _ => unreachable!("remote_error gives SyncError::Remote"),
            }))
        }
        409 => Ok(RefUpdate::Lost),
        422 if message.to_ascii_lowercase().contains("not a fast forward") => Ok(RefUpdate::Lost),
        _ => Err(responses::remote_error(&request, &response)),
    }
}

/// No usable answer to the ref update: it landed if the branch holds `commit`, else `error`.
fn answer_lost(client: &mut Client<'_>, repo: &Repo, commit: &str, error: SyncError) -> Result<RefUpdate, SyncError> {
    match landed(client, repo, commit) {
        Ok(true) => Ok(RefUpdate::Moved),
        _ => Err(error),
    }
}

/// GitHub's words for a ref update that branch protection or a ruleset refused.
pub(crate) fn is_rule_violation(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    ["rule violation", "protected branch", "gh013", "must be made through a pull request", "branch is protected"]
        .iter()
        .any(|needle| m.contains(needle))
}

/// Whether `commit` is in the branch's history (`compare/{commit}...{branch}` says
/// `identical` or `ahead`): a ref update whose answer was lost, or refused because the
/// branch had moved on from our commit, may have landed after all.
pub(crate) fn landed(client: &mut Client<'_>, repo: &Repo, commit: &str) -> Result<bool, SyncError> {
    let request = repo.compare(commit);
    let response = client.send(&request)?;
    if response.status == 404 {
        return Ok(false);
    }
    let status = responses::parse_compare_status(&request, &response)?;
    Ok(matches!(status.as_str(), "identical" | "ahead"))
}

/// What creating the first commit did.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Init {
    Created,
    /// GitHub refused (409/422): most likely another writer created the file first. The
    /// caller re-reads the branch and reports this error if the repository is still empty.
    Refused(SyncError),
}

/// The Git Data API answers 409 in an empty repository, so the first commit (holding the
/// empty sync state) goes through the Contents API.
pub(crate) fn initialize(
    client: &mut Client<'_>,
    repo: &Repo,
    state_path: &str,
    state_text: &str,
    message: &str,
    identity: Option<&Identity>,
) -> Result<Init, SyncError> {
    let request = repo.put_contents(state_path, message, state_text, identity);
    let response = client.send(&request)?;
    match response.status {
        200..=299 => responses::parse_contents_commit(&request, &response).map(|_| Init::Created),
        409 | 422 => Ok(Init::Refused(responses::remote_error(&request, &response))),
        _ => Err(responses::remote_error(&request, &response)),
    }
}
