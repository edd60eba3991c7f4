//! The Git Data API: refs, trees, blobs and commits, checked against git itself.

use fgd_sync_local_github::Options;
use serde_json::{json, Value};

use crate::support::*;

fn seeded() -> Fixture {
    Fixture::seeded(&[("README.md", "hello\n"), ("fabric/a.yaml", "a: 1\n"), ("fabric/b.yaml", "b: 1\n")])
}

fn base_tree(f: &Fixture) -> String {
    f.git(&["rev-parse", "main^{tree}"]).trim().to_string()
}

#[test]
fn full_flow_blobs_tree_commit_and_fast_forward() {
    let f = seeded();
    let head = f.head();
    let (status, r) = f.get("/git/ref/heads/main");
    assert_eq!((status, &r["ref"], &r["object"]["type"]), (200, &json!("refs/heads/main"), &json!("commit")));
    assert_eq!(r["object"]["sha"], head);

    let (status, text_blob) = f.call("POST", "/git/blobs", json!({ "content": "c: 1\n", "encoding": "utf-8" }));
    assert_eq!(status, 201);
    let (status, bin_blob) =
        f.call("POST", "/git/blobs", json!({ "content": b64("\u{0}\u{1}binary"), "encoding": "base64" }));
    assert_eq!(status, 201);
    let tree_req = json!({ "base_tree": base_tree(&f), "tree": [
        { "path": "fabric/c.yaml", "mode": "100644", "type": "blob", "sha": text_blob["sha"] },
        { "path": "fabric/deep/er/bin", "mode": "100755", "type": "blob", "sha": bin_blob["sha"] },
        { "path": "fabric/a.yaml", "mode": "100644", "type": "blob", "content": "a: 2\n" },
        { "path": "fabric/b.yaml", "mode": "100644", "type": "blob", "sha": null },
    ]});
    let (status, tree) = f.call("POST", "/git/trees", tree_req);
    assert_eq!(status, 201, "{tree}");
    let top: Vec<&str> = tree["tree"].as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(top, ["README.md", "fabric"], "the answer lists the top level only");

    let (status, commit) = f.call(
        "POST",
        "/git/commits",
        json!({ "message": "sync: 3 changes", "tree": tree["sha"], "parents": [head],
                "author": { "name": "Bot", "email": "bot@example.com", "date": "2024-05-06T07:08:09+02:00" } }),
    );
    assert_eq!(status, 201, "{commit}");
    assert_eq!(commit["author"]["date"], "2024-05-06T05:08:09Z");
    assert_eq!(commit["committer"]["name"], "Bot", "committer defaults to the author");
    assert_eq!(commit["tree"]["sha"], tree["sha"]);
    assert_eq!(f.head(), head, "a commit alone does not move the branch");

    let new = commit["sha"].as_str().unwrap();
    let (status, moved) = f.call("PATCH", "/git/refs/heads/main", json!({ "sha": new, "force": false }));
    assert_eq!((status, moved["object"]["sha"].as_str()), (200, Some(new)));
    assert_eq!(f.head(), new);
    assert_eq!(f.files("main"), ["README.md", "fabric/a.yaml", "fabric/c.yaml", "fabric/deep/er/bin"]);
    assert_eq!(f.git(&["show", "main:fabric/a.yaml"]), "a: 2\n");
    assert_eq!(f.git(&["ls-tree", "main", "fabric/deep/er/bin"]).split(' ').next(), Some("100755"));
    assert_eq!(
        f.git(&["cat-file", "-p", "main"]).lines().find(|l| l.starts_with("author")).unwrap(),
        "author Bot <bot@example.com> 1714972089 +0200"
    );
    assert_eq!(f.git(&["log", "--format=%s", "-1", "main"]).trim(), "sync: 3 changes");
    f.fsck();

    // And it reads back through the API.
    let (status, read) = f.get(&format!("/git/commits/{new}"));
    assert_eq!((status, &read), (200, &commit));
    let (status, listing) = f.get("/git/trees/main?recursive=1");
    assert_eq!(status, 200);
    let all: Vec<(&str, &str)> = listing["tree"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["path"].as_str().unwrap(), e["type"].as_str().unwrap()))
        .collect();
    assert_eq!(
        all,
        [
            ("README.md", "blob"),
            ("fabric", "tree"),
            ("fabric/a.yaml", "blob"),
            ("fabric/c.yaml", "blob"),
            ("fabric/deep", "tree"),
            ("fabric/deep/er", "tree"),
            ("fabric/deep/er/bin", "blob")
        ]
    );
    assert_eq!(listing["truncated"], false);
}

