//! Response parsers: read only the fields a sync needs, accept `null` and unknown fields, and
//! turn error answers into `SyncError::Remote` with GitHub's own message. Never panic.

use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::{HttpRequest, HttpResponse};
use crate::blob::is_sha;
use crate::model::{RemoteError, SyncError};

/// GitHub's `message`, with the `errors[].message` details of a validation error appended;
/// the status line when the body has none.
pub fn error_message(response: &HttpResponse) -> String {
    #[derive(Deserialize)]
    struct Detail {
        message: Option<String>,
        code: Option<String>,
    }
    #[derive(Deserialize)]
    struct Body {
        message: Option<String>,
        #[serde(default)]
        errors: Option<Vec<serde_json::Value>>,
    }
    let Ok(body) = serde_json::from_slice::<Body>(&response.body) else {
        return format!("HTTP {}", response.status);
    };
    let mut message = body.message.unwrap_or_else(|| format!("HTTP {}", response.status));
    // `errors` items are objects in the schema but plain strings in some real answers.
    let details: Vec<String> = body
        .errors
        .unwrap_or_default()
        .into_iter()
        .filter_map(|e| match e {
            serde_json::Value::String(s) => Some(s),
            other => serde_json::from_value::<Detail>(other).ok().and_then(|d| d.message.or(d.code)),
        })
        .collect();
    if !details.is_empty() {
        message = format!("{message}: {}", details.join("; "));
    }
    message
}

/// The error for an answer the caller cannot use.
pub fn remote_error(request: &HttpRequest, response: &HttpResponse) -> SyncError {
    SyncError::Remote(RemoteError {
        method: request.method.clone(),
        url: request.url.clone(),
        status: response.status,
        message: error_message(response),
    })
}

fn malformed(request: &HttpRequest, response: &HttpResponse, why: impl std::fmt::Display) -> SyncError {
    SyncError::Remote(RemoteError {
        method: request.method.clone(),
        url: request.url.clone(),
        status: response.status,
        message: format!("malformed JSON from GitHub {} {}: {why}", request.method, request.url),
    })
}

/// Parses a 2xx body; any other status is a `Remote` error.
fn success_json<T: DeserializeOwned>(request: &HttpRequest, response: &HttpResponse) -> Result<T, SyncError> {
    if !(200..300).contains(&response.status) {
        return Err(remote_error(request, response));
    }
    serde_json::from_slice(&response.body).map_err(|e| malformed(request, response, e))
}

/// A SHA field that will end up in URLs and commits: must be present and a full SHA.
fn sha_field(
    request: &HttpRequest,
    response: &HttpResponse,
    field: &str,
    value: Option<String>,
) -> Result<String, SyncError> {
    match value {
        Some(sha) if is_sha(&sha) => Ok(sha),
        Some(other) => Err(malformed(request, response, format!("`{field}` is not a SHA: {other:?}"))),
        None => Err(malformed(request, response, format!("`{field}` is missing"))),
    }
}

/// `GET git/ref/heads/{branch}` -> the commit SHA the branch points at.
pub fn parse_ref(request: &HttpRequest, response: &HttpResponse) -> Result<String, SyncError> {
    #[derive(Deserialize)]
    struct Object {
        sha: Option<String>,
    }
    #[derive(Deserialize)]
    struct Ref {
        object: Option<Object>,
    }
    let answer: Ref = success_json(request, response)?;
    sha_field(request, response, "object.sha", answer.object.and_then(|o| o.sha))
}

