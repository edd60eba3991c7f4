//! The Contents API: one commit per write, `sha` checks with GitHub's texts.

use serde_json::json;

use crate::git_data::assert_wrapped_at_60;
use crate::support::*;

#[test]
fn get_file_and_directory() {
    let big: String = "0123456789".repeat(100);
    let f = Fixture::seeded(&[("fabric/a.yaml", &big), ("fabric/sub/b.yaml", "b"), ("top.md", "t")]);
    let (status, file) = f.get("/contents/fabric/a.yaml");
    assert_eq!(status, 200);
    assert_eq!(
        (file["type"].as_str(), file["encoding"].as_str(), file["size"].as_u64()),
        (Some("file"), Some("base64"), Some(1000))
    );
    assert_eq!(file["sha"].as_str().unwrap(), f.git(&["rev-parse", "main:fabric/a.yaml"]).trim());
    assert_eq!(unb64(&file["content"]), big.as_bytes());
    assert_wrapped_at_60(file["content"].as_str().unwrap());
    assert_eq!(file["url"], "http://127.0.0.1:9/repos/acme/fabric/contents/fabric/a.yaml?ref=main");

    let (status, dir) = f.get("/contents/fabric");
    assert_eq!(status, 200);
    let entries: Vec<(&str, &str)> =
        dir.as_array().unwrap().iter().map(|e| (e["path"].as_str().unwrap(), e["type"].as_str().unwrap())).collect();
    assert_eq!(entries, [("fabric/a.yaml", "file"), ("fabric/sub", "dir")]);
    let (status, root) = f.get("/contents/");
    assert_eq!((status, root.as_array().map(Vec::len)), (200, Some(2)));

    // `ref` by branch, by commit sha; unknown refs and paths.
    let first = f.git(&["rev-list", "--max-parents=0", "main"]).trim().to_string();
    let (status, _) = f.get(&format!("/contents/fabric/a.yaml?ref={first}"));
    assert_eq!(status, 200);
    let (status, body) = f.get(&format!("/contents/top.md?ref={first}"));
    assert_eq!((status, message(&body)), (404, "Not Found"), "not there yet in the first commit");
    let (status, body) = f.get("/contents/top.md?ref=nope");
    assert_eq!((status, message(&body)), (404, "No commit found for the ref nope"));
    let (status, _) = f.get("/contents/top.md?ref=main");
    assert_eq!(status, 200);
    assert_eq!(f.get("/contents/fabric/../top.md").0, 404);
}

#[test]
fn updating_without_sha_is_422_with_githubs_text() {
    let f = Fixture::seeded(&[("a.yaml", "1")]);
    let (status, body) = f.call("PUT", "/contents/a.yaml", json!({ "message": "m", "content": b64("2") }));
    assert_eq!((status, message(&body)), (422, "Invalid request.\n\n\"sha\" wasn't supplied."));
    let (status, body) = f.call("PUT", "/contents/a.yaml", json!({ "content": b64("2") }));
    assert_eq!((status, message(&body)), (422, "Invalid request.\n\n\"message\" wasn't supplied."));
}

#[test]
fn stale_sha_is_409_and_fresh_sha_updates() {
    let f = Fixture::seeded(&[("a.yaml", "1")]);
    let current = f.git(&["rev-parse", "main:a.yaml"]).trim().to_string();
    let stale = "0123456789abcdef0123456789abcdef01234567";
    let (status, body) =
        f.call("PUT", "/contents/a.yaml", json!({ "message": "m", "content": b64("2"), "sha": stale }));
    assert_eq!((status, message(&body)), (409, format!("a.yaml does not match {stale}").as_str()));

    let before = f.head();
    let (status, body) = f.call(
        "PUT",
        "/contents/a.yaml",
        json!({ "message": "update", "content": b64("2"), "sha": current, "branch": "main" }),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["commit"]["parents"][0]["sha"], before);
    assert_eq!(f.git(&["show", "main:a.yaml"]), "2");
}

#[test]
fn identical_content_still_commits() {
    let f = Fixture::seeded(&[("a.yaml", "same")]);
    let sha = f.git(&["rev-parse", "main:a.yaml"]).trim().to_string();
    let before = f.head();
    let (status, body) =
        f.call("PUT", "/contents/a.yaml", json!({ "message": "again", "content": b64("same"), "sha": sha }));
    assert_eq!((status, body["content"]["sha"].as_str()), (200, Some(sha.as_str())));
    assert_ne!(f.head(), before);
    assert_eq!(f.git(&["rev-list", "--count", "main"]).trim(), "2");
}

#[test]
fn delete_file() {
    let f = Fixture::seeded(&[("a.yaml", "1"), ("dir/b.yaml", "2")]);
    let sha = f.git(&["rev-parse", "main:dir/b.yaml"]).trim().to_string();
    let (status, body) = f.call("DELETE", "/contents/dir/b.yaml", json!({ "message": "rm" }));
    assert_eq!((status, message(&body)), (422, "Invalid request.\n\n\"sha\" wasn't supplied."));
    let (status, body) = f.call(
        "DELETE",
        "/contents/dir/b.yaml",
        json!({ "message": "rm", "sha": "0123456789abcdef0123456789abcdef01234567" }),
    );
    assert_eq!(status, 409, "{body}");
    let (status, body) = f.call("DELETE", "/contents/dir/zz.yaml", json!({ "message": "rm", "sha": sha }));
    assert_eq!((status, message(&body)), (404, "Not Found"));
    let (status, body) =
        f.call("DELETE", "/contents/dir/b.yaml", json!({ "message": "rm", "sha": sha, "branch": "main" }));
    assert_eq!((status, &body["content"]), (200, &serde_json::Value::Null), "{body}");
    assert_eq!(f.files("main"), ["a.yaml"]);
    assert_eq!(f.git(&["log", "-1", "--format=%s", "main"]).trim(), "rm");
    f.fsck();
}

#[test]
fn writes_to_other_branches() {
    let f = Fixture::seeded(&[("a.yaml", "1")]);
    let (status, body) =
        f.call("PUT", "/contents/b.yaml", json!({ "message": "m", "content": b64("x"), "branch": "nope" }));
    assert_eq!((status, message(&body)), (404, "Branch nope not found"));
    let head = f.head();
    let (status, _) = f.call("POST", "/git/refs", json!({ "ref": "refs/heads/feature", "sha": head }));
    assert_eq!(status, 201);
    let (status, _) =
        f.call("PUT", "/contents/b.yaml", json!({ "message": "m", "content": b64("x"), "branch": "feature" }));
    assert_eq!(status, 201);
    assert_eq!(f.head(), head, "main untouched");
    assert_eq!(f.files("feature"), ["a.yaml", "b.yaml"]);
    let (status, file) = f.get("/contents/b.yaml?ref=feature");
    assert_eq!((status, file["url"].as_str().map(|u| u.ends_with("?ref=feature"))), (200, Some(true)));
    // Bad base64 and bad paths.
    let (status, _) = f.call("PUT", "/contents/c.yaml", json!({ "message": "m", "content": "!!!" }));
    assert_eq!(status, 422);
    let (status, _) = f.call("PUT", "/contents/a.yaml/x", json!({ "message": "m", "content": b64("x") }));
    assert_eq!(status, 422, "a.yaml is a file");
    let (status, _) = f.call("PUT", "/contents/.git/config", json!({ "message": "m", "content": b64("x") }));
    assert_eq!(status, 422);
}
