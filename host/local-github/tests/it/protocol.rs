//! Request handling shared by all operations: authentication, routing, error bodies,
//! headers, and answers to hostile or garbled input.

use fgd_sync_local_github::{ApiRequest, Options};
use serde_json::json;

use crate::support::*;

#[test]
fn token_is_required_when_configured() {
    let f = Fixture::with(Options { token: Some("s3cret".into()), ..Options::default() });
    let mut r = req("GET", "", None);
    let resp = f.gh.handle(&r);
    assert_eq!((resp.status, message(&resp.json())), (401, "Requires authentication"));
    r.headers.push(("Authorization".into(), "Bearer wrong".into()));
    let resp = f.gh.handle(&r);
    assert_eq!((resp.status, message(&resp.json())), (401, "Bad credentials"));
    for good in ["Bearer s3cret", "token s3cret", "bearer s3cret"] {
        r.headers = vec![("authorization".into(), good.into())];
        assert_eq!(f.gh.handle(&r).status, 200, "{good}");
    }
}

#[test]
fn errors_headers_and_routing() {
    let f = Fixture::seeded(&[("a.yaml", "1")]);
    let resp = f.gh.handle(&ApiRequest {
        method: "POST".into(),
        path_and_query: "/repos/acme/fabric/git/blobs".into(),
        headers: vec![],
        body: b"{oops".to_vec(),
    });
    assert_eq!((resp.status, message(&resp.json())), (400, "Problems parsing JSON"));
    assert_eq!(resp.header("content-type"), Some("application/json; charset=utf-8"));
    for name in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-used",
        "x-ratelimit-reset",
        "x-ratelimit-resource",
        "x-github-api-version-selected",
    ] {
        assert!(resp.header(name).is_some(), "{name}");
    }
    assert_eq!(resp.header("x-ratelimit-resource"), Some("core"));
    let used: u64 = resp.header("x-ratelimit-used").unwrap().parse().unwrap();
    let second = f.request("GET", "", None);
    assert_eq!(second.header("x-ratelimit-used").unwrap().parse::<u64>().unwrap(), used + 1);

    for (method, path) in [
        ("GET", "/repos/other/fabric"),
        ("GET", "/repos/acme/other/git/ref/heads/main"),
        ("GET", "/repos/acme/fabric/pulls"),
        ("POST", "/repos/acme/fabric/git/ref/heads/main"),
        ("PUT", "/repos/acme/fabric/git/blobs"),
        ("GET", "/user"),
    ] {
        let resp =
            f.gh.handle(&ApiRequest { method: method.into(), path_and_query: path.into(), ..Default::default() });
        assert_eq!((resp.status, message(&resp.json())), (404, "Not Found"), "{method} {path}");
    }
    // Owner and repository names are not case sensitive.
    let resp = f.gh.handle(&ApiRequest {
        method: "GET".into(),
        path_and_query: "/repos/ACME/Fabric/git/ref/heads/main".into(),
        ..Default::default()
    });
    assert_eq!(resp.status, 200);
}

#[test]
fn hostile_input_never_panics_nor_reaches_git_as_options() {
    let f = Fixture::seeded(&[("a.yaml", "1")]);
    let head = f.head();
    let paths = [
        "/repos/acme/fabric/git/ref/heads/--output=x",
        "/repos/acme/fabric/git/trees/--help",
        "/repos/acme/fabric/git/trees/main%00x",
        "/repos/acme/fabric/git/trees/main:a.yaml",
        "/repos/acme/fabric/git/trees/HEAD~1",
        "/repos/acme/fabric/git/blobs/%ff%fe",
        "/repos/acme/fabric/contents/%2e%2e/x",
        "/repos/acme/fabric/contents/a.yaml?ref=--upload-pack=touch%20x",
        "/repos/acme/fabric/contents/a.yaml?ref=main@{1}",
        "/repos/acme/fabric/contents/*",
        "/repos/acme/fabric/contents/:(glob)**",
        "/repos/acme/fabric/git/commits/",
        "/repos/acme/fabric//git/ref/heads/main",
        "",
        "?",
        "/repos",
    ];
    for p in paths {
        let resp = f.gh.handle(&ApiRequest { method: "GET".into(), path_and_query: p.into(), ..Default::default() });
        assert!(matches!(resp.status, 404 | 422), "{p}: {} {}", resp.status, String::from_utf8_lossy(&resp.body));
    }
    let bodies = [
        ("POST", "/git/trees", json!({ "tree": "x" })),
        ("POST", "/git/trees", json!({ "tree": [{ "path": 5 }] })),
        ("POST", "/git/trees", json!({ "base_tree": 7, "tree": [] })),
        ("POST", "/git/commits", json!({ "message": "m", "tree": "-p", "parents": "x" })),
        ("POST", "/git/commits", json!({ "message": "m", "tree": head, "author": { "name": "a<b>", "email": "e" } })),
        (
            "POST",
            "/git/commits",
            json!({ "message": "m", "tree": head, "author": { "name": "a", "email": "e", "date": "yesterday" } }),
        ),
        ("POST", "/git/blobs", json!({ "content": "x", "encoding": "latin1" })),
        ("POST", "/git/blobs", json!({ "content": ["x"] })),
        ("POST", "/git/refs", json!({ "ref": "refs/heads/x y", "sha": head })),
        ("PATCH", "/git/refs/heads/main", json!({ "sha": head, "force": "yes" })),
        ("PUT", "/contents/a.yaml", json!({ "message": "m", "content": b64("x"), "sha": 1 })),
        ("PUT", "/contents/b.yaml", json!({ "message": "m", "content": b64("x"), "branch": "--force" })),
        ("PUT", "/contents/b.yaml", json!({ "message": "m", "content": b64("x"), "committer": { "name": "n" } })),
    ];
    for (method, rel, body) in bodies {
        let (status, answer) = f.call(method, rel, body.clone());
        assert!(matches!(status, 404 | 409 | 422), "{method} {rel} {body}: {status} {answer}");
        message(&answer);
    }
    assert_eq!(f.head(), head, "nothing was written");
    f.fsck();
}
