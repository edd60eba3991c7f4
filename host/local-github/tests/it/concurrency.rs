//! Racing writers on one repository: ref moves are compare-and-swap, so exactly one wins.

use std::sync::{Arc, Barrier};

use serde_json::json;

use crate::support::*;

#[test]
fn two_writers_on_the_same_head_exactly_one_wins() {
    let f = Fixture::seeded(&[("a.yaml", "1")]);
    let mut previous = f.head();
    for round in 0..5 {
        // Separate servers, as two processes would be; each builds on the same head.
        let servers = [f.reopen(), f.reopen()];
        let commits: Vec<String> = servers
            .iter()
            .enumerate()
            .map(|(i, gh)| {
                build_commit(gh, &[(&format!("w{i}.yaml"), &format!("round {round}"))], &format!("writer {i}"))
            })
            .collect();
        let barrier = Arc::new(Barrier::new(2));
        let results: Vec<(u16, String)> = std::thread::scope(|s| {
            let handles: Vec<_> = servers
                .iter()
                .zip(&commits)
                .map(|(gh, sha)| {
                    let barrier = barrier.clone();
                    s.spawn(move || {
                        barrier.wait();
                        let resp = gh.handle(&req(
                            "PATCH",
                            "/git/refs/heads/main",
                            Some(json!({ "sha": sha, "force": false })),
                        ));
                        (resp.status, resp.json()["message"].as_str().unwrap_or_default().to_string())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let wins: Vec<usize> = (0..2).filter(|i| results[*i].0 == 200).collect();
        assert_eq!(wins.len(), 1, "round {round}: {results:?}");
        let loser = 1 - wins[0];
        assert_eq!(results[loser], (422, "Update is not a fast forward".to_string()), "round {round}");
        assert_eq!(f.head(), commits[wins[0]]);
        assert_eq!(f.git(&["rev-parse", "main~1"]).trim(), previous, "round {round}: the winner sits on the old head");
        previous = f.head();
    }
    assert_eq!(f.git(&["rev-list", "--count", "main"]).trim(), "6");
    f.fsck();
}

#[test]
fn eight_parallel_git_data_syncs_serialize_through_retries() {
    let f = Fixture::seeded(&[("seed.yaml", "0")]);
    let start = f.head();
    // Each writer retries on 422 by rebuilding on the new head, as the guest does.
    std::thread::scope(|s| {
        for w in 0..8 {
            let gh = f.reopen();
            s.spawn(move || {
                for _attempt in 0..50 {
                    let sha = build_commit(&gh, &[(&format!("w{w}.yaml"), "x")], &format!("writer {w}"));
                    let resp = gh.handle(&req("PATCH", "/git/refs/heads/main", Some(json!({ "sha": sha }))));
                    match resp.status {
                        200 => return,
                        422 => continue,
                        other => panic!("writer {w}: {other} {}", String::from_utf8_lossy(&resp.body)),
                    }
                }
                panic!("writer {w} never won");
            });
        }
    });
    // Linear history: 8 commits on top of the seed, every file present.
    assert_eq!(f.git(&["rev-list", "--count", &format!("{start}..main")]).trim(), "8");
    assert_eq!(f.git(&["rev-list", "--merges", "--count", "main"]).trim(), "0");
    assert_eq!(f.files("main").len(), 9);
    f.fsck();
}

#[test]
fn parallel_contents_writes_conflict_with_githubs_text() {
    let f = Fixture::seeded(&[("seed.yaml", "0")]);
    let barrier = Arc::new(Barrier::new(6));
    let results: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let (gh, barrier) = (f.reopen(), barrier.clone());
                s.spawn(move || {
                    barrier.wait();
                    let resp = gh.handle(&req(
                        "PUT",
                        &format!("/contents/f{i}.yaml"),
                        Some(json!({ "message": "m", "content": b64("x") })),
                    ));
                    (resp.status, resp.json()["message"].as_str().unwrap_or_default().to_string())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok = results.iter().filter(|r| r.0 == 201).count();
    assert!(ok >= 1, "{results:?}");
    for (status, msg) in results.iter().filter(|r| r.0 != 201) {
        assert_eq!(*status, 409, "{results:?}");
        assert!(msg.starts_with("is at ") && msg.contains(" but expected "), "{msg}");
    }
    // Every success is in a linear history; no write was lost silently.
    assert_eq!(f.git(&["rev-list", "--count", "main"]).trim(), (1 + ok).to_string());
    assert_eq!(f.files("main").len(), 1 + ok);
    f.fsck();
}
