//! `--record` and `fgd-sync replay` through the real binary: a recorded sync replays to the
//! same bytes every time, with no network and no repository; a run that leaves the recording
//! is an error naming both requests.

use fgd_sync_tests::{cli, TempDir};

use super::workspace;

/// Records `sync --json` of the vpc-demo sample into a new local repository; (stdout, cassette).
fn record_first_sync(dir: &TempDir) -> (cli::Run, std::path::PathBuf) {
    let cassette = dir.path().join("sync.cassette.json");
    let samples = workspace().join("tests/data/hedgehog/samples/vpc-demo.yaml");
    let run = cli::run(
        cli::command()
            .args(["sync", "--fabric", "dc1", "--json", "--local-repo"])
            .arg(dir.path().join("fabric.git"))
            .arg("--source-dir")
            .arg(&samples)
            .arg("--record")
            .arg(&cassette),
    );
    assert_eq!(run.code, 0, "sync failed: {}", run.stderr);
    (run, cassette)
}

#[test]
fn a_recorded_sync_replays_byte_for_byte_three_times() {
    let dir = TempDir::new("replay").expect("temp dir");
    let (sync, cassette) = record_first_sync(&dir);
    assert!(sync.report().commit.is_some(), "the recorded sync committed: {}", sync.stdout);
    // Nothing of the repository is needed any more.
    std::fs::remove_dir_all(dir.path().join("fabric.git")).expect("removing the repository");
    for attempt in 1..=3 {
        let replay = cli::run(cli::command().arg("replay").arg(&cassette).arg("--json"));
        assert_eq!(replay.code, 0, "replay {attempt} failed: {}", replay.stderr);
        assert_eq!(replay.stdout, sync.stdout, "replay {attempt} printed other bytes than the recorded sync");
    }
}

#[test]
fn a_cassette_holds_every_import_and_no_secret() {
    let dir = TempDir::new("replay-content").expect("temp dir");
    let (_, cassette) = record_first_sync(&dir);
    let text = std::fs::read_to_string(&cassette).expect("reading the cassette");
    let json: serde_json::Value = serde_json::from_str(&text).expect("the cassette is JSON");
    assert_eq!(json["format"], "fgd-sync-cassette");
    assert_eq!(json["version"], fgd_sync::replay::cassette::VERSION);
    assert_eq!(json["invocation"]["operation"], "sync");
    assert_eq!(json["invocation"]["selection"], "Fabric");
    let events = json["events"].as_array().expect("events");
    let kinds: std::collections::BTreeSet<&str> =
        events.iter().filter_map(|e| e.as_object()?.keys().next().map(String::as_str)).collect();
    assert!(kinds.contains("http") && kinds.contains("hnp"), "kinds of events: {kinds:?}");
    assert!(json["random"].as_str().is_some_and(|r| r.len() >= 64), "a random pool is recorded");
    assert!(!text.to_ascii_lowercase().contains("authorization"), "no credentials in a cassette");
}

#[test]
fn a_replay_that_leaves_the_recording_names_both_requests() {
    let dir = TempDir::new("replay-diverge").expect("temp dir");
    let (_, cassette) = record_first_sync(&dir);
    let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&cassette).unwrap()).unwrap();
    let request = json["events"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .filter_map(|e| e.get_mut("http"))
        .find(|e| e["request"]["url"].as_str().is_some_and(|u| u.contains("/git/trees/")))
        .expect("the sync read the tree");
    let url = request["request"]["url"].as_str().unwrap().to_string();
    request["request"]["url"] = format!("{url}&changed=1").into();
    let edited = dir.path().join("edited.json");
    std::fs::write(&edited, serde_json::to_string(&json).unwrap()).unwrap();

    let replay = cli::run(cli::command().arg("replay").arg(&edited).arg("--json"));
    assert_eq!(replay.code, 1, "a diverging replay fails: {}", replay.stdout);
    assert!(replay.stderr.contains(&format!("made GET {url}")), "names the request made: {}", replay.stderr);
    assert!(
        replay.stderr.contains(&format!("recorded GET {url}&changed=1")),
        "names the recorded one: {}",
        replay.stderr
    );
}

#[test]
fn replay_refuses_a_file_that_is_not_a_cassette() {
    let dir = TempDir::new("replay-bad").expect("temp dir");
    let file = dir.path().join("other.json");
    std::fs::write(&file, r#"{"format": "something-else", "version": 1}"#).unwrap();
    let replay = cli::run(cli::command().arg("replay").arg(&file));
    assert_eq!(replay.code, 1);
    assert!(replay.stderr.contains("not a cassette"), "{}", replay.stderr);
}

/// Three 503 answers cost the recorded run 1 + 2 + 4 seconds of back-off (plus jitter); a replay
/// hands the guest instant sleeps, so it takes well under that. Guards the shadowing of
/// `monotonic-clock.subscribe-*` in `runtime/state.rs` against a WASI version change.
#[test]
fn a_replay_never_waits_out_back_offs() {
    let dir = TempDir::new("replay-sleep").expect("temp dir");
    let (sync, cassette) = record_first_sync(&dir);
    let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&cassette).unwrap()).unwrap();
    let events = json["events"].as_array_mut().unwrap();
    let first = events.iter().position(|e| e.get("http").is_some()).expect("an HTTP exchange");
    let mut unavailable = events[first].clone();
    unavailable["http"]["answer"] = serde_json::json!({"response": {"status": 503, "headers": [], "body": null}});
    for _ in 0..3 {
        events.insert(first, unavailable.clone());
    }
    let edited = dir.path().join("retries.json");
    std::fs::write(&edited, serde_json::to_string(&json).unwrap()).unwrap();

    let started = std::time::Instant::now();
    let replay = cli::run(cli::command().arg("replay").arg(&edited).arg("--json"));
    let elapsed = started.elapsed();
    // The guest retried through all three (exit 1: the report counts 3 more requests).
    let requests = |run: &cli::Run| run.report().requests;
    assert_eq!(requests(&replay), requests(&sync) + 3, "{}", replay.stderr);
    assert!(elapsed < std::time::Duration::from_secs(5), "the replay slept: {elapsed:?}");
}
