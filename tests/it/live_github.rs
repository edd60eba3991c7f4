//! The end-to-end matrix against a real GitHub repository: opt-in, so users can prove
//! fgd-sync on their own repository. It runs when these are set, and is skipped with a
//! message otherwise:
//!
//! - `FGD_SYNC_LIVE_GITHUB_REPO=owner/name`: a scratch repository with at least one commit;
//! - `FGD_SYNC_LIVE_GITHUB_TOKEN`: a token with `contents: write` on it;
//! - `FGD_SYNC_LIVE_GITHUB_API` (optional): `https://HOST/api/v3` for GitHub Enterprise Server.
//!
//! It works on a new branch `fgd-sync-live-<time>-<pid>` made from the default branch and
//! deletes that branch at the end. The same matrix also runs against the GitHub stand-in on
//! every test run, so the suite's own code is always exercised.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use fgd_sync::net::client::{Client, Timeouts};
use fgd_sync_tests::cli::{self, run, Run};
use fgd_sync_tests::github::{StandIn, StandInOptions};
use fgd_sync_tests::TempDir;
use http::{HeaderMap, HeaderValue, Method};
use serde_json::{json, Value};

const DIRECTORY: &str = "fgd-sync-live";

struct Live {
    api: String,
    repo: String,
    token: String,
    branch: String,
    client: Client,
    tokio: tokio::runtime::Runtime,
    tmp: TempDir,
}

impl Live {
    fn new(api: &str, repo: &str, token: &str) -> Live {
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        Live {
            api: api.trim_end_matches('/').to_string(),
            repo: repo.to_string(),
            token: token.to_string(),
            branch: format!("fgd-sync-live-{stamp}-{}", std::process::id()),
            client: Client::new(Timeouts::default()),
            tokio: tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap(),
            tmp: TempDir::new("live").expect("temp dir"),
        }
    }

    fn request(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_str(&format!("Bearer {}", self.token)).unwrap());
        headers.insert("accept", HeaderValue::from_static("application/vnd.github+json"));
        headers.insert("x-github-api-version", HeaderValue::from_static("2022-11-28"));
        headers.insert("user-agent", HeaderValue::from_static("fgd-sync-live-tests"));
        let url = format!("{}/repos/{}{path}", self.api, self.repo);
        let body = body.map(|b| b.to_string().into_bytes());
        let response = self.tokio.block_on(self.client.request(method, &url, headers, body)).expect("GitHub answered");
        let value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        (response.status.as_u16(), value)
    }

    fn create_branch(&self) {
        let (status, repo) = self.request(Method::GET, "", None);
        assert_eq!(status, 200, "cannot read {}: {repo}", self.repo);
        let default = repo["default_branch"].as_str().unwrap().to_string();
        let (status, base) = self.request(Method::GET, &format!("/git/ref/heads/{default}"), None);
        assert_eq!(status, 200, "the scratch repository needs at least one commit: {base}");
        let sha = base["object"]["sha"].as_str().unwrap();
        let (status, created) = self.request(
            Method::POST,
            "/git/refs",
            Some(json!({"ref": format!("refs/heads/{}", self.branch), "sha": sha})),
        );
        assert_eq!(status, 201, "{created}");
    }

    fn delete_branch(&self) {
        let (status, answer) = self.request(Method::DELETE, &format!("/git/refs/heads/{}", self.branch), None);
        assert!(status == 204 || status == 200, "deleting {}: {status} {answer}", self.branch);
    }

    fn head(&self) -> String {
        let (status, r) = self.request(Method::GET, &format!("/git/ref/heads/{}", self.branch), None);
        assert_eq!(status, 200, "{r}");
        r["object"]["sha"].as_str().unwrap().to_string()
    }

    fn commit(&self, sha: &str) -> Value {
        let (status, c) = self.request(Method::GET, &format!("/git/commits/{sha}"), None);
        assert_eq!(status, 200, "{c}");
        c
    }

    /// `(blob sha, text)` of a file on the branch.
    fn file(&self, path: &str) -> Option<(String, String)> {
        let (status, f) = self.request(Method::GET, &format!("/contents/{path}?ref={}", self.branch), None);
        if status == 404 {
            return None;
        }
        assert_eq!(status, 200, "{f}");
        let b64: String = f["content"].as_str().unwrap().chars().filter(|c| !c.is_whitespace()).collect();
        let text = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b64).unwrap()).unwrap();
        Some((f["sha"].as_str().unwrap().to_string(), text))
    }

    /// Someone else edits a file on GitHub.
    fn outside_edit(&self, path: &str, edit: impl Fn(&str) -> String) {
        let (sha, text) = self.file(path).expect("the file exists");
        let body = json!({
            "message": "Edit outside fgd-sync",
            "content": base64::engine::general_purpose::STANDARD.encode(edit(&text)),
            "sha": sha,
            "branch": self.branch,
        });
        let (status, answer) = self.request(Method::PUT, &format!("/contents/{path}"), Some(body));
        assert_eq!(status, 200, "{answer}");
    }

    fn source(&self, docs: &[(&str, String)]) -> PathBuf {
        let dir = self.tmp.path().join("crs");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, doc) in docs {
            std::fs::write(dir.join(name), doc).unwrap();
        }
        dir
    }

    fn fgd_sync(&self, source: &Path, args: &[&str]) -> Run {
        let mut cmd = cli::command();
        cmd.env("GITHUB_TOKEN", &self.token)
            .args(args)
            .args(["--fabric", "live", "--json", "--directory", DIRECTORY, "--branch", &self.branch])
            .args(["--github-api", &self.api, "--repo", &self.repo])
            .arg("--source-dir")
            .arg(source);
        run(&mut cmd)
    }
}

