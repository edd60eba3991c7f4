//! The invariants one run must keep, read off the requests it made and the report it gave:
//! 1. never a ref update with `force: true`;
//! 2. never a write after a refused compare-and-swap without reading again first: after a
//!    refused `PATCH git/refs` (409/422) no write until a `GET git/ref`; after a refused
//!    `PUT`/`DELETE contents/P`, no write to P until P (or the ref) is read again;
//! 3. conflicts are never overwritten: no path reported as a conflict is written after the
//!    final attempt's read of the ref (the last read followed by a tree listing: the engine
//!    also reads the ref again right before a late ref update, which starts no attempt);
//! 4. a plan writes nothing.

use std::collections::BTreeSet;

use fgd_sync::wit::{SyncError, SyncReport};
use serde_json::Value;

use crate::player::Logged;

/// What a request does to the repository, from its method and URL.
#[derive(Debug, PartialEq, Eq)]
enum Op {
    ReadRef,
    ReadContents(String),
    ReadTree,
    RefUpdate,
    /// POST git/trees: the paths its body writes.
    Tree(Vec<String>),
    Commit,
    /// PUT or DELETE contents/P.
    Contents(String),
    Other,
}

fn classify(r: &Logged) -> Op {
    let path = r.url.split_once("/repos/").map_or("", |(_, rest)| rest);
    // owner/repo/<rest>
    let rest = path.splitn(3, '/').nth(2).unwrap_or("");
    let rest = rest.split('?').next().unwrap_or("");
    match (r.method.as_str(), rest) {
        ("GET", p) if p.starts_with("git/ref/") || p.starts_with("git/refs/") => Op::ReadRef,
        ("GET", p) if p.starts_with("contents/") => Op::ReadContents(decode(&p["contents/".len()..])),
        ("GET", p) if p.starts_with("git/trees/") => Op::ReadTree,
        ("PATCH", p) if p.starts_with("git/refs/") => Op::RefUpdate,
        ("POST", "git/trees") => Op::Tree(tree_paths(&r.body)),
        ("POST", "git/commits") => Op::Commit,
        ("PUT" | "DELETE", p) if p.starts_with("contents/") => Op::Contents(decode(&p["contents/".len()..])),
        _ => Op::Other,
    }
}

fn is_write(op: &Op) -> bool {
    matches!(op, Op::RefUpdate | Op::Tree(_) | Op::Commit | Op::Contents(_))
}

fn tree_paths(body: &[u8]) -> Vec<String> {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    json["tree"]
        .as_array()
        .map_or(Vec::new(), |t| t.iter().filter_map(|e| e["path"].as_str().map(str::to_string)).collect())
}

/// Percent-decoding of a URL path.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn refused(r: &Logged) -> bool {
    matches!(r.status, Some(409 | 422))
}

