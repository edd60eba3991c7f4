//! Reads the branch: its head, every blob under the fabric directory (walking subtrees when
//! GitHub truncates a recursive listing) and, from a complete listing, every entry's mode;
//! and blob texts.

use std::collections::{BTreeMap, VecDeque};

use serde::Deserialize;

use crate::github::client::Client;
use crate::github::requests::Repo;
use crate::github::responses::{self, EntryKind, Tree};
use crate::model::SyncError;
use crate::path;
use crate::tree::Listed;

/// The branch as `GET git/ref` saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Head {
    Commit(String),
    /// 409 "Git Repository is empty.": no commit at all yet.
    Empty,
}

pub(crate) fn head(client: &mut Client<'_>, repo: &Repo) -> Result<Head, SyncError> {
    let request = repo.get_ref();
    let response = client.send(&request)?;
    match response.status {
        200 => responses::parse_ref(&request, &response).map(Head::Commit),
        409 => Ok(Head::Empty),
        404 => Err(SyncError::BranchNotFound(repo.branch().to_string())),
        _ => Err(responses::remote_error(&request, &response)),
    }
}

/// The files of one commit under the fabric directory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Files {
    /// The commit's root tree: `base_tree` of the next commit.
    pub root_tree: String,
    /// Repository path -> blob SHA.
    pub blobs: BTreeMap<String, String>,
    /// Every entry of the root tree with its mode, when the recursive listing was complete:
    /// enough to compute the tree a write makes (`crate::tree`) without asking GitHub.
    pub listing: Option<Vec<Listed>>,
}

fn tree(client: &mut Client<'_>, repo: &Repo, sha: &str, recursive: bool) -> Result<Tree, SyncError> {
    Ok(tree_with_modes(client, repo, sha, recursive)?.0)
}

/// A listing, and the mode of each of its entries when every entry has one. `parse_tree`
/// keeps no modes; they are read from the same body.
fn tree_with_modes(
    client: &mut Client<'_>,
    repo: &Repo,
    sha: &str,
    recursive: bool,
) -> Result<(Tree, Option<Vec<String>>), SyncError> {
    #[derive(Deserialize)]
    struct Entry {
        mode: Option<String>,
    }
    #[derive(Deserialize)]
    struct Modes {
        tree: Vec<Entry>,
    }
    let request = repo.get_tree(sha, recursive);
    let response = client.send(&request)?;
    let tree = responses::parse_tree(&request, &response)?;
    let modes = if recursive && !tree.truncated {
        serde_json::from_slice::<Modes>(&response.body)
            .ok()
            .and_then(|m| m.tree.into_iter().map(|e| e.mode).collect::<Option<Vec<_>>>())
            .filter(|m| m.len() == tree.entries.len())
    } else {
        None
    };
    Ok((tree, modes))
}

/// One recursive listing of the head commit in the normal case (GitHub accepts a commit SHA
/// for a tree); past GitHub's truncation limit, the directory's subtree alone, then its
/// subtrees one level at a time.
pub(crate) fn files(client: &mut Client<'_>, repo: &Repo, head: &str, directory: &str) -> Result<Files, SyncError> {
    let (root, modes) = tree_with_modes(client, repo, head, true)?;
    let root_tree = root.sha.clone();
    if !root.truncated {
        let blobs = blobs_under(directory, "", &root);
        let listing = modes.map(|modes| {
            let entries = root.entries.into_iter().zip(modes);
            entries.map(|(e, mode)| Listed { path: e.path, mode, sha: e.sha }).collect()
        });
        return Ok(Files { root_tree, blobs, listing });
    }
    let dir_tree = if directory.is_empty() {
        Some(root.sha.clone())
    } else {
        // The truncated listing may still hold the directory's own entry.
        match root.entries.iter().find(|e| e.path == directory && e.kind == EntryKind::Tree) {
            Some(entry) => Some(entry.sha.clone()),
            None => descend(client, repo, &root.sha, directory)?,
        }
    };
    let Some(dir_tree) = dir_tree else {
        return Ok(Files { root_tree, blobs: BTreeMap::new(), listing: None });
    };
    let listing = if directory.is_empty() { root } else { tree(client, repo, &dir_tree, true)? };
    if !listing.truncated {
        return Ok(Files { root_tree, blobs: blobs_under("", directory, &listing), listing: None });
    }
    Ok(Files { root_tree, blobs: walk(client, repo, &dir_tree, directory)?, listing: None })
}

/// Follows the directory's segments from the root tree, one non-recursive listing each.
/// `None` when the directory does not exist (or is a file).
fn descend(client: &mut Client<'_>, repo: &Repo, root: &str, directory: &str) -> Result<Option<String>, SyncError> {
    let mut current = root.to_string();
    for segment in directory.split('/') {
        let listing = tree(client, repo, &current, false)?;
        match listing.entries.into_iter().find(|e| e.path == segment && e.kind == EntryKind::Tree) {
            Some(entry) => current = entry.sha,
            None => return Ok(None),
        }
    }
    Ok(Some(current))
}

/// Breadth-first, non-recursive listings of every subtree.
fn walk(client: &mut Client<'_>, repo: &Repo, top: &str, prefix: &str) -> Result<BTreeMap<String, String>, SyncError> {
    let mut blobs = BTreeMap::new();
    let mut queue = VecDeque::from([(top.to_string(), prefix.to_string())]);
    while let Some((sha, prefix)) = queue.pop_front() {
        let listing = tree(client, repo, &sha, false)?;
        for entry in listing.entries {
            let full = path::join(&prefix, &entry.path);
            match entry.kind {
                EntryKind::Blob => {
                    blobs.insert(full, entry.sha);
                }
                EntryKind::Tree => queue.push_back((entry.sha, full)),
                EntryKind::Other => {}
            }
        }
    }
    Ok(blobs)
}

/// Blobs of `listing` (whose paths are relative to `prefix`) that lie under `directory`.
fn blobs_under(directory: &str, prefix: &str, listing: &Tree) -> BTreeMap<String, String> {
    listing
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Blob)
        .map(|e| (path::join(prefix, &e.path), e.sha.clone()))
        .filter(|(p, _)| path::strip_directory(directory, p).is_some())
        .collect()
}

/// A blob as read.
pub(crate) enum BlobText {
    Text(String),
    /// GitHub no longer has it (404/422: history rewritten); the answer as an error.
    Gone(SyncError),
    NotUtf8,
}

/// A blob's text, or why it cannot be had. The planner reports a path whose blob cannot be
/// had as `unreadable` rather than comparing a lossy copy or failing the whole sync.
pub(crate) fn blob_text(client: &mut Client<'_>, repo: &Repo, sha: &str) -> Result<BlobText, SyncError> {
    let request = repo.get_blob(sha);
    let response = client.send(&request)?;
    if matches!(response.status, 404 | 422) {
        return Ok(BlobText::Gone(responses::remote_error(&request, &response)));
    }
    let bytes = responses::parse_blob(&request, &response)?;
    Ok(String::from_utf8(bytes).map_or(BlobText::NotUtf8, BlobText::Text))
}