fn vpc(vlan: u32, label: &str) -> String {
    format!(
        "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: vpc-1\n  labels:\n    owner: {label}\nspec:\n  subnets:\n    default:\n      subnet: 10.0.1.0/24\n      vlan: {vlan}\n"
    )
}

const SWITCH: &str = "apiVersion: wiring.githedgehog.com/v1beta1\nkind: Switch\nmetadata:\n  name: leaf-01\nspec:\n  role: server-leaf\n  asn: 65101\n";
const ALL_KINDS: &str = include_str!("../data/corpus/all-kinds.yaml");

/// Create, no-op, update, conflict, resolve, delete, many files: each checked on the remote.
fn matrix(live: &Live) {
    let vpc_path = format!("{DIRECTORY}/managed/vpcs/vpc-1.yaml");
    let switch_path = format!("{DIRECTORY}/managed/switches/leaf-01.yaml");

    // Create.
    let start = live.head();
    let source = live.source(&[("vpc.yaml", vpc(1001, "netops")), ("switch.yaml", SWITCH.to_string())]);
    let out = live.fgd_sync(&source, &["sync"]);
    assert_eq!(out.code, 0, "{out:?}");
    let created = live.head();
    assert_eq!(live.commit(&created)["parents"][0]["sha"], start.as_str(), "one commit on top");
    assert!(live.file(&vpc_path).unwrap().1.contains("vlan: 1001"));
    assert!(live.file(&switch_path).is_some());

    // No-op.
    let out = live.fgd_sync(&source, &["sync"]);
    assert_eq!((out.code, out.report().commit), (0, None));
    assert_eq!(live.head(), created);

    // Update: one file, one commit that says what changed.
    let source = live.source(&[("vpc.yaml", vpc(1002, "netops")), ("switch.yaml", SWITCH.to_string())]);
    let out = live.fgd_sync(&source, &["sync"]);
    assert_eq!(out.code, 0, "{out:?}");
    let updated = live.head();
    // The subject says what changed; the trailer names the state blob of the commit.
    let message = live.commit(&updated)["message"].as_str().unwrap_or_default().to_string();
    assert!(message.starts_with("Update VPC vpc-1\n\nFgd-Sync-State: "), "{message:?}");
    assert!(live.file(&vpc_path).unwrap().1.contains("vlan: 1002"));

    // Conflict: changed on GitHub and in HNP; the remote stays as the other writer left it.
    live.outside_edit(&vpc_path, |t| t.replace("vlan: 1002", "vlan: 1999"));
    let edited = live.head();
    let source = live.source(&[("vpc.yaml", vpc(1003, "netops")), ("switch.yaml", SWITCH.to_string())]);
    let out = live.fgd_sync(&source, &["sync"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.report().conflicts[0].path, vpc_path);
    assert_eq!(live.head(), edited, "nothing overwritten");

    // Resolve with HNP's version: a compare-and-swap on top of the outside edit.
    let out = live.fgd_sync(&source, &["resolve", vpc_path.as_str(), "--take", "hnp"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(live.commit(&live.head())["parents"][0]["sha"], edited.as_str());
    assert!(live.file(&vpc_path).unwrap().1.contains("vlan: 1003"));

    // Delete.
    let source = live.source(&[("vpc.yaml", vpc(1003, "netops"))]);
    let out = live.fgd_sync(&source, &["sync"]);
    assert_eq!(out.code, 0, "{out:?}");
    let message = live.commit(&live.head())["message"].as_str().unwrap_or_default().to_string();
    assert!(message.starts_with("Delete Switch leaf-01\n\nFgd-Sync-State: "), "{message:?}");
    assert!(live.file(&switch_path).is_none());

    // Many files, one commit; then an update of one of them.
    let source = live.source(&[("all.yaml", ALL_KINDS.replace("name: vpc-1\n", "name: vpc-2\n"))]);
    let before = live.head();
    // vpc-1 is the last managed file and goes: the deletion guard wants that allowed.
    let out = live.fgd_sync(&source, &["sync", "--allow-deletions", "1"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(live.commit(&live.head())["parents"][0]["sha"], before.as_str(), "12 files, 1 commit");
    assert!(out.report().requests <= 8);
    let source = live.source(&[(
        "all.yaml",
        ALL_KINDS.replace("name: vpc-1\n", "name: vpc-2\n").replace("vlan: 1001", "vlan: 1004"),
    )]);
    let out = live.fgd_sync(&source, &["sync"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(live.file(&format!("{DIRECTORY}/managed/vpcs/vpc-2.yaml")).unwrap().1.contains("vlan: 1004"));
}

#[test]
fn live_github_matrix() {
    let (Ok(repo), Ok(token)) =
        (std::env::var("FGD_SYNC_LIVE_GITHUB_REPO"), std::env::var("FGD_SYNC_LIVE_GITHUB_TOKEN"))
    else {
        eprintln!(
            "live GitHub suite skipped: set FGD_SYNC_LIVE_GITHUB_REPO=owner/scratch-repo and \
             FGD_SYNC_LIVE_GITHUB_TOKEN (contents: write) to run it against real GitHub"
        );
        return;
    };
    let api = std::env::var("FGD_SYNC_LIVE_GITHUB_API").unwrap_or_else(|_| "https://api.github.com".into());
    let live = Live::new(&api, &repo, &token);
    live.create_branch();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| matrix(&live)));
    live.delete_branch();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// The same matrix against the stand-in, so the live suite's code never rots unseen.
#[test]
fn live_matrix_against_the_stand_in() {
    let gh = StandIn::start(StandInOptions::default()).expect("stand-in");
    gh.seed(&[("README.md", "scratch repository\n")], "Initial commit").expect("seeding");
    let live = Live::new(&gh.api_base(), "acme/fabric", gh.token());
    live.create_branch();
    matrix(&live);
    live.delete_branch();
}
