//! A minimal OpenAPI 3.0 checker for GitHub's description (tests/data/github/openapi-subset.json):
//! finds the operation for a method and concrete path, and checks a JSON value against the
//! request or response schema. Test-only (feature `testing`); [`github`] is the one loader of
//! the description for every test in the workspace.
//!
//! It understands `type`, `nullable`, `required`, `properties`, `additionalProperties`,
//! `items`, `enum`, `allOf`/`anyOf`/`oneOf`, `minLength`/`maxLength`, local `$ref`, and the
//! formats `date-time` and `uri` (loosely). Other keywords are ignored, never failed.
//!
//! ```
//! use fgd_sync_local_github::openapi;
//! let body = serde_json::json!({ "sha": "x", "url": "http://h/x" });
//! openapi::github().check_response("POST", "/repos/o/r/git/blobs", 201, &body).unwrap();
//! assert!(openapi::github().check_response("POST", "/repos/o/r/git/blobs", 201, &serde_json::json!({})).is_err());
//! ```

use std::path::Path;
use std::sync::OnceLock;

use serde_json::Value;

/// Where the workspace keeps GitHub's description (the subset fgd-sync uses, with its license).
pub const GITHUB_SUBSET: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/github/openapi-subset.json");

/// GitHub's description, loaded once from [`GITHUB_SUBSET`]; panics if it does not load.
pub fn github() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| Spec::load(GITHUB_SUBSET).unwrap_or_else(|e| panic!("the OpenAPI subset must load: {e}")))
}

/// A loaded OpenAPI document.
pub struct Spec {
    doc: Value,
}

/// What the description says about one answer (method, concrete path, status).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Response<'a> {
    /// No operation matches the method and path.
    NoOperation,
    /// The operation (its path template here) does not document the status.
    Undocumented { template: &'a str },
    /// Documented; `schema` is that of its `application/json` body, if it has one.
    Documented { template: &'a str, schema: Option<&'a Value> },
}

impl Spec {
    /// Reads and parses a JSON OpenAPI document.
    pub fn load(path: impl AsRef<Path>) -> Result<Spec, String> {
        let path = path.as_ref();
        let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let doc = serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Spec { doc })
    }

    pub fn from_value(doc: Value) -> Spec {
        Spec { doc }
    }

    /// The path template and operation object for `method` on a concrete `path` (a query
    /// string is ignored). When several templates match, the most literal one wins.
    pub fn operation(&self, method: &str, path: &str) -> Option<(&str, &Value)> {
        let path = path.split('?').next().unwrap_or(path);
        let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let method = method.to_ascii_lowercase();
        let mut best: Option<(usize, &str, &Value)> = None;
        for (template, item) in self.doc.get("paths")?.as_object()? {
            let Some(op) = item.get(&method) else { continue };
            let multi: Vec<&str> = op
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|p| p.get("x-multi-segment").and_then(Value::as_bool) == Some(true))
                .filter_map(|p| p.get("name").and_then(Value::as_str))
                .collect();
            let tsegs: Vec<&str> = template.trim_start_matches('/').split('/').collect();
            if matches(&tsegs, &segs, &multi) {
                let literal = tsegs.iter().filter(|s| !s.starts_with('{')).count();
                if best.is_none_or(|(n, _, _)| literal > n) {
                    best = Some((literal, template.as_str(), op));
                }
            }
        }
        best.map(|(_, t, op)| (t, op))
    }

    /// The `status` answer of the operation for `method` on a concrete `path`.
    pub fn response(&self, method: &str, path: &str, status: u16) -> Response<'_> {
        let Some((template, op)) = self.operation(method, path) else { return Response::NoOperation };
        match op.get("responses").and_then(|r| r.get(status.to_string())) {
            None => Response::Undocumented { template },
            Some(answer) => Response::Documented { template, schema: json_schema(answer) },
        }
    }

    /// The JSON schema of the `status` answer of that operation.
    pub fn response_schema(&self, method: &str, path: &str, status: u16) -> Option<&Value> {
        match self.response(method, path, status) {
            Response::Documented { schema, .. } => schema,
            Response::NoOperation | Response::Undocumented { .. } => None,
        }
    }

    /// The JSON schema of that operation's request body.
    pub fn request_schema(&self, method: &str, path: &str) -> Option<&Value> {
        let (_, op) = self.operation(method, path)?;
        json_schema(op.get("requestBody")?)
    }

    /// Checks a response body; `Err` lists every problem (or says no schema is known).
    pub fn check_response(&self, method: &str, path: &str, status: u16, body: &Value) -> Result<(), Vec<String>> {
        let schema = self
            .response_schema(method, path, status)
            .ok_or_else(|| vec![format!("no schema for {method} {path} -> {status}")])?;
        self.check(schema, body)
    }

    /// Checks a request body against the operation's request schema.
    pub fn check_request(&self, method: &str, path: &str, body: &Value) -> Result<(), Vec<String>> {
        let schema =
            self.request_schema(method, path).ok_or_else(|| vec![format!("no request schema for {method} {path}")])?;
        self.check(schema, body)
    }

    /// Checks `value` against `schema` (which may `$ref` into this document).
    pub fn check(&self, schema: &Value, value: &Value) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        Checker { root: &self.doc }.check(schema, value, "", &mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// The schema of a request body or response object's `application/json` content.
fn json_schema(body: &Value) -> Option<&Value> {
    body.get("content")?.get("application/json")?.get("schema")
}

/// Checks `value` against a self-contained schema (no `$ref`).
pub fn validate(schema: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    Checker { root: schema }.check(schema, value, "", &mut errors);
    errors
}

fn matches(tpl: &[&str], segs: &[&str], multi: &[&str]) -> bool {
    // A trailing multi-segment parameter may be empty: `/contents/` is the root directory.
    let empty_tail = |t: &str| {
        tpl.len() == 1 && t.strip_prefix('{').and_then(|t| t.strip_suffix('}')).is_some_and(|n| multi.contains(&n))
    };
    match (tpl.first(), segs.first()) {
        (None, None) => true,
        (Some(t), None) => empty_tail(t),
        (Some(t), Some(&"")) if segs.len() == 1 && empty_tail(t) => true,
        (None, _) => false,
        (Some(t), Some(s)) => {
            let Some(name) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) else {
                return t == s && matches(&tpl[1..], &segs[1..], multi);
            };
            if s.is_empty() {
                return false;
            }
            if multi.contains(&name) {
                (1..=segs.len())
                    .any(|n| segs[..n].iter().all(|s| !s.is_empty()) && matches(&tpl[1..], &segs[n..], multi))
            } else {
                matches(&tpl[1..], &segs[1..], multi)
            }
        }
    }
}

