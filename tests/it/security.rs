//! Security hardening (issue 12), end to end: each test plays one attack on the sandbox's
//! edges against the real binary and checks that it fails.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use fgd_sync_tests::cli::{self, run, Run};
use fgd_sync_tests::TempDir;

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `fgd-sync render -` (no input) with its own component cache, logging at debug.
fn render_with_cache(cache: &Path) -> Run {
    let mut cmd = cli::command();
    cmd.env("FGD_SYNC_CACHE_DIR", cache).env("RUST_LOG", "fgd_sync=debug").args(["render", "-"]).stdin(Stdio::null());
    let out = run(&mut cmd);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out
}

fn loaded_from_cache(run: &Run) -> bool {
    run.stderr.contains("origin=Cached")
}

/// The `.cwasm` files of a cache directory.
fn cached_files(cache: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(cache).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

/// Issue 12, item 1: a precompiled component is native code; one that someone else could have
/// written (a group- or world-writable file or directory, a symlink) is never loaded.
#[test]
fn a_planted_precompiled_component_is_never_loaded() {
    let tmp = TempDir::new("security-cache").unwrap();
    let cache = tmp.path().join("cache");

    // First run: creates a private directory and one private file, nothing else.
    assert!(!loaded_from_cache(&render_with_cache(&cache)));
    assert_eq!(mode(&cache), 0o700, "the cache directory is private");
    let files = cached_files(&cache);
    assert_eq!(files.len(), 1, "one file, no temporary left: {files:?}");
    let file = files[0].clone();
    assert_eq!(mode(&file) & 0o022, 0, "not writable by group or others: {:o}", mode(&file));
    assert!(loaded_from_cache(&render_with_cache(&cache)), "an honest cache is used");

    // A file others may write: recompiled, with a warning, and replaced by a private one.
    chmod(&file, 0o666);
    let out = render_with_cache(&cache);
    assert!(!loaded_from_cache(&out), "{}", out.stderr);
    assert!(out.stderr.contains("recompiling"), "the log says why: {}", out.stderr);
    assert_eq!(mode(&file) & 0o022, 0, "replaced by a private file");
    assert!(loaded_from_cache(&render_with_cache(&cache)));

    // A symlink to a compiled component elsewhere (valid, but not ours to trust).
    let elsewhere = tmp.path().join("elsewhere.cwasm");
    std::fs::rename(&file, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &file).unwrap();
    let out = render_with_cache(&cache);
    assert!(!loaded_from_cache(&out), "a symlink is not followed: {}", out.stderr);
    assert!(!std::fs::symlink_metadata(&file).unwrap().file_type().is_symlink(), "the link is replaced");

    // A directory others may write to: nothing in it is trusted, nothing is written to it.
    chmod(&cache, 0o777);
    let out = render_with_cache(&cache);
    assert!(!loaded_from_cache(&out), "{}", out.stderr);
    assert!(out.stderr.contains("recompiling"), "{}", out.stderr);
    chmod(&cache, 0o700);
}

/// A `git` on `PATH` that writes down, for every run, its environment and what the shared
/// temp directory holds at that moment, then runs the real git.
struct GitSpy {
    tmp: TempDir,
}

impl GitSpy {
    fn new() -> GitSpy {
        let tmp = TempDir::new("security-git").unwrap();
        let real =
            String::from_utf8(std::process::Command::new("sh").args(["-c", "command -v git"]).output().unwrap().stdout)
                .unwrap();
        for dir in ["bin", "shared-tmp", "crs"] {
            std::fs::create_dir(tmp.path().join(dir)).unwrap();
        }
        let spy = tmp.path().join("bin/git");
        let script = format!(
            "#!/bin/sh\n{{ echo '--- env'; env; echo '--- tmp'; ls -A '{shared}'; }} >> '{log}'\nexec '{real}' \"$@\"\n",
            shared = tmp.path().join("shared-tmp").display(),
            log = tmp.path().join("spy.log").display(),
            real = real.trim(),
        );
        std::fs::write(&spy, script).unwrap();
        chmod(&spy, 0o755);
        GitSpy { tmp }
    }

    /// `fgd-sync sync` of two VPCs into a local repository, git from the spy's `PATH`, the
    /// temp dir in the spy's shared directory, and secrets in the environment.
    fn sync(&self) -> Run {
        let crs = self.tmp.path().join("crs");
        for (name, vlan) in [("vpc-a", 1001), ("vpc-b", 1002)] {
            let text = format!("apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: {name}\nspec:\n  subnets:\n    default: {{subnet: 10.0.{}.0/24, vlan: {vlan}}}\n", vlan - 1000);
            std::fs::write(crs.join(format!("{name}.yaml")), text).unwrap();
        }
        let path = format!("{}:{}", self.tmp.path().join("bin").display(), std::env::var("PATH").unwrap_or_default());
        let mut cmd = cli::command();
        cmd.env("PATH", path)
            .env("TMPDIR", self.tmp.path().join("shared-tmp"))
            .env("GITHUB_TOKEN", "ghp_SECRET_github_token_value")
            .env("NETBOX_TOKEN", "SECRET_netbox_token_value")
            .env("FGD_SYNC_WEBHOOK_SECRET", "SECRET_webhook_secret")
            // Variables git would obey: an alias, a config injection, a redirected index.
            .env("GIT_CONFIG_COUNT", "1")
            .env("GIT_CONFIG_KEY_0", "core.hooksPath")
            .env("GIT_CONFIG_VALUE_0", self.tmp.path().join("hooks"))
            .env("GIT_INDEX_FILE", self.tmp.path().join("shared-tmp/planted-index"))
            .args(["sync", "--json", "--fabric", "dc1"])
            .arg("--local-repo")
            .arg(self.tmp.path().join("fabric.git"))
            .arg("--source-dir")
            .arg(&crs);
        let out = run(&mut cmd);
        assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
        out
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.tmp.path().join("spy.log")).expect("git ran")
    }
}

