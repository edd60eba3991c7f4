//! Git Data objects: read and create blobs, trees and commits, with GitHub's validation
//! rules and messages.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::date;
use crate::local::{Identity, Repo, MAX_TREE_ENTRIES};
use crate::reply::{ApiError, Body, Reply, Result};
use crate::store::{Content, FlatTree, Ident, Kind};
use crate::tree_edit::{self, Edit};
use crate::validate::{self, PathProblem};

/// Standard alphabet, padding optional: clients differ in what they send.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes request base64, ignoring line breaks and spaces (GitHub's own output has them).
pub(crate) fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    LENIENT.decode(compact).ok()
}

/// Reads an `author`/`committer` object. Absent: `fallback` (the other identity) if given,
/// else `default` at `now`.
pub(crate) fn identity(
    field: &str,
    v: Option<&Map<String, Value>>,
    fallback: Option<&Ident>,
    default: &Identity,
    now: i64,
) -> Result<Ident> {
    let Some(obj) = v else {
        return Ok(fallback.cloned().unwrap_or_else(|| Ident {
            name: default.name.clone(),
            email: default.email.clone(),
            secs: now,
            offset_min: 0,
        }));
    };
    let missing: Vec<&str> = ["name", "email"].into_iter().filter(|k| !obj.contains_key(*k)).collect();
    if !missing.is_empty() {
        return Err(ApiError::missing(&missing));
    }
    let text = |k: &str| -> Result<String> {
        match obj.get(k) {
            Some(Value::String(s)) if validate::ident_part(s) => Ok(s.clone()),
            Some(v @ Value::String(_)) => {
                Err(ApiError::unprocessable(format!("Invalid request.\n\n{field}.{k} {v} is not a valid identity.")))
            }
            Some(v) => Err(ApiError::wrong_type(k, v, "a string")),
            None => Err(ApiError::missing(&[k])),
        }
    };
    let (name, email) = (text("name")?, text("email")?);
    let (secs, offset_min) = match obj.get("date") {
        None | Some(Value::Null) => (now, 0),
        Some(Value::String(s)) => date::parse_iso8601(s).filter(|(t, _)| *t >= 0).ok_or_else(|| {
            ApiError::unprocessable(format!("Invalid request.\n\nFor 'properties/date', \"{s}\" is not a date-time."))
        })?,
        Some(v) => return Err(ApiError::wrong_type("date", v, "a string")),
    };
    Ok(Ident { name, email, secs, offset_min })
}

/// 422 "The sha parameter must be ..." for ids that cannot be object ids.
fn sha_param(s: &str) -> Result<String> {
    validate::sha(s).ok_or_else(|| {
        ApiError::unprocessable("The sha parameter must be exactly 40 characters and contain only [0-9a-f].")
    })
}

impl Repo {
    /// `GET /git/blobs/{sha}`.
    pub(crate) fn get_blob(&self, sha: &str) -> Result<Reply> {
        let sha = sha_param(sha)?;
        match self.store.read_object(&sha, self.options.max_blob_bytes)? {
            Some((Kind::Blob, Content::Bytes(data))) => Ok(Reply::ok(self.render.blob(&sha, &data))),
            Some((Kind::Blob, Content::TooLarge(size))) => Err(ApiError::new(
                403,
                format!(
                    "This API returns blobs up to {} bytes in size. The requested blob ({size} bytes) is too large to fetch via the API.",
                    self.options.max_blob_bytes
                ),
            )),
            _ => Err(self.absent()?),
        }
    }

    /// `POST /git/blobs` `{content, encoding}`.
    pub(crate) fn create_blob(&self, body: &Body) -> Result<Reply> {
        body.require(&["content"])?;
        let content = body.req_str("content")?;
        let encoding = body.str("encoding")?.unwrap_or("utf-8");
        if self.store.is_empty()? {
            return Err(ApiError::empty_repo());
        }
        let data = match encoding {
            "utf-8" | "utf8" => content.as_bytes().to_vec(),
            "base64" => decode_base64(content)
                .ok_or_else(|| ApiError::unprocessable("Invalid request.\n\ncontent is not valid Base64."))?,
            other => {
                return Err(ApiError::unprocessable(format!(
                    "Invalid request.\n\nencoding \"{other}\" is not one of \"utf-8\", \"base64\"."
                )))
            }
        };
        let sha = self.store.write_blob(&data)?;
        Ok(Reply::created(self.render.blob_created(&sha), self.render.object_url(Kind::Blob, &sha)))
    }