#[test]
fn null_sha_deletes_files_and_directories() {
    let f = seeded();
    let tree = json!({ "base_tree": base_tree(&f), "tree": [{ "path": "fabric", "mode": "040000", "type": "tree", "sha": null }] });
    let (status, t) = f.call("POST", "/git/trees", tree);
    assert_eq!(status, 201);
    assert_eq!(f.git(&["ls-tree", "-r", "--name-only", t["sha"].as_str().unwrap()]).trim(), "README.md");
}

#[test]
fn deleting_an_absent_path_is_422() {
    let f = seeded();
    let tree = json!({ "base_tree": base_tree(&f), "tree": [{ "path": "fabric/zzz.yaml", "mode": "100644", "type": "blob", "sha": null }] });
    let (status, body) = f.call("POST", "/git/trees", tree);
    assert_eq!(status, 422);
    assert!(message(&body).contains("fabric/zzz.yaml"), "{body}");
}

#[test]
fn bad_paths_are_422() {
    let f = seeded();
    let cases = [
        ("/fabric/x.yaml", "tree.path cannot start with a slash"),
        ("fabric/../x", "tree.path contains a malformed path component"),
        ("fabric//x", "tree.path contains a malformed path component"),
        ("a/.git/config", "tree.path contains a malformed path component"),
        ("x/", "tree.path contains a malformed path component"),
    ];
    for (path, expected) in cases {
        let tree = json!({ "base_tree": base_tree(&f), "tree": [{ "path": path, "mode": "100644", "type": "blob", "content": "x" }] });
        let (status, body) = f.call("POST", "/git/trees", tree);
        assert_eq!((status, message(&body)), (422, expected), "{path}");
    }
}

#[test]
fn tree_entries_are_validated() {
    let f = seeded();
    let blob = f.git(&["rev-parse", "main:README.md"]).trim().to_string();
    let tree = base_tree(&f);
    let both = "Must supply either tree.sha or tree.content. Request will be rejected if both are present.";
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "path": "a", "mode": "100644", "type": "blob", "sha": blob, "content": "x" }), both),
        (json!({ "path": "a", "mode": "100644", "type": "blob" }), both),
        (json!({ "path": "a", "mode": "100600", "type": "blob", "sha": blob }), "mode"),
        (json!({ "path": "a", "mode": "100644", "type": "tree", "sha": blob }), "does not match"),
        (json!({ "path": "a", "mode": "040000", "type": "tree", "sha": blob }), "is not a valid tree"),
        (json!({ "path": "a", "mode": "100644", "type": "blob", "sha": tree }), "is not a valid blob"),
        (
            json!({ "path": "a", "mode": "100644", "type": "blob", "sha": "0123456789012345678901234567890123456789" }),
            "is not a valid blob",
        ),
        (json!({ "path": "a", "mode": "100644", "type": "blob", "sha": "--upload-pack=x" }), "is not a valid blob"),
        (json!({ "mode": "100644", "type": "blob", "content": "x" }), "\"path\" wasn't supplied"),
        (json!("a"), "is not an object"),
    ];
    for (entry, expected) in cases {
        let (status, body) = f.call("POST", "/git/trees", json!({ "base_tree": tree, "tree": [entry.clone()] }));
        assert_eq!(status, 422, "{entry}: {body}");
        assert!(message(&body).contains(expected), "{entry}: {body}");
    }
    let (status, body) = f.call("POST", "/git/trees", json!({ "base_tree": blob, "tree": [] }));
    assert_eq!((status, message(&body)), (422, "base_tree is not a valid tree oid"));
    // A whole subtree by sha, under a new name.
    let fabric = f.git(&["rev-parse", "main:fabric"]).trim().to_string();
    let (status, t) = f.call(
        "POST",
        "/git/trees",
        json!({ "base_tree": tree, "tree": [{ "path": "copy/of", "mode": "040000", "type": "tree", "sha": fabric }] }),
    );
    assert_eq!(status, 201, "{t}");
    let names = f.files(t["sha"].as_str().unwrap());
    assert_eq!(names, ["README.md", "copy/of/a.yaml", "copy/of/b.yaml", "fabric/a.yaml", "fabric/b.yaml"]);
}

#[test]
fn without_base_tree_only_listed_files_exist() {
    let f = seeded();
    let (status, t) = f.call(
        "POST",
        "/git/trees",
        json!({ "tree": [{ "path": "only/one.yaml", "mode": "100644", "type": "blob", "content": "1" }] }),
    );
    assert_eq!(status, 201);
    assert_eq!(f.files(t["sha"].as_str().unwrap()), ["only/one.yaml"]);
}