/// Issue 12, item 3: git children get `PATH`, `HOME` and `LC_ALL` from us, and nothing else of
/// the environment: no token, no secret, no `GIT_*` variable that would reconfigure git.
#[test]
fn git_children_see_no_secret_and_no_inherited_git_variable() {
    let spy = GitSpy::new();
    spy.sync();
    let log = spy.log();
    assert!(log.matches("--- env").count() > 3, "git ran several times:\n{log}");
    for secret in ["SECRET", "GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_0", "planted-index", "TMPDIR"] {
        assert!(!log.contains(secret), "{secret} reached git:\n{log}");
    }
    let names: std::collections::BTreeSet<&str> =
        log.lines().filter(|l| !l.starts_with("---")).filter_map(|l| l.split_once('=').map(|(n, _)| n)).collect();
    let expected = ["PATH", "HOME", "LC_ALL", "PWD", "OLDPWD", "SHLVL", "_"];
    for name in &names {
        assert!(
            expected.contains(name) || name.starts_with("GIT_"),
            "{name} was inherited by git (everything: {names:?})"
        );
    }
}

/// Issue 12, item 2: the local git store's temporary files (blobs to hash, a temporary index)
/// never appear in the shared temp directory, where another user could predict their names,
/// plant a directory or a symlink, or swap content between our write and git's read.
#[test]
fn the_local_store_writes_no_temporary_file_to_the_shared_temp_dir() {
    let spy = GitSpy::new();
    spy.sync();
    let log = spy.log();
    let listed: Vec<&str> = log
        .split("--- tmp\n")
        .skip(1)
        .flat_map(|section| section.lines().take_while(|l| !l.starts_with("---")))
        .collect();
    assert!(listed.is_empty(), "temporary files in the shared temp dir: {listed:?}");
}

/// Issue 12, item 2: `fgd-sync demo` puts its repository in a new private directory with an
/// unpredictable name, never in one that already exists.
#[test]
fn the_demo_directory_is_private_and_new() {
    let tmp = TempDir::new("security-demo").unwrap();
    let mut cmd = cli::command();
    cmd.env("TMPDIR", tmp.path()).arg("demo");
    let out = run(&mut cmd);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let dirs: Vec<PathBuf> = std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    assert_eq!(mode(&dirs[0]), 0o700, "{}", dirs[0].display());
    let name = dirs[0].file_name().unwrap().to_string_lossy().into_owned();
    let pid_only = name.strip_prefix("fgd-sync-demo-").is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit()));
    assert!(!pid_only, "a name made of the pid alone is predictable: {name}");
}

const VPC: &str = "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: vpc-1\nspec:\n  subnets:\n    default: {subnet: 10.0.1.0/24, vlan: 1001}\n";

/// `fgd-sync sync --json` of the manifests in `crs` into a local repository next to it.
fn sync_dir(tmp: &TempDir, crs: &Path, extra: &[&str]) -> Run {
    let mut cmd = cli::command();
    cmd.env("SOME_SECRET", "SECRET_value_in_the_environment")
        .args(["sync", "--json", "--fabric", "dc1"])
        .args(extra)
        .arg("--local-repo")
        .arg(tmp.path().join("fabric.git"))
        .arg("--source-dir")
        .arg(crs);
    run(&mut cmd)
}