    /// The tree a tree id, commit id, branch or tag names.
    fn resolve_tree(&self, spec: &str) -> Result<Option<String>> {
        if let Some(sha) = validate::sha(spec) {
            return Ok(self.store.peel(&sha, Kind::Tree)?);
        }
        if !validate::ref_suffix(spec) {
            return Ok(None);
        }
        for full in [format!("refs/heads/{spec}"), format!("refs/tags/{spec}")] {
            if let Some(sha) = self.store.read_ref(&full)? {
                return Ok(self.store.peel(&sha, Kind::Tree)?);
            }
        }
        Ok(None)
    }

    /// `GET /git/trees/{tree_sha}[?recursive=...]` (any value of `recursive` recurses, as on GitHub).
    pub(crate) fn get_tree(&self, spec: &str, recursive: bool) -> Result<Reply> {
        let Some(tree) = self.resolve_tree(spec)? else { return Err(self.absent()?) };
        // The JSON of an entry is longer than git's line for it: reading `max_tree_bytes` of
        // the listing is enough for any answer, and bounds what a huge tree costs.
        let (mut entries, mut truncated) = self.store.ls_tree(&tree, recursive, self.options.max_tree_bytes)?;
        let limit = match (recursive, self.options.truncate_tree_after) {
            (true, Some(limit)) => limit.min(MAX_TREE_ENTRIES),
            _ => MAX_TREE_ENTRIES,
        };
        if entries.len() > limit {
            entries.truncate(limit);
            truncated = true;
        }
        Ok(Reply::ok(self.render.tree(&tree, &entries, truncated, self.options.max_tree_bytes)))
    }

    /// `POST /git/trees` `{base_tree?, tree: [{path, mode, type, sha | content}]}`.
    pub(crate) fn create_tree(&self, body: &Body) -> Result<Reply> {
        body.require(&["tree"])?;
        let items = body.array("tree")?.ok_or_else(|| ApiError::missing(&["tree"]))?;
        let base = body
            .get("base_tree")
            .filter(|v| !v.is_null())
            .map(|v| v.as_str().ok_or_else(|| ApiError::wrong_type("base_tree", v, "a string")))
            .transpose()?;
        if self.store.is_empty()? {
            return Err(ApiError::empty_repo());
        }
        let parsed = items.iter().map(parse_tree_item).collect::<Result<Vec<_>>>()?;

        let mut flat = match base {
            Some(b) => {
                let bad = || ApiError::unprocessable("base_tree is not a valid tree oid");
                let b = validate::sha(b).ok_or_else(bad)?;
                if self.store.kind(&b)? != Some(Kind::Tree) {
                    return Err(bad());
                }
                self.store.flatten(&b)?
            }
            None => FlatTree::new(),
        };

        // Referenced objects must exist with the type the mode implies (submodule commits
        // live in another repository and are not checked).
        let wanted: Vec<(&str, &str)> = parsed
            .iter()
            .filter_map(|i| match &i.source {
                Source::Sha(s) if i.kind != "commit" => Some((s.as_str(), i.kind)),
                _ => None,
            })
            .collect();
        let shas: Vec<&str> = wanted.iter().map(|w| w.0).collect();
        for ((sha, kind), found) in wanted.iter().zip(self.store.kinds(&shas)?) {
            if found.map(|(k, _)| k.as_str()) != Some(*kind) {
                return Err(ApiError::unprocessable(format!("tree.sha {sha} is not a valid {kind}")));
            }
        }

        let texts: Vec<&[u8]> = parsed
            .iter()
            .filter_map(|i| match &i.source {
                Source::Content(text) => Some(text.as_bytes()),
                _ => None,
            })
            .collect();
        let mut blob_shas = self.store.write_blobs(&texts)?.into_iter();
        let mut edits = Vec::with_capacity(parsed.len());
        for item in parsed {
            edits.push(match item.source {
                Source::Delete => Edit::Delete { path: item.path },
                Source::Content(_) => {
                    let sha = blob_shas
                        .next()
                        .ok_or_else(|| ApiError::new(500, "local-github: fewer blob ids than contents"))?;
                    Edit::Put { path: item.path, mode: item.mode, sha }
                }
                Source::Sha(sha) if item.kind == "tree" => {
                    Edit::PutDir { path: item.path, files: self.store.flatten(&sha)? }
                }
                Source::Sha(sha) => Edit::Put { path: item.path, mode: item.mode, sha },
            });
        }
        tree_edit::apply(&mut flat, edits).map_err(|a| {
            ApiError::unprocessable(format!("tree.path '{}' does not exist in base_tree and cannot be deleted", a.0))
        })?;
        let sha = self.store.write_tree(&flat)?;
        let max = self.options.max_tree_bytes;
        let (entries, truncated) = self.store.ls_tree(&sha, false, max)?;
        Ok(Reply::created(self.render.tree(&sha, &entries, truncated, max), self.render.object_url(Kind::Tree, &sha)))
    }