/// What a tree entry points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    Blob,
    Tree,
    /// A submodule, or anything newer GitHub may add.
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeEntry {
    /// Relative to the tree that was requested (full paths in a recursive listing).
    pub path: String,
    pub kind: EntryKind,
    pub sha: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tree {
    /// The tree's own SHA (also when a commit SHA was requested).
    pub sha: String,
    pub entries: Vec<TreeEntry>,
    /// GitHub cut the listing short (over 100,000 entries or 7 MB).
    pub truncated: bool,
}

/// `GET git/trees/{sha}` and `POST git/trees`.
pub fn parse_tree(request: &HttpRequest, response: &HttpResponse) -> Result<Tree, SyncError> {
    #[derive(Deserialize)]
    struct Entry {
        path: Option<String>,
        #[serde(rename = "type")]
        kind: Option<String>,
        sha: Option<String>,
    }
    #[derive(Deserialize)]
    struct Answer {
        sha: Option<String>,
        tree: Option<Vec<Entry>>,
        truncated: Option<bool>,
    }
    let answer: Answer = success_json(request, response)?;
    let sha = sha_field(request, response, "sha", answer.sha)?;
    let mut entries = Vec::new();
    for (i, e) in answer.tree.unwrap_or_default().into_iter().enumerate() {
        let path = e.path.ok_or_else(|| malformed(request, response, format!("`tree[{i}].path` is missing")))?;
        let kind = match e.kind.as_deref() {
            Some("blob") => EntryKind::Blob,
            Some("tree") => EntryKind::Tree,
            _ => EntryKind::Other,
        };
        // Submodule SHAs name commits elsewhere; only blob and tree SHAs are used here.
        let sha = match kind {
            EntryKind::Other => e.sha.unwrap_or_default(),
            _ => sha_field(request, response, &format!("tree[{i}].sha"), e.sha)?,
        };
        entries.push(TreeEntry { path, kind, sha });
    }
    Ok(Tree { sha, entries, truncated: answer.truncated.unwrap_or(false) })
}

/// `GET git/blobs/{sha}` -> the file's bytes. Base64 arrives with a `\n` every 60 characters.
pub fn parse_blob(request: &HttpRequest, response: &HttpResponse) -> Result<Vec<u8>, SyncError> {
    #[derive(Deserialize)]
    struct Answer {
        content: Option<String>,
        encoding: Option<String>,
    }
    let answer: Answer = success_json(request, response)?;
    let content = answer.content.unwrap_or_default();
    match answer.encoding.as_deref().unwrap_or("base64") {
        "base64" => {
            let compact: String = content.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact.as_bytes())
                .map_err(|e| malformed(request, response, format!("blob content is not base64: {e}")))
        }
        "utf-8" | "utf8" => Ok(content.into_bytes()),
        other => Err(malformed(request, response, format!("unknown blob encoding {other:?}"))),
    }
}

/// `POST git/commits` (and any answer whose top-level `sha` is what was created).
pub fn parse_created_sha(request: &HttpRequest, response: &HttpResponse) -> Result<String, SyncError> {
    #[derive(Deserialize)]
    struct Answer {
        sha: Option<String>,
    }
    let answer: Answer = success_json(request, response)?;
    sha_field(request, response, "sha", answer.sha)
}

/// `PUT contents/{path}` -> the new commit's SHA.
pub fn parse_contents_commit(request: &HttpRequest, response: &HttpResponse) -> Result<String, SyncError> {
    #[derive(Deserialize)]
    struct Commit {
        sha: Option<String>,
    }
    #[derive(Deserialize)]
    struct Answer {
        commit: Option<Commit>,
    }
    let answer: Answer = success_json(request, response)?;
    sha_field(request, response, "commit.sha", answer.commit.and_then(|c| c.sha))
}

/// `GET compare/{base}...{head}` -> `status` (`identical`, `ahead`, `behind`, `diverged`).
pub fn parse_compare_status(request: &HttpRequest, response: &HttpResponse) -> Result<String, SyncError> {
    #[derive(Deserialize)]
    struct Answer {
        status: Option<String>,
    }
    let answer: Answer = success_json(request, response)?;
    answer.status.ok_or_else(|| malformed(request, response, "`status` is missing"))
}

/// One commit of a `GET commits` listing: what deciding who wrote it needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitSummary {
    pub sha: String,
    pub message: String,
    /// Parent SHAs, first parent first.
    pub parents: Vec<String>,
}

/// `GET commits?...` -> the commits, newest first.
pub fn parse_commits(request: &HttpRequest, response: &HttpResponse) -> Result<Vec<CommitSummary>, SyncError> {
    #[derive(Deserialize)]
    struct Parent {
        sha: Option<String>,
    }
    #[derive(Deserialize)]
    struct Inner {
        message: Option<String>,
    }
    #[derive(Deserialize)]
    struct Item {
        sha: Option<String>,
        commit: Option<Inner>,
        #[serde(default)]
        parents: Option<Vec<Parent>>,
    }
    let items: Vec<Item> = success_json(request, response)?;
    let mut commits = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let sha = sha_field(request, response, &format!("[{i}].sha"), item.sha)?;
        let mut parents = Vec::new();
        for (j, p) in item.parents.unwrap_or_default().into_iter().enumerate() {
            parents.push(sha_field(request, response, &format!("[{i}].parents[{j}].sha"), p.sha)?);
        }
        let message = item.commit.and_then(|c| c.message).unwrap_or_default();
        commits.push(CommitSummary { sha, message, parents });
    }
    Ok(commits)
}

