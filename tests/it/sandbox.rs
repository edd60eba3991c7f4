//! The sandbox around the real component: memory, time and fuel limits stop it with an error
//! that names the limit; the egress policy refuses every origin but the configured one, and
//! the token goes to that origin only, added by the host.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fgd_sync::net::hooks::{HttpLimits, PolicyHooks};
use fgd_sync::net::policy::{EgressPolicy, Origin, Token};
use fgd_sync::runtime::{CallContext, Operation, Runtime, RuntimeConfig, RuntimeError, SyncCall};
use fgd_sync::source::directory::DirectorySource;
use fgd_sync::wit::{CustomResource, Direction, Selection, SyncError, SyncOptions, Target};
use fgd_sync_tests::cli::cache_dir;

fn runtime(config: RuntimeConfig) -> Runtime {
    Runtime::load(RuntimeConfig { cache_dir: Some(cache_dir()), ..config }).expect("loading the component")
}

fn offline() -> CallContext {
    CallContext {
        hooks: PolicyHooks::new(EgressPolicy::default(), HttpLimits::default()),
        source: Arc::new(DirectorySource::new(vec![vpc()])),
    }
}

fn vpc() -> CustomResource {
    CustomResource {
        kind: "VPC".into(),
        api_version: None,
        name: "vpc-1".into(),
        namespace: String::new(),
        labels: String::new(),
        annotations: String::new(),
        spec: r#"{"subnets":{"default":{"subnet":"10.0.1.0/24","vlan":1001}}}"#.into(),
    }
}

fn target(api_base: &str) -> Target {
    Target {
        api_base: api_base.into(),
        owner: "acme".into(),
        repo: "fabric".into(),
        branch: "main".into(),
        directory: "fabrics/dc1/gitops".into(),
        committer: None,
        message_prefix: String::new(),
    }
}

fn options() -> SyncOptions {
    SyncOptions {
        max_attempts: 1,
        max_rate_limit_wait_secs: 0,
        max_deletions: None,
        resolutions: Vec::new(),
        direction: Direction::Push,
    }
}

/// Many small documents: real parsing work for the guest.
fn big_manifest(documents: usize) -> String {
    (0..documents)
        .map(|i| format!("apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: v{i}\nspec:\n  subnets:\n    default: {{subnet: 10.0.0.0/24, vlan: {}}}\n---\n", 1000 + i % 1000))
        .collect()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(f)
}

#[test]
fn memory_limit_stops_the_guest_with_a_clear_error() {
    let rt = runtime(RuntimeConfig { memory_limit_bytes: 4 * 1024 * 1024, ..RuntimeConfig::default() });
    let text = big_manifest(40_000); // ~4.6 MB of text must be copied into guest memory
    let error = block_on(rt.parse_manifests(offline(), "big.yaml".into(), text)).unwrap_err();
    assert!(matches!(error, RuntimeError::Memory(_)), "{error:?}");
    assert!(error.to_string().contains("more than 4 MiB of memory"), "{error}");
    // The same runtime still works for a call within the limit: a fresh store per call.
    assert!(block_on(rt.render(offline(), vpc())).unwrap().is_ok());
}

#[test]
fn cpu_time_limit_interrupts_a_busy_guest() {
    let rt = runtime(RuntimeConfig { deadline: Duration::from_millis(20), ..RuntimeConfig::default() });
    let error = block_on(rt.parse_manifests(offline(), "big.yaml".into(), big_manifest(20_000))).unwrap_err();
    assert!(matches!(error, RuntimeError::Deadline(_)), "{error:?}");
    assert!(error.to_string().contains("time limit"), "{error}");
}

