//! The GitHub stand-in itself, over real HTTP: GitHub's gatekeeping, each injected fault
//! observable from a client, "another writer" failing a ref update as GitHub does, and every
//! answer of a full Git Data and Contents flow conforming to GitHub's OpenAPI description.

use std::time::{Duration, Instant};

use base64::Engine as _;
use fgd_sync_tests::github::conformance::{check_all, missing_rate_headers};
use fgd_sync_tests::github::{
    Action, ClientError, Faults, Match, Response, Rule, StandIn, StandInOptions, When, TEST_UA,
};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

fn standin() -> StandIn {
    StandIn::start(StandInOptions::default()).expect("the stand-in starts")
}

/// A stand-in whose `main` holds one file.
fn seeded() -> StandIn {
    let s = standin();
    s.seed(&[("fabrics/dc1/README.md", "hello\n")], "Initial commit").expect("seed");
    s
}

fn ok(r: Result<Response, ClientError>) -> Response {
    r.unwrap_or_else(|e| panic!("no answer: {e}"))
}

fn assert_conforms(s: &StandIn) {
    let exchanges = s.exchanges();
    assert!(!exchanges.is_empty());
    let problems = check_all(&exchanges);
    assert!(problems.is_empty(), "answers that do not conform:\n{}", problems.join("\n"));
    let missing = missing_rate_headers(&exchanges);
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[test]
fn requests_without_user_agent_are_refused_with_githubs_text() {
    let s = seeded();
    let auth = format!("Bearer {}", s.token());
    let headers = [("Accept", "application/vnd.github+json"), ("Authorization", auth.as_str())];
    let r = ok(s.call_with("GET", "git/ref/heads/main", &headers, None, Duration::from_secs(5)));
    assert_eq!(r.status, 403);
    assert!(
        r.text().starts_with(
            "Request forbidden by administrative rules. Please make sure your request has a User-Agent header"
        ),
        "{}",
        r.text()
    );
    assert!(r.header("x-ratelimit-limit").is_some());
    assert_conforms(&s);
}

#[test]
fn a_missing_token_is_401_requires_authentication_and_a_wrong_one_bad_credentials() {
    let s = seeded();
    let t = Duration::from_secs(5);
    let none = ok(s.call_with("GET", "git/ref/heads/main", &[("User-Agent", TEST_UA)], None, t));
    assert_eq!((none.status, none.json()["message"].clone()), (401, json!("Requires authentication")));
    let wrong = [("User-Agent", TEST_UA), ("Authorization", "Bearer ghp_wrong")];
    let bad = ok(s.call_with("GET", "git/ref/heads/main", &wrong, None, t));
    assert_eq!((bad.status, bad.json()["message"].clone()), (401, json!("Bad credentials")));
    assert_eq!(bad.number("x-ratelimit-limit"), Some(60), "unauthenticated callers share GitHub's 60/hour");
    let good = ok(s.call("GET", "git/ref/heads/main", None));
    assert_eq!(good.status, 200);
    assert_eq!(s.exchanges()[2].header("authorization").map(|a| a.ends_with(s.token())), Some(true));
    assert_conforms(&s);
}

#[test]
fn rate_limit_headers_count_down_per_token() {
    let s = seeded();
    let first = ok(s.call("GET", "git/ref/heads/main", None));
    let second = ok(s.call("GET", "", None));
    assert_eq!(first.number("x-ratelimit-limit"), Some(5000));
    assert_eq!(first.number("x-ratelimit-remaining"), Some(4999));
    assert_eq!(second.number("x-ratelimit-remaining"), Some(4998));
    assert_eq!(second.number("x-ratelimit-used"), Some(2));
    assert_eq!(second.header("x-ratelimit-resource"), Some("core"));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let reset = second.number("x-ratelimit-reset").unwrap();
    assert!((now..=now + 3600).contains(&reset), "{reset} vs {now}");
    assert_eq!(s.rate_used(), 2);
    // Another caller's failures do not count against the token.
    let _ = s.call_with("GET", "", &[("User-Agent", TEST_UA)], None, Duration::from_secs(5));
    assert_eq!(s.rate_used(), 2);
    assert_conforms(&s);
}

#[test]
fn a_used_up_primary_limit_refuses_until_reset() {
    let s = StandIn::start(StandInOptions { rate_limit: 2, ..StandInOptions::default() }).unwrap();
    s.seed(&[("a.txt", "a\n")], "init").unwrap();
    assert_eq!(ok(s.call("GET", "", None)).status, 200);
    assert_eq!(ok(s.call("GET", "", None)).number("x-ratelimit-remaining"), Some(0));
    let refused = ok(s.call("GET", "", None));
    assert_eq!((refused.status, refused.number("x-ratelimit-remaining")), (403, Some(0)));
    assert!(refused.json()["message"].as_str().unwrap().starts_with("API rate limit exceeded for"));
    assert_conforms(&s);
}

#[test]
fn an_injected_primary_limit_sets_the_reset_and_lifts_after_it() {
    let s = seeded();
    let reset_in = Duration::from_secs(2);
    s.faults().set(Faults::default().rule(Rule::new(
        Match::any(),
        When::Nth(2),
        Action::PrimaryLimit { status: 429, reset_in },
    )));
    assert_eq!(ok(s.call("GET", "", None)).status, 200);
    let start = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let limited = ok(s.call("GET", "", None));
    assert_eq!((limited.status, limited.number("x-ratelimit-remaining")), (429, Some(0)));
    let reset = limited.number("x-ratelimit-reset").unwrap();
    assert!((start + 1..=start + 3).contains(&reset), "reset {reset}, now {start}");
    assert_eq!(ok(s.call("GET", "git/ref/heads/main", None)).status, 429, "every request until the reset");
    std::thread::sleep(Duration::from_millis(2_200));
    let again = ok(s.call("GET", "git/ref/heads/main", None));
    assert_eq!((again.status, again.number("x-ratelimit-remaining")), (200, Some(4999)));
    assert_conforms(&s);
}

#[test]
fn a_secondary_limit_says_so_and_names_retry_after() {
    let s = seeded();
    s.faults().set(Faults::default().rule(Rule::new(
        Match::method("POST"),
        When::Next(1),
        Action::SecondaryLimit { status: 403, retry_after: Some(7) },
    )));
    let body = json!({"content": "x", "encoding": "utf-8"});
    let limited = ok(s.call("POST", "git/blobs", Some(&body)));
    assert_eq!((limited.status, limited.number("retry-after")), (403, Some(7)));
    let message = limited.json()["message"].as_str().unwrap_or_default().to_string();
    assert!(message.starts_with("You have exceeded a secondary rate limit"), "{message}");
    assert!(limited.number("x-ratelimit-remaining").unwrap() > 0, "not the primary limit");
    assert_eq!(ok(s.call("POST", "git/blobs", Some(&body))).status, 201);
    assert_conforms(&s);
}

#[test]
fn server_errors_hit_the_next_n_matching_requests_only() {
    let s = seeded();
    s.faults().set(Faults::default().rule(Rule::new(
        Match::method("GET").and_path("/git/ref/"),
        When::Next(2),
        Action::Status(502),
    )));
    let statuses: Vec<u16> = (0..3).map(|_| ok(s.call("GET", "git/ref/heads/main", None)).status).collect();
    assert_eq!(statuses, [502, 502, 200]);
    assert_eq!(ok(s.call("GET", "", None)).status, 200, "other paths are not affected");
    assert_eq!(s.faults().current().rules[0].fired, 2);
    for status in [500, 503, 504] {
        s.faults().set(Faults::default().rule(Rule::new(Match::any(), When::Next(1), Action::Status(status))));
        assert_eq!(ok(s.call("GET", "", None)).status, status);
    }
    assert_conforms(&s);
}

#[test]
fn server_errors_at_a_rate_follow_the_seed() {
    let s = seeded();
    let pattern = |seed| {
        s.faults().set(Faults::default().seed(seed).rule(Rule::new(
            Match::any(),
            When::Rate(0.3),
            Action::Status(500),
        )));
        (0..40).map(|_| ok(s.call("GET", "", None)).status == 500).collect::<Vec<bool>>()
    };
    let a = pattern(42);
    assert_eq!(a, pattern(42), "same seed, same faults");
    let failures = a.iter().filter(|f| **f).count();
    assert!((4..=20).contains(&failures), "{failures} of 40 at 30%");
    assert_conforms(&s);
}

#[test]
fn a_dropped_connection_gets_no_answer() {
    let s = seeded();
    s.faults().set(Faults::default().rule(Rule::new(Match::method("PATCH"), When::Next(1), Action::Drop)));
    let head = s.repo().head("main").unwrap();
    let r = s.call("PATCH", "git/refs/heads/main", Some(&json!({"sha": head, "force": false})));
    assert!(matches!(r, Err(ClientError::Closed)), "{r:?}");
    let e = s.exchanges().pop().unwrap();
    assert_eq!((e.status, e.fault.as_deref()), (None, Some("Drop")));
    assert_eq!(ok(s.call("GET", "git/ref/heads/main", None)).status, 200);
}

#[test]
fn a_lost_answer_still_changes_the_repository() {
    let s = seeded();
    let old = s.repo().head("main").unwrap();
    s.faults().set(Faults::default().rule(Rule::new(Match::method("PATCH"), When::Next(1), Action::LoseAnswer)));
    let (ours, patch) = {
        let head = old.clone();
        let tree = ok(s.call("GET", &format!("git/trees/{head}"), None)).json()["sha"].clone();
        let commit = ok(s.call("POST", "git/commits", Some(&json!({"message": "m", "tree": tree, "parents": [head]}))));
        let sha = commit.json()["sha"].as_str().unwrap().to_string();
        (sha.clone(), s.call("PATCH", "git/refs/heads/main", Some(&json!({"sha": sha, "force": false}))))
    };
    assert!(matches!(patch, Err(ClientError::Closed)), "{patch:?}");
    assert_eq!(s.repo().head("main"), Some(ours.clone()), "the ref moved all the same");
    // Repeating the update is harmless: the ref is already there.
    let again = ok(s.call("PATCH", "git/refs/heads/main", Some(&json!({"sha": ours, "force": false}))));
    assert_eq!(again.status, 200);
    assert_eq!(s.exchanges().iter().filter(|e| e.fault.as_deref() == Some("LoseAnswer")).count(), 1);
}

#[test]
fn a_hanging_request_times_the_client_out_and_the_server_recovers() {
    let s = seeded();
    s.faults().set(Faults::default().rule(Rule::new(
        Match::any(),
        When::Next(1),
        Action::Hang(Duration::from_secs(5)),
    )));
    let started = Instant::now();
    let auth = format!("Bearer {}", s.token());
    let headers = [("User-Agent", TEST_UA), ("Authorization", auth.as_str())];
    let r = s.call_with("GET", "", &headers, None, Duration::from_millis(400));
    assert!(matches!(r, Err(ClientError::Timeout(_))), "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(ok(s.call("GET", "", None)).status, 200, "other connections are served meanwhile");
}

#[test]
fn latency_delays_every_answer() {
    let s = seeded();
    s.faults().set(Faults::default().latency(Duration::from_millis(150)));
    let started = Instant::now();
    for _ in 0..2 {
        assert_eq!(ok(s.call("GET", "", None)).status, 200);
    }
    assert!(started.elapsed() >= Duration::from_millis(300), "{:?}", started.elapsed());
}

/// GET ref, tree and state-like blob, then tree, commit, ref update: fgd-sync's batched write.
fn git_data_commit(s: &StandIn, path: &str, text: &str) -> (String, Response) {
    let head = ok(s.call("GET", "git/ref/heads/main", None)).json()["object"]["sha"].as_str().unwrap().to_string();
    let tree = ok(s.call("GET", &format!("git/trees/{head}?recursive=1"), None)).json();
    let base_tree = tree["sha"].as_str().unwrap().to_string();
    let entries = json!([{"path": path, "mode": "100644", "type": "blob", "content": text}]);
    let new_tree = ok(s.call("POST", "git/trees", Some(&json!({"base_tree": base_tree, "tree": entries}))));
    assert_eq!(new_tree.status, 201);
    let commit_body = json!({"message": format!("write {path}"), "tree": new_tree.json()["sha"], "parents": [head]});
    let commit = ok(s.call("POST", "git/commits", Some(&commit_body)));
    assert_eq!(commit.status, 201);
    let sha = commit.json()["sha"].as_str().unwrap().to_string();
    let patch = ok(s.call("PATCH", "git/refs/heads/main", Some(&json!({"sha": sha, "force": false}))));
    (sha, patch)
}

#[test]
fn another_writer_makes_the_ref_update_fail_as_not_a_fast_forward() {
    let s = seeded();
    s.faults().set(Faults::default().rule(Rule::another_writer(1)));
    let (ours, patch) = git_data_commit(&s, "fabrics/dc1/a.yaml", "a: 1\n");
    assert_eq!(patch.status, 422);
    assert_eq!(patch.json()["message"], "Update is not a fast forward");
    let log = s.repo().log("main");
    assert_eq!(log[0].subject, "Outside edit #1", "their commit is the head");
    assert!(log.iter().all(|c| c.sha != ours), "ours never landed");
    // Only the first PATCH is raced; a re-read and a new commit land on top of theirs.
    let (ours, patch) = git_data_commit(&s, "fabrics/dc1/a.yaml", "a: 1\n");
    assert_eq!(patch.status, 200);
    assert_eq!(s.repo().head("main").as_deref(), Some(ours.as_str()));
    assert_eq!(s.repo().show("main", "outside/writer-1.txt").as_deref(), Some("written by another writer, #1\n"));
    assert!(s.repo().non_fast_forwards("main").is_empty(), "{:?}", s.repo().ref_moves("main"));
    assert_eq!(s.repo().ref_moves("main").len(), 3, "seed, outside writer, ours");
    s.repo().fsck().unwrap();
    assert_conforms(&s);
}

#[test]
fn force_moves_would_show_in_the_reflog() {
    let s = seeded();
    let root = s.repo().head("main").unwrap();
    git_data_commit(&s, "b.txt", "b\n");
    let forced = ok(s.call("PATCH", "git/refs/heads/main", Some(&json!({"sha": root, "force": true}))));
    assert_eq!(forced.status, 200);
    let bad = s.repo().non_fast_forwards("main");
    assert_eq!(bad.len(), 1, "the check that e2e tests rely on sees a force push");
    assert_eq!(bad[0].new, root);
}

#[test]
fn a_full_git_data_and_contents_flow_conforms_to_the_openapi_description() {
    let s = standin();
    let state = "fabrics/dc1/.hnp/sync-state.json";
    // Empty repository: refs and Git Data writes answer 409; the Contents API makes commit one.
    assert_eq!(ok(s.call("GET", "git/ref/heads/main", None)).status, 409);
    assert_eq!(ok(s.call("POST", "git/trees", Some(&json!({"tree": []})))).status, 409);
    let init = json!({"message": "init", "content": b64("{}\n"), "branch": "main"});
    assert_eq!(ok(s.call("PUT", &format!("contents/{state}"), Some(&init))).status, 201);
    let (_, patch) = git_data_commit(&s, "fabrics/dc1/managed/vpcs/vpc-1.yaml", "kind: VPC\n");
    assert_eq!(patch.status, 200);
    let head = s.repo().head("main").unwrap();
    assert_eq!(ok(s.call("GET", &format!("git/commits/{head}"), None)).status, 200);
    let file = ok(s.call("GET", "contents/fabrics/dc1/managed/vpcs/vpc-1.yaml?ref=main", None));
    assert_eq!(file.status, 200);
    let sha = file.json()["sha"].as_str().unwrap().to_string();
    let blob = ok(s.call("GET", &format!("git/blobs/{sha}"), None));
    assert_eq!(blob.json()["content"], b64("kind: VPC\n") + "\n");
    assert_eq!(ok(s.call("GET", "contents/fabrics/dc1?ref=main", None)).status, 200, "a directory listing");
    assert_eq!(ok(s.call("GET", "contents/nope.yaml?ref=main", None)).status, 404);
    // Contents writes: sha required on update, stale sha 409, delete.
    let path = "contents/fabrics/dc1/managed/vpcs/vpc-1.yaml";
    let no_sha = json!({"message": "m", "content": b64("x\n"), "branch": "main"});
    let r = ok(s.call("PUT", path, Some(&no_sha)));
    assert_eq!((r.status, r.json()["message"].clone()), (422, json!("Invalid request.\n\n\"sha\" wasn't supplied.")));
    let stale = json!({"message": "m", "content": b64("x\n"), "branch": "main", "sha": "3f3f005b29247e51a4f4d6b8ce07b67646cd6074"});
    let r = ok(s.call("PUT", path, Some(&stale)));
    assert_eq!(r.status, 409);
    assert!(r.json()["message"].as_str().unwrap().contains("does not match"));
    let update =
        json!({"message": "Update VPC vpc-1", "content": b64("kind: VPC # 2\n"), "branch": "main", "sha": sha});
    let r = ok(s.call("PUT", path, Some(&update)));
    assert_eq!(r.status, 200);
    let new_sha = r.json()["content"]["sha"].as_str().unwrap().to_string();
    let delete = json!({"message": "Delete VPC vpc-1", "sha": new_sha, "branch": "main"});
    assert_eq!(ok(s.call("DELETE", path, Some(&delete))).status, 200);
    assert_eq!(ok(s.call("DELETE", path, Some(&delete))).status, 404);
    // Blobs, a branch, a missing ref, a bad tree entry, the repository.
    let blob = ok(s.call("POST", "git/blobs", Some(&json!({"content": "hello", "encoding": "utf-8"}))));
    assert_eq!(blob.status, 201);
    let head = s.repo().head("main").unwrap();
    assert_eq!(ok(s.call("POST", "git/refs", Some(&json!({"ref": "refs/heads/topic", "sha": head})))).status, 201);
    assert_eq!(ok(s.call("POST", "git/refs", Some(&json!({"ref": "refs/heads/topic", "sha": head})))).status, 422);
    assert_eq!(ok(s.call("GET", "git/ref/heads/nope", None)).status, 404);
    let bad = json!({"base_tree": head, "tree": [{"path": "/abs", "mode": "100644", "type": "blob", "content": "x"}]});
    assert_eq!(ok(s.call("POST", "git/trees", Some(&bad))).status, 422);
    let repo: Value = ok(s.call("GET", "", None)).json();
    assert_eq!(repo["default_branch"], "main");
    assert!(repo["url"].as_str().unwrap().starts_with(&s.api_base()), "URLs point at the stand-in");

    assert_conforms(&s);
    assert!(s.exchanges().iter().all(|e| e.fault.is_none() && e.status.is_some()));
    s.repo().fsck().unwrap();
    let subjects: Vec<String> = s.repo().log("main").into_iter().map(|c| c.subject).collect();
    assert_eq!(subjects, ["Delete VPC vpc-1", "Update VPC vpc-1", "write fabrics/dc1/managed/vpcs/vpc-1.yaml", "init"]);
    assert!(s.repo().non_fast_forwards("main").is_empty());
}