#[test]
fn non_fast_forward_is_422_unless_forced() {
    let f = seeded();
    let old = f.git(&["rev-parse", "main~1"]).trim().to_string();
    let head = f.head();
    let (status, body) = f.call("PATCH", "/git/refs/heads/main", json!({ "sha": old }));
    assert_eq!((status, message(&body)), (422, "Update is not a fast forward"));
    assert_eq!(f.head(), head);
    // A sibling of the head is not a fast forward either.
    let sibling = f.git(&["commit-tree", "-p", &old, "-m", "sibling", &format!("{old}^{{tree}}")]).trim().to_string();
    let (status, _) = f.call("PATCH", "/git/refs/heads/main", json!({ "sha": sibling, "force": false }));
    assert_eq!(status, 422);
    let (status, body) = f.call("PATCH", "/git/refs/heads/main", json!({ "sha": sibling, "force": true }));
    assert_eq!((status, body["object"]["sha"].as_str()), (200, Some(sibling.as_str())));
    assert_eq!(f.head(), sibling);
    // Same sha again: nothing to do, 200.
    let (status, _) = f.call("PATCH", "/git/refs/heads/main", json!({ "sha": sibling }));
    assert_eq!(status, 200);
    f.fsck();
}

#[test]
fn ref_errors() {
    let f = seeded();
    let head = f.head();
    let missing = "0123456789abcdef0123456789abcdef01234567";
    let (status, body) = f.call("PATCH", "/git/refs/heads/main", json!({ "sha": missing }));
    assert_eq!((status, message(&body)), (422, "Object does not exist"));
    let (status, body) = f.call("PATCH", "/git/refs/heads/nope", json!({ "sha": head }));
    assert_eq!((status, message(&body)), (422, "Reference does not exist"));
    let (status, body) = f.call("PATCH", "/git/refs/heads/main", json!({}));
    assert_eq!((status, message(&body)), (422, "Invalid request.\n\n\"sha\" wasn't supplied."));
    let (status, _) = f.get("/git/ref/heads/nope");
    assert_eq!(status, 404);

    let (status, created) = f.call("POST", "/git/refs", json!({ "ref": "refs/heads/fgd-sync/x", "sha": head }));
    assert_eq!((status, created["ref"].as_str()), (201, Some("refs/heads/fgd-sync/x")));
    let (status, body) = f.call("POST", "/git/refs", json!({ "ref": "refs/heads/fgd-sync/x", "sha": head }));
    assert_eq!((status, message(&body)), (422, "Reference already exists"));
    for bad in ["heads/x", "refs/x", "refs/heads/a..b", "refs/heads/-x"] {
        let (status, _) = f.call("POST", "/git/refs", json!({ "ref": bad, "sha": head }));
        assert_eq!(status, 422, "{bad}");
    }
    let (status, body) = f.call("POST", "/git/refs", json!({ "ref": "refs/heads/y", "sha": missing }));
    assert_eq!((status, message(&body)), (422, "Object does not exist"));
    let resp = f.request("DELETE", "/git/refs/heads/fgd-sync/x", None);
    assert_eq!((resp.status, resp.body.len()), (204, 0));
    assert_eq!(f.git(&["for-each-ref", "--format=%(refname)"]).trim(), "refs/heads/main");
}

#[test]
fn truncated_recursive_trees() {
    let options = Options { truncate_tree_after: Some(3), ..Options::default() };
    let f = Fixture::with(options);
    for p in ["a/1", "a/2", "b/1"] {
        let (s, _) = f.call("PUT", &format!("/contents/{p}"), json!({ "message": "m", "content": b64("x") }));
        assert!(s == 201);
    }
    let (status, t) = f.get("/git/trees/main?recursive=1");
    assert_eq!(status, 200);
    assert_eq!((t["truncated"].as_bool(), t["tree"].as_array().unwrap().len()), (Some(true), 3));
    // The remedy GitHub documents: walk subtrees without `recursive`.
    let (_, top) = f.get("/git/trees/main");
    assert_eq!((top["truncated"].as_bool(), top["tree"].as_array().unwrap().len()), (Some(false), 2));
}

