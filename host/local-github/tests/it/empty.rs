//! A repository without commits: Git Data answers 409, the Contents API makes the first commit.

use serde_json::{json, Value};

use crate::support::*;

#[test]
fn empty_repository_answers_409_to_git_data() {
    let f = Fixture::empty();
    let sha = "3f3f005b29247e51a4f4d6b8ce07b67646cd6074";
    let cases = [
        ("GET", "/git/ref/heads/main".to_string(), Value::Null),
        ("GET", "/git/trees/main?recursive=1".to_string(), Value::Null),
        ("GET", format!("/git/trees/{sha}"), Value::Null),
        ("GET", format!("/git/blobs/{sha}"), Value::Null),
        ("GET", format!("/git/commits/{sha}"), Value::Null),
        ("POST", "/git/blobs".to_string(), json!({ "content": "x" })),
        (
            "POST",
            "/git/trees".to_string(),
            json!({ "tree": [{ "path": "a", "mode": "100644", "type": "blob", "content": "x" }] }),
        ),
        ("POST", "/git/commits".to_string(), json!({ "message": "m", "tree": sha, "parents": [] })),
        ("POST", "/git/refs".to_string(), json!({ "ref": "refs/heads/x", "sha": sha })),
        ("PATCH", "/git/refs/heads/main".to_string(), json!({ "sha": sha })),
    ];
    for (method, rel, body) in cases {
        let (status, answer) = f.call(method, &rel, body);
        assert_eq!((status, message(&answer)), (409, "Git Repository is empty."), "{method} {rel}");
    }
    let (status, answer) = f.get("/contents/a.yaml");
    assert_eq!((status, message(&answer)), (404, "This repository is empty."));
    // The repository itself is there, with its default branch.
    let (status, repo) = f.get("");
    assert_eq!(
        (status, repo["default_branch"].as_str(), repo["full_name"].as_str()),
        (200, Some("main"), Some("acme/fabric"))
    );
    assert_eq!(f.git(&["for-each-ref"]), "");
}

#[test]
fn contents_put_makes_the_first_commit_and_the_branch() {
    let f = Fixture::empty();
    let (status, body) = f.call(
        "PUT",
        "/contents/fabric/switch-01.yaml",
        json!({ "message": "first", "content": b64("kind: Switch\n"), "committer": { "name": "Ann", "email": "ann@example.com" } }),
    );
    assert_eq!(status, 201, "{body}");
    let commit = body["commit"]["sha"].as_str().unwrap();
    assert_eq!(f.head(), commit);
    assert_eq!(body["commit"]["parents"], json!([]));
    assert_eq!(body["content"]["path"], "fabric/switch-01.yaml");
    assert_eq!(body["content"]["name"], "switch-01.yaml");
    assert_eq!(body["commit"]["author"]["name"], "Ann", "author defaults to the committer");
    assert_eq!(f.git(&["log", "--format=%an <%ae>|%cn|%s", "main"]).trim(), "Ann <ann@example.com>|Ann|first");
    assert_eq!(f.git(&["show", "main:fabric/switch-01.yaml"]), "kind: Switch\n");
    assert_eq!(body["content"]["sha"].as_str().unwrap(), f.git(&["rev-parse", "main:fabric/switch-01.yaml"]).trim());
    f.fsck();
    // Now Git Data works.
    let (status, r) = f.get("/git/ref/heads/main");
    assert_eq!((status, r["object"]["sha"].as_str()), (200, Some(commit)));
}
