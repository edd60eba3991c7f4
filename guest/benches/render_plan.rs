//! Render and plan cost for a large fabric: `cargo bench -p fgd-sync-guest --bench render_plan`.
//! Prints a Markdown table (median of several runs) for the README.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use fgd_sync_guest::blob::blob_sha;
use fgd_sync_guest::model::RawResource;
use fgd_sync_guest::plan::{plan, PlanInput};
use fgd_sync_guest::{render, validate};

const DIRECTORY: &str = "fabrics/dc1/gitops";

/// A fabric of `n` CRs shaped like real ones: VPCs with subnets, attachments, connections.
fn fabric(n: usize) -> Vec<RawResource> {
    (0..n)
        .map(|i| match i % 3 {
            0 => RawResource {
                kind: "VPC".into(),
                name: format!("v{i}"),
                spec: format!(
                    r#"{{"ipv4Namespace":"default","vlanNamespace":"default","subnets":{{"default":{{"subnet":"10.{}.{}.0/24","gateway":"10.{}.{}.1","vlan":{},"dhcp":{{"enable":true,"range":{{"start":"10.{}.{}.10"}}}}}}}}}}"#,
                    i / 256 % 256, i % 256, i / 256 % 256, i % 256, 1000 + i % 3000, i / 256 % 256, i % 256
                ),
                ..RawResource::default()
            },
            1 => RawResource {
                kind: "VPCAttachment".into(),
                name: format!("vpc-{i}--server-{i}--mclag--leaf-01--leaf-02"),
                annotations: r#"{"fabric.githedgehog.com/p2p-link":"10.0.0.0/31"}"#.into(),
                spec: format!(r#"{{"connection":"server-{i}--mclag--leaf-01--leaf-02","subnet":"v{}/default"}}"#, i - 1),
                ..RawResource::default()
            },
            _ => RawResource {
                kind: "Connection".into(),
                name: format!("server-{i}--mclag--leaf-01--leaf-02"),
                spec: format!(
                    r#"{{"mclag":{{"links":[{{"server":{{"port":"server-{i}/enp2s1"}},"switch":{{"port":"leaf-01/E1/{}"}}}},{{"server":{{"port":"server-{i}/enp2s2"}},"switch":{{"port":"leaf-02/E1/{}"}}}}]}}}}"#,
                    i % 48 + 1, i % 48 + 1
                ),
                ..RawResource::default()
            },
        })
        .collect()
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(f());
                start.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let n = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10_000);
    let crs = fabric(n);
    let input = PlanInput { directory: DIRECTORY.into(), desired: crs.clone(), complete: true, ..PlanInput::default() };

    let render_all = time(5, || {
        crs.iter().for_each(|r| {
            std::hint::black_box(render::render(&validate::resource(r).unwrap()).unwrap());
        })
    });
    let first = plan(&input, "").unwrap();
    let plan_create = time(5, || plan(&input, "").unwrap());

    // The branch after that plan landed: every file and the state file in place.
    let mut synced = input.clone();
    let mut files = BTreeMap::new();
    for w in &first.writes {
        let content = w.content.clone().unwrap();
        if w.path.ends_with("sync-state.json") {
            synced.state = Some(content.clone());
        }
        files.insert(w.path.clone(), blob_sha(content.as_bytes()));
    }
    synced.remote_files = files;
    let noop = plan(&synced, "").unwrap();
    assert!(noop.writes.is_empty(), "re-plan after apply must be empty");
    let plan_noop = time(5, || plan(&synced, "").unwrap());

    let mut one_edit = synced.clone();
    one_edit.desired[0].spec = one_edit.desired[0].spec.replace("\"vlan\":1000", "\"vlan\":1999");
    let edit = plan(&one_edit, "").unwrap();
    assert_eq!(edit.changes.len(), 1);
    let plan_edit = time(5, || plan(&one_edit, "").unwrap());

    let bytes: usize = first.writes.iter().filter_map(|w| w.content.as_ref()).map(String::len).sum();
    println!("| {n} CRs ({:.1} MB of YAML) | median of 5 |", bytes as f64 / 1e6);
    println!("| --- | --- |");
    println!("| validate + render all | {:.0} ms ({:.1} µs per CR) |", ms(render_all), us(render_all) / n as f64);
    println!("| plan, empty branch ({} writes) | {:.0} ms |", first.writes.len(), ms(plan_create));
    println!("| plan, nothing changed (0 writes) | {:.0} ms |", ms(plan_noop));
    println!("| plan, one CR edited ({} writes) | {:.0} ms |", edit.writes.len(), ms(plan_edit));
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
