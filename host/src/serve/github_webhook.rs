//! GitHub webhooks, checked and read without I/O: the `X-Hub-Signature-256` HMAC, the
//! `X-GitHub-Event`, the body (`application/json`, or a form with a `payload` field), and
//! which served fabrics a `push` asks to sync.
//!
//! A push concerns a fabric when it moves the fabric's branch of the fabric's repository and
//! one of its commits adds, removes or modifies a file under the fabric's directory. The
//! answer is a whole-fabric sync of that fabric (the reconcile, which pulls with the fabric's
//! direction), never a sync of the pushed paths alone: the push only says *when* to look.
//! When the payload's file lists cannot be complete (a forced push, a deleted branch, no
//! commits listed, GitHub's cap of 2048 commits), every fabric of that branch is synced.
//! Commits that end with fgd-sync's `Fgd-Sync-State` trailer are its own and are skipped, so a
//! sync's commit does not bring the service back to the same branch.

use std::fmt;

use fgd_sync_guest::engine::TRAILER;
use hmac::Hmac;
use serde_json::{Map, Value};
use sha2::Sha256;

use super::hmac_hex;

/// The header GitHub signs with.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";
/// The event name: `push`, `ping`, ...
pub const EVENT_HEADER: &str = "x-github-event";
/// The delivery's id (a UUID), for logs.
pub const DELIVERY_HEADER: &str = "x-github-delivery";
/// GitHub lists at most this many commits in a push payload.
pub const MAX_LISTED_COMMITS: usize = 2048;

/// Why a signature was refused. Every variant answers 401.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureError {
    /// No `X-Hub-Signature-256` header.
    Missing,
    /// The header is not `sha256=` and 64 hex digits.
    Malformed,
    /// A well-formed HMAC, but not of this body with this secret.
    Mismatch,
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignatureError::Missing => "no X-Hub-Signature-256 header (set a secret on the GitHub webhook)",
            SignatureError::Malformed => "X-Hub-Signature-256 is not sha256=<hex HMAC-SHA256>",
            SignatureError::Mismatch => "X-Hub-Signature-256 does not match the body and the configured secret",
        })
    }
}

impl std::error::Error for SignatureError {}

/// Checks `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>` in constant time.
/// Upper-case hex is accepted too.
pub fn verify_signature(secret: &[u8], header: Option<&[u8]>, body: &[u8]) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?.trim_ascii();
    let hex = header.strip_prefix(b"sha256=").ok_or(SignatureError::Malformed)?;
    hmac_hex::verify::<Hmac<Sha256>>(secret, hex, body).map_err(|refused| match refused {
        hmac_hex::Refused::Malformed => SignatureError::Malformed,
        hmac_hex::Refused::Mismatch => SignatureError::Mismatch,
    })
}

/// `sha256=<lowercase hex HMAC-SHA256 of body>`: what GitHub sends (for tests and tools).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hmac_hex::sign::<Hmac<Sha256>>(secret, body))
}

/// Why a signed request cannot be used. Every variant answers 400.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PayloadError {
    /// A header is missing or unusable; `header` is its name.
    Header { header: &'static str, message: String },
    /// The form body has no usable `payload` field.
    Form(String),
    /// Not JSON at all.
    Json(String),
    /// JSON, but not an object.
    NotAnObject,
    /// A field is missing or has the wrong type; `field` is a dotted path
    /// (`commits[2].added`).
    Field { field: String, message: String },
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PayloadError::Header { header, message } => write!(f, "header {header}: {message}"),
            PayloadError::Form(e) => write!(f, "the form body: {e}"),
            PayloadError::Json(e) => write!(f, "the payload is not JSON: {e}"),
            PayloadError::NotAnObject => write!(f, "the payload is not a JSON object"),
            PayloadError::Field { field, message } => write!(f, "field {field}: {message}"),
        }
    }
}

impl std::error::Error for PayloadError {}

fn field_error(field: &str, message: impl Into<String>) -> PayloadError {
    PayloadError::Field { field: field.to_owned(), message: message.into() }
}

