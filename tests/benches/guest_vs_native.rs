//! What the sandbox costs: validate + render + plan of a 10,000-CR fabric by the guest crate
//! built natively and by the component in wasmtime (the host's `Runtime`, a fresh store per
//! call as in the product), same inputs, same machine, one run. Prints both times, the ratio
//! and the component's size. Two plans: the first sync (empty branch, 10,000 files to write)
//! and a no-op (the branch after that commit). The two plans must be equal.
//!
//! ```text
//! cargo bench -p fgd-sync-tests --bench guest_vs_native
//! ```
//! Release profile (`cargo bench`), so native code is optimized as the component is.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fgd_sync::net::hooks::{HttpLimits, PolicyHooks};
use fgd_sync::net::policy::EgressPolicy;
use fgd_sync::runtime::{CallContext, Runtime, RuntimeConfig, COMPONENT};
use fgd_sync::source::directory::DirectorySource;
use fgd_sync::wit;
use fgd_sync_guest::model::RawResource;
use fgd_sync_guest::{blob, plan};
use fgd_sync_tests::convert::convert;

const CRS: usize = 10_000;
const RUNS: usize = 5;
const PREFIX: &str = "[hnp] ";

/// A fabric of servers, switches, connections and VPCs with nested specs.
fn fabric() -> Vec<RawResource> {
    (0..CRS)
        .map(|i| {
            let (kind, name, spec) = match i % 4 {
                0 => ("VPC", format!("vpc-{i}"), format!(r#"{{"subnets":{{"default":{{"subnet":"10.{}.{}.0/24","vlan":{}}}}}}}"#, i / 256 % 256, i % 256, 1000 + i % 3000)),
                1 => ("Server", format!("server-{i}"), format!(r#"{{"description":"rack {} slot {}"}}"#, i / 40, i % 40)),
                2 => ("Switch", format!("switch-{i}"), format!(r#"{{"role":"server-leaf","asn":{},"ip":"172.30.{}.{}/21","groups":["mclag-{}"]}}"#, 65100 + i % 100, i / 256 % 256, i % 256, i / 2 % 50)),
                _ => ("Connection", format!("server-{i}--unbundled"), format!(r#"{{"unbundled":{{"link":{{"server":{{"port":"server-{i}/enp2s1"}},"switch":{{"port":"switch-{}/E1/{}"}}}}}}}}"#, i % 64, i % 48 + 1)),
            };
            RawResource {
                kind: kind.into(),
                api_version: None,
                name,
                namespace: String::new(),
                labels: r#"{"fabric":"bench"}"#.into(),
                annotations: String::new(),
                spec,
            }
        })
        .collect()
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn time<T>(mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut out = None;
    let runs = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            out = Some(f());
            start.elapsed()
        })
        .collect();
    (median(runs), out.expect("RUNS > 0"))
}

fn main() {
    let cache = std::env::temp_dir().join(format!("fgd-sync-bench-gvn-{}", std::process::id()));
    let rt = Runtime::load(RuntimeConfig { cache_dir: Some(cache.clone()), ..RuntimeConfig::default() })
        .expect("the component loads");
    let tokio = tokio::runtime::Runtime::new().expect("tokio");
    let offline = || CallContext {
        hooks: PolicyHooks::new(EgressPolicy::default(), HttpLimits::default()),
        source: Arc::new(DirectorySource::new(Vec::new())),
    };

    let first = plan::PlanInput {
        directory: "fabrics/bench/gitops".into(),
        desired: fabric(),
        complete: true,
        ..Default::default()
    };
    let native_plan = plan::plan(&first, PREFIX).expect("plans");
    let mut noop = first.clone();
    for w in &native_plan.writes {
        let content = w.content.as_deref().expect("a first sync only writes");
        if w.path.ends_with("sync-state.json") {
            noop.state = Some(content.to_string());
        }
        noop.remote_files.insert(w.path.clone(), blob::blob_sha(content.as_bytes()));
    }

    println!("component: {} bytes; {CRS} CRs; median of {RUNS} runs", COMPONENT.len());
    println!("| plan | native | component | ratio |");
    println!("| --- | --- | --- | --- |");
    for (label, input) in [("first sync (10,000 files)", &first), ("no-op (branch after the first sync)", &noop)] {
        let (native, native_plan) = time(|| plan::plan(input, PREFIX).expect("plans"));
        // The WIT input is made outside the timing; lowering it into the guest is inside.
        let wit_input: wit::PlanInput = convert(input);
        let (component, component_plan) = time(|| {
            tokio.block_on(rt.plan(offline(), wit_input.clone(), PREFIX.into())).expect("runs").expect("plans")
        });
        assert_eq!(convert::<_, plan::CommitPlan>(&component_plan), native_plan, "{label}: the same plan");
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "| {label} | {:.0} ms | {:.0} ms | {:.2}x |",
            ms(native),
            ms(component),
            component.as_secs_f64() / native.as_secs_f64()
        );
    }
    let _ = std::fs::remove_dir_all(&cache);
}