#[test]
fn time_limit_covers_host_calls_that_never_answer() {
    // A server that accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let rt = runtime(RuntimeConfig { deadline: Duration::from_millis(500), ..RuntimeConfig::default() });
    let mut policy = EgressPolicy::default();
    policy.allow(Origin::parse(&url).unwrap(), None);
    let context = CallContext { hooks: PolicyHooks::new(policy, HttpLimits::default()), ..offline() };
    let started = std::time::Instant::now();
    let error =
        block_on(rt.sync(context, SyncCall::new(Operation::Sync, "dc1", Selection::Fabric), target(&url), options()))
            .unwrap_err();
    assert!(matches!(error, RuntimeError::Deadline(_)), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "stopped near the deadline, not after a network timeout");
}

#[test]
fn fuel_budget_stops_the_guest_deterministically() {
    let rt = runtime(RuntimeConfig { fuel: Some(50_000), ..RuntimeConfig::default() });
    let error = block_on(rt.parse_manifests(offline(), "big.yaml".into(), big_manifest(1_000))).unwrap_err();
    assert!(matches!(error, RuntimeError::Fuel(50_000)), "{error:?}");
    let generous = runtime(RuntimeConfig { fuel: Some(10_000_000_000), ..RuntimeConfig::default() });
    assert_eq!(
        block_on(generous.parse_manifests(offline(), "big.yaml".into(), big_manifest(1_000))).unwrap().unwrap().len(),
        1_000
    );
}

/// Counts connections and answers each with a fixed 404 (enough for the guest to stop).
fn counting_server() -> (String, Arc<AtomicUsize>, Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (c, r) = (count.clone(), requests.clone());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            c.fetch_add(1, Ordering::SeqCst);
            let mut buf = vec![0u8; 64 * 1024];
            let n = stream.read(&mut buf).unwrap_or(0);
            r.lock().unwrap().push(String::from_utf8_lossy(&buf[..n]).into_owned());
            let body = r#"{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}"#;
            let _ = write!(stream, "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
        }
    });
    (url, count, requests)
}

#[test]
fn origins_outside_the_policy_are_refused_and_never_contacted() {
    let (allowed, allowed_hits, _) = counting_server();
    let (other, other_hits, _) = counting_server();
    let rt = runtime(RuntimeConfig::default());
    let mut policy = EgressPolicy::default();
    policy.allow(Origin::parse(&allowed).unwrap(), Some(Token::new("s3cret-token")));
    let context = CallContext { hooks: PolicyHooks::new(policy, HttpLimits::default()), ..offline() };
    // The guest is pointed at another origin than the one the host allows.
    let result =
        block_on(rt.sync(context, SyncCall::new(Operation::Sync, "dc1", Selection::Fabric), target(&other), options()))
            .unwrap();
    match result {
        Err(SyncError::Transport(message)) => {
            assert!(message.contains("refused by the host's network policy"), "{message}")
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
    assert_eq!(other_hits.load(Ordering::SeqCst), 0, "the refused origin saw no connection");
    assert_eq!(allowed_hits.load(Ordering::SeqCst), 0);
}

#[test]
fn the_token_is_added_by_the_host_for_the_allowed_origin_only() {
    let (allowed, _, requests) = counting_server();
    let rt = runtime(RuntimeConfig::default());
    let mut policy = EgressPolicy::default();
    policy.allow(Origin::parse(&allowed).unwrap(), Some(Token::new("s3cret-token")));
    let context = CallContext { hooks: PolicyHooks::new(policy, HttpLimits::default()), ..offline() };
    // The guest knows no token (`target` has no field for one); GitHub answers 404 here.
    let result = block_on(rt.sync(
        context,
        SyncCall::new(Operation::Sync, "dc1", Selection::Fabric),
        target(&allowed),
        options(),
    ))
    .unwrap();
    assert!(matches!(result, Err(SyncError::BranchNotFound(_))), "{result:?}");
    let seen = requests.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let request = seen[0].to_ascii_lowercase();
    assert!(request.contains("authorization: bearer s3cret-token"), "{request}");
    assert!(request.contains("user-agent: fgd-sync/"), "{request}");
    assert!(request.contains("x-github-api-version: 2022-11-28"), "{request}");
}