/// One commit of a push, as far as a sync cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    pub id: String,
    pub message: String,
    /// `added`, `removed` and `modified` together.
    pub paths: Vec<String>,
}

impl Commit {
    /// True for a commit fgd-sync made: its message ends with `Fgd-Sync-State: <40 hex>`.
    pub fn is_fgd_sync(&self) -> bool {
        let Some(last) = self.message.lines().map(str::trim).rfind(|l| !l.is_empty()) else { return false };
        let Some(value) = last.strip_prefix(TRAILER).and_then(|rest| rest.strip_prefix(':')) else { return false };
        let value = value.trim();
        value.len() == 40 && value.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }
}

/// A `push` event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Push {
    /// `repository.full_name`: `owner/repo` as GitHub spells it.
    pub repository: String,
    /// `ref`: `refs/heads/<branch>` (or a tag).
    pub git_ref: String,
    pub before: String,
    pub after: String,
    pub deleted: bool,
    pub forced: bool,
    /// `None` when the payload has no `commits` list.
    pub commits: Option<Vec<Commit>>,
}

impl Push {
    /// The branch the push moved; `None` for a tag or another kind of ref.
    pub fn branch(&self) -> Option<&str> {
        self.git_ref.strip_prefix("refs/heads/").filter(|b| !b.is_empty())
    }

    /// Why the commits' file lists may not name every changed path; `None` when they do.
    pub fn incomplete(&self) -> Option<&'static str> {
        match &self.commits {
            _ if self.deleted => Some("the branch was deleted"),
            _ if self.forced => Some("a forced push"),
            None => Some("the payload lists no commits"),
            Some(commits) if commits.is_empty() => Some("the payload lists no commits"),
            Some(commits) if commits.len() >= MAX_LISTED_COMMITS => Some("2048 or more commits (GitHub lists no more)"),
            Some(_) => None,
        }
    }
}

/// What a signed, well-formed delivery is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// GitHub checks the webhook (sent when it is created).
    Ping,
    Push(Push),
    /// Another event; nothing to do.
    Other(String),
}

/// How the body is encoded (the webhook's "Content type" setting on GitHub).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentType {
    Json,
    /// `application/x-www-form-urlencoded` with the JSON in the `payload` field.
    Form,
}

/// Reads `Content-Type` (parameters such as `charset` are ignored).
pub fn content_type(header: Option<&[u8]>) -> Result<ContentType, PayloadError> {
    let error = |message: String| PayloadError::Header { header: "Content-Type", message };
    let header = header.ok_or_else(|| error("missing".into()))?;
    let text = std::str::from_utf8(header).map_err(|_| error("not UTF-8".into()))?;
    let media = text.split(';').next().unwrap_or_default().trim();
    if media.eq_ignore_ascii_case("application/json") {
        Ok(ContentType::Json)
    } else if media.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        Ok(ContentType::Form)
    } else {
        Err(error(format!("{media:?} is neither application/json nor application/x-www-form-urlencoded")))
    }
}

/// Reads a delivery from its `X-GitHub-Event` and `Content-Type` headers and its raw body
/// (already checked against the signature). Only a `push` body is read; other events are
/// named and left alone.
pub fn parse(event: Option<&[u8]>, content: Option<&[u8]>, body: &[u8]) -> Result<Event, PayloadError> {
    let header_error = |message: &str| PayloadError::Header { header: "X-GitHub-Event", message: message.into() };
    let event = event.ok_or_else(|| header_error("missing"))?;
    let event = std::str::from_utf8(event).map_err(|_| header_error("not UTF-8"))?.trim();
    match event {
        "" => Err(header_error("empty")),
        "ping" => Ok(Event::Ping),
        "push" => {
            let json = match content_type(content)? {
                ContentType::Json => body.to_vec(),
                ContentType::Form => form_payload(body)?,
            };
            parse_push(&json).map(Event::Push)
        }
        other => Ok(Event::Other(other.to_owned())),
    }
}

