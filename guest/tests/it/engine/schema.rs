//! Checks JSON against GitHub's own OpenAPI description (`tests/data/github/openapi-subset.json`):
//! requests strictly (no unknown keys), responses leniently (real answers carry `null` where
//! the schema says string).

use std::sync::OnceLock;

use serde_json::Value;

fn openapi() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/github/openapi-subset.json");
        let text = std::fs::read_to_string(path).expect("read the OpenAPI subset");
        serde_json::from_str(&text).expect("parse the OpenAPI subset")
    })
}

fn operation(template: &str, method: &str) -> &'static Value {
    let op = &openapi()["paths"][template][method.to_ascii_lowercase()];
    assert!(op.is_object(), "no {method} {template} in the OpenAPI subset");
    op
}

/// Problems of a request body for `method template` (empty: valid).
pub fn check_request(template: &str, method: &str, body: &Value) -> Vec<String> {
    let schema = &operation(template, method)["requestBody"]["content"]["application/json"]["schema"];
    let mut problems = Vec::new();
    check(body, schema, "body", Mode::Request, &mut problems);
    problems
}

/// Problems of a response body for `method template` and status (empty: valid or undocumented).
pub fn check_response(template: &str, method: &str, status: u16, body: &Value) -> Vec<String> {
    let response = &operation(template, method)["responses"][status.to_string()];
    let schema = &response["content"]["application/json"]["schema"];
    let mut problems = Vec::new();
    if response.is_null() {
        problems.push(format!("status {status} is not documented for {method} {template}"));
    } else if schema.is_object() {
        check(body, schema, "answer", Mode::Response, &mut problems);
    }
    problems
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Request,
    Response,
}

fn check(value: &Value, schema: &Value, at: &str, mode: Mode, problems: &mut Vec<String>) {
    if value.is_null() {
        let nullable = schema["nullable"].as_bool().unwrap_or(false);
        if !nullable && mode == Mode::Request {
            problems.push(format!("{at}: null where the schema has no `nullable`"));
        }
        return;
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            let fits = options.iter().any(|s| {
                let mut p = Vec::new();
                check(value, s, at, mode, &mut p);
                p.is_empty()
            });
            if !fits {
                problems.push(format!("{at}: matches no `{key}` option"));
            }
            return;
        }
    }
    if let Some(all) = schema["allOf"].as_array() {
        for s in all {
            check(value, s, at, mode, problems);
        }
        return;
    }
    let ty = schema["type"].as_str().unwrap_or("");
    let type_ok = match ty {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        _ => true,
    };
    if !type_ok {
        problems.push(format!("{at}: expected {ty}, got {value}"));
        return;
    }
    if let (Some(options), Some(_)) = (schema["enum"].as_array(), value.as_str()) {
        if !options.contains(value) {
            problems.push(format!("{at}: {value} is not one of {}", Value::Array(options.clone())));
        }
    }
    if let (Some(s), Some(max)) = (value.as_str(), schema["maxLength"].as_u64()) {
        if s.chars().count() as u64 > max {
            problems.push(format!("{at}: longer than {max}"));
        }
    }
    if let (Some(s), Some(min)) = (value.as_str(), schema["minLength"].as_u64()) {
        if (s.chars().count() as u64) < min {
            problems.push(format!("{at}: shorter than {min}"));
        }
    }
    if let Some(object) = value.as_object() {
        for name in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if !object.contains_key(name) {
                problems.push(format!("{at}: `{name}` is required"));
            }
        }
        let properties = schema["properties"].as_object();
        for (key, v) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(s) => check(v, s, &format!("{at}.{key}"), mode, problems),
                None if mode == Mode::Request && properties.is_some() => {
                    problems.push(format!("{at}: unknown key `{key}`"));
                }
                None => {}
            }
        }
    }
    if let Some(items) = value.as_array() {
        for (i, v) in items.iter().enumerate() {
            check(v, &schema["items"], &format!("{at}[{i}]"), mode, problems);
        }
    }
}

#[test]
fn the_validator_catches_what_github_would_refuse() {
    let good = serde_json::json!({"sha": "abc", "force": false});
    assert!(check_request("/repos/{owner}/{repo}/git/refs/{ref}", "PATCH", &good).is_empty());
    let bad = serde_json::json!({"force": "no", "extra": 1});
    let problems = check_request("/repos/{owner}/{repo}/git/refs/{ref}", "PATCH", &bad);
    assert_eq!(problems.len(), 3, "{problems:?}");
    let tree = serde_json::json!({"tree": [{"path": "a", "mode": "100600", "type": "blob", "sha": null}]});
    let problems = check_request("/repos/{owner}/{repo}/git/trees", "POST", &tree);
    assert_eq!(
        problems,
        ["body.tree[0].mode: \"100600\" is not one of [\"100644\",\"100755\",\"040000\",\"160000\",\"120000\"]"]
    );
}
