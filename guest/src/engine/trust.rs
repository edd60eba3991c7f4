//! Whether fgd-sync wrote the sync state now on the branch. Every commit fgd-sync makes ends
//! with a trailer `Fgd-Sync-State: <blob SHA of the state file in that commit>`. When the last
//! commit that changed the state lacks the trailer naming the state now on the branch (a
//! revert of a sync commit, a reset, a hand edit, a cherry-pick), the entries that commit
//! changed are not trusted as bases: the planner turns writes on those paths into conflicts.
//!
//! Cost: one `GET commits?sha=&path=&per_page=1` when a plan would write files, plus one
//! `GET contents?ref=<parent>` when the state is not vouched for. A state of version 1
//! (written before trailers existed) whose last commit carries no trailer is trusted: such a
//! revert cannot be told from an old sync.

use std::collections::BTreeSet;

use crate::github::client::Client;
use crate::github::requests::Repo;
use crate::github::responses;
use crate::model::{RemoteError, SyncError};
use crate::state::SyncState;

/// The trailer key of every commit fgd-sync makes.
pub const TRAILER: &str = "Fgd-Sync-State";

/// Paths (relative to the fabric directory) whose state entries the last commit that
/// touched the state file changed without fgd-sync's trailer; empty when it is vouched for.
pub(crate) fn untrusted(
    client: &mut Client<'_>,
    repo: &Repo,
    head: &str,
    state_path: &str,
    state_sha: &str,
    state_text: &str,
) -> Result<BTreeSet<String>, SyncError> {
    let request = repo.last_commit_touching(head, state_path);
    let response = client.send(&request)?;
    let commits = responses::parse_commits(&request, &response)?;
    // The state file exists at `head`, so some commit made it: an empty listing is a partial
    // answer, and "trusted" must never be its default.
    let Some(last) = commits.first() else {
        return Err(SyncError::Remote(RemoteError {
            method: request.method,
            url: request.url,
            status: response.status,
            message: format!("GitHub listed no commit for {state_path}, which exists at {head}"),
        }));
    };
    let trailers = trailers(&last.message);
    if trailers.iter().any(|t| t == state_sha) {
        return Ok(BTreeSet::new());
    }
    if trailers.is_empty() && version(state_text) == Some(1) {
        return Ok(BTreeSet::new());
    }
    let before = match last.parents.first() {
        Some(parent) => {
            let request = repo.get_contents_at(state_path, parent);
            let response = client.send(&request)?;
            match response.status {
                404 => None,
                _ => Some(responses::parse_contents_file(&request, &response)?),
            }
        }
        None => None,
    };
    let before = before.map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
    Ok(changed_entries(before.as_deref(), state_text))
}

/// The values of `Fgd-Sync-State:` lines of a commit message.
pub fn trailers(message: &str) -> Vec<String> {
    message
        .lines()
        .filter_map(|line| line.trim().strip_prefix(TRAILER)?.strip_prefix(':').map(|v| v.trim().to_string()))
        .collect()
}

/// The state's `version`, read without the rest of its shape.
fn version(text: &str) -> Option<u64> {
    serde_json::from_str::<serde_json::Value>(text).ok()?.get("version")?.as_u64()
}

/// Paths whose entry differs between the two states (added, removed or changed). A state
/// that does not parse has no entries, so every entry of the other side counts as changed.
pub fn changed_entries(before: Option<&str>, after: &str) -> BTreeSet<String> {
    let files = |text: &str| SyncState::parse(text).map(|s| s.files).unwrap_or_default();
    let before = before.map(files).unwrap_or_default();
    let after = files(after);
    before.keys().chain(after.keys()).filter(|path| before.get(*path) != after.get(*path)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailers_are_read_from_any_line() {
        let message = "[hnp] Sync 2 files\n\nbody\n\nFgd-Sync-State: abc\n";
        assert_eq!(trailers(message), ["abc"]);
        assert!(trailers("Revert \"[hnp] Sync\"\n\nThis reverts commit 123.").is_empty());
    }

    #[test]
    fn changed_entries_name_added_removed_and_changed_paths() {
        let state = |entries: &[(&str, char)]| {
            let files: Vec<String> = entries
                .iter()
                .map(|(name, sha)| {
                    format!(
                        r#""managed/vpcs/{name}.yaml": {{"kind": "VPC", "namespace": "default", "name": "{name}", "sha": "{}"}}"#,
                        sha.to_string().repeat(40)
                    )
                })
                .collect();
            format!(r#"{{"version": 2, "generator": "fgd-sync", "files": {{{}}}}}"#, files.join(", "))
        };
        let before = state(&[("a", '1'), ("b", '2'), ("c", '3')]);
        let after = state(&[("a", '1'), ("b", '9'), ("d", '4')]);
        let changed: Vec<String> = changed_entries(Some(&before), &after).into_iter().collect();
        assert_eq!(changed, ["managed/vpcs/b.yaml", "managed/vpcs/c.yaml", "managed/vpcs/d.yaml"]);
        assert_eq!(changed_entries(None, &after).len(), 3);
        // A state that does not parse vouches for nothing.
        assert_eq!(changed_entries(Some("{"), &after).len(), 3);
    }
}