/// Issue 12, item 4: `--source-dir` reads no symbolic link (a link to `/proc/self/environ`
/// passed the size cap at 0 bytes and its text reached the parser and its error messages),
/// nothing outside the directory, and no deeper than a cap.
#[test]
fn the_source_directory_follows_no_link_and_stays_inside() {
    let tmp = TempDir::new("security-source").unwrap();
    let crs = tmp.path().join("crs");
    std::fs::create_dir(&crs).unwrap();
    std::fs::write(crs.join("vpc.yaml"), VPC).unwrap();

    std::os::unix::fs::symlink("/proc/self/environ", crs.join("env.yaml")).unwrap();
    let out = sync_dir(&tmp, &crs, &[]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(out.stderr.contains("symbolic link"), "{}", out.stderr);
    assert!(!format!("{}{}", out.stdout, out.stderr).contains("SECRET"), "{}", out.stderr);
    std::fs::remove_file(crs.join("env.yaml")).unwrap();

    // A link to a manifest outside the directory, and a linked directory holding one.
    let outside = tmp.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("other.yaml"), VPC.replace("vpc-1", "vpc-outside")).unwrap();
    std::os::unix::fs::symlink(outside.join("other.yaml"), crs.join("other.yaml")).unwrap();
    let out = sync_dir(&tmp, &crs, &[]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(out.stderr.contains("symbolic link"), "{}", out.stderr);
    std::fs::remove_file(crs.join("other.yaml")).unwrap();
    std::os::unix::fs::symlink(&outside, crs.join("linked")).unwrap();
    let out = sync_dir(&tmp, &crs, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let written: Vec<String> = out.report().changes.iter().map(|c| c.path.clone()).collect();
    assert!(written.iter().all(|p| !p.contains("vpc-outside")), "a linked directory is not entered: {written:?}");
    assert_eq!(written.len(), 1, "{written:?}");

    // Deeper than the cap: an error, not a silent skip.
    let mut deep = tmp.path().join("deep");
    for i in 0..20 {
        deep = deep.join(format!("d{i}"));
    }
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("vpc.yaml"), VPC).unwrap();
    let out = sync_dir(&tmp, &tmp.path().join("deep"), &[]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(out.stderr.contains("directories deep"), "{}", out.stderr);
}

/// Issue 12, item 4: the HTTP log and the cassette hold repository content and request
/// details: they are created readable by their owner only.
#[test]
fn http_logs_and_cassettes_are_private() {
    let tmp = TempDir::new("security-logs").unwrap();
    let crs = tmp.path().join("crs");
    std::fs::create_dir(&crs).unwrap();
    std::fs::write(crs.join("vpc.yaml"), VPC).unwrap();
    let (log, cassette) = (tmp.path().join("http.jsonl"), tmp.path().join("run.cassette.json"));
    let out = sync_dir(&tmp, &crs, &["--http-log", log.to_str().unwrap(), "--record", cassette.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(mode(&log), 0o600);
    assert_eq!(mode(&cassette), 0o600);
}

/// A loopback server that counts connections and answers each with a 404.
fn counting_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = stream.read(&mut [0u8; 64 * 1024]);
            let body = r#"{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}"#;
            let _ = write!(stream, "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
        }
    });
    (url, count)
}

/// Issue 12, item 7: the host adds the token only to the requests a sync makes for the
/// configured repository. A guest that addresses another repository on the same forge (what
/// a compromised guest would do to read it, or to create gists or deploy keys) is refused
/// before anything leaves: the forge sees no connection at all.
#[test]
fn the_token_is_scoped_to_the_configured_repository() {
    use fgd_sync::net::hooks::{HttpLimits, PolicyHooks};
    use fgd_sync::net::policy::{EgressPolicy, Token};
    use fgd_sync::runtime::{CallContext, Operation, Runtime, RuntimeConfig, SyncCall};
    use fgd_sync::source::directory::DirectorySource;
    use fgd_sync::wit::{Direction, Selection, SyncError, SyncOptions, Target};

    let (forge, hits) = counting_server();
    let runtime =
        Runtime::load(RuntimeConfig { cache_dir: Some(cli::cache_dir()), ..RuntimeConfig::default() }).unwrap();
    let mut policy = EgressPolicy::default();
    policy.allow_repository(&forge, "acme", "fabric", Some(Token::new("s3cret-token"))).unwrap();
    let context = CallContext {
        hooks: PolicyHooks::new(policy, HttpLimits::default()),
        source: std::sync::Arc::new(DirectorySource::new(Vec::new())),
    };
    let target = |repo: &str| Target {
        api_base: forge.clone(),
        owner: "acme".into(),
        repo: repo.into(),
        branch: "main".into(),
        directory: "fabrics/dc1/gitops".into(),
        committer: None,
        message_prefix: String::new(),
    };
    let options = SyncOptions {
        max_attempts: 1,
        max_rate_limit_wait_secs: 0,
        max_deletions: None,
        resolutions: Vec::new(),
        direction: Direction::Push,
    };
    let sync = |repo: &str| {
        let call = SyncCall::new(Operation::Sync, "dc1", Selection::Fabric);
        let future = runtime.sync(context.clone(), call, target(repo), options.clone());
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future).unwrap()
    };
    match sync("other-repo") {
        Err(SyncError::Transport(message)) => assert!(message.contains("refused"), "{message}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0, "nothing left for another repository");
    // The configured repository is reached (the forge answers 404: no such branch).
    assert!(matches!(sync("fabric"), Err(SyncError::BranchNotFound(_))));
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
}

/// Issue 12, item 8: no token goes over plain HTTP to another host than loopback unless the
/// operator opts in, and a configured origin with a trailing dot is refused.
#[test]
fn tokens_never_travel_over_plain_http_beyond_loopback() {
    let tmp = TempDir::new("security-http").unwrap();
    let crs = tmp.path().join("crs");
    std::fs::create_dir(&crs).unwrap();
    std::fs::write(crs.join("vpc.yaml"), VPC).unwrap();
    let attempt = |api: &str, extra: &[&str]| {
        let mut cmd = cli::command();
        cmd.env("GITHUB_TOKEN", "ghp_secret")
            .args(["plan", "--json", "--fabric", "dc1", "--repo", "acme/fabric", "--github-api", api, "--timeout", "5"])
            .args(extra)
            .arg("--source-dir")
            .arg(&crs);
        run(&mut cmd)
    };
    let out = attempt("http://github.example.invalid/api/v3", &[]);
    assert_ne!(out.code, 0);
    assert!(format!("{}{}", out.stdout, out.stderr).contains("plain HTTP"), "{}{}", out.stdout, out.stderr);
    // Opted in: the policy lets it through (and the host, .invalid, does not resolve).
    let out = attempt("http://github.example.invalid/api/v3", &["--allow-insecure-http"]);
    assert!(!format!("{}{}", out.stdout, out.stderr).contains("plain HTTP"), "{}", out.stderr);
    let out = attempt("https://api.github.com./", &[]);
    assert_ne!(out.code, 0);
    assert!(format!("{}{}", out.stdout, out.stderr).contains("dot"), "{}{}", out.stdout, out.stderr);

    let mut cmd = cli::command();
    cmd.env("NETBOX_TOKEN", "netbox-secret")
        .args(["plan", "--fabric", "dc1", "--local-repo"])
        .arg(tmp.path().join("fabric.git"))
        .args(["--netbox-url", "http://netbox.example.invalid"]);
    let out = run(&mut cmd);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("plain HTTP"), "{}", out.stderr);
}

const WEBHOOK_SECRET: &str = "webhook-secret-for-security-tests";

/// A running `fgd-sync serve` of one directory fabric into a local repository; killed on drop.
struct Served {
    child: std::process::Child,
    addr: String,
    /// Where `/metrics` has its own listener (`--metrics-listen`).
    metrics_addr: Option<String>,
    /// Every line serve wrote to stderr so far.
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    _tmp: TempDir,
}

impl Served {
    fn start(extra: &[&str]) -> Served {
        Served::start_with_env(extra, &[])
    }

    fn start_with_env(extra: &[&str], env: &[(&str, &str)]) -> Served {
        Served::start_with(extra, env, &[("vpc.yaml", VPC)])
    }

    /// With `files` in the source directory; reconciling is off unless `extra` sets it.
    fn start_with(extra: &[&str], env: &[(&str, &str)], files: &[(&str, &str)]) -> Served {
        use std::io::BufRead;
        let tmp = TempDir::new("security-serve").unwrap();
        let crs = tmp.path().join("crs");
        std::fs::create_dir(&crs).unwrap();
        for (name, text) in files {
            std::fs::write(crs.join(name), text).unwrap();
        }
        let mut cmd = cli::command();
        cmd.env("FGD_SYNC_WEBHOOK_SECRET", WEBHOOK_SECRET)
            .envs(env.iter().copied())
            .args(["serve", "--fabric", "dc1"])
            .args(if extra.contains(&"--reconcile-interval") { &[][..] } else { &["--reconcile-interval", "0"][..] })
            .args(if extra.contains(&"--listen") { &[][..] } else { &["--listen", "127.0.0.1:0"][..] })
            .args(extra)
            .arg("--local-repo")
            .arg(tmp.path().join("fabric.git"))
            .arg("--source-dir")
            .arg(&crs)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (found, address) = std::sync::mpsc::channel();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                for (key, marker) in [("metrics", "/metrics on http://"), ("listen", "listening on http://")] {
                    if let Some(rest) = line.split(marker).nth(1) {
                        let _ = found.send((key, rest.split_whitespace().next().unwrap_or_default().to_owned()));
                    }
                }
                lines.lock().unwrap().push(line);
            }
        });
        let mut metrics_addr = None;
        let addr = loop {
            match address.recv_timeout(std::time::Duration::from_secs(120)).expect("serve started") {
                ("metrics", addr) => metrics_addr = Some(addr),
                (_, addr) => break addr,
            }
        };
        let served = Served { child, addr, metrics_addr, log, _tmp: tmp };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while served.get("/readyz").0 != 200 {
            assert!(std::time::Instant::now() < deadline, "serve never got ready");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        served
    }

    fn get(&self, path: &str) -> (u16, std::time::Duration) {
        self.get_at(&self.addr, path, &[])
    }

    fn get_at(&self, addr: &str, path: &str, headers: &[(&str, &str)]) -> (u16, std::time::Duration) {
        let started = std::time::Instant::now();
        let url = format!("http://{addr}{path}");
        let status =
            fgd_sync_tests::github::client::send("GET", &url, headers, None, std::time::Duration::from_secs(30))
                .map_or(0, |r| r.status);
        (status, started.elapsed())
    }

    /// POSTs a correctly signed webhook NetBox sends for an object fgd-sync ignores: any
    /// answer but 401, 408 and 503 means it was read and its signature checked.
    fn deliver(&self) -> (u16, std::time::Duration) {
        let body = br#"{"event":"created","model":"site","data":{"id":1,"name":"x"}}"#;
        let signature = fgd_sync_tests::hnp::signature(WEBHOOK_SECRET.as_bytes(), body);
        let headers = [("Content-Type", "application/json"), ("X-Hook-Signature", signature.as_str())];
        let url = format!("http://{}/webhooks/netbox", self.addr);
        let started = std::time::Instant::now();
        let status = fgd_sync_tests::github::client::send(
            "POST",
            &url,
            &headers,
            Some(body),
            std::time::Duration::from_secs(60),
        )
        .map_or(0, |r| r.status);
        (status, started.elapsed())
    }

    /// `VmRSS` and `VmHWM` (peak) of the process, in KiB.
    fn memory_kib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .unwrap()
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Issue 12, item 5: 512 connections that each send most of a large body with a made-up
/// signature and then stall (the body is buffered before the HMAC can be checked) hold
/// little memory, and correctly signed webhooks still get through meanwhile.
#[test]
fn slow_unauthenticated_bodies_neither_exhaust_memory_nor_block_signed_webhooks() {
    use std::io::Write;
    const ATTACKERS: usize = 512;
    const BODY: usize = 256 * 1024 - 1;
    let served = Served::start(&[]);
    assert_eq!(served.deliver().0, 200, "a signed webhook is read and ignored");
    let (idle_rss, _) = served.memory_kib();

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let attackers: Vec<_> = (0..ATTACKERS)
        .map(|_| {
            let (addr, stop) = (served.addr.clone(), stop.clone());
            std::thread::spawn(move || {
                let Ok(mut stream) = std::net::TcpStream::connect(&addr) else { return };
                let head = format!(
                    "POST /webhooks/netbox HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nX-Hook-Signature: {}\r\n\r\n",
                    BODY + 1,
                    "0".repeat(128)
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&vec![b'x'; BODY]);
                // Stall with the last byte unsent, for a bounded time.
                for _ in 0..100 {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
            })
        })
        .collect();

    let mut delivered = Vec::new();
    let mut peak = 0;
    for _ in 0..8 {
        std::thread::sleep(std::time::Duration::from_millis(500));
        peak = peak.max(served.memory_kib().0);
        delivered.push(served.deliver());
    }
    let (status, healthz) = served.get("/healthz");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    attackers.into_iter().for_each(|a| a.join().unwrap());
    let (_, hwm) = served.memory_kib();
    let over_idle_mib = (hwm.max(peak) - idle_rss) as f64 / 1024.0;
    eprintln!(
        "serve under {ATTACKERS} stalled {BODY}-byte unauthenticated bodies: idle RSS {} MiB, peak {} MiB, {over_idle_mib:.1} MiB over idle; signed webhooks {:?}; /healthz {status} in {healthz:?}",
        idle_rss / 1024,
        hwm.max(peak) / 1024,
        delivered
    );
    assert!(delivered.iter().all(|(s, _)| *s == 200), "every signed webhook got through: {delivered:?}");
    assert!(over_idle_mib < 64.0, "peak {over_idle_mib:.1} MiB over idle");
}

/// Issue 12, item 11: Git content is printed to the operator's terminal in conflict diffs;
/// escape sequences someone committed are shown escaped, never sent to the terminal.
#[test]
fn escape_sequences_committed_to_git_are_shown_escaped() {
    let tmp = TempDir::new("security-escape").unwrap();
    let crs = tmp.path().join("crs");
    std::fs::create_dir(&crs).unwrap();
    std::fs::write(crs.join("vpc.yaml"), VPC).unwrap();
    assert_eq!(sync_dir(&tmp, &crs, &[]).code, 0);

    // Someone with push access edits the file: a window title and a screen clear.
    let work = tmp.path().join("work");
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=m", "-c", "user.email=m@x", "-C"])
            .arg(&work)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let clone = std::process::Command::new("git")
        .arg("clone")
        .arg("-q")
        .arg(tmp.path().join("fabric.git"))
        .arg(&work)
        .status()
        .unwrap();
    assert!(clone.success());
    let file = work.join("fabrics/dc1/gitops/managed/vpcs/vpc-1.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("# \x1b]0;pwned\x07\x1b[2J\u{202e}\n{}", text.replace("1001", "1999"))).unwrap();
    git(&["commit", "-qam", "edit in git"]);
    git(&["push", "-q", "origin", "HEAD"]);

    std::fs::write(crs.join("vpc.yaml"), VPC.replace("1001", "1555")).unwrap();
    let mut cmd = cli::command();
    cmd.args(["sync", "--fabric", "dc1", "--local-repo"])
        .arg(tmp.path().join("fabric.git"))
        .arg("--source-dir")
        .arg(&crs);
    let out = run(&mut cmd);
    assert_eq!(out.code, 2, "a conflict: {}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("\\x1b]0;pwned\\x07\\x1b[2J\\u{202e}"), "{}", out.stdout);
    assert!(!out.stdout.contains('\x1b') && !out.stdout.contains('\u{202e}'), "{:?}", out.stdout);
}

/// Issue 12, item 12: the GitHub token is trimmed as the NetBox one is (a token pasted with
/// its newline into a secret store used to fail every request).
#[test]
fn a_github_token_with_surrounding_whitespace_works() {
    use fgd_sync_tests::github::{StandIn, StandInOptions};
    let gh = StandIn::start(StandInOptions::default()).expect("stand-in");
    let tmp = TempDir::new("security-token").unwrap();
    let crs = tmp.path().join("crs");
    std::fs::create_dir(&crs).unwrap();
    std::fs::write(crs.join("vpc.yaml"), VPC).unwrap();
    let mut cmd = cli::command();
    cmd.env("GITHUB_TOKEN", format!("  {}\n", gh.token()))
        .args(["sync", "--json", "--fabric", "dc1", "--github-api", &gh.api_base(), "--repo", "acme/fabric"])
        .arg("--source-dir")
        .arg(&crs);
    let out = run(&mut cmd);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.report().commit.is_some());
}

/// Issue 12, item 10: a guest that computes for a second (here: parsing 40 000 documents, the
/// last one invalid, so the answer is short) hands its thread back to the executor every
/// epoch tick, so other tasks of the process (serve's `/healthz`, other fabrics' workers)
/// keep running. On a single-threaded executor, a 10 ms ticker task beside the guest is
/// never late by 100 ms.
#[test]
fn a_computing_guest_does_not_stall_the_async_runtime() {
    use fgd_sync::net::hooks::{HttpLimits, PolicyHooks};
    use fgd_sync::net::policy::EgressPolicy;
    use fgd_sync::runtime::{CallContext, Runtime, RuntimeConfig};
    use fgd_sync::source::directory::DirectorySource;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    let runtime =
        Runtime::load(RuntimeConfig { cache_dir: Some(cli::cache_dir()), ..RuntimeConfig::default() }).unwrap();
    let context = CallContext {
        hooks: PolicyHooks::new(EgressPolicy::default(), HttpLimits::default()),
        source: Arc::new(DirectorySource::new(Vec::new())),
    };
    let mut text: String = (0..40_000)
        .map(|i| format!("apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: v{i}\nspec:\n  subnets:\n    default: {{subnet: 10.0.0.0/24, vlan: {}}}\n---\n", 1000 + i % 1000))
        .collect();
    text.push_str("kind: [not, a, kind]\n");
    let executor = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let worst = Arc::new(Mutex::new(Duration::ZERO));
    let (answer, computing) = executor.block_on(async {
        let record = worst.clone();
        let ticker = tokio::spawn(async move {
            loop {
                let before = Instant::now();
                tokio::time::sleep(Duration::from_millis(10)).await;
                let late = before.elapsed().saturating_sub(Duration::from_millis(10));
                let mut worst = record.lock().unwrap();
                *worst = (*worst).max(late);
            }
        });
        tokio::time::sleep(Duration::from_millis(20)).await; // the ticker is running
        let started = Instant::now();
        let answer = runtime.parse_manifests(context, "big.yaml".into(), text).await;
        let computing = started.elapsed();
        tokio::time::sleep(Duration::from_millis(30)).await; // the ticker notes a stall
        ticker.abort();
        (answer, computing)
    });
    let worst = *worst.lock().unwrap();
    assert!(answer.unwrap().is_err(), "the last document is invalid");
    eprintln!("the guest computed for {computing:?}; a 10 ms ticker beside it was late by at most {worst:?}");
    assert!(computing > Duration::from_millis(200), "the guest really computed: {computing:?}");
    assert!(worst < Duration::from_millis(100), "the executor stalled for {worst:?}");
}

/// Issue 12, item 13: the CI example builds one pinned commit and caches it under that commit
/// (it built a moving branch and cached the binary under the branch's name).
#[test]
fn the_ci_example_builds_a_pinned_commit() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("examples/ci");
    let workflow = std::fs::read_to_string(root.join("fgd-sync.yml")).unwrap();
    let action = std::fs::read_to_string(root.join("install-fgd-sync/action.yml")).unwrap();
    assert!(workflow.contains("FGD_SYNC_REV:") && !workflow.contains("FGD_SYNC_REF"), "{workflow}");
    let install = action.lines().find(|l| l.contains("cargo install")).expect("an install step");
    assert!(install.contains("--rev \"$FGD_SYNC_REV\"") && !install.contains("--branch"), "{install}");
    assert!(action.contains("key: fgd-sync-${{ runner.os }}-${{ env.FGD_SYNC_GIT }}-${{ env.FGD_SYNC_REV }}"));
    assert!(action.contains("^[0-9a-f]{40}$"), "a branch or tag name is refused before building");
}

/// Issue 12, item 6: `/metrics` (fabric names, conflict counts) is not served to whoever can
/// reach a public webhook listener: only on loopback, on its own listener, or with a token.
#[test]
fn metrics_are_not_served_on_a_public_webhook_listener() {
    let metrics = |s: &Served, addr: &str, headers: &[(&str, &str)]| s.get_at(addr, "/metrics", headers).0;
    // Webhooks on every address: no /metrics there.
    let public = Served::start(&["--listen", "0.0.0.0:0"]);
    assert_eq!(metrics(&public, &public.addr, &[]), 404);
    assert_eq!(public.deliver().0, 200, "webhooks still work");
    drop(public);

    // Its own listener: there, and only there.
    let split = Served::start(&["--listen", "0.0.0.0:0", "--metrics-listen", "127.0.0.1:0"]);
    let admin = split.metrics_addr.clone().expect("a metrics listener");
    assert_eq!(metrics(&split, &split.addr, &[]), 404);
    assert_eq!(metrics(&split, &admin, &[]), 200);
    assert_eq!(split.get_at(&admin, "/webhooks/netbox", &[]).0, 404, "no webhooks on the metrics listener");
    drop(split);

    // With a token: required.
    let token = Served::start_with_env(
        &["--listen", "0.0.0.0:0", "--metrics-token-env", "METRICS_TOKEN"],
        &[("METRICS_TOKEN", "metrics-s3cret")],
    );
    assert_eq!(metrics(&token, &token.addr, &[]), 401);
    assert_eq!(metrics(&token, &token.addr, &[("Authorization", "Bearer wrong")]), 401);
    assert_eq!(metrics(&token, &token.addr, &[("Authorization", "Bearer metrics-s3cret")]), 200);
}

/// `fgd-sync sync --json` of the manifests in `crs` into the stand-in's repository.
fn sync_to(gh: &fgd_sync_tests::github::StandIn, crs: &Path) -> Run {
    let mut cmd = cli::command();
    cmd.env("GITHUB_TOKEN", gh.token())
        .args(["sync", "--json", "--fabric", "dc1", "--github-api", &gh.api_base(), "--repo", "acme/fabric"])
        .arg("--source-dir")
        .arg(crs);
    run(&mut cmd)
}

/// Issue 12, item 2: whatever stands between the guest and the repository (a proxy, the
/// server, a swapped temporary file of a local store) may store other content than a sync
/// sent. The guest checks the tree it gets back against the blobs it computed before it
/// commits: the sync fails, the branch does not move, nothing is rolled out. From a complete
/// listing of the head the check costs no request; after a truncated one, it lists the tree.
#[test]
fn a_tree_holding_other_content_than_was_sent_is_never_committed() {
    use fgd_sync_tests::github::{Faults, Rule, StandIn, StandInOptions};
    for truncate in [None, Some(1)] {
        let gh = StandIn::start(StandInOptions { truncate_tree_after: truncate, ..StandInOptions::default() })
            .expect("stand-in");
        let tmp = TempDir::new("security-tree").unwrap();
        let crs = tmp.path().join("crs");
        std::fs::create_dir(&crs).unwrap();
        std::fs::write(crs.join("vpc.yaml"), VPC).unwrap();
        let out = sync_to(&gh, &crs);
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);

        // An honest forge: the check passes, at no extra request when the listing is complete.
        std::fs::write(crs.join("vpc.yaml"), VPC.replace("1001", "1002")).unwrap();
        gh.clear_exchanges();
        let out = sync_to(&gh, &crs);
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
        let honest_reads = gh.count("GET", "/git/trees/");
        if truncate.is_none() {
            assert_eq!(gh.exchanges().len(), 7, "the seven requests of a sync, no more");
        }

        std::fs::write(crs.join("vpc.yaml"), VPC.replace("1001", "1555")).unwrap();
        let head = gh.repo().head("main");
        gh.faults().set(Faults::default().rule(Rule::tampered_tree()));
        gh.clear_exchanges();
        let out = sync_to(&gh, &crs);
        let shown = format!("{}{}", out.stdout, out.stderr);
        assert_ne!(out.code, 0, "{shown}");
        assert!(shown.contains("does not hold the files fgd-sync sent"), "{shown}");
        assert_eq!(gh.repo().head("main"), head, "the branch did not move");
        assert_eq!(gh.count("POST", "/git/commits"), 0, "nothing was committed");
        assert_eq!(gh.count("GET", "/git/trees/"), honest_reads, "the same reads as an honest forge's");
        let exchanges = gh.exchanges();
        let created = exchanges.iter().find(|e| e.method == "POST" && e.path.ends_with("/git/trees")).unwrap();
        let created: serde_json::Value = serde_json::from_slice(&created.response_body).unwrap();
        let listed = format!("/git/trees/{}", created["sha"].as_str().unwrap());
        let listed = exchanges.iter().any(|e| e.method == "GET" && e.path.contains(&listed));
        assert_eq!(listed, truncate.is_some(), "the new tree is listed only when the head's listing was cut short");

        gh.faults().clear();
        let out = sync_to(&gh, &crs);
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
        let file = gh.repo().show("main", "fabrics/dc1/gitops/managed/vpcs/vpc-1.yaml").unwrap();
        assert!(file.contains("1555") && !file.contains("injected"), "{file}");
    }
}