    /// `GET /git/commits/{sha}`.
    pub(crate) fn get_commit(&self, sha: &str) -> Result<Reply> {
        let sha = sha_param(sha)?;
        match self.store.commit(&sha)? {
            Some(c) => Ok(Reply::ok(self.render.commit(&c))),
            None => Err(self.absent()?),
        }
    }

    /// `POST /git/commits` `{message, tree, parents, author?, committer?}`.
    pub(crate) fn create_commit(&self, body: &Body) -> Result<Reply> {
        body.require(&["message", "tree"])?;
        let message = body.req_str("message")?;
        let tree = body.req_str("tree")?;
        let parents = body.array("parents")?.cloned().unwrap_or_default();
        if body.get("signature").is_some() {
            return Err(ApiError::unprocessable("local-github does not store commit signatures"));
        }
        let now = date::now();
        let author = identity("author", body.object("author")?, None, &self.options.identity, now)?;
        let committer = identity("committer", body.object("committer")?, Some(&author), &self.options.identity, now)?;
        if self.store.is_empty()? {
            return Err(ApiError::empty_repo());
        }

        let tree = validate::sha(tree).ok_or_else(|| ApiError::unprocessable("Tree SHA does not exist"))?;
        let mut ids = vec![tree.clone()];
        for p in &parents {
            let p = p.as_str().and_then(validate::sha).ok_or_else(|| {
                ApiError::unprocessable(
                    "Each SHA in the 'parents' parameter must be exactly 40 characters and contain only [0-9a-f].",
                )
            })?;
            ids.push(p);
        }
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let kinds = self.store.kinds(&refs)?;
        if kinds[0].map(|k| k.0) != Some(Kind::Tree) {
            return Err(ApiError::unprocessable("Tree SHA does not exist"));
        }
        if kinds[1..].iter().any(|k| k.map(|k| k.0) != Some(Kind::Commit)) {
            return Err(ApiError::unprocessable("Parent SHA does not exist or is not a commit object"));
        }
        let sha = self.store.commit_tree(&tree, &ids[1..], message, &author, &committer)?;
        let info = self.store.commit(&sha)?.ok_or_else(|| ApiError::new(500, "local-github: new commit vanished"))?;
        Ok(Reply::created(self.render.commit(&info), self.render.object_url(Kind::Commit, &sha)))
    }
}

/// Where a tree entry's object comes from.
enum Source {
    Sha(String),
    Content(String),
    Delete,
}

struct TreeItem {
    path: String,
    mode: String,
    /// `blob`, `tree` or `commit`, implied by the mode.
    kind: &'static str,
    source: Source,
}

/// Validates one `tree[]` entry (shape, path, mode/type, sha xor content).
fn parse_tree_item(v: &Value) -> Result<TreeItem> {
    let obj = v
        .as_object()
        .ok_or_else(|| ApiError::unprocessable(format!("Invalid request.\n\nFor 'items', {v} is not an object.")))?;
    let field = |k: &str| -> Result<Option<&str>> {
        match obj.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(ApiError::wrong_type(k, other, "a string")),
        }
    };
    let path = field("path")?.ok_or_else(|| ApiError::missing(&["path"]))?;
    match validate::path(path) {
        Ok(()) => {}
        Err(PathProblem::LeadingSlash) => return Err(ApiError::unprocessable("tree.path cannot start with a slash")),
        Err(PathProblem::Malformed) => {
            return Err(ApiError::unprocessable("tree.path contains a malformed path component"))
        }
    }
    let mode = field("mode")?.ok_or_else(|| ApiError::missing(&["mode"]))?;
    let kind = validate::mode_kind(mode).ok_or_else(|| {
        ApiError::unprocessable(format!("Invalid request.\n\nFor 'properties/mode', \"{mode}\" is not one of \"100644\", \"100755\", \"040000\", \"160000\", \"120000\"."))
    })?;
    if let Some(t) = field("type")? {
        if t != kind {
            return Err(ApiError::unprocessable(format!("tree.type {t} does not match tree.mode {mode}")));
        }
    }
    let both = "Must supply either tree.sha or tree.content. Request will be rejected if both are present.";
    let source = match (obj.get("sha"), field("content")?) {
        (Some(Value::String(_)), Some(_)) | (None, None) => return Err(ApiError::unprocessable(both)),
        (_, Some(text)) if kind == "blob" => Source::Content(text.to_string()),
        (_, Some(_)) => return Err(ApiError::unprocessable("tree.content is only valid for blobs")),
        (Some(Value::Null), None) => Source::Delete,
        (Some(Value::String(s)), None) => Source::Sha(
            validate::sha(s).ok_or_else(|| ApiError::unprocessable(format!("tree.sha {s} is not a valid {kind}")))?,
        ),
        (Some(other), None) => return Err(ApiError::wrong_type("sha", other, "a string")),
    };
    Ok(TreeItem { path: path.to_string(), mode: mode.to_string(), kind, source })
}
