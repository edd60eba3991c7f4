//! `fgd-sync serve` receiving GitHub push webhooks, as a real process: the GitHub stand-in
//! sends `ping` and signed `push` deliveries for every branch move (whoever made it), the
//! HNP stand-in sends NetBox's webhooks for every write. A colleague's Git edit reaches HNP
//! with one write of its data and a state-only commit, and nothing loops: not fgd-sync's own
//! push, not the NetBox webhooks of its own writes. Bad signatures do nothing; pushes to
//! other branches, repositories or outside the fabric directory are ignored.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use fgd_sync_tests::github::client::{self, Response};
use fgd_sync_tests::github::webhooks::{signature, ContentType};
use fgd_sync_tests::github::{HookDelivery, StandIn, StandInOptions, WebhookConfig};
use fgd_sync_tests::hnp::{Cr, Hnp, Webhook, WebhookStyle, API};
use fgd_sync_tests::{cli, TempDir};
use serde_json::{json, Value};

const NETBOX_TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";
const NETBOX_SECRET: &str = "netbox-webhook-secret-for-tests";
const GITHUB_SECRET: &str = "github-webhook-secret-for-tests";
const DIR: &str = "fabrics/dc1/gitops";
const WAIT: Duration = Duration::from_secs(120);
/// How long "nothing more happens" is watched after the last expected event.
const SETTLE: Duration = Duration::from_millis(1500);

fn vpc_spec(vlan: u32) -> Value {
    json!({ "subnets": { "default": { "subnet": format!("10.0.{}.0/24", vlan % 250), "vlan": vlan } } })
}

fn managed(name: &str) -> String {
    format!("{DIR}/managed/vpcs/{name}.yaml")
}

/// Polls `f` until it gives `Some`, or panics with `what` after `WAIT`.
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(value) = f() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Fabric `dc1`: the GitHub stand-in's `acme/fabric` seeded with one commit, the HNP stand-in
/// with the fabric, a config file naming both.
struct World {
    gh: StandIn,
    hnp: Hnp,
    fabric: u64,
    _tmp: TempDir,
    config: PathBuf,
}

impl World {
    fn new() -> World {
        let gh = StandIn::start(StandInOptions::default()).expect("GitHub stand-in");
        gh.seed(&[("README.md", "fabric repository\n")], "initial").expect("seed");
        let hnp = Hnp::start(NETBOX_TOKEN).expect("HNP stand-in");
        let fabric = hnp.add_fabric("dc1");
        let tmp = TempDir::new("serve-github").expect("temp dir");
        let config = tmp.path().join("fgd-sync.toml");
        let text = format!(
            "[[fabric]]\nname = \"dc1\"\nrepository = \"acme/fabric\"\ngithub_api = \"{}\"\nnetbox_url = \"{}\"\nsource = \"netbox\"\n",
            gh.api_base(),
            hnp.base_url()
        );
        std::fs::write(&config, text).expect("config");
        World { gh, hnp, fabric, _tmp: tmp, config }
    }

    /// `serve` with both webhook secrets.
    fn serve(&self, args: &[&str]) -> Serve {
        Serve::start(&self.config, &[("FGD_SYNC_GITHUB_WEBHOOK_SECRET", Some(GITHUB_SECRET))], args)
    }

    /// Points both stand-ins' webhooks at `serve`; waits for GitHub's `ping` to be answered.
    fn hook(&self, serve: &Serve) {
        let url = format!("{}/webhooks/netbox", serve.url);
        let style = WebhookStyle::NetBox4;
        self.hnp.set_webhook(Some(Webhook { url, secret: Some(NETBOX_SECRET.into()), style }));
        let before = self.gh.webhook_deliveries().len();
        self.gh.set_webhook(&serve.github_url(), Some(GITHUB_SECRET));
        let ping = self.delivery(before);
        assert_eq!((ping.event.as_str(), ping.result.clone()), ("ping", Ok(200)), "{ping:?}");
        assert_eq!(ping.response_json(), json!({ "status": "pong" }));
    }

    /// The GitHub delivery at `index` (0-based), once it was answered.
    fn delivery(&self, index: usize) -> HookDelivery {
        let all = self.gh.wait_for_webhook_deliveries(index + 1, WAIT);
        all.get(index).cloned().unwrap_or_else(|| panic!("no GitHub delivery #{index}: {all:#?}"))
    }

    fn vpc(&self, name: &str, vlan: u32) -> Cr {
        Cr::new("VPC", self.fabric, name, vpc_spec(vlan))
    }

