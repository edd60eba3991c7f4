//! Writes one commit: a tree on top of the base tree, a commit with the head as its only
//! parent, and a fast-forward-only ref update; plus the first commit of an empty repository.

use crate::github::client::Client;
use crate::github::requests::Repo;
use crate::github::responses;
use crate::model::{Identity, SyncError};
use crate::plan::FileWrite;

/// What the compare-and-swap on the branch did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RefUpdate {
    Moved,
    /// Another writer moved the branch since we read it: re-read and re-plan.
    Lost,
}

pub(crate) fn create_tree(
    client: &mut Client<'_>,
    repo: &Repo,
    base_tree: &str,
    writes: &[FileWrite],
) -> Result<String, SyncError> {
    let request = repo.create_tree(base_tree, writes);
    let response = client.send(&request)?;
    responses::parse_created_sha(&request, &response)
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