struct Checker<'a> {
    root: &'a Value,
}

impl Checker<'_> {
    fn check(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        let Some(s) = schema.as_object() else { return };
        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            match r.strip_prefix('#').and_then(|p| self.root.pointer(p)) {
                Some(target) => self.check(target, value, at, errors),
                None => errors.push(format!("{at}: unresolvable $ref {r}")),
            }
            return;
        }
        let here = if at.is_empty() { "(root)" } else { at };
        if value.is_null()
            && (s.get("nullable").and_then(Value::as_bool) == Some(true) || type_allows_null(s.get("type")))
        {
            return;
        }
        if let Some(t) = s.get("type") {
            let types: Vec<&str> = match t {
                Value::String(one) => vec![one.as_str()],
                Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            if !types.is_empty() && !types.iter().any(|t| has_type(value, t)) {
                errors.push(format!("{here}: expected {}, got {}", types.join(" or "), short(value)));
                return;
            }
        }
        if let Some(options) = s.get("enum").and_then(Value::as_array) {
            if !options.contains(value) {
                errors.push(format!("{here}: {} is not one of {}", short(value), Value::Array(options.clone())));
            }
        }
        if let Some(text) = value.as_str() {
            self.check_string(s, text, here, errors);
        }
        if let Some(obj) = value.as_object() {
            for key in s.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
                if !obj.contains_key(key) {
                    errors.push(format!("{here}: missing required property {key:?}"));
                }
            }
            let props = s.get("properties").and_then(Value::as_object);
            for (k, v) in obj {
                match (props.and_then(|p| p.get(k)), s.get("additionalProperties")) {
                    (Some(sub), _) => self.check(sub, v, &format!("{at}/{k}"), errors),
                    (None, Some(Value::Bool(false))) => errors.push(format!("{here}: unexpected property {k:?}")),
                    (None, Some(extra @ Value::Object(_))) => self.check(extra, v, &format!("{at}/{k}"), errors),
                    (None, _) => {}
                }
            }
        }
        if let (Some(items), Some(arr)) = (s.get("items"), value.as_array()) {
            for (i, v) in arr.iter().enumerate() {
                self.check(items, v, &format!("{at}/{i}"), errors);
            }
        }
        self.check_combinators(s, value, at, here, errors);
    }

    fn check_string(&self, s: &serde_json::Map<String, Value>, text: &str, here: &str, errors: &mut Vec<String>) {
        let len = text.chars().count() as u64;
        if let Some(min) = s.get("minLength").and_then(Value::as_u64) {
            if len < min {
                errors.push(format!("{here}: shorter than {min}"));
            }
        }
        if let Some(max) = s.get("maxLength").and_then(Value::as_u64) {
            if len > max {
                errors.push(format!("{here}: longer than {max}"));
            }
        }
        match s.get("format").and_then(Value::as_str) {
            Some("date-time") if !looks_like_date_time(text) => {
                errors.push(format!("{here}: {text:?} is not a date-time"))
            }
            Some("uri") if !text.contains(':') => errors.push(format!("{here}: {text:?} is not a URI")),
            _ => {}
        }
    }

    fn check_combinators(
        &self,
        s: &serde_json::Map<String, Value>,
        value: &Value,
        at: &str,
        here: &str,
        errors: &mut Vec<String>,
    ) {
        let passes = |sub: &Value| {
            let mut e = Vec::new();
            self.check(sub, value, at, &mut e);
            e
        };
        if let Some(all) = s.get("allOf").and_then(Value::as_array) {
            for sub in all {
                errors.extend(passes(sub));
            }
        }
        if let Some(any) = s.get("anyOf").and_then(Value::as_array) {
            let results: Vec<Vec<String>> = any.iter().map(passes).collect();
            if !results.iter().any(Vec::is_empty) {
                errors.push(format!("{here}: matches none of anyOf: {}", summarize(&results)));
            }
        }
        if let Some(one) = s.get("oneOf").and_then(Value::as_array) {
            let results: Vec<Vec<String>> = one.iter().map(passes).collect();
            match results.iter().filter(|r| r.is_empty()).count() {
                1 => {}
                0 => errors.push(format!("{here}: matches none of oneOf: {}", summarize(&results))),
                n => errors.push(format!("{here}: matches {n} schemas of oneOf, expected exactly one")),
            }
        }
    }
}

