//! What a repository holds never decides how large an answer gets (issue 12, item 9): anyone
//! with push access can commit a huge tree, blob or commit message, and the in-process remote
//! would read all of it and hand it to the guest. GitHub's own limits apply instead.

use std::io::Write;
use std::process::{Command, Stdio};

use fgd_sync_local_github::{Options, MAX_TREE_ENTRIES};
use serde_json::json;

use crate::support::{message, Fixture};

/// `git <args>` on the fixture's repository with `stdin` and a private index; stdout trimmed.
fn git_in(f: &Fixture, args: &[&str], stdin: &[u8]) -> String {
    let index = f.git_dir.join("limits-test-index");
    let mut child = Command::new("git")
        .arg("--git-dir")
        .arg(&f.git_dir)
        .args(args)
        .env("GIT_INDEX_FILE", &index)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .envs([
            ("GIT_AUTHOR_NAME", "T"),
            ("GIT_AUTHOR_EMAIL", "t@x"),
            ("GIT_COMMITTER_NAME", "T"),
            ("GIT_COMMITTER_EMAIL", "t@x"),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || pipe.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Commits `entries` (`<mode> <sha>\t<path>` lines) on `main` with plumbing: far faster than
/// the API for a hundred thousand files.
fn commit_index(f: &Fixture, entries: &str, message_text: &str) -> String {
    git_in(f, &["update-index", "--add", "--index-info"], entries.as_bytes());
    let tree = git_in(f, &["write-tree"], b"");
    let commit = git_in(f, &["commit-tree", &tree], message_text.as_bytes());
    git_in(f, &["update-ref", "refs/heads/main", &commit], b"");
    commit
}

#[test]
fn a_huge_tree_is_listed_truncated_within_github_s_limits() {
    let f = Fixture::empty();
    let blob = git_in(&f, &["hash-object", "-w", "--stdin"], b"x\n");
    let entries: String =
        (0..MAX_TREE_ENTRIES + 20_000).map(|i| format!("100644 {blob}\td{}/f{i}\n", i % 100)).collect();
    commit_index(&f, &entries, "many files");

    // GitHub's 7 MB: the body stays under it, and says it is cut short.
    let answer = f.request("GET", "/git/trees/main?recursive=1", None);
    let tree = answer.json();
    assert_eq!((answer.status, tree["truncated"].as_bool()), (200, Some(true)));
    assert!(answer.body.len() <= 7_000_000, "{} bytes", answer.body.len());
    assert!(tree["tree"].as_array().unwrap().len() > 10_000, "as much as fits is listed");

    // Without the byte limit, GitHub's 100,000 entries.
    let mut f = f;
    f.gh = f.reopen_with(Options { max_tree_bytes: 1 << 30, ..f.gh.options().clone() });
    let (status, tree) = f.get("/git/trees/main?recursive=1");
    assert_eq!((status, tree["truncated"].as_bool()), (200, Some(true)));
    assert_eq!(tree["tree"].as_array().unwrap().len(), MAX_TREE_ENTRIES);
    // A small tree is whole.
    let (_, top) = f.get("/git/trees/main");
    assert_eq!((top["truncated"].as_bool(), top["tree"].as_array().unwrap().len()), (Some(false), 100));
}

#[test]
fn a_huge_blob_is_refused_and_a_huge_file_not_read() {
    let f = Fixture::empty();
    // GitHub's 100 MB, plus one byte of zeros (stored compressed: cheap on disk).
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("head -c 100000001 /dev/zero | git --git-dir='{}' hash-object -w --stdin", f.git_dir.display()))
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut sha = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut sha).unwrap();
    assert!(child.wait().unwrap().success());
    let sha = sha.trim();
    let small = git_in(&f, &["hash-object", "-w", "--stdin"], b"small\n");
    commit_index(&f, &format!("100644 {sha}\thuge.bin\n100644 {small}\tsmall.txt\n"), "a huge file");

    let started = std::time::Instant::now();
    let (status, body) = f.call("GET", &format!("/git/blobs/{sha}"), serde_json::Value::Null);
    assert_eq!(status, 403, "{body}");
    assert!(message(&body).contains("too large"), "{body}");
    // Refused from the object's header, not after reading 100 MB.
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
    let (status, file) = f.get("/contents/huge.bin");
    assert_eq!((status, file["encoding"].as_str(), file["content"].as_str()), (200, Some("none"), Some("")));
    assert_eq!(file["size"], json!(100_000_001));
    let (status, blob) = f.get(&format!("/git/blobs/{small}"));
    assert_eq!((status, blob["size"].as_u64()), (200, Some(6)));

    // The limit is the server's to set.
    let mut f = f;
    f.gh = f.reopen_with(Options { max_blob_bytes: 5, ..f.gh.options().clone() });
    let (status, _) = f.get(&format!("/git/blobs/{small}"));
    assert_eq!(status, 403);
}

#[test]
fn a_huge_commit_message_is_not_read() {
    let f = Fixture::seeded(&[("a.txt", "a\n")]);
    let tree = f.git(&["rev-parse", "main^{tree}"]).trim().to_string();
    let head = f.head();
    let huge = git_in(&f, &["commit-tree", &tree, "-p", &head], "x".repeat(2 << 20).as_bytes());
    let answer = f.request("GET", &format!("/git/commits/{huge}"), None);
    assert_eq!(answer.status, 500);
    assert!(message(&answer.json()).contains("limit"), "{}", answer.json());
    assert!(answer.body.len() < 4096);
    let (status, _) = f.get(&format!("/git/commits/{head}"));
    assert_eq!(status, 200);
}
