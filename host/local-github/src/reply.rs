//! Handler results: success replies, GitHub-shaped errors (status + message), and reading
//! JSON request bodies with GitHub's validation messages.

use serde_json::{Map, Value};

use crate::git::GitError;

/// The `documentation_url` of every error body.
pub(crate) const DOCS_URL: &str = "https://docs.github.com/rest";

/// A successful answer.
pub(crate) struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    pub fn new(status: u16, body: Value) -> Self {
        Reply { status, body, headers: Vec::new() }
    }

    pub fn ok(body: Value) -> Self {
        Reply::new(200, body)
    }

    /// 201 with `Location`, as GitHub sends for created objects.
    pub fn created(body: Value, location: String) -> Self {
        Reply { status: 201, body, headers: vec![("location".into(), location)] }
    }
}

/// An error answer: `{"message": ..., "documentation_url": ...}` with `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub message: String,
}

pub(crate) type Result<T> = std::result::Result<T, ApiError>;

impl ApiError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        ApiError { status, message: message.into() }
    }

    pub fn not_found() -> Self {
        ApiError::new(404, "Not Found")
    }

    /// GitHub's answer for Git Data operations on a repository without commits.
    pub fn empty_repo() -> Self {
        ApiError::new(409, "Git Repository is empty.")
    }

    pub fn unprocessable(message: impl Into<String>) -> Self {
        ApiError::new(422, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        ApiError::new(409, message)
    }

    pub fn bad_json() -> Self {
        ApiError::new(400, "Problems parsing JSON")
    }

    /// `Invalid request.\n\n"sha" wasn't supplied.` (several: `"a", "b" weren't supplied.`)
    pub fn missing(fields: &[&str]) -> Self {
        let list = fields.iter().map(|f| format!("\"{f}\"")).collect::<Vec<_>>().join(", ");
        let verb = if fields.len() == 1 { "wasn't" } else { "weren't" };
        ApiError::unprocessable(format!("Invalid request.\n\n{list} {verb} supplied."))
    }

    /// `Invalid request.\n\nFor 'properties/tree', nil is not a string.`
    pub fn wrong_type(field: &str, value: &Value, expected: &str) -> Self {
        ApiError::unprocessable(format!(
            "Invalid request.\n\nFor 'properties/{field}', {} is not {expected}.",
            ruby_inspect(value)
        ))
    }
}

impl From<GitError> for ApiError {
    fn from(e: GitError) -> Self {
        // Not GitHub's text: a local fault is easier to fix when the answer names it.
        ApiError::new(500, format!("local-github: {e}"))
    }
}

/// How GitHub's (Ruby) validator quotes a value in messages.
fn ruby_inspect(v: &Value) -> String {
    match v {
        Value::Null => "nil".into(),
        other => other.to_string(),
    }
}

/// A parsed JSON object body.
pub(crate) struct Body(Map<String, Value>);

impl Body {
    /// Parses a request body; an empty body counts as `{}`, so missing fields get 422.
    pub fn parse(bytes: &[u8]) -> Result<Body> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body(Map::new()));
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(m)) => Ok(Body(m)),
            _ => Err(ApiError::bad_json()),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// 422 naming every absent field of `names`.
    pub fn require(&self, names: &[&str]) -> Result<()> {
        let missing: Vec<&str> = names.iter().copied().filter(|n| !self.0.contains_key(*n)).collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ApiError::missing(&missing))
        }
    }

    /// A string field; present but not a string (`null` included) is 422.
    pub fn str(&self, name: &str) -> Result<Option<&str>> {
        match self.0.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(ApiError::wrong_type(name, v, "a string")),
        }
    }

    /// A required string field.
    pub fn req_str(&self, name: &str) -> Result<&str> {
        self.str(name)?.ok_or_else(|| ApiError::missing(&[name]))
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>> {
        match self.0.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(ApiError::wrong_type(name, v, "a boolean")),
        }
    }

    pub fn array(&self, name: &str) -> Result<Option<&Vec<Value>>> {
        match self.0.get(name) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(v) => Err(ApiError::wrong_type(name, v, "an array")),
        }
    }

    pub fn object(&self, name: &str) -> Result<Option<&Map<String, Value>>> {
        match self.0.get(name) {
            None => Ok(None),
            Some(Value::Object(o)) => Ok(Some(o)),
            Some(v) => Err(ApiError::wrong_type(name, v, "an object")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        assert_eq!(ApiError::missing(&["sha"]).message, "Invalid request.\n\n\"sha\" wasn't supplied.");
        assert_eq!(
            ApiError::missing(&["ref", "sha"]).message,
            "Invalid request.\n\n\"ref\", \"sha\" weren't supplied."
        );
        assert_eq!(
            ApiError::wrong_type("tree", &Value::Null, "a string").message,
            "Invalid request.\n\nFor 'properties/tree', nil is not a string."
        );
    }

    #[test]
    fn bodies() {
        assert!(Body::parse(b"").is_ok());
        assert_eq!(Body::parse(b"{").err(), Some(ApiError::bad_json()));
        assert_eq!(Body::parse(b"[1]").err(), Some(ApiError::bad_json()));
        let b = Body::parse(br#"{"sha": 5}"#).unwrap();
        assert_eq!(b.str("sha").unwrap_err().status, 422);
    }
}
