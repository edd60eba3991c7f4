//! Exact request sequences and error paths, against scripted answers: what is retried, what
//! is returned at once, and what each error says.

use std::collections::BTreeMap;

use fgd_sync_guest::blob::blob_sha;
use fgd_sync_guest::engine;
use fgd_sync_guest::github::client::Client;
use fgd_sync_guest::github::requests::Repo;
use fgd_sync_guest::github::HttpRequest;
use fgd_sync_guest::model::{Mode, Selection};
use fgd_sync_guest::model::{SyncError, SyncOptions, SyncReport};

use super::fake::{Clock, BASE, OWNER, REPO};
use super::git::{Git, FILE};
use super::kit::{json, options, target, vpc, with_headers, FakeEnv, MemSource, Scripted, START};

const HEAD: &str = "1111111111111111111111111111111111111111";
const HEAD2: &str = "2222222222222222222222222222222222222222";
const ROOT: &str = "3333333333333333333333333333333333333333";
const TREE: &str = "4444444444444444444444444444444444444444";
const COMMIT: &str = "5555555555555555555555555555555555555555";

fn ref_answer(sha: &str) -> Result<fgd_sync_guest::github::HttpResponse, String> {
    json(
        200,
        &format!(
            r#"{{"ref":"refs/heads/main","node_id":"x","url":"u","object":{{"type":"commit","sha":"{sha}","url":"u"}}}}"#
        ),
    )
}

/// A root tree with one unrelated file and no sync state.
fn tree_answer() -> Result<fgd_sync_guest::github::HttpResponse, String> {
    let readme = blob_sha(b"hi\n");
    json(
        200,
        &format!(
            r#"{{"sha":"{ROOT}","url":"u","truncated":false,"tree":[{{"path":"README.md","mode":"100644","type":"blob","sha":"{readme}","size":3}}]}}"#
        ),
    )
}

