//! Wall time of typical requests against a fresh repository: 100 ref reads, then 10 full
//! Git Data commit flows (blob, tree, commit, ref move) and 10 contents PUTs.
//!
//! `cargo run -p fgd-sync-local-github --example timing`

use std::time::Instant;

use fgd_sync_local_github::{ApiRequest, LocalGitHub, Options};
use serde_json::{json, Value};

fn call(gh: &LocalGitHub, method: &str, rel: &str, body: Option<Value>) -> Value {
    let req = ApiRequest {
        method: method.into(),
        path_and_query: format!("/repos/acme/fabric{rel}"),
        headers: Vec::new(),
        body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
    };
    let resp = gh.handle(&req);
    assert!(resp.status < 300, "{method} {rel}: {} {}", resp.status, String::from_utf8_lossy(&resp.body));
    resp.json()
}

fn main() {
    let dir = std::env::temp_dir().join(format!("fgd-lg-timing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let gh = LocalGitHub::init(&dir, "acme", "fabric", Options::default()).expect("init");
    for i in 0..50 {
        call(
            &gh,
            "PUT",
            &format!("/contents/fabric/f{i:02}.yaml"),
            Some(json!({ "message": "seed", "content": "eDogMQo=" })),
        );
    }

    let t = Instant::now();
    for _ in 0..100 {
        call(&gh, "GET", "/git/ref/heads/main", None);
    }
    let refs = t.elapsed();

    let t = Instant::now();
    for i in 0..10 {
        let head = call(&gh, "GET", "/git/ref/heads/main", None)["object"]["sha"].as_str().unwrap().to_string();
        let commit = call(&gh, "GET", &format!("/git/commits/{head}"), None);
        call(&gh, "GET", "/git/trees/main?recursive=1", None);
        let blob = call(&gh, "POST", "/git/blobs", Some(json!({ "content": format!("x: {i}\n") })));
        let tree = call(
            &gh,
            "POST",
            "/git/trees",
            Some(json!({ "base_tree": commit["tree"]["sha"], "tree": [
                { "path": "fabric/f00.yaml", "mode": "100644", "type": "blob", "sha": blob["sha"] },
                { "path": format!("fabric/new{i}.yaml"), "mode": "100644", "type": "blob", "content": "y" },
            ]})),
        );
        let new =
            call(&gh, "POST", "/git/commits", Some(json!({ "message": "m", "tree": tree["sha"], "parents": [head] })));
        call(&gh, "PATCH", "/git/refs/heads/main", Some(json!({ "sha": new["sha"] })));
    }
    let flows = t.elapsed();

    let t = Instant::now();
    for i in 0..10 {
        call(&gh, "PUT", &format!("/contents/put{i}.yaml"), Some(json!({ "message": "m", "content": "eA==" })));
    }
    let puts = t.elapsed();

    println!("100 ref GETs:            {:>8.1?} ({:.2?} each)", refs, refs / 100);
    println!("10 Git Data flows (7 requests each): {:>8.1?} ({:.2?} each)", flows, flows / 10);
    println!("10 contents PUTs:        {:>8.1?} ({:.2?} each)", puts, puts / 10);
    let _ = std::fs::remove_dir_all(&dir);
}
