//! The JSON shapes GitHub answers with (refs, trees, blobs, commits, contents, repository),
//! built from git data; every URL derives from the configured API base.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::date;
use crate::routes::encode_path;
use crate::store::{CommitInfo, Ident, Kind, TreeEntry};

/// GitHub's contents API leaves `content` empty for files above 1 MB.
pub(crate) const CONTENTS_MAX: u64 = 1024 * 1024;

/// Base64 with a `\n` after every 60 characters, the last line included, as GitHub's
/// (Ruby `Base64.encode64`) output.
pub fn base64_wrapped(data: &[u8]) -> String {
    let flat = STANDARD.encode(data);
    let mut out = String::with_capacity(flat.len() + flat.len() / 60 + 1);
    for chunk in flat.as_bytes().chunks(60) {
        // Base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// An opaque `node_id`, stable for the same object.
fn node_id(kind: &str, key: &str) -> String {
    STANDARD.encode(format!("{kind}:{key}"))
}

/// Builds response bodies for one repository.
pub(crate) struct Render {
    api: String,
    owner: String,
    name: String,
}

impl Render {
    pub fn new(api_base: &str, owner: &str, name: &str) -> Self {
        Render { api: api_base.trim_end_matches('/').to_string(), owner: owner.to_string(), name: name.to_string() }
    }

    fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    /// `{api}/repos/{owner}/{repo}`.
    pub fn repo_api(&self) -> String {
        format!("{}/repos/{}/{}", self.api, self.owner, self.name)
    }

    /// Where GitHub's web pages would be; nothing serves them locally.
    fn html(&self) -> String {
        format!("{}/{}/{}", self.api, self.owner, self.name)
    }

    pub fn ref_url(&self, full_ref: &str) -> String {
        format!("{}/git/{}", self.repo_api(), encode_path(full_ref))
    }

    pub fn object_url(&self, kind: Kind, sha: &str) -> String {
        let dir = match kind {
            Kind::Blob => "blobs",
            Kind::Tree => "trees",
            Kind::Commit => "commits",
            Kind::Tag => "tags",
        };
        format!("{}/git/{dir}/{sha}", self.repo_api())
    }

    pub fn reference(&self, full_ref: &str, sha: &str, kind: Kind) -> Value {
        json!({
            "ref": full_ref,
            "node_id": node_id("Ref", &format!("{}:{full_ref}", self.full_name())),
            "url": self.ref_url(full_ref),
            "object": { "sha": sha, "type": kind.as_str(), "url": self.object_url(kind, sha) },
        })
    }

    /// A tree listing whose JSON stays under `max_bytes`: entries past that are left out,
    /// with `truncated: true`, as GitHub cuts listings at 7 MB.
    pub fn tree(&self, sha: &str, entries: &[TreeEntry], mut truncated: bool, max_bytes: usize) -> Value {
        let url = self.object_url(Kind::Tree, sha);
        // `{"sha":"..","url":"..","tree":[],"truncated":false}`, generously.
        let mut size = sha.len() + url.len() + 64;
        let mut items = Vec::with_capacity(entries.len());
        for e in entries {
            let mut v = json!({ "path": e.path, "mode": e.mode, "type": e.kind.as_str(), "sha": e.sha });
            if e.kind == Kind::Blob {
                v["size"] = json!(e.size.unwrap_or(0));
            }
            // Submodule entries point into another repository: no URL here.
            if e.kind != Kind::Commit {
                v["url"] = json!(self.object_url(e.kind, &e.sha));
            }
            // Serialized length plus the separating comma.
            size += serde_json::to_string(&v).map_or(0, |t| t.len()) + 1;
            if size > max_bytes {
                truncated = true;
                break;
            }
            items.push(v);
        }
        json!({ "sha": sha, "url": url, "tree": items, "truncated": truncated })
    }

    pub fn blob(&self, sha: &str, data: &[u8]) -> Value {
        json!({
            "sha": sha,
            "node_id": node_id("Blob", &format!("{}:{sha}", self.full_name())),
            "size": data.len(),
            "url": self.object_url(Kind::Blob, sha),
            "content": base64_wrapped(data),
            "encoding": "base64",
        })
    }

    pub fn blob_created(&self, sha: &str) -> Value {
        json!({ "sha": sha, "url": self.object_url(Kind::Blob, sha) })
    }

    pub fn commit(&self, c: &CommitInfo) -> Value {
        let ident = |i: &Ident| json!({ "name": i.name, "email": i.email, "date": date::format_utc(i.secs) });
        let parents: Vec<Value> = c
            .parents
            .iter()
            .map(|p| json!({ "sha": p, "url": self.object_url(Kind::Commit, p), "html_url": format!("{}/commit/{p}", self.html()) }))
            .collect();
        json!({
            "sha": c.sha,
            "node_id": node_id("Commit", &format!("{}:{}", self.full_name(), c.sha)),
            "url": self.object_url(Kind::Commit, &c.sha),
            "html_url": format!("{}/commit/{}", self.html(), c.sha),
            "author": ident(&c.author),
            "committer": ident(&c.committer),
            "message": c.message,
            "tree": { "sha": c.tree, "url": self.object_url(Kind::Tree, &c.tree) },
            "parents": parents,
            "verification": { "verified": false, "reason": "unsigned", "signature": null, "payload": null, "verified_at": null },
        })
    }

    /// A commit as `GET /commits` and `GET /compare` list it (the REST `commit` schema; the
    /// GitHub users of author and committer are unknown here: `null`).
    pub fn listed_commit(&self, c: &CommitInfo) -> Value {
        let ident = |i: &Ident| json!({ "name": i.name, "email": i.email, "date": date::format_utc(i.secs) });
        let parents: Vec<Value> = c
            .parents
            .iter()
            .map(|p| json!({ "sha": p, "url": format!("{}/commits/{p}", self.repo_api()), "html_url": format!("{}/commit/{p}", self.html()) }))
            .collect();
        json!({
            "url": format!("{}/commits/{}", self.repo_api(), c.sha),
            "sha": c.sha,
            "node_id": node_id("Commit", &format!("{}:{}", self.full_name(), c.sha)),
            "html_url": format!("{}/commit/{}", self.html(), c.sha),
            "comments_url": format!("{}/commits/{}/comments", self.repo_api(), c.sha),
            "commit": {
                "url": self.object_url(Kind::Commit, &c.sha),
                "author": ident(&c.author),
                "committer": ident(&c.committer),
                "message": c.message,
                "tree": { "sha": c.tree, "url": self.object_url(Kind::Tree, &c.tree) },
                "comment_count": 0,
                "verification": { "verified": false, "reason": "unsigned", "signature": null, "payload": null, "verified_at": null },
            },
            "author": null,
            "committer": null,
            "parents": parents,
        })
    }

    /// `GET /compare/{base}...{head}`: `status`, `ahead_by`, `behind_by` and the commits of
    /// `head` that `base` lacks (oldest first); no file list.
    #[allow(clippy::too_many_arguments)]
    pub fn comparison(
        &self,
        spec: &str,
        base: &CommitInfo,
        merge_base: &CommitInfo,
        status: &str,
        ahead_by: usize,
        behind_by: usize,
        commits: &[CommitInfo],
    ) -> Value {
        let spec = encode_path(spec);
        json!({
            "url": format!("{}/compare/{spec}", self.repo_api()),
            "html_url": format!("{}/compare/{spec}", self.html()),
            "permalink_url": format!("{}/compare/{spec}", self.html()),
            "diff_url": format!("{}/compare/{spec}.diff", self.html()),
            "patch_url": format!("{}/compare/{spec}.patch", self.html()),
            "base_commit": self.listed_commit(base),
            "merge_base_commit": self.listed_commit(merge_base),
            "status": status,
            "ahead_by": ahead_by,
            "behind_by": behind_by,
            "total_commits": ahead_by,
            "commits": commits.iter().map(|c| self.listed_commit(c)).collect::<Vec<_>>(),
            "files": [],
        })
    }

    /// The contents-API object for an entry. `data` is the blob's bytes for a single file
    /// (adds `content` and `encoding`); `None` for directory listings and write answers.
    pub fn content(&self, e: &TreeEntry, git_ref: &str, data: Option<&[u8]>) -> Value {
        let name = e.path.rsplit('/').next().unwrap_or(&e.path);
        let (kind, html_kind) = match (e.kind, e.mode.as_str()) {
            (Kind::Tree, _) => ("dir", "tree"),
            (Kind::Blob, "120000") => ("symlink", "blob"),
            (Kind::Commit, _) => (if data.is_some() { "submodule" } else { "file" }, "tree"),
            _ => ("file", "blob"),
        };
        let path = encode_path(&e.path);
        let r = encode_path(git_ref);
        let url = format!("{}/contents/{path}?ref={r}", self.repo_api());
        let git_url = self.object_url(e.kind, &e.sha);
        let html_url = format!("{}/{html_kind}/{r}/{path}", self.html());
        let download = (e.kind == Kind::Blob).then(|| format!("{}/raw/{r}/{path}", self.html()));
        let mut v = json!({
            "type": kind,
            "size": if e.kind == Kind::Blob { e.size.unwrap_or(0) } else { 0 },
            "name": name,
            "path": e.path,
            "sha": e.sha,
            "url": url,
            "git_url": git_url,
            "html_url": html_url,
            "download_url": download,
            "_links": { "self": url, "git": git_url, "html": html_url },
        });
        if let Some(data) = data {
            match kind {
                "symlink" => v["target"] = json!(String::from_utf8_lossy(data)),
                "submodule" => v["submodule_git_url"] = json!(""),
                _ if (data.len() as u64) > CONTENTS_MAX => {
                    v["content"] = json!("");
                    v["encoding"] = json!("none");
                }
                _ => {
                    v["content"] = json!(base64_wrapped(data));
                    v["encoding"] = json!("base64");
                }
            }
        }
        v
    }

    /// `GET /repos/{o}/{r}`: every field the `repos/get` schema requires.
    pub fn repository(&self, default_branch: &str, now: i64) -> Value {
        let api = &self.api;
        let (o, full) = (&self.owner, self.full_name());
        let r = self.repo_api();
        let h = self.html();
        let id = numeric_id(&full);
        let owner_id = numeric_id(o);
        let stamp = date::format_utc(now);
        // Split in parts: one json! this size exceeds the macro recursion limit.
        let mut v = json!({
            "id": id, "node_id": node_id("Repository", &full), "name": self.name, "full_name": full,
            "private": true, "description": null, "fork": false, "homepage": null, "language": null,
            "owner": {
                "login": o, "id": owner_id, "node_id": node_id("User", o), "type": "User", "site_admin": false,
                "avatar_url": format!("{api}/avatars/{o}"), "gravatar_id": "",
                "url": format!("{api}/users/{o}"), "html_url": format!("{api}/{o}"),
                "followers_url": format!("{api}/users/{o}/followers"),
                "following_url": format!("{api}/users/{o}/following{{/other_user}}"),
                "gists_url": format!("{api}/users/{o}/gists{{/gist_id}}"),
                "starred_url": format!("{api}/users/{o}/starred{{/owner}}{{/repo}}"),
                "subscriptions_url": format!("{api}/users/{o}/subscriptions"),
                "organizations_url": format!("{api}/users/{o}/orgs"),
                "repos_url": format!("{api}/users/{o}/repos"),
                "events_url": format!("{api}/users/{o}/events{{/privacy}}"),
                "received_events_url": format!("{api}/users/{o}/received_events"),
            },
        });
        let urls = json!({
            "url": r, "html_url": h,
            "archive_url": format!("{r}/{{archive_format}}{{/ref}}"),
            "assignees_url": format!("{r}/assignees{{/user}}"),
            "blobs_url": format!("{r}/git/blobs{{/sha}}"),
            "branches_url": format!("{r}/branches{{/branch}}"),
            "collaborators_url": format!("{r}/collaborators{{/collaborator}}"),
            "comments_url": format!("{r}/comments{{/number}}"),
            "commits_url": format!("{r}/commits{{/sha}}"),
            "compare_url": format!("{r}/compare/{{base}}...{{head}}"),
            "contents_url": format!("{r}/contents/{{+path}}"),
            "contributors_url": format!("{r}/contributors"),
            "deployments_url": format!("{r}/deployments"),
            "downloads_url": format!("{r}/downloads"),
            "events_url": format!("{r}/events"),
            "forks_url": format!("{r}/forks"),
            "git_commits_url": format!("{r}/git/commits{{/sha}}"),
            "git_refs_url": format!("{r}/git/refs{{/sha}}"),
            "git_tags_url": format!("{r}/git/tags{{/sha}}"),
            "hooks_url": format!("{r}/hooks"),
            "issue_comment_url": format!("{r}/issues/comments{{/number}}"),
            "issue_events_url": format!("{r}/issues/events{{/number}}"),
            "issues_url": format!("{r}/issues{{/number}}"),
            "keys_url": format!("{r}/keys{{/key_id}}"),
            "labels_url": format!("{r}/labels{{/name}}"),
            "languages_url": format!("{r}/languages"),
            "merges_url": format!("{r}/merges"),
            "milestones_url": format!("{r}/milestones{{/number}}"),
            "notifications_url": format!("{r}/notifications{{?since,all,participating}}"),
            "pulls_url": format!("{r}/pulls{{/number}}"),
            "releases_url": format!("{r}/releases{{/id}}"),
            "stargazers_url": format!("{r}/stargazers"),
            "statuses_url": format!("{r}/statuses/{{sha}}"),
            "subscribers_url": format!("{r}/subscribers"),
            "subscription_url": format!("{r}/subscription"),
            "tags_url": format!("{r}/tags"),
            "teams_url": format!("{r}/teams"),
            "trees_url": format!("{r}/git/trees{{/sha}}"),
        });
        let rest = json!({
            "clone_url": format!("{h}.git"), "git_url": format!("{h}.git"), "ssh_url": format!("{h}.git"),
            "svn_url": h, "mirror_url": null,
            "default_branch": default_branch,
            "forks": 0, "forks_count": 0, "open_issues": 0, "open_issues_count": 0,
            "stargazers_count": 0, "watchers": 0, "watchers_count": 0, "network_count": 0, "subscribers_count": 0,
            "size": 0, "license": null, "archived": false, "disabled": false, "visibility": "private",
            "has_issues": false, "has_projects": false, "has_wiki": false, "has_pages": false,
            "has_discussions": false, "has_downloads": false,
            "pushed_at": stamp, "created_at": stamp, "updated_at": stamp,
            "permissions": { "admin": true, "maintain": true, "push": true, "triage": true, "pull": true },
        });
        if let (Some(all), Value::Object(urls), Value::Object(rest)) = (v.as_object_mut(), urls, rest) {
            all.extend(urls);
            all.extend(rest);
        }
        v
    }
}

/// A stable positive number for a name (GitHub ids are integers).
fn numeric_id(key: &str) -> u64 {
    let digest = sha1_smol::Sha1::from(key).digest().bytes();
    let mut n = [0u8; 8];
    n.copy_from_slice(&digest[..8]);
    // Keep it well inside JavaScript's and JSON parsers' exact integer range.
    u64::from_be_bytes(n) >> 24
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_60() {
        assert_eq!(base64_wrapped(b""), "");
        assert_eq!(base64_wrapped(b"abc"), "YWJj\n");
        let s = base64_wrapped(&[7u8; 100]);
        let lines: Vec<&str> = s.split_terminator('\n').collect();
        assert_eq!(lines.iter().map(|l| l.len()).collect::<Vec<_>>(), vec![60, 60, 16]);
        assert!(s.ends_with('\n'));
    }
}
