//! The Contents API: read a file or directory at a ref, and create, update or delete one
//! file with one commit per call, moving the branch by compare-and-swap.

use serde_json::{json, Value};

use crate::date;
use crate::local::Repo;
use crate::objects::{decode_base64, identity};
use crate::render::CONTENTS_MAX;
use crate::reply::{ApiError, Body, Reply, Result};
use crate::store::{Cas, Content, FlatTree, Ident, Kind, TreeEntry};
use crate::tree_edit::{self, Edit};
use crate::validate;

/// Most entries of a directory listing (GitHub's limit for this API).
const MAX_DIRECTORY_ENTRIES: usize = 1000;

/// The branch a write goes to, and where it stands.
struct Branch {
    name: String,
    full: String,
    /// `None`: the repository is empty and this write makes its first commit.
    head: Option<String>,
    tree: Option<String>,
}

impl Repo {
    /// The commit a `ref` query names (default branch when absent), with the name to echo.
    fn read_commit(&self, git_ref: Option<&str>) -> Result<(String, String)> {
        let name = git_ref.filter(|r| !r.is_empty()).unwrap_or(&self.options.default_branch).to_string();
        if self.store.is_empty()? {
            return Err(ApiError::new(404, "This repository is empty."));
        }
        let none = || ApiError::new(404, format!("No commit found for the ref {name}"));
        if let Some(sha) = validate::sha(&name) {
            return match self.store.kind(&sha)? {
                Some(Kind::Commit) => Ok((sha, name)),
                _ => Err(none()),
            };
        }
        let name_ok = validate::ref_suffix(&name);
        for full in [format!("refs/heads/{name}"), format!("refs/tags/{name}")] {
            if !name_ok {
                break;
            }
            if let Some(sha) = self.store.read_ref(&full)? {
                let commit = self.store.peel(&sha, Kind::Commit)?.ok_or_else(none)?;
                return Ok((commit, name));
            }
        }
        Err(none())
    }

    /// `GET /contents/{path}?ref=`: a file object, or an array for a directory.
    pub(crate) fn get_contents(&self, path: &str, git_ref: Option<&str>) -> Result<Reply> {
        if !path.is_empty() && validate::path(path).is_err() {
            return Err(ApiError::not_found());
        }
        let (commit, name) = self.read_commit(git_ref)?;
        let root = self.store.peel(&commit, Kind::Tree)?.ok_or_else(ApiError::not_found)?;
        let entry = if path.is_empty() {
            TreeEntry { mode: "040000".into(), kind: Kind::Tree, sha: root, size: None, path: String::new() }
        } else {
            self.store.entry_at(&root, path)?.ok_or_else(ApiError::not_found)?
        };
        match entry.kind {
            Kind::Tree => {
                // GitHub lists at most 1,000 entries of a directory here.
                let (mut entries, _) = self.store.ls_tree(&entry.sha, false, self.options.max_tree_bytes)?;
                entries.truncate(MAX_DIRECTORY_ENTRIES);
                let items: Vec<Value> = entries
                    .into_iter()
                    .map(|mut e| {
                        if !path.is_empty() {
                            e.path = format!("{path}/{}", e.path);
                        }
                        self.render.content(&e, &name, None)
                    })
                    .collect();
                Ok(Reply::ok(Value::Array(items)))
            }
            Kind::Blob => {
                // Over 1 MB GitHub leaves `content` empty; such a file is not even read.
                let data = match self.store.read_object(&entry.sha, CONTENTS_MAX)? {
                    Some((Kind::Blob, Content::Bytes(data))) => data,
                    Some((Kind::Blob, Content::TooLarge(_))) => {
                        let mut file = self.render.content(&entry, &name, None);
                        file["content"] = json!("");
                        file["encoding"] = json!("none");
                        return Ok(Reply::ok(file));
                    }
                    _ => return Err(ApiError::not_found()),
                };
                Ok(Reply::ok(self.render.content(&entry, &name, Some(&data))))
            }
            _ => Ok(Reply::ok(self.render.content(&entry, &name, Some(&[])))),
        }
    }

    /// The branch named by `branch` (default branch when absent); 404 if it does not exist,
    /// unless the repository is empty.
    fn write_branch(&self, body: &Body) -> Result<Branch> {
        let name = body.str("branch")?.unwrap_or(&self.options.default_branch).to_string();
        let not_found = || ApiError::new(404, format!("Branch {name} not found"));
        if !validate::branch(&name) {
            return Err(not_found());
        }
        let full = format!("refs/heads/{name}");
        match self.store.read_ref(&full)? {
            Some(head) => {
                let tree = self.store.peel(&head, Kind::Tree)?;
                Ok(Branch { name, full, head: Some(head), tree })
            }
            None if self.store.is_empty()? => Ok(Branch { name, full, head: None, tree: None }),
            None => Err(not_found()),
        }
    }

    fn write_identities(&self, body: &Body) -> Result<(Ident, Ident)> {
        let now = date::now();
        let committer = identity("committer", body.object("committer")?, None, &self.options.identity, now)?;
        let author = identity("author", body.object("author")?, Some(&committer), &self.options.identity, now)?;
        Ok((author, committer))
    }

