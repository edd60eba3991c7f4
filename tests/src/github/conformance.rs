//! Checks recorded exchanges against GitHub's own OpenAPI description
//! (`tests/data/github/openapi-subset.json`) with local-github's `openapi` checker (feature
//! `testing`): the status must be documented for the operation and a JSON body must fit its
//! schema.
//!
//! GitHub's description leaves out statuses every operation can answer (401, the User-Agent
//! 403, rate-limit 403/429, 5xx from the front end). Those are checked by
//! [`check_gatekeeping`] instead: GitHub's error object, or its plain-text/HTML pages.

use fgd_sync_local_github::openapi::{self, Response};
use serde_json::Value;

use super::server::Exchange;

/// Problems of one answer against its operation; empty when it conforms. Exchanges without
/// an answer have nothing to check.
pub fn check(e: &Exchange) -> Vec<String> {
    let Some(status) = e.status else { return Vec::new() };
    let what = format!("#{} {} {} -> {status}", e.seq, e.method, e.path);
    let spec = openapi::github();
    let schema = match spec.response(&e.method, &e.path, status) {
        // GitHub answers 404 for paths it does not know.
        Response::NoOperation if status == 404 => return check_gatekeeping(e),
        Response::NoOperation => return vec![format!("{what}: no such operation")],
        Response::Undocumented { template } => {
            return vec![format!("{what}: status {status} is not documented for {} {template}", e.method)]
        }
        Response::Documented { schema: None, .. } => return Vec::new(),
        Response::Documented { schema: Some(schema), .. } => schema,
    };
    let Ok(body) = serde_json::from_slice::<Value>(&e.response_body) else {
        return vec![format!("{what}: the body is not JSON")];
    };
    match spec.check(schema, &body) {
        Ok(()) => Vec::new(),
        // GitHub's error `oneOf`s (basic-error vs rule violation) have only optional fields,
        // so every real error body matches several options: that is the description's
        // looseness, not a wrong answer.
        Err(problems) => problems
            .into_iter()
            .filter(|p| !p.contains("schemas of oneOf, expected exactly one"))
            .map(|p| format!("{what}: {p}"))
            .collect(),
    }
}

/// The answers GitHub gives to any operation: 401, 403 (User-Agent, rate limits), 429, 5xx.
pub fn check_gatekeeping(e: &Exchange) -> Vec<String> {
    let Some(status) = e.status else { return Vec::new() };
    let what = format!("#{} {} {} -> {status}", e.seq, e.method, e.path);
    let content_type = e.response_header("content-type").unwrap_or_default();
    if !content_type.starts_with("application/json") {
        // The User-Agent refusal and the 502 page are not JSON on GitHub either.
        let text = String::from_utf8_lossy(&e.response_body);
        let known = (status == 403 && text.starts_with("Request forbidden by administrative rules"))
            || (status == 502 && text.contains("Bad Gateway"));
        return if known { Vec::new() } else { vec![format!("{what}: unexpected {content_type:?} body")] };
    }
    let body: Value = serde_json::from_slice(&e.response_body).unwrap_or(Value::Null);
    let mut problems = Vec::new();
    if !body.get("message").is_some_and(Value::is_string) {
        problems.push(format!("{what}: error body without a string `message`"));
    }
    if body
        .as_object()
        .is_some_and(|o| o.keys().any(|k| !["message", "documentation_url", "status", "errors"].contains(&k.as_str())))
    {
        problems.push(format!("{what}: error body has keys GitHub's basic-error does not"));
    }
    problems
}

/// Every recorded answer: documented ones against the description, the rest as gatekeeping.
pub fn check_all(exchanges: &[Exchange]) -> Vec<String> {
    exchanges
        .iter()
        .flat_map(|e| match e.status {
            Some(401 | 429) | Some(500..=599) => check_gatekeeping(e),
            Some(403)
                if e.fault.is_some() || e.response_header("content-type").is_some_and(|t| t.starts_with("text/")) =>
            {
                check_gatekeeping(e)
            }
            Some(403) if e.response_header("x-ratelimit-remaining") == Some("0") => check_gatekeeping(e),
            _ => check(e),
        })
        .collect()
}

/// Every answer carries the five rate-limit headers.
pub fn missing_rate_headers(exchanges: &[Exchange]) -> Vec<String> {
    let names =
        ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-used", "x-ratelimit-reset", "x-ratelimit-resource"];
    exchanges
        .iter()
        .filter(|e| e.status.is_some())
        .flat_map(|e| {
            names
                .iter()
                .filter(|n| e.response_header(n).is_none())
                .map(move |n| format!("#{} {} {}: no {n}", e.seq, e.method, e.path))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Problems found for one answer (status and JSON body) to `method path`.
    fn check_answer(method: &str, path: &str, status: u16, body: &str) -> Vec<String> {
        check(&Exchange {
            method: method.into(),
            path: path.into(),
            status: Some(status),
            response_headers: vec![("content-type".into(), "application/json; charset=utf-8".into())],
            response_body: body.into(),
            ..Exchange::default()
        })
    }

    #[test]
    fn wrong_answers_are_caught() {
        let blobs = "/repos/acme/fabric/git/blobs";
        assert_eq!(check_answer("POST", blobs, 201, r#"{"sha":"a","url":"http://h/a"}"#), Vec::<String>::new());
        let cases = [
            ("POST", blobs, 201, r#"{"url":"http://h/a"}"#, "missing required property \"sha\""),
            ("POST", blobs, 201, r#"{"sha":1,"url":"http://h/a"}"#, "/sha: expected string"),
            ("POST", blobs, 201, "not json", "the body is not JSON"),
            ("POST", blobs, 418, "{}", "status 418 is not documented for POST /repos/{owner}/{repo}/git/blobs"),
            ("GET", "/nowhere", 200, "{}", "no such operation"),
            ("GET", "/nowhere", 404, r#"{"msg":"x"}"#, "error body without a string `message`"),
        ];
        for (method, path, status, body, expected) in cases {
            let problems = check_answer(method, path, status, body);
            assert!(problems.iter().any(|p| p.contains(expected)), "{method} {path} -> {status} {body}: {problems:#?}");
        }
    }
}
