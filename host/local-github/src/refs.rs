//! Git Data refs: read, create, move (fast-forward or forced) and delete branches and tags.
//! Every move is a compare-and-swap on the ref, so concurrent writers cannot both win.

use crate::local::Repo;
use crate::reply::{ApiError, Body, Reply, Result};
use crate::store::{Cas, Kind};
use crate::validate;

/// How often a move re-reads the ref after losing a race before giving up.
const CAS_ROUNDS: usize = 8;

/// `heads/main` -> `refs/heads/main`; only branches and tags, with valid names.
fn full_ref(param: &str) -> Option<String> {
    let ok = ["heads/", "tags/"].iter().any(|p| param.strip_prefix(p).is_some_and(validate::ref_suffix));
    ok.then(|| format!("refs/{param}"))
}

impl Repo {
    /// 409 on an empty repository, else 404: what GitHub answers for a missing object.
    pub(crate) fn absent(&self) -> Result<ApiError> {
        Ok(if self.store.is_empty()? { ApiError::empty_repo() } else { ApiError::not_found() })
    }

    fn ref_kind(&self, full: &str, sha: &str) -> Result<Kind> {
        if full.starts_with("refs/heads/") {
            return Ok(Kind::Commit);
        }
        Ok(self.store.kind(sha)?.unwrap_or(Kind::Commit))
    }

    /// `GET /git/ref/{ref}`.
    pub(crate) fn get_ref(&self, param: &str) -> Result<Reply> {
        let Some(full) = full_ref(param) else { return Err(self.absent()?) };
        match self.store.read_ref(&full)? {
            Some(sha) => Ok(Reply::ok(self.render.reference(&full, &sha, self.ref_kind(&full, &sha)?))),
            None => Err(self.absent()?),
        }
    }

    /// The object a ref may point to: must exist, and be a commit for a branch.
    fn ref_target(&self, full: &str, sha: &str) -> Result<String> {
        let sha = validate::sha(sha).ok_or_else(|| ApiError::unprocessable("Object does not exist"))?;
        match self.store.kind(&sha)? {
            Some(Kind::Commit) => Ok(sha),
            Some(_) if !full.starts_with("refs/heads/") => Ok(sha),
            _ => Err(ApiError::unprocessable("Object does not exist")),
        }
    }

    /// `POST /git/refs` `{ref, sha}`.
    pub(crate) fn create_ref(&self, body: &Body) -> Result<Reply> {
        body.require(&["ref", "sha"])?;
        let (name, sha) = (body.req_str("ref")?, body.req_str("sha")?);
        if self.store.is_empty()? {
            return Err(ApiError::empty_repo());
        }
        // GitHub: it must start with `refs` and have at least two slashes.
        let full = name
            .strip_prefix("refs/")
            .and_then(full_ref)
            .ok_or_else(|| ApiError::unprocessable("Reference name is not valid"))?;
        let sha = self.ref_target(&full, sha)?;
        match self.store.cas_ref(&full, &sha, None)? {
            Cas::Updated => {
                let kind = self.ref_kind(&full, &sha)?;
                Ok(Reply::created(self.render.reference(&full, &sha, kind), self.render.ref_url(&full)))
            }
            Cas::Moved(_) => Err(ApiError::unprocessable("Reference already exists")),
            // e.g. `refs/heads/a/b` while `refs/heads/a` exists.
            Cas::Refused(_) => Err(ApiError::unprocessable("Reference update failed")),
        }
    }

    /// `PATCH /git/refs/{ref}` `{sha, force}`.
    pub(crate) fn update_ref(&self, param: &str, body: &Body) -> Result<Reply> {
        body.require(&["sha"])?;
        let sha = body.req_str("sha")?;
        let force = body.bool("force")?.unwrap_or(false);
        if self.store.is_empty()? {
            return Err(ApiError::empty_repo());
        }
        let full = full_ref(param).ok_or_else(|| ApiError::unprocessable("Reference does not exist"))?;
        let sha = self.ref_target(&full, sha)?;
        for _ in 0..CAS_ROUNDS {
            let current =
                self.store.read_ref(&full)?.ok_or_else(|| ApiError::unprocessable("Reference does not exist"))?;
            if current != sha {
                if !force && !self.store.is_ancestor(&current, &sha)? {
                    return Err(ApiError::unprocessable("Update is not a fast forward"));
                }
                match self.store.cas_ref(&full, &sha, Some(&current))? {
                    Cas::Updated => {}
                    // Someone moved it between our check and our swap: check again.
                    Cas::Moved(_) => continue,
                    Cas::Refused(e) => {
                        return Err(ApiError::new(500, format!("local-github: update-ref refused: {e}")))
                    }
                }
            }
            return Ok(Reply::ok(self.render.reference(&full, &sha, self.ref_kind(&full, &sha)?)));
        }
        Err(ApiError::unprocessable("Update is not a fast forward"))
    }

    /// `DELETE /git/refs/{ref}` -> 204.
    pub(crate) fn delete_ref(&self, param: &str) -> Result<Reply> {
        if self.store.is_empty()? {
            return Err(ApiError::empty_repo());
        }
        let full = full_ref(param).ok_or_else(|| ApiError::unprocessable("Reference does not exist"))?;
        for _ in 0..CAS_ROUNDS {
            let current =
                self.store.read_ref(&full)?.ok_or_else(|| ApiError::unprocessable("Reference does not exist"))?;
            match self.store.delete_ref(&full, &current)? {
                Cas::Updated => return Ok(Reply::new(204, serde_json::Value::Null)),
                Cas::Moved(_) => continue,
                Cas::Refused(e) => return Err(ApiError::new(500, format!("local-github: update-ref -d refused: {e}"))),
            }
        }
        Err(ApiError::unprocessable("Reference update failed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(full_ref("heads/feature/x").as_deref(), Some("refs/heads/feature/x"));
        assert_eq!(full_ref("tags/v1").as_deref(), Some("refs/tags/v1"));
        assert_eq!(full_ref("heads/"), None);
        assert_eq!(full_ref("remotes/origin/main"), None);
        assert_eq!(full_ref("heads/-x"), None);
    }
}