/// The `payload` field of a form body, decoded.
fn form_payload(body: &[u8]) -> Result<Vec<u8>, PayloadError> {
    let text = std::str::from_utf8(body).map_err(|_| PayloadError::Form("not UTF-8".into()))?;
    let mut found = None;
    for pair in text.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if form_decode(name).as_deref() == Some(b"payload".as_slice()) {
            if found.is_some() {
                return Err(PayloadError::Form("`payload` is given twice".into()));
            }
            found = Some(form_decode(value).ok_or_else(|| PayloadError::Form("`payload`: a bad %-escape".into()))?);
        }
    }
    found.ok_or_else(|| PayloadError::Form("no `payload` field".into()))
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte.
fn form_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                out.push(hmac_hex::decode(hex)?[0]);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Some(out)
}

fn parse_push(json: &[u8]) -> Result<Push, PayloadError> {
    let value: Value = serde_json::from_slice(json).map_err(|e| PayloadError::Json(e.to_string()))?;
    let body = value.as_object().ok_or(PayloadError::NotAnObject)?;
    let repository = match body.get("repository") {
        Some(Value::Object(repository)) => string(repository, "full_name", "repository.full_name")?,
        Some(other) => return Err(field_error("repository", expected("an object", other))),
        None => return Err(field_error("repository", "missing")),
    };
    let commits = match body.get("commits") {
        None | Some(Value::Null) => None,
        Some(Value::Array(commits)) => {
            Some(commits.iter().enumerate().map(|(i, c)| commit(c, i)).collect::<Result<Vec<_>, _>>()?)
        }
        Some(other) => return Err(field_error("commits", expected("an array", other))),
    };
    Ok(Push {
        repository,
        git_ref: string(body, "ref", "ref")?,
        before: sha(body, "before")?,
        after: sha(body, "after")?,
        deleted: boolean(body, "deleted")?,
        forced: boolean(body, "forced")?,
        commits,
    })
}

fn commit(value: &Value, i: usize) -> Result<Commit, PayloadError> {
    let at = |field: &str| format!("commits[{i}].{field}");
    let object =
        value.as_object().ok_or_else(|| field_error(&format!("commits[{i}]"), expected("an object", value)))?;
    let mut paths = Vec::new();
    for list in ["added", "removed", "modified"] {
        match object.get(list) {
            Some(Value::Array(items)) => {
                for (j, item) in items.iter().enumerate() {
                    let path = item
                        .as_str()
                        .ok_or_else(|| field_error(&at(&format!("{list}[{j}]")), expected("a string", item)))?;
                    paths.push(path.to_owned());
                }
            }
            Some(other) => return Err(field_error(&at(list), expected("an array", other))),
            None => return Err(field_error(&at(list), "missing")),
        }
    }
    Ok(Commit { id: string(object, "id", &at("id"))?, message: string(object, "message", &at("message"))?, paths })
}

fn string(object: &Map<String, Value>, key: &str, field: &str) -> Result<String, PayloadError> {
    match object.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(field_error(field, expected("a string", other))),
        None => Err(field_error(field, "missing")),
    }
}

/// A commit SHA: 40 (SHA-1) or 64 (SHA-256) hex digits; all zeros for "none".
fn sha(object: &Map<String, Value>, key: &str) -> Result<String, PayloadError> {
    let value = string(object, key, key)?;
    let hex = value.bytes().all(|b| b.is_ascii_hexdigit());
    if hex && matches!(value.len(), 40 | 64) {
        Ok(value)
    } else {
        Err(field_error(key, format!("{value:?} is not a commit SHA")))
    }
}

fn boolean(object: &Map<String, Value>, key: &str) -> Result<bool, PayloadError> {
    match object.get(key) {
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(field_error(key, expected("a boolean", other))),
        None => Err(field_error(key, "missing")),
    }
}

fn expected(what: &str, found: &Value) -> String {
    let found = match found {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    format!("expected {what}, found {found}")
}

/// A served fabric, as a push is matched against it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watched {
    pub fabric: String,
    /// `owner/repo`; compared case-insensitively, as GitHub treats it.
    pub repository: String,
    /// Compared exactly (Git branch names are case-sensitive).
    pub branch: String,
    /// The fabric directory, normalized (no leading or trailing `/`; empty: the root).
    pub directory: String,
}