fn sha_answer(status: u16, sha: &str) -> Result<fgd_sync_guest::github::HttpResponse, String> {
    json(status, &format!(r#"{{"sha":"{sha}","url":"u"}}"#))
}

/// Answers `POST git/trees` as GitHub does: with the SHA of the tree that `tree_answer`'s file
/// and the request's writes make, hashed by the fake's Git (the engine checks it).
fn created_tree(request: &HttpRequest) -> Result<fgd_sync_guest::github::HttpResponse, String> {
    let body: serde_json::Value = serde_json::from_slice(request.body.as_deref().unwrap_or_default()).unwrap();
    let mut files = BTreeMap::from([("README.md".to_string(), (FILE.to_string(), blob_sha(b"hi\n")))]);
    for entry in body["tree"].as_array().unwrap() {
        let path = entry["path"].as_str().unwrap().to_string();
        match entry["content"].as_str() {
            Some(text) => files.insert(path, (entry["mode"].as_str().unwrap().to_string(), blob_sha(text.as_bytes()))),
            None => files.remove(&path),
        };
    }
    sha_answer(201, &Git::default().build(&files))
}

fn error_answer(status: u16, message: &str) -> Result<fgd_sync_guest::github::HttpResponse, String> {
    json(status, &serde_json::json!({"message": message, "documentation_url": "https://docs.github.com"}).to_string())
}

fn run(script: &mut Scripted, env: &mut FakeEnv, options: &SyncOptions) -> Result<SyncReport, SyncError> {
    let mut source = MemSource::new(vec![vpc("vpc-1", 1001)]);
    engine::run("dc1", Mode::Sync, &Selection::Fabric, &target(), options, script, &mut source, env)
}

/// The text of a Contents-API `content` (base64).
fn body_content(body: &serde_json::Value) -> String {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD.decode(body["content"].as_str().unwrap_or_default());
    String::from_utf8(bytes.unwrap_or_default()).unwrap_or_default()
}

fn env() -> FakeEnv {
    FakeEnv::new(Clock::at_secs(START))
}

fn remote(e: SyncError) -> fgd_sync_guest::model::RemoteError {
    match e {
        SyncError::Remote(r) => r,
        other => panic!("expected a remote error, got {other:?}"),
    }
}

const REF: &str = "GET /git/ref/heads/main";

fn tree_call(sha: &str) -> String {
    format!("GET /git/trees/{sha}?recursive=1")
}

#[test]
fn the_normal_sequence_against_a_repository_without_state() {
    let mut script = Scripted::new()
        .expect(REF, ref_answer(HEAD))
        .expect(&tree_call(HEAD), tree_answer())
        .expect_computed("POST /git/trees", created_tree)
        .expect("POST /git/commits", sha_answer(201, COMMIT))
        .expect("PATCH /git/refs/heads/main", ref_answer(COMMIT));
    let report = run(&mut script, &mut env(), &options()).unwrap();
    script.assert_done();
    assert_eq!((report.base_commit.as_deref(), report.commit.as_deref()), (Some(HEAD), Some(COMMIT)));
    let bodies: Vec<serde_json::Value> =
        script.log.iter().filter_map(|r| r.body.as_ref()).map(|b| serde_json::from_slice(b).unwrap()).collect();
    assert_eq!(bodies[0]["base_tree"], ROOT, "the tree's own SHA, not the commit's");
    let paths: Vec<&str> = bodies[0]["tree"].as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["fabrics/dc1/.hnp/sync-state.json", "fabrics/dc1/managed/vpcs/vpc-1.yaml"]);
    assert_eq!(bodies[1]["parents"], serde_json::json!([HEAD]));
    let created: serde_json::Value = serde_json::from_slice(&created_tree(&script.log[2]).unwrap().body).unwrap();
    assert_eq!(bodies[1]["tree"], created["sha"]);
    assert_eq!(bodies[2], serde_json::json!({"sha": COMMIT, "force": false}));
}

#[test]
fn malformed_json_is_an_error_naming_method_and_url() {
    let mut script = Scripted::new().expect(REF, json(200, "{\"object\": {\"sha\": "));
    let e = remote(run(&mut script, &mut env(), &options()).unwrap_err());
    let prefix = format!("malformed JSON from GitHub GET {BASE}/repos/{OWNER}/{REPO}/git/ref/heads/main: ");
    assert!(e.message.starts_with(&prefix), "{}", e.message);
    let mut script = Scripted::new().expect(REF, ref_answer(HEAD)).expect(&tree_call(HEAD), json(200, "<html>"));
    let e = remote(run(&mut script, &mut env(), &options()).unwrap_err());
    assert!(e.message.starts_with("malformed JSON from GitHub GET "), "{}", e.message);
}

#[test]
fn a_plain_403_or_422_is_returned_at_once() {
    let mut script = Scripted::new().expect(REF, error_answer(403, "Resource not accessible by integration"));
    let mut e = env();
    let err = remote(run(&mut script, &mut e, &options()).unwrap_err());
    assert_eq!((err.status, err.message.as_str()), (403, "Resource not accessible by integration"));
    assert!(e.sleeps.is_empty());

    let mut script = Scripted::new()
        .expect(REF, ref_answer(HEAD))
        .expect(&tree_call(HEAD), tree_answer())
        .expect("POST /git/trees", error_answer(422, "GitRPC::BadObjectState"));
    let err = remote(run(&mut script, &mut env(), &options()).unwrap_err());
    assert_eq!((err.method.as_str(), err.status), ("POST", 422));
    script.assert_done();
}

#[test]
fn a_409_on_the_ref_update_is_a_lost_race() {
    let mut script = Scripted::new()
        .expect(REF, ref_answer(HEAD))
        .expect(&tree_call(HEAD), tree_answer())
        .expect_computed("POST /git/trees", created_tree)
        .expect("POST /git/commits", sha_answer(201, COMMIT))
        .expect("PATCH /git/refs/heads/main", error_answer(409, "Reference cannot be updated"))
        .expect(&compare_call(), compare_answer("diverged"))
        .expect(REF, ref_answer(HEAD2))
        .expect(&tree_call(HEAD2), tree_answer())
        .expect_computed("POST /git/trees", created_tree)
        .expect("POST /git/commits", sha_answer(201, COMMIT))
        .expect("PATCH /git/refs/heads/main", ref_answer(COMMIT));
    let report = run(&mut script, &mut env(), &options()).unwrap();
    script.assert_done();
    assert_eq!((report.attempts, report.requests, report.base_commit.as_deref()), (2, 11, Some(HEAD2)));

    // Any other 422 on the ref is an error, not a race.
    let mut script = Scripted::new()
        .expect(REF, ref_answer(HEAD))
        .expect(&tree_call(HEAD), tree_answer())
        .expect_computed("POST /git/trees", created_tree)
        .expect("POST /git/commits", sha_answer(201, COMMIT))
        .expect("PATCH /git/refs/heads/main", error_answer(422, "Reference does not exist"));
    let err = remote(run(&mut script, &mut env(), &options()).unwrap_err());
    assert_eq!((err.status, err.message.as_str()), (422, "Reference does not exist"));
}

#[test]
fn a_single_attempt_that_loses_is_too_many_races() {
    let mut script = Scripted::new()
        .expect(REF, ref_answer(HEAD))
        .expect(&tree_call(HEAD), tree_answer())
        .expect_computed("POST /git/trees", created_tree)
        .expect("POST /git/commits", sha_answer(201, COMMIT))
        .expect("PATCH /git/refs/heads/main", error_answer(422, "Update is not a fast forward"))
        .expect(&compare_call(), compare_answer("behind"));
    let once = SyncOptions { max_attempts: 1, ..options() };
    assert_eq!(run(&mut script, &mut env(), &once).unwrap_err(), SyncError::TooManyRaces(1));
}

fn compare_call() -> String {
    format!("GET /compare/{COMMIT}...main")
}

fn compare_answer(status: &str) -> Result<fgd_sync_guest::github::HttpResponse, String> {
    json(200, &format!(r#"{{"status":"{status}","ahead_by":1,"behind_by":0,"total_commits":1}}"#))
}

/// Up to the commit, as in `the_normal_sequence_against_a_repository_without_state`.
fn up_to_the_commit() -> Scripted {
    Scripted::new()
        .expect(REF, ref_answer(HEAD))
        .expect(&tree_call(HEAD), tree_answer())
        .expect_computed("POST /git/trees", created_tree)
        .expect("POST /git/commits", sha_answer(201, COMMIT))
}

/// "Not a fast forward" because the branch already holds our commit (a retried PATCH whose
/// first answer was lost, then another writer on top): it landed; no re-plan.
#[test]
fn a_refused_update_whose_commit_is_in_the_branch_has_landed() {
    for status in ["ahead", "identical"] {
        let mut script = up_to_the_commit()
            .expect("PATCH /git/refs/heads/main", error_answer(422, "Update is not a fast forward"))
            .expect(&compare_call(), compare_answer(status));
        let report = run(&mut script, &mut env(), &options()).unwrap();
        script.assert_done();
        assert_eq!((report.attempts, report.commit.as_deref()), (1, Some(COMMIT)), "{status}");
    }
    // Every answer to the PATCH lost: the compare API tells; an unknown commit is a 404.
    let mut script = up_to_the_commit();
    for _ in 0..4 {
        script = script.expect("PATCH /git/refs/heads/main", Err("connection reset".into()));
    }
    let mut script = script.expect(&compare_call(), compare_answer("identical"));
    let report = run(&mut script, &mut env(), &options()).unwrap();
    assert_eq!((report.commit.as_deref(), report.requests), (Some(COMMIT), 9));
    let mut script = up_to_the_commit();
    for _ in 0..4 {
        script = script.expect("PATCH /git/refs/heads/main", Err("connection reset".into()));
    }
    let mut script = script.expect(&compare_call(), error_answer(404, "Not Found"));
    assert!(matches!(run(&mut script, &mut env(), &options()), Err(SyncError::Transport(_))));
}

/// Branch protection and rulesets refuse with 409/422: one attempt, no re-plan.
#[test]
fn a_rule_violation_is_branch_protected_not_a_race() {
    let answers = [
        (422, "Repository rule violations found\n\nChanges must be made through a pull request.\n\n"),
        (409, "Protected branch update failed for refs/heads/main."),
        (422, "GH013: Repository rule violations found for refs/heads/main."),
    ];
    for (status, message) in answers {
        let mut script = up_to_the_commit().expect("PATCH /git/refs/heads/main", error_answer(status, message));
        let mut e = env();
        let err = run(&mut script, &mut e, &options()).unwrap_err();
        script.assert_done();
        match err {
            SyncError::BranchProtected(r) => assert_eq!((r.status, r.method.as_str()), (status, "PATCH")),
            other => panic!("{other:?}"),
        }
        assert!(e.sleeps.is_empty(), "not retried");
    }
}

#[test]
fn server_errors_give_up_after_four_tries() {
    let mut script = Scripted::new();
    for _ in 0..4 {
        script = script.expect(REF, error_answer(502, "Server Error"));
    }
    let mut e = env();
    let err = remote(run(&mut script, &mut e, &options()).unwrap_err());
    assert_eq!(err.status, 502);
    assert_eq!(err.message, "Server Error (gave up after 4 tries)");
    assert_eq!(e.sleeps.len(), 3);
    // A 408 is retried like a 5xx.
    let mut script = Scripted::new()
        .expect(REF, error_answer(408, "Timeout"))
        .expect(REF, ref_answer(HEAD))
        .expect(&tree_call(HEAD), tree_answer())
        .expect_computed("POST /git/trees", created_tree)
        .expect("POST /git/commits", sha_answer(201, COMMIT))
        .expect("PATCH /git/refs/heads/main", ref_answer(COMMIT));
    assert_eq!(run(&mut script, &mut env(), &options()).unwrap().requests, 6);
}

#[test]
fn a_429_with_an_exhausted_primary_limit_waits_for_the_reset() {
    let limited = with_headers(
        429,
        &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", &(START + 5).to_string())],
        r#"{"message":"API rate limit exceeded"}"#,
    );
    let mut script = Scripted::new().expect(REF, Ok(limited)).expect(REF, error_answer(404, "Not Found"));
    let mut e = env();
    assert_eq!(run(&mut script, &mut e, &options()).unwrap_err(), SyncError::BranchNotFound("main".into()));
    assert_eq!(e.sleeps, [6_000]);
}

#[test]
fn an_empty_repository_gets_its_first_commit_through_the_contents_api() {
    let empty = || error_answer(409, "Git Repository is empty.");
    let put = "PUT /contents/fabrics/dc1/.hnp/sync-state.json";
    let created = json(201, &format!(r#"{{"content":{{"sha":"{TREE}"}},"commit":{{"sha":"{HEAD}"}}}}"#));
    let mut script = Scripted::new()
        .expect(REF, empty())
        .expect(put, created)
        .expect(REF, ref_answer(HEAD))
        .expect(&tree_call(HEAD), tree_answer())
        .expect_computed("POST /git/trees", created_tree)
        .expect("POST /git/commits", sha_answer(201, COMMIT))
        .expect("PATCH /git/refs/heads/main", ref_answer(COMMIT));
    let report = run(&mut script, &mut env(), &options()).unwrap();
    script.assert_done();
    assert_eq!((report.attempts, report.requests), (1, 7), "initializing is not an attempt");
    let body: serde_json::Value = serde_json::from_slice(script.log[1].body.as_ref().unwrap()).unwrap();
    let message = body["message"].as_str().unwrap_or_default();
    let state = blob_sha(body_content(&body).as_bytes());
    assert_eq!(message, format!("[hnp] Initialize fgd-sync state\n\nFgd-Sync-State: {state}\n"));
    assert_eq!(body["branch"], "main");
    assert_eq!(body["committer"], serde_json::json!({"name": "HNP Sync", "email": "hnp@example.com"}));

    // Refused, and still empty on the re-read: the refusal is the error.
    let mut script = Scripted::new()
        .expect(REF, empty())
        .expect(put, error_answer(422, "Invalid request.\n\n\"sha\" wasn't supplied."))
        .expect(REF, empty());
    let err = remote(run(&mut script, &mut env(), &options()).unwrap_err());
    assert_eq!((err.method.as_str(), err.status), ("PUT", 422));
}

#[test]
fn a_missing_state_blob_is_a_remote_error() {
    let state = blob_sha(b"{}\n");
    let tree = format!(
        r#"{{"sha":"{ROOT}","truncated":false,"tree":[{{"path":"fabrics/dc1/.hnp/sync-state.json","mode":"100644","type":"blob","sha":"{state}"}}]}}"#
    );
    let mut script = Scripted::new()
        .expect(REF, ref_answer(HEAD))
        .expect(&tree_call(HEAD), json(200, &tree))
        .expect(&format!("GET /git/blobs/{state}"), error_answer(404, "Not Found"));
    let err = remote(run(&mut script, &mut env(), &options()).unwrap_err());
    assert_eq!((err.status, err.url), (404, format!("{BASE}/repos/{OWNER}/{REPO}/git/blobs/{state}")));
}

#[test]
fn the_client_counts_every_try() {
    let mut script = Scripted::new()
        .expect(REF, Err("connection reset".into()))
        .expect(REF, error_answer(500, "oops"))
        .expect(REF, ref_answer(HEAD));
    let mut e = env();
    let repo = Repo::new(BASE, OWNER, REPO, "main").unwrap();
    let mut client = Client::new(&mut script, &mut e, 60);
    let response = client.send(&repo.get_ref()).unwrap();
    assert_eq!((response.status, client.requests()), (200, 3));
}

#[test]
fn a_truncated_root_listing_is_walked_when_the_directory_is_the_root() {
    let (a, b) = ("6666666666666666666666666666666666666666", "7777777777777777777777777777777777777777");
    let state = blob_sha(b"x");
    let entry = |path: &str, kind: &str, sha: &str| {
        format!(r#"{{"path":"{path}","mode":"100644","type":"{kind}","sha":"{sha}"}}"#)
    };
    let listing = |sha: &str, entries: &[String], truncated: bool| {
        json(200, &format!(r#"{{"sha":"{sha}","truncated":{truncated},"tree":[{}]}}"#, entries.join(",")))
    };
    let mut script = Scripted::new()
        .expect(REF, ref_answer(HEAD))
        .expect(&tree_call(HEAD), listing(ROOT, &[entry("a", "tree", a)], true))
        .expect(
            &format!("GET /git/trees/{ROOT}"),
            listing(ROOT, &[entry("a", "tree", a), entry("top.txt", "blob", state.as_str())], false),
        )
        .expect(&format!("GET /git/trees/{a}"), listing(a, &[entry("b", "tree", b)], false))
        .expect(&format!("GET /git/trees/{b}"), listing(b, &[entry("c.txt", "blob", state.as_str())], false));
    let mut source = MemSource::new(vec![]);
    let mut t = target();
    t.directory = String::new();
    let report =
        engine::run("dc1", Mode::Plan, &Selection::Fabric, &t, &options(), &mut script, &mut source, &mut env())
            .unwrap();
    script.assert_done();
    assert_eq!((report.requests, report.commit), (5, None));
}

#[test]
fn a_repository_that_stays_empty_after_initializing_is_an_error() {
    let empty = || error_answer(409, "Git Repository is empty.");
    let created = json(201, &format!(r#"{{"content":{{}},"commit":{{"sha":"{HEAD}"}}}}"#));
    let mut script =
        Scripted::new().expect(REF, empty()).expect("PUT /contents/fabrics/dc1/.hnp/sync-state.json", created);
    for _ in 0..4 {
        script = script.expect(REF, empty());
    }
    let mut e = env();
    let err = remote(run(&mut script, &mut e, &options()).unwrap_err());
    script.assert_done();
    assert_eq!(err.status, 409);
    assert!(err.message.contains("still empty"), "{}", err.message);
    assert_eq!(e.sleeps.len(), 3);
}
