//! History queries: `GET /commits` (newest first, filtered by `sha` and `path`, paged) and
//! `GET /compare/{base}...{head}` (where `head` stands relative to `base`), answered with
//! `git rev-list` and `git merge-base` as GitHub answers them.

use crate::local::Repo;
use crate::reply::Reply;
use crate::reply::{ApiError, Result};
use crate::routes::Target;
use crate::store::{CommitInfo, Kind};
use crate::validate;

/// GitHub's largest page.
const MAX_PER_PAGE: usize = 100;

impl Repo {
    /// A commit-ish (a full SHA, or a branch or tag name) -> commit SHA.
    fn commitish(&self, name: &str) -> Result<Option<String>> {
        if let Some(sha) = validate::sha(name) {
            return Ok((self.store.kind(&sha)? == Some(Kind::Commit)).then_some(sha));
        }
        if !validate::ref_suffix(name) {
            return Ok(None);
        }
        for full in [format!("refs/heads/{name}"), format!("refs/tags/{name}")] {
            if let Some(sha) = self.store.read_ref(&full)? {
                return Ok(self.store.peel(&sha, Kind::Commit)?);
            }
        }
        Ok(None)
    }

    fn commit_info(&self, sha: &str) -> Result<CommitInfo> {
        self.store.commit(sha)?.ok_or_else(ApiError::not_found)
    }

    /// `git rev-list` with `args` (commits only, newest first).
    fn rev_list(&self, args: &[&str]) -> Result<Vec<String>> {
        let mut all = vec!["rev-list"];
        all.extend_from_slice(args);
        let out = self.store.git().run(&all)?;
        Ok(String::from_utf8_lossy(&out).lines().map(str::to_string).collect())
    }

    /// `GET /commits?sha={commit-ish}&path={path}&per_page={n}&page={p}`: newest first;
    /// with `path`, only commits that changed it (git's default history simplification).
    pub(crate) fn list_commits(&self, target: &Target) -> Result<Reply> {
        if self.store.is_empty()? {
            return Err(ApiError::new(409, "Git Repository is empty."));
        }
        let start = target.query("sha").filter(|s| !s.is_empty()).unwrap_or(&self.options.default_branch);
        let head = self.commitish(start)?.ok_or_else(ApiError::not_found)?;
        let number = |name: &str, default: usize| -> Result<usize> {
            match target.query(name) {
                None => Ok(default),
                Some(v) => v.parse::<usize>().map_err(|_| ApiError::new(400, format!("Invalid {name}"))),
            }
        };
        let per_page = number("per_page", 30)?.clamp(1, MAX_PER_PAGE);
        let page = number("page", 1)?.max(1);
        let skip = (page - 1) * per_page;
        let (max, skip) = (per_page.to_string(), skip.to_string());
        let mut args = vec!["--max-count", max.as_str(), "--skip", skip.as_str(), "--end-of-options", head.as_str()];
        let path = target.query("path").map(|p| p.trim_matches('/')).filter(|p| !p.is_empty());
        if let Some(path) = path {
            if validate::path(path).is_err() {
                return Ok(Reply::ok(serde_json::Value::Array(Vec::new())));
            }
            args.extend(["--", path]);
        }
        let mut commits = Vec::new();
        for sha in self.rev_list(&args)? {
            commits.push(self.render.listed_commit(&self.commit_info(&sha)?));
        }
        Ok(Reply::ok(serde_json::Value::Array(commits)))
    }