    /// Commits `files` on `branch` and moves it by compare-and-swap; GitHub's 409 text when
    /// the branch moved meanwhile.
    fn commit_on(&self, branch: &Branch, files: &FlatTree, message: &str, ids: &(Ident, Ident)) -> Result<Value> {
        let tree = self.store.write_tree(files)?;
        let parents: Vec<String> = branch.head.iter().cloned().collect();
        let sha = self.store.commit_tree(&tree, &parents, message, &ids.0, &ids.1)?;
        let expected = branch.head.clone().unwrap_or_else(|| "0".repeat(40));
        match self.store.cas_ref(&branch.full, &sha, branch.head.as_deref())? {
            Cas::Updated => {}
            Cas::Moved(now) => {
                let now = now.unwrap_or_else(|| "0".repeat(40));
                return Err(ApiError::conflict(format!("is at {now} but expected {expected}")));
            }
            Cas::Refused(e) => return Err(ApiError::new(500, format!("local-github: update-ref refused: {e}"))),
        }
        let info = self.store.commit(&sha)?.ok_or_else(|| ApiError::new(500, "local-github: new commit vanished"))?;
        Ok(self.render.commit(&info))
    }

    /// The current entry at `path` on the branch, after the `sha` checks GitHub makes.
    fn existing(&self, branch: &Branch, path: &str, sha: Option<&str>) -> Result<Option<TreeEntry>> {
        let current = match &branch.tree {
            Some(t) => self.store.entry_at(t, path)?,
            None => None,
        };
        match (&current, sha) {
            (Some(e), _) if e.kind == Kind::Tree => {
                Err(ApiError::unprocessable(format!("Invalid request.\n\n{path} is a directory.")))
            }
            (Some(_), None) => Err(ApiError::missing(&["sha"])),
            (Some(e), Some(s)) if !e.sha.eq_ignore_ascii_case(s) => {
                Err(ApiError::conflict(format!("{path} does not match {s}")))
            }
            // A sha for a file that is not there is as stale as a wrong one.
            (None, Some(s)) => Err(ApiError::conflict(format!("{path} does not match {s}"))),
            _ => Ok(current),
        }
    }

    /// `PUT /contents/{path}` `{message, content, branch?, sha?, committer?, author?}`.
    pub(crate) fn put_contents(&self, path: &str, body: &Body) -> Result<Reply> {
        body.require(&["message", "content"])?;
        let message = body.req_str("message")?;
        let data = decode_base64(body.req_str("content")?)
            .ok_or_else(|| ApiError::unprocessable("Invalid request.\n\ncontent is not valid Base64."))?;
        let sha = body.str("sha")?;
        check_write_path(path)?;
        let ids = self.write_identities(body)?;
        let branch = self.write_branch(body)?;
        let current = self.existing(&branch, path, sha)?;

        let mut files = match &branch.tree {
            Some(t) => self.store.flatten(t)?,
            None => FlatTree::new(),
        };
        // Writing `a/b` where `a` is a file would silently delete that file.
        if let Some((i, _)) = path.match_indices('/').find(|(i, _)| files.contains_key(&path[..*i])) {
            return Err(ApiError::unprocessable(format!("Invalid request.\n\n{} is a file.", &path[..i])));
        }
        let blob = self.store.write_blob(&data)?;
        // Keep an executable bit or symlink; anything else becomes a plain file.
        let mode = current.as_ref().filter(|e| e.kind == Kind::Blob).map_or("100644".to_string(), |e| e.mode.clone());
        tree_edit::apply(&mut files, vec![Edit::Put { path: path.to_string(), mode: mode.clone(), sha: blob.clone() }])
            .map_err(|_| ApiError::new(500, "local-github: put cannot fail"))?;
        let commit = self.commit_on(&branch, &files, message, &ids)?;
        let entry =
            TreeEntry { mode, kind: Kind::Blob, sha: blob, size: Some(data.len() as u64), path: path.to_string() };
        let status = if current.is_some() { 200 } else { 201 };
        Ok(Reply::new(status, json!({ "content": self.render.content(&entry, &branch.name, None), "commit": commit })))
    }

    /// `DELETE /contents/{path}` `{message, sha, branch?, committer?, author?}`.
    pub(crate) fn delete_contents(&self, path: &str, body: &Body) -> Result<Reply> {
        body.require(&["message", "sha"])?;
        let message = body.req_str("message")?;
        let sha = body.req_str("sha")?;
        check_write_path(path)?;
        let ids = self.write_identities(body)?;
        let branch = self.write_branch(body)?;
        let Some(tree) = &branch.tree else { return Err(ApiError::not_found()) };
        if self.store.entry_at(tree, path)?.is_none() {
            return Err(ApiError::not_found());
        }
        self.existing(&branch, path, Some(sha))?;
        let mut files = self.store.flatten(tree)?;
        tree_edit::apply(&mut files, vec![Edit::Delete { path: path.to_string() }])
            .map_err(|_| ApiError::not_found())?;
        let commit = self.commit_on(&branch, &files, message, &ids)?;
        Ok(Reply::ok(json!({ "content": null, "commit": commit })))
    }
}

fn check_write_path(path: &str) -> Result<()> {
    validate::path(path).map_err(|_| {
        ApiError::unprocessable(format!("Invalid request.\n\npath {path:?} contains a malformed path component."))
    })
}