/// Issue 12, item 9: a forge that answers with more headers than the guest needs (each one
/// lands in the guest's resource table and memory) is refused by the host.
#[test]
fn response_headers_beyond_the_limit_never_reach_the_guest() {
    use fgd_sync::net::hooks::{HttpLimits, PolicyHooks};
    use fgd_sync::net::policy::EgressPolicy;
    use fgd_sync::runtime::{CallContext, Operation, Runtime, RuntimeConfig, SyncCall};
    use fgd_sync::source::directory::DirectorySource;
    use fgd_sync::wit::{Direction, Selection, SyncError, SyncOptions, Target};
    use std::io::{Read, Write};

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let forge = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = stream.read(&mut [0u8; 64 * 1024]);
            // More than the host's 64, fewer than hyper's own limit of 100.
            let headers: String = (0..80).map(|i| format!("x-padding-{i}: {}\r\n", "p".repeat(100))).collect();
            let _ =
                write!(stream, "HTTP/1.1 404 Not Found\r\n{headers}content-length: 2\r\nconnection: close\r\n\r\n{{}}");
        }
    });
    let runtime =
        Runtime::load(RuntimeConfig { cache_dir: Some(cli::cache_dir()), ..RuntimeConfig::default() }).unwrap();
    let mut policy = EgressPolicy::default();
    policy.allow_repository(&forge, "acme", "fabric", None).unwrap();
    let context = CallContext {
        hooks: PolicyHooks::new(policy, HttpLimits::default()),
        source: std::sync::Arc::new(DirectorySource::new(Vec::new())),
    };
    let target = Target {
        api_base: forge.clone(),
        owner: "acme".into(),
        repo: "fabric".into(),
        branch: "main".into(),
        directory: "fabrics/dc1/gitops".into(),
        committer: None,
        message_prefix: String::new(),
    };
    let options = SyncOptions {
        max_attempts: 1,
        max_rate_limit_wait_secs: 0,
        max_deletions: None,
        resolutions: Vec::new(),
        direction: Direction::Push,
    };
    let call = SyncCall::new(Operation::Plan, "dc1", Selection::Fabric);
    let executor = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    match executor.block_on(runtime.sync(context, call, target, options)).unwrap() {
        Err(SyncError::Transport(message)) => assert!(message.contains("HeaderSectionSize"), "{message}"),
        other => panic!("expected the answer to be refused, got {other:?}"),
    }
}