impl Watched {
    pub fn new(fabric: &str, owner: &str, repo: &str, branch: &str, directory: &str) -> Watched {
        // The guest's own reading of the directory; a directory it refuses fails every sync
        // anyway, so its plain trim is good enough to match on.
        let directory = fgd_sync_guest::path::normalize_directory(directory)
            .unwrap_or_else(|_| directory.trim_matches('/').to_owned());
        Watched { fabric: fabric.into(), repository: format!("{owner}/{repo}"), branch: branch.into(), directory }
    }

    fn contains(&self, path: &str) -> bool {
        fgd_sync_guest::path::strip_directory(&self.directory, path).is_some_and(|rest| !rest.is_empty())
    }
}

/// What a push asks of the service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Sync these fabrics whole; `incomplete` says why the file lists were not used.
    Sync { fabrics: Vec<String>, incomplete: Option<&'static str> },
    /// Only fgd-sync's own commits touched the fabrics' directories.
    OwnCommits,
    /// Nothing served is concerned.
    Ignored(String),
}

/// Which of the `watched` fabrics a push concerns.
pub fn decide(push: &Push, watched: &[Watched]) -> Decision {
    let Some(branch) = push.branch() else {
        return Decision::Ignored(format!("{} is not a branch", push.git_ref));
    };
    let followed: Vec<&Watched> =
        watched.iter().filter(|w| w.repository.eq_ignore_ascii_case(&push.repository) && w.branch == branch).collect();
    if followed.is_empty() {
        return Decision::Ignored(format!("no served fabric follows branch {branch:?} of {}", push.repository));
    }
    if let Some(why) = push.incomplete() {
        return Decision::Sync { fabrics: followed.iter().map(|w| w.fabric.clone()).collect(), incomplete: Some(why) };
    }
    fn touches<'a>(w: &Watched, mut commits: impl Iterator<Item = &'a Commit>) -> bool {
        commits.any(|c| c.paths.iter().any(|path| w.contains(path)))
    }
    let commits = push.commits.as_deref().unwrap_or_default();
    let fabrics: Vec<String> = followed
        .iter()
        .filter(|w| touches(w, commits.iter().filter(|c| !c.is_fgd_sync())))
        .map(|w| w.fabric.clone())
        .collect();
    if !fabrics.is_empty() {
        return Decision::Sync { fabrics, incomplete: None };
    }
    if followed.iter().any(|w| touches(w, commits.iter())) {
        return Decision::OwnCommits;
    }
    let directories: Vec<String> = followed
        .iter()
        .map(|w| if w.directory.is_empty() { "/".to_owned() } else { format!("{}/", w.directory) })
        .collect();
    Decision::Ignored(format!("the push changes no file under {}", directories.join(", ")))
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use super::*;

    const SECRET: &[u8] = b"It's a Secret to Everybody";
    const ZERO: &str = "0000000000000000000000000000000000000000";
    const A: &str = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
    const B: &str = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c";

    #[test]
    fn signatures() {
        // GitHub's documented example ("Validating webhook deliveries"); python agrees:
        // hmac.new(b"It's a Secret to Everybody", b"Hello, World!", hashlib.sha256).hexdigest()
        let body = b"Hello, World!";
        let documented = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(sign(SECRET, body), documented);
        assert_eq!(verify_signature(SECRET, Some(documented.as_bytes()), body), Ok(()));
        let upper = format!("sha256={}", documented["sha256=".len()..].to_uppercase());
        assert_eq!(verify_signature(SECRET, Some(upper.as_bytes()), body), Ok(()));
        assert_eq!(verify_signature(SECRET, Some(format!(" {documented}\t").as_bytes()), body), Ok(()));

        assert_eq!(verify_signature(SECRET, None, body), Err(SignatureError::Missing));
        assert_eq!(
            verify_signature(b"another secret", Some(documented.as_bytes()), body),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(SECRET, Some(documented.as_bytes()), b"Hello, World?"),
            Err(SignatureError::Mismatch)
        );
        let hex = &documented["sha256=".len()..];
        for bad in [
            "",
            "sha256=",
            hex,
            &format!("sha1={hex}"),
            &format!("sha256={}", &hex[..63]),
            &format!("sha256={hex}00"),
            &format!("sha256={}zz", &hex[..62]),
        ] {
            assert_eq!(verify_signature(SECRET, Some(bad.as_bytes()), body), Err(SignatureError::Malformed), "{bad}");
        }
        // The messages name the header.
        for e in [SignatureError::Missing, SignatureError::Malformed, SignatureError::Mismatch] {
            assert!(e.to_string().contains("X-Hub-Signature-256"), "{e}");
        }
    }

    fn push_body(git_ref: &str, commits: Value) -> Value {
        json!({
            "ref": git_ref, "before": A, "after": B, "created": false, "deleted": false, "forced": false,
            "base_ref": null, "compare": "https://github.com/acme/fabric/compare/6113728f27ae...0d1a26e67d8f",
            "commits": commits, "head_commit": null,
            "repository": {"id": 1, "name": "fabric", "full_name": "Acme/Fabric", "owner": {"login": "Acme"}},
            "pusher": {"name": "octocat", "email": "octocat@example.com"}, "sender": {"login": "octocat"},
        })
    }

    fn commit_json(message: &str, added: &[&str], removed: &[&str], modified: &[&str]) -> Value {
        json!({
            "id": B, "tree_id": A, "distinct": true, "message": message, "timestamp": "2026-01-01T00:00:00Z",
            "author": {"name": "a", "email": "a@example.com"}, "committer": {"name": "a", "email": "a@example.com"},
            "added": added, "removed": removed, "modified": modified,
        })
    }

    fn push_event(body: &Value) -> Result<Event, PayloadError> {
        parse(Some(b"push"), Some(b"application/json"), body.to_string().as_bytes())
    }

    #[test]
    fn a_push_in_json_and_in_a_form_is_the_same_push() {
        let body =
            push_body("refs/heads/main", json!([commit_json("Edit\n\nwith a body", &["x/a"], &["x/b"], &["y/c"])]));
        let expected = Push {
            repository: "Acme/Fabric".into(),
            git_ref: "refs/heads/main".into(),
            before: A.into(),
            after: B.into(),
            deleted: false,
            forced: false,
            commits: Some(vec![Commit {
                id: B.into(),
                message: "Edit\n\nwith a body".into(),
                paths: vec!["x/a".into(), "x/b".into(), "y/c".into()],
            }]),
        };
        assert_eq!(push_event(&body), Ok(Event::Push(expected.clone())));

        // What GitHub sends with "Content type: application/x-www-form-urlencoded".
        let encoded: String = body
            .to_string()
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => (b as char).to_string(),
                b' ' => "+".into(),
                b => format!("%{b:02X}"),
            })
            .collect();
        let form = format!("payload={encoded}");
        let content = b"application/x-www-form-urlencoded; charset=utf-8";
        assert_eq!(parse(Some(b"push"), Some(content), form.as_bytes()), Ok(Event::Push(expected)));
    }

    #[test]
    fn ping_and_other_events() {
        assert_eq!(
            parse(Some(b"ping"), Some(b"application/json"), br#"{"zen": "Design for failure."}"#),
            Ok(Event::Ping)
        );
        // Not a push: the body is not read.
        assert_eq!(parse(Some(b"issues"), None, b"{not json"), Ok(Event::Other("issues".into())));
    }

    #[test]
    fn malformed_deliveries_name_the_header_or_field() {
        let header =
            |header: &'static str, message: &str| Err(PayloadError::Header { header, message: message.into() });
        let field = |f: &str, m: &str| Err(field_error(f, m));
        let good = push_body("refs/heads/main", json!([])).to_string();
        assert_eq!(parse(None, Some(b"application/json"), good.as_bytes()), header("X-GitHub-Event", "missing"));
        assert_eq!(parse(Some(b" "), Some(b"application/json"), good.as_bytes()), header("X-GitHub-Event", "empty"));
        assert_eq!(parse(Some(b"push"), None, good.as_bytes()), header("Content-Type", "missing"));
        assert_eq!(
            parse(Some(b"push"), Some(b"text/plain"), good.as_bytes()),
            header("Content-Type", "\"text/plain\" is neither application/json nor application/x-www-form-urlencoded")
        );
        let form = Some(b"application/x-www-form-urlencoded".as_slice());
        assert_eq!(parse(Some(b"push"), form, b"other=1"), Err(PayloadError::Form("no `payload` field".into())));
        assert_eq!(
            parse(Some(b"push"), form, b"payload=%4"),
            Err(PayloadError::Form("`payload`: a bad %-escape".into()))
        );
        assert_eq!(
            parse(Some(b"push"), form, b"payload=1&payload=2"),
            Err(PayloadError::Form("`payload` is given twice".into()))
        );

        let mut cases: Vec<(Value, Result<Event, PayloadError>)> = Vec::new();
        let with = |edit: &dyn Fn(&mut Value)| {
            let mut body = push_body("refs/heads/main", json!([commit_json("m", &[], &[], &[])]));
            edit(&mut body);
            body
        };
        cases.push((json!([]), Err(PayloadError::NotAnObject)));
        cases.push((with(&|b| b["ref"] = json!(7)), field("ref", "expected a string, found a number")));
        cases.push((with(&|b| b["before"] = json!("abc")), field("before", "\"abc\" is not a commit SHA")));
        cases.push((with(&|b| drop(b.as_object_mut().map(|o| o.remove("after")))), field("after", "missing")));
        cases.push((with(&|b| b["forced"] = json!("no")), field("forced", "expected a boolean, found a string")));
        cases.push((with(&|b| drop(b.as_object_mut().map(|o| o.remove("deleted")))), field("deleted", "missing")));
        cases.push((
            with(&|b| b["repository"] = json!("acme/fabric")),
            field("repository", "expected an object, found a string"),
        ));
        cases.push((with(&|b| b["repository"] = json!({})), field("repository.full_name", "missing")));
        cases.push((with(&|b| b["commits"] = json!({})), field("commits", "expected an array, found an object")));
        cases.push((
            with(&|b| b["commits"][0]["added"] = json!([1])),
            field("commits[0].added[0]", "expected a string, found a number"),
        ));
        cases.push((
            with(&|b| drop(b["commits"][0].as_object_mut().map(|o| o.remove("modified")))),
            field("commits[0].modified", "missing"),
        ));
        cases.push((
            with(&|b| b["commits"][0]["message"] = json!(null)),
            field("commits[0].message", "expected a string, found null"),
        ));
        for (body, expected) in cases {
            assert_eq!(push_event(&body), expected, "{body}");
        }
        assert_eq!(
            parse(Some(b"push"), Some(b"application/json"), b"{not json"),
            Err(PayloadError::Json("key must be a string at line 1 column 2".into()))
        );
    }

    #[test]
    fn fgd_sync_s_own_commits_are_told_by_their_last_line() {
        let state = "8f4c1a2d9b0e7f6a5c4b3a291807f6e5d4c3b2a1";
        // What the engine writes, so a change of the trailer there shows here.
        let own = fgd_sync_guest::engine::with_trailer("Sync 1 CR from HNP\n\nUpdate VPC vpc-1", Some(state));
        let commit = |message: &str| Commit { id: B.into(), message: message.into(), paths: Vec::new() };
        assert!(commit(&own).is_fgd_sync(), "{own}");
        assert!(commit(&format!("{own}\n\n")).is_fgd_sync());
        for other in [
            "Edit by hand".to_owned(),
            format!("Fgd-Sync-State: {state}\n\nMoved down: not the last line"),
            format!("Revert \"Sync\"\n\nFgd-Sync-State: {}", &state[..39]),
            format!("x\n\nFgd-Sync-State: {}", state.to_uppercase()),
            format!("x\n\nFgd-Sync-State-Old: {state}"),
            String::new(),
        ] {
            assert!(!commit(&other).is_fgd_sync(), "{other}");
        }
    }

    fn watched() -> Vec<Watched> {
        vec![
            Watched::new("dc1", "acme", "fabric", "main", "fabrics/dc1/gitops/"),
            Watched::new("dc2", "acme", "fabric", "main", "fabrics/dc2"),
            Watched::new("lab", "acme", "fabric", "lab", ""),
        ]
    }

    fn push(git_ref: &str, commits: Option<Vec<Commit>>) -> Push {
        Push {
            repository: "ACME/fabric".into(),
            git_ref: git_ref.into(),
            before: A.into(),
            after: B.into(),
            deleted: false,
            forced: false,
            commits,
        }
    }

    fn touching(paths: &[&str], own: bool) -> Commit {
        let message = if own { format!("Sync\n\nFgd-Sync-State: {A}\n") } else { "Edit".to_owned() };
        Commit { id: B.into(), message, paths: paths.iter().map(|p| p.to_string()).collect() }
    }

    fn sync(fabrics: &[&str], incomplete: Option<&'static str>) -> Decision {
        Decision::Sync { fabrics: fabrics.iter().map(|f| f.to_string()).collect(), incomplete }
    }

    #[test]
    fn which_fabrics_a_push_concerns() {
        let main = "refs/heads/main";
        let cases: Vec<(Push, Decision)> = vec![
            // One directory touched; a prefix that is not the directory is not.
            (
                push(main, Some(vec![touching(&["fabrics/dc1/gitops/managed/vpcs/a.yaml"], false)])),
                sync(&["dc1"], None),
            ),
            (
                push(main, Some(vec![touching(&["fabrics/dc1/gitops-old/x.yaml", "fabrics/dc2x/y"], false)])),
                Decision::Ignored("the push changes no file under fabrics/dc1/gitops/, fabrics/dc2/".into()),
            ),
            (
                push(main, Some(vec![touching(&["README.md"], false), touching(&["fabrics/dc2/raw/new.yaml"], false)])),
                sync(&["dc2"], None),
            ),
            // The repository root holds everything.
            (push("refs/heads/lab", Some(vec![touching(&["anything"], false)])), sync(&["lab"], None)),
            // Another branch, repository or a tag.
            (
                push("refs/heads/feature", Some(vec![touching(&["fabrics/dc1/gitops/a"], false)])),
                Decision::Ignored("no served fabric follows branch \"feature\" of ACME/fabric".into()),
            ),
            (
                Push {
                    repository: "acme/other".into(),
                    ..push(main, Some(vec![touching(&["fabrics/dc1/gitops/a"], false)]))
                },
                Decision::Ignored("no served fabric follows branch \"main\" of acme/other".into()),
            ),
            (push("refs/tags/v1", None), Decision::Ignored("refs/tags/v1 is not a branch".into())),
            // fgd-sync's own commits are skipped, a colleague's beside them are not.
            (
                push(main, Some(vec![touching(&["fabrics/dc1/gitops/.hnp/sync-state.json"], true)])),
                Decision::OwnCommits,
            ),
            (
                push(main, Some(vec![touching(&["fabrics/dc1/gitops/a"], true), touching(&["fabrics/dc2/b"], false)])),
                sync(&["dc2"], None),
            ),
            // Lists that may not be complete: every fabric of the branch, whatever they say.
            (push(main, None), sync(&["dc1", "dc2"], Some("the payload lists no commits"))),
            (push(main, Some(Vec::new())), sync(&["dc1", "dc2"], Some("the payload lists no commits"))),
            (
                Push { forced: true, ..push(main, Some(vec![touching(&["README.md"], true)])) },
                sync(&["dc1", "dc2"], Some("a forced push")),
            ),
            (
                Push { deleted: true, after: ZERO.into(), ..push(main, Some(Vec::new())) },
                sync(&["dc1", "dc2"], Some("the branch was deleted")),
            ),
            (
                push(main, Some(vec![touching(&["README.md"], false); MAX_LISTED_COMMITS])),
                sync(&["dc1", "dc2"], Some("2048 or more commits (GitHub lists no more)")),
            ),
            (push(main, Some(vec![touching(&["README.md"], false); MAX_LISTED_COMMITS - 1])), {
                Decision::Ignored("the push changes no file under fabrics/dc1/gitops/, fabrics/dc2/".into())
            }),
        ];
        for (push, expected) in cases {
            assert_eq!(decide(&push, &watched()), expected, "{push:?}");
        }
    }
}