#[test]
fn blob_shas_are_git_hash_object() {
    let f = seeded();
    let (status, blob) = f.call("POST", "/git/blobs", json!({ "content": "Test content" }));
    assert_eq!((status, blob["sha"].as_str()), (201, Some("3f3f005b29247e51a4f4d6b8ce07b67646cd6074")));
    let text: String = (0..500).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    let (_, blob) = f.call("POST", "/git/blobs", json!({ "content": text }));
    let sha = blob["sha"].as_str().unwrap();
    let out = std::process::Command::new("git")
        .args(["hash-object", "--stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut out.stdin.as_ref().unwrap(), text.as_bytes()).unwrap();
    assert_eq!(String::from_utf8(out.wait_with_output().unwrap().stdout).unwrap().trim(), sha);

    let (status, read) = f.get(&format!("/git/blobs/{sha}"));
    assert_eq!((status, read["size"].as_u64(), read["encoding"].as_str()), (200, Some(500), Some("base64")));
    assert_eq!(unb64(&read["content"]), text.as_bytes());
    assert_wrapped_at_60(read["content"].as_str().unwrap());
}

/// Every line but the last is exactly 60 characters; every line ends with `\n`.
pub fn assert_wrapped_at_60(s: &str) {
    assert!(s.ends_with('\n'), "{s:?}");
    let lines: Vec<&str> = s.split_terminator('\n').collect();
    let (last, full) = lines.split_last().unwrap();
    assert!(full.iter().all(|l| l.len() == 60), "{lines:?}");
    assert!(!last.is_empty() && last.len() <= 60);
}

#[test]
fn unknown_objects_are_404_and_bad_ids_422() {
    let f = seeded();
    let missing = "0123456789abcdef0123456789abcdef01234567";
    for rel in [
        format!("/git/blobs/{missing}"),
        format!("/git/commits/{missing}"),
        format!("/git/trees/{missing}"),
        "/git/trees/nope".into(),
    ] {
        let (status, body) = f.get(&rel);
        assert_eq!((status, message(&body)), (404, "Not Found"), "{rel}");
    }
    // A tree is not a blob, a blob is not a commit.
    let tree = f.git(&["rev-parse", "main^{tree}"]).trim().to_string();
    assert_eq!(f.get(&format!("/git/blobs/{tree}")).0, 404);
    // A commit sha names its tree.
    let (status, t) = f.get(&format!("/git/trees/{}", f.head()));
    assert_eq!((status, t["sha"].as_str()), (200, Some(tree.as_str())));
    assert_eq!(f.get("/git/blobs/abc").0, 422);
}

#[test]
fn commit_validation() {
    let f = seeded();
    let (head, tree) = (f.head(), f.git(&["rev-parse", "main^{tree}"]).trim().to_string());
    let cases = [
        (json!({ "message": "m", "tree": head, "parents": [head] }), "Tree SHA does not exist"),
        (
            json!({ "message": "m", "tree": tree, "parents": [tree] }),
            "Parent SHA does not exist or is not a commit object",
        ),
        (
            json!({ "message": "m", "tree": tree, "parents": ["abc"] }),
            "Each SHA in the 'parents' parameter must be exactly 40 characters and contain only [0-9a-f].",
        ),
        (json!({ "tree": tree }), "Invalid request.\n\n\"message\" wasn't supplied."),
        (json!({ "message": "m", "tree": null }), "Invalid request.\n\nFor 'properties/tree', nil is not a string."),
        (
            json!({ "message": "m", "tree": tree, "author": { "name": "x" } }),
            "Invalid request.\n\n\"email\" wasn't supplied.",
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) = f.call("POST", "/git/commits", body.clone());
        assert_eq!((status, message(&answer)), (422, expected), "{body}");
    }
    // A merge commit and a root commit are fine.
    let older = f.git(&["rev-parse", "main~1"]).trim().to_string();
    let (status, c) =
        f.call("POST", "/git/commits", json!({ "message": "merge", "tree": tree, "parents": [head, older] }));
    assert_eq!((status, c["parents"].as_array().map(Vec::len)), (201, Some(2)));
    let (status, c) = f.call("POST", "/git/commits", json!({ "message": "root", "tree": tree }));
    assert_eq!((status, c["parents"].as_array().map(Vec::len)), (201, Some(0)));
    f.fsck();
}

/// git reads `GIT_AUTHOR_DATE=1 +0000` as an invalid date; early dates must still work.
#[test]
fn regression_early_author_dates() {
    let f = seeded();
    let tree = base_tree(&f);
    let author = json!({ "name": "Old", "email": "old@example.com", "date": "1970-01-01T00:00:01Z" });
    let (status, c) =
        f.call("POST", "/git/commits", json!({ "message": "m", "tree": tree, "parents": [], "author": author }));
    assert_eq!((status, c["author"]["date"].as_str()), (201, Some("1970-01-01T00:00:01Z")), "{c}");
}