    fn commits(&self) -> usize {
        self.gh.repo().log("main").len()
    }

    fn head(&self) -> String {
        self.gh.repo().head("main").unwrap_or_default()
    }

    fn file(&self, path: &str) -> Option<String> {
        self.gh.repo().show("main", path)
    }

    /// `git show --name-status` of a commit: `(status, path)` of each file.
    fn changed(&self, commit: &str) -> Vec<(String, String)> {
        let out =
            self.gh.repo().git(&["show", "--name-status", "--no-renames", "--format=", commit]).expect("git show");
        out.lines().filter_map(|l| l.split_once('\t')).map(|(s, p)| (s.to_owned(), p.to_owned())).collect()
    }

    /// A colleague edits a file through the contents API, as the GitHub web editor does;
    /// returns the new commit.
    fn edit_through_api(&self, branch: &str, path: &str, text: &str, message: &str) -> String {
        let sha = self.gh.repo().files(branch).get(path).cloned();
        let mut body = json!({
            "message": message,
            "content": base64::engine::general_purpose::STANDARD.encode(text),
            "branch": branch,
            "committer": { "name": "A Colleague", "email": "colleague@example.com" },
        });
        if let Some(sha) = sha {
            body["sha"] = json!(sha);
        }
        let answer = self.gh.call("PUT", &format!("contents/{path}"), Some(&body)).expect("PUT contents");
        assert!(matches!(answer.status, 200 | 201), "{}: {}", answer.status, answer.text());
        answer.json()["commit"]["sha"].as_str().expect("commit sha").to_owned()
    }

    /// `(method, body)` of the HNP stand-in's writes since request `from`.
    fn hnp_writes(&self, from: usize) -> Vec<(String, Value)> {
        self.hnp
            .requests()
            .into_iter()
            .skip(from)
            .filter(|r| r.method != "GET")
            .map(|r| {
                assert!(r.path.starts_with(API), "{}", r.path);
                (r.method, serde_json::from_str(&r.body).unwrap_or(Value::Null))
            })
            .collect()
    }
}

/// A running `fgd-sync serve`; killed on drop if still running.
struct Serve {
    child: Child,
    url: String,
    log: Arc<Mutex<String>>,
}