/// Every invariant the run broke, in words.
pub fn violations(log: &[Logged], outcome: &Result<SyncReport, SyncError>, plan: bool) -> Vec<String> {
    let mut found = Vec::new();
    let ops: Vec<Op> = log.iter().map(classify).collect();

    for (n, (r, op)) in log.iter().zip(&ops).enumerate() {
        if *op == Op::RefUpdate {
            let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
            if body["force"] != Value::Bool(false) {
                found.push(format!(
                    "request {n}: ref update without force: false: {}",
                    String::from_utf8_lossy(&r.body)
                ));
            }
        }
        if plan && is_write(op) {
            found.push(format!("request {n}: a plan wrote: {} {}", r.method, r.url));
        }
    }

    // 2. Writes after a refused compare-and-swap.
    let mut ref_refused: Option<usize> = None;
    let mut paths_refused: BTreeSet<String> = BTreeSet::new();
    for (n, (r, op)) in log.iter().zip(&ops).enumerate() {
        match op {
            Op::ReadRef => {
                ref_refused = None;
                paths_refused.clear();
            }
            Op::ReadContents(p) => {
                paths_refused.remove(p);
            }
            _ => {}
        }
        if is_write(op) {
            if let Some(at) = ref_refused {
                found.push(format!(
                    "request {n}: {} {} after the ref update refused at request {at}, without re-reading the ref",
                    r.method, r.url
                ));
            }
            if let Op::Contents(p) = op {
                if paths_refused.contains(p) {
                    found.push(format!(
                        "request {n}: {} {p} again after it was refused, without reading it again",
                        r.method
                    ));
                }
            }
        }
        match op {
            Op::RefUpdate if refused(r) => ref_refused = Some(n),
            Op::Contents(p) if refused(r) => {
                paths_refused.insert(p.clone());
            }
            _ => {}
        }
    }

    // 3. Conflicts never written after the final read of the ref.
    if let Ok(report) = outcome {
        let conflicts: BTreeSet<&str> = report.conflicts.iter().map(|c| c.path.as_str()).collect();
        let reads: Vec<usize> = (0..ops.len()).filter(|&i| ops[i] == Op::ReadRef).collect();
        let starts_attempt = |&i: &usize| ops[i + 1..].iter().find(|op| **op != Op::Other) == Some(&Op::ReadTree);
        let last_read = reads.iter().rev().find(|i| starts_attempt(i)).or(reads.last()).copied().unwrap_or(0);
        for (n, op) in ops.iter().enumerate().skip(last_read) {
            let written: Vec<&str> = match op {
                Op::Tree(paths) => paths.iter().map(String::as_str).collect(),
                Op::Contents(p) => vec![p.as_str()],
                _ => Vec::new(),
            };
            for path in written.into_iter().filter(|p| conflicts.contains(p)) {
                found.push(format!("request {n}: writes {path}, which the report lists as a conflict"));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use fgd_sync::wit::{Conflict, ConflictKind, ResourceRef, SyncReport};

    use super::{decode, violations, Logged};

    const BASE: &str = "http://api.test/repos/o/r";

    fn req(method: &str, rest: &str, body: &str, status: u16) -> Logged {
        Logged {
            method: method.into(),
            url: format!("{BASE}/{rest}"),
            body: body.as_bytes().to_vec(),
            status: Some(status),
        }
    }

    fn report(conflicts: &[&str]) -> Result<SyncReport, fgd_sync::wit::SyncError> {
        let conflict = |path: &&str| Conflict {
            path: path.to_string(),
            kind: ConflictKind::ModifiedInGit,
            reason: String::new(),
            resource: ResourceRef { kind: "VPC".into(), namespace: "default".into(), name: "v".into() },
            expected_sha: None,
            actual_sha: None,
            git_content: None,
            hnp_content: None,
        };
        Ok(SyncReport {
            base_commit: None,
            commit: None,
            message: None,
            changes: Vec::new(),
            conflicts: conflicts.iter().map(conflict).collect(),
            invalid: Vec::new(),
            hnp_changes: Vec::new(),
            raw_errors: Vec::new(),
            unchanged: 0,
            requests: 0,
            attempts: 1,
            warnings: Vec::new(),
        })
    }

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(decode("a%20b/c%2Fd"), "a b/c/d");
        assert_eq!(decode("100%"), "100%");
    }

    #[test]
    fn a_forced_ref_update_is_a_violation() {
        let log = [req("PATCH", "git/refs/heads/main", r#"{"sha":"a","force":true}"#, 200)];
        assert_eq!(violations(&log, &report(&[]), false).len(), 1);
    }

    #[test]
    fn a_write_after_a_refused_ref_update_needs_a_read_of_the_ref() {
        let refused = req("PATCH", "git/refs/heads/main", r#"{"sha":"a","force":false}"#, 422);
        let tree = req("POST", "git/trees", r#"{"tree":[]}"#, 201);
        let read = req("GET", "git/ref/heads/main", "", 200);
        assert_eq!(violations(&[refused.clone(), tree.clone()], &report(&[]), false).len(), 1);
        assert!(violations(&[refused, read, tree], &report(&[]), false).is_empty());
    }

    #[test]
    fn a_contents_write_refused_needs_a_read_of_that_file() {
        let put = req("PUT", "contents/d/a.yaml", "{}", 409);
        let other = req("PUT", "contents/d/b.yaml", "{}", 201);
        let read = req("GET", "contents/d/a.yaml?ref=main", "", 200);
        assert_eq!(violations(&[put.clone(), put.clone()], &report(&[]), false).len(), 1);
        assert!(violations(&[put.clone(), other], &report(&[]), false).is_empty());
        assert!(violations(&[put.clone(), read, put], &report(&[]), false).is_empty());
    }

    #[test]
    fn writing_a_reported_conflict_after_the_last_read_is_a_violation() {
        let read = req("GET", "git/ref/heads/main", "", 200);
        let tree = req("POST", "git/trees", r#"{"tree":[{"path":"d/a.yaml"}]}"#, 201);
        assert_eq!(violations(&[read.clone(), tree.clone()], &report(&["d/a.yaml"]), false).len(), 1);
        // An earlier attempt may have written it before the path became a conflict.
        assert!(violations(&[tree.clone(), read.clone()], &report(&["d/a.yaml"]), false).is_empty());
        // The ref read again right before the update does not start an attempt.
        let listing = req("GET", "git/trees/abc?recursive=1", "", 200);
        let log = [read.clone(), listing, tree, read];
        assert_eq!(violations(&log, &report(&["d/a.yaml"]), false).len(), 1);
    }

    #[test]
    fn a_plan_that_writes_is_a_violation() {
        let commit = req("POST", "git/commits", "{}", 201);
        assert_eq!(violations(&[commit], &report(&[]), true).len(), 1);
    }
}