fn type_allows_null(t: Option<&Value>) -> bool {
    match t {
        Some(Value::String(s)) => s == "null",
        Some(Value::Array(a)) => a.iter().any(|v| v == "null"),
        _ => false,
    }
}

fn has_type(v: &Value, t: &str) -> bool {
    match t {
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "null" => v.is_null(),
        _ => true,
    }
}

/// `YYYY-MM-DDTHH:MM:SS` followed by a fraction and/or zone.
fn looks_like_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 20
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && matches!(b[10], b'T' | b't')
        && b[13] == b':'
        && b[16] == b':'
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 60 {
        format!("{}...", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

fn summarize(results: &[Vec<String>]) -> String {
    results
        .iter()
        .enumerate()
        .map(|(i, e)| format!("[{i}] {}", e.first().map_or("", String::as_str)))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keywords() {
        let schema = json!({
            "type": "object", "required": ["a", "b"],
            "properties": {
                "a": { "type": "string", "enum": ["x", "y"] },
                "b": { "type": "array", "items": { "type": "integer" } },
                "c": { "type": "string", "nullable": true },
                "d": { "oneOf": [{ "type": "string" }, { "type": "integer" }] },
                "e": { "anyOf": [{ "type": "string", "minLength": 3 }, { "type": "boolean" }] },
                "f": { "allOf": [{ "required": ["g"] }, { "type": "object" }] },
            }
        });
        assert!(
            validate(&schema, &json!({ "a": "x", "b": [1], "c": null, "d": 2, "e": true, "f": { "g": 1 } })).is_empty()
        );
        let errors = validate(&schema, &json!({ "a": "z", "b": [1.5], "d": [], "e": "ab", "f": {} }));
        assert_eq!(errors.len(), 5, "{errors:#?}");
        assert_eq!(validate(&schema, &json!({ "b": [] })), vec!["(root): missing required property \"a\"".to_string()]);
    }

    #[test]
    fn multi_segment_paths() {
        let doc = json!({ "paths": {
            "/repos/{owner}/{repo}/git/ref/{ref}": { "get": { "parameters": [{ "name": "ref", "x-multi-segment": true }] } },
            "/repos/{owner}/{repo}/git/refs": { "post": {} },
            "/repos/{owner}/{repo}/git/{x}": { "post": {} },
        }});
        let spec = Spec::from_value(doc);
        assert_eq!(
            spec.operation("GET", "/repos/o/r/git/ref/heads/a/b?x=1").map(|o| o.0),
            Some("/repos/{owner}/{repo}/git/ref/{ref}")
        );
        assert_eq!(spec.operation("POST", "/repos/o/r/git/refs").map(|o| o.0), Some("/repos/{owner}/{repo}/git/refs"));
        assert!(spec.operation("GET", "/repos/o/r/git/ref/").is_some(), "an empty trailing multi-segment parameter");
        assert!(spec.operation("GET", "/repos/o/r/git/ref//x").is_none());
    }

    #[test]
    fn response_lookup() {
        let schema = json!({ "type": "object" });
        let spec = Spec::from_value(json!({ "paths": { "/r/{id}": { "get": { "responses": {
            "200": { "content": { "application/json": { "schema": schema } } },
            "304": { "description": "Not modified" },
        }}}}}));
        assert_eq!(
            spec.response("GET", "/r/1?x", 200),
            Response::Documented { template: "/r/{id}", schema: Some(&schema) }
        );
        assert_eq!(spec.response("GET", "/r/1", 304), Response::Documented { template: "/r/{id}", schema: None });
        assert_eq!(spec.response("GET", "/r/1", 404), Response::Undocumented { template: "/r/{id}" });
        assert_eq!(spec.response("POST", "/r/1", 200), Response::NoOperation);
        assert_eq!(spec.response_schema("GET", "/r/1", 200), Some(&schema));
        assert_eq!(spec.response_schema("GET", "/r/1", 304), None);
    }
}