impl Serve {
    /// Starts `serve` with these variables set (`None`: removed) besides the NetBox ones.
    fn start(config: &std::path::Path, env: &[(&str, Option<&str>)], args: &[&str]) -> Serve {
        let mut cmd = cli::command();
        cmd.env("NETBOX_TOKEN", NETBOX_TOKEN)
            .env("FGD_SYNC_WEBHOOK_SECRET", NETBOX_SECRET)
            .env("RUST_LOG", "fgd_sync=info")
            .env("GITHUB_TOKEN", fgd_sync_tests::github::TOKEN);
        for (var, value) in env {
            match value {
                Some(value) => cmd.env(var, value),
                None => cmd.env_remove(var),
            };
        }
        cmd.arg("serve")
            .arg("--config")
            .arg(config)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("starting fgd-sync serve");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (found, address) = mpsc::channel();
        let sink = log.clone();
        // Drained for the whole run, so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let _ = found.send(rest.split_whitespace().next().unwrap_or_default().to_owned());
                }
                let mut log = sink.lock().unwrap_or_else(|p| p.into_inner());
                log.push_str(&line);
                log.push('\n');
            }
        });
        let addr = address.recv_timeout(WAIT).unwrap_or_else(|_| panic!("serve did not start:\n{}", lock(&log)));
        let serve = Serve { child, url: format!("http://{addr}"), log };
        wait_for("readiness", || (serve.get("/readyz").status == 200).then_some(()));
        serve
    }

    fn github_url(&self) -> String {
        format!("{}/webhooks/github", self.url)
    }

    fn get(&self, path: &str) -> Response {
        client::send("GET", &format!("{}{path}", self.url), &[], None, Duration::from_secs(30)).expect("GET")
    }

    /// POSTs a GitHub delivery with these headers (beside `Content-Type: application/json`
    /// and GitHub's `User-Agent`).
    fn post_github(&self, event: &str, body: &[u8], signature: Option<&str>) -> Response {
        let mut headers = vec![
            ("Content-Type", "application/json"),
            ("User-Agent", "GitHub-Hookshot/test"),
            ("X-GitHub-Event", event),
            ("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
        ];
        if let Some(signature) = signature {
            headers.push(("X-Hub-Signature-256", signature));
        }
        client::send("POST", &self.github_url(), &headers, Some(body), Duration::from_secs(30)).expect("POST")
    }

    /// Every sample of `/metrics`: `name{labels}` -> value.
    fn metrics(&self) -> BTreeMap<String, f64> {
        let text = self.get("/metrics").text();
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .filter_map(|l| l.rsplit_once(' '))
            .filter_map(|(series, value)| Some((series.to_owned(), value.parse().ok()?)))
            .collect()
    }

    /// Syncs of fabric dc1 so far, whatever their outcome.
    fn syncs(&self) -> u64 {
        let m = self.metrics();
        ["ok", "conflicts", "error"]
            .iter()
            .map(|o| m.get(&format!("fgd_sync_syncs_total{{fabric=\"dc1\",outcome=\"{o}\"}}")).copied().unwrap_or(0.0))
            .sum::<f64>() as u64
    }

    fn wait_syncs(&self, n: u64) {
        wait_for(&format!("{n} syncs"), || (self.syncs() >= n).then_some(()));
    }

    /// GitHub webhooks answered with `result`.
    fn github_webhooks(&self, result: &str) -> u64 {
        let series = format!("fgd_sync_github_webhooks_total{{result=\"{result}\"}}");
        self.metrics().get(&series).copied().unwrap_or_else(|| panic!("no series {series}")) as u64
    }

    fn netbox_webhooks(&self, result: &str) -> u64 {
        let series = format!("fgd_sync_webhooks_total{{result=\"{result}\"}}");
        self.metrics().get(&series).copied().unwrap_or_else(|| panic!("no series {series}")) as u64
    }

    fn log(&self) -> String {
        lock(&self.log).clone()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// `(status, body)` of a delivery's answer, for messages.
fn answered(delivery: &HookDelivery) -> (Result<u16, String>, Value) {
    (delivery.result.clone(), delivery.response_json())
}

fn ignored_because(delivery: &HookDelivery, reason: &str) {
    let (result, body) = answered(delivery);
    assert_eq!(result, Ok(202), "{delivery:#?}");
    assert_eq!(body["status"], json!("ignored"), "{delivery:#?}");
    let given = body["reason"].as_str().unwrap_or_default();
    assert!(given.contains(reason), "reason {given:?} lacks {reason:?}");
}

/// A push payload as GitHub sends it, of one commit that modifies `path` on `branch`.
fn push_body(branch: &str, path: &str) -> Vec<u8> {
    let commit = json!({
        "id": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "tree_id": "f9d2a07e9488b91af2641b26b9407fe22a451433",
        "distinct": true, "message": "Edit by hand", "timestamp": "2026-12-01T10:00:00+00:00",
        "author": { "name": "A Colleague", "email": "colleague@example.com" },
        "committer": { "name": "A Colleague", "email": "colleague@example.com" },
        "added": [], "removed": [], "modified": [path],
    });
    json!({
        "ref": format!("refs/heads/{branch}"), "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        "after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "created": false, "deleted": false, "forced": false,
        "base_ref": null, "commits": [commit.clone()], "head_commit": commit,
        "repository": { "id": 1, "name": "fabric", "full_name": "acme/fabric", "owner": { "login": "acme" } },
        "pusher": { "name": "colleague" }, "sender": { "login": "colleague" },
    })
    .to_string()
    .into_bytes()
}

/// A colleague's edit of a managed file, pushed to GitHub, reaches HNP through the push
/// webhook: one NetBox write of the CR (its data and bookkeeping), one state-only commit, and
/// the webhooks those fire (fgd-sync's push, NetBox's `updated`) end there.
#[test]
fn a_git_edit_reaches_hnp_through_the_push_webhook_and_nothing_loops() {
    let world = World::new();
    let serve = world.serve(&["--coalesce-ms", "200", "--reconcile-interval", "0"]);
    world.hook(&serve);

    // HNP has the VPC; serve writes its file in fgd-sync's own commit, whose push is skipped.
    let id = world.hnp.add(world.vpc("vpc-1", 1001));
    serve.wait_syncs(1);
    let written = world.head();
    let own = world.delivery(1);
    assert_eq!((own.event.as_str(), own.after()), ("push", Some(written.as_str())));
    ignored_because(&own, "fgd-sync's own commits");
    // NetBox's `created`, then the bookkeeping `updated` of record-synced.
    world.hnp.wait_for_deliveries(2, WAIT);
    wait_for("the bookkeeping webhook", || (serve.netbox_webhooks("bookkeeping") == 1).then_some(()));

    let (commits, syncs, requests) = (world.commits(), serve.syncs(), world.hnp.requests().len());
    let path = managed("vpc-1");
    let text = world.file(&path).expect("the managed file");
    let edited = text.replace("vlan: 1001", "vlan: 1999");
    assert_ne!(edited, text);
    let started = Instant::now();
    let colleague = world.edit_through_api("main", &path, &edited, "Move vpc-1 to VLAN 1999");
    let git_spec = json!({ "subnets": { "default": { "subnet": "10.0.1.0/24", "vlan": 1999 } } });

    // The colleague's push: a whole-fabric sync of dc1 is scheduled.
    let push = world.delivery(2);
    assert_eq!(push.after(), Some(colleague.as_str()), "{push:#?}");
    assert_eq!(push.payload["commits"][0]["modified"], json!([path]));
    assert_eq!(answered(&push), (Ok(202), json!({ "status": "scheduled", "fabrics": ["dc1"] })));
    // The sync's state-only commit, and its push: fgd-sync's own, skipped.
    let state_only = world.delivery(3);
    let reached = started.elapsed();
    ignored_because(&state_only, "fgd-sync's own commits");
    let head = world.head();
    assert_eq!(state_only.after(), Some(head.as_str()));
    assert_eq!(world.changed(&head), [("M".to_owned(), format!("{DIR}/.hnp/sync-state.json"))]);
    assert_eq!(world.file(&path).as_deref(), Some(edited.as_str()), "Git's file stays as the colleague wrote it");
    assert_eq!(world.hnp.object("VPC", id).expect("the CR")["spec"], git_spec, "HNP has Git's data");

    // NetBox's webhook of the one write: its `updated` queues the CR, whose sync then finds
    // nothing to do.
    world.hnp.wait_for_deliveries(3, WAIT);
    serve.wait_syncs(syncs + 2);
    std::thread::sleep(SETTLE);

    // ONE write: the field Git changed, with the bookkeeping (`last_synced`) in the same
    // request; record-synced adds nothing for a CR taken from its own file.
    let writes = world.hnp_writes(requests);
    let time = writes.first().and_then(|(_, body)| body[0]["last_synced"].as_str().map(str::to_owned));
    assert!(time.is_some(), "{writes:#?}");
    assert_eq!(writes.len(), 1, "{writes:#?}");
    assert_eq!(writes[0].1, json!([{ "id": id, "spec": git_spec, "last_synced": time }]), "{writes:#?}");
    assert_eq!(serve.netbox_webhooks("bookkeeping"), 1, "no bookkeeping-only write after the pull");
    assert!(writes.iter().all(|(method, _)| method == "PATCH"), "{writes:#?}");
    assert_eq!(world.commits(), commits + 2, "the colleague's commit and the state-only one");
    assert_eq!(serve.syncs(), syncs + 2, "the push's reconcile and the no-op batch of NetBox's webhook");
    assert_eq!(world.gh.webhook_deliveries().len(), 4, "no more pushes");
    assert_eq!(world.hnp.deliveries().len(), 3, "no more NetBox webhooks");
    assert_eq!(serve.github_webhooks("scheduled"), 1);
    assert_eq!(serve.github_webhooks("own_commits"), 2);
    assert_eq!(serve.metrics()["fgd_sync_queue_depth{fabric=\"dc1\"}"], 0.0);
    assert!(serve.log().contains("push: reconcile asked for"), "{}", serve.log());
    println!(
        "figure: a Git edit pushed to the GitHub stand-in reached HNP and the state-only commit's push was \
         delivered {:.2} s after the edit",
        reached.as_secs_f64()
    );
}

/// fgd-sync's own pushes (the commits NetBox edits become) schedule nothing.
#[test]
fn fgd_sync_s_own_pushes_make_no_github_triggered_work() {
    let world = World::new();
    let serve = world.serve(&["--coalesce-ms", "200", "--reconcile-interval", "0"]);
    world.hook(&serve);
    let base = world.commits();

    let id = world.hnp.add(world.vpc("vpc-1", 1001));
    serve.wait_syncs(1);
    world.hnp.update(id, world.vpc("vpc-1", 1002));
    serve.wait_syncs(2);
    let (first, second) = (world.delivery(1), world.delivery(2));
    for own in [&first, &second] {
        assert_eq!(own.event, "push");
        ignored_because(own, "fgd-sync's own commits");
        let message = own.payload["commits"][0]["message"].as_str().unwrap_or_default();
        assert!(message.lines().last().unwrap_or_default().starts_with("Fgd-Sync-State: "), "{message}");
    }
    assert_eq!(second.after(), Some(world.head().as_str()));
    // Both webhooks' record-synced write-backs are bookkeeping too.
    world.hnp.wait_for_deliveries(4, WAIT);
    wait_for("two bookkeeping webhooks", || (serve.netbox_webhooks("bookkeeping") == 2).then_some(()));
    std::thread::sleep(SETTLE);

    assert_eq!(world.commits(), base + 2);
    assert_eq!(serve.syncs(), 2, "{}", serve.log());
    assert_eq!((serve.github_webhooks("own_commits"), serve.github_webhooks("scheduled")), (2, 0));
    assert_eq!(world.gh.webhook_deliveries().len(), 3, "a ping and two pushes");
    assert!(!serve.log().contains("trigger=\"push\"") && !serve.log().contains("trigger=push"), "{}", serve.log());
}

/// Deliveries with a missing, malformed or wrong signature are refused and do nothing; a
/// `ping` is answered; pushes to another branch or repository, or outside the fabric
/// directory, and other events are ignored; a form-encoded push is read like a JSON one.
#[test]
fn bad_signatures_are_refused_and_other_pushes_ignored() {
    let world = World::new();
    let serve = world.serve(&["--coalesce-ms", "100", "--reconcile-interval", "0"]);
    let body = push_body("main", &managed("vpc-1"));

    // Signed with another secret (the webhook's secret mistyped on GitHub): its ping is refused.
    world.gh.set_webhook(&serve.github_url(), Some("not the secret"));
    let ping = world.delivery(0);
    assert_eq!(ping.result, Ok(401), "{ping:?}");
    assert!(ping.response.contains("X-Hub-Signature-256 does not match"), "{}", ping.response);
    let good = signature(GITHUB_SECRET.as_bytes(), &body);
    let wrong_key = signature(b"not the secret", &body);
    let mut tampered = body.clone();
    tampered.push(b' ');
    let sha1_style = format!("sha1={}", &good["sha256=".len()..][..40]);
    for (body, signature, says) in [
        (&body, None, "no X-Hub-Signature-256 header"),
        (&body, Some(wrong_key.as_str()), "does not match"),
        (&body, Some(sha1_style.as_str()), "is not sha256=<hex HMAC-SHA256>"),
        (&body, Some("sha256=zz"), "is not sha256=<hex HMAC-SHA256>"),
        (&tampered, Some(good.as_str()), "does not match"),
    ] {
        let answer = serve.post_github("push", body, signature);
        assert_eq!(answer.status, 401, "{signature:?}: {}", answer.text());
        assert!(answer.text().contains(says), "{signature:?}: {}", answer.text());
    }
    assert_eq!((serve.github_webhooks("unauthorized"), serve.github_webhooks("scheduled")), (6, 0));

    // Correctly signed: a ping, another event, a malformed push.
    let ping = br#"{"zen": "Keep it logically awesome.", "hook_id": 1}"#;
    let answer = serve.post_github("ping", ping, Some(&signature(GITHUB_SECRET.as_bytes(), ping)));
    assert_eq!((answer.status, answer.json()), (200, json!({ "status": "pong" })));
    let issue = br#"{"action": "opened"}"#;
    let answer = serve.post_github("issues", issue, Some(&signature(GITHUB_SECRET.as_bytes(), issue)));
    assert_eq!((answer.status, answer.json()["reason"].as_str()), (202, Some("event \"issues\" is not a push")));
    let broken = br#"{"ref": "refs/heads/main"}"#;
    let answer = serve.post_github("push", broken, Some(&signature(GITHUB_SECRET.as_bytes(), broken)));
    assert_eq!((answer.status, answer.json()), (400, json!({ "error": "field repository: missing" })));

    // The stand-in with the right secret: pushes that concern no served fabric.
    world.gh.set_webhook(&serve.github_url(), Some(GITHUB_SECRET));
    assert_eq!(world.delivery(1).result, Ok(200), "the ping");
    world.edit_through_api("main", "README.md", "the fabric's repository\n", "Reword the README");
    ignored_because(&world.delivery(2), "the push changes no file under fabrics/dc1/gitops/");
    let head = world.head();
    let branch = world.gh.call("POST", "git/refs", Some(&json!({ "ref": "refs/heads/feature", "sha": head })));
    assert_eq!(branch.expect("POST git/refs").status, 201);
    ignored_because(&world.delivery(3), "no served fabric follows branch \"feature\" of acme/fabric");
    world.edit_through_api("feature", &managed("vpc-9"), "kind: VPC\n", "Try a VPC on a branch");
    let feature = world.delivery(4);
    assert_eq!(feature.payload["commits"][0]["added"], json!([managed("vpc-9")]));
    ignored_because(&feature, "no served fabric follows branch \"feature\" of acme/fabric");
    let other = StandIn::start(StandInOptions { repo: "other".into(), ..StandInOptions::default() })
        .expect("a second repository");
    other.set_webhook(&serve.github_url(), Some(GITHUB_SECRET));
    other.seed(&[(&managed("vpc-1"), "kind: VPC\n")], "another repository's fabric").expect("seed");
    let pushed = other.wait_for_webhook_deliveries(2, WAIT);
    assert_eq!(pushed.len(), 2, "{pushed:#?}");
    ignored_because(&pushed[1], "no served fabric follows branch \"main\" of acme/other");

    std::thread::sleep(SETTLE);
    assert_eq!(serve.syncs(), 0, "nothing was scheduled:\n{}", serve.log());
    assert_eq!(serve.github_webhooks("scheduled"), 0);
    assert_eq!(serve.github_webhooks("ignored"), 5);
    assert_eq!(serve.github_webhooks("pong"), 3);
    assert_eq!(serve.github_webhooks("malformed"), 1);

    // A push into the fabric directory, form-encoded (GitHub's other content type), syncs.
    let form =
        WebhookConfig { url: serve.github_url(), secret: Some(GITHUB_SECRET.into()), content_type: ContentType::Form };
    world.gh.set_webhook_config(Some(form));
    assert_eq!(world.delivery(5).result, Ok(200), "the ping");
    world.edit_through_api("main", &format!("{DIR}/README.md"), "dc1's GitOps directory\n", "Describe dc1");
    let scheduled = world.delivery(6);
    assert_eq!(answered(&scheduled), (Ok(202), json!({ "status": "scheduled", "fabrics": ["dc1"] })));
    serve.wait_syncs(1);
    std::thread::sleep(SETTLE);
    assert_eq!(serve.syncs(), 1);
    assert_eq!(serve.github_webhooks("scheduled"), 1);
}

/// Without a GitHub webhook secret the endpoint is off; a variable named on the command line
/// must hold one; `--help` shows the flag.
#[test]
fn the_github_endpoint_is_off_without_a_secret() {
    let world = World::new();
    let serve =
        Serve::start(&world.config, &[("FGD_SYNC_GITHUB_WEBHOOK_SECRET", None)], &["--reconcile-interval", "0"]);
    let body = push_body("main", &managed("vpc-1"));
    let answer = serve.post_github("push", &body, Some(&signature(GITHUB_SECRET.as_bytes(), &body)));
    assert_eq!(answer.status, 404, "{}", answer.text());
    assert!(!serve.log().contains("/webhooks/github"), "{}", serve.log());
    drop(serve);

    let mut cmd = cli::command();
    cmd.env("NETBOX_TOKEN", NETBOX_TOKEN)
        .env("FGD_SYNC_WEBHOOK_SECRET", NETBOX_SECRET)
        .env("GITHUB_TOKEN", fgd_sync_tests::github::TOKEN)
        .env_remove("MY_GITHUB_SECRET")
        .args(["serve", "--config"])
        .arg(&world.config)
        .args(["--listen", "127.0.0.1:0", "--github-webhook-secret-env", "MY_GITHUB_SECRET"]);
    let run = cli::run(&mut cmd);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("--github-webhook-secret-env MY_GITHUB_SECRET: no secret in $MY_GITHUB_SECRET"),
        "{}",
        run.stderr
    );

    let help = cli::run(cli::command().args(["serve", "--help"]));
    assert!(help.stdout.contains("--github-webhook-secret-env <VAR>"), "{}", help.stdout);

    // With a secret in a variable of one's choice, it is on.
    let serve = Serve::start(
        &world.config,
        &[("MY_GITHUB_SECRET", Some(GITHUB_SECRET))],
        &["--reconcile-interval", "0", "--github-webhook-secret-env", "MY_GITHUB_SECRET"],
    );
    let answer = serve.post_github("ping", b"{}", Some(&signature(GITHUB_SECRET.as_bytes(), b"{}")));
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(serve.log().contains("POST /webhooks/github"), "{}", serve.log());
}