    /// `GET /compare/{base}...{head}`: `identical`, `ahead` (head descends from base),
    /// `behind` (base descends from head) or `diverged`; 404 for an unknown commit.
    pub(crate) fn compare(&self, spec: &str) -> Result<Reply> {
        if self.store.is_empty()? {
            return Err(ApiError::new(409, "Git Repository is empty."));
        }
        let (base_name, head_name) = spec.split_once("...").ok_or_else(ApiError::not_found)?;
        let base = self.commitish(base_name)?.ok_or_else(ApiError::not_found)?;
        let head = self.commitish(head_name)?.ok_or_else(ApiError::not_found)?;
        let merge_base = {
            let args = ["merge-base", base.as_str(), head.as_str()];
            let out = self.store.git().output(&args, &[], None)?;
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        };
        let ahead = self.rev_list(&["--end-of-options", &head, &format!("^{base}")])?;
        let behind = self.rev_list(&["--end-of-options", &base, &format!("^{head}")])?;
        let status = match (ahead.is_empty(), behind.is_empty()) {
            (true, true) => "identical",
            (false, true) => "ahead",
            (true, false) => "behind",
            (false, false) => "diverged",
        };
        let merge_base = if merge_base.is_empty() { base.clone() } else { merge_base };
        let mut commits = Vec::new();
        for sha in ahead.iter().rev().take(250) {
            commits.push(self.commit_info(sha)?);
        }
        Ok(Reply::ok(self.render.comparison(
            spec,
            &self.commit_info(&base)?,
            &self.commit_info(&merge_base)?,
            status,
            ahead.len(),
            behind.len(),
            &commits,
        )))
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use serde_json::{json, Value};

    use crate::testing::TempDir;
    use crate::{openapi, ApiRequest, LocalGitHub, Options};

    fn call(gh: &LocalGitHub, method: &str, rel: &str, body: Option<Value>) -> (u16, Value) {
        let path_and_query = format!("/repos/acme/fabric{rel}");
        let req = ApiRequest {
            method: method.into(),
            path_and_query: path_and_query.clone(),
            body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
            ..ApiRequest::default()
        };
        let response = gh.handle(&req);
        let json = response.json();
        if response.status < 300 || method == "GET" {
            let spec = openapi::github();
            if let Err(problems) = spec.check_response(method, &path_and_query, response.status, &json) {
                let real: Vec<_> = problems.iter().filter(|p| !p.contains("expected exactly one")).collect();
                assert!(real.is_empty(), "{method} {rel} -> {}: {real:#?}", response.status);
            }
        }
        (response.status, json)
    }

    fn put(gh: &LocalGitHub, path: &str, text: &str, sha: Option<&str>) -> String {
        let mut body = json!({"message": format!("write {path}"), "content": base64::engine::general_purpose::STANDARD.encode(text)});
        if let Some(sha) = sha {
            body["sha"] = json!(sha);
        }
        let (status, answer) = call(gh, "PUT", &format!("/contents/{path}"), Some(body));
        assert!(status == 200 || status == 201, "{answer}");
        answer["commit"]["sha"].as_str().unwrap().to_string()
    }

    #[test]
    fn commits_and_compare_answer_as_github_does() {
        let dir = TempDir::new("history").unwrap();
        let gh = LocalGitHub::init(dir.path().join("r.git"), "acme", "fabric", Options::default()).unwrap();
        let c1 = put(&gh, "s/state.json", "1", None);
        let (_, file) = call(&gh, "GET", "/contents/s/state.json", None);
        let c2 = put(&gh, "other.txt", "x", None);
        let c3 = put(&gh, "s/state.json", "2", file["sha"].as_str());

        // The last commit that touched the path, newest first, one per page.
        let (status, list) = call(&gh, "GET", &format!("/commits?sha={c2}&path=s/state.json&per_page=1"), None);
        assert_eq!((status, list[0]["sha"].as_str()), (200, Some(c1.as_str())));
        assert_eq!(list.as_array().unwrap().len(), 1);
        let (_, list) = call(&gh, "GET", "/commits?sha=main&path=s/state.json", None);
        let shas: Vec<&str> = list.as_array().unwrap().iter().filter_map(|c| c["sha"].as_str()).collect();
        assert_eq!(shas, [c3.as_str(), c1.as_str()]);
        assert_eq!(list[0]["commit"]["message"], "write s/state.json");
        assert_eq!(list[0]["parents"][0]["sha"], c2.as_str());
        let (_, page2) = call(&gh, "GET", "/commits?sha=main&per_page=2&page=2", None);
        assert_eq!(page2[0]["sha"], c1.as_str());
        // The state as it was at a commit.
        let (status, old) = call(&gh, "GET", &format!("/contents/s/state.json?ref={c1}"), None);
        assert_eq!((status, old["content"].as_str()), (200, Some("MQ==\n")));

        let status_of = |spec: &str| {
            let (status, body) = call(&gh, "GET", &format!("/compare/{spec}"), None);
            (status, body["status"].as_str().map(str::to_string), body["ahead_by"].as_u64())
        };
        assert_eq!(status_of(&format!("{c3}...main")), (200, Some("identical".into()), Some(0)));
        assert_eq!(status_of(&format!("{c1}...main")), (200, Some("ahead".into()), Some(2)));
        assert_eq!(status_of(&format!("main...{c1}")), (200, Some("behind".into()), Some(0)));
        let missing = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(status_of(&format!("{missing}...main")).0, 404);
    }
}
