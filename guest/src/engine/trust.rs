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

use std::collections::{BTreeMap, BTreeSet};

use crate::github::client::Client;
use crate::github::requests::Repo;
use crate::github::responses;
use crate::model::SyncError;

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
    let Some(last) = commits.first() else {
        return Ok(BTreeSet::new());
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

/// `files` of a state text, by path; unreadable text has none.
fn entries(text: &str) -> BTreeMap<String, serde_json::Value> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else { return BTreeMap::new() };
    match value.get("files") {
        Some(serde_json::Value::Object(files)) => files.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        _ => BTreeMap::new(),
    }
}

/// Paths whose entry differs between the two states (added, removed or changed).
pub fn changed_entries(before: Option<&str>, after: &str) -> BTreeSet<String> {
    let before = before.map(entries).unwrap_or_default();
    let after = entries(after);
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
        let before = r#"{"version":2,"files":{"a":{"sha":"1"},"b":{"sha":"2"},"c":{"sha":"3"}}}"#;
        let after = r#"{"version":2,"files":{"a":{"sha":"1"},"b":{"sha":"9"},"d":{"sha":"4"}}}"#;
        let changed: Vec<String> = changed_entries(Some(before), after).into_iter().collect();
        assert_eq!(changed, ["b", "c", "d"]);
        assert_eq!(changed_entries(None, after).len(), 3);
    }
}
