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