/// `GET contents/{path}?ref=` of a file -> its bytes.
pub fn parse_contents_file(request: &HttpRequest, response: &HttpResponse) -> Result<Vec<u8>, SyncError> {
    parse_blob(request, response)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "3f3f005b29247e51a4f4d6b8ce07b67646cd6074";
    const SHA2: &str = "ce013625030ba8dba906f756967f9e9ca394464a";

    fn req() -> HttpRequest {
        HttpRequest {
            method: "GET".into(),
            url: "https://api.github.com/repos/o/r/x".into(),
            headers: vec![],
            body: None,
        }
    }

    fn resp(status: u16, body: &str) -> HttpResponse {
        HttpResponse { status, headers: vec![], body: body.as_bytes().to_vec() }
    }

    fn remote(e: SyncError) -> RemoteError {
        match e {
            SyncError::Remote(r) => r,
            other => panic!("not a remote error: {other:?}"),
        }
    }

    #[test]
    fn ref_reads_object_sha_and_ignores_the_rest() {
        let body = format!(
            r#"{{"ref":"refs/heads/main","node_id":null,"url":"u","object":{{"sha":"{SHA}","type":"commit","url":null}},"new":1}}"#
        );
        assert_eq!(parse_ref(&req(), &resp(200, &body)).unwrap(), SHA);
    }

    #[test]
    fn malformed_answers_name_method_and_url() {
        for body in ["not json", "[]", r#"{"object":{"sha":"short"}}"#, r#"{"object":null}"#] {
            let e = remote(parse_ref(&req(), &resp(200, body)).unwrap_err());
            assert!(
                e.message.starts_with("malformed JSON from GitHub GET https://api.github.com/repos/o/r/x: "),
                "{e:?}"
            );
            assert_eq!((e.method.as_str(), e.status), ("GET", 200));
        }
    }

    #[test]
    fn error_bodies_give_their_message() {
        let e =
            remote(parse_ref(&req(), &resp(404, r#"{"message":"Not Found","documentation_url":"d"}"#)).unwrap_err());
        assert_eq!((e.status, e.message.as_str()), (404, "Not Found"));
        let body = r#"{"message":"Validation Failed","errors":[{"code":"custom","message":"tree.path contains a malformed path component"},"plain"],"documentation_url":"d"}"#;
        assert_eq!(
            error_message(&resp(422, body)),
            "Validation Failed: tree.path contains a malformed path component; plain"
        );
        assert_eq!(error_message(&resp(502, "<html>bad gateway</html>")), "HTTP 502");
        assert_eq!(error_message(&resp(500, "{}")), "HTTP 500");
    }

    #[test]
    fn trees_read_entries_and_truncation() {
        let body = format!(
            r#"{{"sha":"{SHA}","url":"u","truncated":true,"tree":[
                {{"path":"a","mode":"040000","type":"tree","sha":"{SHA2}","url":"u"}},
                {{"path":"a/b.yaml","mode":"100644","type":"blob","sha":"{SHA}","size":3,"url":"u"}},
                {{"path":"sub","mode":"160000","type":"commit","sha":"{SHA2}"}}]}}"#
        );
        let tree = parse_tree(&req(), &resp(200, &body)).unwrap();
        assert_eq!(tree.sha, SHA);
        assert!(tree.truncated);
        let kinds: Vec<_> = tree.entries.iter().map(|e| (e.path.as_str(), e.kind)).collect();
        assert_eq!(kinds, [("a", EntryKind::Tree), ("a/b.yaml", EntryKind::Blob), ("sub", EntryKind::Other)]);
        let lean =
            parse_tree(&req(), &resp(201, &format!(r#"{{"sha":"{SHA}","tree":null,"truncated":null}}"#))).unwrap();
        assert!(lean.entries.is_empty() && !lean.truncated);
        assert!(parse_tree(
            &req(),
            &resp(200, &format!(r#"{{"sha":"{SHA}","tree":[{{"type":"blob","sha":"{SHA}"}}]}}"#))
        )
        .is_err());
    }

    #[test]
    fn blobs_decode_wrapped_base64() {
        let text = "x".repeat(100);
        let encoded = base64::engine::general_purpose::STANDARD.encode(&text);
        let wrapped: Vec<String> =
            encoded.as_bytes().chunks(60).map(|c| String::from_utf8(c.to_vec()).unwrap()).collect();
        let body = serde_json::json!({"sha": SHA, "size": 100, "encoding": "base64", "content": wrapped.join("\n") + "\n", "node_id": null});
        assert_eq!(parse_blob(&req(), &resp(200, &body.to_string())).unwrap(), text.as_bytes());
        let empty = serde_json::json!({"content": "", "encoding": "base64"});
        assert_eq!(parse_blob(&req(), &resp(200, &empty.to_string())).unwrap(), b"");
        let bad = serde_json::json!({"content": "!!!", "encoding": "base64"});
        assert!(parse_blob(&req(), &resp(200, &bad.to_string())).is_err());
    }

    #[test]
    fn commits_accept_null_verification_fields() {
        let body = format!(
            r#"{{"sha":"{SHA}","tree":{{"sha":"{SHA2}"}},"parents":[],"verification":{{"verified":false,"reason":"unsigned","payload":null,"signature":null}}}}"#
        );
        assert_eq!(parse_created_sha(&req(), &resp(201, &body)).unwrap(), SHA);
        let put = format!(r#"{{"content":null,"commit":{{"sha":"{SHA2}","verification":{{"payload":null}}}}}}"#);
        assert_eq!(parse_contents_commit(&req(), &resp(201, &put)).unwrap(), SHA2);
    }
}
