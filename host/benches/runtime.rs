//! Sandbox costs: `cargo bench -p fgd-sync --bench runtime`. Cold start (compiling the
//! component) vs cached start (loading the precompiled artifact), instantiation plus one
//! call, and a whole no-op sync against a local repository. Prints a Markdown table.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fgd_sync::net::hooks::{HttpLimits, PolicyHooks};
use fgd_sync::net::policy::EgressPolicy;
use fgd_sync::remote::Remote;
use fgd_sync::runtime::{CallContext, Operation, Runtime, RuntimeConfig, SyncCall, COMPONENT};
use fgd_sync::source::directory::DirectorySource;
use fgd_sync::wit::{CustomResource, Direction, Selection, SyncOptions, Target};

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn config(cache: &std::path::Path) -> RuntimeConfig {
    RuntimeConfig { cache_dir: Some(cache.to_path_buf()), ..RuntimeConfig::default() }
}

fn vpc(i: usize) -> CustomResource {
    CustomResource {
        kind: "VPC".into(),
        api_version: None,
        name: format!("vpc-{i}"),
        namespace: String::new(),
        labels: String::new(),
        annotations: String::new(),
        spec: format!(r#"{{"subnets":{{"default":{{"subnet":"10.0.{i}.0/24","vlan":{}}}}}}}"#, 1000 + i),
    }
}

fn main() -> anyhow::Result<()> {
    let tmp = std::env::temp_dir().join(format!("fgd-sync-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let cache = tmp.join("cache");
    let rt = tokio::runtime::Runtime::new()?;

    let cold = median(
        (0..3)
            .map(|_| {
                let _ = std::fs::remove_dir_all(&cache);
                let start = Instant::now();
                Runtime::load(config(&cache)).expect("compile");
                start.elapsed()
            })
            .collect(),
    );
    let cached = median(
        (0..10)
            .map(|_| {
                let start = Instant::now();
                Runtime::load(config(&cache)).expect("load");
                start.elapsed()
            })
            .collect(),
    );

    let runtime = Runtime::load(config(&cache))?;
    let offline = CallContext {
        hooks: PolicyHooks::new(EgressPolicy::default(), HttpLimits::default()),
        source: Arc::new(DirectorySource::new(Vec::new())),
    };
    let call = median(
        (0..200)
            .map(|i| {
                let start = Instant::now();
                rt.block_on(runtime.render(offline.clone(), vpc(i % 250))).expect("render").expect("valid");
                start.elapsed()
            })
            .collect(),
    );

    // A no-op sync of 100 CRs against a local repository (git objects on disk).
    let resources: Vec<_> = (0..100).map(vpc).collect();
    let remote = Remote::Local { path: tmp.join("repo.git") };
    let context = CallContext {
        hooks: remote.hooks(HttpLimits::default(), "main")?,
        source: Arc::new(DirectorySource::new(resources)),
    };
    let (api_base, owner, repo) = remote.coordinates();
    let target = Target {
        api_base,
        owner,
        repo,
        branch: "main".into(),
        directory: "fabrics/bench/gitops".into(),
        committer: None,
        message_prefix: String::new(),
    };
    let options = SyncOptions {
        max_attempts: 3,
        max_rate_limit_wait_secs: 0,
        max_deletions: None,
        resolutions: Vec::new(),
        direction: Direction::Push,
    };
    let sync = |call: SyncCall| rt.block_on(runtime.sync(context.clone(), call, target.clone(), options.clone()));
    sync(SyncCall::new(Operation::Sync, "bench", Selection::Fabric))?.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let noop = median(
        (0..20)
            .map(|_| {
                let start = Instant::now();
                let report = sync(SyncCall::new(Operation::Sync, "bench", Selection::Fabric)).unwrap().unwrap();
                assert!(report.commit.is_none());
                start.elapsed()
            })
            .collect(),
    );

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("| component: {} KB | median |", COMPONENT.len() / 1024);
    println!("| --- | --- |");
    println!("| cold start: compile the component (no cache) | {:.0} ms |", ms(cold));
    println!("| cached start: load the precompiled component | {:.1} ms |", ms(cached));
    println!("| fresh store + instantiate + one `render` call | {:.2} ms |", ms(call));
    println!("| no-op `sync-fabric` of 100 CRs, local repository (3 requests) | {:.1} ms |", ms(noop));
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}