/// A CA of our own and a certificate for 127.0.0.1 it signed: (CA PEM, certificate, key).
fn private_ca() -> (String, rustls::pki_types::CertificateDer<'static>, rustls::pki_types::PrivateKeyDer<'static>) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose};
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca_key = KeyPair::generate().unwrap();
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap().signed_by(&key, &issuer).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    (ca_pem, cert.der().clone(), key)
}

/// An HTTPS server on loopback that counts the requests it gets past the handshake and
/// answers each with GitHub's 404.
fn tls_server(
    cert: rustls::pki_types::CertificateDer<'static>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let config = std::sync::Arc::new(config);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let served = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (config, served) = (config.clone(), served.clone());
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(10)));
                let mut tls = rustls::StreamOwned::new(rustls::ServerConnection::new(config).unwrap(), stream);
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                served.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let body = r#"{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}"#;
                let _ = write!(tls, "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    (url, count)
}

/// Issue 12, item 8: GitHub Enterprise Server and NetBox behind an internal CA. Without the
/// CA bundle no request gets past the TLS handshake; with `--ca-file` (or `ca_file` in the
/// config file) both the guest's GitHub requests and the host's NetBox requests reach it.
#[test]
fn a_private_ca_is_trusted_only_when_configured() {
    let tmp = TempDir::new("security-ca").unwrap();
    let (ca_pem, cert, key) = private_ca();
    let ca_file = tmp.path().join("internal-ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let (url, served) = tls_server(cert, key);
    let served = || served.load(std::sync::atomic::Ordering::SeqCst);
    let crs = tmp.path().join("crs");
    std::fs::create_dir(&crs).unwrap();
    std::fs::write(crs.join("vpc.yaml"), VPC).unwrap();
    let ca = ["--ca-file", ca_file.to_str().unwrap()];

    let github = |extra: &[&str]| {
        let mut cmd = cli::command();
        cmd.args(["plan", "--json", "--fabric", "dc1", "--repo", "acme/fabric", "--github-api", &url])
            .args(["--timeout", "60"])
            .args(extra)
            .arg("--source-dir")
            .arg(&crs);
        run(&mut cmd)
    };
    let out = github(&[]);
    assert_ne!(out.code, 0);
    assert_eq!(served(), 0, "refused at the handshake: {}{}", out.stdout, out.stderr);
    let out = github(&ca);
    assert_eq!(served(), 1, "the guest reached the server: {}{}", out.stdout, out.stderr);
    assert!(format!("{}{}", out.stdout, out.stderr).contains("main"), "branch not found: {}", out.stderr);

    let netbox = |extra: &[&str]| {
        let mut cmd = cli::command();
        cmd.env("NETBOX_TOKEN", "netbox-token")
            .args(["plan", "--fabric", "dc1", "--netbox-url", &url])
            .args(extra)
            .arg("--local-repo")
            .arg(tmp.path().join("fabric.git"));
        run(&mut cmd)
    };
    let out = netbox(&[]);
    assert_ne!(out.code, 0);
    assert_eq!(served(), 1, "refused at the handshake: {}", out.stderr);
    let out = netbox(&ca);
    assert_ne!(out.code, 0, "the server answers 404");
    assert_eq!(served(), 2, "the host reached NetBox: {}", out.stderr);

    // The config file's key, relative to the file.
    let config = tmp.path().join("fgd-sync.toml");
    let text = format!(
        "[defaults]\nca_file = \"internal-ca.pem\"\nnetbox_url = \"{url}\"\n\n[[fabric]]\nname = \"dc1\"\nlocal = \"fabric.git\"\n"
    );
    std::fs::write(&config, text).unwrap();
    let mut cmd = cli::command();
    cmd.env("NETBOX_TOKEN", "netbox-token").args(["plan", "--config"]).arg(&config);
    let out = run(&mut cmd);
    assert_ne!(out.code, 0);
    assert_eq!(served(), 3, "ca_file in the config file: {}", out.stderr);

    // A file with no certificate in it is refused before anything runs.
    let out = github(&["--ca-file", crs.join("vpc.yaml").to_str().unwrap()]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("no PEM certificate"), "{}", out.stderr);
    assert_eq!(served(), 3);
}

/// Issue 12, item 8: `allow_insecure_http` in the config file is `--allow-insecure-http`.
#[test]
fn the_config_file_can_allow_insecure_http() {
    let tmp = TempDir::new("security-http-config").unwrap();
    let crs = tmp.path().join("crs");
    std::fs::create_dir(&crs).unwrap();
    std::fs::write(crs.join("vpc.yaml"), VPC).unwrap();
    let attempt = |allow: &str| {
        let config = tmp.path().join("fgd-sync.toml");
        let text = format!(
            "[defaults]\ngithub_api = \"http://github.example.invalid/api/v3\"\n{allow}\n[[fabric]]\nname = \"dc1\"\nrepository = \"acme/fabric\"\nsource_dir = \"crs\"\n"
        );
        std::fs::write(&config, text).unwrap();
        let mut cmd = cli::command();
        cmd.env("GITHUB_TOKEN", "ghp_secret").args(["plan", "--json", "--timeout", "5", "--config"]).arg(&config);
        let out = run(&mut cmd);
        format!("{}{}", out.stdout, out.stderr)
    };
    assert!(attempt("").contains("plain HTTP"));
    assert!(attempt("allow_insecure_http = false").contains("plain HTTP"));
    let shown = attempt("allow_insecure_http = true");
    assert!(!shown.contains("plain HTTP"), "{shown}");
}

/// Issue 12, item 10, end to end: `serve` reconciles, every second, a fabric whose source
/// directory takes the guest about a second of computing to parse (40 000 documents, the last
/// one invalid, so nothing is written), while `/healthz` is asked every 10 ms: every answer
/// comes within 100 ms.
#[test]
fn healthz_answers_in_time_while_a_guest_computes_in_serve() {
    use std::time::{Duration, Instant};
    let mut text: String = (0..40_000)
        .map(|i| format!("apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: v{i}\nspec:\n  subnets:\n    default: {{subnet: 10.0.0.0/24, vlan: {}}}\n---\n", 1000 + i % 1000))
        .collect();
    text.push_str("kind: [not, a, kind]\n");
    let served = Served::start_with(&["--reconcile-interval", "1"], &[], &[("big.yaml", &text)]);
    let reconciles = |log: &[String]| -> Vec<u64> {
        log.iter()
            .filter(|l| l.contains("sync failed") && l.contains("reconcile"))
            .filter_map(|l| l.split("ms=").nth(1)?.split_whitespace().next()?.parse().ok())
            .collect()
    };
    let started = Instant::now();
    let (mut worst, mut polls) = (Duration::ZERO, 0);
    while started.elapsed() < Duration::from_secs(20) && reconciles(&served.log.lock().unwrap()).len() < 3 {
        let (status, took) = served.get("/healthz");
        assert_eq!(status, 200);
        worst = worst.max(took);
        polls += 1;
        std::thread::sleep(Duration::from_millis(10));
    }
    let computed = reconciles(&served.log.lock().unwrap());
    eprintln!(
        "/healthz: {polls} answers over {:?}, the slowest in {worst:?}, beside reconciles that took {computed:?} ms",
        started.elapsed()
    );
    assert!(computed.len() >= 2 && computed.iter().all(|ms| *ms > 200), "the guest really computed: {computed:?}");
    assert!(worst < Duration::from_millis(100), "/healthz took {worst:?}");
}
